# Two commands a user needs: `make demo` (the whole pipeline offline, then the app) and
# `make test` (the whole test suite offline). Both create .venv, install the pinned runtime and
# development sets (requirements.txt, requirements-dev.txt) and the package itself (editable).
# Both also install the fonts tweet images need (emoji, Chinese/Japanese/Korean) with the same script;
# `make test` adds Chromium for the browser tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FONTS  := fonts-noto-color-emoji fonts-noto-cjk

.PHONY: install test demo lint notebooks bench mutation clean reset

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: install
	bash scripts/install_system_packages.sh
	$(BIN)/python -m pytest

demo: install
	bash scripts/install_system_packages.sh $(FONTS)
	$(BIN)/python -m tweetgen demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Run every notebook on the embedded default and save it with its outputs (tables, plots), so a
# reader on GitHub sees them; machine paths are removed from the outputs.
notebooks: install
	$(BIN)/python scripts/run_notebooks.py

bench: install
	$(BIN)/python bench/bench_features.py

# Mutation testing of the critical modules (the champion rule, the store's upsert, row screening, the
# query sandbox, the X cursor, the n-gram, the request limits, notifications), each with only its
# own tests, one module at a time, offline; not part of `make test` (tens of minutes on two cores).
# Scores and survivors: build/mutation/; published in docs/mutation.md. MODULES=notify runs one.
mutation: install
	nice -n 15 $(BIN)/python scripts/mutation.py $(MODULES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Forget everything the pipelines wrote locally (feature store, models, notebook data): the next
# `make demo` starts from scratch. Hopsworks projects are never touched.
reset:
	rm -rf data

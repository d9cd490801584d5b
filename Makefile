# Two commands a user needs: `make demo` (the whole pipeline offline, then the app) and
# `make test` (the whole test suite offline). Both create .venv and install requirements.txt.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test demo lint bench clean

install: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

test: install
	bash scripts/install_system_packages.sh
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python -m tweetgen demo

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/bench_features.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

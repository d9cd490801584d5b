"""Every notebook runs, top to bottom, on small settings, and produces what it says it does.

Each notebook is executed by ``nbclient`` in a fresh IPython kernel started with this test's
interpreter (the project's ``.venv``, checked by the probe below), from the notebook's own folder
as Jupyter would. A cell is
injected after the cell tagged ``parameters`` (as papermill does) with a temporary ``DATA_DIR``
and tiny training settings. After the last cell a probe cell prints a few of the notebook's
values as JSON; the test asserts on them and on what the notebook left in its data directory.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, SAMPLE_USERNAME, TWEETS
from tweetgen.sources.replay import REPLAY_HOLDOUT
from tweetgen.sources.sample import SAMPLE_TWEETS
from tweetgen.store.local import LocalFeatureStore

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = [REPO / "train_model.ipynb", *sorted((REPO / "notebooks").glob("*.ipynb"))]
HISTORY_ROWS = SAMPLE_TWEETS - REPLAY_HOLDOUT
CELL_TIMEOUT_S = 150
NOTEBOOK_LIMIT_S = 180
PROBE_MARK = "NOTEBOOK-PROBE "
# A model that trains in seconds on two busy cores: 2 layers, 64 wide, a 512-token vocabulary.
TINY = {
    "BASE_MODEL": "tiny", "MAX_STEPS": 20, "MAX_SECONDS": 60, "N_LAYER": 2, "N_EMBD": 64, "N_HEAD": 2,
    "VOCAB_SIZE": 512, "BLOCK_SIZE": 64, "BATCH_SIZE": 8,
}


def run_notebook(path: Path, parameters: dict[str, object], probe: str) -> tuple[nbformat.NotebookNode, dict]:
    """Execute ``path`` with ``parameters`` injected; return the executed notebook and the probe's values.

    ``probe`` is a Python expression evaluated in the kernel after the last cell; it must give a
    JSON-serialisable dict. Raises ``nbclient.exceptions.CellExecutionError`` when a cell fails.
    """
    nb = nbformat.read(path, as_version=4)
    index = parameters_cell_index(nb)
    injected = "# Parameters injected by tests/test_notebooks.py\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(injected))
    probe_source = f"import json as _json, sys as _sys\nprint({PROBE_MARK!r} + _json.dumps({{'prefix': _sys.prefix, **({probe})}}, default=str))"
    nb.cells.append(nbformat.v4.new_code_cell(probe_source))
    client = notebook_client(nb, path.parent)
    started = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - started
    assert elapsed < NOTEBOOK_LIMIT_S, f"{path.name} took {elapsed:.0f} s, over its {NOTEBOOK_LIMIT_S} s limit"
    values = probe_values(nb)
    assert Path(values["prefix"]).resolve() == Path(sys.prefix).resolve(), "the kernel ran another Python than the project's"
    return nb, values


class ThisPythonKernelManager(KernelManager):
    """Starts the ``python3`` kernel with this interpreter (the project's ``.venv``), whatever
    kernelspecs are installed for the user or the system."""

    @property
    def kernel_spec(self) -> KernelSpec:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return KernelSpec(argv=argv, display_name="Python 3", language="python", name="python3")


def notebook_client(nb: nbformat.NotebookNode, folder: Path) -> NotebookClient:
    """A client that runs ``nb`` in a fresh kernel of this interpreter, started from ``folder``.

    The kernel is shut down at once when the notebook is done: nothing in it needs a graceful exit.
    """
    return NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", kernel_manager_class=ThisPythonKernelManager,
        shutdown_kernel="immediate", resources={"metadata": {"path": str(folder)}},
    )


def parameters_cell_index(nb: nbformat.NotebookNode) -> int:
    """The index of the cell tagged ``parameters``; it must be the first code cell."""
    code_cells = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert tagged == code_cells[:1], "the first code cell, and only it, must be tagged 'parameters'"
    return tagged[0]


def probe_values(nb: nbformat.NotebookNode) -> dict:
    for output in nb.cells[-1].outputs:
        if output.output_type == "stream" and PROBE_MARK in output.text:
            return json.loads(output.text.split(PROBE_MARK, 1)[1])
    raise AssertionError(f"the probe cell printed nothing: {nb.cells[-1].outputs}")


def images(nb: nbformat.NotebookNode) -> list[tuple[int, int]]:
    """The (width, height) in pixels of every PNG image the executed notebook displayed, in order."""
    sizes = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                png = base64.b64decode(output.data["image/png"])
                assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG image"
                sizes.append(struct.unpack(">II", png[16:24]))  # the IHDR chunk: width, height
    return sizes


def printed(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook printed (stdout) and every plain-text result, joined."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stdout":
                parts.append(output.text)
            elif "text/plain" in output.get("data", {}):
                parts.append(output.data["text/plain"])
    return "\n".join(parts)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory; the kernel inherits these settings and conftest's offline Hugging Face client."""
    # The environment wins over a developer's .env, which the notebooks also read.
    for name, value in {"TWEETGEN_BACKEND": "local", "TWEETGEN_LIVE_SOURCE": "replay", "TWEETGEN_MODEL_NAME": "tweet_gpt2",
                        "TWEETGEN_USERNAME": "elonmusk"}.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "data"


def test_train_model_reads_the_store_trains_and_registers_a_champion(data_dir: Path) -> None:
    nb, values = run_notebook(
        REPO / "train_model.ipynb", {**TINY, "DATA_DIR": str(data_dir), "EPOCHS": None, "N_SAMPLES": 2},
        probe="{'n_train': report.n_train, 'n_val': report.n_val, 'n_eval': report.n_eval, 'steps': report.result.steps, "
        "'family': report.version.family, "
        "'bpc': report.metrics['eval_bits_per_char'], 'lzma': compressor_bits_per_char(eval_frame['clean_text'].tolist()), "
        "'samples': report.samples, 'device': check.device, 'checkpoint_dir': config.checkpoint_dir}",
    )
    assert LocalFeatureStore(data_dir / "feature_store").read(TWEETS).shape[0] == HISTORY_ROWS
    assert Path(values["checkpoint_dir"]) == data_dir / "checkpoints"  # saved while training, removed once registered
    assert (data_dir / "checkpoints").is_dir() and not (data_dir / "checkpoints" / "checkpoint.pt").exists()
    registry = LocalModelRegistry(data_dir / "models")
    versions = registry.versions("tweet_gpt2")
    assert [v.version for v in versions] == [1] and registry.champion("tweet_gpt2").version == 1
    assert versions[0].metrics["train_steps"] == values["steps"] == TINY["MAX_STEPS"]
    assert values["n_train"] == versions[0].metrics["train_texts"]
    assert values["n_eval"] == round(0.1 * (values["n_train"] + values["n_val"] + values["n_eval"]))
    assert values["n_val"] == round(0.05 * (values["n_train"] + values["n_val"])) and values["family"] == "lstm"
    assert 0 < values["bpc"] < 8 and values["lzma"] > 0 and len(values["samples"]) == 2
    assert len(images(nb)) >= 1, "the loss curve was not displayed"
    text = printed(nb)
    assert "becomes the first champion" in text and "champion: version 1" in text
    weight = versions[0].metrics["ngram_weight"]
    assert f"n-gram order 7, weight {weight:.2f} (fitted on the validation slice)" in text


def test_train_model_installs_the_package_on_colab_keeping_colabs_torch_and_states_no_unmeasured_time() -> None:
    nb = nbformat.read(REPO / "train_model.ipynb", as_version=4)
    (install,) = [c.source for c in nb.cells if c.cell_type == "code" and '"pip", "install"' in c.source]
    command = install[install.index("subprocess.run("):].splitlines()[0]
    # The package from the fork: its dependencies ask torch>=2.6 (Colab's CUDA build is kept), no gradio, no modal
    # (tests/code/test_packaging.py); not requirements.txt, which pins torch and adds the app and deployment sets.
    assert 'f"tweetgen @ git+{FORK}"' in command and "-r" not in command and "torch" not in command
    assert 'find_spec("google.colab")' in install and 'find_spec("tweetgen") is None' in install  # a no-op elsewhere
    text = "\n".join(c.source for c in nb.cells)
    assert "about 10 minutes" not in text and not re.search(r"minutes on an? (T4|GPU)", text)
    assert "File → Open notebook → GitHub" in text


def test_train_model_stops_with_a_clear_message_when_the_base_model_cannot_be_loaded(data_dir: Path) -> None:
    nb = nbformat.read(REPO / "train_model.ipynb", as_version=4)
    index = parameters_cell_index(nb)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(f"BASE_MODEL = 'no-such-org/no-such-model'\nDATA_DIR = {str(data_dir)!r}"))
    client = notebook_client(nb, REPO)
    with pytest.raises(Exception, match="SystemExit") as raised:
        client.execute()
    assert "Cannot load the base model 'no-such-org/no-such-model'" in str(raised.value)
    assert 'BASE_MODEL = "tiny"' in str(raised.value)
    assert not (data_dir / "models").exists(), "nothing may be trained or registered"


def test_explore_history_plots_the_sample_corpus(data_dir: Path) -> None:
    nb, values = run_notebook(
        REPO / "notebooks" / "01_explore_history.ipynb", {"DATA_DIR": str(data_dir), "SOURCE": "sample"},
        probe="{'rows': len(tweets), 'per_month': int(per_month.sum()), 'cases': examples['case'].tolist(), "
        "'langs': int(languages.sum()), 'years': shares.index.tolist()}",
    )
    assert values["rows"] == values["per_month"] == values["langs"] == SAMPLE_TWEETS  # all it holds: nothing is held back here
    assert "link removed" in values["cases"] and "HTML entity decoded" in values["cases"]
    assert values["years"][0] == 2015 and values["years"][-1] == 2026
    assert len(images(nb)) >= 4, "expected the monthly, length, reply-share and language plots"
    assert not (data_dir / "feature_store").exists(), "exploring must not write to the store"


def test_feature_pipeline_notebook_writes_once_and_queries(data_dir: Path) -> None:
    nb, values = run_notebook(
        REPO / "notebooks" / "02_feature_pipeline.ipynb", {"DATA_DIR": str(data_dir)},
        probe="{'first': first.inserted, 'second': second.inserted, 'again': second.already_present, "
        "'history': history['version'].tolist(), 'by_source': by_source.to_dict('records')}",
    )
    store = LocalFeatureStore(data_dir / "feature_store")
    assert store.read(TWEETS).shape[0] == HISTORY_ROWS
    assert values["first"] == HISTORY_ROWS and values["second"] == 0 and values["again"] == HISTORY_ROWS
    assert values["history"][-1] == store.table_version(TWEETS) and len(values["history"]) >= 2
    assert values["by_source"] == [{"source": "history", "tweets": HISTORY_ROWS}]
    assert "refused" in printed(nb)


def test_live_and_schedules_notebook_releases_replay_tweets_and_runs_the_schedule(data_dir: Path) -> None:
    nb, values = run_notebook(
        REPO / "notebooks" / "03_live_and_schedules.ipynb", {"DATA_DIR": str(data_dir), "REPLAY_COUNT": 3},
        probe="{'runs': runs, 'log': log_lines, 'first': first.inserted, 'second': second.inserted}",
    )
    live = LocalFeatureStore(data_dir / "feature_store").read(TWEETS).query("source == 'live'")
    assert values["first"] == values["second"] == 3 and set(live["username"]) == {SAMPLE_USERNAME}
    assert len(live) == 3 + 3 + 4, "two replay runs of 3 and one scheduled scrape of 4"
    assert values["runs"] == 3
    log = "\n".join(values["log"])
    assert re.search(r"end scrape: ok", log)
    assert re.search(r"end retrain: failed .*no champion of .* to retrain", log), log
    assert re.search(r"end batch inference: failed .*no champion model", log), log
    text = printed(nb)
    assert "X_BEARER_TOKEN is not set" in text and "$" in text


def test_batch_inference_notebook_trains_when_needed_and_fills_the_monitor(data_dir: Path) -> None:
    nb, values = run_notebook(
        REPO / "notebooks" / "04_batch_inference_monitoring.ipynb",
        {**TINY, "DATA_DIR": str(data_dir), "DAYS": 3, "MAX_NEW_TOKENS": 20},
        probe="{'tweets': [r.tweet_id for r in reports], 'inserted': [r.inserted for r in reports], "
        "'rerun': rerun.inserted, 'monitor': len(monitor)}",
    )
    assert LocalModelRegistry(data_dir / "models").champion("tweet_gpt2").version == 1
    rows = LocalFeatureStore(data_dir / "feature_store").read(GENERATED_TWEETS)
    distinct = len(set(values["tweets"]))
    assert distinct >= 2 and len(rows) == values["monitor"] == sum(values["inserted"]) == distinct
    assert values["rerun"] == 0
    assert set(rows["arm"]) == {"champion"} and rows["generated_at"].is_unique
    assert len(images(nb)) == 1, "the measures chart was not displayed"


def test_app_preview_notebook_draws_real_and_generated_tweets(data_dir: Path) -> None:
    nb, values = run_notebook(
        REPO / "notebooks" / "05_app_preview.ipynb",
        {**TINY, "DATA_DIR": str(data_dir), "MAX_NEW_TOKENS": 20},
        probe="{'monitor': len(monitor), 'champion': champion.version, 'real_id': int(real['tweet_id'])}",
    )
    rows = LocalFeatureStore(data_dir / "feature_store").read(GENERATED_TWEETS)
    assert values["monitor"] == len(rows) == 1 and values["champion"] == 1
    assert int(rows["tweet_id"].iloc[0]) == values["real_id"], "the daily run answers the newest tweet"
    sizes = images(nb)
    # real light and dark, the invented card, a day's three cards light and dark, two prompt-box images
    assert len(sizes) == 11 and all(width == 1100 for width, _ in sizes), sizes


def test_committed_notebooks_carry_their_outputs_and_no_machine_paths() -> None:
    """What a reader on GitHub sees: every notebook saved by `make notebooks`, with its outputs."""
    from scripts.run_notebooks import MACHINE_PATH

    assert len(NOTEBOOKS) == 6
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        parameters_cell_index(nb)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert sum(bool(cell.outputs) for cell in code) >= len(code) // 2, f"{path.name}: run `make notebooks` to save its outputs"
        for cell in nb.cells:
            shown = [(output.get("text", ""), *(v for k, v in output.get("data", {}).items() if k.startswith("text/")))
                     for output in cell.get("outputs", [])]
            text = cell.source + json.dumps(shown)  # what a reader sees: the code and the text outputs
            assert not MACHINE_PATH.search(text), f"{path.name}: a machine path in a cell or its output"
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_saving_outputs_joins_a_stream_and_keeps_what_a_carriage_return_leaves() -> None:
    from scripts.run_notebooks import merge_streams

    out = nbformat.v4.new_output
    outputs = [out("stream", name="stderr", text="Training: 1step\r"), out("stream", name="stderr", text="Training: 2step\rTraining: 3step, loss=1.0\n"),
               out("stream", name="stdout", text="done\n"), out("display_data", data={"text/plain": "<Image>"}),
               out("stream", name="stdout", text="after\n")]
    merged = merge_streams(outputs)
    assert [(o.output_type, o.get("name")) for o in merged] == [("stream", "stderr"), ("stream", "stdout"), ("display_data", None), ("stream", "stdout")]
    assert merged[0].text == "Training: 3step, loss=1.0\n" and merged[1].text == "done\n" and merged[3].text == "after\n"

"""The commands as people meet them: help without type labels, scripts under their own names,
one sentence and exit 2 for every usage error, and a busy port named before the app loads."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.reliability.processes import cli_env
from tweetgen.cli import command_line, main

# What Typer prints for a parameter given no metavar: <str>, <bool>, <list[Path]>, <int range> [x>=0].
TYPE_LABEL = re.compile(r"<(str|int|float|bool|path|datetime|list\[\w+\]|int range|float range)>|\[x[<>]=?|\bx<=")
COMMANDS = sorted(command_line().commands)  # type: ignore[attr-defined]
SCRIPTS = {"feature_engineering.py": "features", "scrape_live.py": "scrape", "batch_inference.py": "infer", "app/app.py": "app"}


def help_text(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The help ``args`` print, as one line (the box and the wrapping undone)."""
    assert main([*args, "--help"]) == 0
    return " ".join(re.sub("[│╭╮╰╯─]", " ", capsys.readouterr().out).split())


def test_the_type_label_pattern_catches_what_typer_prints_by_default() -> None:
    typer_default = "--path <list[Path]> --download <bool> --holdout <int range> [x>=0] --source <str>"
    assert [m.group(0) for m in TYPE_LABEL.finditer(typer_default)] == ["<list[Path]>", "<bool>", "<int range>", "[x>=", "<str>"]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_no_raw_type_labels(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text([command] if command else [], capsys)
    assert "--help" in text and not TYPE_LABEL.search(text), TYPE_LABEL.search(text)


def test_help_names_values_as_people_read_them(capsys: pytest.CaptureFixture[str]) -> None:
    train = help_text(["train"], capsys)
    assert "--model lstm|gpt2" in train and "--tokenizer byte|bpe" in train and "--max-steps N" in train
    assert "--data-dir DIR" in train and "--backend local|hopsworks" in train
    features = help_text(["features"], capsys)
    assert "--download Kaggle: fetch" in features  # a flag shows no value
    assert "--holdout N Newest tweets" in features and "--path PATH" in features
    assert "SQL SQL over the feature groups" in help_text(["query"], capsys)


def test_every_command_takes_backend_and_data_dir() -> None:
    commands = command_line().commands  # type: ignore[attr-defined]
    for name, command in commands.items():
        flags = {opt for param in command.params for opt in param.opts}
        if name == "demo":  # the demo is offline by definition: --data-dir only
            assert "--data-dir" in flags and "--backend" not in flags
        else:
            assert {"--backend", "--data-dir"} <= flags, name
    assert {"doctor", "smoke"} <= set(commands)


def test_smoke_with_a_store_checks_that_the_app_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fakes.app_server import demo_store
    from tests.fakes.tiny_model import register_tiny_champion
    from tweetgen.ui.browser import running_app
    from tweetgen.ui.predictor import Predictor

    store = demo_store(tmp_path / "data" / "feature_store", n_runs=3)
    registry, _ = register_tiny_champion(tmp_path / "model")
    (tmp_path / "elsewhere").mkdir()
    with running_app(store, Predictor(lambda: registry, "tweet_gpt2", max_new_tokens=8), tmp_path / "gradio") as url:
        assert main(["smoke", url, "--data-dir", str(tmp_path / "data")]) == 0
        out = capsys.readouterr().out
        assert "ok     store     the app's newest run (tweet 1002, model version 3, 2026-01-12 06:00 UTC) is the newest in" in out
        assert main(["smoke", url, "--data-dir", str(tmp_path / "elsewhere")]) == 1
        err = capsys.readouterr().err
        assert "FAILED store     the app shows a run and" in err and "holds no run: the app reads another store" in err
        demo_store(tmp_path / "other" / "feature_store", n_runs=2)  # an older store: its newest run is a day earlier
        assert main(["smoke", url, "--data-dir", str(tmp_path / "other")]) == 1
        assert "the app's newest run is tweet 1002, model version 3 at 2026-01-12 06:00:00 UTC;" in capsys.readouterr().err
        assert main(["smoke", url]) == 0  # without a store: health and generate only
        assert "store" not in capsys.readouterr().out


def test_the_readme_lists_each_command_with_flags_it_has() -> None:
    readme = (REPO / "README.md").read_text()
    commands = command_line().commands  # type: ignore[attr-defined]
    listed = re.findall(r"^python (?:-m tweetgen (\w+)|(\w+\.py|app/app\.py))(.*?)(?:#|$)", readme, re.M)
    assert len(listed) >= 15
    for command, script, rest in listed:
        name = command or SCRIPTS[script]
        flags = {opt for param in commands[name].params for opt in param.opts}
        for flag in re.findall(r"--[\w-]+", rest):
            assert flag in flags, f"README: `{name}` has no {flag}"


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_script_names_itself_on_its_usage_line(script: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, script, "--help"], cwd=REPO, env=cli_env(tmp_path / "data"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    usage = re.search(r"Usage: (.*?) \[OPTIONS\]", result.stdout)
    assert usage and usage.group(1) == Path(script).name  # no subcommand nobody types after it


@pytest.mark.parametrize(("args", "sentence"), [
    (["train", "--model", "gpt3"], "--model is 'gpt3'; use one of lstm, gpt2."),
    (["train", "--model", "GPT2", "--max-steps", "0"], "--max-steps is 0; use a whole number of at least 1."),
    (["features", "--source", "twitter"], "--source is 'twitter'; use one of sample, kaggle."),
    (["features", "--holdout", "-1"], "--holdout is -1; use a whole number of at least 0."),
    (["scrape", "--source", "rss"], "--source is 'rss'; use one of replay, x."),
    (["scrape", "--count", "0"], "--count is 0; use a whole number of at least 1."),
    (["models", "--backend", "s3"], "--backend is 's3'; use one of local, hopsworks."),
    (["doctor", "--backend", "s3"], "--backend is 's3'; use one of local, hopsworks."),
    (["query", "--last", "0"], "--last is 0; use a whole number of at least 1."),
    (["query", "--format", "xml", "SELECT 1"], "--format is 'xml'; use one of table, csv, json."),
    (["app", "--port", "65536"], "--port is 65536; use a whole number from 1 to 65535."),
    (["app", "--port", "0"], "--port is 0; use a whole number from 1 to 65535."),
    (["smoke", "http://127.0.0.1:9", "--timeout", "0.5"], "--timeout is 0.5; use a number of at least 1."),
])
def test_a_flag_value_that_cannot_work_is_one_sentence_and_exit_2(
    args: list[str], sentence: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert capsys.readouterr().err == f"error: {sentence}\n"


def test_the_limits_themselves_are_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--last", "1", "--format", "CSV", "SELECT 1 AS one"]) == 2  # both: still one question at a time
    assert "give exactly one of" in capsys.readouterr().err
    assert main(["query", "--format", "CSV", "SELECT 1 AS one"]) == 0  # choices ignore case
    assert capsys.readouterr().out == "one\n1\n"


@pytest.mark.parametrize("args", [["features", "--holdout", "many"], ["infer", "--as-of", "yesterday"], ["train", "--bogus"]])
def test_values_of_the_wrong_type_and_unknown_flags_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert "Usage:" in capsys.readouterr().err


def occupied_port() -> socket.socket:
    """A real listening socket on 127.0.0.1, as another app holds its port."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


@pytest.mark.parametrize("how", ["flag", "variable", "script"])
def test_a_busy_port_is_one_sentence_and_exit_1_before_anything_loads(how: str, tmp_path: Path) -> None:
    with occupied_port() as holder:
        port = holder.getsockname()[1]
        command, env = {
            "flag": (["-m", "tweetgen", "app", "--port", str(port)], {}),
            "variable": (["-m", "tweetgen", "app"], {"GRADIO_SERVER_PORT": str(port)}),
            "script": ([str(REPO / "app" / "app.py")], {"GRADIO_SERVER_PORT": str(port)}),
        }[how]
        result = subprocess.run([sys.executable, "-X", "importtime", *command], env=cli_env(tmp_path / "data", **env),
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert result.returncode == 1
    assert errors == [f"error: Port {port} on 127.0.0.1 is already in use (another app?); pick another with "
                      f"--port {port + 1} or GRADIO_SERVER_PORT={port + 1}, or stop what holds it."]
    assert "Serving the app" not in result.stdout
    assert "tweetgen.cli" in imported and not {"torch", "gradio", "uvicorn"} & imported  # said before the model, Gradio or the server load


def test_the_demo_says_its_port_is_busy_before_running_any_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with occupied_port() as holder:
        port = holder.getsockname()[1]
        assert main(["demo", "--port", str(port), "--data-dir", str(tmp_path / "data")]) == 1
    assert capsys.readouterr().err.startswith(f"error: Port {port} on 127.0.0.1 is already in use")
    assert not (tmp_path / "data" / "feature_store").exists()  # nothing ran


def test_a_free_port_is_taken_and_the_premise_of_the_busy_port_test_holds() -> None:
    from tweetgen.errors import ConfigError
    from tweetgen.ui.serve import listening_socket

    with occupied_port() as holder:
        port = holder.getsockname()[1]
        with pytest.raises(ConfigError, match=f"Port {port} on 127.0.0.1 is already in use"):
            listening_socket("127.0.0.1", port)
    with listening_socket("127.0.0.1", port) as mine:  # released: free again, and ours to serve on
        assert mine.getsockname() == ("127.0.0.1", port)


def test_every_flag_the_docs_name_is_a_flag_of_a_command() -> None:
    commands = command_line().commands  # type: ignore[attr-defined]
    known = {opt for command in commands.values() for param in command.params for opt in param.opts} | {"--help"}
    others = {"--hardware": "scripts/build_space.py", "--repo-type": "hf", "--space-sdk": "hf", "--flavor": "hf", "--index-url": "pip",
              "--split": "bench/bench_quality.py", "--detach": "modal run", "--force": "modal secret create",
              "--width": "scripts/screenshot_app.py", "--palette": "scripts/screenshot_app.py", "--output": "scripts/screenshot_app.py",
              "--list": "scripts/mutation.py", "--table": "scripts/mutation.py"}
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    named = {flag for page in pages for flag in re.findall(r"(?<![\w>-])--[a-z][a-z0-9-]*", page.read_text())}
    assert {"--backend", "--drift", "--port"} <= named  # the premise: the docs do name flags
    assert named - known <= set(others), f"flags the docs name that no command has: {sorted(named - known - set(others))}"
    assert not set(others) & known  # each exception is another tool's flag, not a tweetgen one

"""The Modal app offline: it imports with no token, its schedules are the settings' cron specs,
its image and function specs are read from the real modal client's objects, and each function's
body runs in-process (``.local()``) against the local backend."""

import importlib
import inspect
import math
import os
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import REPO
from tests.fakes.models import register_tiny_model
from tweetgen.clients.write_plan import WORK_S, job_timeout_s
from tweetgen.config import DEFAULT_MODEL_NAME, INFERENCE_CRON, RETRAIN_CRON, SCRAPE_CRON, Settings
from tweetgen.errors import ConfigError
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, JOB_RUNS, TWEETS
from tweetgen.sources.replay import REPLAY_HOLDOUT
from tweetgen.sources.x_api import MODAL_TIME_BUDGET_S
from tweetgen.store.local import LocalFeatureStore

# .local() runs a body in this process, where the functions' Volume is not mounted: Modal says so.
pytestmark = pytest.mark.filterwarnings("ignore:The .* function is executing locally:UserWarning")


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    """Import modal_app afresh, recording the options each function is declared with."""
    import modal

    recorded: dict[str, dict] = {}
    original = modal.App.function

    def recording(self, *args, **options):
        decorate = original(self, *args, **options)

        def wrapper(f):
            recorded[getattr(f, "__name__", getattr(getattr(f, "raw_f", None), "__name__", "?"))] = options
            return decorate(f)

        return wrapper

    monkeypatch.setattr(modal.App, "function", recording)
    monkeypatch.delitem(sys.modules, "modal_app", raising=False)
    importlib.import_module("modal_app")
    return recorded


def cron_of(options: dict) -> str | None:
    schedule = options.get("schedule")
    return schedule.proto_message.cron.cron_string if schedule is not None else None


def test_schedules_are_the_settings_cron_specs(declared: dict[str, dict]) -> None:
    assert cron_of(declared["scrape"]) == SCRAPE_CRON
    assert cron_of(declared["daily_inference"]) == INFERENCE_CRON
    assert cron_of(declared["train"]) is None and declared["train"]["gpu"]
    assert cron_of(declared["retrain"]) == RETRAIN_CRON and "gpu" not in declared["retrain"]  # an LSTM retrains on the CPU
    assert cron_of(declared["retrain_on_gpu"]) is None and declared["retrain_on_gpu"]["gpu"]  # a GPT-2 champion's



def test_timeouts_follow_from_the_write_plan_and_the_deploying_shells_job_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import modal_app as first

    defaults = Settings.load(dotenv=None)
    assert WORK_S["scrape"] == MODAL_TIME_BUDGET_S  # the X reads' own bound
    assert first.SCRAPE_TIMEOUT_S == job_timeout_s("scrape", defaults) == 2016
    assert job_timeout_s("inference", defaults) == first.INFERENCE_TIMEOUT_S
    monkeypatch.setenv("HOPSWORKS_JOB_TIMEOUT", "300")
    sys.modules.pop("modal_app")
    again = importlib.import_module("modal_app")
    assert math.ceil((60 + 240 + (2 * 300 + 60) * 2 + 300 + 60) * 1.2) == again.SCRAPE_TIMEOUT_S
    assert again.CLOUD_ENV["HOPSWORKS_JOB_TIMEOUT"] == "300"  # the functions wait as long as their timeout allows
    sys.modules.pop("modal_app")


def test_secrets_are_named_with_their_required_keys(declared: dict[str, dict]) -> None:
    # hopsworks (+ x-api for the scrape), and the notification settings of the deploying shell
    assert len(declared["scrape"]["secrets"]) == 3 and len(declared["daily_inference"]["secrets"]) == 2


def test_the_scrape_is_never_retried_since_a_retry_pays_for_the_same_posts_again(declared: dict[str, dict]) -> None:
    assert declared["scrape"]["retries"] == 0


def test_each_function_is_declared_with_its_planned_timeout(declared: dict[str, dict]) -> None:
    import modal_app

    assert declared["scrape"]["timeout"] == modal_app.SCRAPE_TIMEOUT_S
    assert declared["daily_inference"]["timeout"] == modal_app.INFERENCE_TIMEOUT_S
    assert declared["train"]["timeout"] == modal_app.TRAIN_TIMEOUT_S


def spec_of(function):
    """The function's spec (image, volumes, cpu, memory), as the modal client keeps it."""
    from modal._utils.async_utils import synchronizer

    return synchronizer._translate_in(function)._spec


def test_the_web_endpoint_and_the_jobs_request_what_they_need(modal_app) -> None:
    # Modal's default reservation is 0.125 core and 128 MiB: less than the imports alone take.
    for function in (modal_app.web, modal_app.daily_inference, modal_app.retrain):
        assert (spec_of(function).cpu, spec_of(function).memory) == (2.0, 3072)
    assert (spec_of(modal_app.scrape).cpu, spec_of(modal_app.scrape).memory) == (0.5, 1024)


def image_layers(image) -> tuple[list[str], dict[str, str], list[str]]:
    """The image's Dockerfile commands, the local files they copy in, and the files mounted at start,
    read from the modal client's own (lazy, offline) objects."""
    from modal._image import _Image
    from modal._utils.async_utils import synchronizer
    from modal.mount import _Mount

    commands: list[str] = []
    context: dict[str, str] = {}
    mounted: list[str] = []
    pending = [synchronizer._translate_in(image)]
    while pending:
        layer = pending.pop()
        if isinstance(layer, _Mount):
            mounted += [str(PurePosixPath(remote)) for entry in layer.entries for _, remote in entry.get_files_to_upload()]
        elif isinstance(layer, _Image):
            build = inspect.getclosurevars(layer._load).nonlocals.get("dockerfile_function")
            if build is not None:
                spec = build("2025.06")
                commands[:0] = spec.commands
                context.update(spec.context_files)
        pending += list(layer._deps()) if getattr(layer, "_deps", None) else []
    return commands, context, mounted


def requirement_lines(path: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()]


def test_the_cpu_functions_get_cpu_torch_and_only_train_gets_the_cuda_build(modal_app) -> None:
    cpu, _, _ = image_layers(modal_app.image)
    gpu, _, _ = image_layers(modal_app.gpu_image)
    cpu_installs = [c for c in cpu if c.startswith("RUN /.uv/uv pip install")]
    gpu_installs = [c for c in gpu if c.startswith("RUN /.uv/uv pip install")]
    assert len(cpu_installs) == 2 and cpu_installs[0].endswith("--index-url https://download.pytorch.org/whl/cpu torch==2.13.0")
    assert "--requirements" in cpu_installs[1]
    assert len(gpu_installs) == 1 and "--requirements" in gpu_installs[0] and "whl/cpu" not in gpu_installs[0]
    for function in (modal_app.scrape, modal_app.daily_inference, modal_app.web):
        assert spec_of(function).image is synchronizer_of(modal_app.image) and not spec_of(function).gpus
    assert spec_of(modal_app.train).image is synchronizer_of(modal_app.gpu_image) and spec_of(modal_app.train).gpus


def synchronizer_of(image):
    from modal._utils.async_utils import synchronizer

    return synchronizer._translate_in(image)


def test_deploying_needs_only_modal_even_with_a_dotenv_file(tmp_path: Path) -> None:
    """``modal deploy`` imports this file on the deploying machine, where ``pip install modal`` may be
    all there is: no python-dotenv, no pandas, no torch."""
    (tmp_path / ".env").write_text('HOPSWORKS_JOB_TIMEOUT=300\nexport TWEETGEN_NOTIFY_WEBHOOK="http://127.0.0.1:9/hook" # ours\n')
    probe = f"""
import importlib.abc, sys
MISSING = ("dotenv", "pandas", "pyarrow", "numpy", "torch", "transformers", "hopsworks", "gradio", "tweepy", "duckdb", "deltalake")
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
sys.meta_path.insert(0, Missing())
sys.path.insert(0, {str(REPO)!r})
import modal_app
print(modal_app.CLOUD_ENV["HOPSWORKS_JOB_TIMEOUT"], modal_app.SCRAPE_TIMEOUT_S, sorted(modal_app.notify_environment()))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOPSWORKS_", "TWEETGEN_"))}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[0] == "300 2376 ['TWEETGEN_NOTIFY_WEBHOOK']"


def test_train_keeps_its_checkpoint_on_the_volume_so_a_cut_off_run_resumes(modal_app, monkeypatch) -> None:
    from tweetgen.pipelines import jobs

    seen = []
    monkeypatch.setattr(jobs, "train_job", lambda settings, config, runner: seen.append(config) or _Summary())
    modal_app.train.local(base_model="tiny", max_seconds=20)
    on_modal = Settings.from_mapping({**modal_app.CLOUD_ENV, "MODAL_IS_REMOTE": "1"})
    assert seen[0].checkpoint_dir == str(Settings.load().data_dir / "checkpoints" / DEFAULT_MODEL_NAME)
    assert modal_app.checkpoint_folder(on_modal) == Path(modal_app.DATA_MOUNT, "checkpoints", DEFAULT_MODEL_NAME)  # the Volume
    with pytest.raises(ConfigError, match="max_seconds=9000 leaves evaluation and registering no room"):  # 5400 at most
        modal_app.train.local(max_seconds=9000)


class _Summary:
    def summary(self) -> str:
        return "trained"


def test_the_image_installs_only_the_runtime_set_and_ships_the_avatar(modal_app) -> None:
    commands, context, mounted = image_layers(modal_app.image)
    installs = [c for c in commands if c.startswith("RUN /.uv/uv pip install") and "--requirements" in c]
    assert len(installs) == 1
    assert [Path(p).resolve() for p in context.values()] == [REPO / "requirements.txt"]
    lines = requirement_lines(REPO / "requirements.txt")
    assert not [line for line in lines if line.startswith("-")], "the file is copied alone: no -r, -e or -c lines"
    names = {line.split("==")[0].split("[")[0].lower() for line in lines}
    for tool in ("pytest", "playwright", "jupyter", "nbclient", "ipykernel", "ruff", "accelerate", "pyppmd", "vcrpy"):
        assert tool not in names, tool
    assert "/root/tweetgen/ui/assets/avatar.png" in mounted  # or cards on Modal draw a substitute
    assert "/root/tweetgen/pipelines/jobs.py" in mounted
    assert not [m for m in mounted if m.endswith(".pyc") or "__pycache__" in m]


def test_every_function_keeps_its_data_dir_on_a_volume_and_says_so(modal_app) -> None:
    from modal.volume import _Volume

    env = modal_app.CLOUD_ENV
    for function in (modal_app.scrape, modal_app.daily_inference, modal_app.train, modal_app.retrain, modal_app.retrain_on_gpu, modal_app.web):
        (mount, volume), = spec_of(function).volumes.items()
        assert isinstance(volume, _Volume)
        assert env["TWEETGEN_DATA_DIR"] == env["TWEETGEN_DATA_VOLUME"] == mount
    # With that environment, the local backend is allowed on Modal; without the marker it is refused.
    on_modal = {**env, "TWEETGEN_BACKEND": "local", "MODAL_IS_REMOTE": "1"}
    assert Settings.from_mapping(on_modal).data_dir == Path(mount)
    with pytest.raises(ConfigError, match="container's disk"):
        Settings.from_mapping({k: v for k, v in on_modal.items() if k != "TWEETGEN_DATA_VOLUME"})


@pytest.fixture
def modal_app():
    sys.modules.pop("modal_app", None)
    return importlib.import_module("modal_app")


def test_scrape_body_runs_locally_on_the_replay(modal_app) -> None:
    from tweetgen.pipelines.features import run_feature_pipeline

    store = LocalFeatureStore(Settings.load().feature_store_dir)
    history = run_feature_pipeline(store, source="sample").inserted  # what the replay releases from: held_out_tweets
    lines = modal_app.scrape.local()
    assert f"4 new tweets released by the replay; {REPLAY_HOLDOUT - 4} left to release." in lines
    assert len(store.read(TWEETS)) == history + 4


def test_train_then_daily_inference_bodies_run_locally(modal_app) -> None:
    settings = Settings.load()
    from tweetgen.pipelines.features import run_feature_pipeline

    run_feature_pipeline(LocalFeatureStore(settings.feature_store_dir), source="sample")
    summary = modal_app.train.local(base_model="tiny", epochs=0.02, max_seconds=20)
    assert "Trained tweet_model version 1" in summary and "becomes the first champion" in summary
    lines = modal_app.daily_inference.local()
    assert any(line.startswith("rows written      1") for line in lines)
    assert modal_app.retrain.local()[0].startswith("Skipped: 0 new tweets since the champion's data (version 1)")  # an LSTM: on the CPU
    runs = LocalFeatureStore(settings.feature_store_dir).read(JOB_RUNS).sort_values("started_at")
    assert runs[["job", "status", "runner"]].values.tolist() == [
        ["train", "ok", "modal"], ["inference", "ok", "modal"], ["retrain", "ok", "modal"],
    ]
    rows = LocalFeatureStore(settings.feature_store_dir).read(GENERATED_TWEETS)
    assert rows["model_version"].tolist() == [1] and rows["arm"].tolist() == ["champion"]


def test_web_builds_the_gradio_app(modal_app) -> None:
    register_tiny_model(LocalModelRegistry(Settings.load().data_dir / "models"))
    from fastapi.testclient import TestClient

    with TestClient(modal_app.web.local()) as client:
        page = client.get("/")
        config = client.get("/config")
        health = client.get("/api/health")
        generated = client.post("/api/generate", json={"prompt": "The", "seed": 3})
    assert health.status_code == 200 and health.json()["daily_job"] == "inference"
    assert generated.status_code == 200 and generated.json()["seed"] == 3 and generated.json()["text"].startswith("The")
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert config.status_code == 200 and "Tweets by a model" in config.text


def test_train_commits_the_volume_while_it_runs_and_once_at_the_end(modal_app) -> None:
    """A Volume's changes reach the next container only once committed: a checkpoint must be."""
    commits: list[float] = []

    class RecordingVolume:
        def commit(self) -> None:
            commits.append(time.monotonic())

    with modal_app.committing(RecordingVolume(), every_s=0.05):
        time.sleep(0.3)
    assert 2 <= len(commits) <= 8  # every 0.05 s during 0.3 s (fewer on a busy machine), and the last at the end
    assert commits[-1] - commits[0] >= 0.05  # not all at the end
    before = len(commits)
    with modal_app.committing(RecordingVolume(), every_s=0.05, active=False):  # off Modal: no Volume to commit
        time.sleep(0.1)
    assert len(commits) == before

"""The Modal app offline: it imports with no token, its schedules are the settings' cron specs,
and each function's body runs in-process (``.local()``) against the local backend."""

import importlib
import sys

import pytest

from tests.fakes.models import register_tiny_model
from tweetgen.config import INFERENCE_CRON, SCRAPE_CRON, Settings
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.schema import GENERATED_TWEETS, JOB_RUNS, TWEETS
from tweetgen.sources.sample import REPLAY_HOLDOUT
from tweetgen.store.local import LocalFeatureStore


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
    assert declared["scrape"]["timeout"] == 300


def test_secrets_are_named_with_their_required_keys(declared: dict[str, dict]) -> None:
    # hopsworks (+ x-api for the scrape), and the notification settings of the deploying shell
    assert len(declared["scrape"]["secrets"]) == 3 and len(declared["daily_inference"]["secrets"]) == 2


@pytest.fixture
def modal_app():
    sys.modules.pop("modal_app", None)
    return importlib.import_module("modal_app")


def test_scrape_body_runs_locally_on_the_replay(modal_app) -> None:
    lines = modal_app.scrape.local()
    assert f"4 new tweets released by the replay; {REPLAY_HOLDOUT - 4} left to release." in lines
    assert len(LocalFeatureStore(Settings.load().feature_store_dir).read(TWEETS)) == 4


def test_train_then_daily_inference_bodies_run_locally(modal_app) -> None:
    settings = Settings.load()
    from tweetgen.pipelines.features import run_feature_pipeline

    run_feature_pipeline(LocalFeatureStore(settings.feature_store_dir), source="sample")
    summary = modal_app.train.local(base_model="tiny", epochs=0.02, max_seconds=20)
    assert "Trained tweet_gpt2 version 1" in summary and "becomes the first champion" in summary
    lines = modal_app.daily_inference.local()
    assert any(line.startswith("rows written      1") for line in lines)
    runs = LocalFeatureStore(settings.feature_store_dir).read(JOB_RUNS).sort_values("started_at")
    assert runs[["job", "status", "runner"]].values.tolist() == [["train", "ok", "modal"], ["inference", "ok", "modal"]]
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

"""Jobs: each pipeline as one call from settings, shared by the CLI, the scheduler and Modal.

A job opens the backends the settings name, runs its pipeline and returns the pipeline's report.
Every run is recorded in the ``job_runs`` group and notified on failure
(``tweetgen.pipelines.runs``); ``runner`` says where it ran: ``local`` (the CLI), ``scheduler``
or ``modal``. Pipelines are imported inside the jobs, so a scrape does not pay for importing torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tweetgen.config import INFERENCE_CRON, RETRAIN_CRON, SCRAPE_CRON, Settings
from tweetgen.pipelines.runs import StoreOnce, run_recorded
from tweetgen.pipelines.scheduler import Job
from tweetgen.registry.factory import open_model_registry
from tweetgen.store.factory import open_feature_store
from tweetgen.store.port import FeatureStore

if TYPE_CHECKING:
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.features import FeatureReport
    from tweetgen.pipelines.inference import InferenceReport
    from tweetgen.pipelines.retrain import RetrainReport
    from tweetgen.pipelines.training import TrainReport

R = TypeVar("R")


def run_job(name: str, settings: Settings, runner: str, work: Callable[[FeatureStore], R]) -> R:
    """Run ``work`` on the settings' feature store as the job ``name``, recorded and notified."""
    return run_recorded(name, runner, settings, StoreOnce(lambda: open_feature_store(settings)), work)


def features_job(
    settings: Settings, source: str = "sample", paths: Sequence[str | Path] = (), progress: bool = True, runner: str = "local",
    holdout: int | None = None, download: bool = False,
) -> FeatureReport:
    """Historical tweets from ``source`` (sample or kaggle, ``download``-ed with kagglehub or read from
    ``paths``) into the ``tweets`` group, the newest ``holdout`` into ``held_out_tweets`` for the replay."""
    from tweetgen.pipelines.features import run_feature_pipeline
    from tweetgen.sources.replay import REPLAY_HOLDOUT

    def work(store: FeatureStore) -> FeatureReport:
        return run_feature_pipeline(store, source=source, paths=paths, username=settings.username, progress=progress,
                                    holdout=REPLAY_HOLDOUT if holdout is None else holdout, download=download)

    return run_job("features", settings, runner, work)


def scrape_job(settings: Settings, count: int = 4, max_tweets: int = 20, runner: str = "local") -> FeatureReport:
    """New tweets from ``settings.live_source`` (replay or X API) into the ``tweets`` group."""
    from tweetgen.pipelines.live import scrape_replay, scrape_x

    def work(store: FeatureStore) -> FeatureReport:
        if settings.live_source == "replay":
            return scrape_replay(store, count=count)
        from tweetgen.sources.x_api import make_client

        client = make_client(settings.x_bearer_token)
        return scrape_x(store, client, settings.username, max_tweets, settings.x_user_id)

    return run_job("scrape", settings, runner, work)


def train_job(settings: Settings, config: TrainConfig | None = None, runner: str = "local") -> TrainReport:
    """Train on the ``tweets`` group and register the model under ``settings.model_name``."""
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.training import run_training

    config = dataclasses.replace(config or TrainConfig(), model_name=settings.model_name)
    return run_job("train", settings, runner, lambda store: run_training(store, open_model_registry(settings), config))


def retrain_job(settings: Settings, config: TrainConfig | None = None, runner: str = "local") -> RetrainReport:
    """Continue the champion on its new tweets when enough arrived or it drifts (``tweetgen.pipelines.retrain``)."""
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.retrain import RetrainRule, run_retrain

    config = dataclasses.replace(config or TrainConfig(max_seconds=None), model_name=settings.model_name)
    rule = RetrainRule(settings.retrain_min_new_tweets, settings.drift_window, settings.drift_margin)
    return run_job("retrain", settings, runner, lambda store: run_retrain(store, open_model_registry(settings), config, rule))


def retrain_needs_gpu(settings: Settings) -> bool:
    """Whether the champion a retrain would continue is a GPT-2 (a GPU's work); an LSTM, or no
    champion at all (the job then says so), runs on the CPU."""
    champion = open_model_registry(settings).champion(settings.model_name)
    return champion is not None and champion.family != "lstm"


def inference_job(settings: Settings, as_of: datetime | None = None, seed: int | None = None, runner: str = "local") -> InferenceReport:
    """The daily batch inference: the champion and the best model of each other family generate next to the newest tweet."""
    from tweetgen.pipelines.inference import Sampling, run_batch_inference

    def work(store: FeatureStore) -> InferenceReport:
        return run_batch_inference(store, open_model_registry(settings), settings.model_name, Sampling(seed=seed), as_of=as_of,
                                   drift_window=settings.drift_window)

    return run_job("inference", settings, runner, work)


def scheduled_jobs(settings: Settings) -> list[Job]:
    """The jobs the Modal app deploys as cron functions, for the local scheduler."""
    return [
        Job("scrape", SCRAPE_CRON, _printing(scrape_job, settings)),
        Job("retrain", RETRAIN_CRON, _printing(retrain_job, settings)),
        Job("batch inference", INFERENCE_CRON, _printing(inference_job, settings)),
    ]


def _printing(job: Callable[..., object], settings: Settings) -> Callable[[], None]:
    """A no-argument callable that runs ``job`` as the scheduler and prints its report (the scheduler logs the rest)."""

    def run() -> None:
        for line in job(settings, runner="scheduler").lines():  # type: ignore[attr-defined]
            print(line, flush=True)

    return run

"""Jobs: each pipeline as one call from settings, shared by the CLI, the scheduler and Modal.

A job opens the backends the settings name, runs its pipeline and returns the pipeline's report.
"""

from __future__ import annotations

from datetime import datetime

from tweetgen.backends import open_feature_store, open_model_registry
from tweetgen.config import INFERENCE_CRON, SCRAPE_CRON, Settings
from tweetgen.feature_pipeline import FeatureReport
from tweetgen.inference_pipeline import InferenceReport, Sampling, run_batch_inference
from tweetgen.scheduler import Job


def scrape_job(settings: Settings, count: int = 4, max_tweets: int = 20) -> FeatureReport:
    """New tweets from ``settings.live_source`` (replay or X API) into the ``tweets`` group."""
    from tweetgen.live_pipeline import scrape_replay, scrape_x

    store = open_feature_store(settings)
    if settings.live_source == "replay":
        return scrape_replay(store, count=count, username=settings.username)
    from tweetgen.x_source import make_client

    client = make_client(settings.x_bearer_token)
    return scrape_x(store, client, settings.username, max_tweets, settings.x_user_id_cache)


def inference_job(settings: Settings, as_of: datetime | None = None, seed: int | None = None) -> InferenceReport:
    """The daily batch inference: champion (and challenger) generate next to the newest tweet."""
    store, registry = open_feature_store(settings), open_model_registry(settings)
    return run_batch_inference(store, registry, settings.model_name, Sampling(seed=seed), as_of=as_of)


def scheduled_jobs(settings: Settings) -> list[Job]:
    """The jobs the Modal app deploys as cron functions, for the local scheduler."""

    def printed(job):  # the scheduler logs start and end; the job's report goes to stdout
        def run() -> None:
            for line in job(settings).lines():
                print(line, flush=True)

        return run

    return [Job("scrape", SCRAPE_CRON, printed(scrape_job)), Job("batch inference", INFERENCE_CRON, printed(inference_job))]

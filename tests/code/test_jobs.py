"""The jobs the scheduler runs are the Modal app's, on the same cron specs."""

from datetime import UTC, datetime, timedelta

from tweetgen.config import INFERENCE_CRON, RETRAIN_CRON, SCRAPE_CRON, Settings
from tweetgen.pipelines.features import run_feature_pipeline
from tweetgen.pipelines.jobs import scheduled_jobs
from tweetgen.pipelines.scheduler import run_forever
from tweetgen.schema import TWEETS
from tweetgen.store.local import LocalFeatureStore


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_scheduled_jobs_use_the_cron_specs_of_the_settings() -> None:
    jobs = scheduled_jobs(Settings.load())
    assert [(job.name, job.cron) for job in jobs] == [("scrape", SCRAPE_CRON), ("retrain", RETRAIN_CRON), ("batch inference", INFERENCE_CRON)]


def test_the_scheduler_scrapes_then_survives_a_failed_inference(capsys) -> None:
    settings = Settings.load()
    history = run_feature_pipeline(LocalFeatureStore(settings.feature_store_dir), source="sample").inserted
    clock = Clock(datetime(2026, 11, 22, 5, 0, tzinfo=UTC))
    logged: list[str] = []
    runs = run_forever(scheduled_jobs(settings), clock=clock, sleep=clock.sleep, max_runs=4, log=logged.append)
    assert runs == 4
    # 05:30 scrape, 05:45 retrain and 06:00 inference (both fail: no model yet), 05:30 next day scrape
    assert len(LocalFeatureStore(settings.feature_store_dir).read(TWEETS)) == history + 8
    failures = [line for line in logged if "batch inference" in line and "failed" in line]
    assert len(failures) == 1 and "python -m tweetgen train" in failures[0]
    [retrain] = [line for line in logged if line.startswith("end retrain")]
    assert "failed" in retrain and "no champion of 'tweet_model'" in retrain and "to retrain" in retrain
    assert clock.now.date() == datetime(2026, 11, 23).date()
    assert "4 new tweets released by the replay" in capsys.readouterr().out

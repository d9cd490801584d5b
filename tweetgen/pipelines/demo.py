"""The demo: every pipeline once, offline, on the embedded backends, so the app has something to show.

``ensure_history`` and ``ensure_champion`` give the notebooks the same reuse: they fill what is
missing and keep what exists.

Stages: history (the invented sample corpus, unless the store already holds real tweets: then the
demo runs on those) -> live tweets (replay of the tweets the history ingest held back) -> training (both model families on the CPU, an LSTM and a
small GPT-2, only when there is no champion yet) -> a backfill of the daily job's last few runs -> the daily job
itself, once. Each stage reuses what exists, so a second run is fast, and every job a stage runs is
recorded in ``job_runs`` (``features``, ``scrape``, ``train``, ``backfill``, ``inference``), so the
app's health panel shows them all.

One timeline: a monitor row's ``generated_at`` is the time of the daily run that wrote it, and
``tweet_created_at`` the time of the tweet it answered. The backfill stands for the daily runs of
the ``days`` mornings before today (06:00 UTC, ``DAILY_RUN``); run ``k`` answers the newest tweet of
the ``k``-th of the last ``days`` dates with tweets before the one the daily job answers today. So
a history from years ago (the Kaggle files end in 2022) and today's daily job sit on one axis of
a few days, each run answering an older tweet than the next.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from typing import TYPE_CHECKING, TypeVar

from tweetgen.config import Settings
from tweetgen.errors import TweetgenError
from tweetgen.model.families import family_name
from tweetgen.registry.factory import open_model_registry
from tweetgen.registry.port import former_name_hint
from tweetgen.schema import SAMPLE_USERNAME, TWEETS
from tweetgen.store.factory import open_feature_store
from tweetgen.store.port import FeatureStore

if TYPE_CHECKING:
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.features import FeatureReport
    from tweetgen.pipelines.inference import InferenceReport
    from tweetgen.registry.port import ModelRegistry, ModelVersion

DEMO_TRAIN_SECONDS = 150.0  # the training budget on two cores, shared by the families (about three minutes in all)
DEMO_FAMILIES = ("lstm", "gpt2")  # both are trained, so batch inference runs the A/B test of the families
DEMO_DAYS = 5
REPLAY_PER_DAY = 4
DAILY_RUN = day_time(6, 0)  # the hour the daily job runs (INFERENCE_CRON)
R = TypeVar("R")


@dataclass
class DemoReport:
    """One line per stage: what it did and how long it took."""

    stages: list[tuple[str, str, float]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{name:<18}{summary}  ({seconds:.1f} s)" for name, summary, seconds in self.stages]


def run_demo(
    settings: Settings,
    train_seconds: float = DEMO_TRAIN_SECONDS,
    days: int = DEMO_DAYS,
    train_config: object | None = None,
    echo: Callable[[str], None] = print,
    now: datetime | None = None,
) -> DemoReport:
    """Run the pipeline stages of the demo on ``settings`` (the local backend), printing each.

    ``now`` (default: the clock) is the day the backfill counts back from.
    """
    store, registry = open_feature_store(settings), open_model_registry(settings)
    report = DemoReport()

    def stage(name: str, run: Callable[[], str]) -> None:
        echo(f"== {name}")
        started = time.perf_counter()
        summary = run()
        report.stages.append((name, summary, time.perf_counter() - started))
        echo(f"   {summary}")

    stage("history", lambda: _history(settings, store))
    stage("live (replay)", lambda: _replay(settings, store, days))
    stage("training", lambda: _train(settings, registry, train_seconds, train_config))
    stage("batch inference", lambda: _backfill(settings, store, registry, days, now or datetime.now(UTC)))
    stage("daily job", lambda: _daily_job(settings))
    return report


def _recorded(job: str, settings: Settings, store: FeatureStore, work: Callable[[FeatureStore], R]) -> R:
    """``work(store)`` run as the job ``job`` and recorded in ``job_runs`` (``tweetgen.pipelines.runs``)."""
    from tweetgen.pipelines.runs import run_recorded

    return run_recorded(job, "local", settings, lambda: store, work)


def _history(settings: Settings, store: FeatureStore) -> str:
    """The sample corpus into the store, unless the ``tweets`` group holds real tweets (the demo then uses them)."""
    from tweetgen.pipelines.features import run_feature_pipeline
    from tweetgen.pipelines.provenance import REAL, kinds

    if store.exists(TWEETS):
        usernames = store.read(TWEETS, columns=["username"])["username"]
        if kinds(usernames) == {REAL}:
            return f"the tweets group holds {len(usernames):,} real tweets of @{usernames.iloc[0]}: the demo runs on them"
    report = _recorded("features", settings, store, lambda store: run_feature_pipeline(store, source="sample"))
    return (
        f"{report.rows_read:,} invented tweets of the sample account @{SAMPLE_USERNAME} read, {report.inserted:,} inserted, "
        f"{report.already_present:,} already present, {report.held_out:,} held out for the replay"
    )


def _replay(settings: Settings, store: FeatureStore, days: int) -> str:
    """Release a few days' worth of held-out tweets (only on the first run: later runs keep them)."""
    from tweetgen.pipelines.live import scrape_replay

    if (store.read(TWEETS, columns=["source"])["source"] == "live").any():
        return "live tweets already released (python scrape_live.py releases more)"
    report = _recorded("scrape", settings, store, lambda store: scrape_replay(store, count=REPLAY_PER_DAY * days))
    return report.notes[-1]


def _train(settings: Settings, registry, train_seconds: float, train_config: object | None) -> str:
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.jobs import train_job

    champion = registry.champion(settings.model_name)
    if champion is not None:
        return (f"champion {champion.name} v{champion.version} ({family_name(champion.family)}) exists ({champion.score:.3f} bits/char); "
                "`python -m tweetgen train` trains another")
    former = former_name_hint(registry, settings.model_name)  # trained under the former default name: say how to reach them
    config = train_config or TrainConfig(max_seconds=train_seconds / len(DEMO_FAMILIES))
    done = []
    for family in DEMO_FAMILIES:
        report = train_job(settings, dataclasses.replace(config, family=family))
        champion = "champion" if report.decision.promoted else "not champion"
        done.append(f"{family} v{report.version.version}: {report.metrics['eval_bits_per_char']:.3f} bits/char after "
                    f"{report.metrics['train_seconds']:.0f} s ({champion})")
    return f"{'; '.join(done)}, on the {report.n_eval} newest tweets.{former}"


@dataclass
class BackfillReport:
    """What the backfill wrote: one batch inference report per daily run it stands for."""

    runs: list[InferenceReport]

    def counts(self) -> dict[str, int]:
        """The counts its ``job_runs`` row records."""
        return {"runs": len(self.runs), "rows_written": sum(run.inserted for run in self.runs)}


def _backfill(settings: Settings, store: FeatureStore, registry: ModelRegistry, days: int, now: datetime) -> str:
    """Batch inference standing for the daily runs of the ``days`` mornings before ``now`` (``backfill_runs``)."""
    from tweetgen.pipelines.inference import run_batch_inference

    planned = backfill_runs(store, days, now)

    def work(store: FeatureStore) -> BackfillReport:
        return BackfillReport([run_batch_inference(store, registry, settings.model_name, as_of=as_of, now=run_at)
                               for as_of, run_at in planned])

    report = _recorded("backfill", settings, store, work)
    if not planned:
        return "no earlier dates with tweets: nothing to backfill"
    (first_day, first_run), (last_day, last_run) = planned[0], planned[-1]
    return (f"{report.counts()['rows_written']} monitor rows written by {len(planned)} daily runs of "
            f"{first_run:%b %d}-{last_run:%b %d} ({DAILY_RUN:%H:%M} UTC), answering tweets of {first_day:%b %d, %Y}-{last_day:%b %d, %Y}")


def backfill_runs(store: FeatureStore, days: int, now: datetime) -> list[tuple[datetime, datetime]]:
    """The daily runs the backfill stands for, oldest first: (the time the run sees tweets up to,
    the time it ran).

    The runs are the ``days`` mornings before ``now`` at ``DAILY_RUN``; the tweets they answer are
    the newest of each of the last ``days`` dates with tweets before the date of the tweet the
    daily job answers at ``now`` (``tweetgen.pipelines.inference.newest_tweet``), so that one is
    left to it. Fewer dates, fewer runs (the latest mornings).
    """
    from tweetgen.pipelines.inference import newest_tweet

    tweets = store.read(TWEETS, columns=["tweet_id", "created_at", "source"])
    if tweets.empty:
        return []
    today_answers = newest_tweet(tweets)["created_at"].date()
    dates = sorted(day for day in tweets["created_at"].dt.date.unique() if day < today_answers)[-days:]
    mornings = [now.date() - timedelta(days=len(dates) - k) for k in range(len(dates))]
    return [(datetime.combine(day, day_time.max, tzinfo=UTC), datetime.combine(morning, DAILY_RUN, tzinfo=UTC))
            for day, morning in zip(dates, mornings, strict=True)]


def _daily_job(settings: Settings) -> str:
    """The daily job once, now, as the scheduler runs it (recorded in ``job_runs`` as ``inference``)."""
    from tweetgen.pipelines.jobs import inference_job

    report = inference_job(settings)
    done = f"; already answered by {', '.join(report.skipped_arms)}" if report.skipped_arms else ""
    return f"{report.inserted} monitor rows written for the newest tweet{done}; the run is recorded in job_runs"


def ensure_history(store: FeatureStore, backend: str = "local") -> FeatureReport | None:
    """Fill the ``tweets`` group from the sample corpus if it was never written; None if it exists.

    Only the local store is filled this way: invented tweets have no place in a cloud project.

    Raises:
        TweetgenError: the group is missing on another backend (names the command to run).
    """
    if store.exists(TWEETS):
        return None
    if backend != "local":
        raise TweetgenError(f"The feature group '{TWEETS.name}' does not exist in {store.where}; run `{TWEETS.filled_by}` first.")
    from tweetgen.pipelines.features import run_feature_pipeline

    return run_feature_pipeline(store, source="sample")


def ensure_champion(store: FeatureStore, registry: ModelRegistry, config: TrainConfig) -> ModelVersion:
    """The champion of ``config.model_name``; when there is none yet, train one with ``config``."""
    champion = registry.champion(config.model_name)
    if champion is not None:
        return champion
    from tweetgen.pipelines.training import run_training

    report = run_training(store, registry, config)
    return registry.champion(config.model_name) or report.version

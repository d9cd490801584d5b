"""The demo: every pipeline once, offline, on the embedded backends, so the app has something to show.

``ensure_history`` and ``ensure_champion`` give the notebooks the same reuse: they fill what is
missing and keep what exists.

Stages: history (the invented sample corpus, unless the store already holds real tweets: then the
demo runs on those) -> live tweets (replay of the tweets the history ingest held back) -> training (both model families on the CPU, an LSTM and a
small GPT-2, only when there is no champion yet) -> batch inference for the last few days that have tweets, as if
the daily job had run on each of them -> the daily job itself, once, recorded like any run. Each
stage reuses what exists, so a second run is fast.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import TYPE_CHECKING

from tweetgen.config import Settings
from tweetgen.errors import TweetgenError
from tweetgen.registry.factory import open_model_registry
from tweetgen.schema import SAMPLE_USERNAME, TWEETS
from tweetgen.store.factory import open_feature_store
from tweetgen.store.port import FeatureStore

if TYPE_CHECKING:
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.features import FeatureReport
    from tweetgen.registry.port import ModelRegistry, ModelVersion

DEMO_TRAIN_SECONDS = 150.0  # the training budget on two cores, shared by the families (about three minutes in all)
DEMO_FAMILIES = ("lstm", "gpt2")  # both are trained, so batch inference runs the A/B test of the families
DEMO_DAYS = 5
REPLAY_PER_DAY = 4
DAILY_RUN = day_time(6, 0)  # the hour the daily job runs (INFERENCE_CRON)


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
) -> DemoReport:
    """Run the pipeline stages of the demo on ``settings`` (the local backend), printing each."""
    store, registry = open_feature_store(settings), open_model_registry(settings)
    report = DemoReport()

    def stage(name: str, run: Callable[[], str]) -> None:
        echo(f"== {name}")
        started = time.perf_counter()
        summary = run()
        report.stages.append((name, summary, time.perf_counter() - started))
        echo(f"   {summary}")

    stage("history", lambda: _history(store))
    stage("live (replay)", lambda: _replay(store, days))
    stage("training", lambda: _train(settings, registry, train_seconds, train_config))
    stage("batch inference", lambda: _backfill(store, registry, settings, days))
    stage("daily job", lambda: _daily_job(settings))
    return report


def _history(store: FeatureStore) -> str:
    """The sample corpus into the store, unless the ``tweets`` group holds real tweets (the demo then uses them)."""
    from tweetgen.pipelines.features import run_feature_pipeline
    from tweetgen.pipelines.provenance import REAL, kinds

    if store.exists(TWEETS):
        usernames = store.read(TWEETS, columns=["username"])["username"]
        if kinds(usernames) == {REAL}:
            return f"the tweets group holds {len(usernames):,} real tweets of @{usernames.iloc[0]}: the demo runs on them"
    report = run_feature_pipeline(store, source="sample")
    return (
        f"{report.rows_read:,} invented tweets of the sample account @{SAMPLE_USERNAME} read, {report.inserted:,} inserted, "
        f"{report.already_present:,} already present, {report.held_out:,} held out for the replay"
    )


def _replay(store: FeatureStore, days: int) -> str:
    """Release a few days' worth of held-out tweets (only on the first run: later runs keep them)."""
    from tweetgen.pipelines.live import scrape_replay

    if (store.read(TWEETS, columns=["source"])["source"] == "live").any():
        return "live tweets already released (python scrape_live.py releases more)"
    report = scrape_replay(store, count=REPLAY_PER_DAY * days)
    return report.notes[-1]


def _train(settings: Settings, registry, train_seconds: float, train_config: object | None) -> str:
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.jobs import train_job

    champion = registry.champion(settings.model_name)
    if champion is not None:
        return f"champion {champion.name} v{champion.version} exists ({champion.score:.3f} bits/char); `python -m tweetgen train` trains another"
    config = train_config or TrainConfig(max_seconds=train_seconds / len(DEMO_FAMILIES))
    done = []
    for family in DEMO_FAMILIES:
        report = train_job(settings, dataclasses.replace(config, family=family))
        champion = "champion" if report.decision.promoted else "not champion"
        done.append(f"{family} v{report.version.version}: {report.metrics['eval_bits_per_char']:.3f} bits/char after "
                    f"{report.metrics['train_seconds']:.0f} s ({champion})")
    return f"{'; '.join(done)}, on the {report.n_eval} newest tweets"


def _backfill(store: FeatureStore, registry, settings: Settings, days: int) -> str:
    """Batch inference for the newest tweet of each of the last ``days`` days that have tweets."""
    from tweetgen.pipelines.inference import run_batch_inference

    written = 0
    for day in last_days(store, days):
        as_of = datetime.combine(day, day_time.max, tzinfo=UTC)
        run_at = datetime.combine(day + timedelta(days=1), DAILY_RUN, tzinfo=UTC)  # the next morning's run
        written += run_batch_inference(store, registry, settings.model_name, as_of=as_of, now=run_at).inserted
    return f"{written} monitor rows written for the last {days} days with tweets"


def _daily_job(settings: Settings) -> str:
    """The daily job once, now, as the scheduler runs it: recorded in ``job_runs``, so the app's health
    shows a real run (the backfill above stands for earlier days and records none)."""
    from tweetgen.pipelines.jobs import inference_job

    report = inference_job(settings)
    done = f"; already answered by {', '.join(report.skipped_arms)}" if report.skipped_arms else ""
    return f"{report.inserted} monitor rows written for the newest tweet{done}; the run is recorded in job_runs"


def last_days(store: FeatureStore, days: int) -> list[date]:
    """The last ``days`` UTC dates holding tweets, oldest first."""
    created = store.read(TWEETS, columns=["created_at"])["created_at"]
    return sorted(created.dt.date.unique())[-days:]


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

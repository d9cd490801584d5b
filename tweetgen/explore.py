"""Helpers for the notebooks: settings, setup of what a notebook needs, and small summaries to plot.

The notebooks hold no logic of their own; whatever is more than a call and a plot lives here, in
plain functions with tests. Nothing runs at import, and nothing here is needed by the pipelines.
"""

from __future__ import annotations

import lzma
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from tweetgen.config import Settings
from tweetgen.errors import TweetgenError
from tweetgen.feature_store import FeatureStore
from tweetgen.schema import TWEETS, GroupSpec

if TYPE_CHECKING:
    from tweetgen.feature_pipeline import FeatureReport
    from tweetgen.registry import ModelRegistry, ModelVersion
    from tweetgen.training import TrainConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
# X API v2 prices (pay per use, 2026): every post read is billed, and so is a user lookup.
X_USD_PER_POST_READ = 0.005
X_USD_PER_USER_LOOKUP = 0.010


# ---------------------------------------------------------------------------------------------
# Settings and setup


def notebook_settings(data_dir: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Settings for a notebook, wherever Jupyter runs it from.

    Reads the environment and the repository's ``.env`` (not the working directory's: a notebook
    in ``notebooks/`` runs there). ``data_dir`` overrides ``TWEETGEN_DATA_DIR``; a relative data
    directory is taken relative to the repository root, so every notebook shares ``data/``.
    """
    settings = Settings.load(environ=environ, dotenv=REPO_ROOT / ".env").with_overrides(data_dir=data_dir)
    if not settings.data_dir.is_absolute():
        settings = settings.with_overrides(data_dir=REPO_ROOT / settings.data_dir)
    return settings


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
    from tweetgen.feature_pipeline import run_feature_pipeline

    return run_feature_pipeline(store, source="sample")


def ensure_champion(store: FeatureStore, registry: ModelRegistry, config: TrainConfig) -> ModelVersion:
    """The champion of ``config.model_name``; when there is none yet, train one with ``config``."""
    champion = registry.champion(config.model_name)
    if champion is not None:
        return champion
    from tweetgen.training_pipeline import run_training

    report = run_training(store, registry, config)
    return registry.champion(config.model_name) or report.version


@dataclass(frozen=True)
class BaseModelCheck:
    """Whether a training run can start from ``base_model`` here, and on which device."""

    base_model: str
    ok: bool
    device: str
    message: str

    def __str__(self) -> str:
        return self.message


def check_base_model(base_model: str, cuda_available: bool | None = None, hub_reachable: Callable[[], bool] | None = None) -> BaseModelCheck:
    """Say where the base model would come from and what the device is, before training starts.

    ``ok`` is False only when the model cannot be had at all: not ``tiny``, not a folder, not in
    the Hugging Face cache, and the Hub cannot be reached. A pretrained model on a CPU is allowed
    (the time budget bounds the run) but the message says it will be slow.
    """
    from tweetgen.modeling import TINY, _hub_reachable

    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    device = "cuda" if cuda_available else "cpu"
    if base_model == TINY:
        return BaseModelCheck(base_model, True, device, f"Training a small GPT-2 from scratch on the {device.upper()}, with a tokenizer trained on the tweets.")
    if Path(base_model).is_dir():
        where = f"the folder {base_model}"
    elif _in_hub_cache(base_model):
        where = f"{base_model} from the local Hugging Face cache"
    elif (hub_reachable or _hub_reachable)():
        where = f"{base_model} downloaded from the Hugging Face Hub"
    else:
        message = (
            f"Cannot load the base model {base_model!r}: it is not a folder, not in the Hugging Face cache, "
            "and the Hub cannot be reached. Set BASE_MODEL = \"tiny\" to train a small GPT-2 from scratch, "
            "or to a folder holding a saved model."
        )
        return BaseModelCheck(base_model, False, device, message)
    if cuda_available:
        return BaseModelCheck(base_model, True, device, f"Fine-tuning {where} on the GPU.")
    message = (f"Fine-tuning {where} on the CPU: there is no GPU, so this is slow and MAX_SECONDS decides how far "
               "it gets. On Colab pick a GPU runtime; locally BASE_MODEL = \"tiny\" trains in minutes.")
    return BaseModelCheck(base_model, True, device, message)


def _in_hub_cache(model_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except Exception:  # an id the hub client rejects is not in the cache either
        return False


# ---------------------------------------------------------------------------------------------
# Exploring the history

EXPLORE_SOURCES = ("sample", "kaggle", "store")


def load_tweets(source: str, path: str | Path | None = None, settings: Settings | None = None) -> tuple[pd.DataFrame, str]:
    """Tweets with the ``tweets`` group's columns, to explore, and one line saying what was read.

    ``sample`` and ``kaggle`` go through the feature pipeline's steps (load, drop duplicate ids,
    derive features) without writing anything; ``store`` reads the group the pipeline wrote in
    the feature store of ``settings``.

    Raises:
        SourceError: the source cannot be read (e.g. ``kaggle`` without ``path``).
        GroupNotFoundError: ``store`` and the group was never written.
    """
    from datetime import UTC

    if source == "store":
        from tweetgen.backends import open_feature_store

        store = open_feature_store(settings or notebook_settings())
        frame = store.read(TWEETS)
        return frame, f"{len(frame):,} tweets read from the '{TWEETS.name}' group in {store.where}"
    from tweetgen.features import build_tweet_features, drop_duplicate_tweets
    from tweetgen.sources import load_history

    if source not in ("sample", "kaggle"):
        from tweetgen.errors import SourceError

        raise SourceError(f"Unknown source {source!r}; use one of {', '.join(EXPLORE_SOURCES)}.")
    loaded = load_history(source, [path] if path else [])
    raw, duplicates = drop_duplicate_tweets(loaded.frame)
    frame = build_tweet_features(raw, source="history", ingested_at=datetime.now(UTC))
    rejected = sum(loaded.rejected.values())
    return frame, f"{loaded.name}: {loaded.rows_read:,} rows read, {duplicates:,} duplicate ids dropped, {rejected:,} rejected, {len(frame):,} tweets"


def tweets_per_month(frame: pd.DataFrame) -> pd.Series:
    """Tweets per calendar month (UTC) from the first to the last month, months without any as 0.

    Returns:
        Counts indexed by the first day of each month (naive timestamps, UTC).
    """
    if frame.empty:
        return pd.Series(dtype="int64", name="tweets")
    months = pd.to_datetime(frame["created_at"], utc=True).dt.tz_localize(None).dt.to_period("M")
    counts = months.value_counts().sort_index()
    full = pd.period_range(counts.index.min(), counts.index.max(), freq="M")
    counts = counts.reindex(full, fill_value=0)
    counts.index = counts.index.to_timestamp()
    return counts.astype("int64").rename("tweets")


def shares_by_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Per year (UTC): the number of tweets and the share that are replies and quotes."""
    years = pd.to_datetime(frame["created_at"], utc=True).dt.year.rename("year")
    grouped = frame.assign(is_reply=frame["is_reply"].astype(bool), is_quote=frame["is_quote"].astype(bool)).groupby(years)
    return pd.DataFrame({
        "tweets": grouped.size(),
        "reply_share": grouped["is_reply"].mean(),
        "quote_share": grouped["is_quote"].mean(),
    })


def language_counts(frame: pd.DataFrame, top: int = 8) -> pd.Series:
    """Tweets per language code, the ``top`` most frequent and the rest summed as ``other``."""
    counts = frame["lang"].fillna("und").value_counts()
    if len(counts) <= top:
        return counts.rename("tweets")
    return pd.concat([counts.iloc[:top], pd.Series({"other": counts.iloc[top:].sum()})]).rename("tweets")


CLEANING_CASES: dict[str, Callable[[pd.Series, pd.Series], pd.Series]] = {
    "HTML entity decoded": lambda raw, clean: raw.str.contains(r"&(?:amp|lt|gt|quot);", regex=True),
    "link removed": lambda raw, clean: raw.str.contains(r"https?://", regex=True) & (clean != ""),
    "leading mentions removed": lambda raw, clean: raw.str.match(r"\s*@\w") & (clean != ""),
    "whitespace collapsed": lambda raw, clean: raw.str.contains(r"\s{2,}|\n", regex=True),
    "nothing left (kept, not trained on)": lambda raw, clean: clean == "",
    "unchanged": lambda raw, clean: raw == clean,
}


def cleaning_examples(frame: pd.DataFrame, per_case: int = 1) -> pd.DataFrame:
    """Raw and clean text side by side: ``per_case`` rows for each kind of change cleaning makes.

    ``frame`` needs ``text`` and ``clean_text`` (the ``tweets`` group, or ``build_tweet_features``
    output). A row is shown once, under the first case it matches; cases with no row are left out.
    """
    raw, clean = frame["text"].astype(str), frame["clean_text"].astype(str)
    shown: set[int] = set()
    rows = []
    for case, matches in CLEANING_CASES.items():
        picked = [i for i in frame.index[matches(raw, clean)] if i not in shown][:per_case]
        shown.update(picked)
        rows += [{"case": case, "text": raw[i], "clean_text": clean[i]} for i in picked]
    return pd.DataFrame(rows, columns=["case", "text", "clean_text"])


# ---------------------------------------------------------------------------------------------
# The local feature store's Delta tables


def delta_history(store: FeatureStore, spec: GroupSpec = TWEETS) -> pd.DataFrame:
    """The commits of a group's Delta table, oldest first: version, time, operation, rows added.

    Raises:
        TweetgenError: the store is not the local one (Hopsworks shows commits in its UI).
    """
    table = _delta_table(store, spec)
    rows = []
    for commit in table.history():
        metrics = commit.get("operationMetrics") or {}
        added = metrics.get("num_target_rows_inserted", metrics.get("num_added_rows"))
        rows.append({
            "version": commit.get("version"),
            "timestamp": pd.to_datetime(commit.get("timestamp"), unit="ms", utc=True),
            "operation": commit.get("operation"),
            "rows_added": None if added is None else int(added),
        })
    return pd.DataFrame(rows).sort_values("version").reset_index(drop=True)


def read_table_version(store: FeatureStore, spec: GroupSpec, version: int) -> pd.DataFrame:
    """A group's rows as they were at Delta table ``version`` (time travel; local store only)."""
    from deltalake import DeltaTable

    _delta_table(store, spec)  # checks the store and that the group exists
    return DeltaTable(str(store.path(spec)), version=version).to_pyarrow_table().to_pandas()  # type: ignore[attr-defined]


def _delta_table(store: FeatureStore, spec: GroupSpec):  # -> DeltaTable
    from deltalake import DeltaTable

    from tweetgen.feature_store import GroupNotFoundError
    from tweetgen.store_local import LocalFeatureStore

    if not isinstance(store, LocalFeatureStore):
        raise TweetgenError(f"{store.where} is not a local store; Delta table history is shown for the local backend only.")
    if not store.exists(spec):
        raise GroupNotFoundError(spec, store.where)
    return DeltaTable(str(store.path(spec)))


# ---------------------------------------------------------------------------------------------
# Models


def loss_curve_png(version: ModelVersion) -> bytes:
    """The PNG of a version's training loss curve: its stored file when local, else drawn from its card.

    Raises:
        TweetgenError: the card holds no loss curve.
    """
    import tempfile

    from tweetgen.model_card import LOSS_CURVE_FILE, plot_loss_curve

    stored = Path(version.location) / LOSS_CURVE_FILE
    if version.location and stored.is_file():
        return stored.read_bytes()
    if not version.card.get("loss_curve"):
        raise TweetgenError(f"Version {version.version} of '{version.name}' has no loss curve in its card.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / LOSS_CURVE_FILE
        plot_loss_curve(version.card["loss_curve"], version.card.get("eval_losses", []), path)
        return path.read_bytes()


def compressor_bits_per_char(texts: Sequence[str]) -> float:
    """Bits per character of ``texts`` compressed with LZMA (xz), counted as ``evaluate`` counts.

    Each text ends with a newline, which plays the part of the end token, so the character count is
    ``sum(len(text) + 1)``: the same denominator as ``eval_bits_per_char``. A language model that
    does not beat a general-purpose compressor has learnt little about the text.
    """
    if not texts:
        raise ValueError("compressor_bits_per_char needs at least one text.")
    data = "".join(f"{text}\n" for text in texts).encode("utf-8")
    compressed = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    return 8 * len(compressed) / sum(len(text) + 1 for text in texts)


# ---------------------------------------------------------------------------------------------
# Live tweets and schedules


def x_api_cost_usd(posts_read: int, user_lookups: int = 0) -> float:
    """What reading ``posts_read`` posts and making ``user_lookups`` user lookups costs on the X API."""
    return round(posts_read * X_USD_PER_POST_READ + user_lookups * X_USD_PER_USER_LOOKUP, 4)


def upcoming_runs(cron: str, after: datetime, n: int = 3) -> list[datetime]:
    """The next ``n`` times (UTC) a cron spec fires strictly after ``after`` (timezone-aware)."""
    from tweetgen.scheduler import next_run

    times: list[datetime] = []
    for _ in range(n):
        after = next_run(cron, after)
        times.append(after)
    return times


def simulated_clock(start: datetime) -> tuple[Callable[[], datetime], Callable[[float], None]]:
    """A ``clock`` and a ``sleep`` for ``scheduler.run_forever`` that skip the waiting.

    ``sleep(s)`` moves the clock ``s`` seconds forward at once, so a day of schedule runs in the
    time its jobs take (their own run time is not added to the clock).
    """
    if start.tzinfo is None:
        raise ValueError("simulated_clock needs a timezone-aware start time.")
    now = [start]

    def clock() -> datetime:
        return now[0]

    def sleep(seconds: float) -> None:
        now[0] += timedelta(seconds=max(0.0, seconds))

    return clock, sleep


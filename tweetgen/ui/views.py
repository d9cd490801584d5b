"""What the app shows, as plain functions: the UI (``tweetgen.ui.gradio_app``) and the tests call them.

The page reads the monitor group ``generated_tweets`` (one row per batch-inference run and model
arm), shows the real tweet and the two generations of a run as tweet images, the run's measures,
and a chart of the measures over time. A prompt box asks the champion model for a fresh tweet.
Under it, the pipeline's health: the last run of each job (``job_runs``) and the daily job's warning.

Whose tweets a card shows is read from the data, never assumed (``account_for``): a tweet of the
invented sample account shows that account, without the verified badge, and the run's summary says
that the sample corpus is invented; only tweets from the Kaggle files or the X API show the real
account's name and badge. Generated tweets show the account whose tweets the model learned from,
labelled with the model and never with the badge.

Nothing here imports gradio, and nothing runs at import: the monitor is read when a handler is
called, and the model is loaded by ``tweetgen.ui.predictor.Predictor`` on its first use, once.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
from PIL import Image

from tweetgen.errors import TweetgenError
from tweetgen.model.families import family_name
from tweetgen.pipelines.runs import JobHealth, format_age, job_health, read_runs
from tweetgen.schema import GENERATED_TWEETS, TWEETS
from tweetgen.store.port import FeatureStore
from tweetgen.ui.accounts import (
    Account,
    account_for,
    account_notice,
    most_common_account,
)
from tweetgen.ui.predictor import Predictor, clean_prompt
from tweetgen.ui.render import TweetCard, format_timestamp, render_tweet

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CARD_WIDTH = 550  # CSS pixels, X's embed width; images are CARD_WIDTH * CARD_SCALE pixels wide
CARD_SCALE = 2
COUNT_COLUMNS = ("likes", "retweets", "replies")
MEASURE_COLUMNS = ("measure", "real", "from prompt", "random")  # the run's table: one column per tweet, as in the chart
TWEET_COLUMNS = ("tweet_username", *COUNT_COLUMNS)  # joined from the ``tweets`` group by tweet_id
NO_PROMPT_MESSAGE = "The account's tweet had no words to start from (only links or emoji), so this run generated only a random tweet."
FRESH_HINT = "Type the start of a tweet above, or leave the box empty for a random one, and press Generate: the model's tweet appears here."
EMPTY_MONITOR_MESSAGE = (
    "**No generated tweets yet.** The page shows what the daily batch inference writes into the "
    f"`{GENERATED_TWEETS.name}` feature group. Run `make demo` (the whole pipeline, offline) or "
    f"`{GENERATED_TWEETS.filled_by}` (with a trained model), then reload this page."
)


# ---------------------------------------------------------------------------------------------
# The monitor group


def load_monitor(store: FeatureStore) -> pd.DataFrame:
    """All rows of the monitor group, newest run first (champion before challenger in a run).

    The real tweet's account (``tweet_username``) and counts (``likes``, ``retweets``,
    ``replies``) are joined from the ``tweets`` group when it holds the tweet; otherwise the
    account is None and the counts are 0.

    Returns:
        The group's columns plus ``TWEET_COLUMNS``; an empty frame with those columns when the
        group was never written.
    """
    if not store.exists(GENERATED_TWEETS):
        return pd.DataFrame(columns=[*GENERATED_TWEETS.columns, *TWEET_COLUMNS])
    frame = store.read(GENERATED_TWEETS)
    frame = _with_tweet_columns(store, frame)
    frame = frame.assign(_arm_order=(frame["arm"] != "champion").astype(int))
    frame = frame.sort_values(["generated_at", "_arm_order", "model_version"], ascending=[False, True, False], kind="stable")
    return frame.drop(columns="_arm_order").reset_index(drop=True)


def _with_tweet_columns(store: FeatureStore, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the real tweets' account and counts from the ``tweets`` group (None and 0 where unknown)."""
    tweets = pd.DataFrame({"tweet_id": pd.Series(dtype="int64"), "username": pd.Series(dtype="object"),
                           **{name: pd.Series(dtype="int64") for name in COUNT_COLUMNS}})
    if store.exists(TWEETS):
        tweets = store.read(TWEETS, columns=["tweet_id", "username", *COUNT_COLUMNS])
        tweets = tweets[tweets["tweet_id"].isin(frame["tweet_id"])]
    tweets = tweets.drop_duplicates("tweet_id").rename(columns={"username": "tweet_username"})
    merged = frame.merge(tweets, on="tweet_id", how="left")
    merged["tweet_username"] = merged["tweet_username"].astype(object).where(merged["tweet_username"].notna(), None)
    for column in COUNT_COLUMNS:
        merged[column] = merged[column].fillna(0).astype("int64")
    return merged


def day_choices(frame: pd.DataFrame) -> list[str]:
    """One label per row of ``frame``, in its order: the run's time, the model that wrote the row and
    the day of the tweet it answered, e.g. "Jan 15, 2026 06:00 UTC · LSTM v3 (champion) · tweet of Jan 14, 2026".

    Labels are unique: a repeated label gets " #2", " #3" appended.
    """
    labels: list[str] = []
    seen: dict[str, int] = {}
    for row in frame.itertuples(index=False):
        when, tweeted = _utc(row.generated_at), _utc(row.tweet_created_at)
        label = f"{when:%b %d, %Y %H:%M} UTC · {_model_label(row.model_family, row.model_version)} ({row.arm}) · tweet of {tweeted:%b %d, %Y}"
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return labels


def row_for(frame: pd.DataFrame, choice: str | None) -> pd.Series | None:
    """The row labelled ``choice`` by ``day_choices``; the newest row for an unknown or empty choice.

    Returns None only when ``frame`` is empty.
    """
    if frame.empty:
        return None
    labels = day_choices(frame)
    index = labels.index(choice) if choice in labels else 0
    return frame.iloc[index]


# ---------------------------------------------------------------------------------------------
# Whose tweets: the account a card names (``tweetgen.ui.accounts``)


def row_account(row: pd.Series, username: str = "elonmusk", display_name: str | None = None) -> Account:
    """The account of a monitor row's real tweet (its ``tweet_username``; unknown when it has none)."""
    return account_for(row.get("tweet_username"), username, display_name)


# ---------------------------------------------------------------------------------------------
# One run: cards, model and measures


def _model_label(family: object, version: object) -> str:
    """The model that wrote a tweet as people read it: its family and version, e.g. "LSTM v3"."""
    return f"{family_name(str(family))} v{int(version)}"


def _generated_label(row: pd.Series) -> str:
    return f"Generated by {_model_label(row['model_family'], row['model_version'])}"


def real_tweet_card(row: pd.Series, username: str = "elonmusk", display_name: str | None = None) -> TweetCard:
    """The real tweet of a run as a card: its text as people read it, its time and counts, under its
    own account (``row_account``; ``username`` and ``display_name`` are the configured account's)."""
    author = row_account(row, username, display_name)
    return TweetCard(
        text=html.unescape(str(row["tweet_text"])),  # as published: X escapes &, < and >
        display_name=author.display_name,
        handle=author.handle,
        verified=author.verified,
        initials=author.initials,
        created_at=_utc(row["tweet_created_at"]),
        **{name: int(row.get(name, 0) or 0) for name in COUNT_COLUMNS},
    )


def generated_card(text: str, account: Account, created_at: datetime, label: str) -> TweetCard:
    """A generated tweet as a card: in the style of ``account``, labelled, never with the verified badge."""
    return TweetCard(text=str(text), display_name=account.display_name, handle=account.handle, created_at=created_at,
                     generated=True, label=label, verified=False, initials=account.initials)


def cards_for(
    row: pd.Series, theme: str = "light", username: str = "elonmusk", display_name: str | None = None
) -> tuple[Image.Image, Image.Image, Image.Image]:
    """The three tweet images of a run: the real tweet, the one from its first two words, a random one.

    The real tweet shows its time and counts; the generated ones show the run's time, no counts,
    and a visible label naming the model version. When the real tweet had no words to prompt
    with, the middle image says so. Each image is ``CARD_WIDTH * CARD_SCALE`` wide.
    """
    real = real_tweet_card(row, username, display_name)
    label, generated_at, author = _generated_label(row), _utc(row["generated_at"]), row_account(row, username, display_name)

    def generated(text: str) -> TweetCard:
        return generated_card(text, author, generated_at, label)

    def draw(card: TweetCard) -> Image.Image:
        return render_tweet(card, theme=theme, scale=CARD_SCALE, width=CARD_WIDTH)

    has_prompt = bool(str(row["prompt"]).strip())
    prompted = draw(generated(row["prompted_text"])) if has_prompt else message_image(NO_PROMPT_MESSAGE, theme)
    return draw(real), prompted, draw(generated(row["random_text"]))


def model_summary(row: pd.Series) -> str:
    """One Markdown paragraph: the model (family, version, arm, registry name), sampling settings,
    prompt, the run's time and the answered tweet's."""
    return (
        f"**Model** {family_name(str(row['model_family']))} version {int(row['model_version'])} ({row['arm']}, "
        f"registry name `{row['model_name']}`) · "
        f"temperature {float(row['temperature']):g}, top-p {float(row['top_p']):g}, seed {int(row['seed'])}, "
        f"up to {int(row['max_new_tokens'])} new tokens · prompt {_quoted(row['prompt'])} · "
        f"run at {format_timestamp(_utc(row['generated_at']))} UTC, answering the tweet of "
        f"{format_timestamp(_utc(row['tweet_created_at']))} UTC"
    )


def _quoted(prompt: object) -> str:
    text = str(prompt).strip()
    return f"“{text}”" if text else "(none: the tweet had no words)"


def measures_table(row: pd.Series) -> pd.DataFrame:
    """The run's measures as a small table: one row per measure, one column per tweet."""

    def number(value: object, digits: int = 2) -> str:
        return "–" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"

    rows = [
        ("characters", str(int(row["real_chars"])), str(int(row["prompted_chars"])), str(int(row["random_chars"]))),
        ("sentiment (VADER, -1 to 1)", number(row["real_sentiment"]), number(row["prompted_sentiment"]), number(row["random_sentiment"])),
        ("longest run of words copied from training", "–", str(int(row["prompted_copy_words"])), str(int(row["random_copy_words"]))),
        ("bits per character under the model", number(row["real_bits_per_char"], 3), "–", "–"),
    ]
    return pd.DataFrame(rows, columns=list(MEASURE_COLUMNS))


# ---------------------------------------------------------------------------------------------
# The chart


def chart_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows the chart plots, oldest first: the champion arm's runs (all rows if none is marked)."""
    rows = frame[frame["arm"] == "champion"] if (frame["arm"] == "champion").any() else frame
    return rows.sort_values("generated_at", kind="stable")


def family_series(frame: pd.DataFrame, column: str) -> dict[str, tuple[pd.Series, pd.Series]]:
    """``column`` over time for each model family in ``frame`` (every arm): family -> (times, values), oldest first."""
    series = {}
    for family, rows in frame.sort_values("generated_at", kind="stable").groupby("model_family", sort=True):
        series[str(family)] = (_chart_times(rows), rows[column])
    return series


PANEL_TITLES = (
    "Real tweet, bits per char, per model (lower: better)",
    "Champion: sentiment (VADER)",
    "Champion: longest copied run (words)",
)


def measures_chart(frame: pd.DataFrame) -> Figure:
    """Measures over time in one wide figure, one point per run (``measures_charts``' three panels
    side by side: the notebooks' view).

    Built with matplotlib's object API (no pyplot, no global figure state), so it is thread-safe.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 2.6), dpi=100, layout="constrained")
    _draw_measures(list(figure.subplots(1, 3)), frame)
    return figure


def measures_charts(frame: pd.DataFrame) -> tuple[Figure, Figure, Figure]:
    """Measures over time as three figures, one point per run: the real tweet's bits per char under
    each model family (the A/B test), the champion's sentiment (real vs generated), and its copied
    words. The page lays them side by side on a wide screen and stacks them on a phone.

    The time axis is each run's time (``generated_at``; see ``tweetgen.schema.GENERATED_TWEETS``).
    """
    from matplotlib.figure import Figure

    figures = tuple(Figure(figsize=(4.4, 3.0), dpi=100, layout="constrained") for _ in PANEL_TITLES)
    _draw_measures([figure.subplots() for figure in figures], frame)
    return figures  # type: ignore[return-value]


def _draw_measures(axes: list, frame: pd.DataFrame) -> None:
    """The three panels of the measures, drawn into ``axes`` (or "No runs yet" when ``frame`` is empty)."""
    from matplotlib.ticker import MaxNLocator

    if frame.empty:
        for ax, title in zip(axes, PANEL_TITLES, strict=True):
            ax.set_axis_off()
            ax.set_title(title, fontsize=10)
            ax.text(0.5, 0.5, "No runs yet", ha="center", va="center", fontsize=14, color="#536471", transform=ax.transAxes)
        return
    rows = chart_rows(frame)
    when = _chart_times(rows)
    _plot_families(axes[0], family_series(frame, "real_bits_per_char"), PANEL_TITLES[0])
    sentiment = {"real": rows["real_sentiment"], "from prompt": rows["prompted_sentiment"], "random": rows["random_sentiment"]}
    _plot(axes[1], when, sentiment, PANEL_TITLES[1])
    copies = {"from prompt": rows["prompted_copy_words"], "random": rows["random_copy_words"]}
    _plot(axes[2], when, copies, PANEL_TITLES[2])
    axes[2].yaxis.set_major_locator(MaxNLocator(integer=True))  # a count of words


def _chart_times(rows: pd.DataFrame) -> pd.Series:
    """The rows' ``generated_at`` as naive UTC times, which matplotlib's date axis takes."""
    return pd.to_datetime(rows["generated_at"]).dt.tz_convert(UTC).dt.tz_localize(None)


def _plot_families(ax, series: dict[str, tuple[pd.Series, pd.Series]], title: str) -> None:
    colours = {"lstm": "#00BA7C", "gpt2": "#7856FF"}
    for family, (when, values) in series.items():
        ax.plot(when, values.astype(float), marker="o", markersize=4, linewidth=1.5, label=family, color=colours.get(family))
    _style(ax, title, legend=len(series) > 1)


# Each series' look. The real tweet's line is drawn last, on top, dashed with hollow squares, so a
# generated line under it stays visible through its gaps, and the two never merge into one.
LINE_STYLES = {
    "real": {"color": "#0F1419", "linestyle": (0, (4, 2)), "linewidth": 2.0, "marker": "s", "markerfacecolor": "white", "zorder": 4},
    "from prompt": {"color": "#1D9BF0", "linestyle": "-", "linewidth": 1.5, "marker": "o", "zorder": 3},
    "random": {"color": "#F4212E", "linestyle": "-", "linewidth": 1.5, "marker": "^", "zorder": 2},
}


def _plot(ax, when: pd.Series, series: dict[str, pd.Series], title: str) -> None:
    for name, values in series.items():
        ax.plot(when, values.astype(float), markersize=5, label=name, **LINE_STYLES[name])
    _style(ax, title, legend=len(series) > 1)


def _style(ax, title: str, legend: bool) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    ax.set_title(title, fontsize=10)
    locator = AutoDateLocator(maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=7, frameon=False)


# ---------------------------------------------------------------------------------------------
# A whole view of one run, as the page shows it


@dataclass
class DayView:
    """What the page shows for one run, or the explanation when there is none.

    Attributes:
        images: real, prompt-seeded and random tweet images (all None when there is no run).
        summary: Markdown: the model and sampling settings, or what to run to get data.
        measures: the measures table (no rows when there is no run).
        choices: labels of every run, newest first (``day_choices``).
        choice: the label shown, or None.
    """

    images: tuple[Image.Image | None, Image.Image | None, Image.Image | None]
    summary: str
    measures: pd.DataFrame
    choices: list[str] = field(default_factory=list)
    choice: str | None = None


def day_view(
    frame: pd.DataFrame, choice: str | None = None, theme: str = "light", username: str = "elonmusk", display_name: str | None = None
) -> DayView:
    """Everything the page shows for the run labelled ``choice`` (the newest if unknown or None)."""
    row = row_for(frame, choice)
    if row is None:
        return DayView((None, None, None), EMPTY_MONITOR_MESSAGE, _empty_measures())
    choices = day_choices(frame)
    shown = choice if choice in choices else choices[0]
    notice = account_notice(row_account(row, username, display_name))
    summary = f"{notice}\n\n{model_summary(row)}" if notice else model_summary(row)
    return DayView(cards_for(row, theme, username, display_name), summary, measures_table(row), choices, shown)


def _empty_measures() -> pd.DataFrame:
    return pd.DataFrame(columns=list(MEASURE_COLUMNS))


def page_view(
    cache: MonitorCache,
    choice: str | None = None,
    refresh: bool = False,
    theme: str = "light",
    username: str = "elonmusk",
    display_name: str | None = None,
) -> tuple[DayView, pd.DataFrame]:
    """The view of run ``choice`` and the monitor frame it came from; a message instead of an error.

    When the store cannot be read, the view's summary says why and the frame is empty.
    """
    try:
        frame = cache.frame(refresh=refresh)
    except TweetgenError as error:
        message = f"**The monitor group could not be read.** {error}"
        return DayView((None, None, None), message, _empty_measures()), pd.DataFrame(columns=GENERATED_TWEETS.columns)
    return day_view(frame, choice, theme, username, display_name), frame


class FrameCache:
    """A frame read by ``load()``, read again only when older than ``max_age_s`` (reads are slow on Hopsworks).

    A failed read (e.g. the store is unreachable) raises ``TweetgenError``; the next call tries again.
    """

    def __init__(self, load: Callable[[], pd.DataFrame], max_age_s: float = 60.0) -> None:
        self._load = load
        self.max_age_s = max_age_s
        self._frame: pd.DataFrame | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def frame(self, refresh: bool = False) -> pd.DataFrame:
        """The frame, from the cache when fresh enough."""
        with self._lock:
            stale = self._frame is None or time.monotonic() - self._read_at > self.max_age_s
            if refresh or stale:
                self._frame = self._load()
                self._read_at = time.monotonic()
            return self._frame


class AuthorCache(FrameCache):
    """The usernames of the ``tweets`` group, cached (see ``FrameCache``): whose tweets the models learn from."""

    def __init__(self, store: FeatureStore, max_age_s: float = 60.0) -> None:
        super().__init__(lambda: _usernames(store), max_age_s)

    def account(self, username: str = "elonmusk", display_name: str | None = None) -> Account:
        """``most_common_account`` of the cached usernames; the configured account when they cannot be read."""
        try:
            usernames = self.frame()["username"]
        except TweetgenError:
            usernames = pd.Series(dtype=object)
        return most_common_account(usernames, username, display_name)


def tweets_account(store: FeatureStore, username: str = "elonmusk", display_name: str | None = None) -> Account:
    """The account of the ``tweets`` group's tweets (``most_common_account``), read now."""
    return most_common_account(_usernames(store)["username"], username, display_name)


def _usernames(store: FeatureStore) -> pd.DataFrame:
    if not store.exists(TWEETS):
        return pd.DataFrame({"username": pd.Series(dtype=object)})
    return store.read(TWEETS, columns=["username"])


class MonitorCache(FrameCache):
    """The monitor rows (``load_monitor``), cached (see ``FrameCache``)."""

    def __init__(self, store: FeatureStore, max_age_s: float = 60.0) -> None:
        super().__init__(lambda: load_monitor(store), max_age_s)
        self.store = store


# ---------------------------------------------------------------------------------------------
# Fresh tweets from a prompt


def message_image(text: str, theme: str = "light") -> Image.Image:
    """A card from the app itself carrying ``text`` (used instead of an error), as wide as a tweet image."""
    card = TweetCard(text=text, display_name="tweetgen", handle="tweetgen", created_at=datetime.now(UTC), verified=False)
    return render_tweet(card, theme=theme, scale=CARD_SCALE, width=CARD_WIDTH)


def generate_from_prompt(
    prompt: str | None,
    predictor: Predictor,
    seed: int | None = None,
    theme: str = "light",
    username: str = "elonmusk",
    display_name: str | None = None,
    account: Account | None = None,
) -> Image.Image:
    """A freshly generated tweet image starting with ``prompt`` (cut to ``MAX_PROMPT_CHARS``).

    An empty prompt gives a random tweet. When no model can be loaded, or the prompt leaves the
    model no room, the image carries a one-sentence explanation instead; this never raises for
    user input.

    Args:
        prompt: the start of the tweet; None or blank for a random one.
        predictor: the model behind the box.
        seed: sampling seed; None draws a new one, so each click gives a new tweet.
        account: whose tweets the model learned from (``AuthorCache``); None: the configured
            account ``username``.
    """
    seed = secrets.randbelow(2**31) if seed is None else seed
    try:
        text, version = predictor.generate(clean_prompt(prompt), seed)
    except TweetgenError as error:
        return message_image(str(error), theme)
    author = account or account_for(username, username, display_name)
    card = generated_card(text, author, datetime.now(UTC), f"Generated by {_model_label(version.family, version.version)}")
    return render_tweet(card, theme=theme, scale=CARD_SCALE, width=CARD_WIDTH)


def _utc(value: object) -> datetime:
    """A timestamp from the store as an aware ``datetime`` in UTC (naive values are taken as UTC)."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


# ---------------------------------------------------------------------------------------------
# Pipeline health: the last run of each job


def health_markdown(health: JobHealth) -> str:
    """The last run of each job as a Markdown table (status and age), and the daily job's warning."""
    lines = ["**Pipeline health**"]
    if health.last_runs.empty:
        lines.append("No job runs recorded yet.")
    else:
        lines += ["", "| job | last run | status | age |", "|---|---|---|---|"]
        for row in health.last_runs.itertuples(index=False):
            ended = _utc(row.ended_at)
            status = "ok" if row.status == "ok" else f"**failed**: {_table_cell(str(row.error))}"
            lines.append(f"| {row.job} | {format_timestamp(ended)} UTC ({row.runner}) | {status} | "
                         f"{format_age(health.checked_at - ended)} ago |")
    if health.drift:
        lines += ["", f"Drift: {health.drift.sentence()}"]
    if health.warning:
        lines += ["", f"⚠️ **{health.warning}**"]
    return "\n".join(lines)


def _table_cell(text: str, limit: int = 160) -> str:
    text = html.escape(" ".join(text.split())).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def health_panel(runs: Callable[[], pd.DataFrame], now: datetime | None = None) -> str:
    """``health_markdown`` of the job runs ``runs()`` gives (e.g. ``RunsCache(store).frame``), judged
    ``now``; a sentence instead when they cannot be read."""
    try:
        return health_markdown(job_health(runs(), now or datetime.now(UTC)))
    except TweetgenError as error:
        return f"**Pipeline health** · the job runs could not be read: {error}"


class RunsCache(FrameCache):
    """Every recorded job run (``read_runs``), cached (see ``FrameCache``)."""

    def __init__(self, store: FeatureStore, max_age_s: float = 30.0) -> None:
        super().__init__(lambda: read_runs(store), max_age_s)

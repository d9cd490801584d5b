"""A deterministic, invented sample corpus of tweets, so every pipeline runs offline.

``generate_corpus`` writes tweets *in the style of* a tech-founder account. Every text is composed
here from templates and vocabularies with a seeded ``random.Random``; none is copied from real
tweets, and the product, rocket and person names are made up. It stands in for the Kaggle history
when there is no download, and gives tests and benchmarks data of any size.

What the corpus contains (shares are approximate, for the default arguments):

- topics that drift over the years: rockets and launches, electric cars and batteries, tunnels,
  AI and robots (growing), Mars, manufacturing, engineering, memes (growing);
- replies (~65%, ``is_reply``) that start with one to three ``@mentions`` of invented handles, and
  short answers such as "Exactly", "Yes", "Good point", "Coming soon";
- lengths like the real thing: many short replies (median ~47 characters), some long tweets up to
  280 characters, none over;
- ``https://t.co/`` links (~11%): mid-text, at the end, or link-only tweets;
- html entities as the X API returns them (``&amp;``, ``&lt;``, ``&gt;``, ~13%); an unescaped
  ``&``, ``<`` or ``>`` never appears;
- emoji (~20%), including variation selectors (❤️) and zero-width-joiner sequences (👨‍🚀), accents
  (é, ü, ñ), dashes (— –) and curly quotes;
- non-English tweets (~4%: ``de``, ``es``, ``fr``, ``ja``) and ``und`` for emoji-only and
  link-only ones (~11%);
- one-word tweets (~12%), multi-line tweets (~5%), quote tweets (~5%, ``is_quote``);
- activity growing over the years (the last year has about 8 times the tweets of the first) and
  heavy-tailed counts (likes, retweets, replies) that grow too; replies get fewer likes.

``tweet_id`` is a real Twitter snowflake of ``created_at`` (milliseconds since the Twitter epoch,
shifted left 22 bits, plus a sequence number for tweets in the same millisecond), so code that
reads a time from an id works on this corpus.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from tweetgen.schema import RAW_COLUMNS, SAMPLE_USERNAME

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TWITTER_EPOCH_MS = 1288834974657  # 2010-11-04T01:42:54.657Z, the snowflake epoch
SEQUENCE_BITS = 22  # low bits of a snowflake: worker, datacenter and sequence
MAX_CHARS = 280

# Shares of tweet-level quirks (the kind weights below set the rest).
REPLY_SHARE = 0.65
QUOTE_SHARE = 0.05
SELF_REPLY_SHARE = 0.06  # replies that continue one's own thread
EMOJI_SHARE = 0.10  # text tweets that get an emoji appended
LINK_SHARE = 0.06  # text tweets that get a link appended
QUOTE_LINK_SHARE = 0.3  # quote tweets whose text ends with the quoted tweet's link
GROWTH = 8.0  # tweet rate at ``end`` over the rate at ``start``

# --- vocabularies -------------------------------------------------------------------------------
# Raw text: "&", "<" and ">" are written plainly and escaped at the end, as the X API does.

ROCKETS = ("Skyforge", "Skyforge Heavy", "Longbow", "Nimbus 2", "Starling", "Starling Block 3")
ENGINES = ("Torrent", "Torrent Vacuum", "Ember", "Ember 2")
PADS = ("Pad 2", "the coastal launch site", "the ocean platform", "the new tower")
CARS = ("Model V", "the Roadrunner", "the Cyberhauler", "the electric semi", "the compact SUV", "the new sedan")
CAR_FEATURES = (
    "smoother regen braking",
    "a new driving visualization",
    "faster charging curves",
    "better voice commands",
    "heated rear seats & steering wheel",
    "camera-based rain sensing",
    "an improved navigation UI",
    "a quieter cabin mode",
)
SOFTWARE_VERSIONS = ("v12.4", "v11.3.6", "v13.1", "v14 beta", "2025.8", "v10.2")
CELL_CHEMISTRIES = ("iron phosphate", "high-nickel", "sodium-ion", "dry-electrode", "silicon-anode")
PARTS = (
    "heat shield tiles",
    "grid fins",
    "landing legs",
    "battery pack",
    "rear casting",
    "drive unit",
    "wiring harness",
    "cooling loop",
    "seat frame",
)
MATERIALS = ("stainless steel", "carbon fiber", "aluminum–lithium", "silicon carbide", "copper")
BORING_MACHINES = ("Molly Mole", "Digby", "Gopher One", "Ferris", "Big Auger")
CITIES = ("Austin", "Las Vegas", "Miami", "Chicago", "Los Angeles", "Zürich", "München", "São Paulo")
AI_VERBS = ("surpass humans at", "write most of", "transform", "automate much of", "dramatically improve")
AI_OBJECTS = ("coding", "medicine", "chip design", "physics research", "manufacturing", "customer support")
ROBOT_TASKS = ("fold laundry", "carry groceries", "sort parts on the line", "cook a simple meal", "water the plants")
MARS_NEEDS = ("pizza joints", "good Wi-Fi", "a lot of solar panels", "greenhouses", "a great café", "plenty of tunnels")
MEME_THINGS = ("the code", "the rocket", "the coffee machine", "the printer", "the Wi-Fi", "the demo", "the robot")
PLOT_TWISTS = (
    "the simulation was running on Windows",
    "the aliens were us all along",
    "the robot was the one taking notes",
    "the bug was a feature",
    "the meeting could have been an email",
)
LATE_NIGHT = ("redesigning the landing legs", "reading about ancient Rome", "arguing about fonts", "debugging the oven")
LOVES = ("engineering", "rockets", "good memes", "clean code", "physics", "dogs")
REALIZATIONS = (
    "“Wi-Fi” doesn’t stand for anything",
    "a rocket is just a very angry tube",
    "coffee is basically a productivity patch",
    "the moon is a déjà vu of Mars",
)
EMOJI = (
    "🚀",
    "😂",
    "🤣",
    "💯",
    "\u2764\ufe0f",  # ❤️ red heart + variation selector-16
    "🔥",
    "👀",
    "🤔",
    "\u2665\ufe0f",  # ♥️
    "👍",
    "🙏",
    "😉",
    "🎯",
    "🤖",
    "\u26a1\ufe0f",  # ⚡️
    "\u2600\ufe0f",  # ☀️
    "\U0001f468\u200d\U0001f680",  # 👨‍🚀 man + zero-width joiner + rocket
    "\U0001f9d1\u200d\U0001f4bb",  # 🧑‍💻
    "👍🏻",
    "🇺🇸",
    "😅",
    "💀",
    "✨",
)
COMMON_EMOJI = ("🚀", "😂", "🤣", "💯", "\u2764\ufe0f", "🔥", "👀", "🤔")  # drawn more often
TIME_OF_DAY = ("4:20pm", "10:05am", "6:30pm", "7am", "11:59pm", "2:15pm", "9am", "8:45pm")
TIME_ZONES = ("CT", "PT", "ET", "UTC")
WHEN = (
    "tomorrow",
    "tonight",
    "next week",
    "this weekend",
    "in about 3 weeks",
    "later this month",
    "on Tuesday",
    "in ~6 weeks",
    "probably next month",
)
WHEN_FUTURE = ("next year", "within 5 years", "by the end of the decade", "sooner than most think", "in 2 to 3 years")
NUMBERS = ("2", "3", "4", "5", "7", "10", "12", "20", "33", "42", "100")
PERCENTS = ("8", "12", "15", "20", "30", "40", "50", "70")
YEARS = ("2027", "2028", "2029", "2030", "2031")
RANGES_KM = ("520", "560", "610", "640", "700", "750")
MONTHS = ("6", "7", "8", "9")

SLOTS: dict[str, tuple[str, ...]] = {
    "rocket": ROCKETS,
    "engine": ENGINES,
    "pad": PADS,
    "car": CARS,
    "feature": CAR_FEATURES,
    "version": SOFTWARE_VERSIONS,
    "chem": CELL_CHEMISTRIES,
    "part": PARTS,
    "material": MATERIALS,
    "tbm": BORING_MACHINES,
    "city": CITIES,
    "ai_verb": AI_VERBS,
    "ai_obj": AI_OBJECTS,
    "robot_task": ROBOT_TASKS,
    "mars_need": MARS_NEEDS,
    "thing": MEME_THINGS,
    "plot": PLOT_TWISTS,
    "late_night": LATE_NIGHT,
    "love": LOVES,
    "realization": REALIZATIONS,
    "emo": EMOJI,
    "time": TIME_OF_DAY,
    "tz": TIME_ZONES,
    "when": WHEN,
    "when_future": WHEN_FUTURE,
    "n": NUMBERS,
    "pct": PERCENTS,
    "year": YEARS,
    "km": RANGES_KM,
    "months": MONTHS,
}
# Generated slots: {link} (a t.co link) and {handle} (an invented @mention), see _Slots.

ROCKET_TEMPLATES = (
    "{rocket} static fire {when}",
    "{rocket} launch {when} at {time} {tz}",
    "Booster landed on the ocean platform {emo}",
    "Stage separation looked nominal",
    "{engine} engine test went well – {n} seconds, full duration",
    "Catching the booster with the tower arms is next",
    "Heat shield is the hardest remaining problem",
    "Upgraded {part} on the next {rocket} flight",
    "Cost per ton to orbit is the metric that matters",
    "Flight {n} data looks good. Lots to improve, but progress is fast",
    "Reflight of a booster is now routine – {n} flights on the same one",
    "Rocket engines are much harder than they look",
    "Rollout to {pad} {when}",
    "Orbital refilling demo is planned for {year}",
    "Watch the {rocket} launch live {link}",
)
CAR_TEMPLATES = (
    "{car} deliveries up {pct}% year over year",
    "Software update {version} rolls out this week with {feature}",
    "Battery cell supply is the real constraint",
    "Range on {car} is now {km} km",
    "Fast chargers just passed {n},000 stalls worldwide",
    "{car} production is ramping faster than expected",
    "The new {part} cuts cost & weight by ~{pct}%",
    "Self-driving is getting really good. Try {version} & let us know",
    "Next-gen cells use {chem} chemistry",
    "{car} got 5 stars in every crash test category",
    "The Grünheide factory is now making {n},000 cars a week",
    "Efficiency > raw battery size",
    "Sales & service centers opening in {n} new cities",
)
TUNNEL_TEMPLATES = (
    "Tunnel boring machine “{tbm}” just broke through in {city}",
    "Traffic is the worst. Tunnels fix it",
    "{city} loop is now open to the public",
    "Digging speed is up {n}x vs last year",
    "Tunnels are weatherproof & earthquake safe",
    "Boring machine #{n} starts digging in {city} {when}",
)
AI_TEMPLATES = (
    "AI will {ai_verb} {ai_obj} {when_future}",
    "Training compute is growing ~{n}x per year",
    "The humanoid robot will be able to {robot_task} by {year}",
    "Oversight > speed when it comes to AI safety",
    "Our new model beat the last one on every benchmark",
    "Most compute will soon be used for inference, not training",
    "Data center #{n} comes online {when}",
    "Chips are the bottleneck, then power, then transformers (the electrical kind)",
    "The interesting question is what humans do once AI is better at most things",
    "Robots will outnumber cars in a few decades",
)
MARS_TEMPLATES = (
    "First crewed flight to Mars could happen in {year} if all goes well",
    "Mars will need {mars_need}",
    "Life on Mars will be hard at first, but glorious",
    "Travel time to Mars is about {months} months with current tech",
    "Making propellant on Mars from CO₂ & water ice is the key",
    "Mars sunsets are blue {emo}",
    "Every {n} years Earth & Mars line up for a cheap transfer",
)
MANUFACTURING_TEMPLATES = (
    "Line {n} is running at {pct} units per hour",
    "Spent the night on the production line. Making good progress",
    "Fewer parts = fewer problems",
    "Scrap rate down {pct}% this month – great work by the team",
    "Casting the {part} in one piece saves {n} assembly steps",
    "Automation is harder than it looks, so people still do a lot",
    "Supplier issue on the {part}. Should be resolved {when}",
    "R&D spending is up again this year",
    "Scaling production is 100x harder than building a prototype",
)
ENGINEERING_TEMPLATES = (
    "Simple designs are harder to make than complex ones",
    "Test early, test often, fix fast",
    "{material} is underrated",
    "Tolerances on the {part} are now within {n} microns",
    "The best meetings are short & have a clear goal",
    "Good engineers delete things",
    "Thermal management is everything in a {part}",
    "Engineering is mostly debugging reality",
    "Q&A with the engineering team {when}",
    "Naïve estimates are always off by at least {n}x",
)
MEME_TEMPLATES = (
    "When {thing} works on the first try {emo}",
    "Plot twist: {plot}",
    "I <3 {love}",
    "This is fine {emo}",
    "{thing} has entered the chat",
    "Tell me you’re an engineer without telling me you’re an engineer",
    "Just realized {realization}",
    "If you’re not confused, you’re not paying attention",
    "Monday -> Friday in one blink",
)
MULTILINE_TEMPLATES = (
    "Me: I’ll go to bed early tonight\nAlso me at 3am: {late_night}",
    "Nobody:\nAbsolutely nobody:\n{rocket}: static fire at 3am",
    "What’s new in {version}:\n\n- {feature}\n- {feature}\n- bug fixes",
    "Progress on {rocket}:\n\n1. {engine} engines installed\n2. New {part}\n3. Launch {when}",
    "{rocket} launch {when}\n\nWebcast at {time} {tz}",
    "Engineering in one picture:\nplan → build → test → fix → repeat",
    "Step 1: build a rocket\nStep 2: ???\nStep 3: Mars",
)
QUESTION_TEMPLATES = (
    "Should we make {car} in another color?",
    "What’s the most underrated {love} book?",
    "Which feature do you want first: {feature} or {feature}?",
    "Anyone else think {thing} is getting smarter?",
    "Would you take a tunnel from {city} to the airport?",
    "Best city for the next factory?",
)
QUOTE_COMMENTS = (
    "This is a big deal",
    "Worth reading",
    "Great thread",
    "So true",
    "Exactly this",
    "Important",
    "Underrated point",
    "Accurate",
    "This is the way",
    "Interesting data",
)
CONNECTORS = ("Also,", "That said,", "Btw", "To be clear,", "Note:", "Overall,")

ONE_WORD_REPLIES = (
    "Exactly",
    "Yes",
    "Interesting",
    "Wow",
    "True",
    "Indeed",
    "Agreed",
    "Absolutely",
    "Definitely",
    "Haha",
    "Accurate",
    "Wild",
    "Nice",
    "Yup",
    "Soon",
    "Hmm",
    "Exactly!",
    "Yes!",
    "Wow!",
    "Congratulations!",
    "Correct",
    "Hilarious",
    "Maybe",
    "Precisely",
)
SHORT_REPLIES = (
    "Good point",
    "Coming soon",
    "Working on it",
    "Will look into it",
    "Very true",
    "Not yet",
    "Much appreciated",
    "That’s right",
    "Great work by the team",
    "Yes, in a few weeks",
    "Good question",
    "Major improvements coming",
    "Fixing it now",
    "So true",
    "Thank you!",
    "That would be cool",
    "Probably next month",
    "Will do",
    "Hopefully soon",
    "We’re on it",
    "Something like that",
    "Not a bad idea",
    "Long overdue",
    "It’s getting there",
    "Yes & no",
    "Great work by {handle} & team!",
    "Very much so — and more coming",
)
FOREIGN: dict[str, tuple[str, ...]] = {
    "de": (
        "Vielen Dank, Berlin!",
        "Die neue Fabrik läuft großartig",
        "Wir sehen uns in Grünheide",
        "Das ist wirklich beeindruckend",
        "Gute Frage",
        "Bald gibt es mehr Neuigkeiten",
    ),
    "es": (
        "¡Gracias, México!",
        "Muy pronto",
        "El cohete está listo para el lanzamiento",
        "¡Qué equipo tan increíble!",
        "Buena pregunta",
        "Mañana será un gran día",
    ),
    "fr": (
        "Merci beaucoup, Paris !",
        "C’est vraiment impressionnant",
        "La fusée décolle demain",
        "Très bonne question",
        "À bientôt",
    ),
    "ja": ("ありがとう日本！", "ロケット打ち上げ成功🚀", "すごい", "日本の皆さん、こんにちは"),
}
FOREIGN_LANGS = ("de", "es", "fr", "ja")
FOREIGN_WEIGHTS = (0.3, 0.3, 0.25, 0.15)

HANDLE_HEADS = (
    "orbit", "rocket", "volt", "astro", "tunnel", "meme", "neural", "cyber", "mars", "delta",
    "quantum", "solar", "turbo", "pixel", "nova", "gear", "cosmo", "ion", "torque", "lunar",
)  # fmt: skip
HANDLE_TAILS = ("fan", "otter", "dad", "nerd", "watch", "guy", "lab", "daily", "hq", "pilot", "owl", "x", "news")
N_HANDLES = 300

TOPICS: dict[str, tuple[tuple[str, ...], float, float]] = {
    # name: (templates, weight at ``start``, weight at ``end``); weights move linearly in between.
    "rockets": (ROCKET_TEMPLATES, 1.0, 0.8),
    "cars": (CAR_TEMPLATES, 1.2, 0.7),
    "tunnels": (TUNNEL_TEMPLATES, 0.5, 0.2),
    "ai": (AI_TEMPLATES, 0.3, 1.3),
    "mars": (MARS_TEMPLATES, 0.6, 0.6),
    "manufacturing": (MANUFACTURING_TEMPLATES, 0.7, 0.6),
    "engineering": (ENGINEERING_TEMPLATES, 0.6, 0.6),
    "memes": (MEME_TEMPLATES, 0.4, 1.0),
}
TOPIC_BUCKETS = 20  # topic weights are precomputed for this many slices of the time span

# Hour-of-day weights (UTC): quiet around midday UTC, busy in US evenings and late nights.
HOUR_WEIGHTS = (6, 6, 5, 5, 5, 4, 3, 2, 2, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 6, 6, 6)

LINK_ALPHABET = string.ascii_letters + string.digits
ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))  # "&" first


class _Tweet(NamedTuple):
    text: str
    lang: str
    is_reply: bool
    is_quote: bool


class _Slots(dict):
    """Template slots filled lazily: each ``{name}`` draws afresh from its vocabulary."""

    def __init__(self, rng: random.Random, handles: list[str]) -> None:
        super().__init__()
        self.rng = rng
        self.handles = handles
        # Zipf-like: a few handles get most mentions (index 0 is the most frequent).
        self.handle_cum_weights = np.cumsum(1.0 / np.arange(1, len(handles) + 1)).tolist()

    def pick_handles(self, k: int) -> list[str]:
        return self.rng.choices(self.handles, cum_weights=self.handle_cum_weights, k=k)

    def __missing__(self, key: str) -> str:
        if key == "link":
            return make_link(self.rng)
        if key == "handle":
            return "@" + self.pick_handles(1)[0]
        return self.rng.choice(SLOTS[key])

    def fill(self, template: str) -> str:
        text = template.format_map(self)
        return text[0].upper() + text[1:]


# --- public API ---------------------------------------------------------------------------------


def generate_corpus(
    n_tweets: int = 3600,
    seed: int = 7,
    username: str = SAMPLE_USERNAME,
    start: datetime = datetime(2015, 1, 1, tzinfo=UTC),
    end: datetime = datetime(2026, 6, 30, tzinfo=UTC),
) -> pd.DataFrame:
    """Generate ``n_tweets`` invented tweets of ``username`` between ``start`` and ``end``.

    Args:
        n_tweets: number of rows (0 gives an empty frame with the right columns).
        seed: the same seed gives an identical frame; another seed a different one.
        username: the account written into every row (and into self-replies of threads); the
            default is the invented ``SAMPLE_USERNAME``, so invented tweets never carry a real
            account's name.
        start: first possible ``created_at``, timezone-aware, not before the snowflake epoch (2010-11-04).
        end: ``created_at`` is strictly before this, timezone-aware.

    Returns:
        A frame with exactly ``tweetgen.schema.RAW_COLUMNS``, sorted by ``created_at`` (UTC,
        millisecond precision), with unique snowflake ``tweet_id`` values increasing with time.

    Raises:
        ValueError: on a negative ``n_tweets``, naive datetimes, an empty span or a span that
            starts before the snowflake epoch.
    """
    start_ms, end_ms = _check_arguments(n_tweets, start, end)
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    times_ms = sample_times_ms(np_rng, n_tweets, start_ms, end_ms)
    positions = (times_ms - start_ms) / (end_ms - start_ms)
    handles = make_handles(rng)
    slots = _Slots(rng, handles)
    tweets = [make_tweet(rng, slots, username, pos) for pos in positions.tolist()]
    is_reply = np.fromiter((t.is_reply for t in tweets), dtype=bool, count=n_tweets)
    likes, retweets, replies = sample_counts(np_rng, positions, is_reply)
    frame = pd.DataFrame(
        {
            "tweet_id": snowflake_ids(times_ms),
            "created_at": pd.to_datetime(times_ms, unit="ms", utc=True).astype("datetime64[us, UTC]"),
            "text": [t.text for t in tweets],
            "username": [username] * n_tweets,
            "is_reply": is_reply,
            "is_quote": np.fromiter((t.is_quote for t in tweets), dtype=bool, count=n_tweets),
            "lang": [t.lang for t in tweets],
            "likes": likes,
            "retweets": retweets,
            "replies": replies,
        }
    )
    return frame[RAW_COLUMNS]


def snowflake_ids(times_ms: np.ndarray) -> np.ndarray:
    """Twitter snowflake ids for sorted millisecond timestamps, unique and increasing.

    The low 22 bits hold a sequence number that counts tweets within the same millisecond, so
    ``(id >> 22) + TWITTER_EPOCH_MS`` gives back the timestamp.
    """
    times_ms = np.asarray(times_ms, dtype=np.int64)
    index = np.arange(len(times_ms), dtype=np.int64)
    first_of_ms = np.ones(len(times_ms), dtype=bool)
    first_of_ms[1:] = times_ms[1:] != times_ms[:-1]
    sequence = index - np.maximum.accumulate(np.where(first_of_ms, index, 0))
    return ((times_ms - TWITTER_EPOCH_MS) << SEQUENCE_BITS) | sequence


def make_link(rng: random.Random) -> str:
    """A t.co short link: ``https://t.co/`` and 10 random letters and digits."""
    return "https://t.co/" + "".join(rng.choices(LINK_ALPHABET, k=10))


def make_handles(rng: random.Random, n: int = N_HANDLES) -> list[str]:
    """Invented, valid handles (``[A-Za-z0-9_]``, at most 15 characters), most frequent first."""
    handles: list[str] = []
    while len(handles) < n:
        head, tail = rng.choice(HANDLE_HEADS), rng.choice(HANDLE_TAILS)
        style = rng.random()
        if style < 0.3:
            handle = f"{head}{tail}"
        elif style < 0.5:
            handle = f"{head.capitalize()}{tail.capitalize()}"
        elif style < 0.7:
            handle = f"{head}_{tail}"
        else:
            handle = f"{head}{tail}{rng.randint(1, 999)}"
        handle = handle[:15]
        if handle not in handles:
            handles.append(handle)
    return handles


# --- time and counts (numpy, vectorized) --------------------------------------------------------


def sample_times_ms(rng: np.random.Generator, n: int, start_ms: int, end_ms: int) -> np.ndarray:
    """Sorted epoch milliseconds in ``[start_ms, end_ms)``, denser later (rate grows by ``GROWTH``).

    Days follow an exponentially growing rate (inverse-CDF sampling); the time of day follows
    ``HOUR_WEIGHTS``.
    """
    u = rng.random(n)
    x = np.log1p(u * (GROWTH - 1.0)) / math.log(GROWTH)  # in [0, 1), density grows by GROWTH
    day_ms = 86_400_000
    days = np.floor((start_ms + x * (end_ms - start_ms)) / day_ms).astype(np.int64) * day_ms
    hours = rng.choice(24, size=n, p=np.asarray(HOUR_WEIGHTS) / sum(HOUR_WEIGHTS))
    times = days + hours * 3_600_000 + rng.integers(0, 3_600_000, size=n)
    return np.sort(np.clip(times, start_ms, end_ms - 1))


def sample_counts(
    rng: np.random.Generator, positions: np.ndarray, is_reply: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heavy-tailed likes, retweets and replies that grow over time; replies get fewer likes.

    Median likes of an original tweet go from about 1,200 at ``start`` to about 120,000 at
    ``end``; a reply gets about an eighth of that; 2% of tweets go viral (x2 to x30 more).
    """
    n = len(positions)
    log_median = math.log(1_200) + positions * math.log(100) + np.where(is_reply, math.log(0.12), 0.0)
    viral = np.where(rng.random(n) < 0.02, rng.lognormal(2.0, 0.7, n), 1.0)
    likes = np.exp(log_median + rng.normal(0.0, 1.2, n)) * viral
    retweets = likes * rng.lognormal(math.log(0.08), 0.6, n)
    replies = likes * rng.lognormal(math.log(0.04), 0.6, n)
    return tuple(np.floor(c).astype(np.int64) for c in (likes, retweets, replies))  # type: ignore[return-value]


# --- text: one function per tweet kind, and a dispatcher ----------------------------------------
# A kind function returns (raw body, lang); the dispatcher adds mentions, links and emoji.

KindFn = Callable[[random.Random, _Slots, float], tuple[str, str]]


def _short_reply(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    if rng.random() < 0.55:
        return rng.choice(ONE_WORD_REPLIES), "en"
    return slots.fill(rng.choice(SHORT_REPLIES)), "en"


def _statement(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    return slots.fill(rng.choice(_pick_topic(rng, pos))), "en"


def _question(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    return slots.fill(rng.choice(QUESTION_TEMPLATES)), "en"


def _meme(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    return slots.fill(rng.choice(MEME_TEMPLATES)), "en"


def _multiline(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    if rng.random() < 0.3:  # two thoughts, one blank line apart
        templates = _pick_topic(rng, pos)
        return _sentence(slots.fill(rng.choice(templates))) + "\n\n" + slots.fill(rng.choice(templates)), "en"
    return slots.fill(rng.choice(MULTILINE_TEMPLATES)), "en"


def _long(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    """Distinct sentences on one topic, added while they fit a target length between 120 and 260."""
    templates = _pick_topic(rng, pos)
    target = rng.randint(120, MAX_CHARS - 20)
    first, *others = rng.sample(templates, min(5, len(templates)))
    text = _sentence(slots.fill(first))
    for template in others:
        extra = _sentence(slots.fill(template))
        if rng.random() < 0.25:
            extra = f"{rng.choice(CONNECTORS)} {_lower_first(extra)}"
        if len(text) + 1 + len(extra) > target:
            break
        text = f"{text} {extra}"
    return text, "en"


def _foreign(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    lang = rng.choices(FOREIGN_LANGS, weights=FOREIGN_WEIGHTS)[0]
    return rng.choice(FOREIGN[lang]), lang


def _emoji_only(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    pool = COMMON_EMOJI if rng.random() < 0.7 else EMOJI
    emoji = rng.choice(pool)
    return emoji * rng.choice((1, 1, 1, 2, 3)), "und"


def _link_only(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    return make_link(rng), "und"


def _quote_comment(rng: random.Random, slots: _Slots, pos: float) -> tuple[str, str]:
    return rng.choice(QUOTE_COMMENTS), "en"


KINDS: dict[str, KindFn] = {
    "short_reply": _short_reply,
    "statement": _statement,
    "question": _question,
    "meme": _meme,
    "multiline": _multiline,
    "long": _long,
    "foreign": _foreign,
    "emoji_only": _emoji_only,
    "link_only": _link_only,
    "quote_comment": _quote_comment,
}
UNDECORATED = frozenset({"foreign", "emoji_only", "link_only"})  # no emoji or link appended
# Kind weights for replies, original tweets and quote tweets.
KIND_WEIGHTS: dict[str, dict[str, float]] = {
    "reply": {
        "short_reply": 0.34, "statement": 0.26, "question": 0.04, "meme": 0.06, "multiline": 0.05,
        "long": 0.10, "foreign": 0.04, "emoji_only": 0.08, "link_only": 0.03,
    },
    "original": {
        "short_reply": 0.05, "statement": 0.35, "question": 0.06, "meme": 0.10, "multiline": 0.08,
        "long": 0.19, "foreign": 0.05, "emoji_only": 0.05, "link_only": 0.07,
    },
    "quote": {"quote_comment": 0.45, "short_reply": 0.15, "statement": 0.22, "long": 0.12, "emoji_only": 0.06},
}  # fmt: skip
_KIND_TABLES = {
    group: (tuple(weights), tuple(np.cumsum(list(weights.values())).tolist()))
    for group, weights in KIND_WEIGHTS.items()
}


def make_tweet(rng: random.Random, slots: _Slots, username: str, pos: float) -> _Tweet:
    """One tweet at relative time ``pos`` in [0, 1): pick a kind, write it, decorate it, fit it."""
    is_reply = rng.random() < REPLY_SHARE
    is_quote = rng.random() < QUOTE_SHARE
    group = "quote" if is_quote else "reply" if is_reply else "original"
    names, cum_weights = _KIND_TABLES[group]
    kind = rng.choices(names, cum_weights=cum_weights)[0]
    body, lang = KINDS[kind](rng, slots, pos)
    if kind not in UNDECORATED:
        body = _decorate(rng, body)
    if is_quote and rng.random() < QUOTE_LINK_SHARE:
        body = f"{body} {make_link(rng)}"
    text = escape_entities(body)
    if is_reply:
        text = f"{_mentions(rng, slots, username)} {text}"
    return _Tweet(_fit(text), lang, is_reply, is_quote)


def escape_entities(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as the X API returns them (``&amp;``, ``&lt;``, ``&gt;``)."""
    for raw, entity in ENTITIES:
        text = text.replace(raw, entity)
    return text


def _decorate(rng: random.Random, body: str) -> str:
    if rng.random() < EMOJI_SHARE:
        emoji = rng.choice(COMMON_EMOJI if rng.random() < 0.6 else EMOJI)
        body = f"{body} {emoji * rng.choice((1, 1, 2))}"
    if rng.random() < LINK_SHARE:
        body = f"{body} {make_link(rng)}"
    return body


def _mentions(rng: random.Random, slots: _Slots, username: str) -> str:
    """One to three leading @mentions; a thread continues with a reply to oneself."""
    if rng.random() < SELF_REPLY_SHARE:
        return f"@{username}"
    count = rng.choices((1, 2, 3), cum_weights=(0.72, 0.92, 1.0))[0]
    return " ".join("@" + handle for handle in slots.pick_handles(count))


def _fit(text: str) -> str:
    """Cut at the last space before ``MAX_CHARS`` (never inside an entity, link or emoji)."""
    while len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit(" ", 1)[0]
    return text


def _sentence(text: str) -> str:
    """End with a full stop where a sentence needs one (not after ?, !, an emoji or a link)."""
    if text[-1] in ".!?" or text.rsplit(" ", 1)[-1].startswith("https://"):
        return text
    return text + "." if text[-1].isalnum() or text[-1] in "%)”’" else text


def _lower_first(text: str) -> str:
    """Lowercase the first letter after a connector, but not of an acronym ("R&D")."""
    return text if text[1:2].isupper() or text[1:2] == "&" else text[0].lower() + text[1:]


def _topic_cum_weights() -> list[list[float]]:
    """Cumulative topic weights for each of ``TOPIC_BUCKETS`` slices of the time span."""
    tables = []
    for bucket in range(TOPIC_BUCKETS):
        pos = (bucket + 0.5) / TOPIC_BUCKETS
        weights = [early + (late - early) * pos for _, early, late in TOPICS.values()]
        tables.append(np.cumsum(weights).tolist())
    return tables


_TOPIC_TEMPLATES = tuple(templates for templates, _, _ in TOPICS.values())
_TOPIC_CUM_WEIGHTS = _topic_cum_weights()


def _pick_topic(rng: random.Random, pos: float) -> tuple[str, ...]:
    """The templates of one topic, drawn with the weights of relative time ``pos``."""
    bucket = min(int(pos * TOPIC_BUCKETS), TOPIC_BUCKETS - 1)
    return rng.choices(_TOPIC_TEMPLATES, cum_weights=_TOPIC_CUM_WEIGHTS[bucket])[0]


def _check_arguments(n_tweets: int, start: datetime, end: datetime) -> tuple[int, int]:
    if n_tweets < 0:
        raise ValueError(f"n_tweets must be 0 or more, not {n_tweets}.")
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware (e.g. datetime(2015, 1, 1, tzinfo=UTC)), not {moment}.")
    start_ms, end_ms = (int((moment - UNIX_EPOCH) // timedelta(milliseconds=1)) for moment in (start, end))
    if start_ms < TWITTER_EPOCH_MS:
        raise ValueError(f"start must not be before the snowflake epoch 2010-11-04T01:42:54.657Z, not {start}.")
    if end_ms <= start_ms:
        raise ValueError(f"end ({end}) must be after start ({start}).")
    return start_ms, end_ms

"""Valid rows for the monitor group ``generated_tweets``, made up by the project (no real tweets)."""

from __future__ import annotations

import pandas as pd

from tweetgen.schema import GENERATED_TWEETS

FIRST_RUN = pd.Timestamp("2026-01-10 06:00:00", tz="UTC")
# Invented tweets: (real text, prompted continuation, random generation).
RUNS = (
    ("Starship static fire went well today, next stop orbit 🚀", "Starship static fire is loud and happy", "Cars should drive themselves by next year"),
    ("The new battery line is running two shifts now", "The new roof tiles look like slate", "Tunnels are underrated, honestly"),
    ("Working on the robot hands. Fingers are hard!", "Working on the thing that makes things", "Mars has great sunsets ☀️ probably"),
    ("Production hell again, but the team is great", "Production numbers look strong this week", "The factory is the product"),
    ("Solar roofs are finally shipping in Texas", "Solar roofs will power the tunnel lights", "lol"),
    ("Rocket reuse is the key to making life multiplanetary", "Rocket landed on the drone ship again 🎉", "Battery day was fun"),
    ("Thinking about a factory on the Moon 🌕", "Thinking about tunnels under every city", "The robot said hi"),
)


def monitor_frame(n_runs: int = 3, arms: tuple[str, ...] = ("champion",), first_id: int = 1_000, model_version: int = 3) -> pd.DataFrame:
    """Valid ``GENERATED_TWEETS`` rows: ``n_runs`` daily runs (one day apart from ``FIRST_RUN``), one row per arm.

    Run ``i`` answers tweet ``first_id + i`` with texts from ``RUNS``; its measures are derived
    from ``i`` so tests can tell the runs apart (``real_chars`` is the real text's length,
    ``prompted_copy_words`` is ``i``, ``real_bits_per_char`` is ``3.0 - 0.1 * i``). The champion
    is an LSTM; the challenger arm, a GPT-2, uses ``model_version + 1``.
    """
    rows = []
    for i in range(n_runs):
        real, prompted, random_text = RUNS[i % len(RUNS)]
        for arm in arms:
            rows.append(_row(i, arm, first_id + i, real, prompted, random_text, model_version + (arm != "champion")))
    frame = pd.DataFrame(rows)
    for column in ("tweet_created_at", "generated_at"):
        frame[column] = pd.Series(frame[column], dtype="datetime64[us, UTC]")
    return frame[GENERATED_TWEETS.columns]


def _row(i: int, arm: str, tweet_id: int, real: str, prompted: str, random_text: str, version: int) -> dict[str, object]:
    run_at = FIRST_RUN + pd.Timedelta(days=i)
    return {
        "tweet_id": tweet_id,
        "tweet_created_at": run_at - pd.Timedelta(hours=3),
        "tweet_text": real,
        "tweet_clean_text": real,
        "prompt": " ".join(real.split()[:2]),
        "prompted_text": prompted,
        "random_text": random_text,
        "model_name": "tweet_gpt2",
        "model_version": version,
        "model_family": "lstm" if arm == "champion" else "gpt2",
        "arm": arm,
        "seed": 1_000 + i,
        "temperature": 0.9,
        "top_p": 0.95,
        "max_new_tokens": 60,
        "real_bits_per_char": 3.0 - 0.1 * i,
        "real_chars": len(real),
        "prompted_chars": len(prompted),
        "random_chars": len(random_text),
        "prompted_copy_words": i,
        "random_copy_words": i % 2,
        "real_sentiment": round(0.1 * (i % 5) - 0.2, 3),
        "prompted_sentiment": round(0.5 - 0.1 * (i % 4), 3),
        "random_sentiment": round(-0.3 + 0.2 * (i % 3), 3),
        "generated_at": run_at,
    }

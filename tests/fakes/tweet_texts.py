"""Invented tweet-like sentences for training tests (made from templates; no real tweets)."""

from __future__ import annotations

import random

import pandas as pd

from tests.fakes.frames import tweets_frame

SUBJECTS = ("The rocket", "Our new car", "This battery", "The factory", "A tunnel", "The robot", "Solar roofs")
VERBS = ("is launching", "will ship", "looks great", "needs more work", "goes really fast", "is almost ready")
ENDINGS = ("tomorrow", "next week", "on Mars 🚀", "soon", "this year!", "in Texas", "at dawn ☀️", "lol")


def invented_tweets(n: int, seed: int = 0) -> list[str]:
    """``n`` short sentences like "The robot will ship next week", deterministic for ``seed``."""
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(ENDINGS)}" for _ in range(n)]


def tweets_with_texts(texts: list[str], first_id: int = 1) -> pd.DataFrame:
    """Valid ``TWEETS`` rows whose ``text`` and ``clean_text`` are ``texts``; later ids are newer."""
    return tweets_frame(range(first_id, first_id + len(texts)), text=list(texts))

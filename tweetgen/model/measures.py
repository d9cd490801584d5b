"""Measures the daily batch job records next to each generated tweet, so users can see how the
model is doing: length, sentiment (VADER, a lexicon scorer that works offline) and whether a
generation copies its training data (the longest run of words it shares with any training tweet).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

WORD = re.compile(r"\w+(?:'\w+)?", re.UNICODE)


def words(text: str) -> list[str]:
    """Lowercased words of ``text`` (punctuation and emoji dropped), for copy detection."""
    return WORD.findall(text.lower())


class CopyIndex:
    """Answers "what is the longest run of words this text shares with a training tweet?".

    The training tweets are joined, as lowercased words, into one string with a separator no word
    contains, so a run of words is shared exactly when `` w1 w2 ... wk `` is a substring of it
    (and runs never span two tweets). Finding the longest run then takes a linear number of
    substring searches (two pointers), each a fast C scan of the joined string.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self._joined = " | " + " | ".join(" ".join(words(text)) for text in texts) + " | "

    def longest_shared_run(self, text: str) -> int:
        """Number of words in the longest run of ``text`` that also occurs in a training tweet."""
        tokens, best, start = words(text), 0, 0
        for end in range(1, len(tokens) + 1):
            # Invariant: tokens[start:end-1] occurs; shrink from the left until tokens[start:end] does.
            while start < end and not self._occurs(tokens[start:end]):
                start += 1
            best = max(best, end - start)
        return best

    def _occurs(self, run: list[str]) -> bool:
        return f" {' '.join(run)} " in self._joined


@functools.cache
def _vader():  # loading the lexicon takes ~0.1 s: once per process
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER compound sentiment in [-1, 1]: below -0.05 negative, above 0.05 positive."""
    return float(_vader().polarity_scores(text)["compound"]) if text else 0.0

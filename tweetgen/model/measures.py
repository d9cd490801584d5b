"""Measures of generated text, so users can see how the model is doing beyond bits per character.

The daily batch job records, next to each generated tweet, its length, its sentiment (VADER, a
lexicon scorer that works offline) and whether it copies its training data (the longest run of
words it shares with any training tweet). A training run measures a hundred samples the same way
(``sample_measures``): how varied their words are (distinct-1, distinct-2), how much they copy,
how many of their words are no words at all (``Vocabulary``: neither in a training tweet nor in
wordfreq's English word list), and how many were cut at the length limit rather than ended by
the model. ``reference_measures`` gives the same figures for real tweets, the yardstick.
"""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Iterable, Sequence

from tweetgen.schema import MAX_TWEET_CHARS

WORD = re.compile(r"\w+(?:'\w+)?", re.UNICODE)
COPIED_RUN_WORDS = 8  # a text sharing a run of this many words with a training tweet counts as copied


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
def english_words() -> frozenset[str]:
    """wordfreq's large English word list (about 320,000 lowercased words; shipped with the
    package, read once per process, no network)."""
    from wordfreq import iter_wordlist

    return frozenset(iter_wordlist("en", wordlist="large"))


def is_letters(word: str) -> bool:
    """Whether ``word`` is made of letters (and apostrophes): numbers, ``snake_case`` and
    ``10x``-like tokens are not words that can be misspelt."""
    return word.replace("'", "").isalpha()


class Vocabulary:
    """Words a reader would accept: every word of the training tweets, and English words.

    A non-word is a word of letters (``is_letters``) found in neither: what a character-level
    model invents ("Gowero"). Names, handles and slang the account uses are training words.
    """

    def __init__(self, texts: Iterable[str], dictionary: frozenset[str] | None = None) -> None:
        self._known = {word for text in texts for word in words(text)}
        self._dictionary = english_words() if dictionary is None else dictionary

    def is_known(self, word: str) -> bool:
        """``word`` (lowercased) is a training word or an English one; a possessive ``'s`` is ignored."""
        stem = word[:-2] if word.endswith("'s") else word
        return any(w in self._known or w in self._dictionary for w in (word, stem))

    def non_words(self, text: str) -> list[str]:
        """The words of letters in ``text`` that are not known, in order."""
        return [word for word in words(text) if is_letters(word) and not self.is_known(word)]

    def non_word_share(self, texts: Iterable[str]) -> float:
        """Non-words over all words of letters in ``texts`` (0 when there are none)."""
        lettered = [word for text in texts for word in words(text) if is_letters(word)]
        unknown = sum(not self.is_known(word) for word in lettered)
        return unknown / len(lettered) if lettered else 0.0


def reference_measures(texts: Sequence[str], vocabulary: Vocabulary) -> dict[str, float]:
    """What ``sample_measures`` says of samples, said of real tweets (e.g. the held-out ones):
    ``non_word_share`` and ``at_limit_share``, the share at least ``MAX_TWEET_CHARS`` long."""
    if not texts:
        raise ValueError("reference_measures needs at least one text.")
    return {"non_word_share": vocabulary.non_word_share(texts),
            "at_limit_share": sum(len(text) >= MAX_TWEET_CHARS for text in texts) / len(texts)}


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct-n: distinct word n-grams over all word n-grams of ``texts`` (0 when there are none).

    1.0 means no n-gram repeats across the texts; samples stuck on a few phrases score low.
    N-grams never span two texts.
    """
    grams = [tuple(tokens[i : i + n]) for tokens in map(words, texts) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def sample_measures(
    texts: Sequence[str], copy_index: CopyIndex, vocabulary: Vocabulary | None = None, finished: Sequence[bool] | None = None
) -> dict[str, float]:
    """What a reader would notice in ``texts`` (e.g. 100 samples): variety, copying, invented
    words and tweets cut short.

    Returns:
        ``distinct_1`` and ``distinct_2`` (``distinct_n``); ``copy_words``: the mean over texts of
        the longest run of words shared with a training tweet; ``copy_rate``: the share of texts
        sharing a run of at least ``COPIED_RUN_WORDS`` words; ``mean_chars``: mean length. With
        ``vocabulary``, ``non_word_share`` (``Vocabulary.non_word_share``); with ``finished`` (one
        flag per text: the model ended it), ``cut_share``: the share cut at the limit instead.

    Raises:
        ValueError: ``texts`` is empty.
    """
    if not texts:
        raise ValueError("sample_measures needs at least one text.")
    runs = [copy_index.longest_shared_run(text) for text in texts]
    measures = {
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "copy_words": statistics.fmean(runs),
        "copy_rate": sum(run >= COPIED_RUN_WORDS for run in runs) / len(runs),
        "mean_chars": statistics.fmean(len(text) for text in texts),
    }
    if vocabulary is not None:
        measures["non_word_share"] = vocabulary.non_word_share(texts)
    if finished is not None:
        measures["cut_share"] = sum(not done for done in finished) / len(texts)
    return measures


@functools.cache
def _vader():  # loading the lexicon takes ~0.1 s: once per process
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER compound sentiment in [-1, 1]: below -0.05 negative, above 0.05 positive."""
    return float(_vader().polarity_scores(text)["compound"]) if text else 0.0

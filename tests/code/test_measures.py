import pytest

from tweetgen.model.measures import (
    CopyIndex,
    Vocabulary,
    distinct_n,
    english_words,
    reference_measures,
    sample_measures,
    sentiment,
    words,
)


def test_words_are_lowercased_without_punctuation_or_emoji() -> None:
    assert words("Launch, tomorrow! 🚀 It's GO") == ["launch", "tomorrow", "it's", "go"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the rocket lands on the ship today", 5),  # "rocket lands on the ship"
        ("completely unrelated words here", 0),
        ("Rocket LANDS!", 2),
        ("ship today and then the rocket", 1),  # "ship today" spans two training tweets: not shared
        ("", 0),
    ],
)
def test_longest_shared_run(text: str, expected: int) -> None:
    index = CopyIndex(["A rocket lands on the ship", "today is the day", "Mars 🚀"])
    assert index.longest_shared_run(text) == expected


def test_a_verbatim_copy_shares_all_its_words() -> None:
    tweet = "Production is hell but we are getting there"
    assert CopyIndex(["first tweet", tweet, "last tweet"]).longest_shared_run(tweet) == 8


def test_sentiment_signs() -> None:
    assert sentiment("This is great, I love it!") > 0.5
    assert sentiment("This is terrible and sad") < -0.5
    assert sentiment("") == 0.0
    assert -0.05 <= sentiment("The meeting is at noon") <= 0.05


def test_distinct_n_counts_distinct_ngrams_over_all_ngrams_never_across_texts() -> None:
    texts = ["the rocket flies", "the rocket lands", "Mars"]
    assert distinct_n(texts, 1) == pytest.approx(5 / 7)  # the, rocket, flies, lands, mars of 7 words
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)  # "the rocket" twice; "flies the" never formed
    assert distinct_n(["same words"] * 10, 2) == pytest.approx(0.1)
    assert distinct_n(["one"], 2) == 0.0 and distinct_n([], 1) == 0.0


def test_sample_measures_report_variety_and_copying() -> None:
    index = CopyIndex(["Production is hell but we are getting there", "Mars is next"])
    texts = ["Production is hell but we are getting there fast", "Tunnels under every city", "Mars is next"]
    measures = sample_measures(texts, index)
    assert measures["copy_words"] == pytest.approx((8 + 0 + 3) / 3)
    assert measures["copy_rate"] == pytest.approx(1 / 3)  # only the first shares a run of 8+ words
    assert measures["distinct_1"] == pytest.approx(15 / 16)  # "is" twice among 16 words
    assert measures["mean_chars"] == pytest.approx(sum(map(len, texts)) / 3)
    with pytest.raises(ValueError):
        sample_measures([], index)


def test_wordfreq_ships_its_english_list_offline() -> None:
    english = english_words()  # read from the package's data files: no network in the test run
    assert len(english) > 200_000 and {"rocket", "launch", "don't", "tesla"} <= english
    assert "gowero" not in english


def test_non_words_are_letter_words_in_neither_the_training_tweets_nor_english() -> None:
    vocabulary = Vocabulary(["Starlink beams to the Cybertruck", "hodl Doge"], dictionary=frozenset({"the", "to", "for", "and", "rocket"}))
    assert vocabulary.non_words("The Cybertruck's rocket is for Gowero, 10x and v12 hodl") == ["is", "gowero"]
    assert vocabulary.non_word_share(["the rocket gowero", "Starlink 42 zzq"]) == pytest.approx(2 / 5)
    assert vocabulary.non_word_share(["42 🚀", ""]) == 0.0  # no words of letters: nothing to judge


def test_reference_measures_of_real_tweets_count_those_at_the_limit() -> None:
    vocabulary = Vocabulary([], dictionary=frozenset({"word"}))
    texts = ["word " * 55 + "word", "word " * 56, "word wordz"]  # 279 characters, 280, short
    measured = reference_measures(texts, vocabulary)
    assert measured["at_limit_share"] == pytest.approx(1 / 3)
    assert measured["non_word_share"] == pytest.approx(1 / 114)


def test_sample_measures_count_non_words_and_tweets_cut_at_the_limit() -> None:
    vocabulary = Vocabulary([], dictionary=frozenset({"big", "rocket"}))
    texts = ["big rocket", "big zorgle…", "rocket"]
    measured = sample_measures(texts, CopyIndex(["a"]), vocabulary, finished=[True, False, True])
    assert measured["non_word_share"] == pytest.approx(1 / 5) and measured["cut_share"] == pytest.approx(1 / 3)
    assert "non_word_share" not in sample_measures(texts, CopyIndex(["a"]))

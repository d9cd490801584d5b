import pytest

from tweetgen.model.measures import CopyIndex, distinct_n, sample_measures, sentiment, words


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

import pytest

from tweetgen.model.measures import CopyIndex, sentiment, words


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

"""How a generated tweet ends: at the model's eos, or cut at a sentence end or word boundary."""

from __future__ import annotations

import random
import re

import pytest

from tweetgen.model.build import byte_tokenizer
from tweetgen.model.ending import ELLIPSIS, cut_at_limit, end_tweet
from tweetgen.model.generate import sample_tweets
from tweetgen.model.lstm import build_lstm
from tweetgen.schema import MAX_TWEET_CHARS


def test_a_finished_tweet_within_the_limit_is_kept_whole() -> None:
    assert end_tweet("  Launch window opens tomorrow  ", finished=True) == "Launch window opens tomorrow"
    text = "a" * MAX_TWEET_CHARS  # exactly at the limit: still whole
    assert end_tweet(text, finished=True) == text


def test_an_unfinished_tweet_is_cut_at_its_last_sentence_end() -> None:
    text = "Starship flies soon. The engines are ready! Then we will see what the early acc"
    assert end_tweet(text, finished=False) == "Starship flies soon. The engines are ready!"


def test_without_a_late_sentence_end_it_is_cut_at_the_last_word_boundary_with_an_ellipsis() -> None:
    text = "Yes. " + "rockets are hard but we will make them reusable, " * 6 + "before we start ne"
    cut = end_tweet(text, finished=False)
    assert len(cut) <= MAX_TWEET_CHARS and cut.endswith(ELLIPSIS)
    assert cut[:-1] == text[: len(cut) - 1] and text[len(cut) - 1] in " ,"  # the word before is whole
    assert not cut.endswith("," + ELLIPSIS)  # a dangling comma goes


@pytest.mark.parametrize("limit", [279, 280, 281])
def test_the_limit_is_kept_at_its_boundary(limit: int) -> None:
    words = "abcdefghij " * 40  # 440 characters, a space every 11
    cut = cut_at_limit(words, limit)
    assert len(cut) <= limit and len(cut) > limit - 12
    assert cut.endswith("abcdefghij" + ELLIPSIS)


def test_a_finished_tweet_over_the_limit_is_cut_too() -> None:
    text = "word " * 70  # 350 characters, ended by the model
    cut = end_tweet(text, finished=True)
    assert len(cut) <= MAX_TWEET_CHARS and cut.endswith("word" + ELLIPSIS)


def test_a_decimal_point_or_an_abbreviation_without_a_space_is_no_sentence_end() -> None:
    assert cut_at_limit("Model 3.5 is at v12.4 and rising fas", 280) == "Model 3.5 is at v12.4 and rising" + ELLIPSIS


def test_one_word_longer_than_the_limit_is_the_only_cut_inside_a_word() -> None:
    assert cut_at_limit("x" * 400) == "x" * 279 + ELLIPSIS


def test_random_unfinished_texts_are_never_cut_inside_a_word() -> None:
    rng = random.Random(7)
    alphabet = "abcdefgh  .,!?'é🚀"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400)))
        if not re.search(r"\s", text.strip()):
            continue  # one long word: covered above
        cut = end_tweet(text, finished=False)
        assert len(cut) <= MAX_TWEET_CHARS
        stripped = text.strip()
        if cut.endswith(ELLIPSIS):
            head = cut[:-1]
            assert stripped.startswith(head) and (len(head) == len(stripped) or not stripped[len(head)].isalnum())
        else:  # a sentence end followed by a space in the text
            assert stripped.startswith(cut) and cut[-1] in ".!?'"
            assert len(cut) == len(stripped) or stripped[len(cut)].isspace()


def test_samples_that_run_out_of_room_are_cut_and_marked_unfinished() -> None:
    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=32, hidden_size=96, seed=0)  # untrained: it writes bytes at random
    drawn = sample_tweets(model, tokenizer, prompt="The rocket", n=6, seed=4, max_new_tokens=30)
    unfinished = [s for s in drawn if not s.finished]
    assert unfinished, "an untrained model rarely ends within 30 tokens: the premise of this test"
    for s in unfinished:
        assert s.text.endswith(ELLIPSIS) or s.text[-1] in ".!?"


def test_a_cut_never_shortens_the_prompt() -> None:
    assert cut_at_limit("The rocketxqzvw", 280, keep=len("The rocket")) == "The rocket" + ELLIPSIS
    assert cut_at_limit("The rocket is reaxq", 280, keep=len("The rocket")) == "The rocket is" + ELLIPSIS
    assert cut_at_limit("The rocketxqzvw", 280) == "The" + ELLIPSIS  # without a prompt: the last word boundary

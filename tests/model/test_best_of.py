"""Best-of-n sampling: each tweet kept is the candidate the model scores lowest per character."""

from __future__ import annotations

import pytest

from tweetgen.model.build import byte_tokenizer
from tweetgen.model.evaluate import text_bits_per_char
from tweetgen.model.generate import best_of, sample_tweets
from tweetgen.model.lstm import build_lstm


def test_best_of_keeps_the_candidate_with_the_fewest_bits_per_character() -> None:
    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=32, hidden_size=96, seed=1)
    drawn = sample_tweets(model, tokenizer, "Mars", n=6, max_new_tokens=20, seed=5)
    scores = text_bits_per_char(model, tokenizer, [s.text for s in drawn])
    assert len(set(scores)) > 1, "the candidates differ in score: the premise of the choice"
    kept = best_of(model, tokenizer, "Mars", n=2, candidates=3, max_new_tokens=20, seed=5)
    assert kept == [drawn[min(range(0, 3), key=scores.__getitem__)], drawn[min(range(3, 6), key=scores.__getitem__)]]
    assert best_of(model, tokenizer, "Mars", n=6, candidates=1, max_new_tokens=20, seed=5) == drawn  # one candidate: plain sampling


def test_a_texts_bits_per_character_counts_its_end() -> None:
    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=32, hidden_size=96, seed=1)
    from tweetgen.model.evaluate import evaluate

    texts = ["Launch", "A longer tweet about rockets"]
    each = text_bits_per_char(model, tokenizer, texts)
    together = evaluate(model, tokenizer, texts)["eval_bits_per_char"]
    chars = [len(t) + 1 for t in texts]
    assert abs(sum(b * c for b, c in zip(each, chars, strict=True)) / sum(chars) - together) < 1e-5


def test_a_request_that_leaves_no_room_gets_its_error_and_the_others_their_best() -> None:
    from tweetgen.errors import TweetgenError
    from tweetgen.model.generate import Sampled, best_rows

    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=32, hidden_size=96, seed=1)
    model.config.max_position_embeddings = 16  # a context of 16 bytes: a 20-byte prompt leaves no room
    rows = best_rows(model, tokenizer, [("Mars", 5), ("x" * 20, 6), ("Mars", 5)], candidates=3, max_new_tokens=8)
    assert isinstance(rows[1], TweetgenError) and "leaves no room" in str(rows[1])
    assert isinstance(rows[0], Sampled) and rows[0] == rows[2]  # same prompt and seed: the same best candidate
    assert rows[0] == best_of(model, tokenizer, "Mars", n=1, candidates=3, max_new_tokens=8, seed=5)[0]


def test_each_texts_bits_per_character_is_its_own_whatever_the_batch() -> None:
    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=32, hidden_size=96, seed=1)
    model.config.max_position_embeddings = 24  # the last text is longer: scored in windows, after the batches
    texts = ["A longer tweet", "Go", "Mars soon", "x" * 40, "Go"]
    together = text_bits_per_char(model, tokenizer, texts, batch_size=2)
    alone = [text_bits_per_char(model, tokenizer, [text])[0] for text in texts]
    assert together == [pytest.approx(value, rel=1e-5) for value in alone] and together[1] == pytest.approx(together[4], rel=1e-6)

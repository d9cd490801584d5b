"""Best-of-n sampling: each tweet kept is the candidate the model scores lowest per character."""

from __future__ import annotations

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

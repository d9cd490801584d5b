"""The n-gram the LSTM mixes in: its probabilities against a direct reading of the formula, the
mixture inside the model (one pass, carried state, generation, saving), and the weight fit."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.fakes.tweet_texts import invented_tweets
from tweetgen.model.build import byte_tokenizer
from tweetgen.model.evaluate import evaluate, framed_ids, token_nats
from tweetgen.model.generate import sample
from tweetgen.model.lstm import build_lstm, register_auto_classes
from tweetgen.model.ngram import (
    DISCOUNT,
    MAX_ORDER,
    best_weight,
    count_ngrams,
    max_order,
    mix_in_ngram,
    ngram_probs,
    supports_ngram,
)

TEXTS = invented_tweets(200)
TRAIN_TEXTS, VAL_TEXTS = TEXTS[:170], TEXTS[170:]


@pytest.fixture(scope="module")
def tokenizer():
    return byte_tokenizer()


def byte_id(tokenizer, char: str) -> int:
    (token,) = tokenizer(char, add_special_tokens=False)["input_ids"]
    return token


def reference_probability(sequences: list[list[int]], order: int, context: list[int], token: int, vocab: int) -> float:
    """Interpolated absolute discounting read straight from its definition, with dictionaries."""
    counts = [defaultdict(lambda: defaultdict(int)) for _ in range(order + 1)]
    for seq in sequences:
        for i in range(1, len(seq)):
            for k in range(min(order, i) + 1):
                counts[k][tuple(seq[i - k : i])][seq[i]] += 1
    p = 1.0 / vocab
    for k in range(min(order, len(context)) + 1):
        following = counts[k].get(tuple(context[len(context) - k :]))
        if not following:
            break
        n, u = sum(following.values()), len(following)
        p = max(following.get(token, 0) - DISCOUNT, 0) / n + DISCOUNT * u / n * p
    return p


def test_the_probabilities_are_the_formula_and_sum_to_one(tokenizer) -> None:
    sequences = framed_ids(tokenizer, TRAIN_TEXTS[:40])
    table = count_ngrams(sequences, order=3, vocab_size=len(tokenizer))
    probe = framed_ids(tokenizer, ["The rocket lands", "zq never seen"])[0][:12]
    probs = ngram_probs(table, torch.tensor([probe]), len(tokenizer))[0]  # (T, V)
    assert torch.allclose(probs.sum(dim=-1), torch.ones(len(probe)), atol=1e-5)
    for position in (0, 1, 4, 11):
        context = probe[: position + 1]
        for token in (probe[min(position + 1, len(probe) - 1)], byte_id(tokenizer, "e"), tokenizer.eos_token_id):
            expected = reference_probability(sequences, 3, context, token, len(tokenizer))
            assert probs[position, token].item() == pytest.approx(expected, rel=1e-4)


def test_a_context_never_seen_falls_back_and_orders_are_bounded(tokenizer) -> None:
    a, z = byte_id(tokenizer, "a"), byte_id(tokenizer, "z")
    table = count_ngrams(framed_ids(tokenizer, ["aaaa"]), order=2, vocab_size=len(tokenizer))
    unseen = ngram_probs(table, torch.tensor([[tokenizer.bos_token_id, z]]), len(tokenizer))[0, 1]
    seen_a = ngram_probs(table, torch.tensor([[tokenizer.bos_token_id, a]]), len(tokenizer))[0, 1]
    assert seen_a[a] > unseen[a] > 0.5  # after "a" the bigram is surer; after "z" (never seen) only the unigram speaks
    assert unseen.argmax().item() == a and unseen[z] < 0.01
    assert (max_order(259), max_order(4096), max_order(50257)) == (MAX_ORDER, 4, 3)  # the key fits an int64
    with pytest.raises(ValueError, match=f"order must be 1 to {MAX_ORDER} for 259 tokens, not 8"):
        count_ngrams([[0, 5, 1]], order=MAX_ORDER + 1, vocab_size=259)
    with pytest.raises(ValueError, match="token ids must be 0 to 258"):
        count_ngrams([[0, 4000, 1]], order=2, vocab_size=259)


def test_the_mixture_is_a_distribution_carried_through_the_state_and_saved(tokenizer, tmp_path) -> None:
    model = build_lstm(tokenizer, n_embd=16, hidden_size=32).eval()
    table = count_ngrams(framed_ids(tokenizer, TRAIN_TEXTS), order=MAX_ORDER, vocab_size=len(tokenizer))
    ids = torch.tensor([framed_ids(tokenizer, ["Starship flies to Mars"])[0]])
    with torch.no_grad():
        lstm_only = torch.softmax(model(input_ids=ids).logits, -1)
        model.attach_ngram(table, 0.3)
        whole = model(input_ids=ids).logits
        first = model(input_ids=ids[:, :7], use_cache=True)
        rest = model(input_ids=ids[:, 7:], past_key_values=first.past_key_values, use_cache=True).logits
    expected = 0.7 * lstm_only + 0.3 * ngram_probs(table, ids, len(tokenizer))
    assert torch.allclose(torch.exp(whole), expected, atol=1e-5)
    assert torch.allclose(whole[:, 7:], rest, atol=1e-4)  # generation sees the same n-gram contexts

    model.save_pretrained(tmp_path)
    register_auto_classes()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert (loaded.config.ngram_order, loaded.config.ngram_weight) == (MAX_ORDER, pytest.approx(0.3))
    assert torch.equal(loaded.ngram_keys, table.keys) and torch.equal(loaded.ngram_counts, table.counts)
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).logits, whole, atol=1e-5)
    texts = sample(loaded, tokenizer, prompt="Starship", n=2, seed=3, max_new_tokens=40)
    assert len(texts) == 2 and all(text.startswith("Starship") for text in texts)
    assert texts == sample(loaded, tokenizer, prompt="Starship", n=2, seed=3, max_new_tokens=40)


def test_the_weight_is_the_one_that_scores_best() -> None:
    lstm = torch.tensor([1.0, 1.0, 5.0, 1.0])  # nats per token
    assert best_weight(lstm, torch.tensor([9.0, 9.0, 9.0, 9.0])) == 0.0  # a useless n-gram gets no weight
    assert best_weight(lstm, lstm - 1.0) == 0.9  # an n-gram better on every token gets the most weight allowed
    middle = best_weight(lstm, torch.tensor([4.0, 4.0, 0.5, 4.0]))
    assert 0.05 < middle < 0.6
    ngram = torch.tensor([4.0, 4.0, 0.5, 4.0])

    def mixed(w: float) -> float:  # total nats of the mixture
        return float(-torch.logaddexp(math.log1p(-w) - lstm, math.log(w) - ngram).sum())

    assert mixed(middle) <= min(mixed(middle - 0.01), mixed(middle + 0.01))


def test_mixing_in_the_training_text_lowers_held_out_bits(tokenizer) -> None:
    model = build_lstm(tokenizer, n_embd=16, hidden_size=32)  # untrained: the n-gram knows far more
    before = evaluate(model, tokenizer, VAL_TEXTS)["eval_bits_per_char"]
    fit = mix_in_ngram(model, tokenizer, TRAIN_TEXTS, VAL_TEXTS, order=MAX_ORDER)
    assert fit.order == MAX_ORDER and 0.5 < fit.weight <= 0.9 and model.config.ngram_weight == fit.weight
    assert fit.val_bits_per_char_alone == pytest.approx(before, rel=1e-5)
    assert fit.val_bits_per_char_mixed < before - 1.0  # measured with the table of the training tweets alone
    # The table the model keeps counts the validation tweets too: every token of both, once per order 0 context.
    framed = framed_ids(tokenizer, TRAIN_TEXTS + VAL_TEXTS)
    order0 = model.ngram_keys == 0
    assert int(model.ngram_counts[model.ngram_starts[0] : model.ngram_starts[1]].sum()) == sum(len(ids) - 1 for ids in framed)
    assert bool(order0[0]) and evaluate(model, tokenizer, VAL_TEXTS)["eval_bits_per_char"] < fit.val_bits_per_char_mixed
    val = framed_ids(tokenizer, VAL_TEXTS)
    assert token_nats(model, val, tokenizer.pad_token_id).shape == (sum(len(ids) - 1 for ids in val),)
    # the mixed figure is the model's own bits/char with the weight found and the training tweets' table alone
    model.attach_ngram(count_ngrams(framed_ids(tokenizer, TRAIN_TEXTS), MAX_ORDER, len(tokenizer)), fit.weight)
    assert evaluate(model, tokenizer, VAL_TEXTS)["eval_bits_per_char"] == pytest.approx(fit.val_bits_per_char_mixed, rel=1e-5)


def test_an_ngram_that_knows_nothing_of_the_held_out_text_gets_no_weight(tokenizer) -> None:
    model = build_lstm(tokenizer, n_embd=16, hidden_size=32)
    # long tweets of letters the training tweets never hold: the n-gram is worse than the LSTM on every one
    fit = mix_in_ngram(model, tokenizer, ["aaaa bbbb"] * 20, ["zqxw" * 100] * 3, order=3)
    assert fit.weight == 0.0 and fit.val_bits_per_char_mixed == fit.val_bits_per_char_alone > 5


@pytest.mark.parametrize(("order", "ok"), [(0, False), (1, True), (MAX_ORDER, True), (MAX_ORDER + 1, False)])
def test_the_order_is_1_to_the_longest_that_fits(order, ok, tokenizer) -> None:
    sequences = framed_ids(tokenizer, ["abcdefghij", "abcdefghik"])
    if ok:
        table = count_ngrams(sequences, order=order, vocab_size=len(tokenizer))
        assert table.order == order and max(int(key) & 7 for key in table.keys) == order  # a key's low bits: its order
    else:
        with pytest.raises(ValueError, match=f"order must be 1 to {MAX_ORDER} for 259 tokens, not {order}"):
            count_ngrams(sequences, order=order, vocab_size=len(tokenizer))


@pytest.mark.parametrize(("size", "order"), [(2, MAX_ORDER), (2**60 - 1, 1), (2**60, 0)])
def test_the_longest_order_is_bounded_by_max_order_and_by_the_key(size, order) -> None:
    assert max_order(size) == order


class Vocabulary:
    """A tokenizer as ``supports_ngram`` reads one: only its number of tokens."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


@pytest.mark.parametrize(("size", "order"), [(259, MAX_ORDER), (2**15 - 1, 4), (2**15, 3), (50257, 3)])
def test_an_lstm_mixes_in_an_ngram_while_contexts_of_four_tokens_fit_a_key(size, order, tokenizer) -> None:
    assert max_order(size) == order  # 4 tokens of 2**15 - 1 values and the order's 3 bits fill 63 bits
    supported = order >= 4
    assert supports_ngram(build_lstm(tokenizer, n_embd=8, hidden_size=8), Vocabulary(size)) == supported


def test_a_model_without_an_ngram_slot_mixes_none_in(tokenizer) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=32, n_embd=8, n_layer=1, n_head=2))
    assert not supports_ngram(gpt2, tokenizer)

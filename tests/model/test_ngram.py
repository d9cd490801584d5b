"""The n-gram the LSTM mixes in: its probabilities against a direct reading of the formula, the
mixture inside the model (one pass, carried state, generation, saving), and the weight fit."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
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
    NGramTable,
    best_weight,
    count_ngrams,
    max_order,
    mix_in_ngram,
    next_token_probs,
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


def reference_probability(sequences: list[list[int]], order: int, context: list[int], token: int, vocab: int,
                          kneser_ney: bool = True) -> float:
    """Interpolated modified Kneser-Ney (or, without ``kneser_ney``, absolute discounting) read
    straight from its definition, with dictionaries."""
    counts = [defaultdict(lambda: defaultdict(int)) for _ in range(order + 1)]
    lefts = [defaultdict(lambda: defaultdict(set)) for _ in range(order + 1)]
    for seq in sequences:
        for i in range(1, len(seq)):
            for k in range(min(order, i) + 1):
                before = tuple(seq[i - k : i])
                if kneser_ney and k < order and i - k >= 1:
                    lefts[k][before][seq[i]].add(seq[i - k - 1])  # a lower order counts distinct tokens before
                else:
                    counts[k][before][seq[i]] += 1
    for k in range(order + 1):
        for before, following in lefts[k].items():
            for after, seen in following.items():
                counts[k][before][after] = len(seen)
    p = 1.0 / vocab
    for k in range(min(order, len(context)) + 1):
        every = [c for following in counts[k].values() for c in following.values()]
        n = [every.count(i) for i in (1, 2, 3, 4)]
        given = [DISCOUNT] * 3
        if kneser_ney and all(n):
            y = n[0] / (n[0] + 2 * n[1])
            given = [max(i - (i + 1) * y * n[i] / n[i - 1], 0.05) for i in (1, 2, 3)]
        discount = lambda count, given=given: given[min(count, 3) - 1]  # noqa: E731
        following = counts[k].get(tuple(context[len(context) - k :]))
        if not following:
            break
        total = sum(following.values())
        shared = sum(discount(c) for c in following.values())
        p = max(following.get(token, 0) - (discount(following[token]) if token in following else 0), 0) / total + shared / total * p
    return p


@pytest.mark.parametrize("kneser_ney", [True, False])
def test_the_probabilities_are_the_formula_and_sum_to_one(tokenizer, kneser_ney: bool) -> None:
    sequences = framed_ids(tokenizer, TRAIN_TEXTS[:40])
    table = count_ngrams(sequences, order=3, vocab_size=len(tokenizer), kneser_ney=kneser_ney)
    probe = framed_ids(tokenizer, ["The rocket lands", "zq never seen"])[0][:12]
    probs = ngram_probs(table, torch.tensor([probe]), len(tokenizer))[0]  # (T, V)
    assert torch.allclose(probs.sum(dim=-1), torch.ones(len(probe)), atol=1e-5)
    for position in (0, 1, 4, 11):
        context = probe[: position + 1]
        for token in (probe[min(position + 1, len(probe) - 1)], byte_id(tokenizer, "e"), tokenizer.eos_token_id):
            expected = reference_probability(sequences, 3, context, token, len(tokenizer), kneser_ney)
            assert probs[position, token].item() == pytest.approx(expected, rel=1e-4)


def test_kneser_ney_counts_the_distinct_tokens_before_a_lower_order_pair(tokenizer) -> None:
    a, b, c, x = (byte_id(tokenizer, char) for char in "abcx")
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    # "ab" follows "x" three times, "c" once and the tweet's start once.
    sequences = [[bos, x, a, b, eos]] * 3 + [[bos, c, a, b, eos], [bos, a, b, eos]]
    table = count_ngrams(sequences, order=2, vocab_size=len(tokenizer))

    def count(context: list[int], token: int) -> int:
        key = sum(t * len(tokenizer) ** i for i, t in enumerate(reversed(context))) << 3 | len(context)
        at = int(torch.searchsorted(table.keys, torch.tensor(key)))
        begin, end = int(table.starts[at]), int(table.starts[at + 1])
        return int(table.counts[begin:end][table.next_tokens[begin:end] == token].sum())

    assert count([a], b) == 3  # the distinct tokens before "ab": x, c and bos
    assert count([bos], a) == 1 and count([bos], x) == 3  # a pair at the tweet's start keeps its occurrences
    assert count([x, a], b) == 3  # the highest order keeps its occurrences
    assert count([], b) == 1  # only "a" comes before "b"
    plain = count_ngrams(sequences, order=2, vocab_size=len(tokenizer), kneser_ney=False)
    assert plain.discounts is None and int(plain.counts.sum()) == 19 + 19 + 14  # targets with 0, 1, 2 tokens before them
    assert table.discounts is not None and table.discounts.shape == (3, 3)  # orders 0-2, counts of 1, 2, 3+


def test_a_context_never_seen_falls_back_and_orders_are_bounded(tokenizer) -> None:
    a, z = byte_id(tokenizer, "a"), byte_id(tokenizer, "z")
    table = count_ngrams(framed_ids(tokenizer, ["aaaa"]), order=2, vocab_size=len(tokenizer), kneser_ney=False)
    unseen = ngram_probs(table, torch.tensor([[tokenizer.bos_token_id, z]]), len(tokenizer))[0, 1]
    seen_a = ngram_probs(table, torch.tensor([[tokenizer.bos_token_id, a]]), len(tokenizer))[0, 1]
    assert seen_a[a] > unseen[a] > 0.5  # after "a" the bigram is surer; after "z" (never seen) only the unigram speaks
    assert unseen.argmax().item() == a and unseen[z] < 0.01
    assert (max_order(259), max_order(4096), max_order(50257)) == (MAX_ORDER, 4, 3)  # the key fits an int64
    with pytest.raises(ValueError, match=f"order must be 1 to {MAX_ORDER} for 259 tokens, not 8"):
        count_ngrams([[0, 5, 1]], order=MAX_ORDER + 1, vocab_size=259)
    with pytest.raises(ValueError, match="token ids must be 0 to 258"):
        count_ngrams([[0, 4000, 1]], order=2, vocab_size=259)


@pytest.mark.parametrize(("order", "kneser_ney"), [(3, True), (MAX_ORDER, True), (MAX_ORDER, False)])
def test_the_next_tokens_probabilities_are_those_of_the_whole_sequence_to_the_last_bit(tokenizer, order: int, kneser_ney: bool) -> None:
    table = count_ngrams(framed_ids(tokenizer, TRAIN_TEXTS), order=order, vocab_size=len(tokenizer), kneser_ney=kneser_ney)
    rows = framed_ids(tokenizer, ["The rocket lands on Mars", "zqxj never seen", "Starship Starship"])
    lengths = range(1, order + 2)  # a generation step reads at most order + 1 tokens a row
    for length in lengths:
        ids = torch.tensor([row[:length] for row in rows])
        assert torch.equal(next_token_probs(table, ids, len(tokenizer)), ngram_probs(table, ids, len(tokenizer))[:, -1])
    # the premise: the rows reach contexts of every order, and one falls back to shorter ones
    ids = torch.tensor([row[: order + 1] for row in rows])
    uniform = torch.full((len(tokenizer),), 1.0 / len(tokenizer))
    assert not torch.equal(next_token_probs(table, ids[:, -1:], len(tokenizer))[0], next_token_probs(table, ids, len(tokenizer))[0])
    empty = NGramTable(order, torch.zeros(0, dtype=torch.long), torch.zeros(1, dtype=torch.long), torch.zeros(0, dtype=torch.int16), torch.zeros(0, dtype=torch.int32))
    assert torch.equal(next_token_probs(empty, ids, len(tokenizer)), uniform.expand(len(rows), -1))


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
    assert torch.allclose(loaded.ngram.discounts, table.discounts)  # modified Kneser-Ney's, saved in config.json
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
    # The table the model keeps counts the validation tweets too: at order 0, every distinct pair of a token and the one before.
    framed = framed_ids(tokenizer, TRAIN_TEXTS + VAL_TEXTS)
    order0 = model.ngram_keys == 0
    pairs = {(ids[i - 1], ids[i]) for ids in framed for i in range(1, len(ids))}
    assert int(model.ngram_counts[model.ngram_starts[0] : model.ngram_starts[1]].sum()) == len(pairs)
    assert bool(order0[0]) and evaluate(model, tokenizer, VAL_TEXTS)["eval_bits_per_char"] < fit.val_bits_per_char_mixed
    val = framed_ids(tokenizer, VAL_TEXTS)
    assert token_nats(model, val, tokenizer.pad_token_id).shape == (sum(len(ids) - 1 for ids in val),)
    # the mixed figure is the model's own bits/char with the weight found and the training tweets' table alone
    model.attach_ngram(count_ngrams(framed_ids(tokenizer, TRAIN_TEXTS), MAX_ORDER, len(tokenizer)), fit.weight)
    assert evaluate(model, tokenizer, VAL_TEXTS)["eval_bits_per_char"] == pytest.approx(fit.val_bits_per_char_mixed, rel=1e-5)


def test_the_discounts_follow_the_counts_of_counts() -> None:
    from tweetgen.model.ngram import count_discounts

    counts = np.array([1] * 40 + [2] * 20 + [3] * 10 + [4] * 5 + [9] * 3)
    y = 40 / (40 + 2 * 20)
    assert count_discounts(counts) == pytest.approx([1 - 2 * y * 20 / 40, 2 - 3 * y * 10 / 20, 3 - 4 * y * 5 / 10])
    for missing in (1, 2, 3, 4):  # one count of counts is 0: too few pairs, the fixed discount
        assert count_discounts(counts[counts != missing]) == [DISCOUNT] * 3
    low = count_discounts(np.array([1] + [2] * 50 + [3] * 50 + [4] * 50))
    assert low[0] == 0.05 and low[1] == pytest.approx(2 - 3 * (1 / 101) * 50 / 50)  # D1 kept at 0.05 at least
    assert count_discounts(np.array([1] * 1000 + [2] + [3] * 1000 + [4]))[1] == 0.05  # D2 too


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


@pytest.mark.parametrize("sequences", [[], [[0]], [[0], [0]]])
def test_text_with_nothing_to_predict_makes_an_empty_table_that_predicts_uniformly(tokenizer, sequences) -> None:
    table = count_ngrams(sequences, order=2, vocab_size=len(tokenizer))
    assert (len(table.keys), table.starts.tolist(), len(table.next_tokens), len(table.counts)) == (0, [0], 0, 0)
    uniform = torch.full((1, len(tokenizer)), 1.0 / len(tokenizer))
    assert torch.equal(next_token_probs(table, torch.tensor([[0, 5]]), len(tokenizer)), uniform)
    assert torch.equal(ngram_probs(table, torch.tensor([[0, 5]]), len(tokenizer))[:, -1], uniform)


def test_the_table_is_stored_in_its_documented_types(tokenizer) -> None:
    table = count_ngrams(framed_ids(tokenizer, TRAIN_TEXTS[:20]), order=3, vocab_size=len(tokenizer))
    assert (table.keys.dtype, table.starts.dtype, table.next_tokens.dtype, table.counts.dtype) == (torch.int64, torch.int64, torch.int16, torch.int32)
    assert table.discounts.dtype == torch.float32  # the model saves these tensors as they are


@pytest.mark.parametrize(("sequence", "ok"), [([7, 7], True), ([0, 258], True), ([0, 259], False)])
def test_token_ids_run_from_0_to_one_below_the_vocabulary(sequence, ok) -> None:
    if ok:
        assert int(count_ngrams([sequence], order=1, vocab_size=259).counts.sum()) == 2  # one pair at each order
    else:
        with pytest.raises(ValueError, match="token ids must be 0 to 258"):
            count_ngrams([sequence], order=1, vocab_size=259)


def test_the_next_tokens_after_the_tables_last_context_and_with_a_given_discount(tokenizer) -> None:
    vocab = len(tokenizer)
    table = count_ngrams(framed_ids(tokenizer, TRAIN_TEXTS[:30]), order=2, vocab_size=vocab)
    last = int(table.keys[-1])  # the largest key: its context is the last one searched
    body, k = last >> 3, last & 7
    ids = torch.tensor([[body // vocab ** (k - 1 - i) % vocab for i in range(k)]])
    assert (sum(int(t) * vocab**i for i, t in enumerate(reversed(ids[0].tolist()))) << 3 | k) == last  # the premise
    assert torch.equal(next_token_probs(table, ids, vocab), ngram_probs(table, ids, vocab)[:, -1])
    plain = count_ngrams(framed_ids(tokenizer, TRAIN_TEXTS[:30]), order=2, vocab_size=vocab, kneser_ney=False)
    rows = torch.tensor([framed_ids(tokenizer, ["The rocket"])[0][:3]])
    given = next_token_probs(plain, rows, vocab, discount=0.5)
    assert torch.equal(given, ngram_probs(plain, rows, vocab, discount=0.5)[:, -1]) and not torch.equal(given, next_token_probs(plain, rows, vocab))


def test_a_window_that_starts_inside_a_tweet_has_no_tweet_start_before_it(tokenizer) -> None:
    # a long text is scored in windows: the first token of a later window has no bos before it,
    # so its context is itself alone, never "bos + itself" (which the tweets starting with it made likely)
    sequences = framed_ids(tokenizer, ["ab", "ab", "ab", "xab"])
    table = count_ngrams(sequences, order=3, vocab_size=len(tokenizer))
    a, b = byte_id(tokenizer, "a"), byte_id(tokenizer, "b")
    probs = ngram_probs(table, torch.tensor([[a, b]]), len(tokenizer))[0]
    for position, context in ((0, [a]), (1, [a, b])):
        expected = reference_probability(sequences, 3, context, tokenizer.eos_token_id, len(tokenizer))
        assert probs[position, tokenizer.eos_token_id].item() == pytest.approx(expected, rel=1e-5)
    with_start = ngram_probs(table, torch.tensor([[tokenizer.bos_token_id, a]]), len(tokenizer))[0, 1]
    assert not torch.allclose(with_start, probs[0])  # the premise: the tweet's start would change it

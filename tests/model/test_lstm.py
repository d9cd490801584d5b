"""The LSTM family and the byte tokenizer: the same contract as GPT-2 (framing, loss, evaluation,
sampling, saving and loading through transformers' Auto classes)."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.fakes.saved_models import forget_lstm_auto_classes
from tests.fakes.tweet_texts import invented_tweets
from tweetgen.errors import TweetgenError
from tweetgen.model.build import (
    BOS,
    EOS,
    PAD,
    build_model,
    byte_tokenizer,
    family_of,
    is_byte_level,
    load_base,
    make_tokenizer,
)
from tweetgen.model.data import frame_texts
from tweetgen.model.evaluate import evaluate
from tweetgen.model.generate import sample, tweet_tokens
from tweetgen.model.lstm import TweetLSTMForCausalLM, build_lstm
from tweetgen.model.train import TrainConfig, train

TEXTS = invented_tweets(300)
TRAIN_TEXTS, EVAL_TEXTS = TEXTS[:260], TEXTS[260:]


@pytest.fixture(scope="module")
def tokenizer():
    return byte_tokenizer()


def small_lstm(tokenizer, seed: int = 0) -> TweetLSTMForCausalLM:
    return build_lstm(tokenizer, n_embd=32, hidden_size=96, seed=seed)


def test_the_byte_tokenizer_is_fixed_and_round_trips_any_text(tokenizer) -> None:
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == (BOS, EOS, PAD)
    assert (len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (259, 0, 1, 2)
    for text in ("Launch on Mars 🚀 ☀️", "naïve café, 日本語 never seen", ""):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert len(ids) == len(text.encode("utf-8")) and tokenizer.decode(ids) == text
    assert byte_tokenizer().get_vocab() == tokenizer.get_vocab() == make_tokenizer("byte", ["anything"]).get_vocab()
    assert is_byte_level(tokenizer) and not is_byte_level(make_tokenizer("bpe", TRAIN_TEXTS, vocab_size=400))
    assert tweet_tokens(tokenizer) == 280
    with pytest.raises(TweetgenError, match="tokenizer is 'words'; use one of byte, bpe"):
        make_tokenizer("words", TRAIN_TEXTS)


def test_carrying_the_state_gives_the_logits_of_one_pass(tokenizer) -> None:
    model = small_lstm(tokenizer).eval()
    ids = torch.tensor([tokenizer("The rocket is ready")["input_ids"]])  # (1, T)
    with torch.no_grad():
        whole = model(input_ids=ids).logits
        first = model(input_ids=ids[:, :6], use_cache=True)
        rest = model(input_ids=ids[:, 6:], past_key_values=first.past_key_values, use_cache=True).logits
    assert torch.allclose(whole[:, 6:], rest, atol=1e-5)
    assert whole.shape == (1, ids.shape[1], 259)


def test_an_lstm_learns_and_evaluates_like_any_model(tokenizer) -> None:
    model = small_lstm(tokenizer)
    before = evaluate(model, tokenizer, EVAL_TEXTS)["eval_bits_per_char"]
    config = TrainConfig(batch_size=8, block_size=64, max_steps=40, max_seconds=None, num_threads=1, progress=False)
    result = train(model, frame_texts(TRAIN_TEXTS, tokenizer, 64), config)
    after = evaluate(model, tokenizer, EVAL_TEXTS)
    assert sum(result.train_losses[-5:]) / 5 < sum(result.train_losses[:5]) / 5 - 1.0
    assert after["eval_bits_per_char"] < before - 2.0
    assert after["eval_tokens"] == sum(len(t.encode()) + 1 for t in EVAL_TEXTS)  # a token per byte, and eos


def test_evaluate_matches_the_definition_on_a_uniform_lstm(tokenizer) -> None:
    model = small_lstm(tokenizer)
    with torch.no_grad():  # zero head: every logit is 0, every byte costs ln(259) nats
        model.lm_head.weight.zero_()
    texts = EVAL_TEXTS[:5] + ["🚀 " * 300]  # the last is longer than the 1,024-token window
    metrics = evaluate(model, tokenizer, texts, batch_size=2)
    tokens = sum(len(t.encode()) + 1 for t in texts)
    assert metrics["eval_loss"] == pytest.approx(math.log(259), rel=1e-5)
    assert metrics["eval_bits_per_char"] == pytest.approx(tokens * math.log2(259) / sum(len(t) + 1 for t in texts), rel=1e-5)


def test_sampling_an_lstm_is_deterministic_keeps_the_prompt_and_stops_at_eos(tokenizer) -> None:
    model = small_lstm(tokenizer)
    with torch.no_grad():  # every byte alike but a space, 30% of the draws: words, which the cut at a word keeps apart
        model.lm_head.weight.zero_()
        model.ln_f.weight.zero_()
        model.ln_f.bias.fill_(1.0)
        space = tokenizer(" ", add_special_tokens=False)["input_ids"][0]
        model.lm_head.weight[space] = math.log(0.3 * len(tokenizer) / 0.7) / model.config.hidden_size
    first = sample(model, tokenizer, prompt="The rocket", n=3, seed=4, max_new_tokens=30)
    assert first == sample(model, tokenizer, prompt="The rocket", n=3, seed=4, max_new_tokens=30)
    assert first != sample(model, tokenizer, prompt="The rocket", n=3, seed=5, max_new_tokens=30)
    assert all(text.startswith("The rocket") for text in first)
    with torch.no_grad():  # make eos the most likely next byte whatever the input
        model.lm_head.weight.zero_()
        model.ln_f.weight.zero_()
        model.ln_f.bias.fill_(1.0)
        model.lm_head.weight[tokenizer.eos_token_id] = 50.0
    assert sample(model, tokenizer, prompt="The robot", n=2) == ["The robot", "The robot"]


def test_a_saved_lstm_loads_through_the_auto_classes_and_load_base(tokenizer, tmp_path, monkeypatch) -> None:
    model = small_lstm(tokenizer, seed=2).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    forget_lstm_auto_classes(monkeypatch)  # a fresh process: nothing registered the LSTM yet
    with pytest.raises(ValueError):
        AutoModelForCausalLM.from_pretrained(tmp_path)  # transformers alone does not know it
    loaded, loaded_tokenizer = load_base(str(tmp_path))  # the loader registers it
    assert family_of(loaded) == "lstm" and loaded_tokenizer.get_vocab() == AutoTokenizer.from_pretrained(tmp_path).get_vocab()
    ids = torch.tensor([tokenizer("Mars 🚀")["input_ids"]])
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, loaded.eval()(input_ids=ids).logits)


def test_build_model_builds_either_family_or_says_which_exist(tokenizer) -> None:
    assert family_of(build_model("lstm", tokenizer, n_layer=2, n_embd=16, hidden_size=32)) == "lstm"
    assert family_of(build_model("gpt2", tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=32)) == "gpt2"
    with pytest.raises(TweetgenError, match="model family is 'rnn'; use one of lstm, gpt2"):
        build_model("rnn", tokenizer, n_layer=1, n_embd=16)

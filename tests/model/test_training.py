"""Model behaviour: tokenizer and framing, split by time, the training loop, evaluation, sampling."""

from __future__ import annotations

import dataclasses
import lzma
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch

from tests.fakes.tweet_texts import invented_tweets, tweets_with_texts
from tweetgen.errors import TweetgenError
from tweetgen.model.build import (
    BOS,
    EOS,
    PAD,
    build_tiny_model,
    check_base_model,
    count_parameters,
    load_base,
    train_tokenizer,
)
from tweetgen.model.data import TweetBlocks, frame_texts, split_by_time
from tweetgen.model.evaluate import _batched_nats, _windowed_nats, compressor_bits_per_char, evaluate, validation_scorer
from tweetgen.model.generate import sample
from tweetgen.model.train import TrainConfig, learning_rate_at, resolve_precision, train

TEXTS = invented_tweets(400)
TRAIN_TEXTS, EVAL_TEXTS = TEXTS[:360], TEXTS[360:]
SMALL = dict(n_layer=2, n_embd=64, n_head=2, n_positions=64)
QUICK = TrainConfig(batch_size=8, block_size=64, max_steps=60, max_seconds=None, num_threads=1, progress=False)


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TRAIN_TEXTS, vocab_size=512)


@pytest.fixture(scope="module")
def trained(tokenizer):
    """A small model before and after 60 steps, with its evaluation before training."""
    model = build_tiny_model(tokenizer, **SMALL)
    before = evaluate(model, tokenizer, EVAL_TEXTS)
    result = train(model, frame_texts(TRAIN_TEXTS, tokenizer, 64), QUICK)
    return model, result, before


def test_tokenizer_has_distinct_special_tokens_and_round_trips(tokenizer) -> None:
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == (BOS, EOS, PAD)
    assert len({tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}) == 3
    for text in ("Launch on Mars 🚀 ☀️", "naïve café, 日本語 never seen"):
        assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    again = train_tokenizer(TRAIN_TEXTS, vocab_size=512)
    assert again.get_vocab() == tokenizer.get_vocab()


def test_framing_wraps_each_text_in_bos_and_eos(tokenizer) -> None:
    blocks = frame_texts(["The rocket", "soon"], tokenizer, block_size=4)
    stream = [tokenizer.bos_token_id, *tokenizer("The rocket")["input_ids"], tokenizer.eos_token_id]
    stream += [tokenizer.bos_token_id, *tokenizer("soon")["input_ids"], tokenizer.eos_token_id]
    n_full = len(stream) // 4
    assert blocks.shape == (n_full + (len(stream) % 4 > 0), 4)
    assert blocks[:n_full].flatten().tolist() == stream[: n_full * 4]
    assert blocks[-1].tolist() == stream[-4:]  # the tail block overlaps instead of padding
    assert tokenizer.pad_token_id not in blocks.flatten().tolist()
    assert frame_texts(["hi"], tokenizer, block_size=64).shape == (0, 64)


def test_split_by_time_is_deterministic_and_evaluates_on_the_newest() -> None:
    frame = tweets_with_texts(invented_tweets(50))
    train_frame, eval_frame = split_by_time(frame.sample(frac=1.0, random_state=3), eval_fraction=0.1)
    again_train, again_eval = split_by_time(frame.sample(frac=1.0, random_state=7), eval_fraction=0.1)
    assert eval_frame["tweet_id"].tolist() == again_eval["tweet_id"].tolist() == list(range(46, 51))
    assert train_frame["tweet_id"].tolist() == again_train["tweet_id"].tolist() == list(range(1, 46))
    assert train_frame["created_at"].max() < eval_frame["created_at"].min()
    since = frame["created_at"].iloc[39].to_pydatetime().replace(tzinfo=None)  # naive means UTC
    assert split_by_time(frame, eval_since=since)[1]["tweet_id"].tolist() == list(range(40, 51))
    with pytest.raises(TweetgenError, match="both need at least one"):
        split_by_time(frame, eval_since=datetime(2030, 1, 1, tzinfo=UTC))


def test_loss_goes_down_and_bits_per_char_improve(trained, tokenizer) -> None:
    model, result, before = trained
    assert result.steps == 60 and len(result.train_losses) == 60
    first, last = sum(result.train_losses[:5]) / 5, sum(result.train_losses[-5:]) / 5
    assert last < first - 1.0, (first, last)
    after = evaluate(model, tokenizer, EVAL_TEXTS)
    assert 0 < after["eval_bits_per_char"] < before["eval_bits_per_char"]
    assert math.isfinite(after["eval_perplexity"]) and after["eval_perplexity"] < before["eval_perplexity"]
    assert after["eval_chars"] == sum(len(t) + 1 for t in EVAL_TEXTS)


def test_training_is_deterministic_for_a_seed(tokenizer) -> None:
    blocks = frame_texts(TRAIN_TEXTS, tokenizer, 64)
    runs = []
    for _ in range(2):
        model = build_tiny_model(tokenizer, **SMALL, seed=1)
        config = TrainConfig(batch_size=8, max_steps=4, max_seconds=None, seed=5, num_threads=1, progress=False)
        runs.append((train(model, blocks, config), model))
    (first, model_a), (second, model_b) = runs
    assert first.train_losses == second.train_losses
    assert all(torch.equal(a, b) for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True))


def test_evaluate_matches_the_definition_on_a_uniform_model(tokenizer) -> None:
    model = build_tiny_model(tokenizer, **SMALL)
    with torch.no_grad():  # zero final LayerNorm: every logit is 0, every token costs ln(V) nats
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.zero_()
    metrics = evaluate(model, tokenizer, EVAL_TEXTS[:7], batch_size=3)
    tokens = sum(len(tokenizer(t)["input_ids"]) + 1 for t in EVAL_TEXTS[:7])  # text tokens + eos
    chars = sum(len(t) + 1 for t in EVAL_TEXTS[:7])
    assert metrics["eval_tokens"] == tokens
    assert metrics["eval_loss"] == pytest.approx(math.log(len(tokenizer)), rel=1e-5)
    assert metrics["eval_bits_per_char"] == pytest.approx(tokens * math.log2(len(tokenizer)) / chars, rel=1e-5)


def test_long_texts_are_scored_in_windows_covering_every_token(trained, tokenizer) -> None:
    model = trained[0]
    ids = [tokenizer.bos_token_id, *tokenizer(" ".join(EVAL_TEXTS[:12]))["input_ids"], tokenizer.eos_token_id]
    assert len(ids) > 64  # longer than the context
    short = ids[:64]
    model.eval()
    with torch.inference_mode():
        windowed, batched = _windowed_nats(model, short, 64), _batched_nats(model, [short], 4, 0)
        assert windowed.shape == batched.shape == (63,)
        assert torch.allclose(windowed, batched, rtol=1e-5, atol=1e-6)
        long_nats = _windowed_nats(model, ids, 64)
    assert long_nats.shape == (len(ids) - 1,)  # every token once
    metrics = evaluate(model, tokenizer, [" ".join(EVAL_TEXTS[:12])])
    assert metrics["eval_tokens"] == len(ids) - 1 and math.isfinite(metrics["eval_loss"])


def test_sample_is_deterministic_for_a_seed_and_keeps_the_prompt(trained, tokenizer) -> None:
    model = trained[0]
    first = sample(model, tokenizer, prompt="The rocket", n=3, seed=11)
    assert first == sample(model, tokenizer, prompt="The rocket", n=3, seed=11)
    assert first != sample(model, tokenizer, prompt="The rocket", n=3, seed=12)
    assert len(first) == 3 and all(text.startswith("The rocket") for text in first)
    assert not any(token in text for text in first for token in (BOS, EOS, PAD))


def test_sample_stops_at_eos(tokenizer) -> None:
    model = build_tiny_model(tokenizer, **SMALL)
    with torch.no_grad():  # make eos the most likely next token whatever the input
        direction = torch.zeros(SMALL["n_embd"])
        direction[0] = 1.0
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(direction)
        model.transformer.wte.weight[tokenizer.eos_token_id] = 50.0 * direction
    assert sample(model, tokenizer, prompt="The robot", n=2, temperature=0.5) == ["The robot", "The robot"]


def test_tiny_model_size_follows_the_gpt2_formula(tokenizer) -> None:
    d, n_layer, vocab, positions = SMALL["n_embd"], SMALL["n_layer"], len(tokenizer), SMALL["n_positions"]
    # embeddings (tied with the output layer) + per block 2 LayerNorms, attention, MLP + final LayerNorm
    expected = vocab * d + positions * d + n_layer * (12 * d * d + 13 * d) + 2 * d
    assert count_parameters(build_tiny_model(tokenizer, **SMALL)) == expected


def test_load_base_needs_the_network_for_a_hub_id() -> None:
    with pytest.raises(TweetgenError, match="(?i)could not load base model gpt2 offline; use --base-model tiny"):
        load_base("gpt2")
    with pytest.raises(ValueError):
        load_base("tiny")


def test_load_base_from_a_folder_adds_a_pad_token(tmp_path, tokenizer) -> None:
    model = build_tiny_model(tokenizer, **SMALL)
    no_pad = train_tokenizer(TRAIN_TEXTS, vocab_size=512)
    no_pad.pad_token = None
    model.save_pretrained(tmp_path)
    no_pad.save_pretrained(tmp_path)
    loaded, loaded_tokenizer = load_base(str(tmp_path))
    assert loaded_tokenizer.pad_token == PAD and loaded_tokenizer.pad_token_id != loaded_tokenizer.eos_token_id
    assert loaded.get_input_embeddings().weight.shape[0] == len(loaded_tokenizer)
    x = torch.tensor([[tokenizer.bos_token_id, 5, 6, 7]])
    model.eval()
    assert torch.equal(model(input_ids=x).logits, loaded(input_ids=x).logits)


class TickingClock:
    """``time.perf_counter`` for the training loop: each reading is ``tick`` seconds after the last."""

    def __init__(self, tick: float) -> None:
        self.tick, self.readings = tick, 0

    def perf_counter(self) -> float:
        self.readings += 1
        return (self.readings - 1) * self.tick


def test_a_time_budget_alone_trains_until_it_is_spent(tokenizer, monkeypatch) -> None:
    # An injected clock: 1/16 s per reading. The loop reads it at its start, for the checkpoint
    # timer, then once before each step: before step k it reads (k + 2) / 16 s, so the budget of
    # 1 s is spent before step 14, exactly (14 steps: more than one epoch of 45 blocks / 8).
    clock = TickingClock(1 / 16)
    monkeypatch.setattr("tweetgen.model.train.time", clock)
    model = build_tiny_model(tokenizer, **SMALL)
    config = TrainConfig(batch_size=8, max_seconds=1.0, num_threads=1, progress=False)
    validate = validation_scorer(tokenizer, EVAL_TEXTS[:10])
    result = train(model, frame_texts(TRAIN_TEXTS, tokenizer, 64), config, validate)
    assert result.stopped_by == "time" and result.steps == 14 and result.seconds == 17 / 16
    assert result.steps == len(result.train_losses)
    assert result.val_curve and result.val_curve[-1][0] == result.steps  # the last weights are validated too


def test_a_budget_spent_before_the_first_step_still_takes_one(tokenizer) -> None:
    model = build_tiny_model(tokenizer, **SMALL)
    config = TrainConfig(batch_size=8, max_seconds=1e-9, num_threads=1, progress=False)  # a machine too busy to start
    result = train(model, frame_texts(TRAIN_TEXTS, tokenizer, 64), config)
    assert (result.stopped_by, result.steps, len(result.train_losses)) == ("time", 1, 1)
    assert math.isfinite(result.final_train_loss)


def test_learning_rate_warms_up_then_decays_to_the_floor() -> None:
    config = TrainConfig(learning_rate=1e-3, warmup_fraction=0.1, min_lr_ratio=0.1)
    assert learning_rate_at(0.0, config) < 2e-5
    assert learning_rate_at(0.1, config) == pytest.approx(1e-3)
    assert learning_rate_at(0.55, config) == pytest.approx(0.55e-3)
    assert learning_rate_at(1.0, config) == pytest.approx(1e-4)
    assert TrainConfig().peak_learning_rate == 3e-3  # the LSTM, the default family
    assert TrainConfig(family="gpt2").peak_learning_rate == 1e-3 and TrainConfig(base_model="gpt2").peak_learning_rate == 5e-5


def test_compressor_bits_per_char_counts_characters_like_evaluate() -> None:
    texts = ["a" * 99, "b" * 99]
    expected = 8 * len(lzma.compress(("a" * 99 + "\n" + "b" * 99 + "\n").encode(), preset=9 | lzma.PRESET_EXTREME)) / 200
    assert compressor_bits_per_char(texts) == pytest.approx(expected)
    assert compressor_bits_per_char(invented_tweets(500)) < compressor_bits_per_char(["ab"]), "repetition compresses"
    with pytest.raises(ValueError):
        compressor_bits_per_char([])


def test_check_base_model_accepts_tiny_on_any_device() -> None:
    check = check_base_model("tiny", cuda_available=False)
    assert check.ok and check.device == "cpu" and "from scratch" in str(check)


def test_check_base_model_auto_picks_gpt2_on_a_gpu_and_tiny_on_a_cpu() -> None:
    assert check_base_model("auto", cuda_available=False).base_model == "tiny"
    on_gpu = check_base_model("auto", cuda_available=True, hub_reachable=lambda: True)
    assert on_gpu.base_model == "gpt2" and on_gpu.device == "cuda"


def test_check_base_model_refuses_a_model_it_cannot_load_and_says_what_to_do() -> None:
    check = check_base_model("no-such-org/no-such-model", cuda_available=False, hub_reachable=lambda: False)
    assert not check.ok
    assert "Cannot load the base model 'no-such-org/no-such-model'" in check.message
    assert 'BASE_MODEL = "tiny"' in check.message


def test_check_base_model_warns_that_a_pretrained_model_on_a_cpu_is_slow(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    on_cpu = check_base_model(str(tmp_path), cuda_available=False)
    assert on_cpu.ok and "no GPU" in on_cpu.message and str(tmp_path) in on_cpu.message
    on_gpu = check_base_model("some/model", cuda_available=True, hub_reachable=lambda: True)
    assert on_gpu.ok and on_gpu.device == "cuda" and "downloaded from the Hugging Face Hub" in on_gpu.message


@pytest.mark.parametrize(
    ("capability", "expected"),
    [((7, 5), "fp16"), ((7, 0), "fp16"), ((8, 0), "bf16"), ((9, 0), "bf16")],  # T4, V100, A100, H100
)
def test_auto_precision_is_bf16_only_where_the_gpu_has_it_natively(
    monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int], expected: str
) -> None:
    # A T4 "supports" bf16 by emulation (torch.cuda.is_bf16_supported() is True there): not a reason.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert resolve_precision("auto", torch.device("cuda")) == expected
    assert resolve_precision("fp32", torch.device("cuda")) == "fp32"
    with pytest.raises(TweetgenError, match="use one of auto, bf16, fp16, fp32"):
        resolve_precision("half", "cuda")


def test_fp16_steps_go_through_a_gradient_scaler_and_learn(tokenizer, tmp_path: Path) -> None:
    # CPU autocast runs float16 too, so the scaled step is exercised here as it runs on a T4.
    blocks = frame_texts(TRAIN_TEXTS, tokenizer, 64)
    model = build_tiny_model(tokenizer, **SMALL, seed=1)
    config = TrainConfig(batch_size=8, max_steps=40, learning_rate=3e-3, precision="fp16", num_threads=1, progress=False,
                         checkpoint_dir=str(tmp_path))
    result = train(model, blocks, config)
    assert result.precision == "fp16" and result.steps == 40
    assert sum(result.train_losses[-5:]) / 5 < sum(result.train_losses[:5]) / 5 - 0.5
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay float32
    scaler = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["scaler"]
    assert scaler["scale"] >= 2.0**15 and scaler["_growth_tracker"] > 0  # enabled, and steps were taken


class Disconnect(Exception):
    """What a Colab disconnect is to the training loop: it stops in the middle of a step."""


def test_a_run_cut_off_resumes_from_its_checkpoint_and_ends_as_an_uninterrupted_one(
    tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tweetgen.model.train as training

    blocks = frame_texts(TRAIN_TEXTS, tokenizer, 64)
    config = TrainConfig(batch_size=8, max_steps=12, max_seconds=None, seed=5, num_threads=1, progress=False,
                         checkpoint_dir=str(tmp_path / "checkpoint"), checkpoint_minutes=0)
    whole_model = build_tiny_model(tokenizer, **SMALL, seed=1)
    whole = train(whole_model, blocks, dataclasses.replace(config, checkpoint_dir=None))

    real_step, taken = training._step, []

    def cut_off_at_step_8(*args, **kwargs):
        if len(taken) == 7:
            raise Disconnect
        taken.append(1)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(training, "_step", cut_off_at_step_8)
    with pytest.raises(Disconnect):
        train(build_tiny_model(tokenizer, **SMALL, seed=1), blocks, config)
    monkeypatch.setattr(training, "_step", real_step)
    assert torch.load(tmp_path / "checkpoint" / "checkpoint.pt", weights_only=False)["result"]["steps"] == 7

    resumed_model = build_tiny_model(tokenizer, **SMALL, seed=2)  # a fresh start: the checkpoint has the weights
    resumed = train(resumed_model, blocks, config)
    assert (resumed.resumed_from, resumed.steps, len(resumed.train_losses)) == (7, 12, 12)
    assert resumed.train_losses == whole.train_losses  # the same batches, dropout masks and learning rates
    assert all(torch.equal(a, b) for a, b in zip(whole_model.parameters(), resumed_model.parameters(), strict=True))


def test_a_checkpoint_of_another_run_is_refused_with_one_sentence(tokenizer, tmp_path: Path) -> None:
    blocks = frame_texts(TRAIN_TEXTS, tokenizer, 64)
    config = TrainConfig(batch_size=8, max_steps=2, num_threads=1, progress=False, checkpoint_dir=str(tmp_path))
    train(build_tiny_model(tokenizer, **SMALL, seed=1), blocks, config)
    with pytest.raises(TweetgenError, match=r"was saved by a run with other settings or data; delete it"):
        train(build_tiny_model(tokenizer, **SMALL, seed=1), blocks[:-1], config)
    with pytest.raises(TweetgenError, match="other settings"):
        train(build_tiny_model(tokenizer, **SMALL, seed=1), blocks, dataclasses.replace(config, seed=9))


def test_training_stops_when_validation_stops_improving_and_keeps_the_best_weights(tokenizer) -> None:
    blocks = frame_texts(TRAIN_TEXTS, tokenizer, 64)
    model = build_tiny_model(tokenizer, **SMALL)
    scores = iter([3.0, 2.0, 2.5, 2.6, 2.7, 1.0, 1.0])  # made to rise after the second validation
    seen: list[dict[str, torch.Tensor]] = []

    def validate(m) -> float:
        seen.append({k: v.detach().clone() for k, v in m.state_dict().items()})
        return next(scores)

    config = TrainConfig(batch_size=8, max_steps=100, val_interval=5, patience=3, max_seconds=None, num_threads=1, progress=False)
    result = train(model, blocks, config, validate)
    assert (result.stopped_by, result.steps, result.best_step, result.best_val) == ("patience", 25, 10, 2.0)
    assert result.val_curve == [(5, 3.0), (10, 2.0), (15, 2.5), (20, 2.6), (25, 2.7)]
    assert len(result.train_losses) == 25  # the 1.0s to come were never reached
    weights = model.state_dict()
    assert all(torch.equal(weights[k], seen[1][k]) for k in weights)  # step 10's weights, not the last ones
    assert not all(torch.equal(weights[k], seen[-1][k]) for k in weights)


def test_a_run_without_a_stop_keeps_its_last_weights_when_they_are_the_best(tokenizer) -> None:
    blocks = frame_texts(TRAIN_TEXTS, tokenizer, 64)
    model = build_tiny_model(tokenizer, **SMALL)
    config = TrainConfig(batch_size=8, max_steps=12, val_interval=5, max_seconds=None, num_threads=1, progress=False)
    result = train(model, blocks, config, validation_scorer(tokenizer, EVAL_TEXTS[:10]))
    assert [step for step, _ in result.val_curve] == [5, 10, 12]  # and once more at the end
    assert result.stopped_by == "steps" and result.best_step == 12
    assert result.best_val == pytest.approx(evaluate(model, tokenizer, EVAL_TEXTS[:10])["eval_bits_per_char"])


def test_a_resumed_run_keeps_its_validations_and_best_weights(tokenizer, tmp_path: Path) -> None:
    blocks = frame_texts(TRAIN_TEXTS, tokenizer, 64)
    scores = [3.0, 2.0, 2.5, 2.6, 2.7]
    config = TrainConfig(batch_size=8, max_steps=100, val_interval=5, patience=3, max_seconds=None, num_threads=1,
                         progress=False, checkpoint_dir=str(tmp_path), checkpoint_minutes=0)
    first_model = build_tiny_model(tokenizer, **SMALL)
    first = train(first_model, blocks, config, lambda m, it=iter(scores): next(it))
    again_model = build_tiny_model(tokenizer, **SMALL, seed=3)
    again = train(again_model, blocks, config, lambda m: pytest.fail("a finished run is not validated again"))
    assert (again.resumed_from, again.steps, again.stopped_by, again.best_step) == (25, 25, "patience", 10)
    assert again.val_curve == first.val_curve
    assert all(torch.equal(a, b) for a, b in zip(first_model.parameters(), again_model.parameters(), strict=True))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (TrainConfig(), {"family": "lstm", "tokenizer": "byte", "hidden_size": 768, "batch_size": 32, "learning_rate": 3e-3}),
        (TrainConfig(family="gpt2"), {"family": "gpt2", "tokenizer": "bpe", "n_layer": 4, "n_embd": 256, "learning_rate": 1e-3}),
        (TrainConfig(family="gpt2", tokenizer="byte", batch_size=4), {"tokenizer": "byte", "batch_size": 4, "weight_decay": 0.1}),
        (TrainConfig(base_model="gpt2"), {"family": None, "batch_size": 16, "learning_rate": 5e-5, "n_layer": None}),
    ],
)
def test_settings_left_unset_take_the_familys_defaults(config: TrainConfig, expected: dict) -> None:
    resolved = config.resolved()
    assert {key: getattr(resolved, key) for key in expected} == expected
    assert resolved.resolved() == resolved and resolved.val_interval == 200 and resolved.max_seconds == 300.0


def test_a_family_or_tokenizer_for_a_pretrained_base_is_refused() -> None:
    with pytest.raises(TweetgenError, match="--model lstm is for a model built from scratch, but the base model is 'gpt2'"):
        TrainConfig(base_model="gpt2", family="lstm").resolved()
    with pytest.raises(TweetgenError, match="--tokenizer byte is for a model built from scratch"):
        TrainConfig(base_model="gpt2", tokenizer="byte").resolved()
    with pytest.raises(TweetgenError, match="model family is 'rnn'; use one of lstm, gpt2"):
        TrainConfig(family="rnn").resolved()


def test_tweet_blocks_pack_the_same_tweets_anew_each_epoch(tokenizer) -> None:
    texts = TRAIN_TEXTS[:50]
    blocks = TweetBlocks(texts, tokenizer, 16)
    first, second = blocks.epoch(0, seed=3), blocks.epoch(1, seed=3)
    assert torch.equal(first, blocks.epoch(0, seed=3)) and not torch.equal(first[: len(second)], second[: len(first)])
    assert first.shape[1] == 16 and len(blocks) <= min(len(first), len(second)) <= len(blocks) + 1
    framed = sum(len(tokenizer(t)["input_ids"]) + 2 for t in texts)
    assert len(blocks.tokens) == framed and framed - 2 * 16 < first.numel() <= framed  # less than a block dropped at each end
    assert sorted(first.flatten().tolist()) != sorted(blocks.tokens[: first.numel()].tolist())  # another order, not a prefix
    n_bos = int((blocks.tokens == tokenizer.bos_token_id).sum())
    assert n_bos - 2 <= int((first == tokenizer.bos_token_id).sum()) <= n_bos  # every tweet framed, all but the cut ones


def test_training_on_tweet_blocks_is_deterministic_and_learns(tokenizer) -> None:
    blocks = TweetBlocks(TRAIN_TEXTS, tokenizer, 64)
    runs = []
    for _ in range(2):
        model = build_tiny_model(tokenizer, **SMALL, seed=1)
        config = TrainConfig(batch_size=8, max_steps=30, max_seconds=None, seed=5, num_threads=1, progress=False)
        runs.append(train(model, blocks, config))
    assert runs[0].train_losses == runs[1].train_losses and runs[0].steps == 30  # 30 steps: several epochs of 5-6 batches
    assert sum(runs[0].train_losses[-5:]) / 5 < sum(runs[0].train_losses[:5]) / 5 - 1.0

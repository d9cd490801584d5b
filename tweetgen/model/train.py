"""Training a causal LM on packed blocks of tweets: a plain PyTorch loop, fast on a CPU.

The recipe is ``run_clm``'s: tweets packed into blocks, and the labels are the inputs, shifted by
one. The blocks are fixed (``tweetgen.model.data.frame_texts``) or packed anew for every epoch
(``tweetgen.model.data.TweetBlocks``, what the training pipeline uses). Evaluation and sampling live in
``tweetgen.model.evaluate`` and ``tweetgen.model.generate``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from tweetgen.config import DEFAULT_MODEL_NAME
from tweetgen.errors import TweetgenError
from tweetgen.model.build import TINY, family_of
from tweetgen.model.checkpoint import data_fingerprint, load_checkpoint, save_checkpoint
from tweetgen.model.data import TweetBlocks
from tweetgen.model.families import FAMILIES, check_family

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
DEFAULT_MAX_SECONDS = 300.0  # the default budget: about when the offline default stops improving on two cores
WARM_START_MAX_SECONDS = 60.0  # continuing the champion on the newest tweets: a short budget is enough
# Settings that change nothing in the weights a run makes; a checkpoint ignores them.
NOT_IN_FINGERPRINT = ("model_name", "eval_since", "device", "num_threads", "n_samples", "n_quality_samples", "progress",
                      "checkpoint_dir", "checkpoint_minutes", "ngram_order", "best_of")
# What a model built from scratch gets for each setting left at None, per family; and a pretrained base.
FAMILY_DEFAULTS: dict[str, dict[str, object]] = {
    "lstm": {"tokenizer": "byte", "n_layer": 1, "n_embd": 128, "hidden_size": 768, "dropout": 0.15,
             "batch_size": 32, "learning_rate": 3e-3, "weight_decay": 0.0, "ngram_order": 7},
    "gpt2": {"tokenizer": "bpe", "n_layer": 4, "n_embd": 256, "n_head": 4, "dropout": 0.1,
             "batch_size": 16, "learning_rate": 1e-3, "weight_decay": 0.1, "ngram_order": 0},
}
PRETRAINED_DEFAULTS: dict[str, object] = {"batch_size": 16, "learning_rate": 5e-5, "weight_decay": 0.1, "ngram_order": 0}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Same config and data, same model (see ``train``).

    Settings left at ``None`` take the family's value (``FAMILY_DEFAULTS``, or
    ``PRETRAINED_DEFAULTS`` for a pretrained base); ``resolved()`` fills them in.

    Attributes:
        base_model: ``tiny`` (a model and tokenizer built from the data), a local folder, or a hub id.
        family: for ``tiny``, ``lstm`` (the default) or ``gpt2``; a pretrained base is its own family.
        tokenizer: for ``tiny``, ``byte`` (the LSTM's default) or ``bpe`` (``vocab_size`` tokens,
            GPT-2's default); a pretrained base brings its own.
        hidden_size: the LSTM's state width (GPT-2 ignores it); ``n_head``: GPT-2's heads.
        learning_rate: peak rate.
        max_steps: optimizer steps. Without it: ``epochs`` passes over the training blocks, or
            with only ``max_seconds`` given, as many steps as fit in the time.
        epochs: passes over the training blocks when ``max_steps`` is not given.
        max_seconds: wall-clock budget of the loop (default ``DEFAULT_MAX_SECONDS``); training stops
            when it is spent, and the learning-rate schedule follows elapsed time as well as steps,
            so it still decays. ``None``: no budget (then give ``max_steps`` or ``epochs``).
        warmup_fraction: share of the run spent warming the learning rate up linearly.
        eval_fraction, eval_since: the eval set, the newest tweets (``split_by_time``); the champion
            rule compares models on it, and training never sees it.
        val_fraction: the validation slice, the newest share of the training tweets: training
            stops early on it and keeps its best weights. 0: no validation slice.
        val_interval: steps between validations; ``None``: 200 (and always at the end of the run).
        patience: validations in a row without a new best before training stops.
        precision: ``bf16`` (autocast; master weights stay float32), ``fp16`` (autocast with a
            gradient scaler), ``fp32``, or ``auto``: bf16 where the device computes it natively
            (a GPU of compute capability 8.0 or more, a CPU with AVX512-BF16 / AMX), fp16 on an
            older GPU (a T4 only emulates bf16), else fp32.
        device: ``auto`` (the GPU when torch sees one, else the CPU), ``cuda`` or ``cpu``.
        num_threads: torch threads while training; ``None`` means one per available core.
        n_samples: tweets the card shows; ``n_quality_samples``: tweets the sample measures
            (distinct-n, copy rate) are computed on.
        checkpoint_dir: a folder where the run saves a checkpoint every ``checkpoint_minutes``
            and at its end; a run started again with the same settings and data resumes from it
            (``None``: no checkpoints). The training pipeline deletes it once the model is registered.
        checkpoint_minutes: minutes between checkpoints (0: after every step).
        ngram_order: after training, an n-gram of this order over the training tweets is mixed
            into the model's predictions with a weight fitted on the validation slice
            (``tweetgen.model.ngram``; the LSTM over bytes only). 0: none.
        warm_start: the run continues the champion's weights (``tweetgen.pipelines.training``);
            the loop then validates the starting weights first, so a run that only makes the
            model worse keeps them.
        best_of: samples drawn per sample kept, the one the model scores best
            (``tweetgen.model.generate.best_of``); 1: plain sampling.
    """

    base_model: str = TINY
    family: str | None = None
    tokenizer: str | None = None
    model_name: str = DEFAULT_MODEL_NAME
    vocab_size: int = 4096
    n_layer: int | None = None
    n_embd: int | None = None
    n_head: int | None = None
    hidden_size: int | None = None
    block_size: int = 128
    dropout: float | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    min_lr_ratio: float = 0.1
    weight_decay: float | None = None
    warmup_fraction: float = 0.05
    grad_clip: float = 1.0
    epochs: float | None = None
    max_steps: int | None = None
    max_seconds: float | None = DEFAULT_MAX_SECONDS
    eval_fraction: float = 0.1
    eval_since: datetime | None = None
    val_fraction: float = 0.05
    val_interval: int | None = None
    patience: int = 3
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"
    num_threads: int | None = None
    n_samples: int = 3
    n_quality_samples: int = 100
    progress: bool = True
    checkpoint_dir: str | None = None
    checkpoint_minutes: float = 10.0
    ngram_order: int | None = None
    warm_start: bool = False
    best_of: int = 1

    def resolved(self) -> TrainConfig:
        """This config with every ``None`` setting replaced by its family's value.

        Raises:
            TweetgenError: an unknown family, or a family given together with a pretrained base.
        """
        if self.base_model != TINY:
            for flag, value in (("--model", self.family), ("--tokenizer", self.tokenizer)):
                if value is not None:
                    raise TweetgenError(
                        f"{flag} {value} is for a model built from scratch, but the base model is {self.base_model!r}, "
                        f"which brings its own; leave out {flag}, or use --base-model tiny."
                    )
            defaults = PRETRAINED_DEFAULTS
        else:
            family = check_family(self.family or FAMILIES[0])
            defaults = {"family": family, **FAMILY_DEFAULTS[family]}
        filled = {key: value for key, value in defaults.items() if getattr(self, key) is None}
        return dataclasses.replace(self, val_interval=self.val_interval or 200, **filled)

    @property
    def peak_learning_rate(self) -> float:
        """The learning rate the schedule peaks at (the family's default unless given)."""
        return float(self.resolved().learning_rate)


@dataclass
class TrainResult:
    """What a run did. ``train_losses`` holds one value per step (mean nats per token);
    ``val_curve`` one ``(step, bits per character)`` pair per validation, and ``best_step`` the
    step whose weights the model was left with (None: no validation, the last weights)."""

    steps: int
    seconds: float
    tokens: int
    stopped_by: str  # "steps", "time" or "patience" (validation stopped improving)
    precision: str
    resumed_from: int = 0  # the step a checkpoint resumed the run at (0: from the start)
    train_losses: list[float] = field(default_factory=list)
    val_curve: list[tuple[int, float]] = field(default_factory=list)
    best_step: int | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def final_train_loss(self) -> float:
        """Mean of the last tenth of the step losses (one step is too noisy to report)."""
        tail = self.train_losses[-max(1, len(self.train_losses) // 10):]
        return sum(tail) / len(tail) if tail else math.nan

    @property
    def best_val(self) -> float | None:
        """Held-out bits per character at ``best_step`` (None without validation)."""
        return min((bpc for _, bpc in self.val_curve), default=None)

    def validations_since_best(self) -> int:
        """How many validations came after the best one (the patience count)."""
        if self.best_step is None:
            return 0
        return sum(1 for step, _ in self.val_curve if step > self.best_step)


#: Held-out bits per character of a model (e.g. ``evaluate`` on the validation slice); lower is better.
Validate = Callable[[PreTrainedModel], float]
#: Training data: fixed blocks (n_blocks, block_size), or tweets packed anew every epoch.
Blocks = torch.Tensor | TweetBlocks


def train(model: PreTrainedModel, train_blocks: Blocks, config: TrainConfig, validate: Validate | None = None) -> TrainResult:
    """Train ``model`` in place with AdamW, warmup then cosine decay, and gradient clipping.

    ``train_blocks`` is a tensor of blocks (n_blocks, block_size), shuffled anew every epoch, or
    ``TweetBlocks``, packed anew every epoch; an epoch is ``len(train_blocks)`` blocks.

    Stops after ``config.max_steps`` steps (or ``config.epochs`` passes), when ``config.max_seconds``
    (the loop only) is spent, or when ``validate`` (held-out bits per character, checked every
    ``config.val_interval`` steps and at the end) has not improved for ``config.patience``
    validations in a row, whichever comes first; but never before one step (a run on a starved
    machine still ends with a loss to report). With ``validate`` the model is left with the
    weights of its best validation (``TrainResult.best_step``), not its last ones.

    The run is deterministic for ``config.seed`` on one machine and thread count when the time
    budget does not bind: same weights, same losses, also when it was cut off and resumed from a
    checkpoint (``config.checkpoint_dir``). The global torch RNG and thread count are restored afterwards.

    Raises:
        TweetgenError: there are no training blocks, the loss stopped being finite, or the
            checkpoint folder holds another run's checkpoint.
    """
    if len(train_blocks) == 0:
        raise TweetgenError("There is not enough training text for one block; add tweets or lower the block size.")
    if config.base_model == TINY and config.family is None:
        config = dataclasses.replace(config, family=family_of(model))  # the model's family's defaults
    config = config.resolved()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads or _available_cores())
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)  # dropout masks
            return _train_loop(model, train_blocks, config, validate)
    finally:
        torch.set_num_threads(previous_threads)


@dataclass
class _Loop:
    """What one training loop carries from step to step, and what a checkpoint saves of it."""

    model: PreTrainedModel
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    result: TrainResult
    fingerprint: dict[str, object]
    best_weights: dict[str, torch.Tensor] | None = None  # on the CPU

    def state(self, seconds: float) -> dict[str, object]:
        cuda = self.model.device.type == "cuda"
        return {
            "fingerprint": self.fingerprint,
            "model": self.model.state_dict(),
            "best_model": self.best_weights,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "result": {**dataclasses.asdict(self.result), "seconds": seconds},
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.model.device) if cuda else None,
        }

    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.best_weights = state["best_model"]
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        saved = state["result"]
        curve = [(int(step), float(bpc)) for step, bpc in saved["val_curve"]]
        self.result = TrainResult(**{**saved, "val_curve": curve, "resumed_from": saved["steps"]})
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] is not None and self.model.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.model.device)

    def validate(self, validate: Validate) -> float:
        """Score the current weights, and keep them (on the CPU) if they are the best so far."""
        bpc = validate(self.model)
        self.model.train()
        best = self.result.best_val
        self.result.val_curve.append((self.result.steps, bpc))
        if best is None or bpc < best:
            self.result.best_step = self.result.steps
            self.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        return bpc

    def keep_best(self) -> None:
        """Load the best validation's weights into the model (nothing to do if they are the last)."""
        if self.best_weights is not None and self.result.best_step != self.result.steps:
            self.model.load_state_dict(self.best_weights)


def _train_loop(model: PreTrainedModel, train_blocks: Blocks, config: TrainConfig, validate: Validate | None) -> TrainResult:
    horizon = _horizon(config, len(train_blocks))  # None: until max_seconds is spent
    model.to(resolve_device(config.device))
    loop = _start(model, train_blocks, config)
    result = loop.result
    batches = _batches(train_blocks, config.batch_size, config.seed)
    for _ in range(result.steps):  # the batches the resumed steps already took
        next(batches)
    model.train()
    start = time.perf_counter() - result.seconds
    saved_at = time.perf_counter()
    if config.warm_start and validate is not None and result.steps == 0:
        loop.validate(validate)  # the champion's own weights: kept unless training beats them
    with tqdm(total=horizon, initial=result.steps, desc="Training", unit="step", disable=not config.progress) as bar:
        for step in itertools.count(result.steps) if horizon is None else range(result.steps, horizon):
            elapsed = time.perf_counter() - start
            if config.max_seconds is not None and elapsed >= config.max_seconds and result.steps > 0:  # one step at least
                result.stopped_by = "time"
                break
            if validate is not None and result.validations_since_best() >= config.patience:
                result.stopped_by = "patience"  # held-out bits/char stopped improving
                break
            done = max(step / horizon if horizon else 0.0, elapsed / config.max_seconds if config.max_seconds else 0.0)
            for group in loop.optimizer.param_groups:
                group["lr"] = learning_rate_at(done, config)
            x = next(batches)  # (B, T) token ids; labels are the inputs
            loss = _step(model, loop.optimizer, loop.scaler, x, result.precision, config.grad_clip)
            if not math.isfinite(loss):
                raise TweetgenError(f"Training diverged at step {step} (loss {loss}); lower the learning rate.")
            result.train_losses.append(loss)
            result.steps, result.tokens = step + 1, result.tokens + x.numel()
            bar.update(1)
            if validate is not None and result.steps % config.val_interval == 0:
                loop.validate(validate)
            bar.set_postfix(_postfix(loss, result), refresh=False)
            if config.checkpoint_dir and time.perf_counter() - saved_at >= 60 * config.checkpoint_minutes:
                save_checkpoint(config.checkpoint_dir, loop.state(time.perf_counter() - start))
                saved_at = time.perf_counter()
        if validate is not None and (not result.val_curve or result.val_curve[-1][0] != result.steps):
            loop.validate(validate)  # the last weights count too
            bar.set_postfix(_postfix(result.train_losses[-1] if result.train_losses else math.nan, result), refresh=True)
    result.seconds = time.perf_counter() - start
    if config.checkpoint_dir:  # the finished run: starting it again goes straight to evaluation
        save_checkpoint(config.checkpoint_dir, loop.state(result.seconds))
    loop.keep_best()
    return result


def _postfix(loss: float, result: TrainResult) -> dict[str, str]:
    """The progress bar's figures: the step's loss, and held-out bits/char (last, best at which step)."""
    postfix = {"loss": f"{loss:.3f}"}
    if result.val_curve:
        postfix["val_bpc"] = f"{result.val_curve[-1][1]:.3f}"
        postfix["best"] = f"{result.best_val:.3f}@{result.best_step}"
    return postfix


def _start(model: PreTrainedModel, train_blocks: Blocks, config: TrainConfig) -> _Loop:
    """The optimizer and gradient scaler of a new run, or of the run a checkpoint saved."""
    precision = resolve_precision(config.precision, model.device)
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in NOT_IN_FINGERPRINT}
    loop = _Loop(
        model,
        _make_optimizer(model, config),
        torch.amp.GradScaler(model.device.type, enabled=precision == "fp16"),
        TrainResult(steps=0, seconds=0.0, tokens=0, stopped_by="steps", precision=precision),
        data_fingerprint({**settings, "precision": precision, "repacked": isinstance(train_blocks, TweetBlocks)}, _tokens(train_blocks)),
    )
    state = load_checkpoint(config.checkpoint_dir, loop.fingerprint) if config.checkpoint_dir else None
    if state is not None:
        loop.restore(state)
    return loop


def _horizon(config: TrainConfig, n_blocks: int) -> int | None:
    """Steps to train for, or None when only the time budget bounds the run."""
    if config.max_steps is not None:
        return config.max_steps
    if config.epochs is None and config.max_seconds is not None:
        return None
    return max(1, math.ceil((config.epochs or 1.0) * n_blocks / config.batch_size))


def _step(
    model: PreTrainedModel, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, x: torch.Tensor,
    precision: str, grad_clip: float,
) -> float:
    """One optimizer step on the batch ``x`` (B, T); returns the batch loss in nats per token.

    In fp16 the scaler multiplies the loss before ``backward`` so small gradients do not underflow,
    divides the gradients again before clipping, and skips a step whose gradients overflowed. In
    bf16 and fp32 it is disabled and each of its calls is the plain one.
    """
    with _autocast(precision, model.device.type):
        loss = causal_lm_loss(model, x)
    scaler.scale(loss).backward()
    if grad_clip > 0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def causal_lm_loss(model: PreTrainedModel, x: torch.Tensor) -> torch.Tensor:
    """Mean nats of predicting ``x[:, 1:]`` from the tokens before: labels are the inputs, shifted."""
    x = x.to(model.device, non_blocking=True)  # (B, T)
    logits = model(input_ids=x).logits[:, :-1]  # (B, T-1, V)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), x[:, 1:].reshape(-1))


def learning_rate_at(done: float, config: TrainConfig) -> float:
    """Linear warmup over ``warmup_fraction`` of the run, then cosine decay to ``min_lr_ratio``."""
    peak = config.peak_learning_rate
    if done < config.warmup_fraction:
        return peak * (done + 1e-3) / config.warmup_fraction
    decayed = min(1.0, (done - config.warmup_fraction) / max(1e-9, 1 - config.warmup_fraction))
    floor = peak * config.min_lr_ratio
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * decayed))


def resolve_device(device: str) -> torch.device:
    """``auto`` becomes ``cuda`` when torch sees a GPU, else ``cpu``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.split(":")[0] not in ("cuda", "cpu"):
        raise TweetgenError(f"The device is {device!r}; use auto, cuda or cpu.")
    return torch.device(device)


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """``auto`` becomes ``bf16`` where the device computes bfloat16 natively, ``fp16`` on a GPU that
    does not, else ``fp32``.

    Native bf16 needs a GPU of compute capability 8.0 or more (Ampere and later); a T4 (7.5) only
    emulates it, which ``torch.cuda.is_bf16_supported()`` counts, so the capability decides. A CPU
    has it with AVX512-BF16 or AMX.

    Raises:
        TweetgenError: ``precision`` is not one of ``PRECISIONS``.
    """
    device = torch.device(device)
    if precision not in PRECISIONS:
        raise TweetgenError(f"The precision is {precision!r}; use one of {', '.join(PRECISIONS)}.")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.get_device_capability(device) >= (8, 0) else "fp16"
    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


def _autocast(precision: str, device_type: str = "cpu") -> contextlib.AbstractContextManager:
    if precision in ("bf16", "fp16"):
        return torch.autocast(device_type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return contextlib.nullcontext()


def _make_optimizer(model: PreTrainedModel, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only: biases, LayerNorms gain nothing from decay (nanoGPT)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.peak_learning_rate, betas=(0.9, 0.95))


def _batches(train_blocks: Blocks, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless batches (B, T): every epoch's blocks in a seeded random order; batches cross epochs."""
    generator = torch.Generator().manual_seed(seed)
    pending = None
    for epoch in itertools.count():
        blocks = train_blocks.epoch(epoch, seed) if isinstance(train_blocks, TweetBlocks) else train_blocks
        shuffled = blocks[torch.randperm(len(blocks), generator=generator)]
        pending = shuffled if pending is None else torch.cat([pending, shuffled])
        while len(pending) >= batch_size:
            yield pending[:batch_size]
            pending = pending[batch_size:]


def _tokens(train_blocks: Blocks) -> torch.Tensor:
    """What the training data is made of, for the checkpoint's fingerprint."""
    return train_blocks.tokens if isinstance(train_blocks, TweetBlocks) else train_blocks


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)

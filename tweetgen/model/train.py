"""Training a causal LM on packed blocks of tweets: a plain PyTorch loop, fast on a CPU.

The recipe is ``run_clm``'s: tweets packed into blocks (``tweetgen.model.data.frame_texts``), and
the labels are the inputs, shifted by one. Evaluation and sampling live in
``tweetgen.model.evaluate`` and ``tweetgen.model.generate``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from tweetgen.errors import TweetgenError
from tweetgen.model.build import TINY
from tweetgen.model.checkpoint import data_fingerprint, load_checkpoint, save_checkpoint

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
# Settings that change nothing in the weights a run makes; a checkpoint ignores them.
NOT_IN_FINGERPRINT = ("model_name", "eval_since", "eval_interval", "device", "num_threads", "n_samples", "progress",
                      "checkpoint_dir", "checkpoint_minutes")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Same config and data, same model (see ``train``).

    Attributes:
        base_model: ``tiny`` (tokenizer and GPT-2 built from the data), a local folder, or a hub id.
        learning_rate: peak rate; ``None`` picks 1e-3 for ``tiny`` and 5e-5 for a pretrained model.
        max_steps: optimizer steps. Without it: ``epochs`` passes over the training blocks, or
            with only ``max_seconds`` given, as many steps as fit in the time.
        epochs: passes over the training blocks when ``max_steps`` is not given (default 1).
        max_seconds: wall-clock budget of the loop; training stops when it is spent, and the
            learning-rate schedule follows elapsed time as well as steps, so it still decays.
        warmup_fraction: share of the run spent warming the learning rate up linearly.
        precision: ``bf16`` (autocast; master weights stay float32), ``fp16`` (autocast with a
            gradient scaler), ``fp32``, or ``auto``: bf16 where the device computes it natively
            (a GPU of compute capability 8.0 or more, a CPU with AVX512-BF16 / AMX), fp16 on an
            older GPU (a T4 only emulates bf16), else fp32.
        device: ``auto`` (the GPU when torch sees one, else the CPU), ``cuda`` or ``cpu``.
        num_threads: torch threads while training; ``None`` means one per available core.
        eval_interval: steps between evaluations on the eval blocks; 0 evaluates only at the end.
        checkpoint_dir: a folder where the run saves a checkpoint every ``checkpoint_minutes``
            and at its end; a run started again with the same settings and data resumes from it
            (``None``: no checkpoints). The training pipeline deletes it once the model is registered.
        checkpoint_minutes: minutes between checkpoints (0: after every step).
    """

    base_model: str = TINY
    model_name: str = "tweet_gpt2"
    vocab_size: int = 4096
    n_layer: int = 4
    n_embd: int = 256
    n_head: int = 4
    block_size: int = 128
    dropout: float = 0.1
    batch_size: int = 16
    learning_rate: float | None = None
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    warmup_fraction: float = 0.05
    grad_clip: float = 1.0
    epochs: float | None = None
    max_steps: int | None = None
    max_seconds: float | None = None
    eval_fraction: float = 0.1
    eval_since: datetime | None = None
    eval_interval: int = 0
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"
    num_threads: int | None = None
    n_samples: int = 3
    progress: bool = True
    checkpoint_dir: str | None = None
    checkpoint_minutes: float = 10.0

    @property
    def peak_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1e-3 if self.base_model == TINY else 5e-5


@dataclass
class TrainResult:
    """What a run did. ``train_losses`` holds one value per step (mean nats per token)."""

    steps: int
    seconds: float
    tokens: int
    stopped_by: str  # "steps" or "time"
    precision: str
    resumed_from: int = 0  # the step a checkpoint resumed the run at (0: from the start)
    train_losses: list[float] = field(default_factory=list)
    eval_losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) pairs

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def final_train_loss(self) -> float:
        """Mean of the last tenth of the step losses (one step is too noisy to report)."""
        tail = self.train_losses[-max(1, len(self.train_losses) // 10):]
        return sum(tail) / len(tail) if tail else math.nan


def train(model: PreTrainedModel, train_blocks: torch.Tensor, eval_blocks: torch.Tensor, config: TrainConfig) -> TrainResult:
    """Train ``model`` in place with AdamW, warmup then cosine decay, and gradient clipping.

    Stops after ``config.max_steps`` steps (or ``config.epochs`` passes) or when
    ``config.max_seconds`` (the loop only) is spent, whichever comes first. With no time budget
    the run is deterministic for ``config.seed`` on one machine and thread count: same weights,
    same losses, also when it was cut off and resumed from a checkpoint (``config.checkpoint_dir``).
    The global torch RNG and thread count are restored afterwards.

    Raises:
        TweetgenError: there are no training blocks, the loss stopped being finite, or the
            checkpoint folder holds another run's checkpoint.
    """
    if len(train_blocks) == 0:
        raise TweetgenError("There is not enough training text for one block; add tweets or lower the block size.")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads or _available_cores())
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)  # dropout masks
            return _train_loop(model, train_blocks, eval_blocks, config)
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

    def state(self, seconds: float) -> dict[str, object]:
        cuda = self.model.device.type == "cuda"
        return {
            "fingerprint": self.fingerprint,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "result": {**dataclasses.asdict(self.result), "seconds": seconds},
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.model.device) if cuda else None,
        }

    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.result = TrainResult(**{**state["result"], "resumed_from": state["result"]["steps"]})
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] is not None and self.model.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.model.device)


def _train_loop(model: PreTrainedModel, train_blocks: torch.Tensor, eval_blocks: torch.Tensor, config: TrainConfig) -> TrainResult:
    horizon = _horizon(config, len(train_blocks))  # None: until max_seconds is spent
    model.to(resolve_device(config.device))
    loop = _start(model, train_blocks, config)
    result = loop.result
    batches = _batches(len(train_blocks), config.batch_size, config.seed)
    for _ in range(result.steps):  # the batches the resumed steps already took
        next(batches)
    model.train()
    start = time.perf_counter() - result.seconds
    saved_at = time.perf_counter()
    with tqdm(total=horizon, initial=result.steps, desc="Training", unit="step", disable=not config.progress) as bar:
        for step in itertools.count(result.steps) if horizon is None else range(result.steps, horizon):
            elapsed = time.perf_counter() - start
            if config.max_seconds is not None and elapsed >= config.max_seconds:
                result.stopped_by = "time"
                break
            done = max(step / horizon if horizon else 0.0, elapsed / config.max_seconds if config.max_seconds else 0.0)
            for group in loop.optimizer.param_groups:
                group["lr"] = learning_rate_at(done, config)
            x = train_blocks[next(batches)]  # (B, T) token ids; labels are the inputs
            loss = _step(model, loop.optimizer, loop.scaler, x, result.precision, config.grad_clip)
            if not math.isfinite(loss):
                raise TweetgenError(f"Training diverged at step {step} (loss {loss}); lower the learning rate.")
            result.train_losses.append(loss)
            result.steps, result.tokens = step + 1, result.tokens + x.numel()
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if config.eval_interval and (step + 1) % config.eval_interval == 0 and step + 1 != horizon:
                result.eval_losses.append((step + 1, block_loss(model, eval_blocks, config.batch_size)))
            if config.checkpoint_dir and time.perf_counter() - saved_at >= 60 * config.checkpoint_minutes:
                save_checkpoint(config.checkpoint_dir, loop.state(time.perf_counter() - start))
                saved_at = time.perf_counter()
    result.seconds = time.perf_counter() - start
    if config.checkpoint_dir:  # the finished run: starting it again goes straight to evaluation
        save_checkpoint(config.checkpoint_dir, loop.state(result.seconds))
    if len(eval_blocks):
        result.eval_losses.append((result.steps, block_loss(model, eval_blocks, config.batch_size)))
    return result


def _start(model: PreTrainedModel, train_blocks: torch.Tensor, config: TrainConfig) -> _Loop:
    """The optimizer and gradient scaler of a new run, or of the run a checkpoint saved."""
    precision = resolve_precision(config.precision, model.device)
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in NOT_IN_FINGERPRINT}
    loop = _Loop(
        model,
        _make_optimizer(model, config),
        torch.amp.GradScaler(model.device.type, enabled=precision == "fp16"),
        TrainResult(steps=0, seconds=0.0, tokens=0, stopped_by="steps", precision=precision),
        data_fingerprint({**settings, "precision": precision}, train_blocks),
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


@torch.inference_mode()
def block_loss(model: PreTrainedModel, blocks: torch.Tensor, batch_size: int) -> float:
    """Mean loss per predicted token over packed ``blocks`` (float32, dropout off)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(blocks), batch_size):
        x = blocks[start : start + batch_size]  # (B, T)
        total += causal_lm_loss(model, x).item() * x[:, 1:].numel()
        count += x[:, 1:].numel()
    model.train(was_training)
    return total / count if count else math.nan


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


def _batches(n_blocks: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless batches of block indices: one seeded permutation per epoch, batches cross epochs."""
    generator = torch.Generator().manual_seed(seed)
    pending = torch.empty(0, dtype=torch.long)
    while True:
        while len(pending) < batch_size:
            pending = torch.cat([pending, torch.randperm(n_blocks, generator=generator)])
        yield pending[:batch_size]
        pending = pending[batch_size:]


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)

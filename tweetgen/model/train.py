"""Training a causal LM on packed blocks of tweets: a plain PyTorch loop, fast on a CPU.

The recipe is ``run_clm``'s: tweets packed into blocks (``tweetgen.model.data.frame_texts``), and
the labels are the inputs, shifted by one. Evaluation and sampling live in
``tweetgen.model.evaluate`` and ``tweetgen.model.generate``.
"""

from __future__ import annotations

import contextlib
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
        precision: ``bf16`` (autocast; master weights stay float32), ``fp32``, or ``auto``
            (bf16 where the device computes it natively).
        device: ``auto`` (the GPU when torch sees one, else the CPU), ``cuda`` or ``cpu``.
        num_threads: torch threads while training; ``None`` means one per available core.
        eval_interval: steps between evaluations on the eval blocks; 0 evaluates only at the end.
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
    same losses. The global torch RNG and thread count are restored afterwards.

    Raises:
        TweetgenError: there are no training blocks, or the loss stopped being finite.
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


def _train_loop(model: PreTrainedModel, train_blocks: torch.Tensor, eval_blocks: torch.Tensor, config: TrainConfig) -> TrainResult:
    horizon = _horizon(config, len(train_blocks))  # None: until max_seconds is spent
    model.to(resolve_device(config.device))
    precision = resolve_precision(config.precision, model.device.type)
    optimizer = _make_optimizer(model, config)
    batches = _batches(len(train_blocks), config.batch_size, config.seed)
    result = TrainResult(steps=0, seconds=0.0, tokens=0, stopped_by="steps", precision=precision)
    model.train()
    start = time.perf_counter()
    with tqdm(total=horizon, desc="Training", unit="step", disable=not config.progress) as bar:
        for step in itertools.count() if horizon is None else range(horizon):
            elapsed = time.perf_counter() - start
            if config.max_seconds is not None and elapsed >= config.max_seconds:
                result.stopped_by = "time"
                break
            done = max(step / horizon if horizon else 0.0, elapsed / config.max_seconds if config.max_seconds else 0.0)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate_at(done, config)
            x = train_blocks[next(batches)]  # (B, T) token ids; labels are the inputs
            loss = _step(model, optimizer, x, precision, config.grad_clip)
            if not math.isfinite(loss):
                raise TweetgenError(f"Training diverged at step {step} (loss {loss}); lower the learning rate.")
            result.train_losses.append(loss)
            result.steps, result.tokens = step + 1, result.tokens + x.numel()
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if config.eval_interval and (step + 1) % config.eval_interval == 0 and step + 1 != horizon:
                result.eval_losses.append((step + 1, block_loss(model, eval_blocks, config.batch_size)))
    result.seconds = time.perf_counter() - start
    if len(eval_blocks):
        result.eval_losses.append((result.steps, block_loss(model, eval_blocks, config.batch_size)))
    return result


def _horizon(config: TrainConfig, n_blocks: int) -> int | None:
    """Steps to train for, or None when only the time budget bounds the run."""
    if config.max_steps is not None:
        return config.max_steps
    if config.epochs is None and config.max_seconds is not None:
        return None
    return max(1, math.ceil((config.epochs or 1.0) * n_blocks / config.batch_size))


def _step(model: PreTrainedModel, optimizer: torch.optim.Optimizer, x: torch.Tensor, precision: str, grad_clip: float) -> float:
    """One optimizer step on the batch ``x`` (B, T); returns the batch loss in nats per token."""
    with _autocast(precision, model.device.type):
        loss = causal_lm_loss(model, x)
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
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


def resolve_precision(precision: str, device_type: str = "cpu") -> str:
    """``auto`` becomes ``bf16`` where the device computes bfloat16 natively (a recent GPU, or a
    CPU with AVX512-BF16 / AMX), else ``fp32``."""
    if precision == "auto":
        if device_type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    if precision not in ("bf16", "fp32"):
        raise TweetgenError(f"The precision is {precision!r}; use auto, bf16 or fp32.")
    return precision


def _autocast(precision: str, device_type: str = "cpu") -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
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

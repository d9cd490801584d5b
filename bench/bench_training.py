"""Training throughput on CPU: tweetgen's loop against a default ``transformers.Trainer``.

    python bench/bench_training.py --quick     # about a minute: 15 steps per row
    python bench/bench_training.py             # 100 steps per row

Every row trains the same 4.24M-parameter GPT-2 (4 layers, 256 wide, 4,096-token BPE, block 128)
on the same packed blocks of the project's invented corpus, in a fresh process so that its peak
memory (max RSS) is its own. Tokens/s counts tokens in the batches over the wall time of the
training call (optimizer, clipping and scheduling included). The Trainer row uses
``TrainingArguments`` defaults (only ``output_dir``, ``use_cpu`` and ``max_steps`` set), so its
batch is the default 8. Other processes on the machine make the figures noisy: compare rows of
one run, not runs.

    python bench/bench_training.py --gpu       # GPT-2 124M on one CUDA GPU, four rows

``--gpu`` trains GPT-2 124M (``GPT2Config()`` defaults, random init) on random token ids of its
50,257-token vocabulary, packed full-length blocks of 1,024, batch 16 (halved until it fits), for
``--steps`` timed steps after warm-up steps (``torch.compile`` compiles during those; their
seconds are shown apart). Rows: fp32 with eager attention; low-precision autocast (bf16, or fp16
with a gradient scaler where the GPU has no bf16) with SDPA attention; and that plus
``torch.compile``. All use the same step: ``tweetgen.model.train.causal_lm_loss``, gradient clipping
and fused AdamW. MFU (model FLOPs utilisation) = 6 x parameters x tokens/s / the GPU's peak dense
bf16 (fp16 on a T4) FLOPs; 6N leaves out attention's own FLOPs (about 15% more at 1,024 tokens),
so it is a slight underestimate. A fourth row runs the project's own loop
(``tweetgen.model.train.train``, ``device="cuda"``, ``precision="auto"``) on the same model and data:
its step also reads the loss back every step and schedules the learning rate.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROWS = {
    "tweetgen loop, bf16 autocast": {"impl": "tweetgen", "precision": "bf16"},
    "tweetgen loop, fp32": {"impl": "tweetgen", "precision": "fp32"},
    "Trainer, defaults (batch 8)": {"impl": "trainer", "batch_size": None},
    "Trainer, batch 16": {"impl": "trainer", "batch_size": 16},
}


def make_data(n_tweets: int, block_size: int):
    """Tokenizer and packed blocks of the invented corpus (cleaned as the feature pipeline does)."""
    from tweetgen.features import clean_tweet
    from tweetgen.model.build import train_tokenizer
    from tweetgen.model.data import frame_texts
    from tweetgen.sources.corpus import generate_corpus

    texts = [t for t in (clean_tweet(x) for x in generate_corpus(n_tweets=n_tweets, seed=3)["text"]) if t.strip()]
    tokenizer = train_tokenizer(texts, vocab_size=4096)
    return tokenizer, frame_texts(texts, tokenizer, block_size)


def run_tweetgen(model, blocks, steps: int, batch_size: int, precision: str) -> tuple[float, float, int]:
    from tweetgen.model.train import TrainConfig, train

    config = TrainConfig(batch_size=batch_size, max_steps=steps, max_seconds=None, precision=precision, progress=False)
    result = train(model, blocks, config)
    return result.seconds, result.final_train_loss, batch_size


def run_trainer(model, blocks, steps: int, batch_size: int | None) -> tuple[float, float, int]:
    from transformers import Trainer, TrainingArguments

    class Blocks:  # a map-style dataset: Trainer's default collator stacks the dicts
        def __len__(self) -> int:
            return len(blocks)

        def __getitem__(self, i: int) -> dict:
            return {"input_ids": blocks[i], "labels": blocks[i]}

    with tempfile.TemporaryDirectory() as output_dir:
        extra = {} if batch_size is None else {"per_device_train_batch_size": batch_size}
        args = TrainingArguments(output_dir=output_dir, use_cpu=True, max_steps=steps, **extra)
        trainer = Trainer(model=model, args=args, train_dataset=Blocks())
        start = time.perf_counter()
        output = trainer.train()
        seconds = time.perf_counter() - start
    return seconds, output.training_loss, args.per_device_train_batch_size


def worker(row: str, steps: int, n_tweets: int) -> None:
    """Train one row and print its figures as JSON (run in a child process)."""
    from tweetgen.model.build import build_tiny_model, count_parameters

    tokenizer, blocks = make_data(n_tweets, 128)
    model = build_tiny_model(tokenizer)
    model.resize_token_embeddings(4096, mean_resizing=False)  # the invented corpus yields fewer merges than real tweets: use the full size
    spec = ROWS[row]
    if spec["impl"] == "tweetgen":
        seconds, loss, batch = run_tweetgen(model, blocks, steps, 16, spec["precision"])
    else:
        seconds, loss, batch = run_trainer(model, blocks, steps, spec["batch_size"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({
        "row": row, "batch": batch, "steps": steps, "seconds": seconds, "tokens_per_s": steps * batch * 128 / seconds,
        "loss": loss, "peak_rss_mb": peak_mb, "parameters": count_parameters(model), "blocks": len(blocks),
    }))


GPU_ROWS = {
    "fp32, eager attention": {"autocast": False, "attn": "eager", "compile": False},
    "autocast + SDPA": {"autocast": True, "attn": "sdpa", "compile": False},
    "autocast + SDPA + torch.compile": {"autocast": True, "attn": "sdpa", "compile": True},
    "tweetgen train(), SDPA": {"loop": True},
}
# Peak dense tensor-core FLOP/s (bf16; the T4 has only fp16), matched on torch.cuda.get_device_name().
PEAK_FLOPS = [("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("A100", 312e12), ("L4", 121e12), ("T4", 65e12)]
GPU_BLOCK = 1024
GPU_WARMUP_STEPS = 5


def peak_flops(device_name: str) -> float | None:
    """The GPU's peak dense bf16 FLOP/s from ``PEAK_FLOPS``, or None for a GPU not in the table."""
    return next((flops for key, flops in PEAK_FLOPS if key in device_name), None)


def gpu_worker(row: str, steps: int, batch: int) -> None:
    """Measure one GPU row, halving the batch until it fits; print its figures as JSON."""
    import gc

    import torch

    while batch >= 1:
        try:
            spec = GPU_ROWS[row]
            figures = loop_measure(steps, batch) if spec.get("loop") else gpu_measure(spec, steps, batch)
            break
        except torch.cuda.OutOfMemoryError:
            pass
        gc.collect()  # outside the except block: the traceback no longer holds the model
        torch.cuda.empty_cache()
        torch._dynamo.reset()
        batch //= 2
    else:
        sys.exit(f"{row} does not fit in GPU memory even at batch 1.")
    print(json.dumps({"row": row, **figures}))


def gpu_measure(spec: dict, steps: int, batch: int) -> dict:
    """Train GPT-2 124M for warm-up then ``steps`` timed steps on random ids; tokens/s and peak memory."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tweetgen.model.build import count_parameters
    from tweetgen.model.train import causal_lm_loss

    torch.manual_seed(0)
    torch.cuda.reset_peak_memory_stats()
    config = GPT2Config()
    model = GPT2LMHeadModel._from_config(config, attn_implementation=spec["attn"]).cuda().train()
    parameters = count_parameters(model)
    forward = torch.compile(model) if spec["compile"] else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=spec["autocast"] and dtype == torch.float16)

    def step() -> None:
        x = torch.randint(0, config.vocab_size, (batch, GPU_BLOCK), device="cuda")  # (B, T) packed, no padding
        with torch.autocast("cuda", dtype=dtype, enabled=spec["autocast"]):
            loss = causal_lm_loss(forward, x)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    warmup_seconds = _timed(step, GPU_WARMUP_STEPS)
    seconds = _timed(step, steps)
    return {
        "batch": batch, "steps": steps, "seconds": seconds, "warmup_seconds": warmup_seconds,
        "tokens_per_s": steps * batch * GPU_BLOCK / seconds, "parameters": parameters,
        "dtype": str(dtype).removeprefix("torch.") if spec["autocast"] else "float32",
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20, "device": torch.cuda.get_device_name(),
    }


def loop_measure(steps: int, batch: int) -> dict:
    """The same model and data through ``tweetgen.model.train.train`` on the GPU (warm-up run, then timed run)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tweetgen.model.build import count_parameters
    from tweetgen.model.train import TrainConfig, train

    torch.manual_seed(0)
    torch.cuda.reset_peak_memory_stats()
    config = GPT2Config()
    model = GPT2LMHeadModel._from_config(config, attn_implementation="sdpa")
    blocks = torch.randint(0, config.vocab_size, (8 * batch, GPU_BLOCK))  # on the CPU: train moves each batch
    runs = [
        train(model, blocks, TrainConfig(batch_size=batch, max_steps=n, max_seconds=None, device="cuda", progress=False))
        for n in (GPU_WARMUP_STEPS, steps)
    ]
    return {
        "batch": batch, "steps": steps, "seconds": runs[1].seconds, "warmup_seconds": runs[0].seconds,
        "tokens_per_s": runs[1].tokens_per_second, "parameters": count_parameters(model),
        "dtype": {"bf16": "bfloat16", "fp32": "float32"}[runs[1].precision],
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20, "device": torch.cuda.get_device_name(),
    }


def _timed(step, n: int) -> float:
    """Seconds for ``n`` calls of ``step``, waiting for the GPU to finish before and after."""
    import torch

    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n):
        step()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def run_gpu(steps: int, batch: int) -> None:
    """All GPU rows, each in a fresh process; a row that fails is reported and the others still run."""
    import torch

    if not torch.cuda.is_available():
        sys.exit("No CUDA device; run this on a GPU machine.")
    results = []
    for row in GPU_ROWS:
        command = [sys.executable, __file__, "--gpu", "--worker", row, "--steps", str(steps), "--batch-size", str(batch)]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=_env())
        if done.returncode != 0:
            print(f"{row} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
            continue
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"done: {row}", file=sys.stderr)
    if results:
        print_gpu_table(results)


def print_gpu_table(results: list[dict]) -> None:
    first = results[0]
    peak = peak_flops(first["device"])
    print(f"\n{first['device']}: GPT-2 {first['parameters'] / 1e6:.0f}M, block {GPU_BLOCK}, {first['steps']} timed steps per row")
    print("peak dense FLOP/s: " + (f"{peak / 1e12:.0f}e12" if peak else "not in the table, MFU not shown") + "\n")
    print(f"{'configuration':34} {'dtype':>9} {'batch':>5} {'tokens/s':>9} {'MFU':>6} {'warm-up s':>9} {'peak GPU MB':>12}")
    for r in results:
        mfu = f"{6 * r['parameters'] * r['tokens_per_s'] / peak:.1%}" if peak else "-"
        print(f"{r['row']:34} {r['dtype']:>9} {r['batch']:>5} {r['tokens_per_s']:>9,.0f} {mfu:>6} {r['warmup_seconds']:>9.1f} {r['peak_gpu_mb']:>12,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="15 steps per row and a smaller corpus")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--tweets", type=int, default=None, help="invented tweets to train on")
    parser.add_argument("--gpu", action="store_true", help="GPT-2 124M on a CUDA GPU (see above)")
    parser.add_argument("--batch-size", type=int, default=16, help="--gpu: the batch to start from")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gpu:
        gpu_steps = args.steps or (10 if args.quick else 30)
        if args.worker:
            gpu_worker(args.worker, gpu_steps, args.batch_size)
        else:
            run_gpu(gpu_steps, args.batch_size)
        return
    steps = args.steps or (15 if args.quick else 100)
    n_tweets = args.tweets or (3000 if args.quick else 10000)
    if args.worker:
        worker(args.worker, steps, n_tweets)
        return
    results = []
    for row in ROWS:
        command = [sys.executable, __file__, "--worker", row, "--steps", str(steps), "--tweets", str(n_tweets)]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=_env())
        if done.returncode != 0:
            sys.exit(f"{row} failed:\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"done: {row}", file=sys.stderr)
    print_table(results)


def print_table(results: list[dict]) -> None:
    first = results[0]
    print(f"\n{first['parameters']:,} parameters, block 128, {first['blocks']} blocks, {first['steps']} steps per row\n")
    print(f"{'implementation':32} {'batch':>5} {'tokens/s':>9} {'seconds':>8} {'loss':>6} {'peak RSS MB':>12}")
    for r in results:
        print(f"{r['row']:32} {r['batch']:>5} {r['tokens_per_s']:>9,.0f} {r['seconds']:>8.1f} {r['loss']:>6.2f} {r['peak_rss_mb']:>12,.0f}")


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


if __name__ == "__main__":
    main()

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
    from tweetgen.corpus import generate_corpus
    from tweetgen.features import clean_tweet
    from tweetgen.modeling import train_tokenizer
    from tweetgen.training import frame_texts

    texts = [t for t in (clean_tweet(x) for x in generate_corpus(n_tweets=n_tweets, seed=3)["text"]) if t.strip()]
    tokenizer = train_tokenizer(texts, vocab_size=4096)
    return tokenizer, frame_texts(texts, tokenizer, block_size)


def run_tweetgen(model, blocks, steps: int, batch_size: int, precision: str) -> tuple[float, float, int]:
    from tweetgen.training import TrainConfig, train

    config = TrainConfig(batch_size=batch_size, max_steps=steps, precision=precision, progress=False)
    result = train(model, blocks, blocks[:0], config)
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
    from tweetgen.modeling import build_tiny_model, count_parameters

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="15 steps per row and a smaller corpus")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--tweets", type=int, default=None, help="invented tweets to train on")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
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

"""Held-out quality on the real Kaggle tweets: the tiny GPT-2 against a PPMd order-8 compressor.

    python bench/bench_quality.py                                    # about 4 minutes on 2 cores
    python bench/bench_quality.py --budget-seconds 600 --n-layer 6 --n-embd 384
    python bench/bench_quality.py --path ~/Downloads/elon-musk-tweets

The Kaggle year files are cleaned as the feature pipeline does (duplicate ids dropped,
``clean_text``, empty texts left out) and split by time: tweets before 2021-10-01 (UTC) train,
the later ones are scored. Both rows report bits per character as ``tweetgen.model.evaluate`` defines
it: total bits, end of each tweet included, over ``sum(len(text) + 1)``.

- PPMd: order 8, 256 MB of model memory, primed with the training text. The eval text's cost is
  its marginal size: ``size(train + eval) - size(train)``, each tweet followed by ``"\\n"`` (the
  newline plays the part of the end token). Its time is both compressions.
- GPT-2: the project's tokenizer (trained on the training tweets only) and tiny model, trained by
  ``tweetgen.training.train`` for ``--budget-seconds`` of wall time, scored by ``evaluate``.

Each row runs in a fresh process so that its peak memory (max RSS) is its own. Other processes on
the machine make times and tokens/s noisy; bits/char of a time-bounded run moves with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_KAGGLE = REPO.parent / "shared" / "data" / "kaggle-elon-musk-tweets"
EVAL_SINCE = datetime(2021, 10, 1, tzinfo=UTC)
PPMD_ORDER = 8
PPMD_MEMORY = 256 << 20


def load_texts(path: Path) -> tuple[list[str], list[str]]:
    """Training and eval ``clean_text`` of the Kaggle files, split at ``EVAL_SINCE``."""
    from tweetgen.features import build_tweet_features, drop_duplicate_tweets
    from tweetgen.model.data import split_by_time
    from tweetgen.sources.kaggle import load_kaggle

    raw, _ = drop_duplicate_tweets(load_kaggle(path).frame)
    frame = build_tweet_features(raw, source="history", ingested_at=datetime.now(UTC))
    frame = frame[frame["clean_text"].str.strip() != ""]
    train_frame, eval_frame = split_by_time(frame, eval_since=EVAL_SINCE)
    return train_frame["clean_text"].tolist(), eval_frame["clean_text"].tolist()


def ppmd_size(text: str) -> int:
    """Bytes of ``text`` (UTF-8) compressed by PPMd variant H (Ppmd8), order 8."""
    import pyppmd

    encoder = pyppmd.Ppmd8Encoder(PPMD_ORDER, PPMD_MEMORY, pyppmd.PPMD8_RESTORE_METHOD_CUT_OFF)
    return len(encoder.encode(text.encode("utf-8")) + encoder.flush())


def run_ppmd(train_texts: list[str], eval_texts: list[str]) -> dict:
    """The eval text's marginal compressed size after the training text, in bits per character."""
    train_stream = "".join(text + "\n" for text in train_texts)
    eval_stream = "".join(text + "\n" for text in eval_texts)
    start = time.perf_counter()
    marginal_bytes = ppmd_size(train_stream + eval_stream) - ppmd_size(train_stream)
    seconds = time.perf_counter() - start
    chars = sum(len(text) + 1 for text in eval_texts)
    return {"method": f"PPMd order {PPMD_ORDER}, primed", "bits_per_char": marginal_bytes * 8 / chars, "seconds": seconds}


def run_model(train_texts: list[str], eval_texts: list[str], args: argparse.Namespace) -> dict:
    """Tokenizer + tiny GPT-2 trained within the budget, scored with the project's ``evaluate``."""
    from tweetgen.model.build import count_parameters
    from tweetgen.model.data import frame_texts
    from tweetgen.model.evaluate import evaluate
    from tweetgen.model.train import TrainConfig, train
    from tweetgen.pipelines.training import prepare_model

    config = TrainConfig(
        vocab_size=args.vocab_size, n_layer=args.n_layer, n_embd=args.n_embd, n_head=max(1, args.n_embd // 64),
        block_size=args.block_size, max_seconds=args.budget_seconds, max_steps=args.max_steps,
        learning_rate=args.learning_rate, **({} if args.dropout is None else {"dropout": args.dropout}),
    )
    model, tokenizer = prepare_model(config, train_texts)
    blocks = frame_texts(train_texts, tokenizer, config.block_size)
    result = train(model, blocks, blocks[:0], config)
    metrics = evaluate(model, tokenizer, eval_texts)
    return {
        "method": f"GPT-2 {args.n_layer}x{args.n_embd}, vocab {args.vocab_size}, {result.precision}",
        "bits_per_char": metrics["eval_bits_per_char"], "seconds": result.seconds,
        "tokens_per_s": result.tokens_per_second, "parameters": count_parameters(model),
        "steps": result.steps, "epochs": result.tokens / blocks.numel(), "train_loss": result.final_train_loss,
    }


def worker(row: str, args: argparse.Namespace) -> None:
    """Compute one row and print it as JSON on the last line of stdout (run in a child process)."""
    from tweetgen.model.evaluate import eval_set_id

    train_texts, eval_texts = load_texts(args.path)
    figures = run_ppmd(train_texts, eval_texts) if row == "ppmd" else run_model(train_texts, eval_texts, args)
    figures |= {
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "n_train": len(train_texts), "n_eval": len(eval_texts),
        "eval_chars": sum(len(text) + 1 for text in eval_texts), "eval_set_id": eval_set_id(eval_texts),
    }
    print(json.dumps(figures))


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args.worker, args)
        return
    if not args.path.is_dir():
        sys.exit(f"{args.path} is not a folder; pass the folder holding the Kaggle year files with --path.")
    results = [run_child(row, args) for row in ("ppmd", "model")]
    print_table(results)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", type=Path, default=DEFAULT_KAGGLE, help="folder of the Kaggle year files")
    parser.add_argument("--budget-seconds", type=float, default=180.0, help="wall time of the training loop")
    parser.add_argument("--max-steps", type=int, default=None, help="also stop after this many steps (16 blocks each)")
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=256, help="width; heads are 64 wide")
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--block-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=None, help="peak learning rate (default: the pipeline's)")
    parser.add_argument("--dropout", type=float, default=None, help="dropout (default: the pipeline's)")
    parser.add_argument("--worker", choices=["ppmd", "model"], help=argparse.SUPPRESS)
    return parser.parse_args()


def run_child(row: str, args: argparse.Namespace) -> dict:
    """Run one row in a fresh process; its progress bar passes through on stderr."""
    command = [
        sys.executable, __file__, "--worker", row, "--path", str(args.path), "--budget-seconds", str(args.budget_seconds),
        "--n-layer", str(args.n_layer), "--n-embd", str(args.n_embd), "--vocab-size", str(args.vocab_size),
        "--block-size", str(args.block_size), *(["--max-steps", str(args.max_steps)] if args.max_steps else []),
        *(["--learning-rate", str(args.learning_rate)] if args.learning_rate else []),
        *(["--dropout", str(args.dropout)] if args.dropout is not None else []),
    ]
    print(f"{row}: running", file=sys.stderr)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"The {row} row failed (its error is above).")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(results: list[dict]) -> None:
    first = results[0]
    print(
        f"\nKaggle tweets: {first['n_train']:,} train (before {EVAL_SINCE:%Y-%m-%d}), {first['n_eval']:,} eval, "
        f"{first['eval_chars']:,} eval characters, eval set {first['eval_set_id']}\n"
    )
    print(f"{'method':40} {'bits/char':>9} {'train s':>8} {'tokens/s':>9} {'peak RSS MB':>12} {'parameters':>11}")
    for r in results:
        tokens = f"{r['tokens_per_s']:,.0f}" if "tokens_per_s" in r else "-"
        params = f"{r['parameters']:,}" if "parameters" in r else "-"
        print(f"{r['method']:40} {r['bits_per_char']:>9.3f} {r['seconds']:>8.1f} {tokens:>9} {r['peak_rss_mb']:>12,.0f} {params:>11}")
    model = results[-1]
    print(f"\nGPT-2: {model['steps']:,} steps, {model['epochs']:.1f} epochs, final train loss {model['train_loss']:.3f} nats/token.")
    gap = model["bits_per_char"] - first["bits_per_char"]
    verdict = f"beats PPMd by {-gap:.3f}" if gap < 0 else f"is {gap:.3f} behind PPMd"
    print(f"The model {verdict} bits/char.")


if __name__ == "__main__":
    main()

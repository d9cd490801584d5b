"""A model that keeps up with the account: a prequential walk, month by month, on the Kaggle tweets.

    nice -n 10 python bench/bench_continual.py                           # 2020-01 .. 2022-03 (about 45 min on 2 cores)
    nice -n 10 python bench/bench_continual.py --months 2021-07 2022-03  # a shorter walk
    nice -n 10 python bench/bench_continual.py --budget-seconds 120 --retrain-seconds 30   # quicker, worse
    python bench/bench_continual.py --path ~/Downloads/elon-musk-tweets
    nice -n 10 python bench/bench_continual.py --steps 400 --retrain-steps 60 --threads 1   # fixed steps: a busy machine only slows it

Each month's tweets are scored by what saw only the tweets before it (prequential evaluation),
in bits per character as ``tweetgen.model.evaluate`` counts them (each tweet's end included, over
``sum(len(text) + 1)``):

- (a) **trained once**: ``run_training`` with its defaults (``python -m tweetgen train``: the LSTM
  over bytes with its n-gram, ``--budget-seconds`` of training) on every tweet before the first
  month, then never again.
- (b) **the pipeline as it runs**: the same first model as champion; at the end of each month its
  tweets arrive in the store and the retrain job runs once (``tweetgen.pipelines.retrain``, with
  ``--min-new-tweets`` as ``TWEETGEN_RETRAIN_MIN_NEW_TWEETS``): a warm start of
  ``--retrain-seconds`` when enough tweets arrived, and the champion rule on the newest half of
  them. The next month is scored by whichever version is champion then. The drift trigger needs
  the daily job's scores, which the walk does not run: here only the count triggers.
  Each warm start's wall time (the whole job: training, n-gram, scoring, samples, registering)
  is printed after its decision.
- (c) **PPMd order 8**, primed with every tweet before the month and adapting within the month as
  it codes it (one encoder over the whole stream: each month's cost is the bytes it adds).

Printed: bits/char per month and over the walk, the versions (b) went through, and the CPU
seconds each method spent (process time, all threads; the first training counts for (a) and
(b)). The machine's load average is printed too: time-bounded training learns less on a busy one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_KAGGLE = REPO.parent / "shared" / "data" / "kaggle-elon-musk-tweets"
PPMD_ORDER = 8
PPMD_MEMORY = 256 << 20


@dataclass
class Method:
    """One method's figures: (bits, characters) per month, and the CPU seconds it spent."""

    name: str
    bits: dict[str, float] = field(default_factory=dict)
    chars: dict[str, int] = field(default_factory=dict)
    cpu_s: float = 0.0

    def add(self, month: str, bits_per_char: float, chars: int) -> None:
        self.bits[month], self.chars[month] = bits_per_char * chars, chars

    def month_bpc(self, month: str) -> float:
        return self.bits[month] / self.chars[month]

    @property
    def overall(self) -> float:
        return sum(self.bits.values()) / sum(self.chars.values())


def main() -> None:
    args = parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # scoring and sampling too, not only the training loops
    if not args.path.is_dir():
        sys.exit(f"{args.path} is not a folder; pass the folder holding the Kaggle year files with --path.")
    months = month_starts(*args.months)
    frame = load_tweets(args.path, until=months[-1] + pd.offsets.MonthBegin(1))
    history = frame[frame["created_at"] < months[0]]
    by_month = {f"{m:%Y-%m}": frame[(frame["created_at"] >= m) & (frame["created_at"] < m + pd.offsets.MonthBegin(1))] for m in months}
    print(f"{len(history):,} tweets before {months[0]:%Y-%m}; {sum(map(len, by_month.values())):,} in the {len(months)} months walked.",
          file=sys.stderr)
    load = [os.getloadavg()[1]]
    ppmd = walk_ppmd(history, by_month)
    once, pipeline, versions = walk_models(history, by_month, args)
    load.append(os.getloadavg()[1])
    print_table([once, pipeline, ppmd], by_month, versions, load)


def parse_args() -> argparse.Namespace:
    from tweetgen.pipelines.retrain import RetrainRule

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", type=Path, default=DEFAULT_KAGGLE, help="folder of the Kaggle year files")
    parser.add_argument("--months", nargs=2, default=["2020-01", "2022-03"], metavar=("FIRST", "LAST"), help="the months walked (YYYY-MM)")
    parser.add_argument("--budget-seconds", type=float, default=300.0, help="training budget of the first model (train's default: 300)")
    parser.add_argument("--retrain-seconds", type=float, default=60.0, help="budget of each warm start (the retrain job's default: 60)")
    parser.add_argument("--min-new-tweets", type=int, default=RetrainRule().min_new_tweets, help="the retrain job's threshold")
    parser.add_argument("--family", choices=["lstm", "gpt2"], default="lstm", help="the model family (default: lstm, train's default)")
    parser.add_argument("--steps", type=int, help="train the first model for this many steps instead of --budget-seconds")
    parser.add_argument("--retrain-steps", type=int, help="train each warm start for this many steps instead of --retrain-seconds")
    parser.add_argument("--threads", type=int, help="torch threads while training (default: one per core; 1 on a machine busy with other work)")
    parser.add_argument("--samples", type=int, default=10, help="samples each training run measures (100 in train; fewer save time)")
    return parser.parse_args()


def month_starts(first: str, last: str) -> list[pd.Timestamp]:
    """The first instant (UTC) of every month from ``first`` to ``last`` (YYYY-MM), inclusive."""
    start, end = (pd.Timestamp(datetime.strptime(m, "%Y-%m").replace(tzinfo=UTC)) for m in (first, last))
    if end < start:
        sys.exit(f"--months {first} {last}: the last month is before the first.")
    return list(pd.date_range(start, end, freq="MS"))


def load_tweets(path: Path, until: pd.Timestamp) -> pd.DataFrame:
    """The Kaggle tweets as the feature pipeline writes them (duplicates dropped, ``clean_text``),
    before ``until``, without the empty ones."""
    from tweetgen.features import build_tweet_features, drop_duplicate_tweets
    from tweetgen.sources.kaggle import load_kaggle

    raw, _ = drop_duplicate_tweets(load_kaggle(path).frame)
    frame = build_tweet_features(raw, source="history", ingested_at=datetime.now(UTC))
    frame = frame[(frame["created_at"] < until) & (frame["clean_text"].str.strip() != "")]
    return frame.sort_values(["created_at", "tweet_id"], kind="stable").reset_index(drop=True)


def walk_ppmd(history: pd.DataFrame, by_month: dict[str, pd.DataFrame]) -> Method:
    """(c): one PPMd encoder over the history, then each month: the bytes the month adds."""
    import pyppmd

    method = Method(f"(c) PPMd order {PPMD_ORDER}, primed, adapting")
    started = time.process_time()
    encoder = pyppmd.Ppmd8Encoder(PPMD_ORDER, PPMD_MEMORY, pyppmd.PPMD8_RESTORE_METHOD_CUT_OFF)
    encoder.encode(stream(history).encode("utf-8"))
    for month, tweets in by_month.items():
        added = len(encoder.encode(stream(tweets).encode("utf-8")))
        chars = int(sum(len(text) + 1 for text in tweets["clean_text"]))
        method.add(month, 8 * added / chars, chars)
    encoder.flush()
    method.cpu_s = time.process_time() - started
    return method


def stream(tweets: pd.DataFrame) -> str:
    """Tweets as a compressor reads them: each followed by a newline (its end)."""
    return "".join(f"{text}\n" for text in tweets["clean_text"])


def walk_models(history: pd.DataFrame, by_month: dict[str, pd.DataFrame], args: argparse.Namespace) -> tuple[Method, Method, list[str]]:
    """(a) and (b): the first model trained on the history, then month by month."""
    from tweetgen.model.evaluate import evaluate
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.retrain import RetrainRule, run_retrain
    from tweetgen.pipelines.training import run_training
    from tweetgen.registry.local import LocalModelRegistry
    from tweetgen.schema import TWEETS
    from tweetgen.store.local import LocalFeatureStore

    once, pipeline = Method("(a) trained once"), Method("(b) the pipeline: retrain job, warm starts")
    versions: list[str] = []
    base = TrainConfig(n_quality_samples=args.samples, n_samples=min(3, args.samples), num_threads=args.threads)
    first_budget = {"max_steps": args.steps, "max_seconds": None} if args.steps else {"max_seconds": args.budget_seconds}
    retrain_budget = {"max_steps": args.retrain_steps, "max_seconds": None} if args.retrain_steps else {"max_seconds": args.retrain_seconds}
    with tempfile.TemporaryDirectory(prefix="bench-continual-") as folder:
        store, registry = LocalFeatureStore(Path(folder) / "store"), LocalModelRegistry(Path(folder) / "models")
        store.insert(TWEETS, history)
        started = time.process_time()
        first = run_training(store, registry, dataclasses.replace(base, family=args.family, **first_budget))
        once.cpu_s = pipeline.cpu_s = time.process_time() - started
        print(first.summary(), file=sys.stderr)
        frozen = registry.load(first.version)
        rule = RetrainRule(min_new_tweets=args.min_new_tweets)
        for month, tweets in by_month.items():
            texts = tweets["clean_text"].tolist()
            for method, model in ((once, frozen), (pipeline, registry.load(registry.champion(base.model_name)))):
                started = time.process_time()
                scored = evaluate(*model, texts)
                method.add(month, scored["eval_bits_per_char"], int(scored["eval_chars"]))
                method.cpu_s += time.process_time() - started
            store.insert(TWEETS, tweets)  # the month's tweets arrive; the retrain job runs
            started, wall = time.process_time(), time.perf_counter()
            report = run_retrain(store, registry, dataclasses.replace(base, **retrain_budget), rule)
            pipeline.cpu_s += time.process_time() - started
            wall = time.perf_counter() - wall
            versions.append(f"{month}: {report.lines()[0]}" + (f" ({wall:.0f} s)" if report.training else ""))
            print(f"{month}: (a) {once.month_bpc(month):.3f}  (b) {pipeline.month_bpc(month):.3f}  {report.lines()[0]}", file=sys.stderr)
    return once, pipeline, versions


def print_table(methods: list[Method], by_month: dict[str, pd.DataFrame], versions: list[str], load: list[float]) -> None:
    print(f"\n{'month':8} {'tweets':>6} " + " ".join(f"{m.name[:3]:>7}" for m in methods) + "   (bits/char; lower is better)")
    for month, tweets in by_month.items():
        print(f"{month:8} {len(tweets):>6} " + " ".join(f"{m.month_bpc(month):>7.3f}" for m in methods))
    print(f"{'overall':8} {sum(map(len, by_month.values())):>6} " + " ".join(f"{m.overall:>7.3f}" for m in methods))
    print()
    for method in methods:
        print(f"{method.name}: {method.overall:.3f} bits/char over the walk, {method.cpu_s:,.1f} CPU seconds")
    a, b, c = (m.overall for m in methods)
    print(f"(b) - (c): {b - c:+.3f} bits/char; (b) - (a): {b - a:+.3f} bits/char.")
    print("\nThe retrain job, month by month:")
    for line in versions:
        print(f"  {line}")
    print(f"\nLoad average (5 min) at the start and the end: {', '.join(f'{x:.1f}' for x in load)} on {os.cpu_count()} cores.")


if __name__ == "__main__":
    main()

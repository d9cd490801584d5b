"""Feature pipeline throughput: parse + clean + upsert, first run and idempotent re-run.

    python bench/bench_features.py                       # 100,000 generated rows + the Kaggle files if found
    python bench/bench_features.py --rows 20000 --kaggle /path/to/kaggle-elon-musk-tweets

Each (implementation, data set) pair runs in a fresh process so its peak memory (the kernel's
high-water mark of its resident memory, VmHWM) is its own: ``ru_maxrss`` would not do, since on
Linux it keeps the peak of the parent it was forked from, and the parent holds the generated
rows. The baseline is a naive row-by-row pandas pipeline (``naive_features.py``) on the same files
in the same run. ``--rows 1000000`` checks that a million rows ingest in under 1 GB.
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
DEFAULT_KAGGLE = REPO.parent / "shared" / "data" / "kaggle-elon-musk-tweets"
NEW_LAYOUT = [
    "id", "conversation_id", "created_at", "date", "time", "timezone", "user_id", "username", "name", "place",
    "tweet", "language", "mentions", "urls", "photos", "replies_count", "retweets_count", "likes_count",
    "hashtags", "cashtags", "link", "retweet", "quote_url", "video", "thumbnail", "near", "geo", "source",
    "user_rt_id", "user_rt", "retweet_id", "reply_to", "retweet_date", "translate", "trans_src", "trans_dest",
]


def write_generated_csv(rows: int, folder: Path) -> Path:
    """The invented corpus, ``rows`` tweets, written in the Kaggle 2021 layout (UTC)."""
    import pandas as pd

    from tweetgen.sources.corpus import generate_corpus

    corpus = generate_corpus(n_tweets=rows, seed=11)
    out = pd.DataFrame({column: "" for column in NEW_LAYOUT}, index=corpus.index)
    out["id"] = corpus["tweet_id"].astype(str)
    out["conversation_id"] = out["id"]
    out["created_at"] = corpus["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC")
    out["date"] = corpus["created_at"].dt.strftime("%Y-%m-%d")
    out["time"] = corpus["created_at"].dt.strftime("%H:%M:%S")
    out["timezone"] = "+0000"
    out["username"] = corpus["username"]
    out["tweet"] = corpus["text"]
    out["language"] = corpus["lang"]
    out["likes_count"], out["retweets_count"], out["replies_count"] = corpus["likes"], corpus["retweets"], corpus["replies"]
    out["link"] = "https://twitter.com/" + corpus["username"] + "/status/" + out["id"]
    out["retweet"] = "False"
    out["reply_to"] = "[]"
    path = folder / "generated.csv"
    out.to_csv(path, index=False)
    return path


def worker(impl: str, data: list[str], store: str) -> dict[str, float]:
    """Run one implementation twice on ``data`` (first run, re-run); print timings and peak RSS."""
    files = [Path(p) for p in data]
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        if impl == "tweetgen":
            from tweetgen.pipelines.features import run_feature_pipeline
            from tweetgen.store.local import LocalFeatureStore

            # Like the naive pipeline: any account (the generated files hold the invented sample
            # account's tweets), nothing held back for the replay, so both insert the same rows.
            report = run_feature_pipeline(LocalFeatureStore(Path(store)), source="kaggle", paths=files, username=None, holdout=0)
            counts = {"rows_read": report.rows_read, "inserted": report.inserted}
        else:
            from bench.naive_features import run_naive

            counts = run_naive(files, Path(store) / "tweets.parquet")
        timings.append((time.perf_counter() - started, counts))
    peak_mb = peak_rss_mb()
    return {
        "rows_read": timings[0][1]["rows_read"],
        "first_s": timings[0][0],
        "inserted": timings[0][1]["inserted"],
        "rerun_s": timings[1][0],
        "rerun_inserted": timings[1][1]["inserted"],
        "peak_mb": peak_mb,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB since it started (exec), not since its fork."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: the best there is


def measure(impl: str, files: list[Path]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as store:
        command = [sys.executable, __file__, "--worker", impl, "--store", store, *map(str, files)]
        output = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def print_table(results: list[tuple[str, str, dict[str, float]]]) -> None:
    header = f"{'data set':<24}{'implementation':<16}{'rows':>8}{'first run s':>13}{'rows/s':>10}{'re-run s':>10}{'inserted':>10}{'again':>7}{'peak MB':>9}{'speed-up':>10}"
    print(header)
    print("-" * len(header))
    baseline: dict[str, float] = {}
    for dataset, impl, r in results:
        if impl == "naive":
            baseline[dataset] = r["first_s"]
    for dataset, impl, r in results:
        speedup = f"{baseline[dataset] / r['first_s']:.1f}x" if impl != "naive" and dataset in baseline else ""
        print(
            f"{dataset:<24}{impl:<16}{int(r['rows_read']):>8,}{r['first_s']:>13.2f}{r['rows_read'] / r['first_s']:>10,.0f}"
            f"{r['rerun_s']:>10.2f}{int(r['inserted']):>10,}{int(r['rerun_inserted']):>7,}{r['peak_mb']:>9.0f}{speedup:>10}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="generated rows (default 100,000)")
    parser.add_argument("--kaggle", type=Path, default=DEFAULT_KAGGLE, help="folder of the Kaggle CSVs")
    parser.add_argument("--worker", choices=["tweetgen", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.files, args.store)))
        return
    results = []
    with tempfile.TemporaryDirectory() as folder:
        generated = write_generated_csv(args.rows, Path(folder))
        datasets = [(f"generated {args.rows:,}", [generated])]
        if args.kaggle.is_dir():
            datasets.append(("kaggle (13 files)", sorted(args.kaggle.glob("*.csv"))))
        else:
            print(f"(no Kaggle files at {args.kaggle}; pass --kaggle DIR to include them)")
        for name, files in datasets:
            for impl in ("naive", "tweetgen"):
                print(f"running {impl} on {name} ...", file=sys.stderr, flush=True)
                results.append((name, impl, measure(impl, files)))
    print_table(results)


if __name__ == "__main__":
    main()

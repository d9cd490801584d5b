"""Held-out quality on the real Kaggle tweets: the training pipeline against a PPMd order-8 compressor.

    python bench/bench_quality.py                        # the offline default (LSTM), about 6 minutes on 2 cores
    python bench/bench_quality.py --family lstm gpt2     # both families, one after the other
    python bench/bench_quality.py --split 2021-01        # the second split (see below)
    python bench/bench_quality.py --budget-seconds 600   # a longer budget than the default
    python bench/bench_quality.py --base-model gpt2      # pretrained GPT-2, on a GPU with the Hub cached
    python bench/bench_quality.py --path ~/Downloads/elon-musk-tweets
    python bench/bench_quality.py --best-of 1            # leave out the best-of-n row (default: best of 4)
    nice -n 10 python bench/bench_quality.py --steps 400 --threads 1   # on a machine busy with other work

The Kaggle year files are cleaned as the feature pipeline does (duplicate ids dropped,
``clean_text``, empty texts left out) and split by time. ``--split 2021-10`` (the default):
tweets before 2021-10-01 (UTC) train, the later ones are scored. ``--split 2021-01``: tweets
before 2021-01-01 train, those from 2021-01-01 to 2021-10-01 are scored (a second period, so
that no setting is tuned to one split). Every row reports bits per character as
``tweetgen.model.evaluate`` defines it: total bits, end of each tweet included, over
``sum(len(text) + 1)``.

- PPMd: order 8, 256 MB of model memory, primed with the training text. The eval text's cost is
  its marginal size: ``size(train + eval) - size(train)``, each tweet followed by ``"\\n"`` (the
  newline plays the part of the end token). Its time is both compressions. PPMd codes the eval
  tweets one after another and keeps adapting to them; the models score each tweet on its own.
- Real tweets: 100 of the eval tweets, measured as the samples are (below): what the account's
  own tweets score, for reference.
- A model row: ``tweetgen.pipelines.training.run_training``, the code behind
  ``python -m tweetgen train``, with its defaults (``--family`` picks the family; the time
  budget is ``--budget-seconds``, 300 s by default as for ``train``), on a local feature store
  holding the tweets up to the end of the eval period. The pipeline holds the newest 5% of the
  training tweets out as its validation slice (early stopping), never the eval tweets. Next to
  bits/char: distinct-1 and distinct-2 of 100 samples (distinct word n-grams over all n-grams)
  and copying (the share of samples sharing a run of 8+ words with a training tweet, and the
  mean longest shared run), the share of non-words among their words (words of letters found
  neither in a training tweet nor in wordfreq's English list) and the share cut at the 280-character
  limit (at a sentence end or word boundary; "inside a word" counts those that end mid-word, which
  should be none), as the model card reports them; the real tweets' row gives their non-word share
  and the share at least 280 characters long.
- Best of n (``--best-of``, default 4): the same trained model draws n samples per sample kept and
  keeps the one with the fewest unknown words, then the fewest bits per character by its own
  measure (``tweetgen.model.generate.best_of``), the same 100 samples measured the same way: is it
  worth its n-fold sampling time? Each with and without the spelling check, which takes back a
  word the model invents and draws it again (``tweetgen.model.spelling``; the pipeline's way).

Each row runs in a fresh process so that its peak memory (max RSS) is its own. Other processes on
the machine make times and tokens/s noisy, and so bits/char of a time-bounded run: the load
average during the run is printed under the table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_KAGGLE = REPO.parent / "shared" / "data" / "kaggle-elon-musk-tweets"
SPLITS = {  # name: (eval since, eval until); training is everything before "since"
    "2021-10": (datetime(2021, 10, 1, tzinfo=UTC), None),
    "2021-01": (datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 10, 1, tzinfo=UTC)),
}
PPMD_ORDER = 8
PPMD_MEMORY = 256 << 20
N_REAL = 100


def load_frame(path: Path, split: str):
    """The Kaggle tweets as the feature pipeline writes them, up to the end of the split's eval period."""
    from tweetgen.features import build_tweet_features, drop_duplicate_tweets
    from tweetgen.sources.kaggle import load_kaggle

    raw, _ = drop_duplicate_tweets(load_kaggle(path).frame)
    frame = build_tweet_features(raw, source="history", ingested_at=datetime.now(UTC))
    until = SPLITS[split][1]
    return frame if until is None else frame[frame["created_at"] < until].reset_index(drop=True)


def texts_of(frame, split: str) -> tuple[list[str], list[str], list[str]]:
    """Training, validation and eval ``clean_text`` as the pipeline splits them (empty texts left out)."""
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.training import split_tweets

    frame = frame[frame["clean_text"].str.strip() != ""]
    parts = split_tweets(frame, TrainConfig(eval_since=SPLITS[split][0]))
    return parts.train, parts.val, parts.eval


def ppmd_size(text: str) -> int:
    """Bytes of ``text`` (UTF-8) compressed by PPMd variant H (Ppmd8), order 8."""
    import pyppmd

    encoder = pyppmd.Ppmd8Encoder(PPMD_ORDER, PPMD_MEMORY, pyppmd.PPMD8_RESTORE_METHOD_CUT_OFF)
    return len(encoder.encode(text.encode("utf-8")) + encoder.flush())


def run_ppmd(frame, split: str) -> dict:
    """The eval text's marginal compressed size after the training text (train + validation), in bits per character."""
    train_texts, val_texts, eval_texts = texts_of(frame, split)
    train_stream = "".join(text + "\n" for text in train_texts + val_texts)
    eval_stream = "".join(text + "\n" for text in eval_texts)
    start = time.perf_counter()
    marginal_bytes = ppmd_size(train_stream + eval_stream) - ppmd_size(train_stream)
    seconds = time.perf_counter() - start
    chars = sum(len(text) + 1 for text in eval_texts)
    return {"method": f"PPMd order {PPMD_ORDER}, primed", "bits_per_char": marginal_bytes * 8 / chars, "seconds": seconds}


def run_real(frame, split: str) -> dict:
    """The sample measures of 100 real eval tweets against the training tweets (what the account
    scores), and the non-word and at-the-limit shares of all eval tweets."""
    from tweetgen.model.measures import CopyIndex, Vocabulary, reference_measures, sample_measures

    train_texts, val_texts, eval_texts = texts_of(frame, split)
    chosen = random.Random(0).sample(eval_texts, min(N_REAL, len(eval_texts)))
    measures = sample_measures(chosen, CopyIndex(train_texts))
    reference = reference_measures(eval_texts, Vocabulary(train_texts + val_texts))
    return {"method": f"{len(chosen)} real eval tweets (reference)", **measures, "non_word_share": reference["non_word_share"],
            "cut_share": reference["at_limit_share"]}


def run_model(frame, split: str, args: argparse.Namespace, family: str | None) -> dict:
    """``run_training`` with its defaults on a local store of the tweets; its metrics."""
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.training import run_training
    from tweetgen.registry.local import LocalModelRegistry
    from tweetgen.schema import TWEETS
    from tweetgen.store.local import LocalFeatureStore

    config = TrainConfig(base_model=args.base_model, family=family, eval_since=SPLITS[split][0], max_seconds=args.budget_seconds,
                         max_steps=args.steps, num_threads=args.threads)
    if args.steps:  # a fixed number of steps: the same model on a busy machine, only later
        config = dataclasses.replace(config, max_seconds=None)
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as folder:
        store = LocalFeatureStore(Path(folder) / "feature_store")
        store.insert(TWEETS, frame)
        registry = LocalModelRegistry(Path(folder) / "models")
        report = run_training(store, registry, config)
        alone = network_alone_bpc(registry, report.version, report.metrics, frame, split)
        best = best_of_row(registry, report.version, frame, split, args.best_of) if args.best_of > 1 else None
    m, result = report.metrics, report.result
    return {
        "method": report.version.card["description"].split(", trained")[0], "bits_per_char": m["eval_bits_per_char"],
        "seconds": m["train_seconds"], "tokens_per_s": m["train_tokens_per_second"], "parameters": int(m["n_parameters"]),
        "steps": result.steps, "best_step": result.best_step, "stopped_by": result.stopped_by, "val_bpc": result.best_val,
        "distinct_1": m["sample_distinct_1"], "distinct_2": m["sample_distinct_2"], "copy_rate": m["sample_copy_rate"],
        "copy_words": m["sample_copy_words"], "mean_chars": m["sample_mean_chars"], "samples": report.samples,
        "precision": result.precision, "ngram_weight": m.get("ngram_weight"), "network_alone_bpc": alone,
        "non_word_share": m["sample_non_word_share"], "cut_share": m["sample_cut_share"], "best_of": best,
    }


def best_of_row(registry, version, frame, split: str, candidates: int) -> dict:
    """100 samples of the registered model four ways, measured alike (and the seconds each took):
    plain, best of ``candidates``, and each with the spelling check (``tweetgen.model.spelling``;
    the last is what the pipeline does)."""
    from tweetgen.model.ending import ELLIPSIS
    from tweetgen.model.generate import best_of
    from tweetgen.model.measures import CopyIndex, Vocabulary, sample_measures

    train_texts, val_texts, _ = texts_of(frame, split)
    known = train_texts + val_texts
    copy_index, vocabulary = CopyIndex(known), Vocabulary(known)
    model, tokenizer = registry.load(version)
    rows = {}
    for spell in (False, True):
        for n in (1, candidates):
            start = time.perf_counter()
            drawn = best_of(model, tokenizer, n=N_REAL, candidates=n, seed=0, spell=spell)
            seconds = time.perf_counter() - start
            texts = [s.text for s in drawn]
            measures = sample_measures(texts, copy_index, vocabulary, [s.finished for s in drawn])
            inside = sum(not s.finished and not (s.text.endswith(ELLIPSIS) or s.text[-1:] in ".!?\"')]") for s in drawn)
            label = ("plain" if n == 1 else f"best of {n}") + (", words checked" if spell else "")
            rows[label] = {**measures, "seconds": seconds, "inside_word": inside, "samples": texts[:3]}
    return rows


def network_alone_bpc(registry, version, metrics: dict, frame, split: str) -> float | None:
    """Eval bits/char of the trained network without the n-gram it mixes in (None: it has none)."""
    from tweetgen.model.evaluate import evaluate

    if not metrics.get("ngram_weight"):
        return None
    model, tokenizer = registry.load(version)
    model.config.ngram_weight = 0.0
    return evaluate(model, tokenizer, texts_of(frame, split)[2])["eval_bits_per_char"]


def worker(row: str, args: argparse.Namespace) -> None:
    """Compute one row and print it as JSON on the last line of stdout (run in a child process)."""
    import torch

    from tweetgen.model.evaluate import eval_set_id

    if args.threads:
        torch.set_num_threads(args.threads)  # scoring and sampling too, not only the training loop

    frame = load_frame(args.path, args.split)
    train_texts, val_texts, eval_texts = texts_of(frame, args.split)
    if row == "ppmd":
        figures = run_ppmd(frame, args.split)
    elif row == "real":
        figures = run_real(frame, args.split)
    else:
        figures = run_model(frame, args.split, args, None if row == "default" else row)
    figures |= {
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "n_train": len(train_texts), "n_val": len(val_texts), "n_eval": len(eval_texts),
        "eval_chars": sum(len(text) + 1 for text in eval_texts), "eval_set_id": eval_set_id(eval_texts),
    }
    print(json.dumps(figures, ensure_ascii=False))


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args.worker, args)
        return
    if not args.path.is_dir():
        sys.exit(f"{args.path} is not a folder; pass the folder holding the Kaggle year files with --path.")
    model_rows = ["default"] if args.base_model != "tiny" else args.family
    load = []
    results = [run_child(row, args, load) for row in ("ppmd", "real", *model_rows)]
    print_table(results, args, load)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", type=Path, default=DEFAULT_KAGGLE, help="folder of the Kaggle year files")
    parser.add_argument("--split", choices=sorted(SPLITS), default="2021-10", help="eval period (see above)")
    parser.add_argument("--family", nargs="+", choices=["lstm", "gpt2"], default=["lstm"], help="model families to train, one row each")
    parser.add_argument("--budget-seconds", type=float, default=300.0, help="training budget of each model row (train's default: 300)")
    parser.add_argument("--base-model", default="tiny", help="tiny (built from scratch), or a pretrained model such as gpt2 (GPU)")
    parser.add_argument("--steps", type=int, help="train for this many steps instead of a time budget (a busy machine then only slows it)")
    parser.add_argument("--threads", type=int, help="torch threads while training (default: one per core; 1 on a machine busy with other work)")
    parser.add_argument("--best-of", type=int, default=4, help="candidates per sample of the best-of-n row (1: no such row)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args()


def run_child(row: str, args: argparse.Namespace, load: list[float]) -> dict:
    """Run one row in a fresh process; its progress bar passes through on stderr."""
    command = [
        sys.executable, __file__, "--worker", row, "--path", str(args.path), "--split", args.split,
        "--budget-seconds", str(args.budget_seconds), "--base-model", args.base_model, "--best-of", str(args.best_of),
        *(["--steps", str(args.steps)] if args.steps else []), *(["--threads", str(args.threads)] if args.threads else []),
    ]
    print(f"{row}: running", file=sys.stderr)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
           "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)
    load.append(os.getloadavg()[1])  # the 5-minute load average as the row ends
    if done.returncode != 0:
        sys.exit(f"The {row} row failed (its error is above).")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(results: list[dict], args: argparse.Namespace, load: list[float]) -> None:
    first = results[0]
    since, until = SPLITS[args.split]
    period = f"from {since:%Y-%m-%d}" + (f" to {until:%Y-%m-%d}" if until else "")
    print(
        f"\nKaggle tweets, split {args.split}: {first['n_train']:,} train + {first['n_val']:,} validation (before "
        f"{since:%Y-%m-%d}), {first['n_eval']:,} eval ({period}), {first['eval_chars']:,} eval characters, "
        f"eval set {first['eval_set_id']}\n"
    )
    header = (f"{'method':58} {'bits/char':>9} {'train s':>8} {'steps (best)':>13} {'distinct-1':>10} {'distinct-2':>10} {'copy rate':>9} "
              f"{'copy words':>10} {'non-words':>9} {'cut':>5} {'peak RSS MB':>12}")
    print(header)
    for r in results:
        bpc = f"{r['bits_per_char']:.3f}" if "bits_per_char" in r else "-"
        secs = f"{r['seconds']:.1f}" if "seconds" in r else "-"
        steps = f"{r['steps']:,} ({r['best_step'] or '-'})" if "steps" in r else "-"
        quality = [f"{r[k]:.3f}" if k in r else "-" for k in ("distinct_1", "distinct_2")]
        copy_rate = f"{r['copy_rate']:.0%}" if "copy_rate" in r else "-"
        copy_words = f"{r['copy_words']:.1f}" if "copy_words" in r else "-"
        non_words = f"{r['non_word_share']:.1%}" if "non_word_share" in r else "-"
        cut = f"{r['cut_share']:.0%}" if "cut_share" in r else "-"
        print(f"{r['method']:58} {bpc:>9} {secs:>8} {steps:>13} {quality[0]:>10} {quality[1]:>10} {copy_rate:>9} {copy_words:>10} "
              f"{non_words:>9} {cut:>5} {r['peak_rss_mb']:>12,.0f}")
    print(f"\nLoad average (5 min) as each row ended: {', '.join(f'{x:.1f}' for x in load)} on {os.cpu_count()} cores.")
    for r in results[2:]:
        gap = r["bits_per_char"] - first["bits_per_char"]
        verdict = f"beats PPMd by {-gap:.3f}" if gap < 0 else f"is {gap:.3f} behind PPMd"
        alone = f" The network alone: {r['network_alone_bpc']:.3f} bits/char." if r.get("network_alone_bpc") else ""
        print(f"{r['method']}: {r['parameters']:,} parameters, {r['precision']}, {r['tokens_per_s']:,.0f} tokens/s, stopped by "
              f"{r['stopped_by']}, best validation {r['val_bpc']:.3f} bits/char; {verdict} bits/char.{alone}")
        for text in r["samples"]:
            print(f"    sample: {text!r}")
        print_best_of(r.get("best_of"), results[1])


def print_best_of(rows: dict | None, real: dict) -> None:
    """Plain sampling against best of n and the spelling check, on the same model: the measures a reader notices."""
    if not rows:
        return
    print(f"  {'sampling':34} {'seconds':>8} {'non-words':>9} {'x real':>6} {'copy rate':>9} {'distinct-1':>10} {'cut':>5} {'inside a word':>13}")
    for label, m in rows.items():
        ratio = m["non_word_share"] / real["non_word_share"] if real.get("non_word_share") else float("nan")
        print(f"  {label:34} {m['seconds']:>8.1f} {m['non_word_share']:>9.2%} {ratio:>6.2f} "
              f"{m['copy_rate']:>9.0%} {m['distinct_1']:>10.3f} {m['cut_share']:>5.0%} {m['inside_word']:>13}")
        for text in m["samples"]:
            print(f"      {text!r}")


if __name__ == "__main__":
    main()

"""The daily batch-inference job on CPU: end to end, generation throughput, and the app serving
concurrent generate requests with batching on and off.

    python bench/bench_inference.py --quick      # about a minute: 3 repeats of each case
    python bench/bench_inference.py --family lstm --train-steps 150 --only serving   # the app's figures
    python bench/bench_inference.py              # 7 repeats
    python bench/bench_inference.py --train-steps 40    # a briefly trained champion instead
    python bench/bench_inference.py --family lstm       # the byte-level LSTM (the offline default) as champion

Setup, once, in a temp folder: the bundled invented corpus goes into a local feature store
(``run_feature_pipeline(source="sample")``), and a champion goes into a local registry. By default
the champion is the tiny GPT-2 *untrained* (``--family lstm``: the LSTM): ``prepare_model``
(the family's tokenizer, trained on the training split for BPE, and model, with the training
defaults), scored on the eval split, registered and promoted. It costs the same per token as a trained one and takes seconds instead of minutes to
make; and as its next-token distribution is near uniform, it almost never draws ``<|eos|>``, so
every generation runs its full ``max_new_tokens``: the job's worst case. A briefly trained model
(``--train-steps``) learns to end tweets after a few words, which flatters the job's time; the
tokens generated are printed either way. The job is then run once for the day before, so the
``generated_tweets`` table exists and each measured run merges into it, as on any later day.

1. The job: ``run_batch_inference`` (``Sampling()`` defaults, seed 0: a whole tweet at most, 80
   BPE tokens or 280 bytes, for the prompted and the random tweet) for the newest tweet, each repeat in a fresh process on a
   fresh copy of the store, so its peak memory (max RSS) is its own. Its wall time is split into
   process start + imports, reading (champion, tweets, copy index), model load, generation,
   measures (bits/char of the real tweet, copy runs, sentiment), write (the Delta merge) and
   process exit (the interpreter tearing down torch and transformers); each part is the median
   over the repeats, so they need not add up to the total.

2. Generation throughput, batch 1 and batched, in one fresh process on the same champion and the
   same start (the ``<|bos|>`` token alone): plain ``model.generate(input_ids)`` with the model's
   defaults (its generation config sets only the special tokens, so greedy decoding with the KV
   cache), ``generate`` sampling with temperature only, ``generate`` with ``sample``'s settings,
   and the project's ``sample``. ``min_new_tokens`` is set in the model's generation config to the
   number of new tokens, so every row generates exactly that many (``<|eos|>`` is masked until
   then; checked). Repeats are interleaved across rows; tokens/s is the median.

3. Serving (``--only serving`` runs this part alone): the app started as users start it,
   ``python -m tweetgen app``, timed from the command to its first answered ``POST
   /api/generate`` (model load included); then the app's server (``build_server``, page and API)
   in a fresh process, once with batching and once without (``Predictor(batching=False)``: one
   generation at a time, as before batching), each loaded by 1 and by ``--clients`` (default 20)
   concurrent clients in this process that post ``/api/generate`` with the first two words of a
   stored tweet (a quarter of them with no prompt: a random tweet) and a seed of their own, for
   ``--requests`` requests per client. Printed: requests/s, p50 and p95 latency, how requests joined,
   and the batching server's speed-up over the one-at-a-time server at the same load. Every
   answer is checked to start with its prompt, and answers to the same prompt and seed must be
   the same in both servers.

torch runs with ``--threads`` threads (default 1) in every case: with 2 threads on 2 cores that
other processes share, each step waits for the slower thread and runs became several times
slower and erratic (try ``--threads 2``). The machine's cores are shared
with other processes: figures are noisy, compare rows of one run rather than runs, and read the
min-max spread printed next to each median.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_NAME = "tweet_model"
JOB_MEMORY_TARGET_MB = 1024
JOB_PARTS = ["start + imports", "read", "model load", "generation", "measures", "write", "exit"]
GENERATORS = {
    "generate(input_ids), defaults: greedy": "greedy",
    "generate, sampling T=0.9 (no top-p)": "temperature",
    "generate, sample()'s settings": "nucleus",
    "tweetgen sample(), T=0.9 top-p=0.95": "sample",
}


# ----------------------------------------------------------------------------------- setup


def prepare(folder: Path, train_steps: int, threads: int, family: str) -> dict:
    """Feature store and registry with a champion under ``folder``; returns what the workers need."""
    import pandas as pd
    import torch
    from transformers.utils import logging

    from tweetgen.model.build import context_length
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.features import run_feature_pipeline
    from tweetgen.pipelines.inference import Sampling, choose_prompt, run_batch_inference
    from tweetgen.registry.local import LocalModelRegistry
    from tweetgen.schema import TWEETS
    from tweetgen.store.local import LocalFeatureStore

    torch.set_num_threads(threads)
    logging.disable_progress_bar()
    store, registry = LocalFeatureStore(folder / "feature_store"), LocalModelRegistry(folder / "models")  # an app's --data-dir
    run_feature_pipeline(store, source="sample")
    config = TrainConfig(family=family, model_name=MODEL_NAME, max_steps=train_steps or None, max_seconds=None,
                         num_threads=threads, progress=False).resolved()
    name = {"gpt2": "tiny GPT-2", "lstm": "byte-level LSTM"}[family]
    if train_steps:
        from tweetgen.pipelines.training import run_training

        run_training(store, registry, config)
        champion = f"{name} trained for {train_steps} steps"
    else:
        register_untrained(store, registry, config)
        champion = f"{name}, untrained"
    days = sorted(pd.to_datetime(store.read(TWEETS, columns=["created_at"])["created_at"]).unique())
    newest, day_before = days[-1].to_pydatetime(), days[-2].to_pydatetime()
    run_batch_inference(store, registry, MODEL_NAME, Sampling(seed=0), as_of=day_before, now=day_before + timedelta(hours=1))
    model, _ = registry.load(registry.champion(MODEL_NAME))
    parameters = sum(p.numel() for p in model.parameters())
    prompts = [choose_prompt(text) for text in store.read(TWEETS, columns=["clean_text"])["clean_text"].tail(200)]
    return {
        "data_dir": str(folder), "prompts": [p for p in prompts if p],
        "store": str(store.root), "registry": str(registry.root), "as_of": newest.isoformat(),
        "now": (newest + timedelta(hours=1)).isoformat(), "threads": threads,
        "champion": f"{champion} ({parameters / 1e6:.2f}M parameters, vocabulary {model.config.vocab_size:,}, context {context_length(model)})",
    }


def register_untrained(store, registry, config) -> None:
    """Register a freshly initialised model of ``config.family`` as version 1 and promote it (scored on the eval split)."""
    from tweetgen.model.data import split_by_time
    from tweetgen.model.evaluate import eval_set_id, evaluate
    from tweetgen.pipelines.training import prepare_model, read_tweet_texts

    frame = read_tweet_texts(store)[0]
    train_frame, eval_frame = split_by_time(frame, config.eval_fraction)
    eval_texts = eval_frame["clean_text"].tolist()
    model, tokenizer = prepare_model(config, train_frame["clean_text"].tolist())
    metrics = evaluate(model, tokenizer, eval_texts)
    card = {"description": f"Untrained {config.family} (benchmark).", "family": config.family, "eval_set_id": eval_set_id(eval_texts)}
    with tempfile.TemporaryDirectory() as saved:
        model.save_pretrained(saved)
        tokenizer.save_pretrained(saved)
        version = registry.register(Path(saved), config.model_name, metrics, card)
    registry.promote_if_better(version)


# ------------------------------------------------------------------------- measured workers


class Clock:
    """Seconds spent in wrapped functions, by name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


@contextlib.contextmanager
def counting_new_tokens(model, counts: list[int]):
    """While open, every ``model.generate`` call appends the new tokens of each of its rows to
    ``counts``; so does tweetgen's sampler, which runs one forward pass per new token (its rows run
    until the last one ends: each is counted with the passes of the batch)."""
    generate, inside, passes = model.generate, [False], []

    def counted(*args, **kwargs):
        inside[0] = True
        try:
            output = generate(*args, **kwargs)
        finally:
            inside[0] = False
        prompt = kwargs["input_ids"] if "input_ids" in kwargs else args[0]
        counts.extend([output.shape[1] - prompt.shape[1]] * output.shape[0])
        return output

    def forward_done(module, args, output) -> None:
        if not inside[0]:
            passes.append(output.shape[0])

    hook = model.get_output_embeddings().register_forward_hook(forward_done)  # every pass ends in the head
    model.generate = counted
    try:
        yield
    finally:
        hook.remove()
        del model.generate
        if passes:
            counts.extend([len(passes)] * passes[0])


def job_worker(spec: dict) -> dict:
    """Run the daily job once on ``spec``'s store and registry; its phase times, tokens and peak RSS."""
    from datetime import datetime

    import torch

    import tweetgen.pipelines.inference as pipeline
    from tweetgen.registry.local import LocalModelRegistry
    from tweetgen.store.local import LocalFeatureStore

    torch.set_num_threads(spec["threads"])
    imported = time.time()
    store, registry = LocalFeatureStore(Path(spec["store"])), LocalModelRegistry(Path(spec["registry"]))
    clock, tokens = Clock(), []
    registry.load = clock.wrap("model load", registry.load)
    store.insert = clock.wrap("write", store.insert)
    pipeline.generate_row = clock.wrap("row", pipeline.generate_row)

    original_sample = pipeline.sample

    def sample(model, *args, **kwargs):
        with counting_new_tokens(model, tokens):
            return original_sample(model, *args, **kwargs)

    pipeline.sample = clock.wrap("generation", sample)
    started = time.perf_counter()
    report = pipeline.run_batch_inference(
        store, registry, MODEL_NAME, pipeline.Sampling(seed=0),
        as_of=datetime.fromisoformat(spec["as_of"]), now=datetime.fromisoformat(spec["now"]),
    )
    run_s = time.perf_counter() - started
    assert report.inserted == len(report.rows) == 1, "the measured run must generate and write one row"
    s = clock.seconds
    return {
        "imported_at": imported, "finished_at": time.time(), "run_s": run_s,
        "read": run_s - s["row"] - s["write"], "model load": s["model load"], "generation": s["generation"],
        "measures": s["row"] - s["model load"] - s["generation"], "write": s["write"],
        "tokens": tokens, "max_new_tokens": int(report.rows["max_new_tokens"].iloc[0]),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "prompted": report.rows["prompted_text"].iloc[0],
    }


def throughput_worker(spec: dict) -> dict:
    """Seconds per call of each generator in ``GENERATORS``, at batch 1 and ``spec["batch"]``."""
    import torch
    from transformers.utils import logging

    from tweetgen.model.generate import sample
    from tweetgen.registry.local import LocalModelRegistry

    torch.set_num_threads(spec["threads"])
    logging.set_verbosity_error()  # plain generate() warns that it got no attention mask
    registry = LocalModelRegistry(Path(spec["registry"]))
    model, tokenizer = registry.load(registry.champion(MODEL_NAME))
    new = spec["new_tokens"]
    model.generation_config.min_new_tokens = new  # sample() has no such argument: every row gets exactly `new` tokens

    def run(kind: str, n: int) -> None:
        ids = torch.full((n, 1), tokenizer.bos_token_id)
        mask, eos = torch.ones_like(ids), tokenizer.eos_token_id
        with torch.inference_mode():
            if kind == "greedy":
                model.generate(ids, max_new_tokens=new)
            elif kind == "temperature":
                model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=0.9, top_k=0, max_new_tokens=new, pad_token_id=eos)
            elif kind == "nucleus":
                model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=0.9, top_p=0.95, top_k=0, max_new_tokens=new, pad_token_id=eos)
            else:
                sample(model, tokenizer, "", n=n, max_new_tokens=new, seed=0, temperature=0.9, top_p=0.95)

    # generate() stops no row before min_new_tokens; tweetgen's sampler has no such setting: <|eos|> is masked for it
    def no_eos(module, args, output) -> None:
        output.logits[..., tokenizer.eos_token_id] = float("-inf")

    model.register_forward_hook(no_eos)
    if hasattr(model, "next_logits"):  # the LSTM's generation steps skip its forward
        next_logits = model.next_logits

        def next_logits_without_eos(tokens, past):
            logits, state = next_logits(tokens, past)
            logits[:, tokenizer.eos_token_id] = float("-inf")
            return logits, state

        model.next_logits = next_logits_without_eos
    seconds: dict[str, list[float]] = defaultdict(list)
    for n in (1, spec["batch"]):
        for kind in GENERATORS.values():
            counts: list[int] = []
            with counting_new_tokens(model, counts):
                run(kind, n)  # warm-up, and the check that every row got exactly `new` tokens
            assert counts == [new] * n, f"{kind} generated {counts}, not {new} tokens per row"
        for _ in range(spec["repeats"]):
            for kind in GENERATORS.values():
                started = time.perf_counter()
                run(kind, n)
                seconds[f"{n} {kind}"].append(time.perf_counter() - started)
    return {"seconds": seconds, "torch": torch.__version__}


def serve_worker(spec: dict) -> None:
    """Serve the app's server (page and API) over ``spec``'s store and champion, with batching or
    without, until stdin closes; print its URL first and the batcher's counts last."""
    import torch

    from tweetgen.registry.local import LocalModelRegistry
    from tweetgen.store.local import LocalFeatureStore
    from tweetgen.ui.browser import running_app
    from tweetgen.ui.predictor import Predictor

    torch.set_num_threads(spec["threads"])
    registry = LocalModelRegistry(Path(spec["registry"]))
    predictor = Predictor(lambda: registry, MODEL_NAME, batching=spec["batching"])
    predictor.version()  # loaded before any request is timed
    with tempfile.TemporaryDirectory() as gradio, running_app(LocalFeatureStore(Path(spec["store"])), predictor, Path(gradio)) as url:
        print(json.dumps({"url": url}), flush=True)
        sys.stdin.read()
    stats = predictor.batcher.stats
    print(json.dumps({"batches": stats.batches, "requests": stats.requests, "most_rows": stats.most_rows}), flush=True)


def spawn(kind: str, spec: dict) -> tuple[dict, float]:
    """Run a worker in a fresh process; its JSON result and the process's wall time."""
    started = time.time()
    command = [sys.executable, __file__, "--worker", kind, "--spec", json.dumps(spec)]
    output = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout
    wall = time.time() - started
    result = json.loads(output.strip().splitlines()[-1])
    result["spawned_at"], result["wall_s"] = started, wall
    return result, wall


# -------------------------------------------------------------------------------- serving


def post_generate(url: str, prompt: str, seed: int, timeout: float = 120) -> tuple[int, dict]:
    """(status, JSON body) of one ``POST /api/generate``."""
    body = json.dumps({"prompt": prompt, "seed": seed}).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}/api/generate", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own app on 127.0.0.1
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def measure_start(spec: dict) -> float:
    """Seconds from ``python -m tweetgen app`` to its first answered ``POST /api/generate``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TWEETGEN_DATA_DIR": spec["data_dir"], "TWEETGEN_BACKEND": "local", "TWEETGEN_MODEL_NAME": MODEL_NAME,
           "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": str(spec["threads"])}
    started = time.perf_counter()
    app = subprocess.Popen([sys.executable, "-m", "tweetgen", "app", "--port", str(port)], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while True:
            try:
                status, body = post_generate(f"http://127.0.0.1:{port}", "The", 1)
            except (urllib.error.URLError, ConnectionError):
                if app.poll() is not None:
                    raise RuntimeError(f"the app exited: {app.stderr.read()[-2000:]}") from None
                time.sleep(0.02)
                continue
            assert status == 200, body
            return time.perf_counter() - started
    finally:
        app.terminate()
        app.wait(timeout=30)


@contextlib.contextmanager
def serving(spec: dict, batching: bool):
    """The app's server in a fresh process (``serve_worker``); yields its URL and, once it has
    stopped, fills the dict yielded with it with the batcher's counts."""
    command = [sys.executable, __file__, "--worker", "serve", "--spec", json.dumps({**spec, "batching": batching})]
    server = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    counts: dict = {}
    try:
        yield json.loads(server.stdout.readline())["url"], counts
    finally:
        output, _ = server.communicate(timeout=60)  # closes its stdin: it stops
        counts.update(json.loads(output.strip().splitlines()[-1]))


def load(url: str, clients: int, per_client: int, prompts: list[str]) -> dict:
    """``clients`` threads posting ``per_client`` requests each, back to back: every fourth with no
    prompt (a random tweet), the others a stored tweet's first two words; seed = request number."""
    latencies: list[float] = []
    answers: dict[tuple[str, int], str] = {}
    problems: list[str] = []

    def client(c: int) -> None:
        for i in range(per_client):
            k = c * per_client + i
            prompt, seed = ("" if k % 4 == 3 else prompts[k % len(prompts)]), k
            started = time.perf_counter()
            status, body = post_generate(url, prompt, seed)
            latencies.append(time.perf_counter() - started)
            if status != 200 or not body["text"].startswith(prompt):
                problems.append(f"{prompt!r} seed {seed}: HTTP {status} {body}")
            else:
                answers[(prompt, seed)] = body["text"]

    post_generate(url, prompts[0], 10**6)  # warm-up, not counted
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    assert not problems, problems[:3]
    ordered = sorted(latencies)
    return {"rps": len(latencies) / wall, "p50": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))],
            "n": len(latencies), "answers": answers}


def measure_serving(spec: dict, clients: int, requests: int) -> dict:
    results: dict = {"start_s": measure_start(spec), "loads": {}}
    for batching in (False, True):
        with serving(spec, batching) as (url, counts):
            for n in (1, clients):
                results["loads"][(n, batching)] = load(url, n, requests if n == 1 else max(2, requests // 2), spec["prompts"])
                print(f"  {n} client(s), batching {'on' if batching else 'off'}: {results['loads'][(n, batching)]['rps']:.1f} requests/s",
                      file=sys.stderr, flush=True)
        results[("counts", batching)] = counts
    return results


def print_serving(results: dict, spec: dict, clients: int) -> None:
    loads = results["loads"]
    print(f"\nServing POST /api/generate: champion {spec['champion']}; torch threads: {spec['threads']}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  app start, `python -m tweetgen app` to its first answered POST /api/generate: {results['start_s']:.1f} s (aim: 5 s)")
    header = f"{'clients':>7}  {'server':<16}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'vs one at a time':>18}"
    print(header)
    print("-" * len(header))
    for n in (1, clients):
        for batching in (False, True):
            r = loads[(n, batching)]
            ratio = r["rps"] / loads[(n, False)]["rps"]
            print(f"{n:>7}  {'batched' if batching else 'one at a time':<16}{r['n']:>9}{r['rps']:>8.1f}{r['p50'] * 1000:>8.0f}"
                  f"{r['p95'] * 1000:>8.0f}{ratio:>17.2f}x")
    counts = results[("counts", True)]
    print(f"  batching server: {counts['requests']} requests joined its generation in {counts['batches']} groups "
          f"({counts['requests'] / max(counts['batches'], 1):.1f} on average), at most {counts['most_rows']} rows at once (all loads and warm-ups)")
    same = [loads[(n, True)]["answers"][key] == text for n in (1, clients) for key, text in loads[(n, False)]["answers"].items()]
    print(f"  same prompt and seed, same text with batching and without: {sum(same)} of {len(same)}")
    speedup = loads[(clients, True)]["rps"] / loads[(clients, False)]["rps"]
    p50 = loads[(1, True)]["p50"] * 1000
    print(f"  targets: {clients} clients at least 3x the requests/s of one at a time: {speedup:.2f}x "
          f"({'met' if speedup >= 3 else 'NOT met'}); p50 at 1 client at most 250 ms: {p50:.0f} ms ({'met' if p50 <= 250 else 'NOT met'})")


# ------------------------------------------------------------------------------ the report


def measure_job(spec: dict, repeats: int, folder: Path) -> list[dict]:
    runs = []
    for i in range(repeats):
        store = folder / f"run-{i}"
        shutil.copytree(spec["store"], store)
        result, wall = spawn("job", {**spec, "store": str(store)})
        result["start + imports"] = result["imported_at"] - result["spawned_at"]
        result["exit"] = wall - (result["finished_at"] - result["spawned_at"])
        runs.append(result)
        shutil.rmtree(store)
    return runs


def print_job(runs: list[dict], spec: dict) -> None:
    median = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    walls = [r["wall_s"] for r in runs]
    tokens = runs[0]["tokens"]
    generated = sum(tokens)
    print(f"\nThe daily job, end to end: run_batch_inference in a fresh process, {len(runs)} runs, median seconds")
    print(f"  champion: {spec['champion']}; torch threads: {spec['threads']}")
    print(f"  tokens generated per run: {' + '.join(map(str, tokens))} = {generated} "
          f"(at most {len(tokens)} x {runs[0]['max_new_tokens']}), {generated / median('generation'):,.0f} tokens/s while generating")
    header = "".join(f"{part:>17}" for part in [*JOB_PARTS, "total"])
    print(header)
    print("-" * len(header))
    print("".join(f"{median(part):>17.2f}" for part in JOB_PARTS) + f"{statistics.median(walls):>17.2f}")
    print(f"  total min-max {min(walls):.2f}-{max(walls):.2f} s; run_batch_inference alone {median('run_s'):.2f} s")
    peak = max(r["peak_mb"] for r in runs)
    verdict = "within" if peak < JOB_MEMORY_TARGET_MB else "OVER"
    print(f"  peak memory (max RSS of the job's process): {peak:,.0f} MB   target: well under {JOB_MEMORY_TARGET_MB:,} MB ({verdict})")


def print_throughput(result: dict, spec: dict) -> None:
    print(f"\nGeneration throughput: {spec['new_tokens']} new tokens per sequence from <|bos|>, "
          f"{spec['repeats']} interleaved repeats, torch {result['torch']}, {spec['threads']} thread(s)")
    header = f"{'batch':>5}  {'generator':<40}{'median s':>10}{'tokens/s':>10}{'min-max tokens/s':>20}{'vs greedy':>11}"
    print(header)
    print("-" * len(header))
    for n in (1, spec["batch"]):
        tokens = n * spec["new_tokens"]
        greedy = statistics.median(result["seconds"][f"{n} greedy"])
        for label, kind in GENERATORS.items():
            times = result["seconds"][f"{n} {kind}"]
            median = statistics.median(times)
            spread = f"{tokens / max(times):,.0f}-{tokens / min(times):,.0f}"
            print(f"{n:>5}  {label:<40}{median:>10.3f}{tokens / median:>10,.0f}{spread:>20}{greedy / median:>10.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats of each case (about a minute)")
    parser.add_argument("--repeats", type=int, help="repeats of each case (default 7, 3 with --quick)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in every case (default 1)")
    parser.add_argument("--batch", type=int, default=16, help="sequences generated at once in the batched rows (default 16)")
    parser.add_argument("--new-tokens", type=int, default=64, help="new tokens per sequence in the throughput rows (default 64)")
    parser.add_argument("--train-steps", type=int, default=0, help="train the champion this many steps (default 0: untrained)")
    parser.add_argument("--family", choices=["gpt2", "lstm"], default="gpt2", help="the champion's model family (default gpt2)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients of the serving part (default 20)")
    parser.add_argument("--requests", type=int, default=24,
                        help="requests of the single client in the serving part; each of the concurrent ones sends half (default 24)")
    parser.add_argument("--only", choices=["job", "throughput", "serving"], help="run one part only")
    parser.add_argument("--worker", choices=["job", "throughput", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "serve":
        serve_worker(json.loads(args.spec))
        return
    if args.worker:
        worker = job_worker if args.worker == "job" else throughput_worker
        print(json.dumps(worker(json.loads(args.spec)), default=float))
        return
    repeats = args.repeats or (3 if args.quick else 7)
    parts = [args.only] if args.only else ["job", "throughput", "serving"]
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as folder:
        print("preparing the store and the champion ...", file=sys.stderr, flush=True)
        spec = prepare(Path(folder), args.train_steps, args.threads, args.family)
        if "job" in parts:
            print(f"running the job {repeats} times ...", file=sys.stderr, flush=True)
            runs = measure_job(spec, repeats, Path(folder))
        if "throughput" in parts:
            print("measuring generation throughput ...", file=sys.stderr, flush=True)
            throughput_spec = {**spec, "batch": args.batch, "new_tokens": args.new_tokens, "repeats": repeats}
            throughput, _ = spawn("throughput", throughput_spec)
        if "serving" in parts:
            print("measuring the app's start and its answers under load ...", file=sys.stderr, flush=True)
            served = measure_serving(spec, args.clients, args.requests)
    if "job" in parts:
        print_job(runs, spec)
    if "throughput" in parts:
        print_throughput(throughput, throughput_spec)
    if "serving" in parts:
        print_serving(served, spec, args.clients)


if __name__ == "__main__":
    main()

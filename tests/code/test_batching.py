"""Batched generation: requests that wait together run as one batch, and each keeps its own prompt,
seed and text (the same text it gets alone), for both model families."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fakes.tiny_model import register_tiny_champion
from tests.fakes.tweet_texts import invented_tweets
from tweetgen.errors import TweetgenError
from tweetgen.model.build import byte_tokenizer
from tweetgen.model.evaluate import framed_ids
from tweetgen.model.generate import sample, sample_rows
from tweetgen.model.lstm import build_lstm
from tweetgen.model.ngram import count_ngrams
from tweetgen.ui.batcher import GenerationBatcher
from tweetgen.ui.predictor import Predictor

REQUESTS = [("The rocket", 1), ("", 2), ("The rocket", 3), ("Mars", 1), ("", 5), ("The rocket", 1), ("Starship will", 7)]


@pytest.fixture(scope="module")
def lstm():
    """The default family: an LSTM over bytes with an n-gram of invented tweets mixed in."""
    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=16, hidden_size=32, seed=1).eval()
    model.attach_ngram(count_ngrams(framed_ids(tokenizer, invented_tweets(200)), order=7, vocab_size=len(tokenizer)), 0.3)
    return model, tokenizer


@pytest.fixture(scope="module")
def tiny_registry(tmp_path_factory):
    registry, _ = register_tiny_champion(tmp_path_factory.mktemp("tiny"))
    return registry


@pytest.mark.parametrize("family", ["lstm", "gpt2"])
def test_each_row_gets_the_text_it_gets_alone(family: str, lstm, tiny_registry) -> None:
    model, tokenizer = lstm if family == "lstm" else tiny_registry.load(tiny_registry.champion("tweet_gpt2"))
    passes: list[int] = []
    # every forward pass ends in the head (the LSTM's generation steps skip the model's forward)
    hook = model.get_output_embeddings().register_forward_hook(lambda module, args, output: passes.append(output.shape[0]) and None)
    try:
        together = [row.text for row in sample_rows(model, tokenizer, REQUESTS, max_new_tokens=24)]
        batched_passes = len(passes)
        alone = [sample_rows(model, tokenizer, [request], max_new_tokens=24)[0].text for request in REQUESTS]
    finally:
        hook.remove()
    assert together == alone
    # the premise: they shared passes; the LSTM's rows of every prompt length end up in one batch
    assert batched_passes < (len(passes) - batched_passes) / (3 if family == "lstm" else 1.5)
    if family == "lstm":
        assert max(passes[:batched_passes]) == len(REQUESTS)
    assert all(text.startswith(prompt) for text, (prompt, _) in zip(together, REQUESTS, strict=True))
    assert together[0] == together[5]  # same prompt and seed
    assert len({together[0], together[2]}) == 2 and len({together[1], together[4]}) == 2  # another seed, another text
    assert all(len(text) > len(prompt) for text, (prompt, _) in zip(together, REQUESTS, strict=True))


def test_sample_is_the_rows_of_one_prompt_seed_after_seed(lstm) -> None:
    model, tokenizer = lstm
    assert sample(model, tokenizer, "The rocket", n=3, seed=10, max_new_tokens=20) == [row.text for row in sample_rows(
        model, tokenizer, [("The rocket", 10), ("The rocket", 11), ("The rocket", 12)], max_new_tokens=20
    )]


def test_a_prompt_without_room_gets_its_error_and_the_others_their_text(tiny_registry) -> None:
    model, tokenizer = tiny_registry.load(tiny_registry.champion("tweet_gpt2"))  # a 64-token context
    long_prompt = "rocket " * 80
    rows = sample_rows(model, tokenizer, [("The rocket", 1), (long_prompt, 2), ("", 3)], max_new_tokens=8)
    assert isinstance(rows[1], TweetgenError) and "leaves no room to generate" in str(rows[1])
    assert rows[0].text.startswith("The rocket") and rows[2].text
    assert rows[0] == sample_rows(model, tokenizer, [("The rocket", 1)], max_new_tokens=8)[0]


def test_concurrent_requests_run_as_one_batch_with_the_texts_they_get_one_at_a_time(tiny_registry) -> None:
    batched = Predictor(lambda: tiny_registry, "tweet_gpt2", max_new_tokens=16, batch_window_s=0.5)
    one_at_a_time = Predictor(lambda: tiny_registry, "tweet_gpt2", max_new_tokens=16, batching=False)
    batched.version()  # loaded first, so every request is waiting when the window closes
    requests = [(f"Day {i % 3}", i) for i in range(12)]
    with ThreadPoolExecutor(len(requests)) as pool:
        answers = list(pool.map(lambda r: batched.generate(*r), requests))
    assert batched.batcher.stats.batches < len(requests)  # the premise: they were batched
    assert batched.batcher.stats.requests == len(requests)
    assert [text for text, _ in answers] == [one_at_a_time.generate(*r)[0] for r in requests]
    assert {version.version for _, version in answers} == {1}
    assert one_at_a_time.batcher.stats.batches == 0


class EchoRows:
    """A generation for the batcher's own tests: each row ends after ``steps`` passes with its prompt
    and seed as its text; ``gate`` (when given) must be open for a pass to run."""

    def __init__(self, steps: int = 1, gate: threading.Event | None = None, fail_first_pass: bool = False) -> None:
        self.steps, self.gate, self.fail = steps, gate, fail_first_pass
        self.left: dict[object, tuple[str, int]] = {}
        self.added: list[tuple[float, int]] = []  # when, how many
        self.widths: list[int] = []  # rows in each pass

    @property
    def rows(self) -> int:
        return len(self.left)

    def add(self, requests, keys):
        self.added.append((time.monotonic(), len(requests)))
        for key, (prompt, seed) in zip(keys, requests, strict=True):
            self.left[key] = (f"{prompt}/{seed}", self.steps)
        return {key: TweetgenError("too long") for key, (prompt, _) in zip(keys, requests, strict=True) if prompt == "too long"}

    def step(self):
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            self.fail = False
            self.left.clear()
            raise TweetgenError("No trained model yet.")
        self.widths.append(len(self.left))
        ended = [(key, text) for key, (text, steps) in self.left.items() if steps == 1]
        self.left = {key: (text, steps - 1) for key, (text, steps) in self.left.items() if steps > 1}
        return ended


def test_a_lone_request_waits_no_longer_than_the_window() -> None:
    rows = EchoRows()
    batcher = GenerationBatcher(lambda: rows, window_s=0.05)
    before = time.monotonic()
    assert batcher.submit("alone", 1) == "alone/1"
    assert 0.04 <= rows.added[0][0] - before < 1.0  # held for the window (loose: a busy machine is slow), not more
    assert (batcher.stats.batches, batcher.stats.requests) == (1, 1)


def test_requests_join_a_running_generation_and_leave_when_they_end() -> None:
    gate, rows = threading.Event(), EchoRows(steps=3)
    rows.gate = gate
    batcher = GenerationBatcher(lambda: rows, window_s=0.0, max_batch=4)
    with ThreadPoolExecutor(7) as pool:
        first = pool.submit(batcher.submit, "first", 0)
        while not rows.added:
            time.sleep(0.01)
        others = [pool.submit(batcher.submit, f"p{i}", i) for i in range(6)]
        time.sleep(0.3)  # they wait while the first pass is held
        gate.set()
        assert first.result(10) == "first/0"
        assert [f.result(10) for f in others] == [f"p{i}/{i}" for i in range(6)]
        too_long = pool.submit(batcher.submit, "too long", 9)
        with pytest.raises(TweetgenError, match="too long"):
            too_long.result(10)  # its own error, to it alone
    assert max(rows.widths) == 4 == batcher.stats.most_rows  # never more than max_batch rows at once
    assert rows.added[0][1] == 1 and sum(n for _, n in rows.added) == 8  # the others joined while it ran
    assert len(rows.added) < 8


def test_an_error_of_the_generation_reaches_every_request_in_it_and_the_batcher_goes_on() -> None:
    opened: list[EchoRows] = []

    def open_rows() -> EchoRows:
        opened.append(EchoRows(fail_first_pass=not opened))
        return opened[-1]

    batcher = GenerationBatcher(open_rows, window_s=0.2)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(batcher.submit, "p", i) for i in range(3)]
        errors = [f.exception(10) for f in futures]
    assert [str(e) for e in errors] == ["No trained model yet."] * 3
    assert batcher.submit("p", 9) == "p/9" and len(opened) == 2  # a fresh generation after the failure


def test_the_page_and_the_api_waiting_together_are_generated_in_shared_batches(tiny_registry, tmp_path: Path) -> None:
    import json
    import urllib.request

    from gradio_client import Client

    from tests.fakes.app_server import demo_store
    from tweetgen.ui.browser import running_app

    predictor = Predictor(lambda: tiny_registry, "tweet_gpt2", max_new_tokens=12, batch_window_s=1.0)
    predictor.version()

    def api(seed: int) -> str:
        body = json.dumps({"prompt": "The rocket", "seed": seed}).encode()
        request = urllib.request.Request(f"{url}api/generate", data=body, method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["text"]

    with running_app(demo_store(tmp_path / "store", n_runs=1), predictor, tmp_path / "gradio") as url:
        clients = [Client(url, verbose=False, download_files=str(tmp_path / "downloads")) for _ in range(3)]
        with ThreadPoolExecutor(7) as pool:
            pages = [pool.submit(client.predict, "Mars", api_name="/generate") for client in clients]
            texts = [pool.submit(api, seed) for seed in range(4)]
            assert all(Path(page.result(60)).is_file() for page in pages)  # each page request got its tweet image
            texts = [future.result(60) for future in texts]
    assert predictor.batcher.stats.requests == 7
    assert predictor.batcher.stats.batches <= 3  # 7 requests within the window: shared batches, not one each
    alone = Predictor(lambda: tiny_registry, "tweet_gpt2", max_new_tokens=12, batching=False)
    assert texts == [alone.generate("The rocket", seed)[0] for seed in range(4)]


def test_a_request_keeps_the_best_of_its_candidates_by_the_models_own_bits_per_char(tiny_registry) -> None:
    from tweetgen.model.evaluate import text_bits_per_char

    single = Predictor(lambda: tiny_registry, "tweet_gpt2", max_new_tokens=16, batching=False, best_of=1)
    candidates = [single.generate("Day", seed)[0] for seed in range(40, 44)]  # seeds 40..43: request seed 40's
    _, model, tokenizer = single._load()
    scores = text_bits_per_char(model, tokenizer, candidates)
    assert len(set(scores)) == 4  # the premise: the candidates differ, so the choice matters
    best = candidates[scores.index(min(scores))]
    alone = Predictor(lambda: tiny_registry, "tweet_gpt2", max_new_tokens=16, batching=False)
    batched = Predictor(lambda: tiny_registry, "tweet_gpt2", max_new_tokens=16)
    assert alone.generate("Day", 40)[0] == best == batched.generate("Day", 40)[0]
    assert batched.batcher.stats.requests == 1  # one request, whatever its candidates


def test_the_app_draws_as_many_candidates_as_the_daily_job_and_the_card() -> None:
    from tweetgen.model import generate
    from tweetgen.ui import predictor

    assert predictor.BEST_OF == generate.BEST_OF == 4


def test_the_best_candidate_is_scored_from_its_draws_as_evaluate_scores_it(lstm, monkeypatch) -> None:
    from tweetgen.model import generate
    from tweetgen.model.evaluate import text_bits_per_char

    model, tokenizer = lstm
    monkeypatch.setattr(model.config, "ngram_weight", 0.6)  # more of the invented tweets' n-gram: some draws end clean, some do not
    requests = [("The rocket", 11), ("", 12), ("Mars", 13), ("", 14), ("Starship", 15)]
    drawn = sample_rows(model, tokenizer, [(prompt, seed + j) for prompt, seed in requests for j in range(4)], max_new_tokens=60)
    scores = text_bits_per_char(model, tokenizer, [row.text for row in drawn])  # the definition, in one scoring pass
    best, compared, passes = generate._best, [], []
    monkeypatch.setattr(generate, "_best", lambda keys: compared.append([bits for _, bits in keys]) or best(keys))
    monkeypatch.setattr(generate, "text_bits_per_char", lambda m, t, texts: passes.append(texts) or text_bits_per_char(m, t, texts))
    kept = generate.best_rows(model, tokenizer, requests, max_new_tokens=60)
    # the premise: both ways were taken; a tweet cut, or whose stray bytes were dropped, does not frame as drawn
    assert 0 < sum(map(len, passes)) < len(drawn) and any(not row.finished for row in drawn)
    groups = sorted(scores[4 * i : 4 * i + 4] for i in range(len(requests)))  # requests end in their own order
    assert sorted(compared) == [pytest.approx(group, rel=1e-5) for group in groups]
    assert kept == [drawn[4 * i + min(range(4), key=lambda j, i=i: scores[4 * i + j])] for i in range(len(requests))]


def test_all_the_models_work_of_batched_requests_runs_on_the_batchers_thread(tiny_registry) -> None:
    predictor = Predictor(lambda: tiny_registry, "tweet_gpt2", max_new_tokens=16)  # cut tweets: a scoring pass each
    _, model, _ = predictor._load()
    threads: set[str] = set()
    hook = model.get_output_embeddings().register_forward_hook(lambda module, args, output: threads.add(threading.current_thread().name))
    try:
        with ThreadPoolExecutor(4) as pool:
            texts = list(pool.map(lambda seed: predictor.generate("Day", seed)[0], range(4)))
    finally:
        hook.remove()
    assert threads == {"generation-batcher"}  # torch's threads serve one caller
    assert len(set(texts)) > 1 and all(text.startswith("Day") for text in texts)

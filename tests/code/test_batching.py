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
    hook = model.register_forward_hook(lambda module, args, output: passes.append(output.logits.shape[0]) and None)
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


def test_a_lone_request_waits_no_longer_than_the_window() -> None:
    started: list[float] = []
    batcher = GenerationBatcher(lambda rows: started.append(time.monotonic()) or [p for p, _ in rows], window_s=0.05)
    before = time.monotonic()
    assert batcher.submit("alone", 1) == "alone"
    assert 0.04 <= started[0] - before < 1.0  # held for the window (loose: a busy machine is slow), not more
    assert (batcher.stats.batches, batcher.stats.requests) == (1, 1)


def test_a_batch_holds_at_most_max_batch_and_the_rest_form_the_next() -> None:
    release, sizes = threading.Event(), []

    def run(rows):
        sizes.append(len(rows))
        if len(sizes) == 1:
            release.wait(10)  # the first batch holds the model while the others arrive
        return [f"{p}/{s}" for p, s in rows]

    batcher = GenerationBatcher(run, window_s=0.0, max_batch=4)
    with ThreadPoolExecutor(7) as pool:
        first = pool.submit(batcher.submit, "first", 0)
        while not sizes:
            time.sleep(0.01)
        others = [pool.submit(batcher.submit, f"p{i}", i) for i in range(6)]
        time.sleep(0.3)
        release.set()
        assert first.result(10) == "first/0"
        assert [f.result(10) for f in others] == [f"p{i}/{i}" for i in range(6)]
    assert sizes == [1, 4, 2]


def test_an_error_of_the_batch_reaches_every_request_and_the_batcher_goes_on(tmp_path: Path) -> None:
    calls = []

    def run(rows):
        calls.append(len(rows))
        if len(calls) == 1:
            raise TweetgenError("No trained model yet.")
        return ["ok"] * len(rows)

    batcher = GenerationBatcher(run, window_s=0.2)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(batcher.submit, "p", i) for i in range(3)]
        errors = [f.exception(10) for f in futures]
    assert [str(e) for e in errors] == ["No trained model yet."] * 3 and calls == [3]
    assert batcher.submit("p", 9) == "ok"

"""Generation requests that wait for the model are answered together, in one batch.

The page and ``/api/generate`` call ``Predictor.generate`` from many threads at once. Instead of
taking turns, each request is handed to a ``GenerationBatcher``: one worker thread collects the
requests that are waiting, for at most ``window_s`` after the first of them arrived (or until
``max_batch`` are waiting), and runs them as one batch; the requests that arrive meanwhile form
the next batch. Every request keeps its own prompt, seed and result (``sample_rows`` draws each
row from its own generator), so a request gets the same text alone or in a crowd.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WINDOW_S = 0.005  # how long the first waiting request waits for company before its batch starts
MAX_BATCH = 32  # rows per batch: more wait for the next one


@dataclass
class _Waiting:
    prompt: str
    seed: int
    arrived: float
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None


@dataclass
class BatchStats:
    """What the batcher did so far: batches run and the requests in them."""

    batches: int = 0
    requests: int = 0

    @property
    def mean_size(self) -> float:
        return self.requests / self.batches if self.batches else 0.0


class GenerationBatcher:
    """Runs ``run(requests) -> results`` over the ``(prompt, seed)`` requests waiting together.

    ``run`` answers each request in order with its text or with the exception that request gets
    (a prompt too long); an exception ``run`` raises goes to every request of the batch.
    """

    def __init__(
        self,
        run: Callable[[Sequence[tuple[str, int]]], Sequence[object]],
        window_s: float = WINDOW_S,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._run = run
        self.window_s = window_s
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._waiting: list[_Waiting] = []
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None

    def submit(self, prompt: str, seed: int) -> str:
        """The text for ``prompt`` and ``seed``, once its batch has run (blocks the calling thread)."""
        request = _Waiting(prompt, seed, time.monotonic())
        with self._changed:
            self._waiting.append(request)
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="generation-batcher", daemon=True)
                self._worker.start()
            self._changed.notify()
        request.done.wait()
        if isinstance(request.result, BaseException):
            raise request.result
        return str(request.result)

    def _serve(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                results: Sequence[object] = self._run([(r.prompt, r.seed) for r in batch])
            except Exception as error:  # noqa: BLE001 - it belongs to the requests, which re-raise it
                results = [error] * len(batch)
            self.stats.batches += 1
            self.stats.requests += len(batch)
            for request, result in zip(batch, results, strict=True):
                request.result = result
                request.done.set()

    def _next_batch(self) -> list[_Waiting]:
        """Wait for a request, then for company: up to ``window_s`` after the oldest arrived."""
        with self._changed:
            while not self._waiting:
                self._changed.wait()
            while len(self._waiting) < self.max_batch:
                left = self._waiting[0].arrived + self.window_s - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            return batch

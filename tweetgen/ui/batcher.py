"""Generation requests that wait for the model are answered together, in one batch.

The page and ``/api/generate`` call ``Predictor.generate`` from many threads at once. Instead of
taking turns, each request is handed to a ``GenerationBatcher``: one worker thread runs a
``tweetgen.model.generate.Generation``, one forward pass per new token for every request in it.
When the model is idle, the first request waits at most ``window_s`` for company; while it is
busy, the requests that arrive join between two passes (up to ``max_batch`` rows at once), and
each leaves as soon as its tweet has ended. Every request keeps its own prompt, seed and result
(each row draws from its own generator), so a request gets the same text alone or in a crowd.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

WINDOW_S = 0.005  # how long the first request to an idle model waits for company
MAX_BATCH = 32  # rows in the generation at once: more wait for a row to end


class Rows(Protocol):
    """What the batcher drives (``tweetgen.model.generate.Generation``)."""

    @property
    def rows(self) -> int: ...

    def add(self, requests: Sequence[tuple[str, int]], keys: Sequence[object]) -> dict[object, Exception]: ...

    def step(self) -> list[tuple[object, object]]: ...


@dataclass
class _Waiting:
    prompt: str
    seed: int
    arrived: float
    first: bool = True  # the first row of a caller's request (the stats count requests, not rows)
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None

    def answer(self, result: object) -> None:
        self.result = result
        self.done.set()


@dataclass
class BatchStats:
    """What the batcher did so far: groups of requests that joined the generation together, the
    requests in them, and the most rows it ran at once."""

    batches: int = 0
    requests: int = 0
    most_rows: int = 0

    @property
    def mean_size(self) -> float:
        return self.requests / self.batches if self.batches else 0.0


class GenerationBatcher:
    """Runs the ``(prompt, seed)`` requests of many threads in one generation (``open_generation()``,
    opened when the first request comes, again after a failure). An exception it raises goes to
    every request in it or joining it; a request's own (a prompt too long) to that request alone."""

    def __init__(self, open_generation: Callable[[], Rows], window_s: float = WINDOW_S, max_batch: int = MAX_BATCH) -> None:
        self._open = open_generation
        self.window_s = window_s
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._waiting: list[_Waiting] = []
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None

    def submit(self, prompt: str, seed: int) -> object:
        """The result for ``prompt`` and ``seed`` once its row has ended (blocks the calling thread)."""
        (result,) = self.submit_all([(prompt, seed)])
        if isinstance(result, BaseException):
            raise result
        return result

    def submit_all(self, rows: Sequence[tuple[str, int]]) -> list[object]:
        """The result of each ``(prompt, seed)`` of one request (its candidates), in order, once all
        have ended; a row's exception is returned in its place (blocks the calling thread)."""
        now = time.monotonic()
        waiting = [_Waiting(prompt, seed, now, first=i == 0) for i, (prompt, seed) in enumerate(rows)]
        with self._changed:
            self._waiting.extend(waiting)
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="generation-batcher", daemon=True)
                self._worker.start()
            self._changed.notify()
        for request in waiting:
            request.done.wait()
        return [request.result for request in waiting]

    def _serve(self) -> None:
        generation: Rows | None = None
        running: dict[int, _Waiting] = {}
        while True:
            joining = self._next(idle=not running, room=self.max_batch - len(running))
            try:
                if joining:
                    generation = generation or self._open()
                    errors = generation.add([(r.prompt, r.seed) for r in joining], [id(r) for r in joining])
                    self.stats.batches += 1
                    self.stats.requests += sum(request.first for request in joining)
                    for request in joining:
                        if id(request) in errors:
                            request.answer(errors[id(request)])
                        else:
                            running[id(request)] = request
                    self.stats.most_rows = max(self.stats.most_rows, len(running))
                if running:
                    for key, result in generation.step():  # type: ignore[union-attr]
                        running.pop(key).answer(result)  # type: ignore[call-overload]
            except Exception as error:  # noqa: BLE001 - it belongs to the requests, which re-raise it
                for request in [*running.values(), *joining]:
                    if not request.done.is_set():
                        request.answer(error)
                running, generation = {}, None

    def _next(self, idle: bool, room: int) -> list[_Waiting]:
        """The requests that join now: when idle, wait for one, then up to ``window_s`` after it
        arrived for company; when busy, those waiting, without waiting."""
        with self._changed:
            if idle:
                while not self._waiting:
                    self._changed.wait()
                while len(self._waiting) < room:
                    left = self._waiting[0].arrived + self.window_s - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(left)
            joining, self._waiting = self._waiting[:room], self._waiting[room:]
            return joining

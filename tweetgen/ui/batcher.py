"""Generation requests that wait for the model are answered together, in one batch.

The page and ``/api/generate`` call ``Predictor.generate`` from many threads at once. Instead of
taking turns, each request is handed to a ``GenerationBatcher``: one worker thread runs a
``tweetgen.model.generate.Generation``, one forward pass per new token for every request in it,
and all the model's work (the choice among a request's candidates included), so torch's threads
serve one caller and never contend. When the model is idle, the first request waits at most
``window_s`` for company (none by default: a request that comes a moment later joins at the next
pass anyway); while it is busy, the requests that arrive join between two passes (up to
``max_batch`` requests at once), and each leaves as soon as its tweet has ended. Every request
keeps its own prompt, seed and result (each row draws from its own generator), so a request gets
the same text alone or in a crowd.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

WINDOW_S = 0.0  # how long the first request to an idle model waits for company
MAX_BATCH = 32  # requests in the generation at once (each writes its candidates' rows): more wait for one to end


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
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None

    def answer(self, result: object) -> None:
        self.result = result
        self.done.set()


@dataclass
class BatchStats:
    """What the batcher did so far: groups of requests that joined the generation together, the
    requests in them, and the most rows it ran at once (a request's candidates are rows)."""

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
        """The result for ``prompt`` and ``seed`` once it has ended (blocks the calling thread)."""
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
        return request.result

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
                    self.stats.requests += len(joining)
                    for request in joining:
                        if id(request) in errors:
                            request.answer(errors[id(request)])
                        else:
                            running[id(request)] = request
                    self.stats.most_rows = max(self.stats.most_rows, generation.rows)
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

"""The champion model behind the prompt box, loaded on first use and then kept.

The same ``Predictor`` serves the local registry and Hopsworks: it is given a factory that opens
the registry, so nothing is opened, logged in to or loaded before the first prompt. Requests that
arrive together (the page's and ``/api/generate``'s, from their threads) are generated together
in one batch (``tweetgen.ui.batcher``); callers just call ``generate``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tweetgen.errors import TweetgenError
from tweetgen.registry.port import former_name_hint
from tweetgen.ui.batcher import WINDOW_S, GenerationBatcher

BEST_OF = 4  # candidates per request, as tweetgen.model.generate.BEST_OF (not imported: it brings torch)

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from tweetgen.config import Settings
    from tweetgen.model.generate import Generation
    from tweetgen.registry.port import ModelRegistry, ModelVersion

MAX_PROMPT_CHARS = 100  # longer prompts are cut: a tweet starts with a few words, not a page


class ModelUnavailableError(TweetgenError):
    """No champion model can be loaded (none trained yet, or the registry is unreachable)."""


class Predictor:
    """The champion model behind the prompt box, loaded on first use and then kept.

    The registry comes from a factory, so the same code serves the local registry and Hopsworks
    (``Predictor.from_settings`` picks the one the settings name). Loading happens once, under a
    lock, when ``generate`` is first called; a failed load is retried on the next call (a model
    may have been trained meanwhile). With ``batching`` (the default), concurrent calls wait at
    most ``batch_window_s`` for each other and run as one batch; without it, one at a time. Each
    call draws ``best_of`` candidates (seeds ``seed`` to ``seed + best_of - 1``, in the same batch)
    and keeps the one with the fewest bits per character by the model's own measure, as the daily
    job and the model card's samples do (``tweetgen.model.generate.best_rows``).
    """

    def __init__(
        self,
        open_registry: Callable[[], ModelRegistry],
        model_name: str,
        max_new_tokens: int | None = None,
        temperature: float = 0.9,
        top_p: float = 0.95,
        device: str = "cpu",
        batching: bool = True,
        batch_window_s: float = WINDOW_S,
        best_of: int = BEST_OF,
    ) -> None:
        self._open_registry = open_registry
        self.device = device  # where the model is moved once loaded
        self.model_name = model_name
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self._loaded: tuple[ModelVersion, PreTrainedModel, PreTrainedTokenizerBase] | None = None
        self._lock = threading.Lock()
        self.batching = batching
        self.best_of = best_of  # candidates drawn per request; the one the model scores best is kept
        self.batcher = GenerationBatcher(self._generation, window_s=batch_window_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> Predictor:
        """A predictor for the champion of ``settings.model_name`` in the configured registry."""
        from tweetgen.registry.factory import open_model_registry

        return cls(lambda: open_model_registry(settings), settings.model_name)

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._loaded is not None

    def _load(self) -> tuple[ModelVersion, PreTrainedModel, PreTrainedTokenizerBase]:
        with self._lock:
            if self._loaded is None:
                try:
                    registry = self._open_registry()
                    version = registry.champion(self.model_name)
                except TweetgenError as error:
                    raise ModelUnavailableError(f"The model registry could not be read: {error}") from error
                if version is None:
                    raise ModelUnavailableError(
                        f"No trained model '{self.model_name}' in {registry.where} yet: run `make demo`, or `python -m tweetgen train`, to train one."
                        + former_name_hint(registry, self.model_name)
                    )
                model, tokenizer = registry.load(version)
                self._loaded = (version, model.to(self.device), tokenizer)
            return self._loaded

    def version(self) -> ModelVersion:
        """The champion version in use (loads the model if needed)."""
        return self._load()[0]

    def generate(self, prompt: str, seed: int) -> tuple[str, ModelVersion]:
        """One tweet starting with ``prompt`` ("" for a random tweet), and the version that wrote it.

        Raises:
            ModelUnavailableError: no champion model can be loaded.
            TweetgenError: the prompt leaves the model no room to generate.
        """
        version, model, tokenizer = self._load()
        rows = [(prompt, seed + j) for j in range(self.best_of)]
        drawn = self.batcher.submit_all(rows) if self.batching else self._generate_alone(rows)
        for row in drawn:
            if isinstance(row, BaseException):  # a prompt that leaves no room: the same for every candidate
                raise row
        texts = [row.text for row in drawn]  # type: ignore[attr-defined]
        if len(texts) == 1:
            return texts[0], version
        from tweetgen.model.generate import rank_keys

        scores = rank_keys(model, tokenizer, dict(enumerate(texts)))
        return texts[min(scores, key=scores.__getitem__)], version

    def _generate_alone(self, rows: list[tuple[str, int]]) -> list[object]:
        """Each row's ``Sampled`` (or its error), in one generation of their own."""
        generation = self._generation()
        with self._lock:  # one generation at a time per model: torch threads are shared anyway
            errors = generation.add(rows, list(range(len(rows))))
            results: dict[object, object] = dict(errors)
            while len(results) < len(rows):
                results.update(generation.step())
        return [results[i] for i in range(len(rows))]

    def _generation(self) -> Generation:
        """A ``Generation`` on the champion (loading it if needed), with this predictor's settings."""
        from tweetgen.model.generate import Generation

        _, model, tokenizer = self._load()
        return Generation(model, tokenizer, max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p)


def clean_prompt(prompt: str | None) -> str:
    """The prompt the page's box gives the model: what ``check_prompt`` refuses (control characters,
    line and paragraph separators, bidirectional controls) removed, surrounding whitespace removed,
    cut to ``MAX_PROMPT_CHARS`` characters."""
    import unicodedata

    kept = "".join(char for char in prompt or "" if not _breaks_the_line(char, unicodedata.category(char)))
    return kept.strip()[:MAX_PROMPT_CHARS].rstrip()


def _breaks_the_line(char: str, category: str) -> bool:
    """Whether a one-line prompt may not hold ``char``: a control character, a line or paragraph
    separator, or a bidirectional embedding, override or isolate (it reorders what follows)."""
    return category in ("Cc", "Cs", "Zl", "Zp") or "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069"


class PromptError(TweetgenError):
    """A prompt the prompt box could not have sent: too long, or holding control characters."""


def check_prompt(prompt: str) -> str:
    """The prompt the model gets, for a program's request: the prompt box's limits, refused, not cut.

    Raises:
        PromptError: longer than ``MAX_PROMPT_CHARS`` once trimmed, or holds a control character,
            a line or paragraph separator (U+2028, U+2029) or a bidirectional override or isolate
            (U+202A-U+202E, U+2066-U+2069), none of which a one-line prompt holds.
    """
    import unicodedata

    text = prompt.strip()
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptError(f"The prompt is {len(text)} characters long; send at most {MAX_PROMPT_CHARS}, as in the prompt box.")
    for position, char in enumerate(text):
        kind = unicodedata.category(char)
        if _breaks_the_line(char, kind):
            what = "control character" if kind in ("Cc", "Cs") else "line break" if kind in ("Zl", "Zp") else "bidirectional control"
            raise PromptError(f"The prompt holds the {what} U+{ord(char):04X} at position {position}; send one line of text.")
    return text

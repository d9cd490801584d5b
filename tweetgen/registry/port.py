"""The model registry port: named models with numbered versions, metrics, cards and one champion.

A registry keeps numbered versions of a named model, each with numeric metrics and a card, and
names one version the champion: the one batch inference and the app use. It changes only by
``promote_if_better``, which applies the rule of ``tweetgen.registry.champion``: a version that
cannot be loaded is never made champion, and a champion that cannot be loaded is replaced.

Names and metrics follow Hopsworks' rules so the same calls work on both backends: names are
``[a-zA-Z0-9_]+``, metric values are finite numbers.
"""

from __future__ import annotations

import abc
import contextlib
import math
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tweetgen.config import DEFAULT_MODEL_NAME, FORMER_DEFAULT_MODEL_NAME
from tweetgen.errors import TweetgenError
from tweetgen.model.families import LEGACY_FAMILY
from tweetgen.registry.champion import CHAMPION_METRIC, ChampionDecision, Rescore, decide_champion

if TYPE_CHECKING:  # importing transformers takes seconds: only the load paths pay for it
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MODEL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_]+$")


class RegistryError(TweetgenError):
    """The model registry refuses a request or holds something unreadable (names what and where)."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: numeric ``metrics``, and a ``card`` of JSON values (data version,
    settings, ``eval_set_id``, samples, loss curve). ``location`` is where its files are."""

    name: str
    version: int
    metrics: dict[str, float]
    card: dict[str, Any] = field(default_factory=dict, repr=False)
    location: str = ""

    @property
    def eval_set_id(self) -> str | None:
        return self.card.get("eval_set_id")

    @property
    def family(self) -> str:
        """The model family the card records (``lstm``, ``gpt2``, ...); ``gpt2`` for older cards."""
        return str(self.card.get("family") or LEGACY_FAMILY)

    @property
    def score(self) -> float | None:
        """The champion metric, or None if it is missing or not finite."""
        value = self.metrics.get(CHAMPION_METRIC)
        return value if value is not None and math.isfinite(value) else None


def former_name_hint(registry: ModelRegistry, name: str) -> str:
    """One sentence (with a leading space) when ``name`` is the default model name and ``registry``
    still holds versions under the former default (``FORMER_DEFAULT_MODEL_NAME``); "" otherwise,
    also when the registry cannot be read (the caller's own message says so)."""
    if name != DEFAULT_MODEL_NAME:
        return ""
    try:
        former = registry.versions(FORMER_DEFAULT_MODEL_NAME)
    except TweetgenError:
        return ""
    if not former:
        return ""
    return (f" The registry holds {len(former)} version(s) under the former default name '{FORMER_DEFAULT_MODEL_NAME}':"
            f" set TWEETGEN_MODEL_NAME={FORMER_DEFAULT_MODEL_NAME} (in .env or the environment) to keep using them.")


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name; raise ``RegistryError`` otherwise."""
    if not isinstance(name, str) or not MODEL_NAME_PATTERN.match(name):
        raise RegistryError(f"The model name {name!r} is invalid; use only letters, digits and underscores (no hyphens).")
    return name


def check_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Return ``metrics`` as floats; raise ``RegistryError`` if a value is not a finite number."""
    checked: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise RegistryError(f"The metric {key!r} is {value!r}; model metrics must be finite numbers.")
        checked[str(key)] = float(value)
    return checked


class ModelRegistry(abc.ABC):
    """Versions of named models, with metrics, cards and one champion per name."""

    #: Human-readable location, used in messages ("data/models", "Hopsworks project x").
    where: str = ""

    def register(self, model_dir: Path, name: str, metrics: dict[str, float], card: dict[str, Any]) -> ModelVersion:
        """Store the model and tokenizer saved in ``model_dir`` as the next version of ``name``.

        The new version is not the champion until ``promote_if_better`` says so.

        Raises:
            RegistryError: invalid name or metrics, or ``model_dir`` holds no saved model;
                nothing is written.
        """
        check_model_name(name)
        checked = check_metrics(metrics)
        if not (Path(model_dir) / "config.json").is_file():
            raise RegistryError(f"{model_dir} holds no saved model (config.json is missing); save the model there first.")
        return self._register(Path(model_dir), name, checked, dict(card))

    @abc.abstractmethod
    def _register(self, model_dir: Path, name: str, metrics: dict[str, float], card: dict[str, Any]) -> ModelVersion:
        """Store a validated version under the next free number."""

    @abc.abstractmethod
    def versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, oldest first; empty if none was registered."""

    @abc.abstractmethod
    def champion(self, name: str) -> ModelVersion | None:
        """The current champion of ``name``, or None if no version was ever promoted."""

    @abc.abstractmethod
    def load(self, version: ModelVersion) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        """The model (in eval mode) and tokenizer of ``version``. Raises ``RegistryError`` if unreadable."""

    @abc.abstractmethod
    def _record_champion(self, candidate: ModelVersion, decision: ChampionDecision) -> None:
        """Make ``candidate`` the champion of its name, remembering the decision."""

    def champion_record(self, name: str) -> dict[str, Any] | None:
        """What was recorded when the champion was chosen (version, scores, reason, time), or None."""
        return None

    def check_files(self, version: ModelVersion) -> str | None:
        """Why ``version``'s files cannot be loaded, found cheaply (without loading), or None.

        The default cannot tell without downloading the version: it returns None.
        """
        return None

    def damage(self, version: ModelVersion) -> str | None:
        """Why ``version`` cannot be loaded, or None if it can: the cheap check, then a real load."""
        problem = self.check_files(version)
        if problem:
            return problem
        try:
            self.load(version)
        except RegistryError as error:
            return str(error)
        return None

    def _champion_lock(self, name: str) -> contextlib.AbstractContextManager:
        """Held while a decision is made, so two runs cannot both replace the same champion."""
        return contextlib.nullcontext()

    def promote_if_better(self, candidate: ModelVersion, rescore: Rescore | None = None) -> ChampionDecision:
        """Apply the champion rule to ``candidate`` and record it as champion if it wins.

        Args:
            candidate: a registered version.
            rescore: returns a version's ``eval_bits_per_char`` on the candidate's eval set;
                called only when the champion was scored on another set.
        """
        with self._champion_lock(candidate.name):
            champion = self.champion(candidate.name)
            champion_damage = self.damage(champion) if champion else None
            decision = decide_champion(
                candidate, champion, rescore,
                candidate_damage=self.damage(candidate), champion_damage=champion_damage,
            )
            if decision.promoted:
                self._record_champion(candidate, decision)
        return decision


def format_versions(registry: ModelRegistry, name: str) -> str:
    """A text table of the versions of ``name`` with their main metrics, marking the champion and
    every version whose files are broken (``check_files``), and why the champion was chosen when
    it replaced a broken one."""
    versions = registry.versions(name)
    if not versions:
        return f"No versions of '{name}' in {registry.where}; run `python -m tweetgen train` to train one.\n"
    champion = registry.champion(name)
    columns = ("eval_bits_per_char", "eval_perplexity", "train_seconds", "train_tokens_per_second")
    lines = [f"{'version':>7}  {'family':<8} {'bits/char':>9}  {'perplexity':>10}  {'train s':>8}  {'tokens/s':>9}  {'base':<10} "
             f"{'parent':>6}  {'data ends at':<20} champion"]
    broken = []
    for v in versions:
        bpc, ppl, secs, tps = (v.metrics.get(c, math.nan) for c in columns)
        mark = "*" if champion and champion.version == v.version else ""
        base = str(v.card.get("settings", {}).get("base_model", ""))[:10]
        problem = registry.check_files(v)
        if problem:
            broken.append(f"version {v.version} is broken: {problem}")
            mark = f"{mark} broken".strip()
        parent = v.card.get("parent_version")
        ends = str(v.card.get("newest_tweet_at") or "")[:16].replace("T", " ")
        lines.append(f"{v.version:>7}  {v.family[:8]:<8} {bpc:>9.3f}  {ppl:>10.1f}  {secs:>8.0f}  {tps:>9,.0f}  {base:<10} "
                     f"{'' if parent is None else parent:>6}  {ends:<20} {mark}")
    lines.append(f"champion: version {champion.version}" if champion else "champion: none yet")
    record = registry.champion_record(name) or {}
    if record.get("previous_damage") and not any(line.startswith(f"version {record.get('previous')} ") for line in broken):
        broken.append(f"version {record.get('previous')} is broken: {record['previous_damage']}")
    return "\n".join(lines + broken) + "\n"

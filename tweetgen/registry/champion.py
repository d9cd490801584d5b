"""The champion rule: which registered version batch inference and the app use.

The champion is never "version 1" or "the newest"; ``ModelRegistry.promote_if_better`` applies
this rule to each new version:

1. A candidate without a finite ``eval_bits_per_char``, or one that cannot be loaded, is never
   promoted (a failed run never registers at all: the training pipeline raises before it gets
   here).
2. With no champion yet, the candidate becomes champion. A champion that cannot be loaded is no
   champion: the candidate replaces it, and the record says why.
3. Otherwise both must be scored on the candidate's evaluation set. If the champion's card names
   the same ``eval_set_id``, its recorded score is used; if not, the champion is re-scored on the
   candidate's set by the ``rescore`` callback (the caller has the texts and the evaluation code).
4. The candidate is promoted only if its score is strictly lower (bits per character: lower is
   better). A tie keeps the champion.

Versions of every model family (an LSTM, a GPT-2) are versions of the same model name, so the
rule compares them with each other: bits per character counts characters, whatever the
tokenizer. ``challengers`` picks, for the A/B arms of batch inference, the best version of each
family other than the champion's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tweetgen.registry.port import ModelVersion

CHAMPION_METRIC = "eval_bits_per_char"  # lower is better


@dataclass(frozen=True)
class ChampionDecision:
    """The outcome of the champion rule for one candidate, with the reason in one sentence.

    ``champion_score`` is the previous champion's score on the candidate's eval set (None when
    there was no champion, or it could not be loaded)."""

    promoted: bool
    candidate: int
    previous: int | None
    reason: str
    candidate_score: float | None
    champion_score: float | None = None
    previous_damage: str | None = None  # why the previous champion could not be loaded


Rescore = Callable[["ModelVersion"], float]


def decide_champion(
    candidate: ModelVersion,
    champion: ModelVersion | None,
    rescore: Rescore | None,
    candidate_damage: str | None = None,
    champion_damage: str | None = None,
) -> ChampionDecision:
    """Apply the champion rule (module docstring) without changing anything.

    Args:
        candidate_damage, champion_damage: why that version cannot be loaded, or None if it can.
    """
    score = candidate.score
    previous = champion.version if champion else None
    if score is None:
        return ChampionDecision(False, candidate.version, previous, f"Version {candidate.version} has no finite {CHAMPION_METRIC}.", None)
    if candidate_damage:
        reason = f"Version {candidate.version} cannot be loaded ({candidate_damage}), so it is not promoted."
        return ChampionDecision(False, candidate.version, previous, reason, score)
    if champion is None:
        return ChampionDecision(True, candidate.version, None, f"Version {candidate.version} becomes the first champion ({score:.4f} bits/char).", score)
    if champion_damage:
        reason = (
            f"Version {champion.version}, the champion, cannot be loaded ({champion_damage}); "
            f"version {candidate.version} ({score:.4f} bits/char) replaces it."
        )
        return ChampionDecision(True, candidate.version, previous, reason, score, previous_damage=champion_damage)
    if champion.eval_set_id is not None and champion.eval_set_id == candidate.eval_set_id and champion.score is not None:
        champion_score, where = champion.score, "on the same eval set"
    elif rescore is not None:
        champion_score, where = rescore(champion), f"re-scored on eval set {candidate.eval_set_id}"
    else:
        reason = f"Version {champion.version} was scored on another eval set and no re-scoring was given; the champion stays."
        return ChampionDecision(False, candidate.version, previous, reason, score)
    promoted = score < champion_score
    verb = "beats" if promoted else "does not beat"
    reason = f"Version {candidate.version} ({score:.4f} bits/char) {verb} version {champion.version} ({champion_score:.4f}) {where}."
    return ChampionDecision(promoted, candidate.version, previous, reason, score, champion_score)


def new_champion_record(candidate: ModelVersion, decision: ChampionDecision) -> dict[str, Any]:
    """What a registry stores when ``candidate`` becomes champion: the version, both scores, why."""
    return {
        "version": candidate.version,
        "metric": CHAMPION_METRIC,
        "score": decision.candidate_score,
        "eval_set_id": candidate.eval_set_id,
        "previous": decision.previous,
        "previous_score": decision.champion_score,
        "previous_damage": decision.previous_damage,
        "reason": decision.reason,
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def challengers(versions: list[ModelVersion], champion: ModelVersion, is_whole: Callable[[ModelVersion], bool]) -> list[ModelVersion]:
    """The best version of each family other than the champion's, one per family (by family name).

    Best: the lowest ``eval_bits_per_char`` among the family's versions scored on the champion's
    eval set; when none was, its newest version (scores on other eval sets do not compare). Only
    versions whose files are whole (``is_whole``) are considered.
    """
    by_family: dict[str, list[ModelVersion]] = {}
    for version in versions:
        if version.family != champion.family:
            by_family.setdefault(version.family, []).append(version)
    picked = []
    for family in sorted(by_family):
        whole = [v for v in by_family[family] if is_whole(v)]
        comparable = [v for v in whole if v.eval_set_id == champion.eval_set_id and v.score is not None]
        if comparable:
            picked.append(min(comparable, key=lambda v: (v.score, -v.version)))
        elif whole:
            picked.append(max(whole, key=lambda v: v.version))
    return picked

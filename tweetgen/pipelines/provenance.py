"""Invented and real tweets never share a feature group.

The sample corpus is invented: its rows carry the invented account ``SAMPLE_USERNAME``. Every
other row came from the Kaggle files or the X API and is real. ``check_provenance`` runs before a
write into ``tweets`` or ``held_out_tweets`` and refuses, with one sentence and before anything is
written, a write that would put invented tweets next to real ones: the sample corpus into a group
holding real tweets, Kaggle or X tweets (or a replay of them) into a group holding the sample.
So a model, the daily job and the app never pass an invented tweet off as a real one.

A store written by an earlier version of the project may hold the sample corpus under the real
account's name (it was generated with ``TWEETGEN_USERNAME``); its tweet ids are the sample's own,
which is how the refusal recognises it and says to start from an empty store.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tweetgen.errors import ValidationError
from tweetgen.schema import SAMPLE_USERNAME, GroupSpec
from tweetgen.store.port import FeatureStore

INVENTED, REAL = "invented", "real"
FRESH_STORE = (
    "start from an empty store (`make reset` deletes data/, or set TWEETGEN_DATA_DIR to a new folder; on Hopsworks, "
    "use another project)"
)


def invented_rows(usernames: pd.Series) -> pd.Series:
    """True where a row belongs to the invented sample account (``@`` and case ignored)."""
    return usernames.fillna("").astype(str).str.strip().str.removeprefix("@").str.lower() == SAMPLE_USERNAME


def kinds(usernames: pd.Series) -> set[str]:
    """The kinds of tweets among ``usernames``: a subset of {``INVENTED``, ``REAL``}, empty for no rows."""
    invented = invented_rows(usernames)
    return {kind for kind, present in ((INVENTED, invented.any()), (REAL, (~invented).any())) if present}


def check_provenance(store: FeatureStore, frames: Sequence[pd.DataFrame], specs: Sequence[GroupSpec]) -> None:
    """Refuse writing the rows of ``frames`` (raw or feature rows, with ``username``) into the groups
    ``specs`` when they mix invented and real tweets, or their kind differs from what a group holds.

    Reads the ``tweet_id`` and ``username`` columns of each group that exists; nothing when there
    are no rows to write.

    Raises:
        ValidationError: one sentence naming the group, what it holds and how to start afresh.
    """
    incoming = set().union(*(kinds(frame["username"]) for frame in frames))
    if incoming == {INVENTED, REAL}:
        raise ValidationError(
            f"These tweets mix the invented sample account @{SAMPLE_USERNAME} with real accounts; "
            "a group holds one or the other, so nothing was written."
        )
    for spec in specs if incoming else ():
        if not store.exists(spec):
            continue
        held = store.read(spec, columns=["tweet_id", "username"])
        if held.empty or kinds(held["username"]) == incoming:
            continue
        raise ValidationError(_refusal(spec, store.where, incoming, held))


def _refusal(spec: GroupSpec, where: str, incoming: set[str], held: pd.DataFrame) -> str:
    """The sentence for writing ``incoming`` tweets into a group holding ``held`` rows of the other kind."""
    group = f"The '{spec.name}' group in {where}"
    if INVENTED not in incoming:
        return (
            f"{group} holds the invented sample corpus and these tweets are real, so nothing was written; "
            f"{FRESH_STORE} and run this again."
        )
    if _is_old_sample(held):
        return (
            f"{group} holds the sample corpus as an earlier version wrote it, under the name of @{held['username'].iloc[0]}, "
            f"so nothing was written; {FRESH_STORE} and run this again."
        )
    return (
        f"{group} holds real tweets and the sample corpus is invented, so nothing was written; to try the sample, "
        f"{FRESH_STORE}."
    )


def _is_old_sample(held: pd.DataFrame) -> bool:
    """Whether every row of ``held`` has a tweet id of the sample corpus (which ids do not depend on its account)."""
    from tweetgen.sources.sample import sample_corpus

    return bool(held["tweet_id"].isin(set(sample_corpus()["tweet_id"])).all())

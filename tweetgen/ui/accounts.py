"""Whose tweets a card names: the account of a tweet, read from its row, never assumed.

A tweet of the invented sample account (``SAMPLE_USERNAME``, the sample corpus) is shown under
that account, without the verified badge, and the page says the tweets are invented. Only a real
account's tweets (the Kaggle files, the X API) carry its name, under the configured display name
(``TWEETGEN_DISPLAY_NAME``) for the configured account, and the badge. A tweet whose account is not
known is shown under no account's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from tweetgen.schema import SAMPLE_DISPLAY_NAME, SAMPLE_USERNAME

SAMPLE_NOTICE = (
    f"**These tweets are invented.** They come from the project's sample corpus, written by the made-up account "
    f"@{SAMPLE_USERNAME} so that everything runs offline; no real person wrote them. For real tweets, run "
    "`python feature_engineering.py --source kaggle --download` into an empty store."
)
UNKNOWN_NOTICE = (
    "**Whose tweet this was is unknown:** the `tweets` group no longer holds it, so no account is named."
)


@dataclass(frozen=True)
class Account:
    """The author a tweet card names: display name, @handle, whether the verified badge is drawn, and
    the avatar's letters (default: ``initials_of`` the display name, else of the handle, else "?")."""

    display_name: str
    handle: str
    verified: bool
    initials: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.initials:
            object.__setattr__(self, "initials", initials_of(self.display_name) or initials_of(self.handle) or "?")


def initials_of(name: str) -> str:
    """Up to two capital letters for an avatar: the first letters of a name's first two words, a
    parenthesised remark left out ("Elon Musk" -> "EM", "Sample Founder (invented)" -> "SF", "elonmusk"
    -> "E"). Only letters the avatar's font draws count (Latin, Greek, Cyrillic): "" when there are none."""
    words = re.findall(r"[^\W\d_][\w'’-]*", re.sub(r"\([^)]*\)", " ", name))
    return "".join(word[0] for word in words if word[0] < "\u0530")[:2].upper()


SAMPLE_ACCOUNT = Account(SAMPLE_DISPLAY_NAME, SAMPLE_USERNAME, verified=False)
UNKNOWN_ACCOUNT = Account("Unknown account", "unknown", verified=False, initials="?")


def account_for(username: object, real_username: str = "elonmusk", real_display_name: str | None = None) -> Account:
    """The account a tweet written by ``username`` (a row's ``username``) is shown under.

    The invented sample account shows as itself, unverified. A real account shows as itself with
    the badge; when it is the configured one (``TWEETGEN_USERNAME``), under its display name
    (``TWEETGEN_DISPLAY_NAME``). An unknown author (None) shows as ``UNKNOWN_ACCOUNT``.
    """
    handle = "" if username is None or pd.isna(username) else str(username).strip().removeprefix("@")
    if not handle:
        return UNKNOWN_ACCOUNT
    if handle.lower() == SAMPLE_USERNAME:
        return SAMPLE_ACCOUNT
    if handle.lower() == real_username.strip().removeprefix("@").lower():
        return Account(real_display_name or real_username, real_username, verified=True)
    return Account(handle, handle, verified=True)


def account_notice(account: Account) -> str:
    """What the page says about an account before a run's summary: a sentence for the sample and
    for an unknown author, nothing for a real account."""
    return {SAMPLE_ACCOUNT: SAMPLE_NOTICE, UNKNOWN_ACCOUNT: UNKNOWN_NOTICE}.get(account, "")


def most_common_account(usernames: pd.Series, username: str = "elonmusk", display_name: str | None = None) -> Account:
    """``account_for`` the most frequent of ``usernames``; the configured account when there are none."""
    most = usernames.dropna().mode()
    return account_for(most.iloc[0] if len(most) else username, username, display_name)

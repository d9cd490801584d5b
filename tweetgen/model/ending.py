"""How a generated tweet ends: at the model's end of tweet, or cut where a reader expects a cut.

A sample normally ends where the model emits ``eos``. One that runs out of room first (the
280-character limit, or the token budget) would stop wherever the budget did, often inside a
word ("...with the early acc"). ``end_tweet`` cuts such a text instead at its last sentence end
(".", "!" or "?", then a space) if that keeps at least half of it, or else at its last word
boundary followed by "…"; never inside a word. Pure string work: no torch here.
"""

from __future__ import annotations

import re

from tweetgen.schema import MAX_TWEET_CHARS

ELLIPSIS = "…"
# A sentence ends at . ! or ? (and any closing quotes or brackets) followed by a space.
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)")
TRAILING = " \t\n,;:-–—/&(\"'“‘"  # what a cut leaves dangling before the ellipsis


def end_tweet(text: str, finished: bool, limit: int = MAX_TWEET_CHARS, keep: int = 0) -> str:
    """``text`` as a reader gets it: unchanged (but stripped) when the model ``finished`` it
    within ``limit`` characters, else cut (``cut_at_limit``, never into its first ``keep``
    characters: the prompt)."""
    text = text.strip()
    if finished and len(text) <= limit:
        return text
    return cut_at_limit(text, limit, keep)


def cut_at_limit(text: str, limit: int = MAX_TWEET_CHARS, keep: int = 0) -> str:
    """An unfinished ``text`` cut to at most ``limit`` characters, never inside a word.

    Its last sentence end within the limit, if that keeps at least half of the limit or of the
    text; else its last word boundary, followed by "…" (within the limit). A cut never shortens
    the first ``keep`` characters (a prompt the user gave): with no boundary after them, the cut
    is right after them. Else (one word longer than the limit) its first ``limit - 1``
    characters and "…".
    """
    text = text.strip()
    keep = min(keep, limit - 1)
    # Room for the whole text plus the character after it, to see whether the limit falls between words.
    window = text[: limit + 1]
    sentence_ends = [m.end() for m in SENTENCE_END.finditer(window + " ") if keep <= m.end() <= limit]
    if sentence_ends and sentence_ends[-1] >= min(limit, len(text)) // 2:
        return text[: sentence_ends[-1]]
    room = text[:limit]  # the cut text plus "…" must fit the limit
    boundary = max(room.rfind(" "), room.rfind("\n"))
    head = room[:boundary].rstrip(TRAILING) if boundary > max(0, keep - 1) else ""
    if not head and keep:
        head = text[:keep].rstrip()
    return f"{head}{ELLIPSIS}" if head else f"{text[: limit - 1]}{ELLIPSIS}"


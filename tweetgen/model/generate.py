"""Sampling tweets from a trained model: nucleus sampling that stops at ``<|eos|>``.

A sample ends where the model ends it (``eos``); one that runs out of room first is cut where a
reader expects a cut (``tweetgen.model.ending``), never inside a word. An LSTM over bytes takes
back a word it invents and draws it again (``tweetgen.model.spelling``). ``best_of`` draws
several candidates per tweet and keeps the one with the fewest unknown words, then the one the
model itself finds most likely per character.

``sample_rows`` writes several tweets at once, each from its own prompt and seed. Rows whose
prompts have the same number of tokens read them in one forward pass (no padding, so nothing
changes what a row sees); after that, the LSTM's rows continue as one batch, one forward pass per
new token for all of them (GPT-2's key/value caches of different lengths stay apart, one batch per
prompt length). Each row draws its tokens from its own random generator, so its text depends on
its prompt, its seed and the model alone, not on which rows shared the batch (up to the last bits
of float rounding, which move a draw only when it lands within about 1e-7 of a boundary between
two tokens). ``sample_tweets`` is the same for one prompt, row ``i`` from seed ``seed + i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError
from tweetgen.model.build import context_length, is_byte_level
from tweetgen.model.ending import end_tweet
from tweetgen.model.spelling import Speller, Word, applies, model_vocabulary, restore_row
from tweetgen.schema import MAX_TWEET_CHARS

# Candidates per tweet: on the real tweets, the best of 4 lowers the share of invented words
# against plain sampling, copies no more, and costs 4x the sampling (bench/README.md, "Samples a
# person reads").
BEST_OF = 4
BPE_TWEET_TOKENS = 80  # a BPE token of tweets is about 3.3 characters: 80 tokens hold a whole tweet


def tweet_tokens(tokenizer: PreTrainedTokenizerBase) -> int:
    """New tokens enough for a whole tweet: ``MAX_TWEET_CHARS`` for a byte tokenizer, 80 for BPE."""
    return MAX_TWEET_CHARS if is_byte_level(tokenizer) else BPE_TWEET_TOKENS


@dataclass(frozen=True)
class Sampled:
    """One generated tweet: its text, and whether the model ended it (``eos`` within the limit)
    rather than the limit (then the text was cut at a sentence end or a word boundary)."""

    text: str
    finished: bool


def sample(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str = "", n: int = 3, **settings: Any) -> list[str]:
    """The texts of ``sample_tweets`` (the same arguments: ``max_new_tokens``, ``seed``, ``temperature``, ``top_p``)."""
    return [s.text for s in sample_tweets(model, tokenizer, prompt, n, **settings)]


def sample_tweets(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt: str = "",
    n: int = 3,
    max_new_tokens: int | None = None,
    seed: int = 0,
    temperature: float = 0.9,
    top_p: float = 0.95,
    spell: bool = True,
) -> list[Sampled]:
    """Generate ``n`` tweets that start with ``prompt``, row ``i`` from seed ``seed + i``.

    Each sequence starts as ``bos + prompt`` and ends at the first ``eos`` or after
    ``max_new_tokens`` tokens (``None``: ``tweet_tokens``; fewer if the model's context is
    shorter); one that did not reach ``eos`` within ``MAX_TWEET_CHARS`` characters is cut
    (``tweetgen.model.ending.end_tweet``). Works for every family (GPT-2's key/value cache, the
    LSTM's state). The result is the same for the same model, prompt and ``seed``; the global
    torch RNG is left untouched. The model is left in eval mode.

    Returns:
        ``n`` samples, each the prompt followed by its continuation, without special tokens.

    Raises:
        TweetgenError: the prompt leaves no room in the model's context.
    """
    rows = sample_rows(model, tokenizer, [(prompt, seed + i) for i in range(n)], max_new_tokens, temperature, top_p, spell)
    for row in rows:
        if isinstance(row, TweetgenError):
            raise row
    return [row for row in rows if isinstance(row, Sampled)]


@dataclass
class _Row:
    key: object  # the caller's name for it
    prompt_ids: list[int]  # bos + the prompt's tokens
    room: int  # new tokens it may write
    generator: torch.Generator
    new: list[int] = field(default_factory=list)
    done: bool = False
    word: Word | None = None  # the word it is writing, while the speller checks its words


@dataclass
class _Cohort:
    """Rows that run as one batch: the model's state after their tokens, and its next logits."""

    rows: list[_Row]
    past: object
    logits: torch.Tensor  # (B, V)
    tokens: torch.Tensor | None = None  # (B,) drawn from the logits: what the next pass reads


class Generation:
    """Tweets being written, one forward pass per new token for all of them: rows join (``add``)
    and leave (``step`` returns each once it has ended) between passes, so a row never waits for
    another to end, and a new one never waits for a batch to end."""

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int | None = None,
        temperature: float = 0.9, top_p: float = 0.95, spell: bool = True,
    ) -> None:
        model.eval()
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, temperature, top_p
        self._cohorts: list[_Cohort] = []
        vocabulary = model_vocabulary(model) if spell and applies(model, tokenizer) else None
        self._speller = Speller(tokenizer, vocabulary) if vocabulary is not None else None

    @property
    def rows(self) -> int:
        """Rows being written."""
        return sum(len(cohort.rows) for cohort in self._cohorts)

    @torch.inference_mode()
    def add(self, requests: Sequence[tuple[str, int]], keys: Sequence[object]) -> dict[object, TweetgenError]:
        """Start a row per ``(prompt, seed)`` (its prompt read in one pass with the others of its
        length), named by its key; the ``TweetgenError`` of each prompt that leaves no room, by key."""
        errors: dict[object, TweetgenError] = {}
        by_length: dict[int, list[_Row]] = {}
        for key, (prompt, seed) in zip(keys, requests, strict=True):
            prompt_ids = [self.tokenizer.bos_token_id, *self.tokenizer(prompt, add_special_tokens=False)["input_ids"]]
            room = min(self.max_new_tokens or tweet_tokens(self.tokenizer), context_length(self.model) - len(prompt_ids))
            if room <= 0:
                errors[key] = TweetgenError(
                    f"The prompt is {len(prompt_ids) - 1} tokens long and leaves no room to generate; shorten it."
                )
                continue
            row = _Row(key, prompt_ids, room, torch.Generator().manual_seed(seed))
            if self._speller is not None and self._speller.in_word(prompt_ids[-1]):
                row.word = Word(-1, (), torch.empty(0))  # the prompt's last word: never taken back
            by_length.setdefault(len(prompt_ids), []).append(row)
        for rows in by_length.values():
            self._cohorts.append(_step(self.model, rows, torch.tensor([row.prompt_ids for row in rows], device=self.model.device), None))
        return errors

    @torch.inference_mode()
    def step(self) -> list[tuple[object, Sampled]]:
        """One new token for every row; the rows that ended with it, by key, and their tweets."""
        ended: list[tuple[object, Sampled]] = []
        taken_back: dict[int, Word] = {}  # by id(row): the word to go back to after this pass
        for cohort in self._cohorts:
            cohort.tokens = _draw(cohort.logits, self.temperature, self.top_p, [row.generator for row in cohort.rows])
            for index, (row, token) in enumerate(zip(cohort.rows, cohort.tokens.tolist(), strict=True)):
                if row.done:
                    continue
                if self._speller is not None:
                    row.word, take_back = self._speller.check(row.word, row.new, token, cohort.past, cohort.logits, index)  # type: ignore[arg-type]
                    if take_back:
                        del row.new[row.word.start :]  # type: ignore[union-attr]
                        taken_back[id(row)] = row.word  # type: ignore[assignment]
                        continue
                row.new.append(token)
                row.done = token == self.tokenizer.eos_token_id or len(row.new) >= row.room
                if row.done:
                    ended.append((row.key, _decode(self.tokenizer, row.prompt_ids[1:] + row.new, len(row.prompt_ids) - 1)))
        going = [c for c in (_without_ended(self.model, cohort) for cohort in self._cohorts) if c is not None]
        self._cohorts = [_step(self.model, c.rows, c.tokens.to(self.model.device)[:, None], c.past)  # type: ignore[union-attr]
                         for c in _join(self.model, going)]
        if taken_back:
            self._go_back(taken_back)
        return ended

    def _go_back(self, taken_back: dict[int, Word]) -> None:
        """Give each row taken back the state and logits it had before its word (the pass just
        made read a token it dropped)."""
        for cohort in self._cohorts:
            for index, row in enumerate(cohort.rows):
                word = taken_back.get(id(row))
                if word is not None:
                    restore_row(cohort.past, index, word.state, self.tokenizer.bos_token_id)  # type: ignore[arg-type]
                    cohort.logits[index] = word.logits


def sample_rows(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    requests: Sequence[tuple[str, int]],
    max_new_tokens: int | None = None,
    temperature: float = 0.9,
    top_p: float = 0.95,
    spell: bool = True,
) -> list[Sampled | TweetgenError]:
    """One tweet per ``(prompt, seed)`` of ``requests``, in their order; a prompt that leaves no
    room in the model's context gets its ``TweetgenError`` in its place, and the others their texts.

    Rows are generated together (see the module's docstring and ``Generation``); with ``spell``,
    an LSTM over bytes takes back the words it invents (``tweetgen.model.spelling``).
    """
    generation = Generation(model, tokenizer, max_new_tokens, temperature, top_p, spell)
    results: dict[object, Sampled | TweetgenError] = dict(generation.add(requests, range(len(requests))))
    while generation.rows:
        results.update(generation.step())
    return [results[index] for index in range(len(requests))]


def _without_ended(model: PreTrainedModel, cohort: _Cohort) -> _Cohort | None:
    """``cohort`` without its ended rows (None once all ended). The LSTM's state drops their rows;
    another model's rows stay in the batch, unread, until the last one ends."""
    going = [i for i, row in enumerate(cohort.rows) if not row.done]
    if not going:
        return None
    if len(going) == len(cohort.rows) or not (isinstance(cohort.past, tuple) and hasattr(model, "attach_ngram")):
        return cohort
    from tweetgen.model.lstm import select_rows

    keep = torch.tensor(going)
    return _Cohort([cohort.rows[i] for i in going], select_rows(cohort.past, keep), cohort.logits[keep], cohort.tokens[keep])  # type: ignore[index]


def _step(model: PreTrainedModel, rows: list[_Row], input_ids: torch.Tensor, past: object) -> _Cohort:
    """One forward pass of ``rows`` over ``input_ids`` (B, T) from ``past``."""
    output = model(input_ids=input_ids, past_key_values=past, use_cache=True)
    return _Cohort(rows, output.past_key_values, output.logits[:, -1, :])


def _join(model: PreTrainedModel, cohorts: list[_Cohort]) -> list[_Cohort]:
    """The LSTM's cohorts as one where their states can be joined (``lstm.join_states``); the rest as they are."""
    if len(cohorts) < 2 or not all(isinstance(c.past, tuple) for c in cohorts) or not hasattr(model, "attach_ngram"):
        return cohorts
    from tweetgen.model.lstm import join_states

    widths: dict[int, list[_Cohort]] = {}
    for cohort in cohorts:  # cohorts whose n-gram contexts have the same width can be joined
        widths.setdefault(cohort.past[2].shape[1] if len(cohort.past) > 2 else 0, []).append(cohort)  # type: ignore[arg-type]
    joined = []
    for group in widths.values():
        past = join_states([c.past for c in group]) if len(group) > 1 else None  # type: ignore[misc]
        if past is None:
            joined.extend(group)
        else:
            rows = [row for c in group for row in c.rows]
            joined.append(_Cohort(rows, past, torch.cat([c.logits for c in group]), torch.cat([c.tokens for c in group])))  # type: ignore[misc]
    return joined


def _draw(logits: torch.Tensor, temperature: float, top_p: float, generators: list[torch.Generator]) -> torch.Tensor:
    """One token per row (B,) from ``logits`` (B, V): the smallest set of the likeliest tokens
    whose probability reaches ``top_p``, renormalised, sampled with each row's own generator."""
    probs = torch.softmax(logits.float().cpu() / temperature, dim=-1)
    ordered, order = probs.sort(dim=-1, descending=True, stable=True)
    ordered = ordered * ((ordered.cumsum(dim=-1) - ordered) < top_p)  # the first token always stays
    cumulative = ordered.cumsum(dim=-1)
    draws = torch.stack([torch.rand((), generator=g, dtype=torch.float64) for g in generators]).float()
    picks = torch.searchsorted(cumulative, (draws * cumulative[:, -1])[:, None], right=True)
    return order.gather(1, picks.clamp(max=probs.shape[-1] - 1)).squeeze(1)


def _decode(tokenizer: PreTrainedTokenizerBase, ids: list[int], n_prompt: int) -> Sampled:
    """Decode prompt tokens plus new tokens up to the first ``eos`` among the new ones, cut if
    there is none (or the text is past the limit)."""
    new = ids[n_prompt:]
    finished = tokenizer.eos_token_id in new
    if finished:
        new = new[: new.index(tokenizer.eos_token_id)]
    # A byte-level token can end inside a UTF-8 character; the partial bytes decode to U+FFFD.
    text = tokenizer.decode(ids[:n_prompt] + new, skip_special_tokens=True).replace("\ufffd", "")
    prompt = tokenizer.decode(ids[:n_prompt], skip_special_tokens=True).strip()
    ended = end_tweet(text, finished, keep=len(prompt))
    return Sampled(ended, finished and ended == text.strip())


def best_of(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt: str = "",
    n: int = 3,
    candidates: int = BEST_OF,
    max_new_tokens: int | None = None,
    seed: int = 0,
    temperature: float = 0.9,
    top_p: float = 0.95,
    spell: bool = True,
) -> list[Sampled]:
    """``n`` tweets that start with ``prompt``, each the best of ``candidates`` (``best_rows``;
    tweet ``i`` from seeds ``seed + i * candidates`` onwards). ``candidates`` 1 is ``sample_tweets``.

    Raises:
        TweetgenError: the prompt leaves no room in the model's context.
    """
    requests = [(prompt, seed + i * candidates) for i in range(n)]
    rows = best_rows(model, tokenizer, requests, candidates, max_new_tokens, temperature, top_p, spell)
    for row in rows:
        if isinstance(row, TweetgenError):
            raise row
    return [row for row in rows if isinstance(row, Sampled)]


def best_rows(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    requests: Sequence[tuple[str, int]],
    candidates: int = BEST_OF,
    max_new_tokens: int | None = None,
    temperature: float = 0.9,
    top_p: float = 0.95,
    spell: bool = True,
) -> list[Sampled | TweetgenError]:
    """``sample_rows``, but each ``(prompt, seed)`` draws ``candidates`` tweets (seeds ``seed`` to
    ``seed + candidates - 1``, all in one batch) and keeps the best: the one with the fewest
    unknown words (when the model carries its training words, ``tweetgen.model.spelling``), and
    among those the fewest bits per character by the model's own measure (the whole tweet scored
    as ``evaluate`` scores one, its end included)."""
    drawn = sample_rows(model, tokenizer, [(prompt, seed + j) for prompt, seed in requests for j in range(candidates)],
                        max_new_tokens, temperature, top_p, spell)
    if candidates == 1:
        return drawn
    texts = {i: row.text for i, row in enumerate(drawn) if isinstance(row, Sampled)}
    scores = rank_keys(model, tokenizer, texts)
    kept: list[Sampled | TweetgenError] = []
    for start in range(0, len(drawn), candidates):
        group = range(start, start + candidates)
        kept.append(drawn[min(group, key=scores.__getitem__)] if start in scores else drawn[start])  # an error: the same for all
    return kept


def rank_keys(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: dict[int, str]) -> dict[int, tuple[int, float]]:
    """What ``best_rows`` ranks each text by, lowest first: its unknown words (0 for every text
    when the model carries no training words) and its bits per character."""
    from tweetgen.model.evaluate import text_bits_per_char

    if not texts:
        return {}
    vocabulary = model_vocabulary(model)
    unknown = [len(vocabulary.non_words(text)) if vocabulary is not None else 0 for text in texts.values()]
    return dict(zip(texts, zip(unknown, text_bits_per_char(model, tokenizer, list(texts.values())), strict=True), strict=True))

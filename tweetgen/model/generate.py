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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.errors import TweetgenError
from tweetgen.model.build import context_length, is_byte_level
from tweetgen.model.ending import end_tweet
from tweetgen.model.evaluate import framed_ids, text_bits_per_char
from tweetgen.model.measures import Vocabulary
from tweetgen.model.spelling import Speller, Word, applies, model_vocabulary, restore_row
from tweetgen.schema import MAX_TWEET_CHARS

# Candidates per tweet: on the real tweets, the best of 4 lowers the share of invented words
# against plain sampling, copies no more, and costs 4x the sampling (bench/README.md, "Samples a
# person reads").
BEST_OF = 4
BPE_TWEET_TOKENS = 80  # a BPE token of tweets is about 3.3 characters: 80 tokens hold a whole tweet
DRAW_BLOCK = 64  # uniform draws a row takes from its generator at once
K = TypeVar("K")


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
class _Request:
    """A caller's ``(prompt, seed)``: its candidates' tweets and rank keys as their rows end."""

    key: object  # the caller's name for it
    tweets: list[Sampled | None]
    bits: list[float | None]  # bits per character, known from the draws when the text frames as drawn


@dataclass
class _Row:
    request: _Request
    candidate: int  # which of the request's candidates it writes
    prompt_ids: list[int]  # bos + the prompt's tokens
    room: int  # new tokens it may write
    generator: torch.Generator
    new: list[int] = field(default_factory=list)
    done: bool = False
    word: Word | None = None  # the word it is writing, while the speller checks its words
    uniforms: list[float] = field(default_factory=list)  # its generator's next draws, taken a block at a time
    prompt_nats: float = 0.0  # the model's nats of its prompt's tokens (after bos)
    nats: list[float] = field(default_factory=list)  # and of each of its new tokens

    def draw(self) -> float:
        """The next uniform draw of its generator (as ``torch.rand`` one at a time gives them)."""
        if not self.uniforms:
            self.uniforms = torch.rand(DRAW_BLOCK, generator=self.generator, dtype=torch.float64).tolist()[::-1]
        return self.uniforms.pop()


@dataclass
class _Cohort:
    """Rows that run as one batch: the model's state after their tokens, and its next logits."""

    rows: list[_Row]
    past: object
    logits: torch.Tensor  # (B, V)
    tokens: torch.Tensor | None = None  # (B,) drawn from the logits: what the next pass reads


class Generation:
    """Tweets being written, one forward pass per new token for all of them: requests join
    (``add``) and leave (``step`` returns each once its tweet has ended) between passes, so a row
    never waits for another to end, and a new one never waits for a batch to end.

    With ``candidates`` above 1, each request writes that many rows (seeds ``seed`` onwards) and
    gets the best (``rank_keys``: the fewest unknown words, then the fewest bits per character by
    the model's own measure, the whole tweet scored as ``evaluate`` scores one, its end included).
    A tweet that frames as its row drew it (``bos``, its tokens, ``eos``) is scored from the
    log-probabilities of the draws it kept, which are that measure; the others (cut, or tokenized
    otherwise) in one scoring pass when the request ends. Either way the choice runs on the
    thread that calls ``step``.
    """

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int | None = None,
        temperature: float = 0.9, top_p: float = 0.95, spell: bool = True, candidates: int = 1,
    ) -> None:
        model.eval()
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, temperature, top_p
        self.candidates = candidates
        self._eos = tokenizer.eos_token_id  # read once: a tokenizer's special ids are slow attributes
        self._cohorts: list[_Cohort] = []
        spelling = spell and applies(model, tokenizer)
        self._vocabulary = model_vocabulary(model) if spelling or candidates > 1 else None
        self._speller = Speller(tokenizer, self._vocabulary) if spelling and self._vocabulary is not None else None

    @property
    def rows(self) -> int:
        """Rows being written (``candidates`` a request)."""
        return sum(len(cohort.rows) for cohort in self._cohorts)

    @torch.inference_mode()
    def add(self, requests: Sequence[tuple[str, int]], keys: Sequence[object]) -> dict[object, TweetgenError]:
        """Start the rows of each ``(prompt, seed)`` (its prompt read in one pass with the others of
        its length), named by its key; the ``TweetgenError`` of each prompt that leaves no room, by key."""
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
            request = _Request(key, [None] * self.candidates, [None] * self.candidates)
            for candidate in range(self.candidates):
                row = _Row(request, candidate, prompt_ids, room, torch.Generator().manual_seed(seed + candidate))
                if self._speller is not None and self._speller.in_word(prompt_ids[-1]):
                    row.word = Word(-1, (), torch.empty(0))  # the prompt's last word: never taken back
                by_length.setdefault(len(prompt_ids), []).append(row)
        for rows in by_length.values():
            ids = torch.tensor([row.prompt_ids for row in rows], device=self.model.device)
            output = self.model(input_ids=ids, use_cache=True)
            if self.candidates > 1 and ids.shape[1] > 1:
                nats = _nats(output.logits[:, :-1].transpose(1, 2), ids[:, 1:]).sum(dim=1)
                for row, value in zip(rows, nats.tolist(), strict=True):
                    row.prompt_nats = value
            self._cohorts.append(_Cohort(rows, output.past_key_values, output.logits[:, -1, :]))
        return errors

    @torch.inference_mode()
    def step(self) -> list[tuple[object, Sampled]]:
        """One new token for every row; the requests whose tweets ended with it, by key, and their tweets."""
        ended: list[_Request] = []
        taken_back: dict[int, Word] = {}  # by id(row): the word to go back to after this pass
        for cohort in self._cohorts:
            draws = torch.tensor([row.draw() for row in cohort.rows], dtype=torch.float64)
            cohort.tokens = _draw(cohort.logits, self.temperature, self.top_p, draws)
            nats = _nats(cohort.logits, cohort.tokens.to(cohort.logits.device)).tolist() if self.candidates > 1 else None
            for index, (row, token) in enumerate(zip(cohort.rows, cohort.tokens.tolist(), strict=True)):
                if row.done:
                    continue
                if self._speller is not None:
                    row.word, take_back = self._speller.check(row.word, row.new, token, cohort.past, cohort.logits, index)  # type: ignore[arg-type]
                    if take_back:
                        del row.new[row.word.start :], row.nats[row.word.start :]  # type: ignore[union-attr]
                        taken_back[id(row)] = row.word  # type: ignore[assignment]
                        continue
                row.new.append(token)
                if nats:
                    row.nats.append(nats[index])
                row.done = token == self._eos or len(row.new) >= row.room
                if row.done and self._end(row):
                    ended.append(row.request)
        going = [c for c in (_without_ended(self.model, cohort) for cohort in self._cohorts) if c is not None]
        self._cohorts = [_step(self.model, c.rows, c.tokens.to(self.model.device), c.past)  # type: ignore[union-attr]
                         for c in _join(self.model, going)]
        if taken_back:
            self._go_back(taken_back)
        return self._choose(ended)

    def _go_back(self, taken_back: dict[int, Word]) -> None:
        """Give each row taken back the state and logits it had before its word (the pass just
        made read a token it dropped)."""
        for cohort in self._cohorts:
            for index, row in enumerate(cohort.rows):
                word = taken_back.get(id(row))
                if word is not None:
                    restore_row(cohort.past, index, word.state, self.tokenizer.bos_token_id)  # type: ignore[arg-type]
                    cohort.logits[index] = word.logits

    def _end(self, row: _Row) -> bool:
        """Keep an ended row's tweet (and its score when its draws give it); whether its request is complete."""
        request = row.request
        tweet = _decode(self.tokenizer, row.prompt_ids[1:] + row.new, len(row.prompt_ids) - 1)
        request.tweets[row.candidate] = tweet
        if self.candidates > 1 and framed_ids(self.tokenizer, [tweet.text])[0] == row.prompt_ids + row.new:
            request.bits[row.candidate] = (row.prompt_nats + sum(row.nats)) / math.log(2) / (len(tweet.text) + 1)
        return all(tweet is not None for tweet in request.tweets)

    def _choose(self, ended: list[_Request]) -> list[tuple[object, Sampled]]:
        """Each ended request's key and its best candidate (the first of equals)."""
        if self.candidates == 1:
            return [(request.key, request.tweets[0]) for request in ended]  # type: ignore[misc]
        texts = {(n, i): tweet.text for n, request in enumerate(ended) for i, tweet in enumerate(request.tweets)}  # type: ignore[union-attr]
        known = {(n, i): bits for n, request in enumerate(ended) for i, bits in enumerate(request.bits) if bits is not None}
        keys = rank_keys(self.model, self.tokenizer, texts, known, self._vocabulary)
        return [(request.key, request.tweets[_best([keys[n, i] for i in range(self.candidates)])]) for n, request in enumerate(ended)]  # type: ignore[misc]


def _best(keys: list[tuple[int, float]]) -> int:
    """The index of the lowest rank key (the first of equals)."""
    return min(range(len(keys)), key=keys.__getitem__)


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
    return _generate(Generation(model, tokenizer, max_new_tokens, temperature, top_p, spell), requests)


def _generate(generation: Generation, requests: Sequence[tuple[str, int]]) -> list[Sampled | TweetgenError]:
    """Each request's result from ``generation``, run until all have ended."""
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


def _step(model: PreTrainedModel, rows: list[_Row], tokens: torch.Tensor, past: object) -> _Cohort:
    """One forward pass of ``rows`` over their new ``tokens`` (B,) from ``past``."""
    if hasattr(model, "next_logits"):  # the LSTM's own step, without the forward's wrapping
        logits, state = model.next_logits(tokens, past)
        return _Cohort(rows, state, logits)
    output = model(input_ids=tokens[:, None], past_key_values=past, use_cache=True)
    return _Cohort(rows, output.past_key_values, output.logits[:, -1, :])


def _nats(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The model's nats of ``tokens`` under ``logits`` (as ``evaluate`` computes them)."""
    return torch.nn.functional.cross_entropy(logits.float(), tokens, reduction="none")


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


def _draw(logits: torch.Tensor, temperature: float, top_p: float, draws: torch.Tensor) -> torch.Tensor:
    """One token per row (B,) from ``logits`` (B, V): the smallest set of the likeliest tokens
    whose probability reaches ``top_p``, renormalised, sampled with each row's uniform draw (B,)."""
    probs = torch.softmax(logits.float().cpu() / temperature, dim=-1)
    ordered, order = probs.sort(dim=-1, descending=True, stable=True)
    ordered = ordered * ((ordered.cumsum(dim=-1) - ordered) < top_p)  # the first token always stays
    cumulative = ordered.cumsum(dim=-1)
    picks = torch.searchsorted(cumulative, (draws.float() * cumulative[:, -1])[:, None], right=True)
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
    as ``evaluate`` scores one, its end included; see ``Generation``)."""
    return _generate(Generation(model, tokenizer, max_new_tokens, temperature, top_p, spell, candidates), requests)


def rank_keys(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: dict[K, str], bits: dict[K, float] | None = None,
    vocabulary: Vocabulary | None = None,
) -> dict[K, tuple[int, float]]:
    """What ``best_rows`` ranks each text by, lowest first: its unknown words (0 for every text
    when the model carries no training words) and its bits per character. ``bits`` holds those
    already known (the others are scored in one pass), ``vocabulary`` the model's when the caller
    holds it (``model_vocabulary``)."""
    if not texts:
        return {}
    known = dict(bits or {})
    unscored = [key for key in texts if key not in known]
    if unscored:
        known.update(zip(unscored, text_bits_per_char(model, tokenizer, [texts[key] for key in unscored]), strict=True))
    vocabulary = vocabulary or model_vocabulary(model)
    return {key: (len(vocabulary.non_words(text)) if vocabulary is not None else 0, known[key]) for key, text in texts.items()}

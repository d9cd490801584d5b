"""Taking back an invented word while sampling, for models that write byte by byte.

A byte-level model spells every word itself, and now and then it spells one that exists nowhere
("Gowero"). A reader stops there. So while a row is written, each word it finishes (a run of
letters, digits, apostrophes and non-ASCII bytes, ended by any other byte or by the tweet's end)
is looked up (``tweetgen.model.measures.Vocabulary``: the English word list, and the words of the
training tweets that the list lacks, which the model carries in its config as ``tweet_words``).
An unknown word is taken back: the row returns to the state it had before the word's first byte
and draws again from there, with its own random generator, up to ``TRIES`` times per word; after
that the word stays. A word that began in the prompt is never taken back.

The state of an LSTM row is a few vectors, so going back costs a copy, not a forward pass; that
is why the check runs for the LSTM over bytes (``applies``). GPT-2 over BPE writes words from its
tokenizer's pieces and keeps a key/value cache per batch; its samples are only ranked
(``tweetgen.model.generate.best_rows`` puts candidates with fewer unknown words first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.model.build import is_byte_level
from tweetgen.model.measures import Vocabulary, english_words, is_letters, words

TRIES = 8  # draws of a word after its first, before an unknown word stays


def tweet_words(texts: Iterable[str]) -> list[str]:
    """The words of letters in ``texts`` that the English word list lacks (handles, names, the
    account's own coinages), sorted: what a model trained on ``texts`` may write besides English."""
    english = english_words()
    return sorted({word for text in texts for word in words(text) if is_letters(word) and word not in english})


def attach_words(model: PreTrainedModel, texts: Iterable[str]) -> None:
    """Record in ``model.config`` (saved with it) the words of its training tweets (``tweet_words``)."""
    model.config.tweet_words = tweet_words(texts)


def model_vocabulary(model: PreTrainedModel) -> Vocabulary | None:
    """The words ``model`` may write: English and the words of its training tweets; None for a
    model saved without them (the check is then off)."""
    known = getattr(model.config, "tweet_words", None)
    return None if known is None else Vocabulary(known)


def applies(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether rows of ``model`` can take a word back: an LSTM (its state a tuple of tensors)
    over the byte tokenizer, saved with its training words."""
    return hasattr(model, "attach_ngram") and is_byte_level(tokenizer) and getattr(model.config, "tweet_words", None) is not None


def word_tokens(tokenizer: PreTrainedTokenizerBase) -> torch.Tensor:
    """For each token id of the byte tokenizer, whether it can be part of a word: a letter, a
    digit, ``_``, ``'``, or a byte of a non-ASCII character (which decodes alone to U+FFFD)."""
    special = set(tokenizer.all_special_ids)
    flags = []
    for token in range(len(tokenizer)):
        text = "" if token in special else tokenizer.decode([token])
        flags.append(len(text) == 1 and (text.isalnum() or text in "_'\ufffd"))
    return torch.tensor(flags)


@dataclass
class Word:
    """The word a row is writing: where it began in the row's new tokens, and the row's state
    (one slice of each part of the LSTM's state) and next-token logits from just before it."""

    start: int
    state: tuple[torch.Tensor, ...]
    logits: torch.Tensor
    tries: int = 0


def row_state(past: tuple[torch.Tensor, ...], index: int) -> tuple[torch.Tensor, ...]:
    """Row ``index`` of an LSTM state, copied: ``h`` and ``c`` along dimension 1, the n-gram's
    last tokens along 0."""
    return tuple((part[:, index] if i < 2 else part[index]).clone() for i, part in enumerate(past))


def restore_row(past: tuple[torch.Tensor, ...], index: int, state: tuple[torch.Tensor, ...], pad_id: int) -> None:
    """Write ``state`` (from ``row_state``) into row ``index`` of ``past``, in place. The n-gram's
    tokens are left-padded with ``pad_id`` (the ``bos`` token) when the row had seen fewer then:
    no training context holds two ``bos``, so the padding changes no probability."""
    for i, (part, saved) in enumerate(zip(past, state, strict=True)):
        if i < 2:
            part[:, index] = saved
        else:
            part[index] = torch.cat([saved.new_full((part.shape[1] - saved.shape[0],), pad_id), saved])


class Speller:
    """The check for the rows of one generation: ``check`` sees each token drawn for a row
    before the row keeps it, and says when the word that token ends must be taken back."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, vocabulary: Vocabulary, tries: int = TRIES) -> None:
        self._tokenizer, self._vocabulary, self._tries = tokenizer, vocabulary, tries
        self._in_word = word_tokens(tokenizer).tolist()

    def in_word(self, token: int) -> bool:
        """Whether ``token`` continues (or starts) a word."""
        return self._in_word[token]

    def check(self, word: Word | None, new: list[int], token: int, past: tuple[torch.Tensor, ...], logits: torch.Tensor,
              index: int) -> tuple[Word | None, bool]:
        """The row's open word after ``token`` (drawn for row ``index`` of a batch whose state is
        ``past`` and logits ``logits``; ``new``: the row's tokens so far), and whether to take
        that word back: ``token`` ends it, it is unknown, and it has tries left. Taken back, the
        word stays open with one try more; the caller drops ``token`` and the word's tokens and
        restores the word's state."""
        if self._in_word[token]:
            if word is None:  # the word starts with this token
                word = Word(len(new), row_state(past, index), logits[index].clone())
            return word, False
        if word is None or word.start < 0:
            return None, False
        text = self._tokenizer.decode(new[word.start :])
        if word.tries >= self._tries or not self._vocabulary.non_words(text):
            return None, False
        word.tries += 1
        return word, True

"""Names of the model families and tokenizers, light enough for any layer (no torch here).

A model built from scratch is an ``lstm`` (``tweetgen.model.lstm``, the offline default) or a
``gpt2``; its tokenizer is ``byte`` or ``bpe`` (``tweetgen.model.build``). A pretrained base is
the family its ``config.model_type`` names.
"""

from __future__ import annotations

from tweetgen.errors import TweetgenError

FAMILIES = ("lstm", "gpt2")  # the first is the default
TOKENIZERS = ("byte", "bpe")
MODEL_TYPE_FAMILIES = {"gpt2": "gpt2", "tweet_lstm": "lstm"}  # config.model_type -> family
FAMILY_NAMES = {"lstm": "LSTM", "gpt2": "GPT-2"}  # as people write them
LEGACY_FAMILY = "gpt2"  # the family of versions registered before the card recorded one: all were GPT-2s


def family_of_model_type(model_type: str) -> str:
    """The family of a ``config.model_type``: ``lstm``, ``gpt2``, or the model type itself."""
    return MODEL_TYPE_FAMILIES.get(model_type, model_type)


def family_name(family: str) -> str:
    """A family as people write it ("LSTM", "GPT-2"); another family's own name as it is."""
    return FAMILY_NAMES.get(family, family)


def check_family(family: str) -> str:
    """``family`` if it is one a model can be built from scratch as.

    Raises:
        TweetgenError: it is not one of ``FAMILIES``.
    """
    if family not in FAMILIES:
        raise TweetgenError(f"The model family is {family!r}; use one of {', '.join(FAMILIES)}.")
    return family

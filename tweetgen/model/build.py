"""Models and tokenizers: a small model built from scratch, or a pretrained one loaded from a path.

Two model families are built from scratch: ``lstm`` (``tweetgen.model.lstm``, the offline default)
and ``gpt2`` (a small GPT-2). Two tokenizers: ``byte`` (256 byte tokens, nothing to train) and
``bpe`` (byte-level BPE trained on the training tweets). A pretrained base (``gpt2``, a hub id or
a folder) brings its own model and tokenizer.

Every tokenizer the project uses has three distinct special tokens: ``bos`` starts a tweet,
``eos`` ends it (generation stops there) and ``pad`` fills batches. Padding is never the end token:
a model that learns "pad follows pad" must not learn to end tweets that way. The tokenizer adds
no special tokens by itself; ``training.frame_texts`` frames each tweet as ``bos text eos``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from tweetgen.errors import TweetgenError
from tweetgen.model.families import TOKENIZERS, check_family, family_of_model_type

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
TINY = "tiny"  # base_model value meaning "build a small model (and its tokenizer) from scratch"
AUTO = "auto"  # base_model value meaning "pretrained gpt2 where there is a GPU, else tiny"


def byte_tokenizer() -> PreTrainedTokenizerFast:
    """A tokenizer whose tokens are the 256 bytes of UTF-8 plus ``bos``, ``eos`` and ``pad``.

    Nothing is learnt, so it is the same for every data set (ids 0-2 are the special tokens),
    any text encodes without unknown tokens, and an emoji is its 4 bytes. It is a byte-level BPE
    without merges, so it saves, loads and decodes like the ``bpe`` tokenizer.
    """
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())  # one printable character per byte
    vocab = {token: i for i, token in enumerate([BOS, EOS, PAD, *alphabet])}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.add_special_tokens([BOS, EOS, PAD])
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=PAD)


def make_tokenizer(kind: str, texts: list[str], vocab_size: int = 4096) -> PreTrainedTokenizerFast:
    """The ``byte`` tokenizer, or a ``bpe`` one of ``vocab_size`` trained on ``texts`` (training tweets only).

    Raises:
        TweetgenError: ``kind`` is not one of ``TOKENIZERS``.
    """
    if kind == "byte":
        return byte_tokenizer()
    if kind == "bpe":
        return train_tokenizer(texts, vocab_size=vocab_size)
    raise TweetgenError(f"The tokenizer is {kind!r}; use one of {', '.join(TOKENIZERS)}.")


def is_byte_level(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether every token is at most one byte (the ``byte`` tokenizer): then a token is about a character."""
    return len(tokenizer) <= 256 + len(tokenizer.all_special_ids)


def family_of(model: PreTrainedModel) -> str:
    """The family of a model: ``lstm``, ``gpt2``, or the ``model_type`` of another pretrained model."""
    return family_of_model_type(str(model.config.model_type))


def train_tokenizer(texts: list[str], vocab_size: int = 4096) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``texts`` (the training split only, never eval texts).

    Byte-level means any text, emoji included, encodes without unknown tokens and decodes back
    exactly. The result is deterministic for the same texts and ``vocab_size``.

    Returns:
        A fast tokenizer with ``bos_token``, ``eos_token`` and ``pad_token`` set to ``<|bos|>``,
        ``<|eos|>`` and ``<|pad|>`` (ids 0, 1, 2).
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[BOS, EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: nothing is unknown
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=PAD)


def build_tiny_model(
    tokenizer: PreTrainedTokenizerFast,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 4,
    n_positions: int = 128,
    dropout: float = 0.1,
    seed: int = 0,
) -> GPT2LMHeadModel:
    """A freshly initialised GPT-2 sized for ``tokenizer`` (4.24M parameters with the defaults
    and a 4,096-token vocabulary; input and output embeddings are tied).

    ``dropout`` applies to embeddings and residual branches, not to attention weights. The
    initial weights depend only on ``seed`` (the global torch RNG is left untouched).
    ``gelu_pytorch_tanh`` is the same function as GPT-2's ``gelu_new`` in one fused kernel, and
    SDPA attention is the fastest on CPU.
    """
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        activation_function="gelu_pytorch_tanh",
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=0.0,  # dropout inside attention costs ~20% of CPU throughput for little regularisation
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPT2LMHeadModel._from_config(config, attn_implementation="sdpa")
    _sync_generation_config(model, tokenizer)
    return model


def build_model(
    family: str,
    tokenizer: PreTrainedTokenizerFast,
    *,
    n_layer: int,
    n_embd: int,
    n_head: int | None = None,
    hidden_size: int | None = None,
    n_positions: int = 128,
    dropout: float = 0.1,
    seed: int = 0,
) -> PreTrainedModel:
    """A freshly initialised model of ``family`` sized for ``tokenizer``.

    ``gpt2`` uses ``n_layer``, ``n_embd``, ``n_head`` and ``n_positions`` (its context);
    ``lstm`` uses ``n_layer``, ``n_embd`` (the embedding) and ``hidden_size``.

    Raises:
        TweetgenError: ``family`` is not one of ``FAMILIES``.
    """
    if check_family(family) == "gpt2":
        return build_tiny_model(tokenizer, n_layer=n_layer, n_embd=n_embd, n_head=n_head or max(1, n_embd // 64),
                                n_positions=n_positions, dropout=dropout, seed=seed)
    from tweetgen.model.lstm import build_lstm

    return build_lstm(tokenizer, n_embd=n_embd, hidden_size=hidden_size or 4 * n_embd, n_layer=n_layer, dropout=dropout, seed=seed)


def context_length(model: PreTrainedModel) -> int:
    """The most tokens the model attends to (GPT-2 calls it ``n_positions``)."""
    return getattr(model.config, "n_positions", None) or model.config.max_position_embeddings


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct trainable parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def load_base(base_model: str) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """Load a pretrained causal LM and its tokenizer: a local folder or a Hugging Face Hub id.

    ``"tiny"`` is not loaded but built: call ``train_tokenizer`` and ``build_tiny_model``.
    Tokenizers that lack a bos, eos or distinct pad token get them added, and the model's
    embeddings are resized to match.

    Raises:
        ValueError: ``base_model`` is ``"tiny"``.
        TweetgenError: the model cannot be loaded (no network for a hub id, or a broken folder).
    """
    if base_model == TINY:
        raise ValueError("The tiny model is built, not loaded: use train_tokenizer and build_tiny_model.")
    if Path(base_model).is_dir():
        model, tokenizer = _from_folder(base_model)
    else:
        model, tokenizer = _from_hub(base_model)
    if ensure_special_tokens(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
    _sync_generation_config(model, tokenizer)
    return model, tokenizer


def _from_folder(folder: str) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    from tweetgen.model.lstm import register_auto_classes

    register_auto_classes()  # a folder may hold a saved tweet_lstm
    try:
        return AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as error:
        raise TweetgenError(f"Could not load a model from the folder {folder} ({_first_line(error)}); check that it holds a saved model and tokenizer.") from None


def _from_hub(model_id: str) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """From the local Hugging Face cache if it is there, else from the Hub (needs the network)."""
    try:
        return AutoModelForCausalLM.from_pretrained(model_id, local_files_only=True), AutoTokenizer.from_pretrained(model_id, local_files_only=True)
    except (OSError, ValueError):
        pass  # not cached
    if not _hub_reachable():  # fail now: the Hub client would retry for half a minute per file
        raise TweetgenError(f"Could not load base model {model_id} offline; use --base-model tiny or a local path.")
    try:
        return AutoModelForCausalLM.from_pretrained(model_id), AutoTokenizer.from_pretrained(model_id)
    except (OSError, ValueError) as error:
        raise TweetgenError(f"Could not load base model {model_id} ({_first_line(error)}); use --base-model tiny or a local path.") from None


def _hub_reachable(timeout: float = 3.0) -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def ensure_special_tokens(tokenizer: PreTrainedTokenizerFast) -> bool:
    """Give ``tokenizer`` a bos, an eos and a pad token distinct from eos; True if any was added.

    GPT-2's tokenizer uses ``<|endoftext|>`` for both bos and eos (kept: the pretrained model
    knows it) and has no pad token (``<|pad|>`` is added).
    """
    added: dict[str, str] = {}
    if tokenizer.eos_token is None:
        added["eos_token"] = EOS
    if tokenizer.bos_token is None:
        added["bos_token"] = tokenizer.eos_token or EOS
    if tokenizer.pad_token is None or tokenizer.pad_token == (tokenizer.eos_token or added.get("eos_token")):
        added["pad_token"] = PAD
    if not added:
        return False
    before = len(tokenizer)
    tokenizer.add_special_tokens(added)
    return len(tokenizer) != before


def _sync_generation_config(model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast) -> None:
    """Make the model's configs name the tokenizer's special ids (generation reads them)."""
    for config in (model.config, model.generation_config):
        config.bos_token_id = tokenizer.bos_token_id
        config.eos_token_id = tokenizer.eos_token_id
        config.pad_token_id = tokenizer.pad_token_id


@dataclass(frozen=True)
class BaseModelCheck:
    """Whether a training run can start from ``base_model`` here, and on which device.

    ``base_model`` is what training should be given: ``auto`` resolved to ``gpt2`` or ``tiny``."""

    base_model: str
    ok: bool
    device: str
    message: str

    def __str__(self) -> str:
        return self.message


def check_base_model(base_model: str, cuda_available: bool | None = None, hub_reachable: Callable[[], bool] | None = None) -> BaseModelCheck:
    """Say where the base model would come from and what the device is, before training starts.

    ``auto`` picks the pretrained ``gpt2`` where there is a GPU and ``tiny`` elsewhere. ``ok`` is
    False only when the model cannot be had at all: not ``tiny``, not a folder, not in the Hugging
    Face cache, and the Hub cannot be reached. A pretrained model on a CPU is allowed (the time
    budget bounds the run) but the message says it will be slow.
    """
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    device = "cuda" if cuda_available else "cpu"
    if base_model == AUTO:
        base_model = "gpt2" if cuda_available else TINY
    if base_model == TINY:
        return BaseModelCheck(base_model, True, device, f"Training a small model from scratch on the {device.upper()}: an LSTM over bytes "
                              "(or a small GPT-2 with a tokenizer trained on the tweets, MODEL = \"gpt2\").")
    if Path(base_model).is_dir():
        where = f"the folder {base_model}"
    elif _in_hub_cache(base_model):
        where = f"{base_model} from the local Hugging Face cache"
    elif (hub_reachable or _hub_reachable)():
        where = f"{base_model} downloaded from the Hugging Face Hub"
    else:
        message = (
            f"Cannot load the base model {base_model!r}: it is not a folder, not in the Hugging Face cache, "
            "and the Hub cannot be reached. Set BASE_MODEL = \"tiny\" to train a small model from scratch, "
            "or to a folder holding a saved model."
        )
        return BaseModelCheck(base_model, False, device, message)
    if cuda_available:
        return BaseModelCheck(base_model, True, device, f"Fine-tuning {where} on the GPU.")
    message = (f"Fine-tuning {where} on the CPU: there is no GPU, so this is slow and MAX_SECONDS decides how far "
               "it gets. On Colab pick a GPU runtime; locally BASE_MODEL = \"tiny\" trains in minutes.")
    return BaseModelCheck(base_model, True, device, message)


def _in_hub_cache(model_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except Exception:  # an id the hub client rejects is not in the cache either
        return False

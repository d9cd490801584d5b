"""An LSTM language model that plugs into transformers the way GPT-2 does.

The second model family (``family="lstm"``): an embedding, one or more LSTM layers, a LayerNorm
and a linear head over the vocabulary. Over bytes (``tweetgen.model.build.byte_tokenizer``) it is
the offline default: on a few thousand tweets and two CPU cores it learns more per second than
a small transformer (bench/README.md has the figures).

It is a ``PreTrainedModel`` with its own config class, so everything that serves GPT-2 serves it:
``save_pretrained`` writes ``config.json`` (``model_type: tweet_lstm``) and safetensors, the
registries load it with ``AutoModelForCausalLM`` once ``register_auto_classes()`` has run (the
loaders call it; importing this module registers nothing), ``generate`` samples from it, and
``evaluate`` scores it.

The recurrent state ``(h, c)`` travels as ``past_key_values`` (a tuple, not a key/value cache):
``generate`` is told not to build a ``DynamicCache`` and feeds only the newest token once a state
exists. The model is causal, so right padding (what ``evaluate`` uses) changes nothing before the
pads; ``attention_mask`` is accepted and ignored, so left padding is not supported.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import GenerationMixin, PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase
from transformers.modeling_outputs import CausalLMOutputWithPast

from tweetgen.model.ngram import NGramTable, next_token_probs, ngram_probs

MODEL_TYPE = "tweet_lstm"


class TweetLSTMConfig(PretrainedConfig):
    """Shape of a ``TweetLSTMForCausalLM``.

    Attributes:
        n_embd: width of the token embedding fed to the first LSTM layer.
        hidden_size: width of each LSTM layer's state.
        n_layer: stacked LSTM layers.
        dropout: on the embeddings, between LSTM layers and before the head.
        max_position_embeddings: the LSTM has no context limit; this is the window ``evaluate``
            and ``sample`` use for it (longer texts are scored in overlapping windows).
        ngram_order, ngram_weight: the count model of the training text mixed into the
            predictions (``tweetgen.model.ngram``), and its weight; order 0: none.
        ngram_contexts, ngram_entries: the size of its table (the buffers' shapes).
        ngram_discounts: its discounts per order (modified Kneser-Ney); None for a table saved before them.
    """

    model_type = MODEL_TYPE

    def __init__(
        self,
        vocab_size: int = 259,
        n_embd: int = 128,
        hidden_size: int = 768,
        n_layer: int = 1,
        dropout: float = 0.15,
        max_position_embeddings: int = 1024,
        ngram_order: int = 0,
        ngram_weight: float = 0.0,
        ngram_contexts: int = 0,
        ngram_entries: int = 0,
        ngram_discounts: list[list[float]] | None = None,
        **kwargs,
    ) -> None:
        self.vocab_size = vocab_size
        self.n_embd = n_embd
        self.hidden_size = hidden_size
        self.n_layer = n_layer
        self.dropout = dropout
        self.max_position_embeddings = max_position_embeddings
        self.ngram_order = ngram_order
        self.ngram_weight = ngram_weight
        self.ngram_contexts = ngram_contexts
        self.ngram_entries = ngram_entries
        self.ngram_discounts = ngram_discounts
        super().__init__(**{"tie_word_embeddings": False, **kwargs})


class TweetLSTMForCausalLM(PreTrainedModel, GenerationMixin):
    """Embedding -> LSTM -> LayerNorm -> linear head; logits for every position (see the module docstring)."""

    config_class = TweetLSTMConfig
    base_model_prefix = "lstm"
    main_input_name = "input_ids"

    def __init__(self, config: TweetLSTMConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            config.n_embd, config.hidden_size, config.n_layer, batch_first=True,
            dropout=config.dropout if config.n_layer > 1 else 0.0,
        )
        self.ln_f = nn.LayerNorm(config.hidden_size)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        # The n-gram's table (empty until ``attach_ngram``); saved with the weights.
        self.register_buffer("ngram_keys", torch.zeros(config.ngram_contexts, dtype=torch.long))
        self.register_buffer("ngram_starts", torch.zeros(config.ngram_contexts + 1, dtype=torch.long))
        self.register_buffer("ngram_next_tokens", torch.zeros(config.ngram_entries, dtype=torch.int16))
        self.register_buffer("ngram_counts", torch.zeros(config.ngram_entries, dtype=torch.int32))
        self.post_init()

    def attach_ngram(self, table: NGramTable, weight: float) -> None:
        """Mix ``table``'s n-gram into every prediction from now on, with ``weight`` (0 to 1)."""
        self.ngram_keys, self.ngram_starts = table.keys.to(self.device), table.starts.to(self.device)
        self.ngram_next_tokens, self.ngram_counts = table.next_tokens.to(self.device), table.counts.to(self.device)
        self.config.ngram_order, self.config.ngram_weight = table.order, float(weight)
        self.config.ngram_discounts = None if table.discounts is None else [[round(float(d), 6) for d in order] for order in table.discounts]
        self.config.ngram_contexts, self.config.ngram_entries = len(table.keys), len(table.counts)

    @property
    def ngram(self) -> NGramTable | None:
        """The attached n-gram's table, or None."""
        if not self.config.ngram_order:
            return None
        discounts = self.config.ngram_discounts
        return NGramTable(self.config.ngram_order, self.ngram_keys, self.ngram_starts, self.ngram_next_tokens, self.ngram_counts,
                          None if discounts is None else torch.tensor(discounts, dtype=torch.float32))

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=1.0)  # unit-scale inputs: the LSTM's input weights are ~1/sqrt(H)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
        elif isinstance(module, nn.LSTM):
            _init_lstm(module)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embed = value

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    @classmethod
    def _supports_default_dynamic_cache(cls) -> bool:
        return False  # the state is (h, c), not keys and values

    def prepare_inputs_for_generation(self, input_ids: torch.Tensor, past_key_values=None, **kwargs) -> dict:
        """With a state, only the newest token is new: the state already holds the rest (and the
        tokens the n-gram still needs)."""
        if past_key_values is not None:
            input_ids = input_ids[:, -1:]
        return {"input_ids": input_ids, "past_key_values": past_key_values, "use_cache": True}

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        past_key_values: tuple[torch.Tensor, ...] | None = None,
        use_cache: bool | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        """Logits (B, T, V) for ``input_ids`` (B, T), continuing from ``past_key_values`` = (h, c),
        each (n_layer, B, hidden_size), plus the last tokens (B, <= ngram_order) when an n-gram is
        attached. With ``labels`` (B, T), the loss of predicting ``labels[:, 1:]``.

        With an n-gram the logits are the log of the mixture ``(1 - w) p_lstm + w p_ngram``
        (normalised: softmax gives the mixture back)."""
        if past_key_values is not None and input_ids.shape[1] == 1 and not self.training and labels is None:
            logits, state = self.next_logits(input_ids[:, 0], past_key_values)  # generating: one token per row
            return CausalLMOutputWithPast(logits=logits[:, None], past_key_values=state if use_cache else None)
        lstm_state = past_key_values[:2] if past_key_values is not None else None
        x = self.drop(self.embed(input_ids))  # (B, T, n_embd)
        out, state = self.lstm(x, lstm_state)  # (B, T, H); state: ((L, B, H), (L, B, H))
        logits = self.lm_head(self.ln_f(self.drop(out)))  # (B, T, V)
        table = self.ngram
        if table is not None:
            seen = input_ids if past_key_values is None else torch.cat([past_key_values[2], input_ids], dim=1)
            logits = self._mix(logits, ngram_probs(table, seen, logits.shape[-1])[:, -input_ids.shape[1] :])
            state = (*state, seen[:, -table.order :])
        loss = None
        if labels is not None:
            shifted = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
            loss = nn.functional.cross_entropy(shifted, labels[:, 1:].reshape(-1))
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=state if use_cache else None)

    def next_logits(self, tokens: torch.Tensor, past: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """What ``forward`` gives for one new token a row, in eval mode, without its wrapping (a
        generation calls it once per token): the logits (B, V) after ``tokens`` (B,) and the state
        ``past`` (``past_key_values``), and the state after them."""
        out, state = self._step(self.embed(tokens), past[:2])
        logits = self.lm_head(self.ln_f(out))  # (B, V)
        table = self.ngram
        if table is not None:
            seen = torch.cat([past[2], tokens[:, None]], dim=1)
            logits = self._mix(logits, next_token_probs(table, seen, logits.shape[-1]))
            state = (*state, seen[:, -table.order :])
        return logits, state

    def _step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``self.lstm`` over one position (B, n_embd), written out: the same gates, computed with
        two matrix products per layer. On a CPU, ``nn.LSTM`` spends several times longer preparing
        each call than computing one position, and generation calls it once per token."""
        h_all, c_all = state
        inputs, hs, cs = x, [], []
        for layer in range(self.config.n_layer):
            w_ih, w_hh = getattr(self.lstm, f"weight_ih_l{layer}"), getattr(self.lstm, f"weight_hh_l{layer}")
            b_ih, b_hh = getattr(self.lstm, f"bias_ih_l{layer}"), getattr(self.lstm, f"bias_hh_l{layer}")
            gates = torch.addmm(b_ih, inputs, w_ih.t()) + torch.addmm(b_hh, h_all[layer], w_hh.t())
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c_all[layer] + torch.sigmoid(i) * torch.tanh(g)
            inputs = torch.sigmoid(o) * torch.tanh(c)
            hs.append(inputs)
            cs.append(c)
        return inputs, (torch.stack(hs), torch.stack(cs))

    def _mix(self, logits: torch.Tensor, ngram: torch.Tensor) -> torch.Tensor:
        """log((1 - w) softmax(logits) + w ngram), in float32."""
        weight = torch.tensor(self.config.ngram_weight, dtype=torch.float32)
        lstm = torch.log_softmax(logits.float(), dim=-1) + torch.log1p(-weight)
        return torch.logaddexp(lstm, torch.log(ngram.float()) + torch.log(weight))



def join_states(states: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...] | None:
    """The recurrent states of several batches as one, their rows in order: ``h`` and ``c``
    joined along their batch dimension (1), the n-gram's last tokens along theirs (0). None when
    the n-gram's contexts differ in width (a row that has seen fewer tokens than its order)."""
    if len({state[2].shape[1] for state in states if len(state) > 2}) > 1:
        return None
    return tuple(torch.cat([state[i] for state in states], dim=1 if i < 2 else 0) for i in range(len(states[0])))

def select_rows(state: tuple[torch.Tensor, ...], rows: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The recurrent state of the rows ``rows`` (indices) of a batch: ``h`` and ``c`` along dimension
    1, the n-gram's last tokens along 0."""
    return tuple(part.index_select(1 if i < 2 else 0, rows.to(part.device)) for i, part in enumerate(state))


def _init_lstm(module: nn.LSTM) -> None:
    """PyTorch's uniform init, zero biases, and a forget-gate bias of 1 (the two biases add up),
    so the cell remembers by default at the start of training."""
    bound = module.hidden_size**-0.5
    for name, parameter in module.named_parameters():
        if "weight" in name:
            nn.init.uniform_(parameter, -bound, bound)
        else:
            nn.init.zeros_(parameter)
            with torch.no_grad():  # gates are stacked input, forget, cell, output
                parameter[module.hidden_size : 2 * module.hidden_size].fill_(0.5)


def register_auto_classes() -> None:
    """Let ``AutoConfig`` / ``AutoModelForCausalLM`` load a saved ``tweet_lstm`` (idempotent)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    AutoConfig.register(MODEL_TYPE, TweetLSTMConfig, exist_ok=True)
    AutoModelForCausalLM.register(TweetLSTMConfig, TweetLSTMForCausalLM, exist_ok=True)


def build_lstm(
    tokenizer: PreTrainedTokenizerBase,
    n_embd: int = 128,
    hidden_size: int = 768,
    n_layer: int = 1,
    dropout: float = 0.15,
    seed: int = 0,
) -> TweetLSTMForCausalLM:
    """A freshly initialised LSTM sized for ``tokenizer``; the weights depend only on ``seed``
    (the global torch RNG is left untouched)."""
    config = TweetLSTMConfig(
        vocab_size=len(tokenizer), n_embd=n_embd, hidden_size=hidden_size, n_layer=n_layer, dropout=dropout,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TweetLSTMForCausalLM(config)
    for generation in (model.config, model.generation_config):
        generation.bos_token_id = tokenizer.bos_token_id
        generation.eos_token_id = tokenizer.eos_token_id
        generation.pad_token_id = tokenizer.pad_token_id
    return model

"""The same registry contract, run against every backend: local folders, and Hopsworks (the real
``hopsworks`` SDK against the wire twin, ``tests.twin``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tests.fakes.saved_models import (
    forget_lstm_auto_classes,
    logits,
    saved_fixture,  # noqa: F401 - the saved fixture
    saved_lstm_fixture,  # noqa: F401 - the saved_lstm fixture
)
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tweetgen.config import Settings
from tweetgen.registry.hopsworks import HopsworksModelRegistry
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.registry.port import ModelRegistry, ModelVersion, RegistryError

CARD = {
    "eval_set_id": "sha256:aaaa",
    "data_version": "tweets v1 @ 3",
    "settings": {"lr": 0.001},
    "samples": ["hi 🚀", "ok"],
}
FULL_CARD = {**CARD, "loss_curve": [3.0, 2.5, 2.2], "eval_losses": [[3, 2.4]]}  # drawing the curve costs ~0.1 s


pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture(params=["local", "hopsworks"])
def registry(request, tmp_path) -> ModelRegistry:
    if request.param == "local":
        return LocalModelRegistry(tmp_path / "models")
    request.getfixturevalue("hopsworks_twin")  # sets HOPSWORKS_* to reach it
    return HopsworksModelRegistry.from_settings(Settings.load(dotenv=None))


def register(
    registry: ModelRegistry,
    folder: Path,
    bits: float | None,
    eval_set: str = "sha256:aaaa",
    name: str = "m",
    card: dict = CARD,
) -> ModelVersion:
    metrics = {"steps": 3.0} if bits is None else {"eval_bits_per_char": bits, "steps": 3.0}
    return registry.register(folder, name, metrics, {**card, "eval_set_id": eval_set})


def test_an_unknown_name_has_no_versions_and_no_champion(registry) -> None:
    assert registry.versions("never_registered") == []
    assert registry.champion("never_registered") is None


def test_versions_are_numbered_from_1_and_read_back_whole(registry, saved) -> None:
    first = register(registry, saved[0], 2.5, card=FULL_CARD)
    second = register(registry, saved[0], 2.4, eval_set="sha256:bbbb")
    assert (first.version, second.version) == (1, 2)
    assert registry.versions("m") == [first, second]  # name, number, metrics, card and location
    assert registry.versions("m")[1].card == {**CARD, "eval_set_id": "sha256:bbbb"}
    assert registry.versions("other") == [] and registry.champion("m") is None


@pytest.mark.parametrize(("name", "metrics"), [("tweet-gpt2", {"x": 1.0}), ("m", {"x": "1.5"}), ("m", {"x": math.nan})])
def test_invalid_names_and_metrics_are_refused_and_store_nothing(registry, saved, name, metrics) -> None:
    with pytest.raises(RegistryError):
        registry.register(saved[0], name, metrics, CARD)
    assert registry.versions("m") == []


def test_a_folder_without_a_saved_model_is_refused(registry, tmp_path) -> None:
    with pytest.raises(RegistryError, match="config.json is missing"):
        registry.register(tmp_path, "m", {"x": 1.0}, CARD)


def test_better_replaces_the_champion_and_worse_or_equal_does_not(registry, saved) -> None:
    folder = saved[0]
    assert not registry.promote_if_better(register(registry, folder, None)).promoted  # no score, never champion
    assert registry.champion("m") is None
    assert registry.promote_if_better(register(registry, folder, 2.0)).promoted
    assert not registry.promote_if_better(register(registry, folder, 2.2)).promoted
    assert not registry.promote_if_better(register(registry, folder, 2.0)).promoted  # a tie keeps it
    assert registry.champion("m").version == 2
    decision = registry.promote_if_better(register(registry, folder, 1.5))
    assert decision.promoted and decision.previous == 2 and decision.champion_score == 2.0
    register(registry, folder, 1.0)  # newer and better, but never judged
    assert registry.champion("m").version == 5
    assert registry.champion("m").metrics == {"eval_bits_per_char": 1.5, "steps": 3.0}


def test_a_champion_from_another_eval_set_is_rescored(registry, saved) -> None:
    folder = saved[0]
    registry.promote_if_better(register(registry, folder, 2.0, eval_set="sha256:old"))
    seen: list[int] = []

    def rescore(version: ModelVersion) -> float:
        seen.append(version.version)
        return 2.5

    decision = registry.promote_if_better(register(registry, folder, 2.2, eval_set="sha256:new"), rescore)
    assert decision.promoted and seen == [1] and registry.champion("m").version == 2


def test_champions_of_two_names_are_independent(registry, saved) -> None:
    registry.promote_if_better(register(registry, saved[0], 2.0, name="a"))
    registry.promote_if_better(register(registry, saved[0], 3.0, name="b"))
    registry.promote_if_better(register(registry, saved[0], 2.5, name="b"))
    assert (registry.champion("a").version, registry.champion("b").version) == (1, 2)


def test_a_registered_version_loads_with_identical_logits(registry, saved) -> None:
    folder, original = saved
    register(registry, folder, 2.0)
    model, tokenizer = registry.load(register(registry, folder, 1.9))
    tokens = tokenizer("A tunnel goes really fast on Mars 🚀")["input_ids"]
    assert not model.training and tokenizer.decode(tokens) == "A tunnel goes really fast on Mars 🚀"
    assert torch.equal(logits(model, tokens), logits(original, tokens))


def test_an_lstm_version_loads_with_identical_logits_where_nothing_registered_its_class(
    registry, saved_lstm, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, original = saved_lstm
    version = register(registry, folder, 2.0, card={**CARD, "family": "lstm"})
    forget_lstm_auto_classes(monkeypatch)  # as in a fresh process: loading must register the LSTM itself
    model, tokenizer = registry.load(registry.versions("m")[0])
    tokens = tokenizer("A tunnel goes really fast on Mars 🚀")["input_ids"]
    assert type(model).__name__ == "TweetLSTMForCausalLM" and not model.training
    assert registry.versions("m")[0].family == version.family == "lstm"
    assert tokenizer.decode(tokens) == "A tunnel goes really fast on Mars 🚀" and len(tokens) == len("A tunnel goes really fast on Mars ") + 4
    assert torch.equal(logits(model, tokens), logits(original, tokens))


def test_the_champion_rule_compares_families_on_the_same_eval_set(registry, saved, saved_lstm) -> None:
    gpt2 = register(registry, saved[0], 2.3)  # a card without a family: registered before families were recorded
    assert gpt2.family == "gpt2" and registry.promote_if_better(gpt2).promoted
    lstm = register(registry, saved_lstm[0], 2.1, card={**CARD, "family": "lstm"})
    decision = registry.promote_if_better(lstm)
    assert decision.promoted and decision.champion_score == 2.3 and "on the same eval set" in decision.reason
    assert registry.champion("m").family == "lstm"
    assert not registry.promote_if_better(register(registry, saved[0], 2.2, card={**CARD, "family": "gpt2"})).promoted

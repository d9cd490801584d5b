"""Opt-in: the Hopsworks model registry adapter against a real project.

Runs only with ``TWEETGEN_LIVE_TESTS=1`` (tests/conftest.py removes credentials otherwise) and
``HOPSWORKS_API_KEY`` and ``HOPSWORKS_PROJECT`` set. It registers a tiny model twice under a new
name ``tweetgen_test_<random>``, promotes the better one (``Models/<name>/champion.json``), reads
the champion back from another registry object as another process would, loads it, and deletes
every version and ``Models/<name>/`` (the champion record with it) afterwards. Each save waits for
Hopsworks to register the version (at least 5 s), so expect a minute or two.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.fakes.saved_models import logits, save_tiny_model
from tweetgen.config import Settings
from tweetgen.registry.hopsworks import MODEL_DESCRIPTION_MAX_CHARS, HopsworksModelRegistry, version_description

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

CARD = {"eval_set_id": "sha256:live", "data_version": "live test", "loss_curve": [3.0, 2.6], "samples": ["hi 🚀"]}


@pytest.fixture
def live_registry() -> HopsworksModelRegistry:
    settings = Settings.load(dotenv=None)
    if not (settings.hopsworks_api_key and settings.hopsworks_project):
        pytest.skip("set TWEETGEN_LIVE_TESTS=1, HOPSWORKS_API_KEY and HOPSWORKS_PROJECT to run live Hopsworks tests")
    return HopsworksModelRegistry.from_settings(settings)


@pytest.fixture
def live_name(live_registry: HopsworksModelRegistry) -> Iterator[str]:
    name = f"tweetgen_test_{secrets.token_hex(4)}"
    yield name
    registry, datasets = live_registry._open()
    for model in registry.get_models(name):
        model.delete()
    if datasets.exists(f"Models/{name}"):
        datasets.remove(f"Models/{name}")


def test_register_promote_and_load_on_a_real_project(
    live_registry: HopsworksModelRegistry, live_name: str, tmp_path: Path
) -> None:
    original = save_tiny_model(tmp_path)
    assert live_registry.versions(live_name) == [] and live_registry.champion(live_name) is None

    first = live_registry.register(tmp_path, live_name, {"eval_bits_per_char": 3.0}, CARD)
    second = live_registry.register(tmp_path, live_name, {"eval_bits_per_char": 2.5}, CARD)
    assert (first.version, second.version) == (1, 2)
    assert [(v.version, v.metrics, v.card) for v in live_registry.versions(live_name)] == [
        (1, {"eval_bits_per_char": 3.0}, CARD),
        (2, {"eval_bits_per_char": 2.5}, CARD),
    ]

    assert live_registry.champion_record(live_name) is None  # absent: a 404, not an error
    assert live_registry.promote_if_better(second).promoted
    assert not live_registry.promote_if_better(first).promoted
    again = HopsworksModelRegistry.from_settings(Settings.load(dotenv=None))  # another process
    assert again.champion(live_name).version == 2
    record = again.champion_record(live_name)
    assert (record["version"], record["score"]) == (2, 2.5) and record["reason"]
    description = again._open()[0].get_model(live_name, version=2).description
    assert description == version_description(CARD) and len(description) <= MODEL_DESCRIPTION_MAX_CHARS

    model, tokenizer = live_registry.load(live_registry.champion(live_name))
    tokens = tokenizer("The rocket is launching soon")["input_ids"]
    assert torch.equal(logits(model, tokens), logits(original, tokens))

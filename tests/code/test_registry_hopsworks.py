"""The Hopsworks model registry adapter against the fake SDK: versions, files, champion, errors."""

from __future__ import annotations

import json
import math

import pytest
import torch

from tests.fakes.hopsworks_fake import (  # noqa: F401 - the fake_hopsworks fixture
    FakeHopsworks,
    ModelRegistryException,
    RestAPIError,
    VersionWarning,
    fake_hopsworks_fixture,
)
from tests.fakes.saved_models import (
    logits,
    saved_fixture,  # noqa: F401 - the saved fixture
)
from tweetgen.errors import ConfigError
from tweetgen.registry.factory import open_model_registry
from tweetgen.registry.hopsworks import HopsworksModelRegistry, version_description
from tweetgen.registry.port import RegistryError

NAME = "tweet_gpt2"
FILES = "/Projects/tweetgen_test/Models/tweet_gpt2"
CARD = {"eval_set_id": "sha256:aaaa", "data_version": "tweets v1 @ 3", "samples": ["hi 🚀"]}
FULL_CARD = {**CARD, "loss_curve": [3.0, 2.5, 2.2]}  # drawing the curve costs ~0.1 s


@pytest.fixture
def registry(fake_hopsworks: FakeHopsworks) -> HopsworksModelRegistry:
    return HopsworksModelRegistry.from_settings(fake_hopsworks.settings())


def sdk(fake: FakeHopsworks):
    """The fake SDK's model registry, as a script using the SDK directly would see it."""
    return fake.login(api_key_value=fake.api_key).get_model_registry()


def score(value: float) -> dict[str, float]:
    return {"eval_bits_per_char": value}


def test_the_factory_builds_it_without_logging_in(fake_hopsworks: FakeHopsworks) -> None:
    registry = open_model_registry(fake_hopsworks.settings())
    assert isinstance(registry, HopsworksModelRegistry)
    assert fake_hopsworks.login_calls == []
    assert registry.versions(NAME) == [] and registry.champion(NAME) is None
    assert len(fake_hopsworks.login_calls) == 1  # logged in once, on first use, and reused


def test_a_missing_key_is_a_config_error_on_first_use(fake_hopsworks: FakeHopsworks) -> None:
    registry = HopsworksModelRegistry.from_settings(fake_hopsworks.settings(hopsworks_api_key=None))
    with pytest.raises(ConfigError, match="HOPSWORKS_API_KEY"):
        registry.versions(NAME)


def test_register_stores_the_local_files_as_versions_1_and_2(fake_hopsworks, registry, saved) -> None:
    folder, _ = saved
    first = registry.register(folder, NAME, {"eval_bits_per_char": 2.5, "steps": 10}, FULL_CARD)
    second = registry.register(folder, NAME, score(2.4), CARD)
    assert (first.version, second.version) == (1, 2)
    assert second.location == f"{FILES}/2"
    files = fake_hopsworks.files
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "metrics.json",
        "card.json",
        "model_card.md",
        "loss_curve.png",
    ):
        assert f"{FILES}/1/Files/{name}" in files, name
    assert files[f"{FILES}/1/Files/loss_curve.png"][:4] == b"\x89PNG"
    assert "tweet_gpt2, version 2" in files[f"{FILES}/2/Files/model_card.md"].decode()
    assert json.loads(files[f"{FILES}/1/Files/metrics.json"]) == {"eval_bits_per_char": 2.5, "steps": 10.0}
    assert [c["version"] for c in fake_hopsworks.save_calls] == [1, 2]  # numbers chosen here, passed explicitly
    model = sdk(fake_hopsworks).get_model(NAME, version=1)
    assert model.training_metrics == {"eval_bits_per_char": 2.5, "steps": 10.0}
    assert model.description == "A GPT-2 that writes tweets. | data_version: tweets v1 @ 3 | eval_set_id: sha256:aaaa"
    assert [(v.version, v.metrics, v.card) for v in registry.versions(NAME)] == [
        (1, first.metrics, FULL_CARD),
        (2, score(2.4), CARD),
    ]
    assert fake_hopsworks.download_calls == []  # metrics and cards are read without the weights
    assert registry.champion(NAME) is None  # registering never promotes
    assert (folder / "metrics.json").exists() is False  # the caller's folder is left as it was


@pytest.mark.parametrize("name", ["tweet-gpt2", "tweet gpt2", "a/b", ""])
def test_invalid_names_are_refused_before_hopsworks_is_called(fake_hopsworks, registry, saved, name) -> None:
    with pytest.raises(RegistryError, match="letters, digits and underscores"):
        registry.register(saved[0], name, score(2.0), CARD)
    assert fake_hopsworks.login_calls == [] and fake_hopsworks.save_calls == []


@pytest.mark.parametrize("value", ["1.5", "abc", None, True, math.nan, math.inf])
def test_non_numeric_metrics_are_refused_before_hopsworks_is_called(fake_hopsworks, registry, saved, value) -> None:
    with pytest.raises(RegistryError, match="must be finite numbers"):
        registry.register(saved[0], NAME, {"loss": value}, CARD)
    assert fake_hopsworks.login_calls == [] and fake_hopsworks.save_calls == []


@pytest.mark.parametrize(
    ("name", "metrics", "error"),
    [
        ("tweet-gpt2", {"loss": 1.0}, ModelRegistryException),
        (NAME, {"loss": "abc"}, ValueError),
        (NAME, {"loss": None}, TypeError),
        (NAME, {"loss": math.nan}, RestAPIError),
    ],
)
def test_the_fake_refuses_what_hopsworks_refuses(fake_hopsworks, saved, name, metrics, error) -> None:
    mr = sdk(fake_hopsworks)
    model = mr.python.create_model(name, metrics=metrics)  # lazy: nothing is checked yet
    with pytest.raises(error):
        model.save(str(saved[0]))
    assert fake_hopsworks.models == {}
    assert not any("/1/" in path for path in fake_hopsworks.files)  # a refused version leaves no files


def test_the_fake_returns_version_1_when_no_version_is_given(fake_hopsworks, registry, saved) -> None:
    for value in (3.0, 2.0):
        registry.promote_if_better(registry.register(saved[0], NAME, score(value), CARD))
    mr = sdk(fake_hopsworks)
    with pytest.warns(VersionWarning):
        assert mr.get_model(NAME).version == 1
    assert registry.champion(NAME).version == 2  # an adapter that used get_model(name) would say 1
    assert mr.get_model(NAME, version=3) is None and mr.get_model("unknown", version=1) is None
    assert mr.get_models("unknown") == []
    assert [m.version for m in mr.get_models(NAME)] == [2, 1]


def test_the_champion_follows_the_rule_not_the_newest_version(fake_hopsworks, registry, saved) -> None:
    folder = saved[0]
    assert registry.promote_if_better(registry.register(folder, NAME, score(2.0), CARD)).promoted
    worse = registry.register(folder, NAME, score(2.2), CARD)
    assert not registry.promote_if_better(worse).promoted
    assert registry.champion(NAME).version == 1  # not the newest
    better = registry.register(folder, NAME, score(1.8), CARD)
    assert registry.promote_if_better(better).promoted
    record = json.loads(fake_hopsworks.files[f"{FILES}/champion.json"])
    assert (record["version"], record["previous"], record["previous_score"]) == (3, 1, 2.0)
    assert "beats version 1" in record["reason"]
    registry.register(folder, NAME, score(1.9), CARD)  # a newer version that was never judged
    again = HopsworksModelRegistry.from_settings(fake_hopsworks.settings())  # another process
    assert again.champion(NAME).version == 3 and again.champion(NAME).card == CARD
    assert again.champion_record(NAME)["reason"] == record["reason"]


def test_saving_and_loading_give_identical_logits(fake_hopsworks, registry, saved) -> None:
    folder, original = saved
    registered = registry.register(folder, NAME, score(2.0), CARD)
    model, tokenizer = registry.load(registered)
    tokens = [tokenizer.bos_token_id, *tokenizer("The rocket is launching soon")["input_ids"]]
    assert not model.training
    assert torch.equal(logits(model, tokens), logits(original, tokens))
    assert fake_hopsworks.download_calls == [(NAME, 1)]


def test_a_number_taken_by_a_concurrent_run_is_skipped(fake_hopsworks, registry, saved) -> None:
    folder = saved[0]
    mr = sdk(fake_hopsworks)

    def other_run_saves_first(name: str) -> None:
        fake_hopsworks.on_save = None
        mr.python.create_model(name, metrics={"eval_bits_per_char": 9.0}).save(str(folder))

    fake_hopsworks.on_save = other_run_saves_first
    ours = registry.register(folder, NAME, score(2.0), CARD)
    assert ours.version == 2
    assert [(m.version, m.training_metrics) for m in mr.get_models(NAME)] == [(2, score(2.0)), (1, score(9.0))]
    assert "tweet_gpt2, version 2" in fake_hopsworks.files[f"{FILES}/2/Files/model_card.md"].decode()


def test_a_champion_whose_version_was_deleted_is_a_clear_error(fake_hopsworks, registry, saved) -> None:
    registry.promote_if_better(registry.register(saved[0], NAME, score(2.0), CARD))
    sdk(fake_hopsworks).get_model(NAME, version=1).delete()
    with pytest.raises(RegistryError, match="names version 1, which is no longer registered"):
        registry.champion(NAME)


def test_a_version_not_registered_by_tweetgen_is_named(fake_hopsworks, registry, saved) -> None:
    sdk(fake_hopsworks).python.create_model(NAME).save(str(saved[0]))  # no card.json
    with pytest.raises(RegistryError, match=r"Version 1 of model 'tweet_gpt2' .* has no readable card\.json"):
        registry.versions(NAME)


def test_sdk_errors_become_one_sentence_without_the_key(fake_hopsworks, registry, monkeypatch) -> None:
    from tests.fakes.hopsworks_registry_fake import FakeModelRegistry

    def refuse(self, name):
        raise RestAPIError("/modelregistries/1/models", 403, "Forbidden", f"key {fake_hopsworks.api_key} lacks a scope")

    monkeypatch.setattr(FakeModelRegistry, "get_models", refuse)
    with pytest.raises(RegistryError) as caught:
        registry.versions(NAME)
    message = str(caught.value)
    assert "HTTP 403" in message and "tweetgen_test" in message and "***" in message
    assert fake_hopsworks.api_key not in message and "\n" not in message


def test_model_tags_need_a_schema_only_an_administrator_can_create(fake_hopsworks, saved) -> None:
    mr = sdk(fake_hopsworks)
    model = mr.python.create_model(NAME, metrics={"loss": 1.0}).save(str(saved[0]))
    with pytest.raises(RestAPIError, match="Tag schema not found"):
        model.add_tag("tweetgen_champion", {"version": 1})
    fake_hopsworks.tag_schemas.add("tweetgen_champion")
    model.add_tag("tweetgen_champion", {"version": 1})
    assert mr.get_model(NAME, version=1).get_tag("tweetgen_champion") == {"version": 1}


def test_the_description_is_one_bounded_line() -> None:
    text = version_description({"description": "first line\nsecond", "eval_set_id": "x" * 1000})
    assert text.startswith("first line | eval_set_id: xxx") and len(text) == 500 and text.endswith("...")


def test_a_version_folder_left_without_metadata_is_skipped(fake_hopsworks, registry, saved) -> None:
    fake_hopsworks.login(api_key_value=fake_hopsworks.api_key).get_dataset_api().mkdir(f"Models/{NAME}")
    fake_hopsworks.dirs.add(f"{FILES}/1")  # an upload that died before the version was registered
    assert registry.register(saved[0], NAME, score(2.0), CARD).version == 2
    assert [c["version"] for c in fake_hopsworks.save_calls] == [2]

"""The Hopsworks model registry adapter against the real SDK and the wire twin (``tests.twin``):
versions, files, the champion record, and failures as one sentence."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from tests.fakes.saved_models import (
    logits,
    saved_fixture,  # noqa: F401 - the saved fixture
)
from tests.twin.datasets import INODE_NOT_FOUND, PATH_NOT_FOUND
from tests.twin.fixtures import hopsworks_twin_fixture, twin_project_fixture  # noqa: F401 - the fixtures
from tests.twin.server import HopsworksTwin
from tweetgen.config import Settings
from tweetgen.errors import ConfigError
from tweetgen.registry.factory import open_model_registry
from tweetgen.registry.hopsworks import HopsworksModelRegistry, version_description
from tweetgen.registry.port import RegistryError

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

NAME = "tweet_gpt2"
FILES = f"Models/{NAME}"
CHAMPION = f"{FILES}/champion.json"
CARD = {"eval_set_id": "sha256:aaaa", "data_version": "tweets v1 @ 3", "samples": ["hi 🚀"]}
FULL_CARD = {**CARD, "loss_curve": [3.0, 2.5, 2.2]}  # drawing the curve costs ~0.1 s


def settings(**changes: object) -> Settings:
    return dataclasses.replace(Settings.load(dotenv=None), backend="hopsworks", **changes)  # type: ignore[arg-type]


@pytest.fixture
def registry(hopsworks_twin: HopsworksTwin) -> HopsworksModelRegistry:
    return HopsworksModelRegistry.from_settings(settings())


def score(value: float) -> dict[str, float]:
    return {"eval_bits_per_char": value}


def logins(twin: HopsworksTwin) -> int:
    return twin.http.log.count(f"GET project/getProjectInfo/{twin.project}")


def test_the_factory_builds_it_without_logging_in(hopsworks_twin: HopsworksTwin) -> None:
    registry = open_model_registry(settings())
    assert isinstance(registry, HopsworksModelRegistry) and hopsworks_twin.http.log == []
    assert registry.versions(NAME) == [] and registry.champion(NAME) is None
    assert logins(hopsworks_twin) == 1  # logged in once, on first use, and reused


def test_a_missing_key_is_a_config_error_on_first_use(hopsworks_twin: HopsworksTwin) -> None:
    registry = HopsworksModelRegistry.from_settings(settings(hopsworks_api_key=None))
    with pytest.raises(ConfigError, match="HOPSWORKS_API_KEY"):
        registry.versions(NAME)


def test_register_stores_the_local_files_as_versions_1_and_2(hopsworks_twin, registry, saved, twin_project) -> None:
    folder, _ = saved
    first = registry.register(folder, NAME, {"eval_bits_per_char": 2.5, "steps": 10}, FULL_CARD)
    second = registry.register(folder, NAME, score(2.4), CARD)
    assert (first.version, second.version) == (1, 2)
    assert second.location == f"/Projects/twin_project/{FILES}/2"
    files = hopsworks_twin.backend.files.files
    for name in ("model.safetensors", "config.json", "tokenizer.json", "metrics.json", "card.json", "model_card.md", "loss_curve.png"):
        assert f"{FILES}/1/Files/{name}" in files, name
    assert files[f"{FILES}/1/Files/loss_curve.png"][:4] == b"\x89PNG"
    assert "tweet_gpt2, version 2" in files[f"{FILES}/2/Files/model_card.md"].decode()
    assert json.loads(files[f"{FILES}/1/Files/metrics.json"]) == {"eval_bits_per_char": 2.5, "steps": 10.0}
    model = twin_project.get_model_registry().get_model(NAME, version=1)
    assert model.training_metrics == {"eval_bits_per_char": 2.5, "steps": 10.0}
    assert model.description == "A language model that writes tweets. | data_version: tweets v1 @ 3 | eval_set_id: sha256:aaaa"
    assert [(v.version, v.metrics, v.card) for v in registry.versions(NAME)] == [
        (1, first.metrics, FULL_CARD),
        (2, score(2.4), CARD),
    ]
    downloads = [line for line in hopsworks_twin.http.log if "/dataset/download/" in line]
    assert downloads and all(line.endswith("/Files/card.json") for line in downloads)  # never the weights
    assert registry.champion(NAME) is None  # registering never promotes
    assert (folder / "metrics.json").exists() is False  # the caller's folder is left as it was


@pytest.mark.parametrize("name", ["tweet-gpt2", "tweet gpt2", "a/b", ""])
def test_invalid_names_are_refused_before_hopsworks_is_called(hopsworks_twin, registry, saved, name) -> None:
    with pytest.raises(RegistryError, match="letters, digits and underscores"):
        registry.register(saved[0], name, score(2.0), CARD)
    assert hopsworks_twin.http.log == []


@pytest.mark.parametrize("value", ["1.5", "abc", None, True, math.nan, math.inf])
def test_non_numeric_metrics_are_refused_before_hopsworks_is_called(hopsworks_twin, registry, saved, value) -> None:
    with pytest.raises(RegistryError, match="must be finite numbers"):
        registry.register(saved[0], NAME, {"loss": value}, CARD)
    assert hopsworks_twin.http.log == []


def test_the_champion_follows_the_rule_not_version_1_or_the_newest(hopsworks_twin, registry, saved, twin_project) -> None:
    folder = saved[0]
    assert registry.promote_if_better(registry.register(folder, NAME, score(3.0), CARD)).promoted  # the first
    assert registry.promote_if_better(registry.register(folder, NAME, score(2.0), CARD)).promoted  # beats v1
    assert not registry.promote_if_better(registry.register(folder, NAME, score(2.2), CARD)).promoted
    assert registry.champion(NAME).version == 2  # not version 1, not the newest
    assert registry.promote_if_better(registry.register(folder, NAME, score(1.8), CARD)).promoted
    record = json.loads(hopsworks_twin.backend.files.files[CHAMPION])
    assert (record["version"], record["previous"], record["previous_score"]) == (4, 2, 2.0)
    assert "beats version 2" in record["reason"]
    registry.register(folder, NAME, score(1.9), CARD)  # a newer version that was never judged
    again = HopsworksModelRegistry.from_settings(settings())  # another process
    assert again.champion(NAME).version == 4 and again.champion(NAME).card == CARD
    assert again.champion_record(NAME)["reason"] == record["reason"]


@pytest.mark.parametrize("status", [500, 401, 503, 400, 404])  # 400 and 404 with error codes that do not mean "absent"
def test_a_champion_record_that_cannot_be_read_is_never_read_as_no_champion(hopsworks_twin, registry, saved, status) -> None:
    """Problem 4 of issue 11: ``DatasetApi.exists`` says False on any error, and the champion rule
    then let a worse model replace the champion."""
    folder = saved[0]
    registry.promote_if_better(registry.register(folder, NAME, score(2.0), CARD))
    worse = registry.register(folder, NAME, score(2.5), CARD)
    hopsworks_twin.http.fail("GET", r"champion\.json$", status, count=10)  # more than the retries of a 503

    with pytest.raises(RegistryError) as caught:
        registry.promote_if_better(worse)
    hopsworks_twin.http.clear_faults()

    message = str(caught.value)
    assert message.startswith(f"Hopsworks could not read {CHAMPION} in the model registry of Hopsworks project 'twin_project'")
    assert message.endswith("nothing was changed, so run the command again once it can be read.")
    assert json.loads(hopsworks_twin.backend.files.files[CHAMPION])["version"] == 1
    assert registry.champion(NAME).version == 1  # readable again: still the first version


@pytest.mark.parametrize("absent", [PATH_NOT_FOUND, INODE_NOT_FOUND], ids=["400-110018", "404-110008"])
def test_a_champion_record_that_is_absent_means_no_champion(hopsworks_twin, registry, saved, absent) -> None:
    """The dataset resource answers a missing path with HTTP 400, error 110018 (the twin's default,
    as ``DatasetHelper.checkFileExist``); other services with 404, error 110008: both mean absent."""
    hopsworks_twin.backend.files.absent_answer = absent
    first = registry.register(saved[0], NAME, score(2.0), CARD)
    assert registry.champion_record(NAME) is None and registry.champion(NAME) is None
    assert registry.promote_if_better(first).promoted
    hopsworks_twin.backend.files.remove(CHAMPION)  # deleted in the UI
    assert registry.champion(NAME) is None


def test_a_missing_path_is_answered_400_path_not_found_as_the_backend_does(hopsworks_twin, twin_project) -> None:
    """The premise of the test above: the twin refuses a missing path as ``DatasetHelper.checkFileExist`` does."""
    from hopsworks_common.client.exceptions import RestAPIError

    with pytest.raises(RestAPIError) as caught:
        twin_project.get_dataset_api().get(CHAMPION)
    assert (caught.value.response.status_code, caught.value.error_code) == (400, 110018)


def test_the_first_save_of_a_new_project_that_fails_names_the_save_not_the_folder_check(
    hopsworks_twin, registry, saved
) -> None:
    """On a refused save the adapter asks whether the number was taken; on a new project the
    version folder is absent (HTTP 400, 110018), which must read as "not taken"."""
    hopsworks_twin.http.fail("PUT", r"modelregistries/\d+/models/tweet_gpt2_1$", 500)
    with pytest.raises(RegistryError) as caught:
        registry.register(saved[0], NAME, score(2.0), CARD)
    assert "could not save version 1 of model 'tweet_gpt2'" in str(caught.value), str(caught.value)


def test_saving_and_loading_give_identical_logits(registry, saved) -> None:
    folder, original = saved
    registered = registry.register(folder, NAME, score(2.0), CARD)
    model, tokenizer = registry.load(registered)
    tokens = [tokenizer.bos_token_id, *tokenizer("The rocket is launching soon")["input_ids"]]
    assert not model.training
    assert torch.equal(logits(model, tokens), logits(original, tokens))


def test_a_number_taken_by_a_concurrent_run_is_skipped(hopsworks_twin, registry, saved, twin_project, monkeypatch) -> None:
    folder = saved[0]
    mr = twin_project.get_model_registry()
    stale = registry._next_version

    def another_run_saves_first(name: str) -> int:
        number = stale(name)
        if number == 1:  # between our look-up and our save, another run saves version 1
            mr.python.create_model(name, version=1, metrics=score(9.0)).save(str(folder), keep_original_files=True)
        return number

    monkeypatch.setattr(registry, "_next_version", another_run_saves_first)
    ours = registry.register(folder, NAME, score(2.0), CARD)
    assert ours.version == 2
    assert sorted((m.version, m.training_metrics["eval_bits_per_char"]) for m in mr.get_models(NAME)) == [(1, 9.0), (2, 2.0)]
    assert "tweet_gpt2, version 2" in hopsworks_twin.backend.files.files[f"{FILES}/2/Files/model_card.md"].decode()


def test_a_version_folder_left_without_metadata_is_skipped(hopsworks_twin, registry, saved) -> None:
    hopsworks_twin.backend.files.mkdirs(f"{FILES}/1")  # an upload that died before the version was registered
    assert registry.register(saved[0], NAME, score(2.0), CARD).version == 2


def test_a_version_check_that_fails_is_an_error_not_a_free_number(hopsworks_twin, registry, saved, monkeypatch) -> None:
    """``_version_taken`` used ``exists`` too: a failed look-up read as "free"."""
    hopsworks_twin.backend.files.mkdirs(f"{FILES}/1")
    hopsworks_twin.http.fail("GET", rf"dataset/{FILES}/1$", 500, count=10)
    with pytest.raises(RegistryError, match=rf"could not read {FILES}/1 .*HTTP 500"):
        registry.register(saved[0], NAME, score(2.0), CARD)


def test_a_champion_whose_version_was_deleted_is_a_clear_error(registry, saved, twin_project) -> None:
    registry.promote_if_better(registry.register(saved[0], NAME, score(2.0), CARD))
    twin_project.get_model_registry().get_model(NAME, version=1).delete()
    with pytest.raises(RegistryError, match="names version 1, which is no longer registered"):
        registry.champion(NAME)


def test_a_version_not_registered_by_tweetgen_is_named(registry, saved, twin_project, tmp_path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "weights.bin").write_bytes(b"\0" * 16)  # no card.json
    twin_project.get_model_registry().python.create_model(NAME, version=1).save(str(tmp_path / "other"))
    with pytest.raises(RegistryError, match=r"Version 1 of model 'tweet_gpt2' .* has no readable card\.json"):
        registry.versions(NAME)


def test_sdk_errors_become_one_sentence_without_the_key(hopsworks_twin, registry) -> None:
    registry.versions(NAME)  # logged in
    hopsworks_twin.http.fail("GET", r"modelregistries/\d+/models$", 403, message=f"key {hopsworks_twin.api_key} lacks a scope")
    with pytest.raises(RegistryError) as caught:
        registry.versions(NAME)
    message = str(caught.value)
    assert message.startswith(
        "Hopsworks could not list the versions of model 'tweet_gpt2' in the model registry of Hopsworks project "
        "'twin_project': 127.0.0.1 denied permission (HTTP 403: key *** lacks a scope); check HOPSWORKS_HOST (now "
        "127.0.0.1), HOPSWORKS_PROJECT and HOPSWORKS_API_KEY"
    )
    assert hopsworks_twin.api_key not in message and "\n" not in message


def test_the_description_is_one_bounded_line() -> None:
    text = version_description({"description": "first line\nsecond", "eval_set_id": "x" * 1000})
    assert text.startswith("first line | eval_set_id: xxx") and len(text) == 500 and text.endswith("...")

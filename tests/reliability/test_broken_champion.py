"""A champion that cannot be loaded is no champion: the next good version replaces it, on both
registries, and `models` says which version is broken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hsml.engine.model_engine import _model_cache_base_dirs

from tests.fakes.saved_models import saved_fixture  # noqa: F401 - the saved fixture
from tests.reliability.processes import run_cli
from tests.twin.fixtures import hopsworks_twin_fixture  # noqa: F401 - the hopsworks_twin fixture
from tweetgen.config import Settings
from tweetgen.errors import TweetgenError
from tweetgen.pipelines.inference import model_arms
from tweetgen.registry.hopsworks import HopsworksModelRegistry
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.registry.port import ModelRegistry, ModelVersion, format_versions

NAME = "m"


@pytest.fixture(params=["local", "hopsworks"])
def registry(request, tmp_path) -> ModelRegistry:
    if request.param == "local":
        return LocalModelRegistry(tmp_path / "models")
    twin = request.getfixturevalue("hopsworks_twin")  # sets HOPSWORKS_* to reach it
    registry = HopsworksModelRegistry.from_settings(Settings.load(dotenv=None).with_overrides(backend="hopsworks"))
    registry.twin = twin  # type: ignore[attr-defined]
    return registry


def register(registry: ModelRegistry, folder: Path, bits: float) -> ModelVersion:
    return registry.register(folder, NAME, {"eval_bits_per_char": bits}, {"eval_set_id": "sha256:same"})


def cut_weights_short(registry: ModelRegistry, version: ModelVersion) -> None:
    """Cut the version's model.safetensors to half its length, where the registry keeps it (and,
    on Hopsworks, forget the local download: a fresh machine, such as a Modal container)."""
    if isinstance(registry, LocalModelRegistry):
        weights = registry.folder(NAME, version.version) / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        return
    files = registry.twin.backend.files.files  # type: ignore[attr-defined]
    key = f"Models/{NAME}/{version.version}/Files/model.safetensors"
    files[key] = files[key][: len(files[key]) // 2]
    for cache in _model_cache_base_dirs():  # the SDK's download cache, where a previous load put the weights
        shutil.rmtree(Path(cache) / registry.twin.project, ignore_errors=True)  # type: ignore[attr-defined]


def test_a_broken_champion_is_replaced_by_the_next_good_version(registry, saved) -> None:
    first = register(registry, saved[0], 2.0)
    assert registry.promote_if_better(first).promoted
    cut_weights_short(registry, first)

    worse = register(registry, saved[0], 2.5)  # would not beat a working champion
    decision = registry.promote_if_better(worse)

    assert decision.promoted and decision.previous == 1
    assert decision.reason.startswith("Version 1, the champion, cannot be loaded (")
    assert decision.reason.endswith("; version 2 (2.5000 bits/char) replaces it.")
    assert registry.champion(NAME).version == 2
    assert registry.champion_record(NAME)["previous_damage"]
    assert "version 1 is broken: " in format_versions(registry, NAME)


def test_a_broken_candidate_is_never_promoted(registry, saved) -> None:
    first = register(registry, saved[0], 2.0)
    registry.promote_if_better(first)
    better = register(registry, saved[0], 1.0)
    cut_weights_short(registry, better)
    decision = registry.promote_if_better(better)
    assert not decision.promoted
    assert decision.reason.startswith("Version 2 cannot be loaded (") and decision.reason.endswith("so it is not promoted.")
    assert registry.champion(NAME).version == 1


def test_models_marks_the_broken_version_and_inference_says_what_to_do(tmp_path: Path, saved) -> None:
    data_dir = tmp_path / "data"
    registry = LocalModelRegistry(data_dir / "models")
    first = register(registry, saved[0], 2.0)
    registry.promote_if_better(first)
    second = register(registry, saved[0], 2.5)  # a challenger
    cut_weights_short(registry, second)
    assert [arm for arm, _ in model_arms(registry, NAME)] == ["champion"]  # the broken challenger is left out

    cut_weights_short(registry, first)
    with pytest.raises(TweetgenError, match=r"The champion, version 1 of 'm' .* cannot be loaded \(model\.safetensors is "
                                            r".* bytes but its header describes .*\); run `python -m tweetgen train`"):
        model_arms(registry, NAME)

    listing = run_cli(["models"], data_dir, TWEETGEN_MODEL_NAME=NAME)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[1].split()[0] == "1" and lines[1].rstrip().endswith("* broken")
    assert lines[2].split()[0] == "2" and lines[2].rstrip().endswith("broken")
    assert any(line.startswith("version 1 is broken: model.safetensors is ") for line in lines)

"""Every name and description tweetgen sends to Hopsworks is within the backend's limits.

The groups are found by walking ``tweetgen.schema`` for ``GroupSpec`` objects, so a group added
there is checked without touching this file. The rules are the backend's, as the twin enforces them
(``tests.twin.rules``: ``FEATURESTORE_REGEX``, 256-character descriptions) and as the SDK checks
model names (``hopsworks_common.util._validate_model_name``); model limits come from the backend's
entities (``Model.name`` at most 255, ``ModelVersion.description`` at most 1000).
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

import tweetgen.schema
from tests.twin import rules
from tweetgen.config import Settings
from tweetgen.pipelines.doctor import scratch_group
from tweetgen.registry.hopsworks import MODEL_DESCRIPTION_MAX_CHARS, MODEL_NAME_MAX_CHARS, version_description
from tweetgen.schema import GROUPS, TWEETS, GroupSpec
from tweetgen.store.hopsworks import TRAINING_DATASET_DESCRIPTION, feature_view_description, feature_view_name


def defined_groups() -> list[GroupSpec]:
    """Every GroupSpec in tweetgen.schema (whether or not it is listed in GROUPS), and the doctor's."""
    found = {id(v): v for v in [*vars(tweetgen.schema).values(), *GROUPS.values()] if isinstance(v, GroupSpec)}
    return [*found.values(), scratch_group("0123abcd")]


GROUP_SPECS = defined_groups()


def test_the_walk_finds_the_known_groups() -> None:
    names = {spec.name for spec in GROUP_SPECS}
    assert {"tweets", "generated_tweets", "tweetgen_doctor_0123abcd"} <= names
    assert set(GROUPS) <= names


@pytest.mark.parametrize("spec", GROUP_SPECS, ids=lambda spec: spec.name)
def test_a_group_its_features_its_feature_view_and_training_data_are_within_the_limits(spec: GroupSpec) -> None:
    rules.check_entity(spec.name, spec.description)  # raises the backend's refusal
    rules.check_feature_names(spec.columns)
    view = feature_view_name(spec)
    rules.check_entity(view, feature_view_description(spec))
    rules.check_entity(f"{view}_{spec.version}", TRAINING_DATASET_DESCRIPTION)  # a training dataset's name


@pytest.mark.parametrize("name", ["1tweets", "_tweets", "Tweets", "tweets-v2", "t" * 64, ""])
def test_a_contract_the_backend_would_refuse_fails_when_it_is_defined(name: str) -> None:
    with pytest.raises(ValueError, match="starting with a letter"):
        dataclasses.replace(TWEETS, name=name)
    with pytest.raises(ValueError, match="starting with a letter"):
        GroupSpec(name="ok", version=1, primary_key=("id",), event_time="at", description="d",
                  schema=pa.schema([("id", pa.int64()), ("at", pa.int64()), (name, pa.int64())]))


def test_a_description_over_256_characters_fails_when_it_is_defined() -> None:
    assert len(dataclasses.replace(TWEETS, description="d" * 256).description) == 256
    with pytest.raises(ValueError, match="the description has 257 characters; Hopsworks accepts at most 256"):
        dataclasses.replace(TWEETS, description="d" * 257)


def test_the_model_name_and_descriptions_are_within_the_limits() -> None:
    from hopsworks_common.util import _validate_model_name

    name = Settings().model_name
    _validate_model_name(name)  # the SDK's own check, which raises
    assert len(name) <= MODEL_NAME_MAX_CHARS
    card = {"description": "d" * 5000, "data_version": "v" * 5000, "eval_set_id": "sha256:" + "a" * 64}
    assert len(version_description(card)) <= MODEL_DESCRIPTION_MAX_CHARS
    assert len(version_description({})) <= MODEL_DESCRIPTION_MAX_CHARS

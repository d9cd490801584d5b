"""The real hopsworks SDK against the twin: model registry, dataset API, REST failures and timeouts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from tests.twin.fixtures import hopsworks_twin_fixture, twin_project_fixture  # noqa: F401 - the fixtures
from tests.twin.server import HopsworksTwin

# the SDK silences it with urllib3.disable_warnings() at import; pytest resets filters per test
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

NAME = "tweet_gpt2"


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / NAME
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 40)
    (folder / "card.json").write_text(json.dumps({"eval_set_id": "sha256:aaaa"}), encoding="utf-8")
    (folder / "tokenizer" / "vocab.json").write_text('{"hi": 0}', encoding="utf-8")
    return folder


def save(project, folder: Path, version: int, metrics: dict[str, float]):
    registry = project.get_model_registry()
    model = registry.torch.create_model(NAME, version=version, metrics=metrics, description="A GPT-2 for tweets.")
    model.save(str(folder), keep_original_files=True)
    return registry


def test_save_get_and_download_a_model(twin_project, model_dir: Path, hopsworks_twin: HopsworksTwin):
    registry = save(twin_project, model_dir, 1, {"bits_per_char": 2.5})

    model = registry.get_model(NAME, version=1)
    folder = Path(model.download())

    assert (model.name, model.version, model.training_metrics) == (NAME, 1, {"bits_per_char": 2.5})
    assert model.model_files_path == f"/Projects/twin_project/Models/{NAME}/1/Files"
    assert (folder / "model.safetensors").read_bytes() == (model_dir / "model.safetensors").read_bytes()
    assert json.loads((folder / "tokenizer" / "vocab.json").read_text()) == {"hi": 0}
    assert hopsworks_twin.backend.files.exists(f"Models/{NAME}/1/Files/card.json")


def test_versions_best_model_and_the_default_version(twin_project, model_dir: Path):
    from hopsworks_common.util import VersionWarning

    save(twin_project, model_dir, 1, {"bits_per_char": 2.5})
    registry = save(twin_project, model_dir, 2, {"bits_per_char": 2.1})

    assert sorted(m.version for m in registry.get_models(NAME)) == [1, 2]
    assert registry.get_best_model(NAME, "bits_per_char", "min").version == 2
    assert registry.get_model(NAME, version=3) is None
    with pytest.warns(VersionWarning, match="defaulting to `1`"):
        assert registry.get_model(NAME).version == 1  # not the newest


def test_a_taken_version_is_refused(twin_project, model_dir: Path):
    from hopsworks_common.client.exceptions import ModelRegistryException

    save(twin_project, model_dir, 1, {"bits_per_char": 2.5})

    with pytest.raises(ModelRegistryException, match="version 1 already exists, please select another version"):
        save(twin_project, model_dir, 1, {"bits_per_char": 2.0})


def test_model_names_and_metrics_are_checked_by_the_sdk(twin_project, model_dir: Path):
    from hopsworks_common.client.exceptions import ModelRegistryException

    registry = twin_project.get_model_registry()
    with pytest.raises(ModelRegistryException, match=r"Invalid model name 'tweet-gpt2'"):
        registry.python.create_model("tweet-gpt2", version=1).save(str(model_dir), keep_original_files=True)
    with pytest.raises(ValueError, match="only numbers can be attached"):
        registry.python.create_model(NAME, version=1, metrics={"arm": "champion"}).save(str(model_dir))


def test_upload_exists_and_read_back_a_small_json_file(twin_project, tmp_path: Path):
    datasets = twin_project.get_dataset_api()
    datasets.mkdir(f"Models/{NAME}")
    record = tmp_path / "champion.json"
    record.write_text(json.dumps({"version": 3, "reason": "lower bits per char"}), encoding="utf-8")

    remote = datasets.upload(str(record), f"Models/{NAME}")
    record.write_text(json.dumps({"version": 4}), encoding="utf-8")
    datasets.upload(str(record), f"Models/{NAME}", overwrite=True)
    local = datasets.download(remote, str(tmp_path / "read"), overwrite=True)

    assert remote == f"Models/{NAME}/champion.json"
    assert datasets.exists(remote) and not datasets.exists(f"Models/{NAME}/absent.json")
    assert json.loads(Path(local).read_text(encoding="utf-8")) == {"version": 4}
    assert json.loads(datasets.read_content(f"/Projects/twin_project/{remote}").content) == {"version": 4}


def test_uploads_arrive_in_chunks_and_are_put_together(twin_project, tmp_path: Path, hopsworks_twin: HopsworksTwin):
    datasets = twin_project.get_dataset_api()
    payload = bytes(range(256)) * 20  # 5,120 bytes in 1,000-byte chunks
    (tmp_path / "blob.bin").write_bytes(payload)

    datasets.upload(str(tmp_path / "blob.bin"), "Resources", chunk_size=1000)

    assert hopsworks_twin.backend.files.files["Resources/blob.bin"] == payload
    assert sum(line == "POST project/119/dataset/upload/Resources" for line in hopsworks_twin.http.log) == 6


def test_exists_says_false_when_the_backend_fails(twin_project, tmp_path: Path, hopsworks_twin: HopsworksTwin):
    from hopsworks.client.exceptions import RestAPIError

    datasets = twin_project.get_dataset_api()
    (tmp_path / "champion.json").write_text("{}", encoding="utf-8")
    datasets.upload(str(tmp_path / "champion.json"), "Resources")
    hopsworks_twin.http.fail("GET", r"dataset/Resources/champion\.json$", status=500)
    hopsworks_twin.http.fail("GET", r"dataset/Resources/champion\.json$", status=401)

    assert datasets.exists("Resources/champion.json") is False  # a 500 reads as "absent"
    assert datasets.exists("Resources/champion.json") is False  # so does a 401
    assert datasets.exists("Resources/champion.json") is True
    hopsworks_twin.http.fail("GET", r"dataset/Resources/champion\.json$", status=503)
    with pytest.raises(RestAPIError) as raised:  # what the metadata call itself says
        datasets._get("Resources/champion.json")
    assert raised.value.response.status_code == 503


def test_rest_calls_after_login_wait_as_long_as_the_backend_takes(twin_project, hopsworks_twin: HopsworksTwin):
    hopsworks_twin.http.stall("GET", r"dataset/Resources$", seconds=1.0)

    started = time.monotonic()
    assert twin_project.get_dataset_api().exists("Resources")

    assert time.monotonic() - started >= 1.0  # no client timeout: a black-holed route hangs forever


def test_a_default_timeout_on_the_sdk_session_bounds_every_call(twin_project, hopsworks_twin: HopsworksTwin):
    from hopsworks_common import client

    class TimeoutAdapter(requests.adapters.HTTPAdapter):
        def send(self, request, timeout=None, **kwargs):
            return super().send(request, timeout=timeout or (5.0, 0.2), **kwargs)

    client._get_instance()._session.mount("https://", TimeoutAdapter())
    hopsworks_twin.http.stall("GET", r"dataset/Resources$", seconds=1.0)

    with pytest.raises(requests.exceptions.ReadTimeout) as raised:
        twin_project.get_dataset_api()._get("Resources")

    assert isinstance(raised.value, OSError)  # what the adapters' sdk_errors() already catch

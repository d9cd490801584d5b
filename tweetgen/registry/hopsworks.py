"""Hopsworks model registry: model versions in a Hopsworks project, through the ``hopsworks`` SDK.

A version holds the same files as a local version folder (``registry_local``): the model and
tokenizer as ``save_pretrained`` wrote them, ``metrics.json``, ``card.json``, ``model_card.md``
and ``loss_curve.png``, under ``Models/<name>/<version>/Files/`` in the project. Its numeric
metrics are also the model's ``training_metrics`` and its description is one line from the card.

Version numbers: the SDK picks max + 1 on the client, not atomically, and only while saving. The
adapter picks the number itself (highest registered version + 1) and passes it to
``create_model``, so that ``model_card.md`` can name it; if another run saved that number first,
the SDK refuses it and the next number is tried. Two runs that check at the same instant can
still collide (the SDK checks, then uploads): run one training per model name at a time.

The champion is recorded in ``Models/<name>/champion.json`` in the project's file system (the
dataset API), the same record as the local ``champion.json``: version, scores, reason, time.
``champion`` reads that file and then asks for exactly that version. Reading tells "absent"
(no champion yet) from "could not read" (any other failure: a ``RegistryError``, so
``promote_if_better`` never promotes on a transient error); the SDK's ``DatasetApi.exists`` is
never used, since it answers False on any error, a 401 or a 500 included. "Absent" is read from the
backend's error code, whatever the HTTP status: the dataset resource answers a missing path with
HTTP 400 and ``PATH_NOT_FOUND`` (110018, ``DatasetHelper.checkFileExist``), other services with
HTTP 404 and ``INODE_NOT_FOUND`` (110008). Never used for it:
``get_model(name)`` without a version (it returns version 1), the newest version, or
``get_best_model`` (it compares metrics across eval sets, which the champion rule forbids).
Model tags (``Model.add_tag`` / ``get_tag``) would be the natural place, but a tag needs a tag
schema that only a platform administrator can create (``TagSchemasApi`` requires HOPS_ADMIN),
so most projects cannot use them. Replacing ``champion.json`` is remove-then-upload (the dataset
API has no atomic replace): a reader at that instant finds no champion and fails with a clear
message; running it again works. The champion lock is a no-op: Hopsworks offers no lock, and its
versions are not atomic either.

Reading: ``versions`` and ``champion`` take metrics from the registry's metadata and download each
version's ``card.json`` alone (a few KB), never its weights; ``load`` downloads the whole
version into the SDK's cache (reused across processes). The login happens on first use, not
when the registry is built, and reuses ``connect_hopsworks`` (bounded, never prompts).
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tweetgen.clients.hopsworks import connect_hopsworks, failure_sentence, sdk_errors
from tweetgen.registry.champion import ChampionDecision, new_champion_record
from tweetgen.registry.model_card import CARD_FILE, render_model_card, write_json, write_version_files
from tweetgen.registry.port import ModelRegistry, ModelVersion, RegistryError, check_model_name

if TYPE_CHECKING:
    from tweetgen.config import Settings

T = TypeVar("T")

CHAMPION_FILE = "champion.json"
SAVE_RETRIES = 5
# The backend's limits (hopsworks-persistence ``Model.name`` @Size(max=255), ``ModelVersion.description``
# @Size(max=1000)); the card itself is a file, the description a one-line summary.
MODEL_NAME_MAX_CHARS = 255
MODEL_DESCRIPTION_MAX_CHARS = 1000
DESCRIPTION_LIMIT = 500
#: The backend's error codes for "no such file or folder" (hopsworks ``RESTCodes.DatasetErrorCode``):
#: PATH_NOT_FOUND (HTTP 400, from ``DatasetHelper.checkFileExist``) and INODE_NOT_FOUND (HTTP 404).
PATH_ABSENT_CODES = frozenset({110018, 110008})


class HopsworksModelRegistry(ModelRegistry):
    """Model versions in one Hopsworks project (see the module docstring).

    Args:
        connect: returns the logged-in project; called once, on first use.
        project_name: the project's name, for messages.
        api_key: only to scrub it from error messages.
    """

    def __init__(
        self, connect: Callable[[], Any], project_name: str, api_key: str | None = None, timeout_s: float = 60.0
    ) -> None:
        self._connect = connect
        self.project_name = project_name
        self.where = f"the model registry of Hopsworks project '{project_name}'"
        self._api_key = api_key
        self.timeout_s = timeout_s  # for messages: connect_hopsworks bounds each call
        self._handles: tuple[Any, Any] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> HopsworksModelRegistry:
        """The registry of ``settings.hopsworks_project``; logs in on first use (``connect_hopsworks``)."""
        return cls(
            lambda: connect_hopsworks(settings),
            (settings.hopsworks_project or "").strip(),
            api_key=(settings.hopsworks_api_key or "").strip(),
            timeout_s=settings.hopsworks_timeout_s,
        )

    # ---- writing ---------------------------------------------------------------------------

    def _register(self, model_dir: Path, name: str, metrics: dict[str, float], card: dict[str, Any]) -> ModelVersion:
        registry, _ = self._open()
        version = 0
        for _ in range(SAVE_RETRIES):
            # past the last number tried too: a folder left without metadata is not in get_models
            version = max(self._next_version(name), version + 1)
            with tempfile.TemporaryDirectory(prefix="tweetgen-model-") as staging:
                folder = Path(staging) / name
                stage_version_files(model_dir, folder, name, version, metrics, card)
                model = registry.torch.create_model(
                    name, version=version, metrics=metrics, description=version_description(card)
                )
                try:
                    with contextlib.redirect_stdout(sys.stderr):  # the SDK's progress bars and notes
                        model.save(str(folder), keep_original_files=True)
                except sdk_errors() as error:
                    if self._version_taken(name, version):
                        continue  # another run saved this number first: try the next one
                    raise self._error(f"save version {version} of model '{name}'", error) from None
            return ModelVersion(name, version, metrics, card, self._location(name, version))
        raise RegistryError(f"Could not find a free version number for '{name}' in {self.where}; try again.")

    def _next_version(self, name: str) -> int:
        registry, _ = self._open()
        models = self._call(f"list the versions of model '{name}'", lambda: registry.get_models(name))
        return max((int(m.version) for m in models), default=0) + 1

    def _version_taken(self, name: str, version: int) -> bool:
        """Whether ``version`` is registered or its folder exists (an upload that died half-way).

        Raises ``RegistryError`` if Hopsworks cannot say: "unknown" is never read as "free".
        """
        registry, _ = self._open()
        model = self._call(f"look up version {version} of model '{name}'", lambda: registry.get_model(name, version=version))
        return model is not None or self._read_file(f"Models/{name}/{version}", metadata_only=True) is not None

    def _record_champion(self, candidate: ModelVersion, decision: ChampionDecision) -> None:
        record = new_champion_record(candidate, decision)
        _, datasets = self._open()
        with tempfile.TemporaryDirectory(prefix="tweetgen-champion-") as staging:
            local = Path(staging) / CHAMPION_FILE
            write_json(local, record)
            self._call(
                f"record version {candidate.version} as the champion of model '{candidate.name}'",
                lambda: datasets.upload(str(local), f"Models/{candidate.name}", overwrite=True),
            )

    # ---- reading ---------------------------------------------------------------------------

    def versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, oldest first; downloads each ``card.json``, never weights."""
        check_model_name(name)
        registry, _ = self._open()
        models = self._call(f"list the versions of model '{name}'", lambda: registry.get_models(name))
        return [self._read_version(model) for model in sorted(models, key=lambda m: int(m.version))]

    def champion(self, name: str) -> ModelVersion | None:
        """The version named in ``Models/<name>/champion.json``, or None if there is no such file."""
        record = self.champion_record(name)
        if record is None:
            return None
        path = f"Models/{name}/{CHAMPION_FILE}"
        number = record.get("version") if isinstance(record, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            raise RegistryError(
                f"{path} in {self.where} is unreadable (no version number); delete it in the Hopsworks UI "
                "(Project settings > File browser) and train again to choose a champion."
            )
        registry, _ = self._open()
        model = self._call(
            f"look up version {number} of model '{name}'", lambda: registry.get_model(name, version=number)
        )
        if model is None:
            raise RegistryError(
                f"{path} in {self.where} names version {number}, which is no longer registered; "
                "delete that file in the Hopsworks UI and train again to choose a champion."
            )
        return self._read_version(model)

    def champion_record(self, name: str) -> dict[str, Any] | None:
        """The contents of ``Models/<name>/champion.json`` (version, scores, reason, time), or None."""
        check_model_name(name)
        return self._read_json(f"Models/{name}/{CHAMPION_FILE}")

    def load(self, version: ModelVersion) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        """Download ``version`` (into the SDK's cache) and load it in eval mode."""
        registry, _ = self._open()
        name, number = version.name, version.version
        model = self._call(
            f"look up version {number} of model '{name}'", lambda: registry.get_model(name, version=number)
        )
        if model is None:
            raise RegistryError(
                f"Version {number} of model '{name}' is not in {self.where}; list its versions and pick one that exists."
            )
        folder = Path(self._call(f"download version {number} of model '{name}'", model.download))
        from tweetgen.model.lstm import register_auto_classes

        register_auto_classes()  # the version may be a tweet_lstm
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            loaded = AutoModelForCausalLM.from_pretrained(folder)
        except Exception as error:  # a missing or corrupt file surfaces as OSError, ValueError, SafetensorError...
            first_line = str(error).splitlines()[0] if str(error) else ""
            raise RegistryError(
                f"Version {number} of model '{name}' in {self.where} cannot be loaded ({type(error).__name__}: {first_line}); "
                "delete that version in the Hopsworks UI or register the model again."
            ) from error
        loaded.eval()
        return loaded, tokenizer

    def _read_version(self, model: Any) -> ModelVersion:
        name, number = model.name, int(model.version)
        card = self._read_json(f"{model.model_files_path}/{CARD_FILE}")
        if not isinstance(card, dict):
            raise RegistryError(
                f"Version {number} of model '{name}' in {self.where} has no readable {CARD_FILE}; "
                "it was not registered by tweetgen: delete it in the Hopsworks UI or use another model name."
            )
        metrics = {str(k): float(v) for k, v in (model.training_metrics or {}).items()}
        return ModelVersion(name, number, metrics, card, self._location(name, number))

    def _read_json(self, remote: str) -> Any:
        """The JSON content of one project file, or None if it does not exist.

        Raises ``RegistryError`` if it exists but is not JSON, or if Hopsworks cannot say.
        """
        content = self._read_file(remote)
        if content is None:
            return None
        try:
            return json.loads(content.decode("utf-8"))
        except ValueError as error:
            raise RegistryError(
                f"{remote} in {self.where} is not valid JSON ({error}); delete it in the Hopsworks UI."
            ) from None

    def _read_file(self, remote: str, metadata_only: bool = False) -> bytes | None:
        """The bytes of ``remote`` (absolute, or relative to the project), or None if Hopsworks says
        there is no such path (``PATH_ABSENT_CODES``, HTTP 400 or 404).

        Any other failure is a ``RegistryError``: the file may exist, so nothing may be decided.
        """
        from hopsworks_common.client.exceptions import RestAPIError

        _, datasets = self._open()
        try:
            with contextlib.redirect_stdout(sys.stderr):
                if metadata_only:
                    datasets.get(remote)  # the inode; unlike exists(), get() raises on every error
                    return b""
                absolute = remote if remote.startswith("/") else f"/Projects/{self.project_name}/{remote}"
                return datasets.read_content(absolute).content
        except RestAPIError as error:
            if is_absent(error):
                return None
            raise RegistryError(self._could_not_read(remote, error)) from None
        except sdk_errors() as error:
            raise RegistryError(self._could_not_read(remote, error)) from None

    def _could_not_read(self, remote: str, error: BaseException) -> str:
        sentence = failure_sentence(f"read {remote}", self.where, error, self._api_key, self.timeout_s)
        return sentence[:-1] + "; nothing was changed, so run the command again once it can be read."

    def check_dataset_api(self, token: str) -> str:
        """Write, read back and remove ``Resources/tweetgen_doctor_<token>.json`` (what recording a
        champion needs); return a line saying so. Not part of the port: ``doctor`` uses it."""
        _, datasets = self._open()
        remote = f"Resources/tweetgen_doctor_{token}.json"
        content = {"written_by": "python -m tweetgen doctor", "token": token}
        with tempfile.TemporaryDirectory(prefix="tweetgen-doctor-") as staging:
            local = Path(staging) / Path(remote).name
            write_json(local, content)
            self._call(f"upload {remote}", lambda: datasets.upload(str(local), "Resources", overwrite=True))
        try:
            read = self._read_json(remote)
        finally:
            self._call(f"remove {remote}", lambda: datasets.remove(remote))
        if read != content:
            raise RegistryError(f"{remote} in {self.where} read back as {read!r}, not as written; check the project's storage.")
        return f"wrote, read back and removed {remote}"

    # ---- the SDK -----------------------------------------------------------------------------

    def _open(self) -> tuple[Any, Any]:
        """The model registry and the dataset API, logging in on the first call."""
        if self._handles is None:
            project = self._connect()
            registry = self._call("open the model registry", project.get_model_registry)
            self._handles = (registry, project.get_dataset_api())
        return self._handles

    def _location(self, name: str, version: int) -> str:
        return f"/Projects/{self.project_name}/Models/{name}/{version}"

    def _error(self, action: str, error: BaseException) -> RegistryError:
        return RegistryError(failure_sentence(action, self.where, error, self._api_key, self.timeout_s))

    def _call(self, action: str, function: Callable[[], T]) -> T:
        """Run one SDK call: its chatter goes to stderr, its failures become one ``RegistryError``."""
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return function()
        except sdk_errors() as error:
            raise self._error(action, error) from None


def is_absent(error: BaseException) -> bool:
    """Whether a ``RestAPIError`` says the path does not exist (and nothing else went wrong)."""
    try:
        code = int(getattr(error, "error_code", None) or 0)
    except (TypeError, ValueError):
        return False
    return code in PATH_ABSENT_CODES and getattr(getattr(error, "response", None), "status_code", None) in (400, 404)


def stage_version_files(
    model_dir: Path, folder: Path, name: str, version: int, metrics: dict[str, float], card: dict[str, Any]
) -> None:
    """Write into the new ``folder`` the files of one version, as the local registry stores them."""
    write_version_files(model_dir, folder, metrics, card)
    (folder / "model_card.md").write_text(render_model_card(name, version, metrics, card), encoding="utf-8")


def version_description(card: dict[str, Any]) -> str:
    """One line for the registry's description field: what the model is and what it was trained on."""
    parts = [str(card.get("description") or "A language model that writes tweets.").splitlines()[0]]
    parts += [f"{key}: {card[key]}" for key in ("data_version", "eval_set_id") if card.get(key)]
    text = " | ".join(parts)
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 3] + "..."



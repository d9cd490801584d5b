"""Local model registry: numbered version folders under ``data/models/``.

Layout::

    <root>/<name>/<version>/    model.safetensors, config.json, tokenizer files (save_pretrained),
                                metrics.json, card.json, model_card.md, loss_curve.png
    <root>/<name>/champion.json the champion's version and the decision that made it champion

A version appears whole or not at all: it is written into a hidden scratch folder beside the
versions (``.incoming-*``, locked by its writer: ``tweetgen.files``), then renamed to the next
free number (a rename onto a taken number fails, and the writer tries the next one), so
concurrent runs never share a number. A scratch folder left by a killed run is removed by the
next ``register``. Files and folders follow the permission rule of ``tweetgen.files``. Nothing is
created until the first ``register``; transformers (and the LSTM's Auto classes) are loaded only
to load a model.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tweetgen.files import apply_umask, make_folder, open_lock_file, remove_abandoned, scratch_folder
from tweetgen.registry.champion import ChampionDecision, new_champion_record
from tweetgen.registry.integrity import folder_damage
from tweetgen.registry.model_card import render_model_card, write_json, write_version_files
from tweetgen.registry.port import ModelRegistry, ModelVersion, RegistryError, check_model_name

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from tweetgen.config import Settings

CHAMPION_FILE = "champion.json"
REQUIRED_FILES = ("config.json", "metrics.json", "card.json", "tokenizer_config.json")
RENAME_RETRIES = 100
INCOMING_PREFIX = ".incoming-"


class LocalModelRegistry(ModelRegistry):
    """Model versions as folders in ``root`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.where = str(self.root)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalModelRegistry:
        """The registry under ``<data_dir>/models``."""
        return cls(settings.data_dir / "models")

    def folder(self, name: str, version: int) -> Path:
        return self.root / name / str(version)

    def _register(self, model_dir: Path, name: str, metrics: dict[str, float], card: dict[str, Any]) -> ModelVersion:
        name_dir = make_folder(self.root / name, "a model's folder")
        remove_abandoned(name_dir, INCOMING_PREFIX)  # what a killed run left
        with scratch_folder(name_dir, INCOMING_PREFIX) as incoming:
            write_version_files(model_dir, incoming, metrics, card)
            apply_umask(incoming)  # a temporary folder is 0700 and safetensors writes 0600
            version = self._publish(incoming, name, metrics, card)
        return ModelVersion(name, version, metrics, card, str(self.folder(name, version)))

    def _publish(self, incoming: Path, name: str, metrics: dict[str, float], card: dict[str, Any]) -> int:
        """Rename ``incoming`` to the next free version number; returns the number."""
        for _ in range(RENAME_RETRIES):
            version = max(self._numbers(name), default=0) + 1
            (incoming / "model_card.md").write_text(render_model_card(name, version, metrics, card), encoding="utf-8")
            try:
                os.rename(incoming, self.folder(name, version))
                return version
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                # another run took this number between listing and renaming: try the next one
        raise RegistryError(f"Could not find a free version number for '{name}' in {self.where}; try again.")

    def _numbers(self, name: str) -> list[int]:
        name_dir = self.root / name
        if not name_dir.is_dir():
            return []
        return sorted(int(p.name) for p in name_dir.iterdir() if p.name.isdigit() and p.is_dir())

    def versions(self, name: str) -> list[ModelVersion]:
        check_model_name(name)
        return [self._read_version(name, number) for number in self._numbers(name)]

    def _read_version(self, name: str, version: int) -> ModelVersion:
        folder = self.folder(name, version)
        missing = _missing_files(folder)
        if missing:
            raise _corrupt(folder, missing)
        metrics, card = _read_json(folder / "metrics.json"), _read_json(folder / "card.json")
        if not isinstance(metrics, dict) or not isinstance(card, dict):
            raise _corrupt(folder, "metrics.json or card.json is not a JSON object")
        return ModelVersion(name, version, metrics, card, str(folder))

    def champion(self, name: str) -> ModelVersion | None:
        path = self.root / check_model_name(name) / CHAMPION_FILE
        if not path.is_file():
            return None
        record = _read_json(path)
        if not isinstance(record, dict) or not isinstance(record.get("version"), int):
            raise RegistryError(f"{path} is unreadable (no version number); remove it and train again to choose a champion.")
        if not self.folder(name, record["version"]).is_dir():
            raise RegistryError(f"{path} names version {record['version']}, whose folder is gone; remove {path} and train again.")
        return self._read_version(name, record["version"])

    def champion_record(self, name: str) -> dict[str, Any] | None:
        """The contents of ``champion.json`` (version, scores, reason, time), or None."""
        path = self.root / check_model_name(name) / CHAMPION_FILE
        return _read_json(path) if path.is_file() else None

    def check_files(self, version: ModelVersion) -> str | None:
        """Why the version's folder cannot be loaded (a missing, unreadable or cut-short file), or None."""
        folder = self.folder(version.name, version.version)
        return _missing_files(folder) or folder_damage(folder)

    def load(self, version: ModelVersion) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from tweetgen.model.lstm import register_auto_classes

        register_auto_classes()  # the version may be a tweet_lstm
        folder = self.folder(version.name, version.version)
        self._read_version(version.name, version.version)  # names a missing file before transformers does
        problem = folder_damage(folder)
        if problem:
            raise _corrupt(folder, problem)
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForCausalLM.from_pretrained(folder)
        except Exception as error:  # a corrupt file surfaces as OSError, ValueError, SafetensorError...
            raise _corrupt(folder, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from error
        model.eval()
        return model, tokenizer

    def _record_champion(self, candidate: ModelVersion, decision: ChampionDecision) -> None:
        record = new_champion_record(candidate, decision)
        path = self.root / candidate.name / CHAMPION_FILE
        temporary = path.with_name(f".{CHAMPION_FILE}.{os.getpid()}")
        write_json(temporary, record)
        os.replace(temporary, path)  # readers see the old or the new record, never half of one

    @contextlib.contextmanager
    def _champion_lock(self, name: str) -> Iterator[None]:
        name_dir = make_folder(self.root / name, "a model's folder")
        with open_lock_file(name_dir / ".champion.lock") as handle:
            try:
                import fcntl
            except ImportError:  # Windows: no advisory locks, decisions are rare enough
                yield
                return
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)




def _missing_files(folder: Path) -> str | None:
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if not any(folder.glob("*.safetensors")):
        missing.append("*.safetensors")
    return f"missing {', '.join(missing)}" if missing else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RegistryError(f"{path} is unreadable ({error}); remove the folder it is in or register the model again.") from None


def _corrupt(folder: Path, what: str) -> RegistryError:
    return RegistryError(f"The model version folder {folder} is corrupt ({what}); remove it or register the model again.")

"""Checks run before any expensive work: one sentence and a non-zero exit in well under a second.

A command that would fail after loading torch, logging in or training for a minute fails here
instead, before any of that: a missing credential, a data directory that is a file or read-only,
a damaged feature-store log, a champion record naming a version that is gone, training options
that cannot work. ``check_command`` runs the checks a command needs; ``schedule`` runs those of
every job it will run, so a job cannot fail the next morning for want of a key it lacked at start.
Nothing here imports torch, transformers, an SDK or ``deltalake``.
"""

from __future__ import annotations

import math
from pathlib import Path

from tweetgen.config import Settings
from tweetgen.errors import ConfigError, UsageError
from tweetgen.files import is_writable_folder
from tweetgen.model.families import FAMILIES, TOKENIZERS
from tweetgen.schema import GROUPS
from tweetgen.store.delta_log import check_delta_log

#: What each command needs: a writable store, a registry that must be readable, a live source.
NEEDS: dict[str, frozenset[str]] = {
    "features": frozenset({"write"}),
    "scrape": frozenset({"write", "live_source"}),
    "train": frozenset({"write", "registry"}),
    "retrain": frozenset({"write", "registry"}),
    "infer": frozenset({"write", "registry"}),
    "models": frozenset({"registry"}),
    "query": frozenset(),
    "app": frozenset(),  # the app starts without a model: its prompt box says why
    "demo": frozenset({"write", "registry"}),
}
SCHEDULED = ("scrape", "retrain", "infer")  # the jobs of `tweetgen schedule` (tweetgen.pipelines.jobs.scheduled_jobs)


def check_command(settings: Settings, command: str) -> None:
    """Run the checks ``command`` needs (see ``NEEDS``); raise ``ConfigError`` or ``StoreError``."""
    needs = NEEDS[command]
    check_backend(settings)
    if "live_source" in needs:
        check_live_source(settings)
    if settings.backend == "local":
        check_data_dir(settings.data_dir, writes="write" in needs)
        check_local_store(settings)
        if "registry" in needs:
            check_local_champion(settings)


def check_schedule(settings: Settings) -> None:
    """The checks of every scheduled job, at the scheduler's start."""
    for command in SCHEDULED:
        check_command(settings, command)


def check_backend(settings: Settings) -> None:
    """The Hopsworks backend needs its key and project (both names in the sentence)."""
    if settings.backend == "hopsworks":
        from tweetgen.clients.hopsworks import check_credentials

        check_credentials(settings)


def check_live_source(settings: Settings) -> None:
    """The X source needs its bearer token."""
    if settings.live_source == "x" and not (settings.x_bearer_token or "").strip():
        raise ConfigError(
            "TWEETGEN_LIVE_SOURCE is x but X_BEARER_TOKEN is not set; set it to the bearer token of your "
            "X developer app, or use TWEETGEN_LIVE_SOURCE=replay."
        )


def check_data_dir(data_dir: Path, writes: bool) -> None:
    """``data_dir`` must be a folder (or not exist yet), and writable when the command writes."""
    where = f"The data directory {data_dir} (--data-dir or TWEETGEN_DATA_DIR)"
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"{where} is a file, not a folder; pass a folder, or a path that does not exist yet.")
    if not writes:
        return
    existing = next((p for p in (data_dir, *data_dir.absolute().parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise ConfigError(f"{where} cannot be created: {existing} is not a folder; pass another path.")
    for folder in _existing_folders(data_dir) or [existing]:
        if not is_writable_folder(folder):
            raise ConfigError(f"{where} is read-only ({folder} cannot be written); pass a writable folder.")


def _existing_folders(data_dir: Path) -> list[Path]:
    """The data directory and the store and registry folders in it, those that exist."""
    folders = [data_dir, data_dir / "feature_store", data_dir / "models"]
    return [folder for folder in folders if folder.is_dir()]


def check_local_store(settings: Settings) -> None:
    """Every group's Delta log is whole (``tweetgen.store.delta_log``)."""
    for spec in GROUPS.values():
        check_delta_log(settings.feature_store_dir / f"{spec.name}_{spec.version}")


def check_local_champion(settings: Settings) -> None:
    """The local champion record is readable and names a version that exists."""
    from tweetgen.registry.local import LocalModelRegistry

    LocalModelRegistry.from_settings(settings).champion(settings.model_name)


def check_train_options(
    max_steps: int | None = None, batch_size: int | None = None, epochs: float | None = None, max_seconds: float | None = None,
    family: str | None = None, tokenizer: str | None = None, ngram_order: int | None = None,
) -> None:
    """Training options that cannot work: steps or a batch size below one, epochs or a time budget
    that is not a number above 0, an unknown model family or tokenizer, an n-gram order outside
    0..7 (plain values, so the CLI checks its flags before importing torch); a ``UsageError`` names the flag."""
    if ngram_order is not None and not 0 <= ngram_order <= 7:
        raise UsageError(f"--ngram-order is {ngram_order}; use 0 (no n-gram) to 7.")
    for name, value in {"max_steps": max_steps, "batch_size": batch_size}.items():
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} is {value}; use a whole number of at least 1.")
    for name, value in {"epochs": epochs, "max_seconds": max_seconds}.items():
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise UsageError(f"--{name.replace('_', '-')} is {value}; use a number above 0.")
    for flag, value, allowed in (("--model", family, FAMILIES), ("--tokenizer", tokenizer, TOKENIZERS)):
        if value is not None and value.lower() not in allowed:
            raise UsageError(f"{flag} is {value!r}; use one of {', '.join(allowed)}.")

"""Training checkpoints: a run that is cut off (a Colab disconnect, a preempted GPU) resumes.

One file per run folder, ``checkpoint.pt``: the model, optimizer and gradient-scaler states, the
step reached, the losses so far and the random-number states, with a fingerprint of the settings
and the training data. A checkpoint is only resumed by a run with the same fingerprint, so a run
on other data or settings never continues someone else's weights. Writes go to a temporary file
first and are then renamed: a run cut off while saving keeps the previous checkpoint.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from tweetgen.errors import TweetgenError

CHECKPOINT_FILE = "checkpoint.pt"


def data_fingerprint(settings: dict[str, Any], train_blocks: torch.Tensor) -> dict[str, Any]:
    """What decides a run's weights: the settings given, and a digest of the training tokens (blocks)."""
    digest = hashlib.sha256(train_blocks.contiguous().numpy().tobytes()).hexdigest()
    return {**settings, "train_blocks": list(train_blocks.shape), "train_blocks_sha256": digest}


def save_checkpoint(folder: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, lists) to ``folder/checkpoint.pt`` atomically; return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT_FILE
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    partial.replace(path)
    return path


def load_checkpoint(folder: str | Path, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The state saved in ``folder``, or ``None`` if there is none.

    Raises:
        TweetgenError: the checkpoint cannot be read, or was saved by a run with another
            fingerprint (other settings or data).
    """
    path = Path(folder) / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a truncated or foreign file: torch raises several kinds
        raise TweetgenError(f"The checkpoint {path} cannot be read ({type(error).__name__}); delete it to start over.") from None
    if state.get("fingerprint") != fingerprint:
        raise TweetgenError(
            f"The checkpoint {path} was saved by a run with other settings or data; delete it, or set "
            "another checkpoint folder, to start this run from the beginning."
        )
    return state


def remove_checkpoint(folder: str | Path | None) -> None:
    """Delete the checkpoint in ``folder`` (once the model it led to is registered)."""
    if folder is not None:
        (Path(folder) / CHECKPOINT_FILE).unlink(missing_ok=True)

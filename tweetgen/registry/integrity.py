"""Whether a saved model folder is whole, found without loading it (no torch, milliseconds).

A version that cannot be loaded must never stay champion, and ``models`` must say which versions
are broken, so the checks here are cheap enough to run on every listed version: every JSON file
parses, and every ``*.safetensors`` file is as long as its own header says. A safetensors file is
8 bytes of header length (little-endian), a JSON header giving each tensor's byte range, then the
data; a file cut short (a full disk, a killed copy) ends before the last range does.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on the header


def folder_damage(folder: Path) -> str | None:
    """What makes the saved model in ``folder`` unloadable, in a few words, or None if nothing does."""
    for path in sorted(folder.glob("*.json")):
        problem = json_damage(path)
        if problem:
            return problem
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        return "no *.safetensors file"
    for path in weights:
        problem = safetensors_damage(path)
        if problem:
            return problem
    return None


def json_damage(path: Path) -> str | None:
    """Why ``path`` is not a readable JSON file, or None."""
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"{path.name} is not readable JSON ({type(error).__name__})"
    return None


def safetensors_damage(path: Path) -> str | None:
    """Why ``path`` is not a complete safetensors file, or None."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                return f"{path.name} is cut short ({size} bytes, no header)"
            (header_length,) = struct.unpack("<Q", prefix)
            if header_length > min(MAX_HEADER_BYTES, size - 8):
                return f"{path.name} is cut short or not a safetensors file (header of {header_length:,} bytes in {size:,})"
            header = json.loads(handle.read(header_length))
        ends = [int(entry["data_offsets"][1]) for key, entry in header.items() if key != "__metadata__"]
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        return f"{path.name} has an unreadable header ({type(error).__name__})"
    expected = 8 + header_length + max(ends, default=0)
    if size != expected:
        return f"{path.name} is {size:,} bytes but its header describes {expected:,}"
    return None

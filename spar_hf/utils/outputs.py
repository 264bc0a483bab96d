"""Resume integrity: what each output file held when a run wrote it, and which files no longer do.

A resumable writer (build, shard) records every finished output's size and sha256 in its resume
state (`record_outputs`); on `--resume` it asks `changed_outputs` which of them were truncated,
overwritten (zero-filled keeps the size, not the checksum) or deleted since, and redoes those
instead of keeping them. A state file that is cut short or not JSON is a SparError naming it:
`--resume` cannot trust it, and guessing would keep damaged outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from spar_hf.errors import SparError
from spar_hf.utils.atomic import atomic_write_text

CHUNK = 1 << 20


def file_record(path: str | os.PathLike) -> dict[str, Any]:
    """`{"bytes": size, "sha256": hex}` of one file, read in 1 MiB chunks (memory stays flat for GB packs)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def file_sha256(path: str | os.PathLike) -> str:
    return file_record(path)["sha256"]


def intact(path: str | os.PathLike, size: int, sha256: str, checksums: bool = True) -> bool:
    """The file is there with the size (and, with checksums, the sha256) recorded for it: a truncated copy
    fails the size, a zero-filled one the checksum."""
    try:
        if os.stat(path).st_size != size:
            return False
    except OSError:
        return False
    return not checksums or file_sha256(path) == sha256


def record_outputs(root: str | os.PathLike, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`{name: file_record(root / name)}` for output files named relative to root (sorted by name)."""
    root = Path(root)
    return {name: file_record(root / name) for name in sorted(names)}


def changed_outputs(root: str | os.PathLike, recorded: Mapping[str, Any], checksums: bool = True,
                    where: str = "resume state") -> list[str]:
    """Names (sorted) of recorded outputs that are missing, have another size, or (with checksums)
    another sha256 than recorded; SparError naming `where` if an entry is not a record."""
    root = Path(root)
    changed = []
    for name in sorted(recorded):
        entry = recorded[name]
        if not (isinstance(entry, Mapping) and isinstance(entry.get("bytes"), int)
                and isinstance(entry.get("sha256"), str)):
            raise SparError(f"{where}: output {name!r} has no bytes/sha256 record ({entry!r})")
        if not intact(root / name, entry["bytes"], entry["sha256"], checksums):
            changed.append(name)
    return changed


def read_state(path: str | os.PathLike) -> dict[str, Any] | None:
    """The resume state at `path` (a JSON object), None if there is none; SparError if it is damaged."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise SparError(f"{path}: resume state is not UTF-8 (byte {exc.start}); delete it to start this output "
                        "over") from None
    try:
        state = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = "empty" if not text.strip() else f"truncated or not JSON: {exc}"
        raise SparError(f"{path}: resume state is {reason}; delete it to start this output over") from None
    if not isinstance(state, dict):
        raise SparError(f"{path}: resume state is not a JSON object but {type(state).__name__}; delete it to start "
                        "this output over")
    return state


def write_state(path: str | os.PathLike, state: Mapping[str, Any]) -> None:
    """Write a resume state atomically (sorted keys: the same state gives the same bytes)."""
    atomic_write_text(path, json.dumps(state, indent=1, sort_keys=True) + "\n")

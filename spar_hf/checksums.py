"""Checksums of written files: what resume states record, so a file damaged after it was written is redone."""

from __future__ import annotations

import hashlib
import os

BLOCK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file, read in 1 MiB blocks (memory stays flat for multi-GB packs and shards)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def intact(path: str | os.PathLike, size: int, sha256: str) -> bool:
    """The file is there with the size and sha256 recorded for it (a truncated or zero-filled copy is not)."""
    try:
        if os.stat(path).st_size != size:
            return False
    except OSError:
        return False
    return file_sha256(path) == sha256

"""The output folder of a command: a clear error when a file is in its place, and one run at a time.

Two runs writing the same folder sweep each other's temp files and replace each other's results, so
each command that writes a folder holds an exclusive `flock` on `<folder>/.spar-hf.lock` while it
runs; a second run fails at once naming the first (command and process id). The kernel drops the
lock when its process dies, so a killed run never blocks the next one; the file is removed when
the run ends, so a finished folder holds exactly what the run wrote.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from spar_hf.errors import SparError

LOCK_NAME = ".spar-hf.lock"


def check_folder(path: str | os.PathLike, flag: str = "--out") -> Path:
    """`path` as a folder that can be created or written; SparError if a file stands in its way."""
    path = Path(path)
    for place in (path, *path.parents):
        if place.exists() and not place.is_dir():
            what = "is an existing file" if place == path else f"is inside {place}, which is a file"
            raise SparError(f"{flag} {path}: {what}, not a folder")
    return path


@contextlib.contextmanager
def output_folder(path: str | os.PathLike, command: str, flag: str = "--out") -> Iterator[Path]:
    """Create `path` (a folder) and hold its lock for the duration of the block; SparError when a
    file is in the way or another run holds the lock."""
    path = check_folder(path, flag)
    path.mkdir(parents=True, exist_ok=True)
    lock = path / LOCK_NAME
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another spar-hf run"
            os.close(fd)
            raise SparError(f"{flag} {path}: {holder} is writing this folder; wait for it to finish or choose "
                            f"another {flag}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"spar-hf {command} (pid {os.getpid()})\n".encode())
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)

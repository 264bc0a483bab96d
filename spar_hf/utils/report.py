"""Counting and rejects: every input ends in the output or in rejects.jsonl with a reason."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spar_hf.utils.atomic import atomic_open


@dataclass
class Summary:
    """Counts for the one-line summary every command prints: in = out + rejected."""

    command: str
    n_in: int = 0
    n_out: int = 0
    n_rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        parts = [f"{self.command}: in={self.n_in} out={self.n_out} rejected={self.n_rejected}"]
        for key, value in self.extra.items():
            parts.append(f"{key}={value}")
        if self.reasons:
            top = ", ".join(f"{r}: {c}" for r, c in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
            parts.append(f"(rejects by reason: {top})")
        return " ".join(parts)


_REJECT_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)  # = json.dumps(..., ensure_ascii=False, default=str), built once


class RejectLog:
    """Streams rejected inputs to JSONL (file, line, reason, record); the file appears atomically on close.

    Use as a context manager; memory stays constant however many records are rejected.
    """

    def __init__(self, path: str | os.PathLike, summary: Summary | None = None):
        self.path = Path(path)
        self.summary = summary
        self.count = 0
        self._ctx = None
        self._handle = None

    def __enter__(self) -> "RejectLog":
        self._ctx = atomic_open(self.path, "w")
        self._handle = self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._ctx.__exit__(*exc)

    def add(self, reason: str, *, file: str | None = None, line: int | None = None, record: Any = None) -> None:
        row: dict[str, Any] = {"file": file, "line": line, "reason": reason}
        if record is not None:
            row["record"] = record
        self._handle.write(_REJECT_ENCODER.encode(row) + "\n")
        self.count += 1
        if self.summary is not None:
            self.summary.n_rejected += 1
            self.summary.reasons[reason.split(":")[0]] += 1

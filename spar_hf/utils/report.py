"""Counting and rejects: every input ends in the output or in rejects.jsonl with a reason."""

from __future__ import annotations

import json
import math
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


_REJECT_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str, allow_nan=False)  # built once


def _finite(value: Any) -> Any:
    """`value` with every non-finite float written as its name ("NaN", "Infinity", "-Infinity"): a rejected
    record often holds exactly the NaN it was rejected for, and a bare NaN is not JSON other readers accept."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


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
        try:
            text = _REJECT_ENCODER.encode(row)
        except ValueError:  # a non-finite float somewhere in the record
            text = _REJECT_ENCODER.encode(_finite(row))
        self._handle.write(text + "\n")
        self.count += 1
        if self.summary is not None:
            self.summary.n_rejected += 1
            self.summary.reasons[reason.split(":")[0]] += 1

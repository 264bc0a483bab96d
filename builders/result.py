"""What one built config produced: the record `run` saves as resume state and `card` renders.

Its own module so the card writer and the build runner both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ConfigResult:
    """What one built config produced: split sizes and packs, counts, per-task rows, pack checksums."""

    name: str
    info: dict[str, Any]  # DatasetInfo._to_yaml_dict()
    files: dict[str, list[str]]  # split -> packs relative to HF_DIR
    counts: dict[str, int]
    reasons: dict[str, int]
    task_counts: dict[str, dict[str, int]]  # split -> task -> rows
    packs: dict[str, dict[str, Any]] = field(default_factory=dict)  # pack -> {"bytes", "sha256"}
    unique_bytes: int = 0  # the layout files the packs store, counted once
    resumed: bool = False

    @property
    def splits(self) -> dict[str, int]:
        return {s["name"]: int(s["num_examples"]) for s in self.info.get("splits", [])}

    @property
    def pack_bytes(self) -> int:
        return sum(p["bytes"] for p in self.packs.values())

"""Train/val split by scene: no scene feeds both splits (docs/formats.md "Train and val split").

Rule: a scene's key is the first 8 bytes of sha256("spar-split:" + scene id) read as a fraction
u in [0, 1); the scene is `val` when u < val_fraction. The key depends only on the scene id, so
adding scenes never moves an existing one, except for the small-run guarantee: with two or more
scenes there is always at least one val scene (the one with the smallest u is moved to val when
none fell there) and at least one train scene (the one with the largest u stays train).
"""

from __future__ import annotations

import hashlib
from typing import Iterable

DEFAULT_VAL_FRACTION = 0.1


def scene_key(scene_id: str) -> float:
    """Deterministic fraction in [0, 1) for a scene id."""
    digest = hashlib.sha256(f"spar-split:{scene_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_splits(scene_ids: Iterable[str], val_fraction: float = DEFAULT_VAL_FRACTION) -> dict[str, str]:
    """scene id -> "train" | "val" for the whole set of scenes of a run."""
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction must lie in [0, 1], got {val_fraction}")
    ids = sorted(set(scene_ids))
    keys = {s: scene_key(s) for s in ids}
    splits = {s: ("val" if keys[s] < val_fraction else "train") for s in ids}
    if len(ids) >= 2:
        by_key = sorted(ids, key=lambda s: (keys[s], s))
        if "val" not in splits.values():
            splits[by_key[0]] = "val"
        if "train" not in splits.values():
            splits[by_key[-1]] = "train"
    return splits

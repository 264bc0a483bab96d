"""Seeding: one generator per scene from the run seed and the scene id.

A scene's output therefore never depends on which worker ran it or in what order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def scene_seed(run_seed: int, scene_id: str, salt: str = "") -> int:
    digest = hashlib.sha256(f"{run_seed}:{scene_id}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def scene_rng(run_seed: int, scene_id: str, salt: str = "") -> np.random.Generator:
    return np.random.default_rng(scene_seed(run_seed, scene_id, salt))

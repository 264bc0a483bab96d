"""The seeded draws and small vector helpers the other task modules build on: buffered uniform
numbers, index and sample draws, 3-vector norm and cross product.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class BufferedRng:
    """Wraps a Generator: scalar `random()` draws come from blocks (10x cheaper); other methods delegate.

    Deterministic for a given generator state, so outputs stay byte-identical per seed.
    """

    BLOCK = 256

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._buf: list[float] = []

    def random(self, size: Any = None) -> Any:
        if size is not None:
            return self.rng.random(size)
        if not self._buf:
            self._buf = self.rng.random(self.BLOCK).tolist()[::-1]
        return self._buf.pop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rng, name)


def norm3(v: np.ndarray) -> float:
    """Length of a 3-vector (np.linalg.norm is slow on tiny arrays)."""
    return math.sqrt(float(v[0]) ** 2 + float(v[1]) ** 2 + float(v[2]) ** 2)


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors (np.cross is slow on tiny arrays)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def rand_index(rng: np.random.Generator, n: int) -> int:
    """A uniform index below n (cheaper than rng.integers for scalars)."""
    return min(int(rng.random() * n), n - 1)


def rand_sample(rng: np.random.Generator, items: list, k: int) -> list:
    """k distinct items in random order (partial Fisher-Yates; cheaper than rng.choice for small k)."""
    pool = list(items)
    for i in range(k):
        j = i + rand_index(rng, len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]

"""Turning derived numbers into answer text: metre and count formats, spatial-relation words, and the
distractor options of select questions.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Callable

import numpy as np

from spar_hf.geometry import world_to_camera
from spar_hf.tasks.primitives import norm3, rand_index, rand_sample
from spar_hf.tasks.taskdef import Cam


def label_text(label: str) -> str:
    return str(label).replace("_", " ").strip()


def fmt_m(x: float) -> str:
    """Metres with one decimal (never "-0.0")."""
    s = f"{x:.1f}"
    return "0.0" if s == "-0.0" else s


def fmt_int(x: float) -> str:
    s = f"{x:.0f}"
    return "0" if s == "-0" else s


def centers(meta: dict) -> np.ndarray:
    return np.array([o["center"] for o in meta["objects"]], dtype=float)


def cam_depths(meta: dict, cam: Cam) -> np.ndarray:
    """Camera-space z of every meta object's centre in `cam`."""
    return world_to_camera(centers(meta), cam.pose)[:, 2]


def marker_depths(meta: dict, cams: list[Cam]) -> np.ndarray:
    """Camera-space z of each meta object's centre in the camera of the image its marker is drawn in.

    `meta["marked_in"]` gives that image's position per object (multi view); without it every
    object is measured in the first camera (single view).
    """
    where = meta.get("marked_in") or [0] * len(meta["objects"])
    c = centers(meta)
    return np.array([world_to_camera(c[i:i + 1], cams[pos].pose)[0, 2] for i, pos in enumerate(where)])


def relation_word(diff: float, thr: float, pos: str, neg: str) -> str:
    """`pos` when diff > thr, `neg` when diff < -thr, "" when indistinguishable."""
    if diff > thr:
        return pos
    if diff < -thr:
        return neg
    return ""


AXES_OC = (("right", "left"), ("above", "below"), ("front", "behind"))
AXES_OO = (("right", "left"), ("above", "below"), ("closer", "farther"))


def relation_oc(p_cam: np.ndarray, thr: float) -> tuple[list[str], list[float]]:
    """Object at camera point p relative to the observer: left/right (x), above/below (-y), front/behind (z)."""
    diffs = [float(p_cam[0]), float(-p_cam[1]), float(p_cam[2])]
    return [relation_word(d, thr, *AXES_OC[k]) for k, d in enumerate(diffs)], diffs


def relation_oo(pa: np.ndarray, pb: np.ndarray, thr: float) -> tuple[list[str], list[float]]:
    """Object A relative to B in one camera frame: left/right (x), above/below (-y), closer/farther (distance)."""
    diffs = [float(pa[0] - pb[0]), float(pb[1] - pa[1]), norm3(pb) - norm3(pa)]
    return [relation_word(d, thr, *AXES_OO[k]) for k, d in enumerate(diffs)], diffs


def triple_text(parts: list[str]) -> str:
    """The release's option form: "left, above, closer" with "" for an empty component ("left, , closer")."""
    return ", ".join(parts)


PHRASES = {
    "left": "to the left", "right": "to the right", "above": "above", "below": "below",
    "front": "in front", "behind": "behind", "closer": "closer to the camera", "farther": "farther from the camera",
}
JUDGE_PHRASES = {
    "left": "to the left of", "right": "to the right of", "above": "above", "below": "below",
    "closer": "closer to the camera than", "farther": "farther from the camera than",
}
OPPOSITE = {a: b for pair in AXES_OC + AXES_OO for a, b in (pair, pair[::-1])}


def describe(parts: list[str]) -> str:
    """Relation words as prose: "to the left, above and closer to the camera"."""
    words = [PHRASES[p] for p in parts if p]
    if not words:
        return "at an indistinguishable position"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def margin_findings(diffs: list[float], thr: float, band: float, what: str) -> list[str]:
    """Components whose |difference| lies within `band` of the threshold are doubtful."""
    return [f"ambiguous:margin: {what} component {k} differs by {abs(d):.3f} m, near the {thr} m threshold"
            for k, d in enumerate(diffs) if abs(abs(d) - thr) < band]


def relation_options(axes: tuple[tuple[str, str], ...], truth: list[str]) -> Callable[[np.random.Generator, int], list[str]]:
    """Distractor maker for relation triples: distinct triples, not all empty, differing from the truth."""
    def make(rng: np.random.Generator, n: int) -> list[str]:
        pool = [t for t in _triples(axes) if t != truth]
        return [triple_text(t) for t in rand_sample(rng, pool, n)]
    return make


@lru_cache(maxsize=None)
def _triples(axes: tuple[tuple[str, str], ...]) -> tuple[list[str], ...]:
    """All relation triples over the axes except the all-empty one."""
    return tuple(list(t) for t in itertools.product(*[(a, b, "") for a, b in axes]) if any(t))


def numeric_options(value: float, fmt: Callable[[float], str], step: float) -> Callable[[np.random.Generator, int], list[str] | None]:
    """Distractors on a `step` grid within +-50% of the value, distinct after rounding, never the rounded truth."""
    def make(rng: np.random.Generator, n: int) -> list[str] | None:
        seen = {fmt(value)}
        grid = list(range(max(1, math.ceil(abs(value) * 0.5 / step - 1e-9)), math.floor(abs(value) * 1.5 / step + 1e-9) + 1))
        out: list[str] = []
        for i in range(len(grid)):  # lazy Fisher-Yates: format only what is drawn
            j = i + rand_index(rng, len(grid) - i)
            grid[i], grid[j] = grid[j], grid[i]
            text = fmt(grid[i] * step)
            if text not in seen:
                seen.add(text)
                out.append(text)
                if len(out) == n:
                    return out
        return None
    return make


def fixed_options(values: list[str]) -> Callable[[np.random.Generator, int], list[str]]:
    """Binary questions: the other option(s) are fixed (e.g. the two objects' names)."""
    def make(rng: np.random.Generator, n: int) -> list[str]:
        return list(values[:n])
    return make

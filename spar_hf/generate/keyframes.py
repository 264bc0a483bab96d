"""Keyframe selection by camera pose (paper appendix 7.3).

A frame is dropped when some already-kept frame is both within `translation_m` of its camera
centre (distance <= translation_m) AND less than `rotation_deg` away in orientation (angle of the
relative rotation, paper eq. 3); otherwise it is kept. The first frame is always kept. Frames are visited in order and compared against ALL kept frames, not just
the last one, so a camera returning to a viewpoint it already covered adds nothing new.

The paper gives per-source thresholds but its text lost the numbers; ours are below, chosen so
ScanNet keeps roughly one frame in ten (the paper's "about 90% dropped") and a 60-120 frame
synthetic walk keeps 20-40 frames. Every caller can pass its own values.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from spar_hf.scene.model import Frame

# source -> (translation_m, rotation_deg); None = keep every frame
KEYFRAME_DEFAULTS: dict[str, tuple[float, float] | None] = {
    "scannet": (0.15, 15.0),
    "synthetic": (0.25, 15.0),
    "scannetpp": (0.1, 10.0),
    "structured3d": None,
}


def select_keyframes(frames: Sequence[Frame], translation_m: float, rotation_deg: float) -> list[int]:
    """Indices (Frame.index) of the frames kept, in input order."""
    if not frames:
        return []
    poses = np.stack([np.asarray(f.pose, dtype=float) for f in frames])
    centres = poses[:, :3, 3]
    rots = poses[:, :3, :3]
    cos_limit = np.cos(np.radians(rotation_deg))
    kept = [0]
    for i in range(1, len(frames)):
        k = np.asarray(kept)
        near = np.linalg.norm(centres[k] - centres[i], axis=1) <= translation_m
        if near.any():
            # trace(R_k^T R_i) = sum of elementwise products; angle < limit  <=>  (trace - 1) / 2 > cos(limit)
            cos_angle = (np.einsum("kab,ab->k", rots[k[near]], rots[i]) - 1.0) / 2.0
            if np.any(cos_angle > cos_limit):
                continue
        kept.append(i)
    return [frames[i].index for i in kept]


def keyframes_for(source: str, frames: Sequence[Frame], override: tuple[float, float] | None = None) -> list[int]:
    """Apply the source's default thresholds (or `override`); a source without thresholds (None, or not
    listed, e.g. rxr) keeps every frame."""
    thresholds = override if override is not None else KEYFRAME_DEFAULTS.get(source)
    if thresholds is None:
        return sorted(int(f.index) for f in frames)
    return [int(i) for i in select_keyframes(frames, *thresholds)]

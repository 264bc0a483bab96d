"""Video clips: which source frames form a scene's one clip (`spar_hf.layout.paths.video_image` names them).

A clip is `DEFAULT_CLIP_FRAMES` (16) source frames spread evenly over the scene's full frame
sequence (not only keyframes), first and last frame included. 16 keeps a clip above the
release's 10-image "video" cut (docs/formats.md "Views: single, multi, video") while bounding the visibility work per scene;
a scene with fewer valid frames gives all of them. A scene that fixes its own clip (an RxR
route, `NavScene.clip`) gets exactly that clip. Deterministic: no randomness involved.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_CLIP_FRAMES = 16


def sample_clip(scene: Any, n_frames: int = DEFAULT_CLIP_FRAMES) -> list[int]:
    """Source frame indices of the scene's clip, in time order, evenly spread over all frames."""
    if n_frames < 1:
        raise ValueError("n_frames must be positive")
    fixed = getattr(scene, "clip", None)
    if fixed:
        return [int(i) for i in fixed]
    indices = sorted(frame.index for frame in scene.frames)
    if len(indices) <= n_frames:
        return indices
    positions = np.rint(np.linspace(0, len(indices) - 1, n_frames)).astype(int)
    return [indices[p] for p in positions]

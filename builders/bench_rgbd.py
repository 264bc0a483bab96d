"""The camera columns of SPAR-Bench-RGBD as the hub publishes them, from a record's frames (pure, no I/O).

The hub's SPAR-Bench-Tiny-RGBD viewer lists, per row and per image, `depth` (a 2D array of floats),
`pose`, `intrinsic_color` and `intrinsic_depth` (each 16 floats: a 4x4 matrix flattened row-major,
intrinsics in homogeneous 4x4 form, e.g. `[1170.19, 0, 647.75, 0, 0, 1170.19, 483.75, 0, 0, 0, 1, 0,
0, 0, 0, 1]`), between `image` and `question`; the printed values are float32 (docs/build.md cites
the sources). Not published: the depth unit; we write metres (our layout's 16-bit PNG millimetres /
1000, 0 = no reading). Our layout keeps one (colour) intrinsics per frame, so `intrinsic_depth` is it
rescaled to the depth map's resolution (same field of view, pixel centres kept), as visibility reads
depth; on ScanNet that is within 0.4% (fy) and 0.13 px (centre) of the sensor's own depth calibration
(tests/builders/test_bench_rgbd.py, against the hub's row 0).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from datasets import List, Value

HUB_RGBD_COLUMNS = ("depth", "pose", "intrinsic_color", "intrinsic_depth")
DEPTH_PNG_PER_METRE = 1000.0


def hub_rgbd_features() -> dict[str, Any]:
    """The four hub columns' feature types, in the hub's order."""
    flat = List(List(Value("float32")))
    return {"depth": List(List(List(Value("float32")))), "pose": flat, "intrinsic_color": flat, "intrinsic_depth": flat}


def homogeneous(k: np.ndarray) -> np.ndarray:
    """A 3x3 (or 4x4) intrinsics matrix as the hub's 4x4 homogeneous form."""
    out = np.eye(4)
    k = np.asarray(k, float)
    out[:3, :3] = k[:3, :3]
    return out


def depth_intrinsics(k: np.ndarray, colour_size: tuple[int, int], depth_size: tuple[int, int]) -> np.ndarray:
    """Colour intrinsics rescaled to a depth map of `depth_size` (width, height) covering the same view."""
    sx, sy = depth_size[0] / colour_size[0], depth_size[1] / colour_size[1]
    k = np.asarray(k, float)
    return np.array([[k[0, 0] * sx, 0.0, (k[0, 2] + 0.5) * sx - 0.5], [0.0, k[1, 1] * sy, (k[1, 2] + 0.5) * sy - 0.5], [0.0, 0.0, 1.0]])


def hub_rgbd_values(depth_png: Sequence[np.ndarray], poses: Sequence[np.ndarray], intrinsics: Sequence[np.ndarray],
                    colour_sizes: Sequence[tuple[int, int]]) -> dict[str, list]:
    """One row's hub columns from its frames: 16-bit depth maps (millimetres), 4x4 poses, colour intrinsics, sizes."""
    depth, pose, k_colour, k_depth = [], [], [], []
    for png, p, k, size in zip(depth_png, poses, intrinsics, colour_sizes, strict=True):
        png = np.asarray(png)
        depth.append(png.astype(np.float32) / np.float32(DEPTH_PNG_PER_METRE))  # an array: datasets writes it as is
        pose.append(np.asarray(p, np.float32).reshape(16).tolist())
        k_colour.append(homogeneous(k).astype(np.float32).reshape(16).tolist())
        k_depth.append(homogeneous(depth_intrinsics(k, size, (png.shape[1], png.shape[0]))).astype(np.float32).reshape(16).tolist())
    return {"depth": depth, "pose": pose, "intrinsic_color": k_colour, "intrinsic_depth": k_depth}

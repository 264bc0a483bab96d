"""What a browsed sample looks like: images with their markers, colour-mapped depth, camera text.

SPAR-7M rows store markers as coordinates, so they are drawn here with `spar_hf.markers` (the
release's discs and boxes in their colours); bench rows already carry them in the pixels;
SpatialForge boxes are drawn as a `bbox_list` (one palette colour per box, listed in the caption).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from PIL import Image

from spar_hf.markers import LIST_PALETTE, draw_markers, draw_on, placements

# Turbo colour map (Google's perceptual rainbow) as the widely used degree-5 polynomial fit per channel:
# matplotlib is not a dependency, and a 6-coefficient fit is within a few levels of the 256-entry table.
_TURBO = np.array([
    [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
    [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
    [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
])
DEPTH_LOW_PERCENTILE = 2.0
DEPTH_HIGH_PERCENTILE = 98.0
# Turbo's first few percent are near-black; the nearest reading starts here so it never reads as "no reading".
TURBO_START = 0.08


def decode_image(cell: dict[str, Any]) -> Image.Image:
    """A datasets Image cell ({bytes, path}) as a loaded PIL image (mode kept: depth stays I;16)."""
    if not cell or cell.get("bytes") is None:
        raise ValueError("image cell has no bytes")
    image = Image.open(io.BytesIO(cell["bytes"]))
    image.load()
    return image


def marked_images(row: dict[str, Any], kind: str) -> list[Image.Image]:
    """The sample's colour images with markers drawn (bench: as stored, markers already drawn)."""
    if kind == "bench":
        return [decode_image(c).convert("RGB") for c in row["image"]]
    images = [decode_image(c) for c in row["images"]]
    if kind == "spatialforge":
        boxes = [b["bbox_1000"] for b in row.get("boxes") or []]
        marks = placements({"bbox_list": boxes})
        return [draw_on(img, marks) if i == 0 and marks else img.convert("RGB") for i, img in enumerate(images)]
    return draw_markers(images, row.get("markers") or {}, row["task"])


def box_legend(row: dict[str, Any]) -> str:
    """SpatialForge box colours and labels, one per line ('' when there are none)."""
    lines = []
    for i, box in enumerate(row.get("boxes") or []):
        r, g, b = LIST_PALETTE[i % len(LIST_PALETTE)]
        lines.append(f"- <span style='color:rgb({r},{g},{b})'>&#9632;</span> {box['label']} {box['bbox_1000']}")
    return "\n".join(lines)


def turbo(values: np.ndarray) -> np.ndarray:
    """Values in 0..1 -> uint8 RGB with the Turbo colour map, shape (..., 3)."""
    x = np.clip(values, 0.0, 1.0)[..., None]
    powers = x ** np.arange(6)
    rgb = powers @ _TURBO.T
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def depth_range(depth: np.ndarray) -> tuple[float, float] | None:
    """Robust display range of the valid (non-zero) readings, or None when there are none."""
    valid = depth[depth > 0]
    if valid.size == 0:
        return None
    low, high = np.percentile(valid, [DEPTH_LOW_PERCENTILE, DEPTH_HIGH_PERCENTILE])
    return float(low), float(max(high, low + 1.0))


def colour_depth(depth: np.ndarray) -> np.ndarray:
    """uint16 depth (0 = no reading) -> RGB: near blue, far red, no reading black."""
    depth = np.asarray(depth, dtype=np.float64)
    out = np.zeros(depth.shape + (3,), dtype=np.uint8)
    span = depth_range(depth)
    if span is None:
        return out
    low, high = span
    valid = depth > 0
    out[valid] = turbo(TURBO_START + (1.0 - TURBO_START) * (depth[valid] - low) / (high - low))
    return out


def depth_views(row: dict[str, Any], unit_per_metre: float = 1000.0) -> list[tuple[np.ndarray, str]]:
    """Each depth map colour-mapped, captioned with its displayed range in metres."""
    views = []
    for i, cell in enumerate(row.get("depth") or []):
        # 7m-rgbd: a 16-bit PNG cell in `unit_per_metre`; bench-rgbd (the hub's columns): a 2D list in metres
        depth = np.array(decode_image(cell)) if isinstance(cell, dict) else np.asarray(cell, dtype=float) * unit_per_metre
        span = depth_range(depth)
        caption = f"depth {i}: no readings" if span is None else f"depth {i}: {span[0] / unit_per_metre:.2f}-{span[1] / unit_per_metre:.2f} m"
        views.append((colour_depth(depth), caption))
    return views


def _matrix(m: Any) -> str:
    """A matrix as aligned rows; a flat 16 / 9 list (the hub's bench-rgbd form) is read row-major."""
    m = np.asarray(m, dtype=float)
    if m.ndim == 1:
        m = m.reshape(4, 4) if m.size == 16 else m.reshape(3, 3)
    return "\n".join("  ".join(f"{v:9.4f}" for v in r) for r in m)


def camera_text(row: dict[str, Any]) -> str:
    """Intrinsics and camera-to-world pose of every image, as Markdown code blocks."""
    poses, intrinsics = row.get("pose") or [], row.get("intrinsics") or []
    parts = []
    for i, (pose, k) in enumerate(zip(poses, intrinsics)):
        parts.append(f"**image {i}**: intrinsics K (pixels)\n```\n{_matrix(k)}\n```\n"
                     f"pose (camera-to-world, OpenCV axes, metres)\n```\n{_matrix(pose)}\n```")
    return "\n".join(parts)


def meta_of(row: dict[str, Any]) -> dict[str, Any]:
    """The provenance JSON of a generated row ({} for bench rows or unreadable meta)."""
    text = row.get("meta")
    if not text:
        return {}
    try:
        meta = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}

"""Marker placement and drawing (formats.md section 1).

Markers are stored as 0..1000 coordinates, each field wrapped in one extra list
(`"red_point": [[553, 397]]`). In multi-image records `point_img_idx` / `bbox_img_idx`
give the image of each marker, in a per-task colour order (tasks.md). Drawing follows the
release: a filled disc of radius 20 px for points; for boxes a 20 px stroke on the box grown
outward by 7/8 of the stroke.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "blue": (0, 0, 255),
    "green": (0, 255, 0),
    "yellow": (255, 255, 0),
}
# colours for point_list / bbox_list entries, in order
LIST_PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0), (255, 0, 255), (0, 255, 255), (255, 128, 0), (128, 0, 255),
)
POINT_RADIUS = 20
BOX_STROKE = 20

DEFAULT_POINT_ORDER = ("red", "blue", "green")
DEFAULT_BBOX_ORDER = ("red", "blue", "green", "yellow")
# the release's per-task order of the *_img_idx entries (tasks.md)
POINT_ORDER: dict[str, tuple[str, ...]] = {
    "distance_infer_center_oo_mv": ("red", "green", "blue"),
}
BBOX_ORDER: dict[str, tuple[str, ...]] = {
    "spatial_imagination_oc_mv": ("green", "blue", "red", "yellow"),
    "spatial_imagination_oo_mv": ("green", "blue", "red", "yellow"),
}


@dataclass(frozen=True)
class Placement:
    """One marker to draw: which image, point or box, its colour and 0..1000 coordinates."""

    image_index: int
    kind: str  # "point" | "bbox"
    colour: tuple[int, int, int]
    coords: tuple[float, ...]
    name: str  # e.g. "red_point" or "bbox_list[2]"


def _flatten_idx(value: Any) -> list[int]:
    """`point_img_idx` may be stored flat ([0, 1]) or wrapped ([[0, 1]]); return the flat list."""
    if value is None:
        return []
    if len(value) == 1 and isinstance(value[0], (list, tuple)):
        value = value[0]
    return [int(v) for v in value]


def _unwrap(value: Any) -> list[list[float]]:
    """A marker field -> list of coordinate lists ([[x, y]] or [[x1, y1, x2, y2], ...])."""
    if not value:
        return []
    if isinstance(value[0], (int, float)):
        return [list(value)]
    return [list(v) for v in value]


def placements(markers: dict[str, Any], task: str = "") -> list[Placement]:
    """Resolve a record's marker fields to per-image placements, in the release's index order."""
    out: list[Placement] = []
    for kind, order_map, default_order, idx_key, list_key in (
        ("point", POINT_ORDER, DEFAULT_POINT_ORDER, "point_img_idx", "point_list"),
        ("bbox", BBOX_ORDER, DEFAULT_BBOX_ORDER, "bbox_img_idx", "bbox_list"),
    ):
        idx = _flatten_idx(markers.get(idx_key))
        entries: list[tuple[str, tuple[int, int, int], list[float]]] = []
        for colour in order_map.get(task, default_order):
            for coords in _unwrap(markers.get(f"{colour}_{kind}")):
                entries.append((f"{colour}_{kind}", COLOURS[colour], coords))
        for i, coords in enumerate(_unwrap(markers.get(list_key))):
            entries.append((f"{list_key}[{i}]", LIST_PALETTE[i % len(LIST_PALETTE)], coords))
        for n, (name, colour, coords) in enumerate(entries):
            image_index = idx[n] if n < len(idx) else 0
            out.append(Placement(image_index, kind, colour, tuple(float(c) for c in coords), name))
    return out


def draw_on(image: Image.Image, marks: Sequence[Placement]) -> Image.Image:
    """Return an RGB copy of `image` with the given placements drawn (coordinates 0..1000)."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    width, height = out.size
    for mark in marks:
        if mark.kind == "point":
            x = mark.coords[0] / 1000.0 * width
            y = mark.coords[1] / 1000.0 * height
            draw.ellipse([x - POINT_RADIUS, y - POINT_RADIUS, x + POINT_RADIUS, y + POINT_RADIUS], fill=mark.colour)
        else:
            x1, y1, x2, y2 = mark.coords[:4]
            grow = BOX_STROKE * 7 / 8
            draw.rectangle(
                [x1 / 1000.0 * width - grow, y1 / 1000.0 * height - grow, x2 / 1000.0 * width + grow, y2 / 1000.0 * height + grow],
                outline=mark.colour,
                width=BOX_STROKE,
            )
    return out


def draw_markers(images: Sequence[Image.Image], markers: dict[str, Any], task: str = "") -> list[Image.Image]:
    """Draw a record's markers on its images; images without markers come back unchanged (as RGB)."""
    marks = placements(markers, task)
    result = []
    for i, image in enumerate(images):
        mine = [m for m in marks if m.image_index == i]
        result.append(draw_on(image, mine) if mine else image.convert("RGB"))
    return result

"""Marker placement and drawing (docs/formats.md "Markers"), as the release's `datasets/draw_marker.py` does it.

Markers are stored as 0..1000 coordinates, each field wrapped in one extra list
(`"red_point": [[553, 397]]`); `point_list` / `bbox_list` hold all their entries in that one
wrapper (`"point_list": [[[x, y], [x, y], ...]]`, the release reads `point_list[0]`). In
multi-image records `point_img_idx` / `bbox_img_idx` give the image of each marker, in a per-task
colour order (docs/formats.md "Markers"). Drawing follows the release per task: a filled disc of radius 20 px for
points; for boxes a 20 px stroke on the box grown outward by 7/8 of the stroke. Three record types
are drawn differently there and here alike: `distance_infer_center_oo_video` (blue discs from
`point_list` labelled objectA, object0, ...), `spatial_imagination_map_mv` (blue boxes from
`bbox_list`, grown 20 px, labelled object0, ...) and `spatial_imagination_oc/oo_video` (green, blue,
red, yellow boxes in that `bbox_img_idx` order, labelled object0..3; the release's "yellow" is the
BGR triple (225, 225, 0) in an RGB image, i.e. cyan, which we draw too). The `_video_hard` variants
draw nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from PIL import Image, ImageDraw, ImageFont

# draw_marker.py draws these with PIL colour names, and PIL's "green" is (0, 128, 0); its cv2 drawings
# (the labelled record types) use full green (0, 255, 0), below
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "blue": (0, 0, 255),
    "green": (0, 128, 0),
    "yellow": (255, 255, 0),
}
# colours for point_list / bbox_list entries, in order
LIST_PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0), (255, 0, 255), (0, 255, 255), (255, 128, 0), (128, 0, 255),
)
POINT_RADIUS = 20
BOX_STROKE = 20
# the release writes names with cv2's FONT_HERSHEY_SIMPLEX at scale 2.0, thickness 10: "objectA" is 224 x 54 px
# above the baseline; PIL's default font at 62 px with a 4 px stroke is 222 x 51
LABEL_SIZE = 62
LABEL_STROKE = 4
BLUE = (0, 0, 255)
GREEN = (0, 255, 0)
WHITE = (255, 255, 255)
# the release's cv2 boxes: a 20 px stroke centred on the box grown by 20 px, so the outer edge is 30 px out
CV_GROW = BOX_STROKE + BOX_STROKE / 2

DEFAULT_POINT_ORDER = ("red", "blue", "green")
DEFAULT_BBOX_ORDER = ("red", "blue", "green", "yellow")
# the release's per-task order of the *_img_idx entries (docs/formats.md "Markers")
POINT_ORDER: dict[str, tuple[str, ...]] = {
    "distance_infer_center_oo_mv": ("red", "green", "blue"),
}
BBOX_ORDER: dict[str, tuple[str, ...]] = {
    "spatial_imagination_oc_mv": ("green", "blue", "red", "yellow"),
    "spatial_imagination_oo_mv": ("green", "blue", "red", "yellow"),
    "spatial_imagination_oc_video": ("green", "blue", "red"),
    "spatial_imagination_oo_video": ("green", "blue", "red", "yellow"),
}
# record types the release draws nothing for, whatever fields they carry
UNDRAWN = frozenset({"spatial_imagination_oc_video_hard", "spatial_imagination_oo_video_hard"})
# record types whose `*_list` entries are drawn in one colour with an object name beside each
LIST_NAMES: dict[str, tuple[str, ...]] = {
    "distance_infer_center_oo_video": ("objectA",) + tuple(f"object{i}" for i in range(64)),
    "spatial_imagination_map_mv": tuple(f"object{i}" for i in range(64)),
}
# spatial_imagination_oc/oo_video: boxes named object0..3 in bbox_img_idx order, these colours
VIDEO_BOX_COLOURS = {"green": (0, 255, 0), "blue": (0, 0, 255), "red": (255, 0, 0), "yellow": (0, 225, 225)}
VIDEO_BOX_TASKS = frozenset({"spatial_imagination_oc_video", "spatial_imagination_oo_video"})


def object_name(task: str, index: int) -> str:
    """The name drawn beside the `index`-th marker of a labelled record type (e.g. "objectA", "object0")."""
    if task in LIST_NAMES:
        return LIST_NAMES[task][index]
    return f"object{index}"


@dataclass(frozen=True)
class Placement:
    """One marker to draw: which image, point or box, its colour and 0..1000 coordinates."""

    image_index: int
    kind: str  # "point" | "bbox"
    colour: tuple[int, int, int]
    coords: tuple[float, ...]
    name: str  # e.g. "red_point" or "bbox_list[2]"
    label: str = ""  # text drawn beside the marker ("object0"), "" for none
    grow: float = BOX_STROKE * 7 / 8  # px the box outline's outer edge lies outside the box (PIL's outline grows inward)
    label_fill: bool = False  # label in white on a filled box of the marker colour (else in green)


def _flatten_idx(value: Any) -> list[int]:
    """`point_img_idx` may be stored flat ([0, 1]) or wrapped ([[0, 1]]); return the flat list."""
    if value is None:
        return []
    if len(value) == 1 and isinstance(value[0], (list, tuple)):
        value = value[0]
    return [int(v) for v in value]


def coordinate_list(value: Any) -> list[list[float]]:
    """A marker field -> list of coordinate lists, whatever the wrapping.

    `[x, y]` -> one entry; `[[x, y]]` or `[[x, y], [x, y]]` -> as given; the release's list fields
    `[[[x, y], [x, y]]]` -> their inner list.
    """
    if not value:
        return []
    if isinstance(value[0], (int, float)):
        return [[float(c) for c in value]]
    if len(value) == 1 and value[0] and isinstance(value[0][0], (list, tuple)):
        value = value[0]
    return [[float(c) for c in v] for v in value]


def _labelled_list(markers: dict[str, Any], task: str) -> list[Placement]:
    """distance_infer_center_oo_video / spatial_imagination_map_mv: one colour, a name per entry."""
    kind, key, idx_key = ("point", "point_list", "point_img_idx") if task.startswith("distance") else ("bbox", "bbox_list", "bbox_img_idx")
    idx = _flatten_idx(markers.get(idx_key))
    return [Placement(idx[i] if i < len(idx) else 0, kind, BLUE, tuple(coords), f"{key}[{i}]", object_name(task, i), CV_GROW)
            for i, coords in enumerate(coordinate_list(markers.get(key)))]


def _video_boxes(markers: dict[str, Any], task: str) -> list[Placement]:
    """spatial_imagination_oc/oo_video: boxes in bbox_img_idx order green, blue, red, yellow, named object0.."""
    idx = _flatten_idx(markers.get("bbox_img_idx"))
    out = []
    for n, colour in enumerate(BBOX_ORDER[task]):
        for coords in coordinate_list(markers.get(f"{colour}_bbox"))[:1]:
            out.append(Placement(idx[n] if n < len(idx) else 0, "bbox", VIDEO_BOX_COLOURS[colour], tuple(coords),
                                 f"{colour}_bbox", f"object{n}", CV_GROW, label_fill=True))
    return out


def placements(markers: dict[str, Any], task: str = "") -> list[Placement]:
    """Resolve a record's marker fields to per-image placements, in the release's index order."""
    if task in UNDRAWN:
        return []
    if task in LIST_NAMES:
        return _labelled_list(markers, task)
    if task in VIDEO_BOX_TASKS:
        return _video_boxes(markers, task)
    out: list[Placement] = []
    for kind, order_map, default_order, idx_key, list_key in (
        ("point", POINT_ORDER, DEFAULT_POINT_ORDER, "point_img_idx", "point_list"),
        ("bbox", BBOX_ORDER, DEFAULT_BBOX_ORDER, "bbox_img_idx", "bbox_list"),
    ):
        idx = _flatten_idx(markers.get(idx_key))
        entries: list[tuple[str, tuple[int, int, int], list[float]]] = []
        for colour in order_map.get(task, default_order):
            for coords in coordinate_list(markers.get(f"{colour}_{kind}")):
                entries.append((f"{colour}_{kind}", COLOURS[colour], coords))
        for i, coords in enumerate(coordinate_list(markers.get(list_key))):
            entries.append((f"{list_key}[{i}]", LIST_PALETTE[i % len(LIST_PALETTE)], coords))
        for n, (name, colour, coords) in enumerate(entries):
            image_index = idx[n] if n < len(idx) else 0
            out.append(Placement(image_index, kind, colour, tuple(float(c) for c in coords), name))
    return out


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=LABEL_SIZE)


def _draw_label(draw: ImageDraw.ImageDraw, mark: Placement, corner: tuple[float, float], height: int) -> None:
    """The marker's name where the release puts it: beside a point's lower right, under a box's right edge."""
    font = _font()
    x0, y0, x1, _ = draw.textbbox((0, 0), mark.label, font=font, anchor="ls", stroke_width=LABEL_STROKE)
    w, h = x1 - x0, -y0  # height above the baseline, as cv2.getTextSize gives it
    if mark.kind == "point":
        x, y = corner[0] + POINT_RADIUS, corner[1] + POINT_RADIUS
    else:
        x, y = corner[0] - w, corner[1] + h
        if y > height:
            y = corner[1] - (5 if mark.label_fill else h)
    if mark.label_fill:
        draw.rectangle([x, y - h, x + w, y + 5], fill=mark.colour)
        draw.text((x, y), mark.label, fill=WHITE, font=font, anchor="ls", stroke_width=LABEL_STROKE, stroke_fill=WHITE)
    else:
        draw.text((x, y), mark.label, fill=GREEN, font=font, anchor="ls", stroke_width=LABEL_STROKE, stroke_fill=GREEN)


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
            corner = (x, y)
        else:
            x1, y1, x2, y2 = (c / 1000.0 * (width if k % 2 == 0 else height) for k, c in enumerate(mark.coords[:4]))
            g = mark.grow
            draw.rectangle([x1 - g, y1 - g, x2 + g, y2 + g], outline=mark.colour, width=BOX_STROKE)
            corner = (x2, y2)
        if mark.label:
            _draw_label(draw, mark, corner, height)
    return out


def draw_markers(images: Sequence[Image.Image], markers: dict[str, Any], task: str = "") -> list[Image.Image]:
    """Draw a record's markers on its images; images without markers come back unchanged (as RGB)."""
    marks = placements(markers, task)
    result = []
    for i, image in enumerate(images):
        mine = [m for m in marks if m.image_index == i]
        result.append(draw_on(image, mine) if mine else image.convert("RGB"))
    return result

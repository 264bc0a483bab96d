"""Shard samples (chunks of QA rows sharing images) -> QA row samples, each image decoded once per chunk.

A shard sample holds a JSON listing its rows and, per distinct image `i`, `<i>.jpg` (or another
image type) and with depth `<i>.depth.png`, `<i>.pose.npy`, `<i>.K.npy` (spar_hf.shards.writer).
`decode_chunk` reads the JSON first and then only the members it promises, each decoded once:
images to arrays (libjpeg-turbo, Pillow's pixels), or left as bytes; depth to uint16 arrays;
matrices without pickles. Other members are never decoded (a pickle in a shard stays inert bytes).
`Chunk.row(j)` is row j as the loader hands it on:
`{"__key__": "<chunk key>/<j>", "__url__", "json": {row fields, row, n_views, has_depth, markers_baked},
"images": [...], "depth": [...], "pose": [...], "K": [...]}`. Decoded arrays (images as arrays, depth,
matrices) are shared by the rows that show the same image: copy one before changing it in place. PIL
views are made per row, so a row's PIL images are its own.
An image that cannot be decoded costs only the rows that show it (`Chunk.bad`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spar_hf.train.decode import decode_depth, decode_json, decode_npy, decode_rgb_array

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp", "gif", "bmp")
FRAMES_AS = ("array", "pil", "bytes")


class IncompleteSample(ValueError):
    """A sample missing its json or one of the members it promises (truncated shard, hand-edited tar)."""


@dataclass
class Chunk:
    """A decoded shard sample: its rows' fields and the images they show, each decoded once."""

    key: str
    url: str
    rows: list[dict[str, Any]]
    images: list[Any]  # per image index: array, bytes, or None when it could not be decoded
    depth: list[np.ndarray] | None
    pose: list[np.ndarray] | None
    K: list[np.ndarray] | None
    has_depth: bool
    baked: bool
    frames_as: str = "array"
    bad: dict[int, str] = field(default_factory=dict)  # image index -> why it could not be decoded

    def __len__(self) -> int:
        return len(self.rows)

    def row_key(self, j: int) -> str:
        return f"{self.key}/{j}"

    def unusable(self, j: int) -> str | None:
        """Why row j cannot be handed on (one of its images is bad), else None."""
        for i in self.rows[j]["views"]:
            if i in self.bad:
                return f"sample {self.key} @ {self.url}: row {j} ({self.rows[j].get('id')}): image {i}: {self.bad[i]}"
        return None

    def row(self, j: int) -> dict[str, Any]:
        fields = dict(self.rows[j])
        views = fields.pop("views")
        fields.update(n_views=len(views), has_depth=self.has_depth, markers_baked=self.baked)
        images = [self.images[i] for i in views]
        if self.frames_as == "pil":
            from PIL import Image  # deferred, Pillow: only for frames_as="pil"

            images = [Image.fromarray(image) for image in images]
        out = {"__key__": self.row_key(j), "__url__": self.url, "json": fields, "images": images}
        if self.has_depth:
            out.update(depth=[self.depth[i] for i in views], pose=[self.pose[i] for i in views],
                       K=[self.K[i] for i in views])
        return out


def _members(sample: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """`{image index: {"image": bytes, "depth.png": bytes, "pose.npy": ..., "k.npy": ...}}` from member suffixes."""
    out: dict[int, dict[str, Any]] = {}
    for name, value in sample.items():
        dot = name.find(".")
        if dot <= 0 or not name[:dot].isdigit():
            continue
        kind = name[dot + 1:]
        out.setdefault(int(name[:dot]), {})["image" if kind in IMAGE_EXTS else kind] = value
    return out


def decode_chunk(sample: dict[str, Any], frames_as: str = "array") -> Chunk:
    """A raw shard sample -> Chunk (see the module docstring); IncompleteSample when the json or a
    promised member is missing. `frames_as`: "array" (HxWx3 uint8), "pil" (arrays, made PIL per row)
    or "bytes" (as stored)."""
    key, url = sample.get("__key__"), sample.get("__url__")
    raw = sample.get("json")
    meta = decode_json(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
    if not isinstance(meta, dict) or not isinstance(meta.get("rows"), list) or not isinstance(meta.get("frames"), list):
        raise IncompleteSample(f"sample {key} @ {url}: no chunk json (rows, frames)")
    n = len(meta["frames"])
    has_depth = bool(meta.get("has_depth"))
    members = _members(sample)
    wanted = ("image", "depth.png", "pose.npy", "k.npy") if has_depth else ("image",)
    for kind in wanted:
        missing = [i for i in range(n) if kind not in members.get(i, {})]
        if missing or n == 0:
            raise IncompleteSample(f"sample {key} @ {url}: {kind} {missing or 'none'} missing of {n} images")
    for j, row in enumerate(meta["rows"]):
        views = row.get("views") if isinstance(row, dict) else None
        if not isinstance(views, list) or not views or not all(type(v) is int and 0 <= v < n for v in views):
            raise IncompleteSample(f"sample {key} @ {url}: row {j} names images outside 0..{n - 1}")
    chunk = Chunk(key, url, meta["rows"], [None] * n, None, None, None, has_depth, bool(meta.get("markers_baked")),
                  frames_as)
    used = sorted({i for row in meta["rows"] for i in row["views"]})
    for i in used:
        data = members[i]["image"]
        try:
            chunk.images[i] = data if frames_as == "bytes" else decode_rgb_array(data)
        except Exception as exc:  # noqa: BLE001 - any decoder error costs the rows showing this image only
            chunk.bad[i] = f"{type(exc).__name__}: {exc}"
    if has_depth:
        chunk.depth, chunk.pose, chunk.K = [None] * n, [None] * n, [None] * n
        for i in used:
            if i in chunk.bad:
                continue
            try:
                chunk.depth[i] = decode_depth(f"{key}.{i}.depth.png", members[i]["depth.png"])
                chunk.pose[i] = decode_npy(members[i]["pose.npy"])
                chunk.K[i] = decode_npy(members[i]["k.npy"])
            except Exception as exc:  # noqa: BLE001
                chunk.bad[i] = f"depth or matrices: {type(exc).__name__}: {exc}"
    return chunk

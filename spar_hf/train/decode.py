"""Turn raw tar samples into training samples: decode, regroup numbered views into lists, draw markers.

webdataset's image decoders convert modes and would clip 16-bit depth to 8 bits, so a depth
decoder for `.depth.png` runs first and keeps uint16 (formats.md section 5).
"""

from __future__ import annotations

import io
import re
from typing import Any, Callable

import numpy as np

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp", "gif", "bmp")
_VIEW = re.compile(r"^(\d+)\.(.+)$")


class IncompleteSample(ValueError):
    """A sample missing its json or one of its numbered members (truncated shard, hand-edited tar)."""


def decode_depth(key: str, data: bytes) -> np.ndarray | None:
    """`<i>.depth.png` -> HxW uint16 array, values exactly as stored (millimetres in SPAR builds)."""
    if not key.lower().endswith("depth.png"):
        return None
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        array = np.array(img)
    if array.dtype == np.uint16:
        return array
    if array.dtype in (np.uint8, np.bool_):
        raise ValueError(f"{key}: depth PNG is 8-bit (dtype {array.dtype}); expected 16-bit millimetres")
    if array.ndim != 2 or array.min(initial=0) < 0 or array.max(initial=0) > 65535:
        raise ValueError(f"{key}: depth PNG is not single-channel 16-bit (dtype {array.dtype}, shape {array.shape})")
    return array.astype(np.uint16)


def decode_rgb(key: str, data: bytes) -> Any:
    """Any image member -> RGB PIL image, decoded once (webdataset's "pil" handler copies it twice more)."""
    if key.rsplit(".", 1)[-1].lower() not in IMAGE_EXTS:
        return None
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    return img if img.mode == "RGB" else img.convert("RGB")


CODE_EXTS = ("pkl", "pickle", "pyd", "pth")


def keep_code_as_bytes(key: str, data: bytes) -> bytes | None:
    """Members webdataset's default post handlers would unpickle / torch.load stay raw bytes:
    a shard is data, and loading it must never run code from it."""
    return data if key.rsplit(".", 1)[-1].lower() in CODE_EXTS else None


def decoders() -> list[Callable[[str, bytes], Any]]:
    """Handler order for webdataset's Decoder: pickle guard, depth, then the generic RGB image decoder
    (json and npy are decoded by webdataset's default post handlers; npy without pickles)."""
    return [keep_code_as_bytes, decode_depth, decode_rgb]


def regroup(sample: dict[str, Any]) -> dict[str, Any]:
    """`{json, 0.jpg, 1.jpg, 0.depth.png, 0.pose.npy, 0.k.npy, ...}` -> `{json, images, depth, pose, K}` lists.

    Raises IncompleteSample when a member promised by the json (`n_views`, `has_depth`) is missing.
    """
    key, url = sample.get("__key__"), sample.get("__url__")
    meta = sample.get("json")
    if not isinstance(meta, dict):
        raise IncompleteSample(f"sample {key} @ {url}: no json member")
    n = int(meta.get("n_views", 0))
    views: dict[str, dict[int, Any]] = {}
    for name, value in sample.items():
        m = _VIEW.match(name)
        if m:
            kind = m.group(2)
            kind = "image" if kind in IMAGE_EXTS else kind
            views.setdefault(kind, {})[int(m.group(1))] = value
    wanted = {"image": "images"}
    if meta.get("has_depth"):
        wanted.update({"depth.png": "depth", "pose.npy": "pose", "k.npy": "K"})
    out: dict[str, Any] = {"__key__": key, "__url__": url, "json": meta}
    for kind, field in wanted.items():
        got = views.get(kind, {})
        missing = [i for i in range(n) if i not in got]
        if missing or n == 0:
            raise IncompleteSample(f"sample {key} @ {url}: {field} {missing or 'none'} missing of {n} views")
        out[field] = [got[i] for i in range(n)]
    return out


def draw_sample_markers(sample: dict[str, Any]) -> dict[str, Any]:
    """Draw the record's markers on its images (spar_hf.markers) unless the shard has them baked in."""
    meta = sample["json"]
    markers = meta.get("markers")
    if markers and not meta.get("markers_baked"):
        from spar_hf.markers import draw_markers

        sample["images"] = draw_markers(sample["images"], markers, str(meta.get("task", "")))
    return sample

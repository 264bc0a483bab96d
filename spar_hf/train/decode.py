"""Turn raw tar samples into training samples: decode, regroup numbered views into lists, draw markers.

One pass per sample (`decode_sample`): the json first, then only the members it promises
(`<i>.jpg` for i < n_views, plus `<i>.depth.png`, `<i>.pose.npy`, `<i>.K.npy` when `has_depth`),
each decoded once. Other members are never decoded: a pickle or torch file in a shard stays
inert bytes, and no time goes into members nobody reads. Depth keeps uint16 (webdataset's image
decoders would clip it to 8 bits; formats.md section 5).

Views come as RGB PIL images. Batching (spar_hf.train.collate) wants arrays instead: `jpeg_size`,
`decode_rgb_into` and `decode_rgb_array` take JPEGs straight from libjpeg-turbo into the array
(simplejpeg, the same decoder settings as Pillow's, so the same pixels): turning a decoded PIL image
into an array costs more than decoding it (Pillow's `tobytes` repacks every pixel).
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any, Callable

import numpy as np
import orjson

try:
    import simplejpeg
except ImportError:  # the `train` extra brings it; without it arrays are made through PIL, slower
    simplejpeg = None

log = logging.getLogger("spar_hf.train")

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp", "gif", "bmp")
_TURBO_COLOURS = ("YCbCr", "Gray", "RGB")  # what libjpeg converts to RGB exactly as Pillow does; CMYK/YCCK differ
_warned_no_simplejpeg = False
_VIEW_FIELDS = {"image": "images"}
_DEPTH_FIELDS = {"image": "images", "depth.png": "depth", "pose.npy": "pose", "k.npy": "K"}


class IncompleteSample(ValueError):
    """A sample missing its json or one of its numbered members (truncated shard, hand-edited tar)."""


def decode_json(data: bytes) -> Any:
    """orjson (several times faster than json on sample metadata); what it refuses (NaN/Infinity
    literals, integers beyond 64 bits) is left to json.loads."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def decode_depth(key: str, data: bytes) -> np.ndarray:
    """`<i>.depth.png` -> HxW uint16 array, values exactly as stored (millimetres in SPAR builds)."""
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


def decode_rgb(data: bytes) -> Any:
    """An image -> RGB PIL image, decoded once (webdataset's "pil" handler copies it twice more)."""
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    return img if img.mode == "RGB" else img.convert("RGB")


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) of a JPEG that libjpeg-turbo turns into exactly Pillow's RGB pixels, else None.

    That is a JPEG in YCbCr, grey or RGB (CMYK/YCCK conversions differ from Pillow's) with a header
    simplejpeg can read; None sends the image through Pillow.
    """
    if data[:2] != b"\xff\xd8":
        return None
    if simplejpeg is None:
        _warn_no_simplejpeg()
        return None
    try:
        height, width, colour, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    return (height, width) if colour in _TURBO_COLOURS else None


def _turbo(data: bytes, buffer: np.ndarray | None = None) -> np.ndarray:
    """libjpeg-turbo with Pillow's decoder settings (accurate DCT, fancy upsampling), so Pillow's pixels."""
    return simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=False, fastupsample=False, buffer=buffer)


def decode_rgb_array(data: bytes) -> np.ndarray:
    """An image -> HxWx3 uint8 array with exactly the pixels of `np.asarray(decode_rgb(data))`.

    A JPEG `jpeg_size` accepts is decoded by libjpeg-turbo straight into the array; anything else,
    or a JPEG it refuses (damage it only warns about, unusual markers), goes through Pillow.
    """
    if jpeg_size(data) is not None:
        try:
            return _turbo(data)
        except ValueError:
            pass  # Pillow decides: it decodes what libjpeg only warns about, or raises its usual error
    return np.array(decode_rgb(data))  # a writable copy, like simplejpeg's


def decode_rgb_into(data: bytes, out: np.ndarray) -> None:
    """Decode a JPEG `jpeg_size` accepted into `out` (its h x w x 3 uint8 slot in a batch), in place
    when the slot is contiguous; through Pillow (same pixels) when libjpeg-turbo refuses the data."""
    try:
        if out.flags.c_contiguous:
            _turbo(data, buffer=out)
        else:
            out[...] = _turbo(data)
        return
    except ValueError:
        pass
    out[...] = np.asarray(decode_rgb(data))


def _warn_no_simplejpeg() -> None:
    global _warned_no_simplejpeg
    if not _warned_no_simplejpeg:
        _warned_no_simplejpeg = True
        log.warning("simplejpeg is not installed: JPEG views become arrays through PIL, about 2.5x slower "
                    "(pip install 'spar-hf[train]')")


def decode_npy(data: bytes) -> np.ndarray:
    """`.npy` without pickles: a shard is data, and loading it must never run code from it."""
    import numpy.lib.format

    return numpy.lib.format.read_array(io.BytesIO(data), allow_pickle=False)


def _split_view(name: str) -> tuple[int, str] | None:
    """`"3.depth.png"` -> (3, "depth.png"); any image extension -> kind "image"; not a view -> None."""
    dot = name.find(".")
    if dot <= 0 or not name[:dot].isdigit():
        return None
    kind = name[dot + 1:]
    return int(name[:dot]), "image" if kind in IMAGE_EXTS else kind


def _assemble(sample: dict[str, Any], meta: dict, value_of: Callable[[str, str, Any], Any]) -> dict[str, Any]:
    """The promised members as lists, each through `value_of(kind, name, data)`; IncompleteSample if one is missing."""
    key, url = sample.get("__key__"), sample.get("__url__")
    n = int(meta.get("n_views", 0))
    fields = _DEPTH_FIELDS if meta.get("has_depth") else _VIEW_FIELDS
    views: dict[str, dict[int, tuple[str, Any]]] = {}
    for name, value in sample.items():
        view = _split_view(name)
        if view is not None and view[1] in fields:
            views.setdefault(view[1], {})[view[0]] = (name, value)
    out: dict[str, Any] = {"__key__": key, "__url__": url, "json": meta}
    for kind, field in fields.items():
        got = views.get(kind, {})
        missing = [i for i in range(n) if i not in got]
        if missing or n == 0:
            raise IncompleteSample(f"sample {key} @ {url}: {field} {missing or 'none'} missing of {n} views")
        out[field] = [value_of(kind, *got[i]) for i in range(n)]
    return out


def _decode_member(kind: str, name: str, data: bytes) -> Any:
    if kind == "image":
        return decode_rgb(data)
    if kind == "depth.png":
        return decode_depth(name, data)
    return decode_npy(data)


def _decode_arrays_only(kind: str, name: str, data: bytes) -> Any:
    return decode_npy(data) if kind.endswith(".npy") else data


def decode_sample(sample: dict[str, Any], images: bool = True) -> dict[str, Any]:
    """A raw tar sample (bytes per member) -> `{json, images, depth, pose, K}` lists, in one pass.

    `images=False` leaves images and depth as their stored bytes (pose and K are still arrays).
    Raises IncompleteSample when the json or a member it promises is missing.
    """
    raw = sample.get("json")
    meta = decode_json(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
    if not isinstance(meta, dict):
        raise IncompleteSample(f"sample {sample.get('__key__')} @ {sample.get('__url__')}: no json member")
    return _assemble(sample, meta, _decode_member if images else _decode_arrays_only)


def draw_sample_markers(sample: dict[str, Any]) -> dict[str, Any]:
    """Draw the record's markers on its images (spar_hf.markers) unless the shard has them baked in."""
    meta = sample["json"]
    markers = meta.get("markers")
    if markers and not meta.get("markers_baked"):
        from spar_hf.markers import draw_markers

        sample["images"] = draw_markers(sample["images"], markers, str(meta.get("task", "")))
    return sample

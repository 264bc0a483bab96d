"""Decoders for the members of a shard sample: JSON, RGB views, uint16 depth, `.npy` matrices; marker drawing.

Depth keeps uint16 (webdataset's image decoders would clip it to 8 bits; docs/formats.md "Shard sample");
`.npy` is read without pickles (a shard is data). RGB views become arrays through libjpeg-turbo
(`decode_rgb_array`, `decode_rgb_into`: simplejpeg with Pillow's decoder settings, so Pillow's
pixels) because turning a decoded PIL image into an array costs more than decoding it (Pillow's
`tobytes` repacks every pixel); PNG, WebP and CMYK JPEGs go through Pillow.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any, Callable

import numpy as np
import numpy.lib.format
import orjson
from PIL import Image

try:
    import simplejpeg
except ImportError:  # the `train` extra brings it; without it arrays are made through PIL, slower
    simplejpeg = None

log = logging.getLogger("spar_hf.train")

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp", "gif", "bmp")
_TURBO_COLOURS = ("YCbCr", "Gray", "RGB")  # what libjpeg converts to RGB exactly as Pillow does; CMYK/YCCK differ
_warned_no_simplejpeg = False


def decode_json(data: bytes) -> Any:
    """orjson (several times faster than json on sample metadata); what it refuses (NaN/Infinity
    literals, integers beyond 64 bits) is left to json.loads."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def decode_depth(key: str, data: bytes) -> np.ndarray:
    """`<i>.depth.png` -> HxW uint16 array, values exactly as stored (millimetres in SPAR builds)."""

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

    return numpy.lib.format.read_array(io.BytesIO(data), allow_pickle=False)


def draw_sample_markers(sample: dict[str, Any]) -> dict[str, Any]:
    """Draw the row's markers on its images (spar_hf.markers) unless the shard has them baked in.
    The row's images are its own (PIL images made per row), so drawing never reaches another row."""
    meta = sample["json"]
    markers = meta.get("markers")
    if markers and not meta.get("markers_baked"):
        from spar_hf.markers import draw_markers  # deferred, only when markers are asked for

        sample["images"] = draw_markers(sample["images"], markers, str(meta.get("task", "")))
    return sample

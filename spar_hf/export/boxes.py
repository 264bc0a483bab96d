"""Box notations: find boxes in QA text and convert them between model conventions.

SpatialForge (like Qwen3-VL) writes boxes as `{"bbox_2d": [x1, y1, x2, y2], "label": ...}` or bare
`[x1, y1, x2, y2]` lists with coordinates normalised to 0..1000. Exports need three conventions:

- Qwen3-VL: the same 0..1000 JSON (identity);
- Qwen2.5-VL: absolute pixels of the *resized* model input, whose sides are multiples of 28
  (`smart_resize`, the rule of `qwen_vl_utils`);
- InternVL: `<ref>label</ref><box>[[x1, y1, x2, y2]]</box>`, 0..1000.

`find_boxes` is also what the SpatialForge ingester uses to read boxes out of questions and answers.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np
import orjson

STYLES = ("qwen3", "qwen25", "internvl")

# qwen_vl_utils (Qwen2-VL / Qwen2.5-VL) constants.
IMAGE_FACTOR = 28
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28
MAX_RATIO = 200

_OBJECT_RE_CACHE: dict[str, re.Pattern] = {}
_ARRAY_RE = re.compile(r"(?:```(?:json)?\s*)?(\[\s*\{[^{}]*\}(?:\s*,\s*\{[^{}]*\})*\s*\])(?:\s*```)?")
_BOX_TAG_RE = re.compile(r"<box>.*?</box>", re.S)


class BoxSpan(NamedTuple):
    """A box notation found in a text: where it is, its raw values and its label (if any)."""

    start: int
    end: int
    values: tuple  # raw numbers as written (any length; validation is the caller's)
    label: Any  # as written: a string, None when absent, or a list/number the caller refuses
    kind: str  # "object" ({"bbox_2d": ...}) or "list" (bare [..])


_new_span = tuple.__new__  # BoxSpan(...) goes through a Python-level __new__: 3x slower on the ingest hot path


def _object_re(key: str) -> re.Pattern:
    pattern = _OBJECT_RE_CACHE.get(key)
    if pattern is None:
        # lazy before the key: the match (the braces around the key, none inside) is the same, found without backtracking
        pattern = re.compile(r"\{[^{}]*?\"%s\"[^{}]*\}" % re.escape(key))
        _OBJECT_RE_CACHE[key] = pattern
    return pattern


def parse_number(token: str) -> int | float:
    """'12' -> 12, '12.5' -> 12.5, 'NaN' -> nan (validation rejects non-finite values later);
    ValueError if the token is not a number."""
    token = token.strip()
    if token.isdigit():
        return int(token)
    if "_" in token:
        raise ValueError(token)
    try:
        return int(token)
    except ValueError:
        return float(token)


def _number_list(bracketed: str) -> tuple | None:
    """'[1, 2.5, NaN]' -> (1, 2.5, nan); None unless it is two or more comma-separated numbers.

    orjson parses the common all-JSON case in C; NaN/Infinity and forms like '1.' take the slow path."""
    try:
        values = orjson.loads(bracketed)
    except orjson.JSONDecodeError:
        parts = bracketed[1:-1].split(",")
        try:
            values = [parse_number(p) for p in parts]
        except ValueError:
            return None
    if len(values) < 2:
        return None
    for v in values:
        if type(v) is not int and type(v) is not float:
            return None
    return tuple(values)


def find_boxes(text: str, key: str = "bbox_2d", label_key: str = "label") -> list[BoxSpan]:
    """All box notations in `text`, in order: `{"<key>": [...], "<label_key>": ...}` objects and bare
    lists of two or more numbers (a list of the wrong length is still returned, for the validator)."""
    if "[" not in text:
        return []
    spans: list[BoxSpan] = []
    taken: list[tuple[int, int]] = []
    if key in text:
        for match in _object_re(key).finditer(text):
            try:
                obj = orjson.loads(match.group(0))
            except orjson.JSONDecodeError:
                try:
                    obj = json.loads(match.group(0))  # NaN / Infinity literals
                except ValueError:
                    continue
            values = obj.get(key)
            if not isinstance(values, list):
                values = [values]
            label = obj.get(label_key)
            span = match.span()
            spans.append(_new_span(BoxSpan, (*span, tuple(values), label, "object")))
            taken.append(span)
    # Bare lists: every [...] with no bracket inside, left to right (what a `\[[^\[\]]*\]` regex
    # matches), found with str.find: cheaper than the regex engine for the one or two a text holds.
    # Starts only grow, so one pointer into the (ordered) object spans says whether a list is inside
    # one: linear in the number of boxes (a record with 100k boxes took 43 s when each list re-scanned them).
    find = text.find
    start = find("[")
    k = 0
    while start >= 0:
        end = find("]", start + 1)
        if end < 0:
            break
        start = text.rfind("[", start, end)  # the last '[' before the ']' is the one that closes there
        end += 1
        while k < len(taken) and taken[k][1] <= start:
            k += 1
        if not (k < len(taken) and taken[k][0] <= start):
            values = _number_list(text[start:end])
            if values is not None:
                spans.append(_new_span(BoxSpan, (start, end, values, None, "list")))
        start = find("[", end)
    if len(spans) > len(taken) > 0:  # lists after objects: restore text order
        spans.sort(key=_start)
    return spans


def _start(span: BoxSpan) -> int:
    return span.start


def boxes_to_pixels(boxes: Any, width: int, height: int) -> np.ndarray:
    """0..1000 boxes (N, 4) -> float pixel boxes of a width x height image: x_px = v / 1000 * width."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    return boxes / 1000.0 * np.array([width, height, width, height], dtype=float)


def pixels_to_boxes(boxes_px: Any, width: int, height: int) -> np.ndarray:
    """Pixel boxes (N, 4) -> integer 0..1000 boxes (rounded, clipped)."""
    boxes_px = np.asarray(boxes_px, dtype=float).reshape(-1, 4)
    scale = np.array([width, height, width, height], dtype=float)
    return np.clip(np.rint(boxes_px / scale * 1000.0), 0, 1000).astype(int)


def smart_resize(height: int, width: int, factor: int = IMAGE_FACTOR, min_pixels: int = MIN_PIXELS,
                 max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """The Qwen2/2.5-VL input size (height, width): sides multiples of `factor`, area within
    [min_pixels, max_pixels], aspect ratio kept as closely as possible (qwen_vl_utils' rule)."""
    if min(height, width) <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"aspect ratio must be below {MAX_RATIO}, got {max(height, width) / min(height, width):.1f}")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def boxes_to_qwen25(boxes: Any, width: int, height: int, min_pixels: int = MIN_PIXELS,
                    max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """0..1000 boxes (N, 4) -> integer pixel boxes of the smart-resized Qwen2.5-VL input."""
    h_bar, w_bar = smart_resize(height, width, min_pixels=min_pixels, max_pixels=max_pixels)
    return np.rint(boxes_to_pixels(boxes, w_bar, h_bar)).astype(int)


def _ints(box: Iterable[Any]) -> list:
    return [int(v) if float(v).is_integer() else float(v) for v in box]


def format_qwen3(boxes: Any, labels: Sequence[str | None]) -> str:
    """Qwen3-VL answer JSON: `[{"bbox_2d": [x1, y1, x2, y2], "label": "cup"}, ...]` (0..1000)."""
    rows = []
    for box, label in zip(np.asarray(boxes).reshape(-1, 4).tolist(), labels):
        row: dict[str, Any] = {"bbox_2d": _ints(box)}
        if label is not None:
            row["label"] = label
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False)


def format_qwen25(boxes: Any, labels: Sequence[str | None], width: int, height: int, **resize: int) -> str:
    """Qwen2.5-VL answer JSON with absolute pixels of the resized input."""
    return format_qwen3(boxes_to_qwen25(boxes, width, height, **resize), labels)


def format_internvl(boxes: Any, labels: Sequence[str | None]) -> str:
    """InternVL grounding text: `<ref>cup</ref><box>[[x1, y1, x2, y2]]</box>`; consecutive boxes with
    the same label share one `<ref>`; unlabelled boxes are a bare `<box>`."""
    parts: list[str] = []
    rows = np.asarray(boxes).reshape(-1, 4).tolist()
    i = 0
    while i < len(rows):
        j = i + 1
        while j < len(rows) and labels[j] == labels[i]:
            j += 1
        group = ", ".join("[" + ", ".join(str(v) for v in _ints(r)) + "]" for r in rows[i:j])
        ref = f"<ref>{labels[i]}</ref>" if labels[i] is not None else ""
        parts.append(f"{ref}<box>[{group}]</box>")
        i = j
    return ", ".join(parts)


def _convert_span(span: BoxSpan, style: str, width: int | None, height: int | None, key: str) -> str:
    box = [span.values]
    if style == "internvl":
        return format_internvl(box, [span.label])
    if style == "qwen25":
        if width is None or height is None:
            raise ValueError("qwen25 conversion needs the image size")
        box = boxes_to_qwen25(box, width, height)
    values = _ints(np.asarray(box).reshape(4).tolist())
    if span.kind == "list":
        return "[" + ", ".join(str(v) for v in values) + "]"
    row: dict[str, Any] = {key: values}
    if span.label is not None:
        row["label"] = span.label
    return json.dumps(row, ensure_ascii=False)


def convert_text(text: str, style: str, width: int | None = None, height: int | None = None,
                 key: str = "bbox_2d") -> str:
    """Rewrite every 4-number box in `text` (Qwen3 0..1000 notation) into `style`.

    For InternVL a fenced or bare JSON array of box objects becomes a comma-separated run of
    `<ref>..</ref><box>..</box>` items; for Qwen2.5-VL the JSON layout is kept and the numbers become
    resized-input pixels (needs `width`, `height` of the original image).
    """
    if style not in STYLES:
        raise ValueError(f"unknown box style {style!r}; expected one of {', '.join(STYLES)}")
    if style == "qwen3":
        return text
    if style == "internvl":
        text = _ARRAY_RE.sub(lambda m: _internvl_array(m.group(1), key) or m.group(0), text)
    tagged = [m.span() for m in _BOX_TAG_RE.finditer(text)] if "<box>" in text else []
    out: list[str] = []
    pos = 0
    for span in find_boxes(text, key):
        if len(span.values) != 4 or any(a <= span.start < b for a, b in tagged):
            continue
        out.append(text[pos:span.start])
        out.append(_convert_span(span, style, width, height, key))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def _internvl_array(array_text: str, key: str) -> str | None:
    """A JSON array of `{key: [...], label}` objects -> InternVL refs; None if it is not one."""
    try:
        rows = json.loads(array_text)
    except ValueError:
        return None
    if not rows or not all(isinstance(r, dict) and isinstance(r.get(key), list) and len(r[key]) == 4 for r in rows):
        return None
    return format_internvl([r[key] for r in rows], [r.get("label") for r in rows])


def convert_record_json(record: dict[str, Any], style: str) -> dict[str, Any]:
    """A copy of a layout record (QARecord.to_json) with every conversation turn rewritten into `style`.

    The image size comes from `meta["image_size"]` ([width, height], written by the SpatialForge
    ingester); only `qwen25` needs it.
    """
    size = (record.get("meta") or {}).get("image_size")
    width, height = (size if size else (None, None))
    out = dict(record)
    out["conversations"] = [dict(turn, value=convert_text(turn["value"], style, width, height))
                            for turn in record["conversations"]]
    return out

"""Validation of SpatialForge boxes and counts; a failure raises `Rejected` with a coded reason.

Boxes are Qwen3-VL style: exactly four finite numbers x1, y1, x2, y2 normalised to 0..1000 with
0 <= x1 < x2 <= 1000 and 0 <= y1 < y2 <= 1000. Qwen3-VL's documentation also speaks of a 0..999
grid; such boxes lie inside 0..1000 and pass unchanged (pixels are always v / 1000 * size, so the
two conventions differ by at most 0.1 % of the side). Counts are non-negative integers (2.0 counts
as 2; True/False do not count).

Reason strings are `<code>: <detail>`; the code (before the colon) is what summaries group by.
"""

from __future__ import annotations

import math
import re
from typing import Any

_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
MAX_COUNT = 2 ** 63 - 1  # what the layout's JSON (orjson) and Parquet can hold
MAX_COUNT_DIGITS = 40
_COUNT_RE = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?!\w)")
_WORD_RE = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.I)


class Rejected(Exception):
    """A record that cannot be ingested; `reason` is `<code>: <detail>`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _fmt(values: Any) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]" if isinstance(values, (list, tuple)) else repr(values)


_NUMBER_TYPES = (int, float)


def check_box(values: Any, where: str, index: int | None = None) -> tuple[float, float, float, float]:
    """A validated 0..1000 box; `where` (plus `index`: "answer" + 2 -> "answer box 2") names it in the reason."""
    if type(values) in (list, tuple) and len(values) == 4:  # fast path for the common valid box
        x1, y1, x2, y2 = values
        if (type(x1) in _NUMBER_TYPES and type(y1) in _NUMBER_TYPES and type(x2) in _NUMBER_TYPES
                and type(y2) in _NUMBER_TYPES and 0 <= x1 < x2 <= 1000 and 0 <= y1 < y2 <= 1000):
            return x1, y1, x2, y2
    if index is not None:
        where = f"{where} box {index}"
    if not isinstance(values, (list, tuple)):
        raise Rejected(f"bbox_malformed: {where} is {_fmt(values)}, not a list of 4 numbers")
    if len(values) != 4:
        raise Rejected(f"bbox_arity: {where} {_fmt(values)} has {len(values)} numbers, expected 4")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Rejected(f"bbox_malformed: {where} {_fmt(values)} holds a non-number {v!r}")
    if not all(math.isfinite(v) for v in values):
        raise Rejected(f"bbox_not_finite: {where} {_fmt(values)} holds NaN or infinity")
    x1, y1, x2, y2 = values
    if min(values) < 0 or max(values) > 1000:
        raise Rejected(f"bbox_out_of_range: {where} {_fmt(values)} outside 0..1000")
    if not (x1 < x2 and y1 < y2):
        raise Rejected(f"bbox_inverted: {where} {_fmt(values)} needs x1 < x2 and y1 < y2")
    return x1, y1, x2, y2


def check_count(value: Any, where: str = "count") -> int:
    """A validated count from a number or from the first number (or number word) in an answer text."""
    if isinstance(value, str):
        match = _COUNT_RE.search(value)
        if match:
            token = match.group(0)
            if len(token) > MAX_COUNT_DIGITS:
                raise Rejected(f"count_too_large: {where} holds a {len(token)}-character number")
            value = float(token) if "." in token else int(token)
        else:
            word = _WORD_RE.search(value)
            if not word:
                raise Rejected(f"count_missing: no number in {where} {value[:80]!r}")
            value = _WORDS[word.group(1).lower()]
    if value is None:
        raise Rejected(f"count_missing: {where} is empty")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejected(f"count_not_integer: {where} is {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise Rejected(f"count_not_integer: {where} is {value!r}")
        value = int(value)
    if value < 0:
        raise Rejected(f"count_negative: {where} is {value}")
    if value > MAX_COUNT:
        raise Rejected(f"count_too_large: {where} is {value}, above {MAX_COUNT}")
    return value

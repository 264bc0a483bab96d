"""JSON values that parse but cannot be carried on, and the one reason for numbers Python refuses.

`json.loads` accepts a lone surrogate escape (`"\\ud800"`), which no UTF-8 writer (JSONL, Parquet,
Arrow) can encode, and integers of any size up to 4,300 digits, which Arrow, numpy and orjson
refuse past 64 bits; a longer number raises a plain ValueError (not JSONDecodeError). Each reader
turns these into a bad line or a reject with the reason instead of failing later on the whole file.

Values of the wrong JSON type are the other half: `str()`, `int()` and numpy turn a list label into
"['chair']", a segment id 1.5 into 1 and "3" into 3 without a word. `kind` and `first_non_integer`
let readers refuse them with a reason that says what was found.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
# a surrogate escape or a 19-digit run: the only texts whose parsed value can fail value_problem
_SUSPECT = re.compile(r"\\[uU][dD][89a-fA-F]|\d{19}")
_SUSPECT_BYTES = re.compile(_SUSPECT.pattern.encode())


def too_many_digits() -> str:
    """The reason for the ValueError json.loads raises on a number past Python's digit limit."""
    return f"a number of more than {sys.get_int_max_str_digits()} digits"


class LongNumber(int):
    """What `checked_int` returns for an integer json cannot convert: lets a decoder finish the value
    (and a JSON array reader go on to the next element) while `value_problem` still refuses it."""


def checked_int(text: str) -> int:
    """`parse_int` for json decoders: int(text), or a LongNumber(0) past Python's digit limit."""
    try:
        return int(text)
    except ValueError:
        return LongNumber(0)


def string_problem(text: str) -> str | None:
    """Why a string cannot be written as UTF-8 (a lone surrogate), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"lone surrogate \\u{ord(text[exc.start]):04x} in a string (not encodable as UTF-8)"
    return None


def value_problem(value: Any) -> str | None:
    """Why a parsed JSON value cannot be carried into the outputs, or None: the first lone surrogate
    (in a key or a string) or integer outside the signed 64-bit range. Iterative: any depth json parsed."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = string_problem(item)
            if problem:
                return problem
        elif isinstance(item, LongNumber):
            return too_many_digits()
        elif isinstance(item, int) and not isinstance(item, bool):
            if not INT64_MIN <= item <= INT64_MAX:
                return f"integer {item} is outside the signed 64-bit range"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


_KINDS = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "an array",
          dict: "an object"}
SHOWN = 60  # characters of a value quoted in a reason


def kind(value: Any) -> str:
    """A parsed JSON value's type and (cut) JSON text for a reason: `an array (["chair"])`, `a number (1.5)`."""
    if value is None:
        return "null"
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
        if string_problem(text):
            text = json.dumps(value, default=repr)
    except (ValueError, RecursionError):
        text = "..."
    if len(text) > SHOWN:
        text = text[:SHOWN - 3] + "..."
    return f"{_KINDS.get(type(value), type(value).__name__)} ({text})"


def first_non_integer(values: list) -> int | None:
    """Position of the first element of a JSON array that is not an integer (a float, even 2.0, a
    boolean, a string, ...), or None. One C-level pass over the types for the usual all-integer array."""
    if set(map(type, values)) <= {int}:
        return None
    return next(i for i, v in enumerate(values) if type(v) is not int)


def suspect(text: str | bytes) -> bool:
    """Whether `text` holds a surrogate escape or a 19-digit run: the only JSON texts whose value can
    fail `value_problem` (and whose integers a 64-bit parser such as orjson would turn into floats)."""
    return (_SUSPECT_BYTES if isinstance(text, bytes) else _SUSPECT).search(text) is not None


def text_value_problem(text: str | bytes, value: Any) -> str | None:
    """`value_problem(value)` for the value parsed from `text`, skipping the walk when the text is not
    `suspect` (what nearly every line looks like)."""
    return value_problem(value) if suspect(text) else None

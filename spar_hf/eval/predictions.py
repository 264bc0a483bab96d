"""Predictions files: JSONL, one {"id": <bench id>, "prediction": <model output text>} per line.

`id` is an integer within 64 bits (a string of ASCII digits is accepted, as some harnesses write
ids as text; `"٣"` is not 3); `prediction` is a string, or null for "not attempted" (baselines use
it for the tasks the paper leaves unscored). Blank lines are skipped. Every other defect is
reported with its line number, and a file with any defect or a repeated id, or with no prediction
at all, is refused as a whole: a silently dropped line would lower a score without anyone noticing.

`parse_predictions` is the one parser of a file's bytes, for `spar-hf eval` and the Space alike:
lines end at `\n` only (a raw U+2028 inside a prediction is text, as in JSON, not a line break).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.utils.jsonvalues import INT64_MAX, INT64_MIN, string_problem, too_many_digits

MAX_LISTED = 10


class BadPredictions(SparError):
    """A predictions file refused as a whole: `problems` holds one "line N: reason" per bad line
    (empty when the file is not text or holds no prediction); the message lists the first ten."""

    def __init__(self, name: str, message: str, problems: list[str] | None = None):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.problems = problems or []


@dataclass
class Predictions:
    path: Path
    by_id: dict[int, str | None] = field(default_factory=dict)
    lines: int = 0

    def __len__(self) -> int:
        return len(self.by_id)


def _parse_id(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("id must be an integer, not a boolean")
    if isinstance(value, str):
        digits = value.strip().removeprefix("-")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
            raise ValueError(f"id must be an integer, got {value[:40]!r}")
        value = int(value.strip())
    if not isinstance(value, int):
        raise ValueError(f"id must be an integer, got {value!r}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"id {value} is outside the signed 64-bit range")
    return value


def parse_line(text: str) -> tuple[int, str | None]:
    """One JSONL line -> (id, prediction); ValueError with the reason when the line is bad."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not JSON (nested too deeply)") from None
    except ValueError:
        raise ValueError(f"not JSON ({too_many_digits()})") from None
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    missing = [k for k in ("id", "prediction") if k not in row]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    prediction = row["prediction"]
    if prediction is not None and not isinstance(prediction, str):
        raise ValueError(f"prediction must be a string or null, got {type(prediction).__name__}")
    ident = _parse_id(row["id"])
    if prediction is not None and (problem := string_problem(prediction)):
        raise ValueError(f"prediction: {problem}")
    return ident, prediction


def read_predictions(path: str | os.PathLike) -> Predictions:
    """Parse a predictions file; BadPredictions listing every bad line (up to 10) and repeated ids."""
    path = Path(path)
    if not path.is_file():
        raise SparError(f"{path}: predictions file not found")
    return parse_predictions(path.read_bytes(), str(path))


def parse_predictions(data: bytes, name: str) -> Predictions:
    """The predictions in a file's bytes (`name` is how messages call the file); BadPredictions when
    it is not UTF-8 text, has a bad line or a repeated id, or holds no prediction."""
    if b"\x00" in data:
        raise BadPredictions(name, "binary file (NUL bytes); expected JSONL text, one {\"id\", \"prediction\"} per line")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPredictions(name, f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    result = Predictions(path=Path(name))
    problems = parse_lines(text.split("\n"), result)
    if problems:
        shown = "; ".join(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise BadPredictions(name, f"{len(problems)} bad line(s): {shown}{more}", problems)
    if not result.by_id:
        raise BadPredictions(name, "no predictions (empty file)")
    return result


def parse_lines(lines: Iterable[str], result: Predictions) -> list[str]:
    """Fill `result` from numbered lines; one "line N: reason" per bad line or repeated id.

    Shared by `read_predictions` and the Space's upload check, which differ only in how they
    get the text and how they report the problems.
    """
    problems: list[str] = []
    first_line: dict[int, int] = {}
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        result.lines += 1
        try:
            ident, prediction = parse_line(text)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if ident in first_line:
            problems.append(f"line {number}: duplicate id {ident} (first on line {first_line[ident]})")
            continue
        first_line[ident] = number
        result.by_id[ident] = prediction
    return problems

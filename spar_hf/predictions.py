"""Predictions files: JSONL, one {"id": <bench id>, "prediction": <model output text>} per line.

`id` is an integer (a string of digits is accepted, as some harnesses write ids as text);
`prediction` is a string, or null for "not attempted" (baselines use it for the tasks the paper
leaves unscored). Blank lines are skipped. Every other defect is reported with its line number,
and a file with any defect or a repeated id is refused as a whole: a silently dropped line would
lower a score without anyone noticing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from spar_hf.errors import SparError

MAX_LISTED = 10


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
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"id must be an integer, got {value!r}")


def parse_line(text: str) -> tuple[int, str | None]:
    """One JSONL line -> (id, prediction); ValueError with the reason when the line is bad."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not JSON (nested too deeply)") from None
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    missing = [k for k in ("id", "prediction") if k not in row]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    prediction = row["prediction"]
    if prediction is not None and not isinstance(prediction, str):
        raise ValueError(f"prediction must be a string or null, got {type(prediction).__name__}")
    return _parse_id(row["id"]), prediction


def read_predictions(path: str | os.PathLike) -> Predictions:
    """Parse a predictions file; SparError listing every bad line (up to 10) and repeated ids."""
    path = Path(path)
    if not path.is_file():
        raise SparError(f"{path}: predictions file not found")
    result = Predictions(path=path)
    try:
        with open(path, encoding="utf-8") as handle:
            problems = parse_lines(handle, result)
    except UnicodeDecodeError as exc:
        raise SparError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    if problems:
        shown = "; ".join(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise SparError(f"{path}: {len(problems)} bad line(s): {shown}{more}")
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

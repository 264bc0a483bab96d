"""Stream annotation records from JSON arrays, JSONL and Parquet in constant memory.

Each reader yields `RawRecord(file, line, data, error)`: `data` is the parsed record, or `error`
says why the record could not be parsed (the ingester rejects it with that reason). `line` is the
1-based physical line where a JSONL record or a JSON array element starts, and the 1-based row
number in a Parquet file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import orjson

from spar_hf.errors import SparError
from spar_hf.utils.jsonvalues import checked_int, suspect, value_problem

CHUNK_CHARS = 1 << 20  # JSON array read size
MAX_ELEMENT_CHARS = 1 << 28  # a JSON array element larger than this is treated as malformed
PARQUET_BATCH = 8192
_WS = " \t\r\n"


class RawRecord(NamedTuple):
    file: str
    line: int
    data: Any = None
    error: str | None = None


_new_record = tuple.__new__  # RawRecord(...) goes through a Python-level __new__: 3x slower per JSONL line


def detect_format(path: str | os.PathLike) -> str:
    """'jsonl', 'json' or 'parquet' from the extension; a `.json` file whose first character is `{`
    is JSON Lines (common for LLaVA-style dumps)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        with open(path, "rb") as fh:
            head = fh.read(4096).lstrip()
        return "jsonl" if head.startswith(b"{") else "json"
    raise SparError(f"{path}: unknown annotation format (expected .json, .jsonl, .ndjson or .parquet)")


def iter_records(path: str | os.PathLike) -> Iterator[RawRecord]:
    """Records of one annotation file, whatever its format."""
    path = Path(path)
    if not path.is_file():
        raise SparError(f"{path}: annotation file not found")
    kind = detect_format(path)
    if kind == "jsonl":
        return iter_jsonl(path)
    if kind == "json":
        return iter_json_array(path)
    return iter_parquet(path)


def iter_jsonl(path: str | os.PathLike) -> Iterator[RawRecord]:
    """One record per non-blank line; a line that is not JSON (or not UTF-8) is an error record.

    orjson parses (several times faster than `json`); a line it refuses is re-read with `json`, which
    also accepts the NaN/Infinity literals Python writers emit, so the validator can name them."""
    name = str(path)
    fast = orjson.loads
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not suspect(raw):  # orjson turns integers past 64 bits into floats: such lines take the slow path
                try:
                    yield _new_record(RawRecord, (name, number, fast(raw), None))
                    continue
                except orjson.JSONDecodeError:
                    if not raw.strip():
                        continue
            try:
                data = json.loads(raw, parse_int=checked_int)
            except (ValueError, RecursionError) as exc:
                yield RawRecord(name, number, None, f"invalid_json: {_short(exc)}")
                continue
            yield _checked(name, number, data)


def _checked(name: str, line: int, data: Any) -> RawRecord:
    """The record, or a `bad_value` error when it holds what no output can carry (`spar_hf.utils.jsonvalues`)."""
    problem = value_problem(data)
    return RawRecord(name, line, None, f"bad_value: {problem}") if problem else RawRecord(name, line, data)


def _short(exc: Exception) -> str:
    """The message without the decoder's position (positions are relative to our buffer)."""
    text = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
    return text.split("\n")[0][:200]


def iter_json_array(path: str | os.PathLike, chunk_chars: int = CHUNK_CHARS) -> Iterator[RawRecord]:
    """Elements of a top-level JSON array, decoded one at a time from a sliding text buffer.

    The C scanner (`JSONDecoder.raw_decode`) decodes each element in place; the buffer only ever holds
    the current element plus one chunk. A syntax error ends the file: the array cannot be resynchronised,
    so one error record names the line and says the rest of the file was not read.
    """
    name = str(path)
    decoder = json.JSONDecoder(parse_int=checked_int)
    with open(path, encoding="utf-8", errors="strict") as fh:
        reader = _Buffer(fh, chunk_chars)
        try:
            if not reader.skip_ws() or reader.peek() != "[":
                raise SparError(f"{name}: expected a top-level JSON array")
            reader.pos += 1
            first = True
            while True:
                if not reader.skip_ws():
                    yield RawRecord(name, reader.line(), None, "invalid_json: unexpected end of file; array not closed")
                    return
                char = reader.peek()
                if char == "]":
                    return
                if not first:
                    if char != ",":
                        yield RawRecord(name, reader.line(), None,
                                        f"invalid_json: expected ',' or ']' but found {char!r}; rest of file not read")
                        return
                    reader.pos += 1
                    if not reader.skip_ws():
                        yield RawRecord(name, reader.line(), None, "invalid_json: unexpected end of file after ','")
                        return
                first = False
                line = reader.line()
                try:
                    obj = reader.decode(decoder)
                except (ValueError, RecursionError) as exc:
                    yield RawRecord(name, line, None, f"invalid_json: {_short(exc)}; rest of file not read")
                    return
                yield _checked(name, line, obj)
        except UnicodeDecodeError as exc:
            yield RawRecord(name, reader.line(), None, f"invalid_json: not UTF-8 ({_short(exc)}); rest of file not read")


class _Buffer:
    """A text window over a file with line accounting for the JSON array reader."""

    def __init__(self, fh, chunk_chars: int):
        self.fh = fh
        self.chunk = chunk_chars
        self.buf = ""
        self.pos = 0
        self.eof = False
        self._line = 1  # line number at self._counted
        self._counted = 0

    def more(self) -> bool:
        """Drop consumed text and append one chunk; False at end of file."""
        if self.eof:
            return False
        self.line()
        data = self.fh.read(max(self.chunk, len(self.buf) - self.pos))
        self.buf = self.buf[self.pos:] + data
        self._counted -= self.pos
        self.pos = 0
        if not data:
            self.eof = True
        return bool(data)

    def line(self) -> int:
        if self.pos > self._counted:
            self._line += self.buf.count("\n", self._counted, self.pos)
            self._counted = self.pos
        return self._line

    def skip_ws(self) -> bool:
        """Advance past whitespace; False if the file ends first."""
        while True:
            n = len(self.buf)
            while self.pos < n and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < n:
                return True
            if not self.more():
                return False

    def peek(self) -> str:
        return self.buf[self.pos]

    def decode(self, decoder: json.JSONDecoder) -> Any:
        """Decode the element at pos, reading more text while it may be incomplete."""
        while True:
            try:
                obj, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or not self._maybe_incomplete(exc):
                    raise
                if len(self.buf) - self.pos > MAX_ELEMENT_CHARS or not self.more():
                    raise
                continue
            if end >= len(self.buf) and not self.eof and self.more():
                continue  # a scalar cut at the buffer end would decode short; re-read it whole
            self.pos = end
            return obj

    def _maybe_incomplete(self, exc: json.JSONDecodeError) -> bool:
        return exc.pos >= len(self.buf) - 64 or exc.msg.startswith("Unterminated string")


def iter_parquet(path: str | os.PathLike, batch_size: int = PARQUET_BATCH) -> Iterator[RawRecord]:
    """Rows of a Parquet file as dicts, read batch by batch (nested lists/structs become lists/dicts)."""
    import pyarrow.parquet as pq  # deferred, pyarrow: only for Parquet

    name = str(path)
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError subclasses
        raise SparError(f"{name}: not a readable Parquet file ({_short(exc)})") from None
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_size):
        for data in batch.to_pylist():
            row += 1
            yield RawRecord(name, row, data)

"""The loader's shuffle stage: a pool of open chunks whose QA rows are handed out in random order.

A shard sample is a chunk of one scene's rows (spar_hf.train.rows). The pool keeps up to `size`
chunks decoded at once and draws each next row uniformly from all the rows still waiting in them,
so consecutive rows mix as many scenes as the pool holds, while every image is decoded once per
chunk, not once per row. A chunk leaves the pool when its last row is drawn and the next chunk
enters. Memory is bounded by `size` decoded chunks (`--chunk-frames` images each at most).

Resumption and damage are handled before decoding where possible: rows already used in an
interrupted epoch (`skip`) are never handed out, and a chunk with none left is not decoded; a
sample that cannot be decoded, or a row showing an image that cannot, goes to `handler` (the
loader's skip counter) naming the sample and row, and the other rows carry on.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Iterator

from spar_hf.train.decode import decode_json
from spar_hf.train.rows import Chunk, IncompleteSample, decode_chunk


class BadRow(ValueError):
    """A row whose images cannot be decoded (the message names sample, row and image)."""


def _rows_of(sample: dict[str, Any]) -> int:
    """How many rows a raw sample says it holds (0 when its json cannot say)."""
    raw = sample.get("json")
    try:
        meta = decode_json(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
    except ValueError:
        return 0
    rows = meta.get("rows") if isinstance(meta, dict) else None
    return len(rows) if isinstance(rows, list) else 0


def _open(sample: dict[str, Any], frames_as: str, handler: Callable[[BaseException], bool],
          skip: Callable[[str, str], bool] | None) -> tuple[Chunk, list[int]] | None:
    """Decode a sample (unless every row of it is to be skipped); its usable, not yet used rows."""
    if skip is not None:
        key, url = sample.get("__key__"), sample.get("__url__")
        n = _rows_of(sample)
        if n and all(skip(url, f"{key}/{j}") for j in range(n)):
            return None
    try:
        chunk = decode_chunk(sample, frames_as)
    except (IncompleteSample, ValueError) as exc:
        if not handler(exc):
            raise
        return None
    left = []
    for j in range(len(chunk)):
        if skip is not None and skip(chunk.url, chunk.row_key(j)):
            continue
        why = chunk.unusable(j)
        if why is not None:
            bad = BadRow(why)
            if not handler(bad):
                raise bad
            continue
        left.append(j)
    return (chunk, left) if left else None


def expand_rows(samples: Iterable[dict[str, Any]], *, size: int, rng: random.Random | None, frames_as: str,
                handler: Callable[[BaseException], bool], skip: Callable[[str, str], bool] | None = None
                ) -> Iterator[dict[str, Any]]:
    """QA rows of the samples, drawn at random from up to `size` open chunks (in order when `rng` is None)."""
    source = iter(samples)
    pool: list[tuple[Chunk, list[int]]] = []
    exhausted = False
    size = max(1, size)
    while True:
        while not exhausted and len(pool) < size:
            sample = next(source, None)
            if sample is None:
                exhausted = True
                break
            opened = _open(sample, frames_as, handler, skip)
            if opened is not None:
                pool.append(opened)
        if not pool:
            return
        if rng is None:
            chunk, left = pool[0]
            yield chunk.row(left.pop(0))
            if not left:
                pool.pop(0)
            continue
        pick = rng.randrange(sum(len(left) for _, left in pool))
        for slot, (chunk, left) in enumerate(pool):
            if pick < len(left):
                break
            pick -= len(left)
        left[pick], left[-1] = left[-1], left[pick]
        yield chunk.row(left.pop())
        if not left:
            pool.pop(slot)

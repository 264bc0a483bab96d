"""Group QA rows into WebDataset samples that hold each image once.

A SPAR scene has a few hundred frames and over a thousand QA rows, each showing one to five of
them (more for video), so a sample per row copies every frame into every row that shows it. A
sample here is a chunk of one scene's rows holding the union of their frames once. A chunk is
bounded in frames (the loader decodes a chunk's frames together and keeps them while its rows are
used) and in rows. Rows are ordered by the frames they show before cutting, so rows sharing frames
land in the same chunk: rows are sorted by their rarest-first frame signature, then cut greedily.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

DEFAULT_FRAMES = 32
DEFAULT_ROWS = 1024


@dataclass(frozen=True)
class Chunk:
    """Rows (indices into the file's rows, in sample order) and the distinct frames they show, in first-use order."""

    rows: tuple[int, ...]
    frames: tuple[str, ...]


def _scene_runs(groups: Sequence[str]) -> list[list[int]]:
    """Runs of consecutive rows with the same group (scene) value."""
    runs: list[list[int]] = []
    for i, group in enumerate(groups):
        if runs and groups[runs[-1][0]] == group:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _order(rows: list[int], views: Sequence[Sequence[str]]) -> list[int]:
    """Rows sorted so that rows showing the same frames are adjacent: by their frames, most-shown
    frame first (ties by name), then by row number (stable, deterministic)."""
    uses = Counter(f for r in rows for f in set(views[r]))

    def signature(r: int) -> tuple:
        frames = sorted(set(views[r]), key=lambda f: (-uses[f], f))
        return (tuple((-uses[f], f) for f in frames), r)

    return sorted(rows, key=signature)


def chunk_rows(views: Sequence[Sequence[str]], groups: Sequence[str], max_frames: int = DEFAULT_FRAMES,
               max_rows: int = DEFAULT_ROWS) -> list[Chunk]:
    """Chunks of the rows of one file: never across groups, at most `max_frames` distinct frames
    (a row showing more is a chunk of its own) and `max_rows` rows."""
    chunks: list[Chunk] = []
    for run in _scene_runs(groups):
        current: list[int] = []
        frames: dict[str, None] = {}
        for r in _order(run, views):
            new = [f for f in dict.fromkeys(views[r]) if f not in frames]
            if current and (len(frames) + len(new) > max_frames or len(current) >= max_rows):
                chunks.append(Chunk(tuple(current), tuple(frames)))
                current, frames = [], {}
                new = list(dict.fromkeys(views[r]))
            current.append(r)
            frames.update(dict.fromkeys(new))
        if current:
            chunks.append(Chunk(tuple(current), tuple(frames)))
    return chunks

"""Build a bench config (`bench`, `bench-tiny`, `bench-rgbd`) into one pack.

The val records of the bench tasks in their bench format are the candidates (`spar_hf.builders.sampling`
draws them: ids are the position in the full 400-per-task draw; `bench-tiny` keeps each task's
prefix and the ids). Images that carry a marker are drawn (JPEG q95, 4:4:4 so marker colours stay
clean) and stored per row; an image with no marker is stored byte for byte, once however many
rows show it. A bench is small (20 tasks x 400 rows), so it is one pack: its rows load in id order.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from spar_hf.builders import sampling
from spar_hf.builders.bench_rgbd import hub_rgbd_values
from spar_hf.builders.qa import FrameFiles, Reject, colour_paths, rgbd_of
from spar_hf.builders.spar import (
    BENCH_JPEG_QUALITY,
    CONFIGS,
    SPATIALFORGE_SOURCE,
    bench_row,
    member_name,
    normalise_markers,
    stored_features,
)
from spar_hf.errors import SparError
from spar_hf.layout.reader import Entry, Problem, SparLayout
from spar_hf.markers import draw_on, placements
from spar_hf.packs import METADATA_ROWS_PER_GROUP, Metadata, PackContent, write_pack
from spar_hf.utils.outputs import file_sha256

RGBD_ROWS_PER_GROUP = 16  # bench-rgbd rows buffered before a write: ~40 MB of depth arrays


@dataclass
class BenchResult:
    rows: int
    n_in: int
    rejects: list[Reject]
    problems: list[Problem]  # unreadable val lines (records, rejected)
    notes: list[Problem]  # file-level reports
    not_drawn: int
    task_counts: dict[str, int]
    bytes: int = 0
    sha256: str = ""
    member_bytes: int = 0
    rejects_by_reason: Counter = field(default_factory=Counter)


def drawn_images(paths: list[Path], names: list[str], markers: dict[str, Any], task: str,
                 bench_id: int) -> list[tuple[str, Path | bytes]]:
    """(member name, file or bytes) per image: drawn where a marker sits, else the layout file as is."""

    marks = placements(markers, task)
    out: list[tuple[str, Path | bytes]] = []
    for i, (path, name) in enumerate(zip(paths, names)):
        mine = [m for m in marks if m.image_index == i]
        if not mine:
            out.append((name, path))
            continue
        with Image.open(path) as img:
            drawn = draw_on(img, mine)
        buf = io.BytesIO()
        drawn.save(buf, format="JPEG", quality=BENCH_JPEG_QUALITY, subsampling=0)
        out.append((f"marked/{bench_id}/{i}.jpg", buf.getvalue()))
    return out


def hub_rgbd(files: FrameFiles, entry: Entry) -> dict[str, Any]:
    """The hub SPAR-Bench-RGBD columns of a record (depth in metres as arrays, flattened 4x4 pose and
    intrinsics; spar_hf.builders.bench_rgbd) plus our 3x3 `intrinsics`: values in the row, no depth file in the pack."""

    values, depth_files = rgbd_of(files, entry)
    depth_png, sizes = [], []
    for path, colour in zip(depth_files.values(), colour_paths(files, entry)):
        with Image.open(path) as img:
            depth_png.append(np.asarray(img))
        with Image.open(colour) as img:
            sizes.append(img.size)
    return {**hub_rgbd_values(depth_png, values.pose, values.intrinsics, sizes), "intrinsics": values.intrinsics}


def build_bench(spar_dir: str | Path, config: str, path: str | Path,
                on_row: Callable[[], None] | None = None) -> BenchResult:
    """Draw `config`'s rows from the layout's val split and write its pack to `path` (when it has rows)."""
    spec = CONFIGS[config]
    layout = SparLayout(spar_dir)
    files = FrameFiles(layout)
    problems: list[Problem] = []
    notes: list[Problem] = []

    def report(problem: Problem) -> None:
        (problems if problem.line is not None else notes).append(problem)

    entries: dict[tuple[str, int], Entry] = {}
    candidates = []
    rejects: list[Reject] = []
    n_candidates = 0
    for source in [s for s in layout.sources() if s != SPATIALFORGE_SOURCE]:
        for entry in layout.iter_records(source=source, split=sampling.BENCH_SPLIT, problems=report):
            if not sampling.is_bench_candidate(entry.task, entry.format, entry.split):
                continue
            n_candidates += 1
            try:
                colour_paths(files, entry)
                normalise_markers(entry.record.markers)
                if spec.rgbd:
                    rgbd_of(files, entry)
            except (SparError, ValueError) as exc:
                rejects.append(Reject(config, str(exc), str(entry.file), entry.line, entry.record.id))
                continue
            ref = (str(entry.file), entry.line)
            entries[ref] = entry
            rec = entry.record
            candidates.append(sampling.Candidate(f"{entry.source}/{rec.id}", rec.task, f"{entry.source}/{rec.scene}",
                                                 rec.answer, ref))
    drawn = sampling.select_bench(candidates, sampling.BENCH_PER_TASK)
    ids = {cand.ref: i for i, cand in enumerate(drawn)}
    if spec.per_task < sampling.BENCH_PER_TASK:
        drawn = sampling.tiny_subset(drawn, spec.per_task)
    members: dict[str, Path | bytes] = {}
    rows = []
    tasks: Counter = Counter()
    for cand in drawn:
        entry = entries[cand.ref]
        record = entry.record
        names = [member_name(entry.source, p) for p in record.images]
        images = drawn_images(colour_paths(files, entry), names, record.markers, record.task, ids[cand.ref])
        members.update(images)
        rows.append((entry, bench_row(ids[cand.ref], record, [name for name, _ in images])))
        tasks[record.task] += 1
        if on_row is not None:
            on_row()
    result = BenchResult(len(rows), n_candidates + len(problems), rejects, problems, notes,
                         len(candidates) - len(drawn), dict(tasks))
    if rows:
        # bench-rgbd's depth is float arrays (the hub's form: 1.2 MB a 640x480 view): made as the member is
        # written, RGBD_ROWS_PER_GROUP at a time, never all at once
        made = ({**row, **hub_rgbd(files, entry)} for entry, row in rows) if spec.rgbd else (row for _, row in rows)
        metadata = Metadata(stored_features(spec), made, RGBD_ROWS_PER_GROUP if spec.rgbd else METADATA_ROWS_PER_GROUP)
        result.bytes = write_pack(path, PackContent(members, {config: metadata}))
        result.sha256 = file_sha256(path)
        result.member_bytes = sum(len(m) if isinstance(m, bytes) else Path(m).stat().st_size for m in members.values())
    return result

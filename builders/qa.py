"""Build one pack of the `7m` family (`7m`, `7m-rgbd`) or of `spatialforge` from its planned lines.

`build_pack(job)` is the unit of parallel work (a process of `build --workers N`, or a Ray task):
it re-reads its lines (`spar_hf.layout.reader.read_entry`), turns each record into a row of every
config of the job or into a reject with the reason, and writes one zip holding each file its rows
name once, plus one metadata member per config (`spar_hf.packs`). It touches nothing else, so packs
build in any order on any machine and the result is the same bytes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spar_hf.builders.spar import CONFIGS, RGBD, member_name, qa_row, rgbd_values, spatialforge_row, stored_features
from spar_hf.outputs import file_sha256
from spar_hf.errors import SparError
from spar_hf.layout.reader import Entry, Problem, QAFile, SparLayout, read_entry
from spar_hf.packs import PackContent, metadata_bytes, write_pack


@dataclass
class PackJob:
    """What one pack needs: the layout, the configs sharing the pack, the split's files and the lines."""

    spar_dir: str
    configs: tuple[str, ...]
    name: str  # relative to HF_DIR
    path: str  # where to write it (absolute)
    files: list[QAFile]
    refs: list[tuple[int, int, int]]  # (file index, offset, line)


@dataclass
class Reject:
    config: str
    reason: str
    file: str
    line: int
    record_id: str | None


@dataclass
class PackResult:
    """What a pack holds: rows per config, rejects in line order, its bytes and checksum."""

    name: str
    rows: dict[str, int]
    rejects: list[Reject]
    task_counts: dict[str, dict[str, int]]  # config -> task -> rows
    bytes: int
    sha256: str
    member_bytes: int  # the distinct files it stores (what the layout holds of them)
    problems: list[Problem] = field(default_factory=list)  # lines that no longer parse (changed since the scan)


def colour_paths(layout: SparLayout, entry: Entry) -> list[Path]:
    """Absolute colour image paths; SparError naming the missing ones."""
    record = entry.record
    if not record.images:
        raise SparError("record has no images")
    paths = [layout.image_file(entry.source, p) for p in record.images]  # SparError for a path leaving images/
    missing = [p for p, full in zip(record.images, paths) if not full.is_file()]
    if missing:
        raise SparError(f"missing image(s): {', '.join(missing)}")
    return paths


def rgbd_of(layout: SparLayout, entry: Entry) -> tuple[RGBD, dict[str, Path]]:
    """Depth member names, poses and intrinsics per image, and the depth files; SparError with the first problem."""
    frames = layout.frames(entry.source)
    root = layout.images_root(entry.source)
    names, files, poses, intrinsics = [], {}, [], []
    for image in entry.record.images:
        try:
            path = frames.depth_path(image)
        except ValueError as exc:
            raise SparError(f"no RGBD for {image}: {exc}") from None
        if not path.is_file():
            raise SparError(f"missing depth: {path.relative_to(root)}")
        name = member_name(entry.source, str(path.relative_to(root)))
        names.append(name)
        files[name] = path
        poses.append(frames.pose(image))
        intrinsics.append(frames.intrinsics(image))
    return rgbd_values(names, poses, intrinsics), files


def _row(layout: SparLayout, entry: Entry, rgbd: bool, members: dict[str, Path]) -> dict[str, Any]:
    """The stored row of `entry` for a config (rgbd or not); adds the files it names to `members`."""
    record = entry.record
    paths = colour_paths(layout, entry)
    names = [member_name(entry.source, p) for p in record.images]
    if record.source == "spatialforge":
        row = spatialforge_row(record, names)
        extra: dict[str, Path] = {}
    elif rgbd:
        values, extra = rgbd_of(layout, entry)
        row = qa_row(record, names, values)
    else:
        row, extra = qa_row(record, names), {}
    members.update(zip(names, paths))
    members.update(extra)
    return row


def build_pack(job: PackJob) -> PackResult:
    """Read the job's lines, make rows or rejects for each config, write the pack (see module docstring)."""
    layout = SparLayout(job.spar_dir)
    problems: list[Problem] = []
    rows: dict[str, list[dict[str, Any]]] = {c: [] for c in job.configs}
    rejects: list[Reject] = []
    tasks: dict[str, Counter] = {c: Counter() for c in job.configs}
    members: dict[str, Path] = {}
    handles: dict[int, Any] = {}
    try:
        for index, offset, line in job.refs:
            qa_file = job.files[index]
            handle = handles.get(index) or handles.setdefault(index, open(qa_file.path, "rb"))
            entry = read_entry(qa_file, handle, offset, line, problems.append)
            if entry is None:
                continue
            for config in job.configs:
                try:
                    rows[config].append(_row(layout, entry, CONFIGS[config].rgbd, members))
                    tasks[config][entry.task] += 1
                except (SparError, ValueError) as exc:
                    rejects.append(Reject(config, str(exc), str(entry.file), entry.line, entry.record.id))
    finally:
        for handle in handles.values():
            handle.close()
    metadata = {c: metadata_bytes(stored_features(CONFIGS[c]), rows[c]) for c in job.configs if rows[c]}
    content = PackContent(dict(members), metadata)
    size = write_pack(job.path, content) if metadata else 0
    return PackResult(
        name=job.name,
        rows={c: len(rows[c]) for c in job.configs},
        rejects=rejects,
        task_counts={c: dict(tasks[c]) for c in job.configs},
        bytes=size,
        sha256=file_sha256(job.path) if metadata else "",
        member_bytes=sum(p.stat().st_size for p in members.values()),
        problems=problems,
    )


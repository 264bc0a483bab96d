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
from typing import Any, Callable

from spar_hf.builders.spar import (CONFIGS, RGBD, member_name, qa_row, rgbd_columns, rgbd_values, spatialforge_row,
                                   stored_features)
from spar_hf.errors import SparError
from spar_hf.layout.reader import Entry, Problem, QAFile, SparLayout, read_entry
from spar_hf.packs import Metadata, PackContent, write_pack
from spar_hf.utils.outputs import file_sha256


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


class FrameFiles:
    """A layout's per-image lookups, each done once: a pack's rows show the same few hundred frames over
    and over (a scene's 1,500 rows, 4 images each), and checking a path or reading a pose is per image."""

    def __init__(self, layout: SparLayout):
        self.layout = layout
        self._colour: dict[tuple[str, str], Path | SparError] = {}
        self._rgbd: dict[tuple[str, str], tuple[str, Path, Any, Any] | SparError] = {}

    def colour(self, source: str, image: str) -> Path | None:
        """The image's file, None when it is not on disk; SparError for a path leaving images/."""
        return self._once(self._colour, (source, image), self._find_colour)

    def rgbd(self, source: str, image: str) -> tuple[str, Path, Any, Any]:
        """(depth member name, depth file, pose, intrinsics) of an image; SparError with the first problem."""
        return self._once(self._rgbd, (source, image), self._read_rgbd)

    @staticmethod
    def _once(cache: dict, key: tuple[str, str], look: Callable[[str, str], Any]) -> Any:
        """`look(*key)`, computed once per key; a SparError is remembered and raised again each time."""
        if key not in cache:
            try:
                cache[key] = look(*key)
            except SparError as exc:
                cache[key] = exc
        found = cache[key]
        if isinstance(found, SparError):
            raise found
        return found

    def _find_colour(self, source: str, image: str) -> Path | None:
        path = self.layout.image_file(source, image)
        return path if path.is_file() else None

    def _read_rgbd(self, source: str, image: str) -> tuple[str, Path, Any, Any]:
        frames = self.layout.frames(source)
        root = self.layout.images_root(source)
        try:
            path = frames.depth_path(image)
        except ValueError as exc:
            raise SparError(f"no RGBD for {image}: {exc}") from None
        if not path.is_file():
            raise SparError(f"missing depth: {path.relative_to(root)}")
        return member_name(source, str(path.relative_to(root))), path, frames.pose(image), frames.intrinsics(image)


def colour_paths(files: FrameFiles, entry: Entry) -> list[Path]:
    """Absolute colour image paths; SparError naming the missing ones (or a path leaving images/)."""
    record = entry.record
    if not record.images:
        raise SparError("record has no images")
    paths = [files.colour(entry.source, p) for p in record.images]
    missing = [p for p, full in zip(record.images, paths) if full is None]
    if missing:
        raise SparError(f"missing image(s): {', '.join(missing)}")
    return paths


def rgbd_of(files: FrameFiles, entry: Entry) -> tuple[RGBD, dict[str, Path]]:
    """Depth member names, poses and intrinsics per image, and the depth files; SparError with the first problem."""
    looked = [files.rgbd(entry.source, image) for image in entry.record.images]
    values = rgbd_values([name for name, _, _, _ in looked], [pose for _, _, pose, _ in looked], [k for _, _, _, k in looked])
    return values, {name: path for name, path, _, _ in looked}


def _rows(files: FrameFiles, entry: Entry, configs: tuple[str, ...], members: dict[str, Path],
          ) -> dict[str, dict[str, Any] | Exception]:
    """The stored row of `entry` for each config, or the exception that is its reject reason; the files
    the rows name go into `members`."""
    record = entry.record
    try:
        paths = colour_paths(files, entry)
        names = [member_name(entry.source, p) for p in record.images]
        base = spatialforge_row(record, names) if record.source == "spatialforge" else qa_row(record, names)
    except (SparError, ValueError) as exc:
        return dict.fromkeys(configs, exc)
    out: dict[str, dict[str, Any] | Exception] = {}
    for config in configs:
        if not CONFIGS[config].rgbd:
            out[config] = base
            members.update(zip(names, paths))
            continue
        try:
            values, depth = rgbd_of(files, entry)
        except (SparError, ValueError) as exc:
            out[config] = exc
            continue
        out[config] = {**base, **rgbd_columns(values)}
        members.update(zip(names, paths))
        members.update(depth)
    return out


def build_pack(job: PackJob) -> PackResult:
    """Read the job's lines, make rows or rejects for each config, write the pack (see module docstring)."""
    files = FrameFiles(SparLayout(job.spar_dir))
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
            for config, row in _rows(files, entry, job.configs, members).items():
                if isinstance(row, Exception):
                    rejects.append(Reject(config, str(row), str(entry.file), entry.line, entry.record.id))
                else:
                    rows[config].append(row)
                    tasks[config][entry.task] += 1
    finally:
        for handle in handles.values():
            handle.close()
    metadata = {c: Metadata(stored_features(CONFIGS[c]), rows[c]) for c in job.configs if rows[c]}
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


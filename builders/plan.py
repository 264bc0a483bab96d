"""Plan a split's packs: group its QA lines by what they share, then fill packs with whole groups.

One pass reads every QA line of the split once (`scan`): it keeps, per group (a scene, or for
SpatialForge the record's first image), where each line is (file, byte offset, line number) and the
bytes of the distinct files its records name; unreadable lines are kept as problems. Nothing else
of a record is held, so the pass stays small at SPAR-7M scale (7M lines: three integers each,
plus one entry per distinct frame). `plan_packs` then cuts the sorted groups into packs of at most
`max_bytes` of distinct files (a group is never split: its rows share frames, and one pack must hold
every frame its rows name), and each pack is built on its own (`builders.qa.build_pack`) by
re-reading exactly its lines.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from spar_hf.layout.reader import Entry, Problem, QAFile, SparLayout, scan_qa_file

MemberFn = Callable[[Entry], Iterable[tuple[str, Path]]]  # entry -> (pack member name, file on disk)
GroupFn = Callable[[Entry], str]


@dataclass
class Group:
    """The lines of one group (file index, byte offset, line number, flattened) and its distinct files' bytes."""

    source: str
    key: str
    refs: array = field(default_factory=lambda: array("q"))
    members: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.refs) // 3

    @property
    def bytes(self) -> int:
        return sum(self.members.values())


@dataclass
class Scan:
    """A split read once: its files, groups in sorted order, and the lines that are no records."""

    split: str
    files: list[QAFile]
    groups: list[Group]
    problems: list[Problem]  # unreadable lines (each an input record, rejected) in file order
    notes: list[Problem]  # file-level reports (a wrong line count, a misnamed file): not records

    @property
    def n_in(self) -> int:
        return sum(g.rows for g in self.groups) + len(self.problems)


@dataclass
class PackPlan:
    """One pack to build: its name relative to HF_DIR and the groups it holds, in order."""

    name: str
    split: str
    groups: list[Group]

    @property
    def rows(self) -> int:
        return sum(g.rows for g in self.groups)

    @property
    def bytes(self) -> int:
        return sum(g.bytes for g in self.groups)

    def refs(self) -> list[tuple[int, int, int]]:
        """(file index, offset, line) of every row, groups in order, each group in reading order."""
        out = []
        for group in self.groups:
            r = group.refs
            out.extend((r[i], r[i + 1], r[i + 2]) for i in range(0, len(r), 3))
        return out


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except (OSError, ValueError):
        return 0  # missing (the pack rejects its rows) or an unusable name


def scan(layout: SparLayout, sources: list[str], split: str, group_of: GroupFn, members_of: MemberFn) -> Scan:
    """Read every QA line of `split` in `sources` once (see the module docstring)."""
    problems: list[Problem] = []
    notes: list[Problem] = []

    def report(problem: Problem) -> None:
        (problems if problem.line is not None else notes).append(problem)

    files: list[QAFile] = []
    for source in sources:
        files.extend(layout.files(source=source, split=split, problems=report))
    groups: dict[tuple[str, str], Group] = {}
    for index, qa_file in enumerate(files):
        for offset, entry in scan_qa_file(qa_file, report):
            key = (entry.source, group_of(entry))
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(*key)
            group.refs.extend((index, offset, entry.line))
            for name, path in members_of(entry):
                if name not in group.members:
                    group.members[name] = _size(path)
    return Scan(split, files, [groups[k] for k in sorted(groups)], problems, notes)


def plan_packs(groups: list[Group], max_bytes: int, folder: str, hf_split: str) -> list[PackPlan]:
    """Consecutive groups into packs of at most `max_bytes` distinct file bytes (a bigger group alone);
    names `<folder>/<hf_split>/<hf_split>-NNNNN-of-NNNNN.zip`."""
    parts: list[list[Group]] = []
    size = 0
    for group in groups:
        if parts and parts[-1] and size + group.bytes <= max_bytes:
            parts[-1].append(group)
            size += group.bytes
        else:
            parts.append([group])
            size = group.bytes
    n = len(parts)
    return [PackPlan(f"{folder}/{hf_split}/{hf_split}-{i:05d}-of-{n:05d}.zip", hf_split, part)
            for i, part in enumerate(parts)]

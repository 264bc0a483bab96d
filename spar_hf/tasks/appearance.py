"""appearance_order (video): the order in which listed object categories first appear (paper 7.5, eq. 10).

Objects are named by label, so a label's first appearance is the first clip frame showing any
of its instances (as VSI-Bench does); that is well defined even when a label has several
instances. The listed labels must first appear in different clip frames (ties have no order).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import (
    FILL_LIST, RecordMaker, clip_frames, frame_name, object_info, per_task_limit, pick, seen_positions, video_paths,
)
from spar_hf.tasks.registry import TaskSpec

TASK = "appearance_order"
QUESTIONS = (
    "In what order do these objects first appear in the video: {names}?",
    "Sort the following objects by the time they are first seen in the video: {names}.",
    "Which of {names} shows up first in the video, and in what order do the others follow?",
)


def _sentence(ordered: list[tuple[str, int]]) -> str:
    parts = [f"the {label} ({frame_name(pos)})" for label, pos in ordered]
    head = f"The {ordered[0][0]} appears first ({frame_name(ordered[0][1])})"
    if len(parts) == 2:
        return f"{head}, then {parts[1]}."
    return f"{head}, then {', then '.join(parts[1:-1])}, and finally {parts[-1]}."


def generate(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    if not records.video:
        return []
    first: dict[str, int] = {}
    instances: dict[str, list[int]] = {}
    for oid, positions in sorted(seen_positions(records.video).items()):
        label = object_info(records, oid).label
        first[label] = min(first.get(label, positions[0]), positions[0])
        instances.setdefault(label, []).append(oid)
    if len(set(first.values())) < 3:
        return []
    maker = RecordMaker(records, TASK)
    images = video_paths(records)
    limit = per_task_limit(config)
    out: list[QARecord] = []
    asked: set[tuple[str, ...]] = set()
    labels = sorted(first)
    for _ in range(limit * 4):
        if len(out) >= 2 * limit:
            break
        k = int(rng.integers(3, 5))
        chosen = [str(x) for x in rng.choice(labels, size=min(k, len(labels)), replace=False)]
        if len({first[x] for x in chosen}) < len(chosen) or tuple(sorted(chosen)) in asked:
            continue
        asked.add(tuple(sorted(chosen)))
        ordered = sorted(((x, first[x]) for x in chosen), key=lambda item: item[1])
        meta = {
            "frames": clip_frames(records),
            "objects": [object_info(records, oid).meta() for x in chosen for oid in instances[x]],
            "first_position": {x: first[x] for x in chosen},
            "value": [label for label, _ in ordered],
        }
        question = pick(rng, QUESTIONS).format(names=", ".join(chosen))
        out.append(maker.make("fill", f"{question} {FILL_LIST}", ", ".join(label for label, _ in ordered), images, meta))
        out.append(maker.make("sentence", question, _sentence(ordered), images, meta))
    return out


def _answer_order(answer: str, labels: list[str]) -> list[str]:
    """Labels in the order they are first mentioned in the answer; longer labels claim their span
    first, so "table" is not found inside "table lamp"."""
    claimed: list[tuple[int, int]] = []
    hits = []
    for label in sorted(labels, key=len, reverse=True):
        for m in re.finditer(rf"\b{re.escape(label)}\b", answer, flags=re.IGNORECASE):
            if not any(a <= m.start() < b for a, b in claimed):
                claimed.append((m.start(), m.end()))
                hits.append((m.start(), label))
                break
    return [label for _, label in sorted(hits)]


def verify(record: QARecord, lookup: Any = None) -> list[str]:
    meta = record.meta
    first = {k: int(v) for k, v in meta["first_position"].items()}
    expected = sorted(first, key=lambda k: first[k])
    findings = []
    if len(set(first.values())) < len(first):
        findings.append("ambiguous:tie: two listed labels first appear in the same frame")
    if expected != list(meta["value"]):
        findings.append(f"mismatch: meta value {meta['value']} but first appearances give {expected}")
    if record.format == "fill":
        got = [s.strip() for s in record.answer.split(",")]
    else:
        got = _answer_order(record.answer, expected)
    if got != expected:
        findings.append(f"mismatch: answer order {got} but first appearances give {expected}")
    return findings


TASKS = [TaskSpec(name=TASK, family="appearance", view="video", formats=("fill", "sentence"), generate=generate, verify=verify)]

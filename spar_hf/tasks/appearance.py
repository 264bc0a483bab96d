"""appearance_order (video): the order in which listed objects first appear (paper 7.5, eq. 10).

Objects are named by label, so only labels carried by one object in the scene are used; the
listed objects must first appear in different clip frames (ties have no order).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import FILL_LIST, RecordMaker, cfg, clip_frames, frame_name, object_info, pick, scene_objects, seen_positions, unique_labels, video_paths
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
    seen = seen_positions(records.video)
    unique = unique_labels(scene_objects(records))
    first = {oid: pos[0] for oid, pos in seen.items() if object_info(records, oid).label in unique}
    if len(set(first.values())) < 3:
        return []
    maker = RecordMaker(records, TASK)
    images = video_paths(records)
    limit = int(cfg(config, "max_per_task", 8))
    out: list[QARecord] = []
    asked: set[tuple[int, ...]] = set()
    ids = sorted(first)
    for _ in range(limit * 4):
        if len(out) >= 2 * limit:
            break
        k = int(rng.integers(3, 5))
        chosen = [int(i) for i in rng.choice(ids, size=min(k, len(ids)), replace=False)]
        if len({first[i] for i in chosen}) < len(chosen) or tuple(sorted(chosen)) in asked:
            continue
        asked.add(tuple(sorted(chosen)))
        ordered_ids = sorted(chosen, key=lambda i: first[i])
        ordered = [(object_info(records, i).label, first[i]) for i in ordered_ids]
        names = ", ".join(object_info(records, i).label for i in chosen)
        meta = {
            "frames": clip_frames(records),
            "objects": [object_info(records, i).meta() for i in chosen],
            "first_position": {str(i): first[i] for i in chosen},
            "value": [label for label, _ in ordered],
        }
        question = pick(rng, QUESTIONS).format(names=names)
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
    labels = {str(o["id"]): o["label"] for o in meta["objects"]}
    first = {k: int(v) for k, v in meta["first_position"].items()}
    expected = [labels[k] for k in sorted(first, key=lambda k: first[k])]
    findings = []
    if len(set(first.values())) < len(first):
        findings.append("ambiguous:tie: two listed objects first appear in the same frame")
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

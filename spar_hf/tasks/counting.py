"""obj_count (video): how many instances of a label the scene holds (paper 7.5 "Obj count").

Only labels with at least two instances are asked (paper). A label is asked only when every one
of its instances is visible somewhere in the clip, so the count is answerable from the video.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import (
    FILL_NUMBER, RecordMaker, clip_frames, numbers_in, per_task_limit, pick, scene_objects, seen_positions, skip,
    video_paths,
)
from spar_hf.tasks.registry import TaskSpec

TASK = "obj_count"
MIN_INSTANCES = 2
QUESTIONS = (
    "How many {label} instances appear in this room?",
    "Count the {label} objects in the scene shown by the video. How many are there?",
    "Watching the whole video, how many {label}s can you find in the room?",
)
ANSWERS = (
    "There are {n} {label} instances in the room.",
    "The room contains {n} {label} objects.",
)


def generate(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    if not records.video:
        return []
    seen = seen_positions(records.video)
    by_label: dict[str, list] = {}
    for obj in scene_objects(records):
        by_label.setdefault(obj.label, []).append(obj)
    maker = RecordMaker(records, TASK)
    images = video_paths(records)
    out: list[QARecord] = []
    limit = per_task_limit(config)
    multi = [lab for lab in sorted(by_label) if len(by_label[lab]) >= MIN_INSTANCES]
    labels = [lab for lab in multi if all(o.id in seen for o in by_label[lab])]
    skip(config, "obj_count: unseen_instance", len(multi) - len(labels))
    for label in labels[:limit]:
        objs = by_label[label]
        meta = {"frames": clip_frames(records), "objects": [o.meta() for o in objs], "label": label, "value": len(objs)}
        question = pick(rng, QUESTIONS).format(label=label)
        out.append(maker.make("fill", f"{question} {FILL_NUMBER}", str(len(objs)), images, meta))
        out.append(maker.make("sentence", question, pick(rng, ANSWERS).format(n=len(objs), label=label), images, meta))
    return out


def verify(record: QARecord, lookup: Any = None) -> list[str]:
    meta = record.meta
    n = sum(1 for o in meta.get("objects", []) if o["label"] == meta.get("label"))
    if n != meta.get("value"):
        return [f"mismatch: meta lists {n} {meta.get('label')} objects, value says {meta.get('value')}"]
    if n not in [int(v) for v in numbers_in(record.answer)]:
        return [f"mismatch: answer {record.answer!r} does not state {n}"]
    return []


TASKS = [TaskSpec(name=TASK, family="counting", view="video", formats=("fill", "sentence"), generate=generate, verify=verify)]

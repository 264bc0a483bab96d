"""obj_frame_locate (video): which of the listed frames also show the object boxed in a reference
frame (paper 7.5 "Obj frame location").

The object is marked with a red box in its reference frame (`bbox_img_idx` = that frame's clip
position), so duplicate labels are fine. Candidates are the other frames that show it plus up to
`MAX_DISTRACTORS` frames that do not; the answer lists the true ones.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import (
    RecordMaker, clip_frames, frame_name, norm_box, object_info, per_task_limit, pick, seen_positions, video_paths,
)
from spar_hf.tasks.registry import TaskSpec

TASK = "obj_frame_locate"
MAX_DISTRACTORS = 3
QUESTIONS = (
    "The {label} (red bbox) is visible in {ref}. Which of these frames also show this same {label}: {cands}?",
    "In {ref} a {label} is marked with a red box. Among {cands}, in which frames does it appear again?",
)


def _frames_text(positions: list[int]) -> str:
    names = [frame_name(p) for p in positions]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def generate(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    if not records.video:
        return []
    seen = seen_positions(records.video)
    n_frames = len(records.video)
    maker = RecordMaker(records, TASK)
    images = video_paths(records)
    limit = per_task_limit(config)
    candidates = [oid for oid in sorted(seen) if len(seen[oid]) >= 2]
    rng.shuffle(candidates)
    out: list[QARecord] = []
    for oid in candidates[:limit]:
        positions = seen[oid]
        ref = int(positions[int(rng.integers(len(positions)))])
        truth = [p for p in positions if p != ref]
        absent = [p for p in range(n_frames) if p not in positions]
        n_dis = min(MAX_DISTRACTORS, len(absent))
        distractors = [int(p) for p in rng.choice(absent, size=n_dis, replace=False)] if n_dis else []
        cands = sorted(truth + distractors)
        info = object_info(records, oid)
        rec = records.video[ref]
        markers = {"red_bbox": [norm_box(rec.visible[oid], rec)], "bbox_img_idx": [[ref]]}
        meta = {
            "frames": clip_frames(records),
            "objects": [info.meta()],
            "reference_position": ref,
            "candidate_positions": cands,
            "seen_positions": list(positions),
            "value": truth,
        }
        question = pick(rng, QUESTIONS).format(label=info.label, ref=frame_name(ref), cands=_frames_text(cands))
        answer = f"The {info.label} also appears in {_frames_text(truth)}."
        out.append(maker.make("sentence", question, answer, images, meta, markers))
    return out


def verify(record: QARecord, lookup: Any = None) -> list[str]:
    meta = record.meta
    seen = set(meta["seen_positions"])
    expected = sorted(p for p in meta["candidate_positions"] if p in seen and p != meta["reference_position"])
    got = sorted(int(n) - 1 for n in re.findall(r"Frame-(\d+)", record.answer))
    if got != expected:
        return [f"mismatch: answer names frames {[g + 1 for g in got]}, visibility gives {[e + 1 for e in expected]}"]
    return []


TASKS = [TaskSpec(name=TASK, family="frame_locate", view="video", formats=("sentence",), generate=generate, verify=verify)]

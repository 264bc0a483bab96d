"""Video distance tasks: distance_prediction_oo_video and distance_infer_center_oo_video.

Both use 3D box centres of objects visible somewhere in the clip. Pairs whose 3D boxes overlap
are skipped; so are distances (or distance differences) under 0.1 m (paper 7.5).
Markers follow the release's draw_marker.py: distance_prediction_oo_video marks the two objects with
`red_point` / `blue_point` (labels unique in the scene as well), `point_img_idx` [[red, blue]];
distance_infer_center_oo_video marks anchor and candidates with `point_list` [[anchor, first,
second]] (the release reads `point_list[0]`), drawn blue and named objectA, object0, object1 in the
images, which is how the question names them. Each point sits on the clip frame where the object's
box is largest among those whose marker point shows the object; the three objects carry distinct
labels so the answer can name the winner.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import (
    CENTRE_NOTE, FILL_NAME, FILL_NUMBER, ObjectInfo, RELATION_THRESHOLD_M, RecordMaker,
    boxes_overlap, check_number, clip_frames, fmt_num, norm_point, numeric_options, object_info, per_task_limit, pick,
    point_view, scene_objects, seen_positions, select_question, selected_option, skip, unique_labels, video_paths,
)
from spar_hf.tasks.registry import TaskSpec

DIST_TASK = "distance_prediction_oo_video"
INFER_TASK = "distance_infer_center_oo_video"
DIST_QUESTIONS = (
    "Across the video, how far apart are the {a} (red point) and the {b} (blue point)?",
    "What is the distance in meters between the {a} (red point) and the {b} (blue point) seen in this video?",
    "Estimate the straight-line distance between the {a} (red point) and the {b} (blue point) in the video.",
)
DIST_ANSWERS = (
    "The {a} and the {b} are about {d} meters apart.",
    "The distance between the {a} and the {b} is {d} meters.",
)
INFER_QUESTIONS = (
    "Which is {rel} the {a} (objectA): the {b} (object0) or the {c} (object1)?",
    "Between the {b} (object0) and the {c} (object1), which object is {rel} the {a} (objectA)?",
)
REL = {"closer": "closer to", "farther": "farther from"}


def _distance(a: ObjectInfo, b: ObjectInfo) -> float:
    return float(np.linalg.norm(a.center - b.center))


def generate_distance(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    if not records.video:
        return []
    seen = seen_positions(records.video)
    unique = unique_labels(scene_objects(records))
    objs = [object_info(records, oid) for oid in sorted(seen)]
    objs = [o for o in objs if o.label in unique]
    views = {o.id: point_view(records.video, o.id) for o in objs}
    skip(config, f"{DIST_TASK}: marker_occluded", sum(v is None for v in views.values()))
    objs = [o for o in objs if views[o.id] is not None]
    pairs = [(a, b) for a, b in itertools.combinations(objs, 2) if not boxes_overlap(a, b) and _distance(a, b) >= RELATION_THRESHOLD_M]
    order = rng.permutation(len(pairs))
    maker = RecordMaker(records, DIST_TASK)
    images = video_paths(records)
    out: list[QARecord] = []
    for k in order[: per_task_limit(config)]:
        a, b = pairs[k]
        if rng.random() < 0.5:
            a, b = b, a
        dist = _distance(a, b)
        meta = {"frames": clip_frames(records), "objects": [a.meta(), b.meta()], "value": dist}
        (pa, va), (pb, vb) = views[a.id], views[b.id]
        markers = {"red_point": [norm_point(va, records.video[pa])], "blue_point": [norm_point(vb, records.video[pb])],
                   "point_img_idx": [[pa, pb]]}
        q = pick(rng, DIST_QUESTIONS).format(a=a.label, b=b.label)
        out.append(maker.make("fill", f"{q} {CENTRE_NOTE} {FILL_NUMBER}", fmt_num(dist), images, meta, markers))
        options, letter = numeric_options(dist, rng)
        out.append(maker.make("select", select_question(q, options), letter, images, meta, markers))
        out.append(maker.make("sentence", f"{q} {CENTRE_NOTE}", pick(rng, DIST_ANSWERS).format(a=a.label, b=b.label, d=fmt_num(dist)),
                              images, meta, markers))
    return out


def verify_distance(record: QARecord, lookup: Any = None) -> list[str]:
    a, b = record.meta["objects"]
    dist = float(np.linalg.norm(np.subtract(a["center"], b["center"])))
    findings = check_number(record, dist)
    if dist < RELATION_THRESHOLD_M:
        findings.append(f"ambiguous:close: objects only {dist:.2f} m apart")
    return findings


def generate_infer(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    if not records.video:
        return []
    seen = seen_positions(records.video)
    views = {oid: point_view(records.video, oid) for oid in sorted(seen)}
    skip(config, f"{INFER_TASK}: marker_occluded", sum(v is None for v in views.values()))
    objs = [object_info(records, oid) for oid in sorted(seen) if views[oid] is not None]
    limit = per_task_limit(config)
    triples: list[tuple[ObjectInfo, ObjectInfo, ObjectInfo]] = []
    tried: set[tuple[int, int, int]] = set()
    for _ in range(limit * 30 if len(objs) >= 3 else 0):
        if len(triples) >= limit:
            break
        anchor, b, c = (objs[i] for i in rng.choice(len(objs), size=3, replace=False))
        key = (anchor.id, min(b.id, c.id), max(b.id, c.id))
        if key in tried:
            continue
        tried.add(key)
        if len({anchor.label, b.label, c.label}) < 3 or boxes_overlap(anchor, b) or boxes_overlap(anchor, c) or boxes_overlap(b, c):
            continue
        if abs(_distance(anchor, b) - _distance(anchor, c)) < RELATION_THRESHOLD_M:
            continue
        triples.append((anchor, b, c))
    maker = RecordMaker(records, INFER_TASK)
    images = video_paths(records)
    out: list[QARecord] = []
    for anchor, b, c in triples:
        rel = "closer" if rng.random() < 0.5 else "farther"
        db, dc = _distance(anchor, b), _distance(anchor, c)
        winner = b if (db < dc) == (rel == "closer") else c
        points, idx = [], []
        for obj in (anchor, b, c):
            pos, view = views[obj.id]
            points.append(norm_point(view, records.video[pos]))
            idx.append(pos)
        markers = {"point_list": [points], "point_img_idx": [idx]}
        meta = {"frames": clip_frames(records), "objects": [anchor.meta(), b.meta(), c.meta()], "relation": rel,
                "distances": [db, dc], "value": winner.label}
        q = pick(rng, INFER_QUESTIONS).format(rel=REL[rel], a=anchor.label, b=b.label, c=c.label)
        out.append(maker.make("fill", f"{q} {CENTRE_NOTE} {FILL_NAME}", winner.label, images, meta, markers))
        opts = [b.label, c.label]
        out.append(maker.make("select", select_question(q, opts), "AB"[opts.index(winner.label)], images, meta, markers))
        sentence = f"The {winner.label} is {REL[rel]} the {anchor.label}."
        out.append(maker.make("sentence", f"{q} {CENTRE_NOTE}", sentence, images, meta, markers))
    return out


def verify_infer(record: QARecord, lookup: Any = None) -> list[str]:
    anchor, b, c = record.meta["objects"]
    db = float(np.linalg.norm(np.subtract(anchor["center"], b["center"])))
    dc = float(np.linalg.norm(np.subtract(anchor["center"], c["center"])))
    closer = record.meta["relation"] == "closer"
    winner = b["label"] if (db < dc) == closer else c["label"]
    findings = []
    if abs(db - dc) < RELATION_THRESHOLD_M:
        findings.append(f"ambiguous:margin: distances differ by {abs(db - dc):.2f} m")
    said = selected_option(record) if record.format == "select" else record.answer
    loser = c["label"] if winner == b["label"] else b["label"]
    text = (said or "").lower()
    if winner.lower() not in text or (record.format != "sentence" and loser.lower() in text and loser.lower() not in winner.lower()):
        findings.append(f"mismatch: answer {record.answer!r} but the {winner} is {record.meta['relation']}")
    return findings


TASKS = [
    TaskSpec(name=DIST_TASK, family="video_distance", view="video", formats=("fill", "select", "sentence"),
             generate=generate_distance, verify=verify_distance),
    TaskSpec(name=INFER_TASK, family="video_distance", view="video", formats=("fill", "select", "sentence"),
             generate=generate_infer, verify=verify_infer),
]

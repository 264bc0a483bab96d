"""grounding_3d_mv: 3D grounding as text over multi-view keyframes (paper 3.5).

The question names an object (labels unique in the scene only) and shows 3-5 keyframes, at
least one of which sees it. The answer picks the image with the object's largest visible box
whose projected 3D centre lies inside the image, and gives that centre's (u, v) in 0..1000,
its depth (m) and the box's world-axis extents (m); spar_hf.probes.grounding turns it back into
a 3D box and scores it by axis-aligned 3D IoU.
Not a release task folder, so opt-in (`generate --tasks grounding_3d_mv,...`): the release's loader
raises on record types its draw_marker.py does not know.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spar_hf.geometry import project
from spar_hf.layout.paths import keyframe_image
from spar_hf.probes.grounding import GroundingAnswer, answer_for, format_answer, parse_answer, world_aabb_extents
from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import (
    RecordMaker, object_info, per_task_limit, pick, scene_id, scene_objects, unique_labels,
)
from spar_hf.tasks.registry import TaskSpec

TASK = "grounding_3d_mv"
MIN_VIEWS, MAX_VIEWS = 3, 5
QUESTIONS = (
    "Locate the {label} in 3D.",
    "Where is the {label} in the scene? Ground it in 3D.",
    "Find the {label} and describe its 3D bounding box.",
)
RULES = ("Choose one image in which it is visible and answer in the form 'Image k, center (u, v), depth d m, "
         "size (l, w, h) m': k is the image number, (u, v) the image position of the 3D box center on a 0-1000 "
         "scale with the origin at the top left, d its depth in meters, and l, w, h the box extents in meters.")


def _centre_inside(center: np.ndarray, rec: Any) -> bool:
    uv, z = project(np.asarray(center, float)[None], rec.pose, rec.intrinsics)
    u, v = uv[0]
    return bool(z[0] > 0.1 and 0 <= u <= rec.width and 0 <= v <= rec.height)


def generate(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    images = records.images
    if len(images) < MIN_VIEWS:
        return []
    unique = unique_labels(scene_objects(records))
    sid = scene_id(records)
    maker = RecordMaker(records, TASK)
    limit = per_task_limit(config)
    candidates = sorted({oid for rec in images for oid in rec.visible})
    candidates = [oid for oid in candidates if object_info(records, oid).label in unique]
    out: list[QARecord] = []
    for oid in [int(i) for i in rng.permutation(candidates)][:limit]:
        info = object_info(records, oid)
        showing = [i for i, rec in enumerate(images) if oid in rec.visible and _centre_inside(info.center, rec)]
        if not showing:
            continue
        target = max(showing, key=lambda i: images[i].visible[oid].area)
        n_views = int(rng.integers(MIN_VIEWS, min(MAX_VIEWS, len(images)) + 1))
        others = [i for i in range(len(images)) if i != target]
        views = sorted([target] + [int(i) for i in rng.choice(others, size=n_views - 1, replace=False)])
        chosen = [images[i] for i in views]
        k = views.index(target)
        extents = world_aabb_extents(info.center, info.extents, info.rotation)
        exact = answer_for(info.center, extents, k, chosen[k].pose, chosen[k].intrinsics, chosen[k].width, chosen[k].height)
        meta = {
            "frames": [int(rec.frame_index) for rec in chosen],
            "objects": [info.meta()],
            "aabb_extents": [round(float(v), 4) for v in extents],
            "value": {"image": k, "u": exact.u, "v": exact.v, "depth": exact.depth, "size": list(exact.size)},
        }
        question = f"{pick(rng, QUESTIONS).format(label=info.label)} {RULES}"
        paths = [keyframe_image(sid, rec.frame_index) for rec in chosen]
        out.append(maker.make("sentence", question, format_answer(exact), paths, meta))
    return out


def verify(record: QARecord, lookup: Any = None) -> list[str]:
    ans = parse_answer(record.answer)
    if ans is None:
        return [f"mismatch: answer {record.answer!r} is not a grounding answer"]
    if not 0 <= ans.image < len(record.images):
        return [f"mismatch: answer names image {ans.image + 1} of {len(record.images)}"]
    obj = record.meta["objects"][0]
    extents = np.asarray(record.meta["aabb_extents"], float)
    if lookup is not None:
        path = record.images[ans.image]
        width, height = lookup.size(path)
        exact = answer_for(np.asarray(obj["center"], float), extents, ans.image, np.asarray(lookup.pose(path), float),
                           np.asarray(lookup.intrinsics(path), float), width, height)
    else:
        v = record.meta["value"]
        exact = GroundingAnswer(int(v["image"]), v["u"], v["v"], v["depth"], tuple(v["size"]))
    findings = []
    if abs(ans.u - exact.u) > 0.51 or abs(ans.v - exact.v) > 0.51 or abs(ans.depth - exact.depth) > 0.0051:
        findings.append(f"mismatch: answer {record.answer!r} but the pose gives {format_answer(exact)}")
    if np.any(np.abs(np.asarray(ans.size) - extents) > 0.0051):
        findings.append(f"mismatch: answer size {ans.size} but the box extents are {extents.round(2).tolist()}")
    return findings


TASKS = [TaskSpec(name=TASK, family="grounding", view="multi", formats=("sentence",), generate=generate, verify=verify,
                  extension=True)]

"""Position matching: the red-boxed object of image 1, answer its 2D box in image 2 (0..1000).

Boxes come from visibility (visible vertices). Derive checks each stored box against the
projection of the object's 3D box corners in that camera (a visible-vertex box must lie inside
it), which `verify` reports as a mismatch. Select distractors are other objects' boxes in image 2
and shifted copies of the truth, all overlapping the truth by IoU < `max_distractor_iou`.
"""

from __future__ import annotations

import numpy as np

from spar_hf.geometry import world_to_camera
from spar_hf.tasks.generic import make_specs
from spar_hf.tasks.primitives import rand_index, rand_sample
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, Cam, Facts, GenConfig, TaskDef

MAX_OTHER_BOXES = 8
BOX_TOLERANCE = 3  # 0..1000 units allowed outside the projected 3D box (rounding)
SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)


def sample(ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    pool = ix.cache.get("seen_twice")
    if pool is None:
        pool = ix.cache["seen_twice"] = sorted(o for o, seen in ix.seen_in.items() if len(seen) >= 2)
    if not pool:
        return "not_seen_twice"
    oid = pool[rand_index(rng, len(pool))]
    i, j = rand_sample(rng, ix.seen_in[oid], 2)
    others = [o for o in ix.visible[j] if o != oid][:MAX_OTHER_BOXES]
    extra = {"boxes": [ix.box(i, oid), ix.box(j, oid)], "other_boxes": [ix.box(j, o) for o in others]}
    return Candidate([i, j], [oid], [("red", "bbox", 0, 0)], extra)


def box_text(box: list[int]) -> str:
    return "[" + ", ".join(str(int(v)) for v in box) + "]"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _distractors(truth: list[int], others: list[list[int]], max_iou: float):
    t = np.asarray(truth, float)

    def make(rng: np.random.Generator, n: int) -> list[str] | None:
        picked: list[np.ndarray] = []

        def ok(box: np.ndarray) -> bool:
            return (box[2] - box[0] >= 5 and box[3] - box[1] >= 5 and iou(box, t) < max_iou
                    and all(iou(box, p) < 0.9 and box_text(list(box)) != box_text(list(p)) for p in picked))

        for k in rng.permutation(len(others)):
            box = np.asarray(others[k], float)
            if len(picked) < n and ok(box):
                picked.append(box)
        size = np.array([t[2] - t[0], t[3] - t[1]])
        shifts = rng.uniform(0.6, 1.4, size=(40, 2)) * np.where(rng.random((40, 2)) < 0.5, -1.0, 1.0) * size
        boxes = np.clip(t + np.concatenate([shifts, shifts], axis=1), 0, 1000).round()
        for box in boxes:
            if len(picked) >= n:
                break
            if ok(box):
                picked.append(box)
        if len(picked) < n:
            return None
        return [box_text([int(v) for v in p]) for p in picked]
    return make


def corners_of(obj: dict) -> np.ndarray:
    """The 8 corners of a meta object's 3D box (world)."""
    return np.asarray(obj["center"]) + (SIGNS * np.asarray(obj["extents"]) / 2.0) @ np.asarray(obj["rotation"]).T


def corner_box(corners: np.ndarray, cam: Cam) -> np.ndarray | None:
    """Projected 3D box corners' extent in 0..1000 units (clipped to the image), None if any corner is behind."""
    p = world_to_camera(corners, cam.pose)
    z = p[:, 2]
    if z.min() <= 0:
        return None
    u = (cam.K[0, 0] * p[:, 0] / z + cam.K[0, 2]) * (1000.0 / cam.width)
    v = (cam.K[1, 1] * p[:, 1] / z + cam.K[1, 2]) * (1000.0 / cam.height)
    return np.clip([u.min(), v.min(), u.max(), v.max()], 0, 1000)


def derive(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    obj = meta["objects"][0]
    box1, box2 = meta["boxes"]
    facts = Facts(fields={"a": obj["label"], "box": box_text(box2)}, truth=box_text(box2), value=list(box2),
                  options=_distractors(box2, meta.get("other_boxes", []), cfg.max_distractor_iou))
    corners = corners_of(obj)
    for k, box in enumerate((box1, box2)):
        hull = corner_box(corners, cams[k])
        b = np.asarray(box, float)
        if hull is not None and (np.any(b[:2] < hull[:2] - BOX_TOLERANCE) or np.any(b[2:] > hull[2:] + BOX_TOLERANCE)):
            facts.errors.append(f"box {box} in image {k + 1} lies outside the projected 3D box {[int(v) for v in hull.round()]}")
    if min(box2[2] - box2[0], box2[3] - box2[1]) < 15:
        facts.margins.append(f"ambiguous:tiny_box: box {box2} in image 2 is under 15/1000 wide or high")
    return facts


DEFS = [TaskDef(name="position_matching", view="multi", formats=("fill", "select", "sentence"), sample=sample,
                derive=derive, stems="posmatch", answers="posmatch", fill="box", center_note=False, bench=True)]
TASKS = make_specs(DEFS, "matching")

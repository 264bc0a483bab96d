"""spatial_imagination_map_mv: bird's-eye-view object coordinates from three views (paper 4.4).

Ground frame of the main (first) view: origin = main camera centre projected onto the floor
plane, y = viewing direction projected horizontally, x = y x up (the observer's right), metres.
Heights are dropped, so the floor height never matters. Three keyframes: a main view and two
views sharing at least one visible object with it; 3-7 objects visible in them, each boxed on the
image where its box is largest: `bbox_list` [[box, ...]] and `bbox_img_idx` [[image, ...]] as the
release's draw_marker.py reads them (`bbox_list[0]`), which draws every box blue and names it
object0, object1, ... in the image; the question names the objects that way. Main views looking
(almost) straight down are not used.
Scored with spar_hf.probes.bev (APE).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spar_hf.layout.paths import keyframe_image
from spar_hf.markers import object_name
from spar_hf.probes.bev import parse_coordinates
from spar_hf.records import ImageRecord, QARecord, SceneRecords
from spar_hf.tasks._videoqa import (
    RecordMaker,
    best_view,
    norm_box,
    object_info,
    per_task_limit,
    pick,
    scene_id,
)
from spar_hf.tasks.registry import TaskSpec

TASK = "spatial_imagination_map_mv"
N_VIEWS = 3
MIN_OBJECTS, MAX_OBJECTS = 3, 7
QUESTIONS = (
    "Build a bird's-eye-view map of the boxed objects.",
    "Place the boxed objects on a top-down map of the scene.",
    "Estimate where each boxed object lies on the floor plan.",
)
RULES = ("The first image is the main view. Use a ground frame whose origin is the main camera's position "
         "projected onto the floor, whose y axis points along the main view's viewing direction (projected "
         "horizontally) and whose x axis points to the observer's right; units are meters. "
         "Objects: {objects}. Answer with one 'label: (x, y)' per object, in the listed order, separated by semicolons.")


def ground_frame(pose: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(origin, x axis, y axis) of the observer's ground frame; None when the camera looks straight up/down."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    forward = np.asarray(pose, float)[:3, 2]
    flat = forward - (forward @ up) * up
    n = np.linalg.norm(flat)
    if n < 0.1:
        return None
    y_axis = flat / n
    x_axis = np.cross(y_axis, up)
    return np.asarray(pose, float)[:3, 3], x_axis, y_axis


def bev_coordinates(points: np.ndarray, pose: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """World points (N, 3) -> (N, 2) ground-frame (x right, y forward) coordinates of the view `pose`."""
    frame = ground_frame(pose, up)
    if frame is None:
        raise ValueError("camera looks straight up or down: no horizontal viewing direction")
    origin, x_axis, y_axis = frame
    rel = np.asarray(points, float).reshape(-1, 3) - origin
    return np.stack([rel @ x_axis, rel @ y_axis], axis=-1)


def format_answer(labels: list[str], coords: np.ndarray) -> str:
    return "; ".join(f"{label}: ({x:.1f}, {y:.1f})" for label, (x, y) in zip(labels, coords))


def _pick_views(images: list[ImageRecord], main: int, rng: np.random.Generator) -> list[int] | None:
    shared = [i for i, rec in enumerate(images) if i != main and set(rec.visible) & set(images[main].visible)]
    if len(shared) < N_VIEWS - 1:
        return None
    return [main] + sorted(int(i) for i in rng.choice(shared, size=N_VIEWS - 1, replace=False))


def generate(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    images = records.images
    if len(images) < N_VIEWS:
        return []
    up = getattr(records.scene, "up", None)
    up = np.asarray([0.0, 0.0, 1.0] if up is None else up, float)
    limit = per_task_limit(config)
    maker = RecordMaker(records, TASK)
    sid = scene_id(records)
    out: list[QARecord] = []
    mains = [int(i) for i in rng.permutation(len(images))]
    for main in mains:
        if len(out) >= limit:
            break
        if ground_frame(images[main].pose, up) is None or not images[main].visible:
            continue
        views = _pick_views(images, main, rng)
        if views is None:
            continue
        chosen_imgs = [images[i] for i in views]
        ids = sorted({oid for rec in chosen_imgs for oid in rec.visible})
        if len(ids) < MIN_OBJECTS:
            continue
        k = int(rng.integers(MIN_OBJECTS, min(MAX_OBJECTS, len(ids)) + 1))
        picked = [int(i) for i in rng.choice(ids, size=k, replace=False)]
        infos = [object_info(records, oid) for oid in picked]
        coords = bev_coordinates(np.stack([o.center for o in infos]), images[main].pose, up)
        boxes, idx = [], []
        for info in infos:
            pos, view = best_view(chosen_imgs, info.id)
            boxes.append(norm_box(view, chosen_imgs[pos]))
            idx.append(pos)
        listed = ", ".join(f"{object_name(TASK, i)} ({o.label})" for i, o in enumerate(infos))
        question = f"{pick(rng, QUESTIONS)} {RULES.format(objects=listed)}"
        meta = {
            "frames": [int(rec.frame_index) for rec in chosen_imgs],
            "objects": [o.meta() for o in infos],
            "up": [float(v) for v in up],
            "value": [[round(float(x), 4), round(float(y), 4)] for x, y in coords],
        }
        paths = [keyframe_image(sid, rec.frame_index) for rec in chosen_imgs]
        markers = {"bbox_list": [boxes], "bbox_img_idx": [idx]}
        out.append(maker.make("sentence", question, format_answer([o.label for o in infos], coords), paths, meta, markers))
    return out


def verify(record: QARecord, lookup: Any = None) -> list[str]:
    meta = record.meta
    centers = np.array([o["center"] for o in meta["objects"]], float)
    if lookup is not None:
        pose = np.asarray(lookup.pose(record.images[0]), float)
        truth = bev_coordinates(centers, pose, np.asarray(meta.get("up", [0.0, 0.0, 1.0]), float))
    else:
        truth = np.asarray(meta["value"], float)
    said = parse_coordinates(record.answer)
    if len(said) != len(truth):
        return [f"mismatch: answer gives {len(said)} coordinates for {len(truth)} objects"]
    err = np.abs(np.array([[p.x, p.y] for p in said]) - truth)
    if np.any(err > 0.051):
        return [f"mismatch: answer coordinates differ from the main view's ground frame by up to {err.max():.2f} m"]
    return []


TASKS = [TaskSpec(name=TASK, family="map_bev", view="multi", formats=("sentence",), generate=generate, verify=verify)]

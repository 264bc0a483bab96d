"""Spatial imagination over a video: spatial_imagination_{oc,oo}_video and their `_hard` variants.

The observer moves to the 3D centre of object B (green bbox) and faces object C (blue bbox),
up vector kept vertical (paper eq. 7-8); views pitched more than `MAX_PITCH_DEG` are discarded.
OC: where target A (red bbox) is relative to the moved observer. OO: where A is relative to D
(yellow bbox) in the moved observer's frame. Components left/right, above/below, front/behind
are empty under 0.1 m; a sample with any component within `MARGIN_M` of that threshold, or with
every component empty, is skipped (too close to call); the objects of one sample carry distinct
labels, since the answer names them by label.

Hard vs base (each sample belongs to exactly one): a sample is *hard* when no single clip frame
shows all its objects (the answer needs information combined across frames) or when the moved
observer faces away (> 90 degrees, horizontally) from every clip frame that shows A (the layout
must be mentally rotated, not read off a frame). Otherwise it is base.
Markers as the release draws them (draw_marker.py): base variants box B, C, A (and D) on the clip
frame where each object's box is largest, `bbox_img_idx` in the order green (B), blue (C), red (A),
yellow (D); the release draws them labelled object0, object1, object2, object3 (and the "yellow" box
cyan), so the questions name them that way. The `_hard` variants carry no markers (the release draws
none for them): their questions name objects by label only, so every label must be unique in the scene.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spar_hf.geometry import look_at, world_to_camera
from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import (
    CENTRE_NOTE, ObjectInfo, RELATION_THRESHOLD_M, RecordMaker, best_view, boxes_overlap, cfg, clip_frames, norm_box,
    object_info, per_task_limit, pick, scene_objects, seen_positions, skip, unique_labels, video_paths,
)
from spar_hf.tasks.registry import TaskSpec

MAX_PITCH_DEG = 60.0  # default; GenConfig.max_pitch_deg overrides
MARGIN_M = 0.05
PHRASES = {"left": "to the left", "right": "to the right", "above": "above", "below": "below", "front": "in front", "behind": "behind"}
# {b} {c} {a} {d} carry their marker names (" (object0)" ...) in the base variants, nothing in _hard
OC_QUESTIONS = (
    "If you move to the 3D center of the {b} and face the {c}, where is the {a} relative to you?",
    "Imagine standing at the center of the {b} looking toward the {c}. How is the {a} positioned relative to you?",
)
OO_QUESTIONS = (
    "After moving to the 3D center of the {b} and facing the {c}, where is the {a} relative to the {d}?",
    "Imagine standing at the center of the {b} looking toward the {c}. From there, how is the {a} placed relative to the {d}?",
)
ROLE_ORDER = ("b", "c", "a", "d")  # bbox_img_idx / object name order: green, blue, red, yellow
SUFFIX = "Describe left-right, above-below and front-behind from the moved observer's view."


def moved_pose(b: np.ndarray, c: np.ndarray, up: np.ndarray, max_pitch_deg: float = MAX_PITCH_DEG) -> np.ndarray | None:
    """Camera at B facing C with vertical up; None when pitched beyond max_pitch_deg or degenerate."""
    forward = np.asarray(c, float) - np.asarray(b, float)
    norm = math.sqrt(forward @ forward)
    if norm < 1e-6:
        return None
    pitch = np.degrees(np.arcsin(min(max(float(forward @ up) / norm, -1.0), 1.0)))
    if abs(pitch) > max_pitch_deg:
        return None
    return look_at(b, c, up)


def components(delta: np.ndarray) -> list[str]:
    """Camera-frame offset (x right, y down, z forward) -> [left/right, above/below, front/behind] ('' = within 0.1 m)."""
    x, y, z = (float(v) for v in delta)
    t = RELATION_THRESHOLD_M
    return [
        "right" if x > t else "left" if x < -t else "",
        "below" if y > t else "above" if y < -t else "",
        "front" if z > t else "behind" if z < -t else "",
    ]


def _close_to_threshold(delta: np.ndarray) -> bool:
    return any(abs(abs(v) - RELATION_THRESHOLD_M) < MARGIN_M for v in delta.tolist())


def relation(kind: str, pose: np.ndarray, a: np.ndarray, d: np.ndarray | None = None) -> tuple[list[str], np.ndarray]:
    """Relation words and the camera-frame offset: A to observer (oc) or A relative to D (oo, front = A nearer)."""
    pa = world_to_camera(np.asarray(a, float)[None], pose)[0]
    if kind == "oc":
        return components(pa), pa
    pd = world_to_camera(np.asarray(d, float)[None], pose)[0]
    delta = pa - pd
    words = components(delta)
    words[2] = {"front": "behind", "behind": "front", "": ""}[words[2]]  # farther from the observer = behind D
    return words, delta


def phrase(words: list[str]) -> str:
    parts = [PHRASES[w] for w in words if w]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _heading(vec: np.ndarray, up: np.ndarray) -> np.ndarray | None:
    flat = vec - (vec @ up) * up
    n = math.sqrt(flat @ flat)
    return flat / n if n > 1e-6 else None


class ClipViews:
    """Per scene, once: which clip frames show each object, and each frame's horizontal viewing heading."""

    def __init__(self, records: SceneRecords, up: np.ndarray):
        self.up = up
        self.headings = [_heading(np.asarray(rec.pose, float)[:3, 2], up) for rec in records.video]
        frames: dict[int, set[int]] = {}
        for pos, rec in enumerate(records.video):
            for oid in rec.visible:
                frames.setdefault(oid, set()).add(pos)
        self.frames_of = frames

    def is_hard(self, ids: list[int], pose: np.ndarray) -> bool:
        """Hard when no clip frame shows every object, or the moved view faces away from every frame showing A."""
        empty: set[int] = set()
        covisible = bool(set.intersection(*(self.frames_of.get(i, empty) for i in ids)))
        new_heading = _heading(pose[:3, 2], self.up)
        dots = []
        if new_heading is not None:
            for pos in self.frames_of.get(ids[0], empty):
                h = self.headings[pos]
                if h is not None:
                    dots.append(float(h @ new_heading))
        faces_away = bool(dots) and all(d < 0 for d in dots)
        return (not covisible) or faces_away


class _OverlapCache:
    """Pairwise 3D box overlap, computed once per pair of a scene's objects."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, int], bool] = {}

    def any(self, objs: list[ObjectInfo]) -> bool:
        for i, p in enumerate(objs):
            for q in objs[i + 1:]:
                key = (min(p.id, q.id), max(p.id, q.id))
                if key not in self.known:
                    self.known[key] = boxes_overlap(p, q)
                if self.known[key]:
                    return True
        return False


def _generate(kind: str, hard: bool, records: SceneRecords, rng: np.random.Generator, config: Any) -> list[QARecord]:
    if not records.video:
        return []
    task = f"spatial_imagination_{kind}_video" + ("_hard" if hard else "")
    up = getattr(records.scene, "up", None)
    up = np.asarray([0.0, 0.0, 1.0] if up is None else up, float)
    up = up / np.linalg.norm(up)
    ids = sorted(seen_positions(records.video))
    need = 3 if kind == "oc" else 4
    if len(ids) < need:
        return []
    limit = per_task_limit(config)
    maker = RecordMaker(records, task)
    images = video_paths(records)
    out: list[QARecord] = []
    tried: set[tuple[int, ...]] = set()
    overlaps = _OverlapCache()
    max_pitch = float(cfg(config, "max_pitch_deg", MAX_PITCH_DEG))
    infos = {i: object_info(records, i) for i in ids}
    unique = unique_labels(scene_objects(records))
    clip = ClipViews(records, up)
    for _ in range(limit * 40):
        if len(out) >= limit:
            break
        chosen = tuple(int(i) for i in rng.choice(ids, size=need, replace=False))
        if chosen in tried:
            continue
        tried.add(chosen)
        objs = [infos[i] for i in chosen]
        if len({o.label for o in objs}) < len(objs):  # answers name objects by label: keep them distinct
            skip(config, f"{task}: same_label")
            continue
        if hard and any(o.label not in unique for o in objs):  # no markers: the label alone must pick the object
            skip(config, f"{task}: label_not_unique")
            continue
        a, b, c = objs[:3]
        d = objs[3] if kind == "oo" else None
        pose = moved_pose(b.center, c.center, up, max_pitch)
        if pose is None:
            skip(config, f"{task}: steep_view")
            continue
        words, delta = relation(kind, pose, a.center, None if d is None else d.center)
        if not any(words) or _close_to_threshold(delta):
            skip(config, f"{task}: indistinguishable")
            continue
        if overlaps.any(objs):
            skip(config, f"{task}: overlap_3d")
            continue
        if clip.is_hard([o.id for o in objs], pose) != hard:
            continue  # belongs to the other variant
        by_role = {"a": a, "b": b, "c": c, "d": d}
        markers: dict[str, Any] = {}
        names = {role: "" for role in by_role}
        if not hard:
            idx = []
            for n, (role, colour) in enumerate(zip(ROLE_ORDER, ("green", "blue", "red", "yellow"))):
                if by_role[role] is None:
                    continue
                pos, view = best_view(records.video, by_role[role].id)
                markers[f"{colour}_bbox"] = [norm_box(view, records.video[pos])]
                idx.append(pos)
                names[role] = f" (object{n})"
            markers["bbox_img_idx"] = [idx]
        labels = {role: (obj.label if obj else "") + names[role] for role, obj in by_role.items()}
        question = pick(rng, OC_QUESTIONS if kind == "oc" else OO_QUESTIONS).format(**labels)
        target = "you" if kind == "oc" else f"the {d.label}"
        answer = f"After moving to the {b.label} and facing the {c.label}, the {a.label} is {phrase(words)} relative to {target}."
        meta = {"frames": clip_frames(records), "objects": [o.meta() for o in objs], "roles": "a,b,c" + (",d" if d else ""),
                "up": [float(v) for v in up], "max_pitch_deg": max_pitch, "value": words, "hard": hard}
        out.append(maker.make("sentence", f"{question} {CENTRE_NOTE} {SUFFIX}", answer, images, meta, markers))
    return out


def _verify(record: QARecord, lookup: Any = None) -> list[str]:
    meta = record.meta
    objs = meta["objects"]
    centers = [np.asarray(o["center"], float) for o in objs]
    up = np.asarray(meta.get("up", [0.0, 0.0, 1.0]), float)
    kind = "oo" if len(objs) == 4 else "oc"
    pose = moved_pose(centers[1], centers[2], up, float(meta.get("max_pitch_deg", MAX_PITCH_DEG)))
    if pose is None:
        return ["mismatch: moved view is pitched too steeply or degenerate"]
    words, delta = relation(kind, pose, centers[0], centers[3] if kind == "oo" else None)
    findings = []
    if _close_to_threshold(delta):
        findings.append("ambiguous:margin: a relation component is within 0.05 m of the 0.1 m threshold")
    tail = record.answer.split(f"the {objs[0]['label']} is ", 1)[-1]
    said = [w for w in ("left", "right", "above", "below", "front", "behind") if w in tail.split(" relative to ")[0]]
    if sorted(said) != sorted(w for w in words if w):
        findings.append(f"mismatch: answer says {said}, geometry gives {[w for w in words if w]}")
    return findings


def _spec(kind: str, hard: bool) -> TaskSpec:
    def generate(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
        return _generate(kind, hard, records, rng, config)

    name = f"spatial_imagination_{kind}_video" + ("_hard" if hard else "")
    return TaskSpec(name=name, family="video_imagination", view="video", formats=("sentence",), generate=generate, verify=_verify)


TASKS = [_spec(kind, hard) for kind in ("oc", "oo") for hard in (False, True)]

"""Helpers shared by the video / BEV / grounding / nav generators: record assembly, frame naming,
numeric options, object views. Kept apart from the single/multi-view helpers on purpose.

Frames are named to the model 1-based ("Frame-1" is the clip's first image), matching the
`Frame-i:` prefixes used when records are fed as video (docs/formats.md "Views: single, multi, video").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from spar_hf.geometry import boxes_overlap_3d, normalize_xy
from spar_hf.layout.paths import video_image
from spar_hf.records import ImageRecord, QARecord, SceneRecords, VisibleObject

LETTERS = "ABCD"
FILL_NUMBER = "Ensure your answer contains only one number."
FILL_NAME = "Submit your response as the name of one object exclusively."
FILL_LIST = "Answer with a comma-separated list only."
SELECT_LEAD = "Select the correct option from the choices provided."
SELECT_4 = "Your answer can only include one of options A, B, C or D."
SELECT_2 = "Your answer can only include one of options A, B."
CENTRE_NOTE = "Calculate or judge based on the 3D center points of these objects."
RELATION_THRESHOLD_M = 0.1  # paper 7.5: differences under 0.1 m are indistinguishable
STRUCTURAL_LABELS = frozenset({"wall", "floor", "ceiling"})  # room parts, never asked about


@dataclass
class ObjectInfo:
    """World-space facts of one object, from the ObjectRecords or the scene."""

    id: int
    label: str
    center: np.ndarray
    extents: np.ndarray
    rotation: np.ndarray

    def meta(self) -> dict[str, Any]:
        return {
            "id": int(self.id),
            "label": self.label,
            "center": [round(float(v), 4) for v in self.center],
            "extents": [round(float(v), 4) for v in self.extents],
        }


def boxes_overlap(a: ObjectInfo, b: ObjectInfo) -> bool:
    """3D box overlap of two objects (geometry.boxes_overlap_3d settles far-apart pairs cheaply)."""
    return boxes_overlap_3d(a.center, a.extents, a.rotation, b.center, b.extents, b.rotation)


def object_info(records: SceneRecords, object_id: int) -> ObjectInfo:
    if object_id in records.objects:
        rec = records.objects[object_id]
        return ObjectInfo(rec.object_id, rec.label, np.asarray(rec.center, float), np.asarray(rec.extents, float),
                          np.asarray(rec.rotation, float))
    obj = records.scene.object_by_id(object_id)
    return ObjectInfo(obj.id, obj.label, np.asarray(obj.center, float), np.asarray(obj.extents, float),
                      np.asarray(obj.rotation, float))


def scene_objects(records: SceneRecords) -> list[ObjectInfo]:
    """Every annotated object of the scene but walls/floor/ceiling (falls back to the ObjectRecords without a scene)."""
    scene = records.scene
    if scene is not None and getattr(scene, "objects", None):
        objs = [ObjectInfo(o.id, o.label, np.asarray(o.center, float), np.asarray(o.extents, float),
                           np.asarray(o.rotation, float)) for o in scene.objects]
    else:
        objs = [object_info(records, oid) for oid in sorted(records.objects)]
    return [o for o in objs if o.label not in STRUCTURAL_LABELS]


def scene_id(records: SceneRecords) -> str:
    if records.scene is not None:
        return str(records.scene.id)
    return (records.video or records.images)[0].scene_id


def scene_source(records: SceneRecords) -> str:
    return str(getattr(records.scene, "source", "") or "")


def video_paths(records: SceneRecords) -> list[str]:
    sid = scene_id(records)
    return [video_image(sid, i, rec.frame_index) for i, rec in enumerate(records.video)]


def frame_name(position: int) -> str:
    return f"Frame-{position + 1}"


def seen_positions(video: list[ImageRecord]) -> dict[int, list[int]]:
    """Object id -> clip positions (0-based, ascending) where it is visible."""
    out: dict[int, list[int]] = {}
    for pos, rec in enumerate(video):
        for oid in rec.visible:
            out.setdefault(oid, []).append(pos)
    return out


def best_view(images: list[ImageRecord], object_id: int) -> tuple[int, VisibleObject] | None:
    """(position, view) of the largest visible box of the object among `images`, earliest on ties."""
    best: tuple[int, VisibleObject] | None = None
    for pos, rec in enumerate(images):
        view = rec.visible.get(object_id)
        if view is not None and (best is None or view.area > best[1].area):
            best = (pos, view)
    return best


def point_view(images: list[ImageRecord], object_id: int) -> tuple[int, VisibleObject] | None:
    """Like `best_view`, among the images whose marker point shows the object (nothing in front of it there)."""
    best: tuple[int, VisibleObject] | None = None
    for pos, rec in enumerate(images):
        view = rec.visible.get(object_id)
        if view is not None and not view.point_occluded and (best is None or view.area > best[1].area):
            best = (pos, view)
    return best


def norm_box(view: VisibleObject, rec: ImageRecord) -> list[int]:
    return [int(v) for v in normalize_xy(np.asarray(view.bbox, float), rec.width, rec.height)]


def norm_point(view: VisibleObject, rec: ImageRecord) -> list[int]:
    return [int(v) for v in normalize_xy(np.asarray(view.point, float), rec.width, rec.height)]


def unique_labels(objects: Iterable[ObjectInfo]) -> set[str]:
    """Labels carried by exactly one object: safe to name an object by its label alone."""
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj.label] = counts.get(obj.label, 0) + 1
    return {label for label, n in counts.items() if n == 1}


def fmt_num(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}"


def numeric_options(value: float, rng: np.random.Generator, decimals: int = 1) -> tuple[list[str], str]:
    """Four distinct options (truth + 3 distractors within +-50%, never equal after rounding); returns (options, letter)."""
    truth = fmt_num(value, decimals)
    chosen = [truth]
    step = 10.0 ** -decimals
    for _ in range(200):
        if len(chosen) == 4:
            break
        cand = fmt_num(max(value * rng.uniform(0.5, 1.5), step), decimals)
        if cand not in chosen:
            chosen.append(cand)
    k = 1
    while len(chosen) < 4:  # tiny values: fall back to fixed steps
        cand = fmt_num(value + k * step, decimals)
        if cand not in chosen:
            chosen.append(cand)
        k += 1
    order = rng.permutation(4)
    options = [chosen[i] for i in order]
    return options, LETTERS[options.index(truth)]


def options_text(options: list[str]) -> str:
    """One option per line ("A. 0.6\nB. 1.0"), as public SPAR-7M rows lay them out (docs/tasks.md)."""
    return "\n".join(f"{LETTERS[i]}. {opt}" for i, opt in enumerate(options))


def select_question(stem: str, options: list[str], note: str = CENTRE_NOTE) -> str:
    """A select question: stem and note, then the lead, the options and the closing sentence on their own lines."""
    closing = SELECT_2 if len(options) == 2 else SELECT_4
    head = f"{stem} {note}" if note else stem
    return f"{head}\n{SELECT_LEAD}\n{options_text(options)}\n{closing}"


def pick(rng: np.random.Generator, templates: tuple[str, ...]) -> str:
    return templates[int(rng.integers(len(templates)))]


class RecordMaker:
    """Numbers records `<scene>_<task>_<format>_<n>` and fills the common fields."""

    def __init__(self, records: SceneRecords, task: str):
        self.scene = scene_id(records)
        self.source = scene_source(records)
        self.task = task
        self.counts: dict[str, int] = {}

    def make(self, fmt: str, question: str, answer: str, images: list[str], meta: dict[str, Any],
             markers: dict[str, Any] | None = None) -> QARecord:
        n = self.counts.get(fmt, 0)
        self.counts[fmt] = n + 1
        full_meta = {"scene": self.scene, **meta}
        return QARecord(
            id=f"{self.scene}_{self.task}_{fmt}_{n}",
            task=self.task,
            format=fmt,
            question=question,
            answer=answer,
            images=list(images),
            source=self.source,
            scene=self.scene,
            markers=dict(markers or {}),
            meta=full_meta,
        )


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def numbers_in(text: str) -> list[float]:
    return [float(m) for m in _NUMBER.findall(text)]


def selected_option(record: QARecord) -> str | None:
    """For a select record, the option text its answer letter points at."""
    letter = record.answer.strip()[:1]
    match = re.search(rf"^{re.escape(letter)}\. (.*)$", record.question, re.MULTILINE)
    return match.group(1).strip() if match else None


def check_number(record: QARecord, value: float, decimals: int = 1) -> list[str]:
    """Findings for a numeric answer in any format: its number must match `value` rounded."""
    if record.format == "select":
        text = selected_option(record)
        if text is None:
            return [f"mismatch: answer letter {record.answer!r} names no option"]
    else:
        text = record.answer
    nums = numbers_in(text or "")
    expected = round(value, decimals)
    if not any(abs(n - expected) <= 0.5 * 10.0 ** -decimals for n in nums):
        return [f"mismatch: answer {record.answer!r} does not state {expected}"]
    return []


def cfg(config: Any, key: str, default: Any) -> Any:
    """Read an option from a dict-like or attribute config (None -> default)."""
    if config is None:
        return default
    if isinstance(config, dict):
        return config.get(key, default)
    return getattr(config, key, default)


def clip_frames(records: SceneRecords) -> list[int]:
    return [int(rec.frame_index) for rec in records.video]


def skip(config: Any, reason: str, n: int = 1) -> None:
    """Count skipped candidates in the pipeline's Counter (GenConfig.skipped, or a dict's "skips")."""
    skips = cfg(config, "skipped", None)
    if skips is None:
        skips = cfg(config, "skips", None)
    if skips is not None and n:
        skips[reason] += n


def per_task_limit(config: Any) -> int:
    """Questions (or candidates) per task and scene: `max_per_task`, else GenConfig.samples_per_format, else 8."""
    value = cfg(config, "max_per_task", None)
    if value is None:
        value = cfg(config, "samples_per_format", 8)
    return int(value)

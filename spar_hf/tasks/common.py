"""Shared machinery of the image task generators (single and multi view).

A task is a `TaskDef`: a `sample` function that picks views and objects for one question
(returning a candidate or a skip reason) and a `derive` function that computes the answer
from the record's `meta` and the cameras alone. Generation and `verify` both call `derive`,
so the checker re-derives exactly what the generator computed, from the poses it reads back.
Questions and answers are rendered from `templates.py` with template choices stored in meta,
which makes rendering a pure function that `verify` repeats and compares.
"""

from __future__ import annotations

import itertools
import math
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Callable

import numpy as np

from spar_hf.geometry import boxes_overlap_2d, boxes_overlap_3d, normalize_xy, world_to_camera
from spar_hf.layout.paths import keyframe_depth, keyframe_image
from spar_hf.markers import BBOX_ORDER, DEFAULT_BBOX_ORDER, DEFAULT_POINT_ORDER, POINT_ORDER
from spar_hf.records import ImageRecord, QARecord, SceneRecords
from spar_hf.tasks import templates as T
from spar_hf.tasks.registry import TaskSpec, all_tasks

LETTERS = "ABCD"
# the task families built on this module (registry `family` = module name)
FAMILIES = ("depth", "distance", "distance_infer", "relation", "imagination", "volume", "matching", "camera")


@dataclass
class GenConfig:
    """How much to generate per scene and the thresholds that decide what is answerable.

    `skipped` collects "<task>: <reason>" counts of dropped candidates; the pipeline prints it
    ("skipped candidates by reason") and may pass one config to many scenes to sum them.
    """

    samples_per_format: int = 20  # questions per task, format and scene
    attempts_per_sample: int = 6  # candidate draws allowed per wanted question
    relation_threshold_m: float = 0.1  # a coordinate/distance difference below this is "indistinguishable"
    min_gap_m: float = 0.1  # closer/farther and depth comparisons need at least this difference
    min_distance_m: float = 0.2  # object-object distances below this are skipped
    ambiguous_band_m: float = 0.02  # verify flags margins within this of a threshold
    max_pitch_deg: float = 60.0  # spatial imagination: discard moved views steeper than this
    min_views: int = 2
    max_views: int = 5
    min_camera_depth_m: float = 0.2  # camera_motion_infer: second camera at least this deep in view 1
    min_view_change_m: float = 0.1  # view_change_infer: pairs with less motion than this ...
    min_view_change_deg: float = 5.0  # ... and less rotation than this are skipped
    max_distractor_iou: float = 0.3  # position_matching: distractor boxes overlap the truth less than this
    skipped: Counter = field(default_factory=Counter)


@dataclass
class Cam:
    """A camera as `derive` sees it: pose (camera-to-world), intrinsics and image size."""

    pose: np.ndarray
    K: np.ndarray
    width: int
    height: int


@dataclass
class Facts:
    """What `derive` returns: the answer and everything the templates need.

    `truth` is the canonical short answer (the fill answer and the correct select option),
    `value` the unrounded answer kept in meta, `parts` the relation words (judge format),
    `skip` a reason to drop the candidate, `errors` geometric inconsistencies (mismatches in
    verify), `margins` doubts worth flagging ("ambiguous:<kind>: ...").
    """

    fields: dict[str, str] = field(default_factory=dict)
    truth: str = ""
    value: Any = None
    parts: list[str] = field(default_factory=list)
    skip: str | None = None
    errors: list[str] = field(default_factory=list)
    margins: list[str] = field(default_factory=list)
    options: Callable[[np.random.Generator, int], list[str] | None] | None = None  # distractor maker
    select_truth: str | None = None  # the correct option's text when it differs from the fill answer


@dataclass
class Candidate:
    """A sampled question before rendering: views (indices into the scene's images), objects by role."""

    views: list[int]
    objects: list[int]
    marks: list[tuple[str, str, int, int]]  # (colour, "point"|"bbox", role index, view position)
    extra: dict[str, Any] = field(default_factory=dict)  # sampler choices derive needs (e.g. "ask")


@dataclass(frozen=True)
class TaskDef:
    """One task folder: how to sample, derive and phrase it."""

    name: str
    view: str  # "single" | "multi"
    formats: tuple[str, ...]
    sample: Callable[["SceneIndex", np.random.Generator, GenConfig], Candidate | str]
    derive: Callable[[dict, list[Cam], GenConfig], Facts]
    stems: str  # key into templates.STEMS (per-format keys "<key>:<fmt>" win)
    answers: str  # key into templates.ANSWERS (sentence answers)
    fill: str = "number"  # key into templates.FILL
    n_options: int = 4  # select options: 2 for binary questions
    center_note: bool = True  # add "Calculate or judge based on the 3D center points ..."
    unit_note: bool = False  # add "The unit is meter." (the release's depth_prediction_oc rows carry it)
    select_note: str | None = None  # key into templates.SELECT_NOTES
    mv_note: str | None = None  # key into templates.MV_NOTES
    bench: bool = False
    object_questions: bool = True  # False: the question is about the images only (objects do not make it distinct)


# ---------------------------------------------------------------- scene index


class SceneIndex:
    """Per-scene lookups shared by all tasks of one scene (built once, cached by identity)."""

    def __init__(self, records: SceneRecords):
        # no reference back to `records`: the module cache holds only a weak one, so a finished
        # scene's records (and this index, at the next lookup) can be freed
        self.images: list[ImageRecord] = list(records.images)
        self.objects = records.objects
        scene = records.scene
        self.scene_id = str(getattr(scene, "id", None) or (self.images[0].scene_id if self.images else ""))
        self.source = str(getattr(scene, "source", "") or "")
        up = np.asarray(getattr(scene, "up", (0.0, 0.0, 1.0)), dtype=float)
        self.up = up / np.linalg.norm(up)
        self.cams = [Cam(np.asarray(im.pose, float), np.asarray(im.intrinsics, float)[:3, :3], int(im.width), int(im.height)) for im in self.images]
        self.visible: list[list[int]] = [sorted(k for k in im.visible if k in self.objects) for im in self.images]
        self.seen_in: dict[int, list[int]] = {}
        for i, ids in enumerate(self.visible):
            for oid in ids:
                self.seen_in.setdefault(oid, []).append(i)
        self._overlap: dict[tuple[int, int], bool] = {}
        self._neighbours: dict[int, list[int]] = {}
        self._meta: dict[int, dict] = {}
        self._norm: dict[tuple[int, int, str], list[int]] = {}
        self._pools: dict[Any, list[int]] = {}
        self.cache: dict[str, Any] = {}  # per-scene precomputations of task families (e.g. valid image pairs)

    def images_with(self, n: int) -> list[int]:
        """Images with at least n visible objects."""
        got = self._pools.get(n)
        if got is None:
            got = self._pools[n] = [i for i, ids in enumerate(self.visible) if len(ids) >= n]
        return got

    def covisible_images(self) -> list[int]:
        """Images with at least one co-visible partner image."""
        got = self._pools.get("covisible")
        if got is None:
            got = self._pools["covisible"] = [i for i in range(len(self.images)) if self.visible[i] and self.neighbours(i)]
        return got

    def overlap3d(self, a: int, b: int) -> bool:
        key = (a, b) if a < b else (b, a)
        hit = self._overlap.get(key)
        if hit is None:
            oa, ob = self.objects[a], self.objects[b]
            hit = boxes_overlap_3d(oa.center, oa.extents, oa.rotation, ob.center, ob.extents, ob.rotation)
            self._overlap[key] = hit
        return hit

    def any_overlap3d(self, ids: list[int]) -> bool:
        return any(self.overlap3d(a, b) for a, b in itertools.combinations(ids, 2))

    def neighbours(self, i: int) -> list[int]:
        """Other images sharing at least one visible object with image i (co-visible)."""
        got = self._neighbours.get(i)
        if got is None:
            mine = set(self.visible[i])
            got = [j for j, ids in enumerate(self.visible) if j != i and mine.intersection(ids)]
            self._neighbours[i] = got
        return got

    def object_meta(self, oid: int) -> dict:
        got = self._meta.get(oid)
        if got is None:
            o = self.objects[oid]
            got = {
                "id": int(oid),
                "label": label_text(o.label),
                "center": [float(v) for v in np.asarray(o.center, float)],
                "extents": [float(v) for v in np.asarray(o.extents, float)],
                "rotation": [[float(v) for v in row] for row in np.asarray(o.rotation, float)],
            }
            self._meta[oid] = got
        return got

    def point(self, view: int, oid: int) -> list[int]:
        """The object's marker point in image `view`, 0..1000."""
        return self._normalised(view, oid, "point")

    def box(self, view: int, oid: int) -> list[int]:
        """The object's 2D box in image `view`, 0..1000."""
        return self._normalised(view, oid, "bbox")

    def _normalised(self, view: int, oid: int, kind: str) -> list[int]:
        key = (view, oid, kind)
        got = self._norm.get(key)
        if got is None:
            im = self.images[view]
            got = self._norm[key] = [int(v) for v in normalize_xy(getattr(im.visible[oid], kind), im.width, im.height)]
        return list(got)

    def box_px(self, view: int, oid: int) -> np.ndarray:
        return np.asarray(self.images[view].visible[oid].bbox, float)


_INDEX: dict[int, tuple[weakref.ref, SceneIndex]] = {}


def scene_index(records: SceneRecords) -> SceneIndex:
    """The SceneIndex of `records`, reused across the tasks of one scene."""
    key = id(records)
    hit = _INDEX.get(key)
    if hit is not None and hit[0]() is records:
        return hit[1]
    for k in [k for k, (ref, _) in _INDEX.items() if ref() is None]:
        del _INDEX[k]
    index = SceneIndex(records)
    _INDEX[key] = (weakref.ref(records), index)
    return index


# ---------------------------------------------------------------- sampling helpers


class BufferedRng:
    """Wraps a Generator: scalar `random()` draws come from blocks (10x cheaper); other methods delegate.

    Deterministic for a given generator state, so outputs stay byte-identical per seed.
    """

    BLOCK = 256

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._buf: list[float] = []

    def random(self, size: Any = None) -> Any:
        if size is not None:
            return self.rng.random(size)
        if not self._buf:
            self._buf = self.rng.random(self.BLOCK).tolist()[::-1]
        return self._buf.pop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rng, name)


def norm3(v: np.ndarray) -> float:
    """Length of a 3-vector (np.linalg.norm is slow on tiny arrays)."""
    return math.sqrt(float(v[0]) ** 2 + float(v[1]) ** 2 + float(v[2]) ** 2)


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors (np.cross is slow on tiny arrays)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def rand_index(rng: np.random.Generator, n: int) -> int:
    """A uniform index below n (cheaper than rng.integers for scalars)."""
    return min(int(rng.random() * n), n - 1)


def rand_sample(rng: np.random.Generator, items: list, k: int) -> list:
    """k distinct items in random order (partial Fisher-Yates; cheaper than rng.choice for small k)."""
    pool = list(items)
    for i in range(k):
        j = i + rand_index(rng, len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def pick_single(ix: SceneIndex, rng: np.random.Generator, n: int, disjoint_2d: bool = False) -> tuple[int, list[int]] | str:
    """One image and n distinct objects visible in it (pairwise 3D-disjoint, optionally 2D-disjoint)."""
    pool = ix.images_with(n)
    if not pool:
        return "too_few_objects"
    view = pool[rand_index(rng, len(pool))]
    ids = rand_sample(rng, ix.visible[view], n)
    if n > 1 and ix.any_overlap3d(ids):
        return "overlap_3d"
    if disjoint_2d and any(boxes_overlap_2d(ix.box_px(view, a), ix.box_px(view, b)) for a, b in itertools.combinations(ids, 2)):
        return "overlap_2d"
    return view, ids


def pick_views(ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> list[int] | str:
    """A main image plus 1..max_views-1 co-visible images (the main view comes first)."""
    pool = ix.covisible_images()
    if not pool:
        return "no_covisible_views"
    main = pool[rand_index(rng, len(pool))]
    others = ix.neighbours(main)
    hi = min(cfg.max_views, len(others) + 1)
    k = cfg.min_views + rand_index(rng, hi - cfg.min_views + 1) if hi >= cfg.min_views else 0
    if k < 2:
        return "no_covisible_views"
    extra = rand_sample(rng, others, k - 1)
    return [main] + sorted(extra, key=lambda j: ix.images[j].frame_index)


def assign_objects(ix: SceneIndex, rng: np.random.Generator, views: list[int], n: int) -> list[tuple[int, int]] | str:
    """n distinct objects seen in `views`, each with the view position it is marked in.

    Spreads the objects: a single object comes from a non-main view; with two or more, the
    second is taken from a different view than the first, so markers sit in >= 2 images.
    """
    chosen: list[tuple[int, int]] = []
    first_positions = list(range(1, len(views))) if n == 1 else list(range(len(views)))
    pos = first_positions[rand_index(rng, len(first_positions))]
    ids = ix.visible[views[pos]]
    if not ids:
        return "too_few_objects"
    chosen.append((ids[rand_index(rng, len(ids))], pos))
    if n == 1:
        return chosen
    other = [p for p in range(len(views)) if p != pos]
    pos2 = other[rand_index(rng, len(other))]
    ids2 = [o for o in ix.visible[views[pos2]] if o != chosen[0][0]]
    if not ids2:
        return "same_image"
    chosen.append((ids2[rand_index(rng, len(ids2))], pos2))
    taken = {chosen[0][0], chosen[1][0]}
    union = sorted({(o, p) for p, v in enumerate(views) for o in ix.visible[v] if o not in taken})
    while len(chosen) < n:
        rest = [(o, p) for o, p in union if o not in taken]
        if not rest:
            return "too_few_objects"
        o, p = rest[rand_index(rng, len(rest))]
        chosen.append((o, p))
        taken.add(o)
    return rand_sample(rng, chosen, n)


def disjoint_2d_in_views(ix: SceneIndex, views: list[int], placed: list[tuple[int, int]]) -> bool:
    """True when objects marked in the same image have non-overlapping 2D boxes."""
    for (a, pa), (b, pb) in itertools.combinations(placed, 2):
        if pa == pb and boxes_overlap_2d(ix.box_px(views[pa], a), ix.box_px(views[pb], b)):
            return False
    return True


def sample_objects(ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig, view: str, colours: list[str],
                   kind: str, disjoint_2d: bool = False) -> Candidate | str:
    """Sample views and one object per marker colour, single view or spread over views."""
    n = len(colours)
    if view == "single":
        got = pick_single(ix, rng, n, disjoint_2d)
        if isinstance(got, str):
            return got
        v, ids = got
        if kind == "point" and any(ix.images[v].visible[o].point_occluded for o in ids):
            return "marker_occluded"
        return Candidate([v], ids, [(c, kind, r, 0) for r, c in enumerate(colours)])
    views = pick_views(ix, rng, cfg)
    if isinstance(views, str):
        return views
    placed = assign_objects(ix, rng, views, n)
    if isinstance(placed, str):
        return placed
    ids = [o for o, _ in placed]
    if kind == "point" and any(ix.images[views[p]].visible[o].point_occluded for o, p in placed):
        return "marker_occluded"
    if n > 1 and ix.any_overlap3d(ids):
        return "overlap_3d"
    if disjoint_2d and not disjoint_2d_in_views(ix, views, placed):
        return "overlap_2d"
    return Candidate(views, ids, [(c, kind, r, p) for r, (c, (_, p)) in enumerate(zip(colours, placed))])


# ---------------------------------------------------------------- value helpers


def label_text(label: str) -> str:
    return str(label).replace("_", " ").strip()


def fmt_m(x: float) -> str:
    """Metres with one decimal (never "-0.0")."""
    s = f"{x:.1f}"
    return "0.0" if s == "-0.0" else s


def fmt_int(x: float) -> str:
    s = f"{x:.0f}"
    return "0" if s == "-0" else s


def centers(meta: dict) -> np.ndarray:
    return np.array([o["center"] for o in meta["objects"]], dtype=float)


def cam_depths(meta: dict, cam: Cam) -> np.ndarray:
    """Camera-space z of every meta object's centre in `cam`."""
    return world_to_camera(centers(meta), cam.pose)[:, 2]


def marker_depths(meta: dict, cams: list[Cam]) -> np.ndarray:
    """Camera-space z of each meta object's centre in the camera of the image its marker is drawn in.

    `meta["marked_in"]` gives that image's position per object (multi view); without it every
    object is measured in the first camera (single view).
    """
    where = meta.get("marked_in") or [0] * len(meta["objects"])
    c = centers(meta)
    return np.array([world_to_camera(c[i:i + 1], cams[pos].pose)[0, 2] for i, pos in enumerate(where)])


def relation_word(diff: float, thr: float, pos: str, neg: str) -> str:
    """`pos` when diff > thr, `neg` when diff < -thr, "" when indistinguishable."""
    if diff > thr:
        return pos
    if diff < -thr:
        return neg
    return ""


AXES_OC = (("right", "left"), ("above", "below"), ("front", "behind"))
AXES_OO = (("right", "left"), ("above", "below"), ("closer", "farther"))


def relation_oc(p_cam: np.ndarray, thr: float) -> tuple[list[str], list[float]]:
    """Object at camera point p relative to the observer: left/right (x), above/below (-y), front/behind (z)."""
    diffs = [float(p_cam[0]), float(-p_cam[1]), float(p_cam[2])]
    return [relation_word(d, thr, *AXES_OC[k]) for k, d in enumerate(diffs)], diffs


def relation_oo(pa: np.ndarray, pb: np.ndarray, thr: float) -> tuple[list[str], list[float]]:
    """Object A relative to B in one camera frame: left/right (x), above/below (-y), closer/farther (distance)."""
    diffs = [float(pa[0] - pb[0]), float(pb[1] - pa[1]), norm3(pb) - norm3(pa)]
    return [relation_word(d, thr, *AXES_OO[k]) for k, d in enumerate(diffs)], diffs


def triple_text(parts: list[str]) -> str:
    """The release's option form: "left, above, closer" with "" for an empty component ("left, , closer")."""
    return ", ".join(parts)


PHRASES = {
    "left": "to the left", "right": "to the right", "above": "above", "below": "below",
    "front": "in front", "behind": "behind", "closer": "closer to the camera", "farther": "farther from the camera",
}
JUDGE_PHRASES = {
    "left": "to the left of", "right": "to the right of", "above": "above", "below": "below",
    "closer": "closer to the camera than", "farther": "farther from the camera than",
}
OPPOSITE = {a: b for pair in AXES_OC + AXES_OO for a, b in (pair, pair[::-1])}


def describe(parts: list[str]) -> str:
    """Relation words as prose: "to the left, above and closer to the camera"."""
    words = [PHRASES[p] for p in parts if p]
    if not words:
        return "at an indistinguishable position"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def margin_findings(diffs: list[float], thr: float, band: float, what: str) -> list[str]:
    """Components whose |difference| lies within `band` of the threshold are doubtful."""
    return [f"ambiguous:margin: {what} component {k} differs by {abs(d):.3f} m, near the {thr} m threshold"
            for k, d in enumerate(diffs) if abs(abs(d) - thr) < band]


def relation_options(axes: tuple[tuple[str, str], ...], truth: list[str]) -> Callable[[np.random.Generator, int], list[str]]:
    """Distractor maker for relation triples: distinct triples, not all empty, differing from the truth."""
    def make(rng: np.random.Generator, n: int) -> list[str]:
        pool = [t for t in _triples(axes) if t != truth]
        return [triple_text(t) for t in rand_sample(rng, pool, n)]
    return make


@lru_cache(maxsize=None)
def _triples(axes: tuple[tuple[str, str], ...]) -> tuple[list[str], ...]:
    """All relation triples over the axes except the all-empty one."""
    return tuple(list(t) for t in itertools.product(*[(a, b, "") for a, b in axes]) if any(t))


def numeric_options(value: float, fmt: Callable[[float], str], step: float) -> Callable[[np.random.Generator, int], list[str] | None]:
    """Distractors on a `step` grid within +-50% of the value, distinct after rounding, never the rounded truth."""
    def make(rng: np.random.Generator, n: int) -> list[str] | None:
        seen = {fmt(value)}
        grid = list(range(max(1, math.ceil(abs(value) * 0.5 / step - 1e-9)), math.floor(abs(value) * 1.5 / step + 1e-9) + 1))
        out: list[str] = []
        for i in range(len(grid)):  # lazy Fisher-Yates: format only what is drawn
            j = i + rand_index(rng, len(grid) - i)
            grid[i], grid[j] = grid[j], grid[i]
            text = fmt(grid[i] * step)
            if text not in seen:
                seen.add(text)
                out.append(text)
                if len(out) == n:
                    return out
        return None
    return make


def fixed_options(values: list[str]) -> Callable[[np.random.Generator, int], list[str]]:
    """Binary questions: the other option(s) are fixed (e.g. the two objects' names)."""
    def make(rng: np.random.Generator, n: int) -> list[str]:
        return list(values[:n])
    return make


# ---------------------------------------------------------------- rendering


@lru_cache(maxsize=None)
def stems_for(key: str, fmt: str) -> list[str]:
    """The question stems of a template key for one format (a "<key>:<format>" pool wins)."""
    return T.STEMS.get(f"{key}:{fmt}") or T.STEMS[key]


def _stems(task: TaskDef, fmt: str) -> list[str]:
    return stems_for(task.stems, fmt)


def choose(task: TaskDef, fmt: str, facts: Facts, rng: np.random.Generator) -> dict | None:
    """Random phrasing choices (and select options) for one record; None when no distractors exist."""
    q: dict[str, Any] = {"stem": rand_index(rng, len(_stems(task, fmt)))}
    if task.mv_note:
        q["mv"] = rand_index(rng, len(T.MV_NOTES[task.mv_note]))
    if fmt == "select":
        n = task.n_options
        truth = facts.select_truth or facts.truth
        others = facts.options(rng, n - 1) if facts.options else None
        if not others or len(set(others)) != n - 1 or truth in others:
            return None
        at = rand_index(rng, n)
        q["options"] = others[:at] + [truth] + others[at:]
        q["lead"] = rand_index(rng, len(T.SELECT_LEAD))
    elif fmt == "fill":
        q["instr"] = rand_index(rng, len(T.FILL[task.fill]))
    elif fmt == "sentence":
        q["instr"] = rand_index(rng, len(T.SENTENCE_INSTR))
        q["answer"] = rand_index(rng, len(T.ANSWERS[task.answers]))
    elif fmt == "judge":
        axes = [k for k, p in enumerate(facts.parts) if p]
        if not axes:
            return None
        axis = axes[rand_index(rng, len(axes))]
        yes = rand_index(rng, 2) == 1
        q["judge"] = {"axis": axis, "word": facts.parts[axis] if yes else OPPOSITE[facts.parts[axis]]}
        q["instr"] = rand_index(rng, len(T.JUDGE_INSTR))
    return q


def render(task: TaskDef, fmt: str, facts: Facts, q: dict) -> tuple[str, str]:
    """(question, answer) from facts and stored choices; pure, so verify can repeat it."""
    fields = dict(facts.fields)
    if fmt == "judge":
        fields["rel"] = JUDGE_PHRASES[q["judge"]["word"]]
    pieces = [_stems(task, fmt)[q["stem"]].format(**fields)]
    if task.center_note:
        pieces.append(T.CENTER_NOTE)
    if task.unit_note:
        pieces.append(T.UNIT_NOTE)
    if task.mv_note:
        pieces.append(T.MV_NOTES[task.mv_note][q["mv"]])
    if fmt == "select":
        # the release's layout: notes, lead, each option and the closing sentence on lines of their own
        opts = q["options"]
        lines = [" ".join(pieces), *T.SELECT_NOTES.get(task.select_note or "", ()), T.SELECT_LEAD[q["lead"]]]
        lines += [f"{LETTERS[k]}. {o}" for k, o in enumerate(opts)]
        lines.append(select_instruction(len(opts)))
        truth = facts.select_truth or facts.truth
        return "\n".join(lines), LETTERS[opts.index(truth)] if truth in opts else "?"
    if fmt == "fill":
        pieces.append(T.FILL[task.fill][q["instr"]])
        answer = facts.truth
    elif fmt == "sentence":
        pieces.append(T.SENTENCE_INSTR[q["instr"]])
        answer = T.ANSWERS[task.answers][q["answer"]].format(**fields)
        answer = answer[0].upper() + answer[1:]
    elif fmt == "judge":
        pieces.append(T.JUDGE_INSTR[q["instr"]])
        answer = "Yes" if facts.parts[q["judge"]["axis"]] == q["judge"]["word"] else "No"
    else:
        raise ValueError(f"unknown format {fmt}")
    return " ".join(pieces), answer


def select_instruction(n: int) -> str:
    """The closing sentence of a select question (the release's wording)."""
    if n == 2:
        return "Your answer can only include one of options A, B."
    return "Your answer can only include one of options " + ", ".join(LETTERS[: n - 1]) + f" or {LETTERS[n - 1]}."


# ---------------------------------------------------------------- generate / verify


def build_markers(ix: SceneIndex, task: str, view: str, cand: Candidate) -> dict[str, Any]:
    """Marker fields in the release schema: 0..1000, each wrapped in one extra list, *_img_idx for multi view."""
    markers: dict[str, Any] = {}
    where: dict[str, int] = {}
    for colour, kind, role, pos in cand.marks:
        vi, oid = cand.views[pos], cand.objects[role]
        coords = ix.point(vi, oid) if kind == "point" else ix.box(vi, oid)
        markers[f"{colour}_{kind}"] = [coords]
        where[f"{colour}_{kind}"] = pos
    if view == "multi":
        for kind, order_map, default, key in (("point", POINT_ORDER, DEFAULT_POINT_ORDER, "point_img_idx"),
                                               ("bbox", BBOX_ORDER, DEFAULT_BBOX_ORDER, "bbox_img_idx")):
            idx = [where[f"{c}_{kind}"] for c in order_map.get(task, default) if f"{c}_{kind}" in where]
            if idx:
                markers[key] = [idx]
    return markers


def _value_json(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_value_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return value


def generate_task(task: TaskDef, records: SceneRecords, rng: np.random.Generator, config: GenConfig | None) -> list[QARecord]:
    """All formats of one task for one scene; skipped candidates are counted in config.skipped."""
    cfg = config or GenConfig()
    ix = scene_index(records)
    rng = BufferedRng(rng)
    out: list[QARecord] = []
    if not ix.images:
        return out
    for fmt in task.formats:
        seen: set = set()
        made = 0
        for _ in range(cfg.samples_per_format * cfg.attempts_per_sample):
            if made >= cfg.samples_per_format:
                break
            cand = task.sample(ix, rng, cfg)
            if isinstance(cand, str):
                cfg.skipped[f"{task.name}: {cand}"] += 1
                continue
            key = (tuple(cand.views), tuple(cand.objects) if task.object_questions else (), repr(sorted(cand.extra.items())))
            if key in seen:
                cfg.skipped[f"{task.name}: duplicate"] += 1
                continue
            meta: dict[str, Any] = {
                "scene": ix.scene_id,
                "frames": [ix.images[v].frame_index for v in cand.views],
                "objects": [dict(ix.object_meta(o)) for o in cand.objects],
                **cand.extra,
            }
            facts = task.derive(meta, [ix.cams[v] for v in cand.views], cfg)
            reason = facts.skip or ("inconsistent" if facts.errors else None)
            if reason is None:
                q = choose(task, fmt, facts, rng)
                reason = None if q is not None else "no_distractors"
            if reason:
                cfg.skipped[f"{task.name}: {reason}"] += 1
                continue
            seen.add(key)
            question, answer = render(task, fmt, facts, q)
            meta["value"] = _value_json(facts.value)
            meta["q"] = q
            imgs = [ix.images[v] for v in cand.views]
            out.append(QARecord(
                id=f"{ix.scene_id}_{task.name}_{fmt}_{made}",
                task=task.name,
                format=fmt,
                question=question,
                answer=answer,
                images=[keyframe_image(ix.scene_id, im.frame_index) for im in imgs],
                source=ix.source,
                scene=ix.scene_id,
                depths=[keyframe_depth(ix.scene_id, im.frame_index) for im in imgs] if all(im.depth_path for im in imgs) else [],
                markers=build_markers(ix, task.name, task.view, cand),
                meta=meta,
            ))
            made += 1
    return out


def cams_from_lookup(record: QARecord, lookup: Any) -> list[Cam]:
    cams = []
    for path in record.images:
        w, h = lookup.size(path)
        cams.append(Cam(np.asarray(lookup.pose(path), float), np.asarray(lookup.intrinsics(path), float)[:3, :3], int(w), int(h)))
    return cams


def _close(a: Any, b: Any, tol: float) -> bool:
    try:
        return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), atol=tol, rtol=0))
    except (TypeError, ValueError):
        return a == b


def verify_task(task: TaskDef, record: QARecord, lookup: Any, config: GenConfig | None = None) -> list[str]:
    """Re-derive the record from meta and the read-back cameras; report mismatches and doubts."""
    cfg = config or GenConfig()
    meta = record.meta or {}
    if "q" not in meta or "objects" not in meta:
        return ["mismatch: record has no generator meta to re-derive from"]
    cams = cams_from_lookup(record, lookup)  # a missing pose is the caller's error, not a wrong answer
    try:
        facts = task.derive(meta, cams, cfg)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        return [f"mismatch: cannot re-derive from meta ({type(exc).__name__}: {exc})"]
    found = [f"mismatch: {e}" for e in facts.errors]
    if facts.skip:
        found.append(f"mismatch: re-derived candidate would be skipped ({facts.skip})")
    if "value" in meta and not _close(meta["value"], _value_json(facts.value), 1e-3):
        found.append(f"mismatch: stored value {meta['value']} != re-derived {_value_json(facts.value)}")
    try:
        question, answer = render(task, record.format, facts, meta["q"])
    except (KeyError, IndexError, ValueError) as exc:
        return found + [f"mismatch: cannot re-render ({type(exc).__name__}: {exc})"]
    if answer != record.answer:
        found.append(f"mismatch: answer {record.answer!r} != re-derived {answer!r}")
    if question != record.question:
        found.append("mismatch: question differs from the re-derived one (given values or names changed)")
    return found + facts.margins


def make_specs(defs: list[TaskDef], family: str) -> list[TaskSpec]:
    """TaskSpecs for the registry from this module's task definitions."""
    return [TaskSpec(d.name, family, d.view, d.formats, partial(generate_task, d), partial(verify_task, d), d.bench) for d in defs]


def rows_per_second(records: SceneRecords, tasks: list[str] | None = None, repeats: int = 3, seed: int = 0) -> tuple[int, float]:
    """Micro benchmark: (rows per scene, best rows/s) of the image task generators on ready records.

    Times generation only (the scene index is rebuilt each repeat; visibility is not included) in
    process CPU time, so the rate is per core even on a shared machine.
    """

    table = all_tasks()
    names = tasks or sorted(n for n, s in table.items() if s.family in FAMILIES)
    best = 0.0
    rows = 0
    for k in range(repeats):
        _INDEX.clear()
        start = time.process_time()
        rows = sum(len(table[n].generate(records, np.random.default_rng(seed + k), GenConfig())) for n in names)
        best = max(best, rows / max(time.process_time() - start, 1e-9))
    return rows, best


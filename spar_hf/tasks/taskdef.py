"""What an image task is: `TaskDef` (how to sample, derive and phrase one task folder), the `Candidate` a
sampler returns, the `Facts` a derive computes, the cameras (`Cam`) and the shared `GenConfig`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

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


@dataclass(frozen=True, kw_only=True)
class TaskDef:
    """One task folder: how to sample, derive and phrase it."""

    name: str
    view: str  # "single" | "multi"
    formats: tuple[str, ...]
    sample: Callable[..., Candidate | str]  # (SceneIndex, rng, GenConfig) -> a candidate, or why none
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

"""room_size (video): floor area of the room in square metres (paper 7.5 "Room size", eq. 11-12).

Area computation: mesh vertices are voxel-downsampled (`VOXEL_M`, unique voxel centres); if
fewer than 100 voxels remain the original vertices are used (paper). The points (all of them,
or only those within `FLOOR_BAND_M` of the lowest point when `floor_only`) are projected onto
the floor plane (orthogonal to `scene.up`) and deduplicated; their alpha shape
(`alphashape` library, alpha = 1 / `ALPHA_RADIUS_M`) gives the concave hull whose area is the
answer. When the alpha shape is empty or degenerate (sparse synthetic meshes) the convex hull
(alpha 0) is used and `meta.hull` says so. Rooms under `MIN_AREA_M2` are skipped.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import (
    FILL_NUMBER, RecordMaker, cfg, check_number, clip_frames, fmt_num, numeric_options, pick, select_question,
    skip, video_paths,
)
from spar_hf.tasks.registry import TaskSpec

TASK = "room_size"
VOXEL_M = 0.1
MIN_VOXELS = 100
ALPHA_RADIUS_M = 0.5
FLOOR_BAND_M = 0.3
MIN_AREA_M2 = 4.0
QUESTIONS = (
    "What is the floor area of this room in square meters?",
    "How large is the room shown in the video, in square meters?",
    "Estimate the size of this room's floor in square meters.",
)
ANSWERS = (
    "The room covers about {a} square meters.",
    "The floor area of the room is roughly {a} square meters.",
)


@dataclass(frozen=True)
class RoomArea:
    area: float  # m^2
    hull: str  # "alpha" | "convex"
    n_points: int  # 2D points fed to the hull
    downsampled: bool  # False when the original vertices were used (< MIN_VOXELS voxels)


def _floor_basis(up: np.ndarray) -> np.ndarray:
    """(3, 2) orthonormal basis of the plane orthogonal to `up`."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(up, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    return np.stack([e1, e2], axis=1)


def voxel_downsample(points: np.ndarray, voxel: float) -> np.ndarray:
    """Unique voxel centres of the points (paper: floor(p / s) * s + s / 2)."""
    keys = np.unique(np.floor(np.asarray(points, float) / voxel + 1e-6).astype(np.int64), axis=0)
    return keys * voxel + voxel / 2.0


def room_area(vertices: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0]), *, voxel: float = VOXEL_M,
              alpha_radius: float = ALPHA_RADIUS_M, floor_only: bool = False) -> RoomArea:
    """Floor area (m^2) of the concave hull of the mesh's floor-plane projection.

    The alpha shape costs ~0.5 s for a room of 20 m^2, and does not depend on the task seed, so
    results are memoised by the vertices' digest and the parameters.
    """
    vertices = np.ascontiguousarray(vertices, dtype=float)
    key = (hashlib.sha1(vertices.tobytes()).hexdigest(), tuple(float(v) for v in np.asarray(up, float)), voxel,
           alpha_radius, floor_only)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _room_area(vertices, np.asarray(up, float), voxel, alpha_radius, floor_only)
    return _CACHE[key]


_CACHE: dict[tuple, RoomArea] = {}  # insertion-ordered; oldest entry evicted first
_CACHE_SIZE = 256


def _room_area(vertices: np.ndarray, up: np.ndarray, voxel: float, alpha_radius: float, floor_only: bool) -> RoomArea:
    import alphashape  # deferred, only for room outlines
    from shapely.geometry import MultiPoint

    vertices = np.asarray(vertices, float)
    if len(vertices) < 3:
        return RoomArea(0.0, "convex", len(vertices), False)
    up = np.asarray(up, float) / np.linalg.norm(up)
    points = voxel_downsample(vertices, voxel)
    downsampled = len(points) >= MIN_VOXELS
    if not downsampled:
        points = vertices
    if floor_only:
        height = points @ up
        points = points[height <= height.min() + FLOOR_BAND_M]
    flat = points @ _floor_basis(up)
    flat = np.unique(np.round(flat, 6), axis=0)
    hull_kind = "alpha"
    shape = None
    if len(flat) >= 4:
        with warnings.catch_warnings():  # alphashape's dependencies still build np.matrix
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            shape = alphashape.alphashape([tuple(p) for p in flat], 1.0 / alpha_radius)
    convex = MultiPoint([tuple(p) for p in flat]).convex_hull
    if shape is None or shape.is_empty or shape.area <= 0 or shape.area < 0.5 * convex.area:
        shape, hull_kind = convex, "convex"
    return RoomArea(float(shape.area), hull_kind, len(flat), downsampled)


def generate(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    scene = records.scene
    if not records.video or scene is None or len(getattr(scene, "vertices", [])) == 0:
        return []
    result = room_area(scene.vertices, getattr(scene, "up", np.array([0.0, 0.0, 1.0])),
                       voxel=float(cfg(config, "room_voxel_m", VOXEL_M)),
                       alpha_radius=float(cfg(config, "room_alpha_radius_m", ALPHA_RADIUS_M)),
                       floor_only=bool(cfg(config, "room_floor_only", False)))
    if result.area < float(cfg(config, "room_min_area_m2", MIN_AREA_M2)):
        skip(config, "room_size: room_too_small")
        return []
    maker = RecordMaker(records, TASK)
    images = video_paths(records)
    meta = {"frames": clip_frames(records), "objects": [], "value": result.area, "hull": result.hull,
            "n_points": result.n_points, "downsampled": result.downsampled}
    area = fmt_num(result.area)
    q = pick(rng, QUESTIONS)
    options, letter = numeric_options(result.area, rng)
    return [
        maker.make("fill", f"{q} {FILL_NUMBER}", area, images, meta),
        maker.make("select", select_question(q, options, note=""), letter, images, meta),
        maker.make("sentence", q, pick(rng, ANSWERS).format(a=area), images, meta),
    ]


def verify(record: QARecord, lookup: Any = None) -> list[str]:
    findings = check_number(record, float(record.meta["value"]))
    if record.meta.get("hull") == "convex":
        findings.append("ambiguous:convex_hull: alpha shape degenerate, convex hull used (concave rooms overestimated)")
    return findings


TASKS = [TaskSpec(name=TASK, family="room_size", view="video", formats=("fill", "select", "sentence"), generate=generate, verify=verify)]

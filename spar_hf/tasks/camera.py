"""Camera tasks on a co-visible image pair (the two images share at least one visible object).

camera_motion_infer: the second camera's centre projected into image 1, (u, v) in 0..1000 and
its depth z in metres; pairs where it projects outside image 1 or closer than
`min_camera_depth_m` are skipped. view_change_infer: the relative pose image1 -> image2 in
camera-1 axes: translation (right = x, up = -y, forward = z, metres) and the second camera's
viewing direction as pitch (up positive) and yaw (right positive) in degrees; roll is ignored.
"""

from __future__ import annotations

import math

import numpy as np

from spar_hf.geometry import camera_to_pixel, relative_pose, rotation_angle_deg, world_to_camera
from spar_hf.tasks.generic import make_specs
from spar_hf.tasks.primitives import rand_index
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, Cam, Facts, GenConfig, TaskDef
from spar_hf.tasks.values import fmt_int, fmt_m, numeric_options


def sample_pair(ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    """A co-visible image pair (i, j) and one object both show."""
    pool = ix.covisible_images()
    if not pool:
        return "no_covisible_views"
    i = pool[rand_index(rng, len(pool))]
    nb = ix.neighbours(i)
    return _pair(ix, rng, i, nb[rand_index(rng, len(nb))])


def _pair(ix: SceneIndex, rng: np.random.Generator, i: int, j: int) -> Candidate:
    shared = sorted(set(ix.visible[i]) & set(ix.visible[j]))
    return Candidate([i, j], [shared[rand_index(rng, len(shared))]], [])


def sample_projecting_pair(ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    """A co-visible pair whose second camera projects into the first image (precomputed per scene, vectorised)."""
    key = f"projecting_pairs:{cfg.min_camera_depth_m}"
    pairs = ix.cache.get(key)
    if pairs is None:
        pairs = []
        centres = np.array([c.pose[:3, 3] for c in ix.cams])
        for i in ix.covisible_images():
            cam = ix.cams[i]
            uv, z = camera_to_pixel(world_to_camera(centres, cam.pose), cam.K)
            with np.errstate(invalid="ignore"):
                ok = (z >= cfg.min_camera_depth_m) & (uv[:, 0] >= 0) & (uv[:, 0] < cam.width) & (uv[:, 1] >= 0) & (uv[:, 1] < cam.height)
            pairs += [(i, j) for j in ix.neighbours(i) if ok[j]]
        ix.cache[key] = pairs
    if not pairs:
        return "no_projecting_pair"
    return _pair(ix, rng, *pairs[rand_index(rng, len(pairs))])


def uv_text(u: float, v: float) -> str:
    return f"({fmt_int(u)}, {fmt_int(v)})"


def _camera_options(u: float, v: float, depth: float):
    depths = numeric_options(depth, fmt_m, 0.1)

    def make(rng: np.random.Generator, n: int) -> list[str] | None:
        ds = depths(rng, n)
        if ds is None:
            return None
        pts: list[tuple[float, float]] = []
        for p in rng.uniform(50, 950, size=(64, 2)).round().tolist():
            if len(pts) == n:
                break
            if math.hypot(p[0] - u, p[1] - v) > 150 and all(math.hypot(p[0] - q[0], p[1] - q[1]) > 150 for q in pts):
                pts.append(p)
        if len(pts) < n:
            return None
        return [f"Image Coor: {uv_text(*p)}, Depth: {d} meters" for p, d in zip(pts, ds)]
    return make


def derive_motion(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    c1, c2 = cams
    p = world_to_camera(c2.pose[:3, 3][None], c1.pose)
    uv, z = camera_to_pixel(p, c1.K)
    z = float(z[0])
    u, v = (float(x) for x in uv[0])
    un, vn = (u / c1.width * 1000.0, v / c1.height * 1000.0) if z > 0 else (float("nan"), float("nan"))
    facts = Facts(fields={"uv": uv_text(un, vn) if z > 0 else "", "depth": fmt_m(z)},
                  truth=f"{uv_text(un, vn)}, {fmt_m(z)}" if z > 0 else "", value=[un, vn, z],
                  select_truth=f"Image Coor: {uv_text(un, vn)}, Depth: {fmt_m(z)} meters" if z > 0 else None,
                  options=_camera_options(un, vn, z))
    if z < cfg.min_camera_depth_m:
        facts.skip = "behind_or_too_close"
    elif not (0 <= u < c1.width and 0 <= v < c1.height):
        facts.skip = "outside_view"
    return facts


KEYS = (("move_right", "move_left"), ("move_up", "move_down"), ("move_forward", "move_backward"),
        ("rotate_up", "rotate_down"), ("rotate_right", "rotate_left"))
WORDS = (("right", "left"), ("up", "down"), ("forward", "backward"), ("up", "down"), ("right", "left"))


def view_change(pose1: np.ndarray, pose2: np.ndarray) -> np.ndarray:
    """[right, up, forward] (m, camera-1 axes) and [pitch up, yaw right] (deg) of camera 2 relative to camera 1."""
    rel = relative_pose(pose1, pose2)
    t = rel[:3, 3]
    f = rel[:3, 2]
    yaw = np.degrees(np.arctan2(f[0], f[2]))
    pitch = np.degrees(np.arctan2(-f[1], np.hypot(f[0], f[2])))
    return np.array([t[0], -t[1], t[2], pitch, yaw])


def change_text(values: np.ndarray) -> str:
    """The bench answer: all five axes listed, key by sign (a value rounding to 0 takes the first key)."""
    items = []
    for k, x in enumerate(values):
        text = fmt_m(abs(x)) if k < 3 else fmt_int(abs(x))
        neg = x < 0 and float(text) != 0.0
        items.append(f"{KEYS[k][1 if neg else 0]}:{text}")
    return ",".join(items)


def derive_change(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    vals = view_change(cams[0].pose, cams[1].pose)
    fields = {}
    for k, (name, deg) in enumerate((("mx", False), ("my", False), ("mz", False), ("pitch", True), ("yaw", True))):
        text = fmt_int(abs(vals[k])) if deg else fmt_m(abs(vals[k]))
        fields[name] = text
        fields[("dx", "dy", "dz", "dp", "dyaw")[k]] = WORDS[k][1 if vals[k] < 0 and float(text) != 0.0 else 0]
    facts = Facts(fields=fields, truth=change_text(vals), value=[float(x) for x in vals])
    moved = np.linalg.norm(vals[:3])
    turned = rotation_angle_deg(relative_pose(cams[0].pose, cams[1].pose)[:3, :3])
    if moved < cfg.min_view_change_m and turned < cfg.min_view_change_deg:
        facts.skip = "no_motion"
    return facts


DEFS = [
    TaskDef(name="camera_motion_infer", view="multi", formats=("fill", "select", "sentence"),
            sample=sample_projecting_pair, derive=derive_motion, stems="cammotion", answers="cammotion", fill="camera",
            center_note=False, bench=True, object_questions=False),
    TaskDef(name="view_change_infer", view="multi", formats=("fill", "sentence"), sample=sample_pair,
            derive=derive_change, stems="viewchange", answers="viewchange", fill="viewchange", center_note=False,
            bench=True, object_questions=False),
]
TASKS = make_specs(DEFS, "camera")

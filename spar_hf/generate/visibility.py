"""Which objects each keyframe sees, and where (paper appendix 7.4): image and object records.

Per frame, every object vertex is projected at once (one matrix product for the whole scene).
A vertex is visible when it is in front of the camera, inside the image, and not occluded: its
camera depth z is at most the depth map's reading at its pixel plus a tolerance
(z <= d + tol). The one-sided test (rather than |z - d| < tol) keeps silhouette vertices, whose
pixel often sees the background behind them. A zero depth reading (no data) does not count as
visible. Frames without a depth map are ray cast once (embree) into a depth map instead, at most
`raycast_width` pixels wide. An object is visible in a frame when
  visible vertices / all its vertices >= min_visible_fraction,
  area of the 2D box of its visible vertices >= min_bbox_area_px, and
  the camera depth of its 3D box centre lies in depth_range.
Its marker `point` is the projected 3D box centre when that falls inside the box, else the box centre.
`point_occluded` says another surface lies in front of the object there: the depth reading at the
point is nearer than where the ray enters the object's 3D box (less the tolerance), e.g. a desk's
centre seen through a chair in front of it. A reading at or beyond the entry keeps the point: the
object itself, or what shows through a thin or open object (the floor between chair legs). Point
marker tasks skip occluded points (`marker_occluded`); a zero reading (no data) is not evidence.
A depth map that cannot be decoded (e.g. a truncated PNG) skips the frame, counted in
`scene.skipped["unreadable depth"]` and logged with the file name. A depth map is read at any
resolution by scaling each axis to the colour image's, which holds only for the same field of view:
one whose aspect ratio differs from its colour image's by more than 1 % (`geometry.same_aspect`;
ScanNet's 640x480 depth for 1296x968 colour is 0.4 % off) skips the frame too, counted as
"depth aspect ratio differs from colour image" (it used to be stretched silently).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.geometry import same_aspect
from spar_hf.records import ImageRecord, ObjectRecord, SceneRecords, VisibleObject
from spar_hf.scene.model import Frame, Scene, count_skipped
from spar_hf.scene.render import RayCaster

log = logging.getLogger(__name__)

STRUCTURAL_LABELS = frozenset({"wall", "floor", "ceiling"})
ASPECT_SKIP = "depth aspect ratio differs from colour image"


@dataclass
class VisibilityConfig:
    """Thresholds of the visibility test (paper 7.4; its numbers are not in the text, these are ours)."""

    min_visible_fraction: float = 0.15  # visible vertices / all vertices of the object
    min_bbox_area_px: float = 1024.0  # 2D box area in pixels of the frame's colour image (32 x 32)
    depth_range: tuple[float, float] = (0.1, 10.0)  # metres, camera z of the box centre
    depth_tolerance_m: float = 0.08  # a vertex up to this far behind the depth reading still counts
    exclude_labels: frozenset[str] = field(default_factory=lambda: STRUCTURAL_LABELS)  # room parts are not objects
    raycast_width: int = 640  # ray-cast depth resolution (width) for frames without a depth map


class ObjectTable:
    """All object vertices concatenated, grouped by object, for per-frame vectorised tests."""

    def __init__(self, scene: Scene, config: VisibilityConfig):
        self.objects = [o for o in scene.objects if o.label not in config.exclude_labels and o.vertex_ids.size > 0]
        counts = np.array([o.vertex_ids.size for o in self.objects], dtype=np.int64)
        self.counts = counts
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        ids = np.concatenate([o.vertex_ids for o in self.objects]) if self.objects else np.zeros(0, dtype=np.int64)
        self.points = np.asarray(scene.vertices, dtype=float)[ids]
        self.centers = np.array([o.center for o in self.objects], dtype=float).reshape(-1, 3)


def read_depth(frame: Frame) -> np.ndarray:
    """The frame's depth map in metres (0 = no reading). Raises OSError/ValueError when undecodable."""
    with Image.open(frame.depth_path) as im:
        if im.mode in ("1", "L", "P"):
            raise ValueError(f"depth map is 8-bit (mode {im.mode}); expected 16-bit")
        im.load()
        depth = np.asarray(im, dtype=np.float64)
    if depth.ndim != 2:
        raise ValueError(f"expected a single-channel depth image, got shape {depth.shape}")
    return depth / float(frame.depth_scale)


def _raycast_depth(caster: RayCaster, frame: Frame, max_width: int) -> np.ndarray:
    scale = min(1.0, max_width / frame.width)
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    k = np.array(frame.intrinsics, dtype=float)
    sx, sy = width / frame.width, height / frame.height
    k_scaled = np.array([[k[0, 0] * sx, 0.0, (k[0, 2] + 0.5) * sx - 0.5], [0.0, k[1, 1] * sy, (k[1, 2] + 0.5) * sy - 0.5], [0.0, 0.0, 1.0]])
    return caster.cast(frame.pose, k_scaled, width, height)[1]


def frame_visibility(table: ObjectTable, frame: Frame, depth: np.ndarray, config: VisibilityConfig) -> dict[int, VisibleObject]:
    """Visible objects of one frame given its depth map (metres; any resolution, same field of view)."""
    if not table.objects:
        return {}
    pose = np.asarray(frame.pose, dtype=float)
    rot, t = pose[:3, :3], pose[:3, 3]
    k = frame.intrinsics
    cam = np.einsum("ij,jk->ik", table.points - t, rot)  # einsum: no BLAS threads for an (N, 3) x (3, 3) product
    z = cam[:, 2]
    front = z > 1e-6
    safe_z = np.where(front, z, 1.0)
    u = k[0, 0] * cam[:, 0] / safe_z + k[0, 2]
    v = k[1, 1] * cam[:, 1] / safe_z + k[1, 2]
    inside = front & (u >= 0) & (u <= frame.width - 1) & (v >= 0) & (v <= frame.height - 1)
    dh, dw = depth.shape
    du = np.clip(np.rint((u + 0.5) * (dw / frame.width) - 0.5), 0, dw - 1).astype(np.int64)
    dv = np.clip(np.rint((v + 0.5) * (dh / frame.height) - 0.5), 0, dh - 1).astype(np.int64)
    reading = np.where(inside, depth[np.where(inside, dv, 0), np.where(inside, du, 0)], 0.0)
    vis = inside & (reading > 0) & (z <= reading + config.depth_tolerance_m)

    n_visible = np.add.reduceat(vis.astype(np.int64), table.starts)
    fraction = n_visible / table.counts
    u_lo = np.minimum.reduceat(np.where(vis, u, np.inf), table.starts)
    u_hi = np.maximum.reduceat(np.where(vis, u, -np.inf), table.starts)
    v_lo = np.minimum.reduceat(np.where(vis, v, np.inf), table.starts)
    v_hi = np.maximum.reduceat(np.where(vis, v, -np.inf), table.starts)
    with np.errstate(invalid="ignore"):
        area = np.where(n_visible > 0, (u_hi - u_lo) * (v_hi - v_lo), 0.0)
    centre_cam = np.einsum("ij,jk->ik", table.centers - t, rot)
    lo, hi = config.depth_range
    keep = (fraction >= config.min_visible_fraction) & (area >= config.min_bbox_area_px) & (centre_cam[:, 2] >= lo) & (centre_cam[:, 2] <= hi)

    out: dict[int, VisibleObject] = {}
    for i in np.flatnonzero(keep):
        obj = table.objects[i]
        bbox = np.array([u_lo[i], v_lo[i], u_hi[i], v_hi[i]])
        cz = centre_cam[i, 2]
        point = np.array([k[0, 0] * centre_cam[i, 0] / cz + k[0, 2], k[1, 1] * centre_cam[i, 1] / cz + k[1, 2]])
        if not (bbox[0] <= point[0] <= bbox[2] and bbox[1] <= point[1] <= bbox[3]):
            point = np.array([(bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0])
        pu = int(np.clip(np.rint((point[0] + 0.5) * (dw / frame.width) - 0.5), 0, dw - 1))
        pv = int(np.clip(np.rint((point[1] + 0.5) * (dh / frame.height) - 0.5), 0, dh - 1))
        entry = box_entry_depth(point, k, centre_cam[i], rot.T @ np.asarray(obj.rotation, float), np.asarray(obj.extents, float))
        shown = float(depth[pv, pu])
        out[obj.id] = VisibleObject(
            object_id=obj.id,
            label=obj.label,
            bbox=bbox,
            point=point,
            center_cam=centre_cam[i].copy(),
            visible_fraction=float(fraction[i]),
            area=float(area[i]),
            point_occluded=bool(0.0 < shown < entry - config.depth_tolerance_m),
        )
    return out


def box_entry_depth(pixel: np.ndarray, k: np.ndarray, centre: np.ndarray, axes: np.ndarray, extents: np.ndarray) -> float:
    """Camera depth z where the ray through `pixel` enters the box (centre and axes in camera coordinates).

    A marker point shows its object when the depth map there is no nearer than this: the object's
    own surface, or something seen through it (the floor between chair legs), lies at or beyond the
    entry. A ray that misses the box (a 2D-box-centre marker of an odd shape) takes the box's
    nearest possible depth, the centre's z less half the diagonal.
    """
    ray = np.array([(pixel[0] - k[0, 2]) / k[0, 0], (pixel[1] - k[1, 2]) / k[1, 1], 1.0])  # z = 1: t is camera z
    origin, direction = axes.T @ -np.asarray(centre, float), axes.T @ ray
    half = extents / 2.0
    near, far = -np.inf, np.inf
    for o, d, h in zip(origin, direction, half):
        if abs(d) < 1e-12:
            if abs(o) > h:
                return float(centre[2] - np.linalg.norm(half))
            continue
        t1, t2 = (-h - o) / d, (h - o) / d
        near, far = max(near, min(t1, t2)), min(far, max(t1, t2))
    if near > far or far <= 0:
        return float(centre[2] - np.linalg.norm(half))
    return float(max(near, 0.0))


def compute_scene_records(scene: Scene, frame_indices: Sequence[int], config: VisibilityConfig | None = None) -> SceneRecords:
    """Image records for the given frames (in the given order) and object records for every
    non-structural object (`frames` lists the kept frames it is visible in; may be empty)."""
    config = config or VisibilityConfig()
    table = ObjectTable(scene, config)
    by_index = {f.index: f for f in scene.frames}
    caster = None
    images: list[ImageRecord] = []
    objects = {
        o.id: ObjectRecord(object_id=o.id, label=o.label, center=o.center, extents=o.extents, rotation=o.rotation)
        for o in table.objects
    }
    for index in frame_indices:
        frame = by_index.get(int(index))
        if frame is None:
            raise SparError(f"scene {scene.id}: frame {index} is not one of its {len(scene.frames)} readable frames")
        if not table.objects:
            depth = None  # nothing to see (e.g. an RxR route without a mesh): no depth read, no ray cast
        elif frame.depth_path:
            try:
                depth = read_depth(frame)
            except (OSError, ValueError, SyntaxError) as exc:
                count_skipped(scene.skipped, "unreadable depth")
                log.warning("%s: unreadable depth map (%s); frame %d skipped", frame.depth_path, exc, frame.index)
                continue
            height, width = depth.shape
            if not same_aspect(width, height, frame.width, frame.height):
                count_skipped(scene.skipped, ASPECT_SKIP)
                log.warning("%s: depth map %dx%d, colour image %dx%d: aspect ratios differ; frame %d skipped",
                            frame.depth_path, width, height, frame.width, frame.height, frame.index)
                continue
        else:
            if caster is None:
                caster = RayCaster(scene.vertices, scene.faces)
            depth = _raycast_depth(caster, frame, config.raycast_width)
        visible = frame_visibility(table, frame, depth, config)
        images.append(ImageRecord(
            scene_id=scene.id,
            frame_index=frame.index,
            color_path=frame.color_path,
            depth_path=frame.depth_path,
            pose=frame.pose,
            intrinsics=frame.intrinsics,
            width=frame.width,
            height=frame.height,
            visible=visible,
        ))
        for object_id in visible:
            objects[object_id].frames.append(frame.index)
    return SceneRecords(scene=scene, images=images, objects=objects)

"""Hand-built SceneRecords for the image task tests.

World: z up. Every camera looks along +x with z up (OpenCV axes in world: right = -y,
down = -z, forward = +x), 640x480, f = 500, principal point (320, 240). For a camera at
(0, ty, tz) a world point (X, Y, Z) therefore has camera coordinates
x = -(Y - ty), y = -(Z - tz), z = X, i.e. depth = X: the tests' expected answers follow from that.
Visibility here is hand rules, independent of spar_hf.generate.visibility: the centre must project inside
the image at depth > 0.3 m; the 2D box is the centre +-(f * 0.2 / z) pixels, the point the centre.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from spar_hf.records import ImageRecord, ObjectRecord, SceneRecords, VisibleObject

W, H, F = 640, 480, 500.0
K = np.array([[F, 0.0, 320.0], [0.0, F, 240.0], [0.0, 0.0, 1.0]])
# columns: camera x (right), y (down), z (forward) in world coordinates
R_PLUS_X = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def pose_at(position, rotation=R_PLUS_X) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = position
    return pose


def cam_coords(point, position) -> np.ndarray:
    """Hand rule for a +x-facing camera at `position`."""
    X, Y, Z = np.asarray(point, float) - np.asarray(position, float)
    return np.array([-Y, -Z, X])


def visible_object(oid: int, label: str, center, position) -> VisibleObject | None:
    p = cam_coords(center, position)
    if p[2] <= 0.3:
        return None
    u, v = F * p[0] / p[2] + 320.0, F * p[1] / p[2] + 240.0
    if not (0 <= u < W and 0 <= v < H):
        return None
    r = F * 0.2 / p[2]
    box = np.array([max(u - r, 0), max(v - r, 0), min(u + r, W - 1), min(v + r, H - 1)])
    return VisibleObject(oid, label, box, np.array([u, v]), p, 1.0, float((box[2] - box[0]) * (box[3] - box[1])))


def make_records(objects: dict[int, tuple], positions: list, scene_id: str = "scene0001_00", rotations=None,
                 visible_override: dict[int, dict[int, VisibleObject]] | None = None) -> SceneRecords:
    """objects: id -> (label, centre, extents[, rotation]); positions: camera centres (frame i at positions[i])."""
    objs = {}
    for oid, spec in objects.items():
        label, center, extents = spec[:3]
        rot = spec[3] if len(spec) > 3 else np.eye(3)
        objs[oid] = ObjectRecord(oid, label, np.asarray(center, float), np.asarray(extents, float), np.asarray(rot, float))
    images = []
    for i, pos in enumerate(positions):
        rot = rotations[i] if rotations is not None else R_PLUS_X
        if visible_override and i in visible_override:
            vis = visible_override[i]
        else:
            vis = {}
            for oid, o in objs.items():
                got = visible_object(oid, o.label, o.center, pos)
                if got is not None:
                    vis[oid] = got
                    o.frames.append(i)
        images.append(ImageRecord(scene_id, i, f"/src/{i}.jpg", f"/src/{i}.png", pose_at(pos, rot), K.copy(), W, H, vis))
    scene = SimpleNamespace(id=scene_id, source="synthetic", up=np.array([0.0, 0.0, 1.0]))
    return SceneRecords(scene=scene, images=images, objects=objs)


class Lookup:
    """FrameLookup over the records (what the layout reader would give back)."""

    def __init__(self, records: SceneRecords):
        self.by_path = {f"{im.scene_id}/image_color/{im.frame_index}.jpg": im for im in records.images}

    def pose(self, image: str) -> np.ndarray:
        return self.by_path[image].pose

    def intrinsics(self, image: str) -> np.ndarray:
        return self.by_path[image].intrinsics

    def size(self, image: str) -> tuple[int, int]:
        im = self.by_path[image]
        return im.width, im.height


def labels_of(record) -> list[str]:
    return [o["label"] for o in record.meta["objects"]]

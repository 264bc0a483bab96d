"""Procedural indoor scenes written in the ScanNet export layout (docs/formats.md "ScanNet export layout").

A scene is a box-shaped room (floor, four walls, ceiling) furnished with labelled boxes placed
without interpenetration, some standing on others (a lamp on a desk, a pillow on a bed), and a
camera carried by a person walking a loop through the room while looking around. The mesh is
subdivided so every object has a few hundred vertices (vertex-visibility needs them); colour and
depth are rendered by one embree ray cast per frame. The output is read back by
`spar_hf.scene.scannet.read_scene` with no special case: the layout is the whole interface.

Everything flows from `spar_hf.utils.rng.scene_rng(seed, scene_id)`, so a scene's bytes depend only on
the seed, its id and the frame count.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image
from shapely.geometry import LineString, Polygon

from spar_hf.geometry import boxes_overlap_3d, look_at
from spar_hf.scene.render import RayCaster
from spar_hf.utils.atomic import TMP_PREFIX, atomic_write_bytes, atomic_write_text
from spar_hf.utils.rng import scene_rng

WIDTH, HEIGHT = 640, 480
FOCAL = 577.5906  # ScanNet's depth-camera focal length, pixels
EYE_HEIGHT = 1.5
OBJECT_SPACING = 0.1  # target mesh edge length on objects (m)
ROOM_SPACING = 0.25  # target mesh edge length on floor, walls, ceiling (m)
MIN_DIVISIONS = 4  # per box edge: at least 6 * 5 * 5 = 150 vertices per object
CORRIDOR = 0.45  # objects keep this clearance (m) from the camera path
GAP = 0.03  # clearance between floor objects and from walls (m)


@dataclass(frozen=True)
class Kind:
    """How a label is sized and where it may stand."""

    size_lo: tuple[float, float, float]  # length (local x), depth (local y), height
    size_hi: tuple[float, float, float]
    colour: tuple[int, int, int]
    floor: bool = True  # may stand on the floor
    wall: bool = False  # stands with its back to a wall
    on: tuple[str, ...] = ()  # labels it may stand on
    support: bool = False  # others may stand on it
    hung: tuple[float, float] | None = None  # hangs flat on a wall, bottom edge this high (m)


VOCABULARY: dict[str, Kind] = {
    "bed": Kind((1.9, 1.4, 0.45), (2.1, 1.8, 0.6), (210, 190, 150), support=True, wall=True),
    "table": Kind((1.0, 0.7, 0.72), (1.6, 0.9, 0.78), (185, 80, 45), support=True),
    "desk": Kind((1.1, 0.6, 0.72), (1.5, 0.75, 0.76), (200, 160, 105), support=True, wall=True),
    "chair": Kind((0.45, 0.45, 0.8), (0.55, 0.55, 1.0), (55, 110, 200)),
    "sofa": Kind((1.6, 0.8, 0.75), (2.2, 0.95, 0.9), (135, 85, 155), support=True, wall=True),
    "cabinet": Kind((0.6, 0.4, 0.8), (1.2, 0.6, 1.1), (95, 160, 150), support=True, wall=True),
    "nightstand": Kind((0.4, 0.35, 0.5), (0.55, 0.45, 0.65), (160, 120, 60), support=True, wall=True),
    "bookshelf": Kind((0.8, 0.3, 1.6), (1.2, 0.4, 2.0), (110, 70, 40), wall=True),
    "refrigerator": Kind((0.6, 0.6, 1.6), (0.8, 0.75, 1.85), (215, 215, 220), wall=True),
    "toilet": Kind((0.38, 0.6, 0.7), (0.45, 0.75, 0.8), (240, 240, 245), wall=True),
    "sink": Kind((0.5, 0.4, 0.8), (0.7, 0.55, 0.9), (190, 200, 210), wall=True),
    "trash can": Kind((0.25, 0.25, 0.3), (0.35, 0.35, 0.5), (60, 60, 65)),
    "box": Kind((0.25, 0.2, 0.15), (0.5, 0.4, 0.35), (190, 150, 90), on=("table", "cabinet", "desk")),
    "backpack": Kind((0.28, 0.18, 0.4), (0.35, 0.25, 0.5), (220, 120, 30), on=("bed",)),
    "plant": Kind((0.25, 0.25, 0.4), (0.4, 0.4, 0.9), (40, 150, 60), on=("table", "cabinet")),
    "lamp": Kind((0.2, 0.2, 0.35), (0.35, 0.35, 0.6), (240, 210, 90), floor=False, on=("table", "desk", "nightstand", "cabinet")),
    "monitor": Kind((0.45, 0.15, 0.35), (0.65, 0.22, 0.5), (30, 30, 35), floor=False, on=("desk", "table")),
    "tv": Kind((0.9, 0.15, 0.55), (1.3, 0.25, 0.8), (20, 20, 25), floor=False, on=("cabinet",)),
    "door": Kind((0.8, 0.05, 2.0), (0.95, 0.08, 2.1), (150, 100, 60), wall=True),
    "window": Kind((0.8, 0.06, 0.9), (1.6, 0.1, 1.3), (170, 210, 235), floor=False, hung=(0.8, 1.0)),
    "picture": Kind((0.35, 0.03, 0.3), (0.9, 0.05, 0.7), (200, 60, 90), floor=False, hung=(1.2, 1.6)),
    "pillow": Kind((0.4, 0.3, 0.1), (0.6, 0.45, 0.18), (230, 200, 210), floor=False, on=("bed", "sofa")),
}
WALL_LABELS = ("door", "window", "picture")
BIG_LABELS = ("bed", "table", "desk", "sofa", "cabinet", "nightstand", "bookshelf", "refrigerator", "toilet", "sink")
SMALL_LABELS = ("trash can", "box", "backpack", "plant", "lamp", "monitor", "tv", "pillow")


@dataclass
class PlacedObject:
    """One furniture box as the generator placed it (world frame, z up)."""

    id: int
    label: str
    center: np.ndarray
    extents: np.ndarray  # along the box's local x, y, z
    yaw: float  # radians, rotation about +z
    colour: tuple[int, int, int]
    support: int | None = None  # id of the object it stands on

    def footprint(self) -> Polygon:
        return Polygon(_rect_corners(self.center[:2], self.extents[:2], self.yaw))


@dataclass
class SynthScene:
    """A generated scene before it is written: room size, objects, camera path."""

    id: str
    size: np.ndarray  # room length x, width y, height z (m); the room spans [0, size]
    objects: list[PlacedObject]
    poses: list[np.ndarray]  # camera-to-world 4x4, OpenCV
    intrinsics: np.ndarray = field(default_factory=lambda: np.array([[FOCAL, 0.0, (WIDTH - 1) / 2], [0.0, FOCAL, (HEIGHT - 1) / 2], [0.0, 0.0, 1.0]]))
    width: int = WIDTH
    height: int = HEIGHT
    scene_type: str = "Living room / Lounge"


def _rect_corners(center: np.ndarray, size: np.ndarray, yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * (np.asarray(size) / 2.0)
    return np.asarray(center)[:2] + half @ np.array([[c, s], [-s, c]])


def _yaw_rotation(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def camera_path(rng: np.random.Generator, size: np.ndarray, n_frames: int) -> list[np.ndarray]:
    """A loop walked at eye height around the room centre, looking across the room with a gentle
    side-to-side sway and a slow nod (pitch 12-32 degrees down)."""
    centre = size[:2] / 2.0 + rng.uniform(-0.15, 0.15, 2)
    semi = np.maximum(0.3, size[:2] / 2.0 - 1.1)
    start = rng.uniform(0, 2 * math.pi)
    direction = rng.choice([-1.0, 1.0])
    span = 2 * math.pi * rng.uniform(0.85, 1.0)
    sway_cycles, nod_cycles = rng.uniform(1.5, 3.0), rng.uniform(1.0, 2.0)
    sway_amp = math.radians(rng.uniform(20, 35))
    phase = rng.uniform(0, 2 * math.pi, 2)
    steps = np.linspace(0.0, 1.0, n_frames)
    poses = []
    for s in steps:
        theta = start + direction * span * s
        eye = np.array([centre[0] + semi[0] * math.cos(theta), centre[1] + semi[1] * math.sin(theta), EYE_HEIGHT + 0.02 * math.sin(40 * s)])
        to_centre = size[:2] / 2.0 - eye[:2]
        yaw = math.atan2(to_centre[1], to_centre[0]) + sway_amp * math.sin(2 * math.pi * sway_cycles * s + phase[0])
        pitch = math.radians(22 + 10 * math.sin(2 * math.pi * nod_cycles * s + phase[1]))
        forward = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), -math.sin(pitch)])
        poses.append(look_at(eye, eye + forward))
    return poses


class _Placer:
    """Rejection sampling of boxes in the room: footprints disjoint, clear of the walk, inside walls."""

    def __init__(self, rng: np.random.Generator, size: np.ndarray, corridor: Polygon):
        self.rng = rng
        self.size = size
        self.inner = Polygon([(0, 0), (size[0], 0), (size[0], size[1]), (0, size[1])]).buffer(-GAP, join_style=2)
        self.corridor = corridor
        self.objects: list[PlacedObject] = []

    def _sample_extents(self, label: str) -> np.ndarray:
        kind = VOCABULARY[label]
        return np.round(self.rng.uniform(kind.size_lo, kind.size_hi), 3)

    def _colour(self, label: str) -> tuple[int, int, int]:
        base = np.array(VOCABULARY[label].colour)
        return tuple(int(v) for v in np.clip(base + self.rng.integers(-30, 31, 3), 0, 255))

    def _clear_3d(self, obj: PlacedObject, others: list[PlacedObject]) -> bool:
        rot = _yaw_rotation(obj.yaw)
        return not any(boxes_overlap_3d(obj.center, obj.extents, rot, o.center, o.extents, _yaw_rotation(o.yaw)) for o in others)

    def _hung(self) -> list[PlacedObject]:
        return [o for o in self.objects if VOCABULARY[o.label].hung]

    def _floor_free(self, poly: Polygon) -> bool:
        """Inside the walls, off the walk, 3 cm from other floor footprints (hung things: see _clear_3d)."""
        if not self.inner.contains(poly) or poly.intersects(self.corridor):
            return False
        grown = poly.buffer(GAP, join_style=2)
        return not any(o.support is None and not VOCABULARY[o.label].hung and grown.intersects(o.footprint()) for o in self.objects)

    def place_floor(self, label: str, tries: int = 60) -> PlacedObject | None:
        kind = VOCABULARY[label]
        for _ in range(tries):
            ext = self._sample_extents(label)
            if kind.wall:
                wall = int(self.rng.integers(4))
                yaw = wall * math.pi / 2
                along, across = (self.size[0], self.size[1]) if wall % 2 == 0 else (self.size[1], self.size[0])
                room_half = along / 2 - ext[0] / 2 - GAP
                if room_half <= 0:
                    continue
                local = np.array([self.rng.uniform(-room_half, room_half), -across / 2 + 2 * GAP + ext[1] / 2])
                xy = self.size[:2] / 2 + _yaw_rotation(yaw)[:2, :2] @ local
            else:
                yaw = float(self.rng.integers(4)) * math.pi / 2 if self.rng.random() < 0.5 else float(self.rng.uniform(-math.pi, math.pi))
                xy = self.rng.uniform([0, 0], self.size[:2])
            centre = np.array([xy[0], xy[1], ext[2] / 2])
            obj = PlacedObject(len(self.objects), label, centre, ext, yaw, self._colour(label))
            if self._floor_free(obj.footprint()) and self._clear_3d(obj, self._hung()):
                self.objects.append(obj)
                return obj
        return None

    def place_hung(self, label: str, tries: int = 30) -> PlacedObject | None:
        """Flat on a wall (1 cm off it), clear of everything in 3D and below the ceiling."""
        lo, hi = VOCABULARY[label].hung
        for _ in range(tries):
            ext = self._sample_extents(label)
            wall = int(self.rng.integers(4))
            yaw = wall * math.pi / 2
            along, across = (self.size[0], self.size[1]) if wall % 2 == 0 else (self.size[1], self.size[0])
            room_half = along / 2 - ext[0] / 2 - 0.1
            bottom = float(self.rng.uniform(lo, hi))
            if room_half <= 0 or bottom + ext[2] > self.size[2] - 0.1:
                continue
            local = np.array([self.rng.uniform(-room_half, room_half), -across / 2 + 0.01 + ext[1] / 2])
            xy = self.size[:2] / 2 + _yaw_rotation(yaw)[:2, :2] @ local
            obj = PlacedObject(len(self.objects), label, np.array([xy[0], xy[1], bottom + ext[2] / 2]), ext, yaw, self._colour(label))
            grown = PlacedObject(obj.id, label, obj.center, obj.extents + 2 * GAP, yaw, obj.colour)
            if not self._clear_3d(grown, self.objects):
                continue
            self.objects.append(obj)
            return obj
        return None

    def place_on(self, label: str, tries: int = 30) -> PlacedObject | None:
        hosts = [o for o in self.objects if o.label in VOCABULARY[label].on]
        if not hosts:
            return None
        for _ in range(tries):
            host = hosts[int(self.rng.integers(len(hosts)))]
            ext = self._sample_extents(label)
            top = host.center[2] + host.extents[2] / 2
            if top + ext[2] > self.size[2] - 0.1:
                continue
            yaw = host.yaw + float(self.rng.uniform(-0.3, 0.3))
            slack = np.maximum(host.extents[:2] / 2 - ext[:2] / 2, 0.0)
            local = self.rng.uniform(-slack, slack)
            xy = host.center[:2] + _yaw_rotation(host.yaw)[:2, :2] @ local
            obj = PlacedObject(len(self.objects), label, np.array([xy[0], xy[1], top + ext[2] / 2]), ext, yaw, self._colour(label), host.id)
            poly = obj.footprint()
            if not host.footprint().buffer(-0.01, join_style=2).contains(poly):
                continue
            if any(o.support == host.id and poly.intersects(o.footprint()) for o in self.objects):
                continue
            if not self._clear_3d(obj, [o for o in self.objects if o.id != host.id]):
                continue
            self.objects.append(obj)
            return obj
        return None


def generate_scene(scene_id: str, seed: int, n_frames: int) -> SynthScene:
    """Lay out one room: size, furniture (8-25 boxes, chairs always >= 2), and the camera walk."""
    rng = scene_rng(seed, scene_id, "synth")
    size = np.round(np.array([rng.uniform(3.0, 7.0), rng.uniform(3.0, 8.0), rng.uniform(2.4, 3.0)]), 3)
    poses = camera_path(rng, size, n_frames)
    walk = LineString([tuple(p[:2, 3]) for p in poses]).buffer(CORRIDOR)
    placer = _Placer(rng, size, walk)
    area = float(size[0] * size[1])
    target = int(min(rng.integers(8, 26), 8 + area * 0.8))
    n_big = int(rng.integers(2, 6))
    for label in rng.choice(BIG_LABELS, size=n_big, replace=True):
        placer.place_floor(str(label))
    for _ in range(int(rng.integers(2, 5))):
        placer.place_floor("chair")
    if rng.random() < 0.8:
        placer.place_floor("door")
    for _ in range(int(rng.integers(0, 3))):
        placer.place_hung("window")
    for _ in range(int(rng.integers(0, 3))):
        placer.place_hung("picture")
    attempts = 0
    while len(placer.objects) < target and attempts < 200:
        attempts += 1
        label = str(rng.choice(SMALL_LABELS + ("chair",)))
        kind = VOCABULARY[label]
        if kind.on and (not kind.floor or rng.random() < 0.7) and placer.place_on(label):
            continue
        if kind.floor:
            placer.place_floor(label)
    while len(placer.objects) < 8 and attempts < 400:
        attempts += 1
        placer.place_floor(str(rng.choice(["box", "trash can"])))
    while max(Counter(o.label for o in placer.objects).values(), default=0) < 2 and attempts < 600:
        attempts += 1  # object counting needs a label with two instances
        placer.place_floor(str(rng.choice(["chair", "box", "trash can"])))
    kinds = {o.label for o in placer.objects}
    scene_type = "Bedroom / Hotel" if "bed" in kinds else "Bathroom" if "toilet" in kinds else "Living room / Lounge"
    return SynthScene(scene_id, size, placer.objects, poses, scene_type=scene_type)


def _grid_quad(origin: np.ndarray, edge_u: np.ndarray, edge_v: np.ndarray, spacing: float, min_div: int) -> tuple[np.ndarray, np.ndarray]:
    """A quad subdivided into a grid; triangles wound so their normal is edge_u x edge_v."""
    nu = max(min_div, math.ceil(np.linalg.norm(edge_u) / spacing))
    nv = max(min_div, math.ceil(np.linalg.norm(edge_v) / spacing))
    a, b = np.meshgrid(np.linspace(0, 1, nu + 1), np.linspace(0, 1, nv + 1), indexing="ij")
    verts = origin + a.reshape(-1, 1) * edge_u + b.reshape(-1, 1) * edge_v
    ia, ib = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
    p00 = (ia * (nv + 1) + ib).ravel()
    p10, p01 = p00 + (nv + 1), p00 + 1
    p11 = p10 + 1
    faces = np.concatenate([np.stack([p00, p10, p11], 1), np.stack([p00, p11, p01], 1)])
    return verts, faces


def _box_quads(center: np.ndarray, extents: np.ndarray, rotation: np.ndarray, inward: bool = False) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """The six sides of a box as (side name, origin, edge_u, edge_v), normals outward (or inward)."""
    half = rotation * (np.asarray(extents) / 2.0)  # columns: half-axis vectors
    quads = []
    for i, name in enumerate("xyz"):
        j, k = (i + 1) % 3, (i + 2) % 3
        for sign in (-1.0, 1.0):
            origin = center + sign * half[:, i] - half[:, j] - half[:, k]
            eu, ev = 2 * half[:, j], 2 * half[:, k]
            if (sign < 0) != inward:
                eu, ev = ev, eu
            quads.append((("-" if sign < 0 else "+") + name, origin, eu, ev))
    return quads


@dataclass
class SceneMesh:
    """The triangle mesh with per-vertex segment ids and the segment groups (ScanNet aggregation)."""

    vertices: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray  # (V, 3) uint8
    face_colors: np.ndarray  # (F, 3) float 0..255
    seg_indices: np.ndarray  # (V,) segment id per vertex
    groups: list[dict]  # {"objectId", "label", "segments"}


def object_parts(label: str, extents: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sub-boxes (centre offset in the object frame, size) of a label's shape; their union's
    bounding box is exactly the object's box. Tables and desks: a 4 cm top on four legs; chairs:
    a seat at half height on four legs plus a backrest on the local -y side; the rest: one box."""
    ex, ey, ez = (float(v) for v in extents)
    if label in ("table", "desk"):
        top, leg = 0.04, min(0.06, ex / 6, ey / 6)
        parts = [(np.array([0.0, 0.0, ez / 2 - top / 2]), np.array([ex, ey, top]))]
        leg_h, leg_z = ez - top, -top / 2
    elif label == "chair":
        seat, leg, back = 0.05, min(0.05, ex / 6, ey / 6), 0.05
        seat_top = ez / 2
        parts = [
            (np.array([0.0, 0.0, -ez / 2 + seat_top - seat / 2]), np.array([ex, ey, seat])),
            (np.array([0.0, -ey / 2 + back / 2, seat_top / 2]), np.array([ex, back, ez - seat_top])),
        ]
        leg_h, leg_z = seat_top - seat, -ez / 2 + (seat_top - seat) / 2
    else:
        return [(np.zeros(3), np.array([ex, ey, ez]))]
    for sx in (-1, 1):
        for sy in (-1, 1):
            parts.append((np.array([sx * (ex - leg) / 2, sy * (ey - leg) / 2, leg_z]), np.array([leg, leg, leg_h])))
    return parts


def build_mesh(scene: SynthScene) -> SceneMesh:
    """Furniture boxes (ids 0..n-1, outward normals) then the room parts (inward normals)."""
    verts, faces, vcols, segs, groups = [], [], [], [], []
    count = 0
    parts: list[tuple[str, list, tuple[int, int, int], float]] = []
    for obj in scene.objects:
        rot = _yaw_rotation(obj.yaw)
        quads = [q for offset, size in object_parts(obj.label, obj.extents) for q in _box_quads(obj.center + rot @ offset, size, rot)]
        parts.append((obj.label, quads, obj.colour, OBJECT_SPACING))
    room = _box_quads(scene.size / 2.0, scene.size, np.eye(3), inward=True)
    wall_colours = [(205, 195, 175), (185, 190, 195), (210, 200, 185), (180, 185, 175)]
    for side, origin, eu, ev in room:
        if side == "-z":
            parts.append(("floor", [(side, origin, eu, ev)], (150, 110, 75), ROOM_SPACING))
        elif side == "+z":
            parts.append(("ceiling", [(side, origin, eu, ev)], (238, 236, 230), ROOM_SPACING))
    for n, (side, origin, eu, ev) in enumerate(q for q in room if q[0][1] != "z"):
        parts.append(("wall", [(side, origin, eu, ev)], wall_colours[n], ROOM_SPACING))
    segment = 0
    for object_id, (label, quads, colour, spacing) in enumerate(parts):
        seg_ids = []
        for _side, origin, eu, ev in quads:
            v, f = _grid_quad(origin, eu, ev, spacing, MIN_DIVISIONS)
            verts.append(v)
            faces.append(f + count)
            vcols.append(np.tile(np.array(colour, dtype=np.uint8), (len(v), 1)))
            segs.append(np.full(len(v), segment, dtype=np.int64))
            seg_ids.append(segment)
            segment += 1
            count += len(v)
        groups.append({"objectId": object_id, "label": label, "segments": seg_ids})
    vertex_colors = np.concatenate(vcols)
    all_faces = np.concatenate(faces)
    return SceneMesh(
        vertices=np.concatenate(verts),
        faces=all_faces,
        vertex_colors=vertex_colors,
        face_colors=vertex_colors[all_faces[:, 0]].astype(float),
        seg_indices=np.concatenate(segs),
        groups=groups,
    )


def _face_light(caster: RayCaster, scene: SynthScene) -> np.ndarray:
    """Per-face Lambertian term for a point light just under the ceiling centre (static, so once per scene)."""
    light = np.array([scene.size[0] / 2, scene.size[1] / 2, scene.size[2] - 0.05])
    centres = caster.mesh.triangles_center
    to_light = light - centres
    to_light /= np.linalg.norm(to_light, axis=1, keepdims=True)
    return np.clip(np.einsum("ij,ij->i", caster.face_normals, to_light), 0, 1)


def render_frame(caster: RayCaster, mesh: SceneMesh, scene: SynthScene, pose: np.ndarray, face_light: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One cast: RGB uint8 (H, W, 3), Lambertian (ceiling light per face, headlamp per pixel),
    and depth uint16 millimetres (0 = no hit)."""
    if face_light is None:
        face_light = _face_light(caster, scene)
    face, depth, dirs = caster.cast(pose, scene.intrinsics, scene.width, scene.height)
    face = face.ravel()
    # one gather of a per-face table (float32): lit colour, raw colour, normal in camera axes
    table = np.concatenate([
        mesh.face_colors * (0.3 + 0.45 * face_light)[:, None],
        mesh.face_colors * 0.3,
        np.einsum("ij,jk->ik", caster.face_normals, pose[:3, :3]),
    ], axis=1).astype(np.float32)
    table = np.concatenate([table, np.zeros((1, 9), dtype=np.float32)])  # row -1: a miss renders black
    rows = table[face]
    rays = caster.unit_camera_rays(scene.intrinsics, scene.width, scene.height)
    head = np.abs(np.einsum("ij,ij->i", rows[:, 6:9], rays))
    rgb = np.clip(rows[:, 0:3] + rows[:, 3:6] * head[:, None] + 0.5, 0, 255).astype(np.uint8).reshape(scene.height, scene.width, 3)
    depth_mm = np.clip(np.rint(depth * 1000.0), 0, 65535).astype(np.uint16)
    return rgb, depth_mm


def _matrix_text(m: np.ndarray) -> str:
    return "".join(" ".join(f"{x:.8f}" for x in row) + "\n" for row in m)


def _encode_jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _encode_png16(depth_mm: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(depth_mm).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def write_scene(scene: SynthScene, out_root: str | Path, on_frame: Callable[[], None] | None = None) -> Path:
    """Write the scene folder `<out_root>/<scene id>/` in the ScanNet export layout.

    The folder is built under a `.tmp-` name and renamed into place when complete, so a killed
    run never leaves a half scene that `list_scenes` would pick up, and a rerun with fewer
    frames leaves no stale frames behind.
    """
    final = Path(out_root) / scene.id
    final.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{scene.id}.", dir=final.parent))
    try:
        os.chmod(folder, 0o755)  # mkdtemp makes it private
        _write_files(scene, folder, on_frame)
        if final.exists():
            shutil.rmtree(final)
        os.replace(folder, final)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return final


def _write_files(scene: SynthScene, folder: Path, on_frame: Callable[[], None] | None) -> None:
    import trimesh  # deferred, trimesh: ~0.9 s to import

    mesh = build_mesh(scene)
    tm = trimesh.Trimesh(vertices=mesh.vertices, faces=mesh.faces, vertex_colors=mesh.vertex_colors, process=False)
    atomic_write_bytes(folder / f"{scene.id}_vh_clean_2.ply", trimesh.exchange.ply.export_ply(tm, encoding="binary", include_attributes=False))
    segs_name = f"{scene.id}_vh_clean_2.0.010000.segs.json"
    atomic_write_text(folder / segs_name, json.dumps({"params": {"kThresh": "0.01", "segMinVerts": "20"}, "sceneId": scene.id, "segIndices": mesh.seg_indices.tolist()}))
    aggregation = {
        "sceneId": f"scannet.{scene.id}",
        "appId": "spar-hf.synth.v1",
        "segGroups": [{"id": g["objectId"], "objectId": g["objectId"], "segments": g["segments"], "label": g["label"]} for g in mesh.groups],
        "segmentsFile": f"scannet.{segs_name}",
    }
    atomic_write_text(folder / f"{scene.id}.aggregation.json", json.dumps(aggregation, indent=1))
    k4 = np.eye(4)
    k4[:3, :3] = scene.intrinsics
    for name, matrix in (("intrinsic_color", k4), ("intrinsic_depth", k4), ("extrinsic_color", np.eye(4)), ("extrinsic_depth", np.eye(4))):
        atomic_write_text(folder / "intrinsic" / f"{name}.txt", _matrix_text(matrix))
    fx, fy, cx, cy = scene.intrinsics[0, 0], scene.intrinsics[1, 1], scene.intrinsics[0, 2], scene.intrinsics[1, 2]
    info = [
        "axisAlignment = " + " ".join(f"{v:g}" for v in np.eye(4).ravel()),
        f"colorHeight = {scene.height}",
        f"colorWidth = {scene.width}",
        f"depthHeight = {scene.height}",
        f"depthWidth = {scene.width}",
        f"fx_color = {fx:.6f}", f"fx_depth = {fx:.6f}", f"fy_color = {fy:.6f}", f"fy_depth = {fy:.6f}",
        f"mx_color = {cx:.6f}", f"mx_depth = {cx:.6f}", f"my_color = {cy:.6f}", f"my_depth = {cy:.6f}",
        f"numColorFrames = {len(scene.poses)}",
        f"numDepthFrames = {len(scene.poses)}",
        f"sceneType = {scene.scene_type}",
    ]
    atomic_write_text(folder / f"{scene.id}.txt", "\n".join(info) + "\n")
    caster = RayCaster(mesh.vertices, mesh.faces)
    face_light = _face_light(caster, scene)
    for index, pose in enumerate(scene.poses):
        rgb, depth_mm = render_frame(caster, mesh, scene, pose, face_light)
        atomic_write_bytes(folder / "color" / f"{index}.jpg", _encode_jpeg(rgb))
        atomic_write_bytes(folder / "depth" / f"{index}.png", _encode_png16(depth_mm))
        atomic_write_text(folder / "pose" / f"{index}.txt", _matrix_text(pose))
        if on_frame is not None:
            on_frame()


def scene_name(index: int) -> str:
    """ScanNet-style id: scene0000_00, scene0001_00, ..."""
    return f"scene{index:04d}_00"

"""Write tiny ScanNet++ and Structured3D scenes in each dataset's documented layout (test helper).

One small room is shared by both: a 6 m x 6 m floor at z = 0 and three boxes (a table, a chair
turned by 30 degrees and a cabinet), seen by three cameras. Colour, depth, instance and semantic
images are ray cast from the same meshes, so every file agrees with the hand-chosen geometry.

Camera 0 is the hand-checkable one: eye (0, -2.3, 1.0) looking along +y with no tilt, fx = fy =
300 px, principal point (192, 144) on a 384 x 288 image. The table's front face is the plane
y = 0.7, so the world point P = (0.3, 0.7, 0.4) sits 3.0 m in front of the camera, 0.3 m right
and 0.6 m below: pixel u = 300 * 0.3 / 3 + 192 = 222, v = 300 * 0.6 / 3 + 144 = 204.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from spar_hf.geometry import look_at

WIDTH, HEIGHT = 384, 288
FOCAL = 300.0
K = np.array([[FOCAL, 0.0, WIDTH / 2], [0.0, FOCAL, HEIGHT / 2], [0.0, 0.0, 1.0]])
SCANNETPP_DEPTH_SIZE = (256, 192)  # the iPhone LiDAR depth size
KNOWN_POINT = np.array([0.3, 0.7, 0.4])
KNOWN_PIXEL = (222.0, 204.0)
KNOWN_DEPTH_M = 3.0


@dataclass(frozen=True)
class Box:
    object_id: int
    label: str
    nyu40: int
    center: tuple[float, float, float]
    extents: tuple[float, float, float]
    yaw_deg: float
    colour: tuple[int, int, int]

    def rotation(self) -> np.ndarray:
        a = np.radians(self.yaw_deg)
        return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])


BOXES = (
    Box(11, "table", 7, (0.0, 1.0, 0.4), (1.2, 0.6, 0.8), 0.0, (200, 120, 60)),
    Box(12, "chair", 5, (-0.9, 0.5, 0.25), (0.5, 0.5, 0.5), 30.0, (60, 160, 200)),
    Box(13, "cabinet", 3, (1.0, 1.6, 0.5), (0.4, 0.6, 1.0), 0.0, (90, 200, 90)),
)
FLOOR_COLOUR = (150, 150, 150)


def camera_poses() -> list[np.ndarray]:
    """Three OpenCV camera-to-world poses; the first is the hand-checkable one."""
    eye0 = np.array([0.0, -2.3, 1.0])
    return [
        look_at(eye0, eye0 + np.array([0.0, 1.0, 0.0])),
        look_at(np.array([-2.0, -1.5, 1.4]), np.array([0.0, 1.0, 0.4])),
        look_at(np.array([2.0, -1.2, 1.3]), np.array([-0.2, 1.0, 0.4])),
    ]


def _parts(max_edge: float) -> list[tuple[int, trimesh.Trimesh]]:
    """(part index, mesh) with part 0 = floor, part i = BOXES[i - 1]; subdivided to `max_edge`."""
    floor = trimesh.Trimesh(
        vertices=np.array([[-3, -3, 0], [3, -3, 0], [3, 3, 0], [-3, 3, 0]], dtype=float),
        faces=np.array([[0, 1, 2], [0, 2, 3]]),
        process=False,
    )
    meshes = [floor]
    for box in BOXES:
        transform = np.eye(4)
        transform[:3, :3] = box.rotation()
        transform[:3, 3] = box.center
        meshes.append(trimesh.creation.box(extents=box.extents, transform=transform))
    parts = []
    for index, mesh in enumerate(meshes):
        vertices, faces = trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, max_edge=max_edge)
        parts.append((index, trimesh.Trimesh(vertices=vertices, faces=faces, process=False)))
    return parts


@dataclass
class _Room:
    vertices: np.ndarray
    faces: np.ndarray
    vertex_part: np.ndarray
    face_part: np.ndarray
    mesh: trimesh.Trimesh


@functools.lru_cache(maxsize=1)
def _room(max_edge: float = 0.15) -> _Room:
    vertices, faces, vertex_part, face_part = [], [], [], []
    offset = 0
    for index, mesh in _parts(max_edge):
        vertices.append(mesh.vertices)
        faces.append(mesh.faces + offset)
        vertex_part.append(np.full(len(mesh.vertices), index))
        face_part.append(np.full(len(mesh.faces), index))
        offset += len(mesh.vertices)
    vertices, faces = np.concatenate(vertices), np.concatenate(faces)
    return _Room(vertices, faces, np.concatenate(vertex_part), np.concatenate(face_part), trimesh.Trimesh(vertices, faces, process=False))


def _cast(room: _Room, pose: np.ndarray, intrinsics: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(part index per pixel, -1 = miss; camera-z depth in metres, 0 = miss), pixel centres at integers."""
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    dirs_cam = np.stack([(u - intrinsics[0, 2]) / intrinsics[0, 0], (v - intrinsics[1, 2]) / intrinsics[1, 1], np.ones_like(u)], axis=-1).reshape(-1, 3)
    dirs = dirs_cam @ pose[:3, :3].T
    origins = np.broadcast_to(pose[:3, 3], dirs.shape)
    faces, rays, points = room.mesh.ray.intersects_id(origins, dirs, multiple_hits=False, return_locations=True)
    part = np.full(len(dirs), -1, dtype=np.int64)
    depth = np.zeros(len(dirs))
    part[rays] = room.face_part[faces]
    depth[rays] = (points - pose[:3, 3]) @ pose[:3, 2]
    return part.reshape(height, width), depth.reshape(height, width)


def _colour_image(part: np.ndarray) -> np.ndarray:
    palette = np.array([FLOOR_COLOUR] + [box.colour for box in BOXES] + [(0, 0, 0)], dtype=np.uint8)
    return palette[np.where(part >= 0, part, len(palette) - 1)]


def _depth_png(path: Path, depth_m: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(depth_m * 1000.0).astype(np.uint16)).save(path)


# ---------------------------------------------------------------- ScanNet++

SCANNETPP_FRAME_NUMBERS = (0, 10, 20)  # gaps on purpose: the reader renumbers to 0, 1, 2


def write_scannetpp_scene(root: Path, scene_id: str = "0a5c013435", *, bad_intrinsic: bool = False,
                          missing_pose_entry: bool = False, empty_group: bool = False,
                          drop_pose_file: bool = False) -> Path:
    """Write `root/data/<scene_id>` in the ScanNet++ release layout; returns the scene folder.

    Options add one defect each: a frame whose intrinsic has 11 numbers, a colour frame with no
    entry in the pose JSON, an annotated object whose segments match no vertex, no pose JSON.
    """
    scene = Path(root) / "data" / scene_id
    room = _room()
    (scene / "scans").mkdir(parents=True, exist_ok=True)
    trimesh.Trimesh(room.vertices, room.faces, process=False).export(scene / "scans" / "mesh_aligned_0.05.ply")

    # two segments per box (lower / upper half of its vertices) so objects span several segments
    centre_z = np.array([0.0] + [box.center[2] for box in BOXES])[room.vertex_part]
    upper = (room.vertices[:, 2] > centre_z).astype(np.int64)
    seg_indices = np.where(room.vertex_part == 0, 7, room.vertex_part * 100 + upper)
    (scene / "scans" / "segments.json").write_text(json.dumps({"sceneId": scene_id, "segIndices": seg_indices.tolist()}))
    groups = [{"id": 0, "objectId": 0, "label": "floor", "segments": [7]}]
    for index, box in enumerate(BOXES, start=1):
        groups.append({"id": index, "objectId": box.object_id, "label": box.label, "segments": [index * 100, index * 100 + 1]})
    if empty_group:
        groups.append({"id": 9, "objectId": 99, "label": "lamp", "segments": [12345]})
    (scene / "scans" / "segments_anno.json").write_text(json.dumps({"sceneId": scene_id, "segGroups": groups}))

    iphone = scene / "iphone"
    (iphone / "rgb").mkdir(parents=True, exist_ok=True)
    depth_w, depth_h = SCANNETPP_DEPTH_SIZE
    depth_k = K.copy()
    depth_k[:2] *= depth_w / WIDTH
    cameras = {}
    for number, pose in zip(SCANNETPP_FRAME_NUMBERS, camera_poses()):
        name = f"frame_{number:06d}"
        part, _ = _cast(room, pose, K, WIDTH, HEIGHT)
        Image.fromarray(_colour_image(part)).save(iphone / "rgb" / f"{name}.jpg", quality=95)
        _, depth = _cast(room, pose, depth_k, depth_w, depth_h)
        _depth_png(iphone / "depth" / f"{name}.png", depth)
        cameras[name] = {
            "timestamp": number / 60.0,
            "intrinsic": K.tolist(),
            "pose": np.eye(4).tolist(),  # ARKit's own frame: not the mesh's, the reader ignores it
            "aligned_pose": pose.tolist(),
            "imu": {"gravity": [0.0, -9.81, 0.0]},
        }
    if bad_intrinsic:
        cameras["frame_000010"]["intrinsic"] = K.ravel()[:8].tolist() + [1.0, 0.0, 0.0]  # 11 numbers
    if missing_pose_entry:
        del cameras["frame_000020"]
    if not drop_pose_file:
        (iphone / "pose_intrinsic_imu.json").write_text(json.dumps(cameras))
    return scene


# ---------------------------------------------------------------- Structured3D

STRUCTURED3D_RENDERS = (("485142", "0"), ("485142", "1"), ("490854", "0"))  # (room, position) per camera
NYU40_RGB = {2: (152, 223, 138), 3: (31, 119, 180), 5: (188, 189, 34), 7: (255, 152, 150)}  # floor, cabinet, chair, table


def structured3d_camera_line(pose: np.ndarray, intrinsics: np.ndarray, width: int, height: int) -> str:
    """camera_pose.txt text: eye (mm), view direction, up (the camera's), half fields of view, 1."""
    eye = pose[:3, 3] * 1000.0
    forward, up = pose[:3, 2], -pose[:3, 1]
    xfov = np.arctan(width / 2 / intrinsics[0, 0])
    yfov = np.arctan(height / 2 / intrinsics[1, 1])
    return " ".join(f"{x:.10g}" for x in [*eye, *forward, *up, xfov, yfov, 1]) + "\n"


def write_structured3d_scene(root: Path, scene_id: str = "scene_00042", *, short_camera: bool = False,
                             box_missing_for: int | None = None, drop_bbox_file: bool = False,
                             semantic_as_ids: bool = False) -> Path:
    """Write `root/<scene_id>` in the Structured3D layout; returns the scene folder.

    Options: the second render's camera_pose.txt has 11 numbers; bbox_3d.json lacks the box of
    one object id; no bbox_3d.json; semantic.png as single-channel ids instead of palette colours.
    """
    scene = Path(root) / scene_id
    room = _room()
    scene.mkdir(parents=True, exist_ok=True)
    entries = []
    for box in BOXES:
        if box.object_id == box_missing_for:
            continue
        rot = box.rotation()
        half = np.asarray(box.extents) / 2 * 1000.0
        order = [2, 0, 1] if box.label == "cabinet" else [0, 1, 2]  # basis rows in any order, as in the data
        entries.append({"ID": box.object_id, "basis": rot.T[order].tolist(), "coeffs": half[order].tolist(),
                        "centroid": (np.asarray(box.center) * 1000.0).tolist()})
    if not drop_bbox_file:
        (scene / "bbox_3d.json").write_text(json.dumps(entries))

    instance_of_part = np.array([65535] + [box.object_id for box in BOXES] + [65535])
    nyu_of_part = np.array([2] + [box.nyu40 for box in BOXES] + [0])
    for number, ((room_id, position), pose) in enumerate(zip(STRUCTURED3D_RENDERS, camera_poses())):
        folder = scene / "2D_rendering" / room_id / "perspective" / "full" / position
        folder.mkdir(parents=True, exist_ok=True)
        part, depth = _cast(room, pose, K, WIDTH, HEIGHT)
        index = np.where(part >= 0, part, len(BOXES) + 1)
        Image.fromarray(_colour_image(part)).save(folder / "rgb_rawlight.png")
        _depth_png(folder / "depth.png", depth)
        Image.fromarray(instance_of_part[index].astype(np.uint16)).save(folder / "instance.png")
        semantic = nyu_of_part[index]
        if semantic_as_ids:
            Image.fromarray(semantic.astype(np.uint8)).save(folder / "semantic.png")
        else:
            colours = np.zeros(semantic.shape + (3,), dtype=np.uint8)
            for nyu, rgb in NYU40_RGB.items():
                colours[semantic == nyu] = rgb
            Image.fromarray(colours).save(folder / "semantic.png")
        line = structured3d_camera_line(pose, K, WIDTH, HEIGHT)
        if short_camera and number == 1:
            line = " ".join(line.split()[:11]) + "\n"
        (folder / "camera_pose.txt").write_text(line)
        (folder / "layout.json").write_text(json.dumps({"junctions": [], "planes": []}))
    return scene

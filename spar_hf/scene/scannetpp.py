"""ScanNet++ reader: the iPhone RGB-D stream, the laser-scan mesh and its instance annotations.

Layout of one scene folder (`data/<scene_id>/` in the release), with the source of each fact:

```
<scene_id>/
  iphone/rgb/frame_000000.jpg       colour frames extracted from rgb.mkv by the toolkit
  iphone/depth/frame_000000.png     uint16 millimetres, 256x192, 0 = no reading
  iphone/pose_intrinsic_imu.json    {"frame_000000": {"intrinsic": 3x3, "pose": 4x4,
                                                      "aligned_pose": 4x4, "imu": ...}, ...}
  scans/mesh_aligned_0.05.ply       mesh in the aligned (z-up, metres) world frame
  scans/segments.json               {"segIndices": [segment id per mesh vertex]}
  scans/segments_anno.json          {"segGroups": [{"id", "objectId", "label", "segments", "obb"}]}
```
- Paths and file names: scannetpp/scannetpp `common/scene_release.py` (iphone_rgb_dir,
  iphone_depth_dir, iphone_pose_intrinsic_imu_path, scan_mesh_path, scan_mesh_segs_path,
  scan_anno_json_path).
- Frame names `frame_%06d` and depth as uint16 millimetres at 256x192: scannetpp/scannetpp
  `iphone/prepare_iphone_data.py` (extract_rgb, extract_depth); README "Render Depth" also
  states uint16 mm with 0 = invalid.
- Pose convention: scannetpp/scannetpp `iphone/arkit_pcl.py` back-projects pixels with
  `K^-1 [u, v, 1] * depth` (OpenCV camera: x right, y down, z forward) and applies
  `aligned_pose` directly as `camera_to_world`. So `aligned_pose` is already an OpenCV
  camera-to-world matrix in the mesh frame and needs no axis flip. The raw ARKit `pose` lives in
  ARKit's own world frame (not the mesh's) and is not used. `intrinsic` is the 3x3 pinhole
  matrix of the full-resolution colour frames.
- Segments: scannetpp/scannetpp `semantic/transforms/mesh.py` (GetLabelsOnVertices) selects an
  object's vertices as `isin(segIndices, segGroup["segments"])`; `common/utils/anno.py`
  (load_annotation) keys objects by `segGroup["objectId"]`.

Choices (docs/sources.md):
- Frames are the colour frames that have an `aligned_pose`, an `intrinsic` and a depth PNG,
  sorted by their number and renumbered 0..N-1 (the SPAR layout names images by index).
- Boxes are recomputed from each object's vertices with the ScanNet reader's gravity-aligned rule
  (`spar_hf.scene.scannet.oriented_box`: yaw from the minimum-area rectangle of the xy
  projection, folded into [-45, 45) degrees), not taken from the annotation's `obb`, so ScanNet
  and ScanNet++ boxes follow one rule.
- Every annotated object is kept with its label, room shell (wall, floor, ceiling) included, as
  in the ScanNet reader; visibility's `exclude_labels` keeps those out of the questions.
- Missing scene-level files (pose JSON, mesh, segments, annotations) raise SparError naming the
  file, as do values of the wrong type (segment ids that are not integers, a label that is not a
  string) and non-finite mesh vertices (the ScanNet reader's rules); bad frames and unusable objects
  are skipped and counted in `Scene.skipped`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.geometry import is_rigid
from spar_hf.scene.model import Frame, Object3D, Scene, count_skipped
from spar_hf.scene.scannet import integer_ids, oriented_box, read_mesh, segment_group
from spar_hf.utils.jsonvalues import too_many_digits

DEPTH_SCALE = 1000.0  # depth PNG value / 1000 = metres
POSE_FILE = "iphone/pose_intrinsic_imu.json"
MESH_FILE = "scans/mesh_aligned_0.05.ply"
SEGMENTS_FILE = "scans/segments.json"
ANNOTATION_FILE = "scans/segments_anno.json"

_FRAME_NUMBER = re.compile(r"(\d+)$")


def _is_scene_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "iphone").is_dir() or (path / "scans").is_dir())


def list_scenes(root: Path) -> list[Path]:
    """Scene folders under `root` (or under `root/data`, the release layout), sorted by name.

    `root` may also be a single scene folder.
    """
    root = Path(root)
    if _is_scene_dir(root):
        return [root]
    base = root / "data" if (root / "data").is_dir() else root
    if not base.is_dir():
        raise SparError(f"{root}: not a folder")
    return sorted((p for p in base.iterdir() if _is_scene_dir(p)), key=lambda p: p.name)


def _load_json(path: Path) -> object:
    if not path.is_file():
        raise SparError(f"{path}: missing (required ScanNet++ file)")
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SparError(f"{path}: unreadable JSON ({exc})") from exc
    except ValueError:  # a number past Python's digit limit: a plain ValueError
        raise SparError(f"{path}: unreadable JSON ({too_many_digits()})") from None


def _frame_number(stem: str) -> int | None:
    match = _FRAME_NUMBER.search(stem)
    return int(match.group(1)) if match else None


def _matrix(value: object, shape: tuple[int, int]) -> np.ndarray | None:
    """A finite matrix of `shape` from nested or flat lists, else None."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.size != shape[0] * shape[1]:
        return None
    array = array.reshape(shape)
    return array if np.all(np.isfinite(array)) else None


def _image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _read_frames(scene_dir: Path, skipped: dict[str, int]) -> list[Frame]:
    pose_path = scene_dir / POSE_FILE
    cameras = _load_json(pose_path)
    if not isinstance(cameras, dict):
        raise SparError(f"{pose_path}: expected a JSON object keyed by frame name")
    rgb_dir = scene_dir / "iphone" / "rgb"
    depth_dir = scene_dir / "iphone" / "depth"
    colour = []
    for path in rgb_dir.glob("*.jpg") if rgb_dir.is_dir() else []:
        number = _frame_number(path.stem)
        if number is not None:
            colour.append((number, path))
    if not colour:
        raise SparError(f"{rgb_dir}: no colour frames (extract them with the ScanNet++ toolkit's iphone.prepare_iphone_data)")
    colour.sort()

    frames: list[Frame] = []
    size: tuple[int, int] | None = None
    for _number, path in colour:
        entry = cameras.get(path.stem)
        if not isinstance(entry, dict) or "aligned_pose" not in entry:
            count_skipped(skipped, "frame without aligned_pose")
            continue
        pose = _matrix(entry["aligned_pose"], (4, 4))
        if pose is None or not is_rigid(pose):
            count_skipped(skipped, "frame with invalid aligned_pose")
            continue
        intrinsics = _matrix(entry.get("intrinsic"), (3, 3))
        if intrinsics is None or intrinsics[0, 0] <= 0 or intrinsics[1, 1] <= 0:
            count_skipped(skipped, "frame with invalid intrinsic")
            continue
        depth_path = depth_dir / f"{path.stem}.png"
        if not depth_path.is_file():
            count_skipped(skipped, "frame without depth")
            continue
        if size is None:  # all frames come from one video: one size
            size = _image_size(path)
        frames.append(
            Frame(
                index=len(frames),
                color_path=str(path),
                depth_path=str(depth_path),
                depth_scale=DEPTH_SCALE,
                pose=pose,
                intrinsics=intrinsics,
                width=size[0],
                height=size[1],
            )
        )
    return frames


def _read_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise SparError(f"{path}: missing (required ScanNet++ file)")
    vertices, faces = read_mesh(path)
    if len(vertices) == 0:
        raise SparError(f"{path}: mesh has no vertices")
    return vertices, faces


def _read_objects(scene_dir: Path, vertices: np.ndarray, skipped: dict[str, int]) -> list[Object3D]:
    segs_path = scene_dir / SEGMENTS_FILE
    segments = _load_json(segs_path)
    seg_indices = segments.get("segIndices") if isinstance(segments, dict) else None
    if not isinstance(seg_indices, list):
        raise SparError(f"{segs_path}: no 'segIndices' list")
    seg_indices = integer_ids(seg_indices, f"{segs_path}: segIndices")
    if len(seg_indices) != len(vertices):
        raise SparError(f"{segs_path}: {len(seg_indices)} segIndices for {len(vertices)} mesh vertices")

    anno_path = scene_dir / ANNOTATION_FILE
    annotation = _load_json(anno_path)
    groups = annotation.get("segGroups") if isinstance(annotation, dict) else None
    if not isinstance(groups, list):
        raise SparError(f"{anno_path}: no 'segGroups' list")

    # vertices grouped by segment id once, so each object gathers its segments without a full scan
    order = np.argsort(seg_indices, kind="stable")
    seg_ids, starts, counts = np.unique(seg_indices[order], return_index=True, return_counts=True)

    objects: list[Object3D] = []
    seen: set[int] = set()
    for position, group in enumerate(groups):
        object_id, label, segment_ids = segment_group(group, f"{anno_path}: segGroups[{position}]")
        if object_id in seen:
            count_skipped(skipped, "duplicate objectId")
            continue
        seen.add(object_id)
        label = label.strip()
        wanted = np.unique(segment_ids)
        at = np.clip(np.searchsorted(seg_ids, wanted), 0, max(len(seg_ids) - 1, 0))
        found = at[seg_ids[at] == wanted] if len(seg_ids) else at[:0]
        parts = [order[starts[i]:starts[i] + counts[i]] for i in found]
        vertex_ids = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        if len(vertex_ids) == 0:
            count_skipped(skipped, "object with no vertices (no box)")
            continue
        center, extents, rotation = oriented_box(vertices[vertex_ids])
        objects.append(Object3D(id=object_id, label=label, center=center, extents=extents, rotation=rotation, vertex_ids=vertex_ids))
    objects.sort(key=lambda obj: obj.id)
    return objects


def read_scene(path: Path) -> Scene:
    """Read one ScanNet++ scene folder into the common model (OpenCV camera-to-world, metres, +z up)."""
    scene_dir = Path(path)
    if not scene_dir.is_dir():
        raise SparError(f"{scene_dir}: not a scene folder")
    skipped: dict[str, int] = {}
    frames = _read_frames(scene_dir, skipped)
    vertices, faces = _read_mesh(scene_dir / MESH_FILE)
    objects = _read_objects(scene_dir, vertices, skipped)
    return Scene(
        id=scene_dir.name,
        source="scannetpp",
        vertices=vertices,
        faces=faces,
        frames=frames,
        objects=objects,
        skipped=skipped,
    )

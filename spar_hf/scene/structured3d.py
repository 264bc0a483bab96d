"""Structured3D reader: perspective renderings, their cameras and the scene's 3D boxes.

Layout of one scene folder, with the source of each fact:

```
scene_<id>/
  bbox_3d.json                       [{"ID", "basis" (3x3, one row per box axis),
                                       "coeffs" (half extents), "centroid"}]
  2D_rendering/<roomID>/perspective/full/<positionID>/
    rgb_rawlight.png                 colour render
    depth.png                        uint16 millimetres, 0 = no reading
    instance.png                     uint16 instance id per pixel, 65535 = background
    semantic.png                     NYU-40 label per pixel
    camera_pose.txt                  "vx vy vz tx ty tz ux uy uz xfov yfov 1"
```
- Folder layout, file meanings, depth unit, instance background value, NYU-40 semantic labels,
  `camera_pose.txt` fields (eye, view direction, up, half-angle fields of view in radians) and
  the box fields: bertjiazheng/Structured3D `data_organization.md`; label names:
  `metadata/labelids.txt`.
- Camera model: bertjiazheng/Structured3D `misc/utils.py` (parse_camera_info,
  project_3d_points_to_2d): image x = forward x up, image y (down) = forward x right,
  fx = (W/2) / tan(xfov), fy = (H/2) / tan(yfov), principal point (W/2, H/2). That is an
  OpenCV camera with rotation columns (right, down, forward); we build it directly.
- Instance ids are the box `ID`s: `visualize_bbox.py` looks up `bbox_3d.json` by the ids found
  in `instance.png`.
- Units: eye positions and boxes are millimetres like the depth maps (`visualize_bbox.py`
  subtracts the camera position from box corners directly; the Ctrl-Room authors confirm
  millimetres "same as the original in Structured3D", HKUST-SAIL/Ctrl-Room issue #3). We divide
  by 1000.
- `semantic.png` is read as label ids when it is single-channel or palette PNG, and as colours
  of the NYU-40 palette (ScanNet's `create_color_palette`, the one chenjw269/Structured3D
  `assets/color2semantic.py` decodes) when it is RGB.

Choices (docs/sources.md):
- Frames are every perspective position (no keyframe subsampling, paper appendix 7.3), ordered
  by room then position id and numbered 0..N-1. Depth is taken as camera-z depth.
- Labels: an object's label is the most frequent NYU-40 label under its instance pixels over all
  renderings (ties: smallest id). Objects never rendered have no label and are skipped (counted
  in `Scene.skipped`). Room-shell labels (wall, floor, ceiling) are kept like the ScanNet
  reader keeps them; visibility's `exclude_labels` leaves them out of the questions.
- Boxes: the annotated box's 8 corners are refitted with the ScanNet reader's gravity-aligned
  rule (`spar_hf.scene.scannet.oriented_box`), which returns the annotated box itself when it
  stands upright and otherwise its upright bounding box; axes come out in one canonical order
  whatever the order of the `basis` rows.
- Mesh: Structured3D ships none, so one is built from the depth maps: every render's pixels on a
  grid of `MESH_STRIDE_PX` are back-projected to world points and neighbouring grid points are
  joined into triangles unless their depths jump (`MAX_EDGE_DEPTH_RATIO`); each object also gets
  up to `OBJECT_SAMPLES` of its own pixels per render as extra vertices, so small objects have
  vertices too. A vertex belongs to the object whose instance id it was sampled from. The floor
  renders give the room_size task its floor.
- Missing `bbox_3d.json` or `2D_rendering/` raise SparError naming it, and so does a box whose ID
  is not an integer or whose numbers are not numbers (no `int("3")`, no truncated 3.5); a render
  with a missing colour/depth image, a colour image of another aspect ratio than its depth map
  (the camera is derived from the depth map's size) or a malformed `camera_pose.txt` (anything but
  12 finite numbers, positive fields of view, forward not parallel to up) is skipped and counted;
  instance ids without a box are counted once per id.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.geometry import same_aspect
from spar_hf.scene.model import Frame, Object3D, Scene, count_skipped
from spar_hf.scene.scannet import oriented_box
from spar_hf.utils.jsonvalues import kind, too_many_digits

log = logging.getLogger(__name__)

DEPTH_SCALE = 1000.0
MM = 1000.0  # positions and boxes are millimetres
BACKGROUND_INSTANCE = 65535
MESH_STRIDE_PX = 16
OBJECT_SAMPLES = 64
MAX_EDGE_DEPTH_RATIO = 0.1  # a triangle is dropped when its corner depths differ by more than 10%
COLOUR_FILES = ("rgb_rawlight.png", "rgb_warmlight.png", "rgb_coldlight.png")

NYU40_LABELS = (
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
    "picture", "counter", "blinds", "desk", "shelves", "curtain", "dresser", "pillow", "mirror",
    "floor mat", "clothes", "ceiling", "books", "refrigerator", "television", "paper", "towel",
    "shower curtain", "box", "whiteboard", "person", "nightstand", "toilet", "sink", "lamp",
    "bathtub", "bag", "otherstructure", "otherfurniture", "otherprop",
)  # id = position + 1 (metadata/labelids.txt)

NYU40_COLOURS = np.array([
    (0, 0, 0), (174, 199, 232), (152, 223, 138), (31, 119, 180), (255, 187, 120), (188, 189, 34),
    (140, 86, 75), (255, 152, 150), (214, 39, 40), (197, 176, 213), (148, 103, 189), (196, 156, 148),
    (23, 190, 207), (178, 76, 76), (247, 182, 210), (66, 188, 102), (219, 219, 141), (140, 57, 197),
    (202, 185, 52), (51, 176, 203), (200, 54, 131), (92, 193, 61), (78, 71, 183), (172, 114, 82),
    (255, 127, 14), (91, 163, 138), (153, 98, 156), (140, 153, 101), (158, 218, 229), (100, 125, 154),
    (178, 127, 135), (120, 185, 128), (146, 111, 194), (44, 160, 44), (112, 128, 144), (96, 207, 209),
    (227, 119, 194), (213, 92, 176), (94, 106, 211), (82, 84, 163), (100, 85, 144),
], dtype=np.int64)  # index = NYU-40 id, 0 = unlabelled


def list_scenes(root: Path) -> list[Path]:
    """`scene_*` folders under `root` (or `root` itself when it is one), sorted by name."""
    root = Path(root)
    if (root / "bbox_3d.json").is_file() or (root / "2D_rendering").is_dir():
        return [root]
    if not root.is_dir():
        raise SparError(f"{root}: not a folder")
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith("scene_")), key=lambda p: p.name)


def _id_key(path: Path) -> tuple[int, int | str]:
    """Numeric folder names in numeric order, then anything else by name."""
    return (0, int(path.name)) if path.name.isdigit() else (1, path.name)


def camera_from_pose_file(values: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """camera_pose.txt numbers -> (4x4 OpenCV camera-to-world in metres, 3x3 intrinsics).

    Raises ValueError when the numbers do not describe a camera.
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size != 12 or not np.all(np.isfinite(values)):
        raise ValueError(f"expected 12 finite numbers, got {values.size}")
    eye, forward, up = values[0:3] / MM, values[3:6], values[6:9]
    xfov, yfov = values[9], values[10]
    if not (0 < xfov < np.pi / 2 and 0 < yfov < np.pi / 2):
        raise ValueError("half fields of view must lie in (0, pi/2) radians")
    norm = np.linalg.norm(forward)
    if norm == 0:
        raise ValueError("zero view direction")
    forward = forward / norm
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:
        raise ValueError("view direction parallel to up")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, eye
    intrinsics = np.array([
        [width / 2.0 / np.tan(xfov), 0.0, width / 2.0],
        [0.0, height / 2.0 / np.tan(yfov), height / 2.0],
        [0.0, 0.0, 1.0],
    ])
    return pose, intrinsics


def _read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from an image's header; None when it cannot be opened."""

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, Image.DecompressionBombError):
        return None


def _optional_png(path: Path, skipped: dict[str, int]) -> np.ndarray | None:
    """A PNG that a render may lack (instance, semantic): None when absent or unreadable (counted)."""
    if not path.is_file():
        return None
    try:
        array = _read_png(path)
    except OSError:
        count_skipped(skipped, f"render with unreadable {path.name}")
        return None
    return array.astype(np.int64) if array.ndim == 2 else array


@functools.lru_cache(maxsize=1)
def _colour_table() -> np.ndarray:
    """24-bit RGB code -> NYU-40 id (0 for colours outside the palette); 16 MB, built once."""
    table = np.zeros(1 << 24, dtype=np.uint8)
    table[(NYU40_COLOURS[:, 0] << 16) | (NYU40_COLOURS[:, 1] << 8) | NYU40_COLOURS[:, 2]] = np.arange(len(NYU40_COLOURS))
    return table


def semantic_ids(semantic: np.ndarray) -> np.ndarray:
    """NYU-40 ids (0 = unknown) from a semantic.png array: ids as is, or RGB colours of the palette."""
    if semantic.ndim == 2:
        return semantic.astype(np.int64)
    rgb = semantic[..., :3].astype(np.uint32)
    return _colour_table()[(rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]].astype(np.int64)


def _read_boxes(scene_dir: Path) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    path = scene_dir / "bbox_3d.json"
    if not path.is_file():
        raise SparError(f"{path}: missing (required Structured3D file)")
    try:
        with path.open(encoding="utf-8") as handle:
            entries = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SparError(f"{path}: unreadable JSON ({exc})") from exc
    except ValueError:  # a number past Python's digit limit: a plain ValueError
        raise SparError(f"{path}: unreadable JSON ({too_many_digits()})") from None
    if not isinstance(entries, list):
        raise SparError(f"{path}: expected a list of boxes")
    boxes = {}
    for position, entry in enumerate(entries):
        where = f"{path}: box [{position}]"
        if not isinstance(entry, dict) or not {"ID", "basis", "coeffs", "centroid"} <= entry.keys():
            raise SparError(f"{where} malformed; needs ID, basis 3x3, coeffs 3, centroid 3")
        object_id = entry["ID"]
        if type(object_id) is not int:
            raise SparError(f"{where}: ID is {kind(object_id)}, expected an integer")
        basis, coeffs, centroid = (_numbers(entry[name], size, f"{where} (ID {object_id}): {name}")
                                   for name, size in (("basis", 9), ("coeffs", 3), ("centroid", 3)))
        basis, coeffs = basis.reshape(3, 3), np.abs(coeffs)
        if not (np.all(np.isfinite(basis)) and np.all(np.isfinite(coeffs)) and np.all(np.isfinite(centroid))):
            raise SparError(f"{path}: box [{position}] (ID {object_id}) has non-finite numbers")
        boxes[object_id] = (basis, coeffs, centroid)
    return boxes


def _numbers(value: object, size: int, where: str) -> np.ndarray:
    """`size` numbers from a JSON array (or array of arrays, as `basis` is written); SparError naming
    `where` for another count or an element that is not a number (numpy would parse "1.5" or take a
    boolean as 1)."""
    items = value if isinstance(value, list) else None
    flat = None if items is None else [x for item in items for x in (item if isinstance(item, list) else (item,))]
    if flat is None or len(flat) != size or not all(type(x) is int or type(x) is float for x in flat):
        raise SparError(f"{where} is {kind(value)}, expected {size} numbers")
    return np.asarray(flat, dtype=float)


def box_corners(basis: np.ndarray, coeffs: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """8 corners (metres) of a bbox_3d.json box: rows of `basis` are axes, `coeffs` half extents (mm)."""
    norms = np.linalg.norm(basis, axis=1, keepdims=True)
    axes = np.divide(basis, norms, out=np.zeros_like(basis), where=norms > 0)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    return (centroid + (signs * coeffs) @ axes) / MM


class _MeshBuilder:
    """Accumulates back-projected depth samples from every render into one labelled mesh."""

    def __init__(self, stride: int):
        self.stride = stride
        self.vertices: list[np.ndarray] = []
        self.faces: list[np.ndarray] = []
        self.instances: list[np.ndarray] = []
        self.count = 0

    def _add(self, points: np.ndarray, instance: np.ndarray, faces: np.ndarray | None = None) -> None:
        self.vertices.append(points)
        self.instances.append(instance)
        if faces is not None and len(faces):
            self.faces.append(faces + self.count)
        self.count += len(points)

    def add_render(self, depth_m: np.ndarray, instance: np.ndarray, pose: np.ndarray, intrinsics: np.ndarray) -> None:
        h, w = depth_m.shape
        rows = np.arange(0, h, self.stride)
        cols = np.arange(0, w, self.stride)
        grid_v, grid_u = np.meshgrid(rows, cols, indexing="ij")
        z = depth_m[grid_v, grid_u]
        valid = z > 0
        index = np.full(z.shape, -1, dtype=np.int64)
        index[valid] = np.arange(int(valid.sum()))
        points = _backproject(grid_u[valid], grid_v[valid], z[valid], pose, intrinsics)
        # two triangles per grid cell whose corners all have depth and no depth jump
        a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
        za, zb, zc, zd = z[:-1, :-1], z[:-1, 1:], z[1:, :-1], z[1:, 1:]
        corners = np.stack([za, zb, zc, zd])
        smooth = (corners.max(axis=0) - corners.min(axis=0)) <= MAX_EDGE_DEPTH_RATIO * corners.min(axis=0)
        ok = (a >= 0) & (b >= 0) & (c >= 0) & (d >= 0) & smooth
        faces = np.concatenate([np.stack([a[ok], c[ok], b[ok]], axis=1), np.stack([b[ok], c[ok], d[ok]], axis=1)])
        self._add(points, instance[grid_v, grid_u][valid].astype(np.int64), faces)

        # extra samples inside every object so small objects own vertices too
        ids = instance.ravel()
        flat_depth = depth_m.ravel()
        keep = (ids != BACKGROUND_INSTANCE) & (flat_depth > 0)
        pixel = np.flatnonzero(keep)
        if len(pixel) == 0:
            return
        order = np.argsort(ids[pixel], kind="stable")
        pixel = pixel[order]
        sorted_ids = ids[pixel]
        starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_ids)) + 1])
        counts = np.diff(np.append(starts, len(pixel)))
        picks = []
        for start, count in zip(starts, counts):
            n = min(OBJECT_SAMPLES, count)
            picks.append(pixel[start + np.linspace(0, count - 1, n).round().astype(np.int64)])
        chosen = np.concatenate(picks)
        v, u = np.divmod(chosen, w)
        self._add(_backproject(u, v, flat_depth[chosen], pose, intrinsics), ids[chosen].astype(np.int64))

    def build(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.vertices:
            return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64)
        faces = np.concatenate(self.faces) if self.faces else np.zeros((0, 3), dtype=np.int64)
        return np.concatenate(self.vertices), faces, np.concatenate(self.instances)


def _backproject(u: np.ndarray, v: np.ndarray, z: np.ndarray, pose: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    x = (u - intrinsics[0, 2]) / intrinsics[0, 0] * z
    y = (v - intrinsics[1, 2]) / intrinsics[1, 1] * z
    cam = np.stack([x, y, z], axis=1)
    return cam @ pose[:3, :3].T + pose[:3, 3]


def read_scene(path: Path, mesh_stride: int = MESH_STRIDE_PX) -> Scene:
    """Read one Structured3D scene folder into the common model (OpenCV camera-to-world, metres, +z up)."""
    scene_dir = Path(path)
    if not scene_dir.is_dir():
        raise SparError(f"{scene_dir}: not a scene folder")
    boxes = _read_boxes(scene_dir)
    renders_dir = scene_dir / "2D_rendering"
    if not renders_dir.is_dir():
        raise SparError(f"{renders_dir}: missing (required Structured3D folder)")

    skipped: dict[str, int] = {}
    frames: list[Frame] = []
    mesh = _MeshBuilder(mesh_stride)
    votes: dict[int, Counter] = {}
    unknown_ids: set[int] = set()
    for room in sorted((p for p in renders_dir.iterdir() if p.is_dir()), key=_id_key):
        full = room / "perspective" / "full"
        if not full.is_dir():
            continue
        for position in sorted((p for p in full.iterdir() if p.is_dir()), key=_id_key):
            colour = next((position / name for name in COLOUR_FILES if (position / name).is_file()), None)
            if colour is None:
                count_skipped(skipped, "render without colour image")
                continue
            depth_path = position / "depth.png"
            if not depth_path.is_file():
                count_skipped(skipped, "render without depth.png")
                continue
            camera_path = position / "camera_pose.txt"
            if not camera_path.is_file():
                count_skipped(skipped, "render without camera_pose.txt")
                continue
            try:
                depth_m = _read_png(depth_path).astype(float) / DEPTH_SCALE
            except OSError:
                count_skipped(skipped, "render with unreadable depth.png")
                continue
            if depth_m.ndim != 2:
                count_skipped(skipped, "render with non single-channel depth.png")
                continue
            height, width = depth_m.shape
            colour_size = _image_size(colour)
            if colour_size is None:
                count_skipped(skipped, "render with unreadable colour image")
                continue
            if not same_aspect(*colour_size, width, height):
                count_skipped(skipped, "render whose colour image and depth map differ in aspect ratio")
                log.warning("%s: colour image %dx%d, depth map %dx%d: aspect ratios differ; render skipped",
                            colour, *colour_size, width, height)
                continue
            try:
                pose, intrinsics = camera_from_pose_file(np.loadtxt(camera_path, dtype=float, ndmin=1), width, height)
            except (ValueError, OSError):
                count_skipped(skipped, "render with malformed camera_pose.txt")
                continue
            instance = _optional_png(position / "instance.png", skipped)
            if instance is not None and instance.shape != depth_m.shape:
                count_skipped(skipped, "render with instance.png of another size")
                instance = None
            if instance is None:
                instance = np.full(depth_m.shape, BACKGROUND_INSTANCE, dtype=np.int64)
            # instance ids present (bincount: one pass, ids are uint16), then compact 0..n-1 codes
            present = np.flatnonzero(np.bincount(np.clip(instance.ravel(), 0, None), minlength=BACKGROUND_INSTANCE + 1))
            present = present[present != BACKGROUND_INSTANCE]
            unknown_ids.update(int(i) for i in present if int(i) not in boxes)
            semantic = _optional_png(position / "semantic.png", skipped) if len(present) else None
            if semantic is not None:
                labels = semantic_ids(semantic)
                if labels.shape == instance.shape:
                    compact = np.full(max(int(present[-1]), BACKGROUND_INSTANCE) + 1, -1, dtype=np.int64)
                    compact[present] = np.arange(len(present))
                    code = compact[instance]
                    mask = (code >= 0) & (labels > 0) & (labels < 64)
                    tally = np.bincount(code[mask] * 64 + labels[mask], minlength=len(present) * 64).reshape(len(present), 64)
                    for row, col in zip(*np.nonzero(tally)):
                        votes.setdefault(int(present[row]), Counter())[int(col)] += int(tally[row, col])
            mesh.add_render(depth_m, instance, pose, intrinsics)
            frames.append(
                Frame(
                    index=len(frames),
                    color_path=str(colour),
                    depth_path=str(depth_path),
                    depth_scale=DEPTH_SCALE,
                    pose=pose,
                    intrinsics=intrinsics,
                    width=int(width),
                    height=int(height),
                )
            )
    count_skipped(skipped, "instance id without box", len(unknown_ids))

    vertices, faces, vertex_instance = mesh.build()
    order = np.argsort(vertex_instance, kind="stable")
    sorted_ids = vertex_instance[order]
    objects: list[Object3D] = []
    for object_id in sorted(boxes):
        tally = votes.get(object_id)
        if not tally:
            count_skipped(skipped, "object never rendered (no label)")
            continue
        best = max(tally.values())
        label_id = min(lab for lab, n in tally.items() if n == best)
        if not 1 <= label_id <= len(NYU40_LABELS):
            count_skipped(skipped, "object with unknown semantic id")
            continue
        label = NYU40_LABELS[label_id - 1]
        center, extents, rotation = oriented_box(box_corners(*boxes[object_id]))
        lo, hi = np.searchsorted(sorted_ids, [object_id, object_id + 1])
        objects.append(Object3D(id=object_id, label=label, center=center, extents=extents, rotation=rotation, vertex_ids=np.sort(order[lo:hi])))
    return Scene(
        id=scene_dir.name,
        source="structured3d",
        vertices=vertices,
        faces=faces,
        frames=frames,
        objects=objects,
        skipped=skipped,
    )

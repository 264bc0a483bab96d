"""Reader for the ScanNet export layout (docs/formats.md "ScanNet export layout"), also used for our synthetic scenes.

Objects come from the over-segmentation (segs.json) and its grouping (aggregation.json): an
object's vertices are those of its segments. Its box is gravity-aligned: yaw only, from the
minimum-area rectangle of the vertices' xy projection, z from their min/max; the yaw is folded
into [-45, 45) degrees so near-axis-aligned furniture gets extents along world x, y.

We keep ScanNet's raw mesh frame (the poses live in it) and ignore `<scene>.txt` axisAlignment.
Bad frames (pose missing, unparsable, non-finite, or not rigid; colour image missing or
unreadable) are skipped and counted in `Scene.skipped`; aggregation segments missing from
segs.json are ignored (counted), and an object left with no vertex is dropped (counted).
Missing required files raise SparError naming the file, and so do values of the wrong type that
would otherwise be coerced (a segment id 1.5 or "3", a label given as a list, a string objectId)
and a mesh with a non-finite vertex: the mesh is the ground truth of every box, visibility test and
ray cast, so a corrupt one rejects the scene rather than dropping objects without a word.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.geometry import is_rigid
from spar_hf.scene.model import Frame, Object3D, Scene
from spar_hf.utils.jsonvalues import first_non_integer, kind, too_many_digits

log = logging.getLogger(__name__)

DEPTH_SCALE = 1000.0  # ScanNet depth PNG: uint16 millimetres


def list_scenes(root: str | Path) -> list[Path]:
    """Folders under `root` (or `root` itself) holding `<name>/<name>_vh_clean_2.ply`, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise SparError(f"{root}: scene root is not a folder")
    if (root / f"{root.name}_vh_clean_2.ply").is_file():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / f"{p.name}_vh_clean_2.ply").is_file())


def _require(path: Path) -> Path:
    if not path.is_file():
        raise SparError(f"{path}: required file missing")
    return path


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(_require(path).read_text())
    except (UnicodeDecodeError, RecursionError) as exc:
        raise SparError(f"{path}: not valid JSON ({exc})") from None
    except ValueError as exc:  # JSONDecodeError, or a number past Python's digit limit (a plain ValueError)
        reason = exc if isinstance(exc, json.JSONDecodeError) else too_many_digits()
        raise SparError(f"{path}: not valid JSON ({reason})") from None
    if not isinstance(data, dict):
        raise SparError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def read_matrix(path: Path) -> np.ndarray:
    """A whitespace-separated matrix file; raises ValueError when it does not parse as numbers."""
    values = np.array([float(x) for x in path.read_text().split()], dtype=float)
    side = int(round(math.sqrt(values.size)))
    if side * side != values.size or side not in (3, 4):
        raise ValueError(f"expected 9 or 16 numbers, found {values.size}")
    return values.reshape(side, side)


def read_intrinsics(path: Path) -> np.ndarray:
    """3x3 pinhole matrix from a 3x3 or 4x4 file (ScanNet writes 4x4)."""
    try:
        k = read_matrix(_require(path))[:3, :3]
    except ValueError as exc:
        raise SparError(f"{path}: bad intrinsics ({exc})") from None
    if not np.all(np.isfinite(k)) or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise SparError(f"{path}: bad intrinsics (non-finite or non-positive focal length)")
    return k


def read_mesh(ply: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) and faces (F, 3) of a PLY mesh; SparError naming the file when it cannot be
    read or a vertex coordinate is NaN or infinite (trimesh keeps them, and such a vertex silently
    turned its object's box into NaN: never visible, no message)."""
    import trimesh  # deferred, trimesh: ~0.9 s to import

    try:
        mesh = trimesh.load(_require(ply), process=False, force="mesh")
    except SparError:
        raise
    except Exception as exc:  # trimesh raises many types for broken files
        raise SparError(f"{ply}: unreadable mesh ({exc})") from None
    vertices = np.asarray(mesh.vertices, dtype=float)
    bad = np.flatnonzero(~np.isfinite(vertices).all(axis=1)) if vertices.size else np.zeros(0, dtype=np.int64)
    if bad.size:
        raise SparError(f"{ply}: {bad.size} of {len(vertices)} mesh vertices are not finite (NaN or infinity; "
                        f"first: vertex {bad[0]} = {vertices[bad[0]].tolist()})")
    return vertices, np.asarray(mesh.faces, dtype=np.int64)


def integer_ids(values: object, where: str) -> np.ndarray:
    """A JSON array of integer ids as int64; SparError naming `where` and the first element of another
    type (numpy would truncate 1.5 to 1 and parse "3") or outside the 64-bit range."""
    if not isinstance(values, list):
        raise SparError(f"{where} is {kind(values)}, expected an array of integers")
    bad = first_non_integer(values)
    if bad is not None:
        raise SparError(f"{where}[{bad}] is {kind(values[bad])}, expected an integer")
    try:
        return np.asarray(values, dtype=np.int64)
    except OverflowError:
        big = next(i for i, v in enumerate(values) if not -2 ** 63 <= v < 2 ** 63)
        raise SparError(f"{where}[{big}] = {values[big]} is outside the signed 64-bit range") from None


def segment_group(group: object, where: str) -> tuple[int, str, np.ndarray]:
    """(objectId, label, segment ids) of one aggregation segGroup, each of its JSON type; SparError naming
    `where` otherwise (a list label used to become the label "['chair']", segment 1.5 segment 1).
    ScanNet++ groups may carry their id as `id`."""
    if not isinstance(group, dict):
        raise SparError(f"{where} is {kind(group)}, expected an object")
    object_id = group.get("objectId", group.get("id"))
    for name, value, expected in (("objectId", object_id, int), ("label", group.get("label"), str)):
        if value is None:
            raise SparError(f"{where} has no {name}")
        if type(value) is not expected:
            raise SparError(f"{where}: {name} is {kind(value)}, expected {'an integer' if expected is int else 'a string'}")
    if "segments" not in group:
        raise SparError(f"{where} has no segments")
    return object_id, group["label"], integer_ids(group["segments"], f"{where}: segments")


def oriented_box(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gravity-aligned box of (N, 3) points: (center, extents, rotation) with yaw in [-45, 45) deg."""
    import trimesh  # deferred, trimesh: ~0.9 s to import

    points = np.asarray(points, dtype=float)
    z_lo, z_hi = points[:, 2].min(), points[:, 2].max()
    xy = points[:, :2]
    yaw = 0.0
    try:
        transform, _ = trimesh.bounds.oriented_bounds_2D(xy)
        yaw = math.atan2(transform[0, 1], transform[0, 0])
    except Exception:  # fewer than 3 distinct or collinear points: qhull fails, keep axis-aligned
        yaw = 0.0
    yaw = (yaw + math.pi / 4) % (math.pi / 2) - math.pi / 4
    c, s = math.cos(yaw), math.sin(yaw)
    local = xy @ np.array([[c, -s], [s, c]])  # coordinates along the box axes (c, s) and (-s, c)
    lo, hi = local.min(axis=0), local.max(axis=0)
    mid = (lo + hi) / 2.0
    center = np.array([c * mid[0] - s * mid[1], s * mid[0] + c * mid[1], (z_lo + z_hi) / 2.0])
    extents = np.array([hi[0] - lo[0], hi[1] - lo[1], z_hi - z_lo])
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return center, extents, rotation


def _read_objects(folder: Path, name: str, n_vertices: int, vertices: np.ndarray, skipped: dict[str, int]) -> list[Object3D]:
    segs_path = folder / f"{name}_vh_clean_2.0.010000.segs.json"
    agg_path = folder / f"{name}.aggregation.json"
    if not agg_path.is_file() and (folder / f"{name}_vh_clean.aggregation.json").is_file():
        agg_path = folder / f"{name}_vh_clean.aggregation.json"
    segs = _read_json(segs_path)
    agg = _read_json(agg_path)
    if "segIndices" not in segs:
        raise SparError(f"{segs_path}: no segIndices")
    seg_indices = integer_ids(segs["segIndices"], f"{segs_path}: segIndices")
    groups = agg.get("segGroups")
    if not isinstance(groups, list):
        raise SparError(f"{agg_path}: segGroups is {kind(groups)}, expected an array")
    if seg_indices.shape != (n_vertices,):
        raise SparError(f"{segs_path}: {seg_indices.size} segment ids for {n_vertices} mesh vertices")
    order = np.argsort(seg_indices, kind="stable")
    seg_ids, starts = np.unique(seg_indices[order], return_index=True)
    ends = np.append(starts[1:], order.size)
    where = {int(s): (int(a), int(b)) for s, a, b in zip(seg_ids, starts, ends)}
    objects = []
    for n, group in enumerate(groups):
        object_id, label, segment_ids = segment_group(group, f"{agg_path}: segGroups[{n}]")
        segments = segment_ids.tolist()
        missing = [s for s in segments if s not in where]
        if missing:
            skipped["aggregation segment missing"] = skipped.get("aggregation segment missing", 0) + len(missing)
            log.warning("%s: object %d (%s) names %d segment(s) absent from segs.json (%s); ignored", agg_path, object_id, label, len(missing), missing[:5])
        parts = [order[where[s][0]:where[s][1]] for s in segments if s in where]
        vertex_ids = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        if vertex_ids.size == 0:
            skipped["object without vertices"] = skipped.get("object without vertices", 0) + 1
            log.warning("%s: object %d (%s) has no vertices; dropped", agg_path, object_id, label)
            continue
        center, extents, rotation = oriented_box(vertices[vertex_ids])
        objects.append(Object3D(id=object_id, label=label, center=center, extents=extents, rotation=rotation, vertex_ids=vertex_ids))
    return objects


def _frame_indices(color_dir: Path) -> list[int]:
    if not color_dir.is_dir():
        raise SparError(f"{color_dir}: required folder missing")
    return sorted(int(p.stem) for p in color_dir.glob("*.jpg") if p.stem.isdigit())


def _jpeg_has_eoi(path: Path) -> bool:
    """A whole JPEG ends with the EOI marker (trailing padding allowed); a cut-short file does not."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - 64))
        return fh.read().rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")


def _read_frames(folder: Path, intrinsics: np.ndarray, skipped: dict[str, int]) -> list[Frame]:
    def skip(reason: str, path: Path) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1
        log.warning("%s: %s; frame skipped", path, reason)

    frames = []
    for index in _frame_indices(folder / "color"):
        color = folder / "color" / f"{index}.jpg"
        pose_path = folder / "pose" / f"{index}.txt"
        if not pose_path.is_file():
            skip("missing pose", pose_path)
            continue
        try:
            pose = read_matrix(pose_path)
        except (ValueError, OSError):
            skip("unreadable pose", pose_path)
            continue
        if pose.shape != (4, 4):
            skip("unreadable pose", pose_path)
            continue
        if not np.all(np.isfinite(pose)):
            skip("pose not finite", pose_path)
            continue
        if not is_rigid(pose):
            skip("pose not rigid", pose_path)
            continue
        try:
            with Image.open(color) as im:
                width, height = im.size
                complete = im.format != "JPEG" or _jpeg_has_eoi(color)
        except (OSError, Image.DecompressionBombError):
            skip("unreadable color image", color)
            continue
        if not complete:
            skip("truncated color image", color)
            continue
        depth = folder / "depth" / f"{index}.png"
        frames.append(Frame(
            index=index,
            color_path=str(color),
            depth_path=str(depth) if depth.is_file() else None,
            depth_scale=DEPTH_SCALE,
            pose=pose,
            intrinsics=intrinsics,
            width=width,
            height=height,
        ))
    return frames


def read_scene(path: str | Path) -> Scene:
    """Load one ScanNet-layout scene folder into the common model (raw mesh frame, z up)."""
    folder = Path(path)
    name = folder.name
    vertices, faces = read_mesh(folder / f"{name}_vh_clean_2.ply")
    skipped: dict[str, int] = {}
    objects = _read_objects(folder, name, len(vertices), vertices, skipped)
    intrinsics = read_intrinsics(folder / "intrinsic" / "intrinsic_color.txt")
    frames = _read_frames(folder, intrinsics, skipped)
    return Scene(id=name, source="scannet", vertices=vertices, faces=faces, frames=frames, objects=objects, skipped=skipped)

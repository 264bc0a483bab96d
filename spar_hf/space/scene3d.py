"""A sample's 3D context as a GLB for gr.Model3D: object boxes, camera frusta and a floor.

The build carries no scene mesh, so the scene is rebuilt from what a generated row records:
`meta.objects` (centre, extents, rotation when known: oriented boxes in world metres; the sample's
own objects in colour, the other objects its scene's rows mention in faint grey) and, from
the RGBD config, one camera-to-world pose and intrinsics per image (frusta drawn to
FRUSTUM_DEPTH_M). The floor spans the objects and cameras (plus FLOOR_MARGIN_M) at the lowest
box bottom (or z = 0). The world is z-up; glTF is y-up, so the scene is turned -90 deg about x.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from spar_hf.utils.atomic import atomic_write_bytes

OBJECT_ALPHA = 0.55
CONTEXT_ALPHA = 0.18
CONTEXT_RGB = (120, 120, 120)
FRUSTUM_ALPHA = 0.35
FRUSTUM_DEPTH_M = 0.5
FLOOR_MARGIN_M = 0.5
FLOOR_THICKNESS_M = 0.02
OBJECT_PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60),
)
FRUSTUM_PALETTE: tuple[tuple[int, int, int], ...] = ((255, 215, 0), (0, 200, 255), (255, 105, 180), (124, 252, 0), (255, 140, 0))
Z_UP_TO_Y_UP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], dtype=float)


def _material(rgb: Sequence[int], alpha: float):
    from trimesh.visual.material import PBRMaterial  # deferred, trimesh: ~0.9 s to import

    return PBRMaterial(baseColorFactor=[*(c / 255.0 for c in rgb), alpha], alphaMode="BLEND" if alpha < 1 else "OPAQUE",
                       doubleSided=True, metallicFactor=0.0, roughnessFactor=0.9)


def _with_material(mesh, rgb: Sequence[int], alpha: float):
    from trimesh.visual import TextureVisuals  # deferred, trimesh: ~0.9 s to import

    mesh.visual = TextureVisuals(material=_material(rgb, alpha))
    return mesh


def box_transform(obj: dict[str, Any]) -> np.ndarray:
    """4x4 placing a unit-axis box: columns of `rotation` are the box axes (identity when absent)."""
    transform = np.eye(4)
    rotation = obj.get("rotation")
    if rotation is not None:
        transform[:3, :3] = np.asarray(rotation, dtype=float)
    transform[:3, 3] = np.asarray(obj["center"], dtype=float)
    return transform


def frustum_vertices(pose: np.ndarray, intrinsics: np.ndarray, width: int, height: int, depth: float = FRUSTUM_DEPTH_M) -> np.ndarray:
    """Apex then the image corners (top-left, top-right, bottom-right, bottom-left) at `depth`, world frame, (5, 3)."""
    pose = np.asarray(pose, dtype=float)
    pixels = np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], dtype=float)
    rays = pixels @ np.linalg.inv(np.asarray(intrinsics, dtype=float)).T  # z = 1 in the camera frame
    corners = (rays * depth) @ pose[:3, :3].T + pose[:3, 3]
    return np.vstack([pose[:3, 3], corners])


FRUSTUM_FACES = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 1], [1, 3, 2], [1, 4, 3]])


def scene_bounds(objects: list[dict[str, Any]], points: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Axis-aligned bounds of every box corner and extra point, or None when empty."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    clouds = [points.reshape(-1, 3)] if points.size else []
    for obj in objects:
        transform = box_transform(obj)
        corners = (signs * np.asarray(obj["extents"], dtype=float) / 2.0) @ transform[:3, :3].T + transform[:3, 3]
        clouds.append(corners)
    if not clouds:
        return None
    cloud = np.vstack(clouds)
    return cloud.min(axis=0), cloud.max(axis=0)


Camera = tuple[np.ndarray, np.ndarray, int, int]  # pose, K, width, height


def build_scene(objects: list[dict[str, Any]], cameras: list[Camera], context: list[dict[str, Any]] | None = None):
    """trimesh.Scene of the boxes, the frusta and a floor, y-up; `context` boxes in faint grey."""
    import trimesh  # deferred, trimesh: ~0.9 s to import

    scene = trimesh.Scene()
    context = context or []
    for i, obj in enumerate(context):
        box = trimesh.creation.box(extents=np.asarray(obj["extents"], dtype=float), transform=box_transform(obj))
        scene.add_geometry(_with_material(box, CONTEXT_RGB, CONTEXT_ALPHA), node_name=f"context_{i}_{obj.get('label', '')}")
    for i, obj in enumerate(objects):
        box = trimesh.creation.box(extents=np.asarray(obj["extents"], dtype=float), transform=box_transform(obj))
        scene.add_geometry(_with_material(box, OBJECT_PALETTE[i % len(OBJECT_PALETTE)], OBJECT_ALPHA),
                           node_name=f"object_{i}_{obj.get('label', '')}")
    apexes = []
    for i, (pose, k, width, height) in enumerate(cameras):
        vertices = frustum_vertices(pose, k, width, height)
        apexes.append(vertices)
        mesh = trimesh.Trimesh(vertices=vertices, faces=FRUSTUM_FACES, process=False)
        scene.add_geometry(_with_material(mesh, FRUSTUM_PALETTE[i % len(FRUSTUM_PALETTE)], FRUSTUM_ALPHA), node_name=f"camera_{i}")
    bounds = scene_bounds(objects + context, np.vstack(apexes) if apexes else np.zeros((0, 3)))
    if bounds is not None:
        low, high = bounds
        floor_z = min(0.0, float(low[2])) if objects or context else float(low[2])
        size = np.array([high[0] - low[0] + 2 * FLOOR_MARGIN_M, high[1] - low[1] + 2 * FLOOR_MARGIN_M, FLOOR_THICKNESS_M])
        transform = np.eye(4)
        transform[:3, 3] = [(low[0] + high[0]) / 2, (low[1] + high[1]) / 2, floor_z - FLOOR_THICKNESS_M / 2]
        floor = trimesh.creation.box(extents=size, transform=transform)
        scene.add_geometry(_with_material(floor, (200, 200, 200), 1.0), node_name="floor")
    scene.apply_transform(Z_UP_TO_Y_UP)
    return scene


def write_glb(path: Path, objects: list[dict[str, Any]], cameras: list[Camera],
              context: list[dict[str, Any]] | None = None) -> Path | None:
    """Write the GLB; None when there is nothing to show (no objects and no cameras)."""
    if not objects and not cameras:
        return None

    data = build_scene(objects, cameras, context).export(file_type="glb")
    atomic_write_bytes(path, data)
    return path


def legend(objects: list[dict[str, Any]], n_cameras: int, n_context: int = 0) -> str:
    """Markdown legend: each box colour with its label and id, each frustum colour with its image."""
    lines = []
    for i, obj in enumerate(objects):
        r, g, b = OBJECT_PALETTE[i % len(OBJECT_PALETTE)]
        centre = ", ".join(f"{v:.2f}" for v in obj["center"])
        lines.append(f"- <span style='color:rgb({r},{g},{b})'>&#9632;</span> box: {obj.get('label', '?')} "
                     f"(id {obj.get('id', '?')}) at ({centre}) m")
    for i in range(n_cameras):
        r, g, b = FRUSTUM_PALETTE[i % len(FRUSTUM_PALETTE)]
        lines.append(f"- <span style='color:rgb({r},{g},{b})'>&#9650;</span> camera of image {i}")
    if n_context:
        lines.append(f"- faint grey: {n_context} other object(s) of the scene")
    return "\n".join(lines)

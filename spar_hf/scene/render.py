"""Ray casting a scene mesh from a pinhole camera (embree via trimesh): face ids and depth per pixel.

One `intersects_first` call per frame gives the hit face of every pixel; depth is then the
exact ray/plane distance of that face, computed in numpy (no second cast for hit locations).
Pixel centres sit at integer coordinates (OpenCV), so pixel (i, j) looks through u=i, v=j.
"""

from __future__ import annotations

import numpy as np
import trimesh


class RayCaster:
    """A mesh prepared once for many casts (the embree BVH is built on first use)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        self.mesh = trimesh.Trimesh(vertices=np.asarray(vertices, dtype=float), faces=np.asarray(faces, dtype=np.int64), process=False)
        tri = self.mesh.vertices[self.mesh.faces]
        self.face_origin = tri[:, 0]
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        norms = np.linalg.norm(normals, axis=1, keepdims=True)
        self.face_normals = np.divide(normals, norms, out=np.zeros_like(normals), where=norms > 0)
        self._intersector = None
        self._rays_key: tuple | None = None
        self._rays = np.zeros((0, 3))

    @property
    def intersector(self):
        if self._intersector is None:
            try:
                from trimesh.ray.ray_pyembree import RayMeshIntersector
            except ImportError:  # pragma: no cover - embree missing: slower pure-python fallback
                from trimesh.ray.ray_triangle import RayMeshIntersector
            self._intersector = RayMeshIntersector(self.mesh)
        return self._intersector

    def _camera_rays(self, intrinsics: np.ndarray, width: int, height: int) -> np.ndarray:
        key = (tuple(np.round(intrinsics[:2, :3].ravel(), 9)), width, height)
        if self._rays_key != key:
            ju, iv = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
            self._rays = np.stack(
                [(ju - intrinsics[0, 2]) / intrinsics[0, 0], (iv - intrinsics[1, 2]) / intrinsics[1, 1], np.ones_like(ju)], axis=-1
            ).reshape(-1, 3)
            self._rays_key = key
        return self._rays

    def cast(self, pose: np.ndarray, intrinsics: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cast one ray per pixel. Returns (face id (H, W) int, -1 = miss; camera z depth (H, W) metres,
        0 = miss; world ray directions (H*W, 3) scaled so their camera z is 1)."""
        dirs = self._camera_rays(intrinsics, width, height) @ pose[:3, :3].T
        origin = pose[:3, 3]
        face = np.asarray(self.intersector.intersects_first(np.broadcast_to(origin, dirs.shape), dirs), dtype=np.int64)
        depth = np.zeros(face.shape, dtype=float)
        hit = np.flatnonzero(face >= 0)
        if hit.size:
            plane = np.einsum("ij,ij->i", self.face_normals, self.face_origin - origin)  # signed distance per face
            hit_face = face[hit]
            den = np.einsum("ij,ij->i", self.face_normals[hit_face], dirs[hit])
            with np.errstate(divide="ignore", invalid="ignore"):
                t = plane[hit_face] / den
            depth[hit] = np.where(np.isfinite(t) & (t > 0), t, 0.0)
        return face.reshape(height, width), depth.reshape(height, width), dirs


def render_depth(caster: RayCaster, pose: np.ndarray, intrinsics: np.ndarray, width: int, height: int) -> np.ndarray:
    """Camera-z depth map in metres (0 = no hit)."""
    return caster.cast(pose, intrinsics, width, height)[1]

"""Camera geometry in the OpenCV convention (x right, y down, z forward), vectorised numpy.

Poses are camera-to-world 4x4 matrices; points are (N, 3) arrays in metres.
"""

from __future__ import annotations

import math

import numpy as np


def to_homogeneous(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float)
    return np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1)


def invert_pose(pose: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform (cheaper and stabler than np.linalg.inv)."""
    rot = pose[:3, :3]
    out = np.eye(4)
    out[:3, :3] = rot.T
    out[:3, 3] = -rot.T @ pose[:3, 3]
    return out


def world_to_camera(points: np.ndarray, cam_to_world: np.ndarray) -> np.ndarray:
    """World points (N, 3) -> camera-frame points (N, 3)."""
    points = np.asarray(points, dtype=float)
    rot = cam_to_world[:3, :3]
    return (points - cam_to_world[:3, 3]) @ rot


def camera_to_world(points: np.ndarray, cam_to_world: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float)
    return points @ cam_to_world[:3, :3].T + cam_to_world[:3, 3]


def camera_to_pixel(points_cam: np.ndarray, intrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camera points (N, 3) -> (pixels (N, 2), depth z (N,)). Points behind the camera get nan pixels."""
    points_cam = np.asarray(points_cam, dtype=float)
    z = points_cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = intrinsics[0, 0] * points_cam[..., 0] / z + intrinsics[0, 2]
        v = intrinsics[1, 1] * points_cam[..., 1] / z + intrinsics[1, 2]
    uv = np.stack([u, v], axis=-1)
    uv[z <= 0] = np.nan
    return uv, z


def project(points_world: np.ndarray, cam_to_world: np.ndarray, intrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World points -> (pixels, depth) in the given camera."""
    return camera_to_pixel(world_to_camera(points_world, cam_to_world), intrinsics)


def pixel_to_camera(uv: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Back-project pixels (N, 2) at camera-space depth z (N,) to camera points (N, 3)."""
    uv = np.asarray(uv, dtype=float)
    depth = np.asarray(depth, dtype=float)
    x = (uv[..., 0] - intrinsics[0, 2]) / intrinsics[0, 0] * depth
    y = (uv[..., 1] - intrinsics[1, 2]) / intrinsics[1, 1] * depth
    return np.stack([x, y, depth], axis=-1)


def normalize_xy(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel coordinates -> integers 0..1000 (origin top-left), for points (...,2) or boxes (...,4)."""
    xy = np.asarray(xy, dtype=float)
    scale = np.array([width, height] * (xy.shape[-1] // 2), dtype=float)
    return np.clip(np.rint(xy / scale * 1000.0), 0, 1000).astype(int)


def denormalize_xy(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Integers 0..1000 -> pixel coordinates (float)."""
    xy = np.asarray(xy, dtype=float)
    scale = np.array([width, height] * (xy.shape[-1] // 2), dtype=float)
    return xy / 1000.0 * scale


def relative_pose(pose_a: np.ndarray, pose_b: np.ndarray) -> np.ndarray:
    """Camera b expressed in camera a's frame: T_a<-b = inv(pose_a) @ pose_b."""
    return invert_pose(pose_a) @ pose_b


def rotation_angle_deg(rot: np.ndarray) -> float:
    """Angle of a rotation matrix in degrees (paper eq. 3: arccos((trace - 1) / 2))."""
    cos = (np.trace(rot) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def is_rigid(pose: np.ndarray, tol: float = 1e-3) -> bool:
    """True when pose is a finite 4x4 rigid transform (orthonormal rotation, det +1, last row 0 0 0 1)."""
    pose = np.asarray(pose, dtype=float)
    if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
        return False
    rot = pose[:3, :3]
    if not np.allclose(rot.T @ rot, np.eye(3), atol=tol):
        return False
    if abs(np.linalg.det(rot) - 1.0) > tol:
        return False
    return bool(np.allclose(pose[3], [0.0, 0.0, 0.0, 1.0], atol=tol))


ASPECT_TOLERANCE = 0.01  # relative; ScanNet pairs 1296x968 colour with 640x480 depth, 0.4 % apart


def same_aspect(width: int, height: int, other_width: int, other_height: int, tolerance: float = ASPECT_TOLERANCE) -> bool:
    """Whether two images have the same aspect ratio within `tolerance` (relative). A depth map is read
    for its colour image by scaling each axis on its own, which holds only for the same field of view."""
    if min(width, height, other_width, other_height) <= 0:
        return False
    return abs(width * other_height - other_width * height) <= tolerance * other_width * height


def _cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors; same arithmetic as np.cross without its per-call axis handling."""
    a0, a1, a2 = a.tolist()
    b0, b1, b2 = b.tolist()
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """Camera-to-world pose at `eye` looking at `target` with world `up` kept vertical in the image.

    Columns of the rotation are the camera's x (right), y (down), z (forward) axes in world coordinates.
    Raises ValueError when forward is parallel to up.
    """
    eye = np.asarray(eye, dtype=float)
    forward = np.asarray(target, dtype=float) - eye
    norm = math.sqrt(forward @ forward)  # what np.linalg.norm computes for a vector, without its overhead
    if norm == 0:
        raise ValueError("eye and target coincide")
    forward = forward / norm
    right = _cross3(forward, np.asarray(up, dtype=float))
    rnorm = math.sqrt(right @ right)
    if rnorm < 1e-9:
        raise ValueError("forward is parallel to up")
    right = right / rnorm
    down = _cross3(forward, right)
    pose = np.eye(4)
    pose[:3, 0] = right
    pose[:3, 1] = down
    pose[:3, 2] = forward
    pose[:3, 3] = eye
    return pose


def boxes_overlap_3d(center_a: np.ndarray, extents_a: np.ndarray, rot_a: np.ndarray,
                     center_b: np.ndarray, extents_b: np.ndarray, rot_b: np.ndarray) -> bool:
    """Separating-axis test for two oriented boxes (touching counts as not overlapping).

    Boxes whose bounding spheres are apart cannot overlap, which settles most pairs in a scene
    cheaply; otherwise the 15 candidate axes (3 + 3 face normals, 9 edge cross products) are
    tested in one vectorised step, degenerate cross products (parallel edges) ignored.
    """
    delta = np.asarray(center_b, dtype=float) - np.asarray(center_a, dtype=float)
    half_a = np.asarray(extents_a, dtype=float) / 2.0
    half_b = np.asarray(extents_b, dtype=float) / 2.0
    if math.sqrt(delta @ delta) >= math.sqrt(half_a @ half_a) + math.sqrt(half_b @ half_b):
        return False
    rot_a = np.asarray(rot_a, dtype=float)
    rot_b = np.asarray(rot_b, dtype=float)
    cross = np.cross(rot_a.T[:, None, :], rot_b.T[None, :, :]).reshape(9, 3)
    lengths = np.linalg.norm(cross, axis=1)
    keep = lengths > 1e-9
    axes = np.concatenate([rot_a.T, rot_b.T, cross[keep] / lengths[keep, None]])
    ra = np.abs(axes @ rot_a) @ half_a
    rb = np.abs(axes @ rot_b) @ half_b
    return not bool(np.any(np.abs(axes @ delta) >= ra + rb - 1e-9))


def boxes_overlap_2d(a: np.ndarray, b: np.ndarray) -> bool:
    """Axis-aligned 2D boxes x1, y1, x2, y2 overlap with positive area."""
    return bool(min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]))

"""Path and file-format conventions of the SPAR-7M layout, shared by the writer and the reader.

Image paths inside QA records are relative to `spar/<source>/images`:
keyframes `<scene>/image_color/<n>.jpg`, video frames `<scene>/video_color/frame<i>_<n>.jpg`.
Every other per-frame file (depth, pose, intrinsics) is derived from that path, so a record's
image list is enough to find its RGBD data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

QA_DIR = "qa_jsonl"
IMAGES_DIR = "images"
SPLITS = ("train", "val")
QA_FILE_RE = re.compile(r"^(?P<format>[a-z]+)_(?P<n>\d+)\.jsonl$")
# a scene is one folder name, never `.` or `..` (depth/pose/intrinsic paths are derived from it)
_KEYFRAME_RE = re.compile(r"^(?!\.\.?/)(?P<scene>[^/]+)/image_color/(?P<n>-?\d+)\.(?P<ext>[A-Za-z]+)$")
_VIDEO_RE = re.compile(r"^(?!\.\.?/)(?P<scene>[^/]+)/video_color/frame(?P<i>\d+)_(?P<n>-?\d+)\.(?P<ext>[A-Za-z]+)$")


def qa_file_name(fmt: str, n_lines: int) -> str:
    """`<format>_<N>.jsonl`, N = number of lines (the release's naming)."""
    return f"{fmt}_{n_lines}.jsonl"


@dataclass(frozen=True)
class FramePaths:
    """The files of one frame, all relative to `spar/<source>/images`."""

    scene: str
    frame_index: int
    video_position: int | None  # i in frame<i>_<n>, None for keyframes
    color: str
    depth: str
    pose: str
    intrinsic: str

    @property
    def is_video(self) -> bool:
        return self.video_position is not None


def keyframe_image(scene: str, frame_index: int) -> str:
    return f"{scene}/image_color/{frame_index}.jpg"


def keyframe_depth(scene: str, frame_index: int) -> str:
    return f"{scene}/image_depth/{frame_index}.png"


def video_image(scene: str, position: int, frame_index: int) -> str:
    return f"{scene}/video_color/frame{position}_{frame_index}.jpg"


def frame_paths(image: str) -> FramePaths:
    """Derive depth/pose/intrinsic paths from a layout colour path; ValueError if it is not one."""
    match = _KEYFRAME_RE.match(image)
    if match:
        scene, n = match["scene"], int(match["n"])
        return FramePaths(scene, n, None, image, keyframe_depth(scene, n), f"{scene}/pose/{n}.txt",
                          f"{scene}/intrinsic/{n}.txt")
    match = _VIDEO_RE.match(image)
    if match:
        scene, i, n = match["scene"], int(match["i"]), int(match["n"])
        stem = f"frame{i}_{n}"
        return FramePaths(scene, n, i, image, f"{scene}/video_depth/{stem}.png", f"{scene}/video_pose/{stem}.txt",
                          f"{scene}/intrinsic/{n}.txt")
    raise ValueError(f"not a layout image path (<scene>/image_color/<n>.jpg or <scene>/video_color/frame<i>_<n>.jpg): {image!r}")


def format_matrix(matrix: np.ndarray) -> str:
    """Fixed text form of a matrix: rows on lines, 8 decimals, single spaces, no negative zero.

    Fixed formatting keeps the bytes identical across runs and platforms.
    """
    matrix = np.asarray(matrix, dtype=float)
    rows = []
    for row in matrix:
        rows.append(" ".join(f"{(0.0 if abs(v) < 5e-9 else v):.8f}" for v in row))
    return "\n".join(rows) + "\n"


def parse_matrix(text: str, what: str) -> np.ndarray:
    """Whitespace-separated numbers -> matrix. 16 -> 4x4, 12 -> 3x4, 9 -> 3x3; ValueError otherwise."""
    values = np.array([float(v) for v in text.split()], dtype=float)
    shapes = {16: (4, 4), 12: (3, 4), 9: (3, 3)}
    if values.size not in shapes:
        raise ValueError(f"{what}: expected 9, 12 or 16 numbers, found {values.size}")
    return values.reshape(shapes[values.size])


def as_pose(matrix: np.ndarray, what: str) -> np.ndarray:
    """A 4x4 camera-to-world pose from a 4x4 or 3x4 matrix; non-finite values are an error."""
    if matrix.shape == (3, 4):
        matrix = np.vstack([matrix, [0.0, 0.0, 0.0, 1.0]])
    if matrix.shape != (4, 4):
        raise ValueError(f"{what}: a pose needs 12 or 16 numbers, found {matrix.size}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{what}: pose has non-finite values")
    return matrix


def as_intrinsics(matrix: np.ndarray) -> np.ndarray:
    """3x3 pinhole matrix from a 3x3, 3x4 or 4x4 file (ScanNet writes 4x4)."""
    return np.array(matrix[:3, :3], dtype=float)

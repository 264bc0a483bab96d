"""The common scene model every source is converted to.

Plain dataclasses holding numpy arrays; no I/O here. Conventions (docs/architecture.md "Conventions"):
camera frame is OpenCV (x right, y down, z forward), poses are camera-to-world 4x4,
units are metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frame:
    """One captured image with its camera."""

    index: int
    color_path: str
    depth_path: str | None
    depth_scale: float  # depth PNG value / depth_scale = metres (ScanNet: 1000)
    pose: np.ndarray  # 4x4 camera-to-world
    intrinsics: np.ndarray  # 3x3 pinhole, colour image
    width: int
    height: int


@dataclass
class Object3D:
    """One annotated object instance with its oriented box (world frame)."""

    id: int
    label: str
    center: np.ndarray  # (3,)
    extents: np.ndarray  # (3,) full side lengths along the box axes
    rotation: np.ndarray  # 3x3, columns are the box axes in world coordinates
    vertex_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def corners(self) -> np.ndarray:
        """The 8 box corners in world coordinates, shape (8, 3)."""
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
        return self.center + (signs * (self.extents / 2.0)) @ self.rotation.T


@dataclass
class Scene:
    """A scene: its mesh (vertices, faces), frames and objects.

    `up` is the world's vertical axis (ScanNet and our synthetic scenes: +z).
    """

    id: str
    source: str
    vertices: np.ndarray  # (V, 3) float
    faces: np.ndarray  # (F, 3) int
    frames: list[Frame]
    objects: list[Object3D]
    up: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count of skipped inputs

    def object_by_id(self, object_id: int) -> Object3D:
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        raise KeyError(object_id)

    def frame_by_index(self, index: int) -> Frame:
        for frame in self.frames:
            if frame.index == index:
                return frame
        raise KeyError(index)


def count_skipped(skipped: dict[str, int], reason: str, n: int = 1) -> None:
    """Add `n` skipped inputs under `reason` to a `Scene.skipped` tally (n = 0 adds no key)."""
    if n:
        skipped[reason] = skipped.get(reason, 0) + n

"""3D grounding as text (paper 3.5): parse an answer, recover the 3D box, score by 3D IoU.

Answer text: `Image <k>, center (<u>, <v>), depth <d> m, size (<l>, <w>, <h>) m` where k is the
1-based image number, (u, v) the box centre's projection in 0..1000 image coordinates, d its
camera-space depth (z) and (l, w, h) the box's extents along the world x, y and up (z) axes.
The box is recovered by back-projecting (u, v) at depth d through the chosen image's pose.
IoU is axis-aligned in world coordinates (as ScanRefer scores it); yaw is not predicted, so
boxes are compared as world AABBs. Accuracy at IoU >= 0.25 and >= 0.5 (Acc@0.25, Acc@0.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from spar_hf.geometry import camera_to_world, denormalize_xy, pixel_to_camera, project

_NUM = r"(-?\d+(?:\.\d+)?)"
_IMAGE = re.compile(r"\b(?:image|frame|view)[\s\-#]*(\d+)", re.IGNORECASE)
_PAIR = re.compile(rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)")
_TRIPLE = re.compile(rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*\)")
_DEPTH = re.compile(rf"depth[^0-9\-]*{_NUM}", re.IGNORECASE)


@dataclass(frozen=True)
class GroundingAnswer:
    image: int  # 0-based image index
    u: float  # 0..1000
    v: float  # 0..1000
    depth: float  # metres
    size: tuple[float, float, float]  # metres along world x, y, up


def format_answer(ans: GroundingAnswer) -> str:
    l, w, h = ans.size
    return (f"Image {ans.image + 1}, center ({ans.u:.0f}, {ans.v:.0f}), depth {ans.depth:.2f} m, "
            f"size ({l:.2f}, {w:.2f}, {h:.2f}) m")


def parse_answer(text: str) -> GroundingAnswer | None:
    """The grounding fields of an answer text; None when any is missing."""
    image, pair, triple, depth = _IMAGE.search(text), _PAIR.search(text), _TRIPLE.search(text), _DEPTH.search(text)
    if not (image and pair and triple and depth):
        return None
    return GroundingAnswer(int(image.group(1)) - 1, float(pair.group(1)), float(pair.group(2)), float(depth.group(1)),
                           (float(triple.group(1)), float(triple.group(2)), float(triple.group(3))))


def answer_for(center: np.ndarray, extents_world: np.ndarray, image: int, pose: np.ndarray, intrinsics: np.ndarray,
               width: int, height: int) -> GroundingAnswer:
    """The exact (unrounded) answer for a world box seen from one image."""

    uv, z = project(np.asarray(center, float)[None], pose, intrinsics)
    u, v = uv[0] / np.array([width, height]) * 1000.0
    ext = np.asarray(extents_world, float)
    return GroundingAnswer(image, float(u), float(v), float(z[0]), (float(ext[0]), float(ext[1]), float(ext[2])))


def recover_box(answer: str | GroundingAnswer, pose: np.ndarray, intrinsics: np.ndarray, width: int,
                height: int) -> tuple[np.ndarray, np.ndarray]:
    """(world centre (3,), extents (3,)) of the box an answer describes, through the chosen image's camera."""
    ans = parse_answer(answer) if isinstance(answer, str) else answer
    if ans is None:
        raise ValueError(f"not a grounding answer: {answer!r}")
    uv = denormalize_xy(np.array([ans.u, ans.v]), width, height)
    cam = pixel_to_camera(uv[None], np.array([ans.depth]), np.asarray(intrinsics, float))
    center = camera_to_world(cam, np.asarray(pose, float))[0]
    return center, np.abs(np.asarray(ans.size, float))


def aabb_iou(center_a: np.ndarray, extents_a: np.ndarray, center_b: np.ndarray, extents_b: np.ndarray) -> float:
    """IoU of two axis-aligned 3D boxes given by centre and full extents."""
    ca, ea, cb, eb = (np.asarray(x, float) for x in (center_a, extents_a, center_b, extents_b))
    lo = np.maximum(ca - ea / 2, cb - eb / 2)
    hi = np.minimum(ca + ea / 2, cb + eb / 2)
    inter = float(np.prod(np.clip(hi - lo, 0.0, None)))
    union = float(np.prod(ea) + np.prod(eb) - inter)
    return inter / union if union > 0 else 0.0


def world_aabb_extents(center: np.ndarray, extents: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Extents of the world axis-aligned box around an oriented box."""
    return np.abs(np.asarray(rotation, float)) @ np.asarray(extents, float)


@dataclass
class GroundingReport:
    n: int
    n_unparsed: int
    mean_iou: float
    acc_025: float
    acc_050: float

    def as_dict(self) -> dict:
        return {"n": self.n, "unparsed": self.n_unparsed, "mean_iou": self.mean_iou, "acc@0.25": self.acc_025, "acc@0.5": self.acc_050}


def prediction_iou(text: str, cameras: Sequence[tuple[np.ndarray, np.ndarray, int, int]], true_center: np.ndarray,
                   true_extents: np.ndarray) -> float | None:
    """IoU of a predicted answer against the true world AABB; None when it cannot be parsed or names no image."""
    ans = parse_answer(text)
    if ans is None or not 0 <= ans.image < len(cameras):
        return None
    pose, K, w, h = cameras[ans.image]
    center, ext = recover_box(ans, pose, K, w, h)
    return aabb_iou(center, ext, true_center, true_extents)


def score(samples: Iterable[tuple[str, Sequence[tuple[np.ndarray, np.ndarray, int, int]], np.ndarray, np.ndarray]]) -> GroundingReport:
    """Acc@0.25 / Acc@0.5 / mean IoU over (prediction, cameras (pose, K, w, h) per image, true centre, true extents);
    unparsable predictions score IoU 0."""
    ious, unparsed = [], 0
    for text, cameras, center, extents in samples:
        iou = prediction_iou(text, cameras, center, extents)
        if iou is None:
            unparsed += 1
            iou = 0.0
        ious.append(iou)
    arr = np.asarray(ious, float)
    if arr.size == 0:
        return GroundingReport(0, 0, float("nan"), float("nan"), float("nan"))
    return GroundingReport(int(arr.size), unparsed, float(arr.mean()), float(np.mean(arr >= 0.25)), float(np.mean(arr >= 0.5)))

"""Records passed between stages: what visibility produces and what generators emit.

ImageRecord / ObjectRecord follow the paper's appendix 7.4 ("image items" and
"object records"); QARecord is one line of the SPAR-7M qa_jsonl layout plus our `meta`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MARKER_FIELDS = (
    "red_point",
    "blue_point",
    "green_point",
    "red_bbox",
    "blue_bbox",
    "green_bbox",
    "yellow_bbox",
    "point_list",
    "bbox_list",
    "point_img_idx",
    "bbox_img_idx",
)

FORMATS = ("fill", "select", "sentence", "judge")


@dataclass
class VisibleObject:
    """An object as seen in one frame."""

    object_id: int
    label: str
    bbox: np.ndarray  # (4,) pixels x1, y1, x2, y2 from the visible vertices
    point: np.ndarray  # (2,) pixel marker point, inside bbox (projected centre, or bbox centre if outside)
    center_cam: np.ndarray  # (3,) box centre in this camera's frame (metres)
    visible_fraction: float  # visible vertices / all vertices
    area: float  # bbox area in pixels
    point_occluded: bool = False  # another surface lies in front of the object's box at `point` (spar_hf.generate.visibility)


@dataclass
class ImageRecord:
    """A kept keyframe and the objects visible in it."""

    scene_id: str
    frame_index: int
    color_path: str
    depth_path: str | None
    pose: np.ndarray  # 4x4 camera-to-world
    intrinsics: np.ndarray  # 3x3
    width: int
    height: int
    visible: dict[int, VisibleObject] = field(default_factory=dict)  # object id -> view


@dataclass
class ObjectRecord:
    """An object and the keyframes it is visible in."""

    object_id: int
    label: str
    center: np.ndarray  # (3,) world
    extents: np.ndarray  # (3,)
    rotation: np.ndarray  # 3x3
    frames: list[int] = field(default_factory=list)


# Record `type` values the release spells differently from their task folder (docs/formats.md "QA record": the nav_video
# folder holds records typed `nav`); every other type is its folder's name.
RECORD_TYPES = {"nav_video": "nav"}
_TASK_OF_TYPE = {record_type: task for task, record_type in RECORD_TYPES.items()}


@dataclass
class QARecord:
    """One QA sample in the SPAR-7M record schema.

    `images` (and `depths`) are paths relative to `spar/<source>/images`.
    `markers` holds only the release's marker fields (see MARKER_FIELDS).
    """

    id: str
    task: str
    format: str
    question: str
    answer: str
    images: list[str]
    source: str
    scene: str
    depths: list[str] = field(default_factory=list)
    markers: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The release's line schema, with our `meta` as an extra key."""
        out: dict[str, Any] = {
            "id": self.id,
            "conversations": [
                {"from": "human", "value": self.question},
                {"from": "gpt", "value": self.answer},
            ],
            "image": list(self.images),
            "type": RECORD_TYPES.get(self.task, self.task),
        }
        if self.depths:
            out["depth"] = list(self.depths)
        for key in MARKER_FIELDS:
            if key in self.markers:
                out[key] = self.markers[key]
        if self.meta:
            out["meta"] = self.meta
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], *, format: str, source: str) -> "QARecord":
        """Parse a release line; raises KeyError/TypeError/ValueError on a malformed one."""
        conv = obj["conversations"]
        question = next(t["value"] for t in conv if t["from"] == "human")
        answer = next(t["value"] for t in conv if t["from"] == "gpt")
        images = obj.get("image", [])
        if isinstance(images, str):
            images = [images]
        depths = obj.get("depth", [])
        if isinstance(depths, str):
            depths = [depths]
        scene = images[0].split("/", 1)[0] if images else str(obj.get("meta", {}).get("scene", ""))
        return cls(
            id=str(obj["id"]),
            task=_TASK_OF_TYPE.get(str(obj["type"]), str(obj["type"])),
            format=format,
            question=str(question),
            answer=str(answer),
            images=[str(p) for p in images],
            source=source,
            scene=scene,
            depths=[str(p) for p in depths],
            markers={k: obj[k] for k in MARKER_FIELDS if k in obj},
            meta=obj.get("meta", {}) or {},
        )


@dataclass
class SceneRecords:
    """Everything the task generators need from one scene (paper appendix 7.4).

    `images` are the kept keyframes in frame order; `objects` maps object id -> ObjectRecord.
    `scene` gives access to the mesh (room size) and the full frame sequence.
    `video` holds the scene's one video clip (ImageRecords of the clip frames, in clip order),
    filled by the pipeline for the video tasks; empty when no video task runs.
    """

    scene: Any  # spar_hf.scene.Scene (Any here to keep this module free of scene imports)
    images: list[ImageRecord]
    objects: dict[int, ObjectRecord]
    video: list[ImageRecord] = field(default_factory=list)

    def image(self, frame_index: int) -> ImageRecord:
        for rec in self.images:
            if rec.frame_index == frame_index:
                return rec
        raise KeyError(frame_index)

"""The SPAR configs: one small config dataclass, the features of every config, and its rows (pure).

Six configs come out of a SPAR-7M layout (read only through `spar_hf.layout.reader.SparLayout`):

- `7m` / `7m-rgbd`: every QA record of the SPAR sources, splits train / validation; `-rgbd` adds
  per image a 16-bit depth PNG (millimetres), a 4x4 pose and a 3x3 intrinsics. Both read the same
  packs (`7m/<split>/*.zip`): each frame and depth map is stored once, whichever config reads it.
- `bench` / `bench-tiny` / `bench-rgbd`: SPAR-Bench with exactly the hub columns, split test, drawn
  from val by `spar_hf.builders.sampling`, markers drawn into the images; one pack each.
- `spatialforge`: records ingested into `<SPAR_DIR>/spatialforge/`, boxes in 0..1000 and pixels.

Every config has two feature sets: `features` as `load_dataset` returns them (what the card
declares), and `stored_features` as the pack's metadata Parquet holds them, image columns being
lists of member names (`file_names` -> `images`, see `spar_hf.packs`). The row functions here make
stored rows and raise ValueError (the reject reason) for a record that cannot become one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from datasets import Array2D, Features, Image, List, Value

from spar_hf.builders import sampling
from spar_hf.builders.bench_rgbd import hub_rgbd_features
from spar_hf.records import MARKER_FIELDS, QARecord

SPATIALFORGE_SOURCE = "spatialforge"
HF_SPLITS = {"train": "train", "val": "validation"}
COORD_FIELDS = tuple(f for f in MARKER_FIELDS if not f.endswith("_img_idx"))
IDX_FIELDS = tuple(f for f in MARKER_FIELDS if f.endswith("_img_idx"))
BENCH_JPEG_QUALITY = 95
DEPTH_UNIT = "millimetres"
FILE_NAMES = "_file_names"  # a stored column `<name>_file_names` loads as the image list column `<name>`

CITATION = """@article{zhang2025flatland,
  title   = {From Flatland to Space: Teaching Vision-Language Models to Perceive and Reason in 3D},
  author  = {Zhang, Jiahui and Chen, Yurui and Zhou, Yanpeng and Xu, Yueming and Huang, Ze and Mei, Jilin and
             Chen, Junhui and Yuan, Yu-Jie and Cai, Xinyue and Huang, Guowei and Quan, Xingyue and Xu, Hang and
             Zhang, Li},
  journal = {arXiv preprint arXiv:2503.22976},
  year    = {2025}
}"""


@dataclass(frozen=True)
class SparConfig:
    """`kind` picks the row schema (qa | bench | spatialforge); `packs` is the folder of its packs
    (configs naming the same folder share them); `per_task` is the bench size (0 for other kinds)."""

    name: str
    kind: str
    packs: str
    description: str
    rgbd: bool = False
    per_task: int = 0


CONFIGS: dict[str, SparConfig] = {
    c.name: c
    for c in (
        SparConfig("7m", "qa", "7m", "SPAR-7M QA rows with their images."),
        SparConfig("7m-rgbd", "qa", "7m", "SPAR-7M with depth, pose and intrinsics per image.", rgbd=True),
        SparConfig("bench", "bench", "bench", "SPAR-Bench (hub columns).", per_task=sampling.BENCH_PER_TASK),
        SparConfig("bench-tiny", "bench", "bench-tiny", "SPAR-Bench-Tiny.", per_task=sampling.TINY_PER_TASK),
        SparConfig("bench-rgbd", "bench", "bench-rgbd", "SPAR-Bench with depth, pose and intrinsics.", rgbd=True,
                   per_task=sampling.BENCH_PER_TASK),
        SparConfig("spatialforge", "spatialforge", "spatialforge", "Ingested SpatialForge records."),
    )
}
CONFIG_NAMES = tuple(CONFIGS)


# --- features --------------------------------------------------------------------------------
def _rgbd_features() -> dict[str, Any]:
    return {
        "depth": List(Image()),
        "pose": List(Array2D((4, 4), "float32")),
        "intrinsics": List(Array2D((3, 3), "float32")),
    }


def marker_features() -> Features:
    """Each coordinate field a list of coordinate lists, each *_img_idx a flat int list; absent = []."""
    spec: dict[str, Any] = {f: List(List(Value("float64"))) for f in COORD_FIELDS}
    spec.update({f: List(Value("int32")) for f in IDX_FIELDS})
    return Features(spec)


def qa_features(rgbd: bool = False) -> Features:
    spec: dict[str, Any] = {
        "id": Value("string"),
        "source": Value("string"),
        "scene": Value("string"),
        "task": Value("string"),
        "format": Value("string"),
        "view": Value("string"),
        "question": Value("string"),
        "answer": Value("string"),
        "conversations": List({"from": Value("string"), "value": Value("string")}),
        "markers": dict(marker_features()),
        "meta": Value("string"),
        "images": List(Image()),
    }
    if rgbd:
        spec.update(_rgbd_features())
    return Features(spec)


def bench_features(rgbd: bool = False) -> Features:
    """Exactly the hub SPAR-Bench columns (docs/formats.md "Columns per config"); bench-rgbd: the hub SPAR-Bench-RGBD columns
    (spar_hf.builders.bench_rgbd: depth in metres as float arrays, flattened 4x4 pose and intrinsics) between image and
    question, plus our `intrinsics` (3x3) last."""
    spec: dict[str, Any] = {
        "id": Value("int64"),
        "img_type": Value("string"),
        "format_type": Value("string"),
        "task": Value("string"),
        "source": Value("string"),
        "image": List(Image()),
    }
    if rgbd:
        spec.update(hub_rgbd_features())
    spec.update({"question": Value("string"), "answer": Value("string")})
    if rgbd:
        spec["intrinsics"] = _rgbd_features()["intrinsics"]
    return Features(spec)


def spatialforge_features() -> Features:
    box = {"label": Value("string"), "bbox_1000": List(Value("float64")), "bbox_px": List(Value("float64"))}
    return Features(
        {
            "id": Value("string"),
            "source": Value("string"),
            "task": Value("string"),
            "format": Value("string"),
            "question": Value("string"),
            "answer": Value("string"),
            "conversations": List({"from": Value("string"), "value": Value("string")}),
            "boxes": List(box),
            "meta": Value("string"),
            "images": List(Image()),
        }
    )


def features_for(config: SparConfig) -> Features:
    """The columns `load_dataset(HF_DIR, config.name)` returns."""
    if config.kind == "bench":
        return bench_features(config.rgbd)
    if config.kind == "spatialforge":
        return spatialforge_features()
    return qa_features(config.rgbd)


def stored_name(column: str) -> str:
    """The metadata column an image list column is stored as (imagefolder's naming: `images` <- `file_names`)."""
    return "file_names" if column == "images" else column + FILE_NAMES


def stored_features(config: SparConfig) -> Features:
    """`features_for(config)` with every image list column as a list of pack member names, same order."""
    out = {}
    for column, feature in features_for(config).items():
        if isinstance(feature, List) and isinstance(feature.feature, Image):
            out[stored_name(column)] = List(Value("string"))
        else:
            out[column] = feature
    return Features(out)


# --- row helpers (pure) ------------------------------------------------------------------------
def member_name(source: str, layout_path: str) -> str:
    """Where a layout image lives in a pack: under its source, so sources never collide."""
    return f"{source}/{layout_path}"


def view_of(record: QARecord) -> str:
    """single / multi / video: video frames, a nav record or more than 10 images are video (docs/formats.md "Views: single, multi, video")."""
    n = len(record.images)
    if record.task.startswith("nav") or n > 10 or any("/video_color/" in p for p in record.images):
        return "video"
    return "multi" if n >= 2 else "single"


def _coords(value: Any, field: str) -> list[list[float]]:
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"marker {field} is {type(value).__name__}, expected a list")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [[float(v) for v in value]]
    if len(value) == 1 and isinstance(value[0], (list, tuple)) and value[0] and isinstance(value[0][0], (list, tuple)):
        value = value[0]  # the release's point_list / bbox_list hold all their entries in one wrapper
    out = []
    for item in value:
        if not isinstance(item, (list, tuple)) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in item):
            raise ValueError(f"marker {field} holds {item!r}, expected numbers")
        out.append([float(v) for v in item])
    return out


def _indices(value: Any, field: str) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"marker {field} is {type(value).__name__}, expected a list")
    if len(value) == 1 and isinstance(value[0], (list, tuple)):
        value = value[0]
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2 ** 31:  # an int32 column
            raise ValueError(f"marker {field} holds {v!r}, not an image index")
    return list(value)


def normalise_markers(markers: dict[str, Any]) -> dict[str, list]:
    """The release's marker fields in the typed form of `marker_features()`; ValueError if malformed."""
    out: dict[str, list] = {f: _coords(markers.get(f), f) for f in COORD_FIELDS}
    out.update({f: _indices(markers.get(f), f) for f in IDX_FIELDS})
    return out


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def conversations(record: QARecord) -> list[dict[str, str]]:
    """The LLaVA-style two-turn form of a QA record (human question, gpt answer)."""
    return [{"from": "human", "value": record.question}, {"from": "gpt", "value": record.answer}]


@dataclass(frozen=True)
class RGBD:
    """Per image of a record: depth member names, 4x4 poses and 3x3 intrinsics (float32 lists)."""

    depth: list[str]
    pose: list[list[list[float]]]
    intrinsics: list[list[list[float]]]


def rgbd_values(depth: list[str], poses: list[np.ndarray], intrinsics: list[np.ndarray]) -> RGBD:
    return RGBD(depth, [np.asarray(p, np.float32).tolist() for p in poses],
                [np.asarray(k, np.float32).tolist() for k in intrinsics])


def rgbd_columns(rgbd: RGBD) -> dict[str, Any]:
    return {stored_name("depth"): rgbd.depth, "pose": rgbd.pose, "intrinsics": rgbd.intrinsics}


def qa_row(record: QARecord, images: list[str], rgbd: RGBD | None = None) -> dict[str, Any]:
    """A stored `7m` (or, with `rgbd`, `7m-rgbd`) row; `images` are the pack member names."""
    row = {
        "id": record.id,
        "source": record.source,
        "scene": record.scene,
        "task": record.task,
        "format": record.format,
        "view": view_of(record),
        "question": record.question,
        "answer": record.answer,
        "conversations": conversations(record),
        "markers": normalise_markers(record.markers),
        "meta": canonical_json(record.meta),
        stored_name("images"): images,
    }
    if rgbd is not None:
        row.update(rgbd_columns(rgbd))
    return row


def bench_row(bench_id: int, record: QARecord, images: list[str], rgbd: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stored bench row (hub columns); `images` are the pack members with the markers drawn in; `rgbd` the
    bench-rgbd columns (`spar_hf.builders.bench_rgbd.hub_rgbd_values` plus our 3x3 `intrinsics`)."""
    row = {
        "id": bench_id,
        "img_type": sampling.img_type(len(record.images)),
        "format_type": record.format,
        "task": record.task,
        "source": record.source,
        stored_name("image"): images,
        "question": record.question,
        "answer": record.answer,
    }
    if rgbd is not None:
        row.update(rgbd)
    return row


def _box_values(box: dict[str, Any], keys: tuple[str, ...]) -> list[float] | None:
    for key in keys:
        if box.get(key) is not None:
            values = [float(v) for v in box[key]]
            if len(values) != 4:
                raise ValueError(f"box {key} has {len(values)} values, expected 4")
            return values
    return None


def spatialforge_boxes(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Boxes of an ingested SpatialForge record, both in 0..1000 and in pixels.

    The ingester keeps them in `meta["boxes"]` (`bbox` in 0..1000 and `bbox_px`) with the image size
    in `meta["image_size"]`; a box with only one of the two is completed from that size
    (`x_px = v / 1000 * width`, the Qwen3-VL convention).
    """
    out = []
    width, height = (meta.get("image_size") or [meta.get("width"), meta.get("height")])[:2]
    for box in meta.get("boxes", []) or []:
        if not isinstance(box, dict):
            raise ValueError(f"meta.boxes holds {box!r}, expected an object")
        b1000 = _box_values(box, ("bbox_1000", "bbox_2d", "bbox"))
        bpx = _box_values(box, ("bbox_px", "bbox_pixels"))
        if (b1000 is None or bpx is None) and not (width and height):
            raise ValueError("box lacks 0..1000 or pixel coordinates and meta has no width/height to derive them")
        scale = np.array([width, height, width, height], dtype=float) / 1000.0 if width and height else None
        if bpx is None:
            bpx = (np.array(b1000) * scale).round(2).tolist()
        if b1000 is None:
            b1000 = (np.array(bpx) / scale).round(2).tolist()
        label = box.get("label")
        out.append({"label": "" if label is None else str(label), "bbox_1000": b1000, "bbox_px": bpx})
    return out


def spatialforge_row(record: QARecord, images: list[str]) -> dict[str, Any]:
    """A stored `spatialforge` row; `images` are the pack member names."""
    return {
        "id": record.id,
        "source": str(record.meta.get("image_source", record.source)),
        "task": record.task,
        "format": record.format,
        "question": record.question,
        "answer": record.answer,
        "conversations": conversations(record),
        "boxes": spatialforge_boxes(record.meta),
        "meta": canonical_json(record.meta),
        stored_name("images"): images,
    }

"""The SPAR datasets builder: one BuilderConfig dataclass, one GeneratorBasedBuilder.

It reads a SPAR-7M layout only through `spar_hf.layout.reader.SparLayout` (ours or the official
download) and yields rows for six configs:

- `7m` / `7m-rgbd`: every QA record of the SPAR sources, splits train / validation;
  `-rgbd` adds per image a 16-bit depth PNG (millimetres), a 4x4 pose and a 3x3 intrinsics.
- `bench` / `bench-tiny` / `bench-rgbd`: SPAR-Bench with exactly the hub columns, split test,
  drawn from val by `spar_hf.bench`, markers drawn into the images.
- `spatialforge`: records ingested into `<SPAR_DIR>/spatialforge/`, boxes in 0..1000 and pixels.

Nothing is dropped silently: a record that cannot become a row (missing image, depth or pose,
malformed markers, unreadable line) goes to `reject(reason, file, line, record_id)`.
Loading scripts are gone from datasets 4+, so this class is instantiated from code
(`spar_hf.builders.run.build_config`) and written to Parquet with `download_and_prepare`.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import datasets
import numpy as np
from datasets import Array2D, Features, Image, List, Value

from spar_hf import bench as benchlib
from spar_hf.bench_rgbd import hub_rgbd_features, hub_rgbd_values
from spar_hf.errors import SparError
from spar_hf.layout.reader import Entry, Problem, SparLayout
from spar_hf.records import MARKER_FIELDS, QARecord

SPATIALFORGE_SOURCE = "spatialforge"
HF_SPLITS = {"train": "train", "val": "validation"}
COORD_FIELDS = tuple(f for f in MARKER_FIELDS if not f.endswith("_img_idx"))
IDX_FIELDS = tuple(f for f in MARKER_FIELDS if f.endswith("_img_idx"))
BENCH_JPEG_QUALITY = 95
DEPTH_UNIT = "millimetres"

_CITATION = """@article{zhang2025flatland,
  title   = {From Flatland to Space: Teaching Vision-Language Models to Perceive and Reason in 3D},
  author  = {Zhang, Jiahui and Chen, Yurui and Zhou, Yanpeng and Xu, Yueming and Huang, Ze and Mei, Jilin and
             Chen, Junhui and Yuan, Yu-Jie and Cai, Xinyue and Huang, Guowei and Quan, Xingyue and Xu, Hang and
             Zhang, Li},
  journal = {arXiv preprint arXiv:2503.22976},
  year    = {2025}
}"""

Reject = Callable[[str, str | None, int | None, str | None], None]


@dataclass
class SparConfig(datasets.BuilderConfig):
    """`kind` picks the row schema (qa | bench | spatialforge); `data_dir` is the SPAR_DIR."""

    kind: str = "qa"
    rgbd: bool = False
    per_task: int = 0  # bench rows per task (0 for other kinds)


CONFIGS: dict[str, SparConfig] = {
    c.name: c
    for c in (
        SparConfig(name="7m", kind="qa", description="SPAR-7M QA rows with their images."),
        SparConfig(name="7m-rgbd", kind="qa", rgbd=True, description="SPAR-7M with depth, pose and intrinsics per image."),
        SparConfig(name="bench", kind="bench", per_task=benchlib.BENCH_PER_TASK, description="SPAR-Bench (hub columns)."),
        SparConfig(name="bench-tiny", kind="bench", per_task=benchlib.TINY_PER_TASK, description="SPAR-Bench-Tiny."),
        SparConfig(name="bench-rgbd", kind="bench", rgbd=True, per_task=benchlib.BENCH_PER_TASK,
                   description="SPAR-Bench with depth, pose and intrinsics."),
        SparConfig(name="spatialforge", kind="spatialforge", description="Ingested SpatialForge records."),
    )
}
CONFIG_NAMES = tuple(CONFIGS)


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
    """Exactly the hub SPAR-Bench columns (formats.md section 3); bench-rgbd: the hub SPAR-Bench-RGBD columns
    (spar_hf.bench_rgbd) between image and question, plus our `intrinsics` (3x3) last."""
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
    if config.kind == "bench":
        return bench_features(config.rgbd)
    if config.kind == "spatialforge":
        return spatialforge_features()
    return qa_features(config.rgbd)


# --- row helpers (pure) ------------------------------------------------------------------------
def view_of(record: QARecord) -> str:
    """single / multi / video: video frames, a nav record or more than 10 images are video (formats.md 1)."""
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
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(f"marker {field} holds non-integers: {value!r}") from None


def normalise_markers(markers: dict[str, Any]) -> dict[str, list]:
    """The release's marker fields in the typed form of `marker_features()`; ValueError if malformed."""
    out: dict[str, list] = {f: _coords(markers.get(f), f) for f in COORD_FIELDS}
    out.update({f: _indices(markers.get(f), f) for f in IDX_FIELDS})
    return out


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _image(path: Path, name: str) -> dict[str, Any]:
    return {"bytes": path.read_bytes(), "path": name}


def _conversations(record: QARecord) -> list[dict[str, str]]:
    """The LLaVA-style two-turn form of a QA record (human question, gpt answer)."""
    return [{"from": "human", "value": record.question}, {"from": "gpt", "value": record.answer}]


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


def draw_bench_images(paths: list[Path], names: list[str], markers: dict[str, Any], task: str) -> list[dict[str, Any]]:
    """The record's images with markers drawn (JPEG q95, 4:4:4 so marker colours stay clean);
    images that carry no marker are passed through byte for byte."""
    from PIL import Image as PILImage

    from spar_hf.markers import draw_on, placements

    marks = placements(markers, task)
    out = []
    for i, (path, name) in enumerate(zip(paths, names)):
        mine = [m for m in marks if m.image_index == i]
        if not mine:
            out.append(_image(path, name))
            continue
        with PILImage.open(path) as img:
            drawn = draw_on(img, mine)
        buf = io.BytesIO()
        drawn.save(buf, format="JPEG", quality=BENCH_JPEG_QUALITY, subsampling=0)
        out.append({"bytes": buf.getvalue(), "path": None})
    return out


class Spar(datasets.GeneratorBasedBuilder):
    """SPAR-7M / SPAR-Bench / SpatialForge rows from a SPAR-7M layout (config.data_dir = SPAR_DIR).

    Set `reject` before `download_and_prepare` to receive every record that cannot become a row;
    `counts` tallies in / out / rejected / not_drawn, `task_counts` rows per (split, task).
    """

    BUILDER_CONFIG_CLASS = SparConfig
    BUILDER_CONFIGS = list(CONFIGS.values())
    DEFAULT_CONFIG_NAME = "bench"
    # Rows carry up to 5 views of colour (+ 16-bit depth): datasets' default of 100 rows per
    # buffered batch / Parquet row group holds ~200 MB. 32 keeps build memory flat and lets a
    # reader (the Space) fetch one sample without decoding a huge row group.
    DEFAULT_WRITER_BATCH_SIZE = 32

    def __init__(self, *args, reject: Reject | None = None, **kwargs):
        kwargs.setdefault("dataset_name", "spar")
        super().__init__(*args, **kwargs)
        self.reject: Reject = reject or (lambda reason, file, line, record_id: None)
        self.counts: Counter = Counter()
        self.task_counts: Counter = Counter()  # (split, task) -> rows

    # --- datasets hooks ------------------------------------------------------------------------
    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=self.config.description,
            features=features_for(self.config),
            citation=_CITATION,
            homepage="https://arxiv.org/abs/2503.22976",
        )

    def _layout(self) -> SparLayout:
        if not self.config.data_dir:
            raise SparError("the SPAR builder needs data_dir=<SPAR_DIR>")
        return SparLayout(self.config.data_dir)

    def _sources(self, layout: SparLayout) -> list[str]:
        if self.config.kind == "spatialforge":
            return [s for s in layout.sources() if s == SPATIALFORGE_SOURCE]
        return [s for s in layout.sources() if s != SPATIALFORGE_SOURCE]

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        layout = self._layout()
        if self.config.kind == "bench":
            return [datasets.SplitGenerator(name="test", gen_kwargs={"split": benchlib.BENCH_SPLIT})]
        present = {s for src in self._sources(layout) for s in layout.splits(src) if layout.files(source=src, split=s)}
        return [datasets.SplitGenerator(name=HF_SPLITS[s], gen_kwargs={"split": s}) for s in HF_SPLITS if s in present]

    def _generate_examples(self, split: str) -> Iterator[tuple[int, dict[str, Any]]]:
        if self.config.kind == "bench":
            rows, hf_split = self._bench_rows(), "test"
        elif self.config.kind == "spatialforge":
            rows, hf_split = self._spatialforge_rows(split), HF_SPLITS[split]
        else:
            rows, hf_split = self._qa_rows(split), HF_SPLITS[split]
        for key, row in rows:
            self.counts["out"] += 1
            self.task_counts[(hf_split, row["task"])] += 1
            yield key, row

    # --- shared record checks --------------------------------------------------------------------
    def _entries(self, layout: SparLayout, split: str, **filters) -> Iterator[Entry]:
        def problem(p: Problem) -> None:
            if p.line is not None:  # a bad line is an input record: count it; file-level notes are reports only
                self.counts["in"] += 1
                self.counts["rejected"] += 1
            self.reject(f"unreadable: {p.reason}", p.file, p.line, None)

        for source in self._sources(layout):
            yield from layout.iter_records(source=source, split=split, problems=problem, **filters)

    def _colour_paths(self, layout: SparLayout, entry: Entry) -> list[Path]:
        """Absolute colour image paths; SparError naming the missing ones."""
        record = entry.record
        if not record.images:
            raise SparError("record has no images")
        root = layout.images_root(entry.source)
        paths = [root / p for p in record.images]
        missing = [p for p, full in zip(record.images, paths) if not full.is_file()]
        if missing:
            raise SparError(f"missing image(s): {', '.join(missing)}")
        return paths

    def _rgbd(self, layout: SparLayout, entry: Entry) -> dict[str, Any]:
        """depth / pose / intrinsics per image; SparError with the first missing or bad file."""
        frames = layout.frames(entry.source)
        depth, pose, intrinsics = [], [], []
        for image in entry.record.images:
            try:
                path = frames.depth_path(image)
            except ValueError as exc:
                raise SparError(f"no RGBD for {image}: {exc}") from None
            if not path.is_file():
                raise SparError(f"missing depth: {path.relative_to(layout.images_root(entry.source))}")
            depth.append(_image(path, str(path.relative_to(layout.images_root(entry.source)))))
            pose.append(frames.pose(image).astype(np.float32).tolist())
            intrinsics.append(frames.intrinsics(image).astype(np.float32).tolist())
        return {"depth": depth, "pose": pose, "intrinsics": intrinsics}

    def _bench_rgbd(self, layout: SparLayout, entry: Entry, paths: list[Path]) -> dict[str, Any]:
        """The hub's depth / pose / intrinsic_color / intrinsic_depth values, plus our 3x3 `intrinsics`."""
        from PIL import Image as PILImage

        base = self._rgbd(layout, entry)
        depth_png, sizes = [], []
        for cell, path in zip(base["depth"], paths):
            with PILImage.open(io.BytesIO(cell["bytes"])) as im:
                depth_png.append(np.asarray(im))
            with PILImage.open(path) as im:
                sizes.append(im.size)
        return {**hub_rgbd_values(depth_png, base["pose"], base["intrinsics"], sizes), "intrinsics": base["intrinsics"]}

    def _fail(self, entry: Entry, reason: str) -> None:
        self.counts["rejected"] += 1
        self.reject(reason, str(entry.file), entry.line, entry.record.id)

    # --- configs ---------------------------------------------------------------------------------
    def _numbered_rows(self, split: str, make_row: Callable[[SparLayout, Entry], dict[str, Any]]
                       ) -> Iterator[tuple[int, dict[str, Any]]]:
        """`make_row` over the split's entries, numbered from 0; an entry it refuses goes to the rejects."""
        layout = self._layout()
        n = 0
        for entry in self._entries(layout, split):
            self.counts["in"] += 1
            try:
                row = make_row(layout, entry)
            except (SparError, ValueError) as exc:
                self._fail(entry, str(exc))
                continue
            yield n, row
            n += 1

    def _qa_rows(self, split: str) -> Iterator[tuple[int, dict[str, Any]]]:
        return self._numbered_rows(split, self._qa_row)

    def _qa_row(self, layout: SparLayout, entry: Entry) -> dict[str, Any]:
        record = entry.record
        paths = self._colour_paths(layout, entry)
        row = {
            "id": record.id,
            "source": record.source,
            "scene": record.scene,
            "task": record.task,
            "format": record.format,
            "view": view_of(record),
            "question": record.question,
            "answer": record.answer,
            "conversations": _conversations(record),
            "markers": normalise_markers(record.markers),
            "meta": canonical_json(record.meta),
            "images": [_image(p, name) for p, name in zip(paths, record.images)],
        }
        if self.config.rgbd:
            row.update(self._rgbd(layout, entry))
        return row

    def _bench_rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Draw the full 400-per-task bench (ids = position in it); bench-tiny keeps the prefix of each task."""
        layout = self._layout()
        entries: dict[tuple[str, int], Entry] = {}
        candidates = []
        for entry in self._entries(layout, benchlib.BENCH_SPLIT):
            if not benchlib.is_bench_candidate(entry.task, entry.format, entry.split):
                continue
            self.counts["in"] += 1
            try:
                self._colour_paths(layout, entry)
                normalise_markers(entry.record.markers)
                if self.config.rgbd:
                    self._rgbd(layout, entry)
            except (SparError, ValueError) as exc:
                self._fail(entry, str(exc))
                continue
            ref = (str(entry.file), entry.line)
            entries[ref] = entry
            rec = entry.record
            candidates.append(benchlib.Candidate(f"{entry.source}/{rec.id}", rec.task, f"{entry.source}/{rec.scene}", rec.answer, ref))
        drawn = benchlib.select_bench(candidates, benchlib.BENCH_PER_TASK)
        ids = {cand.ref: i for i, cand in enumerate(drawn)}
        if self.config.per_task < benchlib.BENCH_PER_TASK:
            drawn = benchlib.tiny_subset(drawn, self.config.per_task)
        self.counts["not_drawn"] += len(candidates) - len(drawn)
        for cand in drawn:
            entry = entries[cand.ref]
            record = entry.record
            paths = self._colour_paths(layout, entry)
            row = {
                "id": ids[cand.ref],
                "img_type": benchlib.img_type(len(record.images)),
                "format_type": record.format,
                "task": record.task,
                "source": record.source,
                "image": draw_bench_images(paths, record.images, record.markers, record.task),
                "question": record.question,
                "answer": record.answer,
            }
            if self.config.rgbd:
                row.update(self._bench_rgbd(layout, entry, paths))
            yield ids[cand.ref], row

    def _spatialforge_rows(self, split: str) -> Iterator[tuple[int, dict[str, Any]]]:
        return self._numbered_rows(split, self._spatialforge_row)

    def _spatialforge_row(self, layout: SparLayout, entry: Entry) -> dict[str, Any]:
        record = entry.record
        paths = self._colour_paths(layout, entry)
        return {
            "id": record.id,
            "source": str(record.meta.get("image_source", record.source)),
            "task": record.task,
            "format": record.format,
            "question": record.question,
            "answer": record.answer,
            "conversations": _conversations(record),
            "boxes": spatialforge_boxes(record.meta),
            "meta": canonical_json(record.meta),
            "images": [_image(p, name) for p, name in zip(paths, record.images)],
        }

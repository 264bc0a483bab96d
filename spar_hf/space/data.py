"""Random access to a built SPAR dataset for the Space: configs, filter values, one row at a time.

A local HF_DIR and a hub dataset id go through the same path: `datasets` resolves each config's
data files from the card (`load_dataset_builder`, no download), and the files are opened with
fsspec (`hf://` for the hub, plain files locally), so nothing is copied into a cache and a local
folder never touches the network. A config's rows are Parquet either way: a pack build's
metadata member (`spar_hf.packs`), or the Parquet files of an embedded build (the hub SPAR-Bench).
Per (config, split) only the filter columns are read once (task, format, source, id); a sample
reads the one row group that holds it, and from a pack only that row's images.
"""

from __future__ import annotations

import functools
import io
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spar_hf.errors import SparError
from spar_hf.packs import Pack

ALL = "(all)"
# per row kind: the column holding the format, the image column
FORMAT_COLUMN = {"qa": "format", "bench": "format_type", "spatialforge": "format"}
IMAGE_COLUMN = {"qa": "images", "bench": "image", "spatialforge": "images"}
ROW_GROUP_CACHE = 8
SCENE_CONTEXT_ROWS = 5000  # rows of a scene whose meta is read to collect its objects for the 3D view


def kind_of(columns: list[str]) -> str:
    """qa (7m, 7m-rgbd), bench (hub SPAR-Bench columns) or spatialforge, from a config's columns."""
    if "image" in columns and "img_type" in columns:
        return "bench"
    if "boxes" in columns:
        return "spatialforge"
    if "images" in columns and "markers" in columns:
        return "qa"
    raise SparError(f"config columns {columns} are neither SPAR-7M, SPAR-Bench nor SpatialForge rows")


@dataclass
class SplitIndex:
    """Filter columns of one split, plus where each row lives (file, row group, row in group)."""

    files: list[str]
    ids: list[str]
    task: np.ndarray
    format: np.ndarray
    source: np.ndarray
    scene: np.ndarray  # "" where the config has no scene column (bench, spatialforge)
    file_of: np.ndarray
    group_of: np.ndarray
    row_in_group: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class ConfigInfo:
    name: str
    kind: str
    columns: tuple[str, ...]
    rgbd: bool
    data_files: dict[str, tuple[str, ...]]
    metadata: str | None = None  # the pack member holding this config's rows (None: Parquet files)
    image_lists: tuple[str, ...] = ()  # a pack's stored image-list columns (`file_names`, `image_file_names`, ...)

    def stored(self, column: str) -> str:
        """The column a loaded column is stored as: an image list of a pack is a list of member names."""
        name = _stored_name(column)
        return name if name in self.image_lists else column

    @property
    def splits(self) -> list[str]:
        return list(self.data_files)


def is_local(dataset: str | os.PathLike) -> bool:
    return Path(dataset).is_dir()


class SpaceDataset:
    """One built dataset (local folder or hub id), read lazily and cached per config/split."""

    def __init__(self, dataset: str | os.PathLike):
        self.dataset = str(dataset)
        self.local = is_local(dataset)
        if self.local:
            self.root = Path(dataset).resolve()
        self._lock = threading.Lock()
        self._configs: dict[str, ConfigInfo] = {}
        self._indexes: dict[tuple[str, str], SplitIndex] = {}
        self._scene_objects: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    # --- configs ----------------------------------------------------------------------------------
    @functools.cached_property
    def config_names(self) -> list[str]:
        import datasets  # deferred, datasets: ~1 s to import

        try:
            names = datasets.get_dataset_config_names(self.dataset)
        except Exception as exc:  # datasets raises many kinds here; the message is what matters
            raise SparError(f"{self.dataset}: cannot list configs ({exc})") from None
        return [n for n in names if n != "default"] or list(names)

    def config(self, name: str) -> ConfigInfo:
        with self._lock:
            if name not in self._configs:
                self._configs[name] = self._load_config(name)
            return self._configs[name]

    def _load_config(self, name: str) -> ConfigInfo:
        import datasets  # deferred, datasets: ~1 s to import

        if name not in self.config_names:
            raise SparError(f"{self.dataset}: no config {name!r}; choose from {', '.join(self.config_names)}")
        builder = datasets.load_dataset_builder(self.dataset, name)
        files = {split: tuple(str(f) for f in paths) for split, paths in (builder.config.data_files or {}).items()}
        if self.local:
            for paths in files.values():
                for path in paths:
                    if not Path(path).resolve().is_relative_to(self.root):
                        raise SparError(f"{self.dataset}: config {name} names a file outside the dataset folder: {path}")
        names = getattr(builder.config, "metadata_filenames", None)
        metadata = names[0] if names and any(f.endswith(".zip") for fs in files.values() for f in fs) else None
        first = next(iter(files.values()))[0]
        stored = _parquet(first, metadata).schema_arrow.names if metadata or builder.info.features is None else []
        image_lists = tuple(c for c in stored if c == "file_names" or c.endswith("_file_names")) if metadata else ()
        features = builder.info.features
        if features is None:
            features = {_loaded_name(c) if c in image_lists else c: None for c in stored}
        columns = tuple(features)
        return ConfigInfo(name, kind_of(list(columns)), columns, "depth" in columns, files, metadata, image_lists)

    # --- split index ------------------------------------------------------------------------------
    def index(self, config: str, split: str) -> SplitIndex:
        key = (config, split)
        info = self.config(config)
        with self._lock:
            if key not in self._indexes:
                if split not in info.data_files:
                    raise SparError(f"{self.dataset}: config {config} has no split {split!r} ({', '.join(info.splits)})")
                self._indexes[key] = _read_index(info, split)
            return self._indexes[key]

    def choices(self, config: str, split: str) -> dict[str, list[str]]:
        """Distinct task / format / source values of a split, sorted."""
        index = self.index(config, split)
        return {name: sorted(set(getattr(index, name).tolist())) for name in ("task", "format", "source")}

    def select(self, config: str, split: str, task: str = ALL, fmt: str = ALL, source: str = ALL) -> np.ndarray:
        """Row positions in the split matching the filters (ALL matches anything)."""
        index = self.index(config, split)
        mask = np.ones(len(index), dtype=bool)
        for values, wanted in ((index.task, task), (index.format, fmt), (index.source, source)):
            if wanted and wanted != ALL:
                mask &= values == wanted
        return np.flatnonzero(mask)

    def position_of(self, config: str, split: str, ident: str | int) -> int:
        index = self.index(config, split)
        try:
            return index.ids.index(str(ident))
        except ValueError:
            raise SparError(f"no row with id {ident!r} in {config}/{split}") from None

    def row(self, config: str, split: str, position: int, columns: list[str] | None = None) -> dict[str, Any]:
        """One row as Python values (images as {bytes, path}); `columns` defaults to all."""
        index = self.index(config, split)
        if not 0 <= position < len(index):
            raise SparError(f"{config}/{split}: row {position} out of range 0..{len(index) - 1}")
        info = self.config(config)
        wanted = tuple(c for c in (columns or info.columns) if c in info.columns)
        path = index.files[index.file_of[position]]
        stored = tuple(info.stored(c) for c in wanted)
        table = _row_group(path, info.metadata, int(index.group_of[position]), stored)
        row = table.slice(int(index.row_in_group[position]), 1).to_pylist()[0]
        return {c: _pack_images(path, row[s]) if s != c else row[c] for c, s in zip(wanted, stored)}

    def scene_objects(self, config: str, split: str, scene: str) -> list[dict[str, Any]]:
        """Every object the first SCENE_CONTEXT_ROWS rows of `scene` record in their meta, by id, sorted by id."""
        key = (config, split, scene)
        with self._lock:
            cached = self._scene_objects.get(key)
        if cached is not None:
            return cached
        index = self.index(config, split)
        positions = np.flatnonzero(index.scene == scene)[:SCENE_CONTEXT_ROWS]
        objects: dict[Any, dict[str, Any]] = {}
        groups = sorted({(int(index.file_of[p]), int(index.group_of[p])) for p in positions})
        metadata = self.config(config).metadata
        for f, g in groups:
            table = _row_group(index.files[f], metadata, g, ("scene", "meta"))
            for row_scene, text in zip(table.column("scene").to_pylist(), table.column("meta").to_pylist()):
                if row_scene != scene or not text:
                    continue
                for obj in _meta_objects(text):
                    objects.setdefault(obj.get("id"), obj)
        found = [objects[k] for k in sorted(objects, key=str)]
        with self._lock:
            self._scene_objects[key] = found
        return found

    def twin_rgbd(self, config: str) -> str | None:
        """The RGBD config holding the same rows (7m -> 7m-rgbd), when built."""
        if self.config(config).rgbd:
            return config
        twin = f"{config}-rgbd"
        return twin if twin in self.config_names else None


def _meta_objects(text: str) -> list[dict[str, Any]]:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError:
        return []
    objects = meta.get("objects") if isinstance(meta, dict) else None
    return [o for o in objects or [] if isinstance(o, dict) and "center" in o and "extents" in o]


def _open(path: str):
    import fsspec  # deferred, fsspec: ~0.1 s to import, only once a file is opened

    return fsspec.open(path, "rb").open()


def _stored_name(column: str) -> str:
    """The column a pack's metadata stores a loaded column as (image lists are member names)."""
    return {"images": "file_names", "image": "image_file_names", "depth": "depth_file_names"}.get(column, column)


def _loaded_name(column: str) -> str:
    return {"file_names": "images", "image_file_names": "image", "depth_file_names": "depth"}.get(column, column)


@functools.lru_cache(maxsize=ROW_GROUP_CACHE)
def _parquet(path: str, metadata: str | None):
    """The rows of one data file as a ParquetFile: a pack's metadata member, or the Parquet file itself."""
    import pyarrow.parquet as pq  # deferred, pyarrow: only for Parquet

    if metadata is None:
        return pq.ParquetFile(_open(path))

    with Pack(path) as pack:
        return pq.ParquetFile(io.BytesIO(pack.read(metadata)))


@functools.lru_cache(maxsize=ROW_GROUP_CACHE)
def _row_group(path: str, metadata: str | None, group: int, columns: tuple[str, ...]):
    return _parquet(path, metadata).read_row_group(group, columns=list(columns))


def _pack_images(path: str, names: list[str] | None) -> list[dict[str, Any]]:
    """A row's images from its pack, as datasets gives undecoded images ({bytes, path}); only these members are read."""

    with Pack(path) as pack:
        return [{"bytes": pack.read(name), "path": name} for name in names or []]


def _read_index(info: ConfigInfo, split: str) -> SplitIndex:
    fmt_col = FORMAT_COLUMN[info.kind]
    ids: list[str] = []
    task, fmt, source, scene, file_of, group_of, row_in_group = [], [], [], [], [], [], []
    columns = ["id", "task", fmt_col, "source"] + (["scene"] if "scene" in info.columns else [])
    files = list(info.data_files[split])
    for f, path in enumerate(files):
        parquet = _parquet(path, info.metadata)
        for g in range(parquet.num_row_groups):
            table = parquet.read_row_group(g, columns=columns)
            n = table.num_rows
            ids.extend(str(v) for v in table.column("id").to_pylist())
            task.extend(table.column("task").to_pylist())
            fmt.extend(table.column(fmt_col).to_pylist())
            source.extend(table.column("source").to_pylist())
            scene.extend(table.column("scene").to_pylist() if "scene" in columns else [""] * n)
            file_of.append(np.full(n, f, dtype=np.int32))
            group_of.append(np.full(n, g, dtype=np.int32))
            row_in_group.append(np.arange(n, dtype=np.int32))

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)

    return SplitIndex(files, ids, np.array(task, dtype=object), np.array(fmt, dtype=object), np.array(source, dtype=object),
                      np.array(scene, dtype=object), cat(file_of), cat(group_of), cat(row_in_group))

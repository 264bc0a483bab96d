"""Read one config/split of an HF build as rows whose images are references, one data file at a time.

Two storages are read the same way. A pack build (`spar-hf build`) names each image by its pack
member, stored once however many rows show it; a Parquet build (the hub's SPAR-Bench, older
builds) embeds the bytes in every row, and equal bytes are one image here too (keyed by content).
Which files make a config, and how, comes from the build's card through datasets
(`load_dataset_builder`: data files and `metadata_filenames`), as `load_dataset` itself would read it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from spar_hf.errors import SparError
from spar_hf.packs import Pack

IMAGE_COLUMNS = ("images", "image")  # as loaded; packs store them as file_names / image_file_names
DEPTH_COLUMN = "depth"
MATRIX_COLUMNS = {"pose": "pose", "intrinsics": "K"}  # column -> per-frame member kind


@dataclass
class ConfigFiles:
    """The data files of one config/split and how they store images."""

    config: str
    split: str
    files: list[str]
    metadata: str | None  # the pack member holding this config's rows; None for Parquet

    @property
    def packs(self) -> bool:
        return self.metadata is not None


@dataclass
class FileRows:
    """One data file's rows: text columns, image references per row, and a way to get the bytes."""

    location: str
    text: list[dict[str, Any]]  # every column but images, depth and the matrices
    views: list[list[str]]  # image keys per row
    depth: list[list[str]] | None
    matrices: dict[str, list[list[Any]]]  # "pose" / "K" -> per row, per image
    sizes: dict[str, int]  # image key -> bytes
    fetch: Callable[[str], bytes]
    close: Callable[[], None] = field(default=lambda: None)


def config_files(hf_dir: str | Path, config: str, split: str) -> ConfigFiles:
    """The files of `config`/`split` in a local HF build, as datasets resolves them from its card."""
    import datasets  # deferred, datasets: ~1 s to import

    root = Path(hf_dir)
    if not root.is_dir():
        raise SparError(f"{root}: no such HF build folder")
    try:
        builder = datasets.load_dataset_builder(str(root), config)
    except Exception as exc:  # noqa: BLE001 - datasets raises many kinds; the message is what matters
        raise SparError(f"{root}: cannot read config {config!r} ({str(exc).splitlines()[0]})") from None
    data_files = builder.config.data_files or {}
    if split not in data_files:
        raise SparError(f"{root}: config {config!r} has no split {split!r} (have: {', '.join(data_files) or 'none'})")
    files = sorted(str(f) for f in data_files[split])
    names = getattr(builder.config, "metadata_filenames", None)
    if any(f.endswith(".zip") for f in files):
        if not names:
            raise SparError(f"{root}: config {config!r} reads zips but its card names no metadata_filenames")
        return ConfigFiles(config, split, files, names[0])
    return ConfigFiles(config, split, files, None)


def _stored_image_columns(columns: list[str]) -> dict[str, str]:
    """Loaded image column -> stored column of a pack's metadata (`images` <- `file_names`)."""
    out = {}
    for column in columns:
        if column == "file_names":
            out["images"] = column
        elif column.endswith("_file_names"):
            out[column[: -len("_file_names")]] = column
    return out


def read_file(files: ConfigFiles, index: int) -> FileRows:
    """Rows of `files.files[index]`."""
    location = files.files[index]
    return _read_pack(files, location) if files.packs else _read_parquet(location)


def _split_columns(table_rows: list[dict[str, Any]], image_col: str, depth_col: str | None) -> dict[str, Any]:
    """Text columns and, with depth images, the per-image matrices. Without depth images (bench-rgbd keeps the
    hub's depth as float arrays and flattened matrices) every other column stays text."""
    skip = {image_col, *([depth_col, *MATRIX_COLUMNS] if depth_col else [])}
    return {"text": [{k: v for k, v in row.items() if k not in skip} for row in table_rows],
            "matrices": {kind: [row.get(col) or [] for row in table_rows]
                         for col, kind in MATRIX_COLUMNS.items() if table_rows and col in table_rows[0]}}


def _read_pack(files: ConfigFiles, location: str) -> FileRows:
    pack = Pack(location)
    try:
        rows = pack.metadata(files.config).to_pylist()
    except BaseException:
        pack.close()
        raise
    stored = _stored_image_columns(list(rows[0]) if rows else [])
    image_col = next((stored[c] for c in IMAGE_COLUMNS if c in stored), None)
    if rows and image_col is None:
        pack.close()
        raise SparError(f"{location}: metadata of {files.config} names no images (no file_names column)")
    depth_col = stored.get(DEPTH_COLUMN)
    parts = _split_columns(rows, image_col or "", depth_col)
    views = [list(r.get(image_col) or []) for r in rows]
    depth = [list(r.get(depth_col) or []) for r in rows] if depth_col else None
    sizes = {name: pack.size(name) for name in {n for v in views + (depth or []) for n in v} if name in pack}
    return FileRows(location, parts["text"], views, depth, parts["matrices"], sizes, pack.read, pack.close)


def _holds_images(rows: list[dict[str, Any]], column: str) -> bool:
    """The column is a list of image cells ({bytes, path}), not of numbers (the hub's bench-rgbd depth)."""
    first = next((r[column][0] for r in rows if r.get(column)), None)
    return isinstance(first, dict)


def _key(data: bytes) -> str:
    return "sha1:" + hashlib.sha1(data).hexdigest()


def _read_parquet(location: str) -> FileRows:
    import pyarrow.parquet as pq  # deferred, pyarrow: only for Parquet

    try:
        with open(location, "rb") as handle:
            rows = pq.read_table(io.BytesIO(handle.read())).to_pylist()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
        raise SparError(f"{location}: not readable Parquet ({exc})") from None
    image_col = next((c for c in IMAGE_COLUMNS if rows and c in rows[0]), None)
    if rows and image_col is None:
        raise SparError(f"{location}: no images/image column")
    depth_col = DEPTH_COLUMN if rows and _holds_images(rows, DEPTH_COLUMN) else None
    blobs: dict[str, bytes] = {}

    def keys(entries: list[Any] | None) -> list[str]:
        out = []
        for entry in entries or []:
            data = entry.get("bytes") if isinstance(entry, dict) else None
            if not data:
                out.append(f"missing:{entry.get('path') if isinstance(entry, dict) else entry!r}")
                continue
            key = _key(data)
            blobs.setdefault(key, bytes(data))
            out.append(key)
        return out

    views = [keys(r.get(image_col)) for r in rows]
    depth = [keys(r.get(depth_col)) for r in rows] if depth_col else None
    parts = _split_columns(rows, image_col or "", depth_col)
    return FileRows(location, parts["text"], views, depth, parts["matrices"],
                    {k: len(v) for k, v in blobs.items()}, blobs.__getitem__)

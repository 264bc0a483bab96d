"""HF build (Parquet) -> WebDataset tar shards, one sample per QA row (formats.md section 5).

Image, depth and matrix data are read with pyarrow and copied byte for byte into the tar; only
`bake_markers` decodes and re-encodes the images that carry a marker. Shards are written under a
temporary name and renamed when complete; a small state file after every shard lets `resume`
continue where a killed run stopped, and the index JSON is written last. Tar headers have fixed
mtime / uid / gid / names, so the same build gives byte-identical shards.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from spar_hf.atomic import atomic_open, atomic_write_text, sweep_temp_files
from spar_hf.errors import SparError
from spar_hf.report import RejectLog, Summary
from spar_hf.shards.index import ShardIndex, ShardInfo, index_name, rejects_name, shard_name, shard_stem, write_index

IMAGE_COLUMNS = ("images", "image")
RGBD_COLUMNS = ("depth", "pose", "intrinsics")
TAR_BLOCK = 512
TAR_RECORD = 20 * TAR_BLOCK  # tarfile pads the archive to a multiple of this
TAR_EOF = 2 * TAR_BLOCK
USTAR_NAME_MAX = 100
FIXED_MTIME = 0
BAKE_JPEG_QUALITY = 95
BATCH_ROWS = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_MAGIC = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF8", "gif"), (b"BM", "bmp"))


class RowError(ValueError):
    """A row that cannot become a sample; its message is the reject reason."""


def safe_id(record_id: Any) -> str:
    """An id with every character outside [A-Za-z0-9_-] written as %XX (UTF-8), so no dot, slash or
    space reaches the tar member name and distinct ids stay distinct."""
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), str(record_id))


def sample_key(row: int, record_id: Any) -> str:
    """Row number first: unique even when the build repeats an id (official ids are not unique across tasks)."""
    return f"{row:08d}-{safe_id(record_id)}"


def image_ext(data: bytes) -> str:
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    raise RowError("image bytes are not JPEG, PNG, GIF, BMP or WebP")


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _image_bytes(entry: Any, what: str, i: int) -> bytes:
    data = entry.get("bytes") if isinstance(entry, dict) else None
    if not data:
        raise RowError(f"{what}[{i}] has no bytes (path-only image {entry.get('path') if isinstance(entry, dict) else entry!r})")
    return bytes(data)


def _matrix(value: Any, shape: tuple[int, int], what: str, i: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise RowError(f"{what}[{i}] is not numeric") from None
    if array.shape != shape:
        raise RowError(f"{what}[{i}] has shape {array.shape}, expected {shape}")
    if not np.isfinite(array).all():
        raise RowError(f"{what}[{i}] holds non-finite values")
    return array


def _bake(images: list[bytes], markers: dict[str, Any], task: str) -> tuple[list[bytes], list[str]]:
    """Draw the markers into the images that carry one (JPEG q95, 4:4:4); others keep their bytes."""
    from PIL import Image

    from spar_hf.markers import draw_on, placements

    marks = placements(markers, task)
    out, exts = [], []
    for i, data in enumerate(images):
        mine = [m for m in marks if m.image_index == i]
        if not mine:
            out.append(data)
            exts.append(image_ext(data))
            continue
        try:
            with Image.open(io.BytesIO(data)) as img:
                drawn = draw_on(img, mine)
        except OSError as exc:
            raise RowError(f"image {i} cannot be decoded for marker drawing: {exc}") from None
        buf = io.BytesIO()
        drawn.save(buf, format="JPEG", quality=BAKE_JPEG_QUALITY, subsampling=0)
        out.append(buf.getvalue())
        exts.append("jpg")
    return out, exts


def row_to_sample(row: dict[str, Any], index: int, bake_markers: bool = False) -> dict[str, Any]:
    """One Parquet row -> webdataset sample dict ({"__key__", "json", "<i>.jpg", ...}); RowError to reject."""
    image_col = next((c for c in IMAGE_COLUMNS if c in row), None)
    if image_col is None:
        raise RowError("row has no images/image column")
    images = [_image_bytes(e, image_col, i) for i, e in enumerate(row[image_col] or [])]
    if not images:
        raise RowError("row has no images")
    n = len(images)
    text = {k: v for k, v in row.items() if k not in IMAGE_COLUMNS and k not in RGBD_COLUMNS}
    if isinstance(text.get("meta"), str):
        try:
            text["meta"] = json.loads(text["meta"])
        except ValueError as exc:
            raise RowError(f"meta is not JSON: {exc}") from None
    if bake_markers:
        images, exts = _bake(images, text.get("markers") or {}, str(text.get("task", "")))
    else:
        exts = [image_ext(b) for b in images]
    has_depth = "depth" in row
    text.update(n_views=n, row=index, markers_baked=bool(bake_markers), has_depth=has_depth)
    sample: dict[str, Any] = {"__key__": sample_key(index, row.get("id", index))}
    sample["json"] = json.dumps(text, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    for i, (data, ext) in enumerate(zip(images, exts)):
        sample[f"{i}.{ext}"] = data
    if has_depth:
        depth, pose, intr = row.get("depth") or [], row.get("pose") or [], row.get("intrinsics") or []
        if not (len(depth) == len(pose) == len(intr) == n):
            raise RowError(f"{n} images but {len(depth)} depth / {len(pose)} pose / {len(intr)} intrinsics")
        for i in range(n):
            data = _image_bytes(depth[i], "depth", i)
            if image_ext(data) != "png":
                raise RowError(f"depth[{i}] is not a PNG")
            sample[f"{i}.depth.png"] = data
            sample[f"{i}.pose.npy"] = npy_bytes(_matrix(pose[i], (4, 4), "pose", i))
            sample[f"{i}.K.npy"] = npy_bytes(_matrix(intr[i], (3, 3), "intrinsics", i))
    return sample


def tar_cost(sample: dict[str, Any]) -> int:
    """Bytes the sample adds to a tar (headers + data padded to 512; long names need PAX headers)."""
    key = sample["__key__"]
    total = 0
    for name, value in sample.items():
        if name.startswith("__"):
            continue
        member = f"{key}.{name}"
        total += TAR_BLOCK + -(-len(value) // TAR_BLOCK) * TAR_BLOCK
        if len(member.encode("utf-8")) > USTAR_NAME_MAX:
            total += 2 * TAR_BLOCK + -(-(len(member) + 64) // TAR_BLOCK) * TAR_BLOCK
    return total


def closed_size(payload: int) -> int:
    """Size of a tar holding `payload` bytes of members once closed (EOF blocks, record padding)."""
    return -(-(payload + TAR_EOF) // TAR_RECORD) * TAR_RECORD


class _HashingWriter:
    """File wrapper counting and hashing every byte tarfile writes through it."""

    def __init__(self, handle):
        self.handle = handle
        self.sha = hashlib.sha256()
        self.size = 0

    def abandon(self) -> None:
        """Drop later writes (tarfile flushes its buffer when garbage-collected after a failed run)."""
        self.handle = None

    def write(self, data: bytes) -> int:
        if self.handle is None:
            return len(data)
        self.handle.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)


def find_parquet(hf_dir: str | Path, config: str, split: str) -> list[Path]:
    """The Parquet files of one config/split in an HF build (`<config>/<split>-*.parquet`)."""
    root = Path(hf_dir)
    if not root.is_dir():
        raise SparError(f"{root}: no such HF build folder")
    files = sorted((root / config).glob(f"{split}-*.parquet"))
    if not files:
        have = sorted({f"{p.parent.name}/{p.name.split('-')[0]}" for p in root.glob("*/*.parquet")})
        raise SparError(f"{root}: no Parquet for config {config!r} split {split!r} "
                        f"(have: {', '.join(have) or 'nothing'})")
    return files


def iter_rows(files: list[Path], start: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row dict) over the files in order, skipping the first `start` rows without decoding them."""
    import pyarrow.parquet as pq

    row = 0
    for path in files:
        pf = pq.ParquetFile(path)
        for g in range(pf.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if row + n <= start:
                row += n
                continue
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[g]):
                rows = batch.to_pylist()
                for r in rows:
                    if row >= start:
                        yield row, r
                    row += 1


def count_rows(files: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)


def _columns(files: list[Path]) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.ParquetFile(files[0]).schema_arrow.names)


@dataclass
class ShardRun:
    """What a shard run did: the index, counts, and whether it continued a previous run."""

    index: ShardIndex
    n_in: int
    resumed_rows: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def _state_path(out: Path, config: str, split: str) -> Path:
    return out / f".{shard_stem(config, split)}.state.json"


def _fingerprint(files: list[Path], hf_dir: Path) -> list[list[Any]]:
    return [[str(p.relative_to(hf_dir)), p.stat().st_size] for p in files]


def open_tar(writer: _HashingWriter) -> Any:
    """A TarWriter with the fixed headers (owner, mode, mtime, PAX) that make shards byte-identical."""
    import webdataset as wds

    return wds.TarWriter(writer, user="spar", group="spar", mode=0o444, mtime=FIXED_MTIME,
                         encoder=False, format="PAX_FORMAT")


def reject_row(config: str, split: str, row_no: int, row: dict[str, Any], exc: RowError) -> dict[str, Any]:
    """The rejects-file entry for a row that cannot become a sample."""
    return {"file": f"{config}/{split}", "line": row_no, "reason": str(exc), "record": {"id": row.get("id")}}


def _start(hf_dir: Path, config: str, split: str, out: Path, max_size: int, max_count: int,
           bake_markers: bool) -> tuple[list[Path], list[str], dict[str, Any], int]:
    """Check the arguments, find the input and prepare `out`: (files, columns, params, total rows)."""
    if max_count < 1 or max_size < 1:
        raise SparError("--max-count and --max-size must be positive")
    files = find_parquet(hf_dir, config, split)
    columns = _columns(files)
    if bake_markers and "markers" not in columns:
        raise SparError(f"config {config!r} has no markers column (bench images already have markers drawn); "
                        "drop --bake-markers")
    params = {"config": config, "split": split, "max_size": max_size, "max_count": max_count,
              "bake_markers": bake_markers, "input": _fingerprint(files, hf_dir)}
    out.mkdir(parents=True, exist_ok=True)
    sweep_temp_files(out)
    return files, columns, params, count_rows(files)


def _finished(idx_path: Path, params: dict[str, Any], total: int) -> ShardRun | None:
    """The earlier run's result when `idx_path` holds a complete run with the same parameters and input."""
    if not idx_path.is_file():
        return None
    done = json.loads(idx_path.read_text())
    if done.get("params") != params:
        return None
    return ShardRun(index=ShardIndex.from_json(done, where=str(idx_path)), n_in=total, resumed_rows=total)


def _finish(out: Path, config: str, split: str, *, params: dict[str, Any], columns: list[str], bake_markers: bool,
            shards: list[ShardInfo], rejects: list[dict[str, Any]], samples: int, total: int,
            resumed_rows: int) -> ShardRun:
    """Write the rejects file and the index (last), drop the resume state, and describe the run."""
    summary = Summary("shard")
    with RejectLog(out / rejects_name(config, split), summary) as log:
        for r in rejects:
            log.add(r["reason"], file=r["file"], line=r["line"], record=r["record"])
    index = ShardIndex(config=config, split=split, samples=samples, rejected=len(rejects), shards=shards,
                       has_depth="depth" in columns, markers_baked=bake_markers, params=params)
    write_index(out / index_name(config, split), index)
    with contextlib.suppress(FileNotFoundError):
        _state_path(out, config, split).unlink()
    return ShardRun(index=index, n_in=total, resumed_rows=resumed_rows, reasons=dict(summary.reasons))


def write_shards(hf_dir: str | Path, config: str, split: str, out_dir: str | Path, *, max_size: int = 10**9,
                 max_count: int = 100_000, bake_markers: bool = False, resume: bool = False,
                 on_row: Callable[[], None] | None = None) -> ShardRun:
    """Write `spar-<config>-<split>-NNNNNN.tar` shards + rejects + index into `out_dir`."""
    hf_dir, out = Path(hf_dir), Path(out_dir)
    files, columns, params, total = _start(hf_dir, config, split, out, max_size, max_count, bake_markers)
    state_path, idx_path = _state_path(out, config, split), out / index_name(config, split)

    shards: list[ShardInfo] = []
    rejects: list[dict[str, Any]] = []
    start = 0
    if resume and (finished := _finished(idx_path, params, total)) is not None:
        return finished
    if resume and state_path.is_file():
        state = json.loads(state_path.read_text())
        if state.get("params") != params:
            raise SparError(f"{state_path}: written with other parameters or input; run without --resume")
        shards = [ShardInfo(**s) for s in state["shards"]]
        for info in shards:
            path = out / info.name
            if not path.is_file() or path.stat().st_size != info.bytes:
                raise SparError(f"{path}: missing or changed since the interrupted run; run without --resume")
        rejects, start = state["rejects"], int(state["rows"])
    else:
        for stale in out.glob(f"{shard_stem(config, split)}-*.tar"):
            stale.unlink()
        with contextlib.suppress(FileNotFoundError):
            idx_path.unlink()

    n_samples = sum(s.samples for s in shards)

    def save_state(rows: int) -> None:
        atomic_write_text(state_path, json.dumps({"params": params, "rows": rows, "shards": [s.__dict__ for s in shards],
                                                  "rejects": rejects}, sort_keys=True))

    current: dict[str, Any] = {}

    def open_shard(first_row: int) -> None:
        name = shard_name(config, split, len(shards))
        ctx = atomic_open(out / name, "wb", encoding=None)
        writer = _HashingWriter(ctx.__enter__())
        tar = open_tar(writer)
        current.update(name=name, ctx=ctx, writer=writer, tar=tar, count=0, payload=0, first_row=first_row)

    def close_shard(rows_done: int) -> None:
        current["tar"].close()
        current["ctx"].__exit__(None, None, None)  # fsync + rename into place
        os.chmod(out / current["name"], 0o644)  # mkstemp makes 0600; shards are meant to be served
        writer = current["writer"]
        shards.append(ShardInfo(current["name"], current["count"], writer.size, writer.sha.hexdigest(),
                                current["first_row"]))
        current.clear()
        save_state(rows_done)

    try:
        for row_no, row in iter_rows(files, start):
            if on_row:
                on_row()
            try:
                sample = row_to_sample(row, row_no, bake_markers)
            except RowError as exc:
                rejects.append(reject_row(config, split, row_no, row, exc))
                continue
            cost = tar_cost(sample)
            if current and (current["count"] >= max_count or closed_size(current["payload"] + cost) > max_size):
                close_shard(row_no)
            if not current:
                open_shard(row_no)
            current["tar"].write(sample)
            current["count"] += 1
            current["payload"] += cost
            n_samples += 1
        if current:
            close_shard(total)
    except BaseException as exc:
        if current:  # drop the half-written shard's temp file
            current["writer"].abandon()
            current["ctx"].__exit__(type(exc), exc, exc.__traceback__)
        raise

    return _finish(out, config, split, params=params, columns=columns, bake_markers=bake_markers, shards=shards,
                   rejects=rejects, samples=n_samples, total=total, resumed_rows=start)

"""HF build -> WebDataset tar shards whose samples hold each image once (docs/formats.md "WebDataset shards").

A sample is a chunk of one scene's QA rows (`spar_hf.shards.chunks`) with the union of their
images, each stored once, plus one JSON listing the rows and which of the sample's images each
row shows. Image, depth and matrix bytes are copied as stored (only `bake_markers` decodes and
re-encodes the images that carry a marker, per row).

Two steps, so shards can be written in parallel with the same bytes whatever runs them:
1. plan (per data file): read the rows, reject what cannot become part of a sample, cut chunks and
   work out each sample's exact tar size; then the driver cuts shards at `max_size` bytes (closed
   tar) or `max_count` QA rows, never splitting a sample;
2. write (one unit per shard, `spar_hf.engines.units`): fetch the members and write the tar under a
   temporary name, renamed when complete; the index JSON is written last.
Tar headers have fixed mtime / uid / gid / names, JSON is dumped with sorted keys: the same build and
options give byte-identical shards. `resume` keeps every shard whose file still has the size and
sha256 recorded for the same plan, and writes the others again (a deleted or damaged shard included).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from spar_hf.engines.units import run_units
from spar_hf.errors import SparError
from spar_hf.markers import draw_on, placements
from spar_hf.shards.chunks import DEFAULT_FRAMES, DEFAULT_ROWS, Chunk, chunk_rows
from spar_hf.shards.index import ShardIndex, ShardInfo, index_name, rejects_name, shard_name, shard_stem, write_index
from spar_hf.shards.source import ConfigFiles, FileRows, config_files, read_file
from spar_hf.utils.atomic import atomic_open, atomic_write_text, sweep_temp_files
from spar_hf.utils.outputs import intact, read_state
from spar_hf.utils.report import RejectLog, Summary

TAR_BLOCK = 512
TAR_RECORD = 20 * TAR_BLOCK  # tarfile pads the archive to a multiple of this
TAR_EOF = 2 * TAR_BLOCK
USTAR_NAME_MAX = 100
FIXED_MTIME = 0
BAKE_JPEG_QUALITY = 95
SAMPLE_FORMAT = 2
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_MAGIC = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF8", "gif"), (b"BM", "bmp"))
_NAME_EXT = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png", ".webp": "webp", ".gif": "gif", ".bmp": "bmp"}
MATRIX_SHAPES = {"pose": (4, 4), "K": (3, 3)}


class RowError(ValueError):
    """A row that cannot become part of a sample; its message is the reject reason."""


def safe_id(record_id: Any) -> str:
    """An id with every character outside [A-Za-z0-9_-] written as %XX (UTF-8), so no dot, slash or
    space reaches the tar member name and distinct ids stay distinct."""
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), str(record_id))


def sample_key(number: int, group: Any) -> str:
    """Chunk number first: unique even when one scene spans several chunks."""
    return f"{number:08d}-{safe_id(group) or 'rows'}"


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


# --- samples ------------------------------------------------------------------------------------
@dataclass
class Frame:
    """One image of a sample: its colour key, extension, and (RGBD) depth key and matrices as npy bytes."""

    key: str
    ext: str
    depth: str | None = None
    npy: dict[str, bytes] = field(default_factory=dict)


@dataclass
class SampleRow:
    """A row ready for a sample: its JSON fields and, per view, the frame key (baked views get their own)."""

    fields: dict[str, Any]
    views: list[Frame]
    baked: dict[str, bytes] = field(default_factory=dict)  # frame key -> drawn JPEG


class FileSamples:
    """The rows of one data file turned into sample rows (or rejects), with the bytes to fill them."""

    def __init__(self, rows: FileRows, first_row: int, bake_markers: bool):
        self.rows = rows
        self.first_row = first_row
        self.bake = bake_markers

    def ext(self, key: str) -> str:
        suffix = os.path.splitext(key)[1].lower()
        if suffix in _NAME_EXT:
            return _NAME_EXT[suffix]
        return image_ext(self.rows.fetch(key)[:16])

    def sample_row(self, i: int) -> SampleRow:
        """Row `i` checked and shaped; RowError with the reason when it cannot be used."""
        rows = self.rows
        views = rows.views[i]
        if not views:
            raise RowError("row has no images")
        missing = [k for k in views if k not in rows.sizes]
        if missing:
            raise RowError(f"image {missing[0]} has no bytes (path-only, or missing from its pack)")
        fields = dict(rows.text[i])
        if isinstance(fields.get("meta"), str):
            try:
                fields["meta"] = json.loads(fields["meta"])
            except ValueError as exc:
                raise RowError(f"meta is not JSON: {exc}") from None
        frames = [Frame(k, self.ext(k)) for k in views]
        if rows.depth is not None:
            depth = rows.depth[i]
            matrices = {kind: rows.matrices.get(kind, [[]] * len(rows.views))[i] for kind in MATRIX_SHAPES}
            if not (len(depth) == len(matrices["pose"]) == len(matrices["K"]) == len(views)):
                raise RowError(f"{len(views)} images but {len(depth)} depth / {len(matrices['pose'])} pose / "
                               f"{len(matrices['K'])} intrinsics")
            for j, frame in enumerate(frames):
                if depth[j] not in rows.sizes:
                    raise RowError(f"depth {depth[j]} has no bytes")
                if self.ext(depth[j]) != "png":
                    raise RowError(f"depth[{j}] is not a PNG")
                frame.depth = depth[j]
                frame.npy = {kind: npy_bytes(_matrix(matrices[kind][j], shape, kind, j))
                             for kind, shape in MATRIX_SHAPES.items()}
        out = SampleRow(fields, frames)
        if self.bake:
            self._bake(out, i)
        return out

    def _bake(self, row: SampleRow, i: int) -> None:
        """Draw the markers into the views that carry one (JPEG q95, 4:4:4): each such view a frame of its own."""

        marks = placements(row.fields.get("markers") or {}, str(row.fields.get("task", "")))
        for j, frame in enumerate(row.views):
            mine = [m for m in marks if m.image_index == j]
            if not mine:
                continue
            try:
                with Image.open(io.BytesIO(self.rows.fetch(frame.key))) as img:
                    drawn = draw_on(img, mine)
            except OSError as exc:
                raise RowError(f"image {j} cannot be decoded for marker drawing: {exc}") from None
            buf = io.BytesIO()
            drawn.save(buf, format="JPEG", quality=BAKE_JPEG_QUALITY, subsampling=0)
            key = f"baked:{self.first_row + i}:{j}"
            row.baked[key] = buf.getvalue()
            row.views[j] = Frame(key, "jpg", frame.depth, frame.npy)


def sample_members(key: str, rows: list[tuple[int, SampleRow]], chunk_frames: list[Frame], has_depth: bool,
                   baked: bool) -> list[tuple[str, str | bytes]]:
    """The members of one sample as (name suffix, frame key to fetch | bytes), JSON first."""
    index = {frame.key: i for i, frame in enumerate(chunk_frames)}
    meta_rows = []
    for number, row in rows:
        fields = dict(row.fields)
        fields.update(row=number, views=[index[f.key] for f in row.views])
        meta_rows.append(fields)
    meta = {"format": SAMPLE_FORMAT, "frames": [f.key for f in chunk_frames], "has_depth": has_depth,
            "markers_baked": baked, "rows": meta_rows}
    members: list[tuple[str, str | bytes]] = [
        ("json", json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))]
    for i, frame in enumerate(chunk_frames):
        members.append((f"{i}.{frame.ext}", frame.key))
        if has_depth:
            members.append((f"{i}.depth.png", frame.depth))
            members.extend((f"{i}.{kind}.npy", data) for kind, data in frame.npy.items())
    return members


def tar_cost(key: str, members: list[tuple[str, int]]) -> int:
    """Bytes a sample adds to a tar (headers + data padded to 512; long names need PAX headers)."""
    total = 0
    for name, size in members:
        member = f"{key}.{name}"
        total += TAR_BLOCK + -(-size // TAR_BLOCK) * TAR_BLOCK
        if len(member.encode("utf-8")) > USTAR_NAME_MAX:
            total += 2 * TAR_BLOCK + -(-(len(member) + 64) // TAR_BLOCK) * TAR_BLOCK
    return total


def closed_size(payload: int) -> int:
    """Size of a tar holding `payload` bytes of members once closed (EOF blocks, record padding)."""
    return -(-(payload + TAR_EOF) // TAR_RECORD) * TAR_RECORD


# --- plan ---------------------------------------------------------------------------------------
@dataclass
class PlannedSample:
    """One sample: its data file, the rows it holds (indices in the file) and its tar size."""

    file: int
    rows: list[int]
    cost: int
    group: str


@dataclass
class FilePlan:
    samples: list[PlannedSample]
    rejects: list[dict[str, Any]]
    n_rows: int


@dataclass
class PlanJob:
    files: ConfigFiles
    index: int
    first_row: int
    bake_markers: bool
    max_frames: int
    max_rows: int


def _group(fields: dict[str, Any]) -> str:
    return str(fields.get("scene") or "")


def _chunks(samples: FileSamples, good: dict[int, SampleRow], max_frames: int, max_rows: int) -> list[Chunk]:
    order = sorted(good)
    views = [[f.key for f in good[i].views] for i in order]
    groups = [_group(good[i].fields) for i in order]
    return [Chunk(tuple(order[r] for r in c.rows), c.frames) for c in chunk_rows(views, groups, max_frames, max_rows)]


def _file_samples(job: PlanJob) -> tuple[FileSamples, dict[int, SampleRow], list[dict[str, Any]]]:
    rows = read_file(job.files, job.index)
    samples = FileSamples(rows, job.first_row, job.bake_markers)
    good: dict[int, SampleRow] = {}
    rejects = []
    for i in range(len(rows.text)):
        try:
            good[i] = samples.sample_row(i)
        except RowError as exc:
            rejects.append({"file": f"{job.files.config}/{job.files.split}", "line": job.first_row + i,
                            "reason": str(exc), "record": {"id": rows.text[i].get("id")}})
    return samples, good, rejects


def _chunk_frames(chunk: Chunk, good: dict[int, SampleRow]) -> list[Frame]:
    frames: dict[str, Frame] = {}
    for i in chunk.rows:
        for frame in good[i].views:
            frames.setdefault(frame.key, frame)
    return list(frames.values())


def _member_size(samples: FileSamples, good_rows: list[SampleRow], value: str | bytes) -> int:
    if isinstance(value, bytes):
        return len(value)
    for row in good_rows:
        if value in row.baked:
            return len(row.baked[value])
    return samples.rows.sizes[value]


def plan_file(job: PlanJob) -> FilePlan:
    """Rejects, chunks and each sample's tar size for one data file (a unit of parallel work)."""
    samples, good, rejects = _file_samples(job)
    try:
        has_depth = samples.rows.depth is not None
        planned = []
        for chunk in _chunks(samples, good, job.max_frames, job.max_rows):
            rows = [(job.first_row + i, good[i]) for i in chunk.rows]
            members = sample_members("", rows, _chunk_frames(chunk, good), has_depth, job.bake_markers)
            key = sample_key(0, _group(good[chunk.rows[0]].fields))
            sizes = [(name, _member_size(samples, [r for _, r in rows], v)) for name, v in members]
            planned.append(PlannedSample(job.index, list(chunk.rows), tar_cost(key, sizes), _group(good[chunk.rows[0]].fields)))
        return FilePlan(planned, rejects, len(samples.rows.text))
    finally:
        samples.rows.close()


def plan_shards(samples: list[PlannedSample], max_size: int, max_count: int) -> list[list[int]]:
    """Sample indices per shard: a new shard when the next sample would make the current one hold more
    than `max_count` rows or exceed `max_size` bytes once closed; a bigger sample gets a shard of its own."""
    shards: list[list[int]] = []
    rows = payload = 0
    for i, sample in enumerate(samples):
        if shards and shards[-1] and (rows + len(sample.rows) > max_count or closed_size(payload + sample.cost) > max_size):
            shards.append([])
            rows = payload = 0
        if not shards:
            shards.append([])
        shards[-1].append(i)
        rows += len(sample.rows)
        payload += sample.cost
    return shards


# --- write ----------------------------------------------------------------------------------------
class _HashingWriter:
    """File wrapper counting and hashing every byte tarfile writes through it."""

    def __init__(self, handle):
        self.handle = handle
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.handle.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)


def open_tar(writer: _HashingWriter) -> Any:
    """A TarWriter with the fixed headers (owner, mode, mtime, PAX) that make shards byte-identical."""
    import webdataset as wds  # deferred, webdataset: ~1.8 s to import

    return wds.TarWriter(writer, user="spar", group="spar", mode=0o444, mtime=FIXED_MTIME,
                         encoder=False, format="PAX_FORMAT")


@dataclass
class ShardJob:
    """One shard to write: the plan jobs of its files and its samples as (file, rows, number of the first row)."""

    files: ConfigFiles
    plans: dict[int, PlanJob]
    samples: list[tuple[int, list[int], int]]  # (file index, rows in the file, sample number)
    path: str
    name: str
    first_row: int


def write_shard(job: ShardJob) -> ShardInfo:
    """Write one planned shard (a unit of parallel work); its rows are checked again as they are read."""
    opened: dict[int, tuple[FileSamples, dict[int, SampleRow]]] = {}
    rows_written = 0
    try:
        with atomic_open(job.path, "wb", encoding=None) as handle:
            writer = _HashingWriter(handle)
            tar = open_tar(writer)
            for file_index, row_indices, number in job.samples:
                if file_index not in opened:
                    samples, good, _ = _file_samples(job.plans[file_index])
                    opened[file_index] = (samples, good)
                samples, good = opened[file_index]
                missing = [i for i in row_indices if i not in good]
                if missing:
                    raise SparError(f"{samples.rows.location}: row {missing[0]} no longer readable; the build changed "
                                    "since the shards were planned")
                first = job.plans[file_index].first_row
                rows = [(first + i, good[i]) for i in row_indices]
                frames = _chunk_frames(Chunk(tuple(row_indices), ()), good)
                key = sample_key(number, _group(good[row_indices[0]].fields))
                sample: dict[str, Any] = {"__key__": key}
                baked = {k: v for _, r in rows for k, v in r.baked.items()}
                for name, value in sample_members(key, rows, frames, samples.rows.depth is not None,
                                                  job.plans[file_index].bake_markers):
                    sample[name] = value if isinstance(value, bytes) else baked.get(value) or samples.rows.fetch(value)
                tar.write(sample)
                rows_written += len(rows)
            tar.close()
    finally:
        for samples, _ in opened.values():
            samples.rows.close()
    os.chmod(job.path, 0o644)  # mkstemp makes 0600; shards are meant to be served
    return ShardInfo(job.name, len(job.samples), rows_written, writer.size, writer.sha.hexdigest(), job.first_row)


# --- the run ---------------------------------------------------------------------------------------
@dataclass
class ShardRun:
    """What a shard run did: the index, counts, how many shards an earlier run had already written."""

    index: ShardIndex
    n_in: int
    resumed_shards: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def _state_path(out: Path, config: str, split: str) -> Path:
    return out / f".{shard_stem(config, split)}.state.json"


def _fingerprint(files: list[str]) -> list[list[Any]]:
    out = []
    for f in files:
        stat = os.stat(f)
        out.append([os.path.basename(f), stat.st_size, stat.st_mtime_ns])
    return out


def _shard_key(params: dict[str, Any], job: ShardJob) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    digest.update(json.dumps([job.name, job.samples]).encode())
    return digest.hexdigest()


def _read_state(path: Path) -> dict[str, Any]:
    state = read_state(path) or {}
    if not isinstance(state.get("shards"), dict):
        raise SparError(f"{path}: resume state has no shards; delete it to start this output over")
    return state


def _kept(out: Path, done: dict[str, Any], key: str) -> ShardInfo | None:
    """An earlier run's shard for the same planned job, when the file is intact."""
    rec = done.get(key)
    if rec is None:
        return None
    info = ShardInfo(**rec)
    return info if intact(out / info.name, info.bytes, info.sha256) else None


def write_shards(hf_dir: str | Path, config: str, split: str, out_dir: str | Path, *, max_size: int = 10**9,
                 max_count: int = 100_000, bake_markers: bool = False, resume: bool = False,
                 max_frames: int = DEFAULT_FRAMES, max_rows: int = DEFAULT_ROWS, workers: int = 1,
                 engine: str = "local", address: str | None = None,
                 on_rows: Callable[[int], None] | None = None) -> ShardRun:
    """Write `spar-<config>-<split>-NNNNNN.tar` shards + rejects + index into `out_dir`."""
    if max_count < 1 or max_size < 1 or max_frames < 1 or max_rows < 1:
        raise SparError("--max-count, --max-size, --chunk-frames and --chunk-rows must be positive")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SparError(f"--out {out}: exists and is not a folder")
    files = config_files(hf_dir, config, split)
    files = ConfigFiles(files.config, files.split, [str(Path(f).resolve()) for f in files.files], files.metadata)
    if bake_markers and "markers" not in _columns(files):
        raise SparError(f"config {config!r} has no markers column (bench images already have markers drawn); "
                        "drop --bake-markers")
    params = {"config": config, "split": split, "max_size": max_size, "max_count": max_count, "bake_markers": bake_markers,
              "max_frames": max_frames, "max_rows": max_rows, "format": SAMPLE_FORMAT, "input": _fingerprint(files.files)}
    out.mkdir(parents=True, exist_ok=True)
    sweep_temp_files(out)
    state_path, idx_path = _state_path(out, config, split), out / index_name(config, split)
    done = _read_state(state_path)["shards"] if resume and state_path.is_file() else {}

    max_rows = min(max_rows, max_count)  # a sample never holds more rows than a shard may
    plans: dict[int, PlanJob] = {}
    first_row = 0
    for i, path in enumerate(files.files):
        plans[i] = PlanJob(files, i, first_row, bake_markers, max_frames, max_rows)
        first_row += _count_rows(files, i)
    file_plans: dict[int, FilePlan] = {}
    for i, plan in run_units(plan_file, [plans[i] for i in range(len(plans))], workers=workers, engine=engine,
                             address=address):
        file_plans[i] = plan
    samples = [s for i in range(len(plans)) for s in file_plans[i].samples]
    rejects = [r for i in range(len(plans)) for r in file_plans[i].rejects]
    total = sum(p.n_rows for p in file_plans.values())

    jobs: list[ShardJob] = []
    for number, members in enumerate(plan_shards(samples, max_size, max_count)):
        used = {samples[i].file for i in members}
        name = shard_name(config, split, number)
        first = min(plans[samples[i].file].first_row + min(samples[i].rows) for i in members)
        jobs.append(ShardJob(files, {f: plans[f] for f in sorted(used)},
                             [(samples[i].file, samples[i].rows, i) for i in members], str(out / name), name, first))
    keys = [_shard_key(params, job) for job in jobs]
    shards: list[ShardInfo | None] = [_kept(out, done, k) for k in keys]
    resumed = sum(1 for s in shards if s is not None)
    wanted = {job.name for job in jobs}
    for stale in out.glob(f"{shard_stem(config, split)}-*.tar"):
        if stale.name not in wanted:
            stale.unlink()
    with contextlib.suppress(FileNotFoundError):
        idx_path.unlink()
    kept = {k: asdict(s) for k, s in zip(keys, shards) if s is not None}
    todo = [i for i, s in enumerate(shards) if s is None]
    if on_rows:
        on_rows(sum(s.rows for s in shards if s is not None))
    for j, info in run_units(write_shard, [jobs[i] for i in todo], workers=workers, engine=engine, address=address):
        i = todo[j]
        shards[i] = info
        kept[keys[i]] = asdict(info)
        atomic_write_text(state_path, json.dumps({"params": params, "shards": kept}, sort_keys=True))
        if on_rows:
            on_rows(info.rows)
    finished = [s for s in shards if s is not None]
    return _finish(out, config, split, params=params, has_depth=_has_depth(files), bake_markers=bake_markers,
                   shards=finished, rejects=rejects, total=total, resumed=resumed)


def _count_rows(files: ConfigFiles, index: int) -> int:
    """Rows of one data file, read from the Parquet footer only."""
    import pyarrow.parquet as pq  # deferred, pyarrow: only for Parquet

    if files.packs:
        from spar_hf.packs import Pack

        with Pack(files.files[index]) as pack:
            return pack.metadata_file(files.config).metadata.num_rows
    return pq.ParquetFile(files.files[index]).metadata.num_rows


def _columns(files: ConfigFiles) -> list[str]:
    """The stored columns of the config (a pack's metadata, or the Parquet schema)."""
    import pyarrow.parquet as pq  # deferred, pyarrow: only for Parquet

    if not files.files:
        return []
    if files.packs:
        from spar_hf.packs import Pack

        with Pack(files.files[0]) as pack:
            return list(pack.metadata_file(files.config).schema_arrow.names)
    return list(pq.ParquetFile(files.files[0]).schema_arrow.names)


def _has_depth(files: ConfigFiles) -> bool:
    columns = _columns(files)
    return "depth_file_names" in columns or "depth" in columns


def count_input_rows(hf_dir: str | Path, config: str, split: str) -> int:
    """QA rows of a config/split (for a progress bar)."""
    files = config_files(hf_dir, config, split)
    return sum(_count_rows(files, i) for i in range(len(files.files)))


def _finish(out: Path, config: str, split: str, *, params: dict[str, Any], has_depth: bool, bake_markers: bool,
            shards: list[ShardInfo], rejects: list[dict[str, Any]], total: int, resumed: int) -> ShardRun:
    """Write the rejects file and the index (last), drop the resume state, and describe the run."""
    summary = Summary("shard")
    with RejectLog(out / rejects_name(config, split), summary) as log:
        for r in rejects:
            log.add(r["reason"], file=r["file"], line=r["line"], record=r["record"])
    index = ShardIndex(config=config, split=split, samples=sum(s.samples for s in shards), rows=sum(s.rows for s in shards),
                       rejected=len(rejects), shards=shards, has_depth=has_depth, markers_baked=bake_markers, params=params)
    write_index(out / index_name(config, split), index)
    with contextlib.suppress(FileNotFoundError):
        _state_path(out, config, split).unlink()
    return ShardRun(index=index, n_in=total, resumed_shards=resumed, reasons=dict(summary.reasons))

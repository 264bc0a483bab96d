"""Write the SPAR-7M layout: a scene at a time into part files, then assemble qa_jsonl.

Per scene (atomic unit of a run), under `<out>/<source>/`:
  images/<scene>/image_color/<n>.jpg, image_depth/<n>.png, pose/<n>.txt, intrinsic/<n>.txt,
  video_color/frame<i>_<n>.jpg, video_depth/frame<i>_<n>.png, video_pose/frame<i>_<n>.txt, video_idx.txt
  parts/<scene>/<task>.<format>.jsonl   the scene's QA lines, exactly as they appear in qa_jsonl
  parts/<scene>/rejects.jsonl            records the writer refused, with the reason
  parts/<scene>/manifest.json            written LAST: a scene is done iff its manifest is consistent
After all scenes, `assemble` concatenates the parts in sorted scene order into
qa_jsonl/<split>/<task>/<format>/<format>_<N>.jsonl and removes older `<format>_<M>.jsonl` siblings.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from PIL import Image

from spar_hf.layout.paths import (
    IMAGES_DIR,
    QA_DIR,
    QA_FILE_RE,
    SPLITS,
    format_matrix,
    frame_paths,
    qa_file_name,
    video_image,
)
from spar_hf.records import QARecord
from spar_hf.utils.atomic import atomic_open, atomic_write_bytes, atomic_write_text
from spar_hf.utils.outputs import file_sha256

PARTS_DIR = "parts"
MANIFEST = "manifest.json"
REJECTS = "rejects.jsonl"
MANIFEST_VERSION = 1
DEPTH_MM = 1000.0  # the layout stores 16-bit depth in millimetres (ScanNet's unit)
JPEG_QUALITY = 95  # only used when a source image is not a JPEG already
_JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class FrameData:
    """What the writer needs to materialise one source frame (a subset of scene.model.Frame)."""

    index: int
    color_path: str
    depth_path: str | None
    depth_scale: float
    pose: np.ndarray
    intrinsics: np.ndarray


def record_line(record: QARecord) -> str:
    """One QA line: the release schema plus meta, compact, key order as QARecord.to_json builds it."""
    return json.dumps(record.to_json(), ensure_ascii=False, separators=(", ", ": "), allow_nan=False) + "\n"


def part_name(task: str, fmt: str) -> str:
    return f"{task}.{fmt}.jsonl"


def scene_parts_dir(source_dir: Path, scene: str) -> Path:
    return Path(source_dir) / PARTS_DIR / scene


def clear_scene(source_dir: Path, scene: str) -> None:
    """Remove a scene's images and parts so a re-run starts from nothing (no stale frames)."""
    for path in (Path(source_dir) / IMAGES_DIR / scene, scene_parts_dir(source_dir, scene)):
        if path.exists():
            shutil.rmtree(path)


def _jpeg_bytes(path: str) -> bytes:
    data = Path(path).read_bytes()
    if data.startswith(_JPEG_MAGIC):
        return data

    with Image.open(BytesIO(data)) as img:
        buf = BytesIO()
        img.convert("RGB").save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _depth_png_bytes(path: str, depth_scale: float) -> bytes:
    """Depth as a 16-bit millimetre PNG: source bytes when already so, else converted once."""
    data = Path(path).read_bytes()

    if depth_scale == DEPTH_MM and data.startswith(b"\x89PNG"):
        return data
    with Image.open(BytesIO(data)) as img:
        raw = np.asarray(img, dtype=np.float64)
    mm = np.clip(np.rint(raw / depth_scale * DEPTH_MM), 0, 65535).astype(np.uint16)
    buf = BytesIO()
    Image.fromarray(mm).save(buf, format="PNG")
    return buf.getvalue()


def write_frame(images_root: Path, image: str, frame: FrameData) -> list[str]:
    """Materialise one frame's colour, depth, pose and intrinsics; returns the paths written (relative)."""
    fp = frame_paths(image)
    written = []
    atomic_write_bytes(images_root / fp.color, _jpeg_bytes(frame.color_path))
    written.append(fp.color)
    if frame.depth_path:
        atomic_write_bytes(images_root / fp.depth, _depth_png_bytes(frame.depth_path, frame.depth_scale))
        written.append(fp.depth)
    atomic_write_text(images_root / fp.pose, format_matrix(frame.pose))
    written.append(fp.pose)
    atomic_write_text(images_root / fp.intrinsic, format_matrix(np.asarray(frame.intrinsics)[:3, :3]))
    written.append(fp.intrinsic)
    return written


def check_record(record: QARecord, scene: str, keyframes: set[int], clip: Sequence[int], formats: Iterable[str]) -> str | None:
    """Why the writer must refuse this record (None = fine): images outside the scene, bad format."""
    if record.format not in formats:
        return f"format {record.format!r} not declared by task {record.task}"
    if not record.images:
        return "record has no images"
    for image in record.images:
        try:
            fp = frame_paths(image)
        except ValueError as exc:
            return str(exc)
        if fp.scene != scene:
            return f"image {image} belongs to another scene"
        if fp.is_video:
            if fp.video_position >= len(clip) or clip[fp.video_position] != fp.frame_index:
                return f"image {image} is not frame {fp.video_position} of the scene's video clip"
        elif fp.frame_index not in keyframes:
            return f"image {image} is not a kept keyframe"
    return None


def _check_depths(record: QARecord, frames: dict[int, FrameData]) -> str | None:
    """Each depth path must be the depth file of one of the record's images, and that frame must have depth."""
    own = {frame_paths(image).depth: frame_paths(image).frame_index for image in record.images}
    for depth in record.depths:
        if depth not in own:
            return f"depth {depth} is not the depth file of one of the record's images"
        if not frames[own[depth]].depth_path:
            return f"depth {depth} requested but the source frame has no depth map"
    return None


def write_scene(
    source_dir: Path,
    scene: str,
    records: Sequence[QARecord],
    frames: dict[int, FrameData],
    keyframes: Sequence[int],
    clip: Sequence[int],
    task_formats: dict[str, tuple[str, ...]],
    params: dict[str, Any],
    stats: dict[str, Any],
) -> dict[str, Any]:
    """Write one scene (images, parts, rejects) and then its manifest; returns the manifest.

    `frames` maps source frame index -> FrameData for every keyframe and clip frame; `keyframes`
    are the kept keyframe indices; `clip` lists the video clip's source frame indices in order
    (empty without video tasks).
    """
    source_dir = Path(source_dir)
    clear_scene(source_dir, scene)
    images_root = source_dir / IMAGES_DIR
    parts_dir = scene_parts_dir(source_dir, scene)
    parts_dir.mkdir(parents=True, exist_ok=True)

    kept = set(keyframes)
    by_part: dict[tuple[str, str], list[str]] = {(t, f): [] for t, fs in task_formats.items() for f in fs}
    rejects: list[dict[str, Any]] = []
    reject_reasons: Counter = Counter()
    seen_ids: set[str] = set()
    referenced: set[str] = set()
    uses_video = False
    for record in records:
        formats = task_formats.get(record.task, ())
        reason = check_record(record, scene, kept, clip, formats) if formats else f"task {record.task!r} not selected"
        if reason is None:
            reason = _check_depths(record, frames)
        if reason is None and record.id in seen_ids:
            reason = f"duplicate id {record.id}"
        if reason is None:
            try:
                line = record_line(record)
            except (TypeError, ValueError) as exc:
                reason = f"not serialisable ({exc})"
        if reason is not None:
            rejects.append({"file": None, "line": None, "reason": reason, "record": record.to_json()})
            reject_reasons[reason.split(" ")[0]] += 1
            continue
        seen_ids.add(record.id)
        by_part[(record.task, record.format)].append(line)
        for image in record.images:
            referenced.add(image)
            uses_video = uses_video or frame_paths(image).is_video

    if uses_video:
        referenced.update(video_image(scene, i, n) for i, n in enumerate(clip))
    written: dict[str, int] = {}
    for image in sorted(referenced):
        for rel in write_frame(images_root, image, frames[frame_paths(image).frame_index]):
            written[f"{IMAGES_DIR}/{rel}"] = (images_root / rel).stat().st_size
    if uses_video:
        rel = f"{scene}/video_idx.txt"
        atomic_write_text(images_root / rel, "".join(f"{n}\n" for n in clip))
        written[f"{IMAGES_DIR}/{rel}"] = (images_root / rel).stat().st_size

    parts: dict[str, dict[str, Any]] = {}
    for (task, fmt), lines in sorted(by_part.items()):
        path = parts_dir / part_name(task, fmt)
        with atomic_open(path, "w") as handle:
            handle.writelines(lines)
        parts[f"{task}/{fmt}"] = {"file": path.name, "lines": len(lines), "sha256": file_sha256(path)}
    with atomic_open(parts_dir / REJECTS, "w") as handle:
        for row in rejects:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    manifest = {
        "version": MANIFEST_VERSION,
        "scene": scene,
        "status": "done",
        "params": params,
        "parts": parts,
        "rejected": len(rejects),
        "reject_reasons": dict(sorted(reject_reasons.items())),
        "files": dict(sorted(written.items())),
        "stats": stats,
    }
    write_manifest(source_dir, scene, manifest)
    return manifest


def write_rejected_scene(source_dir: Path, scene: str, params: dict[str, Any], reason: str) -> dict[str, Any]:
    """A scene whose input is bad: no images, no QA, only a manifest saying why (so resume skips it)."""
    clear_scene(source_dir, scene)
    manifest = {"version": MANIFEST_VERSION, "scene": scene, "status": "rejected", "reason": reason, "params": params,
                "parts": {}, "rejected": 0, "reject_reasons": {}, "files": {}, "stats": {}}
    write_manifest(source_dir, scene, manifest)
    return manifest


def write_manifest(source_dir: Path, scene: str, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    atomic_write_text(scene_parts_dir(source_dir, scene) / MANIFEST, text)


def load_manifest(source_dir: Path, scene: str) -> dict[str, Any] | None:
    path = scene_parts_dir(source_dir, scene) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def consistent_manifest(source_dir: Path, scene: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The scene's manifest if it matches `params` and every file it lists is intact, else None."""
    manifest = load_manifest(source_dir, scene)
    if not manifest or manifest.get("version") != MANIFEST_VERSION or manifest.get("scene") != scene:
        return None
    if manifest.get("params") != json.loads(json.dumps(params)):
        return None
    parts_dir = scene_parts_dir(source_dir, scene)
    for info in manifest.get("parts", {}).values():
        path = parts_dir / info["file"]
        if not path.is_file() or file_sha256(path) != info["sha256"]:
            return None
    if manifest.get("status") == "done" and not (parts_dir / REJECTS).is_file():
        return None
    for rel, size in manifest.get("files", {}).items():
        path = Path(source_dir) / rel
        if not path.is_file() or path.stat().st_size != size:
            return None
    return manifest


@dataclass
class AssembleResult:
    rows: Counter  # (split, task, format) -> lines
    files: list[Path]
    removed: list[Path]
    rejects: int


def assemble(
    source_dir: Path,
    scenes: Sequence[str],
    splits: dict[str, str],
    task_formats: dict[str, tuple[str, ...]],
    extra_rejects: Sequence[dict[str, Any]] = (),
) -> AssembleResult:
    """Concatenate the scenes' parts (sorted scene order) into qa_jsonl and rejects.jsonl.

    Every (split, task, format) of the selected tasks gets a file, `<format>_0.jsonl` when empty,
    so the tree's shape does not depend on which scenes fell in val. Every other `<format>_<M>.jsonl`
    under qa_jsonl (older counts, tasks not in this run) is removed after the new files are in place:
    qa_jsonl always shows exactly the last run.
    """
    source_dir = Path(source_dir)
    order = sorted(scenes)
    manifests = {s: load_manifest(source_dir, s) for s in order}
    rows: Counter = Counter()
    files: list[Path] = []
    removed: list[Path] = []
    for split in SPLITS:
        members = [s for s in order if splits.get(s) == split and manifests[s] and manifests[s].get("status") == "done"]
        for task in sorted(task_formats):
            for fmt in task_formats[task]:
                key = f"{task}/{fmt}"
                n = sum(manifests[s]["parts"].get(key, {}).get("lines", 0) for s in members)
                folder = source_dir / QA_DIR / split / task / fmt
                target = folder / qa_file_name(fmt, n)
                with atomic_open(target, "wb", encoding=None) as out:
                    for scene in members:
                        if key in manifests[scene]["parts"]:
                            with open(scene_parts_dir(source_dir, scene) / part_name(task, fmt), "rb") as part:
                                shutil.copyfileobj(part, out)
                for old in sorted(folder.iterdir()):
                    match = QA_FILE_RE.match(old.name)
                    if match and match["format"] == fmt and old != target:
                        old.unlink()
                        removed.append(old)
                rows[(split, task, fmt)] = n
                files.append(target)
    written = set(files)
    for old in sorted((source_dir / QA_DIR).rglob("*.jsonl")):
        if old not in written and QA_FILE_RE.match(old.name):
            old.unlink()
            removed.append(old)
    for folder in sorted((source_dir / QA_DIR).rglob("*"), key=lambda p: -len(p.parts)):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    n_rejects = 0
    with atomic_open(source_dir / REJECTS, "w") as out:
        for row in extra_rejects:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            n_rejects += 1
        for scene in order:
            manifest = manifests[scene]
            if manifest and manifest.get("status") == "rejected":
                out.write(json.dumps({"file": None, "line": None, "reason": manifest["reason"], "record": {"scene": scene}},
                                     ensure_ascii=False) + "\n")
                n_rejects += 1
            elif manifest:
                with open(scene_parts_dir(source_dir, scene) / REJECTS, "r", encoding="utf-8") as part:
                    for line in part:
                        out.write(line)
                        n_rejects += 1
    return AssembleResult(rows, files, removed, n_rejects)


def write_records(source_dir: Path, split: str, records: Sequence[QARecord]) -> list[Path]:
    """Write already-final records straight into qa_jsonl (no images): for ingest and tests.

    Records are grouped by (task, format) in input order; existing `<format>_<M>.jsonl` siblings are replaced.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for record in records:
        groups.setdefault((record.task, record.format), []).append(record_line(record))
    out = []
    for (task, fmt), lines in sorted(groups.items()):
        folder = Path(source_dir) / QA_DIR / split / task / fmt
        target = folder / qa_file_name(fmt, len(lines))
        with atomic_open(target, "w") as handle:
            handle.writelines(lines)
        for old in folder.iterdir():
            match = QA_FILE_RE.match(old.name)
            if match and match["format"] == fmt and old != target:
                os.unlink(old)
        out.append(target)
    return out

"""What the training exports share: reading train records, `<image>` tags, the format/source mix.

Mixing follows the release's `mix_data` (docs/build.md, the exports): `repeat_time = source_ratio *
format_ratio`; a ratio not given is 1. InternVL applies repeat_time itself when loading (below 1 it
keeps the first fraction of the lines); LLaVA and Qwen loaders have no such knob, so for them the
export materialises the mix with the same rule (`mixed`).
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from PIL import Image

from spar_hf.errors import SparError
from spar_hf.layout.reader import Entry, Problem, SparLayout
from spar_hf.markers import draw_on, placements
from spar_hf.records import FORMATS, MARKER_FIELDS, QARecord
from spar_hf.utils.atomic import atomic_write_bytes, atomic_write_text

EXPORT_SPLIT = "train"
VIDEO_MIN_IMAGES = 11  # more than 10 images, or a nav record, is fed as video (docs/formats.md "Views: single, multi, video")
SPATIALFORGE_SOURCE = "spatialforge"
RELEASE_MIX = "sentence=1,select=0.1,fill=0.1,judge=0.1"


def parse_mix(spec: str | None, sources: list[str]) -> dict[str, float]:
    """`sentence=1,select=0.1,scannet=0.5` -> {key: ratio}; keys are formats or sources."""
    if not spec:
        return {}
    out: dict[str, float] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep:
            raise SparError(f"--mix: {part!r} is not key=ratio")
        if key not in FORMATS and key not in sources:
            raise SparError(f"--mix: {key!r} is neither a format ({', '.join(FORMATS)}) nor a source ({', '.join(sources)})")
        try:
            ratio = float(value)
        except ValueError:
            raise SparError(f"--mix: ratio of {key!r} is not a number: {value!r}") from None
        if not math.isfinite(ratio) or ratio < 0:
            raise SparError(f"--mix: ratio of {key!r} must be a finite number >= 0, got {value!r}")
        out[key] = ratio
    return out


def repeat_time(mix: dict[str, float], source: str, fmt: str) -> float:
    return mix.get(source, 1.0) * mix.get(fmt, 1.0)


def mixed(items: list, repeat: float) -> list:
    """`int(len * repeat)` items: whole copies, then the first fraction (InternVL's convention)."""
    whole = int(math.floor(repeat))
    n = int(len(items) * repeat)
    out = items * whole
    return out + items[: n - len(out)]


def is_video(record: QARecord) -> bool:
    return record.task.startswith("nav") or len(record.images) >= VIDEO_MIN_IMAGES


def tag_question(record: QARecord, tag: str = "<image>") -> str:
    """The first human turn with one `tag` per image; video records name frames `Frame-i:` (1-based).

    A question that already holds exactly one tag per image is kept; a different non-zero count is
    an error (the images would be mismatched).
    """
    n = len(record.images)
    have = record.question.count(tag)
    if have == n:
        return record.question
    if have:
        raise ValueError(f"question holds {have} {tag} tag(s) for {n} image(s)")
    if is_video(record):
        prefix = "".join(f"Frame-{i + 1}: {tag}\n" for i in range(n))
    else:
        prefix = f"{tag}\n" * n
    return prefix + record.question


def marker_fields(record: QARecord) -> dict:
    """The release's marker fields, kept so a loader can draw them at training time."""
    return {k: record.markers[k] for k in MARKER_FIELDS if k in record.markers}


@dataclass
class ExportRecord:
    """One exportable train record with its image sizes."""

    entry: Entry
    sizes: list[tuple[int, int]]  # (width, height) per image

    @property
    def record(self) -> QARecord:
        return self.entry.record


def iter_train(layout: SparLayout, reject: Callable[[str, str | None, int | None, str | None], None],
               sources: list[str] | None = None) -> Iterator[ExportRecord]:
    """Train records whose images are all present (sizes read from the headers); the rest are rejected."""

    def problem(p: Problem) -> None:
        reject(f"unreadable: {p.reason}", p.file, p.line, None)

    for source in sources or layout.sources():
        frames = layout.frames(source)
        for entry in layout.iter_records(source=source, split=EXPORT_SPLIT, problems=problem):
            missing = [p for p in entry.record.images if not (layout.images_root(source) / p).is_file()]
            if not entry.record.images:
                reject("record has no images", str(entry.file), entry.line, entry.record.id)
                continue
            if missing:
                reject(f"missing image(s): {', '.join(missing)}", str(entry.file), entry.line, entry.record.id)
                continue
            try:
                sizes = [frames.size(p) for p in entry.record.images]
            except (SparError, OSError) as exc:
                reject(f"unreadable image: {exc}", str(entry.file), entry.line, entry.record.id)
                continue
            yield ExportRecord(entry, sizes)


def rel(path: Path | str, start: Path) -> str:
    """`path` relative to `start` when inside it (stable output wherever SPAR_DIR lives)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(start.resolve()))
    except ValueError:
        return str(path)


def joined(*parts: str | os.PathLike) -> str:
    """A path as the user would write it (no resolving), forward slashes."""
    return os.path.join(*[str(p) for p in parts]).replace(os.sep, "/")


def drawn_images(item: ExportRecord, images_root: Path, out_dir: Path) -> list[str]:
    """Copies of the record's images under `out_dir/images/`, markers drawn in; paths relative to out_dir.

    For loaders that do not draw markers at training time (LLaVA, Qwen). A marked image is written per
    record (`images/<source>/marked/<id>_<i>.jpg`, JPEG q95 4:4:4); an unmarked one is hard-linked
    (copied across file systems) once to `images/<source>/<layout path>`.
    """

    rec = item.record
    marks = placements(rec.markers, rec.task)
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in rec.id)
    paths = []
    for i, image in enumerate(rec.images):
        src = images_root / image
        mine = [m for m in marks if m.image_index == i]
        if mine:
            rel_path = f"images/{rec.source}/marked/{safe_id}_{i}.jpg"
            with Image.open(src) as img:
                drawn = draw_on(img, mine)
            buf = io.BytesIO()
            drawn.save(buf, format="JPEG", quality=95, subsampling=0)
            atomic_write_bytes(out_dir / rel_path, buf.getvalue())
        else:
            rel_path = f"images/{rec.source}/{image}"
            target = out_dir / rel_path
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(src, target)
                except OSError:
                    shutil.copyfile(src, target)
        paths.append(rel_path)
    return paths


def export_chat(spar_dir: str, out_dir: str, mix_spec: str | None, file_name: str,
                make: Callable[[ExportRecord, list[str]], dict],
                reject: Callable[[str, str | None, int | None, str | None], None],
                progress: Callable[[int], None] = lambda n: None, draw_markers: bool = False) -> dict:
    """Write one JSON list of chat records (LLaVA / Qwen fine-tuning scripts read a list).

    `make(item, images)` builds a record from the image paths to reference: relative to SPAR_DIR
    (`<source>/images/...`, one image folder serves every source), or with `draw_markers` relative to
    `out_dir` (`drawn_images`). The mix is materialised per (source, task, format) group with `mixed`.
    """

    layout = SparLayout(spar_dir)
    mix = parse_mix(mix_spec, layout.sources())
    out = Path(out_dir)
    rows: list[dict] = []
    group: list[dict] = []
    key: tuple[str, str, str] | None = None
    read = 0

    def flush() -> None:
        if key is not None:
            rows.extend(mixed(group, repeat_time(mix, key[0], key[2])))

    for item in iter_train(layout, reject):
        rec = item.record
        try:
            tag_question(rec)  # a tag mismatch rejects the record before any image is written
            if draw_markers:
                images = drawn_images(item, layout.images_root(rec.source), out)
            else:
                images = [f"{rec.source}/images/{p}" for p in rec.images]
            row = make(item, images)
        except ValueError as exc:
            reject(str(exc), str(item.entry.file), item.entry.line, rec.id)
            continue
        this = (rec.source, rec.task, rec.format)
        if this != key:
            flush()
            key, group = this, []
        group.append(row)
        read += 1
        progress(1)
    flush()
    atomic_write_text(out / file_name, json.dumps(rows, ensure_ascii=False) + "\n")
    return {"written": read, "rows_after_mix": len(rows), "file": file_name}

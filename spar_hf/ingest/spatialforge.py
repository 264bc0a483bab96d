"""SpatialForge ingestion: annotation files + image folders -> SPAR layout under `<out>/spatialforge/`.

One input unit is one question/answer turn of a record (most records have one). Each unit either
becomes a line of `qa_jsonl/train/<task>/<format>/<format>_<N>.jsonl` (QARecord.to_json, type =
the bare task name, source = "spatialforge") or a row of `rejects.jsonl` with file, line and reason.
Records are processed in input order and ids count per (task, format), so the same inputs give
byte-identical output. `ingest_summary.json` holds in/out/rejected per task.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable

import orjson

from spar_hf.atomic import TMP_PREFIX, atomic_write_text, sweep_temp_files
from spar_hf.errors import SparError
from spar_hf.export.boxes import find_boxes
from spar_hf.ingest.images import ImageInfo, ImageRoot, ImageStore
from spar_hf.ingest.mapping import Extracted, Mapping
from spar_hf.ingest.readers import RawRecord, detect_format, iter_records
from spar_hf.ingest.tasks import TASKS, infer_format, infer_task, normalise_task
from spar_hf.ingest.validate import Rejected, check_box, check_count
from spar_hf.records import FORMATS, QARecord
from spar_hf.report import RejectLog, Summary

SOURCE = "spatialforge"
SPLIT = "train"
UNKNOWN = "unknown"  # bucket for units rejected before their task is known
WRITE_BUFFER = 1 << 20  # few large writes: syscalls are the expensive part in sandboxes
_IMAGE_TAG = re.compile(r"<image>\n?")
_QA_NAME = re.compile(r"^[a-z]+_\d+\.jsonl$")


@dataclass
class TaskCounts:
    n_in: int = 0
    n_out: int = 0
    n_rejected: int = 0


@dataclass
class IngestResult:
    summary: Summary
    per_task: dict[str, TaskCounts] = field(default_factory=dict)
    files: dict[tuple[str, str], Path] = field(default_factory=dict)


class _QAWriter:
    """Streams QA lines per (task, format) to temp files; `finish` renames them to `<format>_<N>.jsonl`."""

    def __init__(self, qa_root: Path):
        self.qa_root = qa_root
        self.sinks: dict[tuple[str, str], tuple[str, IO[bytes]]] = {}
        self.counts: Counter = Counter()

    def next_index(self, task: str, fmt: str) -> int:
        return self.counts[(task, fmt)]

    def write(self, task: str, fmt: str, line: bytes) -> None:
        key = (task, fmt)
        sink = self.sinks.get(key)
        if sink is None:
            folder = self.qa_root / task / fmt
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{fmt}.", suffix=".jsonl", dir=folder)
            sink = (tmp, os.fdopen(fd, "wb", buffering=WRITE_BUFFER))
            self.sinks[key] = sink
        sink[1].write(line)
        self.counts[key] += 1

    def finish(self) -> dict[tuple[str, str], Path]:
        """Close, fsync and rename every file; remove stale `<format>_<N>.jsonl` from earlier runs."""
        out: dict[tuple[str, str], Path] = {}
        for (task, fmt), (tmp, handle) in sorted(self.sinks.items()):
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            final = self.qa_root / task / fmt / f"{fmt}_{self.counts[(task, fmt)]}.jsonl"
            os.replace(tmp, final)
            out[(task, fmt)] = final
        self.sinks.clear()
        keep = set(out.values())
        for task in TASKS:
            for fmt in FORMATS:
                folder = self.qa_root / task / fmt
                if folder.is_dir():
                    for path in folder.iterdir():
                        if _QA_NAME.match(path.name) and path not in keep:
                            path.unlink()
        return out

    def abort(self) -> None:
        for tmp, handle in self.sinks.values():
            handle.close()
            Path(tmp).unlink(missing_ok=True)
        self.sinks.clear()


class _Ingester:
    """Turns extracted records into QA lines or rejects (one instance per run)."""

    def __init__(self, mapping: Mapping, store: ImageStore, writer: _QAWriter, rejects: RejectLog,
                 per_task: dict[str, TaskCounts]):
        self.mapping = mapping
        self.store = store
        self.writer = writer
        self.rejects = rejects
        self.per_task = per_task
        self.key = mapping.box_key
        self.label_key = mapping.label_key

    def reject(self, task: str, reason: str, raw: RawRecord) -> None:
        counts = self.per_task[task]
        counts.n_in += 1
        counts.n_rejected += 1
        self.rejects.add(reason, file=raw.file, line=raw.line, record=raw.data)

    def record(self, raw: RawRecord) -> None:
        if raw.error is not None:
            self.reject(UNKNOWN, raw.error, raw)
            return
        try:
            ex = self.mapping.extract(raw.data)
        except Rejected as exc:
            self.reject(UNKNOWN, exc.reason, raw)
            return
        images: list[ImageInfo] | Rejected | None = None
        multi = len(ex.turns) > 1
        for turn, (question, answer) in enumerate(ex.turns):
            task = UNKNOWN
            try:
                if "<image>" in question:
                    question = _IMAGE_TAG.sub("", question)
                question = question.strip()
                q_spans = find_boxes(question, self.key, self.label_key)
                a_spans = find_boxes(answer, self.key, self.label_key)
                task = self._task(ex, question, bool(q_spans), bool(a_spans or ex.field_boxes))
                if images is None:
                    try:
                        images = self._images(ex)
                    except Rejected as exc:
                        images = exc
                boxes = self._boxes(task, q_spans, a_spans, ex)
                count = self._count(task, ex, answer, a_spans)
                if isinstance(images, Rejected):
                    raise images
                self._emit(raw, ex, turn if multi else None, task, question, answer, boxes, count, images)
            except Rejected as exc:
                reason = exc.reason + (f" (turn {turn + 1})" if multi else "")
                self.reject(task, reason, raw)

    def _task(self, ex: Extracted, question: str, q_box: bool, a_box: bool) -> str:
        if ex.task_field is not None:
            task = normalise_task(ex.task_value)
            if task is None:
                raise Rejected(f"unknown_task: field {ex.task_field!r} = {str(ex.task_value)[:60]!r} is not one of "
                               f"{', '.join(TASKS)}")
            return task
        task = infer_task(question, q_box, a_box)
        if task is None:
            raise Rejected(f"unknown_task: no task field and no keyword rule matches the question {question[:80]!r}")
        return task

    def _images(self, ex: Extracted) -> list[ImageInfo]:
        if not ex.images and not ex.image_sha256:
            raise Rejected("missing_image: the record names no image")
        if not ex.images:
            return [self.store.get(ex.image_sha256, ex.source, ex.image_sha256)]
        sha = ex.image_sha256 if len(ex.images) == 1 else None
        return [self.store.get(ref, ex.source, sha) for ref in ex.images]

    def _boxes(self, task: str, q_spans, a_spans, ex: Extracted) -> list[tuple[str, tuple, str | None]]:
        boxes = []
        for where, spans in (("question", q_spans), ("answer", a_spans)):
            for i, span in enumerate(spans, 1):
                boxes.append((where, check_box(span.values, where, i), span.label))
        for i, (values, label) in enumerate(ex.field_boxes, 1):
            boxes.append(("field", check_box(values, "field", i), label))
        if task == "grounding" and not any(w != "question" for w, _, _ in boxes):
            raise Rejected("no_boxes: a grounding answer needs at least one box")
        if task == "referring" and not any(w != "answer" for w, _, _ in boxes):
            raise Rejected("no_boxes: a referring question needs at least one box")
        return boxes

    def _count(self, task: str, ex: Extracted, answer: str, a_spans) -> int | None:
        if task != "counting":
            return None
        if ex.count is not None:
            return check_count(ex.count, "count field")
        text = answer
        for span in reversed(a_spans):
            text = text[:span.start] + " " + text[span.end:]
        try:
            return check_count(text, "answer")
        except Rejected as exc:
            if exc.reason.startswith("count_missing") and a_spans:
                return len(a_spans)
            raise

    def _emit(self, raw: RawRecord, ex: Extracted, turn: int | None, task: str, question: str, answer: str,
              boxes: list, count: int | None, images: list[ImageInfo]) -> None:
        fmt = infer_format(task, question, answer)
        first = images[0]
        w, h = first.width, first.height
        meta: dict = {"file": raw.file, "line": raw.line}
        if turn is not None:
            meta["turn"] = turn
        if ex.source_id is not None:
            meta["source_id"] = ex.source_id
        meta["image_source"] = first.root
        meta["image_size"] = [w, h]
        if len(images) > 1:
            meta["image_sizes"] = [[i.width, i.height] for i in images]
        meta["boxes"] = [
            {"in": where, "label": label, "bbox": list(box),
             "bbox_px": [box[0] * w / 1000, box[1] * h / 1000, box[2] * w / 1000, box[3] * h / 1000]}
            for where, box, label in boxes
        ]
        if count is not None:
            meta["count"] = count
            meta["value"] = count
        record = QARecord(
            id=f"sf_{task}_{fmt}_{self.writer.next_index(task, fmt)}",
            task=task, format=fmt, question=question, answer=answer,
            images=[i.layout_path for i in images], source=SOURCE, scene=first.root, meta=meta,
        )
        self.writer.write(task, fmt, orjson.dumps(record.to_json(), option=orjson.OPT_APPEND_NEWLINE))
        counts = self.per_task[task]
        counts.n_in += 1
        counts.n_out += 1


def _missing(path: Path) -> None:
    raise SparError(f"{path}: annotation file not found")


def ingest(annotations: Iterable[str | os.PathLike], roots: list[ImageRoot], out: str | os.PathLike,
           mapping: Mapping | None = None, full_check: bool = False, progress: bool = True) -> IngestResult:
    """Ingest annotation files into `<out>/spatialforge/`; returns the summary and per-task counts."""
    from tqdm import tqdm

    annotations = [Path(p) for p in annotations]
    for path in annotations:
        detect_format(path) if path.is_file() else _missing(path)
    base = Path(out) / SOURCE
    base.mkdir(parents=True, exist_ok=True)
    sweep_temp_files(base)
    mapping = mapping or Mapping()
    summary = Summary("ingest spatialforge")
    per_task = {t: TaskCounts() for t in (*TASKS, UNKNOWN)}
    store = ImageStore(roots, base / "images", full_check=full_check)
    writer = _QAWriter(base / "qa_jsonl" / SPLIT)
    result = IngestResult(summary, per_task)
    try:
        with RejectLog(base / "rejects.jsonl", summary) as rejects:
            ingester = _Ingester(mapping, store, writer, rejects, per_task)
            for path in annotations:
                records = iter_records(path)
                for raw in tqdm(records, desc=Path(path).name, unit="rec", mininterval=0.5,
                                disable=not progress, leave=False):
                    ingester.record(raw)
            result.files = writer.finish()
    except BaseException:
        writer.abort()
        raise
    summary.n_in = sum(c.n_in for c in per_task.values())
    summary.n_out = sum(c.n_out for c in per_task.values())
    summary.extra["per_task"] = "[" + ", ".join(
        f"{t} {c.n_in}={c.n_out}+{c.n_rejected}" for t, c in per_task.items() if c.n_in) + "]"
    summary.extra["images"] = f"linked {store.linked}, copied {store.copied}"
    atomic_write_text(base / "ingest_summary.json", json.dumps({
        "in": summary.n_in, "out": summary.n_out, "rejected": summary.n_rejected,
        "per_task": {t: {"in": c.n_in, "out": c.n_out, "rejected": c.n_rejected} for t, c in per_task.items()},
        "reasons": dict(sorted(summary.reasons.items())),
        "files": {f"{t}/{f}": p.name for (t, f), p in sorted(result.files.items())},
    }, indent=2) + "\n")
    return result

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
from typing import IO, Any, Iterable

import orjson

from spar_hf.errors import SparError
from spar_hf.export.boxes import find_boxes
from spar_hf.ingest.images import ImageInfo, ImageRoot, ImageStore
from spar_hf.ingest.mapping import Extracted, Mapping
from spar_hf.ingest.readers import RawRecord, detect_format, iter_records
from spar_hf.ingest.tasks import TASKS, infer_format, infer_task, normalise_task
from spar_hf.ingest.validate import Rejected, check_box, check_count
from spar_hf.records import FORMATS
from spar_hf.utils.atomic import TMP_PREFIX, atomic_write_text, sweep_temp_files
from spar_hf.utils.jsonvalues import kind, string_problem
from spar_hf.utils.report import RejectLog, Summary

SOURCE = "spatialforge"
SPLIT = "train"
UNKNOWN = "unknown"  # bucket for units rejected before their task is known
WRITE_BUFFER = 1 << 20  # few large writes: syscalls are the expensive part in sandboxes
_IMAGE_TAG = re.compile(r"<image>\n?")
_QA_NAME = re.compile(r"^[a-z]+_\d+\.jsonl$")
_dumps = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE


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


class _Sink:
    """One (task, format) temp file: its lines so far and the id prefix of its records."""

    __slots__ = ("tmp", "handle", "count", "id_prefix")

    def __init__(self, tmp: str, handle: IO[bytes], task: str, fmt: str):
        self.tmp = tmp
        self.handle = handle
        self.count = 0
        self.id_prefix = f"sf_{task}_{fmt}_"


class _QAWriter:
    """Streams QA lines per (task, format) to temp files; `finish` renames them to `<format>_<N>.jsonl`."""

    def __init__(self, qa_root: Path):
        self.qa_root = qa_root
        self.sinks: dict[tuple[str, str], _Sink] = {}

    def sink(self, task: str, fmt: str) -> _Sink:
        """The open file of (task, format), created on first use."""
        sink = self.sinks.get((task, fmt))
        if sink is None:
            folder = self.qa_root / task / fmt
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{fmt}.", suffix=".jsonl", dir=folder)
            sink = _Sink(tmp, os.fdopen(fd, "wb", buffering=WRITE_BUFFER), task, fmt)
            self.sinks[(task, fmt)] = sink
        return sink

    def lines(self, task: str) -> int:
        """Lines written so far for a task, over its formats."""
        return sum(sink.count for (t, _), sink in self.sinks.items() if t == task)

    def finish(self) -> dict[tuple[str, str], Path]:
        """Close, fsync and rename every file; remove stale `<format>_<N>.jsonl` from earlier runs."""
        out: dict[tuple[str, str], Path] = {}
        for (task, fmt), sink in sorted(self.sinks.items()):
            sink.handle.flush()
            os.fsync(sink.handle.fileno())
            sink.handle.close()
            final = self.qa_root / task / fmt / f"{fmt}_{sink.count}.jsonl"
            os.replace(sink.tmp, final)
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
        for sink in self.sinks.values():
            sink.handle.close()
            Path(sink.tmp).unlink(missing_ok=True)
        self.sinks.clear()


class _Ingester:
    """Turns records into QA lines or rejects (one instance per run).

    `record` first tries `_common`, a short path for the usual record (one human/gpt exchange, one
    image path, nothing else mapped) when all its checks pass; every other record, and every unit that
    is rejected, takes the general path, which handles all shapes, turns and reject reasons. Both end
    in `_emit`, which builds the line as the dict `QARecord.to_json` would return, in its key order,
    without an intermediate record object. Accepted units are counted by the writer's line counts.
    """

    def __init__(self, mapping: Mapping, store: ImageStore, writer: _QAWriter, rejects: RejectLog):
        self.mapping = mapping
        self.store = store
        self.writer = writer
        self.sinks = writer.sinks
        self.rejects = rejects
        self.rejected: Counter = Counter()  # per task
        self.key = mapping.box_key
        self.label_key = mapping.label_key

    def reject(self, task: str, reason: str, raw: RawRecord) -> None:
        self.rejected[task] += 1
        self.rejects.add(reason, file=raw.file, line=raw.line, record=raw.data)

    def counts(self) -> dict[str, TaskCounts]:
        """in/out/rejected per task (and the `unknown` bucket), in TASKS order."""
        out = {}
        for task in (*TASKS, UNKNOWN):
            n_out = self.writer.lines(task)
            n_rejected = self.rejected[task]
            out[task] = TaskCounts(n_out + n_rejected, n_out, n_rejected)
        return out

    def record(self, raw: RawRecord) -> None:
        """Every turn of one record becomes a QA line or a reject."""
        if raw.error is not None:
            self.reject(UNKNOWN, raw.error, raw)
            return
        if self._common(raw):
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
                question, q_spans, a_spans = self._scan(question, answer)
                task = self._task(ex, question, bool(q_spans), bool(a_spans or ex.field_boxes))
                if images is None:
                    images = self._images(ex)
                ok = type(images) is list
                boxes = self._boxes(task, q_spans, a_spans, ex.field_boxes, images[0] if ok else None)
                count = self._count(ex.count, answer, a_spans) if task == "counting" else None
                if not ok:
                    raise images
                self._emit(raw, ex.source_id, turn if multi else None, task, question, answer, boxes, count, images)
            except Rejected as exc:
                reason = exc.reason + (f" (turn {turn + 1})" if multi else "")
                self.reject(task, reason, raw)

    def _common(self, raw: RawRecord) -> bool:
        """`record` for the common record (`Mapping.common`: one exchange, one image) when every check
        passes: the same steps without the general bookkeeping. False, having written nothing, for
        anything else, including every unit that is rejected: `record` then does it all (the image this
        looked up is the one it looks up, from the store's cache)."""
        common = self.mapping.common(raw.data)
        if common is None:
            return False
        source_id, ref, source, task_value, task_field, question, answer = common
        question, q_spans, a_spans = self._scan(question, answer)
        if task_field is None:
            task = infer_task(question, bool(q_spans), bool(a_spans))
        else:
            task = normalise_task(task_value)
        if task is None:
            return False
        try:
            image = self.store.get(ref, source, None)
        except Rejected:
            return False  # the general path decides which reason comes first
        try:
            boxes = self._boxes(task, q_spans, a_spans, (), image)
            count = self._count(None, answer, a_spans) if task == "counting" else None
        except Rejected as exc:  # the general path would reach the same check with the same reason
            self.reject(task, exc.reason, raw)
            return True
        self._emit(raw, source_id, None, task, question, answer, boxes, count, [image])
        return True

    def _scan(self, question: str, answer: str) -> tuple[str, list, list]:
        """The question without its `<image>` tags, and the box spans of question and answer."""
        if "<image>" in question:
            if question.startswith("<image>\n") and question.find("<image>", 8) < 0:  # the usual LLaVA prefix
                question = question[8:]
            else:
                question = _IMAGE_TAG.sub("", question)
        question = question.strip()
        key, label_key = self.key, self.label_key
        return (question, find_boxes(question, key, label_key) if "[" in question else [],
                find_boxes(answer, key, label_key) if "[" in answer else [])

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

    def _images(self, ex: Extracted) -> list[ImageInfo] | Rejected:
        """The record's checked images, or the Rejected of the first that fails (raised after the box checks)."""
        get = self.store.get
        refs = ex.images
        try:
            if len(refs) == 1:
                return [get(refs[0], ex.source, ex.image_sha256)]
            if not refs:
                if not ex.image_sha256:
                    raise Rejected("missing_image: the record names no image")
                return [get(ex.image_sha256, ex.source, ex.image_sha256)]
            return [get(ref, ex.source, None) for ref in refs]
        except Rejected as exc:
            return exc

    def _boxes(self, task: str, q_spans: list, a_spans: list, field_boxes: list, image: ImageInfo | None) -> list[dict]:
        """Checks every box (question, answer, field order) -> the `meta.boxes` rows, with pixel
        coordinates in `image` (None when the image failed: the rows are then never written)."""
        w, h = (image.width, image.height) if image is not None else (0, 0)
        rows = []
        for where, spans in (("question", q_spans), ("answer", a_spans)):
            if not spans:
                continue
            for i, span in enumerate(spans, 1):
                values = span.values
                if span.label is not None:
                    _check_label(span.label, where, i)
                # a bare list holds numbers only (find_boxes checks), so the range check is all a valid one needs
                if span.kind == "list" and len(values) == 4 and 0 <= values[0] < values[2] <= 1000 \
                        and 0 <= values[1] < values[3] <= 1000:
                    x1, y1, x2, y2 = values
                else:
                    x1, y1, x2, y2 = check_box(values, where, i)
                rows.append({"in": where, "label": span.label, "bbox": [x1, y1, x2, y2],
                             "bbox_px": [x1 * w / 1000, y1 * h / 1000, x2 * w / 1000, y2 * h / 1000]})
        for i, (values, label) in enumerate(field_boxes, 1):
            if label is not None:
                _check_label(label, "field", i)
            x1, y1, x2, y2 = check_box(values, "field", i)
            rows.append({"in": "field", "label": label, "bbox": [x1, y1, x2, y2],
                         "bbox_px": [x1 * w / 1000, y1 * h / 1000, x2 * w / 1000, y2 * h / 1000]})
        if task == "grounding" and not (a_spans or field_boxes):
            raise Rejected("no_boxes: a grounding answer needs at least one box")
        if task == "referring" and not (q_spans or field_boxes):
            raise Rejected("no_boxes: a referring question needs at least one box")
        return rows

    def _count(self, field_count: Any, answer: str, a_spans: list) -> int:
        if field_count is not None:
            return check_count(field_count, "count field")
        pieces, pos = [], 0  # the answer with each box replaced by a space, built once (linear in the boxes)
        for span in a_spans:
            pieces.append(answer[pos:span.start])
            pos = span.end
        pieces.append(answer[pos:])
        text = " ".join(pieces)
        try:
            return check_count(text, "answer")
        except Rejected as exc:
            if exc.reason.startswith("count_missing") and a_spans:
                return len(a_spans)
            raise

    def _emit(self, raw: RawRecord, source_id: str | None, turn: int | None, task: str, question: str, answer: str,
              boxes: list[dict], count: int | None, images: list[ImageInfo]) -> None:
        fmt = infer_format(task, question, answer)
        first = images[0]
        meta: dict = {"file": raw.file, "line": raw.line}
        if turn is not None:
            meta["turn"] = turn
        if source_id is not None:
            meta["source_id"] = source_id
        meta["image_source"] = first.root
        meta["image_size"] = [first.width, first.height]
        if len(images) == 1:
            paths = [first.layout_path]
        else:
            meta["image_sizes"] = [[i.width, i.height] for i in images]
            paths = [i.layout_path for i in images]
        meta["boxes"] = boxes
        if count is not None:
            meta["count"] = count
            meta["value"] = count
        sink = self.sinks.get((task, fmt)) or self.writer.sink(task, fmt)
        sink.handle.write(_dumps({  # QARecord.to_json's layout (no depths, no markers)
            "id": f"{sink.id_prefix}{sink.count}",
            "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": answer}],
            "image": paths,
            "type": task,
            "meta": meta,
        }, option=_NEWLINE))
        sink.count += 1


def _check_label(label: Any, where: str, index: int) -> None:
    """A box label is a string UTF-8 can encode; a list or a number is refused, not written as "['chair']"."""
    if type(label) is not str:
        raise Rejected(f"bad_value: label of box {index} in the {where} is {kind(label)}, expected a string")
    if problem := string_problem(label):
        raise Rejected(f"bad_value: label of box {index} in the {where}: {problem}")


def _missing(path: Path) -> None:
    raise SparError(f"{path}: annotation file not found")


def ingest(annotations: Iterable[str | os.PathLike], roots: list[ImageRoot], out: str | os.PathLike,
           mapping: Mapping | None = None, full_check: bool = False, progress: bool = True) -> IngestResult:
    """Ingest annotation files into `<out>/spatialforge/`; returns the summary and per-task counts."""
    annotations = [Path(p) for p in annotations]
    for path in annotations:
        detect_format(path) if path.is_file() else _missing(path)
    base = Path(out) / SOURCE
    base.mkdir(parents=True, exist_ok=True)
    sweep_temp_files(base)
    mapping = mapping or Mapping()
    summary = Summary("ingest spatialforge")
    store = ImageStore(roots, base / "images", full_check=full_check)
    writer = _QAWriter(base / "qa_jsonl" / SPLIT)
    result = IngestResult(summary)
    try:
        with RejectLog(base / "rejects.jsonl", summary) as rejects:
            ingester = _Ingester(mapping, store, writer, rejects)
            for path in annotations:
                records = iter_records(path)
                if progress:
                    from tqdm import tqdm  # deferred, tqdm: progress bar only

                    records = tqdm(records, desc=path.name, unit="rec", mininterval=0.5, leave=False)
                record = ingester.record
                for raw in records:
                    record(raw)
            result.per_task = per_task = ingester.counts()
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

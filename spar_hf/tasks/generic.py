"""The generic generator and verifier of every `TaskDef` task. Generation and `verify` both call the
task's `derive`, so the checker re-derives exactly what the generator computed, from the poses it reads back.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np

from spar_hf.layout.paths import keyframe_depth, keyframe_image
from spar_hf.markers import BBOX_ORDER, DEFAULT_BBOX_ORDER, DEFAULT_POINT_ORDER, POINT_ORDER
from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks.primitives import BufferedRng
from spar_hf.tasks.registry import TaskSpec, all_tasks
from spar_hf.tasks.render import choose, render
from spar_hf.tasks.scene_index import SceneIndex, clear_index, scene_index
from spar_hf.tasks.taskdef import FAMILIES, Cam, Candidate, GenConfig, TaskDef


def build_markers(ix: SceneIndex, task: str, view: str, cand: Candidate) -> dict[str, Any]:
    """Marker fields in the release schema: 0..1000, each wrapped in one extra list, *_img_idx for multi view."""
    markers: dict[str, Any] = {}
    where: dict[str, int] = {}
    for colour, kind, role, pos in cand.marks:
        vi, oid = cand.views[pos], cand.objects[role]
        coords = ix.point(vi, oid) if kind == "point" else ix.box(vi, oid)
        markers[f"{colour}_{kind}"] = [coords]
        where[f"{colour}_{kind}"] = pos
    if view == "multi":
        for kind, order_map, default, key in (("point", POINT_ORDER, DEFAULT_POINT_ORDER, "point_img_idx"),
                                               ("bbox", BBOX_ORDER, DEFAULT_BBOX_ORDER, "bbox_img_idx")):
            idx = [where[f"{c}_{kind}"] for c in order_map.get(task, default) if f"{c}_{kind}" in where]
            if idx:
                markers[key] = [idx]
    return markers


def _value_json(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_value_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return value


def generate_task(task: TaskDef, records: SceneRecords, rng: np.random.Generator, config: GenConfig | None) -> list[QARecord]:
    """All formats of one task for one scene; skipped candidates are counted in config.skipped."""
    cfg = config or GenConfig()
    ix = scene_index(records)
    rng = BufferedRng(rng)
    out: list[QARecord] = []
    if not ix.images:
        return out
    for fmt in task.formats:
        seen: set = set()
        made = 0
        for _ in range(cfg.samples_per_format * cfg.attempts_per_sample):
            if made >= cfg.samples_per_format:
                break
            cand = task.sample(ix, rng, cfg)
            if isinstance(cand, str):
                cfg.skipped[f"{task.name}: {cand}"] += 1
                continue
            key = (tuple(cand.views), tuple(cand.objects) if task.object_questions else (), repr(sorted(cand.extra.items())))
            if key in seen:
                cfg.skipped[f"{task.name}: duplicate"] += 1
                continue
            meta: dict[str, Any] = {
                "scene": ix.scene_id,
                "frames": [ix.images[v].frame_index for v in cand.views],
                "objects": [dict(ix.object_meta(o)) for o in cand.objects],
                **cand.extra,
            }
            facts = task.derive(meta, [ix.cams[v] for v in cand.views], cfg)
            reason = facts.skip or ("inconsistent" if facts.errors else None)
            if reason is None:
                q = choose(task, fmt, facts, rng)
                reason = None if q is not None else "no_distractors"
            if reason:
                cfg.skipped[f"{task.name}: {reason}"] += 1
                continue
            seen.add(key)
            question, answer = render(task, fmt, facts, q)
            meta["value"] = _value_json(facts.value)
            meta["q"] = q
            imgs = [ix.images[v] for v in cand.views]
            out.append(QARecord(
                id=f"{ix.scene_id}_{task.name}_{fmt}_{made}",
                task=task.name,
                format=fmt,
                question=question,
                answer=answer,
                images=[keyframe_image(ix.scene_id, im.frame_index) for im in imgs],
                source=ix.source,
                scene=ix.scene_id,
                depths=[keyframe_depth(ix.scene_id, im.frame_index) for im in imgs] if all(im.depth_path for im in imgs) else [],
                markers=build_markers(ix, task.name, task.view, cand),
                meta=meta,
            ))
            made += 1
    return out


def cams_from_lookup(record: QARecord, lookup: Any) -> list[Cam]:
    cams = []
    for path in record.images:
        w, h = lookup.size(path)
        cams.append(Cam(np.asarray(lookup.pose(path), float), np.asarray(lookup.intrinsics(path), float)[:3, :3], int(w), int(h)))
    return cams


def _close(a: Any, b: Any, tol: float) -> bool:
    try:
        return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), atol=tol, rtol=0))
    except (TypeError, ValueError):
        return a == b


def verify_task(task: TaskDef, record: QARecord, lookup: Any, config: GenConfig | None = None) -> list[str]:
    """Re-derive the record from meta and the read-back cameras; report mismatches and doubts."""
    cfg = config or GenConfig()
    meta = record.meta or {}
    if "q" not in meta or "objects" not in meta:
        return ["mismatch: record has no generator meta to re-derive from"]
    cams = cams_from_lookup(record, lookup)  # a missing pose is the caller's error, not a wrong answer
    try:
        facts = task.derive(meta, cams, cfg)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        return [f"mismatch: cannot re-derive from meta ({type(exc).__name__}: {exc})"]
    found = [f"mismatch: {e}" for e in facts.errors]
    if facts.skip:
        found.append(f"mismatch: re-derived candidate would be skipped ({facts.skip})")
    if "value" in meta and not _close(meta["value"], _value_json(facts.value), 1e-3):
        found.append(f"mismatch: stored value {meta['value']} != re-derived {_value_json(facts.value)}")
    try:
        question, answer = render(task, record.format, facts, meta["q"])
    except (KeyError, IndexError, ValueError) as exc:
        return found + [f"mismatch: cannot re-render ({type(exc).__name__}: {exc})"]
    if answer != record.answer:
        found.append(f"mismatch: answer {record.answer!r} != re-derived {answer!r}")
    if question != record.question:
        found.append("mismatch: question differs from the re-derived one (given values or names changed)")
    return found + facts.margins


def make_specs(defs: list[TaskDef], family: str) -> list[TaskSpec]:
    """TaskSpecs for the registry from this module's task definitions."""
    return [TaskSpec(d.name, family, d.view, d.formats, partial(generate_task, d), partial(verify_task, d), d.bench) for d in defs]


def rows_per_second(records: SceneRecords, tasks: list[str] | None = None, repeats: int = 3, seed: int = 0) -> tuple[int, float]:
    """Micro benchmark: (rows per scene, best rows/s) of the image task generators on ready records.

    Times generation only (the scene index is rebuilt each repeat; visibility is not included) in
    process CPU time, so the rate is per core even on a shared machine.
    """

    table = all_tasks()
    names = tasks or sorted(n for n, s in table.items() if s.family in FAMILIES)
    best = 0.0
    rows = 0
    for k in range(repeats):
        clear_index()
        start = time.process_time()
        rows = sum(len(table[n].generate(records, np.random.default_rng(seed + k), GenConfig())) for n in names)
        best = max(best, rows / max(time.process_time() - start, 1e-9))
    return rows, best

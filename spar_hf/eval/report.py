"""Rendering an evaluation as Markdown, JSON or CSV; every format names the protocol."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from spar_hf.eval.aggregate import SUMMARY_KEYS
from spar_hf.tasks.bench import BENCH_TASKS, LEVEL_OF, SHORT_NAMES
from spar_hf.eval.evaluate import EvalResult
from spar_hf.eval.reference import ReferenceRow

FORMATS = ("md", "json", "csv")
MAX_IDS_MD = 50


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _reference_dict(row: ReferenceRow) -> dict[str, Any]:
    return {"name": row.name, "group": row.group, "published": {k: row.published[k] for k in SUMMARY_KEYS},
            "recomputed": row.recomputed, "flags": row.flags}


def as_dict(result: EvalResult, meta: dict[str, Any], reference: list[ReferenceRow] | None = None) -> dict[str, Any]:
    """Plain data for JSON: scores on 0-100 (None = unscored), counts, missing/unknown ids, paper rows."""
    summary = result.summary
    tasks = []
    for task in BENCH_TASKS:
        r = result.tasks[task]
        tasks.append({"task": task, "short": SHORT_NAMES[task], "level": LEVEL_OF[task], "questions": r.questions,
                      "predicted": r.predicted, "missing": r.missing, "null": r.null, "score": _round(summary[task])})
    return {
        "protocol": result.protocol,
        **meta,
        "questions": result.n_questions,
        "summary": {k: _round(summary[k]) for k in SUMMARY_KEYS},
        "tasks": tasks,
        "missing_ids": result.missing_ids,
        "unknown_ids": result.unknown_ids,
        "rejected": result.rejected,
        **({"reference": [_reference_dict(r) for r in reference]} if reference is not None else {}),
    }


def to_json(result: EvalResult, meta: dict[str, Any], reference: list[ReferenceRow] | None = None) -> str:
    return json.dumps(as_dict(result, meta, reference), indent=2, ensure_ascii=False) + "\n"


def _id_list(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:MAX_IDS_MD])
    return shown + (f", ... ({len(ids) - MAX_IDS_MD} more; all in --format json)" if len(ids) > MAX_IDS_MD else "")


def _reference_markdown(summary: dict[str, float | None], reference: list[ReferenceRow]) -> list[str]:
    table = reference[0].table if reference else ""
    lines = ["", f"## Paper reference rows (SPAR-Bench {table}; published, recomputed from the row's own task columns)", "",
             "| model | Avg | Low | Medium | High | flags |", "|---|---:|---:|---:|---:|---|",
             "| **this run** | " + " | ".join(_pct(summary[k]) for k in SUMMARY_KEYS) + " | |"]
    for row in reference:
        cells = []
        for key in SUMMARY_KEYS:
            pub, rec = row.published[key], row.recomputed[key]
            flagged = any(f["column"] == key for f in row.flags)
            cells.append(f"{_pct(pub)} ({_pct(rec)})" if flagged or (pub is None and rec is not None) else _pct(pub))
        flags = "; ".join(f"{f['column']} {f['reason']}" for f in row.flags)
        lines.append(f"| {row.name} | " + " | ".join(cells) + f" | {flags} |")
    return lines


def to_markdown(result: EvalResult, meta: dict[str, Any], reference: list[ReferenceRow] | None = None) -> str:
    data = as_dict(result, meta)
    lines = [f"# SPAR-Bench evaluation (protocol: {result.protocol})", ""]
    lines += [f"- {key}: {value}" for key, value in meta.items()]
    lines += [f"- questions: {data['questions']}", "", "| Avg | Low | Medium | High |", "|---:|---:|---:|---:|",
              "| " + " | ".join(_pct(data["summary"][k]) for k in SUMMARY_KEYS) + " |", "",
              "| task | short | level | questions | predicted | missing | null | score |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in data["tasks"]:
        lines.append(f"| {row['task']} | {row['short']} | {row['level']} | {row['questions']} | {row['predicted']} "
                     f"| {row['missing']} | {row['null']} | {_pct(row['score'])} |")
    lines.append("")
    lines.append(f"Missing ids ({len(result.missing_ids)}, scored 0): {_id_list(result.missing_ids) or 'none'}")
    lines.append(f"Unknown ids ({len(result.unknown_ids)}, ignored): {_id_list(result.unknown_ids) or 'none'}")
    if result.rejected:
        shown = ", ".join(f"{r['id']} ({r['reason']}: {r['task']})" for r in result.rejected[:MAX_IDS_MD])
        lines.append(f"Rejected dataset rows ({len(result.rejected)}): {shown}")
    lines.append("")
    lines.append("Scores are 0-100; '-' = unscored (no questions, or every prediction null). "
                 "Medium includes ViewChgI; Avg is the mean of the 20 tasks.")
    if reference is not None:
        lines += _reference_markdown(data["summary"], reference)
        lines.append("")
        lines.append("Reference cells read `published (recomputed)` where the two differ beyond rounding or the paper prints none.")
    return "\n".join(lines) + "\n"


CSV_FIELDS = ("protocol", "key", "short", "level", "questions", "predicted", "missing", "null", "score", "ids")


def to_csv(result: EvalResult, meta: dict[str, Any], reference: list[ReferenceRow] | None = None) -> str:
    data = as_dict(result, meta)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for key in SUMMARY_KEYS:
        writer.writerow({"protocol": result.protocol, "key": key, "level": key if key != "Avg" else "",
                         "questions": data["questions"], "score": _pct(data["summary"][key])})
    for row in data["tasks"]:
        writer.writerow({"protocol": result.protocol, "key": row["task"], "short": row["short"], "level": row["level"],
                         "questions": row["questions"], "predicted": row["predicted"], "missing": row["missing"],
                         "null": row["null"], "score": _pct(row["score"])})
    writer.writerow({"protocol": result.protocol, "key": "missing_ids", "ids": " ".join(map(str, result.missing_ids))})
    writer.writerow({"protocol": result.protocol, "key": "unknown_ids", "ids": " ".join(map(str, result.unknown_ids))})
    for row in reference or []:
        for key in SUMMARY_KEYS:
            writer.writerow({"protocol": f"paper-{row.table}", "key": row.name, "level": key,
                             "score": _pct(row.published[key])})
    return buffer.getvalue()


def render(result: EvalResult, fmt: str, meta: dict[str, Any], reference: list[ReferenceRow] | None = None) -> str:
    """The report in `fmt` ("md", "json" or "csv"), with the paper's rows appended when given."""
    if fmt == "md":
        return to_markdown(result, meta, reference)
    if fmt == "json":
        return to_json(result, meta, reference)
    if fmt == "csv":
        return to_csv(result, meta, reference)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")

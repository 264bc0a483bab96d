"""The Evaluate tab's work: check an uploaded predictions file, score it as `spar-hf eval` does,
and lay the result out as tables, chart data and report files.

Scoring is the eval package's own path (`read_columns` -> `evaluate` -> `render`), so the Space
and the command line give the same numbers for the same file. Uploads of at most MAX_UPLOAD_BYTES
go through the command line's parser (`spar_hf.eval.predictions.parse_predictions`: one verdict for one
file), and each bad line is reported with its number and reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from spar_hf.errors import SparError
from spar_hf.eval.aggregate import SUMMARY_KEYS
from spar_hf.eval.bench_data import read_columns
from spar_hf.eval.evaluate import EvalResult, evaluate
from spar_hf.eval.predictions import BadPredictions, Predictions, parse_predictions
from spar_hf.eval.reference import ReferenceRow, load_reference
from spar_hf.eval.report import as_dict, render
from spar_hf.utils.atomic import atomic_write_text

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 50
OURS = "your predictions"


def check_upload(path: str | os.PathLike, display_name: str | None = None) -> Predictions:
    """Parse an uploaded predictions JSONL with the CLI's parser; SparError with one line per problem."""
    path = Path(path)
    name = display_name or path.name
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise SparError(f"{name}: {size:,} bytes is over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB limit")
    try:
        return parse_predictions(path.read_bytes(), name)
    except BadPredictions as exc:
        if not exc.problems:
            raise
        shown = exc.problems[:MAX_PROBLEMS_SHOWN]
        more = [f"... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more"] if len(exc.problems) > MAX_PROBLEMS_SHOWN else []
        raise SparError(f"{name}: {len(exc.problems)} bad line(s); the file was not scored:\n"
                        + "\n".join(shown + more)) from None


def bench_rows(dataset: str, config: str) -> dict[str, list[Any]]:
    """The scoring columns of a bench config, read exactly as `spar-hf eval` reads them."""
    return read_columns(dataset, config, ["id", "task", "question", "answer"])


def score(rows: dict[str, list[Any]], predictions: Predictions, protocol: str) -> EvalResult:
    return evaluate(rows, predictions.by_id, protocol)


def reference_rows(table: str, names: list[str]) -> list[ReferenceRow]:
    """The chosen rows of the paper's table ("full" = Table 4, "tiny" = Table 11), in the table's order."""
    wanted = set(names)
    return [row for row in load_reference(table) if row.name in wanted]


def reference_table_for(config: str) -> str:
    return "tiny" if "tiny" in config else "full"


def summary_rows(result: EvalResult, reference: list[ReferenceRow]) -> list[list[Any]]:
    """[name, Avg, Low, Medium, High, note] for the predictions, then each reference row.

    Paper rows show their summaries recomputed from their own task cells, the rule applied to the
    predictions (Medium with ViewChgI); where the paper printed something else the note says so.
    """
    summary = result.summary
    rows = [[OURS, *(_cell(summary[k]) for k in SUMMARY_KEYS), ""]]
    for row in reference:
        note = "; ".join(f"published {f['column']} {f['published']:.2f}: {f['reason']}" for f in row.flags)
        rows.append([row.name, *(_cell(row.recomputed[k]) for k in SUMMARY_KEYS), note])
    return rows


def task_rows(result: EvalResult, meta: dict[str, Any]) -> list[list[Any]]:
    """Per task: task, short name, level, questions, predicted, missing, null, score (0-100, None = unscored)."""
    return [[t["task"], t["short"], t["level"], t["questions"], t["predicted"], t["missing"], t["null"], _cell(t["score"])]
            for t in as_dict(result, meta)["tasks"]]


def chart_rows(result: EvalResult, reference: list[ReferenceRow]) -> list[dict[str, Any]]:
    """Long-form bars: one per (summary, model); unscored summaries are left out."""
    out = []
    series = [(OURS, result.summary)] + [(row.name, row.recomputed) for row in reference]
    for key in SUMMARY_KEYS:
        for name, values in series:
            if values.get(key) is not None:
                out.append({"bar": f"{key} | {name}", "summary": key, "model": name, "score": round(float(values[key]), 2)})
    return out


def write_reports(result: EvalResult, meta: dict[str, Any], reference: list[ReferenceRow], out_dir: Path) -> tuple[Path, Path]:
    """report.json and report.csv (the CLI's renderers, reference rows appended) in `out_dir`."""

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = (out_dir / "report.json", out_dir / "report.csv")
    for path, fmt in zip(paths, ("json", "csv")):
        atomic_write_text(path, render(result, fmt, meta, reference or None))
    return paths


def _cell(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)

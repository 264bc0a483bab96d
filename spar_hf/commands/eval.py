"""`spar-hf eval`: score a predictions JSONL against a SPAR-Bench dataset under one protocol."""

from __future__ import annotations

import argparse
import json
import sys

from spar_hf.utils.atomic import atomic_open, atomic_write_text
from spar_hf.utils.report import Summary

PROTOCOL_CHOICES = ("lmms-eval", "vlmevalkit", "strict")
FORMAT_CHOICES = ("md", "json", "csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score predictions on SPAR-Bench (per task, Low/Medium/High/Avg)",
        description="Score a predictions JSONL ({\"id\", \"prediction\"} per line) against a SPAR-Bench dataset.",
    )
    parser.add_argument("--dataset", required=True, help="HF dataset folder (or hub id) with the bench configs")
    parser.add_argument("--config", default="bench", help="config name, e.g. bench or bench-tiny (default: bench)")
    parser.add_argument("--predictions", required=True, help="JSONL file: {\"id\": int, \"prediction\": str} per line")
    parser.add_argument("--protocol", choices=PROTOCOL_CHOICES, default="lmms-eval",
                        help="scoring rules (default: lmms-eval, the published behaviour)")
    parser.add_argument("--format", choices=FORMAT_CHOICES, default="md", help="report format (default: md)")
    parser.add_argument("--out", help="write the report here (default: standard output)")
    parser.add_argument("--details", help="also write per-question scores as JSONL here")
    parser.add_argument("--compare", choices=("full", "tiny"),
                        help="append the paper's Table 4 rows (full) or Table 11 rows (tiny) with their checks")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.eval.bench_data import read_columns
    from spar_hf.eval.evaluate import evaluate
    from spar_hf.eval.predictions import read_predictions
    from spar_hf.eval.reference import load_reference
    from spar_hf.eval.report import render

    predictions = read_predictions(args.predictions)
    rows = read_columns(args.dataset, args.config, ["id", "task", "question", "answer"])
    n = len(rows["id"])
    progress = tqdm(range(n), desc=f"scoring ({args.protocol})", unit="q", disable=None, file=sys.stderr)
    result = evaluate(rows, predictions.by_id, args.protocol, progress=progress)
    meta = {"dataset": str(args.dataset), "config": args.config, "predictions": str(args.predictions)}
    reference = load_reference(args.compare) if args.compare else None
    text = render(result, args.format, meta, reference)
    if args.details:
        with atomic_open(args.details, "w") as handle:
            for row in result.details:
                handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")

    summary = Summary("eval")
    summary.n_in = predictions.lines
    summary.n_out = len(predictions.by_id) - len(result.unknown_ids)
    for _ in result.unknown_ids:
        summary.n_rejected += 1
        summary.reasons["unknown id"] += 1
    avg = result.summary["Avg"]
    summary.extra.update({
        "protocol": args.protocol,
        "questions": result.n_questions,
        "missing": len(result.missing_ids),
        "rejected_rows": len(result.rejected),
        "Avg": "-" if avg is None else f"{avg:.2f}",
    })
    if args.out:
        atomic_write_text(args.out, text)
        print(summary.line())
    else:
        sys.stdout.write(text)
        print(summary.line(), file=sys.stderr)
    return 0

"""`spar-hf baseline random|frequency`: chance-level predictions for a SPAR-Bench dataset."""

from __future__ import annotations

import argparse
import json

from spar_hf.utils.atomic import atomic_open
from spar_hf.utils.report import Summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "baseline",
        help="write chance-level predictions (random option letter, or most frequent answer per task)",
        description="Write a predictions JSONL for a chance-level baseline; score it with `spar-hf eval`.",
    )
    parser.add_argument("kind", choices=("random", "frequency"))
    parser.add_argument("--dataset", required=True, help="HF dataset folder (or hub id) with the bench configs")
    parser.add_argument("--config", default="bench", help="config name (default: bench)")
    parser.add_argument("--out", required=True, help="predictions JSONL to write")
    parser.add_argument("--seed", type=int, default=0, help="seed for the random baseline (default: 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.eval.baselines import baseline_predictions
    from spar_hf.eval.bench_data import read_columns

    rows = read_columns(args.dataset, args.config, ["id", "task", "question", "answer"])
    predictions = baseline_predictions(args.kind, rows, args.seed)
    summary = Summary("baseline")
    summary.n_in = len(rows["id"])
    written: set[int] = set()
    with atomic_open(args.out, "w") as handle:
        for ident, task in tqdm(list(zip(rows["id"], rows["task"])), desc=f"baseline {args.kind}", unit="q", disable=None):
            if int(ident) not in predictions:
                summary.n_rejected += 1
                summary.reasons[f"unknown task {task}"] += 1
                continue
            if int(ident) in written:
                summary.n_rejected += 1
                summary.reasons["duplicate id"] += 1
                continue
            written.add(int(ident))
            handle.write(json.dumps({"id": int(ident), "prediction": predictions[int(ident)]}, ensure_ascii=False) + "\n")
            summary.n_out += 1
    summary.extra["unscored"] = sum(p is None for p in predictions.values())
    print(summary.line())
    return 0

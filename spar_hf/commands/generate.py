"""`spar-hf generate`: scenes of one source -> SPAR-7M layout (qa_jsonl + images) under SPAR_DIR/<source>/."""

from __future__ import annotations

import argparse
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.scene.sources import source_names
from spar_hf.utils.outdir import output_folder
from spar_hf.utils.report import Summary

SOURCES = tuple(source_names())


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("generate", help="generate SPAR-7M QA from 3D-annotated scenes",
                                   description=__doc__)
    parser.add_argument("--source", required=True, choices=SOURCES, help="scene source format")
    parser.add_argument("--scenes", required=True, help="folder holding one sub-folder per scene")
    parser.add_argument("--out", required=True, help="SPAR_DIR; output goes to SPAR_DIR/<source>/")
    parser.add_argument("--tasks", default=None, help="comma-separated task names (default: all registered)")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="parallel scene workers (default 1)")
    parser.add_argument("--engine", default="local", choices=("local", "ray"), help="execution engine (default local)")
    parser.add_argument("--ray-address", default=None,
                        help="with --engine ray: HOST:6379 of a running cluster (default: start a local Ray with --workers CPUs)")
    parser.add_argument("--resume", action="store_true", help="reuse scenes whose manifest is present and consistent")
    parser.add_argument("--val-fraction", type=float, default=None,
                        help="fraction of scenes in val (default 0.1; at least one val scene when there are >= 2)")
    parser.add_argument("--report", default=None, help="also write the run's counts (rows, skips per task) as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spar_hf.generate.pipeline import run_generate

    if args.workers < 1:
        raise SparError(f"--workers must be at least 1, got {args.workers}")
    if args.ray_address and args.engine != "ray":
        raise SparError("--ray-address needs --engine ray")
    engine_options = {"address": args.ray_address} if args.ray_address else None
    with output_folder(Path(args.out) / args.source, "generate"):  # other sources may be generated beside it
        report = run_generate(args.source, args.scenes, args.out, tasks=args.tasks, seed=args.seed,
                              workers=args.workers, engine=args.engine, resume=args.resume,
                              val_fraction=args.val_fraction, engine_options=engine_options)
    _print_tables(report)
    if args.report:
        import json

        from spar_hf.utils.atomic import atomic_write_text

        atomic_write_text(args.report, json.dumps(report.as_dict(), indent=1, sort_keys=True) + "\n")
    summary = Summary("generate", n_in=report.scenes, n_out=report.done, n_rejected=report.rejected + report.crashed)
    summary.reasons.update({k: v for k, v in report.reject_reasons.items() if k in ("bad scene", "crash")})
    summary.extra.update({"rows": report.records, "resumed": report.resumed,
                          "val_scenes": sum(1 for s in report.splits.values() if s == "val"),
                          "records_rejected": report.record_rejects, "out": f"{args.out}/{args.source}"})
    print(summary.line())
    return 1 if report.crashed else 0


def _print_tables(report) -> None:
    by_task: dict[tuple[str, str], dict[str, int]] = {}
    for (split, task, fmt), n in sorted(report.rows.items()):
        by_task.setdefault((task, fmt), {}).setdefault(split, 0)
        by_task[(task, fmt)][split] += n
    if by_task:
        width = max(len(f"{t}/{f}") for t, f in by_task)
        print(f"{'task/format':<{width}}  {'train':>8}  {'val':>8}")
        for (task, fmt), counts in by_task.items():
            print(f"{task + '/' + fmt:<{width}}  {counts.get('train', 0):>8}  {counts.get('val', 0):>8}")
    print(f"frames: {report.frames} read, {report.keyframes} keyframes kept")
    by_reason: dict[str, int] = {}
    for key, n in report.skips.items():
        reason = key.split(": ", 1)[-1]
        by_reason[reason] = by_reason.get(reason, 0) + n
    for title, counter in (("frames skipped (reader, visibility)", report.frames_skipped),
                           ("candidates skipped by generators", by_reason),
                           ("records/scenes rejected", report.reject_reasons)):
        if counter:
            items = ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
            print(f"{title}: {items}")

"""`spar-hf export`: train records of a SPAR-7M layout as fine-tuning data (internvl, llava, qwen), or a
SPAR-Bench config for another evaluation harness (lmms-eval task folder, VLMEvalKit TSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.utils.outdir import output_folder
from spar_hf.utils.report import RejectLog, Summary

TRAIN_TARGETS = ("internvl", "llava", "qwen")
BENCH_TARGETS = ("lmms-eval", "vlmevalkit")
TARGETS = TRAIN_TARGETS + BENCH_TARGETS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export the train split for InternVL, LLaVA or Qwen-VL fine-tuning, or a bench for lmms-eval / VLMEvalKit",
        description="internvl|llava|qwen --from SPAR_DIR: records whose images are missing or whose <image> tags do "
        "not match go to DIR/rejects_<target>.jsonl with the reason. lmms-eval|vlmevalkit --dataset HF_DIR "
        "[--config bench]: a task folder lmms-eval runs with --include_path DIR, or the TSV VLMEvalKit's "
        "SparBench class reads (docs/eval.md).",
    )
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--from", dest="spar_dir", help="internvl/llava/qwen: SPAR_DIR (ours or the official download)")
    parser.add_argument("--dataset", help="lmms-eval/vlmevalkit: HF dataset folder (or hub id) with the bench configs")
    parser.add_argument("--config", default="bench", help="lmms-eval/vlmevalkit: bench config (default: bench)")
    parser.add_argument("--name", help="lmms-eval: task name (default spar_hf_<config>); vlmevalkit: dataset name "
                        "(default SparBench_local, SparBench_tiny_local for bench-tiny)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--mix", default=None,
                        help="ratios per format and/or source, e.g. sentence=1,select=0.1,fill=0.1,judge=0.1 "
                        "(repeat_time = source ratio x format ratio; missing = 1)")
    parser.add_argument("--box-style", default="qwen3", choices=("qwen3", "qwen25"),
                        help="qwen only: SpatialForge boxes in 0..1000 (qwen3) or resized-input pixels (qwen25)")
    parser.add_argument("--draw-markers", action="store_true",
                        help="llava/qwen only: write the images into OUT/images with the markers drawn (their loaders "
                        "do not draw them) and reference those; InternVL's SPAR loader draws at training time")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.target in BENCH_TARGETS:
        if not args.dataset or args.spar_dir:
            raise SparError(f"export {args.target} reads a bench: pass --dataset HF_DIR (not --from)")
        return run_bench(args)
    if not args.spar_dir or args.dataset:
        raise SparError(f"export {args.target} reads a SPAR layout: pass --from SPAR_DIR (not --dataset)")
    return run_train(args)


def run_bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    summary = Summary(f"export {args.target}")
    out = Path(args.out)
    with RejectLog(out / f"rejects_{args.target}.jsonl", summary) as log, tqdm(desc=f"export {args.target}", unit="q") as bar:
        if args.target == "lmms-eval":
            from spar_hf.export.lmms_eval import default_task_name, export_lmms_eval

            stats = export_lmms_eval(args.dataset, args.config, out, args.name or default_task_name(args.config), log, bar.update)
            summary.extra.update({"task": stats["task"], "yaml": stats["yaml"]})
        else:
            from spar_hf.export.vlmevalkit import default_name, export_vlmevalkit

            stats = export_vlmevalkit(args.dataset, args.config, out, args.name or default_name(args.config), log, bar.update)
            summary.extra.update({"name": stats["name"], "tsv": stats["tsv"]})
    summary.n_out = stats["written"]
    summary.n_in = summary.n_out + summary.n_rejected
    print(summary.line())
    return 0


def run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.export.common import rel

    summary = Summary(f"export {args.target}")
    root = Path(args.spar_dir)
    with output_folder(args.out, "export") as out, RejectLog(out / f"rejects_{args.target}.jsonl", summary) as log, tqdm(desc=f"export {args.target}", unit=" rec") as bar:
        def reject(reason, file, line, record_id):
            log.add(reason, file=rel(file, root) if file else None, line=line,
                    record={"id": record_id} if record_id is not None else None)

        if args.target == "internvl":
            if args.draw_markers:
                raise SparError("--draw-markers is for llava and qwen; InternVL's SPAR loader draws markers itself")
            from spar_hf.export.internvl import export_internvl

            stats = export_internvl(args.spar_dir, args.out, args.mix, reject, bar.update)
            summary.extra["index"] = ",".join(stats["indexes"]) or "none"
            summary.extra["after_mix"] = stats["mixed_total"]
        elif args.target == "llava":
            from spar_hf.export.llava import export_llava

            stats = export_llava(args.spar_dir, args.out, args.mix, reject, bar.update, draw_markers=args.draw_markers)
        else:
            from spar_hf.export.qwen import export_qwen

            stats = export_qwen(args.spar_dir, args.out, args.mix, reject, bar.update, box_style=args.box_style,
                                draw_markers=args.draw_markers)
        if "file" in stats:
            summary.extra["file"] = stats["file"]
            summary.extra["after_mix"] = stats["rows_after_mix"]
    summary.n_out = stats["written"]
    summary.n_in = summary.n_out + summary.n_rejected
    print(summary.line())
    return 0

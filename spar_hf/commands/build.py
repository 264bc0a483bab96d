"""`spar-hf build`: SPAR-7M layout -> Hugging Face folder (packs per config family and split + dataset card)."""

from __future__ import annotations

import argparse
import os

from spar_hf.errors import SparError
from spar_hf.utils.outdir import check_folder, output_folder
from spar_hf.utils.report import Summary

ALL_CONFIGS = "7m,7m-rgbd,bench,bench-tiny,bench-rgbd,spatialforge"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build the HF dataset (configs 7m, 7m-rgbd, bench, bench-tiny, bench-rgbd, spatialforge)",
        description="Write packs (zips holding each image once plus per-config metadata Parquet, read by datasets' "
        "imagefolder) and HF_DIR/README.md from a SPAR-7M layout; records that cannot become rows go to "
        "HF_DIR/rejects/<config>.jsonl with the reason.",
    )
    parser.add_argument("--from", dest="spar_dir", required=True, help="SPAR_DIR (ours or the official download)")
    parser.add_argument("--out", required=True, help="HF_DIR to write")
    parser.add_argument("--configs", default=None,
                        help=f"comma-separated configs (default: {ALL_CONFIGS}; spatialforge only if SPAR_DIR has it)")
    parser.add_argument("--max-shard-size", default="500MB",
                        help="bytes of images per pack (whole scenes: a scene bigger than this is one pack)")
    parser.add_argument("--workers", type=int, default=1, help="packs built in parallel (processes, or Ray CPUs)")
    parser.add_argument("--resume", action="store_true", help="skip configs already built from the same input")
    parser.add_argument("--license", default="cc-by-nc-4.0", help="licence id written into the card")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local: packs in this process or --workers processes; ray: one Ray task per pack")
    parser.add_argument("--ray-address", default=None,
                        help="with --engine ray: HOST:6379 of a running cluster (default: start a local Ray)")
    parser.set_defaults(func=run)


def resolve_configs(spec: str | None, spar_dir: str) -> list[str]:
    """Requested configs in canonical order; spatialforge is implied only when the layout holds it."""
    from spar_hf.builders.spar import CONFIG_NAMES, SPATIALFORGE_SOURCE
    from spar_hf.layout.reader import SparLayout

    sources = SparLayout(spar_dir).sources()
    if spec is None:
        names = [n for n in CONFIG_NAMES if n != "spatialforge" or SPATIALFORGE_SOURCE in sources]
        if not any(s != SPATIALFORGE_SOURCE for s in sources):
            names = [n for n in names if n == "spatialforge"]
    else:
        names = [n.strip() for n in spec.split(",") if n.strip()]
        unknown = [n for n in names if n not in CONFIG_NAMES]
        if unknown:
            raise SparError(f"unknown config(s) {', '.join(unknown)}; choose from {', '.join(CONFIG_NAMES)}")
    if not names:
        raise SparError(f"{spar_dir}: no SPAR sources (qa_jsonl/ or images/) found")
    if "spatialforge" in names and SPATIALFORGE_SOURCE not in sources:
        raise SparError(f"{spar_dir}: config spatialforge needs {spar_dir}/{SPATIALFORGE_SOURCE}/ (run `spar-hf ingest`)")
    if any(n != "spatialforge" for n in names) and not any(s != SPATIALFORGE_SOURCE for s in sources):
        raise SparError(f"{spar_dir}: no SPAR source folder with qa_jsonl/ found")
    return [n for n in CONFIG_NAMES if n in names]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.builders.run import build

    check_folder(args.out)
    names = resolve_configs(args.configs, args.spar_dir)
    if args.workers < 1:
        raise SparError("--workers must be at least 1")
    if args.ray_address and args.engine != "ray":
        raise SparError("--ray-address needs --engine ray")
    summary = Summary("build")
    lines = []
    layout_bytes = tree_bytes(args.spar_dir)

    def on_config(res) -> None:
        counts = res.counts
        summary.n_in += counts.get("in", 0)
        summary.n_out += counts.get("out", 0)
        summary.n_rejected += counts.get("rejected", 0)
        summary.reasons.update(res.reasons)
        if counts.get("not_drawn"):
            summary.extra["not_drawn"] = summary.extra.get("not_drawn", 0) + counts["not_drawn"]
        splits = " ".join(f"{s}={n}" for s, n in res.splits.items()) or "no rows, left out of the card"
        size = ""
        if res.packs:
            size = f" packs={len(res.packs)} bytes={res.pack_bytes}"
            if layout_bytes:
                size += f" ({res.pack_bytes / layout_bytes:.2f}x the layout)"
        lines.append(f"  {res.name}: {splits} (in={counts.get('in', 0)} rejected={counts.get('rejected', 0)}){size}"
                     + (" [resumed]" if res.resumed else ""))

    with output_folder(args.out, "build"):
        bar = tqdm(desc="packs", unit="pack")
        result = build(args.spar_dir, args.out, names, max_shard_size=args.max_shard_size, resume=args.resume,
                       license=args.license, on_config=on_config, workers=args.workers, engine=args.engine,
                       address=args.ray_address, on_pack=lambda: bar.update(1))
        bar.close()
    for line in lines:
        print(line)
    missing = sum(n for reason, n in summary.reasons.items() if reason.startswith("missing"))
    if missing:
        print(f"  {missing} row(s) name files not on disk (the official download ships QA only: rebuild images/ "
              f"from the source datasets); each is listed in {args.out}/rejects/<config>.jsonl")
    summary.extra["configs"] = ",".join(result.configs)
    summary.extra["out_dir"] = args.out
    qa = [c for c in ("7m-rgbd", "7m") if c in result.configs and result.configs[c].packs]
    if qa and layout_bytes:
        summary.extra["layout_ratio"] = f"{result.configs[qa[0]].pack_bytes / layout_bytes:.2f}"
    print(summary.line())
    return 0


def tree_bytes(root: str) -> int:
    """Bytes of every file under `root` (what `du --apparent-size` counts)."""

    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total

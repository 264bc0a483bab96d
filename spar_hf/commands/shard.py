"""`spar-hf shard`: one config/split of an HF build -> WebDataset tar shards + index JSON."""

from __future__ import annotations

import argparse
import json
import os

from spar_hf.errors import SparError
from spar_hf.utils.outdir import check_folder, output_folder
from spar_hf.utils.report import Summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "shard",
        help="write WebDataset tar shards (samples of QA rows sharing images, each image once) from an HF build",
        description="Copy one config/split of HF_DIR into SHARD_DIR/spar-<config>-<split>-NNNNNN.tar, "
        "with spar-<config>-<split>.index.json (written last) and .rejects.jsonl. A sample is a chunk of one "
        "scene's QA rows holding each of their images once.",
    )
    parser.add_argument("--dataset", required=True, help="HF_DIR written by `spar-hf build`")
    parser.add_argument("--config", required=True, help="config name, e.g. 7m, 7m-rgbd, bench")
    parser.add_argument("--split", required=True, help="split name, e.g. train, validation, test")
    parser.add_argument("--out", required=True, help="SHARD_DIR to write")
    parser.add_argument("--max-size", default="1GB", help="maximum bytes per shard file (default 1GB; 1GiB, 500MB, ...)")
    parser.add_argument("--max-count", type=int, default=100_000, help="maximum QA rows per shard (default 100000)")
    parser.add_argument("--chunk-frames", type=int, default=32,
                        help="maximum distinct images per sample (the loader decodes them together; default 32)")
    parser.add_argument("--chunk-rows", type=int, default=1024, help="maximum QA rows per sample (default 1024)")
    parser.add_argument("--workers", type=int, default=1, help="files planned and shards written in parallel")
    parser.add_argument("--bake-markers", action="store_true",
                        help="draw the markers into the images (re-encodes those images as JPEG q95)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run with the same parameters")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local: this process or --workers processes; ray: files planned and shards written "
                        "as Ray tasks; same bytes (default local)")
    parser.add_argument("--ray-address", default=None,
                        help="with --engine ray: HOST:6379 of a running cluster (default: start a local Ray)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.commands.build import tree_bytes
    from spar_hf.shards.writer import count_input_rows, write_shards
    from spar_hf.utils.sizes import parse_size

    check_folder(args.out)
    max_size = parse_size(args.max_size, "--max-size")
    if args.ray_address and args.engine != "ray":
        raise SparError("--ray-address needs --engine ray")
    if args.workers < 1:
        raise SparError("--workers must be at least 1")
    with output_folder(args.out, "shard"):
        total = count_input_rows(args.dataset, args.config, args.split)
        with tqdm(total=total, unit="row", desc=f"shard {args.config}/{args.split}") as bar:
            result = write_shards(args.dataset, args.config, args.split, args.out, max_size=max_size,
                                  max_count=args.max_count, bake_markers=args.bake_markers, resume=args.resume,
                                  max_frames=args.chunk_frames, max_rows=args.chunk_rows, workers=args.workers,
                                  engine=args.engine, address=args.ray_address, on_rows=bar.update)
    index = result.index
    summary = Summary("shard", n_in=result.n_in, n_out=index.rows, n_rejected=index.rejected)
    summary.reasons.update(result.reasons)
    shard_bytes = sum(s.bytes for s in index.shards)
    summary.extra.update(samples=index.samples, shards=len(index.shards), bytes=shard_bytes,
                         resumed_shards=result.resumed_shards, pattern=index.pattern or "-", out_dir=args.out)
    layout = _layout_of(args.dataset)
    if layout and args.config in ("7m", "7m-rgbd"):  # what the layout holds; a bench is drawn images and arrays
        summary.extra["layout_ratio"] = f"{shard_bytes / tree_bytes(layout):.2f}"
    print(summary.line())
    return 0


def _layout_of(hf_dir: str) -> str | None:
    """The SPAR_DIR the build came from, when the build recorded it and it is still there."""

    path = os.path.join(hf_dir, ".build", "card.json")
    try:
        source = json.loads(open(path, encoding="utf-8").read()).get("spar_dir")
    except (OSError, ValueError):
        return None
    return source if source and os.path.isdir(source) else None

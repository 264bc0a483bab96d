"""`spar-hf shard`: one config/split of an HF build -> WebDataset tar shards + index JSON."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "shard",
        help="write WebDataset tar shards (one sample per QA row) from an HF build",
        description="Copy one config/split of HF_DIR into SHARD_DIR/spar-<config>-<split>-NNNNNN.tar, "
        "with spar-<config>-<split>.index.json (written last) and .rejects.jsonl.",
    )
    parser.add_argument("--dataset", required=True, help="HF_DIR written by `spar-hf build`")
    parser.add_argument("--config", required=True, help="config name, e.g. 7m, 7m-rgbd, bench")
    parser.add_argument("--split", required=True, help="split name, e.g. train, validation, test")
    parser.add_argument("--out", required=True, help="SHARD_DIR to write")
    parser.add_argument("--max-size", default="1GB", help="maximum bytes per shard file (default 1GB; 1GiB, 500MB, ...)")
    parser.add_argument("--max-count", type=int, default=100_000, help="maximum samples per shard (default 100000)")
    parser.add_argument("--bake-markers", action="store_true",
                        help="draw the markers into the images (re-encodes those images as JPEG q95)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run with the same parameters")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local: one streaming writer; ray: rows measured and shards written as Ray tasks, "
                        "same bytes (default local)")
    parser.add_argument("--ray-address", default=None,
                        help="with --engine ray: HOST:6379 of a running cluster (default: start a local Ray)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.errors import SparError
    from spar_hf.outdir import check_folder, output_folder
    from spar_hf.report import Summary
    from spar_hf.shards.writer import count_rows, find_parquet, write_shards
    from spar_hf.sizes import parse_size

    check_folder(args.out)
    max_size = parse_size(args.max_size, "--max-size")
    if args.ray_address and args.engine != "ray":
        raise SparError("--ray-address needs --engine ray")
    if args.engine == "ray":
        import functools

        from spar_hf.engines.ray_shards import write_shards_ray

        write_shards = functools.partial(write_shards_ray, address=args.ray_address)
    with output_folder(args.out, "shard"):
        total = count_rows(find_parquet(args.dataset, args.config, args.split))
        with tqdm(total=total, unit="row", desc=f"shard {args.config}/{args.split}") as bar:
            result = write_shards(args.dataset, args.config, args.split, args.out, max_size=max_size,
                                  max_count=args.max_count, bake_markers=args.bake_markers, resume=args.resume,
                                  on_row=lambda: bar.update(1))
    index = result.index
    summary = Summary("shard", n_in=result.n_in, n_out=index.samples, n_rejected=index.rejected)
    summary.reasons.update(result.reasons)
    summary.extra.update(shards=len(index.shards), bytes=sum(s.bytes for s in index.shards),
                         resumed_rows=result.resumed_rows, pattern=index.pattern or "-", out_dir=args.out)
    print(summary.line())
    return 0

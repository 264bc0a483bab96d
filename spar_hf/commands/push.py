"""`spar-hf push`: upload a built HF folder (card + Parquet shards) to a Hub dataset repo."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push",
        help="upload a built HF folder to the Hugging Face Hub (create_repo + upload_folder in one commit)",
        description="Uploads README.md and the Parquet shards of the configs its YAML lists; rejects/ and .build/ stay local. "
        "The token comes from `hf auth login` or HF_TOKEN.",
    )
    parser.add_argument("--dataset", required=True, help="HF_DIR written by `spar-hf build`")
    parser.add_argument("--repo-id", required=True, help="OWNER/NAME of the dataset repo")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--dry-run", action="store_true", help="print the planned operations and exit; no network")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from spar_hf.hub import execute, plan_push
    from spar_hf.report import Summary

    plan = plan_push(args.dataset, args.repo_id, private=args.private)
    summary = Summary("push", n_in=len(plan.files))
    summary.extra["bytes"] = plan.total_bytes
    summary.extra["method"] = plan.method.replace(" ", "-")
    if args.dry_run:
        for line in plan.describe():
            print(line)
        summary.extra["dry_run"] = "yes"
        print(summary.line())
        return 0
    if (Path(args.dataset) / ".build").is_dir():  # a spar-hf build: point the card's load lines at the repo
        from builders.run import rewrite_card

        rewrite_card(args.dataset, args.repo_id)
        plan = plan_push(args.dataset, args.repo_id, private=args.private)
    for url in execute(plan):
        print(url)
    summary.n_out = len(plan.files)
    summary.extra["repo"] = f"https://huggingface.co/datasets/{args.repo_id}"
    print(summary.line())
    return 0

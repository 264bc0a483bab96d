"""`spar-hf push`: upload a built HF folder (card + Parquet shards) to a Hub dataset repo, or a Space
bundle (`spar-hf space --bundle`) to a Gradio Space repo."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from spar_hf.utils.report import Summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push",
        help="upload a built HF folder, or a Space bundle, to the Hugging Face Hub (create_repo + upload_folder in one commit)",
        description="--dataset HF_DIR --repo-id OWNER/NAME uploads README.md and the Parquet shards of the configs its "
        "YAML lists to a dataset repo; rejects/ and .build/ stay local. --space OWNER/NAME --bundle DIR uploads a "
        "folder written by `spar-hf space --bundle` to a Gradio Space repo. "
        "The token comes from `hf auth login` or HF_TOKEN.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--dataset", metavar="HF_DIR", help="HF_DIR written by `spar-hf build` (with --repo-id)")
    target.add_argument("--space", metavar="OWNER/NAME", help="the Space repo to create or update (with --bundle)")
    parser.add_argument("--repo-id", metavar="OWNER/NAME", help="OWNER/NAME of the dataset repo (with --dataset)")
    parser.add_argument("--bundle", metavar="DIR", help="folder written by `spar-hf space --bundle` (with --space)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--dry-run", action="store_true", help="print the planned operations and exit; no network")
    parser.set_defaults(func=functools.partial(run, parser=parser))


def _check_options(args: argparse.Namespace) -> str | None:
    """The argparse error for a wrong combination of the two modes, or None."""
    if args.dataset is not None:
        if args.bundle is not None:
            return "argument --bundle: goes with --space (a dataset push takes --dataset HF_DIR --repo-id OWNER/NAME)"
        if args.repo_id is None:
            return "argument --repo-id: required with --dataset"
    else:
        if args.repo_id is not None:
            return "argument --repo-id: goes with --dataset (a Space push takes --space OWNER/NAME --bundle DIR)"
        if args.bundle is None:
            return "argument --bundle: required with --space"
    return None


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    problem = _check_options(args)
    if problem:
        parser.error(problem)
    if args.space is not None:
        return _push_space(args)
    return _push_dataset(args)


def _report(plan, summary, dry_run: bool) -> bool:
    """Print the plan on --dry-run; True if the push should stop there."""
    summary.extra["bytes"] = plan.total_bytes
    summary.extra["method"] = plan.method.replace(" ", "-")
    if dry_run:
        for line in plan.describe():
            print(line)
        summary.extra["dry_run"] = "yes"
        print(summary.line())
    return dry_run


def _push_dataset(args: argparse.Namespace) -> int:
    from spar_hf.builders.push import plan_push

    plan = plan_push(args.dataset, args.repo_id, private=args.private)
    summary = Summary("push", n_in=len(plan.files))
    if _report(plan, summary, args.dry_run):
        return 0
    if (Path(args.dataset) / ".build").is_dir():  # a spar-hf build: point the card's load lines at the repo
        from spar_hf.builders.run import rewrite_card

        rewrite_card(args.dataset, args.repo_id)
        plan = plan_push(args.dataset, args.repo_id, private=args.private)
    return _upload(plan, summary, f"https://huggingface.co/datasets/{args.repo_id}")


def _push_space(args: argparse.Namespace) -> int:
    from spar_hf.space.push import plan_space_push

    plan = plan_space_push(args.bundle, args.space, private=args.private)
    summary = Summary("push", n_in=len(plan.files))
    if _report(plan, summary, args.dry_run):
        return 0
    return _upload(plan, summary, f"https://huggingface.co/spaces/{args.space}")


def _upload(plan, summary, repo_url: str) -> int:
    """Run the plan (one commit), print the commit URL(s) and the summary line."""
    from spar_hf.utils.hub import execute

    for url in execute(plan):
        print(url)
    summary.n_out = len(plan.files)
    summary.extra["repo"] = repo_url
    print(summary.line())
    return 0

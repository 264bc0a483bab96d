"""`spar-hf demo`: synth 8 scenes -> generate -> build every config, then show how to load it.

Runs the real commands in sequence (no shortcuts), sized to finish in a few minutes on 2 cores:
8 scenes x 32 frames and a val fraction of 0.25 so the bench draws from two val scenes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.utils.outdir import check_folder
from spar_hf.utils.report import Summary

DEMO_SCENES = 8
DEMO_FRAMES = 32
DEMO_VAL_FRACTION = 0.25


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="synth -> generate -> build on embedded synthetic scenes, then load it")
    parser.add_argument("--out", default="spar", help="HF_DIR to build (default ./spar, so load_dataset('spar', 'bench') works)")
    parser.add_argument("--work", default=None, help="folder for the scenes and the SPAR-7M layout (default <out>_work)")
    parser.add_argument("--scenes", type=int, default=DEMO_SCENES, help=f"scenes to synthesise (default {DEMO_SCENES})")
    parser.add_argument("--frames", type=int, default=DEMO_FRAMES, help=f"frames per scene (default {DEMO_FRAMES})")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="generate and build workers (default 2)")
    parser.add_argument("--resume", action="store_true", help="reuse scenes, layout and configs already made")
    parser.set_defaults(func=run)


def _step(argv: list[str]) -> None:
    from spar_hf.cli import main

    print(f"$ spar-hf {' '.join(argv)}", flush=True)
    code = main(argv)
    if code != 0:
        raise SparError(f"demo step `spar-hf {argv[0]}` failed with exit code {code}")


def run(args: argparse.Namespace) -> int:
    out = check_folder(args.out)
    work = check_folder(args.work, "--work") if args.work else out.parent / f"{out.name}_work"
    scenes, layout = work / "scenes", work / "spar"
    started = time.time()
    if not (args.resume and scenes.is_dir() and len([p for p in scenes.iterdir() if p.is_dir()]) >= args.scenes):
        _step(["synth", "--out", str(scenes), "--scenes", str(args.scenes), "--frames", str(args.frames), "--seed", str(args.seed)])
    _step(["generate", "--source", "synthetic", "--scenes", str(scenes), "--out", str(layout), "--seed", str(args.seed),
           "--workers", str(args.workers), "--val-fraction", str(DEMO_VAL_FRACTION), *(["--resume"] if args.resume else [])])
    _step(["build", "--from", str(layout), "--out", str(out), "--workers", str(args.workers),
           *(["--resume"] if args.resume else [])])
    summary = Summary("demo")
    summary.n_in = args.scenes
    summary.n_out = show(out)
    summary.extra.update({"hf_dir": str(out), "seconds": round(time.time() - started, 1)})
    print(summary.line())
    return 0


def show(out) -> int:
    """Load the bench back and print a few rows; returns the bench row count."""
    import datasets

    print()
    print(f'from datasets import load_dataset; ds = load_dataset("{out}", "bench")  # or "7m", "7m-rgbd", "bench-tiny", "bench-rgbd"')
    bench = datasets.load_dataset(str(out), "bench", split="test")
    print(bench)
    seen = set()
    for row in bench:
        if row["format_type"] in seen:
            continue
        seen.add(row["format_type"])
        question = row["question"].replace("\n", " ")
        print(f"  [{row['id']}] {row['task']} ({row['img_type']}, {len(row['image'])} image(s)): {question[:160]}")
        print(f"      answer: {row['answer']}")
    return len(bench)

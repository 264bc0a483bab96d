"""`spar-hf synth`: write procedural indoor scenes in the ScanNet export layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.utils.outdir import output_folder
from spar_hf.utils.report import Summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("synth", help="procedural indoor scenes in the ScanNet export layout")
    parser.add_argument("--out", required=True, help="output folder (one sub-folder per scene)")
    parser.add_argument("--scenes", type=int, default=4, help="number of scenes (default 4)")
    parser.add_argument("--frames", type=int, default=90, help="frames per scene (default 90)")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--kind", choices=("rooms", "rxr"), default="rooms",
                        help="rooms: ScanNet export layout (default); rxr: RxR-style guide records over "
                             "Matterport-style panoramas, for `generate --source rxr` (--scenes = walks)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.scenes < 1:
        raise SparError(f"--scenes must be at least 1, got {args.scenes}")
    if args.frames < 2:
        raise SparError(f"--frames must be at least 2, got {args.frames}")
    with output_folder(args.out, "synth") as out:
        return _write(args, out)


def _write(args: argparse.Namespace, out: Path) -> int:
    from tqdm import tqdm

    from spar_hf.scene.synthetic import generate_scene, scene_name, write_scene

    if args.kind == "rxr":
        from spar_hf.scene.rxr_synth import write_rxr_fixture

        ids = write_rxr_fixture(out, scans=1, walks_per_scan=args.scenes, seed=args.seed)
        print(Summary("synth", n_in=args.scenes, n_out=len(ids), extra={"kind": "rxr", "dir": str(out)}).line())
        return 0
    summary = Summary("synth", n_in=args.scenes)
    n_objects = 0
    with tqdm(total=args.scenes * args.frames, unit="frame", desc="synth") as bar:
        for i in range(args.scenes):
            scene = generate_scene(scene_name(i), args.seed, args.frames)
            write_scene(scene, out, on_frame=lambda: bar.update(1))
            n_objects += len(scene.objects)
            summary.n_out += 1
    summary.extra.update({"frames": args.scenes * args.frames, "objects": n_objects, "dir": str(out)})
    print(summary.line())
    return 0

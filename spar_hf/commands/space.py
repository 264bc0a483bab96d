"""`spar-hf space`: launch the Gradio browser/evaluator on a built dataset (local HF_DIR or hub id),
or with --bundle write the folder a Hugging Face Space runs it from (spar_hf.space.bundle)."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.utils.outdir import check_folder
from spar_hf.utils.report import Summary

DATASET_ENV = "SPAR_DATASET"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "space",
        help="launch the Gradio app (browse samples, evaluate predictions), or --bundle a Space folder",
        description="Serve the SPAR browser on HOST:PORT. A local folder is read offline; anything else is taken "
        "as a hub dataset id. With --bundle DIR, write a Hugging Face Space folder instead (app.py, README.md, "
        "requirements.txt, the spar_hf modules the app imports); upload it with `spar-hf push --space`.",
    )
    parser.add_argument("--dataset", default=None,
                        help=f"HF_DIR from `spar-hf build` / `spar-hf demo`, or a hub dataset id "
                        f"(default: ${DATASET_ENV}, else ./spar, the demo's output); with --bundle: the hub "
                        f"dataset id the Space shows (default: jasonzhango/SPAR-Bench)")
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: gradio picks a free one from 7860)")
    parser.add_argument("--bundle", default=None, metavar="DIR",
                        help="write a deployable Space folder at DIR and exit (a new or empty DIR, or an earlier bundle)")
    parser.set_defaults(func=run)


def resolve_dataset(value: str | None) -> str:
    """--dataset, else $SPAR_DATASET, else ./spar; a path that looks local must exist."""

    dataset = value or os.environ.get(DATASET_ENV) or "spar"
    path = Path(dataset)
    if path.is_dir():
        return str(path)
    looks_local = path.is_absolute() or dataset.startswith(".") or dataset.count("/") != 1 or path.exists()
    if looks_local:
        raise SparError(f"{dataset}: no dataset folder there (build one with `spar-hf demo --out {dataset}`), "
                        "and it is not a hub id OWNER/NAME")
    return dataset


def _stop_on_signals() -> None:
    """SIGINT and SIGTERM end the server cleanly (gradio's wait loop catches KeyboardInterrupt),
    also when the shell started us with SIGINT ignored (background jobs)."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)


def bundle(args: argparse.Namespace) -> int:
    from spar_hf.space.bundle import write_bundle

    if args.host is not None or args.port is not None:
        raise SparError("--host/--port serve the app here; --bundle only writes the Space folder")
    check_folder(args.bundle, "--bundle")  # the bundle replaces its folder in one rename, so it needs no lock
    written = write_bundle(args.bundle, args.dataset)
    summary = Summary("space", n_in=len(written.files), n_out=len(written.files))
    summary.extra.update({"bundle": written.folder, "bytes": written.total_bytes,
                          "dataset": written.dataset or "default", "replaced": "yes" if written.replaced else "no"})
    print(summary.line())
    return 0


def run(args: argparse.Namespace) -> int:
    if args.bundle is not None:
        return bundle(args)
    from spar_hf.space.ui import launch

    dataset = resolve_dataset(args.dataset)
    _stop_on_signals()
    demo = launch(dataset, args.host or "127.0.0.1", args.port, block=True)
    summary = Summary("space")
    summary.extra.update({"dataset": dataset, "url": getattr(demo, "local_url", "")})
    print(summary.line())
    return 0

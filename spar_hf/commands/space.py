"""`spar-hf space`: launch the Gradio browser/evaluator on a built dataset (local HF_DIR or hub id)."""

from __future__ import annotations

import argparse

DATASET_ENV = "SPAR_DATASET"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "space",
        help="launch the Gradio app (browse samples, evaluate predictions)",
        description="Serve the SPAR browser on HOST:PORT. A local folder is read offline; anything else is taken "
        "as a hub dataset id.",
    )
    parser.add_argument("--dataset", default=None,
                        help=f"HF_DIR from `spar-hf build` / `spar-hf demo`, or a hub dataset id "
                        f"(default: ${DATASET_ENV}, else ./spar, the demo's output)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: gradio picks a free one from 7860)")
    parser.set_defaults(func=run)


def resolve_dataset(value: str | None) -> str:
    """--dataset, else $SPAR_DATASET, else ./spar; a path that looks local must exist."""
    import os
    from pathlib import Path

    from spar_hf.errors import SparError

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
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)


def run(args: argparse.Namespace) -> int:
    from spar_hf.report import Summary
    from spar_hf.space.ui import launch

    dataset = resolve_dataset(args.dataset)
    _stop_on_signals()
    demo = launch(dataset, args.host, args.port, block=True)
    summary = Summary("space")
    summary.extra.update({"dataset": dataset, "url": getattr(demo, "local_url", "")})
    print(summary.line())
    return 0

"""The `spar-hf` command line.

Each subcommand lives in its own module under `spar_hf.commands` and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`.
Bad input raises SparError: printed as one readable line, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from spar_hf import __version__
from spar_hf.errors import SparError


def build_parser() -> argparse.ArgumentParser:
    import spar_hf.commands as commands

    parser = argparse.ArgumentParser(prog="spar-hf", description="SPAR spatial QA: generate, build, shard, evaluate, browse.")
    parser.add_argument("--version", action="version", version=f"spar-hf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"spar_hf.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SparError as exc:
        print(f"spar-hf {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spar-hf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

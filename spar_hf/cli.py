"""The `spar-hf` command line.

Each subcommand lives in its own module under `spar_hf.commands` and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`.
Bad input raises SparError: printed as one readable line, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import pkgutil
import re
import sys

import spar_hf.commands as commands
from spar_hf import __version__
from spar_hf.errors import SparError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spar-hf", description="SPAR spatial QA: generate, build, shard, evaluate, browse.")
    parser.add_argument("--version", action="version", version=f"spar-hf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"spar_hf.commands.{info.name}")
        module.register(sub)
    return parser


def extra_providing(module: str) -> str | None:
    """The optional-dependency group of spar-hf (its metadata, so pyproject.toml stays the one list) that
    installs `module`, leaving out `test`, which holds them all."""
    try:
        requirements = importlib.metadata.requires("spar-hf") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    wanted = module.split(".")[0].replace("-", "_").lower()
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0).replace("-", "_").lower()
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if name == wanted and extra and extra.group(1) != "test":
            return extra.group(1)
    return None


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
    except ModuleNotFoundError as exc:
        extra = extra_providing(exc.name or "")
        if extra is None:
            raise
        print(f"spar-hf {args.command}: error: needs {exc.name}, from the '{extra}' extra: "
              f"pip install 'spar-hf[{extra}]' (in a checkout: pip install -e '.[{extra}]')", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spar-hf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The modules setup.py compiles with Cython (opt-in, SPAR_HF_COMPILE=1) and the guard for edited sources.

An opt-in editable install compiles these modules next to their sources, and Python's import system prefers
an extension module over a `.py` file. Edited after the compile, the source would silently not run;
`install_guard` (called from spar_hf/__init__.py) loads such a source instead, with a warning.
No compiled file, or one newer than its source: nothing changes. Only source checkouts are watched
(setup.py beside the package): an installed wheel is never edited, and the times of its files are the
order pip unpacked them in. `SPAR_HF_PURE=1` in the environment runs the sources anyway (Python
tracebacks and profiles; the pure side of benchmarks/ingest.py).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import warnings
from importlib.abc import MetaPathFinder

COMPILED = (
    "spar_hf.ingest.spatialforge",
    "spar_hf.ingest.mapping",
    "spar_hf.ingest.tasks",
    "spar_hf.ingest.validate",
    "spar_hf.ingest.readers",
    "spar_hf.export.boxes",
)


def stale_source(fullname: str, path: list[str] | None) -> str | None:
    """The module's `.py` when a compiled file for it in `path` is older than that source, else None."""
    leaf = fullname.rpartition(".")[2]
    for folder in path or ():
        source = os.path.join(folder, leaf + ".py")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            compiled = os.path.join(folder, leaf + suffix)
            try:
                if os.stat(compiled).st_mtime < os.stat(source).st_mtime:
                    return source
            except FileNotFoundError:
                continue
            return None
    return None


def in_source_checkout() -> bool:
    """spar_hf runs from a checkout (editable install or PYTHONPATH): setup.py sits beside the package."""
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # <root>/spar_hf/utils/
    return os.path.isfile(os.path.join(checkout, "setup.py"))


class FreshSourceFinder(MetaPathFinder):
    """Finds the compiled modules from their source when the compiled file is older (`watch`), or always
    under SPAR_HF_PURE=1."""

    def __init__(self, watch: bool = True):
        self.watch = watch

    def find_spec(self, fullname: str, path, target=None):
        if fullname not in COMPILED:
            return None
        if os.environ.get("SPAR_HF_PURE"):
            for folder in path or ():
                source = os.path.join(folder, fullname.rpartition(".")[2] + ".py")
                if os.path.isfile(source):
                    return importlib.util.spec_from_file_location(fullname, source)
            return None
        source = stale_source(fullname, path) if self.watch else None
        if source is None:
            return None
        warnings.warn(f"{fullname}: {source} is newer than its compiled module; running the source "
                      f"(`pip install -e .` compiles it again)", stacklevel=2)
        return importlib.util.spec_from_file_location(fullname, source)


def install_guard() -> None:
    if not any(isinstance(f, FreshSourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, FreshSourceFinder(watch=in_source_checkout()))

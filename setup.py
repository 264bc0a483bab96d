"""Build: the SpatialForge ingest hot path is compiled with Cython when it can be, pure Python otherwise.

The compiled modules are the same source files (no .pyx): Cython turns the interpreter's work per
record into C calls, about a fifth less time per record (benchmarks/ingest.py). A missing compiler
or a failed compile leaves the pure Python modules in use; `SPAR_HF_PURE=1` skips compiling.
`spar_hf._compiled` makes an edited source win over an older compiled module.
"""

from __future__ import annotations

import os
import sys

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spar_hf._compiled import COMPILED  # noqa: E402  (the one list of compiled modules)


class OptionalBuildExt(build_ext):
    """Compiling is an optimisation: a failure is reported and the install goes on with pure Python."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - no compiler, no headers: still installable
            print(f"spar-hf: not compiling the ingest hot path ({exc}); using pure Python", file=sys.stderr)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"spar-hf: {ext.name} not compiled ({exc}); using pure Python", file=sys.stderr)


def ext_modules() -> list:
    if os.environ.get("SPAR_HF_PURE"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    sources = [name.replace(".", "/") + ".py" for name in COMPILED]
    extensions = cythonize(sources, build_dir="build/cython", quiet=True,
                           compiler_directives={"language_level": 3, "annotation_typing": False})
    for extension in extensions:
        extension.extra_compile_args = ["-g0"]  # no debug sections: 8 MB of modules otherwise
    return extensions


# The repository keeps builders/ and cards/ at the top (the project's layout); installed, they are
# spar_hf.builders and spar_hf.cards, so a wheel adds no generic top-level name to site-packages.
PACKAGE_DIR = {"spar_hf.builders": "builders", "spar_hf.cards": "cards"}

setup(
    packages=find_packages(include=["spar_hf", "spar_hf.*"]) + list(PACKAGE_DIR),
    package_dir=PACKAGE_DIR,
    ext_modules=ext_modules(),
    cmdclass={"build_ext": OptionalBuildExt},
)

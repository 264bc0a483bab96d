"""Build: pure Python by default; `SPAR_HF_COMPILE=1` also compiles the SpatialForge ingest hot path with Cython.

The default install needs no compiler and no Cython and takes seconds. The compiled modules are the
same source files (no .pyx): Cython turns the interpreter's work per record into C calls, x1.2-1.4
ingest throughput (benchmarks/ingest.py), for about a minute of install and a C toolchain, so it is
opt-in: Cython is then a build requirement (setup_requires, which setuptools' PEP 517 backend hands
to pip), and a failed compile still leaves the pure modules. `spar_hf.utils.compiled` makes an edited
source win over an older compiled module.
"""

from __future__ import annotations

import os
import sys

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spar_hf.utils.compiled import COMPILED  # noqa: E402  (the one list of compiled modules)


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


COMPILE = os.environ.get("SPAR_HF_COMPILE") == "1"


def ext_modules() -> list:
    if not COMPILE:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:  # only when pip was told not to install build requirements
        print("spar-hf: SPAR_HF_COMPILE=1 but Cython is not installed; using pure Python", file=sys.stderr)
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
    setup_requires=["Cython>=3.0"] if COMPILE else [],
    cmdclass={"build_ext": OptionalBuildExt},
)

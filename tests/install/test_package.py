"""Packaging: the wheel installs `spar_hf` and nothing else, with the files read at run time as package data;
a command whose optional dependency is missing says which extra brings it (one line, exit 2).

The fresh-venv runs (README main job, wheel outside the source tree) are `.ci/first_run`: minutes of installs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import spar_hf
from spar_hf.cli import extra_providing, main

REPO = Path(__file__).resolve().parents[2]
BUILD_INPUTS = ("setup.py", "pyproject.toml", "README.md", "spar_hf", "builders", "cards")


def _default_wheel(tmp_path: Path) -> Path:
    """`pip wheel` of a copy of the sources (the checkout may hold compiled files and build leftovers)."""
    src = tmp_path / "src"
    for name in BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("SPAR_HF_COMPILE", "SPAR_HF_PURE")}
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(src)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("spar_hf-*.whl")
    return wheel


def test_default_wheel_holds_spar_hf_and_its_data_only(tmp_path):
    wheel = _default_wheel(tmp_path)
    assert wheel.name == f"spar_hf-{spar_hf.__version__}-py3-none-any.whl"  # pure Python: no compiler was asked for
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"spar_hf", f"spar_hf-{spar_hf.__version__}.dist-info"}
    for data in ("spar_hf/cards/spar.md", "spar_hf/eval/data/table4.json", "spar_hf/space/template/app.py",
                 "spar_hf/space/template/README.md", "spar_hf/space/template/requirements.txt"):
        assert data in names, data
    for module in ("spar_hf/builders/spar.py", "spar_hf/builders/run.py", "spar_hf/builders/card.py",
                   "spar_hf/utils/arrow_exit.py", "spar_hf/ingest/spatialforge.py"):
        assert module in names, module
    assert not [n for n in names if n.endswith((".so", ".pyd", ".c"))]


def test_files_read_at_run_time_are_package_resources():
    assert resources.files("spar_hf.cards").joinpath("spar.md").read_text(encoding="utf-8").startswith("---")
    assert resources.files("spar_hf.eval").joinpath("data/table4.json").is_file()
    assert all(resources.files("spar_hf.space").joinpath("template", name).is_file()
               for name in ("app.py", "README.md", "requirements.txt"))


def test_extras_are_named_from_the_package_metadata():
    # pyproject.toml: gradio in `space`, torch and simplejpeg in `train`, ray in `ray`; numpy and webdataset are
    # core; playwright is only in `test`, which is never suggested
    assert [extra_providing(m) for m in ("gradio", "torch", "simplejpeg", "ray", "ray.util")] == \
        ["space", "train", "train", "ray", "ray"]
    assert [extra_providing(m) for m in ("numpy", "webdataset", "playwright", "no_such_module")] == [None] * 4


def test_a_missing_extra_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` raises ModuleNotFoundError, as when absent
    (tmp_path / "spar").mkdir()
    assert main(["space", "--dataset", str(tmp_path / "spar")]) == 2
    assert capsys.readouterr().err == ("spar-hf space: error: needs gradio, from the 'space' extra: "
                                       "pip install 'spar-hf[space]' (in a checkout: pip install -e '.[space]')\n")

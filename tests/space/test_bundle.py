"""`spar-hf space --bundle DIR`: the Space folder's contents, its refusals and atomic replacement, and
the bundled app serving from its own folder with the checkout's package out of reach.

Expected file lists are written by hand from what app.py and spar_hf.space import (docs/space.md).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spar_hf.cli import main
from spar_hf.errors import SparError
from spar_hf.space import bundle as bundle_mod
from spar_hf.space.bundle import MANIFEST, write_bundle

REPO_PACKAGE = Path(__file__).resolve().parents[2] / "spar_hf"
TOP_LEVEL = ["README.md", "app.py", "requirements.txt", "spar_bundle.json", "spar_hf"]
# what the browser and scorer need, by reading ui.py, evaluation.py, render.py, scene3d.py, data.py and their imports
NEEDED = ["spar_hf/__init__.py", "spar_hf/errors.py", "spar_hf/utils/atomic.py", "spar_hf/markers.py", "spar_hf/eval/predictions.py",
          "spar_hf/space/__init__.py", "spar_hf/space/ui.py", "spar_hf/space/data.py", "spar_hf/space/render.py",
          "spar_hf/space/scene3d.py", "spar_hf/space/evaluation.py", "spar_hf/eval/__init__.py", "spar_hf/eval/reference.py",
          "spar_hf/eval/data/table4.json", "spar_hf/eval/bench_data.py", "spar_hf/eval/evaluate.py", "spar_hf/eval/report.py",
          "spar_hf/tasks/__init__.py", "spar_hf/tasks/bench.py"]
# what the Space never imports: the CLI, generation, training, the template itself, this bundler
NOT_NEEDED = ["spar_hf/cli.py", "spar_hf/commands", "spar_hf/train", "spar_hf/tasks/registry.py", "spar_hf/tasks/generic.py", "spar_hf/scene", "spar_hf/ingest",
              "spar_hf/space/template", "spar_hf/space/bundle.py", "spar_hf/utils/hub.py", "spar_hf/space/push.py", "spar_hf/generate/pipeline.py"]


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".tmp-"))


def test_bundle_contents(tmp_path, capsys):
    out = tmp_path / "space"
    assert main(["space", "--bundle", str(out), "--dataset", "me/spar"]) == 0
    files = _tree(out)
    line = capsys.readouterr().out.strip()
    total = sum((out / f).stat().st_size for f in files)
    assert line == (f"space: in={len(files)} out={len(files)} rejected=0 bundle={out} bytes={total} dataset=me/spar replaced=no")
    assert sorted(p.name for p in out.iterdir()) == TOP_LEVEL
    assert set(NEEDED) <= set(files)
    assert not [f for f in files if any(f == n or f.startswith(n + "/") for n in NOT_NEEDED)]
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or "/tests/" in f or "/test_" in f]
    assert all(f.endswith((".py", ".json")) for f in files if f.startswith("spar_hf/"))
    for name in files:  # byte copies of the package and the template
        if name.startswith("spar_hf/"):
            assert (out / name).read_bytes() == (REPO_PACKAGE / name.partition("/")[2]).read_bytes(), name
    assert (out / "app.py").read_bytes() == (REPO_PACKAGE / "space" / "template" / "app.py").read_bytes()
    assert (out / "requirements.txt").read_bytes() == (REPO_PACKAGE / "space" / "template" / "requirements.txt").read_bytes()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest == {"spar_hf": "0.1.0", "dataset": "me/spar", "files": [f for f in files if f != MANIFEST]}
    # the card keeps the template's front matter, with the preset dataset as the Space's linked dataset
    from huggingface_hub import SpaceCard

    card = SpaceCard.load(out / "README.md").data.to_dict()
    assert card["datasets"] == ["me/spar"] and card["sdk"] == "gradio" and card["app_file"] == "app.py"
    assert card["sdk_version"] == "6.31.0" and card["python_version"] == "3.11"
    assert _leftovers(tmp_path) == []


def test_bundled_app_reads_the_preset_dataset(tmp_path, monkeypatch):
    import runpy

    write_bundle(tmp_path / "b", "me/spar")
    monkeypatch.delenv("SPAR_DATASET", raising=False)
    app = runpy.run_path(str(tmp_path / "b" / "app.py"), run_name="bundle_app")
    assert app["choose_dataset"]() == ("me/spar", "spar_bundle.json")
    monkeypatch.setenv("SPAR_DATASET", "other/set")  # the Space settings variable wins
    assert app["choose_dataset"]() == ("other/set", "SPAR_DATASET")
    write_bundle(tmp_path / "c")
    monkeypatch.delenv("SPAR_DATASET")
    app = runpy.run_path(str(tmp_path / "c" / "app.py"), run_name="bundle_app")
    assert app["choose_dataset"]() == ("jasonzhango/SPAR-Bench", "default")
    assert "- jasonzhango/SPAR-Bench" in (tmp_path / "c" / "README.md").read_text()


def test_requirements_cover_every_bundled_import(tmp_path):
    import ast

    out = write_bundle(tmp_path / "b").folder
    wanted = set()
    for path in [out / "app.py", *out.joinpath("spar_hf").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                wanted |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                wanted.add(node.module.split(".")[0])
    third_party = wanted - set(sys.stdlib_module_names) - {"spar_hf", "__future__"}
    assert third_party == {"PIL", "datasets", "fsspec", "gradio", "numpy", "pandas", "pyarrow", "trimesh"}
    lines = [line.split("#")[0].strip() for line in (out / "requirements.txt").read_text().splitlines()]
    names = {line.split("=")[0].split(">")[0].split("<")[0].strip().lower() for line in lines if line}
    dist = {"PIL": "pillow"}
    # gradio is installed by the Space from sdk_version in the card
    assert {dist.get(m, m).lower() for m in third_party - {"gradio"}} <= names


def test_refuses_unrelated_folders_and_bad_options(tmp_path, capsys):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me\n")
    assert main(["space", "--bundle", str(other)]) == 2
    err = capsys.readouterr().err
    assert f"--bundle {other}: not empty and not a Space bundle (no spar_bundle.json)" in err
    assert "pass a new or empty folder" in err
    assert _tree(other) == ["todo.txt"] and (other / "todo.txt").read_text() == "keep me\n"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(SparError, match="exists and is not a folder"):
        write_bundle(a_file)
    local = tmp_path / "hf"
    local.mkdir()
    with pytest.raises(SparError, match="a local folder; a Space reads a hub dataset"):
        write_bundle(tmp_path / "b", str(local))
    with pytest.raises(SparError, match="expected a hub dataset id OWNER/NAME"):
        write_bundle(tmp_path / "b", "spar")
    assert main(["space", "--bundle", str(tmp_path / "b"), "--port", "7860"]) == 2
    assert "--bundle only writes the Space folder" in capsys.readouterr().err
    assert not (tmp_path / "b").exists() and _leftovers(tmp_path) == []


def test_empty_folder_and_earlier_bundle_are_replaced(tmp_path, capsys):
    out = tmp_path / "b"
    out.mkdir()
    write_bundle(out, "me/first")
    first = _tree(out)
    # what running the app leaves is not "someone else's file"
    (out / "spar_hf" / "__pycache__").mkdir()
    (out / "spar_hf" / "__pycache__" / "ui.cpython-311.pyc").write_bytes(b"\0")
    (out / ".gradio").mkdir()
    (out / ".gradio" / "x").write_text("x")
    assert main(["space", "--bundle", str(out), "--dataset", "me/second"]) == 0
    assert capsys.readouterr().out.strip().endswith("dataset=me/second replaced=yes")
    assert _tree(out) == first and json.loads((out / MANIFEST).read_text())["dataset"] == "me/second"
    assert _leftovers(tmp_path) == []
    # a file the bundle did not write: refused, named, nothing changed
    (out / "notes.md").write_text("mine\n")
    assert main(["space", "--bundle", str(out)]) == 2
    err = capsys.readouterr().err
    assert "an earlier bundle, but it also holds files the bundle did not write (notes.md)" in err
    assert json.loads((out / MANIFEST).read_text())["dataset"] == "me/second" and (out / "notes.md").is_file()


def test_failure_midway_leaves_the_earlier_bundle(tmp_path, monkeypatch):
    out = tmp_path / "b"
    write_bundle(out, "me/first")
    before = {f: (out / f).read_bytes() for f in _tree(out)}
    calls = []
    real_copy = shutil.copyfile

    def failing_copy(src, dst, *a, **kw):
        calls.append(dst)
        if len(calls) == 6:
            raise OSError(28, "No space left on device")
        return real_copy(src, dst, *a, **kw)

    monkeypatch.setattr(bundle_mod.shutil, "copyfile", failing_copy)
    with pytest.raises(OSError, match="No space left"):
        write_bundle(out, "me/second")
    assert {f: (out / f).read_bytes() for f in _tree(out)} == before
    assert _leftovers(tmp_path) == []
    calls.clear()
    with pytest.raises(OSError):
        write_bundle(tmp_path / "new")
    assert not (tmp_path / "new").exists() and _leftovers(tmp_path) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The editable install's finder removed: without it, a module missing from the bundle would silently
# come from this checkout. The checkout must not be on sys.path either.
WITHOUT_CHECKOUT = f"""
import runpy, sys
from pathlib import Path
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
assert not any(Path(p or ".").resolve() == Path({str(REPO_PACKAGE.parent)!r}) for p in sys.path), sys.path
"""
RUN_APP = WITHOUT_CHECKOUT + 'runpy.run_path("app.py", run_name="__main__")\n'  # = `python app.py`


@pytest.mark.slow
def test_bundle_serves_from_its_own_folder(tmp_path):
    import httpx
    from gradio_client import Client, handle_file

    from spar_hf.packs import Pack

    from fixtures.build_layout import make_layout

    spar = make_layout(tmp_path)
    hf = tmp_path / "hf"
    assert main(["build", "--from", str(spar), "--out", str(hf), "--configs", "bench"]) == 0
    out = tmp_path / "bundle"
    assert main(["space", "--bundle", str(out)]) == 0
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SPAR_DATASET=str(hf), PORT=str(port), GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-c", RUN_APP], cwd=out, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()[0]
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        with Pack(next((hf / "bench").glob("test-*.zip"))) as pack:
            table = pack.metadata("bench", ["id", "question", "answer", "image_file_names"]).to_pylist()
        row = table[7]
        got = client.predict("bench", "test", "(all)", "(all)", "(all)", 0, str(row["id"]), api_name="/browse")
        assert got[1] == row["question"] and got[2] == row["answer"] and len(got[0]) == len(row["image_file_names"]) == 2
        preds = tmp_path / "preds.jsonl"  # the bundled scorer must agree with `spar-hf eval` of this checkout
        preds.write_text("".join(json.dumps({"id": r["id"], "prediction": r["answer"]}) + "\n" for r in table))
        status, _, _, _, report_json, _ = client.predict(handle_file(str(preds)), "bench", "lmms-eval", [], api_name="/evaluate")
        cli_out = tmp_path / "cli.json"
        assert main(["eval", "--dataset", str(hf), "--config", "bench", "--predictions", str(preds), "--format", "json",
                     "--out", str(cli_out)]) == 0
        cli = json.loads(cli_out.read_text())
        ours = json.loads(Path(report_json).read_text())
        assert ours["summary"] == cli["summary"] and ours["tasks"] == cli["tasks"]
        assert status == (f"Scored **136** questions of `bench` under **lmms-eval**: Avg {cli['summary']['Avg']:.2f}; "
                          "136 predictions, 0 missing (scored 0), 0 unknown ids (ignored).")
    finally:
        proc.terminate()
        log = proc.communicate(timeout=60)[0]
    assert f"spar_hf 0.1.0 from {out / 'spar_hf'}; dataset {hf} (from SPAR_DATASET)" in log.splitlines()


@pytest.mark.slow
def test_bundle_from_an_installed_wheel(tmp_path):
    """A regular (non-editable) install has the template as package data and bundles the same files."""
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.so", "*.c")
    for name in ("spar_hf", "builders", "cards"):
        shutil.copytree(REPO_PACKAGE.parent / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "setup.py"):  # setup.py maps builders/ and cards/ into spar_hf
        shutil.copyfile(REPO_PACKAGE.parent / name, src / name)
    pure = {k: v for k, v in os.environ.items() if k != "SPAR_HF_COMPILE"}  # the default, compiler-free build
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(tmp_path / "wheel"), str(src)], check=True, capture_output=True, env=pure)
    site = tmp_path / "site"
    with zipfile.ZipFile(next((tmp_path / "wheel").glob("spar_hf-*.whl"))) as wheel:
        wheel.extractall(site)
    script = WITHOUT_CHECKOUT + f"""
import spar_hf
print(spar_hf.__file__)
from spar_hf.cli import main
main(["space", "--bundle", {str(tmp_path / "b")!r}])
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=dict(env, PYTHONPATH=str(site)),
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[0] == str(site / "spar_hf" / "__init__.py")
    installed = {f: (tmp_path / "b" / f).read_bytes() for f in _tree(tmp_path / "b")}
    write_bundle(tmp_path / "ours")
    assert installed == {f: (tmp_path / "ours" / f).read_bytes() for f in _tree(tmp_path / "ours")}

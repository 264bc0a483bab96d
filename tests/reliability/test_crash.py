"""Crash and resume: `kill -9` generate, build and shard part-way, rerun with --resume, compare bytes.

Each command first runs uninterrupted (the reference tree, and T: the seconds from a trigger, its
output folder appearing or for generate its first image file, to writing its last file). Then, for a
few fractions of T after the trigger, a fresh run in a subprocess is SIGKILLed (tests/fixtures/killhelper.py);
whatever it left must be whole (every JSON line, Parquet file and tar on disk parses: temp files
aside), and `--resume` must then produce a tree byte-identical to the reference with no `.tmp-`
file left. Kill times are fractions of the measured T, so they land in the work whatever the load.
At least one kill per command has to interrupt real work (it left some finished files, but not the
reference tree), or the test would prove nothing.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest
from fixtures.killhelper import run, run_and_kill

from spar_hf.cli import main
from spar_hf.utils.atomic import TMP_PREFIX

pytestmark = pytest.mark.slow

TASKS = "depth_prediction_oc,obj_spatial_relation_oo,camera_motion_infer"
FRACTIONS = (0.2, 0.5, 0.8)
EXTRA_FRACTIONS = (0.5, 0.9, 0.15, 0.6, 0.4, 0.8)  # tried only while no kill has landed mid-write
GEN_FIRST = "synthetic/images/*/*/*"  # generate computes a whole scene before its first write
GEN_LAST = "synthetic/rejects.jsonl"  # assembly writes it last


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _temp_files(root: Path) -> list[str]:
    return [str(p) for p in root.rglob(f"{TMP_PREFIX}*")]


def _assert_nothing_half_written(root: Path) -> None:
    """Files a killed run left (temp files aside) are complete: JSON parses, Parquet opens, zips and tars read to the end."""
    import zipfile

    import pyarrow.parquet as pq

    for path in root.rglob("*"):
        if not path.is_file() or any(part.startswith(TMP_PREFIX) for part in path.relative_to(root).parts):
            continue
        if path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
                json.loads(line)
            assert path.read_bytes()[-1:] in (b"", b"\n"), path
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".parquet":
            pq.read_table(path)
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                assert archive.testzip() is None, path
        elif path.suffix == ".tar":
            with tarfile.open(path) as tar:
                for member in tar:
                    if member.isfile():
                        tar.extractfile(member).read()


def _trigger(out: Path, first_file: str | None = None) -> tuple[Path, str]:
    """The kill clock starts when the command creates its output folder (imports and set-up done), or
    when `first_file` (a glob under it) first appears for a command that computes long before writing."""
    return (out, first_file) if first_file else (out.parent, out.name)


def _crash_and_resume(args: list[str], out: Path, reference: dict[str, bytes], window: float,
                      fractions: tuple[float, ...] = FRACTIONS, first_file: str | None = None) -> None:
    """Kill at each fraction of `window` (the reference run's seconds from creating `out` to exit), resume, compare."""
    partial = []  # kills that left some finished files, but not the reference tree
    seen = []     # per kill: (fraction, killed, finished files on disk); for the failure message
    # Kill times are relative to a reference run on a shared machine, so a kill can land before the
    # first write or after the last; more kill points are tried until one lands mid-write.
    attempts = list(fractions) + [f for f in EXTRA_FRACTIONS if f not in fractions]
    for n, fraction in enumerate(attempts):
        if n >= len(fractions) and partial:
            break
        if out.exists():
            shutil.rmtree(out)
        outcome = run_and_kill(args, window * fraction * 1000, trigger=_trigger(out, first_file))
        if outcome.killed and out.exists():
            _assert_nothing_half_written(out)
            left = {k: v for k, v in _tree(out).items() if not Path(k).name.startswith(TMP_PREFIX)}
            if left and left != reference:
                partial.append(fraction)
            seen.append((fraction, outcome.killed, len(left)))
        else:
            seen.append((fraction, outcome.killed, None))
        assert main([*args, "--resume"]) == 0, (fraction, outcome)
        assert _temp_files(out) == [], fraction
        assert _tree(out) == reference, f"resume after a kill at {fraction:.0%} of {window:.2f} s differs"
    assert partial, f"no kill landed while the command was writing: {seen}, window {window:.2f} s, {len(reference)} files"


def _reference(args: list[str], out: Path, last_file: str | None = None, first_file: str | None = None) -> float:
    """The uninterrupted run; returns its writing window: from the trigger (see `_trigger`) to writing
    `last_file` (the file the command writes last), or to exit. Interpreter teardown is not work worth killing."""
    outcome = run(args, trigger=_trigger(out, first_file), done=(out, last_file) if last_file else None)
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    assert outcome.started is not None
    end = outcome.done if last_file else outcome.seconds
    assert end is not None, f"{last_file} never appeared"
    return end - outcome.started


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    from spar_hf.scene.synthetic import generate_scene, scene_name, write_scene

    root = tmp_path_factory.mktemp("scenes")
    for i in range(2):
        write_scene(generate_scene(scene_name(i), 0, 12), root)
    return root


def _generate_args(scenes: Path, out: Path) -> list[str]:
    return ["generate", "--source", "synthetic", "--scenes", str(scenes), "--out", str(out), "--seed", "3",
            "--tasks", TASKS, "--workers", "1", "--val-fraction", "0.5"]


@pytest.fixture(scope="module")
def generated(scenes, tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("gen_ref") / "spar"
    return out, _reference(_generate_args(scenes, out), out, GEN_LAST, GEN_FIRST)


def _build_args(spar: Path, out: Path) -> list[str]:
    return ["build", "--from", str(spar), "--out", str(out), "--configs", "7m,bench"]


@pytest.fixture(scope="module")
def built(generated, tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("build_ref") / "hf"
    return out, _reference(_build_args(generated[0], out), out, "README.md")


def test_generate_killed_then_resumed_is_byte_identical(scenes, generated, tmp_path):
    ref, window = generated
    out = tmp_path / "spar"
    _crash_and_resume(_generate_args(scenes, out), out, _tree(ref), window, first_file=GEN_FIRST)


def test_build_killed_then_resumed_is_byte_identical(generated, built, tmp_path):
    ref, window = built
    assert any(ref.rglob("*.zip"))
    out = tmp_path / "hf"
    _crash_and_resume(_build_args(generated[0], out), out, _tree(ref), window, (0.3, 0.7))


def test_shard_killed_then_resumed_is_byte_identical(built, tmp_path_factory, tmp_path):
    hf, _ = built

    def args(out: Path) -> list[str]:
        return ["shard", "--dataset", str(hf), "--config", "7m", "--split", "train", "--out", str(out), "--max-count", "3"]

    ref_dir = tmp_path_factory.mktemp("shard_ref") / "shards"
    # the shard writer reads and measures every row before its first tar: the kill clock starts
    # when the first shard is in place, so the kills land among the writes
    first = "spar-7m-train-000000.tar"
    window = _reference(args(ref_dir), ref_dir, "*.index.json", first_file=first)
    reference = _tree(ref_dir)
    assert sum(name.endswith(".tar") for name in reference) >= 2
    out = tmp_path / "shards"
    _crash_and_resume(args(out), out, reference, window, (0.3, 0.7), first_file=first)

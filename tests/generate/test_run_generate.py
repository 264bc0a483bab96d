"""`spar-hf generate` + `verify` end to end on 4 small synthetic scenes.

One synthesis and one reference run (workers=1) are shared by the module; the other tests
compare byte for byte against that reference tree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.synthetic_tree import read_tree, write_synthetic_scenes

from spar_hf.cli import main
from spar_hf.layout.paths import QA_FILE_RE
from spar_hf.tasks.registry import release_tasks

pytestmark = pytest.mark.slow

N_SCENES = 4
N_FRAMES = 6


def _generate(scenes: Path, out: Path, *extra: str) -> int:
    return main(["generate", "--source", "synthetic", "--scenes", str(scenes), "--out", str(out), "--seed", "7", *extra])


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    return write_synthetic_scenes(tmp_path_factory.mktemp("scenes"), N_SCENES, N_FRAMES)


@pytest.fixture(scope="module")
def reference(scenes, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "spar"
    assert _generate(scenes, out, "--workers", "1") == 0
    return out


def test_every_registered_task_and_format_is_written(reference):
    qa = reference / "synthetic" / "qa_jsonl"
    total = 0
    # the default run writes exactly the release's task folders; extensions (grounding_3d_mv) are opt-in
    assert {p.name for p in (qa / "train").iterdir()} == set(release_tasks())
    assert "grounding_3d_mv" not in release_tasks() and len(release_tasks()) == 35
    for split in ("train", "val"):
        for name, spec in release_tasks().items():
            for fmt in spec.formats:
                files = list((qa / split / name / fmt).iterdir())
                assert len(files) == 1, (split, name, fmt)
                match = QA_FILE_RE.match(files[0].name)
                assert match and match["format"] == fmt
                lines = files[0].read_bytes().count(b"\n")
                assert int(match["n"]) == lines
                total += lines
    assert total > 0
    # 4 scenes: at least one val scene, and train/val scenes are disjoint
    scenes_by_split = {}
    for split in ("train", "val"):
        scenes_by_split[split] = {json.loads(line)["meta"]["scene"] for f in (qa / split).rglob("*.jsonl")
                                  for line in f.read_text().splitlines()}
    assert not scenes_by_split["train"] & scenes_by_split["val"]
    manifests = sorted((reference / "synthetic" / "parts").glob("*/manifest.json"))
    assert len(manifests) == N_SCENES


def test_images_are_exactly_the_referenced_frames(reference):
    source = reference / "synthetic"
    referenced = set()
    for f in (source / "qa_jsonl").rglob("*.jsonl"):
        for line in f.read_text().splitlines():
            referenced.update(json.loads(line)["image"])
    colour = {str(p.relative_to(source / "images")) for p in (source / "images").rglob("*.jpg")}
    keyframe_colour = {p for p in colour if "/image_color/" in p}
    assert keyframe_colour == {p for p in referenced if "/image_color/" in p}
    assert {p for p in referenced if "/video_color/" in p} <= colour


def test_verify_reports_no_mismatch(reference, tmp_path, capsys):
    report_path = tmp_path / "verify.json"
    assert main(["verify", str(reference), "--report", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["mismatches"] == 0 and report["errors"] == 0 and report["bad_lines"] == 0
    assert report["records"] > 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("verify: in=")


def test_two_workers_give_identical_bytes(scenes, reference, tmp_path):
    out = tmp_path / "spar"
    assert _generate(scenes, out, "--workers", "2") == 0
    assert read_tree(out) == read_tree(reference)


def test_resume_after_interrupt_gives_identical_bytes(scenes, reference, tmp_path, capsys):
    out = tmp_path / "spar"
    shutil.copytree(reference, out)
    source = out / "synthetic"
    parts = sorted((source / "parts").iterdir())
    (parts[1] / "manifest.json").unlink()  # scene 1 was interrupted before its manifest
    damaged = next(parts[2].glob("*.jsonl"))  # scene 2's part file was cut short
    damaged.write_bytes(damaged.read_bytes()[: len(damaged.read_bytes()) // 2])
    (parts[1] / ".tmp-foo.jsonl.x").write_text("half")  # temp files a killed run leaves behind
    (source / "images" / parts[0].name / ".tmp-1.jpg.y").write_bytes(b"\xff")
    shutil.rmtree(source / "qa_jsonl" / "train")  # killed before assembly finished
    capsys.readouterr()
    assert _generate(scenes, out, "--workers", "1", "--resume") == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "in=4 out=4 rejected=0" in summary and "resumed=2" in summary
    assert read_tree(out) == read_tree(reference)


def test_bad_scene_is_rejected_with_reason(scenes, tmp_path, capsys):
    root = tmp_path / "scenes"
    root.mkdir()
    shutil.copytree(scenes / "scene0000_00", root / "scene0000_00")
    (root / "scene0000_00" / "pose" / "3.txt").write_text("-inf -inf -inf -inf\n" * 4)  # ScanNet's invalid pose
    broken = root / "scene0001_00"
    shutil.copytree(scenes / "scene0001_00", broken)
    (broken / "scene0001_00.aggregation.json").unlink()
    out = tmp_path / "spar"
    assert _generate(root, out, "--tasks", "obj_count", "--report", str(tmp_path / "run.json")) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "in=2 out=1 rejected=1" in summary and "bad scene: 1" in summary
    run = json.loads((tmp_path / "run.json").read_text())
    assert sum(run["frames_skipped"].values()) == 1 and run["frames"] == N_FRAMES - 1
    rejects = [json.loads(line) for line in (out / "synthetic" / "rejects.jsonl").read_text().splitlines()]
    assert [r["record"]["scene"] for r in rejects] == ["scene0001_00"]
    assert "aggregation.json" in rejects[0]["reason"]


def test_bad_arguments_are_readable_errors(scenes, tmp_path, capsys):
    assert _generate(scenes, tmp_path / "o", "--tasks", "no_such_task") == 2
    assert "unknown task(s): no_such_task" in capsys.readouterr().err
    assert main(["generate", "--source", "synthetic", "--scenes", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert main(["verify", str(tmp_path / "nothing-here")]) == 2


def test_verify_catches_a_tampered_answer(reference, tmp_path, capsys):
    out = tmp_path / "spar"
    shutil.copytree(reference, out)
    path = next((out / "synthetic" / "qa_jsonl" / "train" / "distance_prediction_oc" / "fill").glob("fill_*.jsonl"))
    lines = path.read_text().splitlines(keepends=True)
    record = json.loads(lines[0])
    truth = float(record["conversations"][1]["value"])
    record["conversations"][1]["value"] = f"{truth * 3 + 1:.1f}"  # far outside any rounding of the truth
    lines[0] = json.dumps(record) + "\n"
    path.write_text("".join(lines))
    assert main(["verify", str(out)]) == 1
    output = capsys.readouterr().out
    assert f"{path}:1: {record['id']}: mismatch" in output
    assert "mismatches=1 " in output.strip().splitlines()[-1]


def test_generator_crash_is_logged_and_fails_the_run(scenes, tmp_path, capsys, monkeypatch):
    import spar_hf.tasks.registry as registry
    from spar_hf.tasks.registry import TaskSpec

    def boom(records, rng, config):
        raise RuntimeError(f"boom in {records.scene.id}")

    table = {"obj_count": TaskSpec("obj_count", "toy", "single", ("fill",), generate=boom)}
    monkeypatch.setattr(registry, "all_tasks", lambda: table)
    root = tmp_path / "scenes"
    root.mkdir()
    shutil.copytree(scenes / "scene0002_00", root / "scene0002_00")
    out = tmp_path / "spar"
    assert _generate(root, out) == 1
    assert "rejected=1" in capsys.readouterr().out.strip().splitlines()[-1]
    (reject,) = [json.loads(line) for line in (out / "synthetic" / "rejects.jsonl").read_text().splitlines()]
    assert reject["reason"] == "crash: RuntimeError: boom in scene0002_00"
    assert "Traceback" in reject["record"]["traceback"]
    assert not (out / "synthetic" / "parts" / "scene0002_00" / "manifest.json").exists()

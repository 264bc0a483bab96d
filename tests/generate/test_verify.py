"""`spar-hf verify` on hand-made layouts with stand-in task specs (counts, exit codes, report)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spar_hf.cli import main
from spar_hf.generate import verify
from spar_hf.layout.writer import write_records
from spar_hf.records import QARecord
from spar_hf.tasks.registry import TaskSpec


def _check_distance(record: QARecord, lookup) -> list[str]:
    """Camera centre of the record's image (from the stored pose) to meta's point, 1 decimal."""
    centre = lookup.pose(record.images[0])[:3, 3]
    value = float(np.linalg.norm(np.asarray(record.meta["point"]) - centre))
    found = []
    if f"{value:.1f}" != record.answer:
        found.append(f"mismatch: re-derived {value:.1f}, stored {record.answer}")
    if abs(value - 2.0) < 0.05:
        found.append("ambiguous:margin: close to 2 m")
    return found


SPECS = {
    "toy_distance": TaskSpec("toy_distance", "toy", "single", ("fill",), generate=lambda *a: [], verify=_check_distance),
    "toy_unverified": TaskSpec("toy_unverified", "toy", "single", ("fill",), generate=lambda *a: []),
}


@pytest.fixture(autouse=True)
def toy_registry(monkeypatch):
    monkeypatch.setattr(verify, "all_tasks", lambda: SPECS)  # the table verify looks tasks up in


def _rec(n: int, answer: str, point: list[float], task: str = "toy_distance", meta: bool = True) -> QARecord:
    return QARecord(id=f"s0_{task}_{n}", task=task, format="fill", question="How far?", answer=answer,
                    images=["s0/image_color/5.jpg"], source="toy", scene="s0",
                    meta={"scene": "s0", "point": point} if meta else {})


def _layout(tmp_path: Path, records: list[QARecord]) -> Path:
    source = tmp_path / "spar" / "toy"
    pose_dir = source / "images" / "s0" / "pose"
    pose_dir.mkdir(parents=True)
    # camera at (1, 2, 0): hand-derived distances below are from this centre
    (pose_dir / "5.txt").write_text("1 0 0 1\n0 1 0 2\n0 0 1 0\n0 0 0 1\n")
    (source / "images" / "s0" / "image_color").mkdir()
    (source / "images" / "s0" / "image_color" / "5.jpg").write_bytes(b"\xff\xd8\xff")
    write_records(source, "train", records)
    return tmp_path / "spar"


def test_clean_layout_passes_and_counts_ambiguity(tmp_path, capsys):
    records = [
        _rec(0, "5.0", [4.0, 6.0, 0.0]),  # 3-4-5 triangle from (1, 2, 0)
        _rec(1, "2.0", [1.0, 2.0, 2.0]),  # straight up 2 m: exact but flagged as a near-threshold margin
        _rec(2, "1.0", [0, 0, 0], meta=False),  # official-style record: no provenance
        _rec(3, "7", [0, 0, 0], task="toy_unverified"),
    ]
    report_file = tmp_path / "r.json"
    assert main(["verify", str(_layout(tmp_path, records)), "--report", str(report_file)]) == 0
    report = json.loads(report_file.read_text())
    toy = report["tasks"]["toy_distance"]
    assert (toy["records"], toy["checked"], toy["ok"], toy["mismatch"], toy["no_provenance"]) == (3, 2, 1, 0, 1)
    assert toy["ambiguous"] == {"margin": 1}
    assert report["tasks"]["toy_unverified"]["unverifiable"] == 1
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("verify: in=4 out=4 rejected=0")


def test_wrong_answer_is_a_mismatch_and_fails(tmp_path, capsys):
    records = [_rec(0, "5.0", [4.0, 6.0, 0.0]), _rec(1, "4.0", [4.0, 6.0, 0.0])]
    report_file = tmp_path / "r.json"
    assert main(["verify", str(_layout(tmp_path, records)), "--report", str(report_file)]) == 1
    report = json.loads(report_file.read_text())
    assert report["mismatches"] == 1
    assert report["examples"] == [{"file": str(tmp_path / "spar/toy/qa_jsonl/train/toy_distance/fill/fill_2.jsonl"),
                                   "line": 2, "id": "s0_toy_distance_1", "finding": "mismatch: re-derived 5.0, stored 4.0"}]
    out = capsys.readouterr().out
    assert "fill_2.jsonl:2: s0_toy_distance_1: mismatch" in out


def test_bad_lines_missing_pose_and_unknown_task_fail(tmp_path, capsys):
    root = _layout(tmp_path, [_rec(0, "5.0", [4.0, 6.0, 0.0])])
    fill = root / "toy/qa_jsonl/train/toy_distance/fill/fill_1.jsonl"
    fill.write_text(fill.read_text() + '{"id": "broken"\n')
    fill.rename(fill.with_name("fill_2.jsonl"))
    write_records(root / "toy", "val", [QARecord("s0_x", "mystery", "fill", "q", "a", ["s0/image_color/5.jpg"], "toy", "s0",
                                                 meta={"x": 1})])
    write_records(root / "toy", "val", [QARecord("s1_d", "toy_distance", "fill", "q", "1.0", ["s1/image_color/1.jpg"], "toy",
                                                 "s1", meta={"point": [0, 0, 0]})])
    report_file = tmp_path / "r.json"
    assert main(["verify", str(root), "--report", str(report_file)]) == 1
    report = json.loads(report_file.read_text())
    assert report["bad_lines"] == 1 and "fill_2.jsonl:2: invalid JSON" in report["problems"][0]
    assert report["unknown_tasks"] == {"mystery": 1}
    assert report["errors"] == 1 and report["examples"][0]["finding"] == "error: images missing: s1/image_color/1.jpg"
    assert report["tasks"]["toy_distance"]["missing_images"] == 1


def test_missing_pose_is_an_error_and_official_missing_images_are_only_counted(tmp_path):
    root = _layout(tmp_path, [_rec(0, "5.0", [4.0, 6.0, 0.0])])
    (root / "toy/images/s0/pose/5.txt").unlink()
    report_file = tmp_path / "r.json"
    assert main(["verify", str(root), "--report", str(report_file)]) == 1
    report = json.loads(report_file.read_text())
    assert report["errors"] == 1 and "s0/pose/5.txt: pose file missing" in report["examples"][0]["finding"]

    official = QARecord("s9_1", "toy_distance", "fill", "q", "1.0", ["s9/image_color/1.jpg"], "toy", "s9")
    root2 = _layout(tmp_path / "b", [official])
    assert main(["verify", str(root2), "--report", str(report_file)]) == 0
    toy = json.loads(report_file.read_text())["tasks"]["toy_distance"]
    assert (toy["missing_images"], toy["no_provenance"], toy["errors"]) == (1, 1, 0)

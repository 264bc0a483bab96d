"""The official SPAR-7M download: QA files without images, with damaged lines the reader must report."""

from __future__ import annotations

import json
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.layout.reader import SparLayout


def _line(n: int, scene: str = "scene0261_00") -> str:
    return json.dumps({
        "id": f"{scene}_{n}",
        "conversations": [{"from": "human", "value": "How far is the red point?"}, {"from": "gpt", "value": "1.2"}],
        "image": [f"{scene}/image_color/{543 + n}.jpg"],
        "type": "depth_prediction_oc",
        "depth": [f"{scene}/image_depth/{543 + n}.png"],
        "red_point": [[553, 397]], "blue_point": [[641, 838]],
    })


def _official(tmp_path: Path) -> Path:
    root = tmp_path / "spar"
    folder = root / "scannet" / "qa_jsonl" / "train" / "depth_prediction_oc" / "fill"
    folder.mkdir(parents=True)
    lines = [
        _line(0).encode(),
        _line(1)[:40].encode(),  # truncated JSON
        b'{"id": "x", "type": "depth_prediction_oc", "image": ["caf\xe9/image_color/1.jpg"]}',  # not UTF-8
        json.dumps({"id": "y", "type": "depth_prediction_oc", "image": []}).encode(),  # no conversations
        _line(4).encode(),
    ]
    (folder / "fill_5.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "notes.jsonl").write_text("{}\n")  # not <format>_<N>.jsonl
    other = root / "scannet" / "qa_jsonl" / "val" / "depth_prediction_oc" / "select"
    other.mkdir(parents=True)
    (other / "select_2.jsonl").write_text(_line(7, "scene0300_00") + "\n")  # name says 2, holds 1
    # one image of the first record exists, the rest are missing (images are no longer shipped)
    img = root / "scannet" / "images" / "scene0261_00" / "image_color"
    img.mkdir(parents=True)
    (img / "543.jpg").write_bytes(b"\xff\xd8\xff")
    return root


def test_bad_lines_reported_with_file_line_reason(tmp_path: Path):
    root = _official(tmp_path)
    problems = []
    entries = list(SparLayout(root).iter_records(problems=problems.append))
    assert [(e.split, e.line, e.record.id) for e in entries] == [
        ("train", 1, "scene0261_00_0"), ("train", 5, "scene0261_00_4"), ("val", 1, "scene0300_00_7")]
    found = {(Path(p.file).name, p.line): p.reason for p in problems}
    assert found[("fill_5.jsonl", 2)].startswith("invalid JSON")
    assert found[("fill_5.jsonl", 3)].startswith("not UTF-8")
    assert found[("fill_5.jsonl", 4)] == "missing field 'conversations'"
    assert "notes.jsonl" in {Path(p.file).name for p in problems if p.line is None}
    assert found[("select_2.jsonl", None)] == "name says 2 lines, file has 1"
    assert len(problems) == 5


def test_official_record_fields(tmp_path: Path):
    entry = next(SparLayout(_official(tmp_path)).iter_records())
    rec = entry.record
    assert (entry.source, entry.task, entry.format) == ("scannet", "depth_prediction_oc", "fill")
    assert rec.scene == "scene0261_00" and rec.answer == "1.2"
    assert rec.markers == {"red_point": [[553, 397]], "blue_point": [[641, 838]]}
    assert rec.meta == {}


def test_missing_images_reported(tmp_path: Path):
    layout = SparLayout(_official(tmp_path))
    entries = list(layout.iter_records())
    assert layout.missing_images(entries[0].record) == ["scene0261_00/image_depth/543.png"]
    assert layout.missing_images(entries[1].record) == ["scene0261_00/image_color/547.jpg", "scene0261_00/image_depth/547.png"]


def test_missing_pose_names_file(tmp_path: Path):
    layout = SparLayout(_official(tmp_path))
    try:
        layout.frames("scannet").pose("scene0261_00/image_color/543.jpg")
    except SparError as exc:
        assert "scene0261_00/pose/543.txt" in str(exc) and "missing" in str(exc)
    else:
        raise AssertionError("expected SparError")


def test_filters(tmp_path: Path):
    layout = SparLayout(_official(tmp_path))
    assert layout.splits("scannet") == ["train", "val"]
    assert [f.path.name for f in layout.files(split="val")] == ["select_2.jsonl"]
    assert layout.count(split="train", format="fill") == 2


def test_parent_of_spar_folder_is_accepted(tmp_path: Path):
    _official(tmp_path)
    assert SparLayout(tmp_path).sources() == ["scannet"]
    assert SparLayout(tmp_path / "spar" / "scannet").sources() == ["scannet"]

"""Writer -> reader round trip on hand-made records and frames (exact paths, names, schema, RGBD files)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spar_hf.layout.reader import SparLayout
from spar_hf.layout.writer import FrameData, assemble, consistent_manifest, write_records, write_scene
from spar_hf.records import QARecord

SCENE = "scene0001_00"
TASKS = {"depth_prediction_oc": ("fill", "select", "sentence"), "obj_spatial_relation_oo": ("judge", "select", "sentence")}


def _jpeg(path: Path, colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, format="JPEG", quality=80)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def _depth_png(path: Path, value: int) -> None:
    Image.fromarray(np.full((48, 64), value, dtype=np.uint16)).save(path)


def _frames(tmp: Path) -> dict[int, FrameData]:
    src = tmp / "src"
    src.mkdir()
    k = np.array([[50.0, 0.0, 32.0], [0.0, 50.0, 24.0], [0.0, 0.0, 1.0]])
    frames = {}
    for i, colour in ((3, (200, 10, 10)), (7, (10, 200, 10)), (9, (10, 10, 200))):
        _jpeg(src / f"{i}.jpg", colour)
        _depth_png(src / f"{i}.png", 1000 + i)
        pose = np.eye(4)
        pose[:3, 3] = [i, -0.5, 2.0]
        frames[i] = FrameData(i, str(src / f"{i}.jpg"), str(src / f"{i}.png"), 1000.0, pose, k)
    return frames


def _rec(task: str, fmt: str, n: int, frames: list[int], answer: str = "1.5") -> QARecord:
    return QARecord(
        id=f"{SCENE}_{task}_{fmt}_{n}", task=task, format=fmt, question=f"q {n}?", answer=answer,
        images=[f"{SCENE}/image_color/{i}.jpg" for i in frames], source="scannet", scene=SCENE,
        depths=[f"{SCENE}/image_depth/{i}.png" for i in frames],
        markers={"red_point": [[100, 200]], "blue_point": [[300, 400]]},
        meta={"scene": SCENE, "frames": frames, "value": 1.4567},
    )


@pytest.fixture()
def written(tmp_path: Path):
    frames = _frames(tmp_path)
    out = tmp_path / "spar" / "scannet"
    records = [
        _rec("depth_prediction_oc", "fill", 0, [3]),
        _rec("depth_prediction_oc", "fill", 1, [7]),
        _rec("depth_prediction_oc", "sentence", 0, [3]),
        _rec("obj_spatial_relation_oo", "judge", 0, [3], answer="Yes"),
        _rec("depth_prediction_oc", "fill", 2, [8]),  # frame 8 is not a kept keyframe -> rejected
    ]
    params = {"seed": 0}
    manifest = write_scene(out, SCENE, records, frames, [3, 7, 9], [], TASKS, params, {"keyframes": 3})
    assemble(out, [SCENE], {SCENE: "train"}, TASKS)
    return tmp_path, out, records, frames, manifest


def test_qa_files_have_release_names(written):
    _, out, _, _, _ = written
    names = sorted(str(p.relative_to(out)) for p in (out / "qa_jsonl").rglob("*.jsonl"))
    # every (split, task, format) gets a file; N = line count; 0 when empty
    expected = []
    for split in ("train", "val"):
        counts = {("depth_prediction_oc", "fill"): 2, ("depth_prediction_oc", "sentence"): 1,
                  ("obj_spatial_relation_oo", "judge"): 1} if split == "train" else {}
        for task, formats in TASKS.items():
            for fmt in formats:
                expected.append(f"qa_jsonl/{split}/{task}/{fmt}/{fmt}_{counts.get((task, fmt), 0)}.jsonl")
    assert names == sorted(expected)


def test_record_schema_on_disk(written):
    _, out, _, _, _ = written
    line = (out / "qa_jsonl/train/depth_prediction_oc/fill/fill_2.jsonl").read_text().splitlines()[0]
    obj = json.loads(line)
    assert list(obj) == ["id", "conversations", "image", "type", "depth", "red_point", "blue_point", "meta"]
    assert obj["conversations"] == [{"from": "human", "value": "q 0?"}, {"from": "gpt", "value": "1.5"}]
    assert obj["image"] == ["scene0001_00/image_color/3.jpg"]
    assert obj["depth"] == ["scene0001_00/image_depth/3.png"]
    assert obj["type"] == "depth_prediction_oc"


def test_reader_round_trip(written):
    tmp, out, records, _, _ = written
    problems = []
    layout = SparLayout(tmp / "spar")
    assert layout.sources() == ["scannet"]
    entries = list(layout.iter_records(problems=problems.append))
    assert problems == []
    got = {(e.split, e.task, e.format, e.line): e.record for e in entries}
    assert set(got) == {("train", "depth_prediction_oc", "fill", 1), ("train", "depth_prediction_oc", "fill", 2),
                        ("train", "depth_prediction_oc", "sentence", 1), ("train", "obj_spatial_relation_oo", "judge", 1)}
    for rec in records[:4]:
        match = [r for r in got.values() if r.id == rec.id]
        assert match == [rec]
    # a single source folder works as root too
    assert SparLayout(out).count() == 4


def test_images_are_copied_bytes_and_rgbd_lookup(written):
    tmp, out, _, frames, manifest = written
    images = out / "images" / SCENE
    # only referenced frames (3 and 7) are written; 9 is a keyframe no kept record uses
    assert sorted(p.name for p in (images / "image_color").iterdir()) == ["3.jpg", "7.jpg"]
    assert (images / "image_color/3.jpg").read_bytes() == Path(frames[3].color_path).read_bytes()
    assert (images / "image_depth/7.png").read_bytes() == Path(frames[7].depth_path).read_bytes()
    assert (images / "pose/3.txt").read_text() == (
        "1.00000000 0.00000000 0.00000000 3.00000000\n"
        "0.00000000 1.00000000 0.00000000 -0.50000000\n"
        "0.00000000 0.00000000 1.00000000 2.00000000\n"
        "0.00000000 0.00000000 0.00000000 1.00000000\n")
    assert (images / "intrinsic/3.txt").read_text().splitlines()[0] == "50.00000000 0.00000000 32.00000000"
    store = SparLayout(tmp / "spar").frames("scannet")
    np.testing.assert_array_equal(store.pose(f"{SCENE}/image_color/7.jpg")[:3, 3], [7.0, -0.5, 2.0])
    np.testing.assert_array_equal(store.intrinsics(f"{SCENE}/image_color/7.jpg"),
                                  [[50, 0, 32], [0, 50, 24], [0, 0, 1]])
    assert store.size(f"{SCENE}/image_color/3.jpg") == (64, 48)
    assert int(store.depth(f"{SCENE}/image_color/7.jpg")[0, 0]) == 1007
    assert manifest["rejected"] == 1
    reject = json.loads((out / "rejects.jsonl").read_text())
    assert "not a kept keyframe" in reject["reason"] and reject["record"]["id"].endswith("_fill_2")


def test_manifest_consistency_detects_damage(written):
    _, out, _, _, _ = written
    assert consistent_manifest(out, SCENE, {"seed": 0}) is not None
    assert consistent_manifest(out, SCENE, {"seed": 1}) is None  # other parameters
    part = out / "parts" / SCENE / "depth_prediction_oc.fill.jsonl"
    part.write_text(part.read_text()[:-5])
    assert consistent_manifest(out, SCENE, {"seed": 0}) is None
    (out / "parts" / SCENE / "depth_prediction_oc.fill.jsonl").unlink()
    assert consistent_manifest(out, SCENE, {"seed": 0}) is None


def test_reassembly_replaces_old_counts(tmp_path: Path):
    out = tmp_path / "scannet"
    write_records(out, "train", [_rec("depth_prediction_oc", "fill", n, [3]) for n in range(3)])
    write_records(out, "train", [_rec("depth_prediction_oc", "fill", 0, [3])])
    assert [p.name for p in (out / "qa_jsonl/train/depth_prediction_oc/fill").iterdir()] == ["fill_1.jsonl"]


def test_intrinsics_4x4_and_video_paths(tmp_path: Path):
    root = tmp_path / "scannet" / "images" / "s1"
    (root / "intrinsic").mkdir(parents=True)
    (root / "video_pose").mkdir()
    (root / "qa_jsonl").mkdir(parents=True, exist_ok=True)
    (root / "intrinsic" / "intrinsic_color.txt").write_text(
        "577.5 0 319.5 0\n0 578.7 239.5 0\n0 0 1 0\n0 0 0 1\n")
    (root / "video_pose" / "frame2_40.txt").write_text("1 0 0 0.5\n0 1 0 0\n0 0 1 0\n")  # 3x4 accepted
    store = SparLayout(tmp_path / "scannet").frames("scannet")
    np.testing.assert_allclose(store.intrinsics("s1/video_color/frame2_40.jpg"),
                               [[577.5, 0, 319.5], [0, 578.7, 239.5], [0, 0, 1]])
    pose = store.pose("s1/video_color/frame2_40.jpg")
    np.testing.assert_array_equal(pose[3], [0, 0, 0, 1])
    assert pose[0, 3] == 0.5
    assert str(store.depth_path("s1/video_color/frame2_40.jpg")).endswith("s1/video_depth/frame2_40.png")


def test_reassembly_with_fewer_tasks_prunes_the_rest(written):
    _, out, _, _, _ = written
    result = assemble(out, [SCENE], {SCENE: "val"}, {"depth_prediction_oc": ("fill",)})
    names = sorted(str(p.relative_to(out / "qa_jsonl")) for p in (out / "qa_jsonl").rglob("*.jsonl"))
    assert names == ["train/depth_prediction_oc/fill/fill_0.jsonl", "val/depth_prediction_oc/fill/fill_2.jsonl"]
    assert sorted(p.name for p in (out / "qa_jsonl").iterdir()) == ["train", "val"]
    assert not (out / "qa_jsonl" / "train" / "obj_spatial_relation_oo").exists()
    assert result.rows[("val", "depth_prediction_oc", "fill")] == 2


def test_non_jpeg_colour_and_other_depth_scale_are_converted_once(tmp_path: Path):
    from spar_hf.layout.writer import write_frame

    Image.new("RGB", (8, 6), (0, 0, 255)).save(tmp_path / "c.png")
    # a depth map in units of 1/4000 m (ScanNet++ style): 6000 -> 1.5 m -> 1500 mm
    Image.fromarray(np.full((6, 8), 6000, dtype=np.uint16)).save(tmp_path / "d.png")
    frame = FrameData(4, str(tmp_path / "c.png"), str(tmp_path / "d.png"), 4000.0, np.eye(4), np.eye(3))
    written = write_frame(tmp_path / "images", "s/image_color/4.jpg", frame)
    assert written == ["s/image_color/4.jpg", "s/image_depth/4.png", "s/pose/4.txt", "s/intrinsic/4.txt"]
    colour = (tmp_path / "images/s/image_color/4.jpg").read_bytes()
    assert colour[:3] == b"\xff\xd8\xff"
    with Image.open(tmp_path / "images/s/image_depth/4.png") as depth:
        assert np.array(depth).dtype == np.uint16 and int(np.array(depth)[0, 0]) == 1500
    again = tmp_path / "again"
    write_frame(again, "s/image_color/4.jpg", frame)
    assert (again / "s/image_color/4.jpg").read_bytes() == colour  # deterministic encoding


def test_depth_paths_must_belong_to_the_record_images(tmp_path: Path):
    frames = _frames(tmp_path)
    frames[7] = FrameData(7, frames[7].color_path, None, 1000.0, frames[7].pose, frames[7].intrinsics)
    good = _rec("depth_prediction_oc", "fill", 0, [3])
    foreign = _rec("depth_prediction_oc", "fill", 1, [3])
    foreign.depths = [f"{SCENE}/image_depth/9.png"]
    no_depth = _rec("depth_prediction_oc", "fill", 2, [7])
    out = tmp_path / "scannet"
    manifest = write_scene(out, SCENE, [good, foreign, no_depth], frames, [3, 7, 9], [], TASKS, {}, {})
    assert manifest["parts"]["depth_prediction_oc/fill"]["lines"] == 1
    reasons = [json.loads(line)["reason"] for line in (out / "parts" / SCENE / "rejects.jsonl").read_text().splitlines()]
    assert reasons == [f"depth {SCENE}/image_depth/9.png is not the depth file of one of the record's images",
                       f"depth {SCENE}/image_depth/7.png requested but the source frame has no depth map"]

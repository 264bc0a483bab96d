"""Bad-input catalogue rows not already covered by the owning areas' tests (see RELIABILITY.md).

Each test damages one thing in an otherwise good input and checks the documented outcome: the
frame/record/file is skipped or rejected with a reason that names it, counts add up, and no
exception other than SparError (a one-line message, exit 2) escapes.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fixtures.bad_scene import N_FRAMES, SCENE, pristine, scene  # noqa: F401 (the scene fixtures)
from PIL import Image

from spar_hf.cli import main
from spar_hf.errors import SparError


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height (a 'decompression bomb' header, no pixel data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


# --- images in scenes --------------------------------------------------------------------------

def test_zero_size_truncated_and_bomb_colour_images_skip_their_frame(scene, caplog):
    from spar_hf.scene.scannet import read_scene

    (scene / "color" / "1.jpg").write_bytes(b"")                                   # zero-size file
    whole = (scene / "color" / "2.jpg").read_bytes()
    (scene / "color" / "2.jpg").write_bytes(whole[: len(whole) // 2])             # cut mid-scan
    (scene / "color" / "3.jpg").write_bytes(_png_header_only(70_000, 70_000))     # 4.9 Gpixel header
    result = read_scene(scene)
    assert [f.index for f in result.frames] == [0, 4, 5]
    assert result.skipped == {"unreadable color image": 2, "truncated color image": 1}
    logged = caplog.text
    assert all(f"color/{i}.jpg" in logged for i in (1, 2, 3))


def test_eight_bit_depth_is_refused_not_read_as_millimetres(scene, caplog):
    """An 8-bit depth PNG would read as 0..255 mm (everything 'occluded'); it is skipped with the reason."""
    from spar_hf.generate.visibility import compute_scene_records
    from spar_hf.scene.scannet import read_scene

    for path in (scene / "depth").glob("*.png"):
        mm = np.asarray(Image.open(path))
        Image.fromarray((mm // 20).clip(0, 255).astype(np.uint8)).save(path)
    loaded = read_scene(scene)
    records = compute_scene_records(loaded, [f.index for f in loaded.frames])
    assert records.images == []
    assert loaded.skipped == {"unreadable depth": N_FRAMES}
    assert "depth map is 8-bit (mode L); expected 16-bit" in caplog.text


def test_eight_bit_depth_in_a_shard_is_not_widened_silently():
    from spar_hf.train.decode import decode_depth

    buf = io.BytesIO()
    Image.fromarray(np.full((4, 4), 200, dtype=np.uint8)).save(buf, format="PNG")
    with pytest.raises(ValueError, match="0.depth.png: depth PNG is 8-bit"):
        decode_depth("0.depth.png", buf.getvalue())
    buf16 = io.BytesIO()
    Image.fromarray(np.full((4, 4), 60000, dtype=np.uint16)).save(buf16, format="PNG")
    assert decode_depth("0.depth.png", buf16.getvalue()).max() == 60000


def _generate(scenes: Path, out: Path, report: Path) -> int:
    return main(["generate", "--source", "synthetic", "--scenes", str(scenes), "--out", str(out),
                 "--tasks", "obj_count,depth_prediction_oc,obj_spatial_relation_oo", "--report", str(report)])


@pytest.mark.parametrize("keep_objects", [0, 1])
def test_scene_with_no_or_one_object_gives_no_rows_and_says_why(scene, tmp_path, capsys, keep_objects):
    agg_path = scene / f"{SCENE}.aggregation.json"
    agg = json.loads(agg_path.read_text())
    room = [g for g in agg["segGroups"] if g["label"] in ("wall", "floor", "ceiling")]
    furniture = [g for g in agg["segGroups"] if g["label"] not in ("wall", "floor", "ceiling")]
    agg["segGroups"] = room + furniture[:keep_objects]
    agg_path.write_text(json.dumps(agg))
    assert _generate(scene.parent, tmp_path / "spar", tmp_path / "run.json") == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "in=1 out=1 rejected=0 rows=0" in summary
    assert "too_few_objects" in json.dumps(json.loads((tmp_path / "run.json").read_text()))


def test_layout_pose_with_nan_names_the_file(tmp_path):
    from spar_hf.layout.reader import FrameStore

    pose = tmp_path / "images" / SCENE / "pose" / "5.txt"
    pose.parent.mkdir(parents=True)
    pose.write_text("1 0 0 nan\n0 1 0 0\n0 0 1 0\n0 0 0 1\n")
    with pytest.raises(SparError, match="5.txt"):
        FrameStore(tmp_path / "images").pose(f"{SCENE}/image_color/5.jpg")


# --- duplicate ids -----------------------------------------------------------------------------

def test_duplicate_ids_are_refused_by_the_layout_writer(tmp_path):
    from spar_hf.layout.writer import FrameData, write_scene
    from spar_hf.records import QARecord

    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(src / "3.jpg", quality=90)
    Image.fromarray(np.full((48, 64), 1500, dtype=np.uint16)).save(src / "3.png")
    k = np.array([[50.0, 0.0, 32.0], [0.0, 50.0, 24.0], [0.0, 0.0, 1.0]])
    frames = {3: FrameData(3, str(src / "3.jpg"), str(src / "3.png"), 1000.0, np.eye(4), k)}

    def rec(answer: str) -> QARecord:
        return QARecord(id=f"{SCENE}_depth_prediction_oc_fill_0", task="depth_prediction_oc", format="fill",
                        question="How far?", answer=answer, images=[f"{SCENE}/image_color/3.jpg"], source="scannet",
                        scene=SCENE, depths=[], markers={"red_point": [[10, 20]]}, meta={"scene": SCENE, "frames": [3]})

    out = tmp_path / "spar" / "scannet"
    write_scene(out, SCENE, [rec("1.5"), rec("2.5")], frames, [3], [], {"depth_prediction_oc": ("fill",)}, {"seed": 0}, {})
    parts = out / "parts" / SCENE
    kept = (parts / "depth_prediction_oc.fill.jsonl").read_text().splitlines()
    rejected = [json.loads(x) for x in (parts / "rejects.jsonl").read_text().splitlines()]
    assert len(kept) == 1 and json.loads(kept[0])["conversations"][1]["value"] == "1.5"
    assert [r["reason"] for r in rejected] == [f"duplicate id {SCENE}_depth_prediction_oc_fill_0"]
    assert rejected[0]["record"]["conversations"][1]["value"] == "2.5"


# --- SpatialForge images and ids ---------------------------------------------------------------

def _ingest(tmp_path: Path, records: list[dict]) -> tuple[int, list[dict], list[dict]]:
    root = tmp_path / "imgs"
    root.mkdir(exist_ok=True)
    Image.new("RGB", (100, 50), (0, 90, 160)).save(root / "good.jpg", quality=85)
    (root / "zero.jpg").write_bytes(b"")
    (root / "bomb.png").write_bytes(_png_header_only(70_000, 70_000))
    whole = (root / "good.jpg").read_bytes()
    (root / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    ann = tmp_path / "ann.jsonl"
    ann.write_text("".join(json.dumps(r) + "\n" for r in records))
    rc = main(["ingest", "spatialforge", "--annotations", str(ann), "--images", f"fs={root}", "--out",
               str(tmp_path / "out"), "--no-progress"])
    base = tmp_path / "out" / "spatialforge"
    rejects = [json.loads(x) for x in (base / "rejects.jsonl").read_text().splitlines()]
    outputs = [json.loads(x) for f in sorted((base / "qa_jsonl").rglob("*.jsonl")) for x in f.read_text().splitlines()]
    return rc, rejects, outputs


def _grounding(ident: str, image: str) -> dict:
    return {"id": ident, "image": image, "conversations": [
        {"from": "human", "value": "<image>\nLocate the cup."},
        {"from": "gpt", "value": '[{"bbox_2d": [100, 200, 300, 400], "label": "cup"}]'}]}


def test_zero_size_bomb_and_truncated_images_are_rejected_by_ingest(tmp_path, capsys):
    rc, rejects, outputs = _ingest(tmp_path, [_grounding("a", "good.jpg"), _grounding("b", "zero.jpg"),
                                              _grounding("c", "bomb.png"), _grounding("d", "cut.jpg")])
    assert rc == 0
    assert [o["meta"]["source_id"] for o in outputs] == ["a"]
    reasons = {r["record"]["id"]: r["reason"] for r in rejects}
    assert reasons["b"].startswith("image_unreadable:") and "zero.jpg" in reasons["b"]
    assert reasons["c"].startswith("image_corrupt:") and "bomb.png" in reasons["c"] and "pixels" in reasons["c"]
    assert reasons["d"].startswith("image_truncated:") and "cut.jpg" in reasons["d"]
    assert "in=4 out=1 rejected=3" in capsys.readouterr().out


def test_duplicate_source_ids_are_kept_apart_in_spatialforge(tmp_path):
    """Source ids are not ours to trust: both records survive, with distinct layout ids and the source id in meta."""
    rc, rejects, outputs = _ingest(tmp_path, [_grounding("same", "good.jpg"), _grounding("same", "good.jpg")])
    assert rc == 0 and rejects == []
    assert [o["meta"]["source_id"] for o in outputs] == ["same", "same"]
    assert len({o["id"] for o in outputs}) == 2

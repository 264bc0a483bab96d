"""`spar-hf export internvl|llava|qwen` on the hand-written layout; index numbers worked out by hand."""

import json

import pytest
from fixtures.build_layout import SOURCE, TRAIN_SCENE, _record, _write_jsonl, make_layout

from spar_hf.cli import main
from spar_hf.export.common import mixed, parse_mix

IMG = f"{TRAIN_SCENE}/image_color"


@pytest.fixture()
def spar(tmp_path):
    root = make_layout(tmp_path)
    video = _record("vid_0", "obj_frame_locate", "Where is the chair?", "Frame-3", [f"{IMG}/0.jpg"] * 12)
    wrong = _record("tags_0", "spatial_imagination_oc_mv", "<image>\nWhere?", "Left.", [f"{IMG}/0.jpg", f"{IMG}/10.jpg"])
    tagged = _record("tags_1", "spatial_imagination_oc_mv", "<image><image>\nWhere?", "Right.", [f"{IMG}/0.jpg", f"{IMG}/10.jpg"])
    _write_jsonl(root, "train", "obj_frame_locate", "sentence", [json.dumps(video)])
    _write_jsonl(root, "train", "spatial_imagination_oc_mv", "sentence", [json.dumps(wrong), json.dumps(tagged)])
    return root


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_internvl_index_and_records(spar, tmp_path, capsys):
    out = tmp_path / "internvl"
    assert main(["export", "internvl", "--from", str(spar), "--out", str(out),
                 "--mix", "sentence=1,select=0.1,fill=0.1,judge=0.1"]) == 0
    # train: 3 depth fill + 2 judge (1 missing image) + 1 vci sentence (+1 bad JSON) + 1 video + 2 tag records (1 wrong)
    # -> written 3 + 1 + 1 + 1 + 1 = 7, total 7 // 1000 = 0 -> scannet_0k.json
    index = json.loads((out / "scannet_0k.json").read_text())
    root = f"{spar}/{SOURCE}/images"
    assert index == {
        "scannet_depth_prediction_oc_fill": {"root": root, "annotation": f"{out}/annotations/scannet/depth_prediction_oc/fill.jsonl",
                                             "repeat_time": 0.1, "length": 3},
        "scannet_obj_frame_locate_sentence": {"root": root, "annotation": f"{out}/annotations/scannet/obj_frame_locate/sentence.jsonl",
                                              "repeat_time": 1, "length": 1},
        "scannet_obj_spatial_relation_oo_judge": {"root": root,
                                                  "annotation": f"{out}/annotations/scannet/obj_spatial_relation_oo/judge.jsonl",
                                                  "repeat_time": 0.1, "length": 1},
        "scannet_spatial_imagination_oc_mv_sentence": {"root": root,
                                                       "annotation": f"{out}/annotations/scannet/spatial_imagination_oc_mv/sentence.jsonl",
                                                       "repeat_time": 1, "length": 1},
        "scannet_view_change_infer_sentence": {"root": root, "annotation": f"{out}/annotations/scannet/view_change_infer/sentence.jsonl",
                                               "repeat_time": 1, "length": 1},
    }
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    # after mixing: int(3 * 0.1) + int(1 * 0.1) + 1 + 1 + 1 = 3; in = 7 written + 3 rejected
    assert summary.startswith("export internvl: in=10 out=7 rejected=3") and "after_mix=3" in summary
    first = _lines(out / "annotations/scannet/depth_prediction_oc/fill.jsonl")[0]
    assert first == {"id": "scene0000_00_dp_0", "image": f"{IMG}/0.jpg", "width": 160, "height": 120,
                     "conversations": [{"from": "human", "value": "<image>\nHow deep is it 0?"}, {"from": "gpt", "value": "1.5"}],
                     "red_point": [[553, 397]], "blue_point": [[641, 838]]}
    vci = _lines(out / "annotations/scannet/view_change_infer/sentence.jsonl")[0]
    assert vci["image"] == [f"{IMG}/0.jpg", f"{IMG}/20.jpg"] and vci["width_list"] == [160, 160] and vci["height_list"] == [120, 120]
    assert vci["conversations"][0]["value"] == "<image>\n<image>\nHow did the camera move?"
    video = _lines(out / "annotations/scannet/obj_frame_locate/sentence.jsonl")[0]
    assert video["conversations"][0]["value"].startswith("Frame-1: <image>\nFrame-2: <image>\n")
    assert video["conversations"][0]["value"].count("<image>") == 12
    kept = _lines(out / "annotations/scannet/spatial_imagination_oc_mv/sentence.jsonl")
    assert [r["id"] for r in kept] == ["tags_1"] and kept[0]["conversations"][0]["value"] == "<image><image>\nWhere?"
    rejects = _lines(out / "rejects_internvl.jsonl")
    assert sorted(r["reason"].split(" ")[0] for r in rejects) == ["missing", "question", "unreadable:"]
    assert any("1 <image> tag(s) for 2 image(s)" in r["reason"] for r in rejects)


def test_internvl_name_uses_thousands(tmp_path):
    root = make_layout(tmp_path)
    lines = [json.dumps(_record(f"many_{i}", "obj_count", f"How many chairs {i}?", "2", [f"{IMG}/0.jpg"])) for i in range(2500)]
    _write_jsonl(root, "train", "obj_count", "fill", lines)
    out = tmp_path / "x"
    assert main(["export", "internvl", "--from", str(root), "--out", str(out)]) == 0
    # 2500 + 3 + 1 + 1 = 2505 lines -> 2505 // 1000 = 2
    assert sorted(p.name for p in out.glob("*.json")) == ["scannet_2k.json"]
    assert json.loads((out / "scannet_2k.json").read_text())["scannet_obj_count_fill"]["length"] == 2500


def test_llava_and_qwen(spar, tmp_path):
    out = tmp_path / "chat"
    assert main(["export", "llava", "--from", str(spar), "--out", str(out)]) == 0
    rows = json.loads((out / "spar_llava.json").read_text())
    assert len(rows) == 7
    assert rows[0]["id"] == "scannet/scene0000_00_dp_0" and rows[0]["image"] == f"scannet/images/{IMG}/0.jpg"
    vci = next(r for r in rows if r["id"].endswith("vci_0"))
    assert vci["image"] == [f"scannet/images/{IMG}/0.jpg", f"scannet/images/{IMG}/20.jpg"]
    assert main(["export", "qwen", "--from", str(spar), "--out", str(out), "--mix", "fill=0.5,judge=3"]) == 0
    rows = json.loads((out / "spar_qwen.json").read_text())
    # fill: int(3 * 0.5) = 1 (the first line), judge: 1 kept x 3 = 3, four others x 1
    ids = [r["id"] for r in rows]
    assert ids.count("scannet/scene0000_00_dp_0") == 1 and "scannet/scene0000_00_dp_1" not in ids
    assert ids.count("scannet/scene0000_00_rel_0") == 3 and len(rows) == 1 + 3 + 3
    for row in rows:
        images = row["image"] if isinstance(row["image"], list) else [row["image"]]
        assert row["conversations"][0]["value"].count("<image>") == len(images)


def test_mix_rules_and_errors(spar, tmp_path, capsys):
    assert mixed(list("abcdefghij"), 0.3) == list("abc")
    assert mixed(list("abcd"), 2.5) == list("abcdabcdab")
    assert parse_mix("sentence=1, select=0.1", ["scannet"]) == {"sentence": 1.0, "select": 0.1}
    assert main(["export", "llava", "--from", str(spar), "--out", str(tmp_path / "o"), "--mix", "bogus=1"]) == 2
    assert "neither a format" in capsys.readouterr().err
    assert main(["export", "llava", "--from", str(spar), "--out", str(tmp_path / "o"), "--mix", "fill=-1"]) == 2


def test_draw_markers_writes_marked_copies(spar, tmp_path):
    import numpy as np
    from PIL import Image

    out = tmp_path / "drawn"
    assert main(["export", "qwen", "--from", str(spar), "--out", str(out), "--draw-markers"]) == 0
    rows = {r["id"]: r for r in json.loads((out / "spar_qwen.json").read_text())}
    dp = rows["scannet/scene0000_00_dp_0"]
    assert dp["image"] == "images/scannet/marked/scene0000_00_dp_0_0.jpg"
    pixels = np.array(Image.open(out / dp["image"]).convert("RGB"))
    # red point (553, 397) of 160x120 -> pixel (88, 48); blue (641, 838) -> (103, 101); far corner stays grey
    assert abs(pixels[48, 88].astype(int) - [255, 0, 0]).max() <= 40
    assert abs(pixels[101, 103].astype(int) - [0, 0, 255]).max() <= 40
    assert abs(pixels[5, 5].astype(int) - 128).max() <= 6
    vci = rows["scannet/scene0000_00_vci_0"]  # no markers: linked unchanged under the layout path
    assert vci["image"] == [f"images/scannet/{IMG}/0.jpg", f"images/scannet/{IMG}/20.jpg"]
    assert (out / vci["image"][0]).read_bytes() == (spar / "scannet" / "images" / IMG / "0.jpg").read_bytes()
    assert main(["export", "internvl", "--from", str(spar), "--out", str(out), "--draw-markers"]) == 2

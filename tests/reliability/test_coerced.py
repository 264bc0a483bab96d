"""Values of the wrong type that used to be coerced silently (reliability round two, item 9): each is now a
clear reject or error naming the file, record or frame and what was found, never a traceback, never a
silently different value.

Every hostile value is written here by hand into an otherwise valid input, so the expected outcome is
known without running our code: the reasons below are spelled out from the value written.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import trimesh
from fixtures.bad_scene import N_FRAMES, SCENE, pristine, scene  # noqa: F401 (the scene fixtures)
from fixtures.hostile import HUGE, _grounding, _ingest
from fixtures.sources import write_scannetpp_scene, write_structured3d_scene
from fixtures.synthetic_tree import write_synthetic_scenes
from PIL import Image

from spar_hf.cli import main
from spar_hf.errors import SparError
from spar_hf.geometry import same_aspect

AGG = f"{SCENE}.aggregation.json"
SEGS = f"{SCENE}_vh_clean_2.0.010000.segs.json"
PLY = f"{SCENE}_vh_clean_2.ply"


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _corrupt_vertex(ply: Path, index: int, value: float) -> int:
    """Set vertex `index`'s x to `value` (NaN, inf) and rewrite the PLY; returns the vertex count."""
    mesh = trimesh.load(ply, process=False, force="mesh")
    vertices = np.array(mesh.vertices)
    vertices[index, 0] = value
    trimesh.Trimesh(vertices, mesh.faces, process=False).export(ply)
    return len(vertices)


def _group(data: dict, key: str, value) -> None:
    data["segGroups"][1][key] = value


# (file, edit, reason after "<file>: "); before, each was read: int(1.5) = 1 named another object's
# segment, str(["chair"]) became the label "['chair']", int("3") the object 3, numpy truncated 0.5 to 0.
SCANNET_CASES = {
    "segment 1.5": (AGG, lambda d: _group(d, "segments", d["segGroups"][1]["segments"][:1] + [1.5]),
                    "segGroups[1]: segments[1] is a number (1.5), expected an integer"),
    "segment 2.0": (AGG, lambda d: _group(d, "segments", [2.0]), "segGroups[1]: segments[0] is a number (2.0), expected an integer"),
    "segment '3'": (AGG, lambda d: _group(d, "segments", ["3"]), 'segGroups[1]: segments[0] is a string ("3"), expected an integer'),
    "segment true": (AGG, lambda d: _group(d, "segments", [True]), "segGroups[1]: segments[0] is a boolean (true), expected an integer"),
    "label list": (AGG, lambda d: _group(d, "label", ["chair"]), 'segGroups[1]: label is an array (["chair"]), expected a string'),
    "label number": (AGG, lambda d: _group(d, "label", 5), "segGroups[1]: label is an integer (5), expected a string"),
    "objectId '3'": (AGG, lambda d: _group(d, "objectId", "3"), 'segGroups[1]: objectId is a string ("3"), expected an integer'),
    "segIndices 0.5": (SEGS, lambda d: d["segIndices"].__setitem__(4, 0.5), "segIndices[4] is a number (0.5), expected an integer"),
}


@pytest.mark.parametrize("case", list(SCANNET_CASES))
def test_wrongly_typed_scannet_annotation_values_reject_the_scene(scene, case):
    from spar_hf.scene.scannet import read_scene

    name, edit, reason = SCANNET_CASES[case]
    _edit_json(scene / name, edit)
    with pytest.raises(SparError) as exc:
        read_scene(scene)
    assert str(exc.value) == f"{scene / name}: {reason}"


def test_a_number_past_the_digit_limit_in_scene_json_is_an_error_not_a_traceback(scene):
    """json.loads raises a plain ValueError (not JSONDecodeError) for it: the scene 'crashed' with a traceback."""
    from spar_hf.scene.scannet import read_scene

    path = scene / AGG
    path.write_text(path.read_text().replace('"segGroups"', f'"n": {HUGE}, "segGroups"', 1))
    with pytest.raises(SparError) as exc:
        read_scene(scene)
    assert str(exc.value) == f"{path}: not valid JSON (a number of more than 4300 digits)"


@pytest.mark.parametrize("value, shown", [(float("nan"), "nan"), (float("inf"), "inf")])
def test_a_non_finite_mesh_vertex_rejects_the_scene(scene, value, shown):
    """Before: the vertex made its object's box NaN, so the object was never visible, with no message."""
    from spar_hf.scene.scannet import read_scene

    ply = scene / PLY
    n = _corrupt_vertex(ply, 5, value)
    with pytest.raises(SparError) as exc:
        read_scene(scene)
    assert str(exc.value).startswith(f"{ply}: 1 of {n} mesh vertices are not finite (NaN or infinity; "
                                     f"first: vertex 5 = [{shown}, ")


def test_generate_rejects_the_scene_with_a_nan_vertex_and_writes_the_other(tmp_path, capsys):
    root = write_synthetic_scenes(tmp_path / "scenes", 2, N_FRAMES)
    ply = root / "scene0001_00" / "scene0001_00_vh_clean_2.ply"
    n = _corrupt_vertex(ply, 0, float("nan"))
    out = tmp_path / "spar"
    assert main(["generate", "--source", "synthetic", "--scenes", str(root), "--out", str(out), "--tasks", "obj_count"]) == 0
    assert "in=2 out=1 rejected=1" in capsys.readouterr().out.strip().splitlines()[-1]
    (reject,) = [json.loads(x) for x in (out / "synthetic" / "rejects.jsonl").read_text().splitlines()]
    assert reject["record"]["scene"] == "scene0001_00"
    assert reject["reason"].startswith(f"bad scene: {ply}: 1 of {n} mesh vertices are not finite")


# --- ScanNet++ and Structured3D ------------------------------------------------------------------

def test_wrongly_typed_scannetpp_values_and_a_nan_vertex_reject_the_scene(tmp_path):
    """Before: numpy turned the segment ids 100.0, 101 into 100, 101 without a word."""
    from spar_hf.scene.scannetpp import read_scene

    folder = write_scannetpp_scene(tmp_path / "pp")
    anno = folder / "scans" / "segments_anno.json"
    pristine = anno.read_text()
    _edit_json(anno, lambda d: _group(d, "segments", [100.0, 101]))
    with pytest.raises(SparError) as exc:
        read_scene(folder)
    assert str(exc.value) == f"{anno}: segGroups[1]: segments[0] is a number (100.0), expected an integer"
    anno.write_text(pristine)
    _edit_json(anno, lambda d: _group(d, "label", ["table"]))
    with pytest.raises(SparError) as exc:
        read_scene(folder)
    assert str(exc.value) == f'{anno}: segGroups[1]: label is an array (["table"]), expected a string'
    anno.write_text(pristine)
    ply = folder / "scans" / "mesh_aligned_0.05.ply"
    n = _corrupt_vertex(ply, 2, float("nan"))
    with pytest.raises(SparError) as exc:
        read_scene(folder)
    assert str(exc.value).startswith(f"{ply}: 1 of {n} mesh vertices are not finite")


def test_wrongly_typed_structured3d_box_values_reject_the_scene(tmp_path):
    """Before: int("11") gave object 11 and numpy parsed the coefficient "600" as 600.0."""
    from spar_hf.scene.structured3d import read_scene

    folder = write_structured3d_scene(tmp_path / "s3d")
    boxes = folder / "bbox_3d.json"
    pristine = boxes.read_text()
    _edit_json(boxes, lambda d: d[0].__setitem__("ID", "11"))
    with pytest.raises(SparError) as exc:
        read_scene(folder)
    assert str(exc.value) == f'{boxes}: box [0]: ID is a string ("11"), expected an integer'
    boxes.write_text(pristine)
    _edit_json(boxes, lambda d: d[0].__setitem__("coeffs", ["600", 300.0, 400.0]))
    with pytest.raises(SparError) as exc:
        read_scene(folder)
    assert str(exc.value) == f'{boxes}: box [0] (ID 11): coeffs is an array (["600", 300.0, 400.0]), expected 3 numbers'


def test_structured3d_render_whose_colour_has_another_aspect_ratio_is_skipped(tmp_path, caplog):
    """The camera comes from the depth map's size; a 384x384 colour image for a 384x288 depth map was
    used as if it had the depth map's field of view."""
    from spar_hf.scene.structured3d import read_scene

    folder = write_structured3d_scene(tmp_path / "s3d")
    colour = folder / "2D_rendering" / "485142" / "perspective" / "full" / "0" / "rgb_rawlight.png"
    Image.new("RGB", (384, 384), (10, 20, 30)).save(colour)
    with caplog.at_level(logging.WARNING):
        result = read_scene(folder)
    assert len(result.frames) == 2 and all(f.color_path != str(colour) for f in result.frames)
    assert result.skipped.get("render whose colour image and depth map differ in aspect ratio") == 1
    assert f"{colour}: colour image 384x384, depth map 384x288: aspect ratios differ; render skipped" in caplog.text


# --- depth maps of another aspect ratio at visibility -------------------------------------------

def test_same_aspect_allows_scannets_depth_and_refuses_another_shape():
    assert same_aspect(640, 480, 1296, 968)      # ScanNet: 1.3333 vs 1.3388, 0.4 % apart
    assert same_aspect(320, 240, 640, 480)       # half resolution, same field of view
    assert not same_aspect(640, 640, 640, 480)   # 1.0 vs 1.333
    assert not same_aspect(480, 640, 640, 480)   # portrait depth for a landscape image
    assert not same_aspect(640, 486, 640, 480)   # 1.25 % off: past the 1 % tolerance
    assert not same_aspect(0, 480, 640, 480)


def _depth(path: Path, width: int, height: int) -> None:
    Image.fromarray(np.full((height, width), 2000, np.uint16)).save(path)


def test_depth_map_of_another_aspect_ratio_skips_its_frame_with_a_count(scene, caplog):
    """Before: a 640x640 (or portrait 480x640) depth map was stretched over the 640x480 colour image."""
    from spar_hf.generate.visibility import compute_scene_records
    from spar_hf.scene.scannet import read_scene

    _depth(scene / "depth" / "1.png", 640, 640)
    _depth(scene / "depth" / "2.png", 480, 640)
    _depth(scene / "depth" / "3.png", 320, 240)  # same aspect, half resolution: used
    loaded = read_scene(scene)
    with caplog.at_level(logging.WARNING):
        records = compute_scene_records(loaded, [0, 1, 2, 3])
    assert [im.frame_index for im in records.images] == [0, 3]
    assert loaded.skipped == {"depth aspect ratio differs from colour image": 2}
    assert (f"{scene / 'depth' / '1.png'}: depth map 640x640, colour image 640x480: aspect ratios differ; "
            f"frame 1 skipped") in caplog.text
    assert f"{scene / 'depth' / '2.png'}: depth map 480x640" in caplog.text


# --- SpatialForge ingest ------------------------------------------------------------------------

def _turns(ident: str, question, answer, **fields) -> str:
    return json.dumps({"id": ident, "image": "good.jpg", **fields, "conversations": [
        {"from": "human", "value": question}, {"from": "gpt", "value": answer}]})


def test_wrongly_typed_ingest_values_are_rejected_with_the_reason(tmp_path):
    """Before: str() wrote an object answer as "{'text': 'A'}", a list label as "['cup']", the id 3.5 as
    "3.5"; each was ingested. Now each is one `bad_value` reject; the valid records are all written."""
    locate = "<image>\nLocate the cup."
    box_answer = json.dumps([{"bbox_2d": [100, 200, 300, 400], "label": "cup"}])
    hostile = [
        (_turns("answer_object", locate, {"text": "A"}),
         'bad_value: answer (conversations[1]) is an object ({"text": "A"}), expected text (a string or a list of text parts)'),
        (_turns("answer_number", "<image>\nHow many cups?", 3),
         "bad_value: answer (conversations[1]) is an integer (3), expected text (a string or a list of text parts)"),
        (_turns("answer_bool", "<image>\nIs the cup left of the plate?", True),
         "bad_value: answer (conversations[1]) is a boolean (true), expected text (a string or a list of text parts)"),
        (_turns("question_part", [{"type": "image"}, {"type": "text", "text": 5}], box_answer),
         "bad_value: question (conversations[0]) part 1 is an integer (5), expected text"),
        (_turns("label_list", locate, json.dumps([{"bbox_2d": [100, 200, 300, 400], "label": ["cup"]}])),
         'bad_value: label of box 1 in the answer is an array (["cup"]), expected a string'),
        (_turns("label_number", locate, json.dumps([{"bbox_2d": [100, 200, 300, 400], "label": 3}])),
         "bad_value: label of box 1 in the answer is an integer (3), expected a string"),
        (_turns("field_label", locate, box_answer, boxes=[{"bbox_2d": [100, 200, 300, 400], "label": ["cup"]}]),
         'bad_value: label of box 1 in the field is an array (["cup"]), expected a string'),
        (json.dumps({**_grounding("x", "good.jpg"), "id": {"a": 1}}),
         'bad_value: id is an object ({"a": 1}), expected a string or an integer'),
        (json.dumps({**_grounding("x", "good.jpg"), "id": 3.5}), "bad_value: id is a number (3.5), expected a string or an integer"),
        (json.dumps({**_grounding("source_list", "good.jpg"), "source": ["fs"]}),
         'bad_value: source is an array (["fs"]), expected a string or an integer'),
    ]
    good = [json.dumps(_grounding("good", "good.jpg")),
            _turns("content_list", [{"type": "image"}, {"type": "text", "text": "Locate the cup."}], box_answer),
            json.dumps({**_grounding("x", "good.jpg"), "id": 7})]
    rc, rejects, outputs = _ingest(tmp_path, [good[0], *(line for line, _ in hostile), *good[1:]])
    assert rc == 0
    assert {r["line"]: r["reason"] for r in rejects} == {2 + i: reason for i, (_, reason) in enumerate(hostile)}
    assert sorted(o["meta"]["source_id"] for o in outputs) == ["7", "content_list", "good"]
    (content,) = [o for o in outputs if o["meta"]["source_id"] == "content_list"]
    assert content["conversations"][0]["value"] == "Locate the cup."
    summary = json.loads((tmp_path / "out" / "spatialforge" / "ingest_summary.json").read_text())
    assert (summary["in"], summary["out"], summary["rejected"]) == (13, 3, 10)


def test_the_mapping_reads_text_parts_and_refuses_other_values():
    from spar_hf.ingest.mapping import DEFAULTS, PATH_FIELDS, Mapping
    from spar_hf.ingest.validate import Rejected

    mapping = Mapping(paths={**{k: DEFAULTS[k] for k in PATH_FIELDS}, "question": ["q"], "answer": ["a"], "image": ["img"]})
    ex = mapping.extract({"img": "x.jpg", "q": ["Where ", {"type": "image"}, {"text": "is it?"}], "a": "Here."})
    assert ex.turns == [("Where is it?", "Here.")]
    with pytest.raises(Rejected) as exc:
        mapping.extract({"img": "x.jpg", "q": "Where?", "a": {"answer": "Here."}})
    assert exc.value.reason == ('bad_value: answer (a) is an object ({"answer": "Here."}), expected text '
                                '(a string or a list of text parts)')
    with pytest.raises(Rejected) as exc:
        mapping.extract({"img": "x.jpg", "q": "Where?", "a": "Here.", "image_sha256": 12})
    assert exc.value.reason == "bad_value: image_sha256 is an integer (12), expected a string"


# --- training: a row's view indices ------------------------------------------------------------

def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("views", [[-1], [0.0], ["0"], [], 0, [0, 2], [True]])
def test_a_row_naming_a_negative_float_or_out_of_range_view_is_an_incomplete_sample(views):
    """Shard samples are chunks of rows; each row's `views` indexes the chunk's images (here 2). A negative
    index would have read the last image, a float one failed deep in the loader."""
    from spar_hf.train.rows import IncompleteSample, decode_chunk

    meta = {"format": 2, "frames": ["f0", "f1"], "has_depth": False, "rows": [{"id": "r", "row": 0, "views": views}]}
    sample = {"__key__": "k", "__url__": "s.tar", "json": json.dumps(meta).encode(), "0.png": _png(), "1.png": _png()}
    with pytest.raises(IncompleteSample) as exc:
        decode_chunk(sample)
    assert str(exc.value) == "sample k @ s.tar: row 0 names images outside 0..1"

"""Unit checks for the SpatialForge ingester's pieces and the export box conversions (values by hand)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from spar_hf.export.boxes import (
    boxes_to_pixels,
    boxes_to_qwen25,
    convert_record_json,
    convert_text,
    find_boxes,
    format_internvl,
    format_qwen3,
    format_qwen25,
    pixels_to_boxes,
    smart_resize,
)
from spar_hf.ingest.mapping import Mapping
from spar_hf.ingest.readers import detect_format, iter_json_array, iter_jsonl, iter_parquet
from spar_hf.ingest.tasks import infer_format, infer_task, normalise_task
from spar_hf.ingest.validate import Rejected, check_box, check_count


# --- export conversions -----------------------------------------------------------------------

def test_smart_resize_by_hand():
    # 640x480: 480/28 = 17.14 -> 17*28 = 476; 640/28 = 22.86 -> 23*28 = 644; 476*644 within the default budget
    assert smart_resize(480, 640) == (476, 644)
    # 800x600: 600/28 = 21.4 -> 588; 800/28 = 28.6 -> 812
    assert smart_resize(600, 800) == (588, 812)
    # 10x10 is below min_pixels 3136: beta = sqrt(3136/100) = 5.6 -> ceil(56/28)*28 = 56 per side
    assert smart_resize(10, 10) == (56, 56)
    # 6000x4000 (24 MP) is above max_pixels 16384*784 = 12,845,056: beta = sqrt(24e6/12845056) = 1.36690;
    # 4000/1.3669/28 = 104.5 -> 104*28 = 2912; 6000/1.3669/28 = 156.8 -> 156*28 = 4368
    assert smart_resize(4000, 6000) == (2912, 4368)
    # the transformers processor default max_pixels = 1280*28*28 = 1,003,520: 1920x1080 ->
    # beta = sqrt(2073600/1003520) = 1.43747; 1080/1.43747/28 = 26.8 -> 728; 1920/1.43747/28 = 47.7 -> 1316
    assert smart_resize(1080, 1920, max_pixels=1280 * 28 * 28) == (728, 1316)
    with pytest.raises(ValueError):
        smart_resize(1, 500)


def test_pixels_and_qwen25_boxes_by_hand():
    assert boxes_to_pixels([[250, 500, 750, 1000]], 640, 480).tolist() == [[160.0, 240.0, 480.0, 480.0]]
    assert pixels_to_boxes([[160, 240, 480, 480]], 640, 480).tolist() == [[250, 500, 750, 1000]]
    # 640x480 -> model input 644 wide, 476 high: 0.1*644 = 64.4 -> 64, 0.2*476 = 95.2 -> 95,
    # 0.3*644 = 193.2 -> 193, 0.4*476 = 190.4 -> 190
    assert boxes_to_qwen25([[100, 200, 300, 400]], 640, 480).tolist() == [[64, 95, 193, 190]]
    assert format_qwen25([[100, 200, 300, 400]], ["cup"], 640, 480) == '[{"bbox_2d": [64, 95, 193, 190], "label": "cup"}]'


def test_qwen3_and_internvl_formats():
    assert format_qwen3([[100, 200, 300, 400]], ["cup"]) == '[{"bbox_2d": [100, 200, 300, 400], "label": "cup"}]'
    assert format_internvl([[100, 200, 300, 400]], ["cup"]) == "<ref>cup</ref><box>[[100, 200, 300, 400]]</box>"
    two = format_internvl([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], ["cup", "cup", "dog"])
    assert two == "<ref>cup</ref><box>[[1, 2, 3, 4], [5, 6, 7, 8]]</box>, <ref>dog</ref><box>[[9, 10, 11, 12]]</box>"
    assert format_internvl([[1, 2, 3, 4]], [None]) == "<box>[[1, 2, 3, 4]]</box>"


def test_convert_text_all_styles():
    answer = '```json\n[{"bbox_2d": [100, 200, 300, 400], "label": "cup"}]\n```'
    assert convert_text(answer, "qwen3") == answer
    assert convert_text(answer, "internvl") == "<ref>cup</ref><box>[[100, 200, 300, 400]]</box>"
    assert convert_text(answer, "qwen25", 640, 480) == '```json\n[{"bbox_2d": [64, 95, 193, 190], "label": "cup"}]\n```'
    question = "Is the cup [100, 200, 300, 400] left of the plate [500, 200, 700, 400]?"
    assert convert_text(question, "internvl") == (
        "Is the cup <box>[[100, 200, 300, 400]]</box> left of the plate <box>[[500, 200, 700, 400]]</box>?")
    # 500/1000*644 = 322, 200/1000*476 = 95.2 -> 95, 700/1000*644 = 450.8 -> 451, 0.4*476 = 190.4 -> 190
    assert convert_text(question, "qwen25", 640, 480) == (
        "Is the cup [64, 95, 193, 190] left of the plate [322, 95, 451, 190]?")
    # already-InternVL text is left alone
    tagged = "<ref>cup</ref><box>[[1, 2, 3, 4]]</box>"
    assert convert_text(tagged, "internvl") == tagged
    record = {"id": "x", "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": answer}],
              "meta": {"image_size": [640, 480]}}
    out = convert_record_json(record, "qwen25")
    assert out["conversations"][1]["value"].startswith('```json\n[{"bbox_2d": [64, 95, 193, 190]')
    assert record["conversations"][0]["value"] == question  # input untouched


def test_find_boxes():
    spans = find_boxes('Q [1, 2, 3, 4] and {"bbox_2d": [5, 6, 7, 8.5], "label": "dog"} then [9, 1e2] and [a, b]')
    assert [(s.values, s.label, s.kind) for s in spans] == [((1, 2, 3, 4), None, "list"),
                                                           ((5, 6, 7, 8.5), "dog", "object"),
                                                           ((9, 100.0), None, "list")]
    (nan_span,) = find_boxes("[NaN, 1, 2, 3]")
    assert math.isnan(nan_span.values[0])
    assert find_boxes("no boxes here") == []


def test_find_boxes_innermost_lists_and_order():
    # only a bracket with no bracket inside is a list; positions are [start, end) in the text
    assert [(s.start, s.end, s.values) for s in find_boxes("a [1, [2, 3], 4] b [5, 6]")] == [(6, 12, (2, 3)),
                                                                                          (19, 25, (5, 6))]
    assert find_boxes("[1, 2") == [] and find_boxes("]] [3, 4") == [] and find_boxes("[7] [a, 1]") == []
    # a list before an object comes first; the list inside the object is the object's
    spans = find_boxes('x [7, 8, 9, 10] {"bbox_2d": [1, 2, 3, 4]} [1, 2]')
    assert [(s.start, s.kind, s.values) for s in spans] == [(2, "list", (7, 8, 9, 10)), (16, "object", (1, 2, 3, 4)),
                                                            (42, "list", (1, 2))]
    assert spans[1].end == 41


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("values, reason", [
    ([0, 0, 1000, 1000], None),
    ([0, 0, 999, 999], None),  # the 0..999 convention
    ([10.5, 20, 30, 40.25], None),
    ([-1, 0, 10, 10], "bbox_out_of_range: b [-1, 0, 10, 10] outside 0..1000"),
    ([0, 0, 10, 1001], "bbox_out_of_range: b [0, 0, 10, 1001] outside 0..1000"),
    ([10, 0, 10, 5], "bbox_inverted: b [10, 0, 10, 5] needs x1 < x2 and y1 < y2"),
    ([1, 2, 3], "bbox_arity: b [1, 2, 3] has 3 numbers, expected 4"),
    ([1, 2, 3, float("inf")], "bbox_not_finite: b [1, 2, 3, inf] holds NaN or infinity"),
    ([1, "2", 3, 4], "bbox_malformed: b [1, 2, 3, 4] holds a non-number '2'"),
    ([True, 2, 3, 4], "bbox_malformed: b [True, 2, 3, 4] holds a non-number True"),
    ("1,2,3,4", "bbox_malformed: b is '1,2,3,4', not a list of 4 numbers"),
])
def test_check_box(values, reason):
    if reason is None:
        assert check_box(values, "b") == tuple(values)
    else:
        with pytest.raises(Rejected) as exc:
            check_box(values, "b")
        assert exc.value.reason == reason


@pytest.mark.parametrize("value, expected", [
    (3, 3), (0, 0), (4.0, 4), ("There are 12 apples.", 12), ("seven", 7), ("No, zero.", 0),
    (-1, "count_negative: c is -1"), ("-3", "count_negative: c is -3"), (2.5, "count_not_integer: c is 2.5"),
    (True, "count_not_integer: c is True"), ("many", "count_missing: no number in c 'many'"),
])
def test_check_count(value, expected):
    if isinstance(expected, int):
        assert check_count(value, "c") == expected
    else:
        with pytest.raises(Rejected) as exc:
            check_count(value, "c")
        assert exc.value.reason == expected


# --- tasks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("question, qbox, abox, task", [
    ("Locate the red mug.", False, True, "grounding"),
    ("Locate the red mug.", False, False, None),  # no box in the answer: not grounding
    ("Please output the bounding box of the chair on the left.", False, True, "grounding"),
    ("Describe the region [1, 2, 3, 4].", True, False, "referring"),
    ("How many people are in the photo?", False, False, "counting"),
    ("Which object is closer to the camera, A [..] or B [..]?", True, False, "near_far"),
    ("Is the lamp to the right of the sofa?", False, False, "left_right"),
    ("From the perspective of the man, is the car on his left?", False, False, "perspective"),
    ("What is the weather like?", False, False, None),
])
def test_infer_task(question, qbox, abox, task):
    assert infer_task(question, qbox, abox) == task


def test_normalise_task_aliases():
    assert normalise_task("Near-Far") == "near_far"
    assert normalise_task("spatialforge_left_right") == "left_right"
    assert normalise_task("COUNT") == "counting"
    assert normalise_task("segmentation") is None
    assert normalise_task(None) is None
    assert normalise_task(" Point  of-View ") is None and normalise_task(" relative -- depth ") == "near_far"
    assert normalise_task("spatialforge_" + "x" * 70) is None  # long values skip the cache, same answer
    assert normalise_task(7) is None


def test_infer_task_takes_any_truthy_box_flags():
    assert infer_task("Locate the red mug.", 0, [1]) == "grounding"
    assert infer_task("Locate the red mug.", None, None) is None
    assert infer_task("Describe the region.", "yes", 0) == "referring"


def test_infer_format():
    assert infer_format("left_right", "Is A left of B?", "Yes, it is.") == "judge"
    assert infer_format("near_far", "Which is closer? (A) chair (B) table", "(B) table") == "select"
    assert infer_format("grounding", "Locate the cup.", '[{"bbox_2d": [1, 2, 3, 4]}]') == "fill"
    assert infer_format("near_far", "Which is closer?", "The chair.") == "sentence"
    assert infer_format("near_far", "Which is closer?", "  NO, the table.") == "judge"
    assert infer_format("near_far", "Which is closer?", "nothing") == "sentence"  # "no" needs a word end
    assert infer_format("near_far", "Pick: A. chair B. table", "B. table") == "select"  # options in the question
    assert infer_format("near_far", "Which is closer?", "B. table") == "sentence"  # long, and no options
    assert infer_format("near_far", "Which is closer?", " (C) ") == "select"
    assert infer_format("left_right", "How far?", " 12. ") == "fill"
    assert infer_format("left_right", "How far?", "12 m") == "sentence"


# --- mapping --------------------------------------------------------------------------------------

QA = [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]


@pytest.mark.parametrize("record, expected", [
    ({"id": 7, "image": "a.jpg", "task": "Count", "source": 5, "conversations": QA},
     ("7", "a.jpg", "5", "Count", "task", "Q?", "A.")),
    ({"conversations": QA, "width": 3, "image_path": "a.jpg"}, (None, "a.jpg", None, None, None, "Q?", "A.")),
    ({"image": "a.jpg", "type": None, "messages": [{"from": "user", "value": "Q?"}, {"from": "assistant", "value": ""}]},
     (None, "a.jpg", None, None, None, "Q?", "")),
    ({"image": "a.jpg", "images": "b.jpg", "conversations": QA}, None),  # two image keys: priority decides
    ({"image": "a.jpg", "count": 2, "conversations": QA}, None),  # a field `common` does not read
    ({"image": "", "conversations": QA}, None),
    ({"image": ["a.jpg"], "conversations": QA}, None),
    ({"conversations": QA}, None),
    ({"image": "a.jpg", "conversations": QA + QA}, None),
    ({"image": "a.jpg", "conversations": [{"role": "user", "value": "Q?"}, {"from": "gpt", "value": "A."}]}, None),
    ({"image": "a.jpg", "conversations": [QA[0], {"from": "gpt", "value": ["A."]}]}, None),
    ({"image": "a.jpg", "conversations": [QA[1], QA[0]]}, None),
    ([QA], None),
])
def test_mapping_common_reads_what_extract_reads(record, expected):
    mapping = Mapping()
    assert mapping.common(record) == expected
    assert mapping.common(record) == expected  # the second time from the remembered key layout
    if expected is not None:
        ex = mapping.extract(record)
        assert (ex.source_id, ex.images, ex.source, ex.task_value, ex.task_field, ex.turns, ex.field_boxes, ex.count,
                ex.image_sha256) == (*expected[:1], [expected[1]], *expected[2:5], [expected[5:]], [], None, None)


def test_mapping_common_off_when_a_role_is_both():
    # "gpt" counts as human too: the reply restarts the question, so there is no exchange at all
    mapping = Mapping(human_roles=["human", "gpt"])
    assert mapping.common({"image": "a.jpg", "conversations": QA}) is None
    with pytest.raises(Rejected) as exc:
        mapping.extract({"image": "a.jpg", "conversations": QA})
    assert exc.value.reason == "missing_field: conversations has no human/gpt turn followed by a gpt/assistant turn"


@pytest.mark.parametrize("role", [["human"], {"x": 1}])
def test_a_list_or_object_role_is_no_turn_and_the_record_is_rejected(role):
    record = {"image": "a.jpg", "conversations": [{"from": role, "value": "Q?"}, {"from": "gpt", "value": "A."}]}
    mapping = Mapping()
    assert mapping.common(record) is None
    with pytest.raises(Rejected) as exc:
        mapping.extract(record)
    assert exc.value.reason == "missing_field: conversations has no human/user turn followed by a gpt/assistant turn"


# --- readers --------------------------------------------------------------------------------------

def test_json_array_streaming_lines_and_errors(tmp_path):
    records = [{"id": i, "text": "é" * (i % 7), "v": [1.5, None, True]} for i in range(50)]
    path = tmp_path / "a.json"
    text = json.dumps(records, indent=1, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    lines = text.split("\n")
    for chunk in (1, 5, 64, 1 << 20):  # elements straddling every possible chunk boundary
        got = list(iter_json_array(path, chunk))
        assert [r.data for r in got] == records
        assert all(lines[r.line - 1] == " {" for r in got)
    path.write_text('[{"a": 1},\n {"a": tru},\n {"a": 3}]')
    got = list(iter_json_array(path, 3))
    assert [(r.line, r.data) for r in got] == [(1, {"a": 1}), (2, None)]
    assert got[1].error == "invalid_json: Expecting value; rest of file not read"
    path.write_text('[{"a": 1},\n {"a": 2}')  # truncated: both elements read, then the missing ']'
    got = list(iter_json_array(path, 4))
    assert [r.data for r in got[:2]] == [{"a": 1}, {"a": 2}]
    assert got[2].error == "invalid_json: unexpected end of file; array not closed"
    path.write_text('[123456, 7]')  # a number cut at a chunk edge must not be read short
    assert [r.data for r in iter_json_array(path, 2)] == [123456, 7]


def test_jsonl_and_detect(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{bad\n{"a": 2}\n')
    got = [(r.line, r.data, r.error) for r in iter_jsonl(path)]
    assert got == [(1, {"a": 1}, None), (3, None, "invalid_json: Expecting property name enclosed in double quotes"),
                   (4, {"a": 2}, None)]
    lines_json = tmp_path / "b.json"
    lines_json.write_text('{"a": 1}\n{"a": 2}\n')
    assert detect_format(lines_json) == "jsonl"
    arr = tmp_path / "c.json"
    arr.write_text(' [ {"a": 1} ]')
    assert detect_format(arr) == "json"


def test_parquet_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": i, "conversations": [{"from": "human", "value": f"q{i}"}], "bbox_2d": [1.0, 2.0, 3.0, float("nan")]}
            for i in range(20)]
    path = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=6)
    got = list(iter_parquet(path, batch_size=4))
    assert [r.line for r in got] == list(range(1, 21))
    assert got[7].data["conversations"] == [{"from": "human", "value": "q7"}]
    assert np.isnan(got[0].data["bbox_2d"][3])


# --- images ---------------------------------------------------------------------------------------

def test_check_image_sizes_and_damage(tmp_path):
    from PIL import Image

    from spar_hf.ingest.images import check_image

    jpg, png = tmp_path / "a.jpg", tmp_path / "b.png"
    Image.new("RGB", (640, 480), (1, 2, 3)).save(jpg, quality=80)
    Image.new("RGB", (800, 600), (1, 2, 3)).save(png)
    assert check_image(jpg) == (640, 480) and check_image(png) == (800, 600)
    assert check_image(jpg, full=True) == (640, 480)
    padded = tmp_path / "padded.jpg"
    padded.write_bytes(jpg.read_bytes() + b"\x00" * 100)  # trailing padding after EOI is fine
    assert check_image(padded) == (640, 480)
    for name, src in (("cut.jpg", jpg), ("cut.png", png)):
        cut = tmp_path / name
        cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
        for full in (False, True):
            with pytest.raises(Rejected) as exc:
                check_image(cut, full=full)
            assert exc.value.reason.split(":")[0] in ("image_truncated", "image_corrupt"), exc.value.reason
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(Rejected) as exc:
        check_image(junk)
    assert exc.value.reason == f"image_unreadable: {junk} is not a recognised image"


def test_place_copies_when_hard_link_fails(tmp_path, monkeypatch):
    from spar_hf.ingest.images import ImageStore, parse_image_roots

    root = tmp_path / "plain"
    (root / "sub").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (32, 16)).save(root / "sub" / "x.png")
    store = ImageStore(parse_image_roots([f"mine={root}"]), tmp_path / "images")

    def no_link(*_a, **_k):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr("os.link", no_link)
    info = store.get("sub/x.png")
    assert (info.layout_path, info.width, info.height) == ("mine/sub/x.png", 32, 16)
    placed = tmp_path / "images" / "mine" / "sub" / "x.png"
    assert placed.read_bytes() == (root / "sub" / "x.png").read_bytes()
    assert placed.stat().st_ino != (root / "sub" / "x.png").stat().st_ino
    assert (store.linked, store.copied) == (0, 1)

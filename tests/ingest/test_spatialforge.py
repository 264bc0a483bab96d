"""End to end: `spar-hf ingest spatialforge` on a generated fixture (three image sources, JSON/JSONL/Parquet,
all six tasks, a tenth of the records bad in known ways). Expected numbers come from how the fixture is built."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from spar_hf.cli import main

O365_A = "images/v2/patch45/objects365_v2_02060288.jpg"  # 640 x 480
O365_B = "images/v2/patch7/objects365_v2_00000007.jpg"  # 800 x 600
O365_TRUNC = "images/v2/patch45/objects365_v2_09999999.jpg"  # cut in half
OI_TRAIN = "000a1249af2bc5f0"  # train/, 800 x 600
OI_VAL = "0b2c3d4e5f607182"  # validation/, 640 x 480
GOOD_PER_TASK = {"jsonl": 20, "json": 15, "parquet": 15}
TASKS = ("grounding", "referring", "counting", "near_far", "left_right", "perspective")


def _jpeg(path: Path, size: tuple[int, int], seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, ((seed * 40) % 256, 90, 160)).save(path, "JPEG", quality=80)


def _conv(question: str, answer: str) -> list[dict]:
    return [{"from": "human", "value": "<image>\n" + question}, {"from": "gpt", "value": answer}]


def _good(task: str, i: int, with_field: bool) -> dict:
    """A valid record of `task` (the i-th of its file); image source cycles over the three sources."""
    box = [100 + i, 200, 300 + i, 400]
    b = ", ".join(str(v) for v in box)
    questions = {
        "grounding": ("Locate the cup in the image and output its bbox.",
                      f'```json\n[{{"bbox_2d": [{b}], "label": "cup"}}]\n```'),
        "referring": (f"Describe the object in region [{b}].", "A red cup on a table."),
        "counting": ("How many chairs are there?", str(i % 5)),
        "near_far": (f"Which is closer to the camera, the chair [{b}] or the table [0, 0, 50, 50]?", "The chair."),
        "left_right": (f"Is the cup [{b}] to the left of the plate [600, 200, 700, 400]?", "Yes."),
        "perspective": (f"From the perspective of the person [{b}], is the dog on their left or right?", "Left."),
    }
    question, answer = questions[task]
    rec: dict = {"id": f"{task}-{i}", "conversations": _conv(question, answer)}
    which = i % 3
    if which == 0:
        rec["image"] = O365_A
    elif which == 1:
        rec["image"], rec["source"] = OI_TRAIN, "openimages"
    else:
        rec["image"], rec["image_sha256"], rec["source"] = "https://example.com/x.jpg", "PIXMO", "pixmo"
    if with_field:
        rec["task"] = task.replace("_", "-")
    return rec


def _bad_records() -> list[tuple[dict | str, str, str]]:
    """(record or raw line, expected bucket, expected reason) for every way a record can be bad."""
    ok_img = {"image": O365_A}
    return [
        ({"id": "b1", **ok_img, "conversations": _conv("Locate the cup.", '[{"bbox_2d": [100, 200, 1200, 400], "label": "cup"}]')},
         "grounding", "bbox_out_of_range: answer box 1 [100, 200, 1200, 400] outside 0..1000"),
        ({"id": "b2", **ok_img, "conversations": _conv("Locate the cup.", '{"bbox_2d": [500, 200, 100, 400], "label": "cup"}')},
         "grounding", "bbox_inverted: answer box 1 [500, 200, 100, 400] needs x1 < x2 and y1 < y2"),
        ({"id": "b3", **ok_img, "conversations": _conv("Locate the cup.", '{"bbox_2d": [1, 2, 3, 4, 5], "label": "cup"}')},
         "grounding", "bbox_arity: answer box 1 [1, 2, 3, 4, 5] has 5 numbers, expected 4"),
        ({"id": "b4", **ok_img, "conversations": _conv("Locate the cup.", '{"bbox_2d": [NaN, 10, 20, 30], "label": "cup"}')},
         "grounding", "bbox_not_finite: answer box 1 [nan, 10, 20, 30] holds NaN or infinity"),
        ({"id": "b5", "image": "images/v2/patch45/objects365_v2_00000404.jpg",
          "conversations": _conv("How many cups are there?", "2")},
         "counting", "image_not_found: 'images/v2/patch45/objects365_v2_00000404.jpg' not found under --images "
                     "objects365, openimages, pixmo"),
        ({"id": "b6", **ok_img, "task": "segmentation", "conversations": _conv("Segment the cup.", "done")},
         "unknown", "unknown_task: field 'task' = 'segmentation' is not one of grounding, referring, counting, "
                    "near_far, left_right, perspective"),
        ({"id": "b7", **ok_img, "conversations": _conv("How many cups are there?", "-2")},
         "counting", "count_negative: answer is -2"),
        ("{not json", "unknown", "invalid_json: Expecting property name enclosed in double quotes"),
        ({"id": "b9", "image": O365_TRUNC, "conversations": _conv("Is the cup [1, 2, 3, 4] on the left?", "Yes.")},
         "left_right", "image_truncated"),
        ({"id": "b10", "conversations": _conv("Which is nearer, [1, 2, 3, 4] or [5, 6, 7, 8]?", "The first.")},
         "near_far", "missing_image: the record names no image"),
        ({"id": "b11", **ok_img, "conversations": _conv("What colour is the sky?", "Blue.")},
         "unknown", "unknown_task: no task field and no keyword rule matches the question 'What colour is the sky?'"),
        ({"id": "b12", **ok_img, "task": "counting", "count": 2.5, "conversations": _conv("Count the cups.", "2.5")},
         "counting", "count_not_integer: count field is 2.5"),
    ]


def _known_records() -> list[dict]:
    """Valid records with hand-computed pixel boxes (checked in test_pixel_boxes)."""
    return [
        {"id": "k-o365", "image": O365_A, "task": "grounding",
         "conversations": _conv("Find the mug.", '[{"bbox_2d": [250, 500, 750, 1000], "label": "mug"}]')},
        {"id": "k-o365-bare", "image": "objects365_v2_00000007.jpg", "source": "objects365",
         "conversations": _conv("Describe the region [125, 250, 500, 750].", "A lamp.")},
        {"id": "k-oi-val", "image": f"validation/{OI_VAL}.jpg",
         "conversations": _conv("Locate every cup.",
                                '[{"bbox_2d": [0, 0, 500, 500], "label": "cup"}, {"bbox_2d": [500, 500, 1000, 1000], "label": "cup"}]')},
        {"id": "k-pixmo", "image": "https://example.com/p.png", "image_sha256": "PIXMO", "source": "pixmo",
         "conversations": _conv("How many birds are there?", "There are 3 birds.")},
        {"id": "k-multi", "image": O365_B, "conversations": [
            {"from": "human", "value": "<image>\nIs the cat [100, 100, 200, 200] left of the dog [600, 100, 700, 200]?"},
            {"from": "gpt", "value": "Yes."},
            {"from": "human", "value": "Which is closer to the camera, the cat or the dog?"},
            {"from": "gpt", "value": "The dog."}]},
    ]


@pytest.fixture(scope="module")
def fixture(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("sf")
    o365, oi, pixmo = root / "o365", root / "oi", root / "pixmo"
    _jpeg(o365 / O365_A, (640, 480), 1)
    _jpeg(o365 / O365_B, (800, 600), 2)
    _jpeg(o365 / O365_TRUNC, (640, 480), 3)
    data = (o365 / O365_TRUNC).read_bytes()
    (o365 / O365_TRUNC).write_bytes(data[: len(data) // 2])
    _jpeg(oi / "train" / f"{OI_TRAIN}.jpg", (800, 600), 4)
    _jpeg(oi / "validation" / f"{OI_VAL}.jpg", (640, 480), 5)
    png = root / "p.png"
    Image.new("RGB", (1000, 500), (10, 200, 30)).save(png)
    sha = hashlib.sha256(png.read_bytes()).hexdigest()
    pixmo.mkdir()
    os.replace(png, pixmo / f"{sha}.png")

    def fix(rec):
        if isinstance(rec, dict) and rec.get("image_sha256") == "PIXMO":
            rec = dict(rec, image_sha256=sha)
        return rec

    bad = _bad_records()
    known = [fix(r) for r in _known_records()]
    # JSONL: 20 good per task, every bad record, the known records; order interleaved.
    lines: list[str] = []
    expected_reject_lines: dict[int, tuple[str, str]] = {}
    for i in range(GOOD_PER_TASK["jsonl"]):
        for t in TASKS:
            lines.append(json.dumps(fix(_good(t, i, with_field=i % 2 == 0))))
        if i < len(bad):
            rec, bucket, reason = bad[i]
            lines.append(rec if isinstance(rec, str) else json.dumps(rec))
            expected_reject_lines[len(lines)] = (bucket, reason)
    lines.extend(json.dumps(r) for r in known)
    jsonl = root / "ann.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")
    # JSON array (pretty-printed, so elements span lines): 15 good per task + 3 bad.
    arr = [fix(_good(t, i, with_field=False)) for i in range(GOOD_PER_TASK["json"]) for t in TASKS]
    arr += [bad[0][0], bad[6][0], bad[10][0]]
    js = root / "ann.json"
    js.write_text(json.dumps(arr, indent=2))
    # Parquet: 15 good per task + 2 bad (inverted box, unknown task); rows keep one schema.
    rows = [fix(_good(t, i, with_field=True)) for i in range(GOOD_PER_TASK["parquet"]) for t in TASKS]
    rows += [dict(bad[1][0], task="grounding"), bad[5][0]]
    cols = ["id", "image", "image_sha256", "source", "task", "conversations"]
    table = pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows])
    pqf = root / "ann.parquet"
    pq.write_table(table, pqf, row_group_size=16)
    return {"root": root, "o365": o365, "oi": oi, "pixmo": pixmo, "sha": sha, "jsonl": jsonl, "json": js,
            "parquet": pqf, "bad": bad, "expected_reject_lines": expected_reject_lines, "n_lines": len(lines)}


def _run(fx: dict, out: Path, capsys) -> tuple[int, str]:
    code = main(["ingest", "spatialforge", "--annotations", str(fx["jsonl"]), str(fx["json"]), str(fx["parquet"]),
                 "--images", f"objects365={fx['o365']}", f"openimages={fx['oi']}", f"pixmo={fx['pixmo']}",
                 "--out", str(out), "--no-progress"])
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def ingested(fixture, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("out")
    code = main(["ingest", "spatialforge", "--annotations", str(fixture["jsonl"]), str(fixture["json"]),
                 str(fixture["parquet"]), "--images", f"objects365={fixture['o365']}",
                 f"openimages={fixture['oi']}", f"pixmo={fixture['pixmo']}", "--out", str(out), "--no-progress"])
    assert code == 0
    base = out / "spatialforge"
    records = {}
    for path in sorted((base / "qa_jsonl" / "train").rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            obj = json.loads(line)
            records[obj["id"]] = (path, obj)
    rejects = [json.loads(l) for l in (base / "rejects.jsonl").read_text().splitlines()]
    summary = json.loads((base / "ingest_summary.json").read_text())
    return {"out": out, "base": base, "records": records, "rejects": rejects, "summary": summary}


def _by_source_id(ingested: dict, source_id: str) -> list[dict]:
    return [obj for _, obj in ingested["records"].values() if obj["meta"].get("source_id") == source_id]


def test_counts_reconcile_per_task(ingested):
    """in = accepted + rejected for every task, and the totals follow from how the fixture was built."""
    s = ingested["summary"]
    good = sum(GOOD_PER_TASK.values())  # 50 per task
    # known records: grounding 2 (k-o365, k-oi-val), referring 1, counting 1, left_right 1 + near_far 1 (k-multi)
    known = {"grounding": 2, "referring": 1, "counting": 1, "left_right": 1, "near_far": 1, "perspective": 0}
    # rejects per bucket: JSONL all 12, JSON b1 (grounding) b7 (counting) b11 (unknown), Parquet b2 (grounding) b6 (unknown)
    rejected = {"grounding": 4 + 1 + 1, "referring": 0, "counting": 3 + 1, "near_far": 1, "left_right": 1,
                "perspective": 0, "unknown": 3 + 1 + 1}
    for task in TASKS:
        row = s["per_task"][task]
        assert row["out"] == good + known[task], task
        assert row["rejected"] == rejected[task], task
        assert row["in"] == row["out"] + row["rejected"]
    assert s["per_task"]["unknown"] == {"in": 5, "out": 0, "rejected": 5}
    assert s["in"] == 6 * 50 + 6 + 12 + 3 + 2
    assert s["out"] == 6 * 50 + 6
    assert s["rejected"] == 17 == len(ingested["rejects"])


def test_reject_reasons_exact(fixture, ingested):
    jsonl_rejects = {r["line"]: r for r in ingested["rejects"] if r["file"] == str(fixture["jsonl"])}
    assert set(jsonl_rejects) == set(fixture["expected_reject_lines"])
    for line, (_bucket, reason) in fixture["expected_reject_lines"].items():
        got = jsonl_rejects[line]["reason"]
        if reason == "image_truncated":
            assert got.startswith("image_truncated: ") and O365_TRUNC.split("/")[-1] in got
        else:
            assert got == reason
    others = sorted((Path(r["file"]).suffix, r["reason"].split(":")[0]) for r in ingested["rejects"]
                    if r["file"] != str(fixture["jsonl"]))
    assert others == [(".json", "bbox_out_of_range"), (".json", "count_negative"), (".json", "unknown_task"),
                      (".parquet", "bbox_inverted"), (".parquet", "unknown_task")]
    # the JSON array reports the line where the element starts: the 91st element of an indent=2 dump
    json_lines = fixture["json"].read_text().splitlines()
    json_reject = next(r for r in ingested["rejects"] if r["file"] == str(fixture["json"]))
    assert json_lines[json_reject["line"] - 1] == "  {"
    assert json_reject["record"]["id"] == "b1"
    parquet_rows = sorted(r["line"] for r in ingested["rejects"] if r["file"] == str(fixture["parquet"]))
    assert parquet_rows == [91, 92]


def test_pixel_boxes_hand_computed(ingested):
    (rec,) = _by_source_id(ingested, "k-o365")  # 640 x 480: 250/1000*640 = 160, 500/1000*480 = 240, ...
    assert rec["meta"]["image_size"] == [640, 480]
    assert rec["meta"]["boxes"] == [{"in": "answer", "label": "mug", "bbox": [250, 500, 750, 1000],
                                     "bbox_px": [160.0, 240.0, 480.0, 480.0]}]
    assert rec["image"] == ["objects365/" + O365_A]
    assert rec["type"] == "grounding" and rec["conversations"][0]["value"] == "Find the mug."
    (rec,) = _by_source_id(ingested, "k-o365-bare")  # 800 x 600, found through the patch-folder index
    assert rec["image"] == ["objects365/" + O365_B] and rec["type"] == "referring"
    assert rec["meta"]["boxes"][0]["bbox_px"] == [100.0, 150.0, 400.0, 450.0]
    (rec,) = _by_source_id(ingested, "k-oi-val")  # 640 x 480 OpenImages validation image, two labelled cups
    assert rec["image"] == [f"openimages/validation/{OI_VAL}.jpg"]
    assert [b["bbox_px"] for b in rec["meta"]["boxes"]] == [[0.0, 0.0, 320.0, 240.0], [320.0, 240.0, 640.0, 480.0]]
    assert [b["label"] for b in rec["meta"]["boxes"]] == ["cup", "cup"]


def test_pixmo_sha_counting_and_multiturn(fixture, ingested):
    (rec,) = _by_source_id(ingested, "k-pixmo")
    assert rec["image"] == [f"pixmo/{fixture['sha']}.png"]
    assert rec["meta"]["image_size"] == [1000, 500]
    assert rec["type"] == "counting" and rec["meta"]["count"] == 3
    turns = sorted(_by_source_id(ingested, "k-multi"), key=lambda r: r["meta"]["turn"])
    assert [(t["type"], t["meta"]["turn"]) for t in turns] == [("left_right", 0), ("near_far", 1)]
    # 800 x 600: [100, 100, 200, 200] -> [80, 60, 160, 120]
    assert turns[0]["meta"]["boxes"][0]["bbox_px"] == [80.0, 60.0, 160.0, 120.0]


def test_layout_files_formats_and_images(fixture, ingested):
    base = ingested["base"]
    per_file = Counter()
    for path, obj in ingested["records"].values():
        per_file[path] += 1
        task, fmt = path.parent.parent.name, path.parent.name
        assert obj["type"] == task and obj["id"].startswith(f"sf_{task}_{fmt}_")
        image = base / "images" / obj["image"][0]
        assert image.is_file()
    for path, n in per_file.items():
        assert path.name == f"{path.parent.name}_{n}.jsonl"
    formats = {(p.parent.parent.name, p.parent.name) for p in per_file}
    assert ("grounding", "fill") in formats and ("counting", "fill") in formats
    assert ("left_right", "judge") in formats and ("referring", "sentence") in formats
    linked = base / "images" / "objects365" / O365_A
    assert os.stat(linked).st_ino == os.stat(fixture["o365"] / O365_A).st_ino  # hard link, not a copy
    assert not list(base.rglob(".tmp-*"))


def test_layout_reader_reads_output(ingested):
    from spar_hf.layout.reader import SparLayout

    problems = []
    entries = list(SparLayout(ingested["out"]).iter_records(source="spatialforge", problems=problems.append))
    assert problems == []
    assert len(entries) == ingested["summary"]["out"]
    assert {e.task for e in entries} == set(TASKS)


def test_deterministic_rerun(fixture, ingested, tmp_path, capsys):
    code, line = _run(fixture, tmp_path, capsys)
    assert code == 0
    assert line.startswith("ingest spatialforge: in=323 out=306 rejected=17")
    assert "grounding 58=52+6" in line
    a, b = ingested["base"], tmp_path / "spatialforge"
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file() and "images" not in p.parts)
    assert names == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file() and "images" not in p.parts)
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # a second run into the same folder leaves the same files (stale <format>_<N> files are replaced)
    code, _ = _run(fixture, tmp_path, capsys)
    assert code == 0
    assert sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file() and "images" not in p.parts) == names


def test_common_path_writes_what_the_general_path_writes(fixture, ingested, tmp_path, monkeypatch, capsys):
    """The short path for common records (`_Ingester._common`) takes the plain single-exchange records with
    one image path, found image and known task (written, or rejected for a box or count) and leaves the rest;
    with it switched off every file is the same, byte for byte."""
    from spar_hf.ingest.spatialforge import _Ingester

    common = _Ingester._common
    taken = []
    monkeypatch.setattr(_Ingester, "_common", lambda self, raw: taken.append(common(self, raw)) or taken[-1])
    assert _run(fixture, tmp_path / "on", capsys)[0] == 0
    # good records of the Objects365 and OpenImages thirds (JSONL 14 and JSON 10 per task: i % 3 != 2), plus
    # k-o365, k-o365-bare and k-oi-val; Pixmo records carry image_sha256, Parquet rows every column (some null).
    # Rejected there: b1-b4 and b7 (box and count reasons) in the JSONL, b1 and b7 in the JSON array; the other
    # bad records miss their image or task, or have more fields, and go to the general path.
    assert sum(taken) == 6 * 14 + 6 * 10 + 3 + 5 + 2
    monkeypatch.setattr(_Ingester, "_common", lambda self, raw: False)
    assert _run(fixture, tmp_path / "off", capsys)[0] == 0
    for base in (tmp_path / "on" / "spatialforge", tmp_path / "off" / "spatialforge"):
        a = ingested["base"]
        names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file() and "images" not in p.parts)
        assert names == sorted(p.relative_to(base).as_posix() for p in base.rglob("*")
                               if p.is_file() and "images" not in p.parts)
        for name in names:
            assert (a / name).read_bytes() == (base / name).read_bytes(), name


def test_mapping_file(fixture, tmp_path, capsys):
    ann = tmp_path / "custom.jsonl"
    ann.write_text(json.dumps({"img": {"path": O365_A}, "q": "Count the cups.", "a": "four",
                               "meta": {"task_name": "Counting"},
                               "annotations": [{"box": [0, 0, 500, 250], "name": "cup"}]}) + "\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("image: img.path\nquestion: q\nanswer: a\ntask: meta.task_name\nboxes: annotations\n"
                       "box_key: box\nlabel_key: name\n")
    out = tmp_path / "out"
    code = main(["ingest", "spatialforge", "--annotations", str(ann), "--images", f"objects365={fixture['o365']}",
                 "--out", str(out), "--mapping", str(mapping), "--no-progress"])
    assert code == 0
    (path,) = (out / "spatialforge" / "qa_jsonl" / "train" / "counting").rglob("*.jsonl")
    rec = json.loads(path.read_text())
    assert rec["meta"]["count"] == 4
    assert rec["meta"]["boxes"] == [{"in": "field", "label": "cup", "bbox": [0, 0, 500, 250],
                                     "bbox_px": [0.0, 0.0, 320.0, 120.0]}]
    bad_map = tmp_path / "bad.yaml"
    bad_map.write_text("imagez: x\n")
    code = main(["ingest", "spatialforge", "--annotations", str(ann), "--images", f"objects365={fixture['o365']}",
                 "--out", str(out), "--mapping", str(bad_map)])
    assert code == 2
    assert "unknown mapping key 'imagez'" in capsys.readouterr().err


def test_bad_arguments_exit_2(fixture, tmp_path, capsys):
    code = main(["ingest", "spatialforge", "--annotations", str(tmp_path / "nope.jsonl"),
                 "--images", f"objects365={fixture['o365']}", "--out", str(tmp_path)])
    assert code == 2 and "nope.jsonl: annotation file not found" in capsys.readouterr().err
    code = main(["ingest", "spatialforge", "--annotations", str(fixture["jsonl"]),
                 "--images", "objects365", "--out", str(tmp_path)])
    assert code == 2 and "expected NAME=DIR" in capsys.readouterr().err


def test_more_reject_codes_and_escape(fixture, tmp_path):
    from spar_hf.ingest.images import parse_image_roots
    from spar_hf.ingest.spatialforge import ingest

    ann = tmp_path / "more.jsonl"
    rows = [
        [1, 2],
        {"image": O365_A, "conversations": [{"from": "gpt", "value": "orphan answer"}]},
        {"image": O365_A, "task": "grounding", "conversations": _conv("Locate the cup.", "It is on the table.")},
        {"image": O365_A, "task": "referring", "conversations": _conv("Describe it.", "A cup.")},
        {"image": "../../etc/passwd", "conversations": _conv("How many cups?", "1")},
        {"image": f"openimages/{OI_VAL}", "conversations": _conv("How many cups?", "1")},
    ]
    ann.write_text("".join(json.dumps(r) + "\n" for r in rows))
    roots = parse_image_roots([f"objects365={fixture['o365']}", f"openimages={fixture['oi']}"])
    result = ingest([ann], roots, tmp_path / "out", progress=False)
    rejects = [json.loads(l) for l in (tmp_path / "out" / "spatialforge" / "rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (1, "not_an_object: record is a list, expected a JSON object"),
        (2, "missing_field: conversations has no human/user turn followed by a gpt/assistant turn"),
        (3, "no_boxes: a grounding answer needs at least one box"),
        (4, "no_boxes: a referring question needs at least one box"),
        (5, "image_not_found: '../../etc/passwd' not found under --images objects365, openimages"),
    ]
    # "openimages/<ImageID>" picks the root by its name, then the split folders
    assert result.summary.n_out == 1 and result.per_task["counting"].n_out == 1
    (line,) = (tmp_path / "out" / "spatialforge" / "qa_jsonl" / "train" / "counting" / "fill" / "fill_1.jsonl").read_text().splitlines()
    assert json.loads(line)["image"] == [f"openimages/validation/{OI_VAL}.jpg"]

"""Property-based fuzzing of every reader of outside data (hypothesis, bounded).

Property for all of them: every input unit ends in the output or in the rejects/problems with a
reason, and nothing but SparError (a whole-file refusal with a message) escapes. The strategies mix
plausible records (so the deep checks run) with arbitrary JSON and raw bytes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from spar_hf.errors import SparError

FUZZ = settings(max_examples=50, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

SCALARS = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
ANY_JSON = st.recursive(SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                        max_leaves=12)
RAW_LINE = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" "))
NUMBER = st.sampled_from([0, 1, 2, 7, 500, 999, 1000, 1001, -1, 2.5, float("nan"), float("inf"), 1e308, "3", True])
BOX = st.lists(NUMBER, min_size=0, max_size=6)


def _box_text(values: list) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


QUESTION = st.builds(lambda stem, box: f"{stem} {_box_text(box)}", st.sampled_from([
    "<image>\nLocate the cup and output its bbox.", "How many chairs are there?", "Describe the region",
    "Which is closer to the camera, the chair", "Is the cup to the left of the plate", "From the perspective of the man",
    "Tell me a joke", "", "<image><image> what is this"]), BOX)
ANSWER = st.one_of(st.builds(lambda b: json.dumps([{"bbox_2d": b, "label": "cup"}]), BOX),
                   st.sampled_from(["Yes.", "3", "three", "-2", "2.5", "The chair.", "", "Left."]), st.text(max_size=10))
TURN = st.fixed_dictionaries({}, optional={"from": st.sampled_from(["human", "gpt", "user", "assistant", "system", 3]),
                                           "role": st.sampled_from(["user", "assistant"]),
                                           "value": QUESTION | ANSWER | ANY_JSON, "content": QUESTION | ANSWER})
PAIR = st.builds(lambda q, a: [{"from": "human", "value": q}, {"from": "gpt", "value": a}], QUESTION, ANSWER)
IMAGE_REF = st.sampled_from(["a.jpg", "sub/b.png", "missing.jpg", "trunc.jpg", "notimage.jpg", "../a.jpg", "/etc/passwd",
                             "https://host/a.jpg", "", "fs/a.jpg", "zero.png"])
SF_RECORD = st.fixed_dictionaries(
    {"conversations": st.one_of(PAIR, st.lists(PAIR, min_size=1, max_size=2).map(lambda ps: sum(ps, [])),
                                st.lists(TURN, max_size=4), ANY_JSON)},
    optional={"id": ANY_JSON, "image": st.one_of(IMAGE_REF, st.lists(IMAGE_REF, max_size=3), ANY_JSON),
              "task": st.sampled_from(["grounding", "counting", "near-far", "left_right", "referring", "perspective",
                                       "nonsense", "COUNT", 7]),
              "source": st.sampled_from(["fs", "objects365", "pixmo", "nope"]), "bbox_2d": BOX | ANY_JSON,
              "boxes": st.lists(BOX, max_size=2), "objects": ANY_JSON, "count": NUMBER | ANY_JSON})


def _json_line(obj) -> bytes:
    return json.dumps(obj).encode()  # NaN / Infinity literals included, as Python writers emit them


# --- SpatialForge ingest -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def image_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fs")
    Image.new("RGB", (64, 48), (10, 200, 30)).save(root / "a.jpg", quality=90)
    (root / "sub").mkdir()
    Image.new("RGB", (40, 30), (200, 10, 30)).save(root / "sub" / "b.png")
    whole = (root / "a.jpg").read_bytes()
    (root / "trunc.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "notimage.jpg").write_bytes(b"hello, not a picture")
    (root / "zero.png").write_bytes(b"")
    return root


@pytest.mark.slow
@FUZZ
@given(lines=st.lists(st.one_of(SF_RECORD.map(_json_line), ANY_JSON.map(_json_line), RAW_LINE), min_size=1, max_size=8),
       kind=st.sampled_from(["jsonl", "json"]))
def test_ingest_accounts_for_every_record(image_root, lines, kind):
    from spar_hf.ingest.images import parse_image_roots
    from spar_hf.ingest.spatialforge import ingest

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ann = tmp / f"ann.{kind}"
        if kind == "jsonl":
            ann.write_bytes(b"\n".join(lines) + b"\n")
        else:
            ann.write_bytes(b"[\n" + b",\n".join(lines) + b"\n]\n")
        try:
            result = ingest([ann], parse_image_roots([f"fs={image_root}"]), tmp / "out", progress=False)
        except SparError:
            return  # a whole-file refusal with a message is an accepted outcome
        s = result.summary
        assert s.n_in == s.n_out + s.n_rejected
        base = tmp / "out" / "spatialforge"
        rejects = [json.loads(x) for x in (base / "rejects.jsonl").read_text().split("\n") if x]
        assert len(rejects) == s.n_rejected and all(r["reason"] for r in rejects)
        outputs = [json.loads(x) for f in sorted((base / "qa_jsonl").rglob("*.jsonl")) for x in f.read_text().split("\n") if x]
        assert len(outputs) == s.n_out
        for record in outputs:  # image references like ../a.jpg or /etc/passwd never leave the images root
            assert all(not img.startswith("/") and ".." not in Path(img).parts for img in record["image"])
        assert all(p.resolve().is_relative_to(base.resolve()) for p in base.rglob("*"))
        assert not list(base.rglob(".tmp-*"))
        seen = {r["line"] for r in rejects} | {o["meta"]["line"] for o in outputs}
        if kind == "jsonl":
            expected = {i for i, raw in enumerate(lines, 1) if raw.strip()}
            assert seen == expected
        elif not any(raw.strip(b" \t\r\n") for raw in lines):  # JSON whitespace only
            assert seen == set() and s.n_in == 0  # `[ ]`: an empty array has no records
        else:
            assert seen  # an array element either parses or ends the file with one reject


# --- SPAR layout reader ------------------------------------------------------------------------

LAYOUT_RECORD = st.fixed_dictionaries(
    {"conversations": st.one_of(PAIR, st.lists(TURN, max_size=3), ANY_JSON)},
    optional={"id": ANY_JSON, "type": st.sampled_from(["obj_count", "depth_prediction_oc", 3, None]),
              "image": st.one_of(IMAGE_REF, st.lists(ANY_JSON, max_size=3)), "depth": ANY_JSON,
              "red_point": ANY_JSON, "point_img_idx": ANY_JSON, "meta": ANY_JSON})


@FUZZ
@given(lines=st.lists(st.one_of(LAYOUT_RECORD.map(_json_line), ANY_JSON.map(_json_line), RAW_LINE), min_size=1, max_size=10),
       declared=st.integers(0, 12))
def test_layout_reader_accounts_for_every_line(lines, declared):
    from spar_hf.layout.reader import SparLayout

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "synthetic" / "qa_jsonl" / "train" / "obj_count" / "fill"
        folder.mkdir(parents=True)
        (folder / f"fill_{declared}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        problems = []
        entries = list(SparLayout(tmp).iter_records(problems=problems.append))
    line_problems = [p for p in problems if p.line is not None]
    assert all(p.reason for p in problems)
    assert sorted([e.line for e in entries] + [p.line for p in line_problems]) == list(range(1, len(lines) + 1))
    assert all(e.record.task == "obj_count" for e in entries)
    file_problems = [p for p in problems if p.line is None]
    assert len(file_problems) == (declared != len(lines))


# --- predictions parser ------------------------------------------------------------------------

PREDICTION = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.integers(-5, 2**64), st.sampled_from(["12", " 7 ", "-3", "x", "1.0", "²", "--4", ""]),
                    st.booleans(), st.floats(), st.none()),
    "prediction": st.one_of(st.text(max_size=10), st.none(), st.integers(), ANY_JSON)})


@FUZZ
@given(lines=st.lists(st.one_of(PREDICTION.map(_json_line), ANY_JSON.map(_json_line), RAW_LINE), min_size=0, max_size=8))
def test_predictions_parser_accepts_or_refuses_with_lines(lines):
    from spar_hf.eval.predictions import read_predictions

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pred.jsonl"
        path.write_bytes(b"\n".join(lines) + (b"\n" if lines else b""))
        try:
            result = read_predictions(path)
        except SparError as exc:
            assert str(path) in str(exc)
            return
    non_blank = [raw for raw in lines if raw.decode("utf-8").strip()]
    assert result.lines == len(non_blank) == len(result.by_id)
    assert all(isinstance(k, int) for k in result.by_id)
    assert all(v is None or isinstance(v, str) for v in result.by_id.values())


# --- ScanNet-layout scene readers --------------------------------------------------------------

N_FRAMES = 3


@pytest.fixture(scope="module")
def pristine_scene(tmp_path_factory) -> Path:
    from spar_hf.scene.synthetic import generate_scene, write_scene

    root = tmp_path_factory.mktemp("scene")
    write_scene(generate_scene("scene0003_00", 0, N_FRAMES), root)
    return root / "scene0003_00"


MATRIX_NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10),
                          st.sampled_from(["nan", "-inf", "1e400", "0x10", "1,0", "one"]))
MATRIX_TEXT = st.one_of(
    st.lists(MATRIX_NUMBER, min_size=0, max_size=20).map(lambda xs: "\n".join(" ".join(map(str, xs[i:i + 4])) for i in range(0, len(xs), 4))),
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)


def _read(scene: Path):
    from spar_hf.scene.scannet import read_scene

    try:
        return read_scene(scene)
    except SparError as exc:
        assert str(scene) in str(exc)
        return None


@pytest.mark.slow
@FUZZ
@given(poses=st.lists(st.one_of(MATRIX_TEXT, st.none()), min_size=N_FRAMES, max_size=N_FRAMES), raw_bytes=st.booleans())
def test_scene_reader_skips_and_counts_every_bad_pose(pristine_scene, poses, raw_bytes):
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(shutil.copytree(pristine_scene, Path(tmp) / pristine_scene.name))
        for i, text in enumerate(poses):
            path = scene / "pose" / f"{i}.txt"
            if text is None:
                path.unlink()
            elif raw_bytes:
                path.write_bytes(text.encode("utf-8", "surrogatepass")[:20] + b"\xff\xfe")
            else:
                path.write_text(text, encoding="utf-8", errors="surrogatepass")
        result = _read(scene)
    assert result is not None  # a bad pose never fails the scene
    frame_skips = {k: v for k, v in result.skipped.items() if "pose" in k or "image" in k}
    assert len(result.frames) + sum(frame_skips.values()) == N_FRAMES


@FUZZ
@given(intrinsics=MATRIX_TEXT)
def test_intrinsics_reader_returns_a_matrix_or_names_the_file(pristine_scene, intrinsics):
    import numpy as np

    from spar_hf.scene.scannet import read_intrinsics

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "intrinsic_color.txt"
        path.write_text(intrinsics, encoding="utf-8", errors="surrogatepass")
        try:
            k = read_intrinsics(path)
        except SparError as exc:
            assert str(path) in str(exc)
            return
    assert k.shape == (3, 3) and np.all(np.isfinite(k)) and k[0, 0] > 0 and k[1, 1] > 0


SEG_GROUP = st.fixed_dictionaries({}, optional={"objectId": ANY_JSON | st.integers(0, 50), "label": ANY_JSON | st.just("chair"),
                                                "segments": st.lists(st.integers(-3, 2**66) | ANY_JSON, max_size=4)})


@FUZZ
@given(which=st.sampled_from(["aggregation", "segs", "ply"]),
       content=st.one_of(st.fixed_dictionaries({"segGroups": st.lists(SEG_GROUP, max_size=4)}).map(json.dumps),
                          st.fixed_dictionaries({"segIndices": st.lists(st.integers(-2**70, 2**70), max_size=5)}).map(json.dumps),
                          ANY_JSON.map(json.dumps), st.text(max_size=30)))
def test_scene_json_and_mesh_readers_never_crash(pristine_scene, which, content):
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(shutil.copytree(pristine_scene, Path(tmp) / pristine_scene.name))
        name = {"aggregation": f"{scene.name}.aggregation.json", "segs": f"{scene.name}_vh_clean_2.0.010000.segs.json",
                "ply": f"{scene.name}_vh_clean_2.ply"}[which]
        (scene / name).write_text(content, encoding="utf-8", errors="surrogatepass")
        result = _read(scene)
    if result is not None:
        assert all(o.vertex_ids.size > 0 for o in result.objects)


# --- pathological nesting ----------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_is_a_bad_line_not_a_crash(tmp_path):
    """json's C scanner raises RecursionError (not a ValueError) past ~1000 levels; every reader must treat it as bad input."""
    from spar_hf.ingest.readers import iter_records
    from spar_hf.layout.reader import SparLayout
    from spar_hf.eval.predictions import read_predictions
    from spar_hf.scene.scannet import _read_json

    folder = tmp_path / "spar" / "synthetic" / "qa_jsonl" / "train" / "obj_count" / "fill"
    folder.mkdir(parents=True)
    (folder / "fill_1.jsonl").write_text(DEEP + "\n")
    problems = []
    assert list(SparLayout(tmp_path / "spar").iter_records(problems=problems.append)) == []
    assert [(p.line, p.reason) for p in problems] == [(1, "invalid JSON (nested too deeply)")]

    pred = tmp_path / "pred.jsonl"
    pred.write_text('{"id": 1, "prediction": "A"}\n' + DEEP + "\n")
    with pytest.raises(SparError, match="line 2: not JSON \\(nested too deeply\\)"):
        read_predictions(pred)

    array = tmp_path / "ann.json"
    array.write_text('[{"a": 1}, ' + DEEP + "]")
    records = list(iter_records(array))
    assert records[0].data == {"a": 1}
    assert len(records) == 2 and records[1].error.startswith("invalid_json: maximum recursion depth")
    assert records[1].error.endswith("rest of file not read")

    agg = tmp_path / "x.aggregation.json"
    agg.write_text(DEEP)
    with pytest.raises(SparError, match="x.aggregation.json: not valid JSON"):
        _read_json(agg)

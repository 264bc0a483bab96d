"""Hostile values and paths (reliability round two): each is a clear reject or error naming the record,
never a traceback, never silently wrong, and one bad record never loses the rest of its file.

Every hostile file is written here by hand, so the expected outcome is known without running our code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.build_layout import N_TRAIN_OK, SOURCE, TRAIN_SCENE, make_layout
from fixtures.hostile import HUGE, _grounding, _ingest, _rejects  # noqa: F401

from spar_hf.cli import main

SURROGATE = "\\ud800"  # a lone surrogate as JSON writes it: valid JSON, not encodable as UTF-8


def _hostile_train_lines(outside: Path) -> list[tuple[str, str]]:
    """(layout line, expected reject reason) for each hostile 7m train record."""
    good = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "1.5"}],
            "type": "depth_prediction_oc", "image": [f"{TRAIN_SCENE}/image_color/0.jpg"]}

    def line(rid: str, **fields) -> str:
        return json.dumps({"id": rid, **good, **fields})

    long_name = f"{TRAIN_SCENE}/image_color/{'9' * 300}.jpg"
    return [
        (line("up", image=["../../../../" + outside.name + "/x.jpg"]),
         "image path '../../../../" + outside.name + "/x.jpg': '..' component escapes the target"),
        (line("abs", image=[str(outside / "x.jpg")]), f"image path {str(outside / 'x.jpg')!r}: absolute path"),
        (line("long", image=[long_name]), f"image path {long_name!r}: a name longer than 255 bytes"),
        (line("surrogate").replace('"q"', f'"q{SURROGATE}"'),
         "unreadable: lone surrogate \\ud800 in a string (not encodable as UTF-8)"),
        (line("bigint", point_img_idx=[[2 ** 70]]), f"unreadable: integer {2 ** 70} is outside the signed 64-bit range"),
        (line("int32", point_img_idx=[[2 ** 40]]), f"marker point_img_idx holds {2 ** 40}, not an image index"),
        (line("float_idx", point_img_idx=[[1.7]]), "marker point_img_idx holds 1.7, not an image index"),
        (line("digits").replace('"q"', '"q", "n": ' + HUGE), "unreadable: invalid JSON (a number of more than "
                                                               "4300 digits)"),
    ]


def test_hostile_layout_lines_are_rejected_and_the_config_is_built(tmp_path):
    """Before: the `../` and absolute paths were embedded (rejected=0); the surrogate, 2^70 and 5,000-digit
    lines each lost the whole 7m config and left `.tmp-7m`."""
    spar = make_layout(tmp_path)
    outside = tmp_path / "secret"
    outside.mkdir()
    from PIL import Image

    Image.new("RGB", (4, 4), (255, 0, 0)).save(outside / "x.jpg")
    hostile = _hostile_train_lines(outside)
    folder = spar / SOURCE / "qa_jsonl" / "train" / "depth_prediction_oc" / "fill"
    (existing,) = folder.iterdir()
    lines = existing.read_text().splitlines() + [text for text, _ in hostile]
    existing.unlink()
    (folder / f"fill_{len(lines)}.jsonl").write_text("".join(t + "\n" for t in lines), encoding="utf-8")
    hf = tmp_path / "hf"
    assert main(["build", "--from", str(spar), "--out", str(hf), "--configs", "7m"]) == 0
    rejects = [r for r in _rejects(hf / "rejects" / "7m.jsonl") if r["file"].endswith(f"fill_{len(lines)}.jsonl")]
    got = {r["line"]: r["reason"] for r in rejects}
    assert got == {3 + i: reason for i, (_, reason) in enumerate(hostile, start=1)}
    assert not list(hf.glob(".tmp-*"))
    from spar_hf.packs import Pack

    with Pack(hf / "7m" / "train" / "train-00000-of-00001.zip") as pack:
        assert pack.metadata("7m", ["id"]).num_rows == N_TRAIN_OK
        assert not [n for n in pack.names() if "secret" in n or "hostname" in n]  # nothing from outside the layout


# --- ingest: --images is the boundary ---------------------------------------------------------------


def test_ingest_does_not_follow_links_out_of_the_images_folder(tmp_path):
    """Before: `linked/secret.jpg` (a folder link) was hard-linked into the output and `alias.jpg` (an absolute
    file link) was placed and embedded later; a link that stays inside the folder is still followed."""
    from PIL import Image

    secret = tmp_path / "secret"
    secret.mkdir()
    Image.new("RGB", (30, 20), (255, 0, 0)).save(secret / "secret.jpg")
    root = tmp_path / "imgs"
    root.mkdir()
    Image.new("RGB", (100, 50), (0, 90, 160)).save(root / "good.jpg", quality=85)
    (root / "linked").symlink_to(secret)
    (root / "alias.jpg").symlink_to(secret / "secret.jpg")
    (root / "inner.jpg").symlink_to("good.jpg")
    records = [_grounding("folder", "linked/secret.jpg"), _grounding("file", "alias.jpg"),
               _grounding("inner", "inner.jpg")]
    rc, rejects, outputs = _ingest(tmp_path, [json.dumps(r) for r in records], root)
    assert rc == 0
    assert {r["record"]["id"]: r["reason"] for r in rejects} == {
        "folder": f"image_outside_root: 'linked/secret.jpg' is a symbolic link (or under one) that leads out of "
                  f"--images fs to {(secret / 'secret.jpg').resolve()}",
        "file": f"image_outside_root: 'alias.jpg' is a symbolic link (or under one) that leads out of --images fs "
                f"to {(secret / 'secret.jpg').resolve()}"}
    assert [o["meta"]["source_id"] for o in outputs] == ["inner"]
    placed = tmp_path / "out" / "spatialforge" / "images" / "fs"
    files = sorted(p.relative_to(placed).as_posix() for p in placed.rglob("*"))
    assert files == ["inner.jpg"]
    assert not (placed / "inner.jpg").is_symlink()
    assert (placed / "inner.jpg").read_bytes() == (root / "good.jpg").read_bytes()


def test_hostile_ingest_values_are_rejected_one_by_one(tmp_path):
    """Before: one lone surrogate in a label or question left 0 QA lines written (a UnicodeEncodeError at the
    end); now each hostile record is one reject and every other record is written."""
    good = json.dumps(_grounding("good", "good.jpg"))
    hostile = {
        "label": json.dumps(_grounding("label", "good.jpg", label="cup\ud800")),
        "question": json.dumps(_grounding("question", "good.jpg", question="<image>\nLocate the cup\udfff.")),
        "bigint": json.dumps(_grounding("bigint", "good.jpg")).replace('"id": "bigint"', '"id": "bigint", "n": ' + str(2 ** 70)),
        "digits": json.dumps(_grounding("digits", "good.jpg")).replace('"id": "digits"', '"id": "digits", "n": ' + HUGE),
        "longname": json.dumps(_grounding("longname", "x" * 300 + ".jpg")),
        "count": json.dumps(_grounding("count", "good.jpg", question="<image>\nHow many cups?")).replace(
            '"gpt", "value": "', '"gpt", "value": "' + "9" * 30 + ' cups ').replace('"id": "count"', '"id": "count", "task": "counting"'),
    }
    long_source = json.dumps({**_grounding("longsource", "good.jpg"), "source": "s" * 300})  # picks a root by kind
    lines = [good, *hostile.values(), long_source, good.replace('"good"', '"good2"')]
    rc, rejects, outputs = _ingest(tmp_path, lines)
    assert rc == 0
    assert sorted(o["meta"]["source_id"] for o in outputs) == ["good", "good2", "longsource"]
    by_line = {r["line"]: r["reason"] for r in rejects}
    assert by_line == {
        2: "bad_value: label of box 1 in the answer: lone surrogate \\ud800 in a string (not encodable as UTF-8)",
        3: "bad_value: lone surrogate \\udfff in a string (not encodable as UTF-8)",
        4: f"bad_value: integer {2 ** 70} is outside the signed 64-bit range",
        5: "bad_value: a number of more than 4300 digits",
        6: f"image_not_found: {'x' * 300 + '.jpg'!r}: a name longer than 255 bytes",
        7: f"count_too_large: answer is {'9' * 30}, above {2 ** 63 - 1}",
    }


def test_a_json_array_goes_on_after_a_hostile_element(tmp_path):
    """A 5,000-digit number used to end a JSON array file ('rest of file not read'): the decoder raised
    ValueError mid-element. Now that element is one reject and the next ones are read."""
    from PIL import Image

    root = tmp_path / "imgs"
    root.mkdir()
    Image.new("RGB", (100, 50), (0, 90, 160)).save(root / "good.jpg", quality=85)
    elements = [json.dumps(_grounding("a", "good.jpg")),
                json.dumps(_grounding("digits", "good.jpg")).replace('"id": "digits"', '"id": "digits", "n": ' + HUGE),
                json.dumps(_grounding("surrogate", "good.jpg")).replace("Locate", "Locate\\udc00"),
                json.dumps(_grounding("b", "good.jpg"))]
    ann = tmp_path / "ann.json"
    ann.write_text("[\n" + ",\n".join(elements) + "\n]\n", encoding="utf-8")
    assert main(["ingest", "spatialforge", "--annotations", str(ann), "--images", f"fs={root}", "--out",
                 str(tmp_path / "out"), "--no-progress"]) == 0
    base = tmp_path / "out" / "spatialforge"
    assert {r["line"]: r["reason"] for r in _rejects(base / "rejects.jsonl")} == {
        3: "bad_value: a number of more than 4300 digits",
        4: "bad_value: lone surrogate \\udc00 in a string (not encodable as UTF-8)"}
    written = [json.loads(x)["meta"]["source_id"] for f in (base / "qa_jsonl").rglob("*.jsonl") for x in f.read_text().splitlines()]
    assert sorted(written) == ["a", "b"]


# --- predictions: one parser, one verdict (CLI and Space) -----------------------------------------

def _both_verdicts(tmp_path: Path, data: bytes) -> tuple[object, object]:
    """(CLI, Space) outcome for the same file: the parsed {id: prediction} or the error text."""
    from spar_hf.errors import SparError
    from spar_hf.eval.predictions import read_predictions
    from spar_hf.space.evaluation import check_upload

    path = tmp_path / "p.jsonl"
    path.write_bytes(data)
    outcomes = []
    for parse in (read_predictions, check_upload):
        try:
            outcomes.append(parse(path).by_id)
        except SparError as exc:
            outcomes.append(str(exc))
    return outcomes[0], outcomes[1]


def test_cli_and_space_agree_on_a_raw_line_separator_inside_a_prediction(tmp_path):
    """JSON allows a raw U+2028 in a string; the Space split lines on it (str.splitlines) and refused the file
    the CLI scored."""
    data = '{"id": 1, "prediction": "A\u2028B"}\n{"id": 2, "prediction": "C\u0085"}\n'.encode()
    assert _both_verdicts(tmp_path, data) == ({1: "A\u2028B", 2: "C\u0085"}, {1: "A\u2028B", 2: "C\u0085"})


def test_cli_and_space_agree_on_an_empty_file(tmp_path):
    """Before: the CLI scored an empty file (every question missing, 0 points); the Space refused it."""
    cli, space = _both_verdicts(tmp_path, b"\n \n")
    assert cli == f"{tmp_path / 'p.jsonl'}: no predictions (empty file)" and space == "p.jsonl: no predictions (empty file)"


@pytest.mark.parametrize("line, reason", [
    ('{"id": 1, "prediction": "A\\ud800"}', "prediction: lone surrogate \\ud800 in a string (not encodable as UTF-8)"),
    ('{"id": "\u0663", "prediction": "A"}', "id must be an integer, got '\u0663'"),          # ARABIC-INDIC DIGIT THREE
    ('{"id": "\uff11", "prediction": "A"}', "id must be an integer, got '\uff11'"),          # FULLWIDTH DIGIT ONE
    (f'{{"id": {2 ** 70}, "prediction": "A"}}', f"id {2 ** 70} is outside the signed 64-bit range"),
    ('{"id": "1180591620717411303424", "prediction": "A"}', "id must be an integer, got '1180591620717411303424'"),
    (f'{{"id": {HUGE}, "prediction": "A"}}', "not JSON (a number of more than 4300 digits)"),
])
def test_hostile_prediction_lines_are_refused_by_both(tmp_path, line, reason):
    data = ('{"id": 0, "prediction": "B"}\n' + line + "\n").encode()
    cli, space = _both_verdicts(tmp_path, data)
    assert cli == f"{tmp_path / 'p.jsonl'}: 1 bad line(s): line 2: {reason}"
    assert space == f"p.jsonl: 1 bad line(s); the file was not scored:\nline 2: {reason}"

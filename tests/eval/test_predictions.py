"""The predictions JSONL parser and the missing / null / unknown rules of evaluate()."""

import pytest

from spar_hf.errors import SparError
from spar_hf.eval.evaluate import evaluate
from spar_hf.eval.predictions import parse_line, read_predictions


def test_parse_line_accepts_int_and_digit_string_ids_and_null():
    assert parse_line('{"id": 7, "prediction": "A"}') == (7, "A")
    assert parse_line('{"id": "12", "prediction": ""}') == (12, "")
    assert parse_line('{"id": 3, "prediction": null, "extra": 1}') == (3, None)


@pytest.mark.parametrize(
    "line, reason",
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"id": true, "prediction": "A"}', "not a boolean"),
        ('{"id": 1.5, "prediction": "A"}', "id must be an integer"),
        ('{"id": "x1", "prediction": "A"}', "id must be an integer"),
        ('{"prediction": "A"}', "missing key(s) id"),
        ('{"id": 1, "prediction": ["A"]}', "string or null"),
        ("{", "not JSON"),
    ],
)
def test_parse_line_reasons(line, reason):
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_line(line)


def test_read_predictions_skips_blank_lines_and_counts(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "prediction": "A"}\n\n{"id": 2, "prediction": null}\n')
    preds = read_predictions(path)
    assert preds.by_id == {1: "A", 2: None} and preds.lines == 2


def test_read_predictions_errors(tmp_path):
    with pytest.raises(SparError, match="not found"):
        read_predictions(tmp_path / "absent.jsonl")
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b'{"id": 1, "prediction": "\xff"}\n')
    with pytest.raises(SparError, match="not UTF-8"):
        read_predictions(binary)
    many = tmp_path / "many.jsonl"
    many.write_text("x\n" * 12)
    with pytest.raises(SparError, match=r"12 bad line\(s\).*\(and 2 more\)"):
        read_predictions(many)


ROWS = {
    "id": [1, 2, 3, 4, 5, 5, 6],
    "task": ["obj_spatial_relation_oo", "obj_spatial_relation_oo", "spatial_imagination_oc", "spatial_imagination_oc",
             "depth_prediction_oc", "depth_prediction_oc", "room_size"],
    "answer": ["A", "B", "A", "B", "2.0", "2.0", "3"],
    "question": [""] * 7,
}


def test_evaluate_null_missing_unknown_and_rejected_rows():
    result = evaluate(ROWS, {1: "A", 2: None, 3: None, 4: None, 5: "2.0", 77: "A"}, "strict")
    tasks = result.tasks
    # a null among real answers scores 0: (1 + 0) / 2
    assert tasks["obj_spatial_relation_oo"].score == pytest.approx(0.5)
    # every prediction of the task null -> unscored
    assert tasks["spatial_imagination_oc"].score is None and tasks["spatial_imagination_oc"].unscored
    assert tasks["depth_prediction_oc"].score == 1.0 and tasks["depth_prediction_oc"].questions == 1
    assert result.unknown_ids == [77] and result.missing_ids == []
    assert [(r["id"], r["reason"]) for r in result.rejected] == [(5, "duplicate id in dataset"), (6, "unknown task")]
    assert result.summary["obj_spatial_relation_oo"] == pytest.approx(50.0)
    assert result.summary["High"] is None  # other High tasks have no questions


def test_evaluate_missing_ids_score_zero():
    result = evaluate(ROWS, {1: "A"}, "lmms-eval")
    assert result.missing_ids == [2, 3, 4, 5]
    assert result.tasks["obj_spatial_relation_oo"].score == pytest.approx(0.5)
    assert result.tasks["spatial_imagination_oc"].score == 0.0


def test_unknown_protocol():
    with pytest.raises(ValueError, match="unknown protocol"):
        evaluate(ROWS, {}, "mine")

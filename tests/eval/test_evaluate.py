"""`spar-hf eval / prompts / baseline` end to end on a small hand-made bench dataset.

The dataset has the 20 tasks x 2 questions (ids 2i+1, 2i+2 for task i in Table 4 order):
numeric answers 2.0 and 4.0, choice answers A and B, view_change_infer answers a fixed motion.
"""

import csv
import io
import json

import pytest
from fixtures.bench import MOTION, _png, _rows, write_bench  # noqa: F401

from spar_hf.cli import main
from spar_hf.tasks.bench import BENCH_TASKS, CHOICE, NUMERIC, task_kind


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")


@pytest.fixture
def bench(tmp_path):
    return write_bench(tmp_path / "hf")


def model_predictions():
    """Hand-scored: numeric 2.0 -> 1.0 and 3.28 vs 4.0 (rel 0.18) -> 0.7, mean 0.85;
    choice A -> 1 and C -> 0; position_matching A and "" (lmms-eval: 1, strict: 0);
    view_change_infer: first exact, second (id 22) missing; plus unknown id 999."""
    preds = []
    for i, task in enumerate(BENCH_TASKS):
        kind = task_kind(task)
        first, second = 2 * i + 1, 2 * i + 2
        if kind == NUMERIC:
            preds += [(first, "2.0"), (second, "3.28")]
        elif task == "position_matching":
            preds += [(first, "A"), (second, "")]
        elif kind == CHOICE:
            preds += [(first, "A"), (second, "C")]
        else:
            preds += [(first, MOTION)]
    preds.append((999, "A"))
    return preds


def write_predictions(path, preds):
    path.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in preds))
    return path


def run_eval(bench, preds_file, *extra):
    out = preds_file.parent / f"report-{len(extra)}-{'-'.join(extra)}.txt"
    code = main(["eval", "--dataset", str(bench), "--config", "bench", "--predictions", str(preds_file),
                 "--out", str(out), *extra])
    assert code == 0
    return out.read_text()


def test_eval_markdown_lmms_eval(bench, tmp_path, capsys):
    preds = write_predictions(tmp_path / "preds.jsonl", model_predictions())
    text = run_eval(bench, preds)
    assert "protocol: lmms-eval" in text
    # Low 85; Medium (100 + 50 + 50) / 3; High 50; Avg (8*85 + 100 + 11*50) / 20 = 66.5
    assert "| 66.50 | 85.00 | 66.67 | 50.00 |" in text
    assert "| position_matching | PosMatch | Medium | 2 | 2 | 0 | 0 | 100.00 |" in text
    assert "| view_change_infer | ViewChgI | Medium | 2 | 1 | 1 | 0 | 50.00 |" in text
    assert "Missing ids (1, scored 0): 22" in text
    assert "Unknown ids (1, ignored): 999" in text
    summary = capsys.readouterr().out
    assert "eval: in=40 out=39 rejected=1" in summary and "protocol=lmms-eval" in summary


def test_eval_json_strict(bench, tmp_path):
    preds = write_predictions(tmp_path / "preds.jsonl", model_predictions())
    data = json.loads(run_eval(bench, preds, "--format", "json", "--protocol", "strict"))
    assert data["protocol"] == "strict"
    # strict: the empty position_matching answer scores 0 -> Medium 50, Avg (680 + 600) / 20 = 64
    assert data["summary"] == pytest.approx({"Avg": 64.0, "Low": 85.0, "Medium": 50.0, "High": 50.0})
    assert data["missing_ids"] == [22] and data["unknown_ids"] == [999]
    tasks = {t["task"]: t for t in data["tasks"]}
    assert tasks["depth_prediction_oc_mv"]["score"] == pytest.approx(85.0)
    assert tasks["view_change_infer"]["missing"] == 1


def test_eval_csv_vlmevalkit(bench, tmp_path):
    preds = write_predictions(tmp_path / "preds.jsonl", model_predictions())
    rows = list(csv.DictReader(io.StringIO(run_eval(bench, preds, "--format", "csv", "--protocol", "vlmevalkit"))))
    assert {r["protocol"] for r in rows} == {"vlmevalkit"}
    by_key = {r["key"]: r for r in rows}
    assert by_key["Avg"]["score"] == "64.00"  # the empty answer extracts no letter -> 0, as strict
    assert by_key["spatial_imagination_oo"]["score"] == "50.00"
    assert by_key["missing_ids"]["ids"] == "22" and by_key["unknown_ids"]["ids"] == "999"


def test_eval_details_and_stdout(bench, tmp_path, capsys):
    preds = write_predictions(tmp_path / "preds.jsonl", model_predictions())
    details = tmp_path / "details.jsonl"
    code = main(["eval", "--dataset", str(bench), "--predictions", str(preds), "--format", "json",
                 "--details", str(details)])
    assert code == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["protocol"] == "lmms-eval"
    assert "eval: in=40" in captured.err
    lines = [json.loads(x) for x in details.read_text().splitlines()]
    assert len(lines) == 40
    assert {"id": 22, "task": "view_change_infer", "score": 0.0, "extracted": None, "status": "missing"} in lines


def test_eval_is_deterministic(bench, tmp_path):
    preds = write_predictions(tmp_path / "preds.jsonl", model_predictions())
    assert run_eval(bench, preds, "--format", "json") == run_eval(bench, preds, "--format", "json")


def test_duplicate_prediction_ids_are_an_error(bench, tmp_path, capsys):
    preds = write_predictions(tmp_path / "dup.jsonl", [(1, "2.0"), (2, "4.0"), (1, "3.0")])
    code = main(["eval", "--dataset", str(bench), "--predictions", str(preds)])
    assert code == 2
    err = capsys.readouterr().err
    assert "line 3: duplicate id 1 (first on line 1)" in err


def test_bad_prediction_lines_are_listed(bench, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "prediction": "2.0"}\nnot json\n{"id": 3}\n{"id": 4, "prediction": 5}\n')
    assert main(["eval", "--dataset", str(bench), "--predictions", str(path)]) == 2
    err = capsys.readouterr().err
    assert "3 bad line(s)" in err and "line 2: not JSON" in err and "line 3: missing key(s) prediction" in err
    assert "line 4: prediction must be a string or null" in err


def test_missing_column_and_config_are_readable_errors(tmp_path, capsys):
    bench = write_bench(tmp_path / "noanswer", drop=("answer",))
    preds = write_predictions(tmp_path / "p.jsonl", [(1, "A")])
    assert main(["eval", "--dataset", str(bench), "--predictions", str(preds)]) == 2
    assert "cannot read columns" in capsys.readouterr().err
    assert main(["eval", "--dataset", str(bench), "--config", "bench-tiny", "--predictions", str(preds)]) == 2
    assert "bench-tiny" in capsys.readouterr().err


def test_prompts_command(bench, tmp_path):
    out = tmp_path / "run" / "prompts.jsonl"
    assert main(["prompts", "--dataset", str(bench), "--config", "bench", "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 40
    first = rows[0]
    assert first["id"] == 1 and first["task"] == "depth_prediction_oc"
    assert first["prompt"] == "\nHow far is it (depth_prediction_oc 0)?\nPlease answer the question using a single word or phrase."
    assert first["images"] == ["prompts_images/1_0.png"]
    assert (out.parent / first["images"][0]).read_bytes() == _png((0, 0, 0))
    assert "answer" not in first
    assert not (out.parent / "prompts.rejects.jsonl").exists()


def test_baseline_random_marks_unscored_tasks(bench, tmp_path):
    out = tmp_path / "random.jsonl"
    assert main(["baseline", "random", "--dataset", str(bench), "--out", str(out), "--seed", "3"]) == 0
    again = tmp_path / "random2.jsonl"
    assert main(["baseline", "random", "--dataset", str(bench), "--out", str(again), "--seed", "3"]) == 0
    assert out.read_bytes() == again.read_bytes()
    preds = {r["id"]: r["prediction"] for r in map(json.loads, out.read_text().splitlines())}
    assert len(preds) == 40
    for i, task in enumerate(BENCH_TASKS):
        for ident in (2 * i + 1, 2 * i + 2):
            if task_kind(task) == CHOICE:
                assert preds[ident] in ("A", "B", "C", "D")
            else:
                assert preds[ident] is None
    data = json.loads(run_eval(bench, out, "--format", "json"))
    tasks = {t["task"]: t for t in data["tasks"]}
    assert tasks["depth_prediction_oc"]["score"] is None and tasks["view_change_infer"]["score"] is None
    assert data["summary"]["Avg"] is None and data["summary"]["Low"] is None and data["summary"]["Medium"] is None
    assert data["summary"]["High"] is not None


def test_baseline_frequency(bench, tmp_path):
    out = tmp_path / "freq.jsonl"
    assert main(["baseline", "frequency", "--dataset", str(bench), "--out", str(out)]) == 0
    preds = {r["id"]: r["prediction"] for r in map(json.loads, out.read_text().splitlines())}
    # numeric answers 2.0 and 4.0 tie -> the smaller value; choice A and B tie -> A
    assert preds[1] == "2.0" and preds[2] == "2.0" and preds[23] == "A" and preds[21] == MOTION
    data = json.loads(run_eval(bench, out, "--format", "json"))
    tasks = {t["task"]: t for t in data["tasks"]}
    # numeric: 2.0 vs 2.0 -> 1; 2.0 vs 4.0 -> rel 0.5 -> only the 0.50 threshold -> 0.1; mean 0.55
    assert tasks["distance_prediction_oo"]["score"] == pytest.approx(55.0)
    assert tasks["obj_spatial_relation_oo"]["score"] == pytest.approx(50.0)
    assert tasks["view_change_infer"]["score"] == pytest.approx(100.0)


def test_eval_compare_appends_paper_rows(bench, tmp_path):
    preds = write_predictions(tmp_path / "preds.jsonl", model_predictions())
    text = run_eval(bench, preds, "--compare", "full")
    assert "| **this run** | 66.50 | 85.00 | 66.67 | 50.00 | |" in text
    # SpaceR-7B: Medium (38.68 + 40.00 + 17.23) / 3 = 31.97 and High 45.32 recomputed beside the published cells
    assert "| SpaceR-7B | 37.55 | 30.90 | 31.93 (31.97) | 45.61 (45.32) |" in text
    data = json.loads(run_eval(bench, preds, "--format", "json", "--compare", "tiny"))
    names = [r["name"] for r in data["reference"]]
    assert "Human Level" in names and len(names) == 21
    rows = list(csv.DictReader(io.StringIO(run_eval(bench, preds, "--format", "csv", "--compare", "full"))))
    assert {"protocol": "paper-full", "key": "GPT-4o", "level": "Avg", "score": "38.11"}.items() <= [
        r for r in rows if r["key"] == "GPT-4o" and r["level"] == "Avg"][0].items()


def test_eval_reads_a_rebuilt_dataset_fresh(tmp_path):
    # the datasets cache key of a local folder ignores its files' contents: a rebuilt bench in the
    # same place must still be read anew (eval streams, so nothing is cached)
    preds = write_predictions(tmp_path / "p.jsonl", [(1, "2.0")])
    bench = write_bench(tmp_path / "hf")
    first = json.loads(run_eval(bench, preds, "--format", "json"))
    rows = _rows()
    rows["answer"][0] = "4.0"  # 2.0 vs 4.0: rel 0.5 -> 0.1; the other question is missing -> (0.1 + 0) / 2
    write_bench(tmp_path / "hf", rows=rows)
    second = json.loads(run_eval(bench, preds, "--format", "json", "--protocol", "lmms-eval"))
    assert first["tasks"][0]["score"] == pytest.approx(50.0)
    assert second["tasks"][0]["score"] == pytest.approx(5.0)


def test_prompts_rejects_unknown_task_and_repeated_id(tmp_path):
    rows = _rows()
    rows["task"][0] = "room_size"  # id 1: not a bench task
    rows["id"][3] = 3  # id 3 appears twice (rows 2 and 3)
    bench = write_bench(tmp_path / "hf", rows=rows)
    out = tmp_path / "p.jsonl"
    assert main(["prompts", "--dataset", str(bench), "--out", str(out)]) == 0
    ids = [json.loads(x)["id"] for x in out.read_text().splitlines()]
    assert len(ids) == 38 and 1 not in ids and ids.count(3) == 1
    rejects = [json.loads(x) for x in (tmp_path / "p.rejects.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rejects] == ["unknown task: room_size", "duplicate id: 3"]

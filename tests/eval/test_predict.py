"""`spar-hf predict` against a real OpenAI-compatible server on 127.0.0.1 (tests/fixtures/openai_stub.py).

The bench has the 20 tasks x 2 questions (ids 2i+1, 2i+2 for task i in Table 4 order, answers as
in `fixtures.bench`); the 9 `_mv` tasks have 3 images per row, the others 1, so 76 images in all.
Image k of id n is a PNG whose pixels are (n, 50 k, 7): the server reads the id and the position
back from what it decodes. It answers every question with its gold answer, so `eval` scores 100.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.bench import _bench_rows  # noqa: F401
from fixtures.bench import _png, _rows, write_bench
from fixtures.openai_stub import MODEL, StubServer, StubState

from spar_hf.cli import main
from spar_hf.eval.prompts import build_prompt
from spar_hf.tasks.bench import BENCH_TASKS

N_ROWS = 40
N_IMAGES = 9 * 2 * 3 + 11 * 2 * 1
NUMERIC_POST = "Please answer the question using a single word or phrase."
CHOICE_POST = "Answer with the option's letter from the given choices directly."
NOTE = ("The values represent the bounding box coordinates normalized to a 0-1000 scale, "
        "with the top-left corner as the origin of the image.")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def bench(tmp_path):
    rows = _bench_rows()
    write_bench(tmp_path / "hf", rows=rows)
    return tmp_path / "hf", dict(zip(rows["id"], rows["answer"])), dict(zip(rows["id"], rows["question"]))


def _gold_state(answers: dict[int, str], **kwargs) -> StubState:
    return StubState(answer=lambda r: answers[r.pixels[0][0]], key=lambda r: r.pixels[0][0], **kwargs)


def _predict(hf, url, out, *extra):
    return main(["predict", "--dataset", str(hf), "--config", "bench", "--base-url", url, "--model", MODEL,
                 "--out", str(out), *extra])


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _score(hf, preds, tmp_path) -> dict:
    report = tmp_path / "report.json"
    assert main(["eval", "--dataset", str(hf), "--config", "bench", "--predictions", str(preds), "--format", "json",
                 "--out", str(report)]) == 0
    return json.loads(report.read_text())


def test_every_image_arrives_decodable_in_order_and_eval_scores_it(bench, tmp_path, capsys, monkeypatch):
    hf, answers, questions = bench
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    out = tmp_path / "preds.jsonl"
    with StubServer(_gold_state(answers)) as server:
        assert _predict(hf, server.base_url, out, "--concurrency", "4") == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(f"predict: in=40 out=40 rejected=0 resumed=0 sent=40 retries=0 model={MODEL} protocol=lmms-eval "
                           f"prompt_tokens={40 * 7 + 100 * N_IMAGES} completion_tokens=120 seconds=")
    received = {r.pixels[0][0]: r for r in server.state.received}
    assert sorted(received) == list(range(1, N_ROWS + 1)) and len(server.state.received) == N_ROWS
    for ident, r in received.items():
        task = BENCH_TASKS[(ident - 1) // 2]
        n = 3 if task.endswith("_mv") else 1
        assert r.pixels == [(ident, 50 * k, 7) for k in range(n)]  # every image decodes, in row order
        assert r.mimes == ["image/png"] * n and r.images[0] == _png((ident, 0, 7))  # the dataset's bytes, unchanged
        assert r.order == ["text"] + ["image"] * n  # lmms-eval: the text, then the images
        assert r.max_tokens == 100 and r.temperature == 0 and r.authorization == "Bearer sk-test"
    # prompts written out by hand from lmms-eval's doc_to_text (docs/eval.md "Prompts")
    assert received[1].texts == [f"\n{questions[1]}\n{NUMERIC_POST}"]
    pm = 2 * BENCH_TASKS.index("position_matching") + 1
    assert received[pm].texts == [f"\n{questions[pm]}\n{NOTE}\n{CHOICE_POST}"]
    osr = 2 * BENCH_TASKS.index("obj_spatial_relation_oo") + 1
    assert received[osr].texts == [f"\n{questions[osr]}\n\n{CHOICE_POST}"]
    vci = 2 * BENCH_TASKS.index("view_change_infer") + 1
    assert received[vci].texts == ["\nHow did the camera move?\n\n"]
    lines = _lines(out)
    assert sorted(x["id"] for x in lines) == list(range(1, N_ROWS + 1))
    first = next(x for x in lines if x["id"] == 1)  # depth_prediction_oc: one image
    assert first["prediction"] == "2.0" and first["model"] == MODEL and first["retries"] == 0
    assert first["prompt_tokens"] == 107 and first["completion_tokens"] == 3 and first["finish_reason"] == "stop"
    assert first["latency_s"] > 0
    assert not (tmp_path / "preds.rejects.jsonl").exists()
    report = _score(hf, out, tmp_path)
    assert report["summary"] == {"Avg": 100.0, "Low": 100.0, "Medium": 100.0, "High": 100.0}


def test_vlmevalkit_protocol_sends_images_first(bench, tmp_path):
    hf, answers, _ = bench
    with StubServer(_gold_state(answers)) as server:
        assert _predict(hf, server.base_url, tmp_path / "p.jsonl", "--protocol", "vlmevalkit", "--max-tokens", "7",
                        "--temperature", "0.5") == 0
    r = next(r for r in server.state.received if r.pixels[0][0] == 3)  # depth_prediction_oc_mv: 3 images
    assert r.order == ["image", "image", "image", "text"] and r.max_tokens == 7 and r.temperature == 0.5
    assert r.authorization == "Bearer EMPTY"


def test_server_errors_are_retried_with_backoff(bench, tmp_path, capsys):
    hf, answers, _ = bench
    out = tmp_path / "preds.jsonl"
    with StubServer(_gold_state(answers, fail_first={5: 500, 6: 429, 9: 503})) as server:
        assert _predict(hf, server.base_url, out, "--concurrency", "2") == 0
    assert sorted(server.state.failed) == [5, 6, 9]
    assert sorted(r.pixels[0][0] for r in server.state.received) == list(range(1, N_ROWS + 1))
    by_id = {x["id"]: x for x in _lines(out)}
    assert len(by_id) == N_ROWS and by_id[5]["retries"] == 1 and by_id[6]["retries"] == 1 and by_id[4]["retries"] == 0
    assert by_id[5]["prediction"] == answers[5]
    assert " rejected=0 " in capsys.readouterr().out and _score(hf, out, tmp_path)["summary"]["Avg"] == 100.0


def test_a_refused_question_is_rejected_and_resume_sends_only_it(bench, tmp_path, capsys):
    hf, answers, _ = bench
    out = tmp_path / "preds.jsonl"
    with StubServer(_gold_state(answers, fail_first={7: 400})) as server:
        assert _predict(hf, server.base_url, out) == 0
        first = capsys.readouterr().out.strip().splitlines()[-1]
        assert first.startswith("predict: in=40 out=39 rejected=1 resumed=0 sent=40 retries=0 ")
        assert "(rejects by reason: no answer: 1)" in first
        rejects = _lines(tmp_path / "preds.rejects.jsonl")
        assert rejects == [{"file": None, "line": None, "reason": "no answer: HTTP 400: injected failure", "record": {"id": 7}}]
        before = len(server.state.received)
        assert _predict(hf, server.base_url, out, "--resume") == 0
    assert [r.pixels[0][0] for r in server.state.received[before:]] == [7]
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("predict: in=40 out=40 rejected=0 resumed=39 sent=1 ")
    assert not (tmp_path / "preds.rejects.jsonl").exists()
    assert sorted(x["id"] for x in _lines(out)) == list(range(1, N_ROWS + 1))


def test_resume_after_kill_sends_only_the_missing_ids(bench, tmp_path, capsys):
    hf, answers, _ = bench
    out = tmp_path / "preds.jsonl"
    state = _gold_state(answers, delay_s=0.1)
    with StubServer(state) as server:
        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_DATASETS_CACHE=str(tmp_path / "c2"))
        proc = subprocess.Popen([sys.executable, "-m", "spar_hf", "predict", "--dataset", str(hf), "--base-url", server.base_url,
                                 "--model", MODEL, "--out", str(out), "--concurrency", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            deadline = time.time() + 120
            while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 10):
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        kept = {x["id"] for x in _lines(out)}
        assert 10 <= len(kept) < N_ROWS
        with open(out, "ab") as handle:  # a line cut short, as a kill in the middle of a write leaves it
            handle.write(b'{"id": 40, "prediction": "2.')
        state.delay_s = 0
        before = len(state.received)
        assert _predict(hf, server.base_url, out, "--resume", "--concurrency", "3") == 0
    resent = [r.pixels[0][0] for r in state.received[before:]]
    assert sorted(resent) == sorted(set(range(1, N_ROWS + 1)) - kept)  # each missing id once, nothing twice
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(f"predict: in=40 out=40 rejected=0 resumed={len(kept)} sent={N_ROWS - len(kept)} ")
    lines = _lines(out)
    assert sorted(x["id"] for x in lines) == list(range(1, N_ROWS + 1))
    assert _score(hf, out, tmp_path)["summary"]["Avg"] == 100.0


def test_clear_errors(bench, tmp_path, capsys):
    hf, answers, _ = bench
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    out = tmp_path / "p.jsonl"
    assert _predict(hf, f"http://127.0.0.1:{closed}/v1", out, "--max-retries", "0") == 2
    err = capsys.readouterr().err
    assert f"http://127.0.0.1:{closed}/v1: cannot reach the endpoint" in err and "is the server running?" in err
    with StubServer(_gold_state(answers)) as server:
        code = main(["predict", "--dataset", str(hf), "--base-url", server.base_url, "--model", "gpt-nope", "--out", str(out)])
        assert code == 2
        assert f"model 'gpt-nope' is not served at {server.base_url}; it serves: {MODEL}" in capsys.readouterr().err
        assert _predict(hf, server.base_url.removesuffix("/v1"), out) == 2
        assert "has no /models route (did you mean" in capsys.readouterr().err
        out.write_text('{"id": 1, "prediction": "2.0", "model": "other-model"}\n')
        assert _predict(hf, server.base_url, out) == 2
        assert f"{out} exists; pass --resume to continue it, or remove it" in capsys.readouterr().err
        assert _predict(hf, server.base_url, out, "--resume") == 2
        assert "line 1: answered by model 'other-model', not 'stub-vl'" in capsys.readouterr().err
        out.write_text('{"id": 999, "prediction": "2.0"}\n')
        assert _predict(hf, server.base_url, out, "--resume") == 2
        assert "1 id(s) not in" in capsys.readouterr().err
        assert server.state.received == []


def test_a_plain_hub_parquet_folder(tmp_path):
    """The hub SPAR-Bench layout (data/test-*.parquet, no card) is read through datasets too."""
    from datasets import Dataset, Features, Image, List, Value

    rows = _bench_rows()
    spec = {"id": Value("int64"), "img_type": Value("string"), "format_type": Value("string"), "task": Value("string"),
            "source": Value("string"), "image": List(Image()), "question": Value("string"), "answer": Value("string")}
    hub = tmp_path / "SPAR-Bench"
    (hub / "data").mkdir(parents=True)
    Dataset.from_dict(rows, features=Features(spec)).to_parquet(str(hub / "data" / "test-00000-of-00001.parquet"))
    answers = dict(zip(rows["id"], rows["answer"]))
    out = tmp_path / "p.jsonl"
    with StubServer(_gold_state(answers)) as server:
        assert main(["predict", "--dataset", str(hub), "--config", "default", "--base-url", server.base_url, "--model", MODEL,
                     "--out", str(out)]) == 0
    assert sorted(r.pixels[0][0] for r in server.state.received) == list(range(1, N_ROWS + 1))
    report = tmp_path / "r.json"
    assert main(["eval", "--dataset", str(hub), "--config", "default", "--predictions", str(out), "--format", "json",
                 "--out", str(report)]) == 0
    assert json.loads(report.read_text())["summary"]["Avg"] == 100.0


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict-build")
    scenes, spar, hf = root / "scenes", root / "spar", root / "hf"
    assert main(["synth", "--out", str(scenes), "--scenes", "2", "--frames", "6", "--seed", "0"]) == 0
    assert main(["generate", "--source", "synthetic", "--scenes", str(scenes), "--out", str(spar), "--val-fraction", "0.5",
                 "--tasks", "depth_prediction_oc,depth_prediction_oc_mv,position_matching,view_change_infer"]) == 0
    assert main(["build", "--from", str(spar), "--out", str(hf), "--configs", "bench"]) == 0
    return hf


@pytest.mark.slow
def test_a_spar_hf_build(built, tmp_path):
    """Our own build: every row's images (the stored files, in order) and its gold answer go through."""
    import datasets

    from spar_hf.eval.bench_data import image_bytes

    table = datasets.load_dataset(str(built), "bench", split="test", cache_dir=str(tmp_path / "c"))
    table = table.cast_column("image", datasets.List(datasets.Image(decode=False)))
    rows = list(table)
    assert len(rows) > 10 and any(len(r["image"]) > 1 for r in rows)

    def key(received):
        return received.texts[0], hashlib.sha1(b"".join(received.images)).hexdigest()

    gold = {}
    for r in rows:
        images = [image_bytes(cell) for cell in r["image"]]  # a pack build gives zip:// paths, not bytes
        gold[(build_prompt(r["task"], r["question"]), hashlib.sha1(b"".join(images)).hexdigest())] = (r["id"], r["answer"])
    out = tmp_path / "p.jsonl"
    with StubServer(StubState(answer=lambda rec: gold[key(rec)][1])) as server:
        assert _predict(built, server.base_url, out) == 0
    assert sorted(gold[key(rec)][0] for rec in server.state.received) == sorted(r["id"] for r in rows)
    report = _score(built, out, tmp_path)
    assert [t["score"] for t in report["tasks"] if t["questions"]] == [100.0] * 4

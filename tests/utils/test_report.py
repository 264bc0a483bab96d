"""spar_hf.utils.report: RejectLog streams rejects to JSONL that appears only when complete; Summary counts them.

Expected lines and counts are written out by hand from the documented contract: a reject row is
(file, line, reason[, record]); the summary is `cmd: in=N out=N rejected=N key=value ...` followed by
the rejects counted by reason prefix (the text before the first ':'), most frequent first.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from spar_hf.utils.report import RejectLog, Summary


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rejects_file_appears_only_on_close(tmp_path):
    path = tmp_path / "out" / "rejects.jsonl"
    with RejectLog(path) as log:
        log.add("bad json: expecting value", file="a.jsonl", line=3)
        log.add("missing image: x.jpg", file="a.jsonl", line=9, record={"id": "r9"})
        assert not path.exists()  # nothing under the final name while rows are still coming
        assert [p.name.startswith(".tmp-") for p in path.parent.iterdir()] == [True]  # the sweepable temp name
    assert sorted(p.name for p in path.parent.iterdir()) == ["rejects.jsonl"]
    assert _rows(path) == [
        {"file": "a.jsonl", "line": 3, "reason": "bad json: expecting value"},
        {"file": "a.jsonl", "line": 9, "reason": "missing image: x.jpg", "record": {"id": "r9"}},
    ]
    assert log.count == 2


def test_failed_run_keeps_the_previous_rejects_file(tmp_path):
    path = tmp_path / "rejects.jsonl"
    path.write_text('{"file": null, "line": null, "reason": "old"}\n', encoding="utf-8")
    with pytest.raises(RuntimeError, match="crash mid-run"):
        with RejectLog(path) as log:
            log.add("new reason")
            assert _rows(path) == [{"file": None, "line": None, "reason": "old"}]
            raise RuntimeError("crash mid-run")
    assert _rows(path) == [{"file": None, "line": None, "reason": "old"}]
    assert [p.name for p in tmp_path.iterdir()] == ["rejects.jsonl"]  # the temp file is gone too


def test_no_rejects_still_writes_an_empty_file(tmp_path):
    path = tmp_path / "rejects.jsonl"
    with RejectLog(path):
        pass
    assert path.read_bytes() == b""


def test_non_ascii_reasons_and_ids_are_kept_as_utf8(tmp_path):
    path = tmp_path / "rejects.jsonl"
    reason = "größe ungültig: 椅子の高さ 🪑"
    record = {"id": "場景_0001-é", "question": "Wie weit ist der Stuhl?"}
    with RejectLog(path) as log:
        log.add(reason, file="données/qa.jsonl", line=1, record=record)
    raw = path.read_bytes()
    for text in (reason, record["id"], "données/qa.jsonl"):
        assert text.encode("utf-8") in raw  # written as UTF-8, not as \u escapes
    assert b"\\u" not in raw
    assert _rows(path) == [{"file": "données/qa.jsonl", "line": 1, "reason": reason, "record": record}]


def test_values_json_cannot_hold_are_written_as_text(tmp_path):
    path = tmp_path / "rejects.jsonl"
    with RejectLog(path) as log:
        log.add("unreadable image: truncated", record={"path": Path("scenes") / "a.jpg", "size": 3})
    assert _rows(path) == [{"file": None, "line": None, "reason": "unreadable image: truncated",
                            "record": {"path": str(Path("scenes") / "a.jpg"), "size": 3}}]


def _strict(text: str):
    """json.loads that refuses NaN / Infinity, as JSON readers outside Python do."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_in_a_rejected_record_are_written_by_name(tmp_path):
    path = tmp_path / "rejects.jsonl"
    with RejectLog(path) as log:
        log.add("bbox_not_finite: box 0", file="a.jsonl", line=3,
                record={"bbox": [float("nan"), 1.5, float("inf"), -float("inf")], "nested": {"x": (float("nan"),)}})
        log.add("bad_value: count", file="a.jsonl", line=4, record={"count": 2.5})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [_strict(line) for line in lines] == [
        {"file": "a.jsonl", "line": 3, "reason": "bbox_not_finite: box 0",
         "record": {"bbox": ["NaN", 1.5, "Infinity", "-Infinity"], "nested": {"x": ["NaN"]}}},
        {"file": "a.jsonl", "line": 4, "reason": "bad_value: count", "record": {"count": 2.5}},
    ]


def test_rejects_feed_the_summary_by_reason_prefix(tmp_path):
    summary = Summary("ingest demo", n_in=7, n_out=3)
    summary.extra["images"] = "linked 2"
    with RejectLog(tmp_path / "rejects.jsonl", summary) as log:
        log.add("missing image: a.jpg")
        log.add("bad json: line 2")
        log.add("missing image: b.jpg")
        log.add("duplicate id")  # no ':' -> the whole reason is its prefix
    assert summary.n_rejected == 4 and log.count == 4
    assert dict(summary.reasons) == {"missing image": 2, "bad json": 1, "duplicate id": 1}
    # most frequent first, ties by name
    assert summary.line() == ("ingest demo: in=7 out=3 rejected=4 images=linked 2 "
                              "(rejects by reason: missing image: 2, bad json: 1, duplicate id: 1)")


def test_summary_line_without_rejects_or_extras():
    assert Summary("build").line() == "build: in=0 out=0 rejected=0"
    assert Summary("shards", n_in=12, n_out=12, extra={"shards": 3}).line() == "shards: in=12 out=12 rejected=0 shards=3"


def test_counts_add_up_for_a_command_that_rejects_some_inputs(tmp_path):
    """A command's loop: each input lands in the output or in rejects; in = out + rejected in the line."""
    inputs = ['{"id": "a"}', "{broken", '{"id": "b"}', '{"id": ""}', '{"id": "ç"}']
    summary = Summary("ingest demo")
    kept = []
    with RejectLog(tmp_path / "rejects.jsonl", summary) as log:
        for n, text in enumerate(inputs, 1):
            summary.n_in += 1
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                log.add(f"bad json: {exc.msg}", file="in.jsonl", line=n)
                continue
            if not row["id"]:
                log.add("empty id: the record has no id", file="in.jsonl", line=n, record=row)
                continue
            kept.append(row)
            summary.n_out += 1
    assert summary.line() == "ingest demo: in=5 out=3 rejected=2 (rejects by reason: bad json: 1, empty id: 1)"
    n_in, n_out, n_rej = (int(v) for v in re.match(r"ingest demo: in=(\d+) out=(\d+) rejected=(\d+)", summary.line()).groups())
    assert n_in == n_out + n_rej == len(kept) + len(_rows(tmp_path / "rejects.jsonl"))
    assert [(r["line"], r["reason"].split(":")[0]) for r in _rows(tmp_path / "rejects.jsonl")] == [(2, "bad json"), (4, "empty id")]

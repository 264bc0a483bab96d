"""The RxR-style source runs through `spar-hf synth --kind rxr` and `spar-hf generate --source rxr`."""

import json
from pathlib import Path

from spar_hf.cli import main


def test_rxr_walks_become_nav_records(tmp_path: Path):
    assert main(["synth", "--kind", "rxr", "--out", str(tmp_path / "rxr"), "--scenes", "2", "--seed", "3"]) == 0
    assert main(["generate", "--source", "rxr", "--scenes", str(tmp_path / "rxr"), "--out", str(tmp_path / "spar"),
                 "--tasks", "nav_video"]) == 0
    files = sorted((tmp_path / "spar" / "rxr" / "qa_jsonl").rglob("sentence_*.jsonl"))
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    # two walks, one instruction each -> one nav record per walk, split by scene (one train, one val)
    assert len(rows) == 2
    assert {f.parent.parent.parent.name for f in files} == {"train", "val"}
    for row in rows:
        assert row["type"] == "nav"  # the release's record type for the nav_video folder (docs/formats.md "QA record")
        assert "[1]" in row["conversations"][0]["value"]
        assert all("/video_color/frame" in p for p in row["image"])
        for p in row["image"]:
            assert (tmp_path / "spar" / "rxr" / "images" / p).is_file()


def test_release_nav_records_read_back_into_the_nav_video_task():
    from spar_hf.records import QARecord

    line = {"id": "n1", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}],
            "image": ["s/video_color/frame0_0.jpg"], "type": "nav"}
    record = QARecord.from_json(line, format="sentence", source="rxr")
    assert record.task == "nav_video" and record.to_json()["type"] == "nav"
    old = QARecord.from_json(dict(line, type="nav_video"), format="sentence", source="rxr")  # our earlier outputs
    assert old.task == "nav_video"

"""Hostile values and paths (reliability round two): each is a clear reject or error naming the record,
never a traceback, never silently wrong, and one bad record never loses the rest of its file.

Every hostile file is written here by hand, so the expected outcome is known without running our code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spar_hf.cli import main
from test_build_fixture import N_TRAIN_OK, SOURCE, TRAIN_SCENE, make_layout

SURROGATE = "\\ud800"  # a lone surrogate as JSON writes it: valid JSON, not encodable as UTF-8
HUGE = "9" * 5000       # past Python's 4,300-digit int limit: json.loads raises ValueError


def _rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


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
    import pyarrow.parquet as pq

    table = pq.read_table(hf / "7m" / "train-00000-of-00001.parquet", columns=["id"])
    assert table.num_rows == N_TRAIN_OK

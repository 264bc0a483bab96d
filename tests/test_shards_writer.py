"""`spar-hf shard`: HF build -> WebDataset tars, read back with plain webdataset.

The build is made once per session with the real pipeline (synth -> generate -> build, two scenes,
two tasks); expected values come from reading the same Parquet independently with pyarrow.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from spar_hf.cli import main
from spar_hf.errors import SparError
from spar_hf.shards.writer import RowError, row_to_sample, safe_id, sample_key, write_shards

TASKS = "depth_prediction_oc,depth_prediction_oo_mv"


def _build(root: Path) -> Path:
    """synth -> generate -> build into root/hf, once per session (a DONE marker guards reuse)."""
    hf = root / "hf"
    if (root / "DONE").is_file():
        return hf
    assert main(["synth", "--out", str(root / "scenes"), "--scenes", "2", "--frames", "6", "--seed", "0"]) == 0
    assert main(["generate", "--source", "synthetic", "--scenes", str(root / "scenes"), "--out", str(root / "spar"),
                 "--tasks", TASKS]) == 0
    assert main(["build", "--from", str(root / "spar"), "--out", str(hf), "--configs", "7m,7m-rgbd"]) == 0
    (root / "DONE").write_text("ok")
    return hf


@pytest.fixture(scope="session")
def hf_build(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.getbasetemp() / "spar-shards-build")


@pytest.fixture(scope="session")
def rgbd_shards(hf_build, tmp_path_factory) -> Path:
    """7m-rgbd/train sharded with a small max size so there are several shards; returns the index path."""
    out = tmp_path_factory.getbasetemp() / "spar-shards-rgbd"
    index = out / "spar-7m-rgbd-train.index.json"
    if not index.is_file():
        write_shards(hf_build, "7m-rgbd", "train", out, max_size=400_000)
    return index


def parquet_rows(hf: Path, config: str, split: str) -> list[dict]:
    files = sorted((hf / config).glob(f"{split}-*.parquet"))
    rows = []
    for f in files:
        rows.extend(pq.read_table(f).to_pylist())
    return rows


def test_cli_writes_shards_index_and_rejects(hf_build, tmp_path, capsys):
    out = tmp_path / "sh"
    rows = parquet_rows(hf_build, "7m-rgbd", "train")
    assert main(["shard", "--dataset", str(hf_build), "--config", "7m-rgbd", "--split", "train", "--out", str(out),
                 "--max-size", "500KB"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(f"shard: in={len(rows)} out={len(rows)} rejected=0 ")
    index = json.loads((out / "spar-7m-rgbd-train.index.json").read_text())
    assert index["samples"] == len(rows) and index["has_depth"] is True
    assert sum(s["samples"] for s in index["shards"]) == len(rows)
    assert len(index["shards"]) > 1
    tars = sorted(p.name for p in out.glob("*.tar"))
    assert tars == [f"spar-7m-rgbd-train-{i:06d}.tar" for i in range(len(index["shards"]))]
    for shard in index["shards"]:
        data = (out / shard["name"]).read_bytes()
        assert len(data) == shard["bytes"] <= 500_000
        assert hashlib.sha256(data).hexdigest() == shard["sha256"]
    assert (out / "spar-7m-rgbd-train.rejects.jsonl").read_text() == ""
    assert not [p for p in out.iterdir() if p.name.startswith((".tmp-", ".spar"))]


def test_plain_webdataset_reads_every_row_once_with_copied_bytes(hf_build, rgbd_shards):
    import webdataset as wds

    rows = parquet_rows(hf_build, "7m-rgbd", "train")
    index = json.loads(rgbd_shards.read_text())
    pattern = str(rgbd_shards.parent / index["pattern"])
    seen = {}
    for sample in wds.WebDataset(pattern, shardshuffle=False):
        meta = json.loads(sample["json"])
        assert "." not in sample["__key__"]
        assert meta["row"] not in seen
        seen[meta["row"]] = (sample, meta)
    assert sorted(seen) == list(range(len(rows)))
    for i, row in enumerate(rows):
        sample, meta = seen[i]
        assert meta["id"] == row["id"] and meta["question"] == row["question"] and meta["answer"] == row["answer"]
        assert meta["meta"] == json.loads(row["meta"]) and meta["n_views"] == len(row["images"])
        for v, image in enumerate(row["images"]):
            assert sample[f"{v}.jpg"] == image["bytes"]  # copied, not re-encoded
            assert sample[f"{v}.depth.png"] == row["depth"][v]["bytes"]
            assert np.array_equal(np.load(io.BytesIO(sample[f"{v}.pose.npy"])), np.asarray(row["pose"][v], np.float32))
            assert np.array_equal(np.load(io.BytesIO(sample[f"{v}.k.npy"])), np.asarray(row["intrinsics"][v], np.float32))


def test_same_input_gives_identical_bytes(hf_build, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        write_shards(hf_build, "7m", "validation", out, max_count=10)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert len([n for n in names if n.endswith(".tar")]) == -(-len(parquet_rows(hf_build, "7m", "validation")) // 10)
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_resume_after_a_crash_matches_a_fresh_run(hf_build, tmp_path):
    fresh, crashed = tmp_path / "fresh", tmp_path / "crashed"
    write_shards(hf_build, "7m", "train", fresh, max_count=8)
    seen = [0]

    def die() -> None:
        seen[0] += 1
        if seen[0] == 21:  # while writing the third shard (rows 16..23)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_shards(hf_build, "7m", "train", crashed, max_count=8, on_row=die)
    assert sorted(p.name for p in crashed.glob("*.tar")) == ["spar-7m-train-000000.tar", "spar-7m-train-000001.tar"]
    assert not list(crashed.glob("*.index.json")) and not list(crashed.glob(".tmp-*"))
    with pytest.raises(SparError, match="other parameters"):
        write_shards(hf_build, "7m", "train", crashed, max_count=9, resume=True)
    run = write_shards(hf_build, "7m", "train", crashed, max_count=8, resume=True)
    assert run.resumed_rows == 16
    names = sorted(p.name for p in fresh.iterdir())
    assert names == sorted(p.name for p in crashed.iterdir())
    for name in names:
        assert (fresh / name).read_bytes() == (crashed / name).read_bytes(), name


def test_bake_markers_draws_the_red_point(hf_build, tmp_path):
    import webdataset as wds

    rows = parquet_rows(hf_build, "7m", "validation")
    row_no, row = next((i, r) for i, r in enumerate(rows) if r["task"] == "depth_prediction_oc" and r["markers"]["red_point"])
    x, y = row["markers"]["red_point"][0]
    write_shards(hf_build, "7m", "validation", tmp_path / "baked", bake_markers=True)
    sample = next(s for s in wds.WebDataset(str(tmp_path / "baked" / "spar-7m-validation-000000.tar"), shardshuffle=False)
                  if json.loads(s["json"])["row"] == row_no)
    assert json.loads(sample["json"])["markers_baked"] is True
    img = np.asarray(Image.open(io.BytesIO(sample["0.jpg"])).convert("RGB")).astype(int)
    h, w = img.shape[:2]
    cx, cy = int(x / 1000 * w), int(y / 1000 * h)  # disc of radius 20 px centred here
    inside = img[max(cy - 5, 0): cy + 5, max(cx - 5, 0): cx + 5].reshape(-1, 3).mean(axis=0)
    assert inside[0] > 200 and inside[1] < 60 and inside[2] < 60
    assert sample["0.jpg"] != row["images"][0]["bytes"]


def test_keys_never_hold_dots_and_stay_distinct():
    assert safe_id("scene0.1/a b") == "scene0%2E1%2Fa%20b"
    assert safe_id("a_b-C9") == "a_b-C9"
    assert safe_id("a.b") != safe_id("a_b") and safe_id("a%2Eb") != safe_id("a.b")
    assert sample_key(7, "x.y") == "00000007-x%2Ey"


def test_rows_that_cannot_be_samples_are_rejected_with_a_reason():
    good = {"bytes": b"\xff\xd8\xff\xe0 fake jpeg", "path": "0.jpg"}
    with pytest.raises(RowError, match="no bytes"):
        row_to_sample({"id": "a", "images": [{"bytes": None, "path": "0.jpg"}]}, 0)
    with pytest.raises(RowError, match="no images"):
        row_to_sample({"id": "a", "images": []}, 0)
    with pytest.raises(RowError, match="not JPEG"):
        row_to_sample({"id": "a", "images": [{"bytes": b"GARBAGE!", "path": None}]}, 0)
    with pytest.raises(RowError, match="meta is not JSON"):
        row_to_sample({"id": "a", "images": [good], "meta": "{oops"}, 0)
    with pytest.raises(RowError, match="shape"):
        row_to_sample({"id": "a", "images": [good], "depth": [{"bytes": b"\x89PNG\r\n\x1a\n..", "path": None}],
                       "pose": [np.eye(3).tolist()], "intrinsics": [np.eye(3).tolist()]}, 0)
    sample = row_to_sample({"id": 5, "images": [good, good], "question": "q"}, 3)
    assert sample["__key__"] == "00000003-5" and set(sample) == {"__key__", "json", "0.jpg", "1.jpg"}
    assert json.loads(sample["json"])["n_views"] == 2


def test_bad_requests_exit_2_with_a_message(hf_build, tmp_path, capsys):
    assert main(["shard", "--dataset", str(hf_build), "--config", "bench", "--split", "test", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no Parquet for config 'bench'" in err and "7m/train" in err
    assert main(["shard", "--dataset", str(tmp_path / "nope"), "--config", "7m", "--split", "train",
                 "--out", str(tmp_path)]) == 2
    assert main(["shard", "--dataset", str(hf_build), "--config", "7m", "--split", "train", "--out", str(tmp_path),
                 "--max-size", "lots"]) == 2
    assert "--max-size" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []

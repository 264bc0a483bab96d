"""`spar-hf shard`: HF build -> WebDataset tars whose samples hold each image once, read back with plain webdataset.

The build is made once per session with the real pipeline (synth -> generate -> build, two scenes,
two tasks); expected values come from the SPAR layout's own files and from `datasets.load_dataset`
reading the build independently.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fixtures.shards import hf_build, hf_rows, rgbd_shards, shard_samples  # noqa: F401
from PIL import Image

from spar_hf.cli import main
from spar_hf.errors import SparError
from spar_hf.shards.source import FileRows
from spar_hf.shards.writer import FileSamples, RowError, safe_id, sample_key, write_shards


def layout_bytes(hf: Path, name: str) -> bytes:
    """A pack member name (`<source>/<layout path>`) read from the SPAR layout the build came from."""
    source, rel = name.split("/", 1)
    return (hf.parent / "spar" / source / "images" / rel).read_bytes()


def test_cli_writes_shards_index_and_rejects(hf_build, tmp_path, capsys):
    out = tmp_path / "sh"
    rows = hf_rows(hf_build, "7m-rgbd", "train")
    assert main(["shard", "--dataset", str(hf_build), "--config", "7m-rgbd", "--split", "train", "--out", str(out),
                 "--max-size", "200KB", "--chunk-frames", "4"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(f"shard: in={len(rows)} out={len(rows)} rejected=0 ") and "layout_ratio=" in line
    index = json.loads((out / "spar-7m-rgbd-train.index.json").read_text())
    assert index["rows"] == len(rows) and index["has_depth"] is True and index["format"] == 2
    assert sum(s["rows"] for s in index["shards"]) == len(rows)
    assert sum(s["samples"] for s in index["shards"]) == index["samples"] < len(rows)
    assert len(index["shards"]) > 1
    tars = sorted(p.name for p in out.glob("*.tar"))
    assert tars == [f"spar-7m-rgbd-train-{i:06d}.tar" for i in range(len(index["shards"]))]
    for shard in index["shards"]:
        data = (out / shard["name"]).read_bytes()
        assert len(data) == shard["bytes"] <= 200_000 or shard["samples"] == 1
        assert hashlib.sha256(data).hexdigest() == shard["sha256"]
    assert (out / "spar-7m-rgbd-train.rejects.jsonl").read_text() == ""
    assert not [p for p in out.iterdir() if p.name.startswith((".tmp-", ".spar"))]


def test_every_row_once_with_its_layout_images_each_stored_once_per_sample(hf_build, rgbd_shards):
    rows = hf_rows(hf_build, "7m-rgbd", "train")
    seen = {}
    for sample in shard_samples(rgbd_shards):
        meta = json.loads(sample["json"])
        assert "." not in sample["__key__"] and meta["format"] == 2
        frames = meta["frames"]
        assert len(frames) == len(set(frames))  # each image once per sample
        assert len(frames) <= 4 or len(meta["rows"]) == 1  # --chunk-frames 4 (a row showing 5 is a sample alone)
        for i, name in enumerate(frames):
            assert sample[f"{i}.jpg"] == layout_bytes(hf_build, name)  # copied from the layout, not re-encoded
        assert len({meta_row["scene"] for meta_row in meta["rows"]}) == 1
        for row in meta["rows"]:
            assert row["id"] not in seen
            seen[row["id"]] = (sample, row)
    assert sorted(seen) == sorted(rows)
    assert sorted(row["row"] for _, row in seen.values()) == list(range(len(rows)))
    for rid, source in rows.items():
        sample, row = seen[rid]
        assert row["question"] == source["question"] and row["answer"] == source["answer"]
        assert row["meta"] == json.loads(source["meta"]) and len(row["views"]) == len(source["images"])
        for v, i in enumerate(row["views"]):
            assert sample[f"{i}.jpg"] == source["images"][v]
            assert sample[f"{i}.depth.png"] == source["depth"][v]
            assert np.array_equal(np.load(io.BytesIO(sample[f"{i}.pose.npy"])), np.asarray(source["pose"][v], np.float32))
            assert np.array_equal(np.load(io.BytesIO(sample[f"{i}.k.npy"])), np.asarray(source["intrinsics"][v], np.float32))


def test_shards_store_each_image_far_fewer_times_than_rows_show_it(hf_build, tmp_path):
    rows = hf_rows(hf_build, "7m", "train")
    write_shards(hf_build, "7m", "train", tmp_path)
    stored = Counter()
    for sample in shard_samples(tmp_path / "spar-7m-train.index.json"):
        stored.update(json.loads(sample["json"])["frames"])
    shown = sum(len(r["images"]) for r in rows.values())
    distinct = len({hashlib.sha1(i).hexdigest() for r in rows.values() for i in r["images"]})
    # two scenes of 6 frames, default chunks of 32 frames: one sample per scene, every frame stored once
    assert len(stored) == distinct and max(stored.values()) == 1
    assert sum(stored.values()) < shown


def test_same_input_gives_identical_bytes_whatever_the_workers(hf_build, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_shards(hf_build, "7m", "validation", a, max_count=10, max_frames=3)
    write_shards(hf_build, "7m", "validation", b, max_count=10, max_frames=3, workers=2)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert len([n for n in names if n.endswith(".tar")]) > 1
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _die_after(shards: int):
    """An `on_rows` hook that interrupts the run once `shards` shards are written (its first call is the resumed rows)."""
    calls = [0]

    def hook(rows: int) -> None:
        calls[0] += 1
        if calls[0] == shards + 1:
            raise KeyboardInterrupt

    return hook


def test_resume_keeps_intact_shards_and_redoes_the_rest(hf_build, tmp_path):
    fresh, crashed = tmp_path / "fresh", tmp_path / "crashed"
    write_shards(hf_build, "7m", "train", fresh, max_count=8, max_frames=3)
    tars = sorted(p.name for p in fresh.glob("*.tar"))
    assert len(tars) >= 4
    with pytest.raises(KeyboardInterrupt):
        write_shards(hf_build, "7m", "train", crashed, max_count=8, max_frames=3, on_rows=_die_after(3))
    assert sorted(p.name for p in crashed.glob("*.tar")) == tars[:3]
    assert not list(crashed.glob("*.index.json")) and not list(crashed.glob(".tmp-*"))
    first, second = crashed / tars[0], crashed / tars[1]
    first.write_bytes(b"\0" * first.stat().st_size)  # zero-filled after it was written
    second.unlink()
    run = write_shards(hf_build, "7m", "train", crashed, max_count=8, max_frames=3, resume=True)
    assert run.resumed_shards == 1  # only the third: the first is damaged, the second gone
    names = sorted(p.name for p in fresh.iterdir())
    assert names == sorted(p.name for p in crashed.iterdir())
    for name in names:
        assert (fresh / name).read_bytes() == (crashed / name).read_bytes(), name


def test_a_damaged_resume_state_is_a_clear_error(hf_build, tmp_path):
    out = tmp_path / "sh"
    with pytest.raises(KeyboardInterrupt):
        write_shards(hf_build, "7m", "train", out, max_count=8, max_frames=3, on_rows=_die_after(1))
    state = out / ".spar-7m-train.state.json"
    state.write_text(state.read_text()[:20])  # truncated
    with pytest.raises(SparError, match="state.json: resume state is truncated or not JSON"):
        write_shards(hf_build, "7m", "train", out, max_count=8, max_frames=3, resume=True)


def test_bake_markers_draws_the_red_point_on_the_row_own_view(hf_build, tmp_path):
    rows = hf_rows(hf_build, "7m", "validation")
    rid, row = next((k, r) for k, r in sorted(rows.items())
                    if r["task"] == "depth_prediction_oc" and r["markers"]["red_point"])
    x, y = row["markers"]["red_point"][0]
    write_shards(hf_build, "7m", "validation", tmp_path / "baked", bake_markers=True)
    for sample in shard_samples(tmp_path / "baked" / "spar-7m-validation.index.json"):
        meta = json.loads(sample["json"])
        found = [r for r in meta["rows"] if r["id"] == rid]
        if found:
            break
    assert meta["markers_baked"] is True
    view = found[0]["views"][0]
    assert meta["frames"][view].startswith("baked:")
    data = sample[f"{view}.jpg"]
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    h, w = img.shape[:2]
    cx, cy = int(x / 1000 * w), int(y / 1000 * h)  # disc of radius 20 px centred here
    inside = img[max(cy - 5, 0): cy + 5, max(cx - 5, 0): cx + 5].reshape(-1, 3).mean(axis=0)
    assert inside[0] > 200 and inside[1] < 60 and inside[2] < 60
    assert data != row["images"][0]


def test_a_parquet_bench_with_embedded_images_is_sharded_with_equal_images_once(tmp_path):
    """The hub SPAR-Bench stores images in every row; equal bytes become one image of the sample."""
    import datasets

    from spar_hf.builders.spar import bench_features

    def jpeg(colour) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (8, 6), colour).save(buf, "JPEG")
        return buf.getvalue()

    a, b = jpeg((255, 0, 0)), jpeg((0, 0, 255))
    rows = [{"id": i, "img_type": "multi_view", "format_type": "select", "task": "position_matching", "source": "scannet",
             "image": [{"bytes": a, "path": None}, {"bytes": b if i % 2 else a, "path": None}],
             "question": f"q{i}", "answer": "A"} for i in range(4)]
    hub = tmp_path / "hub"
    (hub / "data").mkdir(parents=True)
    datasets.Dataset.from_list(rows, features=bench_features()).to_parquet(str(hub / "data" / "test-00000-of-00001.parquet"))
    (hub / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n"
                                   "    path: data/test-*\n---\n")
    run = write_shards(hub, "default", "test", tmp_path / "sh")
    assert run.index.rows == 4 and run.index.samples == 1
    (sample,) = shard_samples(tmp_path / "sh" / "spar-default-test.index.json")
    meta = json.loads(sample["json"])
    assert len(meta["frames"]) == 2 and {sample["0.jpg"], sample["1.jpg"]} == {a, b}
    views = {r["id"]: [sample[f"{i}.jpg"] for i in r["views"]] for r in meta["rows"]}
    assert views == {0: [a, a], 1: [a, b], 2: [a, a], 3: [a, b]}


def test_keys_never_hold_dots_and_stay_distinct():
    assert safe_id("scene0.1/a b") == "scene0%2E1%2Fa%20b"
    assert safe_id("a_b-C9") == "a_b-C9"
    assert safe_id("a.b") != safe_id("a_b") and safe_id("a%2Eb") != safe_id("a.b")
    assert sample_key(7, "x.y") == "00000007-x%2Ey"
    assert sample_key(0, "") == "00000000-rows"


def _file(text, views, depth=None, pose=None, K=None, sizes=None):
    jpeg = b"\xff\xd8\xff\xe0 fake jpeg"
    blobs = {"a.jpg": jpeg, "d.png": b"\x89PNG\r\n\x1a\n..", "x.bin": b"GARBAGE!"}
    matrices = {"pose": pose, "K": K} if pose is not None else {}
    return FileRows("f", text, views, depth, matrices,
                    sizes if sizes is not None else {k: len(v) for k, v in blobs.items()}, blobs.__getitem__)


def test_rows_that_cannot_be_in_a_sample_are_rejected_with_a_reason():
    def check(rows: FileRows, reason: str) -> None:
        with pytest.raises(RowError, match=reason):
            FileSamples(rows, 0, False).sample_row(0)

    check(_file([{"id": "a"}], [["a.jpg"]], sizes={}), "has no bytes")
    check(_file([{"id": "a"}], [[]]), "no images")
    check(_file([{"id": "a"}], [["x.bin"]]), "not JPEG")
    check(_file([{"id": "a", "meta": "{oops"}], [["a.jpg"]]), "meta is not JSON")
    check(_file([{"id": "a"}], [["a.jpg"]], depth=[["d.png"]], pose=[[np.eye(3).tolist()]], K=[[np.eye(3).tolist()]]),
          "shape")
    check(_file([{"id": "a"}], [["a.jpg"]], depth=[["a.jpg"]], pose=[[np.eye(4).tolist()]], K=[[np.eye(3).tolist()]]),
          "not a PNG")
    check(_file([{"id": "a"}], [["a.jpg", "a.jpg"]], depth=[["d.png"]], pose=[[np.eye(4).tolist()]],
                K=[[np.eye(3).tolist()]]), "2 images but 1 depth")
    row = FileSamples(_file([{"id": 5, "question": "q"}], [["a.jpg", "a.jpg"]]), 3, False).sample_row(0)
    assert [f.key for f in row.views] == ["a.jpg", "a.jpg"] and row.fields == {"id": 5, "question": "q"}


def test_bad_requests_exit_2_with_a_message(hf_build, tmp_path, capsys):
    assert main(["shard", "--dataset", str(hf_build), "--config", "bench", "--split", "test", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot read config 'bench'" in err
    assert main(["shard", "--dataset", str(hf_build), "--config", "7m", "--split", "test", "--out", str(tmp_path)]) == 2
    assert "has no split 'test' (have: train, validation)" in capsys.readouterr().err
    assert main(["shard", "--dataset", str(tmp_path / "nope"), "--config", "7m", "--split", "train",
                 "--out", str(tmp_path)]) == 2
    assert main(["shard", "--dataset", str(hf_build), "--config", "7m", "--split", "train", "--out", str(tmp_path),
                 "--max-size", "lots"]) == 2
    assert "--max-size" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []

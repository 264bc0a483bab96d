"""`spar-hf build` on the hand-written layout, loaded back in a fresh process with HF_HUB_OFFLINE=1."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spar_hf.bench import BENCH_TASKS
from spar_hf.cli import main
from test_build_fixture import BIG_PER_SCENE, FX, HEIGHT, N_TRAIN_OK, N_VAL, N_VAL_BENCH, WIDTH, make_layout

LOADER = r"""
import json, sys
import numpy as np
import datasets


def load(path, name):
    kwargs = {"streaming": True} if name == "7m-rgbd" else {}
    ds = datasets.load_dataset(path, name, **kwargs)
    out = {}
    for split, d in ds.items():
        rows = list(d)
        feats = d.features
        info = {"n": len(rows), "columns": list(feats), "types": {k: repr(v) for k, v in feats.items()}}
        if name.startswith("bench"):
            info["tasks"] = sorted({r["task"] for r in rows})
            info["ids"] = [r["id"] for r in rows]
            def px(row, i, x, y):
                return list(np.array(row["image"][i].convert("RGB"))[y, x].tolist())
            probe = {}
            for r in rows:
                if r["task"] in ("depth_prediction_oc", "depth_prediction_oc_mv", "spatial_imagination_oc", "view_change_infer"):
                    probe.setdefault(r["task"], {
                        "red": px(r, 0, 80, 60), "blue0": px(r, 0, 40, 30), "edge": px(r, 0, 5, 30),
                        "far": px(r, 0, 150, 110), "blue1": px(r, -1, 40, 30), "n_images": len(r["image"]),
                        "format": r["format_type"], "img_type": r["img_type"], "size": list(r["image"][0].size)})
            info["probe"] = probe
        else:
            r = rows[0]
            info["first"] = {k: r[k] for k in ("id", "task", "format", "view", "markers", "meta", "conversations")}
            info["image_size"] = list(r["images"][0].size)
        if "intrinsic_color" in feats:  # bench-rgbd: the hub's per-view columns
            r = rows[0]
            depth = np.array(r["depth"][0])
            info["hub"] = {"depth_shape": list(depth.shape), "corner": float(depth[0, 0]), "centre": float(depth[60, 80]),
                           "pose": r["pose"][0], "intrinsic_color": r["intrinsic_color"][0],
                           "intrinsic_depth": r["intrinsic_depth"][0], "K": np.array(r["intrinsics"][0]).tolist(),
                           "n_views": [len(r[c]) for c in ("image", "depth", "pose", "intrinsic_color", "intrinsic_depth")]}
        elif "depth" in feats:
            r = rows[0]
            depth = np.array(r["depth"][0])
            info["depth"] = {"dtype": str(depth.dtype), "corner": int(depth[0, 0]), "centre": int(depth[60, 80])}
            info["pose_shapes"] = [list(np.array(p).shape) for p in r["pose"]]
            info["poses_x"] = [float(np.array(p)[0, 3]) for p in r["pose"]]
            info["K"] = np.array(r["intrinsics"][0]).tolist()
            info["mode"] = r["depth"][0].mode
        out[split] = info
    return out


# argv: (path, config) pairs; one process loads them all
pairs = list(zip(sys.argv[1::2], sys.argv[2::2]))
print(json.dumps({f"{path}|{name}": load(path, name) for path, name in pairs}))
"""


def _load_all(pairs: list[tuple[str, str]], cwd: Path) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    argv = [a for pair in pairs for a in pair]
    proc = subprocess.run([sys.executable, "-c", LOADER, *argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    spar = make_layout(root)
    hf = root / "hf" / "spar"
    assert main(["build", "--from", str(spar), "--out", str(hf)]) == 0
    return spar, hf


@pytest.fixture(scope="module")
def loaded(built):
    """Every config loaded in one fresh process; bench as load_dataset("spar", "bench") from HF_DIR's parent."""
    _, hf = built
    pairs = [(str(hf), "7m"), (str(hf), "7m-rgbd"), ("spar", "bench"), (str(hf), "bench-tiny"), (str(hf), "bench-rgbd")]
    got = _load_all(pairs, cwd=hf.parent)
    return {name: got[f"{path}|{name}"] for path, name in pairs}


def test_files_card_and_rejects(built):
    spar, hf = built
    assert (hf / "7m" / "train-00000-of-00001.parquet").is_file()
    assert (hf / "7m" / "validation-00000-of-00001.parquet").is_file()
    assert (hf / "bench" / "test-00000-of-00001.parquet").is_file()
    card = (hf / "README.md").read_text()
    assert "config_name: bench\n" in card and "default: true" in card and "arXiv:2503.22976" in card
    assert "millimetres" in card and "license: cc-by-nc-4.0" in card
    rejects = [json.loads(line) for line in (hf / "rejects" / "7m.jsonl").read_text().splitlines()]
    reasons = sorted(r["reason"].split(":")[0] for r in rejects)
    assert reasons == ["missing image(s)", "unreadable"]
    missing = next(r for r in rejects if r["reason"].startswith("missing"))
    assert missing["line"] == 2 and missing["record"]["id"] == "scene0000_00_rel_missing"
    assert "99.jpg" in missing["reason"]


def test_7m_loads_with_types_and_counts(loaded):
    got = loaded["7m"]
    assert got["train"]["n"] == N_TRAIN_OK and got["validation"]["n"] == N_VAL
    assert got["train"]["columns"] == ["id", "source", "scene", "task", "format", "view", "question", "answer",
                                       "conversations", "markers", "meta", "images"]
    types = got["train"]["types"]
    assert types["images"] == "List(Image(mode=None, decode=True))"
    assert "float64" in types["markers"] and "int32" in types["markers"]
    first = got["train"]["first"]  # files sorted: depth_prediction_oc/fill first, its line 1
    assert first["id"] == "scene0000_00_dp_0" and first["format"] == "fill" and first["view"] == "single"
    assert first["markers"]["red_point"] == [[553.0, 397.0]] and first["markers"]["blue_point"] == [[641.0, 838.0]]
    assert first["markers"]["green_point"] == [] and first["markers"]["point_img_idx"] == []
    assert first["meta"] == "{}"
    assert first["conversations"] == [{"from": "human", "value": "How deep is it 0?"}, {"from": "gpt", "value": "1.5"}]
    assert got["train"]["image_size"] == [WIDTH, HEIGHT]


def test_7m_rgbd_streams_depth_pose_intrinsics(loaded):
    got = loaded["7m-rgbd"]
    train = got["train"]
    assert train["n"] == N_TRAIN_OK
    assert train["columns"][-3:] == ["depth", "pose", "intrinsics"]
    # first train row: depth_prediction_oc on frame 0 -> depth 1000 mm, corner 65535 kept (no 8-bit clipping)
    assert train["depth"] == {"dtype": "uint16", "corner": 65535, "centre": 1000}
    assert train["mode"] == "I;16"
    assert train["pose_shapes"] == [[4, 4]] and train["poses_x"] == [0.0]
    assert train["K"] == [[FX, 0.0, WIDTH / 2], [0.0, FX, HEIGHT / 2], [0.0, 0.0, 1.0]]
    val = got["validation"]  # files sorted: camera_motion_infer (2 images: frames 0 and 10) first
    assert val["pose_shapes"] == [[4, 4], [4, 4]] and val["poses_x"] == [0.0, 1.0]
    assert val["K"] == [[FX, 0.0, WIDTH / 2], [0.0, FX, HEIGHT / 2], [0.0, 0.0, 1.0]]


def _is(pixel, colour, tol=40):
    return all(abs(p - c) <= tol for p, c in zip(pixel, colour))


RED, BLUE, GREY = (255, 0, 0), (0, 0, 255), (128, 128, 128)


def test_bench_columns_tasks_and_drawn_markers(loaded):
    got = loaded["bench"]  # load_dataset("spar", "bench") from HF_DIR's parent
    test = got["test"]
    assert list(got) == ["test"]
    assert test["columns"] == ["id", "img_type", "format_type", "task", "source", "image", "question", "answer"]
    assert test["types"]["id"] == "Value('int64')" and test["types"]["image"] == "List(Image(mode=None, decode=True))"
    assert test["tasks"] == sorted(BENCH_TASKS)
    assert test["n"] == N_VAL_BENCH and test["ids"] == list(range(N_VAL_BENCH))
    probe = test["probe"]
    single = probe["depth_prediction_oc"]  # red point (500, 500) -> pixel (80, 60); blue (250, 250) -> (40, 30)
    assert single["format"] == "fill" and single["img_type"] == "single_view" and single["n_images"] == 1
    assert _is(single["red"], RED) and _is(single["blue0"], BLUE) and _is(single["far"], GREY)
    mv = probe["depth_prediction_oc_mv"]  # point_img_idx [0, 1]: red on image 0, blue on image 1
    assert mv["img_type"] == "multi_view" and mv["n_images"] == 2
    assert _is(mv["red"], RED) and _is(mv["blue0"], GREY) and _is(mv["blue1"], BLUE)
    box = probe["spatial_imagination_oc"]  # red box 100..400 -> px 16..64 x 12..48, stroke 20 grown by 17.5
    assert box["format"] == "select"
    assert _is(box["edge"], RED) and _is(box["blue0"], GREY)  # (5, 30) on the left stroke, (40, 30) inside
    assert _is(probe["view_change_infer"]["red"], GREY, tol=6)  # no markers: image passed through


def test_bench_tiny_and_rgbd(loaded):
    tiny = loaded["bench-tiny"]["test"]
    assert tiny["n"] == N_VAL_BENCH - (2 * BIG_PER_SCENE - 50)  # the big task is cut to 50
    assert tiny["tasks"] == sorted(BENCH_TASKS)
    bench_ids = set(range(N_VAL_BENCH))
    assert set(tiny["ids"]) <= bench_ids
    rgbd = loaded["bench-rgbd"]["test"]
    # the hub SPAR-Bench-RGBD columns in its order, our 3x3 intrinsics as an extra column last
    assert rgbd["columns"] == ["id", "img_type", "format_type", "task", "source", "image", "depth", "pose",
                               "intrinsic_color", "intrinsic_depth", "question", "answer", "intrinsics"]
    flat, grid = "List(List(Value('float32')))", "List(List(List(Value('float32'))))"
    assert [rgbd["types"][c] for c in ("depth", "pose", "intrinsic_color", "intrinsic_depth")] == [grid, flat, flat, flat]
    assert rgbd["n"] == N_VAL_BENCH
    hub = rgbd["hub"]
    n = len(hub["n_views"]) and hub["n_views"][0]
    assert hub["n_views"] == [n] * 5
    # the fixture's depth PNGs hold 1000 + frame mm (65535 in the corner): metres as float32
    assert hub["depth_shape"] == [HEIGHT, WIDTH] and hub["corner"] == pytest.approx(65.535)
    frame = round(hub["centre"] * 1000) - 1000
    assert hub["centre"] == pytest.approx((1000 + frame) / 1000)
    # pose: identity moved frame/10 m along x, flattened row-major; intrinsics as 4x4 homogeneous rows
    assert hub["pose"] == pytest.approx([1, 0, 0, frame / 10, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])
    k4 = [FX, 0, WIDTH / 2, 0, 0, FX, HEIGHT / 2, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert hub["intrinsic_color"] == pytest.approx(k4) and hub["intrinsic_depth"] == pytest.approx(k4)  # same size
    assert hub["K"] == [[FX, 0, WIDTH / 2], [0, FX, HEIGHT / 2], [0, 0, 1]]


def test_build_is_deterministic_and_resumable(built, tmp_path, capsys):
    spar, hf = built
    again = tmp_path / "again"
    assert main(["build", "--from", str(spar), "--out", str(again), "--configs", "7m,bench"]) == 0
    for rel in ("7m/train-00000-of-00001.parquet", "7m/validation-00000-of-00001.parquet",
                "bench/test-00000-of-00001.parquet", "rejects/7m.jsonl"):
        assert (again / rel).read_bytes() == (hf / rel).read_bytes(), rel
    capsys.readouterr()
    assert main(["build", "--from", str(spar), "--out", str(again), "--configs", "7m,bench", "--resume"]) == 0
    out = capsys.readouterr().out
    assert out.count("[resumed]") == 2
    assert out.strip().splitlines()[-1].startswith(f"build: in={N_TRAIN_OK + 2 + N_VAL + N_VAL_BENCH} out=")


def test_bad_input_is_a_clean_error(tmp_path, capsys):
    assert main(["build", "--from", str(tmp_path / "nope"), "--out", str(tmp_path / "hf")]) == 2
    assert "not a directory" in capsys.readouterr().err
    spar = make_layout(tmp_path)
    assert main(["build", "--from", str(spar), "--out", str(tmp_path / "hf"), "--configs", "spatialforge"]) == 2
    assert "spar-hf ingest" in capsys.readouterr().err


def test_official_qa_only_download_reports_every_record(tmp_path, capsys):
    import shutil

    spar = make_layout(tmp_path)
    shutil.rmtree(spar / "scannet" / "images")  # newer official cards ship QA without images
    hf = tmp_path / "hf"
    assert main(["build", "--from", str(spar), "--out", str(hf), "--configs", "7m,bench"]) == 0
    out = capsys.readouterr().out
    # 7m: every readable line (5 + 1 train, N_VAL val) misses its image, plus the bad JSON line; bench: the candidates
    n_7m = N_TRAIN_OK + 1 + 1 + N_VAL
    assert f"7m: no rows, left out of the card (in={n_7m} rejected={n_7m})" in out
    assert f"bench: no rows, left out of the card (in={N_VAL_BENCH} rejected={N_VAL_BENCH})" in out
    assert len((hf / "rejects" / "7m.jsonl").read_text().splitlines()) == n_7m
    assert not (hf / "7m").exists() and "config_name" not in (hf / "README.md").read_text()


def test_max_shard_size_splits_into_named_shards(built, tmp_path):
    import pyarrow.parquet as pq

    spar, _ = built
    out = tmp_path / "sharded"
    assert main(["build", "--from", str(spar), "--out", str(out), "--configs", "7m", "--max-shard-size", "50KB"]) == 0
    shards = sorted(p.name for p in (out / "7m").glob("validation-*.parquet"))
    assert len(shards) >= 2
    assert shards == [f"validation-{i:05d}-of-{len(shards):05d}.parquet" for i in range(len(shards))]
    assert sum(pq.ParquetFile(out / "7m" / s).metadata.num_rows for s in shards) == N_VAL

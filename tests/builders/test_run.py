"""`spar-hf build` on the hand-written layout, loaded back in a fresh process with HF_HUB_OFFLINE=1.

Packs hold each layout file once: the tests compare what loads against the layout files by hash."""

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fixtures.build_layout import BIG_PER_SCENE, FX, HEIGHT, N_TRAIN_OK, N_VAL, N_VAL_BENCH, WIDTH, make_layout

from spar_hf.builders.sampling import BENCH_TASKS
from spar_hf.cli import main
from spar_hf.layout.reader import SparLayout
from spar_hf.packs import Pack

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
            r = rows[0] = min(rows, key=lambda row: row["id"])  # pack order is datasets' (a set of files)
            info["first"] = {k: r[k] for k in ("id", "task", "format", "view", "markers", "meta", "conversations")}
            info["image_size"] = list(r["images"][0].size)
            info["ids"] = sorted(row["id"] for row in rows)
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
    files = sorted(p.relative_to(hf).as_posix() for p in hf.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert [f for f in files if not f.startswith((".build/", "rejects/"))] == [
        "7m/train/train-00000-of-00001.zip", "7m/validation/validation-00000-of-00001.zip", "README.md",
        "bench-rgbd/test-00000-of-00001.zip", "bench-tiny/test-00000-of-00001.zip", "bench/test-00000-of-00001.zip"]
    card = (hf / "README.md").read_text()
    assert "config_name: bench\n" in card and "default: true" in card and "arXiv:2503.22976" in card
    assert "  - metadata-7m-rgbd\n" in card and "path: 7m/train/train-*.zip" in card
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
    first = got["train"]["first"]  # the smallest id: depth_prediction_oc/fill line 1
    assert first["id"] == "scene0000_00_dp_0" and first["format"] == "fill" and first["view"] == "single"
    assert got["train"]["ids"] == ["scene0000_00_dp_0", "scene0000_00_dp_1", "scene0000_00_dp_2", "scene0000_00_rel_0",
                                   "scene0000_00_vci_0"]
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
    # smallest train id: depth_prediction_oc on frame 0 -> depth 1000 mm, corner 65535 kept (no 8-bit clipping)
    assert train["depth"] == {"dtype": "uint16", "corner": 65535, "centre": 1000}
    assert train["mode"] == "I;16"
    assert train["pose_shapes"] == [[4, 4]] and train["poses_x"] == [0.0]
    assert train["K"] == [[FX, 0.0, WIDTH / 2], [0.0, FX, HEIGHT / 2], [0.0, 0.0, 1.0]]
    val = got["validation"]  # smallest id: scene0100_00_camera_motion_infer_select_0 (2 images: frames 0 and 10)
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


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.relative_to(root).as_posix().startswith(".build/")}


def test_build_is_deterministic_whatever_the_workers_and_resumable(built, tmp_path, capsys):
    spar, hf = built
    again = tmp_path / "again"
    assert main(["build", "--from", str(spar), "--out", str(again), "--workers", "2", "--max-shard-size", "1KB"]) == 0
    one = tmp_path / "one"
    assert main(["build", "--from", str(spar), "--out", str(one), "--max-shard-size", "1KB"]) == 0
    card = (again / "README.md").read_bytes().replace(b'"again"', b'"one"')  # the card's load lines name the folder
    assert card == (one / "README.md").read_bytes()
    assert _tree(again) | {"README.md": card} == _tree(one)  # packs, card and rejects byte for byte, 1 or 2 workers
    assert len(list((one / "7m" / "validation").glob("*.zip"))) == 2
    capsys.readouterr()
    assert main(["build", "--from", str(spar), "--out", str(one), "--max-shard-size", "1KB", "--resume"]) == 0
    out = capsys.readouterr().out
    assert out.count("[resumed]") == 5
    assert out.strip().splitlines()[-1].startswith(f"build: in={2 * (N_TRAIN_OK + 2 + N_VAL) + 3 * N_VAL_BENCH} out=")


def test_7m_alone_packs_no_depth(built, tmp_path):
    spar, _ = built
    out = tmp_path / "qa"
    assert main(["build", "--from", str(spar), "--out", str(out), "--configs", "7m"]) == 0
    names = zipfile.ZipFile(out / "7m/train/train-00000-of-00001.zip").namelist()
    assert names == ["scannet/scene0000_00/image_color/0.jpg", "scannet/scene0000_00/image_color/10.jpg",
                     "scannet/scene0000_00/image_color/20.jpg", "metadata-7m"]


def test_resume_rebuilds_a_damaged_or_deleted_pack(built, tmp_path, capsys):
    spar, _ = built
    out = tmp_path / "hf"
    args = ["build", "--from", str(spar), "--out", str(out), "--configs", "7m,7m-rgbd"]
    assert main(args) == 0
    pack = out / "7m/validation/validation-00000-of-00001.zip"
    good = pack.read_bytes()
    pack.write_bytes(b"\0" * len(good))  # same size, zero-filled
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0
    assert "[resumed]" not in capsys.readouterr().out and pack.read_bytes() == good
    pack.unlink()
    assert main(args + ["--resume"]) == 0
    assert pack.read_bytes() == good
    (out / ".build" / "7m.json").write_text('{"fingerprint": "')  # truncated state
    assert main(args + ["--resume"]) == 2
    assert "7m.json: resume state is truncated or not JSON" in capsys.readouterr().err


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


def test_max_shard_size_puts_each_scene_in_its_own_pack(built, tmp_path):
    spar, _ = built
    out = tmp_path / "sharded"
    # one scene's three frames are ~3 KB: a 1 KB budget leaves one scene (never split) per pack
    assert main(["build", "--from", str(spar), "--out", str(out), "--configs", "7m", "--max-shard-size", "1KB"]) == 0
    packs = sorted(p.name for p in (out / "7m" / "validation").glob("*.zip"))
    assert packs == ["validation-00000-of-00002.zip", "validation-00001-of-00002.zip"]
    scenes = []
    for name in packs:
        with Pack(out / "7m" / "validation" / name) as pack:
            table = pack.metadata("7m", ["scene"])
            scenes.append(sorted(set(table.column("scene").to_pylist())))
    assert scenes == [["scene0100_00"], ["scene0101_00"]]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_layout_row_once_with_its_own_images(built):
    """Each readable 7m-rgbd record is one row, its images and depth maps byte-equal to the layout files, each
    stored once per pack."""
    spar, hf = built
    layout = SparLayout(spar)
    expected = {}
    for entry in layout.iter_records():
        if not layout.missing_images(entry.record):
            root = layout.images_root(entry.source)
            expected[entry.record.id] = ([_sha((root / p).read_bytes()) for p in entry.record.images],
                                         [_sha(layout.frames(entry.source).depth_path(p).read_bytes()) for p in entry.record.images])
    got = {}
    for pack_path in sorted((hf / "7m").rglob("*.zip")):
        with Pack(pack_path) as pack:
            names = pack.names()
            assert len(names) == len(set(names))
            for row in pack.metadata("7m-rgbd").to_pylist():
                assert row["id"] not in got
                got[row["id"]] = ([_sha(pack.read(n)) for n in row["file_names"]],
                                  [_sha(pack.read(n)) for n in row["depth_file_names"]])
            members = [n for n in names if not n.startswith("metadata-")]
            used = {n for row in pack.metadata("7m-rgbd").to_pylist() for n in row["file_names"] + row["depth_file_names"]}
            assert sorted(members) == sorted(used)  # nothing stored that no row shows
    assert got == expected

"""The Ray engine gives the same bytes as the local engine: generate, build and shard, and a killed worker.

One Ray session (2 CPUs, no dashboard) serves the whole module; the engine reuses a running
session instead of starting its own. 4 synthetic scenes of a few frames and 3 tasks keep it short.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.synthetic_tree import read_tree, write_synthetic_scenes

from spar_hf.cli import main
from spar_hf.generate.pipeline import FAULT_ENV

pytestmark = pytest.mark.slow

N_SCENES = 4
N_FRAMES = 5
TASKS = "depth_prediction_oc,obj_count,position_matching"


def _generate(scenes: Path, out: Path, *extra: str) -> int:
    return main(["generate", "--source", "synthetic", "--scenes", str(scenes), "--out", str(out), "--seed", "3",
                 "--tasks", TASKS, *extra])


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    return write_synthetic_scenes(tmp_path_factory.mktemp("scenes"), N_SCENES, N_FRAMES)


@pytest.fixture(scope="module")
def local_spar(scenes, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "spar"
    assert _generate(scenes, out, "--workers", "1") == 0
    return out


def test_ray_generate_is_byte_identical_to_local(scenes, local_spar, tmp_path, capsys):
    out = tmp_path / "spar"
    capsys.readouterr()
    assert _generate(scenes, out, "--engine", "ray", "--workers", "2") == 0
    assert "in=4 out=4 rejected=0" in capsys.readouterr().out.strip().splitlines()[-1]
    tree = read_tree(out)
    assert tree == read_tree(local_spar)
    # one part folder and one manifest per scene, no temp file, every task/format assembled
    manifests = sorted(k for k in tree if k.endswith("manifest.json"))
    assert manifests == [f"synthetic/parts/scene{i:04d}_00/manifest.json" for i in range(N_SCENES)]
    assert not [k for k in tree if "/.tmp-" in k]
    assert any(k.startswith("synthetic/qa_jsonl/train/obj_count/fill/") for k in tree)


def test_killed_worker_is_retried_without_duplicates(scenes, local_spar, tmp_path, monkeypatch, capsys):
    marker = tmp_path / "killed-once"
    monkeypatch.setenv(FAULT_ENV, str(marker))
    out = tmp_path / "spar"
    capsys.readouterr()
    assert _generate(scenes, out, "--engine", "ray", "--workers", "2") == 0
    assert marker.exists()  # exactly one task claimed the marker and its worker exited mid-scene
    assert "in=4 out=4 rejected=0" in capsys.readouterr().out.strip().splitlines()[-1]
    assert read_tree(out) == read_tree(local_spar)
    ids = [json.loads(line)["id"] for f in (out / "synthetic" / "qa_jsonl").rglob("*.jsonl")
           for line in f.read_text().splitlines()]
    assert ids and len(ids) == len(set(ids))
    scenes_seen = {i.split("_obj_count")[0].split("_depth_prediction_oc")[0].split("_position_matching")[0]
                   for i in ids}
    assert scenes_seen == {f"scene{i:04d}_00" for i in range(N_SCENES)}


def test_ray_address_needs_the_ray_engine(scenes, tmp_path, capsys):
    assert _generate(scenes, tmp_path / "o", "--ray-address", "127.0.0.1:6379") == 2
    assert "--ray-address needs --engine ray" in capsys.readouterr().err


def test_task_exception_comes_back_unwrapped(ray_cluster):
    from spar_hf.engines.ray_engine import run_tasks

    def fail_on_odd(n: int) -> int:
        if n % 2:
            raise ValueError(f"odd {n}")
        return n * 10

    results = dict(run_tasks(fail_on_odd, [1, 2, 3, 4]))
    assert results[2] == 20 and results[4] == 40
    assert type(results[1]) is ValueError and str(results[1]) == "odd 1"
    assert "fail_on_odd" in results[3].traceback_text


@pytest.fixture(scope="module")
def local_hf(local_spar, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local-build") / "hf"
    assert main(["build", "--from", str(local_spar), "--out", str(out), "--configs", "7m,bench"]) == 0
    return out


def test_ray_build_is_byte_identical_to_local(local_spar, local_hf, tmp_path, capsys):
    out = tmp_path / "hf"  # same folder name: the card's load lines name it
    capsys.readouterr()
    assert main(["build", "--from", str(local_spar), "--out", str(out), "--configs", "7m,bench", "--engine", "ray",
                 "--workers", "2"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0].strip() for line in printed[:-1]] == ["7m", "bench"]  # config order kept
    tree = read_tree(out)
    assert tree == read_tree(local_hf)
    assert "7m/train/train-00000-of-00001.zip" in tree and "bench/test-00000-of-00001.zip" in tree


def test_ray_shards_are_byte_identical_to_local(local_hf, tmp_path, capsys):
    outs = {}
    for engine in ("local", "ray"):
        outs[engine] = tmp_path / engine
        assert main(["shard", "--dataset", str(local_hf), "--config", "7m", "--split", "train", "--out",
                     str(outs[engine]), "--max-count", "40", "--chunk-frames", "3", "--engine", engine]) == 0
    local = read_tree(outs["local"])
    assert read_tree(outs["ray"]) == local
    index = json.loads(local["spar-7m-train.index.json"])
    assert len(index["shards"]) > 2 and all(s["rows"] <= 40 for s in index["shards"])


def test_ray_shards_with_rejects_size_limit_and_baked_markers(local_hf, tmp_path):
    import shutil
    import zipfile

    from spar_hf.shards.writer import write_shards

    # two images go missing from the train pack: both engines reject the rows showing them with the same reason
    bad = tmp_path / "bad"
    shutil.copytree(local_hf, bad)
    pack = bad / "7m" / "train" / "train-00000-of-00001.zip"
    with zipfile.ZipFile(pack) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    images = sorted(info.filename for info, _ in members if info.filename.endswith(".jpg"))
    gone = {images[0], images[-1]}
    with zipfile.ZipFile(pack, "w") as dst:
        for info, data in members:
            if info.filename not in gone:
                dst.writestr(info, data)
    settings = dict(max_size=300_000, bake_markers=True, max_frames=3)
    local = write_shards(bad, "7m", "train", tmp_path / "local", **settings)
    ray_run = write_shards(bad, "7m", "train", tmp_path / "ray", engine="ray", workers=2, **settings)
    assert read_tree(tmp_path / "ray") == read_tree(tmp_path / "local")
    assert ray_run.index.rejected == local.index.rejected > 0
    assert ray_run.n_in == ray_run.index.rows + ray_run.index.rejected
    assert len(ray_run.index.shards) > 1 and all(s.bytes <= 300_000 or s.samples == 1 for s in ray_run.index.shards)
    rejects = [json.loads(line) for line in (tmp_path / "ray" / "spar-7m-train.rejects.jsonl").read_text().splitlines()]
    assert all("has no bytes" in r["reason"] and any(g in r["reason"] for g in gone) for r in rejects)


def test_plan_follows_the_writer_rule():
    from spar_hf.shards.writer import PlannedSample, closed_size, plan_shards

    # closed_size rounds to 10240-byte records after 1024 EOF bytes: 4 x 2048 -> 10240, a 5th -> 20480
    assert closed_size(4 * 2048) == 10240 and closed_size(5 * 2048) == 20480
    samples = [PlannedSample(0, list(range(rows)), 2048, "s") for rows in (1, 1, 2, 1, 3, 1)]
    assert plan_shards(samples, max_size=10240, max_count=100) == [[0, 1, 2, 3], [4, 5]]
    assert plan_shards(samples, max_size=10**9, max_count=4) == [[0, 1, 2], [3, 4], [5]]  # rows: 4, 4, 1
    assert plan_shards(samples, max_size=10**9, max_count=2) == [[0, 1], [2], [3], [4], [5]]  # a 3-row sample alone
    assert plan_shards([], max_size=10, max_count=1) == []


def test_unreachable_ray_address_fails_fast():
    import socket

    from spar_hf.engines.ray_engine import _check_reachable
    from spar_hf.errors import SparError

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SparError, match=f"127.0.0.1:{port}: nothing reachable"):
        _check_reachable(f"127.0.0.1:{port}", timeout_s=2)
    _check_reachable("auto")  # not HOST:PORT: left to ray.init

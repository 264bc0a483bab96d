"""The Ray engine gives the same bytes as the local engine: generate, build and shard, and a killed worker.

One Ray session (2 CPUs, no dashboard) serves the whole module; the engine reuses a running
session instead of starting its own. 4 synthetic scenes of a few frames and 3 tasks keep it short.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spar_hf.cli import main
from spar_hf.engines.ray_engine import FAULT_ENV

pytestmark = pytest.mark.slow

N_SCENES = 4
N_FRAMES = 5
TASKS = "depth_prediction_oc,obj_count,position_matching"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


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
    from spar_hf.scene.synthetic import generate_scene, scene_name, write_scene

    root = tmp_path_factory.mktemp("scenes")
    for i in range(N_SCENES):
        write_scene(generate_scene(scene_name(i), 0, N_FRAMES), root)
    return root


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
    tree = _tree(out)
    assert tree == _tree(local_spar)
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
    assert _tree(out) == _tree(local_spar)
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

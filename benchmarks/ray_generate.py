"""Scenes/s of `generate --engine ray` (2 Ray workers, session already up) against the local engine (1 worker).

Both runs generate the same synthetic scenes (3 tasks) and must give byte-identical trees. Ray's
start-up (session + worker imports) is timed apart: it is paid once per run, not per scene.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import tempfile
import time
from pathlib import Path

TASKS = "depth_prediction_oc,obj_count,position_matching"


def _warm() -> int:
    """Import what a scene task needs, so the timed run measures scenes, not imports."""
    import spar_hf.layout.writer  # noqa: F401
    import spar_hf.generate.visibility  # noqa: F401
    from spar_hf.tasks.registry import all_tasks

    return len(all_tasks())


def _same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def main() -> None:
    import ray

    from spar_hf.generate.pipeline import run_generate
    from spar_hf.scene.synthetic import generate_scene, scene_name, write_scene

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of scenes (default 4)")
    parser.add_argument("--frames", type=int, default=6, help="frames per scene (default 6)")
    args = parser.parse_args()
    n_scenes = max(2, int(round(4 * args.scale)))
    tmp = Path(tempfile.mkdtemp(prefix="spar-bench-ray-"))
    try:
        for i in range(n_scenes):
            write_scene(generate_scene(scene_name(i), 0, args.frames), tmp / "scenes")
        t0 = time.perf_counter()
        run_generate("synthetic", tmp / "scenes", tmp / "local", tasks=TASKS, seed=1, workers=1, progress=False)
        local_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False)
        warm = ray.remote(_warm)
        ray.get([warm.remote() for _ in range(2)])
        startup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_generate("synthetic", tmp / "scenes", tmp / "ray", tasks=TASKS, seed=1, workers=2, engine="ray",
                     progress=False)
        ray_s = time.perf_counter() - t0
        ray.shutdown()
        identical = _same_tree(tmp / "local", tmp / "ray")
        print(f"{n_scenes} scenes x {args.frames} frames: local 1 worker {local_s:.1f} s; ray 2 workers {ray_s:.1f} s "
              f"(+ {startup_s:.1f} s Ray start-up); trees identical: {identical}")
        value, reference = n_scenes / ray_s, n_scenes / local_s
        print(json.dumps({"benchmark": "ray_generate", "metric": "generate scenes/s, Ray engine 2 workers vs local 1 worker",
                          "unit": "scenes/s", "value": round(value, 3), "reference": round(reference, 3),
                          "ratio": round(value / reference, 3), "target": 1.0}))
        if not identical:
            raise SystemExit("ray and local trees differ")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

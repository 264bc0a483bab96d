"""Generate throughput: QA rows per second per core from ready SceneRecords, and end-to-end scenes/min.

Synthesises a few scenes, runs `run_generate` once on one worker (end-to-end scenes/min: read,
keyframes, visibility, video clip, every generator, layout writing, assembly), then precomputes the
scenes' SceneRecords and runs every registered task generator on them in one process, repeating
with fresh seeds until enough time has passed (rows/s on one core). Per-core rates divide by this
process's CPU time, not wall time, because the machine is shared. Reference: 5000 rows/s/core,
the issue's target for the generators alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REFERENCE_ROWS_PER_S = 5000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", action="store_true", help="more scenes and frames, longer timing")
    parser.add_argument("--scenes", type=int, default=None)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="minimum generator timing window")
    args = parser.parse_args()
    n_scenes = args.scenes or (8 if args.scale else 2)
    n_frames = args.frames or (90 if args.scale else 24)
    window = args.seconds or (30.0 if args.scale else 8.0)

    from spar_hf.generate.keyframes import keyframes_for
    from spar_hf.generate.pipeline import build_scene_records, generate_qa, run_generate
    from spar_hf.scene.sources import list_scenes, read_scene
    from spar_hf.scene.synthetic import generate_scene, scene_name, write_scene
    from spar_hf.tasks.registry import select_tasks

    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        scenes_dir = Path(tmp) / "scenes"
        for i in range(n_scenes):
            write_scene(generate_scene(scene_name(i), 0, n_frames), scenes_dir)

        start, cpu_start = time.perf_counter(), time.process_time()
        report = run_generate("synthetic", scenes_dir, Path(tmp) / "spar", workers=1, progress=False)
        e2e_s = time.perf_counter() - start
        e2e_cpu = time.process_time() - cpu_start
        scenes_per_min = report.done / e2e_s * 60.0

        specs = select_tasks(None)
        with_video = any(spec.view == "video" for spec in specs)
        prepared = []
        for scene_dir in list_scenes("synthetic", scenes_dir):
            scene = read_scene("synthetic", scene_dir)
            prepared.append(build_scene_records(scene, keyframes_for(scene.source, scene.frames), with_video))

        rows = 0
        passes = 0
        per_task: dict[str, list[float]] = {spec.name: [0.0, 0] for spec in specs}
        start, cpu_start = time.perf_counter(), time.process_time()
        while True:
            for records in prepared:
                for spec in specs:
                    t0 = time.process_time()
                    qa, _skips = generate_qa(records, [spec], seed=passes)
                    per_task[spec.name][0] += time.process_time() - t0
                    per_task[spec.name][1] += len(qa)
                    rows += len(qa)
            passes += 1
            if time.perf_counter() - start >= window:
                break
        elapsed = time.process_time() - cpu_start
    rate = rows / elapsed
    slowest = sorted(per_task.items(), key=lambda kv: -kv[1][0])[:5]
    print("slowest generators: " + ", ".join(
        f"{name} {t / elapsed:.0%} of time ({n / t if t else 0:.0f} rows/s)" for name, (t, n) in slowest))
    print(f"end-to-end: {scenes_per_min:.2f} scenes/min wall, {report.done / e2e_cpu * 60.0:.2f} scenes/min per core "
          f"(CPU time; {report.done} scenes x {n_frames} frames, {report.records} rows, 1 worker, {e2e_s:.1f} s wall, "
          f"{e2e_cpu:.1f} s CPU); generators: {rows} rows in {passes} passes, {elapsed:.1f} s CPU")
    print(json.dumps({"benchmark": "generate", "metric": "QA rows per second per core from ready SceneRecords",
                      "unit": "rows/s/core", "value": round(rate, 1), "reference": REFERENCE_ROWS_PER_S,
                      "ratio": round(rate / REFERENCE_ROWS_PER_S, 3), "target": 1.0}))


if __name__ == "__main__":
    main()

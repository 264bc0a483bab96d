"""Peak memory of `ingest spatialforge` and `build` at 1x and 10x input: does memory stay constant?

Each run is a fresh Python process running the real CLI (`spar_hf.cli.main`) that reports its own
peak RSS (`ru_maxrss`) at exit, so imports count the same at both sizes and nothing leaks between
runs. Inputs:

- ingest: JSONL SpatialForge records over the six tasks (benchmarks/ingest.py's generator, 64 images);
  1x = 5,000 records, 10x = 50,000;
- build: a SPAR-7M layout with 640x480 JPEG + 16-bit depth frames (benchmarks/build.py's generator),
  config 7m-rgbd (every row embeds its images, depth maps and matrices); 1x = 2 scenes x 20 bench tasks
  x 4 records = 160 rows, 10x = 20 scenes = 1,600 rows.

`--scale K` uses K x instead of 10x for the large size. The JSON line reports the worse of the two
commands: value = peak RSS at the large size (MB), reference = peak at 1x, ratio = reference / value
(memory is lower-is-better, like a time), target 0.8: constant memory within 25 %.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

INGEST_BASE = 5_000
BUILD_SCENES_BASE = 2
BUILD_PER_TASK = 4

CHILD = r"""
import json, resource, sys, time
from spar_hf.cli import main
t0 = time.perf_counter()
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "seconds": time.perf_counter() - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def measure(args: list[str], hf_home: Path) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TQDM_DISABLE="1", HF_HOME=str(hf_home),
               PYTHONPATH=str(HERE.parent))
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=HERE.parent, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ingest_run(tmp: Path, n: int, refs: list[str], images: Path) -> dict:
    from ingest import make_annotations

    ann = tmp / f"ann_{n}.jsonl"
    make_annotations(ann, n, refs)
    out = measure(["ingest", "spatialforge", "--annotations", str(ann), "--images", f"objects365={images}",
                   "--out", str(tmp / f"ingest_{n}"), "--no-progress"], tmp / "hf_home")
    out["records"] = n
    return out


def build_run(tmp: Path, n_scenes: int) -> dict:
    from build import write_layout

    spar = write_layout(tmp / f"layout_{n_scenes}", n_scenes, BUILD_PER_TASK)
    out = measure(["build", "--from", str(spar), "--out", str(tmp / f"hf_{n_scenes}"), "--configs", "7m-rgbd"], tmp / "hf_home")
    out["records"] = n_scenes * 20 * BUILD_PER_TASK
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="size of the large input relative to 1x (default 10)")
    args = parser.parse_args()
    from ingest import make_images

    results: dict[str, tuple[dict, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="spar-memory-") as tmp_name:
        tmp = Path(tmp_name)
        images = tmp / "o365"
        refs = make_images(images)
        t0 = time.perf_counter()
        results["ingest"] = (ingest_run(tmp, INGEST_BASE, refs, images), ingest_run(tmp, INGEST_BASE * args.scale, refs, images))
        results["build"] = (build_run(tmp, BUILD_SCENES_BASE), build_run(tmp, BUILD_SCENES_BASE * args.scale))
        for name, (small, large) in results.items():
            print(f"{name:7s} 1x: {small['records']:>7,} records peak RSS {small['rss_mb']:7.1f} MB ({small['seconds']:.1f} s)   "
                  f"{args.scale}x: {large['records']:>7,} records peak RSS {large['rss_mb']:7.1f} MB ({large['seconds']:.1f} s)   "
                  f"ratio {small['rss_mb'] / large['rss_mb']:.3f}")
        print(f"total {time.perf_counter() - t0:.1f} s")
    worst = min(results, key=lambda k: results[k][0]["rss_mb"] / results[k][1]["rss_mb"])
    small, large = results[worst]
    print(json.dumps({"benchmark": "memory",
                      "metric": f"peak RSS at {args.scale}x input vs 1x (worse of ingest, build 7m-rgbd: {worst})",
                      "unit": "MB", "value": round(large["rss_mb"], 1), "reference": round(small["rss_mb"], 1),
                      "ratio": round(small["rss_mb"] / large["rss_mb"], 3), "target": 0.8}))


if __name__ == "__main__":
    main()

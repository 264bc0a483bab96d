"""Seconds for the Space to show one SPAR-7M sample (the work behind one "next" click).

Per sample: locate the row, read its row group from Parquet, decode the images, draw the markers,
fetch pose and intrinsics from the RGBD twin config and write the GLB of
boxes and frusta (the scene's other objects included). Samples are drawn at random across the
validation split so row-group reads are mostly cold; the split index is built once beforehand
(its time is printed). Reference: 1.0 s, the usual limit for a response to feel immediate;
ratio = reference / median.

Default: builds a small dataset (synth 2 scenes x 6 frames -> generate -> build 7m,7m-rgbd) in a
temp folder; `--dataset HF_DIR` uses an existing build (e.g. `spar-hf demo` output); `--scale K`
times K x 40 samples.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REFERENCE_S = 1.0
TASKS = "depth_prediction_oc,depth_prediction_oc_mv,position_matching,obj_spatial_relation_oo,view_change_infer"


def small_build(root: Path) -> Path:
    import contextlib
    import io

    from spar_hf.cli import main

    steps = [["synth", "--out", str(root / "scenes"), "--scenes", "2", "--frames", "6", "--seed", "0"],
             ["generate", "--source", "synthetic", "--scenes", str(root / "scenes"), "--out", str(root / "spar"),
              "--val-fraction", "0.5", "--tasks", TASKS],
             ["build", "--from", str(root / "spar"), "--out", str(root / "hf"), "--configs", "7m,7m-rgbd"]]
    for argv in steps:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            if main(argv) != 0:
                raise SystemExit(f"benchmark set-up failed: spar-hf {argv[0]}")
    return root / "hf"


def main() -> None:
    import numpy as np

    from spar_hf.space.ui import SpaceApp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="existing HF_DIR with 7m (and ideally 7m-rgbd)")
    parser.add_argument("--scale", type=int, default=1, help="time scale x 40 samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-space-") as tmp:
        dataset = Path(args.dataset) if args.dataset else small_build(Path(tmp))
        app = SpaceApp(str(dataset), Path(tmp) / "work")
        split = "validation" if "validation" in app.data.config("7m").splits else app.data.config("7m").splits[0]
        started = time.perf_counter()
        n_rows = len(app.data.index("7m", split))
        if app.data.twin_rgbd("7m"):
            app.data.index(app.data.twin_rgbd("7m"), split)
        index_s = time.perf_counter() - started
        rng = np.random.default_rng(0)
        positions = rng.integers(0, n_rows, size=40 * args.scale)
        times = []
        for position in positions:
            t0 = time.perf_counter()
            out = app.browse("7m", split, "(all)", "(all)", "(all)", int(position), "")
            times.append(time.perf_counter() - t0)
            assert out["images"]
        median = statistics.median(times)
        p90 = float(np.percentile(times, 90))
        print(f"index ({n_rows} rows, 7m + twin): {index_s:.2f} s")
        print(f"browse: median {median * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms over {len(times)} random samples")
        print(json.dumps({"benchmark": "space", "metric": "median seconds to show one 7m sample (images, markers, pose, GLB)",
                          "unit": "s", "value": round(median, 4), "reference": REFERENCE_S,
                          "ratio": round(REFERENCE_S / median, 2), "target": 1.0}))


if __name__ == "__main__":
    main()

"""Structured3D reader throughput: renders read per second at the dataset's 1280x720 resolution.

Builds a scene in the Structured3D layout from the test fixture's ray-cast renders, scaled to
1280x720 and repeated over many positions, then times `structured3d.read_scene` (cameras,
labels from the semantic maps, boxes, the depth-built mesh). Reference: decoding the four PNGs
(colour, depth, instance, semantic) of every render and nothing else, the I/O floor any reader
of this layout pays; ratio = ours / floor (higher is better, 1.0 = free parsing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

SIZE = (1280, 720)
PNGS = ("rgb_rawlight.png", "depth.png", "instance.png", "semantic.png")


def build_scene(root: Path, renders: int) -> Path:
    from fixtures.sources import write_structured3d_scene

    small = write_structured3d_scene(root / "small")
    scene = root / "scene_00001"
    sources = sorted(small.glob("2D_rendering/*/perspective/full/*"))
    for n in range(renders):
        src = sources[n % len(sources)]
        dst = scene / "2D_rendering" / str(100 + n // 10) / "perspective" / "full" / str(n % 10)
        dst.mkdir(parents=True, exist_ok=True)
        for name in PNGS:
            with Image.open(src / name) as image:
                image.resize(SIZE, Image.NEAREST).save(dst / name)
        shutil.copy(src / "camera_pose.txt", dst / "camera_pose.txt")
    shutil.copy(small / "bbox_3d.json", scene / "bbox_3d.json")
    return scene


def decode_floor(scene: Path) -> float:
    start = time.perf_counter()
    for folder in sorted(scene.glob("2D_rendering/*/perspective/full/*")):
        for name in PNGS:
            with Image.open(folder / name) as image:
                np.asarray(image)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", action="store_true", help="more renders (60 instead of 12)")
    parser.add_argument("--renders", type=int, default=None)
    args = parser.parse_args()
    renders = args.renders or (60 if args.scale else 12)

    from spar_hf.scene import structured3d

    with tempfile.TemporaryDirectory(prefix="bench-sources-") as tmp:
        scene_dir = build_scene(Path(tmp), renders)
        decode_floor(scene_dir)  # warm the page cache for both timings
        floor_s = min(decode_floor(scene_dir) for _ in range(2))
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            scene = structured3d.read_scene(scene_dir)
            best = min(best, time.perf_counter() - start)
        assert len(scene.frames) == renders and scene.objects
        print(f"renders={renders} at {SIZE[0]}x{SIZE[1]}: read {best:.2f} s, PNG decode floor {floor_s:.2f} s, "
              f"mesh {len(scene.vertices)} vertices / {len(scene.faces)} faces")
    value = renders / best
    reference = renders / floor_s
    print(json.dumps({"benchmark": "sources_read", "metric": "Structured3D renders read per second (1280x720)",
                      "unit": "renders/s", "value": round(value, 2), "reference": round(reference, 2),
                      "ratio": round(value / reference, 3), "target": 0.5}))


if __name__ == "__main__":
    main()

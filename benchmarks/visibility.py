"""Visibility throughput with depth maps vs one full-frame embree ray cast of the same mesh.

Synthesises a scene (ScanNet layout, 640 x 480), reads it back, then times
`compute_scene_records` over all its frames (depth PNG decode + vertex projection + depth test)
and, in the same run, full-frame ray casts (640 x 480 rays, trimesh + embree) of the same mesh.
ratio = visibility frames/s / ray-cast frames/s (higher is better); the issue asks for 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spar_hf.scene.render import RayCaster  # noqa: E402
from spar_hf.scene.scannet import read_scene  # noqa: E402
from spar_hf.scene.synthetic import generate_scene, write_scene  # noqa: E402
from spar_hf.generate.visibility import compute_scene_records  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply frames and repeats")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n_frames = max(4, int(30 * args.scale))
    repeats = max(1, int(3 * args.scale))
    with tempfile.TemporaryDirectory() as tmp:
        synth = generate_scene("scene0000_00", args.seed, n_frames)
        write_scene(synth, tmp)
        scene = read_scene(Path(tmp) / "scene0000_00")
        indices = [f.index for f in scene.frames]
        compute_scene_records(scene, indices[:2])  # warm-up (imports, page cache)
        start = time.perf_counter()
        for _ in range(repeats):
            records = compute_scene_records(scene, indices)
        vis_time = (time.perf_counter() - start) / (repeats * len(indices))
        caster = RayCaster(scene.vertices, scene.faces)
        frame = scene.frames[0]
        caster.cast(frame.pose, frame.intrinsics, frame.width, frame.height)  # builds the BVH
        n_casts = max(3, len(indices) // 3)
        start = time.perf_counter()
        for frame in scene.frames[:n_casts]:
            caster.cast(frame.pose, frame.intrinsics, frame.width, frame.height)
        cast_time = (time.perf_counter() - start) / n_casts
    visible = sum(len(im.visible) for im in records.images)
    print(f"scene: {len(scene.vertices)} vertices, {len(scene.faces)} faces, {len(scene.objects)} objects, {len(indices)} frames")
    print(f"visibility with depth maps: {1 / vis_time:.1f} frames/s ({visible} object views)")
    print(f"full-frame ray cast 640x480: {1 / cast_time:.1f} frames/s")
    value, reference = 1 / vis_time, 1 / cast_time
    print(json.dumps({
        "benchmark": "visibility",
        "metric": "visibility frames/s with depth maps vs one full-frame embree ray cast",
        "unit": "frames/s",
        "value": round(value, 2),
        "reference": round(reference, 2),
        "ratio": round(value / reference, 2),
        "target": 2,
    }))


if __name__ == "__main__":
    main()

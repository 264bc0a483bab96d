"""room_size accuracy: floor-area error of our alpha-shape estimate on L-shaped rooms, against the
convex hull of the same points (the naive peer, which fills the room's missing corner).

Each room is an axis-aligned W x D rectangle (3-8 m) with a corner block (30-60 % of each side)
cut out, so the true area is W*D - cw*cd. Its "mesh" is what a scan gives: dense random floor
points, wall points up to 2.5 m along the boundary, ceiling points, and furniture clusters.
Metric: mean relative area error (%); ratio = convex error / ours (higher is better), target 3.
Also reports the mean time per room. Default 12 rooms; `--scale` uses 60.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def l_room(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    w, d = rng.uniform(3, 8, size=2)
    cw, cd = w * rng.uniform(0.3, 0.6), d * rng.uniform(0.3, 0.6)

    def inside(p: np.ndarray) -> np.ndarray:
        return ~((p[:, 0] > w - cw) & (p[:, 1] > d - cd))

    floor = rng.uniform([0, 0], [w, d], size=(int(w * d * 400), 2))
    floor = floor[inside(floor)]
    # boundary polyline of the L, sampled every 2 cm, at random wall heights
    corners = np.array([[0, 0], [w, 0], [w, d - cd], [w - cw, d - cd], [w - cw, d], [0, d], [0, 0]])
    walls = []
    for a, b in zip(corners[:-1], corners[1:]):
        n = max(2, int(np.linalg.norm(b - a) / 0.02))
        t = np.linspace(0, 1, n)[:, None]
        walls.append(a + t * (b - a))
    walls = np.concatenate(walls)
    wall_pts = np.concatenate([np.column_stack([walls, rng.uniform(0, 2.5, len(walls))]) for _ in range(4)])
    furniture = []
    for _ in range(5):
        c = rng.uniform([0.5, 0.5], [w - cw - 0.5, d - 0.5])
        furniture.append(np.column_stack([c + rng.uniform(-0.4, 0.4, (300, 2)), rng.uniform(0, 1.0, 300)]))
    pts = np.concatenate([np.column_stack([floor, np.zeros(len(floor))]), np.column_stack([floor, np.full(len(floor), 2.5)]),
                          wall_pts, *furniture])
    return pts, float(w * d - cw * cd)


def main() -> None:
    from shapely.geometry import MultiPoint

    from spar_hf.tasks.room_size import _CACHE, room_area

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", action="store_true", help="60 rooms instead of 12")
    parser.add_argument("--rooms", type=int, default=None)
    args = parser.parse_args()
    n = args.rooms or (60 if args.scale else 12)
    rng = np.random.default_rng(0)
    ours, convex, seconds = [], [], []
    for _ in range(n):
        pts, truth = l_room(rng)
        _CACHE.clear()
        t0 = time.perf_counter()
        est = room_area(pts).area
        seconds.append(time.perf_counter() - t0)
        hull = MultiPoint(pts[:, :2]).convex_hull.area
        ours.append(abs(est - truth) / truth * 100)
        convex.append(abs(hull - truth) / truth * 100)
    value, reference = float(np.mean(ours)), float(np.mean(convex))
    print(f"rooms={n} alpha-shape error mean={value:.2f}% max={max(ours):.2f}%  convex-hull error mean={reference:.2f}%  "
          f"time/room={np.mean(seconds):.2f}s")
    print(json.dumps({"benchmark": "room_size", "metric": "mean relative floor-area error on L-shaped rooms", "unit": "%",
                      "value": round(value, 3), "reference": round(reference, 3), "ratio": round(reference / value, 2),
                      "target": 3.0}))


if __name__ == "__main__":
    main()

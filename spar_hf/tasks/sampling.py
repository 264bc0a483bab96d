"""Drawing views and objects for one question: seeded helpers the task samplers share (skip reasons
are returned as strings, so generation can count why candidates were dropped).
"""

from __future__ import annotations

import itertools

import numpy as np

from spar_hf.geometry import boxes_overlap_2d
from spar_hf.tasks.primitives import rand_index, rand_sample
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, GenConfig


def pick_single(ix: SceneIndex, rng: np.random.Generator, n: int, disjoint_2d: bool = False) -> tuple[int, list[int]] | str:
    """One image and n distinct objects visible in it (pairwise 3D-disjoint, optionally 2D-disjoint)."""
    pool = ix.images_with(n)
    if not pool:
        return "too_few_objects"
    view = pool[rand_index(rng, len(pool))]
    ids = rand_sample(rng, ix.visible[view], n)
    if n > 1 and ix.any_overlap3d(ids):
        return "overlap_3d"
    if disjoint_2d and any(boxes_overlap_2d(ix.box_px(view, a), ix.box_px(view, b)) for a, b in itertools.combinations(ids, 2)):
        return "overlap_2d"
    return view, ids


def pick_views(ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> list[int] | str:
    """A main image plus 1..max_views-1 co-visible images (the main view comes first)."""
    pool = ix.covisible_images()
    if not pool:
        return "no_covisible_views"
    main = pool[rand_index(rng, len(pool))]
    others = ix.neighbours(main)
    hi = min(cfg.max_views, len(others) + 1)
    k = cfg.min_views + rand_index(rng, hi - cfg.min_views + 1) if hi >= cfg.min_views else 0
    if k < 2:
        return "no_covisible_views"
    extra = rand_sample(rng, others, k - 1)
    return [main] + sorted(extra, key=lambda j: ix.images[j].frame_index)


def assign_objects(ix: SceneIndex, rng: np.random.Generator, views: list[int], n: int) -> list[tuple[int, int]] | str:
    """n distinct objects seen in `views`, each with the view position it is marked in.

    Spreads the objects: a single object comes from a non-main view; with two or more, the
    second is taken from a different view than the first, so markers sit in >= 2 images.
    """
    chosen: list[tuple[int, int]] = []
    first_positions = list(range(1, len(views))) if n == 1 else list(range(len(views)))
    pos = first_positions[rand_index(rng, len(first_positions))]
    ids = ix.visible[views[pos]]
    if not ids:
        return "too_few_objects"
    chosen.append((ids[rand_index(rng, len(ids))], pos))
    if n == 1:
        return chosen
    other = [p for p in range(len(views)) if p != pos]
    pos2 = other[rand_index(rng, len(other))]
    ids2 = [o for o in ix.visible[views[pos2]] if o != chosen[0][0]]
    if not ids2:
        return "same_image"
    chosen.append((ids2[rand_index(rng, len(ids2))], pos2))
    taken = {chosen[0][0], chosen[1][0]}
    union = sorted({(o, p) for p, v in enumerate(views) for o in ix.visible[v] if o not in taken})
    while len(chosen) < n:
        rest = [(o, p) for o, p in union if o not in taken]
        if not rest:
            return "too_few_objects"
        o, p = rest[rand_index(rng, len(rest))]
        chosen.append((o, p))
        taken.add(o)
    return rand_sample(rng, chosen, n)


def disjoint_2d_in_views(ix: SceneIndex, views: list[int], placed: list[tuple[int, int]]) -> bool:
    """True when objects marked in the same image have non-overlapping 2D boxes."""
    for (a, pa), (b, pb) in itertools.combinations(placed, 2):
        if pa == pb and boxes_overlap_2d(ix.box_px(views[pa], a), ix.box_px(views[pb], b)):
            return False
    return True


def sample_objects(ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig, view: str, colours: list[str],
                   kind: str, disjoint_2d: bool = False) -> Candidate | str:
    """Sample views and one object per marker colour, single view or spread over views."""
    n = len(colours)
    if view == "single":
        got = pick_single(ix, rng, n, disjoint_2d)
        if isinstance(got, str):
            return got
        v, ids = got
        if kind == "point" and any(ix.images[v].visible[o].point_occluded for o in ids):
            return "marker_occluded"
        return Candidate([v], ids, [(c, kind, r, 0) for r, c in enumerate(colours)])
    views = pick_views(ix, rng, cfg)
    if isinstance(views, str):
        return views
    placed = assign_objects(ix, rng, views, n)
    if isinstance(placed, str):
        return placed
    ids = [o for o, _ in placed]
    if kind == "point" and any(ix.images[views[p]].visible[o].point_occluded for o, p in placed):
        return "marker_occluded"
    if n > 1 and ix.any_overlap3d(ids):
        return "overlap_3d"
    if disjoint_2d and not disjoint_2d_in_views(ix, views, placed):
        return "overlap_2d"
    return Candidate(views, ids, [(c, kind, r, p) for r, (c, (_, p)) in enumerate(zip(colours, placed))])

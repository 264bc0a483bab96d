"""Distance inference (closer / farther), single and multi view.

OC: two objects named by label only (labels must be unique among the objects seen in the
question's images), which is closer to / farther from the (first image's) camera. OO: which of
green / blue is closer to / farther from the red anchor. Differences under `min_gap_m` are skipped.
Select is binary (two options, the objects' names in random order).
"""

from __future__ import annotations

from collections import Counter
from functools import partial

import numpy as np

from spar_hf.tasks.generic import make_specs
from spar_hf.tasks.primitives import rand_index, rand_sample
from spar_hf.tasks.sampling import pick_views, sample_objects
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, Cam, Facts, GenConfig, TaskDef
from spar_hf.tasks.values import centers, fixed_options, fmt_m

REL = {"closer": "closer to", "farther": "farther from"}


def _ask(cand: Candidate, rng: np.random.Generator) -> Candidate:
    cand.extra["ask"] = "closer" if rand_index(rng, 2) == 0 else "farther"
    return cand


def sample_oc(view: str, ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    """Two objects whose labels are unique among everything seen in the question's images.

    Multi view: at least one of the two is not visible in the main image.
    """
    if view == "single":
        pool = ix.images_with(2)
        if not pool:
            return "too_few_objects"
        views = [pool[rand_index(rng, len(pool))]]
    else:
        views = pick_views(ix, rng, cfg)
        if isinstance(views, str):
            return views
    seen = sorted({o for v in views for o in ix.visible[v]})
    counts = Counter(ix.objects[o].label for o in seen)
    unique = [o for o in seen if counts[ix.objects[o].label] == 1]
    if len(unique) < 2:
        return "label_not_unique"
    ids = rand_sample(rng, unique, 2)
    if view == "multi" and all(o in ix.images[views[0]].visible for o in ids):
        return "same_image"
    if ix.overlap3d(ids[0], ids[1]):
        return "overlap_3d"
    return _ask(Candidate(views, ids, []), rng)


def sample_oo(view: str, ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    cand = sample_objects(ix, rng, cfg, view, ["red", "green", "blue"], "point")
    if isinstance(cand, str):
        return cand
    if ix.objects[cand.objects[1]].label == ix.objects[cand.objects[2]].label:
        return "same_label"
    return _ask(cand, rng)


def _facts(labels: list[str], dists: list[float], ask: str, cfg: GenConfig) -> Facts:
    first_closer = dists[0] < dists[1]
    pick = 0 if first_closer == (ask == "closer") else 1
    ans, other = labels[pick], labels[1 - pick]
    facts = Facts(fields={"rel": REL[ask], "cf": ask, "ans": ans}, truth=ans, value=[float(d) for d in dists],
                  options=fixed_options([other]))
    gap = abs(dists[0] - dists[1])
    if gap < cfg.min_gap_m:
        facts.skip = "too_close"
    elif gap < cfg.min_gap_m + cfg.ambiguous_band_m:
        facts.margins.append(f"ambiguous:margin: distances differ by only {gap:.3f} m")
    return facts


def derive_oc(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    d = np.linalg.norm(centers(meta) - cams[0].pose[:3, 3], axis=1)
    labels = [o["label"] for o in meta["objects"]]
    facts = _facts(labels, list(d), meta["ask"], cfg)
    facts.fields.update(a=labels[0], b=labels[1], da=fmt_m(d[0]), db=fmt_m(d[1]))
    return facts


def derive_oo(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    c = centers(meta)
    d = np.linalg.norm(c[1:] - c[0], axis=1)
    labels = [o["label"] for o in meta["objects"]]
    facts = _facts(labels[1:], list(d), meta["ask"], cfg)
    facts.fields.update(a=labels[0], b=labels[1], c=labels[2], db=fmt_m(d[0]), dc=fmt_m(d[1]))
    return facts


FS = ("fill", "select", "sentence")
DEFS = [
    TaskDef(name="distance_infer_center_oc", view="single", formats=FS, sample=partial(sample_oc, "single"),
            derive=derive_oc, stems="distI_oc", answers="distI_oc", fill="name", n_options=2),
    TaskDef(name="distance_infer_center_oo", view="single", formats=FS, sample=partial(sample_oo, "single"),
            derive=derive_oo, stems="distI_oo", answers="distI_oo", fill="name", n_options=2, bench=True),
    TaskDef(name="distance_infer_center_oc_mv", view="multi", formats=FS, sample=partial(sample_oc, "multi"),
            derive=derive_oc, stems="distI_oc", answers="distI_oc", fill="name", n_options=2, mv_note="view"),
    TaskDef(name="distance_infer_center_oo_mv", view="multi", formats=FS, sample=partial(sample_oo, "multi"),
            derive=derive_oo, stems="distI_oo", answers="distI_oo", fill="name", n_options=2, mv_note="view",
            bench=True),
]
TASKS = make_specs(DEFS, "distance_infer")

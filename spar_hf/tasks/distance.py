"""Distance prediction (OC, OO, single and multi view): Euclidean distances between 3D centres.

OC: camera centre (of the first image) to the red object. OO: red to blue object; pairs whose
boxes overlap or whose centres are closer than `min_distance_m` are skipped.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from spar_hf.tasks.generic import make_specs
from spar_hf.tasks.primitives import norm3
from spar_hf.tasks.sampling import sample_objects
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, Cam, Facts, GenConfig, TaskDef
from spar_hf.tasks.values import centers, fmt_m, numeric_options


def _sample(colours: list[str], view: str, ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    return sample_objects(ix, rng, cfg, view, colours, "point")


def derive_oc(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    d = norm3(centers(meta)[0] - cams[0].pose[:3, 3])
    a = meta["objects"][0]["label"]
    return Facts(fields={"a": a, "val": fmt_m(d)}, truth=fmt_m(d), value=d, options=numeric_options(d, fmt_m, 0.1))


def derive_oo(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    c = centers(meta)
    d = norm3(c[0] - c[1])
    a, b = (o["label"] for o in meta["objects"])
    facts = Facts(fields={"a": a, "b": b, "val": fmt_m(d)}, truth=fmt_m(d), value=d, options=numeric_options(d, fmt_m, 0.1))
    if d < cfg.min_distance_m:
        facts.skip = "too_close"
    return facts


FS = ("fill", "select", "sentence")
DEFS = [
    TaskDef(name="distance_prediction_oc", view="single", formats=FS, sample=partial(_sample, ["red"], "single"),
            derive=derive_oc, stems="dist_oc", answers="dist_oc", bench=True),
    TaskDef(name="distance_prediction_oo", view="single", formats=FS,
            sample=partial(_sample, ["red", "blue"], "single"), derive=derive_oo, stems="dist_oo", answers="dist_oo",
            bench=True),
    TaskDef(name="distance_prediction_oc_mv", view="multi", formats=FS, sample=partial(_sample, ["red"], "multi"),
            derive=derive_oc, stems="dist_oc", answers="dist_oc", mv_note="view", bench=True),
    TaskDef(name="distance_prediction_oo_mv", view="multi", formats=FS,
            sample=partial(_sample, ["red", "blue"], "multi"), derive=derive_oo, stems="dist_oo", answers="dist_oo",
            mv_note="view", bench=True),
]
TASKS = make_specs(DEFS, "distance")

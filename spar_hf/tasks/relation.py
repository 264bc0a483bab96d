"""Object spatial relations in the (first image's) camera frame.

OO: the red object relative to the blue one: left/right (x), above/below (-y, camera y points
down), closer/farther (distance to the camera). OC (multi view): the red object relative to the
main observer: left/right, above/below, front/behind (z). A difference under
`relation_threshold_m` leaves that component empty; questions with all components empty are
skipped. Judge statements test one non-empty component (answer "Yes"/"No", balanced).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from spar_hf.geometry import world_to_camera
from spar_hf.tasks.generic import make_specs
from spar_hf.tasks.sampling import sample_objects
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, Cam, Facts, GenConfig, TaskDef
from spar_hf.tasks.values import AXES_OC, AXES_OO, centers, describe, margin_findings, relation_oc, relation_oo, relation_options, triple_text


def _sample(colours: list[str], view: str, ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    return sample_objects(ix, rng, cfg, view, colours, "bbox")


def _facts(parts: list[str], diffs: list[float], axes: tuple, cfg: GenConfig, fields: dict) -> Facts:
    facts = Facts(fields={**fields, "desc": describe(parts)}, truth=triple_text(parts), value=diffs, parts=parts,
                  options=relation_options(axes, parts))
    if not any(parts):
        facts.skip = "indistinguishable"
    facts.margins = margin_findings(diffs, cfg.relation_threshold_m, cfg.ambiguous_band_m, "relation")
    return facts


def derive_oo(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    p = world_to_camera(centers(meta), cams[0].pose)
    parts, diffs = relation_oo(p[0], p[1], cfg.relation_threshold_m)
    a, b = (o["label"] for o in meta["objects"])
    return _facts(parts, diffs, AXES_OO, cfg, {"a": a, "b": b})


def derive_oc(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    p = world_to_camera(centers(meta), cams[0].pose)
    parts, diffs = relation_oc(p[0], cfg.relation_threshold_m)
    return _facts(parts, diffs, AXES_OC, cfg, {"a": meta["objects"][0]["label"]})


DEFS = [
    TaskDef(name="obj_spatial_relation_oo", view="single", formats=("judge", "select", "sentence"),
            sample=partial(_sample, ["red", "blue"], "single"), derive=derive_oo, stems="rel_oo", answers="rel_oo",
            select_note="rel_oo", bench=True),
    TaskDef(name="obj_spatial_relation_oo_mv", view="multi", formats=("judge", "select", "sentence"),
            sample=partial(_sample, ["red", "blue"], "multi"), derive=derive_oo, stems="rel_oo", answers="rel_oo",
            select_note="rel_oo", mv_note="view", bench=True),
    TaskDef(name="obj_spatial_relation_oc_mv", view="multi", formats=("select", "sentence"),
            sample=partial(_sample, ["red"], "multi"), derive=derive_oc, stems="rel_oc", answers="rel_oc",
            select_note="rel_oc", mv_note="view", bench=True),
]
TASKS = make_specs(DEFS, "relation")

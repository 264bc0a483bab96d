"""Spatial imagination: the observer moves to object B's centre facing object C.

The new camera is `look_at(B, C, up)` with the scene's up vector kept vertical; views whose
pitch |asin(forward . up)| exceeds `max_pitch_deg` (60 deg) are discarded, as are B/C closer than
`relation_threshold_m`. OC: the red object A relative to the moved observer (left/right,
above/below, front/behind). OO: A relative to the yellow object D in the moved frame
(left/right, above/below, closer/farther). Roles by colour: red A, green B, blue C, yellow D.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from spar_hf.geometry import look_at, world_to_camera
from spar_hf.tasks.generic import make_specs
from spar_hf.tasks.primitives import cross3, norm3
from spar_hf.tasks.sampling import sample_objects
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, Cam, Facts, GenConfig, TaskDef
from spar_hf.tasks.values import AXES_OC, AXES_OO, centers, describe, margin_findings, relation_oc, relation_oo, relation_options, triple_text


def _sample(colours: list[str], view: str, ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    cand = sample_objects(ix, rng, cfg, view, colours, "bbox")
    if isinstance(cand, str):
        return cand
    cand.extra["up"] = [float(v) for v in ix.up]
    return cand


def _derive(oo: bool, meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    c = centers(meta)
    up = np.asarray(meta["up"], float)
    up = up / np.linalg.norm(up)
    labels = [o["label"] for o in meta["objects"]]
    fields = {"a": labels[0], "b": labels[1], "c": labels[2]}
    thr = cfg.relation_threshold_m
    span = norm3(c[2] - c[1])
    if span < thr:
        return Facts(fields=fields, skip="degenerate_view")
    rise = float((c[2] - c[1]) @ up) / span  # sin(pitch): decide before building the pose
    if abs(rise) > math.sin(math.radians(cfg.max_pitch_deg)) or norm3(cross3(c[2] - c[1], up)) / span < 1e-6:
        return Facts(fields=fields, skip="steep_pitch")
    pose = look_at(c[1], c[2], up)
    before = world_to_camera(c, cams[0].pose)
    after = world_to_camera(c, pose)
    if oo:
        fields["d"] = labels[3]
        parts0, _ = relation_oo(before[0], before[3], thr)
        parts, diffs = relation_oo(after[0], after[3], thr)
        axes = AXES_OO
    else:
        parts0, _ = relation_oc(before[0], thr)
        parts, diffs = relation_oc(after[0], thr)
        axes = AXES_OC
    fields.update(desc0=describe(parts0), desc=describe(parts))
    facts = Facts(fields=fields, truth=triple_text(parts), value=diffs, parts=parts, options=relation_options(axes, parts))
    if not any(parts):
        facts.skip = "indistinguishable"
    facts.margins = margin_findings(diffs, thr, cfg.ambiguous_band_m, "moved relation")
    return facts


FS = ("select", "sentence")
DEFS = [
    TaskDef(name="spatial_imagination_oc", view="single", formats=FS,
            sample=partial(_sample, ["red", "green", "blue"], "single"), derive=partial(_derive, False),
            stems="imag_oc", answers="imag_oc", select_note="imag_oc", bench=True),
    TaskDef(name="spatial_imagination_oo", view="single", formats=FS,
            sample=partial(_sample, ["red", "green", "blue", "yellow"], "single"), derive=partial(_derive, True),
            stems="imag_oo", answers="imag_oo", select_note="imag_oo", bench=True),
    TaskDef(name="spatial_imagination_oc_mv", view="multi", formats=FS,
            sample=partial(_sample, ["red", "green", "blue"], "multi"), derive=partial(_derive, False), stems="imag_oc",
            answers="imag_oc", select_note="imag_oc", mv_note="imag", bench=True),
    TaskDef(name="spatial_imagination_oo_mv", view="multi", formats=FS,
            sample=partial(_sample, ["red", "green", "blue", "yellow"], "multi"), derive=partial(_derive, True),
            stems="imag_oo", answers="imag_oo", select_note="imag_oo", mv_note="imag", bench=True),
]
TASKS = make_specs(DEFS, "imagination")

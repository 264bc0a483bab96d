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
from spar_hf.tasks.common import (AXES_OC, AXES_OO, Candidate, Cam, Facts, GenConfig, SceneIndex, TaskDef, centers, describe,
                                  cross3, make_specs, margin_findings, norm3, relation_oc, relation_oo, relation_options, sample_objects, triple_text)


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
    TaskDef("spatial_imagination_oc", "single", FS, partial(_sample, ["red", "green", "blue"], "single"), partial(_derive, False),
            "imag_oc", "imag_oc", select_note="imag_oc", bench=True),
    TaskDef("spatial_imagination_oo", "single", FS, partial(_sample, ["red", "green", "blue", "yellow"], "single"), partial(_derive, True),
            "imag_oo", "imag_oo", select_note="imag_oo", bench=True),
    TaskDef("spatial_imagination_oc_mv", "multi", FS, partial(_sample, ["red", "green", "blue"], "multi"), partial(_derive, False),
            "imag_oc", "imag_oc", select_note="imag_oc", mv_note="imag", bench=True),
    TaskDef("spatial_imagination_oo_mv", "multi", FS, partial(_sample, ["red", "green", "blue", "yellow"], "multi"), partial(_derive, True),
            "imag_oo", "imag_oo", select_note="imag_oo", mv_note="imag", bench=True),
]
TASKS = make_specs(DEFS, "imagination")

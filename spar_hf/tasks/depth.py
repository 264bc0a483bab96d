"""Depth prediction (OC, OO, single and multi view): camera-space z of 3D box centres.

OC: the red object's depth is given, the blue object's is asked. OO: the red object's depth is
given, the asked value is |z(green) - z(blue)|. Multi-view: each object's depth is taken in the camera
of the image where its marker is drawn (`meta["marked_in"]`, the marker's image position per object), as
the release states in its questions ("The depth is calculated based on the image where the markers
corresponding to these objects are located.").
Marked objects in the same image must have disjoint 2D boxes; depths closer than `min_gap_m`
are skipped (too close to tell apart).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from spar_hf.tasks.generic import make_specs
from spar_hf.tasks.sampling import sample_objects
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, Cam, Facts, GenConfig, TaskDef
from spar_hf.tasks.values import fmt_m, marker_depths, numeric_options


def _sample(colours: list[str], view: str, ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    cand = sample_objects(ix, rng, cfg, view, colours, "point", disjoint_2d=True)
    if isinstance(cand, Candidate) and view == "multi":
        cand.extra["marked_in"] = [pos for _, _, _, pos in cand.marks]
    return cand


def _gap_margin(gap: float, cfg: GenConfig) -> list[str]:
    if gap < cfg.min_gap_m + cfg.ambiguous_band_m:
        return [f"ambiguous:margin: depths differ by only {gap:.3f} m"]
    return []


def derive_oc(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    z = marker_depths(meta, cams)
    a, b = (o["label"] for o in meta["objects"])
    facts = Facts(fields={"a": a, "b": b, "ref": fmt_m(z[0]), "val": fmt_m(z[1])}, truth=fmt_m(z[1]), value=float(z[1]),
                  options=numeric_options(float(z[1]), fmt_m, 0.1))
    if min(z) <= 0:
        facts.skip = "behind_camera"
    elif abs(z[1] - z[0]) < cfg.min_gap_m:
        facts.skip = "too_close"
    facts.margins = _gap_margin(abs(z[1] - z[0]), cfg)
    return facts


def derive_oo(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    z = marker_depths(meta, cams)
    a, b, c = (o["label"] for o in meta["objects"])
    diff = float(z[2] - z[1])
    facts = Facts(fields={"a": a, "b": b, "c": c, "ref": fmt_m(z[0]), "val": fmt_m(abs(diff)),
                          "dir": "deeper" if diff > 0 else "shallower"},
                  truth=fmt_m(abs(diff)), value=abs(diff), options=numeric_options(abs(diff), fmt_m, 0.1))
    if min(z) <= 0:
        facts.skip = "behind_camera"
    elif abs(diff) < cfg.min_gap_m:
        facts.skip = "too_close"
    facts.margins = _gap_margin(abs(diff), cfg)
    return facts


FS = ("fill", "select", "sentence")
DEFS = [
    TaskDef(name="depth_prediction_oc", view="single", formats=FS, sample=partial(_sample, ["red", "blue"], "single"),
            derive=derive_oc, stems="depth_oc", answers="depth_oc", unit_note=True, bench=True),
    TaskDef(name="depth_prediction_oo", view="single", formats=FS,
            sample=partial(_sample, ["red", "blue", "green"], "single"), derive=derive_oo, stems="depth_oo",
            answers="depth_oo", bench=True),
    TaskDef(name="depth_prediction_oc_mv", view="multi", formats=FS, sample=partial(_sample, ["red", "blue"], "multi"),
            derive=derive_oc, stems="depth_oc", answers="depth_oc", unit_note=True, mv_note="depth", bench=True),
    TaskDef(name="depth_prediction_oo_mv", view="multi", formats=FS,
            sample=partial(_sample, ["red", "blue", "green"], "multi"), derive=derive_oo, stems="depth_oo",
            answers="depth_oo", mv_note="depth", bench=True),
]
TASKS = make_specs(DEFS, "depth")

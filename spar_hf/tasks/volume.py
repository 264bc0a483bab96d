"""Spatial volume inference: length, width, height (cm) and volume (cm^3) of the red object's box.

Height is the box extent along the box axis closest to the scene's up vector; length and width
are the larger and smaller of the other two. Volume = length * width * height from unrounded
extents. Fill asks one of the four quantities (chosen at random, kept in meta "quantity").
"""

from __future__ import annotations

import numpy as np

from spar_hf.tasks.generic import make_specs
from spar_hf.tasks.primitives import rand_index
from spar_hf.tasks.sampling import sample_objects
from spar_hf.tasks.scene_index import SceneIndex
from spar_hf.tasks.taskdef import Candidate, Cam, Facts, GenConfig, TaskDef
from spar_hf.tasks.values import fmt_int

QUANTITIES = ("length", "width", "height", "volume")


def sample(ix: SceneIndex, rng: np.random.Generator, cfg: GenConfig) -> Candidate | str:
    cand = sample_objects(ix, rng, cfg, "single", ["red"], "bbox")
    if isinstance(cand, str):
        return cand
    cand.extra["up"] = [float(v) for v in ix.up]
    cand.extra["quantity"] = QUANTITIES[rand_index(rng, len(QUANTITIES))]
    return cand


def dimensions_cm(extents: np.ndarray, rotation: np.ndarray, up: np.ndarray) -> tuple[float, float, float, float]:
    """(length, width, height, volume) in cm / cm^3 from a box's extents (m) and axes."""
    vertical = int(np.argmax(np.abs(np.asarray(rotation, float).T @ up)))
    height = float(extents[vertical]) * 100.0
    rest = sorted((float(extents[k]) * 100.0 for k in range(3) if k != vertical), reverse=True)
    return rest[0], rest[1], height, rest[0] * rest[1] * height


def derive(meta: dict, cams: list[Cam], cfg: GenConfig) -> Facts:
    obj = meta["objects"][0]
    up = np.asarray(meta["up"], float)
    dims = dimensions_cm(np.asarray(obj["extents"], float), np.asarray(obj["rotation"], float), up / np.linalg.norm(up))
    q = meta["quantity"]
    fields = {"a": obj["label"], "l": fmt_int(dims[0]), "w": fmt_int(dims[1]), "h": fmt_int(dims[2]), "v": fmt_int(dims[3]),
              "q": q, "unit": "cubic centimeters" if q == "volume" else "centimeters"}
    facts = Facts(fields=fields, truth=fmt_int(dims[QUANTITIES.index(q)]), value=list(dims))
    if min(dims[:3]) < 1.0:
        facts.skip = "degenerate_box"
    return facts


DEFS = [TaskDef(name="spatial_volume_infer", view="single", formats=("fill", "sentence"), sample=sample, derive=derive,
                stems="volume", answers="volume", center_note=False)]
TASKS = make_specs(DEFS, "volume")

"""Per-question scores: mean relative accuracy (MRA), multiple-choice match, view-change (VCI).

MRA uses the same ten thresholds as lmms-eval and VLMEvalKit (numpy's linspace(0.5, 0.95, 10),
compared as `rel <= 1 - theta`), computed once, so results agree with theirs to the last bit.
"""

from __future__ import annotations

import numpy as np

# 1 - theta for theta in 0.50, 0.55, ..., 0.95, as the float64 values numpy produces.
MRA_TOLERANCES: tuple[float, ...] = tuple(float(t) for t in (1 - np.linspace(0.5, 0.95, 10)))

VCI_AXES: tuple[tuple[str, str], ...] = (
    ("move_right", "move_left"),
    ("move_up", "move_down"),
    ("move_forward", "move_backward"),
    ("rotate_right", "rotate_left"),
    ("rotate_up", "rotate_down"),
)


def relative_error(pred: float, target: float) -> float:
    """|pred - target| / |target|, or |pred - target| when target is 0."""
    if target == 0.0:
        return abs(pred - target)
    return abs((pred - target) / target)


def mra(pred: float, target: float) -> float:
    """Mean over the ten thresholds of [relative_error <= 1 - theta]; NaN anywhere scores 0."""
    rel = relative_error(pred, target)
    return sum(rel <= tol for tol in MRA_TOLERANCES) / len(MRA_TOLERANCES)


def lmms_choice(prediction: str, target: str) -> float:
    """lmms-eval's exact_match: equal, or prediction a substring of target, or first char equals target."""
    pred = prediction.lower()
    gold = target.lower()
    if pred == gold or pred in gold or pred[0] == gold:
        return 1.0
    return 0.0


def vci_axes(motion: dict[str, float]) -> list[float]:
    """The five signed axes (right-left, up-down, forward-backward, rotate right-left, up-down)."""
    return [motion.get(pos, 0) - motion.get(neg, 0) for pos, neg in VCI_AXES]


def vci(pred_motion: dict[str, float], gold_motion: dict[str, float], *, swapped: bool) -> float:
    """Mean MRA over the five axes; `swapped` reproduces lmms-eval, which normalises by the prediction."""
    scores = []
    for pred_axis, gold_axis in zip(vci_axes(pred_motion), vci_axes(gold_motion)):
        scores.append(mra(gold_axis, pred_axis) if swapped else mra(pred_axis, gold_axis))
    return sum(scores) / len(scores)


"""BEV probe scoring: average position error (APE) of predicted ground-frame coordinates (paper 4.4).

A prediction is text holding one `(x, y)` pair per object, optionally prefixed `label:` and
separated by semicolons or new lines. Predicted pairs are matched to the truth by label when the
label names exactly one truth object, otherwise by position in the list. An object without a
matched prediction is counted as missing, not given an error. APE is the Euclidean error in
metres; reported as mean / P50 / P90 overall and per bin of the object's horizontal distance
from the main view (the paper's seven bins: 0-1, 1-2, 2-3, 3-5, 5-7, 7-10, >10 m; lower edge
inclusive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

DISTANCE_BINS: tuple[tuple[float, float], ...] = ((0, 1), (1, 2), (2, 3), (3, 5), (5, 7), (7, 10), (10, float("inf")))
_PAIR = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)")


@dataclass(frozen=True)
class Coordinate:
    label: str | None
    x: float
    y: float


@dataclass
class ApeStats:
    n: int
    mean: float
    p50: float
    p90: float


@dataclass
class BevReport:
    overall: ApeStats
    bins: dict[str, ApeStats]
    n_missing: int
    per_object: list[tuple[float, float]] = field(default_factory=list)  # (distance from main view, error)

    def as_dict(self) -> dict:
        def d(s: ApeStats) -> dict:
            return {"n": s.n, "mean": s.mean, "p50": s.p50, "p90": s.p90}

        return {"overall": d(self.overall), "bins": {k: d(v) for k, v in self.bins.items()}, "missing": self.n_missing}


def parse_coordinates(text: str) -> list[Coordinate]:
    """Every `(x, y)` pair in the text, in order, with the `label:` written before it (if any)."""
    out = []
    start = 0
    for m in _PAIR.finditer(text):
        before = re.split(r"[;\n!?]|\.\s", text[start:m.start()])[-1]
        label = before.rsplit(":", 1)[0].strip() if ":" in before else None
        if label:
            label = re.sub(r"\s*\([^)]*\)\s*$", "", label).strip().lower() or None
        out.append(Coordinate(label, float(m.group(1)), float(m.group(2))))
        start = m.end()
    return out


def match(pred: Sequence[Coordinate], labels: Sequence[str]) -> list[Coordinate | None]:
    """Prediction for each truth object: by unique label if possible, else by list position."""
    lowered = [label.lower() for label in labels]
    result: list[Coordinate | None] = [None] * len(labels)
    used: set[int] = set()
    for j, p in enumerate(pred):
        if p.label is not None and lowered.count(p.label) == 1:
            i = lowered.index(p.label)
            if result[i] is None:
                result[i] = p
                used.add(j)
    for i in range(len(labels)):
        if result[i] is None and i < len(pred) and i not in used:
            result[i] = pred[i]
            used.add(i)
    return result


def stats(errors: Iterable[float]) -> ApeStats:
    arr = np.asarray(list(errors), float)
    if arr.size == 0:
        return ApeStats(0, float("nan"), float("nan"), float("nan"))
    return ApeStats(int(arr.size), float(arr.mean()), float(np.percentile(arr, 50)), float(np.percentile(arr, 90)))


def bin_name(lo: float, hi: float) -> str:
    return f">{lo:g}" if np.isinf(hi) else f"{lo:g}-{hi:g}"


def score(samples: Iterable[tuple[str, Sequence[Sequence[float]], Sequence[str]]]) -> BevReport:
    """APE over samples of (prediction text, truth (x, y) per object, labels per object)."""
    per_object: list[tuple[float, float]] = []
    missing = 0
    for text, truth, labels in samples:
        truth_arr = np.asarray(truth, float).reshape(-1, 2)
        for t, p in zip(truth_arr, match(parse_coordinates(text), labels)):
            if p is None:
                missing += 1
                continue
            per_object.append((float(np.linalg.norm(t)), float(np.hypot(p.x - t[0], p.y - t[1]))))
    bins = {}
    for lo, hi in DISTANCE_BINS:
        bins[bin_name(lo, hi)] = stats(e for dist, e in per_object if lo <= dist < hi)
    return BevReport(stats(e for _, e in per_object), bins, missing, per_object)


def score_records(records: Iterable, predictions: dict[str, str]) -> BevReport:
    """APE for spatial_imagination_map_mv QARecords (truth from meta) against {id: prediction}."""
    samples = []
    for rec in records:
        labels = [o["label"] for o in rec.meta["objects"]]
        samples.append((predictions.get(rec.id, ""), rec.meta["value"], labels))
    return score(samples)

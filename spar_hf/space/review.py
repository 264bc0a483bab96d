"""Error analysis in the Browse tab: a model's predictions beside the gold answers, and which rows it got wrong.

A `Review` is one uploaded predictions file scored on one bench config under one protocol, per
question, by the eval package's own `evaluate` (the numbers are those of `spar-hf eval`). It
lives in the browser session's state, so two people looking at the same Space see their own
files. "Wrong" means a question score below 1: a wrong letter, a number outside the tightest
MRA threshold (partly right counts as wrong here), a missing or a null prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spar_hf.eval.evaluate import evaluate
from spar_hf.eval.predictions import Predictions


@dataclass(frozen=True)
class Verdict:
    prediction: str | None
    score: float
    extracted: Any
    status: str  # scored | missing | null


@dataclass(frozen=True)
class Review:
    name: str
    config: str
    protocol: str
    verdicts: dict[str, Verdict]  # by row id as text (the Space's ids are strings)
    unknown: int

    @property
    def wrong(self) -> frozenset[str]:
        return frozenset(i for i, v in self.verdicts.items() if v.score < 1)

    def wrong_mask(self, ids: list[str]) -> np.ndarray:
        """True where the row with that id was not answered fully right."""
        wrong = self.wrong
        return np.fromiter((i in wrong for i in ids), dtype=bool, count=len(ids))

    def status(self) -> str:
        counts = {"missing": 0, "null": 0}
        for v in self.verdicts.values():
            counts[v.status] = counts.get(v.status, 0) + 1
        right = len(self.verdicts) - len(self.wrong)
        return (f"`{self.name}` on `{self.config}` under **{self.protocol}**: {len(self.verdicts)} questions, "
                f"{right} right (score 1), {len(self.wrong)} not ({counts['missing']} missing, {counts['null']} null); "
                f"{self.unknown} prediction id(s) not in this config.")

    def show(self, ident: str) -> tuple[str, str]:
        """(the model's answer, the score line) for one row id."""
        verdict = self.verdicts.get(str(ident))
        if verdict is None:
            return "", "_this row is not a question of the loaded predictions' config_"
        if verdict.status == "missing":
            return "", f"**score 0.00** (wrong) under {self.protocol}: no prediction for this id"
        if verdict.status == "null":
            return "", f"**score 0.00** (wrong) under {self.protocol}: prediction is null (not attempted)"
        mark = "right" if verdict.score >= 1 else ("partly right" if verdict.score > 0 else "wrong")
        read = "" if verdict.extracted is None else f" · read as `{verdict.extracted}`"
        if not (verdict.prediction or "").strip():
            read += " · the answer is empty"
        return verdict.prediction or "", f"**score {verdict.score:.2f}** ({mark}) under {self.protocol}{read}"


def review(rows: dict[str, list[Any]], predictions: Predictions, config: str, protocol: str, name: str) -> Review:
    """Score `predictions` on the bench `rows` (id, task, question, answer) per question."""
    result = evaluate(rows, predictions.by_id, protocol)
    verdicts = {str(d["id"]): Verdict(predictions.by_id.get(d["id"]), float(d["score"]), d["extracted"], d["status"])
                for d in result.details}
    return Review(name, config, protocol, verdicts, len(result.unknown_ids))

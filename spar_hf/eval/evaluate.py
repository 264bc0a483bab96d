"""Score a predictions mapping against bench rows under one protocol, per question and per task.

Rules (docs/eval.md): a dataset id with no prediction scores 0 and is listed as missing; a
prediction id that is not in the dataset is listed as unknown and ignored; a null prediction
scores 0, except that a task whose predictions are all null is unscored ("-"), which is how
baselines mark the tasks the paper leaves out. Rows whose task is not one of the 20 are rejected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spar_hf.eval.aggregate import aggregate
from spar_hf.tasks.bench import BENCH_TASKS
from spar_hf.eval.protocols import get_scorer


@dataclass
class TaskResult:
    questions: int = 0
    predicted: int = 0
    missing: int = 0
    null: int = 0
    scores: list[float] = field(default_factory=list)

    @property
    def unscored(self) -> bool:
        return self.questions > 0 and self.null + self.missing == self.questions and self.null > 0

    @property
    def score(self) -> float | None:
        """Mean question score on 0-1; None when the task has no questions or is unscored."""
        if self.questions == 0 or self.unscored:
            return None
        return math.fsum(self.scores) / self.questions


@dataclass
class EvalResult:
    protocol: str
    tasks: dict[str, TaskResult]
    missing_ids: list[int]
    unknown_ids: list[int]
    rejected: list[dict[str, Any]]
    details: list[dict[str, Any]]

    @property
    def summary(self) -> dict[str, float | None]:
        """aggregate() of the per-task means: 20 tasks + Avg/Low/Medium/High on 0-100."""
        return aggregate({t: r.score for t, r in self.tasks.items()})

    @property
    def n_questions(self) -> int:
        return sum(r.questions for r in self.tasks.values())


def evaluate(
    rows: Mapping[str, Sequence[Any]],
    predictions: Mapping[int, str | None],
    protocol: str = "lmms-eval",
    *,
    progress: Iterable[int] | None = None,
) -> EvalResult:
    """`rows`: columns id, task, answer and optionally question (lists of equal length)."""
    scorer = get_scorer(protocol)
    ids, tasks, answers = rows["id"], rows["task"], rows["answer"]
    questions = rows.get("question") or [""] * len(ids)
    results = {task: TaskResult() for task in BENCH_TASKS}
    missing: list[int] = []
    rejected: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i in progress if progress is not None else range(len(ids)):
        ident, task = int(ids[i]), tasks[i]
        if ident in seen:
            rejected.append({"id": ident, "task": task, "reason": "duplicate id in dataset"})
            continue
        seen.add(ident)
        if task not in results:
            rejected.append({"id": ident, "task": task, "reason": "unknown task"})
            continue
        result = results[task]
        result.questions += 1
        if ident not in predictions:
            missing.append(ident)
            result.missing += 1
            result.scores.append(0.0)
            details.append({"id": ident, "task": task, "score": 0.0, "extracted": None, "status": "missing"})
            continue
        prediction = predictions[ident]
        if prediction is None:
            result.null += 1
            result.scores.append(0.0)
            details.append({"id": ident, "task": task, "score": 0.0, "extracted": None, "status": "null"})
            continue
        result.predicted += 1
        score, extracted = scorer(task, prediction, str(answers[i]), str(questions[i]))
        result.scores.append(score)
        details.append({"id": ident, "task": task, "score": score, "extracted": extracted, "status": "scored"})
    unknown = sorted(set(predictions) - seen)
    return EvalResult(protocol=protocol, tasks=results, missing_ids=sorted(missing), unknown_ids=unknown,
                      rejected=rejected, details=details)

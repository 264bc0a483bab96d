"""Table 4 summary from per-task scores: Low, Medium, High and Avg on a 0-100 scale.

Input: task -> mean question score on a 0-1 scale (as the scorers produce it); a task that is
absent or None is unscored. Output: every one of the 20 tasks and the four summaries, on 0-100,
None where unscored. A level (and Avg) is reported only when all its tasks are scored, as the
paper prints "-" for the chance rows. Medium includes view_change_infer (the paper, not
lmms-eval's logged "middle"); Avg is the mean of the 20 task scores, not of the three levels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from spar_hf.tasks.bench import BENCH_TASKS, LEVELS

SUMMARY_KEYS: tuple[str, ...] = ("Avg", "Low", "Medium", "High")


def _mean(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return math.fsum(values) / len(values)


def level_means(task_scores: Mapping[str, float | None]) -> dict[str, float | None]:
    """Avg/Low/Medium/High on the same scale as the input (no rescaling)."""
    out: dict[str, float | None] = {"Avg": _mean([task_scores.get(t) for t in BENCH_TASKS])}
    for level, tasks in LEVELS.items():
        out[level] = _mean([task_scores.get(t) for t in tasks])
    return out


def aggregate(task_scores: Mapping[str, float | None]) -> dict[str, float | None]:
    """0-1 per-task means -> {"Avg", "Low", "Medium", "High", <20 tasks>} on 0-100 (None = unscored).

    Tasks other than the 20 bench tasks raise ValueError (a typo would otherwise vanish silently).
    """
    unknown = sorted(set(task_scores) - set(BENCH_TASKS))
    if unknown:
        raise ValueError(f"not SPAR-Bench tasks: {', '.join(unknown)}")
    scaled = {t: (None if task_scores.get(t) is None else 100.0 * task_scores[t]) for t in BENCH_TASKS}
    return {**level_means(scaled), **scaled}

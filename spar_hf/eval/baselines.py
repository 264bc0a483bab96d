"""Chance-level baselines for SPAR-Bench, as the paper's two "Chance Level" rows.

random: a uniformly drawn option letter for every multiple-choice question (letters read from
the question, see eval.extract.option_letters); numeric and view_change_infer questions get a
null prediction, so the report shows "-" for them as the paper does. Each question draws from
its own generator seeded by (seed, id), so a prediction never depends on row order.
frequency: for every question, the answer that occurs most often in its task; numeric tasks
count values (so "1.5" and "1.50" are one value). Ties go to the smallest value / first string.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from spar_hf.tasks.bench import BENCH_TASKS, CHOICE, NUMERIC, task_kind
from spar_hf.eval.extract import option_letters
from spar_hf.utils.rng import scene_rng

KINDS = ("random", "frequency")


def random_predictions(rows: Mapping[str, Sequence[Any]], seed: int = 0) -> dict[int, str | None]:
    """id -> uniform option letter (choice tasks) or None (numeric, VCI); rows of unknown tasks skipped."""
    out: dict[int, str | None] = {}
    for ident, task, question in zip(rows["id"], rows["task"], rows["question"]):
        if task not in BENCH_TASKS:
            continue
        if task_kind(task) != CHOICE:
            out[int(ident)] = None
            continue
        letters = option_letters(question)
        out[int(ident)] = letters[int(scene_rng(seed, str(int(ident)), "baseline-random").integers(len(letters)))]
    return out


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def most_frequent(task: str, answers: Sequence[str]) -> str | None:
    """The most frequent answer of a task (numeric: by value); None when nothing usable."""
    if task_kind(task) == NUMERIC:
        values = Counter(v for v in map(_float, answers) if v is not None and v == v)
        if not values:
            return None
        best = min(values, key=lambda v: (-values[v], v))
        return min(a for a in answers if _float(a) == best)
    counts = Counter(a.strip() for a in answers)
    if not counts:
        return None
    return min(counts, key=lambda a: (-counts[a], a))


def frequency_predictions(rows: Mapping[str, Sequence[Any]]) -> dict[int, str | None]:
    """id -> the most frequent answer of its task."""
    by_task: dict[str, list[str]] = {}
    for task, answer in zip(rows["task"], rows["answer"]):
        by_task.setdefault(task, []).append(str(answer))
    best = {task: most_frequent(task, answers) for task, answers in by_task.items() if task in BENCH_TASKS}
    return {int(ident): best[task] for ident, task in zip(rows["id"], rows["task"]) if task in best}


def baseline_predictions(kind: str, rows: Mapping[str, Sequence[Any]], seed: int = 0) -> dict[int, str | None]:
    if kind == "random":
        return random_predictions(rows, seed)
    if kind == "frequency":
        return frequency_predictions(rows)
    raise ValueError(f"unknown baseline {kind!r}; choose from {', '.join(KINDS)}")

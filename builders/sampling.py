"""SPAR-Bench sampling: which val records become bench rows, in which order.

The published bench has 20 tasks, up to 400 questions each, drawn from the val split; numeric
tasks appear in `fill` form and the others in `select` form (docs/formats.md "Bench packs"). The task list itself is
`spar_hf.tasks.bench.BENCH_TASKS`, which eval reads too. We draw with a fixed seed
and round-robin over answer letters and, within a letter, over scenes, so a task's questions are
spread over as many scenes as possible and the correct letters are as even as the pool allows.
Any prefix of the drawn order is itself balanced: bench-tiny is the first 50 of each task.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

import numpy as np

from spar_hf.tasks.bench import BENCH_TASKS
from spar_hf.utils.rng import scene_rng

# tasks scored by MRA / VCI on a number: bench takes them in `fill` form
FILL_TASKS: frozenset[str] = frozenset(
    [t for t in BENCH_TASKS if t.startswith(("depth_prediction", "distance_prediction"))] + ["view_change_infer"]
)
BENCH_SPLIT = "val"
BENCH_PER_TASK = 400
TINY_PER_TASK = 50
BENCH_SEED = 20250328  # fixed: the same SPAR_DIR always gives the same bench


def bench_format(task: str) -> str:
    """The format a bench task is asked in: `fill` for numeric tasks, `select` otherwise."""
    return "fill" if task in FILL_TASKS else "select"


def is_bench_candidate(task: str, fmt: str, split: str) -> bool:
    return split == BENCH_SPLIT and task in BENCH_TASKS and fmt == bench_format(task)


def img_type(n_images: int) -> str:
    """The hub column `img_type`: single_view for one image, multi_view otherwise."""
    return "single_view" if n_images == 1 else "multi_view"


def answer_letter(answer: str) -> str:
    """The option letter of a select answer ("B", "B. 1.2 m" -> "B"); empty when there is none."""
    text = answer.strip()
    return text[:1].upper() if text[:1].isalpha() else ""


@dataclass(frozen=True)
class Candidate:
    """One val record eligible for the bench; `ref` is whatever the caller needs to fetch it back."""

    id: str
    task: str
    scene: str
    answer: str
    ref: Hashable


def select_task(candidates: Sequence[Candidate], n: int, seed: int = BENCH_SEED) -> list[Candidate]:
    """Draw up to `n` candidates of one task, balanced over answer letters and scenes.

    Items are grouped by letter (fill answers form one group) then scene; each (letter, scene)
    list and each letter's scene order is shuffled by a generator seeded from `seed` and the task
    name. Rounds take one item per letter, each letter cycling through its scenes.
    """
    if not candidates:
        return []
    task = candidates[0].task
    rng = scene_rng(seed, task, "bench")
    groups: dict[str, dict[str, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
    fill = bench_format(task) == "fill"
    for cand in sorted(candidates, key=lambda c: c.id):
        groups["" if fill else answer_letter(cand.answer)][cand.scene].append(cand)
    queues: dict[str, list[list[Candidate]]] = {}
    for letter in sorted(groups):
        scenes = sorted(groups[letter])
        order = rng.permutation(len(scenes))
        lists = []
        for i in order:
            items = groups[letter][scenes[i]]
            lists.append([items[j] for j in rng.permutation(len(items))])
        queues[letter] = lists
    pointer = {letter: 0 for letter in queues}
    chosen: list[Candidate] = []
    while len(chosen) < n and any(any(lst) for lst in queues.values()):
        for letter, lists in queues.items():
            if len(chosen) >= n:
                break
            for _ in range(len(lists)):
                lst = lists[pointer[letter] % len(lists)]
                pointer[letter] += 1
                if lst:
                    chosen.append(lst.pop(0))
                    break
    return chosen


def select_bench(candidates: Iterable[Candidate], per_task: int = BENCH_PER_TASK, seed: int = BENCH_SEED) -> list[Candidate]:
    """All bench rows in output order: tasks in BENCH_TASKS order, each drawn by `select_task`."""
    by_task: dict[str, list[Candidate]] = defaultdict(list)
    for cand in candidates:
        by_task[cand.task].append(cand)
    out: list[Candidate] = []
    for task in BENCH_TASKS:
        out.extend(select_task(by_task.get(task, []), per_task, seed))
    return out


def tiny_subset(rows: Sequence[Candidate], per_task: int = TINY_PER_TASK) -> list[Candidate]:
    """The first `per_task` rows of each task of a drawn bench (still balanced: prefixes are)."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for row in rows:
        if seen[row.task] < per_task:
            seen[row.task] += 1
            out.append(row)
    return out


def letter_counts(rows: Iterable[Candidate]) -> dict[str, int]:
    """Answer-letter histogram (for the card and tests)."""
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[answer_letter(row.answer)] += 1
    return dict(sorted(counts.items()))


def spread(values: Iterable[int]) -> int:
    """max - min of a histogram's counts (0 = perfectly even)."""
    arr = np.fromiter(values, dtype=np.int64)
    return int(arr.max() - arr.min()) if arr.size else 0

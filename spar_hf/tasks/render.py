"""Rendering a question and its answer from `templates.py`: template choices are drawn once and kept in
meta, so rendering is a pure function that `verify` repeats and compares.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from spar_hf.tasks import templates as T
from spar_hf.tasks.primitives import rand_index
from spar_hf.tasks.taskdef import LETTERS, Facts, TaskDef
from spar_hf.tasks.values import JUDGE_PHRASES, OPPOSITE


@lru_cache(maxsize=None)
def stems_for(key: str, fmt: str) -> list[str]:
    """The question stems of a template key for one format (a "<key>:<format>" pool wins)."""
    return T.STEMS.get(f"{key}:{fmt}") or T.STEMS[key]


def _stems(task: TaskDef, fmt: str) -> list[str]:
    return stems_for(task.stems, fmt)


def choose(task: TaskDef, fmt: str, facts: Facts, rng: np.random.Generator) -> dict | None:
    """Random phrasing choices (and select options) for one record; None when no distractors exist."""
    q: dict[str, Any] = {"stem": rand_index(rng, len(_stems(task, fmt)))}
    if task.mv_note:
        q["mv"] = rand_index(rng, len(T.MV_NOTES[task.mv_note]))
    if fmt == "select":
        n = task.n_options
        truth = facts.select_truth or facts.truth
        others = facts.options(rng, n - 1) if facts.options else None
        if not others or len(set(others)) != n - 1 or truth in others:
            return None
        at = rand_index(rng, n)
        q["options"] = others[:at] + [truth] + others[at:]
        q["lead"] = rand_index(rng, len(T.SELECT_LEAD))
    elif fmt == "fill":
        q["instr"] = rand_index(rng, len(T.FILL[task.fill]))
    elif fmt == "sentence":
        q["instr"] = rand_index(rng, len(T.SENTENCE_INSTR))
        q["answer"] = rand_index(rng, len(T.ANSWERS[task.answers]))
    elif fmt == "judge":
        axes = [k for k, p in enumerate(facts.parts) if p]
        if not axes:
            return None
        axis = axes[rand_index(rng, len(axes))]
        yes = rand_index(rng, 2) == 1
        q["judge"] = {"axis": axis, "word": facts.parts[axis] if yes else OPPOSITE[facts.parts[axis]]}
        q["instr"] = rand_index(rng, len(T.JUDGE_INSTR))
    return q


def render(task: TaskDef, fmt: str, facts: Facts, q: dict) -> tuple[str, str]:
    """(question, answer) from facts and stored choices; pure, so verify can repeat it."""
    fields = dict(facts.fields)
    if fmt == "judge":
        fields["rel"] = JUDGE_PHRASES[q["judge"]["word"]]
    pieces = [_stems(task, fmt)[q["stem"]].format(**fields)]
    if task.center_note:
        pieces.append(T.CENTER_NOTE)
    if task.unit_note:
        pieces.append(T.UNIT_NOTE)
    if task.mv_note:
        pieces.append(T.MV_NOTES[task.mv_note][q["mv"]])
    if fmt == "select":
        # the release's layout: notes, lead, each option and the closing sentence on lines of their own
        opts = q["options"]
        lines = [" ".join(pieces), *T.SELECT_NOTES.get(task.select_note or "", ()), T.SELECT_LEAD[q["lead"]]]
        lines += [f"{LETTERS[k]}. {o}" for k, o in enumerate(opts)]
        lines.append(select_instruction(len(opts)))
        truth = facts.select_truth or facts.truth
        return "\n".join(lines), LETTERS[opts.index(truth)] if truth in opts else "?"
    if fmt == "fill":
        pieces.append(T.FILL[task.fill][q["instr"]])
        answer = facts.truth
    elif fmt == "sentence":
        pieces.append(T.SENTENCE_INSTR[q["instr"]])
        answer = T.ANSWERS[task.answers][q["answer"]].format(**fields)
        answer = answer[0].upper() + answer[1:]
    elif fmt == "judge":
        pieces.append(T.JUDGE_INSTR[q["instr"]])
        answer = "Yes" if facts.parts[q["judge"]["axis"]] == q["judge"]["word"] else "No"
    else:
        raise ValueError(f"unknown format {fmt}")
    return " ".join(pieces), answer


def select_instruction(n: int) -> str:
    """The closing sentence of a select question (the release's wording)."""
    if n == 2:
        return "Your answer can only include one of options A, B."
    return "Your answer can only include one of options " + ", ".join(LETTERS[: n - 1]) + f" or {LETTERS[n - 1]}."

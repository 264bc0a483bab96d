"""The three scoring protocols: one function per protocol, (task, prediction, answer, question) -> score.

"lmms-eval" reproduces lmms_eval/tasks/sparbench/utils.py as intended (with `partial` imported; the
0.7.3 wheel lost that import and scores every numeric question 0), quirks included.
"vlmevalkit" reproduces VLMEvalKit's SparBench rule-based scoring (no LLM judge).
"strict" is ours: docs/eval.md "Protocols". Every scorer returns (score in [0, 1], extracted),
where `extracted` is what was read from the prediction (for the per-question details file).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import spar_hf.eval.extract as extract
import spar_hf.eval.scores as scores
from spar_hf.tasks.bench import CHOICE, MV_NUMERIC_TASKS, NUMERIC, task_kind

Scorer = Callable[[str, str, str, str], tuple[float, Any]]


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def score_lmms_eval(task: str, prediction: str, answer: str, question: str = "") -> tuple[float, Any]:
    """lmms-eval: first/last unsigned number, substring choice match, VCI with gt and pred swapped."""
    kind = task_kind(task)
    if kind == CHOICE:
        return scores.lmms_choice(prediction, answer), prediction
    if kind == NUMERIC:
        value = extract.lmms_number(prediction, last=task in MV_NUMERIC_TASKS)
        gold = _float_or_none(answer)
        if value is None or gold is None:
            return 0.0, value
        return scores.mra(value, gold), value
    motion = extract.lmms_vci(prediction)
    gold_motion = extract.lmms_vci(answer)
    if motion is None or gold_motion is None:
        return 0.0, motion
    return scores.vci(motion, gold_motion, swapped=True), motion


def score_vlmevalkit(task: str, prediction: str, answer: str, question: str = "") -> tuple[float, Any]:
    """VLMEvalKit: option-letter cascade, signed last number, lenient VCI in the right argument order."""
    kind = task_kind(task)
    if kind == CHOICE:
        letter = extract.vlmevalkit_option(prediction)
        gold = extract.vlmevalkit_option(answer.strip())
        # VLMEvalKit compares str() of its results, so "no letter" equals "no letter".
        hit = str(letter if letter is not None else False).lower() == str(gold if gold is not None else False).lower()
        return float(hit), letter
    if kind == NUMERIC:
        value = extract.vlmevalkit_number(prediction)
        gold = _float_or_none(answer)
        if value is None or gold is None or math.isnan(gold):
            return 0.0, value
        return scores.mra(value, gold), value
    motion = extract.vlmevalkit_vci(prediction)
    return scores.vci(motion, extract.vlmevalkit_vci(answer), swapped=False), motion


def score_strict(task: str, prediction: str, answer: str, question: str = "") -> tuple[float, Any]:
    """Ours: empty scores 0, signed numbers, first standalone option letter, lenient VCI keys."""
    if not prediction.strip():
        return 0.0, None
    kind = task_kind(task)
    if kind == CHOICE:
        gold = answer.strip().upper()
        letters = extract.option_letters(question)
        if len(gold) == 1 and gold not in letters:
            letters += gold
        letter = extract.strict_option(prediction, letters)
        return float(letter is not None and letter == gold), letter
    if kind == NUMERIC:
        value = extract.strict_number(prediction)
        gold = _float_or_none(answer)
        if value is None or gold is None or not math.isfinite(gold):
            return 0.0, value
        return scores.mra(value, gold), value
    motion = extract.strict_vci(prediction)
    gold_motion = extract.strict_vci(answer)
    if not motion or not gold_motion:
        return 0.0, motion or None
    return scores.vci(motion, gold_motion, swapped=False), motion


PROTOCOLS: dict[str, Scorer] = {
    "lmms-eval": score_lmms_eval,
    "vlmevalkit": score_vlmevalkit,
    "strict": score_strict,
}


def get_scorer(protocol: str) -> Scorer:
    try:
        return PROTOCOLS[protocol]
    except KeyError:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}") from None


def score_question(protocol: str, task: str, prediction: str, answer: str, question: str = "") -> float:
    """Score of one prediction under `protocol` (0..1)."""
    return get_scorer(protocol)(task, prediction, answer, question)[0]

"""SpatialForge's six tasks: names, accepted aliases, inference from the question, and QA format.

A record's task comes from its task field when it has one (aliases below); otherwise it is
inferred from the question with the keyword rules of `infer_task`, checked in this order:

1. perspective  - "perspective", "point of view", "viewpoint", "from the view of", "their/his/her left|right"
2. counting     - "how many", "count", "number of"
3. grounding    - the answer holds a box and the question asks to locate: "locate", "detect", "find",
                  "bounding box", "bbox", "ground", "where is", "where are", "coordinates", "output the box"
4. near_far     - "closer", "closest", "nearer", "nearest", "farther", "farthest", "further", "furthest",
                  "depth", "distance to the camera"
5. left_right   - the words "left" or "right"
6. referring    - the question holds a box and asks what it is: "describe", "what", "which object",
                  "refer", "region", "identify", "name", "category"
anything else is rejected as `unknown_task`.
"""

from __future__ import annotations

import re
from functools import lru_cache

TASKS = ("grounding", "referring", "counting", "near_far", "left_right", "perspective")

ALIASES = {
    "grounding": "grounding", "ground": "grounding", "visual_grounding": "grounding", "detection": "grounding",
    "referring": "referring", "refer": "referring", "region_caption": "referring", "referring_expression": "referring",
    "counting": "counting", "count": "counting",
    "near_far": "near_far", "nearfar": "near_far", "depth": "near_far", "relative_depth": "near_far",
    "left_right": "left_right", "leftright": "left_right", "horizontal": "left_right",
    "perspective": "perspective", "perspective_taking": "perspective", "viewpoint": "perspective",
}


def _rule(*alternatives: str) -> re.Pattern:
    """One regex matching any of the alternatives, each written to start with its literal first letter
    (a leading `\\b` becomes the same test as a lookbehind after that letter, `\\bleft` -> `l(?<!\\wl)eft`):
    the regex engine then skips every position that cannot start a match instead of trying each one."""
    return re.compile("|".join(rf"{a[2]}(?<!\w{a[2]}){a[3:]}" if a.startswith(r"\b") else a for a in alternatives))


def _words(*words: str) -> list[str]:
    return [rf"\b{w}\b" for w in words]


_PERSPECTIVE = _rule("perspective", "point of view", "viewpoint", "from the view of",
                     *_words(*(f"{who} {side}" for who in ("their", "his", "her") for side in ("left", "right"))))
_COUNTING = _rule(*_words("how many", "count", "number of"))
_GROUNDING = _rule(*_words("locate", "detect", "find"), "bounding box", r"\bbbox", r"\bground", r"\bwhere (?:is|are)\b",
                   "coordinates", "output the box")
_NEAR_FAR = _rule(*_words("closer", "closest", "nearer", "nearest", "farther", "farthest", "further", "furthest", "depth"),
                  "distance to the camera")
_LEFT_RIGHT = _rule(*_words("left", "right"))
_REFERRING = _rule(*_words("describe", "what"), "which object", r"\brefer", *_words("region", "identify", "name", "category"))
_OPTIONS = re.compile(r"(?:^|\s)\(?[A-D][.)]\s", re.M)
# What an answer starts with, in one match (the three cannot overlap): yes/no, an option letter, or
# (the whole answer) a bare number.
_ANSWER_KIND = re.compile(r"^\s*(?:(?P<judge>(?i:yes|no)\b)|(?P<select>\(?[A-D](?:[.):]|\s*$))"
                          r"|(?P<number>[-+]?\d+(?:\.\d+)?\s*\.?\s*$))")
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_task(value: object) -> str | None:
    """A task field value -> one of TASKS, or None if it is not a known name or alias."""
    if value is None:
        return None
    text = value if type(value) is str else str(value)
    return _normalise_short(text) if len(text) <= 64 else _normalise(text)


def _normalise(text: str) -> str | None:
    key = _SEPARATORS.sub("_", text.strip().lower())
    if key.startswith("spatialforge_"):
        key = key[len("spatialforge_"):]
    return ALIASES.get(key)


_normalise_short = lru_cache(maxsize=4096)(_normalise)  # a dataset spells its few tasks the same way every time


# Substrings every match of the rule's regex contains: a cheap test before the regex runs.
_TRIGGERS = {
    "perspective": ("perspective", "view", "their ", "his ", "her "),
    "counting": ("how many", "count", "number of"),
    "grounding": ("locate", "detect", "find", "box", "ground", "where", "coordinates"),
    "near_far": ("close", "near", "far", "furth", "depth", "distance"),
    "left_right": ("left", "right"),
    "referring": ("describe", "what", "which object", "refer", "region", "identify", "name", "category"),
}
_RULES = tuple((task, _TRIGGERS[task], rule) for task, rule in (
    ("perspective", _PERSPECTIVE), ("counting", _COUNTING), ("grounding", _GROUNDING),
    ("near_far", _NEAR_FAR), ("left_right", _LEFT_RIGHT), ("referring", _REFERRING)))
# The rules that can apply, by (no box in the question, no box in the answer): grounding needs an
# answer box, referring a question box.
_APPLICABLE = {(no_q, no_a): tuple(r for r in _RULES if not (r[0] == "grounding" and no_a or r[0] == "referring" and no_q))
               for no_q in (False, True) for no_a in (False, True)}


def infer_task(question: str, question_has_box: bool, answer_has_box: bool) -> str | None:
    """The task from the question text (rules in the module docstring); None if no rule matches."""
    q = question.lower()
    for task, triggers, rule in _APPLICABLE[not question_has_box, not answer_has_box]:
        for trigger in triggers:
            if trigger in q:
                if rule.search(q):
                    return task
                break
    return None


def infer_format(task: str, question: str, answer: str) -> str:
    """SPAR format folder for a QA: `judge` for yes/no answers, `select` for lettered options,
    `fill` for grounding, counting and bare numbers, `sentence` otherwise."""
    match = _ANSWER_KIND.match(answer)
    kind = match.lastgroup if match else None
    if kind == "judge":
        return "judge"
    if kind == "select" and (len(answer.strip()) <= 3 or _OPTIONS.search(question)):
        return "select"
    if task in ("grounding", "counting") or kind == "number":
        return "fill"
    return "sentence"

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

TASKS = ("grounding", "referring", "counting", "near_far", "left_right", "perspective")

ALIASES = {
    "grounding": "grounding", "ground": "grounding", "visual_grounding": "grounding", "detection": "grounding",
    "referring": "referring", "refer": "referring", "region_caption": "referring", "referring_expression": "referring",
    "counting": "counting", "count": "counting",
    "near_far": "near_far", "nearfar": "near_far", "depth": "near_far", "relative_depth": "near_far",
    "left_right": "left_right", "leftright": "left_right", "horizontal": "left_right",
    "perspective": "perspective", "perspective_taking": "perspective", "viewpoint": "perspective",
}

_PERSPECTIVE = re.compile(r"perspective|point of view|viewpoint|from the view of|\b(?:their|his|her) (?:left|right)\b")
_COUNTING = re.compile(r"\bhow many\b|\bcount\b|\bnumber of\b")
_GROUNDING = re.compile(r"\blocate\b|\bdetect\b|\bfind\b|bounding box|\bbbox|\bground|\bwhere (?:is|are)\b|coordinates|output the box")
_NEAR_FAR = re.compile(r"\b(?:closer|closest|nearer|nearest|farther|farthest|further|furthest)\b|\bdepth\b|distance to the camera")
_LEFT_RIGHT = re.compile(r"\b(?:left|right)\b")
_REFERRING = re.compile(r"\bdescribe\b|\bwhat\b|which object|\brefer|\bregion\b|\bidentify\b|\bname\b|\bcategory\b")
_YES_NO = re.compile(r"^\s*(?:yes|no)\b", re.I)
_OPTIONS = re.compile(r"(?:^|\s)\(?[A-D][.)]\s", re.M)
_SELECT = re.compile(r"^\s*\(?[A-D](?:[.):]|\s*$)")
_NUMBER = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?\s*\.?\s*$")


def normalise_task(value: object) -> str | None:
    """A task field value -> one of TASKS, or None if it is not a known name or alias."""
    if value is None:
        return None
    key = re.sub(r"[\s\-]+", "_", str(value).strip().lower())
    if key.startswith("spatialforge_"):
        key = key[len("spatialforge_"):]
    return ALIASES.get(key)


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


def infer_task(question: str, question_has_box: bool, answer_has_box: bool) -> str | None:
    """The task from the question text (rules in the module docstring); None if no rule matches."""
    q = question.lower()
    for task, triggers, rule in _RULES:
        if task == "grounding" and not answer_has_box or task == "referring" and not question_has_box:
            continue
        for trigger in triggers:
            if trigger in q:
                if rule.search(q):
                    return task
                break
    return None


def infer_format(task: str, question: str, answer: str) -> str:
    """SPAR format folder for a QA: `judge` for yes/no answers, `select` for lettered options,
    `fill` for grounding, counting and bare numbers, `sentence` otherwise."""
    if _YES_NO.match(answer):
        return "judge"
    if _SELECT.match(answer) and (len(answer.strip()) <= 3 or _OPTIONS.search(question)):
        return "select"
    if task in ("grounding", "counting") or _NUMBER.match(answer):
        return "fill"
    return "sentence"

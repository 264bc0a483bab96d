"""The text a model is shown for one SPAR-Bench question, exactly as lmms-eval's sparbench builds it.

lmms-eval (and VLMEvalKit's SparBench, which copies it) joins the parts with "\n" even when a part
is empty, so the default prompt starts with a newline and view_change_infer ends with two. Those
bytes are kept: a model evaluated elsewhere saw them.
"""

from __future__ import annotations

from spar_hf.tasks.bench import CHOICE, NUMERIC, VCI, task_kind

NUMERIC_POST = "Please answer the question using a single word or phrase."
CHOICE_POST = "Answer with the option's letter from the given choices directly."
COORDINATE_NOTE = (
    "The values represent the bounding box coordinates normalized to a 0-1000 scale, "
    "with the top-left corner as the origin of the image."
)
COORDINATE_TASKS = frozenset(("position_matching", "camera_motion_infer"))

# lmms-eval's per-model `na_post_prompt` overrides (sparbench _default_template_yaml); the
# multiple-choice suffix is hard-coded in its doc_to_text, so the variants only change numeric tasks.
VARIANTS: dict[str, str] = {
    "default": NUMERIC_POST,
    "gpt4v": "Do not response anything other than a single number!",
    "gemini_api": "Do not response anything other than a single number!",
}


def build_prompt(task: str, question: str, *, variant: str = "default", pre_prompt: str = "") -> str:
    """Prompt for one question; `task` must be one of the 20 bench tasks (KeyError otherwise)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown prompt variant {variant!r}; choose from {sorted(VARIANTS)}")
    kind = task_kind(task)
    if kind == NUMERIC:
        return pre_prompt + "\n" + question + "\n" + VARIANTS[variant]
    if kind == CHOICE:
        note = COORDINATE_NOTE if task in COORDINATE_TASKS else ""
        return pre_prompt + "\n" + question + "\n" + note + "\n" + CHOICE_POST
    assert kind == VCI
    return pre_prompt + "\n" + question + "\n\n"


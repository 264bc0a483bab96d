"""nav_video: fill the action words masked out of an RxR-style route instruction (paper 7.5
"Navigation"), given the route's frames as a video.

Masking: every occurrence of an ACTION_PHRASES entry (case-insensitive, whole words, longest
phrase first, so "turn left" is one blank rather than "left") becomes a numbered blank `[k]`.
The answer is the full instruction with the blanks filled (sentence format); `meta.value`
lists the masked phrases in order. Routes whose instruction holds no action phrase are skipped.
Only NavScenes (spar_hf.scene.rxr) produce records.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from spar_hf.records import QARecord, SceneRecords
from spar_hf.tasks._videoqa import RecordMaker, pick, skip, video_paths
from spar_hf.tasks.registry import TaskSpec
from spar_hf.layout.paths import video_image

TASK = "nav_video"
ACTION_PHRASES = (
    "turn left", "turn right", "turn around", "turn slightly left", "turn slightly right",
    "go straight", "walk straight", "keep going straight", "continue straight", "straight ahead",
    "go forward", "walk forward", "move forward", "go back", "walk back",
    "on your left", "on your right", "to your left", "to your right", "on the left", "on the right",
    "to the left", "to the right", "on your left side", "on your right side", "in front of you", "behind you",
    "take a left", "take a right", "make a left", "make a right", "veer left", "veer right", "bear left", "bear right",
    "slightly left", "slightly right", "go up", "go down", "upstairs", "downstairs",
)
_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in sorted(ACTION_PHRASES, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
QUESTIONS = (
    "These frames follow a route through a building. In the guide's instruction below, the action words were replaced by numbered blanks: \"{masked}\" Fill in every blank so that the instruction matches the route.",
    "Watch the walk in the video. Complete the navigation instruction by filling each numbered blank with the missing direction or action: \"{masked}\"",
)


def mask_instruction(text: str) -> tuple[str, list[str]]:
    """Replace each action phrase by `[k]` (k from 1); returns (masked text, phrases in order as written)."""
    phrases: list[str] = []

    def repl(m: re.Match) -> str:
        phrases.append(m.group(0))
        return f"[{len(phrases)}]"

    return _PATTERN.sub(repl, text), phrases


def fill_blanks(masked: str, phrases: list[str]) -> str:
    """Inverse of mask_instruction."""
    return re.sub(r"\[(\d+)\]", lambda m: phrases[int(m.group(1)) - 1], masked)


def generate(records: SceneRecords, rng: np.random.Generator, config: Any = None) -> list[QARecord]:
    scene = records.scene
    instruction = getattr(scene, "instruction", "")
    if not instruction:
        return []
    masked, phrases = mask_instruction(instruction)
    if not phrases:
        skip(config, "nav_video: no_action_phrase")
        return []
    if records.video:
        images = video_paths(records)
        frames = [rec.frame_index for rec in records.video]
    else:
        frames = list(scene.clip)
        images = [video_image(scene.id, i, idx) for i, idx in enumerate(frames)]
    meta = {"frames": frames, "objects": [], "instruction_id": scene.instruction_id, "path_id": scene.path_id,
            "language": scene.language, "viewpoints": list(scene.path), "instruction": instruction, "value": phrases}
    question = pick(rng, QUESTIONS).format(masked=masked)
    return [RecordMaker(records, TASK).make("sentence", question, instruction, images, meta)]


def verify(record: QARecord, lookup: Any = None) -> list[str]:
    original = record.meta["instruction"]
    masked, phrases = mask_instruction(original)
    findings = []
    if phrases != list(record.meta["value"]):
        findings.append(f"mismatch: masking gives {phrases}, meta says {record.meta['value']}")
    if masked not in record.question:
        findings.append("mismatch: the question does not hold the masked instruction")
    if record.answer != fill_blanks(masked, phrases):
        findings.append("mismatch: answer is not the instruction with its blanks filled")
    return findings


TASKS = [TaskSpec(name=TASK, family="nav", view="video", formats=("sentence",), generate=generate, verify=verify)]

"""One SPAR-Bench question as an OpenAI-style chat request: the protocol's prompt and the row's images.

Every protocol shows the same text (`spar_hf.eval.prompts.build_prompt`, lmms-eval's wording, which
VLMEvalKit's SparBench copies); they differ in where the images go, as each harness sends them to
an OpenAI-compatible server: lmms-eval's `openai` model puts the text first and then the images,
VLMEvalKit's GPT wrapper keeps its message order (images, then text), and `strict` sends images
first too. Images go as base64 data URLs of the dataset's own bytes (not re-encoded), in row order.
"""

from __future__ import annotations

import base64
from typing import Any

from spar_hf.eval.bench_data import MIME, image_extension
from spar_hf.eval.prompts import build_prompt

TEXT_FIRST = {"lmms-eval": True, "vlmevalkit": False, "strict": False}
PROTOCOLS = tuple(TEXT_FIRST)


def data_url(data: bytes) -> str:
    """`data:<mime>;base64,...` with the MIME type read from the file's magic bytes."""
    return f"data:{MIME[image_extension(data)]};base64,{base64.b64encode(data).decode('ascii')}"


def chat_messages(protocol: str, task: str, question: str, images: list[bytes]) -> list[dict[str, Any]]:
    """The `messages` of one chat request: one user turn with the prompt and every image."""
    if protocol not in TEXT_FIRST:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    text = [{"type": "text", "text": build_prompt(task, question)}]
    pictures = [{"type": "image_url", "image_url": {"url": data_url(data)}} for data in images]
    content = text + pictures if TEXT_FIRST[protocol] else pictures + text
    return [{"role": "user", "content": content}]

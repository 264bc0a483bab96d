"""Qwen-VL fine-tuning export (the `qwen-vl-finetune` data format): a JSON list of
`{"image": path | [paths], "conversations": [{"from": "human", "value": "<image>\n..."}, {"from": "gpt", ...}]}`
with exactly one `<image>` tag per image, in image order (the loader pairs them by position).

Paths are relative to SPAR_DIR (the loader's `data_path`), or with `--draw-markers` to the output folder. SpatialForge boxes are written in the
chosen box style: `qwen3` (0..1000, as ingested) or `qwen25` (pixels of the resized input).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from spar_hf.export.common import SPATIALFORGE_SOURCE, ExportRecord, export_chat, marker_fields, tag_question

FILE_NAME = "spar_qwen.json"
BOX_STYLES = ("qwen3", "qwen25")


def qwen_record(item: ExportRecord, images: list[str], box_style: str = "qwen3") -> dict[str, Any]:
    rec = item.record
    question, answer = tag_question(rec), rec.answer
    if rec.source == SPATIALFORGE_SOURCE and box_style != "qwen3":
        from spar_hf.export.boxes import convert_text  # deferred, compiled module, only for box formats

        width, height = item.sizes[0]
        question = convert_text(question, box_style, width, height)
        answer = convert_text(answer, box_style, width, height)
    out: dict[str, Any] = {"id": f"{rec.source}/{rec.id}", "image": images[0] if len(images) == 1 else images}
    out["conversations"] = [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    out.update(marker_fields(rec))
    return out


def export_qwen(spar_dir: str, out_dir: str, mix_spec: str | None,
                reject: Callable[[str, str | None, int | None, str | None], None],
                progress: Callable[[int], None] = lambda n: None, box_style: str = "qwen3", draw_markers: bool = False) -> dict:
    return export_chat(spar_dir, out_dir, mix_spec, FILE_NAME, partial(qwen_record, box_style=box_style), reject, progress,
                       draw_markers)

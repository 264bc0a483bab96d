"""LLaVA fine-tuning export: one JSON list, `<image>` tags in the first human turn, one per image.

Paths are relative to SPAR_DIR (train with `--image_folder SPAR_DIR`), or with `--draw-markers` to the
output folder (images copied there with the markers drawn); single-image records give
`image` as a string (LLaVA-1.5), multi-image ones as a list (LLaVA-OneVision / NeXT-Interleave).
"""

from __future__ import annotations

from typing import Any, Callable

from spar_hf.export.common import ExportRecord, export_chat, marker_fields, tag_question

FILE_NAME = "spar_llava.json"


def llava_record(item: ExportRecord, images: list[str]) -> dict[str, Any]:
    rec = item.record
    out: dict[str, Any] = {"id": f"{rec.source}/{rec.id}", "image": images[0] if len(images) == 1 else images}
    out["conversations"] = [{"from": "human", "value": tag_question(rec)}, {"from": "gpt", "value": rec.answer}]
    out.update(marker_fields(rec))
    return out


def export_llava(spar_dir: str, out_dir: str, mix_spec: str | None,
                 reject: Callable[[str, str | None, int | None, str | None], None],
                 progress: Callable[[int], None] = lambda n: None, draw_markers: bool = False) -> dict:
    return export_chat(spar_dir, out_dir, mix_spec, FILE_NAME, llava_record, reject, progress, draw_markers)

"""InternVL training export: per-(task, format) annotation JSONL plus the release's index JSON.

Index (docs/build.md, the exports; the release's `generate_data_json` + `mix_data`): one file per source,
`<source>_<total//1000>k.json` (total = annotation lines of that source before mixing), mapping
`"<source>_<task>_<format>"` to `{"root", "annotation", "repeat_time", "length"}`. Only the train
split is indexed. Records carry `<image>` tags (one per image, `Frame-i:` for video), width/height
(or the `_list` forms) and the marker fields; SpatialForge boxes become `<ref>..</ref><box>..</box>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from spar_hf.export.common import (
    SPATIALFORGE_SOURCE,
    ExportRecord,
    iter_train,
    joined,
    marker_fields,
    parse_mix,
    repeat_time,
    tag_question,
)
from spar_hf.layout.reader import SparLayout
from spar_hf.utils.atomic import atomic_open, atomic_write_text


def internvl_record(item: ExportRecord) -> dict[str, Any]:
    """One InternVL chat record (ValueError when its `<image>` tags cannot match its images)."""
    rec = item.record
    question, answer = tag_question(rec), rec.answer
    if rec.source == SPATIALFORGE_SOURCE:
        from spar_hf.export.boxes import convert_text  # deferred, compiled module, only for box formats

        question, answer = convert_text(question, "internvl"), convert_text(answer, "internvl")
    out: dict[str, Any] = {"id": rec.id}
    if len(rec.images) == 1:
        out["image"] = rec.images[0]
        out["width"], out["height"] = item.sizes[0]
    else:
        out["image"] = list(rec.images)
        out["width_list"] = [w for w, _ in item.sizes]
        out["height_list"] = [h for _, h in item.sizes]
    out["conversations"] = [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    out.update(marker_fields(rec))
    return out


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def export_internvl(spar_dir: str, out_dir: str, mix_spec: str | None,
                    reject: Callable[[str, str | None, int | None, str | None], None],
                    progress: Callable[[int], None] = lambda n: None) -> dict[str, Any]:
    """Write annotations and one index per source; returns {"written", "indexes", "mixed_total"}."""
    layout = SparLayout(spar_dir)
    mix = parse_mix(mix_spec, layout.sources())
    out = Path(out_dir)
    written, mixed_total, indexes = 0, 0, []
    for source in layout.sources():
        index: dict[str, dict[str, Any]] = {}
        current: tuple[str, str] | None = None
        ctx = handle = None
        counts: dict[tuple[str, str], int] = {}

        def close() -> None:
            if ctx is not None:
                ctx.__exit__(None, None, None)

        for item in iter_train(layout, reject, [source]):
            rec = item.record
            try:
                line = json.dumps(internvl_record(item), ensure_ascii=False)
            except ValueError as exc:
                reject(str(exc), str(item.entry.file), item.entry.line, rec.id)
                continue
            key = (rec.task, rec.format)
            if key != current:
                close()
                current = key
                ctx = atomic_open(out / "annotations" / source / rec.task / f"{rec.format}.jsonl", "w")
                handle = ctx.__enter__()
            handle.write(line + "\n")
            counts[key] = counts.get(key, 0) + 1
            written += 1
            progress(1)
        close()
        if not counts:
            continue
        for (task, fmt), n in sorted(counts.items()):
            r = repeat_time(mix, source, fmt)
            index[f"{source}_{task}_{fmt}"] = {
                "root": joined(spar_dir, source, "images"),
                "annotation": joined(out_dir, "annotations", source, task, f"{fmt}.jsonl"),
                "repeat_time": _number(r),
                "length": n,
            }
            mixed_total += int(n * r)
        total = sum(counts.values())
        for stale in out.glob(f"{source}_*k.json"):
            stale.unlink()
        name = f"{source}_{total // 1000}k.json"
        atomic_write_text(out / name, json.dumps(index, indent=2, ensure_ascii=False) + "\n")
        indexes.append(name)
    return {"written": written, "indexes": indexes, "mixed_total": mixed_total}

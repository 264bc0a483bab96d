"""A SPAR-Bench config as the TSV that VLMEvalKit's `SparBench` dataset class reads.

VLMEvalKit reads `$LMUData/<NAME>.tsv` with pandas (`read_csv(sep="\\t")`): `index` (our id),
`image` (base64 of the image file; several images as a Python list literal of them),
`question`, `answer`, `task`, plus the other hub columns. `image_path` names each image after
the SHA-1 of its bytes: VLMEvalKit writes the decoded images to `$LMUData/images/<NAME>/` once
and reuses any file already there, so content names keep a re-exported bench from being shown
the images of an earlier one. `.png`, so the pixels it saves are the dataset's, not a second
JPEG encoding. `data_config.json` is the `data` part of a `run.py --config` file that builds
the class on this TSV (a NAME of the class's own, SparBench or SparBench_tiny, would make it
download the official TSV over ours, so those names are refused).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spar_hf.errors import SparError
from spar_hf.eval.bench_data import HUB_COLUMNS, usable_rows
from spar_hf.utils.atomic import atomic_open, atomic_write_text
from spar_hf.utils.report import RejectLog

COLUMNS = ("index", "image", "image_path", "question", "answer", "task", "img_type", "format_type", "source")
OFFICIAL_NAMES = ("SparBench", "SparBench_tiny")
# strings pandas.read_csv turns into NaN by default: such a question or answer would not come back
PANDAS_NA = frozenset(("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
                       "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"))


def default_name(config: str) -> str:
    return "SparBench_local" if config == "bench" else f"SparBench_{config.removeprefix('bench-').replace('-', '_')}_local"


def _cell(values: list[str]) -> str:
    """One value as it is, several as the list literal VLMEvalKit's `toliststr` evaluates."""
    return values[0] if len(values) == 1 else repr(values)


def tsv_row(row: dict[str, Any], images: list[bytes]) -> list[Any]:
    encoded = [base64.b64encode(data).decode("ascii") for data in images]
    names = [f"{hashlib.sha1(data).hexdigest()}.png" for data in images]
    return [int(row["id"]), _cell(encoded), _cell(names), row["question"], row["answer"], row["task"], row["img_type"],
            row["format_type"], row["source"]]


def export_vlmevalkit(dataset: str | os.PathLike, config: str, out_dir: str | os.PathLike, name: str, rejects: RejectLog,
                      progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write OUT/<name>.tsv and OUT/data_config.json; returns {"written", "name", "tsv"}."""
    if name in OFFICIAL_NAMES or not name.replace("_", "").replace("-", "").isalnum():
        raise SparError(f"--name {name!r}: use letters, digits, '_' or '-', and not {' or '.join(OFFICIAL_NAMES)} "
                        "(VLMEvalKit would download its own TSV over that name)")
    out = Path(out_dir)
    tsv = out / f"{name}.tsv"
    written = 0
    with atomic_open(tsv, "w") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        for row, images in usable_rows(dataset, config, list(HUB_COLUMNS), rejects):
            record = {"id": int(row["id"]), "task": row["task"]}
            if not images:
                rejects.add("no image: VLMEvalKit drops rows without one", record=record)
                continue
            lost = [c for c in ("question", "answer") if row[c] is None or row[c] in PANDAS_NA]
            if lost:
                rejects.add(f"{lost[0]} {row[lost[0]]!r} would be read back by pandas as missing", record=record)
                continue
            writer.writerow(tsv_row(row, images))
            written += 1
            if progress:
                progress(1)
    atomic_write_text(out / "data_config.json",
                      json.dumps({"data": {name: {"class": "SparBench", "dataset": name}}}, indent=2) + "\n")
    return {"written": written, "name": name, "tsv": str(tsv)}

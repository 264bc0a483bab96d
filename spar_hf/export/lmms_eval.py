"""A SPAR-Bench config as an lmms-eval task folder: `lmms-eval --include_path DIR --tasks NAME`.

The folder is self-contained: `data/test-00000-of-00001.parquet` holds the rows in the hub
SPAR-Bench schema with the image files embedded (written with `datasets`, whatever way the source
dataset stores its images), `NAME.yaml` is the sparbench task pointed at that file, and
`utils.py` hands lmms-eval its own sparbench functions (prompt, images, scoring, aggregation),
so the run is lmms-eval's sparbench unchanged on our data. The yaml holds the Parquet's absolute
path (lmms-eval passes `data_files` to `datasets.load_dataset` as it is): export again after
moving the folder. The yaml is written last, so an interrupted export has no task to run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spar_hf import __version__
from spar_hf.errors import SparError
from spar_hf.eval.bench_data import HUB_COLUMNS, usable_rows
from spar_hf.eval.prompts import CHOICE_POST, VARIANTS
from spar_hf.utils.atomic import atomic_open, atomic_write_text
from spar_hf.utils.report import RejectLog

DATA_FILE = "data/test-00000-of-00001.parquet"
BATCH = 64  # rows per Parquet row group (a row holds its images)
# lmms-eval's sparbench names (lmms_eval/tasks/sparbench/utils.py); utils.py re-exports them
FUNCTIONS = ("process_docs", "sparbench_doc_to_visual", "sparbench_doc_to_text", "sparbench_process_results",
             "sparbench_aggregate_results")

UTILS = '''"""lmms-eval functions for this exported SPAR-Bench task: lmms-eval's own sparbench functions.

Written by spar-hf {version}. Prompts, scores and the aggregate are those of the installed
lmms-eval (lmms_eval/tasks/sparbench/utils.py); only the data (data/*.parquet) comes from spar-hf.
"""

import functools

try:
    from lmms_eval.tasks.sparbench import utils as _sparbench
except ImportError as exc:
    raise ImportError("this task runs lmms-eval's own sparbench functions: install an lmms-eval that ships "
                      "lmms_eval/tasks/sparbench (0.7.3 on PyPI does)") from exc

# lmms-eval 0.7.3 on PyPI lost `from functools import partial` in that module, so there every numeric
# question raises inside a try and scores 0; the name is put back so they score as intended.
if not hasattr(_sparbench, "partial"):
    _sparbench.partial = functools.partial

{assignments}
'''


def default_task_name(config: str) -> str:
    return "spar_hf_" + config.replace("-", "_")


def task_yaml(task: str, parquet: Path, source: str) -> str:
    """The task config: lmms-eval's sparbench settings (docs/eval.md "Prompts"), data from `parquet`."""
    variants = "".join(
        f"  {name}:\n    pre_prompt: \"\"\n    mca_post_prompt: {json.dumps(CHOICE_POST)}\n    na_post_prompt: {json.dumps(suffix)}\n"
        for name, suffix in VARIANTS.items())
    return (
        f"# SPAR-Bench ({source}) for lmms-eval, written by spar-hf {__version__}.\n"
        f"# Run: lmms-eval --include_path {json.dumps(str(parquet.parent.parent))} --tasks {task} --model ...\n"
        "# Prompts and scoring are lmms-eval's own sparbench functions (utils.py imports them).\n"
        f"task: {task}\n"
        "dataset_path: parquet\n"
        "dataset_kwargs:\n"
        "  data_files:\n"
        f"    test: {json.dumps(str(parquet))}\n"
        "test_split: test\n"
        "output_type: generate_until\n"
        "process_docs: !function utils.process_docs\n"
        "doc_to_visual: !function utils.sparbench_doc_to_visual\n"
        "doc_to_text: !function utils.sparbench_doc_to_text\n"
        "doc_to_target: answer\n"
        "generation_kwargs:\n"
        "  max_new_tokens: 100\n"
        "  temperature: 0\n"
        "  top_p: 1.0\n"
        "  num_beams: 1\n"
        "  do_sample: false\n"
        "process_results: !function utils.sparbench_process_results\n"
        "metric_list:\n"
        "  - metric: sparbench_score\n"
        "    aggregation: !function utils.sparbench_aggregate_results\n"
        "    higher_is_better: true\n"
        "lmms_eval_specific_kwargs:\n"
        f"{variants}"
        "metadata:\n"
        "  version: 0.0\n"
    )


def export_lmms_eval(dataset: str | os.PathLike, config: str, out_dir: str | os.PathLike, task: str, rejects: RejectLog,
                     progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write the task folder; returns {"written", "task", "yaml", "parquet"}."""
    import pyarrow as pa  # deferred, pyarrow: only for Parquet
    from datasets.arrow_writer import ParquetWriter

    from spar_hf.builders.spar import bench_features

    out = Path(out_dir).resolve()
    parquet = out / DATA_FILE
    written = 0
    with atomic_open(parquet, "wb", encoding=None) as handle:
        writer = ParquetWriter(features=bench_features(), stream=pa.PythonFile(handle, mode="w"), writer_batch_size=BATCH)
        for row, images in usable_rows(dataset, config, list(HUB_COLUMNS), rejects):
            row["image"] = [{"bytes": data, "path": None} for data in images]
            writer.write(row)
            written += 1
            if progress:
                progress(1)
        if not written:
            raise SparError(f"{dataset} (config {config}): no row to export")
        writer.finalize(close_stream=False)
    assignments = "\n".join(f"{name} = _sparbench.{name}" for name in FUNCTIONS)
    atomic_write_text(out / "utils.py", UTILS.format(version=__version__, assignments=assignments))
    yaml_path = out / f"{task}.yaml"
    atomic_write_text(yaml_path, task_yaml(task, parquet, f"config {config} of {dataset}"))
    return {"written": written, "task": task, "yaml": str(yaml_path), "parquet": str(parquet)}


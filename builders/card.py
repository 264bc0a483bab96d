"""The dataset card (README.md) of a build: YAML configs/data_files/dataset_info + the cards/ template.

The YAML is produced by the library helpers (`MetadataConfigs` and `DatasetInfosDict` from datasets,
`DatasetCardData` / `DatasetCard.from_template` from huggingface_hub), so `load_dataset(folder, config)`
and the Hub read exactly what they would read from `push_to_hub`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from spar_hf.builders import sampling
from spar_hf.builders.result import ConfigResult
from spar_hf.builders.spar import CITATION, CONFIGS, DEPTH_UNIT
from spar_hf.packs import metadata_member
from spar_hf.utils.atomic import atomic_write_text

TEMPLATE = "spar.md"  # in the spar_hf.cards package (the repository's cards/ folder)
DEFAULT_CONFIG = "bench"
LICENSE_TEXT = {
    "cc-by-nc-4.0": "CC BY-NC 4.0. The scenes behind the questions come with their own terms (ScanNet, ScanNet++ and "
    "Structured3D are for non-commercial research; SpatialForge annotations are CC BY-NC 4.0 and its images keep the "
    "licences of Objects365, OpenImages and Pixmo).",
}


def data_files_pattern(files: list[str]) -> str:
    """The glob naming a split's packs (`7m/train/train-*.zip`, `bench/test-*.zip`)."""
    folder, _, name = files[0].rpartition("/")
    return f"{folder}/{name.split('-')[0]}-*.zip"


def card_text(out_dir: Path, built: dict[str, ConfigResult], license: str = "cc-by-nc-4.0", repo: str | None = None) -> str:
    """Render the card for the configs in `built` (name -> ConfigResult)."""
    names = [n for n in CONFIGS if n in built]
    card_data = DatasetCardData(
        license=license,
        language=["en"],
        pretty_name="SPAR spatial QA (spar-hf build)",
        task_categories=["visual-question-answering"],
        tags=["spatial-reasoning", "3d", "multi-view", "depth", "spar"],
    )
    MetadataConfigs(
        {
            name: {
                "data_files": [{"split": split, "path": data_files_pattern(files)} for split, files in built[name].files.items()],
                "metadata_filenames": [metadata_member(name)],
                **({"default": True} if name == DEFAULT_CONFIG else {}),
            }
            for name in names
        }
    ).to_dataset_card_data(card_data)
    DatasetInfosDict({name: DatasetInfo._from_yaml_dict(built[name].info) for name in names}).to_dataset_card_data(card_data)

    configs = []
    for name in names:
        res = built[name]
        counts = res.counts
        report = f"in={counts.get('in', 0)} out={counts.get('out', 0)} rejected={counts.get('rejected', 0)}"
        if counts.get("not_drawn"):
            report += f" not_drawn={counts['not_drawn']}"
        if res.reasons:
            report += " (" + ", ".join(f"{r}: {c}" for r, c in sorted(res.reasons.items())) + ")"
        configs.append(
            {
                "name": name,
                "default": name == DEFAULT_CONFIG,
                "streaming": name in ("7m", "7m-rgbd"),
                "splits": ", ".join(f"{s} ({n:,})" for s, n in res.splits.items()) or "none",
                "description": CONFIGS[name].description,
                "summary": CONFIGS[name].description,
                "report": report,
            }
        )
    columns = [(name, split) for name in names for split in built[name].task_counts]
    tasks = sorted({t for name, split in columns for t in built[name].task_counts[split]})
    rows = [
        {"task": task, "cells": [f"{built[n].task_counts[s].get(task, 0):,}" for n, s in columns]}
        for task in tasks
    ]
    card = DatasetCard.from_template(
        card_data,
        template_str=files("spar_hf.cards").joinpath(TEMPLATE).read_text(encoding="utf-8"),
        repo=repo or out_dir.name,
        configs=configs,
        depth_unit=DEPTH_UNIT,
        per_task=sampling.BENCH_PER_TASK,
        tiny_per_task=sampling.TINY_PER_TASK,
        task_columns=[f"{n} {s}" for n, s in columns],
        task_rows=rows,
        license_text=LICENSE_TEXT.get(license, license),
        citation=CITATION,
    )
    return str(card)


def write_card(out_dir: Path, built: dict[str, ConfigResult], license: str = "cc-by-nc-4.0", repo: str | None = None) -> Path:
    path = out_dir / "README.md"
    atomic_write_text(path, card_text(out_dir, built, license, repo))
    return path

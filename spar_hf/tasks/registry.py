"""The one table of task generators.

Every module in `spar_hf.tasks` that defines `TASKS: list[TaskSpec]` is a task family;
the registry collects them, so adding a family never edits a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Protocol

import numpy as np

import spar_hf.tasks as pkg
from spar_hf.errors import SparError


class FrameLookup(Protocol):
    """What `verify` may read back from a written layout, by layout image path."""

    def pose(self, image: str) -> np.ndarray: ...  # 4x4 camera-to-world

    def intrinsics(self, image: str) -> np.ndarray: ...  # 3x3

    def size(self, image: str) -> tuple[int, int]: ...  # width, height


@dataclass(frozen=True)
class TaskSpec:
    """A task folder of the release: its name, family module, view kind, formats and generator.

    `generate(records, rng, config)` returns QARecords for every format of the task for one scene;
    `verify(record, lookup: FrameLookup)` re-derives the answer from the record's `meta` and the
    stored poses and returns a list of findings: strings starting "mismatch: ..." (the stored answer
    disagrees with the re-derived one) or "ambiguous:<kind>: ..." (margin near 0.1 m, tiny box,
    heavy occlusion, ...). Empty means the answer checks out and nothing is doubtful.
    """

    name: str
    family: str
    view: str  # "single" | "multi" | "video"
    formats: tuple[str, ...]
    generate: Callable[..., list]
    verify: Callable[..., list[str]] | None = None
    bench: bool = False  # one of the 20 SPAR-Bench tasks
    extension: bool = False  # not a release task folder: generated only when named in --tasks


def release_tasks() -> dict[str, TaskSpec]:
    """The registered tasks that are release task folders (the default of `generate`)."""
    return {name: spec for name, spec in all_tasks().items() if not spec.extension}


@lru_cache(maxsize=1)
def all_tasks() -> dict[str, TaskSpec]:
    table: dict[str, TaskSpec] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "registry":
            continue
        module = importlib.import_module(f"spar_hf.tasks.{info.name}")
        for spec in getattr(module, "TASKS", []):
            if spec.name in table:
                raise RuntimeError(f"task {spec.name} registered twice ({table[spec.name].family}, {spec.family})")
            table[spec.name] = spec
    return table


def select_tasks(names: str | list[str] | None) -> list[TaskSpec]:
    """Resolve `--tasks a,b` to specs in registry order; unknown names are an error.

    None means every release task folder: extensions (e.g. grounding_3d_mv) are opt-in, so a default
    layout holds only folders the release's index script and loader know (they raise on any other type).
    """
    table = all_tasks()
    if not names:
        return [table[k] for k in sorted(release_tasks())]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SparError(f"unknown task(s): {', '.join(unknown)}; known: {', '.join(sorted(table))}")
    return [table[n] for n in sorted(set(names))]


def task_info(name: str) -> Any:
    return all_tasks()[name]

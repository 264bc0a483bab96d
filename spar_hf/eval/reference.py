"""The SPAR paper's Table 4 (SPAR-Bench full) and appendix Table 11 (tiny) as reference rows.

Each row carries the cells as published, its Avg/Low/Medium/High recomputed from its own task
columns, and a flag for every published summary that differs from the recomputed one by more
than rounding can explain (TOLERANCE: 0.005 for the published rounding plus at most 0.005 for
averaging rounded cells). The file spar_hf/eval/data/table4.json stores all three; `derive` is
the single rule that produced the derived parts, and tests hold the file to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from spar_hf.eval.aggregate import SUMMARY_KEYS, level_means
from spar_hf.tasks.bench import SHORT_NAMES, TABLE4_COLUMNS

TOLERANCE = 0.01
_EPS = 1e-9
# Published column order (after the name; the full table has a Rank column before these).
COLUMNS: tuple[str, ...] = (
    ("Avg", "Low") + tuple(s for _, s in TABLE4_COLUMNS[0:8]) + ("Medium",) + tuple(s for _, s in TABLE4_COLUMNS[8:11])
    + ("High",) + tuple(s for _, s in TABLE4_COLUMNS[11:20])
)
TABLES = ("full", "tiny")
MEDIUM_WITHOUT_VCI = "leaves out ViewChgI (mean of PosMatch and CamMotion only: lmms-eval's logging bug)"
DIFFERS = "differs from the mean of its task columns"


@dataclass(frozen=True)
class ReferenceRow:
    table: str
    name: str
    group: str
    published: dict[str, float | None]
    recomputed: dict[str, float | None]
    flags: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def task_scores(self) -> dict[str, float | None]:
        """Task name -> published score on 0-100 (None where the paper prints "-")."""
        return {task: self.published[short] for task, short in SHORT_NAMES.items()}


def derive(published: dict[str, float | None]) -> tuple[dict[str, float | None], list[dict[str, Any]]]:
    """Recomputed summaries (rounded to 4 decimals) and the flags for one published row."""
    tasks = {task: published[short] for task, short in SHORT_NAMES.items()}
    exact = level_means(tasks)
    recomputed = {k: (None if v is None else round(v, 4)) for k, v in exact.items()}
    flags: list[dict[str, Any]] = []
    for key in SUMMARY_KEYS:
        pub, mine = published[key], exact[key]
        if pub is None or mine is None or abs(pub - mine) <= TOLERANCE + _EPS:
            continue
        reason = DIFFERS
        if key == "Medium" and None not in (published["PosMatch"], published["CamMotion"]):
            two = (published["PosMatch"] + published["CamMotion"]) / 2
            if abs(pub - two) <= TOLERANCE + _EPS:
                reason = MEDIUM_WITHOUT_VCI
        flags.append({"column": key, "published": pub, "recomputed": round(mine, 4),
                      "difference": round(pub - mine, 4), "reason": reason})
    return recomputed, flags


def _data() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("spar_hf.eval").joinpath("data/table4.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_reference(table: str = "full") -> list[ReferenceRow]:
    """Rows of the paper's SPAR-Bench table `table` ("full" or "tiny"), in published order."""
    if table not in TABLES:
        raise ValueError(f"unknown reference table {table!r}; choose from {', '.join(TABLES)}")
    rows = []
    for raw in _data()["tables"][table]:
        known = {"name", "group", "published", "recomputed", "flags"}
        rows.append(ReferenceRow(table=table, name=raw["name"], group=raw["group"], published=raw["published"],
                                 recomputed=raw["recomputed"], flags=raw["flags"],
                                 extra={k: v for k, v in raw.items() if k not in known}))
    return rows


def find_row(name: str, table: str = "full") -> ReferenceRow:
    """A reference row by model name (case-insensitive)."""
    for row in load_reference(table):
        if row.name.lower() == name.lower():
            return row
    raise KeyError(f"no row named {name!r} in the {table} table")


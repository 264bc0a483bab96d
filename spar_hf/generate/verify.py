"""Audit a SPAR-7M layout: re-derive every answer with its task's `verify` and count findings.

For each record the TaskSpec of its `type` re-derives the answer from the record's `meta`
(provenance) and the stored poses/intrinsics (the layout's FrameStore). Findings starting
"mismatch:" mean the stored answer is wrong; "ambiguous:<kind>:" flag doubtful but correct ones.
Records without `meta` (the official download) cannot be re-derived and are counted as
`no_provenance`, not as errors; their missing images are only counted (the release no longer
ships images). A record with `meta` (our output) whose images are missing is an error. Bad lines
reported by the reader count as problems.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from spar_hf.errors import SparError
from spar_hf.layout.reader import SparLayout, read_qa_file
from spar_hf.tasks.registry import all_tasks
from spar_hf.utils.atomic import atomic_write_text

MAX_EXAMPLES = 200


@dataclass
class TaskAudit:
    records: int = 0
    checked: int = 0
    ok: int = 0
    mismatch: int = 0
    ambiguous: Counter = field(default_factory=Counter)  # kind -> records flagged
    no_provenance: int = 0
    unverifiable: int = 0  # task has no verify function
    errors: int = 0
    missing_images: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "checked": self.checked, "ok": self.ok, "mismatch": self.mismatch,
                "ambiguous": dict(sorted(self.ambiguous.items())), "no_provenance": self.no_provenance,
                "unverifiable": self.unverifiable, "errors": self.errors, "missing_images": self.missing_images}


@dataclass
class VerifyReport:
    tasks: dict[str, TaskAudit] = field(default_factory=dict)
    unknown_tasks: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)  # bad lines/files (first MAX_EXAMPLES)
    n_problems: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)  # mismatches and errors (first MAX_EXAMPLES)

    @property
    def records(self) -> int:
        return sum(t.records for t in self.tasks.values())

    @property
    def mismatches(self) -> int:
        return sum(t.mismatch for t in self.tasks.values())

    @property
    def errors(self) -> int:
        return sum(t.errors for t in self.tasks.values())

    @property
    def ambiguous(self) -> int:
        return sum(sum(t.ambiguous.values()) for t in self.tasks.values())

    def failed(self) -> bool:
        return bool(self.mismatches or self.errors or self.n_problems or self.unknown_tasks)

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "mismatches": self.mismatches, "ambiguous": self.ambiguous,
                "errors": self.errors, "bad_lines": self.n_problems,
                "unknown_tasks": dict(sorted(self.unknown_tasks.items())),
                "tasks": {k: v.as_dict() for k, v in sorted(self.tasks.items())},
                "problems": self.problems, "examples": self.examples}


def _example(report: VerifyReport, entry: Any, finding: str) -> None:
    if len(report.examples) < MAX_EXAMPLES:
        report.examples.append({"file": str(entry.file), "line": entry.line, "id": entry.record.id, "finding": finding})


def verify_layout(root: str | Path, progress: bool = True, check_images: bool = True) -> VerifyReport:
    """Audit every record under `root` (a SPAR_DIR or one source folder)."""
    layout = SparLayout(root)
    if not layout.sources():
        raise SparError(f"{root}: no <source>/qa_jsonl folders found")
    table = all_tasks()
    report = VerifyReport()

    def on_problem(problem: Any) -> None:
        report.n_problems += 1
        if len(report.problems) < MAX_EXAMPLES:
            report.problems.append(str(problem))

    files = layout.files(problems=on_problem)
    total = sum(f.declared_lines or 0 for f in files)
    with tqdm(total=total, desc="verify", unit="rec", disable=not progress) as bar:
        for qa_file in files:
            for entry in read_qa_file(qa_file, on_problem):
                bar.update(1)
                record = entry.record
                audit = report.tasks.setdefault(entry.task, TaskAudit())
                audit.records += 1
                missing = layout.missing_images(record) if check_images else []
                if missing:
                    audit.missing_images += 1
                spec = table.get(entry.task)
                if spec is None:
                    report.unknown_tasks[entry.task] += 1
                    continue
                if spec.verify is None:
                    audit.unverifiable += 1
                    continue
                if not record.meta:
                    audit.no_provenance += 1
                    continue
                if missing:  # our own output must ship every frame it references
                    audit.errors += 1
                    _example(report, entry, f"error: images missing: {', '.join(missing)}")
                    continue
                try:
                    findings = spec.verify(record, layout.frames(entry.source))
                except Exception as exc:  # noqa: BLE001 - one broken record must not stop the audit
                    audit.errors += 1
                    _example(report, entry, f"error: {type(exc).__name__}: {exc}")
                    continue
                audit.checked += 1
                kinds = set()
                bad = False
                for finding in findings:
                    if finding.startswith("mismatch"):
                        bad = True
                        _example(report, entry, finding)
                    elif finding.startswith("ambiguous"):
                        parts = finding.split(":")
                        kinds.add(parts[1].strip() if len(parts) > 2 else "unspecified")
                if bad:
                    audit.mismatch += 1
                elif not kinds:
                    audit.ok += 1
                audit.ambiguous.update(kinds)
    return report


def write_report(report: VerifyReport, path: str | Path) -> None:
    atomic_write_text(path, json.dumps(report.as_dict(), indent=1, ensure_ascii=False) + "\n")

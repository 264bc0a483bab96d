"""`spar-hf verify SPAR_DIR`: re-derive every answer from its provenance; exit 1 on any mismatch."""

from __future__ import annotations

import argparse

from spar_hf.utils.report import Summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="re-derive every answer of a SPAR-7M layout, flag ambiguous ones",
                                   description=__doc__)
    parser.add_argument("spar_dir", metavar="SPAR_DIR", help="layout root (holding <source>/qa_jsonl) or one source folder")
    parser.add_argument("--report", default=None, help="also write the full audit as JSON to this file")
    parser.add_argument("--no-image-check", action="store_true", help="do not check that referenced images exist")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spar_hf.generate.verify import verify_layout, write_report

    report = verify_layout(args.spar_dir, check_images=not args.no_image_check)
    if report.tasks:
        width = max(len(t) for t in report.tasks)
        print(f"{'task':<{width}}  {'records':>8}  {'checked':>8}  {'mismatch':>8}  {'ambiguous':>9}  other")
        for name, audit in sorted(report.tasks.items()):
            other = []
            for label, n in (("no_provenance", audit.no_provenance), ("unverifiable", audit.unverifiable),
                             ("errors", audit.errors), ("missing_images", audit.missing_images)):
                if n:
                    other.append(f"{label}={n}")
            kinds = ", ".join(f"{k}: {v}" for k, v in sorted(audit.ambiguous.items()))
            amb = sum(audit.ambiguous.values())
            line = (f"{name:<{width}}  {audit.records:>8}  {audit.checked:>8}  {audit.mismatch:>8}  {amb:>9}  "
                    f"{' '.join(other)}{(' (' + kinds + ')') if kinds else ''}")
            print(line.rstrip())
    for example in report.examples[:10]:
        print(f"{example['file']}:{example['line']}: {example['id']}: {example['finding']}")
    for problem in report.problems[:10]:
        print(f"bad input: {problem}")
    for task, n in sorted(report.unknown_tasks.items()):
        print(f"unknown task {task}: {n} records")
    if args.report:
        write_report(report, args.report)
    summary = Summary("verify", n_in=report.records + report.n_problems, n_out=report.records - report.mismatches - report.errors,
                      n_rejected=report.mismatches + report.errors + report.n_problems)
    if report.mismatches:
        summary.reasons["mismatch"] = report.mismatches
    if report.errors:
        summary.reasons["error"] = report.errors
    if report.n_problems:
        summary.reasons["bad line"] = report.n_problems
    summary.extra.update({"mismatches": report.mismatches, "ambiguous": report.ambiguous})
    print(summary.line())
    return 1 if report.failed() else 0

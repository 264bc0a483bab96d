"""`spar-hf probe bev|grounding`: score model predictions on the BEV map probe (APE, paper 4.4) or
3D grounding as text (IoU, Acc@0.25 / Acc@0.5, paper 3.5) over a SPAR-7M layout.

Predictions: JSONL, one {"id": "<record id>", "prediction": "<model output>"} per line (record ids
are the layout's string ids). Records without a prediction count as missing (BEV) or IoU 0
(grounding). Truth comes from each record's `meta`; grounding also reads the chosen image's pose,
intrinsics and size from the layout, so records whose frames are missing are rejected with the
reason. Predictions naming no record in the layout are rejected too.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from spar_hf.errors import SparError
from spar_hf.utils.report import RejectLog, Summary

TASKS = {"bev": "spatial_imagination_map_mv", "grounding": "grounding_3d_mv"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("probe", help="score predictions on the BEV (APE) or 3D grounding (IoU) probe",
                                   description=__doc__)
    parser.add_argument("kind", choices=sorted(TASKS), help="which probe")
    parser.add_argument("--from", dest="spar_dir", required=True, help="SPAR-7M layout root (or one source folder)")
    parser.add_argument("--predictions", required=True, help="JSONL of {id, prediction}")
    parser.add_argument("--split", default=None, help="only this split (default: all)")
    parser.add_argument("--format", default="md", choices=("md", "json"), help="report format (default md)")
    parser.add_argument("--rejects", default=None, help="write rejected predictions/records here (JSONL)")
    parser.set_defaults(func=run)


def read_predictions(path: str) -> dict[str, str]:
    """{id: prediction text}; SparError naming the file and line of the first bad line or repeated id."""

    out: dict[str, str] = {}
    p = Path(path)
    if not p.is_file():
        raise SparError(f"{p}: predictions file missing")
    with open(p, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key, text = str(row["id"]), row["prediction"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise SparError(f"{p}:{number}: not a {{id, prediction}} JSON object ({exc})") from None
            if text is not None and not isinstance(text, str):
                raise SparError(f"{p}:{number}: prediction must be a string or null")
            if key in out:
                raise SparError(f"{p}:{number}: id {key!r} repeated")
            out[key] = text or ""
    return out


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.layout.reader import SparLayout

    layout = SparLayout(args.spar_dir)
    predictions = read_predictions(args.predictions)
    task = TASKS[args.kind]
    summary = Summary(f"probe {args.kind}")
    rejects_path = Path(args.rejects) if args.rejects else None
    seen: set[str] = set()
    samples: list[Any] = []
    records = []
    with RejectLog(rejects_path or Path(args.predictions).with_suffix(".probe_rejects.jsonl"), summary) as rejects:
        for entry in tqdm(list(layout.iter_records(split=args.split, task=task)), desc=f"probe {args.kind}", unit="rec"):
            rec = entry.record
            summary.n_in += 1
            seen.add(rec.id)
            text = predictions.get(rec.id, "")
            if not rec.meta.get("objects"):
                rejects.add("no_provenance: record has no meta to score against", file=str(entry.file), line=entry.line)
                continue
            if args.kind == "bev":
                records.append(rec)
            else:
                frames = layout.frames(entry.source)
                try:
                    cameras = [(frames.pose(img), frames.intrinsics(img), *frames.size(img)) for img in rec.images]
                except SparError as exc:
                    rejects.add(f"missing_frame: {exc}", file=str(entry.file), line=entry.line)
                    continue
                samples.append((text, cameras, rec.meta["objects"][0]["center"], rec.meta["aabb_extents"]))
            summary.n_out += 1
        for key in sorted(set(predictions) - seen):
            summary.n_in += 1
            rejects.add(f"unknown_id: no {task} record {key!r} in the layout", file=args.predictions)
    if args.kind == "bev":
        from spar_hf.probes.bev import score_records

        result = score_records(records, predictions).as_dict()
        if args.format == "json":
            print(json.dumps(result))
        else:
            print("| distance (m) | objects | APE mean | APE P50 | APE P90 |\n|---|---|---|---|---|")
            for name, s in [*result["bins"].items(), ("all", result["overall"])]:
                print(f"| {name} | {s['n']} | {_fmt(s['mean'])} | {_fmt(s['p50'])} | {_fmt(s['p90'])} |")
            print(f"objects without a prediction: {result['missing']}")
    else:
        from spar_hf.probes.grounding import score

        result = score(samples).as_dict()
        if args.format == "json":
            print(json.dumps(result))
        else:
            print("| records | unparsed | mean IoU | Acc@0.25 | Acc@0.5 |\n|---|---|---|---|---|")
            print(f"| {result['n']} | {result['unparsed']} | {_fmt(result['mean_iou'])} | {_fmt(result['acc@0.25'])} | "
                  f"{_fmt(result['acc@0.5'])} |")
    print(summary.line())
    return 0

"""`spar-hf ingest spatialforge`: SpatialForge-style annotations + source images -> SPAR layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from spar_hf.utils.outdir import output_folder


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ingest", help="turn external annotations into the SPAR layout")
    kinds = parser.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    sf = kinds.add_parser(
        "spatialforge", help="SpatialForge-style 0..1000 box QA (JSON, JSONL or Parquet)",
        description="Ingest SpatialForge-style QA records into SPAR_DIR/spatialforge/ (qa_jsonl/, images/, "
                    "rejects.jsonl, ingest_summary.json).")
    sf.add_argument("--annotations", nargs="+", required=True, metavar="FILE",
                    help="annotation files: .json (top-level array), .jsonl/.ndjson or .parquet")
    sf.add_argument("--images", nargs="+", required=True, metavar="NAME=DIR",
                    help="image roots: objects365=DIR, openimages=DIR, pixmo=DIR, or any NAME=DIR (plain folder)")
    sf.add_argument("--out", required=True, metavar="SPAR_DIR", help="layout root; output goes to SPAR_DIR/spatialforge")
    sf.add_argument("--mapping", metavar="FILE", help="YAML/JSON field mapping (dotted paths) for other record shapes")
    sf.add_argument("--full-check", action="store_true",
                    help="decode every image fully instead of the header/verify/EOI checks")
    sf.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sf.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spar_hf.ingest.images import parse_image_roots
    from spar_hf.ingest.mapping import load_mapping
    from spar_hf.ingest.spatialforge import SOURCE, ingest

    roots = parse_image_roots(args.images)
    mapping = load_mapping(args.mapping)
    with output_folder(Path(args.out) / SOURCE, "ingest"):
        result = ingest(args.annotations, roots, args.out, mapping=mapping, full_check=args.full_check,
                        progress=not args.no_progress)
    print(result.summary.line())
    return 0

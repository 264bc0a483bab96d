"""`spar-hf unpack ARCHIVE... --out DIR`: extract release archives safely (no path traversal).

Multi-part `spar-*.tar.gz` downloads are read as one stream, like `cat spar-*.tar.gz | tar -xzf -`.
Members that would escape DIR (absolute names, `..`, escaping links) or are device files are refused
and listed in the rejects file; the command then exits 1. The bytes written are capped (--max-bytes,
default the free space of DIR's filesystem): the member that would cross the cap stops the run with
exit 2 before it is written, and its archive is not moved into place (zip/tar bombs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.utils.outdir import output_folder
from spar_hf.utils.report import RejectLog, Summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("unpack", help="safely extract .tar / .tar.gz (multi-part) / .zip archives",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archives", nargs="+", metavar="ARCHIVE",
                        help="archives in order; split .tar.gz parts are joined in the order given")
    parser.add_argument("--out", required=True, metavar="DIR", help="target folder (created if absent)")
    parser.add_argument("--rejects", metavar="FILE", default=None,
                        help="where refused members are listed (default DIR/unpack_rejects.jsonl)")
    parser.add_argument("--max-bytes", metavar="SIZE", default=None,
                        help="most bytes to extract in all, e.g. 2500, 500GB, 1GiB (default: free space of DIR)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.utils.safe_extract import group_archives, safe_extract
    from spar_hf.utils.sizes import parse_size

    max_bytes = None if args.max_bytes is None else parse_size(args.max_bytes, "--max-bytes")
    if max_bytes is not None and max_bytes < 0:
        raise SparError(f"--max-bytes {args.max_bytes!r}: must not be negative")
    total = sum(p.stat().st_size for group in group_archives(args.archives) for p in group)
    summary = Summary("unpack")
    with output_folder(args.out, "unpack") as out, tqdm(total=total, desc="unpack", unit="B", unit_scale=True,
                                                       disable=None) as bar:
        result = safe_extract(args.archives, out, progress=bar.update, max_bytes=max_bytes)
    rejects_path = Path(args.rejects) if args.rejects else out / "unpack_rejects.jsonl"
    with RejectLog(rejects_path, summary) as log:
        for refused in result.refused:
            log.add(refused.reason, file=refused.archive, record={"member": refused.member})
    summary.n_in = result.members
    summary.n_out = result.extracted
    summary.extra.update({"bytes": result.bytes_written, "out": str(out)})
    for refused in result.refused[:10]:
        print(f"refused {refused.archive}: {refused.member}: {refused.reason}")
    print(summary.line())
    return 1 if result.refused else 0

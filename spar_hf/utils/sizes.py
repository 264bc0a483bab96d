"""Byte sizes given on the command line (`--max-size 1GB`, `--max-bytes 500GB`), parsed one way everywhere.

Plain digits are bytes; anything with a unit goes through `datasets`' parser (`1GB` = 10^9,
`1GiB` = 2^30), imported only then because it costs a second of start-up.
"""

from __future__ import annotations

from spar_hf.errors import SparError


def parse_size(text: str, option: str) -> int:
    """Bytes from `2500`, `500MB`, `1GiB`...; a SparError naming the option when it is not a size."""
    if text.strip().isdecimal():
        return int(text)
    from datasets.utils.py_utils import convert_file_size_to_int  # deferred, datasets: ~1 s to import

    try:
        return convert_file_size_to_int(text)
    except ValueError:
        raise SparError(f"{option} {text!r}: expected bytes or a size like 1GB, 500MB, 1GiB") from None

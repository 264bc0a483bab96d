"""Tar shards -> samples, the webdataset `tarfile_to_samples` stage with less work per member.

`tarfile` builds a TarInfo per member (every header field decoded, PAX and GNU variants handled
in Python), and webdataset then wraps each member in two dicts before grouping: about 0.1 ms
per member, as much as decoding a small JPEG view. Shards are plain ustar/PAX archives (our
writer's, or any webdataset writer's), so the header is read directly: name, size, type and the
checksum that catches a misaligned or corrupt stream. PAX `path`/`size` records and GNU long
names are honoured; links, directories and other types are skipped like webdataset skips them.

Samples keep webdataset's shape: `__key__` (the name up to the first dot of its last path part),
`__url__`, and one bytes value per lower-cased suffix. Errors (bad checksum, truncated shard, a
duplicate member) go to the handler with the shard URL and the byte offset; the shard's
remaining members are skipped, and the sample being read is dropped (the message names it). A handler that returns
False ends the stage, as in webdataset.
"""

from __future__ import annotations

import zlib
from typing import IO, Any, Callable, Iterable, Iterator

BLOCK = 512
READ_BUFFER = 1 << 20  # few large reads per shard
MAX_MEMBER = 1 << 31  # a header claiming more is damage or hostile: reading it would allocate that much
_REGULAR = (b"0", b"\0", b"7")  # regular file, old-style regular file, contiguous file
_GNU_LONGNAME = b"L"
_KEEP_PENDING = (b"g", b"K")  # PAX global header, GNU long link name: the pending name/PAX records still apply


class ShardError(ValueError):
    """A shard that cannot be read on (the message names the URL and the byte offset)."""


def _octal(field: bytes, url: str, offset: int) -> int:
    try:
        return int(field.rstrip(b"\0 ") or b"0", 8)
    except ValueError:
        pass
    if field[0] & 0x80:  # GNU base-256 for sizes of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    raise ShardError(f"{url}: bad number {field!r} in the tar header at byte {offset}")


def _checksum_ok(header: bytes, url: str, offset: int) -> bool:
    """The header's byte sum (checksum field read as spaces) equals the stored checksum.

    The byte sum comes from adler32, whose low half is 1 + the byte sum modulo 65521: a tenth of the
    cost of `sum()` on 512 bytes, and only a change of exactly 65521 in the sum could slip through."""
    stored = _octal(header[148:156], url, offset)
    field = header[148:156]
    return (stored - 256 + sum(field) - (zlib.adler32(header) & 0xFFFF) + 1) % 65521 == 0


def _pax_records(data: bytes) -> dict[str, str]:
    """`<len> <key>=<value>\\n` records of a PAX extended header."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        key, _, value = data[space + 1:pos + length - 1].partition(b"=")
        records[key.decode("utf-8")] = value.decode("utf-8")
        pos += length
    return records


def _read_exact(read: Callable[[int], bytes], n: int, url: str, offset: int) -> bytes:
    data = read(n)
    if len(data) != n:
        raise ShardError(f"{url}: truncated shard: {n} bytes wanted at byte {offset}, {len(data)} there")
    return data


def iter_members(stream: IO[bytes], url: str, max_member: int = MAX_MEMBER) -> Iterator[tuple[str, bytes]]:
    """(name, data) of each regular file in a tar stream, in order; raises ShardError on damage."""
    offset = 0
    pax: dict[str, str] = {}
    longname: str | None = None
    read = stream.read
    while True:
        header = read(BLOCK)
        if len(header) < BLOCK:
            raise ShardError(f"{url}: truncated shard: no end-of-archive marker (stream ends at byte "
                             f"{offset + len(header)})")
        if header.count(0) == BLOCK:
            return
        if not _checksum_ok(header, url, offset):
            raise ShardError(f"{url}: bad tar header checksum at byte {offset}")
        size = int(pax["size"]) if "size" in pax else _octal(header[124:136], url, offset)
        if size > max_member:
            raise ShardError(f"{url}: tar member of {size} bytes at byte {offset} exceeds the {max_member}-byte limit")
        data = _read_exact(read, size, url, offset + BLOCK) if size else b""
        pad = -size % BLOCK
        if pad:
            _read_exact(read, pad, url, offset + BLOCK + size)
        offset += BLOCK + size + pad
        kind = header[156:157]
        if kind in _REGULAR:
            name = pax.get("path") or longname
            if name is None:
                name = header[:100].split(b"\0", 1)[0].decode("utf-8")
                if header[345] and header[257:262] == b"ustar":
                    name = header[345:500].split(b"\0", 1)[0].decode("utf-8") + "/" + name
            yield name, data
            pax, longname = {}, None
        elif kind == b"x":
            pax = _pax_records(data)
        elif kind == _GNU_LONGNAME:
            longname = data.rstrip(b"\0").decode("utf-8")
        elif kind not in _KEEP_PENDING:
            pax, longname = {}, None  # a directory, link or device: skipped, like webdataset does


def _key_suffix(name: str) -> tuple[str, str] | None:
    """webdataset's base_plus_ext: key = path + basename up to its first dot, suffix = the rest."""
    slash = name.rfind("/")
    dot = name.find(".", slash + 1)
    if dot <= slash + 1:
        return None
    return name[:dot], name[dot + 1:].lower()


def _is_meta(name: str) -> bool:
    """webdataset skips `__...__` entries (its own metadata members)."""
    head = name.split("/", 1)[0]
    return len(head) >= 4 and head.startswith("__") and head.endswith("__")


def tar_samples(shards: Iterable[dict[str, Any]], handler: Callable[[BaseException], bool],
                open_url: Callable[[str], IO[bytes]] | None = None) -> Iterator[dict[str, Any]]:
    """Stage: `{"url": ...}` items -> samples grouped by key (consecutive members), shard by shard."""
    if open_url is None:
        from webdataset.gopen import gopen  # deferred, webdataset: ~1.8 s to import

        def open_url(url: str) -> IO[bytes]:
            return gopen(url, bufsize=READ_BUFFER)

    for shard in shards:
        url = shard["url"]
        current: dict[str, Any] | None = None
        try:
            with open_url(url) as stream:
                for name, data in iter_members(stream, url):
                    if name.startswith("__") and _is_meta(name):
                        continue
                    parts = _key_suffix(name)
                    if parts is None:
                        continue
                    key, suffix = parts
                    if current is None or key != current["__key__"]:
                        if current is not None:
                            yield current
                        current = {"__key__": key, "__url__": url}
                    elif suffix in current:
                        raise ShardError(f"{url}: duplicate member {name!r}")
                    current[suffix] = data
            if current is not None:
                yield current
        except Exception as exn:  # noqa: BLE001 - the handler decides (count and skip, or re-raise)
            if not isinstance(exn, ShardError):
                exn.args = (*exn.args, url)
            if current is not None and exn.args:
                exn.args = (f"{exn.args[0]} (sample {current['__key__']!r} dropped unfinished)", *exn.args[1:])
            if not handler(exn):
                return

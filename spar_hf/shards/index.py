"""The shard index: one JSON per (config, split) listing every shard with its sample and row counts, bytes, sha256.

It is written last by the shard writer, so its presence means the set is complete. The loader reads
it to get the shard list (local path or URL) and the per-shard QA row counts that let resumption
mark a shard as done. A sample is a chunk of QA rows sharing their images (stored once per sample).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from spar_hf.errors import SparError
from spar_hf.utils.atomic import atomic_write_text

INDEX_FORMAT = 2  # 2: samples are chunks of rows sharing images; rows counted apart


def shard_stem(config: str, split: str) -> str:
    return f"spar-{config}-{split}"


def shard_name(config: str, split: str, number: int) -> str:
    return f"{shard_stem(config, split)}-{number:06d}.tar"


def index_name(config: str, split: str) -> str:
    return f"{shard_stem(config, split)}.index.json"


def rejects_name(config: str, split: str) -> str:
    return f"{shard_stem(config, split)}.rejects.jsonl"


@dataclass
class ShardInfo:
    """One finished shard: file name (relative to the index), samples (chunks), QA rows, bytes, sha256,
    and the smallest number of its rows in the config/split."""

    name: str
    samples: int
    rows: int
    bytes: int
    sha256: str
    first_row: int


@dataclass
class ShardIndex:
    config: str
    split: str
    samples: int
    rows: int
    rejected: int
    shards: list[ShardInfo]
    has_depth: bool
    markers_baked: bool
    params: dict[str, Any] = field(default_factory=dict)
    format: int = INDEX_FORMAT

    @property
    def pattern(self) -> str:
        """Brace pattern of the shard names (webdataset / braceexpand syntax)."""
        n = len(self.shards)
        if n == 0:
            return ""
        if n == 1:
            return self.shards[0].name
        return f"{shard_stem(self.config, self.split)}-{{{0:06d}..{n - 1:06d}}}.tar"

    def counts(self) -> dict[str, int]:
        """QA rows per shard (what a training loop receives and resumption counts)."""
        return {s.name: s.rows for s in self.shards}

    def to_json(self) -> str:
        obj = asdict(self)
        obj["pattern"] = self.pattern
        return json.dumps(obj, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str = "index") -> "ShardIndex":
        try:
            shards = [ShardInfo(**s) for s in obj["shards"]]
            if int(obj.get("format", 1)) != INDEX_FORMAT:
                raise ValueError(f"index format {obj.get('format', 1)}, this spar-hf reads {INDEX_FORMAT}: shard again")
            return cls(config=obj["config"], split=obj["split"], samples=int(obj["samples"]), rows=int(obj["rows"]),
                       rejected=int(obj["rejected"]), shards=shards, has_depth=bool(obj["has_depth"]),
                       markers_baked=bool(obj["markers_baked"]), params=obj.get("params", {}),
                       format=int(obj.get("format", INDEX_FORMAT)))
        except (KeyError, TypeError, ValueError) as exc:
            raise SparError(f"{where}: not a spar-hf shard index ({exc})") from None


def write_index(path: str | Path, index: ShardIndex) -> None:
    atomic_write_text(path, index.to_json())


def _is_url(location: str) -> bool:
    return "://" in location


def check_location(location: str, allow_pipe: bool = False, where: str = "shard index") -> str:
    """`location` if it may be opened: a local path or an http(s) URL; SparError otherwise.

    What an index names is data: webdataset's gopen runs `pipe:` locations as shell commands (and
    hands other schemes to gsutil, ais, ...), so those are refused unless the caller opts in with
    allow_pipe=True (then any scheme gopen knows is passed on).
    """
    scheme = urlparse(location).scheme.lower()
    if allow_pipe or (scheme in ("", "file", "http", "https") and location != "-"):
        return location
    raise SparError(f"{where}: {location!r}: only local paths and http(s) URLs are opened from a shard index "
                    "(pipe: would run a shell command; pass allow_pipe=True to allow it)")


def read_index(location: str | Path) -> ShardIndex:
    """Read an index from a local path or a URL (anything webdataset's gopen can open)."""
    location = str(location)
    try:
        if _is_url(location):
            from webdataset import gopen  # deferred, webdataset: ~1.8 s to import

            with gopen(location, "rb") as stream:
                text = stream.read().decode("utf-8")
        else:
            text = Path(location).read_text(encoding="utf-8")
        obj = json.loads(text)
    except (OSError, ValueError) as exc:
        raise SparError(f"{location}: cannot read shard index ({exc})") from None
    return ShardIndex.from_json(obj, where=location)


def shard_urls(location: str | Path, index: ShardIndex, allow_pipe: bool = False) -> list[str]:
    """Shard locations resolved against the index's own folder (a local folder or a URL prefix).

    A shard name is a relative path below that folder (no scheme, no `..`, not absolute), and every
    location passes `check_location`.
    """
    location = str(location)
    for shard in index.shards:
        parts = shard.name.replace("\\", "/").split("/")
        if not allow_pipe and (not shard.name or shard.name.startswith(("/", "\\")) or ".." in parts
                               or urlparse(shard.name).scheme):
            raise SparError(f"{location}: shard name {shard.name!r} is not a file name below the index's folder")
    if _is_url(location):
        base = location.rsplit("/", 1)[0]
        urls = [f"{base}/{s.name}" for s in index.shards]
    else:
        base = Path(location).parent
        urls = [str(base / s.name) for s in index.shards]
    return [check_location(url, allow_pipe, where=location) for url in urls]


def shard_id(url: str) -> str:
    """The stable identity of a shard inside resume states: its file name."""
    return posixpath.basename(url.replace("\\", "/"))

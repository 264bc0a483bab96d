"""Packs: how an HF build stores every image once.

A pack is a zip that datasets' imagefolder builder reads (`load_dataset(HF_DIR, config)`):

- image members, each stored once (not deflated: JPEG and PNG are compressed already), named by
  their SPAR layout path under a source folder (`scannet/scene0000_00/image_color/12.jpg`);
- one metadata member per config, `metadata-<config>`: Parquet written with datasets' own writer
  (features in the schema metadata), one row per QA record. Its `file_names` column (and
  `<column>_file_names` ones) name the pack's image members; imagefolder turns each into a
  `List(Image())` column (`file_names` -> `images`, `depth_file_names` -> `depth`,
  `image_file_names` -> `image`). Several configs can share a pack: `7m` and `7m-rgbd` read the same
  frames through different metadata members (the card sets `metadata_filenames` per config).

Metadata members have no file extension on purpose: datasets chooses one builder for a whole
repository from the most common extension inside the first config's archives, and must see only
images there. Zips are byte-identical for the same content (fixed times, modes and member order),
and a member can be read alone (the central directory says where), so one row's images never
need the whole pack.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from spar_hf.errors import SparError
from spar_hf.utils.atomic import atomic_open

METADATA_PREFIX = "metadata-"
PACK_SUFFIX = ".zip"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time leaks into the bytes
MEMBER_MODE = 0o644 << 16
METADATA_ROWS_PER_GROUP = 1000  # a reader wanting one row decodes at most this many


def metadata_member(config: str) -> str:
    """The pack member holding `config`'s rows."""
    return f"{METADATA_PREFIX}{config}"


def _zipinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = MEMBER_MODE
    info.create_system = 3  # unix, whatever machine writes it
    return info


@dataclass
class Metadata:
    """One config's rows for a pack: written with datasets' ParquetWriter, so the member's schema carries
    `features` exactly. `rows` is consumed once, while the member is written (rows holding big arrays,
    bench-rgbd's depth, can be made as they are written); `rows_per_group` bounds what is buffered."""

    features: Any
    rows: Iterable[dict[str, Any]]
    rows_per_group: int = METADATA_ROWS_PER_GROUP


@dataclass
class PackContent:
    """What goes into one pack: image members (name -> file on disk or bytes) and metadata per config."""

    members: dict[str, Path | bytes]
    metadata: dict[str, Metadata]


def _write_metadata(stream: BinaryIO, metadata: Metadata) -> int:
    from datasets.arrow_writer import ParquetWriter  # deferred, datasets: ~1 s to import

    writer = ParquetWriter(stream=stream, features=metadata.features, writer_batch_size=metadata.rows_per_group)
    for row in metadata.rows:
        writer.write(row)
    rows, _ = writer.finalize(close_stream=False)
    return rows


def write_pack(path: str | Path, content: PackContent) -> int:
    """Write the pack atomically: image members in name order, then the metadata members, streamed into
    the zip (zip64 sizes: a bench-rgbd metadata member passes 4 GB at SPAR scale); returns bytes."""
    path = Path(path)
    with atomic_open(path, "wb", encoding=None) as handle:
        with zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
            for name in sorted(content.members):
                source = content.members[name]
                data = source if isinstance(source, bytes) else Path(source).read_bytes()
                archive.writestr(_zipinfo(name), data)
            for config in sorted(content.metadata):
                with archive.open(_zipinfo(metadata_member(config)), "w", force_zip64=True) as member:
                    _write_metadata(member, content.metadata[config])
        size = handle.tell()
    return size


class Pack:
    """One pack opened for reading (a local path, or any fsspec URL such as `hf://datasets/...`)."""

    def __init__(self, location: str | Path, handle: BinaryIO | None = None):
        self.location = str(location)
        try:
            self._handle = handle if handle is not None else _open(self.location)
            self._zip = zipfile.ZipFile(self._handle)
        except (OSError, zipfile.BadZipFile) as exc:
            raise SparError(f"{self.location}: not a readable pack ({exc})") from None
        self._infos = {info.filename: info for info in self._zip.infolist()}

    def __enter__(self) -> "Pack":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        self._handle.close()

    def names(self) -> list[str]:
        return list(self._infos)

    def configs(self) -> list[str]:
        """Configs whose metadata this pack holds."""
        return [n[len(METADATA_PREFIX):] for n in self._infos if n.startswith(METADATA_PREFIX)]

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def size(self, name: str) -> int:
        return self._info(name).file_size

    def read(self, name: str) -> bytes:
        """One member's bytes (only that member is read)."""
        info = self._info(name)
        try:
            return self._zip.read(info)
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise SparError(f"{self.location}: member {name} is unreadable ({exc})") from None

    def metadata(self, config: str, columns: list[str] | None = None) -> Any:
        """`config`'s rows as a pyarrow Table (only `columns`, when given)."""
        import pyarrow.parquet as pq  # deferred, pyarrow: only for Parquet

        data = self.read(metadata_member(config))
        try:
            return pq.read_table(io.BytesIO(data), columns=columns)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
            raise SparError(f"{self.location}: metadata of {config} is not Parquet ({exc})") from None

    def metadata_file(self, config: str) -> Any:
        """`config`'s rows as a pyarrow ParquetFile (row groups readable one at a time)."""
        import pyarrow.parquet as pq  # deferred, pyarrow: only for Parquet

        return pq.ParquetFile(io.BytesIO(self.read(metadata_member(config))))

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self._infos.get(name)
        if info is None:
            raise SparError(f"{self.location}: no member {name}")
        return info


def _open(location: str) -> BinaryIO:
    if "://" not in location:
        return open(location, "rb")
    import fsspec  # deferred, fsspec: only for remote paths

    return fsspec.open(location, "rb").open()


def iter_packs(locations: Iterable[str | Path]) -> Iterator[Pack]:
    """Open the packs one after another (each closed before the next is opened)."""
    for location in locations:
        with Pack(location) as pack:
            yield pack

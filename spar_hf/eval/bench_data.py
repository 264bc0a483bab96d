"""Reading a SPAR-Bench dataset (ours or anything with the hub columns) for the eval commands.

The `test` split is streamed (`streaming=True`) with only the needed columns: nothing is copied
into the datasets cache, so a rebuilt dataset is never shadowed by a stale cached copy (the cache
key of a local folder does not change when its files do), and scoring never reads the images.
Errors become SparError naming the dataset, the config and the reason. `usable_rows` is the one
place that decides which rows a command that sends or writes questions can use (prompts,
predict, the toolkit exports): the others go to the caller's rejects log with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from spar_hf.errors import SparError
from spar_hf.tasks.bench import BENCH_TASKS

if TYPE_CHECKING:
    from spar_hf.utils.report import RejectLog

HUB_COLUMNS = ("id", "img_type", "format_type", "task", "source", "image", "question", "answer")
SPLIT = "test"
BATCH = 256


def _first_line(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def iter_bench(path: str | os.PathLike, config: str, columns: list[str], batch_size: int = BATCH) -> Iterator[dict[str, list[Any]]]:
    """Batches (column -> list) of the `test` split of `config`; images come undecoded as {bytes, path}
    (a pack build gives a path into its zip and no bytes: `image_bytes` reads them)."""
    import datasets  # deferred, datasets: ~1 s to import
    import pyarrow

    unknown = [c for c in columns if c not in HUB_COLUMNS]
    if unknown:
        raise ValueError(f"not SPAR-Bench columns: {unknown}")
    try:
        # Parquet reads only the asked columns; a pack build (imagefolder) reads metadata and opens images lazily
        builder = datasets.load_dataset_builder(str(path), config)
        reads_columns = hasattr(builder.config, "columns")
        stream = datasets.load_dataset(str(path), config, split=SPLIT, streaming=True,
                                       **({"columns": list(columns)} if reads_columns else {}))
        if not reads_columns:
            stream = stream.select_columns(list(columns))
    except ValueError as exc:
        raise SparError(f"{path} (config {config}): {_first_line(exc)}") from None
    except (FileNotFoundError, ConnectionError) as exc:
        raise SparError(f"{path}: no dataset there ({_first_line(exc)})") from None
    if "image" in columns:
        stream = stream.cast_column("image", datasets.List(datasets.Image(decode=False)))
    try:
        yield from stream.iter(batch_size=batch_size)
    except (pyarrow.ArrowException, datasets.exceptions.DatasetGenerationError, OSError, KeyError) as exc:
        raise SparError(
            f"{path} (config {config}): cannot read columns {', '.join(columns)} ({_first_line(exc)}); "
            f"a SPAR-Bench dataset has {', '.join(HUB_COLUMNS)}"
        ) from None


def read_columns(path: str | os.PathLike, config: str, columns: list[str]) -> dict[str, list[Any]]:
    """The whole `test` split of `config` as column -> list (only `columns`)."""
    out: dict[str, list[Any]] = {c: [] for c in columns}
    for batch in iter_bench(path, config, columns):
        for column in columns:
            out[column].extend(batch[column])
    return out


def iter_rows(path: str | os.PathLike, config: str, columns: list[str], batch_size: int = BATCH) -> Iterator[dict[str, Any]]:
    """The `test` split of `config` one row (column -> value) at a time, in dataset order."""
    for batch in iter_bench(path, config, columns, batch_size):
        names = list(batch)
        for values in zip(*batch.values()):
            yield dict(zip(names, values))


def image_bytes(cell: dict[str, Any] | None) -> bytes | None:
    """The encoded file of one undecoded image cell: its bytes, else the file its path names.

    The path is opened with fsspec, so a plain file and a chained URL into an archive
    (`zip://member::/abs/pack.zip`, as datasets writes for images read from archives) both work.
    None when the cell has neither.
    """
    import fsspec  # deferred, fsspec: ~0.1 s to import, only once a file is opened

    if not cell:
        return None
    if cell.get("bytes"):
        return cell["bytes"]
    path = cell.get("path")
    if not path:
        return None
    try:
        with fsspec.open(path, "rb") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None


MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8", "jpg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"), (b"BM", "bmp"),
         (b"II*\x00", "tif"), (b"MM\x00*", "tif"))
MIME = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp", "tif": "image/tiff", "webp": "image/webp",
        "bin": "application/octet-stream"}


def image_extension(data: bytes) -> str:
    """File extension from the image's magic bytes (the dataset stores encoded files); "bin" if unknown."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((ext for magic, ext in MAGIC if data.startswith(magic)), "bin")


def usable_rows(path: str | os.PathLike, config: str, columns: list[str], rejects: RejectLog,
                batch_size: int = BATCH) -> Iterator[tuple[dict[str, Any], list[bytes]]]:
    """(row, image files) for every row a model can be asked; the others go to `rejects`.

    A row is refused for a repeated id, a task outside the 20, or an image with no bytes and no
    readable path. `columns` must hold id and task; with `image` the files come in row order.
    """
    seen: set[int] = set()
    for row in iter_rows(path, config, columns, batch_size):
        ident, task = int(row["id"]), row["task"]
        record = {"id": ident, "task": task}
        if ident in seen:
            rejects.add(f"duplicate id: {ident}", record=record)
            continue
        if task not in BENCH_TASKS:
            rejects.add(f"unknown task: {task}", record=record)
            continue
        images = [image_bytes(cell) for cell in row.get("image") or []]
        if any(data is None for data in images):
            rejects.add("image without bytes or readable path", record=record)
            continue
        seen.add(ident)
        yield row, images

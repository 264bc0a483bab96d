"""Reading a SPAR-Bench dataset (ours or anything with the hub columns) for the eval commands.

The `test` split is streamed (`streaming=True`) with only the needed columns: nothing is copied
into the datasets cache, so a rebuilt dataset is never shadowed by a stale cached copy (the cache
key of a local folder does not change when its files do), and scoring never reads the images.
Errors become SparError naming the dataset, the config and the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from spar_hf.errors import SparError

HUB_COLUMNS = ("id", "img_type", "format_type", "task", "source", "image", "question", "answer")
SPLIT = "test"
BATCH = 256


def _first_line(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def iter_bench(path: str | os.PathLike, config: str, columns: list[str], batch_size: int = BATCH) -> Iterator[dict[str, list[Any]]]:
    """Batches (column -> list) of the `test` split of `config`; images come undecoded as {bytes, path}
    with their bytes filled in (`with_bytes`)."""
    import datasets
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
        for batch in stream.iter(batch_size=batch_size):
            if "image" in batch:
                batch["image"] = [[with_bytes(image) for image in images or []] for images in batch["image"]]
            yield batch
    except (pyarrow.ArrowException, datasets.exceptions.DatasetGenerationError, OSError, KeyError) as exc:
        raise SparError(
            f"{path} (config {config}): cannot read columns {', '.join(columns)} ({_first_line(exc)}); "
            f"a SPAR-Bench dataset has {', '.join(HUB_COLUMNS)}"
        ) from None


def with_bytes(image: dict[str, Any]) -> dict[str, Any]:
    """An undecoded image with its bytes: a pack build streams images as paths into their zip
    (`zip://<member>::<pack>`), which fsspec opens (locally or on the hub)."""
    if image.get("bytes") or not image.get("path"):
        return image
    import fsspec

    with fsspec.open(image["path"], "rb") as handle:
        return {"bytes": handle.read(), "path": image["path"]}


def read_columns(path: str | os.PathLike, config: str, columns: list[str]) -> dict[str, list[Any]]:
    """The whole `test` split of `config` as column -> list (only `columns`)."""
    out: dict[str, list[Any]] = {c: [] for c in columns}
    for batch in iter_bench(path, config, columns):
        for column in columns:
            out[column].extend(batch[column])
    return out

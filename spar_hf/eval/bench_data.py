"""Loading a SPAR-Bench dataset (ours or anything with the hub columns) for the eval commands.

Only the needed columns are read (`columns=` of the Parquet loader), so scoring never touches
the images. Errors become SparError naming the dataset, the config and the reason.
"""

from __future__ import annotations

import os
from typing import Any

from spar_hf.errors import SparError

HUB_COLUMNS = ("id", "img_type", "format_type", "task", "source", "image", "question", "answer")
SPLIT = "test"


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def load_bench(path: str | os.PathLike, config: str, columns: list[str]) -> Any:
    """The `test` split of `config` in the dataset at `path`, restricted to `columns`.

    Returns a datasets.Dataset; SparError when the folder, config, split or a column is missing.
    """
    import datasets

    missing_cols = [c for c in columns if c not in HUB_COLUMNS]
    if missing_cols:
        raise ValueError(f"not SPAR-Bench columns: {missing_cols}")
    try:
        return datasets.load_dataset(str(path), config, split=SPLIT, columns=list(columns))
    except ValueError as exc:
        if "BuilderConfig" in str(exc) or "Unknown split" in str(exc) or "split" in str(exc).lower():
            raise SparError(f"{path}: {exc}") from None
        raise SparError(f"{path} (config {config}): {exc}") from None
    except (FileNotFoundError, ConnectionError) as exc:
        raise SparError(f"{path}: no dataset there ({_root_cause(exc)})") from None
    except datasets.exceptions.DatasetGenerationError as exc:
        raise SparError(
            f"{path} (config {config}): cannot read columns {', '.join(columns)} ({_root_cause(exc)}); "
            f"a SPAR-Bench dataset has {', '.join(HUB_COLUMNS)}"
        ) from None

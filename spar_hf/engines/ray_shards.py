"""`spar-hf shard --engine ray`: the same WebDataset shards as `spar_hf.shards.writer.write_shards`, built by Ray tasks.

The local writer streams rows and closes a shard when the next sample would pass `max_count` or
`max_size`, so a shard's rows depend on every earlier sample's tar size. Three steps keep exactly
those boundaries while the heavy work (decoding rows, baking markers, writing tars) runs in parallel:

1. measure (Ray tasks, one per `chunk_rows` rows): each row's tar cost, or its reject reason;
2. plan (driver): the writer's greedy rule over those costs gives every shard's first row and count;
3. write (Ray tasks, one per shard): the shard's rows, with the writer's tar settings, to its final
   name (atomic); the driver then writes rejects and the index, last, as the writer does.

With `--bake-markers` the marked images are drawn twice (measure and write): the price of knowing
the boundaries before writing. `--resume` reuses a complete index with the same parameters;
otherwise every shard is rewritten (a shard is one task, so a retried task just rewrites it).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable

from spar_hf.errors import SparError

CHUNK_ROWS = 2048


def _measure(files: list[str], start: int, stop: int, config: str, split: str,
             bake_markers: bool) -> list[tuple[int, int | None, dict[str, Any] | None]]:
    """(row, tar cost, None) per convertible row in [start, stop), or (row, None, reject row)."""
    from spar_hf.shards.writer import RowError, iter_rows, reject_row, row_to_sample, tar_cost

    out: list[tuple[int, int | None, dict[str, Any] | None]] = []
    for row_no, row in iter_rows([Path(f) for f in files], start):
        if row_no >= stop:
            break
        try:
            out.append((row_no, tar_cost(row_to_sample(row, row_no, bake_markers)), None))
        except RowError as exc:
            out.append((row_no, None, reject_row(config, split, row_no, row, exc)))
    return out


def _write_shard(files: list[str], out: str, name: str, start: int, stop: int, bake_markers: bool) -> Any:
    """Write rows [start, stop) (rejects skipped) as one tar, exactly as the local writer's open/close do."""
    from spar_hf.atomic import atomic_open
    from spar_hf.shards.index import ShardInfo
    from spar_hf.shards.writer import RowError, _HashingWriter, iter_rows, open_tar, row_to_sample

    path = Path(out) / name
    count = 0
    with atomic_open(path, "wb", encoding=None) as handle:
        writer = _HashingWriter(handle)
        tar = open_tar(writer)
        for row_no, row in iter_rows([Path(f) for f in files], start):
            if row_no >= stop:
                break
            try:
                sample = row_to_sample(row, row_no, bake_markers)
            except RowError:
                continue
            tar.write(sample)
            count += 1
        tar.close()
    os.chmod(path, 0o644)
    return ShardInfo(name, count, writer.size, writer.sha.hexdigest(), start)


def plan(costs: list[tuple[int, int]], max_size: int, max_count: int) -> list[tuple[int, int]]:
    """(first row, samples) per shard: the local writer's rule, a new shard when the next sample
    would make the current one hold more than `max_count` samples or exceed `max_size` bytes closed."""
    from spar_hf.shards.writer import closed_size

    shards: list[tuple[int, int]] = []
    first, count, payload = None, 0, 0
    for row_no, cost in costs:
        if first is not None and (count >= max_count or closed_size(payload + cost) > max_size):
            shards.append((first, count))
            first = None
        if first is None:
            first, count, payload = row_no, 0, 0
        count += 1
        payload += cost
    if first is not None:
        shards.append((first, count))
    return shards


def write_shards_ray(hf_dir: str | Path, config: str, split: str, out_dir: str | Path, *, max_size: int = 10**9,
                     max_count: int = 100_000, bake_markers: bool = False, resume: bool = False,
                     on_row: Callable[[], None] | None = None, address: str | None = None,
                     chunk_rows: int = CHUNK_ROWS) -> Any:
    """`spar_hf.shards.writer.write_shards` on Ray: same arguments, same files, same `ShardRun`."""
    from spar_hf.engines.ray_engine import map_ordered, ray_session
    from spar_hf.shards.index import index_name, shard_name, shard_stem
    from spar_hf.shards.writer import _finish, _finished, _start

    if chunk_rows < 1:
        raise SparError("--max-count and --max-size must be positive")
    hf_dir, out = Path(hf_dir).resolve(), Path(out_dir).resolve()
    files, columns, params, total = _start(hf_dir, config, split, out, max_size, max_count, bake_markers)
    idx_path = out / index_name(config, split)
    if resume and (finished := _finished(idx_path, params, total)) is not None:
        return finished
    for stale in out.glob(f"{shard_stem(config, split)}-*.tar"):
        stale.unlink()
    with contextlib.suppress(FileNotFoundError):
        idx_path.unlink()

    names = [str(f) for f in files]
    chunks = {start: (names, start, min(start + chunk_rows, total), config, split, bake_markers)
              for start in range(0, total, chunk_rows)}
    with ray_session(address) as _:
        measured = map_ordered(_measure, chunks, address=address)
        costs: list[tuple[int, int]] = []
        rejects: list[dict[str, Any]] = []
        for rows in measured.values():
            for row_no, cost, reject in rows:
                if on_row:
                    on_row()
                if reject is None:
                    costs.append((row_no, cost))
                else:
                    rejects.append(reject)
        layout = plan(costs, max_size, max_count)
        bounds = [first for first, _ in layout[1:]] + [total]
        calls = {i: (names, str(out), shard_name(config, split, i), first, stop, bake_markers)
                 for i, ((first, _), stop) in enumerate(zip(layout, bounds))}
        shards = list(map_ordered(_write_shard, calls, address=address).values())
    for info, (_, expected) in zip(shards, layout):
        if info.samples != expected:
            raise SparError(f"{out / info.name}: {info.samples} samples written, {expected} planned (input changed?)")

    return _finish(out, config, split, params=params, columns=columns, bake_markers=bake_markers, shards=shards,
                   rejects=rejects, samples=len(costs), total=total, resumed_rows=0)

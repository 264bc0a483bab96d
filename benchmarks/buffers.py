"""Does the batch memory machinery (spar_hf.train.buffers) pay for itself? The loader with it against plain
allocation, on the same shards, in one run, sides taking turns.

Sides:
  buffers  the loader as it is: in the main process `BufferPool` (a few buffers reused once released), in
           DataLoader workers `WorkerBuffers` (shared memory written again once the main process lets a
           batch go);
  plain    what a collate would do without it: `np.empty` (packed, every byte written) or `np.zeros`
           (padded) in whichever process batches; a worker's batch then reaches the main process the way
           torch sends any tensor, copied into fresh shared memory by the DataLoader's queue.
Both sides run the same code except the batch memory (the plain side swaps `collate._zeros` and gives
SparLoader no `WorkerBuffers`; workers are forked after the swap, so they inherit it).

Modes, each with the packed (default) and the padded layout, batch --batch-size:
  num_workers=0  CPU seconds of this process; the sides take turns every --turn rows (the shared machine's
                 speed drifts within seconds, so only sides measured side by side compare);
  num_workers=2  whole epochs (fresh workers each, workers prefetch, so turns within an epoch would let one
                 side's workers run ahead during the other's turn), sides alternating A, B, A, B; wall rows/s
                 and CPU of this process plus its workers (counted once they are joined at the epoch's end).
Per side: rows/s of each repeat, the median and the spread (min-max); per mode the ratio of medians
buffers / plain and the median of the per-repeat (paired) ratios.
JSON: value = buffers, reference = plain, rows per CPU second (all processes) with num_workers=2, packed;
ratio = value / reference; target 1.1 (the buffers must beat plain allocation by 10% to be kept).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loader import _interleaved, _make_build  # noqa: E402  (the loader benchmark's build and turn-taking)

TARGET = 1.1
SIDES = ("buffers", "plain")
LAYOUTS = ("packed", "padded")


def _plain_zeros(shape: tuple[int, ...], dtype: type, ring: Any, slots: dict[str, int], field: str,
                 zeroed: bool = True) -> tuple[np.ndarray, torch.Tensor, Callable[[np.ndarray], None]]:
    """collate._zeros without buffers: new memory for every batch."""
    array = np.zeros(shape, dtype) if zeroed else np.empty(shape, dtype)
    return array, torch.from_numpy(array), lambda part: None


class _Memory:
    """Switches the loader between the sides (module attributes, so forked workers inherit the current one)."""

    def __init__(self):
        import spar_hf.train.collate as collate
        import spar_hf.train.loader as loader

        self.collate, self.loader = collate, loader
        self.original = (collate._zeros, loader.WorkerBuffers)

    def use(self, side: str) -> None:
        plain = (_plain_zeros, lambda workers, per_worker: None)
        self.collate._zeros, self.loader.WorkerBuffers = self.original if side == "buffers" else plain


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _epoch(memory: _Memory, side: str, index: Path, layout: str, batch_size: int, workers: int,
           shuffle_chunks: int, epoch_rows: int | None) -> tuple[int, float, float]:
    """One epoch with `workers` DataLoader workers (`epoch_rows` rows drawn with replacement, or the split once):
    (rows, wall seconds, CPU seconds of this process and its workers)."""
    from spar_hf.train.loader import make_loader

    memory.use(side)
    resample = {"resampled": True, "epoch_samples": epoch_rows} if epoch_rows else {}
    loader = make_loader(str(index), batch_size=batch_size, num_workers=workers, seed=0, layout=layout,
                         shuffle_chunks=shuffle_chunks, **resample)
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    start, rows = time.perf_counter(), 0
    for batch in loader:
        rows += len(batch["id"])
    wall = time.perf_counter() - start
    return rows, wall, _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu


def _summary(rates: dict[str, list[float]]) -> str:
    lines = [f"  {side:8s} median {statistics.median(r):7.1f}  spread {min(r):.1f}-{max(r):.1f}  "
             f"repeats {' '.join(f'{x:.1f}' for x in r)}" for side, r in rates.items()]
    for other in (side for side in rates if side != "buffers"):
        paired = statistics.median(b / o for b, o in zip(rates["buffers"], rates[other]))
        ratio = statistics.median(rates["buffers"]) / statistics.median(rates[other])
        lines.append(f"  buffers/{other}: ratio of medians {ratio:.3f}, paired median {paired:.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=None, help="existing HF_DIR (default: make one, as benchmarks/loader.py)")
    parser.add_argument("--config", default="7m")
    parser.add_argument("--split", default="train")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epoch-rows", type=int, default=None,
                        help="rows per num_workers epoch, drawn with replacement (default: the split once); longer "
                             "epochs weigh the workers' first allocations of their buffers less")
    parser.add_argument("--turn", type=int, default=64, help="rows each side handles before the next takes its turn")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--shuffle-chunks", type=int, default=8)
    parser.add_argument("--chunk-frames", type=int, default=32)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-buffers-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["HF_DATASETS_CACHE"] = str(tmp / "cache")

        from spar_hf.shards.writer import write_shards
        from spar_hf.train.loader import make_loader

        hf = Path(args.dataset) if args.dataset else _make_build(tmp, 3, 24)
        run = write_shards(hf, args.config, args.split, tmp / "shards", max_size=200_000_000, max_frames=args.chunk_frames)
        index = tmp / "shards" / f"spar-{args.config}-{args.split}.index.json"
        rows = run.index.rows
        memory = _Memory()

        def in_process(side: str, layout: str):
            def passes():
                memory.use(side)
                batches = iter(make_loader(str(index), batch_size=args.batch_size, num_workers=0, seed=0,
                                           layout=layout, shuffle_chunks=args.shuffle_chunks))
                while True:
                    memory.use(side)  # the sides take turns: collate runs here, with this side's memory
                    batch = next(batches, None)
                    if batch is None:
                        return
                    yield len(batch["id"])
            return passes

        sides = {(side, layout): in_process(side, layout) for layout in LAYOUTS for side in SIDES}
        for make in sides.values():  # warm-up: imports, first shard open, page cache
            for _ in make():
                pass
        gc.collect()
        gc.freeze()
        times = _interleaved(sides, rows, args.repeats, args.turn)
        results: dict[str, dict[str, dict[str, list[float]]]] = {}
        for layout in LAYOUTS:
            results[f"num_workers=0 {layout} rows/CPU-s"] = {side: [rows / t for t in times[(side, layout)]] for side in SIDES}

        for layout in LAYOUTS:
            _epoch(memory, "buffers", index, layout, args.batch_size, args.workers, args.shuffle_chunks, args.epoch_rows)  # warm-up
        wall: dict[str, dict[str, list[float]]] = {layout: {side: [] for side in SIDES} for layout in LAYOUTS}
        cpu: dict[str, dict[str, list[float]]] = {layout: {side: [] for side in SIDES} for layout in LAYOUTS}
        for repeat in range(args.repeats):
            for layout in LAYOUTS:
                for side in (SIDES if repeat % 2 == 0 else SIDES[::-1]):
                    n, seconds, cpu_seconds = _epoch(memory, side, index, layout, args.batch_size, args.workers,
                                                     args.shuffle_chunks, args.epoch_rows)
                    assert n == (args.epoch_rows or rows), (side, layout, n, rows)
                    wall[layout][side].append(n / seconds)
                    cpu[layout][side].append(n / cpu_seconds)
        for layout in LAYOUTS:
            results[f"num_workers={args.workers} {layout} rows/s"] = wall[layout]
            results[f"num_workers={args.workers} {layout} rows/CPU-s (all processes)"] = cpu[layout]
        memory.use("buffers")

    print(f"rows={rows} epoch_rows={args.epoch_rows or rows} samples={run.index.samples} config={args.config} batch_size={args.batch_size} "
          f"shuffle_chunks={args.shuffle_chunks} repeats={args.repeats}")
    for name, rates in results.items():
        print(f"{name}:\n{_summary(rates)}")
    headline = results[f"num_workers={args.workers} packed rows/CPU-s (all processes)"]
    value, reference = statistics.median(headline["buffers"]), statistics.median(headline["plain"])
    print(json.dumps({"benchmark": "buffers",
                      "metric": f"QA rows per CPU second (main process + {args.workers} DataLoader workers), packed batches "
                                f"of {args.batch_size}: batch memory from spar_hf.train.buffers vs plain allocation",
                      "unit": "rows/s", "value": round(value, 2), "reference": round(reference, 2),
                      "ratio": round(value / reference, 3), "target": TARGET,
                      "ratios": {f"{name} buffers/{other}": round(statistics.median(r["buffers"]) / statistics.median(r[other]), 3)
                                 for name, r in results.items() for other in r if other != "buffers"}}))


if __name__ == "__main__":
    main()

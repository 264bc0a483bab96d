"""Run independent units of work (one scene, one pack, one shard) here, in a process pool, or as Ray tasks.

Every unit is a top-level function over one picklable job that writes its own files under a
name fixed before it runs, so the output does not depend on where or in what order units run.
`run_units` yields (job index, result) as units finish; the caller puts results back in job order.
A unit that raises stops the run with that exception (with the worker's traceback attached), or, with
`keep_going`, is yielded as its result, so one bad unit (a scene) does not lose the others.
"""

from __future__ import annotations

import multiprocessing
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator, Sequence

from spar_hf.engines.ray_engine import run_tasks
from spar_hf.errors import SparError

ENGINES = ("local", "ray")


def run_units(func: Callable[[Any], Any], jobs: Sequence[Any], *, workers: int = 1, engine: str = "local",
              address: str | None = None, keep_going: bool = False) -> Iterator[tuple[int, Any]]:
    """`func(job)` for every job: in this process (workers <= 1), a spawn process pool, or Ray."""
    if engine not in ENGINES:
        raise SparError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "ray":
        yield from _ray(func, jobs, workers, address)
    elif workers <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            try:
                result = func(job)
            except Exception as exc:
                if not keep_going:
                    raise
                exc.traceback_text = traceback.format_exc()
                result = exc
            yield i, result
    else:
        yield from _pool(func, jobs, workers, keep_going)


def _pool(func: Callable[[Any], Any], jobs: Sequence[Any], workers: int, keep_going: bool) -> Iterator[tuple[int, Any]]:
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(func, job): i for i, job in enumerate(jobs)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.get):
                    i = pending.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:
                        exc.traceback_text = "".join(traceback.format_exception(exc))
                        if not keep_going:
                            raise
                        result = exc
                    yield i, result
        finally:
            for future in pending:
                future.cancel()


def _ray(func: Callable[[Any], Any], jobs: Sequence[Any], workers: int, address: str | None) -> Iterator[tuple[int, Any]]:
    for i, result in run_tasks(func, list(range(len(jobs))), [(job,) for job in jobs], address=address,
                               num_cpus=workers if workers > 1 else None):
        if isinstance(result, BaseException):
            raise result
        yield i, result

"""Wait at interpreter exit for Arrow's background reads, so a script that streamed with datasets exits 0.

Why. datasets streams Parquet files (a config's shards, and imagefolder's `metadata.parquet` inside a
zip) with `ParquetFileFragment.to_batches` on a Python file object. A script that stops reading
part-way drops the Python iterator, but Arrow's CPU and IO thread pools still run its tasks (the
next row group's read and decode), and their buffers wrap Python bytes: letting go of them takes the
GIL. Once the interpreter has begun finalizing, Python ends any other thread that asks for the GIL
with pthread_exit. Unwinding through Arrow's noexcept task code calls std::terminate ("terminate
called without an active exception", exit 134); or the worker dies quietly and, at exit(), Arrow's
pool destructor waits for it forever (a hang). Upstream: huggingface/datasets#7467,
apache/arrow#45214; datasets 5.2 only works around it (a gc.collect) for pyarrow <= 24.

What. `install()` (called by spar_hf/__init__.py) registers an atexit hook that, if pyarrow was
imported, waits with the GIL released until neither pool has a task queued or running, for at most
`DEADLINE_S`. Teardown then starts with no Arrow thread that still needs Python, and atexit hooks
run before that teardown, so the wait happens while those threads can still take the GIL. pyarrow
has no Python call for the task count; it is read with `arrow::internal::ThreadPool::GetNumTasks`
through ctypes on the libarrow that pyarrow loaded. Where those symbols are missing (another build
of pyarrow) nothing is waited for and the exit is as it was.
"""

from __future__ import annotations

import atexit
import ctypes
import sys
import time
from functools import lru_cache
from typing import Callable

DEADLINE_S = 10.0  # in-flight reads of one row group take milliseconds; this only bounds a pathological case
POLL_S = 0.002
_CPU_POOL = "_ZN5arrow8internal16GetCpuThreadPoolEv"  # arrow::internal::GetCpuThreadPool()
_IO_POOL = "_ZN5arrow2io8internal15GetIOThreadPoolEv"  # arrow::io::internal::GetIOThreadPool()
_NUM_TASKS = "_ZN5arrow8internal10ThreadPool11GetNumTasksEv"  # ThreadPool::GetNumTasks(): queued + running


@lru_cache(maxsize=1)
def _task_counter() -> Callable[[], int] | None:
    """A function returning the tasks queued or running in Arrow's IO and CPU pools, or None if unreadable."""
    try:
        import pyarrow.lib  # deferred: only a process that already loaded pyarrow gets here

        lib = ctypes.CDLL(pyarrow.lib.__file__)  # its symbols resolve through the libarrow it links
        cpu_pool, io_pool, num_tasks = (getattr(lib, name) for name in (_CPU_POOL, _IO_POOL, _NUM_TASKS))
    except (ImportError, OSError, AttributeError):
        return None
    cpu_pool.restype = io_pool.restype = ctypes.c_void_p
    num_tasks.argtypes, num_tasks.restype = [ctypes.c_void_p], ctypes.c_int
    pools = (io_pool(), cpu_pool())  # IO first: a finished read hands its decode to the CPU pool before it ends
    return lambda: sum(num_tasks(pool) for pool in pools)


def arrow_tasks() -> int | None:
    """Tasks queued or running in Arrow's IO and CPU thread pools now (None: not readable in this pyarrow)."""
    counter = _task_counter()
    return None if counter is None else counter()


def wait_for_arrow(deadline_s: float = DEADLINE_S) -> bool:
    """Sleep (GIL released) until Arrow's pools are idle on two readings in a row; False if not by the deadline
    or not readable."""
    counter = _task_counter()
    if counter is None:
        return False
    end = time.monotonic() + deadline_s
    idle = 0
    while idle < 2:
        idle = idle + 1 if counter() == 0 else 0
        if idle < 2:
            if time.monotonic() >= end:
                return False
            time.sleep(POLL_S)
    return True


def _at_exit() -> None:
    if "pyarrow" in sys.modules:  # nothing to wait for in a process that never loaded Arrow
        wait_for_arrow()


def install() -> None:
    """Register the exit hook (once per process)."""
    atexit.unregister(_at_exit)
    atexit.register(_at_exit)

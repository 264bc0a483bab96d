"""Batch memory, reused: in the main process, and in DataLoader workers once the main process lets a batch go.

In the main process a buffer is reused once nothing holds the batch last made in it. A fresh batch
array is new memory from the OS, and every page of it pays a fault on first write
(on this project's VMs 3-5 us a page, 0.7-1.1 ms per 640x480 view: more than decoding the JPEG).
A training loop holds one batch while the next is built and then lets it go, so a few buffers
taking turns keep the memory warm. Whether a buffer is still in use is read off its reference
count: every array view and tensor made from it refers to it, so a buffer that anyone still holds
(the training loop, a pinned copy in progress, a kept view) is never written. Only what the last
batch wrote is zeroed again before reuse.

A worker's batch must be in shared memory to reach the main process, which owns it from then on:
`WorkerBuffers` lets a worker write the same shared buffers again once the main process has let go
of the batches sent in them (without it, fresh shared memory per batch: `shared_zeros`).

What this buys over a new `np.empty`/`np.zeros` per batch (benchmarks/buffers.py, 2026-12-06, batch 8,
2,846 rows, rows per CPU second): 1.17x packed, 1.46x padded with num_workers=0; with num_workers=2
3.8x packed, 9.1x padded (a plain worker batch is copied into fresh shared memory when sent).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from typing import Any, Callable

import numpy as np

try:
    from numpy.lib.array_utils import byte_bounds
except ImportError:  # numpy < 2
    byte_bounds = np.byte_bounds

_IDLE_REFS = 2  # an idle buffer's array is referred to by the Buffer and by getrefcount's argument


def _nbytes(shape: tuple[int, ...], dtype: type) -> int:
    return int(np.prod(shape)) * np.dtype(dtype).itemsize


class Buffer:
    """One flat byte buffer handed out as a zeroed array; `mark` remembers what was written, to zero it next time."""

    def __init__(self, flat: np.ndarray):
        self.flat = flat  # zeroed uint8
        self._dirty: list[tuple[int, int]] = []

    @property
    def nbytes(self) -> int:
        return self.flat.nbytes

    def idle(self) -> bool:
        return sys.getrefcount(self.flat) <= _IDLE_REFS

    def take(self, shape: tuple[int, ...], dtype: type, zeroed: bool = True) -> np.ndarray:
        """An array of `shape` on this buffer: zeroed (what was written since the last zeroed take is cleared),
        or with `zeroed=False` as it is, for a caller that writes every byte (the whole span is then marked)."""
        size = _nbytes(shape, dtype)
        array = self.flat[:size].view(dtype).reshape(shape)
        if not zeroed:
            self._dirty.append(byte_bounds(self.flat[:size]))
            return array
        base = self.flat.ctypes.data
        for low, high in self._dirty:
            self.flat[low - base:high - base] = 0
        self._dirty.clear()
        return array

    def mark(self, part: np.ndarray) -> None:
        """`part` (of the array from `take`) is about to be written: zero its bytes on the next `take`."""
        self._dirty.append(byte_bounds(part))


class BufferPool:
    """Up to `keep` buffers (two batches of images and depth) handed out as zeroed arrays."""

    def __init__(self, keep: int = 4):
        self.keep = keep
        self._buffers: list[Buffer] = []
        self._lock = threading.Lock()  # between finding an idle buffer and taking it, nobody else may

    def zeros(self, shape: tuple[int, ...], dtype: type,
              zeroed: bool = True) -> tuple[np.ndarray, Callable[[np.ndarray], None]]:
        """A zeroed array (unless `zeroed=False`: every byte will be written) and the `mark(part)` to call
        before writing a part of it.

        An idle buffer big enough is reused; otherwise a new one replaces an idle smaller one, or is
        kept while there is room, or (every kept buffer busy) serves this array only.
        """
        nbytes = _nbytes(shape, dtype)
        with self._lock:
            idle = [i for i, b in enumerate(self._buffers) if b.idle()]
            buffer = next((self._buffers[i] for i in idle if self._buffers[i].nbytes >= nbytes), None)
            if buffer is None:
                buffer = Buffer(np.zeros(nbytes, np.uint8))  # calloc: pages nobody writes are never allocated
                if idle:
                    self._buffers[idle[0]] = buffer
                elif len(self._buffers) < self.keep:
                    self._buffers.append(buffer)
            return buffer.take(shape, dtype, zeroed), buffer.mark


def shared_zeros(shape: tuple[int, ...], dtype: type) -> Any:
    """A zeroed torch tensor in shared memory (torch's public `share_memory_`), which a DataLoader worker
    sends to the main process by handle, not by copy.

    Sparse memfds through torch's private `_new_shared_fd_cpu` measured no faster (benchmarks/buffers.py:
    0.96-1.01x in CPU with WorkerBuffers over 20,000-row epochs, 1.01-1.02x without reuse), so only the
    public API is used: it works under either sharing strategy.
    """
    import torch  # deferred, the 'train' extra

    return torch.from_numpy(np.zeros(shape, dtype)).share_memory_()


def _tensor_on(storage: Any, shape: tuple[int, ...], dtype: type) -> Any:
    """A tensor of `shape` and numpy `dtype` over the start of a torch storage."""
    import torch  # deferred, the 'train' extra

    return torch.empty(0, dtype=torch.from_numpy(np.empty(0, dtype)).dtype).set_(storage, 0, shape)


class SharedBuffer(Buffer):
    """A Buffer in shared memory: it stays mapped in the worker, so writing it again faults no page."""

    def __init__(self, nbytes: int):
        self.memory = shared_zeros((nbytes,), np.uint8)
        super().__init__(self.memory.numpy())

    def tensor(self, shape: tuple[int, ...], dtype: type) -> Any:
        """The tensor over the array `take(shape, dtype)` returns (the same memory, sent by file descriptor)."""
        return _tensor_on(self.memory.untyped_storage(), shape, dtype)


_FREE, _BUSY = 0, 1


class WorkerBuffers:
    """Shared batch buffers that DataLoader workers reuse once the main process has let them go.

    Made in the main process for one pass of a DataLoader (`per_worker` slots for each worker) and
    handed to the workers inside the collate function. A worker takes a free slot for a batch array
    and names it in the batch; the main process (`SparLoader`) watches the storage of each tensor it
    receives and frees its slot once the storage has expired, i.e. nothing in the main process (the
    training loop, a pinned copy, a kept view) refers to it any more. A worker with no free slot uses
    fresh shared memory. Slot states live in shared memory; only a worker sets a slot busy and only
    the main process sets it free again.
    """

    def __init__(self, workers: int, per_worker: int):
        self.per_worker = per_worker
        self._busy = multiprocessing.RawArray("b", workers * per_worker)
        self._uses = multiprocessing.RawArray("i", workers * per_worker)
        self._buffers: dict[int, SharedBuffer] = {}  # worker side
        self._watched: list[tuple[int, Any]] = []  # main side: (slot, weak reference to the storage sent in it)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_buffers": {}, "_watched": []}

    @property
    def reused(self) -> int:
        """How many times a worker wrote a batch into a buffer it had written before (all workers so far)."""
        return sum(max(0, n - 1) for n in self._uses)

    def zeros(self, shape: tuple[int, ...], dtype: type,
              zeroed: bool = True) -> tuple[np.ndarray, Any, Callable[[np.ndarray], None], int]:
        """Worker side: (array, the tensor over it, `mark`, slot or -1 for fresh memory); `zeroed` as in Buffer.take."""
        import torch.utils.data  # deferred, the 'train' extra

        nbytes = _nbytes(shape, dtype)
        first = torch.utils.data.get_worker_info().id * self.per_worker
        for slot in range(first, first + self.per_worker):
            if self._busy[slot] == _FREE:
                buffer = self._buffers.get(slot)
                if buffer is None or buffer.nbytes < nbytes:
                    buffer = self._buffers[slot] = SharedBuffer(nbytes)
                self._busy[slot] = _BUSY
                self._uses[slot] += 1
                return buffer.take(shape, dtype, zeroed), buffer.tensor(shape, dtype), buffer.mark, slot
        tensor = shared_zeros(shape, dtype)
        return tensor.numpy(), tensor, no_mark, -1

    def give_back(self, slot: int) -> None:
        """Worker side: a slot taken for a batch that was never sent (a bad sample made it again)."""
        if slot >= 0:
            self._busy[slot] = _FREE

    def watch(self, slots: dict[str, int], batch: dict[str, Any]) -> None:
        """Main side: the batch's tensors named in `slots` live in those slots until their storages expire."""
        from torch.multiprocessing.reductions import StorageWeakRef  # deferred, the 'train' extra

        for field, slot in slots.items():
            if slot >= 0:
                self._watched.append((slot, StorageWeakRef(batch[field].untyped_storage())))

    def release(self) -> None:
        """Main side: free the slots whose batches nothing refers to any more."""
        kept = []
        for slot, ref in self._watched:
            if ref.expired():
                self._busy[slot] = _FREE
            else:
                kept.append((slot, ref))
        self._watched = kept


def no_mark(part: np.ndarray) -> None:
    """Fresh memory: nothing to zero later."""

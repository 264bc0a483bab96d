"""Batch QA rows with different view counts and image sizes: packed (default) or padded.

- packed, the way Qwen2-VL-style processors take images: every view of the batch once, one after
  another, in one flat uint8 tensor (`images` [P, 3], P the pixels of all views), with each view's
  size and offset and each row's range of views (`row_views`); `views_of(batch, i)` gives row i's
  views as HxWx3 tensors without copying. No padding: bytes move in proportion to real pixels.
- padded: `images` uint8 [B, V, 3, H, W] with zero padding and a `view_mask`.

Views come as arrays (a chunk's images decoded once and shared by its rows: what `make_loader`
batches), PIL images, or their stored bytes: a JPEG is then decoded by libjpeg-turbo straight into
its slot of the batch. Batch memory is already mapped (spar_hf.train.buffers): fresh memory costs a
page fault per 4 KB, more than copying a decoded view.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from spar_hf.train.buffers import BufferPool, WorkerBuffers, no_mark, shared_zeros
from spar_hf.train.decode import decode_depth, decode_rgb_array, decode_rgb_into, jpeg_size

TEXT_FIELDS = ("id", "task", "question", "answer")
LAYOUTS = ("packed", "padded")
_POOL = BufferPool()
_ENCODED = (bytes, bytearray, memoryview)


class BadSample(ValueError):
    """A view or depth map of one sample of a batch that cannot be decoded; `index` says which sample."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


def _rgb(image: Any) -> np.ndarray:
    array = np.asarray(image)  # a PIL image pays Pillow's repacking here; arrays pass as they are
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return array[:, :, :3]


def _view(view: Any) -> tuple[tuple[int, int], Any]:
    """((h, w), source): JPEG bytes to decode in place, or an HxWx3 array."""
    if isinstance(view, _ENCODED):
        data = bytes(view)
        size = jpeg_size(data)
        if size is not None:
            return size, data
        view = decode_rgb_array(data)
    array = _rgb(view)
    return array.shape[:2], array


def _zeros(shape: tuple[int, ...], dtype: type, ring: WorkerBuffers | None, slots: dict[str, int], field: str,
           zeroed: bool = True) -> tuple[np.ndarray, Any, Callable[[np.ndarray], None]]:
    """An array to fill (zeroed, unless `zeroed=False`: the caller writes every byte), the tensor sharing its
    memory, and `mark(part)` to call before writing a part of a zeroed array.

    In a DataLoader worker the memory is shared memory from the start (as torch's default_collate
    does): a tensor in ordinary memory would be copied whole into shared memory to reach the main
    process, padding included (a batch of 8 with 5 views of 640x480 is 37 MB, mostly zeros). With
    `ring` (SparLoader's workers) a buffer the main process has let go is written again; the slot
    used goes into `slots[field]`. In the main process the memory comes from the buffer pool.
    """
    import torch.utils.data  # deferred, the 'train' extra

    if torch.utils.data.get_worker_info() is not None:
        if ring is not None:
            array, tensor, mark, slots[field] = ring.zeros(shape, dtype, zeroed)
            return array, tensor, mark
        tensor = shared_zeros(shape, dtype)
        return tensor.numpy(), tensor, no_mark
    array, mark = _POOL.zeros(shape, dtype, zeroed)
    return array, torch.from_numpy(array), mark


def _depth(sample: dict[str, Any], j: int) -> np.ndarray:
    d = sample["depth"][j]
    return decode_depth(f"{sample.get('__key__')}.{j}.depth.png", bytes(d)) if isinstance(d, _ENCODED) else d


def _guarded(index: int, sample: dict[str, Any], what: str, work: Callable[[], Any]) -> Any:
    try:
        return work()
    except Exception as exn:  # noqa: BLE001 - any decoder error: this sample is bad, the rest of the batch is not
        raise BadSample(index, f"sample {sample.get('__key__')} @ {sample.get('__url__')}: {what}: "
                               f"{type(exn).__name__}: {exn}") from exn


def _text(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "json": [s["json"] for s in samples],
        "__key__": [s["__key__"] for s in samples],
        "__url__": [s["__url__"] for s in samples],
    }
    for field in TEXT_FIELDS:
        out[field] = [s["json"].get(field) for s in samples]
    return out


def _fill(i: int, sample: dict[str, Any], j: int, slot: np.ndarray, source: Any) -> None:
    if isinstance(source, bytes):
        _guarded(i, sample, f"view {j}", lambda: decode_rgb_into(source, slot))
    else:
        slot[...] = source


def _collate_packed(samples: Sequence[dict[str, Any]], ring: WorkerBuffers | None, slots: dict[str, int]) -> dict[str, Any]:
    import torch  # deferred, the 'train' extra

    views = [[_guarded(i, s, f"view {j}", lambda view=view: _view(view)) for j, view in enumerate(s["images"])]
             for i, s in enumerate(samples)]
    sizes = np.array([size for a in views for size, _ in a], dtype=np.int64).reshape(-1, 2)
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes[:, 0] * sizes[:, 1], out=offsets[1:])
    row_views = np.zeros(len(samples) + 1, dtype=np.int64)
    np.cumsum([len(a) for a in views], out=row_views[1:])
    images, images_tensor, _ = _zeros((int(offsets[-1]), 3), np.uint8, ring, slots, "images", zeroed=False)
    n = 0
    for i, sample_views in enumerate(views):  # every byte is written: no zeroing, no marks
        for j, ((vh, vw), source) in enumerate(sample_views):
            _fill(i, samples[i], j, images[offsets[n]:offsets[n + 1]].reshape(vh, vw, 3), source)
            n += 1
    batch = {"images": images_tensor, "image_sizes": torch.from_numpy(sizes),
             "image_offsets": torch.from_numpy(offsets), "row_views": torch.from_numpy(row_views), **_text(samples)}
    if all("depth" in s for s in samples):
        depths = [_guarded(i, s, f"depth {j}", lambda j=j, s=s: _depth(s, j)) for i, s in enumerate(samples)
                  for j in range(len(s["depth"]))]
        dsizes = np.array([d.shape[:2] for d in depths], dtype=np.int64).reshape(-1, 2)
        doffsets = np.zeros(len(depths) + 1, dtype=np.int64)
        np.cumsum(dsizes[:, 0] * dsizes[:, 1], out=doffsets[1:])
        depth, depth_tensor, _ = _zeros((int(doffsets[-1]),), np.uint16, ring, slots, "depth", zeroed=False)
        for n, d in enumerate(depths):
            depth[doffsets[n]:doffsets[n + 1]] = d.reshape(-1)
        pose = np.stack([np.asarray(p, np.float32) for s in samples for p in s["pose"]]) if depths else np.zeros((0, 4, 4), np.float32)
        K = np.stack([np.asarray(k, np.float32) for s in samples for k in s["K"]]) if depths else np.zeros((0, 3, 3), np.float32)
        batch.update(depth=depth_tensor, depth_sizes=torch.from_numpy(dsizes), depth_offsets=torch.from_numpy(doffsets),
                     pose=torch.from_numpy(pose), K=torch.from_numpy(K))
    if ring is not None and slots:
        batch["__buffers__"] = dict(slots)  # SparLoader pops it and frees the slots when the batch is let go
    return batch


def views_of(batch: dict[str, Any], i: int, field: str = "images") -> list[Any]:
    """Row i's views of a packed batch as tensors without copying: HxWx3 uint8 (`images`) or HxW uint16 (`depth`)."""
    sizes = batch["image_sizes" if field == "images" else "depth_sizes"]
    offsets = batch["image_offsets" if field == "images" else "depth_offsets"]
    flat = batch[field]
    lo, hi = int(batch["row_views"][i]), int(batch["row_views"][i + 1])
    out = []
    for n in range(lo, hi):
        h, w = (int(v) for v in sizes[n])
        part = flat[int(offsets[n]):int(offsets[n + 1])]
        out.append(part.reshape(h, w, 3) if field == "images" else part.reshape(h, w))
    return out


def _collate_padded(samples: Sequence[dict[str, Any]], ring: WorkerBuffers | None, slots: dict[str, int]) -> dict[str, Any]:
    import torch  # deferred, the 'train' extra

    b = len(samples)
    views = [[_guarded(i, s, f"view {j}", lambda view=view: _view(view)) for j, view in enumerate(s["images"])]
             for i, s in enumerate(samples)]
    v = max(len(a) for a in views)
    h = max(size[0] for a in views for size, _ in a)
    w = max(size[1] for a in views for size, _ in a)
    images, images_tensor, mark = _zeros((b, v, h, w, 3), np.uint8, ring, slots, "images")
    mask = np.zeros((b, v), dtype=bool)
    sizes = np.zeros((b, v, 2), dtype=np.int64)
    for i, sample_views in enumerate(views):
        for j, ((vh, vw), source) in enumerate(sample_views):
            slot = images[i, j, :vh, :vw]
            mark(slot)
            _fill(i, samples[i], j, slot, source)
            mask[i, j] = True
            sizes[i, j] = (vh, vw)
    batch: dict[str, Any] = {
        "images": images_tensor.permute(0, 1, 4, 2, 3),
        "view_mask": torch.from_numpy(mask),
        "image_sizes": torch.from_numpy(sizes),
        **_text(samples),
    }
    if all("depth" in s for s in samples):
        depths = [[_guarded(i, s, f"depth {j}", lambda j=j, s=s: _depth(s, j)) for j in range(len(s["depth"]))]
                  for i, s in enumerate(samples)]
        dh = max(d.shape[0] for ds in depths for d in ds)
        dw = max(d.shape[1] for ds in depths for d in ds)
        depth, depth_tensor, mark = _zeros((b, v, dh, dw), np.uint16, ring, slots, "depth")
        pose = np.tile(np.eye(4, dtype=np.float32), (b, v, 1, 1))
        K = np.tile(np.eye(3, dtype=np.float32), (b, v, 1, 1))
        for i, s in enumerate(samples):
            for j, d in enumerate(depths[i]):
                slot = depth[i, j, : d.shape[0], : d.shape[1]]
                mark(slot)
                slot[...] = d
                pose[i, j] = s["pose"][j]
                K[i, j] = s["K"][j]
        batch.update(depth=depth_tensor, pose=torch.from_numpy(pose), K=torch.from_numpy(K))
    if ring is not None and slots:
        batch["__buffers__"] = dict(slots)  # SparLoader pops it and frees the slots when the batch is let go
    return batch


def collate(samples: Sequence[dict[str, Any]], handler: Callable[[BaseException], bool] | None = None,
            ring: WorkerBuffers | None = None, layout: str = "packed") -> dict[str, Any] | None:
    """A batch of QA rows.

    Packed (default; see the module docstring): `images` uint8 [P, 3], `image_sizes` int64 [N, 2] (h, w),
    `image_offsets` int64 [N + 1] (pixel offsets into `images`), `row_views` int64 [B + 1] (row i shows views
    row_views[i]:row_views[i + 1]); with depth `depth` uint16 [Q], `depth_sizes`, `depth_offsets`, and `pose`
    float32 [N, 4, 4], `K` float32 [N, 3, 3] per view.

    Padded:
    - `images`: uint8 [B, V, 3, H, W], V / H / W the batch maxima, padding zero (bottom/right);
    - `view_mask`: bool [B, V], True for real views; `image_sizes`: int64 [B, V, 2] (h, w), 0 for padding;
    - with depth: `depth` uint16 [B, V, H, W] (zero padding), `pose` float32 [B, V, 4, 4],
      `K` float32 [B, V, 3, 3] (identity padding so inverses stay defined);
    - `json` (list of dicts), `id` / `task` / `question` / `answer` lists, `__key__` / `__url__` lists.

    A sample whose stored view or depth cannot be decoded raises BadSample; with a `handler` (the
    loader's skip counter) the error is handed to it and the batch is made of the other samples
    (None if none is left), unless the handler returns False. `ring`: shared buffers for SparLoader's
    DataLoader workers (spar_hf.train.buffers.WorkerBuffers); the batch then names its slots in `__buffers__`.
    """
    samples = list(samples)
    while samples:
        slots: dict[str, int] = {}
        try:
            return (_collate_packed if layout == "packed" else _collate_padded)(samples, ring, slots)
        except BadSample as bad:
            for slot in slots.values():
                ring.give_back(slot)
            if handler is None or not handler(bad):
                raise
            del samples[bad.index]
    return None

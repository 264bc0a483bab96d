"""Streaming PyTorch loader over spar-hf WebDataset shards.

`SparShards` is the IterableDataset (one webdataset pipeline per epoch): shard list from an index
JSON or a brace pattern (local paths or URLs), a shard shuffle seeded by (seed, epoch) and thus
identical on every rank, `split_by_node` + `split_by_worker`, our tar stage (spar_hf.train.tarstream),
then the chunk pool (spar_hf.train.pool): each shard sample is a chunk of one scene's QA rows whose
images are decoded once, and rows are drawn at random from `shuffle_chunks` open chunks, per worker
and seeded; then optional marker drawing (per row, on the row's own copy) and a transform.
`resampled=True` draws shards with replacement and `with_epoch` gives every rank the same number
of rows per epoch. `SparLoader` wraps a torch DataLoader and tracks the position in QA rows
(`state_dict` / `load_state_dict`, see spar_hf.train.resume).
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import random
import zlib
from typing import Any, Callable, Iterator, Sequence

from PIL import Image

from spar_hf.errors import SparError
from spar_hf.shards.index import read_index, shard_id, shard_urls
from spar_hf.train.buffers import WorkerBuffers
from spar_hf.train.collate import LAYOUTS, collate
from spar_hf.train.decode import draw_sample_markers
from spar_hf.train.pool import expand_rows
from spar_hf.train.resume import ResumeState, Tracker
from spar_hf.train.tarstream import tar_samples

log = logging.getLogger("spar_hf.train")

try:
    from torch.utils.data import IterableDataset
except ModuleNotFoundError:  # torch is the `train` extra; plain webdataset use still works
    IterableDataset = object  # type: ignore[misc,assignment]


PIL_BLOCKS = 32
SHUFFLE_CHUNKS = 8
_END = object()


def keep_pil_blocks(n: int) -> None:
    """Let Pillow keep up to `n` freed image blocks for reuse (PILLOW_BLOCKS_MAX, default 0).

    A loader hands decoded images to the training loop, so each decode would otherwise get fresh
    memory from the OS and pay its page faults; reuse narrows the gap to a tight decode loop.
    Only ever raises the setting.
    """

    if Image.core.get_blocks_max() < n:
        Image.core.set_blocks_max(n)


class SkipCounter:
    """webdataset error handler: log the error, count it (shared across DataLoader workers), continue."""

    def __init__(self):
        self._count = multiprocessing.Value("i", 0)

    def __call__(self, exn: BaseException) -> bool:
        with self._count.get_lock():
            self._count.value += 1
        log.warning("skipping unreadable data: %s: %s", type(exn).__name__, exn)
        return True

    @property
    def count(self) -> int:
        return int(self._count.value)


def resolve_source(source: str | Sequence[str], allow_pipe: bool = False) -> tuple[list[str], dict[str, int] | None]:
    """Shard URLs and per-shard QA row counts: from an index JSON (`*.index.json`, path or URL), or from a
    brace pattern / list of shard locations (counts unknown). An index may name only local paths and
    http(s) URLs unless allow_pipe (`shards.index.check_location`)."""
    from webdataset.shardlists import expand_urls  # deferred, webdataset: ~1.8 s to import

    if isinstance(source, str) and source.endswith(".json"):
        index = read_index(source)
        urls = shard_urls(source, index, allow_pipe)
        return urls, {shard_id(u): s.rows for u, s in zip(urls, index.shards)}
    urls = expand_urls(source) if isinstance(source, str) else [str(u) for u in source]
    if not urls:
        raise SparError(f"{source!r}: no shards")
    return urls, None


class SparShards(IterableDataset):
    """QA rows `{"__key__", "__url__", "json", "images": [...], "depth": [uint16], "pose": [4x4], "K": [3x3]}`.

    Images are RGB PIL images, one per view and the row's own (`decode_images=True`), the stored
    bytes (`decode_images=False`: decode elsewhere, e.g. on GPU), or HxWx3 uint8 arrays shared by the
    rows of a chunk (`frames="array"`, what `make_loader` batches). Depth is uint16 (shared likewise).
    `shuffle_chunks` open chunks feed the row shuffle (1: rows in shard order). `allow_pipe=True` lets
    an index name `pipe:` (shell command) and other gopen schemes.
    """

    def __init__(self, source: str | Sequence[str], *, seed: int = 0, shuffle_shards: bool = True,
                 shuffle_chunks: int = SHUFFLE_CHUNKS, resampled: bool = False, epoch_samples: int | None = None,
                 decode_images: bool = True, frames: str | None = None, draw_markers: bool = False,
                 transform: Callable[[dict], dict] | None = None, pil_blocks: int | None = PIL_BLOCKS,
                 allow_pipe: bool = False):
        self.urls, self.counts = resolve_source(source, allow_pipe)
        frames = frames or ("pil" if decode_images else "bytes")
        if frames not in ("pil", "array", "bytes"):
            raise SparError(f"frames={frames!r}: choose pil, array or bytes")
        if draw_markers and frames != "pil":
            raise SparError("draw_markers needs decoded PIL images (decode_images=True)")
        if resampled and not epoch_samples:
            raise SparError("resampled=True needs epoch_samples (QA rows per rank per epoch)")
        self.seed, self.shuffle_shards, self.shuffle_chunks = seed, shuffle_shards, shuffle_chunks
        self.resampled, self.epoch_samples = resampled, epoch_samples
        self.frames, self.draw_markers, self.transform = frames, draw_markers, transform
        self.pil_blocks = pil_blocks
        self.skipped = SkipCounter()
        self.epoch = 0
        self.resume: ResumeState | None = None

    def set_epoch(self, epoch: int) -> None:
        """Call before each epoch (DataLoader copies the dataset into workers when an iterator starts)."""
        self.epoch = epoch

    def epoch_shards(self) -> list[str]:
        """This epoch's shard order, the same on every rank and worker (before node/worker splitting)."""
        urls = list(self.urls)
        if self.shuffle_shards:
            random.Random(f"{self.seed}/{self.epoch}").shuffle(urls)
        if self.resume is not None and self.resume.epoch == self.epoch:
            urls = [u for u in urls if shard_id(u) not in self.resume.done]
        return urls

    def pipeline(self):
        import webdataset as wds  # deferred, webdataset: ~1.8 s to import
        from webdataset.utils import pytorch_worker_info

        rank, _world, worker, num_workers = pytorch_worker_info()
        handler = self.skipped
        if self.frames == "pil" and self.pil_blocks:
            keep_pil_blocks(self.pil_blocks)
        if self.resampled:
            stages: list[Any] = [wds.ResampledShards(self.urls, seed=zlib.crc32(f"{self.seed}/{self.epoch}".encode()),
                                                      deterministic=True)]
        else:
            shards = [{"url": u} for u in self.epoch_shards()]
            stages = [lambda: iter(shards), wds.split_by_node, wds.split_by_worker]
        stages.append(functools.partial(tar_samples, handler=handler))
        resume = self.resume if (self.resume is not None and self.resume.epoch == self.epoch) else None
        skip = resume.skips if resume is not None and not self.resampled and resume.seen else None
        rng = random.Random(f"{self.seed}/{self.epoch}/{rank}/{worker}") if self.shuffle_chunks > 1 else None
        stages.append(functools.partial(expand_rows, size=self.shuffle_chunks, rng=rng, frames_as=self.frames,
                                        handler=handler, skip=skip))
        if self.draw_markers:
            stages.append(wds.map(draw_sample_markers, handler=handler))
        if self.transform is not None:
            stages.append(wds.map(self.transform, handler=handler))
        pipe = wds.DataPipeline(*stages)
        if self.resampled:
            per_worker = self.epoch_samples // num_workers + (worker < self.epoch_samples % num_workers)
            pipe = pipe.with_epoch(per_worker)
        return pipe

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.pipeline())


class SparLoader:
    """A torch DataLoader over SparShards that knows its position: iterate once per epoch;
    `state_dict()` after any step, `load_state_dict()` before iterating in a restarted job."""

    def __init__(self, dataset: SparShards, *, batch_size: int | None = 8, num_workers: int = 0,
                 collate_fn: Callable | None = None, layout: str = "packed", **dataloader_kwargs: Any):
        if layout not in LAYOUTS:
            raise SparError(f"layout={layout!r}: choose {' or '.join(LAYOUTS)}")
        self.dataset = dataset
        self.layout = layout
        self.batch_size, self.num_workers = batch_size, num_workers
        self.collate_fn, self.kwargs = collate_fn, dataloader_kwargs
        self.tracker = Tracker(dataset.counts)
        self.worker_buffers: WorkerBuffers | None = None  # the last pass's, when workers batched with our collate

    @property
    def epoch(self) -> int:
        return self.tracker.state.epoch

    @property
    def skipped(self) -> int:
        return self.dataset.skipped.count

    def __iter__(self) -> Iterator[Any]:
        from torch.utils.data import DataLoader  # deferred, the 'train' extra

        self.dataset.set_epoch(self.epoch)
        self.dataset.resume = self.tracker.state.copy()
        kwargs = dict(self.kwargs)
        ring = None
        if self.batch_size is not None:
            # the default collate decodes stored views into the batch and hands a bad one to the skip counter;
            # with workers it writes into shared buffers that come back once this process lets a batch go
            if self.collate_fn is None and self.num_workers > 0:
                in_flight = (kwargs.get("prefetch_factor") or 2) + 2  # prefetched, being made, held by the loop
                ring = WorkerBuffers(self.num_workers, per_worker=2 * in_flight)  # images and depth
            kwargs["collate_fn"] = self.collate_fn or functools.partial(collate, handler=self.dataset.skipped,
                                                                        ring=ring, layout=self.layout)
        self.worker_buffers = ring
        batches = iter(DataLoader(self.dataset, batch_size=self.batch_size, num_workers=self.num_workers, **kwargs))
        while True:
            batch = None  # our own reference to the last batch must not keep its buffers busy
            if ring is not None:
                ring.release()
            batch = next(batches, _END)
            if batch is _END:
                break
            if batch is None:  # every sample of the batch was bad (counted by the skip counter)
                continue
            if ring is not None:
                ring.watch(batch.pop("__buffers__", {}), batch)
            self.tracker.observe_batch(batch)
            yield batch
        self.tracker.end_epoch()

    def state_dict(self) -> dict[str, Any]:
        return self.tracker.state.to_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a position. Resampled mode draws with replacement, so a part-consumed epoch cannot be
        continued exactly: the loader moves on to the next epoch (fresh RNG streams) instead of replaying it."""
        restored = ResumeState.from_dict(state)
        if self.dataset.resampled and (restored.done or restored.seen):
            restored = ResumeState(restored.epoch + 1)
        self.tracker = Tracker(self.dataset.counts, restored)


def make_loader(source: str | Sequence[str], *, batch_size: int | None = 8, num_workers: int = 0,
                layout: str = "packed", **dataset_kwargs: Any) -> SparLoader:
    """`SparLoader(SparShards(source, **dataset_kwargs), batch_size=..., num_workers=...)`.

    With batching, each chunk's images are decoded once into arrays shared by its rows
    (`frames="array"`) and `collate` copies them into the batch (`layout`: "packed", every view once
    with offsets, or "padded" [B, V, 3, H, W]), unless a per-row step needs PIL images first:
    `draw_markers`, `transform`, or an explicit `decode_images`/`frames`."""
    per_row = (dataset_kwargs.get("draw_markers") or dataset_kwargs.get("transform") is not None
               or "decode_images" in dataset_kwargs or "frames" in dataset_kwargs)
    if batch_size is not None and not per_row:
        dataset_kwargs["frames"] = "array"
    return SparLoader(SparShards(source, **dataset_kwargs), batch_size=batch_size, num_workers=num_workers,
                      layout=layout)

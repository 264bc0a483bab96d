"""The streaming loader over the shards: coverage per epoch, rank/worker partitions, depth, workers,
corrupt shards, resampled epochs and resumption."""

from __future__ import annotations

import io
import itertools
import json
import shutil
import tarfile
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from spar_hf.train.loader import SparLoader, SparShards, make_loader
from test_shards_writer import hf_build, parquet_rows, rgbd_shards  # noqa: F401  (session fixtures)

WORLD = 2
WORKERS = 2


def rows_of(samples) -> list[int]:
    return [s["json"]["row"] for s in samples]


def as_rank_worker(monkeypatch, rank: int, worker: int) -> None:
    """webdataset's pytorch_worker_info reads RANK/WORLD_SIZE and WORKER/NUM_WORKERS from the environment."""
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", str(WORLD))
    monkeypatch.setenv("WORKER", str(worker))
    monkeypatch.setenv("NUM_WORKERS", str(WORKERS))


def test_every_row_once_per_epoch_in_a_seeded_order(hf_build, rgbd_shards):
    n = len(parquet_rows(hf_build, "7m-rgbd", "train"))
    ds = SparShards(str(rgbd_shards), seed=3, shuffle_buffer=16, decode_images=False)
    orders = []
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        order = rows_of(ds)
        assert sorted(order) == list(range(n))
        orders.append(order)
    assert orders[0] != orders[1]  # reshuffled per epoch
    again = SparShards(str(rgbd_shards), seed=3, shuffle_buffer=16, decode_images=False)
    assert rows_of(again) == orders[0]  # same seed and epoch, same order
    assert ds.skipped.count == 0


def test_two_ranks_two_workers_partition_disjoint_and_complete(hf_build, rgbd_shards, monkeypatch):
    n = len(parquet_rows(hf_build, "7m-rgbd", "train"))
    index = json.loads(rgbd_shards.read_text())
    assert len(index["shards"]) >= WORLD * WORKERS
    parts = {}
    for rank in range(WORLD):
        for worker in range(WORKERS):
            as_rank_worker(monkeypatch, rank, worker)
            parts[(rank, worker)] = rows_of(SparShards(str(rgbd_shards), seed=5, shuffle_buffer=4,
                                                                decode_images=False))
    everything = [r for part in parts.values() for r in part]
    assert len(everything) == len(set(everything)) == n
    assert all(parts.values())


def test_depth_comes_back_uint16_equal_to_the_source(hf_build, rgbd_shards):
    rows = parquet_rows(hf_build, "7m-rgbd", "train")
    checked = 0
    for sample in itertools.islice(SparShards(str(rgbd_shards), seed=4, shuffle_buffer=16), 12):
        row = rows[sample["json"]["row"]]
        for v, depth in enumerate(sample["depth"]):
            source = np.array(Image.open(io.BytesIO(row["depth"][v]["bytes"])))
            assert depth.dtype == np.uint16 and source.dtype == np.uint16
            assert np.array_equal(depth, source)
            assert np.array_equal(sample["pose"][v], np.asarray(row["pose"][v], np.float32))
            assert np.array_equal(sample["K"][v], np.asarray(row["intrinsics"][v], np.float32))
            checked += 1
        assert [img.mode for img in sample["images"]] == ["RGB"] * len(row["images"])
    assert checked > 12  # multi-view rows contribute several views
    assert max(int(np.array(Image.open(io.BytesIO(r["depth"][0]["bytes"]))).max()) for r in rows) > 255


def test_dataloader_with_two_workers_collates_padded_batches(rgbd_shards):
    index = json.loads(rgbd_shards.read_text())
    shards = index["shards"][:4]  # a list of shard paths works as a source too; 4 keeps the test short
    expected = [s["first_row"] + i for s in shards for i in range(s["samples"])]
    loader = make_loader([str(rgbd_shards.parent / s["name"]) for s in shards], batch_size=4, num_workers=2, seed=1,
                         shuffle_buffer=8)
    got = []
    for batch in loader:
        b, v = batch["view_mask"].shape
        assert batch["images"].shape[:3] == (b, v, 3) and str(batch["images"].dtype) == "torch.uint8"
        assert batch["depth"].shape[:2] == (b, v) and str(batch["depth"].dtype) == "torch.uint16"
        for i, meta in enumerate(batch["json"]):
            n = meta["n_views"]
            assert batch["view_mask"][i].tolist() == [True] * n + [False] * (v - n)
            assert int(batch["images"][i, n:].sum()) == 0  # padding views are zero
            got.append(meta["row"])
    assert sorted(got) == expected
    assert loader.epoch == 1 and loader.skipped == 0


def test_truncated_shard_is_skipped_with_a_count(hf_build, rgbd_shards, tmp_path):
    n = len(parquet_rows(hf_build, "7m-rgbd", "train"))
    for p in rgbd_shards.parent.iterdir():
        shutil.copy(p, tmp_path / p.name)
    index = json.loads(rgbd_shards.read_text())
    victim = tmp_path / index["shards"][1]["name"]
    with tarfile.open(victim) as tar:
        members = tar.getmembers()
    keys = list(dict.fromkeys(m.name.split(".")[0] for m in members))
    cut_key = keys[len(keys) // 2]
    cut_member = next(m for m in members if m.name.startswith(cut_key + ".") and m.name.endswith(".jpg"))
    cut = cut_member.offset_data + cut_member.size // 2
    victim.write_bytes(victim.read_bytes()[:cut])
    lost = {int(k.split("-")[0]) for k in keys[len(keys) // 2:]}  # the key is "<row>-<id>"

    ds = SparShards(str(tmp_path / rgbd_shards.name), shuffle_buffer=0, decode_images=False)
    got = rows_of(ds)
    assert sorted(got) == sorted(set(range(n)) - lost)
    assert ds.skipped.count >= 1


def test_resume_gives_no_repeats_and_no_gaps(hf_build, rgbd_shards):
    n = len(parquet_rows(hf_build, "7m-rgbd", "train"))
    kwargs = dict(batch_size=None, num_workers=2, seed=7, shuffle_buffer=6, decode_images=False)
    first = make_loader(str(rgbd_shards), **kwargs)
    before = []
    for step, sample in enumerate(first):
        before.append(sample["json"]["row"])
        if step == 20:
            break
    state = json.loads(json.dumps(first.state_dict()))  # what a checkpoint would hold
    assert state["epoch"] == 0 and (state["done"] or state["seen"])

    second = make_loader(str(rgbd_shards), **kwargs)
    second.load_state_dict(state)
    after = [s["json"]["row"] for s in second]
    assert not set(before) & set(after)
    assert sorted(before + after) == list(range(n))
    assert second.epoch == 1
    assert sorted(s["json"]["row"] for s in second) == list(range(n))


def test_resampled_epochs_have_equal_length_on_every_rank(rgbd_shards, monkeypatch):
    per_rank = Counter()
    for rank in range(WORLD):
        for worker in range(WORKERS):
            as_rank_worker(monkeypatch, rank, worker)
            ds = SparShards(str(rgbd_shards), resampled=True, epoch_samples=15, shuffle_buffer=4, seed=2,
                            decode_images=False)
            per_rank[rank] += len(rows_of(ds))
    assert per_rank == {0: 15, 1: 15}


def test_resampled_resume_moves_to_the_next_epoch(rgbd_shards):
    kwargs = dict(batch_size=None, resampled=True, epoch_samples=6, shuffle_buffer=2, decode_images=False, seed=9)
    first = make_loader(str(rgbd_shards), **kwargs)
    full_epoch0 = [s["__key__"] for s in first]
    assert len(full_epoch0) == 6 and first.epoch == 1
    partial = make_loader(str(rgbd_shards), **kwargs)
    next(iter(partial))
    restarted = make_loader(str(rgbd_shards), **kwargs)
    restarted.load_state_dict(partial.state_dict())
    assert restarted.epoch == 1
    assert [s["__key__"] for s in restarted] == [s["__key__"] for s in first]  # both now draw epoch 1


def test_markers_drawn_by_the_loader(hf_build, tmp_path):
    from spar_hf.shards.writer import write_shards

    rows = parquet_rows(hf_build, "7m", "validation")
    target = next(i for i, r in enumerate(rows) if r["task"] == "depth_prediction_oc" and r["markers"]["red_point"])
    x, y = rows[target]["markers"]["red_point"][0]
    write_shards(hf_build, "7m", "validation", tmp_path)
    ds = SparShards(str(tmp_path / "spar-7m-validation.index.json"), draw_markers=True, shuffle_buffer=0)
    sample = next(s for s in ds if s["json"]["row"] == target)
    img = np.asarray(sample["images"][0]).astype(int)
    h, w = img.shape[:2]
    assert img[int(y / 1000 * h), int(x / 1000 * w)].tolist() == [255, 0, 0]  # drawn, not yet JPEG-compressed
    assert "depth" not in sample


def test_sparloader_without_batching_yields_samples(rgbd_shards):
    loader = SparLoader(SparShards(str(rgbd_shards), shuffle_buffer=0), batch_size=None)
    first = next(iter(loader))
    assert isinstance(first["__key__"], str) and first["images"]
    with pytest.raises(Exception, match="epoch_samples"):
        SparShards(str(rgbd_shards), resampled=True)


def test_index_and_shards_over_http(hf_build, rgbd_shards):
    import functools
    import http.server
    import threading

    n = len(parquet_rows(hf_build, "7m-rgbd", "train"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(rgbd_shards.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{rgbd_shards.name}"
        ds = SparShards(url, shuffle_buffer=0, decode_images=False)
        assert all(u.startswith("http://127.0.0.1:") for u in ds.urls)
        assert sorted(rows_of(ds)) == list(range(n))
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("workers", [0, 2])
def test_batches_hold_exactly_the_pixels_pillow_decodes_from_the_source(hf_build, rgbd_shards, workers):
    rows = parquet_rows(hf_build, "7m-rgbd", "train")
    index = json.loads(rgbd_shards.read_text())
    shards = [str(rgbd_shards.parent / s["name"]) for s in index["shards"][:4]]
    loader = make_loader(shards, batch_size=3, num_workers=workers, seed=2, shuffle_buffer=5)
    assert loader.dataset.decode_images is False  # views reach collate encoded and are decoded into the batch
    seen = 0
    for batch in loader:
        images, depth = batch["images"].numpy(), batch["depth"].numpy()
        for i, meta in enumerate(batch["json"]):
            row = rows[meta["row"]]
            for v, stored in enumerate(row["images"]):
                expected = np.asarray(Image.open(io.BytesIO(stored["bytes"])).convert("RGB"))
                h, w = expected.shape[:2]
                assert np.array_equal(images[i, v, :, :h, :w].transpose(1, 2, 0), expected)
                assert np.array_equal(depth[i, v, :h, :w], np.array(Image.open(io.BytesIO(row["depth"][v]["bytes"]))))
            seen += 1
    assert seen == sum(s["samples"] for s in index["shards"][:4]) and loader.skipped == 0


def test_a_view_that_cannot_be_decoded_drops_its_sample_from_the_batch_with_a_count(hf_build, tmp_path):
    from spar_hf.shards.writer import write_shards

    write_shards(hf_build, "7m", "validation", tmp_path / "ok")
    index = json.loads((tmp_path / "ok" / "spar-7m-validation.index.json").read_text())
    shard = tmp_path / "ok" / index["shards"][0]["name"]
    broken = tmp_path / "broken.tar"
    with tarfile.open(shard) as src, tarfile.open(broken, "w", format=tarfile.PAX_FORMAT) as dst:
        members = src.getmembers()
        victim = next(m for m in members if m.name.endswith(".0.jpg"))
        for m in members:
            data = src.extractfile(m).read()
            if m.name == victim.name:
                data = data[: len(data) // 3]  # a JPEG cut short: neither libjpeg-turbo nor Pillow decode it
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
    lost = int(victim.name.split("-")[0])
    loader = make_loader([str(broken)], batch_size=4, seed=0, shuffle_buffer=0)
    got = [meta["row"] for batch in loader for meta in batch["json"]]
    n = index["shards"][0]["samples"]
    assert sorted(got) == sorted(set(range(n)) - {lost}) and loader.skipped == 1


def test_workers_write_released_buffers_again_and_never_one_still_held(hf_build, rgbd_shards):
    rows = parquet_rows(hf_build, "7m-rgbd", "train")
    index = json.loads(rgbd_shards.read_text())
    shards = [str(rgbd_shards.parent / s["name"]) for s in index["shards"][:6]]

    def expected(batch, i, v):
        row = rows[batch["json"][i]["row"]]
        image = np.asarray(Image.open(io.BytesIO(row["images"][v]["bytes"])).convert("RGB"))
        return image, np.array(Image.open(io.BytesIO(row["depth"][v]["bytes"])))

    loader = make_loader(shards, batch_size=2, num_workers=2, seed=3, shuffle_buffer=4)
    held, n = [], 0
    for k, batch in enumerate(loader):
        assert "__buffers__" not in batch
        images, depth = batch["images"].numpy(), batch["depth"].numpy()
        for i in range(len(batch["json"])):
            for v in range(batch["json"][i]["n_views"]):
                image, dmap = expected(batch, i, v)
                h, w = image.shape[:2]
                assert np.array_equal(images[i, v, :, :h, :w].transpose(1, 2, 0), image)
                assert np.array_equal(depth[i, v, :h, :w], dmap)
            assert not images[i, batch["json"][i]["n_views"]:].any()  # padding views zero, also in a reused buffer
            n += 1
        if k % 3 == 0:  # kept by the training loop: its buffers must never be written again
            held.append((batch, images.copy(), depth.copy()))
    for batch, images, depth in held:
        assert np.array_equal(batch["images"].numpy(), images) and np.array_equal(batch["depth"].numpy(), depth)
    assert n == sum(s["samples"] for s in index["shards"][:6]) and loader.skipped == 0
    assert loader.worker_buffers.reused > 0  # released buffers did come back to the workers

"""The streaming loader over chunk shards: every row once per epoch, rank/worker partitions, images decoded
once per chunk, depth, packed and padded batches, workers, damaged shards, resampled epochs and resumption."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from collections import Counter

import numpy as np
import pytest
from fixtures.shards import hf_build, hf_rows, rgbd_shards, shard_samples  # noqa: F401  (session fixtures)
from PIL import Image

from spar_hf.train.collate import views_of
from spar_hf.train.loader import SparLoader, SparShards, make_loader

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


@pytest.fixture(scope="module")
def rgbd_rows(hf_build):
    return hf_rows(hf_build, "7m-rgbd", "train")


def pillow(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_every_row_once_per_epoch_in_a_seeded_order(rgbd_rows, rgbd_shards):
    n = len(rgbd_rows)
    ds = SparShards(str(rgbd_shards), seed=3, shuffle_chunks=4, decode_images=False)
    orders = []
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        order = rows_of(ds)
        assert sorted(order) == list(range(n))
        orders.append(order)
    assert orders[0] != orders[1]  # reshuffled per epoch
    again = SparShards(str(rgbd_shards), seed=3, shuffle_chunks=4, decode_images=False)
    assert rows_of(again) == orders[0]  # same seed and epoch, same order
    assert ds.skipped.count == 0


def test_rows_of_a_pool_come_from_several_chunks_in_turn(rgbd_shards):
    keys = [s["__key__"].split("/")[0] for s in SparShards(str(rgbd_shards), seed=1, shuffle_chunks=4,
                                                            shuffle_shards=False, decode_images=False)]
    in_order = [s["__key__"].split("/")[0] for s in SparShards(str(rgbd_shards), shuffle_chunks=1,
                                                                shuffle_shards=False, decode_images=False)]
    switches = sum(a != b for a, b in zip(keys, keys[1:]))
    assert switches > 2 * sum(a != b for a, b in zip(in_order, in_order[1:]))  # rows of open chunks interleave
    assert in_order == sorted(in_order)  # one pool slot: chunk after chunk, in shard order


def test_each_image_is_decoded_once_per_chunk(rgbd_shards, monkeypatch):
    import spar_hf.train.rows as rows_module

    calls = Counter()
    real = rows_module.decode_rgb_array

    def counting(data):
        calls["decodes"] += 1
        return real(data)

    monkeypatch.setattr(rows_module, "decode_rgb_array", counting)
    got = list(SparShards(str(rgbd_shards), seed=0, frames="array"))
    stored = sum(len(json.loads(s["json"])["frames"]) for s in shard_samples(rgbd_shards))
    shown = sum(r["json"]["n_views"] for r in got)
    assert calls["decodes"] == stored < shown
    same = [r["images"][0] for r in got if r["json"]["n_views"] == 1]
    assert len({id(a) for a in same}) < len(same)  # rows showing one image share its decoded array


def test_two_ranks_two_workers_partition_disjoint_and_complete(rgbd_rows, rgbd_shards, monkeypatch):
    index = json.loads(rgbd_shards.read_text())
    assert len(index["shards"]) >= WORLD * WORKERS
    parts = {}
    for rank in range(WORLD):
        for worker in range(WORKERS):
            as_rank_worker(monkeypatch, rank, worker)
            parts[(rank, worker)] = rows_of(SparShards(str(rgbd_shards), seed=5, shuffle_chunks=2, decode_images=False))
    everything = [r for part in parts.values() for r in part]
    assert len(everything) == len(set(everything)) == len(rgbd_rows)
    assert all(parts.values())


def test_rows_come_as_pil_with_uint16_depth_equal_to_the_source(rgbd_rows, rgbd_shards):
    checked = rows = 0
    for sample in SparShards(str(rgbd_shards), seed=4, shuffle_chunks=4):
        rows += 1
        row = rgbd_rows[sample["json"]["id"]]
        assert sample["json"]["n_views"] == len(row["images"]) and sample["json"]["has_depth"] is True
        for v, depth in enumerate(sample["depth"]):
            source = np.array(Image.open(io.BytesIO(row["depth"][v])))
            assert depth.dtype == np.uint16 and source.dtype == np.uint16
            assert np.array_equal(depth, source)
            assert np.array_equal(sample["pose"][v], np.asarray(row["pose"][v], np.float32))
            assert np.array_equal(sample["K"][v], np.asarray(row["intrinsics"][v], np.float32))
            assert np.array_equal(np.asarray(sample["images"][v]), pillow(row["images"][v]))
            checked += 1
        assert [img.mode for img in sample["images"]] == ["RGB"] * len(row["images"])
    assert rows == len(rgbd_rows) and checked > rows  # multi-view rows contribute several views
    assert max(int(np.array(Image.open(io.BytesIO(r["depth"][0]))).max()) for r in rgbd_rows.values()) > 255


@pytest.mark.parametrize("workers", [0, 2])
def test_packed_batches_hold_exactly_the_pixels_pillow_decodes_from_the_source(rgbd_rows, rgbd_shards, workers):
    index = json.loads(rgbd_shards.read_text())
    shards = [str(rgbd_shards.parent / s["name"]) for s in index["shards"][:4]]
    loader = make_loader(shards, batch_size=3, num_workers=workers, seed=2, shuffle_chunks=3)
    assert loader.dataset.frames == "array" and loader.layout == "packed"
    seen = 0
    for batch in loader:
        assert str(batch["images"].dtype) == "torch.uint8" and batch["images"].shape[1] == 3
        n_views = int(batch["row_views"][-1])
        assert batch["image_sizes"].shape == (n_views, 2) and batch["pose"].shape == (n_views, 4, 4)
        assert int(batch["image_offsets"][-1]) == batch["images"].shape[0]  # no padding anywhere
        for i, meta in enumerate(batch["json"]):
            row = rgbd_rows[meta["id"]]
            views, depths = views_of(batch, i), views_of(batch, i, "depth")
            assert len(views) == len(row["images"])
            for v, stored in enumerate(row["images"]):
                assert np.array_equal(views[v].numpy(), pillow(stored))
                assert np.array_equal(depths[v].numpy(), np.array(Image.open(io.BytesIO(row["depth"][v]))))
            seen += 1
    assert seen == sum(s["rows"] for s in index["shards"][:4]) and loader.skipped == 0


def test_padded_batches_keep_the_old_layout(rgbd_rows, rgbd_shards):
    loader = make_loader(str(rgbd_shards), batch_size=4, num_workers=0, seed=1, layout="padded")
    got = []
    for batch in loader:
        b, v = batch["view_mask"].shape
        assert batch["images"].shape[:3] == (b, v, 3) and str(batch["depth"].dtype) == "torch.uint16"
        images = batch["images"].numpy()
        for i, meta in enumerate(batch["json"]):
            n = meta["n_views"]
            assert batch["view_mask"][i].tolist() == [True] * n + [False] * (v - n)
            assert int(images[i, n:].sum()) == 0  # padding views are zero
            first = pillow(rgbd_rows[meta["id"]]["images"][0])
            h, w = first.shape[:2]
            assert np.array_equal(images[i, 0, :, :h, :w].transpose(1, 2, 0), first)
            got.append(meta["row"])
    assert sorted(got) == list(range(len(rgbd_rows)))
    assert loader.epoch == 1 and loader.skipped == 0


def test_truncated_shard_is_skipped_with_a_count(rgbd_rows, rgbd_shards, tmp_path):
    n = len(rgbd_rows)
    for p in rgbd_shards.parent.iterdir():
        shutil.copy(p, tmp_path / p.name)
    index = json.loads(rgbd_shards.read_text())
    victim = tmp_path / index["shards"][1]["name"]
    with tarfile.open(victim) as tar:
        members = tar.getmembers()
        jsons = {m.name.split(".")[0]: json.loads(tar.extractfile(m).read()) for m in members if m.name.endswith(".json")}
    keys = list(dict.fromkeys(m.name.split(".")[0] for m in members))
    cut_key = keys[len(keys) // 2]
    cut_member = next(m for m in members if m.name.startswith(cut_key + ".") and m.name.endswith(".jpg"))
    cut = cut_member.offset_data + cut_member.size // 2
    victim.write_bytes(victim.read_bytes()[:cut])
    lost = {r["row"] for k in keys[len(keys) // 2:] for r in jsons[k]["rows"]}

    ds = SparShards(str(tmp_path / rgbd_shards.name), shuffle_chunks=1, decode_images=False)
    got = rows_of(ds)
    assert sorted(got) == sorted(set(range(n)) - lost)
    assert ds.skipped.count >= 1


def test_resume_gives_no_repeats_and_no_gaps(rgbd_rows, rgbd_shards):
    n = len(rgbd_rows)
    kwargs = dict(batch_size=None, num_workers=2, seed=7, shuffle_chunks=3, decode_images=False)
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
            ds = SparShards(str(rgbd_shards), resampled=True, epoch_samples=15, shuffle_chunks=2, seed=2,
                            decode_images=False)
            per_rank[rank] += len(rows_of(ds))
    assert per_rank == {0: 15, 1: 15}


def test_resampled_resume_moves_to_the_next_epoch(rgbd_shards):
    kwargs = dict(batch_size=None, resampled=True, epoch_samples=6, shuffle_chunks=2, decode_images=False, seed=9)
    first = make_loader(str(rgbd_shards), **kwargs)
    full_epoch0 = [s["__key__"] for s in first]
    assert len(full_epoch0) == 6 and first.epoch == 1
    partial = make_loader(str(rgbd_shards), **kwargs)
    next(iter(partial))
    restarted = make_loader(str(rgbd_shards), **kwargs)
    restarted.load_state_dict(partial.state_dict())
    assert restarted.epoch == 1
    assert [s["__key__"] for s in restarted] == [s["__key__"] for s in first]  # both now draw epoch 1


def test_markers_drawn_by_the_loader_on_the_row_own_copy(hf_build, tmp_path):
    from spar_hf.shards.writer import write_shards

    rows = hf_rows(hf_build, "7m", "validation")
    rid = next(k for k, r in sorted(rows.items()) if r["task"] == "depth_prediction_oc" and r["markers"]["red_point"])
    x, y = rows[rid]["markers"]["red_point"][0]
    write_shards(hf_build, "7m", "validation", tmp_path)
    index = str(tmp_path / "spar-7m-validation.index.json")
    sample = next(s for s in SparShards(index, draw_markers=True, shuffle_chunks=1) if s["json"]["id"] == rid)
    img = np.asarray(sample["images"][0]).astype(int)
    h, w = img.shape[:2]
    assert img[int(y / 1000 * h), int(x / 1000 * w)].tolist() == [255, 0, 0]  # drawn, not yet JPEG-compressed
    assert "depth" not in sample
    plain = next(s for s in SparShards(index, shuffle_chunks=1) if s["json"]["id"] == rid)
    assert np.array_equal(np.asarray(plain["images"][0]), pillow(rows[rid]["images"][0]))


def test_sparloader_without_batching_yields_rows(rgbd_shards):
    loader = SparLoader(SparShards(str(rgbd_shards), shuffle_chunks=1), batch_size=None)
    first = next(iter(loader))
    assert isinstance(first["__key__"], str) and first["images"]
    with pytest.raises(Exception, match="epoch_samples"):
        SparShards(str(rgbd_shards), resampled=True)
    with pytest.raises(Exception, match="layout"):
        SparLoader(SparShards(str(rgbd_shards)), layout="ragged")


def test_index_and_shards_over_http(rgbd_rows, rgbd_shards):
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(rgbd_shards.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{rgbd_shards.name}"
        ds = SparShards(url, shuffle_chunks=1, decode_images=False)
        assert all(u.startswith("http://127.0.0.1:") for u in ds.urls)
        assert sorted(rows_of(ds)) == list(range(len(rgbd_rows)))
    finally:
        server.shutdown()
        server.server_close()


def test_an_image_that_cannot_be_decoded_drops_only_the_rows_showing_it_with_a_count(hf_build, tmp_path):
    from spar_hf.shards.writer import write_shards

    write_shards(hf_build, "7m", "validation", tmp_path / "ok", max_frames=4)
    index = json.loads((tmp_path / "ok" / "spar-7m-validation.index.json").read_text())
    shard = tmp_path / "ok" / index["shards"][0]["name"]
    broken = tmp_path / "broken.tar"
    with tarfile.open(shard) as src, tarfile.open(broken, "w", format=tarfile.PAX_FORMAT) as dst:
        members = src.getmembers()
        victim = next(m for m in members if m.name.endswith(".0.jpg"))
        key = victim.name.split(".")[0]
        meta = json.loads(src.extractfile(next(m for m in members if m.name == key + ".json")).read())
        for m in members:
            data = src.extractfile(m).read()
            if m.name == victim.name:
                data = data[: len(data) // 3]  # a JPEG cut short: neither libjpeg-turbo nor Pillow decode it
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
    lost = {r["row"] for r in meta["rows"] if 0 in r["views"]}
    assert 0 < len(lost) < len(meta["rows"])  # the sample's other rows survive
    loader = make_loader([str(broken)], batch_size=4, seed=0, shuffle_chunks=1)
    got = [m["row"] for batch in loader for m in batch["json"]]
    assert sorted(got) == sorted(set(range(index["shards"][0]["rows"])) - lost)
    assert loader.skipped == len(lost)


def test_workers_write_released_buffers_again_and_never_one_still_held(rgbd_rows, rgbd_shards):
    index = json.loads(rgbd_shards.read_text())
    shards = [str(rgbd_shards.parent / s["name"]) for s in index["shards"][:6]]
    loader = make_loader(shards, batch_size=2, num_workers=2, seed=3, shuffle_chunks=2)
    held, n = [], 0
    for k, batch in enumerate(loader):
        assert "__buffers__" not in batch
        for i, meta in enumerate(batch["json"]):
            row = rgbd_rows[meta["id"]]
            for v, view in enumerate(views_of(batch, i)):
                assert np.array_equal(view.numpy(), pillow(row["images"][v]))
            n += 1
        if k % 3 == 0:  # kept by the training loop: its buffers must never be written again
            held.append((batch, batch["images"].numpy().copy(), batch["depth"].numpy().copy()))
    for batch, images, depth in held:
        assert np.array_equal(batch["images"].numpy(), images) and np.array_equal(batch["depth"].numpy(), depth)
    assert n == sum(s["rows"] for s in index["shards"][:6]) and loader.skipped == 0
    assert loader.worker_buffers.reused > 0  # released buffers did come back to the workers

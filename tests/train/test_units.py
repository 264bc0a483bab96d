"""Hand-made samples: packed and padded collate, chunk decoding and the row pool, resume state bookkeeping."""

from __future__ import annotations

import io
import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from spar_hf.train.collate import collate, views_of
from spar_hf.train.decode import decode_depth
from spar_hf.train.pool import expand_rows
from spar_hf.train.resume import ResumeState, Tracker, merge_states
from spar_hf.train.rows import IncompleteSample, decode_chunk


def _sample(key: str, sizes: list[tuple[int, int]], fill: int, depth: bool = True) -> dict:
    images = [np.full((h, w, 3), fill, np.uint8) for h, w in sizes]
    s = {"__key__": key, "__url__": f"/x/{key}.tar", "json": {"id": key, "task": "t", "n_views": len(sizes)},
         "images": images}
    if depth:
        s["depth"] = [np.full((h, w), 1000 + fill, np.uint16) for h, w in sizes]
        s["pose"] = [np.eye(4, dtype=np.float32) * (fill + 1) for _ in sizes]
        s["K"] = [np.eye(3, dtype=np.float32) * 2 for _ in sizes]
    return s


def test_collate_packs_every_view_once_with_sizes_and_offsets():
    batch = collate([_sample("a", [(2, 3)], 10), _sample("b", [(4, 1), (1, 2)], 20)])
    # views: 2x3 (6 px), 4x1 (4 px), 1x2 (2 px) -> 12 pixels, offsets 0, 6, 10, 12; row 0 has view 0, row 1 views 1-2
    assert tuple(batch["images"].shape) == (12, 3)
    assert batch["image_sizes"].tolist() == [[2, 3], [4, 1], [1, 2]]
    assert batch["image_offsets"].tolist() == [0, 6, 10, 12] and batch["row_views"].tolist() == [0, 1, 3]
    img = batch["images"].numpy()
    assert (img[:6] == 10).all() and (img[6:] == 20).all()
    assert [tuple(v.shape) for v in views_of(batch, 1)] == [(4, 1, 3), (1, 2, 3)]
    assert views_of(batch, 1)[0].data_ptr() == batch["images"][6:].data_ptr()  # a view, not a copy
    assert batch["depth"].tolist() == [1010] * 6 + [1020] * 6 and batch["depth_offsets"].tolist() == [0, 6, 10, 12]
    assert views_of(batch, 0, "depth")[0].tolist() == [[1010, 1010, 1010], [1010, 1010, 1010]]
    assert tuple(batch["pose"].shape) == (3, 4, 4) and batch["pose"][2, 0, 0].item() == 21.0
    assert batch["K"][0, 0, 0].item() == 2.0
    assert batch["id"] == ["a", "b"] and batch["__key__"] == ["a", "b"]


def test_collate_pads_views_and_pixels_and_masks_them():
    batch = collate([_sample("a", [(2, 3)], 10), _sample("b", [(4, 1), (1, 2)], 20)], layout="padded")
    assert tuple(batch["images"].shape) == (2, 2, 3, 4, 3)  # B, V=max views, C, H=max h, W=max w
    assert batch["view_mask"].tolist() == [[True, False], [True, True]]
    assert batch["image_sizes"].tolist() == [[[2, 3], [0, 0]], [[4, 1], [1, 2]]]
    img = batch["images"].numpy()
    assert (img[0, 0, :, :2, :3] == 10).all() and (img[0, 0, :, 2:, :] == 0).all() and (img[0, 1] == 0).all()
    assert (img[1, 0, :, :4, :1] == 20).all() and (img[1, 0, :, :, 1:] == 0).all()
    assert (img[1, 1, :, :1, :2] == 20).all() and img[1, 1].sum() == 20 * 3 * 2
    depth = batch["depth"].numpy()
    assert depth.dtype == np.uint16 and depth.shape == (2, 2, 4, 3) and depth[0, 0, 0, 0] == 1010 and depth[0, 0, 3, 2] == 0
    assert batch["pose"][1, 1, 0, 0].item() == 21.0 and batch["pose"][0, 1].tolist() == np.eye(4).tolist()
    assert batch["id"] == ["a", "b"] and batch["__key__"] == ["a", "b"]


def test_collate_without_depth_has_no_depth_keys():
    for layout in ("packed", "padded"):
        batch = collate([_sample("a", [(2, 2)], 1, depth=False)], layout=layout)
        assert "depth" not in batch and "pose" not in batch


def test_depth_decoder_keeps_sixteen_bits():
    depth = np.array([[0, 255, 256], [1000, 40000, 65535]], dtype=np.uint16)
    buf = io.BytesIO()
    Image.fromarray(depth).save(buf, format="PNG")
    out = decode_depth("0.depth.png", buf.getvalue())
    assert out.dtype == np.uint16 and out.tolist() == [[0, 255, 256], [1000, 40000, 65535]]


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _chunk(key: str, rows: list[list[int]], images: list[bytes], depth: bool = False, **extra) -> dict:
    meta = {"format": 2, "frames": [f"f{i}" for i in range(len(images))], "has_depth": depth,
            "rows": [{"id": f"{key}-{j}", "row": j, "views": views} for j, views in enumerate(rows)]}
    sample = {"__key__": key, "__url__": "s.tar", "json": json.dumps(meta).encode()}
    sample.update({f"{i}.png": data for i, data in enumerate(images)})
    sample.update(extra)
    return sample


def test_decode_chunk_decodes_each_promised_member_once_and_nothing_else():
    grey, colour = _png(np.full((2, 1), 200, np.uint8)), _png(np.full((1, 2, 3), 7, np.uint8))
    raw = _chunk("k", [[1, 0], [0]], [grey, colour], depth=True,
                 **{"0.depth.png": _png(np.array([[65535], [3]], np.uint16)), "1.depth.png": _png(np.array([[1, 2]], np.uint16)),
                    "0.pose.npy": _npy(np.eye(4)), "1.pose.npy": _npy(2 * np.eye(4)),
                    "0.k.npy": _npy(np.eye(3)), "1.k.npy": _npy(3 * np.eye(3)),
                    "2.png": b"not an image", "evil.pyd": b"\x80\x04garbage", "txt": b"\xff"})
    chunk = decode_chunk(raw, "pil")
    assert len(chunk) == 2 and not chunk.bad
    row = chunk.row(0)
    assert row["__key__"] == "k/0" and row["json"] == {"id": "k-0", "row": 0, "n_views": 2, "has_depth": True,
                                                        "markers_baked": False}
    assert [im.mode for im in row["images"]] == ["RGB", "RGB"]  # the grey image is converted
    assert np.asarray(row["images"][0]).tolist() == [[[7, 7, 7], [7, 7, 7]]]  # view order: image 1 then 0
    assert np.asarray(row["images"][1]).tolist() == [[[200, 200, 200]], [[200, 200, 200]]]
    assert row["images"][1] is not chunk.row(1)["images"][0]  # a PIL image per row: drawing on one leaves the other
    assert [d.dtype for d in row["depth"]] == [np.uint16, np.uint16] and row["depth"][1].tolist() == [[65535], [3]]
    assert row["pose"][0].tolist() == (2 * np.eye(4)).tolist() and row["K"][0].tolist() == (3 * np.eye(3)).tolist()
    kept = decode_chunk(raw, "bytes").row(1)
    assert kept["images"] == [grey] and kept["depth"][0].tolist() == [[65535], [3]]


def test_decode_chunk_refuses_missing_members_and_rows_naming_other_images():
    ok = _png(np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(IncompleteSample, match=r"image \[1\] missing of 2"):
        decode_chunk({k: v for k, v in _chunk("k", [[0]], [ok, ok]).items() if k != "1.png"})
    with pytest.raises(IncompleteSample, match="no chunk json"):
        decode_chunk({"__key__": "k", "__url__": "u", "0.png": ok})
    with pytest.raises(IncompleteSample, match="depth.png"):
        decode_chunk(_chunk("k", [[0]], [ok], depth=True, **{"0.pose.npy": _npy(np.eye(4)), "0.k.npy": _npy(np.eye(3))}))
    with pytest.raises(IncompleteSample, match="row 0 names images outside 0..0"):
        decode_chunk(_chunk("k", [[1]], [ok]))
    pickled = _chunk("k", [[0]], [ok], depth=True, **{"0.depth.png": _png(np.zeros((1, 1), np.uint16)),
                                                      "0.k.npy": _npy(np.eye(3)),
                                                      "0.pose.npy": _npy(np.array([object()], dtype=object))})
    chunk = decode_chunk(pickled)
    assert "allow_pickle" in chunk.bad[0] and "row 0" in chunk.unusable(0)  # never unpickled: the row is unusable


def test_pool_hands_out_every_row_once_and_a_bad_image_costs_only_its_rows():
    ok = _png(np.zeros((1, 1, 3), np.uint8))
    samples = [_chunk("a", [[0], [1], [0, 1]], [ok, b"broken"]), _chunk("b", [[0]] * 4, [ok])]
    errors = []
    rows = list(expand_rows(samples, size=2, rng=random.Random(0), frames_as="array",
                            handler=lambda exn: errors.append(str(exn)) or True))
    assert sorted(r["__key__"] for r in rows) == ["a/0", "b/0", "b/1", "b/2", "b/3"]
    assert len(errors) == 2 and all("image 1" in e for e in errors)  # rows a/1 and a/2 show the broken image
    in_order = [r["__key__"] for r in expand_rows(samples, size=1, rng=None, frames_as="bytes", handler=lambda e: True)]
    assert in_order == ["a/0", "a/1", "a/2", "b/0", "b/1", "b/2", "b/3"]


def test_pool_skips_used_rows_and_never_decodes_a_chunk_with_none_left(monkeypatch):
    import spar_hf.train.rows as rows_module

    decoded = []
    real = rows_module.decode_chunk
    monkeypatch.setattr("spar_hf.train.pool.decode_chunk", lambda s, f: decoded.append(s["__key__"]) or real(s, f))
    ok = _png(np.zeros((1, 1, 3), np.uint8))
    samples = [_chunk("a", [[0], [0]], [ok]), _chunk("b", [[0], [0]], [ok])]
    used = {("s.tar", "a/0"), ("s.tar", "a/1"), ("s.tar", "b/1")}
    rows = list(expand_rows(samples, size=4, rng=random.Random(1), frames_as="array", handler=lambda e: True,
                            skip=lambda url, key: (url, key) in used))
    assert [r["__key__"] for r in rows] == ["b/0"] and decoded == ["b"]


def test_tracker_marks_shards_done_by_index_count_and_merges_ranks():
    t = Tracker({"s0.tar": 2, "s1.tar": 3})
    for url, key in (("/d/s0.tar", "a"), ("/d/s1.tar", "x"), ("/d/s0.tar", "b")):
        t.observe(url, key)
    assert t.state.done == {"s0.tar"} and t.state.seen == {"s1.tar": {"x"}}
    assert t.state.skips("http://h/s0.tar", "zzz") and t.state.skips("/e/s1.tar", "x") and not t.state.skips("s1.tar", "y")
    other = ResumeState(0, set(), {"s1.tar": {"y", "z"}})
    merged = merge_states([t.state, other], {"s0.tar": 2, "s1.tar": 3})
    assert merged.done == {"s0.tar", "s1.tar"} and merged.seen == {}
    assert ResumeState.from_dict(t.state.to_dict()) == t.state
    t.end_epoch()
    assert t.state == ResumeState(1)
    with pytest.raises(ValueError, match="different epochs"):
        merge_states([ResumeState(0), ResumeState(1)])


def _jpeg(array: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", **options)
    return buf.getvalue()


def _pillow_rgb(data: bytes) -> np.ndarray:
    """The reference: Pillow's own decode, converted to RGB."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    smooth = np.stack([(3 * x + y) % 256, (5 * y) % 256, (2 * (x - y)) % 256], -1)
    noise = np.random.default_rng(seed).integers(-25, 25, smooth.shape)
    return (smooth + noise).clip(0, 255).astype(np.uint8)


JPEG_VARIANTS = {
    "444": dict(subsampling=0), "422": dict(subsampling=1), "420": dict(subsampling=2),
    "411": dict(subsampling="4:1:1"), "progressive": dict(progressive=True, subsampling=2),
    "restarts": dict(restart_marker_blocks=3), "rgb-coded": dict(keep_rgb=True), "q40": dict(quality=40),
}


@pytest.mark.parametrize("variant", sorted(JPEG_VARIANTS))
@pytest.mark.parametrize("size", [(48, 64), (17, 33), (1, 1)])
def test_array_decode_gives_pillows_pixels_for_every_jpeg_kind(variant, size):
    from spar_hf.train.decode import decode_rgb_array, decode_rgb_into, jpeg_size

    data = _jpeg(_textured(*size), **JPEG_VARIANTS[variant])
    expected = _pillow_rgb(data)
    assert jpeg_size(data) == size  # decoded by libjpeg-turbo, not Pillow
    got = decode_rgb_array(data)
    assert got.dtype == np.uint8 and got.shape == (*size, 3) and got.flags.writeable
    assert np.array_equal(got, expected)
    slot = np.zeros((size[0] + 2, size[1] + 3, 3), np.uint8)  # a batch slot wider than the view
    decode_rgb_into(data, slot[: size[0], : size[1]])
    assert np.array_equal(slot[: size[0], : size[1]], expected) and not slot[size[0]:].any() and not slot[:, size[1]:].any()
    contiguous = np.zeros((size[0], size[1], 3), np.uint8)
    decode_rgb_into(data, contiguous)
    assert np.array_equal(contiguous, expected)


def test_grey_cmyk_and_png_views_become_the_same_rgb_arrays_as_pillow():
    from spar_hf.train.decode import decode_rgb_array, jpeg_size

    grey = _jpeg(_textured(20, 30)[:, :, 0])
    assert jpeg_size(grey) == (20, 30)  # grey -> RGB is the same replication in libjpeg and Pillow
    assert np.array_equal(decode_rgb_array(grey), _pillow_rgb(grey))
    buf = io.BytesIO()
    Image.fromarray(_textured(20, 30)).convert("CMYK").save(buf, format="JPEG")
    cmyk = buf.getvalue()
    assert jpeg_size(cmyk) is None  # libjpeg's CMYK -> RGB differs from Pillow's: Pillow decodes it
    assert np.array_equal(decode_rgb_array(cmyk), _pillow_rgb(cmyk))
    rgba = np.array([[[10, 20, 30, 0], [40, 50, 60, 255]]], np.uint8)
    assert decode_rgb_array(_png(rgba)).tolist() == [[[10, 20, 30], [40, 50, 60]]]  # alpha dropped, not blended
    assert decode_rgb_array(_png(np.array([[0, 7]], np.uint8))).tolist() == [[[0, 0, 0], [7, 7, 7]]]


def test_array_decode_without_simplejpeg_goes_through_pillow_and_says_so(monkeypatch, caplog):
    import spar_hf.train.decode as decode

    data = _jpeg(_textured(16, 16))
    monkeypatch.setattr(decode, "simplejpeg", None)
    monkeypatch.setattr(decode, "_warned_no_simplejpeg", False)
    with caplog.at_level("WARNING", logger="spar_hf.train"):
        assert decode.jpeg_size(data) is None
        assert np.array_equal(decode.decode_rgb_array(data), _pillow_rgb(data))
    assert sum("simplejpeg is not installed" in r.message for r in caplog.records) == 1  # once, not per image


def _encoded_sample(key: str, views: list[bytes]) -> dict:
    return {"__key__": key, "__url__": f"/x/{key}.tar", "json": {"id": key, "n_views": len(views)}, "images": views}


def test_collate_decodes_stored_views_into_the_padded_batch():
    a, b, c = _textured(6, 8, 1), _textured(4, 5, 2), _textured(6, 8, 3)
    jpeg_a, jpeg_b = _jpeg(a, subsampling=0), _jpeg(b, subsampling=2)
    png_c = _png(c)
    packed = collate([_encoded_sample("s0", [jpeg_a]), _encoded_sample("s1", [jpeg_b, png_c])])
    assert np.array_equal(views_of(packed, 0)[0].numpy(), _pillow_rgb(jpeg_a))
    assert np.array_equal(views_of(packed, 1)[0].numpy(), _pillow_rgb(jpeg_b))
    assert np.array_equal(views_of(packed, 1)[1].numpy(), c)
    batch = collate([_encoded_sample("s0", [jpeg_a]), _encoded_sample("s1", [jpeg_b, png_c])], layout="padded")
    img = batch["images"].numpy().transpose(0, 1, 3, 4, 2)  # back to B, V, H, W, C
    assert img.shape == (2, 2, 6, 8, 3)
    assert np.array_equal(img[0, 0], _pillow_rgb(jpeg_a)) and not img[0, 1].any()
    assert np.array_equal(img[1, 0, :4, :5], _pillow_rgb(jpeg_b))
    assert not img[1, 0, 4:].any() and not img[1, 0, :, 5:].any()  # padding of the smaller view stays zero
    assert np.array_equal(img[1, 1], c)  # PNG is lossless: exactly the pixels written
    assert batch["image_sizes"].tolist() == [[[6, 8], [0, 0]], [[4, 5], [6, 8]]]
    assert batch["view_mask"].tolist() == [[True, False], [True, True]]


def test_collate_drops_a_sample_whose_view_cannot_be_decoded():
    from spar_hf.train.collate import BadSample

    good = _jpeg(_textured(8, 8))
    truncated = good[: len(good) // 2]
    samples = [_encoded_sample("ok0", [good]), _encoded_sample("bad", [good, truncated]), _encoded_sample("ok1", [good])]
    with pytest.raises(BadSample, match=r"sample bad @ /x/bad.tar: view 1: ") as caught:
        collate(samples)
    assert caught.value.index == 1
    errors = []
    batch = collate(samples, handler=lambda exn: errors.append(str(exn)) or True)
    assert batch["id"] == ["ok0", "ok1"] and len(errors) == 1 and "sample bad" in errors[0]
    assert collate([samples[1]], handler=lambda exn: True) is None  # nothing left to batch
    with pytest.raises(BadSample):
        collate(samples, handler=lambda exn: False)  # a handler that refuses re-raises


def test_batch_memory_is_reused_only_once_released_and_comes_back_zeroed(monkeypatch):
    import spar_hf.train.collate as collate_module
    from spar_hf.train.buffers import BufferPool

    monkeypatch.setattr(collate_module, "_POOL", BufferPool(keep=4))  # no buffers left over by other tests
    first = collate([_sample("a", [(4, 4)], 200, depth=False), _sample("b", [(4, 4), (4, 4)], 100, depth=False)], layout="padded")
    held = first["images"].numpy().copy()
    second = collate([_sample("c", [(4, 4)], 50, depth=False)], layout="padded")
    assert np.array_equal(first["images"].numpy(), held)  # a batch still held is never written
    assert second["images"].data_ptr() != first["images"].data_ptr()
    pointer = first["images"].data_ptr()
    del first
    third = collate([_sample("d", [(2, 3)], 9, depth=False), _sample("e", [(1, 1)], 7, depth=False)], layout="padded")
    assert third["images"].data_ptr() == pointer  # the released buffer is taken again
    img = third["images"].numpy().transpose(0, 1, 3, 4, 2)
    assert img.shape == (2, 1, 2, 3, 3)
    assert img[0, 0].tolist() == [[[9] * 3] * 3] * 2
    assert img[1, 0].tolist() == [[[7] * 3, [0] * 3, [0] * 3], [[0] * 3] * 3]  # 200s and 100s of the old batch gone


def test_buffer_pool_hands_out_zeroed_arrays_and_never_a_busy_buffer():
    from spar_hf.train.buffers import BufferPool

    pool = BufferPool(keep=2)
    a, mark = pool.zeros((2, 3), np.uint16)
    mark(a[1, :2])
    a[1, :2] = 65535
    pointer_a = a.ctypes.data
    b, _ = pool.zeros((2, 3), np.uint16)
    c, _ = pool.zeros((2, 3), np.uint16)  # both kept buffers busy: c is a one-off
    assert len({a.ctypes.data, b.ctypes.data, c.ctypes.data}) == 3
    del a
    again, _ = pool.zeros((3, 2), np.uint16)
    assert again.ctypes.data == pointer_a and again.shape == (3, 2) and not again.any()  # marked bytes zeroed
    del b
    big, _ = pool.zeros((100,), np.float32)  # larger than the idle buffer: a new one takes its place
    assert big.nbytes == 400 and not big.any()
    assert again.tolist() == [[0, 0], [0, 0], [0, 0]] and big.ctypes.data != again.ctypes.data


_VIEW = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 255))  # h, w, fill
_BATCH = st.tuples(st.lists(st.lists(_VIEW, min_size=1, max_size=3), min_size=1, max_size=3), st.booleans(),
                   st.sampled_from(["packed", "padded"]))


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(st.lists(_BATCH, min_size=1, max_size=12))
def test_pooled_batches_equal_fresh_zero_padded_ones_and_held_ones_never_change(batches):
    """Whatever order batches of whatever shapes and layouts are made, dropped or held in: a padded batch is
    exactly its views on zeros (even in a buffer a packed batch, which skips zeroing, wrote before), a packed
    one exactly its views, and a held batch is never written again (the pool reuses only released buffers)."""
    import spar_hf.train.collate as collate_module
    from spar_hf.train.buffers import BufferPool

    saved = collate_module._POOL
    collate_module._POOL = BufferPool(keep=3)
    try:
        held = []
        for views_per_sample, hold, layout in batches:
            samples = [{"__key__": str(i), "__url__": "u", "json": {"id": str(i)},
                        "images": [np.full((h, w, 3), f, np.uint8) for h, w, f in views],
                        "depth": [np.full((h, w), 200 * f + 1, np.uint16) for h, w, f in views],
                        "pose": [np.eye(4, dtype=np.float32)] * len(views), "K": [np.eye(3, dtype=np.float32)] * len(views)}
                       for i, views in enumerate(views_per_sample)]
            batch = collate(samples, layout=layout)
            if layout == "packed":
                flat = [np.full((h * w, 3), f, np.uint8) for views in views_per_sample for h, w, f in views]
                assert np.array_equal(batch["images"].numpy(), np.concatenate(flat))
                if hold:
                    held.append((batch, batch["images"].numpy().copy(), batch["depth"].numpy().copy()))
                continue
            v = max(len(views) for views in views_per_sample)
            h = max(vh for views in views_per_sample for vh, _, _ in views)
            w = max(vw for views in views_per_sample for _, vw, _ in views)
            images = np.zeros((len(samples), v, h, w, 3), np.uint8)
            depth = np.zeros((len(samples), v, h, w), np.uint16)
            for i, views in enumerate(views_per_sample):
                for j, (vh, vw, f) in enumerate(views):
                    images[i, j, :vh, :vw] = f
                    depth[i, j, :vh, :vw] = 200 * f + 1
            assert np.array_equal(batch["images"].numpy(), images.transpose(0, 1, 4, 2, 3))
            assert np.array_equal(batch["depth"].numpy(), depth)
            if hold:
                held.append((batch, batch["images"].numpy().copy(), depth))
        for batch, images, depth in held:
            assert np.array_equal(batch["images"].numpy(), images) and np.array_equal(batch["depth"].numpy(), depth)
    finally:
        collate_module._POOL = saved


@pytest.mark.parametrize("strategy", ["file_descriptor", "file_system"])
def test_shared_zeros_is_zeroed_shared_memory_under_either_sharing_strategy(strategy):
    import torch.multiprocessing

    from spar_hf.train.buffers import shared_zeros

    before = torch.multiprocessing.get_sharing_strategy()
    torch.multiprocessing.set_sharing_strategy(strategy)
    try:
        tensor = shared_zeros((3, 1000, 7), np.uint16)
        assert tensor.is_shared() and tuple(tensor.shape) == (3, 1000, 7) and str(tensor.dtype) == "torch.uint16"
        assert int(tensor.sum()) == 0
        tensor.numpy()[2, 999, 6] = 65535  # writable through numpy, the way collate fills it
        assert int(tensor[2, 999, 6]) == 65535
    finally:
        torch.multiprocessing.set_sharing_strategy(before)

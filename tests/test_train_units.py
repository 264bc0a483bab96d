"""Hand-made samples: collate padding, regroup validation, resume state bookkeeping."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from spar_hf.train.collate import collate
from spar_hf.train.decode import IncompleteSample, decode_depth, decode_sample
from spar_hf.train.resume import ResumeState, Tracker, merge_states


def _sample(key: str, sizes: list[tuple[int, int]], fill: int, depth: bool = True) -> dict:
    images = [np.full((h, w, 3), fill, np.uint8) for h, w in sizes]
    s = {"__key__": key, "__url__": f"/x/{key}.tar", "json": {"id": key, "task": "t", "n_views": len(sizes)},
         "images": images}
    if depth:
        s["depth"] = [np.full((h, w), 1000 + fill, np.uint16) for h, w in sizes]
        s["pose"] = [np.eye(4, dtype=np.float32) * (fill + 1) for _ in sizes]
        s["K"] = [np.eye(3, dtype=np.float32) * 2 for _ in sizes]
    return s


def test_collate_pads_views_and_pixels_and_masks_them():
    batch = collate([_sample("a", [(2, 3)], 10), _sample("b", [(4, 1), (1, 2)], 20)])
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
    batch = collate([_sample("a", [(2, 2)], 1, depth=False)])
    assert "depth" not in batch and "pose" not in batch


def test_regroup_orders_views_and_rejects_missing_members():
    def regroup(sample: dict) -> dict:  # the regrouping alone: image bytes kept as they are
        return decode_sample(sample, images=False)

    sample = {"__key__": "k", "__url__": "u", "json": {"n_views": 2, "has_depth": False}, "1.jpg": "B", "0.jpg": "A"}
    assert regroup(sample)["images"] == ["A", "B"]
    with pytest.raises(IncompleteSample, match=r"images \[1\] missing"):
        regroup({"__key__": "k", "__url__": "u", "json": {"n_views": 2}, "0.jpg": "A"})
    with pytest.raises(IncompleteSample, match="no json"):
        regroup({"__key__": "k", "__url__": "u", "0.jpg": "A"})
    with pytest.raises(IncompleteSample, match="depth"):
        regroup({"__key__": "k", "__url__": "u", "json": {"n_views": 1, "has_depth": True}, "0.jpg": "A",
                 "0.pose.npy": 1, "0.k.npy": 2})


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


def test_decode_sample_decodes_only_the_promised_members_in_view_order():
    meta = {"id": "k", "n_views": 2, "has_depth": True, "x": 1.5}
    raw = {"__key__": "k", "__url__": "s.tar", "json": b'{"id": "k", "n_views": 2, "has_depth": true, "x": 1.5}',
           "1.png": _png(np.full((1, 2, 3), 7, np.uint8)), "0.png": _png(np.full((2, 1), 200, np.uint8)),
           "0.depth.png": _png(np.array([[65535]], np.uint16)), "1.depth.png": _png(np.array([[1, 2]], np.uint16)),
           "0.pose.npy": _npy(np.eye(4)), "1.pose.npy": _npy(2 * np.eye(4)),
           "0.k.npy": _npy(np.eye(3)), "1.k.npy": _npy(3 * np.eye(3)),
           "2.png": b"not an image", "evil.pyd": b"\x80\x04garbage", "txt": b"\xff"}
    out = decode_sample(raw)
    assert sorted(out) == ["K", "__key__", "__url__", "depth", "images", "json", "pose"]
    assert out["json"] == meta
    assert [im.mode for im in out["images"]] == ["RGB", "RGB"]  # the grey view is converted
    assert np.asarray(out["images"][0]).tolist() == [[[200, 200, 200]], [[200, 200, 200]]]
    assert np.asarray(out["images"][1]).tolist() == [[[7, 7, 7], [7, 7, 7]]]
    assert [d.dtype for d in out["depth"]] == [np.uint16, np.uint16]
    assert out["depth"][0].tolist() == [[65535]] and out["depth"][1].tolist() == [[1, 2]]
    assert out["pose"][1].tolist() == (2 * np.eye(4)).tolist() and out["K"][1].tolist() == (3 * np.eye(3)).tolist()
    kept = decode_sample(raw, images=False)
    assert kept["images"] == [raw["0.png"], raw["1.png"]] and kept["depth"][1] == raw["1.depth.png"]
    assert kept["K"][0].tolist() == np.eye(3).tolist()


def test_decode_sample_refuses_a_pickled_pose_and_a_missing_json():
    raw = {"__key__": "k", "__url__": "u", "json": b'{"n_views": 1, "has_depth": true}',
           "0.jpg": b"", "0.depth.png": b"", "0.k.npy": _npy(np.eye(3)),
           "0.pose.npy": _npy(np.array([object()], dtype=object))}
    with pytest.raises(ValueError, match="allow_pickle"):
        decode_sample(raw, images=False)
    with pytest.raises(IncompleteSample, match="no json member"):
        decode_sample({"__key__": "k", "__url__": "u", "0.jpg": b""})


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

"""3D grounding as text: answer -> box round trip, IoU and accuracy by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fixtures.probes_scene import K, four_view_records

from spar_hf.geometry import look_at
from spar_hf.probes.grounding import (
    GroundingAnswer,
    aabb_iou,
    answer_for,
    format_answer,
    parse_answer,
    recover_box,
    score,
    world_aabb_extents,
)
from spar_hf.scene.model import Object3D
from spar_hf.tasks import grounding

TABLE_C, TABLE_E = np.array([2.5, 2.0, 0.4]), np.array([1.2, 0.8, 0.8])


def test_iou_hand_values():
    assert aabb_iou(np.zeros(3), np.ones(3), np.array([0.5, 0, 0]), np.ones(3)) == pytest.approx(1 / 3)
    assert aabb_iou(np.zeros(3), np.ones(3), np.array([2.0, 0, 0]), np.ones(3)) == 0.0
    assert aabb_iou(np.zeros(3), np.full(3, 2.0), np.zeros(3), np.ones(3)) == pytest.approx(1 / 8)


def test_world_aabb_of_yawed_box():
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    got = world_aabb_extents(TABLE_C, TABLE_E, rot)
    np.testing.assert_allclose(got, [1.2 * c + 0.8 * s, 1.2 * s + 0.8 * c, 0.8], atol=1e-9)


def test_answer_of_a_centred_object():
    # camera 4 m in front of the table, level: the centre projects to the principal point at depth 4
    pose = look_at(np.array([2.5, -2.0, 0.4]), TABLE_C)
    ans = answer_for(TABLE_C, TABLE_E, 1, pose, K, 640, 480)
    assert (ans.u, ans.v, ans.depth) == pytest.approx((500.0, 500.0, 4.0))
    assert format_answer(ans) == "Image 2, center (500, 500), depth 4.00 m, size (1.20, 0.80, 0.80) m"


def test_round_trip_iou_above_0_9():
    pose = look_at(np.array([0.3, -1.7, 1.6]), TABLE_C + [0.4, 0.3, 0])
    text = format_answer(answer_for(TABLE_C, TABLE_E, 0, pose, K, 640, 480))
    center, ext = recover_box(text, pose, K, 640, 480)
    assert aabb_iou(center, ext, TABLE_C, TABLE_E) > 0.9
    small_c, small_e = np.array([1.0, 3.0, 1.1]), np.array([0.2, 0.15, 0.3])  # a 20 cm object 4+ m away
    text = format_answer(answer_for(small_c, small_e, 0, pose, K, 640, 480))
    center, ext = recover_box(text, pose, K, 640, 480)
    assert aabb_iou(center, ext, small_c, small_e) > 0.9


def test_parse_answer_variants():
    ans = parse_answer("I think it is in frame 3: center (120, 880), depth 1.5 m, size (0.4, 0.5, 0.9).")
    assert ans == GroundingAnswer(2, 120.0, 880.0, 1.5, (0.4, 0.5, 0.9))
    assert parse_answer("somewhere near the window") is None


def test_score_accuracy_thresholds():
    pose = look_at(np.array([2.5, -2.0, 0.4]), TABLE_C)
    cams = [(pose, K, 640, 480)]
    exact = "Image 1, center (500, 500), depth 4.00 m, size (1.20, 0.80, 0.80) m"
    shifted = "Image 1, center (500, 500), depth 4.40 m, size (1.20, 0.80, 0.80) m"  # 0.4 m farther along world +y
    report = score([(exact, cams, TABLE_C, TABLE_E), (shifted, cams, TABLE_C, TABLE_E), ("no idea", cams, TABLE_C, TABLE_E)])
    # shifted along y by 0.4 m of a 0.8 m side: intersection 0.4/0.8 = half, IoU = 0.5 / 1.5 = 1/3
    assert report.n == 3 and report.n_unparsed == 1
    assert report.acc_025 == pytest.approx(2 / 3)
    assert report.acc_050 == pytest.approx(1 / 3)
    assert report.mean_iou == pytest.approx((1 + 1 / 3 + 0) / 3)


class _Lookup:
    def __init__(self, images):
        self.by_path = {f"g0/image_color/{r.frame_index}.jpg": r for r in images}

    def pose(self, image):
        return self.by_path[image].pose

    def intrinsics(self, image):
        return K

    def size(self, image):
        return 640, 480


def test_grounding_task_round_trip():
    objects = [Object3D(3, "table", TABLE_C, TABLE_E, np.eye(3)), Object3D(4, "lamp", np.array([4.5, 3.5, 1.5]), np.full(3, 0.3), np.eye(3))]
    records = four_view_records(objects)
    out = grounding.generate(records, np.random.default_rng(0), {})
    assert len(out) == 2
    lookup = _Lookup(records.images)
    for r in out:
        assert grounding.verify(r, lookup) == []
        ans = parse_answer(r.answer)
        path = r.images[ans.image]
        center, ext = recover_box(ans, lookup.pose(path), K, 640, 480)
        obj = r.meta["objects"][0]
        assert aabb_iou(center, ext, np.array(obj["center"]), np.array(obj["extents"])) > 0.9

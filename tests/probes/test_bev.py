"""BEV map task and APE scorer: coordinates and errors worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spar_hf.geometry import look_at
from spar_hf.probes.bev import DISTANCE_BINS, parse_coordinates, score
from spar_hf.records import ImageRecord, ObjectRecord, SceneRecords, VisibleObject
from spar_hf.scene.model import Object3D, Scene
from spar_hf.tasks import map_bev

K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
TABLE, LAMP, SOFA = np.array([2.5, 2.0, 0.4]), np.array([4.5, 3.5, 1.5]), np.array([1.0, 3.4, 0.4])


def test_bev_coordinates_facing_plus_y():
    pose = look_at(np.array([1.0, 0.0, 1.5]), np.array([1.0, 5.0, 1.5]))
    got = map_bev.bev_coordinates(np.stack([TABLE, LAMP, SOFA]), pose)
    np.testing.assert_allclose(got, [[1.5, 2.0], [3.5, 3.5], [0.0, 3.4]], atol=1e-9)


def test_bev_coordinates_facing_plus_x_ignore_pitch_and_height():
    # facing +x, the observer's right is -y: table at world y = 2 lies 2 m to the left
    level = look_at(np.array([0.0, 0.0, 1.5]), np.array([4.0, 0.0, 1.5]))
    pitched = look_at(np.array([0.0, 0.0, 1.5]), np.array([4.0, 0.0, 0.0]))
    for pose in (level, pitched):
        got = map_bev.bev_coordinates(np.stack([TABLE, LAMP]), pose)
        np.testing.assert_allclose(got, [[-2.0, 2.5], [-3.5, 4.5]], atol=1e-9)


def test_bev_rejects_camera_looking_straight_down():
    pose = np.eye(4)
    pose[:3, :3] = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])  # z forward = world -z
    with pytest.raises(ValueError):
        map_bev.bev_coordinates(TABLE[None], pose)


def _records() -> SceneRecords:
    labels = {3: ("table", TABLE), 4: ("lamp", LAMP), 5: ("sofa", SOFA)}
    objects = [Object3D(i, lab, c, np.array([0.4, 0.4, 0.4]), np.eye(3)) for i, (lab, c) in labels.items()]
    pose = look_at(np.array([1.0, 0.0, 1.5]), np.array([1.0, 5.0, 1.5]))
    images = []
    for n, ids in enumerate([{3, 4}, {4, 5}, {3, 5}, {3, 4, 5}]):
        vis = {i: VisibleObject(i, labels[i][0], np.array([10.0 * i, 20, 10.0 * i + 50, 90]), np.array([10.0 * i + 5, 50]),
                                np.zeros(3), 0.9, 3500.0 + n) for i in ids}
        images.append(ImageRecord("bev0", n * 5, "", None, pose, K, 640, 480, vis))
    recs = {o.id: ObjectRecord(o.id, o.label, o.center, o.extents, o.rotation) for o in objects}
    scene = Scene("bev0", "synthetic", np.zeros((0, 3)), np.zeros((0, 3), int), [], objects)
    return SceneRecords(scene, images, recs)


class _Lookup:
    def __init__(self, records):
        self.by_path = {f"bev0/image_color/{r.frame_index}.jpg": r for r in records.images}

    def pose(self, image):
        return self.by_path[image].pose

    def intrinsics(self, image):
        return self.by_path[image].intrinsics

    def size(self, image):
        return 640, 480


def test_map_mv_answers_hand_coordinates():
    records = _records()
    out = map_bev.generate(records, np.random.default_rng(3), {})
    assert out
    expected = {"table": (1.5, 2.0), "lamp": (3.5, 3.5), "sofa": (0.0, 3.4)}
    for r in out:
        assert len(r.images) == 3 and r.format == "sentence"
        parsed = parse_coordinates(r.answer)
        assert len(parsed) == 3
        for p in parsed:
            assert (p.x, p.y) == expected[p.label]
        # the release reads bbox_list[0] and names the boxes object0, object1, ... in the images
        assert len(r.markers["bbox_list"]) == 1 and len(r.markers["bbox_list"][0]) == 3
        assert len(r.markers["bbox_img_idx"][0]) == 3
        assert all(f"object{i} (" in r.question for i in range(3))
        assert map_bev.verify(r, _Lookup(records)) == []
    bad = out[0]
    bad.answer = bad.answer.replace("3.5", "4.5", 1)
    assert map_bev.verify(bad, _Lookup(records))


def test_parse_coordinates_labels_and_noise():
    got = parse_coordinates("Sure! chair (red box): (1.2, -0.5); table: ( 3 , 4.25 )\nlamp (0.1,0.2)")
    assert [(p.label, p.x, p.y) for p in got] == [("chair", 1.2, -0.5), ("table", 3.0, 4.25), (None, 0.1, 0.2)]


def test_ape_hand_example():
    truth = [(0.0, 0.5), (0.0, 1.5), (3.0, 4.0)]  # distances 0.5, 1.5, 5.0 m
    pred = "a: (0, 1.5); b: (0, 1.5); c: (0, 0)"  # errors 1.0, 0.0, 5.0 m
    report = score([(pred, truth, ["a", "b", "c"])])
    assert report.overall.n == 3 and report.n_missing == 0
    assert report.overall.mean == pytest.approx(2.0)
    assert report.overall.p50 == pytest.approx(1.0)
    assert report.overall.p90 == pytest.approx(4.2)  # linear percentile: 1 + 0.8 * (5 - 1)
    assert report.bins["0-1"].mean == pytest.approx(1.0)
    assert report.bins["1-2"].mean == pytest.approx(0.0)
    assert report.bins["5-7"].mean == pytest.approx(5.0)
    assert report.bins["2-3"].n == 0 and math.isnan(report.bins["2-3"].mean)


def test_ape_matches_by_label_then_order_and_counts_missing():
    truth = [(0.0, 1.0), (2.0, 0.0)]
    report = score([("chair: (2, 0); table: (0, 1)", truth, ["table", "chair"])])
    assert report.overall.mean == pytest.approx(0.0)
    report = score([("(0, 1)", truth, ["table", "chair"])])
    assert report.overall.n == 1 and report.n_missing == 1


def test_seven_distance_bins_as_in_the_paper():
    assert len(DISTANCE_BINS) == 7
    assert DISTANCE_BINS[0] == (0, 1) and DISTANCE_BINS[-1][0] == 10


def test_score_records_perfect_predictions_have_zero_error():
    from spar_hf.probes.bev import score_records

    out = map_bev.generate(_records(), np.random.default_rng(5), {})
    report = score_records(out, {r.id: r.answer for r in out})
    assert report.n_missing == 0 and report.overall.n == 3 * len(out)
    assert report.overall.mean < 0.051  # answers are rounded to 0.1 m

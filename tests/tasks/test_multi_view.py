"""Multi-view generators: exact answers from hand geometry.

All cameras of the MV scene look along +x from (tx, ty, tz), so depth in a main view is X - tx,
camera x = -(Y - ty), camera y = -(Z - tz) (tasks_scene.py). Pair tasks use dedicated scenes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from fixtures.tasks_scene import MV_CAMERAS, MV_OBJECTS, R_PLUS_X, E, Lookup, labels_of, make_records  # noqa: F401

from spar_hf.records import VisibleObject
from spar_hf.tasks.matching import iou
from spar_hf.tasks.registry import all_tasks
from spar_hf.tasks.taskdef import GenConfig


def mv_run(task: str, n: int = 16, seed: int = 0):
    records = make_records(MV_OBJECTS, MV_CAMERAS)
    config = GenConfig(samples_per_format=n, attempts_per_sample=20)
    out = all_tasks()[task].generate(records, np.random.default_rng(seed), config)
    assert out, f"{task}: nothing generated ({config.skipped})"
    return out


def centre(label: str) -> np.ndarray:
    return np.array(next(o[1] for o in MV_OBJECTS.values() if o[0] == label))


def main_cam(record) -> np.ndarray:
    return np.array(MV_CAMERAS[record.meta["frames"][0]])


def answer_value(record) -> str:
    return record.meta["q"]["options"]["ABCD".index(record.answer)] if record.format == "select" else record.answer


def test_mv_records_span_images():
    for r in mv_run("depth_prediction_oc_mv"):
        assert 2 <= len(r.images) <= 5
        assert len(set(r.markers["point_img_idx"][0])) == 2  # red and blue sit in different images


def marker_cam(record, role: int) -> np.ndarray:
    """Centre of the camera of the image where the role's point marker is drawn (point_img_idx: red, blue, green)."""
    return np.array(MV_CAMERAS[record.meta["frames"][record.markers["point_img_idx"][0][role]]])


def test_depth_mv_exact():
    for r in mv_run("depth_prediction_oc_mv"):
        red, blue = labels_of(r)
        assert f"{centre(red)[0] - marker_cam(r, 0)[0]:.1f} meters" in r.question
        assert f"{centre(blue)[0] - marker_cam(r, 1)[0]:.1f}" in answer_value(r)
    for r in mv_run("depth_prediction_oo_mv"):
        _, blue, green = labels_of(r)
        want = abs((centre(green)[0] - marker_cam(r, 2)[0]) - (centre(blue)[0] - marker_cam(r, 1)[0]))
        assert f"{want:.1f}" in answer_value(r)


# two cameras looking along +x, 2 m apart along x: an object's depth is X in image 0 and X - 2 in image 1
SHIFTED_CAMERAS = [(0.0, 0.0, 0.0), (2.0, 0.0, 0.0)]
SHIFTED_OBJECTS = {1: ("chair", (4.0, 0.8, 0.0), E), 2: ("table", (5.5, -0.8, 0.0), E), 3: ("lamp", (7.0, 0.0, 0.6), E)}
HAND_DEPTHS = {"chair": (4.0, 2.0), "table": (5.5, 3.5), "lamp": (7.0, 5.0)}  # (in frame 0, in frame 1)


@pytest.mark.parametrize("task", ["depth_prediction_oc_mv", "depth_prediction_oo_mv"])
def test_depth_mv_taken_in_the_marker_image(task):
    """Each object's depth is its depth in the image its marker sits in, not in the first image."""
    records = make_records(SHIFTED_OBJECTS, SHIFTED_CAMERAS)
    out = all_tasks()[task].generate(records, np.random.default_rng(3), GenConfig(samples_per_format=12, attempts_per_sample=30))
    assert out
    lookup = Lookup(records)
    for r in out:
        idx = r.markers["point_img_idx"][0]
        assert sorted(set(idx)) == [0, 1]  # markers spread over both images
        depth = [HAND_DEPTHS[label][r.meta["frames"][idx[role]]] for role, label in enumerate(labels_of(r))]
        assert f"{depth[0]:.1f} meters" in r.question
        want = depth[1] if task.endswith("oc_mv") else abs(depth[2] - depth[1])
        assert f"{want:.1f}" in answer_value(r)
        assert "The depth is calculated based on the image where the markers corresponding to these objects are located." in r.question
        assert not [f for f in all_tasks()[task].verify(r, lookup) if f.startswith("mismatch")]


def test_distance_mv_exact():
    for r in mv_run("distance_prediction_oc_mv"):
        assert f"{np.linalg.norm(centre(labels_of(r)[0]) - main_cam(r)):.1f}" in answer_value(r)
        assert r.markers["point_img_idx"][0][0] != 0  # the object is marked in a non-main image
    for r in mv_run("distance_prediction_oo_mv"):
        a, b = labels_of(r)
        assert f"{np.linalg.norm(centre(a) - centre(b)):.1f}" in answer_value(r)


def test_distance_infer_mv_exact():
    for r in mv_run("distance_infer_center_oo_mv"):
        anchor, green, blue = labels_of(r)
        dg, db = (np.linalg.norm(centre(x) - centre(anchor)) for x in (green, blue))
        want = green if (dg < db) == (r.meta["ask"] == "closer") else blue
        assert want in answer_value(r).lower()
        assert len(r.markers["point_img_idx"][0]) == 3
    for r in mv_run("distance_infer_center_oc_mv"):
        a, b = labels_of(r)
        da, db = (np.linalg.norm(centre(x) - main_cam(r)) for x in (a, b))
        want = a if (da < db) == (r.meta["ask"] == "closer") else b
        assert want in answer_value(r).lower()


def hand_words_oo(a: str, b: str, cam: np.ndarray) -> str:
    pa, pb = centre(a), centre(b)
    lr = "left" if pa[1] - pb[1] > 0.1 else "right" if pb[1] - pa[1] > 0.1 else ""  # larger Y = more to the left
    ab = "above" if pa[2] - pb[2] > 0.1 else "below" if pb[2] - pa[2] > 0.1 else ""
    da, db = np.linalg.norm(pa - cam), np.linalg.norm(pb - cam)
    cf = "closer" if db - da > 0.1 else "farther" if da - db > 0.1 else ""
    return ", ".join([lr, ab, cf])


def test_relation_mv_exact():
    for r in mv_run("obj_spatial_relation_oo_mv"):
        if r.format == "select":
            assert answer_value(r) == hand_words_oo(*labels_of(r), main_cam(r))
    for r in mv_run("obj_spatial_relation_oc_mv"):
        if r.format != "select":
            continue
        p = centre(labels_of(r)[0]) - main_cam(r)  # camera x = -dY, up = dZ, forward = dX
        lr = "left" if p[1] > 0.1 else "right" if p[1] < -0.1 else ""
        ab = "above" if p[2] > 0.1 else "below" if p[2] < -0.1 else ""
        fb = "front" if p[0] > 0.1 else "behind" if p[0] < -0.1 else ""
        assert answer_value(r) == ", ".join([lr, ab, fb])


@pytest.mark.parametrize("task", ["spatial_imagination_oc_mv", "spatial_imagination_oo_mv"])
def test_imagination_mv_generates_and_verifies(task):
    out = mv_run(task)
    lookup = Lookup(make_records(MV_OBJECTS, MV_CAMERAS))
    for r in out:
        assert len(r.markers["bbox_img_idx"][0]) == len(r.meta["objects"])
        assert not [f for f in all_tasks()[task].verify(r, lookup) if f.startswith("mismatch")]


def matching_records():
    """A 1 m cube at (4, 0, 0) seen from (0,0,0) and (0,-1,0) with hand 2D boxes inside its projections."""
    def vis(box, point):
        box = np.array(box, float)
        return VisibleObject(1, "table", box, np.array(point, float), np.zeros(3), 1.0, 1.0)
    override = {0: {1: vis([256, 192, 384, 288], [320, 240])}, 1: {1: vis([128, 192, 256, 288], [195, 240])}}
    return make_records({1: ("table", (4.0, 0.0, 0.0), (1.0, 1.0, 1.0))}, [(0, 0, 0), (0, -1, 0)], visible_override=override)


def test_position_matching_exact():
    records = matching_records()
    out = all_tasks()["position_matching"].generate(records, np.random.default_rng(0), GenConfig(samples_per_format=4))
    assert {r.format for r in out} == {"fill", "select", "sentence"}
    # 640x480 pixels -> 0..1000: [256,192,384,288] -> [400,400,600,600]; [128,192,256,288] -> [200,400,400,600]
    expected = {(0, 1): ([400, 400, 600, 600], "[200, 400, 400, 600]"), (1, 0): ([200, 400, 400, 600], "[400, 400, 600, 600]")}
    for r in out:
        red, answer = expected[tuple(r.meta["frames"])]
        assert r.markers["red_bbox"] == [red] and r.markers["bbox_img_idx"] == [[0]]
        assert answer in answer_value(r)
        if r.format == "select":
            truth = np.array(eval(answer), float)
            for opt in r.meta["q"]["options"]:
                if opt != answer:
                    assert iou(np.array(eval(opt), float), truth) < 0.3


def test_position_matching_verify_catches_bad_box():
    records = matching_records()
    lookup = Lookup(records)
    spec = all_tasks()["position_matching"]
    r = next(r for r in spec.generate(records, np.random.default_rng(0), GenConfig(samples_per_format=2)) if r.format == "fill")
    assert spec.verify(r, lookup) == []
    r.meta["boxes"][1] = [0, 0, 100, 100]  # a box nowhere near the cube's projection
    r.answer = "[0, 0, 100, 100]"
    assert any("outside the projected 3D box" in f for f in spec.verify(r, lookup))


def test_camera_motion_exact():
    # camera 2 at (4, 1, 0.5) in camera 1 (origin, +x): (-1, -0.5, 4) -> u = 320 - 125 = 195, v = 240 - 62.5 = 177.5
    # -> (195/640, 177.5/480) * 1000 = (305, 370), depth 4.0. The reverse pair puts camera 1 behind camera 2: never asked.
    records = make_records({1: ("poster", (7.0, 1.0, 0.5), E)}, [(0, 0, 0), (4.0, 1.0, 0.5)])
    config = GenConfig(samples_per_format=3, attempts_per_sample=10)
    out = all_tasks()["camera_motion_infer"].generate(records, np.random.default_rng(0), config)
    assert out and all(r.meta["frames"] == [0, 1] for r in out)  # never the reverse pair
    for r in out:
        if r.format == "fill":
            assert r.answer == "(305, 370), 4.0"
        elif r.format == "select":
            assert answer_value(r) == "Image Coor: (305, 370), Depth: 4.0 meters"
        else:
            assert "(305, 370)" in r.answer and "4.0 meters" in r.answer


def test_view_change_exact():
    # camera 2 at (2, 1, 0.5) looking along (0, cos30, sin30): right (1,0,0), down (0, .5, -.866)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    rot2 = np.array([[1.0, 0.0, 0.0], [0.0, s, c], [0.0, -c, s]])
    vis = {1: VisibleObject(1, "door", np.array([100.0, 100.0, 200.0, 200.0]), np.array([150.0, 150.0]), np.zeros(3), 1.0, 1e4)}
    records = make_records({1: ("door", (3.0, 3.0, 1.0), E)}, [(0, 0, 0), (2.0, 1.0, 0.5)], rotations=[R_PLUS_X, rot2],
                           visible_override={0: vis, 1: vis})
    out = all_tasks()["view_change_infer"].generate(records, np.random.default_rng(0), GenConfig(samples_per_format=4))
    expected = {
        # camera-1 axes: x = -Y -> 1 m left, up = Z -> 0.5, forward = X -> 2; looks 90 deg left and 30 deg up
        (0, 1): "move_left:1.0,move_up:0.5,move_forward:2.0,rotate_up:30,rotate_left:90",
        # back from 2 to 1: offset (-2,-1,-.5) in camera-2 axes: right -2, down -.5*1 + .866*.5 = -0.067, forward -.866 - .25
        (1, 0): "move_left:2.0,move_up:0.1,move_backward:1.1,rotate_up:0,rotate_right:90",
    }
    assert {tuple(r.meta["frames"]) for r in out} == set(expected)
    for r in out:
        want = expected[tuple(r.meta["frames"])]
        if r.format == "fill":
            assert r.answer == want
        else:
            for item in want.split(","):
                key, value = item.split(":")
                assert f"{value} {'meters' if key.startswith('move') else 'degrees'}" in r.answer or f"{value} degrees" in r.answer

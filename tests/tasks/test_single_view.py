"""Single-view generators on hand-built scenes: exact answers from hand geometry (see tasks_scene.py).

One camera at the origin looking along +x (z up), so an object at world (X, Y, Z) has depth X,
lies to the left when Y > 0 and above when Z > 0 (relative to another object: compare Y and Z).
"""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.tasks_scene import labels_of, make_records

from spar_hf.tasks.imagination import _derive as imagination_derive
from spar_hf.tasks.registry import all_tasks
from spar_hf.tasks.taskdef import Cam, GenConfig
from spar_hf.tasks.volume import dimensions_cm

CHAIR = ("chair", (3.0, 1.0, 0.0), (0.4, 0.4, 0.4))  # camera point (-1, 0, 3)
TABLE = ("table", (5.0, -1.0, 0.5), (0.4, 0.4, 0.4))  # camera point (1, -0.5, 5)
LAMP = ("lamp", (4.0, 0.0, 1.0), (0.4, 0.4, 0.4))  # camera point (0, -1, 4)


def run(task: str, objects: dict, positions=((0.0, 0.0, 0.0),), n: int = 12, seed: int = 0, **cfg):
    records = make_records(objects, list(positions))
    config = GenConfig(samples_per_format=n, attempts_per_sample=20, **cfg)
    out = all_tasks()[task].generate(records, np.random.default_rng(seed), config)
    assert out, f"{task} generated nothing: {config.skipped}"
    return out, config


def option_text(record) -> str:
    """The option the answer letter points at."""
    return record.meta["q"]["options"]["ABCD".index(record.answer)]


def test_depth_oc_exact():
    out, _ = run("depth_prediction_oc", {1: CHAIR, 2: TABLE})
    expected = {("chair", "table"): ("3.0", "5.0"), ("table", "chair"): ("5.0", "3.0")}  # depth = world X
    seen = set()
    for r in out:
        ref, ans = expected[tuple(labels_of(r))]
        seen.add(tuple(labels_of(r)))
        assert f"{ref} meters" in r.question
        if r.format == "fill":
            assert r.answer == ans
        elif r.format == "select":
            assert option_text(r) == ans
        else:
            assert f"{ans} meters" in r.answer
    assert seen == set(expected)


def test_depth_oo_exact():
    out, _ = run("depth_prediction_oo", {1: CHAIR, 2: TABLE, 3: LAMP})
    depth = {"chair": 3.0, "table": 5.0, "lamp": 4.0}
    for r in out:
        ref, blue, green = labels_of(r)
        ans = f"{abs(depth[green] - depth[blue]):.1f}"  # |5-3| = 2.0, |4-3| = |5-4| = 1.0
        assert f"{depth[ref]:.1f} meters" in r.question
        got = {"fill": lambda: r.answer, "select": lambda: option_text(r)}.get(r.format, lambda: None)()
        if got is not None:
            assert got == ans
        else:
            word = "deeper" if depth[green] > depth[blue] else "shallower"
            assert ans in r.answer and word in r.answer


def test_distance_oc_and_oo_exact():
    # |(3,1,0)| = 3.16, |(5,-1,.5)| = 5.12, |(4,0,1)| = 4.12
    oc = {"chair": "3.2", "table": "5.1", "lamp": "4.1"}
    out, _ = run("distance_prediction_oc", {1: CHAIR, 2: TABLE, 3: LAMP})
    for r in out:
        ans = oc[labels_of(r)[0]]
        assert (option_text(r) if r.format == "select" else r.answer if r.format == "fill" else ans) == ans
        assert ans in r.answer or r.format == "select"
    # chair-table sqrt(8.25) = 2.87, chair-lamp sqrt(3) = 1.73, table-lamp sqrt(2.25) = 1.5
    oo = {frozenset({"chair", "table"}): "2.9", frozenset({"chair", "lamp"}): "1.7", frozenset({"table", "lamp"}): "1.5"}
    out, _ = run("distance_prediction_oo", {1: CHAIR, 2: TABLE, 3: LAMP})
    for r in out:
        ans = oo[frozenset(labels_of(r))]
        if r.format == "select":
            assert option_text(r) == ans
        else:
            assert ans in r.answer


def test_distance_infer_oc_closer_farther():
    out, _ = run("distance_infer_center_oc", {1: CHAIR, 2: TABLE})
    for r in out:
        ask = r.meta["ask"]
        ans = "chair" if ask == "closer" else "table"  # 3.16 m vs 5.12 m from the camera
        assert f"{ask} " in r.question
        if r.format == "fill":
            assert r.answer == ans
        elif r.format == "select":
            assert option_text(r) == ans and len(r.meta["q"]["options"]) == 2
            assert r.question.endswith("Your answer can only include one of options A, B.")
        else:
            assert f"the {ans} is {ask}" in r.answer.lower() and "3.2" in r.answer and "5.1" in r.answer
        assert not r.markers  # labels only


def test_distance_infer_oo_anchor():
    # from the lamp: chair sqrt(3) = 1.73, table 1.5; from the chair: lamp 1.73, table 2.87; from the table: lamp 1.5, chair 2.87
    closer = {"lamp": "table", "chair": "lamp", "table": "lamp"}
    out, _ = run("distance_infer_center_oo", {1: CHAIR, 2: TABLE, 3: LAMP}, n=20)
    for r in out:
        anchor, green, blue = labels_of(r)
        near = closer[anchor]
        ans = near if r.meta["ask"] == "closer" else ({green, blue} - {near}).pop()
        got = option_text(r) if r.format == "select" else r.answer
        assert ans.lower() in got.lower()


@pytest.mark.parametrize("fmt", ["select", "sentence", "judge"])
def test_relation_oo_words(fmt):
    # chair (-1, 0, 3) vs table (1, -0.5, 5): x smaller -> left; camera y larger (lower) -> below; nearer -> closer
    expected = {("chair", "table"): ["left", "below", "closer"], ("table", "chair"): ["right", "above", "farther"],
                ("chair", "lamp"): ["left", "below", "closer"], ("lamp", "chair"): ["right", "above", "farther"],
                ("lamp", "table"): ["left", "above", "closer"], ("table", "lamp"): ["right", "below", "farther"]}
    out, _ = run("obj_spatial_relation_oo", {1: CHAIR, 2: TABLE, 3: LAMP}, n=20)
    rows = [r for r in out if r.format == fmt]
    assert rows
    for r in rows:
        words = expected[tuple(labels_of(r))]
        if fmt == "select":
            assert option_text(r) == ", ".join(words)
        elif fmt == "sentence":
            phrase = {"left": "to the left", "right": "to the right", "closer": "closer to the camera", "farther": "farther from the camera"}
            for w in words:
                assert phrase.get(w, w) in r.answer
        else:
            judged = r.meta["q"]["judge"]["word"]
            assert r.answer == ("Yes" if judged in words else "No")


def test_relation_empty_component_under_10cm():
    box = ("box", (3.0, 0.0, 0.0), (0.4, 0.4, 0.4))  # camera (0, 0, 3)
    bag = ("bag", (3.5, -0.05, 1.0), (0.4, 0.4, 0.4))  # camera (0.05, -1, 3.5): x differs by 5 cm only
    out, _ = run("obj_spatial_relation_oo", {1: box, 2: bag})
    expected = {("box", "bag"): ", below, closer", ("bag", "box"): ", above, farther"}
    for r in out:
        if r.format == "select":
            assert option_text(r) == expected[tuple(labels_of(r))]
        if r.format == "judge":
            assert r.meta["q"]["judge"]["axis"] != 0  # never judges the indistinguishable component


def test_spatial_imagination_hand_derived():
    # observer moves to the desk (4,0,0) facing the bed (4,2,0): right = +x, down = -z, forward = +y (world).
    # plant (3,1,.5) in that frame: (-1, -0.5, 1) -> left, above, front. shelf (5,3,0): (1, 0, 3).
    # plant vs shelf: x -1 vs 1 -> left; plant higher by 0.5 -> above; 1.5 m vs 3.16 m from observer -> closer.
    objects = {1: ("plant", (3.0, 1.0, 0.5), (0.4,) * 3), 2: ("desk", (4.0, 0.0, 0.0), (0.4,) * 3),
               3: ("bed", (4.0, 2.0, 0.0), (0.4,) * 3), 4: ("shelf", (5.0, 3.0, 0.0), (0.4,) * 3)}
    out, _ = run("spatial_imagination_oc", {k: objects[k] for k in (1, 2, 3)}, n=6)
    hits = [r for r in out if labels_of(r) == ["plant", "desk", "bed"]]
    assert hits
    for r in hits:
        if r.format == "select":
            assert option_text(r) == "left, above, front"
        else:
            assert "to the left, above and in front" in r.answer
    out, _ = run("spatial_imagination_oo", objects, n=24)
    hits = [r for r in out if labels_of(r) == ["plant", "desk", "bed", "shelf"]]
    assert hits
    for r in hits:
        if r.format == "select":
            assert option_text(r) == "left, above, closer"
        else:
            assert "to the left, above and closer to the camera" in r.answer
            # before the move (camera at origin): plant (-1,-.5,3) vs shelf (-3,0,5) -> right, above, closer
            assert "to the right, above and closer to the camera" in r.answer


def test_imagination_steep_view_discarded():
    cam = Cam(np.eye(4), np.eye(3), 640, 480)
    meta = {"up": [0, 0, 1], "objects": [
        {"label": "a", "center": [1.0, 1.0, 0.0]}, {"label": "b", "center": [4.0, 0.0, 0.0]},
        {"label": "c", "center": [4.2, 0.0, 2.0]}]}  # pitch atan(2 / 0.2) = 84 deg > 60
    assert imagination_derive(False, meta, [cam], GenConfig()).skip == "steep_pitch"
    meta["objects"][2]["center"] = [6.0, 0.0, 2.0]  # pitch atan(2 / 2) = 45 deg: kept
    assert imagination_derive(False, meta, [cam], GenConfig()).skip is None


def test_volume_exact():
    out, _ = run("spatial_volume_infer", {1: ("cabinet", (4.0, 0.0, 0.0), (0.8, 0.5, 1.2))}, n=12)
    expected = {"length": "80", "width": "50", "height": "120", "volume": "480000"}  # 80 * 50 * 120 cm^3
    for r in out:
        if r.format == "fill":
            assert r.answer == expected[r.meta["quantity"]]
        else:
            assert all(f"{v} " in r.answer for v in expected.values())
    # a box lying on its side: axis 0 is vertical (rotation 90 deg about y)
    rot = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    l, w, h, v = dimensions_cm(np.array([1.2, 0.5, 0.8]), rot, np.array([0.0, 0.0, 1.0]))
    assert (round(l), round(w), round(h), round(v)) == (80, 50, 120, 480000)


def test_skip_counts_exposed():
    # overlapping 2D boxes (same pixel column, different depth) are skipped for depth questions
    near = ("cup", (2.0, 0.0, 0.0), (0.2, 0.2, 0.2))
    far = ("vase", (4.0, 0.0, 0.0), (0.2, 0.2, 0.2))
    records = make_records({1: near, 2: far}, [(0.0, 0.0, 0.0)])
    config = GenConfig(samples_per_format=2)
    assert all_tasks()["depth_prediction_oc"].generate(records, np.random.default_rng(0), config) == []
    assert config.skipped["depth_prediction_oc: overlap_2d"] > 0


@pytest.mark.parametrize("task", ["distance_prediction_oc", "distance_prediction_oo", "depth_prediction_oc"])
def test_occluded_marker_points_are_skipped(task):
    """An object whose marker point shows another object (visibility's point_occluded) never gets a point."""
    records = make_records({1: CHAIR, 2: TABLE, 3: LAMP}, [(0.0, 0.0, 0.0)])
    records.images[0].visible[2].point_occluded = True  # say the table's centre is hidden behind something
    config = GenConfig(samples_per_format=12, attempts_per_sample=20)
    out = all_tasks()[task].generate(records, np.random.default_rng(0), config)
    assert out and all("table" not in labels_of(r) for r in out)
    assert config.skipped[f"{task}: marker_occluded"] > 0


def test_occluded_point_does_not_block_box_markers():
    records = make_records({1: CHAIR, 2: TABLE}, [(0.0, 0.0, 0.0)])
    records.images[0].visible[2].point_occluded = True
    config = GenConfig(samples_per_format=4, attempts_per_sample=20)
    out = all_tasks()["obj_spatial_relation_oo"].generate(records, np.random.default_rng(0), config)
    assert out and all(set(labels_of(r)) == {"chair", "table"} for r in out)
    assert "obj_spatial_relation_oo: marker_occluded" not in config.skipped

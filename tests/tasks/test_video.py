"""Video tasks on a hand-built scene: exact answers worked out by hand."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from spar_hf.geometry import look_at
from spar_hf.records import ImageRecord, ObjectRecord, SceneRecords, VisibleObject
from spar_hf.scene.model import Frame, Object3D, Scene
from spar_hf.tasks import appearance, counting, frame_locate, room_size, video_distance, video_imagination
from spar_hf.tasks.registry import all_tasks
from spar_hf.generate.video import sample_clip

K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])

# id, label, centre, extents (room 5 m x 4 m, floor z = 0)
OBJECTS = [
    (1, "chair", (1.0, 1.0, 0.5), (0.5, 0.5, 1.0)),
    (2, "chair", (4.0, 1.0, 0.5), (0.5, 0.5, 1.0)),
    (3, "table", (2.5, 2.0, 0.4), (1.2, 0.8, 0.8)),
    (4, "lamp", (4.5, 3.5, 1.5), (0.3, 0.3, 0.6)),
    (5, "sofa", (1.0, 3.4, 0.4), (1.6, 0.9, 0.8)),
]
# clip position -> visible object ids
VISIBLE = [{1, 3}, {3, 5}, {5}, {2, 4}, {4}, {1, 2}]


def _room_vertices() -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(0, 5.0001, 0.1), np.arange(0, 4.0001, 0.1))
    floor = np.stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)], 1)
    ceiling = floor + [0, 0, 2.5]
    return np.concatenate([floor, ceiling])


def build_records() -> SceneRecords:
    objects = [Object3D(i, lab, np.array(c, float), np.array(e, float), np.eye(3)) for i, lab, c, e in OBJECTS]
    frames, video = [], []
    for pos, ids in enumerate(VISIBLE):
        pose = look_at(np.array([0.5 + 0.8 * pos, 0.2, 1.4]), np.array([2.5, 3.0, 1.0]))
        frames.append(Frame(pos * 10, f"/nowhere/{pos * 10}.jpg", None, 1000.0, pose, K, 640, 480))
        visible = {i: VisibleObject(i, objects[i - 1].label, np.array([100.0 + 10 * i, 100, 200 + 10 * i, 220]),
                                    np.array([150.0 + 10 * i, 160]), np.zeros(3), 0.8, 100.0 * 120 + i) for i in ids}
        video.append(ImageRecord("hand0", pos * 10, "", None, pose, K, 640, 480, visible))
    scene = Scene("hand0", "synthetic", _room_vertices(), np.zeros((0, 3), int), frames, objects)
    recs = {o.id: ObjectRecord(o.id, o.label, o.center, o.extents, o.rotation, []) for o in objects}
    return SceneRecords(scene, [], recs, video)


def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_sample_clip_even_and_deterministic():
    scene = SimpleNamespace(frames=[SimpleNamespace(index=i) for i in range(0, 100)])
    clip = sample_clip(scene, n_frames=5)
    assert clip == [0, 25, 50, 74, 99]  # rint(linspace(0, 99, 5)) = 0, 24.75, 49.5, 74.25, 99 (49.5 -> 50 half-even)
    assert sample_clip(scene, n_frames=5) == clip
    small = SimpleNamespace(frames=[SimpleNamespace(index=i) for i in (7, 3, 5)])
    assert sample_clip(small, n_frames=16) == [3, 5, 7]
    assert sample_clip(SimpleNamespace(frames=[], clip=[4, 2, 9])) == [4, 2, 9]


def test_obj_count_counts_the_two_chairs():
    out = counting.generate(build_records(), rng(), {})
    assert {r.format for r in out} == {"fill", "sentence"}
    fill = [r for r in out if r.format == "fill"]
    assert len(fill) == 1 and "chair" in fill[0].question and fill[0].answer == "2"
    assert all(counting.verify(r) == [] for r in out)
    assert len(out[0].images) == 6 and out[0].images[3] == "hand0/video_color/frame3_30.jpg"


def test_obj_count_skips_label_with_an_unseen_instance():
    records = build_records()
    for rec in records.video:
        rec.visible.pop(2, None)
    assert counting.generate(records, rng(), {}) == []


def test_appearance_order_by_first_sight_of_each_label():
    out = appearance.generate(build_records(), rng(), {})
    # first sight: chair 1 and table at Frame-1 (a tie: never asked together), sofa Frame-2, lamp Frame-4
    fills = [r for r in out if r.format == "fill"]
    assert sorted(r.answer for r in fills) == ["chair, sofa, lamp", "table, sofa, lamp"]
    sentence = next(r for r in out if r.format == "sentence" and r.answer.startswith("The table"))
    assert sentence.answer == "The table appears first (Frame-1), then the sofa (Frame-2), and finally the lamp (Frame-4)."
    assert all(appearance.verify(r) == [] for r in out)
    bad = fills[0]
    bad.answer = "sofa, table, lamp"
    assert any(f.startswith("mismatch") for f in appearance.verify(bad))


def test_obj_frame_locate_answers():
    out = frame_locate.generate(build_records(), rng(), {})
    # every object is seen in two frames: chair1 {1,6}, chair2 {4,6}, table {1,2}, lamp {4,5}, sofa {2,3}
    seen = {1: {0, 5}, 2: {3, 5}, 3: {0, 1}, 4: {3, 4}, 5: {1, 2}}
    assert len(out) == 5
    for r in out:
        oid = r.meta["objects"][0]["id"]
        ref = r.meta["reference_position"]
        other = (seen[oid] - {ref}).pop()
        assert r.answer.endswith(f"also appears in Frame-{other + 1}.")
        assert f"Frame-{ref + 1}" in r.question
        assert r.markers["bbox_img_idx"] == [[ref]]
        assert frame_locate.verify(r) == []


def test_distance_prediction_oo_video_values():
    out = video_distance.generate_distance(build_records(), rng(), {})
    assert out
    # unique labels: table, lamp, sofa; table-lamp = sqrt(2^2 + 1.5^2 + 1.1^2) = 2.73, table-sofa =
    # sqrt(1.5^2 + 1.4^2) = 2.05, lamp-sofa = sqrt(3.5^2 + 0.1^2 + 1.1^2) = 3.67
    expected = {frozenset({"table", "lamp"}): "2.7", frozenset({"table", "sofa"}): "2.1", frozenset({"lamp", "sofa"}): "3.7"}
    for r in out:
        key = frozenset(o["label"] for o in r.meta["objects"])
        if r.format == "fill":
            assert r.answer == expected[key]
        # the release draws red_point in image point_img_idx[0][0] and blue_point in [0][1] (KeyError without them)
        a, b = (o["id"] for o in r.meta["objects"])
        ia, ib = r.markers["point_img_idx"][0]
        assert a in VISIBLE[ia] and b in VISIBLE[ib]
        assert len(r.markers["red_point"]) == 1 and len(r.markers["blue_point"]) == 1
        assert "(red point)" in r.question and "(blue point)" in r.question
        assert video_distance.verify_distance(r) == []
    assert {r.format for r in out} == {"fill", "select", "sentence"}


def test_distance_infer_center_oo_video_markers_and_answer():
    out = video_distance.generate_infer(build_records(), rng(), {})
    assert out
    for r in out:
        anchor, b, c = (np.array(o["center"]) for o in r.meta["objects"])
        db, dc = np.linalg.norm(anchor - b), np.linalg.norm(anchor - c)
        closer = r.meta["relation"] == "closer"
        winner = r.meta["objects"][1 if (db < dc) == closer else 2]["label"]
        if r.format == "fill":
            assert r.answer == winner
        # the release reads point_list[0] (all points in one wrapper) and names them objectA, object0, object1
        assert len(r.markers["point_list"]) == 1 and len(r.markers["point_list"][0]) == 3
        assert len(r.markers["point_img_idx"][0]) == 3
        assert all(f"({name})" in r.question for name in ("objectA", "object0", "object1"))
        assert " point)" not in r.question
        assert video_distance.verify_infer(r) == []


def test_room_size_rectangle_within_3_percent():
    area = room_size.room_area(_room_vertices()).area
    assert abs(area - 20.0) / 20.0 < 0.03
    out = room_size.generate(build_records(), rng(), {})
    fill = next(r for r in out if r.format == "fill")
    assert abs(float(fill.answer) - 20.0) <= 0.6
    assert all(room_size.verify(r) == [] for r in out)


def test_room_size_l_shape_is_concave():
    v = _room_vertices()
    keep = ~((v[:, 0] > 2.5) & (v[:, 1] > 2.0))  # cut a 2.5 x 2 m corner: 20 - 5 = 15 m^2
    result = room_size.room_area(v[keep])
    assert result.hull == "alpha" and abs(result.area - 15.0) / 15.0 < 0.03


def test_room_size_skips_small_rooms():
    records = build_records()
    records.scene.vertices = records.scene.vertices * [0.5, 0.5, 1.0]  # 2.5 x 2 m = 5 m^2
    assert room_size.generate(records, rng(), {"room_min_area_m2": 6.0}) == []


def test_imagination_relation_hand_case():
    # observer moves to (0,0,1) facing (0,2,1): camera x = +x world (right), forward = +y
    pose = video_imagination.moved_pose(np.array([0, 0, 1.0]), np.array([0, 2.0, 1]), np.array([0, 0, 1.0]))
    words, _ = video_imagination.relation("oc", pose, np.array([-1.0, 3.0, 0.5]))
    assert words == ["left", "below", "front"]
    words, _ = video_imagination.relation("oo", pose, np.array([1.0, 1.0, 1.0]), np.array([0.0, 3.0, 1.0]))
    assert words == ["right", "", "front"]  # A is nearer the observer than D -> in front of D
    assert video_imagination.moved_pose(np.array([0, 0, 0.0]), np.array([0, 1.0, 2.0]), np.array([0, 0, 1.0])) is None


@pytest.mark.parametrize("name", ["spatial_imagination_oc_video", "spatial_imagination_oc_video_hard",
                                  "spatial_imagination_oo_video", "spatial_imagination_oo_video_hard"])
def test_imagination_variants_verify(name):
    spec = all_tasks()[name]
    out = spec.generate(build_records(), rng(), {"max_per_task": 4})
    for r in out:
        assert r.meta["hard"] == name.endswith("_hard")
        assert spec.verify(r, None) == []
        if name.endswith("_hard"):  # the release draws nothing for _hard: no markers, no marker names
            assert r.markers == {} and "(object" not in r.question and "bbox" not in r.question
        else:
            n = 3 if "_oc_" in name else 4
            assert len(r.markers["bbox_img_idx"][0]) == n
            assert [c for c in ("green", "blue", "red", "yellow") if f"{c}_bbox" in r.markers] == ["green", "blue", "red", "yellow"][:n]
            assert all(f"(object{i})" in r.question for i in range(n)) and "bbox" not in r.question
        assert re.search(r"(left|right|above|below|front|behind)", r.answer)


def test_imagination_hard_and_base_both_occur():
    records = build_records()
    counts = {}
    for name in ("spatial_imagination_oc_video", "spatial_imagination_oc_video_hard"):
        counts[name] = len(all_tasks()[name].generate(records, rng(), {"max_per_task": 4}))
    assert counts["spatial_imagination_oc_video_hard"] > 0  # no frame shows 3 objects here: all hard
    assert counts["spatial_imagination_oc_video"] == 0


def test_video_task_ids_unique_and_deterministic():
    names = [n for n, s in all_tasks().items() if s.view == "video" and n != "nav_video"]
    a = [r.to_json() for n in names for r in all_tasks()[n].generate(build_records(), rng(), {})]
    b = [r.to_json() for n in names for r in all_tasks()[n].generate(build_records(), rng(), {})]
    assert a == b
    ids = [r["id"] for r in a]
    assert len(ids) == len(set(ids))


def test_imagination_base_when_one_frame_shows_everything():
    records = build_records()
    # a frame that sees every object, looking from the room's -y side toward +y
    records.video[2].visible = {i: records.video[0].visible.get(i) or records.video[3].visible.get(i)
                                or records.video[1].visible.get(i) for i in range(1, 6)}
    records.video[2].pose = look_at(np.array([2.5, -3.0, 1.5]), np.array([2.5, 2.0, 1.0]))
    spec = all_tasks()["spatial_imagination_oc_video"]
    out = spec.generate(records, rng(), {"max_per_task": 4})
    assert out and all(not r.meta["hard"] and spec.verify(r, None) == [] for r in out)


def test_registry_holds_this_areas_tasks_with_verify():
    table = all_tasks()
    expected = {
        "distance_prediction_oo_video": ("fill", "select", "sentence"),
        "distance_infer_center_oo_video": ("fill", "select", "sentence"),
        "room_size": ("fill", "select", "sentence"),
        "spatial_imagination_oc_video": ("sentence",), "spatial_imagination_oc_video_hard": ("sentence",),
        "spatial_imagination_oo_video": ("sentence",), "spatial_imagination_oo_video_hard": ("sentence",),
        "appearance_order": ("fill", "sentence"), "obj_count": ("fill", "sentence"),
        "obj_frame_locate": ("sentence",), "nav_video": ("sentence",),
        "spatial_imagination_map_mv": ("sentence",), "grounding_3d_mv": ("sentence",),
    }
    for name, formats in expected.items():
        assert table[name].formats == formats and table[name].verify is not None
        assert table[name].view == ("multi" if name.endswith("_mv") else "video")


def test_video_point_markers_avoid_occluded_views():
    """The table's point is occluded in clip position 0 but not 1: its red/blue point sits in frame 1.
    The lamp's point is occluded everywhere (positions 3, 4): it is never asked about, and counted."""
    from collections import Counter

    records = build_records()
    records.video[0].visible[3].point_occluded = True
    for pos in (3, 4):
        records.video[pos].visible[4].point_occluded = True
    config = {"skipped": Counter()}
    out = video_distance.generate_distance(records, rng(), config)
    assert out and config["skipped"]["distance_prediction_oo_video: marker_occluded"] == 1
    for r in out:
        labels = [o["label"] for o in r.meta["objects"]]
        assert "lamp" not in labels
        if "table" in labels:
            assert r.markers["point_img_idx"][0][labels.index("table")] == 1

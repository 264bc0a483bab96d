"""ScanNet reader: oriented boxes by hand, and corrupt inputs reported, skipped and counted."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from spar_hf.errors import SparError
from spar_hf.scene.scannet import list_scenes, oriented_box, read_intrinsics, read_scene
from spar_hf.scene.synthetic import generate_scene, write_scene

N_FRAMES = 4


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scannet")
    write_scene(generate_scene("scene0007_00", 3, N_FRAMES), root)
    return root / "scene0007_00"


@pytest.fixture()
def scene_dir(pristine, tmp_path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / pristine.name))


def test_oriented_box_of_a_rotated_rectangle():
    # a 2 x 1 rectangle turned 30 degrees about z, from z=0.5 to z=1.5, centred at (3, -1)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    corners = np.array([[sx, sy] for sx in (-1, 1) for sy in (-0.5, 0.5)])
    xy = corners @ np.array([[c, s], [-s, c]]) + [3.0, -1.0]
    pts = np.concatenate([np.c_[xy, np.full(4, 0.5)], np.c_[xy, np.full(4, 1.5)]])
    center, extents, rotation = oriented_box(pts)
    np.testing.assert_allclose(center, [3, -1, 1.0], atol=1e-9)
    np.testing.assert_allclose(extents, [2, 1, 1], atol=1e-9)
    np.testing.assert_allclose(rotation[:, 0], [c, s, 0], atol=1e-9)


def test_oriented_box_folds_yaw_into_plus_minus_45():
    # the same rectangle turned 80 degrees is reported turned -10 degrees with its sides swapped
    c, s = math.cos(math.radians(80)), math.sin(math.radians(80))
    corners = np.array([[sx, sy] for sx in (-1, 1) for sy in (-0.5, 0.5)])
    xy = corners @ np.array([[c, s], [-s, c]])
    pts = np.concatenate([np.c_[xy, np.zeros(4)], np.c_[xy, np.ones(4)]])
    center, extents, rotation = oriented_box(pts)
    np.testing.assert_allclose(extents, [1, 2, 1], atol=1e-9)
    assert math.degrees(math.atan2(rotation[1, 0], rotation[0, 0])) == pytest.approx(-10)


def test_intrinsics_3x3_and_4x4(tmp_path):
    (tmp_path / "k3.txt").write_text("500 0 320\n0 501 240\n0 0 1\n")
    (tmp_path / "k4.txt").write_text("500 0 320 0\n0 501 240 0\n0 0 1 0\n0 0 0 1\n")
    expected = [[500, 0, 320], [0, 501, 240], [0, 0, 1]]
    np.testing.assert_array_equal(read_intrinsics(tmp_path / "k3.txt"), expected)
    np.testing.assert_array_equal(read_intrinsics(tmp_path / "k4.txt"), expected)
    (tmp_path / "bad.txt").write_text("1 2 3\n")
    with pytest.raises(SparError, match="bad.txt"):
        read_intrinsics(tmp_path / "bad.txt")


def test_clean_scene_reads_every_frame(scene_dir):
    scene = read_scene(scene_dir)
    assert [f.index for f in scene.frames] == list(range(N_FRAMES))
    assert scene.skipped == {}
    assert list_scenes(scene_dir.parent) == [scene_dir]
    assert all(f.depth_scale == 1000 and (f.width, f.height) == (640, 480) for f in scene.frames)


def test_bad_poses_are_skipped_and_counted(scene_dir, caplog):
    (scene_dir / "pose" / "1.txt").write_text("-inf -inf -inf -inf\n" * 4)
    (scene_dir / "pose" / "2.txt").write_text("2 0 0 0\n0 2 0 0\n0 0 2 0\n0 0 0 1\n")  # scaled: not rigid
    (scene_dir / "pose" / "3.txt").unlink()
    scene = read_scene(scene_dir)
    assert [f.index for f in scene.frames] == [0]
    assert scene.skipped == {"pose not finite": 1, "pose not rigid": 1, "missing pose": 1}
    assert any("pose/1.txt: pose not finite" in r.getMessage() for r in caplog.records)


def test_aggregation_naming_a_missing_segment(scene_dir, caplog):
    agg_path = scene_dir / "scene0007_00.aggregation.json"
    agg = json.loads(agg_path.read_text())
    segs = json.loads((scene_dir / "scene0007_00_vh_clean_2.0.010000.segs.json").read_text())["segIndices"]
    n_objects = len(agg["segGroups"])
    agg["segGroups"][0]["segments"].append(999999)  # one bogus segment: ignored, object kept
    agg["segGroups"][1]["segments"] = [888888]  # only bogus: object dropped
    agg_path.write_text(json.dumps(agg))
    scene = read_scene(scene_dir)
    assert scene.skipped == {"aggregation segment missing": 2, "object without vertices": 1}
    reported = [r.getMessage() for r in caplog.records]
    assert any("aggregation.json: object 0" in m and "999999" in m for m in reported)
    assert any("aggregation.json: object 1" in m and "dropped" in m for m in reported)
    ids = [o.id for o in scene.objects]
    assert len(ids) == n_objects - 1 and 1 not in ids and 0 in ids
    first = scene.object_by_id(0)
    expected = np.flatnonzero(np.isin(segs, agg["segGroups"][0]["segments"][:-1]))
    np.testing.assert_array_equal(first.vertex_ids, expected)


@pytest.mark.parametrize("name", ["scene0007_00_vh_clean_2.ply", "scene0007_00.aggregation.json",
                                  "scene0007_00_vh_clean_2.0.010000.segs.json", "intrinsic/intrinsic_color.txt"])
def test_missing_required_file_names_it(scene_dir, name):
    (scene_dir / name).unlink()
    with pytest.raises(SparError, match=name.split("/")[-1]):
        read_scene(scene_dir)


def test_malformed_json_names_the_file(scene_dir):
    (scene_dir / "scene0007_00.aggregation.json").write_text("{not json")
    with pytest.raises(SparError, match="aggregation.json"):
        read_scene(scene_dir)


def test_missing_depth_map_falls_back_to_none(scene_dir):
    (scene_dir / "depth" / "2.png").unlink()
    scene = read_scene(scene_dir)
    assert scene.frame_by_index(2).depth_path is None
    assert scene.frame_by_index(1).depth_path.endswith("depth/1.png")


def test_truncated_depth_png_is_counted_at_visibility(scene_dir, caplog):
    from spar_hf.generate.visibility import compute_scene_records

    path = scene_dir / "depth" / "1.png"
    path.write_bytes(path.read_bytes()[:300])
    scene = read_scene(scene_dir)
    records = compute_scene_records(scene, [0, 1, 2])
    assert [im.frame_index for im in records.images] == [0, 2]
    assert scene.skipped == {"unreadable depth": 1}
    assert any(str(path) in r.getMessage() for r in caplog.records)


def test_list_scenes_on_a_missing_root_names_it(tmp_path):
    with pytest.raises(SparError, match="nowhere"):
        list_scenes(tmp_path / "nowhere")


def test_depth_maps_and_ray_casting_agree_on_a_synthetic_scene(scene_dir):
    from spar_hf.generate.visibility import compute_scene_records

    scene = read_scene(scene_dir)
    with_depth = compute_scene_records(scene, [0, 1, 2, 3])
    for frame in scene.frames:
        frame.depth_path = None
    cast = compute_scene_records(scene, [0, 1, 2, 3])
    assert sum(len(im.visible) for im in with_depth.images) > 0
    for a, b in zip(with_depth.images, cast.images):
        assert set(a.visible) == set(b.visible)
        for oid in a.visible:
            np.testing.assert_allclose(a.visible[oid].bbox, b.visible[oid].bbox, atol=1.0)
            assert abs(a.visible[oid].visible_fraction - b.visible[oid].visible_fraction) < 0.02

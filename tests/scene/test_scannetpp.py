"""ScanNet++ reader on a fixture written in the release layout (tests/fixtures/sources.py)."""

import json

import numpy as np
import pytest
from fixtures.sources import BOXES, KNOWN_DEPTH_M, KNOWN_PIXEL, KNOWN_POINT, K, camera_poses, write_scannetpp_scene
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.geometry import project
from spar_hf.scene import scannetpp, sources


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    return write_scannetpp_scene(tmp_path_factory.mktemp("scannetpp"))


@pytest.fixture(scope="module")
def scene(scene_dir):
    return scannetpp.read_scene(scene_dir)


def test_known_point_projects_to_its_hand_computed_pixel(scene):
    frame = scene.frame_by_index(0)
    uv, z = project(KNOWN_POINT[None], frame.pose, frame.intrinsics)
    np.testing.assert_allclose(uv[0], KNOWN_PIXEL, atol=1e-6)
    assert z[0] == pytest.approx(KNOWN_DEPTH_M)
    # the 256x192 depth map (2/3 of the colour size) holds 3.0 m there: the table's front face
    depth = np.asarray(Image.open(frame.depth_path))
    assert depth.dtype == np.uint16
    u, v = KNOWN_PIXEL[0] * 256 / 384, KNOWN_PIXEL[1] * 192 / 288
    assert depth[round(v), round(u)] / frame.depth_scale == pytest.approx(3.0)


def test_frames_are_renumbered_with_poses_and_intrinsics_read_back(scene):
    assert [f.index for f in scene.frames] == [0, 1, 2]
    assert [f.color_path.rsplit("/", 1)[1] for f in scene.frames] == ["frame_000000.jpg", "frame_000010.jpg", "frame_000020.jpg"]
    assert [f.depth_path.rsplit("/", 1)[1] for f in scene.frames] == ["frame_000000.png", "frame_000010.png", "frame_000020.png"]
    for frame, pose in zip(scene.frames, camera_poses()):
        np.testing.assert_allclose(frame.pose, pose)
        np.testing.assert_allclose(frame.intrinsics, K)
        assert (frame.width, frame.height, frame.depth_scale) == (384, 288, 1000.0)
    assert scene.id == "0a5c013435"
    np.testing.assert_allclose(scene.up, [0, 0, 1])


def test_objects_labels_and_gravity_aligned_boxes_read_back(scene):
    assert [(o.id, o.label) for o in scene.objects] == [(0, "floor"), (11, "table"), (12, "chair"), (13, "cabinet")]
    floor = scene.objects[0]  # kept like in ScanNet; visibility excludes room-shell labels
    np.testing.assert_allclose(floor.extents, [6.0, 6.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(floor.center, [0.0, 0.0, 0.0], atol=1e-6)
    for obj, box in zip(scene.objects[1:], BOXES):
        np.testing.assert_allclose(obj.center, box.center, atol=1e-6)
        np.testing.assert_allclose(obj.extents, box.extents, atol=1e-6)
        yaw = np.degrees(np.arctan2(obj.rotation[1, 0], obj.rotation[0, 0]))
        assert yaw == pytest.approx(box.yaw_deg, abs=1e-4)  # the PLY stores float32
        np.testing.assert_allclose(obj.rotation[:, 2], [0, 0, 1])
        # the object's vertices are exactly the mesh vertices on its box surface
        local = (scene.vertices[obj.vertex_ids] - obj.center) @ obj.rotation
        assert np.all(np.abs(local) <= obj.extents / 2 + 1e-6)
    assert scene.skipped == {}


def test_registry_and_listing(scene_dir):
    root = scene_dir.parent.parent
    assert scannetpp.list_scenes(root) == [scene_dir]
    assert scannetpp.list_scenes(scene_dir) == [scene_dir]
    assert sources.read_scene("scannetpp", scene_dir).source == "scannetpp"


def test_missing_pose_file_names_it(tmp_path):
    scene_dir = write_scannetpp_scene(tmp_path, drop_pose_file=True)
    with pytest.raises(SparError, match="pose_intrinsic_imu.json"):
        scannetpp.read_scene(scene_dir)


def test_intrinsic_with_eleven_numbers_skips_that_frame(tmp_path):
    scene = scannetpp.read_scene(write_scannetpp_scene(tmp_path, bad_intrinsic=True))
    assert scene.skipped["frame with invalid intrinsic"] == 1
    assert [f.index for f in scene.frames] == [0, 1]
    assert scene.frames[1].color_path.endswith("frame_000020.jpg")


def test_frame_without_pose_entry_is_skipped_and_counted(tmp_path):
    scene = scannetpp.read_scene(write_scannetpp_scene(tmp_path, missing_pose_entry=True))
    assert scene.skipped["frame without aligned_pose"] == 1
    assert len(scene.frames) == 2


def test_object_whose_segments_match_no_vertex_is_skipped(tmp_path):
    scene = scannetpp.read_scene(write_scannetpp_scene(tmp_path, empty_group=True))
    assert scene.skipped["object with no vertices (no box)"] == 1
    assert 99 not in [o.id for o in scene.objects]


def test_segment_count_mismatch_and_missing_mesh_are_errors(tmp_path):
    scene_dir = write_scannetpp_scene(tmp_path)
    segs = scene_dir / "scans" / "segments.json"
    segs.write_text(json.dumps({"segIndices": [0, 1, 2]}))
    with pytest.raises(SparError, match="segments.json: 3 segIndices"):
        scannetpp.read_scene(scene_dir)
    (scene_dir / "scans" / "mesh_aligned_0.05.ply").unlink()
    with pytest.raises(SparError, match="mesh_aligned_0.05.ply"):
        scannetpp.read_scene(scene_dir)

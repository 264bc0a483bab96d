"""Structured3D reader on a fixture written in the dataset's layout (tests/fixtures/sources.py)."""

import numpy as np
import pytest
from fixtures.sources import BOXES, KNOWN_DEPTH_M, KNOWN_PIXEL, KNOWN_POINT, K, camera_poses, write_structured3d_scene
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.geometry import project
from spar_hf.scene import sources, structured3d


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    return write_structured3d_scene(tmp_path_factory.mktemp("s3d"))


@pytest.fixture(scope="module")
def scene(scene_dir):
    return structured3d.read_scene(scene_dir)


def test_camera_pose_file_hand_computed():
    # eye (1, 2, 1.5) m looking along (1, 1, 0), up +z, half fovs 45 deg on a 200x100 image:
    # fx = 100 / tan 45 = 100, fy = 50; right = (1, -1, 0)/sqrt2, down = -z.
    numbers = [1000, 2000, 1500, 1, 1, 0, 0, 0, 1, np.pi / 4, np.pi / 4, 1]
    pose, intrinsics = structured3d.camera_from_pose_file(np.array(numbers), 200, 100)
    np.testing.assert_allclose(intrinsics, [[100, 0, 100], [0, 50, 50], [0, 0, 1]])
    # (4, 3, 1.5): offset (3, 1, 0) -> x = 2/sqrt2, y = 0, z = 4/sqrt2 -> pixel (150, 50)
    # (4, 3, 1.0): 0.5 m lower -> v = 50 + 50 * 0.5 / (2 sqrt2) = 58.8388
    uv, z = project(np.array([[4.0, 3.0, 1.5], [4.0, 3.0, 1.0]]), pose, intrinsics)
    np.testing.assert_allclose(uv, [[150.0, 50.0], [150.0, 50 + 12.5 / np.sqrt(2)]], atol=1e-9)
    np.testing.assert_allclose(z, [2 * np.sqrt(2)] * 2)


def test_known_point_projects_to_its_hand_computed_pixel(scene):
    frame = scene.frame_by_index(0)
    uv, z = project(KNOWN_POINT[None], frame.pose, frame.intrinsics)
    np.testing.assert_allclose(uv[0], KNOWN_PIXEL, atol=1e-4)
    assert z[0] == pytest.approx(KNOWN_DEPTH_M)
    depth = np.asarray(Image.open(frame.depth_path))
    assert depth[int(KNOWN_PIXEL[1]), int(KNOWN_PIXEL[0])] / frame.depth_scale == pytest.approx(3.0)


def test_frames_in_room_then_position_order_with_cameras_read_back(scene):
    assert [f.index for f in scene.frames] == [0, 1, 2]
    tails = ["/".join(f.color_path.split("/")[-5:]) for f in scene.frames]
    assert tails == [
        "485142/perspective/full/0/rgb_rawlight.png",
        "485142/perspective/full/1/rgb_rawlight.png",
        "490854/perspective/full/0/rgb_rawlight.png",
    ]
    for frame, pose in zip(scene.frames, camera_poses()):
        np.testing.assert_allclose(frame.pose, pose, atol=1e-8)
        np.testing.assert_allclose(frame.intrinsics, K, atol=1e-6)
        assert (frame.width, frame.height, frame.depth_scale) == (384, 288, 1000.0)
        assert frame.depth_path.endswith("depth.png")


def test_objects_labels_from_semantics_and_boxes_in_metres(scene):
    assert [(o.id, o.label) for o in scene.objects] == [(11, "table"), (12, "chair"), (13, "cabinet")]
    for obj, box in zip(scene.objects, BOXES):
        np.testing.assert_allclose(obj.center, box.center, atol=1e-9)
        np.testing.assert_allclose(obj.extents, box.extents, atol=1e-9)  # cabinet's basis rows were permuted
        yaw = np.degrees(np.arctan2(obj.rotation[1, 0], obj.rotation[0, 0]))
        assert yaw == pytest.approx(box.yaw_deg)
    assert scene.skipped == {}


def test_mesh_from_depth_has_a_floor_and_object_vertices_on_their_boxes(scene):
    assert len(scene.faces) > 0 and scene.faces.max() < len(scene.vertices)
    floor = np.abs(scene.vertices[:, 2]) < 1e-3
    assert floor.sum() > 100
    # the floor points spread over metres, not a sliver (room_size needs it)
    assert np.ptp(scene.vertices[floor, 0]) > 2.0 and np.ptp(scene.vertices[floor, 1]) > 2.0
    for obj in scene.objects:
        assert len(obj.vertex_ids) >= 64
        local = (scene.vertices[obj.vertex_ids] - obj.center) @ obj.rotation
        assert np.all(np.abs(local) <= obj.extents / 2 + 0.01)


def test_semantic_png_as_label_ids_gives_the_same_labels(tmp_path):
    scene = structured3d.read_scene(write_structured3d_scene(tmp_path, semantic_as_ids=True))
    assert [o.label for o in scene.objects] == ["table", "chair", "cabinet"]


def test_registry_and_listing(scene_dir):
    assert structured3d.list_scenes(scene_dir.parent) == [scene_dir]
    assert structured3d.list_scenes(scene_dir) == [scene_dir]
    assert sources.read_scene("structured3d", scene_dir).source == "structured3d"


def test_camera_file_with_eleven_numbers_skips_that_render(tmp_path):
    scene = structured3d.read_scene(write_structured3d_scene(tmp_path, short_camera=True))
    assert scene.skipped == {"render with malformed camera_pose.txt": 1}
    assert [f.index for f in scene.frames] == [0, 1]
    assert "490854" in scene.frames[1].color_path


def test_instance_without_box_is_counted_and_left_out(tmp_path):
    scene = structured3d.read_scene(write_structured3d_scene(tmp_path, box_missing_for=13))
    assert scene.skipped == {"instance id without box": 1}
    assert [o.id for o in scene.objects] == [11, 12]


def test_missing_bbox_file_names_it(tmp_path):
    with pytest.raises(SparError, match="bbox_3d.json"):
        structured3d.read_scene(write_structured3d_scene(tmp_path, drop_bbox_file=True))


def test_render_without_camera_file_is_skipped_and_counted(tmp_path):
    scene_dir = write_structured3d_scene(tmp_path)
    (scene_dir / "2D_rendering" / "485142" / "perspective" / "full" / "0" / "camera_pose.txt").unlink()
    scene = structured3d.read_scene(scene_dir)
    assert scene.skipped == {"render without camera_pose.txt": 1}
    assert [f.index for f in scene.frames] == [0, 1]
    assert scene.frames[0].color_path.endswith("485142/perspective/full/1/rgb_rawlight.png")

"""Geometry by hand: projections, normalisation, poses and box overlap."""

import numpy as np

from spar_hf.geometry import (
    boxes_overlap_2d,
    boxes_overlap_3d,
    is_rigid,
    look_at,
    normalize_xy,
    project,
    relative_pose,
    rotation_angle_deg,
)

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def _yaw(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_look_at_projects_target_to_principal_point():
    # camera at origin looking along +x with +z up: right = -y, down = -z
    pose = look_at(np.zeros(3), np.array([2.0, 0.0, 0.0]))
    assert np.allclose(pose[:3, 0], [0, -1, 0]) and np.allclose(pose[:3, 1], [0, 0, -1])
    uv, z = project(np.array([[2.0, 0.0, 0.0], [2.0, -1.0, 0.5]]), pose, K)
    assert np.allclose(uv[0], [320, 240]) and np.isclose(z[0], 2.0)
    # a point 1 m to the right (world -y) and 0.5 m up at 2 m depth: u = 320 + 500*1/2, v = 240 - 500*0.5/2
    assert np.allclose(uv[1], [570, 115])


def test_point_behind_camera_has_no_pixel():
    pose = look_at(np.zeros(3), np.array([1.0, 0.0, 0.0]))
    uv, z = project(np.array([[-1.0, 0.0, 0.0]]), pose, K)
    assert z[0] == -1.0 and np.all(np.isnan(uv[0]))


def test_normalize_points_and_boxes():
    assert normalize_xy(np.array([320.0, 240.0]), 640, 480).tolist() == [500, 500]
    assert normalize_xy(np.array([64.0, 48.0, 640.0, 480.0]), 640, 480).tolist() == [100, 100, 1000, 1000]


def test_relative_pose_and_rotation_angle():
    a = look_at(np.zeros(3), np.array([1.0, 0.0, 0.0]))
    b = look_at(np.array([0.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))  # turned 90 deg left
    rel = relative_pose(a, b)
    assert np.isclose(rotation_angle_deg(rel[:3, :3]), 90.0)
    assert is_rigid(rel)
    bad = a.copy()
    bad[0, 0] = 2.0
    assert not is_rigid(bad)
    inf = a.copy()
    inf[0, 3] = -np.inf
    assert not is_rigid(inf)


def test_box_overlap_axis_aligned_and_touching():
    eye = np.eye(3)
    one = np.ones(3)
    assert boxes_overlap_3d(np.zeros(3), one, eye, np.array([0.9, 0, 0]), one, eye)
    assert not boxes_overlap_3d(np.zeros(3), one, eye, np.array([1.0, 0, 0]), one, eye)  # faces touch
    assert not boxes_overlap_3d(np.zeros(3), one, eye, np.array([0, 0, 1.5]), one, eye)


def test_box_overlap_rotated_needs_the_right_axis():
    # a unit cube turned 45 deg reaches sqrt(2)/2 = 0.7071 along x; a cube centred at 1.21 starts at 0.71
    one = np.ones(3)
    assert not boxes_overlap_3d(np.zeros(3), one, _yaw(45), np.array([1.21, 0, 0]), one, np.eye(3))
    assert boxes_overlap_3d(np.zeros(3), one, _yaw(45), np.array([1.2, 0, 0]), one, np.eye(3))
    # diagonal neighbours: separated only along an axis of the turned box
    assert not boxes_overlap_3d(np.zeros(3), one, _yaw(45), np.array([0.8, 0.8, 0]), one, _yaw(45))


def test_box_overlap_2d():
    assert boxes_overlap_2d(np.array([0, 0, 10, 10]), np.array([5, 5, 15, 15]))
    assert not boxes_overlap_2d(np.array([0, 0, 10, 10]), np.array([10, 0, 20, 10]))

"""Keyframe selection on hand-placed cameras (paper 7.3: drop when near AND similarly oriented)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spar_hf.generate.keyframes import KEYFRAME_DEFAULTS, keyframes_for, select_keyframes
from spar_hf.scene.model import Frame
from spar_hf.scene.synthetic import generate_scene, scene_name


def frame(index: int, x: float, yaw_deg: float = 0.0) -> Frame:
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    pose = np.eye(4)
    pose[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    pose[0, 3] = x
    return Frame(index, f"{index}.jpg", None, 1000.0, pose, np.eye(3), 640, 480)


def test_translation_only():
    # 0 kept; 0.1 within 0.15 of it: dropped; 0.2 is 0.2 away: kept; 0.3 is 0.1 from 0.2: dropped; 0.5 kept
    frames = [frame(i, x) for i, x in enumerate([0.0, 0.1, 0.2, 0.3, 0.5])]
    assert select_keyframes(frames, 0.15, 10.0) == [0, 2, 4]


def test_rotation_only():
    # same place; yaw 5 is 5 deg from 0: dropped; 12 kept; 25 is 13 from 12: kept; 7 is 7 from 0: dropped
    frames = [frame(i, 0.0, yaw) for i, yaw in enumerate([0, 5, 12, 25, 7])]
    assert select_keyframes(frames, 0.15, 10.0) == [0, 2, 3]


def test_compares_against_every_kept_frame():
    # the walk comes back: 1.05 is near kept 1.0, 0.05 near kept 0.0 (not the last kept): both dropped
    frames = [frame(i, x) for i, x in enumerate([0.0, 1.0, 2.0, 1.05, 0.05])]
    assert select_keyframes(frames, 0.15, 10.0) == [0, 1, 2]


def test_near_but_turned_is_kept():
    frames = [frame(10, 0.0), frame(11, 0.05, 30.0), frame(12, 0.06, 28.0)]
    assert select_keyframes(frames, 0.15, 10.0) == [10, 11]  # returns Frame.index values


def test_defaults_and_override():
    frames = [frame(i, 0.01 * i) for i in range(5)]
    assert KEYFRAME_DEFAULTS["structured3d"] is None
    assert keyframes_for("structured3d", frames) == [0, 1, 2, 3, 4]
    assert keyframes_for("scannet", frames) == [0]
    assert keyframes_for("scannet", frames, override=(0.005, 10.0)) == [0, 1, 2, 3, 4]
    assert select_keyframes([], 0.1, 10.0) == []
    assert set(KEYFRAME_DEFAULTS) == {"scannet", "synthetic", "scannetpp", "structured3d"}


@pytest.mark.parametrize("n_frames", [60, 120])
def test_synthetic_walk_keeps_a_useful_fraction(n_frames):
    for i in range(3):
        synth = generate_scene(scene_name(i), 0, n_frames)
        frames = [Frame(k, "", None, 1000.0, p, synth.intrinsics, 640, 480) for k, p in enumerate(synth.poses)]
        kept = keyframes_for("synthetic", frames)
        assert 20 <= len(kept) <= 40, len(kept)
        assert kept[0] == 0 and kept == sorted(kept)

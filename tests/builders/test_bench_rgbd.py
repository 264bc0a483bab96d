"""The hub SPAR-Bench-RGBD column values from frames (spar_hf.builders.bench_rgbd), checked against the hub's own row 0."""

import numpy as np
import pytest

from spar_hf.builders.bench_rgbd import depth_intrinsics, hub_rgbd_values

# SPAR-Bench-Tiny-RGBD row 0 (ScanNet, colour 1296x968, depth 640x480) as the hub viewer prints it
HUB_K_COLOUR = [1170.18798828125, 0, 647.75, 0, 0, 1170.18798828125, 483.75, 0, 0, 0, 1, 0, 0, 0, 0, 1]
HUB_K_DEPTH = [577.87060546875, 0, 319.5, 0, 0, 577.87060546875, 239.5, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_depth_intrinsics_against_the_hub_row():
    """Rescaling assumes the depth map covers the colour view; ScanNet's depth sensor nearly does."""
    k = np.array(HUB_K_COLOUR, float).reshape(4, 4)[:3, :3]
    kd = depth_intrinsics(k, (1296, 968), (640, 480))
    # fx: 1170.188 * 640 / 1296 = 577.871, the hub's value; fy: 1170.188 * 480 / 968 = 580.259 (the hub's 577.871:
    # ScanNet's depth view is 0.4% shorter); centre: (647.75 + 0.5) * 640 / 1296 - 0.5 = 319.623 and
    # (483.75 + 0.5) * 480 / 968 - 0.5 = 239.624 (the hub's 319.5, 239.5)
    assert kd[0, 0] == pytest.approx(HUB_K_DEPTH[0], abs=1e-3) and kd[1, 1] == pytest.approx(580.259, abs=1e-3)
    assert kd[0, 2] == pytest.approx(319.623, abs=1e-3) and kd[1, 2] == pytest.approx(239.624, abs=1e-3)


def test_row_values_in_the_hub_layout():
    png = np.array([[0, 1500], [2750, 65535]], dtype=np.uint16)  # millimetres, 0 = no reading
    pose = np.arange(16, dtype=float).reshape(4, 4)
    k = np.array([[100.0, 0, 1.5], [0, 100.0, 1.5], [0, 0, 1]])  # colour 4x4 px, depth 2x2 px
    got = hub_rgbd_values([png], [pose], [k], [(4, 4)])
    assert [d.tolist() for d in got["depth"]] == [[[0.0, 1.5], [2.75, pytest.approx(65.535)]]]
    assert got["depth"][0].dtype == np.float32
    assert got["pose"] == [list(range(16))]
    assert got["intrinsic_color"] == [[100, 0, 1.5, 0, 0, 100, 1.5, 0, 0, 0, 1, 0, 0, 0, 0, 1]]
    # half the resolution: f 50, centre (1.5 + 0.5) / 2 - 0.5 = 0.5
    assert got["intrinsic_depth"] == [[50, 0, 0.5, 0, 0, 50, 0.5, 0, 0, 0, 1, 0, 0, 0, 0, 1]]
    with pytest.raises(ValueError):
        hub_rgbd_values([png], [pose, pose], [k], [(4, 4)])

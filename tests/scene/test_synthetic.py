"""`spar-hf synth`: what is written reads back as what was placed; same seed, same bytes."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from spar_hf.cli import main
from spar_hf.geometry import boxes_overlap_3d
from spar_hf.scene.scannet import list_scenes, read_scene
from spar_hf.scene.synthetic import build_mesh, generate_scene, scene_name

SEED = 5


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "s"
    assert main(["synth", "--out", str(root), "--scenes", "2", "--frames", "60", "--seed", str(SEED)]) == 0
    return root


@pytest.mark.slow
def test_scenes_read_back_as_generated(synth_root):
    dirs = list_scenes(synth_root)
    assert [d.name for d in dirs] == ["scene0000_00", "scene0001_00"]
    for i, folder in enumerate(dirs):
        placed = generate_scene(scene_name(i), SEED, 60)
        scene = read_scene(folder)
        assert scene.skipped == {}
        assert [f.index for f in scene.frames] == list(range(60))
        for frame, pose in zip(scene.frames, placed.poses):
            np.testing.assert_allclose(frame.pose, pose, atol=1e-7)
            np.testing.assert_allclose(frame.intrinsics, placed.intrinsics, atol=1e-6)
            assert (frame.width, frame.height) == (640, 480) and Path(frame.depth_path).is_file()
        furniture = [o for o in scene.objects if o.label not in ("wall", "floor", "ceiling")]
        assert [(o.id, o.label) for o in furniture] == [(o.id, o.label) for o in placed.objects]
        for got, want in zip(furniture, placed.objects):
            np.testing.assert_allclose(got.center, want.center, atol=1e-5)
            assert sorted(got.extents[:2]) == pytest.approx(sorted(want.extents[:2]), abs=1e-5)
            assert got.extents[2] == pytest.approx(want.extents[2], abs=1e-5)
            got_yaw = math.atan2(got.rotation[1, 0], got.rotation[0, 0])
            diff = (got_yaw - want.yaw) % (math.pi / 2)
            assert min(diff, math.pi / 2 - diff) < 1e-4
        rooms = Counter(o.label for o in scene.objects if o.label in ("wall", "floor", "ceiling"))
        assert rooms == {"wall": 4, "floor": 1, "ceiling": 1}
        assert len(scene.vertices) == len(build_mesh(placed).vertices)


@pytest.mark.slow
def test_depth_maps_see_the_room(synth_root):
    from PIL import Image

    scene = read_scene(synth_root / "scene0000_00")
    placed = generate_scene("scene0000_00", SEED, 60)
    diagonal = float(np.linalg.norm(placed.size))
    for frame in scene.frames[::20]:
        depth = np.asarray(Image.open(frame.depth_path)).astype(float) / 1000
        assert depth.dtype == float and depth.shape == (480, 640)
        assert depth.min() > 0 and depth.max() < diagonal  # closed room: every ray hits, none beyond the diagonal
        rgb = np.asarray(Image.open(frame.color_path))
        assert rgb.shape == (480, 640, 3) and rgb.std() > 10


def test_layout_is_plausible():
    for i in range(8):
        placed = generate_scene(scene_name(i), 11, 60)
        size = placed.size
        assert 3 <= size[0] <= 7 and 3 <= size[1] <= 8 and 2.4 <= size[2] <= 3
        assert 8 <= len(placed.objects) <= 25
        assert max(Counter(o.label for o in placed.objects).values()) >= 2
        rotations = [np.array([[math.cos(o.yaw), -math.sin(o.yaw), 0], [math.sin(o.yaw), math.cos(o.yaw), 0], [0, 0, 1]]) for o in placed.objects]
        for a in range(len(placed.objects)):
            oa = placed.objects[a]
            corners = oa.footprint().exterior.coords
            assert all(0 <= x <= size[0] and 0 <= y <= size[1] for x, y in corners)
            assert oa.center[2] + oa.extents[2] / 2 < size[2]
            if oa.support is not None:
                host = placed.objects[oa.support]
                assert oa.center[2] - oa.extents[2] / 2 == pytest.approx(host.center[2] + host.extents[2] / 2)
            elif oa.label in ("window", "picture"):  # hung on a wall
                assert 0.8 <= oa.center[2] - oa.extents[2] / 2 <= 1.6
                assert min(*oa.footprint().bounds[:2], size[0] - oa.footprint().bounds[2], size[1] - oa.footprint().bounds[3]) < 0.02
            else:
                assert oa.center[2] - oa.extents[2] / 2 == pytest.approx(0.0)
            for b in range(a + 1, len(placed.objects)):
                ob = placed.objects[b]
                assert not boxes_overlap_3d(oa.center, oa.extents, rotations[a], ob.center, ob.extents, rotations[b]), (oa.label, ob.label)
        for pose in placed.poses:
            assert pose[2, 3] == pytest.approx(1.5, abs=0.03)
            pitch = math.degrees(math.asin(-pose[2, 2]))
            assert 10 <= pitch <= 33
        mesh = build_mesh(placed)
        counts = Counter()
        for group in mesh.groups:
            counts[group["objectId"]] = int(np.isin(mesh.seg_indices, group["segments"]).sum())
        assert min(counts[o.id] for o in placed.objects) >= 100


def test_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 1), (b, 1), (c, 2)):
        assert main(["synth", "--out", str(out), "--scenes", "1", "--frames", "4", "--seed", str(seed)]) == 0
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db
    assert set(da) == set(dc) and da != dc
    assert "scene0000_00/color/3.jpg" in da and "scene0000_00/depth/3.png" in da and "scene0000_00/pose/3.txt" in da
    assert not any(name.split("/")[-1].startswith(".tmp-") for name in da)


def test_synth_summary_and_bad_arguments(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "x"), "--scenes", "1", "--frames", "2"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("synth: in=1 out=1 rejected=0 frames=2")
    assert main(["synth", "--out", str(tmp_path / "y"), "--scenes", "0"]) == 2
    assert "--scenes" in capsys.readouterr().err


def test_rerun_with_fewer_frames_leaves_no_stale_frames(tmp_path):
    from spar_hf.scene.synthetic import write_scene

    write_scene(generate_scene("scene0000_00", 0, 5), tmp_path)
    write_scene(generate_scene("scene0000_00", 0, 3), tmp_path)
    assert sorted(p.name for p in (tmp_path / "scene0000_00" / "color").iterdir()) == ["0.jpg", "1.jpg", "2.jpg"]
    assert [p.name for p in tmp_path.iterdir()] == ["scene0000_00"]
    assert len(read_scene(tmp_path / "scene0000_00").frames) == 3

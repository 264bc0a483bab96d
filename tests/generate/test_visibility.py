"""Visibility on a hand-built scene whose answers follow from the pinhole model by hand.

World: z up. Camera C1 at the origin looking +x (right = -y, down = -z); C2 at the origin looking
-x (right = +y). Intrinsics f = 100, principal point (100, 50), image 200 x 100.
Projection in C1: u = 100 + 100 * (-y) / x, v = 50 + 100 * (-z) / x.

Every box is meshed as six faces of a 4 x 4 cell grid: 6 * 25 = 150 vertices (shared edges
duplicated), so a face seen head-on contributes 25 vertices and each neighbouring face 5 more
along the shared edge.

A "table": x 2..4, y -0.5..0.5, z -0.3..0.3. C1 sees its front face x=2 whole:
  u = 100 -+ 50/2 = 75..125, v = 50 -+ 30/2 = 35..65 -> bbox [75, 35, 125, 65], area 1500.
  Visible vertices: front 25 + the front edges of the 4 side faces 4 * 5 = 45 -> 0.3.
  (The next row of a side face is 0.5 m deeper and projects inside the front face: occluded.)
  Centre (3, 0, 0) -> camera (0, 0, 3), projects to (100, 50), inside the box.
B "chair": x 5..9, y -2.2..-1.2, z -0.5..0.5, behind A and to its right.
  Front face x=5: columns y = -1.2, -1.45, -1.7, -1.95, -2.2 -> u = 124, 129, 134, 139, 144;
  rows v = 40..60. Column u=124 lies inside A's image box (A is nearer): occluded. Visible:
  4 columns * 5 rows = 20, plus the front-edge vertices of the top and bottom faces at the 4
  visible columns (4 + 4) and the front edge of the far side face y=-2.2 (5): 33 -> 0.22.
  The near side face y=-1.2 faces C1 but projects to u 113..124 inside A: occluded.
  bbox [129, 40, 144, 60], area 300. Centre (7, -1.7, 0) -> camera (1.7, 0, 7) -> u = 124.29,
  outside the bbox, so the marker point is the bbox centre (136.5, 50).
C "lamp": x -5..-3, y -0.2..0.2, z -0.2..0.2, behind C1; C2 sees its face x=-3:
  u = 100 -+ 20/3, v = 50 -+ 20/3 -> bbox [93.33, 43.33, 106.67, 56.67], area 177.8 < 200.
Walls at x = +-10 give the background; their label "wall" keeps them out of the records.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from spar_hf.scene.model import Frame, Object3D, Scene
from spar_hf.generate.visibility import VisibilityConfig, compute_scene_records

F, CX, CY, W, H = 100.0, 100.0, 50.0, 200, 100
K = np.array([[F, 0, CX], [0, F, CY], [0, 0, 1.0]])
POSE_PLUS_X = np.array([[0, 0, 1, 0], [-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1.0]])
POSE_MINUS_X = np.array([[0, 0, -1, 0], [1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1.0]])
BOXES = {  # id: (label, lo, hi)
    0: ("table", (2.0, -0.5, -0.3), (4.0, 0.5, 0.3)),
    1: ("chair", (5.0, -2.2, -0.5), (9.0, -1.2, 0.5)),
    2: ("lamp", (-5.0, -0.2, -0.2), (-3.0, 0.2, 0.2)),
    3: ("wall", (10.0, -10.0, -10.0), (10.5, 10.0, 10.0)),
    4: ("wall", (-10.5, -10.0, -10.0), (-10.0, 10.0, 10.0)),
}
CONFIG = VisibilityConfig(min_visible_fraction=0.15, min_bbox_area_px=200.0, depth_range=(0.1, 10.0), depth_tolerance_m=0.05)


def box_grid(lo, hi, n=4):
    """Six faces, each an n x n grid of cells; faces wound outward."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    verts, faces = [], []
    t = np.linspace(0.0, 1.0, n + 1)
    a, b = np.meshgrid(t, t, indexing="ij")
    for axis in range(3):
        j, k = (axis + 1) % 3, (axis + 2) % 3
        for side in (0, 1):
            p = np.zeros(((n + 1) ** 2, 3))
            p[:, axis] = hi[axis] if side else lo[axis]
            p[:, j] = lo[j] + a.ravel() * (hi[j] - lo[j])
            p[:, k] = lo[k] + b.ravel() * (hi[k] - lo[k])
            base = sum(len(v) for v in verts)
            quads = [(i * (n + 1) + q, (i + 1) * (n + 1) + q, (i + 1) * (n + 1) + q + 1, i * (n + 1) + q + 1) for i in range(n) for q in range(n)]
            tris = [(p0, p1, p2) for p0, p1, p2, _ in quads] + [(p0, p2, p3) for p0, _, p2, p3 in quads]
            tris = np.array(tris) if side else np.array(tris)[:, ::-1]
            verts.append(p)
            faces.append(tris + base)
    return np.concatenate(verts), np.concatenate(faces)


def slab_depth(pose, boxes):
    """Analytic depth map: per pixel, the nearest box entry along the ray (camera z, metres)."""
    ju, iv = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    dirs = np.stack([(ju - CX) / F, (iv - CY) / F, np.ones_like(ju)], -1).reshape(-1, 3) @ pose[:3, :3].T
    origin = pose[:3, 3]
    best = np.full(len(dirs), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _label, lo, hi in boxes:
            t1 = (np.asarray(lo) - origin) / dirs
            t2 = (np.asarray(hi) - origin) / dirs
            tmin = np.nanmax(np.minimum(t1, t2), axis=1)
            tmax = np.nanmin(np.maximum(t1, t2), axis=1)
            hit = (tmax >= tmin) & (tmin > 0)
            best = np.where(hit & (tmin < best), tmin, best)
    return np.where(np.isfinite(best), best, 0.0).reshape(H, W)


def boxes_scene(scene_id: str, boxes: dict, frames: list[Frame]) -> Scene:
    """A scene of gridded boxes (id: (label, lo, hi)) with the given frames."""
    verts, faces, objects = [], [], []
    offset = 0
    for object_id, (label, lo, hi) in boxes.items():
        v, f = box_grid(lo, hi)
        verts.append(v)
        faces.append(f + offset)
        centre = (np.asarray(lo) + np.asarray(hi)) / 2
        objects.append(Object3D(object_id, label, centre, np.asarray(hi) - np.asarray(lo), np.eye(3), np.arange(offset, offset + len(v))))
        offset += len(v)
    return Scene(scene_id, "synthetic", np.concatenate(verts), np.concatenate(faces), frames, objects)


@pytest.fixture()
def scene(tmp_path) -> Scene:
    frames = []
    for index, pose in enumerate((POSE_PLUS_X, POSE_MINUS_X)):
        depth_mm = np.rint(slab_depth(pose, BOXES.values()) * 1000).astype(np.uint16)
        path = tmp_path / f"{index}.png"
        Image.fromarray(depth_mm).save(path)
        frames.append(Frame(index, str(tmp_path / f"{index}.jpg"), str(path), 1000.0, pose, K, W, H))
    return boxes_scene("hand", BOXES, frames)


def _check_c1(image):
    assert set(image.visible) == {0, 1}
    a, b = image.visible[0], image.visible[1]
    np.testing.assert_allclose(a.bbox, [75, 35, 125, 65], atol=1e-9)
    np.testing.assert_allclose(a.point, [100, 50], atol=1e-9)
    np.testing.assert_allclose(a.center_cam, [0, 0, 3], atol=1e-12)
    assert a.visible_fraction == pytest.approx(45 / 150)
    assert a.area == pytest.approx(1500)
    assert a.label == "table"
    np.testing.assert_allclose(b.bbox, [129, 40, 144, 60], atol=1e-9)
    np.testing.assert_allclose(b.point, [136.5, 50], atol=1e-9)
    np.testing.assert_allclose(b.center_cam, [1.7, 0, 7], atol=1e-12)
    assert b.visible_fraction == pytest.approx(33 / 150)
    assert b.area == pytest.approx(300)


def test_hand_scene_with_depth_maps(scene):
    records = compute_scene_records(scene, [0, 1], CONFIG)
    assert [im.frame_index for im in records.images] == [0, 1]
    _check_c1(records.images[0])
    assert records.images[1].visible == {}  # the lamp's box is 177.8 px < 200
    assert set(records.objects) == {0, 1, 2}  # walls excluded
    assert records.objects[0].frames == [0] and records.objects[1].frames == [0] and records.objects[2].frames == []
    assert records.images[0].width == W and records.images[0].depth_path == scene.frames[0].depth_path


def test_hand_scene_raycast_fallback_matches(scene):
    for frame in scene.frames:
        frame.depth_path = None
    records = compute_scene_records(scene, [0], CONFIG)
    _check_c1(records.images[0])


def test_thresholds_each_decide(scene):
    small = VisibilityConfig(min_visible_fraction=0.15, min_bbox_area_px=100.0, depth_range=(0.1, 10.0), depth_tolerance_m=0.05)
    lamp = compute_scene_records(scene, [1], small).images[0].visible
    assert set(lamp) == {2}
    np.testing.assert_allclose(lamp[2].bbox, [100 - 20 / 3, 50 - 20 / 3, 100 + 20 / 3, 50 + 20 / 3], atol=1e-9)
    assert lamp[2].visible_fraction == pytest.approx(45 / 150)
    np.testing.assert_allclose(lamp[2].center_cam, [0, 0, 4], atol=1e-12)
    near_only = VisibilityConfig(min_visible_fraction=0.15, min_bbox_area_px=200.0, depth_range=(0.1, 5.0), depth_tolerance_m=0.05)
    assert set(compute_scene_records(scene, [0], near_only).images[0].visible) == {0}  # B's centre is 7 m deep
    strict = VisibilityConfig(min_visible_fraction=0.25, min_bbox_area_px=200.0, depth_range=(0.1, 10.0), depth_tolerance_m=0.05)
    assert set(compute_scene_records(scene, [0], strict).images[0].visible) == {0}  # B: 0.22 < 0.25


def test_truncated_depth_is_skipped_and_counted(scene, tmp_path):
    path = tmp_path / "0.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    records = compute_scene_records(scene, [0, 1], CONFIG)
    assert [im.frame_index for im in records.images] == [1]
    assert scene.skipped == {"unreadable depth": 1}


def test_unknown_frame_is_an_error(scene):
    from spar_hf.errors import SparError

    with pytest.raises(SparError, match="frame 7"):
        compute_scene_records(scene, [7], CONFIG)


def test_colour_twice_the_depth_resolution(scene):
    # ScanNet: colour 1296x968, depth 640x480. Colour here is 400 x 200 with f = 200 and principal
    # point (200.5, 100.5), i.e. u' = 2u + 0.5 (pixel centres at integers), so the depth pixel under
    # every vertex is the one of the 200 x 100 case and each box simply scales: A's bbox becomes
    # [2*75+0.5, 2*35+0.5, 2*125+0.5, 2*65+0.5], area 4 * 1500.
    frame = scene.frames[0]
    frame.width, frame.height = 2 * W, 2 * H
    frame.intrinsics = np.array([[2 * F, 0, 2 * CX + 0.5], [0, 2 * F, 2 * CY + 0.5], [0, 0, 1.0]])
    image = compute_scene_records(scene, [0], CONFIG).images[0]
    assert set(image.visible) == {0, 1}
    np.testing.assert_allclose(image.visible[0].bbox, [150.5, 70.5, 250.5, 130.5], atol=1e-9)
    assert image.visible[0].area == pytest.approx(6000)
    assert image.visible[0].visible_fraction == pytest.approx(45 / 150)
    assert image.visible[1].visible_fraction == pytest.approx(33 / 150)


def test_raycast_without_embree_matches(scene, monkeypatch):
    from spar_hf.scene import render

    def no_embree(self):
        raise ImportError("embreex missing")

    monkeypatch.setattr(render.RayCaster, "_embree_scene", no_embree)
    for frame in scene.frames:
        frame.depth_path = None
    _check_c1(compute_scene_records(scene, [0], CONFIG).images[0])


# Marker occlusion. C1 as above sees the table A (front face x = 2) and, behind it, a wide "desk"
# x 6..7, y -3..3, z -0.2..0.2: its front face projects to u = 100 -+ 300/6 = 50..150, v 46.7..53.3, so
# its outer columns (u = 50, 150) show beside the table and its projected centre (6.5, 0, 0) -> (100, 50)
# lies inside its 2D box: the point stays there, where the depth map reads the table at 2 m while the
# ray enters the desk's box at x = 6: occluded. An "open" object (the space between chair legs) at
# x 3..3.5, y 1.2..1.8, z 0.4..0.9 is left out of the depth map, so its centre (3.25, 1.5, 0.65) ->
# (53.8, 30) reads the wall behind it at 10 m, beyond its entry at 3 m: the point stays.
OCCLUSION_BOXES = {
    0: ("table", (2.0, -0.5, -0.3), (4.0, 0.5, 0.3)),
    1: ("desk", (6.0, -3.0, -0.2), (7.0, 3.0, 0.2)),
    2: ("chair", (3.0, 1.2, 0.4), (3.5, 1.8, 0.9)),
    3: ("wall", (10.0, -10.0, -10.0), (10.5, 10.0, 10.0)),
}
OPEN = {2}  # not in the depth map: rays pass through it


def _occlusion_scene(tmp_path, with_depth: bool) -> Scene:
    depth_path = None
    if with_depth:
        solid = [b for i, b in OCCLUSION_BOXES.items() if i not in OPEN]
        depth_path = tmp_path / "occ.png"
        Image.fromarray(np.rint(slab_depth(POSE_PLUS_X, solid) * 1000).astype(np.uint16)).save(depth_path)
    frame = Frame(0, str(tmp_path / "occ.jpg"), depth_path and str(depth_path), 1000.0, POSE_PLUS_X, K, W, H)
    return boxes_scene("occ", OCCLUSION_BOXES, [frame])


OCC_CONFIG = VisibilityConfig(min_visible_fraction=0.1, min_bbox_area_px=200.0, depth_range=(0.1, 10.0), depth_tolerance_m=0.05)


def test_marker_point_behind_another_object_is_flagged(tmp_path):
    seen = compute_scene_records(_occlusion_scene(tmp_path, True), [0], OCC_CONFIG).images[0].visible
    assert set(seen) == {0, 1, 2}
    np.testing.assert_allclose(seen[1].point, [100, 50], atol=1e-9)
    assert seen[1].point_occluded  # the desk's point shows the table (2 m) in front of its entry (6 m)
    assert not seen[0].point_occluded  # the table's own face at its point
    np.testing.assert_allclose(seen[2].point, [100 - 100 * 1.5 / 3.25, 50 - 100 * 0.65 / 3.25], atol=1e-9)
    assert not seen[2].point_occluded  # seen through (10 m) beyond its entry (3 m): kept


def test_marker_occlusion_by_ray_cast(tmp_path):
    seen = compute_scene_records(_occlusion_scene(tmp_path, False), [0], OCC_CONFIG).images[0].visible
    assert seen[1].point_occluded and not seen[0].point_occluded and not seen[2].point_occluded


def test_box_entry_depth_by_hand():
    from spar_hf.generate.visibility import box_entry_depth

    # unit box centred 5 m ahead, axis-aligned: the central ray enters at z = 4.5; a ray 45 deg to the right
    # (pixel u = cx + f) runs along x = z, inside the box's x range [-0.5, 0.5] only for z <= 0.5, before the
    # box: it misses, and the box's nearest possible depth is taken, 5 - sqrt(3)/2
    assert box_entry_depth(np.array([CX, CY]), K, np.array([0, 0, 5.0]), np.eye(3), np.ones(3)) == pytest.approx(4.5)
    assert box_entry_depth(np.array([CX + F, CY]), K, np.array([0, 0, 5.0]), np.eye(3), np.ones(3)) == pytest.approx(5 - np.sqrt(3) / 2)
    # the same box seen from inside: entry clamps to 0
    assert box_entry_depth(np.array([CX, CY]), K, np.array([0, 0, 0.2]), np.eye(3), np.ones(3)) == 0.0

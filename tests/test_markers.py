"""Markers drawn as the release's datasets/draw_marker.py draws them, per record type.

Images are 640x480 black; a 0..1000 coordinate c maps to c * 640 / 1000 (x) and c * 480 / 1000 (y).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from spar_hf.markers import coordinate_list, draw_markers, placements

BLUE, GREEN, RED, CYAN = (0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 225, 225)


def blank(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (640, 480)) for _ in range(n)]


def px(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return image.getpixel((x, y))


def has_colour(image: Image.Image, box: tuple[int, int, int, int], colour) -> bool:
    arr = np.asarray(image.crop(box))
    return bool(np.all(arr == np.array(colour, np.uint8), axis=-1).any())


def test_coordinate_list_accepts_every_wrapping():
    assert coordinate_list([10, 20]) == [[10.0, 20.0]]
    assert coordinate_list([[10, 20]]) == [[10.0, 20.0]]
    assert coordinate_list([[10, 20], [30, 40]]) == [[10.0, 20.0], [30.0, 40.0]]  # the HF build's flat list
    assert coordinate_list([[[10, 20], [30, 40]]]) == [[10.0, 20.0], [30.0, 40.0]]  # the release's point_list
    assert coordinate_list([]) == [] and coordinate_list(None) == []


def test_distance_infer_center_oo_video_blue_points_named_objectA_object0():
    markers = {"point_list": [[[500, 500], [250, 250]]], "point_img_idx": [[1, 0]]}
    marks = placements(markers, "distance_infer_center_oo_video")
    assert [(m.image_index, m.label, m.colour) for m in marks] == [(1, "objectA", BLUE), (0, "object0", BLUE)]
    out = draw_markers(blank(2), markers, "distance_infer_center_oo_video")
    assert px(out[1], 320, 240) == BLUE and px(out[0], 160, 120) == BLUE  # disc centres
    assert px(out[1], 160, 120) == (0, 0, 0)  # the second point is not in image 1
    # the name is written in green from 20 px right of and below the point, rising from that baseline
    assert has_colour(out[1], (340, 200, 640, 262), GREEN)


def test_map_mv_blue_boxes_grown_20px_named_object0():
    markers = {"bbox_list": [[[250, 250, 500, 500], [600, 600, 700, 700]]], "bbox_img_idx": [[0, 1]]}
    out = draw_markers(blank(2), markers, "spatial_imagination_map_mv")
    # box 0: x 160..320, y 120..240; a 20 px stroke centred on the box grown by 20 px covers x 130..149 on the left
    assert px(out[0], 140, 180) == BLUE
    assert px(out[0], 155, 180) == (0, 0, 0) and px(out[0], 125, 180) == (0, 0, 0)
    assert has_colour(out[0], (200, 240, 321, 300), GREEN)  # "object0" under the box's right edge
    # box 1 (x 384..448, y 288..336) in image 1 only
    assert px(out[1], 364, 312) == BLUE and px(out[0], 364, 312) == (0, 0, 0)


def test_imagination_video_boxes_in_green_blue_red_order():
    markers = {"red_bbox": [[100, 100, 200, 200]], "blue_bbox": [[300, 300, 400, 400]], "green_bbox": [[600, 600, 700, 700]],
               "yellow_bbox": [[800, 100, 900, 200]], "bbox_img_idx": [[2, 0, 1, 1]]}
    marks = placements(markers, "spatial_imagination_oo_video")
    # bbox_img_idx runs green, blue, red, yellow; names object0..3 in that order; the release's yellow is cyan
    assert [(m.name, m.image_index, m.label, m.colour) for m in marks] == [
        ("green_bbox", 2, "object0", GREEN), ("blue_bbox", 0, "object1", BLUE),
        ("red_bbox", 1, "object2", RED), ("yellow_bbox", 1, "object3", CYAN)]
    out = draw_markers(blank(3), markers, "spatial_imagination_oo_video")
    # green box x 384..448, y 288..336 -> left stroke at x 354..373
    assert px(out[2], 364, 312) == GREEN and px(out[0], 364, 312) == (0, 0, 0)
    # red box x 64..128, y 48..96 in image 1 -> left stroke at x 34..53
    assert px(out[1], 44, 72) == RED


def test_hard_video_variants_draw_nothing():
    markers = {"red_bbox": [[100, 100, 200, 200]], "bbox_img_idx": [[0]]}
    for task in ("spatial_imagination_oc_video_hard", "spatial_imagination_oo_video_hard"):
        assert placements(markers, task) == []
        assert np.asarray(draw_markers(blank(1), markers, task)[0]).max() == 0


def test_distance_prediction_oo_video_red_then_blue():
    markers = {"red_point": [[250, 250]], "blue_point": [[750, 750]], "point_img_idx": [[3, 1]]}
    out = draw_markers(blank(4), markers, "distance_prediction_oo_video")
    assert px(out[3], 160, 120) == RED and px(out[1], 480, 360) == BLUE


def test_build_keeps_release_list_fields():
    from spar_hf.builders.spar import normalise_markers

    got = normalise_markers({"point_list": [[[1, 2], [3, 4], [5, 6]]], "point_img_idx": [[0, 2, 1]]})
    assert got["point_list"] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]] and got["point_img_idx"] == [0, 2, 1]


def test_pil_drawn_green_is_pils_green():
    """draw_marker.py draws points and boxes with PIL colour names: its "green" is (0, 128, 0)."""
    out = draw_markers(blank(1), {"green_point": [[500, 500]], "yellow_bbox": [[100, 100, 200, 200]]}, "depth_prediction_oo")
    assert px(out[0], 320, 240) == (0, 128, 0)
    # yellow box x 64..128, y 48..96 -> PIL's outline of width 20 grown 17.5 px: x 46.5..66.5 on the left
    assert px(out[0], 50, 72) == (255, 255, 0)

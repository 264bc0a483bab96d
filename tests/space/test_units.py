"""Space building blocks without a server: depth colours, frusta, GLB scene, upload checks, CLI args."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.space import evaluation, render, scene3d
from spar_hf.space.data import kind_of


def test_turbo_ends_and_middle():
    # Turbo runs from dark blue-violet (0.19, 0.07, 0.23) through green to dark red (0.48, 0.02, 0.01).
    low, mid, high = render.turbo(np.array([0.0, 0.5, 1.0]))
    assert low.tolist() == pytest.approx([35, 23, 27], abs=15)
    assert mid[1] > 200 and mid[1] > mid[0] and mid[1] > mid[2]  # green in the middle
    assert high[0] > 100 and high[1] < 30 and high[2] < 30


def test_colour_depth_black_where_no_reading_and_near_is_blue():
    depth = np.array([[0, 1000], [2000, 3000]], dtype=np.uint16)
    rgb = render.colour_depth(depth)
    assert rgb[0, 0].tolist() == [0, 0, 0]
    near, far = rgb[0, 1].astype(int), rgb[1, 1].astype(int)
    assert near[2] > near[0] and far[0] > far[2]
    assert render.depth_range(np.zeros((2, 2), dtype=np.uint16)) is None
    assert render.colour_depth(np.zeros((2, 2), dtype=np.uint16)).sum() == 0


def test_depth_views_caption_in_metres():
    depth = np.full((10, 10), 2000, dtype=np.uint16)
    depth[0, :5] = 0
    buf = io.BytesIO()
    Image.fromarray(depth).save(buf, format="PNG")
    views = render.depth_views({"depth": [{"bytes": buf.getvalue(), "path": None}]})
    assert len(views) == 1
    # constant 2000 mm: range 2.00 .. 2.00 + 1 mm
    assert views[0][1] == "depth 0: 2.00-2.00 m"
    # bench-rgbd rows carry the hub's form: a 2D list in metres
    hub = render.depth_views({"depth": [[[0.0, 1.5], [3.0, 1.5]]]})
    # readings 1500, 1500, 3000 mm: 2nd percentile 1500, 98th 1500 + 0.96 * 1500 = 2940 (linear)
    assert hub[0][1] == "depth 0: 1.50-2.94 m" and hub[0][0].shape == (2, 2, 3)


def test_camera_text_reads_the_hub_flat_matrices():
    text = render.camera_text({"pose": [list(range(16))], "intrinsics": [[[100.0, 0, 5], [0, 100.0, 4], [0, 0, 1]]]})
    assert "   4.0000     5.0000     6.0000     7.0000" in text  # pose row 1 of the flat 0..15


def test_frustum_vertices_hand_computed():
    k = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    pose = np.eye(4)
    pose[:3, 3] = [1.0, 2.0, 3.0]
    v = scene3d.frustum_vertices(pose, k, 100, 80, depth=0.5)
    # pixel (0, 0): ray ((0-50)/100, (0-40)/100, 1) = (-0.5, -0.4, 1), times 0.5 m, plus the camera centre
    assert v[0].tolist() == [1.0, 2.0, 3.0]
    assert v[1].tolist() == pytest.approx([0.75, 1.8, 3.5])
    assert v[3].tolist() == pytest.approx([1.25, 2.2, 3.5])
    # rotate the camera 90 deg about world z: camera x -> world y, camera z stays world z
    pose[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    v = scene3d.frustum_vertices(pose, k, 100, 80, depth=0.5)
    # camera-frame corner (-0.25, -0.2, 0.5) -> world (0.2, -0.25, 0.5) + centre
    assert v[1].tolist() == pytest.approx([1.2, 1.75, 3.5])


def test_glb_boxes_frusta_and_floor_y_up(tmp_path):
    objects = [{"id": 3, "label": "chair", "center": [1.0, 2.0, 0.5], "extents": [2.0, 1.0, 1.0]}]
    k = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    pose = np.eye(4)
    path = scene3d.write_glb(tmp_path / "s.glb", objects, [(pose, k, 100, 80)])
    data = path.read_bytes()
    assert data[:4] == b"glTF"
    scene = trimesh.load(path, file_type="glb", force="scene")
    names = sorted(scene.graph.nodes_geometry)
    assert len(names) == 3  # one box, one frustum, the floor
    box_node = next(n for n in names if n.startswith("object_0"))
    box = scene.graph[box_node]
    corners = trimesh.transform_points(scene.geometry[scene.graph[box_node][1]].vertices, box[0])
    # world x 0..2, y 1.5..2.5, z 0..1 ; glTF y-up: (x, z, -y)
    assert corners.min(axis=0).tolist() == pytest.approx([0.0, 0.0, -2.5])
    assert corners.max(axis=0).tolist() == pytest.approx([2.0, 1.0, -1.5])
    assert scene3d.write_glb(tmp_path / "none.glb", [], []) is None
    legend = scene3d.legend(objects, 1)
    assert "chair (id 3) at (1.00, 2.00, 0.50) m" in legend and "camera of image 0" in legend


def test_box_transform_uses_rotation_columns():
    obj = {"center": [0, 0, 0], "extents": [2, 1, 1], "rotation": [[0, -1, 0], [1, 0, 0], [0, 0, 1]]}
    low, high = scene3d.scene_bounds([obj], np.zeros((0, 3)))
    # the box's long axis (2 m) points along world y
    assert low.tolist() == pytest.approx([-0.5, -1.0, -0.5]) and high.tolist() == pytest.approx([0.5, 1.0, 0.5])


def test_marked_images_draw_red_point_on_its_image():
    img = Image.new("RGB", (200, 100), (128, 128, 128))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    cell = {"bytes": buf.getvalue(), "path": "a.png"}
    row = {"task": "depth_prediction_oc_mv", "images": [cell, cell],
           "markers": {"red_point": [[500.0, 500.0]], "blue_point": [[100.0, 100.0]], "point_img_idx": [1, 0]}}
    first, second = render.marked_images(row, "qa")
    assert second.getpixel((100, 50)) == (255, 0, 0)  # red on image 1 at (0.5 * 200, 0.5 * 100)
    assert first.getpixel((20, 10)) == (0, 0, 255)  # blue on image 0 at (0.1 * 200, 0.1 * 100)
    assert first.getpixel((100, 50)) == (128, 128, 128)


def test_kind_of_columns():
    assert kind_of(["id", "img_type", "format_type", "task", "source", "image", "question", "answer"]) == "bench"
    assert kind_of(["id", "images", "markers", "meta", "task"]) == "qa"
    assert kind_of(["id", "images", "boxes"]) == "spatialforge"
    with pytest.raises(SparError):
        kind_of(["text"])


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_check_upload_reports_every_bad_line(tmp_path):
    lines = ['{"id": 1, "prediction": "A"}', "not json", '{"id": 1, "prediction": "B"}', '{"id": "x", "prediction": "C"}',
             "", '{"id": 5}', '{"id": 6, "prediction": 7}', "[1, 2]"]
    path = _write(tmp_path, "p.jsonl", "\n".join(lines).encode())
    with pytest.raises(SparError) as err:
        evaluation.check_upload(path)
    text = str(err.value)
    assert "6 bad line(s)" in text
    for expected in ("line 2: not JSON", "line 3: duplicate id 1 (first on line 1)", "line 4: id must be an integer",
                     "line 6: missing key(s) prediction", "line 7: prediction must be a string", "line 8: expected a JSON object"):
        assert expected in text
    good = _write(tmp_path, "g.jsonl", b'{"id": 1, "prediction": "A"}\n{"id": "2", "prediction": null}\n')
    preds = evaluation.check_upload(good)
    assert preds.by_id == {1: "A", 2: None} and preds.lines == 2


def test_check_upload_refuses_binary_huge_and_empty(tmp_path, monkeypatch):
    with pytest.raises(SparError, match="binary file"):
        evaluation.check_upload(_write(tmp_path, "b.jsonl", b'{"id": 1}\x00\x01\x02'))
    with pytest.raises(SparError, match="not UTF-8"):
        evaluation.check_upload(_write(tmp_path, "l.jsonl", b'{"id": 1, "prediction": "\xff"}'))
    with pytest.raises(SparError, match="no predictions"):
        evaluation.check_upload(_write(tmp_path, "e.jsonl", b"\n\n"))
    monkeypatch.setattr(evaluation, "MAX_UPLOAD_BYTES", 1024 * 1024)
    with pytest.raises(SparError, match="over the 1 MiB limit"):
        evaluation.check_upload(_write(tmp_path, "h.jsonl", b" " * (1024 * 1024 + 1)))


def test_summary_rows_recompute_paper_rows():
    from spar_hf.eval.evaluate import evaluate

    rows = {"id": [0, 1], "task": ["position_matching", "camera_motion_infer"], "answer": ["A", "B"], "question": ["", ""]}
    result = evaluate(rows, {0: "A", 1: "C"}, "lmms-eval")
    ref = evaluation.reference_rows("full", ["GPT-4o"])
    table = evaluation.summary_rows(result, ref)
    assert table[0][:5] == [evaluation.OURS, None, None, None, None]  # other tasks have no questions: unscored
    gpt = table[1]
    assert gpt[0] == "GPT-4o" and "Medium" in gpt[5]  # the paper's Medium leaves out ViewChgI
    assert gpt[3] == pytest.approx(ref[0].recomputed["Medium"], abs=0.005)
    chart = evaluation.chart_rows(result, ref)
    assert {c["model"] for c in chart} == {"GPT-4o"}


def test_space_command_dataset_resolution(tmp_path, monkeypatch):
    from spar_hf.cli import main
    from spar_hf.commands.space import resolve_dataset

    monkeypatch.delenv("SPAR_DATASET", raising=False)
    assert resolve_dataset(str(tmp_path)) == str(tmp_path)
    assert resolve_dataset("someone/spar-bench") == "someone/spar-bench"
    monkeypatch.setenv("SPAR_DATASET", str(tmp_path))
    assert resolve_dataset(None) == str(tmp_path)
    with pytest.raises(SparError, match="no dataset folder"):
        resolve_dataset(str(tmp_path / "missing" / "hf"))
    assert main(["space", "--dataset", str(tmp_path / "nope")]) == 2


def test_hub_style_bench_folder_without_card(tmp_path):
    """A folder shaped like the hub SPAR-Bench (data/test-*.parquet, no README) browses and scores."""
    import datasets

    from spar_hf.space.ui import SpaceApp

    def png(colour):
        buf = io.BytesIO()
        Image.new("RGB", (40, 30), colour).save(buf, format="PNG")
        return {"bytes": buf.getvalue(), "path": None}

    features = datasets.Features({
        "id": datasets.Value("int64"), "img_type": datasets.Value("string"), "format_type": datasets.Value("string"),
        "task": datasets.Value("string"), "source": datasets.Value("string"), "image": datasets.List(datasets.Image()),
        "question": datasets.Value("string"), "answer": datasets.Value("string")})
    rows = {"id": [7, 8], "img_type": ["single_view", "multi_view"], "format_type": ["fill", "select"],
            "task": ["depth_prediction_oc", "position_matching"], "source": ["scannet", "scannetpp"],
            "image": [[png((255, 0, 0))], [png((0, 0, 255)), png((0, 255, 0))]],
            "question": ["How deep is the red point?", "Which box? A. left B. right"], "answer": ["2.0", "B"]}
    (tmp_path / "data").mkdir()
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "data" / "test-00000-of-00001.parquet"))
    app = SpaceApp(str(tmp_path), tmp_path / "work")
    assert app.data.config_names == ["default"] and app.bench_configs() == ["default"]
    out = app.browse("default", "test", "position_matching", "(all)", "(all)", 0, "")
    assert out["question"] == "Which box? A. left B. right" and len(out["images"]) == 2
    assert out["images"][1][0][0, 0].tolist() == [0, 255, 0] and out["model3d"] is None
    by_id = app.browse("default", "test", "(all)", "(all)", "(all)", 0, "7")
    assert by_id["answer"] == "2.0" and by_id["index"] == 0
    preds = _write(tmp_path, "p.jsonl", b'{"id": 7, "prediction": "2.0"}\n{"id": 8, "prediction": "A"}\n')
    result = app.evaluate(str(preds), "default", "lmms-eval", [])
    tasks = {row[0]: row for row in result["tasks"]}
    # 2.0 against 2.0: relative error 0 passes all ten thresholds -> 100; "A" against "B" -> 0
    assert tasks["depth_prediction_oc"][7] == 100.0 and tasks["position_matching"][7] == 0.0
    assert json.loads(Path(result["json"]).read_text())["questions"] == 2

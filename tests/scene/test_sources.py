"""`spar-hf generate` on the ScanNet++ and Structured3D fixtures: QA rows come out, and the
depth answers match the fixture's hand-placed boxes seen from its hand-placed cameras."""

import json

import numpy as np
import pytest
from fixtures.sources import BOXES, camera_poses, write_scannetpp_scene, write_structured3d_scene

from spar_hf.cli import main

TASKS = "depth_prediction_oc,obj_spatial_relation_oo"
CENTRES = {box.label: np.asarray(box.center) for box in BOXES}


def _rows(root, source, task, fmt):
    files = sorted((root / source / "qa_jsonl").glob(f"*/{task}/{fmt}/*.jsonl"))
    return [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("source, writer, scenes_of", [
    ("scannetpp", write_scannetpp_scene, lambda scene: scene.parent.parent),
    ("structured3d", write_structured3d_scene, lambda scene: scene.parent),
])
def test_generate_finds_rows_with_answers_from_the_fixture_geometry(tmp_path, source, writer, scenes_of):
    scene = writer(tmp_path / "scenes")
    out = tmp_path / "spar"
    assert main(["generate", "--source", source, "--scenes", str(scenes_of(scene)), "--out", str(out), "--tasks", TASKS]) == 0

    for fmt in ("judge", "select", "sentence"):
        assert _rows(out, source, "obj_spatial_relation_oo", fmt), fmt
    fill = _rows(out, source, "depth_prediction_oc", "fill")
    assert fill
    poses = camera_poses()
    for row in fill:
        assert row["image"][0].startswith(f"{scene.name}/image_color/")
        assert (out / source / "images" / row["image"][0]).is_file()
        (frame,) = row["meta"]["frames"]
        target = row["meta"]["objects"][-1]["label"]  # the blue object, whose depth is asked
        pose = poses[frame]  # frames are numbered 0..N-1 in camera order
        depth = (CENTRES[target] - pose[:3, 3]) @ pose[:3, 2]
        assert float(row["conversations"][1]["value"]) == pytest.approx(round(depth, 1), abs=0.051)

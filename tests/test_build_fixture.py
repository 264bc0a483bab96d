"""A small SPAR_DIR in the official release layout (formats.md section 1), written by hand.

Used by the build and export tests. Counts are fixed by construction (see the constants):
source scannet; train scene scene0000_00, val scenes scene0100_00 and scene0101_00; frames 0, 10, 20
per scene, 160x120 grey JPEGs, 16-bit depth PNGs holding 1000 + frame mm, poses translated by
frame/10 m along x, intrinsics 4x4 (ScanNet style) in scene0100_00 and 3x3 elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from spar_hf.builders.sampling import BENCH_TASKS, FILL_TASKS

SOURCE = "scannet"
TRAIN_SCENE = "scene0000_00"
VAL_SCENES = ("scene0100_00", "scene0101_00")
FRAMES = (0, 10, 20)
WIDTH, HEIGHT = 160, 120
GREY = 128
FX = 100.0
BIG_TASK = "distance_prediction_oc"  # 30 val records per scene: enough to cut bench-tiny at 50
BIG_PER_SCENE = 30
MV_TASKS = {t for t in BENCH_TASKS if t.endswith("_mv") or t in ("position_matching", "camera_motion_infer", "view_change_infer")}

# what the fixture holds, counted by construction
N_TRAIN_OK = 5  # train lines whose images exist
N_TRAIN_MISSING = 1  # train line naming a missing image
N_TRAIN_BAD_JSON = 1  # train line that is not JSON
N_VAL_BENCH = 19 * 2 * 2 + BIG_PER_SCENE * 2  # 19 tasks x 2 scenes x 2 letters/records + the big task
N_VAL_SENTENCE = 2  # val sentence records (not bench candidates)
N_VAL = N_VAL_BENCH + N_VAL_SENTENCE


def _write_frame(images: Path, scene: str, n: int, four_by_four: bool) -> None:
    for sub in ("image_color", "image_depth", "pose", "intrinsic"):
        (images / scene / sub).mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (WIDTH, HEIGHT), (GREY, GREY, GREY)).save(images / scene / "image_color" / f"{n}.jpg", quality=95)
    depth = np.full((HEIGHT, WIDTH), 1000 + n, dtype=np.uint16)
    depth[0, 0] = 65535  # a value above 8 bits and above int16: must survive as uint16
    Image.fromarray(depth).save(images / scene / "image_depth" / f"{n}.png")
    pose = np.eye(4)
    pose[0, 3] = n / 10.0
    (images / scene / "pose" / f"{n}.txt").write_text("\n".join(" ".join(f"{v:g}" for v in row) for row in pose) + "\n")
    k = np.array([[FX, 0, WIDTH / 2], [0, FX, HEIGHT / 2], [0, 0, 1]])
    if four_by_four:
        k4 = np.eye(4)
        k4[:3, :3] = k
        k = k4
    (images / scene / "intrinsic" / f"{n}.txt").write_text("\n".join(" ".join(f"{v:g}" for v in row) for row in k) + "\n")


def _record(rid: str, task: str, question: str, answer: str, images: list[str], **markers) -> dict:
    return {
        "id": rid,
        "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": answer}],
        "image": images,
        "type": task,
        **markers,
    }


def _write_jsonl(root: Path, split: str, task: str, fmt: str, lines: list[str]) -> None:
    folder = root / SOURCE / "qa_jsonl" / split / task / fmt
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{fmt}_{len(lines)}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def bench_record(scene: str, task: str, k: int) -> dict:
    """Record k of a bench task in its bench format: select answers alternate A / B, fill answers k + 1.5."""
    mv = task in MV_TASKS
    images = [f"{scene}/image_color/0.jpg", f"{scene}/image_color/10.jpg"] if mv else [f"{scene}/image_color/0.jpg"]
    fmt = "fill" if task in FILL_TASKS else "select"
    answer = f"{k + 1.5}" if fmt == "fill" else "AB"[k % 2]
    markers: dict = {}
    if task.startswith(("depth_prediction", "distance_prediction", "distance_infer")):
        markers = {"red_point": [[500, 500]], "blue_point": [[250, 250]]}
        if mv:
            markers["point_img_idx"] = [[0, 1]]
    elif task.startswith(("obj_spatial", "spatial_imagination", "position_matching")):
        markers = {"red_bbox": [[100, 100, 400, 400]]}
    question = f"{task} question {k} about {scene}."
    return _record(f"{scene}_{task}_{fmt}_{k}", task, question, answer, images, **markers)


def make_layout(root: Path) -> Path:
    """Write the fixture under root/spar and return that SPAR_DIR."""
    spar = root / "spar"
    images = spar / SOURCE / "images"
    for scene in (TRAIN_SCENE, *VAL_SCENES):
        for n in FRAMES:
            _write_frame(images, scene, n, four_by_four=scene == VAL_SCENES[0])
    img = f"{TRAIN_SCENE}/image_color"
    train = {
        ("depth_prediction_oc", "fill"): [
            _record(f"{TRAIN_SCENE}_dp_{i}", "depth_prediction_oc", f"How deep is it {i}?", f"{1.5 + i}", [f"{img}/{n}.jpg"],
                    red_point=[[553, 397]], blue_point=[[641, 838]])
            for i, n in enumerate(FRAMES)
        ],
        ("obj_spatial_relation_oo", "judge"): [
            _record(f"{TRAIN_SCENE}_rel_0", "obj_spatial_relation_oo", "Is red left of blue?", "Yes", [f"{img}/10.jpg"],
                    red_bbox=[[10, 20, 300, 400]], blue_bbox=[[500, 20, 900, 400]]),
            _record(f"{TRAIN_SCENE}_rel_missing", "obj_spatial_relation_oo", "Is red left of blue?", "No", [f"{img}/99.jpg"],
                    red_bbox=[[10, 20, 300, 400]], blue_bbox=[[500, 20, 900, 400]]),
        ],
        ("view_change_infer", "sentence"): [
            _record(f"{TRAIN_SCENE}_vci_0", "view_change_infer", "How did the camera move?", "It moved right.",
                    [f"{img}/0.jpg", f"{img}/20.jpg"]),
        ],
    }
    for (task, fmt), records in train.items():
        lines = [json.dumps(r) for r in records]
        if task == "view_change_infer":
            lines.append('{"id": "broken", "conversations": [')
        _write_jsonl(spar, "train", task, fmt, lines)
    for task in BENCH_TASKS:
        fmt = "fill" if task in FILL_TASKS else "select"
        per_scene = BIG_PER_SCENE if task == BIG_TASK else 2
        lines = [json.dumps(bench_record(scene, task, k)) for scene in VAL_SCENES for k in range(per_scene)]
        _write_jsonl(spar, "val", task, fmt, lines)
    sentence = [
        json.dumps(_record(f"{scene}_dp_sentence", "depth_prediction_oc", "Describe the depth.", "About 2 m.",
                           [f"{scene}/image_color/20.jpg"], red_point=[[500, 500]], blue_point=[[100, 100]]))
        for scene in VAL_SCENES
    ]
    _write_jsonl(spar, "val", "depth_prediction_oc", "sentence", sentence)
    return spar


def test_fixture_reads_back(tmp_path):
    from spar_hf.layout.reader import SparLayout

    layout = SparLayout(make_layout(tmp_path))
    problems = []
    train = list(layout.iter_records(split="train", problems=problems.append))
    val = list(layout.iter_records(split="val"))
    assert len(train) == N_TRAIN_OK + N_TRAIN_MISSING
    assert len(problems) == N_TRAIN_BAD_JSON
    assert len(val) == N_VAL

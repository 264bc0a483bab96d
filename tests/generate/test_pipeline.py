"""The generate pipeline unit by unit: process_scene on one scene, generate_qa's streams, run_generate's assembly.

The known scene: a 5 x 3 x 2.6 m room holding a cabinet (centre (2.5, 2.0, 0.5)) and a bookshelf
(centre (4.0, 0.8, 0.5)), both 0.6 x 0.6 x 1.0 m axis-aligned boxes, seen by two cameras at
(0.5, 2.0, 2.0) and (0.5, 1.6, 2.0) that look along forward = (0.8, 0, -0.6) (pitched 36.87 deg
down; right = (0, -1, 0), down = (-0.6, 0, -0.8)), f = 500 px, principal point (320, 240),
640 x 480. The cameras are 0.4 m apart, more than the synthetic source's 0.25 m keyframe step, so
both frames are keyframes. By hand, for d = centre - eye:
  depth z = forward . d: cabinet 0.8*2.0 + 0.6*1.5 = 2.5 m, bookshelf 0.8*3.5 + 0.6*1.5 = 3.7 m
  (the same from both cameras: they differ only along y, which forward ignores);
  marker = (320 + 500 x/z, 240 + 500 y/z) scaled to 0..1000 (x = right . d, y = down . d):
    frame 0: cabinet (320, 240) -> [500, 500]; bookshelf x = 1.2, y = -0.9 -> (482.2, 118.4) -> [753, 247]
    frame 1: cabinet x = -0.4 -> (240, 240) -> [375, 500]; bookshelf x = 0.8 -> (428.1, 118.4) -> [669, 247]
depth_prediction_oc asks one object's depth given the other's, both seen in one image: 2 images x 2
ordered pairs = 4 distinct questions per format; of the 20 x 6 = 120 draws allowed per format the
other 116 repeat one of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures.synthetic_tree import read_tree

from spar_hf.generate import pipeline
from spar_hf.scene.sources import read_scene
from spar_hf.scene.synthetic import PlacedObject, SynthScene, generate_scene, write_scene
from spar_hf.tasks.registry import all_tasks, select_tasks

TASK = "depth_prediction_oc"
FORMATS = ("fill", "select", "sentence")
SEED = 7
CONFIG = {"samples_per_format": 20, "attempts_per_sample": 6}
ROTATION = np.array([[0.0, -0.6, 0.8], [-1.0, 0.0, 0.0], [0.0, -0.8, -0.6]])  # columns: right, down, forward
EYES = [(0.5, 2.0, 2.0), (0.5, 1.6, 2.0)]
DEPTH = {"cabinet": "2.5", "bookshelf": "3.7"}
MARKER = {(0, "cabinet"): [500, 500], (0, "bookshelf"): [753, 247], (1, "cabinet"): [375, 500], (1, "bookshelf"): [669, 247]}


def write_known_scene(root: Path, scene_id: str, with_frames: bool = True) -> Path:
    poses = []
    for eye in EYES if with_frames else []:
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = ROTATION, eye
        poses.append(pose)
    size = np.array([0.6, 0.6, 1.0])
    objects = [PlacedObject(0, "cabinet", np.array([2.5, 2.0, 0.5]), size, 0.0, (95, 160, 150)),
               PlacedObject(1, "bookshelf", np.array([4.0, 0.8, 0.5]), size, 0.0, (110, 70, 40))]
    k = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
    return write_scene(SynthScene(scene_id, np.array([5.0, 3.0, 2.6]), objects, poses, intrinsics=k), root)


def job_for(scene_dir: Path, out: Path, tasks: tuple[str, ...] = (TASK,)) -> pipeline.SceneJob:
    return pipeline.SceneJob("synthetic", str(scene_dir), scene_dir.name, str(out), tasks, SEED, tuple(sorted(CONFIG.items())))


def part_rows(source_out: Path, scene: str, fmt: str) -> list[dict]:
    text = (source_out / "parts" / scene / f"{TASK}.{fmt}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def known_scene(tmp_path_factory) -> Path:
    return write_known_scene(tmp_path_factory.mktemp("known"), "scene0000_00")


def test_known_scene_yields_each_question_once_with_hand_computed_depths(known_scene, tmp_path):
    manifest = pipeline.process_scene(job_for(known_scene, tmp_path))
    stats = manifest["stats"]
    assert manifest["status"] == "done" and manifest["rejected"] == 0
    assert (stats["frames"], stats["keyframes"], stats["objects_visible"]) == (2, 2, 2)
    assert stats["objects"] == 8  # 2 boxes + floor, ceiling and 4 walls (room parts are read, then not asked about)
    assert stats["generated"] == {f"{TASK}/{fmt}": 4 for fmt in FORMATS}
    assert stats["skips"] == {f"{TASK}: duplicate": 3 * (20 * 6 - 4)}
    assert {name: part["lines"] for name, part in manifest["parts"].items()} == {f"{TASK}/{fmt}": 4 for fmt in FORMATS}
    for fmt in FORMATS:
        rows = part_rows(tmp_path, "scene0000_00", fmt)
        assert [r["id"] for r in rows] == [f"scene0000_00_{TASK}_{fmt}_{n}" for n in range(4)]
        asked = set()
        for r in rows:
            (frame,) = r["meta"]["frames"]
            red, blue = (o["label"] for o in r["meta"]["objects"])
            asked.add((frame, red, blue))
            assert r["image"] == [f"scene0000_00/image_color/{frame}.jpg"]
            assert r["depth"] == [f"scene0000_00/image_depth/{frame}.png"]
            assert (r["red_point"], r["blue_point"]) == ([MARKER[frame, red]], [MARKER[frame, blue]])
            assert r["meta"]["value"] == pytest.approx(float(DEPTH[blue]), abs=1e-6)
            question, answer = (turn["value"] for turn in r["conversations"])
            assert f"{DEPTH[red]} meters" in question
            if fmt == "fill":
                assert answer == DEPTH[blue]
            elif fmt == "select":
                assert f"\n{answer}. {DEPTH[blue]}\n" in question
            else:
                assert f"{DEPTH[blue]} meters" in answer
        assert asked == {(f, a, b) for f in (0, 1) for a, b in (("cabinet", "bookshelf"), ("bookshelf", "cabinet"))}
    # exactly the two keyframes are materialised, each with colour, depth, pose and intrinsics
    assert sorted(manifest["files"]) == sorted(f"images/scene0000_00/{kind}/{n}.{ext}" for n in (0, 1) for kind, ext in
                                                 (("image_color", "jpg"), ("image_depth", "png"), ("pose", "txt"), ("intrinsic", "txt")))


def test_each_task_draws_from_its_own_stream_keyed_by_scene_and_task(known_scene):
    """generate_qa seeds task T of scene S with sha256("<seed>:<S>:<T>"): adding a task changes nothing else."""
    scene = read_scene("synthetic", known_scene)
    records = pipeline.build_scene_records(scene, pipeline.keyframes_for(scene.source, scene.frames))
    (spec,) = select_tasks([TASK])
    alone, _ = pipeline.generate_qa(records, [spec], SEED)
    both, _ = pipeline.generate_qa(records, select_tasks([TASK, "distance_prediction_oc"]), SEED)
    seed = int.from_bytes(hashlib.sha256(f"{SEED}:scene0000_00:{TASK}".encode()).digest()[:8], "little")
    by_hand = spec.generate(records, np.random.default_rng(seed), None)
    assert len(alone) == 12
    assert alone == by_hand == [r for r in both if r.task == TASK]
    assert {r.task for r in both} == {TASK, "distance_prediction_oc"}


def _reverse_engine(jobs, workers, **options):
    """An engine that finishes the scenes last-first, in one process."""
    for job in reversed(list(jobs)):
        yield job, pipeline.process_scene(job)


@pytest.fixture(scope="module")
def three_scenes(tmp_path_factory) -> Path:
    """Two copies of the known geometry (scene0000_00, scene0002_00) around a procedural room (scene0001_00)."""
    root = tmp_path_factory.mktemp("three")
    write_known_scene(root, "scene0000_00")
    write_scene(generate_scene("scene0001_00", 0, 4), root)
    write_known_scene(root, "scene0002_00")
    return root


@pytest.fixture(scope="module")
def reference_run(three_scenes, tmp_path_factory) -> tuple[Path, pipeline.GenerateReport]:
    out = tmp_path_factory.mktemp("ref")
    report = pipeline.run_generate("synthetic", three_scenes, out, [TASK], SEED, workers=1, val_fraction=0.0,
                                   task_config=CONFIG, progress=False)
    return out, report


def test_qa_files_concatenate_the_scene_parts_in_sorted_scene_order(reference_run):
    out, report = reference_run
    source = out / "synthetic"
    assert (report.scenes, report.done, report.rejected, report.crashed) == (3, 3, 0, 0)
    train = sorted(s for s, split in report.splits.items() if split == "train")
    assert len(train) == 2  # val_fraction 0: the one val scene is the one the split forces
    total, seen = 0, set()
    for split in ("train", "val"):
        members = sorted(s for s, sp in report.splits.items() if sp == split)
        for fmt in FORMATS:
            parts = [(source / "parts" / s / f"{TASK}.{fmt}.jsonl").read_bytes() for s in members]
            n = sum(p.count(b"\n") for p in parts)
            (qa_file,) = (source / "qa_jsonl" / split / TASK / fmt).iterdir()
            assert qa_file.name == f"{fmt}_{n}.jsonl"
            assert qa_file.read_bytes() == b"".join(parts)
            rows = [json.loads(line) for line in qa_file.read_text(encoding="utf-8").splitlines()]
            scenes = [r["meta"]["scene"] for r in rows]
            assert scenes == sorted(scenes)
            seen.update(scenes)
            for s in members:
                assert [r["id"] for r in rows if r["meta"]["scene"] == s] == [f"{s}_{TASK}_{fmt}_{k}" for k in range(scenes.count(s))]
            assert report.rows[(split, TASK, fmt)] == n
            total += n
    assert report.records == total
    assert seen == {"scene0000_00", "scene0001_00", "scene0002_00"}  # the procedural room contributes too
    assert (source / "rejects.jsonl").read_bytes() == b""


def _asked(rows: list[dict]) -> list[tuple]:
    """What the rows ask and answer (image, red and blue object, value), without the draw's order and phrasing."""
    return sorted((r["meta"]["frames"][0], *(o["label"] for o in r["meta"]["objects"]), r["meta"]["value"]) for r in rows)


def test_same_geometry_under_another_scene_id_asks_the_same_questions_in_another_draw(reference_run):
    source = reference_run[0] / "synthetic"
    for fmt in FORMATS:
        a, b = (part_rows(source, s, fmt) for s in ("scene0000_00", "scene0002_00"))
        assert _asked(a) == _asked(b) and len(_asked(a)) == 4
        assert [(r["meta"]["frames"], r["meta"]["q"]) for r in a] != [(r["meta"]["frames"], r["meta"]["q"]) for r in b]


def test_scene_order_and_worker_count_leave_the_output_byte_identical(reference_run, three_scenes, tmp_path, monkeypatch):
    expected = read_tree(reference_run[0])
    pooled = tmp_path / "pooled"
    pipeline.run_generate("synthetic", three_scenes, pooled, [TASK], SEED, workers=2, val_fraction=0.0,
                          task_config=CONFIG, progress=False)
    assert read_tree(pooled) == expected
    monkeypatch.setattr(pipeline, "get_engine", lambda name: _reverse_engine)
    reverse = tmp_path / "reverse"
    pipeline.run_generate("synthetic", three_scenes, reverse, [TASK], SEED, val_fraction=0.0, task_config=CONFIG, progress=False)
    assert read_tree(reverse) == expected
    # a scene's own files do not depend on which other scenes ran: the known scene alone gives the same parts
    alone = tmp_path / "alone"
    pipeline.process_scene(job_for(three_scenes / "scene0002_00", alone))
    for fmt in FORMATS:
        rel = f"parts/scene0002_00/{TASK}.{fmt}.jsonl"
        assert (alone / rel).read_bytes() == expected[f"synthetic/{rel}"]


def test_rejected_records_and_scenes_are_counted_by_reason(known_scene, tmp_path, monkeypatch):
    """Every generated record ends in a part file or in rejects.jsonl with its reason; a scene without frames is one reject."""
    root = tmp_path / "scenes"
    shutil.copytree(known_scene, root / "scene0000_00")
    bad = write_known_scene(root, "scene0001_00", with_frames=False)
    (bad / "color").mkdir()
    real = all_tasks()[TASK]

    def with_bad_records(records, rng, config):
        qa = real.generate(records, rng, config)
        first = qa[0]
        return qa + [dataclasses.replace(first, id=first.id + "_elsewhere", images=["scene0099_00/image_color/0.jpg"], depths=[]),
                     dataclasses.replace(first),
                     dataclasses.replace(first, id=first.id + "_judge", format="judge")]

    monkeypatch.setitem(all_tasks(), TASK, dataclasses.replace(real, generate=with_bad_records))
    out = tmp_path / "out"
    report = pipeline.run_generate("synthetic", root, out, [TASK], SEED, val_fraction=0.0, task_config=CONFIG, progress=False)
    source = out / "synthetic"

    manifest = json.loads((source / "parts" / "scene0000_00" / "manifest.json").read_text(encoding="utf-8"))
    first_id = f"scene0000_00_{TASK}_fill_0"
    assert manifest["rejected"] == 3
    assert manifest["reject_reasons"] == {"duplicate": 1, "format": 1, "image": 1}
    generated = sum(manifest["stats"]["generated"].values())
    assert generated == 15 == sum(p["lines"] for p in manifest["parts"].values()) + manifest["rejected"]

    assert (report.scenes, report.done, report.rejected, report.record_rejects, report.records) == (2, 1, 1, 3, 12)
    assert dict(report.reject_reasons) == {"bad scene": 1, "duplicate": 1, "format": 1, "image": 1}
    rows = [json.loads(line) for line in (source / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["record"].get("id") for r in rows] == [first_id + "_elsewhere", first_id, first_id + "_judge", None]
    reasons = [r["reason"] for r in rows]
    assert reasons[0].startswith("image scene0099_00/image_color/0.jpg ") and "another scene" in reasons[0]
    assert reasons[1] == f"duplicate id {first_id}"
    assert reasons[2].startswith("format 'judge' ")
    assert reasons[3] == f"bad scene: {bad}: no usable frames"
    assert rows[3]["record"] == {"scene": "scene0001_00"}
    assert not (source / "images" / "scene0001_00").exists()

"""RxR-style reader, procedural fixture and nav_video masking."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest

from spar_hf.errors import SparError
from spar_hf.records import SceneRecords
from spar_hf.scene import rxr
from spar_hf.scene.rxr_synth import write_rxr_fixture
from spar_hf.tasks import nav


def test_mask_hand_written_instruction():
    text = ("Turn left and walk past the sofa, then go  straight until the door is on your right. "
            "Turn slightly left at the stairs and stop with the plant to your left.")
    masked, phrases = nav.mask_instruction(text)
    assert masked == ("[1] and walk past the sofa, then [2] until the door is [3]. "
                      "[4] at the stairs and stop with the plant [5].")
    assert phrases == ["Turn left", "go  straight", "on your right", "Turn slightly left", "to your left"]
    assert nav.fill_blanks(masked, phrases) == text


def test_mask_leaves_words_inside_other_words():
    masked, phrases = nav.mask_instruction("Walk past the leftover boxes and the upright piano.")
    assert phrases == [] and "[" not in masked


def test_headings_and_faces():
    assert rxr.heading_between(np.zeros(3), np.array([0.0, 2.0, 0.0])) == pytest.approx(0.0)
    assert rxr.heading_between(np.zeros(3), np.array([2.0, 0.0, 0.0])) == pytest.approx(math.pi / 2)
    assert rxr.heading_between(np.zeros(3), np.array([-2.0, 0.0, 0.0])) == pytest.approx(3 * math.pi / 2)
    assert [rxr.face_for_heading(h) for h in (0.0, math.pi / 2, math.pi, 3 * math.pi / 2, 2 * math.pi - 0.1)] == [1, 2, 3, 4, 1]
    pose = rxr.face_pose(np.array([1.0, 2.0, 1.5]), 2)
    np.testing.assert_allclose(pose[:3, 2], [1.0, 0.0, 0.0], atol=1e-12)  # face 2 looks along +x
    np.testing.assert_allclose(pose[:3, 3], [1.0, 2.0, 1.5])


def test_fixture_reads_back_and_generates(tmp_path):
    ids = write_rxr_fixture(tmp_path, walks_per_scan=3, seed=1)
    paths = rxr.list_scenes(tmp_path)
    assert [p.name for p in paths] == sorted(ids)
    line = json.loads((tmp_path / "rxr_val_seen_guide.jsonl").read_text().splitlines()[0])
    assert set(rxr.REQUIRED_FIELDS) <= set(line)
    for path in paths:
        scene = rxr.read_scene(path)
        assert scene.id == path.name and len(scene.frames) == len(scene.path) == len(scene.clip)
        assert all(f.intrinsics[0, 0] == f.width / 2 for f in scene.frames)  # 90-degree skybox faces
        out = nav.generate(SceneRecords(scene, [], {}), np.random.default_rng(0), {})
        assert len(out) == 1
        r = out[0]
        assert r.task == "nav_video" and r.format == "sentence" and r.answer == scene.instruction
        assert r.images == [f"{scene.id}/video_color/frame{i}_{i}.jpg" for i in range(len(scene.path))]
        assert nav.verify(r) == []
        masked = r.question.split('"')[1]
        assert "turn left" not in masked.lower() and "go straight" not in masked.lower() and "[1]" in masked


def test_fixture_is_deterministic(tmp_path):
    write_rxr_fixture(tmp_path / "a", seed=4)
    write_rxr_fixture(tmp_path / "b", seed=4)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)


def test_turns_in_instruction_match_frame_faces(tmp_path):
    write_rxr_fixture(tmp_path, walks_per_scan=4, seed=2)
    for path in rxr.list_scenes(tmp_path):
        scene = rxr.read_scene(path)
        faces = [int(f.color_path.rsplit("skybox", 1)[1][0]) for f in scene.frames]
        sentences = scene.instruction.split(". ")
        for step in range(1, len(scene.path) - 1):
            turn = (faces[step] - faces[step - 1]) % 4  # 1: clockwise = right, 3: left
            action = sentences[step].split(" and ")[0].lower()
            assert action == {0: "go straight", 1: "turn right", 3: "turn left"}[turn]


def test_gzipped_guide_and_bad_inputs(tmp_path):
    write_rxr_fixture(tmp_path, walks_per_scan=2, seed=0)
    plain = tmp_path / "rxr_val_seen_guide.jsonl"
    lines = plain.read_text().splitlines()
    hindi = dict(json.loads(lines[1]), language="hi-IN", instruction_id=99)
    with gzip.open(tmp_path / "rxr_train_guide.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(hindi) + "\n")
    names = [p.name for p in rxr.list_scenes(tmp_path)]
    assert "synthscan00_99" in names
    with pytest.raises(SparError, match="hi-IN"):
        rxr.read_scene(tmp_path / "synthscan00" / "synthscan00_99")
    plain.write_text(lines[0] + "\n{broken\n")
    with pytest.raises(SparError, match=r"rxr_val_seen_guide.jsonl:2"):
        rxr.list_scenes(tmp_path)


def test_missing_connectivity_is_named(tmp_path):
    write_rxr_fixture(tmp_path, walks_per_scan=1, seed=0)
    (tmp_path / "connectivity" / "synthscan00_connectivity.json").unlink()
    with pytest.raises(SparError, match="connectivity.json: required file missing"):
        rxr.read_scene(rxr.list_scenes(tmp_path)[0])

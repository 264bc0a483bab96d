"""`spar-hf probe` on a hand-made layout: perfect answers score perfectly, strangers are rejected."""

from __future__ import annotations

import json

import numpy as np
from fixtures.probes_scene import four_view_records
from PIL import Image

from spar_hf.cli import main
from spar_hf.layout.paths import format_matrix
from spar_hf.records import SceneRecords
from spar_hf.scene.model import Object3D
from spar_hf.tasks import grounding, map_bev


def _records() -> SceneRecords:
    objects = [Object3D(3, "table", np.array([2.5, 2.0, 0.4]), np.array([1.2, 0.8, 0.8]), np.eye(3)),
               Object3D(4, "lamp", np.array([4.5, 3.5, 1.5]), np.full(3, 0.3), np.eye(3)),
               Object3D(5, "sofa", np.array([1.0, 3.4, 0.4]), np.array([1.6, 0.9, 0.8]), np.eye(3))]
    return four_view_records(objects)


def _write_layout(root, records, qa):
    src = root / "synthetic"
    for task in {r.task for r in qa}:
        lines = [json.dumps(r.to_json()) for r in qa if r.task == task]
        folder = src / "qa_jsonl" / "val" / task / "sentence"
        folder.mkdir(parents=True)
        (folder / f"sentence_{len(lines)}.jsonl").write_text("\n".join(lines) + "\n")
    for sub in ("image_color", "pose", "intrinsic"):
        (src / "images" / "g0" / sub).mkdir(parents=True)
    for rec in records.images:
        base = src / "images" / "g0"
        Image.new("RGB", (640, 480), (90, 90, 90)).save(base / "image_color" / f"{rec.frame_index}.jpg")
        (base / "pose" / f"{rec.frame_index}.txt").write_text(format_matrix(rec.pose))
        (base / "intrinsic" / f"{rec.frame_index}.txt").write_text(format_matrix(rec.intrinsics))


def test_probe_cli_scores_perfect_predictions(tmp_path, capsys):
    records = _records()
    ground = grounding.generate(records, np.random.default_rng(0), {})
    bev = map_bev.generate(records, np.random.default_rng(0), {"max_per_task": 2})
    assert ground and bev
    _write_layout(tmp_path / "spar", records, ground + bev)
    preds = tmp_path / "preds.jsonl"
    rows = [{"id": r.id, "prediction": r.answer} for r in ground + bev] + [{"id": "stranger", "prediction": "(1, 2)"}]
    preds.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    rejects = tmp_path / "rej.jsonl"
    assert main(["probe", "grounding", "--from", str(tmp_path / "spar"), "--predictions", str(preds), "--format", "json",
                 "--rejects", str(rejects)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-2])
    assert result["n"] == len(ground) and result["acc@0.5"] == 1.0 and result["mean_iou"] > 0.9
    # the BEV records and the stranger are not grounding records of this layout
    assert out[-1].startswith(f"probe grounding: in={len(ground) + len(bev) + 1} out={len(ground)} rejected={len(bev) + 1}")
    assert all("unknown_id" in json.loads(line)["reason"] for line in rejects.read_text().splitlines())

    assert main(["probe", "bev", "--from", str(tmp_path / "spar"), "--predictions", str(preds), "--format", "json",
                 "--rejects", str(rejects)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-2])
    assert result["missing"] == 0 and result["overall"]["n"] == sum(len(r.meta["objects"]) for r in bev)
    assert result["overall"]["mean"] < 0.051


def test_probe_cli_bad_predictions_line(tmp_path, capsys):
    (tmp_path / "spar" / "synthetic" / "qa_jsonl").mkdir(parents=True)
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "a", "prediction": "x"}\n{oops\n')
    assert main(["probe", "bev", "--from", str(tmp_path / "spar"), "--predictions", str(preds)]) == 2
    assert "p.jsonl:2" in capsys.readouterr().err

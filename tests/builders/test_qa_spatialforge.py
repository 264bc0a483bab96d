"""`spatialforge` config: ingest a few SpatialForge-style records, build, load in a fresh process."""

import json
import os
import subprocess
import sys

from PIL import Image

from spar_hf.cli import main

IMAGE = "images/v2/patch45/objects365_v2_02060288.jpg"


def test_spatialforge_boxes_in_1000_and_pixels(tmp_path):
    img = tmp_path / "o365" / IMAGE
    img.parent.mkdir(parents=True)
    Image.new("RGB", (640, 480), (20, 90, 160)).save(img, quality=80)
    answer = '[{"bbox_2d": [100, 200, 500, 750], "label": "cup"}]'
    records = [{"id": f"g{i}", "image": IMAGE, "conversations": [{"from": "human", "value": "<image>\nLocate the cup."},
                                                                 {"from": "gpt", "value": answer}]} for i in range(3)]
    (tmp_path / "ann.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    spar, hf = tmp_path / "spar", tmp_path / "hf"
    assert main(["ingest", "spatialforge", "--annotations", str(tmp_path / "ann.jsonl"),
                 "--images", f"objects365={tmp_path / 'o365'}", "--out", str(spar), "--no-progress"]) == 0
    assert main(["build", "--from", str(spar), "--out", str(hf)]) == 0  # only spatialforge present: only that config
    assert sorted(p.name for p in hf.iterdir() if not p.name.startswith(".")) == ["README.md", "rejects", "spatialforge"]
    code = ("import datasets, json, sys; d = datasets.load_dataset(sys.argv[1], 'spatialforge');"
            "r = d['train'][0]; print(json.dumps({'n': d['train'].num_rows, 'cols': list(r), 'boxes': r['boxes'],"
            "'source': r['source'], 'size': list(r['images'][0].size)}))")
    proc = subprocess.run([sys.executable, "-c", code, str(hf)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["n"] == 3 and got["source"] == "objects365" and got["size"] == [640, 480]
    assert got["cols"] == ["id", "source", "task", "format", "question", "answer", "conversations", "boxes", "meta", "images"]
    # 0..1000 -> pixels of a 640 x 480 image: x * 0.64, y * 0.48
    assert got["boxes"] == [{"label": "cup", "bbox_1000": [100.0, 200.0, 500.0, 750.0], "bbox_px": [64.0, 96.0, 320.0, 360.0]}]

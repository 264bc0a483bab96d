"""Build from a SPAR_DIR made by the real `spar-hf synth` + `spar-hf generate`, load it in a fresh process."""

import json
import os
import subprocess
import sys

import pytest

from spar_hf.builders.sampling import BENCH_TASKS, BENCH_PER_TASK, bench_format
from spar_hf.cli import main

pytestmark = pytest.mark.slow

LOADER = r"""
import json, sys
import datasets
out = {}
bench = datasets.load_dataset(sys.argv[1], "bench", split="test")
out["bench_tasks"] = {}
for row in bench:
    out["bench_tasks"][row["task"]] = out["bench_tasks"].get(row["task"], 0) + 1
first = bench[0]
out["decoded"] = [list(im.size) for im in first["image"]]
qa = datasets.load_dataset(sys.argv[1], "7m")
out["7m"] = {split: d.num_rows for split, d in qa.items()}
print(json.dumps(out))
"""


def _lines(path):
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def test_build_from_generated_layout(tmp_path):
    scenes, spar, hf = tmp_path / "scenes", tmp_path / "spar", tmp_path / "hf"
    assert main(["synth", "--out", str(scenes), "--scenes", "2", "--frames", "6", "--seed", "0"]) == 0
    assert main(["generate", "--source", "synthetic", "--scenes", str(scenes), "--out", str(spar), "--seed", "7",
                 "--val-fraction", "0.5", "--tasks", ",".join(BENCH_TASKS)]) == 0
    assert main(["build", "--from", str(spar), "--out", str(hf), "--configs", "7m,bench"]) == 0

    qa = spar / "synthetic" / "qa_jsonl"
    expected_7m = {"train": 0, "validation": 0}
    expected_bench = {}
    for split, name in (("train", "train"), ("val", "validation")):
        for path in (qa / split).glob("*/*/*.jsonl") if (qa / split).is_dir() else []:
            expected_7m[name] += _lines(path)
            task, fmt = path.parent.parent.name, path.parent.name
            if split == "val" and fmt == bench_format(task):
                expected_bench[task] = min(BENCH_PER_TASK, expected_bench.get(task, 0) + _lines(path))
    expected_bench = {t: n for t, n in expected_bench.items() if n}

    proc = subprocess.run([sys.executable, "-c", LOADER, str(hf)], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["7m"] == expected_7m  # every generated line is a row (all images are on disk)
    assert got["bench_tasks"] == expected_bench  # every bench task the generator gave val records for
    assert len(expected_bench) >= 18 and set(expected_bench) <= set(BENCH_TASKS)
    assert got["decoded"] and all(w > 0 and h > 0 for w, h in got["decoded"])

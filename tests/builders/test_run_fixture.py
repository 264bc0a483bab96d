"""A small SPAR_DIR in the official release layout (docs/formats.md "The official download"), written by hand.

Used by the build and export tests. Counts are fixed by construction (see the constants):
source scannet; train scene scene0000_00, val scenes scene0100_00 and scene0101_00; frames 0, 10, 20
per scene, 160x120 grey JPEGs, 16-bit depth PNGs holding 1000 + frame mm, poses translated by
frame/10 m along x, intrinsics 4x4 (ScanNet style) in scene0100_00 and 3x3 elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures.build_layout import N_TRAIN_OK, N_VAL, make_layout  # noqa: F401
from PIL import Image

from spar_hf.builders.sampling import BENCH_TASKS, FILL_TASKS

N_TRAIN_MISSING = 1  # train line naming a missing image
N_TRAIN_BAD_JSON = 1  # train line that is not JSON


def test_fixture_reads_back(tmp_path):
    from spar_hf.layout.reader import SparLayout

    layout = SparLayout(make_layout(tmp_path))
    problems = []
    train = list(layout.iter_records(split="train", problems=problems.append))
    val = list(layout.iter_records(split="val"))
    assert len(train) == N_TRAIN_OK + N_TRAIN_MISSING
    assert len(problems) == N_TRAIN_BAD_JSON
    assert len(val) == N_VAL

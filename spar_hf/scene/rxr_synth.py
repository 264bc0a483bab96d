"""Procedural RxR-style data: walks through a synthetic floor with generated guide instructions,
written in the layout spar_hf.scene.rxr reads (no RxR / Matterport3D download is reachable).

The scan is a grid of viewpoints (`GRID` x `GRID`, `SPACING_M` apart, camera 1.5 m high) with
landmark objects on some cells. A walk starts anywhere, moves to 4-connected neighbours without
stepping back, and its instruction is written step by step from the turn at each viewpoint
("turn left", "turn right", "go straight") and the landmark beside the next viewpoint
("... the sofa on your left"). Skybox faces are small JPEGs whose colour encodes the viewpoint and
face, with a block drawn when a landmark lies in that face's direction. Same seed -> same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from spar_hf.scene.rxr import SKYBOX, heading_between
from spar_hf.utils.atomic import atomic_write_bytes, atomic_write_text

GRID = 5
SPACING_M = 2.0
CAMERA_HEIGHT_M = 1.5
FACE_SIZE = 64
MOVES = ("walk to the next spot", "continue for a few steps", "walk ahead a little", "head on")
PASSING = (", passing the {} on your {}", " with the {} on your {}", ", keeping the {} to your {}")
LANDMARKS = ("sofa", "table", "lamp", "bookshelf", "plant", "fireplace", "bed", "door", "staircase", "painting")


def _viewpoint_id(scan: str, r: int, c: int) -> str:
    return hashlib.md5(f"{scan}:{r}:{c}".encode()).hexdigest()


def _turn(prev: float, new: float) -> str:
    delta = (math.degrees(new - prev) + 180.0) % 360.0 - 180.0
    if delta > 45:
        return "turn right"
    if delta < -45:
        return "turn left"
    return "go straight"


def _side(position: np.ndarray, heading: float, landmark: np.ndarray) -> str:
    """'left' / 'right' of a landmark relative to a walker at `position` facing `heading`."""
    right = np.array([math.cos(heading), -math.sin(heading)])
    return "right" if float((landmark[:2] - position[:2]) @ right) > 0 else "left"


def _face_image(rng_colour: tuple[int, int, int], has_landmark: bool) -> bytes:
    image = Image.new("RGB", (FACE_SIZE, FACE_SIZE), rng_colour)
    if has_landmark:
        ImageDraw.Draw(image).rectangle([20, 24, 44, 56], fill=(30, 30, 30))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def write_rxr_fixture(root: str | Path, *, scans: int = 1, walks_per_scan: int = 3, seed: int = 0,
                      split: str = "val_seen") -> list[str]:
    """Write scans, connectivity, skybox faces and `rxr_<split>_guide.jsonl` under root; returns scene ids."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    lines, scene_ids = [], []
    instruction_id = 0
    for s in range(scans):
        scan = f"synthscan{s:02d}"
        cells = [(r, c) for r in range(GRID) for c in range(GRID)]
        pos = {cell: np.array([cell[1] * SPACING_M, cell[0] * SPACING_M, CAMERA_HEIGHT_M]) for cell in cells}
        vid = {cell: _viewpoint_id(scan, *cell) for cell in cells}
        # landmarks sit half a spacing off a viewpoint, beside the corridor
        marks = {}
        for k, cell in enumerate(rng.choice(len(cells), size=min(len(LANDMARKS), len(cells)), replace=False)):
            ox, oy = rng.choice([-1.0, 1.0], size=2) * SPACING_M / 2
            base = pos[cells[int(cell)]]
            marks[LANDMARKS[k]] = np.array([base[0] + ox, base[1] + oy, 0.5])
        nodes = []
        for cell in cells:
            pose = np.eye(4)
            pose[:3, 3] = pos[cell]
            nbrs = {(cell[0] + dr, cell[1] + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))}
            nodes.append({"image_id": vid[cell], "pose": [round(float(v), 6) for v in pose.ravel()], "included": True,
                          "unobstructed": [other in nbrs for other in cells], "height": CAMERA_HEIGHT_M})
        atomic_write_text(root / "connectivity" / f"{scan}_connectivity.json", json.dumps(nodes))
        for cell in cells:
            for face in range(6):
                h = (face - 1) * math.pi / 2
                direction = np.array([math.sin(h), math.cos(h)])
                seen = 1 <= face <= 4 and any(
                    float((m[:2] - pos[cell][:2]) @ direction) > 0.5
                    and abs(float((m[:2] - pos[cell][:2]) @ np.array([direction[1], -direction[0]]))) < float((m[:2] - pos[cell][:2]) @ direction)
                    for m in marks.values())
                colour = (40 + 40 * cell[0], 40 + 40 * cell[1], 40 + 35 * face)
                atomic_write_bytes(root / scan / SKYBOX / f"{vid[cell]}_skybox{face}_sami.jpg", _face_image(colour, seen))
        for _ in range(walks_per_scan):
            walk = [cells[int(rng.integers(len(cells)))]]
            for _ in range(int(rng.integers(4, 8))):
                r, c = walk[-1]
                options = [(r + dr, c + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
                           if 0 <= r + dr < GRID and 0 <= c + dc < GRID and (len(walk) < 2 or (r + dr, c + dc) != walk[-2])]
                walk.append(options[int(rng.integers(len(options)))])
            sentences = []
            heading = heading_between(pos[walk[0]], pos[walk[1]])
            for i in range(1, len(walk)):
                new = heading_between(pos[walk[i - 1]], pos[walk[i]])
                action = "go straight" if i == 1 else _turn(heading, new)
                heading = new
                near = min(marks, key=lambda name: float(np.linalg.norm(marks[name][:2] - pos[walk[i]][:2])))
                close = float(np.linalg.norm(marks[near][:2] - pos[walk[i]][:2])) < SPACING_M
                text = action.capitalize() + " and " + MOVES[int(rng.integers(len(MOVES)))]
                if close:
                    text += PASSING[int(rng.integers(len(PASSING)))].format(near, _side(pos[walk[i]], heading, marks[near]))
                sentences.append(text + ".")
            sentences.append("Stop there.")
            record = {"instruction_id": instruction_id, "path_id": instruction_id, "split": split, "scan": scan,
                      "heading": round(heading_between(pos[walk[0]], pos[walk[1]]), 6), "path": [vid[c] for c in walk],
                      "instruction": " ".join(sentences), "language": "en-US", "annotator_id": 0, "edit_distance": 0.0}
            lines.append(json.dumps(record))
            scene_ids.append(f"{scan}_{instruction_id}")
            instruction_id += 1
    atomic_write_text(root / f"rxr_{split}_guide.jsonl", "\n".join(lines) + "\n")
    return scene_ids

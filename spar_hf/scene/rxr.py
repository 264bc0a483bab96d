"""Reader for RxR-style guide annotations over Matterport3D-style panoramas (source `rxr`).

Folder layout (mirrors the public RxR / Matterport3D Simulator downloads):
```
<root>/
  rxr_<split>_guide.jsonl[.gz]      guide records, one JSON object per line
  connectivity/<scan>_connectivity.json   [{"image_id", "pose": 16 floats (4x4 row-major, camera-to-world),
                                            "included", "unobstructed", "height"}, ...]
  <scan>/matterport_skybox_images/<viewpoint>_skybox<k>_sami.jpg   k: 0 up, 1-4 horizontal, 5 down
```
A guide record carries `instruction_id`, `path_id`, `scan`, `path` (viewpoint ids in walking
order), `heading` (start heading, radians), `instruction`, `language` (plus fields we ignore:
`annotator_id`, `split`, `edit_distance`, `timed_instruction`, ...).

One guide record is one scene (its frames are the route's frames, its id
`<scan>_<instruction_id>`), because each route has its own frame sequence while the layout keeps
one clip per scene. `list_scenes` therefore returns *virtual* paths `<root>/<scan>/<scene id>`
that `read_scene` resolves; they are not folders.

Headings follow the Matterport3D Simulator: 0 = +y, increasing clockwise seen from above (90
degrees = +x), z up. Skybox face k (1-4) is taken to look along heading (k - 1) * 90 degrees with a
90-degree field of view. Each route step shows the face closest to the direction of travel
(toward the next viewpoint; the last step keeps the previous direction).
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.geometry import look_at
from spar_hf.scene.model import Frame, Scene

REQUIRED_FIELDS = ("instruction_id", "path_id", "scan", "path", "heading", "instruction", "language")
ENGLISH = ("en", "en-US", "en-IN")
SKYBOX = "matterport_skybox_images"


@dataclass
class NavScene(Scene):
    """A route: Scene frames are its steps (index = step), plus the guide record's text."""

    instruction: str = ""
    instruction_id: str = ""
    path_id: str = ""
    language: str = ""
    path: list[str] = field(default_factory=list)
    clip: list[int] = field(default_factory=list)  # frame indices in walking order


def guide_files(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_file() and p.name.endswith(("_guide.jsonl", "_guide.jsonl.gz")))


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")


@lru_cache(maxsize=8)
def _guide_index(path: Path, mtime: float) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    """(scan, instruction_id) -> (line, record) for one guide file; malformed lines raise SparError."""
    index: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SparError(f"{path}:{number}: not JSON ({exc.msg})") from None
            missing = [k for k in REQUIRED_FIELDS if k not in rec]
            if missing:
                raise SparError(f"{path}:{number}: guide record lacks {', '.join(missing)}")
            index[(str(rec["scan"]), str(rec["instruction_id"]))] = (number, rec)
    return index


def _index(path: Path) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    return _guide_index(path, path.stat().st_mtime)


def scene_name(scan: str, instruction_id: Any) -> str:
    return f"{scan}_{instruction_id}"


def list_scenes(root: str | Path) -> list[Path]:
    """Virtual scene paths `<root>/<scan>/<scan>_<instruction_id>` of every guide record, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise SparError(f"{root}: RxR root is not a folder")
    files = guide_files(root)
    if not files:
        raise SparError(f"{root}: no *_guide.jsonl[.gz] file")
    names = {(scan, scene_name(scan, iid)) for f in files for scan, iid in _index(f)}
    return sorted(root / scan / name for scan, name in names)


def heading_between(a: np.ndarray, b: np.ndarray) -> float:
    """Matterport heading (radians, 0 = +y, clockwise from above) of the move a -> b."""
    d = np.asarray(b, float) - np.asarray(a, float)
    return math.atan2(d[0], d[1]) % (2 * math.pi)


def face_for_heading(heading: float) -> int:
    """Horizontal skybox face (1-4) closest to a heading."""
    return 1 + int(round(heading / (math.pi / 2))) % 4


def face_pose(position: np.ndarray, face: int) -> np.ndarray:
    h = (face - 1) * math.pi / 2
    position = np.asarray(position, float)
    return look_at(position, position + np.array([math.sin(h), math.cos(h), 0.0]))


def read_connectivity(path: Path) -> dict[str, np.ndarray]:
    """Viewpoint id -> position (3,) of the included viewpoints."""
    if not path.is_file():
        raise SparError(f"{path}: required file missing")
    try:
        nodes = json.loads(path.read_text(encoding="utf-8"))
        out = {}
        for node in nodes:
            if node.get("included", True):
                pose = np.asarray(node["pose"], float).reshape(4, 4)
                out[str(node["image_id"])] = pose[:3, 3]
        return out
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SparError(f"{path}: bad connectivity file ({exc})") from None


def _find_record(root: Path, scan: str, name: str) -> tuple[Path, int, dict[str, Any]]:
    for f in guide_files(root):
        for (s, iid), (line, rec) in _index(f).items():
            if s == scan and scene_name(s, iid) == name:
                return f, line, rec
    raise SparError(f"{root}: no guide record for scene {name}")


def read_scene(path: str | Path) -> NavScene:
    """One guide record (virtual path `<root>/<scan>/<scan>_<instruction_id>`) as a NavScene."""

    path = Path(path)
    scan, root = path.parent.name, path.parent.parent
    gfile, line, rec = _find_record(root, scan, path.name)
    where = f"{gfile}:{line}"
    if str(rec["language"]) not in ENGLISH:
        raise SparError(f"{where}: language {rec['language']!r} not supported (action-word masking is English only)")
    route = [str(v) for v in rec["path"]]
    if len(route) < 2:
        raise SparError(f"{where}: path has fewer than 2 viewpoints")
    positions = read_connectivity(root / "connectivity" / f"{scan}_connectivity.json")
    unknown = [v for v in route if v not in positions]
    if unknown:
        raise SparError(f"{where}: viewpoint(s) {', '.join(unknown)} not in the {scan} connectivity graph")
    frames = []
    heading = float(rec["heading"])
    for step, vp in enumerate(route):
        if step + 1 < len(route):
            heading = heading_between(positions[vp], positions[route[step + 1]])
        face = face_for_heading(heading)
        image = path.parent / SKYBOX / f"{vp}_skybox{face}_sami.jpg"
        if not image.is_file():
            raise SparError(f"{image}: required file missing ({where})")
        with Image.open(image) as im:
            width, height = im.size
        K = np.array([[width / 2.0, 0.0, width / 2.0], [0.0, height / 2.0, height / 2.0], [0.0, 0.0, 1.0]])
        frames.append(Frame(step, str(image), None, 1000.0, face_pose(positions[vp], face), K, width, height))
    return NavScene(
        id=path.name, source="rxr", vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), dtype=np.int64), frames=frames,
        objects=[], instruction=str(rec["instruction"]), instruction_id=str(rec["instruction_id"]),
        path_id=str(rec["path_id"]), language=str(rec["language"]), path=route, clip=[f.index for f in frames],
    )

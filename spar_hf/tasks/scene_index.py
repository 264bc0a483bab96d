"""One scene's records indexed for the samplers: per-view visible objects, marker points, pairwise
overlaps; built once per scene and shared by every task (`scene_index`).
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

import numpy as np

from spar_hf.geometry import boxes_overlap_3d, normalize_xy
from spar_hf.records import ImageRecord, SceneRecords
from spar_hf.tasks.taskdef import Cam
from spar_hf.tasks.values import label_text


class SceneIndex:
    """Per-scene lookups shared by all tasks of one scene (built once, cached by identity)."""

    def __init__(self, records: SceneRecords):
        # no reference back to `records`: the module cache holds only a weak one, so a finished
        # scene's records (and this index, at the next lookup) can be freed
        self.images: list[ImageRecord] = list(records.images)
        self.objects = records.objects
        scene = records.scene
        self.scene_id = str(getattr(scene, "id", None) or (self.images[0].scene_id if self.images else ""))
        self.source = str(getattr(scene, "source", "") or "")
        up = np.asarray(getattr(scene, "up", (0.0, 0.0, 1.0)), dtype=float)
        self.up = up / np.linalg.norm(up)
        self.cams = [Cam(np.asarray(im.pose, float), np.asarray(im.intrinsics, float)[:3, :3], int(im.width), int(im.height)) for im in self.images]
        self.visible: list[list[int]] = [sorted(k for k in im.visible if k in self.objects) for im in self.images]
        self.seen_in: dict[int, list[int]] = {}
        for i, ids in enumerate(self.visible):
            for oid in ids:
                self.seen_in.setdefault(oid, []).append(i)
        self._overlap: dict[tuple[int, int], bool] = {}
        self._neighbours: dict[int, list[int]] = {}
        self._meta: dict[int, dict] = {}
        self._norm: dict[tuple[int, int, str], list[int]] = {}
        self._pools: dict[Any, list[int]] = {}
        self.cache: dict[str, Any] = {}  # per-scene precomputations of task families (e.g. valid image pairs)

    def images_with(self, n: int) -> list[int]:
        """Images with at least n visible objects."""
        got = self._pools.get(n)
        if got is None:
            got = self._pools[n] = [i for i, ids in enumerate(self.visible) if len(ids) >= n]
        return got

    def covisible_images(self) -> list[int]:
        """Images with at least one co-visible partner image."""
        got = self._pools.get("covisible")
        if got is None:
            got = self._pools["covisible"] = [i for i in range(len(self.images)) if self.visible[i] and self.neighbours(i)]
        return got

    def overlap3d(self, a: int, b: int) -> bool:
        key = (a, b) if a < b else (b, a)
        hit = self._overlap.get(key)
        if hit is None:
            oa, ob = self.objects[a], self.objects[b]
            hit = boxes_overlap_3d(oa.center, oa.extents, oa.rotation, ob.center, ob.extents, ob.rotation)
            self._overlap[key] = hit
        return hit

    def any_overlap3d(self, ids: list[int]) -> bool:
        return any(self.overlap3d(a, b) for a, b in itertools.combinations(ids, 2))

    def neighbours(self, i: int) -> list[int]:
        """Other images sharing at least one visible object with image i (co-visible)."""
        got = self._neighbours.get(i)
        if got is None:
            mine = set(self.visible[i])
            got = [j for j, ids in enumerate(self.visible) if j != i and mine.intersection(ids)]
            self._neighbours[i] = got
        return got

    def object_meta(self, oid: int) -> dict:
        got = self._meta.get(oid)
        if got is None:
            o = self.objects[oid]
            got = {
                "id": int(oid),
                "label": label_text(o.label),
                "center": [float(v) for v in np.asarray(o.center, float)],
                "extents": [float(v) for v in np.asarray(o.extents, float)],
                "rotation": [[float(v) for v in row] for row in np.asarray(o.rotation, float)],
            }
            self._meta[oid] = got
        return got

    def point(self, view: int, oid: int) -> list[int]:
        """The object's marker point in image `view`, 0..1000."""
        return self._normalised(view, oid, "point")

    def box(self, view: int, oid: int) -> list[int]:
        """The object's 2D box in image `view`, 0..1000."""
        return self._normalised(view, oid, "bbox")

    def _normalised(self, view: int, oid: int, kind: str) -> list[int]:
        key = (view, oid, kind)
        got = self._norm.get(key)
        if got is None:
            im = self.images[view]
            got = self._norm[key] = [int(v) for v in normalize_xy(getattr(im.visible[oid], kind), im.width, im.height)]
        return list(got)

    def box_px(self, view: int, oid: int) -> np.ndarray:
        return np.asarray(self.images[view].visible[oid].bbox, float)


_INDEX: dict[int, tuple[weakref.ref, SceneIndex]] = {}


def scene_index(records: SceneRecords) -> SceneIndex:
    """The SceneIndex of `records`, reused across the tasks of one scene."""
    key = id(records)
    hit = _INDEX.get(key)
    if hit is not None and hit[0]() is records:
        return hit[1]
    for k in [k for k, (ref, _) in _INDEX.items() if ref() is None]:
        del _INDEX[k]
    index = SceneIndex(records)
    _INDEX[key] = (weakref.ref(records), index)
    return index


def clear_index() -> None:
    """Forget every cached index (a timing run measures building them too)."""
    _INDEX.clear()

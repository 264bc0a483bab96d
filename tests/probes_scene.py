"""A hand-made scene for the probe tests: given objects, seen whole by four cameras round a room."""

from __future__ import annotations

import numpy as np

from spar_hf.geometry import look_at
from spar_hf.records import ImageRecord, ObjectRecord, SceneRecords, VisibleObject
from spar_hf.scene.model import Object3D, Scene

K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
EYES = [(2.5, -2.0, 1.4), (0.5, -1.0, 1.4), (4.0, -1.0, 1.4), (2.5, 0.0, 2.0)]
TARGET = np.array([3.0, 2.5, 0.8])


def four_view_records(objects: list[Object3D]) -> SceneRecords:
    """Scene "g0" (no mesh) with `objects`, each visible in every one of the four 640x480 views."""
    images = []
    for n, eye in enumerate(EYES):
        pose = look_at(np.array(eye), TARGET)
        vis = {o.id: VisibleObject(o.id, o.label, np.array([100.0, 100, 300, 300]), np.array([200.0, 200]), np.zeros(3), 0.9,
                                   40000.0 + n) for o in objects}
        images.append(ImageRecord("g0", n, "", None, pose, K, 640, 480, vis))
    recs = {o.id: ObjectRecord(o.id, o.label, o.center, o.extents, o.rotation) for o in objects}
    return SceneRecords(Scene("g0", "synthetic", np.zeros((0, 3)), np.zeros((0, 3), int), [], objects), images, recs)

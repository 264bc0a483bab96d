"""Batch samples with different view counts and image sizes into padded tensors plus masks."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

TEXT_FIELDS = ("id", "task", "question", "answer")


def _rgb(image: Any) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return array[:, :, :3]


def collate(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Padded batch of regrouped samples.

    - `images`: uint8 [B, V, 3, H, W], V / H / W the batch maxima, padding zero (bottom/right);
    - `view_mask`: bool [B, V], True for real views; `image_sizes`: int64 [B, V, 2] (h, w), 0 for padding;
    - with depth: `depth` uint16 [B, V, H, W] (zero padding), `pose` float32 [B, V, 4, 4],
      `K` float32 [B, V, 3, 3] (identity padding so inverses stay defined);
    - `json` (list of dicts), `id` / `task` / `question` / `answer` lists, `__key__` / `__url__` lists.
    """
    import torch

    b = len(samples)
    arrays = [[_rgb(img) for img in s["images"]] for s in samples]
    v = max(len(a) for a in arrays)
    h = max(x.shape[0] for a in arrays for x in a)
    w = max(x.shape[1] for a in arrays for x in a)
    images = np.zeros((b, v, h, w, 3), dtype=np.uint8)
    mask = np.zeros((b, v), dtype=bool)
    sizes = np.zeros((b, v, 2), dtype=np.int64)
    for i, views in enumerate(arrays):
        for j, x in enumerate(views):
            images[i, j, : x.shape[0], : x.shape[1]] = x
            mask[i, j] = True
            sizes[i, j] = x.shape[:2]
    batch: dict[str, Any] = {
        "images": torch.from_numpy(images).permute(0, 1, 4, 2, 3),
        "view_mask": torch.from_numpy(mask),
        "image_sizes": torch.from_numpy(sizes),
        "json": [s["json"] for s in samples],
        "__key__": [s["__key__"] for s in samples],
        "__url__": [s["__url__"] for s in samples],
    }
    for field in TEXT_FIELDS:
        batch[field] = [s["json"].get(field) for s in samples]
    if all("depth" in s for s in samples):
        dh = max(d.shape[0] for s in samples for d in s["depth"])
        dw = max(d.shape[1] for s in samples for d in s["depth"])
        depth = np.zeros((b, v, dh, dw), dtype=np.uint16)
        pose = np.tile(np.eye(4, dtype=np.float32), (b, v, 1, 1))
        K = np.tile(np.eye(3, dtype=np.float32), (b, v, 1, 1))
        for i, s in enumerate(samples):
            for j, d in enumerate(s["depth"]):
                depth[i, j, : d.shape[0], : d.shape[1]] = d
                pose[i, j] = s["pose"][j]
                K[i, j] = s["K"][j]
        batch.update(depth=torch.from_numpy(depth), pose=torch.from_numpy(pose), K=torch.from_numpy(K))
    return batch

"""Registry of scene sources: name -> (lister, reader). Readers are imported lazily."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from spar_hf.errors import SparError
from spar_hf.scene.model import Scene

# source name -> "module:function" for reading one scene folder, and for listing scene folders under a root
_READERS: dict[str, str] = {
    "synthetic": "spar_hf.scene.scannet:read_scene",
    "scannet": "spar_hf.scene.scannet:read_scene",
    "scannetpp": "spar_hf.scene.scannetpp:read_scene",
    "structured3d": "spar_hf.scene.structured3d:read_scene",
    "rxr": "spar_hf.scene.rxr:read_scene",
}
_LISTERS: dict[str, str] = {
    "synthetic": "spar_hf.scene.scannet:list_scenes",
    "scannet": "spar_hf.scene.scannet:list_scenes",
    "scannetpp": "spar_hf.scene.scannetpp:list_scenes",
    "structured3d": "spar_hf.scene.structured3d:list_scenes",
    "rxr": "spar_hf.scene.rxr:list_scenes",
}


def _resolve(spec: str) -> Callable:
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def source_names() -> list[str]:
    return sorted(_READERS)


def list_scenes(source: str, root: str | Path) -> list[Path]:
    """Scene folders under `root`, sorted by name."""
    if source not in _LISTERS:
        raise SparError(f"unknown source {source!r}; choose one of {', '.join(source_names())}")
    return _resolve(_LISTERS[source])(Path(root))


def read_scene(source: str, scene_dir: str | Path) -> Scene:
    """Read one scene folder of the given source into the common model, with `source` set."""
    if source not in _READERS:
        raise SparError(f"unknown source {source!r}; choose one of {', '.join(source_names())}")
    scene = _resolve(_READERS[source])(Path(scene_dir))
    scene.source = source
    return scene

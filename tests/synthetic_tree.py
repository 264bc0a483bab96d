"""Shared helpers for the end-to-end tests: write small synthetic scenes, read an output tree as bytes."""

from __future__ import annotations

from pathlib import Path


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` (relative path -> bytes), for byte-for-byte comparison of two runs."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write_synthetic_scenes(root: Path, n_scenes: int, n_frames: int) -> Path:
    """Write `n_scenes` synthetic scenes (seed 0) of `n_frames` frames each under `root`."""
    from spar_hf.scene.synthetic import generate_scene, scene_name, write_scene

    for i in range(n_scenes):
        write_scene(generate_scene(scene_name(i), 0, n_frames), root)
    return root

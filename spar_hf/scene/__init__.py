"""Scene sources: each reader turns a dataset's own layout into the common Scene model."""

from spar_hf.scene.model import Frame, Object3D, Scene

__all__ = ["Frame", "Object3D", "Scene"]

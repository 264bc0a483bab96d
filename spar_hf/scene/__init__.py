"""Scenes: each source's own files -> the common `Scene` model (frames, poses, intrinsics, mesh, objects).

- `model`: `Scene`, `Frame`, `Object3D`, the common model every stage after this one reads
- `sources`: the table of sources (`list_scenes`, `read_scene` by name)
- `scannet`, `scannetpp`, `structured3d`, `rxr`: readers of each dataset's export layout
- `synthetic`, `rxr_synth`: procedural rooms and routes written in those layouts (`spar-hf synth`, the demo, tests)
- `render`: `RayCaster`, one embree cast per frame for depth and face ids where a source has no depth

The model types are imported here; readers (trimesh, Pillow) load with the source that needs them.
"""

from spar_hf.scene.model import Frame, Object3D, Scene

__all__ = ["Frame", "Object3D", "Scene", "model", "sources", "scannet", "scannetpp", "structured3d", "rxr",
           "synthetic", "rxr_synth", "render"]

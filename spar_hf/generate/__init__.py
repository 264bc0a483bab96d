"""Generate: 3D scenes -> SPAR-7M QA in the layout (`spar-hf generate`), and its audit (`spar-hf verify`).

One scene goes through, in order:
- `keyframes`: the frames kept by camera motion (per-source thresholds)
- `visibility`: which objects each kept frame shows, and where (depth maps, or ray casts of the mesh)
- `video`: the scene's one clip, for the video tasks
- the task generators (`spar_hf.tasks`), each seeded with `spar_hf.utils.rng.scene_rng`
- the layout writer (`spar_hf.layout.writer`)

`pipeline` runs that per scene (`process_scene`, here, in a process pool or as Ray tasks) and
assembles the layout once every scene is done (`run_generate`). `verify` re-derives every answer of a
written layout from its provenance.
"""

from spar_hf.generate.pipeline import GenerateReport, SceneJob, process_scene, run_generate
from spar_hf.generate.verify import VerifyReport, verify_layout

__all__ = ["run_generate", "process_scene", "SceneJob", "GenerateReport", "verify_layout", "VerifyReport"]

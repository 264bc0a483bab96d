"""The 33 SPAR task types (and our extensions): one generator per task family, run by `spar_hf.generate`.

- `registry`: the one table of generators (`TaskSpec`); `bench`: the 20 SPAR-Bench tasks (read by build and eval)
- image tasks on a `TaskDef` (`taskdef`): `depth`, `distance`, `distance_infer`, `relation`, `imagination`,
  `volume`, `matching`, `camera`, sharing `scene_index`, `sampling`, `values`, `render` and `generic`
  (the generic generator and verifier, which both call a task's `derive`)
- video, BEV, grounding and navigation tasks on `_videoqa`: `appearance`, `counting`, `frame_locate`,
  `room_size`, `video_distance`, `video_imagination`, `map_bev`, `grounding`, `nav`
- `templates`: question and answer phrasings

Nothing is imported here: `tasks.bench` is read by the eval commands and the Space, which need none of
the generators.
"""

__all__ = ["registry", "bench", "templates", "taskdef", "scene_index", "sampling", "values", "render", "generic"]

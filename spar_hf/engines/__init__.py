"""Engines: where independent units of work (a scene, a pack, a shard) run.

- `units`: `run_units` runs one function over a list of jobs here, in a spawn process pool
  (`--workers N`) or as Ray tasks (`--engine ray`), results by job index
- `ray_engine`: the Ray session (reuse, connect, start) and one task per unit, retries on lost workers

Every unit writes its own files under deterministic names and the caller assembles them, so the output
is byte-identical whatever the engine or worker count. Ray is imported only when a run asks for it.
"""

from spar_hf.engines.units import ENGINES, run_units

__all__ = ["run_units", "ENGINES", "units", "ray_engine"]

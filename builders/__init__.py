"""Build: a SPAR-7M layout -> a Hugging Face dataset folder (`spar-hf build`), and its push (`spar-hf push`).

Installed as `spar_hf.builders` (the repository's top-level `builders/` folder, mapped in setup.py).
- `spar`: the configs (`SparConfig`), their features and rows, as pure functions
- `plan`: one pass over a split's QA lines, grouped by scene and cut into packs
- `qa`: one pack of the `7m` family or `spatialforge` (the unit of parallel work)
- `sampling` and `bench`: which val records become SPAR-Bench rows, and a bench config written as one pack
- `bench_rgbd`: the hub's SPAR-Bench-RGBD camera columns
- `run`: the build (families, resume state, rejects), `result`: what one built config produced, `card`: the README
- `push`: what of a built folder goes to a dataset repo, and in which commits

A pack's on-disk format is `spar_hf.packs` (shared with the shards and the Space, which read packs).
Nothing is imported here: `datasets` costs about a second, and `spar_hf.builders.sampling` alone must stay cheap.
"""

__all__ = ["spar", "plan", "qa", "sampling", "bench", "bench_rgbd", "run", "result", "card", "push"]

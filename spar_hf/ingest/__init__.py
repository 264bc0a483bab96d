"""Ingest: SpatialForge-style open-world annotations (boxes in 0..1000) -> the SPAR layout (`spar-hf ingest`).

- `readers`: JSON arrays, JSONL and Parquet streamed in constant memory
- `mapping`: where a record keeps its image, conversation, task, boxes and count (configurable)
- `tasks`: SpatialForge's six tasks, their aliases and QA formats
- `validate`: boxes and counts checked; a failure is a coded reject
- `images`: finding the images in the user's copies of Objects365, OpenImages, Pixmo or a folder
- `spatialforge`: the ingestion itself (`ingest`), every record in the output or in rejects with a reason

Nothing is imported here: the hot path may be Cython-compiled (`spar_hf.utils.compiled`), which the
guard installed by `import spar_hf` must see before any of these modules loads.
"""

__all__ = ["readers", "mapping", "tasks", "validate", "images", "spatialforge"]

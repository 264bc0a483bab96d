"""The SPAR-7M layout: the folder format the release ships and `spar-hf generate` / `ingest` write.

- `paths`: file names and formats (`<scene>/image_color/<n>.jpg`, depth PNGs in millimetres, poses, intrinsics)
- `writer`: a scene at a time into part files, then `assemble` into `qa_jsonl/<split>/<task>/`
- `reader`: ours or the official download, every record checked, problems reported by file and line
- `split`: train/val by scene, so no scene feeds both splits

Everything downstream (build, verify, export) reads a layout only through `reader` (`SparLayout`). Nothing is
imported here: the task generators read `paths` and need neither the reader nor the writer.
"""

__all__ = ["paths", "writer", "reader", "split"]

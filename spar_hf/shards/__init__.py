"""Shards: an HF build -> WebDataset tar shards for training (`spar-hf shard`).

- `source`: one config/split of a build read as rows whose images are references, one pack at a time
- `chunks`: rows of one scene grouped into samples that hold each image once
- `writer`: planning and writing shards (size and row caps, rejects, `--resume`), in parallel units
- `index`: the JSON index written last, with each shard's samples, rows, bytes and sha256

`spar_hf.train` reads what this writes.
"""

__all__ = ["source", "chunks", "writer", "index"]

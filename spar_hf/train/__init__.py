"""Streaming PyTorch loading of spar-hf WebDataset shards (`make_loader`), multi-node and multi-worker.

- `tarstream`: tar shards -> samples (webdataset's sample shape, less work per member)
- `decode`: one pass per sample: JSON, RGB views, uint16 depth, matrices; markers drawn on request
- `rows`: a chunk's images decoded once and expanded into its QA rows
- `pool`: the shuffle stage, a pool of open chunks handing out rows in random order
- `collate`: packed batches (one flat tensor of views plus offsets) or padded `[B, V, 3, H, W]`
- `buffers`: batch memory reused across batches
- `resume`: the position (epoch, shards done, rows used) for restartable training
- `loader`: the pipeline composed (rank x worker partitions, epochs, resume)

Nothing is imported here: torch is the optional `train` extra.
"""

__all__ = ["loader", "tarstream", "decode", "rows", "pool", "collate", "buffers", "resume"]

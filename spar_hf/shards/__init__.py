"""HF build -> WebDataset tar shards: `writer` (samples, rotation, resume) and `index` (the JSON written last)."""

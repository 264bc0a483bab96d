"""Streaming PyTorch loading of spar-hf WebDataset shards: `loader` (SparShards, SparLoader, make_loader),
`decode` (uint16 depth, view regrouping, markers), `collate` (padding + view mask), `resume` (position).

Nothing is imported here so that `import spar_hf.train.resume` does not pull in torch."""

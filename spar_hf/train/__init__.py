"""Streaming PyTorch loading of spar-hf WebDataset shards: `loader` (SparShards, SparLoader, make_loader),
`tarstream` (tar shards -> samples),
`decode` (one-pass decode into view lists, uint16 depth, markers), `collate` (padding + view mask; stored views
decoded straight into the batch), `buffers` (batch memory: reused in the main process, and in workers once the main
process lets a batch go), `resume` (position).

Nothing is imported here so that `import spar_hf.train.resume` does not pull in torch."""

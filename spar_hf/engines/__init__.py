"""Execution engines that fan the per-scene / per-config / per-shard work of a command out to a cluster."""

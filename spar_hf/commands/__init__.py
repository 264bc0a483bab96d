"""One module per `spar-hf` subcommand; each defines `register(subparsers)` and the `run` it binds.

The CLI imports every command module to build its parser, so a command module imports at its top only
the standard library and spar-hf's light shared modules (errors, utils); the stage it runs (datasets,
torch, trimesh, ...) is imported inside `run`, so `spar-hf --help` starts in a fraction of a second.
"""

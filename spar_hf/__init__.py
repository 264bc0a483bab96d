"""spar-hf: SPAR spatial-reasoning data, generated, built, sharded, evaluated and shown."""

__version__ = "0.1.0"

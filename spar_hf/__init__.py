"""spar-hf: SPAR spatial-reasoning data, generated, built, sharded, evaluated and shown."""

from spar_hf._compiled import install_guard

__version__ = "0.1.0"

install_guard()

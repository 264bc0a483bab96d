"""spar-hf: SPAR spatial-reasoning data, generated, built, sharded, evaluated and shown."""

from spar_hf.utils import arrow_exit
from spar_hf.utils.compiled import install_guard

__version__ = "0.1.0"

install_guard()
arrow_exit.install()  # a script that streamed with datasets exits cleanly (spar_hf/utils/arrow_exit.py says why)

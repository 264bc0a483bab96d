"""Hugging Face Space entry point: the SPAR browser and evaluator (spar_hf.space, docs/space.md).

The dataset is $SPAR_DATASET: a hub dataset id (our `spar-hf push` output, or the official
jasonzhango/SPAR-Bench, the default) or a local folder from `spar-hf build` / `spar-hf demo`.
`spar_hf` is imported from a copy beside this file (the Space repo) or from the checkout this
file lives in (spaces/spar-browser/ of spar-hf), whichever is present.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for root in (HERE, HERE.parent.parent):
    if (root / "spar_hf" / "__init__.py").is_file():
        sys.path.insert(0, str(root))
        break

from spar_hf.space.ui import launch  # noqa: E402

DEFAULT_DATASET = "jasonzhango/SPAR-Bench"

if __name__ == "__main__":
    on_space = bool(os.environ.get("SPACE_ID"))
    launch(os.environ.get("SPAR_DATASET", DEFAULT_DATASET), host="0.0.0.0" if on_space else "127.0.0.1",
           port=int(os.environ.get("PORT", "7860")))

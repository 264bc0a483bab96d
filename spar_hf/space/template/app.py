"""Hugging Face Space entry point: the SPAR browser and evaluator (docs/space.md of spar-hf).

`spar-hf space --bundle DIR` writes this file beside a copy of the `spar_hf` modules it imports
(a Space installs only requirements.txt, and spar-hf is not on PyPI) and `spar_bundle.json`.
The dataset shown is the first of: the SPAR_DATASET variable (Space settings -> Variables reach
the app as environment variables), the `dataset` of spar_bundle.json (`--bundle DIR --dataset
OWNER/NAME`), the official jasonzhango/SPAR-Bench.
"""

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if (HERE / "spar_hf" / "__init__.py").is_file():
    sys.path.insert(0, str(HERE))  # the bundled copy, also when started from another folder

import spar_hf  # noqa: E402
from spar_hf.space.ui import launch  # noqa: E402

DEFAULT_DATASET = "jasonzhango/SPAR-Bench"
BUNDLE_FILE = "spar_bundle.json"


def choose_dataset() -> tuple[str, str]:
    """(dataset, where it came from): the Space variable, else the bundle's preset, else the default."""
    if os.environ.get("SPAR_DATASET"):
        return os.environ["SPAR_DATASET"], "SPAR_DATASET"
    bundle = HERE / BUNDLE_FILE
    if bundle.is_file():
        preset = json.loads(bundle.read_text(encoding="utf-8")).get("dataset")
        if preset:
            return preset, BUNDLE_FILE
    return DEFAULT_DATASET, "default"


if __name__ == "__main__":
    dataset, origin = choose_dataset()
    print(f"spar_hf {spar_hf.__version__} from {Path(spar_hf.__file__).parent}; dataset {dataset} (from {origin})", flush=True)
    on_space = bool(os.environ.get("SPACE_ID"))
    launch(dataset, host="0.0.0.0" if on_space else "127.0.0.1", port=int(os.environ.get("PORT", "7860")))

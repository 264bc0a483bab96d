"""Shared test set-up: everything offline, no GPU, a fresh datasets cache per test session.

datasets keys the cache of a local folder by its base name and card, not its contents, so a
stale cache from an earlier run could otherwise answer for a rebuilt folder.
"""

import os
import sys
import tempfile
from pathlib import Path

# tests/ on the path: the helpers are the `fixtures` package (tests import with --import-mode=importlib,
# so test files in different folders may share a base name)
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="spar-hf-test-datasets-cache-")

"""Dataset card templates (Jinja, read with importlib.resources); installed as `spar_hf.cards`."""

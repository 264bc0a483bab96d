"""Export: a layout's train split as the fine-tuning formats of common VLM trainers, and a bench config as
the inputs of the evaluation toolkits (`spar-hf export FORMAT`).

- `common`: reading train records, `<image>` tags, the format and source mix
- `llava`, `qwen`, `internvl`: one module per training format
- `boxes`: box notations found in QA text and converted between model conventions
- `lmms_eval`: a bench config as an lmms-eval task folder; `vlmevalkit`: as VLMEvalKit's SparBench TSV

Nothing is imported here: each format is loaded by the command that asks for it.
"""

__all__ = ["common", "llava", "qwen", "internvl", "boxes", "lmms_eval", "vlmevalkit"]

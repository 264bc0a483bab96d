"""Evaluate: run a model on a SPAR-Bench dataset and score its predictions (`spar-hf predict`, `eval`, `prompts`,
`baseline`), exactly as the published scorers do, plus a strict protocol (docs/eval.md).

- `bench_data`: reading a bench dataset (ours or the hub's) without its images unless asked
- `prompts`, `chat`, `endpoint`, `predict`: the text a model is shown, one chat request, the client, the run
- `predictions`: the one parser of predictions files (the CLI and the Space give the same verdict)
- `extract`, `scores`, `protocols`: reading an answer out of free text, per-question scores, the three protocols
- `evaluate`, `aggregate`, `reference`, `report`: per-task scores, Table 4 columns, the paper's rows, reports
- `baselines`: the paper's chance-level rows

The task list is `spar_hf.tasks.bench`. Importing the package gives the scoring entry points below; the
model-running modules (`openai`) are imported only by `predict`.
"""

from spar_hf.eval.aggregate import aggregate
from spar_hf.eval.evaluate import EvalResult, evaluate
from spar_hf.eval.protocols import PROTOCOLS, score_question
from spar_hf.eval.reference import find_row, load_reference

__all__ = ["aggregate", "evaluate", "EvalResult", "PROTOCOLS", "score_question", "load_reference", "find_row"]

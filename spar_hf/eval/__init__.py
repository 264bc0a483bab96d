"""SPAR-Bench evaluation: prompts, answer extraction, per-question scores under three protocols,
Table 4 aggregation, the paper's reference rows, and reports (docs/eval.md)."""

from spar_hf.eval.aggregate import aggregate
from spar_hf.eval.evaluate import EvalResult, evaluate
from spar_hf.eval.protocols import PROTOCOLS, score_question
from spar_hf.eval.reference import find_row, load_reference

__all__ = ["aggregate", "evaluate", "EvalResult", "PROTOCOLS", "score_question", "load_reference", "find_row"]

"""SPAR-Bench evaluation: prompts, answer extraction, per-question scores under three protocols,
Table 4 aggregation, the paper's reference rows, and reports (docs/eval.md)."""

from spar_hf.eval.aggregate import aggregate
from spar_hf.eval.protocols import PROTOCOLS, score_question

__all__ = ["aggregate", "PROTOCOLS", "score_question"]

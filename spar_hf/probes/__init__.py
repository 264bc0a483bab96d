"""Probes beyond SPAR-Bench QA: BEV position error (paper 4.4) and 3D grounding as text (paper 3.5).

- `bev`: average position error of predicted ground-frame coordinates (`spar-hf probe bev`)
- `grounding`: parse a grounding answer, recover its 3D box and score it by 3D IoU

The generators of the matching tasks (`spar_hf.tasks.map_bev`, `spar_hf.tasks.grounding`) share their
answer formats with these scorers.
"""

__all__ = ["bev", "grounding"]

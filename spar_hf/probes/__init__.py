"""Probes beyond SPAR-Bench QA: BEV position error (paper 4.4) and 3D grounding as text (paper 3.5)."""

"""Figures and tables of runs: plotting helpers and the lineage figures that need a model."""

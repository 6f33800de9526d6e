"""Experiments built on the simulator (the seed thesis's, first)."""

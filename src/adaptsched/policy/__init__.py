"""Cluster policies: pure functions of a snapshot of jobs and nodes (no torch, no ray)."""

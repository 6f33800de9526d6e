"""adaptsched: adaptive, metric-driven scheduling for distributed deep-learning training."""

__version__ = "0.1.0"

"""Trace-driven simulator that runs the same policy objects as the runtime."""

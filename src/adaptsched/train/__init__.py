"""Job side (PyTorch): adaptive data loader, data-parallel wrapper, profiler, checkpoints."""

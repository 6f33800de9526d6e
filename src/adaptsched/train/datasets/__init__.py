"""Reusable pieces of example jobs: models and data sets (no torchvision)."""

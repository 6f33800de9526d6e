"""Where the reference traces live: ``$ADAPTSCHED_TRACES``, else ``../shared/pollux-traces``
relative to the working directory (the repository root)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "ADAPTSCHED_TRACES"
DEFAULT_ROOT = Path("..") / "shared" / "pollux-traces"


def traces_root() -> Path:
    return Path(os.environ.get(ENV_VAR, str(DEFAULT_ROOT)))


def profiles_dir(path: Path | str | None = None) -> Path:
    """The folder holding one sub-folder per application: ``path`` itself, or its ``traces``
    sub-folder when ``path`` is a reference-data root."""
    root = Path(path) if path is not None else traces_root()
    return root / "traces" if (root / "traces").is_dir() else root


def workload_files(path: Path | str) -> list[Path]:
    """One workload CSV, or every ``*.csv`` of a folder in name order."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise FileNotFoundError(f"{path}: no workload *.csv files")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"{path}: workload file not found")
    return [path]

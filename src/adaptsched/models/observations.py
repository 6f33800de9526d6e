"""Observed step times of a job: the input of throughput-model fitting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adaptsched.models.errors import ModelInputError, as_finite_array, check_non_negative


@dataclass(frozen=True)
class StepObservations:
    """One row per measured configuration (arrays of equal length).

    ``step_time`` is seconds per optimizer step without accumulation (T_opt); ``sync_time``,
    where measured, is the part of it spent synchronising gradients, so that
    ``step_time - sync_time`` estimates the compute time T_grad.
    """

    nodes: np.ndarray
    replicas: np.ndarray
    local_bsz: np.ndarray
    step_time: np.ndarray
    sync_time: np.ndarray | None = None

    def __post_init__(self) -> None:
        fields = {
            "nodes": as_finite_array("nodes", self.nodes, positive=True),
            "replicas": as_finite_array("replicas", self.replicas, positive=True),
            "local_bsz": as_finite_array("local_bsz", self.local_bsz, positive=True),
            "step_time": as_finite_array("step_time", self.step_time, positive=True),
        }
        if self.sync_time is not None:
            fields["sync_time"] = check_non_negative("sync_time", self.sync_time)
        lengths = {name: arr.reshape(-1).size for name, arr in fields.items()}
        if len(set(lengths.values())) != 1:
            raise ModelInputError(f"observations: arrays differ in length: {lengths}")
        if lengths["step_time"] == 0:
            raise ModelInputError("step_time: empty, at least one observation is needed")
        for name in ("nodes", "replicas"):
            if np.any(fields[name] != np.round(fields[name])):
                raise ModelInputError(f"{name}: must be whole numbers")
        if np.any(fields["nodes"] > fields["replicas"]):
            raise ModelInputError("nodes: cannot exceed replicas")
        if "sync_time" in fields and np.any(fields["sync_time"] >= fields["step_time"]):
            raise ModelInputError("sync_time: must be below step_time")
        for name, arr in fields.items():
            object.__setattr__(self, name, arr.reshape(-1))

    def __len__(self) -> int:
        return int(self.step_time.size)

    @property
    def compute_time(self) -> np.ndarray:
        """Estimated T_grad per row: step time less measured sync time (step time if none)."""
        if self.sync_time is None:
            return self.step_time
        return self.step_time - self.sync_time

"""The BATCH column of ``adaptsched jobs``: every factor of the total batch is shown."""

from __future__ import annotations

from adaptsched.cli.remote import batch_text


def test_batch_shows_local_replicas_and_accumulation() -> None:
    one = {"batch": {"local_bsz": 128, "replicas": 1, "accum_steps": 0, "total": 128}}
    two = {"batch": {"local_bsz": 128, "replicas": 2, "accum_steps": 0, "total": 256}}
    accum = {"batch": {"local_bsz": 128, "replicas": 1, "accum_steps": 1, "total": 256}}
    assert batch_text(one) == "128x1 = 128"
    assert batch_text(two) == "128x2 = 256"
    assert batch_text(accum) == "128x1x2 = 256"  # (two replicas read "128x1 = 256" before)
    assert batch_text({"batch": None}) == "-"

"""`adaptsched demo-sim` without its simulated part: the fit and the
per-metric batch tables."""

import pytest

from adaptsched.cli.main import main


def test_demo_prints_fit_and_batch_tables(capsys: pytest.CaptureFixture) -> None:
    assert main(["demo-sim", "--no-sim"]) == 0
    out = capsys.readouterr().out
    assert "fitted: ThroughputParams(" in out
    assert "metric goodput: best batch per allocation" in out
    assert "metric speed-thesis: best batch per allocation" in out

"""Running the `adaptsched` command in-process, bounded in time, and the contract its outcome
must meet: exit 0 with output, or exit 2 with one line ``adaptsched CMD: error: ...``."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from types import FrameType

import pytest
from hypothesis import currently_in_test_context, event

from adaptsched.cli.main import main


class CommandTimeoutError(Exception):
    """The command ran past its time limit (a hang, as far as a test can tell)."""


def run_cli(
    argv: Sequence[str], capsys: pytest.CaptureFixture, timeout_s: float = 30.0
) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``adaptsched ARGV``; raises CommandTimeoutError after
    ``timeout_s``. An exception other than SystemExit escapes: that is a traceback."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise CommandTimeoutError(f"adaptsched {' '.join(argv)}: still running after {timeout_s} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        try:
            status = main(list(argv))
        except SystemExit as exc:  # argparse: --help (0) or a refused argument (2)
            status = exc.code if isinstance(exc.code, int) else 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_clean_outcome(command: str, status: int, out: str, err: str) -> None:
    """Exit 0 with output, or exit 2 with exactly one line naming the command."""
    if currently_in_test_context():
        event(f"{command}: exit {status}")  # statistics: how often each outcome was drawn
    assert "Traceback" not in err
    if status == 0:
        assert out.strip(), "exit 0 without output"
        return
    assert status == 2, f"exit {status}: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert lines[0].startswith(("adaptsched: error: ", f"adaptsched {command}: error: ")), lines[0]


def refusal(argv: Sequence[str], capsys: pytest.CaptureFixture) -> str:
    """The one error line of ``adaptsched ARGV``, which must be refused (exit 2)."""
    status, out, err = run_cli(argv, capsys)
    assert_clean_outcome(argv[0], status, out, err)
    assert status == 2, f"accepted: {' '.join(argv)}"
    return err.strip()

"""Keep what native libraries print off a command's standard output.

HiGHS, the solver behind ``scipy.optimize.milp`` that ``pollux-milp`` calls every round,
writes some messages straight to file descriptor 1 whatever its display option (seen here
in a long benchmark run: ``HighsMipSolverData::transformNewIntegerFeasibleSolution
tmpSolver.run();``, the message of HiGHS issue 2783). A command that prints one JSON object
must keep its standard output to that object, so its work runs with descriptor 1 pointing at
standard error (worker processes forked meanwhile inherit that), and only the report is
printed to the real standard output afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator


def _flush_c_stdio() -> None:
    """Flush the C library's buffered streams, so that text a native library printed leaves
    through the descriptor it was printed to."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Inside the block, anything written to descriptor 1 (Python's ``print`` included) goes
    to standard error; the real standard output is back after it."""
    sys.stdout.flush()
    _flush_c_stdio()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)


def quiet_if(enabled: bool) -> contextlib.AbstractContextManager[None]:
    """``stdout_to_stderr()`` when ``enabled`` (a ``--json`` run), else nothing."""
    return stdout_to_stderr() if enabled else contextlib.nullcontext()

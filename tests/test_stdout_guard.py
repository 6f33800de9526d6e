"""A ``--json`` command's stdout holds its report only, even when a native library prints."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import ctypes, json, os, subprocess, sys
from adaptsched.stdout_guard import quiet_if, stdout_to_stderr

libc = ctypes.CDLL(None)
with stdout_to_stderr():
    libc.printf(b"native stdio line\\n")  # through the C library
    os.write(1, b"native raw line\\n")
    print("python line")
    subprocess.run([sys.executable, "-c", "print('child line')"], check=True)
with quiet_if(False):  # a text run: its output stays where it was
    print("text line", flush=True)
print(json.dumps({"report": 1}))
"""


def test_native_and_child_output_go_to_stderr_and_the_report_to_stdout() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout == 'text line\n{"report": 1}\n'
    for line in ("native stdio line", "native raw line", "python line", "child line"):
        assert line in out.stderr

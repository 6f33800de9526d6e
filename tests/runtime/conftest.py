"""The runtime tests' shared controller (``runtime_helpers.Runtime``), started once for the
folder and stopped with `adaptsched down` so that no process is left behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from runtime_helpers import Runtime


@pytest.fixture(scope="package")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = Runtime(tmp_path_factory.mktemp("runtime"))
    rt.up()
    try:
        yield rt
    finally:
        rt.down()

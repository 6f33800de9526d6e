"""The pure layers never load torch or ray (DESIGN.md: imports point down only)."""

import subprocess
import sys

import pytest


def test_models_and_policy_do_not_import_torch_or_ray() -> None:
    code = (
        "import sys, adaptsched.models, adaptsched.policy;"
        "bad = [m for m in ('torch', 'ray') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_control_imports_neither_torch_ray_nor_the_simulator() -> None:
    code = (
        "import sys, adaptsched.control;"
        "bad = [m for m in ('torch', 'ray', 'adaptsched.sim', 'adaptsched.train') "
        "if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "modules",
    [
        # The policies load their modules lazily through the registry: each one checked.
        "adaptsched.policy.pollux",
        "adaptsched.policy.milp",
        # Jobs' hints are read by processes that never train.
        "adaptsched.models.hints",
        # `adaptsched dashboard DIR` reads files: it must start on a machine with neither.
        "adaptsched.dashboard.sim_app, adaptsched.cli.dashboard",
    ],
)
def test_loads_neither_torch_nor_ray(modules: str) -> None:
    code = (
        f"import sys, {modules};"
        "bad = [m for m in ('torch', 'ray') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""The pure layers never load torch or ray (DESIGN.md: imports point down only)."""

import subprocess
import sys


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


def test_hints_are_readable_without_torch() -> None:
    code = "import sys, adaptsched.models.hints; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_simulation_dashboard_loads_neither_torch_nor_ray() -> None:
    """`adaptsched dashboard DIR` reads files: it must start on a machine with neither."""
    code = (
        "import sys, adaptsched.dashboard.sim_app, adaptsched.cli.dashboard;"
        "bad = [m for m in ('torch', 'ray') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

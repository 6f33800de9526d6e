import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def toy_truth(tmp_path: Path):
    """The hidden truth of the synthetic application ``toy`` (synthetic.write_profile)."""
    from synthetic import write_profile

    from adaptsched.sim.runner import load_truths

    return load_truths(write_profile(tmp_path / "traces").parent)["toy"]

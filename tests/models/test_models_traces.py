"""The fit benchmark's core on the Pollux paper's measured profiles (skipped when absent).

Set ADAPTSCHED_TRACES to the traces folder; the default is ../shared/pollux-traces next to
the repository."""

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRACES = Path(os.environ.get("ADAPTSCHED_TRACES", REPO.parent / "shared" / "pollux-traces"))
pytestmark = pytest.mark.skipif(
    not (TRACES / "traces").is_dir(), reason=f"Pollux traces not found at {TRACES}"
)

#: What the adaptsched fitter achieves on these files (docs/models.md); the brief's in-sample
#: target of 5 % is not met, see test_in_sample_target_of_five_percent.
IN_SAMPLE_BOUND_PCT = 10.0
EXTRAPOLATION_BOUND_PCT = 25.0


def _benchmark():
    spec = importlib.util.spec_from_file_location("model_fit", REPO / "benchmarks" / "model_fit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def results() -> dict:
    return _benchmark().run(TRACES)


def test_every_app_is_evaluated(results: dict) -> None:
    assert set(results["apps"]) == {"bert", "cifar10", "deepspeech2", "imagenet", "ncf", "yolov3"}


def test_adaptsched_in_sample_error_is_bounded_and_beats_pollux(results: dict) -> None:
    for app, fits in results["apps"].items():
        ours = fits["adaptsched"]["in_sample_mape_pct"]
        assert ours <= IN_SAMPLE_BOUND_PCT, app
        assert ours < fits["pollux"]["in_sample_mape_pct"], app


def test_adaptsched_extrapolates_within_target_and_better_than_pollux(results: dict) -> None:
    for app, fits in results["apps"].items():
        ours = fits["adaptsched"]["extrapolation_mape_pct"]
        assert ours <= EXTRAPOLATION_BOUND_PCT, app
        assert ours < fits["pollux"]["extrapolation_mape_pct"], app


def test_ncf_stays_above_five_percent_even_for_a_model_that_knows_each_placement() -> None:
    """Why the 5 % target is out of reach on ncf: a free compute time per local batch, a free
    sync time per placement and one overlap exponent (127 free values) still miss it, and
    the rows' own noise is close to 5 %."""
    bench = _benchmark()
    prof = bench.load_profile(TRACES / "traces" / "ncf")
    assert bench.separable_floor_pct(prof, by_placement=True) > 5.0
    assert 4.0 < bench.row_noise_pct(prof) < 5.5


@pytest.mark.xfail(
    strict=True,
    reason="unmet: even a model with a free compute time per local batch and a free sync time "
    "per placement stays above 5 % on ncf, whose rows are ~4.6 % noise (model_fit.py --floor)",
)
def test_in_sample_target_of_five_percent(results: dict) -> None:
    assert all(f["adaptsched"]["in_sample_mape_pct"] <= 5.0 for f in results["apps"].values())

"""benchmarks/metrics_autoscale.py: per-application figures add the workloads up before
taking means, so an application's mean JCT is over its jobs, not over workloads; design
variants given on the command line are their base metric with the named fields changed."""

from __future__ import annotations

import dataclasses

import pytest
from benchmark_module import load_benchmark

from adaptsched.models.metrics import GOODPUT, get_metric
from adaptsched.sim.results import JobResult


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("metrics_autoscale")


def _job(app: str, jct: float, restarts: int, gpu_hours: float) -> JobResult:
    return JobResult(app + str(jct), app, 0.0, jct, jct, gpu_hours, restarts)


def _summary(jcts: list[float]) -> dict[str, float]:
    return {"mean_jct_s": sum(jcts) / len(jcts), "node_hours": 1.0, "restarts_per_job": 0.0}


def test_by_application_means_over_jobs_of_all_workloads(bench) -> None:
    first = [_job("bert", 100.0, 2, 1.0), _job("ncf", 10.0, 0, 0.1)]
    second = [_job("bert", 400.0, 4, 3.0), _job("bert", 700.0, 6, 5.0)]
    outcomes = [
        ("goodput", "w1", _summary([100.0, 10.0]), tuple(first)),
        ("goodput", "w2", _summary([400.0, 700.0]), tuple(second)),
        ("speed", "w1", _summary([50.0]), (_job("ncf", 50.0, 1, 2.0),)),
    ]
    report = bench.summarise(outcomes, ["goodput", "speed"])
    bert = report["arms"]["goodput"]["by_application"]["bert"]
    # (100 + 400 + 700) / 3 jobs, not the mean of the workloads' means (100 and 550)
    assert bert == {
        "jobs": 3,
        "mean_jct_s": pytest.approx(400.0),
        "restarts_per_job": pytest.approx(4.0),
        "gpu_hours_per_job": pytest.approx(3.0),
    }
    assert report["arms"]["goodput"]["by_application"]["ncf"]["jobs"] == 1
    assert list(report["arms"]["speed"]["by_application"]) == ["ncf"]
    assert report["arms"]["speed"]["by_application"]["ncf"]["mean_jct_s"] == pytest.approx(50.0)


def test_a_variant_is_its_base_metric_with_the_fields_given(bench) -> None:
    speed = get_metric("speed")
    full = bench.parse_variant("speed-full=speed,utility_band=0/0,min_move_cost=0.1")
    assert full.name == "speed-full" and type(full) is type(speed)
    assert full.utility_band == (0.0, 0.0) and full.min_move_cost == 0.1
    assert full.share_exponent == speed.share_exponent  # the rest is the base's
    priced = bench.parse_variant("c2=cost:0.74,share_exponent=2")
    assert priced.gpu_price == 0.74 and priced.share_exponent == 2.0
    assert bench.parse_variant("plain=goodput") == dataclasses.replace(GOODPUT, name="plain")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("speed", "expected NAME=BASE"),
        ("x=", "expected NAME=BASE"),
        ("x=fastest", "unknown metric 'fastest'"),
        ("x=speed,share=2", "'share=2' is not FIELD=VALUE"),
        ("x=speed,gpu_price=cheap", "gpu_price 'cheap' is not a number"),
        ("x=speed,utility_band=0.5", "utility_band '0.5' is not two numbers LOW/HIGH"),
        ("x=speed,share_exponent=0.5", "share_exponent must lie in [1, 100]"),
    ],
)
def test_a_malformed_variant_is_one_line_naming_it(bench, spec: str, words: str) -> None:
    with pytest.raises(ValueError) as err:
        bench.parse_variant(spec)
    message = str(err.value)
    assert words in message and spec in message and "\n" not in message

"""Pollux's genetic policy: feasibility on random clusters, determinism, and the behaviour the
paper's objective implies (scale out while it pays, fair splits, sticky allocations)."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CHATTY, EXTENDED, MODELS, SCALABLE, assert_feasible, cluster, job, snapshots
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adaptsched.models import (
    GOODPUT,
    BatchLimits,
    JobModel,
    ModelInputError,
    get_metric,
    speedup_table,
)
from adaptsched.policy.base import ClusterSnapshot, JobInfo, NodeInfo
from adaptsched.policy.genetic import STATE_DTYPE, AllocationProblem, node_major
from adaptsched.policy.genetic_ops import repair
from adaptsched.policy.pollux import PolluxPolicy, restart_factor
from adaptsched.policy.pollux_state import state_to_placements
from adaptsched.policy.speedup_cache import fast_speedup_table


def decide(jobs: list[JobInfo], nodes: tuple[NodeInfo, ...], **kw: int) -> dict[str, tuple]:
    snap = ClusterSnapshot(time_s=0.0, nodes=nodes, jobs=tuple(jobs))
    return dict(PolluxPolicy(**kw).decide(snap).allocations)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snap=snapshots(), later=snapshots(), seed=st.integers(0, 3))
def test_decisions_are_always_feasible(
    snap: ClusterSnapshot, later: ClusterSnapshot, seed: int
) -> None:
    policy = PolluxPolicy(seed=seed, population=16, generations=8)
    first = policy.decide(snap)
    assert_feasible(snap, dict(first.allocations))
    assert np.isfinite(first.info["utility"]) and first.info["utility"] >= 0
    # Later rounds start from the carried-over population, remapped onto other jobs and nodes.
    assert_feasible(snap, dict(policy.decide(snap).allocations))
    assert_feasible(later, dict(policy.decide(later).allocations))


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    jobs=st.integers(1, 8),
    nodes=st.integers(1, 5),
)
def test_repair_makes_any_matrix_feasible(data: st.DataObject, jobs: int, nodes: int) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    capacity = rng.integers(1, 9, size=nodes)
    min_r = rng.integers(0, 4, size=jobs)
    problem = AllocationProblem(
        capacity=capacity,
        min_replicas=min_r,
        max_replicas=np.maximum(rng.integers(1, 12, size=jobs), min_r),
        max_nodes=rng.integers(1, nodes + 1, size=jobs),
        base=np.zeros((jobs, nodes), dtype=np.int64),
        base_valid=np.ones(jobs, dtype=bool),
        restart_factor=np.ones(jobs),
        speedups=np.zeros((jobs, nodes + 1, int(capacity.sum()) + 1)),
    )
    states = node_major(rng.integers(0, 10, size=(30, jobs, nodes)))
    repair(problem, states, rng)
    assert states.dtype == STATE_DTYPE and states.min() >= 0
    assert np.all(states.sum(axis=1) <= capacity.reshape(-1, 1))
    replicas, width = states.sum(axis=0), (states > 0).sum(axis=0)
    assert np.all(replicas <= problem.max_replicas.reshape(-1, 1))
    assert np.all(width <= problem.max_nodes.reshape(-1, 1))
    assert np.all((replicas == 0) | (replicas >= min_r.reshape(-1, 1)))
    distributed = (states > 0) & (width > 1)
    assert np.all(distributed.sum(axis=1) <= 1)


def test_same_seed_same_decisions() -> None:
    nodes = cluster(4)
    jobs = [job(f"j{i}", MODELS[i % 2], attained_gpu_s=float(i)) for i in range(6)]
    snap = ClusterSnapshot(time_s=0.0, nodes=nodes, jobs=tuple(jobs))
    a, b = PolluxPolicy(seed=7), PolluxPolicy(seed=7)
    assert a.decide(snap) == b.decide(snap)
    assert a.decide(snap) == b.decide(snap)  # carried state evolves identically


def test_one_job_scales_out_on_an_idle_cluster() -> None:
    nodes = cluster(4)
    placement = decide([job("a", allocation=("n0",))], nodes)["a"]
    table = speedup_table(SCALABLE, 4, 16)
    assert len(placement) > 4  # beyond one node: the speedup keeps growing there
    chosen = table[len(set(placement)), len(placement)]
    assert chosen >= 0.97 * table.max()


def test_job_that_does_not_scale_stays_small() -> None:
    nodes = cluster(4)
    placement = decide([job("a", CHATTY, allocation=("n0",))], nodes)["a"]
    table = speedup_table(CHATTY, 4, 16)
    assert table[len(set(placement)), len(placement)] >= 0.97 * table.max()
    assert len(set(placement)) == 1  # cross-node sync costs more than it gains


def test_two_identical_jobs_split_fairly() -> None:
    nodes = cluster(2)
    alloc = decide([job("a"), job("b", submit_time_s=1.0)], nodes)
    assert len(alloc["a"]) == len(alloc["b"]) == 4
    assert len(set(alloc["a"])) == len(set(alloc["b"])) == 1


def test_search_improves_on_its_seeds() -> None:
    models = (SCALABLE, CHATTY, EXTENDED, CHATTY, SCALABLE)
    jobs = tuple(job(f"j{i}", m, attained_gpu_s=float(i)) for i, m in enumerate(models))
    snap = ClusterSnapshot(time_s=0.0, nodes=cluster(4), jobs=jobs)
    seeds_only = PolluxPolicy(seed=0, generations=0).decide(snap).info["objective"]
    searched = PolluxPolicy(seed=0).decide(snap)
    assert searched.info["objective"] > 1.05 * seeds_only
    assert_feasible(snap, dict(searched.allocations))


def test_more_jobs_than_gpus_keeps_objective_finite() -> None:
    nodes = cluster(1, gpus=4)
    snap = ClusterSnapshot(
        time_s=0.0,
        nodes=nodes,
        jobs=tuple(job(f"j{i}", attained_gpu_s=float(i)) for i in range(10)),
    )
    decision = PolluxPolicy().decide(snap)
    running = [p for p in decision.allocations.values() if p]
    assert len(running) == 4 and all(len(p) == 1 for p in running)
    assert np.isfinite(decision.info["objective"]) and decision.info["objective"] > 0


def test_restart_penalty_keeps_an_allocation_when_the_gain_is_small() -> None:
    nodes = cluster(1, gpus=4)
    current = ("n0", "n0")
    table = speedup_table(CHATTY, 1, 4)
    gain = table[1, 1:].max() / table[1, 2]
    assert gain > 1.02  # moving would help a little...
    old = job("a", CHATTY, allocation=current, age_s=1e6)
    assert decide([old], nodes)["a"] != current  # ...and an old job does move
    young = job("a", CHATTY, allocation=current, age_s=200.0, restarts=3)
    assert restart_factor(200.0, 3) * gain < 1.0
    assert decide([young], nodes)["a"] == current  # a recently restarted one does not


def test_not_ready_nodes_get_nothing_and_their_jobs_move() -> None:
    nodes = cluster(2, not_ready=(1,))
    alloc = decide([job("a", allocation=("n1", "n1")), job("b", CHATTY)], nodes)
    assert all(n == "n0" for p in alloc.values() for n in p)
    assert alloc["a"]


def test_job_without_model_gets_one_replica() -> None:
    alloc = decide([job("a", model=None)], cluster(2))
    assert len(alloc["a"]) == 1


def test_placement_keeps_unchanged_and_surviving_replicas() -> None:
    jobs = [job("a", allocation=("n1", "n0", "n1")), job("b", allocation=("n1", "n0"))]
    state = np.array([[1, 2, 0], [1, 0, 2]])
    out = state_to_placements(state, jobs, ("n0", "n1", "n2"))
    assert out["a"] == ("n1", "n0", "n1")  # same counts: the exact tuple
    assert out["b"] == ("n0", "n2", "n2")  # n0 replica kept, new ones after it


@pytest.mark.parametrize("model", [SCALABLE, CHATTY, EXTENDED])
@pytest.mark.parametrize("metric", [GOODPUT, get_metric("speed")])
def test_fast_table_equals_the_model_speedup_table(model: JobModel, metric: object) -> None:
    reference = speedup_table(model, 6, 20, metric)  # type: ignore[arg-type]
    fast = fast_speedup_table(model, 6, 20, 4, metric)  # type: ignore[arg-type]
    n, k = np.indices(reference.shape)
    reachable = k <= 4 * n  # n nodes of 4 GPUs never hold more than 4n replicas
    np.testing.assert_array_equal(fast[reachable], reference[reachable])
    assert np.all(fast[~reachable] == 0)


def test_patience_stops_a_converged_search_early() -> None:
    snap = ClusterSnapshot(time_s=0.0, nodes=cluster(2), jobs=(job("a"), job("b")))
    full = PolluxPolicy(seed=1).decide(snap)
    early = PolluxPolicy(seed=1, patience=5).decide(snap)
    assert full.info["generations"] == 100
    assert early.info["generations"] < 100
    assert early.info["objective"] == pytest.approx(full.info["objective"])


@pytest.mark.parametrize("options", [{"population": 1}, {"generations": -1}, {"patience": 0}])
def test_bad_search_options_are_rejected(options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        PolluxPolicy(**options)


def test_a_job_with_an_unusable_model_is_named() -> None:
    # Limits are checked where they are made; here they are corrupted afterwards (as a model
    # decoded by hand might be): the total batch must be exactly 10, the local batch 4.
    limits = BatchLimits(init_batch=10, max_batch=10, min_local=5, max_local=5)
    object.__setattr__(limits, "min_local", 4)
    object.__setattr__(limits, "max_local", 4)
    unusable = JobModel(SCALABLE.params, SCALABLE.grad, limits)
    snap = ClusterSnapshot(time_s=0.0, nodes=cluster(1), jobs=(job("bad-job", unusable),))
    with pytest.raises(ModelInputError, match="bad-job"):
        PolluxPolicy().decide(snap)


def test_restart_factor_formula() -> None:
    assert restart_factor(0.0, 0) == 0.0
    assert restart_factor(90.0, 1) == pytest.approx(60.0 / 120.0)
    assert restart_factor(50.0, 3) == 0.0


def _two_jobs_one_gpu(metric_name: str) -> dict[str, tuple]:
    """Two identical jobs, one GPU. 'long' has had less service (Pollux serves it first);
    'short' has a tenth of its work left."""
    metric = get_metric(metric_name)
    jobs = [
        job("long", metric=metric, attained_gpu_s=0.0, remaining_samples=1e7),
        job("short", metric=metric, attained_gpu_s=500.0, remaining_samples=1e6),
    ]
    return decide(jobs, cluster(1, gpus=1), seed=0, generations=30)


def test_speed_metric_serves_the_job_nearest_completion() -> None:
    assert _two_jobs_one_gpu("speed")["short"] and not _two_jobs_one_gpu("speed")["long"]
    goodput = _two_jobs_one_gpu("goodput")
    assert goodput["long"] and not goodput["short"]  # least attained service wins


def _small_problem(power: float, weights: np.ndarray | None) -> AllocationProblem:
    """Two jobs on one 4-GPU node; speedup = replicas (tables indexed [nodes, replicas])."""
    table = np.zeros((2, 5))
    table[1, 1:] = np.arange(1, 5)
    return AllocationProblem(
        capacity=np.array([4]),
        min_replicas=np.zeros(2, dtype=np.int64),
        max_replicas=np.array([4, 4]),
        max_nodes=np.array([1, 1]),
        base=np.zeros((2, 1), dtype=np.int64),
        base_valid=np.ones(2, dtype=bool),
        restart_factor=np.ones(2),
        speedups=np.stack([table, table]),
        weights=weights,
        power=power,
    )


@pytest.mark.parametrize(
    ("power", "weights", "expected"),
    [
        (-1.0, None, [2.0 / (1 / 3.001 + 1 / 1.001), 2.0 / (2 / 2.001)]),  # Pollux
        (1.0, np.array([3.0, 1.0]), [(3 * 3.001 + 1.001) / 4, (3 * 2.001 + 2.001) / 4]),
        (0.0, None, [np.sqrt(3.001 * 1.001), 2.001]),
    ],
)
def test_fitness_is_the_weighted_power_mean(power, weights, expected) -> None:
    from adaptsched.policy.genetic import Evaluator

    problem = _small_problem(power, weights)
    states = node_major(np.array([[[3], [1]], [[2], [2]]]))  # (3, 1) and (2, 2)
    assert Evaluator(problem)(states) == pytest.approx(expected)


def test_priority_fill_gives_each_job_all_it_may_in_order() -> None:
    from adaptsched.policy.pollux_state import priority_fill_state

    problem = _small_problem(-1.0, None)
    problem = AllocationProblem(**{**problem.__dict__, "max_replicas": np.array([3, 4])})
    assert priority_fill_state(problem).tolist() == [[3], [1]]


def test_speed_orders_by_remaining_time_with_new_jobs_first() -> None:
    from adaptsched.policy.pollux import priority_order

    speed = get_metric("speed")
    jobs = (
        job("long", metric=speed, remaining_samples=1e8, attained_gpu_s=0.0),
        job("short", metric=speed, remaining_samples=1e5, attained_gpu_s=900.0),
        job("new", model=None, metric=speed, remaining_samples=1e6, attained_gpu_s=0.0),
    )
    assert [j.job_id for j in priority_order(jobs, speed)] == ["new", "short", "long"]
    assert [j.job_id for j in priority_order(jobs)] == ["long", "new", "short"]


def test_speed_weights_follow_the_rank_by_remaining_time() -> None:
    """Shortest remaining gets the largest heSRPT share; a job without a model, or whose
    throughput is still the prior's, weighs the geometric mean of the others; a goodput job
    next to them weighs 1."""
    from adaptsched.models.hints import PRIOR_GRAD, PRIOR_PARAMS
    from adaptsched.policy.pollux import allocation_weights

    speed = get_metric("speed")
    prior = JobModel(PRIOR_PARAMS, PRIOR_GRAD, BatchLimits(64, 1024, 32, 128))
    jobs = [
        job("long", metric=speed, remaining_samples=1e8),
        job("new", model=None, metric=speed, remaining_samples=1e6),
        job("unmeasured", model=prior, metric=speed, remaining_samples=1e6),
        job("short", metric=speed, remaining_samples=1e5),
        job("mid", metric=speed, remaining_samples=1e6),
        job("plain", metric=GOODPUT, remaining_samples=1e5),
    ]
    weights = dict(zip([j.job_id for j in jobs], allocation_weights(jobs), strict=True))
    assert weights["short"] > weights["mid"] > weights["long"] > 0
    known = [weights[k] for k in ("long", "mid", "short")]
    assert weights["new"] == pytest.approx(np.exp(np.mean(np.log(known))))
    assert weights["unmeasured"] == weights["new"]  # the prior's speed is no prediction
    assert np.exp(np.mean(np.log([*known, weights["new"]]))) == pytest.approx(1.0)
    assert weights["plain"] == 1.0
    shares = [speed.allocation_weight(r, 3) for r in (1, 2, 3)]
    assert weights["short"] / weights["long"] == pytest.approx(shares[2] / shares[0])
    assert allocation_weights([job("a"), job("b")]) is None  # Pollux: all alike


def test_speed_gives_most_gpus_to_the_shortest_job_and_some_to_every_job() -> None:
    speed = get_metric("speed")
    jobs = [
        job(f"j{i}", metric=speed, remaining_samples=size, attained_gpu_s=0.0)
        for i, size in enumerate((1e8, 1e7, 1e6))
    ]
    alloc = decide(jobs, cluster(4), seed=0, generations=60)
    sizes = [len(alloc[f"j{i}"]) for i in range(3)]
    assert sizes[2] > sizes[0] >= 1, sizes


def test_move_factor_charges_speeds_least_move_cost() -> None:
    from adaptsched.policy.pollux import move_factor

    old = {"age_s": 1e6, "restarts": 0}
    assert move_factor(job("a", **old)) == pytest.approx(restart_factor(1e6, 0))
    assert move_factor(job("b", metric=get_metric("speed"), **old)) == pytest.approx(0.8)
    young = {"age_s": 60.0, "restarts": 1}  # Pollux's own factor is lower than the cap
    assert move_factor(job("c", metric=get_metric("speed"), **young)) == restart_factor(60.0, 1)


@pytest.mark.parametrize("policy", ["pollux", "pollux-milp"])
def test_speed_charges_a_waiting_job_its_start(policy: str) -> None:
    """SRPT with setup times: a waiting job outranks a running one only when it is shorter by
    more than a start costs; otherwise close predictions would swap GPUs on every refit."""
    from adaptsched.policy.objective import priority_order, remaining_if_used, remaining_seconds
    from adaptsched.policy.registry import make_policy

    speed = get_metric("speed")
    running = job("running", metric=speed, remaining_samples=1.0e6, allocation=("n0",))
    waiting = job("waiting", metric=speed, remaining_samples=0.98e6)
    base = remaining_seconds(running)
    gap = base - remaining_seconds(waiting)
    assert gap > 0
    for restart_s, first in ((2 * gap, "running"), (gap / 2, "waiting")):
        snap = ClusterSnapshot(
            time_s=0.0,
            nodes=cluster(1, gpus=1),
            jobs=(running, waiting),
            cluster_metric=speed,
            restart_s=restart_s,
        )
        remaining = remaining_if_used(snap)
        assert remaining == {"running": base, "waiting": pytest.approx(base - gap + restart_s)}
        assert priority_order(snap.jobs, speed, remaining)[0].job_id == first
        allocations = make_policy(policy, seed=0).decide(snap).allocations
        assert allocations[first] == ("n0",), (restart_s, allocations)

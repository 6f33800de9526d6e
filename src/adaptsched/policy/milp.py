"""``pollux-milp``: Pollux's objective, solved as a mixed-integer linear program.

Pollux (Qiao et al., OSDI'21) values an allocation by the weighted power mean of the jobs'
speedups (normalised to a fair share, discounted by the restart factor when a job moves) and
searches replica matrices with a genetic algorithm. Sia (Jayaram Subramanya et al., SOSP'23)
showed that allocation over a cluster scales to thousands of GPUs as an integer program over
a few configurations per job. This policy combines the two: the same snapshot, the same
objective, job limits, restart penalty, fairness power, metric weights, GPU price and
autoscaling as ``pollux``, and an exact search in place of the genetic one. One departure:
every move is charged at least ``LEAST_MOVE_COST`` of the job's value, because the exact
search otherwise restarts old jobs for gains within the models' error. In steps:

1. every job gets a menu of configurations (``policy.milp_options``);
2. HiGHS picks one configuration per job within the cluster's aggregate capacity
   (``policy.milp_solve``);
3. the choices are placed on the nodes, with repair where fragmentation gets in the way and
   free GPUs handed out afterwards (``policy.milp_place``).

It is deterministic (no random search) unless a solve reaches its time limit, and carries no
state between rounds. Formulation and measurements: docs/milp-policy.md.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import numpy as np

from adaptsched.policy.base import ClusterSnapshot, Decision, Policy
from adaptsched.policy.milp_options import Menu, build_menu, replica_limits
from adaptsched.policy.milp_place import place, placed_regret
from adaptsched.policy.milp_solve import (
    MIP_REL_GAP,
    TIME_LIMIT_S,
    Solution,
    program,
    relaxation,
    resolve,
    solve,
)
from adaptsched.policy.objective import (
    AllocationProblem,
    Evaluator,
    node_major,
    priority_order,
    ready_nodes,
    remaining_if_used,
    snapshot_problem,
    valuation,
)
from adaptsched.policy.pollux_state import state_to_placements
from adaptsched.policy.sizing import desired_nodes, placeable_nodes

#: Solves per round at most: the first, and re-solves that forbid what did not fit.
MAX_ATTEMPTS = 3
#: Placement may lose this share of the program's objective before a re-solve is tried.
RESOLVE_LOSS = 5e-3
#: Every change of a job's allocation costs the program at least this share of the job's
#: value. Pollux's restart factor fades to almost nothing for an old job, so an exact search
#: takes grows whose modelled gain is a few percent, within the error of the fitted models,
#: and pays a real restart for each; the genetic search rarely finds them (docs/milp-policy.md:
#: 0.05 cuts restarts per job from 4.24 to 4.10 and mean JCT by 0.4 % on the Pollux workloads).
LEAST_MOVE_COST = 0.05


class MilpPolicy(Policy):
    """Pollux's objective by integer programming (HiGHS), Sia-style configuration menus."""

    name: ClassVar[str] = "pollux-milp"

    def __init__(
        self,
        *,
        time_limit_s: float = TIME_LIMIT_S,
        mip_rel_gap: float = MIP_REL_GAP,
        max_attempts: int = MAX_ATTEMPTS,
        least_move_cost: float = LEAST_MOVE_COST,
    ) -> None:
        if (
            not time_limit_s > 0
            or not 0 <= mip_rel_gap < 1
            or max_attempts < 1
            or not 0 <= least_move_cost < 1
        ):
            raise ValueError(
                "pollux-milp: time_limit_s must be > 0, mip_rel_gap in [0, 1), max_attempts >= 1,"
                " least_move_cost in [0, 1)"
            )
        self._time_limit_s = time_limit_s
        self._gap = mip_rel_gap
        self._max_attempts = max_attempts
        self._least_move_cost = least_move_cost

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        remaining = remaining_if_used(snapshot)
        jobs = priority_order(snapshot.jobs, snapshot.cluster_metric, remaining)
        desired = desired_nodes(snapshot, jobs) if snapshot.autoscale and jobs else None
        nodes = placeable_nodes(snapshot, desired)
        if not jobs or not nodes:
            return Decision(
                allocations={j.job_id: () for j in jobs},
                desired_nodes=desired,
                info={"utility": 0.0},
            )
        problem, raw = valuation(snapshot, jobs, nodes, remaining)
        charged = dataclasses.replace(
            problem,
            restart_factor=np.minimum(problem.restart_factor, 1.0 - self._least_move_cost),
        )
        menu = build_menu(charged)
        started = time.perf_counter()
        state, solution, attempts = self._search(charged, menu, replica_limits(charged))
        solve_ms = (time.perf_counter() - started) * 1e3
        node_ids = tuple(n.node_id for n in nodes)
        replicas = state.sum(axis=1)
        spans = np.count_nonzero(state, axis=1)
        speedup = raw[np.arange(len(jobs)), spans, replicas]
        objective = float(Evaluator(problem)(node_major(state[None]))[0])
        return Decision(
            allocations=state_to_placements(state, jobs, node_ids),
            desired_nodes=desired,
            info={
                "utility": float(speedup.sum() / problem.capacity.sum()),
                "objective": objective,
                "program_objective": menu.objective(solution.regret),
                "lp_objective": menu.objective(solution.lp_regret),
                "solve_ms": solve_ms,
                "optimal": float(solution.optimal),
                "attempts": float(attempts),
            },
        )

    def _search(
        self, problem: AllocationProblem, menu: Menu, limits: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, Solution, int]:
        """Solve and place; while jobs end up worse off than chosen because their
        configurations found no room among the kept placements, and that costs more than
        ``RESOLVE_LOSS`` of the objective, forbid those configurations and choose again for
        those jobs and the jobs that move anyway, the kept jobs' choices fixed (at most
        ``max_attempts`` solves). The best placement wins."""
        allowed = np.ones(len(menu.job), dtype=bool)
        prog = program(menu, int(problem.capacity.sum()), problem.num_nodes)
        limit = {"time_limit_s": self._time_limit_s, "mip_rel_gap": self._gap}
        solution = solve(menu, prog, **limit)
        best: tuple[float, np.ndarray, Solution] | None = None
        attempts = 1
        while True:
            state = place(problem, menu, solution.columns, *limits)
            regret = placed_regret(problem, menu, state)
            total = float(regret.sum())
            if best is None or total < best[0] - 1e-12:
                best = (total, state, solution)
            short = regret > menu.regret[solution.columns] + 1e-9
            lost = 1.0 - menu.objective(total) / max(menu.objective(solution.regret), 1e-300)
            if attempts >= self._max_attempts or not short.any() or lost < RESOLVE_LOSS:
                return best[1], best[2], attempts
            allowed[solution.columns[short]] = False
            allowed[menu.none] = True
            free = short | ~menu.keep[solution.columns]
            solution = resolve(menu, prog, solution, np.flatnonzero(free), allowed, **limit)
            attempts += 1


def objective_bound(snapshot: ClusterSnapshot) -> float:
    """An upper bound on Pollux's objective of any decision on ``snapshot`` (over its ready
    nodes): the LP relaxation of the program with each replica count at its best node count
    and only the constraints every allocation meets. Benchmarks compare searches with it."""
    if not snapshot.jobs or not ready_nodes(snapshot):
        return 0.0
    _, problem = snapshot_problem(snapshot)
    menu = build_menu(problem, bound=True)
    prog = program(menu, int(problem.capacity.sum()), problem.num_nodes, strict=True)
    x = relaxation(menu, prog)
    if x is None:
        raise RuntimeError("objective bound: HiGHS found no solution of the relaxation")
    return menu.objective(float(menu.regret @ x))

"""The integer program of ``policy.milp``, solved by HiGHS through ``scipy.optimize.milp``.

Variables: one binary per (job, configuration), and one count per node pattern
(``policy.milp_packing``). Each job takes exactly one configuration of its menu (its empty one
included), and the chosen configurations fit the cluster:

- their GPUs add up to at most the cluster's GPUs, and the nodes of multi-node
  configurations to at most the node count (Pollux lets no node host two multi-node jobs);
- every part they put on a node has a slot in some pattern, and no node size is given more
  patterns than it has nodes (node-by-node capacity, fragmentation included).

The program minimises the summed regret (``policy.milp_options``), i.e. it maximises
Pollux's objective under these constraints. Placement (``policy.milp_place``) then puts the
choices on the nodes and repairs what kept placements leave no room for.

HiGHS because it ships with scipy (no new dependency), is open source, and solves these
programs fast: they are multiple-choice knapsacks with a few side constraints, whose LP
relaxation leaves at most as many jobs fractional as there are side constraints. The solve
runs the LP relaxation over every column, then a small integer program over the fractional
jobs' columns and the pattern counts only. The relaxation skips HiGHS's presolve, which on
these programs takes longer than the solve itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, hstack, vstack

from adaptsched.policy.milp_options import Menu

#: Relative gap on the summed regret at which HiGHS may stop (the integer step).
MIP_REL_GAP = 1e-4
#: Wall-clock limit of the integer step; the best configuration found by then is used.
TIME_LIMIT_S = 1.0
#: x within this of 0 or 1 counts as integral.
INTEGRAL_TOL = 1e-6


@dataclass(frozen=True)
class Solution:
    """The chosen column of every job, and the program's value (summed regret)."""

    columns: np.ndarray  # (J,)
    regret: float
    optimal: bool  # proven: the relaxation was integral
    lp_regret: float  # the relaxation's value, a lower bound on the chosen regret


@dataclass(frozen=True)
class Program:
    """Resource rows over the configuration columns, and the pattern columns beside them."""

    usage: csr_array  # (R, C) what each configuration uses of each row
    supply: csr_array  # (R, P) what each pattern adds to each row (subtracted)
    capacity: np.ndarray  # (R,) right-hand sides
    class_rows: csr_array  # (classes, P) patterns per node size
    class_nodes: np.ndarray  # (classes,)
    pattern_upper: np.ndarray  # (P,) at most the nodes of its size


def program(menu: Menu, gpus: int, nodes: int, *, strict: bool = False) -> Program:
    """The constraints of the module docstring. ``strict`` keeps only the GPU and
    multi-node totals, which every allocation meets whatever its parts, for a bound that
    holds for any search."""
    multi = np.where(menu.nodes > 1, menu.nodes, 0)
    usage = np.stack([menu.gpus, multi]).astype(float)
    capacity = np.array([gpus, nodes], dtype=float)
    patterns = None if strict else menu.patterns
    if patterns is None:
        empty = csr_array((0, 0))
        return Program(
            csr_array(usage), csr_array((2, 0)), capacity, empty, np.zeros(0), np.zeros(0)
        )
    slots = patterns.slots
    return Program(
        usage=csr_array(np.concatenate([usage, menu.parts.T])),
        supply=csr_array(np.concatenate([np.zeros((2, len(slots))), slots.T])),
        capacity=np.concatenate([capacity, np.zeros(patterns.types)]),
        class_rows=csr_array(
            (
                np.ones(len(slots)),
                (patterns.size_class, np.arange(len(slots))),
            ),
            shape=(len(patterns.class_nodes), len(slots)),
        ),
        class_nodes=patterns.class_nodes,
        pattern_upper=patterns.class_nodes[patterns.size_class],
    )


def _solve(
    menu: Menu,
    prog: Program,
    columns: np.ndarray,
    capacity: np.ndarray,
    integral: bool,
    options: dict | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """x over ``columns`` and the pattern counts, or (None, None); ``allowed`` (one flag per
    menu column) bounds the others at 0."""
    jobs, owner = np.unique(menu.job[columns], return_inverse=True)
    count, patterns = len(columns), prog.supply.shape[1]
    choose = csr_array(
        (np.ones(count), (owner, np.arange(count))), shape=(len(jobs), count + patterns)
    )
    resource = hstack([prog.usage[:, columns], -prog.supply])
    classes = hstack([csr_array((prog.class_rows.shape[0], count)), prog.class_rows])
    matrix = vstack([choose, resource, classes]).tocsr()
    lower = np.concatenate(
        [np.ones(len(jobs)), np.full(len(capacity) + len(prog.class_nodes), -np.inf)]
    )
    upper = np.concatenate([np.ones(len(jobs)), capacity, prog.class_nodes])
    upper_x = np.ones(count) if allowed is None else allowed[columns].astype(float)
    result = milp(
        np.concatenate([menu.regret[columns], np.zeros(patterns)]),
        integrality=np.full(count + patterns, 1 if integral else 0),
        bounds=Bounds(0, np.concatenate([upper_x, prog.pattern_upper])),
        constraints=LinearConstraint(matrix, lower, upper),
        options=options or {},
    )
    if result.x is None:
        return None, None
    return result.x[:count], result.x[count:]


def relaxation(menu: Menu, prog: Program, allowed: np.ndarray | None = None) -> np.ndarray | None:
    """The LP relaxation's optimal x (one entry per column), or None if HiGHS found none."""
    columns = np.arange(len(menu.job))
    x, _ = _solve(menu, prog, columns, prog.capacity, False, {"presolve": False}, allowed)
    if x is None:
        x, _ = _solve(menu, prog, columns, prog.capacity, integral=False, allowed=allowed)
    return x


def solve(
    menu: Menu,
    prog: Program,
    *,
    time_limit_s: float = TIME_LIMIT_S,
    mip_rel_gap: float = MIP_REL_GAP,
    allowed: np.ndarray | None = None,
) -> Solution:
    """One configuration per job, in two steps: the LP relaxation (whose basic optimum leaves
    at most as many jobs fractional as there are resource rows), then a small integer program
    for just those jobs and the pattern counts, within what the others leave. The result is
    the integer optimum whenever the relaxation is integral in the jobs and the pattern
    counts it needs exist, and otherwise differs from the relaxation's value only by what the
    fractional jobs' rounding costs. ``allowed``: one flag per column; the others are never
    chosen (each job's empty column must stay allowed). ``prog``: ``program(menu, ...)``."""
    x = relaxation(menu, prog, allowed)
    if x is None:  # HiGHS failed: nothing chosen, placement fills greedily
        return Solution(menu.none.copy(), float(menu.regret[menu.none].sum()), False, np.nan)
    columns = menu.none.copy()
    whole = np.flatnonzero(x > 1 - INTEGRAL_TOL)
    columns[menu.job[whole]] = whole
    split = np.unique(menu.job[(x > INTEGRAL_TOL) & (x <= 1 - INTEGRAL_TOL)])
    options = {"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap}
    columns = _choose_for(menu, prog, columns, split, allowed, options)
    regret = float(menu.regret[columns].sum())
    return Solution(columns, regret, not len(split), float(menu.regret @ x))


def resolve(
    menu: Menu,
    prog: Program,
    previous: Solution,
    jobs: np.ndarray,
    allowed: np.ndarray,
    *,
    time_limit_s: float = TIME_LIMIT_S,
    mip_rel_gap: float = MIP_REL_GAP,
) -> Solution:
    """``previous`` with only ``jobs`` chosen again, as an integer program over their allowed
    columns within what every other job's choice leaves. A re-solve after placement failed
    for a few jobs thus costs a small program instead of a second relaxation over all
    columns (at 4096 GPUs that relaxation is most of a round)."""
    options = {"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap}
    columns = _choose_for(menu, prog, previous.columns, np.unique(jobs), allowed, options)
    regret = float(menu.regret[columns].sum())
    return Solution(columns, regret, False, previous.lp_regret)


def _choose_for(
    menu: Menu,
    prog: Program,
    columns: np.ndarray,
    jobs: np.ndarray,
    allowed: np.ndarray | None,
    options: dict,
) -> np.ndarray:
    """``columns`` with ``jobs``' entries chosen by an integer program over their columns
    within what the other jobs' columns leave; those jobs get nothing if HiGHS finds no
    solution."""
    columns = columns.copy()
    if not len(jobs):
        return columns
    fixed = np.delete(columns, jobs)
    left = prog.capacity - prog.usage[:, fixed].sum(axis=1)
    free_cols = np.flatnonzero(np.isin(menu.job, jobs))
    picked_x, _ = _solve(menu, prog, free_cols, left, True, options, allowed)
    if picked_x is not None:
        picked = free_cols[picked_x > 0.5]
        columns[menu.job[picked]] = picked
    else:
        columns[jobs] = menu.none[jobs]
    return columns

"""Placing the integer program's choices on real nodes (``policy.milp``).

The program only checks aggregate capacity, so its choices may still not fit the nodes one
by one (kept placements may fragment them, and nodes of mixed sizes are only checked in
total). Placement therefore works in steps, each of which keeps every node within its GPUs
and every node to at most one multi-node job:

1. jobs that keep their placement, exactly where they are;
2. the other chosen configurations, multi-node ones first, larger first: a multi-node job on
   the nodes with the most free GPUs, a single-node one on the node it fills best (its own
   node on ties, so an unchanged size stays put);
3. a job whose configuration found no room takes the best alternative that fits now and
   needs no more GPUs: a smaller configuration of its menu, its old placement, or the same
   GPUs spread over more nodes;
4. a job still without GPUs gets its smallest allowed allocation wherever it fits, so no job
   is left out while it fits somewhere (a job without GPUs costs Pollux's objective far more
   than any other job's smaller share);
5. free GPUs left over go to any job whose objective term improves with a configuration that
   fits them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adaptsched.policy.milp_options import Menu, nodes_for, utility
from adaptsched.policy.milp_packing import even_parts
from adaptsched.policy.objective import EPSILON, AllocationProblem

#: Sweeps of step 4 (each gives every job one try).
IMPROVE_SWEEPS = 2


@dataclass(frozen=True)
class Option:
    """A configuration to try for one job."""

    gpus: int
    nodes: int
    keep: bool
    regret: float
    even: bool = False


def _option(menu: Menu, column: int) -> Option:
    return Option(
        int(menu.gpus[column]),
        int(menu.nodes[column]),
        bool(menu.keep[column]),
        float(menu.regret[column]),
        bool(menu.even[column]),
    )


class Placement:
    """Rows of a (jobs x nodes) replica matrix being filled, with the nodes' free GPUs, which
    nodes already host a multi-node job, and each job's regret as placed."""

    def __init__(self, problem: AllocationProblem, menu: Menu) -> None:
        self.problem = problem
        self.menu = menu
        self.free = problem.capacity.astype(np.int64).copy()
        self.multi = np.zeros(len(self.free), dtype=bool)
        self.state = np.zeros(problem.base.shape, dtype=np.int64)
        self.regret = menu.regret[menu.none].copy()

    # -- rows ------------------------------------------------------------------------------
    def _take(self, job: int, row: np.ndarray, regret: float) -> None:
        self.free -= row
        if np.count_nonzero(row) > 1:
            self.multi |= row > 0
        self.state[job] = row
        self.regret[job] = regret

    def release(self, job: int) -> tuple[np.ndarray, float]:
        """Free a job's row; returns it and its regret (to restore with ``restore``)."""
        row, regret = self.state[job].copy(), float(self.regret[job])
        self.free += row
        if np.count_nonzero(row) > 1:
            self.multi &= ~(row > 0)
        self.state[job] = 0
        self.regret[job] = self.menu.regret[self.menu.none[job]]
        return row, regret

    def restore(self, job: int, row: np.ndarray, regret: float) -> None:
        self._take(job, row, regret)

    def _fits(self, row: np.ndarray) -> bool:
        if np.any(row > self.free):
            return False
        return np.count_nonzero(row) <= 1 or not np.any(self.multi & (row > 0))

    # -- finding room ---------------------------------------------------------------------
    def find(self, job: int, gpus: int, nodes: int, even: bool = False) -> np.ndarray | None:
        """A row of ``gpus`` replicas on exactly ``nodes`` nodes that fits now, or None:
        compact (the freest nodes, filled in turn) or in even parts (each on the node it
        fills best)."""
        own = self.problem.base[job] > 0
        if even and nodes > 1:
            row = self._find_even(own, gpus, nodes)
            if row is not None:
                return row  # else any split over that many nodes: the value is the same
        if nodes == 1:
            room = np.flatnonzero(self.free >= gpus)
            if not len(room):
                return None
            # Best fit; on ties the job's own node, then the first.
            order = np.lexsort((room, ~own[room], self.free[room] - gpus))
            row = np.zeros(len(self.free), dtype=np.int64)
            row[room[order[0]]] = gpus
            return row
        room = np.flatnonzero(~self.multi & (self.free > 0))
        if len(room) < nodes or gpus < nodes:
            return None
        chosen = room[np.lexsort((room, ~own[room], -self.free[room]))[:nodes]]
        if int(self.free[chosen].sum()) < gpus:
            return None
        row = np.zeros(len(self.free), dtype=np.int64)
        row[chosen] = 1
        extra = np.minimum(np.cumsum(self.free[chosen] - 1), gpus - nodes)
        row[chosen] += np.diff(extra, prepend=0)
        return row

    def _find_even(self, own: np.ndarray, gpus: int, nodes: int) -> np.ndarray | None:
        row = np.zeros(len(self.free), dtype=np.int64)
        usable = ~self.multi
        for part in even_parts(gpus, nodes):
            room = np.flatnonzero(usable & (self.free >= part) & (row == 0))
            if not len(room):
                return None
            pick = room[np.lexsort((room, ~own[room], self.free[room] - part))[0]]
            row[pick] = part
        return row

    def try_option(self, job: int, option: Option) -> bool:
        """Place ``job`` in ``option`` if it fits now."""
        if option.keep:
            row = self.problem.base[job].astype(np.int64)
            if not self._fits(row):
                return False
        else:
            found = self.find(job, option.gpus, option.nodes, option.even)
            if found is None:
                return False
            row = found
        self._take(job, row, option.regret)
        return True

    def try_column(self, job: int, column: int) -> bool:
        """Place ``job`` in its menu's configuration ``column`` if it fits now."""
        return self.try_option(job, _option(self.menu, column))

    def try_any(self, job: int, options: list[Option]) -> bool:
        """The first of ``options`` (best first) that fits."""
        return any(self.try_option(job, o) for o in options)

    # -- options ----------------------------------------------------------------------------
    def menu_options(self, job: int) -> list[Option]:
        """The job's menu, best first, without its empty configuration."""
        menu = self.menu
        return [_option(menu, c) for c in menu.columns_of(job) if menu.gpus[c] > 0]

    def spread_regret(self, job: int, gpus: int, nodes: int) -> float | None:
        """Regret of ``gpus`` moved onto ``nodes`` nodes (None where that is worth nothing)."""
        problem, menu = self.problem, self.menu
        if nodes >= problem.speedups.shape[1] or gpus >= problem.speedups.shape[2]:
            return None
        value = problem.speedups[job, nodes, gpus] * problem.restart_factor[job]
        if not value > 0:
            return None
        gain = utility(np.array(value + EPSILON), menu.power)
        return float(menu.weights[job] * max(menu.best[job] - float(gain), 0.0))

    def alternatives(self, job: int) -> list[Option]:
        """The menu and every menu size spread over more nodes than it needs, best first."""
        options = self.menu_options(job)
        widest = int(self.problem.max_nodes[job])
        spread = []
        for option in options:
            for nodes in range(option.nodes + 1, min(widest, option.gpus) + 1):
                regret = self.spread_regret(job, option.gpus, nodes)
                if regret is not None:
                    spread.append(Option(option.gpus, nodes, False, regret, even=True))
        return sorted(options + spread, key=lambda o: (o.regret, o.gpus, o.nodes))

    def place_smallest(self, job: int, least: int, most: int) -> bool:
        """The job's smallest allowed allocation on as few nodes as fit, worth something or
        not (step 5)."""
        if least > most:
            return False
        fewest = int(nodes_for(self.problem.capacity, np.array([least]))[0])
        for nodes in range(fewest, int(self.problem.max_nodes[job]) + 1):
            row = self.find(job, least, nodes)
            if row is not None:
                self._take(job, row, float(self.regret[job]))
                return True
        return False


def place(
    problem: AllocationProblem,
    menu: Menu,
    chosen: np.ndarray,
    least: np.ndarray,
    most: np.ndarray,
) -> np.ndarray:
    """The (J, N) replica matrix for the chosen columns (one per job), repaired and filled as
    the module docstring says. ``least`` / ``most``: each job's replica limits."""
    placement = Placement(problem, menu)
    wanted = chosen[menu.gpus[chosen] > 0]
    kept = [int(c) for c in wanted if menu.keep[c]]
    moved = [int(c) for c in wanted if not menu.keep[c]]
    moved.sort(key=lambda c: (menu.nodes[c] <= 1, -menu.gpus[c], menu.job[c]))
    failed = []
    for column in kept + moved:
        job = int(menu.job[column])
        if not placement.try_column(job, column):
            failed.append(job)
    for job in sorted(failed):
        size = int(menu.gpus[chosen[job]])
        placement.try_any(job, [o for o in placement.alternatives(job) if o.gpus <= size])
    for job in range(menu.num_jobs):
        if placement.state[job].sum() == 0:
            placement.place_smallest(job, int(least[job]), int(most[job]))
    _improve(placement)
    return placement.state


def _improve(placement: Placement) -> None:
    """Step 4: give free GPUs to jobs whose term improves with a configuration that fits."""
    menu = placement.menu
    for _ in range(IMPROVE_SWEEPS):
        changed = False
        for job in range(menu.num_jobs):
            free = int(placement.free.sum())
            if free == 0:
                return
            held = int(placement.state[job].sum())
            columns = menu.columns_of(job)
            better = columns[
                (menu.regret[columns] < placement.regret[job] - 1e-12)
                & (menu.gpus[columns] > 0)
                & (menu.gpus[columns] <= free + held)
            ]
            if not len(better):
                continue
            options = [_option(menu, int(c)) for c in better]
            row, regret = placement.release(job)
            if placement.try_any(job, options):
                changed = True
            else:
                placement.restore(job, row, regret)
        if not changed:
            return


def placed_regret(problem: AllocationProblem, menu: Menu, state: np.ndarray) -> np.ndarray:
    """(J,) each job's regret as placed in ``state``: its speedup at the nodes and replicas it
    got, with the restart factor unless its row is unchanged."""
    jobs = np.arange(len(state))
    replicas = state.sum(axis=1)
    spans = np.count_nonzero(state, axis=1)
    value = problem.speedups[jobs, spans, replicas]
    unchanged = problem.base_valid & np.all(state == problem.base, axis=1)
    value = np.where(unchanged, value, value * problem.restart_factor)
    gain = utility(value + EPSILON, menu.power)
    return menu.weights * np.maximum(menu.best - gain, 0.0)

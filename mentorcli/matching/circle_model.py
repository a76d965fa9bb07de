"""The circle solver: column generation over candidate circles, then an integer search, with a proven bound.

The model (``--circles N`` and ``--peer-circles N`` both):

- A column is one candidate circle: a lead (a mentor, or a peer circle's facilitator), a goal
  every member wants and the lead offers (or, for peers, wants too), a weekly window every member
  can meet in, and its members. Its value is ``PLACE`` per person it places plus each member's
  score (0-10000, the 0-100 score x 100). ``PLACE`` is more than every score of the cohort
  together, so the order is that of pairs: the most people placed, then the highest total score.
- Rows: each person at most once. A lead row takes 1 per circle it leads, up to its limit (a
  mentor's capacity counts circles; a facilitator leads one); a person who could be both a lead
  and a member (signed up "both") has one row with the member coefficient equal to the limit,
  so they either lead up to ``limit`` circles or join one.
- The master LP (HiGHS through scipy) over the columns found so far gives a price ``pi`` per row.
  Pricing per (lead, goal, window) is exact: given the lead, goal and window, a circle's value
  is a sum over its members, so the best circle takes, from each class (team, or department with
  ``mix_departments``: at most one member per class), the member with the highest
  ``PLACE + score - pi``, then the best of them down to the size limits. Avoid-list conflicts
  between two members are rare and handled by branching (leave out one or the other).
- Bound: for any circles at all, value <= sum(pi * rhs) + sum over leads of limit x max(0, best
  reduced cost of that lead) (Lagrangian bound; when no circle prices out it is the LP optimum
  over every possible circle). The integer search (HiGHS branch and bound, one thread, a fixed
  node budget: deterministic) picks circles among the columns; the status compares its total to that bound.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

FULL = 10_000
"""A perfect member score in solver units (the 0-100 score x 100)."""
POSITIVE = 1e-6
"""A reduced cost above this (relative to ``PLACE``) adds a column."""
ENUMERATE_LIMIT = 20_000
"""Up to this many possible circles, every one is listed and the integer search over them all is
exact (a small cohort gets "optimal" proven by CP-SAT, not just a bound)."""
COLUMNS_PER_LEAD = 3
MIP_GAP = 1e-6
"""The integer search stops within this share of the columns' best (the objective counts places in
units larger than every score together, so this is a small share of the total score)."""
NODES_PER_UNIT = 1000
"""Branch-and-bound nodes of the integer search per unit of ``[circles] search_effort``."""
"""Columns a lead may add per pricing round (its best (goal, window) choices)."""

Progress = Callable[[str, int, int], None]


@dataclass
class Lead:
    """One pricing subproblem: a lead and the members that may join a circle it leads."""

    person: int
    row: int
    limit: int
    own: int
    """What the lead itself adds to a circle's value (``PLACE`` for a facilitator, who is placed by it)."""
    members: np.ndarray
    """People positions of the candidates, ascending (ties go to earlier signups)."""
    rows: np.ndarray
    values: np.ndarray
    """Each candidate's score in this lead's circle (0-10000)."""
    goals: np.ndarray
    """(candidates, goals) bool: who wants each goal of ``goal_ids``."""
    goal_ids: list[int]
    windows: np.ndarray
    """(candidates, windows) bool: who can meet in each window of ``window_ids``."""
    window_ids: list[int]
    classes: np.ndarray
    """At most one member per class (same team, or department with ``mix_departments``)."""
    min_members: int | None = None
    max_members: int | None = None
    """How many members this lead's circle must / may take, when not the model's (a kept circle
    with room: at least 1 new member, at most its room); None: ``CircleModel``'s."""


@dataclass(frozen=True)
class Column:
    lead: int
    goal: int
    window: int
    members: tuple[int, ...]
    value: int


@dataclass
class CircleModel:
    """Everything the solver needs; ``circles.py`` builds it from the encoded cohort."""

    rhs: np.ndarray
    coef: np.ndarray
    """Per row: the member coefficient (1, or the limit of someone who may also lead)."""
    leads: list[Lead]
    place: int
    min_members: int
    max_members: int
    conflicts: dict[int, frozenset[int]] = field(default_factory=dict)
    """People who may not be in one circle (avoid lists, earlier pairs), both directions."""

    def sizes(self, lead: Lead) -> tuple[int, int]:
        """The fewest and most members a circle of ``lead`` takes (its own limits, else the model's)."""
        low = self.min_members if lead.min_members is None else lead.min_members
        return low, self.max_members if lead.max_members is None else lead.max_members


@dataclass
class CircleSolution:
    columns: list[Column]
    objective: int
    bound: int
    rounds: int
    converged: bool
    generated: int
    lp_value: float


def solve_circles(model: CircleModel, *, max_rounds: int, effort: float, progress: Progress | None = None) -> CircleSolution:
    """The best circles found and a proven bound on the best possible (see the module docstring)."""
    every = every_circle(model, ENUMERATE_LIMIT)
    if every is not None:
        return _solve_listed(model, every, effort, progress)
    columns: list[Column] = []
    master = _Master(model)
    seen: set[tuple[int, tuple[int, ...]]] = set()
    pi = np.zeros(len(model.rhs))
    lp_value = 0.0
    bound = float("inf")
    converged = False
    rounds = 0
    x = np.zeros(0)
    while rounds < max_rounds:
        rounds += 1
        if progress:
            progress("price", rounds, max_rounds)
        best_rc = np.zeros(len(model.leads))
        added = 0
        for k, lead in enumerate(model.leads):
            upper, found = price_lead(model, lead, pi)
            best_rc[k] = max(upper, 0.0)
            for rc, column in found:
                key = (k, column.members)
                if rc > POSITIVE * model.place and key not in seen:
                    seen.add(key)
                    columns.append(Column(k, column.goal, column.window, column.members, column.value))
                    added += 1
        limits = np.array([lead.limit for lead in model.leads], dtype=float)
        bound = min(bound, float(pi @ model.rhs) + float(limits @ best_rc))
        converged = bool(best_rc.max(initial=0.0) <= POSITIVE * model.place)
        if converged or not added:
            break
        master.add(columns[len(columns) - added:])
        lp_value, pi, x = master.solve()
    if converged:
        bound = min(bound, lp_value) if columns else 0.0
    if progress:
        progress("search", 0, 1)
    chosen, objective, _ = _integer_search(model, columns, x, effort)
    # the LP is solved in floating point: a bound a hair under the integer total is that total
    proven = max(int(np.floor(bound + 1e-7 * max(1.0, abs(bound)))), objective)
    return CircleSolution([columns[i] for i in chosen], objective, proven, rounds, converged, len(columns), lp_value)


def _solve_listed(model: CircleModel, columns: list[Column], effort: float, progress: Progress | None) -> CircleSolution:
    """Every possible circle listed: the integer search over them all; its proof, else the LP, is the bound."""
    if progress:
        progress("search", 0, 1)
    if not columns:
        return CircleSolution([], 0, 0, 0, True, 0, 0.0)
    master = _Master(model)
    master.add(columns)
    lp_value, _, x = master.solve()
    chosen, objective, proven = _integer_search(model, columns, x, effort)
    bound = objective if proven else max(int(np.floor(lp_value + 1e-7 * max(1.0, abs(lp_value)))), objective)
    return CircleSolution([columns[i] for i in chosen], objective, bound, 0, True, len(columns), lp_value)


def every_circle(model: CircleModel, limit: int) -> list[Column] | None:
    """Every circle the model allows (each lead, goal, window and set of members that fits), or
    None when there would be more than ``limit``."""
    count = 0
    for lead in model.leads:
        low, high = model.sizes(lead)
        for j in range(lead.goals.shape[1] * lead.windows.shape[1]):
            k = int((lead.goals[:, j // lead.windows.shape[1]] & lead.windows[:, j % lead.windows.shape[1]]).sum())
            count += sum(math.comb(k, size) for size in range(low, high + 1))
            if count > limit:
                return None
    columns: list[Column] = []
    seen: set[tuple[int, tuple[int, ...]]] = set()
    for number, lead in enumerate(model.leads):
        n_windows = lead.windows.shape[1]
        low, high = model.sizes(lead)
        for j in range(lead.goals.shape[1] * n_windows):
            inside = np.flatnonzero(lead.goals[:, j // n_windows] & lead.windows[:, j % n_windows]).tolist()
            for size in range(low, high + 1):
                for group in itertools.combinations(inside, size):
                    if len({int(lead.classes[c]) for c in group}) < size:
                        continue
                    people = lead.members[list(group)]
                    key = (number, tuple(sorted(people.tolist())))
                    if key in seen or _has_conflict(model, people):
                        continue
                    seen.add(key)
                    value = lead.own + sum(model.place + int(lead.values[c]) for c in group)
                    columns.append(Column(number, j // n_windows, j % n_windows, key[1], value))
    return columns


class _Master:
    """The master LP (GLOP, warm-started as columns are added): its value, the price of each row
    and the value of each column."""

    def __init__(self, model: CircleModel) -> None:
        self.model = model
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        self.rows = [self.solver.Constraint(-self.solver.infinity(), float(rhs)) for rhs in model.rhs.tolist()]
        self.objective = self.solver.Objective()
        self.objective.SetMaximization()
        self.variables: list[pywraplp.Variable] = []
        self.row_of = _row_of(model)

    def add(self, columns: list[Column]) -> None:
        for column in columns:
            variable = self.solver.NumVar(0.0, self.solver.infinity(), f"c{len(self.variables)}")
            self.variables.append(variable)
            self.rows[self.model.leads[column.lead].row].SetCoefficient(variable, 1.0)
            for person in column.members:
                row = self.row_of[person]
                self.rows[row].SetCoefficient(variable, float(self.model.coef[row]))
            self.objective.SetCoefficient(variable, float(column.value))

    def solve(self) -> tuple[float, np.ndarray, np.ndarray]:
        status = self.solver.Solve()
        if status != pywraplp.Solver.OPTIMAL:  # pragma: no cover - a packing LP with x = 0 feasible is always solved
            raise RuntimeError("the circle LP was not solved")
        pi = np.maximum(np.array([row.dual_value() for row in self.rows], dtype=float), 0.0)
        x = np.array([v.solution_value() for v in self.variables], dtype=float)
        return float(self.objective.Value()), pi, x


def _incidence(model: CircleModel, columns: list[Column]) -> csr_matrix:
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    row_of = _row_of(model)
    for j, column in enumerate(columns):
        lead = model.leads[column.lead]
        rows.append(lead.row)
        cols.append(j)
        data.append(1.0)
        for person in column.members:
            row = row_of[person]
            rows.append(row)
            cols.append(j)
            data.append(float(model.coef[row]))
    return csr_matrix((data, (rows, cols)), shape=(len(model.rhs), len(columns)))


def _row_of(model: CircleModel) -> dict[int, int]:
    row_of: dict[int, int] = {}
    for lead in model.leads:
        row_of[lead.person] = lead.row
        row_of.update(zip(lead.members.tolist(), lead.rows.tolist()))
    return row_of


# --------------------------------------------------------------------------- pricing


def price_lead(model: CircleModel, lead: Lead, pi: np.ndarray) -> tuple[float, list[tuple[float, Column]]]:
    """The best circles this lead could lead at prices ``pi`` (best first, at most ``COLUMNS_PER_LEAD``),
    exact per (goal, window), conflicts between members included; and an upper bound on the
    reduced cost of any circle it could lead (the best found, or the first not looked at)."""
    k = len(lead.members)
    low, high = model.sizes(lead)
    if k < low or not lead.goals.shape[1] or not lead.windows.shape[1]:
        return 0.0, []
    gain = model.place + lead.values.astype(float) - model.coef[lead.rows] * pi[lead.rows]
    base = lead.own - float(pi[lead.row])
    threshold = POSITIVE * model.place
    top = np.cumsum(-np.sort(-gain)[:high])
    rough = base + float(top[low - 1:].max(initial=-np.inf))
    if rough <= threshold:  # no circle of this lead can price out, whatever its goal and window
        return max(rough, 0.0), []
    order = np.lexsort((np.arange(k), -gain))
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    n_goals, n_windows = lead.goals.shape[1], lead.windows.shape[1]
    combos = (lead.goals[:, :, None] & lead.windows[:, None, :]).reshape(k, n_goals * n_windows)
    positive = order[gain[order] > 0]
    take_pos, totals = _greedy(model, combos[positive], lead.classes[positive], gain[positive], base, (low, high))
    short = np.flatnonzero(take_pos.sum(axis=0) < low)
    # a short circle needs members without a positive gain to reach min_members: they only lower
    # its total, so the positive members' total bounds it and only the promising ones are filled
    upper_short = base + np.where(take_pos[:, short], gain[positive][:, None], 0.0).sum(axis=0)
    totals[short] = -np.inf
    short = short[upper_short > threshold]
    take_all = np.zeros((0, 0), bool)
    if len(short):
        take_all, totals_short = _greedy(model, combos[order][:, short], lead.classes[order], gain[order], base,
                                         (low, high))
        totals[short] = totals_short
    short_at = {int(c): n for n, c in enumerate(short.tolist())}
    found: list[tuple[float, Column]] = []
    upper = 0.0
    for j in np.lexsort((np.arange(len(totals)), -totals)).tolist():
        if not np.isfinite(totals[j]) or totals[j] <= threshold:
            break
        if len(found) >= COLUMNS_PER_LEAD:
            upper = max(upper, float(totals[j]))
            break
        picked = order[take_all[:, short_at[j]]] if j in short_at else positive[take_pos[:, j]]
        if _has_conflict(model, lead.members[picked]):
            candidates = order[combos[order, j]]
            exact = _best_without_conflicts(model, lead, candidates, gain)
            if exact is None:
                continue
            picked = exact
        total = base + float(gain[picked].sum())
        upper = max(upper, total)
        members = tuple(sorted(lead.members[picked].tolist()))
        value = lead.own + sum(model.place + int(v) for v in lead.values[np.sort(picked)].tolist())
        found.append((total, Column(-1, j // n_windows, j % n_windows, members, value)))
    found.sort(key=lambda item: -item[0])
    return upper, found


def _greedy(model: CircleModel, combos: np.ndarray, classes: np.ndarray, gain: np.ndarray,
            base: float, sizes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """For rows in best-gain-first order and each (goal, window) column of ``combos``: the members
    the best circle takes (the best of each class, at least ``min_members``, then any with a
    positive gain up to ``max_members``; ``sizes``: the lead's (min, max)) and its total (-inf where too few fit)."""
    if not len(gain):
        return np.zeros(combos.shape, bool), np.full(combos.shape[1], -np.inf)
    low, high = sizes
    keep = _first_of_class(combos, classes, np.arange(len(gain)))
    count = np.cumsum(keep, axis=0)
    take = keep & ((count <= low) | ((count <= high) & (gain[:, None] > 0)))
    totals = np.where(take, gain[:, None], 0.0).sum(axis=0) + base
    return take, np.where(count[-1] >= low, totals, -np.inf)


def _first_of_class(mask: np.ndarray, classes: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per column of ``mask``: only the best-ranked True row of each class stays True."""
    order = np.lexsort((rank, classes))
    sorted_mask = mask[order]
    count = np.cumsum(sorted_mask, axis=0)
    group = classes[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    before = np.vstack([np.zeros((1, mask.shape[1]), count.dtype), count])[starts]
    group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(order)]))
    first = sorted_mask & (count - before[group_of] == 1)
    out = np.empty_like(mask)
    out[order] = first
    return out


def _has_conflict(model: CircleModel, people: np.ndarray) -> bool:
    if not model.conflicts:
        return False
    chosen = set(people.tolist())
    return any(model.conflicts.get(p, frozenset()) & chosen for p in chosen)


def _best_without_conflicts(model: CircleModel, lead: Lead, candidates: np.ndarray,
                            gain: np.ndarray) -> np.ndarray | None:
    """The best members among ``candidates`` (best gain first) with no two in conflict: branch on
    the first conflicting pair (one of the two is left out), bounded by the greedy value."""
    best: tuple[float, list[int]] | None = None
    low, high = model.sizes(lead)

    def greedy(allowed: list[int]) -> list[int]:
        taken: list[int] = []
        classes: set[int] = set()
        for c in allowed:
            if lead.classes[c] in classes:
                continue
            if len(taken) >= low and (gain[c] <= 0 or len(taken) >= high):
                break
            taken.append(c)
            classes.add(int(lead.classes[c]))
        return taken

    def search(allowed: list[int]) -> None:
        nonlocal best
        taken = greedy(allowed)
        if len(taken) < low:
            return
        total = float(gain[taken].sum())
        if best is not None and total <= best[0]:
            return
        people = lead.members[taken].tolist()
        clash = next(((a, b) for i, a in enumerate(people) for b in people[i + 1:]
                      if b in model.conflicts.get(a, frozenset())), None)
        if clash is None:
            best = (total, taken)
            return
        for out in clash:
            search([c for c in allowed if lead.members[c] != out])

    search(candidates.tolist())
    return None if best is None else np.array(best[1], dtype=np.int64)


# --------------------------------------------------------------------------- the integer search


def _integer_search(model: CircleModel, columns: list[Column], x: np.ndarray, effort: float) -> tuple[list[int], int, bool]:
    """The best set of columns (HiGHS branch and bound, single-threaded and deterministic, within a
    node budget of ``effort`` x ``NODES_PER_UNIT``), or the LP rounded greedily if that is better;
    and whether it is proven the best of these columns.

    ``effort`` seconds is also a wall-clock cap: a large cohort on a slow host stops there rather
    than run for an hour, and only then may the circles depend on the host's speed (the status
    then gives the gap to the bound, which stays proven either way).
    """
    if not columns:
        return [], 0, True
    row_of = _row_of(model)
    start = sorted(_greedy_rounding(model, columns, x, row_of))
    values = np.array([c.value for c in columns], dtype=float)
    result = milp(-values, constraints=LinearConstraint(_incidence(model, columns), -np.inf, model.rhs.astype(float)),
                  integrality=np.ones(len(columns)), bounds=Bounds(0, 1),
                  options={"mip_rel_gap": MIP_GAP, "node_limit": max(1, int(effort * NODES_PER_UNIT)), "presolve": True,
                           "time_limit": max(float(effort), 1.0)})
    chosen = start
    proven = False
    if result.x is not None:
        picked = np.flatnonzero(np.asarray(result.x) > 0.5).tolist()
        if sum(columns[j].value for j in picked) >= sum(columns[j].value for j in start):
            chosen = picked
        proven = result.status == 0
    return chosen, sum(columns[j].value for j in chosen), proven


def _greedy_rounding(model: CircleModel, columns: list[Column], x: np.ndarray, row_of: dict[int, int]) -> set[int]:
    """Columns taken in order of LP value (then column value, then order found) while they fit."""
    lp = np.zeros(len(columns))
    lp[:len(x)] = x
    values = np.array([c.value for c in columns], dtype=float)
    used = np.zeros(len(model.rhs))
    taken: set[int] = set()
    for j in np.lexsort((np.arange(len(columns)), -values, -lp)).tolist():
        column = columns[j]
        need = [(model.leads[column.lead].row, 1.0)] + [(row_of[p], float(model.coef[row_of[p]])) for p in column.members]
        if all(used[r] + c <= model.rhs[r] + 1e-9 for r, c in need):
            for r, c in need:
                used[r] += c
            taken.add(j)
    return taken

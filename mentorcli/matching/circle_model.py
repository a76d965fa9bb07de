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
  over every possible circle). The integer search (CP-SAT, one worker, a fixed work budget:
  deterministic) picks circles among the columns; the status compares its total to that bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

FULL = 10_000
"""A perfect member score in solver units (the 0-100 score x 100)."""
POSITIVE = 1e-6
"""A reduced cost above this (relative to ``PLACE``) adds a column."""
COLUMNS_PER_LEAD = 3
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
    columns: list[Column] = []
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
        lp_value, pi, x = _master_lp(model, columns)
    if converged:
        bound = min(bound, lp_value) if columns else 0.0
    if progress:
        progress("search", 0, 1)
    chosen, objective = _integer_search(model, columns, x, effort)
    # the LP is solved in floating point: a bound a hair under the integer total is that total
    proven = max(int(np.floor(bound + 1e-7 * max(1.0, abs(bound)))), objective)
    return CircleSolution([columns[i] for i in chosen], objective, proven, rounds, converged, len(columns), lp_value)


def _master_lp(model: CircleModel, columns: list[Column]) -> tuple[float, np.ndarray, np.ndarray]:
    """The LP over ``columns``: its value, the price of each row and the column values."""
    matrix = _incidence(model, columns)
    values = np.array([c.value for c in columns], dtype=float)
    result = linprog(-values, A_ub=matrix, b_ub=model.rhs.astype(float), bounds=(0, None), method="highs")
    if result.status != 0:  # pragma: no cover - a packing LP with x = 0 feasible is always solved
        raise RuntimeError(f"circle LP not solved: {result.message}")
    pi = np.maximum(-np.asarray(result.ineqlin.marginals, dtype=float), 0.0)
    return float(-result.fun), pi, np.asarray(result.x, dtype=float)


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
    if k < model.min_members or not lead.goals.shape[1] or not lead.windows.shape[1]:
        return 0.0, []
    gain = model.place + lead.values.astype(float) - model.coef[lead.rows] * pi[lead.rows]
    base = lead.own - float(pi[lead.row])
    order = np.lexsort((np.arange(k), -gain))
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    n_goals, n_windows = lead.goals.shape[1], lead.windows.shape[1]
    combos = (lead.goals[:, :, None] & lead.windows[:, None, :]).reshape(k, n_goals * n_windows)
    keep = _first_of_class(combos, lead.classes, rank)[order]
    gain_sorted = gain[order]
    count = np.cumsum(keep, axis=0)
    take = keep & ((count <= model.min_members) | ((count <= model.max_members) & (gain_sorted[:, None] > 0)))
    totals = np.where(take, gain_sorted[:, None], 0.0).sum(axis=0) + base
    feasible = count[-1] >= model.min_members
    totals = np.where(feasible, totals, -np.inf)
    found: list[tuple[float, Column]] = []
    upper = 0.0
    for j in np.lexsort((np.arange(len(totals)), -totals)).tolist():
        if not np.isfinite(totals[j]) or totals[j] <= 0:
            break
        if len(found) >= COLUMNS_PER_LEAD:
            upper = max(upper, float(totals[j]))
            break
        picked = order[take[:, j]]
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

    def greedy(allowed: list[int]) -> list[int]:
        taken: list[int] = []
        classes: set[int] = set()
        for c in allowed:
            if lead.classes[c] in classes:
                continue
            if len(taken) >= model.min_members and (gain[c] <= 0 or len(taken) >= model.max_members):
                break
            taken.append(c)
            classes.add(int(lead.classes[c]))
        return taken

    def search(allowed: list[int]) -> None:
        nonlocal best
        taken = greedy(allowed)
        if len(taken) < model.min_members:
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


def _integer_search(model: CircleModel, columns: list[Column], x: np.ndarray, effort: float) -> tuple[list[int], int]:
    """The best set of columns CP-SAT finds within ``effort`` (deterministic work units), started
    from the LP rounded greedily."""
    if not columns:
        return [], 0
    row_of = _row_of(model)
    start = _greedy_rounding(model, columns, x, row_of)
    sat = cp_model.CpModel()
    use = [sat.new_bool_var(f"c{j}") for j in range(len(columns))]
    terms: dict[int, list[tuple[int, int]]] = {}
    for j, column in enumerate(columns):
        terms.setdefault(model.leads[column.lead].row, []).append((j, 1))
        for person in column.members:
            row = row_of[person]
            terms.setdefault(row, []).append((j, int(model.coef[row])))
    for row, items in sorted(terms.items()):
        if sum(c for _, c in items) > model.rhs[row]:
            sat.add(sum(c * use[j] for j, c in items) <= int(model.rhs[row]))
    sat.maximize(sum(column.value * use[j] for j, column in enumerate(columns)))
    for j in range(len(columns)):
        sat.add_hint(use[j], j in start)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = max(float(effort), 0.01)
    status = solver.solve(sat)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = sorted(start)
    else:
        chosen = [j for j in range(len(columns)) if solver.boolean_value(use[j])]
    greedy_value = sum(columns[j].value for j in start)
    value = sum(columns[j].value for j in chosen)
    if greedy_value > value:
        chosen, value = sorted(start), greedy_value
    return chosen, value


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

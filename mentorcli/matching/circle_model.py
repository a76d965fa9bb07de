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
- The master LP (HiGHS interior point through scipy) over the columns found so far gives a price
  ``pi`` per row. Pricing per (lead, goal, window) is exact: given the lead, goal and window, a
  circle's value is a sum over its members, so the best circle takes, from each class (team, or
  department with ``mix_departments``: at most one member per class), the member with the highest
  ``PLACE + score - pi``, then the best of them down to the size limits. Avoid-list conflicts
  between two members are rare and handled by branching (leave out one or the other).
- Bound: for any circles at all, value <= sum(pi * rhs) + sum over leads of limit x max(0, best
  reduced cost of that lead) (Lagrangian bound, valid for any prices; when no circle prices out it
  is the LP optimum over every possible circle), and each person counted once at the most they
  could add (``each_once_bound``), whichever is lower. Pricing stops once that bound is within
  ``SETTLED`` of the LP and proves the same number of places (the later rounds only refine the
  score); if the circles then fill every place the bound allows, pricing goes on to convergence so
  that the gap, now in score, is measured against a tight bound.
- The circles: price and dive. Fix every circle the LP takes at least ``FIX_AT`` of (else its
  largest), take their people out (their rows are priced out of reach), price new circles for the
  rest and solve again, until the LP is integral; HiGHS branch and bound finishes what is left.
  A small model then gets branch and bound over every circle found too. Every budget is a count
  (rounds, steps, nodes), so the same input gives the same circles on any host; ``SAFETY_SECONDS``
  is the one clock, a safety stop far beyond every target.
- A large model (more than ``BLOCK_ROWS`` people) is solved in blocks: row r in block r mod the
  number of blocks, each block priced and dived as above with the other rows given no room, then
  everyone the blocks left with room together. The interior point's time grows far faster than
  its LP (at 10,000 peers the root LP near full cover took 316 s, the whole of 2,000 peers 18 s),
  so the blocks cost a few times one 2,000-person solve. The bound is proven over the whole model,
  not the blocks: each person counted once at their best, or the Lagrangian bound at the blocks'
  root prices with every lead priced over all its members, whichever is lower; circles across
  blocks are not formed, and the gap says what that may cost.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix

FULL = 10_000
"""A perfect member score in solver units (the 0-100 score x 100)."""
POSITIVE = 1e-6
"""A reduced cost above this (relative to ``PLACE``) adds a column."""
ENUMERATE_LIMIT = 20_000
"""Up to this many possible circles, every one is listed and the integer search over them all is
exact (a small cohort gets "optimal" proven by CP-SAT, not just a bound)."""
COLUMNS_PER_LEAD = 3
"""Columns a lead may add per pricing round (its best (goal, window) choices)."""
MIP_GAP = 1e-6
"""The integer search stops within this share of the columns' best (the objective counts places in
units larger than every score together, so this is a small share of the total score)."""
NODES_PER_UNIT = 1000
"""Branch-and-bound nodes of the integer search per unit of ``[circles] search_effort``."""
DIVE_STEPS = 30
"""Most dive steps (fix the circles the LP takes whole, price the rest again)."""
DIVE_ROUNDS = 8
"""Pricing rounds per dive step."""
FIX_AT = 0.5
"""A dive step fixes every circle the LP takes at least this much of."""
SETTLED = 1e-4
"""Column generation may stop once its bound is within this share of the LP's value (and proves
the same whole number of places)."""
BLOCK_ROWS = 2_500
"""A model with more rows (people) than this is solved in blocks of at most this many rows (row r
in block r mod the number of blocks, so each block is a sample of the whole cohort), then everyone
the blocks left with room together, and the bound is proven over the whole model (each person
counted once at their best, or the Lagrangian bound at the blocks' prices). The interior point's
time grows much faster than its LP: at 10,000 peers one LP near full cover took 316 s, the whole
of 2,000 peers 18 s. Circles across blocks are not formed, which the proven gap reports."""
POLISH_COLUMNS = 2_000
"""Up to this many circles found, branch and bound over all of them follows the dive (a small
cohort, where one place is a large share)."""
SAFETY_SECONDS = 3600.0
"""A safety stop on the wall clock, far beyond every target: only a host many times slower than
expected reaches it, and only then may the circles depend on the host's speed."""

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
    language_ids: list[int] | None = None
    """The language every member of a circle in goal column j speaks (``circles.split_by_language``);
    None when the language rule is off or nobody here gave a language."""
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
    prices: np.ndarray | None = None
    """The root LP's price of each row (None where no LP was solved)."""


def solve_circles(model: CircleModel, *, max_rounds: int, effort: float, progress: Progress | None = None) -> CircleSolution:
    """The best circles found and a proven bound on the best possible (see the module docstring).
    A model with few possible circles is solved exactly however many people it has."""
    every = every_circle(model, ENUMERATE_LIMIT)
    if every is not None:
        return _solve_listed(model, every, effort, progress)
    blocks = block_count(model)
    if blocks > 1:
        return _solve_in_blocks(model, blocks, max_rounds, effort, progress)
    return _solve_priced(model, max_rounds, effort, progress)


def _solve_whole(model: CircleModel, max_rounds: int, effort: float, progress: Progress | None) -> CircleSolution:
    """The model at once: every circle listed when there are few, else priced."""
    every = every_circle(model, ENUMERATE_LIMIT)
    if every is not None:
        return _solve_listed(model, every, effort, progress)
    return _solve_priced(model, max_rounds, effort, progress)


def _solve_priced(model: CircleModel, max_rounds: int, effort: float, progress: Progress | None) -> CircleSolution:
    """Column generation, the dive and the proven bound over the whole model at once."""
    deadline = time.monotonic() + SAFETY_SECONDS
    columns: list[Column] = []
    seen: set[tuple[int, tuple[int, ...]]] = set()
    root = _generate(model, model.rhs.astype(float), columns, seen, max_rounds, deadline, progress)
    bound = root.bound
    if root.converged:
        bound = min(bound, root.lp_value) if columns else 0.0
    chosen = _dive(model, columns, seen, root, effort, deadline, progress)
    objective = sum(columns[j].value for j in chosen)
    rounds, converged = root.rounds, root.converged
    if (not converged and objective // model.place >= math.floor(bound / model.place) and rounds < max_rounds
            and time.monotonic() < deadline):
        # every place the bound allows is filled: the gap is in score, so price on to a tight score bound
        more = _generate(model, model.rhs.astype(float), columns, seen, max_rounds - rounds, deadline, progress,
                         settle=False)
        rounds, converged = rounds + more.rounds, more.converged
        bound = min(bound, more.bound)
    return CircleSolution([columns[i] for i in chosen], objective, _proven(bound, objective), rounds, converged,
                          len(columns), root.lp_value, root.prices)


def _proven(bound: float, objective: int) -> int:
    """The whole-number bound: the LP is solved in floating point, so a bound a hair under the
    integer total is that total; never below what the circles reach."""
    return max(int(np.floor(bound + 1e-7 * max(1.0, abs(bound)))), objective)


def block_count(model: CircleModel) -> int:
    """How many blocks of at most ``BLOCK_ROWS`` rows with room the model is solved in (1: all at once)."""
    return max(1, math.ceil(int(np.count_nonzero(model.rhs > 0)) / BLOCK_ROWS))


def _solve_in_blocks(model: CircleModel, blocks: int, max_rounds: int, effort: float,
                     progress: Progress | None) -> CircleSolution:
    """A large model in ``blocks`` parts (row r in block r mod ``blocks``), then everyone the parts
    left with room, together; the bound is over the whole model (see ``BLOCK_ROWS``)."""
    rhs = model.rhs.astype(float)
    block_of = np.arange(len(rhs)) % blocks
    prices = np.zeros(len(rhs))
    columns: list[Column] = []
    rounds = generated = 0
    lp_value = 0.0
    for block in range(blocks):
        inside = block_of == block
        part, index = restricted(model, np.where(inside, rhs, 0.0))
        if not part.leads:
            continue
        solved = _solve_whole(part, max_rounds, effort, progress)
        columns += _taken_back(model, part, index, solved.columns, rhs)
        if solved.prices is not None:
            prices[inside] = solved.prices[inside]
        rounds, generated, lp_value = rounds + solved.rounds, generated + solved.generated, lp_value + solved.lp_value
    part, index = restricted(model, rhs)
    if part.leads:
        rest = _solve_whole(part, max_rounds, effort, progress)
        columns += _taken_back(model, part, index, rest.columns, rhs)
        rounds, generated = rounds + rest.rounds, generated + rest.generated
    objective = sum(column.value for column in columns)
    full = model.rhs.astype(float)
    bound = min(each_once_bound(model, full), lagrangian_bound(model, full, prices))
    return CircleSolution(columns, objective, _proven(bound, objective), rounds, False, generated, lp_value, prices)


def restricted(model: CircleModel, rhs: np.ndarray) -> tuple[CircleModel, list[int]]:
    """The model over the rows with room in ``rhs`` (the rows keep their numbers, the others get no
    room), each lead with room keeping only the members with room; and, per lead of the new
    model, its number in ``model``. A lead left with too few members to fill a circle is dropped."""
    member_open = rhs + 1e-9 >= model.coef
    leads: list[Lead] = []
    index: list[int] = []
    for k, lead in enumerate(model.leads):
        if rhs[lead.row] < 1 - 1e-9:
            continue
        keep = member_open[lead.rows]
        if int(keep.sum()) < model.sizes(lead)[0]:
            continue
        leads.append(dataclasses.replace(lead, members=lead.members[keep], rows=lead.rows[keep],
                                         values=lead.values[keep], goals=lead.goals[keep],
                                         windows=lead.windows[keep], classes=lead.classes[keep]))
        index.append(k)
    part = CircleModel(rhs=np.where(rhs >= 1 - 1e-9, np.floor(rhs + 1e-9), 0).astype(model.rhs.dtype),
                       coef=model.coef, leads=leads, place=model.place, min_members=model.min_members,
                       max_members=model.max_members, conflicts=model.conflicts)
    return part, index


def _taken_back(model: CircleModel, part: CircleModel, index: list[int], chosen: list[Column],
                rhs: np.ndarray) -> list[Column]:
    """The circles of a restricted model as circles of ``model`` (lead numbers mapped back), their
    rows' room taken from ``rhs``."""
    row_of = _row_of(part)
    taken: list[Column] = []
    for column in chosen:
        rhs[part.leads[column.lead].row] -= 1
        for person in column.members:
            rhs[row_of[person]] -= model.coef[row_of[person]]
        taken.append(dataclasses.replace(column, lead=index[column.lead]))
    return taken


def lagrangian_bound(model: CircleModel, rhs: np.ndarray, prices: np.ndarray) -> float:
    """A bound on any circles within capacities ``rhs`` at any prices (one pricing pass over
    every lead with room): ``_lagrangian`` with each lead's best reduced cost."""
    rooms = _lead_rooms(model, rhs)
    best_rc = np.zeros(len(model.leads))
    for k, lead in enumerate(model.leads):
        if rooms[k] >= 1 - 1e-9:
            upper, _ = price_lead(model, lead, prices)
            best_rc[k] = max(upper, 0.0)
    return _lagrangian(prices, rhs, rooms, best_rc)


def _lead_rooms(model: CircleModel, rhs: np.ndarray) -> np.ndarray:
    """How many more circles each lead could lead within ``rhs``: its limit, or its own row's room."""
    return np.minimum(np.array([lead.limit for lead in model.leads], dtype=float),
                      rhs[np.array([lead.row for lead in model.leads], dtype=np.int64)])


def _lagrangian(prices: np.ndarray, rhs: np.ndarray, rooms: np.ndarray, best_rc: np.ndarray) -> float:
    """The Lagrangian bound at ``prices`` (>= 0): sum(prices x rhs) plus, per lead, its room x the
    best reduced cost of a circle it could lead (``best_rc``, 0 if none prices out)."""
    return float(prices @ rhs) + float(rooms @ best_rc)


@dataclass
class _Generated:
    """What a run of column generation ends with: the LP over its columns and, at the root, the bound."""

    active: list[int]
    """Indices (into the shared column list) of the columns the LP was over."""
    x: np.ndarray
    """The LP value of each active column."""
    lp_value: float
    bound: float
    rounds: int
    converged: bool
    prices: np.ndarray | None = None
    """The prices of the last LP solved."""


def _generate(model: CircleModel, rhs: np.ndarray, columns: list[Column], seen: set[tuple[int, tuple[int, ...]]],
              max_rounds: int, deadline: float, progress: Progress | None, step: str = "price",
              settle: bool = True) -> _Generated:
    """Column generation for capacities ``rhs`` (the model's, or what a dive left): price, add, re-solve.

    A row with no room left is priced out of reach, so only circles that still fit are added. The
    Lagrangian bound is kept at every round (it holds for any prices), so a run stopped by the
    round budget still proves one. With ``settle`` it stops as soon as the bound proves the most
    places the LP can reach (bound and LP within ``SETTLED`` of one place, in the same whole
    number of places): the rounds after that only refine the score, at most a fraction of a place."""
    coef = model.coef
    blocked = rhs + 1e-9 < coef
    lead_rows = np.array([lead.row for lead in model.leads], dtype=np.int64)
    closed = rhs[lead_rows] < 1 - 1e-9
    active = [j for j, column in enumerate(columns) if _fits(model, column, rhs)]
    master = _Master(model, rhs)
    master.add([columns[j] for j in active])
    lp_value, pi, x = master.solve() if active else (0.0, np.zeros(len(rhs)), np.zeros(0))
    bound = each_once_bound(model, rhs)
    converged = False
    rounds = 0
    rooms = _lead_rooms(model, rhs)
    out_of_reach = 4.0 * model.place * float(model.max_members + 1)
    while rounds < max_rounds and (not rounds or time.monotonic() < deadline):
        rounds += 1
        if progress:
            progress(step, rounds, max_rounds)
        prices = np.where(blocked, out_of_reach, pi)
        best_rc = np.zeros(len(model.leads))
        added = 0
        for k, lead in enumerate(model.leads):
            if closed[k]:
                continue
            upper, found = price_lead(model, lead, prices)
            best_rc[k] = max(upper, 0.0)
            for rc, column in found:
                key = (k, column.members)
                if rc > POSITIVE * model.place and key not in seen:
                    seen.add(key)
                    active.append(len(columns))
                    columns.append(Column(k, column.goal, column.window, column.members, column.value))
                    added += 1
        bound = min(bound, _lagrangian(pi, rhs, rooms, best_rc))
        converged = bool(best_rc.max(initial=0.0) <= POSITIVE * model.place)
        if converged or not added or (settle and _settled(lp_value, bound, model.place)):
            break
        master.add(columns[len(columns) - added:])
        lp_value, pi, x = master.solve()
    if converged and active:
        bound = min(bound, lp_value)
    # columns priced in the last round and not solved yet stand at 0 in the LP's solution
    x = np.r_[x, np.zeros(len(active) - len(x))]
    return _Generated(active, x, lp_value, bound, rounds, converged, pi)


def each_once_bound(model: CircleModel, rhs: np.ndarray) -> float:
    """A bound on any circles within capacities ``rhs``: each person with room counted once, at
    the most they could add (a lead's own value, or ``place`` plus their best score as a member).

    It holds because each person is in at most one circle as a member, a facilitator leads one,
    and a mentor leading several adds nothing of their own. It is also the Lagrangian bound at
    those prices with no circle pricing out: when nearly everyone can be placed it is close to the
    LP long before the bound from the LP's own prices is, so pricing settles rounds earlier."""
    own = np.zeros(len(rhs))
    member = np.zeros(len(rhs))
    for lead in model.leads:
        own[lead.row] = max(own[lead.row], float(lead.own))
        if len(lead.rows):
            np.maximum.at(member, lead.rows, model.place + lead.values.astype(float))
    leads_open = rhs >= 1 - 1e-9
    members_open = rhs + 1e-9 >= model.coef
    return float(np.maximum(np.where(leads_open, own, 0.0), np.where(members_open, member, 0.0)).sum())


def _settled(lp_value: float, bound: float, place: int) -> bool:
    """The bound is within ``SETTLED`` of the LP and proves the same number of places."""
    return bound - lp_value <= SETTLED * lp_value and math.floor(bound / place) == math.floor(lp_value / place)


def _fits(model: CircleModel, column: Column, rhs: np.ndarray) -> bool:
    lead = model.leads[column.lead]
    if rhs[lead.row] < 1 - 1e-9:
        return False
    row_of = _row_of(model)
    return all(rhs[row_of[p]] + 1e-9 >= model.coef[row_of[p]] for p in column.members)


def _take(model: CircleModel, column: Column, rhs: np.ndarray) -> None:
    row_of = _row_of(model)
    rhs[model.leads[column.lead].row] -= 1
    for p in column.members:
        rhs[row_of[p]] -= model.coef[row_of[p]]


def _dive(model: CircleModel, columns: list[Column], seen: set[tuple[int, tuple[int, ...]]], root: _Generated,
          effort: float, deadline: float, progress: Progress | None) -> list[int]:
    """Price and dive: fix the circles the LP takes (nearly) whole, take their people out, price
    new circles for the rest and solve again; when the LP is integral, or after ``DIVE_STEPS``
    steps, HiGHS branch and bound finishes the rest within a node budget. Deterministic: every
    budget is a count (rounds, steps, nodes); only ``SAFETY_SECONDS`` is a clock."""
    rhs = model.rhs.astype(float).copy()
    chosen: list[int] = []
    state = root
    for _ in range(DIVE_STEPS):
        if time.monotonic() >= deadline or not len(state.x):
            break
        fixed = _fix(model, columns, state, rhs)
        if not fixed:
            break
        chosen += fixed
        taken = set(fixed)
        if not any(v > 1e-6 and j not in taken for j, v in zip(state.active, state.x.tolist())):
            break
        state = _generate(model, rhs, columns, seen, DIVE_ROUNDS, deadline, progress, step="dive")
    if progress:
        progress("search", 0, 1)
    rest = [j for j in range(len(columns)) if _fits(model, columns[j], rhs)]
    picked, _ = _integer_search(model, columns, rest, rhs, effort, deadline, dict(zip(state.active, state.x.tolist())))
    dived = sorted(chosen + picked)
    if len(columns) > POLISH_COLUMNS:
        return dived
    # a small model: a fix early in the dive may block a better choice later, so branch and bound
    # over every circle found, starting from the dive's, can only do as well or better
    everything = list(range(len(columns)))
    polished, _ = _integer_search(model, columns, everything, model.rhs.astype(float), effort, deadline,
                                  dict.fromkeys(dived, 1.0))
    return polished


def _fix(model: CircleModel, columns: list[Column], state: _Generated, rhs: np.ndarray) -> list[int]:
    """The columns to fix in one dive step: every column at ``FIX_AT`` or more in the LP (no two of
    them can clash), else the largest; largest first (ties: higher value, then found earlier), each
    only if it still fits."""
    active = np.asarray(state.active, dtype=np.int64)
    values = np.array([columns[j].value for j in state.active], dtype=float)
    order = np.lexsort((active, -values, -state.x)).tolist()
    fixed: list[int] = []
    for position in order:
        if state.x[position] < FIX_AT:
            break
        j = int(active[position])
        if _fits(model, columns[j], rhs):
            _take(model, columns[j], rhs)
            fixed.append(j)
    if fixed:
        return fixed
    for position in order:
        j = int(active[position])
        if state.x[position] > 1e-6 and _fits(model, columns[j], rhs):
            _take(model, columns[j], rhs)
            return [j]
    return []


def _solve_listed(model: CircleModel, columns: list[Column], effort: float, progress: Progress | None) -> CircleSolution:
    """Every possible circle listed: the integer search over them all; its proof, else the LP, is the bound."""
    if progress:
        progress("search", 0, 1)
    if not columns:
        return CircleSolution([], 0, 0, 0, True, 0, 0.0)
    rhs = model.rhs.astype(float)
    master = _Master(model, rhs)
    master.add(columns)
    lp_value, pi, x = master.solve()
    everything = list(range(len(columns)))
    chosen, proven = _integer_search(model, columns, everything, rhs, effort, time.monotonic() + SAFETY_SECONDS,
                                     dict(zip(everything, x.tolist())))
    objective = sum(columns[j].value for j in chosen)
    bound = objective if proven else max(int(np.floor(lp_value + 1e-7 * max(1.0, abs(lp_value)))), objective)
    return CircleSolution([columns[i] for i in chosen], objective, bound, 0, True, len(columns), lp_value, pi)


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
    """The master LP over the columns found so far (HiGHS interior point through scipy, the
    objective in units of ``place``): its value, the price of each row and the value of each column.

    Interior point rather than simplex: set packing over thousands of overlapping circles is so
    degenerate that simplex (GLOP or HiGHS) spends minutes pivoting at 2,000 peers, and the
    interior point's central prices also steady column generation."""

    def __init__(self, model: CircleModel, rhs: np.ndarray) -> None:
        self.model = model
        self.rhs = rhs
        self.row_of = _row_of(model)
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.data: list[float] = []
        self.values: list[float] = []

    def add(self, columns: list[Column]) -> None:
        for column in columns:
            j = len(self.values)
            self.rows.append(self.model.leads[column.lead].row)
            self.cols.append(j)
            self.data.append(1.0)
            for person in column.members:
                row = self.row_of[person]
                self.rows.append(row)
                self.cols.append(j)
                self.data.append(float(self.model.coef[row]))
            self.values.append(float(column.value))

    def solve(self) -> tuple[float, np.ndarray, np.ndarray]:
        scale = float(self.model.place)
        matrix = csr_matrix((self.data, (self.rows, self.cols)), shape=(len(self.model.rhs), len(self.values)))
        result = linprog(-np.asarray(self.values) / scale, A_ub=matrix, b_ub=self.rhs,
                         bounds=(0, None), method="highs-ipm")
        if result.status != 0:  # pragma: no cover - a packing LP with x = 0 feasible is always solved
            raise RuntimeError("the circle LP was not solved")
        pi = np.maximum(-np.asarray(result.ineqlin.marginals, dtype=float), 0.0) * scale
        return float(-result.fun * scale), pi, np.asarray(result.x, dtype=float)


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
    """Each person's row (cached on the model: the dive asks for it for every column it checks)."""
    cached = _ROWS.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1]
    row_of: dict[int, int] = {}
    for lead in model.leads:
        row_of[lead.person] = lead.row
        row_of.update(zip(lead.members.tolist(), lead.rows.tolist()))
    _ROWS.clear()
    _ROWS[id(model)] = (model, row_of)
    return row_of


_ROWS: dict[int, tuple[CircleModel, dict[int, int]]] = {}


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


def _integer_search(model: CircleModel, columns: list[Column], candidates: list[int], rhs: np.ndarray, effort: float,
                    deadline: float, lp: dict[int, float]) -> tuple[list[int], bool]:
    """The best set of ``candidates`` within capacities ``rhs`` (HiGHS branch and bound,
    deterministic, within a node budget of ``effort`` x ``NODES_PER_UNIT``), or the LP rounded
    greedily if that is better; and whether it is proven the best of these columns. The clock
    (``deadline``, ``SAFETY_SECONDS`` from the start) is only a safety stop far beyond any target."""
    if not candidates:
        return [], True
    start = _greedy_rounding(model, columns, candidates, rhs, lp)
    subset = [columns[j] for j in candidates]
    values = np.array([c.value for c in subset], dtype=float)
    matrix = _incidence(model, subset)
    room = np.floor(rhs + 1e-9)
    result = milp(-values / model.place, constraints=LinearConstraint(matrix, -np.inf, room),
                  integrality=np.ones(len(subset)), bounds=Bounds(0, 1),
                  options={"mip_rel_gap": MIP_GAP, "node_limit": max(1, int(effort * NODES_PER_UNIT)), "presolve": True,
                           "time_limit": max(deadline - time.monotonic(), 1.0)})
    chosen = start
    proven = False
    if result.x is not None:
        picked = [candidates[j] for j in np.flatnonzero(np.asarray(result.x) > 0.5).tolist()]
        if sum(columns[j].value for j in picked) >= sum(columns[j].value for j in start):
            chosen = picked
        proven = result.status == 0
    return sorted(chosen), proven


def _greedy_rounding(model: CircleModel, columns: list[Column], candidates: list[int], rhs: np.ndarray,
                     lp: dict[int, float]) -> list[int]:
    """Columns taken in order of LP value (then column value, then order found) while they fit."""
    room = rhs.copy()
    index = np.asarray(candidates, dtype=np.int64)
    x = np.array([lp.get(j, 0.0) for j in candidates])
    values = np.array([columns[j].value for j in candidates], dtype=float)
    taken: list[int] = []
    for position in np.lexsort((index, -values, -x)).tolist():
        j = candidates[position]
        if _fits(model, columns[j], room):
            _take(model, columns[j], room)
            taken.append(j)
    return sorted(taken)

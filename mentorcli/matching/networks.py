"""Step 4b: developmental networks. A mentee who wants two or more mentors gets mentors chosen to
cover their goals together, preferring mentors from different departments; solved exactly, or
with a proven bound.

Why a second model. The pairing of step 4 (``scale.optimum``) scores each pair on its own, so a
mentee who wants two mentors can get two who offer the same goal. Which goals a set of mentors
covers together is a property of the set (covering a goal twice is worth less than covering a
new one): not a sum of pair weights, so not something the min-cost-flow solver can express.

What is decided here. Only the new pairs of the *network mentees* (those who want two or more
mentors in all and still have a place to fill). Everyone else keeps the pairs step 4 gave them:
their places, scores and reasons are exactly as before, and a cohort where nobody wants two
mentors costs nothing (``improve_networks`` returns None at once). A network mentee may use any
mentor with room once the others' pairs are placed: a free place, or one a network mentee holds
in step 4.

The model (CP-SAT, OR-Tools), for the network mentees ``I`` and their candidate mentors:

- ``x[i, j]`` (bool): mentee ``i`` gets mentor ``j``, for the candidate cells (below);
- places: ``sum_j x[i, j] <= wants[i]``; ``sum_i x[i, j] <= room[j]``; and ``sum x`` equals the
  network mentees' places in step 4: step 4 already has the most places over every pairing,
  and step 4's own choice is a solution of this model, so this keeps the most places, proven;
- requests and ranked choices: the bonus units of the chosen cells at least step 4's (which
  had the most of them: the same argument), so a request still outranks any score;
- coverage: for each mentee ``i`` and goal ``g``, ``y[i, g, k]`` (bool, k = 1, 2, ...) with
  ``sum_k y[i, g, k] <= kept[i, g] + sum_j covers[j, g] x[i, j]`` (``kept``: how many of the
  mentee's kept mentors cover ``g``), worth ``goal_value x repeat_goal_value^(k-1)``. The
  values fall with ``k``, so the solver fills ``y[., ., 1]`` first: exactly the value of the
  number of mentors covering the goal, with no quadratic term;
- departments: for each mentee and department ``d`` (organisation + department, blank not
  counted), ``s[i, d] >= kept[i, d] + sum_{j in d} x[i, j] - 1`` (an integer from 0), each
  costing ``prefer_mixed_departments`` points: every mentor beyond the first from one
  department;
- objective: maximise the sum of the chosen pairs' scores (0-100 x 100, as step 4) + coverage -
  departments, multiplied by a scale that leaves room below it for a tiebreak (``_tiebreak``):
  among equally good choices step 4's pairs stay, then earlier-signed-up mentors are chosen, so
  nothing moves without a gain. The bound is read back divided by that scale.

Candidates. Each network mentee's allowed mentors with room are scored (``grid.score_rows``:
the rules of ``rules.forbidden``, and the fairness floor under ``objective = "fair"``); the best
``[networks] candidates`` by *upper value* (score + ``goal_value`` x goals the mentor offers,
the most a mentor can add), plus step 4's cells and every requested or chosen cell, go into
the model. The bound stays proven: when a list was cut, the model is solved again with, per
mentee, up to ``wants`` extra slots worth the best upper value left outside its list; every
pairing over all allowed cells maps onto a solution of that relaxation of at least its value
(its pairs outside the lists become slots, each worth at most that upper value, and dropping a
mentor never lowers the department term), so the relaxation's proven bound bounds them all.

Exact or bounded. CP-SAT runs on one worker with a fixed seed and a *deterministic* work limit
(``[networks] solve_limit``), so the same input gives the same result on any machine load. The
result is "optimal" when the value equals the proven bound, else "within X% of the best
possible" (X rounded up) over the network mentees' part of the objective; the Settings sheet,
the summary and ``--json`` carry it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from mentorcli.config import NetworkSettings
from mentorcli.matching.cohort import BLOCK_CELLS, Cohort
from mentorcli.matching.criteria import FULL
from mentorcli.matching.grid import score_rows
from mentorcli.matching.scale import Solution, _bonus_cells, _bonus_units

POINT = FULL // 100
"""One point of the 0-100 score in the solver's integer units."""


@dataclass(frozen=True)
class NetworkCells:
    """The candidate cells of the model (one per mentee and mentor), their facts and per-mentee bounds."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    bonus: np.ndarray
    """Request and choice bonus units of each cell."""
    outside_value: np.ndarray
    """Per network mentee (position in ``Network.rows``): the best upper value of an allowed
    mentor with room left out of its list (-1: none left out)."""
    outside_count: np.ndarray


@dataclass(frozen=True)
class Network:
    """What the model is built from: the network mentees, their places and their mentors' room."""

    cohort: Cohort
    settings: NetworkSettings
    rows: np.ndarray
    """Network mentees (mentee rows), ascending."""
    wants: np.ndarray
    """Places each still wants (new pairs)."""
    room: np.ndarray
    """Per mentor column: places the network mentees may use."""
    places: int
    """The network mentees' places in step 4 (the model keeps exactly as many)."""
    bonus: int
    """Bonus units of their step-4 pairs (the model keeps at least as many)."""
    linear: set[tuple[int, int]]
    """Their step-4 cells (row, col)."""
    kept_rows: np.ndarray
    kept_cols: np.ndarray
    threshold: int | None


@dataclass(frozen=True)
class NetworkResult:
    """The pairing with the network mentees' pairs re-chosen, and how good that choice is proven to be."""

    solution: Solution
    mentees: np.ndarray
    """The network mentees (mentee rows)."""
    value: int
    """The network part of the objective (scores + coverage - departments), in 1/100 points."""
    bound: int
    """A proven upper bound of ``value`` over every allowed pairing."""
    changed: int
    """Network mentees whose mentors differ from step 4's."""
    settings: NetworkSettings

    @property
    def optimal(self) -> bool:
        return self.value >= self.bound

    @property
    def gap_percent(self) -> float:
        """How far below the bound, in percent of it, rounded up to 2 decimals (0 when optimal)."""
        if self.optimal or self.bound <= 0:
            return 0.0
        return math.ceil(10_000 * (self.bound - self.value) / self.bound) / 100

    @property
    def status(self) -> str:
        return "optimal" if self.optimal else f"within {self.gap_percent:g}% of the best possible"

    def as_settings(self) -> dict[str, object]:
        """The lines of the workbook's Settings sheet (keys with a dot are written as they are)."""
        return {
            "networks.status": self.status,
            "networks.mentees": len(self.mentees),
            "networks.changed": self.changed,
            "networks.value": self.value / POINT,
            "networks.bound": self.bound / POINT,
            **{f"networks.{f.name}": getattr(self.settings, f.name) for f in dataclasses.fields(self.settings)},
        }


def network_mentees(cohort: Cohort, wants: np.ndarray) -> np.ndarray:
    """Mentee rows who want two or more mentors in all and still have a place to fill."""
    return np.flatnonzero((cohort.mentees.limit >= 2) & (wants > 0))


def improve_networks(cohort: Cohort, solution: Solution, wants: np.ndarray, capacity: np.ndarray,
                     kept_rows: np.ndarray, kept_cols: np.ndarray) -> NetworkResult | None:
    """Step 4's pairing with the network mentees' mentors re-chosen by the model above (None:
    nobody wants two or more mentors, nothing to do)."""
    rows = network_mentees(cohort, wants)
    if not len(rows) or not len(solution.rows):
        return None
    network = _network(cohort, solution, rows, wants, capacity, kept_rows, kept_cols)
    if network.places == 0:
        return None
    cells = candidate_cells(network)
    chosen, value, bound = solve_network(network, cells)
    return _result(network, cells, solution, chosen, value, bound)


def _network(cohort: Cohort, solution: Solution, rows: np.ndarray, wants: np.ndarray, capacity: np.ndarray,
             kept_rows: np.ndarray, kept_cols: np.ndarray) -> Network:
    mine = np.isin(solution.rows, rows)
    others = np.bincount(solution.cols[~mine], minlength=len(capacity))[:len(capacity)]
    bonus = _bonus_units(cohort, solution.rows[mine], solution.cols[mine])
    return Network(cohort, cohort.config.networks, rows, wants[rows], np.maximum(capacity - others, 0),
                   int(mine.sum()), int(bonus.sum()),
                   set(zip(solution.rows[mine].tolist(), solution.cols[mine].tolist())),
                   np.asarray(kept_rows, np.int64), np.asarray(kept_cols, np.int64), solution.threshold)


def goal_value(settings: NetworkSettings, k: int) -> int:
    """Integer value of a goal covered by its ``k``-th mentor (k = 1, 2, ...)."""
    return round(settings.goal_value * POINT * settings.repeat_goal_value ** (k - 1))


# --------------------------------------------------------------------------- candidates


def candidate_cells(network: Network) -> NetworkCells:
    """Each network mentee's best ``candidates`` allowed mentors with room by upper value, with
    step 4's cells and the bonus cells always in, and the best upper value left outside."""
    cohort, settings = network.cohort, network.settings
    cols = np.flatnonzero(network.room > 0)
    forced_rows, forced_cols = _forced_cells(network)
    parts: list[tuple[np.ndarray, ...]] = []
    outside_value = np.full(len(network.rows), -1, np.int64)
    outside_count = np.zeros(len(network.rows), np.int64)
    step = max(1, BLOCK_CELLS // max(len(cols), 1))
    for start in range(0, len(network.rows), step):
        block = network.rows[start:start + step]
        scores, allowed = score_rows(cohort, 0, 0, rows=block, cols=cols)
        if network.threshold is not None:
            allowed &= scores >= network.threshold
        scores = scores.astype(np.int64)
        hits = cohort.mentees.topics[block] @ cohort.mentors.topics[cols].T
        upper = scores + np.rint(hits).astype(np.int64) * round(settings.goal_value * POINT)
        forced = _forced_grid(block, cols, forced_rows, forced_cols) & allowed
        listed = _best_of_each_row(np.where(allowed, upper, -1), settings.candidates) & allowed | forced
        outside = allowed & ~listed
        outside_value[start:start + len(block)] = np.where(outside, upper, -1).max(axis=1, initial=-1)
        outside_count[start:start + len(block)] = outside.sum(axis=1)
        local, at = np.nonzero(listed)
        parts.append((block[local], cols[at], scores[local, at]))
    cell_rows, cell_cols, cell_scores = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return NetworkCells(cell_rows, cell_cols, cell_scores, _bonus_units(cohort, cell_rows, cell_cols),
                 outside_value, outside_count)


def _forced_cells(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Step 4's cells of the network mentees and their request and choice cells."""
    bonus_rows, bonus_cols = _bonus_cells(network.cohort)
    linear = sorted(network.linear)
    rows = np.concatenate([np.array([c[0] for c in linear], np.int64), bonus_rows])
    cols = np.concatenate([np.array([c[1] for c in linear], np.int64), bonus_cols])
    return rows, cols


def _forced_grid(block: np.ndarray, cols: np.ndarray, rows: np.ndarray, forced_cols: np.ndarray) -> np.ndarray:
    row_at = {r: k for k, r in enumerate(block.tolist())}
    col_at = {c: k for k, c in enumerate(cols.tolist())}
    grid = np.zeros((len(block), len(cols)), bool)
    for r, c in zip(rows.tolist(), forced_cols.tolist()):
        if r in row_at and c in col_at:
            grid[row_at[r], col_at[c]] = True
    return grid


def _best_of_each_row(values: np.ndarray, most: int) -> np.ndarray:
    """Per row, the ``most`` highest values (ties: the earlier column), as a mask."""
    width = values.shape[1]
    if width <= most:
        return np.ones(values.shape, bool)
    key = values * (width + 1) + (width - np.arange(width))  # distinct per row: a deterministic choice
    top = np.argpartition(-key, most - 1, axis=1)[:, :most]
    mask = np.zeros(values.shape, bool)
    np.put_along_axis(mask, top, True, axis=1)
    return mask


# --------------------------------------------------------------------------- the model


@dataclass
class _Model:
    """The CP-SAT model and the variables the answer is read from."""

    model: cp_model.CpModel
    x: list[cp_model.IntVar]
    scale: int
    """Multiplier of the objective that leaves room for the keep-step-4 tiebreak below it."""


def build_model(network: Network, cells: NetworkCells, *, relaxed: bool) -> _Model:
    """The model of the module docstring; ``relaxed``: with the outside slots that make its
    bound a bound over every allowed pairing."""
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(len(cells.rows))]
    at = {int(r): k for k, r in enumerate(network.rows.tolist())}
    by_mentee: list[list[int]] = [[] for _ in network.rows]
    by_mentor: dict[int, list[int]] = {}
    for k, (r, c) in enumerate(zip(cells.rows.tolist(), cells.cols.tolist())):
        by_mentee[at[r]].append(k)
        by_mentor.setdefault(c, []).append(k)
    width = max(map(len, by_mentee), default=0) + 1
    tiebreak = _tiebreak(cells, by_mentee, network.linear, width)
    scale = network.places * 2 * width + 1
    terms: list[tuple[cp_model.IntVar, int]] = []
    slots: list[cp_model.IntVar] = []
    for i, ks in enumerate(by_mentee):
        slot_most = min(int(network.wants[i]), int(cells.outside_count[i])) if relaxed and cells.outside_value[i] >= 0 else 0
        if slot_most:
            slot = model.new_int_var(0, slot_most, f"o{i}")
            slots.append(slot)
            terms.append((slot, scale * int(cells.outside_value[i])))
            model.add(sum(x[k] for k in ks) + slot <= int(network.wants[i]))
        else:
            model.add(sum(x[k] for k in ks) <= int(network.wants[i]))
    for c, ks in sorted(by_mentor.items()):
        model.add(sum(x[k] for k in ks) <= int(network.room[c]))
    model.add(sum(x) + sum(slots) == network.places)
    if network.bonus:
        model.add(sum(int(b) * x[k] for k, b in enumerate(cells.bonus.tolist()) if b) >= network.bonus)
    for k, s in enumerate(cells.scores.tolist()):
        terms.append((x[k], scale * int(s) + tiebreak[k]))
    for i, ks in enumerate(by_mentee):
        terms += _coverage_terms(model, network, cells, int(network.rows[i]), ks, x, scale)
        terms += _department_terms(model, network, cells, int(network.rows[i]), ks, x, scale)
    model.maximize(sum(coefficient * var for var, coefficient in terms if coefficient))
    return _Model(model, x, scale)


def _tiebreak(cells: NetworkCells, by_mentee: list[list[int]], linear: set[tuple[int, int]], width: int) -> list[int]:
    """Per cell, below every difference of the objective: ``width`` for a step-4 pair, plus
    ``width - 1 - k`` for the mentee's k-th candidate in signup order. Among equally good
    choices step 4's pairs stay and then earlier-signed-up mentors are chosen, as in step 4."""
    out = [0] * len(cells.rows)
    for ks in by_mentee:
        for rank, k in enumerate(sorted(ks, key=lambda k: int(cells.cols[k]))):
            out[k] = width * ((int(cells.rows[k]), int(cells.cols[k])) in linear) + width - 1 - rank
    return out


def _coverage_terms(model: cp_model.CpModel, network: Network, cells: NetworkCells, row: int, ks: list[int],
                    x: list[cp_model.IntVar], scale: int) -> list[tuple[cp_model.IntVar, int]]:
    """The ``y[i, g, k]`` of one mentee: the k-th mentor covering goal g, worth less each time."""
    cohort = network.cohort
    goals = np.flatnonzero(cohort.mentees.topics[row] > 0)
    kept = _kept_of(network, row)
    terms: list[tuple[cp_model.IntVar, int]] = []
    for g in goals.tolist():
        covering = [k for k in ks if cohort.mentors.topics[int(cells.cols[k]), g] > 0]
        already = int((cohort.mentors.topics[kept, g] > 0).sum())
        most = already + min(len(covering), int(network.wants[np.searchsorted(network.rows, row)]))
        values = [goal_value(network.settings, k) for k in range(1, most + 1)]
        ys = [model.new_bool_var(f"y{row}_{g}_{k}") for k in range(len(values))]
        if not ys:
            continue
        model.add(sum(ys) <= already + sum(x[k] for k in covering))
        terms += [(y, scale * v) for y, v in zip(ys, values)]
    return terms


def _department_terms(model: cp_model.CpModel, network: Network, cells: NetworkCells, row: int, ks: list[int],
                      x: list[cp_model.IntVar], scale: int) -> list[tuple[cp_model.IntVar, int]]:
    """``s[i, d]``: the mentee's mentors beyond the first from department d, each costing points."""
    penalty = round(network.settings.prefer_mixed_departments * POINT)
    if penalty <= 0:
        return []
    department = mentor_departments(network.cohort)
    kept = _kept_of(network, row)
    members: dict[int, list[int]] = {}
    for k in ks:
        d = int(department[int(cells.cols[k])])
        if d >= 0:
            members.setdefault(d, []).append(k)
    terms: list[tuple[cp_model.IntVar, int]] = []
    for d, in_d in sorted(members.items()):
        already = int((department[kept] == d).sum())
        if already + len(in_d) < 2:
            continue
        extra = model.new_int_var(0, already + len(in_d), f"s{row}_{d}")
        model.add(extra >= already + sum(x[k] for k in in_d) - 1)
        terms.append((extra, -scale * penalty))
    return terms


def mentor_departments(cohort: Cohort) -> np.ndarray:
    """Per mentor column: a code of (organisation, department), -1 where the department is blank."""
    team = cohort.mentors.team
    known = cohort.distinct["team"][team][:, 1] >= 0 if len(team) else np.zeros(0, bool)
    return np.where(known, team, -1).astype(np.int64)


def _kept_of(network: Network, row: int) -> np.ndarray:
    """Mentor columns of the mentee's kept pairs (they count in its coverage and departments)."""
    return network.kept_cols[network.kept_rows == row]


# --------------------------------------------------------------------------- solving


def _solver(network: Network, limit: float) -> cp_model.CpSolver:
    """One worker, a fixed seed and a deterministic work limit: the same answer on every run."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = limit
    return solver


def solve_network(network: Network, cells: NetworkCells) -> tuple[np.ndarray, int, int]:
    """(chosen cells as a mask of ``cells``, value, proven bound), values in 1/100 points."""
    limit = float(network.settings.solve_limit)
    linear = np.array([(r, c) in network.linear for r, c in zip(cells.rows.tolist(), cells.cols.tolist())], bool)
    cut = bool(((cells.outside_value >= 0) & (network.wants > 0)).any())
    built = build_model(network, cells, relaxed=False)
    for var, on in zip(built.x, linear.tolist()):
        built.model.add_hint(var, on)
    solver = _solver(network, limit / 2 if cut else limit)
    status = solver.solve(built.model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = np.array([solver.boolean_value(v) for v in built.x], bool)
    else:  # no solution within the limit: step 4's choice stands (a solution of the model)
        chosen = linear
    value = evaluate(network, cells, chosen)
    bound = _proven_bound(solver, built.scale, network, cells)
    if status == cp_model.OPTIMAL and not cut:
        bound = value
    if cut:
        relaxed = build_model(network, cells, relaxed=True)
        for var, on in zip(relaxed.x, chosen.tolist()):
            relaxed.model.add_hint(var, on)
        solver = _solver(network, limit / 2)
        status = solver.solve(relaxed.model)
        bound = _proven_bound(solver, relaxed.scale, network, cells)
    return chosen, value, max(bound, value)


def _proven_bound(solver: cp_model.CpSolver, scale: int, network: Network, cells: NetworkCells) -> int:
    """CP-SAT's proven bound of the objective without the tiebreak; if it has none (an
    infinite bound), the plain one: every place at the best score plus every goal covered by
    every mentor at full value."""
    bound = solver.best_objective_bound
    if math.isfinite(bound):
        return int(bound) // scale
    wants = network.wants + np.array([len(_kept_of(network, int(r))) for r in network.rows], np.int64)
    goals = network.cohort.mentees.topics[network.rows].astype(bool).sum(axis=1)
    return int(network.wants.sum()) * FULL + int((goals * wants).sum()) * goal_value(network.settings, 1)


def evaluate(network: Network, cells: NetworkCells, chosen: np.ndarray) -> int:
    """The network part of the objective of a choice of cells: scores + coverage - departments
    (what the model maximises, without its tiebreak), in 1/100 points."""
    cohort, settings = network.cohort, network.settings
    department = mentor_departments(cohort)
    penalty = round(settings.prefer_mixed_departments * POINT)
    total = int(cells.scores[chosen].sum())
    for row in network.rows.tolist():
        mentors = np.concatenate([_kept_of(network, row), cells.cols[chosen & (cells.rows == row)]]).astype(np.int64)
        counts = (cohort.mentors.topics[mentors][:, cohort.mentees.topics[row] > 0] > 0).sum(axis=0)
        total += sum(goal_value(settings, k) for count in counts.tolist() for k in range(1, count + 1))
        known = department[mentors][department[mentors] >= 0]
        total -= penalty * (len(known) - len(np.unique(known)))
    return total


def _result(network: Network, cells: NetworkCells, solution: Solution, chosen: np.ndarray, value: int,
            bound: int) -> NetworkResult:
    """Step 4's solution with the network mentees' pairs replaced by the chosen cells."""
    others = ~np.isin(solution.rows, network.rows)
    rows = np.concatenate([solution.rows[others], cells.rows[chosen]])
    cols = np.concatenate([solution.cols[others], cells.cols[chosen]])
    scores = np.concatenate([solution.scores[others], cells.scores[chosen]])
    order = np.lexsort((cols, rows))
    before: dict[int, set[int]] = {r: set() for r in network.rows.tolist()}
    for r, c in network.linear:
        before[r].add(c)
    after: dict[int, set[int]] = {r: set() for r in network.rows.tolist()}
    for r, c in zip(cells.rows[chosen].tolist(), cells.cols[chosen].tolist()):
        after[r].add(c)
    changed = sum(before[r] != after[r] for r in before)
    improved = dataclasses.replace(solution, rows=rows[order], cols=cols[order], scores=scores[order])
    return NetworkResult(improved, network.rows, value, bound, changed, network.settings)

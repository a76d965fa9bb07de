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
the rules of ``rules.forbidden``, and the fairness floor under ``objective = "fair"``); where
the sets of all of them stay under ``ALL_CANDIDATE_SETS`` every one is a candidate, otherwise the best
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
import itertools
import math
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from mentorcli.config import NetworkSettings
from mentorcli.matching.cohort import BLOCK_CELLS, Cells, Cohort
from mentorcli.matching.criteria import FULL, pair_scores
from mentorcli.matching.grid import score_rows
from mentorcli.matching.rules import solver_allowed
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
    outside_score: np.ndarray
    """Per network mentee: the best score of an allowed mentor with room left out of its list (0: none)."""


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
    network = network_problem(cohort, solution, rows, wants, capacity, kept_rows, kept_cols)
    if network.places == 0:
        return None
    cells = candidate_cells(network)
    chosen, value, bound = solve_network(network, cells)
    return _result(network, cells, solution, chosen, value, bound)


def network_problem(cohort: Cohort, solution: Solution, rows: np.ndarray, wants: np.ndarray, capacity: np.ndarray,
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


SCORED_CELLS = 10_000_000
"""Network mentees' cells scored for candidates at most (in signup order; 20 million took 11.6 s
on a loaded host); the mentees past it keep their step-4 mentors and are bounded plainly (a
fifth of 100,000 signups wanting 2 mentors would need about 400 million: README, Performance)."""

ALL_CANDIDATE_SETS = 3_000
"""Up to this many sets in all, every allowed mentor with room is a candidate (the bundled
example with all of them: 12,000 sets, 45 s of CP-SAT on a loaded host; with 20: 2,500, 2-3 s)."""


def candidate_cells(network: Network) -> NetworkCells:
    """Each network mentee's best ``candidates`` allowed mentors with room by upper value, with
    step 4's cells and the bonus cells always in, and the best upper value left outside."""
    cohort, settings = network.cohort, network.settings
    cols = np.flatnonzero(network.room > 0)
    most = settings.candidates
    if len(network.rows) * _set_count(len(cols), int(network.wants.max(initial=0))) <= ALL_CANDIDATE_SETS:
        most = len(cols)  # every mentor with room: nothing is left out, the model is the whole problem
    forced_rows, forced_cols = _forced_cells(network)
    parts: list[tuple[np.ndarray, ...]] = []
    outside_value = np.full(len(network.rows), -1, np.int64)
    outside_count = np.zeros(len(network.rows), np.int64)
    outside_score = np.zeros(len(network.rows), np.int64)
    step = max(1, BLOCK_CELLS // max(len(cols), 1))
    scored_rows = min(len(network.rows), max(step, SCORED_CELLS // max(len(cols), 1)))
    for start in range(0, scored_rows, step):
        block = network.rows[start:min(start + step, scored_rows)]
        scores, allowed = score_rows(cohort, 0, 0, rows=block, cols=cols)
        if network.threshold is not None:
            allowed &= scores >= network.threshold
        scores = scores.astype(np.int64)
        hits = cohort.mentees.topics[block] @ cohort.mentors.topics[cols].T
        upper = scores + np.rint(hits).astype(np.int64) * round(settings.goal_value * POINT)
        forced = _forced_grid(block, cols, forced_rows, forced_cols) & allowed
        listed = _best_of_each_row(np.where(allowed, upper, -1), most) & allowed | forced
        outside = allowed & ~listed
        outside_value[start:start + len(block)] = np.where(outside, upper, -1).max(axis=1, initial=-1)
        outside_count[start:start + len(block)] = outside.sum(axis=1)
        outside_score[start:start + len(block)] = np.where(outside, scores, 0).max(axis=1, initial=0)
        local, at = np.nonzero(listed)
        parts.append((block[local], cols[at], scores[local, at]))
    if scored_rows < len(network.rows):  # past the budget: step 4's and the bonus cells only, bounded plainly
        parts.append(_unscored(network, network.rows[scored_rows:], forced_rows, forced_cols))
        rest = slice(scored_rows, None)
        outside_count[rest] = len(cols)
        outside_score[rest] = FULL
        goals = (cohort.mentees.topics[network.rows[rest]] > 0).sum(axis=1)
        outside_value[rest] = FULL + goals * round(settings.goal_value * POINT)
    cell_rows, cell_cols, cell_scores = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return NetworkCells(cell_rows, cell_cols, cell_scores, _bonus_units(cohort, cell_rows, cell_cols),
                 outside_value, outside_count, outside_score)


def _unscored(network: Network, rows: np.ndarray, forced_rows: np.ndarray,
              forced_cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The forced cells of mentees past the scoring budget that the rules allow, with their scores."""
    mine = np.isin(forced_rows, rows) & (network.room[forced_cols] > 0)
    r, c = forced_rows[mine], forced_cols[mine]
    keys = np.unique(r * max(len(network.room), 1) + c)
    r, c = keys // max(len(network.room), 1), keys % max(len(network.room), 1)
    cells = Cells.pairs(r, c)
    allowed = solver_allowed(network.cohort, cells)
    if network.threshold is not None:
        allowed &= pair_scores(network.cohort, r, c) >= network.threshold
    r, c = r[allowed], c[allowed]
    return r, c, pair_scores(network.cohort, r, c).astype(np.int64)


def _set_count(width: int, wants: int) -> int:
    """How many sets of up to ``wants`` mentors a list of ``width`` has."""
    return sum(math.comb(width, size) for size in range(wants + 1))


def _forced_cells(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Step 4's cells of the network mentees and their request and choice cells."""
    bonus_rows, bonus_cols = _bonus_cells(network.cohort)
    linear = sorted(network.linear)
    rows = np.concatenate([np.array([c[0] for c in linear], np.int64), bonus_rows])
    cols = np.concatenate([np.array([c[1] for c in linear], np.int64), bonus_cols])
    return rows, cols


def _forced_grid(block: np.ndarray, cols: np.ndarray, rows: np.ndarray, forced_cols: np.ndarray) -> np.ndarray:
    """The forced cells inside the grid ``block`` x ``cols`` (both ascending), as a mask."""
    grid = np.zeros((len(block), len(cols)), bool)
    i = np.searchsorted(block, rows)
    j = np.searchsorted(cols, forced_cols)
    inside = (i < len(block)) & (j < len(cols))
    inside[inside] &= (block[i[inside]] == rows[inside]) & (cols[j[inside]] == forced_cols[inside])
    grid[i[inside], j[inside]] = True
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


# --------------------------------------------------------------------------- candidate sets


@dataclass(frozen=True)
class MentorSets:
    """Every set of candidate mentors each network mentee could get (from none up to its wants),
    with the set's exact value: the model chooses one set per mentee."""

    mentee: np.ndarray
    """Position of the set's mentee in ``Network.rows``."""
    cells: np.ndarray
    """(sets, most wants): the set's cells (indices into ``NetworkCells``), -1 padding."""
    size: np.ndarray
    value: np.ndarray
    """Scores + coverage - departments of the mentee with this set (kept mentors included), 1/100 points."""
    relaxed: np.ndarray
    """``value`` plus the most the mentors outside the candidate list could add (``_outside_gain``)."""
    bonus: np.ndarray
    tiebreak: np.ndarray
    linear: np.ndarray
    """Whether the set is exactly step 4's choice for its mentee."""


def mentor_sets(network: Network, cells: NetworkCells) -> MentorSets:
    """Each mentee's candidate sets, valued for all mentees at once (numpy over padded lists)."""
    count = len(network.rows)
    position = np.searchsorted(network.rows, cells.rows)
    order = np.lexsort((cells.cols, position))
    per = np.bincount(position, minlength=count)
    width = int(per.max(initial=0))
    slot = np.arange(len(order)) - np.repeat(np.cumsum(per) - per, per)
    listed = np.full((count, width), -1, np.int64)
    listed[position[order], slot] = order
    most = int(network.wants.max(initial=0))
    parts = []
    for size in range(most + 1):
        for combo in itertools.combinations(range(width), size):
            picked = listed[:, list(combo)] if size else np.zeros((count, 0), np.int64)
            ok = (picked >= 0).all(axis=1) & (network.wants >= size)
            mentees = np.flatnonzero(ok)
            padded = np.full((len(mentees), most), -1, np.int64)
            padded[:, :size] = picked[mentees]
            parts.append((mentees, padded))
    mentee = np.concatenate([p[0] for p in parts])
    members = np.concatenate([p[1] for p in parts])
    arrange = np.argsort(mentee, kind="stable")
    mentee, members = mentee[arrange], members[arrange]
    size = (members >= 0).sum(axis=1)
    value, counts = _set_values(network, cells, mentee, members)
    relaxed = value + _outside_gain(network, cells, mentee, size, counts)
    pick = lambda values: np.where(members >= 0, values[np.maximum(members, 0)], 0).sum(axis=1)
    is_linear = np.array([(r, c) in network.linear for r, c in zip(cells.rows.tolist(), cells.cols.tolist())], np.int64)
    linear = (pick(is_linear) == size) & (size == _linear_places(network)[mentee])
    return MentorSets(mentee, members, size, value, relaxed, pick(cells.bonus), pick(_tiebreak(network, cells)), linear)


def _outside_gain(network: Network, cells: NetworkCells, mentee: np.ndarray, size: np.ndarray,
                  counts: np.ndarray) -> np.ndarray:
    """The most the mentors outside a set's candidate list could add to it, for the places it
    leaves (up to how many mentors are outside): the less of each place at the best score
    outside plus each of the mentee's goals covered that many times more, and each place at the
    best upper value outside (score + every goal the mentor offers at full value). The
    department term only ever falls as mentors are added."""
    more = np.minimum(network.wants[mentee] - size, cells.outside_count[mentee])
    ladder = _ladder(network.settings, counts.shape[1] and int(counts.max(initial=0)) + int(more.max(initial=0)))
    goals = network.cohort.mentees.topics[network.rows][mentee] > 0
    coverage = np.where(goals, ladder[counts + more[:, None]] - ladder[counts], 0).sum(axis=1)
    each = np.maximum(cells.outside_value[mentee], 0)  # score + every goal the mentor offers at full value
    return np.minimum(more * cells.outside_score[mentee] + coverage, more * each)


def _ladder(settings: NetworkSettings, most: int) -> np.ndarray:
    """``ladder[c]``: the value of one goal covered by ``c`` mentors."""
    return np.cumsum([0] + [goal_value(settings, k) for k in range(1, most + 1)]).astype(np.int64)


def _linear_places(network: Network) -> np.ndarray:
    """Per network mentee: its places in step 4."""
    rows = np.array([r for r, _ in network.linear], np.int64)
    return np.bincount(np.searchsorted(network.rows, rows), minlength=len(network.rows))


def _tiebreak(network: Network, cells: NetworkCells) -> np.ndarray:
    """Per cell, below every difference of the objective:
    ``width + 1`` for a step-4 pair, plus ``width - k`` for the mentee's k-th candidate in signup
    order (``width``: the longest list). Among equally good choices step 4's pairs stay, then
    earlier-signed-up mentors are chosen, as in step 4."""
    linear = np.array([(r, c) in network.linear for r, c in zip(cells.rows.tolist(), cells.cols.tolist())], np.int64)
    start = np.unique(cells.rows, return_index=True)[1]  # cells are in (row, col) order
    rank = np.arange(len(cells.rows)) - np.repeat(start, np.diff(np.append(start, len(cells.rows))))
    width = int(rank.max(initial=0)) + 1
    return (width + 1) * linear + (width - rank)


def _set_values(network: Network, cells: NetworkCells, mentee: np.ndarray,
                members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores + coverage - departments of each set, its mentee's kept mentors counted in, and
    how many of them cover each goal (sets x goals of the vocabulary)."""
    cohort, settings = network.cohort, network.settings
    goals = cohort.mentees.topics[network.rows] > 0
    offers = cohort.mentors.topics > 0
    department = mentor_departments(cohort)
    kept = _kept_matrix(network)
    real = members >= 0
    score = np.where(real, cells.scores[np.maximum(members, 0)], 0).sum(axis=1)
    mentor_cols = np.where(real, cells.cols[np.maximum(members, 0)], -1)
    together = np.concatenate([mentor_cols, kept[mentee]], axis=1)
    present = together >= 0
    covers = offers[np.maximum(together, 0)] & present[:, :, None] & goals[mentee][:, None, :]
    counts = covers.sum(axis=1)
    coverage = _ladder(settings, together.shape[1])[counts].sum(axis=1)
    codes = np.where(present, department[np.maximum(together, 0)], -1)
    codes = np.where(codes >= 0, codes, -1 - np.arange(codes.shape[1]))  # blank: never equal to another
    codes.sort(axis=1)
    repeats = ((codes[:, 1:] == codes[:, :-1]) & (codes[:, 1:] >= 0)).sum(axis=1)
    return score + coverage - round(settings.prefer_mixed_departments * POINT) * repeats, counts


def _kept_matrix(network: Network) -> np.ndarray:
    """Per network mentee: the mentor columns of its kept pairs, -1 padding."""
    count = len(network.rows)
    at = np.searchsorted(network.rows, network.kept_rows)
    mine = (at < count) & (network.rows[np.minimum(at, count - 1)] == network.kept_rows)
    at, cols = at[mine], network.kept_cols[mine]
    per = np.bincount(at, minlength=count)
    out = np.full((count, int(per.max(initial=0))), -1, np.int64)
    order = np.argsort(at, kind="stable")
    slot = np.arange(len(order)) - np.repeat(np.cumsum(per) - per, per)
    out[at[order], slot] = cols[order]
    return out


def mentor_departments(cohort: Cohort) -> np.ndarray:
    """Per mentor column: a code of (organisation, department), -1 where the department is blank."""
    team = cohort.mentors.team
    known = cohort.distinct["team"][team][:, 1] >= 0 if len(team) else np.zeros(0, bool)
    return np.where(known, team, -1).astype(np.int64)


# --------------------------------------------------------------------------- the model and solving


@dataclass
class _Model:
    """The CP-SAT model over the sets of some mentees, and its variables."""

    model: cp_model.CpModel
    z: np.ndarray
    """Indices (into ``MentorSets``) of the sets the variables stand for."""
    variables: list[cp_model.IntVar]
    scale: int


def build_model(network: Network, cells: NetworkCells, sets: MentorSets, mentees: np.ndarray, eligible: np.ndarray, *,
                room: np.ndarray, relaxed: bool, places: int | None = None, bonus: int = 0,
                hint: np.ndarray | None = None) -> _Model:
    """One ``eligible`` set for each mentee of ``mentees`` (positions) within the mentors'
    ``room``; maximise the sets' values, step 4's choice first among equals. ``relaxed``: each
    set worth the most it could be with mentors outside the lists, between ``places`` less the
    places outside the lists and ``places`` in the sets, at least ``bonus`` request units: its
    bound bounds every pairing."""
    model = cp_model.CpModel()
    z = np.flatnonzero(np.isin(sets.mentee, mentees) & eligible)
    variables = [model.new_bool_var(f"z{k}") for k in range(len(z))]
    scale = int(sets.tiebreak.max(initial=0)) * len(mentees) + 1
    for group in np.split(np.arange(len(z)), np.flatnonzero(np.diff(sets.mentee[z])) + 1):
        if len(group):
            model.add_exactly_one(variables[k] for k in group.tolist())
    users: dict[int, list[int]] = {}
    for k, members in enumerate(sets.cells[z].tolist()):
        for cell in members:
            if cell >= 0:
                users.setdefault(int(cells.cols[cell]), []).append(k)
    for col, ks in sorted(users.items()):
        if len(ks) > room[col]:
            model.add(sum(variables[k] for k in ks) <= int(room[col]))
    if places is not None:
        taken = sum(int(sets.size[s]) * variables[k] for k, s in enumerate(z.tolist()) if sets.size[s])
        outside = np.minimum(network.wants, cells.outside_count)[mentees].sum() if relaxed else 0
        model.add_linear_constraint(taken, places - int(outside), places)  # relaxed: some places outside the lists
    if bonus > 0:
        model.add(sum(int(sets.bonus[s]) * variables[k] for k, s in enumerate(z.tolist()) if sets.bonus[s]) >= bonus)
    values = (sets.relaxed if relaxed else sets.value)[z] * scale + sets.tiebreak[z]
    model.maximize(sum(int(v) * var for v, var in zip(values.tolist(), variables) if v))
    hinted = np.zeros(len(sets.mentee), bool)
    if hint is not None:
        hinted[hint] = True
    for k, s in enumerate(z.tolist()):
        model.add_hint(variables[k], bool(hinted[s]))
    return _Model(model, z, variables, scale)


def _solver(limit: float) -> cp_model.CpSolver:
    """One worker, a fixed seed and a deterministic work limit: the same answer on every run."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = limit
    return solver


EXACT_SETS = 20_000
"""Up to this many eligible sets every network mentee is in one model and the bound is CP-SAT's
(the example: about 1,000)."""


POLISH_SETS = 5_000
"""Past ``EXACT_SETS``, CP-SAT re-chooses the sets of the mentees the greedy pass could not serve
their own best only up to this many sets (at 10,000 signups with a fifth wanting 2 mentors the
model had 32,000 and CP-SAT on one worker took minutes: README, Performance)."""


def solve_network(network: Network, cells: NetworkCells) -> tuple[np.ndarray, int, int]:
    """(chosen cells as a mask of ``cells``, value, proven bound), values in 1/100 points.

    Up to ``EXACT_SETS`` candidate sets every network mentee is in one model (step 4's places
    and request units in total); its bound comes from the relaxed model (``MentorSets.relaxed``),
    so "optimal" is proven over every allowed pairing. Past that, each mentee chooses among its
    *eligible* sets (as many mentors as step 4 gave it, at least its request and choice units:
    places and requests hold mentee by mentee): ``_greedy`` serves each its best set that still
    fits, then the mentees it could not serve their own best go to CP-SAT (up to
    ``POLISH_SETS`` sets) with everyone else's mentors fixed (the greedy choice as the hint); the bound is the plain one: every mentee at
    the best any of its sets could be worth, capacity ignored.
    """
    sets = mentor_sets(network, cells)
    count = len(network.rows)
    best = np.full(count, np.iinfo(np.int64).min, np.int64)
    np.maximum.at(best, sets.mentee, sets.relaxed)
    linear_set = np.full(count, -1, np.int64)
    linear_set[sets.mentee[sets.linear]] = np.flatnonzero(sets.linear)
    everyone = np.arange(count)
    exact = len(sets.mentee) <= EXACT_SETS
    eligible = (sets.size == sets.size[linear_set][sets.mentee]) & (sets.bonus >= sets.bonus[linear_set][sets.mentee])
    if exact:  # places and requests in total, as step 4 counts them
        eligible = np.ones(len(sets.mentee), bool)
    own_best = _own_best(sets, eligible, count)
    limit = float(network.settings.solve_limit)
    if exact:
        chosen = linear_set.copy()
        built = build_model(network, cells, sets, everyone, eligible, room=network.room, relaxed=False,
                            places=network.places, bonus=network.bonus, hint=linear_set)
        chosen = _solve(built, sets, chosen, limit / 2)
    else:
        chosen = _greedy(network, cells, sets, eligible, own_best, linear_set)
        short = np.flatnonzero(chosen != own_best)  # served less than their own best: polished by CP-SAT
        if len(short) and int((eligible & np.isin(sets.mentee, short)).sum()) <= POLISH_SETS:
            others = np.setdiff1d(everyone, short)
            used = np.bincount(cells.cols[_cells_of(cells, sets, chosen[others])], minlength=len(network.room))
            built = build_model(network, cells, sets, short, eligible, room=network.room - used[:len(network.room)],
                                relaxed=False, hint=chosen)
            chosen = _solve(built, sets, chosen, limit)
    value = int(sets.value[chosen].sum())
    bound = int(best.sum())
    if exact:
        relaxed = build_model(network, cells, sets, everyone, np.ones(len(sets.mentee), bool), room=network.room,
                              relaxed=True, places=network.places, bonus=network.bonus, hint=chosen)
        solver = _solver(limit / 2)
        if solver.solve(relaxed.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # else no bound was proven
            bound = _proven_bound(solver, relaxed.scale, bound)
    return _cells_of(cells, sets, chosen), value, max(bound, value)


def _solve(built: _Model, sets: MentorSets, chosen: np.ndarray, limit: float) -> np.ndarray:
    """``chosen`` with the sets CP-SAT picked for the model's mentees (as is if it found none)."""
    solver = _solver(limit)
    if solver.solve(built.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        picked = built.z[[solver.boolean_value(v) for v in built.variables]]
        chosen = chosen.copy()
        chosen[sets.mentee[picked]] = picked
    return chosen


def _own_best(sets: MentorSets, eligible: np.ndarray, count: int) -> np.ndarray:
    """Per mentee: its best eligible set on its own (ties: the tiebreak, step 4's set first)."""
    key = sets.value * (int(sets.tiebreak.max(initial=0)) + 1) + sets.tiebreak
    order = np.lexsort((-key, ~eligible, sets.mentee))
    first = np.unique(sets.mentee[order], return_index=True)[1]
    out = np.full(count, -1, np.int64)
    out[sets.mentee[order[first]]] = order[first]
    return out


def _greedy(network: Network, cells: NetworkCells, sets: MentorSets, eligible: np.ndarray,
            own_best: np.ndarray, linear_set: np.ndarray) -> np.ndarray:
    """Per mentee, a set that fits, chosen in order of what the mentee could gain (then signup
    order): its best eligible set that fits the room left, every mentee not yet served keeping
    its step-4 mentors in reserve, so its step-4 set always still fits (a feasible pairing)."""
    room = network.room.astype(np.int64).copy()

    def members(k: int) -> np.ndarray:
        cell = sets.cells[k]
        return cells.cols[cell[cell >= 0]]

    np.subtract.at(room, cells.cols[_cells_of(cells, sets, linear_set)], 1)  # each mentee's step-4 mentors in reserve
    gain = sets.value[own_best] - sets.value[linear_set]
    order = np.lexsort((np.arange(len(gain)), -gain))
    key = sets.value * (int(sets.tiebreak.max(initial=0)) + 1) + sets.tiebreak
    ranked = np.lexsort((-key, sets.mentee))
    starts = np.searchsorted(sets.mentee[ranked], np.arange(len(network.rows) + 1))
    chosen = linear_set.copy()
    for i in order.tolist():
        np.add.at(room, members(int(linear_set[i])), 1)  # the reserve released
        for k in ranked[starts[i]:starts[i + 1]].tolist():
            if eligible[k] and (room[members(k)] > 0).all():
                chosen[i] = k
                break
            if k == own_best[i] and gain[i] == 0:
                break
        np.subtract.at(room, members(int(chosen[i])), 1)
    return chosen


def _cells_of(cells: NetworkCells, sets: MentorSets, chosen: np.ndarray) -> np.ndarray:
    """The cells of the chosen sets, as a mask of ``cells`` (or their indices, for a subset)."""
    members = sets.cells[chosen]
    picked = members[members >= 0]
    mask = np.zeros(len(cells.rows), bool)
    mask[picked] = True
    return mask


def _proven_bound(solver: cp_model.CpSolver, scale: int, plain: int) -> int:
    """CP-SAT's proven bound of the objective without the tiebreak (``plain`` if it has none)."""
    bound = solver.best_objective_bound
    return min(int(bound) // scale, plain) if math.isfinite(bound) else plain


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

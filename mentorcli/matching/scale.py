"""Step 4: the best pairing the rules allow (``optimum``), and the scale machinery behind it.

Each mentee keeps its best ``candidates`` mentors (plus every requested or chosen pair), and
each mentor its best few mentees. ``solve.solve_edges`` solves that exactly; its dual prices
then show whether a pair left out could have improved the result, such pairs are added and
the problem re-solved, so the candidate cut never costs optimality unless a note says so.
Up to ``dense_limit`` cells the whole score matrix is kept and every left-out pair is priced
exactly ("dense"). Past it ("sparse"):

- only pairs who share a goal are scored: a pair who share none scores at most
  ``zero_overlap_bound`` (60 with the default weights), which stands in for them in pricing;
- each row keeps a pool of ``POOL_FACTOR x candidates`` scored mentors, priced exactly after
  every solve; a row is rescored only when the score bound of everything outside its pool
  could still beat a mentor's price, and then only against the mentors priced that high;
  after a round that proved a row's cells, only the cells whose two prices rose since are
  rescored (a cell's reduced cost can turn negative no other way);
- after the first solve only the chosen pairs and pairs near their prices go back to the
  solver; the rest are priced after every solve and return when they could improve it;
- ``objective="fair"``: the floor and the most places are proven over every allowed pair by
  minimum cuts, rescoring only the mentees and mentors on either side of a cut.

Among equally good pairings, places go to the earlier signups.

Design decisions:

- Requests and ranked choices give a bonus in the solver objective, weighted so that one more
  honoured request (a 1st choice more than a 2nd) always beats any amount of score. The
  reported score stays the 0-100 score.
- ``objective="fair"``: the lowest pair score is raised as far as it can go without giving up
  a single place (a literal "lowest score before places" would leave people out to raise the
  minimum); then places, then total.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mentorcli.matching.cohort import Cells, Cohort, MentorColumns, Progress, _blocks
from mentorcli.matching.criteria import FULL, pair_scores, zero_overlap_bound
from mentorcli.matching.grid import score_rows
from mentorcli.matching.rules import solver_allowed
from mentorcli.matching.tiebreak import prefer_earlier_signups
from mentorcli.solve import (
    EXACT_LIMIT,
    Assignment,
    max_places,
    max_places_cut,
    solve_edges,
)

MAX_PRICING_ROUNDS = 8
PRICING_SLACK = FULL // 10
"""A row with a violated left-out pair also gets its near misses: reduced cost below this (10 score points)."""
PRICING_ADD = 20
"""At most this many left-out pairs added per violated row in one pricing round."""
MAX_CUT_ROUNDS = 50
"""Minimum-cut checks before the sparse fair objective's most places or floor is given up as unproven."""
CUT_ADD = 20
"""At most this many left-out pairs across a minimum cut added per mentee in one round."""
SOLVE_SLACK = FULL // 40
"""After the first solve, only the chosen pairs and known pairs with reduced cost up to this
(2.5 score points) are offered again; the rest are priced after each solve like any left-out
pair: later solves then get far fewer pairs, and pairs that far from their prices almost never
enter the optimum (measured: README, Performance, Design measurements)."""
MENTOR_SIDE_CANDIDATES = 10
"""Besides each mentee's best mentors, each mentor's best this many mentees are offered to the solver."""
POOL_FACTOR = 2
"""Each mentee's best ``POOL_FACTOR x candidates`` scored mentors are kept to price after each solve."""
PRUNE_SHARE = 0.6
"""Score only pairs who share a goal when that is at most this share of all cells (see ``_score_groups``)."""
SLAB_ROWS = 32
"""Each mentor's best mentee in every this many scored rows is a candidate for its best few
(a power of two: the row's place in its slab is packed into the low bits of the score)."""
SLAB_BITS = (SLAB_ROWS - 1).bit_length()

EXPAND_ROWS = 256
"""Expand the look-up tables for a set of mentors only for at least this many mentee rows: the
tables have about a thousand rows in all, so for fewer the expansion costs more than it saves."""
MIN_GROUP_CELLS = 1 << 18
"""Rows priced against fewer cells than this are priced with the next larger group."""
FIRST_ROUND_PER_OCTAVE = 1
"""The first pricing round rounds each row's price prefix up to a power of two (later rounds to
a quarter of one): the extra mentors give its many violated rows more near misses, which can
save a whole solve round (measured: README, Performance, Design measurements)."""

def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _run_tasks(fn: Callable[..., Any], tasks: list[tuple[tuple, int]], consume: Callable[[int, Any], None],
               progress: Progress | None, stage: str) -> None:
    """Run ``fn(*args)`` for each ``(args, size)`` task on a few threads (numpy releases the GIL)
    and hand each result to ``consume(index, result)`` in task order, so nothing depends on timing."""
    total = sum(size for _, size in tasks)
    done = 0
    if len(tasks) <= 1 or _workers() == 1:
        for k, (args, size) in enumerate(tasks):
            consume(k, fn(*args))
            done += size
            if progress:
                progress(stage, done, total)
        return
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        futures = [pool.submit(fn, *args) for args, _ in tasks]
        for k, future in enumerate(futures):
            consume(k, future.result())
            futures[k] = None  # type: ignore[call-overload]
            done += tasks[k][1]
            if progress:
                progress(stage, done, total)


# --------------------------------------------------------------------------- candidates


Edges = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(mentee rows, mentor cols, scores) of pairs: scored, offered to the solver, or found by pricing."""


EMPTY_EDGES: Edges = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


def _concat(parts: list[Edges]) -> Edges:
    """The edges of all ``parts`` in one (rows, cols, scores)."""
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3)) if parts else EMPTY_EDGES  # type: ignore[return-value]


@dataclass
class Candidates:
    """The pairs offered to the solver, and the scored pairs kept for pricing the rest.

    ``rows/cols/scores``: each mentee's best ``candidates`` mentors and each mentor's best
    mentees (offered to the solver). ``pool_*``: each mentee's best ``POOL_FACTOR x candidates``
    scored mentors (priced exactly after each solve, without rescoring). ``kth``: an upper bound
    on the score of every allowed pair outside the pool (-1: there is none); ``cut``: whether the
    row may have such pairs. ``dense``: the whole score matrix (int16, -1 = not allowed) when
    it was kept.
    """

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    pool_rows: np.ndarray
    pool_cols: np.ndarray
    pool_scores: np.ndarray
    kth: np.ndarray
    cut: np.ndarray
    dense: np.ndarray | None


def _score_groups(cohort: Cohort) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], np.ndarray, int | None]:
    """Which cells to score, as (mentee rows, mentor cols or None = all) groups; which rows have
    allowed cells left unscored; and the bound on those cells' scores.

    A pair who share no goal scores at most ``zero_overlap_bound``, and a mentee's best mentors
    nearly always share a goal, so only such pairs are scored: per goal option, the mentees who
    want it x the mentors who offer it (a pair sharing two goals is scored twice, the same
    number); mentees without goals x every mentor; every mentee x the mentors in no such group.
    The pricing after each solve treats the bound as the score of every unscored cell, so this
    never costs optimality. Every cell is scored when that is not much more work.
    """
    n, m = cohort.shape
    everyone: list[tuple[np.ndarray, np.ndarray | None]] = [(np.arange(n), None)]
    bound = zero_overlap_bound(cohort)
    if bound is None or bound >= FULL or not n or not m:
        return everyone, np.zeros(n, bool), None
    mentees, mentors = cohort.mentees, cohort.mentors
    rows_with = mentees.topics_given.astype(bool)
    in_no_group = mentors.topic_count == 0  # offer nothing, or nothing any mentee wants
    wanted, offered = mentees.topics > 0, mentors.topics > 0
    per_goal = wanted.sum(axis=0).astype(np.int64) * offered.sum(axis=0).astype(np.int64)
    cells = int(per_goal.sum()) + int((~rows_with).sum()) * m + int(rows_with.sum()) * int(in_no_group.sum())
    if cells > PRUNE_SHARE * n * m:
        return everyone, np.zeros(n, bool), None
    groups: list[tuple[np.ndarray, np.ndarray | None]] = [
        (np.flatnonzero(wanted[:, t]), np.flatnonzero(offered[:, t])) for t in np.flatnonzero(per_goal)]
    if (~rows_with).any():
        groups.append((np.flatnonzero(~rows_with), None))
    if in_no_group.any() and rows_with.any():
        groups.append((np.flatnonzero(rows_with), np.flatnonzero(in_no_group)))
    return groups, rows_with, bound


@dataclass
class _Keys:
    """How a cell's score and position become one sortable integer.

    ``score << bits | (mentor tiebreak)``: unique within a row, larger = better, the earlier
    mentor first on equal scores.
    """

    bits: int
    dtype: type
    tiebreak: np.ndarray

    @classmethod
    def of(cls, m: int) -> _Keys:
        bits = max(1, int(m).bit_length())
        dtype = np.int32 if (FULL + 1) << bits < np.iinfo(np.int32).max else np.int64
        return cls(bits, dtype, ((1 << bits) - 1 - np.arange(m)).astype(dtype))


def _score_chunk(cohort: Cohort, rows: np.ndarray, cols: np.ndarray | None, columns: MentorColumns,
                 keys: _Keys, pool: int, keep_matrix: bool, mentor_floor: np.ndarray):
    """Score one block; return its cells among each row's best ``pool``, each mentor's best
    mentee in it, and (dense) its scores."""
    scores, allowed = score_rows(cohort, 0, 0, rows=rows, cols=cols, columns=columns)
    np.putmask(scores, ~allowed, np.int16(-1))  # every key built from a -1 is negative: never picked
    mentors = np.arange(len(cohort.mentors)) if cols is None else cols
    key = np.left_shift(scores, keys.bits, dtype=keys.dtype)
    key |= keys.tiebreak[mentors][None, :]
    width = key.shape[1]
    if width > pool:
        # partition (not argpartition) finds each row's pool-th key; a comparison then picks the cells
        threshold = np.partition(key, width - pool, axis=1)[:, width - pool]
        chosen = key >= np.maximum(threshold, 0)[:, None]
    else:
        chosen = allowed
    local, at = _nonzero_cells(chosen)
    return (rows[local], mentors[at], key[local, at], _slab_best(scores, rows, mentors, mentor_floor),
            scores if keep_matrix else None)


def _nonzero_cells(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D mask, faster (a flat index and one divmod)."""
    flat = np.flatnonzero(mask)
    return np.divmod(flat, max(mask.shape[1], 1))


def _slab_best(scores: np.ndarray, rows: np.ndarray, mentors: np.ndarray, mentor_floor: np.ndarray) -> Edges:
    """(rows, cols, scores): each mentor's best mentee in every slab of ``SLAB_ROWS`` rows of a
    block (ties: the earlier signup; ``scores`` -1 = not allowed): a few good mentees per mentor
    for the cost of one max. Maxima below the mentor's floor (``_MentorBest``) cannot be among
    its best and are dropped.

    The max runs over ``score << SLAB_BITS | (SLAB_ROWS - 1 - row in slab)``: the best score and,
    among equals, the earliest row in one number (an argmax over the middle axis costs far more).
    """
    height, width = scores.shape
    lowest = mentor_floor[mentors]
    position = np.arange(SLAB_ROWS - 1, -1, -1, dtype=np.int32)[None, :, None]
    found = []
    for start in range(0, height, SLAB_ROWS * 64):
        part = scores[start:start + SLAB_ROWS * 64]
        slabs = -(-len(part) // SLAB_ROWS)
        packed = np.full((slabs * SLAB_ROWS, width), -1, np.int32)
        np.left_shift(part, SLAB_BITS, out=packed[:len(part)], dtype=np.int32)
        stacked = packed.reshape(slabs, SLAB_ROWS, width)
        stacked |= position
        top = stacked.max(axis=1)  # (slabs, width)
        slab, col = _nonzero_cells((top >= 0) & ((top >> SLAB_BITS) >= lowest))
        best = top[slab, col]
        found.append((rows[start + slab * SLAB_ROWS + SLAB_ROWS - 1 - (best & (SLAB_ROWS - 1))], mentors[col],
                      (best >> SLAB_BITS).astype(np.int64)))
    return _concat(found)


def _rank_in_runs(keys: np.ndarray) -> np.ndarray:
    """Each element's place in its run of equal ``keys`` (sorted): 0 for the first of a row's or a
    mentor's cells, 1 for the next... Linear, where a searchsorted of the keys in themselves is not."""
    index = np.arange(len(keys))
    first = np.ones(len(keys), bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return index - np.maximum.accumulate(np.where(first, index, 0))


def _best_per_mentor(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray,
                     most: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each mentor's ``most`` best mentees among the given cells (ties: earlier signup first),
    each cell once (a cell scored in two goal groups comes twice), sorted by mentor.

    Offering the solver only each mentee's best mentors leaves out what popular mentees are to a
    mentor, and the first pricing round then finds violations in nearly every row; a few best
    mentees per mentor cost few edges and save solver rounds. The cells are each mentor's best
    mentee of every scored slab: an exact top few per column over every block cost more than
    the scoring itself, and the pools alone left many more first-round violations. See ``_slab_best``.
    """
    if most <= 0 or not len(rows):
        return rows[:0], cols[:0], scores[:0]
    row_bits, score_bits = int(rows.max()).bit_length(), int(FULL + 1).bit_length()
    if int(cols.max()).bit_length() + score_bits + row_bits < 63:  # one int64 sort: several times faster than lexsort
        composite = np.sort(((cols.astype(np.int64) << score_bits | (FULL - scores.astype(np.int64))) << row_bits) | rows)
        rows = composite & ((1 << row_bits) - 1)
        scores = FULL - ((composite >> row_bits) & ((1 << score_bits) - 1))
        cols = composite >> (row_bits + score_bits)
    else:
        order = np.lexsort((rows, -scores, cols))
        rows, cols, scores = rows[order], cols[order], scores[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, scores = rows[first], cols[first], scores[first]
    rank = _rank_in_runs(cols)
    keep = rank < most
    return rows[keep], cols[keep], scores[keep]


class _MentorBest:
    """Each mentor's best few mentees among the cells seen so far.

    Folded whenever the cells waiting reach a few times what is kept: the slab maxima of a
    large cohort are far more cells than the kept ones, too many to hold at once. Each fold raises
    ``floor``, the score a mentee must reach to still be among a mentor's best (ties kept, so
    what is kept never depends on when a block sees the floor); blocks drop the rest at once.
    """

    def __init__(self, most: int, m: int):
        self.most = most
        self.limit = max(1 << 22, 4 * m * most)
        self.parts: list[Edges] = []
        self.size = 0
        self.floor = np.full(m, -1, np.int64)

    def add(self, cells: Edges) -> None:
        self.parts.append(cells)
        self.size += len(cells[0])
        if self.size > self.limit:
            self._fold()

    def _fold(self) -> None:
        if self.parts:
            kept = _best_per_mentor(*_concat(self.parts), self.most)
            self.parts, self.size = [kept], len(kept[0])
            _, cols, scores = kept
            full = np.flatnonzero(np.bincount(cols, minlength=len(self.floor)) >= self.most)
            if self.most > 0 and len(full):
                last = np.searchsorted(cols, full) + self.most - 1
                np.maximum.at(self.floor, full, scores[last])

    def cells(self) -> Edges:
        self._fold()
        return self.parts[0] if self.parts else EMPTY_EDGES


def _rank_in_rows(rows: np.ndarray, cols: np.ndarray, keys: np.ndarray, n: int,
                  key_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The scored cells sorted by row, best first, each cell once; with each cell's rank in its row."""
    top = np.int64((1 << key_bits) - 1)
    composite = (rows.astype(np.int64) << key_bits) | (top - keys.astype(np.int64))
    composite = np.sort(composite)  # np.unique would hash: several times slower here
    first = np.ones(len(composite), bool)
    first[1:] = composite[1:] != composite[:-1]  # a cell scored in two goal groups counts once
    composite = composite[first]
    rows = composite >> key_bits
    keys = top - (composite & top)
    starts = np.searchsorted(rows, np.arange(n))
    return rows, keys, _rank_in_runs(rows), starts


def top_candidates(cohort: Cohort, k: int, *, dense: bool, progress: Progress | None = None) -> Candidates:
    """Each mentee's best ``k`` allowed mentors (ties: earlier signup first) and its pricing pool.

    Scores the cells ``_score_groups`` selects, block by block; every row's best
    ``POOL_FACTOR x k`` are kept, the best ``k`` offered. With ``dense`` every cell is scored and
    the whole matrix kept for exact pricing later.
    """
    n, m = cohort.shape
    keys = _Keys.of(m)
    pool = k if dense else POOL_FACTOR * k
    groups, unscored, bound = ([(np.arange(n), None)], np.zeros(n, bool), None) if dense else _score_groups(cohort)
    tasks: list[tuple[tuple, int]] = []
    columns = [cohort.columns() if cols is None else MentorColumns(cols) for _, cols in groups]
    left = [0] * len(groups)
    for g, (rows, cols) in enumerate(groups):
        width = m if cols is None else len(cols)
        for r0, r1 in _blocks(len(rows), width):
            tasks.append(((g, r0, r1), (r1 - r0) * width))
            left[g] += 1
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    column_best = _MentorBest(MENTOR_SIDE_CANDIDATES, m)
    stored: list[np.ndarray] = []

    def score(g: int, r0: int, r1: int):
        rows, cols = groups[g]
        return _score_chunk(cohort, rows[r0:r1], cols, columns[g], keys, pool, dense, column_best.floor)

    def consume(index: int, result) -> None:
        g = tasks[index][0][0]
        rows, cols, cell_keys, best, matrix = result
        found.append((rows, cols, cell_keys))
        column_best.add(best)
        if matrix is not None:
            stored.append(matrix)
        left[g] -= 1
        if not left[g]:
            columns[g] = MentorColumns(None)  # free the group's expanded tables

    _run_tasks(score, tasks, consume, progress, "score")
    key_bits = keys.bits + int(FULL + 1).bit_length()
    rows, cols, cell_keys = _concat(found)
    rows, cell_keys, rank, starts = _rank_in_rows(rows, cols, cell_keys, n, key_bits)
    cols = (1 << keys.bits) - 1 - (cell_keys & ((1 << keys.bits) - 1))
    scores = cell_keys >> keys.bits
    in_pool = rank < pool
    count = np.bincount(rows, minlength=n) if n else np.zeros(0, np.int64)
    kth = np.full(n, -1, np.int64)
    full = np.flatnonzero(count >= pool)
    kth[full] = scores[starts[full] + pool - 1]
    if bound is not None:
        kth[unscored] = np.maximum(kth[unscored], bound)
    rows, cols, scores, rank = rows[in_pool], cols[in_pool], scores[in_pool], rank[in_pool]
    offered = rank < k
    extra = column_best.cells()
    o_rows, o_cols, o_scores = _merge(np.concatenate([rows[offered], extra[0]]), np.concatenate([cols[offered], extra[1]]),
                                      np.concatenate([scores[offered], extra[2]]), m)
    matrix = (np.concatenate(stored) if stored else np.zeros((0, m), np.int16)) if dense else None
    return Candidates(o_rows.astype(np.int64), o_cols.astype(np.int64), o_scores.astype(np.int64),
                      rows, cols, scores, kth, kth >= 0, matrix)


# --------------------------------------------------------------------------- solving


@dataclass
class Solution:
    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    assignment: Assignment
    method: str
    rounds: int
    threshold: int | None
    unit: int
    certified: bool


def _bonus_units(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if not len(cohort.bonus) or not len(rows):
        return np.zeros(len(rows), np.int64)
    width = max(len(cohort.mentors), 1)
    per_cell = cohort.bonus.groupby(["row", "col"], sort=True)["units"].sum()
    keys = per_cell.index.get_level_values(0).to_numpy() * width + per_cell.index.get_level_values(1).to_numpy()
    want = rows * width + cols
    pos = np.clip(np.searchsorted(keys, want), 0, max(len(keys) - 1, 0))
    hit = keys[pos] == want if len(keys) else np.zeros(len(want), bool)
    return np.where(hit, per_cell.to_numpy()[pos], 0).astype(np.int64)


def _bonus_cells(cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    if not len(cohort.bonus):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cells = cohort.bonus[["row", "col"]].drop_duplicates().sort_values(["row", "col"])
    rows, cols = cells["row"].to_numpy(np.int64), cells["col"].to_numpy(np.int64)
    allowed = solver_allowed(cohort, Cells.pairs(rows, cols))
    return rows[allowed], cols[allowed]


def _bonus_unit(cohort: Cohort, wants: np.ndarray, capacity: np.ndarray, max_units: int) -> tuple[int, bool]:
    """Weight of one bonus unit: more than every score together, unless that breaks exact arithmetic."""
    bound = int(min(wants.sum(), capacity.sum()))
    unit = bound * FULL + 1
    if max_units == 0:
        return unit, True
    while unit > 1:
        wmax = FULL + max_units * unit
        if 4 * (bound * (wmax + 2) + 1 + wmax + 2) < EXACT_LIMIT:
            return unit, unit == bound * FULL + 1
        unit //= 2
    return 1, False


class _Problem:
    """The solver's view: candidate edges, their integer weights, wants and capacities left."""

    def __init__(self, cohort: Cohort, wants: np.ndarray, capacity: np.ndarray, threshold: int | None):
        self.cohort = cohort
        self.wants = wants
        self.capacity = capacity
        self.threshold = threshold
        units = cohort.bonus.groupby(["row", "col"])["units"].sum() if len(cohort.bonus) else pd.Series(dtype=int)
        self.max_units = int(units.max()) if len(units) else 0
        self.unit, self.strict = _bonus_unit(cohort, wants, capacity, self.max_units)
        self.wmax = FULL + self.max_units * self.unit

    def weights(self, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return scores.astype(np.int64) + _bonus_units(self.cohort, rows, cols) * self.unit

    def solve(self, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray) -> Assignment:
        return solve_edges(rows, cols, self.weights(rows, cols, scores), self.wants, self.capacity, wmax=self.wmax)


def _first_of_each(rows: np.ndarray, cols: np.ndarray, width: int) -> np.ndarray:
    """Where each distinct pair first occurs, in (row, col) order."""
    return np.unique(rows * max(width, 1) + cols, return_index=True)[1]


def _merge(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, width: int) -> Edges:
    """Each pair once (its first occurrence), sorted by (row, col) as the solver wants them."""
    first = _first_of_each(rows, cols, width)
    return rows[first], cols[first], scores[first]


def _merge_flagged(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, flags: np.ndarray, extra: Edges,
                   width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``_merge`` of the known pairs and ``extra`` that carries a flag per pair along (``flags``
    covers both, known first)."""
    rows, cols, scores = _concat([(rows, cols, scores), extra])
    first = _first_of_each(rows, cols, width)
    return rows[first], cols[first], scores[first], flags[first]


def _sorted_contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.isin`` against keys sorted once: ``isin`` re-sorts them on every call (most of a 10k solve)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _closest_cells(reduced: np.ndarray, slack: float, most: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the cells with reduced cost below ``slack``, at most ``most`` of the lowest.

    Adding only the violated cells makes the next solve violate the ones just above them (one
    re-solve per handful of pairs); adding every cell would bloat the problem. The near misses of
    a violated row are what the next optimum most likely needs.
    """
    k = min(most, reduced.shape[1])
    if k < reduced.shape[1]:
        part = np.argpartition(reduced, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(reduced.shape[1]), reduced.shape)
    values = np.take_along_axis(reduced, part, axis=1)
    local, pos = _nonzero_cells(values < slack)
    return local, part[local, pos]


def _negative_reduced(cohort: Cohort, problem: _Problem, assignment: Assignment,
                      groups: list[tuple[np.ndarray, np.ndarray | None]], offered_keys: np.ndarray,
                      matrix: np.ndarray | None = None) -> tuple[Edges, np.ndarray]:
    """Allowed cells of the grids ``rows`` x ``cols`` (None = every mentor) of ``groups`` not yet
    offered whose reduced cost is negative: the pairs that could still improve the pairing, and
    the rows that had any (sorted). Blocks are rescored on a few threads (most of a pricing round)."""
    m = len(cohort.mentors)
    columns = [MentorColumns(cols) if cols is not None and len(rows) >= EXPAND_ROWS else None for rows, cols in groups]
    tasks = [((g, r0, r1), (r1 - r0) * (m if cols is None else len(cols)))
             for g, (rows, cols) in enumerate(groups) for r0, r1 in _blocks(len(rows), m if cols is None else len(cols))]
    found: list[tuple[Edges, np.ndarray]] = []

    def price(g: int, r0: int, r1: int) -> tuple[Edges, np.ndarray]:
        rows, cols = groups[g]
        return _block_violations(cohort, problem, assignment, rows[r0:r1], cols, columns[g], offered_keys, matrix)

    _run_tasks(price, tasks, lambda _, result: found.append(result), None, "price")
    violated = np.unique(np.concatenate([rows for _, rows in found])) if found else np.zeros(0, np.int64)
    return _concat([edges for edges, _ in found]), violated


def _block_violations(cohort: Cohort, problem: _Problem, assignment: Assignment, block_rows: np.ndarray,
                      cols: np.ndarray | None, columns: MentorColumns | None, offered_keys: np.ndarray,
                      matrix: np.ndarray | None) -> tuple[Edges, np.ndarray]:
    """``_negative_reduced`` for one block of rows: each violated row's near misses not yet
    offered, and the violated rows."""
    width = max(len(cohort.mentors), 1)
    mentors = np.arange(len(cohort.mentors)) if cols is None else cols
    if matrix is not None:
        scores = matrix[block_rows].astype(np.int64)
        allowed = scores >= 0
    else:
        scores, allowed = score_rows(cohort, 0, 0, rows=block_rows, cols=cols, columns=columns)
        scores = scores.astype(np.int64)
    if problem.threshold is not None:
        allowed &= scores >= problem.threshold
    reduced = assignment.reduced_cost(block_rows[:, None], mentors[None, :], scores)
    reduced[~allowed] = np.inf
    violated = (reduced < 0).any(axis=1)
    if not violated.any():
        return EMPTY_EDGES, block_rows[:0]
    local, at = _closest_cells(reduced[violated], PRICING_SLACK, PRICING_ADD)
    local = np.flatnonzero(violated)[local]
    row, col = block_rows[local], mentors[at]
    fresh = ~_sorted_contains(offered_keys, row * width + col)
    return (row[fresh], col[fresh], scores[local, at][fresh]), block_rows[violated]


@dataclass
class _Priced:
    """One pricing round's prices and the rows it found with negative reduced costs outside the
    pools: what lets the next round skip the cells whose reduced cost can only have grown."""

    mentee_price: np.ndarray
    mentor_price: np.ndarray
    violated: np.ndarray
    """Sorted rows that had a negative reduced cost among their rescored cells."""


def _price_rises(assignment: Assignment, before: _Priced | None, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each of ``rows``' price and each mentor's price rose since ``before`` (+inf where
    a row must be priced against every mentor again: no earlier round, a violated row, a price
    that was not finite; -inf for a mentor with no place, who can never be priced under).

    A cell whose reduced cost was >= 0 then is negative now only if its row's rise plus its
    mentor's rise is above 0: the reduced cost is the cost minus both prices.
    """
    mentor_price = assignment.mentor_price
    if before is None:
        return np.full(len(rows), np.inf), np.where(np.isfinite(mentor_price), np.inf, -np.inf)
    with np.errstate(invalid="ignore"):
        row_rise = assignment.mentee_price[rows] - before.mentee_price[rows]
        mentor_rise = np.where(np.isfinite(mentor_price), mentor_price - before.mentor_price, -np.inf)
    row_rise[~np.isfinite(before.mentee_price[rows]) | _sorted_contains(before.violated, rows)] = np.inf
    return row_rise, mentor_rise


def _rounded_sizes(need: np.ndarray, most: int, per_octave: int = 4) -> np.ndarray:
    """``need`` rounded up to one of ``per_octave`` sizes per power of two (at least 16, at most
    ``most``): grouping rows by it scores at most 1 / ``per_octave`` more cells than they need."""
    need = np.maximum(need, 16)
    step = 1 << np.maximum(np.floor(np.log2(need)).astype(np.int64) - int(np.log2(per_octave)), 0)
    return np.minimum(most, -(-need // step) * step)


def _prefix_groups(rows: np.ndarray, need: np.ndarray, order: np.ndarray, m: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Rows that each need the first ``need`` mentors of ``order``, as (rows, sorted cols) groups
    by that need rounded up (``_rounded_sizes``). A group under ``MIN_GROUP_CELLS`` joins the
    next larger one: rescoring a group has a fixed cost, and hundreds of tiny ones cost more
    than the cells they save."""
    keep = need > 0
    rows, size = rows[keep], _rounded_sizes(need[keep], len(order))
    groups: list[tuple[np.ndarray, np.ndarray | None]] = []
    waiting = rows[:0]
    widths = np.unique(size).tolist()
    for k, width in enumerate(widths):
        members = np.concatenate([waiting, rows[size == width]])
        if len(members) * width < MIN_GROUP_CELLS and k < len(widths) - 1:
            waiting = members
            continue
        groups.append((np.sort(members), None if width >= m else np.sort(order[:width])))
        waiting = rows[:0]
    return groups


def _rising_groups(rows: np.ndarray, cols: np.ndarray, row_rise: np.ndarray, mentor_rise: np.ndarray,
                   m: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Of the grid ``rows`` x ``cols``, the cells whose row and mentor prices rose by more than 0
    together, as groups: with ``cols`` sorted by their mentor's rise, each row needs a prefix."""
    rise = mentor_rise[cols]
    by_rise = cols[np.argsort(-rise, kind="stable")]
    need = len(cols) - np.searchsorted(np.sort(rise), -row_rise, side="right")
    return _prefix_groups(rows, need, by_rise, m)


def _pricing_groups(assignment: Assignment, cand: Candidates, wants: np.ndarray, before: _Priced | None,
                    only: np.ndarray | None = None, slack: float = 0) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Which cells outside the pools must be rescored to price them: (mentee rows, mentor cols) groups.

    A cell outside a row's pool scores at most the row's ``kth``, so its reduced cost is at
    least ``cost(kth) - mentee price - mentor price``: it can be negative only with a mentor
    priced above ``cost(kth) - mentee price``. With the mentors sorted by price, each row needs
    a prefix of them (widened by ``slack``: the mentors a row's near misses can come from);
    rows are grouped by that prefix rounded up (``_rounded_sizes``). Of a prefix, only the
    mentors whose price rose more than the row's fell since ``before`` can have turned negative
    (``_price_rises``): a fraction of the cells after the first round, none in the last. ``only``: these rows (sorted) and no others. None = every mentor.
    """
    price = assignment.mentor_price
    m = len(price)
    open_rows = np.flatnonzero(cand.cut & (wants > 0) & np.isfinite(assignment.mentee_price))
    if only is not None:
        open_rows = open_rows[_sorted_contains(only, open_rows)]
    row_cost = assignment.cost(cand.kth[open_rows]) - assignment.mentee_price[open_rows] - slack
    need = m - np.searchsorted(np.sort(price), row_cost, side="right")
    open_rows, need = open_rows[need > 0], need[need > 0]
    if not len(open_rows):
        return []
    size = _rounded_sizes(need, m, FIRST_ROUND_PER_OCTAVE if before is None and only is None else 4)
    by_price = np.argsort(-price, kind="stable")
    row_rise, mentor_rise = _price_rises(assignment, before, open_rows)
    groups: list[tuple[np.ndarray, np.ndarray | None]] = []
    for width in np.unique(size).tolist():
        within = size == width
        groups += _rising_groups(open_rows[within], by_price[:width], row_rise[within], mentor_rise, m)
    return groups


def _pool_violations(problem: _Problem, assignment: Assignment, cand: Candidates,
                     offered_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool cells not yet offered whose reduced cost is negative, with their rows' near misses
    (reduced cost below ``PRICING_SLACK``, at most ``PRICING_ADD`` a row): priced without rescoring."""
    width = max(len(problem.capacity), 1)
    rows, cols, scores = cand.pool_rows, cand.pool_cols, cand.pool_scores
    fresh = ~_sorted_contains(offered_keys, rows * width + cols)
    if problem.threshold is not None:
        fresh &= scores >= problem.threshold
    rows, cols, scores = rows[fresh], cols[fresh], scores[fresh]
    reduced = assignment.reduced_cost(rows, cols, scores)
    violated = np.unique(rows[reduced < 0])
    near = _sorted_contains(violated, rows) & (reduced < PRICING_SLACK)
    rows, cols, scores, reduced = rows[near], cols[near], scores[near], reduced[near]
    order = np.lexsort((cols, reduced, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    rank = _rank_in_runs(rows)
    keep = rank < PRICING_ADD
    return rows[keep], cols[keep], scores[keep]


def _violations(cohort: Cohort, problem: _Problem, cand: Candidates, assignment: Assignment,
                offered: tuple[np.ndarray, np.ndarray, np.ndarray],
                before: _Priced | None = None) -> tuple[Edges, _Priced]:
    """Allowed pairs left out of the candidates whose dual reduced cost is negative, and what this
    round proved for the next (``before``: what the previous round of the same solve proved)."""
    n, m = cohort.shape
    rows, cols, _ = offered
    offered_keys = np.sort(rows * max(m, 1) + cols)  # sort, not np.unique: its hashing is slow here
    if cand.dense is not None:
        extra, violated = _negative_reduced(cohort, problem, assignment, [(np.arange(n), None)], offered_keys,
                                            cand.dense)
    else:
        groups = _pricing_groups(assignment, cand, problem.wants, before)
        extra, violated = _negative_reduced(cohort, problem, assignment, groups, offered_keys)
        if before is not None and len(violated):  # their near misses among every mentor, not only the risen
            groups = _pricing_groups(assignment, cand, problem.wants, None, violated, PRICING_SLACK)
            extra, violated = _negative_reduced(cohort, problem, assignment, groups, offered_keys)
        extra = _concat([_pool_violations(problem, assignment, cand, offered_keys), extra])
    return extra, _Priced(assignment.mentee_price, assignment.mentor_price, violated)


@dataclass
class _Floor:
    """The fairness floor: the highest lowest score that still allows the most places."""

    value: int
    edges: Edges
    """The offered pairs, with every pair the floor's proof had to add."""
    places: int
    """The most places (the floor never gives one up)."""
    proven: bool
    """Both the most places and the floor are proven over every allowed pair, not only the offered ones."""


def _highest_floor(edges: Edges, wants: np.ndarray, capacity: np.ndarray, target: int, lowest: int) -> int:
    """The highest score value >= ``lowest`` among ``edges`` whose pairs scoring at least it still
    reach ``target`` places (binary search + max flow). Scoring >= ``lowest`` must reach it."""
    rows, cols, scores = edges
    values = np.unique(scores[scores >= lowest])
    lo, hi = 0, len(values) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        keep = scores >= values[mid]
        if max_places(rows[keep], cols[keep], wants, capacity) == target:
            lo = mid
        else:
            hi = mid - 1
    return int(values[lo])


def _threshold(cohort: Cohort, cand: Candidates, wants: np.ndarray, capacity: np.ndarray, offered: Edges) -> _Floor:
    """The highest lowest-score at which as many places can still be filled.

    Dense: binary search + max flow over the whole score matrix. Sparse: the offered pairs are
    not enough (they may reach fewer places than all pairs, so the floor would be searched for
    the wrong target), see ``_exact_floor``.
    """
    if cand.dense is None:
        return _exact_floor(cohort, cand, wants, capacity, offered)
    rows, cols = _nonzero_cells(cand.dense >= 0)
    scores = cand.dense[rows, cols].astype(np.int64)
    target = max_places(rows, cols, wants, capacity)
    if target == 0 or not len(scores):
        return _Floor(0, offered, target, True)
    return _Floor(_highest_floor((rows, cols, scores), wants, capacity, target, 0), offered, target, True)


def _exact_floor(cohort: Cohort, cand: Candidates, wants: np.ndarray, capacity: np.ndarray, offered: Edges) -> _Floor:
    """The fairness floor from candidate lists, proven over every allowed pair.

    1. The most places over every allowed pair: ``_most_places``; the pairs it returns reach them.
    2. A floor those pairs reach is reachable for real: binary search over them.
    3. One score unit higher must be impossible: a minimum cut of the offered pairs at that
       score proves it unless allowed pairs left out cross the cut (``max_places_cut``); those
       are found by scoring only the cut's mentees against the cut's mentors, added, and 2-3
       repeated. Each round adds pairs or raises the floor, so it ends.
    """
    target, edges, places_proven = _most_places(cohort, cand, wants, capacity, offered)
    if target == 0:
        return _Floor(0, edges, 0, places_proven)
    floor = _highest_floor(edges, wants, capacity, target, int(edges[2].min()))
    for _ in range(MAX_CUT_ROUNDS):
        higher = floor + 1
        if higher > FULL:
            return _Floor(floor, edges, target, places_proven)
        rows, cols, scores = edges
        keep = scores >= higher
        reached, mentees_in, mentors_in = max_places_cut(rows[keep], cols[keep], wants, capacity)
        if reached >= target:
            floor = _highest_floor(edges, wants, capacity, target, higher)
            continue
        across = _pairs_across_cut(cohort, cand, mentees_in & (wants > 0), ~mentors_in & (capacity > 0), higher, edges)
        if reached + len(across[0]) < target:  # the cut, with these pairs across it, still holds
            return _Floor(floor, edges, target, places_proven)
        edges = _with_pairs(edges, _best_per_row(across, CUT_ADD), len(capacity))
    cohort.notes.append(f"fair objective: the fairness floor could not be proven highest within {MAX_CUT_ROUNDS} "
                        "rounds; raise [match] candidates")
    return _Floor(floor, edges, target, False)


def _most_places(cohort: Cohort, cand: Candidates, wants: np.ndarray, capacity: np.ndarray,
                 edges: Edges) -> tuple[int, Edges, bool]:
    """The most places over every allowed pair, the offered pairs (grown) that reach them, and
    whether that is proven.

    A max flow over the offered pairs; its minimum cut proves nothing reaches more unless an
    allowed pair left out crosses the cut. Such pairs are added and the flow repeated. Cheaper
    than a solve with pricing: one max flow usually settles it.
    """
    reached = 0
    for _ in range(MAX_CUT_ROUNDS):
        reached, mentees_in, mentors_in = max_places_cut(edges[0], edges[1], wants, capacity)
        across = _pairs_across_cut(cohort, cand, mentees_in & (wants > 0), ~mentors_in & (capacity > 0), 0, edges)
        if not len(across[0]):
            return reached, edges, True
        edges = _with_pairs(edges, _best_per_row(across, CUT_ADD), len(capacity))
    cohort.notes.append(f"fair objective: the most places could not be proven within {MAX_CUT_ROUNDS} rounds; "
                        "raise [match] candidates")
    return reached, edges, False


def _with_pairs(edges: Edges, more: Edges, width: int) -> Edges:
    """``edges`` and ``more``, each pair once, sorted by (row, col) as the solver wants them."""
    return _merge(*_concat([edges, more]), width)


def _best_per_row(edges: Edges, most: int) -> Edges:
    """Each row's ``most`` best-scoring pairs (ties: the earlier mentor), in the given order.

    The pairs across a cut can be many; a few per mentee are enough for the next flow to move
    the cut, and the next round finds any still needed.
    """
    rows, cols, scores = edges
    order = np.lexsort((cols, -scores, rows))
    rank = np.empty(len(rows), np.int64)
    rank[order] = _rank_in_runs(rows[order])
    keep = rank < most
    return rows[keep], cols[keep], scores[keep]


def _pairs_across_cut(cohort: Cohort, cand: Candidates, mentees: np.ndarray, mentors: np.ndarray, lowest: int,
                      offered: Edges) -> Edges:
    """Allowed pairs not offered yet from a mentee in ``mentees`` to a mentor in ``mentors`` (bool
    masks) scoring at least ``lowest``: the only pairs that can break a cut's proof.

    Pool pairs are scored already; only rows whose pairs outside the pool could score that much
    (``kth >= lowest``) are rescored, and only against ``mentors``.
    """
    _, m = cohort.shape
    width = max(m, 1)
    rows, cols, scores = cand.pool_rows, cand.pool_cols, cand.pool_scores
    pick = mentees[rows] & mentors[cols] & (scores >= lowest)
    parts = [(rows[pick], cols[pick], scores[pick])]
    rescore = np.flatnonzero(mentees & cand.cut & (cand.kth >= lowest))
    if len(rescore) and mentors.any():
        parts.append(_scored_at_least(cohort, rescore, np.flatnonzero(mentors), lowest))
    rows, cols, scores = _concat(parts)
    fresh = ~_sorted_contains(np.sort(offered[0] * width + offered[1]), rows * width + cols)
    return _merge(rows[fresh], cols[fresh], scores[fresh].astype(np.int64), m)


def _scored_at_least(cohort: Cohort, rows: np.ndarray, cols: np.ndarray, lowest: int) -> Edges:
    """The allowed pairs of the grid ``rows`` x ``cols`` scoring at least ``lowest``, scored block by block."""
    columns = MentorColumns(cols)
    tasks = [((r0, r1), (r1 - r0) * len(cols)) for r0, r1 in _blocks(len(rows), len(cols))]
    found: list[Edges] = []

    def score(r0: int, r1: int) -> Edges:
        block = rows[r0:r1]
        scores, allowed = score_rows(cohort, 0, 0, rows=block, cols=cols, columns=columns)
        local, at = _nonzero_cells(allowed & (scores >= lowest))
        return block[local], cols[at], scores[local, at].astype(np.int64)

    _run_tasks(score, tasks, lambda _, result: found.append(result), None, "score")
    return _concat(found)


def solve_cohort(cohort: Cohort, cand: Candidates, wants: np.ndarray, capacity: np.ndarray, objective: str,
                 progress: Progress | None = None) -> Solution:
    """Exact solve over the candidates, adding every left-out pair the dual prices call for."""
    _, m = cohort.shape
    bonus_rows, bonus_cols = _bonus_cells(cohort)
    rows = np.concatenate([cand.rows, bonus_rows])
    cols = np.concatenate([cand.cols, bonus_cols])
    scores = np.concatenate([cand.scores, pair_scores(cohort, bonus_rows, bonus_cols).astype(np.int64)])
    rows, cols, scores = _merge(rows, cols, scores, m)
    threshold = None
    floor: _Floor | None = None
    if objective == "fair":
        floor = _threshold(cohort, cand, wants, capacity, (rows, cols, scores))
        threshold = floor.value
        rows, cols, scores = floor.edges
        keep = scores >= threshold
        rows, cols, scores = rows[keep], cols[keep], scores[keep]
    problem = _Problem(cohort, wants, capacity, threshold)
    if not problem.strict:
        cohort.notes.append("requests and choices are strongly preferred but, at this cohort size, "
                            "not strictly before every score (exact arithmetic limit)")
    rounds = 0
    offer = np.ones(len(rows), bool)
    priced: _Priced | None = None
    while True:
        rounds += 1
        if progress:
            progress("solve", rounds - 1, MAX_PRICING_ROUNDS)
        assignment = problem.solve(rows[offer], cols[offer], scores[offer])
        extra, priced = _violations(cohort, problem, cand, assignment, (rows, cols, scores), priced)
        reduced = assignment.reduced_cost(rows, cols, problem.weights(rows, cols, scores))
        held_back = np.unique(rows[~offer][reduced[~offer] < 0])
        if not (len(extra[0]) or len(held_back)) or rounds >= MAX_PRICING_ROUNDS:
            break
        offer = (reduced <= SOLVE_SLACK) | _sorted_contains(assignment.mentee * max(m, 1) + assignment.mentor,
                                                            rows * max(m, 1) + cols)
        rows, cols, scores, offer = _merge_flagged(rows, cols, scores, np.concatenate([offer, np.ones(len(extra[0]), bool)]),
                                                   extra, m)
    short = np.union1d(extra[0], held_back)
    certified = assignment.certified and not len(short)
    if floor is not None:  # the floor's proof, and the pairing keeps every place it was proven for
        certified = certified and floor.proven and assignment.places == floor.places
    if len(short):
        cohort.notes.append(f"the candidate lists may have cost optimality: {len(short)} mentee(s) "
                            f"could still gain from a mentor outside their {cohort.config.match.candidates} candidates; "
                            "raise [match] candidates")
    elif not assignment.certified:
        cohort.notes.append("the solver's optimality proof did not complete; the pairing is the solver's best")
    width = max(m, 1)
    keys = rows * width + cols
    chosen_rows, chosen_cols = prefer_earlier_signups(assignment.mentee, assignment.mentor, rows, cols,
                                                      problem.weights(rows, cols, scores), wants, capacity)
    pos = np.searchsorted(keys, chosen_rows * width + chosen_cols)
    if progress:
        progress("solve", MAX_PRICING_ROUNDS, MAX_PRICING_ROUNDS)
    return Solution(chosen_rows, chosen_cols, scores[pos], assignment,
                    "dense" if cand.dense is not None else "sparse", rounds, threshold, problem.unit, certified)




def optimum(cohort: Cohort, wants: np.ndarray, capacity: np.ndarray, objective: str,
            progress: Progress | None = None, *, dense: bool | None = None) -> Solution:
    """The best pairing over every allowed pair (most places, then the highest total; ``fair``:
    most places, then the highest lowest score, then total), and the proof that it is.

    ``dense`` (by default up to ``[match] dense_limit`` cells) scores every cell, keeps the matrix
    and prices every left-out pair from it exactly: the reference the tests compare the scale
    path against. Otherwise each mentee's best ``[match] candidates`` mentors and each mentor's
    best few mentees go to the solver, and the dual prices, rescoring only where a left-out pair
    could still beat them, bring in every pair that could improve the result (minimum cuts prove
    the most places and the floor for ``fair``).
    """
    n, m = cohort.shape
    if dense is None:
        dense = n * m <= cohort.config.match.dense_limit
    candidates = top_candidates(cohort, max(1, int(cohort.config.match.candidates)), dense=dense, progress=progress)
    return solve_cohort(cohort, candidates, wants, capacity, objective, progress)

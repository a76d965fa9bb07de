"""The exact solver on its own: brute force, published optima, the optimality proof, infeasible and float cases."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorcli.solve import (
    SolverError,
    certificate,
    max_places,
    max_places_cut,
    residual_arcs,
    shortest_distances,
    solve_assignment,
    solve_edges,
)


def brute_force(weights: np.ndarray, allowed: np.ndarray, wants: np.ndarray, capacity: np.ndarray) -> tuple[int, float]:
    """(most places, best total) over every subset of allowed pairs: the independent reference."""
    edges = list(zip(*np.nonzero(allowed)))
    best = (0, 0)
    for size in range(len(edges), 0, -1):
        if size < best[0]:
            break
        for subset in itertools.combinations(edges, size):
            rows = np.bincount([i for i, _ in subset], minlength=len(wants))
            cols = np.bincount([j for _, j in subset], minlength=len(capacity))
            if (rows <= wants).all() and (cols <= capacity).all():
                best = max(best, (size, sum(weights[i, j].item() for i, j in subset)))
    return best


SMALL = st.integers(0, 30)
BONUS_SIZED = st.one_of(st.integers(0, 10_000), st.integers(50_000_000, 1_500_000_000))
"""Scores plus the occasional huge request/choice bonus, as the matcher makes them."""


@st.composite
def instances(draw, weight_values=SMALL):
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 4))
    weights = np.array(draw(st.lists(weight_values, min_size=n * m, max_size=n * m))).reshape(n, m)
    allowed = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    if allowed.sum() > 9:
        allowed[np.unravel_index(np.flatnonzero(allowed)[9:], allowed.shape)] = False
    wants = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    capacity = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)))
    return weights, allowed, wants, capacity


@settings(max_examples=150, deadline=None)
@given(instances())
def test_matches_brute_force_on_tiny_instances(instance):
    weights, allowed, wants, capacity = instance
    result = solve_assignment(weights, allowed, wants, capacity)
    assert (result.places, result.total) == brute_force(weights, allowed, wants, capacity)
    assert result.certified
    pairs = list(zip(result.mentee.tolist(), result.mentor.tolist()))
    assert len(set(pairs)) == len(pairs)
    assert all(allowed[i, j] for i, j in pairs)
    assert (np.bincount(result.mentee, minlength=len(wants)) <= wants).all()
    assert (np.bincount(result.mentor, minlength=len(capacity)) <= capacity).all()


def _check_solution(result, weights, allowed, wants, capacity) -> None:
    pairs = list(zip(result.mentee.tolist(), result.mentor.tolist()))
    assert pairs == sorted(set(pairs))
    assert all(allowed[i, j] for i, j in pairs)
    assert (np.bincount(result.mentee, minlength=len(wants)) <= wants).all()
    assert (np.bincount(result.mentor, minlength=len(capacity)) <= capacity).all()
    assert result.weight.tolist() == [weights[i, j] for i, j in pairs]


@settings(max_examples=150, deadline=None)
@given(instances(BONUS_SIZED))
def test_matches_brute_force_with_bonus_sized_weights(instance):
    weights, allowed, wants, capacity = instance
    result = solve_assignment(weights, allowed, wants, capacity)
    assert (result.places, result.total) == brute_force(weights, allowed, wants, capacity)
    assert result.certified
    _check_solution(result, weights, allowed, wants, capacity)


@settings(max_examples=100, deadline=None)
@given(instances(st.floats(0, 1000, allow_nan=False, allow_infinity=False).map(lambda x: x + 1 / 3)))  # never whole
def test_float_weights_match_brute_force_to_float_precision(instance):
    weights, allowed, wants, capacity = instance
    result = solve_assignment(weights, allowed, wants, capacity)
    places, total = brute_force(weights, allowed, wants, capacity)
    assert result.places == places
    assert result.total == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert result.certified
    _check_solution(result, weights, allowed, wants, capacity)


def test_float_weights_are_told_apart_to_float_precision():
    # mentees 0 and 1 split mentors 1 and 2; which way round gains 1e-10 next to a weight of 1000.
    # Rounded too coarsely, the two problems below would be the same problem with one answer.
    def pairs(heavier: tuple[int, int]) -> list[tuple[int, int]]:
        weights = np.array([[0.0, 0.5, 0.25], [0.0, 0.5, 0.25], [1000.0, 0.0, 0.0]])
        weights[heavier] += 1e-10
        result = solve_assignment(weights)
        return list(zip(result.mentee.tolist(), result.mentor.tolist()))

    assert pairs((0, 1)) == [(0, 1), (1, 2), (2, 0)]
    assert pairs((1, 1)) == [(0, 2), (1, 1), (2, 0)]


@settings(max_examples=150, deadline=None)
@given(instances(BONUS_SIZED), st.data())
def test_reduced_costs_tell_whether_left_out_pairs_could_help(instance, data):
    """The matcher's use: solve on some pairs, price the rest; no negative price = still optimal."""
    weights, allowed, wants, capacity = instance
    offered = allowed & np.array(data.draw(st.lists(st.booleans(), min_size=allowed.size, max_size=allowed.size)),
                                 bool).reshape(allowed.shape)
    wmax = int(weights.max())
    part = solve_assignment(weights, offered, wants, capacity, wmax=wmax)
    full = brute_force(weights, allowed, wants, capacity)
    rows, cols = np.nonzero(allowed & ~offered)
    reduced = part.reduced_cost(rows, cols, weights[rows, cols])
    if (reduced >= 0).all():
        assert (part.places, part.total) == full
    # and on the offered pairs the prices are the proof: unused >= 0, used <= 0
    rows, cols = np.nonzero(offered)
    reduced = part.reduced_cost(rows, cols, weights[rows, cols])
    chosen = set(zip(part.mentee.tolist(), part.mentor.tolist()))
    used = np.array([(i, j) in chosen for i, j in zip(rows.tolist(), cols.tolist())], bool)
    assert (reduced[~used] >= 0).all() and (reduced[used] <= 0).all()


def test_reduced_costs_find_a_left_out_pair_that_adds_a_place():
    # only mentee 0 was offered, to the only mentor; mentee 1 has another mentor it was not offered
    weights = np.array([[9, 0], [9, 0]])
    offered = np.array([[True, False], [True, False]])
    part = solve_assignment(weights, offered, wmax=9)
    assert part.places == 1
    assert part.reduced_cost(np.array([0, 1]), np.array([1, 1]), np.array([0, 0])).min() < 0


def test_rows_wanting_nothing_and_full_columns_are_never_priced_as_helpful():
    weights = np.array([[5, 5], [5, 5]])
    result = solve_assignment(weights, None, [0, 1], [1, 0])
    assert result.mentee_price[0] == -np.inf and result.mentor_price[1] == -np.inf
    assert result.reduced_cost(np.array([0, 1]), np.array([0, 1]), np.array([5, 5])).tolist() == [np.inf, np.inf]


def _random_problem(seed: int, n: int = 60, m: int = 30, per_row: int = 6):
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), per_row)
    cols = np.concatenate([rng.choice(m, per_row, replace=False) for _ in range(n)])
    w = rng.integers(0, 4, len(rows))  # few distinct weights: many ties
    return rows, cols, w, np.where(rng.random(n) < 0.3, 2, 1), rng.integers(1, 4, m)


def test_same_input_gives_identical_pairs_whatever_the_edge_order():
    rows, cols, w, wants, capacity = _random_problem(3)
    first = solve_edges(rows, cols, w, wants, capacity)
    again = solve_edges(rows, cols, w, wants, capacity)
    shuffle = np.random.default_rng(0).permutation(len(rows))
    shuffled = solve_edges(rows[shuffle], cols[shuffle], w[shuffle], wants, capacity)
    for other in (again, shuffled):
        assert other.mentee.tolist() == first.mentee.tolist()
        assert other.mentor.tolist() == first.mentor.tolist()
        assert other.mentee_price.tolist() == first.mentee_price.tolist()
    assert first.certified


def test_ties_are_broken_the_same_way_every_time():
    weights = np.full((5, 5), 7)
    results = [solve_assignment(weights, None, [1, 2, 1, 1, 2], [2, 1, 1, 2, 1]) for _ in range(3)]
    pairs = [list(zip(r.mentee.tolist(), r.mentor.tolist())) for r in results]
    assert pairs[0] == pairs[1] == pairs[2]
    assert results[0].places == 7 and results[0].total == 49


def test_a_cost_range_the_flow_solver_cannot_hold_is_refused_readably():
    # 10,000 mentees for one place, weights 0 and 2**49: exact for float64 prices, but OR-tools
    # multiplies costs by the node count and refuses the range
    n = 10_000
    rows, cols = np.arange(n), np.zeros(n, np.int64)
    w = np.r_[2**49, np.zeros(n - 1, np.int64)]
    with pytest.raises(SolverError, match="BAD_COST_RANGE"):
        solve_edges(rows, cols, w, np.ones(n, np.int64), np.ones(1, np.int64))


def test_a_mentee_wanting_two_never_gets_the_same_mentor_twice():
    # mentor 0 (capacity 2) is by far the best for both places of mentee 0: slot duplication would repeat it
    weights = np.array([[100, 1, 1], [50, 2, 2]])
    result = solve_assignment(weights, None, [2, 1], [2, 1, 1])
    pairs = set(zip(result.mentee.tolist(), result.mentor.tolist()))
    assert len(pairs) == result.places == 3
    assert (0, 0) in pairs and (1, 0) in pairs
    assert result.total == 100 + 50 + 1


def test_places_come_before_weight():
    # taking the heavy pair (0, 0) leaves mentee 1 without a mentor: two light pairs win
    weights = np.array([[100, 1], [1, 0]])
    allowed = np.array([[True, True], [True, False]])
    result = solve_assignment(weights, allowed)
    assert result.places == 2
    assert sorted(zip(result.mentee.tolist(), result.mentor.tolist())) == [(0, 1), (1, 0)]


def test_sparse_input_keeps_explicit_zero_weights():
    matrix = sp.coo_array((np.array([0, 5]), (np.array([0, 1]), np.array([0, 0]))), shape=(2, 1))
    result = solve_assignment(matrix)
    assert result.places == 1 and result.total == 5


def test_bad_input_is_refused():
    with pytest.raises(SolverError):
        solve_assignment(np.array([[-1, 2]]))
    with pytest.raises(SolverError):
        solve_assignment(np.array([[1, 2]]), mentee_wants=[1, 1])
    with pytest.raises(SolverError):
        solve_assignment(np.array([[10**17]]))


def _proof(weights: np.ndarray, allowed: np.ndarray, chosen: list[tuple[int, int]], wants, capacity) -> bool:
    """Whether the certificate accepts ``chosen`` as optimal (costs as the solver makes them)."""
    rows, cols = np.nonzero(allowed)
    w = weights[rows, cols]
    wmax = int(weights.max())
    cost = wmax + 2 - w
    used = np.array([(i, j) in chosen for i, j in zip(rows.tolist(), cols.tolist())])
    wants, capacity = np.asarray(wants), np.asarray(capacity)
    unmatched = int(min(wants.sum(), capacity.sum())) * (wmax + 2) + 1
    return certificate(rows, cols, cost, used, wants, capacity, unmatched)[1]


def test_certificate_rejects_a_matching_that_is_not_optimal():
    weights = np.array([[10, 1], [1, 10]])
    allowed = np.ones((2, 2), bool)
    assert _proof(weights, allowed, [(0, 0), (1, 1)], [1, 1], [1, 1])
    assert not _proof(weights, allowed, [(0, 1), (1, 0)], [1, 1], [1, 1])


def test_certificate_puts_places_before_weight():
    # the heavy pair alone is the best total but one place short: the proof must refuse it
    weights = np.array([[100, 1], [1, 0]])
    allowed = np.array([[True, True], [True, False]])
    assert _proof(weights, allowed, [(0, 1), (1, 0)], [1, 1], [1, 1])
    assert not _proof(weights, allowed, [(0, 0)], [1, 1], [1, 1])
    # and an unused place is not optimal even when no pair is wrong
    assert not _proof(weights, allowed, [(0, 1)], [1, 1], [1, 1])


def test_certificate_rejects_a_worse_choice_for_a_mentee_wanting_two():
    # mentee 0 wants 2 of three mentors; taking the two lightest is feasible but not optimal
    weights = np.array([[5, 3, 9]])
    allowed = np.ones((1, 3), bool)
    assert _proof(weights, allowed, [(0, 0), (0, 2)], [2], [1, 1, 1])
    assert not _proof(weights, allowed, [(0, 0), (0, 1)], [2], [1, 1, 1])


def test_shortest_distances_follow_negative_arcs_and_report_a_negative_cycle():
    tails, heads, costs = np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([-5, 2, -4])
    dist, settled = shortest_distances(tails, heads, costs, 4)
    assert settled and dist.tolist() == [0, -5, -3, -7]
    dist, settled = shortest_distances(np.array([0, 1]), np.array([1, 0]), np.array([-1, 0]), 2)
    assert not settled


def test_residual_graph_has_no_repeated_arc_and_keeps_zero_costs():
    rows, cols = np.array([0, 0, 1]), np.array([0, 1, 0])
    cost = np.array([3, 4, 5])
    used = np.array([True, False, False])
    tails, heads, costs = residual_arcs(rows, cols, cost, used, np.array([2, 1]), np.array([1, 1]), 99)
    arcs = list(zip(tails.tolist(), heads.tolist()))
    assert len(set(arcs)) == len(arcs)
    source, sink = 4, 5
    assert (2, 0) in arcs and (0, 3) in arcs and (1, 2) in arcs  # undo the used pair, take the others
    assert (source, 0) in arcs and (0, source) in arcs and (source, 1) in arcs
    assert (3, sink) in arcs and (sink, 2) in arcs and (2, sink) not in arcs  # mentor 0 is full
    assert dict(zip(arcs, costs.tolist()))[(sink, source)] == -99
    assert dict(zip(arcs, costs.tolist()))[(source, 0)] == 0


def test_reduced_cost_says_which_left_out_pair_could_help():
    weights = np.array([[5, 9], [5, 1]])
    offered = np.array([[True, False], [True, True]])
    result = solve_assignment(weights, offered, wmax=10)
    assert result.reduced_cost(np.array([0]), np.array([1]), np.array([9]))[0] < 0
    assert result.reduced_cost(np.array([0]), np.array([1]), np.array([0]))[0] >= 0
    full = solve_assignment(weights)
    assert full.total == 9 + 5


def test_max_places_is_the_max_flow():
    rows = np.array([0, 0, 1, 2])
    cols = np.array([0, 1, 0, 0])
    assert max_places(rows, cols, np.array([2, 1, 1]), np.array([2, 1])) == 3
    assert max_places(rows, cols, np.array([1, 1, 1]), np.array([1, 1])) == 2


def _most_pairs_brute(edges: list[tuple[int, int]], wants: np.ndarray, capacity: np.ndarray) -> int:
    """The largest subset of ``edges`` within wants and capacities, by trying every subset."""
    best = 0
    for mask in range(1 << len(edges)):
        chosen = [e for k, e in enumerate(edges) if mask >> k & 1]
        if len(chosen) > best and \
                (np.bincount([i for i, _ in chosen], minlength=len(wants)) <= wants).all() and \
                (np.bincount([j for _, j in chosen], minlength=len(capacity)) <= capacity).all():
            best = len(chosen)
    return best


@st.composite
def small_graphs(draw):
    n, m = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    allowed = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    wants = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    capacity = np.array(draw(st.lists(st.integers(0, 2), min_size=m, max_size=m)))
    return allowed, wants, capacity


@settings(max_examples=150, deadline=None)
@given(small_graphs())
def test_max_places_cut_is_a_minimum_cut_that_only_crossing_pairs_can_beat(graph):
    allowed, wants, capacity = graph
    rows, cols = np.nonzero(allowed)
    places, mentee_side, mentor_side = max_places_cut(rows, cols, wants, capacity)
    assert places == max_places(rows, cols, wants, capacity) == _most_pairs_brute(list(zip(rows, cols)), wants, capacity)
    crossing = mentee_side[:, None] & ~mentor_side[None, :]
    # the cut's capacity is the flow: wants of mentees cut off, pairs across, capacity of mentors kept
    across = int((allowed & crossing).sum())
    assert int(wants[~mentee_side].sum()) + across + int(capacity[mentor_side].sum()) == places
    # so every pair that does not cross it may be added without gaining a place...
    every_pair = [(i, j) for i in range(len(wants)) for j in range(len(capacity))]
    not_crossing = [(i, j) for i, j in every_pair if allowed[i, j] or not crossing[i, j]]
    assert _most_pairs_brute(not_crossing, wants, capacity) == places
    # ... and each crossing pair adds at most one
    assert _most_pairs_brute(every_pair, wants, capacity) <= places + int((crossing & ~allowed).sum())


def test_max_places_cut_on_a_path_and_on_nothing():
    # mentee 1 can only take mentor 0, which mentee 0 holds: the cut keeps both mentees and mentor 0
    places, mentees, mentors = max_places_cut(np.array([0, 1]), np.array([0, 0]), np.array([1, 1]), np.array([1, 1]))
    assert places == 1 and mentees.tolist() == [True, True] and mentors.tolist() == [True, False]
    places, mentees, mentors = max_places_cut(np.zeros(0, np.int64), np.zeros(0, np.int64), np.array([1, 0]), np.array([2]))
    assert places == 0 and mentees.tolist() == [True, False] and mentors.tolist() == [False]


# ----------------------------------------------------------------- published instances


def _read_orlib(path: Path) -> np.ndarray:
    numbers = np.array(path.read_text().split(), dtype=np.int64)
    n = int(numbers[0])
    return numbers[1:1 + n * n].reshape(n, n)


def _min_cost(cost: np.ndarray, allowed: np.ndarray | None = None):
    """A minimum-cost complete assignment through the maximising API (weight = max - cost)."""
    finite = np.isfinite(cost) if allowed is None else allowed
    top = float(np.max(cost[finite], initial=0.0))
    weights = np.where(finite, top - np.where(finite, cost, 0), 0)
    if np.all(weights == np.round(weights)):
        weights = weights.astype(np.int64)
    result = solve_assignment(weights, finite)
    return result, result.places * top - result.total


@pytest.mark.parametrize("name", [f"assign{n}00" for n in range(1, 9)])
def test_orlib_assignment_optima(external, name):
    optima = {row.split(",")[0]: int(row.split(",")[2])
              for row in (external / "orlib-assign" / "optimal_values.csv").read_text().split()[1:]}
    cost = _read_orlib(external / "orlib-assign" / f"{name}.txt")
    result, total = _min_cost(cost)
    assert result.places == len(cost)
    assert total == optima[name]
    assert result.certified


def test_lap_small_cases_including_infeasible(external):
    cases = json.loads((external / "lap-tests" / "small_cases.json").read_text())["cases"]
    assert sum(1 for c in cases if not c["feasible"]) == 5
    for case in cases:
        cost = np.array([[np.inf if v == "inf" or v is None else float(v) for v in row] for row in case["cost"]])
        result, total = _min_cost(cost)
        n = min(cost.shape)
        if case["feasible"]:
            assert result.places == n, case["name"]
            assert total == pytest.approx(case["optimal_min_cost"]), case["name"]
        else:
            assert result.places < n, case["name"]


@pytest.mark.parametrize("name,optimum", [("dense_100x100_int.csv", 198), ("dense_100x100_int_hard.csv", 11399)])
def test_lap_dense_integer_cases(external, name, optimum):
    cost = np.loadtxt(external / "lap-tests" / name, delimiter=",")
    result, total = _min_cost(cost)
    assert result.places == 100 and total == optimum


def test_lap_float_epsilon_case(external):
    with gzip.open(external / "lap-tests" / "cost_eps.csv.gz", "rt") as fh:
        cost = np.loadtxt(fh, delimiter=",")
    result, total = _min_cost(cost)
    assert result.places == len(cost)
    assert total == pytest.approx(224.8899507294651, rel=1e-12)


def _spa_morey(folder: Path) -> tuple[list[list[int]], dict[int, int]]:
    projects = {}
    for line in (folder / "projects.txt").read_text().splitlines():
        parts = line.split()
        if parts:
            projects[int(parts[0][1:])] = int(parts[1])
    students = []
    for line in (folder / "students.txt").read_text().splitlines():
        parts = line.split()
        if parts:
            choices = list(dict.fromkeys(int(p[1:]) for p in parts[1:]))  # keep the first of a repeat
            students.append(choices)
    return students, projects


@pytest.mark.parametrize("sub", [".", "perl_input"])
def test_spa_morey_ranked_allocation(external, sub):
    """100 students, 20 projects x 5 seats: at most 95 get a ranked project, with total rank 109."""
    students, projects = _spa_morey(external / "spa-morey" / sub)
    ids = sorted(projects)
    rows, cols, weights = [], [], []
    for s, choices in enumerate(students):
        for rank, project in enumerate(choices, start=1):
            rows.append(s), cols.append(ids.index(project)), weights.append(6 - rank)
    matrix = sp.coo_array((np.array(weights), (np.array(rows), np.array(cols))), shape=(len(students), len(ids)))
    result = solve_assignment(matrix, mentor_capacity=[projects[p] for p in ids])
    assert result.places == 95
    assert 6 * result.places - result.total == 109

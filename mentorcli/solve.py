"""Exact solvers for the pairing: capacitated bipartite matching ("b-matching").

The problem: mentees (rows) want up to ``wants[i]`` distinct mentors, mentors (columns) take up
to ``capacity[j]`` mentees, an allowed pair has an integer weight. Wanted, lexicographically:
first the most pairs ("places"), then the highest total weight. Usable without the rest of
mentorcli::

    from mentorcli.solve import solve_assignment
    result = solve_assignment(weights, allowed, mentee_wants=[1, 2], mentor_capacity=[2, 1, 1])
    result.mentee, result.mentor, result.places, result.total

How it is solved, and why this way:

- It is a min-cost flow: source -> mentee i (capacity ``wants[i]``) -> mentor j (capacity 1,
  cost ``wmax + 2 - w_ij``) -> sink (capacity ``capacity[j]``). The capacity 1 on a pair is what
  forbids the same pair twice, with no extra construction. OR-tools' cost-scaling push-relabel
  (``SimpleMinCostFlow.solve_max_flow_with_min_cost``) finds the maximum flow and, among maximum
  flows, the cheapest: exactly "most places first, then the best total", in int64 arithmetic.
  It replaced scipy's LAPJVsp on a slot-expanded graph with Tutte gadgets and re-solves: an
  order of magnitude faster with less memory (``benchmarks/bench_solve.py``; figures in the
  README, Performance, Design measurements).
- Weights are integers inside the solver. Float weights are scaled by a power of two and
  rounded, so they are solved to float precision (a resolution of about (places + 1) / 2**50
  of the largest weight); the total is the sum of the original weights.
- After solving, node potentials are computed from the optimal flow's residual graph: shortest
  distances from a virtual root with a 0-cost arc to every node. A return arc sink -> source of
  cost ``-D`` (``D`` larger than any possible total cost) puts "most places first" into the same
  proof. Every residual arc with reduced cost >= 0 is a certificate that the flow is optimal
  (``Assignment.certified``). The same potentials tell whether a pair that was left out of a
  candidate list could have improved the result (``Assignment.reduced_cost``), which is how the
  matcher proves that cutting the candidate lists cost nothing. The distances come from a
  Bellman-Ford in numpy rounds that stops when nothing changes (as many rounds as arcs on the
  longest shortest path), whereas scipy's compiled ``csgraph.bellman_ford`` always runs all |V|
  rounds.

A transportation LP with HiGHS is integral here too, but was measured far slower than even the
previous solver, and its float tolerances blur the lexicographic tiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from ortools.graph.python import min_cost_flow
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

EXACT_LIMIT = 2**53
"""Integers up to this are exact in float64: every cost, potential and price must stay below."""

MAX_DUAL_ROUNDS = 5000
"""Rounds of Bellman-Ford before the optimality proof is given up (the generated 100k cohort needs up to 900)."""

FLOAT_SCALE_TRIES = 4
"""Float weights: how many ever coarser scalings to try when the flow solver reports overflow."""


class SolverError(ValueError):
    """The input cannot be solved exactly (bad shape, negative weight, numbers too large)."""


@dataclass
class Assignment:
    """The chosen pairs and the facts that prove they are optimal.

    ``mentee``/``mentor`` are row/column indices of the chosen pairs, sorted by mentee then
    mentor; ``weight`` their weights. ``places`` = number of pairs, ``total`` = sum of weights.
    ``certified`` is True when dual prices were found that prove optimality. ``mentee_price`` /
    ``mentor_price`` are those prices (per row / column; ``-inf`` where a row wants no mentor or
    a column has no place), used by ``reduced_cost``.
    """

    mentee: np.ndarray
    mentor: np.ndarray
    weight: np.ndarray
    places: int
    total: float
    certified: bool
    wmax: float
    mentee_price: np.ndarray = field(repr=False)
    mentor_price: np.ndarray = field(repr=False)

    def cost(self, weight) -> np.ndarray:
        """The solver's cost of a pair of this weight (costs are what the flow minimises)."""
        return (self.wmax + 2) - np.asarray(weight, dtype=np.float64)

    def reduced_cost(self, mentee: np.ndarray, mentor: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """For pairs that were NOT offered to the solver: < 0 means adding them could improve the result.

        ``cost(weight) - mentee_price - mentor_price`` is the reduced cost of the arc mentee ->
        mentor under the optimality proof's potentials: >= 0 for every left-out pair means the
        proof, and so the optimum, holds with those pairs too. Only meaningful for weights up to
        ``wmax`` (the solver's cost scale).
        """
        cost = self.cost(weight)
        with np.errstate(invalid="ignore"):
            return cost - self.mentee_price[np.asarray(mentee)] - self.mentor_price[np.asarray(mentor)]


def _as_counts(values, size: int, name: str) -> np.ndarray:
    if values is None:
        return np.ones(size, dtype=np.int64)
    array = np.asarray(values)
    if array.shape != (size,):
        raise SolverError(f"{name} must have one entry per {'row' if 'wants' in name else 'column'} ({size})")
    if array.size and (not np.all(np.isfinite(array.astype(float))) or (array < 0).any() or (array != np.round(array)).any()):
        raise SolverError(f"{name} must be whole numbers, 0 or more")
    return array.astype(np.int64)


def edges_from_input(weights, allowed=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """(rows, cols, weights, n_rows, n_cols) from a dense matrix (+ mask) or a sparse matrix.

    Dense: a pair is allowed where ``allowed`` is True (default: where the weight is finite).
    Sparse: every stored entry is an allowed pair (explicit zeros included).
    """
    if sp.issparse(weights):
        coo = sp.coo_array(weights)
        rows, cols, w = coo.row.astype(np.int64), coo.col.astype(np.int64), np.asarray(coo.data)
        n, m = coo.shape
    else:
        matrix = np.asarray(weights)
        if matrix.ndim != 2:
            raise SolverError("weights must be a 2-D matrix (mentees x mentors)")
        n, m = matrix.shape
        if allowed is None:
            mask = np.isfinite(matrix) if matrix.dtype.kind == "f" else np.ones(matrix.shape, bool)
        else:
            mask = np.asarray(allowed, dtype=bool)
            if mask.shape != matrix.shape:
                raise SolverError("allowed must have the shape of weights")
        rows, cols = np.nonzero(mask)
        w = matrix[rows, cols]
    return rows.astype(np.int64), cols.astype(np.int64), w, int(n), int(m)


def _flow_network(rows: np.ndarray, cols: np.ndarray, wants: np.ndarray,
                  capacity: np.ndarray) -> tuple[sp.csr_array, int, int]:
    """(capacities, source, sink) of source -> mentees -> mentors -> sink, as scipy's max flow wants it.

    Nodes: mentees ``0..n-1``, mentors ``n..n+m-1``, source ``n+m``, sink ``n+m+1``; int32
    capacities (scipy's requirement), a pair's arc capacity 1.
    """
    n, m = len(wants), len(capacity)
    source, sink = n + m, n + m + 1
    wanted = np.flatnonzero(wants > 0)
    offered = np.flatnonzero(capacity > 0)
    heads = np.concatenate([np.full(len(wanted), source), rows, n + offered])
    tails = np.concatenate([wanted, n + cols, np.full(len(offered), sink)])
    caps = np.concatenate([wants[wanted], np.ones(len(rows), np.int64), capacity[offered]])
    caps = np.minimum(caps, np.iinfo(np.int32).max).astype(np.int32)
    graph = sp.csr_array((caps, (heads, tails)), shape=(n + m + 2, n + m + 2))
    graph.sum_duplicates()
    return graph, source, sink


def max_places(rows: np.ndarray, cols: np.ndarray, wants: np.ndarray, capacity: np.ndarray) -> int:
    """The most pairs any assignment can make (max flow: source -> mentees -> mentors -> sink).

    scipy's Dinic: measured faster here than OR-tools' max flow, and the matcher calls this a
    dozen times.
    """
    n, m = len(wants), len(capacity)
    if len(rows) == 0 or n == 0 or m == 0:
        return 0
    graph, source, sink = _flow_network(rows, cols, wants, capacity)
    return int(maximum_flow(graph, source, sink).flow_value)


def max_places_cut(rows: np.ndarray, cols: np.ndarray, wants: np.ndarray,
                   capacity: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """The most pairs, and a minimum cut proving it: (places, mentee on source side, mentor on source side).

    Why the cut: its capacity bounds every flow, also of a graph with more pairs. With S = the
    nodes reachable from the source in the residual graph of a maximum flow, the capacity is
    exactly ``places``; a pair added later raises it only when its mentee is in S and its mentor
    is not (by 1 each). So with any pairs added, the most places are at most ``places`` + the
    added pairs from a source-side mentee to a sink-side mentor: a bound that needs no other
    pair looked at. That is how the matcher proves the most places, and that a fairness floor
    cannot go higher, although it never scored most pairs.
    The masks are per mentee / per mentor (bool arrays of length ``len(wants)`` / ``len(capacity)``).
    """
    n, m = len(wants), len(capacity)
    if n == 0 or m == 0:
        return 0, np.asarray(wants) > 0, np.zeros(m, bool)
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    graph, source, sink = _flow_network(rows, cols, wants, capacity)
    result = maximum_flow(graph, source, sink)
    flow = sp.csr_array(result.flow)
    flow.data = np.maximum(flow.data, 0)  # scipy stores -f on reverse arcs; keep the forward flow only
    flow.eliminate_zeros()
    residual = sp.csr_array(graph - flow) + sp.csr_array(flow.T)  # spare capacity, then undoable flow
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    side = np.zeros(n + m + 2, bool)
    side[reached] = True
    return int(result.flow_value), side[:n], side[n:n + m]


def solve_assignment(weights, allowed=None, mentee_wants=None, mentor_capacity=None, *,
                     wmax: float | None = None) -> Assignment:
    """Most places first, then the highest total weight; exact.

    ``weights``: dense (mentees x mentors) or scipy sparse matrix of weights >= 0 (integers for
    an exact result; floats are accepted and solved to float precision). ``allowed``: bool mask
    for a dense matrix. ``mentee_wants``/``mentor_capacity``: default 1 each. ``wmax``: the
    largest weight any pair could have (default: the largest given); fix it when you will price
    pairs that were not offered with ``Assignment.reduced_cost``.
    """
    rows, cols, w, n, m = edges_from_input(weights, allowed)
    return solve_edges(rows, cols, w, _as_counts(mentee_wants, n, "mentee_wants"),
                       _as_counts(mentor_capacity, m, "mentor_capacity"), wmax=wmax)


def _checked_edges(rows, cols, w, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges sorted by (row, col), after refusing what cannot be solved: sorted input is
    what makes the flow solver, and so the tie-breaking, deterministic."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    w = np.asarray(w)
    if w.dtype.kind not in "iubf":
        raise SolverError("weights must be numbers")
    if w.size and (not np.all(np.isfinite(w.astype(np.float64))) or (w < 0).any()):
        raise SolverError("weights must be finite and 0 or more")
    if not (len(rows) == len(cols) == len(w)):
        raise SolverError("rows, cols and weights must have the same length")
    if len(rows) and (rows.min() < 0 or rows.max() >= n or cols.min() < 0 or cols.max() >= m):
        raise SolverError("an edge names a row or column outside the matrix")
    keys = rows * max(m, 1) + cols
    if len(keys) > 1 and (np.diff(keys) <= 0).any():  # callers mostly pass them sorted already
        order = np.argsort(keys, kind="stable")
        rows, cols, w, keys = rows[order], cols[order], w[order], keys[order]
        if (np.diff(keys) == 0).any():
            raise SolverError("the same pair is given twice")
    return rows, cols, w


@dataclass
class _Costs:
    """Integer arc costs and the numbers the proof needs, in the solver's (possibly scaled) units."""

    cost: np.ndarray
    """Per edge: ``scale * (wmax + 2 - w)``, rounded; always >= 2 * scale > 0."""
    unmatched: int
    """``D``: more than the cost of any flow, so one more place always beats any weight gain."""
    scale: float
    """Solver units per weight unit: 1 for integers, a power of two for floats."""


def _integer_costs(w: np.ndarray, wmax: int, bound: int) -> _Costs:
    """Exact costs for integer weights; refuses numbers that float64 prices could not hold."""
    unmatched = bound * (wmax + 2) + 1
    if 4 * (unmatched + wmax + 2) >= EXACT_LIMIT:
        raise SolverError("weights too large for an exact solve; scale them down")
    return _Costs((wmax + 2) - w.astype(np.int64), unmatched, 1.0)


def _float_costs(w: np.ndarray, wmax: float, bound: int, n_nodes: int, coarser: int) -> _Costs:
    """Costs for float weights, scaled by a power of two so every number stays exact.

    The scale keeps ``D`` below EXACT_LIMIT / 4 and every cost below what OR-tools accepts
    (int64 / (2 * (nodes + 1)), it multiplies costs by the node count); ``coarser`` halves it
    that many more times (after an overflow inside the flow solver).
    """
    top = max(float(wmax) + 2.0, 1.0)
    limit = min(2.0**50 / (bound + 1), 2.0**61 / (n_nodes + 2))
    scale = 2.0 ** (np.floor(np.log2(limit / top)) - coarser)
    if scale * top < 16:
        raise SolverError("weights cannot be scaled to integers for this problem size")
    big = np.rint(scale * (float(wmax) + 2.0))
    cost = (big - np.rint(scale * w.astype(np.float64))).astype(np.int64)
    return _Costs(cost, int(bound * big + 1), float(scale))


def _min_cost_max_flow(rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, wants: np.ndarray,
                       capacity: np.ndarray) -> np.ndarray:
    """Which edges the cheapest maximum flow uses (bool per edge), by OR-tools' min-cost flow.

    Mentees supply ``wants``, mentors demand ``capacity``; OR-tools adds the source and sink
    itself and solves max flow first, then min cost at that flow. Raises SolverError on any
    status but OPTIMAL.
    """
    n, m = len(wants), len(capacity)
    if not len(rows):
        return np.zeros(0, bool)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(rows.astype(np.int32), (n + cols).astype(np.int32),
                                              np.ones(len(rows), np.int64), cost.astype(np.int64))
    flow.set_nodes_supplies(np.arange(n + m, dtype=np.int32), np.concatenate([wants, -capacity]).astype(np.int64))
    status = flow.solve_max_flow_with_min_cost()
    if status != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        raise SolverError(f"the min-cost flow solver failed ({status.name}): "
                          + ("weights too large for its int64 arithmetic; scale them down"
                             if status == min_cost_flow.SimpleMinCostFlow.BAD_COST_RANGE else "this is a bug"))
    return flow.flows(np.arange(len(rows), dtype=np.int32)) > 0


def solve_edges(rows: np.ndarray, cols: np.ndarray, w: np.ndarray, wants: np.ndarray, capacity: np.ndarray, *,
                wmax: float | None = None) -> Assignment:
    """``solve_assignment`` on an edge list (rows, cols, weights); ``wants``/``capacity`` per row/column."""
    wants = np.asarray(wants, dtype=np.int64)
    capacity = np.asarray(capacity, dtype=np.int64)
    n, m = len(wants), len(capacity)
    rows, cols, w = _checked_edges(rows, cols, w, n, m)
    integral = w.dtype.kind in "iub" or bool(np.all(w == np.round(w)))
    top = float(w.max()) if len(w) else 0.0
    wmax = top if wmax is None else float(wmax)
    if top > wmax:
        raise SolverError("a weight is larger than wmax")
    integral = integral and wmax == round(wmax)
    w = w.astype(np.int64) if integral else w.astype(np.float64)
    usable = (wants[rows] > 0) & (capacity[cols] > 0)
    rows, cols, w = rows[usable], cols[usable], w[usable]
    # independent of the edges, so the proof stays valid for pairs the caller adds later
    bound = int(min(wants.sum(), capacity.sum()))

    for coarser in range(FLOAT_SCALE_TRIES):
        costs = (_integer_costs(w, int(wmax), bound) if integral
                 else _float_costs(w, wmax, bound, n + m, coarser * 10))
        try:
            used = _min_cost_max_flow(rows, cols, costs.cost, wants, capacity)
            break
        except SolverError:
            if integral or coarser == FLOAT_SCALE_TRIES - 1:
                raise
    mentee, mentor, weight = rows[used], cols[used], w[used]  # already sorted by (mentee, mentor)
    _check_feasible(mentee, mentor, wants, capacity, m)

    potential, certified = certificate(rows, cols, costs.cost, used, wants, capacity, costs.unmatched)
    mentee_price = np.where(wants > 0, -potential[:n] / costs.scale, -np.inf)
    mentor_price = np.where(capacity > 0, potential[n:n + m] / costs.scale, -np.inf)
    total = int(weight.sum()) if integral else float(weight.sum())
    return Assignment(mentee, mentor, weight, len(mentee), total, certified, wmax, mentee_price, mentor_price)


def _check_feasible(mentee: np.ndarray, mentor: np.ndarray, wants: np.ndarray, capacity: np.ndarray, m: int) -> None:
    """A broken solution must never leave the solver: repeat pairs, over wants, over capacity."""
    keys = mentee * max(m, 1) + mentor
    if len(np.unique(keys)) != len(keys):
        raise SolverError("internal error: the solver returned the same pair twice")
    if (np.bincount(mentee, minlength=len(wants)) > wants).any():
        raise SolverError("internal error: a mentee got more mentors than wanted")
    if (np.bincount(mentor, minlength=len(capacity)) > capacity).any():
        raise SolverError("internal error: a mentor got more mentees than capacity")


# ----------------------------------------------------------------- the optimality proof


def residual_arcs(rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, used: np.ndarray, wants: np.ndarray,
                  capacity: np.ndarray, unmatched: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tails, heads, costs) of the arcs that could still carry flow, with the return arc.

    Nodes: mentees ``0..n-1``, mentors ``n..n+m-1``, source ``n+m``, sink ``n+m+1``. A used pair
    can be undone (mentor -> mentee, ``-cost``), an unused one taken (mentee -> mentor,
    ``cost``); source/sink arcs cost 0. The sink -> source arc of cost ``-unmatched`` makes the
    flow a circulation whose optimum has the most places first; its reverse exists once any
    flow does. No arc appears twice, so a sparse matrix of them sums nothing.
    """
    n, m = len(wants), len(capacity)
    source, sink = n + m, n + m + 1
    mentee_load = np.bincount(rows[used], minlength=n)
    mentor_load = np.bincount(cols[used], minlength=m)
    mentees, mentors = np.arange(n), n + np.arange(m)
    open_mentee = mentees[mentee_load < wants]
    open_mentor = mentors[mentor_load < capacity]
    busy_mentee = mentees[mentee_load > 0]
    busy_mentor = mentors[mentor_load > 0]
    places = int(used.sum())
    tails = [np.where(used, n + cols, rows), np.full(len(open_mentee), source), busy_mentee,
             open_mentor, np.full(len(busy_mentor), sink), np.array([sink] + [source] * (places > 0))]
    heads = [np.where(used, rows, n + cols), open_mentee, np.full(len(busy_mentee), source),
             np.full(len(open_mentor), sink), busy_mentor, np.array([source] + [sink] * (places > 0))]
    costs = [np.where(used, -cost, cost), np.zeros(len(open_mentee) + len(busy_mentee) + len(open_mentor)
                                                   + len(busy_mentor), np.int64),
             np.array([-unmatched] + [unmatched] * (places > 0))]
    return (np.concatenate(tails).astype(np.int64), np.concatenate(heads).astype(np.int64),
            np.concatenate(costs).astype(np.int64))


def shortest_distances(tails: np.ndarray, heads: np.ndarray, costs: np.ndarray,
                       n_nodes: int) -> tuple[np.ndarray, bool]:
    """Distances from a virtual root with a 0-cost arc to every node, and whether they settled.

    Bellman-Ford in rounds (numpy, int64, exact) that relax only the arcs leaving nodes whose
    distance fell in the previous round, stopping when none did: rounds = arcs on the longest
    shortest path. Starting from the last solve's potentials was measured: no fewer rounds.
    scipy's compiled ``csgraph.bellman_ford`` always runs |V| rounds, far slower. Not settled after
    MAX_DUAL_ROUNDS, or a negative cycle (never, for an optimal flow): False.
    """
    dist = np.zeros(n_nodes, np.int64)
    if not len(tails):
        return dist, True
    first, head, cost = _arcs_by_tail(tails, heads, costs, n_nodes)
    changed = np.arange(n_nodes)
    for _ in range(min(MAX_DUAL_ROUNDS, n_nodes + 1)):
        out = first[changed + 1] - first[changed]
        arc = _ranges(first[changed], out)
        if not len(arc):
            return dist, True
        offer = np.repeat(dist[changed], out) + cost[arc]
        lowered = dist.copy()
        np.minimum.at(lowered, head[arc], offer)
        changed = np.flatnonzero(lowered < dist)
        dist = lowered
        if not len(changed):
            return dist, True
    return dist, False


def _arcs_by_tail(tails: np.ndarray, heads: np.ndarray, costs: np.ndarray,
                  n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first arc of each node, heads, costs) grouped by tail: CSR, built by scipy in linear time.

    Safe because no arc appears twice (nothing gets summed) and the count is checked (an
    explicit 0 cost stays an arc).
    """
    graph = sp.csr_array((costs, (tails, heads)), shape=(n_nodes, n_nodes))
    if graph.nnz != len(costs):
        raise SolverError("internal error: the residual graph has a repeated arc")
    return graph.indptr.astype(np.int64), graph.indices.astype(np.int64), graph.data.astype(np.int64)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + l) for s, l in zip(starts, lengths)])``, vectorised."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total)


def certificate(rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, used: np.ndarray, wants: np.ndarray,
                capacity: np.ndarray, unmatched: int) -> tuple[np.ndarray, bool]:
    """Node potentials for the flow ``used`` and whether they prove it optimal.

    Proof: every residual arc has ``cost + potential[tail] - potential[head] >= 0`` (no
    negative cycle, so no better circulation: most places first, then least cost). Checked
    here arc by arc, independently of how the potentials were found, and with every potential
    inside float64's exact range (the caller's prices are float64).
    """
    n_nodes = len(wants) + len(capacity) + 2
    tails, heads, costs = residual_arcs(rows, cols, cost, used, wants, capacity, unmatched)
    potential, settled = shortest_distances(tails, heads, costs, n_nodes)
    reduced = costs + potential[tails] - potential[heads]
    exact = bool(np.abs(potential).max(initial=0) < EXACT_LIMIT)
    return potential, settled and exact and bool((reduced >= 0).all())

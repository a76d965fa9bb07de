"""Among equally good pairings, places go to the earlier signups."""

from __future__ import annotations

import heapq

import numpy as np


def prefer_earlier_signups(mentee: np.ndarray, mentor: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                           weights: np.ndarray, wants: np.ndarray,
                           capacity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Among equally good pairings, give the places to the earlier signups, mentees and mentors alike.

    Mentees (``_earlier_mentees_first``): a mentee left short takes over a mentor from a later
    signup whose pair with that mentor has exactly the same weight. Mentors
    (``_earlier_mentors_first``, when ``capacity`` is given): a mentor with room takes over a
    mentee from a later mentor whose pair with that mentee has exactly the same weight, unless
    that would leave the later mentor with nobody while the earlier one already has someone
    (that would only add an idle mentor). Each swap
    keeps the places and the total (so the pairing stays optimal) and moves a place to an earlier
    signup; a mentor swap never changes how many mentors a mentee has, a mentee swap never how
    many mentees a mentor has. The two alternate until neither finds a swap, so it ends.
    """
    mentee, mentor = np.asarray(mentee, np.int64), np.asarray(mentor, np.int64)
    while True:
        mentee, mentor = _earlier_mentees_first(mentee, mentor, rows, cols, weights, wants)
        if capacity is None:
            return mentee, mentor
        moved, mentee, mentor = _earlier_mentors_first(mentee, mentor, rows, cols, weights, capacity)
        if not moved:
            return mentee, mentor


def _chosen_weights(mentee: np.ndarray, mentor: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                    weights: np.ndarray) -> np.ndarray:
    """The weight of each chosen pair, looked up among the edges."""
    width = int(max(cols.max(initial=-1), mentor.max(initial=-1)) + 1)
    keys = rows * width + cols
    by_key = np.argsort(keys, kind="stable")
    return weights[by_key[np.searchsorted(keys, mentee * width + mentor, sorter=by_key)]]


def _earlier_mentors_first(mentee: np.ndarray, mentor: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                           weights: np.ndarray, capacity: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
    """Mentors with room take over, from later mentors, mentees they would pair with at the same
    weight (never emptying the later mentor for one who already has a mentee).

    The edges that could move are found for all at once (a mentee wants few mentors, so its
    chosen pairs are compared one rank at a time); only those few are then walked in Python,
    earliest mentor first, each checked again since earlier swaps change who has room.
    Returns whether anything moved, and the pairs sorted by (mentee, mentor).
    """
    order = np.lexsort((mentor, mentee))
    mentee, mentor = mentee[order], mentor[order]
    if not len(mentee) or not len(rows):
        return False, mentee, mentor
    m = max(int(cols.max(initial=-1)), int(mentor.max(initial=-1)), len(capacity) - 1) + 1
    chosen_w = _chosen_weights(mentee, mentor, rows, cols, weights)
    room = np.zeros(m, np.int64)
    room[:len(capacity)] = capacity
    room -= np.bincount(mentor, minlength=m)
    n = int(max(rows.max(initial=-1), mentee.max(initial=-1))) + 1
    starts = np.searchsorted(mentee, np.arange(n + 1))
    open_edge = np.flatnonzero(room[cols] > 0)
    e_rows, e_cols, e_w = rows[open_edge], cols[open_edge], weights[open_edge]
    movable = np.zeros(len(open_edge), bool)
    most = int(np.diff(starts).max(initial=0))
    for rank in range(most):
        at = starts[e_rows] + rank
        inside = at < starts[e_rows + 1]
        at = np.where(inside, at, 0)
        movable |= inside & (chosen_w[at] == e_w) & (mentor[at] > e_cols)
    if not movable.any():
        return False, mentee, mentor
    weight_of = dict(zip(zip(mentee.tolist(), mentor.tolist()), chosen_w.tolist()))
    by_mentee: dict[int, list[int]] = {}
    for i, j in weight_of:
        by_mentee.setdefault(i, []).append(j)
    room_of = room.tolist()
    moved = False
    pick = np.flatnonzero(movable)
    pick = pick[np.lexsort((e_rows[pick], e_cols[pick]))]
    load = np.bincount(mentor, minlength=m).tolist()
    for i, j, w in zip(e_rows[pick].tolist(), e_cols[pick].tolist(), e_w[pick].tolist()):
        if room_of[j] <= 0 or (i, j) in weight_of:
            continue
        # a swap that would leave the later mentor with nobody is made only for an idle mentor:
        # a mentor's place is having a mentee at all, and one more idle mentor helps nobody
        later = [k for k in by_mentee[i] if k > j and weight_of[(i, k)] == w and (load[k] > 1 or load[j] == 0)]
        if not later:
            continue
        k = max(later)
        load[j] += 1
        load[k] -= 1
        del weight_of[(i, k)]
        weight_of[(i, j)] = w
        by_mentee[i].remove(k)
        by_mentee[i].append(j)
        room_of[j] -= 1
        room_of[k] += 1
        moved = True
    pairs = sorted(weight_of)
    return (moved, np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64))


def _earlier_mentees_first(mentee: np.ndarray, mentor: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                           weights: np.ndarray, wants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A mentee left short takes over a mentor from a later signup whose pair with that mentor
    has exactly the same weight; repeated until no such swap remains. Pairs sorted by (mentee, mentor)."""
    n = len(wants)
    got = np.bincount(mentee, minlength=n).astype(np.int64)
    if not (got < wants).any():  # nobody is short: nothing to hand over (and nothing to sort)
        order = np.lexsort((mentor, mentee))
        return mentee[order].astype(np.int64), mentor[order].astype(np.int64)
    chosen_weights = _chosen_weights(mentee, mentor, rows, cols, weights)
    weight_of = dict(zip(zip(mentee.tolist(), mentor.tolist()), chosen_weights.tolist()))  # only the chosen pairs
    holders: dict[int, set[int]] = {}
    for i, j in weight_of:
        holders.setdefault(j, set()).add(i)
    order = np.lexsort((cols, -weights, rows))
    starts = np.searchsorted(rows[order], np.arange(n + 1))
    queue = [i for i in np.flatnonzero(got < wants).tolist()]
    heapq.heapify(queue)
    edge_cols, edge_weights = cols.tolist(), weights.tolist()
    while queue:
        i = heapq.heappop(queue)
        for e in order[starts[i]:starts[i + 1]].tolist():
            if got[i] >= wants[i]:
                break
            j, w = edge_cols[e], edge_weights[e]
            if (i, j) in weight_of:
                continue
            later = [k for k in holders.get(j, ()) if k > i and weight_of[(k, j)] == w]
            if not later:
                continue
            k = max(later)
            holders[j].discard(k)
            holders[j].add(i)
            del weight_of[(k, j)]
            weight_of[(i, j)] = w
            got[k] -= 1
            got[i] += 1
            heapq.heappush(queue, k)
    pairs = sorted(weight_of)
    return (np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64))


# --------------------------------------------------------------------------- keep



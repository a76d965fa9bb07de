"""A large circle model solved in blocks (``circle_model.BLOCK_ROWS``): the blocks, then everyone
they left with room together; the circles keep every rule, the bound over the whole model is a
bound, and the same input gives the same circles on any host."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from mentorcli.match import match_circles
from mentorcli.matching import circle_model
from mentorcli.matching.circle_model import (
    CircleModel,
    Lead,
    block_count,
    each_once_bound,
    lagrangian_bound,
    restricted,
)
from tests.test_circle_model import _check_bound
from tests.test_circles import _check_every_circle, _config, _example, small_cohorts


def _in_blocks(patch: pytest.MonkeyPatch, rows: int) -> None:
    """Blocks of ``rows`` rows, on the priced path (no listing of every circle)."""
    patch.setattr(circle_model, "ENUMERATE_LIMIT", 0)
    patch.setattr(circle_model, "BLOCK_ROWS", rows)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("mentor", "mentee", "mentee", "both")))
def test_mentor_led_circles_in_blocks_keep_every_rule_and_the_bound_is_above_the_optimum(people):
    config = _config()
    with pytest.MonkeyPatch.context() as patch:
        _in_blocks(patch, 3)
        result = match_circles(people, config, size=3, kind="mentor-led")
    _check_every_circle(people, config, result, 3)
    _check_bound(people, config, result, 3, "mentor-led")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("both",)))
def test_peer_circles_in_blocks_keep_every_rule_and_the_bound_is_above_the_optimum(people):
    config = _config()
    with pytest.MonkeyPatch.context() as patch:
        _in_blocks(patch, 2)
        result = match_circles(people, config, size=4, kind="peer")
    _check_every_circle(people, config, result, 4)
    _check_bound(people, config, result, 4, "peer")


def test_the_example_in_blocks_gets_the_same_circles_on_a_slow_host(monkeypatch):
    """Every budget is a count in the blocks too: a clock that runs 50 s per look changes nothing."""
    people, config = _example()
    _in_blocks(monkeypatch, 10)
    quick = match_circles(people, config, size=4, kind="mentor-led")
    assert quick.circles
    ticks = itertools.count()
    monkeypatch.setattr(circle_model.time, "monotonic", lambda: 50.0 * next(ticks))
    slow = match_circles(people, config, size=4, kind="mentor-led")
    assert [c.emails for c in slow.circles] == [c.emails for c in quick.circles]
    assert (slow.objective, slow.bound) == (quick.objective, quick.bound)
    _check_every_circle(people, config, quick, 4)


# --------------------------------------------------------------------------- the parts


def _model(people: int, members: dict[int, list[int]], limit: int = 1) -> CircleModel:
    """Leads 0 and 1 (rows 0, 1) with the members given (rows 2.., one row each), circles of 2-3 members."""
    leads = []
    for k in (0, 1):
        rows = np.array(members[k], np.int64)
        leads.append(Lead(person=k, row=k, limit=limit, own=0, members=rows, rows=rows,
                          values=np.arange(len(rows), dtype=np.int64), goals=np.ones((len(rows), 1), bool),
                          goal_ids=[0], windows=np.ones((len(rows), 1), bool), window_ids=[0], classes=rows.copy()))
    rhs = np.r_[np.full(2, limit), np.ones(people - 2)].astype(np.int64)
    return CircleModel(rhs=rhs, coef=np.ones(people, np.int64), leads=leads, place=1000, min_members=2,
                       max_members=3)


def test_a_model_is_split_only_above_block_rows(monkeypatch):
    monkeypatch.setattr(circle_model, "BLOCK_ROWS", 6)
    assert block_count(_model(6, {0: [2, 3], 1: [4, 5]})) == 1
    assert block_count(_model(7, {0: [2, 3], 1: [4, 5]})) == 2
    assert block_count(_model(13, {0: [2, 3], 1: [4, 5]})) == 3
    model = _model(7, {0: [2, 3], 1: [4, 5]})
    model.rhs[6] = 0  # a row with no room is in no block
    assert block_count(model) == 1


def test_a_restricted_model_keeps_only_rows_with_room_and_numbers_its_leads_back():
    model = _model(7, {0: [2, 3, 4], 1: [4, 5, 6]})
    rhs = model.rhs.astype(float)
    rhs[[0, 4]] = 0  # lead 0 and member 4 have no room
    part, index = restricted(model, rhs)
    assert index == [1]
    assert part.leads[0].members.tolist() == [5, 6]
    assert part.leads[0].values.tolist() == [1, 2]
    assert part.rhs.tolist() == [0, 1, 1, 1, 0, 1, 1]
    rhs[5] = 0  # lead 1 is left with one member, fewer than a circle takes
    assert restricted(model, rhs)[0].leads == []


def test_people_the_blocks_cannot_place_are_placed_together_afterwards(monkeypatch):
    """Rows in block r mod 2: lead 0 (block 0) may only have members 3 and 5 (block 1), lead 1
    only 2 and 4 (block 0), so neither block forms a circle; the pass over everyone left forms both."""
    model = _model(6, {0: [3, 5], 1: [2, 4]})
    _in_blocks(monkeypatch, 3)
    solved = circle_model.solve_circles(model, max_rounds=10, effort=1.0)
    assert sorted((c.lead, c.members) for c in solved.columns) == [(0, (3, 5)), (1, (2, 4))]
    assert solved.objective == 4 * 1000 + 1 + 1
    assert solved.bound >= solved.objective


def test_the_lagrangian_bound_counts_each_lead_at_its_room_and_best_reduced_cost():
    model = _model(6, {0: [2, 3, 4], 1: [4, 5]}, limit=2)
    rhs = model.rhs.astype(float)
    prices = np.zeros(6)
    # at zero prices: lead 0's best circle takes all three (3 places, scores 0+1+2), lead 1's both (1 score)
    assert lagrangian_bound(model, rhs, prices) == 2 * (3003) + 2 * (2001)
    rhs[1] = 1  # lead 1 has room for one circle
    assert lagrangian_bound(model, rhs, prices) == 2 * 3003 + 2001
    prices = np.array([0.0, 0.0, 1000, 1000, 1000, 1000])  # every member at a place: only the scores are left
    assert lagrangian_bound(model, rhs, prices) == 1000 * 4 + 2 * (1 + 2) + 1 * 1
    prices[:2] = 10  # a lead's price above its best circle: it adds its price once per room, nothing more
    assert lagrangian_bound(model, rhs, prices) == 1000 * 4 + 10 * 3
    assert each_once_bound(model, rhs) <= 4 * 1000 + 2 + 2 + 1


def test_the_bound_of_a_model_in_blocks_holds_for_circles_across_the_blocks(monkeypatch):
    """Rows in block r mod 2: each lead's best members are in the other block, so the blocks form
    the two circles worth nothing beyond their places; the bound is over the whole model, so it
    stays above the best circles (the leads swapped), and the gap says what the blocks cost."""
    model = _model(6, {0: [2, 3, 4, 5], 1: [2, 3, 4, 5]})
    model.leads[0].values = np.array([0, 900, 0, 900], np.int64)
    model.leads[1].values = np.array([900, 0, 900, 0], np.int64)
    model.min_members = model.max_members = 2
    _in_blocks(monkeypatch, 3)
    solved = circle_model.solve_circles(model, max_rounds=10, effort=1.0)
    assert sorted((c.lead, c.members) for c in solved.columns) == [(0, (2, 4)), (1, (3, 5))]
    assert solved.objective == 4 * 1000
    assert solved.bound >= 4 * 1000 + 4 * 900  # lead 0 with 3 and 5, lead 1 with 2 and 4


def test_a_large_model_with_few_possible_circles_is_still_solved_exactly(monkeypatch):
    """Above ``BLOCK_ROWS`` but within ``ENUMERATE_LIMIT`` possible circles: every circle listed,
    no blocks, so the circles across what would be the blocks are found and proven optimal."""
    model = _model(6, {0: [2, 3, 4, 5], 1: [2, 3, 4, 5]})
    model.leads[0].values = np.array([0, 900, 0, 900], np.int64)
    model.leads[1].values = np.array([900, 0, 900, 0], np.int64)
    model.min_members = model.max_members = 2
    monkeypatch.setattr(circle_model, "BLOCK_ROWS", 3)
    solved = circle_model.solve_circles(model, max_rounds=10, effort=1.0)
    assert sorted((c.lead, c.members) for c in solved.columns) == [(0, (3, 5)), (1, (2, 4))]
    assert solved.objective == solved.bound == 4 * 1000 + 4 * 900

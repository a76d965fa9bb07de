"""The circle solver's priced path (column generation, the settled bound, price and dive): the bound
is a bound, the dive keeps every rule, and the same input gives the same circles on any host."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorcli.config import Config
from mentorcli.match import match_circles
from mentorcli.matching import circle_model
from mentorcli.matching.circle_model import CircleModel, Column, Lead, _fix, _Generated, _settled
from tests.test_circles import _check_every_circle, _config, _example, brute_force, small_cohorts


def _priced(patch: pytest.MonkeyPatch, *, polish: bool) -> None:
    """Force the priced path (no listing of every circle); without ``polish`` the dive alone decides."""
    patch.setattr(circle_model, "ENUMERATE_LIMIT", 0)
    if not polish:
        patch.setattr(circle_model, "POLISH_COLUMNS", -1)


def _check_bound(people: pd.DataFrame, config: Config, result, size: int, kind: str) -> None:
    places, score = brute_force(people, config, size, kind)
    place = result.settings["place_value"]
    best = places * place + round(score * 100)
    assert result.bound >= best, "the proven bound is below the true optimum"
    assert result.objective <= best
    assert result.bound >= result.objective


def _match(people: pd.DataFrame, config: Config, size: int, kind: str):
    return match_circles(people, config, size=size, kind=kind)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("mentor", "mentee", "mentee", "both")), st.booleans(), st.booleans())
def test_mentor_led_dive_keeps_every_rule_and_the_bound_is_above_the_optimum(people, mix, polish):
    config = _config(mix_departments=mix)
    with pytest.MonkeyPatch.context() as patch:
        _priced(patch, polish=polish)
        result = _match(people, config, 3, "mentor-led")
    _check_every_circle(people, config, result, 3)
    _check_bound(people, config, result, 3, "mentor-led")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("both",)), st.booleans())
def test_peer_dive_keeps_every_rule_and_the_bound_is_above_the_optimum(people, polish):
    config = _config()
    with pytest.MonkeyPatch.context() as patch:
        _priced(patch, polish=polish)
        result = _match(people, config, 4, "peer")
    _check_every_circle(people, config, result, 4)
    _check_bound(people, config, result, 4, "peer")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("mentor", "mentee", "mentee", "both")))
def test_a_bound_stopped_by_the_round_budget_or_the_safety_clock_is_still_a_bound(people):
    """One pricing round (prices all zero), or the safety clock already run out: the circles still
    keep every rule and the bound still holds."""
    one_round_config, config = _config(pricing_rounds=1), _config()
    with pytest.MonkeyPatch.context() as patch:
        _priced(patch, polish=False)
        one_round = _match(people, one_round_config, 3, "mentor-led")
        patch.setattr(circle_model, "SAFETY_SECONDS", -1.0)
        no_time = _match(people, config, 3, "mentor-led")
    for result, used in ((one_round, one_round_config), (no_time, config)):
        _check_every_circle(people, used, result, 3)
        _check_bound(people, used, result, 3, "mentor-led")
    assert no_time.settings["pricing_rounds"] <= 1  # 0: nobody to price (no circle is possible at all)


def test_the_example_priced_and_dived_places_as_many_as_the_bound_allows(monkeypatch):
    """The bundled example through pricing and the dive (listing off): every place the bound
    allows is filled, so pricing ran on to convergence and the gap is in score, and small."""
    monkeypatch.setattr(circle_model, "ENUMERATE_LIMIT", 0)
    people, config = _example()
    result = match_circles(people, config, size=4, kind="mentor-led")
    assert result.settings["places"] == result.settings["places_bound"]
    assert result.settings["converged"] is True
    assert result.settings["gap_percent"] < 1.0


def test_a_slow_host_gets_the_same_circles(monkeypatch):
    """Every budget is a count: a clock that runs 50 s per look (a host thousands of times slower,
    still short of the safety stop) changes nothing."""
    monkeypatch.setattr(circle_model, "ENUMERATE_LIMIT", 0)
    people, config = _example()
    quick = match_circles(people, config, size=4, kind="mentor-led")
    ticks = itertools.count()
    monkeypatch.setattr(circle_model.time, "monotonic", lambda: 50.0 * next(ticks))
    slow = match_circles(people, config, size=4, kind="mentor-led")
    assert [c.emails for c in slow.circles] == [c.emails for c in quick.circles]
    assert (slow.objective, slow.bound) == (quick.objective, quick.bound)


# --------------------------------------------------------------------------- the parts


def _tiny_model(people: int, limit: int = 1) -> CircleModel:
    """Leads 0 and 1 (rows 0, 1) and members 2.. (one row each), every member with every lead."""
    members = np.arange(2, people)
    leads = [Lead(person=k, row=k, limit=limit, own=0, members=members, rows=members,
                  values=np.zeros(len(members), np.int64), goals=np.ones((len(members), 1), bool), goal_ids=[0],
                  windows=np.ones((len(members), 1), bool), window_ids=[0], classes=members.copy())
             for k in (0, 1)]
    rhs = np.r_[np.full(2, limit), np.ones(people - 2)].astype(np.int64)
    return CircleModel(rhs=rhs, coef=np.ones(people, np.int64), leads=leads, place=1000, min_members=2,
                       max_members=3)


def _state(x: list[float]) -> _Generated:
    return _Generated(active=list(range(len(x))), x=np.array(x), lp_value=0.0, bound=0.0, rounds=1, converged=False)


def test_a_dive_step_fixes_every_circle_at_or_above_fix_at_and_never_two_that_clash():
    model = _tiny_model(8)
    columns = [Column(0, 0, 0, (2, 3), 2000), Column(1, 0, 0, (4, 5), 2000), Column(1, 0, 0, (3, 6), 2000),
               Column(0, 0, 0, (6, 7), 2000)]
    rhs = model.rhs.astype(float)
    fix_at = circle_model.FIX_AT
    # the first two at FIX_AT exactly are fixed; the third clashes (lead 1, person 3); the fourth is below
    fixed = _fix(model, columns, _state([fix_at, fix_at, fix_at, fix_at - 0.01]), rhs)
    assert fixed == [0, 1]
    assert rhs.tolist() == [0, 0, 0, 0, 0, 0, 1, 1]


def test_a_dive_step_with_nothing_at_fix_at_fixes_the_largest_that_fits():
    model = _tiny_model(8)
    columns = [Column(0, 0, 0, (2, 3), 2000), Column(1, 0, 0, (4, 5), 2000), Column(1, 0, 0, (6, 7), 3000)]
    rhs = model.rhs.astype(float)
    below = circle_model.FIX_AT - 0.01
    assert _fix(model, columns, _state([0.2, below, below]), rhs) == [2]  # ties: the higher value
    rhs = model.rhs.astype(float)
    rhs[6] = 0  # person 6 is taken already: the next largest
    assert _fix(model, columns, _state([0.2, below, below]), rhs) == [1]
    assert _fix(model, columns, _state([0.0, 0.0, 0.0]), model.rhs.astype(float)) == []


def test_pricing_settles_when_the_bound_is_within_settled_and_proves_the_same_places():
    place = 1000
    lp = 100.5 * place
    slack = circle_model.SETTLED * lp
    assert _settled(lp, lp + slack * 0.999, place)
    assert not _settled(lp, lp + slack * 1.001, place)
    # within the slack but a whole place apart: not settled (the bound would allow one more place)
    assert not _settled(100.99995 * place, 101.00001 * place, place)


def test_the_each_once_bound_counts_each_person_with_room_once_at_their_best() -> None:
    model = _tiny_model(6)  # leads 0, 1 (own 0); members 2..5 with scores 0
    model.leads[0].values = np.array([7, 0, 0, 0], np.int64)
    model.leads[1].values = np.array([3, 9, 0, 0], np.int64)
    rhs = model.rhs.astype(float)
    assert circle_model.each_once_bound(model, rhs) == 4 * 1000 + 7 + 9
    rhs[3] = 0  # member 3 is taken: its best (9) no longer counts
    assert circle_model.each_once_bound(model, rhs) == 3 * 1000 + 7
    model.leads[0].own = 1000  # a facilitator adds their own place while their row has room
    assert circle_model.each_once_bound(model, rhs) == 4 * 1000 + 7
    rhs[0] = 0
    assert circle_model.each_once_bound(model, rhs) == 3 * 1000 + 7

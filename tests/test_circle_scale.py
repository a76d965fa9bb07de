"""Issue 16 "Done when" at scale: the whole circle cycle on a generated cohort of 2,000 signups.

``bench_match.synthetic_people`` (45% mentees, 45% mentors, 10% both) written to a real signups CSV
with a mentor.toml naming its headers and ``[circles] peer_roles`` = every role; then, each a real
``python -m mentorcli`` process (``tests/circle_checks.run_cycle``): ``match --circles 4`` or
``--peer-circles 5``, ``schedule`` (4 months), ``introduce``, three months logged in checkins.xlsx
(every tenth circle never meets, one member of every seventh stops coming), ``report``, ``end`` on
one circle, ``nudge``. Every check reads the files those processes wrote.

The solver's search is cut short here (``pricing_rounds = 3``, ``search_effort = 1``): the cycle's
correctness is under test, not how close the circles come to the best possible (that is
``benchmarks/bench_circles.py``); the timings are ``benchmarks/bench_circle_cycle.py``'s.
"""

from __future__ import annotations

import sys

import pytest

from tests.circle_checks import Cycle, cycle_faults, run_cycle, write_config, write_signups
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_match import synthetic_people  # benchmarks/ is not a package: on the path above

SIGNUPS = 2000
SIZES = {"mentor-led": 4, "peer": 5}


@pytest.fixture(scope="module", params=list(SIZES), ids=["circles-4", "peer-circles-5"])
def cycle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Cycle, dict[str, list]]:
    kind = request.param
    folder = tmp_path_factory.mktemp(kind)
    signups = write_signups(synthetic_people(SIGNUPS), folder / "signups.csv")
    write_config(folder, pricing_rounds=3, search_effort=1)
    done = run_cycle(folder, signups, kind, SIZES[kind], root=ROOT, months=4)
    return done, cycle_faults(done)


def test_the_cohort_forms_many_circles_of_the_right_shape(cycle: tuple[Cycle, dict[str, list]]) -> None:
    done, faults = cycle
    assert done.book is not None and len(done.book.relationships()) >= 200
    assert done.step("match")["circles"] == len(done.book.relationships())
    assert faults["roles and sizes"] == []


def test_every_rule_holds_between_the_lead_and_each_member(cycle: tuple[Cycle, dict[str, list]]) -> None:
    _, faults = cycle
    assert [f for f in faults["rules between members"] if f[1] == "lead"] == []


def test_every_rule_holds_between_every_two_members(cycle: tuple[Cycle, dict[str, list]]) -> None:
    """A shared language too: the whole circle speaks one (found missing by this test at first)."""
    _, faults = cycle
    assert faults["rules between members"] == [] and faults["workbook problems"] == []


def test_everyone_is_in_a_circle_or_unmatched_with_a_reason(cycle: tuple[Cycle, dict[str, list]]) -> None:
    _, faults = cycle
    assert faults["left out unseen"] == []


def test_one_introduction_per_circle_to_exactly_its_members(cycle: tuple[Cycle, dict[str, list]]) -> None:
    _, faults = cycle
    assert faults["introductions"] == []


def test_each_members_calendar_holds_their_circles_series(cycle: tuple[Cycle, dict[str, list]]) -> None:
    _, faults = cycle
    assert faults["calendars"] == []


def test_every_meeting_has_a_row_per_member_at_one_time(cycle: tuple[Cycle, dict[str, list]]) -> None:
    _, faults = cycle
    assert faults["schedule"] == []


def test_the_report_counts_attendance_per_member_and_circles_for_the_sponsor(cycle: tuple[Cycle, dict[str, list]]) -> None:
    done, faults = cycle
    assert len(done.stopped) >= 10 and len(done.never_met) >= 20
    assert faults["report"] == []


def test_the_ended_circle_is_left_out_of_the_nudges(cycle: tuple[Cycle, dict[str, list]]) -> None:
    done, faults = cycle
    assert faults["end and nudge"] == []
    assert done.step("nudge")["ended"] == [done.ended]

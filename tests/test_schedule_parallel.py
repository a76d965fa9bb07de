"""Planning with worker processes gives the schedule planning in one process gives (issue 14 item 7).

Past ``PARALLEL_FROM`` profiles, workers score each relationship's patterns ahead while this
process chooses (``_profiles_in_order``); they send back the ranking and the occurrence values of
only the best-ranked patterns (``RANKED_PREFIX``), and a choice further down scores the profile
again here. Each case compares the whole check-in frame and the notes with the one-process plan:
a cohort with pairs, a mentor meeting two mentees together, a circle, holiday moves and
blackouts; a synthetic cohort where every mentor has two mentees (bookings decide); a rerun that
keeps earlier patterns; and a prefix of one, so nearly every choice reads the full profile.
Last, the zone group cache's key: a pair is planned alike whatever was planned before it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import mentorcli.schedule as schedule_module
from mentorcli.config import config_from_dict
from mentorcli.model import PairingBook
from mentorcli.schedule import Schedule, plan_checkins, write_schedule
from tests.test_schedule import book_of, person
from tests.test_schedule_bytes import CONFIG, START, cohort

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_schedule import synthetic_book  # the benchmark's cohort generator


def plans(book: PairingBook, monkeypatch: pytest.MonkeyPatch, previous: pd.DataFrame | None = None,
          settings: dict | None = None) -> tuple[Schedule, Schedule, int]:
    """(with workers, in this process, profiles the first scored in this process) for ``book``."""
    config = config_from_dict(settings or CONFIG)
    calls: list[int] = []
    profile = schedule_module._Planner.profile
    monkeypatch.setattr(schedule_module._Planner, "profile", lambda self, members: calls.append(1) or profile(self, members))
    monkeypatch.setattr(schedule_module, "PARALLEL_FROM", 1)
    parallel = plan_checkins(book, config, start=START, months=6, previous=previous)
    scored_here = len(calls)
    monkeypatch.setattr(schedule_module, "PARALLEL_FROM", 10**9)
    return parallel, plan_checkins(book, config, start=START, months=6, previous=previous), scored_here


def assert_same(parallel: Schedule, serial: Schedule) -> None:
    pd.testing.assert_frame_equal(parallel.checkins, serial.checkins)
    assert parallel.notes == serial.notes and parallel.problems == serial.problems


@pytest.mark.parametrize("prefix", [1, schedule_module.RANKED_PREFIX])
def test_workers_plan_the_mixed_cohort_as_one_process_does(prefix: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule_module, "RANKED_PREFIX", prefix)
    monkeypatch.setattr(schedule_module, "PLAN_CHUNK", 2)
    parallel, serial, _ = plans(cohort(), monkeypatch)
    assert serial.checkins["flag"].str.contains("moved from").any()
    assert_same(parallel, serial)


def test_workers_plan_a_month_with_no_allowed_day_as_one_process_does(monkeypatch: pytest.MonkeyPatch) -> None:
    april = [f"2026-04-{day:02d}" for day in range(1, 31)]
    settings = {**CONFIG, "schedule": {**CONFIG["schedule"], "blackout": april}}
    parallel, serial, _ = plans(cohort(), monkeypatch, settings=settings)
    assert serial.checkins["flag"].str.contains("no allowed day").any()     # left on a blocked day
    assert_same(parallel, serial)


@pytest.mark.parametrize("prefix", [1, schedule_module.RANKED_PREFIX])
def test_workers_plan_mentors_with_two_mentees_as_one_process_does(prefix: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule_module, "RANKED_PREFIX", prefix)
    monkeypatch.setattr(schedule_module, "PLAN_CHUNK", 16)
    parallel, serial, scored_here = plans(synthetic_book(240), monkeypatch)
    assert_same(parallel, serial)
    if prefix == 1:
        assert scored_here > 0        # choices past the best pattern read the full profile, scored here


def test_workers_keep_earlier_patterns_on_a_rerun_as_one_process_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_from_dict(CONFIG)
    book = synthetic_book(120)
    write_schedule(plan_checkins(book, config, start=START, months=6), book, config, tmp_path, force=False)
    previous = schedule_module.previous_checkins(tmp_path)
    assert previous is not None
    parallel, serial, _ = plans(synthetic_book(120, seed=8), monkeypatch, previous)
    assert_same(parallel, serial)


def test_a_pair_is_planned_alike_whatever_was_planned_before_it() -> None:
    """The zone group cache is keyed by zones and countries: Gus and Sam gave no zone (planned in
    the cohort's London, no country, so no local holidays), Ivy and Ola live in London (England's
    bank holidays, which move their weekly Monday check-ins). Planned after Ivy and Ola, whose
    zones are the same, Gus and Sam keep every Monday, as when planned without them."""
    config = config_from_dict({"schedule": {"holidays": [], "local_holidays": True, "cadence": "weekly"}})
    monday = "Mon 18:00-20:00"
    people = [person("Ivy Stone", "ivy@example.org", "mentee", "Europe/London", monday),
              person("Ola Berg", "ola@example.org", "mentor", "Europe/London", monday),
              person("Gus Hale", "gus@example.org", "mentee", "", monday),
              person("Sam Lee", "sam@example.org", "mentor", "", monday)]
    both = plan_checkins(book_of(people, [("ivy@example.org", "ola@example.org"), ("gus@example.org", "sam@example.org")]),
                         config, start=START, months=6)
    zed = person("Zed Ward", "zed@example.org", "mentee", "Europe/London", monday)   # London stays the cohort's zone
    alone = plan_checkins(book_of([*people[2:], zed], [("gus@example.org", "sam@example.org")]), config, start=START, months=6)
    ivy = both.checkins[both.checkins["mentee_email"] == "ivy@example.org"]
    assert ivy["flag"].str.contains("moved from").sum() >= 2              # England's bank holidays on Mondays
    gus = both.checkins[both.checkins["mentee_email"] == "gus@example.org"].reset_index(drop=True)
    assert not gus["flag"].str.contains("moved from").any()
    pd.testing.assert_frame_equal(gus.drop(columns=["pair_id", "uid"]), alone.checkins.drop(columns=["pair_id", "uid"]))

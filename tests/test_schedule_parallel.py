"""Planning with worker processes gives the schedule planning in one process gives (issue 14 item 7).

Past ``PARALLEL_FROM`` profiles, workers score each relationship's patterns ahead while this
process chooses (``_profiles_in_order``); they send back the ranking and the occurrence values of
only the best-ranked patterns (``RANKED_PREFIX``), and a choice further down scores the profile
again here. Each case compares the whole check-in frame and the notes with the one-process plan:
a cohort with pairs, a mentor meeting two mentees together, a circle, holiday moves and
blackouts; a synthetic cohort where every mentor has two mentees (bookings decide); a rerun that
keeps earlier patterns; and a prefix of one, so nearly every choice reads the full profile.
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

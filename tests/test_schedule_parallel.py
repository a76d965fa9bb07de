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

import gc
import itertools
import os
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


def planning_members(book: PairingBook) -> list[tuple]:
    """The members of each profile in the order plan_checkins scores them (band, zones, windows)."""
    config = config_from_dict(CONFIG)
    planner = schedule_module._Planner(config, START, 6)
    people = schedule_module._people_index(book, config, planner)
    relationships = schedule_module._usable_relationships(book, people, [])
    jobs = sorted((schedule_module._tightness_band(planner.tightness(rel.members)), repr(rel.profile_key()[0]),
                   repr(rel.profile_key()[1]), pos) for pos, rel in enumerate(relationships))
    runs = itertools.groupby(jobs, key=lambda job: job[:3])
    return [relationships[next(run)[3]].members for _, run in runs]


def test_each_zone_combination_goes_to_one_worker_and_the_profiles_are_shared_evenly() -> None:
    members = planning_members(synthetic_book(600))
    routes = schedule_module._zone_routes(members, 2)
    worker_of: dict[tuple, set[int]] = {}
    for group, worker in zip(members, routes):
        worker_of.setdefault(schedule_module._zone_key(group), set()).add(worker)
    assert all(len(workers) == 1 for workers in worker_of.values())
    recurring = sum(1 for key in worker_of if sum(schedule_module._zone_key(g) == key for g in members) > 1)
    assert recurring > 10                   # the same zones come back band after band
    largest = max(sum(schedule_module._zone_key(g) == key for g in members) for key in worker_of)
    assert abs(routes.count(0) - routes.count(1)) <= largest      # greedy: never more than one combination apart


@pytest.mark.parametrize("chunk", [1, 2, 16])
def test_zone_chunks_hand_each_worker_its_own_profiles_once_in_order_cut_where_the_zones_change(
        chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule_module, "PLAN_CHUNK", chunk)
    members = planning_members(synthetic_book(300))
    routes = schedule_module._zone_routes(members, 2)
    chunks = schedule_module._zone_chunks(members, routes)
    assert sorted(pos for _, positions in chunks for pos in positions) == list(range(len(members)))
    assert [positions[0] for _, positions in chunks] == sorted(positions[0] for _, positions in chunks)
    for worker, positions in chunks:
        assert {routes[pos] for pos in positions} == {worker} and positions == sorted(positions)
        later = [pos for pos in range(positions[-1] + 1, len(members)) if routes[pos] == worker]
        if later:                       # not the worker's last piece: full, and cut where its zones change
            assert len(positions) >= chunk
            assert schedule_module._zone_key(members[later[0]]) != schedule_module._zone_key(members[positions[-1]])
            assert len(positions) == chunk or schedule_module._zone_key(members[positions[-2]]) == \
                schedule_module._zone_key(members[positions[-1]])


BUILT_LOG: list[Path] = []
"""Where ``recording_chunk`` (in a forked worker) writes the zone groups it built."""


def recording_chunk(members: list) -> list:
    """``_ranked_chunk``, also writing down (pid, zone key) of each zone group it built."""
    planner = schedule_module._WORKER_PLANNER[0]
    before = set(planner._groups)
    out = ORIGINAL_CHUNK(members)
    with BUILT_LOG[0].open("a") as log:
        for key in set(planner._groups) - before:
            log.write(f"{os.getpid()}\t{key!r}\n")
    return out


ORIGINAL_CHUNK = schedule_module._ranked_chunk


def test_two_workers_build_each_zone_group_once_between_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    BUILT_LOG[:] = [tmp_path / "built.tsv"]
    monkeypatch.setattr(schedule_module, "_ranked_chunk", recording_chunk)
    monkeypatch.setattr(schedule_module, "PLAN_CHUNK", 8)
    monkeypatch.setattr(schedule_module, "MAX_WORKERS", 2)
    monkeypatch.setattr(schedule_module, "worker_count", lambda workers, items, parallel_from, most: 2)
    book = synthetic_book(300)
    parallel = plan_checkins(book, config_from_dict(CONFIG), start=START, months=6)
    lines = BUILT_LOG[0].read_text().splitlines()
    pids = {line.split("\t")[0] for line in lines}
    keys = [line.split("\t")[1] for line in lines]
    assert len(pids) == 2 and len(keys) == len(set(keys))
    assert len(keys) == len({schedule_module._zone_key(group) for group in planning_members(book)})
    monkeypatch.setattr(schedule_module, "PARALLEL_FROM", 10**9)
    assert_same(parallel, plan_checkins(book, config_from_dict(CONFIG), start=START, months=6))


def test_planning_workers_collect_garbage_though_forked_inside_the_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """``plan_checkins`` pauses this process's collector while it plans, and starts the workers
    inside that pause; each worker turns its own collector back on (``_adopt_planner``), and this
    process's is on again when planning ends."""
    parent, profile = os.getpid(), schedule_module._Planner.profile

    def collecting_profile(self: schedule_module._Planner, members: list) -> schedule_module._Profile:
        if os.getpid() != parent and not gc.isenabled():
            raise AssertionError("a planning worker scores with its collector off")
        return profile(self, members)

    monkeypatch.setattr(schedule_module._Planner, "profile", collecting_profile)
    monkeypatch.setattr(schedule_module, "PARALLEL_FROM", 1)
    pauses: list[bool] = []
    plan_relationship = schedule_module._plan_relationship
    monkeypatch.setattr(schedule_module, "_plan_relationship",
                        lambda *args: pauses.append(gc.isenabled()) or plan_relationship(*args))
    plan_checkins(synthetic_book(40), config_from_dict(CONFIG), start=START, months=3)
    assert pauses and not any(pauses) and gc.isenabled()

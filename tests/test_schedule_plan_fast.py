"""The planner's speed-ups give what the plain ways give (issue 14 item 7, the planning half).

Each shortcut against the slow, obvious computation it replaced: a relationship's local times
from its zone tables against ``astimezone`` and ``strftime`` row by row (across daylight-saving
changes, half-hour zones and fixed offsets); a zone group kept for the whole run against one
built fresh; int32/int16 storage against the int64 values handed out; occurrence counts by a
float32 product against numpy's sum; the ranking keys packed column by column against sorting
the tuples; a worker's compact ranked profile against the profile; taken slots against the
slot-by-slot check. Whole plans stay byte for byte as before through ``tests.pinned``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mentorcli.schedule as schedule_module
from mentorcli.config import config_from_dict
from mentorcli.schedule import (
    EPOCH_UTC,
    _Bookings,
    _count_true,
    _fitting,
    _lexicographic_rank,
    _local_clock,
    _local_text,
    _people_index,
    _Person,
    _Planner,
    _RankedProfile,
    _ranking,
    _run_numbers,
    _slot_list,
    _slots,
    _usable_relationships,
    _zone_key,
)
from mentorcli.tz import tzinfo_for
from tests.test_schedule import book_of, person
from tests.test_schedule_bytes import CONFIG, START

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_schedule import synthetic_book  # type: ignore[import-not-found]  # the benchmark's cohort generator

ZONES = ("Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Pacific/Chatham",
         "America/St_Johns", "UTC+05:30", "UTC-03:00", "UTC")


@pytest.fixture(scope="module")
def planner() -> _Planner:
    return _Planner(config_from_dict(CONFIG), START, 12)


def someone(zone: str, known: bool = True) -> _Person:
    return _Person(email=f"{zone.lower()}@example.org", name="Ana", zone=zone, zone_known=known, windows=(),
                   gave_availability=False, country=None)


def minutes_of(moment: dt.datetime) -> int:
    return int((moment - EPOCH_UTC).total_seconds() // 60)


# ----------------------------------------------------------------------------- local times


def assert_clock_as_astimezone(planner: _Planner, person: _Person, minutes: list[int]) -> None:
    texts, hhmm = _local_clock(planner, person, np.array(minutes, dtype=np.int64))
    moments = [EPOCH_UTC + dt.timedelta(minutes=m) for m in minutes]
    assert texts == [_local_text(moment, person) for moment in moments]
    assert hhmm == [f"{moment.astimezone(tzinfo_for(person.zone) or dt.UTC):%H:%M}" for moment in moments]


@pytest.mark.parametrize("zone, change", [
    ("Europe/London", dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)),       # spring forward
    ("Europe/London", dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC)),      # fall back
    ("America/New_York", dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)),
    ("Australia/Sydney", dt.datetime(2026, 4, 4, 16, 0, tzinfo=dt.UTC)),
    ("Pacific/Chatham", dt.datetime(2026, 9, 26, 14, 0, tzinfo=dt.UTC)),    # a 45-minute zone
])
def test_local_clock_reads_each_side_of_a_daylight_saving_change_as_astimezone_does(planner: _Planner, zone: str,
                                                                                    change: dt.datetime) -> None:
    at = minutes_of(change)
    assert_clock_as_astimezone(planner, someone(zone), [at - 61, at - 1, at, at + 1, at + 59, at + 60])


def test_local_clock_says_assumed_for_an_unknown_zone_as_the_row_text_does(planner: _Planner) -> None:
    at = minutes_of(dt.datetime(2026, 6, 1, 23, 30, tzinfo=dt.UTC))
    texts, _ = _local_clock(planner, someone("Europe/London", known=False), np.array([at]))
    assert texts == ["Tue 2026-06-02 00:30 (Europe/London, assumed)"]


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), known=st.booleans(), minutes=st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_local_clock_reads_any_instant_of_the_period_as_astimezone_does(planner: _Planner, zone: str, known: bool,
                                                                         minutes: list[int]) -> None:
    """Every instant a check-in can start at: the grid's first day to its last (the zone tables
    cover the period and three days either side, nothing further)."""
    first, span = planner.d0 * 1440, planner.D * 1440
    assert_clock_as_astimezone(planner, someone(zone, known), [first + m % span for m in minutes])


def test_local_clock_keeps_each_answer_for_its_zone_label_and_instants_only() -> None:
    """``_local_clock`` remembers its answers (``_Planner.clocks``): the same instants read again
    in another zone, as an assumed zone, or as other numbers with the same bytes, are read afresh."""
    planner = _Planner(config_from_dict(CONFIG), START, 12)
    at = minutes_of(dt.datetime(2026, 6, 1, 23, 30, tzinfo=dt.UTC))
    instants = np.array([at, at + 7 * 1440], dtype=np.int64)
    first = _local_clock(planner, someone("Europe/London"), instants)
    assert _local_clock(planner, someone("Europe/London"), instants.copy()) is first      # kept
    for zone, known in (("America/New_York", True), ("Europe/London", False)):
        assert_clock_as_astimezone(planner, someone(zone, known), instants.tolist())
    assert _local_clock(planner, someone("Europe/London", known=False), instants)[0][0].endswith("(Europe/London, assumed)")
    same_bytes = np.frombuffer(instants[:1].tobytes(), dtype=np.int32)             # [at, 0]: other numbers
    assert len(_local_clock(planner, someone("Europe/London"), instants[:1])[0]) == 1
    assert len(_local_clock(planner, someone("Europe/London"), same_bytes)[0]) == 2
    assert first == _local_clock(_Planner(config_from_dict(CONFIG), START, 12), someone("Europe/London"), instants)


# ----------------------------------------------------------------------------- zone groups


@pytest.fixture(scope="module")
def cohort_members() -> list[tuple[_Person, ...]]:
    config = config_from_dict(CONFIG)
    book = synthetic_book(600)
    people = _people_index(book, config, _Planner(config, START, 12))
    return [rel.members for rel in _usable_relationships(book, people, [])]


def assert_same_profile(kept: schedule_module._Profile, fresh: schedule_module._Profile) -> None:
    for name in ("order", "tier", "major", "fits", "out_all", "invalid"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(fresh, name), err_msg=name)
    table, again = kept.occurrence_table(kept.order), fresh.occurrence_table(fresh.order)
    for name in table:
        assert table[name].dtype == again[name].dtype
        np.testing.assert_array_equal(table[name], again[name], err_msg=name)


def test_each_zone_combination_is_built_once_and_a_kept_one_scores_as_a_fresh_one(
        cohort_members: list[tuple[_Person, ...]], monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_from_dict(CONFIG)
    kept = _Planner(config, START, 12)
    built: list[int] = []
    alternatives = _Planner._alternatives

    def counted(self: _Planner, *args: np.ndarray) -> dict[str, np.ndarray]:
        built.append(1)
        return alternatives(self, *args)   # type: ignore[arg-type]

    monkeypatch.setattr(_Planner, "_alternatives", counted)
    for members in cohort_members + cohort_members[::-1]:    # every key recurs, far apart (as bands do)
        kept.profile(members)
    keys = {_zone_key(members) for members in cohort_members}
    assert len(keys) > 48 and len(built) == len(keys)
    for members in cohort_members[:40]:
        assert_same_profile(kept.profile(members), _Planner(config, START, 12).profile(members))


def test_zone_groups_are_stored_small_and_hand_out_the_int64_values_of_the_zone_tables(
        planner: _Planner, cohort_members: list[tuple[_Person, ...]]) -> None:
    for members in cohort_members[:12]:
        profile = planner.profile(members)
        group = profile.zone_group
        assert [group.utc.dtype, group.week.dtype, group.local_day.dtype] == [np.dtype(np.int32), np.dtype(np.int16),
                                                                              np.dtype(np.int32)]
        table = profile.occurrence_table(np.arange(planner.P))
        assert table["utc"].dtype == table["local_day"].dtype == np.int64
        for member, local_day in zip(members, table["local_day"]):
            offsets = planner.zone_table(member.zone).offset_at_utc(table["utc"])
            np.testing.assert_array_equal(local_day, (table["utc"] + offsets) // 1440)


# ----------------------------------------------------------------------------- scoring parts


@settings(max_examples=80, deadline=None)
@given(shape=st.tuples(st.integers(0, 4), st.integers(0, 40), st.integers(0, 160)), seed=st.integers(0, 2**32 - 1))
def test_count_true_counts_as_a_sum_over_the_last_axis(shape: tuple[int, int, int], seed: int) -> None:
    flags = np.random.default_rng(seed).random(shape) < 0.6
    counts = _count_true(flags)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, flags.sum(axis=-1))


def test_count_true_counts_every_occurrence_of_the_longest_weekly_programme() -> None:
    flags = np.ones((2, 3, 36 * 53), dtype=bool)
    flags[1, 2, -1] = False
    np.testing.assert_array_equal(_count_true(flags), [[1908] * 3, [1908, 1908, 1907]])


@settings(max_examples=80, deadline=None)
@given(rows=st.integers(1, 60), widths=st.lists(st.sampled_from([1, 2, 3, 7, 2**40]), min_size=1, max_size=8),
       seed=st.integers(0, 2**32 - 1))
def test_lexicographic_rank_orders_rows_as_their_key_tuples(rows: int, widths: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    columns = [rng.integers(0, width, rows) for width in widths]     # wide keys take the np.unique way
    rank = _lexicographic_rank(columns)
    tuples = list(zip(*(column.tolist() for column in columns)))
    for i in range(rows):
        for j in range(rows):
            assert (rank[i] < rank[j]) == (tuples[i] < tuples[j])
            assert (rank[i] == rank[j]) == (tuples[i] == tuples[j])


@settings(max_examples=80, deadline=None)
@given(rows=st.integers(0, 80), top=st.sampled_from([1, 5, 2**40, 2**62]), seed=st.integers(0, 2**32 - 1))
def test_ranking_orders_patterns_as_lexsort_by_tier_then_tie_break(rows: int, top: int, seed: int) -> None:
    """Few tiers (many ties broken by the tie rank), many, and tiers too wide to combine (lexsort)."""
    rng = np.random.default_rng(seed)
    tier, tie_rank = rng.integers(0, top, rows), rng.permutation(rows)
    np.testing.assert_array_equal(_ranking(tier, tie_rank), np.lexsort((tie_rank, tier)))


def test_ranking_combines_keys_up_to_the_int64_limit_and_no_further() -> None:
    tie_rank = np.array([1, 0, 2])
    limit = (1 << 62) // 3
    for top in (limit - 1, limit, limit + 1):
        tier = np.array([top, top, 0])
        np.testing.assert_array_equal(_ranking(tier, tie_rank), [2, 1, 0])


@settings(max_examples=40, deadline=None)
@given(members=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_fitting_reads_each_members_mask_at_their_minutes_of_the_week(members: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    masks = [rng.random(10080) < 0.4 for _ in range(members)]
    week = rng.integers(0, 10080, (members, 30, 12)).astype(np.int16)
    np.testing.assert_array_equal(_fitting(masks, week), np.stack([mask[week[m].astype(np.int64)] for m, mask in enumerate(masks)]))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(-5, 2**62), max_size=50))
def test_run_numbers_are_equal_exactly_where_the_sorted_values_are(values: list[int]) -> None:
    ranked = np.sort(np.array(values, dtype=np.int64))
    runs = _run_numbers(ranked)
    assert runs.dtype == np.int32 and len(runs) == len(ranked)
    same = ranked[:, None] == ranked[None, :]
    np.testing.assert_array_equal(runs[:, None] == runs[None, :], same)
    assert not len(runs) or runs[0] == 0


@settings(max_examples=40, deadline=None)
@given(first=st.lists(st.integers(-3, 3), max_size=20), second=st.lists(st.integers(-3, 3), max_size=20))
def test_run_numbers_of_two_stacked_rankings_are_each_ones_own(first: list[int], second: list[int]) -> None:
    size = min(len(first), len(second))
    both = np.stack([np.sort(np.array(first[:size], dtype=np.int64)), np.sort(np.array(second[:size], dtype=np.int64))])
    runs = _run_numbers(both)
    assert runs.dtype == np.int32 and runs.shape == both.shape
    for row in range(2):
        np.testing.assert_array_equal(runs[row], _run_numbers(both[row]))


def test_a_narrow_occurrence_table_holds_the_wide_ones_values_in_int32(
        planner: _Planner, cohort_members: list[tuple[_Person, ...]]) -> None:
    moved = 0
    for members in cohort_members[:30]:
        profile = planner.profile(members)
        patterns = profile.order[:schedule_module.RANKED_PREFIX]
        wide, narrow = profile.occurrence_table(patterns), profile.occurrence_table(patterns, narrow=True)
        assert wide.keys() == narrow.keys()
        for name in wide:
            assert narrow[name].dtype == (np.int32 if wide[name].dtype == np.int64 else wide[name].dtype), name
            np.testing.assert_array_equal(narrow[name], wide[name], err_msg=name)
        moved += int((wide["day"] != profile.base[patterns]).sum())
    assert moved > 0                  # holiday moves among the best patterns: their overrides are narrowed too


def test_a_ranked_profile_answers_every_question_choose_asks_as_the_profile_does(
        planner: _Planner, cohort_members: list[tuple[_Person, ...]]) -> None:
    for members in cohort_members[:30]:
        profile = planner.profile(members)
        ranked = _RankedProfile.of(profile).attach(planner, members)
        np.testing.assert_array_equal(ranked.order, profile.order)
        np.testing.assert_array_equal(ranked.out_all, profile.out_all)
        for name in ("tier", "major"):
            ours, theirs = getattr(ranked, name), getattr(profile, name)
            np.testing.assert_array_equal(ours[:, None] == ours[None, :], theirs[:, None] == theirs[None, :])
        for p in profile.order[:schedule_module.RANKED_PREFIX + 2].tolist():
            ours, theirs = ranked.occurrence_values(p), profile.occurrence_values(p)
            for name in theirs:
                assert ours[name].dtype == theirs[name].dtype, name
                np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


# ----------------------------------------------------------------------------- bookings


@settings(max_examples=80, deadline=None)
@given(taken=st.lists(st.sets(st.integers(0, 40)), min_size=1, max_size=3),
       occurrences=st.lists(st.integers(0, 600), max_size=8), duration=st.integers(5, 75), event=st.booleans())
def test_conflicts_count_the_taken_slots_as_a_slot_by_slot_check_does(taken: list[set[int]], occurrences: list[int],
                                                                      duration: int, event: bool) -> None:
    bookings = _Bookings([])
    emails = [f"p{i}@example.org" for i in range(len(taken))]
    for email, slots in zip(emails, taken):
        bookings.busy[email] = set(slots)
    if event:
        bookings.everyone = {3, 4, 30}
    sets = [bookings.busy[email] for email in emails] + [bookings.everyone]
    expected = sum(1 for u in occurrences for slot in _slots(u, duration) if any(slot in s for s in sets))
    assert bookings.conflicts(occurrences, duration, *emails) == expected


def test_booking_then_conflicts_sees_each_slot_of_the_booked_check_ins() -> None:
    bookings = _Bookings([])
    bookings.book(_slot_list([0, 600], 30), "ana@example.org", [20500, 20501])
    assert bookings.busy["ana@example.org"] == {0, 1, 40, 41}
    assert bookings.days["ana@example.org"] == {20500, 20501}
    assert bookings.conflicts([15, 29, 30, 44], 15, "ana@example.org") == 2      # 15 and 29 in slot 1; slot 2 free
    assert bookings.conflicts([14], 16, "ana@example.org") == 2                  # slots 0 and 1


# ----------------------------------------------------------------------------- rows


def test_an_occurrence_left_on_a_blocked_day_inside_everyones_window_is_flagged() -> None:
    """Only occurrences outside a window, moved or left on a blocked day get flags of their own;
    the last of these is the one that can happen with every member free (a month blacked out)."""
    book = book_of([person("Sam Lee", "sam@example.org", "mentor", "Europe/London", "Weekday evenings"),
                    person("Ana Ruiz", "ana@example.org", "mentee", "Europe/London", "Weekday evenings")],
                   [("ana@example.org", "sam@example.org")])
    april = [f"2026-04-{day:02d}" for day in range(1, 31)]
    checkins = schedule_module.plan_checkins(book, config_from_dict({"schedule": {"blackout": april}}),
                                             start=START, months=3).checkins
    assert checkins["flag"].tolist() == ["", "on blackout date: no allowed day that month", ""]


def test_tightness_counts_the_common_weekly_starts_as_the_mid_period_offsets_say(
        planner: _Planner, cohort_members: list[tuple[_Person, ...]]) -> None:
    mid = np.array([(planner.d0 + planner.D // 2) * 1440])
    starts = np.arange(0, 7 * 1440, 15)
    for members in cohort_members[:60]:
        offsets = [int(planner.zone_table(m.zone).offset_at_utc(mid)[0]) for m in members]
        common = np.logical_and.reduce([planner.fits(m.windows)[(starts + offset - offsets[0]) % (7 * 1440)]
                                        for m, offset in zip(members, offsets)])
        assert planner.tightness(members) == int(common.sum())


def test_check_in_rows_come_in_natural_pair_id_order_and_workbook_order_on_a_tie() -> None:
    people = [person(f"P {i}", f"p{i}@example.org", "mentor" if i < 4 else "mentee") for i in range(8)]
    book = book_of(people, [("p4@example.org", "p0@example.org"), ("p5@example.org", "p1@example.org"),
                            ("p6@example.org", "p2@example.org"), ("p7@example.org", "p3@example.org")])
    book.pairs["pair_id"] = ["P10", "P9", "P1", "P01"]
    checkins = schedule_module.plan_checkins(book, config_from_dict(CONFIG), start=START, months=2).checkins
    assert checkins["pair_id"].tolist() == ["P1", "P1", "P01", "P01", "P9", "P9", "P10", "P10"]
    assert checkins["occurrence"].tolist() == [1, 2] * 4


def test_records_reads_each_row_as_to_dict_records_does() -> None:
    """The same cells, but a missing one as its column holds it (None, nan or pd.NA where to_dict
    says None): ``_text``, which every planning read goes through, makes each of them blank."""
    import pandas as pd

    frame = pd.DataFrame({"email": ["a@x.org", None, "c@x.org"], "row": [2, 3, 4], "score": [1.5, float("nan"), 0.0],
                          "availability": [("Weekends",), (), "Mon 9-5; Tue"], "when": pd.to_datetime(["2026-01-01"] * 3)})
    frame["name"] = pd.Series(["Ana", pd.NA, "Cy"], dtype="string")
    ours, theirs = schedule_module._records(frame), frame.to_dict("records")
    assert [list(row) for row in ours] == [list(row) for row in theirs]
    for mine, pandas_row in zip(ours, theirs):
        for name, value in pandas_row.items():
            assert schedule_module._text(mine[name]) == schedule_module._text(value), name
            if schedule_module._text(value):
                assert type(mine[name]) is type(value) and mine[name] == value, name

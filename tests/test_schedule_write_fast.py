"""The main process's share of ``mentor schedule`` read a column at a time (issue 14 item 7).

Each shortcut against the plain way it replaced, which stays the definition: the series'
fingerprints (``_series_fingerprints`` against ``_series_fingerprint`` of each series' rows:
the state of every published folder holds them, so a changed hash would send every pair an
update), the series' rows in time order (``_series_places``), the sheet's text and time
columns (``_texts``, ``_naive_utc``) and the run's DTSTAMP (``_stamped``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import mentorcli.schedule as schedule_module
from mentorcli.config import config_from_dict
from mentorcli.ics import format_stamp, parse_stamp
from mentorcli.schedule import FINGERPRINT_KEYS, Schedule, plan_checkins
from tests.test_schedule_bytes import CONFIG, START, cohort

SETTINGS = config_from_dict(CONFIG)
MOMENTS = [pd.Timestamp("2026-03-03 17:00", tz="UTC"), pd.Timestamp("2026-03-03 17:30", tz="UTC"),
           pd.Timestamp("2026-04-07 09:00", tz="UTC")]
TEXTS = st.one_of(st.text(max_size=12), st.sampled_from(['"quoted"', "back\\slash", "line\nfeed", " padded ", "Ünï ✓"]))
CELLS = st.one_of(TEXTS, st.none(), st.just(math.nan), st.integers(-3, 3))


def reference_rows(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The series' rows as they were gathered before positions: a dict per row of the frame
    sorted by start and pair id, appended to its UID's list."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.sort_values(["start_utc", "pair_id"], kind="stable").to_dict("records"):
        out.setdefault(row["uid"], []).append(row)
    return out


def table_of(frame: pd.DataFrame) -> schedule_module._SeriesTable:
    return schedule_module._SeriesTable(frame, schedule_module._series_places(frame))


def schedule_of(frame: pd.DataFrame) -> Schedule:
    return Schedule(checkins=frame, events=[], problems=[], start=START, months=6)


@st.composite
def checkin_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Rows of a few series: equal starts and pair ids out of order (the sort's ties), any text,
    blanks and numbers in the fingerprinted cells, sometimes a fingerprinted column missing."""
    count = draw(st.integers(1, 12))
    frame = pd.DataFrame({
        "uid": draw(st.lists(st.sampled_from(["u1", "u2", "u3"]), min_size=count, max_size=count)),
        "pair_id": draw(st.lists(st.sampled_from(["P10", "P2", "P1"]), min_size=count, max_size=count)),
        "start_utc": pd.to_datetime(draw(st.lists(st.sampled_from(MOMENTS), min_size=count, max_size=count)), utc=True),
    })
    frame["end_utc"] = frame["start_utc"] + pd.Timedelta(minutes=30)
    for key in FINGERPRINT_KEYS:
        if key not in frame:
            frame[key] = pd.Series(draw(st.lists(CELLS, min_size=count, max_size=count)), dtype=object)
    missing = draw(st.sampled_from([None, "mentee_tz", "flag"]))
    return frame.drop(columns=[missing]) if missing else frame


@settings(max_examples=150, deadline=None)
@given(checkin_frames())
def test_fingerprints_read_by_column_are_each_series_fingerprint(frame: pd.DataFrame) -> None:
    expected = {uid: schedule_module._series_fingerprint(rows, SETTINGS) for uid, rows in reference_rows(frame).items()}
    assert schedule_module._series_fingerprints(table_of(frame), SETTINGS) == expected
    assert list(schedule_module._series_fingerprints(table_of(frame), SETTINGS)) == list(expected)


@settings(max_examples=150, deadline=None)
@given(checkin_frames())
def test_series_rows_by_position_are_the_sorted_rows_of_each_uid(frame: pd.DataFrame) -> None:
    """Rows, people and first rows of each series, by position, as the sorted rows give them."""
    expected = reference_rows(frame)
    found = schedule_module._series_rows(schedule_of(frame))
    assert list(found) == list(expected)
    table = table_of(frame)
    people, firsts = table.people, table.first("pair_id")
    for uid, rows in expected.items():
        assert [{k: str(v) for k, v in row.items()} for row in found[uid]] == [{k: str(v) for k, v in row.items()} for row in rows]
        assert people[uid] == schedule_module._series_people(rows)
        assert firsts[uid] == rows[0]["pair_id"]


def test_fingerprints_of_a_planned_cohort_are_the_state_it_records() -> None:
    """A real plan (pairs, a mentor with two mentees, a circle, holiday moves): every series'
    fingerprint is the per-row one, in the order the series are published."""
    schedule = plan_checkins(cohort(), SETTINGS, start=START, months=6)
    series = schedule_module._series_rows(schedule)
    assert len(series) > 5
    expected = {uid: schedule_module._series_fingerprint(rows, SETTINGS) for uid, rows in series.items()}
    assert schedule_module._series_fingerprints(table_of(schedule.checkins), SETTINGS) == expected
    _, state, _ = schedule_module._versions(schedule, SETTINGS, {})
    assert {uid: state[uid].fingerprint for uid in series} == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(CELLS, st.just(pd.NA), st.floats(allow_nan=True), st.just("  "))))
def test_texts_reads_each_cell_as_text_does(values: list[Any]) -> None:
    assert schedule_module._texts(values) == [schedule_module._text(v) for v in values]


@given(st.lists(st.text(alphabet=" \t\nab", max_size=5)))
def test_texts_of_only_strings_strips_each(values: list[str]) -> None:
    assert schedule_module._texts(values) == [v.strip() for v in values]


def test_naive_utc_is_each_time_in_utc_without_its_zone() -> None:
    moments = [dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 3, 0, tzinfo=ZoneInfo("Europe/London")),
               dt.datetime(2026, 10, 25, 1, 30, tzinfo=ZoneInfo("Asia/Kolkata")), dt.datetime(2027, 1, 1, 0, 0, 59, 999999, tzinfo=dt.UTC)]
    found = schedule_module._naive_utc(pd.Series(pd.to_datetime(moments, utc=True)))
    assert found == [schedule_module._as_utc(m).replace(tzinfo=None) for m in moments]
    assert {type(m) for m in found} == {dt.datetime}


def test_the_run_is_stamped_to_the_second_in_utc() -> None:
    for now in (dt.datetime(2026, 12, 7, 1, 2, 3, 999999, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 1, 30, 5, tzinfo=ZoneInfo("Europe/London"))):
        assert schedule_module._stamped(now) == parse_stamp(format_stamp(now))
        assert schedule_module._stamped(now).microsecond == 0

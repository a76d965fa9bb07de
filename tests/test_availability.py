"""Availability answers -> weekly windows -> the UTC hour mask used for scoring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mentorcli.availability import (
    FINEST_SLOT,
    Window,
    parse_time_range,
    parse_window_spec,
    unreadable_answers,
    weekly_utc_grid,
    windows_for,
)
from mentorcli.config import Config, config_from_dict
from mentorcli.model import make_people


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6:00-7:00pm F", [Window(4, 18 * 60, 19 * 60)]),
        ("8:00-9:00pm T", [Window(1, 20 * 60, 21 * 60)]),
        ("7:00-8:00pm Th", [Window(3, 19 * 60, 20 * 60)]),
        ("6:00-7:00pm Sun", [Window(6, 18 * 60, 19 * 60)]),
        ("Tue, Thu 12:00-13:00", [Window(1, 720, 780), Window(3, 720, 780)]),
        ("Saturday mornings", [Window(5, 480, 720)]),
    ],
)
def test_free_text_slots(text: str, expected: list[Window]) -> None:
    assert parse_window_spec(text) == expected


def test_config_mapping_wins_over_free_text() -> None:
    config = config_from_dict({"availability": {"Weekday evenings": "Mon,Wed 19:00-20:00"}})
    assert windows_for(["weekday evenings "], config) == [Window(0, 1140, 1200), Window(2, 1140, 1200)]


def test_default_mapping_covers_the_usual_form_answers() -> None:
    config = Config()
    assert windows_for(["Weekday evenings"], config) == [Window(d, 18 * 60, 21 * 60) for d in range(5)]
    assert {w.weekday for w in windows_for(["Weekends"], config)} == {5, 6}
    assert windows_for(["I am a potato"], config) == []


def test_midnight_end_and_twelve_hour_clock() -> None:
    assert parse_time_range("21:00 - 00:00 local time") == (21 * 60, 24 * 60)
    assert parse_time_range("9-5pm") == (9 * 60, 17 * 60)
    assert parse_time_range("12pm-1pm") == (12 * 60, 13 * 60)
    assert parse_time_range("25:00-26:00") is None


def test_utc_mask_shifts_by_time_zone() -> None:
    people = make_people(
        [
            {"name": "L", "email": "l@example.org", "role": "mentor", "availability": ("Weekday evenings",), "timezone": "Europe/London"},
            {"name": "N", "email": "n@example.org", "role": "mentee", "availability": ("Weekday evenings",), "timezone": "America/New_York"},
            {"name": "B", "email": "b@example.org", "role": "mentee", "availability": ("Weekday evenings",), "timezone": "Europe/Dublin"},
            {"name": "U", "email": "u@example.org", "role": "mentee"},
        ]
    )
    grid = weekly_utc_grid(people, Config())
    mask = grid.masks[grid.ids]
    assert grid.minutes().tolist() == [15 * 60, 15 * 60, 15 * 60, 0] and not mask[3].any()
    assert grid.shared_minutes([0], [1]).tolist() == [0]  # 18-21 London is 13-16 in New York
    assert (mask[0] == mask[2]).all()
    monday_18_utc = 18 * 60 // grid.slot
    assert mask[0, monday_18_utc] and mask[1, monday_18_utc + 5 * 60 // grid.slot]


def test_unknown_time_zone_falls_back_to_the_cohorts_common_zone() -> None:
    people = make_people(
        [
            {"name": "A", "email": "a@example.org", "role": "mentor", "availability": ("Weekday evenings",), "timezone": "Asia/Tokyo"},
            {"name": "B", "email": "b@example.org", "role": "mentee", "availability": ("Weekday evenings",)},
        ]
    )
    grid = weekly_utc_grid(people, Config())
    assert (grid.masks[grid.ids[0]] == grid.masks[grid.ids[1]]).all()


@given(
    start=st.integers(0, 23 * 60),
    length=st.integers(30, 180),
    offset_hours=st.integers(-12, 14),
)
def test_grid_minutes_equal_window_length_whatever_the_offset(start: int, length: int, offset_hours: int) -> None:
    end = min(start + length, 24 * 60)
    hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}" if end < 1440 else f"{start // 60:02d}:{start % 60:02d}-00:00"
    sign = "+" if offset_hours >= 0 else "-"
    people = make_people(
        [{"name": "A", "email": "a@example.org", "role": "mentor", "availability": (f"Wed {hours}",),
          "timezone": f"UTC{sign}{abs(offset_hours):02d}:00"}]
    )
    grid = weekly_utc_grid(people, Config())
    utc_start = (2 * 1440 + start - offset_hours * 60) % (7 * 1440)  # Wednesday, in UTC minutes of the week
    utc_end = utc_start + end - start
    if math.gcd(7 * 1440, utc_start, utc_end) >= FINEST_SLOT:
        expected = end - start  # every edge on the grid: exact to the minute, never whole hours
    else:  # an edge off the 5-minute grid is rounded inward to it
        expected = utc_end // FINEST_SLOT * FINEST_SLOT - -(-utc_start // FINEST_SLOT) * FINEST_SLOT
    assert grid.minutes().tolist() == [expected] and expected <= end - start
    assert np.flatnonzero(grid.masks[grid.ids[0]]).size * grid.slot == expected


def test_the_assumed_zone_is_the_most_common_known_one_ties_by_name() -> None:
    from mentorcli.tz import most_common_zone

    assert most_common_zone(["Europe/Paris", " Asia/Tokyo ", "Asia/Tokyo", "Mars/Base", "", None]) == "Asia/Tokyo"
    assert most_common_zone(["Europe/Paris", "Asia/Tokyo"]) == "Asia/Tokyo"
    assert most_common_zone(["Asia/Tokyo", "Europe/Paris"]) == "Asia/Tokyo"
    assert most_common_zone(["nowhere", float("nan")]) == "UTC"
    assert most_common_zone(pd.Series([["Asia/Tokyo"], "Europe/Paris"], dtype=object)) == "Europe/Paris"  # a list cell is no zone


def test_scoring_assumes_the_same_zone_as_the_scheduler_on_a_tie() -> None:
    people = make_people(
        [
            {"name": "P", "email": "p@example.org", "role": "mentor", "availability": ("Weekday evenings",), "timezone": "Europe/Paris"},
            {"name": "T", "email": "t@example.org", "role": "mentor", "availability": ("Weekday evenings",), "timezone": "Asia/Tokyo"},
            {"name": "U", "email": "u@example.org", "role": "mentee", "availability": ("Weekday evenings",)},
        ]
    )
    grid = weekly_utc_grid(people, Config())
    assert (grid.masks[grid.ids[2]] == grid.masks[grid.ids[1]]).all()


def test_distinct_answers_reads_every_cell_as_itself_in_order_of_first_appearance() -> None:
    import pandas as pd

    from mentorcli.availability import distinct_answers

    cells = pd.Series(["a", None, "b", float("nan"), "a", None, ["x"], ("x",)], dtype=object)
    codes, combinations = distinct_answers(cells)
    assert codes.tolist() == [0, 1, 2, 3, 0, 4, 5, 5]  # missing cells each their own, lists as tuples
    assert [str(c) for c, in combinations] == ["a", "None", "b", "nan", "None", "('x',)"]
    codes, combinations = distinct_answers(pd.Series(["a", "a", "b", "b"]), pd.Series(["x", "y", "x", "x"]))
    assert codes.tolist() == [0, 1, 2, 2]
    assert combinations == [("a", "x"), ("a", "y"), ("b", "x")]


@pytest.mark.parametrize("answer", ["never", "25:00-26:00", "Mon 25:00-26:00", "\U0001F600", "9:60-10:00", "ask me"])
def test_answers_without_a_window_are_listed_as_unreadable(answer) -> None:
    config = Config()
    assert unreadable_answers([answer, "Weekday evenings", "Mon 18:00-19:00", "weekends "], config) == [answer]


def test_a_mapped_answer_counts_by_the_windows_of_its_mapping() -> None:
    config = config_from_dict({"availability": {"Whenever": "Mon-Fri 09:00-17:00"}})
    assert unreadable_answers(["whenever", "never"], config) == ["never"]

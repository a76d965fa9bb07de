"""Mutants of ``mentor schedule`` that no test killed (issue 15 item 6): the week-of-month of a
check-in (each weekday, months starting on every weekday, the 5th-week case), a check-in moved off
a blocked day at a month's edge, and the tie-break between equally good patterns.

Written against the public functions (``plan_checkins``, ``series_shape``, ``read_checkins``,
``pair_invite``) and calendars parsed back with icalendar; the expected dates are computed here
with the ``calendar`` module, not with the code under test.
"""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from icalendar import Calendar

from mentorcli.config import config_from_dict
from mentorcli.ics import CADENCES, series_shape
from mentorcli.model import PairingBook, make_people
from mentorcli.schedule import pair_invite, plan_checkins, read_checkins

LONDON = ZoneInfo("Europe/London")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ORDINALS = ("1st", "2nd", "3rd", "4th")
MONTHS_2026 = [(2026, m) for m in range(1, 13)]  # their first days fall on every weekday


def weekdays_of(year: int, month: int, weekday: int) -> list[dt.date]:
    """Every ``weekday`` of a month, in order (independent of the code under test)."""
    return [dt.date(year, month, day) for day in range(1, calendar.monthrange(year, month)[1] + 1)
            if dt.date(year, month, day).weekday() == weekday]


def book_of(answers: tuple[str, ...], zone: str = "Europe/London") -> PairingBook:
    people = make_people([
        {"name": "Sam Lee", "email": "sam@example.org", "role": "mentor", "timezone": zone, "availability": answers},
        {"name": "Bo Chan", "email": "bo@example.org", "role": "mentee", "timezone": zone, "availability": answers},
    ])
    pairs = pd.DataFrame([{"pair_id": "P001", "mentee_email": "bo@example.org", "mentor_email": "sam@example.org",
                           "mentee": "Bo Chan", "mentor": "Sam Lee", "score": 50.0, "why": "", "row": 2}])
    return PairingBook(path=Path("pairs.xlsx"), pairs=pairs, people=people)


def local_days(plan: pd.DataFrame) -> list[dt.date]:
    return [t.to_pydatetime().astimezone(LONDON).date() for t in plan["start_utc"]]


# ------------------------------------------------------------------------ week of the month


def test_every_month_of_2026_starts_on_another_weekday():
    assert {dt.date(y, m, 1).weekday() for y, m in MONTHS_2026} == set(range(7))


@pytest.mark.parametrize("weekday", range(7))
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_the_rule_of_a_series_on_the_nth_weekday_names_that_week_for_every_month(weekday, n):
    """Twelve check-ins on the n-th ``weekday``: one RRULE ``BYDAY=<n><day>`` reproduces each of them
    as it is (no override, no exclusion), in months starting on every weekday."""
    starts = [dt.datetime.combine(weekdays_of(y, m, weekday)[n - 1], dt.time(18), LONDON) for y, m in MONTHS_2026]
    shape = series_shape(starts, LONDON, CADENCES["monthly"])
    assert shape.rule is not None and shape.rule["byday"] == f"{n}{DAY_CODES[weekday]}"
    assert shape.rule["count"] == 12 and shape.dtstart == starts[0]
    assert shape.plain == list(range(12))
    assert (shape.overrides, shape.exdates, shape.rdates) == ([], [], [])


def test_a_fifth_week_never_becomes_the_rule_a_month_without_one_could_not_follow():
    """The last Tuesday of each month, five of them in a 5th week: the rule stays the 4th Tuesday
    (every month has one), the 5th-week check-ins are overrides of it."""
    starts = [dt.datetime.combine(weekdays_of(2026, m, 1)[-1], dt.time(18), LONDON) for m in (3, 6, 9, 12, 1, 2)]
    starts.sort()
    fifth = [i for i, s in enumerate(starts) if s.day > 28]
    assert len(fifth) == 4                                  # a majority in the 5th week
    shape = series_shape(starts, LONDON, CADENCES["monthly"])
    assert shape.rule is not None and shape.rule["byday"] == "4TU"
    assert sorted(i for _, i in shape.overrides) == fifth
    for instance, i in shape.overrides:
        assert instance == dt.datetime.combine(weekdays_of(starts[i].year, starts[i].month, 1)[3], dt.time(18), LONDON)
    only_fifth = [starts[i] for i in fifth]
    alone = series_shape(only_fifth, LONDON, CADENCES["monthly"])
    assert alone.rule is None and alone.dtstart == only_fifth[0] and alone.rdates == [1, 2, 3]


@pytest.mark.parametrize("weekday", [1, 5])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_a_planned_pattern_is_the_nth_weekday_of_every_month(weekday, n):
    """Only the n-th ``weekday`` of each month is free (the others are blackout dates): the plan
    keeps that pattern, names it, and each check-in is that day of its own month."""
    months = MONTHS_2026
    blackout = sorted(d.isoformat() for y, m in months for i, d in enumerate(weekdays_of(y, m, weekday)) if i != n - 1)
    config = config_from_dict({"schedule": {"weekdays": [DAY_SHORT[weekday]], "local_holidays": False,
                                            "blackout": blackout}})
    book = book_of((f"{DAY_SHORT[weekday]} 18:00-20:00",))
    plan = plan_checkins(book, config, start=dt.date(2026, 1, 1), months=12).checkins
    assert local_days(plan) == [weekdays_of(y, m, weekday)[n - 1] for y, m in months]
    assert set(plan["pattern"]) == {f"{ORDINALS[n - 1]} {DAY_NAMES[weekday]} 18:00 Europe/London"}
    assert (plan["flag"] == "").all()


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_an_invitation_from_a_hand_made_sheet_names_the_week_its_check_ins_fall_in(tmp_path, n):
    """A sheet without the planner's pattern (as ``checkins.xlsx`` is): the invitation says the
    usual time from the dates themselves. April and July 2026 start on a Wednesday, so their
    Tuesdays fall on the 7th, 14th, 21st and 28th (the last day of each week of the month)."""
    days = [weekdays_of(2026, m, 1)[n - 1] for m in (4, 5, 6, 7)]
    assert days[0].day == days[3].day == 7 * n
    lines = ["Pair ID,Mentee Email,Mentor Email,Occurrence,Start (UTC)"]
    for occurrence, day in enumerate(days, 1):
        start = dt.datetime.combine(day, dt.time(18), LONDON).astimezone(dt.UTC)
        lines.append(f"P001,bo@example.org,sam@example.org,{occurrence},{start:%Y-%m-%d %H:%M}")
    sheet = tmp_path / "checkins.csv"
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = read_checkins(sheet)
    book = book_of(("Tue 18:00-20:00",))
    invite = Calendar.from_ical(pair_invite(rows, book, config_from_dict({}), "P001"))
    master = next(e for e in invite.walk("VEVENT") if "RRULE" in e)
    assert f"Usual time: {ORDINALS[n - 1]} Tuesday 18:00 Europe/London." in str(master["DESCRIPTION"])
    assert master["RRULE"]["BYDAY"] == [f"{n}TU"]
    assert [e for e in invite.walk("VEVENT") if "RECURRENCE-ID" in e] == []


# ------------------------------------------------------------------------ a move at a month's edge


def weekend_days(year: int, month: int) -> list[dt.date]:
    return [d for wd in (5, 6) for d in weekdays_of(year, month, wd)]


def test_a_blocked_check_in_on_the_last_day_of_a_month_never_moves_into_the_next():
    """February 2026: its 4th Saturday is the 28th, the last day. Every Saturday and Sunday of
    February is a blackout date (March's are free), so the only weekend day inside both people's
    windows within a week of any February pattern is Sunday 1 March: it belongs to March, the
    check-in may not go there, and February's check-in stays in February (outside the windows)."""
    config = config_from_dict({"schedule": {"weekdays": ["Sat", "Sun"], "local_holidays": False,
                                            "blackout": sorted(d.isoformat() for d in weekend_days(2026, 2))}})
    book = book_of(("Sat 10:00-13:00", "Sun 10:00-13:00"))
    plan = plan_checkins(book, config, start=dt.date(2026, 2, 1), months=2).checkins
    feb, mar = local_days(plan)
    assert (feb.year, feb.month) == (2026, 2) and (mar.year, mar.month) == (2026, 3)
    assert "moved from" in plan["flag"].iloc[0]


def test_a_blocked_check_in_on_the_first_day_of_a_month_never_moves_into_the_one_before():
    """March 2026 starts on a Sunday. Every weekend day of March is a blackout date; February's are
    free. A March check-in may not move back to Saturday 28 February (February has its own)."""
    config = config_from_dict({"schedule": {"weekdays": ["Sat", "Sun"], "local_holidays": False,
                                            "blackout": sorted(d.isoformat() for d in weekend_days(2026, 3))}})
    book = book_of(("Sat 10:00-13:00", "Sun 10:00-13:00"))
    plan = plan_checkins(book, config, start=dt.date(2026, 2, 1), months=2).checkins
    feb, mar = local_days(plan)
    assert (feb.year, feb.month) == (2026, 2) and (mar.year, mar.month) == (2026, 3)


# ------------------------------------------------------------------------ the tie-break


@pytest.mark.parametrize(("window", "expected"), [("08:30-20:00", "09:00"), ("08:00-20:00", "08:00"),
                                                  ("09:30-20:00", "10:00")])
def test_on_the_hour_beats_an_earlier_half_hour_between_equally_good_patterns(window, expected):
    """The documented order among equally good patterns: on the hour, then earliest, then the
    2nd week, then the first preferred weekday."""
    book = book_of((f"Mon-Sun {window}",))
    config = config_from_dict({"schedule": {"weekdays": ["Wed", "Tue"], "local_holidays": False}})
    plan = plan_checkins(book, config, start=dt.date(2026, 3, 2), months=3).checkins
    assert set(plan["pattern"]) == {f"2nd Wednesday {expected} Europe/London"}


@pytest.mark.parametrize(("cadence", "expected"), [
    ("quarterly", "2nd Tuesday of month 1 of each quarter, 08:00 Europe/London"),
    ("fortnightly", "Tuesday of week 1 of each fortnight, 08:00 Europe/London"),
])
def test_the_tie_break_of_the_other_cadences(cadence, expected):
    book = book_of(("Mon-Sun 00:00-24:00",))
    config = config_from_dict({"schedule": {"weekdays": ["Tue"], "local_holidays": False, "cadence": cadence}})
    plan = plan_checkins(book, config, start=dt.date(2026, 3, 2), months=6).checkins
    assert set(plan["pattern"]) == {expected}

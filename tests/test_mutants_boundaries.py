"""More boundaries found by hand mutation (issue 15 item 6): each rule at its exact limit and one
step either side, where flipping ``<`` and ``<=`` went unnoticed by every other test.

- the sponsor summary shows a group of exactly ``min_group_size`` pairs;
- a check-in scheduled on the report date is not yet due, the day after it is;
- a check-in may last exactly ``schedule.duration_minutes`` = 480, and fill the whole
  earliest-latest window, but not one minute more;
- a weekly programme whose last week ends on the last day of its last month keeps that week.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from mentorcli.config import config_from_dict
from mentorcli.errors import MentorError
from mentorcli.model import PairingBook, make_people
from mentorcli.report import (
    build_report,
    read_checkin_logs,
    read_schedule,
    sponsor_context,
)
from mentorcli.schedule import plan_checkins, write_schedule

LONDON = "Europe/London"


def one_pair_book(answers: tuple[str, ...] = ("Mon-Sun 00:00-24:00",)) -> PairingBook:
    people = make_people([
        {"name": "Sam Lee", "email": "sam@example.org", "role": "mentor", "timezone": LONDON, "availability": answers},
        {"name": "Bo Chan", "email": "bo@example.org", "role": "mentee", "timezone": LONDON, "availability": answers},
    ])
    pairs = pd.DataFrame([{"pair_id": "P001", "mentee_email": "bo@example.org", "mentor_email": "sam@example.org",
                           "mentee": "Bo Chan", "mentor": "Sam Lee", "score": 50.0, "why": "", "row": 2}])
    return PairingBook(path=Path("pairs.xlsx"), pairs=pairs, people=people)


# ------------------------------------------------------------------------ sponsor groups


def groups_book(tmp_path: Path) -> PairingBook:
    industries = ["Arts"] * 6 + ["Banking"] * 4 + ["Chemistry", "Defence"]
    people = [{"name": f"Mentee {i}", "email": f"m{i}@example.org", "role": "mentee", "industry": industry}
              for i, industry in enumerate(industries)]
    people += [{"name": f"Mentor {i}", "email": f"t{i}@example.org", "role": "mentor"} for i in range(12)]
    pairs = pd.DataFrame({"pair_id": [f"P{i:03d}" for i in range(12)],
                          "mentee_email": [f"m{i}@example.org" for i in range(12)],
                          "mentor_email": [f"t{i}@example.org" for i in range(12)],
                          "mentee": [f"Mentee {i}" for i in range(12)], "mentor": [f"Mentor {i}" for i in range(12)],
                          "score": 50.0, "why": "", "row": range(2, 14)})
    return PairingBook(path=tmp_path / "pairs.xlsx", pairs=pairs, people=make_people(people))


@pytest.mark.parametrize(("minimum", "expected"), [
    (6, [("Arts", 6), ("other groups", 6)]),     # Arts has exactly 6: shown; the other 6 together: shown
    (7, None),                                   # nothing reaches 7 but the fold of all, which would be the total
    (4, [("Arts", 6), ("other groups", 6)]),     # Banking's exactly 4 is shown, then joins the fold of 2
])
def test_a_sponsor_group_of_exactly_the_minimum_is_shown(tmp_path, minimum, expected):
    book = groups_book(tmp_path)
    config = config_from_dict({"report": {"min_group_size": minimum}}, tmp_path / "mentor.toml")
    logs, _ = read_checkin_logs([], book, config)
    report = build_report(book, None, logs, config, as_of=dt.date(2026, 4, 10))
    groups = sponsor_context(report, book, config)["groups"]
    assert (None if groups is None else [(row["label"], row["pairs"]) for row in groups["rows"]]) == expected


# ------------------------------------------------------------------------ due on the report date


def test_a_check_in_on_the_report_date_is_not_yet_due_and_the_day_after_it_is(tmp_path):
    book = one_pair_book()
    config = config_from_dict({"schedule": {"local_holidays": False}}, tmp_path / "mentor.toml")
    schedule = plan_checkins(book, config, start=dt.date(2026, 1, 5), months=3)
    written = write_schedule(schedule, book, config, tmp_path / "calendar", force=False)
    sheet = [p for p in written if p.name == "checkins.xlsx"]
    slots = read_schedule(sheet)
    logs, _ = read_checkin_logs(sheet, book, config, schedule=slots)
    second = schedule.checkins["start_utc"].iloc[1].tz_convert(LONDON).date()
    counts = {}
    for as_of in (second - dt.timedelta(days=1), second, second + dt.timedelta(days=1)):
        status = build_report(book, slots, logs, config, as_of=as_of).status.iloc[0]
        counts[as_of - second] = (int(status["scheduled_to_date"]), int(status["upcoming"]))
    assert counts == {dt.timedelta(days=-1): (1, 2), dt.timedelta(0): (1, 2), dt.timedelta(days=1): (2, 1)}


# ------------------------------------------------------------------------ schedule windows


def test_a_check_in_may_last_exactly_the_longest_duration_and_no_longer():
    book = one_pair_book()
    config = config_from_dict({"schedule": {"duration_minutes": 480, "earliest": "08:00", "latest": "21:00"}})
    plan = plan_checkins(book, config, start=dt.date(2026, 3, 2), months=1).checkins
    assert len(plan) == 1
    assert (plan["end_utc"].iloc[0] - plan["start_utc"].iloc[0]) == pd.Timedelta(minutes=480)
    with pytest.raises(MentorError, match="duration_minutes"):
        config_from_dict({"schedule": {"duration_minutes": 481}})


@pytest.mark.parametrize(("latest", "fits"), [("09:29", False), ("09:30", True), ("09:31", True)])
def test_the_earliest_to_latest_window_may_be_exactly_one_check_in_long(latest, fits):
    book = one_pair_book()
    config = config_from_dict({"schedule": {"duration_minutes": 30, "earliest": "09:00", "latest": latest}})
    if not fits:
        with pytest.raises(MentorError, match="shorter than one check-in"):
            plan_checkins(book, config, start=dt.date(2026, 3, 2), months=1)
        return
    plan = plan_checkins(book, config, start=dt.date(2026, 3, 2), months=1).checkins
    start = plan["start_utc"].iloc[0].tz_convert(LONDON)
    assert (start.hour, start.minute) == (9, 0) and plan["flag"].iloc[0] == ""


@pytest.mark.parametrize(("start", "weeks", "last_monday"), [
    (dt.date(2026, 5, 4), 4, dt.date(2026, 5, 25)),   # May 2026 ends on a Sunday: its 4th week is whole
    (dt.date(2026, 6, 1), 4, dt.date(2026, 6, 22)),   # June ends on a Tuesday: the week of the 29th is not
])
def test_a_weekly_programme_keeps_a_last_week_that_ends_with_its_last_month(start, weeks, last_monday):
    book = one_pair_book()
    config = config_from_dict({"schedule": {"cadence": "weekly", "local_holidays": False}})
    plan = plan_checkins(book, config, start=start, months=1).checkins
    days = [t.tz_convert(LONDON).date() for t in plan["start_utc"]]
    assert len(days) == weeks
    assert last_monday <= days[-1] < last_monday + dt.timedelta(days=7)

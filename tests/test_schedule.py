"""``mentor schedule``: check-in planning, calendars parsed back, the check-in sheet round trip."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import re
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from mentorcli.availability import windows_for
from mentorcli.cadence import CADENCES, programme_months
from mentorcli.config import Config, config_from_dict
from mentorcli.errors import MentorError
from mentorcli.ics import series_shape
from mentorcli.model import PairingBook, make_people
from mentorcli.schedule import (
    CHECKIN_HEADERS,
    MAX_MONTHS,
    SHEET_NAME,
    HolidayCalendar,
    ZoneTable,
    default_start,
    pair_invite,
    participant_file_name,
    plan_checkins,
    read_checkins,
    schedule_targets,
    write_schedule,
    zone_country,
)
from tests.ics_readers import (
    icaljs_instances,
    icaljs_module,
    libical_available,
    libical_instances,
    vobject_instances,
)

UTC = dt.UTC
START = dt.date(2026, 3, 2)
GENERATED_EPOCH = 1767225600                     # 2026-01-01 00:00 UTC, as SOURCE_DATE_EPOCH
GENERATED = dt.datetime(2026, 1, 1, tzinfo=UTC)


def person(name: str, email: str, role: str, zone: str = "Europe/London", *answers: str) -> dict:
    return {"name": name, "email": email, "role": role, "timezone": zone,
            "availability": answers or ("Weekday evenings",)}


def book_of(people: list[dict], pairs: list[tuple[str, str]], path: Path = Path("pairs.xlsx")) -> PairingBook:
    """A PairingBook as ``read_pairing_workbook`` returns it, built from (mentee, mentor) emails."""
    frame = make_people(people)
    names = dict(zip(frame["email"], frame["name"]))
    rows = [{"pair_id": f"P{i:03d}", "mentee_email": mentee, "mentor_email": mentor, "mentee": names.get(mentee, ""),
             "mentor": names.get(mentor, ""), "score": 50.0, "why": "", "row": i + 1}
            for i, (mentee, mentor) in enumerate(pairs, 1)]
    return PairingBook(path=path, pairs=pd.DataFrame(rows), people=frame)


def london_new_york() -> PairingBook:
    return book_of(
        [person("Sam Lee", "sam@example.org", "mentor", "Europe/London", "Weekday evenings"),
         person("Ana Ruiz", "ana@example.org", "mentee", "America/New_York", "Mon-Fri 12:00-15:00")],
        [("ana@example.org", "sam@example.org")],
    )


def local(moment: pd.Timestamp, zone: str) -> dt.datetime:
    return moment.to_pydatetime().astimezone(ZoneInfo(zone))


def inside_windows(moment: dt.datetime, duration: int, answers: tuple[str, ...], config: Config) -> bool:
    """Independent check with zoneinfo: the whole check-in lies inside one of the person's windows."""
    start = moment.hour * 60 + moment.minute
    return any(w.weekday == moment.weekday() and w.start <= start and start + duration <= w.end
               for w in windows_for(answers, config))


def parse(path: Path) -> Calendar:
    return Calendar.from_ical(path.read_bytes())


# --------------------------------------------------------------------------------------------
# Time zones and dates


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
                                  "Asia/Kathmandu", "America/Sao_Paulo", "Pacific/Chatham",
                                  "America/Santiago"])
def test_zone_table_agrees_with_zoneinfo_around_every_transition(zone: str) -> None:
    tzinfo = ZoneInfo(zone)
    lo = int(dt.datetime(2026, 1, 1, tzinfo=UTC).timestamp() // 60)
    hi = int(dt.datetime(2027, 3, 1, tzinfo=UTC).timestamp() // 60)
    table = ZoneTable(tzinfo, lo, hi)
    # every 20 minutes over three days around each transition, plus noon of every day
    probes = [u for t in table.transitions.tolist() for u in range(t - 1440 * 1, t + 1440 * 2, 20)]
    probes += list(range(lo + 720, hi, 1440))
    assert table.transitions.size == (0 if zone in ("Asia/Kathmandu", "America/Sao_Paulo") else 2)
    utc = np.array(probes, dtype=np.int64)
    for u, offset in zip(probes, table.offset_at_utc(utc).tolist()):
        moment = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=u)
        assert offset == moment.astimezone(tzinfo).utcoffset() // dt.timedelta(minutes=1)
    # wall times, including the skipped and the repeated ones, resolve as zoneinfo does (fold=0)
    for wall, u in zip(probes, table.utc_from_local(utc).tolist()):
        naive = dt.datetime(1970, 1, 1) + dt.timedelta(minutes=wall)
        expected = naive.replace(tzinfo=tzinfo).astimezone(UTC)
        assert u == int(expected.timestamp() // 60)


def test_default_start_is_the_first_monday_of_next_month() -> None:
    assert default_start(dt.date(2026, 2, 17)) == dt.date(2026, 3, 2)
    assert default_start(dt.date(2026, 12, 5)) == dt.date(2027, 1, 4)
    assert default_start(dt.date(2026, 5, 31)) == dt.date(2026, 6, 1)


def test_months_start_in_the_start_month_unless_it_is_half_gone() -> None:
    assert programme_months(dt.date(2026, 3, 2), 3) == [dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1)]
    assert programme_months(dt.date(2026, 3, 15), 1) == [dt.date(2026, 3, 1)]       # two weeks left: it counts
    assert programme_months(dt.date(2026, 3, 16), 1) == [dt.date(2026, 4, 1)]
    assert programme_months(dt.date(2026, 11, 20), 3) == [dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1)]


def test_holiday_calendar_knows_configured_and_local_holidays() -> None:
    config = config_from_dict({"schedule": {"holidays": ["GB"], "blackout": ["2026-06-10"]}})
    lo = (dt.date(2026, 1, 1) - dt.date(1970, 1, 1)).days
    calendar = HolidayCalendar(config, lo, lo + 400)
    day = lambda d: (d - dt.date(1970, 1, 1)).days
    assert zone_country("America/New_York") == "US" and zone_country("UTC+05:30") is None
    assert calendar.reason(day(dt.date(2026, 12, 25)), None) == "Christmas Day"
    assert calendar.reason(day(dt.date(2026, 6, 10)), None) == "blackout date"
    assert calendar.reason(day(dt.date(2026, 11, 26)), "US") == "Thanksgiving Day"
    assert calendar.reason(day(dt.date(2026, 11, 26)), "GB") is None
    assert calendar.table("US")[day(dt.date(2026, 11, 26)) - lo]
    with pytest.raises(MentorError, match="holidays"):
        HolidayCalendar(config_from_dict({"schedule": {"holidays": ["XQ"]}}), lo, lo + 10)


# --------------------------------------------------------------------------------------------
# Planning


def test_london_new_york_pair_across_both_dst_changes() -> None:
    config = Config()
    book = london_new_york()
    plan = plan_checkins(book, config, start=dt.date(2026, 2, 2), months=10).checkins
    assert len(plan) == 10 and list(plan["occurrence"]) == list(range(1, 11))
    months = [(t.year, t.month) for t in plan["start_utc"]]
    assert months == sorted(set(months)) and len(months) == 10
    london = [local(t, "Europe/London") for t in plan["start_utc"]]
    new_york = [local(t, "America/New_York") for t in plan["start_utc"]]
    # the anchor (the mentor) keeps the same local time and weekday all year ...
    assert len({(m.hour, m.minute) for m in london}) == 1
    assert len({m.weekday() for m in london}) == 1
    # ... while the instant moves with British Summer Time
    assert {t.hour for t in plan["start_utc"]} == {london[0].hour, london[0].hour - 1}
    for moment in london:
        assert inside_windows(moment, 30, ("Weekday evenings",), config)
    for moment in new_york:
        assert inside_windows(moment, 30, ("Mon-Fri 12:00-15:00",), config)
    assert (plan["flag"] == "").all()
    assert plan["anchor_tz"].eq("Europe/London").all() and plan["anchor_role"].eq("mentor").all()
    march = plan[[t.month == 3 for t in plan["start_utc"]]].iloc[0]
    assert march["mentor_local"].endswith("(Europe/London)") and march["mentee_local"].endswith("(America/New_York)")


def test_daylight_saving_pushing_one_person_out_is_flagged() -> None:
    """18:00 London is 13:00 New York, except in the weeks the two DST changes differ."""
    config = Config()
    book = book_of(
        [person("Sam Lee", "sam@example.org", "mentor", "Europe/London", "Mon-Fri 18:00-18:30"),
         person("Ana Ruiz", "ana@example.org", "mentee", "America/New_York", "Mon-Fri 13:00-13:30")],
        [("ana@example.org", "sam@example.org")],
    )
    plan = plan_checkins(book, config, start=dt.date(2026, 3, 9), months=2).checkins
    march, april = plan.iloc[0], plan.iloc[1]
    assert local(march["start_utc"], "Europe/London").hour == 18 == local(april["start_utc"], "Europe/London").hour
    assert local(march["start_utc"], "America/New_York").hour == 14
    assert "daylight-saving change" in march["flag"] and "Ana Ruiz" in march["flag"]
    assert april["flag"] == ""


def test_blackout_date_moves_to_the_nearest_allowed_day_of_that_week() -> None:
    tuesdays = [f"2026-03-{d:02d}" for d in (3, 10, 17, 24, 31)]
    config = config_from_dict({"schedule": {"weekdays": ["Tue"], "blackout": tuesdays}})
    book = book_of([person("Sam Lee", "sam@example.org", "mentor"), person("Bo", "bo@example.org", "mentee")],
                   [("bo@example.org", "sam@example.org")])
    plan = plan_checkins(book, config, start=START, months=2).checkins
    march, april = (local(t, "Europe/London") for t in plan["start_utc"])
    assert april.weekday() == 1                         # the pattern is a Tuesday ...
    assert march.weekday() == 2                         # ... moved to the Wednesday after
    assert april.isocalendar().week != march.isocalendar().week
    assert (april.hour, april.minute) == (march.hour, march.minute)
    tuesday = march.date() - dt.timedelta(days=1)
    assert plan.iloc[0]["flag"] == f"moved from {tuesday:%a %Y-%m-%d} (blackout date)"
    assert plan.iloc[1]["flag"] == ""


def test_no_checkin_on_a_holiday_of_either_persons_calendar() -> None:
    config = config_from_dict({"schedule": {"holidays": ["GB"], "weekdays": ["Mon", "Fri"]}})
    people = [person("Sam Lee", "sam@example.org", "mentor", "Europe/London", "Weekday evenings"),
              person("Ana", "ana@example.org", "mentee", "America/New_York", "Weekday lunchtimes"),
              person("Bo", "bo@example.org", "mentee", "Europe/London", "Mon 18:00-21:00", "Fri 18:00-21:00")]
    book = book_of(people, [("ana@example.org", "sam@example.org"), ("bo@example.org", "sam@example.org")])
    plan = plan_checkins(book, config, start=dt.date(2026, 1, 5), months=12).checkins
    import holidays

    gb, us = holidays.country_holidays("GB", years=[2026, 2027]), holidays.country_holidays("US", years=[2026, 2027])
    for row in plan.itertuples():
        for zone in ("Europe/London", "America/New_York" if row.mentee_email == "ana@example.org" else "Europe/London"):
            day = local(row.start_utc, zone).date()
            assert day not in gb
            assert zone != "America/New_York" or day not in us


def test_mentor_checkins_never_overlap_and_spread_over_days() -> None:
    people = [person("Sam Lee", "sam@example.org", "mentor")]
    people += [person(f"Mentee {i}", f"m{i}@example.org", "mentee") for i in range(4)]
    book = book_of(people, [(f"m{i}@example.org", "sam@example.org") for i in range(4)])
    plan = plan_checkins(book, Config(), start=START, months=3).checkins
    assert len(plan) == 12 and (plan["flag"] == "").all()
    for _, month in plan.groupby([t.month for t in plan["start_utc"]]):
        days = [local(t, "Europe/London").date() for t in month["start_utc"]]
        assert len(set(days)) == 4                      # four mentees, four different days


def test_no_common_availability_gets_least_bad_time_and_a_flag() -> None:
    book = book_of(
        [person("Sam Lee", "sam@example.org", "mentor", "Europe/London", "Weekday evenings"),
         person("Cy Tran", "cy@example.org", "mentee", "Australia/Sydney", "Weekday evenings")],
        [("cy@example.org", "sam@example.org")],
    )
    plan = plan_checkins(book, Config(), start=START, months=4).checkins
    assert plan["flag"].str.startswith("no common availability: ").all()
    assert plan["flag"].str.contains("Sam Lee").all()
    for t in plan["start_utc"]:                          # 08:00-21:00 for both is possible, so it is used
        for zone in ("Europe/London", "Australia/Sydney"):
            moment = local(t, zone)
            assert 8 * 60 <= moment.hour * 60 + moment.minute <= 21 * 60 - 30


def test_unknown_time_zone_uses_the_cohort_zone_and_is_flagged() -> None:
    book = book_of([person("Sam Lee", "sam@example.org", "mentor"), person("Bo", "bo@example.org", "mentee", "")],
                   [("bo@example.org", "sam@example.org")])
    plan = plan_checkins(book, Config(), start=START, months=1).checkins
    assert plan.iloc[0]["flag"] == "time zone unknown for Bo: assumed Europe/London"
    assert plan.iloc[0]["mentee_local"].endswith("(Europe/London, assumed)")


def test_the_anchor_is_the_mentor_unless_only_the_mentees_zone_is_known() -> None:
    """Whose local time stays fixed: the mentor's; the mentee's when only theirs is known; flags
    name the mentee first, as the sheet does."""
    for mentor_zone, mentee_zone, role, zone in (("Asia/Tokyo", "", "mentor", "Asia/Tokyo"),
                                                 ("", "Asia/Tokyo", "mentee", "Asia/Tokyo"),
                                                 ("", "", "mentor", "Europe/London")):
        people = [person("Sam Lee", "sam@example.org", "mentor", mentor_zone, "Anytime"),
                  person("Bo", "bo@example.org", "mentee", mentee_zone, "Anytime"),
                  person("Cy", "cy@example.org", "mentee", "Europe/London", "Anytime")]   # the cohort's zone
        book = book_of(people, [("bo@example.org", "sam@example.org")])
        row = plan_checkins(book, Config(), start=START, months=1).checkins.iloc[0]
        assert (row["anchor_role"], row["anchor_tz"]) == (role, zone)
        assert row["pattern"].endswith(zone)
    assert row["flag"] == ("time zone unknown for Bo: assumed Europe/London; "
                           "time zone unknown for Sam Lee: assumed Europe/London")


def test_pairs_whose_people_are_unknown_are_reported_not_guessed() -> None:
    people = [person("Sam Lee", "sam@example.org", "mentor"), person("Bo", "bo@example.org", "mentee")]
    book = book_of(people, [("bo@example.org", "sam@example.org"), ("ghost@example.org", "sam@example.org"),
                            ("bo@example.org", "sam@example.org"), ("sam@example.org", "sam@example.org")])
    schedule = plan_checkins(book, Config(), start=START, months=2)
    assert set(schedule.checkins["pair_id"]) == {"P001"}
    found = {(p.row, p.column, p.severity) for p in schedule.problems}
    assert found == {(3, "Mentee Email", "error"), (4, "Pair ID", "warning"), (5, "Mentor Email", "error")}
    assert all("ghost" not in p.problem for p in schedule.problems)  # row numbers, not cell values


def test_cohort_events_block_checkins_for_everyone() -> None:
    events = [{"name": f"Session {d}", "date": f"2026-03-{d:02d}", "time": "17:00", "duration_minutes": 300,
               "timezone": "Europe/London"} for d in range(2, 32)]
    config = config_from_dict({"events": events})
    book = book_of([person("Sam Lee", "sam@example.org", "mentor"), person("Bo", "bo@example.org", "mentee")],
                   [("bo@example.org", "sam@example.org")])
    plan = plan_checkins(book, config, start=START, months=2)
    assert len(plan.events) == 30
    first = local(plan.checkins.iloc[0]["start_utc"], "Europe/London")
    assert not (17 <= first.hour < 22)                   # every evening of March is taken by an event
    assert "availability" in plan.checkins.iloc[0]["flag"]


def test_when_no_free_time_is_left_the_overlap_is_flagged_not_hidden() -> None:
    config = config_from_dict({"events": [{"name": "Retreat", "date": "2026-03-01", "time": "00:00",
                                           "duration_minutes": 31 * 24 * 60}]})
    book = book_of([person("Sam Lee", "sam@example.org", "mentor"), person("Bo", "bo@example.org", "mentee")],
                   [("bo@example.org", "sam@example.org")])
    plan = plan_checkins(book, config, start=START, months=1).checkins
    assert len(plan) == 1
    assert plan.iloc[0]["flag"] == "overlaps another check-in or a cohort event: no free time was left"


COHORT_ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC+05:30", ""]
ANSWERS = ["Weekday evenings", "Weekday lunchtimes", "Weekends", "Tue 18:00-19:00", "Anytime"]


@st.composite
def cohorts(draw):
    n = draw(st.integers(2, 9))
    roles = draw(st.lists(st.sampled_from(["mentor", "mentee", "both"]), min_size=n, max_size=n))
    people = [person(f"P{i}", f"p{i}@example.org", roles[i], draw(st.sampled_from(COHORT_ZONES)),
                     *draw(st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=2, unique=True)))
              for i in range(n)]
    mentors = [p["email"] for p in people if p["role"] in ("mentor", "both")] or [people[0]["email"]]
    pairs = []
    for p in people:
        if p["role"] in ("mentee", "both"):
            for mentor in draw(st.lists(st.sampled_from(mentors), max_size=2, unique=True)):
                if mentor != p["email"]:
                    pairs.append((p["email"], mentor))
    return people, pairs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts(), st.sampled_from([1, 3]), st.booleans(), st.sampled_from(sorted(CADENCES)))
def test_nobody_is_double_booked_and_unflagged_checkins_keep_every_promise(cohort, months, with_event, cadence) -> None:
    """For every cadence: one check-in per period inside it, nobody booked twice, windows and holidays kept."""
    people, pairs = cohort
    raw = {"schedule": {"holidays": ["GB"], "blackout": ["2026-03-10"], "cadence": cadence}}
    if with_event:
        raw["events"] = [{"name": "Kick-off", "date": "2026-03-03", "time": "18:00", "timezone": "Europe/London"}]
    config = config_from_dict(raw)
    book = book_of(people, pairs)
    schedule = plan_checkins(book, config, start=START, months=months)
    plan = schedule.checkins
    periods = CADENCES[cadence].periods(START, months)
    assert len(plan) == len(pairs) * len(periods)
    busy: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for row in plan.itertuples():
        for email in (row.mentee_email, row.mentor_email):
            busy.setdefault(email, []).append((row.start_utc, row.end_utc))
    events = [(e.start_utc, e.end_utc) for e in schedule.events]
    for spans in busy.values():
        spans = sorted(spans + events)
        assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans))
    for _, pair in plan.groupby("pair_id"):  # one a month in the anchor's own calendar
        zone = pair["anchor_tz"].iloc[0]
        tzinfo = ZoneInfo(zone) if "/" in zone else dt.timezone(dt.timedelta(hours=5, minutes=30))
        days = [t.to_pydatetime().astimezone(tzinfo).date() for t in pair["start_utc"]]
        assert all(first <= day < end for day, (first, end) in zip(days, periods, strict=True))
    by_email = {p["email"]: p for p in people}
    import holidays

    gb = holidays.country_holidays("GB", years=[2026])
    for row in plan[plan["flag"] == ""].itertuples():
        for email, zone in ((row.mentee_email, row.mentee_tz), (row.mentor_email, row.mentor_tz)):
            tzinfo = ZoneInfo(zone) if "/" in zone else dt.timezone(dt.timedelta(hours=5, minutes=30))
            moment = row.start_utc.to_pydatetime().astimezone(tzinfo)
            assert inside_windows(moment, 30, by_email[email]["availability"], config)
            assert moment.date() not in gb and moment.date() != dt.date(2026, 3, 10)
        # --start is a date in the anchor's calendar (the periods above): a Sydney anchor's Monday
        # 09:00 on the start date is the Sunday before in UTC and in the other person's zone
        anchor = ZoneInfo(row.anchor_tz) if "/" in row.anchor_tz else dt.timezone(dt.timedelta(hours=5, minutes=30))
        assert row.start_utc.to_pydatetime().astimezone(anchor).date() >= START


def test_same_input_gives_the_same_plan() -> None:
    people = [person("Sam Lee", "sam@example.org", "mentor")]
    people += [person(f"M{i}", f"m{i}@example.org", "mentee", zone) for i, zone in
               enumerate(["Europe/Berlin", "America/Chicago", "Asia/Tokyo"])]
    book = book_of(people, [(f"m{i}@example.org", "sam@example.org") for i in range(3)])
    first = plan_checkins(book, Config(), start=START, months=6).checkins
    second = plan_checkins(book, Config(), start=START, months=6).checkins
    pd.testing.assert_frame_equal(first, second)


def test_bad_settings_are_one_readable_error() -> None:
    book = london_new_york()
    with pytest.raises(MentorError, match="weekday"):
        plan_checkins(book, config_from_dict({"schedule": {"weekdays": ["Funday"]}}), start=START, months=1)
    with pytest.raises(MentorError, match="months"):
        plan_checkins(book, Config(), start=START, months=0)
    with pytest.raises(MentorError, match="time zone"):
        plan_checkins(book, config_from_dict({"events": [{"name": "K", "date": "2026-03-03", "timezone": "Mars/Base"}]}),
                      start=START, months=1)


# --------------------------------------------------------------------------------------------
# Writing: calendars and the sheet


@pytest.fixture
def cohort_book() -> PairingBook:
    people = [
        person("Sam Lee", "sam@example.org", "mentor", "Europe/London"),
        person("Ana Ruiz", "ana@example.org", "both", "America/New_York", "Mon-Fri 12:00-15:00"),
        person("Bo Chen", "bo@example.org", "mentee", "Asia/Kolkata", "Weekday evenings", "Weekends"),
        person("Dee Offset", "dee@example.org", "mentee", "UTC+05:30", "Weekday evenings"),
    ]
    return book_of(people, [("ana@example.org", "sam@example.org"), ("bo@example.org", "ana@example.org"),
                            ("dee@example.org", "sam@example.org")])


CONFIG_WITH_EVENTS = {
    "cohort": {"name": "Spring cohort", "coordinator_name": "Cora Ordinator", "coordinator_email": "cora@example.org"},
    "schedule": {"holidays": ["GB", "US"], "reminder_minutes": 60},
    "events": [{"name": "Kick-off", "date": "2026-03-03", "time": "17:00", "timezone": "Europe/London"},
               {"name": "Close", "date": "2026-08-25", "time": "12:00", "timezone": "UTC", "duration_minutes": 90}],
}


def test_every_calendar_parses_back_with_what_a_client_needs(cohort_book: PairingBook, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(GENERATED_EPOCH))
    config = config_from_dict(CONFIG_WITH_EVENTS)
    schedule = plan_checkins(cohort_book, config, start=START, months=6)
    written = write_schedule(schedule, cohort_book, config, tmp_path / "calendar", force=False)
    names = sorted(p.name for p in written)
    assert {"checkins.xlsx", "cohort.ics", "calendar-state.json"} <= set(names) and len(names) == 3 + 4
    assert all(p.parent == tmp_path / "calendar" for p in written)
    uids: dict[str, set[str]] = {}
    for path in (p for p in written if p.suffix == ".ics"):
        cal = parse(path)
        assert cal["VERSION"] == "2.0" and "mentorcli" in str(cal["PRODID"])
        assert cal["METHOD"] == "PUBLISH" and cal["CALSCALE"] == "GREGORIAN"
        defined = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
        events = list(cal.walk("VEVENT"))
        assert events
        for event in events:
            for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "ORGANIZER"):
                assert prop in event, (path.name, prop)
            assert "ATTENDEE" not in event                 # PUBLISH carries no attendees
            assert event.decoded("DTSTAMP") == GENERATED           # when generated (SOURCE_DATE_EPOCH)
            assert event.decoded("SEQUENCE") == 0
            for prop in ("DTSTART", "DTEND"):
                tzid = event[prop].params.get("TZID")
                assert tzid is None or tzid in defined
                assert event.decoded(prop).tzinfo is not None
            alarms = list(event.walk("VALARM"))
            assert len(alarms) == 1 and alarms[0].decoded("TRIGGER") == dt.timedelta(minutes=-60)
            uids.setdefault(str(event["UID"]), set()).add(path.name)
        summaries = [str(e["SUMMARY"]) for e in events]
        assert "Kick-off" in summaries and "Close" in summaries
    cohort = parse(tmp_path / "calendar" / "cohort.ics")
    assert sorted(str(e["SUMMARY"]) for e in cohort.walk("VEVENT")) == ["Close", "Kick-off"]
    # each pair's series is in exactly its two people's calendars, under one UID
    checkin_uids = set(schedule.checkins["uid"])
    assert len(checkin_uids) == 3 and len(schedule.checkins) == 18
    assert all(len(uids[uid]) == 2 for uid in checkin_uids)


def test_a_persons_calendar_holds_their_own_checkins_under_the_series_one_title(cohort_book: PairingBook, tmp_path: Path) -> None:
    config = config_from_dict(CONFIG_WITH_EVENTS)
    schedule = plan_checkins(cohort_book, config, start=START, months=2)
    write_schedule(schedule, cohort_book, config, tmp_path, force=False)
    bo = parse(tmp_path / participant_file_name("Bo Chen", "bo@example.org"))
    checkins = [e for e in bo.walk("VEVENT") if str(e["SUMMARY"]).startswith("Mentoring")]
    assert {str(e["SUMMARY"]) for e in checkins} == {"Mentoring check-in: Bo Chen and Ana Ruiz"}   # everyone, as in an invitation
    assert len({str(e["UID"]) for e in checkins}) == 1                 # one series
    description = str(checkins[0]["DESCRIPTION"])
    assert "bo@example.org" in description and "ana@example.org" in description
    assert "(Asia/Kolkata)" in description and "(America/New_York)" in description
    assert "sam@example.org" not in bo.to_ical().decode()   # nobody else's pairs
    ana = parse(tmp_path / participant_file_name("Ana Ruiz", "ana@example.org"))
    ana_summaries = {str(e["SUMMARY"]) for e in ana.walk("VEVENT")}
    assert {"Mentoring check-in: Ana Ruiz and Sam Lee", "Mentoring check-in: Bo Chen and Ana Ruiz"} <= ana_summaries
    dee = parse(tmp_path / participant_file_name("Dee Offset", "dee@example.org"))
    dee_checkin = next(e for e in dee.walk("VEVENT") if str(e["SUMMARY"]).startswith("Mentoring"))
    assert "(UTC+05:30)" in str(dee_checkin["DESCRIPTION"])


def test_rerun_gives_identical_files_and_uids(cohort_book: PairingBook, tmp_path: Path) -> None:
    config = config_from_dict(CONFIG_WITH_EVENTS)
    first = write_schedule(plan_checkins(cohort_book, config, start=START, months=3), cohort_book, config,
                           tmp_path / "a", force=False)
    second = write_schedule(plan_checkins(cohort_book, config, start=START, months=3), cohort_book, config,
                            tmp_path / "b", force=False)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    uids = lambda p: sorted(str(e["UID"]) for e in parse(p).walk("VEVENT"))
    assert all(uids(a) == uids(b) for a, b in zip(first, second) if a.suffix == ".ics")


HOSTILE = ["../../etc/passwd", "<script>alert(1)</script>", "Eve\r\nATTENDEE:mailto:evil@example.org",
           "=HYPERLINK(\"http://evil.example\",\"x\")", "Mallory\nEND:VEVENT\nBEGIN:VEVENT"]


def test_hostile_names_never_reach_a_path_a_property_or_a_formula(tmp_path: Path) -> None:
    people = [person("Sam Lee", "sam@example.org", "mentor")]
    people += [person(name, f"h{i}@example.org", "mentee") for i, name in enumerate(HOSTILE)]
    book = book_of(people, [(f"h{i}@example.org", "sam@example.org") for i in range(len(HOSTILE))])
    schedule = plan_checkins(book, Config(), start=START, months=1)
    out = tmp_path / "calendar"
    written = write_schedule(schedule, book, Config(), out, force=False)
    for path in written:
        assert path.resolve().parent == out.resolve()
        assert re.fullmatch(r"[a-z0-9_-]+-[0-9a-f]{10}\.ics|cohort\.ics|checkins\.xlsx|calendar-state\.json", path.name), path.name
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(p.name for p in written)
    for path in (p for p in written if p.suffix == ".ics"):
        raw = path.read_bytes().decode()
        assert not re.search(r"^(ATTENDEE|END:VEVENT\r\nBEGIN:VEVENT\r\nX)", raw, re.MULTILINE)
        cal = parse(path)
        assert all("ATTENDEE" not in e for e in cal.walk("VEVENT"))
        expected = 0 if path.name == "cohort.ics" else len(HOSTILE) if path.name.startswith("sam-lee") else 1
        assert len({str(e["UID"]) for e in cal.walk("VEVENT")}) == expected
    sam = parse(out / participant_file_name("Sam Lee", "sam@example.org"))
    summaries = sorted(str(e["SUMMARY"]) for e in sam.walk("VEVENT"))
    assert "Mentoring check-in: Eve ATTENDEE:mailto:evil@example.org and Sam Lee" in summaries
    assert "Mentoring check-in: <script>alert(1)</script> and Sam Lee" in summaries
    sheet = openpyxl.load_workbook(out / "checkins.xlsx")[SHEET_NAME]
    formula_cells = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert not formula_cells
    assert any(c.value == HOSTILE[3] for row in sheet.iter_rows() for c in row)


def test_existing_files_are_refused_without_force_and_kept_as_backups_with_it(cohort_book, tmp_path) -> None:
    config = Config()
    schedule = plan_checkins(cohort_book, config, start=START, months=1)
    written = write_schedule(schedule, cohort_book, config, tmp_path, force=False)
    before = {p: p.read_bytes() for p in written}
    sheet = tmp_path / "checkins.xlsx"
    sheet.write_bytes(b"coordinator's notes")
    with pytest.raises(MentorError, match="already exists"):
        write_schedule(schedule, cohort_book, config, tmp_path, force=False)
    assert sheet.read_bytes() == b"coordinator's notes"
    assert all(p.read_bytes() == data for p, data in before.items() if p != sheet)
    write_schedule(schedule, cohort_book, config, tmp_path, force=True)
    assert (tmp_path / "checkins.bak.xlsx").read_bytes() == b"coordinator's notes"
    assert sheet.read_bytes() == before[sheet]


def test_checkin_sheet_layout_and_round_trip_after_a_coordinator_fills_it_in(cohort_book, tmp_path) -> None:
    schedule = plan_checkins(cohort_book, Config(), start=START, months=2)
    write_schedule(schedule, cohort_book, Config(), tmp_path, force=False)
    path = tmp_path / "checkins.xlsx"
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[SHEET_NAME]
    assert [c.value for c in sheet[1]] == list(CHECKIN_HEADERS)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:O{len(schedule.checkins) + 1}"
    validations = {str(dv.sqref)[0]: dv for dv in sheet.data_validations.dataValidation}
    assert validations["K"].type == "list" and validations["K"].formula1 == '"Yes,No"'
    assert validations["M"].type == "whole" and (validations["M"].formula1, validations["M"].formula2) == ("1", "5")
    assert sheet.column_dimensions["O"].width >= 40
    # the coordinator logs three check-ins, one with a typo, and adds a column of their own
    sheet["K2"], sheet["L2"], sheet["M2"], sheet["N2"], sheet["O2"] = "Yes", dt.datetime(2026, 3, 12), 4, "Good", "Fine"
    sheet["K3"], sheet["M3"] = "no", None
    sheet["K4"], sheet["L4"], sheet["M4"] = "maybe", "12/03/2026", "ten"
    sheet["P1"], sheet["P2"] = "Coordinator comment", "call back"
    workbook.save(path)
    back = read_checkins(path)
    assert len(back) == len(schedule.checkins)
    assert list(back.columns[:16]) == ["row", "pair_id", "occurrence", "mentee", "mentee_email", "mentor",
                                       "mentor_email", "start_utc", "mentee_local_time", "mentor_local_time", "flag",
                                       "held", "date_held", "rating", "goal_progress", "notes"]
    assert back["start_utc"].dt.tz is not None
    assert list(back["start_utc"]) == list(schedule.checkins["start_utc"])
    assert list(back["pair_id"]) == list(schedule.checkins["pair_id"])
    assert list(back["row"][:3]) == [2, 3, 4]
    assert back.loc[0, "held"] is True and back.loc[1, "held"] is False and back.loc[2, "held"] is None
    assert back.loc[0, "date_held"] == dt.date(2026, 3, 12) and back.loc[2, "date_held"] == dt.date(2026, 3, 12)
    assert back.loc[0, "rating"] == 4 and np.isnan(back.loc[2, "rating"])
    assert back.loc[0, "goal_progress"] == "Good" and back.loc[0, "coordinator_comment"] == "call back"
    problems = {(p.row, p.column) for p in back.attrs["problems"]}
    assert problems == {(4, "Held"), (4, "Rating")}


def test_read_checkins_tolerates_reordered_columns_and_deleted_rows_and_csv(cohort_book, tmp_path) -> None:
    schedule = plan_checkins(cohort_book, Config(), start=START, months=2)
    write_schedule(schedule, cohort_book, Config(), tmp_path, force=False)
    frame = pd.read_excel(tmp_path / "checkins.xlsx", sheet_name=SHEET_NAME, engine="calamine")
    frame = frame[["Notes", "Start (UTC)", "Pair ID", "Held"]].iloc[[0, 2]]
    frame["Held"] = ["y", "N"]
    frame.to_csv(tmp_path / "log.csv", index=False)
    back = read_checkins(tmp_path / "log.csv")
    assert list(back["held"]) == [True, False]
    assert list(back["start_utc"]) == [schedule.checkins["start_utc"][0], schedule.checkins["start_utc"][2]]
    assert back["mentee_email"].isna().all()
    frame[["Pair ID", "Held"]].to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(MentorError, match="Start"):
        read_checkins(tmp_path / "bad.csv")
    with pytest.raises(MentorError, match="not found"):
        read_checkins(tmp_path / "missing.xlsx")


def expected_instances(rows: pd.DataFrame) -> list[tuple[str, int, int]]:
    return sorted((str(r["uid"]), int(pd.Timestamp(r["start_utc"]).timestamp()), int(pd.Timestamp(r["end_utc"]).timestamp()))
                  for r in rows.to_dict("records"))


def test_pair_invite_puts_every_checkin_of_the_pair_in_the_calendar(cohort_book, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(GENERATED_EPOCH))
    config = config_from_dict(CONFIG_WITH_EVENTS)
    schedule = plan_checkins(cohort_book, config, start=START, months=6)
    write_schedule(schedule, cohort_book, config, tmp_path, force=False)
    pair = schedule.checkins[schedule.checkins["pair_id"] == "P002"]
    for rows in (schedule.checkins, read_checkins(tmp_path / "checkins.xlsx")):
        data = pair_invite(rows[rows["pair_id"] == "P002"], cohort_book, config, "P002")
        cal = Calendar.from_ical(data)
        assert cal["METHOD"] == "REQUEST"
        events = list(cal.walk("VEVENT"))
        assert {str(e["UID"]) for e in events} == {pair["uid"].iloc[0]}     # one UID: one iTIP message
        master = next(e for e in events if "RECURRENCE-ID" not in e)
        assert "RRULE" in master and master.decoded("SEQUENCE") == 0 and master.decoded("DTSTAMP") == GENERATED
        for event in events:
            attendees = sorted(str(a) for a in event["ATTENDEE"])
            assert attendees == ["mailto:ana@example.org", "mailto:bo@example.org"]
            assert {a.params["RSVP"] for a in event["ATTENDEE"]} == {"FALSE"}     # no RSVP flood by default
            assert str(event["ORGANIZER"]) == "mailto:cora@example.org"
        invite = tmp_path / "invite.ics"
        invite.write_bytes(data)
        assert vobject_instances(invite) == expected_instances(pair)     # accepted once: all six check-ins
        if icaljs_module() is not None:
            assert icaljs_instances([invite])[invite] == expected_instances(pair)
    rsvp = config_from_dict({**CONFIG_WITH_EVENTS, "schedule": {**CONFIG_WITH_EVENTS["schedule"], "rsvp": True}})
    asked = Calendar.from_ical(pair_invite(schedule.checkins, cohort_book, rsvp, "P002"))
    assert {a.params["RSVP"] for e in asked.walk("VEVENT") for a in e["ATTENDEE"]} == {"TRUE"}
    with pytest.raises(MentorError, match="P999"):
        pair_invite(schedule.checkins, cohort_book, config, "P999")


def test_participant_file_names_are_slugs_with_a_stable_hash() -> None:
    name = participant_file_name("José ../Ruiz", "Jose@Example.org ")
    digest = hashlib.sha256(b"jose@example.org").hexdigest()[:10]
    assert name == f"jose-ruiz-{digest}.ics"
    assert participant_file_name("", "x@example.org").startswith("participant-")


LIBICAL_CHECK = r"""
import sys
import gi
gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib
bad = []
for name in sys.argv[1:]:
    comp = ICalGLib.Component.new_from_string(open(name, encoding="utf-8").read())
    # check_restrictions applies RFC 5546 (iTIP) rules for the METHOD and adds X-LIC-ERROR on failure
    if comp is None or not comp.check_restrictions() or comp.count_errors():
        bad.append(name + ": " + (comp.as_ical_string() if comp is not None else "unparsable")[:2000])
print("\n".join(bad))
sys.exit(1 if bad else 0)
"""


def _libical_available() -> bool:
    system = Path("/usr/bin/python3")
    if not system.exists():
        return False
    probe = subprocess.run([str(system), "-c", 'import gi; gi.require_version("ICalGLib", "3.0")'],
                           check=False, capture_output=True, timeout=60)
    return probe.returncode == 0


def test_calendars_pass_libical_validation_where_it_is_installed(cohort_book, tmp_path) -> None:
    if not _libical_available():
        pytest.skip("Debian's libical bindings (python3-gi, gir1.2-ical-3.0) are not installed")
    config = config_from_dict(CONFIG_WITH_EVENTS)
    schedule = plan_checkins(cohort_book, config, start=START, months=3)
    written = write_schedule(schedule, cohort_book, config, tmp_path, force=False)
    invite = tmp_path / "invite.ics"
    invite.write_bytes(pair_invite(schedule.checkins, cohort_book, config, "P001"))
    files = [str(p) for p in written if p.suffix == ".ics"] + [str(invite)]
    result = subprocess.run(["/usr/bin/python3", "-c", LIBICAL_CHECK, *files], check=False,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# Every client reads the same instants (issue 14 item 2)


@pytest.fixture
def zones_book() -> PairingBook:
    """Whole-hour and half-hour zones, both hemispheres' daylight saving, and a fixed offset."""
    people = [
        person("Sam Lee", "sam@example.org", "mentor", "Europe/London"),
        person("Ana Ruiz", "ana@example.org", "both", "America/New_York", "Mon-Fri 12:00-15:00"),
        person("Bo Chen", "bo@example.org", "mentee", "Asia/Kolkata", "Weekday evenings", "Weekends"),
        person("Ade Kay", "ade@example.org", "mentor", "Australia/Adelaide"),
        person("Lou Howe", "lou@example.org", "mentee", "Australia/Lord_Howe"),
        person("Dee Offset", "dee@example.org", "mentee", "UTC+05:30", "Weekday evenings"),
    ]
    return book_of(people, [("ana@example.org", "sam@example.org"), ("bo@example.org", "ana@example.org"),
                            ("dee@example.org", "sam@example.org"), ("bo@example.org", "ade@example.org"),
                            ("lou@example.org", "ade@example.org")])


def person_instances(schedule, targets: dict[str, Path]) -> dict[Path, list[tuple[str, int, int]]]:
    out: dict[Path, list[tuple[str, int, int]]] = {}
    for role in ("mentee", "mentor"):
        for email, rows in schedule.checkins.groupby(f"{role}_email"):
            out.setdefault(targets[email], []).extend(expected_instances(rows))
    return {path: sorted(rows) for path, rows in out.items()}


def test_calendars_read_the_same_instants_in_every_parser_for_the_longest_programme(zones_book, tmp_path) -> None:
    config = config_from_dict({"schedule": {"holidays": ["GB", "US", "AU"], "blackout": ["2027-02-09", "2028-06-13"],
                                            "duration_minutes": 75}})
    schedule = plan_checkins(zones_book, config, start=dt.date(2026, 3, 15), months=MAX_MONTHS)
    write_schedule(schedule, zones_book, config, tmp_path, force=False)
    assert (schedule.checkins["flag"].str.contains("moved from")).any()        # overrides are exercised
    expected = person_instances(schedule, schedule_targets(schedule, tmp_path))
    files = sorted(expected)
    checkin_uids = set(schedule.checkins["uid"])

    def only_checkins(found: list) -> list:
        return sorted(item for item in found if item[0] in checkin_uids)

    for path in files:
        assert only_checkins(vobject_instances(path)) == expected[path], ("vobject", path.name)
    if icaljs_module() is not None:
        for path, found in icaljs_instances(files).items():
            assert only_checkins(found) == expected[path], ("ical.js", path.name)
    if libical_available():
        for path, found in libical_instances(files).items():
            assert only_checkins(found) == expected[path], ("libical", path.name)


def test_time_zone_definitions_have_one_onset_per_observance(zones_book, tmp_path) -> None:
    schedule = plan_checkins(zones_book, Config(), start=START, months=24)
    written = write_schedule(schedule, zones_book, Config(), tmp_path, force=False)
    for path in (p for p in written if p.suffix == ".ics"):
        for vtimezone in parse(path).walk("VTIMEZONE"):
            for observance in vtimezone.subcomponents:
                assert "RDATE" not in observance and "RRULE" not in observance, path.name
            onsets = [o.decoded("DTSTART") for o in vtimezone.subcomponents]
            assert onsets == sorted(onsets)


def test_the_ical_js_reader_is_installed_where_ci_runs() -> None:
    """CI installs ical.js beside the virtual environment (.ci/run): a silent skip there would hide a failure."""
    if os.environ.get("MENTOR_REQUIRE_ICALJS") and icaljs_module() is None:
        pytest.fail("ical.js is not installed: see .ci/run")


# --------------------------------------------------------------------------------------------
# Blackouts anywhere relative to the window (issue 14 item 6)


def two_people_book() -> PairingBook:
    return book_of([person("Sam Lee", "sam@example.org", "mentor", "Europe/London"),
                    person("Bo", "bo@example.org", "mentee", "Asia/Kolkata")], [("bo@example.org", "sam@example.org")])


def test_blackouts_before_and_after_the_window_change_nothing_and_inside_ones_are_avoided() -> None:
    book = two_people_book()
    plain = plan_checkins(book, Config(), start=START, months=3).checkins
    first_day = local(plain["start_utc"][0], "Europe/London").date()
    outside = ["2019-12-31", (START - dt.timedelta(days=1)).isoformat(), "2026-03-01", "2026-06-01", "2031-01-01",
               (first_day - dt.timedelta(days=365)).isoformat()]
    far = plan_checkins(book, config_from_dict({"schedule": {"blackout": outside}}), start=START, months=3).checkins
    pd.testing.assert_frame_equal(far, plain)               # no IndexError, and no wrong day blocked
    inside = plan_checkins(book, config_from_dict({"schedule": {"blackout": [first_day.isoformat()]}}),
                           start=START, months=3).checkins
    assert all(local(t, z).date() != first_day for t in inside["start_utc"] for z in ("Europe/London", "Asia/Kolkata"))


@pytest.mark.parametrize(("seed", "edges"), [(seed, edges) for seed in range(4) for edges in (False, True)])
def test_a_moved_checkin_never_leaves_its_month_nor_lands_before_the_start(seed: int, edges: bool) -> None:
    """A third of all days blacked out, the start on the 15th; with ``edges`` only the first week
    of each month is left, half of it blacked out too: moves then press on the month's edges."""
    rng = np.random.default_rng(seed)
    start = dt.date(2026, 1, 15)
    days = [start - dt.timedelta(days=20) + dt.timedelta(days=int(d)) for d in range(420)]
    if edges:
        blackout = sorted(d.isoformat() for d in days if 8 <= d.day <= 28 or (d.day <= 7 and rng.random() < 0.5))
    else:
        blackout = sorted(d.isoformat() for d in days if rng.random() < 0.33)
    config = config_from_dict({"schedule": {"blackout": blackout, "duration_minutes": 45}})
    plan = plan_checkins(two_people_book(), config, start=start, months=12).checkins
    months = [(first.year, first.month) for first in programme_months(start, 12)]
    assert months[0] == (2026, 1)                            # the 15th: at least two weeks of January remain
    blocked = set(blackout)
    moved = 0
    for row in plan.to_dict("records"):
        when = local(row["start_utc"], "Europe/London")     # the anchor (mentor) keeps the period
        assert (when.year, when.month) == months[row["occurrence"] - 1], row
        assert when.date() >= start
        on_blackout = {local(row["start_utc"], z).date().isoformat() for z in ("Europe/London", "Asia/Kolkata")} & blocked
        assert not on_blackout or "no allowed day" in row["flag"], row
        moved += "moved from" in row["flag"]
    assert moved


CONTROL_NAMES = ["Eve\x1b[31mRed\x1b[0m", "Bell\x07\x00Null", "Nel\x85Line\u2028Sep", "Rtl\u202eevil\u202c", "Tab\tVtab\x0b"]
ALLOWED_CONTROLS = {"\r", "\n"}


def control_characters(text: str) -> set[str]:
    return {c for c in text if (ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
                                "\u2066\u2067\u2068\u2069") and c not in ALLOWED_CONTROLS}


def test_control_characters_from_cells_never_reach_calendar_text(tmp_path: Path) -> None:
    people = [person("Sam\x1b]0;title\x07 Lee", "sam@example.org", "mentor")]
    people += [person(name, f"c{i}@example.org", "mentee") for i, name in enumerate(CONTROL_NAMES)]
    book = book_of(people, [(f"c{i}@example.org", "sam@example.org") for i in range(len(CONTROL_NAMES))])
    config = config_from_dict({"cohort": {"name": "Spring\x1b[2J cohort", "coordinator_name": "Cora\x00 Ord"},
                               "events": [{"name": "Kick\x1b[5m-off", "date": "2026-03-03", "description": "Hi\x07\nall"}]})
    schedule = plan_checkins(book, config, start=START, months=2)
    written = write_schedule(schedule, book, config, tmp_path, force=False)
    files = [p for p in written if p.suffix == ".ics"]
    for index in range(len(CONTROL_NAMES)):
        pair_id = schedule.checkins["pair_id"].unique()[index]
        invite = tmp_path / f"invite-{index}.ics"
        invite.write_bytes(pair_invite(schedule.checkins, book, config, pair_id))
        files.append(invite)
    for path in files:
        text = path.read_bytes().decode("utf-8")
        assert control_characters(text) == set(), path.name
        assert "\r\n" in text and "\n" not in text.replace("\r\n", "")     # only CRLF line ends
    (sam_file,) = tmp_path.glob("sam-*.ics")
    sam = parse(sam_file)
    summaries = {str(e["SUMMARY"]) for e in sam.walk("VEVENT")}
    assert "Mentoring check-in: Eve [31mRed [0m and Sam ]0;title Lee" in summaries and "Mentoring check-in: Rtl evil and Sam ]0;title Lee" in summaries
    kick_off = next(e for e in sam.walk("VEVENT") if str(e["SUMMARY"]).startswith("Kick"))
    assert str(kick_off["DESCRIPTION"]) == "Hi\nall"                        # line breaks of a description stay


# --------------------------------------------------------------------------------------------
# Cadence (issue 14 item 5)


def test_periods_of_each_cadence() -> None:
    monthly, quarterly, weekly, fortnightly = (CADENCES[n] for n in ("monthly", "quarterly", "weekly", "fortnightly"))
    assert monthly.periods(dt.date(2026, 3, 15), 2) == [(dt.date(2026, 3, 1), dt.date(2026, 4, 1)),
                                                                  (dt.date(2026, 4, 1), dt.date(2026, 5, 1))]
    assert monthly.periods(dt.date(2026, 3, 16), 1) == [(dt.date(2026, 4, 1), dt.date(2026, 5, 1))]
    assert quarterly.periods(dt.date(2026, 3, 2), 7) == [(dt.date(2026, 3, 1), dt.date(2026, 6, 1)),
                                                                   (dt.date(2026, 6, 1), dt.date(2026, 9, 1))]
    assert quarterly.periods(dt.date(2026, 3, 2), 2) == [(dt.date(2026, 3, 1), dt.date(2026, 6, 1))]
    weeks = weekly.periods(dt.date(2026, 3, 4), 1)        # a Wednesday: the next Monday starts
    assert weeks[0] == (dt.date(2026, 3, 9), dt.date(2026, 3, 16)) and weeks[-1][1] <= dt.date(2026, 4, 1)
    assert len(weeks) == 3
    pairs = fortnightly.periods(dt.date(2026, 3, 2), 1)
    assert pairs == [(dt.date(2026, 3, 2), dt.date(2026, 3, 16)), (dt.date(2026, 3, 16), dt.date(2026, 3, 30))]


@pytest.mark.parametrize("cadence", ["weekly", "fortnightly", "quarterly"])
def test_every_cadence_reads_the_same_in_every_parser_and_keeps_a_steady_pattern(zones_book, tmp_path, cadence) -> None:
    config = config_from_dict({"schedule": {"holidays": ["GB", "US", "AU"], "cadence": cadence,
                                            "blackout": ["2026-04-14", "2026-09-08"]}})
    schedule = plan_checkins(zones_book, config, start=START, months=12)
    write_schedule(schedule, zones_book, config, tmp_path, force=False)
    periods = CADENCES[cadence].periods(START, 12)
    for _, pair in schedule.checkins.groupby("pair_id"):
        assert list(pair["occurrence"]) == list(range(1, len(periods) + 1))
        steady = pair[pair["flag"] == ""]
        anchor = pair["anchor_tz"].iloc[0]
        if "/" in anchor and len(steady) > 1:
            walls = {(local(t, anchor).weekday(), local(t, anchor).time()) for t in steady["start_utc"]}
            assert len(walls) == 1, walls                   # the same weekday and local time throughout
    expected = person_instances(schedule, schedule_targets(schedule, tmp_path))
    files = sorted(expected)
    uids = set(schedule.checkins["uid"])
    for path in files:
        assert sorted(i for i in vobject_instances(path) if i[0] in uids) == expected[path], ("vobject", path.name)
    if icaljs_module() is not None:
        for path, found in icaljs_instances(files).items():
            assert sorted(i for i in found if i[0] in uids) == expected[path], ("ical.js", path.name)
    if libical_available():
        for path, found in libical_instances(files).items():
            assert sorted(i for i in found if i[0] in uids) == expected[path], ("libical", path.name)
    rule = next(e for e in parse(files[0]).walk("VEVENT") if "RRULE" in e)["RRULE"]
    assert rule["FREQ"] == (["MONTHLY"] if cadence == "quarterly" else ["WEEKLY"])
    assert rule.get("INTERVAL", [1]) == [{"weekly": 1, "fortnightly": 2, "quarterly": 3}[cadence]]


def test_unknown_cadence_is_one_readable_error() -> None:
    with pytest.raises(MentorError, match="schedule.cadence"):
        plan_checkins(two_people_book(), config_from_dict({"schedule": {"cadence": "daily"}}), start=START, months=1)


def test_tie_break_between_equally_good_patterns() -> None:
    """Nothing to tell patterns apart: on the hour, earliest comfortable start, 2nd week, first preferred weekday."""
    book = book_of([person("Sam", "sam@example.org", "mentor", "Europe/London", "Mon-Sun 00:00-24:00"),
                    person("Bo", "bo@example.org", "mentee", "Europe/London", "Mon-Sun 00:00-24:00")],
                   [("bo@example.org", "sam@example.org")])
    for weekdays, expected in ((["Tue", "Wed", "Thu"], "2nd Tuesday 08:00 Europe/London"),
                               (["Thu", "Tue"], "2nd Thursday 08:00 Europe/London")):
        config = config_from_dict({"schedule": {"weekdays": weekdays, "local_holidays": False}})
        assert plan_checkins(book, config, start=START, months=3).checkins["pattern"].iloc[0] == expected
    weekly = config_from_dict({"schedule": {"weekdays": ["Wed"], "local_holidays": False, "cadence": "weekly"}})
    assert plan_checkins(book, weekly, start=START, months=1).checkins["pattern"].iloc[0] == "every Wednesday 08:00 Europe/London"


def test_at_risk_days_follow_the_cadence_unless_set() -> None:
    from mentorcli.report import at_risk_days

    by_cadence = [at_risk_days(config_from_dict({"schedule": {"cadence": c}}))
                  for c in ("monthly", "weekly", "fortnightly", "quarterly")]
    assert by_cadence == [45, 11, 21, 137]
    assert at_risk_days(Config()) == 45
    assert at_risk_days(config_from_dict({"schedule": {"cadence": "weekly"}, "report": {"at_risk_days": 45}})) == 45
    assert at_risk_days(config_from_dict({"report": {"at_risk_days": 1}})) == 1
    for wrong in (0, -3, "45", 4.5, True):
        with pytest.raises(MentorError, match="at_risk_days"):
            config_from_dict({"report": {"at_risk_days": wrong}})


@pytest.mark.parametrize(("cadence", "first", "step"), [("fortnightly", dt.date(2026, 3, 3), 14),
                                                      ("fortnightly", dt.date(2026, 3, 10), 14),
                                                      ("quarterly", dt.date(2026, 1, 13), 0),
                                                      ("quarterly", dt.date(2026, 2, 10), 0)])
def test_a_steady_series_in_either_phase_of_its_period_is_one_rule_without_exceptions(cadence, first, step) -> None:
    """A fortnight's first or second week, a quarter's first or second month: the rule's instances
    are the check-ins themselves (no override, no EXDATE)."""
    london = ZoneInfo("Europe/London")
    if step:
        days = [first + dt.timedelta(days=step * i) for i in range(6)]
    else:   # the 2nd Tuesday of every third month
        days = [nth for i in range(4) for nth in [dt.date(first.year + (first.month - 1 + 3 * i) // 12,
                                                          (first.month - 1 + 3 * i) % 12 + 1, 1)]]
        days = [d + dt.timedelta(days=(1 - d.weekday()) % 7 + 7) for d in days]
    starts = [dt.datetime.combine(day, dt.time(18), london) for day in days]
    shape = series_shape(starts, london, CADENCES[cadence])
    assert shape.rule is not None and shape.rule["interval"] in (2, 3) and shape.rule["count"] == len(starts)
    assert shape.plain == list(range(len(starts))) and not shape.overrides and not shape.exdates and not shape.rdates
    assert shape.dtstart == starts[0]


def test_series_shape_writes_what_the_rule_misses_as_exceptions() -> None:
    london = ZoneInfo("Europe/London")
    at = lambda *a: dt.datetime(*a, tzinfo=london)
    starts = [at(2026, 3, 10, 18), at(2026, 4, 15, 18),     # 2nd Tuesday; April moved to a Wednesday
              at(2026, 6, 9, 18), at(2026, 6, 23, 18)]      # no May; June twice
    shape = series_shape(starts, london, CADENCES["monthly"])
    assert shape.rule == {"freq": "MONTHLY", "byday": "2TU", "count": 4}
    assert shape.dtstart == at(2026, 3, 10, 18) and shape.plain == [0, 2]
    assert shape.overrides == [(at(2026, 4, 14, 18), 1)] and shape.exdates == [at(2026, 5, 12, 18)]
    assert shape.rdates == [3]


def test_an_invitation_from_a_hand_edited_sheet_holds_exactly_the_rows_left(cohort_book, tmp_path) -> None:
    schedule = plan_checkins(cohort_book, Config(), start=START, months=6)
    write_schedule(schedule, cohort_book, Config(), tmp_path, force=False)
    rows = read_checkins(tmp_path / "checkins.xlsx")
    pair = rows[rows["pair_id"] == "P001"]
    kept = pair[pair["occurrence"] != 3]                     # the coordinator deleted the 3rd check-in
    invite = tmp_path / "invite.ics"
    invite.write_bytes(pair_invite(kept, cohort_book, Config(), "P001"))
    master = next(e for e in parse(invite).walk("VEVENT") if "RRULE" in e)
    assert "EXDATE" in master
    expected = sorted(int(t.timestamp()) for t in kept["start_utc"])
    assert sorted(start for _, start, _ in vobject_instances(invite)) == expected
    if icaljs_module() is not None:
        assert sorted(start for _, start, _ in icaljs_instances([invite])[invite]) == expected


# --------------------------------------------------------------------------------------------
# Relationships: a mentor with several mentees meets them together (issue 15 item 3)


TRIO_ANSWERS = {
    "mo@example.org": ("Europe/London", "Mon-Fri 17:00-20:00"),
    "al@example.org": ("America/New_York", "Mon-Fri 12:00-15:00"),    # = 17:00-20:00 London
    "be@example.org": ("Europe/Berlin", "Mon-Fri 19:30-21:00"),        # = 18:30-20:00 London: the tightest
}


def trio_book(*extra_pairs: tuple[str, str, str], extra_people: tuple[dict, ...] = ()) -> PairingBook:
    """Mo mentors Al and Be in one relationship (two Pairs rows sharing P001), plus ``extra_pairs``
    (pair id, mentee, mentor)."""
    people = [person("Mo Mentor", "mo@example.org", "mentor", *TRIO_ANSWERS["mo@example.org"]),
              person("Al Mentee", "al@example.org", "mentee", *TRIO_ANSWERS["al@example.org"]),
              person("Be Mentee", "be@example.org", "mentee", *TRIO_ANSWERS["be@example.org"]), *extra_people]
    frame = make_people(people)
    names = dict(zip(frame["email"], frame["name"]))
    rows = [("P001", "al@example.org", "mo@example.org"), ("P001", "be@example.org", "mo@example.org"), *extra_pairs]
    pairs = pd.DataFrame([{"pair_id": pair_id, "mentee_email": mentee, "mentor_email": mentor, "mentee": names[mentee],
                           "mentor": names[mentor], "score": 50.0, "why": "", "row": row}
                          for row, (pair_id, mentee, mentor) in enumerate(rows, start=2)])
    return PairingBook(path=Path("pairs.xlsx"), pairs=pairs, people=frame)


def meetings(plan: pd.DataFrame) -> pd.DataFrame:
    """One row per meeting: a relationship of three has a check-in row per mentee."""
    return plan.drop_duplicates(["pair_id", "start_utc"])


def test_a_relationship_of_three_meets_inside_all_three_windows() -> None:
    config = config_from_dict({"schedule": {"local_holidays": False}})
    plan = plan_checkins(trio_book(), config, start=START, months=4).checkins
    assert len(plan) == 2 * 4 and plan["pair_id"].eq("P001").all()
    assert list(plan["mentee_email"]) == ["al@example.org", "be@example.org"] * 4     # a row per mentee per meeting
    assert plan["mentor_email"].eq("mo@example.org").all() and plan["uid"].nunique() == 1
    assert list(meetings(plan)["occurrence"]) == [1, 2, 3, 4]
    for start in meetings(plan)["start_utc"]:
        for email, (zone, answer) in TRIO_ANSWERS.items():
            assert inside_windows(local(start, zone), 30, (answer,), config), (email, start)
    assert (plan["flag"] == "").all()
    # 19:00 London: on the hour and inside Be's window; Mo and Al alone take 17:00, outside it
    assert {local(t, "Europe/London").strftime("%H:%M") for t in plan["start_utc"]} == {"19:00"}
    pair = book_of([person("Mo Mentor", "mo@example.org", "mentor", *TRIO_ANSWERS["mo@example.org"]),
                    person("Al Mentee", "al@example.org", "mentee", *TRIO_ANSWERS["al@example.org"])],
                   [("al@example.org", "mo@example.org")])
    pair_plan = plan_checkins(pair, config, start=START, months=4).checkins
    assert {local(t, "Europe/London").strftime("%H:%M") for t in pair_plan["start_utc"]} == {"17:00"}


@pytest.mark.parametrize("be_answer", ["Mon-Fri 19:30-19:55", "Mon-Fri 19:30-20:00"])
def test_a_slot_that_fits_two_but_not_the_third_is_never_chosen(be_answer: str, monkeypatch) -> None:
    """Be's window is 19:30-20:00 Berlin (18:30-19:00 London): exactly one 30-minute start fits all
    three, 18:30 London. Five minutes shorter and nothing fits all three: then the least bad time
    is taken and flagged, never presented as fitting."""
    monkeypatch.setitem(TRIO_ANSWERS, "be@example.org", ("Europe/Berlin", be_answer))
    config = config_from_dict({"schedule": {"local_holidays": False}})
    plan = plan_checkins(trio_book(), config, start=START, months=3).checkins
    fits_all = be_answer.endswith("20:00")
    for row in plan.to_dict("records"):
        inside = [inside_windows(local(row["start_utc"], zone), 30, (answer,), config) for zone, answer in TRIO_ANSWERS.values()]
        assert all(inside) == fits_all
        assert (row["flag"] == "") == fits_all
        if not fits_all:
            assert "no common availability" in row["flag"] and "Be Mentee" in row["flag"]
    if fits_all:
        assert {local(t, "Europe/London").strftime("%H:%M") for t in plan["start_utc"]} == {"18:30"}


def test_each_member_gets_the_relationships_series_once(tmp_path: Path) -> None:
    config = config_from_dict(CONFIG_WITH_EVENTS)
    book = trio_book(("P002", "cy@example.org", "mo@example.org"),
                     extra_people=(person("Cy Mentee", "cy@example.org", "mentee", "Europe/London", "Weekday evenings"),))
    schedule = plan_checkins(book, config, start=START, months=3)
    written = write_schedule(schedule, book, config, tmp_path, force=False)
    trio = schedule.checkins[schedule.checkins["pair_id"] == "P001"]
    (uid,) = set(trio["uid"])
    expected = sorted(int(t.timestamp()) for t in meetings(trio)["start_utc"])
    assert len(expected) == 3
    names = {"mo@example.org": "Mo Mentor", "al@example.org": "Al Mentee", "be@example.org": "Be Mentee"}
    for email, name in names.items():
        path = tmp_path / participant_file_name(name, email)
        assert path in written
        assert sorted(start for u, start, _ in vobject_instances(path) if u == uid) == expected, email
        masters = [e for e in parse(path).walk("VEVENT") if str(e["UID"]) == uid and "RECURRENCE-ID" not in e]
        assert len(masters) == 1                                        # once, not once per mentee row
        assert str(masters[0]["SUMMARY"]) == "Mentoring check-in: Al Mentee, Be Mentee and Mo Mentor"   # the invitation's title
        description = str(masters[0]["DESCRIPTION"])
        assert all(e in description for e in names)
    cy = parse(tmp_path / participant_file_name("Cy Mentee", "cy@example.org")).to_ical().decode()
    assert uid not in cy and "al@example.org" not in cy                 # nobody else's relationship
    # the invitation and the sheet read back: one series for all three, every meeting once
    sheet = read_checkins(tmp_path / "checkins.xlsx")
    assert list(sheet[sheet["pair_id"] == "P001"]["mentee_email"]) == ["al@example.org", "be@example.org"] * 3
    invite = Calendar.from_ical(pair_invite(sheet, book, config, "P001"))
    events = list(invite.walk("VEVENT"))
    assert {str(e["UID"]) for e in events} == {uid} and str(invite["METHOD"]) == "REQUEST"
    assert str(events[0]["SUMMARY"]) == "Mentoring check-in: Al Mentee, Be Mentee and Mo Mentor"
    assert "Reach each other by email: al@example.org, be@example.org and mo@example.org." in str(events[0]["DESCRIPTION"])
    attendees = sorted(str(a).removeprefix("mailto:") for a in events[0].get("ATTENDEE"))
    assert attendees == sorted(names)
    invite_path = tmp_path / "invite.ics"
    invite_path.write_bytes(invite.to_ical())
    assert sorted(start for _, start, _ in vobject_instances(invite_path)) == expected
    assert int(sheet[sheet["pair_id"] == "P001"]["sequence"].iloc[0]) == 0   # the state knows the relationship's UID


@pytest.mark.parametrize(("di_zone", "di_answer", "trio_first"), [("Europe/Berlin", "Tue 20:00-20:30", False),
                                                                    ("Europe/London", "Mon-Fri 17:00-22:00", True)])
def test_nobody_is_booked_twice_across_relationships(di_zone: str, di_answer: str, trio_first: bool) -> None:
    """Mo leads a relationship of three and a pair; Be, the third member, is also in a pair with Di
    whose best time is the trio's best (2nd Tuesday 19:00 London). Di's pair is planned before the
    trio (tighter) or after it: either way every person's meetings are apart."""
    extra = (person("Cy Mentee", "cy@example.org", "mentee", "Europe/London", "Mon-Fri 17:00-20:00"),
             person("Di Mentor", "di@example.org", "mentor", di_zone, di_answer))
    book = trio_book(("P002", "cy@example.org", "mo@example.org"), ("P003", "be@example.org", "di@example.org"),
                     extra_people=extra)
    config = config_from_dict({"schedule": {"local_holidays": False, "weekdays": ["Tue"]}})
    plan = plan_checkins(book, config, start=dt.date(2026, 4, 1), months=3).checkins
    booked: dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]] = {}
    for row in meetings(plan).to_dict("records"):
        members = set(plan[plan["pair_id"] == row["pair_id"]][["mentee_email", "mentor_email"]].to_numpy().ravel())
        for email in members:
            booked.setdefault(email, []).append((row["start_utc"], row["end_utc"]))
    assert set(booked) == {"mo@example.org", "al@example.org", "be@example.org", "cy@example.org", "di@example.org"}
    for email, spans in booked.items():
        spans.sort()
        assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans)), email
    assert len(booked["be@example.org"]) == 6 and len(booked["mo@example.org"]) == 6
    assert (plan["flag"] == "").all()
    trio = set(plan[plan["pair_id"] == "P001"]["pattern"])
    assert (trio == {"2nd Tuesday 19:00 Europe/London"}) == trio_first      # the first planned takes the best time


def test_relationships_with_the_same_zones_but_other_windows_get_their_own_ranking() -> None:
    """Planned back to back (same zones, same tightness), each relationship is ranked on its own
    members' windows: a ranking reused across them would put the second outside its windows."""
    people = [person("Mo", "mo@example.org", "mentor", "Europe/London", "Mon-Fri 18:00-19:00"),
              person("Al", "al@example.org", "mentee", "Europe/London", "Mon-Fri 18:00-19:00"),
              person("Ky", "ky@example.org", "mentor", "Europe/London", "Mon-Fri 08:00-09:00"),
              person("Lu", "lu@example.org", "mentee", "Europe/London", "Mon-Fri 08:00-09:00")]
    book = book_of(people, [("al@example.org", "mo@example.org"), ("lu@example.org", "ky@example.org")])
    config = config_from_dict({"schedule": {"local_holidays": False}})
    plan = plan_checkins(book, config, start=START, months=2).checkins
    hours = plan.groupby("pair_id")["start_utc"].apply(lambda s: {local(t, "Europe/London").hour for t in s}).to_dict()
    assert hours == {"P001": {18}, "P002": {8}} and (plan["flag"] == "").all()


def test_a_holiday_of_only_the_third_members_country_is_avoided() -> None:
    """Ascension Day (Thu 14 May 2026) is a holiday in Germany (Be's country) only, and the 2nd
    Thursday: the relationship keeps clear of it (here by taking the 3rd Thursday, which needs no
    move); without local holidays the 2nd Thursday, the preferred week, is taken. April to June:
    after both DST changes."""
    april = dt.date(2026, 4, 1)
    plan = plan_checkins(trio_book(), config_from_dict({"schedule": {"weekdays": ["Thu"]}}), start=april, months=3).checkins
    assert all(local(t, zone).date() != dt.date(2026, 5, 14) for t in plan["start_utc"]
               for zone, _ in TRIO_ANSWERS.values())
    assert set(plan["pattern"]) == {"3rd Thursday 19:00 Europe/London"} and (plan["flag"] == "").all()
    plain = plan_checkins(trio_book(), config_from_dict({"schedule": {"weekdays": ["Thu"], "local_holidays": False}}),
                          start=april, months=3).checkins
    assert set(plain["pattern"]) == {"2nd Thursday 19:00 Europe/London"}
    assert dt.date(2026, 5, 14) in {local(t, "Europe/Berlin").date() for t in plain["start_utc"]}


def test_a_reschedule_keeps_each_mentees_log_on_their_own_row_of_a_shared_meeting(tmp_path: Path) -> None:
    config = config_from_dict({"schedule": {"local_holidays": False}})
    book = trio_book()
    write_schedule(plan_checkins(book, config, start=START, months=2), book, config, tmp_path, force=False)
    workbook = openpyxl.load_workbook(tmp_path / "checkins.xlsx")
    sheet = workbook[SHEET_NAME]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert [(r["Pair ID"], r["Occurrence"], r["Mentee Email"]) for r in rows] == [
        ("P001", 1, "al@example.org"), ("P001", 1, "be@example.org"), ("P001", 2, "al@example.org"), ("P001", 2, "be@example.org")]
    assert rows[0]["Start (UTC)"] == rows[1]["Start (UTC)"] and rows[0]["Mentor Email"] == rows[1]["Mentor Email"]
    sheet.cell(row=3, column=header.index("Held") + 1, value="No")       # Be missed meeting 1, Al's row left blank
    sheet.cell(row=3, column=header.index("Notes") + 1, value="Be was ill")
    workbook.save(tmp_path / "checkins.xlsx")
    schedule = plan_checkins(book, config, start=START, months=2, previous=read_checkins(tmp_path / "checkins.xlsx"))
    write_schedule(schedule, book, config, tmp_path, force=True)
    again = read_checkins(tmp_path / "checkins.xlsx")
    assert list(again["held"]) == [None, False, None, None]
    assert list(again["notes"]) == ["", "Be was ill", "", ""]

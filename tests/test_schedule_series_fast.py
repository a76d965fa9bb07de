"""A series built from values handed to icalendar already typed, set item by item and shared
across its events, serialises to the bytes of the plain ``Component.add`` build (issue 14 item 7).

The reference here is the way the events were built before: ``add`` of plain datetimes, strings
and integers, each event a ``Component.copy()`` of the shared part. Both are serialised by
icalendar; every instant is drawn over zones with half-hour and 45-minute offsets, the UTC
fallback of a fixed offset, and the minutes around each daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Alarm, Event, vCalAddress

import mentorcli.schedule as schedule_module
from mentorcli.config import config_from_dict
from mentorcli.ics import CADENCES, ical_bytes, ics_text, series_shape
from mentorcli.schedule import Version, plan_checkins, serialise_series
from tests.test_schedule import CONFIG_WITH_EVENTS, book_of, person

ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide",
         "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham", "Pacific/Kiritimati", "UTC", "UTC+05:30"]
"""Whole, half-hour and 45-minute offsets, a half-hour daylight-saving shift (Lord Howe), +14,
UTC, and a fixed offset (written in UTC)."""
FIRST, LAST = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2028, 1, 1, tzinfo=dt.UTC)


@functools.cache
def dst_edges() -> list[dt.datetime]:
    """Each zone's offset changes in 2026-2027, and the minute and half hour either side of each."""
    edges = []
    for zone in ZONES[:-3]:
        tzinfo = ZoneInfo(zone)
        moment, before = FIRST, FIRST.astimezone(tzinfo).utcoffset()
        while moment < LAST:
            moment += dt.timedelta(minutes=30)
            offset = moment.astimezone(tzinfo).utcoffset()
            if offset != before:
                edges += [moment + dt.timedelta(minutes=m) for m in (-31, -30, -1, 0, 1, 30)]
                before = offset
    return edges


def instants() -> st.SearchStrategy[dt.datetime]:
    whole_minutes = st.datetimes(min_value=FIRST.replace(tzinfo=None), max_value=LAST.replace(tzinfo=None)).map(
        lambda moment: moment.replace(second=0, microsecond=0, tzinfo=dt.UTC))
    return st.one_of(whole_minutes, st.sampled_from(dst_edges()))


TEXT = st.text(st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(list(",;:\\\"\n\r\t^é€😀\u202e\x1b"))), max_size=120)
"""Any text a cell can hold (a workbook holds no lone surrogate), with what iCalendar escapes and what
``ics_text`` removes."""
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def builder(reminder_minutes: int = 60, rsvp: bool = True) -> schedule_module._CalendarBuilder:
    config = config_from_dict({**CONFIG_WITH_EVENTS, "schedule": {"reminder_minutes": reminder_minutes, "rsvp": rsvp}})
    return schedule_module._CalendarBuilder(config, dt.date(2026, 1, 1), dt.date(2027, 12, 31))


def plain_shared(made: schedule_module._CalendarBuilder, *, uid: str, summary: str, version: Version,
                 attendees: list[tuple[str, str]]) -> Event:
    """``_CalendarBuilder.shared`` as it was: every value a plain one, given to ``add``."""
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", version.dtstamp)
    event.add("summary", ics_text(summary))
    event.add("organizer", made.organizer())
    for name, email in attendees:
        attendee = vCalAddress(f"mailto:{schedule_module._clean_email(email)}")
        attendee.params.update({"CN": ics_text(name), "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION",
                                "RSVP": "TRUE" if made.config.schedule.rsvp else "FALSE"})
        event.add("attendee", attendee)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("sequence", version.sequence)
    minutes = int(made.config.schedule.reminder_minutes)
    if minutes > 0:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", dt.timedelta(minutes=-minutes))
        alarm.add("description", ics_text(f"Reminder: {summary}"))
        event.add_component(alarm)
    return event


def plain_timed(shared: Event, *, start: dt.datetime, end: dt.datetime, zone: str, description: str,
                rule: dict | None = None, exdates: list[dt.datetime] = (), rdates: list[dt.datetime] = (),
                recurrence_id: dt.datetime | None = None) -> Event:
    """``_CalendarBuilder.timed`` as it was: a ``copy()`` of the shared part, plain values ``add``ed."""
    tzinfo = schedule_module._ics_zone(zone)
    event = shared.copy()
    if recurrence_id is not None:
        event.add("recurrence-id", recurrence_id.astimezone(tzinfo))
    event.add("dtstart", start.astimezone(tzinfo))
    event.add("dtend", end.astimezone(tzinfo))
    if rule is not None:
        event.add("rrule", rule)
    for moment in rdates:
        event.add("rdate", moment.astimezone(tzinfo))
    for moment in exdates:
        event.add("exdate", moment.astimezone(tzinfo))
    event.add("description", ics_text(description, multiline=True))
    for component in shared.subcomponents:
        event.add_component(component)
    return event


@FAST
@given(moment=instants(), zone=st.sampled_from(ZONES))
def test_a_typed_date_time_gives_the_bytes_of_a_plain_add(moment: dt.datetime, zone: str) -> None:
    tzinfo = schedule_module._ics_zone(zone)
    plain, typed = Event(), Event()
    plain.add("dtstart", moment.astimezone(tzinfo))
    plain.add("dtstamp", moment)
    typed["DTSTART"] = schedule_module._date_time(moment, tzinfo)
    typed["DTSTAMP"] = schedule_module._date_time(moment, dt.UTC)
    assert typed.to_ical() == plain.to_ical()
    assert ical_bytes(typed) == ical_bytes(plain)
    assert typed["DTSTART"].params == plain["DTSTART"].params
    assert typed["DTSTART"].dt.astimezone(dt.UTC) == moment   # an ambiguous wall time compares unequal across zones


@FAST
@given(summary=TEXT, description=TEXT, note=TEXT, zone=st.sampled_from(ZONES), start=instants(),
       minutes=st.sampled_from([15, 30, 45, 61, 90]), sequence=st.integers(0, 10_000), stamp=instants(),
       reminder=st.sampled_from([0, 1, 60, 1440]), rsvp=st.booleans(),
       people=st.lists(st.tuples(TEXT, st.emails()), max_size=3))
def test_a_series_built_typed_gives_the_bytes_of_the_plain_build(summary: str, description: str, note: str,
                                                                  zone: str, start: dt.datetime, minutes: int,
                                                                  sequence: int, stamp: dt.datetime, reminder: int,
                                                                  rsvp: bool, people: list[tuple[str, str]]) -> None:
    made = builder(reminder, rsvp)
    version = Version(sequence, stamp)
    length = dt.timedelta(minutes=minutes)
    month = dt.timedelta(days=28)
    times = {"rule": {"freq": "monthly", "count": 6, "byday": "1MO"}, "exdates": [start + 2 * month],
             "rdates": [start + month + dt.timedelta(days=3)]}
    shared = made.shared(uid="u-1@mentorcli", summary=summary, version=version, attendees=people)
    reference = plain_shared(made, uid="u-1@mentorcli", summary=summary, version=version, attendees=people)
    fast = [made.timed(shared, start=start, end=start + length, zone=zone, description=description, **times),
            made.timed(shared, start=start + month, end=start + month + length, zone=zone,
                       description=f"{description}\nNote: {note}", recurrence_id=start + month - dt.timedelta(days=1))]
    slow = [plain_timed(reference, start=start, end=start + length, zone=zone, description=description, **times),
            plain_timed(reference, start=start + month, end=start + month + length, zone=zone,
                        description=f"{description}\nNote: {note}", recurrence_id=start + month - dt.timedelta(days=1))]
    assert [event.to_ical() for event in fast] == [event.to_ical() for event in slow]
    assert [ical_bytes(event) for event in fast] == [event.to_ical() for event in slow]


def test_each_stamp_and_sequence_has_its_own_value_and_an_event_keeps_its_own() -> None:
    made = builder()
    first_stamp, later_stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)

    def one(version: Version, hours: int) -> Event:
        shared = made.shared(uid="u@mentorcli", summary="S", version=version)
        return made.timed(shared, start=start + dt.timedelta(hours=hours), end=start + dt.timedelta(hours=hours + 1),
                          zone="Asia/Kathmandu", description="D")

    a = one(Version(0, first_stamp), 0)
    before = a.to_ical()
    b = one(Version(3, later_stamp), 5)
    c = one(Version(0, first_stamp), 7)
    assert a.to_ical() == before                      # building later events changed nothing in it
    assert b"SEQUENCE:3\r\n" in b.to_ical() and b"DTSTAMP:20260506T070809Z\r\n" in b.to_ical()
    assert b"SEQUENCE:0\r\n" in c.to_ical() and b"DTSTAMP:20260101T000000Z\r\n" in c.to_ical()
    assert a["DTSTART"].dt != c["DTSTART"].dt
    assert a["DTSTAMP"] is c["DTSTAMP"] and a["ORGANIZER"] is b["ORGANIZER"]   # one value per builder


def test_an_event_of_a_series_leaves_the_shared_part_and_its_sibling_as_they_were() -> None:
    made = builder()
    shared = made.shared(uid="u@mentorcli", summary="S", version=Version(0, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
                         attendees=[("Ana", "ana@example.org"), ("Bo", "bo@example.org")])
    keys = list(shared)
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    master = made.timed(shared, start=start, end=start + dt.timedelta(hours=1), zone="Europe/London",
                        description="all", rule={"freq": "monthly", "count": 3, "byday": "1MO"},
                        rdates=[start + dt.timedelta(days=40)], exdates=[start + dt.timedelta(days=56)])
    first = master.to_ical()
    made.timed(shared, start=start + dt.timedelta(days=30), end=start + dt.timedelta(days=30, hours=1),
               zone="Europe/London", description="one", recurrence_id=start + dt.timedelta(days=28),
               rdates=[start + dt.timedelta(days=90)])
    assert list(shared) == keys and len(shared["ATTENDEE"]) == 2
    assert master.to_ical() == first
    assert type(master) is Event and master.subcomponents == shared.subcomponents


def test_a_check_in_whose_utc_date_is_the_day_before_keeps_its_local_weekday_in_the_rule() -> None:
    kiritimati = ZoneInfo("Pacific/Kiritimati")       # UTC+14: 09:00 on a Monday is 19:00 UTC on Sunday
    starts = [dt.datetime(2026, month, day, 9, tzinfo=kiritimati).astimezone(dt.UTC)
              for month, day in [(3, 2), (4, 6), (5, 4), (6, 1), (7, 6), (8, 3)]]
    shape = series_shape(starts, kiritimati, CADENCES["monthly"])
    assert shape.rule is not None and shape.rule["byday"] == "1MO"
    assert shape.plain == list(range(6)) and not shape.overrides and not shape.exdates and not shape.rdates
    assert shape.dtstart == starts[0]


@pytest.fixture(scope="module")
def series() -> tuple[schedule_module._CalendarBuilder, Version, list[list[dict]]]:
    config = config_from_dict(CONFIG_WITH_EVENTS)
    people = [person("Sam Lee", "sam@example.org", "mentor", "Europe/London"),
              person("Ana Ruiz", "ana@example.org", "both", "America/New_York", "Mon-Fri 12:00-15:00"),
              person("Bo Chen", "bo@example.org", "mentee", "Asia/Kolkata", "Weekday evenings", "Weekends"),
              person("Dee Offset", "dee@example.org", "mentee", "UTC+05:30", "Weekday evenings"),
              person("Eli Sand", "eli@example.org", "mentee", "Australia/Lord_Howe", "Weekends")]
    book = book_of(people, [("ana@example.org", "sam@example.org"), ("bo@example.org", "ana@example.org"),
                            ("dee@example.org", "sam@example.org"), ("eli@example.org", "sam@example.org")])
    schedule = plan_checkins(book, config, start=dt.date(2026, 3, 2), months=12)
    return (schedule_module._builder_for(schedule, config), Version(0, schedule.generated),
            list(schedule_module._series_rows(schedule).values()))


def test_rows_read_once_give_the_people_and_meetings_of_rows_read_each_time(series) -> None:
    _, _, all_rows = series
    assert len(all_rows) == 4
    for rows in all_rows:
        starts = [schedule_module._as_utc(row["start_utc"]) for row in rows]
        assert schedule_module._attendees(rows, starts) == schedule_module._attendees(rows)
        kept = schedule_module._meeting_indexes(rows, starts)
        assert [rows[i] for i in kept] == schedule_module._meetings(rows)
        row = rows[kept[-1]]
        people = schedule_module._attendees(rows)
        assert starts[kept[-1]] == schedule_module._as_utc(row["start_utc"])
        assert (schedule_module._checkin_description(row, people, 12, CONFIG_AS_READ, starts[kept[-1]])
                == schedule_module._checkin_description(row, people, 12, CONFIG_AS_READ, schedule_module._as_utc(row["start_utc"])))


CONFIG_AS_READ = config_from_dict(CONFIG_WITH_EVENTS)


def test_a_series_serialised_is_its_components_serialised_whole(series) -> None:
    made, fresh, all_rows = series
    for rows in all_rows:
        whole = b"".join(event.to_ical() for event in
                         schedule_module.series_components(made, rows, CONFIG_AS_READ, fresh))
        assert serialise_series(made, rows, CONFIG_AS_READ, fresh).data == whole


def test_a_persons_local_time_is_the_first_row_that_gives_it() -> None:
    start = dt.datetime(2026, 3, 3, 17, tzinfo=dt.UTC)
    row = {"start_utc": start, "mentor": "Sam", "mentor_email": "sam@example.org", "mentor_tz": "Europe/London",
           "mentee_tz": "Asia/Kolkata", "mentor_role": "", "mentee_role": ""}
    rows = [{**row, "mentee": "Ana", "mentee_email": "ana@example.org", "mentor_local": "Tue 17:00 (as first read)",
             "mentee_local": "Tue 22:30"},
            {**row, "mentee": "Bo", "mentee_email": "bo@example.org", "mentor_local": "Tue 18:00 (hand-edited later)",
             "mentee_local": "Tue 22:30"}]
    starts = [start, start]
    for people in (schedule_module._attendees(rows), schedule_module._attendees(rows, starts)):
        assert [p.email for p in people] == ["ana@example.org", "bo@example.org", "sam@example.org"]
        assert people[2].local == {start: "Tue 17:00 (as first read)"}

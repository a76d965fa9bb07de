"""The fast calendar path writes the bytes of the straightforward one (issue 14 item 7).

``mentor schedule`` builds each series once, serialises it once with icalendar (every copy
carries the same title) and splices every file that holds it from those bytes
(``serialise_series``, ``_calendar_stream``).
Here the same calendars are built the plain way, every component fresh for every person and
each file one icalendar ``Calendar`` serialised with ``Calendar.to_ical()``, on a small cohort
with pairs, a mentor meeting two mentees together, a circle of four, holiday moves, a rerun
with updates and cancellations; the bytes must be identical, and every file must parse back
in icalendar and vobject to the check-ins of the sheet.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from icalendar import Calendar

import mentorcli.schedule as schedule_module
from mentorcli import __version__
from mentorcli.config import Config, config_from_dict
from mentorcli.ics import ics_text, read_state, vtimezone
from mentorcli.model import PairingBook, make_people
from mentorcli.schedule import (
    CHANGES_DIR,
    Schedule,
    Version,
    participant_calendars,
    participant_file_name,
    plan_checkins,
    series_components,
    write_schedule,
)
from tests.ics_readers import vobject_instances
from tests.test_schedule import person

START = dt.date(2026, 3, 2)
EPOCH = "1767225600"
CONFIG = {
    "cohort": {"name": "Autumn cohort", "coordinator_name": "Cora Ordinator", "coordinator_email": "cora@example.org"},
    "schedule": {"holidays": ["GB", "US"], "blackout": ["2026-04-13", "2026-04-20", "2026-04-27"], "reminder_minutes": 30},
    "events": [{"name": "Kick-off", "date": "2026-03-03", "time": "17:00", "timezone": "Europe/London"}],
}
PEOPLE = [
    person("Sam Lee", "sam@example.org", "mentor", "Europe/London", "Weekday evenings"),
    person("Ana Ruiz", "ana@example.org", "both", "America/New_York", "Mon-Fri 12:00-15:00"),
    person("Kai Moto", "kai@example.org", "mentor", "Asia/Tokyo", "Weekday mornings"),
    person("Lee Park", "lee@example.org", "mentor", "America/Chicago", "Weekday lunchtimes"),
    person("Bo Chen", "bo@example.org", "mentee", "Asia/Kolkata", "Weekday evenings", "Weekends"),
    person("Dee Offset", "dee@example.org", "mentee", "UTC+05:30", "Weekday evenings"),
    person("Eli Sand", "eli@example.org", "mentee", "Australia/Sydney", "Weekends"),
    person("Fay Lund", "fay@example.org", "mentee", "Europe/Berlin"),
    person("Gus Hale", "gus@example.org", "mentee", ""),
    person("Ivy Stone", "ivy@example.org", "mentee", "Europe/London", "Weekday evenings"),
    person("Jo Marsh", "jo@example.org", "mentee", "America/New_York", "Weekday evenings"),
    person("Max Vale", "max@example.org", "mentee", "Europe/Madrid", "Anytime"),
    person("Nia Cole", "nia@example.org", "mentee", "Europe/London", "Mon 18:00-20:00"),
    person("Ola Berg", "ola@example.org", "mentor", "Europe/London", "Mon 18:00-20:00"),
]
RELATIONSHIPS = [   # (pair id, mentee, mentor): rows sharing an id are one relationship
    ("P001", "ana@example.org", "sam@example.org"),
    ("P002", "bo@example.org", "ana@example.org"),
    ("P003", "dee@example.org", "sam@example.org"),
    ("G004", "eli@example.org", "kai@example.org"),       # Kai meets Eli and Fay together
    ("G004", "fay@example.org", "kai@example.org"),
    ("P005", "gus@example.org", "ana@example.org"),
    ("C006", "ivy@example.org", "lee@example.org"),       # a circle of four: Lee and three mentees
    ("C006", "jo@example.org", "lee@example.org"),
    ("C006", "max@example.org", "lee@example.org"),
    ("P007", "nia@example.org", "ola@example.org"),       # Mondays only: Easter Monday and the blackouts move one
]


def cohort(relationships: list[tuple[str, str, str]] = RELATIONSHIPS, people: list[dict] = PEOPLE) -> PairingBook:
    frame = make_people(people)
    names = dict(zip(frame["email"], frame["name"]))
    rows = [{"pair_id": pair_id, "mentee_email": mentee, "mentor_email": mentor, "mentee": names[mentee],
             "mentor": names[mentor], "score": 50.0, "why": "", "row": i}
            for i, (pair_id, mentee, mentor) in enumerate(relationships, 2)]
    return PairingBook(path=Path("pairs.xlsx"), pairs=pd.DataFrame(rows), people=frame)


def whole_calendar(builder: Any, method: str, title: str, components: list[Any]) -> bytes:
    """One icalendar ``Calendar`` holding everything, serialised in one go."""
    cal = Calendar()
    cal.add("prodid", f"-//mentorcli//mentorcli {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    cal.add("x-wr-calname", ics_text(title))
    zones = {str(c["DTSTART"].params["TZID"]) for c in components if "DTSTART" in c and "TZID" in c["DTSTART"].params}
    for tzid in sorted(zones):
        cal.add_component(vtimezone(tzid, builder.first, builder.last))
    for component in components:
        cal.add_component(component)
    return cal.to_ical()


def plain_participant_calendars(schedule: Schedule, config: Config, versions: dict[str, Version]) -> list[tuple[str, bytes]]:
    """Every person's calendar with each of their series built afresh for them."""
    builder = schedule_module._builder_for(schedule, config)
    fresh = Version(0, schedule.generated)
    events = [schedule_module._cohort_event_component(builder, e, config, versions.get(e.uid, fresh)) for e in schedule.events]
    mine: dict[str, list[list[dict[str, Any]]]] = {}
    for rows in schedule_module._series_rows(schedule).values():
        for email in dict.fromkeys([*(r["mentee_email"] for r in rows), *(r["mentor_email"] for r in rows)]):
            mine.setdefault(email, []).append(rows)
    title = f"{config.cohort.name}: mentoring check-ins"
    return [(email, whole_calendar(builder, "PUBLISH", title, [
        component for rows in mine[email]
        for component in series_components(builder, rows, config, versions.get(rows[0]["uid"], fresh))] + events))
        for email in sorted(mine)]


def expected_instances(schedule: Schedule, email: str) -> list[tuple[str, int, int]]:
    rows = schedule.checkins[(schedule.checkins["mentee_email"] == email) | (schedule.checkins["mentor_email"] == email)]
    return sorted({(uid, int(start.timestamp()), int(end.timestamp()))
                   for uid, start, end in zip(rows["uid"], rows["start_utc"], rows["end_utc"])})


@pytest.fixture
def config() -> Config:
    return config_from_dict(CONFIG)


def test_the_cohort_has_every_kind_of_series(config: Config) -> None:
    schedule = plan_checkins(cohort(), config, start=START, months=6)
    data = b"".join(d for _, d in participant_calendars(schedule, config, workers=1)).replace(b"\r\n ", b"")
    assert b"RECURRENCE-ID" in data and b"moved from Mon 2026-04-" in data      # holiday moves are overrides
    assert b"RRULE" in data
    sizes = schedule.checkins.groupby("pair_id")["mentee_email"].nunique()
    assert sizes["G004"] == 2 and sizes["C006"] == 3


@pytest.mark.parametrize(("workers", "reminder"), [(1, 30), (2, 30), (1, 0), (1, 1)])
def test_spliced_calendars_are_the_bytes_of_each_calendar_built_whole(workers: int, reminder: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With a reminder (spliced into every event of a series from one serialisation) and without."""
    config = config_from_dict({**CONFIG, "schedule": {**CONFIG["schedule"], "reminder_minutes": reminder}})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(schedule_module, "CALENDAR_CHUNK", 2)    # series split over several pieces of work
    schedule = plan_checkins(cohort(), config, start=START, months=6)
    fast = list(participant_calendars(schedule, config, workers=workers))
    plain = plain_participant_calendars(schedule, config, {})
    assert [email for email, _ in fast] == [email for email, _ in plain]
    for (email, ours), (_, theirs) in zip(fast, plain):
        assert ours == theirs, email


def test_a_rerun_with_updates_and_cancellations_is_byte_for_byte_the_plain_way(config: Config, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    folder = tmp_path / "calendar"
    write_schedule(plan_checkins(cohort(), config, start=START, months=6), cohort(), config, folder, force=False)
    # Dee's pair is dropped (cancelled); Bo moves to Tokyo (Bo and Ana's series updated)
    people = [dict(p, timezone="Asia/Tokyo") if p["email"] == "bo@example.org" else p for p in PEOPLE]
    book = cohort([r for r in RELATIONSHIPS if r[0] != "P003"], people)
    schedule = plan_checkins(book, config, start=START, months=6)
    previous = read_state(folder)
    versions, state, changes = schedule_module._versions(schedule, config, previous)
    assert changes.cancelled == ["P003"] and "P002" in changes.updated and "C006" in changes.unchanged
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(EPOCH) + 86_400))
    written = write_schedule(schedule, book, config, folder, force=True)

    by_email = dict(plain_participant_calendars(schedule, config, versions))
    names = make_people(people).set_index("email")["name"]
    files = {participant_file_name(str(names[email]), email): email for email in by_email}
    for name, email in files.items():
        assert (folder / name).read_bytes() == by_email[email], email
    builder = schedule_module._builder_for(schedule, config)
    title = f"{config.cohort.name}: mentoring check-ins"
    expected: dict[str, bytes] = {}
    for uid, rows in schedule_module._series_rows(schedule).items():
        if rows[0]["pair_id"] in changes.updated:
            people_of = [(p.name, p.email) for p in schedule_module._attendees(rows)]
            components = series_components(builder, rows, config, versions[uid], attendees=people_of)
            expected[schedule_module._change_name("update", rows[0]["pair_id"], uid)] = whole_calendar(
                builder, "REQUEST", title, components)
    for uid, entry in state.items():
        if entry.cancelled:
            expected[schedule_module._change_name("cancel", entry.pair_id, uid)] = whole_calendar(
                builder, "CANCEL", title, [builder.cancellation(uid, entry, versions[uid])])
    changed = sorted((folder / CHANGES_DIR).glob("*.ics"))
    assert sorted(p.name for p in changed) == sorted(expected) and any(n.startswith("cancel-") for n in expected)
    for path in changed:
        assert path.read_bytes() == expected[path.name], path.name

    uids = set(schedule.checkins["uid"])
    for path in (p for p in written if p.suffix == ".ics" and p.parent == folder):
        assert Calendar.from_ical(path.read_bytes()).walk("VEVENT")
        if path.name != "cohort.ics":
            found = sorted(i for i in vobject_instances(path) if i[0] in uids)
            assert found == expected_instances(schedule, files[path.name]), path.name
    for path in changed:
        cal = Calendar.from_ical(path.read_bytes())
        assert {str(e["STATUS"]) for e in cal.walk("VEVENT")} == ({"CANCELLED"} if path.name.startswith("cancel-") else {"CONFIRMED"})
        vobject_instances(path)        # vobject reads the messages too


def test_each_moved_or_noted_checkin_names_everyones_local_time_of_that_date(config: Config) -> None:
    schedule = plan_checkins(cohort(), config, start=START, months=12)
    rows = schedule.checkins
    local = {(start, email): text for start, emails, texts in zip(
        rows["start_utc"], zip(rows["mentee_email"], rows["mentor_email"]), zip(rows["mentee_local"], rows["mentor_local"]))
        for email, text in zip(emails, texts)}
    checked = 0
    for email, data in participant_calendars(schedule, config, workers=1):
        for event in Calendar.from_ical(data).walk("VEVENT"):
            if "RECURRENCE-ID" not in event:
                continue
            start = pd.Timestamp(event.decoded("DTSTART")).tz_convert("UTC")
            description = str(event["DESCRIPTION"])
            people = {e for (moment, e) in local if moment == start}
            assert email in people
            for person_email in people:
                assert f"<{person_email}>, {local[(start, person_email)]}" in description, (email, start, person_email)
            checked += 1
    assert checked >= 10


def shown_notes(data: bytes) -> dict[tuple[str, int | None], list[str]]:
    """The "Note:" lines a client shows, read back by icalendar: per (series UID, start) of each
    override, and per (series UID, None) for the series' own text (every check-in without one)."""
    shown: dict[tuple[str, int | None], list[str]] = {}
    for event in Calendar.from_ical(data).walk("VEVENT"):
        start = int(pd.Timestamp(event.decoded("DTSTART")).timestamp()) if "RECURRENCE-ID" in event else None
        shown[(str(event["UID"]), start)] = [line for line in str(event["DESCRIPTION"]).split("\n") if line.startswith("Note: ")]
    return shown


def test_each_checkin_shows_its_own_note_and_only_its_own_with_the_commonest_on_the_series(config: Config) -> None:
    schedule = plan_checkins(cohort(), config, start=START, months=12)
    rows = schedule.checkins.drop_duplicates(["uid", "start_utc"])
    mixed = [uid for uid, flags in rows.groupby("uid")["flag"] if flags.all() and flags.nunique() > 1]
    assert mixed, "the cohort needs a series whose check-ins all carry notes, not all the same"
    checked = 0
    for email, data in participant_calendars(schedule, config, workers=1):
        notes = shown_notes(data)
        mine = rows[(rows["mentee_email"] == email) | (rows["mentor_email"] == email)]
        for uid, start, flag in zip(mine["uid"], mine["start_utc"], mine["flag"]):
            shown = notes.get((uid, int(start.timestamp())), notes[(uid, None)])
            assert shown == ([f"Note: {flag}"] if flag else []), (email, start)
            checked += 1
    assert checked == sum(len(rows[(rows["mentee_email"] == e) | (rows["mentor_email"] == e)])
                          for e in set(rows["mentee_email"]) | set(rows["mentor_email"]))
    for uid in mixed:      # the commonest note is the series', so fewer overrides than check-ins
        flags = rows.loc[rows["uid"] == uid, "flag"].tolist()
        events, _ = schedule_module._series_events(schedule_module._builder_for(schedule, config),
                                                   schedule_module._series_rows(schedule)[uid], config, Version(0, schedule.generated))
        assert len(events) - 1 < len(flags)


@pytest.mark.parametrize(("flags", "note", "special"), [
    ([], "", []),
    (["", ""], "", [False, False]),
    (["a", "a", "a"], "a", [False, False, False]),
    (["a", "b", "b"], "b", [True, False, False]),             # the commonest
    (["a", "b", "a", "b"], "a", [False, True, False, True]),  # a tie: the earliest's
    (["b", "a", "b", "a"], "b", [False, True, False, True]),
    (["a", "a", ""], "", [True, True, False]),                # one without a note: the series has none
    (["", "a"], "", [False, True]),
])
def test_the_series_note_is_the_commonest_only_when_every_checkin_has_one(flags: list[str], note: str, special: list[bool]) -> None:
    assert schedule_module._series_note(flags) == (note, special)


def vevent_blocks(data: bytes) -> dict[str, list[bytes]]:
    """The VEVENT blocks of a calendar's bytes by UID, as written (folded lines and all)."""
    out: dict[str, list[bytes]] = {}
    for block in data.split(b"BEGIN:VEVENT\r\n")[1:]:
        block = block[:block.index(b"END:VEVENT\r\n")]
        uid = Calendar.from_ical(b"BEGIN:VEVENT\r\n" + block + b"END:VEVENT\r\n")["UID"]
        out.setdefault(str(uid), []).append(block)
    return out


def test_every_file_holding_a_series_carries_the_same_bytes_of_it_under_everyones_names(config: Config) -> None:
    schedule = plan_checkins(cohort(), config, start=START, months=6)
    copies: dict[str, list[list[bytes]]] = {}
    for _, data in participant_calendars(schedule, config, workers=1):
        for uid, blocks in vevent_blocks(data).items():
            copies.setdefault(uid, []).append(blocks)
    series = schedule_module._series_rows(schedule)
    for uid, rows in series.items():
        people = schedule_module._attendees(rows)
        assert len(copies[uid]) == len(people) >= 2
        assert all(copy == copies[uid][0] for copy in copies[uid]), uid        # byte for byte in every file
        title = "Mentoring check-in: " + schedule_module._and_list([p.name for p in people])
        for block in copies[uid][0]:
            event = Calendar.from_ical(b"BEGIN:VEVENT\r\n" + block + b"END:VEVENT\r\n")
            assert str(event["SUMMARY"]) == title
            (alarm,) = event.walk("VALARM")
            assert str(alarm["DESCRIPTION"]) == f"Reminder: {title}"
    circle = schedule_module._attendees(series[next(u for u, r in series.items() if r[0]["pair_id"] == "C006")])
    assert [p.name for p in circle] == ["Ivy Stone", "Jo Marsh", "Max Vale", "Lee Park"]


def test_each_series_is_built_and_serialised_once(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = plan_checkins(cohort(), config, start=START, months=6)
    calls: list[str] = []
    serialise = schedule_module.serialise

    def counted(components: list[Any], *reminder: Any) -> Any:
        calls.extend(str(c["UID"]) for c in components if "RECURRENCE-ID" not in c)
        return serialise(components, *reminder)

    monkeypatch.setattr(schedule_module, "serialise", counted)
    files = list(participant_calendars(schedule, config, workers=1))
    assert len(files) == schedule.checkins[["mentee_email", "mentor_email"]].stack().nunique()
    event_uids = {e.uid for e in schedule.events}
    assert sorted(u for u in calls if u not in event_uids) == sorted(set(schedule.checkins["uid"]))   # once each


def test_each_series_reminder_is_serialised_once_not_once_per_checkin(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every event of a series has the same VALARM: icalendar serialises it once per series and its
    bytes go into each event (``serialise``), rather than once per moved or noted check-in."""
    schedule = plan_checkins(cohort(), config, start=START, months=6)
    given: list[tuple[str, int, int, int]] = []
    serialise = schedule_module.serialise

    def counted(components: list[Any], *reminder: Any) -> Any:
        alarms = [c for c in (reminder[0] if reminder else ()) if c.name == "VALARM"]
        given.append((str(components[0]["UID"]), len(components), sum(len(c.subcomponents) for c in components), len(alarms)))
        return serialise(components, *reminder)

    monkeypatch.setattr(schedule_module, "serialise", counted)
    files = list(participant_calendars(schedule, config, workers=1))
    series = [call for call in given if call[0] in set(schedule.checkins["uid"])]
    assert len(series) == schedule.checkins["uid"].nunique() and any(count > 1 for _, count, _, _ in series)
    assert all(held == 0 and alarms == 1 for _, _, held, alarms in series)     # given once, apart from the events
    for _, data in files:   # and yet in every event of the files (cohort events have theirs), as a client needs it
        assert data.count(b"BEGIN:VALARM") == data.count(b"BEGIN:VEVENT") > 1


def test_a_new_checkins_sheet_is_spliced_and_is_the_parts_of_xlsxwriters_own_calls(config: Config, tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A new checkins.xlsx (texts, occurrence numbers, UTC starts, empty log columns) has its rows
    spliced into the parts xlsxwriter wrote (``xlsx._write_spliced``), every part as its own calls
    write it; a pair, a group, a circle, flags and blank cells alike."""
    import zipfile

    import mentorcli.xlsx as xlsx_module
    from mentorcli.schedule import write_checkins_xlsx

    schedule = plan_checkins(cohort(), config, start=START, months=6)
    spliced: list[bool] = []
    ready = xlsx_module._splice_ready
    monkeypatch.setattr(xlsx_module, "_splice_ready", lambda table: spliced.append(ready(table)) or spliced[-1])
    write_checkins_xlsx(tmp_path / "spliced.xlsx", schedule, force=False)
    assert spliced == [True]
    monkeypatch.setattr(xlsx_module, "_splice_ready", lambda table: False)
    write_checkins_xlsx(tmp_path / "cells.xlsx", schedule, force=False)
    with zipfile.ZipFile(tmp_path / "spliced.xlsx") as one, zipfile.ZipFile(tmp_path / "cells.xlsx") as other:
        assert one.namelist() == other.namelist()
        assert [name for name in one.namelist() if one.read(name) != other.read(name)] == []


def test_who_gets_a_copy_of_each_series_is_everyone_it_names(config: Config) -> None:
    """``_series_people`` of a series' rows and ``_SeriesTable.people`` of the whole schedule (read
    from its columns: who gets a copy of each series, what the state records) give ``_attendees``'
    names and emails in its order: a pair, a mentor with two mentees, a circle of four, and a
    person who is a mentee in one row and a mentor in another (named once, as a mentee)."""
    schedule = plan_checkins(cohort(), config, start=START, months=6)
    series = schedule_module._series_rows(schedule)
    by_columns = schedule_module._SeriesTable.of(schedule).people
    assert list(by_columns) == list(series)
    assert max(len(schedule_module._attendees(rows)) for rows in series.values()) == 4     # the circle
    for uid, rows in series.items():
        assert schedule_module._series_people(rows) == [(p.name, p.email) for p in schedule_module._attendees(rows)]
        assert by_columns[uid] == schedule_module._series_people(rows)
    both = [{**row, "mentor": "Bo as a mentor", "mentor_email": "bo@example.org"} if i == 1 else
            {**row, "mentee": "Bo Either", "mentee_email": "bo@example.org"} if i == 2 else row
            for i, row in enumerate(series[next(uid for uid, rows in series.items() if len(rows) >= 3)])]
    assert schedule_module._series_people(both) == [(p.name, p.email) for p in schedule_module._attendees(both)]
    assert ("Bo Either", "bo@example.org") in schedule_module._series_people(both)

"""Per-person calendars spliced from series serialised once are the bytes icalendar writes for
the whole calendar, from one process or several (issue 14 item 7)."""

from __future__ import annotations

import datetime as dt
import functools
import os

import pytest
from icalendar import Calendar

import mentorcli.schedule as schedule_module
from mentorcli import __version__
from mentorcli.bulk import worker_count
from mentorcli.config import Config, config_from_dict
from mentorcli.ics import ics_text, vtimezone
from mentorcli.model import PairingBook
from mentorcli.schedule import (
    Schedule,
    Version,
    participant_calendars,
    plan_checkins,
    series_components,
    write_schedule,
)
from tests.test_schedule import CONFIG_WITH_EVENTS, book_of, person

START = dt.date(2026, 3, 2)


@pytest.fixture
def six_pairs() -> PairingBook:
    people = [
        person("Sam Lee", "sam@example.org", "mentor", "Europe/London"),
        person("Ana Ruiz", "ana@example.org", "both", "America/New_York", "Mon-Fri 12:00-15:00"),
        person("Kai Moto", "kai@example.org", "mentor", "Asia/Tokyo", "Weekday mornings"),
        person("Bo Chen", "bo@example.org", "mentee", "Asia/Kolkata", "Weekday evenings", "Weekends"),
        person("Dee Offset", "dee@example.org", "mentee", "UTC+05:30", "Weekday evenings"),
        person("Eli Sand", "eli@example.org", "mentee", "Australia/Sydney", "Weekends"),
        person("Fay Lund", "fay@example.org", "mentee", "Europe/Berlin"),
        person("Gus Park", "gus@example.org", "mentee", ""),
    ]
    return book_of(people, [("ana@example.org", "sam@example.org"), ("bo@example.org", "ana@example.org"),
                            ("dee@example.org", "sam@example.org"), ("eli@example.org", "kai@example.org"),
                            ("fay@example.org", "kai@example.org"), ("gus@example.org", "ana@example.org")])


def whole_calendars(schedule: Schedule, config: Config) -> list[tuple[str, bytes]]:
    """Each person's calendar built as one icalendar ``Calendar`` and serialised in one go: the
    way the files were written before series were serialised once and spliced."""
    builder = schedule_module._builder_for(schedule, config)
    fresh = Version(0, schedule.generated)
    cohort = [schedule_module._cohort_event_component(builder, e, config, fresh) for e in schedule.events]
    mine: dict[str, list] = {}
    for rows in schedule_module._series_rows(schedule).values():
        for role in ("mentee", "mentor"):
            mine.setdefault(rows[0][f"{role}_email"], []).append(rows)
    out = []
    for email in sorted(mine):
        events = [c for rows in mine[email] for c in series_components(builder, rows, config, fresh)]
        cal = Calendar()
        cal.add("prodid", f"-//mentorcli//mentorcli {__version__}//EN")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("method", "PUBLISH")
        cal.add("x-wr-calname", ics_text(f"{config.cohort.name}: mentoring check-ins"))
        zones = {str(e["DTSTART"].params["TZID"]) for e in events + cohort if "TZID" in e["DTSTART"].params}
        for tzid in sorted(zones):
            cal.add_component(vtimezone(tzid, builder.first, builder.last))
        for component in events + cohort:
            cal.add_component(component)
        out.append((email, cal.to_ical()))
    return out


@pytest.mark.parametrize("cadence", ["monthly", "weekly"])
def test_spliced_calendars_are_the_bytes_of_the_whole_calendar(six_pairs: PairingBook, cadence: str) -> None:
    config = config_from_dict({**CONFIG_WITH_EVENTS, "schedule": {**CONFIG_WITH_EVENTS["schedule"], "cadence": cadence}})
    schedule = plan_checkins(six_pairs, config, start=START, months=6)
    assert any(schedule.checkins["flag"].astype(bool))      # overrides are in the series, not just masters
    spliced = list(participant_calendars(schedule, config, workers=1))
    assert [email for email, _ in spliced] == sorted({*schedule.checkins["mentee_email"], *schedule.checkins["mentor_email"]})
    assert spliced == whole_calendars(schedule, config)


def test_worker_processes_give_the_same_files_in_the_same_order(six_pairs: PairingBook, monkeypatch) -> None:
    config = config_from_dict(CONFIG_WITH_EVENTS)
    schedule = plan_checkins(six_pairs, config, start=START, months=4)
    monkeypatch.setattr(schedule_module, "CALENDAR_CHUNK", 2)   # several chunks, more than there are workers
    one = list(participant_calendars(schedule, config, workers=1))
    assert len(one) > 2 * 2
    assert list(participant_calendars(schedule, config, workers=2)) == one


def test_workers_only_past_the_size_where_they_pay(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    limit = schedule_module.PARALLEL_FROM
    count = functools.partial(worker_count, parallel_from=limit, most=schedule_module.MAX_WORKERS)
    assert count(None, limit - 1) == 1
    assert count(None, limit) == 2
    assert count(3, 5) == 3


def test_a_schedule_written_with_workers_is_the_same_files(six_pairs: PairingBook, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    config = config_from_dict(CONFIG_WITH_EVENTS)
    schedule = plan_checkins(six_pairs, config, start=START, months=4)
    alone = write_schedule(schedule, six_pairs, config, tmp_path / "one", force=False)
    monkeypatch.setattr(schedule_module, "PARALLEL_FROM", 1)
    monkeypatch.setattr(schedule_module, "CALENDAR_CHUNK", 3)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    shared = write_schedule(schedule, six_pairs, config, tmp_path / "two", force=False)
    assert [p.name for p in shared] == [p.name for p in alone]
    ics = [(a, b) for a, b in zip(alone, shared) if a.suffix in (".ics", ".json")]
    assert len(ics) > 6 and all(a.read_bytes() == b.read_bytes() for a, b in ics)

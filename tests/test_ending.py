"""Ending and rematching (issue 17 item 3): ``mentor end``, the Status column, the Ended sheet, the
calendar cancellations that follow, ``match --keep`` with ended relationships, and the report.

Every test works on real files: workbooks written by the tool, edited by openpyxl as a
coordinator's spreadsheet program would, calendars parsed back with icalendar and vobject,
drafts parsed back with the email package.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import io
import json
import re
import zipfile
from email.parser import BytesParser
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pytest
import vobject
from icalendar import Calendar
from ics_readers import vobject_instances

from mentorcli import ending, pipeline
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.match import match_people
from mentorcli.model import MatchResult, Roster, make_people
from mentorcli.schedule import KEPT_MARK, read_checkins
from mentorcli.workbook import read_pairing_workbook, write_pairing_workbook

START = ("--start", "2026-03-02", "--months", "4")
EPOCH_1 = "1767225600"   # 2026-01-01
EPOCH_2 = "1769904000"   # 2026-02-01


def person(name: str, address: str, role: str, zone: str, row: int) -> dict:
    return {"name": name, "email": address, "role": role, "timezone": zone, "availability": ("Weekday evenings",),
            "languages": ("English",), "source_row": row}


def write_workbook(path: Path, *, circle: bool = False) -> Path:
    """P001 Sam-Ana, P002 Kim-Bo (with ``circle``, Kim-Bo and Kim-Cy: one relationship of three), P003 Lu-Eve."""
    people = [
        person("Sam Lee", "sam@example.org", "mentor", "Europe/London", 2),
        person("Ana Ruiz", "ana@example.org", "mentee", "Europe/London", 3),
        person("Kim Park", "kim@example.org", "mentor", "Europe/Berlin", 4),
        person("Bo Chen", "bo@example.org", "mentee", "Europe/Berlin", 5),
        person("Lu Wang", "lu@example.org", "mentor", "Europe/Paris", 6),
        person("Eve Obi", "eve@example.org", "mentee", "Europe/Paris", 7),
    ]
    pair_ids, mentees, mentors = ["P001", "P002", "P003"], [1, 3, 5], [0, 2, 4]
    if circle:
        people.append(person("Cy Diaz", "cy@example.org", "mentee", "Europe/Berlin", 8))
        people[2]["capacity"] = 2
        pair_ids, mentees, mentors = ["P001", "P002", "P002", "P003"], [1, 3, 6, 5], [0, 2, 2, 4]
    frame = make_people(people)
    n = len(pair_ids)
    result = MatchResult(
        pairs=pd.DataFrame({"pair_id": pair_ids, "mentee": mentees, "mentor": mentors, "score": [70.0] * n,
                            "requested": [False] * n, "kept": [False] * n, "why": ["Shared goals."] * n}),
        unmatched=pd.DataFrame({"person": pd.Series(dtype=int), "role": pd.Series(dtype=str),
                                "reason": pd.Series(dtype=str)}),
        mentors=pd.DataFrame({"person": [0, 2, 4], "capacity": [1, 2 if circle else 1, 1],
                              "assigned": [1, 2 if circle else 1, 1]}),
    )
    return write_pairing_workbook(path, Roster(people=frame), result, Config(), force=False)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sheet_values(path: Path, name: str) -> list[tuple]:
    return [tuple(row) for row in openpyxl.load_workbook(path)[name].iter_rows(values_only=True)]


def pairs_rows_xml(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(0) for m in re.finditer(rb'<row\b[^>]*?\br="(\d+)".*?(?:</row>|/>)', data, re.DOTALL)}


# --------------------------------------------------------------------------- mentor end


def test_end_moves_the_rows_to_an_ended_sheet_that_reads_back(cli, tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    before = parts(workbook)
    result = cli("end", workbook, "P002", "--reason", "moved teams", "--on", "2026-04-10", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer == {"ended": "P002", "ended_on": "2026-04-10", "members": 2, "pairs_rows_emptied": [3],
                      "ended_sheet_rows": [2, 3], "ended_sheet_created": True, "workbook": str(workbook)}
    assert sheet_values(workbook, "Ended") == [
        ("Pair ID", "Name", "Email", "Role", "Ended On", "Reason"),
        ("P002", "Kim Park", "kim@example.org", "mentor", "2026-04-10", "moved teams"),
        ("P002", "Bo Chen", "bo@example.org", "mentee", "2026-04-10", "moved teams"),
    ]
    book = read_pairing_workbook(workbook, Config())
    assert [r.id for r in book.relationships()] == ["P001", "P003"]
    assert book.problems == []
    (ended,) = book.ended
    assert (ended.relationship.id, ended.ended_on, ended.reason, ended.row) == ("P002", dt.date(2026, 4, 10), "moved teams", 2)
    assert [(m.email, m.role) for m in ended.relationship.members] == [("kim@example.org", "mentor"), ("bo@example.org", "mentee")]
    # the old file is the backup, byte for byte; no temporary file is left
    assert (tmp_path / "pairs.bak.xlsx").read_bytes() != workbook.read_bytes()
    assert parts(tmp_path / "pairs.bak.xlsx") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.bak.xlsx", "pairs.xlsx"]


def test_end_keeps_every_other_part_and_row_of_the_coordinators_file_byte_for_byte(cli, tmp_path: Path) -> None:
    """The coordinator's own sheet, comment, colour and column survive; only the ended rows lose their cells."""
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    wb = openpyxl.load_workbook(workbook)
    wb["Pairs"]["M1"] = "Coordinator note"
    wb["Pairs"]["M4"] = "call Lu in May"
    wb["Pairs"]["A2"].fill = openpyxl.styles.PatternFill("solid", fgColor="FFFF00")
    wb["Pairs"]["B4"].comment = openpyxl.comments.Comment("met at the kick-off", "Coordinator")
    wb.create_sheet("My notes")["A1"] = "budget 2027"
    wb.save(workbook)
    before = parts(workbook)
    assert cli("end", workbook, "P002", "--reason", "moved teams", "--on", "2026-04-10").exit_code == 0
    after = parts(workbook)
    edited = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}
    pairs_part = ending._sheet_parts(before)["pairs"]
    for name, data in before.items():
        if name not in edited | {pairs_part}:
            assert after[name] == data, name
    old_rows, new_rows = pairs_rows_xml(before[pairs_part]), pairs_rows_xml(after[pairs_part])
    assert sorted(old_rows) == sorted(new_rows)          # no row moved
    assert {n for n in old_rows if old_rows[n] != new_rows[n]} == {3}
    assert b"<c " not in new_rows[3]
    values = sheet_values(workbook, "Pairs")
    assert values[3][12] == "call Lu in May" and values[0][12] == "Coordinator note"
    reopened = openpyxl.load_workbook(workbook)
    assert reopened["Pairs"]["B4"].comment.text == "met at the kick-off"
    assert reopened["Pairs"]["A2"].fill.fgColor.rgb.endswith("FFFF00")
    assert reopened["My notes"]["A1"].value == "budget 2027"
    assert reopened.sheetnames[-1] == "Ended"


def test_a_second_end_appends_to_the_ended_sheet(cli, tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    assert cli("end", workbook, "P002", "--reason", "moved teams", "--on", "2026-04-10").exit_code == 0
    second = cli("end", workbook, "p001", "--reason", "goals met", "--on", "2026-05-01", "--json")
    assert second.exit_code == 0, second.stderr
    assert json.loads(second.stdout)["ended_sheet_rows"] == [4, 5]
    assert json.loads(second.stdout)["ended_sheet_created"] is False
    book = read_pairing_workbook(workbook, Config())
    assert [(e.relationship.id, e.ended_on, e.reason) for e in book.ended] == [
        ("P002", dt.date(2026, 4, 10), "moved teams"), ("P001", dt.date(2026, 5, 1), "goals met")]
    assert [r.id for r in book.relationships()] == ["P003"]
    assert openpyxl.load_workbook(workbook).sheetnames.count("Ended") == 1


@pytest.mark.parametrize("args, said", [
    (("P009", "--reason", "x"), "no relationship 'P009' in the Pairs sheet"),
    (("P002", "--reason", "  "), "--reason is blank"),
])
def test_end_refuses_what_it_cannot_do_in_one_line(cli, tmp_path: Path, args, said) -> None:
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    before = workbook.read_bytes()
    result = cli("end", workbook, *args)
    assert result.exit_code == 1
    assert said in result.stderr and "Traceback" not in result.stderr
    assert workbook.read_bytes() == before


def test_ending_twice_is_refused(cli, tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    assert cli("end", workbook, "P002", "--reason", "moved", "--on", "2026-04-10").exit_code == 0
    again = cli("end", workbook, "P002", "--reason", "moved")
    assert again.exit_code == 1 and "P002 already ended on 2026-04-10" in again.stderr


def test_end_help_has_an_example(cli) -> None:
    result = cli("end", "--help")
    assert result.exit_code == 0 and "Example: mentor end pairs.xlsx P003" in result.stdout


def test_a_workbook_without_endings_has_no_ended_sheet(tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    assert "Ended" not in openpyxl.load_workbook(workbook).sheetnames
    assert read_pairing_workbook(workbook, Config()).ended == []


# --------------------------------------------------------------------------- the Status column


def with_status(path: Path, cells: dict[str, tuple], *, ended_on: bool = True) -> Path:
    """Add Status (and Ended On) columns to the Pairs sheet, by pair id, as a coordinator types them."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Pairs"]
    status_col, date_col = ws.max_column + 1, ws.max_column + 2
    ws.cell(1, status_col, "Status")
    if ended_on:
        ws.cell(1, date_col, "Ended On")
    for row in range(2, ws.max_row + 1):
        found = cells.get(ws.cell(row, 1).value)
        if found:
            ws.cell(row, status_col, found[0])
            if ended_on and len(found) > 1:
                ws.cell(row, date_col, found[1])
    wb.save(path)
    return path


@pytest.mark.parametrize("status, day, ended_on, reason", [
    ("Ended", dt.date(2026, 4, 10), dt.date(2026, 4, 10), ""),
    ("ended: moved teams", "2026-04-10", dt.date(2026, 4, 10), "moved teams"),
    ("Ended - moved teams", dt.datetime(2026, 4, 10), dt.date(2026, 4, 10), "moved teams"),
    ("Ended on 2026-04-10: moved teams", None, dt.date(2026, 4, 10), "moved teams"),
    ("Closed 2026-04-10, goals met", "", dt.date(2026, 4, 10), "goals met"),
    ("  ENDED  ", "2026-04-10", dt.date(2026, 4, 10), ""),
])
def test_each_accepted_status_form_ends_the_relationship(tmp_path: Path, status, day, ended_on, reason) -> None:
    workbook = with_status(write_workbook(tmp_path / "pairs.xlsx"), {"P002": (status, day)})
    book = read_pairing_workbook(workbook, Config())
    assert [p for p in book.problems if p.column in ("Status", "Ended On")] == []
    assert [r.id for r in book.relationships()] == ["P001", "P003"]
    (ended,) = book.ended
    assert (ended.relationship.id, ended.ended_on, ended.reason, ended.row) == ("P002", ended_on, reason, 3)


@pytest.mark.parametrize("status", ["", "Active", "ongoing", "OPEN", "Running"])
def test_active_status_forms_change_nothing(tmp_path: Path, status) -> None:
    workbook = with_status(write_workbook(tmp_path / "pairs.xlsx"), {"P002": (status,)})
    book = read_pairing_workbook(workbook, Config())
    assert book.ended == [] and book.problems == []
    assert [r.id for r in book.relationships()] == ["P001", "P002", "P003"]


def test_every_bad_status_value_is_reported_on_its_own_row_and_nothing_is_guessed(tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "pairs.xlsx")                 # rows: P001 2, P002 3, P003 4
    wb = openpyxl.load_workbook(workbook)
    ws = wb["Pairs"]
    status = ws.max_column + 1
    ws.cell(1, status, "Status")
    ws.cell(2, status, "Paused")                                # not a form
    ws.cell(3, status, "Ended 10/04/2026")                      # day and month either way round
    ws.cell(4, status, "Ended")                                 # no date anywhere
    wb.save(workbook)
    book = read_pairing_workbook(workbook, Config())
    found = sorted((p.row, p.column, p.severity) for p in book.problems)
    assert found == [(2, "Status", "error"), (3, "Status", "error"), (4, "Status", "error")]
    texts = {p.row: p.problem for p in book.problems}
    assert "not one mentorcli reads for sure" in texts[2]
    assert "either way round" in texts[3]
    assert "gives no date" in texts[4]
    assert all(p.file == str(workbook) and p.sheet == "Pairs" for p in book.problems)
    assert book.ended == []                                     # nothing guessed: everything goes on
    assert [r.id for r in book.relationships()] == ["P001", "P002", "P003"]


def test_the_rows_of_one_relationship_must_agree_on_its_status() -> None:
    """A mentor with two mentees is one relationship on two rows (model.relationships_from_pairs)."""
    pairs = pd.DataFrame({"pair_id": ["P001", "P001", "P002"], "mentee_email": ["a@x.org", "b@x.org", "c@x.org"],
                          "mentor_email": ["m@x.org", "m@x.org", "n@x.org"], "mentee": ["A", "B", "C"],
                          "mentor": ["M", "M", "N"], "score": [50.0] * 3, "why": [""] * 3, "row": [2, 3, 4]})
    same = ending.read_status("Ended: moved", "2026-04-10")
    rest, ended, problems = ending.split_status(pairs, {2: same, 3: same}, "pairs.xlsx", "Pairs")
    assert problems == [] and list(rest["pair_id"]) == ["P002"]
    assert [(e.relationship.id, len(e.relationship.members), e.row) for e in ended] == [("P001", 3, 2)]
    rest, ended, problems = ending.split_status(pairs, {2: same, 3: ending.read_status("Ended: moved", "2026-04-11")},
                                                "pairs.xlsx", "Pairs")
    assert ended == [] and len(rest) == 3
    assert [(p.row, p.column) for p in problems] == [(2, "Status")] and "do not agree" in problems[0].problem
    rest, ended, problems = ending.split_status(pairs, {2: same}, "pairs.xlsx", "Pairs")   # row 3 blank
    assert ended == [] and "do not agree" in problems[0].problem
    rest, ended, problems = ending.split_status(pairs, {2: same, 3: ending.read_status("Paused")}, "pairs.xlsx", "Pairs")
    assert ended == [] and len(rest) == 3                     # a row it cannot read stops the ending
    assert [(p.row, p.column) for p in problems] == [(3, "Status"), (2, "Status")]


@pytest.mark.parametrize("status, day, column, said", [
    ("Ended", "next week", "Ended On", "is not a date"),
    ("Ended", 45000, "Ended On", "is a number, not a date"),
    ("Ended on 2026-02-30", None, "Status", "not a day of the calendar"),
    ("Ended on 2026-04-10", "2026-04-11", "Status", "keep one date"),
    ("", "2026-04-10", "Ended On", "does not say Ended"),
])
def test_each_bad_date_is_reported_by_row_and_column(tmp_path: Path, status, day, column, said) -> None:
    workbook = with_status(write_workbook(tmp_path / "pairs.xlsx"), {"P003": (status, day)})
    book = read_pairing_workbook(workbook, Config())
    (problem,) = book.problems
    assert (problem.sheet, problem.row, problem.column) == ("Pairs", 4, column)
    assert said in problem.problem
    assert book.ended == []


def test_bad_ended_sheet_rows_are_reported_by_row(tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    wb = openpyxl.load_workbook(workbook)
    ws = wb.create_sheet("Ended")
    ws.append(ending.ENDED_HEADERS)
    ws.append(("P009", "Zed", "zed@example.org", "mentor", "2026-04-10", "left"))
    ws.append(("P009", "Yan", "yan@example.org", "boss", "2026-04-10", "left"))      # role
    ws.append(("P008", "Xu", "", "mentee", "2026-04-10", "left"))                   # email
    ws.append(("P009", "Wu", "wu@example.org", "mentee", "2026-04-11", "left"))      # date differs
    wb.save(workbook)
    book = read_pairing_workbook(workbook, Config())
    assert sorted((p.sheet, p.row, p.column) for p in book.problems) == [
        ("Ended", 3, "Role"), ("Ended", 4, "Email"), ("Ended", 5, "Ended On")]
    assert [(e.relationship.id, e.relationship.emails) for e in book.ended] == [("P009", ("zed@example.org",))]


# --------------------------------------------------------------------------- calendars


def ics_instances(path: Path) -> set[int]:
    """RECURRENCE-IDs of a CANCEL file as UNIX seconds, read by icalendar."""
    events = Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    return {int(e.decoded("RECURRENCE-ID").timestamp()) for e in events}


def vobject_cancelled(path: Path) -> tuple[str, set[int], set[str]]:
    """(METHOD, RECURRENCE-IDs in UNIX seconds, attendees) of a CANCEL file, read by vobject with
    the file's own VTIMEZONEs (as ``ics_readers`` does)."""
    cal = vobject.readOne(path.read_text(encoding="utf-8"))
    zones = {str(vtz.tzid.value): vtz.gettzinfo() for vtz in getattr(cal, "vtimezone_list", [])}
    found, people = set(), set()
    for event in cal.vevent_list:
        assert event.status.value == "CANCELLED"
        prop = event.recurrence_id
        tzid = (prop.params.get("X-VOBJ-ORIGINAL-TZID") or prop.params.get("TZID") or [None])[0]
        moment = prop.value.replace(tzinfo=None).replace(tzinfo=zones[tzid])
        found.add(int(moment.timestamp()))
        people |= {str(a.value).lower().removeprefix("mailto:") for a in event.contents.get("attendee", [])}
    return str(cal.method.value), found, people


@pytest.fixture
def scheduled(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """pairs.xlsx scheduled for four months into calendar/; the earlier per-person calendars kept aside."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_1)
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    first = cli("schedule", workbook, *START)
    assert first.exit_code == 0, first.stderr
    (tmp_path / "first").mkdir()
    for path in (tmp_path / "calendar").glob("*.ics"):
        (tmp_path / "first" / path.name).write_bytes(path.read_bytes())
    return workbook, tmp_path / "calendar"


def series_starts(calendar: Path, pair_id: str) -> list[dt.datetime]:
    frame = read_checkins(calendar / "checkins.xlsx")
    return sorted(frame.loc[frame["pair_id"] == pair_id, "start_utc"].drop_duplicates().dt.to_pydatetime())


@pytest.mark.parametrize("shift, cancelled_from", [(-1, 2), (0, 3), (1, 3)])
def test_schedule_after_an_end_cancels_exactly_the_later_check_ins(cli, scheduled, tmp_path, monkeypatch,
                                                                  shift, cancelled_from) -> None:
    """The end date one day before, on, and one day after check-in 3 (its local date in Berlin):
    the day before cancels 3 and 4, on the day or after only 4. Read by icalendar and vobject,
    checked against the instances vobject expands from the series the members were sent."""
    workbook, calendar = scheduled
    starts = series_starts(calendar, "P002")
    assert len(starts) == 4
    third_local = starts[2].astimezone(dt.timezone(dt.timedelta(hours=2))).date()   # Berlin summer time
    end_on = third_local + dt.timedelta(days=shift)
    assert cli("end", workbook, "P002", "--reason", "moved teams", "--on", end_on.isoformat()).exit_code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_2)
    again = cli("schedule", workbook, *START, "--force", "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["changes"]["ended"] == 1
    (cancel,) = (calendar / "changes").glob("cancel-*.ics")
    later = {int(s.timestamp()) for s in starts[cancelled_from:]}
    assert ics_instances(cancel) == later
    method, by_vobject, people = vobject_cancelled(cancel)
    assert (method, by_vobject, people) == ("CANCEL", later, {"kim@example.org", "bo@example.org"})
    kim_file = next((tmp_path / "first").glob("kim-park-*.ics"))
    published = {start for uid, start, _ in vobject_instances(kim_file)}
    assert later <= published                      # each id names an instance the members' series has
    cal = Calendar.from_ical(cancel.read_bytes())
    uids = {str(e["UID"]) for e in cal.walk("VEVENT")}
    state = json.loads((calendar / "calendar-state.json").read_text())["events"]
    assert len(uids) == 1 and state[uids.pop()]["cancelled"] is True
    # the earlier check-ins stay in the sheet, marked ended; the later ones are gone
    sheet = read_checkins(calendar / "checkins.xlsx")
    kept = sheet[sheet["pair_id"] == "P002"]
    assert sorted(kept["start_utc"].dt.to_pydatetime()) == starts[:cancelled_from]
    assert kept["flag"].str.startswith(f"{KEPT_MARK}: relationship ended on {end_on.isoformat()}").all()
    assert "Ended 1 relationship(s) (P002)" in " ".join(again.stderr.split())


def vobject_series(path: Path, uid: str) -> tuple[set[int], dict[int, int]]:
    """The instance ids (RRULE and RDATE, less EXDATE) of series ``uid`` and its overrides (id -> start),
    read by vobject with the file's own VTIMEZONEs."""
    cal = vobject.readOne(path.read_text(encoding="utf-8"))
    zones = {str(vtz.tzid.value): vtz.gettzinfo() for vtz in getattr(cal, "vtimezone_list", [])}

    def unix(moment: dt.datetime, prop) -> int:
        tzid = (prop.params.get("X-VOBJ-ORIGINAL-TZID") or prop.params.get("TZID") or [None])[0]
        return int(moment.replace(tzinfo=None).replace(tzinfo=zones[tzid]).timestamp()) if tzid in zones \
            else int(moment.timestamp())

    ids: set[int] = set()
    moved: dict[int, int] = {}
    for event in cal.vevent_list:
        if event.uid.value != uid:
            continue
        if hasattr(event, "recurrence_id"):
            moved[unix(event.recurrence_id.value, event.recurrence_id)] = unix(event.dtstart.value, event.dtstart)
            continue
        excluded = {unix(v, prop) for prop in event.contents.get("exdate", []) for v in prop.value}
        ids |= {unix(m, event.dtstart) for m in event.getrruleset(addRDate=True)} - excluded
    return ids, moved


def test_a_moved_check_in_is_cancelled_by_the_instance_id_its_series_gave_it(cli, tmp_path, monkeypatch) -> None:
    """A blackout moves P002's 4th check-in off its rule day: the series carries it as an override of
    the rule's instance, so the cancellation must name that instance, not the moved start."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_1)
    june = ", ".join((dt.date(2026, 6, 1) + dt.timedelta(days=d)).isoformat() for d in range(29))
    (tmp_path / "mentor.toml").write_text(f"[schedule]\nblackout = [{june}]\n", encoding="utf-8")   # June 30 left
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    assert cli("schedule", workbook, *START).exit_code == 0
    calendar = tmp_path / "calendar"
    starts = series_starts(calendar, "P002")
    assert starts[3].date() == dt.date(2026, 6, 30)                 # moved there by the blackout
    kim_file = next(calendar.glob("kim-park-*.ics"))
    published = kim_file.read_bytes()
    uid = str(next(e for e in Calendar.from_ical(published).walk("VEVENT"))["UID"])
    assert cli("end", workbook, "P002", "--reason", "moved", "--on", "2026-04-25").exit_code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_2)
    assert cli("schedule", workbook, *START, "--force").exit_code == 0
    (cancel,) = (calendar / "changes").glob("cancel-*.ics")
    (tmp_path / "kim-first.ics").write_bytes(published)
    ids, moved = vobject_series(tmp_path / "kim-first.ics", uid)
    assert moved and set(moved.values()) == {int(starts[3].timestamp())}
    _, cancelled, _ = vobject_cancelled(cancel)
    assert cancelled == ics_instances(cancel) and cancelled <= ids
    remaining = {moved.get(i, i) for i in ids - cancelled}
    assert remaining == {int(s.timestamp()) for s in starts[:2]}    # exactly the two before the end stay


def test_logged_check_ins_of_an_ended_relationship_keep_their_log_over_two_reschedules(cli, scheduled, monkeypatch) -> None:
    workbook, calendar = scheduled
    wb = openpyxl.load_workbook(calendar / "checkins.xlsx")
    ws = wb.active
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "P002" and row[headers.index("Occurrence")].value == 1:
            row[headers.index("Held")].value = "Yes"
            row[headers.index("Notes")].value = "good start"
    wb.save(calendar / "checkins.xlsx")
    assert cli("end", workbook, "P002", "--reason", "moved", "--on", "2026-04-20").exit_code == 0
    for epoch in (EPOCH_2, "1772323200"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        assert cli("schedule", workbook, *START, "--force").exit_code == 0
        sheet = read_checkins(calendar / "checkins.xlsx")
        kept = sheet[sheet["pair_id"] == "P002"].sort_values("start_utc")
        assert len(kept) == 2
        assert kept["held"].tolist() == [True, None] and kept["notes"].tolist()[0] == "good start"
        assert kept["flag"].str.startswith(f"{KEPT_MARK}: relationship ended on 2026-04-20").all()
    assert list((calendar / "changes").glob("cancel-*.ics")) == []      # cancelled once, not again


def test_introduce_updates_sends_the_cancellation_to_the_members_only(cli, scheduled, tmp_path, monkeypatch) -> None:
    workbook, calendar = scheduled
    assert cli("end", workbook, "P002", "--reason", "private: health", "--on", "2026-04-20").exit_code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_2)
    assert cli("schedule", workbook, *START, "--force").exit_code == 0
    result = cli("introduce", workbook, "--calendar", calendar, "--updates", "--out", "outbox", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["cancelled"], answer["updated"], answer["drafts"]) == (1, 0, 1)
    (draft,) = (tmp_path / "outbox").glob("*.eml")
    message = BytesParser(policy=email.policy.default).parsebytes(draft.read_bytes())
    recipients = {a.addr_spec for header in ("To", "Cc", "Bcc") for a in (message[header].addresses if message[header] else ())}
    assert recipients == {"kim@example.org", "bo@example.org"}
    assert message["Subject"].endswith("your remaining check-ins are cancelled")
    text = message.get_body(("plain",)).get_content()
    assert "ended on 2026-04-20" in text and "private" not in text
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    cal = Calendar.from_ical(attachment.get_payload(decode=True))
    assert str(cal["METHOD"]) == "CANCEL" and all("RECURRENCE-ID" in e for e in cal.walk("VEVENT"))


def circle_book(path: Path):
    """The circle workbook read as a reader that knows relationships of several rows gives it: P002 is
    Kim with Bo and Cy (the reader on main renumbers a repeated Pair ID, so it is set back here)."""
    book = read_pairing_workbook(path, Config())
    book.pairs.loc[book.pairs["row"] == 4, "pair_id"] = "P002"
    book.problems = []
    return book


def test_a_circle_ends_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mentor meeting two mentees (one relationship of three) ends as one: three Ended rows, both
    Pairs rows emptied, the later check-ins cancelled for all three, none of them rematched together."""
    from mentorcli.schedule import plan_checkins, publish_schedule

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_1)
    workbook = write_workbook(tmp_path / "pairs.xlsx", circle=True)
    book = circle_book(workbook)
    assert [len(r.members) for r in book.relationships()] == [2, 3, 2]
    calendar = tmp_path / "calendar"
    plan = plan_checkins(book, Config(), start=dt.date(2026, 3, 2), months=4)
    publish_schedule(plan, book, Config(), calendar, force=False)
    result = ending.end_relationship(book, "P002", "mentor left", dt.date(2026, 4, 20))
    assert result.emptied_rows == [3, 4] and result.ended_sheet_rows == [2, 3, 4]
    after = read_pairing_workbook(workbook, Config())
    (ended,) = after.ended
    assert sorted(ended.relationship.emails) == ["bo@example.org", "cy@example.org", "kim@example.org"]
    assert ended.relationship.leads[0].email == "kim@example.org"
    assert [r.id for r in after.relationships()] == ["P001", "P003"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_2)
    plan = plan_checkins(after, Config(), start=dt.date(2026, 3, 2), months=4)
    output = publish_schedule(plan, after, Config(), calendar, force=True)
    assert output.changes.ended == ["P002"]
    (cancel,) = (calendar / "changes").glob("cancel-*.ics")
    _, ids, people = vobject_cancelled(cancel)
    assert people == {"kim@example.org", "bo@example.org", "cy@example.org"} and len(ids) == 2
    assert ics_instances(cancel) == ids
    sheet = read_checkins(calendar / "checkins.xlsx")
    assert len(sheet[sheet["pair_id"] == "P002"]) == 4          # two meetings kept, a row per mentee
    assert sorted(map(frozenset, ending.avoid_pairs(after.ended))) == sorted(map(frozenset, [
        ("kim@example.org", "bo@example.org"), ("kim@example.org", "cy@example.org"), ("bo@example.org", "cy@example.org")]))
    assert ending.left_alone(after) == ["kim@example.org", "bo@example.org", "cy@example.org"]


def test_someone_still_in_another_relationship_is_not_left_alone(tmp_path: Path) -> None:
    """Kim mentors Bo (P002) and Cy (P004, the reader on main gives the repeated id its own number):
    ending P002 leaves Bo alone, not Kim."""
    workbook = write_workbook(tmp_path / "pairs.xlsx", circle=True)
    book = read_pairing_workbook(workbook, Config(), check_rules=False)
    assert [r.id for r in book.relationships()] == ["P001", "P002", "P004", "P003"]
    ending.end_relationship(book, "P002", "moved", dt.date(2026, 4, 20))
    after = read_pairing_workbook(workbook, Config(), check_rules=False)
    assert ending.left_alone(after) == ["bo@example.org"]


# --------------------------------------------------------------------------- rematching

HEADER = "Name,Email,Role,Goals,Expertise,Time zone,Availability,Languages,Capacity\n"


def signups(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def mentor(name: str, goal: str, capacity: int = 1) -> str:
    return f"{name},{name.split()[0].lower()}@example.org,mentor,{goal},{goal},Europe/London,Weekday evenings,English,{capacity}"


def mentee(name: str, goal: str) -> str:
    return f"{name},{name.split()[0].lower()}@example.org,mentee,{goal},,Europe/London,Weekday evenings,English,"


def pairs_of(path: Path) -> set[tuple[str, str]]:
    book = read_pairing_workbook(path, Config())
    return set(zip(book.pairs["mentee_email"], book.pairs["mentor_email"]))


def test_rematch_never_repeats_an_ended_pair_and_places_the_one_left_alone_first(cli, tmp_path: Path) -> None:
    """Ana (Python) lost Sam; Lu (Careers) has one place, which Cy (Careers) fits far better.
    Without priority Ana would stay unmatched; with it she is placed, and never with Sam again."""
    first = signups(tmp_path / "s1.csv", mentor("Sam Lee", "Python"), mentor("Kim Park", "Careers"),
                    mentee("Ana Ruiz", "Python"), mentee("Bo Chen", "Careers"))
    assert cli("match", first, "-o", tmp_path / "m1.xlsx").exit_code == 0
    assert pairs_of(tmp_path / "m1.xlsx") == {("ana@example.org", "sam@example.org"), ("bo@example.org", "kim@example.org")}
    m1 = read_pairing_workbook(tmp_path / "m1.xlsx", Config())
    ana_pair = m1.pairs.loc[m1.pairs["mentee_email"] == "ana@example.org", "pair_id"].item()
    assert cli("end", tmp_path / "m1.xlsx", ana_pair, "--reason", "moved", "--on", "2027-01-10").exit_code == 0
    second = signups(tmp_path / "s2.csv", mentor("Sam Lee", "Python"), mentor("Kim Park", "Careers"),
                     mentor("Lu Wang", "Careers"), mentee("Ana Ruiz", "Python"), mentee("Bo Chen", "Careers"),
                     mentee("Cy Diaz", "Careers"), mentee("Di Fox", "Python"))
    result = cli("match", second, "--keep", tmp_path / "m1.xlsx", "-o", tmp_path / "m2.xlsx")
    assert result.exit_code == 0, result.stderr
    made = pairs_of(tmp_path / "m2.xlsx")
    assert ("ana@example.org", "sam@example.org") not in made
    assert ("bo@example.org", "kim@example.org") in made                 # the active pair is kept
    assert ("ana@example.org", "lu@example.org") in made                 # placed first
    assert ("di@example.org", "sam@example.org") in made
    book = read_pairing_workbook(tmp_path / "m2.xlsx", Config())
    assert [(e.relationship.id, e.reason) for e in book.ended] == [(ana_pair, "moved")]   # history kept
    assert ana_pair not in set(book.pairs["pair_id"])                   # an ended id is never reused
    why = book.pairs.loc[book.pairs["mentee_email"] == "ana@example.org", "why"].item()
    assert why.startswith("The mentee was rematched first")
    # the same cohort without the priority: Cy takes Lu and Ana stays unmatched
    roster = pipeline.check([second]).roster
    keep = [(p, a, b) for p, a, b in zip(m1.pairs["pair_id"], m1.pairs["mentee_email"], m1.pairs["mentor_email"])
            if a != "ana@example.org"]
    avoid = [("ana@example.org", "sam@example.org")]
    emails = roster.people["email"].tolist()
    plain = match_people(roster.people, Config(), keep=keep, avoid_pairs=avoid)
    assert "ana@example.org" not in {emails[i] for i in plain.pairs["mentee"]}
    first_served = match_people(roster.people, Config(), keep=keep, avoid_pairs=avoid, priority=["ana@example.org"])
    assert "ana@example.org" in {emails[i] for i in first_served.pairs["mentee"]}
    assert len(first_served.pairs) == len(plain.pairs)                   # never at the cost of a place


def test_priority_never_costs_a_place(tmp_path: Path) -> None:
    """Two mentees, two mentors: Ana (priority) fits only Lu, whom Cy also fits; Cy also fits Sam.
    The most places (2) come first: Ana-Lu and Cy-Sam, priority or not."""
    people = make_people([
        {"name": "Lu", "email": "lu@example.org", "role": "mentor", "goals": ("Careers",), "expertise": ("Careers",),
         "capacity": 1},
        {"name": "Sam", "email": "sam@example.org", "role": "mentor", "goals": ("Python",), "expertise": ("Python",),
         "capacity": 1},
        {"name": "Ana", "email": "ana@example.org", "role": "mentee", "goals": ("Careers",)},
        {"name": "Cy", "email": "cy@example.org", "role": "mentee", "goals": ("Careers",)},
    ])
    result = match_people(people, Config(), avoid_pairs=[("ana@example.org", "sam@example.org")],
                          priority=["ana@example.org"])
    assert sorted(zip(result.pairs["mentee"], result.pairs["mentor"])) == [(2, 0), (3, 1)]


def test_a_second_rematch_is_warned_on_the_ended_row_and_on_screen(cli, tmp_path: Path) -> None:
    base = [mentor("Sam Lee", "Python"), mentor("Lu Wang", "Python"), mentor("Kim Park", "Python"),
            mentee("Ana Ruiz", "Python")]
    first = signups(tmp_path / "s1.csv", *base[:1], base[3])
    assert cli("match", first, "-o", tmp_path / "m1.xlsx").exit_code == 0
    assert cli("end", tmp_path / "m1.xlsx", "P001", "--reason", "moved", "--on", "2027-01-10").exit_code == 0
    second = signups(tmp_path / "s2.csv", *base[:2], base[3])
    once = cli("match", second, "--keep", tmp_path / "m1.xlsx", "-o", tmp_path / "m2.xlsx")
    assert once.exit_code == 0 and "Rematch warning" not in once.stderr       # one ending: no warning
    assert pairs_of(tmp_path / "m2.xlsx") == {("ana@example.org", "lu@example.org")}
    assert not [row for row in sheet_values(tmp_path / "m2.xlsx", "Problems") if row[1] == "Ended"]
    assert cli("end", tmp_path / "m2.xlsx", "P002", "--reason", "no time", "--on", "2027-03-01").exit_code == 0
    third = signups(tmp_path / "s3.csv", *base)
    twice = cli("match", third, "--keep", tmp_path / "m2.xlsx", "-o", tmp_path / "m3.xlsx")
    assert twice.exit_code == 0, twice.stderr
    assert pairs_of(tmp_path / "m3.xlsx") == {("ana@example.org", "kim@example.org")}
    ended = sheet_values(tmp_path / "m3.xlsx", "Ended")
    assert [row[0] for row in ended] == ["Pair ID", "P001", "P001", "P002", "P002"]
    warned = [row for row in sheet_values(tmp_path / "m3.xlsx", "Problems") if row[1] == "Ended"]
    assert len(warned) == 1
    _file, sheet, row, column, severity, text = warned[0]
    assert (sheet, row, column, severity) == ("Ended", 5, "Email", "warning")
    assert ended[row - 1][2] == "ana@example.org"
    assert "rematched a second time in P003" in text and "P001, P002" in text and "ana" not in text
    assert "Rematch warning" in twice.stderr and "row 5" in twice.stderr


# --------------------------------------------------------------------------- report


def test_report_shows_an_ended_relationship_as_ended_counted_up_to_its_end(cli, scheduled, tmp_path, monkeypatch) -> None:
    workbook, calendar = scheduled
    (tmp_path / "mentor.toml").write_text('[cohort]\nsponsor_emails = ["boss@example.org"]\n', encoding="utf-8")
    assert cli("end", workbook, "P002", "--reason", "private: health", "--on", "2026-04-20").exit_code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_2)
    assert cli("schedule", workbook, *START, "--force").exit_code == 0
    wb = openpyxl.load_workbook(calendar / "checkins.xlsx")
    ws = wb.active
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "P002":
            row[headers.index("Held")].value = "Yes"
            row[headers.index("Rating")].value = 4
    wb.save(calendar / "checkins.xlsx")
    result = cli("report", workbook, calendar / "checkins.xlsx", "--as-of", "2026-07-01", "--out", "reports", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ended"] == [{"pair_id": "P002", "ended_on": "2026-04-20", "reason": "private: health",
                                "scheduled_to_end": 2, "held": 2}]
    assert "P002" not in {r["pair_id"] for r in answer["at_risk"]}
    assert answer["totals"]["ended"] == 1 and answer["totals"]["pairs"] == 2
    assert not [p for p in answer["problems"] if "no longer in the pairing workbook" in p["problem"]]
    coordinator = openpyxl.load_workbook(tmp_path / "reports" / "cohort.xlsx")
    assert [tuple(r)[:5] for r in coordinator["Ended"].iter_rows(values_only=True)][1] == (
        "P002", "Bo Chen", "Kim Park", "2026-04-20", "private: health")
    sponsor = next((tmp_path / "reports" / "outbox").glob("sponsor*.eml")).read_bytes()
    message = BytesParser(policy=email.policy.default).parsebytes(sponsor)
    text = message.get_body(("plain",)).get_content()
    assert "Relationships ended early: 1" in text
    assert "private" not in sponsor.decode("utf-8", "replace") and "health" not in text
    assert not list((tmp_path / "reports" / "outbox").glob("progress-*bo-example*"))


def test_a_log_after_the_end_date_is_not_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mentorcli.report import build_report, read_checkin_logs, read_schedule

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_1)
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    pipeline.schedule(workbook, start=dt.date(2026, 3, 2), months=4)
    sheet = tmp_path / "calendar" / "checkins.xlsx"
    wb = openpyxl.load_workbook(sheet)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "P002":
            row[headers.index("Held")].value = "Yes"
    wb.save(sheet)
    pipeline.end(workbook, "P002", reason="moved", on=dt.date(2026, 4, 14))    # the day of check-in 2: it counts
    book = read_pairing_workbook(workbook, Config())
    schedule = read_schedule([sheet])       # the sheet before the reschedule: all four still there, all held
    logs, problems = read_checkin_logs([sheet], book, Config(), schedule=schedule)
    report = build_report(book, schedule, logs, Config(), as_of=dt.date(2026, 7, 1), problems=problems)
    row = report.ended.iloc[0]
    assert (row["pair_id"], int(row["held"]), int(row["scheduled_to_end"])) == ("P002", 2, 2)
    assert pd.Timestamp(row["last_checkin"]).date() == dt.date(2026, 4, 14)   # the held ones after it do not count
    assert "P002" not in set(report.status["pair_id"])
    assert not [p for p in report.problems if p.severity == "error"]


def test_end_through_python(tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    result = pipeline.end(workbook, "P003", reason="goals met", on=dt.date(2026, 5, 1))
    assert result.as_json()["ended"] == "P003"
    with pytest.raises(MentorError):
        pipeline.end(workbook, "P003", reason="again")
    assert zipfile.is_zipfile(io.BytesIO(workbook.read_bytes()))


def test_report_json_lists_the_workbooks_own_problems_by_row(cli, scheduled, tmp_path) -> None:
    """A Status the reader cannot read is printed on screen by row; ``--json`` carries it too, and
    the screen counts it (before, the summary said "Problems 0" right under the error lines)."""
    workbook, calendar = scheduled
    wb = openpyxl.load_workbook(workbook)
    ws = wb["Pairs"]
    ws.cell(1, ws.max_column + 1, "Status")
    ws.cell(3, ws.max_column, "Endd")
    wb.save(workbook)
    result = cli("report", workbook, calendar / "checkins.xlsx", "--as-of", "2026-07-01", "--out", "reports", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert [(p["sheet"], p["row"], p["column"], p["severity"]) for p in answer["workbook_problems"]] == [
        ("Pairs", 3, "Status", "error")]
    assert "Workbook problems" in result.stderr and "Endd" not in result.stderr


@pytest.mark.parametrize("text", ["Zoë\ufffe", "Ana\uffff Lee", "Bo\ud800", "=HYPERLINK(\"x\")<b>&", "tab\there\x01"])
def test_an_ended_sheet_row_is_well_formed_xml_text_whatever_a_cell_held(text: str) -> None:
    """The Ended sheet is written as XML by hand: a character XML 1.0 forbids would make the whole
    workbook unreadable, and a formula-looking name must stay an inline string, never ``<f>``."""
    row = ending._row_xml(2, [text, "x@example.org"])
    cell = ElementTree.fromstring(b'<row xmlns="">' + row[row.index(b"<c "):row.rindex(b"</row>")] + b"</row>")
    assert b"<f>" not in row and all(c.get("t") == "inlineStr" for c in cell)

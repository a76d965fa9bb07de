"""``mentor schedule`` from the command line, on a real pairing workbook written by the workbook stage."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from icalendar import Calendar

from mentorcli.config import Config
from mentorcli.model import MatchResult, Roster, make_people
from mentorcli.workbook import write_pairing_workbook


def write_workbook(path: Path) -> Path:
    people = make_people([
        {"name": "Sam Lee", "email": "sam@example.org", "role": "mentor", "timezone": "Europe/London",
         "availability": ("Weekday evenings",), "languages": ("English",), "source_row": 2},
        {"name": "Ana Ruiz", "email": "ana@example.org", "role": "mentee", "timezone": "America/New_York",
         "availability": ("Weekday lunchtimes",), "languages": ("English",), "source_row": 3},
        {"name": "Bo Chen", "email": "bo@example.org", "role": "mentee", "timezone": "Asia/Kolkata",
         "availability": ("Weekday evenings", "Weekends"), "languages": ("English",), "source_row": 4},
    ])
    result = MatchResult(
        pairs=pd.DataFrame({"pair_id": ["P001", "P002"], "mentee": [1, 2], "mentor": [0, 0], "score": [70.0, 60.0],
                            "requested": [False, False], "kept": [False, False], "why": ["Python.", "Careers."]}),
        unmatched=pd.DataFrame({"person": pd.Series(dtype=int), "role": pd.Series(dtype=str),
                                "reason": pd.Series(dtype=str)}),
        mentors=pd.DataFrame({"person": [0], "capacity": [2], "assigned": [2]}),
    )
    return write_pairing_workbook(path, Roster(people=people), result, Config(), force=False)


@pytest.fixture
def workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_workbook(tmp_path / "pairs.xlsx")


def test_schedule_writes_calendars_and_sheet_and_prints_a_summary(cli, workbook: Path, tmp_path: Path) -> None:
    result = cli("schedule", workbook, "--start", "2026-03-02", "--months", "3", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["pairs_scheduled"] == 2 and summary["checkins"] == 6 and summary["months"] == 3
    assert summary["start"] == "2026-03-02" and summary["problems"] == []
    out = tmp_path / "calendar"
    assert sorted(Path(f).name for f in summary["files"]) == sorted(p.name for p in out.iterdir())
    assert len(list(out.glob("*.ics"))) == 4                 # three people + cohort.ics
    for path in out.glob("*.ics"):
        assert Calendar.from_ical(path.read_bytes())["METHOD"] == "PUBLISH"
    sheet = openpyxl.load_workbook(out / "checkins.xlsx")["Check-ins"]
    assert sheet.max_row == 7
    assert "Check-ins" in result.stderr and "6" in result.stderr
    assert "ana@example.org" not in result.stderr           # logs carry counts, not personal data


def test_schedule_refuses_to_overwrite_without_force(cli, workbook: Path, tmp_path: Path) -> None:
    assert cli("schedule", workbook, "--start", "2026-03-02", "--months", "1").exit_code == 0
    again = cli("schedule", workbook, "--start", "2026-03-02", "--months", "1")
    assert again.exit_code == 1 and "already exists" in again.stderr and "--force" in again.stderr
    forced = cli("schedule", workbook, "--start", "2026-03-02", "--months", "1", "--force")
    assert forced.exit_code == 0
    assert (tmp_path / "calendar" / "checkins.bak.xlsx").exists()


def test_schedule_command_line_errors(cli, workbook: Path, tmp_path: Path) -> None:
    wrong_date = cli("schedule", workbook, "--start", "02/03/2026")
    assert wrong_date.exit_code == 2 and "YYYY-MM-DD" in wrong_date.stderr
    assert cli("schedule", workbook, "--months", "0").exit_code == 2
    missing = cli("schedule", tmp_path / "nope.xlsx", "--start", "2026-03-02")
    assert missing.exit_code == 1 and "Traceback" not in missing.stderr and "nope.xlsx" in missing.stderr
    (tmp_path / "mentor.toml").write_text('[schedule]\nweekdays = ["Someday"]\n', encoding="utf-8")
    bad_config = cli("schedule", workbook, "--start", "2026-03-02")
    assert bad_config.exit_code == 1 and "schedule.weekdays" in bad_config.stderr


def test_schedule_help_has_an_example(cli) -> None:
    result = cli("schedule", "--help")
    assert result.exit_code == 0 and "Example: mentor schedule" in result.stdout


def sheet_rows(path: Path) -> tuple[list[str], list[dict]]:
    sheet = openpyxl.load_workbook(path)["Check-ins"]
    header = [c.value for c in sheet[1]]
    return header, [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]


def find_row(sheet, pair_id: str, occurrence: int) -> int:
    header = [c.value for c in sheet[1]]
    for number, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        if row[header.index("Pair ID")] == pair_id and row[header.index("Occurrence")] == occurrence:
            return number
    raise AssertionError((pair_id, occurrence))


def series_of(path: Path, uid: str) -> list:
    return [e for e in Calendar.from_ical(path.read_bytes()).walk("VEVENT") if str(e["UID"]) == uid]


def test_reschedule_after_a_hand_edit_keeps_every_log_and_updates_or_cancels_only_what_changed(
        cli, workbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")            # 2026-01-01
    first = cli("schedule", workbook, "--start", "2026-03-02", "--months", "3", "--json")
    assert first.exit_code == 0, first.stderr
    out = tmp_path / "calendar"
    bo_file = next(out.glob("bo-chen-*.ics"))
    sam_file = next(out.glob("sam-lee-*.ics"))
    uids = {str(e["UID"]) for e in Calendar.from_ical(bo_file.read_bytes()).walk("VEVENT")}
    (p002_uid,) = uids

    # the coordinator logs check-ins and adds a column of their own ...
    book = openpyxl.load_workbook(out / "checkins.xlsx")
    ws = book["Check-ins"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in header}
    logged = find_row(ws, "P001", 1)
    for name, value in (("Held", "Yes"), ("Date Held", dt.datetime(2026, 3, 11)), ("Rating", 4),
                        ("Goal Progress", "On track"), ("Notes", "PRIVATE talked about a job change")):
        ws.cell(logged, col[name], value)
    ws.cell(1, len(header) + 1, "Coordinator comment")
    moved_row = find_row(ws, "P001", 2)
    ws.cell(moved_row, len(header) + 1, "call back")
    ws.cell(find_row(ws, "P001", 3), len(header) + 1, "kept as is")
    ws.cell(find_row(ws, "P002", 1), col["Held"], "Yes")
    moved_start = ws.cell(moved_row, col["Start (UTC)"]).value
    book.save(out / "checkins.xlsx")
    # ... removes pair P002 from the workbook by hand, and blacks out the day of P001's 2nd check-in
    pairs_book = openpyxl.load_workbook(workbook)
    pairs_sheet = pairs_book["Pairs"]
    pairs_sheet.delete_rows(next(r for r in range(2, pairs_sheet.max_row + 1) if pairs_sheet.cell(r, 1).value == "P002"))
    pairs_book.save(workbook)
    (tmp_path / "mentor.toml").write_text(f"[schedule]\nblackout = [{moved_start.date().isoformat()}]\n", encoding="utf-8")

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1769904000")            # 2026-02-01
    again = cli("schedule", workbook, "--start", "2026-03-02", "--months", "3", "--force", "--json")
    assert again.exit_code == 0, again.stderr
    screen = " ".join(again.stderr.split())
    assert "Carried over from the earlier checkins.xlsx: the log of 2 check-in(s)" in screen
    assert "Held, Date Held, Rating, Goal Progress, Notes, Coordinator comment" in screen
    assert "Kept 1 logged check-in(s) that moved and 1 no longer scheduled" in screen
    assert "Cancelled 1 dropped series (P002)" in screen and "Updated 1 pair(s) (P001)" in screen
    assert "Removed 1 calendar file(s)" in screen
    summary = json.loads(again.stdout)
    assert summary["carried_over"]["checkins_with_log"] == 2 and summary["changes"]["cancelled"] == 1

    header, rows = sheet_rows(out / "checkins.xlsx")
    assert header[-1] == "Coordinator comment"
    by_key = {(r["Pair ID"], r["Occurrence"], (r["Flag"] or "").startswith("kept")): r for r in rows}
    kept_log = by_key[("P001", 1, False)]
    assert (kept_log["Held"], kept_log["Date Held"], kept_log["Rating"], kept_log["Goal Progress"]) == (
        "Yes", dt.datetime(2026, 3, 11), 4, "On track")
    assert kept_log["Notes"] == "PRIVATE talked about a job change"
    assert by_key[("P001", 3, False)]["Coordinator comment"] == "kept as is"
    new_second = by_key[("P001", 2, False)]
    assert new_second["Start (UTC)"] != moved_start and new_second["Coordinator comment"] is None
    old_second = by_key[("P001", 2, True)]
    assert old_second["Start (UTC)"] == moved_start and old_second["Coordinator comment"] == "call back"
    assert "moved to" in old_second["Flag"]
    dropped = by_key[("P002", 1, True)]
    assert dropped["Held"] == "Yes" and "no longer scheduled" in dropped["Flag"]
    assert not any(r["Pair ID"] == "P002" and not (r["Flag"] or "").startswith("kept") for r in rows)
    assert (out / "checkins.bak.xlsx").exists()

    # Bo is no longer paired: their calendar is gone, and the pair's people get a cancellation
    assert not bo_file.exists()
    (cancel,) = (out / "changes").glob("cancel-*.ics")
    cal = Calendar.from_ical(cancel.read_bytes())
    assert cal["METHOD"] == "CANCEL"
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == p002_uid and event.decoded("SEQUENCE") == 1 and str(event["STATUS"]) == "CANCELLED"
    assert sorted(str(a) for a in event["ATTENDEE"]) == ["mailto:bo@example.org", "mailto:sam@example.org"]
    # P001 moved: same UID, next SEQUENCE, stamped now; its update goes to that pair only
    (update,) = (out / "changes").glob("update-*.ics")
    request = Calendar.from_ical(update.read_bytes())
    assert request["METHOD"] == "REQUEST"
    p001 = {str(e["UID"]) for e in request.walk("VEVENT")}
    assert len(p001) == 1 and p001 <= {str(e["UID"]) for e in Calendar.from_ical(sam_file.read_bytes()).walk("VEVENT")}
    for event in series_of(sam_file, next(iter(p001))):
        assert event.decoded("SEQUENCE") == 1 and event.decoded("DTSTAMP") == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)

    # a third run with nothing changed: byte-identical calendars, no updates or cancellations
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("*.ics")}
    sheet_before = sheet_rows(out / "checkins.xlsx")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1772323200")            # 2026-03-01
    third = cli("schedule", workbook, "--start", "2026-03-02", "--months", "3", "--force")
    assert third.exit_code == 0, third.stderr
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("*.ics")} == before  # not even rewritten
    assert list((out / "changes").glob("*.ics")) == []
    assert sheet_rows(out / "checkins.xlsx") == sheet_before          # kept rows are not kept twice


def test_a_weekly_programme_is_weekly_in_the_calendar_and_the_introduction(cli, workbook: Path, tmp_path: Path) -> None:
    (tmp_path / "mentor.toml").write_text('[schedule]\ncadence = "weekly"\n', encoding="utf-8")
    result = cli("schedule", workbook, "--start", "2026-03-02", "--months", "1", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["checkins"] == 2 * 4                       # four whole weeks in March from Monday the 2nd
    sam = Calendar.from_ical(next((tmp_path / "calendar").glob("sam-lee-*.ics")).read_bytes())
    assert {e["RRULE"]["FREQ"][0] for e in sam.walk("VEVENT") if "RRULE" in e} == {"WEEKLY"}
    intro = cli("introduce", workbook, "--calendar", "calendar", "--out", "outbox")
    assert intro.exit_code == 0, intro.stderr
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(next((tmp_path / "outbox").glob("*.eml")).read_bytes())
    text = " ".join(message.get_body(("plain",)).get_content().split())
    assert "Your 4 weekly check-ins" in text and "monthly" not in text

"""Issue 17 for circles (issue 16): ``mentor end`` on a circles workbook, its Ended sheet read back,
the Status column on the Circles sheet, and ``match --circles N --history DIR``.

Every workbook here is a real one: ``mentor match examples/signups.xlsx --circles 4`` run as a real
process; calendars are parsed back with icalendar.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from icalendar import Calendar

from mentorcli.config import load_config
from mentorcli.history import shared_pairs
from mentorcli.model import PairingBook
from mentorcli.schedule import read_checkins
from mentorcli.workbook import read_pairing_workbook
from tests.conftest import EXAMPLES, ROOT

EPOCH = "1798761600"          # 2027-01-01
START = "2027-01-04"


def mentor(folder: Path, *args: object, code: int = 0, epoch: str = EPOCH) -> subprocess.CompletedProcess[str]:
    """``mentor ARGS`` as a real process in ``folder``; it must exit ``code``, never with a traceback."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "mentorcli", *map(str, args)], check=False, cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == code, (args, done.stderr)
    assert "Traceback" not in done.stderr and "please report" not in done.stderr
    return done


def mentor_json(folder: Path, *args: object, code: int = 0, epoch: str = EPOCH) -> dict:
    return json.loads(mentor(folder, *args, "--json", code=code, epoch=epoch).stdout)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real circles workbook (and its signups, config), copied by each test."""
    folder = tmp_path_factory.mktemp("made")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    mentor_json(folder, "match", "signups.xlsx", "--circles", 4, "-o", "circles.xlsx")
    return folder


@pytest.fixture
def folder(made: Path, tmp_path: Path) -> Path:
    for name in ("signups.xlsx", "mentor.toml", "circles.xlsx"):
        shutil.copy(made / name, tmp_path / name)
    return tmp_path


def book_of(folder: Path, name: str = "circles.xlsx") -> PairingBook:
    return read_pairing_workbook(folder / name, load_config(EXAMPLES / "mentor.toml"))


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def circle_rows(path: Path, circle: str) -> list[int]:
    sheet = openpyxl.load_workbook(path)["Circles"]
    return [row[0].row for row in sheet.iter_rows(min_row=2) if row[0].value == circle]


# --------------------------------------------------------------------------- mentor end on circles


def test_end_empties_the_circles_rows_in_place_and_writes_one_ended_row_per_member(folder: Path) -> None:
    path = folder / "circles.xlsx"
    before_book = book_of(folder)
    circle = before_book.relationships()[2]
    rows = circle_rows(path, circle.id)
    before = parts(path)
    answer = mentor_json(folder, "end", "circles.xlsx", circle.id, "--reason", "moved teams", "--on", "2027-02-01")
    assert answer["ended"] == circle.id and answer["members"] == len(circle.members) >= 3
    assert answer["pairs_rows_emptied"] == rows            # the lead's row and each member's
    after = parts(path)
    changed = {name for name in before if before[name] != after[name]}
    assert openpyxl.load_workbook(path).sheetnames[0] == "Circles"   # its part is sheet1.xml
    assert changed == {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/worksheets/sheet1.xml"}
    assert set(after) - set(before) == {f"xl/worksheets/sheet{len([n for n in before if n.startswith('xl/worksheets/sheet')]) + 1}.xml"}
    sheet = openpyxl.load_workbook(path)["Circles"]
    assert all(cell.value is None for r in rows for cell in sheet[r])
    assert sheet.max_row == openpyxl.load_workbook(folder / "circles.bak.xlsx")["Circles"].max_row  # no row moved
    ended = [r for r in openpyxl.load_workbook(path)["Ended"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in ended] == [
        (circle.id, m.email, m.role, "2027-02-01", "moved teams") for m in circle.members]
    assert [r[3] for r in ended] == ["mentor", *["mentee"] * (len(circle.members) - 1)]
    after_book = book_of(folder)
    assert circle.id not in {r.id for r in after_book.relationships()}
    assert len(after_book.relationships()) == len(before_book.relationships()) - 1
    (ending,) = after_book.ended
    assert (ending.relationship.id, ending.ended_on, ending.reason) == (circle.id, dt.date(2027, 2, 1), "moved teams")
    assert set(ending.relationship.emails) == set(circle.emails)
    # nobody of the ended circle is reported as "in no circle": the workbook reads as cleanly as before
    assert [p.problem for p in after_book.problems] == [p.problem for p in before_book.problems]


def test_a_second_end_of_the_same_circle_is_refused_in_one_line(folder: Path) -> None:
    circle = book_of(folder).relationships()[0].id
    mentor(folder, "end", "circles.xlsx", circle, "--reason", "done", "--on", "2027-02-01")
    again = mentor(folder, "end", "circles.xlsx", circle, "--reason", "again", code=1)
    assert f"{circle} already ended on 2027-02-01" in again.stderr
    unknown = mentor(folder, "end", "circles.xlsx", "C999", "--reason", "x", code=1)
    assert "no relationship 'C999' in the Circles sheet" in unknown.stderr


def test_schedule_cancels_exactly_the_ended_circles_later_check_ins_and_report_shows_it(folder: Path) -> None:
    mentor_json(folder, "schedule", "circles.xlsx", "--start", START, "--months", 3, "--out", "calendar")
    circle = book_of(folder).relationships()[1]
    frame = read_checkins(folder / "calendar" / "checkins.xlsx")
    starts = sorted(frame.loc[frame["pair_id"] == circle.id, "start_utc"].drop_duplicates().dt.to_pydatetime())
    assert len(starts) >= 3
    # two days before check-in 2 (UTC date; its local date is within a day of it) and weeks after check-in 1
    end_on = starts[1].date() - dt.timedelta(days=2)
    assert starts[0].date() < end_on
    mentor(folder, "end", "circles.xlsx", circle.id, "--reason", "moved teams", "--on", end_on.isoformat())
    again = mentor_json(folder, "schedule", "circles.xlsx", "--start", START, "--months", 3, "--out", "calendar",
                        "--force", epoch="1801440000")
    assert again["changes"]["ended"] == 1
    (cancel,) = (folder / "calendar" / "changes").glob("cancel-*.ics")
    calendar = Calendar.from_ical(cancel.read_bytes())
    assert str(calendar["METHOD"]) == "CANCEL"
    events = calendar.walk("VEVENT")
    assert {int(e.decoded("RECURRENCE-ID").timestamp()) for e in events} == {int(s.timestamp()) for s in starts[1:]}
    attendees = {str(a).lower().removeprefix("mailto:") for e in events for a in e.get("ATTENDEE", [])}
    assert attendees == set(circle.emails)
    report = mentor_json(folder, "report", "circles.xlsx", "calendar/checkins.xlsx", "--as-of", "2027-03-20",
                         "--out", "reports")
    assert [e["pair_id"] for e in report["ended"]] == [circle.id]
    assert report["totals"]["ended"] == 1
    assert circle.id not in {r["pair_id"] for r in report["at_risk"]}


def write_status(path: Path, values: dict[int, str]) -> None:
    """A Status column typed into the Circles sheet by the coordinator (openpyxl, as Excel would save it)."""
    book = openpyxl.load_workbook(path)
    sheet = book["Circles"]
    column = sheet.max_column + 1
    sheet.cell(1, column, "Status")
    for row, value in values.items():
        sheet.cell(row, column, value)
    book.save(path)


def test_ended_on_the_lead_row_of_the_circles_sheet_ends_the_whole_circle(folder: Path) -> None:
    circle = book_of(folder).relationships()[3]
    rows = circle_rows(folder / "circles.xlsx", circle.id)
    write_status(folder / "circles.xlsx", {rows[0]: "Ended on 2027-02-01: moved teams"})
    book = book_of(folder)
    assert circle.id not in {r.id for r in book.relationships()}
    (ending,) = book.ended
    assert (ending.relationship.id, ending.ended_on, ending.reason) == (circle.id, dt.date(2027, 2, 1), "moved teams")
    assert set(ending.relationship.emails) == set(circle.emails)
    assert not [p for p in book.problems if "in no circle" in p.problem]


def test_a_circle_whose_rows_disagree_goes_on_and_is_reported_on_its_row(folder: Path) -> None:
    circle = book_of(folder).relationships()[3]
    rows = circle_rows(folder / "circles.xlsx", circle.id)
    write_status(folder / "circles.xlsx", {rows[0]: "Ended on 2027-02-01", rows[1]: "Ended on 2027-02-02",
                                           rows[2]: "maybe"})
    book = book_of(folder)
    assert circle.id in {r.id for r in book.relationships()} and book.ended == []
    status = [(p.row, p.severity) for p in book.problems if p.column == "Status"]
    assert (rows[2], "error") in status and (rows[1], "error") in status


# --------------------------------------------------------------------------- match --circles --history


def test_circles_never_put_together_two_people_of_an_earlier_cohorts_relationship(folder: Path) -> None:
    """An earlier cohort of pairs and one of peer circles: no two people of either share a circle now."""
    (folder / "history").mkdir()
    mentor_json(folder, "match", "signups.xlsx", "-o", "history/pairs.xlsx", epoch="1767225600")
    mentor_json(folder, "match", "signups.xlsx", "--peer-circles", 5, "-o", "history/circles-2026.xlsx",
                epoch="1767225600")
    earlier = {pair for name in ("pairs.xlsx", "circles-2026.xlsx")
               for pair in shared_pairs(book_of(folder / "history", name).relationships())}
    without = set(shared_pairs(book_of(folder).relationships()))
    assert without & earlier           # the best circles would repeat earlier pairs: the rule bites
    answer = mentor_json(folder, "match", "signups.xlsx", "--circles", 4, "--history", "history", "-o", "new.xlsx")
    assert answer["history"]["earlier_pairs_avoided"] == len(earlier) > 0
    together = set(shared_pairs(book_of(folder, "new.xlsx").relationships()))
    assert len(together) > 100
    assert not together & earlier
    people = openpyxl.load_workbook(folder / "new.xlsx")["People"]
    headers = [c.value for c in people[1]]
    marked = [r[headers.index("Earlier Cohorts")] for r in people.iter_rows(min_row=2, values_only=True)]
    assert len(marked) == 150 and all(marked)     # everyone signed up to the earlier cohorts
    assert any("circles-2026: peer" in str(v) for v in marked)


def test_peer_circles_never_form_an_earlier_peer_circle_again(folder: Path) -> None:
    """The example has one peer circle to form (three peers); once it is history, it is not formed again."""
    (folder / "history").mkdir()
    mentor_json(folder, "match", "signups.xlsx", "--peer-circles", 5, "-o", "history/circles-2026.xlsx",
                epoch="1767225600")
    (earlier,) = book_of(folder / "history", "circles-2026.xlsx").relationships()
    answer = mentor_json(folder, "match", "signups.xlsx", "--peer-circles", 5, "--history", "history", "-o", "new.xlsx")
    assert answer["history"]["earlier_pairs_avoided"] == 3
    assert answer["circles"] == 0
    unmatched = {r[1] for r in openpyxl.load_workbook(folder / "new.xlsx")["Unmatched"].iter_rows(min_row=2, values_only=True)}
    assert set(earlier.emails) <= {str(e).lower() for e in unmatched}


# --------------------------------------------------------------------------- match --circles --keep


@pytest.mark.parametrize("option, size", [("--circles", 4), ("--peer-circles", 5)])
def test_keep_with_the_other_kind_of_circles_is_refused_in_one_line(folder: Path, option, size) -> None:
    """--keep with circles is built (tests/test_circle_keep.py); keeping mentor-led circles as
    peer circles is refused in one line, never silently re-formed."""
    done = mentor(folder, "match", "signups.xlsx", option, size, "--keep", "circles.xlsx", "-o", "new.xlsx",
                  code=0 if option == "--circles" else 1)
    if option == "--peer-circles":
        assert "holds mentor-led circles" in done.stderr
        assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 2
        assert not (folder / "new.xlsx").exists()
    else:
        def circles(name: str) -> list[tuple[str, tuple[str, ...]]]:
            return [(c.id, c.emails) for c in book_of(folder, name).relationships()]

        assert circles("new.xlsx") == circles("circles.xlsx")

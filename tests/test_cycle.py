"""The README's walk through a whole cohort, as a coordinator runs it, on the bundled example.

match -> schedule -> introduce -> fill in some check-ins -> report -> send (dry run, then for
real to an SMTP server on 127.0.0.1). Each stage reads only what the one before wrote.
"""

from __future__ import annotations

import datetime as dt
import shutil
from email import policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest

from mentorcli.schedule import participant_file_name, read_checkins, series_uid
from tests.conftest import EXAMPLES
from tests.ics_readers import (
    icaljs_instances,
    icaljs_module,
    libical_available,
    libical_instances,
    vobject_instances,
)

START = "2027-01-04"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cohort folder holding a copy of the example signups and its mentor.toml."""
    folder = tmp_path_factory.mktemp("cohort")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    return folder


def run(cli, folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(folder)
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def fill_in_checkins(sheet: Path, held_rows: dict[int, int]) -> int:
    """Log check-ins as a coordinator would in the spreadsheet: Held, Date Held, Rating, Notes."""
    book = openpyxl.load_workbook(sheet)
    ws = book["Check-ins"]
    header = [cell.value for cell in ws[1]]
    col = {name: header.index(name) + 1 for name in ("Held", "Date Held", "Rating", "Notes", "Start (UTC)")}
    for row, rating in held_rows.items():
        ws.cell(row, col["Held"], "Yes")
        start = ws.cell(row, col["Start (UTC)"]).value
        day = start.date() if isinstance(start, dt.datetime) else dt.date.fromisoformat(str(start)[:10])
        ws.cell(row, col["Date Held"], day)
        ws.cell(row, col["Rating"], rating)
        ws.cell(row, col["Notes"], "PRIVATE-NOTE-MARKER talked about a job change")
    book.save(sheet)
    return len(held_rows)


def sheet_instants(checkins) -> dict[str, list[int]]:
    """Each person's check-in starts as checkins.xlsx has them (UNIX seconds)."""
    out: dict[str, list[int]] = {}
    for row in checkins.to_dict("records"):
        for role in ("mentee", "mentor"):
            out.setdefault(row[f"{role}_email"], []).append(int(row["start_utc"].timestamp()))
    return {email: sorted(starts) for email, starts in out.items()}


def assert_parsers_agree_with_the_sheet(calendars: list[Path], checkins) -> None:
    """vobject, ical.js and libical (where installed) read every person's check-ins at the sheet's instants."""
    expected = sheet_instants(checkins)
    people = {participant_file_name(name, email): email
              for name, email in zip(checkins["mentee"], checkins["mentee_email"])}
    people.update({participant_file_name(name, email): email
                   for name, email in zip(checkins["mentor"], checkins["mentor_email"])})
    files = [p for p in calendars if p.name in people]
    assert len(files) == len(expected)
    readers = {"vobject": {p: vobject_instances(p) for p in files}}
    if icaljs_module() is not None:
        readers["ical.js"] = icaljs_instances(files)
    if libical_available():
        readers["libical"] = libical_instances(files)
    series = {series_uid(p, a, b) for p, a, b in zip(checkins["pair_id"], checkins["mentee_email"], checkins["mentor_email"])}
    for reader, found in readers.items():
        for path in files:
            starts = sorted(start for uid, start, _ in found[path] if uid in series)
            assert starts == expected[people[path.name]], (reader, path.name)


def assert_an_accepted_introduction_holds_every_checkin(intros: list[Path], checkins, folder: Path) -> None:
    """The invitation attached to each introduction expands to exactly that pair's check-ins."""
    folder.mkdir()
    invites = []
    for path in intros:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        (attachment,) = list(message.iter_attachments())
        invite = folder / f"{path.stem}.ics"
        invite.write_bytes(attachment.get_content().encode("utf-8"))
        invites.append(invite)
    by_pair = {str(pair).lower(): sorted(int(t.timestamp()) for t in rows["start_utc"]) for pair, rows in checkins.groupby("pair_id")}
    found = icaljs_instances(invites) if icaljs_module() is not None else {p: vobject_instances(p) for p in invites}
    for invite in invites:
        pair_id = invite.stem.removeprefix("intro-").lower()
        assert len({uid for uid, _, _ in found[invite]}) == 1, invite.name
        assert sorted(start for _, start, _ in found[invite]) == by_pair[pair_id], invite.name


def test_whole_cycle_on_the_example(cli, cohort: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    matched = run(cli, cohort, monkeypatch, "match", "signups.xlsx", "-o", "pairs.xlsx", "--json")
    assert '"pairs"' in matched.stdout

    run(cli, cohort, monkeypatch, "schedule", "pairs.xlsx", "--start", START, "--months", "24", "--out", "calendar")
    calendars = sorted((cohort / "calendar").glob("*.ics"))
    assert (cohort / "calendar" / "cohort.ics").exists() and len(calendars) > 100
    checkins = read_checkins(cohort / "calendar" / "checkins.xlsx")
    assert_parsers_agree_with_the_sheet(calendars, checkins)

    run(cli, cohort, monkeypatch, "introduce", "pairs.xlsx", "--calendar", "calendar", "--out", "outbox")
    intros = sorted((cohort / "outbox").glob("*.eml"))
    pairs = openpyxl.load_workbook(cohort / "pairs.xlsx")["Pairs"].max_row - 1
    assert len(intros) == pairs
    assert_an_accepted_introduction_holds_every_checkin(intros, checkins, cohort / "invites")

    sheet = cohort / "calendar" / "checkins.xlsx"
    sheet_rows = openpyxl.load_workbook(sheet)["Check-ins"]
    january = [r for r in range(2, 2 + 24 * pairs)
               if str(sheet_rows.cell(r, 7).value or "").startswith("2027-01")][:20]
    fill_in_checkins(sheet, {row: 4 for row in january})

    reported = run(cli, cohort, monkeypatch, "report", "pairs.xlsx", "calendar/checkins.xlsx",
                   "--as-of", "2027-02-20", "--out", "reports", "--json")
    assert '"pairs_at_risk"' in reported.stdout or '"at_risk"' in reported.stdout
    html = (cohort / "reports" / "cohort.html").read_text(encoding="utf-8")
    assert "<html" in html.lower() and "http://" not in html and "https://" not in html
    for path in (cohort / "reports").rglob("*"):
        if path.is_file():
            assert b"PRIVATE-NOTE-MARKER" not in path.read_bytes(), f"private notes leaked into {path.name}"
    progress = sorted((cohort / "reports" / "outbox").glob("*.eml"))
    assert len(progress) > pairs
    message = BytesParser(policy=policy.default).parsebytes(progress[0].read_bytes())
    assert message["X-Unsent"] == "1"
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None

    dry = run(cli, cohort, monkeypatch, "send", "outbox", "--dry-run")
    assert len(dry.stdout.strip().splitlines()) == len(intros)
    assert sorted((cohort / "outbox").glob("*.eml")) == intros, "a dry run must not move anything"

"""Circles after the match: a workbook's Circles sheet read back, scheduled, introduced, reported.

Every stage runs on real files: the example's pairs.xlsx (written by ``mentor match``) rewritten
into a circles workbook (``tests/circle_books.py``), checkins.xlsx written and filled in with
openpyxl, the .ics calendars and invitations parsed back with icalendar, the .eml drafts parsed
with both ``policy.default`` and ``compat32``.
"""

from __future__ import annotations

import dataclasses
import shutil
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

import icalendar
import openpyxl
import pytest

from mentorcli import pipeline
from mentorcli.config import load_config
from mentorcli.errors import MentorError
from mentorcli.model import PairingBook, Problem
from mentorcli.schedule import participant_file_name
from mentorcli.workbook import read_pairing_workbook
from tests.circle_books import Circle, circles_workbook, greedy_circles
from tests.conftest import EXAMPLES

START = "2027-01-04"
MONTHS = 4


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cohort folder: the example's signups, mentor.toml and the pairs.xlsx ``mentor match`` wrote."""
    folder = tmp_path_factory.mktemp("circles")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    pipeline.match([folder / "signups.xlsx"], config=folder / "mentor.toml", output=folder / "pairs.xlsx")
    return folder


@pytest.fixture(scope="module")
def config(folder: Path):
    return load_config(folder / "mentor.toml")


@pytest.fixture(scope="module")
def pairs_book(folder: Path, config) -> PairingBook:
    return read_pairing_workbook(folder / "pairs.xlsx", config)


@pytest.fixture(scope="module")
def mentor_circles(pairs_book: PairingBook, config) -> list[Circle]:
    return greedy_circles(pairs_book, config, size=3, count=4)


@pytest.fixture(scope="module")
def peer_circles(pairs_book: PairingBook, config) -> list[Circle]:
    return greedy_circles(pairs_book, config, size=3, count=3, kind="peer")


def write_book(folder: Path, name: str, circles, **options) -> Path:
    return circles_workbook(folder / "pairs.xlsx", folder / name, circles, **options)


def set_people(path: Path, changes: dict[str, dict[str, str]]) -> None:
    """Edit People cells of the workbook by email, as a coordinator would (header -> new value)."""
    book = openpyxl.load_workbook(path)
    sheet = book["People"]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        email = row[header.index("Email")].value
        for column, value in changes.get(email, {}).items():
            row[header.index(column)].value = value
    book.save(path)


def circles_rows(path: Path) -> list[list[object]]:
    """The Circles sheet's cells, header first."""
    return [list(row) for row in openpyxl.load_workbook(path)["Circles"].iter_rows(values_only=True)]


def rewrite_circles(path: Path, rows: list[list[object]]) -> None:
    """Replace the Circles sheet's rows (header kept) with ``rows``, as a hand edit would."""
    book = openpyxl.load_workbook(path)
    sheet = book["Circles"]
    sheet.delete_rows(2, sheet.max_row)
    for row in rows:
        sheet.append(row)
    book.save(path)


def emails_of(circle: Circle) -> set[str]:
    return {email for email, _ in circle}


def parse_both(path: Path) -> tuple[Message, Message]:
    data = path.read_bytes()
    return (BytesParser(policy=policy.default).parsebytes(data), BytesParser(policy=policy.compat32).parsebytes(data))


def recipients(message: Message) -> set[str]:
    return {address.lower() for _, address in getaddresses(message.get_all("To", []))}


def plain_text(message: Message) -> str:
    body = message.get_body(("plain",))  # type: ignore[attr-defined]
    return body.get_content()


def fill_held(sheet: Path, held: dict[tuple[str, str, int], str], rating: dict[tuple[str, str, int], int] | None = None) -> None:
    """Log attendance: Held of the row of (circle id, member email, occurrence)."""
    book = openpyxl.load_workbook(sheet)
    ws = book["Check-ins"]
    header = [cell.value for cell in ws[1]]
    column = {name: header.index(name) for name in ("Pair ID", "Member Email", "Occurrence", "Held", "Rating")}
    for row in ws.iter_rows(min_row=2):
        key = (row[column["Pair ID"]].value, row[column["Member Email"]].value, int(row[column["Occurrence"]].value))
        if key in held:
            row[column["Held"]].value = held[key]
        if rating and key in rating:
            row[column["Rating"]].value = rating[key]
    book.save(sheet)


def problems_at(problems: list[Problem], row: int, column: str | None = None) -> list[Problem]:
    return [p for p in problems if p.row == row and p.sheet == "Circles" and (column is None or p.column == column)]


# --------------------------------------------------------------------------- reading a Circles sheet back


def test_circles_sheet_reads_back_as_circles_with_their_roles(folder: Path, config, mentor_circles, peer_circles) -> None:
    led = read_pairing_workbook(write_book(folder, "led.xlsx", mentor_circles), config)
    peer = read_pairing_workbook(write_book(folder, "peer.xlsx", peer_circles, kind="peer", pairs_header=True), config)
    assert led.problems == [] and peer.problems == []
    assert led.circles and peer.circles
    for book, circles, lead_role, member_role in ((led, mentor_circles, "mentor", "mentee"),
                                                  (peer, peer_circles, "facilitator", "peer")):
        relationships = book.relationships()
        assert [r.id for r in relationships] == [f"C{n:03d}" for n in range(1, len(circles) + 1)]
        for relationship, circle in zip(relationships, circles):
            assert [(m.email, m.role) for m in relationship.members] == \
                [(circle[0][0], lead_role), *((email, member_role) for email, _ in circle[1:])]
        # the pair view: a row per member, each with their circle's lead
        assert len(book.pairs) == sum(len(circle) - 1 for circle in circles)
    first = led.relationships()[0]
    assert first.row == 2 and first.why == "Circle 1: shares a goal and a weekly window"


def test_pairs_sheet_with_rows_beside_circles_is_refused_in_one_line(folder: Path, config, mentor_circles, cli) -> None:
    path = write_book(folder, "both.xlsx", mentor_circles)
    book = openpyxl.load_workbook(path)
    pairs = book.create_sheet("Pairs")
    pairs.append(["Pair ID", "Mentee", "Mentee Email", "Mentor", "Mentor Email", "Score", "Why"])
    pairs.append(["P001", "A", mentor_circles[0][1][0], "B", mentor_circles[0][0][0], 50, ""])
    book.save(path)
    with pytest.raises(MentorError, match="both the Pairs and the Circles sheet"):
        read_pairing_workbook(path, config)
    result = cli("schedule", path, "--config", folder / "mentor.toml", "--out", folder / "never")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "both the Pairs and the Circles sheet" in result.stderr


def test_each_hand_edit_is_reported_on_its_row(folder: Path, config, mentor_circles) -> None:
    """A member moved, rows deleted and added, blank and unknown Roles, an unknown email, two leads,
    a person in two circles, a blank Circle ID, a circle without a lead: each an error or warning
    on its own row and column, nobody dropped unseen."""
    path = write_book(folder, "edited.xlsx", mentor_circles)
    _header, *rows = circles_rows(path)
    c1, c2, c3, c4 = (rows[i * 4:(i + 1) * 4] for i in range(4))
    moved = [*c2[:3], [*c2[3][:1], *c2[3][1:]]]
    moved[3][0] = "C001"                      # row 9 (C002's last member) moved to C001: read, not an error
    lead_of_c4 = [list(r) for r in c4]
    lead_of_c4[2][3] = "mentor"               # row 16: a second lead in C004
    blank_role = list(c3[1])
    blank_role[3] = ""                        # row 11: blank Role
    odd_role = list(c3[2])
    odd_role[3] = "co-lead"                   # row 12: unknown Role
    new_rows = [
        *c1,                                  # rows 2-5
        *moved,                               # rows 6-9
        c3[0], blank_role, odd_role,          # rows 10-12; C003's last member (row 13 before) deleted
        *lead_of_c4,                          # rows 13-16
        ["C001", "Nobody", "nobody@example.org", "member", 70, ""],     # row 17: not in People
        ["C003", c1[1][1], c1[1][2], "member", 70, ""],                 # row 18: already in C001
        ["", c3[3][1], c3[3][2], "member", 70, ""],                     # row 19: blank Circle ID
        ["C099", c3[3][1], "", "member", 70, ""],                       # row 20: blank Email
        ["C050", "Wrong Name", c3[3][2], "member", 70, ""],             # row 21: a circle without a lead
    ]
    rewrite_circles(path, new_rows)
    book = read_pairing_workbook(path, config)
    found = book.problems

    def one(row: int, column: str, severity: str, words: str) -> None:
        hits = [p for p in problems_at(found, row, column) if p.severity == severity and words in p.problem]
        assert hits, (row, column, words, [p for p in found if p.row == row])

    one(11, "Role", "error", "Role is blank")
    one(12, "Role", "error", "must be mentor, facilitator or member")
    one(15, "Role", "error", "already has a mentor (row 13)")
    one(17, "Email", "error", "not in the People sheet")
    one(18, "Email", "error", "also in circle C001, row 3")
    one(19, "Circle ID", "error", "Circle ID is blank")
    one(20, "Email", "error", "Email is blank")
    one(21, "Role", "error", "circle C050 has no mentor or facilitator")
    one(21, "Name", "warning", "does not match the People sheet")
    one(9, "Circle ID", "warning", "circle C001 has 4 members, more than the circle size 3")
    # the moved member is in C001 now, the second lead and the broken rows in no circle
    members = {r.id: r.emails for r in book.relationships()}
    assert c2[3][2] in members["C001"] and c2[3][2] not in members["C002"]
    assert lead_of_c4[2][2] not in members["C004"]
    # C003 is left with its mentor alone: no circle to schedule, said on the mentor's row
    assert "C003" not in members
    one(10, "Circle ID", "error", "circle C003 has no members besides its mentor; circle left out")
    # everyone a broken row left out, and the deleted row's member, is named on their People row
    people_rows = dict(zip(book.people["email"], book.people["source_row"]))
    for email in (c3[0][2], c3[1][2], c3[2][2], c3[3][2], lead_of_c4[2][2]):
        assert [p for p in found if p.sheet == "People" and p.row == people_rows[email] and "in no circle" in p.problem]
    assert all(p.file == str(path) for p in found)


def test_every_two_members_are_checked_against_the_rules(folder: Path, config, mentor_circles) -> None:
    """An avoid answer between two members (not the lead) is a broken rule on the later member's
    row, naming the other row; one naming the lead is reported against the lead."""
    path = write_book(folder, "avoid.xlsx", mentor_circles)
    (lead, _), (first, _), (second, _), (third, _) = mentor_circles[0]
    set_people(path, {third: {"Avoid": first}, second: {"Avoid": lead}})
    found = read_pairing_workbook(path, config).problems
    assert [p.problem for p in problems_at(found, 5, "Circle ID")] == \
        ["breaks a rule with row 3 in circle C001: named in an avoid list"]
    assert [p.problem for p in problems_at(found, 4, "Circle ID")] == \
        ["breaks a rule with its lead in circle C001: named in an avoid list"]
    assert len([p for p in found if "breaks a rule" in p.problem]) == 2


def test_directed_rule_is_not_checked_between_two_members(folder: Path, config, mentor_circles) -> None:
    """choices_only binds a mentee to the mentors they chose: two members never chose each other,
    so it is no broken rule between them (it still is between the lead and a member)."""
    path = write_book(folder, "choices.xlsx", mentor_circles)
    _, _, (second, _), _ = mentor_circles[0]
    other_mentor = mentor_circles[1][0][0]
    set_people(path, {second: {"Choices": other_mentor}})
    choosy = dataclasses.replace(config, rules=dataclasses.replace(config.rules, choices_only=True))
    found = read_pairing_workbook(path, choosy).problems
    broken = [p for p in found if "breaks a rule" in p.problem]
    assert [(p.row, p.problem) for p in broken] == [(4, "breaks a rule with its lead in circle C001: not among the mentee's choices")]


# --------------------------------------------------------------------------- the whole cycle


@pytest.fixture(scope="module")
def cycle(folder: Path, mentor_circles) -> dict[str, Path]:
    """match (done) -> circles workbook -> schedule -> introduce, on real files."""
    path = write_book(folder, "cycle.xlsx", mentor_circles)
    everyone = {email: {"Time Zone": "Europe/London", "Availability": "Weekday evenings"}
                for circle in mentor_circles for email, _ in circle}
    set_people(path, everyone)
    calendar, outbox = folder / "cycle-calendar", folder / "cycle-outbox"
    pipeline.schedule(path, config=folder / "mentor.toml", start=_date(START), months=MONTHS, out=calendar)
    pipeline.introduce(path, config=folder / "mentor.toml", calendar=calendar, out=outbox)
    return {"book": path, "calendar": calendar, "outbox": outbox}


def _date(text: str):
    import datetime as dt
    return dt.date.fromisoformat(text)


def test_schedule_writes_one_row_per_member_per_meeting_at_a_time_all_can_make(cycle, mentor_circles) -> None:
    sheet = openpyxl.load_workbook(cycle["calendar"] / "checkins.xlsx")["Check-ins"]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    at = {name: header.index(name) for name in ("Pair ID", "Member Email", "Mentor Email", "Occurrence", "Start (UTC)", "Flag")}
    for number, circle in enumerate(mentor_circles, 1):
        mine = [r for r in rows if r[at["Pair ID"]] == f"C{number:03d}"]
        assert len(mine) == (len(circle) - 1) * MONTHS
        for occurrence in range(1, MONTHS + 1):
            meeting = [r for r in mine if r[at["Occurrence"]] == occurrence]
            assert sorted(r[at["Member Email"]] for r in meeting) == sorted(email for email, _ in circle[1:])
            assert {r[at["Mentor Email"]] for r in meeting} == {circle[0][0]}
            assert len({r[at["Start (UTC)"]] for r in meeting}) == 1
        assert all(not r[at["Flag"]] for r in mine)


def test_each_member_calendar_holds_the_circle_series_once(cycle, mentor_circles, pairs_book) -> None:
    names = dict(zip(pairs_book.people["email"], pairs_book.people["name"]))
    uids = []
    for circle in mentor_circles:
        seen = set()
        for email, _ in circle:
            calendar = icalendar.Calendar.from_ical((cycle["calendar"] / participant_file_name(names[email], email)).read_bytes())
            masters = [e for e in calendar.walk("VEVENT")
                       if "RECURRENCE-ID" not in e and str(e["SUMMARY"]).startswith("Mentoring check-in")]
            assert len(masters) == 1
            seen.add(str(masters[0]["UID"]))
        assert len(seen) == 1
        uids.append(seen.pop())
    assert len(set(uids)) == len(mentor_circles)


def test_introduce_writes_one_email_per_circle_to_exactly_its_members(cycle, mentor_circles, pairs_book) -> None:
    names = dict(zip(pairs_book.people["email"], pairs_book.people["name"]))
    drafts = sorted(cycle["outbox"].glob("intro-*.eml"))
    assert [d.name for d in drafts] == [f"intro-c{n:03d}.eml" for n in range(1, len(mentor_circles) + 1)]
    for draft, circle in zip(drafts, mentor_circles):
        for message in parse_both(draft):
            assert recipients(message) == emails_of(circle)
        modern, _ = parse_both(draft)
        text = plain_text(modern)
        lead = names[circle[0][0]]
        assert f"led by your mentor {lead}" in text and "circle C0" in text
        assert f"all {MONTHS} monthly meetings" in text
        for email, _ in circle:
            assert names[email] in text
        others = {e for c in mentor_circles if c is not circle for e, _ in c}
        assert not any(email in draft.read_text(errors="replace") for email in others)
        invites = [part for part in modern.iter_attachments() if part.get_content_type() == "text/calendar"]
        assert len(invites) == 1
        event = next(iter(icalendar.Calendar.from_ical(invites[0].get_content()).walk("VEVENT")))
        attendees = {str(a).lower().removeprefix("mailto:") for a in event.get("ATTENDEE")}
        assert attendees == emails_of(circle)


def test_peer_circle_introduction_names_its_facilitator(folder: Path, peer_circles, pairs_book) -> None:
    path = write_book(folder, "peer-intro.xlsx", peer_circles, kind="peer")
    outbox = folder / "peer-outbox"
    pipeline.introduce(path, config=folder / "mentor.toml", calendar=None, out=outbox)
    names = dict(zip(pairs_book.people["email"], pairs_book.people["name"]))
    draft = outbox / "intro-c001.eml"
    modern, old = parse_both(draft)
    assert recipients(modern) == recipients(old) == emails_of(peer_circles[0])
    text = plain_text(modern)
    assert f"with a facilitator from among you, {names[peer_circles[0][0][0]]}" in text
    assert "A peer circle has no mentor" in text


@pytest.fixture(scope="module")
def reported(folder: Path, cycle, mentor_circles) -> dict[str, object]:
    """Three meetings held by every circle; in C001 one member missed the last two (the threshold,
    ``missed_in_row`` = 2) and one only the last (one short); C002 never met (at risk)."""
    logs = folder / "logged.xlsx"
    shutil.copy(cycle["calendar"] / "checkins.xlsx", logs)
    held: dict[tuple[str, str, int], str] = {}
    for number, circle in enumerate(mentor_circles, 1):
        if number == 2:
            continue
        for email, _ in circle[1:]:
            for occurrence in (1, 2, 3):
                held[(f"C{number:03d}", email, occurrence)] = "Yes"
    stopped, one_short = mentor_circles[0][1][0], mentor_circles[0][2][0]
    held[("C001", stopped, 2)] = "No"
    held[("C001", stopped, 3)] = "No"
    held[("C001", one_short, 3)] = ""
    fill_held(logs, held)
    out = folder / "report"
    run = pipeline.report(cycle["book"], [logs], config=folder / "mentor.toml", as_of=_date("2027-04-20"), out=out)
    return {"run": run, "out": out, "stopped": stopped, "one_short": one_short}


def test_report_flags_a_member_who_stopped_coming_at_the_exact_threshold(reported, mentor_circles) -> None:
    run = reported["run"]
    attendance = run.report.attendance.set_index("email")
    stopped, one_short = reported["stopped"], reported["one_short"]
    assert (attendance.loc[stopped, "missed_last"], bool(attendance.loc[stopped, "stopped"])) == (2, True)
    assert (attendance.loc[one_short, "missed_last"], bool(attendance.loc[one_short, "stopped"])) == (1, False)
    assert attendance.loc[one_short, "attended"] == 2 and attendance.loc[one_short, "circle_held"] == 3
    assert int(attendance["stopped"].sum()) == 1
    assert run.report.stopped_coming() == [{"pair_id": "C001", "row": 3, "missed_in_row": 2}]
    # a circle that never met: no meeting held, so no member "stopped"; the circle itself is at risk
    c2 = attendance[attendance["pair_id"] == "C002"]
    assert (c2["circle_held"] == 0).all() and not c2["stopped"].any()
    at_risk = set(run.report.at_risk["pair_id"])
    assert "C002" in at_risk and "C001" not in at_risk


def test_report_counts_circles_and_the_sponsor_summary_names_nobody(reported, mentor_circles, pairs_book) -> None:
    run, out = reported["run"], reported["out"]
    totals = run.report.totals
    assert totals["circles"] == len(mentor_circles)
    assert totals["circle_members"] == sum(len(c) - 1 for c in mentor_circles)
    assert totals["members_stopped"] == 1
    sponsor = next((out / "outbox").glob("sponsor-summary-*.eml"))
    text = sponsor.read_text(errors="replace")
    modern, _ = parse_both(sponsor)
    assert f"Circles: {len(mentor_circles)} " in plain_text(modern)
    assert "Members who stopped coming (missed the last 2 meetings their circle held): 1" in plain_text(modern)
    for email, name in zip(pairs_book.people["email"], pairs_book.people["name"]):
        assert email not in text and name not in text
    sheet = openpyxl.load_workbook(out / "cohort.xlsx")["Attendance"]
    stopped_rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[-1] == "yes"]
    assert [(r[0], r[2]) for r in stopped_rows] == [("C001", reported["stopped"])]
    assert "Members who stopped coming (1)" in (out / "cohort.html").read_text()


def test_report_names_circles_members_and_their_lead_not_pairs(reported, mentor_circles) -> None:
    out = reported["out"]
    status = openpyxl.load_workbook(out / "cohort.xlsx")["Status"]
    assert [cell.value for cell in status[1]][:5] == ["Circle ID", "Members", "Member Emails", "Mentor", "Mentor Email"]
    assert status.cell(2, 1).value == "C001"
    page = (out / "cohort.html").read_text()
    assert f"All circles ({len(mentor_circles)})" in page and "Circles at risk (" in page
    assert "<th>Circle</th><th>Members</th><th>Mentor</th>" in page
    assert "pairs at risk" not in page.lower() and "All pairs" not in page and "<th>Mentee</th>" not in page


def test_peer_circles_report_names_the_facilitator_and_a_pairs_report_is_unchanged(folder: Path, peer_circles) -> None:
    path = write_book(folder, "peer-words.xlsx", peer_circles, kind="peer")
    calendar, out = folder / "peer-words-calendar", folder / "peer-words-report"
    pipeline.schedule(path, config=folder / "mentor.toml", start=_date(START), months=MONTHS, out=calendar)
    pipeline.report(path, [calendar / "checkins.xlsx"], config=folder / "mentor.toml", as_of=_date("2027-04-20"), out=out)
    status = openpyxl.load_workbook(out / "cohort.xlsx")["Status"]
    assert [cell.value for cell in status[1]][:5] == ["Circle ID", "Members", "Member Emails", "Facilitator", "Facilitator Email"]
    assert "<th>Circle</th><th>Members</th><th>Facilitator</th>" in (out / "cohort.html").read_text()
    pairs_out = folder / "pairs-words-report"
    pipeline.schedule(folder / "pairs.xlsx", config=folder / "mentor.toml", start=_date(START), months=MONTHS,
                      out=folder / "pairs-words-calendar")
    pipeline.report(folder / "pairs.xlsx", [folder / "pairs-words-calendar" / "checkins.xlsx"], config=folder / "mentor.toml",
                    as_of=_date("2027-04-20"), out=pairs_out)
    pairs_status = openpyxl.load_workbook(pairs_out / "cohort.xlsx")["Status"]
    assert [cell.value for cell in pairs_status[1]][:5] == ["Pair ID", "Mentee", "Mentee Email", "Mentor", "Mentor Email"]
    assert "<th>Pair</th><th>Mentee</th><th>Mentor</th>" in (pairs_out / "cohort.html").read_text()


def test_progress_email_holds_only_the_members_own_circle(reported, mentor_circles, pairs_book) -> None:
    out = reported["out"]
    names = dict(zip(pairs_book.people["email"], pairs_book.people["name"]))
    for circle in mentor_circles[:2]:
        for email, _ in circle:
            draft = next((out / "outbox").glob(f"progress-*-{email.replace('@', '-').replace('.', '-')}.eml"))
            for message in parse_both(draft):
                assert recipients(message) == {email}
            text = draft.read_text(errors="replace")
            others = {e for c in mentor_circles if c is not circle for e, _ in c}
            assert not any(other in text or names[other] in text for other in others)
            assert all(names[member] in plain_text(parse_both(draft)[0]) for member, _ in circle)
    stopped = next((out / "outbox").glob(f"progress-*-{reported['stopped'].replace('@', '-').replace('.', '-')}.eml"))
    assert "You came to 1 of the 3 meetings your circle held." in plain_text(parse_both(stopped)[0])
    short = next((out / "outbox").glob(f"progress-*-{reported['one_short'].replace('@', '-').replace('.', '-')}.eml"))
    assert "You came to 2 of the 3 meetings your circle held." in plain_text(parse_both(short)[0])


# --------------------------------------------------------------------------- the least bad time


def test_no_time_for_everyone_gives_the_least_bad_time_flagged(folder: Path, mentor_circles) -> None:
    """Lead and two members can meet on weekday evenings, the third only on weekend mornings:
    the least bad time has 3 of 4 free, and the row, the screen note and the flag say who cannot."""
    path = write_book(folder, "leastbad.xlsx", mentor_circles[:1])
    (lead, _), (one, _), (two, _), (three, _) = mentor_circles[0]
    london = {"Time Zone": "Europe/London"}
    set_people(path, {lead: london | {"Availability": "Weekday evenings"}, one: london | {"Availability": "Weekday evenings"},
                      two: london | {"Availability": "Weekday evenings"}, three: london | {"Availability": "Weekend mornings"}})
    run = pipeline.schedule(path, config=folder / "mentor.toml", start=_date(START), months=MONTHS, out=folder / "leastbad-cal")
    checkins = run.plan.checkins
    assert len(checkins) == 3 * MONTHS
    name_three = run.book.person(three)["name"]
    for flag in checkins["flag"]:
        assert "no common availability: no time suits all 4 members" in flag and "3 of 4 free" in flag
        assert f"{name_three} cannot make it" in flag
    local = checkins["start_utc"].dt.tz_convert("Europe/London")
    assert (local.dt.day_of_week < 5).all() and (local.dt.hour >= 18).all()
    notes = [n for n in run.plan.notes if n.startswith("circle C001")]
    assert notes == [("circle C001: no time suits every member; the least bad time leaves out Circles row 5 "
                     "(flagged in checkins.xlsx)")]
    assert not any(run.book.person(e)["name"] in " ".join(run.plan.notes) for e, _ in mentor_circles[0])
    sheet = openpyxl.load_workbook(folder / "leastbad-cal" / "checkins.xlsx")["Check-ins"]
    header = [c.value for c in sheet[1]]
    assert all("cannot make it" in row[header.index("Flag")] for row in sheet.iter_rows(min_row=2, values_only=True))


def test_least_bad_time_keeps_the_lead_free_before_counting_members(folder: Path, pairs_book, config) -> None:
    """Lead and one member on weekday evenings, three members on weekend mornings: three members
    free without the lead would be more people, but a circle does not meet without its lead."""
    circle = greedy_circles(pairs_book, config, size=4, count=1)
    path = write_book(folder, "lead-first.xlsx", circle, size=4)
    (lead, _), (one, _), *rest = circle[0]
    london = {"Time Zone": "Europe/London"}
    changes = {lead: london | {"Availability": "Weekday evenings"}, one: london | {"Availability": "Weekday evenings"}}
    changes |= {email: london | {"Availability": "Weekend mornings"} for email, _ in rest}
    set_people(path, changes)
    run = pipeline.schedule(path, config=folder / "mentor.toml", start=_date(START), months=MONTHS, out=folder / "lead-cal")
    local = run.plan.checkins["start_utc"].dt.tz_convert("Europe/London")
    assert (local.dt.day_of_week < 5).all() and (local.dt.hour >= 18).all()
    assert all("2 of 5 free" in flag for flag in run.plan.checkins["flag"])


def test_least_bad_time_has_the_most_members_free_before_comfort(folder: Path, mentor_circles) -> None:
    """The lead is free on London weekday mornings and evenings, two members on London evenings,
    one member on Tokyo evenings (London 09:00-12:00). A London evening has 3 of 4 free but is
    03:00 in Tokyo; a London 09:00 is comfortable for all but has 2 of 4 free: 3 of 4 wins."""
    path = write_book(folder, "most-free.xlsx", mentor_circles[:1])
    (lead, _), (one, _), (two, _), (three, _) = mentor_circles[0]
    evenings = {"Time Zone": "Europe/London", "Availability": "Weekday evenings"}
    set_people(path, {lead: {"Time Zone": "Europe/London", "Availability": "Weekday mornings; Weekday evenings"},
                      one: evenings, two: evenings, three: {"Time Zone": "Asia/Tokyo", "Availability": "Weekday evenings"}})
    run = pipeline.schedule(path, config=folder / "mentor.toml", start=_date(START), months=MONTHS, out=folder / "most-free-cal")
    local = run.plan.checkins["start_utc"].dt.tz_convert("Europe/London")
    assert (local.dt.hour >= 18).all()
    assert all("3 of 4 free" in flag for flag in run.plan.checkins["flag"])


def test_pairs_keep_their_ranking_when_no_time_suits_both(folder: Path) -> None:
    """The pinned example's pairs: ``python -m tests.pinned compare example`` checks every byte;
    here only that a pair's flag keeps its own words (not the circle's)."""
    run = pipeline.schedule(folder / "pairs.xlsx", config=folder / "mentor.toml", start=_date(START), months=2,
                            out=folder / "pairs-cal")
    flags = " ".join(run.plan.checkins["flag"])
    assert "members" not in flags and not any(n.startswith("circle ") for n in run.plan.notes)


# --------------------------------------------------------------------------- limits, each at its edge


def test_circle_size_and_mentor_capacity_are_warned_one_past_their_limit(folder: Path, config, mentor_circles) -> None:
    """Circle size 3: three members read quietly, a fourth (an added row) warned on its row. A
    mentor of capacity N leads N circles quietly; an added circle N + 1 is warned."""
    path = write_book(folder, "limits.xlsx", mentor_circles)
    _header, *rows = circles_rows(path)
    lead = mentor_circles[0][0][0]
    capacity = int(read_pairing_workbook(path, config).person(lead)["capacity"])
    spare = [e for e in read_pairing_workbook(folder / "pairs.xlsx", config).people["email"]
             if e not in {x for c in mentor_circles for x, _ in c}]
    added: list[list[object]] = []
    for number in range(capacity - 1):      # circles up to the mentor's capacity, each of one member
        added += [[f"C1{number:02d}", "", lead, "mentor", 70, ""], [f"C1{number:02d}", "", spare[number], "member", 70, ""]]
    rewrite_circles(path, [*rows, *added])
    at_limit = read_pairing_workbook(path, config).problems
    assert not [p for p in at_limit if p.sheet == "Circles" and p.severity == "warning"], at_limit
    one_more = [["C200", "", lead, "mentor", 70, ""], ["C200", "", spare[capacity], "member", 70, ""],
                ["C001", "", spare[capacity + 1], "member", 70, ""]]
    rewrite_circles(path, [*rows, *added, *one_more])
    past = read_pairing_workbook(path, config).problems
    last = len(rows) + len(added) + 4
    assert [p.row for p in past if "capacity" in p.problem] == [last - 2]
    assert [p.row for p in past if "more than the circle size 3" in p.problem] == [last]


def test_schedule_on_an_edited_workbook_prints_rows_not_names(folder: Path, mentor_circles, cli, pairs_book) -> None:
    path = write_book(folder, "cli-edited.xlsx", mentor_circles)
    _header, *rows = circles_rows(path)
    rows[1][3] = ""                              # row 3: blank Role
    rows[6][2] = "nobody@example.org"            # row 8: not in People
    rewrite_circles(path, rows)
    result = cli("schedule", path, "--config", folder / "mentor.toml", "--start", START, "--months", "2",
                 "--out", folder / "cli-cal")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "row 3" in result.stderr and "row 8" in result.stderr
    assert "Circles scheduled" in result.stderr
    for name in pairs_book.people["name"]:
        assert name not in result.stderr

"""`mentor nudge`: reminders to relationships that have not met or missed check-ins, one digest to the
coordinator, a log that keeps a rerun from reminding anyone twice: on the bundled example's real files,
delivered by `mentor send` to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import json
import shutil
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest

from mentorcli import pipeline
from mentorcli.config import load_config
from mentorcli.mail import read_draft
from mentorcli.model import Ending
from mentorcli.nudge import NudgeLog, nudge_outbox
from mentorcli.report import build_report, read_checkin_logs, read_schedule
from mentorcli.workbook import read_pairing_workbook
from tests.conftest import EXAMPLES
from tests.test_send import Recorder, free_port

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller

START = dt.date(2027, 1, 4)
INTRODUCED = dt.date(2027, 1, 4)
COORDINATOR = "mentoring@example.org"  # examples/mentor.toml


# --------------------------------------------------------------------------- the example cycle


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """match -> schedule (3 months from 2027-01-04) -> introduce, on the bundled example, once per module."""
    folder = tmp_path_factory.mktemp("example")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    config = folder / "mentor.toml"
    pipeline.match([folder / "signups.xlsx"], config=config, output=folder / "pairs.xlsx")
    pipeline.schedule(folder / "pairs.xlsx", config=config, start=START, months=3, out=folder / "calendar")
    pipeline.introduce(folder / "pairs.xlsx", config=config, calendar=folder / "calendar", out=folder / "outbox")
    return folder


@pytest.fixture
def cohort(example: Path, tmp_path: Path) -> Path:
    """A fresh copy of the example cycle's folder for one test."""
    folder = tmp_path / "cohort"
    shutil.copytree(example, folder)
    return folder


def checkin_rows(sheet: Path) -> list[dict]:
    book = openpyxl.load_workbook(sheet, read_only=True)
    rows = book["Check-ins"].iter_rows(values_only=True)
    header = next(rows)
    return [dict(zip(header, row)) for row in rows]


def log_held(sheet: Path, held: dict[str, set[int]], on: dt.date | None = None) -> None:
    """Log check-ins as a coordinator does in checkins.xlsx: Held Yes and the day held (the day it
    was scheduled, or ``on``: met earlier), for the occurrences of each pair id given."""
    book = openpyxl.load_workbook(sheet)
    ws = book["Check-ins"]
    header = [cell.value for cell in ws[1]]
    col = {name: header.index(name) + 1 for name in ("Pair ID", "Occurrence", "Start (UTC)", "Held", "Date Held", "Rating")}
    for row in range(2, ws.max_row + 1):
        pair_id = ws.cell(row, col["Pair ID"]).value
        if int(ws.cell(row, col["Occurrence"]).value) in held.get(pair_id, set()):
            ws.cell(row, col["Held"], "Yes")
            ws.cell(row, col["Date Held"], on or ws.cell(row, col["Start (UTC)"]).value.date())
            ws.cell(row, col["Rating"], 4)
    book.save(sheet)


def starts(sheet: Path) -> dict[tuple[str, int], dt.date]:
    return {(row["Pair ID"], int(row["Occurrence"])): row["Start (UTC)"].date() for row in checkin_rows(sheet)}


def members(folder: Path) -> dict[str, list[str]]:
    """Relationship id -> member emails, as the workbook holds them (mentees first, then the mentor)."""
    book = read_pairing_workbook(folder / "pairs.xlsx", load_config(folder / "mentor.toml"))
    return {r.id: [*(m.email for m in r.others), *(m.email for m in r.leads)] for r in book.relationships()}


def nudge_cli(cli, folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str, code: int = 0):
    monkeypatch.chdir(folder)
    result = cli("nudge", "pairs.xlsx", "calendar/checkins.xlsx", "--out", "outbox", *args)
    assert result.exit_code == code, result.stderr
    assert "Traceback" not in result.stderr
    return result


def nudge_files(outbox: Path) -> list[str]:
    return sorted(p.name for p in outbox.glob("nudge-*.eml"))


def parse_both(path: Path):
    data = path.read_bytes()
    return (BytesParser(policy=email.policy.default).parsebytes(data),
            BytesParser(policy=email.policy.compat32).parsebytes(data))


def to_addresses(path: Path) -> list[str]:
    """The To addresses as both parsers read them; they must agree, and Cc/Bcc must be absent."""
    modern, legacy = parse_both(path)
    first = [a.addr_spec for a in modern["To"].addresses]
    second = [addr for _, addr in email.utils.getaddresses(legacy.get_all("To", []))]
    assert first == second
    assert modern["Cc"] is None and modern["Bcc"] is None and legacy["Cc"] is None and legacy["Bcc"] is None
    assert read_draft(path).recipients == first  # what `mentor send` would deliver to
    return first


def test_example_cycle_nudges_exactly_the_pairs_that_need_it_and_a_rerun_writes_nothing(cli, cohort, monkeypatch):
    sheet = cohort / "calendar" / "checkins.xlsx"
    when = starts(sheet)
    ids = sorted({pair for pair, _ in when})
    silent, missed = ids[4], ids[7]
    log_held(sheet, {pair: ({1} if pair == missed else {1, 2}) for pair in ids if pair != silent})
    as_of = max(day for (_, k), day in when.items() if k == 2) + dt.timedelta(days=1)
    assert as_of < min(day for (_, k), day in when.items() if k == 3)  # every second check-in due, no third

    result = nudge_cli(cli, cohort, monkeypatch, "--as-of", as_of.isoformat(), "--introduced", INTRODUCED.isoformat(),
                       "--json")
    answer = json.loads(result.stdout)
    assert answer["reminded"] == [{"id": silent, "kind": "first-meeting"}, {"id": missed, "kind": "missed-checkins"}]
    # silence: the silent pair since the introduction; the other since its first check-in held
    assert (as_of - INTRODUCED).days >= 44 and (as_of - when[(missed, 1)]).days < 44
    assert answer["escalated"] == [silent]
    outbox = cohort / "outbox"
    expected = [f"nudge-{silent.lower()}-first-meeting-{as_of}.eml", f"nudge-{missed.lower()}-missed-checkins-{as_of}.eml",
                f"nudge-digest-{as_of}.eml"]
    assert nudge_files(outbox) == sorted(expected)
    assert [(w["kind"], w["relationships"]) for w in answer["written"]] == [
        ("first-meeting", [silent]), ("missed-checkins", [missed]), ("escalation", [silent])]
    people = members(cohort)
    assert to_addresses(outbox / expected[0]) == people[silent]
    assert to_addresses(outbox / expected[1]) == people[missed]
    assert to_addresses(outbox / expected[2]) == [COORDINATOR]
    missed_text = parse_both(outbox / expected[1])[0].get_body(("plain",)).get_content()
    assert "Your check-in due on" in missed_text and "Your last check-in logged was on" in missed_text
    digest = parse_both(outbox / expected[2])[0].get_body(("plain",)).get_content()
    assert f"{silent}: no meeting logged in the {(as_of - INTRODUCED).days} days since the introduction" in digest
    assert all(address in digest for address in people[silent]) and missed not in digest

    log = (outbox / "nudges.csv").read_bytes()
    before = sorted(p.name for p in outbox.iterdir())
    again = nudge_cli(cli, cohort, monkeypatch, "--as-of", as_of.isoformat(), "--introduced", INTRODUCED.isoformat(),
                      "--json")
    rerun = json.loads(again.stdout)
    assert rerun["written"] == [] and rerun["nothing_new"] is True and rerun["reminded"] == []
    assert rerun["unsent_earlier"] == sorted(expected) and "still in outbox" in again.stderr
    assert {(w["id"], w["kind"]) for w in rerun["waiting"]} == {(silent, "first-meeting"), (missed, "missed-checkins"),
                                                                 (silent, "escalation")}
    assert "Nothing new to write as of" in again.stderr
    assert sorted(p.name for p in outbox.iterdir()) == before and (outbox / "nudges.csv").read_bytes() == log

    # mentor send delivers them (with the introductions) to a real server, each to exactly its people
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        sent = cli("send", "outbox", "--smtp-host", "127.0.0.1", "--smtp-port", str(controller.port))
    finally:
        controller.stop()
    assert sent.exit_code == 0, sent.stderr
    by_subject: dict[str, list[list[str]]] = {}
    for _, rcpts, content in handler.received:
        subject = BytesParser(policy=email.policy.default).parsebytes(content)["Subject"]
        by_subject.setdefault(subject, []).append(rcpts)
    assert by_subject["Northwind Mentoring Circle 2026: have you met yet?"] == [people[silent]]
    assert by_subject["Northwind Mentoring Circle 2026: time for your next check-in"] == [people[missed]]
    assert by_subject["Northwind Mentoring Circle 2026: 1 relationship need a call"] == [[COORDINATOR]]
    assert nudge_files(outbox) == []  # all moved to sent/


# --------------------------------------------------------------------------- thresholds, through the library


def run_nudge(folder: Path, as_of: dt.date, *, introduced: dt.date | None = INTRODUCED, ended: list[str] = (),
              out: str = "outbox"):
    """``pipeline.nudge``'s steps on the folder's real files, with ``ended`` relationships ended (the
    Ended sheet's reader is another change: the book is given them as it will be)."""
    config = load_config(folder / "mentor.toml")
    book = read_pairing_workbook(folder / "pairs.xlsx", config)
    book.ended = [Ending(r, as_of - dt.timedelta(days=1), "moved away") for r in book.relationships() if r.id in ended]
    logs = [folder / "calendar" / "checkins.xlsx"]
    schedule = read_schedule(logs)
    rows, problems = read_checkin_logs(logs, book, config, schedule=schedule)
    report = build_report(book, schedule, rows, config, as_of=as_of, problems=problems)
    return nudge_outbox(book, report, config, folder / out, introduced=introduced)


def reminded(outcome) -> list[tuple[str, str]]:
    return [(due.relationship.id, due.kind) for due in outcome.plan.reminders]


@pytest.mark.parametrize(("days", "expected"), [(13, False), (14, True), (15, True)])
def test_first_meeting_reminder_at_exactly_first_meeting_days(cohort, days, expected):
    sheet = cohort / "calendar" / "checkins.xlsx"
    ids = sorted({pair for pair, _ in starts(sheet)})
    log_held(sheet, {pair: {1} for pair in ids[1:]}, on=INTRODUCED + dt.timedelta(days=3))  # all met but the first pair
    outcome = run_nudge(cohort, INTRODUCED + dt.timedelta(days=days))
    assert reminded(outcome) == ([(ids[0], "first-meeting")] if expected else [])
    assert [w.kind for w in outcome.written] == (["first-meeting"] if expected else [])
    assert outcome.plan.escalations == []


def test_the_threshold_comes_from_mentor_toml(cohort):
    toml = cohort / "mentor.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[nudge]\nfirst_meeting_days = 20\nescalate_days = 10\n",
                    encoding="utf-8")
    sheet = cohort / "calendar" / "checkins.xlsx"
    ids = sorted({pair for pair, _ in starts(sheet)})
    log_held(sheet, {pair: {1} for pair in ids[1:]}, on=INTRODUCED + dt.timedelta(days=3))
    before = run_nudge(cohort, INTRODUCED + dt.timedelta(days=19), out="a")
    assert reminded(before) == [] and before.plan.escalations == []  # silent 19 days, but not owed a reminder yet
    due = run_nudge(cohort, INTRODUCED + dt.timedelta(days=20), out="b")
    assert reminded(due) == [(ids[0], "first-meeting")]
    assert [d.relationship.id for d in due.plan.escalations] == [ids[0]]  # listed with its first reminder


@pytest.mark.parametrize(("after", "again"), [(29, False), (30, True), (31, True)])
def test_a_reminder_is_written_again_only_after_interval_days(cohort, after, again):
    sheet = cohort / "calendar" / "checkins.xlsx"
    ids = sorted({pair for pair, _ in starts(sheet)})
    log_held(sheet, {pair: {1, 2, 3} for pair in ids[1:]}, on=INTRODUCED + dt.timedelta(days=3))  # only the first pair never meets
    first_day = INTRODUCED + dt.timedelta(days=14)
    first = run_nudge(cohort, first_day)
    assert reminded(first) == [(ids[0], "first-meeting")]
    assert [e.kind for e in NudgeLog.read(cohort / "outbox").entries] == ["first-meeting"] * 2  # one row per person

    same = run_nudge(cohort, first_day)
    assert same.written == [] and reminded(same) == []
    later = run_nudge(cohort, first_day + dt.timedelta(days=after))
    assert later.unsent == [first.written[0].file.name]  # not sent yet: said, so it is not sent twice by surprise
    assert reminded(later) == ([(ids[0], "first-meeting")] if again else [])
    names = [w.file.name for w in later.written if w.kind == "first-meeting"]
    assert names == ([f"nudge-{ids[0].lower()}-first-meeting-{first_day + dt.timedelta(days=after)}.eml"] if again else [])
    if not again:
        (waiting,) = [w for w in later.plan.waiting if w.kind == "first-meeting"]
        assert (waiting.relationship, waiting.last, waiting.again) == (ids[0], first_day, first_day + dt.timedelta(days=30))


@pytest.mark.parametrize(("days", "escalated"), [(43, False), (44, True), (45, True)])
def test_the_coordinator_is_asked_to_call_after_escalate_days_of_silence(cohort, days, escalated):
    sheet = cohort / "calendar" / "checkins.xlsx"
    ids = sorted({pair for pair, _ in starts(sheet)})
    log_held(sheet, {pair: {1, 2, 3} for pair in ids[1:]}, on=INTRODUCED + dt.timedelta(days=3))
    outcome = run_nudge(cohort, INTRODUCED + dt.timedelta(days=days))
    assert [due.relationship.id for due in outcome.plan.escalations] == ([ids[0]] if escalated else [])
    digests = [w for w in outcome.written if w.kind == "escalation"]
    assert len(digests) == (1 if escalated else 0)
    if escalated:
        assert to_addresses(digests[0].file) == [COORDINATOR]


@pytest.mark.parametrize(("days", "escalated"), [(43, False), (44, True), (45, True)])
def test_silence_after_a_check_in_held_counts_from_that_check_in(cohort, days, escalated):
    sheet = cohort / "calendar" / "checkins.xlsx"
    when = starts(sheet)
    ids = sorted({pair for pair, _ in when})
    pair = ids[2]
    log_held(sheet, {p: {1, 2, 3} for p in ids if p != pair}, on=INTRODUCED + dt.timedelta(days=3))
    log_held(sheet, {pair: {1}})
    as_of = when[(pair, 1)] + dt.timedelta(days=days)
    assert when[(pair, 2)] < as_of < when[(pair, 3)]
    outcome = run_nudge(cohort, as_of)
    assert reminded(outcome) == [(pair, "missed-checkins")]
    assert [due.relationship.id for due in outcome.plan.escalations] == ([pair] if escalated else [])


def test_an_ended_relationship_is_never_nudged(cohort):
    sheet = cohort / "calendar" / "checkins.xlsx"
    ids = sorted({pair for pair, _ in starts(sheet)})
    log_held(sheet, {pair: {1, 2, 3} for pair in ids[3:]}, on=INTRODUCED + dt.timedelta(days=3))  # the first three never meet
    outcome = run_nudge(cohort, INTRODUCED + dt.timedelta(days=60), ended=[ids[1]])
    assert reminded(outcome) == [(ids[0], "first-meeting"), (ids[2], "first-meeting")]
    assert [due.relationship.id for due in outcome.plan.escalations] == [ids[0], ids[2]]
    assert outcome.plan.ended == [ids[1]]
    assert not any(ids[1].lower() in w.file.name for w in outcome.written)
    log = NudgeLog.read(cohort / "outbox")
    assert ids[1] not in {entry.relationship for entry in log.entries}


# --------------------------------------------------------------------------- a relationship of three


def with_a_circle(book):
    """``book`` with two Pairs rows of one mentor given one id: a relationship of three (mentor and two
    mentees), as a Circles sheet will give it. The Pairs sheet itself renumbers a repeated Pair ID on
    reading, so the book is shaped in memory; everything else (schedule, logs, outbox) is real files."""
    pairs = book.pairs.copy()
    first_row = pairs.groupby("mentor_email")["pair_id"].transform("first")
    counts = pairs.groupby("mentor_email")["pair_id"].transform("size")
    mentor = pairs.loc[counts >= 2, "mentor_email"].iloc[0]
    rows = pairs.index[pairs["mentor_email"] == mentor][:2]
    kept, merged = pairs.loc[rows[0], "pair_id"], pairs.loc[rows[1], "pair_id"]
    pairs.loc[rows[1], "pair_id"] = kept
    assert (first_row.loc[rows] == kept).all()
    book.pairs = pairs
    return book, kept, merged


def test_a_circle_of_three_is_nudged_to_all_three_and_delivered_to_exactly_them(cli, cohort, monkeypatch):
    config = load_config(cohort / "mentor.toml")
    book, kept, merged = with_a_circle(read_pairing_workbook(cohort / "pairs.xlsx", config))
    circle = next(r for r in book.relationships() if r.id == kept)
    people = [*(m.email for m in circle.others), *(m.email for m in circle.leads)]
    assert len(people) == 3 and merged not in {r.id for r in book.relationships()}
    sheet = cohort / "calendar" / "checkins.xlsx"
    log_held(sheet, {pair: {1} for pair in members(cohort) if pair not in (kept, merged)},
             on=INTRODUCED + dt.timedelta(days=3))
    logs = [sheet]
    schedule = read_schedule(logs)
    rows, problems = read_checkin_logs(logs, book, config, schedule=schedule)
    report = build_report(book, schedule, rows, config, as_of=INTRODUCED + dt.timedelta(days=14), problems=problems)
    for intro in (cohort / "outbox").glob("intro-*.eml"):
        intro.unlink()  # only the reminders go to the server here
    outcome = nudge_outbox(book, report, config, cohort / "outbox", introduced=INTRODUCED)
    assert reminded(outcome) == [(kept, "first-meeting")]
    (written,) = outcome.written
    assert to_addresses(written.file) == people and written.recipients == 3
    text = parse_both(written.file)[0].get_body(("plain",)).get_content()
    names = [m.name for m in (*circle.others, *circle.leads)]
    assert text.startswith(f"Dear {names[0]}, {names[1]} and {names[2]},") and "14 days since we introduced you" in text
    assert [e.email for e in NudgeLog.read(cohort / "outbox").entries] == people  # each of the three logged

    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        monkeypatch.chdir(cohort)
        sent = cli("send", "outbox", "--smtp-host", "127.0.0.1", "--smtp-port", str(controller.port))
    finally:
        controller.stop()
    assert sent.exit_code == 0, sent.stderr
    assert [(mail_from, rcpts) for mail_from, rcpts, _ in handler.received] == [(COORDINATOR, people)]


# --------------------------------------------------------------------------- the introduction date


def test_without_introduced_each_introduction_is_dated_by_the_send_log(cli, cohort, monkeypatch):
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        monkeypatch.chdir(cohort)
        sent = cli("send", "outbox", "--smtp-host", "127.0.0.1", "--smtp-port", str(controller.port))
    finally:
        controller.stop()
    assert sent.exit_code == 0, sent.stderr
    lines = [line.split("\t") for line in (cohort / "outbox" / "sent" / "sent.log").read_text().splitlines()]
    days = {line[0][:10] for line in lines if line[1] == "sent"}
    assert len(days) == 1  # one run: one day (the run does not straddle midnight in practice)
    sent_day = dt.date.fromisoformat(days.pop())
    sheet = cohort / "calendar" / "checkins.xlsx"
    ids = sorted({pair for pair, _ in starts(sheet)})
    log_held(sheet, {pair: {1} for pair in ids[1:]}, on=sent_day)
    early = run_nudge(cohort, sent_day + dt.timedelta(days=13), introduced=None, out="outbox")
    assert reminded(early) == [] and early.introductions.source.endswith("sent.log")
    due = run_nudge(cohort, sent_day + dt.timedelta(days=14), introduced=None, out="outbox")
    assert reminded(due) == [(ids[0], "first-meeting")]
    assert due.plan.not_introduced == []


def test_a_relationship_whose_introduction_was_never_sent_is_named_not_guessed(cohort):
    outbox = cohort / "outbox"
    sent_dir = outbox / "sent"
    sent_dir.mkdir()
    names = sorted(p.name for p in outbox.glob("intro-*.eml"))
    # the send log as mentor send writes it, for every introduction but the first
    (sent_dir / "sent.log").write_text("".join(f"2027-01-04T09:00:00Z\tsent\t{name}\t<id-{name}>\t2 recipient(s)\n"
                                               for name in names[1:]), encoding="utf-8")
    outcome = run_nudge(cohort, dt.date(2027, 1, 18), introduced=None)
    first = names[0].removeprefix("intro-").removesuffix(".eml").upper()
    assert outcome.plan.not_introduced == [first]
    # never introduced, never met: not reminded of anything (it missed a check-in it may not know of)
    assert first not in {due.relationship.id for due in outcome.plan.reminders}
    assert outcome.plan.escalations == []
    assert len(outcome.plan.reminders) == len(names) - 1


def test_a_reminder_for_one_relationship_does_not_hold_back_another_of_the_same_person(cohort):
    """A mentor of two pairs reminded about the first: the second pair is another thing, reminded on its own day."""
    config = load_config(cohort / "mentor.toml")
    book = read_pairing_workbook(cohort / "pairs.xlsx", config)
    mentor = book.pairs["mentor_email"].value_counts().index[0]
    first, second = sorted(book.pairs.loc[book.pairs["mentor_email"] == mentor, "pair_id"])[:2]
    sheet = cohort / "calendar" / "checkins.xlsx"
    log_held(sheet, {pair: {1} for pair in members(cohort) if pair not in (first, second)}, on=dt.date(2027, 1, 6))
    sent_dir = cohort / "outbox" / "sent"
    sent_dir.mkdir()
    # the send log as mentor send writes it: the second pair's introduction went out six days later
    (sent_dir / "sent.log").write_text("".join(
        f"{'2027-01-10' if name == f'intro-{second.lower()}.eml' else '2027-01-04'}T09:00:00Z\tsent\t{name}\t<{name}>\t2\n"
        for name in sorted(p.name for p in (cohort / "outbox").glob("intro-*.eml"))), encoding="utf-8")
    assert reminded(run_nudge(cohort, dt.date(2027, 1, 18), introduced=None)) == [(first, "first-meeting")]
    later = run_nudge(cohort, dt.date(2027, 1, 24), introduced=None)
    assert reminded(later) == [(second, "first-meeting")]
    assert [(w.relationship, w.kind) for w in later.plan.waiting] == [(first, "first-meeting")]


def test_the_log_counts_only_the_people_who_are_members_now(cohort):
    """A row for someone no longer in the relationship (swapped out by hand) does not hold its members back."""
    sheet = cohort / "calendar" / "checkins.xlsx"
    ids = sorted({pair for pair, _ in starts(sheet)})
    log_held(sheet, {pair: {1} for pair in ids[1:]}, on=INTRODUCED + dt.timedelta(days=3))
    as_of = INTRODUCED + dt.timedelta(days=20)
    member = members(cohort)[ids[0]][0]
    (cohort / "outbox" / "nudges.csv").write_text(
        "as_of,relationship,email,kind,file\n"
        f"{as_of - dt.timedelta(days=2)},{ids[0]},swapped.out@example.org,first-meeting,old.eml\n"
        f"{as_of - dt.timedelta(days=2)},{ids[1]},{member.upper()},first-meeting,other.eml\n", encoding="utf-8")
    outcome = run_nudge(cohort, as_of)
    assert reminded(outcome) == [(ids[0], "first-meeting")]
    text = (cohort / "outbox" / "nudges.csv").read_text(encoding="utf-8")
    assert text.startswith("as_of,relationship,email,kind,file\n" + f"{as_of - dt.timedelta(days=2)},{ids[0]},swapped")
    assert text.count("\n") == 3 + len(members(cohort)[ids[0]])  # appended, the earlier rows kept as they were


def test_no_introduction_date_at_all_stops_with_one_line(cli, cohort, monkeypatch):
    result = nudge_cli(cli, cohort, monkeypatch, "--as-of", "2027-02-01", code=1)
    assert result.stderr.count("\n") == 1 and "--introduced" in result.stderr
    assert nudge_files(cohort / "outbox") == [] and not (cohort / "outbox" / "nudges.csv").exists()


# --------------------------------------------------------------------------- bad input, hostile cells


@pytest.mark.parametrize("value", ["2027-13-01", "01/02/2027", "tomorrow"])
def test_a_bad_as_of_is_one_line(cli, cohort, monkeypatch, value):
    result = nudge_cli(cli, cohort, monkeypatch, "--as-of", value, "--introduced", "2027-01-04", code=2)
    errors = [line for line in result.stderr.splitlines() if "Error" in line]
    assert len(errors) == 1 and "--as-of" in errors[0] and "YYYY-MM-DD" in errors[0]


def test_an_unreadable_log_is_one_line_naming_it(cli, cohort, monkeypatch):
    (cohort / "form.xlsx").write_text("not a workbook", encoding="utf-8")
    monkeypatch.chdir(cohort)
    result = cli("nudge", "pairs.xlsx", "calendar/checkins.xlsx", "form.xlsx", "--as-of", "2027-02-01",
                 "--introduced", "2027-01-04")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "form.xlsx" in result.stderr
    missing = cli("nudge", "pairs.xlsx", "nowhere.csv", "--as-of", "2027-02-01", "--introduced", "2027-01-04")
    assert missing.exit_code == 1 and missing.stderr.count("\n") == 1 and "nowhere.csv" in missing.stderr
    assert nudge_files(cohort / "outbox") == []


def test_a_broken_nudge_log_row_stops_the_run_naming_the_row(cli, cohort, monkeypatch):
    (cohort / "outbox" / "nudges.csv").write_text("as_of,relationship,email,kind,file\n2027-01-20,P001,a@example.org,"
                                                  "first-meeting,x.eml\nyesterday,P002,b@example.org,first-meeting,y.eml\n",
                                                  encoding="utf-8")
    result = nudge_cli(cli, cohort, monkeypatch, "--as-of", "2027-02-01", "--introduced", "2027-01-04", code=1)
    assert result.stderr.count("\n") == 1 and "nudges.csv" in result.stderr and "row 3" in result.stderr


def test_introduced_after_as_of_is_refused(cli, cohort, monkeypatch):
    result = nudge_cli(cli, cohort, monkeypatch, "--as-of", "2027-02-01", "--introduced", "2027-02-02", code=1)
    assert result.stderr.count("\n") == 1 and "after --as-of" in result.stderr


def test_hostile_names_stay_out_of_headers_and_live_html(cohort):
    people = members(cohort)
    pair = min(people)
    book = openpyxl.load_workbook(cohort / "pairs.xlsx")
    ws = book["People"]  # names come from People (the email is the identity key)
    header = [cell.value for cell in ws[1]]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, header.index("Email") + 1).value == people[pair][0])
    ws.cell(row, header.index("Name") + 1, 'Eve <script>alert(1)</script>\r\nBcc: spy@evil.example, "x@evil.example"')
    book.save(cohort / "pairs.xlsx")
    outcome = run_nudge(cohort, INTRODUCED + dt.timedelta(days=50))  # nobody met: reminders and a digest
    reminder = next(w.file for w in outcome.written if w.relationships == [pair] and w.kind == "first-meeting")
    digest = next(w.file for w in outcome.written if w.kind == "escalation")
    assert to_addresses(reminder) == people[pair] and to_addresses(digest) == [COORDINATOR]
    for path in (reminder, digest):
        modern, _ = parse_both(path)
        headers = "\n".join(f"{k}: {v}" for k, v in modern.items())
        assert "@evil.example" not in headers and modern["Bcc"] is None  # the name is text, never an address
        html = modern.get_body(("html",)).get_content()
        assert "<script>" not in html and "&lt;script&gt;" in html


def test_nudge_help_has_an_example(cli):
    result = cli("nudge", "--help")
    assert result.exit_code == 0 and "Example: mentor nudge pairs.xlsx" in result.stdout

"""The "Done when" of issues 17 and 16: whole programmes on the bundled example, as a coordinator runs them.

Every step is a real ``python -m mentorcli`` process (``SOURCE_DATE_EPOCH`` set) on real files in one
cohort folder: the example's signups and mentor.toml, the workbook ``match`` writes, the
``checkins.xlsx`` ``schedule`` writes and openpyxl fills in as the coordinator would, Google Forms
CSV exports of two surveys, and ``mentor send`` delivering the outbox to a real SMTP server
(aiosmtpd) on 127.0.0.1.

Issue 17: match, schedule, introduce, two months of logs (one pair never logs anything, one misses
its second check-in, one is ended with ``mentor end``), nudges to exactly those that need them and
nothing new on a rerun, the outbox delivered each to its own people, a rematch that never puts the
ended pair together again, surveys read back with every bad row reported by row, a bad Status
value reported by row, the final report; nothing private in a sponsor's view, every thank-you
about its reader's own relationship only.

Issue 16: ``--circles 4`` and ``--peer-circles 5`` through match, schedule, introduce, a filled
checkins.xlsx and report: every circle keeps every rule between every two members, each
introduction holds its own circle only, the sponsor summary counts circles and names nobody.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

import icalendar
import openpyxl
import pytest

from mentorcli.config import load_config
from mentorcli.model import PairingBook, Relationship
from mentorcli.schedule import participant_file_name
from mentorcli.surveys import question_set
from mentorcli.workbook import read_pair_list, read_pairing_workbook
from tests.circle_checks import rule_breaks
from tests.conftest import EXAMPLES, ROOT
from tests.test_send import Recorder, free_port

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller

EPOCH = "1798761600"                  # 2027-01-01: the runs' own "now"
START = dt.date(2027, 1, 4)           # first day of the schedule, and of the introductions
ENDED_ON = dt.date(2027, 2, 1)        # after every first check-in, before every second one
CLOSE = dt.date(2027, 3, 1)
COORDINATOR = "mentoring@example.org"  # examples/mentor.toml
SPONSOR = "sponsor@example.org"
NOTE = "PRIVATE-NOTE-7f3a"
COMMENT = "PRIVATE-COMMENT-91c2"
REASON = "PRIVATE-REASON-moved to the Lisbon office"


# --------------------------------------------------------------------------- helpers


def mentor(folder: Path, *args: object, code: int = 0) -> subprocess.CompletedProcess[str]:
    """``mentor ARGS`` as a real process in ``folder``; it must exit ``code`` and never with a traceback."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(ROOT)}
    env.pop("MENTOR_SMTP_PASSWORD", None)
    done = subprocess.run([sys.executable, "-m", "mentorcli", *map(str, args)], check=False, cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == code, (args, done.stderr)
    assert "Traceback" not in done.stderr and "please report" not in done.stderr
    return done


def mentor_json(folder: Path, *args: object, code: int = 0) -> dict:
    return json.loads(mentor(folder, *args, "--json", code=code).stdout)


def parse(path_or_bytes: Path | bytes, policy=email.policy.default) -> Message:
    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    return BytesParser(policy=policy).parsebytes(data)


def body_text(message: Message) -> str:
    """Every text part decoded, as a mail client shows it."""
    texts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            texts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(texts)


def to_of(path: Path) -> list[str]:
    """The To addresses as two parsers read them (they must agree); no Cc or Bcc."""
    modern, legacy = parse(path), parse(path, email.policy.compat32)
    first = [a.addr_spec.lower() for a in modern["To"].addresses]
    assert first == [a.lower() for _, a in getaddresses(legacy.get_all("To", []))]
    assert modern["Cc"] is None and modern["Bcc"] is None
    return first


def mentions(text: str, value: str) -> bool:
    """``value`` as a whole word or address in ``text`` (not inside a longer name or address)."""
    return re.search(r"(?<![\w.@-])" + re.escape(value) + r"(?![\w@-])", text, re.IGNORECASE) is not None


def everyone(book: PairingBook) -> dict[str, str]:
    """email -> name of every person the workbook knows (People sheet)."""
    return {str(e).lower(): str(n) for e, n in zip(book.people["email"], book.people["name"])}


def checkin_sheet_rows(sheet: Path) -> list[dict]:
    rows = openpyxl.load_workbook(sheet, read_only=True)["Check-ins"].iter_rows(values_only=True)
    header = next(rows)
    return [dict(zip(header, row)) for row in rows]


def fill_checkins(sheet: Path, held: dict[str, set[int]]) -> None:
    """Log check-ins in checkins.xlsx as the coordinator does: Held Yes, the day held, a rating, goal
    progress and a private note, on every row of the occurrences given per relationship id."""
    book = openpyxl.load_workbook(sheet)
    ws = book["Check-ins"]
    header = [cell.value for cell in ws[1]]
    col = {name: header.index(name) + 1 for name in header}
    for row in range(2, ws.max_row + 1):
        rid = ws.cell(row, col["Pair ID"]).value
        number = int(ws.cell(row, col["Occurrence"]).value)
        if number in held.get(rid, set()):
            ws.cell(row, col["Held"], "Yes")
            ws.cell(row, col["Date Held"], ws.cell(row, col["Start (UTC)"]).value.date())
            ws.cell(row, col["Rating"], 4)
            ws.cell(row, col["Goal Progress"], f"{25 * number}%")
            ws.cell(row, col["Notes"], f"{NOTE} talked about a job change")
    book.save(sheet)


def google_csv(path: Path, kind: str, rows: list[dict[str, str]]) -> Path:
    """A Google Forms export: Timestamp, then each shipped question's text as its header."""
    questions = question_set(kind).questions
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Timestamp", *(q.text for q in questions)])
        for row in rows:
            writer.writerow([row.get("timestamp", ""), *(row.get(q.field, "") for q in questions)])
    return path


class Smtp:
    """A real SMTP server on 127.0.0.1 for one ``mentor send``."""

    def __enter__(self) -> tuple[Recorder, int]:
        self.handler = Recorder()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port())
        self.controller.start()
        return self.handler, self.controller.port

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def delivered_to_their_own_people(folder: Path, outbox: str, expected: dict[str, set[str]]) -> list[tuple[str, list[str]]]:
    """``mentor send OUTBOX`` to a real server; every message (known by its Message-ID, from the
    draft it was written as) reaches exactly the addresses ``expected`` gives for that draft.
    Returns (draft, envelope recipients) per message received."""
    drafts = {parse(p)["Message-ID"]: p.name for p in (folder / outbox).glob("*.eml")}
    assert set(drafts.values()) == set(expected)
    with Smtp() as (handler, port):
        mentor(folder, "send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", port)
    got = []
    for _, rcpts, content in handler.received:
        name = drafts[parse(content)["Message-ID"]]
        assert {r.lower() for r in rcpts} == expected[name], name
        got.append((name, rcpts))
    assert sorted(n for n, _ in got) == sorted(expected)  # each draft exactly once
    return got


# --------------------------------------------------------------------------- issue 17: the programme


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """match -> schedule -> introduce -> send -> two months logged -> end -> nudge (twice) -> send, on
    the bundled example; returns what the tests look at."""
    folder = tmp_path_factory.mktemp("programme")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    state: dict = {"folder": folder}
    state["match"] = mentor_json(folder, "match", "signups.xlsx", "-o", "pairs.xlsx")
    mentor_json(folder, "schedule", "pairs.xlsx", "--start", START, "--months", 6, "--out", "calendar")
    mentor_json(folder, "introduce", "pairs.xlsx", "--calendar", "calendar", "--out", "outbox")
    config = load_config(folder / "mentor.toml")
    book = read_pairing_workbook(folder / "pairs.xlsx", config)
    relationships = {r.id: r for r in book.relationships()}
    state["relationships"], state["people"] = relationships, everyone(book)
    members = {rid: {m.email.lower() for m in r.members} for rid, r in relationships.items()}

    # the introductions go out, each to exactly its relationship's members
    state["intro_sent"] = delivered_to_their_own_people(
        folder, "outbox", {f"intro-{rid.lower()}.eml": members[rid] for rid in relationships})

    # two months of logs: everyone met at occurrences 1 and 2, except one pair that never logs
    # anything, one that missed its second, and one that met once and then ended
    sheet = folder / "calendar" / "checkins.xlsx"
    rows = checkin_sheet_rows(sheet)
    starts = {(r["Pair ID"], int(r["Occurrence"])): r["Start (UTC)"].date() for r in rows}
    pairs_only = sorted(rid for rid, r in relationships.items() if len(r.members) == 2)
    silent, missed, ended = pairs_only[4], pairs_only[7], pairs_only[10]
    assert max(d for (_, k), d in starts.items() if k == 1) < ENDED_ON < min(d for (_, k), d in starts.items() if k == 2)
    fill_checkins(sheet, {rid: ({1} if rid in (missed, ended) else {1, 2}) for rid in relationships if rid != silent})
    state.update(silent=silent, missed=missed, ended=ended, starts=starts)

    state["end"] = mentor_json(folder, "end", "pairs.xlsx", ended, "--reason", REASON, "--on", ENDED_ON)

    as_of = max(d for (_, k), d in starts.items() if k == 2) + dt.timedelta(days=1)
    assert as_of < min(d for (_, k), d in starts.items() if k == 3)  # every second check-in due, no third
    state["as_of"] = as_of
    nudge = ("nudge", "pairs.xlsx", "calendar/checkins.xlsx", "--as-of", as_of, "--introduced", START, "--out", "outbox")
    state["nudge"] = mentor_json(folder, *nudge)
    state["nudge_files"] = sorted(p.name for p in (folder / "outbox").glob("nudge-*.eml"))
    state["nudge_log"] = (folder / "outbox" / "nudges.csv").read_bytes()
    state["rerun"] = mentor_json(folder, *nudge)
    state["rerun_files"] = sorted(p.name for p in (folder / "outbox").glob("nudge-*.eml"))
    state["rerun_log"] = (folder / "outbox" / "nudges.csv").read_bytes()

    expected = {name: ({COORDINATOR} if "digest" in name else members[name.split("-")[1].upper()])
                for name in state["nudge_files"]}
    state["nudge_sent"] = delivered_to_their_own_people(folder, "outbox", expected)
    return state


def test_a_whole_programme_runs_end_to_end(programme: dict) -> None:
    """Match, schedule, introduce, send, end, nudge, rerun, send: the steps as the coordinator runs them."""
    folder, relationships = programme["folder"], programme["relationships"]
    silent, missed, ended, as_of = programme["silent"], programme["missed"], programme["ended"], programme["as_of"]
    assert programme["match"]["pairs"] > 0
    assert len(programme["intro_sent"]) == len(relationships)

    # mentor end: the ended pair's rows leave Pairs for the Ended sheet
    assert programme["end"]["ended"] == ended and programme["end"]["ended_on"] == ENDED_ON.isoformat()
    config = load_config(folder / "mentor.toml")
    book = read_pairing_workbook(folder / "pairs.xlsx", config)
    assert ended not in {r.id for r in book.relationships()}
    assert [(e.relationship.id, e.ended_on) for e in book.ended] == [(ended, ENDED_ON)]

    # nudges: exactly the silent pair (first meeting) and the pair that missed its second check-in;
    # never the ended one (it also missed its second); the coordinator's digest for the long silent
    answer = programme["nudge"]
    assert answer["reminded"] == [{"id": silent, "kind": "first-meeting"}, {"id": missed, "kind": "missed-checkins"}]
    silence_missed = (as_of - programme["starts"][(missed, 1)]).days
    assert (as_of - START).days >= 44
    assert answer["escalated"] == sorted([silent, *([missed] if silence_missed >= 44 else [])])
    assert programme["nudge_files"] == sorted([f"nudge-{silent.lower()}-first-meeting-{as_of}.eml",
                                               f"nudge-{missed.lower()}-missed-checkins-{as_of}.eml",
                                               f"nudge-digest-{as_of}.eml"])
    assert ended in json.dumps(answer["ended"])

    # a rerun writes nothing new and leaves the log as it was
    rerun = programme["rerun"]
    assert rerun["written"] == [] and rerun["reminded"] == [] and rerun["nothing_new"] is True
    assert programme["rerun_files"] == programme["nudge_files"] and programme["rerun_log"] == programme["nudge_log"]

    # delivered: the reminders to the pair's two people, the digest to the coordinator only
    sent = dict(programme["nudge_sent"])
    assert len(sent) == 3
    for name, rcpts in sent.items():
        if "digest" not in name:
            assert len(rcpts) == 2
    assert not list((folder / "outbox").glob("*.eml"))  # everything moved to sent/


def test_the_digest_names_the_silent_pair_and_no_ended_one(programme: dict) -> None:
    folder, silent, ended = programme["folder"], programme["silent"], programme["ended"]
    digest = body_text(parse(folder / "outbox" / "sent" / f"nudge-digest-{programme['as_of']}.eml"))
    assert silent in digest and ended not in digest
    assert all(m.email in digest for m in programme["relationships"][silent].members)
    assert NOTE not in digest and REASON not in digest


def test_the_rematch_keeps_active_pairs_and_never_puts_the_ended_pair_together_again(programme: dict) -> None:
    folder, ended = programme["folder"], programme["ended"]
    answer = mentor_json(folder, "match", "signups.xlsx", "--keep", "pairs.xlsx", "-o", "pairs-2.xlsx")
    assert answer["pairs"] > 0
    config = load_config(folder / "mentor.toml")
    before = read_pairing_workbook(folder / "pairs.xlsx", config)
    after = read_pairing_workbook(folder / "pairs-2.xlsx", config)
    gone = programme["relationships"][ended]
    ended_people = {m.email.lower() for m in gone.members}
    for relationship in after.relationships():
        assert len(ended_people & {m.email.lower() for m in relationship.members}) < 2, relationship.id
        assert relationship.id != ended  # an ended id is never given to a new pair
    # the active pairs are kept as they were
    old = {(r.id, frozenset(m.email for m in r.members)) for r in before.relationships()}
    new = {(r.id, frozenset(m.email for m in r.members)) for r in after.relationships()}
    assert old <= new
    # the history goes with it
    assert [(e.relationship.id, e.ended_on) for e in after.ended] == [(ended, ENDED_ON)]


def single_relationship_people(programme: dict, book: PairingBook) -> list[tuple[str, Relationship]]:
    """(email, relationship) of people in exactly one active relationship, mentee side first."""
    seen: dict[str, list[Relationship]] = {}
    for r in book.relationships():
        for m in r.members:
            seen.setdefault(m.email.lower(), []).append(r)
    return [(e, rs[0]) for e, rs in sorted(seen.items()) if len(rs) == 1]


@pytest.fixture(scope="module")
def surveys(programme: dict) -> dict:
    """A pulse and a closing export (Google Forms CSV) with good rows and bad ones, read back by
    ``mentor report --surveys``; then ``mentor report --final`` with them."""
    folder = programme["folder"]
    config = load_config(folder / "mentor.toml")
    book = read_pairing_workbook(folder / "pairs.xlsx", config)
    ones = single_relationship_people(programme, book)
    (a, rel_a), (b, rel_b), (c, _) = ones[0], ones[1], ones[2]
    in_none = min(set(programme["people"]) - {m.email.lower() for r in book.relationships() for m in r.members}
                  - {m.email.lower() for e in book.ended for m in e.relationship.members})
    pulse = google_csv(folder / "pulse.csv", "pulse", [
        {"timestamp": "2027/02/01 10:00:00 AM GMT", "email": a, "quality": "4", "goal_progress": "2",
         "comments": f"{COMMENT} pulse"},                                                             # 2 good
        {"timestamp": "2027/02/01 11:00:00 AM GMT", "email": b, "quality": "5 - Excellent", "goal_progress": "3"},  # 3 good
        {"timestamp": "2027/02/01 11:30:00 AM GMT", "email": "nobody@example.net", "quality": "4",
         "goal_progress": "3"},                                                                        # 4 unknown email
        {"timestamp": "2027/02/02 09:00:00 AM GMT", "email": c, "quality": "4 or 5", "goal_progress": "3"},  # 5 no guess
        {"timestamp": "2027/02/02 09:30:00 AM GMT", "email": "", "quality": "3", "goal_progress": "3"},      # 6 no email
        {"timestamp": "2027/02/02 10:00:00 AM GMT", "email": in_none, "quality": "3", "goal_progress": "3"},  # 7 in none
    ])
    closing = google_csv(folder / "closing.csv", "closing", [
        {"timestamp": "2027/02/26 10:00:00 AM GMT", "email": a, "quality": "5", "recommend": "9",
         "goal_progress": "4", "comments": f"{COMMENT} closing"},                                      # 2 good
        {"timestamp": "2027/02/26 11:00:00 AM GMT", "email": b, "quality": "4", "recommend": "11",
         "goal_progress": "4"},                                                                        # 3 off the scale
        {"timestamp": "2027/02/26 12:00:00 PM GMT", "email": c, "quality": "4", "recommend": "8",
         "goal_progress": "lots"},                                                                     # 4 unreadable
    ])
    as_of = CLOSE.isoformat()
    report = mentor_json(folder, "report", "pairs.xlsx", "calendar/checkins.xlsx", "--as-of", as_of, "--out", "reports",
                         "--surveys", pulse.name, "--surveys", closing.name)
    final = mentor_json(folder, "report", "pairs.xlsx", "calendar/checkins.xlsx", "--final", "--as-of", as_of,
                        "--out", "closing", "--surveys", pulse.name, "--surveys", closing.name)
    return {"report": report, "final": final, "a": a, "rel_a": rel_a, "b": b, "rel_b": rel_b, "c": c,
            "in_none": in_none}


def problem_rows(answer: dict, name: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for p in answer["problems"]:
        if Path(p["file"]).name == name:
            found.setdefault(p["row"], []).append(p["problem"])
    return found


def test_surveys_are_read_back_and_every_bad_row_is_reported_by_row(programme: dict, surveys: dict) -> None:
    report = surveys["report"]
    pulse, closing = problem_rows(report, "pulse.csv"), problem_rows(report, "closing.csv")
    assert sorted(pulse) == [4, 5, 6, 7], pulse
    assert sorted(closing) == [3, 4], closing
    assert any("11" in text or "0-10" in text for text in closing[3])
    figures = report["surveys"]
    # a row with one unreadable value is used with that value blank; an unknown, blank or unplaced email is not
    assert figures["by_kind"]["pulse"] == 3 and figures["by_kind"]["closing"] == 3
    assert figures["responses"] == 6 and figures["respondents"] == 3
    assert "@" not in json.dumps(figures) and COMMENT not in json.dumps(report)
    # the coordinator's private view has the comments
    assert COMMENT in (programme["folder"] / "reports" / "cohort.html").read_text(encoding="utf-8")


def sponsor_drafts(folder: Path) -> list[Path]:
    return [*(folder / "reports" / "outbox").glob("sponsor-*.eml"), *(folder / "closing" / "outbox").glob("sponsor-*.eml")]


def test_nothing_private_in_a_sponsors_view(programme: dict, surveys: dict) -> None:
    folder = programme["folder"]
    drafts = sponsor_drafts(folder)
    assert {p.parent.parent.name for p in drafts} == {"reports", "closing"}
    people = programme["people"]
    for path in drafts:
        assert to_of(path) == [SPONSOR]
        text = body_text(parse(path)) + "\n" + path.read_text(encoding="utf-8", errors="replace")
        for address, name in people.items():
            assert not mentions(text, address) and not mentions(text, name), (path.name, name)
        for private in (NOTE, COMMENT, REASON, "Lisbon", "job change"):
            assert private not in text, (path.name, private)
    final_json = json.dumps(surveys["final"])
    assert REASON not in final_json and NOTE not in final_json and COMMENT not in final_json


def test_every_thank_you_names_only_its_readers_own_relationship(programme: dict, surveys: dict) -> None:
    folder, people = programme["folder"], programme["people"]
    book = read_pairing_workbook(folder / "pairs.xlsx", load_config(folder / "mentor.toml"))
    relationships = [*book.relationships(), *(e.relationship for e in book.ended)]
    drafts = sorted((folder / "closing" / "outbox").glob("thanks-*.eml"))
    participants = {m.email.lower() for r in relationships for m in r.members}
    assert {to_of(p)[0] for p in drafts} == participants and len(drafts) == len(participants)
    for path in drafts:
        (reader,) = to_of(path)
        mine = [r for r in relationships if reader in {m.email.lower() for m in r.members}]
        allowed = {m.email.lower() for r in mine for m in r.members}
        allowed_names = {people[e] for e in allowed}
        text = body_text(parse(path))
        for address, name in people.items():
            if address not in allowed:
                assert not mentions(text, address), (path.name, address)
                if name not in allowed_names:
                    assert not mentions(text, name), (path.name, name)
        for r in mine:
            for m in r.members:
                if m.email.lower() != reader:
                    assert mentions(text, m.name), (path.name, m.name)
        for private in (NOTE, COMMENT, REASON, "Lisbon"):
            assert private not in text, (path.name, private)
    # a reader's own survey answers are in their own thank-you, nobody else's
    own = body_text(parse(next(p for p in drafts if to_of(p) == [surveys["a"]])))
    assert "2.0 at the first, 4.0 at the last" in own


def test_the_final_report_counts_the_ended_pair_and_every_relationship(programme: dict, surveys: dict) -> None:
    final = surveys["final"]
    text = json.dumps(final)
    assert programme["ended"] in text
    closing_xlsx = programme["folder"] / "closing" / "closing.xlsx"
    sheet = openpyxl.load_workbook(closing_xlsx)["Relationships"]
    ids = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(programme["relationships"]) <= ids


def test_every_bad_status_value_is_reported_by_row(programme: dict) -> None:
    """The Status column typed by the coordinator: a typo and an ambiguous date are each reported
    on their row by the next command, and those relationships go on (nothing guessed)."""
    folder = programme["folder"]
    copy = folder / "status.xlsx"
    shutil.copy(folder / "pairs.xlsx", copy)
    wb = openpyxl.load_workbook(copy)
    ws = wb["Pairs"]
    status = ws.max_column + 1
    ws.cell(1, status, "Status")
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value]
    typo_row, ambiguous_row = rows[0], rows[2]
    ws.cell(typo_row, status, "Endd")
    ws.cell(ambiguous_row, status, "Ended 10/02/2027")
    wb.save(copy)
    done = mentor(folder, "report", "status.xlsx", "calendar/checkins.xlsx", "--as-of", CLOSE, "--out", "status-reports")
    found = re.findall(r"^error: status\.xlsx, sheet Pairs, row (\d+), column 'Status': (.*)$", done.stderr, re.MULTILINE)
    assert [int(row) for row, _ in found] == [typo_row, ambiguous_row], done.stderr
    assert "either way round" in found[1][1] and "Endd" not in done.stderr  # row numbers, not cell values
    book = read_pairing_workbook(copy, load_config(folder / "mentor.toml"))
    ids = {r.id for r in book.relationships()}
    assert ws.cell(typo_row, 1).value in ids and ws.cell(ambiguous_row, 1).value in ids


# --------------------------------------------------------------------------- issue 16: circles


def members_by_circle(book: PairingBook) -> dict[str, list[str]]:
    return {r.id: [m.email.lower() for m in r.members] for r in book.relationships()}


EVERYONE_PEERS = '\n[circles]\npeer_roles = ["mentor", "mentee", "both"]\n'
"""The README's walk-through: the example's 150 signups all join peer circles (only 10 signed up as "both")."""


@pytest.fixture(scope="module", params=[("--circles", 4, ""), ("--peer-circles", 5, ""), ("--peer-circles", 5, EVERYONE_PEERS)],
                ids=["circles-4", "peer-circles-5", "peer-circles-5-everyone"])
def circle_programme(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    option, size, settings = request.param
    folder = tmp_path_factory.mktemp(option.strip("-"))
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    with open(folder / "mentor.toml", "a", encoding="utf-8") as toml:
        toml.write(settings)
    state: dict = {"folder": folder, "option": option, "size": size, "everyone": bool(settings)}
    # the earlier 1:1 pairs must not meet again in a circle (--avoid-pairs): a rule the best circles would break
    mentor_json(folder, "match", "signups.xlsx", "-o", "pairs.xlsx")
    state["match"] = mentor_json(folder, "match", "signups.xlsx", option, size, "--avoid-pairs", "pairs.xlsx",
                                 "-o", "circles.xlsx")
    mentor_json(folder, "schedule", "circles.xlsx", "--start", START, "--months", 3, "--out", "calendar")
    mentor_json(folder, "introduce", "circles.xlsx", "--calendar", "calendar", "--out", "outbox")
    sheet = folder / "calendar" / "checkins.xlsx"
    book = read_pairing_workbook(folder / "circles.xlsx", load_config(folder / "mentor.toml"))
    ids = sorted(r.id for r in book.relationships())
    fill_checkins(sheet, {rid: {1, 2} for rid in ids[1:]})  # the first circle never meets
    state["report"] = mentor_json(folder, "report", "circles.xlsx", "calendar/checkins.xlsx", "--as-of", "2027-03-20",
                                  "--out", "reports")
    state["book"] = book
    return state


def test_circle_programmes_run_end_to_end(circle_programme: dict) -> None:
    folder, book, size = circle_programme["folder"], circle_programme["book"], circle_programme["size"]
    config = load_config(folder / "mentor.toml")
    assert book.circles and book.problems == []
    circles = [r for r in book.relationships()]
    assert len(circles) >= (20 if circle_programme["everyone"] else 1)  # README: 26 peer circles of 3 to 5
    peer = circle_programme["option"] == "--peer-circles"
    for circle in circles:
        roles = [m.role for m in circle.members]
        if peer:
            assert roles[0] == "facilitator" and set(roles[1:]) == {"peer"} and len(circle.members) <= size
        else:
            assert roles[0] == "mentor" and set(roles[1:]) == {"mentee"} and len(circle.members) <= size + 1

    # everyone in People is in a circle or on Unmatched with a reason (nobody left out unseen)
    unmatched = {str(r[1]).lower(): r[3] for r in openpyxl.load_workbook(folder / "circles.xlsx")["Unmatched"]
                 .iter_rows(min_row=2, values_only=True)}
    placed = {m.email.lower() for c in circles for m in c.members}
    assert all(unmatched.get(e) for e in set(everyone(book)) - placed)

    # every rule between every two members (both ways round for members, lead as mentor)
    assert rule_breaks(book, config, avoid_pairs=read_pair_list(folder / "pairs.xlsx")) == []

    # one introduction per circle, to exactly its members, naming nobody from another circle
    people = everyone(book)
    circle_members = members_by_circle(book)
    drafts = sorted((folder / "outbox").glob("*.eml"))
    assert len(drafts) == len(circles)
    for path in drafts:
        to = to_of(path)
        (cid,) = [c for c, m in circle_members.items() if set(m) == set(to)]
        assert len(to) == len(circle_members[cid])
        text = body_text(parse(path))
        own_names = {people[e] for e in to}
        for address, name in people.items():
            if address not in to:
                assert not mentions(text, address), (path.name, address)
                if name not in own_names:
                    assert not mentions(text, name), (path.name, name)

    # the sponsor summary counts circles and names nobody
    assert circle_programme["report"]["totals"]["circles"] == len(circles)
    (sponsor,) = (folder / "reports" / "outbox").glob("sponsor-*.eml")
    assert to_of(sponsor) == [SPONSOR]
    text = body_text(parse(sponsor))
    assert f"Circles: {len(circles)} " in text
    raw = text + sponsor.read_text(encoding="utf-8", errors="replace")
    for address, name in people.items():
        assert not mentions(raw, address) and not mentions(raw, name), name
    assert NOTE not in raw


def test_calendars_and_invitations_call_circle_members_by_their_circle_roles(circle_programme: dict) -> None:
    """A circle's check-ins (each member's calendar, every override, the introduction's invitation)
    list its lead as Mentor or Facilitator and its members as Member or Peer, never as Mentees."""
    folder, book = circle_programme["folder"], circle_programme["book"]
    lead_word, member_word = (("Facilitator", "Peer") if circle_programme["option"] == "--peer-circles"
                              else ("Mentor", "Member"))
    names = everyone(book)
    for circle in book.relationships():
        lead, others = circle.members[0], circle.members[1:]
        invite = next(part for part in parse(folder / "outbox" / f"intro-{circle.id.lower()}.eml").iter_attachments()
                      if part.get_content_type() == "text/calendar")
        events = icalendar.Calendar.from_ical(invite.get_content()).walk("VEVENT")
        texts, uid = [str(e["DESCRIPTION"]) for e in events], str(events[0]["UID"])
        for member in circle.members:  # a mentor leading two circles has both series: this circle's only
            calendar = folder / "calendar" / participant_file_name(names[member.email.lower()], member.email)
            texts += [str(e["DESCRIPTION"]) for e in icalendar.Calendar.from_ical(calendar.read_bytes()).walk("VEVENT")
                      if str(e["UID"]) == uid]
        assert len(texts) > len(circle.members)
        for text in texts:
            assert f"{lead_word}: {lead.name} <{lead.email}>" in text, text
            for other in others:
                assert f"{member_word}: {other.name} <{other.email}>" in text, text
            assert "Mentee:" not in text and (lead_word == "Mentor" or "Mentor:" not in text), text


def test_the_readme_peer_circles_of_everyone_on_the_example(tmp_path: Path) -> None:
    """README "Circles, step by step": with ``peer_roles`` = every role, ``--peer-circles 5`` on the
    example forms 26 circles (not the single circle of its 10 "both" signups), every rule kept."""
    shutil.copy(EXAMPLES / "signups.xlsx", tmp_path / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", tmp_path / "mentor.toml")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    toml = re.search(r"cat >> mentor.toml <<'TOML'\n(.*?)TOML\n", readme, re.DOTALL)
    assert toml is not None
    with open(tmp_path / "mentor.toml", "a", encoding="utf-8") as handle:
        handle.write(toml.group(1))
    answer = mentor_json(tmp_path, "match", "signups.xlsx", "--peer-circles", 5, "-o", "peer-circles.xlsx")
    assert (answer["circles"], answer["placed"], answer["status"]) == (26, 88, "optimal")
    assert "26 circles of 3 to 5 (88 people placed,\n\"optimal\"" in readme
    config = load_config(tmp_path / "mentor.toml")
    book = read_pairing_workbook(tmp_path / "peer-circles.xlsx", config)
    assert book.problems == [] and rule_breaks(book, config) == []
    assert {len(c.members) for c in book.relationships()} <= {3, 4, 5}
    assert all(c.members[0].role == "facilitator" for c in book.relationships())


def test_checkins_sheet_names_the_circle_roles_and_every_later_step_reads_it(circle_programme: dict) -> None:
    """A circle's checkins.xlsx headers say Member / Peer and Mentor / Facilitator (a pair's say
    Mentee and Mentor); the report read the logs filled in under them (tested above), and a
    reschedule over the filled sheet reads it as its own: every logged row carried, none lost."""
    folder = circle_programme["folder"]
    member, lead = (("Peer", "Facilitator") if circle_programme["option"] == "--peer-circles" else ("Member", "Mentor"))
    sheet = folder / "calendar" / "checkins.xlsx"
    header = [c.value for c in next(openpyxl.load_workbook(sheet, read_only=True)["Check-ins"].iter_rows(max_row=1))]
    assert header[:10] == ["Pair ID", member, f"{member} Email", lead, f"{lead} Email", "Occurrence", "Start (UTC)",
                           f"{member} Local Time", f"{lead} Local Time", "Flag"]
    again = folder / "again"
    shutil.copytree(folder / "calendar", again)
    book = openpyxl.load_workbook(again / "checkins.xlsx")  # each logged row's note names its own member
    ws = book["Check-ins"]
    col = {cell.value: cell.column for cell in ws[1]}
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, col["Occurrence"]).value == 1 and row % 2:  # some members of a meeting came, some did not
            ws.cell(row, col["Held"], "Yes")
        if ws.cell(row, col["Held"]).value:
            ws.cell(row, col["Notes"], f"{ws.cell(row, col[f'{member} Email']).value} {ws.cell(row, col['Occurrence']).value}")
    book.save(again / "checkins.xlsx")
    logged = sorted((r["Pair ID"], r["Occurrence"], r[f"{member} Email"]) for r in checkin_sheet_rows(again / "checkins.xlsx")
                    if r["Held"])
    assert logged
    mentor_json(folder, "schedule", "circles.xlsx", "--start", START, "--months", 3, "--out", "again", "--force")
    assert [c.value for c in next(openpyxl.load_workbook(again / "checkins.xlsx", read_only=True)["Check-ins"]
                                  .iter_rows(max_row=1))] == header  # nothing read as a column of the coordinator's
    rows = [r for r in checkin_sheet_rows(again / "checkins.xlsx") if r["Held"]]
    assert sorted((r["Pair ID"], r["Occurrence"], r[f"{member} Email"]) for r in rows) == logged
    assert all(r["Notes"] == f"{r[f'{member} Email']} {r['Occurrence']}" for r in rows)

"""Test helper: what a whole circle cycle must have kept, checked on the files it wrote.

Shared by ``tests/test_programme.py`` (the bundled example), ``tests/test_circle_scale.py`` and
``benchmarks/bench_circle_cycle.py`` (a generated cohort of 2,000): every function reads the real
files a ``mentor`` process wrote (the circles workbook, checkins.xlsx, the .ics calendars, the .eml
drafts) and returns what is wrong, so a test asserts it is empty and the benchmark prints it.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.policy
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

import icalendar
import openpyxl
import pandas as pd

from mentorcli.config import Config, load_config
from mentorcli.match import broken_rules
from mentorcli.model import PairingBook, Relationship
from mentorcli.schedule import participant_file_name
from mentorcli.workbook import read_pairing_workbook

LEADS = {"mentor-led": ("mentor", "mentee"), "peer": ("facilitator", "peer")}
"""The roles a circle's relationship gives its lead and its other members, per kind."""


def rule_breaks(book: PairingBook, config: Config, avoid_pairs: Sequence[tuple[str, str]] = ()) -> list[tuple]:
    """(circle id, "lead" or "members", reasons) for every two members of a circle that break a rule.

    Every rule between the lead (on the mentor side) and each member; between two members, both
    ways round, every rule but the ranked choices (members never chose each other).
    """
    position = {str(e).lower(): i for i, e in enumerate(book.people["email"])}
    left, right, where = [], [], []
    for circle in book.relationships():
        lead, *others = [position[m.email.lower()] for m in circle.members]
        for member in others:
            left.append(member), right.append(lead), where.append((circle.id, "lead"))
        for one, two in itertools.permutations(others, 2):
            left.append(one), right.append(two), where.append((circle.id, "members"))
    broken = broken_rules(book.people, config, left, right, avoid_pairs=list(avoid_pairs))
    found = []
    for (cid, between), reasons in zip(where, broken):
        if between == "members":
            reasons = [r for r in reasons if "choice" not in r]
        if reasons:
            found.append((cid, between, reasons))
    return found


def role_faults(circles: Sequence[Relationship], kind: str, size: int) -> list[tuple]:
    """Circles whose roles or size are not those of ``kind`` (``size`` as given on the command line)."""
    lead_role, member_role = LEADS[kind]
    most = size + 1 if kind == "mentor-led" else size
    return [(c.id, [m.role for m in c.members]) for c in circles
            if c.members[0].role != lead_role or {m.role for m in c.members[1:]} != {member_role}
            or len(c.members) > most]


def left_out_unseen(book: PairingBook, workbook: Path) -> list[str]:
    """People neither in a circle nor on Unmatched with a reason (nobody may drop out unseen)."""
    unmatched = {str(r[1]).lower(): r[3] for r in openpyxl.load_workbook(workbook, read_only=True)["Unmatched"]
                 .iter_rows(min_row=2, values_only=True)}
    placed = {m.email.lower() for c in book.relationships() for m in c.members}
    everyone = {str(e).lower() for e in book.people["email"]}
    return sorted(e for e in everyone - placed if not unmatched.get(e))


def parse_eml(path: Path, policy=email.policy.default):
    return BytesParser(policy=policy).parsebytes(path.read_bytes())


def recipients(path: Path) -> list[str]:
    """The To addresses as two parsers read them (they must agree); no Cc or Bcc."""
    modern, legacy = parse_eml(path), parse_eml(path, email.policy.compat32)
    first = [a.addr_spec.lower() for a in modern["To"].addresses]
    assert first == [a.lower() for _, a in getaddresses(legacy.get_all("To", []))], path.name
    assert modern["Cc"] is None and modern["Bcc"] is None, path.name
    return first


def introduction_faults(book: PairingBook, outbox: Path) -> list[tuple]:
    """Circles without exactly one introduction To exactly their members, and drafts for no circle."""
    members = {r.id: sorted(m.email.lower() for m in r.members) for r in book.relationships()}
    drafts = {p.name: p for p in outbox.glob("intro-*.eml")}
    faults: list[tuple] = []
    for cid, emails in members.items():
        draft = drafts.pop(f"intro-{cid.lower()}.eml", None)
        if draft is None:
            faults.append((cid, "no introduction"))
            continue
        to = recipients(draft)
        if sorted(to) != emails or len(to) != len(set(to)):
            faults.append((cid, "To is not exactly its members", to))
    faults.extend((name, "an introduction for no circle") for name in drafts)
    return faults


def calendar_faults(book: PairingBook, calendar: Path) -> list[tuple]:
    """Each member's calendar holds one check-in series per circle they are in (a mentor may lead
    several), and every member of a circle holds the same one (its UID); no two circles share one."""
    names = {str(e).lower(): str(n) for e, n in zip(book.people["email"], book.people["name"])}
    circles = book.relationships()
    series_of: dict[str, set[str]] = {}
    faults: list[tuple] = []
    for address in sorted({m.email.lower() for c in circles for m in c.members}):
        path = calendar / participant_file_name(names[address], address)
        if not path.exists():
            faults.append((address, "no calendar"))
            continue
        masters = [e for e in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
                   if "RECURRENCE-ID" not in e and str(e.get("SUMMARY", "")).startswith("Mentoring check-in")]
        series_of[address] = {str(e["UID"]) for e in masters}
        if len(masters) != len(series_of[address]):
            faults.append((address, "a series twice"))
    circles_of: dict[str, int] = {}
    for circle in circles:
        for member in circle.members:
            circles_of[member.email.lower()] = circles_of.get(member.email.lower(), 0) + 1
    faults.extend((address, f"{len(uids)} series for {circles_of[address]} circle(s)")
                  for address, uids in series_of.items() if len(uids) != circles_of[address])
    owner: dict[str, str] = {}
    for circle in circles:
        held = [series_of.get(m.email.lower(), set()) for m in circle.members]
        common = set.intersection(*held) if held else set()
        if len(common) != 1:
            faults.append((circle.id, f"its members share {len(common)} series"))
            continue
        (uid,) = common
        if owner.setdefault(uid, circle.id) != circle.id:
            faults.append((circle.id, "shares a series with", owner[uid]))
    return faults


def standard_title(header: object) -> str:
    """A circle's checkins.xlsx header as a pair's ("Member Email" -> "Mentee Email", "Facilitator" -> "Mentor")."""
    text = str(header)
    for word, side in (("Member", "Mentee"), ("Peer", "Mentee"), ("Facilitator", "Mentor")):
        if text.startswith(word):
            return side + text[len(word):]
    return text


def checkin_rows(sheet: Path) -> list[dict]:
    """The Check-ins sheet's rows by the standard (pair) headers."""
    rows = openpyxl.load_workbook(sheet, read_only=True)["Check-ins"].iter_rows(values_only=True)
    header = [standard_title(h) for h in next(rows)]
    return [dict(zip(header, row)) for row in rows]


def schedule_faults(book: PairingBook, rows: list[dict]) -> tuple[list[tuple], int]:
    """Meetings whose members' rows disagree on the time or do not list exactly the circle's members
    under its lead; and how many meetings are at the least bad time (flagged: some member cannot make it)."""
    members = {r.id: (r.members[0].email.lower(), sorted(m.email.lower() for m in r.members[1:]))
               for r in book.relationships()}
    meetings: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        meetings.setdefault((row["Pair ID"], int(row["Occurrence"])), []).append(row)
    faults: list[tuple] = []
    flagged = 0
    for (cid, number), mine in meetings.items():
        lead, others = members[cid]
        if {str(r["Mentor Email"]).lower() for r in mine} != {lead} or \
                sorted(str(r["Mentee Email"]).lower() for r in mine) != others:
            faults.append((cid, number, "rows are not its lead and members"))
        if len({r["Start (UTC)"] for r in mine}) != 1:
            faults.append((cid, number, "members at different times"))
        flagged += any("least bad time" in str(r["Flag"] or "") for r in mine)
    unscheduled = sorted(set(members) - {cid for cid, _ in meetings})
    faults.extend((cid, "not scheduled") for cid in unscheduled)
    return faults, flagged


# --------------------------------------------------------------------------- a generated cohort, as files

SIGNUP_HEADERS = {
    "name": "Full name", "email": "Email address", "role": "I would like to be a", "goals": "What would you like help with?",
    "expertise": "What can you offer as a mentor?", "industry": "Industry", "organisation": "Organisation",
    "department": "Department", "experience": "Years of experience", "timezone": "Time zone", "languages": "Languages",
    "availability": "Availability", "format": "Preferred format", "interests": "Interests",
    "capacity": "How many mentees can you take?", "wants": "How many mentors would you like?",
    "request": "Anyone you would like to be matched with?", "avoid": "Anyone you should not be matched with?",
    "choices": "Your ranked choices",
}
"""The signup file's header per People column (``[columns]`` in the cohort's mentor.toml names each)."""


def _cell(column: str, value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(value)
    if column == "experience":
        return "" if math.isnan(float(value)) else f"{float(value):g}"  # NaN: left blank
    if column in ("capacity", "wants"):
        return str(int(value)) if int(value) else ""
    return str(value)


def write_signups(people: pd.DataFrame, path: Path) -> Path:
    """``people`` (a People frame, e.g. ``bench_match.synthetic_people``) as a form's CSV export."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SIGNUP_HEADERS.values())
        for row in people[list(SIGNUP_HEADERS)].itertuples(index=False):
            writer.writerow(_cell(c, v) for c, v in zip(SIGNUP_HEADERS, row))
    return path


def write_config(folder: Path, *, peer_roles: Sequence[str] = ("mentor", "mentee", "both"),
                 pricing_rounds: int | None = None, search_effort: float | None = None) -> Path:
    """The cohort's mentor.toml: the signup headers, a coordinator and a sponsor, ``[circles]``."""
    columns = "\n".join(f"{field} = {json.dumps(header)}" for field, header in SIGNUP_HEADERS.items())
    circles = [f"peer_roles = {json.dumps(list(peer_roles))}"]
    if pricing_rounds is not None:
        circles.append(f"pricing_rounds = {pricing_rounds}")
    if search_effort is not None:
        circles.append(f"search_effort = {search_effort}")
    text = (f'[cohort]\nname = "Generated cohort"\ncoordinator_name = "Robin Ellis"\n'
            f'coordinator_email = "{COORDINATOR}"\nsponsor_emails = ["{SPONSOR}"]\n\n'
            f"[columns]\n{columns}\n\n[circles]\n" + "\n".join(circles) + "\n")
    path = folder / "mentor.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the cycle, as real processes

COORDINATOR = "mentoring@example.org"
SPONSOR = "sponsor@example.org"
EPOCH = "1798761600"  # 2027-01-01: the runs' own "now"
START = dt.date(2027, 1, 4)
MONTHS = 6
HELD_MONTHS = 3
NOTE = "PRIVATE-NOTE-7f3a"
OPTIONS = {"mentor-led": "--circles", "peer": "--peer-circles"}


@dataclass
class Step:
    """One ``mentor`` process: its command, wall and CPU seconds (its own, children's rusage), JSON answer."""

    command: str
    wall: float
    cpu: float
    answer: dict


@dataclass
class Cycle:
    """What a whole circle cycle wrote and answered, for the checks."""

    folder: Path
    kind: str
    size: int
    steps: list[Step] = field(default_factory=list)
    never_met: list[str] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)  # (circle id, member email)
    ended: str = ""
    as_of: dt.date = START
    book: PairingBook | None = None  # the circles as scheduled, before one was ended

    def step(self, command: str) -> dict:
        return next(s.answer for s in self.steps if s.command == command)


def mentor(folder: Path, *args: object, root: Path) -> Step:
    """``mentor ARGS --json`` as a real process in ``folder``; exit 0, no traceback; timed."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(root)}
    env.pop("MENTOR_SMTP_PASSWORD", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mentorcli", *map(str, args), "--json"], check=False, cwd=folder,
                          env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, (args, done.stderr[-3000:])
    assert "Traceback" not in done.stderr and "please report" not in done.stderr, done.stderr[-3000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Step(str(args[0]), wall, cpu, json.loads(done.stdout))


def fill_checkins(sheet: Path, held: dict[str, set[int]], absent: set[tuple[str, str, int]]) -> None:
    """Log check-ins as the coordinator does: Held Yes (No for a member ``absent``), the day held, a
    rating, goal progress and a private note on every row of the occurrences ``held`` per circle."""
    book = openpyxl.load_workbook(sheet)
    ws = book["Check-ins"]
    header = [standard_title(cell.value) for cell in ws[1]]
    col = {name: header.index(name) + 1 for name in header}
    for row in range(2, ws.max_row + 1):
        rid = ws.cell(row, col["Pair ID"]).value
        number = int(ws.cell(row, col["Occurrence"]).value)
        if number in held.get(rid, set()):
            came = (rid, str(ws.cell(row, col["Mentee Email"]).value).lower(), number) not in absent
            ws.cell(row, col["Held"], "Yes" if came else "No")
            if came:
                ws.cell(row, col["Date Held"], ws.cell(row, col["Start (UTC)"]).value.date())
                ws.cell(row, col["Rating"], 4)
                ws.cell(row, col["Goal Progress"], f"{25 * number}%")
                ws.cell(row, col["Notes"], f"{NOTE} talked about a job change")
    book.save(sheet)


def run_cycle(folder: Path, signups: Path, kind: str, size: int, *, root: Path, months: int = MONTHS,
              progress: Callable[[Step], None] = lambda step: None) -> Cycle:
    """match -> schedule -> introduce -> three months logged -> report -> end one circle -> nudge,
    each a real ``mentor`` process in ``folder`` (which holds mentor.toml).

    The log: every tenth circle never meets; in every seventh the first member came to the first
    meeting only (missed the last two their circle held: "stopped coming"); the rest met three times.
    """
    cycle = Cycle(folder, kind, size)

    def run(*args: object) -> dict:
        cycle.steps.append(mentor(folder, *args, root=root))
        progress(cycle.steps[-1])
        return cycle.steps[-1].answer

    run("match", signups, OPTIONS[kind], size, "-o", "circles.xlsx")
    assert months > HELD_MONTHS
    run("schedule", "circles.xlsx", "--start", START, "--months", months, "--out", "calendar")
    run("introduce", "circles.xlsx", "--calendar", "calendar", "--out", "outbox")
    book = read_pairing_workbook(folder / "circles.xlsx", load_config(folder / "mentor.toml"))
    circles = sorted(book.relationships(), key=lambda r: r.id)
    cycle.book = book
    cycle.never_met = [c.id for i, c in enumerate(circles) if i % 10 == 0]
    cycle.stopped = [(c.id, c.members[1].email.lower()) for i, c in enumerate(circles) if i % 10 and i % 7 == 0]
    sheet = folder / "calendar" / "checkins.xlsx"
    rows = checkin_rows(sheet)
    starts = [(int(r["Occurrence"]), r["Start (UTC)"].date()) for r in rows]
    cycle.as_of = max(d for k, d in starts if k == HELD_MONTHS) + dt.timedelta(days=1)
    assert cycle.as_of <= min(d for k, d in starts if k == HELD_MONTHS + 1)
    held = {c.id: set(range(1, HELD_MONTHS + 1)) for c in circles if c.id not in cycle.never_met}
    fill_checkins(sheet, held, {(cid, email, k) for cid, email in cycle.stopped for k in range(2, HELD_MONTHS + 1)})
    run("report", "circles.xlsx", "calendar/checkins.xlsx", "--as-of", cycle.as_of, "--out", "reports")
    cycle.ended = circles[1].id
    run("end", "circles.xlsx", cycle.ended, "--reason", "moved teams", "--on", cycle.as_of)
    run("nudge", "circles.xlsx", "calendar/checkins.xlsx", "--as-of", cycle.as_of, "--introduced", START,
        "--out", "outbox")
    return cycle


def cycle_faults(cycle: Cycle) -> dict[str, list]:
    """Everything the whole cycle must have kept, by what it concerns; every list empty when it did."""
    folder, book = cycle.folder, cycle.book
    assert book is not None
    config = load_config(folder / "mentor.toml")
    circles = book.relationships()
    faults: dict[str, list] = {
        "workbook problems": list(book.problems),
        "roles and sizes": role_faults(circles, cycle.kind, cycle.size),
        "rules between members": rule_breaks(book, config),
        "left out unseen": left_out_unseen(book, folder / "circles.xlsx"),
        "introductions": introduction_faults(book, folder / "outbox"),
        "calendars": calendar_faults(book, folder / "calendar"),
    }
    faults["schedule"], _ = schedule_faults(book, checkin_rows(folder / "calendar" / "checkins.xlsx"))
    faults["report"] = report_faults(cycle, circles)
    faults["end and nudge"] = nudge_faults(cycle, circles)
    return faults


def circles_rows(workbook: Path) -> dict[tuple[str, str], int]:
    """(circle id, email) -> row of the Circles sheet."""
    sheet = openpyxl.load_workbook(workbook, read_only=True)["Circles"]
    return {(str(r[0]), str(r[2]).lower()): number
            for number, r in enumerate(sheet.iter_rows(min_row=2, values_only=True), 2) if r[0]}


def report_faults(cycle: Cycle, circles: Sequence[Relationship]) -> list[tuple]:
    """The report counts every circle and member, flags exactly the members who stopped coming and
    every circle that never met, and the sponsor summary counts circles and names nobody."""
    answer, faults = cycle.step("report"), []
    totals = answer["totals"]
    members = sum(len(c.members) - 1 for c in circles)
    for key, want in (("circles", len(circles)), ("circle_members", members), ("members_stopped", len(cycle.stopped))):
        if totals.get(key) != want:
            faults.append(("totals", key, totals.get(key), want))
    rows = circles_rows(cycle.folder / "circles.xlsx")
    want_stopped = sorted((cid, rows[(cid, email)]) for cid, email in cycle.stopped)
    got_stopped = sorted((s["pair_id"], s["row"]) for s in answer.get("stopped_coming", []))
    if got_stopped != want_stopped:
        faults.append(("stopped coming", got_stopped[:5], want_stopped[:5]))
    at_risk = {a["pair_id"] for a in answer["at_risk"]}
    faults.extend(("never met, not at risk", cid) for cid in cycle.never_met if cid not in at_risk)
    attendance = openpyxl.load_workbook(cycle.folder / "reports" / "cohort.xlsx", read_only=True)["Attendance"]
    if attendance.max_row - 1 != members:
        faults.append(("Attendance sheet rows", attendance.max_row - 1, members))
    sponsors = sorted((cycle.folder / "reports" / "outbox").glob("sponsor-*.eml"))
    if len(sponsors) != 1 or recipients(sponsors[0]) != [SPONSOR]:
        return faults + [("sponsor summary", [p.name for p in sponsors])]
    raw = sponsors[0].read_text(encoding="utf-8", errors="replace")
    text = "\n".join(part.get_content() for part in parse_eml(sponsors[0]).walk()
                     if part.get_content_maintype() == "text")
    if f"Circles: {len(circles)} " not in text:
        faults.append(("sponsor summary does not count the circles", len(circles)))
    assert cycle.book is not None
    named = [n for e, n in zip(cycle.book.people["email"], cycle.book.people["name"])
             if str(e) in raw or str(n) in raw or str(n) in text]
    faults.extend(("sponsor summary names", n) for n in named[:5])
    if NOTE in raw + text:
        faults.append(("sponsor summary holds a private note",))
    return faults


def nudge_faults(cycle: Cycle, circles: Sequence[Relationship]) -> list[tuple]:
    """The ended circle is ended in the workbook and reminded of nothing; every circle that never met
    is reminded or escalated; every reminder goes To exactly its circle's members."""
    faults: list[tuple] = []
    after = read_pairing_workbook(cycle.folder / "circles.xlsx", load_config(cycle.folder / "mentor.toml"))
    if cycle.ended in {r.id for r in after.relationships()} or len(after.relationships()) != len(circles) - 1:
        faults.append(("not ended", cycle.ended))
    answer = cycle.step("nudge")
    reminded = {r["id"] for r in answer["reminded"]} | set(answer["escalated"])
    if cycle.ended in reminded:
        faults.append(("ended circle reminded", cycle.ended))
    faults.extend(("never met, not reminded", cid) for cid in cycle.never_met
                  if cid != cycle.ended and cid not in reminded | {w["id"] for w in answer["waiting"]})
    members = {r.id: sorted(m.email.lower() for m in r.members) for r in circles}
    for draft in sorted((cycle.folder / "outbox").glob("nudge-*.eml")):
        to = sorted(recipients(draft))
        if draft.name.startswith("nudge-digest-"):
            if to != [COORDINATOR]:
                faults.append((draft.name, to))
        elif to != members.get(draft.name.split("-")[1].upper()):
            faults.append((draft.name, "To is not exactly its circle's members"))
    return faults

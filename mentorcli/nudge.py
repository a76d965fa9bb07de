"""Reminders after the introduction: who has not met yet, who has missed check-ins, who needs a call.

``mentor nudge`` reads where every relationship stands (``report.build_report`` on the check-in
logs: the same reading as ``mentor report``, nothing counted twice) and writes ``.eml`` drafts into
the outbox that ``mentor send`` delivers:

- ``first-meeting``: no meeting logged ``[nudge] first_meeting_days`` days (default 14) after the
  introduction. Until then a relationship that has never met is left alone, even if a scheduled
  check-in went by: the first contact has that grace.
- ``missed-checkins``: a relationship that has met has missed its latest scheduled check-ins (past
  the as-of date, not held).
- the coordinator's digest: one email to ``[cohort] coordinator_email`` listing every relationship
  with one of the reasons above that has been silent ``[nudge] escalate_days`` (default 44) days
  or more: since its last check-in held, else since the introduction.

A reminder goes to every member of the relationship (a pair, a mentor with several mentees, a
circle) and holds that relationship's data only. Ended relationships (``PairingBook.ended``) are
never reminded.

**The introduction date.** ``--introduced DATE`` when given (every relationship was introduced that
day); otherwise the day ``mentor send`` delivered the relationship's introduction draft
(``intro-<id>.eml``), read from the outbox's ``sent/sent.log``. A relationship with neither that has
never met is not reminded of anything (its members may not know of each other or of their
check-ins: it needs its introduction first) and is named in the result (``not_introduced``); when
the log records no introduction at all, the run stops and asks for ``--introduced``. Nothing is
guessed.

**The nudge log.** ``OUTBOX/nudges.csv`` (columns ``as_of, relationship, email, kind, file``): one
row per person reminded (kind ``first-meeting`` or ``missed-checkins``) and one per relationship in
a digest (``escalation``, the coordinator's address). A relationship is reminded of a kind again
only when none of its members was reminded of it for that relationship in the last
``[nudge] interval_days`` days (default 30); the digest names a relationship again after the same
interval. The log is appended to (never rewritten: what the coordinator added stays) and published
together with the drafts (``files.all_or_nothing``). It records what was *written*: delete a row to
have that reminder written again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd

from mentorcli import files
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.mail import (
    MONTHS,
    WEEKDAYS,
    SendLog,
    addressed_members,
    check_outbox,
    clean_header_text,
    finished_drafts,
    format_local_time,
    introduction_bases,
    message_file_names,
    names_text,
    render_message,
    sorted_relationships,
    write_outbox,
)
from mentorcli.model import PairingBook, Relationship
from mentorcli.report import CohortReport
from mentorcli.tz import most_common_zone

FIRST_MEETING = "first-meeting"
MISSED_CHECKINS = "missed-checkins"
ESCALATION = "escalation"
KINDS = (FIRST_MEETING, MISSED_CHECKINS)
TEMPLATES = {FIRST_MEETING: "nudge-first-meeting", MISSED_CHECKINS: "nudge-missed-checkins"}
DIGEST_TEMPLATE = "nudge-digest"
LOG_NAME = "nudges.csv"
LOG_COLUMNS = ("as_of", "relationship", "email", "kind", "file")
_LOG_REQUIRED = ("as_of", "relationship", "email", "kind")


# --------------------------------------------------------------------------- the nudge log


@dataclass(frozen=True)
class LogEntry:
    """One row of ``nudges.csv``: ``email`` was reminded (or, for ``escalation``, asked to call)
    about ``relationship`` on ``as_of``, in the draft ``file``."""

    as_of: dt.date
    relationship: str
    email: str
    kind: str
    file: str = ""


@dataclass
class NudgeLog:
    """``OUTBOX/nudges.csv`` as read: its rows, and its text to append to. Looked up by relationship
    (a log grows by a row per person reminded, and every relationship asks it once per run)."""

    path: Path
    entries: list[LogEntry] = field(default_factory=list)
    text: str = ""
    _by_relationship: dict[str, list[LogEntry]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries:
            self._by_relationship.setdefault(entry.relationship, []).append(entry)

    @classmethod
    def read(cls, out_dir: Path) -> NudgeLog:
        """The log of ``out_dir`` (empty when there is none); a row that cannot be read stops the run,
        because a reminder the log cannot vouch for could go out twice."""
        path = Path(out_dir) / LOG_NAME
        if not path.exists():
            return cls(path)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise MentorError(f"the nudge log cannot be read ({exc.strerror or type(exc).__name__})", path=path,
                              hint="It records who was reminded; without it a reminder could go out twice.") from None
        except UnicodeDecodeError:
            raise MentorError("the nudge log is not UTF-8 text", path=path,
                              hint="Restore it from its .bak backup beside it.") from None
        return cls(path, _log_entries(text, path), text)

    def last(self, relationship: str, kind: str, emails: Sequence[str]) -> dt.date | None:
        """The latest day any of ``emails`` was logged for ``kind`` of ``relationship``, or None."""
        wanted = {email.strip().lower() for email in emails}
        days = [entry.as_of for entry in self._by_relationship.get(relationship, ())
                if entry.kind == kind and entry.email in wanted]
        return max(days) if days else None

    def days_logged(self, relationship: str) -> list[dt.date]:
        """Every day the members of ``relationship`` were reminded (not counting digests), in order."""
        return sorted({entry.as_of for entry in self._by_relationship.get(relationship, ()) if entry.kind in KINDS})

    def appended(self, entries: Sequence[LogEntry]) -> str:
        """The log's text with ``entries`` added at the end (the earlier text kept as it was)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if not self.text.strip():
            writer.writerow(LOG_COLUMNS)
        for entry in entries:
            writer.writerow([files.neutralise_formula(value) for value in
                             (entry.as_of.isoformat(), entry.relationship, entry.email, entry.kind, entry.file)])
        head = self.text if not self.text or self.text.endswith("\n") else self.text + "\n"
        return (head if self.text.strip() else "") + buffer.getvalue()


def _log_entries(text: str, path: Path) -> list[LogEntry]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [name for name in _LOG_REQUIRED if name not in header]
    if missing:
        raise MentorError(f"the nudge log lacks the column(s) {', '.join(missing)}", path=path,
                          hint=f"Its first row must be: {','.join(LOG_COLUMNS)}.")
    at = {name: header.index(name) for name in LOG_COLUMNS if name in header}
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: _unneutralised(row[index].strip()) if index < len(row) else "" for name, index in at.items()}
        try:
            day = dt.date.fromisoformat(cells["as_of"])
        except ValueError:
            raise MentorError(f"row {number}, column as_of: not a date", path=path,
                              hint="Write it as YYYY-MM-DD, or delete the row.") from None
        if not cells["relationship"] or not cells["email"] or cells["kind"] not in (*KINDS, ESCALATION):
            raise MentorError(f"row {number}: needs a relationship, an email and a kind "
                              f"({', '.join((*KINDS, ESCALATION))})", path=path, hint="Fix or delete the row.")
        entries.append(LogEntry(day, cells["relationship"], cells["email"].lower(), cells["kind"], cells.get("file", "")))
    return entries


def _unneutralised(value: str) -> str:
    """A cell as it was before ``files.neutralise_formula`` guarded it for spreadsheet programs."""
    if value.startswith("'") and value[1:].startswith(files.FORMULA_LEADERS):
        return value[1:]
    return value


# --------------------------------------------------------------------------- the introduction date


@dataclass
class IntroductionDates:
    """The day each relationship was introduced, and where that came from (``--introduced`` or the send log)."""

    days: dict[str, dt.date]
    source: str


def introduction_dates(book: PairingBook, out_dir: Path, introduced: dt.date | None) -> IntroductionDates:
    """``introduced`` for every relationship when given; else the UTC day ``mentor send`` delivered
    each relationship's ``intro-<id>.eml``, from ``out_dir/sent/sent.log`` (relationships without
    one are absent: never guessed)."""
    relationships = sorted_relationships(book)
    if introduced is not None:
        return IntroductionDates({relationship.id: introduced for relationship in relationships}, "--introduced")
    log = SendLog.read(Path(out_dir))
    names = message_file_names(introduction_bases(book))
    days = {relationship.id: log.sent_at[name].date()
            for relationship, name in zip(relationships, names) if name in log.sent_at}
    return IntroductionDates(days, str(log.path))


# --------------------------------------------------------------------------- planning


@dataclass
class Standing:
    """Where one relationship stands on the as-of day, as the nudge rules need it."""

    relationship: Relationship
    introduced: dt.date | None
    last_held: dt.date | None
    missed: list[dt.date]
    """Days of the check-ins missed since the last one held (all of them when none was held)."""
    next_checkin: dt.datetime | None

    def silent_since(self) -> dt.date | None:
        """Since when nothing happened: the last check-in held, else the introduction (None: neither)."""
        return self.last_held if self.last_held is not None else self.introduced


@dataclass
class Due:
    """A reminder (or a line of the digest) one relationship is owed on the as-of day."""

    standing: Standing
    kind: str
    silent_days: int
    """Days since the introduction (never met) or since the last check-in held."""
    escalate: bool

    @property
    def relationship(self) -> Relationship:
        return self.standing.relationship

    def missing(self) -> str:
        """What is missing, in the coordinator's words (dates and counts, no names)."""
        standing = self.standing
        if self.kind == FIRST_MEETING:
            assert standing.introduced is not None
            return f"no meeting logged in the {self.silent_days} days since the introduction on {long_day(standing.introduced)}"
        assert standing.last_held is not None
        count = len(standing.missed)
        return (f"{count} check-in{'s' if count != 1 else ''} missed in a row (the last due "
                f"{long_day(standing.missed[-1])}); last check-in held {long_day(standing.last_held)}")


@dataclass
class Waiting:
    """A reminder not written again yet: the relationship was reminded of ``kind`` on ``last``."""

    relationship: str
    kind: str
    last: dt.date
    again: dt.date


@dataclass
class NudgePlan:
    """What is due on ``as_of``: reminders to write, relationships for the digest, and why others wait."""

    as_of: dt.date
    reminders: list[Due] = field(default_factory=list)
    escalations: list[Due] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    not_introduced: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)


def _day(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def standings(book: PairingBook, report: CohortReport, introduced: dict[str, dt.date]) -> list[Standing]:
    """Every relationship of the report that has not ended, in id order, from the report's own figures
    (last check-in held, missed check-ins in a row, next check-in): nothing re-counted here."""
    ended = {ending.relationship.id for ending in book.ended}
    status = {str(row["pair_id"]): row for row in report.status.to_dict("records")}
    missed = report.checkins[report.checkins["missed"]].sort_values("day", kind="stable")
    missed_days: dict[str, list[dt.date]] = {}
    for pair_id, day in zip(missed["pair_id"], missed["day"]):
        missed_days.setdefault(str(pair_id), []).append(pd.Timestamp(day).date())
    out = []
    for relationship in sorted(report.relationships, key=lambda r: r.id):
        row = status.get(relationship.id)
        if relationship.id in ended or row is None:
            continue
        in_row = int(row["missed_in_row"])
        trailing = missed_days.get(relationship.id, [])[-in_row:] if in_row else []
        next_checkin = None if pd.isna(row["next_checkin"]) else pd.Timestamp(row["next_checkin"]).to_pydatetime()
        day = introduced.get(relationship.id)
        out.append(Standing(relationship, day if day is not None and day <= report.as_of else None,
                            _day(row["last_checkin"]), trailing, next_checkin))
    return out


def _due(standing: Standing, as_of: dt.date, config: Config) -> Due | None:
    """The reminder ``standing`` is owed, if any, and whether the coordinator should call."""
    settings = config.nudge
    start = standing.silent_since()
    if start is None:  # never met, never introduced: the introduction comes first
        return None
    days = (as_of - start).days
    if standing.last_held is None and days >= settings.first_meeting_days:
        kind = FIRST_MEETING
    elif standing.last_held is not None and standing.missed:
        kind = MISSED_CHECKINS
    else:
        return None
    return Due(standing, kind, days, days >= settings.escalate_days)


def plan_nudges(book: PairingBook, report: CohortReport, config: Config, *, introduced: dict[str, dt.date],
                log: NudgeLog) -> NudgePlan:
    """What ``report.as_of`` owes each relationship, after what ``log`` says was already written.

    A relationship is reminded of a kind when none of its members was reminded of it for that
    relationship in the last ``interval_days`` days; the digest names a relationship when the
    coordinator was not asked about it in that time.
    """
    as_of = report.as_of
    interval = config.nudge.interval_days
    plan = NudgePlan(as_of=as_of, ended=sorted({ending.relationship.id for ending in book.ended}))
    coordinator = config.cohort.coordinator_email.strip().lower()
    for standing in standings(book, report, introduced):
        relationship = standing.relationship
        if standing.last_held is None and standing.introduced is None:
            plan.not_introduced.append(relationship.id)
        due = _due(standing, as_of, config)
        if due is None:
            continue
        last = log.last(relationship.id, due.kind, relationship.emails)
        if last is not None and (as_of - last).days < interval:
            plan.waiting.append(Waiting(relationship.id, due.kind, last, last + dt.timedelta(days=interval)))
        else:
            plan.reminders.append(due)
        if due.escalate:
            asked = log.last(relationship.id, ESCALATION, [coordinator])
            if asked is not None and (as_of - asked).days < interval:
                plan.waiting.append(Waiting(relationship.id, ESCALATION, asked, asked + dt.timedelta(days=interval)))
            else:
                plan.escalations.append(due)
    return plan


# --------------------------------------------------------------------------- the drafts


def long_day(day: dt.date) -> str:
    """``Monday 4 January 2027``: locale-free, as every date in an email of this tool."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


@dataclass
class Draft:
    """One draft to write: its file-name base, kind, the relationships it is about, its message."""

    base: str
    kind: str
    relationships: list[str]
    message: EmailMessage
    recipients: list[str]


def time_zones(book: PairingBook) -> dict[str, str]:
    """Identity key -> the time zone People gives (first row wins, as everywhere)."""
    zones: dict[str, str] = {}
    for address, zone in zip(book.people["email"].astype(str).str.strip().str.lower(), book.people["timezone"].astype(str)):
        zones.setdefault(address, zone)
    return zones


def _people(relationship: Relationship, next_checkin: dt.datetime | None, zones: dict[str, str],
            usual_zone: str) -> list[dict[str, Any]]:
    """The members as a reminder names them (mentees or peers first), each with the next check-in in their own time."""
    out = []
    for member in addressed_members(relationship):
        email_address = str(member.email).strip().lower()
        zone = zones.get(email_address, "")
        out.append({
            "name": clean_header_text(member.name, max_length=200) or email_address,
            "email": email_address,
            "role": member.role,
            "next_checkin": format_local_time(next_checkin, zone, assumed=usual_zone) if next_checkin else "",
        })
    return out


def _base_context(config: Config, as_of: dt.date) -> dict[str, Any]:
    return {
        "programme": config.cohort.name,
        "coordinator": {"name": config.cohort.coordinator_name, "email": config.cohort.coordinator_email},
        "as_of": long_day(as_of),
    }


def reminder_context(due: Due, config: Config, as_of: dt.date, zones: dict[str, str], usual_zone: str) -> dict[str, Any]:
    """What a reminder template may show: this relationship's own dates and people, nothing of any other.
    ``zones``: ``time_zones(book)``; ``usual_zone``: the zone assumed for a member without one."""
    standing = due.standing
    people = _people(standing.relationship, standing.next_checkin, zones, usual_zone)
    return {
        **_base_context(config, as_of),
        "kind": due.kind,
        "pair_id": standing.relationship.id,
        "people": people,
        "names": names_text([person["name"] for person in people]),
        "introduced": long_day(standing.introduced) if standing.introduced else "",
        "days": due.silent_days,
        "first_meeting_days": config.nudge.first_meeting_days,
        "missed_count": len(standing.missed),
        "missed_days": [long_day(day) for day in standing.missed],
        "last_held": long_day(standing.last_held) if standing.last_held else "",
        "has_next_checkin": standing.next_checkin is not None,
    }


def digest_context(escalations: Sequence[Due], log: NudgeLog, reminded_now: set[str], config: Config,
                   as_of: dt.date) -> dict[str, Any]:
    """What the digest template may show: for each relationship, its members, what is missing and the reminders sent."""
    relationships = []
    for due in escalations:
        relationship = due.relationship
        reminded = log.days_logged(relationship.id) + ([as_of] if relationship.id in reminded_now else [])
        relationships.append({
            "id": relationship.id,
            "members": [{"name": clean_header_text(member.name, max_length=200) or str(member.email),
                         "email": str(member.email).strip().lower(), "role": member.role}
                        for member in addressed_members(relationship)],
            "missing": due.missing(),
            "silent_days": due.silent_days,
            "silent_since": long_day(due.standing.silent_since() or as_of),
            "reminded": [long_day(day) for day in sorted(set(reminded))],
        })
    return {**_base_context(config, as_of), "escalate_days": config.nudge.escalate_days,
            "interval_days": config.nudge.interval_days, "relationships": relationships}


SUBJECTS = {FIRST_MEETING: "have you met yet?", MISSED_CHECKINS: "time for your next check-in"}


def reminder_base(due: Due, as_of: dt.date) -> str:
    return f"nudge-{due.relationship.id}-{due.kind}-{as_of.isoformat()}"


def digest_base(as_of: dt.date) -> str:
    return f"nudge-digest-{as_of.isoformat()}"


def build_drafts(plan: NudgePlan, book: PairingBook, config: Config, log: NudgeLog, *,
                 templates_dir: Path | None = None) -> list[Draft]:
    """The reminders (one per relationship, to all its members) and the digest (to the coordinator only)."""
    templates_dir = config.folder / "templates" if templates_dir is None else templates_dir
    sender = (config.cohort.coordinator_name, config.cohort.coordinator_email)
    usual_zone = most_common_zone(book.people["timezone"]) if len(book.people) else "UTC"
    zones = time_zones(book)
    drafts = []
    for due in plan.reminders:
        context = reminder_context(due, config, plan.as_of, zones, usual_zone)
        to = [(person["name"], person["email"]) for person in context["people"]]
        try:
            message = render_message(TEMPLATES[due.kind], context, to=to, sender=sender,
                                     subject=f"{config.cohort.name}: {SUBJECTS[due.kind]}",
                                     templates_dir=templates_dir, date=plan.as_of)
        except MentorError as exc:
            row = due.relationship.row
            place = f"Pairs row {row}" if row is not None else f"relationship {due.relationship.id}"
            raise MentorError(f"{place}: {exc.message}", path=book.path, hint=exc.hint) from None
        drafts.append(Draft(reminder_base(due, plan.as_of), due.kind, [due.relationship.id], message,
                            [email for _, email in to]))
    if plan.escalations:
        reminded_now = {due.relationship.id for due in plan.reminders}
        context = digest_context(plan.escalations, log, reminded_now, config, plan.as_of)
        count = len(plan.escalations)
        message = render_message(DIGEST_TEMPLATE, context, to=[sender], sender=sender,
                                 subject=f"{config.cohort.name}: {count} relationship{'s' if count != 1 else ''} "
                                         "need a call", templates_dir=templates_dir, date=plan.as_of)
        drafts.append(Draft(digest_base(plan.as_of), ESCALATION, [due.relationship.id for due in plan.escalations],
                            message, [config.cohort.coordinator_email.strip().lower()]))
    return drafts


# --------------------------------------------------------------------------- writing


@dataclass
class Written:
    """One draft written: its file, kind, the relationships it is about and how many it goes to."""

    file: Path
    kind: str
    relationships: list[str]
    recipients: int

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.file), "kind": self.kind, "relationships": list(self.relationships),
                "recipients": self.recipients}


@dataclass
class NudgeOutcome:
    """What ``nudge_outbox`` planned and wrote. ``unsent``: reminder drafts of earlier runs still in the
    outbox (``mentor send`` moves what it delivered to ``sent/``): they go out with the new ones."""

    plan: NudgePlan
    written: list[Written]
    log: Path
    introductions: IntroductionDates
    unsent: list[str] = field(default_factory=list)


def unsent_reminders(out_dir: Path) -> list[str]:
    """The names of earlier runs' reminder and digest drafts not yet delivered from ``out_dir``."""
    if not Path(out_dir).is_dir():
        return []
    return [path.name for path in finished_drafts(Path(out_dir)) if path.name.startswith("nudge-")]


def log_entries(drafts: Sequence[Draft], paths: Sequence[Path], as_of: dt.date) -> list[LogEntry]:
    """The log rows of the drafts just written: one per person reminded, one per relationship in the digest."""
    entries = []
    for draft, path in zip(drafts, paths):
        for relationship in draft.relationships:
            for email in draft.recipients:
                entries.append(LogEntry(as_of, relationship, email, draft.kind, path.name))
    return entries


def nudge_outbox(book: PairingBook, report: CohortReport, config: Config, out_dir: Path, *,
                 introduced: dt.date | None = None, force: bool = False,
                 templates_dir: Path | None = None) -> NudgeOutcome:
    """Plan the reminders due on ``report.as_of``, write them and the digest into ``out_dir``, and log them.

    The drafts and the log are published together or not at all. Raises ``MentorError`` when no
    introduction date is known for a relationship that has never met and none at all is known
    (neither ``introduced`` nor an introduction in ``out_dir/sent/sent.log``).
    """
    out_dir = Path(out_dir)
    if introduced is not None and introduced > report.as_of:
        raise MentorError(f"--introduced {introduced.isoformat()} is after --as-of {report.as_of.isoformat()}",
                          hint="Give the day the introductions went out, on or before the as-of date.")
    dates = introduction_dates(book, out_dir, introduced)
    log = NudgeLog.read(out_dir)
    plan = plan_nudges(book, report, config, introduced=dates.days, log=log)
    if plan.not_introduced and not dates.days:
        raise MentorError(f"no introduction date is known: {dates.source} records no introduction sent by mentor send",
                          hint="Pass --introduced YYYY-MM-DD (the day the introductions went out).")
    drafts = build_drafts(plan, book, config, log, templates_dir=templates_dir)
    unsent = unsent_reminders(out_dir)
    if not drafts:
        return NudgeOutcome(plan, [], log.path, dates, unsent)
    check_outbox([draft.base for draft in drafts], out_dir, force=force)
    with files.all_or_nothing():
        paths = write_outbox([(draft.base, draft.message) for draft in drafts], out_dir, force=force)
        files.atomic_write_text(log.path, log.appended(log_entries(drafts, paths, plan.as_of)), force=True)
    written = [Written(path, draft.kind, draft.relationships, len(draft.recipients)) for draft, path in zip(drafts, paths)]
    return NudgeOutcome(plan, written, log.path, dates, unsent)

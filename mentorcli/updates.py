"""Emails for a reschedule: the calendar changes ``mentor schedule`` left in ``changes/``, to only
the people affected.

``mentor schedule`` on a rerun writes ``changes/update-<pair>-<hash>.ics`` (METHOD:REQUEST, same
UID, higher SEQUENCE) for each series that changed and ``changes/cancel-<pair>-<hash>.ics``
(METHOD:CANCEL) for each dropped one; ``calendar-state.json`` records who each series belongs to.
This module turns each such file into one draft to exactly the people of that series (the members
of one relationship: a pair, or a mentor with several mentees), the file attached as
``text/calendar``. Nothing is written for a relationship whose check-ins did not change.

Every file is cross-checked against the state before anyone is written to: its METHOD, its UID
and SEQUENCE must be what the state last published, and its ATTENDEEs must be the state's
people. A file that does not agree is an error (run ``mentor schedule`` again), never a guess:
a cancellation or update sent to the wrong person is worse than none. The recipients of a
cancellation come from the state, so a person no longer in the workbook still hears that their
own series is off; their address is validated like any other (``mail.make_address``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd
from icalendar import Calendar

from mentorcli import mail
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.ics import Published, read_state
from mentorcli.model import PairingBook, Relationship
from mentorcli.schedule import CHANGES_DIR, KEPT_MARK
from mentorcli.tz import most_common_zone

CHANGE_FILE = re.compile(r"(update|cancel)-[a-z0-9_-]+-[0-9a-f]{8}\.ics")
METHODS = {"update": "REQUEST", "cancel": "CANCEL"}


@dataclass
class ChangeFile:
    """One iTIP file of ``changes/`` as read back and checked: its kind, series and bytes."""

    path: Path
    kind: str                  # "update" or "cancel"
    uid: str
    sequence: int
    data: bytes
    entry: Published = field(repr=False)


def change_files(calendar: Path) -> list[ChangeFile]:
    """The update and cancel files of ``calendar/changes/``, each checked against the state (name order)."""
    folder = Path(calendar) / CHANGES_DIR
    state = read_state(Path(calendar))
    paths = sorted(p for p in folder.glob("*.ics") if CHANGE_FILE.fullmatch(p.name)) if folder.is_dir() else []
    return [_checked(path, state) for path in paths]


def _checked(path: Path, state: dict[str, Published]) -> ChangeFile:
    """Read one change file and refuse it unless it agrees with what the state says was published."""
    kind = path.name.split("-", 1)[0]
    hint = "Run mentor schedule again into this folder, then mentor introduce --updates."
    data = path.read_bytes()
    try:
        cal = Calendar.from_ical(data)
        events = list(cal.walk("VEVENT"))
        method = str(cal.get("METHOD", "")).upper()
        uids = {str(e["UID"]) for e in events}
        sequences = {int(e.decoded("SEQUENCE")) for e in events}
        attendees = {_mailto(a) for e in events for a in _as_list(e.get("ATTENDEE"))}
    except (ValueError, KeyError, TypeError):
        raise MentorError("this calendar change cannot be read", path=path, hint=hint) from None
    if method != METHODS[kind] or len(uids) != 1 or len(sequences) != 1:
        raise MentorError(f"this {kind} file is not one series with METHOD:{METHODS[kind]}", path=path, hint=hint)
    (uid,), (sequence,) = uids, sequences
    entry = state.get(uid)
    if entry is None or entry.sequence != sequence or entry.cancelled != (kind == "cancel"):
        raise MentorError(f"this {kind} file is not what calendar-state.json last published", path=path, hint=hint)
    people = {str(email).strip().lower() for _, email in entry.people}
    if len(entry.people) < 2 or len(people) != len(entry.people) or attendees != people:
        raise MentorError(f"the attendees of this {kind} file are not the people of its series", path=path, hint=hint)
    return ChangeFile(path, kind, uid, sequence, data, entry)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _mailto(address: Any) -> str:
    text = str(address).strip()
    return (text[7:] if text.lower().startswith("mailto:") else text).strip().lower()


def change_bases(changes: list[ChangeFile]) -> list[str]:
    """The draft file-name bases: the change file's own name, so each draft names its series."""
    return [change.path.stem for change in changes]


def build_change_messages(book: PairingBook, checkins: pd.DataFrame | None, config: Config,
                          changes: list[ChangeFile], *, templates_dir: Path | None = None) -> list[tuple[str, EmailMessage]]:
    """One draft per change file, to that series' people only (one relationship), the file attached.

    An update lists the relationship's new check-ins in each member's local time (from
    ``checkins``, the sheet written by the same ``mentor schedule`` run); its relationship must
    still be in the workbook with the same people. A cancellation needs neither: it names the
    series only.
    """
    templates_dir = config.folder / "templates" if templates_dir is None else templates_dir
    sender = (config.cohort.coordinator_name, config.cohort.coordinator_email)
    date = mail.introduction_date(book)
    positions = mail._people_positions(book)
    records = book.people.to_dict("records") if book.people is not None else []
    usual_zone = most_common_zone(book.people["timezone"]) if book.people is not None and len(book.people) else ""
    relationships = {mail._text(r.id): r for r in book.relationships()} if len(book.pairs) else {}
    current = checkins
    if current is not None and not current.empty:
        current = current[~current["flag"].map(mail._text).str.startswith(KEPT_MARK)]
    out = []
    for change in changes:
        entry = change.entry
        # names as text for the templates (autoescaped there); make_address makes them display names
        people = [(mail.clean_header_text(name, max_length=200), address) for name, address in entry.people]
        shown = [{"name": name or address, "email": address} for name, address in people]
        context: dict[str, Any] = {
            "programme": config.cohort.name,
            "coordinator": {"name": config.cohort.coordinator_name, "email": config.cohort.coordinator_email},
            "pair_id": entry.pair_id,
            "people": shown,
            "names": mail.names_text([person["name"] for person in shown]),
            "mentee": shown[0],
            "mentor": shown[-1],
            "checkins": [],
            "checkin_count": 0,
        }
        if change.kind == "update":
            context["checkins"] = _update_checkins(change, relationships, current, positions, records, usual_zone)
            context["checkin_count"] = len(context["checkins"])
            subject = f"{config.cohort.name}: your check-ins changed"
        else:
            subject = f"{config.cohort.name}: your check-ins are cancelled"
            ended_on = _ended_on(book, entry)
            if ended_on:  # mentor end: only the check-ins after the end date are cancelled
                context["ended_on"] = ended_on
                subject = f"{config.cohort.name}: your remaining check-ins are cancelled"
        attachment = (change.path.name, change.data, f"text/calendar; method={METHODS[change.kind]}; charset=utf-8")
        try:
            msg = mail.render_message(change.kind, context, to=people, sender=sender, subject=subject,
                                      templates_dir=templates_dir, attachments=[attachment], date=date)
        except MentorError as exc:
            raise MentorError(exc.message, path=change.path, hint=exc.hint) from None
        out.append((change.path.stem, msg))
    return out


def _update_checkins(change: ChangeFile, relationships: dict[str, Relationship], checkins: pd.DataFrame | None,
                     positions: dict[str, int], records: list[dict[str, Any]], usual_zone: str) -> list[dict[str, Any]]:
    """The relationship's new check-ins, numbered, in each person's local time (in the state's order)."""
    entry = change.entry
    emails = [str(email).strip().lower() for _, email in entry.people]
    relationship = relationships.get(entry.pair_id)
    hint = "Run mentor schedule again with this workbook, then mentor introduce --updates."
    members = sorted(mail._text(email).lower() for email in relationship.emails) if relationship is not None else []
    if members != sorted(emails):
        raise MentorError(f"pair {entry.pair_id} of this update is not in the workbook with the same people",
                          path=change.path, hint=hint)
    if checkins is None or checkins.empty:
        raise MentorError("an update needs the check-in sheet of the same schedule", path=change.path, hint=hint)
    rows = checkins[checkins["pair_id"].map(mail._text) == entry.pair_id].sort_values("start_utc", kind="stable")
    if rows.empty:
        raise MentorError(f"pair {entry.pair_id} has no check-ins in checkins.xlsx", path=change.path, hint=hint)
    zones = [mail._text(records[positions[e]].get("timezone", "")) if e in positions else "" for e in emails]
    checkins_out = []
    for number, start in enumerate(rows["start_utc"].drop_duplicates(), 1):
        times = [mail.format_local_time(start.to_pydatetime(), zone, assumed=usual_zone) for zone in zones]
        checkins_out.append({"number": number, "times": times, "mentee_time": times[0], "mentor_time": times[-1]})
    return checkins_out


def _ended_on(book: PairingBook, entry: Published) -> str:
    """The end date (YYYY-MM-DD) when the cancelled series is that of a relationship ``mentor end``
    ended (same id, the same people), else "": its earlier check-ins stay in the calendars."""
    people = {str(email).strip().lower() for _, email in entry.people}
    for ending in book.ended:
        if ending.relationship.id == entry.pair_id and people <= set(ending.relationship.emails):
            return ending.ended_on.isoformat()
    return ""

"""Calendar building blocks: recurring series, time-zone definitions, stamps and the published state.

Everything here is built and serialised with ``icalendar``; this module only decides *what*
goes into a component, in the forms every common client reads the same way:

- A relationship's check-ins are one recurring event (one UID): ``RRULE`` for the steady pattern,
  ``RECURRENCE-ID`` overrides for the dates a holiday moved or that carry a note of their own
  (when every check-in has a note, the commonest is the series'), ``EXDATE``
  for a period without a check-in and ``RDATE`` only for a date the rule cannot reach. This is
  the form Outlook itself sends for a recurring meeting with exceptions, so Outlook, Google
  Calendar, Apple Calendar and Thunderbird accept it from one invitation; an iTIP REQUEST with
  several UIDs is not (RFC 5546 allows one UID per message and Outlook/Gmail show only the first).
- ``VTIMEZONE`` observances carry one onset each (``DTSTART``, no ``RDATE`` list): ical.js and
  vobject misread a multi-valued ``RDATE`` in an observance, and put events an hour off.
- ``DTSTAMP`` is when a version of an event was generated: now, or ``SOURCE_DATE_EPOCH`` (the
  reproducible-builds convention) when set. An unchanged event keeps its earlier stamp and
  ``SEQUENCE``, so a rerun gives the same bytes; a changed one gets the next ``SEQUENCE``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from mentorcli.cadence import CADENCES, Cadence
from mentorcli.errors import MentorError

__all__ = [
    "CADENCES", "STATE_FILE", "Cadence", "Published", "SeriesShape", "fingerprint", "format_stamp", "generation_time",
    "ical_bytes", "ics_text", "parse_stamp", "read_state", "series_shape", "state_bytes", "vtimezone",
]
"""``CADENCES`` and ``Cadence`` live in ``mentorcli.cadence``; mail and report still find them here."""

EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
STATE_FILE = "calendar-state.json"
"""What was last published in a calendar folder: per UID its SEQUENCE, DTSTAMP and content hash."""
STATE_VERSION = 1
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


_RUN_CLOCK = dt.datetime.now(dt.UTC).replace(microsecond=0)
"""When this run started: one DTSTAMP for everything a run writes, in every worker process."""


def generation_time() -> dt.datetime:
    """DTSTAMP for what this run writes: ``SOURCE_DATE_EPOCH`` when set, else the run's start (UTC)."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return _RUN_CLOCK
    if not raw.isdigit() or int(raw) > 253_402_300_799:
        raise MentorError(f"SOURCE_DATE_EPOCH={raw[:20]!r} is not a Unix time in seconds",
                          hint="Unset it, or set it to whole seconds since 1970, e.g. 1767225600.")
    return EPOCH_UTC + dt.timedelta(seconds=int(raw))


def ics_text(value: str, *, multiline: bool = False) -> str:
    """Text for a calendar property: no control character, escape sequence or bidi override.

    ``multiline`` keeps line feeds (descriptions); elsewhere every line break becomes a space.
    The escaped ESC's visible rest ("[31m") is harmless; the ESC itself never reaches a client.
    """
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    if multiline:
        text = text.replace("\t", " ")
        return _CONTROL.sub("", text)
    return " ".join(_CONTROL_LINE.sub(" ", text.replace("\n", " ")).split())


FOLD_OCTETS = 74
"""Most octets icalendar leaves on one line of a folded content line (RFC 5545 3.1 allows 75)."""
_ESCAPE_PREFIXES = b"\\^"
"""A fold never falls right after one of these (a TEXT or RFC 6868 escape would be split)."""


def ical_bytes(component: Any) -> bytes:
    """``component.to_ical()``, byte for byte, at about half the cost for a calendar's text.

    icalendar builds every content line (``Component.content_lines``: names, parameters,
    escaping, values) and these are its lines; only the folding of long lines is done here.
    icalendar folds a line one character at a time, which was half of all the serialising of a
    10,000-pair schedule; ``fold_line`` cuts the encoded line in slices by the same rule.
    """
    return b"\r\n".join(fold_line(line) for line in component.content_lines() if line) + b"\r\n"


def fold_line(line: str) -> bytes:
    """One content line encoded and folded as icalendar folds it: as many whole characters as fit
    in ``FOLD_OCTETS`` octets per line, each further line after CRLF and a space; a cut that
    would fall right after a backslash or caret falls before it instead."""
    data = line.encode("utf-8")
    if len(data) <= FOLD_OCTETS:
        return data
    pieces = []
    start = 0
    while len(data) - start > FOLD_OCTETS:
        cut = start + FOLD_OCTETS
        while data[cut] & 0xC0 == 0x80:   # a UTF-8 continuation octet: the cut is inside a character
            cut -= 1
        if data[cut - 1] in _ESCAPE_PREFIXES:
            cut -= 1
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


# --------------------------------------------------------------------------------------------
# Time-zone definitions


@functools.lru_cache(maxsize=512)
def vtimezone(tzid: str, first: dt.date, last: dt.date) -> Any:
    """The VTIMEZONE of ``tzid`` from ``first`` to ``last``, one observance per onset.

    ``icalendar.Timezone.from_tzid`` lists later onsets of an observance as one multi-valued
    ``RDATE``; libical reads that, ical.js and vobject do not (events an hour off after the
    first year). The observances are rebuilt here with a single ``DTSTART`` each.
    """
    source = Timezone.from_tzid(tzid, first_date=first, last_date=last)
    onsets: list[tuple[dt.datetime, str, Any]] = []
    for observance in source.subcomponents:
        kind = observance.name
        dates = [observance.decoded("DTSTART")]
        rdates = observance.get("RDATE", [])
        for value in rdates if isinstance(rdates, list) else [rdates]:
            dates += [item.dt for item in value.dts]
        for when in dates:
            onsets.append((when, kind, observance))
    out = Timezone()
    out.add("tzid", tzid)
    for when, kind, observance in sorted(onsets, key=lambda item: item[0]):
        part = TimezoneDaylight() if kind == "DAYLIGHT" else TimezoneStandard()
        part.add("dtstart", when)
        for name in ("TZNAME", "TZOFFSETFROM", "TZOFFSETTO"):
            if name in observance:
                part.add(name.lower(), observance.decoded(name))
        out.add_component(part)
    return out


# --------------------------------------------------------------------------------------------
# Recurring series


@dataclass
class SeriesShape:
    """How a list of check-ins is written as one recurring event.

    ``rule`` is None when no pattern covers two check-ins; then ``dtstart`` is the first and
    the rest are ``rdates``. Indexes refer to the ``starts`` given to ``series_shape``.
    """

    dtstart: dt.datetime
    rule: dict[str, Any] | None
    plain: list[int] = field(default_factory=list)
    overrides: list[tuple[dt.datetime, int]] = field(default_factory=list)
    exdates: list[dt.datetime] = field(default_factory=list)
    rdates: list[int] = field(default_factory=list)


def series_shape(starts: Sequence[dt.datetime], tzinfo: dt.tzinfo, cadence: Cadence,
                 special: Sequence[bool] = ()) -> SeriesShape:
    """The RRULE (and its exceptions) that reproduces ``starts`` exactly in ``tzinfo``.

    The steady pattern is the most common one among the check-ins (the earliest check-in's on a
    tie): for month-based cadences the n-th weekday of the month (n <= 4, which every month has)
    at a local time, for week-based ones a weekday at a local time. Each period of the rule holds
    at most one check-in: the one in it; a check-in at another time than the rule's instance, or
    marked ``special`` (it carries its own note), becomes an override of that instance; a period
    without one becomes an EXDATE; a second check-in in one period an RDATE.
    """
    local = [s.astimezone(tzinfo) for s in starts]
    special = list(special) or [False] * len(starts)
    if not local:
        raise ValueError("a series needs at least one check-in")
    days = [moment.date() for moment in local]   # an aware datetime's date and time are its wall clock's
    keys = [(cadence.nth_of(day), day.weekday(), moment.time()) for day, moment in zip(days, local)]
    usable = [k for k in keys if k[0] <= 4]
    if not usable:
        return SeriesShape(dtstart=local[0], rule=None, plain=[0], rdates=list(range(1, len(local))))
    counts = Counter(usable)
    best = max(counts.values())
    n, weekday, clock = next(k for k in usable if counts[k] == best)

    periods = [cadence.period_number(day) for day in days]
    # a period of several units (a quarter's months) says which unit the rule uses: that of a
    # check-in on the steady pattern
    phase = cadence.phase(days[keys.index((n, weekday, clock))])
    lo, hi = min(periods), max(periods)
    instances = [dt.datetime.combine(cadence.instance_day(period, phase, weekday, n), clock, tzinfo)
                 for period in range(lo, hi + 1)]
    shape = SeriesShape(dtstart=instances[0], rule=cadence.rule(n, weekday, len(instances)))
    taken: dict[int, int] = {}
    for index, period in enumerate(periods):
        if period - lo in taken:
            shape.rdates.append(index)
        else:
            taken[period - lo] = index
    for slot, instance in enumerate(instances):
        found = taken.get(slot)
        if found is None:
            shape.exdates.append(instance)
        elif local[found] == instance and not special[found]:
            shape.plain.append(found)
        else:
            shape.overrides.append((instance, found))
    return shape


# --------------------------------------------------------------------------------------------
# What was published before


@dataclass
class Published:
    """One UID as last published: the version counter, its stamp, a hash of its content, and
    enough to address a cancellation to its people."""

    sequence: int
    dtstamp: str
    fingerprint: str
    summary: str = ""
    start: str = ""
    people: list[list[str]] = field(default_factory=list)
    pair_id: str = ""
    cancelled: bool = False


def fingerprint(payload: Any) -> str:
    """A stable hash of an event's content (not its SEQUENCE or DTSTAMP)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")).hexdigest()


def read_state(folder: Path) -> dict[str, Published]:
    """The UIDs last published in ``folder`` (empty for a new folder, or an unreadable state).

    An unreadable state only costs precision: every event then counts as new (SEQUENCE 0 again),
    which clients may ignore for events they already have; say so rather than guess.
    """
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries = raw["events"] if raw.get("version") == STATE_VERSION else {}
        return {str(uid): Published(**value) for uid, value in entries.items()}
    except (ValueError, KeyError, TypeError, OSError, AttributeError):
        raise MentorError("cannot be read as the calendar state mentor schedule wrote", path=path,
                          hint="Restore it from the .bak copy beside it, or delete it (updates then start again at SEQUENCE 0).") from None


def state_bytes(entries: dict[str, Published]) -> bytes:
    events = {uid: vars(entries[uid]) for uid in sorted(entries)}
    return (json.dumps({"version": STATE_VERSION, "events": events}, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def format_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")

"""Check-ins: a time every member of a relationship can make, in everyone's calendar, and a sheet to log them.

A relationship (``model.Relationship``: a mentor with one or more mentees; a pair is the
two-person case) meets on a steady pattern ("2nd Tuesday, 18:00 Europe/London") that its
``Cadence`` (``mentorcli.cadence``: monthly, fortnightly, weekly, quarterly) repeats once per
period: occurrence k of every relationship falls in period k. The pattern is anchored to one
member's local time (the mentor's, when known: mentors keep several relationships, so their
calendar stays regular). Each occurrence is computed on its own date with the real UTC offsets
of every member's zone, so the anchor's local time never moves across daylight-saving changes
while the others' may; an occurrence that DST pushes out of someone's window is flagged. A
holiday (of any member's country) or blackout date moves the occurrence to the nearest day
allowed for everyone, inside its period. Every person has a booking table of UTC 15-minute
slots, so nobody is in two check-ins (or a check-in and a cohort event) at once, and a mentor's
relationships are spread over different days where the windows allow.

Planning is vectorised per *profile* (the members' time zones, countries and availability
windows): all slots x 7 x 48 patterns (week of the period, weekday, half-hour start) are scored
for every occurrence and every member with numpy at once, then each relationship walks its
profile's ranked patterns until one fits all its members' bookings. Relationships are planned
tightest first so a flexible one never takes the only slot of a tight one.

Example::

    from datetime import date
    from mentorcli.config import Config
    from mentorcli.schedule import plan_checkins, write_schedule

    schedule = plan_checkins(book, Config(), start=date(2026, 3, 2), months=6)
    write_schedule(schedule, book, Config(), Path("calendar"), force=False)
"""

from __future__ import annotations

import collections
import contextlib
import csv
import datetime as dt
import functools
import gc
import hashlib
import importlib.resources
import itertools
import math
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # no stubs installed (pandas-stubs is not a dependency)
from dateutil import parser  # type: ignore[import-untyped]  # no stubs installed (types-python-dateutil)
from icalendar import Alarm, Calendar, Event, vCalAddress, vDatetime, vDuration, vInt, vText
from python_calamine import CalamineError, CalamineWorkbook

from mentorcli import __version__
from mentorcli.availability import DAY_ALIASES, Window, windows_for
from mentorcli.bulk import fork_context, gc_paused, worker_count, worker_stops
from mentorcli.cadence import CADENCES, DAY_NAMES, Cadence
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.files import (
    FolderListing,
    all_or_nothing,
    atomic_path,
    atomic_write_many,
    check_targets,
    inside,
    inside_all,
    safe_slug,
)
from mentorcli.ics import (
    STATE_FILE,
    Published,
    fingerprint,
    format_stamp,
    generation_time,
    ical_bytes,
    ics_text,
    parse_stamp,
    read_state,
    series_shape,
    state_bytes,
    vtimezone,
)
from mentorcli.model import (
    LEAD_ROLES,
    Ending,
    PairingBook,
    Problem,
    first_ids,
    relationships_from_pairs,
)
from mentorcli.tz import most_common_zone, tzinfo_for
from mentorcli.xlsx import (
    ANY,
    DATE_FORMATS,
    NUMBER,
    TEXT,
    Column,
    Styled,
    TableSheet,
    write_table_workbook,
)

SHEET_NAME = "Check-ins"
CHECKIN_HEADER_FORMAT = {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
CHECKIN_HEADERS = (
    "Pair ID", "Mentee", "Mentee Email", "Mentor", "Mentor Email", "Occurrence", "Start (UTC)",
    "Mentee Local Time", "Mentor Local Time", "Flag", "Held", "Date Held", "Rating", "Goal Progress", "Notes",
)
LOG_HEADERS = ("Held", "Date Held", "Rating", "Goal Progress", "Notes")
CHECKIN_COLUMNS = (
    "pair_id", "occurrence", "mentee", "mentee_email", "mentor", "mentor_email", "start_utc", "end_utc",
    "anchor_role", "anchor_tz", "mentee_tz", "mentor_tz", "mentee_local", "mentor_local", "pattern", "flag", "uid",
    "mentee_role", "mentor_role",
)
CIRCLE_WORDS = {"mentor": ("member", "mentor"), "facilitator": ("peer", "facilitator")}
"""What a circle's calendar text calls its members and its lead, by the lead's role (the rows'
``mentee_role`` / ``mentor_role``; blank for a pair, whose text says Mentee and Mentor)."""

EPOCH = dt.date(1970, 1, 1)
EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SLOT = 15
"""Minutes per booking slot: every real UTC offset is a multiple of 15, so bookings are exact."""
STEP = 30
"""Minutes between candidate start times in the anchor's local day."""
STARTS_PER_DAY = 24 * 60 // STEP
WEEK_MINUTES = 7 * 24 * 60
UID_NAMESPACE = uuid.UUID("2f0c7d1e-8b4a-5c3e-9f61-0a7b3c5d9e21")
SPREAD_SCAN = 300
"""How many conflict-free equally good patterns a pair looks through for a day its people have free."""
MAX_MONTHS = 36
WRITE_BATCH = 2000
"""Calendars written (and flushed to disk) together: bounds memory, saves an fsync per file."""


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CohortEventSlot:
    """A cohort-wide event from ``[[events]]`` resolved to UTC (in every calendar, blocks check-ins)."""

    name: str
    start_utc: dt.datetime
    end_utc: dt.datetime
    timezone: str
    description: str
    uid: str


@dataclass
class Schedule:
    """What ``plan_checkins`` decided: one row per check-in, the cohort events and what went wrong.

    One row per meeting and Pairs row: a pair's rows are its meetings; a mentor meeting two
    mentees together has two rows per meeting (one per mentee, same start, same uid), so each
    mentee's attendance is logged on its own row and the pair columns read back as before.
    ``checkins`` columns (``CHECKIN_COLUMNS``): pair_id, occurrence (1..periods of the cadence), mentee,
    mentee_email, mentor, mentor_email, start_utc / end_utc (tz-aware UTC), anchor_role
    ("mentor"/"mentee"), anchor_tz, mentee_tz, mentor_tz, mentee_local / mentor_local (text such
    as "Tue 2026-03-10 18:00 (Europe/London)"), pattern, flag ("" when all is well), uid, mentee_role /
    mentor_role (a circle's ``CIRCLE_WORDS``, blank for a pair).
    """

    checkins: pd.DataFrame
    events: list[CohortEventSlot]
    problems: list[Problem]
    start: dt.date
    months: int
    notes: list[str] = field(default_factory=list)
    generated: dt.datetime = field(default_factory=generation_time)
    """DTSTAMP of what this run changes: now, or ``SOURCE_DATE_EPOCH`` (see ``mentorcli.ics``)."""

    @property
    def pair_count(self) -> int:
        return int(self.checkins["pair_id"].nunique()) if len(self.checkins) else 0

    @property
    def flagged(self) -> int:
        return int((self.checkins["flag"] != "").sum()) if len(self.checkins) else 0


    def summary(self) -> dict[str, Any]:
        """Counts for the CLI (no names or emails: they belong in the files, not in logs)."""
        people = set(self.checkins["mentee_email"]) | set(self.checkins["mentor_email"]) if len(self.checkins) else set()
        return {
            "start": self.start.isoformat(),
            "months": self.months,
            "pairs_scheduled": self.pair_count,
            "checkins": len(self.checkins),
            "flagged_checkins": self.flagged,
            "participants": len(people),
            "cohort_events": len(self.events),
            "problems": len(self.problems),
        }


# --------------------------------------------------------------------------------------------
# Calendar arithmetic


def default_start(today: dt.date | None = None) -> dt.date:
    """The first Monday of next month: a clean start that gives people a few weeks' notice."""
    today = today or dt.date.today()
    first = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return first + dt.timedelta(days=(7 - first.weekday()) % 7)


def _epoch_day(day: dt.date) -> int:
    return day.toordinal() - EPOCH.toordinal()


def _date_of(epoch_day: int) -> dt.date:
    return dt.date.fromordinal(int(epoch_day) + EPOCH.toordinal())


def _utc_of(minutes: int) -> dt.datetime:
    return EPOCH_UTC + dt.timedelta(minutes=int(minutes))


def _minute_of_day(text: str, setting: str, config: Config) -> int:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise MentorError(f"{setting} = {text!r} is not a time", path=config.path, hint='Write times as "HH:MM".')
    return min(int(match.group(1)) * 60 + int(match.group(2)), 24 * 60)


class ZoneTable:
    """Exact UTC offsets of one time zone over the planning period, as numpy lookups.

    ``zoneinfo`` is exact but works one datetime at a time; the planner needs offsets for
    hundreds of thousands of candidate times. The zone's transitions inside the period are
    found once (a day-by-day scan, then bisection to the minute), after which any array of
    instants converts with one ``searchsorted``.
    """

    def __init__(self, tzinfo: dt.tzinfo, lo_minute: int, hi_minute: int):
        self.tzinfo = tzinfo
        offsets = [self._offset(lo_minute)]
        transitions: list[int] = []
        for day_start in range(lo_minute, hi_minute, 1440):
            after = self._offset(day_start + 1440)
            if after != offsets[-1]:
                low, high = day_start, day_start + 1440  # offset(low) = old, offset(high) = new
                while high - low > 1:
                    mid = (low + high) // 2
                    if self._offset(mid) == offsets[-1]:
                        low = mid
                    else:
                        high = mid
                transitions.append(high)
                offsets.append(after)
        self.transitions = np.array(transitions, dtype=np.int64)
        self.offsets = np.array(offsets, dtype=np.int64)
        # Local wall time switches offset at transition + max(old, new): before it, a wall time
        # in a gap or an overlap takes the old offset, as zoneinfo does for fold=0.
        self.thresholds = self.transitions + np.maximum(self.offsets[:-1], self.offsets[1:])

    def _offset(self, utc_minute: int) -> int:
        offset = _utc_of(utc_minute).astimezone(self.tzinfo).utcoffset()
        return int(offset.total_seconds() // 60) if offset is not None else 0

    def offset_at_utc(self, utc_minutes: np.ndarray) -> np.ndarray:
        return self.offsets[np.searchsorted(self.transitions, utc_minutes, side="right")]

    def utc_from_local(self, local_minutes: np.ndarray) -> np.ndarray:
        return local_minutes - self.offsets[np.searchsorted(self.thresholds, local_minutes, side="right")]


# --------------------------------------------------------------------------------------------
# Holidays and blackout dates


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country code, from the tz database's ``zone.tab`` (shipped by tzdata)."""
    text = ""
    try:
        text = importlib.resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError, OSError):
        system = Path("/usr/share/zoneinfo/zone.tab")
        text = system.read_text(encoding="utf-8") if system.is_file() else ""
    out = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and not line.startswith("#"):
            out[parts[2]] = parts[0]
    return out


def zone_country(zone: str) -> str | None:
    """The country of an IANA zone ("Europe/London" -> "GB"); None for offsets and unknown zones."""
    return _zone_countries().get(zone)


class HolidayCalendar:
    """Days no check-in may fall on: configured countries' holidays, blackout dates and,
    with ``schedule.local_holidays``, the holidays of each person's own country (from their zone).
    """

    def __init__(self, config: Config, day_lo: int, day_hi: int):
        self.day_lo, self.day_hi = day_lo, day_hi
        self.years = list(range(_date_of(day_lo).year, _date_of(day_hi).year + 1))
        self.local = bool(getattr(config.schedule, "local_holidays", True))
        self.global_names: dict[int, list[str]] = {}
        for code in config.schedule.holidays:
            for day, name in self._country_days(str(code), config).items():
                self.global_names.setdefault(day, []).append(name)
        for blackout in config.schedule.blackout:
            self.global_names.setdefault(_epoch_day(blackout), []).append("blackout date")
        self._tables: dict[str | None, np.ndarray] = {}
        self._local_names: dict[str, dict[int, str]] = {}

    def _country_days(self, code: str, config: Config | None) -> dict[int, str]:
        """Holidays of ``code`` ("GB", or "US-CA" for a subdivision) as epoch day -> name."""
        country, _, subdiv = code.strip().upper().partition("-")
        try:
            table = holidays.country_holidays(country, subdiv=subdiv or None, years=self.years)
        except (NotImplementedError, KeyError, ValueError) as exc:
            if config is None:
                return {}
            raise MentorError(
                f"schedule.holidays: {code!r} is not a country the holidays package knows ({exc})",
                path=config.path,
                hint='Use ISO country codes such as "GB" or "US", or "US-CA" for a state.',
            ) from None
        return {_epoch_day(day): str(name) for day, name in sorted(table.items())
                if self.day_lo <= _epoch_day(day) <= self.day_hi}

    def _local_days(self, country: str | None) -> dict[int, str]:
        if not (self.local and country):
            return {}
        if country not in self._local_names:
            self._local_names[country] = self._country_days(country, None)
        return self._local_names[country]

    def table(self, country: str | None) -> np.ndarray:
        """bool per epoch day in [day_lo, day_hi]: blocked for a person living in ``country``."""
        key = country if self.local else None
        if key not in self._tables:
            blocked = np.zeros(self.day_hi - self.day_lo + 1, dtype=bool)
            days = np.array(list(self.global_names) + list(self._local_days(key)), dtype=np.int64)
            # a blackout before or after the window blocks nothing in it (a negative index
            # would silently block a day from the other end)
            days = days[(days >= self.day_lo) & (days <= self.day_hi)]
            blocked[days - self.day_lo] = True
            self._tables[key] = blocked
        return self._tables[key]

    def reason(self, day: int, country: str | None) -> str | None:
        """Why ``day`` is blocked for a person in ``country`` ("Christmas Day"), or None."""
        names = list(self.global_names.get(day, []))
        local = self._local_days(country).get(day)
        if local and local not in names:
            names.append(local)
        return "; ".join(dict.fromkeys(names)) or None


# --------------------------------------------------------------------------------------------
# People and the planner


@dataclass(frozen=True)
class _Person:
    email: str
    name: str
    zone: str            # the zone planned with (a fallback when the person's is unknown)
    zone_known: bool
    windows: tuple[Window, ...]
    gave_availability: bool
    country: str | None


def _zone_key(members: Sequence[_Person]) -> tuple[str | None, ...]:
    """What a zone group depends on: the members' zones and countries, in member order."""
    return tuple(m.zone for m in members) + tuple(m.country for m in members)


def _fits_mask(windows: Iterable[Window], duration: int) -> np.ndarray:
    """bool per minute of the week (Monday 00:00 = 0): a check-in starting then ends inside a window."""
    covered = np.zeros(WEEK_MINUTES, dtype=bool)
    for window in windows:
        start = window.weekday * 1440 + window.start
        covered[np.arange(start, start + window.end - window.start) % WEEK_MINUTES] = True
    wrapped = np.concatenate([covered, covered[:duration]])
    counts = np.concatenate([[0], np.cumsum(wrapped, dtype=np.int64)])
    starts = np.arange(WEEK_MINUTES)
    return (counts[starts + duration] - counts[starts]) == duration


@dataclass
class _ZoneGroup:
    """What the members' zones and countries fix, whatever their windows (member 0 is the anchor).

    Per pattern and occurrence: the UTC start (``(P, K)``) and, per member (``(M, P, K)``),
    the minute of their week and their local day; the summed discomfort. For occurrences on a
    day blocked for anyone, up to ``ALTERNATIVES`` days allowed for everyone to move to, best
    first; which one is taken depends on the windows, so that choice is left to ``_Planner.profile``.

    The planner keeps every zone group for the whole run (jobs come band by band, so each zone
    combination recurs up to four times; rebuilding was a quarter of the scoring), so the arrays
    are as small as their values allow: UTC minutes and local days int32, minutes of the week
    int16 (``occurrence_table`` hands out int64).
    """

    utc: np.ndarray              # (P, K) int32
    week: np.ndarray             # (M, P, K) int16
    local_day: np.ndarray        # (M, P, K) int32
    discomfort_sum: np.ndarray   # (P,)
    blocked_sum: np.ndarray      # (P,)
    blocked_at: tuple[np.ndarray, np.ndarray]   # (p, k) of blocked occurrences, sorted by p
    discomfort_at: np.ndarray    # discomfort of each blocked occurrence before it moves
    alt: dict[str, np.ndarray]   # (blocked, ALTERNATIVES) arrays; (M, blocked, ALTERNATIVES) per member


@dataclass
class _Profile:
    """All patterns of one relationship's zones, countries and windows (member 0 the anchor).

    The plain pattern values are shared with the zone group; holiday moves are kept apart as
    overrides (``moved``, sorted by pattern), so no (P, K) array is copied per profile.
    """

    zone_group: _ZoneGroup
    base: np.ndarray             # (P, K) grid day of the plain pattern
    order: np.ndarray            # pattern ids, best first
    tier: np.ndarray             # per rank: equal tiers are equally good before the spread rule
    major: np.ndarray            # per rank: the same without the weekday preference and holiday moves
    invalid: np.ndarray          # per pattern: falls before the start
    fits: np.ndarray             # (M, P, K) inside each member's windows, before moves
    out_all: np.ndarray          # (P,) every occurrence outside someone's window
    moved: dict[str, np.ndarray]

    def occurrence_values(self, p: int) -> dict[str, np.ndarray]:
        """Per occurrence of pattern ``p``: utc, day (grid), blocked (``(K,)``); local_day, fits (``(M, K)``).
        The one-row case of ``occurrence_table``, so blocked days and holiday moves are applied in one place."""
        table = self.occurrence_table(np.array([p]))
        return {name: value[:, 0] if value.ndim == 3 else value[0] for name, value in table.items()}

    def occurrence_table(self, patterns: np.ndarray, narrow: bool = False) -> dict[str, np.ndarray]:
        """``occurrence_values`` of several patterns at once, a row (``(R, K)``; ``(M, R, K)``) each.

        ``narrow``: utc, local_day and day as int32 (what a worker sends back), not int64."""
        zg = self.zone_group
        if narrow:
            out = {"utc": zg.utc[patterns], "local_day": zg.local_day[:, patterns], "day": self.base[patterns].astype(np.int32)}
        else:
            out = {"utc": zg.utc[patterns].astype(np.int64), "local_day": zg.local_day[:, patterns].astype(np.int64),
                   "day": self.base[patterns]}
        out.update(fits=self.fits[:, patterns], blocked=np.zeros((len(patterns), self.base.shape[1]), dtype=bool))
        row_of = np.full(len(self.base), -1, dtype=np.int64)
        row_of[patterns] = np.arange(len(patterns))
        rows = row_of[zg.blocked_at[0]]
        hit = rows >= 0
        out["blocked"][rows[hit], zg.blocked_at[1][hit]] = True
        rows = row_of[self.moved["p"]]
        hit = rows >= 0
        r, k = rows[hit], self.moved["k"][hit]
        for name in ("utc", "day"):
            out[name][r, k] = self.moved[name][hit]
        for name in ("local_day", "fits"):
            out[name][:, r, k] = self.moved[name][:, hit]
        out["blocked"][r, k] = False
        return out


ALTERNATIVES = 12
"""Allowed days kept per blocked occurrence: the nearest ones, same week first."""
_SAME_WEEK = [d for step in range(1, 7) for d in (step, -step)]      # later first on a tie
_NEAR_WEEKS = [d for step in range(7, 15) for d in (step, -step)]    # then the fortnight around it
_MOVE_DELTAS = np.array(_SAME_WEEK + _NEAR_WEEKS, dtype=np.int64)
_MOVE_IN_WEEK = np.array([True] * len(_SAME_WEEK) + [False] * len(_NEAR_WEEKS))


class _Planner:
    """The planning period as a (day, 30-minute start) grid, and the profiles scored on it."""

    def __init__(self, config: Config, start: dt.date, months: int):
        self.config = config
        self.duration = int(config.schedule.duration_minutes)
        if not 5 <= self.duration <= 8 * 60:
            raise MentorError("schedule.duration_minutes must be between 5 and 480", path=config.path)
        self.earliest = _minute_of_day(config.schedule.earliest, "schedule.earliest", config)
        self.latest = _minute_of_day(config.schedule.latest, "schedule.latest", config)
        if self.latest - self.earliest < self.duration:
            raise MentorError("schedule.earliest to schedule.latest is shorter than one check-in", path=config.path)
        self.start = start
        self.cadence = _cadence(config)
        self.periods = self.cadence.periods(start, months)
        self.K = len(self.periods)
        self.S = self.cadence.slots
        self.d0 = _epoch_day(self.periods[0][0])
        self.D = _epoch_day(self.periods[-1][1]) - self.d0
        self.start_idx = max(0, _epoch_day(start) - self.d0)
        # occurrence (period) of each grid day: a moved check-in stays in its period
        self.period_of = np.empty(self.D, dtype=np.int64)
        for k, period in enumerate(self.periods):
            self.period_of[_epoch_day(period.first) - self.d0:] = k
        # base[sw, k]: grid day of slot s on weekday w in period k, sw = s * 7 + w
        base = np.array(
            [[_epoch_day(self.cadence.slot_day(period, slot, w)) - self.d0 for period in self.periods]
             for slot in range(self.S) for w in range(7)],
            dtype=np.int64,
        )
        days = np.arange(self.D, dtype=np.int64) + self.d0
        self.local_grid = (days[:, None] * 1440 + np.arange(STARTS_PER_DAY, dtype=np.int64)[None, :] * STEP).ravel()
        self.day_lo, self.day_hi = self.d0 - 3, self.d0 + self.D + 3
        self.holidays = HolidayCalendar(config, self.day_lo, self.day_hi)
        self.base = base
        self._pattern_keys(base)
        self._zones: dict[str, ZoneTable] = {}
        self._groups: dict[tuple, _ZoneGroup] = {}
        self._fits: dict[tuple[Window, ...], np.ndarray] = {}
        self._mid_offsets: dict[str, int] = {}
        self._shifts: dict[int, np.ndarray] = {}
        self.clocks: dict[tuple[str, bool, str, bytes], tuple[list[str], list[str]]] = {}
        """``_local_clock``'s answers: people in one zone often meet at the same instants."""

    # -- static per-pattern keys ------------------------------------------------------------
    def _pattern_keys(self, base: np.ndarray) -> None:
        """Pattern p = (week n, weekday w, start s) as p = (n * 7 + w) * starts_per_day + s."""
        preferred = _preferred_weekdays(self.config)
        nw = np.repeat(np.arange(self.S * 7), STARTS_PER_DAY)
        start = np.tile(np.arange(STARTS_PER_DAY), self.S * 7)
        weekday = nw % 7
        w_rank = np.array([preferred.index(d) if d in preferred else len(preferred) + d for d in range(7)])
        n_rank = np.array([self.cadence.slot_rank(slot) for slot in range(self.S)])[nw // 7]
        minute = start * STEP
        self.P = len(nw)
        self.p_nw, self.p_minute, self.p_weekday = nw, minute, weekday
        self.p_pref = (w_rank[weekday] >= len(preferred)).astype(np.int64)
        self.p_valid = np.asarray((base >= self.start_idx).all(axis=1))[nw]
        self.p_invalid = ~self.p_valid
        self.p_invalid_key = self.p_invalid.astype(np.int64)
        # ties: on the hour first, then earlier, then week 2/3/1/4 (earlier months of a quarter
        # first), then weekday preference
        self.p_tie_break = ((minute % 60 != 0).astype(np.int64) << 18) | (start << 10) | (n_rank << 4) | w_rank[weekday]
        self.p_tie_rank = np.empty(self.P, dtype=np.int64)       # 0 for the pattern first on a tie, ...
        self.p_tie_rank[np.argsort(self.p_tie_break, kind="stable")] = np.arange(self.P)
        self.pk_base = base[nw]                                   # (P, K) grid day
        self.pk_flat = self.pk_base * STARTS_PER_DAY + start[:, None]

    def pattern_text(self, p: int, zone: str) -> str:
        slot, w = divmod(int(self.p_nw[p]), 7)
        minute = int(self.p_minute[p])
        return f"{self.cadence.slot_text(slot, w)} {minute // 60:02d}:{minute % 60:02d} {zone}"

    # -- zones ------------------------------------------------------------------------------
    def zone_table(self, zone: str) -> ZoneTable:
        if zone not in self._zones:
            tzinfo = tzinfo_for(zone) or dt.UTC
            self._zones[zone] = ZoneTable(tzinfo, self.day_lo * 1440, self.day_hi * 1440)
        return self._zones[zone]

    def fits(self, windows: tuple[Window, ...]) -> np.ndarray:
        if windows not in self._fits:
            self._fits[windows] = _fits_mask(windows, self.duration)
        return self._fits[windows]

    def comfort_windows(self) -> tuple[Window, ...]:
        """What a person who gave no availability is assumed to accept: earliest-latest, any day."""
        return tuple(Window(d, self.earliest, self.latest) for d in range(7))

    def _discomfort(self, minute_of_day: np.ndarray) -> np.ndarray:
        """Minutes a check-in starting then lies outside earliest-latest (0 when comfortable)."""
        end = minute_of_day + self.duration
        return np.maximum(0, self.earliest - minute_of_day) + np.maximum(0, end - self.latest)

    def zone_group(self, members: Sequence[_Person]) -> _ZoneGroup:
        key = _zone_key(members)
        found = self._groups.get(key)
        if found is not None:
            return found
        tables = [self.zone_table(m.zone) for m in members]
        utc = tables[0].utc_from_local(self.local_grid)
        # each member's local time; the anchor's differs from the grid only inside a DST gap
        local = np.stack([utc + table.offset_at_utc(utc) for table in tables])
        local_day, minute = np.divmod(local, 1440)
        grid: dict[str, np.ndarray] = {   # stored as small as the values allow: every zone group is kept for the whole run
            "utc": utc.astype(np.int32),
            "week": (((local_day + 3) % 7) * 1440 + minute).astype(np.int16),  # 1970-01-01 was a Thursday
            "local_day": local_day.astype(np.int32),
            "discomfort": sum((self._discomfort(minute[m]) for m in range(1, len(members))),
                              self._discomfort(minute[0])).astype(np.int32),
        }
        blocked = np.zeros(len(utc), dtype=bool)
        for m, member in enumerate(members):
            blocked |= self.holidays.table(member.country)[local_day[m] - self.day_lo]
        pk_discomfort = grid["discomfort"][self.pk_flat]
        pk_blocked = blocked[self.pk_flat] & self.p_valid[:, None]
        at_p, at_k = np.nonzero(pk_blocked)
        group = _ZoneGroup(
            utc=grid["utc"][self.pk_flat], week=grid["week"][:, self.pk_flat], local_day=grid["local_day"][:, self.pk_flat],
            discomfort_sum=pk_discomfort.sum(axis=1), blocked_sum=pk_blocked.sum(axis=1),
            blocked_at=(at_p, at_k), discomfort_at=pk_discomfort[at_p, at_k],
            alt=self._alternatives(at_p, at_k, blocked, grid),
        )
        self._groups[key] = group
        return group

    def _alternatives(self, p: np.ndarray, k: np.ndarray, blocked: np.ndarray,
                      grid: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Days a blocked occurrence may move to, nearest first: its own week, then the weeks around.

        Allowed: same period, not before the start, not blocked for any member.
        """
        start = self.p_minute[p] // STEP
        cand = self.pk_base[p, k][:, None] + _MOVE_DELTAS[None, :]
        weekday_after = self.p_weekday[p][:, None] + _MOVE_DELTAS[None, :]
        in_week = (weekday_after >= 0) & (weekday_after <= 6)
        valid = (cand >= self.start_idx) & (cand < self.D) & (in_week == _MOVE_IN_WEEK[None, :])
        cand = np.clip(cand, 0, self.D - 1)
        flat = cand * STARTS_PER_DAY + start[:, None]
        valid &= (self.period_of[cand] == k[:, None]) & ~blocked[flat]
        keep = np.argsort(~valid, axis=1, kind="stable")[:, :ALTERNATIVES]
        flat = np.take_along_axis(flat, keep, axis=1)
        alt = {name: values[..., flat] for name, values in grid.items()}
        alt["day"] = np.take_along_axis(cand, keep, axis=1)
        alt["valid"] = np.take_along_axis(valid, keep, axis=1)
        return alt

    # -- profiles ---------------------------------------------------------------------------
    def tightness(self, members: Sequence[_Person]) -> int:
        """Weekly 15-minute starts inside every member's windows (mid-period offsets): few means plan first.

        Each zone's offset and each shift's starts are worked out once (``_mid_offset``,
        ``_shifted_starts``): this runs for every relationship before any worker starts."""
        anchor = self._mid_offset(members[0].zone)
        common = self.fits(members[0].windows)[self._shifted_starts(0)]
        for member in members[1:]:
            common = common & self.fits(member.windows)[self._shifted_starts(self._mid_offset(member.zone) - anchor)]
        return int(np.count_nonzero(common))

    def _mid_offset(self, zone: str) -> int:
        """The zone's UTC offset in the middle of the period, in minutes."""
        if zone not in self._mid_offsets:
            mid = np.array([(self.d0 + self.D // 2) * 1440])
            self._mid_offsets[zone] = int(self.zone_table(zone).offset_at_utc(mid)[0])
        return self._mid_offsets[zone]

    def _shifted_starts(self, delta: int) -> np.ndarray:
        """The week's 15-minute starts moved by ``delta`` minutes (wrapping round the week)."""
        if delta not in self._shifts:
            self._shifts[delta] = (np.arange(0, WEEK_MINUTES, SLOT) + delta) % WEEK_MINUTES
        return self._shifts[delta]

    def profile(self, members: Sequence[_Person]) -> _Profile:
        """Score every pattern for a relationship's members and rank them, best first.

        Ranking, most important first: not before the start; no occurrence left on a holiday;
        fewest occurrences outside someone's window; least time outside earliest-latest;
        fewest person-occurrences outside a window; a preferred weekday; fewest holiday moves.
        For more than two members (a circle) the fewest occurrences outside the lead's window and
        then the fewest person-occurrences outside a window come before the time outside
        earliest-latest: the least bad time has the lead and then the most members free.
        """
        zg = self.zone_group(members)
        masks = [self.fits(m.windows) for m in members]
        fits = _fitting(masks, zg.week)                                          # (M, P, K)
        inside = _count_true(fits)                                               # (M, P)
        inside_sum = inside.sum(axis=0)
        ok_sum = _count_true(np.logical_and.reduce(fits, axis=0))
        discomfort, blocked_sum = zg.discomfort_sum, zg.blocked_sum
        moved_count = np.zeros(self.P, dtype=np.int64)
        moved = {name: np.zeros(0, dtype=np.int64) for name in ("p", "k", "utc", "day")}
        moved.update(local_day=np.zeros((len(members), 0), dtype=np.int64), fits=np.zeros((len(members), 0), dtype=bool))
        if len(zg.blocked_at[0]):
            alt = zg.alt
            alt_fits = _fitting(masks, alt["week"])                               # (M, blocked, ALTERNATIVES)
            inside_all = np.logical_and.reduce(alt_fits, axis=0) & alt["valid"]
            choice = inside_all.argmax(axis=1)    # the first day everyone can make; 0 (the nearest) when none
            rows = np.arange(len(choice))
            moves = alt["valid"][rows, choice]
            rows, choice = rows[moves], choice[moves]
            p, k = zg.blocked_at[0][moves], zg.blocked_at[1][moves]
            new_fits, old_fits = alt_fits[:, rows, choice], fits[:, p, k]

            def change(new: np.ndarray, old: np.ndarray) -> np.ndarray:
                return np.bincount(p, weights=new.astype(np.int64) - old.astype(np.int64), minlength=self.P).astype(np.int64)

            inside_sum = inside_sum + change(new_fits.sum(axis=0), old_fits.sum(axis=0))
            ok_sum = ok_sum + change(np.logical_and.reduce(new_fits, axis=0), np.logical_and.reduce(old_fits, axis=0))
            discomfort = discomfort + change(alt["discomfort"][rows, choice], zg.discomfort_at[moves])
            moved_count = np.bincount(p, minlength=self.P).astype(np.int64)
            blocked_sum = blocked_sum - moved_count
            moved = {"p": p, "k": k, "utc": alt["utc"][rows, choice], "day": alt["day"][rows, choice],
                     "local_day": alt["local_day"][:, rows, choice], "fits": new_fits}
        out = self.K - ok_sum
        person_out = len(members) * self.K - inside_sum
        # a circle meets without a member but not without its lead (member 0, the anchor, is the
        # lead unless only another member's zone is known): when no time suits everyone, the
        # lead free and then the most members free come before comfort; a pair's ranking stays
        lead_out = self.K - inside[0]
        middle = [lead_out, person_out, discomfort] if len(members) > 2 else [discomfort, person_out]
        keys = [self.p_invalid_key, blocked_sum, out, *middle, self.p_pref, moved_count]
        major = _lexicographic_rank(keys[:-2])
        tier = _lexicographic_rank([major, *keys[-2:]])   # orders as all the keys would, packing fewer columns
        order = _ranking(tier, self.p_tie_rank)
        return _Profile(zone_group=zg, base=self.pk_base, order=order, tier=tier[order], major=major[order],
                        invalid=self.p_invalid, fits=fits, out_all=out == self.K, moved=moved)


RANKED_PREFIX = 48
"""Best-ranked patterns whose occurrence values a worker sends back with a profile's ranking;
choosing a pattern further down (every one of them booked) scores the profile again here."""
PLAN_CHUNK = 64
"""Profiles per piece of work handed to a planning worker."""


@dataclass
class _RankedProfile:
    """A ``_Profile`` as a worker sends it back: the ranking, and the occurrence values of only
    the best-ranked patterns (the whole (M, P, K) arrays would cost more to send than to score).
    Anything further down is read from the full profile, scored again in this process.

    Sent as small as it can be (half the bytes, a third less time pickling and unpickling):
    ``order`` and the occurrence values int32; ``tier`` and ``major`` as run numbers along the
    ranking (``_run_numbers``), which are equal exactly where the profile's are, all
    ``_choose`` asks of them."""

    order: np.ndarray
    tier: np.ndarray
    major: np.ndarray
    out_all: np.ndarray
    row_of: dict[int, int]
    """Row of each best-ranked pattern in ``table``."""
    table: dict[str, np.ndarray]
    invalid: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    base: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    full: Any = None
    """Set in this process: () -> ``_Profile``, scoring the members again when needed."""

    @classmethod
    def of(cls, profile: _Profile) -> _RankedProfile:
        best = profile.order[:RANKED_PREFIX]
        best = best[~profile.invalid[best]]
        tier, major = _run_numbers(np.stack([profile.tier, profile.major]))
        return cls(order=profile.order.astype(np.int32), tier=tier, major=major, out_all=profile.out_all,
                   row_of=dict(zip(best.tolist(), range(len(best)))), table=profile.occurrence_table(best, narrow=True))

    def attach(self, planner: _Planner, members: Sequence[_Person]) -> _RankedProfile:
        self.invalid, self.base = planner.p_invalid, planner.pk_base
        self.full = functools.cache(lambda: planner.profile(members))
        return self

    def occurrence_values(self, p: int) -> dict[str, np.ndarray]:
        row = self.row_of.get(p)
        if row is None:
            return self.full().occurrence_values(p)
        return {name: (value[:, row] if value.ndim == 3 else value[row]).astype(np.int64 if value.dtype == np.int32 else value.dtype)
                for name, value in self.table.items()}


def _run_numbers(ranked: np.ndarray) -> np.ndarray:
    """0, 0, 1, 2, 2, ...: which run of equal values each of ``ranked`` (sorted along its last
    axis: a profile's ``tier`` or ``major`` along its ranking; or both, stacked) is in, as int32."""
    changes = np.empty(ranked.shape, dtype=np.int32)
    changes[..., :1] = 0
    np.not_equal(ranked[..., 1:], ranked[..., :-1], out=changes[..., 1:], casting="unsafe")
    return np.cumsum(changes, axis=-1, dtype=np.int32)


_WORKER_PLANNER: list[_Planner] = []
"""The planner a planning worker process scores with (set once, by ``_adopt_planner``)."""


def _adopt_planner(planner: _Planner) -> None:
    """Worker start-up: keep the planner the parent forked with (never pickled: fork copies it),
    and collect garbage as usual (the parent forked it from inside ``plan_checkins``' pause)."""
    gc.enable()
    _WORKER_PLANNER[:] = [planner]


def _ranked_chunk(members: Sequence[Sequence[_Person]]) -> list[_RankedProfile]:
    """Score a run of profiles (runs in a worker)."""
    planner = _WORKER_PLANNER[0]
    return [_RankedProfile.of(planner.profile(group)) for group in members]


def _zone_routes(members: Sequence[Sequence[_Person]], workers: int) -> list[int]:
    """The worker for each of ``members``: every profile of one zone combination goes to the same
    worker, so each zone group is built once (jobs come band by band, so a combination recurs up
    to four times; sent to whichever worker was free, both built nearly all of them, 1.5 s each at
    10k pairs). A combination goes, when first seen, to the worker with the fewest profiles so far."""
    totals = collections.Counter(_zone_key(group) for group in members)
    load = [0] * workers
    route: dict[tuple[str | None, ...], int] = {}
    routes = []
    for group in members:
        key = _zone_key(group)
        if key not in route:
            route[key] = load.index(min(load))
            load[route[key]] += totals[key]
        routes.append(route[key])
    return routes


def _zone_chunks(members: Sequence[Sequence[_Person]], routes: Sequence[int]) -> list[tuple[int, list[int]]]:
    """Pieces of work as (worker, positions in ``members``): per worker, runs of at least
    ``PLAN_CHUNK`` of its profiles, each ending where the zones change; ordered by first position."""
    open_runs: dict[int, list[int]] = {}
    chunks: list[tuple[int, list[int]]] = []
    for pos, (group, worker) in enumerate(zip(members, routes)):
        run = open_runs.setdefault(worker, [])
        if len(run) >= PLAN_CHUNK and _zone_key(members[run[-1]]) != _zone_key(group):
            chunks.append((worker, run))
            open_runs[worker] = run = []
        run.append(pos)
    chunks += [(worker, run) for worker, run in open_runs.items() if run]
    return sorted(chunks, key=lambda chunk: chunk[1][0])


@contextmanager
def _profiles_in_order(planner: _Planner, members: Sequence[Sequence[_Person]],
                       ) -> Iterator[Iterator[_Profile | _RankedProfile]]:
    """The profile of each of ``members`` in order, scored ahead by worker processes past
    ``PARALLEL_FROM`` profiles while this process chooses each relationship's pattern (which
    depends on what was booked before, so stays in order here); in this process below that.

    One single-process pool per worker, so a piece goes to the worker its zones are routed to
    (``_zone_routes``)."""
    count = worker_count(None, len(members), parallel_from=PARALLEL_FROM, most=MAX_WORKERS)
    context = fork_context()
    if count == 1 or context is None:
        yield (planner.profile(group) for group in members)
        return
    chunks = _zone_chunks(members, _zone_routes(members, count))
    with contextlib.ExitStack() as stack:
        pools = [stack.enter_context(ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_adopt_planner,
                                                         initargs=(planner,))) for _ in range(count)]
        ahead = 6 * count   # pieces in flight: bounds what waits in memory here
        pending: dict[int, Any] = {}
        submitted = 0

        def submit_through(last: int) -> None:
            nonlocal submitted
            while submitted < len(chunks) and (submitted <= last or len(pending) < ahead):
                worker, positions = chunks[submitted]
                pending[submitted] = pools[worker].submit(_ranked_chunk, [members[pos] for pos in positions])
                submitted += 1

        def profiles() -> Iterator[_RankedProfile]:
            chunk_of = np.empty(len(members), dtype=np.int64)
            for c, (_, positions) in enumerate(chunks):
                chunk_of[positions] = c
            results: dict[int, collections.deque[_RankedProfile]] = {}
            for pos, c in enumerate(chunk_of.tolist()):
                if c not in results:
                    submit_through(c)
                    results[c] = collections.deque(pending.pop(c).result())
                    submit_through(c)
                ranked = results[c].popleft()
                if not results[c]:
                    del results[c]
                yield ranked.attach(planner, members[pos])

        try:
            yield profiles()
        finally:
            for future in pending.values():
                future.cancel()


def _fitting(masks: Sequence[np.ndarray], week: np.ndarray) -> np.ndarray:
    """Per member m, ``masks[m]`` (bool per minute of the week) at ``week[m]``: (M, ...) bool.

    np.take into one array: fancy indexing with the zone group's int16 minutes converts them
    first (2.5 times slower), and stacking copies."""
    out = np.empty((len(masks), *week.shape[1:]), dtype=bool)
    for m, mask in enumerate(masks):
        np.take(mask, week[m], out=out[m])
    return out


def _ranking(tier: np.ndarray, tie_rank: np.ndarray) -> np.ndarray:
    """Pattern ids best first: by ``tier``, then by ``tie_rank`` (``np.lexsort((tie_rank, tier))``).

    ``tie_rank`` is a permutation of the pattern ids (``_Planner.p_tie_rank``). One argsort of
    ``tier * P + tie_rank`` where that fits an int64 (three times faster than lexsort's two
    sorts): those keys are distinct, so any sort gives the one order, and numpy's default
    (unstable) sort is about twice as fast as its stable one here."""
    if len(tier) and int(tier.max()) < (1 << 62) // len(tier):
        return np.argsort(tier * len(tier) + tie_rank)
    return np.lexsort((tie_rank, tier))


def _count_true(flags: np.ndarray) -> np.ndarray:
    """How many of each row's last axis (a pattern's occurrences) are True, as int64.

    A float32 product with ones: exact (far fewer than 2**24 occurrences) and a fifth of the
    time numpy's bool sum takes over a short last axis, which was a fifth of scoring a profile.
    """
    return (flags.astype(np.float32) @ np.ones(flags.shape[-1], dtype=np.float32)).astype(np.int64)


def _lexicographic_rank(columns: Sequence[np.ndarray]) -> np.ndarray:
    """One int64 per row that orders rows as their keys (``columns``, one array per key, the first
    the most important) do (equal rows, equal values).

    The keys are packed with each column's own width, which is exact and fast; only when the
    widths overflow (never for the cadences and lengths allowed so far) are dense ranks taken,
    as np.unique's are (sorting rows costs about as much as all the scoring).
    """
    rows = len(columns[0])
    widths = [int(column.max()) + 1 for column in columns] if rows else []
    if math.prod(widths) < 1 << 62:
        packed = np.zeros(rows, dtype=np.int64)
        for column, width in zip(columns, widths):
            packed = packed * width + column
        return packed
    return np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _preferred_weekdays(config: Config) -> list[int]:
    out: list[int] = []
    for name in config.schedule.weekdays:
        day = DAY_ALIASES.get(str(name).strip().lower())
        if day is None or len(str(name).strip()) < 2:
            raise MentorError(f"schedule.weekdays: {name!r} is not a weekday", path=config.path,
                              hint='Write weekdays like ["Tue", "Wed", "Thu"].')
        if day not in out:
            out.append(day)
    return out


# --------------------------------------------------------------------------------------------
# Planning


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def _display(value: Any) -> str:
    """A name for a calendar or sheet: whitespace (CR/LF included) collapsed to single spaces."""
    return " ".join(_text(value).split())


def _people_index(book: PairingBook, config: Config, planner: _Planner) -> dict[str, _Person]:
    fallback = most_common_zone(book.people["timezone"])
    out: dict[str, _Person] = {}
    windows_of: dict[tuple[str, ...], tuple[Window, ...]] = {}    # many people give the same answers
    for record in _records(book.people):
        email = _text(record.get("email")).lower()
        if not email or email in out:
            continue
        zone = _text(record.get("timezone"))
        known = tzinfo_for(zone) is not None
        zone = zone if known else fallback
        answers = record.get("availability")
        answers = tuple(answers) if isinstance(answers, (tuple, list)) else tuple(
            a.strip() for a in _text(answers).split(";") if a.strip())
        if answers not in windows_of:
            windows_of[answers] = tuple(windows_for(answers, config))
        windows = windows_of[answers]
        out[email] = _Person(
            email=email,
            name=_display(record.get("name")) or email,
            zone=zone,
            zone_known=known,
            windows=windows or planner.comfort_windows(),
            gave_availability=bool(windows),
            country=zone_country(zone) if known else None,
        )
    return out


def series_uid(pair_id: str, mentee_email: str, mentor_email: str) -> str:
    """One UID per pair's series, stable across re-runs: the same pair and people, the same entry.

    A new mentor or mentee makes a new series (the old one is cancelled), never a silent change
    of who an accepted invitation is with.
    """
    key = f"series|{pair_id}|{mentee_email.strip().lower()}|{mentor_email.strip().lower()}"
    return f"{uuid.uuid5(UID_NAMESPACE, key)}@mentorcli"


def relationship_uid(relationship_id: str, mentee_emails: Iterable[str], mentor_emails: Iterable[str]) -> str:
    """One UID per relationship's series: ``series_uid`` of a pair; for more people, each side's
    emails (sorted, once each) joined, so a change of who is in it makes a new series too."""
    def side(emails: Iterable[str]) -> str:
        return ",".join(sorted({e.strip().lower() for e in emails}))

    return series_uid(relationship_id, side(mentee_emails), side(mentor_emails))


def _cohort_events(config: Config) -> list[CohortEventSlot]:
    events = []
    for event in config.events:
        zone = (event.timezone or "UTC").strip()
        tzinfo = tzinfo_for(zone)
        if tzinfo is None:
            raise MentorError(f"event {event.name!r}: time zone {zone!r} is unknown", path=config.path,
                              hint='Use an IANA name such as "Europe/London", or "UTC".')
        minute = _minute_of_day(event.time, f"event {event.name!r} time", config)
        if event.duration_minutes <= 0:
            raise MentorError(f"event {event.name!r}: duration_minutes must be positive", path=config.path)
        local = dt.datetime.combine(event.date, dt.time(minute // 60, minute % 60), tzinfo)
        start = local.astimezone(dt.UTC)
        uid = f"{uuid.uuid5(UID_NAMESPACE, f'event|{event.name}|{event.date.isoformat()}|{event.time}')}@mentorcli"
        events.append(CohortEventSlot(
            name=_display(event.name), start_utc=start,
            end_utc=start + dt.timedelta(minutes=int(event.duration_minutes)),
            timezone=zone, description=str(event.description or ""), uid=uid,
        ))
    return sorted(events, key=lambda e: (e.start_utc, e.name))


def _slots(start_minute: int, duration: int) -> range:
    return range(start_minute // SLOT, (start_minute + duration - 1) // SLOT + 1)


def _slot_list(occurrences: Iterable[int], duration: int) -> list[int]:
    """The 15-minute UTC slots of each of ``occurrences`` (``_slots``), one list for all of them."""
    return [slot for u in occurrences for slot in _slots(u, duration)]


def _natural_key(pair_id: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", pair_id) if part)


class _Bookings:
    """Per person: UTC 15-minute slots taken and local days used; plus cohort events for all."""

    def __init__(self, events: Sequence[CohortEventSlot]):
        self.busy: dict[str, set[int]] = {}
        self.days: dict[str, set[int]] = {}
        self.everyone: set[int] = set()
        for event in events:
            minutes = int((event.start_utc - EPOCH_UTC).total_seconds() // 60)
            length = int((event.end_utc - event.start_utc).total_seconds() // 60)
            self.everyone.update(_slots(minutes, length))

    def conflicts(self, occurrences: Iterable[int], duration: int, *emails: str) -> int:
        """Slots of ``occurrences`` already taken by any of ``emails`` or by a cohort event. Nearly
        every pattern tried is free: ``isdisjoint`` says so without building the union of the taken sets."""
        slots = _slot_list(occurrences, duration)
        sets = [s for s in [*(self.busy.get(e) for e in emails), self.everyone] if s]
        if all(taken.isdisjoint(slots) for taken in sets):
            return 0
        taken = sets[0] if len(sets) == 1 else set().union(*sets)
        return sum(1 for slot in slots if slot in taken)

    def book(self, slots: Iterable[int], email: str, days: Iterable[int]) -> None:
        """Take ``slots`` (``_slot_list`` of a relationship's check-ins, worked out once for all its
        members) and the local ``days`` for ``email``."""
        self.busy.setdefault(email, set()).update(slots)
        self.days.setdefault(email, set()).update(days)


TIER_MAJOR_KEYS = 5
"""Ranking keys a kept pattern must match the best on (a pair's; a circle has one more, the
lead's); it may lose on the last two (preferred weekday, holiday moves)."""


def _choose(planner: _Planner, profile: _Profile | _RankedProfile, bookings: _Bookings, members: Sequence[_Person],
            prefer: int | None = None) -> tuple[int, bool]:
    """The pattern for one relationship: the best-ranked that fits every member's bookings.

    ``prefer`` is the relationship's pattern in the schedule being replaced: it stays while it
    is as good as the best on every rule that matters (dates, windows, comfort) and fits the
    bookings, so a rerun moves only what the change forces (logged check-ins stay where they
    were, updates go only to relationships whose check-ins changed). Among equally good patterns
    the one on days its people have no other check-in wins (a mentor's pairs spread over the
    week). Returns (pattern, overlaps) where ``overlaps`` is True only when every pattern
    collides with a booking and the least-colliding was taken.
    """
    order, tier = profile.order, profile.tier
    emails = [member.email for member in members]
    if prefer is not None and not profile.invalid[prefer]:
        rank = int(np.flatnonzero(order == prefer)[0])
        if profile.major[rank] == profile.major[0] and not bookings.conflicts(
                profile.occurrence_values(prefer)["utc"].tolist(), planner.duration, *emails):
            return prefer, False
    used_days = [bookings.days.get(email, set()) for email in emails]
    if not (any(bookings.busy.get(email) for email in emails) or bookings.everyone or any(used_days)):
        return int(order[0]), False
    best: tuple[int, int] | None = None  # (penalty, pattern)
    best_tier = -1
    scanned = 0
    for rank in range(len(order)):
        p = int(order[rank])
        if profile.invalid[p]:
            break
        if best is not None and tier[rank] != best_tier:
            break
        values = profile.occurrence_values(p)
        if bookings.conflicts(values["utc"].tolist(), planner.duration, *emails):
            continue
        penalty = sum(sum(d in days for d in local_days.tolist()) for days, local_days in zip(used_days, values["local_day"]))
        if best is None:
            best, best_tier = (penalty, p), int(tier[rank])
        elif penalty < best[0]:
            best = (penalty, p)
        if best[0] == 0:
            break
        scanned += 1
        if scanned >= SPREAD_SCAN:
            break
    if best is not None:
        return best[1], False
    counts = [(bookings.conflicts(profile.occurrence_values(int(p))["utc"].tolist(), planner.duration, *emails), rank)
              for rank, p in enumerate(order) if not profile.invalid[int(p)]]
    return int(order[min(counts)[1]]), True


def _local_text(moment: dt.datetime, person: _Person) -> str:
    tzinfo = tzinfo_for(person.zone) or dt.UTC
    local = moment.astimezone(tzinfo)
    label = person.zone if person.zone_known else f"{person.zone}, assumed"
    return f"{local:%a %Y-%m-%d %H:%M} ({label})"


_CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440)]
"""HH:MM of each minute of a day."""


@lru_cache(maxsize=4096)
def _day_text(epoch_day: int) -> str:
    """"Mon 2026-03-02": the date part of ``_local_text``, formatted once per day."""
    return f"{_date_of(epoch_day):%a %Y-%m-%d}"


def _local_clock(planner: _Planner, person: _Person, utc: np.ndarray) -> tuple[list[str], list[str]]:
    """``_local_text`` of each of a relationship's occurrences (UTC minutes) for one person, and its HH:MM.

    The same words as those two, but the offsets come from the zone's ``ZoneTable`` for all the
    occurrences at once and each day's date is formatted once: per row, astimezone and strftime
    cost more than the rest of building a row (about 2 s of the main process at 10k pairs).
    Kept per zone and instants (``_Planner.clocks``): people of one zone often meet at the same ones.
    """
    key = (person.zone, person.zone_known, utc.dtype.str, utc.tobytes())
    found = planner.clocks.get(key)
    if found is not None:
        return found
    local_day, minute = np.divmod(utc + planner.zone_table(person.zone).offset_at_utc(utc), 1440)
    label = person.zone if person.zone_known else f"{person.zone}, assumed"
    hhmm = [_CLOCK[m] for m in minute.tolist()]
    planner.clocks[key] = found = [f"{_day_text(day)} {clock} ({label})" for day, clock in zip(local_day.tolist(), hhmm)], hhmm
    return found


def _and_list(words: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return " and ".join(words) if len(words) <= 2 else f"{', '.join(words[:-1])} and {words[-1]}"


@dataclass(frozen=True)
class _Occurrences:
    """One relationship's chosen pattern as Python lists, per occurrence k: ``fits[k][m]``, the grid
    day planned (``day``) and the plain pattern's (``base``), ``blocked``; and ``out_all``.
    Read once per relationship: numpy scalar reads per occurrence cost more than the flags' words."""

    fits: list[list[bool]]
    day: list[int]
    base: list[int]
    blocked: list[bool]
    out_all: bool

    @classmethod
    def of(cls, profile: _Profile | _RankedProfile, values: dict[str, np.ndarray], p: int) -> _Occurrences:
        return cls(fits=values["fits"].T.tolist(), day=values["day"].tolist(), base=profile.base[p].tolist(),
                   blocked=values["blocked"].tolist(), out_all=bool(profile.out_all[p]))


def _occurrence_flags(planner: _Planner, occurrences: _Occurrences, p: int, k: int,
                      members: Sequence[_Person], hhmm: Sequence[Sequence[str]]) -> list[str]:
    """Plain-words reasons a coordinator should look at one check-in ([] when all is well).

    ``hhmm[m][k]``: the start in member m's local time (``_local_clock``)."""
    flags = []
    fits = occurrences.fits[k]
    out = [member for member, fit in zip(members, fits) if not fit]
    base, resolved = occurrences.base[k], occurrences.day[k]
    if resolved != base:
        base_day = _date_of(planner.d0 + base)
        reason = _block_reason(planner, p, members, base) or "a holiday"
        flags.append(f"moved from {base_day:%a %Y-%m-%d} ({reason})")
    if occurrences.blocked[k]:
        reason = _block_reason(planner, p, members, resolved) or "a holiday"
        flags.append(f"on {reason}: no allowed day that {planner.cadence.period}")
    if out and occurrences.out_all and len(members) > 2:
        weekday = DAY_NAMES[int(planner.p_weekday[p])]
        flags.append(
            f"no common availability: no time suits all {len(members)} members; least bad time ({weekday}s {hhmm[0][k]} "
            f"for {members[0].name}), {len(members) - len(out)} of {len(members)} free; "
            f"{_and_list([member.name for member in out])} cannot make it (outside their availability)"
        )
    elif out and occurrences.out_all:
        weekday = DAY_NAMES[int(planner.p_weekday[p])]
        anchor = members[0]
        times = _and_list([f"{hhmm[m][k]} for {member.name}" for m, member in enumerate(members) if m > 0])
        flags.append(
            f"no common availability: {weekday}s {hhmm[0][k]} for {anchor.name} is {times}; "
            f"outside {_and_list([member.name for member in out])}'s availability"
        )
    elif out:
        why = "the day it moved to is" if resolved != base else "a daylight-saving change puts it"
        for m, member in enumerate(members):
            if not fits[m]:
                flags.append(f"{why} outside {member.name}'s availability ({hhmm[m][k]} local)")
    return flags


def _block_reason(planner: _Planner, p: int, members: Sequence[_Person], day_index: int) -> str | None:
    """The holiday or blackout behind a move: checked on each member's own local date."""
    local_anchor = (planner.d0 + day_index) * 1440 + int(planner.p_minute[p])
    utc = int(planner.zone_table(members[0].zone).utc_from_local(np.array([local_anchor]))[0])
    reasons = []
    for member in members:
        local = utc + int(planner.zone_table(member.zone).offset_at_utc(np.array([utc]))[0])
        reason = planner.holidays.reason(local // 1440, member.country)
        if reason:
            reasons.append(reason)
    return "; ".join(dict.fromkeys(reasons)) or None


def _tightness_band(starts: int) -> int:
    """0: no common time, 1: up to 2 hours a week, 2: up to 10, 3: more."""
    return 0 if starts == 0 else 1 if starts <= 8 else 2 if starts <= 40 else 3


def _previous_pattern(planner: _Planner, anchor: _Person, starts: Sequence[dt.datetime]) -> int | None:
    """The pattern id behind earlier check-ins (the most common n-th weekday and time in the
    anchor's zone, the earliest on a tie), or None when none of them is on the grid."""
    table = planner.zone_table(anchor.zone)
    keys = []
    for moment in starts:
        utc = int((moment - EPOCH_UTC).total_seconds() // 60)
        local = utc + int(table.offset_at_utc(np.array([utc]))[0])
        day, minute = divmod(local, 1440)
        index = day - planner.d0
        if not 0 <= index < planner.D or minute % STEP:
            continue
        slots = np.flatnonzero(planner.base[:, planner.period_of[index]] == index)
        if len(slots):
            keys.append(int(slots[0]) * STARTS_PER_DAY + minute // STEP)
    if not keys:
        return None
    counts = {key: keys.count(key) for key in keys}
    return max(keys, key=lambda key: (counts[key], -keys.index(key)))


def _previous_starts(previous: pd.DataFrame | None) -> dict[tuple[str, frozenset[str]], list[dt.datetime]]:
    """Earlier check-ins per (relationship id, its people), rows kept from an even earlier
    schedule left out; each meeting once (a relationship of three has a row per mentee)."""
    if previous is None or previous.empty:
        return {}
    people: dict[str, set[str]] = {}
    starts: dict[str, list[dt.datetime]] = {}
    for row in previous.to_dict("records"):
        if _text(row.get("flag")).startswith(KEPT_MARK) or pd.isna(row.get("start_utc")):
            continue
        pair_id = _text(row.get("pair_id"))
        people.setdefault(pair_id, set()).update(
            {_text(row.get("mentee_email")).lower(), _text(row.get("mentor_email")).lower()})
        moment = pd.Timestamp(row["start_utc"]).to_pydatetime()
        if moment not in starts.setdefault(pair_id, []):
            starts[pair_id].append(moment)
    return {(pair_id, frozenset(people[pair_id])): found for pair_id, found in starts.items()}


def previous_checkins(out_dir: Path) -> pd.DataFrame | None:
    """The check-in sheet a rerun replaces (None when there is none or it cannot be read)."""
    sheet = Path(out_dir) / "checkins.xlsx"
    if not sheet.is_file():
        return None
    try:
        return read_checkins(sheet)
    except MentorError:
        return None


@dataclass(frozen=True)
class _Planned:
    """A relationship as the planner takes it: its members with the anchor first, and its sheet rows.

    ``rows`` are the (mentee, mentor) of each Pairs row of the relationship: every meeting gets one
    check-in row per Pairs row, so a pair's sheet is as it always was and a mentor with two
    mentees has a row per mentee (each logs their own Held and Rating). ``listing`` is the order
    people are named in: mentees (the others) first, then mentors (the leads), as a pair's were.
    """

    id: str
    members: tuple[_Person, ...]
    anchor_role: str
    rows: tuple[tuple[_Person, _Person], ...]
    listing: tuple[_Person, ...]
    words: tuple[str, str] = ("", "")
    """A circle's ``CIRCLE_WORDS`` (members, lead); blank for a pair."""

    def profile_key(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(zones and countries, windows): what the ranking of patterns depends on."""
        return (tuple(m.zone for m in self.members) + tuple(m.country for m in self.members),
                tuple(m.windows for m in self.members))

    @property
    def uid(self) -> str:
        return relationship_uid(self.id, [m.email for m, _ in self.rows], [m.email for _, m in self.rows])


@gc_paused()   # its objects hold no cycles; each collection walked all made so far (0.46 s at 10k, none found)
def plan_checkins(book: PairingBook, config: Config, *, start: dt.date | None = None,
                  months: int | None = None, previous: pd.DataFrame | None = None) -> Schedule:
    """One check-in per relationship per period of the cadence, from ``start`` for ``months`` months.

    Each relationship's meetings are placed inside every member's windows (a pair is the
    two-member case). Rows whose people are missing from the People sheet are skipped and
    reported, never guessed. Deterministic: the same workbook and config give the same
    schedule. ``previous`` (``previous_checkins`` of the folder being rescheduled) keeps each
    relationship's earlier pattern wherever it is still as good (see ``_choose``).
    """
    start = start or default_start()
    months = int(config.schedule.months if months is None else months)
    if not 1 <= months <= MAX_MONTHS:
        raise MentorError(f"months must be between 1 and {MAX_MONTHS}, not {months}", path=config.path)
    planner = _Planner(config, start, months)
    events = _cohort_events(config)
    people = _people_index(book, config, planner)
    problems: list[Problem] = []
    relationships = _usable_relationships(book, people, problems)
    bookings = _Bookings(events)
    before = _previous_starts(previous)

    jobs = [(_tightness_band(planner.tightness(rel.members)), rel.profile_key(), pos, rel)
            for pos, rel in enumerate(relationships)]
    # Tightest first; within a band, the same zones and then the same profile next to each
    # other, so each profile is scored once and each zone combination about once per band.
    jobs.sort(key=lambda job: (job[0], repr(job[1][0]), repr(job[1][1]), job[2]))

    rows: dict[str, list[Any]] = {name: [] for name in _ROW_FIELDS}
    runs = [[job for job in run] for _, run in itertools.groupby(jobs, key=lambda job: job[1])]
    with _profiles_in_order(planner, [run[0][3].members for run in runs]) as profiles:
        for run, profile in zip(runs, profiles):   # the jobs are grouped by profile: each scored once
            for _, _, pos, rel in run:
                _plan_relationship(planner, profile, bookings, rel, pos, before, rows)
    checkins = _checkins_frame(rows)
    notes = _planning_notes(people, relationships)
    if book.circles:
        notes += least_bad_notes(book, rows)
    return Schedule(checkins=checkins, events=events, problems=problems, start=start, months=months, notes=notes)


_ROW_FIELDS = ("pair_id", "occurrence", "mentee", "mentee_email", "mentor", "mentor_email", "start_utc", "end_utc",
               "anchor_role", "anchor_tz", "mentee_tz", "mentor_tz", "mentee_local", "mentor_local", "pattern", "flag",
               "uid", "_pos", "_missing", "mentee_role", "mentor_role")
"""The check-in rows' fields as ``plan_checkins`` collects them, a list per field (a dict per row
cost more than the rest of building the rows); ``_pos`` and ``_missing`` never reach the sheet.
``start_utc`` and ``end_utc`` are UTC minutes, made timestamps for all rows at once by ``_checkins_frame``."""


def _plan_relationship(planner: _Planner, profile: _Profile | _RankedProfile, bookings: _Bookings, rel: _Planned, pos: int,
                       before: dict[tuple[str, frozenset[str]], list[dt.datetime]], rows: dict[str, list[Any]]) -> None:
    """Choose one relationship's pattern, book it for every member, and add its check-in rows to
    ``rows`` (``_ROW_FIELDS``): one per Pairs row per occurrence, occurrence by occurrence."""
    anchor = rel.members[0]
    earlier = before.get((rel.id, frozenset(m.email for m in rel.members)))
    prefer = _previous_pattern(planner, anchor, earlier) if earlier else None
    p, overlaps = _choose(planner, profile, bookings, rel.members, prefer)
    values = profile.occurrence_values(p)
    occurrences = values["utc"].tolist()
    slots = _slot_list(occurrences, planner.duration)
    for member, local_days in zip(rel.members, values["local_day"].tolist()):
        bookings.book(slots, member.email, local_days)
    clocks: dict[str, tuple[list[str], list[str]]] = {}
    for person in (*rel.members, *(person for row in rel.rows for person in row)):
        if person.email not in clocks:
            clocks[person.email] = _local_clock(planner, person, values["utc"])
    hhmm = [clocks[member.email][1] for member in rel.members]
    # only these occurrences can have a flag of their own (see _occurrence_flags)
    flagged = (~values["fits"].all(axis=0) | (values["day"] != profile.base[p]) | values["blocked"]).tolist()
    chosen = _Occurrences.of(profile, values, p)
    always = ["overlaps another check-in or a cohort event: no free time was left"] if overlaps else []
    always += [f"time zone unknown for {person.name}: assumed {person.zone}" for person in rel.listing if not person.zone_known]
    least_bad = bool(profile.out_all[p]) and len(rel.members) > 2
    pairs, count, span = len(rel.rows), len(occurrences) * len(rel.rows), range(len(occurrences))
    per_occurrence = {
        "occurrence": [k + 1 for k in span], "start_utc": occurrences,
        "end_utc": [minute + planner.duration for minute in occurrences],
        "flag": ["; ".join(_occurrence_flags(planner, chosen, p, k, rel.members, hhmm) + always) if flagged[k]
                 else "; ".join(always) for k in span],
        "_missing": [[member.email for member, fits in zip(rel.members, values["fits"][:, k]) if not fits] if least_bad
                     else () for k in span],
    }
    for name, column in per_occurrence.items():
        rows[name] += column if pairs == 1 else [value for value in column for _ in rel.rows]
    rows["mentee_local"] += [clocks[mentee.email][0][k] for k in span for mentee, _ in rel.rows]
    rows["mentor_local"] += [clocks[mentor.email][0][k] for k in span for _, mentor in rel.rows]
    for name, value in (("pair_id", rel.id), ("anchor_role", rel.anchor_role), ("anchor_tz", anchor.zone),
                        ("pattern", planner.pattern_text(p, anchor.zone)), ("uid", rel.uid), ("_pos", pos),
                        ("mentee_role", rel.words[0]), ("mentor_role", rel.words[1])):
        rows[name] += [value] * count
    for name, per_row in (("mentee", [mentee.name for mentee, _ in rel.rows]), ("mentee_email", [m.email for m, _ in rel.rows]),
                          ("mentor", [mentor.name for _, mentor in rel.rows]), ("mentor_email", [m.email for _, m in rel.rows]),
                          ("mentee_tz", [m.zone for m, _ in rel.rows]), ("mentor_tz", [m.zone for _, m in rel.rows])):
        rows[name] += per_row * len(occurrences)


def least_bad_notes(book: PairingBook, rows: Mapping[str, Sequence[Any]]) -> list[str]:
    """One line per circle whose meetings no time suits for everyone: who cannot make the least
    bad time, by Circles row (the screen and logs carry rows and circle ids, never names)."""
    row_of: dict[tuple[str, str], int] = {}
    for record in book.pairs.to_dict("records"):
        row_of[(str(record["pair_id"]), str(record["mentee_email"]))] = int(record["row"])
        row_of[(str(record["pair_id"]), str(record["mentor_email"]))] = int(record["lead_row"])
    missing: dict[str, dict[str, None]] = {}
    for pair_id, emails in zip(rows["pair_id"], rows["_missing"]):
        for email in emails:
            missing.setdefault(pair_id, {})[email] = None
    notes = []
    for circle in sorted(missing, key=_natural_key):
        numbers = sorted(row_of[(circle, email)] for email in missing[circle] if (circle, email) in row_of)
        notes.append(f"circle {circle}: no time suits every member; the least bad time leaves out Circles "
                     f"row{'s' if len(numbers) != 1 else ''} {', '.join(map(str, numbers))} (flagged in checkins.xlsx)")
    return notes


def _checkins_frame(rows: dict[str, list[Any]]) -> pd.DataFrame:
    if not rows["pair_id"]:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in CHECKIN_COLUMNS})
        frame["start_utc"] = pd.to_datetime(frame["start_utc"], utc=True)
        frame["end_utc"] = pd.to_datetime(frame["end_utc"], utc=True)
        return frame
    frame = pd.DataFrame(rows)
    # each pair id's place in natural order (ids of equal natural keys share one), as an int to sort by
    keys = {pair_id: _natural_key(pair_id) for pair_id in frame["pair_id"].unique()}
    places = {key: place for place, key in enumerate(sorted(set(keys.values())))}
    frame["_key"] = frame["pair_id"].map({pair_id: places[key] for pair_id, key in keys.items()})
    frame = frame.sort_values(["_key", "_pos", "occurrence"], kind="stable").drop(columns=["_key", "_pos"])
    frame["start_utc"] = pd.to_datetime(frame["start_utc"], unit="m", utc=True)
    frame["end_utc"] = pd.to_datetime(frame["end_utc"], unit="m", utc=True)
    frame["occurrence"] = frame["occurrence"].astype(int)
    return frame[list(CHECKIN_COLUMNS)].reset_index(drop=True)


def _planning_notes(people: dict[str, _Person], relationships: list[_Planned]) -> list[str]:
    involved = {member.email for rel in relationships for member in rel.members}
    no_windows = sum(1 for e in involved if not people[e].gave_availability)
    no_zone = sum(1 for e in involved if not people[e].zone_known)
    notes = []
    if no_windows:
        notes.append(f"{no_windows} participant(s) gave no readable availability: planned within the default hours")
    if no_zone:
        notes.append(f"{no_zone} participant(s) have no known time zone: the cohort's most common zone was assumed (flagged)")
    return notes


def _usable_rows(book: PairingBook, people: dict[str, _Person], problems: list[Problem]) -> list[dict[str, Any]]:
    """The Pairs rows that can be scheduled: pair_id, mentee_email, mentor_email (normalised).

    A row whose people are not in the People sheet, a row of a person with themselves, and a
    repeated pair are reported and left out, never guessed.
    """
    file = str(book.path)
    sheet = "Circles" if book.circles else "Pairs"
    out, seen = [], set()
    for record in _records(book.pairs):
        pair_id = _text(record.get("pair_id"))
        raw_row: Any = record.get("row")
        row = int(raw_row) if _text(raw_row) and str(raw_row).lstrip("-").isdigit() else None
        mentee, mentor = _text(record.get("mentee_email")).lower(), _text(record.get("mentor_email")).lower()
        label = f"pair {pair_id}" if pair_id else "this pair"
        if not pair_id:
            problems.append(Problem(file, sheet, row, "Pair ID", "error", "no pair ID: pair not scheduled"))
            continue
        missing = [(col, e) for col, e in (("Mentee Email", mentee), ("Mentor Email", mentor)) if e not in people]
        if missing:
            for column, email in missing:
                what = "empty" if not email else "not in the People sheet"
                problems.append(Problem(file, sheet, row, column, "error", f"{what}: {label} not scheduled"))
            continue
        if mentee == mentor:
            problems.append(Problem(file, sheet, row, "Mentor Email", "error", f"{label} pairs a person with themselves: not scheduled"))
            continue
        if (mentee, mentor) in seen:
            problems.append(Problem(file, sheet, row, "Pair ID", "warning", f"{label} repeats an earlier pair: scheduled once"))
            continue
        seen.add((mentee, mentor))
        out.append({"pair_id": pair_id, "mentee_email": mentee, "mentor_email": mentor,
                    "mentee": people[mentee].name, "mentor": people[mentor].name})
    return out


def _usable_relationships(book: PairingBook, people: dict[str, _Person], problems: list[Problem]) -> list[_Planned]:
    """The relationships to schedule, in workbook order: ``relationships_from_pairs`` of the usable
    rows (rows sharing a pair id are one relationship), each with its anchor first."""
    usable = _usable_rows(book, people, problems)
    frame = pd.DataFrame(usable, columns=["pair_id", "mentee_email", "mentor_email", "mentee", "mentor"])
    rows_of: dict[str, list[tuple[_Person, _Person]]] = {}
    for row in usable:
        rows_of.setdefault(row["pair_id"], []).append((people[row["mentee_email"]], people[row["mentor_email"]]))
    out = []
    words = circle_words(book)
    for rel in relationships_from_pairs(frame):
        roles = {member.email: member.role for member in reversed(rel.members)}   # the first role a person has
        members = [people[email] for email in dict.fromkeys(rel.emails)]
        leads = [m for m in members if roles[m.email] in LEAD_ROLES] or members[:1]
        others = [m for m in members if m not in leads]
        anchor = _anchor(leads, others)
        out.append(_Planned(id=rel.id, members=(anchor, *(m for m in members if m is not anchor)),
                            anchor_role=roles[anchor.email], rows=tuple(rows_of[rel.id]), listing=(*others, *leads),
                            words=words.get(rel.id, ("", ""))))
    return out


def circle_words(book: PairingBook) -> dict[str, tuple[str, str]]:
    """Per circle id, what its calendar text calls its members and its lead (``CIRCLE_WORDS``);
    nothing for a workbook of pairs."""
    if not book.circles:
        return {}
    leads = book.pairs.drop_duplicates("pair_id")
    return {_text(pid): CIRCLE_WORDS.get(_text(role), ("member", _text(role)))
            for pid, role in zip(leads["pair_id"], leads["mentor_role"])}


def _anchor(leads: Sequence[_Person], others: Sequence[_Person]) -> _Person:
    """Whose local time stays fixed: the first lead's (a mentor keeps several relationships, so
    their calendar stays regular), unless only another member's zone is known."""
    known = [m for m in (*leads, *others) if m.zone_known]
    return known[0] if known else leads[0]


# --------------------------------------------------------------------------------------------
# Calendars (.ics)


def participant_file_name(name: str, email: str) -> str:
    """``ana-ruiz-1a2b3c4d5e.ics``: a slug of the name plus a stable hash of the email.

    The hash keeps two people of the same name apart and never shows the address itself.
    """
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:10]
    return f"{safe_slug(name, fallback='participant', max_length=40)}-{digest}.ics"


PARTICIPANT_FILE = re.compile(r"[a-z0-9_-]+-[0-9a-f]{10}(?:-x)*\.ics")
"""The names ``participant_file_name`` gives: a stale one of these is ours to remove."""
CHANGES_DIR = "changes"


def _ics_zone(zone: str) -> dt.tzinfo:
    """The zone calendars carry: an IANA zone as TZID, anything else (fixed offsets) as UTC."""
    tzinfo = tzinfo_for(zone)
    return tzinfo if isinstance(tzinfo, ZoneInfo) else dt.UTC


def _clean_email(email: str) -> str:
    return re.sub(r"[\s\x00-\x1f\x7f\"<>]", "", email)


@dataclass(frozen=True)
class Version:
    """SEQUENCE and DTSTAMP of one published UID."""

    sequence: int
    dtstamp: dt.datetime


@dataclass(frozen=True)
class Serialised:
    """Components as icalendar serialised them, and the time zones (TZIDs) their times name."""

    data: bytes
    zones: frozenset[str]


def _zones_of(components: Sequence[Any]) -> frozenset[str]:
    return frozenset(str(c["DTSTART"].params["TZID"]) for c in components
                     if "DTSTART" in c and "TZID" in c["DTSTART"].params)


def serialise(components: Sequence[Any], reminder: Sequence[Any] = ()) -> Serialised:
    """``components`` serialised once each by icalendar (``ical_bytes``: ``Component.to_ical``'s bytes), end to end.

    ``reminder``: subcomponents every one of ``components`` has alike (a series' VALARM), given
    apart from them (``series_components(reminders=False)``). icalendar serialises them once and
    their bytes go where it puts a component's subcomponents, after its properties, before its
    END line: the same bytes as the components holding them, without serialising one VALARM per
    check-in (an eighth of a cohort's calendar text).
    """
    if not reminder:
        return Serialised(b"".join(ical_bytes(c) for c in components), _zones_of(components))
    inner = b"".join(ical_bytes(c) for c in reminder)
    parts = []
    for component in components:
        data = ical_bytes(component)
        end = f"END:{component.name}\r\n".encode()
        if component.subcomponents or not data.endswith(end):
            raise ValueError("a component given with a shared reminder must have no subcomponents of its own")
        parts += [data[:-len(end)], inner, end]
    return Serialised(b"".join(parts), _zones_of(components))


class _CalendarBuilder:
    """icalendar objects for one schedule: shared VTIMEZONE components, consistent properties."""

    def __init__(self, config: Config, first: dt.date, last: dt.date):
        self.config = config
        # whole calendar years: every builder of the same years shares one cached VTIMEZONE per zone
        self.first = dt.date((first - dt.timedelta(days=7)).year, 1, 1)
        self.last = dt.date((last + dt.timedelta(days=7)).year, 12, 31)
        self._cache: dict[tuple[str, Any], bytes] = {}
        self._frames: dict[tuple[str, Any], tuple[bytes, bytes]] = {}
        self._values: dict[tuple[str, Any], Any] = {}

    def calendar(self, method: str, title: str, events: Sequence[Any], shared: Sequence[Any] = ()) -> bytes:
        """A VCALENDAR of ``events`` then ``shared`` (components in many calendars: cohort events).

        Each VTIMEZONE and shared component is serialised by icalendar once per builder and its
        bytes spliced in where icalendar itself puts them (time zones first, then events in
        order): serialising them again for every person was most of the cost of a cohort's files.
        """
        shared_bytes = [Serialised(self._serialised(("shared", id(c)), lambda c=c: c), _zones_of([c])) for c in shared]
        return self.assemble(method, title, [serialise(events)], shared_bytes)

    def assemble(self, method: str, title: str, parts: Sequence[Serialised], shared: Sequence[Serialised] = ()) -> bytes:
        """A VCALENDAR from components icalendar already serialised: the header, the VTIMEZONEs
        every part names, ``parts`` then ``shared`` in order, the footer.

        The same bytes as ``Calendar.to_ical()`` of the whole calendar (icalendar writes a
        component as its properties and then its subcomponents' lines, each folded on its own),
        so a series serialised once is spliced into a person's file as it is.
        """
        head, tail = self._frame(method, title)
        zones = sorted(set().union(*(part.zones for part in [*parts, *shared])))
        zone_bytes = [self._serialised(("tz", tzid), lambda tzid=tzid: vtimezone(tzid, self.first, self.last)) for tzid in zones]
        return b"".join([head, *zone_bytes, *(part.data for part in parts), *(part.data for part in shared), tail])

    def _frame(self, method: str, title: str) -> tuple[bytes, bytes]:
        """The VCALENDAR header (its properties) and footer, as icalendar serialises them."""
        key = ("frame", (method, title))
        found = self._frames.get(key)
        if found is None:
            cal = Calendar()
            cal.add("prodid", f"-//mentorcli//mentorcli {__version__}//EN")
            cal.add("version", "2.0")
            cal.add("calscale", "GREGORIAN")
            cal.add("method", method)
            cal.add("x-wr-calname", ics_text(title))
            data = ical_bytes(cal)
            tail_start = data.rindex(b"END:VCALENDAR")
            found = self._frames[key] = (data[:tail_start], data[tail_start:])
        return found

    def _serialised(self, key: tuple[str, Any], component: Any) -> bytes:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = ical_bytes(component())
        return found

    def _value(self, name: str, key: Any, make: Callable[[], Any]) -> Any:
        """One typed property value per builder for what most series share (the organizer, the
        stamp of a run, a status): the events hold it, never change it, and each building of it
        was a tenth of the cost of a series' shared part."""
        found = self._values.get((name, key))
        if found is None:
            found = self._values[(name, key)] = make()
        return found

    def organizer(self) -> Any:
        organizer = vCalAddress(f"mailto:{_clean_email(self.config.cohort.coordinator_email)}")
        organizer.params["CN"] = ics_text(self.config.cohort.coordinator_name)
        return organizer

    def event(self, *, uid: str, start: dt.datetime, end: dt.datetime, zone: str, summary: str,
              description: str, version: Version, attendees: Sequence[tuple[str, str]] = (),
              rule: dict[str, Any] | None = None, exdates: Sequence[dt.datetime] = (),
              rdates: Sequence[dt.datetime] = (), recurrence_id: dt.datetime | None = None) -> Any:
        """One VEVENT: a single event, a series master (``rule``) or an override (``recurrence_id``)."""
        return self.timed(self.shared(uid=uid, summary=summary, version=version, attendees=attendees),
                          start=start, end=end, zone=zone, description=description, rule=rule, exdates=exdates,
                          rdates=rdates, recurrence_id=recurrence_id)

    def shared(self, *, uid: str, summary: str, version: Version, attendees: Sequence[tuple[str, str]] = ()) -> Any:
        """What every event of a series has alike (UID, stamp, summary, people, reminder): built
        once per series and copied into each of its events by ``timed``, which costs a fraction
        of adding them again to each."""
        event = Event()
        # each once per event and already typed: set, not ``add``ed (no list to extend)
        event["UID"] = vText(uid)
        event["DTSTAMP"] = self._value("dtstamp", version.dtstamp, lambda: _date_time(version.dtstamp, dt.UTC))
        event["SUMMARY"] = vText(ics_text(summary))
        event["ORGANIZER"] = self._value("organizer", None, self.organizer)
        rsvp = "TRUE" if self.config.schedule.rsvp else "FALSE"
        for name, email in attendees:
            attendee = vCalAddress(f"mailto:{_clean_email(email)}")
            attendee.params.update({"CN": ics_text(name), "ROLE": "REQ-PARTICIPANT",
                                    "PARTSTAT": "NEEDS-ACTION", "RSVP": rsvp})
            event.add("attendee", attendee)
        event["STATUS"] = self._value("status", None, lambda: vText("CONFIRMED"))
        event["TRANSP"] = self._value("transp", None, lambda: vText("OPAQUE"))
        event["SEQUENCE"] = self._value("sequence", version.sequence, lambda: vInt(version.sequence))
        minutes = int(self.config.schedule.reminder_minutes)
        if minutes > 0:
            alarm = Alarm()
            alarm["ACTION"] = self._value("action", None, lambda: vText("DISPLAY"))
            alarm["TRIGGER"] = self._value("trigger", minutes, lambda: vDuration(dt.timedelta(minutes=-minutes)))
            alarm["DESCRIPTION"] = vText(_reminder_text(summary))
            event.add_component(alarm)
        return event

    def timed(self, shared: Any, *, start: dt.datetime, end: dt.datetime, zone: str, description: str,
              rule: dict[str, Any] | None = None, exdates: Sequence[dt.datetime] = (),
              rdates: Sequence[dt.datetime] = (), recurrence_id: dt.datetime | None = None,
              reminder: bool = True) -> Any:
        """A copy of ``shared`` (from ``shared``) with its own times and text; its reminder is
        the shared one (the same for every event of a series), left out when not ``reminder``
        (``serialise`` then splices it in)."""
        tzinfo = _ics_zone(zone)
        event = Event()
        for name, value in shared.items():   # a shallow copy: a sixth of the cost of ``shared.copy()``
            event[name] = value
        # each of these once per event and already typed: set, not ``add``ed (no list to extend)
        if recurrence_id is not None:
            event["RECURRENCE-ID"] = _date_time(recurrence_id, tzinfo)
        event["DTSTART"] = _date_time(start, tzinfo)
        event["DTEND"] = _date_time(end, tzinfo)
        if rule is not None:
            event.add("rrule", rule)
        for moment in rdates:   # one date per property: some parsers misread a list
            event.add("rdate", moment.astimezone(tzinfo))
        for moment in exdates:
            event.add("exdate", moment.astimezone(tzinfo))
        event["DESCRIPTION"] = vText(ics_text(description, multiline=True))
        for component in shared.subcomponents if reminder else ():
            event.add_component(component)
        return event

    def cancellation(self, uid: str, entry: Published, version: Version,
                     instance: tuple[dt.datetime, str] | None = None) -> Any:
        """A VEVENT for METHOD:CANCEL of a whole series that was published before (RFC 5546 3.2.5),
        or with ``instance`` (its RECURRENCE-ID and the series' zone) of that one check-in only."""
        event = Event()
        event.add("uid", uid)
        event.add("dtstamp", version.dtstamp)
        if instance is not None:
            moment, zone = instance
            event.add("recurrence-id", moment.astimezone(_ics_zone(zone)))
            event.add("dtstart", moment.astimezone(_ics_zone(zone)))
        elif entry.start:
            event.add("dtstart", dt.datetime.fromisoformat(entry.start).astimezone(dt.UTC))
        event.add("summary", ics_text(entry.summary or "Mentoring check-ins"))
        event.add("organizer", self.organizer())
        for name, email in entry.people:
            attendee = vCalAddress(f"mailto:{_clean_email(email)}")
            attendee.params.update({"CN": ics_text(name), "ROLE": "REQ-PARTICIPANT"})
            event.add("attendee", attendee)
        event.add("status", "CANCELLED")
        event.add("sequence", version.sequence)
        return event


def _date_time(moment: dt.datetime, tzinfo: dt.tzinfo) -> vDatetime:
    """``moment`` in ``tzinfo`` as icalendar's DATE-TIME value, handed to ``add`` already typed.

    ``add`` would wrap a plain datetime in ``vDDDTypes``, which builds a second ``vDatetime``
    (parameters and a time-zone lookup) each time the event is serialised: a fifth of the cost
    of a series' times. Same parameters (TZID, none for UTC), same bytes.
    """
    return vDatetime(moment.astimezone(tzinfo))


def _reminder_text(summary: str) -> str:
    return ics_text(f"Reminder: {summary}")


def _cadence(config: Config) -> Cadence:
    name = str(getattr(config.schedule, "cadence", "monthly")).strip().lower()
    if name not in CADENCES:
        raise MentorError(f"schedule.cadence = {name!r} is not a cadence", path=config.path,
                          hint=f"Use one of {', '.join(CADENCES)}.")
    return CADENCES[name]


def _zone_label(local_text: Any, zone: str) -> str:
    """The zone as the sheet shows it ("Europe/London", or "Europe/London, assumed")."""
    found = re.search(r"\(([^()]*)\)\s*$", _text(local_text))
    return found.group(1) if found else zone


@dataclass(frozen=True)
class _Attendee:
    """One person of a series as its rows name them: role, name, email, zone, local time per start."""

    role: str
    name: str
    email: str
    zone: str
    local: dict[dt.datetime, str]
    word: str = ""
    """What the calendar text calls them: their role in a circle, or blank (a pair's side)."""

    @property
    def title(self) -> str:
        return (self.word or self.role).title()

    def local_text(self, start: dt.datetime) -> str:
        found = self.local.get(start)
        if found is not None:
            return found
        label = _zone_label(next(iter(self.local.values()), ""), self.zone)
        return f"{start.astimezone(tzinfo_for(self.zone) or dt.UTC):%a %Y-%m-%d %H:%M} ({label})"


def _meetings(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per meeting of a series (rows in time order): a relationship of three has a row per
    mentee for each meeting; a pair's rows are its meetings."""
    return [rows[i] for i in _meeting_indexes(rows, [_as_utc(row["start_utc"]) for row in rows])]


def _meeting_indexes(rows: Sequence[dict[str, Any]], starts: Sequence[dt.datetime]) -> list[int]:
    """Where ``_meetings`` finds each meeting in ``rows``, whose starts (UTC) are ``starts``."""
    first_people: dict[dt.datetime, tuple[str, str]] = {}
    out = []
    for index, (row, start) in enumerate(zip(rows, starts)):
        people = (_text(row.get("mentee_email")), _text(row.get("mentor_email")))
        if first_people.setdefault(start, people) == people:
            out.append(index)
    return out


def _attendees(rows: Sequence[dict[str, Any]], starts: Sequence[dt.datetime] | None = None) -> list[_Attendee]:
    """Everyone a series' rows name, mentees first then mentors, each once, in row order.

    ``starts``: the rows' starts in UTC when the caller has them already (each row is read once)."""
    found: dict[str, _Attendee] = {}
    if starts is None:
        starts = [_as_utc(row["start_utc"]) for row in rows]
    for role in ("mentee", "mentor"):
        email_key, local_key = f"{role}_email", f"{role}_local"
        for row, start in zip(rows, starts):
            email = _text(row.get(email_key))
            person = found.get(email)
            if person is None:
                person = found[email] = _Attendee(role, _text(row.get(role)), email,
                                                  _text(row.get(f"{role}_tz")) or "UTC", {}, _text(row.get(f"{role}_role")))
            if person.role == role and start not in person.local:
                person.local[start] = _text(row.get(local_key))
    return list(found.values())


def _series_people(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(name, email) of ``_attendees(rows)``, in its order (mentees first, each once), without the
    local times it gathers: who is in each series is asked of every series in the main process
    (who gets a copy, what the state records)."""
    return _people_in([(row.get(f"{role}_email"), row.get(role)) for role in ("mentee", "mentor") for row in rows])


def _people_in(cells: Sequence[tuple[Any, Any]]) -> list[tuple[str, str]]:
    """(name, email) as text of each (email, name) of a series' cells, mentees' first, each email
    once with the first name given for it. Each distinct cell pair is read as text once: a pair's
    twelve rows name the same two people."""
    found: dict[str, str] = {}
    for email, name in dict.fromkeys(cells):
        found.setdefault(_text(email), _text(name))
    return [(name, email) for email, name in found.items()]


def _checkin_description(row: dict[str, Any], people: Sequence[_Attendee], count: int, config: Config,
                         start: dt.datetime) -> str:
    """One check-in's own text: its number, everyone's local time, and any note (moved, flagged).
    ``start``: the row's start in UTC (``_as_utc``), which the caller has already."""
    lines = [
        f"{_cadence(config).adjective} mentoring check-in {row['occurrence']} of {count} ({_display(config.cohort.name)}).",
        f"Usual time: {row['pattern']}.",
        *(f"{p.title}: {p.name} <{p.email}>, {p.local_text(start)}" for p in people),
        f"Reach each other by email: {_and_list([p.email for p in people])}.",
    ]
    if row.get("flag"):
        lines.append(f"Note: {row['flag']}")
    return "\n".join(lines)


def _series_description(row: dict[str, Any], people: Sequence[_Attendee], count: int, config: Config,
                        start: dt.datetime) -> str:
    """The series' text: what holds for every check-in (each person's zone, not one date's time).
    ``start``: the row's start in UTC (``_as_utc``), which the caller has already."""
    return "\n".join([
        f"{_cadence(config).adjective} mentoring check-ins, {count} in all ({_display(config.cohort.name)}).",
        f"Usual time: {row['pattern']}.",
        *(f"{p.title}: {p.name} <{p.email}> ({_zone_label(p.local_text(start), p.zone)})" for p in people),
        f"Reach each other by email: {_and_list([p.email for p in people])}.",
    ])


def _series_note(flags: Sequence[str]) -> tuple[str, list[bool]]:
    """(the note the series itself carries, which check-ins carry another note of their own).

    When every check-in has a note, the most common one (the earliest's on a tie) goes on the
    series, and only the check-ins with another note become overrides: a pair whose common time
    shifts with daylight saving has two or three notes over a year, and an override for every
    check-in made most of a cohort's calendar text. A check-in without a note never shows one.
    """
    counts = collections.Counter(flags)
    top = max(counts.values(), default=0)
    shared = next((flag for flag in flags if counts[flag] == top), "") if flags and all(flags) else ""
    return shared, [bool(flag) and flag != shared for flag in flags]


def _series_summary(names: Sequence[str]) -> str:
    """The one title of a series, naming everyone in it: every copy (each person's calendar, an
    invitation, an update) carries it, as an invitation shows every attendee the organizer's one
    title, so each series is serialised once and its bytes go into every file that holds it."""
    return f"Mentoring check-in: {_and_list(list(names))}"


def _as_utc(value: Any) -> dt.datetime:
    if isinstance(value, pd.Timestamp) and value.tzinfo is dt.UTC:   # the sheet's own rows: half the cost
        return value.to_pydatetime()
    return pd.Timestamp(value).tz_convert("UTC").to_pydatetime()


def series_components(builder: _CalendarBuilder, rows: Sequence[dict[str, Any]], config: Config,
                      version: Version, attendees: Sequence[tuple[str, str]] = ()) -> list[Any]:
    """A relationship's check-ins as one recurring event: the master, then its overrides (same UID).

    ``rows`` are the relationship's check-in rows in time order (one per meeting and mentee);
    ``attendees`` (name, email) are listed in an invitation, never in a published calendar.
    See ``mentorcli.ics`` for why this form.
    """
    return _series_events(builder, rows, config, version, attendees)[0]


def _series_events(builder: _CalendarBuilder, rows: Sequence[dict[str, Any]], config: Config, version: Version,
                   attendees: Sequence[tuple[str, str]] = (), *, reminders: bool = True) -> tuple[list[Any], list[Any]]:
    """``series_components``, and the reminder (VALARM) each event holds; without ``reminders``
    the events are left without it, for ``serialise`` to splice in once."""
    every_start = [_as_utc(r["start_utc"]) for r in rows]
    people = _attendees(rows, every_start)
    kept = _meeting_indexes(rows, every_start)
    rows, starts = [rows[i] for i in kept], [every_start[i] for i in kept]
    first = rows[0]
    zone = _text(first.get("anchor_tz")) or "UTC"
    shared, special = _series_note([_text(r.get("flag")) for r in rows])
    shape = series_shape(starts, _ics_zone(zone), _cadence(config), special)
    summary = _series_summary([p.name for p in people])
    length = _as_utc(first["end_utc"]) - starts[0]
    alike = builder.shared(uid=first["uid"], summary=summary, version=version, attendees=attendees)
    description = _series_description(first, people, len(rows), config, starts[0]) + (f"\nNote: {shared}" if shared else "")
    master = builder.timed(alike, start=shape.dtstart, end=shape.dtstart + length, zone=zone, rule=shape.rule,
                           exdates=shape.exdates, rdates=[starts[i] for i in shape.rdates], description=description,
                           reminder=reminders)
    overrides = list(shape.overrides) + [(starts[i], i) for i in shape.rdates if special[i]]
    return [master] + [
        builder.timed(alike, start=starts[i], end=_as_utc(rows[i]["end_utc"]), zone=zone, recurrence_id=instance,
                      description=_checkin_description(rows[i], people, len(rows), config, starts[i]), reminder=reminders)
        for instance, i in sorted(overrides, key=lambda item: starts[item[1]])
    ], list(alike.subcomponents)


def serialise_series(builder: _CalendarBuilder, rows: Sequence[dict[str, Any]], config: Config,
                     version: Version) -> Serialised:
    """The series as it goes into each of its people's calendars, built and serialised by icalendar
    once: every copy carries the same text (``_series_summary``), so these bytes are spliced into
    every file that holds the series. The reminder, the same in each of its events, is serialised
    once and spliced into each (``serialise``)."""
    events, reminder = _series_events(builder, rows, config, version, reminders=False)
    return serialise(events, reminder)


def _cohort_event_component(builder: _CalendarBuilder, event: CohortEventSlot, config: Config, version: Version) -> Any:
    description = event.description or f"{_display(config.cohort.name)}: {event.name}"
    return builder.event(uid=event.uid, start=event.start_utc, end=event.end_utc, zone=event.timezone,
                         summary=event.name, description=description, version=version)


def _builder_for(schedule: Schedule, config: Config) -> _CalendarBuilder:
    moments = [e.start_utc for e in schedule.events]
    if len(schedule.checkins):
        moments += [schedule.checkins["start_utc"].min().to_pydatetime(), schedule.checkins["end_utc"].max().to_pydatetime()]
    first = min([schedule.start] + [m.date() for m in moments])
    last = max([schedule.start] + [m.date() for m in moments])
    return _CalendarBuilder(config, first, last)


SeriesRows = dict[str, list[dict[str, Any]]]
"""Each relationship's check-in rows (by series UID) in time order, as ``_series_rows`` gives them."""


def _series_rows(schedule: Schedule) -> SeriesRows:
    """Each relationship's rows (by series UID) in time order."""
    table = _SeriesTable.of(schedule)
    return dict(zip(table.uids, table.rows(table.uids)))


@dataclass(frozen=True)
class _SeriesTable:
    """Every series of a schedule as row positions in its check-ins (``_series_places``), series
    in the order of their first check-in. What the main process asks of each series (who is in
    it, its first row, its fingerprint) is read from columns; its rows are made as dicts only
    where it is built, in the calendar workers (making them here was a second of this process,
    before any worker could start, at 10,000 pairs)."""

    frame: pd.DataFrame
    places: dict[str, list[int]]

    @classmethod
    def of(cls, schedule: Schedule) -> _SeriesTable:
        return cls(schedule.checkins, _series_places(schedule.checkins))

    @functools.cached_property
    def uids(self) -> list[str]:
        return list(self.places)

    def rows(self, uids: Sequence[str]) -> list[list[dict[str, Any]]]:
        """The rows of each of ``uids`` in time order, as ``_records`` gives them."""
        records = _records(self.frame.iloc[[i for uid in uids for i in self.places[uid]]])
        ends = itertools.accumulate(len(self.places[uid]) for uid in uids)
        return [records[end - len(self.places[uid]):end] for uid, end in zip(uids, ends)]

    def first(self, column: str) -> dict[str, Any]:
        """Each series' value of ``column`` in its first row."""
        values = self.frame[column].tolist()
        return {uid: values[places[0]] for uid, places in self.places.items()}

    @functools.cached_property
    def people(self) -> dict[str, list[tuple[str, str]]]:
        """``_series_people`` of each series, read from the name and email columns (once: the
        calendar stream and ``_versions`` both ask)."""
        cells = {role: list(zip(self.frame[f"{role}_email"].tolist(), self.frame[role].tolist())) for role in ("mentee", "mentor")}
        return {uid: _people_in([cells[role][i] for role in ("mentee", "mentor") for i in places])
                for uid, places in self.places.items()}


def _series_places(frame: pd.DataFrame) -> dict[str, list[int]]:
    """Each relationship's row positions in ``frame`` (by series UID) in time order (start, then
    pair id), the series in the order of their first check-in: what ``_series_rows`` gives, as
    positions, so a column can be read series by series without a dict per row."""
    order = frame[["start_utc", "pair_id"]].reset_index(drop=True).sort_values(
        ["start_utc", "pair_id"], kind="stable").index.to_numpy()
    codes, uids = pd.factorize(frame["uid"].to_numpy()[order], use_na_sentinel=False)
    grouped = order[np.argsort(codes, kind="stable")].tolist()
    counts = np.bincount(codes, minlength=len(uids))
    return {uid: grouped[end - count:end] for uid, end, count in zip(uids, np.cumsum(counts).tolist(), counts.tolist())}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict("records")``, a column at a time: ``Series.tolist`` boxes each value as
    ``to_dict`` does (Timestamps, Python ints and floats) at a fraction of the cost per row.
    A missing cell comes as its column holds it (None, nan or pd.NA, where to_dict may say
    None): read cells through ``_text``."""
    names = list(frame.columns)
    return [dict(zip(names, values)) for values in zip(*(frame[name].tolist() for name in names))]


FINGERPRINT_KEYS = ("start_utc", "end_utc", "anchor_tz", "mentee_tz", "mentor_tz", "pattern", "flag", "mentee",
                    "mentee_email", "mentor", "mentor_email", "mentee_local", "mentor_local", "occurrence")
"""The fields of a series' rows its text and times depend on (``_series_fingerprint``)."""


def _series_fingerprint(rows: Sequence[dict[str, Any]], config: Config) -> str:
    """What a series' text and times depend on: a change here is a new version of it. The hash of
    ``str`` of each ``FINGERPRINT_KEYS`` field of each row, and the settings the text shows."""
    return _cells_fingerprint([[str(r.get(k)) for k in FINGERPRINT_KEYS] for r in rows], _config_key(config))


def _cells_fingerprint(cells: Sequence[Sequence[str]], settings: list[Any]) -> str:
    """The hash of a series' cells (``str`` of each ``FINGERPRINT_KEYS`` field, row by row) and
    its settings (``_config_key``): the one payload both fingerprint functions hash."""
    return fingerprint({"rows": cells, "config": settings})


def _series_fingerprints(table: _SeriesTable, config: Config) -> dict[str, str]:
    """``_series_fingerprint`` of every series of ``table`` (by UID), read a column at a time: the
    same text is hashed, but each cell's ``str`` comes from its column (each distinct time
    formatted once) instead of a dict per row, 1.7 million lookups and ``str`` calls at 10,000
    pairs."""
    frame, columns = table.frame, []
    for key in FINGERPRINT_KEYS:
        if key not in frame:
            columns.append(["None"] * len(frame))
        elif isinstance(frame[key].dtype, pd.DatetimeTZDtype):
            codes, moments = pd.factorize(frame[key])
            columns.append(np.array([str(moment) for moment in moments] + [str(pd.NaT)], dtype=object)[codes].tolist())
        else:
            columns.append(list(map(str, frame[key].tolist())))
    cells = list(zip(*columns))
    settings = _config_key(config)
    return {uid: _cells_fingerprint([cells[i] for i in places], settings) for uid, places in table.places.items()}


def _config_key(config: Config) -> list[Any]:
    return [config.cohort.name, config.cohort.coordinator_name, config.cohort.coordinator_email,
            config.schedule.reminder_minutes, config.schedule.rsvp, _cadence(config).name, __version__]


def _event_fingerprint(event: CohortEventSlot, config: Config) -> str:
    return fingerprint({"event": [event.name, event.start_utc, event.end_utc, event.timezone, event.description],
                        "config": _config_key(config)})


@dataclass
class Changes:
    """What a rerun changed against the calendars published before in the same folder."""

    new: list[str] = field(default_factory=list)          # pair ids published for the first time
    updated: list[str] = field(default_factory=list)      # pair ids with a higher SEQUENCE
    unchanged: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)    # pair ids (or event names) dropped
    removed_files: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)        # pair ids ended (mentor end): later check-ins cancelled


def _settled(before: Published | None, print_: str, now: dt.datetime) -> Version:
    """The version ``_versions`` gives a UID: the one published before while its content
    (``print_``) is the same, else the next SEQUENCE stamped ``now``. The calendar workers settle
    each series with it while ``_versions`` works out the state and the changes."""
    if before is not None and not before.cancelled and before.fingerprint == print_:
        return Version(before.sequence, parse_stamp(before.dtstamp))
    return Version(before.sequence + 1 if before is not None else 0, _stamped(now))


@functools.lru_cache(maxsize=4)
def _stamped(now: dt.datetime) -> dt.datetime:
    """``now`` as DTSTAMP writes it (UTC, to the second), worked out once per run, not per series."""
    return parse_stamp(format_stamp(now))


def _versions(schedule: Schedule, config: Config, previous: dict[str, Published],
              ended: Mapping[str, Ending] | None = None, table: _SeriesTable | None = None,
              ) -> tuple[dict[str, Version], dict[str, Published], Changes]:
    """SEQUENCE and DTSTAMP per UID, the state to record, and what changed.

    Unchanged content keeps its earlier SEQUENCE and DTSTAMP (byte-identical files); changed
    content gets the next SEQUENCE and this run's stamp; a UID published before and gone now is
    cancelled with the next SEQUENCE.
    """
    now = schedule.generated
    stamp = format_stamp(now)
    versions: dict[str, Version] = {}
    state: dict[str, Published] = {}
    changes = Changes()

    def settle(uid: str, print_: str, entry: Published, label: str, is_pair: bool) -> None:
        before = previous.get(uid)
        version = _settled(before, print_, now)
        kept = before is not None and version.sequence == before.sequence
        entry.sequence = version.sequence
        entry.dtstamp = before.dtstamp if before is not None and kept else stamp
        if is_pair:
            (changes.unchanged if kept else changes.updated if before is not None else changes.new).append(label)
        versions[uid] = version
        state[uid] = entry

    table = table or _SeriesTable.of(schedule)
    prints, people_of = _series_fingerprints(table, config), table.people
    starts, pair_ids = table.first("start_utc"), table.first("pair_id")
    for uid, people in people_of.items():
        entry = Published(sequence=0, dtstamp="", fingerprint=prints[uid],
                          summary=ics_text(_series_summary([name for name, _ in people])),
                          start=_as_utc(starts[uid]).isoformat(),
                          people=[[ics_text(name), email] for name, email in people],
                          pair_id=str(pair_ids[uid]))
        settle(uid, entry.fingerprint, entry, str(pair_ids[uid]), True)
    for event in schedule.events:
        entry = Published(sequence=0, dtstamp="", fingerprint=_event_fingerprint(event, config), summary=event.name,
                          start=event.start_utc.isoformat())
        settle(event.uid, entry.fingerprint, entry, event.name, False)
    for uid, before in previous.items():
        if uid in state:
            continue
        if before.cancelled:
            state[uid] = before
            continue
        gone = Published(**{**vars(before), "sequence": before.sequence + 1, "dtstamp": stamp, "cancelled": True})
        state[uid] = gone
        versions[uid] = Version(gone.sequence, now)
        if _ending_of(before, ended or {}) is not None:
            changes.ended.append(before.pair_id)
        else:
            changes.cancelled.append(before.pair_id or before.summary)
    return versions, state, changes


PARALLEL_FROM = 1000  # pairs: below this, starting worker processes costs more than it saves
MAX_WORKERS = 4
CALENDAR_CHUNK = 200   # series per piece of work handed to a worker
_SeriesJob = tuple[int, Version | None, Published | None]
"""One series: its place in the stream's list of series, its version (None: settled from what
was published before, at the stream's time)."""


def participant_calendars(schedule: Schedule, config: Config,
                          versions: dict[str, Version] | None = None, *,
                          workers: int | None = None) -> Iterator[tuple[str, bytes]]:
    """(email, METHOD:PUBLISH calendar) per participant, by email: their own series + cohort events.

    PUBLISH files carry no ATTENDEE (RFC 5546): they are read-only copies, not invitations.
    A generator, so that a large cohort's calendars need not all sit in memory at once.
    ``versions`` (from the folder's previous state) default to SEQUENCE 0 stamped now.
    Past ``PARALLEL_FROM`` pairs the series are split over worker processes (building and
    serialising is pure-Python CPU work); the files and their order are the same as from one
    process. ``workers=1`` keeps everything in this process.
    """
    with _calendar_stream(schedule, config, versions, workers=workers) as calendars:
        yield from calendars


@contextmanager
def _calendar_stream(schedule: Schedule, config: Config, versions: dict[str, Version] | None = None, *,
                     workers: int | None = None, table: _SeriesTable | None = None,
                     previous: Mapping[str, Published] | None = None) -> Iterator[Iterator[tuple[str, bytes]]]:
    """``participant_calendars`` with the workers started on entry, so the caller can do other
    work (work out the changes, write the sheet) while they build; leaving early cancels what
    has not started. With ``previous`` (and no ``versions``) each version is settled as
    ``_versions`` settles it (``_settled``), in the workers.

    Each series is built and serialised once (``serialise_series``) and its bytes spliced into
    the file of every person in it; the series go to the workers in the order their first
    person's file needs them, and each file is spliced here as soon as the last of its series
    is back (a series' bytes are let go once the last file holding them is out).
    """
    builder = _builder_for(schedule, config)
    now = schedule.generated
    fresh = Version(0, now)
    if versions is None and previous is not None:
        versions = {e.uid: _settled(previous.get(e.uid), _event_fingerprint(e, config), now) for e in schedule.events}
    else:
        versions, previous = versions or {}, None
    cohort = [serialise([_cohort_event_component(builder, e, config, versions.get(e.uid, fresh))]) for e in schedule.events]
    table = table or _SeriesTable.of(schedule)
    uids = table.uids
    viewers = [[email for _, email in people] for people in table.people.values()]
    mine: dict[str, list[int]] = {}
    for index, emails in enumerate(viewers):
        for email in emails:
            mine.setdefault(email, []).append(index)
    people = sorted(mine)
    position = {email: i for i, email in enumerate(people)}
    queue = sorted(range(len(uids)), key=lambda i: min(position[email] for email in viewers[i]))
    jobs: list[_SeriesJob] = [(i, None, previous.get(uids[i])) if previous is not None
                              else (i, versions.get(uids[i], fresh), None) for i in queue]
    chunks = [jobs[i:i + CALENDAR_CHUNK] for i in range(0, len(jobs), CALENDAR_CHUNK)]
    title = f"{config.cohort.name}: mentoring check-ins"

    def files(results: Iterator[list[Serialised]]) -> Iterator[tuple[str, bytes]]:
        parts: dict[int, Serialised] = {}
        waiting = [len(emails) for emails in viewers]
        queued, ready = iter(queue), 0
        for result in results:
            for part in result:
                parts[next(queued)] = part
            while ready < len(people) and all(i in parts for i in mine[people[ready]]):
                email = people[ready]
                yield email, builder.assemble("PUBLISH", title, [parts[i] for i in mine[email]], shared=cohort)
                for i in mine[email]:
                    waiting[i] -= 1
                    if not waiting[i]:
                        del parts[i]
                ready += 1

    count = worker_count(workers, len(uids), parallel_from=PARALLEL_FROM, most=MAX_WORKERS)
    context = fork_context()
    if count == 1 or context is None:
        yield files(_series_chunk(builder, table, now, chunk) for chunk in chunks)
        return
    with ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_adopt_series,
                             initargs=(builder, table, now)) as pool:
        pending = [pool.submit(_adopted_series_chunk, chunk) for chunk in chunks]
        try:
            yield files(future.result() for future in pending)
        finally:
            for future in pending:
                future.cancel()


def _series_chunk(builder: _CalendarBuilder, table: _SeriesTable, now: dt.datetime,
                  jobs: Sequence[_SeriesJob]) -> list[Serialised]:
    """A run of the series of ``table`` (``jobs`` name which, by place), each built and
    serialised by icalendar once."""
    config, uids = builder.config, table.uids
    rows_of = table.rows([uids[i] for i, _, _ in jobs])
    return [serialise_series(builder, rows, config, version or _settled(
                before, _series_fingerprint(rows, config) if before is not None else "", now))
            for rows, (_, version, before) in zip(rows_of, jobs)]


_WORKER_SERIES: list[tuple[_CalendarBuilder, _SeriesTable, dt.datetime]] = []
"""What a calendar worker builds from (set once, by ``_adopt_series``)."""


def _adopt_series(builder: _CalendarBuilder, table: _SeriesTable, now: dt.datetime) -> None:
    """Worker start-up: keep the series the parent forked with. Never pickled: sending every
    series' rows (dicts of Timestamps) cost this process half a second and the workers one and
    a half unpickling them at 10,000 pairs; each piece of work names its series by place, and
    the worker makes their rows."""
    _WORKER_SERIES[:] = [(builder, table, now)]


def _adopted_series_chunk(jobs: Sequence[_SeriesJob]) -> list[Serialised]:
    """``_series_chunk`` of the adopted series (runs in a worker)."""
    return _series_chunk(*_WORKER_SERIES[0], jobs)


def cohort_calendar(schedule: Schedule, config: Config, versions: dict[str, Version] | None = None) -> bytes:
    """``cohort.ics``: the cohort-wide events only (no one's check-ins), for everyone to import."""
    builder = _builder_for(schedule, config)
    fresh = Version(0, schedule.generated)
    events = [_cohort_event_component(builder, e, config, (versions or {}).get(e.uid, fresh)) for e in schedule.events]
    return builder.calendar("PUBLISH", f"{config.cohort.name}: cohort events", events)


def _change_name(kind: str, pair_id: str, uid: str) -> str:
    return f"{kind}-{safe_slug(pair_id, fallback='pair', max_length=40)}-{hashlib.sha256(uid.encode()).hexdigest()[:8]}.ics"


def _change_files(schedule: Schedule, config: Config, versions: dict[str, Version], state: dict[str, Published],
                  changes: Changes, previous: dict[str, Published], ended: Mapping[str, Ending] | None = None,
                  earlier: pd.DataFrame | None = None, table: _SeriesTable | None = None) -> list[tuple[str, bytes]]:
    """iTIP messages for only the people affected: a REQUEST per updated series, a CANCEL per dropped one."""
    builder = _builder_for(schedule, config)
    out = []
    updated = set(changes.updated)
    table = table or _SeriesTable.of(schedule)
    pair_ids = table.first("pair_id") if updated else {}
    changed = [uid for uid, pair_id in pair_ids.items() if str(pair_id) in updated]
    for uid, rows in zip(changed, table.rows(changed)):
        people = [(person.name, person.email) for person in _attendees(rows)]
        components = series_components(builder, rows, config, versions[uid], attendees=people)
        out.append((_change_name("update", str(rows[0]["pair_id"]), uid),
                    builder.calendar("REQUEST", f"{config.cohort.name}: mentoring check-ins", components)))
    for uid, entry in state.items():
        before = previous.get(uid)
        if entry.cancelled and before is not None and not before.cancelled and entry.people:
            ending = _ending_of(before, ended or {})
            instances = None if ending is None else _later_instances(earlier, entry.pair_id, ending, config)
            if instances is not None:  # an ended relationship: only its check-ins after the end
                if instances:
                    components = [builder.cancellation(uid, entry, versions[uid], instance=(moment, zone))
                                  for moment, zone in instances]
                    out.append((_change_name("cancel", entry.pair_id, uid),
                                builder.calendar("CANCEL", f"{config.cohort.name}: mentoring check-ins", components)))
                continue
            component = builder.cancellation(uid, entry, versions[uid])
            out.append((_change_name("cancel", entry.pair_id, uid),
                        builder.calendar("CANCEL", f"{config.cohort.name}: mentoring check-ins", [component])))
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Ended relationships (mentor end): their check-ins after the end date cancelled, earlier ones kept


ENDED_MARK = "relationship ended on"
"""Flag text (after ``KEPT_MARK``) of a check-in row of an ended relationship, kept in the sheet."""


def _ending_of(entry: Published, ended: Mapping[str, Ending]) -> Ending | None:
    """The ending of the series ``entry`` published: same relationship id and every person in it."""
    ending = ended.get(entry.pair_id)
    if ending is None:
        return None
    people = {_text(email).lower() for _, email in entry.people}
    return ending if people and people <= {email.lower() for email in ending.relationship.emails} else None


def _local_day(start: dt.datetime, zone: str) -> dt.date:
    return start.astimezone(tzinfo_for(zone) or dt.UTC).date()


def _row_zone(text: Any) -> tuple[str, bool]:
    """The zone a local-time cell of the sheet names, and whether it was known (not "assumed")."""
    label = _zone_label(text, "")
    known = not label.endswith(", assumed")
    return label.removesuffix(", assumed").strip(), known


def _series_zone(rows: Sequence[dict[str, Any]]) -> str:
    """The zone the series was anchored in (``_anchor``): the first mentor's known zone, else the
    first mentee's, else the mentor's assumed one; read from the sheet's local-time cells."""
    for role in ("mentor", "mentee"):
        for row in rows:
            zone, known = _row_zone(row.get(f"{role}_local_time"))
            if zone and known and tzinfo_for(zone) is not None:
                return zone
    zone, _ = _row_zone(rows[0].get("mentor_local_time")) if rows else ("", False)
    return zone if tzinfo_for(zone) is not None else "UTC"


def _later_instances(earlier: pd.DataFrame | None, pair_id: str, ending: Ending,
                     config: Config) -> list[tuple[dt.datetime, str]] | None:
    """(RECURRENCE-ID, zone) of each check-in of the ended series after its end date, from the
    sheet the series was published with (None when that sheet is gone: then the whole series is
    cancelled, as for a dropped relationship).

    The instance id is the one the series gave each check-in (``series_shape``: a moved check-in
    is an override of its rule instance), so every client removes exactly that occurrence. "After"
    is by the date in the series' own zone: a check-in on the end date itself is kept.
    """
    if earlier is None or earlier.empty:
        return None
    emails = {email.lower() for email in ending.relationship.emails}
    mine = earlier[(earlier["pair_id"].map(_text) == pair_id) & ~earlier["flag"].map(_text).str.startswith(KEPT_MARK)
                   & earlier["mentee_email"].map(lambda e: _text(e).lower() in emails)
                   & earlier["start_utc"].notna()]
    if mine.empty:
        return None
    rows = _meetings(mine.sort_values("start_utc", kind="stable").to_dict("records"))
    zone = _series_zone(rows)
    starts = [_as_utc(row["start_utc"]) for row in rows]
    shape = series_shape(starts, _ics_zone(zone), _cadence(config), _series_note([_text(row.get("flag")) for row in rows])[1])
    instance_of = {i: instance for instance, i in shape.overrides}
    return [(instance_of.get(i, start), zone) for i, start in enumerate(starts)
            if _local_day(start, zone) > ending.ended_on]


# --------------------------------------------------------------------------------------------
# Carrying the log over to a new schedule


LOG_TITLES = {"held": "Held", "date_held": "Date Held", "rating": "Rating", "goal_progress": "Goal Progress", "notes": "Notes"}
KEPT_MARK = "kept from the earlier schedule"


@dataclass
class Carried:
    """What a reschedule took over from the ``checkins.xlsx`` it replaces (counts, no cell values)."""

    columns: list[str] = field(default_factory=list)   # log and coordinator columns that held something
    extra_headers: list[str] = field(default_factory=list)
    carried: int = 0     # check-ins that stay, their log carried into the new row
    moved: int = 0       # logged check-ins that moved: kept as they were, marked
    dropped: int = 0     # logged check-ins no longer scheduled: kept as they were, marked
    ended: int = 0       # check-ins of ended relationships up to the end date: kept, marked ended
    unreadable: str = ""  # why the earlier sheet could not be read (then nothing is carried)
    values: dict[int, dict[str, Any]] = field(default_factory=dict)    # new row index -> title -> value
    kept: list[dict[str, Any]] = field(default_factory=list)           # title -> value, flag marked

    @property
    def anything(self) -> bool:
        return bool(self.carried or self.moved or self.dropped)


def _title_of(header: Any) -> str | None:
    """The standard column a (possibly renamed) header stands for, or None for the coordinator's own."""
    snake = _snake(header)
    for title in CHECKIN_HEADERS:
        if _snake(title) == snake:
            return title
    return None


def _blank(value: Any) -> bool:
    return value is None or _text(value) == ""


def carry_over(path: Path, schedule: Schedule, *, ended: Mapping[str, Ending] | None = None) -> Carried:
    """Match the rows of the existing sheet at ``path`` to the new schedule and keep every log.

    A row is the same check-in when pair, occurrence and both people match (or, when a hand
    edit removed those columns, pair and start) and its start is unchanged: its log columns
    (Held, Date Held, Rating, Goal Progress, Notes) and every column the coordinator added are
    carried into the new row. A logged row whose check-in moved or went away is kept as it was,
    at the end of the sheet, marked in the Flag column, so ``mentor report`` still counts it.
    """
    carried = Carried()
    try:
        table, _ = _read_table(path)
    except MentorError as exc:
        carried.unreadable = exc.message
        return carried
    while table and all(_blank(v) for v in table[0]):
        table = table[1:]
    if not table:
        return carried
    headers = [_text(h) for h in table[0]]
    titles = [_title_of(h) if h else None for h in headers]
    extras = [h for h, t in zip(headers, titles) if h and t is None]
    carried.extra_headers = list(dict.fromkeys(extras))
    by_key, by_start = {}, {}
    for index, row in enumerate(schedule.checkins.to_dict("records")):
        new_start = _as_utc(row["start_utc"]).replace(second=0, microsecond=0)
        by_key[(str(row["pair_id"]), int(row["occurrence"]), row["mentee_email"], row["mentor_email"])] = (index, new_start)
        by_start[(str(row["pair_id"]), new_start)] = index
    used: set[int] = set()
    filled: set[str] = set()
    for values in table[1:]:
        cells: dict[str, Any] = {}
        for header, title, value in zip(headers, titles, values):
            name = title or header
            if name and name not in cells:
                cells[name] = value
        logged = {name: v for name, v in cells.items()
                  if (name in LOG_TITLES.values() or name in carried.extra_headers) and not _blank(v)}
        start = _minute_utc(_as_datetime(cells.get("Start (UTC)")))
        pair_id = _text(cells.get("Pair ID"))
        occurrence = _text(cells.get("Occurrence"))
        match: int | None = None
        moved_to: dt.datetime | None = None
        key = (pair_id, int(float(occurrence)) if re.fullmatch(r"\d+(\.0)?", occurrence) else -1,
               _text(cells.get("Mentee Email")).lower(), _text(cells.get("Mentor Email")).lower())
        if key in by_key:
            index, new_start = by_key[key]
            if new_start == start and index not in used:
                match = index
            elif new_start != start:
                moved_to = new_start
        elif start is not None and (pair_id, start) in by_start and by_start[(pair_id, start)] not in used:
            match = by_start[(pair_id, start)]
        if match is not None:
            used.add(match)
            if logged:
                carried.values[match] = logged
                carried.carried += 1
                filled.update(logged)
            continue
        ending = (ended or {}).get(pair_id)
        if ending is not None and _ended_row_kept(cells, start, ending):
            carried.ended += 1
            carried.kept.append({**cells, "Flag": _ended_flag(cells, ending), "Start (UTC)": start})
            filled.update(logged)
            continue
        if not logged:
            continue
        flag = _text(cells.get("Flag"))
        if not flag.startswith(KEPT_MARK):
            flag = (f"{KEPT_MARK}: logged, then this check-in moved to {moved_to:%Y-%m-%d %H:%M} UTC" if moved_to
                    else f"{KEPT_MARK}: logged, no longer scheduled")
        if moved_to:
            carried.moved += 1
        else:
            carried.dropped += 1
        filled.update(logged)
        carried.kept.append({**cells, "Flag": flag, "Start (UTC)": start})
    order = list(LOG_TITLES.values()) + carried.extra_headers
    carried.columns = [name for name in order if name in filled]
    return carried


def _ended_row_kept(cells: dict[str, Any], start: dt.datetime | None, ending: Ending) -> bool:
    """A check-in row of an ended relationship that stays in the sheet: one of its people, held
    (or due) on or before the end date in the series' zone. Later ones are cancelled."""
    emails = {email.lower() for email in ending.relationship.emails}
    if _text(cells.get("Mentee Email")).lower() not in emails or start is None:
        return False
    zone = _series_zone([{"mentor_local_time": cells.get("Mentor Local Time"),
                          "mentee_local_time": cells.get("Mentee Local Time")}])
    return _local_day(start, zone) <= ending.ended_on


def _ended_flag(cells: dict[str, Any], ending: Ending) -> str:
    """The Flag of a kept check-in of an ended relationship (its earlier flag after it, once)."""
    mark = f"{KEPT_MARK}: {ENDED_MARK} {ending.ended_on.isoformat()}"
    flag = _text(cells.get("Flag"))
    if flag.startswith(mark):
        return flag
    earlier = flag.removeprefix(KEPT_MARK).lstrip(": ") if flag.startswith(KEPT_MARK) else flag
    return f"{mark}; {earlier}" if earlier else mark


def _minute_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A sheet's start (naive = UTC, as written) to the minute, for matching rows across runs."""
    if moment is None:
        return None
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment.replace(second=0, microsecond=0)


def _log_cell(value: Any) -> Any:
    """A carried cell as what it was: number, date, yes/no or text (text never becomes a formula);
    dates and times with their own format, None when blank."""
    if _blank(value):
        return None
    if isinstance(value, bool) or (isinstance(value, (int, float)) and not math.isnan(value)):
        return value
    if isinstance(value, dt.datetime):
        return Styled(value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value, DATE_FORMATS[dt.datetime])
    if isinstance(value, dt.date):
        return Styled(value, DATE_FORMATS[dt.date])
    if isinstance(value, (dt.time, dt.timedelta)):
        return Styled(value, DATE_FORMATS[dt.time])
    return str(value)


# --------------------------------------------------------------------------------------------
# Writing


CHECKIN_TEXT_COLUMNS = {"Pair ID": "pair_id", "Mentee": "mentee", "Mentee Email": "mentee_email", "Mentor": "mentor",
                        "Mentor Email": "mentor_email", "Mentee Local Time": "mentee_local",
                        "Mentor Local Time": "mentor_local", "Flag": "flag"}
CHECKIN_MIN_WIDTHS = {"Start (UTC)": 18, "Date Held": 12, "Notes": 40}
CHECKIN_VALIDATIONS: dict[str, dict[str, Any]] = {
    "Held": {"validate": "list", "source": ["Yes", "No"], "input_title": "Held?", "input_message": "Yes or No",
             "error_title": "Held", "error_message": "Choose Yes or No."},
    "Rating": {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 5,
               "input_title": "Rating", "input_message": "1 (poor) to 5 (great)",
               "error_title": "Rating", "error_message": "A whole number from 1 to 5."},
}
"""The two log columns with one right kind of answer: a drop-down and a range the cell enforces."""


def circle_titles(frame: pd.DataFrame) -> dict[str, str]:
    """A circles schedule's headers in the circle's words ("Member Email", "Facilitator"); none for
    pairs. Read back as the standard columns (``READ_ALIASES``), so every later step reads either."""
    words = [(m, lead) for m, lead in zip(_texts(frame["mentee_role"].tolist()), _texts(frame["mentor_role"].tolist())) if lead]
    if not words:
        return {}
    member, lead = (word.title() for word in words[0])
    return {t: t.replace("Mentee", member).replace("Mentor", lead) for t in CHECKIN_HEADERS if "Ment" in t}


def checkin_columns(schedule: Schedule, carried: Carried) -> list[Column]:
    """The Check-ins sheet as columns: the scheduled rows, then the logged rows kept from the
    sheet replaced. A scheduled row's text is always a cell (an empty one when blank)."""
    frame = schedule.checkins
    kept = [{title: _log_cell(value) for title, value in row.items()} for row in carried.kept]
    shown = circle_titles(frame)
    columns = []
    for title in list(CHECKIN_HEADERS) + carried.extra_headers:
        below = [row.get(title) for row in kept]
        if title in CHECKIN_TEXT_COLUMNS:
            scheduled: list[Any] = _texts(frame[CHECKIN_TEXT_COLUMNS[title]].tolist())
            kind = TEXT
        elif title == "Occurrence":
            scheduled, kind = [int(v) for v in frame["occurrence"].tolist()], NUMBER
        elif title == "Start (UTC)":
            scheduled = [Styled(moment, DATE_FORMATS[dt.datetime]) for moment in _naive_utc(frame["start_utc"])]
            kind = ANY
        else:
            logged = carried.values
            scheduled = [_log_cell(logged[r].get(title)) if r in logged else None for r in range(len(frame))]
            kind = ANY
        columns.append(Column(shown.get(title, title), scheduled + below, kind if not kept else ANY, write_empty=True,
                              width=_checkin_width(shown.get(title, title), scheduled if kind == TEXT else [], below),
                              number_format="yyyy-mm-dd" if title == "Date Held" else None,
                              whole_column=title == "Date Held"))
    return columns


def _texts(values: list[Any]) -> list[str]:
    """``_text`` of each of ``values``; a column of only strings (every column ``plan_checkins``
    makes) stripped in one pass: ``_text`` per cell was a third of writing the sheet."""
    if set(map(type, values)) <= {str}:
        return list(map(str.strip, values))
    return [_text(value) for value in values]


def _naive_utc(moments: pd.Series) -> list[dt.datetime]:
    """Times as the sheet writes them: naive datetimes in UTC (``_as_utc`` without its zone), all
    converted at once."""
    return pd.to_datetime(moments, utc=True).dt.tz_localize(None).to_numpy().astype("datetime64[us]").tolist()


def _checkin_width(title: str, scheduled: Sequence[str], kept: Sequence[Any]) -> float:
    """Header plus two, widened to the longest scheduled text (and a kept row's flag) up to 60."""
    texts = [*scheduled, *(_text(v) for v in kept)] if title == "Flag" else scheduled
    longest = max(map(len, texts), default=0)
    width = max(len(title) + 2, min(longest + 2, 60) if texts else 0)
    return max(width, CHECKIN_MIN_WIDTHS.get(title, 0))


def write_checkins_xlsx(path: Path, schedule: Schedule, *, force: bool, carried: Carried | None = None) -> Path:
    """``checkins.xlsx``: one row per check-in, the log columns ready to fill in.

    With ``carried`` (``carry_over`` of the sheet being replaced), the logs of check-ins that
    stay are in their rows, the coordinator's own columns come after the standard ones, and
    logged check-ins that moved or went away follow at the end, marked in the Flag column.
    Cells are written as text or numbers, never formulas, and the file's creation time comes
    from the schedule start, so a re-run gives identical bytes.
    """
    with atomic_path(path, force=force) as tmp:
        _write_checkins_file(tmp, schedule, carried)
    return path


def _write_checkins_file(tmp: Path, schedule: Schedule, carried: Carried | None) -> None:
    """The sheet's bytes into ``tmp`` (``atomic_path``'s temporary file, in this or a worker process)."""
    sheet = TableSheet(SHEET_NAME, checkin_columns(schedule, carried or Carried()), CHECKIN_HEADER_FORMAT,
                       filter_min_rows=1, by_rows=True, validations=CHECKIN_VALIDATIONS)
    write_table_workbook(tmp, [sheet], {"title": "Mentoring check-ins", "author": "mentorcli",
                                        "created": dt.datetime.combine(schedule.start, dt.time(0))})


_WORKER_SHEET: list[tuple[Path, Schedule, Carried | None]] = []
"""What a sheet worker writes (set once, by ``_adopt_sheet``)."""


def _adopt_sheet(tmp: Path, schedule: Schedule, carried: Carried | None) -> None:
    """Worker start-up: keep the schedule the parent forked with (never pickled: fork copies it)."""
    _WORKER_SHEET[:] = [(tmp, schedule, carried)]


def _write_adopted_sheet() -> None:
    _write_checkins_file(*_WORKER_SHEET[0])


@contextmanager
def _checkins_sheet_aside(path: Path, schedule: Schedule, *, series: int, force: bool, carried: Carried) -> Iterator[None]:
    """``write_checkins_xlsx`` while the block runs: in a worker process when the calendars have
    workers too, so this process, which hands the series out and writes every calendar, is not
    also the one writing the sheet (at 10,000 pairs it finished last, the calendar workers idle).
    The sheet is published with the rest (``all_or_nothing``); an error in the worker is raised
    here when the block ends, and the half-written sheet goes with the set. ``series``: how many
    the calendars hand out, which decides, as for them, whether there are workers."""
    context = fork_context()
    if context is None or worker_count(None, series, parallel_from=PARALLEL_FROM, most=MAX_WORKERS) == 1:
        write_checkins_xlsx(path, schedule, force=force, carried=carried)
        yield
        return
    with atomic_path(path, force=force) as tmp, ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_adopt_sheet, initargs=(tmp, schedule, carried)) as pool:
        written = pool.submit(_write_adopted_sheet)
        try:
            yield
        finally:
            error = written.exception()
        if error is not None:
            raise error


def schedule_targets(schedule: Schedule, out_dir: Path) -> dict[str, Path]:
    """Every file ``write_schedule`` will write, keyed by participant email / "cohort" / "checkins"."""
    out_dir = Path(out_dir)
    targets: dict[str, Path] = {"checkins": inside(out_dir, "checkins.xlsx"), "cohort": inside(out_dir, "cohort.ics")}
    names: dict[str, str] = {}
    frame = schedule.checkins   # by column (tolist), not to_dict or the Series itself: seconds at 10,000 pairs
    for mentee_email, mentee, mentor_email, mentor in zip(*(frame[name].tolist() for name in (
            "mentee_email", "mentee", "mentor_email", "mentor"))):
        names.setdefault(mentee_email, mentee)
        names.setdefault(mentor_email, mentor)
    files: dict[str, str] = {}
    for email in sorted(names):
        file_name = participant_file_name(names[email], email)
        while file_name in files:  # a 40-bit hash collision: lengthen until unique
            file_name = file_name.replace(".ics", "-x.ics")
        files[file_name] = email
    targets.update(zip(files.values(), inside_all(out_dir, list(files))))
    return targets


@dataclass
class ScheduleOutput:
    """What ``publish_schedule`` wrote, carried over and changed (for the screen: counts and ids)."""

    written: list[Path]
    carried: Carried
    changes: Changes

    def carried_summary(self) -> dict[str, Any]:
        c = self.carried
        return {"checkins_with_log": c.carried, "kept_moved": c.moved, "kept_dropped": c.dropped, "columns": c.columns}

    def changes_summary(self) -> dict[str, Any]:
        c = self.changes
        summary = {"new": len(c.new), "updated": len(c.updated), "unchanged": len(c.unchanged),
                   "cancelled": len(c.cancelled), "removed_files": len(c.removed_files)}
        return summary | ({"ended": len(c.ended)} if c.ended else {})

    def screen_lines(self) -> list[str]:
        """What a rerun carried over and changed, in plain words (pair ids and counts, no names)."""
        lines = []
        c = self.carried
        if c.unreadable:
            lines.append(f"The earlier checkins.xlsx could not be read ({c.unreadable}): no log was carried over; "
                         "it is kept as a .bak copy beside the new one.")
        if c.anything:
            lines.append(f"Carried over from the earlier checkins.xlsx: the log of {c.carried} check-in(s) "
                         f"({', '.join(c.columns)}); the earlier sheet is kept as a .bak copy beside it.")
        if c.moved or c.dropped:
            lines.append(f"Kept {c.moved} logged check-in(s) that moved and {c.dropped} no longer scheduled, "
                         f"at the end of the sheet, marked in the Flag column ({KEPT_MARK}).")
        ch = self.changes
        if ch.updated:
            lines.append(f"Updated {len(ch.updated)} pair(s) ({first_ids(ch.updated)}): higher SEQUENCE; "
                         f"invitation updates for only those pairs in {CHANGES_DIR}/update-*.ics.")
        if ch.cancelled:
            lines.append(f"Cancelled {len(ch.cancelled)} dropped series ({first_ids(ch.cancelled)}): "
                         f"METHOD:CANCEL for their people in {CHANGES_DIR}/cancel-*.ics.")
        if ch.ended:
            lines.append(f"Ended {len(ch.ended)} relationship(s) ({first_ids(ch.ended)}): their check-ins after the end "
                         f"date cancelled (METHOD:CANCEL in {CHANGES_DIR}/cancel-*.ics), {c.ended} earlier check-in(s) kept "
                         f"in checkins.xlsx, marked \"{ENDED_MARK}\".")
        if ch.removed_files:
            lines.append(f"Removed {len(ch.removed_files)} calendar file(s) of people no longer paired.")
        if ch.unchanged and (ch.updated or ch.cancelled or ch.new):
            lines.append(f"{len(ch.unchanged)} pair(s) unchanged: their calendar entries are byte for byte the same.")
        return lines



def _ours(path: Path) -> bool:
    """A calendar this tool wrote (so a stale copy may be removed): our PRODID near the top."""
    try:
        with open(path, "rb") as fh:
            return b"PRODID:-//mentorcli//" in fh.read(512)
    except OSError:
        return False


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _write_changed(items: list[tuple[Path, bytes]], *, force: bool) -> list[Path]:
    """Write the files whose bytes differ from what is on disk; a file already identical is left
    alone (no rewrite, no backup of itself), so a rerun touches only what changed."""
    listing = FolderListing()
    changed = [(path, data) for path, data in items if not (listing.may_exist(path) and _same_bytes(path, data))]
    atomic_write_many(changed, force=force)
    return [path for path, _ in items]


def publish_schedule(schedule: Schedule, book: PairingBook, config: Config, out_dir: Path, *, force: bool) -> ScheduleOutput:
    """Write the calendars, ``checkins.xlsx`` and the state of what was published, into ``out_dir``.

    On a rerun into the same folder: the existing sheet's logs are carried over
    (``carry_over``); series whose content changed get the next SEQUENCE and an update in
    ``changes/`` (METHOD:REQUEST to the pair), dropped ones a METHOD:CANCEL there; per-person
    calendars of people no longer paired are removed. Every target is checked before the first
    is written, so a refusal leaves nothing half done; with ``force`` each replaced file is kept
    as a backup.
    """
    out_dir = Path(out_dir)
    previous = read_state(out_dir)
    ended = {e.relationship.id: e for e in book.ended}
    table = _SeriesTable.of(schedule)   # once: sorting every row costs time at 10,000 pairs
    # the workers build the calendars while the targets and changes are worked out and checked;
    # they have started (collector on) when gc_paused begins: each collection of this process's
    # loops walked every series for nothing (0.8 s of collections at 10,000 pairs, no cycles found)
    with worker_stops("writing the calendars", out_dir), \
            _calendar_stream(schedule, config, previous=previous, table=table) as participants, gc_paused():
        targets = schedule_targets(schedule, out_dir)
        versions, state, changes = _versions(schedule, config, previous, ended, table)
        earlier = previous_checkins(out_dir) if changes.ended else None
        change_files = [(inside(out_dir / CHANGES_DIR, name), data)
                        for name, data in _change_files(schedule, config, versions, state, changes, previous, ended, earlier, table)]
        state_path = inside(out_dir, STATE_FILE)
        check_targets([*targets.values(), *(p for p, _ in change_files), state_path], force=force)
        sheet = targets["checkins"]
        carried = carry_over(sheet, schedule, ended=ended) if sheet.is_file() else Carried()
        with all_or_nothing(), _checkins_sheet_aside(sheet, schedule, series=len(table.places), force=force, carried=carried):
            # a failure halfway leaves none of the set (files.py)
            written = [sheet]
            calendars = [(targets["cohort"], cohort_calendar(schedule, config, versions))]
            for email, data in participants:
                calendars.append((targets[email], data))
                if len(calendars) >= WRITE_BATCH:
                    written += _write_changed(calendars, force=force)
                    calendars = []
            written += _write_changed(calendars + change_files, force=force)
            written += _write_changed([(state_path, state_bytes(state))], force=force)
    keep = set(written)   # every one is out_dir / name, as glob gives them: no need to resolve 15,000 paths
    stale = [p for p in out_dir.glob("*.ics") if PARTICIPANT_FILE.fullmatch(p.name) and p not in keep and _ours(p)]
    stale += [p for p in (out_dir / CHANGES_DIR).glob("*.ics")
              if re.fullmatch(r"(update|cancel)-[a-z0-9_-]+-[0-9a-f]{8}\.ics", p.name) and p not in keep]
    for path in sorted(stale):
        path.unlink(missing_ok=True)
        if path.parent == out_dir:
            changes.removed_files.append(path.name)
    schedule.checkins["sequence"] = [versions[uid].sequence for uid in schedule.checkins["uid"]]
    schedule.checkins["dtstamp"] = [versions[uid].dtstamp for uid in schedule.checkins["uid"]]
    return ScheduleOutput(written=written, carried=carried, changes=changes)


def write_schedule(schedule: Schedule, book: PairingBook, config: Config, out_dir: Path, *, force: bool) -> list[Path]:
    """``publish_schedule``, returning the paths written."""
    return publish_schedule(schedule, book, config, out_dir, force=force).written


# --------------------------------------------------------------------------------------------
# Reading the filled-in sheet back


READ_ALIASES = {
    "start_utc": "start_utc", "start": "start_utc", "start_time_utc": "start_utc", "date_utc": "start_utc",
    "pair": "pair_id", "pair_id": "pair_id", "id": "pair_id",
    "mentee_local_time": "mentee_local_time", "mentor_local_time": "mentor_local_time",
    "held": "held", "was_it_held": "held", "date_held": "date_held", "held_on": "date_held",
    "rating": "rating", "goal_progress": "goal_progress", "progress": "goal_progress", "notes": "notes",
    "occurrence": "occurrence", "mentee_email": "mentee_email", "mentor_email": "mentor_email",
    "mentee": "mentee", "mentor": "mentor", "flag": "flag",
    **{f"{word}{tail}": f"{side}{tail}" for word, side in (("member", "mentee"), ("peer", "mentee"), ("facilitator", "mentor"))
       for tail in ("", "_email", "_local_time")},
}
READ_COLUMNS = ("row", "pair_id", "occurrence", "mentee", "mentee_email", "mentor", "mentor_email", "start_utc",
                "mentee_local_time", "mentor_local_time", "flag", "held", "date_held", "rating", "goal_progress", "notes")
YES = {"yes", "y", "true", "1", "x", "held", "done", "✓", "✔", "ja", "oui", "si", "sí"}
NO = {"no", "n", "false", "0", "not held", "missed", "cancelled", "canceled", "nein", "non"}


def _snake(header: Any) -> str:
    text = re.sub(r"[^0-9a-z]+", "_", _text(header).lower()).strip("_")
    return READ_ALIASES.get(text, text)


def _excel_serial(value: float) -> dt.datetime:
    return dt.datetime(1899, 12, 30) + dt.timedelta(days=float(value))


def _as_datetime(value: Any) -> dt.datetime | None:
    """A sheet cell as a datetime: real date cells, Excel serial numbers or typed text."""
    if value is None or _text(value) == "":
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _excel_serial(value) if 1 <= value < 2_958_466 else None
    text = _text(value)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parser.parse(text, dayfirst=bool(re.match(r"^\d{1,2}[./]\d{1,2}[./]\d{2,4}", text)))
    except (ValueError, OverflowError):
        return None


def _as_held(value: Any) -> tuple[bool | None, bool]:
    """(held, understood): Yes/No and their usual spellings; blank is "not logged yet"."""
    if isinstance(value, bool):
        return value, True
    text = _text(value).lower().rstrip(".!")
    if not text:
        return None, True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = "1" if value == 1 else "0" if value == 0 else text
    if text in YES:
        return True, True
    if text in NO:
        return False, True
    return None, False


def _as_rating(value: Any) -> tuple[float, bool]:
    if _text(value) == "":
        return math.nan, True
    match = re.search(r"\d+(?:[.,]\d+)?", _text(value))
    if not match:
        return math.nan, False
    number = float(match.group(0).replace(",", "."))
    return (number, True) if 1 <= number <= 5 else (math.nan, False)


def _read_table(path: Path) -> tuple[list[list[Any]], str]:
    """Raw rows (header first) of the check-in sheet of an xlsx/xls/ods, or of a CSV."""
    if path.suffix.lower() == ".csv":
        return _read_csv_rows(path), ""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        wanted = next((n for n in names if n.strip().lower() == SHEET_NAME.lower()), None)
        if wanted is None and len(names) == 1:
            wanted = names[0]
        rows: list[list[Any]] | None = (workbook.get_sheet_by_name(wanted).to_python(skip_empty_area=False)
                                         if wanted else None)
    except (CalamineError, OSError, ValueError) as exc:
        raise MentorError(f"cannot be read as a spreadsheet ({type(exc).__name__})", path=path,
                          hint="Open it in a spreadsheet program and save it again as .xlsx.") from None
    if rows is None or wanted is None:
        raise MentorError(f"has no sheet named {SHEET_NAME!r} (sheets: {', '.join(names)})", path=path,
                          hint="Rename the check-in sheet back to Check-ins.")
    return rows, wanted


def _read_csv_rows(path: Path) -> list[list[Any]]:
    """A CSV export of the sheet: UTF-8 (with or without BOM) or Windows-1252, comma or semicolon."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, header=None, encoding=encoding,
                                sep=None, engine="python")
            return frame.to_numpy().tolist()
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
            raise MentorError(f"cannot be read as CSV ({exc})", path=path) from None
    raise MentorError("is neither UTF-8 nor Windows-1252 text", path=path, hint="Save it again as CSV UTF-8.")


def read_checkins(path: str | Path) -> pd.DataFrame:
    """The filled-in ``checkins.xlsx`` (or a CSV export of it) as a tidy frame.

    Tolerant of hand edits: columns may be reordered, renamed to close spellings or added,
    rows deleted or added. Columns: row (spreadsheet row, header = 1), pair_id, occurrence,
    mentee, mentee_email, mentor, mentor_email, start_utc (tz-aware UTC), mentee_local_time,
    mentor_local_time, flag, held (True/False/None), date_held (date or None), rating (float,
    NaN when blank), goal_progress, notes, then any extra columns. Cells that cannot be read
    are left blank and listed as ``Problem``s in ``frame.attrs["problems"]``.
    """
    path = Path(path)
    if not path.is_file():
        raise MentorError("check-in sheet not found", path=path, hint="Run mentor schedule first, or check the path.")
    table, sheet = _read_table(path)
    while table and all(_text(v) == "" for v in table[0]):
        table = table[1:]
    if not table:
        raise MentorError("the check-in sheet is empty", path=path)
    headers = [_snake(h) for h in table[0]]
    missing = [c for c in ("pair_id", "start_utc") if c not in headers]
    if missing:
        raise MentorError(f"the check-in sheet has no {' or '.join(missing)} column", path=path,
                          hint='Keep the "Pair ID" and "Start (UTC)" columns as mentor schedule wrote them.')
    problems: list[Problem] = []
    records = []
    for offset, values in enumerate(table[1:], start=2):
        if all(_text(v) == "" for v in values):
            continue
        cells = {}
        for header, value in zip(headers, values):
            if header and header not in cells:
                cells[header] = value
        records.append(_read_row(cells, offset, str(path), sheet, problems))
    frame = pd.DataFrame(records)
    for column in READ_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    extras = [c for c in frame.columns if c not in READ_COLUMNS]
    frame = frame[list(READ_COLUMNS) + extras]
    frame["start_utc"] = pd.to_datetime(frame["start_utc"], utc=True)
    frame["rating"] = pd.to_numeric(frame["rating"], errors="coerce").astype(float)
    frame["row"] = frame["row"].astype(int)
    frame.attrs["problems"] = problems
    return _with_versions(frame, path.parent)


def _with_versions(frame: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Add ``sequence`` and ``dtstamp`` per row from the folder's calendar state (when there is one),
    so an invitation made from the sheet carries the version its people's calendars hold."""
    try:
        state = read_state(folder)
    except MentorError:
        state = {}
    if not state or frame.empty:
        return frame
    found = [state.get(uid) for uid in _sheet_uids(frame)]
    frame["sequence"] = [entry.sequence if entry else None for entry in found]
    frame["dtstamp"] = [parse_stamp(entry.dtstamp) if entry else None for entry in found]
    return frame


def _sheet_uids(frame: pd.DataFrame) -> list[str]:
    """The series UID of each row of a read sheet: a relationship's rows (one per mentee) share it;
    a row kept from an earlier schedule keeps that of its own pair."""
    kept = frame["flag"].map(_text).str.startswith(KEPT_MARK)
    mentees: dict[str, list[str]] = {}
    mentors: dict[str, list[str]] = {}
    for pair_id, mentee, mentor in zip(frame["pair_id"][~kept], frame["mentee_email"][~kept], frame["mentor_email"][~kept]):
        mentees.setdefault(_text(pair_id), []).append(_text(mentee))
        mentors.setdefault(_text(pair_id), []).append(_text(mentor))
    return [series_uid(_text(p), _text(a), _text(b)) if old or _text(p) not in mentees
            else relationship_uid(_text(p), mentees[_text(p)], mentors[_text(p)])
            for p, a, b, old in zip(frame["pair_id"], frame["mentee_email"], frame["mentor_email"], kept)]


def _read_row(cells: dict[str, Any], row: int, file: str, sheet: str, problems: list[Problem]) -> dict[str, Any]:
    out: dict[str, Any] = {"row": row}
    for key, value in cells.items():
        if key not in ("start_utc", "held", "date_held", "rating", "occurrence"):
            out[key] = _text(value)
    for key in ("mentee_email", "mentor_email"):
        if key in out:
            out[key] = out[key].lower()
    start = _as_datetime(cells.get("start_utc"))
    if start is None and _text(cells.get("start_utc")):
        problems.append(Problem(file, sheet, row, "Start (UTC)", "warning", "not a date and time: left blank"))
    if start is not None:
        start = start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start.astimezone(dt.UTC)
    out["start_utc"] = start
    held, understood = _as_held(cells.get("held"))
    if not understood:
        problems.append(Problem(file, sheet, row, "Held", "warning", "not Yes or No: read as not logged"))
    out["held"] = held
    when = _as_datetime(cells.get("date_held"))
    if when is None and _text(cells.get("date_held")):
        problems.append(Problem(file, sheet, row, "Date Held", "warning", "not a date: left blank"))
    out["date_held"] = when.date() if when is not None else None
    rating, understood = _as_rating(cells.get("rating"))
    if not understood:
        problems.append(Problem(file, sheet, row, "Rating", "warning", "not a rating from 1 to 5: left blank"))
    out["rating"] = rating
    occurrence = cells.get("occurrence")
    try:
        out["occurrence"] = int(float(_text(occurrence))) if _text(occurrence) else None
    except ValueError:
        out["occurrence"] = None
    return out


# --------------------------------------------------------------------------------------------
# One pair's invitation (for ``mentor introduce``)


def pair_invite(checkins_rows: pd.DataFrame, book: PairingBook, config: Config, pair_id: str) -> bytes:
    """A METHOD:REQUEST inviting every member of a relationship to all its check-ins at once.

    One recurring event (one UID, see ``mentorcli.ics``), the same UID, SEQUENCE and DTSTAMP as
    the series in the people's published calendars (when ``checkins_rows`` come from
    ``read_checkins`` of a folder ``mentor schedule`` wrote), so accepting it and importing the
    calendar never duplicates anything. ``checkins_rows`` is ``Schedule.checkins`` or
    ``read_checkins``; rows kept from an earlier schedule are not invited to. A pair is the
    two-person case; a mentor with several mentees has a row per mentee for each meeting.
    """
    rows = checkins_rows[checkins_rows["pair_id"].map(_text) == str(pair_id)]
    rows = rows[pd.to_datetime(rows["start_utc"], utc=True).notna()]
    if "flag" in rows.columns:
        rows = rows[~rows["flag"].map(_text).str.startswith(KEPT_MARK)]
    if rows.empty:
        raise MentorError(f"pair {pair_id} has no scheduled check-in", path=book.path, hint="Run mentor schedule first.")
    rows = rows.assign(_start=pd.to_datetime(rows["start_utc"], utc=True)).sort_values("_start", kind="stable")
    first = rows.iloc[0]
    people = _invite_people(book, config, rows)
    mentees = [_text(e).lower() for e in rows["mentee_email"]]
    mentors = [_text(e).lower() for e in rows["mentor_email"]]
    ordered = [people[e] for e in dict.fromkeys(mentors + mentees)]
    leads = [people[e] for e in dict.fromkeys(mentors)]
    anchor = _anchor(leads, [p for p in ordered if p not in leads])
    starts = [moment.to_pydatetime() for moment in rows["_start"]]
    meeting = {start: number for number, start in enumerate(dict.fromkeys(starts), start=1)}
    default_length = dt.timedelta(minutes=int(config.schedule.duration_minutes))
    ends = [pd.Timestamp(value).tz_convert("UTC").to_pydatetime() if "end_utc" in rows.columns and _text(value) else begin + default_length
            for begin, value in zip(starts, rows["end_utc"] if "end_utc" in rows.columns else [None] * len(rows))]
    pattern = _text(first.get("pattern")) or _pattern_text(starts, anchor.zone, _cadence(config))
    uid = relationship_uid(str(pair_id), mentees, mentors)
    has_numbers = "occurrence" in rows.columns and rows["occurrence"].map(_text).str.fullmatch(r"\d+(\.0)?").all()
    records = []
    member_word, lead_word = circle_words(book).get(str(pair_id), ("", ""))
    for begin, end, mentee_email, mentor_email, (_, row) in zip(starts, ends, mentees, mentors, rows.iterrows()):
        mentee, mentor = people[mentee_email], people[mentor_email]
        records.append({
            "occurrence": int(float(row["occurrence"])) if has_numbers else meeting[begin],
            "mentee": mentee.name, "mentee_email": mentee.email, "mentor": mentor.name, "mentor_email": mentor.email,
            "mentee_local": _local_text(begin, mentee), "mentor_local": _local_text(begin, mentor),
            "mentee_tz": mentee.zone, "mentor_tz": mentor.zone, "pattern": pattern,
            "flag": _text(row.get("flag")), "uid": uid, "start_utc": begin, "end_utc": end, "anchor_tz": anchor.zone,
            "mentee_role": member_word, "mentor_role": lead_word,
        })
    builder = _CalendarBuilder(config, starts[0].date(), ends[-1].date())
    components = series_components(builder, records, config, _row_version(first),
                                   attendees=[(p.name, p.email) for p in _attendees(records)])
    return builder.calendar("REQUEST", f"{config.cohort.name}: mentoring check-ins", components)


def _row_version(row: pd.Series) -> Version:
    """The SEQUENCE and DTSTAMP the folder's state gave this series; a first version otherwise."""
    sequence, stamp = row.get("sequence"), row.get("dtstamp")
    if _text(sequence) and _text(stamp):
        try:
            return Version(int(float(sequence)), pd.Timestamp(stamp).tz_convert("UTC").to_pydatetime())
        except (ValueError, TypeError):
            pass
    return Version(0, generation_time())


def _pattern_text(starts: Sequence[dt.datetime], zone: str, cadence: Cadence) -> str:
    """"2nd Tuesday 18:00 Europe/London": the steady pattern of ``starts`` in the anchor's zone."""
    shape = series_shape(starts, _ics_zone(zone), cadence)
    local = shape.dtstart.replace(tzinfo=None)
    return f"{cadence.usual_day(local.date())} {local:%H:%M} {zone}"


def _invite_people(book: PairingBook, config: Config, rows: pd.DataFrame) -> dict[str, _Person]:
    """Everyone an invitation's rows name, by email, with zones as the planner saw them."""
    fallback = most_common_zone(book.people["timezone"])
    emails = book.people["email"].map(_text).str.lower() if len(book.people) else book.people["email"]
    out: dict[str, _Person] = {}
    for role in ("mentee", "mentor"):
        for email, written in zip(rows[f"{role}_email"], rows[role] if role in rows.columns else [None] * len(rows)):
            email = _text(email).lower()
            if email in out:
                continue
            matches = book.people[emails == email] if len(book.people) else book.people
            record = matches.iloc[0].to_dict() if len(matches) else {}
            zone = _text(record.get("timezone"))
            known = tzinfo_for(zone) is not None
            name = _display(record.get("name")) or _display(written) or email
            out[email] = _Person(email=email, name=name, zone=zone if known else fallback, zone_known=known,
                                 windows=(), gave_availability=False, country=None)
    return out

"""Availability answers ("Weekday evenings", "Mon-Fri 18:00-21:00", "6:00-7:00pm F") as weekly windows.

A window is local time in the person's own time zone. The mapping from a form's answer to
windows comes from ``[availability]`` in ``mentor.toml``; answers not listed there are read
as window specs or free text, and only left out when nothing in them names a time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from mentorcli.config import CONFIG_NAME, Config
from mentorcli.errors import MentorError
from mentorcli.tz import most_common_zone, tzinfo_for

REFERENCE_MONDAY = dt.date(2026, 1, 5)
"""Offsets for scoring are taken in this week: a fixed week keeps scores the same on every run."""

DAY_ALIASES = {
    "mon": 0, "monday": 0, "mondays": 0, "m": 0, "mo": 0,
    "tue": 1, "tues": 1, "tuesday": 1, "tuesdays": 1, "t": 1, "tu": 1,
    "wed": 2, "weds": 2, "wednesday": 2, "wednesdays": 2, "w": 2, "we": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "thursdays": 3, "th": 3, "r": 3,
    "fri": 4, "friday": 4, "fridays": 4, "f": 4, "fr": 4,
    "sat": 5, "saturday": 5, "saturdays": 5, "sa": 5,
    "sun": 6, "sunday": 6, "sundays": 6, "su": 6, "u": 6,
}
WEEKDAYS = (0, 1, 2, 3, 4)
WEEKEND = (5, 6)
ALL_DAYS = tuple(range(7))

PARTS_OF_DAY = {
    "early morning": (7 * 60, 9 * 60),
    "morning": (8 * 60, 12 * 60),
    "lunch": (12 * 60, 14 * 60),
    "midday": (12 * 60, 14 * 60),
    "afternoon": (14 * 60, 17 * 60),
    "evening": (18 * 60, 21 * 60),
    "after work": (17 * 60 + 30, 20 * 60 + 30),
    "night": (20 * 60, 22 * 60),
}


class Window(NamedTuple):
    """A weekly slot in local time: weekday 0 = Monday, minutes from local midnight."""

    weekday: int
    start: int
    end: int


_TIME = r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
_RANGE = re.compile(_TIME + r"\s*(?:-|–|—|to|until|till)\s*" + _TIME, re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")


def _minutes(hour: str, minute: str | None, meridiem: str | None) -> int | None:
    h, m = int(hour), int(minute or 0)
    if meridiem:
        meridiem = meridiem.lower().replace(".", "")
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if meridiem == "pm" else 0)
    if h > 24 or m > 59 or (h == 24 and m):
        return None
    return h * 60 + m


def parse_time_range(text: str) -> tuple[int, int] | None:
    """The first time range in ``text`` as minutes (start, end); "9-5pm" and "21:00 - 00:00" work."""
    match = _RANGE.search(text)
    if not match:
        return None
    h1, m1, ap1, h2, m2, ap2 = match.groups()
    if ap2 and not ap1 and int(h1) <= 12:
        # "6:00-7:00pm": the first time shares the second one's am/pm unless that would reverse it
        start = _minutes(h1, m1, ap2)
        end = _minutes(h2, m2, ap2)
        if start is not None and end is not None and start >= end:
            start = _minutes(h1, m1, "am")
    else:
        start = _minutes(h1, m1, ap1)
        end = _minutes(h2, m2, ap2)
    if start is None or end is None:
        return None
    if end == 0:
        end = 24 * 60
    if end <= start:
        return None
    return start, end


def parse_days(text: str) -> tuple[int, ...]:
    """Weekdays named in ``text``: "Mon-Fri", "Tue, Thu", "weekdays", "weekends", "daily"."""
    lowered = text.lower()
    days: set[int] = set()
    if re.search(r"\b(week ?days?|workdays?|mon(day)?\s*(-|–|to)\s*fri(day)?)\b", lowered):
        days.update(WEEKDAYS)
    if re.search(r"\bweek ?ends?\b", lowered):
        days.update(WEEKEND)
    if re.search(r"\b(daily|every ?day|any ?day|all week)\b", lowered):
        days.update(ALL_DAYS)
    for match in re.finditer(r"\b([a-z]+)\s*(?:-|–|to)\s*([a-z]+)\b", lowered):
        first, last = DAY_ALIASES.get(match.group(1)), DAY_ALIASES.get(match.group(2))
        if first is not None and last is not None and len(match.group(1)) > 1 and len(match.group(2)) > 1:
            day = first
            while True:
                days.add(day)
                if day == last:
                    break
                day = (day + 1) % 7
    for word in _WORD.findall(re.sub(r"\b(am|pm|a\.m\.|p\.m\.)\b", " ", lowered)):
        if word in DAY_ALIASES and (len(word) > 2 or word in ("mo", "tu", "we", "th", "fr", "sa", "su")
                                    or _looks_like_slot_code(text)):
            days.add(DAY_ALIASES[word])
    return tuple(sorted(days))


def _looks_like_slot_code(text: str) -> bool:
    """Single-letter day codes ("6:00-7:00pm F") count only after a time range, never in prose."""
    return bool(re.search(r"\d\s*(am|pm)?\s+[a-z]{1,3}\s*$", text.strip(), re.IGNORECASE))


def parse_window_spec(text: str) -> list[Window]:
    """Windows from one answer or config spec; [] when no time can be read from it.

    Explicit times win; otherwise parts of the day ("evenings") are used. Days default to
    Monday-Friday for a part of the day and to every day for an explicit time range.
    """
    times = parse_time_range(text)
    days = parse_days(text)
    if times is None:
        lowered = text.lower()
        spans = [span for word, span in PARTS_OF_DAY.items() if re.search(rf"\b{word}", lowered)]
        if not spans:
            return [Window(d, 9 * 60, 18 * 60) for d in days] if re.search(r"\b(week ?ends?|week ?days?)\b", lowered) else []
        ranges = spans
        days = days or WEEKDAYS
    else:
        ranges = [times]
        days = days or ALL_DAYS
    return sorted({Window(d, start, end) for d in days for start, end in ranges})


def windows_for(answers: Iterable[str], config: Config) -> list[Window]:
    """Every weekly window a person's availability answers stand for, sorted and unique."""
    return list(_windows_for(tuple(answers), _mapping_key(config)))


def unreadable_answers(answers: Iterable[str], config: Config) -> list[str]:
    """The answers that give no window at all ("never", "25:00-26:00", an emoji): for a warning on
    the row, so nothing is ignored silently. A mapped answer counts by the windows its mapping gives."""
    mapping = _mapping_key(config)
    return [answer for answer in answers if not _windows_for((answer,), mapping)]


def _mapping_key(config: Config) -> tuple[tuple[str, tuple[str, ...]], ...]:
    key = tuple(sorted((k.strip().lower(), tuple(v)) for k, v in config.availability.items()))
    _check_config_windows(key, str(config.path or CONFIG_NAME))
    return key


_SPEC_WORDS = frozenset(
    [word for word in DAY_ALIASES if len(word) > 1]
    + [word for phrase in PARTS_OF_DAY for word in phrase.split()]
    + [f"{part}s" for part in PARTS_OF_DAY if " " not in part]
    + ["weekday", "weekdays", "weekend", "weekends", "workday", "workdays", "week", "days", "day",
       "daily", "every", "any", "all", "and", "to", "through", "or", "am", "pm", "a", "m", "p", "h"]
)

_SPEC_TOKEN = re.compile(r"[^\s,;/&.()\-–—]+")


def config_window_problem(spec: str) -> str | None:
    """Why a window of ``[availability]`` cannot be used, or None when it can.

    Answers from a form are read leniently, but a window the coordinator wrote is read strictly:
    "Funday 10-11" would otherwise mean every day, because no day is named in it.
    """
    windows = parse_window_spec(spec)
    if not windows:
        return "gives no time (write it like \"Mon-Fri 18:00-21:00\")"
    unknown = sorted(set(_SPEC_TOKEN.findall(_RANGE.sub(" ", spec.lower()))) - _SPEC_WORDS)
    if unknown:
        return f"has words that are not days or times ({', '.join(unknown)}); days are Mon, Tue, ... Sun"
    return None


@lru_cache(maxsize=64)
def _check_config_windows(mapping_key: tuple[tuple[str, tuple[str, ...]], ...], path: str) -> None:
    """Every window of ``[availability]`` readable for sure, or one line naming the answer and the window."""
    for answer, specs in mapping_key:
        for spec in specs:
            problem = config_window_problem(spec)
            if problem:
                raise MentorError(f"availability {answer!r}: window {spec!r} {problem}", path=path)


def check_config_windows(config: Config) -> None:
    """Raise ``MentorError`` for a window of ``[availability]`` that cannot be read for sure."""
    _mapping_key(config)


@lru_cache(maxsize=4096)
def _windows_for(answers: tuple[str, ...], mapping_key: tuple) -> tuple[Window, ...]:
    mapping = dict(mapping_key)
    windows: set[Window] = set()
    for answer in answers:
        specs = mapping.get(answer.strip().lower(), (answer,))
        for spec in specs:
            windows.update(parse_window_spec(spec))
    return tuple(sorted(windows))


def utc_offset_minutes(timezone: str, on: dt.date = REFERENCE_MONDAY) -> int | None:
    """The UTC offset of a stored time zone at noon on ``on``, or None when unknown."""
    tzinfo = tzinfo_for(timezone)
    if tzinfo is None:
        return None
    offset = dt.datetime.combine(on, dt.time(12), tzinfo).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else None



def _factorize_answers(column: Iterable[object]) -> tuple[np.ndarray, list]:
    """Codes of one column's cells and its distinct cells (lists read as tuples), in order of first use.

    Missing cells (None, NaN) each keep a code of their own: pandas would merge them into one,
    yet ``str()`` of them differs, and a per-row reading must not change.
    """
    cells = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else pd.Series(list(column), dtype=object).to_numpy()
    try:
        codes, uniques = pd.factorize(cells)
    except TypeError:  # lists are not hashable
        cells = pd.Series([tuple(cell) if isinstance(cell, list) else cell for cell in cells], dtype=object).to_numpy()
        codes, uniques = pd.factorize(cells)
    distinct = list(uniques)
    missing = np.flatnonzero(codes < 0)
    if len(missing):
        codes[missing] = len(distinct) + np.arange(len(missing))
        distinct.extend(cells[missing])
        codes, order = pd.factorize(codes)  # back in order of first appearance
        distinct = [distinct[i] for i in order]
    return codes.astype(np.int64), distinct


def distinct_answers(*columns: Iterable[object]) -> tuple[np.ndarray, list[tuple]]:
    """Per row, the code of its combination of answers in ``columns``; and each distinct combination.

    Answers repeat a lot, so every reading of an answer (parsing, option keys, time zones) is
    done once per distinct combination and gathered by code, never once per row. Codes are
    numbered in order of first appearance.
    """
    per_column = [_factorize_answers(column) for column in columns]
    codes = per_column[0][0]
    for ids, distinct in per_column[1:]:
        codes = combined_codes(codes, ids, len(distinct))
    first = first_rows(codes).tolist()
    return codes, list(zip(*([distinct[i] for i in ids[first].tolist()] for ids, distinct in per_column)))


def combined_codes(codes: np.ndarray, more: np.ndarray, more_count: int) -> np.ndarray:
    """The code of each row's pair (``codes``, ``more``), numbered in order of first appearance;
    ``more`` holds codes below ``more_count``."""
    return pd.factorize(codes * more_count + more)[0].astype(np.int64)


def first_rows(codes: np.ndarray) -> np.ndarray:
    """The row where each code first appears, for codes numbered in order of first appearance
    (a new code is always one more than the largest so far)."""
    largest = np.maximum.accumulate(codes)
    return np.flatnonzero(np.diff(largest, prepend=-1) > 0)


WEEK_MINUTES = 7 * 1440
FINEST_SLOT = 5
"""The finest slot of ``weekly_utc_grid`` in minutes: windows and offsets off this grid are rounded
inward to it (start up, end down), so a shared time is never overstated."""


@dataclass(frozen=True)
class WeeklyGrid:
    """When each person is available in a reference week, in UTC, in slots of ``slot`` minutes.

    ``slot`` is the largest length that divides every window edge of the cohort once shifted to
    UTC (and the week): with the default answers that is 30 minutes, so the grid has 336 slots
    and every overlap counted on it is exact to the minute. Only when some edge is off a
    ``FINEST_SLOT`` grid (a window at 9:07) is that edge rounded inward, so a shared time is then
    at most the true one, never more.
    """

    ids: np.ndarray
    """(n,) per person: the row of ``masks`` that is theirs."""
    masks: np.ndarray
    """(k, slots) bool: the distinct weekly masks; an all-False row for no readable availability."""
    slot: int
    """Minutes per slot (divides ``WEEK_MINUTES``)."""
    assumed: np.ndarray
    """(n,) bool: the person gave availability but no time zone the tool can read, and was placed
    in ``assumed_zone`` (only when someone in the cohort gave one; else nobody is compared across
    zones and nothing is assumed person by person)."""
    assumed_zone: str

    def minutes(self) -> np.ndarray:
        """(n,) minutes a week each person is available."""
        return self.masks.sum(axis=1)[self.ids] * self.slot

    def shared_minutes(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Minutes a week both persons of each pair (People positions ``a``, ``b``) are available.

        Worked out per distinct pair of masks: a cohort has few distinct masks and many pairs.
        """
        a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        if not len(a):
            return np.zeros(0, np.int64)
        k = max(len(self.masks), 1)
        codes, first = np.unique(self.ids[a] * k + self.ids[b], return_inverse=True)
        left, right = self.masks[codes // k], self.masks[codes % k]
        shared = np.count_nonzero(left & right, axis=1).astype(np.int64) * self.slot
        return shared[first.reshape(-1)]


def _utc_edges(windows: tuple[Window, ...], offset: int) -> np.ndarray:
    """(w, 2) start and end of each window in UTC minutes from Monday 00:00 of the reference
    week; the start in [0, WEEK_MINUTES), the end after it (past the week when it wraps)."""
    edges = np.array([(w.weekday * 1440 + w.start, w.weekday * 1440 + w.end) for w in windows], dtype=np.int64)
    start = (edges[:, 0] - offset) % WEEK_MINUTES
    return np.stack([start, start + edges[:, 1] - edges[:, 0]], axis=1)


def grid_slot(edges: Iterable[np.ndarray]) -> int:
    """The slot length that puts every edge on the grid: their greatest common divisor with the
    week, or ``FINEST_SLOT`` when that is finer (the edges are then rounded inward)."""
    slot = WEEK_MINUTES
    for part in edges:
        if len(part):
            slot = math.gcd(slot, *np.unique(part).tolist())
    return max(slot, FINEST_SLOT)


def _grid_mask(edges: np.ndarray, slot: int) -> np.ndarray:
    """The slots of a week (``WEEK_MINUTES // slot``) inside any of the windows ``edges``; a slot
    half inside a window is left out (start rounded up, end down)."""
    slots = WEEK_MINUTES // slot
    first = -(-edges[:, 0] // slot)
    last = edges[:, 1] // slot
    keep = last > first
    steps = np.zeros(2 * slots + 1, dtype=np.int64)  # a window may run past the end of the week
    np.add.at(steps, first[keep], 1)
    np.add.at(steps, last[keep], -1)
    inside = np.cumsum(steps)[:2 * slots] > 0
    return inside[:slots] | inside[slots:]


def comfort_edges(config: Config, zone: str) -> np.ndarray:
    """``[schedule] earliest``-``latest`` on every day in ``zone`` as UTC edges of the reference
    week (see ``_utc_edges``): what the scheduler takes someone who gave no availability to accept."""
    hours = parse_time_range(f"{config.schedule.earliest}-{config.schedule.latest}")
    if hours is None:
        raise MentorError(f"schedule.earliest to schedule.latest ({config.schedule.earliest} to "
                          f"{config.schedule.latest}) is not a time range", path=config.path,
                          hint='Write times as "HH:MM", earliest before latest.')
    windows = tuple(Window(day, hours[0], hours[1]) for day in range(7))
    return _utc_edges(windows, utc_offset_minutes(zone) or 0)


def grid_mask(edges: np.ndarray, slot: int) -> np.ndarray:
    """The slots of a week of ``slot`` minutes wholly inside the windows ``edges``."""
    return _grid_mask(edges, slot)


def weekly_utc_grid(people: pd.DataFrame, config: Config) -> WeeklyGrid:
    """When each person is available, in UTC, exact to the minute (see ``WeeklyGrid``).

    A person with no readable availability gets an all-False mask (the criterion then does not
    count for their pairs). A person with availability but no known time zone is taken to live in
    the cohort's most common time zone (a single-office programme often does not ask) and is
    flagged in ``assumed``, so the reasons and the Problems sheet can say so.
    """
    zones = people["timezone"].fillna("").astype(str) if len(people) else pd.Series([], dtype=str)
    fallback = most_common_zone(zones)
    codes, combinations = distinct_answers(people["availability"], zones)
    mapping = _mapping_key(config)
    known = np.array([tzinfo_for(zone) is not None for _, zone in combinations], dtype=bool)
    edges = []
    for (answers, zone), zone_known in zip(combinations, known.tolist()):
        windows = _windows_for(tuple(answers), mapping)
        offset = utc_offset_minutes(zone if zone_known else fallback) or 0
        edges.append(_utc_edges(windows, offset) if windows else np.zeros((0, 2), np.int64))
    slot = grid_slot(edges)
    masks = np.zeros((len(combinations), WEEK_MINUTES // slot), dtype=bool)
    for code, part in enumerate(edges):
        if len(part):
            masks[code] = _grid_mask(part, slot)
    anyone_known = bool(known.any())
    given = np.array([len(part) > 0 for part in edges], dtype=bool)
    assumed = (given & ~known & anyone_known)[codes] if len(combinations) else np.zeros(len(people), bool)
    return WeeklyGrid(codes, masks, slot, assumed, fallback if anyone_known else "")


"""Availability answers ("Weekday evenings", "Mon-Fri 18:00-21:00", "6:00-7:00pm F") as weekly windows.

A window is local time in the person's own time zone. The mapping from a form's answer to
windows comes from ``[availability]`` in ``mentor.toml``; answers not listed there are read
as window specs or free text, and only left out when nothing in them names a time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from mentorcli.config import Config
from mentorcli.tz import most_common_zone, tzinfo_for

HOURS_PER_WEEK = 168
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
    return tuple(sorted((k.strip().lower(), tuple(v)) for k, v in config.availability.items()))


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


def _mask_for(windows: tuple[Window, ...], offset: int) -> np.ndarray:
    """Hours of the reference week (UTC, Monday 00:00 = 0) covered for at least 30 minutes."""
    minutes = np.zeros(HOURS_PER_WEEK * 60, dtype=bool)
    for window in windows:
        start = (window.weekday * 1440 + window.start - offset) % (HOURS_PER_WEEK * 60)
        length = window.end - window.start
        idx = (start + np.arange(length)) % (HOURS_PER_WEEK * 60)
        minutes[idx] = True
    return minutes.reshape(HOURS_PER_WEEK, 60).sum(axis=1) >= 30


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


def weekly_utc_mask(people: pd.DataFrame, config: Config) -> np.ndarray:
    """(n, 168) bool: the hours of a reference week, in UTC, each person is available.

    A person with no readable availability gets an all-False row (the criterion then does not
    count for their pairs). A person with availability but no known time zone is taken to live in
    the cohort's most common time zone (a single-office programme often does not ask).
    """
    if not len(people):
        return np.zeros((0, HOURS_PER_WEEK), dtype=bool)
    zones = people["timezone"].fillna("").astype(str)
    fallback = most_common_zone(zones)
    codes, combinations = distinct_answers(people["availability"], zones)
    mapping = _mapping_key(config)
    masks = np.zeros((len(combinations), HOURS_PER_WEEK), dtype=bool)
    for code, (answers, zone) in enumerate(combinations):
        windows = _windows_for(tuple(answers), mapping)
        if windows:
            offset = utc_offset_minutes(zone if tzinfo_for(zone) else fallback)
            masks[code] = _mask_for(windows, offset or 0)
    return masks[codes]

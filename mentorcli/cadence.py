"""How often a relationship meets: a cadence produces the periods that hold one meeting each.

The scheduler never counts months: it asks the cadence for the programme's periods (occurrence
k of every relationship falls in period k), for the days a steady pattern can take inside a
period ("2nd Tuesday", "Wednesday of week 1 of each fortnight") and, for the calendar, for the
iCalendar rule that repeats such a pattern. Month-based cadences (monthly, quarterly) and
week-based ones (weekly, fortnightly) are the two implementations; a new rhythm is a new
subclass of ``Cadence`` and an entry in ``CADENCES``.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ORDINALS = ("1st", "2nd", "3rd", "4th")
WEEKS_IN_MONTH = 4
"""Patterns use the 1st to 4th weekday of a month: a 5th one does not exist every month."""
WEEK_PREFERENCE = (2, 3, 1, 4)
"""The 2nd week first: the 1st is crowded with month-start work and may fall before the start."""


class Period(NamedTuple):
    """One period of a programme, ``[first, end)``: it holds one meeting of each relationship."""

    first: dt.date
    end: dt.date


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th (1-based) ``weekday`` (0 = Monday) of a month; n <= 4 always exists."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def programme_months(start: dt.date, months: int) -> list[dt.date]:
    """The first days of the programme's ``months`` calendar months.

    The start's own month counts when at least two weeks of it remain; otherwise a first
    meeting would be squeezed into the month's last days, so the next month is the first.
    """
    first = month_index(start) + (1 if start.day > 15 else 0)
    return [month_start(first + i) for i in range(months)]


class Cadence(ABC):
    """How often a relationship meets: its periods, the pattern slots inside one, its RRULE.

    A *slot* is a week a steady pattern can sit in within a period (the 1st-4th weekday of a
    month; a week of a fortnight); a pattern is (slot, weekday, time of day).
    """

    name: str
    adjective: str
    period: str
    """The period in words ("month", "quarter", "week", "fortnight")."""
    slots: int
    """Slots per period."""

    @abstractmethod
    def periods(self, start: dt.date, months: int) -> list[Period]:
        """The periods of a programme of ``months`` calendar months from ``start``, in order."""

    @abstractmethod
    def slot_day(self, period: Period, slot: int, weekday: int) -> dt.date:
        """The date of ``slot`` on ``weekday`` inside ``period``."""

    def slot_rank(self, slot: int) -> int:
        """Tie-break between slots: lower is preferred."""
        return slot

    @abstractmethod
    def slot_text(self, slot: int, weekday: int) -> str:
        """A pattern's day in words, before its time ("2nd Tuesday", "every Wednesday")."""

    @abstractmethod
    def usual_day(self, day: dt.date) -> str:
        """The pattern day a meeting on ``day`` stands for ("2nd Tuesday", "Tuesday")."""

    # -- the calendar's view: a rule repeating one (n-th) weekday -------------------------
    @abstractmethod
    def nth_of(self, day: dt.date) -> int:
        """Which of its weekdays ``day`` is in the rule's terms (n-th of the month; 0 when unused)."""

    @abstractmethod
    def period_number(self, day: dt.date) -> int:
        """The absolute number of the period holding ``day`` (consecutive periods, consecutive numbers)."""

    @abstractmethod
    def phase(self, day: dt.date) -> int:
        """Offset of ``day``'s unit inside its period (a quarter's month, a fortnight's week)."""

    @abstractmethod
    def instance_day(self, number: int, phase: int, weekday: int, n: int) -> dt.date:
        """The rule's date in period ``number`` (see ``period_number``)."""

    @abstractmethod
    def rule(self, n: int, weekday: int, count: int) -> dict[str, Any]:
        """The iCalendar RRULE repeating the pattern ``count`` times."""

    @property
    @abstractmethod
    def period_days(self) -> int:
        """Typical days per period."""

    @property
    def at_risk_days(self) -> int:
        """Days without a check-in before a pair is at risk, unless ``[report] at_risk_days`` is set:
        one and a half periods, so one missed check-in plus some slack (45 days for monthly)."""
        return -(-3 * self.period_days // 2)


class MonthsCadence(Cadence):
    """Every ``months`` calendar months (monthly, quarterly): the n-th weekday of a month."""

    def __init__(self, name: str, adjective: str, period: str, months: int):
        self.name, self.adjective, self.period, self.months = name, adjective, period, months
        self.slots = WEEKS_IN_MONTH * months

    def __repr__(self) -> str:
        return f"MonthsCadence({self.name!r})"

    def periods(self, start: dt.date, months: int) -> list[Period]:
        """Whole periods of the programme's months (a programme shorter than one still has one)."""
        firsts = programme_months(start, months)
        size = self.months
        return [Period(firsts[i * size], month_start(month_index(firsts[i * size]) + size))
                for i in range(max(1, len(firsts) // size))]

    def slot_day(self, period: Period, slot: int, weekday: int) -> dt.date:
        month = month_start(month_index(period.first) + slot // WEEKS_IN_MONTH)
        return nth_weekday(month.year, month.month, weekday, slot % WEEKS_IN_MONTH + 1)

    def slot_rank(self, slot: int) -> int:
        """The 2nd week of a month first (see WEEK_PREFERENCE), earlier months of a period first."""
        return (slot // WEEKS_IN_MONTH) * WEEKS_IN_MONTH + WEEK_PREFERENCE.index(slot % WEEKS_IN_MONTH + 1)

    def slot_text(self, slot: int, weekday: int) -> str:
        day = DAY_NAMES[weekday]
        if self.months == 1:
            return f"{ORDINALS[slot]} {day}"
        return f"{ORDINALS[slot % WEEKS_IN_MONTH]} {day} of month {slot // WEEKS_IN_MONTH + 1} of each {self.period},"

    def usual_day(self, day: dt.date) -> str:
        return f"{ORDINALS[min((day.day - 1) // 7, 3)]} {DAY_NAMES[day.weekday()]}"

    def nth_of(self, day: dt.date) -> int:
        return (day.day - 1) // 7 + 1

    def period_number(self, day: dt.date) -> int:
        return month_index(day) // self.months

    def phase(self, day: dt.date) -> int:
        return month_index(day) % self.months

    def instance_day(self, number: int, phase: int, weekday: int, n: int) -> dt.date:
        month = month_start(number * self.months + phase)
        return nth_weekday(month.year, month.month, weekday, n)

    def rule(self, n: int, weekday: int, count: int) -> dict[str, Any]:
        rule: dict[str, Any] = {"freq": "MONTHLY", "byday": f"{n}{DAY_CODES[weekday]}"}
        if self.months > 1:
            rule["interval"] = self.months
        rule["count"] = count
        return rule

    @property
    def period_days(self) -> int:
        """A month counts 30 days, a quarter 91."""
        return self.months * 30 + self.months // 3


class WeeksCadence(Cadence):
    """Every ``weeks`` weeks (weekly, fortnightly), Monday to Sunday: a weekday of one of its weeks."""

    def __init__(self, name: str, adjective: str, period: str, weeks: int):
        self.name, self.adjective, self.period, self.weeks = name, adjective, period, weeks
        self.slots = weeks

    def __repr__(self) -> str:
        return f"WeeksCadence({self.name!r})"

    def periods(self, start: dt.date, months: int) -> list[Period]:
        """From the first Monday on or after the start to the end of the programme's last month."""
        end = month_start(month_index(programme_months(start, months)[-1]) + 1)
        monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
        length = dt.timedelta(days=7 * self.weeks)
        periods: list[Period] = []
        while monday + length <= end or not periods:
            periods.append(Period(monday, monday + length))
            monday += length
        return periods

    def slot_day(self, period: Period, slot: int, weekday: int) -> dt.date:
        return period.first + dt.timedelta(days=7 * slot + weekday)

    def slot_text(self, slot: int, weekday: int) -> str:
        day = DAY_NAMES[weekday]
        if self.weeks == 1:
            return f"every {day}"
        return f"{day} of week {slot + 1} of each {self.period},"

    def usual_day(self, day: dt.date) -> str:
        return DAY_NAMES[day.weekday()]

    def nth_of(self, day: dt.date) -> int:
        return 0

    def _week_number(self, day: dt.date) -> int:
        monday = day - dt.timedelta(days=day.weekday())
        return monday.toordinal() // 7

    def period_number(self, day: dt.date) -> int:
        return self._week_number(day) // self.weeks

    def phase(self, day: dt.date) -> int:
        return self._week_number(day) % self.weeks

    def instance_day(self, number: int, phase: int, weekday: int, n: int) -> dt.date:
        monday = dt.date.fromordinal((number * self.weeks + phase) * 7 + 1)  # ordinal 1 is a Monday
        return monday + dt.timedelta(days=(weekday - monday.weekday()) % 7)

    def rule(self, n: int, weekday: int, count: int) -> dict[str, Any]:
        rule: dict[str, Any] = {"freq": "WEEKLY", "byday": DAY_CODES[weekday]}
        if self.weeks > 1:
            rule["interval"] = self.weeks
        rule["count"] = count
        return rule

    @property
    def period_days(self) -> int:
        return self.weeks * 7


CADENCES: dict[str, Cadence] = {
    "monthly": MonthsCadence("monthly", "Monthly", "month", 1),
    "quarterly": MonthsCadence("quarterly", "Quarterly", "quarter", 3),
    "fortnightly": WeeksCadence("fortnightly", "Fortnightly", "fortnight", 2),
    "weekly": WeeksCadence("weekly", "Weekly", "week", 1),
}

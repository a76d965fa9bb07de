"""``mentor.toml``: every setting with its default, loaded into typed dataclasses.

The config is read once by the CLI and passed down; library functions take a ``Config`` so a
Python user can build one in code (``Config()`` gives every default).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from email_validator import EmailNotValidError, validate_email

from mentorcli import __version__
from mentorcli.errors import MentorError
from mentorcli.tz import tzinfo_for
from mentorcli.untrusted import without_controls

CONFIG_NAME = "mentor.toml"

CRITERIA = ("topics", "industry", "experience", "availability", "format", "interests")

DEFAULT_AVAILABILITY = {
    "weekday mornings": ["Mon-Fri 07:30-09:30"],
    "weekday lunchtimes": ["Mon-Fri 12:00-14:00"],
    "weekday afternoons": ["Mon-Fri 14:00-17:00"],
    "weekday evenings": ["Mon-Fri 18:00-21:00"],
    "weekends": ["Sat-Sun 10:00-18:00"],
    "weekend mornings": ["Sat-Sun 09:00-12:00"],
    "weekend afternoons": ["Sat-Sun 13:00-17:00"],
    "anytime": ["Mon-Fri 09:00-18:00"],
}


LIMITS: dict[str, tuple[float, float]] = {
    "signups.default_capacity": (0, 1000),
    "signups.default_wants": (0, 100),
    "signups.max_capacity": (1, 1000),
    "signups.max_wants": (1, 100),
    "rules.max_timezone_gap": (0, 26),
    "rules.ideal_experience_gap": (0, 60),
    "match.dense_limit": (1, 1_000_000_000),
    "match.candidates": (1, 1000),
    "networks.goal_value": (0, 100),
    "networks.repeat_goal_value": (0, 1),
    "networks.prefer_mixed_departments": (0, 100),
    "networks.candidates": (1, 1000),
    "networks.solve_limit": (0, 3600),
    "schedule.months": (1, 36),
    "schedule.duration_minutes": (5, 480),
    "schedule.reminder_minutes": (0, 40_320),
    "events.duration_minutes": (1, 92 * 24 * 60),
    "report.at_risk_days": (1, 3650),
    "report.missed_in_row": (1, 100),
    "report.low_rating": (0, 10),
    "report.min_group_size": (1, 100_000),
    "circles.min_size": (2, 1000),
    "circles.pricing_rounds": (1, 10_000),
    "circles.search_effort": (0, 100_000),
    "nudge.first_meeting_days": (1, 3650),
    "nudge.interval_days": (1, 3650),
    "nudge.escalate_days": (1, 3650),
    "surveys.duplicate_days": (0, 3650),
}
"""Allowed range of every number in ``mentor.toml``: far beyond any real cohort, and small
enough that the solver's integer costs and the calendar's dates cannot overflow."""
MAX_WEIGHT = 1_000_000.0
"""Weights are relative; a larger one adds nothing but the risk of overflowing the scores."""
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


@dataclass
class CohortSettings:
    """Who runs the programme: used in email senders, calendar organisers and report titles."""

    name: str = "Mentoring programme"
    coordinator_name: str = "Programme coordinator"
    coordinator_email: str = "coordinator@example.org"
    sponsor_emails: list[str] = field(default_factory=list)


@dataclass
class SignupSettings:
    """Defaults for answers a form did not ask for."""

    default_capacity: int = 2
    default_wants: int = 1
    max_capacity: int = 10
    max_wants: int = 3


@dataclass
class Weights:
    """Relative weight of each criterion in the 0-100 score (normalised to sum 1)."""

    topics: float = 40.0
    industry: float = 10.0
    experience: float = 10.0
    availability: float = 20.0
    format: float = 10.0
    interests: float = 10.0

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in CRITERIA}


@dataclass
class Rules:
    """Hard rules: a pair that breaks one is never made."""

    forbid_same_team: bool = True
    forbid_same_organisation: bool = False
    require_shared_language: bool = True
    max_timezone_gap: float | None = None
    choices_only: bool = False
    ideal_experience_gap: float = 5.0


@dataclass
class MatchSettings:
    objective: str = "places"
    dense_limit: int = 25_000_000
    candidates: int = 25
    max_participants: int = 100_000


@dataclass
class NetworkSettings:
    """Mentees who want two or more mentors (``matching.networks``): what a goal covered, a goal
    covered again and mentors from one department are worth, in points of the 0-100 pair score."""

    goal_value: float = 20.0
    """Points for each of the mentee's goals the first time one of their mentors covers it."""
    repeat_goal_value: float = 0.25
    """Share of ``goal_value`` a goal is worth from the next mentor who covers it too (then its
    square from the one after, and so on): 0 counts a goal once, 1 as often as it is covered."""
    prefer_mixed_departments: float = 5.0
    """Points lost for each further mentor from a department the mentee already has a mentor from."""
    candidates: int = 20
    """Mentors per such mentee the exact model considers (the best by what they could add)."""
    solve_limit: float = 10.0
    """Work limit of the exact solver (CP-SAT deterministic time, about seconds): the same on every run."""


@dataclass
class ScheduleSettings:
    months: int = 6
    duration_minutes: int = 30
    holidays: list[str] = field(default_factory=list)
    blackout: list[dt.date] = field(default_factory=list)
    reminder_minutes: int = 1440
    weekdays: list[str] = field(default_factory=lambda: ["Tue", "Wed", "Thu"])
    earliest: str = "08:00"
    latest: str = "21:00"
    local_holidays: bool = True
    cadence: str = "monthly"
    rsvp: bool = False
    """Ask each invited person's calendar to send the coordinator a reply (off: no RSVP flood)."""


@dataclass
class CohortEvent:
    name: str
    date: dt.date
    time: str = "17:00"
    timezone: str = "UTC"
    duration_minutes: int = 60
    description: str = ""


@dataclass
class ReportSettings:
    at_risk_days: int | None = None
    """Days without a check-in before a pair is at risk; None: 1.5 periods of the cadence (45 monthly)."""
    missed_in_row: int = 2
    low_rating: int = 2
    min_group_size: int = 5
    group_by: str = "industry"
    """People field (of the mentee) the sponsor summary breaks figures out by; "" for none."""


@dataclass
class CheckinLogSettings:
    columns: dict[str, str] = field(default_factory=dict)


SURVEY_COLUMN_FIELDS: dict[str, str] = {
    "email": "the respondent's email address: the identity key (required)",
    "partner": "who their mentor or mentee is (only needed from people in several relationships)",
    "quality": "how the relationship is going, 1-5",
    "recommend": "would recommend the programme, 0-10",
    "goal_progress": "progress towards their goals, 1-5",
    "comments": "free text: the coordinator's private view only",
    "timestamp": "when the form was submitted (Google: Timestamp; Microsoft: Completion time)",
}
"""Every field ``[surveys.columns]`` can map, with what it holds."""


@dataclass
class SurveySettings:
    """Survey form exports read back by ``mentor report --surveys``."""

    duplicate_days: int = 30
    """Two answers of one person to the same survey within this many days are one round answered
    twice (the later stands); a pulse answered further apart is the next round."""
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class CircleSettings:
    """Circles (``mentor match --circles N`` / ``--peer-circles N``): who forms them and how hard the solver works."""

    min_size: int = 3
    """Fewest people in a circle, its lead (mentor or facilitator) included."""
    mix_departments: bool = False
    """Every member of a circle from a different department (a hard rule when on)."""
    peer_roles: list[str] = field(default_factory=lambda: ["both"])
    """Signed-up roles that join peer circles ("peer" answers are read as "both")."""
    pricing_rounds: int = 200
    """Most rounds of pricing new circles; the bound stays proven when they run out."""
    search_effort: float = 30.0
    """Work units each integer search may spend (x 1000 branch-and-bound nodes: a count, not seconds)."""


@dataclass
class NudgeSettings:
    """``mentor nudge``: when a relationship is reminded, and when the coordinator is asked to call.

    The defaults follow the good practice the issue quotes, "contact both people twice in the
    first month and monthly after": the introduction is the first contact (day 0), the
    first-meeting reminder on day 14 the second; after that nobody is reminded of the same thing
    more than once a month (30 days), and the contact due a month after that reminder (day 44,
    about the report's 45-day at-risk mark for monthly check-ins) is the coordinator's own call.
    """

    first_meeting_days: int = 14
    """Days after the introduction without a logged meeting before the first-meeting reminder."""
    interval_days: int = 30
    """Days before a person is reminded of the same thing again (the coordinator: the same relationship)."""
    escalate_days: int = 44
    """Days of silence (since the last check-in held, else the introduction) before the coordinator's digest.
    Only a relationship owed a reminder is listed, so a value below ``first_meeting_days`` lists one
    that never met on the day of its first-meeting reminder, not before."""


@dataclass
class Config:
    cohort: CohortSettings = field(default_factory=CohortSettings)
    columns: dict[str, str] = field(default_factory=dict)
    signups: SignupSettings = field(default_factory=SignupSettings)
    weights: Weights = field(default_factory=Weights)
    rules: Rules = field(default_factory=Rules)
    match: MatchSettings = field(default_factory=MatchSettings)
    networks: NetworkSettings = field(default_factory=NetworkSettings)
    availability: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_AVAILABILITY))
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    events: list[CohortEvent] = field(default_factory=list)
    report: ReportSettings = field(default_factory=ReportSettings)
    checkins: CheckinLogSettings = field(default_factory=CheckinLogSettings)
    circles: CircleSettings = field(default_factory=CircleSettings)
    nudge: NudgeSettings = field(default_factory=NudgeSettings)
    surveys: SurveySettings = field(default_factory=SurveySettings)
    path: Path | None = None

    @property
    def folder(self) -> Path:
        """The cohort folder: where the config lives (templates/ overrides are looked up here)."""
        return self.path.parent if self.path else Path.cwd()

    def as_settings(self) -> dict[str, Any]:
        """A flat, JSON-friendly view for the workbook's Settings sheet."""
        out: dict[str, Any] = {"config": self.path.name if self.path else "(defaults)"}
        for section in ("signups", "weights", "rules", "match"):
            for f in fields(getattr(self, section)):
                out[f"{section}.{f.name}"] = getattr(getattr(self, section), f.name)
        return out


def _section(raw: dict, name: str, path: Path) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise MentorError(f"[{name}] must be a table", path=path, hint=f"Write it as a [{name}] section.")
    return value


class _Dataclass(Protocol):
    """What ``dataclasses.fields`` takes: a dataclass."""

    __dataclass_fields__: ClassVar[dict[str, Any]]


_Settings = TypeVar("_Settings", bound=_Dataclass)


def _coerce(cls: type[_Settings], values: dict, section: str, path: Path) -> _Settings:
    """Build dataclass ``cls`` from a TOML table, naming any unknown key, wrong type or bad number."""
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise MentorError(
                f"unknown setting {section}.{key}",
                path=path,
                hint=f"Known settings in [{section}]: {', '.join(known)}.",
            )
        spec = known[key]
        default = spec.default if not callable(spec.default_factory) else spec.default_factory()
        if isinstance(default, bool) and not isinstance(value, bool):
            raise MentorError(f"{section}.{key} must be true or false", path=path)
        if isinstance(default, str):
            if not isinstance(value, str):
                raise MentorError(f"{section}.{key} must be text in quotes", path=path)
            value = without_controls(value)
        if isinstance(default, list) and not isinstance(value, list):
            raise MentorError(f"{section}.{key} must be a list, like [\"a\", \"b\"]", path=path)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            value = _number(value, f"{section}.{key}", path, whole=isinstance(default, int))
        kwargs[key] = value
    return cls(**kwargs)


def _number(value: Any, name: str, path: Path, *, whole: bool) -> float | int:
    """``value`` as a finite number inside ``LIMITS[name]``; an integer setting takes whole numbers only."""
    low, high = LIMITS.get(name, (-math.inf, math.inf))
    allowed = f"a whole number from {low:,.0f} to {high:,.0f}" if whole else f"a number from {low:g} to {high:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MentorError(f"{name} must be {allowed}", path=path)
    if not math.isfinite(value) or not low <= value <= high or (whole and value != int(value)):
        raise MentorError(f"{name} = {value!r} is out of range: it must be {allowed}", path=path)
    return int(value) if whole else float(value)


def _weights(values: dict, path: Path) -> Weights:
    """``[weights]``: each finite, from 0 to ``MAX_WEIGHT``, and not all zero."""
    weights = _coerce(Weights, values, "weights", path)
    for name, weight in weights.as_dict().items():
        if not 0 <= weight <= MAX_WEIGHT:
            raise MentorError(f"weights.{name} = {weight!r} is out of range: it must be a number from 0 to {MAX_WEIGHT:,.0f}",
                              path=path)
    if sum(weights.as_dict().values()) <= 0:
        raise MentorError("[weights] must not all be zero", path=path, hint="Give at least one criterion a weight above 0.")
    return weights


def _email_setting(value: str, name: str, path: Path) -> str:
    """An address of ``[cohort]``, checked for syntax only (no network at run time)."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise MentorError(f"{name} = {value!r} is not a usable email address ({exc})", path=path,
                          hint="Write one address like \"mentoring@example.org\".") from None
    return value


def _cohort(values: dict, path: Path) -> CohortSettings:
    cohort = _coerce(CohortSettings, values, "cohort", path)
    _email_setting(cohort.coordinator_email, "cohort.coordinator_email", path)
    for address in cohort.sponsor_emails:
        if not isinstance(address, str):
            raise MentorError("cohort.sponsor_emails must be a list of addresses in quotes", path=path)
        _email_setting(address, "cohort.sponsor_emails", path)
    return cohort


def _parse_date(value: Any, where: str, path: Path) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise MentorError(f"{where}: {value!r} is not a date", path=path, hint="Write dates as YYYY-MM-DD.") from None


def load_config(path: str | Path | None = None, *, cwd: Path | None = None) -> Config:
    """Read ``path``, or ``mentor.toml`` in ``cwd`` if it exists, else the defaults."""
    if path is None:
        candidate = (cwd or Path.cwd()) / CONFIG_NAME
        if not candidate.exists():
            return Config()
        path = candidate
    path = Path(path)
    if not path.is_file():
        raise MentorError("config file not found", path=path, hint="Run `mentor init` to write one.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise MentorError("config file is not UTF-8 text", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise MentorError(f"not valid TOML ({exc})", path=path, hint="Fix the line it names.") from None
    return config_from_dict(raw, path)


def config_from_dict(raw: dict, path: Path = Path(CONFIG_NAME)) -> Config:
    """The ``Config`` for an already-parsed TOML document (used by tests and Python callers)."""
    known = {"cohort", "columns", "signups", "weights", "rules", "match", "networks", "availability",
             "schedule", "events", "report", "checkins", "circles", "nudge", "surveys"}
    for key in raw:
        if key not in known:
            raise MentorError(f"unknown section [{key}]", path=path, hint=f"Known sections: {', '.join(sorted(known))}.")
    cfg = Config(path=path)
    cfg.cohort = _cohort(_section(raw, "cohort", path), path)
    cfg.columns = _text_table(_section(raw, "columns", path), "columns", path)
    cfg.signups = _coerce(SignupSettings, _section(raw, "signups", path), "signups", path)
    cfg.weights = _weights(_section(raw, "weights", path), path)
    rules = dict(_section(raw, "rules", path))
    gap = rules.pop("max_timezone_gap", None)
    cfg.rules = _coerce(Rules, rules, "rules", path)
    if gap is not None and gap is not False:
        cfg.rules.max_timezone_gap = float(_number(gap, "rules.max_timezone_gap", path, whole=False))
    cfg.match = _coerce(MatchSettings, _section(raw, "match", path), "match", path)
    if cfg.match.objective not in ("places", "fair"):
        raise MentorError('match.objective must be "places" or "fair"', path=path)
    cfg.networks = _coerce(NetworkSettings, _section(raw, "networks", path), "networks", path)
    availability = _section(raw, "availability", path)
    if availability:
        cfg.availability = {}
        for answer, windows in availability.items():
            windows = [windows] if isinstance(windows, str) else windows
            if not isinstance(windows, list) or not all(isinstance(w, str) for w in windows):
                raise MentorError(
                    f"availability {answer!r} must be a window like \"Mon-Fri 18:00-21:00\" or a list of them",
                    path=path,
                )
            cfg.availability[str(answer).strip().lower()] = windows
    schedule = dict(_section(raw, "schedule", path))
    blackout = schedule.pop("blackout", [])
    cfg.schedule = _coerce(ScheduleSettings, schedule, "schedule", path)
    if not isinstance(blackout, list):
        raise MentorError("schedule.blackout must be a list of dates, like [2026-12-24, 2026-12-31]", path=path)
    cfg.schedule.blackout = [_parse_date(d, "schedule.blackout", path) for d in blackout]
    cfg.events = _events(raw.get("events", []), path)
    report = dict(_section(raw, "report", path))
    at_risk = report.pop("at_risk_days", None)
    cfg.report = _coerce(ReportSettings, report, "report", path)
    if at_risk is not None:
        cfg.report.at_risk_days = int(_number(at_risk, "report.at_risk_days", path, whole=True))
    checkins = _section(raw, "checkins", path)
    columns = checkins.get("columns", {})
    if not isinstance(columns, dict):
        raise MentorError("[checkins.columns] must be a table", path=path)
    cfg.checkins = CheckinLogSettings(columns=_text_table(columns, "checkins.columns", path))
    cfg.circles = _circles(_section(raw, "circles", path), path)
    cfg.nudge = _coerce(NudgeSettings, _section(raw, "nudge", path), "nudge", path)
    cfg.surveys = _surveys(_section(raw, "surveys", path), path)
    return cfg


CIRCLE_ROLES = ("mentor", "mentee", "both")


def _circles(values: dict, path: Path) -> CircleSettings:
    """``[circles]``: peer_roles a list of signed-up roles (mentor, mentee, both)."""
    circles = _coerce(CircleSettings, values, "circles", path)
    roles = circles.peer_roles
    if not roles or not all(isinstance(r, str) and r.strip().lower() in CIRCLE_ROLES for r in roles):
        raise MentorError("circles.peer_roles must list roles from mentor, mentee and both, like [\"both\"]", path=path)
    circles.peer_roles = sorted({r.strip().lower() for r in roles}, key=CIRCLE_ROLES.index)
    return circles


def _surveys(values: dict, path: Path) -> SurveySettings:
    """``[surveys]`` and ``[surveys.columns]``: each column key a field surveys read."""
    values = dict(values)
    columns = values.pop("columns", {})
    if not isinstance(columns, dict):
        raise MentorError("[surveys.columns] must be a table", path=path)
    settings = _coerce(SurveySettings, values, "surveys", path)
    settings.columns = _text_table(columns, "surveys.columns", path)
    for key in settings.columns:
        if key not in SURVEY_COLUMN_FIELDS:
            raise MentorError(f"unknown field surveys.columns.{key}", path=path,
                              hint=f"Known fields: {', '.join(SURVEY_COLUMN_FIELDS)}.")
    return settings


def _text_table(table: dict, section: str, path: Path) -> dict[str, str]:
    """A table of header texts (``[columns]``, ``[checkins.columns]``): every value text in quotes."""
    for key, value in table.items():
        if not isinstance(value, str):
            raise MentorError(f"{section}.{key} must be a header text in quotes", path=path,
                              hint=f'Write it like {key} = "Email Address".')
    return {str(key): value for key, value in table.items()}


def _events(events: Any, path: Path) -> list[CohortEvent]:
    """``[[events]]``: each a table with a name, a date and a known time zone."""
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise MentorError("events must be written as [[events]] tables", path=path,
                          hint='Each starts with a line [[events]] followed by name = "...", date = YYYY-MM-DD.')
    out = []
    for i, table in enumerate(events, 1):
        event = dict(table)
        if "name" not in event or "date" not in event:
            raise MentorError(f"event {i} needs a name and a date", path=path)
        if not isinstance(event["name"], str):
            raise MentorError(f"event {i}: name must be text in quotes", path=path)
        event["date"] = _parse_date(event["date"], f"event {event['name']!r}", path)
        parsed = _coerce(CohortEvent, event, "events", path)
        if tzinfo_for(parsed.timezone.strip()) is None:
            raise MentorError(f"event {parsed.name!r}: time zone {parsed.timezone!r} is unknown", path=path,
                              hint='Use an IANA name such as "Europe/London", or "UTC".')
        out.append(parsed)
    return out


# --- writing a commented mentor.toml (``mentor init``) ------------------------------------------

COLUMN_FIELDS: dict[str, str] = {
    "name": "full name (or first_name + last_name)",
    "first_name": "first name, joined with last_name when there is no full-name column",
    "last_name": "last name, joined after first_name",
    "email": "email address: the identity key (required)",
    "role": "mentor / mentee / both, in any words (not needed when each file is all one role)",
    "is_mentor": "a yes/no column 'is a mentor?' (instead of a role column)",
    "is_mentee": "a yes/no column 'is a mentee?' (instead of a role column)",
    "goals": "what a mentee wants help with (multi-select or list)",
    "expertise": "what a mentor can offer (multi-select or list)",
    "topics": "one topics column asked of both roles",
    "industry": "industry or sector",
    "organisation": "company / employer / organisation",
    "department": "team / department",
    "experience": "years of experience: 7, 5-10, 10+",
    "timezone": "time zone: IANA name, UTC/GMT offset, abbreviation or city",
    "languages": "languages the person speaks",
    "availability": "when they can meet, e.g. Weekday evenings (see [availability]); a grid question's text works too",
    "format": "meeting format: video, phone, in person, chat",
    "location": "city / country",
    "interests": "hobbies and interests outside work",
    "capacity": "how many mentees a mentor can take",
    "wants": "how many mentors a mentee wants",
    "request": "free text naming people they would like to be paired with",
    "avoid": "free text naming people they must not be paired with",
    "choices": "one column of ranked choices (names or emails, in rank order); or choice_1, choice_2 ...",
    "consent": "consent to share their details (rows without it are left out)",
    "timestamp": "when the form was submitted (the latest signup of an email stands)",
    "facilitate": "volunteers to facilitate a peer circle: yes / no (a volunteer facilitates; no: never)",
}
"""Every field ``[columns]`` can map, with what it holds (``choice_1`` ... ``choice_9`` too)."""

_SECTION_NOTES = {
    "cohort": "Who runs the programme: email senders, calendar organisers, report titles.",
    "columns": ("Which header of the signup file holds each field: the exact header text, or a grid\n"
                "question's text. Fields left out are detected from the headers (see `mentor check`);\n"
                'an empty "" switches detection of a field off.'),
    "signups": "Defaults for answers the form did not ask for, and limits.",
    "weights": "Relative weight of each criterion in the 0-100 pair score (normalised to sum 1).",
    "rules": "Hard rules: a pair that breaks one is never made.",
    "match": "How the exact solver works.",
    "networks": ("Mentees who want two or more mentors: mentors chosen to cover their goals together\n"
                 "(points of the 0-100 pair score; see README, Developmental networks)."),
    "availability": ("Availability answers -> weekly windows of local time (\"Mon-Fri 18:00-21:00\").\n"
                     "Answers are compared in lower case; add the exact options of your form."),
    "schedule": "Check-ins (`mentor schedule`): monthly unless `cadence` says otherwise.",
    "events": "Cohort-wide events in every calendar (kick-off, midpoint, close).",
    "report": "Progress reports (`mentor report`).",
    "checkins": "A check-in form export to read as check-in logs: [checkins.columns] field = \"header\".",
    "circles": "Circles (`mentor match --circles N` or `--peer-circles N`).",
    "nudge": ("Reminders (`mentor nudge`): contact both people twice in the first month (the introduction,\n"
              "then a reminder if they have not met), monthly after; then the coordinator calls."),
    "surveys": ("Survey form exports (`mentor report --surveys`): question sets from `mentor survey questions`;\n"
                "headers are detected, [surveys.columns] field = \"header\" overrides."),
}
_SETTING_NOTES = {
    ("cohort", "sponsor_emails"): "who gets the sponsor summary (aggregates only)",
    ("signups", "default_capacity"): "mentees per mentor when the form did not ask",
    ("signups", "default_wants"): "mentors per mentee when the form did not ask",
    ("signups", "max_capacity"): "larger answers are cut to this, with a warning",
    ("signups", "max_wants"): "larger answers are cut to this, with a warning",
    ("rules", "forbid_same_team"): "no pair inside the same organisation + department",
    ("rules", "forbid_same_organisation"): "no pair inside the same organisation at all",
    ("rules", "require_shared_language"): "when both answered languages, they must share one",
    ("rules", "max_timezone_gap"): "hours; unset = no limit",
    ("rules", "choices_only"): "a mentee is only paired with someone they chose (ranked-choice programmes)",
    ("rules", "ideal_experience_gap"): "years a mentor ideally has beyond the mentee",
    ("match", "objective"): '"places" (most pairs, then best total) or "fair" (best lowest pair first)',
    ("match", "dense_limit"): "mentees x mentors above which only the best candidates per mentee are kept",
    ("match", "candidates"): "candidates kept per mentee past dense_limit",
    ("match", "max_participants"): "larger cohorts are refused at once (tested up to 100,000; the work grows with mentees x mentors)",
    ("networks", "goal_value"): "points for each of the mentee's goals the first of their mentors covers",
    ("networks", "repeat_goal_value"): "share of that a goal is worth from the next mentor covering it (0 to 1)",
    ("networks", "prefer_mixed_departments"): "points lost for each further mentor from the same department (0: no preference)",
    ("networks", "candidates"): "mentors per such mentee the exact model considers",
    ("networks", "solve_limit"): "exact solver's work limit (deterministic, about seconds); past it a proven bound is reported",
    ("schedule", "months"): "check-ins per pair (one a month)",
    ("schedule", "holidays"): 'country codes whose public holidays are avoided, e.g. ["GB", "US"]',
    ("schedule", "blackout"): "dates without check-ins, e.g. [2026-12-24, 2026-12-31]",
    ("schedule", "reminder_minutes"): "calendar reminder before each check-in",
    ("schedule", "weekdays"): "preferred weekdays for check-ins",
    ("schedule", "earliest"): "no check-in starts before this local time",
    ("schedule", "latest"): "no check-in ends after this local time",
    ("schedule", "local_holidays"): "also avoid each person's own public holidays (country from their time zone)",
    ("schedule", "cadence"): 'how often pairs meet: "monthly", "fortnightly", "weekly" or "quarterly"',
    ("schedule", "rsvp"): "ask invitees' calendars to reply to the coordinator (one email per person)",
    ("report", "at_risk_days"): "a pair without a check-in for this many days is at risk; unset = 1.5 periods of the cadence (45 days monthly)",
    ("report", "missed_in_row"): "... or after this many missed check-ins in a row",
    ("report", "low_rating"): "ratings at or below this are flagged",
    ("report", "min_group_size"): "sponsor figures for smaller groups are withheld",
    ("report", "group_by"): 'mentee field the sponsor summary breaks figures out by: "industry", '
                            '"organisation", "department", "location" or "" for none',
    ("nudge", "first_meeting_days"): "days after the introduction without a logged meeting before a reminder",
    ("nudge", "interval_days"): "nobody is reminded of the same thing again within this many days",
    ("nudge", "escalate_days"): "days of silence (since the last check-in held, else the introduction) "
                                "before the coordinator's digest of who needs a call",
    ("surveys", "duplicate_days"): "two answers of one person to one survey this close: the later stands",
}
_SETTING_NOTES.update({
    ("circles", "min_size"): "fewest people in a circle, the mentor or facilitator included",
    ("circles", "mix_departments"): "every member of a circle from a different department",
    ("circles", "peer_roles"): 'signed-up roles that join peer circles ("peer" answers read as "both")',
    ("circles", "pricing_rounds"): "most rounds of pricing new circles (the bound stays proven)",
    ("circles", "search_effort"): "integer search budget: x 1000 branch-and-bound nodes (a count: same input, same circles)",
})
_UNSET_EXAMPLES = {("rules", "max_timezone_gap"): "6", ("report", "at_risk_days"): "45"}


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in str(text):
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return toml_string(str(value))


def _setting_line(section: str, name: str, value: Any) -> str:
    note = _SETTING_NOTES.get((section, name))
    if value is None:
        example = _UNSET_EXAMPLES.get((section, name), '""')
        return f"# {name} = {example}" + (f"  # {note}" if note else "")
    line = f"{_toml_key(name)} = {_toml_value(value)}"
    return f"{line}  # {note}" if note else line


def _comment(text: str) -> list[str]:
    return [f"# {line}" if line else "#" for line in text.splitlines()]


def _table_lines(section: str, settings: Any) -> list[str]:
    lines = [f"[{section}]"] + _comment(_SECTION_NOTES.get(section, ""))
    nested = []
    for f in fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, dict):
            nested.append((f.name, value))
            continue
        lines.append(_setting_line(section, f.name, value))
    for name, table in nested:
        lines += ["", f"[{section}.{name}]"]
        if table:
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
        elif section == "surveys":
            lines += [f'# {key} = ""  # {note}' for key, note in SURVEY_COLUMN_FIELDS.items()]
        else:
            lines += [
                '# field = "Header in the form export"; fields: email (required), date, rating (1-5),',
                "# progress (goal progress), held (yes/no), partner (who they met), pair_id, timestamp,",
                "# notes (read, but never shown in any report or email)",
            ]
    return lines


def _columns_lines(columns: dict[str, str]) -> list[str]:
    lines = ["[columns]"] + _comment(_SECTION_NOTES["columns"])
    names = list(COLUMN_FIELDS) + [k for k in columns if k not in COLUMN_FIELDS]
    for name in names:
        note = COLUMN_FIELDS.get(name, "ranked choice" if name.startswith("choice_") else "")
        if name in columns:
            lines.append(f"{_toml_key(name)} = {toml_string(columns[name])}  # {note}")
        elif not name.startswith("choice_"):
            lines.append(f'# {name} = ""  # {note}')
    return lines


def _events_lines(events: list[CohortEvent]) -> list[str]:
    lines = _comment(_SECTION_NOTES["events"])
    if not events:
        return lines + ["# [[events]]", '# name = "Kick-off"', "# date = 2026-09-01", '# time = "17:00"',
                        '# timezone = "Europe/London"', "# duration_minutes = 60", '# description = ""']
    for event in events:
        lines += ["[[events]]"] + [_setting_line("events", f.name, getattr(event, f.name)) for f in fields(event)]
        lines.append("")
    return lines[:-1]


def render_config_toml(columns: dict[str, str], config: Config | None = None) -> str:
    """A fully commented ``mentor.toml``: every setting of ``Config`` with its value.

    ``columns`` fills ``[columns]`` (the mapping ``mentor init`` detected); ``config`` gives
    the values (default: every default). Loading the text back with ``load_config`` gives
    the same settings. New settings added to the dataclasses appear here by themselves.
    """
    cfg = config or Config()
    blocks: list[list[str]] = [[
        f"# mentor.toml: settings of one mentoring cohort (mentorcli {__version__}).",
        "# Every setting is listed with its default; delete a line to go back to the default.",
        "# Check what the signups give with `mentor check SIGNUPS`.",
    ]]
    for f in fields(cfg):
        if f.name == "path":
            continue
        value = getattr(cfg, f.name)
        if f.name == "columns":
            blocks.append(_columns_lines(dict(columns)))
        elif f.name == "availability":
            lines = ["[availability]"] + _comment(_SECTION_NOTES["availability"])
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()]
            blocks.append(lines)
        elif f.name == "events":
            blocks.append(_events_lines(value))
        else:
            blocks.append(_table_lines(f.name, value))
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"

"""Data shared by every stage: problems, the roster of participants, the pairing book.

Kept free of any stage's logic so that each stage depends only on these shapes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

Severity = Literal["error", "warning"]
ROLES = ("mentor", "mentee", "both")

LIST_FIELDS = ("goals", "expertise", "topics", "languages", "availability", "format", "interests", "choices")
TEXT_FIELDS = ("name", "email", "role", "industry", "organisation", "department", "location",
               "request", "avoid", "timezone", "timestamp", "facilitate")
PEOPLE_COLUMNS = (
    "name", "email", "role", "goals", "expertise", "topics", "industry", "organisation", "department",
    "experience", "timezone", "languages", "availability", "format", "location", "interests",
    "capacity", "wants", "request", "avoid", "choices", "timestamp", "facilitate",
    "source_file", "source_sheet", "source_row",
)
LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of one input file, in the coordinator's terms."""

    file: str
    sheet: str
    row: int | None
    column: str
    severity: Severity
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def location(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


@dataclass(frozen=True)
class SourceFile:
    """One input file as read: for the workbook's Settings sheet and for problem reports."""

    path: str
    sha256: str
    sheet: str = ""
    role: str | None = None
    rows: int = 0


@dataclass
class Roster:
    """The valid participants of a cohort and everything found wrong on the way."""

    people: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    sources: list[SourceFile] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        roles = self.people["role"].value_counts() if len(self.people) else {}
        return {role: int(roles.get(role, 0)) for role in ROLES}

    @property
    def mentees(self) -> pd.DataFrame:
        return self.people[self.people["role"].isin(("mentee", "both"))]

    @property
    def mentors(self) -> pd.DataFrame:
        return self.people[self.people["role"].isin(("mentor", "both"))]


MemberRole = Literal["mentor", "mentee", "facilitator", "peer"]
LEAD_ROLES: tuple[MemberRole, ...] = ("mentor", "facilitator")
"""Who leads a relationship: listed first, the organiser of its meetings."""


@dataclass(frozen=True)
class Member:
    """One person in a relationship: identity key, display name and the part they take."""

    email: str
    name: str
    role: MemberRole


@dataclass(frozen=True)
class Relationship:
    """The unit every stage after ``match`` takes: the people who meet, with why they were put together.

    A pair (one mentor, one mentee) is the smallest case; a mentor with several mentees, or a
    circle of peers with a facilitator, is the same shape with more members. Nothing after
    ``match`` needs to know how many people a relationship holds. ``members`` lists the leads
    (mentor, facilitator) first, then the others in the order the workbook lists them.
    """

    id: str
    members: tuple[Member, ...]
    score: float = float("nan")
    why: str = ""
    row: int | None = None

    @property
    def leads(self) -> tuple[Member, ...]:
        return tuple(member for member in self.members if member.role in LEAD_ROLES)

    @property
    def others(self) -> tuple[Member, ...]:
        return tuple(member for member in self.members if member.role not in LEAD_ROLES)

    @property
    def emails(self) -> tuple[str, ...]:
        return tuple(member.email for member in self.members)

    def with_role(self, role: MemberRole) -> tuple[Member, ...]:
        return tuple(member for member in self.members if member.role == role)

    def includes(self, email: str) -> bool:
        return email in self.emails


def relationships_from_pairs(pairs: pd.DataFrame) -> list[Relationship]:
    """The workbook's Pairs rows as relationships, in row order; rows sharing a pair id are one.

    A pair id listed on several rows (one mentor, a mentee on each row) is one relationship whose
    score is the lowest of its rows and whose Why joins theirs. A circles workbook's frame (see
    ``CIRCLE_COLUMNS``) names each side's role in ``mentor_role``/``mentee_role``.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in pairs.to_dict("records"):
        grouped.setdefault(str(record["pair_id"]), []).append(record)
    return [_relationship_of(pair_id, rows) for pair_id, rows in grouped.items()]


def _relationship_of(pair_id: str, rows: list[dict[str, Any]]) -> Relationship:
    leads: dict[str, Member] = {}
    others: dict[str, Member] = {}
    for row in rows:
        leads.setdefault(row["mentor_email"], Member(row["mentor_email"], row["mentor"], row.get("mentor_role") or "mentor"))
        others.setdefault(row["mentee_email"], Member(row["mentee_email"], row["mentee"], row.get("mentee_role") or "mentee"))
    scores = [float(row["score"]) for row in rows if "score" in row]
    whys = [str(row["why"]) for row in rows if row.get("why")]
    first_row = rows[0].get("lead_row", rows[0].get("row"))   # a circle's lead row comes first
    return Relationship(id=pair_id, members=(*leads.values(), *others.values()),
                        score=min(scores) if scores else float("nan"), why=" ".join(whys),
                        row=None if first_row is None or pd.isna(first_row) else int(first_row))


@dataclass(frozen=True)
class Ending:
    """A relationship the coordinator ended (``mentor end``, or a Status cell): when, and why.

    The workbook's Ended sheet keeps it for good: nudges, schedules and the progress report leave
    it out from ``ended_on``; the rematch never puts its members together again; the final report
    lists its reason. ``relationship`` is the relationship as it stood when it ended.
    """

    relationship: Relationship
    ended_on: dt.date
    reason: str
    row: int | None = None


CIRCLE_COLUMNS = ("mentor_role", "mentee_role", "lead_row")
"""Extra ``PairingBook.pairs`` columns of a workbook with a Circles sheet. Its ``pairs`` frame is
the circles' pair view: one row per member (Role "member"), its circle id as ``pair_id``, the
member on the mentee side, the circle's lead (mentor or facilitator) on the mentor side;
``mentor_role`` is the lead's role, ``mentee_role`` the member's ("mentee" under a mentor, "peer"
under a facilitator), ``row`` the member's Circles row and ``lead_row`` the lead's. ``why`` holds
the circle's Why on its first row only, so ``relationships_from_pairs`` gives each circle once
with its roles, whatever subset of whole circles a stage slices out."""


@dataclass
class PairingBook:
    """A pairing workbook read back: what every command after ``match`` works from.

    ``pairs`` columns: pair_id, mentee_email, mentor_email, mentee, mentor, score, why, row: the
    workbook's rows as written. Stages take ``relationships()``, the unit built from those rows.
    ``people`` has ``PEOPLE_COLUMNS``. ``problems`` lists what no longer holds after edits.
    """

    path: Path
    pairs: pd.DataFrame
    people: pd.DataFrame
    settings: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ended: list[Ending] = field(default_factory=list)
    """Relationships ended before now (the Ended sheet); not among ``relationships()``."""

    @property
    def circles(self) -> bool:
        """Read from a Circles sheet: ``pairs`` is the circles' pair view (``CIRCLE_COLUMNS``)."""
        return "mentee_role" in self.pairs.columns

    def relationships(self) -> list[Relationship]:
        """Every relationship of the workbook, in workbook order (see ``relationships_from_pairs``)."""
        return relationships_from_pairs(self.pairs)

    def person(self, email: str) -> pd.Series:
        """The People row of ``email`` (identity key, case-insensitive)."""
        matches = self.people[self.people["email"] == email.strip().lower()]
        if matches.empty:
            raise KeyError(email)
        return matches.iloc[0]


def _default_for(column: str) -> Any:
    if column in LIST_FIELDS:
        return ()
    if column == "experience":
        return math.nan
    if column in ("capacity", "wants", "source_row"):
        return 0
    return ""


def as_tuple(value: Any) -> tuple[str, ...]:
    """A list field from whatever a caller or a workbook cell holds."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(LIST_SEPARATOR.strip()) if part.strip())
    return tuple(str(v).strip() for v in value if str(v).strip())


def join_list(values: Iterable[str]) -> str:
    """How a list field is written to a workbook cell (read back by ``as_tuple``)."""
    return LIST_SEPARATOR.join(values)


def first_ids(ids: Sequence[str], shown: int = 10) -> str:
    """Ids for a message: the first ``shown``, then "and N more" (pair ids, never names)."""
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(str(i) for i in ids[:shown]) + more


def make_people(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A People frame from plain dicts, every missing field at its blank default.

    For Python callers and tests that build a cohort without a signup file. Emails are
    normalised to the identity key; capacity/wants default by role.
    """
    rows = []
    for record in records:
        unknown = set(record) - set(PEOPLE_COLUMNS)
        if unknown:
            raise ValueError(f"unknown People fields: {sorted(unknown)}")
        row = {column: record.get(column, _default_for(column)) for column in PEOPLE_COLUMNS}
        for column in LIST_FIELDS:
            row[column] = as_tuple(row[column])
        row["email"] = str(row["email"]).strip().lower()
        row["experience"] = math.nan if row["experience"] in ("", None) else float(row["experience"])
        if "capacity" not in record:
            row["capacity"] = 2 if row["role"] in ("mentor", "both") else 0
        if "wants" not in record:
            row["wants"] = 1 if row["role"] in ("mentee", "both") else 0
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(PEOPLE_COLUMNS))
    for column in LIST_FIELDS:
        frame[column] = frame[column].astype(object)
    frame["capacity"] = frame["capacity"].astype(int)
    frame["wants"] = frame["wants"].astype(int)
    frame["source_row"] = frame["source_row"].astype(int)
    frame["experience"] = frame["experience"].astype(float)
    return frame.reset_index(drop=True)


@dataclass
class MatchResult:
    """The pairing the solver chose, with its reasons; input of the pairing workbook.

    ``pairs`` columns: pair_id (str), mentee, mentor (People index), score (0-100 float),
    one ``c_<criterion>`` column per criterion (0-1, NaN when not counted), requested (bool),
    kept (bool), why (str). ``unmatched`` columns: person (People index), role
    ("mentee"/"mentor"), reason. ``mentors`` columns: person, capacity, assigned.
    """

    pairs: pd.DataFrame
    unmatched: pd.DataFrame
    mentors: pd.DataFrame
    objective: str = "places"
    total_score: float = 0.0
    min_score: float = 0.0
    mean_score: float = 0.0
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    kept_problems: list[tuple[str, str, str, str]] = field(default_factory=list)
    """Kept pairs (``match_people(keep=...)``) that no longer hold: (pair_id, workbook column,
    severity, problem); ``pipeline.match`` puts them on the kept workbook's Pairs rows."""
    problems: list[Problem] = field(default_factory=list)
    """Warnings on a signup's own row (e.g. a time zone the matcher assumed), for the Problems sheet."""


@dataclass
class CircleMatch:
    """Circles the solver formed (``mentor match --circles N`` / ``--peer-circles N``): input of
    the workbook's Circles sheet, as ``MatchResult`` is of the Pairs sheet.

    ``kind``: "mentor-led" (one mentor, members role "mentee") or "peer" (a facilitator, then
    members role "peer"). ``circles``: one ``Relationship`` per circle, ids ``C001``..., leads
    first; ``score`` 0-100; ``why`` names the goal they share, their common weekly window and, per
    member, what they bring. ``unmatched`` columns: person (People index), role, reason: everyone
    left out, with the reason. ``objective`` is the total the solver reached and ``bound`` a proven
    upper bound on it; ``status`` says "optimal" or "within X% of the best possible" for the
    Settings sheet and the summary.
    """

    kind: Literal["mentor-led", "peer"]
    circles: list[Relationship]
    unmatched: pd.DataFrame
    objective: float
    bound: float
    status: str
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


SurveyKind = Literal["pulse", "midpoint", "closing"]


@dataclass(frozen=True)
class SurveyAnswer:
    """One person's answers to one survey round, read from a form export (``surveys.py``).

    Scales: ``quality`` (how the relationship is going) 1-5, ``recommend`` (would recommend the
    programme) 0-10, ``goal_progress`` 1-5 (the check-in log's scale); ``None`` where the person
    did not answer. ``comments`` is free text: private like a check-in note (the coordinator's
    per-relationship view only, never a sponsor's or another participant's).
    """

    kind: SurveyKind
    email: str
    relationship_id: str | None
    submitted: dt.date | None
    quality: float | None
    recommend: float | None
    goal_progress: float | None
    comments: str
    file: str
    row: int

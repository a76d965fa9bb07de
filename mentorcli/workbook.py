"""The pairing workbook (``pairs.xlsx``): written by ``mentor match``, read back by every later command.

The workbook is the coordinator's working copy of the cohort: they review it, edit it (delete
a row, swap a mentor) and share it. So writing must be safe (no cell is ever a formula,
whatever a signup contained; atomic; never over a file without ``--force``; the same bytes
for the same input), and reading must be tolerant (re-ordered or extra columns, deleted rows,
a file saved by LibreOffice) and honest: everything that no longer holds after an edit is
reported as a ``Problem`` naming the sheet, row and column, never silently repaired.

What the People sheet keeps, and why (data minimisation): the fields later commands need
(role, contact, time zone, availability, languages, format, goals and what the scores were
built from), plus ``Avoid`` and ``Choices`` because they feed rules (avoid, ``choices_only``)
that must be re-checked after a hand edit. The free-text ``request`` is left out: it only ever
gave a bonus, which the Pairs sheet's ``Requested`` column already records. Signup timestamps,
the signup file/row of each person (the Settings sheet names the input files) and unmapped
columns are left out too; read back, a person's source is their row of the People sheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from mentorcli import __version__, ending, match
from mentorcli.bulk import gc_paused
from mentorcli.config import CRITERIA, Config
from mentorcli.errors import MentorError
from mentorcli.files import atomic_path, atomic_write_bytes, neutralise_formula
from mentorcli.matching.rules import RULE_BY_NAME
from mentorcli.model import (
    CIRCLE_COLUMNS,
    LIST_FIELDS,
    LIST_SEPARATOR,
    PEOPLE_COLUMNS,
    CircleMatch,
    Ending,
    MatchResult,
    PairingBook,
    Problem,
    Roster,
    as_tuple,
    join_list,
    make_people,
)
from mentorcli.untrusted import without_controls
from mentorcli.xlsx import NUMBER, WRAP, Column, TableSheet, write_table_workbook

PAIRS, UNMATCHED, MENTORS, PROBLEMS, PEOPLE, SETTINGS = (
    "Pairs", "Unmatched", "Mentors", "Problems", "People", "Settings",
)
SHEETS = (PAIRS, UNMATCHED, MENTORS, PROBLEMS, PEOPLE, SETTINGS)
"""Sheet order as SPEC lists it."""

CRITERION_HEADERS = {name: name.title() for name in CRITERIA}
SETTINGS_HEADERS = ("Setting", "Value")

PEOPLE_SHEET_FIELDS: tuple[tuple[str, str], ...] = (
    ("Name", "name"), ("Email", "email"), ("Role", "role"), ("Goals", "goals"),
    ("Expertise", "expertise"), ("Topics", "topics"), ("Industry", "industry"),
    ("Organisation", "organisation"), ("Department", "department"), ("Experience", "experience"),
    ("Time Zone", "timezone"), ("Languages", "languages"), ("Availability", "availability"),
    ("Format", "format"), ("Location", "location"), ("Interests", "interests"),
    ("Capacity", "capacity"), ("Wants", "wants"), ("Avoid", "avoid"), ("Choices", "choices"),
)
PEOPLE_REQUIRED = ("Name", "Email", "Role")
EARLIER_COHORTS = "Earlier Cohorts"
"""People column written only with ``mentor match --history``; read back by nothing (a note for the coordinator)."""
PAIRS_REQUIRED = ("Pair ID", "Mentee Email", "Mentor Email")
NUMBER_FIELDS = {"experience", "capacity", "wants"}

WRAPPED_HEADERS = {"Why", "Reason", "Problem", "Value"}
MAX_WIDTH = 50
WRAP_WIDTH = 60
FIXED_CREATED = dt.datetime(2000, 1, 1)
"""Document date when no signup carries a timestamp: a constant keeps the bytes reproducible."""

HEADER_FORMAT = {"bold": True, "bg_color": "#DDEBF7", "border": 1}


# --------------------------------------------------------------------------- writing


def _plain_list(values: Iterable[Any]) -> list[Any]:
    """Python values: iterating a pandas string column element by element is slow."""
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy(dtype=object).tolist()
    if isinstance(values, np.ndarray):
        return values.tolist()
    return list(values)


def _numeric_array(values: Iterable[Any]) -> np.ndarray | None:
    """``values`` as a float array when they already are a plain numeric numpy/pandas column."""
    if isinstance(values, (pd.Series, pd.Index, np.ndarray)) and isinstance(values.dtype, np.dtype) \
            and values.dtype.kind in "biuf":
        return np.asarray(values, dtype=float)
    return None


def _text_of(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (tuple, list)):
        return join_list(str(v) for v in value)
    return str(value)


def _text_values(values: Iterable[Any]) -> list[str]:
    """Cell text for any People/result value: lists joined, NaN and None blank."""
    plain = _plain_list(values)
    join = LIST_SEPARATOR.join
    try:
        # list fields hold tuples of text: joined in C, the general path only for anything else
        return [v if type(v) is str else join(v) if type(v) is tuple else _text_of(v) for v in plain]
    except TypeError:  # a tuple holding something other than text
        return [v if type(v) is str else _text_of(v) for v in plain]


def _number_values(series: Iterable[Any]) -> list[float | None]:
    array = _numeric_array(series)
    if array is not None:
        out: list[float | None] = array.tolist()
        for position in np.flatnonzero(np.isnan(array)).tolist():
            out[position] = None
        return out
    out = []
    for value in _plain_list(series):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        out.append(None if math.isnan(number) else number)
    return out


def _yes_blank(series: Iterable[Any]) -> list[str]:
    """"Yes" or an empty cell: the few Yes rows stand out, and a filter on them is one click."""
    if isinstance(series, (pd.Series, np.ndarray)) and series.dtype == bool:
        return ["Yes" if v else "" for v in series.tolist()]
    return ["Yes" if bool(v) and not (isinstance(v, float) and math.isnan(v)) else "" for v in _plain_list(series)]


def _people_lookup(people: pd.DataFrame, index: pd.Series, column: str) -> list[Any]:
    """``people[column]`` at the People index labels in ``index`` (vectorised)."""
    positions = people.index.get_indexer(pd.Index(index.to_numpy()))
    if (positions < 0).any():
        bad = int(index.to_numpy()[positions < 0][0])
        raise MentorError(f"the match result names person {bad}, who is not in the roster")
    return people[column].to_numpy()[positions].tolist()


def _criterion_columns(pairs: pd.DataFrame) -> list[str]:
    """``c_<criterion>`` columns in the configured criterion order, then any others by name."""
    present = [c for c in pairs.columns if c.startswith("c_")]
    known = [f"c_{name}" for name in CRITERIA if f"c_{name}" in present]
    return known + sorted(c for c in present if c not in known)


def pairs_columns(roster: Roster, result: MatchResult) -> list[Column]:
    """The Pairs sheet, as columns (shared by the XLSX and the CSV writer)."""
    people, pairs = roster.people, result.pairs
    columns = [
        Column("Pair ID", _text_values(pairs["pair_id"])),
        Column("Mentee", _text_values(_people_lookup(people, pairs["mentee"], "name"))),
        Column("Mentee Email", _text_values(_people_lookup(people, pairs["mentee"], "email"))),
        Column("Mentor", _text_values(_people_lookup(people, pairs["mentor"], "name"))),
        Column("Mentor Email", _text_values(_people_lookup(people, pairs["mentor"], "email"))),
        Column("Score", _number_values(pairs["score"]), NUMBER, "0.0"),
        Column("Why", _text_values(pairs["why"]) if "why" in pairs else [""] * len(pairs)),
    ]
    for name in _criterion_columns(pairs):
        header = CRITERION_HEADERS.get(name[2:], name[2:].replace("_", " ").title())
        columns.append(Column(header, _number_values(np.round(pairs[name].to_numpy(dtype=float) * 100, 1)), NUMBER, "0"))
    for flag, header in (("requested", "Requested"), ("kept", "Kept")):
        columns.append(Column(header, _yes_blank(pairs[flag]) if flag in pairs else [""] * len(pairs)))
    return columns


def unmatched_columns(roster: Roster, result: MatchResult) -> list[Column]:
    people, unmatched = roster.people, result.unmatched
    return [
        Column("Name", _text_values(_people_lookup(people, unmatched["person"], "name"))),
        Column("Email", _text_values(_people_lookup(people, unmatched["person"], "email"))),
        Column("Role", _text_values(unmatched["role"])),
        Column("Reason", _text_values(unmatched["reason"])),
    ]


def mentors_columns(roster: Roster, result: MatchResult) -> list[Column]:
    people, mentors = roster.people, result.mentors
    capacity = mentors["capacity"].astype(int)
    assigned = mentors["assigned"].astype(int)
    return [
        Column("Mentor", _text_values(_people_lookup(people, mentors["person"], "name"))),
        Column("Mentor Email", _text_values(_people_lookup(people, mentors["person"], "email"))),
        Column("Capacity", _number_values(capacity), NUMBER, "0"),
        Column("Assigned", _number_values(assigned), NUMBER, "0"),
        Column("Free", _number_values(capacity - assigned), NUMBER, "0"),
    ]


def people_columns(people: pd.DataFrame, earlier_cohorts: Sequence[str] | None = None) -> list[Column]:
    """The People sheet. Capacity is left blank for pure mentees and Wants for pure mentors:
    a number there would mean nothing, and a reader takes blank as 0. ``earlier_cohorts``
    (``--history``): one cell per person, what they did in earlier cohorts (blank: new), as the
    last column; without it the sheet is as it always was."""
    roles = people["role"].to_numpy(dtype=object)
    meaningful = {"capacity": roles != "mentee", "wants": roles != "mentor"}
    columns = []
    for header, name in PEOPLE_SHEET_FIELDS:
        if name in NUMBER_FIELDS:
            values = _number_values(people[name])
            if name in meaningful:
                values = [v if keep else None for v, keep in zip(values, meaningful[name].tolist())]
            columns.append(Column(header, values, NUMBER, None if name == "experience" else "0"))
        else:
            columns.append(Column(header, _text_values(people[name])))
    if earlier_cohorts is not None:
        columns.append(Column(EARLIER_COHORTS, list(earlier_cohorts)))
    return columns


def match_problems(result: MatchResult) -> list[Problem]:
    """The matcher's notes as problem rows, so the coordinator sees them beside the signup problems."""
    return [*result.problems, *(Problem("mentor match", "", None, "", "warning", note) for note in result.notes)]


def problems_columns(problems: Sequence[Problem]) -> list[Column]:
    return [
        Column("File", [p.file for p in problems]),
        Column("Sheet", [p.sheet for p in problems]),
        Column("Row", [p.row for p in problems], NUMBER, "0"),
        Column("Column", [p.column for p in problems]),
        Column("Severity", [p.severity for p in problems]),
        Column("Problem", [p.problem for p in problems]),
    ]


def ended_columns(ended: Sequence[Ending]) -> list[Column]:
    """The Ended sheet (``ending.ENDED_HEADERS``): one row per member of each ended relationship."""
    rows = ending.ended_rows(ended)
    return [Column(header, [row[k] for row in rows]) for k, header in enumerate(ending.ENDED_HEADERS)]


def _setting_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return str(value)


def source_rows(roster: Roster) -> list[tuple[str, Any]]:
    """The Settings rows naming each input file (path, sha256, sheet, role, rows): pairs and circles alike."""
    rows: list[tuple[str, Any]] = []
    for number, source in enumerate(roster.sources, 1):
        rows += [
            (f"input {number}", source.path),
            (f"input {number} sha256", source.sha256),
            (f"input {number} sheet", source.sheet),
            (f"input {number} role", source.role or ""),
            (f"input {number} rows", source.rows),
        ]
    return rows


def settings_rows(roster: Roster, result: MatchResult, config: Config) -> list[tuple[str, str]]:
    """What produced this workbook: enough to reproduce it, and to tell two runs apart."""
    rows: list[tuple[str, Any]] = [("tool", f"mentorcli {__version__}"), ("objective", result.objective)]
    rows += source_rows(roster)
    rows += list(config.as_settings().items())
    rows += [(key if "." in key else f"solver.{key}", value) for key, value in sorted(result.settings.items())]
    rows += [
        ("result.pairs", len(result.pairs)),
        ("result.total_score", round(float(result.total_score), 4)),
        ("result.min_score", round(float(result.min_score), 4)),
        ("result.mean_score", round(float(result.mean_score), 4)),
    ]
    return [(key, _setting_text(value)) for key, value in rows]


def settings_columns(rows: Sequence[tuple[str, str]]) -> list[Column]:
    return [Column("Setting", [k for k, _ in rows]), Column("Value", [v for _, v in rows])]


def created_date(people: pd.DataFrame) -> dt.datetime:
    """The workbook's creation date, taken from the input (latest signup), never the clock."""
    stamps = pd.to_datetime(people["timestamp"].replace("", None), errors="coerce", utc=True)
    latest = stamps.max() if len(stamps) else pd.NaT
    if pd.isna(latest):
        return FIXED_CREATED
    return latest.tz_convert(None).to_pydatetime().replace(microsecond=0)


def _longest_number(values: Sequence[Any]) -> int:
    """Length of the longest ``{:g}`` text among the numbers (each distinct value formatted once)."""
    present = [v for v in values if v is not None]
    distinct = set(present)
    longest = max((len(f"{v:g}") for v in distinct), default=0)
    if longest < 2 and 0 in distinct and any(v == 0 and math.copysign(1.0, v) < 0 for v in present):
        longest = 2  # -0.0 is "-0", and a set keeps only one of 0.0 and -0.0
    return longest


def _fitted_width(column: Column) -> float:
    if column.header in WRAPPED_HEADERS:
        return WRAP_WIDTH
    if column.kind == NUMBER:
        longest = _longest_number(column.values)
    else:
        longest = max(map(len, column.values), default=0)
    return min(MAX_WIDTH, max(len(column.header), longest) + 2)


def table_sheets(sheets: dict[str, list[Column]]) -> list[TableSheet]:
    """The workbook's sheets as tables: fitted widths, each column's format on the whole column
    (a row the coordinator adds gets it), long sentences wrapped, written column by column."""
    return [
        TableSheet(name, [replace(column, width=_fitted_width(column), whole_column=True,
                                  text_format=WRAP if column.header in WRAPPED_HEADERS else None)
                          for column in sheets[name]], HEADER_FORMAT)
        for name in (*SHEETS, ending.ENDED_SHEET) if name in sheets
    ]


def write_pairing_workbook(path: str | Path, roster: Roster, result: MatchResult, config: Config, *, force: bool,
                           ended: Sequence[Ending] = (), earlier_cohorts: Sequence[str] | None = None) -> Path:
    """Write ``pairs.xlsx``: Pairs, Unmatched, Mentors, Problems, People, Settings (and Ended, the
    relationships ended before, when there are any: ``ended_columns``).

    ``earlier_cohorts`` (``--history``) adds the People sheet's "Earlier Cohorts" column.

    Refuses to replace an existing file unless ``force`` (then the old one is kept as a backup);
    the file appears only when complete. Same roster, result and config give the same bytes.
    """
    target = Path(path)
    with gc_paused():
        sheets = {
            PAIRS: pairs_columns(roster, result),
            UNMATCHED: unmatched_columns(roster, result),
            MENTORS: mentors_columns(roster, result),
            PROBLEMS: problems_columns([*roster.problems, *match_problems(result)]),
            PEOPLE: people_columns(roster.people, earlier_cohorts),
            SETTINGS: settings_columns(settings_rows(roster, result, config)),
        }
        if ended:
            sheets[ending.ENDED_SHEET] = ended_columns(ended)
        with atomic_path(target, force=force) as tmp:
            write_table_workbook(tmp, table_sheets(sheets), {
                "title": f"{config.cohort.name}: pairs",
                "author": config.cohort.coordinator_name,
                "comments": f"Written by mentorcli {__version__}",
                "created": created_date(roster.people),
            })
    return target


def write_pairs_csv(path: str | Path, roster: Roster, result: MatchResult, *, force: bool) -> Path:
    """The Pairs sheet as CSV (UTF-8 with BOM so Excel reads accents), formula leaders neutralised."""
    columns = pairs_columns(roster, result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header for column in columns])
    for row in zip(*(column.values for column in columns)):
        writer.writerow(["" if value is None else neutralise_formula(_csv_value(value)) for value in row])
    return atomic_write_bytes(path, ("\ufeff" + buffer.getvalue()).encode("utf-8"), force=force)


def _csv_value(value: Any) -> Any:
    """Numbers as a person would type them (two decimals at most), text unchanged."""
    if isinstance(value, float):
        value = round(value, 2)
        return int(value) if value.is_integer() else value
    return value


# --------------------------------------------------------------------------- circles (--circles / --peer-circles)

CIRCLES = "Circles"
CIRCLE_SHEETS = (CIRCLES, UNMATCHED, PROBLEMS, PEOPLE, SETTINGS)
"""Sheet order of a circles workbook: no Pairs or Mentors sheet (a mentor's circles are on Circles)."""
CIRCLE_ROLE_WORDS = {"mentor": "mentor", "facilitator": "facilitator", "mentee": "member", "peer": "member"}
"""The Role column's words: the lead's role, and "member" for everyone else."""


def circles_columns(circle_match: CircleMatch) -> list[Column]:
    """The Circles sheet: one row per member, each circle's lead first; Score is the circle's."""
    rows = [(circle.id, member, circle.score, circle.why) for circle in circle_match.circles for member in circle.members]
    return [
        Column("Circle ID", [r[0] for r in rows]),
        Column("Name", _text_values(r[1].name for r in rows)),
        Column("Email", _text_values(r[1].email for r in rows)),
        Column("Role", [CIRCLE_ROLE_WORDS[r[1].role] for r in rows]),
        Column("Score", _number_values(r[2] for r in rows), NUMBER, "0.0"),
        Column("Why", _text_values(r[3] for r in rows)),
    ]


def circle_unmatched_columns(roster: Roster, circle_match: CircleMatch) -> list[Column]:
    """The Unmatched sheet of a circles workbook: the pairs workbook's columns, everyone left out."""
    people, unmatched = roster.people, circle_match.unmatched
    return [
        Column("Name", _text_values(_people_lookup(people, unmatched["person"], "name"))),
        Column("Email", _text_values(_people_lookup(people, unmatched["person"], "email"))),
        Column("Role", _text_values(unmatched["role"])),
        Column("Reason", _text_values(unmatched["reason"])),
    ]


def circle_problems(circle_match: CircleMatch) -> list[Problem]:
    """The circle solver's notes as problem rows, as ``match_problems`` does for pairs."""
    return [*circle_match.problems, *(Problem("mentor match", "", None, "", "warning", note) for note in circle_match.notes)]


def circle_settings_rows(roster: Roster, circle_match: CircleMatch, config: Config) -> list[tuple[str, str]]:
    """What produced this workbook, with the kind and size of circle, the solution's status and its bound."""
    settings = circle_match.settings
    rows: list[tuple[str, Any]] = [
        ("tool", f"mentorcli {__version__}"),
        ("Circles", circle_match.kind),
        ("Circle size", settings.get("size", "")),
        ("Solution", circle_match.status),
        ("Bound", int(circle_match.bound)),
    ]
    rows += source_rows(roster)
    rows += list(config.as_settings().items())
    rows += [(f"circles.{f.name}", getattr(config.circles, f.name)) for f in fields(config.circles)]
    rows += [(f"solver.{key}", value) for key, value in sorted(settings.items())]
    rows += [("result.circles", len(circle_match.circles)), ("result.objective", int(circle_match.objective))]
    return [(key, _setting_text(value)) for key, value in rows]


def write_circles_workbook(path: str | Path, roster: Roster, circle_match: CircleMatch, config: Config, *,
                           force: bool, earlier_cohorts: Sequence[str] | None = None, ended: Sequence[Ending] = ()) -> Path:
    """Write the circles workbook: Circles, Unmatched, Problems, People, Settings (People with the
    Earlier Cohorts column when ``earlier_cohorts`` is given: ``match --history``; and Ended, the
    circles ended before, when ``match --keep`` carries them over: ``ended_columns``).

    Written like ``write_pairing_workbook`` (refuses to replace without ``force``, atomic, same
    input same bytes); the Settings sheet says "optimal" or "within X% of the best possible".
    """
    target = Path(path)
    sheets = {
        CIRCLES: circles_columns(circle_match),
        UNMATCHED: circle_unmatched_columns(roster, circle_match),
        PROBLEMS: problems_columns([*roster.problems, *circle_problems(circle_match)]),
        PEOPLE: people_columns(roster.people, earlier_cohorts),
        SETTINGS: settings_columns(circle_settings_rows(roster, circle_match, config)),
    }
    if ended:
        sheets[ending.ENDED_SHEET] = ended_columns(ended)
    tables = [TableSheet(name, [replace(column, width=_fitted_width(column), whole_column=True,
                                        text_format=WRAP if column.header in WRAPPED_HEADERS else None)
                                for column in sheets[name]], HEADER_FORMAT)
              for name in sheets]
    with atomic_path(target, force=force) as tmp:
        write_table_workbook(tmp, tables, {
            "title": f"{config.cohort.name}: circles",
            "author": config.cohort.coordinator_name,
            "comments": f"Written by mentorcli {__version__}",
            "created": created_date(roster.people),
        })
    return target


# --------------------------------------------------------------------------- reading


def _header_key(text: Any) -> str:
    """Headers compared loosely: case, spaces, ``_``/``-`` and stray punctuation do not matter."""
    return re.sub(r"[^a-z0-9]+", " ", str(text or "").lower()).strip()


def _cell_text(value: Any) -> str:
    """A cell as text whatever type the spreadsheet program stored it as (no control characters:
    a hand-edited cell reaches calendars, emails and the terminal)."""
    if type(value) is str:
        return without_controls(value).strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return without_controls(str(value)).strip()


def _cell_number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(",", ".")
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or (type(value) is str and not value.strip())


def _is_blank_row(row: Sequence[Any]) -> bool:
    for value in row:  # the first cell of a used row is nearly always filled: one step
        if not _is_blank(value):
            return False
    return True


def _map_distinct(function: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """``[function(v) for v in values]``, calling ``function`` once per distinct value."""
    memo = {value: function(value) for value in dict.fromkeys(values)}
    return list(map(memo.__getitem__, values))


@dataclass
class SheetTable:
    """A sheet read back: its data rows (blank rows skipped) with their spreadsheet row numbers.

    Columns are looked up by header, compared loosely, so a coordinator may re-order columns
    or add their own.
    """

    name: str
    positions: dict[str, int]  # loose header key -> column position
    row_numbers: list[int] = field(default_factory=list)
    grid: list[list[Any]] = field(default_factory=list)
    _columns: list[tuple[Any, ...]] | None = field(default=None, repr=False, compare=False)

    def has(self, header: str) -> bool:
        return _header_key(header) in self.positions

    def column(self, header: str) -> Sequence[Any]:
        """The raw cells under ``header``, one per data row (None when the column is absent)."""
        position = self.positions.get(_header_key(header))
        if self._columns is None:  # the grid transposed once, in C, rows padded with None
            width = max(map(len, self.grid), default=0)
            rows = [row if len(row) == width else [*row, *[None] * (width - len(row))] for row in self.grid]
            self._columns = list(zip(*rows))
        if position is None or position >= len(self._columns):
            return [None] * len(self.grid)
        return self._columns[position]

    def texts(self, header: str) -> list[str]:
        return [without_controls(v).strip() if type(v) is str else _cell_text(v) for v in self.column(header)]

    def numbers(self, header: str) -> list[float]:
        return [v if type(v) is float else _cell_number(v) for v in self.column(header)]


def _open_workbook(path: Path) -> CalamineWorkbook:
    if not path.is_file():
        raise MentorError("pairing workbook not found", path=path, hint="Run `mentor match` first, or check the path.")
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".ods", ".xls"):
        raise MentorError(
            "is not a pairing workbook",
            path=path,
            hint="Name the .xlsx that `mentor match` wrote (a pairs .csv has no People or Settings sheet).",
        )
    try:
        return CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise MentorError(
            f"cannot be read as a spreadsheet ({type(exc).__name__})",
            path=path,
            hint="Save it again as .xlsx from your spreadsheet program.",
        ) from None


def _sheet_names(workbook: Any) -> dict[str, str]:
    return {_header_key(name): name for name in workbook.sheet_names}


def _grid(workbook: Any, path: Path, sheet: str) -> list[list[Any]]:
    try:
        return workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except (CalamineError, ValueError) as exc:  # a damaged sheet part inside an otherwise valid zip
        raise MentorError(f"sheet {sheet!r} cannot be read ({type(exc).__name__})", path=path,
                          hint="Save it again as .xlsx from your spreadsheet program.") from None


def _read_sheet(workbook: Any, path: Path, name: str, required: Sequence[str]) -> SheetTable:
    """Rows of sheet ``name`` below its header (its first non-blank row), row numbers kept."""
    actual = _sheet_names(workbook).get(_header_key(name))
    if actual is None:
        raise MentorError(
            f"has no sheet {name!r}",
            path=path,
            hint="Use the workbook written by `mentor match` (sheets may be reordered, not renamed or deleted).",
        )
    grid = _grid(workbook, path, actual)
    header_index = next((i for i, row in enumerate(grid) if not all(_is_blank(v) for v in row)), None)
    positions: dict[str, int] = {}
    if header_index is not None:
        for position, value in enumerate(grid[header_index]):
            key = _header_key(value)
            if key and key not in positions:
                positions[key] = position
    missing = [h for h in required if _header_key(h) not in positions]
    if missing:
        raise MentorError(
            f"sheet {name!r} has no column {missing[0]!r}",
            path=path,
            hint="Put the column back (its header in the first row) or write the workbook again with `mentor match`.",
        )
    table = SheetTable(actual, positions)
    for i in range((header_index or 0) + 1, len(grid)):
        row = grid[i]
        if not _is_blank_row(row):
            table.row_numbers.append(i + 1)
            table.grid.append(row)
    return table


def _people_frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """A People frame with the model's column types, built column-wise (large cohorts)."""
    frame = pd.DataFrame({name: columns[name] for name in PEOPLE_COLUMNS}, columns=list(PEOPLE_COLUMNS))
    if frame.empty:
        return make_people([])
    for name in LIST_FIELDS:
        frame[name] = frame[name].astype(object)
    for name in ("capacity", "wants", "source_row"):
        frame[name] = frame[name].astype(int)
    frame["experience"] = frame["experience"].astype(float)
    return frame


def _read_people(sheet: SheetTable, path: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """People back in model types; a row that cannot be used is reported, not dropped quietly."""
    file = str(path)
    problems = [
        Problem(file, sheet.name, None, header, "warning", "column is missing; read as blank")
        for header, _ in PEOPLE_SHEET_FIELDS
        if not sheet.has(header) and header not in PEOPLE_REQUIRED
    ]
    raw: dict[str, list[Any]] = {}
    for header, name in PEOPLE_SHEET_FIELDS:
        if name in NUMBER_FIELDS:
            raw[name] = sheet.numbers(header)
        elif name in LIST_FIELDS:
            raw[name] = _map_distinct(as_tuple, sheet.texts(header))
        else:
            raw[name] = sheet.texts(header)
    raw["email"] = [e.lower() for e in raw["email"]]
    raw["role"] = [r.lower() for r in raw["role"]]
    keep: list[int] = []
    seen: dict[str, int] = {}
    for i, (row, email, role) in enumerate(zip(sheet.row_numbers, raw["email"], raw["role"])):
        if not email:
            problems.append(Problem(file, sheet.name, row, "Email", "error", "email is blank; person left out"))
        elif role not in ("mentor", "mentee", "both"):
            problems.append(Problem(file, sheet.name, row, "Role", "error",
                                    "role must be mentor, mentee or both; person left out"))
        elif email in seen:
            problems.append(Problem(file, sheet.name, row, "Email", "error",
                                    f"same email as row {seen[email]}; this row is left out"))
        else:
            seen[email] = row
            keep.append(i)
    for name in ("capacity", "wants"):
        header = name.title()
        present = sheet.has(header)
        counts = np.array([raw[name][i] for i in keep], dtype=float)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(counts) & (counts == np.floor(counts)) & (counts >= 0)
        for i in np.asarray(keep, dtype=np.int64)[~whole].tolist():
            if present and _needs_count(raw["role"][i], name):
                problems.append(Problem(file, sheet.name, sheet.row_numbers[i], header, "warning",
                                        f"{name} is not a whole number; read as 0"))
            raw[name][i] = 0
    columns = {name: [values[i] for i in keep] for name, values in raw.items()}
    columns.update({name: [""] * len(keep) for name in PEOPLE_COLUMNS if name not in columns})
    # from here on a person is found where the coordinator now edits them: the People sheet
    columns["source_file"] = [file] * len(keep)
    columns["source_sheet"] = [sheet.name] * len(keep)
    columns["source_row"] = [sheet.row_numbers[i] for i in keep]
    return _people_frame(columns), problems


def _needs_count(role: str, name: str) -> bool:
    return (name == "capacity" and role in ("mentor", "both")) or (name == "wants" and role in ("mentee", "both"))


def _read_settings(sheet: SheetTable) -> dict[str, str]:
    return {key: value for key, value in zip(sheet.texts("Setting"), sheet.texts("Value")) if key}


def _pairs_frame(sheet: SheetTable) -> pd.DataFrame:
    """The Pairs sheet as written (names and scores as the coordinator left them), with row numbers."""
    return pd.DataFrame({
        "pair_id": sheet.texts("Pair ID"),
        "mentee_email": [e.lower() for e in sheet.texts("Mentee Email")],
        "mentor_email": [e.lower() for e in sheet.texts("Mentor Email")],
        "mentee": sheet.texts("Mentee"),
        "mentor": sheet.texts("Mentor"),
        "score": np.array(sheet.numbers("Score"), dtype=float),
        "why": sheet.texts("Why"),
        "row": np.array(sheet.row_numbers, dtype=int),
    }, columns=["pair_id", "mentee_email", "mentor_email", "mentee", "mentor", "score", "why", "row"])


def _usable_pairs(pairs: pd.DataFrame, people: pd.DataFrame, file: str, sheet: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Rows whose two emails name a mentee and a mentor in People, once each; the rest reported.

    Names are taken from People (the email is the identity key); a name that no longer matches
    its email is reported, since it usually means an email was swapped by hand.
    """
    problems: list[Problem] = []
    emails = people["email"].tolist()
    roles = dict(zip(emails, people["role"].tolist()))
    names = dict(zip(emails, people["name"].tolist()))
    usable: list[int] = []
    first_row_of_pair: dict[tuple[str, str], int] = {}
    mentee_roles, mentor_roles = ("mentee", "both"), ("mentor", "both")
    sides = (("mentee", "Mentee Email", mentee_roles), ("mentor", "Mentor Email", mentor_roles))
    columns = [pairs[f].tolist() for f in ("row", "mentee_email", "mentor_email", "mentee", "mentor")]
    for position, (row, mentee_email, mentor_email, mentee, mentor) in enumerate(zip(*columns)):
        row = int(row)
        if not (mentee_email and mentor_email and roles.get(mentee_email) in mentee_roles
                and roles.get(mentor_email) in mentor_roles):
            broken = False
            for (side, column, wanted), email in zip(sides, (mentee_email, mentor_email)):
                if not email:
                    text = f"{column} is blank; pair left out. Fill it in or delete the row"
                elif email not in roles:
                    text = f"{column} is not in the People sheet; pair left out. Fix the address or add the person to People"
                elif roles[email] not in wanted:
                    text = f"{column} names a {roles[email]} in People, not a {side}; pair left out"
                else:
                    continue
                problems.append(Problem(file, sheet, row, column, "error", text))
                broken = True
            if broken:
                continue
        key = (mentee_email, mentor_email)
        if mentee_email == mentor_email:
            problems.append(Problem(file, sheet, row, "Mentor Email", "error",
                                    "a person is paired with themselves; pair left out"))
            continue
        if key in first_row_of_pair:
            problems.append(Problem(file, sheet, row, "Mentor Email", "error",
                                    f"same pair as row {first_row_of_pair[key]}; this row is left out"))
            continue
        first_row_of_pair[key] = row
        for column, written, email in (("Mentee", mentee, mentee_email), ("Mentor", mentor, mentor_email)):
            if written and written.casefold() != str(names[email]).casefold():
                problems.append(Problem(
                    file, sheet, row, column, "warning",
                    f"{column} name does not match the People sheet for {column} Email; the People name is used"))
        usable.append(position)
    result = pairs.iloc[usable].reset_index(drop=True)
    result["mentee"] = result["mentee_email"].map(names)
    result["mentor"] = result["mentor_email"].map(names)
    return result, problems


_PAIR_ID = re.compile(r"P(\d+)")


def _assign_pair_ids(pairs: pd.DataFrame, file: str, sheet: str) -> list[Problem]:
    """Blank or repeated Pair IDs get the next free ``P###``: later commands key calendars on them."""
    problems = []
    ids = pairs["pair_id"].tolist()
    numbers = [int(m.group(1)) for pid in ids if pid and (m := _PAIR_ID.fullmatch(pid))]
    next_number = max(numbers, default=0) + 1
    width = max(3, len(str(next_number + len(ids))))
    seen: dict[str, int] = {}
    for i, (pair_id, row) in enumerate(zip(ids, pairs["row"].tolist())):
        if pair_id and pair_id not in seen:
            seen[pair_id] = row
            continue
        new_id = f"P{next_number:0{width}d}"
        next_number += 1
        why = "Pair ID is blank" if not pair_id else f"Pair ID is also used in row {seen[pair_id]}"
        problems.append(Problem(file, sheet, row, "Pair ID", "warning", f"{why}; this pair is read as {new_id}"))
        ids[i] = new_id
        seen[new_id] = row
    pairs["pair_id"] = ids
    return problems


def _capacity_problems(pairs: pd.DataFrame, people: pd.DataFrame, file: str, sheet: str) -> list[Problem]:
    """A mentor over capacity or a mentee over wants, reported once at the first row past the limit."""
    problems = []
    checks = (
        ("mentor_email", "capacity", "Mentor Email", "mentor is over capacity"),
        ("mentee_email", "wants", "Mentee Email", "mentee has more mentors than wanted"),
    )
    for key, limit_field, column, text in checks:
        limit = pairs[key].map(dict(zip(people["email"].tolist(), people[limit_field].tolist()))).astype(int)
        count = pairs.groupby(key, sort=False)[key].transform("size")
        over = pairs[count > limit]
        for email, group in over.groupby(key, sort=False):
            rows = group["row"].tolist()
            cap = int(limit.loc[group.index[0]])
            problems.append(Problem(file, sheet, int(rows[cap]), column, "warning",
                                    f"{text}: {len(rows)} pairs (rows {', '.join(map(str, rows))}), {limit_field} {cap}"))
    return problems


def _rule_problems(pairs: pd.DataFrame, people: pd.DataFrame, config: Config, file: str, sheet: str) -> list[Problem]:
    """The matcher's own rules, applied to the pairs as they now stand in the workbook."""
    if pairs.empty:
        return []
    index = pd.Series(np.arange(len(people)), index=people["email"].to_numpy())
    mentee = index.loc[pairs["mentee_email"].to_numpy()].to_numpy()
    mentor = index.loc[pairs["mentor_email"].to_numpy()].to_numpy()
    broken = match.broken_rules(people, config, mentee, mentor)
    problems = []
    for row, reasons in zip(pairs["row"].tolist(), broken):
        for reason in reasons:
            problems.append(Problem(file, sheet, int(row), "Mentor Email", "warning", f"breaks a rule: {reason}"))
    return problems


def read_pairing_workbook(path: str | Path, config: Config, *, check_rules: bool = True) -> PairingBook:
    """Read a (possibly hand-edited) pairing workbook back, and say what no longer holds.

    Columns are found by header, so re-ordered and extra columns are fine; deleted rows are
    simply absent. A pair whose email is unknown, blank, of the wrong role, a self-pair or a
    repeat is left out and reported as an error; a pair that breaks capacity, wants or a
    matching rule is kept (the coordinator may mean it) and reported as a warning.
    ``check_rules=False`` skips that last check: ``mentor match --keep`` checks capacity and the
    rules against the new signups instead of the workbook's own People sheet. A workbook with a
    Circles sheet and no Pairs rows is read by ``read_circles_book`` (the circles' pair view).
    """
    path = Path(path)
    with gc_paused():
        workbook = _open_workbook(path)
        if _is_circles_workbook(workbook, path):
            return read_circles_book(workbook, path, config, check_rules=check_rules)
        file = str(path)
        pairs_sheet = _read_sheet(workbook, path, PAIRS, PAIRS_REQUIRED)
        people_sheet = _read_sheet(workbook, path, PEOPLE, PEOPLE_REQUIRED)
        settings = _read_settings(_read_sheet(workbook, path, SETTINGS, SETTINGS_HEADERS))
        people, problems = _read_people(people_sheet, path)
        pairs, pair_problems = _usable_pairs(_pairs_frame(pairs_sheet), people, file, pairs_sheet.name)
        problems += pair_problems
        problems += _assign_pair_ids(pairs, file, pairs_sheet.name)
        pairs, ended, ended_problems = _ended_relationships(workbook, path, pairs_sheet, pairs)
        problems += ended_problems
        if check_rules:
            problems += _capacity_problems(pairs, people, file, pairs_sheet.name)
            problems += _rule_problems(pairs, people, config, file, pairs_sheet.name)
        problems.sort(key=lambda p: (p.sheet != pairs_sheet.name, p.sheet, p.row if p.row is not None else 0))
    return PairingBook(path=path, pairs=pairs, people=people, settings=settings, problems=problems, ended=ended)


def _ended_relationships(workbook: Any, path: Path, pairs_sheet: SheetTable, pairs: pd.DataFrame,
                         lead_rows: Mapping[int, int] | None = None) -> tuple[pd.DataFrame, list[Ending], list[Problem]]:
    """The relationships that ended (the Ended sheet, then the Pairs or Circles sheet's Status
    cells), and the rows still going on. Every Status or Ended row that cannot be read for sure is
    reported. ``lead_rows`` (circles: member row -> its lead's row): a member row with a blank
    Status takes its lead row's, so "Ended" on the lead row alone ends the whole circle."""
    file = str(path)
    ended: list[Ending] = []
    problems: list[Problem] = []
    if _header_key(ending.ENDED_SHEET) in _sheet_names(workbook):
        sheet = _read_sheet(workbook, path, ending.ENDED_SHEET, ending.ENDED_REQUIRED)
        columns = {header: sheet.column(header) for header in ending.ENDED_HEADERS}
        rows = [(row, {header: cells[i] for header, cells in columns.items()}) for i, row in enumerate(sheet.row_numbers)]
        ended, problems = ending.read_ended_rows(rows, file, sheet.name)
    if pairs_sheet.has(ending.STATUS) or pairs_sheet.has(ending.ENDED_ON):
        status, ended_on = pairs_sheet.column(ending.STATUS), pairs_sheet.column(ending.ENDED_ON)
        readings = {row: ending.read_status(cell, day) for row, cell, day in zip(pairs_sheet.row_numbers, status, ended_on)}
        for member, lead in (lead_rows or {}).items():
            if not _said_anything(readings.get(member)) and lead in readings:
                readings[member] = readings[lead]
        used = set(pairs["row"].astype(int).tolist())
        pairs, by_status, status_problems = ending.split_status(
            pairs, {row: reading for row, reading in readings.items() if row in used}, file, pairs_sheet.name)
        ended += by_status
        problems += status_problems
    return pairs, ended, problems


def _said_anything(reading: ending.StatusReading | None) -> bool:
    return reading is not None and (reading.ended or bool(reading.problem))


def kept_pairs(book: PairingBook) -> list[tuple[str, str, str]]:
    """``(pair_id, mentee_email, mentor_email)`` for ``mentor match --keep``: every usable pair of the book."""
    return list(zip(book.pairs["pair_id"], book.pairs["mentee_email"], book.pairs["mentor_email"]))


# --------------------------------------------------------------------------- circles (read back)
#
# A workbook written by ``mentor match --circles N`` / ``--peer-circles N`` has a Circles sheet
# (one row per person, the lead first) and no Pairs rows. It is read back into the same
# ``PairingBook``: ``pairs`` is the circles' pair view (``model.CIRCLE_COLUMNS``: a row per member
# with their circle's lead), so every stage that slices whole relationships out of ``pairs`` keeps
# working, and ``relationships()`` gives each circle once with its roles. Hand edits are read like
# the Pairs sheet's: what cannot be used is an error on its row, what the coordinator may mean
# (a broken rule, a mentor over capacity, a circle over its size) a warning.

CIRCLES = "Circles"
CIRCLES_REQUIRED = ("Circle ID", "Email", "Role")
CIRCLE_LEAD_ROLES = ("mentor", "facilitator")
CIRCLE_ROLES = (*CIRCLE_LEAD_ROLES, "member")
MEMBER_ROLE_UNDER = {"mentor": "mentee", "facilitator": "peer"}
"""A Role "member" row's part in the relationship: a mentee under a mentor, a peer under a facilitator."""
CIRCLE_KIND_SETTING, CIRCLE_SIZE_SETTING = "Circles", "Circle size"
DIRECTED_RULES = ("choices",)
"""Rules that only mean something from a mentee to a mentor (``choices_only``): not checked
between two members, who have not chosen each other."""


def _is_circles_workbook(workbook: Any, path: Path) -> bool:
    """A Circles sheet and no Pairs rows (no Pairs sheet, or one with only its header).

    Both with rows is refused: which sheet the coordinator means cannot be told for sure.
    """
    names = _sheet_names(workbook)
    if _header_key(CIRCLES) not in names:
        return False
    if _header_key(PAIRS) not in names:
        return True
    grid = _grid(workbook, path, names[_header_key(PAIRS)])
    filled = [row for row in grid if not _is_blank_row(row)]
    if len(filled) <= 1:
        return True
    raise MentorError("has rows in both the Pairs and the Circles sheet", path=path,
                      hint="Keep one of them: a workbook holds either pairs or circles.")


@dataclass
class _CircleRow:
    """One usable row of the Circles sheet."""

    circle: str
    email: str
    name: str
    role: str
    score: float
    why: str
    row: int


def _circle_rows(sheet: SheetTable, people: pd.DataFrame, file: str) -> tuple[list[_CircleRow], list[Problem]]:
    """Rows that name a circle, a known person and a known role, each person in one circle only.

    Everything else is an error on its row, and the row is left out: a person listed twice, an
    email not in People, a blank or unknown Role are never guessed at.
    """
    problems: list[Problem] = []
    names = dict(zip(people["email"].tolist(), people["name"].tolist()))
    usable: list[_CircleRow] = []
    first_seen: dict[str, tuple[str, int, str]] = {}
    columns = (sheet.texts("Circle ID"), sheet.texts("Email"), sheet.texts("Role"), sheet.texts("Name"),
               sheet.numbers("Score"), sheet.texts("Why"), sheet.row_numbers)

    def error(row: int, column: str, text: str) -> None:
        problems.append(Problem(file, sheet.name, row, column, "error", text))

    for circle, email, role, name, score, why, row in zip(*columns):
        email, role = email.lower(), role.lower()
        if not circle:
            error(row, "Circle ID", "Circle ID is blank; person left out of every circle. Write their circle's id")
        elif not email:
            error(row, "Email", "Email is blank; row left out. Fill it in or delete the row")
        elif email not in names:
            error(row, "Email", f"Email is not in the People sheet; person left out of circle {circle}. "
                                "Fix the address or add the person to People")
        elif not role:
            error(row, "Role", f"Role is blank; person left out of circle {circle}. Write mentor, facilitator or member")
        elif role not in CIRCLE_ROLES:
            error(row, "Role", f"Role must be mentor, facilitator or member; person left out of circle {circle}")
        elif email in first_seen and not _leads_another(first_seen[email], circle, role):
            other, other_row, _ = first_seen[email]
            where = "again in circle" if other == circle else f"also in circle {other}, row {other_row}; in circle"
            error(row, "Email", f"this person is {where} {circle} here: a person is in one circle only "
                                "(a mentor may lead several); this row is left out. Delete one of the rows")
        else:
            first_seen.setdefault(email, (circle, row, role))
            if name and name.casefold() != str(names[email]).casefold():
                problems.append(Problem(file, sheet.name, row, "Name", "warning",
                                        "Name does not match the People sheet for this Email; the People name is used"))
            usable.append(_CircleRow(circle, email, str(names[email]), role, score, why, row))
    return usable, problems


def _leads_another(seen: tuple[str, int, str], circle: str, role: str) -> bool:
    """A lead seen leading another circle may lead this one too (a mentor's capacity counts
    circles); anyone else is in one circle only."""
    return seen[2] in CIRCLE_LEAD_ROLES and role in CIRCLE_LEAD_ROLES and seen[0] != circle


def _circles_of(rows: list[_CircleRow], file: str, sheet: str) -> tuple[dict[str, tuple[_CircleRow, list[_CircleRow]]], list[Problem]]:
    """Rows grouped by circle (first appearance order): its lead and its members.

    A circle without a lead, or with nobody to lead, is left out (an error on its first row); a
    second lead is left out of the circle (an error on its row), since which of two leads the
    coordinator meant cannot be told.
    """
    grouped: dict[str, list[_CircleRow]] = {}
    for row in rows:
        grouped.setdefault(row.circle, []).append(row)
    problems: list[Problem] = []
    circles: dict[str, tuple[_CircleRow, list[_CircleRow]]] = {}
    for circle, members in grouped.items():
        leads = [row for row in members if row.role in CIRCLE_LEAD_ROLES]
        others = [row for row in members if row.role not in CIRCLE_LEAD_ROLES]
        if not leads:
            problems.append(Problem(file, sheet, members[0].row, "Role", "error",
                                    f"circle {circle} has no mentor or facilitator; circle left out. "
                                    "Set the Role of the person who leads it"))
            continue
        for extra in leads[1:]:
            problems.append(Problem(file, sheet, extra.row, "Role", "error",
                                    f"circle {circle} already has a {leads[0].role} (row {leads[0].row}); "
                                    "this person is left out. Make one of them a member, or move this one"))
        if not others:
            problems.append(Problem(file, sheet, leads[0].row, "Circle ID", "error",
                                    f"circle {circle} has no members besides its {leads[0].role}; circle left out"))
            continue
        circles[circle] = (leads[0], others)
    return circles, problems


def _circle_pair_view(circles: dict[str, tuple[_CircleRow, list[_CircleRow]]]) -> pd.DataFrame:
    """The circles as ``PairingBook.pairs`` rows (``model.CIRCLE_COLUMNS``): a row per member."""
    records = []
    for circle, (lead, members) in circles.items():
        scores = [row.score for row in (lead, *members) if not math.isnan(row.score)]
        why = " ".join(dict.fromkeys(row.why for row in (lead, *members) if row.why))
        for position, member in enumerate(members):
            records.append({
                "pair_id": circle, "mentee_email": member.email, "mentor_email": lead.email,
                "mentee": member.name, "mentor": lead.name, "score": scores[0] if scores else math.nan,
                "why": why if position == 0 else "", "row": member.row,
                "mentor_role": lead.role, "mentee_role": MEMBER_ROLE_UNDER[lead.role], "lead_row": lead.row,
            })
    columns = ["pair_id", "mentee_email", "mentor_email", "mentee", "mentor", "score", "why", "row", *CIRCLE_COLUMNS]
    frame = pd.DataFrame(records, columns=columns)
    return frame.astype({"score": float, "row": int, "lead_row": int})


def _circle_role_problems(circles: dict[str, tuple[_CircleRow, list[_CircleRow]]], people: pd.DataFrame,
                          file: str, sheet: str) -> list[Problem]:
    """A mentor who did not sign up to mentor, a mentee-circle member who did not sign up as a mentee."""
    roles = dict(zip(people["email"].tolist(), people["role"].tolist()))
    problems = []
    for circle, (lead, members) in circles.items():
        if lead.role == "mentor" and roles[lead.email] not in ("mentor", "both"):
            problems.append(Problem(file, sheet, lead.row, "Role", "warning",
                                    f"Role says mentor but People says {roles[lead.email]}; kept as the mentor of {circle}"))
        for member in members:
            if lead.role == "mentor" and roles[member.email] not in ("mentee", "both"):
                problems.append(Problem(file, sheet, member.row, "Role", "warning",
                                        f"a member of mentor-led circle {circle} who signed up as {roles[member.email]}; kept"))
    return problems


def _circle_limit_problems(circles: dict[str, tuple[_CircleRow, list[_CircleRow]]], people: pd.DataFrame,
                           settings: dict[str, str], file: str, sheet: str) -> list[Problem]:
    """A mentor leading more circles than their capacity (capacity counts circles), a circle
    larger than the workbook's ``Circle size``: warnings, the coordinator may mean them."""
    capacity = dict(zip(people["email"].tolist(), people["capacity"].tolist()))
    problems = []
    led: dict[str, list[int]] = {}
    for lead, _ in circles.values():
        if lead.role == "mentor":
            led.setdefault(lead.email, []).append(lead.row)
    for email, rows in led.items():
        limit = int(capacity.get(email, 0))
        if len(rows) > limit:
            problems.append(Problem(file, sheet, rows[min(limit, len(rows) - 1)], "Role", "warning",
                                    f"mentor leads {len(rows)} circles (rows {', '.join(map(str, rows))}), capacity {limit}"))
    size = _cell_number(settings.get(CIRCLE_SIZE_SETTING, ""))
    if not math.isnan(size):
        for circle, (lead, members) in circles.items():
            if len(members) > size:
                problems.append(Problem(file, sheet, members[int(size)].row, "Circle ID", "warning",
                                        f"circle {circle} has {len(members)} members, more than the circle size {size:g}"))
    return problems


def circle_member_pairs(pairs: pd.DataFrame) -> list[tuple[str, str, int, int, bool]]:
    """Every two people of every circle of a pair view: (first email, second email, first row,
    second row, lead pair). In a lead pair the lead is the first, on the mentor side; two members
    are taken once, in row order (the rules checked between members are symmetric)."""
    out: list[tuple[str, str, int, int, bool]] = []
    for _, group in pairs.groupby("pair_id", sort=False):
        lead, lead_row = str(group["mentor_email"].iloc[0]), int(group["lead_row"].iloc[0])
        members = list(zip(group["mentee_email"].tolist(), group["row"].tolist()))
        out += [(lead, email, lead_row, int(row), True) for email, row in members]
        out += [(a, b, int(row_a), int(row_b), False)
                for (a, row_a), (b, row_b) in itertools.combinations(members, 2)]
    return out


def _circle_rule_problems(pairs: pd.DataFrame, people: pd.DataFrame, config: Config, file: str, sheet: str) -> list[Problem]:
    """The matcher's rules between every two people of every circle, as the circles now stand.

    Between the lead and a member every rule applies (the lead on the mentor side); between two
    members every rule but the directed ones (``DIRECTED_RULES``). Reported on the later row of the
    two, naming the other row.
    """
    if pairs.empty:
        return []
    links = circle_member_pairs(pairs)
    index = dict(zip(people["email"].tolist(), range(len(people))))
    # the second of each two on the mentee side: a lead pair's lead is the mentor
    broken = match.broken_rules(people, config, [index[b] for _, b, *_ in links], [index[a] for a, *_ in links])
    directed = {RULE_BY_NAME[name].reason for name in DIRECTED_RULES}
    circle_of = dict(zip(pairs["row"].tolist(), pairs["pair_id"].tolist()))
    problems = []
    for (_, _, row_a, row_b, lead_pair), reasons in zip(links, broken):
        kept = [reason for reason in reasons if lead_pair or reason not in directed]
        if kept:
            who = "its lead" if lead_pair else f"row {row_a}"
            problems.append(Problem(file, sheet, row_b, "Circle ID", "warning",
                                    f"breaks a rule with {who} in circle {circle_of[row_b]}: {'; '.join(kept)}"))
    return problems


def _left_in_no_circle(workbook: Any, path: Path, people: pd.DataFrame, pairs: pd.DataFrame, sheet: str,
                       ended: set[str] | frozenset[str] = frozenset()) -> list[Problem]:
    """Everyone in People who is in no circle now, not on the Unmatched sheet and not in an ended
    circle (``ended``) (a Circles row deleted, or left out above): a warning on their People row,
    so nobody drops out unseen."""
    unmatched: set[str] = set()
    if _header_key(UNMATCHED) in _sheet_names(workbook):
        unmatched = {email.lower() for email in _read_sheet(workbook, path, UNMATCHED, ("Email",)).texts("Email")}
    placed = set(pairs["mentee_email"]) | set(pairs["mentor_email"]) | set(ended)
    return [Problem(str(path), sheet, int(row), "Email", "warning",
                    "this person is in no circle and not on the Unmatched sheet (a Circles row deleted?); "
                    "they get no check-ins or emails. Add them to a circle, or to Unmatched with a reason")
            for email, row in zip(people["email"].tolist(), people["source_row"].tolist())
            if email not in placed and email not in unmatched]


def read_circles_book(workbook: Any, path: Path, config: Config, *, check_rules: bool = True) -> PairingBook:
    """A workbook with a Circles sheet read back (see the section note above): the circles as
    ``PairingBook.pairs`` in pair view, and what no longer holds after hand edits as problems
    sorted by row (Circles rows first)."""
    file = str(path)
    circles_sheet = _read_sheet(workbook, path, CIRCLES, CIRCLES_REQUIRED)
    people_sheet = _read_sheet(workbook, path, PEOPLE, PEOPLE_REQUIRED)
    settings = _read_settings(_read_sheet(workbook, path, SETTINGS, SETTINGS_HEADERS))
    people, problems = _read_people(people_sheet, path)
    rows, row_problems = _circle_rows(circles_sheet, people, file)
    circles, circle_problems = _circles_of(rows, file, circles_sheet.name)
    problems += row_problems + circle_problems
    pairs = _circle_pair_view(circles)
    lead_rows = dict(zip(pairs["row"].astype(int).tolist(), pairs["lead_row"].astype(int).tolist()))
    pairs, ended, ended_problems = _ended_relationships(workbook, path, circles_sheet, pairs, lead_rows)
    problems += ended_problems
    problems += _left_in_no_circle(workbook, path, people, pairs, people_sheet.name,
                                   {email for e in ended for email in e.relationship.emails})
    if check_rules:
        problems += _circle_role_problems(circles, people, file, circles_sheet.name)
        problems += _circle_limit_problems(circles, people, settings, file, circles_sheet.name)
        problems += _circle_rule_problems(pairs, people, config, file, circles_sheet.name)
    problems.sort(key=lambda p: (p.sheet != circles_sheet.name, p.sheet, p.row if p.row is not None else 0))
    return PairingBook(path=path, pairs=pairs, people=people, settings=settings, problems=problems, ended=ended)


# --------------------------------------------------------------------------- pair lists (--avoid-pairs)


def _pair_columns(headers: Sequence[Any]) -> tuple[int, int] | None:
    """Positions of the mentee and mentor email columns under any usual header spelling."""
    keys = [_header_key(h) for h in headers]

    def find(side: str) -> int | None:
        exact = [i for i, k in enumerate(keys) if k.replace(" ", "") in (f"{side}email", f"{side}emailaddress")]
        loose = [i for i, k in enumerate(keys) if side in k.split() and ("email" in k or "e mail" in k)]
        bare = [i for i, k in enumerate(keys) if k == side]
        for candidates in (exact, loose, bare):
            if candidates:
                return candidates[0]
        return None

    mentee, mentor = find("mentee"), find("mentor")
    return None if mentee is None or mentor is None else (mentee, mentor)


def _csv_grid(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly everything
        raise MentorError("is not a text CSV file", path=path)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _xlsx_grid(path: Path) -> list[list[Any]]:
    workbook = _open_workbook(path)
    names = _sheet_names(workbook)
    sheet = names.get(_header_key(PAIRS), workbook.sheet_names[0] if workbook.sheet_names else None)
    if sheet is None:
        raise MentorError("has no sheets", path=path)
    return workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def read_pair_list(path: str | Path) -> list[tuple[str, str]]:
    """``(mentee_email, mentor_email)`` pairs from an earlier pairing workbook or a CSV of email pairs.

    For ``--avoid-pairs``: these pairs must never be made again, so a row with one email
    blank stops the run (naming the row) rather than being skipped; an entirely blank row
    is ignored. Emails are compared trimmed and case-insensitively.
    """
    path = Path(path)
    if not path.is_file():
        raise MentorError("pair list not found", path=path, hint="Pass an earlier pairs.xlsx or a CSV with mentee and mentor email columns.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        grid = _xlsx_grid(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        grid = _csv_grid(path)
    else:
        raise MentorError(f"cannot read {suffix or 'a file without suffix'} as a pair list", path=path,
                          hint="Use .xlsx or .csv.")
    header_index = next((i for i, row in enumerate(grid) if any(_cell_text(v) for v in row)), None)
    positions = None if header_index is None else _pair_columns(grid[header_index])
    if header_index is None or positions is None:
        raise MentorError(
            "has no mentee and mentor email columns",
            path=path,
            hint="Name the columns mentee_email and mentor_email (or Mentee Email and Mentor Email).",
        )
    pairs = []
    for i in range(header_index + 1, len(grid)):
        row = grid[i]
        mentee, mentor = (_cell_text(row[p]).lower() if p < len(row) else "" for p in positions)
        if not mentee and not mentor:
            continue
        if not mentee or not mentor:
            blank = "mentee" if not mentee else "mentor"
            raise MentorError(f"row {i + 1}: the {blank} email is blank", path=path,
                              hint="Fill it in or delete the row, so that no earlier pair is missed.")
        pairs.append((mentee, mentor))
    return pairs

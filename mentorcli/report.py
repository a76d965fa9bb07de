"""Progress of a cohort: check-in logs in, cohort report, status workbook and emails out.

Pipeline: ``read_checkin_logs`` (the filled ``checkins.xlsx`` and/or check-in form exports,
each row matched to a pair of the pairing workbook) -> ``build_report`` (per-pair status,
held versus scheduled by month, pairs at risk with the reason in words) -> ``write_report``
(``cohort.html``, ``cohort.xlsx``, one ``.eml`` per participant and one for the sponsors).

Privacy is built in rather than filtered out at the end: the ``Notes`` of a log are dropped
as the log is read (no frame, report or template ever holds them), a participant's email is
built only from their own pairs, and the sponsor
summary is made from counts in which groups smaller than ``report.min_group_size`` are folded
together.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import openpyxl
import pandas as pd
from dateutil import parser
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from python_calamine import CalamineWorkbook
from rapidfuzz import fuzz

from mentorcli import files
from mentorcli.bulk import fork_context, worker_stops
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.ics import CADENCES
from mentorcli.mail import (
    MONTHS,
    SENT_FOLDER,
    WEEKDAYS,
    addressed_members,
    format_local_time,
    html_page_env,
    make_address,
    message_file_names,
    names_text,
    render_message,
    render_template,
    write_outbox,
)
from mentorcli.model import (
    LIST_SEPARATOR,
    Member,
    PairingBook,
    Problem,
    Relationship,
    relationships_from_pairs,
)
from mentorcli.normalize import MAX_YEAR, MIN_YEAR
from mentorcli.schedule import read_checkins
from mentorcli.surveys import SurveyFigures, SurveySummary
from mentorcli.tz import tzinfo_for
from mentorcli.untrusted import without_controls
from mentorcli.xlsx import (
    ANY,
    NUMBER,
    TEXT,
    Column,
    Styled,
    TableSheet,
    write_table_workbook,
)

CHECKIN_SHEET = "Check-ins"
CHECKIN_SHEET_MARKERS = ("pair id", "start (utc)", "held")
"""A workbook whose ``Check-ins`` sheet has these headers is a filled ``checkins.xlsx``."""

LOG_COLUMNS = ("pair_id", "date", "held", "rating", "goal_progress", "slot_utc", "respondent",
               "source", "file", "sheet", "row")
"""Columns of the log frame: one row per logged check-in, already matched to a pair.

``date`` is the day the check-in took place (naive midnight), ``slot_utc`` the scheduled
start it answers (only for rows of ``checkins.xlsx``), ``respondent`` ``mentee``/``mentor``
for form answers. There is deliberately no ``notes`` column.
"""

STATUS_COLUMNS = ("pair_id", "mentee", "mentee_email", "mentor", "mentor_email", "scheduled_to_date",
                  "held", "missed", "missed_in_row", "upcoming", "last_checkin", "days_since",
                  "mean_rating", "last_rating", "goal_progress", "next_checkin", "at_risk", "reason",
                  "behind", "behind_reason")

FORM_FIELDS = ("timestamp", "email", "date", "rating", "progress", "notes", "partner", "pair_id", "held")
_FORM_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "submitted at", "submission date", "completion time", "start time",
                  "date submitted"),
    "email": ("email address", "email", "e-mail", "e-mail address", "your email", "your email address",
              "your e-mail"),
    "date": ("date", "date met", "date of meeting", "meeting date", "check-in date", "date of check-in",
             "date held", "when did you meet"),
    "rating": ("rating", "rate the check-in", "how would you rate the check-in", "how would you rate it",
               "rate your check-in", "score"),
    "progress": ("goal progress", "progress", "progress towards goals", "progress on goals",
                 "progress towards your goals"),
    "partner": ("partner", "partner name", "who did you meet", "who did you meet with", "mentor or mentee"),
    "pair_id": ("pair id", "pair"),
    "held": ("held", "did you meet", "did the check-in take place", "did you meet this month",
             "check-in held"),
}
_TABLE_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_YES = frozenset({"yes", "y", "true", "1", "held", "done", "we met", "met", "x", "✓", "ja", "oui", "si", "sí"})
_NO = frozenset({"no", "n", "false", "0", "not held", "missed", "cancelled", "canceled", "did not meet",
                 "nein", "non"})


# ---------------------------------------------------------------------------------------------
# Reading check-in logs
# ---------------------------------------------------------------------------------------------


def is_checkin_sheet(path: str | Path) -> bool:
    """True for a ``checkins.xlsx`` written by ``mentor schedule`` (or a CSV export of it).

    Detected by content (its ``Pair ID``, ``Start (UTC)`` and ``Held`` headers) rather than by
    name, because coordinators rename files when they share them for filling in.
    """
    return checkin_sheet_name(path) is not None


def checkin_sheet_name(path: str | Path) -> str | None:
    """The name of the check-in sheet in ``path`` (``""`` for a CSV), or None if it has none."""
    path = Path(path)
    if not path.is_file():
        return None
    stat = path.stat()
    return _checkin_sheet_name(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _checkin_sheet_name(name: str, mtime_ns: int, size: int) -> str | None:
    path = Path(name)
    suffix = path.suffix.lower()
    try:
        if suffix in _TEXT_SUFFIXES:
            with open(path, "rb") as fh:
                head = fh.read(65536)
            rows = _csv_rows(head.split(b"\n", 1)[0])
            return "" if rows and _has_checkin_headers(rows[0]) else None
        if suffix not in _TABLE_SUFFIXES:
            return None
        for sheet, rows in _first_rows(path):
            if any(_has_checkin_headers(row) for row in rows):
                return sheet
    except Exception:  # noqa: BLE001 - openpyxl and calamine raise many kinds on a bad file; the reader that goes on to read it reports it
        return None
    return None


def _first_rows(path: Path, count: int = 5) -> list[tuple[str, list[Any]]]:
    """The first rows of the candidate check-in sheets: the one named Check-ins, or the only one.

    openpyxl's streaming reader stops after ``count`` rows; calamine (for .xls/.ods) would
    parse a year of check-ins just to look at the header.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            names = workbook.sheetnames
            wanted = [n for n in names if n.strip().lower() == CHECKIN_SHEET.lower()] or (names if len(names) == 1 else [])
            return [(n, [list(r) for _, r in zip(range(count), workbook[n].iter_rows(values_only=True))]) for n in wanted]
        finally:
            workbook.close()
    book = CalamineWorkbook.from_path(str(path))
    names = book.sheet_names
    wanted = [n for n in names if n.strip().lower() == CHECKIN_SHEET.lower()] or (names if len(names) == 1 else [])
    return [(n, book.get_sheet_by_name(n).to_python(nrows=count)) for n in wanted]


def _has_checkin_headers(row: Sequence[Any]) -> bool:
    headers = {_norm_header(cell) for cell in row}
    return all(marker in headers for marker in CHECKIN_SHEET_MARKERS)


def read_schedule(paths: Iterable[str | Path]) -> pd.DataFrame | None:
    """The scheduled check-ins found among ``paths`` (every ``checkins.xlsx``), or None.

    The filled check-in sheet is both the schedule (what was due) and a log (what was held),
    so ``mentor report`` needs no separate schedule argument. Adds a ``file`` column.
    """
    frames = []
    for path in paths:
        if is_checkin_sheet(path):
            frame = _read_checkin_sheet(Path(path)).drop(columns=["notes"], errors="ignore")
            frames.append(frame.assign(file=str(path)))
    if not frames:
        return None
    schedule = pd.concat(frames, ignore_index=True)
    return schedule.drop_duplicates(["pair_id", "mentee_email", "mentor_email", "start_utc"]).reset_index(drop=True)


def _read_checkin_sheet(path: Path) -> pd.DataFrame:
    """``schedule.read_checkins``, read once per file version: the sheet is both the schedule
    and a log, and a 12-month sheet of a large cohort takes seconds to read."""
    stat = path.stat()
    return _read_checkin_sheet_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _read_checkin_sheet_cached(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    return read_checkins(Path(path))


def read_checkin_logs(
    paths: Sequence[str | Path],
    book: PairingBook,
    config: Config,
    *,
    schedule: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Every logged check-in in ``paths``, matched to a pair of ``book``, and what did not fit.

    Each path is either a filled ``checkins.xlsx`` or a check-in form export (CSV/XLSX) whose
    columns are named in ``[checkins.columns]`` (or recognised from common phrasings). A row
    that fits no pair becomes a ``Problem`` with file, sheet, row and column: never dropped.
    ``schedule`` (default: the check-in sheets among ``paths``) lets a form answer from
    someone with several pairs be matched to the pair whose check-in was due nearest.
    """
    logs_to_read = list({Path(p).resolve(): Path(p) for p in paths}.values())  # a file named twice counts once
    for path in logs_to_read:
        if not path.is_file():
            raise MentorError("check-in log not found", path=path, hint="Check the file name.")
    if schedule is None:
        schedule = read_schedule(logs_to_read)
    slots, _ = _slots_of_book(schedule, book)
    frames: list[pd.DataFrame] = []
    problems: list[Problem] = []
    for path in logs_to_read:
        if is_checkin_sheet(path):
            frame, found = _sheet_log(path, book)
        else:
            frame, found = _form_log(path, book, config, slots)
        frames.append(frame)
        problems.extend(found)
    logs = pd.concat(frames, ignore_index=True) if frames else _empty_logs()
    return _typed_logs(logs), problems


def _empty_logs() -> pd.DataFrame:
    return _typed_logs(pd.DataFrame({column: [] for column in LOG_COLUMNS}))


def _typed_logs(logs: pd.DataFrame) -> pd.DataFrame:
    """One dtype per column whatever the sources were, so later merges behave the same."""
    logs = logs.loc[:, list(LOG_COLUMNS)].copy()
    logs["pair_id"] = logs["pair_id"].astype(str)
    logs["date"] = pd.to_datetime(logs["date"]).astype("datetime64[ns]")
    logs["held"] = logs["held"].astype(bool)
    logs["rating"] = pd.to_numeric(logs["rating"], errors="coerce").astype(float)
    logs["goal_progress"] = logs["goal_progress"].fillna("").astype(str)
    logs["slot_utc"] = pd.to_datetime(logs["slot_utc"], utc=True).astype("datetime64[ns, UTC]")
    for column in ("respondent", "source", "file", "sheet"):
        logs[column] = logs[column].fillna("").astype(str)
    logs["row"] = pd.to_numeric(logs["row"], errors="coerce").astype("Int64")
    return logs.reset_index(drop=True)


def _pair_keys(book: PairingBook) -> pd.DataFrame:
    pairs = book.pairs
    keys = pd.DataFrame({
        "pair_id": pairs["pair_id"].astype(str).to_numpy(),
        "mentee_email": pairs["mentee_email"].astype(str).str.strip().str.lower().to_numpy(),
        "mentor_email": pairs["mentor_email"].astype(str).str.strip().str.lower().to_numpy(),
    })
    return pd.concat([keys, _ended_keys(book)], ignore_index=True) if book.ended else keys


def _sheet_log(path: Path, book: PairingBook) -> tuple[pd.DataFrame, list[Problem]]:
    """The logged rows of a filled ``checkins.xlsx``: Held Yes/No, rating, goal progress."""
    # Notes are dropped before any other code sees the rows: nothing later can leak what it never had.
    raw = _read_checkin_sheet(path)
    frame = raw.drop(columns=["notes"], errors="ignore").reset_index(drop=True)
    problems: list[Problem] = [replace(p, file=str(path)) for p in raw.attrs.get("problems", [])]
    where = {"file": str(path), "sheet": checkin_sheet_name(path) or ""}
    held = frame["held"].map(_held_value)
    rating = pd.to_numeric(frame["rating"], errors="coerce").astype(float)  # read_checkins checked 1-5
    progress = frame["goal_progress"].fillna("").astype(str).str.strip()
    logged = held.notna() | rating.notna() | (progress != "")
    frame = frame.assign(held_value=held, rating_value=rating, progress=progress)[logged]
    frame = frame.assign(
        mentee_email=frame["mentee_email"].astype(str).str.strip().str.lower(),
        mentor_email=frame["mentor_email"].astype(str).str.strip().str.lower(),
    )
    keyed = frame.drop(columns=["pair_id"]).merge(_pair_keys(book), on=["mentee_email", "mentor_email"], how="left")
    for row in keyed.loc[keyed["pair_id"].isna(), "row"]:
        problems.append(Problem(**where, row=_int_or_none(row), column="Pair ID", severity="error",
                                problem="check-in logged for a pair that is not in the pairing workbook "
                                        "(removed or changed since scheduling); not counted"))
    keyed = keyed[keyed["pair_id"].notna()]
    assumed = keyed["held_value"].isna()
    for row in keyed.loc[assumed, "row"]:
        problems.append(Problem(**where, row=_int_or_none(row), column="Held", severity="warning",
                                problem="Held is blank but a rating or goal progress is filled in; counted as held"))
    start = pd.to_datetime(keyed["start_utc"], utc=True)
    held_on = pd.to_datetime(keyed["date_held"].map(_parse_day), errors="coerce")
    day = held_on.fillna(start.dt.tz_localize(None).dt.normalize())
    for row in keyed.loc[day.isna(), "row"]:
        problems.append(Problem(**where, row=_int_or_none(row), column="Date Held", severity="error",
                                problem="logged check-in without a start or a date held; not counted"))
    logs = pd.DataFrame({
        "pair_id": keyed["pair_id"].astype(str),
        "date": day,
        "held": keyed["held_value"].fillna(True).astype(bool),
        "rating": keyed["rating_value"],
        "goal_progress": keyed["progress"],
        "slot_utc": start,
        "respondent": "",
        "source": "sheet",
        "file": str(path),
        "sheet": where["sheet"],
        "row": keyed["row"],
    })
    return _typed_logs(logs), problems


@dataclass
class _FormTable:
    """A form export as read: its sheet name, header cells and data rows with sheet row numbers."""

    sheet: str
    headers: list[str]
    rows: list[list[Any]]
    row_numbers: list[int]


def _form_log(path: Path, book: PairingBook, config: Config, slots: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """The rows of a check-in form export, each matched to one of the respondent's pairs."""
    table = _read_table(path)
    columns = _form_columns(table.headers, config, path)
    where = {"file": str(path), "sheet": table.sheet}

    def cells(field_name: str) -> list[Any]:
        index = columns.get(field_name)
        if index is None:
            return [""] * len(table.rows)
        return [row[index] if index < len(row) else "" for row in table.rows]

    def header(field_name: str) -> str:
        index = columns.get(field_name)
        return "" if index is None else table.headers[index]

    problems: list[Problem] = []
    rows = pd.DataFrame({
        "row": table.row_numbers,
        "email": [_display_text(v).lower() for v in cells("email")],
        "named_pair": [_display_text(v).upper() for v in cells("pair_id")],
        "named_partner": [_display_text(v) for v in cells("partner")],
        "progress": [_display_text(v) for v in cells("progress")],
    })
    # the timestamp (when the form was sent) stands in only for a date left blank, never for one
    # that was written but cannot be read
    dates = [_parse_day(d) if _display_text(d) else _parse_day(t) for d, t in zip(cells("date"), cells("timestamp"))]
    rows["date"] = pd.to_datetime(pd.Series(dates, dtype=object), errors="coerce")
    rows["rating"], rating_bad = _ratings(pd.Series(cells("rating"), dtype=object))
    held_cells = [_display_text(v) for v in cells("held")]
    held = [True if text == "" else _held_value(text) for text in held_cells]
    rows["held"] = pd.Series(held, dtype=object)

    usable = pd.Series(True, index=rows.index)
    for index in rows.index[rows["email"] == ""]:
        problems.append(Problem(**where, row=int(rows.at[index, "row"]), column=header("email"), severity="error",
                                problem="no email: the row cannot be matched to a pair"))
        usable[index] = False
    date_column = header("date") or header("timestamp")
    for index in rows.index[usable & rows["date"].isna()]:
        problems.append(Problem(**where, row=int(rows.at[index, "row"]), column=date_column, severity="error",
                                problem="no readable date of the check-in (write it as YYYY-MM-DD)"))
        usable[index] = False
    for index in rows.index[usable & rows["held"].isna()]:
        problems.append(Problem(**where, row=int(rows.at[index, "row"]), column=header("held"), severity="error",
                                problem="cannot tell whether the check-in was held (answer Yes or No)"))
        usable[index] = False
    for index in rows.index[usable & rating_bad]:
        problems.append(Problem(**where, row=int(rows.at[index, "row"]), column=header("rating"), severity="warning",
                                problem="rating is not a number from 1 to 5; ignored"))

    rows = rows[usable]
    assigned, role, found = _assign_pairs(rows, book, slots, where,
                                          {"email": header("email"), "pair_id": header("pair_id"),
                                           "partner": header("partner")})
    problems.extend(found)
    rows = rows.assign(pair_id=assigned, respondent=role)
    rows = rows[rows["pair_id"].notna()]
    logs = pd.DataFrame({
        "pair_id": rows["pair_id"],
        "date": rows["date"],
        "held": rows["held"].astype(bool),
        "rating": rows["rating"],
        "goal_progress": rows["progress"],
        "slot_utc": pd.NaT,
        "respondent": rows["respondent"],
        "source": "form",
        "file": str(path),
        "sheet": table.sheet,
        "row": rows["row"],
    })
    problems.sort(key=lambda p: (p.row or 0, p.column))
    return _typed_logs(logs), problems


def _read_table(path: Path) -> _FormTable:
    """The first sheet of a form export, read by the signup reader (same encodings, same errors)."""
    # signups (with the answer-reading tables it loads) adds 0.21-0.31 s to `mentor report` start-up,
    # measured; only a form export needs it
    from mentorcli.signups import read_table

    suffix = path.suffix.lower()
    if suffix not in _TABLE_SUFFIXES + _TEXT_SUFFIXES:
        raise MentorError(f"a check-in log must be .csv or .xlsx, not {suffix or 'a file without extension'}",
                          path=path, hint="Export the check-in form as CSV or XLSX.")
    table = read_table(path)
    rows, numbers = [], []
    for number, row in enumerate(table.frame.itertuples(index=False, name=None), start=table.first_row):
        if any(_display_text(c) for c in row):
            rows.append(list(row))
            numbers.append(number)
    return _FormTable(table.sheet, [_display_text(c) for c in table.headers], rows, numbers)


def _csv_rows(data: bytes) -> list[list[str]]:
    """Rows of CSV bytes, the encoding and delimiter guessed from the data (forms differ)."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _norm_header(text: Any) -> str:
    return " ".join(_display_text(text).split()).casefold().strip(" ?:*.")


def _form_columns(headers: list[str], config: Config, path: Path) -> dict[str, int]:
    """Which column holds which field: ``[checkins.columns]`` first, then common phrasings."""
    normalized = [_norm_header(h) for h in headers]
    mapping: dict[str, int] = {}
    for name, wanted in config.checkins.columns.items():
        if name not in FORM_FIELDS:
            raise MentorError(f"unknown check-in field {name!r} in [checkins.columns]", path=config.path,
                              hint=f"Known fields: {', '.join(FORM_FIELDS)}.")
        if name == "notes":
            continue  # notes are private to the log and never read
        key = _norm_header(wanted)
        if key not in normalized:
            raise MentorError(f"no column {wanted!r} (named for {name} in [checkins.columns])", path=path,
                              hint="Check the header in the file against mentor.toml.")
        mapping[name] = normalized.index(key)
    used = set(mapping.values())
    for name, aliases in _FORM_ALIASES.items():
        if name in mapping:
            continue
        for alias in aliases:
            if alias in normalized and normalized.index(alias) not in used:
                mapping[name] = normalized.index(alias)
                used.add(mapping[name])
                break
    if "email" not in mapping:
        raise MentorError("no email column found in the check-in log", path=path,
                          hint='Name it in mentor.toml, e.g. [checkins.columns] email = "Email Address".')
    if "date" not in mapping and "timestamp" not in mapping:
        raise MentorError("no date or timestamp column found in the check-in log", path=path,
                          hint='Name it in mentor.toml, e.g. [checkins.columns] date = "Date of check-in".')
    return mapping


def _pair_candidates(book: PairingBook) -> pd.DataFrame:
    """Each relationship once from each member's side: who answered, which relationship, who is
    another member (a form answer may name any of them as the partner)."""
    rows = [(_email_key(me.email), relationship.id, me.role, _email_key(other.email), str(other.name))
            for relationship in book.relationships()
            for me in addressed_members(relationship) for other in addressed_members(relationship) if other is not me]
    candidates = pd.DataFrame(rows, columns=["email", "pair_id", "role", "partner_email", "partner_name"])
    candidates["partner_key"] = candidates["partner_name"].map(_name_key)
    return candidates


def _name_key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _assign_pairs(
    rows: pd.DataFrame,
    book: PairingBook,
    slots: pd.DataFrame,
    where: dict[str, str],
    headers: dict[str, str],
) -> tuple[pd.Series, pd.Series, list[Problem]]:
    """The pair of each form row, by the respondent's email, then the pair or partner named,
    then the pair whose scheduled check-in is nearest to the date; ambiguous rows are reported."""
    problems: list[Problem] = []
    assigned = pd.Series(None, index=rows.index, dtype=object)
    role = pd.Series("", index=rows.index, dtype=object)
    if rows.empty:
        return assigned, role, problems
    left = rows[["email", "named_pair", "named_partner", "date", "row"]].rename_axis("r").reset_index()
    merged = left.merge(_pair_candidates(book), on="email", how="inner")

    def report(r_values: Iterable[int], column: str, text: str) -> None:
        for r in sorted(set(r_values)):
            problems.append(Problem(**where, row=int(rows.at[r, "row"]), column=column, severity="error", problem=text))

    report(set(rows.index) - set(merged["r"]), headers["email"],
           "the respondent's email is in no pair of the pairing workbook; check the address or the pairing")

    named = merged["named_pair"] != ""
    keep = ~named | (merged["pair_id"].str.upper() == merged["named_pair"])
    report(set(merged.loc[named, "r"]) - set(merged.loc[keep & named, "r"]), headers["pair_id"],
           "the pair ID given is not one of the respondent's pairs")
    merged = merged[keep]

    named = merged["named_partner"] != ""
    partner = merged["named_partner"]
    exact = (merged["partner_email"] == partner.str.lower()) | (merged["partner_key"] == partner.map(_name_key))
    keep = ~named | exact
    fuzzy_rows = set(merged.loc[named, "r"]) - set(merged.loc[keep & named, "r"])
    keep |= _fuzzy_partner(merged, fuzzy_rows)
    report(set(merged.loc[named, "r"]) - set(merged.loc[keep & named, "r"]), headers["partner"],
           "the partner named is not paired with the respondent in the pairing workbook")
    merged = merged[keep].drop_duplicates(["r", "pair_id"])  # one candidate per relationship, whoever was named

    counts = merged.groupby("r")["pair_id"].transform("size")
    single = merged[counts == 1]
    assigned.loc[single["r"].to_numpy()] = single["pair_id"].to_numpy()
    role.loc[single["r"].to_numpy()] = single["role"].to_numpy()

    several = merged[counts > 1]
    if not several.empty:
        chosen = _nearest_scheduled_pair(several, slots)
        assigned.loc[chosen["r"].to_numpy()] = chosen["pair_id"].to_numpy()
        role.loc[chosen["r"].to_numpy()] = chosen["role"].to_numpy()
        report(set(several["r"]) - set(chosen["r"]), headers["partner"] or headers["email"],
               "the respondent has several pairs, the row names no partner or pair ID, and no scheduled "
               "check-in of one pair is nearer to its date than the others'; name the partner")
    return assigned, role, problems


def _fuzzy_partner(merged: pd.DataFrame, rows_to_try: set[int]) -> pd.Series:
    """A partner name with a typo still identifies the pair when exactly one partner is close."""
    keep = pd.Series(False, index=merged.index)
    for r in sorted(rows_to_try):
        group = merged[merged["r"] == r]
        wanted = _name_key(group["named_partner"].iloc[0])
        scores = pd.Series([fuzz.token_sort_ratio(wanted, name) for name in group["partner_key"]], index=group.index)
        best = scores[scores >= 85]
        if len(best) and (scores == best.max()).sum() == 1:
            keep[best.idxmax()] = True
    return keep


def _nearest_scheduled_pair(several: pd.DataFrame, slots: pd.DataFrame) -> pd.DataFrame:
    """For each row with several candidate pairs, the one pair with the nearest due check-in."""
    if slots.empty:
        return several.iloc[0:0]
    joined = several.merge(slots[["pair_id", "day"]], on="pair_id", how="inner")
    if joined.empty:
        return several.iloc[0:0]
    joined["distance"] = (joined["day"] - joined["date"]).abs()
    per_pair = joined.groupby(["r", "pair_id", "role"], as_index=False)["distance"].min()
    best = per_pair.groupby("r")["distance"].transform("min")
    winners = per_pair[per_pair["distance"] == best]
    unique = winners.groupby("r")["pair_id"].transform("size") == 1
    return winners[unique]


# ---------------------------------------------------------------------------------------------
# Cell parsing
# ---------------------------------------------------------------------------------------------


def _display_text(value: Any) -> str:
    """A cell as trimmed text; whole numbers without ``.0``; blanks (None, NaN) as ``""``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:g}"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is pd.NaT:
        return ""
    return without_controls(str(value)).strip()


def _held_value(value: Any) -> bool | None:
    """Held Yes/No as written by a person; None when blank or unclear."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = _display_text(value).casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


@lru_cache(maxsize=4096)
def _parse_day_text(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return parser.parse(text, fuzzy=False).date()
    except (ValueError, OverflowError, parser.ParserError):
        return None


def _parse_day(value: Any) -> dt.date | None:
    """The day in a date or timestamp cell (a date/datetime object, or text such as
    ``2026-03-04``, ``3/4/2026 10:02:11``); None when blank, unreadable or outside the years a
    check-in can have (``MIN_YEAR``-``MAX_YEAR``: a year 2300 is a typo, and beyond pandas' dates)."""
    day = _day_of(value)
    return day if day is not None and MIN_YEAR <= day.year <= MAX_YEAR else None


def _day_of(value: Any) -> dt.date | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    text = _display_text(value)
    return _parse_day_text(text) if text else None


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@lru_cache(maxsize=1024)
def _rating_text(text: str) -> float | None:
    found = _NUMBER.search(text)
    if not found:
        return None
    value = float(found.group().replace(",", "."))
    return value if 1 <= value <= 5 else None


def _ratings(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ratings 1-5 ("4", "4 - good", 4.0) as floats, and a mask of filled-in cells that were not."""
    text = values.map(_display_text)
    parsed = text.map(lambda t: _rating_text(t) if t else None)
    rating = pd.to_numeric(parsed, errors="coerce").astype(float)
    bad = (text != "") & rating.isna()
    return rating, bad.astype(bool)


def _int_or_none(value: Any) -> int | None:
    try:
        return None if pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Building the report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelationshipWords:
    """What the coordinator's report calls a relationship and its two sides: a circle's report that
    said "Pair", "Mentee" and "Mentor" would misname a peer circle's facilitator and its members."""

    unit: str = "pair"
    others: str = "Mentee"
    others_email: str = "Mentee Email"
    lead: str = "Mentor"

    @property
    def units(self) -> str:
        return f"{self.unit}s"

    @property
    def id_title(self) -> str:
        return f"{self.unit.title()} ID"


def relationship_words(book: PairingBook) -> RelationshipWords:
    """A pairs workbook's words, or a circles workbook's: Members under a Mentor, or under a
    Facilitator when its circles are peer circles (their leads' Role)."""
    if not book.circles:
        return RelationshipWords()
    peer = bool((book.pairs["mentor_role"].astype(str) == "facilitator").any())
    return RelationshipWords("circle", "Members", "Member Emails", "Facilitator" if peer else "Mentor")


@dataclass
class CohortReport:
    """Where every relationship stands on ``as_of``: the numbers behind every output of ``report``.

    ``status``: one row per relationship (``STATUS_COLUMNS``; for a mentor with several mentees
    the mentee columns list them all, joined by ``"; "``). ``by_month``: month (``YYYY-MM``),
    scheduled, due, held, missed. ``checkins``: every scheduled check-in of a pair of the
    workbook with ``due``/``held``/``missed``. ``meetings``: pair_id and day of every check-in
    held up to ``as_of``. ``ratings``: count per rating 1-5. ``totals``: cohort figures.
    """

    as_of: dt.date
    status: pd.DataFrame
    by_month: pd.DataFrame
    checkins: pd.DataFrame
    meetings: pd.DataFrame
    ratings: dict[int, int]
    totals: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    """The workbook's relationships, in the order of ``status`` (one status row each)."""
    ended: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ENDED_COLUMNS)))
    """Relationships ended before (``_ended_status``): never at risk, counted up to their end date."""
    attendance: pd.DataFrame | None = None
    """A circles workbook's members, one row each (``ATTENDANCE_COLUMNS``); None for pairs."""
    surveys: SurveySummary | None = None
    """Survey figures (``mentor report --surveys``, ``surveys.summarise``); None without surveys."""
    cohorts: list[CohortFigures] = field(default_factory=list)
    """``--history``: earlier cohorts' figures and this one's (``current``), for ``cohort_comparison``."""
    words: RelationshipWords = field(default_factory=RelationshipWords)
    """What the coordinator's views call a relationship and its sides (``relationship_words``)."""

    @property
    def at_risk(self) -> pd.DataFrame:
        return self.status[self.status["at_risk"]]

    def stopped_coming(self) -> list[dict[str, Any]]:
        """Circle members who stopped coming, by circle id and Circles row ([] for pairs)."""
        return [] if self.attendance is None else stopped_coming(self.attendance)


def _slots_of_book(schedule: pd.DataFrame | None, book: PairingBook) -> tuple[pd.DataFrame, list[Problem]]:
    """Scheduled check-ins of the workbook's pairs (matched by both emails), and the pairs of
    the schedule that are no longer in the workbook, one warning each."""
    columns = ["slot", "pair_id", "start_utc", "day"]
    if schedule is None or schedule.empty:
        empty = pd.DataFrame({"slot": pd.Series([], dtype=int), "pair_id": pd.Series([], dtype=str),
                              "start_utc": pd.Series([], dtype="datetime64[ns, UTC]"),
                              "day": pd.Series([], dtype="datetime64[ns]")})
        return empty[columns], []
    frame = pd.DataFrame({
        "sheet_pair": schedule["pair_id"].astype(str),
        "mentee_email": schedule["mentee_email"].astype(str).str.strip().str.lower(),
        "mentor_email": schedule["mentor_email"].astype(str).str.strip().str.lower(),
        "start_utc": pd.to_datetime(schedule["start_utc"], utc=True).astype("datetime64[ns, UTC]"),
        "row": schedule.get("row", pd.NA),
        "file": schedule["file"].astype(str) if "file" in schedule else "check-in schedule",
    }).reset_index(drop=True)
    frame = frame[frame["start_utc"].notna()]
    keyed = frame.merge(_pair_keys(book), on=["mentee_email", "mentor_email"], how="left")
    problems = []
    orphans = keyed[keyed["pair_id"].isna()]
    for (file, sheet_pair), group in orphans.groupby(["file", "sheet_pair"], sort=True):
        problems.append(Problem(file=str(file), sheet=CHECKIN_SHEET, row=_int_or_none(group["row"].min()),
                                column="Pair ID", severity="warning",
                                problem=f"the {len(group)} scheduled check-in(s) of this pair are not counted: "
                                        "the pair is no longer in the pairing workbook"))
    slots = keyed[keyed["pair_id"].notna()].drop_duplicates(["pair_id", "start_utc"])
    order: dict[str, int] = {}
    for i, pair in enumerate(_pair_keys(book)["pair_id"]):
        order.setdefault(pair, i)
    slots = slots.assign(order=slots["pair_id"].map(order)).sort_values(["order", "start_utc"], kind="stable")
    slots = pd.DataFrame({
        "pair_id": slots["pair_id"].astype(str),
        "start_utc": slots["start_utc"],
        "day": slots["start_utc"].dt.tz_localize(None).dt.normalize().astype("datetime64[ns]"),
    }).reset_index(drop=True)
    slots.insert(0, "slot", np.arange(len(slots)))
    return slots[columns], problems


def build_report(
    book: PairingBook,
    checkins: pd.DataFrame | None,
    logs: pd.DataFrame,
    config: Config,
    *,
    as_of: dt.date,
    problems: Sequence[Problem] = (),
) -> CohortReport:
    """Each pair's standing on ``as_of`` from its scheduled check-ins and logged ones.

    A scheduled check-in is *due* once its day is before ``as_of`` (or it was logged), *held*
    when the check-in sheet says Yes or a form answer maps to it (the pair's nearest scheduled
    check-in), *missed* when due and not held. At risk (``[report]``): no check-in for
    ``at_risk_days`` days since the last one held (or since the first was due),
    ``missed_in_row`` missed in a row, mean or last rating at or below ``low_rating``.
    ``checkins`` is the schedule (``schedule.read_checkins``); None when there is none.
    """
    settings = config.report
    as_of_day = pd.Timestamp(as_of)
    found = list(problems)
    keys = _pair_keys(book)
    relationships = book.relationships()
    slots, orphan_problems = _slots_of_book(checkins, book)
    found.extend(orphan_problems)

    logs = _typed_logs(logs) if len(logs) else _empty_logs()
    logs = logs[logs["pair_id"].isin(keys["pair_id"])]
    if book.ended:
        slots, logs = _until_ended(book, slots, logs)
    late = logs["date"] > as_of_day
    found.extend(_late_log_problems(logs[late], as_of))
    logs = logs[~late & logs["date"].notna()]

    slot_state = _slot_states(slots, logs, as_of_day)
    unscheduled = _unscheduled_meetings(logs, slots)
    status = _relationship_status(relationships, slot_state, logs, unscheduled, config, as_of_day)
    by_month = _by_month(slot_state, unscheduled)
    meetings = (logs.loc[logs["held"], ["pair_id", "date"]].drop_duplicates()
                .sort_values(["pair_id", "date"], kind="stable").reset_index(drop=True))
    rated = logs.loc[logs["held"] & logs["rating"].notna(), "rating"].round().astype(int)
    ratings = {value: int((rated == value).sum()) for value in range(1, 6)}
    totals = _totals(status, relationships, logs, at_risk_days(config))
    ended = _ended_status(book, slot_state, logs)
    if len(ended):
        totals["ended"] = len(ended)
    attendance = circle_attendance(book, checkins, config, as_of_day) if book.circles else None
    if attendance is not None:
        totals |= circle_totals(status, attendance)
    return CohortReport(
        as_of=as_of,
        status=status,
        by_month=by_month,
        checkins=slot_state,
        meetings=meetings,
        ratings=ratings,
        totals=totals,
        settings={"at_risk_days": at_risk_days(config), "missed_in_row": settings.missed_in_row,
                  "low_rating": settings.low_rating, "min_group_size": settings.min_group_size},
        problems=found,
        relationships=relationships,
        ended=ended,
        attendance=attendance,
        words=relationship_words(book),
    )


# ---------------------------------------------------------------------------------------------
# Ended relationships (``mentor end`` or a Status cell): shown as ended, counted up to the end


ENDED_COLUMNS: tuple[str, ...] = ("pair_id", "mentee", "mentor", "ended_on", "reason", "scheduled_to_end", "held", "last_checkin")
"""One row per ended relationship. ``reason`` is the coordinator's: never in a sponsor's view."""


def _ended_keys(book: PairingBook) -> pd.DataFrame:
    """(pair_id, mentee_email, mentor_email) of every ended relationship, so its check-ins are
    recognised (not "no longer in the workbook") and counted up to its end date."""
    rows = [(ending.relationship.id, other.email, lead.email) for ending in book.ended
            for lead in (ending.relationship.leads or ending.relationship.members[:1])
            for other in ending.relationship.others]
    return pd.DataFrame(rows, columns=["pair_id", "mentee_email", "mentor_email"])


def _ended_days(book: PairingBook) -> dict[str, pd.Timestamp]:
    return {ending.relationship.id: pd.Timestamp(ending.ended_on) for ending in book.ended}


def _until_ended(book: PairingBook, slots: pd.DataFrame, logs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scheduled and logged check-ins of ended relationships after their end date left out
    (they were cancelled): nothing after an ending counts as due, held or missed."""
    days = _ended_days(book)
    slot_end = slots["pair_id"].map(days)
    slots = slots[slot_end.isna() | (slots["day"] <= slot_end)].reset_index(drop=True)
    slots["slot"] = np.arange(len(slots))
    log_end = logs["pair_id"].map(days)
    return slots, logs[log_end.isna() | (logs["date"] <= log_end)]


def _ended_status(book: PairingBook, slots: pd.DataFrame, logs: pd.DataFrame) -> pd.DataFrame:
    """One row per ended relationship: who, when and why it ended, its check-ins up to then."""
    ids = pd.Index([ending.relationship.id for ending in book.ended], dtype=object)
    held_logs = logs[logs["held"]]
    by_pair = slots.groupby("pair_id") if len(slots) else None
    due = by_pair["due"].sum().reindex(ids, fill_value=0).astype(int) if by_pair is not None else pd.Series(0, index=ids)
    held = by_pair["held"].sum().reindex(ids, fill_value=0).astype(int) if by_pair is not None else pd.Series(0, index=ids)
    last = held_logs.groupby("pair_id")["date"].max().reindex(ids)
    return pd.DataFrame({
        "pair_id": ids.to_numpy(),
        "mentee": [_joined(m.name for m in e.relationship.others) for e in book.ended],
        "mentor": [_joined(m.name for m in e.relationship.leads) for e in book.ended],
        "ended_on": [e.ended_on for e in book.ended],
        "reason": [e.reason for e in book.ended],
        "scheduled_to_end": due.to_numpy(),
        "held": held.to_numpy(),
        "last_checkin": last.to_numpy(),
    }, columns=list(ENDED_COLUMNS))


def _ended_sheet(report: CohortReport) -> list[Column]:
    """cohort.xlsx's Ended sheet (the coordinator's workbook: the reason is theirs to see)."""
    rows, words = report.ended, report.words
    return [
        Column(words.id_title, [str(v) for v in rows["pair_id"]], TEXT, width=9, write_empty=True),
        Column(words.others, [str(v) for v in rows["mentee"]], TEXT, width=22, write_empty=True),
        Column(words.lead, [str(v) for v in rows["mentor"]], TEXT, width=22, write_empty=True),
        Column("Ended On", [v.isoformat() for v in rows["ended_on"]], TEXT, width=11, write_empty=True),
        Column("Reason", [str(v) for v in rows["reason"]], TEXT, width=40, write_empty=True),
        Column("Scheduled to End", [int(v) for v in rows["scheduled_to_end"]], NUMBER, width=10),
        Column("Held", [int(v) for v in rows["held"]], NUMBER, width=7),
        Column("Last Check-in", [_fmt_day(v) for v in rows["last_checkin"]], TEXT, width=12, write_empty=True),
    ]


def _ended_summary(report: CohortReport) -> list[dict[str, Any]]:
    """The ``--json`` list of ended relationships (the coordinator's: with the reason)."""
    return [{"pair_id": str(r["pair_id"]), "ended_on": r["ended_on"].isoformat(), "reason": str(r["reason"]),
             "scheduled_to_end": int(r["scheduled_to_end"]), "held": int(r["held"])}
            for r in report.ended.to_dict(orient="records")]


def _late_log_problems(late: pd.DataFrame, as_of: dt.date) -> list[Problem]:
    """One warning per file for check-ins dated after the report date (a report of an earlier
    date is normal; a row per answer would bury the real problems)."""
    out = []
    for (file, sheet), group in late.groupby(["file", "sheet"], sort=True):
        out.append(Problem(file=str(file), sheet=str(sheet), row=_int_or_none(group["row"].min()), column="",
                           severity="warning",
                           problem=f"{len(group)} check-in(s) dated after {as_of.isoformat()} are not counted "
                                   "in this report (the first is at this row)"))
    return out


def _slot_states(slots: pd.DataFrame, logs: pd.DataFrame, as_of_day: pd.Timestamp) -> pd.DataFrame:
    """Every scheduled check-in with ``due``, ``held``, ``missed``, ``upcoming``."""
    mapped = _logs_to_slots(slots, logs)
    held_slots = mapped.loc[mapped["held"], "slot"].unique()
    missed_slots = mapped.loc[~mapped["held"], "slot"].unique()
    state = slots.copy()
    state["held"] = state["slot"].isin(held_slots)
    logged_missed = state["slot"].isin(missed_slots) & ~state["held"]
    state["due"] = (state["day"] < as_of_day) | state["held"] | logged_missed
    state["missed"] = state["due"] & ~state["held"]
    state["upcoming"] = ~state["due"]
    state["month"] = state["day"].dt.strftime("%Y-%m")
    return state


def _logs_to_slots(slots: pd.DataFrame, logs: pd.DataFrame) -> pd.DataFrame:
    """Which scheduled check-in each log row answers: its own row of the check-in sheet, or,
    for a form answer, the pair's scheduled check-in nearest to the date it took place."""
    if slots.empty or logs.empty:
        return pd.DataFrame({"slot": pd.Series([], dtype=int), "held": pd.Series([], dtype=bool)})
    direct = logs[logs["slot_utc"].notna()].merge(
        slots[["slot", "pair_id", "start_utc"]], left_on=["pair_id", "slot_utc"], right_on=["pair_id", "start_utc"],
        how="left")
    matched = direct[direct["slot"].notna()]
    loose = pd.concat([logs[logs["slot_utc"].isna()], direct.loc[direct["slot"].isna(), list(LOG_COLUMNS)]],
                      ignore_index=True)
    loose = loose[loose["pair_id"].isin(slots["pair_id"])].sort_values("date", kind="stable")
    nearest = pd.merge_asof(loose, slots[["slot", "pair_id", "day"]].sort_values("day", kind="stable"),
                            left_on="date", right_on="day", by="pair_id", direction="nearest")
    both = pd.concat([matched[["slot", "held"]], nearest[["slot", "held"]]], ignore_index=True)
    both = both[both["slot"].notna()]
    return both.astype({"slot": int, "held": bool})


def _unscheduled_meetings(logs: pd.DataFrame, slots: pd.DataFrame) -> pd.DataFrame:
    """Held check-ins of pairs that have no schedule at all: one per pair and day."""
    held = logs[logs["held"] & ~logs["pair_id"].isin(slots["pair_id"])]
    meetings = held[["pair_id", "date"]].drop_duplicates()
    return meetings.assign(month=meetings["date"].dt.strftime("%Y-%m"))


def _relationship_status(
    relationships: Sequence[Relationship],
    slots: pd.DataFrame,
    logs: pd.DataFrame,
    unscheduled: pd.DataFrame,
    config: Config,
    as_of_day: pd.Timestamp,
) -> pd.DataFrame:
    """One row per relationship: counts, last check-in, ratings, goal progress, at-risk flag and reason.

    Check-ins and logs are keyed by relationship id, so a mentor meeting two mentees at once is
    one relationship with one count, not two pairs.
    """
    settings = config.report
    pair_ids = pd.Index([relationship.id for relationship in relationships], dtype=object)
    others = [relationship.others for relationship in relationships]
    leads = [relationship.leads for relationship in relationships]
    by_pair = slots.groupby("pair_id")
    due = by_pair["due"].sum().reindex(pair_ids, fill_value=0).astype(int)
    held_slots = by_pair["held"].sum().reindex(pair_ids, fill_value=0).astype(int)
    missed = by_pair["missed"].sum().reindex(pair_ids, fill_value=0).astype(int)
    upcoming = by_pair["upcoming"].sum().reindex(pair_ids, fill_value=0).astype(int)
    extra = unscheduled.groupby("pair_id").size().reindex(pair_ids, fill_value=0).astype(int)

    last_held_slot = slots[slots["held"]].groupby("pair_id")["day"].max()
    due_slots = slots[slots["missed"]].merge(last_held_slot.rename("last_held").reset_index(), on="pair_id", how="left")
    trailing = due_slots[due_slots["last_held"].isna() | (due_slots["day"] > due_slots["last_held"])]
    missed_in_row = trailing.groupby("pair_id").size().reindex(pair_ids, fill_value=0).astype(int)

    held_logs = logs[logs["held"]]
    last_checkin = held_logs.groupby("pair_id")["date"].max().reindex(pair_ids)
    first_due = slots.groupby("pair_id")["day"].min().reindex(pair_ids)
    if len(slots):
        first_due = first_due.fillna(slots["day"].min())
    clock_start = last_checkin.fillna(first_due)
    days = (as_of_day - clock_start).dt.days
    days_since = days.where(days >= 0)

    rated = held_logs[held_logs["rating"].notna()].sort_values("date", kind="stable")
    mean_rating = rated.groupby("pair_id")["rating"].mean().reindex(pair_ids)
    last_rating = rated.groupby("pair_id")["rating"].last().reindex(pair_ids)
    with_progress = logs[logs["goal_progress"] != ""].sort_values("date", kind="stable")
    goal_progress = with_progress.groupby("pair_id")["goal_progress"].last().reindex(pair_ids).fillna("")
    next_checkin = slots[slots["upcoming"]].groupby("pair_id")["start_utc"].min().reindex(pair_ids)

    status = pd.DataFrame({
        "pair_id": pair_ids.to_numpy(),
        "mentee": [_joined(str(member.name) for member in members) for members in others],
        "mentee_email": [_joined(_email_key(member.email) for member in members) for members in others],
        "mentor": [_joined(str(member.name) for member in members) for members in leads],
        "mentor_email": [_joined(_email_key(member.email) for member in members) for members in leads],
        "scheduled_to_date": due.to_numpy(),
        "held": (held_slots + extra).to_numpy(),
        "missed": missed.to_numpy(),
        "missed_in_row": missed_in_row.to_numpy(),
        "upcoming": upcoming.to_numpy(),
        "last_checkin": last_checkin.to_numpy(),
        "days_since": days_since.astype("Int64").to_numpy(),
        "mean_rating": mean_rating.round(2).to_numpy(),
        "last_rating": last_rating.to_numpy(),
        "goal_progress": goal_progress.astype(str).to_numpy(),
        "next_checkin": next_checkin.to_numpy(),
    })
    status["days_since"] = status["days_since"].astype("Int64")
    quiet = days_since.fillna(-1).to_numpy() >= at_risk_days(config)
    never = last_checkin.isna().to_numpy()
    streak = status["missed_in_row"].to_numpy() >= settings.missed_in_row
    low_mean = (status["mean_rating"] <= settings.low_rating).fillna(False).to_numpy(dtype=bool)
    low_last = (status["last_rating"] <= settings.low_rating).fillna(False).to_numpy(dtype=bool)
    days_text = days_since.fillna(0).astype(int).astype(str).to_numpy()
    schedule_reasons = [
        _reasons(
            (q and not n, f"no check-in for {d} days"),
            (q and n, f"no check-in held in the {d} days since the first one was due"),
            (s, _missed_in_row_text(m)),
        )
        for q, n, s, d, m in zip(quiet, never, streak, days_text, status["missed_in_row"])
    ]
    rating_reasons = [
        _reasons(
            (lm, f"mean rating {mr:.1f} (at or below {settings.low_rating})"),
            (ll and not lm, f"last rating {lr:g} (at or below {settings.low_rating})"),
        )
        for lm, ll, mr, lr in zip(low_mean, low_last, status["mean_rating"], status["last_rating"])
    ]
    status["at_risk"] = quiet | streak | low_mean | low_last
    status["reason"] = ["; ".join(x for x in (a, b) if x) for a, b in zip(schedule_reasons, rating_reasons)]
    status["behind"] = quiet | (status["missed_in_row"].to_numpy() > 0)
    status["behind_reason"] = [
        _reasons((q and not n, f"no check-in for {d} days"),
                 (q and n, f"no check-in held in the {d} days since the first one was due"),
                 (m > 0, _missed_in_row_text(m)))
        for q, n, d, m in zip(quiet, never, days_text, status["missed_in_row"])
    ]
    return status.loc[:, list(STATUS_COLUMNS)]


def _email_key(address: Any) -> str:
    """The identity key of an address as the workbook holds it (trimmed, lower case)."""
    return str(address).strip().lower()


def _joined(values: Iterable[str]) -> str:
    """Several members in one status cell: ``"a; b"`` (one value for a pair, as it always was)."""
    return LIST_SEPARATOR.join(values)


def _missed_in_row_text(count: int) -> str:
    return f"{count} check-in{'s' if count != 1 else ''} missed in a row"


def _reasons(*candidates: tuple[bool, str]) -> str:
    return "; ".join(text for applies, text in candidates if applies)


def _by_month(slots: pd.DataFrame, unscheduled: pd.DataFrame) -> pd.DataFrame:
    """Check-ins per month (UTC): scheduled in all, due so far, held, missed."""
    months = slots.groupby("month").agg(scheduled=("slot", "size"), due=("due", "sum"),
                                        held=("held", "sum"), missed=("missed", "sum"))
    extra = unscheduled.groupby("month").size()
    months = months.reindex(months.index.union(extra.index), fill_value=0)
    months["held"] = months["held"] + extra.reindex(months.index, fill_value=0)
    months = months.astype(int).sort_index().rename_axis("month").reset_index()
    months["month"] = months["month"].astype(str)
    return months


def at_risk_days(config: Config) -> int:
    """``[report] at_risk_days`` when set, else scaled with ``[schedule] cadence`` (45 days monthly,
    11 weekly, 21 fortnightly, 137 quarterly): a weekly pair quiet for 40 days is long at risk."""
    if config.report.at_risk_days is not None:
        return int(config.report.at_risk_days)
    cadence = CADENCES.get(str(config.schedule.cadence).strip().lower(), CADENCES["monthly"])
    return cadence.at_risk_days


def _totals(status: pd.DataFrame, relationships: Sequence[Relationship], logs: pd.DataFrame,
            at_risk_days: int) -> dict[str, Any]:
    """The cohort's headline figures (plain Python numbers, ready for JSON and templates).

    ``pairs`` counts relationships: a mentor with two mentees is one.
    """
    members = [(_email_key(m.email), m.role) for relationship in relationships for m in relationship.members]
    scheduled = int(status["scheduled_to_date"].sum())
    held = int(status["held"].sum())
    ratings_all = logs.loc[logs["held"] & logs["rating"].notna(), "rating"]
    days = status["days_since"]
    active = status["last_checkin"].notna() & (days.fillna(at_risk_days) < at_risk_days).astype(bool)
    return {
        "pairs": len(status),
        "participants": len({email for email, _ in members}),
        "mentees": len({email for email, role in members if role == "mentee"}),
        "mentors": len({email for email, role in members if role == "mentor"}),
        "active_pairs": int(active.sum()),
        "scheduled_to_date": scheduled,
        "held": held,
        "missed": int(status["missed"].sum()),
        "upcoming": int(status["upcoming"].sum()),
        "held_rate": round(held / scheduled, 4) if scheduled else None,
        "pairs_at_risk": int(status["at_risk"].sum()),
        "pairs_never_met": int(status["last_checkin"].isna().sum()),
        "ratings": len(ratings_all),
        "mean_rating": round(float(ratings_all.mean()), 2) if len(ratings_all) else None,
    }


def report_summary(report: CohortReport) -> dict[str, Any]:
    """A JSON-friendly summary: totals, the pairs at risk with reasons, problem counts."""
    at_risk = report.at_risk
    summary = {
        "as_of": report.as_of.isoformat(),
        "totals": report.totals,
        "at_risk": [{"pair_id": p, "reason": r} for p, r in zip(at_risk["pair_id"], at_risk["reason"])],
        "by_month": report.by_month.to_dict(orient="records"),
        "problems": [p.as_dict() for p in report.problems],
    }
    if len(report.ended):
        summary["ended"] = _ended_summary(report)
    if report.attendance is not None:
        summary["stopped_coming"] = stopped_coming(report.attendance)
    if report.surveys is not None:
        summary["surveys"] = report.surveys.sponsor_view()
    if report.cohorts:
        summary["cohorts"] = report_comparison(report)
    return summary


# ---------------------------------------------------------------------------------------------
# Writing the report
# ---------------------------------------------------------------------------------------------

OUTBOX = "outbox"
GROUP_FIELDS = ("industry", "organisation", "department", "location")
SPONSOR_FILE = "sponsor-summary"


def write_report(
    report: CohortReport,
    book: PairingBook,
    config: Config,
    out_dir: str | Path,
    *,
    force: bool,
    templates_dir: str | Path | None = None,
    on_stage: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write ``cohort.html``, ``cohort.xlsx`` and ``outbox/*.eml`` into ``out_dir``.

    Every target and every address is checked before anything is rendered, and the HTML,
    the workbook and (up to ``PARALLEL_FROM`` drafts) the emails are rendered in memory before
    the first file is written, so a refusal or a template error leaves the folder as it was.
    Larger cohorts render and write their drafts over ``workers`` processes (default: twice
    the cores). ``templates_dir`` (default ``config.folder / "templates"``) overrides built-in
    templates file by file. ``on_stage`` is called with "html", "xlsx", "emails", "write" as
    each stage starts; with several workers, rendering the drafts happens in "write".
    """
    stage = on_stage or (lambda name: None)
    out_dir = Path(out_dir)
    overrides = _override_dir(config, templates_dir)
    html_path, xlsx_path, outbox = out_dir / "cohort.html", out_dir / "cohort.xlsx", out_dir / OUTBOX
    stems = participant_stems(report) + ([sponsor_stem(report)] if _sponsors(config) else [])
    names = message_file_names(stems)
    files.check_targets([html_path, xlsx_path, *(outbox / name for name in names)], force=force)
    if not force:
        files.check_targets([outbox / SENT_FOLDER / name for name in names], force=False)
    files.remove_stale_temporaries(outbox)  # a killed run's temporary drafts: never sent, gone now
    check_addresses(report, book, config)
    stage("html")
    html = render_cohort_html(report, config, templates_dir=overrides)
    stage("xlsx")
    xlsx = cohort_workbook_bytes(report, book, config)
    stage("emails")
    sponsor = sponsor_message(report, book, config, templates_dir=overrides)
    mail = ProgressMail.for_report(report, config, overrides)
    jobs = list(zip(participant_stems(report), participant_contexts(report, book, config)))
    processes = _email_workers(len(jobs), workers)
    if processes > 1 and jobs:
        mail.render(jobs[0][1])  # a template error stops the run here, before any file is written
    messages = [] if processes > 1 else [(stem, mail.render(context)) for stem, context in jobs]
    messages += [sponsor] if sponsor is not None else []
    stage("write")
    with files.all_or_nothing():  # a failure halfway leaves none of the set
        files.atomic_write_text(html_path, html, force=force)
        files.atomic_write_bytes(xlsx_path, xlsx, force=force)
        written = write_outbox(messages, outbox, force=force) if messages else []
        if processes > 1:
            written = write_participant_emails(jobs, mail, outbox, force=force, workers=processes) + written
    return [html_path, xlsx_path, *written]


def _override_dir(config: Config, templates_dir: str | Path | None) -> Path | None:
    if templates_dir is not None:
        return Path(templates_dir)
    candidate = config.folder / "templates"
    return candidate if candidate.is_dir() else None


def _fmt_day(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _fmt_number(value: Any, digits: int = 1) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"


def _fmt_percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _status_rows(status: pd.DataFrame) -> list[dict[str, Any]]:
    """Status rows as display strings for the HTML page."""
    rows = []
    for record in status.to_dict(orient="records"):
        rows.append({
            "pair_id": record["pair_id"], "mentee": record["mentee"], "mentor": record["mentor"],
            "scheduled": int(record["scheduled_to_date"]), "held": int(record["held"]),
            "missed": int(record["missed"]), "missed_in_row": int(record["missed_in_row"]),
            "last_checkin": _fmt_day(record["last_checkin"]),
            "days_since": "" if pd.isna(record["days_since"]) else int(record["days_since"]),
            "mean_rating": _fmt_number(record["mean_rating"]),
            "goal_progress": record["goal_progress"], "at_risk": bool(record["at_risk"]),
            "reason": record["reason"],
        })
    return rows


def _progress_summary(status: pd.DataFrame, min_group: int = 1) -> dict[str, Any]:
    """Latest goal progress across pairs: mean when answers are numbers or percentages (shown
    only from ``min_group`` pairs up), otherwise counts per answer, answers given by fewer than
    ``min_group`` pairs folded into "other answers" (free text stays out of aggregate views)."""
    answers = status.loc[status["goal_progress"] != "", "goal_progress"]
    numbers = answers.str.rstrip("%").str.strip()
    numeric = pd.to_numeric(numbers, errors="coerce")
    summary: dict[str, Any] = {"answered": len(answers), "mean": None, "counts": []}
    if len(answers) and numeric.notna().all():
        # "40%" and "40" are percentages; 0.4 (a cell formatted as percent) is a fraction
        percent = numeric.where(answers.str.endswith("%") | (numeric > 1), numeric * 100)
        if len(answers) >= min_group:
            summary["mean"] = f"{percent.mean():.0f}%"
        return summary
    counts = answers.map(lambda text: " ".join(text.split())).value_counts()
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    shown = counts[counts >= min_group]
    other = int(counts[counts < min_group].sum())
    summary["counts"] = [{"label": str(k), "count": int(v)} for k, v in shown.items()]
    if other:
        summary["counts"].append({"label": "other answers", "count": other})
    return summary


def render_cohort_html(report: CohortReport, config: Config, *, templates_dir: Path | None = None) -> str:
    """``cohort.html``: one self-contained page, charts inside as SVG data URIs."""
    totals = report.totals
    context = {
        "programme": config.cohort.name,
        "coordinator_name": config.cohort.coordinator_name,
        "as_of": report.as_of.isoformat(),
        "totals": totals,
        "held_rate": _fmt_percent(totals["held_rate"]),
        "mean_rating": "n/a" if totals["mean_rating"] is None else f"{totals['mean_rating']:.1f}",
        "settings": report.settings,
        "charts": {"months": chart_by_month(report.by_month, report.as_of),
                   "ratings": chart_ratings(report.ratings)},
        "by_month": report.by_month.to_dict(orient="records"),
        "ratings": [{"rating": k, "count": v} for k, v in report.ratings.items()],
        "progress": _progress_summary(report.status),
        "at_risk": _status_rows(report.at_risk),
        "pairs": _status_rows(report.status),
        "problems": [p.as_dict() | {"where": p.location()} for p in report.problems],
        "surveys": survey_page_context(report),
        "comparison": report_comparison(report),
        "words": report.words,
    }
    if report.attendance is not None:
        context["attendance"] = attendance_rows(report.attendance)
    return render_template(html_page_env(templates_dir), "report.html.j2", context)


def _svg_data_uri(draw) -> str:
    """Run ``draw(axes)`` on a fresh figure and return it as a deterministic SVG data URI.

    A fixed hash salt and no date make the bytes the same on every run; text is drawn as
    paths, so no font is needed where the page is opened.
    """
    with matplotlib.rc_context({"svg.hashsalt": "mentorcli", "svg.fonttype": "path", "font.family": "DejaVu Sans",
                                "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}):
        figure = Figure(figsize=(7.2, 2.8), dpi=96)
        axes = figure.subplots()
        draw(axes)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of check-ins
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "mentorcli"})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def chart_by_month(by_month: pd.DataFrame, as_of: dt.date) -> str:
    """Bar chart: check-ins due versus held per month up to the report month."""
    shown = by_month[by_month["month"] <= as_of.strftime("%Y-%m")]

    def draw(axes) -> None:
        x = np.arange(len(shown))
        axes.bar(x - 0.2, shown["due"], width=0.4, label="scheduled (due)", color="#9db4d3")
        axes.bar(x + 0.2, shown["held"], width=0.4, label="held", color="#2f6f4f")
        axes.set_xticks(x, list(shown["month"]))
        axes.set_ylabel("check-ins")
        axes.set_title("Check-ins held versus scheduled, by month")
        axes.legend(frameon=False)
        if not len(shown):
            axes.text(0.5, 0.5, "no check-in due yet", ha="center", va="center", transform=axes.transAxes)

    return _svg_data_uri(draw)


def chart_ratings(ratings: dict[int, int]) -> str:
    """Bar chart: how many check-ins got each rating from 1 to 5."""

    def draw(axes) -> None:
        keys = list(ratings)
        axes.bar(keys, [ratings[k] for k in keys], color="#c98b2b")
        axes.set_xticks(keys, [str(k) for k in keys])
        axes.set_xlabel("rating")
        axes.set_ylabel("check-ins")
        axes.set_title("Ratings of check-ins held")

    return _svg_data_uri(draw)


_XLSX_STATUS = (
    ("Pair ID", "pair_id", 9), ("Mentee", "mentee", 22), ("Mentee Email", "mentee_email", 28),
    ("Mentor", "mentor", 22), ("Mentor Email", "mentor_email", 28),
    ("Scheduled to Date", "scheduled_to_date", 10), ("Held", "held", 7), ("Missed", "missed", 8),
    ("Missed in a Row", "missed_in_row", 9), ("Upcoming", "upcoming", 9), ("Last Check-in", "last_checkin", 12),
    ("Days Since", "days_since", 8), ("Mean Rating", "mean_rating", 8), ("Last Rating", "last_rating", 8),
    ("Goal Progress", "goal_progress", 24), ("Next Check-in (UTC)", "next_checkin", 17),
    ("At Risk", "at_risk", 8), ("Reason", "reason", 50),
)


COHORT_HEADER_FORMAT = {"bold": True, "bg_color": "#e8eef6", "border": 1, "text_wrap": True, "valign": "top"}
_NO_WRAP = {"text_wrap": False}
"""The Status sheet's text cells have always carried this (unwrapped) format; kept for the same bytes."""
_PROBLEM_COLUMNS = (("File", 30), ("Sheet", 12), ("Row", 6), ("Column", 18), ("Severity", 9), ("Problem", 80))
_STATUS_FORMATS = {"last_checkin": "yyyy-mm-dd", "next_checkin": "yyyy-mm-dd hh:mm",
                   "mean_rating": "0.0", "last_rating": "0.0"}


def _status_title(title: str, words: RelationshipWords) -> str:
    """A Status header in the workbook's words: "Circle ID", "Members", "Facilitator Email"."""
    pair = RelationshipWords()
    shown = {"Pair ID": words.id_title, pair.others: words.others, pair.others_email: words.others_email}
    return shown.get(title, title.replace(pair.lead, words.lead))


def cohort_workbook_bytes(report: CohortReport, book: PairingBook, config: Config) -> bytes:
    """``cohort.xlsx`` in memory: Status (a row per pair), By Month, Summary, Problems.

    No cell can become a formula or a link; the document date is the report date, so the
    same inputs give the same bytes.
    """
    buffer = io.BytesIO()
    write_table_workbook(buffer, _cohort_sheets(report, book), {
        "title": f"{config.cohort.name}: progress as of {report.as_of.isoformat()}",
        "created": dt.datetime.combine(report.as_of, dt.time()),
    })
    return buffer.getvalue()


def _cohort_sheets(report: CohortReport, book: PairingBook) -> list[TableSheet]:
    def table(name: str, columns: list[Column], *, filters: bool = True) -> TableSheet:
        return TableSheet(name, columns, COHORT_HEADER_FORMAT, autofilter=filters, filter_min_rows=1, by_rows=True)

    status = report.status.to_dict(orient="list")
    months = report.by_month.to_dict(orient="list")
    items = [("Report date", report.as_of.isoformat()), *report.totals.items(),
             *((f"Setting: {k}", v) for k, v in report.settings.items()),
             *((f"Check-ins rated {k}", v) for k, v in report.ratings.items())]
    problem_rows = [(p.file, p.sheet, p.row, p.column, p.severity, p.problem) for p in [*book.problems, *report.problems]]
    return [
        table("Status", [Column(_status_title(title, report.words), [_status_cell(key, v) for v in status.get(key, [])], ANY,
                                _STATUS_FORMATS.get(key), width, None if key == "at_risk" else _NO_WRAP, write_empty=True)
                         for title, key, width in _XLSX_STATUS]),
        table("By Month", [Column("Month", [str(v) for v in months.get("month", [])], TEXT, width=10, write_empty=True),
                           *(Column(title, [int(v) for v in months.get(key, [])], NUMBER, width=width)
                             for title, key, width in (("Scheduled", "scheduled", 10), ("Due", "due", 8),
                                                       ("Held", "held", 8), ("Missed", "missed", 8)))]),
        table("Summary", [Column("Figure", [str(label).replace("_", " ") for label, _ in items], TEXT, width=28,
                                 write_empty=True),
                          Column("Value", [_summary_cell(label, v) for label, v in items], ANY, width=14,
                                 write_empty=True)], filters=False),
        table("Problems", [Column(title, [_problem_cell(fields[c]) for fields in problem_rows], ANY, width=width,
                                  write_empty=True) for c, (title, width) in enumerate(_PROBLEM_COLUMNS)]),
        *([table("Attendance", attendance_columns(report.attendance))] if report.attendance is not None else []),
        *survey_sheets(report),
        *([table("Cohorts", comparison_sheet_columns(comparison), filters=False)]
          if (comparison := report_comparison(report)) else []),
    ] + ([table("Ended", _ended_sheet(report))] if len(report.ended) else [])


def _status_cell(key: str, value: Any) -> Any:
    """A Status cell as it is written: dates in UTC, ratings and counts as numbers, the rest text."""
    if key in ("last_checkin", "next_checkin"):
        if value is None or pd.isna(value):
            return None
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp.to_pydatetime()
    if key == "at_risk":
        return "Yes" if value else "No"
    if key in ("mean_rating", "last_rating", "days_since"):
        return None if pd.isna(value) else (int(value) if key == "days_since" else float(value))
    if isinstance(value, (int, np.integer)):
        return int(value)
    return str(value)


def _summary_cell(label: str, value: Any) -> Any:
    if value is None:
        return "n/a"
    if label == "held_rate":
        return Styled(float(value), "0%")
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else int(value)
    return str(value)


def _problem_cell(value: Any) -> Any:
    if isinstance(value, int) or value is None:
        return None if value is None else int(value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Emails
# ---------------------------------------------------------------------------------------------


def _long_day(value: Any) -> str:
    """``Tuesday 10 March 2026``, spelled out without the locale so output never varies."""
    day = pd.Timestamp(value)
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def _local_time(start_utc: Any, timezone: str) -> str:
    """A check-in start in a person's own time zone, with the zone named (UTC when unknown)."""
    return format_local_time(pd.Timestamp(start_utc).to_pydatetime(), timezone)


def _day_labels(days: pd.Series) -> np.ndarray:
    """``_long_day`` for a whole column at once (a year of check-ins is tens of thousands)."""
    index = pd.DatetimeIndex(days)
    if not len(index):
        return np.array([], dtype=object)
    weekday = np.array(WEEKDAYS, dtype=object)[index.day_of_week]
    month = np.array(MONTHS, dtype=object)[index.month - 1]
    day = index.day.astype(str).to_numpy(dtype=object)
    year = index.year.astype(str).to_numpy(dtype=object)
    return weekday + " " + day + " " + month + " " + year


def _local_day_labels(starts_utc: pd.Series, zones: pd.Series) -> np.ndarray:
    """The local day of each check-in start in the time zone beside it (UTC when unknown)."""
    labels = np.empty(len(starts_utc), dtype=object)
    starts = pd.DatetimeIndex(pd.to_datetime(starts_utc, utc=True))
    zone_values = zones.to_numpy()
    for zone in sorted(set(zone_values)):
        where = np.flatnonzero(zone_values == zone)
        local = starts[where].tz_convert(tzinfo_for(zone) or dt.UTC).tz_localize(None)
        labels[where] = _day_labels(local)
    return labels


def _lists_by_pair(pair_ids: pd.Series, labels: np.ndarray) -> dict[str, list[str]]:
    """``{pair_id: [label, ...]}`` in the given order, in one pass."""
    out: dict[str, list[str]] = {}
    for pair_id, label in zip(pair_ids, labels):
        out.setdefault(pair_id, []).append(label)
    return out


def _sender(config: Config) -> tuple[str, str]:
    return (config.cohort.coordinator_name, config.cohort.coordinator_email)


def _base_context(report: CohortReport, config: Config) -> dict[str, Any]:
    return {
        "programme": config.cohort.name,
        "coordinator_name": config.cohort.coordinator_name,
        "coordinator_email": config.cohort.coordinator_email,
        "as_of": _long_day(report.as_of),
    }


def participant_contexts(report: CohortReport, book: PairingBook, config: Config) -> list[dict[str, Any]]:
    """One template context per participant, built from their own relationships only.

    Holds for each relationship they are in: the other members, the mentees' goals, check-ins
    held (days) and missed (days in the person's own time zone), the next one in their local
    time, the latest goal progress and a nudge when behind. Nothing of a relationship they are
    not in. Ratings stay out: they may be another member's words. Sorted by email so the output
    order (and file names) never depend on input order.
    """
    people = book.people.assign(email=book.people["email"].astype(str).str.strip().str.lower())
    people = people.drop_duplicates("email").set_index("email")
    names = people["name"].astype(str).to_dict()
    zones = people["timezone"].fillna("").astype(str).to_dict()
    goals = people["goals"].to_dict()
    meetings = report.meetings
    held_days = _lists_by_pair(meetings["pair_id"], _day_labels(meetings["date"]))
    missed_days = _missed_days_by_member(report.checkins[report.checkins["missed"]], _relationships_of(report), zones)
    entries: dict[str, list[dict[str, Any]]] = {}
    for relationship, record in zip(_relationships_of(report), report.status.to_dict(orient="records")):
        members = addressed_members(relationship)
        for me in members:
            email = _email_key(me.email)
            partners = [other for other in members if other is not me]
            mentees = [other for other in members if other.role == "mentee"]
            next_checkin = record["next_checkin"]
            goal_sets = _goal_sets(me, mentees, goals)
            entries.setdefault(email, []).append({
                "pair_id": record["pair_id"],
                "role": me.role,
                "partners": [{"name": str(other.name), "email": _email_key(other.email),
                              "role": _part_for(me, other)} for other in partners],
                "partner": names_text([str(other.name) for other in partners]),
                "partner_email": ", ".join(_email_key(other.email) for other in partners),
                "partner_role": _part_for(me, partners[0]) if partners else "",
                "goals": goal_sets[0]["goals"] if goal_sets else [],
                "goal_sets": goal_sets,
                "scheduled": int(record["scheduled_to_date"]),
                "held_count": int(record["held"]),
                "missed_count": int(record["missed"]),
                "held": held_days.get(record["pair_id"], []),
                "missed": missed_days.get((record["pair_id"], email), []),
                "next": "" if pd.isna(next_checkin) else _local_time(pd.Timestamp(next_checkin), zones.get(email, "")),
                "goal_progress": record["goal_progress"],
                "behind": bool(record["behind"]),
                "nudge": record["behind_reason"],
                **({"attendance": own_attendance(report.attendance, record["pair_id"], email)}
                   if report.attendance is not None else {}),
            })
    base = _base_context(report, config)
    contexts = []
    for email in participant_emails(report):
        pairs = entries[email]
        contexts.append(base | {
            "email": email,
            "name": names.get(email) or email,
            "timezone": zones.get(email, "") or "UTC",
            "pairs": pairs,
            "behind": any(p["behind"] for p in pairs),
        })
    return contexts


def _part_for(me: Member, other: Member) -> str:
    """What ``other`` is to ``me``: "mentor", "mentee", or "fellow mentee" beside another mentee."""
    return f"fellow {other.role}" if other.role == me.role else other.role


def _goal_sets(me: Member, mentees: Sequence[Member], goals: dict[str, Any]) -> list[dict[str, Any]]:
    """The goals a member's progress email shows: a mentee their own, a mentor each mentee's."""
    if me.role == "mentee":
        shown = [(me, "Your goals")]
    else:
        shown = [(mentee, "Your mentee's goals" if len(mentees) == 1 else f"{mentee.name}'s goals") for mentee in mentees]
    sets = [{"label": label, "goals": list(goals.get(_email_key(member.email), ()) or ())} for member, label in shown]
    return [goal_set for goal_set in sets if goal_set["goals"]]


def _missed_days_by_member(missed: pd.DataFrame, relationships: Sequence[Relationship],
                           zones: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """``{(relationship id, member email): [missed day in that member's zone, ...]}`` in check-in order."""
    members = pd.DataFrame([(relationship.id, _email_key(member.email))
                            for relationship in relationships for member in relationship.members],
                           columns=["pair_id", "email"])
    rows = missed[["pair_id", "start_utc"]].merge(members, on="pair_id", how="inner")
    labels = _local_day_labels(rows["start_utc"], rows["email"].map(zones).fillna(""))
    out: dict[tuple[str, str], list[str]] = {}
    for pair_id, email, label in zip(rows["pair_id"], rows["email"], labels):
        out.setdefault((pair_id, email), []).append(label)
    return out


def _relationships_of(report: CohortReport) -> list[Relationship]:
    """The report's relationships; rebuilt from the status rows when a caller made the report by hand."""
    if report.relationships or report.status.empty:
        return report.relationships
    return relationships_from_pairs(report.status)


def participant_emails(report: CohortReport) -> list[str]:
    """Everyone in a relationship, by email, sorted: the order of the per-participant drafts."""
    return sorted({_email_key(member.email) for relationship in _relationships_of(report)
                   for member in relationship.members})


def participant_stems(report: CohortReport) -> list[str]:
    """File stems of the per-participant drafts, in ``participant_emails`` order."""
    day = report.as_of.isoformat()
    return files.unique_slugs([f"progress-{day}-{email}" for email in participant_emails(report)],
                              fallback="progress")


def sponsor_stem(report: CohortReport) -> str:
    return f"{SPONSOR_FILE}-{report.as_of.isoformat()}"


def _sponsors(config: Config) -> list[str]:
    return [address.strip() for address in config.cohort.sponsor_emails if address.strip()]


@dataclass(frozen=True)
class ProgressMail:
    """What every per-participant draft shares; picklable, so worker processes can render too."""

    sender: tuple[str, str]
    subject: str
    date: dt.date
    templates_dir: Path | None = None

    @classmethod
    def for_report(cls, report: CohortReport, config: Config, templates_dir: Path | None = None) -> ProgressMail:
        return cls(_sender(config), f"{config.cohort.name}: your check-ins as of {report.as_of.isoformat()}",
                   report.as_of, templates_dir)

    def render(self, context: dict[str, Any]) -> Any:
        """The draft for one participant's context (``participant_contexts``)."""
        return render_message("progress", context, to=[(context["name"], context["email"])], sender=self.sender,
                              subject=self.subject, templates_dir=self.templates_dir, date=self.date)


def participant_messages(
    report: CohortReport, book: PairingBook, config: Config, *, templates_dir: Path | None = None
) -> list[tuple[str, Any]]:
    """``(file stem, EmailMessage)`` for every participant in a pair.

    The stem ``progress-<as of>-<email>`` carries the report date, so next month's report does
    not collide with this month's drafts already moved to ``outbox/sent/``.
    """
    mail = ProgressMail.for_report(report, config, templates_dir)
    return [(stem, mail.render(context))
            for stem, context in zip(participant_stems(report), participant_contexts(report, book, config))]


PARALLEL_FROM = 1000
"""From this many drafts on, rendering and writing them is spread over processes: the email
package takes a few milliseconds per message and each atomic write waits for the disk."""
CHUNK = 250


def _render_and_write(job: tuple[ProgressMail, list[tuple[str, dict[str, Any]]], Path, bool]) -> list[Path]:
    """Worker: render one chunk of drafts and write it with ``mail.write_outbox``."""
    mail, chunk, outbox, force = job
    return write_outbox([(stem, mail.render(context)) for stem, context in chunk], outbox, force=force)


def _email_workers(count: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if count < PARALLEL_FROM:
        return 1
    # twice the cores: while one process waits for fsync, another renders
    return 2 * (os.cpu_count() or 1)



def write_participant_emails(
    jobs: Sequence[tuple[str, dict[str, Any]]],
    mail: ProgressMail,
    outbox: Path,
    *,
    force: bool,
    workers: int,
) -> list[Path]:
    """Render and write the per-participant drafts, over ``workers`` processes when above one.

    The first draft is rendered here first, so a template error stops the run before any
    draft is written; each file is still written atomically by ``mail.write_outbox``.
    """
    context = fork_context()
    if workers <= 1 or len(jobs) <= CHUNK or context is None:
        return write_outbox([(stem, mail.render(context)) for stem, context in jobs], outbox, force=force)
    mail.render(jobs[0][1])
    chunks = [list(jobs[i:i + CHUNK]) for i in range(0, len(jobs), CHUNK)]
    written: list[Path] = []
    with worker_stops("writing the drafts", outbox, "The drafts it wrote before are kept: run it again with --force to replace them."), \
            ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        for paths in pool.map(_render_and_write, [(mail, chunk, outbox, force) for chunk in chunks]):
            written.extend(paths)
    return written


def check_addresses(report: CohortReport, book: PairingBook, config: Config) -> None:
    """Refuse, before anything is written, an address no draft could be sent to."""
    relationships = _relationships_of(report)
    for side in ("others", "leads"):  # every mentee first, then every mentor, as the workbook lists them
        checked: set[str] = set()
        for relationship in relationships:
            for member in getattr(relationship, side):
                address = _email_key(member.email)
                if address in checked:
                    continue
                checked.add(address)
                try:
                    make_address("", address)
                except MentorError:
                    raise MentorError(f"pair {relationship.id}: the {member.role}'s email address is not usable",
                                      path=book.path, hint="Correct it in the pairing workbook and run again.") from None
    for address in _sponsors(config):
        try:
            make_address("", address)
        except MentorError:
            raise MentorError("a sponsor email address is not usable", path=config.path,
                              hint="Correct cohort.sponsor_emails in mentor.toml.") from None


def _group_breakdown(report: CohortReport, book: PairingBook, config: Config) -> dict[str, Any] | None:
    """Relationships, check-ins and those at risk per group (``report.group_by`` of the (first) mentee).

    Groups of fewer than ``min_group_size`` pairs are folded into "other groups"; when that
    fold is itself too small, the smallest shown groups join it, so no small group can be
    worked out by subtracting the others from the total. None when nothing can be shown.
    """
    group_field = getattr(config.report, "group_by", "industry") or ""
    if not group_field:
        return None
    if group_field not in GROUP_FIELDS:
        raise MentorError(f"report.group_by must be one of {', '.join(GROUP_FIELDS)} (or \"\" for none)",
                          path=config.path)
    if group_field not in book.people.columns:
        return None
    minimum = max(1, int(config.report.min_group_size))
    people = book.people.assign(email=book.people["email"].astype(str).str.strip().str.lower())
    labels = people.drop_duplicates("email").set_index("email")[group_field].astype(str).str.strip()
    status = report.status
    first_mentee = [_email_key(r.others[0].email) if r.others else "" for r in _relationships_of(report)]
    group = pd.Series(first_mentee, index=status.index, dtype=object).map(labels).fillna("").replace("", "(not given)")
    table = pd.DataFrame({"group": group, "pairs": 1, "scheduled": status["scheduled_to_date"],
                          "held": status["held"], "at_risk": status["at_risk"].astype(int)})
    sums = table.groupby("group").sum().sort_index()
    sums = sums.sort_values("pairs", ascending=False, kind="stable")
    small = sums["pairs"] < minimum
    shown, folded = sums[~small], sums[small]
    while len(folded) and folded["pairs"].sum() < minimum and len(shown):
        folded = pd.concat([folded, shown.iloc[[-1]]])
        shown = shown.iloc[:-1]
    if len(shown) == 0:
        return None
    rows: list[dict[str, Any]] = [{"label": str(k), **{c: int(v) for c, v in r.items()}} for k, r in shown.iterrows()]
    if len(folded):
        rows.append({"label": "other groups", **{c: int(v) for c, v in folded.sum().items()}})
    for row in rows:
        row["held_rate"] = _fmt_percent(row["held"] / row["scheduled"] if row["scheduled"] else None)
    return {"field": group_field, "rows": rows}


def sponsor_context(report: CohortReport, book: PairingBook, config: Config) -> dict[str, Any]:
    """Aggregates only: totals, check-ins by month, groups of at least ``min_group_size``
    pairs, goal progress answers given by at least that many pairs. No name, email or note."""
    totals = report.totals
    minimum = max(1, int(config.report.min_group_size))
    return _base_context(report, config) | {
        "totals": totals,
        "held_rate": _fmt_percent(totals["held_rate"]),
        "mean_rating": "n/a" if totals["mean_rating"] is None else f"{totals['mean_rating']:.1f}",
        "by_month": report.by_month.to_dict(orient="records"),
        "groups": _group_breakdown(report, book, config),
        "progress": _progress_summary(report.status, minimum),
        "min_group_size": minimum,
        "settings": report.settings,
        "surveys": survey_sponsor_context(report),
        "comparison": report_comparison(report),
    }


def sponsor_message(
    report: CohortReport, book: PairingBook, config: Config, *, templates_dir: Path | None = None
) -> tuple[str, Any] | None:
    """The sponsor summary to ``cohort.sponsor_emails``; None when no sponsor is configured."""
    sponsors = _sponsors(config)
    if not sponsors:
        return None
    subject = f"{config.cohort.name}: programme summary as of {report.as_of.isoformat()}"
    template = SPONSOR_CIRCLES if book.circles else "sponsor"
    message = render_message(template, sponsor_context(report, book, config), to=[("", e) for e in sponsors],
                             sender=_sender(config), subject=subject, templates_dir=templates_dir,
                             date=report.as_of)
    return sponsor_stem(report), message


# ---------------------------------------------------------------------------------------------
# Circles: attendance per member
# ---------------------------------------------------------------------------------------------
#
# A circle's status (held, missed, at risk) is its relationship's, with the same thresholds as a
# pair's. What a circle adds is who comes: ``checkins.xlsx`` has one row per member per meeting,
# so each member's Held is their own attendance. A meeting the circle held is one where at least
# one member's row says Held (or has a rating or goal progress, as for a pair); a member whose row
# of a held meeting is No or blank did not come (the coordinator marks who came). A member
# stopped coming when they missed each of the last ``missed_in_row`` meetings their circle held.
# Form answers name a relationship, not a meeting's attendance: they count for the circle only.

ATTENDANCE_COLUMNS = ("pair_id", "email", "name", "row", "circle_held", "attended", "missed", "missed_last", "stopped")
SPONSOR_CIRCLES = "sponsor-circles"
"""The sponsor summary of a circles workbook (``templates/sponsor-circles.*.j2``): circles counted."""


def _came(frame: pd.DataFrame) -> pd.Series:
    """Per check-in row: the member came (Held yes; Held blank with a rating or goal progress)."""
    held = frame["held"].map(_held_value)
    logged = frame["rating"].notna() | (frame["goal_progress"].fillna("").astype(str).str.strip() != "")
    return held.fillna(False).astype(bool) | (held.isna() & logged)


def _trailing_misses(came: Sequence[bool]) -> int:
    """How many of the last meetings in a row (time order) the member did not come to."""
    count = 0
    for attended in reversed(came):
        if attended:
            break
        count += 1
    return count


def circle_attendance(book: PairingBook, checkins: pd.DataFrame | None, config: Config,
                      as_of_day: pd.Timestamp) -> pd.DataFrame:
    """One row per member (Role "member") of every circle: meetings their circle held up to
    ``as_of_day``, how many they came to and missed, their misses in a row at the end, and
    ``stopped`` (that run is at least ``[report] missed_in_row``). Rows of people no longer in that
    circle are left out (the circle's status reports them as for a pair)."""
    members = book.pairs[["pair_id", "mentee_email", "mentee", "row"]].rename(
        columns={"mentee_email": "email", "mentee": "name"}).astype({"pair_id": str})
    came_to: dict[tuple[str, str], list[bool]] = {}
    if checkins is not None and not checkins.empty:
        frame = pd.DataFrame({
            "pair_id": checkins["pair_id"].astype(str).str.strip(),
            "email": checkins["mentee_email"].astype(str).str.strip().str.lower(),
            "start_utc": pd.to_datetime(checkins["start_utc"], utc=True),
            "came": _came(checkins).to_numpy(),
        }).merge(members[["pair_id", "email"]], on=["pair_id", "email"], how="inner")
        frame = frame[frame["start_utc"].notna()]
        frame = frame[frame["start_utc"].dt.tz_localize(None).dt.normalize() <= as_of_day]
        held = frame.groupby(["pair_id", "start_utc"])["came"].transform("any").astype(bool)
        frame = frame[held].sort_values(["pair_id", "email", "start_utc"], kind="stable")
        for (pair_id, email), group in frame.groupby(["pair_id", "email"], sort=False):
            came_to[(str(pair_id), str(email))] = group["came"].astype(bool).tolist()
    rows = []
    for pair_id, email, name, row in members.itertuples(index=False):
        came = came_to.get((pair_id, email), [])
        trailing = _trailing_misses(came)
        rows.append((pair_id, email, name, int(row), len(came), sum(came), len(came) - sum(came), trailing,
                     trailing >= config.report.missed_in_row))
    return pd.DataFrame(rows, columns=list(ATTENDANCE_COLUMNS))


def circle_totals(status: pd.DataFrame, attendance: pd.DataFrame) -> dict[str, Any]:
    """The circle figures added to the totals: circles, active and at risk, and counts of members
    (never who): everyone a circle holds besides its lead, and those who stopped coming."""
    return {
        "circles": len(status),
        "circles_at_risk": int(status["at_risk"].sum()),
        "circle_members": len(attendance),
        "members_stopped": int(attendance["stopped"].sum()),
    }


def stopped_coming(attendance: pd.DataFrame) -> list[dict[str, Any]]:
    """Members who stopped coming, by circle id and Circles row (no names: this goes to stdout)."""
    stopped = attendance[attendance["stopped"]]
    return [{"pair_id": str(circle), "row": int(row), "missed_in_row": int(missed)}
            for circle, row, missed in zip(stopped["pair_id"], stopped["row"], stopped["missed_last"])]


def attendance_rows(attendance: pd.DataFrame) -> list[dict[str, Any]]:
    """``cohort.html``'s attendance table: the coordinator's view, names included."""
    return [{key: (bool(value) if key == "stopped" else value) for key, value in record.items()}
            for record in attendance.to_dict(orient="records")]


def attendance_columns(attendance: pd.DataFrame) -> list[Column]:
    """``cohort.xlsx``'s Attendance sheet: a row per circle member."""
    return [
        Column("Circle ID", [str(v) for v in attendance["pair_id"]], TEXT, width=10, write_empty=True),
        Column("Member", [str(v) for v in attendance["name"]], TEXT, width=24, write_empty=True),
        Column("Email", [str(v) for v in attendance["email"]], TEXT, width=30, write_empty=True),
        Column("Circles Row", [int(v) for v in attendance["row"]], NUMBER, width=8),
        Column("Circle Held", [int(v) for v in attendance["circle_held"]], NUMBER, width=8),
        Column("Came", [int(v) for v in attendance["attended"]], NUMBER, width=8),
        Column("Missed", [int(v) for v in attendance["missed"]], NUMBER, width=8),
        Column("Missed In A Row", [int(v) for v in attendance["missed_last"]], NUMBER, width=10),
        Column("Stopped Coming", ["yes" if v else "" for v in attendance["stopped"]], TEXT, width=10, write_empty=True),
    ]


def own_attendance(attendance: pd.DataFrame, pair_id: str, email: str) -> dict[str, Any] | None:
    """A member's own attendance for their progress email (None for the lead): only theirs,
    never another member's."""
    mine = attendance[(attendance["pair_id"] == str(pair_id)) & (attendance["email"] == email)]
    if mine.empty:
        return None
    record = mine.iloc[0]
    return {"circle_held": int(record["circle_held"]), "attended": int(record["attended"]),
            "stopped": bool(record["stopped"])}


# ---------------------------------------------------------------------------------------------
# Surveys (``mentor report --surveys``): the coordinator's per-relationship view, the sponsor's aggregates
# ---------------------------------------------------------------------------------------------

SURVEY_SHEET = "Surveys"
SURVEY_COMMENTS_SHEET = "Survey Comments"
_SURVEY_COLUMNS = (("Pair ID", 9), ("Members", 40), ("Responses", 10), ("Quality (1-5)", 10),
                   ("Would Recommend (0-10)", 12), ("Goal Progress First (1-5)", 12),
                   ("Goal Progress Latest (1-5)", 12))
_SURVEY_COMMENT_COLUMNS = (("Pair ID", 9), ("Survey", 10), ("Name", 22), ("Email", 28), ("Submitted", 12),
                           ("Comment", 80))


def _survey_figures(figures: SurveyFigures | None) -> dict[str, Any] | None:
    """Figures as display text: means to one decimal, NPS signed, "" where nobody answered."""
    if figures is None:
        return None
    return {
        "responses": figures.responses, "respondents": figures.respondents, "relationships": figures.relationships,
        "quality": _fmt_number(figures.quality), "recommend": _fmt_number(figures.recommend),
        "nps": "" if figures.nps is None else f"{figures.nps:+.0f}",
        "goal_first": _fmt_number(figures.goal_first), "goal_latest": _fmt_number(figures.goal_latest),
    }


def _member_names(relationship: Relationship) -> str:
    return "; ".join(str(member.name) or member.email for member in relationship.members)


def survey_page_context(report: CohortReport) -> dict[str, Any] | None:
    """The coordinator's survey section of ``cohort.html``: figures per relationship with its
    members' names and comments (private: this page and ``cohort.xlsx`` only). None without surveys."""
    summary = report.surveys
    if summary is None:
        return None
    names = {_email_key(member.email): str(member.name) for entry in summary.relationships
             for member in entry.relationship.members}
    rows = []
    for entry in summary.relationships:
        rows.append({"pair_id": entry.relationship.id, "members": _member_names(entry.relationship),
                     **(_survey_figures(entry.figures) or {}),
                     "comments": [{"kind": c.kind, "name": names.get(c.email, c.email),
                                   "submitted": c.submitted.isoformat() if c.submitted else "", "text": c.text}
                                  for c in entry.comments]})
    return {"responses": summary.responses, "respondents": summary.respondents, "by_kind": summary.by_kind,
            "overall": _survey_figures(summary.everyone), "relationships": rows}


def _survey_cell(value: float | None) -> float | None:
    return None if value is None else float(value)


def survey_sheets(report: CohortReport) -> list[TableSheet]:
    """``cohort.xlsx``'s Surveys sheet (a row per relationship) and Survey Comments sheet (the
    coordinator's private view of the free-text answers); none without surveys."""
    summary = report.surveys
    if summary is None:
        return []
    entries = summary.relationships
    values: list[list[Any]] = [
        [entry.relationship.id for entry in entries],
        [_member_names(entry.relationship) for entry in entries],
        [entry.figures.responses for entry in entries],
        [_survey_cell(entry.figures.quality) for entry in entries],
        [_survey_cell(entry.figures.recommend) for entry in entries],
        [_survey_cell(entry.figures.goal_first) for entry in entries],
        [_survey_cell(entry.figures.goal_latest) for entry in entries],
    ]
    kinds = (TEXT, TEXT, NUMBER, NUMBER, NUMBER, NUMBER, NUMBER)
    formats = (None, None, None, "0.0", "0.0", "0.0", "0.0")
    figures_sheet = TableSheet(SURVEY_SHEET, [
        Column(title, cells, kind, number_format, width, write_empty=True)
        for (title, width), cells, kind, number_format in zip(_SURVEY_COLUMNS, values, kinds, formats)
    ], COHORT_HEADER_FORMAT, autofilter=True, filter_min_rows=1, by_rows=True)
    names = {_email_key(member.email): str(member.name) for entry in entries for member in entry.relationship.members}
    comments = [(entry.relationship.id, c.kind, names.get(c.email, ""), c.email,
                 c.submitted.isoformat() if c.submitted else "", c.text)
                for entry in entries for c in entry.comments]
    comments_sheet = TableSheet(SURVEY_COMMENTS_SHEET, [
        Column(title, [str(row[n]) for row in comments], TEXT, width=width,
               text_format={"text_wrap": True} if title == "Comment" else None, write_empty=True)
        for n, (title, width) in enumerate(_SURVEY_COMMENT_COLUMNS)
    ], COHORT_HEADER_FORMAT, autofilter=True, filter_min_rows=1, by_rows=True)
    return [figures_sheet, comments_sheet]


def survey_sponsor_context(report: CohortReport) -> dict[str, Any] | None:
    """The sponsor summary's survey part: aggregates only (``SurveySummary.sponsor_view``: overall
    and groups of at least ``min_group_size`` respondents), never a name, email or comment."""
    summary = report.surveys
    if summary is None:
        return None
    return {"responses": summary.responses, "respondents": summary.respondents, "by_kind": summary.by_kind,
            "overall": _survey_figures(summary.overall), "group_by": summary.group_field,
            "groups": [{"label": group.label, **(_survey_figures(group.figures) or {})} for group in summary.groups],
            "min_group_size": summary.min_group_size}


# ---------------------------------------------------------------------------------------------
# Comparing cohorts (``mentor report --history DIR``)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortFigures:
    """One cohort's counts for the comparison across cohorts: aggregates only, never a name.

    ``participants``: everyone on the cohort's People sheet; ``matched``: how many of them were
    in a relationship (ended ones included); ``relationships``: current and ended; ``held`` and
    ``due``: check-ins held and scheduled up to the report date (``due`` 0 when no schedule is known).
    """

    label: str
    when: str
    participants: int
    matched: int
    relationships: int
    ended: int
    held: int
    due: int
    current: bool = False


def cohort_figures(book: PairingBook, totals: dict[str, Any] | None, *, label: str, when: str = "",
                   current: bool = False) -> CohortFigures:
    """The counts of one cohort from its workbook and (when its check-ins are known) its report totals."""
    everyone = [*book.relationships(), *(ending.relationship for ending in book.ended)]
    in_relationship = {_email_key(m.email) for relationship in everyone for m in relationship.members}
    signed_up = {_email_key(email) for email in book.people["email"].tolist()}
    return CohortFigures(label=label, when=when, participants=len(signed_up),
                         matched=len(signed_up & in_relationship), relationships=len(everyone), ended=len(book.ended),
                         held=int(totals["held"]) if totals else 0,
                         due=int(totals["scheduled_to_date"]) if totals else 0, current=current)


def _comparison_row(label: str, when: str, figures: Sequence[CohortFigures], current: bool) -> dict[str, Any]:
    participants = sum(f.participants for f in figures)
    matched = sum(f.matched for f in figures)
    held, due = sum(f.held for f in figures), sum(f.due for f in figures)
    matched_share = round(matched / participants, 4) if participants else None
    held_rate = round(held / due, 4) if due else None
    return {"cohort": label, "when": when, "participants": participants,
            "relationships": sum(f.relationships for f in figures), "matched_share": matched_share,
            "held_rate": held_rate, "ended": sum(f.ended for f in figures), "current": current,
            "matched_pct": _fmt_percent(matched_share), "held_pct": _fmt_percent(held_rate)}


def cohort_comparison(figures: Sequence[CohortFigures], min_group_size: int) -> dict[str, Any] | None:
    """The sponsor's table across cohorts: each earlier cohort in the order given, then this one.

    An earlier cohort of fewer than ``min_group_size`` relationships is not broken out: it is
    folded into "other earlier cohorts"; when that fold is itself too small, the smallest shown
    cohorts join it, and a fold that stays too small is left out (``withheld`` counts the cohorts
    not shown at all). This cohort is always shown: its totals are in the summary already.
    None when there is nothing to compare.
    """
    if not figures:
        return None
    minimum = max(1, int(min_group_size))
    earlier = [f for f in figures if not f.current]
    by_size = sorted(range(len(earlier)), key=lambda i: (-earlier[i].relationships, i))
    shown = [i for i in by_size if earlier[i].relationships >= minimum]
    folded = [i for i in by_size if earlier[i].relationships < minimum]
    while folded and sum(earlier[i].relationships for i in folded) < minimum and shown:
        folded.append(shown.pop())
    rows = [_comparison_row(earlier[i].label, earlier[i].when, [earlier[i]], False) for i in sorted(shown)]
    withheld = 0
    if folded and sum(earlier[i].relationships for i in folded) >= minimum:
        rows.append(_comparison_row(f"other earlier cohorts ({len(folded)})", "", [earlier[i] for i in folded], False))
    else:
        withheld = len(folded)
    rows += [_comparison_row(f.label, f.when, [f], True) for f in figures if f.current]
    return {"rows": rows, "min_group_size": minimum, "withheld": withheld, "earlier": len(earlier)}


def report_comparison(report: CohortReport) -> dict[str, Any] | None:
    """``cohort_comparison`` of the cohorts the report was given (None without ``--history``)."""
    return cohort_comparison(report.cohorts, int(report.settings.get("min_group_size", 1)))


_COMPARISON_COLUMNS = (("Cohort", "cohort", TEXT, None, 28), ("When", "when", TEXT, None, 10),
                       ("Participants", "participants", NUMBER, "0", 12),
                       ("Relationships", "relationships", NUMBER, "0", 13),
                       ("Matched", "matched_share", NUMBER, "0%", 9), ("Check-ins Held", "held_rate", NUMBER, "0%", 14),
                       ("Ended", "ended", NUMBER, "0", 8))


def comparison_sheet_columns(comparison: dict[str, Any]) -> list[Column]:
    """The Cohorts sheet of ``cohort.xlsx``: the comparison table, shares as percentages."""
    rows = comparison["rows"]
    return [Column(title, [row[key] for row in rows], kind, number_format, width, write_empty=True)
            for title, key, kind, number_format, width in _COMPARISON_COLUMNS]

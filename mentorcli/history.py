"""Memory across cohorts: the pairing workbooks of earlier cohorts, read from one folder (``--history DIR``).

``mentor match --history DIR`` never puts two people together again who shared a relationship in
an earlier cohort (a pair, any two members of a circle, ended relationships too) and marks who took
part before; ``mentor report --history DIR`` compares this cohort with the earlier ones for the
sponsor (counts only).

Where the workbooks are found (sorted, so the same folder always reads the same way):

- every ``.xlsx`` / ``.xlsm`` / ``.ods`` / ``.xls`` directly in DIR, and in each folder directly
  under DIR (one level: ``DIR/2025-spring/pairs.xlsx``); deeper folders such as ``calendar/`` or
  ``reports/`` are not searched;
- a spreadsheet is a pairing workbook when it has the Pairs and People sheets ``mentor match``
  writes; any other spreadsheet (a ``checkins.xlsx``, a ``cohort.xlsx``) and any other file is
  skipped and named in ``notes``; hidden files, ``--force`` backups, temporaries and Excel's
  ``~$`` lock files are skipped silently;
- a spreadsheet that cannot be opened, or a pairing workbook that cannot be read, stops the run
  with one line naming it: an earlier cohort read only in part could let a pair be repeated;
- the workbook being written or reported on now is never read as an earlier cohort, and two copies
  of the same file (same bytes) count once.

A cohort's name: the Settings sheet's ``cohort.name`` when it has one, else the workbook's file name,
or its folder's name when the file is called ``pairs``. When: the month of the workbook's document
date (``mentor match`` sets it to the latest signup), blank when unknown.

A cohort's check-in log (for the held rate): ``checkins.xlsx`` beside its workbook, else in a
``calendar/`` folder beside it, as ``mentor schedule`` wrote it with Held filled in, and only when
the workbook is the only pairing workbook in its folder (with several, whose log it is cannot be
known, so none gets one and a note says so).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from python_calamine import CalamineError, CalamineWorkbook

from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.files import is_backup, is_temporary, sha256_file
from mentorcli.model import PairingBook, Problem, Relationship
from mentorcli.report import CohortFigures, build_report, cohort_figures, read_checkin_logs, read_schedule
from mentorcli.workbook import PAIRS, PEOPLE, read_pairing_workbook

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".xls")
CHECKINS = "checkins.xlsx"
CALENDAR_FOLDER = "calendar"
GENERIC_STEMS = ("pairs",)
"""File names that say nothing about the cohort: its folder names it instead."""
UNKNOWN_DATE = dt.datetime(2000, 1, 1)
"""The document date ``mentor match`` writes when no signup had a timestamp: no date at all."""
NAME_SETTINGS = ("cohort.name", "cohort")


@dataclass(frozen=True)
class EarlierCohort:
    """One earlier cohort: its workbook as read, what to call it, when, and its check-in sheet if found."""

    label: str
    when: str
    book: PairingBook
    checkins: Path | None = None

    @property
    def path(self) -> Path:
        return self.book.path

    def relationships(self) -> list[Relationship]:
        """Every relationship the cohort had: current ones, then ended ones."""
        return [*self.book.relationships(), *(ending.relationship for ending in self.book.ended)]


@dataclass
class History:
    """The earlier cohorts of ``folder``, oldest first, and what was skipped there and why."""

    folder: Path
    cohorts: list[EarlierCohort] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Rows of earlier workbooks that could not be used (``read_pairing_workbook``'s errors)."""

    def shared_pairs(self) -> list[tuple[str, str]]:
        """Every two people who shared a relationship in an earlier cohort, sorted, each once."""
        return shared_pairs(r for cohort in self.cohorts for r in cohort.relationships())

    def participation(self) -> dict[str, list[str]]:
        """Per email, what the person did in each earlier cohort they signed up for, oldest first:
        ``"2025 spring: mentee"`` (their roles in its relationships) or ``"2025 spring: signed up,
        not matched"``."""
        found: dict[str, list[str]] = {}
        for cohort in self.cohorts:
            roles: dict[str, list[str]] = {}
            for relationship in cohort.relationships():
                for member in relationship.members:
                    taken = roles.setdefault(member.email.strip().lower(), [])
                    if member.role not in taken:
                        taken.append(member.role)
            signed_up = [str(e).strip().lower() for e in cohort.book.people["email"].tolist()]
            for email in dict.fromkeys([*signed_up, *roles]):
                done = " and ".join(sorted(roles[email])) if email in roles else "signed up, not matched"
                found.setdefault(email, []).append(f"{cohort.label}: {done}")
        return found

    def took_part(self) -> set[str]:
        """Emails of everyone who was in a relationship (ended ones too) in an earlier cohort."""
        return {m.email.strip().lower() for cohort in self.cohorts for r in cohort.relationships() for m in r.members}


def shared_pairs(relationships: Iterable[Relationship]) -> list[tuple[str, str]]:
    """Every two members of each relationship (emails, the smaller first), sorted and each once.

    For the matcher's avoid list (``avoid_pairs``), which forbids a pair in either direction: in
    a circle, two members who met there are as much "paired before" as its mentor and a member.
    """
    found: set[tuple[str, str]] = set()
    for relationship in relationships:
        emails = sorted({member.email.strip().lower() for member in relationship.members if member.email.strip()})
        found.update(itertools.combinations(emails, 2))
    return sorted(found)


# --------------------------------------------------------------------------- finding the workbooks


def _skipped_silently(path: Path) -> bool:
    name = path.name
    return name.startswith((".", "~$")) or is_temporary(path) or is_backup(path)


def _candidates(folder: Path) -> tuple[list[Path], list[str]]:
    """Spreadsheets in ``folder`` and one level below it, sorted by path; the other files, named."""
    spreadsheets: list[Path] = []
    others: list[str] = []
    for entry in sorted(folder.iterdir()):
        if _skipped_silently(entry):
            continue
        inside = sorted(entry.iterdir()) if entry.is_dir() else [entry]
        for path in inside:
            if _skipped_silently(path) or path.is_dir():
                continue
            if path.suffix.lower() in SPREADSHEET_SUFFIXES:
                spreadsheets.append(path)
            else:
                others.append(path.relative_to(folder).as_posix())
    return spreadsheets, others


def _sheet_keys(path: Path) -> set[str]:
    """The sheet names of a spreadsheet, compared loosely; a file that cannot be opened stops the run."""
    try:
        names = CalamineWorkbook.from_path(str(path)).sheet_names
    except (CalamineError, OSError, ValueError) as exc:
        raise MentorError(f"earlier cohort's file cannot be read as a spreadsheet ({type(exc).__name__})", path=path,
                          hint="Save it again as .xlsx, or move it out of the --history folder.") from None
    return {" ".join(str(name).lower().split()) for name in names}


def _is_pairing_workbook(path: Path) -> bool:
    """Has the Pairs or the People sheet (a workbook with one of them and not the other is a
    damaged pairing workbook: reading it says which sheet is missing)."""
    keys = _sheet_keys(path)
    return PAIRS.lower() in keys or PEOPLE.lower() in keys


def _cohort_label(book: PairingBook, folder: Path) -> str:
    for key in NAME_SETTINGS:
        name = " ".join(book.settings.get(key, "").split())
        if name:
            return name
    path = book.path
    if path.stem.lower() in GENERIC_STEMS:
        return path.parent.name if path.parent != folder else folder.resolve().name
    return path.stem


def cohort_month(path: Path) -> str:
    """The month of the workbook's document date (``mentor match``: the latest signup), or ""."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return ""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a file calamine could read; the date is optional
        return ""
    try:
        created = workbook.properties.created
    finally:
        workbook.close()
    if not isinstance(created, dt.datetime) or created.replace(tzinfo=None) == UNKNOWN_DATE:
        return ""
    return created.strftime("%Y-%m")


def _checkins_beside(path: Path) -> Path | None:
    for candidate in (path.parent / CHECKINS, path.parent / CALENDAR_FOLDER / CHECKINS):
        if candidate.is_file():
            return candidate
    return None


def _unique_labels(cohorts: list[EarlierCohort], folder: Path) -> list[EarlierCohort]:
    """Two cohorts of the same name are told apart by their file's place in the folder."""
    counts: dict[str, int] = {}
    for cohort in cohorts:
        counts[cohort.label] = counts.get(cohort.label, 0) + 1
    return [cohort if counts[cohort.label] == 1 else
            EarlierCohort(f"{cohort.label} ({cohort.path.relative_to(folder).as_posix()})", cohort.when, cohort.book,
                          cohort.checkins)
            for cohort in cohorts]


def read_history(folder: str | Path, config: Config, *, exclude: Sequence[str | Path] = ()) -> History:
    """Every earlier cohort's pairing workbook in ``folder`` (see the module's docstring for where
    they are found), oldest first (by month, then by path). ``exclude``: this cohort's own
    workbooks (the one written or reported on now, the one ``--keep`` keeps). A folder with no pairing workbook is an error: ``--history`` was
    given for a reason, and matching as if no earlier pair existed would be a wrong guess."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MentorError("the --history folder is not found" if not folder.exists() else "--history is not a folder",
                          path=folder, hint="Name the folder that holds the earlier cohorts' pairs.xlsx files.")
    spreadsheets, others = _candidates(folder)
    excluded = {Path(p).resolve() for p in exclude}
    history = History(folder=folder)
    seen: dict[str, Path] = {}
    books: list[Path] = []
    not_workbooks: list[str] = []
    for path in spreadsheets:
        relative = path.relative_to(folder).as_posix()
        if path.resolve() in excluded:
            history.notes.append(f"{relative}: this cohort's own workbook, not read as an earlier cohort")
        elif not _is_pairing_workbook(path):
            not_workbooks.append(relative)
        elif (digest := sha256_file(path)) in seen:
            history.notes.append(f"{relative}: the same file as {seen[digest].relative_to(folder).as_posix()}; read once")
        else:
            seen[digest] = path
            books.append(path)
    skipped = sorted(not_workbooks + others)
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        history.notes.append(f"{len(skipped)} file(s) in the --history folder are not pairing workbooks and were "
                             f"skipped: {shown}")
    if not books:
        raise MentorError("no earlier cohort's pairing workbook (a pairs.xlsx written by mentor match) in the --history "
                          "folder", path=folder,
                          hint="Put each earlier cohort's pairs.xlsx there (or in a folder of its own there), or leave "
                               "out --history.")
    per_folder: dict[Path, int] = {}
    for path in books:
        per_folder[path.parent] = per_folder.get(path.parent, 0) + 1
    cohorts = []
    for path in books:
        book = read_pairing_workbook(path, config, check_rules=False)
        history.problems += [p for p in book.problems if p.severity == "error"]
        checkins = _checkins_beside(path)
        if checkins is not None and per_folder[path.parent] > 1:
            checkins = None
        cohorts.append(EarlierCohort(_cohort_label(book, folder), cohort_month(path), book, checkins))
    shared_logs = sorted({p.parent for p in books if per_folder[p.parent] > 1 and _checkins_beside(p)})
    for place in shared_logs:
        where = place.relative_to(folder).as_posix() if place != folder else "the --history folder"
        history.notes.append(f"{where} holds several pairing workbooks: its check-in sheet is not counted for any "
                             "(give each cohort a folder of its own)")
    cohorts.sort(key=lambda c: (c.when == "", c.when, c.path.relative_to(folder).as_posix()))
    history.cohorts = _unique_labels(cohorts, folder)
    return history


# --------------------------------------------------------------------------- figures for the comparison


def earlier_figures(history: History, config: Config, *, as_of: dt.date) -> list[CohortFigures]:
    """Each earlier cohort's counts, its check-ins held and due up to ``as_of`` read from its
    check-in sheet as ``mentor report`` reads one (problems in an earlier log are not this
    report's: they are left out)."""
    figures = []
    for cohort in history.cohorts:
        totals = None
        if cohort.checkins is not None:
            schedule = read_schedule([cohort.checkins])
            logs, _problems = read_checkin_logs([cohort.checkins], cohort.book, config, schedule=schedule)
            totals = build_report(cohort.book, schedule, logs, config, as_of=as_of).totals
        figures.append(cohort_figures(cohort.book, totals, label=cohort.label, when=cohort.when))
    return figures


def earlier_cohort_cells(history: History, emails: Sequence[str]) -> list[str]:
    """The People sheet's "Earlier Cohorts" cell of each email: what they did in each earlier
    cohort, joined by "; " (blank for someone new)."""
    participation = history.participation()
    return ["; ".join(participation.get(str(email).strip().lower(), [])) for email in emails]

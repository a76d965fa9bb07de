"""Ending relationships and rematching: ``mentor end``, the Pairs sheet's Status column, the Ended sheet.

A relationship ends in one of two ways, and both land in ``PairingBook.ended`` (``model.Ending``):

- ``mentor end PAIRS.xlsx ID --reason TEXT [--on DATE]`` moves the relationship's rows from the
  Pairs sheet to the workbook's ``Ended`` sheet (made when the first relationship ends);
- the coordinator types into a ``Status`` column of the Pairs sheet (``STATUS_FORMS``), with an
  optional ``Ended On`` column for the date.

How ``mentor end`` edits the workbook, and why: the workbook is the coordinator's working copy
(their colours, comments, formulas, extra columns and sheets, filters, column widths). Reading it
into a spreadsheet library and saving it again would rewrite every part and drop what that
library does not model. So the file is edited as the zip of XML parts it is: every part is
copied byte for byte except three small edits: the ended relationship's rows of the Pairs sheet
lose their cells (the rows stay, empty, so every other row keeps its number and whatever refers to
it: filters, formulas, comments, conditional formats); the Ended sheet gets its rows (inline
strings, so the shared string table is untouched); and a new Ended sheet is registered in
``workbook.xml``, its relationships and ``[Content_Types].xml`` (appended last, so no sheet
index the workbook already uses moves). The result is read back before it replaces the file.

The module sits below ``workbook`` (it reads raw cells handed to it and never imports the
workbook reader), so ``workbook`` can call it while reading a book.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd

from mentorcli.errors import MentorError
from mentorcli.files import atomic_write_bytes
from mentorcli.model import Ending, Member, MemberRole, PairingBook, Problem, Relationship, relationships_from_pairs
from mentorcli.untrusted import without_controls

ENDED_SHEET = "Ended"
ENDED_HEADERS = ("Pair ID", "Name", "Email", "Role", "Ended On", "Reason")
"""The Ended sheet: one row per member of an ended relationship (a circle has a row per member)."""
ENDED_REQUIRED = ("Pair ID", "Email", "Role", "Ended On")
STATUS = "Status"
ENDED_ON = "Ended On"
MEMBER_ROLES: tuple[MemberRole, ...] = ("mentor", "mentee", "facilitator", "peer")

ACTIVE_WORDS = ("", "active", "ongoing", "open", "running")
ENDED_WORDS = ("ended", "closed")
STATUS_FORMS = (
    'blank, "Active", "Ongoing", "Open" or "Running": the relationship goes on',
    ('"Ended" or "Closed", then optionally a date (YYYY-MM-DD, "on" before it allowed) and a reason after '
     '":", " - " or ",": e.g. "Ended", "Ended: moved teams", "Ended on 2027-02-10 - moved teams"'),
    'the date may instead be in an "Ended On" column (a date cell or YYYY-MM-DD); an ending needs a date',
)
"""The Status values read for sure; anything else is reported on its row and the relationship goes on."""

_ENDED_STATUS = re.compile(
    "(?P<word>" + "|".join(ENDED_WORDS) + r")\b\s*(?:on\s+)?(?P<date>\d{4}-\d{2}-\d{2})?\s*(?:(?:[:,]|\s-\s|-|–|—)\s*(?P<reason>.*))?",
    re.IGNORECASE | re.DOTALL)
_ISO_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00)?)?")
_SLASHED_DATE = re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b")


# --------------------------------------------------------------------------- reading a Status cell


@dataclass(frozen=True)
class StatusReading:
    """One Pairs row's Status (and Ended On) as read: ended or not, when, why, or what is wrong."""

    ended: bool
    ended_on: dt.date | None = None
    reason: str = ""
    problem: str = ""
    column: str = STATUS


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return without_controls(str(value)).strip()


def read_date(value: Any) -> tuple[dt.date | None, str]:
    """A date cell (a spreadsheet date, or YYYY-MM-DD text) and, when it cannot be read for sure, why."""
    if isinstance(value, dt.datetime):
        return value.date(), ""
    if isinstance(value, dt.date):
        return value, ""
    text = _text(value)
    if not text:
        return None, ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None, "is a number, not a date: write the date as YYYY-MM-DD"
    found = _ISO_DAY.fullmatch(text)
    if found is None:
        return None, _date_hint(text)
    try:
        return dt.date.fromisoformat(found.group(1)), ""
    except ValueError:
        return None, f"{found.group(1)} is not a day of the calendar"


def _date_hint(text: str) -> str:
    if _SLASHED_DATE.search(text):
        return "day and month could be either way round: write the date as YYYY-MM-DD"
    return "is not a date: write it as YYYY-MM-DD"


def read_status(status: Any, ended_on: Any = None) -> StatusReading:
    """The Status cell of one Pairs row (``STATUS_FORMS``), with its ``Ended On`` cell.

    Never a guess: a value outside the forms, a date that cannot be read, two dates that
    disagree, or an ending without any date is a ``problem`` (the relationship then goes on).
    """
    text = _text(status)
    column_date, column_problem = read_date(ended_on)
    if text.lower() in ACTIVE_WORDS:
        if column_date is not None or column_problem:
            return StatusReading(False, problem="an Ended On date is given but the Status does not say Ended; "
                                                "write Ended in Status (or clear the date)", column=ENDED_ON)
        return StatusReading(False)
    found = _ENDED_STATUS.fullmatch(text)
    if found is None:
        hint = " (day and month could be either way round: write the date as YYYY-MM-DD)" if _SLASHED_DATE.search(text) else ""
        return StatusReading(False, problem="this Status is not one mentorcli reads for sure" + hint +
                             '; write "Ended", "Ended: REASON" or "Ended on YYYY-MM-DD: REASON", or leave it blank; '
                             "the relationship goes on until then")
    reason = _text(found.group("reason"))
    own_date: dt.date | None = None
    if found.group("date"):
        try:
            own_date = dt.date.fromisoformat(found.group("date"))
        except ValueError:
            return StatusReading(False, problem=f"{found.group('date')} is not a day of the calendar; "
                                                "the relationship goes on until it is fixed")
    if column_problem:
        return StatusReading(False, problem=f"the Ended On cell {column_problem}; the relationship goes on until "
                                            "it is fixed", column=ENDED_ON)
    if own_date and column_date and own_date != column_date:
        return StatusReading(False, problem=f"the Status says {own_date} but Ended On says {column_date}; "
                                            "keep one date; the relationship goes on until then")
    when = own_date or column_date
    if when is None:
        return StatusReading(False, problem='the Status says ended but gives no date: write "Ended on YYYY-MM-DD" '
                                            'or fill in an Ended On column; the relationship goes on until then')
    return StatusReading(True, when, reason)


def split_status(pairs: pd.DataFrame, readings: Mapping[int, StatusReading], file: str, sheet: str
                 ) -> tuple[pd.DataFrame, list[Ending], list[Problem]]:
    """The Pairs rows still going on, the relationships a Status ended, and every Status problem.

    ``readings`` are keyed by spreadsheet row. A relationship on several rows (a mentor with
    several mentees) ends when its rows agree; rows that disagree are reported and it goes on.
    """
    problems = [Problem(file, sheet, row, reading.column, "error", reading.problem)
                for row, reading in sorted(readings.items()) if reading.problem]
    ended_rows: dict[str, list[int]] = {}
    for pair_id, rows in pairs.groupby("pair_id", sort=False)["row"]:
        said = [readings.get(int(row), StatusReading(False)) for row in rows]
        if not any(reading.ended for reading in said):
            continue
        ends = {(r.ended, r.ended_on, r.reason) for r in said if not r.problem}
        if len(ends) != 1 or any(r.problem for r in said):
            first = int(rows.iloc[0])
            problems.append(Problem(file, sheet, first, STATUS, "error",
                                    f"the rows of {pair_id} do not agree on its Status (ended, date and reason); "
                                    "write the same on each row; the relationship goes on until then"))
            continue
        ended_rows[str(pair_id)] = [int(row) for row in rows]
    if not ended_rows:
        return pairs, [], problems
    ending_rows = pairs["pair_id"].astype(str).isin(list(ended_rows))
    endings = []
    for relationship in relationships_from_pairs(pairs[ending_rows]):
        reading = readings[ended_rows[relationship.id][0]]
        assert reading.ended_on is not None
        endings.append(Ending(relationship, reading.ended_on, reading.reason, row=ended_rows[relationship.id][0]))
    return pairs[~ending_rows].reset_index(drop=True), endings, problems


# --------------------------------------------------------------------------- the Ended sheet


def read_ended_rows(rows: Sequence[tuple[int, Mapping[str, Any]]], file: str, sheet: str) -> tuple[list[Ending], list[Problem]]:
    """The Ended sheet's rows (spreadsheet row, header -> cell) as endings, one per Pair ID.

    A row that cannot be used (blank id or email, an unknown role, an unreadable date, rows of one
    id that disagree on the date) is reported, never guessed; the rest of its id still counts.
    """
    problems: list[Problem] = []
    members: dict[str, list[Member]] = {}
    first: dict[str, tuple[int, dt.date, str]] = {}
    for row, cells in rows:
        pair_id, email = _text(cells.get("Pair ID")), _text(cells.get("Email")).lower()
        role = _text(cells.get("Role")).lower()
        day, date_problem = read_date(cells.get("Ended On"))
        wrong = [(column, text) for column, text, bad in (
            ("Pair ID", "Pair ID is blank", not pair_id),
            ("Email", "Email is blank", not email),
            ("Role", f"Role must be one of {', '.join(MEMBER_ROLES)}", role not in MEMBER_ROLES),
            ("Ended On", f"Ended On {date_problem or 'is blank'}", day is None)) if bad]
        if not wrong and pair_id in first and first[pair_id][1] != day:
            wrong.append(("Ended On", f"Ended On differs from row {first[pair_id][0]} of the same Pair ID"))
        if wrong:
            for column, text in wrong:
                problems.append(Problem(file, sheet, row, column, "error", f"{text}; this row is not read as an ending"))
            continue
        assert day is not None
        first.setdefault(pair_id, (row, day, _text(cells.get("Reason"))))
        found = members.setdefault(pair_id, [])
        if email not in (m.email for m in found):
            found.append(Member(email, _text(cells.get("Name")) or email, role))  # type: ignore[arg-type]
    endings = []
    for pair_id, people in members.items():
        row, day, reason = first[pair_id]
        ordered = tuple(sorted(people, key=lambda m: m.role not in ("mentor", "facilitator")))
        endings.append(Ending(Relationship(pair_id, ordered, row=row), day, reason, row=row))
    return endings, problems


def ended_rows(endings: Iterable[Ending]) -> list[list[str]]:
    """The Ended sheet's data rows (``ENDED_HEADERS``), one per member, dates as YYYY-MM-DD text."""
    return [[ending.relationship.id, member.name, member.email, member.role, ending.ended_on.isoformat(), ending.reason]
            for ending in endings for member in ending.relationship.members]


# --------------------------------------------------------------------------- rematching


def avoid_pairs(endings: Iterable[Ending]) -> list[tuple[str, str]]:
    """Every two people who were in one ended relationship: never put together again."""
    out = []
    for ending in endings:
        emails = list(dict.fromkeys(ending.relationship.emails))
        out += [(a, b) for i, a in enumerate(emails) for b in emails[i + 1:]]
    return out


def left_alone(book: PairingBook) -> list[str]:
    """Emails of the people an ending left without any relationship that goes on (rematch priority)."""
    active = {email for relationship in book.relationships() for email in relationship.emails}
    return list(dict.fromkeys(email for ending in book.ended for email in ending.relationship.emails
                              if email not in active))


def endings_of(endings: Iterable[Ending]) -> dict[str, list[int]]:
    """Per email, the positions (in ``endings``) of the endings they were part of."""
    out: dict[str, list[int]] = {}
    for position, ending in enumerate(endings):
        for email in dict.fromkeys(ending.relationship.emails):
            out.setdefault(email, []).append(position)
    return out


def second_rematch_problems(endings: Sequence[Ending], rematched: Iterable[tuple[str, str]], file: str) -> list[Problem]:
    """A warning for each new pair ``(pair_id, email)`` whose person ended two or more relationships.

    Rows refer to the Ended sheet as ``write_pairing_workbook`` writes it (``ended_rows`` order,
    header in row 1): the row of that person's latest ending. No names or emails: pair ids and rows.
    """
    by_email = endings_of(endings)
    first_row, row = [], 2
    for ending in endings:
        first_row.append(row)
        row += len(ending.relationship.members)
    problems = []
    for pair_id, email in rematched:
        ended = by_email.get(email, [])
        if len(ended) < 2:
            continue
        ids = ", ".join(endings[k].relationship.id for k in ended)
        latest = ended[-1]
        member_row = first_row[latest] + list(endings[latest].relationship.emails).index(email)
        problems.append(Problem(file, ENDED_SHEET, member_row, "Email", "warning",
                                f"rematched a second time in {pair_id}: this person's relationships {ids} ended; "
                                "check in with them before introducing the new partner"))
    return problems


# --------------------------------------------------------------------------- mentor end


@dataclass
class EndResult:
    """What ``end_relationship`` did: the ending written, the rows emptied, the backup kept."""

    ending: Ending
    path: Path
    emptied_rows: list[int]
    ended_sheet_rows: list[int]
    new_sheet: bool
    sheet: str = "Pairs"  # where the rows were emptied: Pairs, or Circles

    def as_json(self) -> dict[str, Any]:
        rel = self.ending.relationship
        return {"ended": rel.id, "ended_on": self.ending.ended_on.isoformat(), "members": len(rel.members),
                "pairs_rows_emptied": self.emptied_rows, "ended_sheet_rows": self.ended_sheet_rows,
                "ended_sheet_created": self.new_sheet, "workbook": str(self.path)}


def find_relationship(book: PairingBook, relationship_id: str) -> Relationship:
    """The relationship ``relationship_id`` names (case and spaces forgiven), or a one-line error."""
    wanted = relationship_id.strip().upper()
    for relationship in book.relationships():
        if relationship.id.strip().upper() == wanted:
            return relationship
    for ending in book.ended:
        if ending.relationship.id.strip().upper() == wanted:
            raise MentorError(f"{ending.relationship.id} already ended on {ending.ended_on.isoformat()}", path=book.path)
    sheet, example = (CIRCLES_SHEET, "a Circle ID as the Circles sheet shows it, e.g. C003") \
        if sheet_of(book) == CIRCLES_SHEET else ("Pairs", "a Pair ID as the Pairs sheet shows it, e.g. P003")
    raise MentorError(f"no relationship {relationship_id.strip()!r} in the {sheet} sheet", path=book.path,
                      hint=f"Use {example}.")


CIRCLES_SHEET = "Circles"


def sheet_of(book: PairingBook) -> str:
    """The sheet a book's relationships live on: Circles for a circles workbook (its pair view
    carries each circle's ``lead_row``), Pairs otherwise."""
    return CIRCLES_SHEET if "lead_row" in book.pairs.columns else "Pairs"


def relationship_rows(book: PairingBook, relationship_id: str) -> list[int]:
    """Every spreadsheet row of one relationship: its Pairs rows, or a circle's member rows and
    its lead's row (a mentor leading several circles has a row in each)."""
    mine = book.pairs[book.pairs["pair_id"] == relationship_id]
    rows = set(mine["row"].astype(int).tolist())
    if "lead_row" in mine.columns:
        rows |= set(mine["lead_row"].astype(int).tolist())
    return sorted(rows)


def end_relationship(book: PairingBook, relationship_id: str, reason: str, on: dt.date) -> EndResult:
    """End one relationship of ``book`` in its workbook file (module docstring: how, and what is kept).

    The old file is kept as a backup (``files``); the write is atomic.
    """
    relationship = find_relationship(book, relationship_id)
    reason = " ".join(without_controls(reason).split())
    if not reason:
        raise MentorError("--reason is blank", hint="Say why it ended, e.g. --reason \"moved teams\".")
    ending = Ending(relationship, on, reason)
    rows = relationship_rows(book, relationship.id)
    data = Path(book.path).read_bytes()
    edited, ended_sheet_rows, new_sheet = edit_workbook(data, rows, ended_rows([ending]), book.path,
                                                        sheet=sheet_of(book))
    atomic_write_bytes(book.path, edited, force=True)
    return EndResult(ending, Path(book.path), rows, ended_sheet_rows, new_sheet, sheet_of(book))


_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_WORKSHEET_TYPE = _NS_REL + "/worksheet"
_WORKSHEET_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_ROW = re.compile(rb"<row\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</row>)", re.DOTALL)
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')


def _sheet_parts(files: Mapping[str, bytes]) -> dict[str, str]:
    """Sheet name (case-folded) -> its part path inside the zip, from workbook.xml and its rels."""
    workbook = ElementTree.fromstring(files["xl/workbook.xml"])
    rels = ElementTree.fromstring(files["xl/_rels/workbook.xml.rels"])
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    out = {}
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet"):
        target = targets.get(sheet.get(f"{{{_NS_REL}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out[str(sheet.get("name", "")).casefold()] = path
    return out


def _xml_valid(ch: str) -> bool:
    """A character XML 1.0 allows in text (tab, line feed, and the ranges without surrogates, U+FFFE, U+FFFF)."""
    code = ord(ch)
    return ch in "\t\n" or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


def _xml_text(text: str) -> str:
    clean = "".join(ch for ch in without_controls(text) if _xml_valid(ch))
    return clean.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column_name(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _row_xml(number: int, values: Sequence[str], style: str = "") -> bytes:
    cells = "".join(
        f'<c r="{_column_name(i)}{number}"{style} t="inlineStr"><is><t xml:space="preserve">{_xml_text(v)}</t></is></c>'
        for i, v in enumerate(values) if v != "")
    return f'<row r="{number}">{cells}</row>'.encode()


def _empty_rows(sheet: bytes, rows: Iterable[int], path: Path, name: str = "Pairs") -> bytes:
    """The sheet with the cells of ``rows`` removed; each row element stays (empty), so no other row moves."""
    wanted = set(rows)
    found: set[int] = set()

    def empty(match: re.Match[bytes]) -> bytes:
        number = _ROW_NUMBER.search(match.group("attrs"))
        if number is None:
            raise MentorError(f"a row of the {name} sheet has no row number; cannot edit it safely", path=path,
                              hint=f'Type "Ended on YYYY-MM-DD: REASON" into a Status column of the {name} sheet instead.')
        if int(number.group(1)) not in wanted:
            return match.group(0)
        found.add(int(number.group(1)))
        attrs = re.sub(rb'\s+spans="[^"]*"', b"", match.group("attrs")).rstrip(b"/").rstrip()
        return b"<row" + attrs + b"/>"

    edited = _ROW.sub(empty, sheet)
    if found != wanted:
        raise MentorError(f"rows {sorted(wanted - found)} of the {name} sheet were not found in the file", path=path)
    return edited


def _header_style(sheet: bytes) -> str:
    """The style of the first header cell of a sheet (so the Ended header looks like the others)."""
    first = _ROW.search(sheet)
    style = re.search(rb'<c\b[^>]*?\bs="(\d+)"', first.group(0)) if first else None
    return f' s="{style.group(1).decode()}"' if style else ""


def _append_rows(sheet: bytes, values: Sequence[Sequence[str]]) -> tuple[bytes, list[int]]:
    numbers = [int(n) for n in _ROW_NUMBER.findall(b"".join(m.group("attrs") for m in _ROW.finditer(sheet)))]
    start = max(numbers, default=0) + 1
    added = list(range(start, start + len(values)))
    rows = b"".join(_row_xml(n, v) for n, v in zip(added, values))
    if b"<sheetData/>" in sheet:
        sheet = sheet.replace(b"<sheetData/>", b"<sheetData>" + rows + b"</sheetData>", 1)
    else:
        sheet = sheet.replace(b"</sheetData>", rows + b"</sheetData>", 1)
    width = max((len(v) for v in values), default=1)
    sheet = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{_column_name(max(width, len(ENDED_HEADERS)) - 1)}{added[-1]}"/>'.encode(),
                   sheet, count=1)
    return sheet, added


def _new_sheet(header_style: str, values: Sequence[Sequence[str]]) -> tuple[bytes, list[int]]:
    last = len(values) + 1
    rows = _row_xml(1, ENDED_HEADERS, header_style) + b"".join(_row_xml(i + 2, v) for i, v in enumerate(values))
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">'
           f'<dimension ref="A1:{_column_name(len(ENDED_HEADERS) - 1)}{last}"/>'
           '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
           '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
           '<cols><col min="1" max="1" width="10" customWidth="1"/><col min="2" max="3" width="30" customWidth="1"/>'
           '<col min="4" max="5" width="12" customWidth="1"/><col min="6" max="6" width="50" customWidth="1"/></cols>'
           ).encode() + b"<sheetData>" + rows + b"</sheetData></worksheet>"
    return xml, list(range(2, last + 1))


def _register_sheet(files: dict[str, bytes], part: str) -> None:
    """Add ``part`` as the last sheet, named Ended, to workbook.xml, its rels and the content types."""
    rels = files["xl/_rels/workbook.xml.rels"]
    ids = {int(n) for n in re.findall(rb'Id="rId(\d+)"', rels)}
    rid = f"rId{max(ids, default=0) + 1}"
    target = part[len("xl/"):]
    files["xl/_rels/workbook.xml.rels"] = rels.replace(
        b"</Relationships>", f'<Relationship Id="{rid}" Type="{_WORKSHEET_TYPE}" Target="{target}"/></Relationships>'.encode(), 1)
    workbook = files["xl/workbook.xml"]
    prefix = re.search(rb'xmlns:(\w+)="' + re.escape(_NS_REL.encode()) + b'"', workbook)
    if prefix is None:
        raise MentorError("the workbook's sheet list cannot be edited safely")
    sheet_ids = [int(n) for n in re.findall(rb'<sheet\b[^>]*\bsheetId="(\d+)"', workbook)]
    entry = f'<sheet name="{ENDED_SHEET}" sheetId="{max(sheet_ids, default=0) + 1}" {prefix.group(1).decode()}:id="{rid}"/>'
    files["xl/workbook.xml"] = workbook.replace(b"</sheets>", entry.encode() + b"</sheets>", 1)
    types = files["[Content_Types].xml"]
    files["[Content_Types].xml"] = types.replace(
        b"</Types>", f'<Override PartName="/{part}" ContentType="{_WORKSHEET_CONTENT}"/></Types>'.encode(), 1)


def edit_workbook(data: bytes, pairs_rows: Sequence[int], ended_values: Sequence[Sequence[str]], path: Path,
                  *, sheet: str = "Pairs") -> tuple[bytes, list[int], bool]:
    """The workbook ``data`` with ``pairs_rows`` of ``sheet`` (Pairs, or Circles) emptied and
    ``ended_values`` added to the Ended sheet (made when absent). Returns the new bytes, the Ended
    rows written and whether the sheet is new. Every other part is copied as it was."""
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        infos = source.infolist()
        files = {info.filename: source.read(info) for info in infos}
        parts = _sheet_parts(files)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError):
        raise MentorError("cannot be edited as an .xlsx workbook", path=path,
                          hint='Save it again as .xlsx, or type "Ended on YYYY-MM-DD: REASON" into a Status column.') from None
    pairs_part = parts.get(sheet.casefold())
    if pairs_part not in files:
        raise MentorError(f"has no sheet {sheet!r}", path=path)
    files[pairs_part] = _empty_rows(files[pairs_part], pairs_rows, path, sheet)
    ended_part = parts.get(ENDED_SHEET.casefold())
    new_sheet = ended_part is None
    if ended_part is None or ended_part not in files:
        number = 1
        while f"xl/worksheets/sheet{number}.xml" in files:
            number += 1
        ended_part = f"xl/worksheets/sheet{number}.xml"
        files[ended_part], added = _new_sheet(_header_style(files[pairs_part]), ended_values)
        _register_sheet(files, ended_part)
    else:
        files[ended_part], added = _append_rows(files[ended_part], ended_values)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in infos:
            target.writestr(info, files[info.filename])
        if new_sheet:
            target.writestr(zipfile.ZipInfo(ended_part, date_time=infos[0].date_time), files[ended_part],
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue(), added, new_sheet

"""Signup files in, a clean roster out: read -> map columns -> normalise -> validate.

``read_signups`` is the stage function every later command starts from. It reads CSV
(any common encoding and delimiter), XLSX/XLS/ODS (calamine, openpyxl as a fallback),
maps each file's headers to fields (``headers``), normalises every answer
(``normalize``), and checks each row. A file that cannot be used at all raises
``MentorError``; a row that cannot be used is reported as a ``Problem`` and left out;
an answer that cannot be read is reported and left blank. Problems name the file, sheet,
row and column, never another cell's value.
"""

from __future__ import annotations

import codecs
import csv
import functools
import html
import io
import itertools
import math
import os
import posixpath
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from email_validator import EmailNotValidError, validate_email
from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from mentorcli import headers as hdr
from mentorcli import normalize as norm
from mentorcli.availability import unreadable_answers
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.files import sha256_file
from mentorcli.model import LIST_FIELDS, PEOPLE_COLUMNS, ROLES, Problem, Roster, SourceFile
from mentorcli.names import resolve_answers
from mentorcli.roles import read_role, role_problem
from mentorcli.tz import parse_timezone

Progress = Callable[[str], None]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
TEXT_FIELDS = ("industry", "organisation", "department", "location", "request", "avoid")


# --- reading a file into a table of text ----------------------------------------------------------


@dataclass
class RawTable:
    """One sheet of one signup file as text: the header row and the data rows.

    ``frame`` has positional integer columns and ``""`` for blank cells; ``first_row`` is
    the spreadsheet row number of its first row (the header is row ``first_row - 1``).
    """

    path: str
    sheet: str
    headers: list[str]
    frame: pd.DataFrame
    first_row: int
    sha256: str
    dayfirst_hint: bool = False
    """Dates that read both ways are taken day-first (a semicolon CSV comes from a European Excel)."""
    blank: np.ndarray | None = field(default=None, repr=False)
    """Per row of ``frame``: True where every cell is empty or only whitespace (found while reading)."""
    notes: list[str] = field(default_factory=list)
    """What the coordinator should know about how the file was read (which sheet, ...): file warnings."""
    row_errors: list[tuple[int, int | None, str]] = field(default_factory=list)
    """(spreadsheet row, column, problem) for rows the reader found broken: errors, the row is not used."""
    row_warnings: list[tuple[int, int | None, str]] = field(default_factory=list)
    """(spreadsheet row, column, problem) for rows the reader found doubtful: warnings, the row is used."""


def read_table(path: str | Path, *, sheet: str | None = None) -> RawTable:
    """Read one signup file as text cells; ``MentorError`` naming the file when it cannot be read."""
    shown = str(path)
    path = Path(path)
    _require_regular_file(path, shown)
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise MentorError(f"cannot be opened ({exc.strerror})", path=shown,
                          hint="Check that the file exists and that you may read it.") from None
    notes: list[str] = []
    row_errors: list[tuple[int, int | None, str]] = []
    if not head:
        raise MentorError("is empty", path=shown, hint="Export the form responses again (CSV or XLSX).")
    suffix = path.suffix.lower()
    delimiter = ""
    if head.startswith(OLE_MAGIC):
        if _is_encrypted_ole(path):
            raise MentorError(
                "is password-protected", path=shown,
                hint="Open it in Excel, remove the password (File > Info > Protect Workbook) and save a copy, "
                     "or export the responses as CSV.",
            )
        rows, sheet_name, sheets = _read_workbook(path, shown, sheet, head, notes)
    elif head.startswith(ZIP_MAGIC):
        rows, sheet_name, sheets = _read_workbook(path, shown, sheet, head, notes)
    elif suffix in WORKBOOK_SUFFIXES:
        kind = "plain text" if _looks_like_text(head) else "not a spreadsheet"
        raise MentorError(
            f"is not a real {suffix} workbook (its content is {kind})", path=shown,
            hint="Open it in a spreadsheet program and save it as .xlsx, or, if it is a CSV export, rename it to .csv.",
        )
    else:
        rows, delimiter, row_errors = _read_csv(path, shown)
        sheet_name, sheets = "", []
    try:
        headers, data, first_row, blank = _split_header(rows, shown, sheet_name)
    except MentorError as error:
        if len(sheets) > 1:
            others = ", ".join(repr(n) for n in sheets if n != sheet_name)
            raise MentorError(error.message, path=shown,
                              hint=f"The workbook has other sheets ({others}): choose one with --sheet.") from None
        raise
    row_warnings = [] if sheets else _shifted_rows(headers, data, first_row)
    european = delimiter == ";"
    return RawTable(shown, sheet_name, headers, data, first_row, sha256_file(path), dayfirst_hint=european,
                    blank=blank, notes=notes, row_errors=row_errors, row_warnings=row_warnings)


def _shifted_rows(headers: Sequence[str], data: pd.DataFrame, first_row: int) -> list[tuple[int, int | None, str]]:
    """CSV rows with answers beyond the last header: an answer holding an unquoted delimiter split
    in two and moved every answer after it one column on. Where the split was cannot be told (a
    data URI in the last column splits harmlessly), so the row is used and the warning says to check it."""
    named = [i for i, header in enumerate(headers) if header.strip()]
    last = named[-1] if named else -1
    if last + 1 >= data.shape[1]:
        return []
    beyond = data.iloc[:, last + 1:].to_numpy(dtype=object)
    filled = np.vectorize(lambda cell: bool(str(cell).strip()), otypes=[bool])(beyond)
    problems: list[tuple[int, int | None, str]] = []
    for position in np.flatnonzero(filled.any(axis=1)).tolist():
        count = last + 1 + int(np.flatnonzero(filled[position])[-1]) + 1
        problems.append((first_row + position, last + 1,
                         (f"has {count} cells but the header has {last + 1} columns: an answer holding the "
                          "delimiter without quotes may have moved the answers after it one column on; check "
                          "this row (put that answer in quotes in the file)")))
    return problems


def _require_regular_file(path: Path, shown: str) -> None:
    """A clear line at once for what is not a signup file: missing, a folder, a FIFO (opening one
    would wait for a writer forever), a device such as /dev/zero (it never ends), a socket.
    ``os.stat`` looks at the file's type without opening it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MentorError("file not found", path=shown, hint="Check the path and the file name.") from None
    except OSError as exc:
        raise MentorError(f"cannot be opened ({exc.strerror})", path=shown,
                          hint="Check the path and that you may read it.") from None
    if stat.S_ISDIR(info.st_mode):
        raise MentorError("is a folder, not a signup file", path=shown, hint="Name the CSV or XLSX file inside it.")
    if not stat.S_ISREG(info.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else
                "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                "a socket" if stat.S_ISSOCK(info.st_mode) else "a special file")
        raise MentorError(f"is {kind}, not a signup file", path=shown,
                          hint="Save the form responses to a file (CSV or XLSX) and name that file.")
    if not os.access(path, os.R_OK):
        raise MentorError("cannot be opened (permission denied)", path=shown,
                          hint="Check that you may read the file (its permissions).")


def _is_encrypted_ole(path: Path) -> bool:
    """An encrypted Office file is an OLE container holding an "EncryptedPackage" stream."""
    with open(path, "rb") as fh:
        return ENCRYPTED_STREAM in fh.read(1 << 20)


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return control <= len(sample) * 0.005


def _read_workbook(path: Path, shown: str, sheet: str | None, head: bytes,
                   notes: list[str]) -> tuple[Sequence[Sequence[object]], str, list[str]]:
    """The rows of one sheet as the reader gives them: calamine first (fast; the engine of
    ``pandas.read_excel(engine="calamine")``, used directly to skip pandas' per-cell conversion),
    openpyxl when calamine cannot. Cells become text later, a column at a time (``_text_grid``).

    A ZIP workbook is checked before either reader inflates it: a declared size past the limit
    (a zip bomb) and a sheet whose cells span far more than its content (one stray cell at
    XFD1048576 makes calamine allocate the whole rectangle, 512 GB, and abort) are refused.
    Without ``--sheet`` the first visible worksheet is read, and a note says so when there are others.
    """
    archive_parts = _check_zip_sizes(path, shown) if head.startswith(ZIP_MAGIC) else None
    book: CalamineWorkbook | None = None
    visible: list[str] | None = None
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
        visible = _visible_worksheets(book)
    except BaseException as error:  # calamine's errors are not one class; any failure means "cannot read"
        if not _is_reader_failure(error):
            raise
        names = _openpyxl_sheet_names(path, shown, head)
    if not names:
        raise MentorError("has no sheets", path=shown, hint="Export the form responses again.")
    sheet_name = _pick_sheet(names, sheet, shown, visible)
    if sheet is None:
        notes.extend(_sheet_notes(names, visible, sheet_name))
    if archive_parts is not None:
        _check_sheet_extent(path, shown, archive_parts, sheet_name)
    try:
        if book is None:
            raise ValueError("calamine could not open the workbook")
        rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        return rows, sheet_name, names
    except BaseException as error:  # fall back to openpyxl below; it gives the message
        if not _is_reader_failure(error):
            raise
    return _openpyxl_rows(path, shown, head, sheet_name), sheet_name, names


def _openpyxl_rows(path: Path, shown: str, head: bytes, sheet_name: str) -> list[list[object]]:
    """The rows of a sheet that calamine could not read, through openpyxl (an XLSX workbook only)."""
    if path.suffix.lower() in (".xlsx", ".xlsm") or head.startswith(ZIP_MAGIC):
        try:
            frame = pd.read_excel(path, sheet_name=sheet_name, header=None, dtype=object, engine="openpyxl")
        except Exception as error:  # what openpyxl raises on a damaged file is not one class: any means damaged
            raise _damaged_workbook(shown) from error
        return [list(row) for row in frame.itertuples(index=False, name=None)]
    raise _damaged_workbook(shown)


def _damaged_workbook(shown: str) -> MentorError:
    return MentorError(
        "cannot be read: the workbook is damaged or truncated", path=shown,
        hint="Open it in a spreadsheet program and save it again, or download the responses again.",
    )


def _is_reader_failure(error: BaseException) -> bool:
    """Whether calamine failed on this file: one of its errors, or a Rust panic (pyo3 raises that as
    a BaseException subclass, which ``except Exception`` would let through as a traceback)."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def _visible_worksheets(book: CalamineWorkbook) -> list[str]:
    """The names of the visible worksheets (not hidden, not chart sheets)."""
    return [m.name for m in book.sheets_metadata
            if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet]


def _sheet_notes(names: Sequence[str], visible: Sequence[str] | None, read: str) -> list[str]:
    """A file warning naming the sheet read when the workbook has others (saying which are hidden)."""
    if len(names) < 2:
        return []
    hidden = set(names) - set(visible) if visible is not None else set()
    others = ", ".join(repr(n) + (" (hidden)" if n in hidden else "") for n in names if n != read)
    skipped = f"the first sheet {names[0]!r} is hidden, so " if names[0] != read and names[0] in hidden else ""
    return [f"{skipped}sheet {read!r} was read; the workbook also has {others}: choose another with --sheet"]


# --- workbooks that would take more than the machine has ----------------------------------------------

MAX_UNPACKED_BYTES = 2 << 30
"""What all the parts of a workbook may declare unpacked (a 1,000,000-row export is about 1 GB)."""
MAX_PART_RATIO = 400
"""Unpacked / packed for a part of more than ``SUSPECT_PART_BYTES``: a real sheet packs about 5-20 times."""
SUSPECT_PART_BYTES = 64 << 20
MAX_SHEET_CELLS = 60_000_000
"""Rows x columns a sheet's cells may span: calamine allocates that rectangle, 32 bytes a cell (~2 GB)."""
_SCAN_CHUNK = 1 << 20
_FAR_REF = re.compile(rb' r="(?:[A-Z]{2,3}\d|[A-Z]{1,3}\d{6})')
_WIDE_REF = re.compile(rb' r="([A-Z]{2,3})\d')
_FAR_ROW = re.compile(rb' r="[A-Z]{1,3}(\d{6,})"')
_ROW_TAG = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_SHEET_TAG = re.compile(rb"<sheet\b[^>]*>")
_TAG_NAME = re.compile(rb'\bname="([^"]*)"')
_TAG_RID = re.compile(rb'\b(?:\w+:)?id="([^"]*)"')
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>")
_REL_ID = re.compile(rb'\bId="([^"]*)"')
_REL_TARGET = re.compile(rb'\bTarget="([^"]*)"')


def _check_zip_sizes(path: Path, shown: str) -> dict[str, zipfile.ZipInfo]:
    """The parts of a ZIP workbook by name, once their declared sizes are known to be readable.

    A zip bomb (a few kB that unpack to gigabytes) is refused here, from the sizes the archive
    declares, before anything is inflated. A damaged archive is left to the readers' message.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return {}
    total = sum(info.file_size for info in infos)
    if total > MAX_UNPACKED_BYTES:
        raise MentorError(
            f"is refused: it would unpack to {total / (1 << 30):,.1f} GB, more than the "
            f"{MAX_UNPACKED_BYTES >> 30} GB a signup workbook may take (a damaged file or a zip bomb)", path=shown,
            hint="Export the form responses again, or as CSV.")
    for info in infos:
        if info.file_size > SUSPECT_PART_BYTES and info.file_size > MAX_PART_RATIO * max(info.compress_size, 1):
            raise MentorError(
                f"is refused: its part {info.filename!r} would unpack {info.file_size // max(info.compress_size, 1):,} "
                "times larger than it is stored, which no real spreadsheet does (a zip bomb?)", path=shown,
                hint="Export the form responses again, or as CSV.")
    return {info.filename: info for info in infos}


def _check_sheet_extent(path: Path, shown: str, parts: Mapping[str, zipfile.ZipInfo], sheet: str) -> None:
    """Refuse an XLSX sheet whose cells span a rectangle far larger than the machine can hold.

    The sheet's XML is inflated a chunk at a time (never whole) and only looked at for cell
    references with a column of two or three letters, or a row of six digits or more, and for
    its last row: a sheet of ordinary width and under 100,000 rows costs one pass of ``re``
    finding nothing. The inflated size is counted too, so a part that lies about its size
    stops at the limit.
    """
    part = _sheet_part(path, parts, sheet)
    if part is None:
        return
    max_col, max_row, unpacked = 26, 0, 0
    carry = b""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(part) as stream:
            while chunk := stream.read(_SCAN_CHUNK):
                unpacked += len(chunk)
                if unpacked > MAX_UNPACKED_BYTES:
                    raise MentorError(f"is refused: sheet {sheet!r} unpacks to more than its declared size and "
                                      f"more than {MAX_UNPACKED_BYTES >> 30} GB (a damaged file or a zip bomb)",
                                      path=shown, hint="Export the form responses again, or as CSV.")
                buffer = carry + chunk
                if _FAR_REF.search(buffer):  # rare: only then is it worth collecting the references
                    for letters in set(_WIDE_REF.findall(buffer)):
                        max_col = max(max_col, _column_number(letters))
                    far = _FAR_ROW.findall(buffer)
                    if far:
                        max_row = max(max_row, max(int(row[:9]) for row in far))
                last = _ROW_TAG.match(buffer, max(buffer.rfind(b"<row "), 0))
                if last:
                    max_row = max(max_row, int(last.group(1)[:9]))
                carry = buffer[-64:]
    except MentorError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, RuntimeError, NotImplementedError):
        return  # damaged: the readers say so
    cells = max_col * max(max_row, 1)
    if cells > MAX_SHEET_CELLS:
        raise MentorError(
            f"sheet {sheet!r} has cells as far as column {_column_letters(max_col)} and row {max_row:,}, far beyond "
            f"what it can hold in memory ({cells:,} cells; the limit is {MAX_SHEET_CELLS:,})", path=shown,
            hint="Delete the stray cells below and to the right of the answers (or copy the answers to a new "
                 "sheet), save, and try again.")


def _sheet_part(path: Path, parts: Mapping[str, zipfile.ZipInfo], sheet: str) -> str | None:
    """The ZIP part holding an XLSX sheet's cells, found through workbook.xml and its relationships."""
    if "xl/workbook.xml" not in parts or "xl/_rels/workbook.xml.rels" not in parts:
        return None
    limit = 16 << 20  # both are small; a larger one is not read here
    if parts["xl/workbook.xml"].file_size > limit or parts["xl/_rels/workbook.xml.rels"].file_size > limit:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = archive.read("xl/workbook.xml")
            rels = archive.read("xl/_rels/workbook.xml.rels")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, RuntimeError, NotImplementedError):
        return None
    targets = {}
    for tag in _RELATIONSHIP.findall(rels):
        rel_id, found = _REL_ID.search(tag), _REL_TARGET.search(tag)
        if rel_id and found:
            targets[rel_id.group(1)] = found.group(1).decode("utf-8", "replace")
    for tag in _SHEET_TAG.findall(workbook):
        name, rel_id = _TAG_NAME.search(tag), _TAG_RID.search(tag)
        if name and rel_id and html.unescape(name.group(1).decode("utf-8", "replace")) == sheet:
            target = targets.get(rel_id.group(1))
            if target is None:
                return None
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            return part if part in parts else None
    return None


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _openpyxl_sheet_names(path: Path, shown: str, head: bytes) -> list[str]:
    """The sheet names of a workbook calamine could not open, through openpyxl (an XLSX workbook only)."""
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                archive.testzip()
                listing = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise _damaged_workbook(shown) from None
        if "xl/workbook.xml" not in listing:
            raise MentorError("is a ZIP archive, not a workbook", path=shown,
                              hint="Unpack it, or export the form responses as XLSX or CSV.")
        try:
            with pd.ExcelFile(path, engine="openpyxl") as book:
                return list(book.sheet_names)
        except Exception as error:  # what openpyxl raises on a damaged file is not one class: any means damaged
            raise _unreadable_workbook(shown) from error
    raise _unreadable_workbook(shown)


def _unreadable_workbook(shown: str) -> MentorError:
    return MentorError(
        "cannot be read: the workbook is damaged, truncated or password-protected", path=shown,
        hint="Open it in a spreadsheet program and save it again as .xlsx without a password.",
    )


def _pick_sheet(names: Sequence[str], wanted: str | None, shown: str, visible: Sequence[str] | None = None) -> str:
    """The sheet named by ``--sheet`` (name, any case, or number); without it the first visible worksheet."""
    if wanted is None:
        return visible[0] if visible else names[0]
    for name in names:
        if name == wanted:
            return name
    for name in names:
        if name.strip().lower() == wanted.strip().lower():
            return name
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    raise MentorError(f"has no sheet named {wanted!r}", path=shown,
                      hint=f"Its sheets are: {', '.join(repr(n) for n in names)}.")


def _cell_text(value: object) -> str:
    """A workbook cell as the text a person sees: 3.0 -> "3", dates as ISO, blank -> ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if hasattr(value, "isoformat"):
        text = value.isoformat(sep=" ") if hasattr(value, "hour") and hasattr(value, "day") else value.isoformat()
        return text
    return str(value)


def _row_text(row: Iterable[object]) -> list[str]:
    return [value if type(value) is str else _cell_text(value) for value in row]


NOT_IN_ENCODING = "\ufffd"
"""Marks, in decoded text, a line that was not in the file's encoding (its row is then an error)."""


def _decode(data: bytes, shown: str) -> tuple[str, bool]:
    """Text of a CSV export, and whether some lines were not in the file's encoding.

    UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252. Text is never guessed
    into mojibake: a file that is neither (Shift-JIS, GBK, Cyrillic Windows-1251, ...) is
    refused, and in a file that mixes UTF-8 lines with Windows-1252 lines the lines of the
    minority are decoded as ASCII with ``NOT_IN_ENCODING`` for each other byte, so their rows
    can be reported (see :func:`_lines_in_encoding`).
    """
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8):]
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            return _lines_in_encoding(body, "utf-8"), True
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), False
        except UnicodeDecodeError:
            raise MentorError("is not valid UTF-16 text although it starts like it (a damaged file)", path=shown,
                              hint="Export the form responses again, as CSV UTF-8 or XLSX.") from None
    if not _looks_like_text(data[:1 << 16]):
        raise MentorError("is not a text or spreadsheet file (binary content)", path=shown,
                          hint="Export the form responses as CSV or XLSX.")
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    utf8_lines = legacy_lines = 0
    for line in lines:
        if not line.isascii():
            if _is_utf8(line):
                utf8_lines += 1
            else:
                legacy_lines += 1
    if utf8_lines > legacy_lines:
        return _lines_in_encoding(data, "utf-8"), True
    legacy = b"\n".join(line for line in lines if not _is_utf8(line)) if utf8_lines else data
    if _looks_double_byte(legacy):
        raise MentorError(
            "is not UTF-8 or Windows-1252 text: it looks like another encoding (Shift-JIS, GBK, Big5, "
            "Windows-1251, ...), and reading it as either would garble the names", path=shown,
            hint="Save it again as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8) and use that file.")
    try:
        legacy.decode("cp1252")
    except UnicodeDecodeError:
        raise MentorError(
            "is not UTF-8 or Windows-1252 text (it has bytes neither uses), and reading it would garble the names",
            path=shown, hint="Save it again as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8) and use that file.",
        ) from None
    if utf8_lines:
        return _lines_in_encoding(data, "cp1252"), True
    return data.decode("cp1252"), False


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _lines_in_encoding(data: bytes, encoding: str) -> str:
    """Each line decoded in ``encoding`` when it is valid UTF-8 exactly when ``encoding`` is UTF-8;
    the other lines keep their ASCII and get ``NOT_IN_ENCODING`` for every other byte."""
    utf8 = encoding == "utf-8"
    out = []
    for line in data.split(b"\n"):
        if line.isascii() or _is_utf8(line) == utf8:
            out.append(line.decode(encoding))
        else:
            out.append(line.decode("ascii", errors="replace"))
    return "\n".join(out)


def _looks_double_byte(data: bytes) -> bool:
    """Whether the bytes above 127 come in runs, as in double-byte encodings (Shift-JIS, GBK, Big5)
    and in other alphabets (Cyrillic, Greek), rather than one accented letter at a time as in
    Western European text."""
    high = np.frombuffer(data, dtype=np.uint8) >= 0x80
    count = int(high.sum())
    if count < 4:
        return False
    runs = int((high[1:] & high[:-1]).sum())
    return runs >= 0.3 * count


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records most consistently (comma, semicolon, tab, pipe)."""
    csv.field_size_limit(1 << 30)
    sample = text[: 1 << 20]
    best, best_score = ",", (False, False, 0.0, 0)
    for delimiter in (",", ";", "\t", "|"):
        try:
            records = []
            for record in csv.reader(io.StringIO(sample), delimiter=delimiter):
                records.append(len(record))
                if len(records) >= 30:
                    break
        except csv.Error:
            continue
        if not records:
            continue
        width = records[0]
        body = records[1:-1] if len(records) > 2 else records[1:]  # the last sampled record may be cut off
        exact = sum(1 for n in body if n == width) / len(body) if body else 1.0
        at_least = sum(1 for n in body if n >= width) / len(body) if body else 1.0
        score = (width > 1 and at_least >= 0.8, width > 1, exact, width)  # a header split in two beats none
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(path: Path, shown: str) -> tuple[list[list[str]], str, list[tuple[int, int | None, str]]]:
    """The records of a CSV file, its delimiter, and the records a stray quote broke (see
    :func:`_swallowed_rows`)."""
    csv.field_size_limit(1 << 30)  # a cell may hold a whole image as a data: URI
    data = path.read_bytes()
    text, mixed = _decode(data, shown)
    if not text.strip():
        raise MentorError("is empty", path=shown, hint="Export the form responses again (CSV or XLSX).")
    delimiter = _sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise MentorError(f"is not a readable CSV ({exc})", path=shown,
                          hint="Export the form responses again as CSV or XLSX.") from None
    problems = _swallowed_rows(text, rows, delimiter)
    if mixed:
        problems += _rows_not_in_encoding(rows)
    return rows, delimiter, problems


MIXED_ENCODING_PROBLEM = ("has text in another encoding than the rest of the file (UTF-8 mixed with "
                          "Windows-1252?); the row is not used: save the file again as CSV UTF-8")


def _rows_not_in_encoding(rows: list[list[str]]) -> list[tuple[int, int | None, str]]:
    """Rows holding a line that was not in the file's encoding (see :func:`_decode`): errors."""
    problems: list[tuple[int, int | None, str]] = []
    for index, record in enumerate(rows):
        for column, cell in enumerate(record):
            if NOT_IN_ENCODING in cell:
                problems.append((index + 1, column, MIXED_ENCODING_PROBLEM))
                break
    return problems


def _swallowed_rows(text: str, rows: list[list[str]], delimiter: str) -> list[tuple[int, int | None, str]]:
    """Records where a quote that is never closed (or closed far later) swallowed the lines after it.

    ``"Ann,Mentor`` opens a quoted cell that runs on over the next lines up to the next quote,
    maybe the end of the file: every signup on those lines vanishes into one cell. Multi-line
    answers are normal, so a cell counts as swallowed lines only when a line inside it looks
    like a record of its own: split by the delimiter into as many cells as the header has (less
    one), or into two or more with an email address among them. Nothing is looked at when the
    file has no more lines than records (no cell spans lines), which is the usual case.
    """
    breaks = text.count("\n") or text.count("\r")
    if breaks <= len(rows) or not rows:
        return []
    width = max(len(rows[0]), 2)
    problems: list[tuple[int, int | None, str]] = []
    line = 1  # the physical line each record starts on
    for index, record in enumerate(rows):
        spans = sum(cell.count("\n") for cell in record) if any("\n" in cell for cell in record) else 0
        if spans:
            cell_line = line
            for column, cell in enumerate(record):
                inner = cell.split("\n")
                if len(inner) > 1 and _looks_like_records(inner[1:], delimiter, width):
                    first, last = cell_line + 1, cell_line + len(cell.rstrip("\r\n").split("\n")) - 1
                    message = (f"an unmatched quote (\") in this row swallowed lines {first}..{last} of the file "
                               "into one cell; this row and those lines are not used: remove or close the quote "
                               "in the file")
                    problems.append((index + 1, column, message))
                cell_line += cell.count("\n")
        line += 1 + spans
    return problems


_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _looks_like_records(lines: list[str], delimiter: str, width: int) -> bool:
    for line in lines:
        cells = line.split(delimiter)
        if len(cells) >= max(width - 1, 3) or (len(cells) >= 2 and any(_EMAIL_LIKE.fullmatch(c.strip()) for c in cells)):
            return True
    return False


def _split_header(rows: Sequence[Sequence[object]], shown: str,
                  sheet: str) -> tuple[list[str], pd.DataFrame, int, np.ndarray]:
    """The header row (after blank and title rows), the data below it as a text frame, the
    spreadsheet row number of its first row, and which of its rows are blank.

    Qualtrics exports put the question text in a second header row and import ids in a
    third; SurveyMonkey puts each multi-select option in a second header row. Both are
    folded into one header row ("Question [Option]" for SurveyMonkey's options). Only the
    few rows at the top are looked at one by one; the data rows are handled as a grid.
    """
    where = f" (sheet {sheet!r})" if sheet else ""
    text_rows: dict[int, list[str]] = {}

    def text(i: int) -> list[str]:
        if i not in text_rows:
            text_rows[i] = _row_text(rows[i])
        return text_rows[i]

    def nonblank(i: int) -> int:
        return sum(1 for c in text(i) if c.strip())

    start = 0
    while start < len(rows) and not any(c.strip() for c in text(start)):
        start += 1
    if start == len(rows):
        raise MentorError(f"has no rows{where}", path=shown, hint="Export the form responses again; choose the sheet with --sheet.")
    for _ in range(5):  # title lines above the header: one cell, then a wider row
        if start + 1 < len(rows) and nonblank(start) == 1 and nonblank(start + 1) >= 2:
            start += 1
        else:
            break
    header = list(text(start))
    data_start = start + 1
    if data_start + 1 < len(rows) and any(c.startswith('{"ImportId"') for c in text(data_start + 1)):
        header = [c or h for c, h in zip(text(data_start), header)]  # Qualtrics: questions in row 2
        data_start += 2
    elif data_start < len(rows) and _is_surveymonkey_subheader(text(data_start)):
        header = _merge_surveymonkey(header, text(data_start))
        data_start += 1
    lengths = set(map(len, itertools.islice(rows, data_start, None)))
    width = max(len(header), max(lengths, default=0))
    header = header + [""] * (width - len(header))
    grid = _text_grid(rows, data_start, width, ragged=lengths != {width})
    blank = _blank_rows(grid)
    used = len(blank) - int(np.argmin(blank[::-1])) if len(blank) and not blank.all() else 0
    grid, blank = grid[:used], blank[:used]  # trailing empty rows are where the sheet ends, not signups
    if not any(h.strip() for h in header):
        raise MentorError(f"has no header row{where}", path=shown, hint="The first row must hold the questions.")
    if not used:
        raise MentorError(f"has a header row but no signups{where}", path=shown,
                          hint="Export the form again once people have answered.")
    frame = pd.DataFrame(grid, columns=range(width), dtype=object, copy=False)
    return header, frame, data_start + 1, blank


def _text_grid(rows: Sequence[Sequence[object]], start: int, width: int, *, ragged: bool = True) -> np.ndarray:
    """The rows from ``start`` on as a rows x ``width`` array of text (short rows padded with ``""``).

    Filled in one go from the cells in row order. A grid that holds only text (a CSV, most
    form exports) is then done; otherwise each column that holds something else (numbers,
    dates, blanks read as None) has those cells turned into text by ``_cell_text``.
    """
    count = max(len(rows) - start, 0)
    body: Iterable[Sequence[object]] = itertools.islice(rows, start, None)
    if ragged:
        body = [row if len(row) == width else list(row) + [""] * (width - len(row)) for row in body]
    cells = itertools.chain.from_iterable(body)  # every row is ``width`` long now
    grid = np.fromiter(cells, dtype=object, count=count * width).reshape(count, width)
    if pd.api.types.infer_dtype(grid.ravel(), skipna=False) in ("string", "empty"):
        return grid  # all text already: a CSV, or a form export without number or date cells
    for j in range(width):
        column = grid[:, j]
        if pd.api.types.infer_dtype(column, skipna=False) not in ("string", "empty"):
            grid[:, j] = [value if type(value) is str else _cell_text(value) for value in column]
    return grid


def _blank_rows(grid: np.ndarray) -> np.ndarray:
    """Per row of a text grid: True where every cell is empty or only whitespace.

    Rows are settled column by column; one cell with text settles a row, so after the first
    column or two only the few rows still open are looked at.
    """
    open_rows = np.arange(grid.shape[0])
    for j in range(grid.shape[1]):
        if not open_rows.size:
            break
        cells = grid[:, j] if open_rows.size == grid.shape[0] else grid[open_rows, j]
        filled = np.flatnonzero(cells != "")
        if filled.size:  # a cell that is not empty has text unless it is all whitespace
            has_text = ~np.fromiter(map(str.isspace, cells[filled].tolist()), dtype=bool, count=filled.size)
            settled = np.zeros(open_rows.size, dtype=bool)
            settled[filled[has_text]] = True
            open_rows = open_rows[~settled]
    blank = np.zeros(grid.shape[0], dtype=bool)
    blank[open_rows] = True
    return blank


def _is_surveymonkey_subheader(row: Sequence[str]) -> bool:
    cells = [str(c).strip() for c in row]
    return sum(c in ("Response", "Open-Ended Response") for c in cells) >= 2


def _merge_surveymonkey(top: list[str], sub: Sequence[str]) -> list[str]:
    merged, question = [], ""
    for i in range(max(len(top), len(sub))):
        above = top[i] if i < len(top) else ""
        below = str(sub[i]).strip() if i < len(sub) else ""
        question = above or question
        if below in ("", "Response", "Open-Ended Response") or not question:
            merged.append(above or below)
        else:
            merged.append(f"{question} [{below}]")
    return merged


# --- the role of a file -----------------------------------------------------------------------------


def role_from_filename(path: str | Path) -> str | None:
    """``mentor`` for "mentors.xlsx", ``mentee`` for "mentees_2026.csv"; None when it does not say."""
    words = set(re.split(r"[^a-z]+", Path(path).stem.lower()))
    mentor = bool(words & {"mentor", "mentors"})
    mentee = bool(words & {"mentee", "mentees", "protege", "proteges", "protégé"})
    if mentor and not mentee:
        return "mentor"
    if mentee and not mentor:
        return "mentee"
    return None


# --- results --------------------------------------------------------------------------------------------


@dataclass
class FileReport:
    """How one file was read: its mapping, where its roles came from, how many rows it had."""

    source: SourceFile
    mapping: hdr.ColumnMap
    role_from: str
    rows: int
    used: int = 0


@dataclass
class SignupCheck:
    """The roster plus what ``mentor check`` shows about each file."""

    roster: Roster
    files: list[FileReport] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return len(self.roster.people) > 0

    def as_json(self) -> dict:
        return {
            "columns": dict(self.roster.columns),
            "counts": self.roster.counts,
            "participants": len(self.roster.people),
            "problems": [p.as_dict() for p in self.roster.problems],
        }


# --- normalising one file -------------------------------------------------------------------------------


class _Rows:
    """Collects the problems of one file with a sort key (row, column position)."""

    def __init__(self, table: RawTable, mapping: hdr.ColumnMap):
        self.table = table
        self.mapping = mapping
        self.items: list[tuple[int, int, Problem]] = []

    def add(self, position: int | None, column: int | None, severity: str, text: str) -> None:
        row = None if position is None else self.table.first_row + position
        header = "" if column is None else self.mapping.header(column)
        problem = Problem(self.table.path, self.table.sheet, row, header, severity, text)  # type: ignore[arg-type]
        self.items.append((-1 if row is None else row, -1 if column is None else column, problem))

    def sorted(self) -> list[Problem]:
        return [p for _r, _c, p in sorted(self.items, key=lambda item: (item[0], item[1]))]


_DISTINCT_SAMPLE = 1000


@dataclass(frozen=True)
class _Coded:
    """Answers of one column (or field) as values plus, per row, which of them it holds.

    Signup columns repeat a few answers thousands of times, so every normaliser runs once
    per distinct value and its result is spread back over the rows through ``codes``
    (numpy ``take``: no Python loop over rows). ``values`` are in the order the rows first
    show them; they may repeat (after a mapping, or in a column of nearly all different
    answers, which is not worth factorising: see ``of``).
    """

    codes: np.ndarray
    values: list

    @classmethod
    def of(cls, cells: np.ndarray) -> _Coded:
        """A column of text cells, factorised, unless its first rows are nearly all different
        (names, addresses, comments): then hashing every cell would only cost, and each row
        keeps its own value."""
        sample = cells[:_DISTINCT_SAMPLE]
        if len(sample) >= _DISTINCT_SAMPLE and len(set(sample.tolist())) > 0.9 * len(sample):
            return cls(np.arange(len(cells)), cells.tolist())
        codes, uniques = pd.factorize(cells)  # text cells: never NA, so never the -1 sentinel
        return cls(codes, uniques.tolist())

    @classmethod
    def constant(cls, value: object, n: int) -> _Coded:
        return cls(np.zeros(n, dtype=np.intp), [value])

    def map(self, func: Callable[[Any], object]) -> _Coded:
        """``func`` of each row's value, called once per distinct value."""
        return _Coded(self.codes, list(map(func, self.values)))

    def map_all(self, func: Callable[[list], list]) -> _Coded:
        """Like ``map`` for a function that takes all distinct values at once (``norm.clean_texts``)."""
        return _Coded(self.codes, func(self.values))

    def empty(self) -> np.ndarray:
        """Per row, whether its value is ``""``."""
        return (np.fromiter(self.values, dtype=object, count=len(self.values)) == "")[self.codes]

    def test(self, predicate: Callable[[Any], object]) -> np.ndarray:
        """Per row, whether ``predicate`` holds for its value."""
        verdicts = np.fromiter((bool(predicate(value)) for value in self.values), dtype=bool, count=len(self.values))
        return verdicts[self.codes]

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """The values of the rows at ``positions`` as an object array."""
        table = np.fromiter(self.values, dtype=object, count=len(self.values))  # tuples stay whole
        return table[self.codes[positions]]

    def numbers(self, dtype: npt.DTypeLike = float) -> np.ndarray:
        """The value of each row as a number array (values must be numbers)."""
        table = np.array(self.values, dtype=dtype)
        return table[self.codes]


def _combine(parts: Sequence[_Coded], func: Callable[..., object]) -> _Coded:
    """``func(value of part 1, value of part 2, ...)`` per row, called once per distinct combination."""
    if len(parts) == 1:
        return parts[0].map(func)
    codes = parts[0].codes
    for part in parts[1:]:
        codes, _ = pd.factorize(codes.astype(np.int64) * len(part.values) + part.codes)  # stays below n
    _, first_rows = np.unique(codes, return_index=True)  # the first row of each combination, by its code
    values = [func(*(part.values[part.codes[row]] for part in parts)) for row in first_rows.tolist()]
    return _Coded(codes, values)


class _Cells:
    """The text cells of one file, column by column; a column or group is factorised once."""

    def __init__(self, frame: pd.DataFrame):
        self.grid = frame.to_numpy(dtype=object)
        self.n = len(frame)
        self._groups: dict[tuple[int, ...], _Coded] = {}

    def group(self, group: Sequence[int]) -> _Coded:
        """The first answered cell of a group of columns, per row (a branching form's copies)."""
        key = tuple(group)
        if key not in self._groups:
            text = self.grid[:, group[0]]
            if len(group) > 1:
                text = text.copy()
                for index in group[1:]:
                    unanswered = np.fromiter((not value.strip() for value in text), dtype=bool, count=self.n)
                    text[unanswered] = self.grid[unanswered, index]
            self._groups[key] = _Coded.of(text)
        return self._groups[key]


def _cleaned(coded: _Coded) -> _Coded:
    return coded.map_all(norm.clean_texts)


def _field_text(cells: _Cells, source: hdr.Source) -> _Coded:
    """The cleaned answer of a field per row (first and last name joined for a "join" source)."""
    if source.kind == "join":
        first, last = (_cleaned(cells.group(g)) for g in source.groups)
        return _combine([first, last], lambda a, b: f"{a} {b}".strip())
    return _cleaned(cells.group(source.groups[0]))


def _first_column(source: hdr.Source) -> int:
    return source.groups[0][0]


def _problem_rows(mask: np.ndarray | pd.Series) -> list[int]:
    return np.flatnonzero(np.asarray(mask)).tolist()


def _grid_lists(cells: _Cells, source: hdr.Source, field_name: str) -> _Coded:
    """A grid question folded into one list per row: the row labels that were ticked.

    In an availability grid each cell lists the ticked weekdays; those become
    "Monday 09:00 - 12:00" items so that the day survives.
    """
    per_option = [cells.group(group).map(functools.partial(_grid_items, option=option, field_name=field_name))
                  for option, group in zip(source.options, source.groups)]
    if not per_option:
        return _Coded.constant((), cells.n)
    return _combine(per_option, lambda *items: tuple(item for option_items in items for item in option_items))


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _grid_items(cell: str, option: str, field_name: str) -> tuple[str, ...]:
    cell = norm.clean_text(cell)
    if not cell or norm.parse_bool(cell) is False:
        return ()
    if field_name == "availability" and hdr.WEEKDAY_WORDS.search(cell):
        days = [day for day in _DAY_NAMES if re.search(rf"\b{day[:3]}", cell, re.IGNORECASE)]
        if days:
            return tuple(f"{day} {option}" for day in days)
    return (option,)


def _list_values(cells: _Cells, source: hdr.Source, field_name: str, config: Config) -> _Coded:
    """The options of a list field per row (multi-select, grid, ranked columns or several questions)."""
    if source.kind == "grid":
        return _grid_lists(cells, source, field_name)
    if source.kind == "ranked":
        ranks = [_cleaned(cells.group(group)) for group in source.groups]
        return _combine(ranks, lambda *ranked: tuple(v for v in ranked if v))
    known = tuple(config.availability) if field_name == "availability" else ()
    free_text = field_name in ("languages", "format", "choices")
    per_group = []
    for group in source.groups:  # one group, or several questions asking for the same list ("union")
        text = cells.group(group)
        distinct = _first_distinct((value for value in text.values if value != ""), 2000)
        capitalised = norm.options_look_capitalised(distinct)
        per_group.append(text.map(functools.partial(norm.split_options, known=known, capitalised=capitalised,
                                                    free_text=free_text)))
    if len(per_group) == 1:
        return per_group[0]
    return _combine(per_group, lambda *lists: norm.unique_options(o for options in lists for o in options))


def _first_distinct(values: Iterable[object], limit: int) -> list:
    """The first ``limit`` distinct values, in order."""
    seen: dict[object, None] = {}
    for value in values:
        if value not in seen:
            seen[value] = None
            if len(seen) >= limit:
                break
    return list(seen)


RoleAnswer = tuple[str | None, str, int | None]
"""A row's role answer read: (role or None, the problem when None, the column it names)."""


def _role_from_flags(mentor: str, mentee: str, columns: Mapping[str, int | None]) -> RoleAnswer:
    """The role from yes/no "is a mentor?" / "is a mentee?" answers (cleaned cell texts).

    A blank answer is an unticked box; an answer that is neither yes nor no ("abc") leaves the
    role unknown, since reading it as no would be a guess.
    """
    flags: dict[str, bool] = {}
    for name, answer in (("is_mentor", mentor), ("is_mentee", mentee)):
        if not answer:
            flags[name] = False
            continue
        value = norm.parse_bool(answer)
        if value is None:
            problem = (f'the answer "{_shown(answer)}" is not yes or no, so the role cannot be read for sure; '
                       "the row is not used (write yes or no)")
            return None, problem, columns[name]
        flags[name] = value
    role = {(True, True): "both", (True, False): "mentor", (False, True): "mentee"}.get(
        (flags["is_mentor"], flags["is_mentee"]))
    if role is None:
        column = columns["is_mentor"] if columns["is_mentor"] is not None else columns["is_mentee"]
        return None, "neither mentor nor mentee is answered yes; the row is not used", column
    return role, "", None


def _shown(answer: str, limit: int = 60) -> str:
    """An answer as quoted in a problem: on one line, shortened."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in answer).split())  # no terminal escapes
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _roles(cells: _Cells, source: hdr.Source) -> _Coded:
    """The role answer per row as a ``RoleAnswer`` (role None, with the reason, where not read for sure)."""
    if source.kind == "flags":
        groups = dict(zip(source.options, source.groups))
        columns = {name: (groups[name][0] if name in groups else None) for name in ("is_mentor", "is_mentee")}
        unanswered = _Coded.constant("", cells.n)
        answers = [_cleaned(cells.group(groups[name])) if name in groups else unanswered
                   for name in ("is_mentor", "is_mentee")]
        return _combine(answers, lambda mentor, mentee: _role_from_flags(mentor, mentee, columns))
    column = _first_column(source)

    def answer(text: object) -> RoleAnswer:
        reading = read_role(str(text))
        return reading.role, ("" if reading.role else role_problem(str(text), reading)), column

    return _field_text(cells, source).map(answer)


def _normalise_file(table: RawTable, mapping: hdr.ColumnMap, config: Config,
                    file_role: str | None) -> tuple[pd.DataFrame, list[Problem]]:
    """The People rows of one file (before duplicates across files are settled) and its problems.

    Every column is worked on whole (see ``_Coded``); only rows with a problem are visited
    one by one, to report it.
    """
    cells = _Cells(table.frame)
    n = cells.n
    sources = mapping.sources
    report = _Rows(table, mapping)
    for note in [*table.notes, *mapping.notes]:
        report.add(None, None, "warning", note)

    blank = table.blank
    if blank is None or len(blank) != n:
        blank = table.frame.apply(lambda c: c.astype(str).str.strip() == "").all(axis=1).to_numpy()
    for position in _problem_rows(blank):
        report.add(position, None, "warning", "blank row; skipped")
    usable = ~blank & ~_read_errors(table, report)

    names = _field_text(cells, sources["name"])
    emails = _field_text(cells, sources["email"]).map(str.lower)
    role_answers = _Coded.constant((file_role, "", None), n) if file_role is not None else _roles(cells, sources["role"])
    roles = role_answers.map(lambda answer: cast(RoleAnswer, answer)[0])

    missing_name = usable & names.empty()
    for position in _problem_rows(missing_name):
        report.add(position, _first_column(sources["name"]), "error", "no name; the row is not used")
    missing_email = usable & emails.empty()
    for position in _problem_rows(missing_email):
        report.add(position, _first_column(sources["email"]), "error", "no email address; the row is not used")
    bad_email = usable & ~missing_email & ~emails.test(_email_ok)
    for position in _problem_rows(bad_email):
        report.add(position, _first_column(sources["email"]), "error",
                   "the email address is not valid; the row is not used (correct it in the file)")
    role_unknown = usable & roles.test(lambda role: role is None)
    for position in _problem_rows(role_unknown):
        _role, problem, column = cast(RoleAnswer, role_answers.values[role_answers.codes[position]])
        report.add(position, column, "error", problem)
    excluded = missing_name | missing_email | bad_email | role_unknown

    if "consent" in sources:
        consented = _field_text(cells, sources["consent"]).map(norm.parse_bool).test(lambda answer: answer is True)
        no_consent = usable & ~excluded & ~consented  # unanswered counts as no
        for position in _problem_rows(no_consent):
            report.add(position, _first_column(sources["consent"]), "error",
                       "no consent to share their details; the row is not used")
        excluded |= no_consent

    excluded |= _conflicting_copies(cells, sources, usable & ~excluded, report)
    capacity, wants, bad_count = _counts(cells, sources, roles, usable & ~excluded, config, report)
    keep = usable & ~excluded & ~bad_count
    out: dict[str, _Coded | np.ndarray] = {"name": names, "email": emails, "role": roles}
    for name in LIST_FIELDS:
        out[name] = _list_values(cells, sources[name], name, config) if name in sources else _Coded.constant((), n)
    availability = out["availability"]
    if "availability" in sources and isinstance(availability, _Coded):
        _warn_unreadable_availability(availability, sources["availability"], keep, config, report)
    for name in TEXT_FIELDS:
        out[name] = _field_text(cells, sources[name]) if name in sources else _Coded.constant("", n)
    out["experience"] = _experience(cells, sources.get("experience"), keep, report)
    out["facilitate"] = _facilitate(cells, sources.get("facilitate"), keep, report)
    out["timezone"] = _timezones(cells, sources.get("timezone"), keep, report)
    out["capacity"], out["wants"] = capacity, wants
    out["timestamp"] = _timestamps(cells, sources.get("timestamp"), keep, report, dayfirst=table.dayfirst_hint)
    out["source_file"] = _Coded.constant(table.path, n)
    out["source_sheet"] = _Coded.constant(table.sheet, n)
    out["source_row"] = np.arange(n, dtype=np.int64) + table.first_row
    return _people_frame(out, np.flatnonzero(keep)), report.sorted()


def _people_frame(columns: Mapping[str, _Coded | np.ndarray], kept: np.ndarray) -> pd.DataFrame:
    """The ``kept`` rows of one file as a People frame: text as ``str``, lists as objects, numbers as numbers.

    Text columns are made ``str`` from their distinct values and then spread over the rows,
    so pandas checks each distinct value once rather than every cell.
    """
    frame = {}
    for name in PEOPLE_COLUMNS:
        values = columns[name]
        if not isinstance(values, _Coded):
            frame[name] = values[kept]
        elif name in LIST_FIELDS:
            frame[name] = pd.array(values.rows(kept), dtype=object)
        else:
            frame[name] = pd.array(values.values, dtype="str").take(values.codes[kept])
    return pd.DataFrame(frame)


_PLAIN_ADDRESS = re.compile(r"(?=[^@]{1,64}@)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([^@]*)")


def _email_ok(address: str) -> bool:
    """Whether an address is valid (email-validator's syntax rules, no DNS).

    The domain is checked by email-validator once per distinct domain; an address with one
    "@", a plain ASCII dot-atom local part of at most 64 characters and at most 254
    characters in all is accepted when its domain is; anything else goes through
    email-validator whole. 100,000 signups take a fraction of a second this way.
    """
    if not address:
        return False
    plain = _PLAIN_ADDRESS.fullmatch(address) if len(address) <= 254 else None
    if plain and _domain_ok(plain.group(1)):
        return True
    return _validate_whole(address)


@functools.lru_cache(maxsize=65536)
def _domain_ok(domain: str) -> bool:
    return _validate_whole(f"a@{domain}")


def _validate_whole(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


IDENTITY_FIELDS = ("email", "name", "role")


def _conflicting_copies(cells: _Cells, sources: Mapping[str, hdr.Source], keep: np.ndarray,
                        report: _Rows) -> np.ndarray:
    """Rows that answer one question in two columns of the same header with different answers.

    Forms with branches repeat a question under the same header and each person answers one
    copy, so the first answered copy is used. When a row answers two copies differently, using
    the first would drop the other silently: for the person's email, name or role the row is
    not used (an error: a guess could send mail to the wrong person), for any other field it is
    a warning. Returns the rows that are not used.
    """
    unusable = np.zeros(cells.n, dtype=bool)
    for field_name, source in sources.items():
        for group in source.groups:
            if len(group) < 2:
                continue
            conflict = keep & _copies_differ(cells.grid[:, list(group)])
            error = field_name in IDENTITY_FIELDS
            for position in _problem_rows(conflict):
                report.add(position, group[0], "error" if error else "warning",
                           f"answered differently in {len(group)} columns with this same header "
                           f"(columns {', '.join(_column_letters(c + 1) for c in group)}); "
                           + ("the row is not used: keep one answer in the file" if error else
                              "the first answer is used, the others are ignored"))
            if error:
                unusable |= conflict
    return unusable


def _copies_differ(block: np.ndarray) -> np.ndarray:
    """Per row of a block of same-header text columns: whether two answered cells differ (ignoring
    case, accents and spacing). Only rows with more than one non-empty cell are looked at."""
    filled = block != ""
    differ = np.zeros(block.shape[0], dtype=bool)
    for row in np.flatnonzero(filled.sum(axis=1) > 1).tolist():
        answers = {norm.fold(value) for value in block[row].tolist()} - {""}
        differ[row] = len(answers) > 1
    return differ


def _read_errors(table: RawTable, report: _Rows) -> np.ndarray:
    """The rows the reader found broken (a CSV quote that swallowed the rows after it): errors;
    and the rows it found doubtful (answers beyond the header): warnings."""
    unusable = np.zeros(len(table.frame), dtype=bool)
    for row, column, message in table.row_errors:
        position = row - table.first_row
        if 0 <= position < len(unusable):
            report.add(position, column, "error", message)
            unusable[position] = True
    for row, column, message in table.row_warnings:
        position = row - table.first_row
        if 0 <= position < len(unusable):
            report.add(position, column, "warning", message)
    return unusable


def _warn_unreadable_availability(answers: _Coded, source: hdr.Source, keep: np.ndarray, config: Config,
                                  report: _Rows) -> None:
    """A warning on each row with an availability answer that gives no window ("never", "25:00-26:00",
    an emoji): it is ignored when scoring, and the coordinator should know. Once per distinct answer list."""
    unreadable = answers.map(lambda options: len(unreadable_answers(options, config)))  # type: ignore[arg-type]
    counts = np.asarray(unreadable.values, dtype=np.int64)[unreadable.codes] if unreadable.values else np.zeros(0)
    for position in _problem_rows(keep & (counts > 0)):
        count = int(counts[position])
        which = "an availability answer gives" if count == 1 else f"{count} availability answers give"
        report.add(position, _first_column(source), "warning",
                   f"{which} no day or time the tool can read (write e.g. Mon-Fri 18:00-21:00 or "
                   "weekday evenings, or map the answer in [availability]); ignored")


def _parsed_answers(cells: _Cells, source: hdr.Source, keep: np.ndarray, report: _Rows,
                    parse: Callable[[Any], object], problem: str) -> _Coded:
    """Each row's answer in ``source`` parsed (None where unanswered or not understood); an answer
    not understood on a row in use is a warning ``problem`` on that row, never a guess."""
    text = _field_text(cells, source)
    answers = text.map(parse)
    unreadable = keep & answers.test(lambda answer: answer is None) & ~text.empty()
    for position in _problem_rows(unreadable):
        report.add(position, _first_column(source), "warning", problem)
    return answers


def _experience(cells: _Cells, source: hdr.Source | None, keep: np.ndarray, report: _Rows) -> np.ndarray:
    """Years of experience per row (NaN where unanswered or not understood, which is reported)."""
    if source is None:
        return np.full(cells.n, np.nan)
    years = _parsed_answers(cells, source, keep, report, norm.parse_years,
                            "years of experience not understood (write e.g. 7, 5-10 or 10+); left blank")
    return years.map(lambda y: float("nan") if y is None else float(y)).numbers()


def _facilitate(cells: _Cells, source: hdr.Source | None, keep: np.ndarray, report: _Rows) -> _Coded:
    """"yes", "no" or "" per row: whether they volunteer to facilitate a peer circle.

    An answer that is neither a clear yes nor a clear no is read as blank (the most experienced
    member facilitates, as with no answer) and reported: a guessed "no" would keep a willing
    facilitator out, a guessed "yes" would make someone lead who did not offer to.
    """
    if source is None:
        return _Coded.constant("", cells.n)
    answers = _parsed_answers(cells, source, keep, report, norm.parse_bool,
                              "volunteering to facilitate not understood (write yes or no); read as blank")
    return answers.map(lambda answer: "" if answer is None else "yes" if answer else "no")


def _timezones(cells: _Cells, source: hdr.Source | None, keep: np.ndarray, report: _Rows) -> _Coded:
    """The stored time zone per row ("" where unanswered or not recognised, which is reported)."""
    if source is None:
        return _Coded.constant("", cells.n)
    zones = _parsed_answers(cells, source, keep, report, parse_timezone,
                            "time zone not recognised (write e.g. Europe/London, UTC+2 or EST); left blank")
    return zones.map(lambda z: "" if z is None else z)


def _count_outcome(answer: tuple[int | None, str | None], name: str, default: int, limit: int,
                   noun: str) -> tuple[int, str | None, bool]:
    """The head count used for an answered count, what to say about it (if anything), and whether
    that is an error (the row is not used: a count the tool cannot read for sure is never guessed)."""
    count, reason = answer
    if reason is not None:
        return default, (f"the number of {noun} {reason}; the row is not used "
                         f"(write a whole number such as {default} in the file)"), True
    if count is None:
        return default, f"number of {noun} not understood; the default {default} is used", False
    if count > limit:
        return limit, f"more {noun} than the limit of {limit}; {limit} is used ([signups] max_{name})", False
    if name == "wants" and count < 1:
        return default, f"asks for no {noun}; the default {default} is used", False
    return count, None, False


def _counts(cells: _Cells, sources: Mapping[str, hdr.Source], roles: _Coded, keep: np.ndarray, config: Config,
            report: _Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capacity for mentors and wants for mentees: defaults, and the config's limits with a warning;
    and the rows whose count cannot be read for sure (an error: they are not used)."""
    n = cells.n
    settings = config.signups
    result = {}
    unusable = np.zeros(n, dtype=bool)
    for name, sides, default, limit, noun in (
        ("capacity", ("mentor", "both"), settings.default_capacity, settings.max_capacity, "mentees"),
        ("wants", ("mentee", "both"), settings.default_wants, settings.max_wants, "mentors"),
    ):
        applies = roles.test(sides.__contains__)
        values = np.full(n, default, dtype=np.int64)
        source = sources.get(name)
        if source is not None:
            text = _field_text(cells, source)
            outcome = text.map(norm.read_count).map(
                functools.partial(_count_outcome, name=name, default=default, limit=limit, noun=noun))
            counted = applies & keep & ~text.empty()
            said = counted & outcome.test(lambda o: o[1] is not None)
            column = _first_column(source)
            for position in _problem_rows(said):
                _used, message, error = outcome.values[outcome.codes[position]]
                report.add(position, column, "error" if error else "warning", message)
            unusable |= counted & outcome.test(lambda o: o[2])
            used = outcome.map(lambda o: o[0]).numbers(np.int64)
            values[counted] = used[counted]
        values[~applies] = 0
        result[name] = values
    return result["capacity"], result["wants"], unusable


def _timestamps(cells: _Cells, source: hdr.Source | None, keep: np.ndarray, report: _Rows, *,
                dayfirst: bool) -> _Coded:
    """The submission time per row as ISO UTC ("" where unanswered or unreadable, which is reported)."""
    if source is None:
        return _Coded.constant("", cells.n)
    text = _field_text(cells, source)
    stamps = _Coded(text.codes, norm.parse_timestamp_values(text.values, text.codes, dayfirst_default=dayfirst))
    unreadable = keep & stamps.test(lambda stamp: stamp is None)
    for position in _problem_rows(unreadable):
        report.add(position, _first_column(source), "warning", f"timestamp not understood or not between {norm.MIN_YEAR} and {norm.MAX_YEAR}; left blank")
    return stamps.map(lambda stamp: "" if stamp is None else stamp)


# --- several files ------------------------------------------------------------------------------------------


def _validate_columns_config(config: Config) -> None:
    unknown = sorted(set(config.columns) - set(hdr.MAPPABLE_FIELDS))
    if unknown:
        where = config.path or "mentor.toml"
        raise MentorError(
            f"[columns] has unknown field {unknown[0]!r}", path=where,
            hint=f"Known fields: {', '.join(hdr.FIELD_HELP)}, choice_1 ... choice_{hdr.MAX_CHOICES}.",
        )


def map_file(table: RawTable, config: Config, *, role: str | None = None) -> tuple[hdr.ColumnMap, str | None, str]:
    """The column mapping of one read file, the role every row gets (if the file decides it) and why.

    A role column answers for each row; a file without one is all ``role`` (``--role``), or
    all what its name says ("mentors.xlsx"). ``[columns] role = ""`` ignores a role column.
    """
    guessed = role_from_filename(table.path)
    mapping = hdr.detect_columns(table.headers, hdr.Answers(table.frame), configured=config.columns,
                                 file_role=role or guessed)
    if "role" in mapping.sources:
        return mapping, None, "column"
    if role is not None:
        return mapping, role, "--role"
    if guessed is not None:
        return mapping, guessed, "file name"
    return mapping, None, ""


def _require(mapping: hdr.ColumnMap, table: RawTable, role_from: str) -> None:
    """A file without an email, name or role source cannot be used at all."""
    sheet = f" (sheet {table.sheet!r})" if table.sheet else ""
    shown = ", ".join(repr(c.header if len(c.header) <= 40 else c.header[:37] + "...") for c in mapping.columns[:6])
    more = ", ..." if len(mapping.columns) > 6 else ""
    if "email" not in mapping.sources:
        hint = f'Name it in mentor.toml: [columns] email = "<header>". Its headers: {shown}{more}.'
        weak = [c for c in mapping.columns if c.suggestion == "email" and "answers are not" in c.note]
        if weak:
            hint = (f"The column {weak[0].header!r} does not hold addresses (Microsoft Forms' anonymous 'Email'?). "
                    "Ask for the email in a question, or name the column in [columns] email.")
        raise MentorError(f"no email column found{sheet}", path=table.path, hint=hint)
    if "name" not in mapping.sources:
        raise MentorError(f"no name column found{sheet}", path=table.path,
                          hint=f'Name it in mentor.toml: [columns] name = "<header>". Its headers: {shown}{more}.')
    if not role_from:
        raise MentorError(
            f"no role column found{sheet}, and the file name does not say mentors or mentees", path=table.path,
            hint="Pass --role mentor|mentee|both, name the file e.g. mentors.csv, or set [columns] role.",
        )


def check_signups(
    paths: Iterable[str | Path],
    config: Config | None = None,
    *,
    role: str | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> SignupCheck:
    """Read, map, normalise and validate signup files; the roster plus what each file showed.

    ``role`` gives every row that role in files without a role column;
    ``sheet`` picks the sheet of workbooks (name, or 1-based number). Raises ``MentorError``
    for a file that cannot be used at all.
    """
    config = config or Config()
    _validate_columns_config(config)
    if role is not None and role not in ROLES:
        raise MentorError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    paths = list(paths)
    if not paths:
        raise MentorError("no signup file given", hint="Name one or more CSV or XLSX files.")
    frames, problems, reports = [], [], []
    columns: dict[str, str] = {}
    for path in paths:
        if progress:
            progress(f"reading {path}")
        table = read_table(path, sheet=sheet)
        mapping, file_role, role_from = map_file(table, config, role=role)
        _require(mapping, table, role_from)
        people, file_problems = _normalise_file(table, mapping, config, file_role)
        frames.append(people)
        problems.extend(file_problems)
        source = SourceFile(table.path, table.sha256, table.sheet, file_role, len(table.frame))
        reports.append(FileReport(source, mapping, role_from, len(table.frame)))
        for name, header in mapping.as_columns().items():
            if name not in columns:
                columns[name] = header
            elif header not in columns[name].split(" | "):
                columns[name] = f"{columns[name]} | {header}"
    people = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(PEOPLE_COLUMNS))
    people, duplicate_problems = _settle_duplicates(people, reports)
    duplicate_problems += _name_problems(people, reports)
    problems = _merge_problems(problems, duplicate_problems, [str(p) for p in paths])
    people = _with_people_dtypes(people)
    for report in reports:
        report.used = int((people["source_file"] == report.source.path).sum())
    roster = Roster(people, problems, columns, [r.source for r in reports])
    return SignupCheck(roster, reports)


def read_signups(
    paths: Iterable[str | Path],
    config: Config | None = None,
    *,
    role: str | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> Roster:
    """The roster of valid participants from signup files (see :func:`check_signups`)."""
    return check_signups(paths, config, role=role, sheet=sheet, progress=progress).roster


def _settle_duplicates(people: pd.DataFrame, reports: list[FileReport]) -> tuple[pd.DataFrame, list[Problem]]:
    """One row per email: the latest timestamp stands (signup order when not every row has one).

    A person who signed up twice changed their mind; the earlier row is reported, never
    merged, even when its role differs (the report says so, so the coordinator can set
    "both" by hand if that was meant). Only the rows whose email repeats are looked at, as
    plain tuples: thousands of repeats in a big cohort take milliseconds.
    """
    if people.empty:
        return people, []
    repeated = people["email"].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return people, []
    headers = {r.source.path: r.mapping.sources["email"] for r in reports}
    columns = {r.source.path: r.mapping for r in reports}
    rows = people.loc[repeated, ["email", "timestamp", "role", "source_file", "source_sheet", "source_row"]]
    signups = {index: _Signup(*values) for index, values in zip(rows.index.tolist(), rows.itertuples(index=False))}
    by_email: dict[str, list[int]] = {}
    for index, signup in signups.items():  # in row order: emails in order of first appearance
        by_email.setdefault(signup.email, []).append(index)
    drop: list[int] = []
    problems = []
    for order in by_email.values():
        if all(signups[i].timestamp for i in order):
            winner = max(order, key=lambda i: (signups[i].timestamp, i))
        else:
            winner = order[-1]
        kept = signups[winner]
        for index in order:
            if index == winner:
                continue
            row = signups[index]
            role_note = ""
            if row.role != kept.role:
                role_note = (f" It signed up as {row.role}, the one that stands as {kept.role}; set the role "
                             "to both there if both were meant.")
            header = columns[row.source_file].header(headers[row.source_file].groups[0][0])
            where = "" if kept.source_file == row.source_file else f"{kept.source_file} "
            problems.append(Problem(row.source_file, row.source_sheet, int(row.source_row), header, "warning",
                                    f"same email as {where}row {int(kept.source_row)}, a later signup that stands; "
                                    f"this one is not used.{role_note}"))
            drop.append(index)
    return people.drop(index=drop).reset_index(drop=True), problems


def _name_problems(people: pd.DataFrame, reports: list[FileReport]) -> list[Problem]:
    """What avoid, request and ranked-choice answers do not name for sure, on each writer's row.

    Read once the whole cohort is known (after duplicates are settled), by the same
    ``names.resolve_answers`` that ``match`` applies.
    """
    if people.empty:
        return []
    links = resolve_answers(people.reset_index(drop=True))
    if not links.findings:
        return []
    problems = []
    if links.unchecked:
        first = reports[0].source
        problems.append(Problem(first.path, first.sheet, None, "", "warning",
                                f"{links.unchecked} addresses in avoid, request or choice answers name nobody and "
                                "were not checked for typos (too many unknown addresses to compare)"))
    mappings = {r.source.path: r.mapping for r in reports}
    files, sheets, rows = (people[c].tolist() for c in ("source_file", "source_sheet", "source_row"))
    for finding in links.findings:
        mapping = mappings.get(files[finding.person])
        source = mapping.sources.get(finding.field) if mapping is not None else None
        header = ""
        if mapping is not None and source is not None:
            groups = source.groups
            group = groups[finding.rank - 1] if source.kind == "ranked" and 0 < finding.rank <= len(groups) else groups[0]
            header = mapping.header(group[0])
        problems.append(Problem(files[finding.person], sheets[finding.person], int(rows[finding.person]), header,
                                "warning", finding.text))
    return problems


@dataclass(frozen=True)
class _Signup:
    """What settling duplicates needs of one row."""

    email: str
    timestamp: str
    role: str
    source_file: str
    source_sheet: str
    source_row: int


def _merge_problems(problems: list[Problem], more: list[Problem], paths: list[str]) -> list[Problem]:
    order = {path: i for i, path in enumerate(paths)}
    every = problems + more
    return sorted(every, key=lambda p: (order.get(p.file, len(order)), -1 if p.row is None else p.row))


def _with_people_dtypes(people: pd.DataFrame) -> pd.DataFrame:
    """The dtypes ``model.make_people`` gives, so every stage sees the same frame."""
    people = people.reindex(columns=list(PEOPLE_COLUMNS))
    for column in PEOPLE_COLUMNS:
        if column in LIST_FIELDS:
            people[column] = people[column].astype(object)
        elif column in ("capacity", "wants", "source_row"):
            people[column] = people[column].astype(int)
        elif column == "experience":
            people[column] = people[column].astype(float)
        else:
            people[column] = people[column].astype(str)
    return people.reset_index(drop=True)

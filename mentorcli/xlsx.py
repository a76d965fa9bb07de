"""Every xlsx sheet mentorcli writes, as a table: one helper on xlsxwriter's public API.

``pairs.xlsx`` (match), ``checkins.xlsx`` (schedule) and ``cohort.xlsx`` (report) are tables:
a bold frozen header row, then one row per record, each column with its header, its cells,
its number format and its width. ``write_table_workbook`` writes such sheets; the stages only
say what the columns hold.

What every sheet written here guarantees:

- a text cell is text: no signup answer becomes a formula, a link or a number
  (``strings_to_formulas``/``urls``/``numbers`` off), and none becomes XML either. xlsxwriter
  writes a shared string that starts with ``<r>`` and ends with ``</r>`` as raw rich-text XML
  (so a signup cell ``<r>A & B</r>`` made a corrupt workbook), in its ``constant_memory`` mode
  too. Such a text is written here through ``write_rich_string`` in three plain runs, which
  xlsxwriter escapes: the cell reads back as the same text;
- the same sheets give the same bytes: cells go in one fixed order (it fixes the shared string
  table), and the document date is given by the caller, never the clock;
- written to a file, the part files xlsxwriter makes while writing go beside the target (its
  ``tmpdir`` option), and a disk that fills during ``close()`` fails once, quietly
  (``QuietOnFailure``).

Speed (measured, README Performance): xlsxwriter's own ``write_*`` calls cost about 6.6 µs a
cell, and its zip is deflated at zlib's default level (no public setting). A plain table written
to a file (pairs.xlsx: text and number columns, column after column) is therefore written in two
steps: xlsxwriter writes the workbook with the header rows, then the data rows and the shared
strings are added to the parts it wrote (``_write_spliced``), deflated at level 1: five times
faster, and the same XML as xlsxwriter's own calls (tests compare the parts byte for byte).
A table written row after row is spliced the same way when its cells are texts, numbers and
dates of one format (a new checkins.xlsx of 5,000 pairs x 12 months: 1.6 s of CPU instead of
4.2 s); with anything else in it (a kept log's typed cells) xlsxwriter's calls write every cell.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import numbers
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from xml.etree import ElementTree

import numpy as np
import xlsxwriter  # type: ignore[import-untyped]  # xlsxwriter 3.3 has hints but no py.typed marker
from xlsxwriter.utility import xl_col_to_name  # type: ignore[import-untyped]

Format = Any
"""An xlsxwriter ``Format`` (xlsxwriter is untyped for mypy)."""
Worksheet = Any
"""An xlsxwriter ``Worksheet``."""

SAFE_OPTIONS: dict[str, Any] = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
"""xlsxwriter options of every workbook written here: a text cell stays text."""

TEXT, NUMBER, ANY = "text", "number", "any"
"""What a column holds: text (``str``), numbers (``float``/``int``), or any cell value, typed one
by one (bool, number, date and time, text)."""

DATE_FORMATS: dict[type, str] = {
    dt.datetime: "yyyy-mm-dd hh:mm", dt.date: "yyyy-mm-dd", dt.time: "hh:mm", dt.timedelta: "hh:mm",
}
"""Number format of a date or time cell in a column without one of its own."""

WRAP = {"text_wrap": True, "valign": "top"}
"""Text format of a column of sentences: wrapped, aligned to the top of the row."""
EXCEL_MAX_TEXT = 32_767
"""Excel's longest cell text, in UTF-16 code units (xlsxwriter cuts a longer one)."""


@dataclass(frozen=True)
class Styled:
    """A cell with a number format of its own (a percentage among plain counts)."""

    value: Any
    number_format: str


@dataclass
class Column:
    """One column of a table sheet: its header and its data cells, top to bottom.

    A cell that is None (or NaN) is left out. An empty text is left out too, unless
    ``write_empty`` (then it is an empty text cell, as checkins.xlsx and cohort.xlsx have
    always had). ``number_format`` formats the number and date cells, ``text_format`` (format
    properties, such as ``WRAP``) the text cells; ``whole_column`` gives the column's format
    (its number format, or else its text format) to the whole column as well, so that a cell
    typed in later gets it too.
    """

    header: str
    values: Sequence[Any]
    kind: str = TEXT
    number_format: str | None = None
    width: float = 10.0
    text_format: dict[str, Any] | None = None
    whole_column: bool = False
    write_empty: bool = False


@dataclass
class TableSheet:
    """A sheet: a bold header row frozen above the columns, optionally a filter over them.

    ``filter_min_rows``: the filter covers at least this many data rows (1 leaves a row to
    type into under an empty table). ``by_rows``: cells are written row after row instead of
    column after column; the order fixes the workbook's shared string table, so its bytes.
    ``validations``: xlsxwriter ``data_validation`` options for the data rows of a column, by
    header.
    """

    name: str
    columns: Sequence[Column]
    header_format: dict[str, Any]
    autofilter: bool = True
    filter_min_rows: int = 0
    by_rows: bool = False
    validations: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return max((len(column.values) for column in self.columns), default=0)


def write_table_workbook(target: str | os.PathLike[str] | io.BytesIO, sheets: Sequence[TableSheet],
                         properties: dict[str, Any]) -> None:
    """Write ``sheets``, in order, to ``target`` (a path, or a buffer: written in memory).

    ``properties`` are the document's (title, author, created...): give ``created`` from the
    input so that the same sheets give the same bytes.
    """
    if isinstance(target, (str, os.PathLike)) and sheets and all(map(_splice_ready, sheets)):
        _write_spliced(target, sheets, properties)
        return
    with TableWorkbook(target) as book:
        book.workbook.set_properties(properties)
        for sheet in sheets:
            book.add_sheet(sheet)


class TableWorkbook:
    """An xlsxwriter ``Workbook`` that writes table sheets; closed (written) on leaving ``with``.

    Left through an exception, nothing more is written and the target is closed: the caller's
    ``files.atomic_path`` removes the half-written file.
    """

    def __init__(self, target: str | os.PathLike[str] | io.BytesIO, *, tmpdir: str | os.PathLike[str] | None = None):
        """``tmpdir``: the folder of xlsxwriter's part files while a file is written (every sheet,
        every email address of the cohort): by default the target's, which ``files.atomic_path``
        makes a private folder removed with all in it, so none is left in the shared temp folder."""
        self.output: QuietOnFailure | None = None
        if isinstance(target, (str, os.PathLike)):
            self.output = QuietOnFailure(open(target, "wb"))  # noqa: SIM115 (closed in close())
            options = {**SAFE_OPTIONS, "tmpdir": str(tmpdir or os.path.dirname(os.path.abspath(target)))}
            self.workbook = xlsxwriter.Workbook(self.output, options)
        else:
            self.workbook = xlsxwriter.Workbook(target, {**SAFE_OPTIONS, "in_memory": True})
        self._formats: dict[tuple[tuple[str, Any], ...], Format] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.close()
        elif self.output is not None:
            self.output.give_up()

    def close(self) -> None:
        """Write the workbook. A failure (a full disk) reaches the caller once; after it, the
        target takes no more bytes and raises nothing more."""
        try:
            self.workbook.close()
            if self.output is not None:
                self.output.raw.close()
        except BaseException:
            if self.output is not None:
                self.output.give_up()
            raise

    def format(self, properties: dict[str, Any]) -> Format | None:
        """The workbook's format with these properties (one per distinct set), None for none."""
        if not properties:
            return None
        key = tuple(sorted(properties.items()))
        if key not in self._formats:
            self._formats[key] = self.workbook.add_format(properties)
        return self._formats[key]

    def add_sheet(self, table: TableSheet, *, cells: bool = True) -> Worksheet:
        """One table sheet: header, widths and column formats, cells, frozen header, filter
        (without the data cells when not ``cells``: ``_write_spliced`` adds them)."""
        sheet = self.workbook.add_worksheet(table.name)
        header = self.format(table.header_format)
        writers = []
        for c, column in enumerate(table.columns):
            cell_format = self.format({"num_format": column.number_format} if column.number_format else {})
            text_format = self.format(column.text_format or {})
            sheet.set_column(c, c, column.width, (cell_format or text_format) if column.whole_column else None)
            writers.append(self._cell_writer(sheet, c, column, cell_format, text_format))
        if table.by_rows:
            for c, column in enumerate(table.columns):
                self._write_text(sheet, 0, c, column.header, header)
            columns = [column.values for column in table.columns]
            if not cells:
                # a date cell's own format is numbered by xlsxwriter when first used: one such cell
                # in row 2 makes it number the format as the data rows would (the row is replaced)
                found = _first_styled_date(table)
                if found is not None:
                    c, styled = found
                    sheet.write_datetime(1, c, dt.datetime(2000, 1, 1), self.format({"num_format": styled.number_format}))
                columns = []
            for row in range(table.rows if columns else 0):
                for write, values in zip(writers, columns):
                    if row < len(values):
                        write(row + 1, values[row])
        else:
            for c, (write, column) in enumerate(zip(writers, table.columns)):
                self._write_text(sheet, 0, c, column.header, header)
                if not cells:
                    continue
                if column.kind == TEXT and not column.write_empty:
                    self._write_texts(sheet, c, column.values, self.format(column.text_format or {}))
                else:
                    for row, value in enumerate(column.values, 1):
                        write(row, value)
        last = max(table.rows, table.filter_min_rows)
        for header_text, options in table.validations.items():
            c = [column.header for column in table.columns].index(header_text)
            sheet.data_validation(1, c, last, c, options)
        sheet.freeze_panes(1, 0)
        if table.autofilter:
            sheet.autofilter(0, 0, last, max(len(table.columns) - 1, 0))
        return sheet

    def _cell_writer(self, sheet: Worksheet, c: int, column: Column,
                     cell_format: Format | None, text_format: Format | None) -> Callable[[int, Any], None]:
        """A function that writes one data cell of ``column`` (row, value) as its kind says."""
        keep_empty = column.write_empty

        def text(row: int, value: Any) -> None:
            if value or (keep_empty and value is not None):
                self._write_text(sheet, row, c, value, text_format)

        def number(row: int, value: Any) -> None:
            if value is not None and value == value:  # noqa: PLR0124 (NaN is no cell)
                sheet.write_number(row, c, value, cell_format)

        def any_value(row: int, value: Any) -> None:
            self._write_value(sheet, row, c, value, column, cell_format, text_format)

        return {TEXT: text, NUMBER: number}.get(column.kind, any_value)

    def _write_value(self, sheet: Worksheet, row: int, c: int, value: Any, column: Column,
                     cell_format: Format | None, text_format: Format | None) -> None:
        """A cell typed by its value: bool, number, date or time, or text."""
        if isinstance(value, Styled):
            cell_format, value = self.format({"num_format": value.number_format}), value.value
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, c, value, cell_format)
        elif isinstance(value, numbers.Real):
            sheet.write_number(row, c, value, cell_format)
        elif isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
            if cell_format is None:
                kind = next(k for k in DATE_FORMATS if isinstance(value, k))
                cell_format = self.format({"num_format": DATE_FORMATS[kind]})
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            sheet.write_datetime(row, c, value, cell_format)
        elif value != "" or column.write_empty:
            self._write_text(sheet, row, c, str(value), text_format)

    def _write_texts(self, sheet: Worksheet, c: int, values: Sequence[str], text_format: Format | None) -> None:
        """A column of text, top to bottom, empty texts left out: the bulk of pairs.xlsx, so the
        loop calls xlsxwriter directly (a tenth of the writing time, measured)."""
        write = sheet.write_string
        for row, value in enumerate(values, 1):
            if value:
                if value[-1] == ">" and _xml_looking(value):
                    _write_xml_looking_text(sheet, row, c, value, text_format)
                else:
                    write(row, c, value, text_format)

    @staticmethod
    def _write_text(sheet: Worksheet, row: int, c: int, text: str, text_format: Format | None) -> None:
        if _xml_looking(text):
            _write_xml_looking_text(sheet, row, c, text, text_format)
        else:
            sheet.write_string(row, c, text, text_format)


def _xml_looking(text: str) -> bool:
    """A text xlsxwriter would write as raw rich-text XML (see the module docstring)."""
    return text.startswith("<r>") and text.endswith("</r>")


def _write_xml_looking_text(sheet: Worksheet, row: int, c: int, text: str, text_format: Format | None) -> None:
    """A text xlsxwriter would take for rich-text XML, as three plain runs it escapes (each
    non-empty: the text is at least ``<r></r>``). Cut to Excel's limit first, as
    ``write_string`` would: ``write_rich_string`` refuses a longer one."""
    text = excel_text(text)
    if not text.endswith("</r>"):
        sheet.write_string(row, c, text, text_format)
        return
    runs: list[Any] = [text[:1], text[1:-1], text[-1:]]
    sheet.write_rich_string(row, c, *runs, *([text_format] if text_format is not None else []))


def excel_text(text: str) -> str:
    """``text`` cut to Excel's 32,767 UTF-16 code units, never inside a character above U+FFFF."""
    if len(text) <= EXCEL_MAX_TEXT // 2:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > EXCEL_MAX_TEXT:
            return text[:index]
    return text


class QuietOnFailure(io.RawIOBase):
    """A file that, once a write to it has failed, takes no more bytes and raises no more errors.

    When the disk fills, zipfile raises from inside xlsxwriter's ``close()``; the half-written
    ``ZipFile`` is then collected later and tries to finish the file again, and Python prints
    that second failure with a traceback ("Exception ignored in ZipFile.__del__") at some random
    later moment. Given this file instead of a name, the first error reaches the caller as usual
    and the late retry writes nowhere: positions still add up (zipfile computes sizes from
    them), the bytes go nowhere.
    """

    def __init__(self, raw: Any):
        super().__init__()
        self.raw = raw
        self.failed = False
        self.position = 0
        self.end = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(data)
        if not self.failed:
            self._guard(self.raw.write, data)
        self._moved(self.position + size)
        return size

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self.failed:
            return self._moved(self._guard(self.raw.seek, offset, whence))
        start = {0: 0, 1: self.position, 2: self.end}[whence]
        return self._moved(start + offset)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        if not self.failed and not self.raw.closed:
            self._guard(self.raw.flush)

    def give_up(self) -> None:
        """After a failure: drop what is buffered, close the real file, take nothing more."""
        self.failed = True
        try:
            self.raw.close()
        except OSError:
            pass

    def _moved(self, position: int) -> int:
        self.position = position
        self.end = max(self.end, position)
        return position

    def _guard(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except OSError:
            self.give_up()
            raise


# --------------------------------------------------------------------------- the data rows of a large table
#
# xlsxwriter's public calls cost about 6.6 µs a cell (a stored cell per write_*, then per cell
# at close a reference, a format lookup, attribute escaping and a file write): 1.8 s of CPU for
# the 270,000 cells of a 10k pairing workbook, which put ``mentor match`` past its target
# (README Performance). For a plain column-after-column table (text and number columns, every
# column's format on the whole column) xlsxwriter writes the workbook with the header rows
# only, and the data rows and the shared string table are added here to the parts it wrote,
# read back from its zip with zipfile: the same XML xlsxwriter writes for those cells (tests
# compare the parts with the per-cell path's), from one pass over each column.

ZIP_LEVEL = 1
"""Deflate level of a spliced workbook: zlib's default (6) took 3 s of a 100k pairing workbook,
level 1 0.9 s, for a file a third larger (20 MB instead of 15)."""
XLSX_MAX_ROWS = 1_048_576
ROW_CHUNK = 4096
"""Data rows turned into XML at a time: bounds the memory of a 100k sheet (a multiple of 16)."""
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NEEDS_ESCAPING = re.compile(r"[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]|^\s|\s$")
"""What xlsxwriter changes or marks in a shared string: XML specials, control characters (and
``_xHHHH_`` look-alikes, so any underscore), non-characters, leading or trailing whitespace."""
ESCAPE_LOOKALIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
EDGE_SPACE = re.compile(r"^\s|\s$")


def _splice_ready(table: TableSheet) -> bool:
    """A table whose every data cell xlsxwriter would write as given, with its column's style:
    text and number columns, column after column, each formatted column formatted whole, rows
    within Excel's limit, no infinite number (xlsxwriter refuses one: the per-cell path raises).
    A table written row after row: see ``_rows_splice_ready``."""
    if not table.columns or table.rows + 1 > XLSX_MAX_ROWS:
        return False
    if table.by_rows:
        return _rows_splice_ready(table)
    if table.validations:
        return False
    for column in table.columns:
        if column.kind not in (TEXT, NUMBER) or column.write_empty:
            return False
        if (column.number_format or column.text_format) and not column.whole_column:
            return False
        if column.kind == NUMBER and any(v is not None and math.isinf(v) for v in column.values):
            return False
    return True


def _rows_splice_ready(table: TableSheet) -> bool:
    """A table written row after row (checkins.xlsx) whose cells are spliced: text columns
    (empty texts kept or not) and number columns without a format of their own on the cells,
    and columns of dates with one number format (``Styled``) or no cell at all; no text that
    xlsxwriter would take for rich-text XML (written in runs, ``_write_xml_looking_text``).
    Anything else (a kept log's booleans, ratings, notes) goes through xlsxwriter's calls."""
    formats = set()
    for column in table.columns:
        if column.text_format and not column.whole_column:
            return False
        if column.kind == TEXT:
            if column.number_format or any(v is not None and (type(v) is not str or _xml_looking(v)) for v in column.values):
                return False
        elif column.kind == NUMBER:
            if column.number_format and not column.whole_column:
                return False
            if any(v is not None and (type(v) not in (int, float) or math.isinf(v)) for v in column.values):
                return False
        else:
            for value in column.values:
                if isinstance(value, Styled) and type(value.value) is dt.datetime:
                    formats.add(value.number_format)
                elif not (value is None or (type(value) is float and math.isnan(value))):
                    return False
    return len(formats) <= 1


def _first_styled_date(table: TableSheet) -> tuple[int, Styled] | None:
    """The column and value of the first ``Styled`` date in row order (the order xlsxwriter numbers formats in)."""
    found = [(next(r for r, v in enumerate(column.values) if isinstance(v, Styled)), c, column.values)
             for c, column in enumerate(table.columns) if column.kind == ANY and any(isinstance(v, Styled) for v in column.values)]
    if not found:
        return None
    row, c, values = min(found, key=lambda item: item[:2])
    return c, values[row]


EXCEL_EPOCH = dt.datetime(1899, 12, 31)


def excel_serial(moment: dt.datetime) -> float:
    """A date and time as Excel's serial number (1900 system), as xlsxwriter's ``write_datetime``
    computes it: an aware time in UTC first (as ``_write_value`` gives it), Excel's 1900 leap day."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    delta = moment - EXCEL_EPOCH
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / (60 * 60 * 24)
    if moment.isocalendar() == (1900, 1, 1):
        serial -= 1
    return serial + 1 if serial > 59 else serial


class _StringTable:
    """Shared strings in the order they are first written, and how many string cells there are."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.count = 0

    def add_column(self, values: Sequence[str]) -> list[int | None]:
        """Each text's index, None for an empty cell (left out)."""
        index = self.index
        texts = [excel_text(v) for v in values] if max(map(len, values), default=0) > EXCEL_MAX_TEXT // 2 else values
        entries = [index.setdefault(v, len(index)) if v else None for v in texts]
        self.count += len(entries) - entries.count(None)
        return entries

    def add_rows(self, columns: Sequence[Sequence[Any]], keep_empty: Sequence[bool], rows: int) -> list[list[int | None]]:
        """Text columns' indexes as a table written row after row enters them: row by row, each
        row's cells left to right, an empty text kept where ``keep_empty`` (else no cell)."""
        index = self.index
        out: list[list[int | None]] = [[] for _ in columns]
        padded = [list(values) + [None] * (rows - len(values)) for values in columns]
        if max((len(v) for values in padded for v in values if v), default=0) > EXCEL_MAX_TEXT // 2:
            padded = [[excel_text(v) if v else v for v in values] for values in padded]
        for cells in zip(*padded):
            for entries, keep, value in zip(out, keep_empty, cells):
                if value or (keep and value is not None):
                    entries.append(index.setdefault(value, len(index)))
                    self.count += 1
                else:
                    entries.append(None)
        return out

    def xml(self, prolog: str) -> Iterator[str]:
        yield re.sub(r'count="\d+" uniqueCount="\d+"', f'count="{self.count}" uniqueCount="{len(self.index)}"', prolog)
        strings = list(self.index)
        for start in range(0, len(strings), 50_000):
            yield "".join(map(shared_string_xml, strings[start:start + 50_000]))
        yield "</sst>"


def shared_string_xml(string: str) -> str:
    """One ``<si>`` of ``sharedStrings.xml``, as xlsxwriter writes a plain string: control
    characters as ``_xHHHH_`` (a literal look-alike gets its underscore escaped), whitespace
    kept, XML specials escaped. A text that looks like rich-text XML is escaped like any other."""
    if NEEDS_ESCAPING.search(string) is None:
        return f"<si><t>{string}</t></si>"
    text = ESCAPE_LOOKALIKE.sub(r"_x005F\1", string)
    text = CONTROL.sub(lambda found: f"_x{ord(found.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if EDGE_SPACE.search(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<si><t{space}>{text}</t></si>"


@dataclass
class _SplicedSheet:
    """A table's cells as their XML needs them: a shared-string index, a number or None per cell."""

    table: TableSheet
    header: list[int]
    entries: list[list[Any]]

    def last_row(self) -> int:
        """The last data row holding a cell (1-based; 0: none)."""
        last = 0
        for column in self.entries:
            for position in range(len(column) - 1, last - 1, -1):
                if column[position] is not None:
                    last = position + 1
                    break
        return last

    def spans(self) -> list[str]:
        """``spans`` of each block of 16 rows (header included), as xlsxwriter computes them:
        the first and last column holding a cell anywhere in the block."""
        present = np.ones((len(self.entries[0]) + 1, len(self.entries)), dtype=bool)
        for c, entries in enumerate(self.entries):
            present[1:, c] = [e is not None for e in entries]
        blocks = -(-len(present) // 16)
        padded = np.zeros((blocks * 16, present.shape[1]), dtype=bool)
        padded[:len(present)] = present
        used = np.asarray(padded.reshape(blocks, 16, -1).any(axis=1))
        first = used.argmax(axis=1)
        last = used.shape[1] - 1 - used[:, ::-1].argmax(axis=1)
        return [f"{a + 1}:{b + 1}" for a, b in zip(first.tolist(), last.tolist())]

    def sheet_xml(self, layout: str) -> Iterator[str]:
        """xlsxwriter's sheet (``layout``, the header row only) with every row in ``sheetData``."""
        head, rest = layout.split("<sheetData>", 1)
        rows_xml, tail = rest.split("</sheetData>", 1)
        header_row = rows_xml[:rows_xml.index("</row>") + len("</row>")]
        placeholder = rows_xml[len(header_row):]      # a date cell written for its format's number only
        letters = [xl_col_to_name(c) for c in range(len(self.entries))]
        last = self.last_row()
        ref = f"A1:{letters[-1]}{last + 1}" if len(letters) > 1 or last else "A1"
        yield re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>', head, count=1) + "<sheetData>"
        header_style = _style_attribute(ElementTree.fromstring(header_row).find("c"))
        spans = self.spans()
        yield f'<row r="1" spans="{spans[0]}">' + "".join(
            f'<c r="{letter}1"{header_style} t="s"><v>{i}</v></c>' for letter, i in zip(letters, self.header)) + "</row>"
        styles = _column_styles(head, len(letters))
        kinds = [column.kind for column in self.table.columns]
        if placeholder:
            date_style = _style_attribute(ElementTree.fromstring(placeholder).find("c"))
            styles = [date_style if kind == ANY else style for kind, style in zip(kinds, styles)]
        kinds = [NUMBER if kind == ANY else kind for kind in kinds]   # a date is its serial number
        rows = len(self.entries[0])
        for start in range(0, rows, ROW_CHUNK):
            numbers = [str(r) for r in range(start + 2, min(start + ROW_CHUNK, rows) + 2)]
            cells = [_cell_xml(kind, letter, style, numbers, entries[start:start + ROW_CHUNK])
                     for kind, letter, style, entries in zip(kinds, letters, styles, self.entries)]
            blocks = [spans[row // 16] for row in range(start + 1, start + 1 + len(numbers))]
            yield "".join([f'<row r="{r}" spans="{span}">{row}</row>'
                           for r, span, row in zip(numbers, blocks, map("".join, zip(*cells))) if row])
        yield "</sheetData>" + tail


def _style_attribute(element: ElementTree.Element | None) -> str:
    style = None if element is None else element.get("style", element.get("s"))
    return "" if style is None else f' s="{style}"'


def _column_styles(head: str, columns: int) -> list[str]:
    """Each column's `` s="N"`` as xlsxwriter gave the column (``<col style>``): a data cell
    without a format of its own has its column's."""
    styles = [""] * columns
    if "<cols>" in head:
        cols = ElementTree.fromstring(head[head.index("<cols>"):head.index("</cols>") + len("</cols>")])
        for col in cols:
            for c in range(int(col.get("min", "1")) - 1, min(int(col.get("max", "1")), columns)):
                styles[c] = _style_attribute(col)
    return styles


def _cell_xml(kind: str, letter: str, style: str, numbers: list[str], entries: list[Any]) -> list[str]:
    """One column's ``<c>`` elements for a run of rows, as xlsxwriter writes them; "" for none."""
    if kind == NUMBER:
        return [f'<c r="{letter}{r}"{style}><v>{v:.16G}</v></c>' if v is not None else ""
                for r, v in zip(numbers, entries)]
    return [f'<c r="{letter}{r}"{style} t="s"><v>{i}</v></c>' if i is not None else ""
            for r, i in zip(numbers, entries)]


def _write_spliced(target: str | os.PathLike[str], sheets: Sequence[TableSheet], properties: dict[str, Any]) -> None:
    """Write ``sheets`` to ``target``: xlsxwriter writes the workbook without the data cells (in
    memory), then its parts go to ``target`` with each sheet's rows and the shared strings added."""
    layout = io.BytesIO()
    with TableWorkbook(layout) as book:
        book.workbook.set_properties(properties)
        for table in sheets:
            book.add_sheet(table, cells=False)
    strings = _StringTable()
    spliced = []
    for table in sheets:  # the order xlsxwriter enters strings in: header, then the column's cells
        if table.by_rows:
            spliced.append(_rows_entries(table, strings))
            continue
        header, entries = [], []
        for column in table.columns:
            header += strings.add_column([column.header])
            cells = strings.add_column(column.values) if column.kind == TEXT \
                else [v if v is not None and v == v else None for v in column.values]  # noqa: PLR0124 (NaN: none)
            entries.append(cells + [None] * (table.rows - len(cells)))
        spliced.append(_SplicedSheet(table, [i for i in header if i is not None], entries))
    output = QuietOnFailure(open(target, "wb"))  # noqa: SIM115 (closed below)
    try:
        with zipfile.ZipFile(layout) as parts, \
                zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive:
            for info in parts.infolist():
                _copy_part(parts, archive, info.filename, spliced, strings)
        output.raw.close()
    except BaseException:
        output.give_up()
        raise


def _rows_entries(table: TableSheet, strings: _StringTable) -> _SplicedSheet:
    """A table written row after row: every header first, then the text cells row by row (the
    order xlsxwriter enters strings in), numbers as they are and dates as their serial numbers."""
    columns = table.columns
    header = [entries[0] for entries in strings.add_rows([[column.header] for column in columns], [True] * len(columns), 1)]
    texts = [c for c, column in enumerate(columns) if column.kind == TEXT]
    indexed = dict(zip(texts, strings.add_rows([columns[c].values for c in texts], [columns[c].write_empty for c in texts],
                                               table.rows)))
    entries: list[list[Any]] = []
    for c, column in enumerate(columns):
        if c in indexed:
            entries.append(indexed[c])
            continue
        if column.kind == NUMBER:
            cells = [v if v is not None and v == v else None for v in column.values]  # noqa: PLR0124 (NaN: none)
        else:
            cells = [excel_serial(v.value) if isinstance(v, Styled) else None for v in column.values]
        entries.append(cells + [None] * (table.rows - len(cells)))
    return _SplicedSheet(table, [i for i in header if i is not None], entries)


def _copy_part(parts: zipfile.ZipFile, archive: zipfile.ZipFile, name: str, spliced: list[_SplicedSheet],
               strings: _StringTable) -> None:
    found = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", name)
    with archive.open(name, "w") as part:
        if found:
            for chunk in spliced[int(found.group(1)) - 1].sheet_xml(parts.read(name).decode()):
                part.write(chunk.encode())
        elif name == "xl/sharedStrings.xml":
            prolog = parts.read(name).decode()
            for chunk in strings.xml(prolog[:prolog.index(">", prolog.index("<sst")) + 1]):
                part.write(chunk.encode())
        else:
            part.write(parts.read(name))

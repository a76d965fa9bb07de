"""The one table-sheet writer (mentorcli.xlsx) on xlsxwriter's public API: every cell text stays
text (one that looks like xlsxwriter's rich-string XML corrupted every workbook it reached), cells
keep their kinds and formats, a full disk fails once and quietly, and mentorcli touches no
library's private names."""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import io
import math
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorcli import workbook
from mentorcli.xlsx import (
    ANY,
    NUMBER,
    SAFE_OPTIONS,
    TEXT,
    WRAP,
    Column,
    Styled,
    TableSheet,
    TableWorkbook,
    excel_text,
    write_table_workbook,
)

RICH_LOOKING = ["<r>Bad & co</r>", "<r><t>x</t></r><r><t>y</t></r>", "<r></r>", "<r> spaced _x0041_ </r>",
                "<r>\x01 control</r>"]
HEADER = {"bold": True}
ROOT = Path(__file__).resolve().parent.parent
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def written(tmp_path: Path, *sheets: TableSheet, properties: dict | None = None) -> openpyxl.Workbook:
    path = tmp_path / "table.xlsx"
    write_table_workbook(path, sheets, properties or {})
    with zipfile.ZipFile(path) as archive:  # every part is well-formed XML
        for name in archive.namelist():
            if name.endswith(".xml"):
                ElementTree.fromstring(archive.read(name))
    return openpyxl.load_workbook(path)


def column_values(sheet, letter: str) -> list:
    return [cell.value for cell in sheet[letter][1:]]


@pytest.mark.parametrize("by_rows", [False, True])
def test_strings_that_look_like_rich_text_stay_text(tmp_path: Path, by_rows: bool):
    long = "<r>" + "x" * 40_000 + "</r>"  # cut to Excel's limit, as write_string cuts any text
    table = TableSheet("Texts", [Column("Plain", [*RICH_LOOKING, long]),
                                 Column("Wrapped", RICH_LOOKING, text_format=WRAP),
                                 Column("Any", RICH_LOOKING, ANY)], HEADER, by_rows=by_rows)
    sheet = written(tmp_path, table)["Texts"]
    expected = [text.replace("\x01", "_x0001_") for text in RICH_LOOKING]  # how Excel spells a control
    assert column_values(sheet, "A")[:5] == column_values(sheet, "B")[:5] == column_values(sheet, "C")[:5] == expected
    assert column_values(sheet, "A")[5] == long[:32_767]
    assert sheet["B2"].alignment.wrap_text


def test_a_header_that_looks_like_rich_text_stays_text(tmp_path: Path):
    """checkins.xlsx carries the coordinator's own column headers over."""
    sheet = written(tmp_path, TableSheet("T", [Column("<r>Mine & yours</r>", ["a"])], HEADER, by_rows=True))["T"]
    assert sheet["A1"].value == "<r>Mine & yours</r>" and sheet["A1"].font.bold


def test_a_signup_named_like_rich_text_leaves_the_pairing_workbook_readable(tmp_path: Path):
    from tests.test_workbook import cohort as small_cohort
    from tests.test_workbook import config, result_for

    roster = small_cohort()
    roster.people.loc[3, "name"] = RICH_LOOKING[0]
    roster.people.loc[4, "name"] = RICH_LOOKING[1]
    path = workbook.write_pairing_workbook(tmp_path / "pairs.xlsx", roster, result_for(roster), config(), force=False)
    names = {c.value for row in openpyxl.load_workbook(path)["People"].iter_rows() for c in row}
    assert set(RICH_LOOKING[:2]) <= names
    back = workbook.read_pairing_workbook(path, config())
    assert set(RICH_LOOKING[:2]) <= set(back.people["name"])


@pytest.mark.parametrize("text", RICH_LOOKING[:3])
def test_xlsxwriter_alone_would_write_it_as_xml(text: str):
    """Why the writer sends such a text through ``write_rich_string``: if this starts failing,
    xlsxwriter fixed it upstream."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {**SAFE_OPTIONS, "in_memory": True})
    book.add_worksheet().write_string(0, 0, text)
    book.close()
    strings = zipfile.ZipFile(buffer).read("xl/sharedStrings.xml").decode()
    assert f"<si>{text}</si>" in strings


def test_cells_keep_their_kind_format_and_width(tmp_path: Path):
    moment = dt.datetime(2027, 3, 5, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    table = TableSheet("Kinds", [
        Column("Text", ["a", "", None, "=1+2"], TEXT, width=12),
        Column("Kept empty", ["a", "", None, "b"], TEXT, write_empty=True),
        Column("Number", [1.5, None, math.nan, -0.0], NUMBER, "0.0", width=7, whole_column=True),
        Column("Any", [True, 3, moment, dt.date(2027, 3, 5)], ANY),
        Column("Styled", [Styled(0.25, "0%"), dt.time(9, 15), math.nan, "text"], ANY),
        Column("Wrapped", ["a long sentence"], text_format=WRAP, whole_column=True),
        Column("Any kept empty", ["", None, "x", ""], ANY, write_empty=True),
    ], HEADER, filter_min_rows=1)
    book = written(tmp_path, table, properties={"title": "T", "created": dt.datetime(2027, 1, 2)})
    sheet = book["Kinds"]
    assert column_values(sheet, "A") == ["a", None, None, "=1+2"] and sheet["A5"].data_type == "s"
    assert column_values(sheet, "B") == ["a", "", None, "b"]  # an empty text cell, not no cell
    assert column_values(sheet, "C") == [1.5, None, None, 0] and sheet["C2"].number_format == "0.0"
    assert column_values(sheet, "D") == [True, 3, dt.datetime(2027, 3, 5, 12, 30), dt.datetime(2027, 3, 5)]
    assert [sheet[f"D{r}"].number_format for r in (4, 5)] == ["yyyy-mm-dd hh:mm", "yyyy-mm-dd"]
    assert sheet["E2"].value == 0.25 and sheet["E2"].number_format == "0%"
    assert sheet["E3"].value == dt.time(9, 15) and sheet["E3"].number_format == "hh:mm"
    assert sheet["E4"].value is None and sheet["E5"].value == "text"
    assert column_values(sheet, "G") == ["", None, "x", ""]
    assert sheet["F2"].alignment.wrap_text and sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == pytest.approx(12.7109375)
    assert sheet.column_dimensions["C"].width == pytest.approx(7.7109375)
    assert sheet.auto_filter.ref == "A1:G5"
    assert book.properties.title == "T" and book.properties.created == dt.datetime(2027, 1, 2)
    cols = ElementTree.fromstring(zipfile.ZipFile(tmp_path / "table.xlsx").read("xl/worksheets/sheet1.xml"))
    styled = {c.get("min"): c.get("style") for c in cols.iter(f"{{{MAIN}}}col")}
    assert styled["1"] is None and styled["3"] is not None and styled["6"] is not None  # whole columns


def test_the_filter_and_validations_cover_the_data_rows(tmp_path: Path):
    empty = TableSheet("Empty", [Column("A", []), Column("B", [])], HEADER, filter_min_rows=1,
                       validations={"B": {"validate": "list", "source": ["Yes", "No"]}})
    bare = TableSheet("Bare", [Column("A", [])], HEADER)
    unfiltered = TableSheet("Unfiltered", [Column("A", ["x"])], HEADER, autofilter=False)
    book = written(tmp_path, empty, bare, unfiltered)
    assert book["Empty"].auto_filter.ref == "A1:B2" and book["Bare"].auto_filter.ref == "A1"
    assert book["Unfiltered"].auto_filter.ref is None
    validation = book["Empty"].data_validations.dataValidation[0]
    assert str(validation.sqref) == "B2" and validation.formula1 == '"Yes,No"'


def test_cells_go_in_column_or_row_order(tmp_path: Path):
    """The order text cells are written in fixes the shared string table (so the bytes)."""
    columns = [Column("H1", ["a1", "a2"]), Column("H2", ["b1", "b2"])]

    def strings(by_rows: bool) -> list[str]:
        path = tmp_path / f"{by_rows}.xlsx"
        write_table_workbook(path, [TableSheet("S", columns, HEADER, by_rows=by_rows)], {})
        table = ElementTree.fromstring(zipfile.ZipFile(path).read("xl/sharedStrings.xml"))
        return [t.text for t in table.iter(f"{{{MAIN}}}t")]

    assert strings(by_rows=False) == ["H1", "a1", "a2", "H2", "b1", "b2"]
    assert strings(by_rows=True) == ["H1", "H2", "a1", "b1", "a2", "b2"]


def test_the_same_sheets_give_the_same_bytes_in_a_file_and_in_memory(tmp_path: Path):
    sheet = TableSheet("S", [Column("A", ["x", "y"]), Column("N", [1.0, 2.0], NUMBER, "0")], HEADER)
    properties = {"title": "T", "created": dt.datetime(2027, 1, 2)}
    write_table_workbook(tmp_path / "one.xlsx", [sheet], properties)
    buffer = io.BytesIO()
    write_table_workbook(buffer, [sheet], properties)
    file_parts, memory_parts = zipfile.ZipFile(tmp_path / "one.xlsx"), zipfile.ZipFile(buffer)
    assert file_parts.namelist() == memory_parts.namelist()
    assert all(file_parts.read(name) == memory_parts.read(name) for name in file_parts.namelist())


def test_excel_text_cuts_at_the_limit_never_inside_a_character():
    assert excel_text("x" * 32_767) == "x" * 32_767
    assert excel_text("x" * 32_768) == "x" * 32_767
    assert excel_text("x" * 32_766 + "\U0001F600") == "x" * 32_766  # the emoji takes two units
    assert excel_text("x" * 32_765 + "\U0001F600") == "x" * 32_765 + "\U0001F600"


def test_a_workbook_on_a_full_device_fails_once_and_is_quiet_after(tmp_path) -> None:
    """/dev/full refuses every write: close() raises, and the half-written zip, collected later,
    prints nothing (no "Exception ignored in ZipFile.__del__" traceback at a random moment)."""
    import gc
    import os
    import sys

    from mentorcli.files import os_error_in

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    unraisable = []
    hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        book = TableWorkbook("/dev/full", tmpdir=tmp_path)
        book.add_sheet(TableSheet("People", [Column("Email", [f"person{row}@example.org" for row in range(3000)])],
                                  HEADER))
        with pytest.raises(Exception) as failure:
            book.close()
        assert os_error_in(failure.value) is not None
        del book, failure
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []


def test_a_write_that_fails_in_close_or_before_leaves_the_target_closed(tmp_path: Path):
    """The target file is closed whatever failed, so ``files.atomic_path`` can remove it."""
    from mentorcli.files import os_error_in

    sheet = TableSheet("S", [Column("A", ["x"])], HEADER)
    book = TableWorkbook(tmp_path / "no-tmpdir.xlsx", tmpdir=tmp_path / "missing")  # part files cannot be made
    book.add_sheet(sheet)
    with pytest.raises(Exception) as failure:  # xlsxwriter's FileCreateError around the OSError
        book.close()
    assert os_error_in(failure.value) is not None
    assert book.output is not None and book.output.raw.closed
    with pytest.raises(ValueError), TableWorkbook(tmp_path / "interrupted.xlsx") as interrupted:
        raise ValueError("a column could not be built")
    assert interrupted.output is not None and interrupted.output.raw.closed


THIRD_PARTY = {"xlsxwriter", "openpyxl", "pandas", "numpy", "scipy", "ortools", "python_calamine", "icalendar",
               "jinja2", "holidays", "rapidfuzz", "email_validator", "dateutil", "typer", "rich", "matplotlib",
               "css_inline", "zoneinfo", "tzdata"}


def library_private_names(source: str) -> list[str]:
    """``_name``s a module imports from a third-party module, or reads from anything but
    anything but ``self``/``cls`` or a mentorcli module (a library object such as a worksheet)."""
    tree = ast.parse(source)
    own = {"self", "cls"}  # and mentorcli's own modules: their private helpers are the project's
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mentorcli":
            own |= {a.asname or a.name for a in node.names}
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in THIRD_PARTY:
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
            found += [f"{node.module}" for part in (node.module or "").split(".") if part.startswith("_")]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in THIRD_PARTY:
                    found += [alias.name for part in alias.name.split(".") if part.startswith("_")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id not in own:
                found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_the_private_name_check_finds_what_the_old_writer_used():
    old = ("from xlsxwriter.utility import _utf16_len\nimport xlsxwriter.workbook as w\n"
           "from xlsxwriter import worksheet\nworksheet.Worksheet._write_cell\n")
    assert library_private_names(old) == ["xlsxwriter.utility._utf16_len", "worksheet.Worksheet._write_cell (line 4)"]


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "mentorcli").glob("*.py")))
def test_mentorcli_uses_no_private_name_of_a_library(module: str):
    """Issue 15: every xlsxwriter (or pandas...) release could break a private name."""
    assert library_private_names((ROOT / "mentorcli" / module).read_text()) == []


# --------------------------------------------------------------------------- the spliced data rows


def per_cell(path: Path, sheets: list[TableSheet], properties: dict) -> Path:
    """The reference: every cell through xlsxwriter's own ``write_*`` calls."""
    with TableWorkbook(path) as book:
        book.workbook.set_properties(properties)
        for sheet in sheets:
            book.add_sheet(sheet)
    return path


def same_parts(one: Path, other: Path) -> bool:
    with zipfile.ZipFile(one) as a, zipfile.ZipFile(other) as b:
        return a.namelist() == b.namelist() and all(a.read(n) == b.read(n) for n in a.namelist())


def table_of(texts: list[str], numbers: list[float | None]) -> list[TableSheet]:
    rows = max(len(texts), len(numbers))
    return [
        TableSheet("First", [Column("Text", texts + [""] * (rows - len(texts)), whole_column=True),
                             Column("Number", numbers + [None] * (rows - len(numbers)), NUMBER, "0.0", whole_column=True),
                             Column("Why", texts[::-1], text_format=WRAP, whole_column=True, width=60),
                             Column("Plain", [f"{t}!" if t else "" for t in texts])], HEADER),
        TableSheet("Second", [Column("Again", texts[:3]), Column("Empty", [])], {"bold": True, "border": 1}),
    ]


def test_spliced_rows_are_the_bytes_of_xlsxwriters_own_calls(tmp_path: Path):
    """Blank blocks of 16 rows (spans), a blank last row, empty texts, NaN, -0.0, a text over
    Excel's limit cut inside a character outside the BMP, escapes and look-alikes."""
    texts = [f"row {i}" if i % 40 < 20 else "" for i in range(90)]
    texts[5] = "x" * 32_766 + "\U0001F600"
    texts[6:12] = ["A & B <c>", " edge ", "_x0041_", "tab\there", "\x01\x1f", "\ufffe"]
    numbers: list[float | None] = [float(i) if i % 7 else None for i in range(90)]
    numbers[3], numbers[4] = math.nan, -0.0
    sheets = table_of(texts, numbers)
    properties = {"title": "T", "author": "A", "created": dt.datetime(2027, 1, 2)}
    write_table_workbook(tmp_path / "spliced.xlsx", sheets, properties)
    assert same_parts(tmp_path / "spliced.xlsx", per_cell(tmp_path / "cells.xlsx", sheets, properties))


def test_spliced_rows_across_chunks_of_rows(tmp_path: Path):
    """More rows than one chunk of ready XML (``ROW_CHUNK``), the last blank."""
    from mentorcli.xlsx import ROW_CHUNK

    rows = ROW_CHUNK + 20
    sheets = [TableSheet("S", [Column("T", [f"t{r % 97}" if r % 5 else "" for r in range(rows - 1)] + [""]),
                               Column("N", [r / 3 if r % 3 else None for r in range(rows)], NUMBER, "0.0",
                                      whole_column=True)], HEADER)]
    fixed = {"created": dt.datetime(2027, 1, 2)}
    write_table_workbook(tmp_path / "spliced.xlsx", sheets, fixed)
    assert same_parts(tmp_path / "spliced.xlsx", per_cell(tmp_path / "cells.xlsx", sheets, fixed))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("&<>_x0123456789ABF \t\n\r\x00\x01\x1f\ufffe\uffff")),
                max_size=40),
       st.lists(st.none() | st.floats(allow_infinity=False), max_size=40))
def test_spliced_rows_match_for_any_text_and_number(tmp_path_factory, texts: list[str], numbers: list[float | None]):
    texts = [t for t in texts if not (t.startswith("<r>") and t.endswith("</r>"))]  # written as text on purpose
    folder = tmp_path_factory.mktemp("any")
    sheets = table_of(texts, numbers)
    fixed = {"created": dt.datetime(2027, 1, 2)}  # else the clock's second is in docProps/core.xml
    write_table_workbook(folder / "spliced.xlsx", sheets, fixed)
    assert same_parts(folder / "spliced.xlsx", per_cell(folder / "cells.xlsx", sheets, fixed))


def test_spliced_rich_looking_texts_read_back_as_text(tmp_path: Path):
    sheet = written(tmp_path, TableSheet("Texts", [Column("Plain", RICH_LOOKING)], HEADER))["Texts"]
    assert column_values(sheet, "A") == [text.replace("\x01", "_x0001_") for text in RICH_LOOKING]


def test_which_tables_are_spliced():
    from mentorcli.xlsx import _splice_ready

    plain = TableSheet("S", [Column("A", ["x"]), Column("N", [1.0], NUMBER, "0", whole_column=True)], HEADER)
    assert _splice_ready(plain)
    assert _splice_ready(TableSheet("S", plain.columns, HEADER, by_rows=True))
    for changed in (TableSheet("S", [Column("N", [math.inf], NUMBER)], HEADER),
                    TableSheet("S", [Column("N", [1.0], NUMBER, "0")], HEADER),  # a format on the cells only
                    TableSheet("S", [Column("A", ["x"], ANY)], HEADER),
                    TableSheet("S", [Column("A", ["x"], write_empty=True)], HEADER),
                    TableSheet("S", [Column("A", ["x"])], HEADER, validations={"A": {"validate": "any"}})):
        assert not _splice_ready(changed)


def rows_table(rows: int, texts: list[str | None] | None = None) -> TableSheet:
    """A table written row after row as checkins.xlsx is: kept empty texts, numbers, dates of one
    format (the first in a later row and column than the first cell), empty log columns, validations."""
    texts = texts if texts is not None else [f"t{r % 13}" if r % 4 else "" for r in range(rows)]
    start = dt.datetime(2026, 3, 2, 9, 30)
    dates = [None if r % 5 == 0 else Styled(start + dt.timedelta(days=r, minutes=7 * r, microseconds=r), "yyyy-mm-dd hh:mm")
             for r in range(rows)]
    dates[1:3] = [Styled(dt.datetime(1900, 1, 1, 6), "yyyy-mm-dd hh:mm"),
                  Styled(dt.datetime(2026, 3, 2, 12, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))), "yyyy-mm-dd hh:mm")]
    return TableSheet("Check-ins", [
        Column("Pair ID", [f"P{r // 3:03d}" for r in range(rows)], write_empty=True),
        Column("Occurrence", [r % 12 + 1 if r % 9 else None for r in range(rows)], NUMBER),
        Column("Start (UTC)", dates, ANY),
        Column("Mentee", texts, write_empty=True),
        Column("Flag", [t[::-1] if t else None for t in texts]),
        Column("Held", [None] * rows, ANY, write_empty=True),
        Column("Date Held", [math.nan] * rows, ANY, number_format="yyyy-mm-dd", whole_column=True),
        Column("Notes", [None] * (rows // 2), ANY, write_empty=True),
    ], {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"},
        filter_min_rows=1, by_rows=True,
        validations={"Held": {"validate": "list", "source": ["Yes", "No"]},
                     "Notes": {"validate": "length", "criteria": "<", "value": 100}})


@pytest.mark.parametrize("rows", [0, 1, 3, 17, 4096 + 20])
def test_rows_written_row_after_row_are_spliced_as_xlsxwriters_own_calls(tmp_path: Path, rows: int):
    """checkins.xlsx's kind of table: strings entered row by row, empty texts kept as cells, the
    dates' own format numbered as xlsxwriter numbers it, blank blocks of 16 rows, across chunks."""
    from mentorcli.xlsx import _splice_ready

    sheets = [rows_table(rows)]
    assert _splice_ready(sheets[0])
    fixed = {"title": "Mentoring check-ins", "created": dt.datetime(2027, 1, 2)}
    write_table_workbook(tmp_path / "spliced.xlsx", sheets, fixed)
    assert same_parts(tmp_path / "spliced.xlsx", per_cell(tmp_path / "cells.xlsx", sheets, fixed))


def test_rows_with_long_escaped_or_odd_texts_are_spliced_as_xlsxwriters_own_calls(tmp_path: Path):
    texts: list[str | None] = ["x" * 32_766 + "\U0001F600", "A & B <c>", " edge ", "_x0041_", "\x01", None, "", "\ufffe"]
    second = rows_table(3)
    sheets = [rows_table(len(texts), texts), TableSheet("Second", second.columns, second.header_format, by_rows=True)]
    fixed = {"created": dt.datetime(2027, 1, 2)}
    write_table_workbook(tmp_path / "spliced.xlsx", sheets, fixed)
    assert same_parts(tmp_path / "spliced.xlsx", per_cell(tmp_path / "cells.xlsx", sheets, fixed))


def test_which_tables_written_row_after_row_are_spliced():
    from mentorcli.xlsx import _splice_ready

    base = rows_table(4)
    assert _splice_ready(base)
    when = dt.datetime(2027, 1, 2)
    for column in (Column("Held", [True], ANY), Column("Rating", [4.0], ANY), Column("Notes", ["kept"], ANY),
                   Column("Date Held", [dt.date(2027, 1, 2)], ANY), Column("Styled", [Styled(0.5, "0%")], ANY),
                   Column("Other format", [Styled(when, "yyyy-mm-dd")], ANY),        # a second date format
                   Column("Rich", ["<r>x</r>"], write_empty=True), Column("Wrapped", ["x"], text_format=WRAP),
                   Column("Typed", [3], write_empty=True), Column("Inf", [math.inf], NUMBER),
                   Column("Cells only", [1.0], NUMBER, "0")):
        changed = TableSheet(base.name, [*base.columns, column], base.header_format, by_rows=True)
        assert not _splice_ready(changed), column.header


def test_an_infinite_number_is_refused_as_xlsxwriter_refuses_it(tmp_path: Path):
    with pytest.raises(Exception, match="NAN/INF"):
        write_table_workbook(tmp_path / "inf.xlsx", [TableSheet("S", [Column("N", [math.inf], NUMBER)], HEADER)], {})


def test_a_spliced_write_that_fails_leaves_the_target_closed(tmp_path: Path):
    """A failure while the parts are written (here a number Python cannot format as xlsxwriter
    does) closes the target at once, so ``files.atomic_path`` can remove it."""
    import os
    from fractions import Fraction

    target = tmp_path / "broken.xlsx"
    with pytest.raises(TypeError) as failure:  # kept: its frames would keep an unclosed file open
        write_table_workbook(target, [TableSheet("S", [Column("N", [Fraction(1, 3)], NUMBER)], HEADER)], {})
    open_files = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            open_files.append(os.readlink(f"/proc/self/fd/{fd}"))
    assert str(target) not in open_files, failure


def test_spliced_workbooks_are_deflated_at_the_fast_level(tmp_path: Path):
    import zlib

    from mentorcli.xlsx import ZIP_LEVEL

    path = tmp_path / "book.xlsx"
    write_table_workbook(path, [TableSheet("S", [Column("A", [f"row {r}: some text that compresses" for r in range(3000)])],
                                           HEADER)], {})
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        raw = archive.read(info)

    def deflated_size(level: int) -> int:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw deflate, as in a zip entry
        return len(packer.compress(raw) + packer.flush())

    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert info.compress_size == deflated_size(ZIP_LEVEL) != deflated_size(6)
    assert info.date_time == (1980, 1, 1, 0, 0, 0)  # no clock in the bytes


def test_a_spliced_workbook_on_a_full_device_fails_once_and_is_quiet_after() -> None:
    import gc
    import os
    import sys

    from mentorcli.files import os_error_in

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    unraisable = []
    hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        sheet = TableSheet("People", [Column("Email", [f"person{row}@example.org" for row in range(3000)])], HEADER)
        with pytest.raises(OSError) as failure:
            write_table_workbook("/dev/full", [sheet], {})
        assert os_error_in(failure.value) is not None
        del failure
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []

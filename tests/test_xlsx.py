"""Workbooks keep every cell text as text: a signup cell that looks like xlsxwriter's rich-string
XML must not become XML in the file (it corrupted every workbook it reached)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xlsxwriter.sharedstrings import SharedStrings

from mentorcli import workbook
from mentorcli.xlsx import shared_string_xml, text_workbook

RICH_LOOKING = ["<r>Bad & co</r>", "<r><t>x</t></r><r><t>y</t></r>", "<r></r>", "<r> spaced _x0041_ </r>"]


def xlsxwriters_own(text: str) -> str:
    table = SharedStrings()
    table.fh = io.StringIO()
    table._write_si(text)
    return table.fh.getvalue()


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("&<>_x0123456789ABF \t\n\r\x00\x01\x1f\ufffe\uffff")))
def test_a_plain_string_gets_xlsxwriters_exact_bytes(text):
    if text.startswith("<r>") and text.endswith("</r>"):
        return  # the one case written differently on purpose (next test)
    assert shared_string_xml(text) == xlsxwriters_own(text)


def test_strings_that_look_like_rich_text_stay_text(tmp_path: Path):
    path = tmp_path / "texts.xlsx"
    book = text_workbook(str(path), {"strings_to_formulas": False})
    sheet = book.add_worksheet()
    for row, text in enumerate(RICH_LOOKING):
        sheet.write_string(row, 0, text)
    book.close()
    assert [c.value for c in openpyxl.load_workbook(path).active["A"]] == RICH_LOOKING


def test_a_signup_named_like_rich_text_leaves_the_pairing_workbook_readable(tmp_path: Path):
    from tests.test_workbook import config, result_for
    from tests.test_workbook import cohort as small_cohort

    roster = small_cohort()
    roster.people.loc[3, "name"] = RICH_LOOKING[0]
    roster.people.loc[4, "name"] = RICH_LOOKING[1]
    path = workbook.write_pairing_workbook(tmp_path / "pairs.xlsx", roster, result_for(roster), config(), force=False)
    names = {c.value for row in openpyxl.load_workbook(path)["People"].iter_rows() for c in row}
    assert set(RICH_LOOKING[:2]) <= names
    back = workbook.read_pairing_workbook(path, config())
    assert set(RICH_LOOKING[:2]) <= set(back.people["name"])


@pytest.mark.parametrize("text", RICH_LOOKING[:3])
def test_xlsxwriter_alone_would_write_it_as_xml(text):
    """Why ``text_workbook`` exists: if this starts failing, xlsxwriter fixed it upstream."""
    assert xlsxwriters_own(text) == f"<si>{text}</si>"


def test_workbooks_are_deflated_at_the_fast_level_and_xlsxwriter_is_left_as_it_was(tmp_path):
    import zipfile
    import zlib

    import xlsxwriter.workbook

    from mentorcli.xlsx import ZIP_LEVEL

    path = tmp_path / "book.xlsx"
    book = text_workbook(str(path), {"strings_to_formulas": False})
    sheet = book.add_worksheet()
    for row in range(3000):
        sheet.write_string(row, 0, f"row {row}: some text that compresses")
    book.close()
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        raw = archive.read(info)

    def deflated_size(level: int) -> int:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw deflate, as in a zip entry
        return len(packer.compress(raw) + packer.flush())

    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert info.compress_size == deflated_size(ZIP_LEVEL) != deflated_size(6)


def test_a_workbook_on_a_full_device_fails_once_and_is_quiet_after(tmp_path) -> None:
    """/dev/full refuses every write: close() raises, and the half-written zip, collected later,
    prints nothing (no "Exception ignored in ZipFile.__del__" traceback at a random moment)."""
    import gc
    import os
    import sys

    import pytest

    from mentorcli.files import os_error_in
    from mentorcli.xlsx import text_workbook

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    unraisable = []
    hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        workbook = text_workbook("/dev/full", {"tmpdir": str(tmp_path)})
        sheet = workbook.add_worksheet("People")
        for row in range(3000):
            sheet.write_string(row, 0, f"person{row}@example.org")
        with pytest.raises(Exception) as failure:
            workbook.close()
        assert os_error_in(failure.value) is not None
        del workbook, sheet, failure
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []

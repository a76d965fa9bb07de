"""Control characters and escape sequences from cells: shown on the terminal, never obeyed, and never
carried into calendars, emails or HTML (issue 12, item 7).

A small cohort whose every text field holds a terminal escape, an OSC 8 hyperlink, a C1 CSI, a
bell, a NUL and a bidi override goes through check, match, schedule, introduce and report; every
byte written to the terminal and to the output files is scanned.
"""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from mentorcli.cli import escape
from mentorcli.normalize import clean_text
from mentorcli.untrusted import BIDI_CONTROLS, visible, without_controls

HOSTILE = "\x1b[31mRED\x1b]8;;https://evil.example\x07link\x1b]8;;\x07\x9b2J\x07\x00\u202eevil\x7f"
FIELDS = ("Name", "Email", "Role", "Goals", "Expertise", "Industry", "Organisation", "Department",
          "Languages", "Interests", "Time zone", "Availability")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "]")
"""Any control character but tab and newline (and CR, allowed only as part of CRLF line ends)."""


def _controls(text: str) -> list[str]:
    return RAW_CONTROL.findall(text.replace("\r\n", "\n"))


def test_visible_escapes_every_control_and_keeps_the_rest() -> None:
    controls = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]] + list(BIDI_CONTROLS)
    for char in controls:
        shown = visible(f"a{char}b")
        assert char not in shown and shown.startswith("a\\") and shown.endswith("b")
    assert visible("Zoë Šimić 李\xa0Ana") == "Zoë Šimić 李\xa0Ana"
    assert visible("zero\u200bwidth\u2028line") == "zero\\u200bwidth\\u2028line"


def test_content_keeps_tabs_and_newlines_only() -> None:
    assert without_controls("a\tb\r\nc\rd") == "a\tb\nc\nd"
    assert _controls(without_controls(HOSTILE)) == []
    assert clean_text(f"  Ana {HOSTILE} Li ") == "Ana [31mRED]8;;https://evil.examplelink]8;;2Jevil Li"


def test_rich_markup_in_a_cell_is_text() -> None:
    assert escape("[bold red]x[/]") == "\\[bold red]x\\[/]"


def _hostile_cohort(folder: Path) -> None:
    """signups.xlsx (xlsxwriter stores control characters as ``_x001B_`` escapes, which readers decode)."""
    rows = [FIELDS]
    for i, role in enumerate(["Mentor", "Mentee", "Mentor", "Mentee"]):
        text = f"{HOSTILE}{i}"
        rows.append((f"Person {i} {text}", f"p{i}@example.org", role, f"Python;Leadership {text}", "Python",
                     f"Tech {text}", f"Org{i} {text}", f"Dept {text}", "English", f"Chess {text}",
                     "Europe/London", "Weekday evenings"))
    book = xlsxwriter.Workbook(str(folder / "signups.xlsx"), {"strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()


def _assert_clean_run(result) -> None:
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert _controls(result.stderr) == [], result.stderr
    assert _controls(result.stdout.replace("\t", " ")) == []


def _scan_outputs(folder: Path) -> int:
    scanned = 0
    for path in folder.rglob("*"):
        if path.name.startswith("signups"):  # the hostile input itself
            continue
        if path.suffix in (".ics", ".html", ".txt", ".csv"):
            assert _controls(path.read_text(encoding="utf-8")) == [], path
            scanned += 1
        elif path.suffix == ".eml":
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            for part in message.walk():
                if part.get_content_maintype() == "text":
                    assert _controls(part.get_content()) == [], path
            for name, value in message.items():
                assert _controls(str(value)) == [], (path, name)
            scanned += 1
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    for cell in row:
                        if isinstance(cell, str):
                            assert _controls(cell) == [], (path, sheet.title, cell)
            scanned += 1
    return scanned


def test_a_hostile_cohort_runs_clean_end_to_end(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _hostile_cohort(tmp_path)
    Path("mentor.toml").write_text('[cohort]\nname = "Cohort \\u001b[5m\\u009b2J"\n'
                                   'coordinator_name = "Coord \\u202e\\u0007"\n', encoding="utf-8")
    _assert_clean_run(cli("check", "signups.xlsx"))
    _assert_clean_run(cli("check", "signups.xlsx", "--json"))
    _assert_clean_run(cli("match", "signups.xlsx", "-o", "pairs.xlsx"))
    _assert_clean_run(cli("schedule", "pairs.xlsx", "--start", "2027-01-04", "--months", "2", "--out", "calendar"))
    _assert_clean_run(cli("introduce", "pairs.xlsx", "--calendar", "calendar", "--out", "outbox"))
    _assert_clean_run(cli("report", "pairs.xlsx", "calendar/checkins.xlsx", "--as-of", "2027-02-20", "--out", "reports"))
    _assert_clean_run(cli("send", "outbox", "--dry-run"))
    assert _scan_outputs(tmp_path) >= 8


def test_a_hand_edited_workbook_cell_is_cleaned(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A control character typed into pairs.xlsx by hand never reaches a calendar or an email."""
    monkeypatch.chdir(tmp_path)
    _hostile_cohort(tmp_path)
    _assert_clean_run(cli("match", "signups.xlsx", "-o", "pairs.xlsx"))
    book = openpyxl.load_workbook("pairs.xlsx")
    for sheet_name in ("Pairs", "People"):
        sheet = book[sheet_name]
        header = [cell.value for cell in sheet[1]]
        for column in [i + 1 for i, name in enumerate(header) if name in ("Mentee", "Mentor", "Name", "Goals")]:
            for row in range(2, sheet.max_row + 1):
                sheet.cell(row, column).value = f"Edited \x9b2J\u202e{row} \x7fname\u2066"
    book.save("pairs.xlsx")
    _assert_clean_run(cli("schedule", "pairs.xlsx", "--start", "2027-01-04", "--months", "2", "--out", "calendar"))
    _assert_clean_run(cli("introduce", "pairs.xlsx", "--calendar", "calendar", "--out", "outbox"))
    assert _scan_outputs(tmp_path / "calendar") >= 2
    assert _scan_outputs(tmp_path / "outbox") >= 1


def test_a_file_name_with_an_escape_is_shown_not_obeyed(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _hostile_cohort(tmp_path)
    hostile_name = "sign\x1b[2Jups\u202e.xlsx"
    Path("signups.xlsx").rename(hostile_name)
    result = cli("check", hostile_name)
    _assert_clean_run(result)
    assert "sign\\x1b[2Jups\\u202e.xlsx" in result.stderr
    missing = cli("check", "gone\x1b[31m.csv")
    assert missing.exit_code in (1, 2)
    assert "\x1b" not in missing.stderr or missing.exit_code == 2  # click's own usage error echoes what the user typed


def test_a_header_with_an_escape_is_shown_not_obeyed(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rows = "".join(f"Person {i},p{i}@example.org,{'mentor' if i % 2 else 'mentee'},Python\n" for i in range(40))
    Path("signups.csv").write_text("Name,Email,Role,\x1b]8;;http://x\x07Goals\x9b\n" + rows, encoding="utf-8")
    result = cli("check", "signups.csv")
    _assert_clean_run(result)
    assert "\\x1b]8;;http://x\\x07" in result.stderr or "]8;;http://x" in result.stderr


def test_templates_print_no_control_characters(tmp_path: Path) -> None:
    """The templates' own guard: a value that reaches a template from anywhere (a Python caller,
    a future field) is printed without its control characters, in HTML (Markup too) and in text."""
    from markupsafe import Markup

    from mentorcli.mail import html_page_env, text_env

    (tmp_path / "probe.html.j2").write_text("<p>{{ value }}</p><p>{{ markup }}</p>", encoding="utf-8")
    (tmp_path / "probe.txt.j2").write_text("{{ value }}", encoding="utf-8")
    context = {"value": f"<b>{HOSTILE}</b>", "markup": Markup(f"<i>{HOSTILE}</i>")}
    html = html_page_env(tmp_path).get_template("probe.html.j2").render(context)
    text = text_env(tmp_path).get_template("probe.txt.j2").render(context)
    assert _controls(html) == [] and _controls(text) == []
    assert "&lt;b&gt;" in html and "<i>" in html

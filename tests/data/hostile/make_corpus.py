"""Writes the hostile corpus (issue 12) beside this script, and its manifest CASES.md.

Run from the repository root: ``python tests/data/hostile/make_corpus.py``. The files are
committed; this script says how each was made, so a case can be changed or added in one place.
Files too big or too special to commit (a 1 MB cell, a zip bomb, a stray XFD1048576 cell,
/dev/zero, a FIFO) are made at test time by ``tests/test_hostile.py`` and only listed here.

Every case is one line of the manifest: id, file, kind, commands, attack, expected outcome.
Expected tokens (read by the test): ``exit=0|1|any`` for the first command; ``error@N`` /
``warn@N`` / ``problem@N``: `mentor check --json` reports a problem of that severity (warn: a
warning or an error; problem: any) on spreadsheet row N; ``rows=N``: N data rows, each used or
reported; ``exact=TEXT``: when no encoding problem is reported, a participant's name reads TEXT (``_``
for a space: no mojibake); ``names-file``: on exit 1 the message names the file.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
MARK = "HOSTILE"  # every payload that could become a path, a tag or a recipient carries this mark

HEADERS = ["Timestamp", "Full name", "Email address", "I would like to be a", "What would you like help with?",
           "What can you offer as a mentor?", "Industry", "Organisation", "Department", "Years of experience",
           "Time zone", "Languages", "Availability", "Preferred format", "Interests", "How many mentees can you take?"]
FIELD = {"timestamp": 0, "name": 1, "email": 2, "role": 3, "goals": 4, "expertise": 5, "industry": 6,
         "organisation": 7, "department": 8, "experience": 9, "timezone": 10, "languages": 11,
         "availability": 12, "format": 13, "interests": 14, "capacity": 15}
TEXT_FIELDS = ["name", "goals", "expertise", "industry", "organisation", "department", "timezone", "languages",
               "availability", "format", "interests"]


def base_rows() -> list[list[str]]:
    """Eight people who all pair: the hostile value goes into row 2 (a mentee) or row 3 (her mentor)."""
    people = [
        ("Ada Mentee", "ada@example.org", "Mentee", "Leadership, Public speaking", "", "Software", "Org A", "Sales", "3", "Europe/London", "English", "Weekday evenings", "Video", "Chess", ""),
        ("Bob Mentor", "bob@example.org", "Mentor", "", "Leadership, Public speaking", "Software", "Org B", "Ops", "12", "Europe/London", "English", "Weekday evenings", "Video", "Chess, Running", "2"),
        ("Cy Mentee", "cy@example.org", "Mentee", "Data science", "", "Finance", "Org C", "Risk", "2", "Europe/Berlin", "English", "Weekday evenings", "Video", "Music", ""),
        ("Di Mentor", "di@example.org", "Mentor", "", "Data science, Leadership", "Finance", "Org D", "Data", "15", "Europe/Berlin", "English", "Weekday evenings", "Video", "Music", "2"),
        ("Ed Mentee", "ed@example.org", "Mentee", "Career change", "", "Health", "Org E", "Care", "1", "America/New_York", "English", "Weekday evenings", "Phone", "Hiking", ""),
        ("Flo Mentor", "flo@example.org", "Mentor", "", "Career change, Data science", "Health", "Org F", "HR", "20", "America/New_York", "English", "Weekday evenings", "Phone", "Hiking", "2"),
        ("Gus Both", "gus@example.org", "Both", "Negotiation", "Writing", "Media", "Org G", "News", "8", "Europe/Madrid", "English, Spanish", "Weekday evenings", "Video", "Reading", "1"),
        ("Hal Mentor", "hal@example.org", "Mentor", "", "Negotiation, Writing", "Media", "Org H", "Print", "25", "Europe/Madrid", "English, Spanish", "Weekday evenings", "Video", "Reading", "2"),
    ]
    return [[f"2026-09-0{1 + i} 10:00:00", *person] for i, person in enumerate(people)]


@dataclass
class Case:
    id: str
    file: str
    kind: str  # signups | config | pairs | checkins | outbox | generated
    commands: str
    attack: str
    expect: str


CASES: list[Case] = []
ALL = "check,match,schedule,introduce,report,send"
READ = "check,match"
# mail sent to the SMTP server for the introductions only; the progress emails listed by --dry-run
LIGHT = "check,match,schedule,introduce,report,send-intros"
SCHEDULE = "check,match,schedule"  # enough where the value matters in files and calendars, not in mail


def add(case_id: str, file: str, kind: str, commands: str, attack: str, expect: str) -> None:
    CASES.append(Case(case_id, file, kind, commands, attack, expect))


def write_csv(name: str, rows: list[list[str]], *, header: list[str] | None = None, encoding: str = "utf-8",
              delimiter: str = ",") -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header or HEADERS)
    writer.writerows(rows)
    (HERE / name).write_bytes(buffer.getvalue().encode(encoding))
    return name


def write_bytes(name: str, data: bytes) -> str:
    (HERE / name).write_bytes(data)
    return name


def write_xlsx(name: str, sheets: list[tuple[str, list[list[object]], bool]]) -> str:
    """An .xlsx by openpyxl: (title, rows, hidden) per sheet; a str starting with '=' is a real formula."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows, hidden in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if hidden:
            sheet.sheet_state = "hidden"
    book.active = next(i for i, (_t, _r, hidden) in enumerate(sheets) if not hidden)
    book.save(HERE / name)
    return name


def signup(case_id: str, attack: str, expect: str, *, field: str, value: str, row: int = 2,
           commands: str = ALL, rows: int = 8) -> None:
    """One hostile value in one field of one row of the clean cohort, as a CSV."""
    data = base_rows()
    data[row - 2][FIELD[field]] = value
    add(case_id, write_csv(f"{case_id}.csv", data), "signups", commands, attack, f"{expect} rows={rows}")


def every_field(case_id: str, attack: str, value: str, *, expect: str = "exit=0") -> None:
    """The payload in every free-text field of the first two people (a mentee and her mentor)."""
    data = base_rows()
    for row in (0, 1):
        for name in TEXT_FIELDS:
            cell = data[row][FIELD[name]]
            data[row][FIELD[name]] = f"{cell}{value}" if name in ("goals", "expertise") and cell else f"{value}{cell}"
    add(case_id, write_csv(f"{case_id}.csv", data), "signups", ALL if "html" in case_id else LIGHT, attack,
        f"{expect} rows=8")


# --- names and addresses -------------------------------------------------------------------------------
def names_and_addresses() -> None:
    spy = f"spy-{MARK.lower()}@evil.example"
    signup("name-rfc2047-q-addr", "name is an RFC 2047 encoded word decoding to an address",
           "exit=0", field="name", value=f"=?utf-8?q?{spy.replace('@', '=40')}?=")
    signup("name-rfc2047-q-group", "name decodes to group syntax x: a@b;", "exit=0", field="name",
           value=f"=?utf-8?q?x=3A_{spy.replace('@', '=40')}=3B?=")
    import base64
    signup("name-rfc2047-b-list", "name is a base64 encoded word decoding to two addresses", "exit=0", field="name",
           value="=?utf-8?b?" + base64.b64encode(f"Ada <{spy}>, ada@example.org".encode()).decode() + "?=")
    signup("name-rfc2047-mentor", "mentor's name is an encoded word with an address (goes to the mentee's intro)",
           "exit=0", field="name", row=3, value=f"=?us-ascii?q?Bob_=3C{spy.replace('@', '=40')}=3E?=")
    signup("name-group-syntax", "name is literal group syntax", "exit=0", field="name", value=f"undisclosed: {spy};")
    signup("name-angle-addr", "name carries an angle address", "exit=0", field="name", value=f"Ada <{spy}>")
    signup("name-comma-list", "name with a comma and an address", "exit=0", field="name", value=f"Lovelace, {spy}")
    signup("name-crlf-bcc", "name with CR LF and a Bcc header", "exit=0", field="name", value=f"Ada\r\nBcc: {spy}")
    signup("name-lf-to", "name with a bare LF and a To header", "exit=0", field="name", value=f"Ada\nTo: {spy}")
    signup("name-nul", "name with NUL bytes (refusing the file is allowed)", "exit=any", field="name", value="Ada\x00\x00Mentee")
    signup("email-crlf-bcc", "email cell with CR LF and a Bcc header", "error@2", field="email",
           value=f"ada@example.org\r\nBcc: {spy}", commands=READ)
    signup("email-two-addresses", "email cell with two addresses", "error@2", field="email",
           value=f"ada@example.org, {spy}", commands=READ)
    signup("email-encoded-word", "email cell is an encoded word", "error@2", field="email",
           value=f"=?utf-8?q?{spy.replace('@', '=40')}?=", commands=READ)
    signup("email-group", "email cell is group syntax", "error@2", field="email", value=f"team: ada@example.org, {spy};", commands=READ)
    signup("email-display-name", "email cell with a display name and angle address", "exit=0", field="email",
           value=f"{spy} <ada@example.org>")
    signup("email-traversal", "email local part with ../ (a slug or path source)", "exit=0", field="email",
           value="../../" + MARK.lower() + "@example.org")
    signup("email-raw-utf8", "email with a raw UTF-8 local part and IDN domain", "exit=0",
           field="email", value="ädä@exämple.org")


# --- terminal ------------------------------------------------------------------------------------------
def terminal() -> None:
    signup("name-ansi-csi", "name with ESC[ colour and clear-screen sequences", "exit=0", commands=LIGHT, field="name",
           value="\x1b[31mAda\x1b[0m\x1b[2J\x1b[H")
    signup("name-osc8-link", "name with an OSC 8 hyperlink", "exit=0", commands=LIGHT, field="name",
           value=f"\x1b]8;;https://evil.example/{MARK}\x07Ada\x1b]8;;\x07")
    signup("name-c1-controls", "name with C1 controls (CSI 0x9b, NEL 0x85)", "exit=0", commands=LIGHT, field="name",
           value="Ada\x9b31m\x85Mentee\x90")
    signup("name-bidi-override", "name with bidi overrides (RLO, isolates)", "exit=0", commands=LIGHT, field="name",
           value="Ada\u202eexe.txt\u202c\u2066x\u2069")
    signup("goals-ansi", "goals with escape sequences (reach Why, .ics, HTML)", "exit=0", commands=LIGHT, field="goals",
           value="Leadership\x1b[5m, Public speaking\x1b]0;title\x07")
    signup("timezone-escape", "time zone answer with escape sequences", "warn@2", commands=LIGHT, field="timezone",
           value="\x1b[31mEurope/London\x1b[0m")
    signup("email-escape", "email cell with an escape sequence", "error@2", field="email", value="ada\x1b[2J@example.org", commands=READ)
    every_field("every-field-controls", "BEL, VT, FF, ESC, DEL and C1 in every text field (refusing the file is allowed)",
                "\x07\x0b\x0c\x1b[1m\x7f\x9b", expect="exit=any")
    header = list(HEADERS)
    header.append("\x1b[2J\x1b]8;;http://evil.example\x07Extra\x1b]8;;\x07")
    add("header-escapes", write_csv("header-escapes.csv", [r + ["x"] for r in base_rows()], header=header),
        "signups", READ, "an unmapped header with escapes (printed in the mapping table)", "exit=0 rows=8")


# --- formulas ------------------------------------------------------------------------------------------
def formulas() -> None:
    payloads = {
        "eq": '=HYPERLINK("http://evil.example/' + MARK + '","click")',
        "plus": "+1+cmd|' /C calc'!A0",
        "minus": "-2+3+cmd|' /C calc'!A0",
        "at": "@SUM(1+1)*cmd|' /C calc'!A0",
        "tab": "\t=1+1",
        "cr": "\r=1+1",
    }
    for key, value in payloads.items():
        signup(f"name-formula-{key}", f"name starting with a formula prefix ({key})", "exit=0", field="name", value=value,
               commands=LIGHT if key in ("eq", "tab") else SCHEDULE)
    signup("goals-dde", "DDE payload in goals", "exit=0", commands=LIGHT, field="goals", value="=cmd|' /C calc'!A0, Leadership")
    every_field("every-field-formula", "a formula in every text field", "=1+1")
    rows: list[list[object]] = [HEADERS, *base_rows()]
    rows[1][FIELD["name"]] = '=CONCATENATE("Ada"," Mentee")'
    rows[2][FIELD["organisation"]] = "=1+1"
    rows[1][FIELD["industry"]] = '=HYPERLINK("http://evil.example","x")'
    add("xlsx-real-formulas", write_xlsx("xlsx-real-formulas.xlsx", [("Form Responses 1", rows, False)]), "signups", LIGHT,
        "signup workbook with real formula cells (no cached values)", "exit=any rows=8")


# --- HTML ----------------------------------------------------------------------------------------------
def html() -> None:
    signup("name-script", "name is a script tag", "exit=0", commands=LIGHT, field="name", value=f"<script>alert('{MARK}')</script>")
    signup("name-img-onerror", "name is an img onerror", "exit=0", commands=LIGHT, field="name", value=f'<img src=x onerror="alert(\'{MARK}\')">')
    signup("mentor-attr-break", "mentor's name breaks out of an attribute", "exit=0", commands=LIGHT, field="name", row=3,
           value=f'" onmouseover="alert(\'{MARK}\')" x="')
    signup("goals-style", "goals with a style tag", "exit=0", commands=LIGHT, field="goals",
           value=f"<style>body{{background:url(javascript:{MARK})}}</style>, Leadership")
    signup("expertise-iframe", "expertise with an iframe", "exit=0", commands=LIGHT, field="expertise", row=3,
           value=f"Leadership, <iframe src=javascript:alert('{MARK}')></iframe>")
    every_field("every-field-html", "HTML, a javascript: URL and a template expression in every field",
                f"<b onclick=alert('{MARK}')>x</b><a href=\"javascript:{MARK}\">y</a>{{{{7*7}}}}")


# --- paths ---------------------------------------------------------------------------------------------
def paths() -> None:
    for key, value in {"traversal": f"../../../../tmp/{MARK}-traversal", "absolute": f"/tmp/{MARK}-absolute",
                       "windows": f"C:\\Windows\\{MARK}\\..\\..\\x", "con": "CON", "nul-device": "NUL",
                       "dotfile": ".bashrc", "dots": "..", "long": "A" * 300}.items():
        signup(f"name-path-{key}", f"name used as a path ({key})", "exit=0", field="name", value=value,
               commands=LIGHT if key in ("traversal", "con") else SCHEDULE)


# --- CSV structure -------------------------------------------------------------------------------------
def csv_structure() -> None:
    lines = ",".join(HEADERS) + "\r\n"
    body = [",".join(r) if "," not in "".join(r) else None for r in base_rows()]
    def line(row: list[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(row)
        return buffer.getvalue()
    rows = base_rows()
    text = lines + line(rows[0])
    second = line(rows[1]).replace("Bob Mentor", '"Bob Mentor', 1)  # opens a quote that never closes in its row
    text += second + "".join(line(r) for r in rows[2:])
    add("csv-stray-quote", write_bytes("csv-stray-quote.csv", text.encode()), "signups", READ,
        "a stray opening quote swallows the rows after it into one cell", "problem@3 rows=8")
    text = lines + "".join(line(r) for r in rows[:5]) + line(rows[5]).rstrip("\r\n").replace("Flo Mentor", '"Flo Mentor', 1)
    text += "\r\n" + "".join(line(r) for r in rows[6:])
    add("csv-unclosed-quote-eof", write_bytes("csv-unclosed-quote-eof.csv", text.encode()), "signups", READ,
        "an unclosed quote runs to the end of the file", "problem@7 rows=8")
    text = lines + "".join(line(r) for r in rows).replace("Cy Mentee", 'Cy "The" Mentee', 1)
    add("csv-quote-inside", write_bytes("csv-quote-inside.csv", text.encode()), "signups", READ,
        "quotes inside an unquoted field", "exit=0 rows=8")
    add("csv-semicolon-quotes", write_csv("csv-semicolon-quotes.csv", [r[:1] + ['Ada; "x"'] + r[2:] if i == 0 else r
                                           for i, r in enumerate(base_rows())], delimiter=";"),
        "signups", READ, "semicolon-delimited with quotes and ; inside a quoted cell", "exit=0 rows=8")
    ragged = lines + "".join(line(r) for r in rows[:2]) + line(rows[2] + ["extra", "cells"]) + line(rows[3][:4])
    ragged += "".join(line(r) for r in rows[4:])
    add("csv-ragged-rows", write_bytes("csv-ragged-rows.csv", ragged.encode()), "signups", READ,
        "rows with more cells than the header (a shifted row) and fewer", "problem@4 rows=8")
    del body


# --- sheets and headers --------------------------------------------------------------------------------
def sheets() -> None:
    decoy = [["Name", "Email"], ["Old Person", f"old-{MARK.lower()}@evil.example"]]
    add("xlsx-hidden-first-sheet", write_xlsx("xlsx-hidden-first-sheet.xlsx",
                                              [("Old", decoy, True), ("Form Responses 1", [HEADERS, *base_rows()], False)]),
        "signups", ALL, "the first sheet is hidden; the visible, active one holds the signups", "exit=any rows=8")
    header = [*HEADERS, "Email address"]
    rows = [r + [r[FIELD["email"]]] for r in base_rows()]
    rows[0][-1] = f"spy-{MARK.lower()}@evil.example"
    add("dup-header-different", write_csv("dup-header-different.csv", rows, header=header), "signups", READ,
        "a second Email column with a different value", "problem@2 rows=8")
    rows = [r + [r[FIELD["email"]]] for r in base_rows()]
    add("dup-header-same", write_csv("dup-header-same.csv", rows, header=header), "signups", READ,
        "a second Email column with the same values", "exit=0 rows=8")
    add("dup-email-rows", write_csv("dup-email-rows.csv", [*base_rows(), base_rows()[0]]), "signups", READ,
        "the same email twice", "problem@2 rows=9")


# --- answers -------------------------------------------------------------------------------------------
def answers() -> None:
    for key, value in {"never": "never", "25h": "25:00-26:00", "emoji": "\U0001f937\u200d\u2640\ufe0f"}.items():
        signup(f"avail-{key}", f"availability with no usable window ({value!r})", "warn@2", field="availability",
               value=value, commands=READ)
    for key, value in {"minus1": "-1", "1e9": "1e9", "negation": "not 3", "none-word": "none, sorry",
                       "huge-int": "99999999999999999999999"}.items():
        signup(f"capacity-{key}", f"capacity {value!r}", "error@3", field="capacity", value=value, row=3, commands=READ)
    header = [*HEADERS, "How many mentors would you like?"]
    for key, value in {"minus1": "-1", "1e9": "1e9", "negation": "no more than -2"}.items():
        rows = [r + ["1"] for r in base_rows()]
        rows[0][-1] = value
        add(f"wants-{key}", write_csv(f"wants-{key}.csv", rows, header=header), "signups", READ,
            f"wants {value!r}", "error@2 rows=8")
    for key, value in {"not-mentor": "I do NOT want to be a mentor", "neither": "Neither, just curious",
                       "unsure": "Mentor? Mentee? Not sure"}.items():
        signup(f"role-{key}", f"role answer that cannot be read for sure ({value!r})", "error@2", field="role",
               value=value, commands=READ)
    for key, value in {"2300": "2300-01-01 10:00:00", "1600": "1600-01-01 10:00:00", "garbage": "yesterday-ish"}.items():
        signup(f"timestamp-{key}", f"timestamp {value!r}", "warn@2", field="timestamp", value=value, commands=READ)
    signup("experience-huge", "experience of 1e308 years", "exit=0", field="experience", value="1e308", commands=READ)


# --- encodings -----------------------------------------------------------------------------------------
def encodings() -> None:
    rows = base_rows()
    rows[0][FIELD["name"]] = "山田 花子"
    rows[1][FIELD["name"]] = "佐藤 太郎"
    add("enc-shift-jis", write_csv("enc-shift-jis.csv", rows, encoding="shift_jis"), "signups", READ,
        "Shift-JIS encoded CSV", "exact=山田_花子 rows=8")
    data = write_csv("enc-mixed.tmp", base_rows())
    text = (HERE / data).read_bytes()
    (HERE / data).unlink()
    text = text.replace(b"Ada Mentee", "Adé Mentée".encode()).replace(b"Cy Mentee", "Cý Mentée".encode("cp1252"))
    add("enc-mixed-utf8-cp1252", write_bytes("enc-mixed-utf8-cp1252.csv", text), "signups", READ,
        "UTF-8 and cp1252 mixed in one file", "exact=Cý_Mentée rows=8")
    rows = base_rows()
    rows[0][FIELD["name"]] = "José Müller"
    add("enc-cp1252", write_csv("enc-cp1252.csv", rows, encoding="cp1252"), "signups", READ,
        "a cp1252 CSV (allowed by the contract)", "exit=0 exact=José_Müller rows=8")
    add("enc-utf16", write_csv("enc-utf16.csv", rows, encoding="utf-16"), "signups", READ,
        "a UTF-16 CSV with BOM", "exit=any exact=José_Müller rows=8")
    add("enc-invalid-utf8", write_bytes("enc-invalid-utf8.csv", (HERE / "enc-cp1252.csv").read_bytes()
                                        .replace(b"Bob Mentor", b"Bob \xc3\x28\xff Mentor")), "signups", READ,
        "bytes invalid in every candidate encoding", "exit=any rows=8")


# --- empty, binary, broken -----------------------------------------------------------------------------
def broken_files() -> None:
    add("empty-csv", write_bytes("empty.csv", b""), "signups", READ, "a 0-byte CSV", "exit=1 names-file")
    add("bom-only-csv", write_bytes("bom-only.csv", b"\xef\xbb\xbf"), "signups", READ, "a CSV of only a BOM", "exit=1 names-file")
    add("blank-lines-csv", write_bytes("blank-lines.csv", b"\r\n \r\n\t\r\n"), "signups", READ, "only blank lines", "exit=1 names-file")
    add("header-only-csv", write_csv("header-only.csv", []), "signups", READ, "headers, no rows", "exit=1 names-file")
    add("header-only-xlsx", write_xlsx("header-only.xlsx", [("Form Responses 1", [HEADERS], False)]), "signups", READ,
        "a workbook with headers and no rows", "exit=1 names-file")
    add("empty-xlsx", write_xlsx("empty.xlsx", [("Sheet1", [], False)]), "signups", READ, "a workbook with an empty sheet", "exit=1 names-file")
    import random
    noise = random.Random(12).randbytes(4096)
    add("garbage-csv", write_bytes("garbage.csv", noise), "signups", READ, "random bytes named .csv", "exit=1 names-file")
    add("garbage-xlsx", write_bytes("garbage.xlsx", noise), "signups", READ, "random bytes named .xlsx", "exit=1 names-file")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    add("zip-not-xlsx", write_bytes("zip-not-xlsx.xlsx", buffer.getvalue()), "signups", READ, "a zip that is no workbook", "exit=1 names-file")
    add("png-as-csv", write_bytes("png-as-csv.csv", b"\x89PNG\r\n\x1a\n" + noise[:200]), "signups", READ,
        "a PNG named .csv", "exit=1 names-file")
    shutil.copy(ROOT / "tests" / "data" / "password-protected.xlsx", HERE / "password-protected.xlsx")
    add("password-xlsx", "password-protected.xlsx", "signups", READ, "a password-protected workbook", "exit=1 names-file")
    whole = (HERE / "xlsx-hidden-first-sheet.xlsx").read_bytes()
    add("truncated-xlsx", write_bytes("truncated.xlsx", whole[: len(whole) // 2]), "signups", READ,
        "the first half of a workbook", "exit=1 names-file")
    add("xlsx-named-csv", write_bytes("xlsx-named.csv", whole), "signups", READ, "a workbook named .csv", "exit=any")
    add("no-email-column", write_csv("no-email-column.csv", [r[:2] + r[3:] for r in base_rows()],
                                     header=HEADERS[:2] + HEADERS[3:]), "signups", READ, "no email column", "exit=1 names-file")
    add("unknown-suffix", write_bytes("signups.json", b'{"a": 1}'), "signups", READ, "an unsupported suffix", "exit=1 names-file")


# --- generated at test time ----------------------------------------------------------------------------
def generated() -> None:
    for key, attack, expect in [
        ("huge-cell-availability", "a 1 MB availability cell", "exit=any"),
        ("huge-cell-name", "a 1 MB name cell", "exit=any"),
        ("huge-cell-goals", "a 1 MB goals cell of 100k options", "exit=any"),
        ("xfd1048576", "a 7 kB workbook with one stray cell at XFD1048576", "exit=any"),
        ("zip-bomb", "a workbook whose sheet inflates to 2 GB", "exit=1 names-file"),
        ("dev-zero", "/dev/zero as the signup file", "exit=1 names-file"),
        ("fifo", "a FIFO as the signup file", "exit=1 names-file"),
        ("directory", "a folder named signups.csv", "exit=1 names-file"),
    ]:
        add(key, f"gen:{key}", "generated", READ, attack, expect)


# --- mentor.toml ---------------------------------------------------------------------------------------
def configs() -> None:
    for key, body, attack in [
        ("weights-nan", "[weights]\ntopics = nan\n", "a NaN weight"),
        ("weights-inf", "[weights]\nindustry = inf\n", "an infinite weight"),
        ("weights-negative", "[weights]\ntopics = -40\n", "a negative weight"),
        ("weights-huge-int", "[weights]\ntopics = 9223372036854775807\n", "a weight too large for the solver"),
        ("capacity-huge-int", "[signups]\ndefault_capacity = 9223372036854775807\nmax_capacity = 9223372036854775807\n",
         "capacities too large for the solver"),
        ("availability-funday", '[availability]\n"weekday evenings" = ["Funday 10-11"]\n', "a window on no weekday"),
        ("availability-25h", '[availability]\n"weekday evenings" = ["Mon-Fri 25:00-26:00"]\n', "a window past midnight+1"),
        ("blackout-int", "[schedule]\nblackout = 5\n", "blackout = 5"),
        ("events-strings", 'events = ["x"]\n', 'events = ["x"]'),
        ("coordinator-email-bad", '[cohort]\ncoordinator_email = "coordinator@example.org\\r\\nBcc: spy-hostile@evil.example"\n',
         "coordinator_email with CR LF Bcc"),
        ("coordinator-email-group", '[cohort]\ncoordinator_email = "all: spy-hostile@evil.example;"\n',
         "coordinator_email as group syntax"),
        ("sponsor-email-list", '[cohort]\nsponsor_emails = ["a@example.org, spy-hostile@evil.example"]\n',
         "two addresses in one sponsor entry"),
        ("event-localtime", '[[events]]\nname = "Kick-off"\ndate = 2026-09-08\ntime = "17:00"\ntimezone = "localtime"\n',
         "an event in the host-dependent zone localtime"),
        ("event-zone-path", '[[events]]\nname = "Kick-off"\ndate = 2026-09-08\ntime = "17:00"\ntimezone = "../../etc/passwd"\n',
         "an event zone that is a path"),
        ("months-huge", "[schedule]\nmonths = 100000000\n", "a cohort of 100 million months"),
        ("not-toml", "\x00\x01binary\xff", "a config that is not TOML"),
        ("unknown-section", "[weightz]\ntopics = 1\n", "a misspelt section"),
    ]:
        name = f"config-{key}.toml"
        (HERE / name).write_bytes(body.encode("utf-8", "surrogateescape") if key != "not-toml" else b"\x00\x01binary\xff")
        add(f"config-{key}", name, "config", "check,match,schedule", f"mentor.toml: {attack}", "exit=1 names-file")


# --- pairs.xlsx, checkins.xlsx and drafts, edited by hand ----------------------------------------------
def run_cli(folder: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mentorcli", *args], check=False, cwd=folder, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        raise SystemExit(f"mentor {' '.join(args)} failed: {done.stderr}")


def downstream(scratch: Path) -> None:
    """Base pairs.xlsx, checkins.xlsx and drafts from the clean cohort, then their hand-edited variants."""
    import openpyxl

    write_csv("base-signups.csv", base_rows())
    shutil.copy(HERE / "base-signups.csv", scratch / "signups.csv")
    run_cli(scratch, "match", "signups.csv", "-o", "pairs.xlsx")
    run_cli(scratch, "schedule", "pairs.xlsx", "--start", "2027-01-04", "--months", "3", "--out", "calendar")
    run_cli(scratch, "introduce", "pairs.xlsx", "--calendar", "calendar", "--out", "outbox")
    shutil.copy(scratch / "pairs.xlsx", HERE / "base-pairs.xlsx")
    shutil.copy(scratch / "calendar" / "checkins.xlsx", HERE / "base-checkins.xlsx")

    def edit_pairs(case_id: str, attack: str, expect: str, change) -> None:
        book = openpyxl.load_workbook(scratch / "pairs.xlsx")
        change(book)
        book.save(HERE / f"{case_id}.xlsx")
        add(case_id, f"{case_id}.xlsx", "pairs", "schedule,introduce,report,send", attack, expect)

    def column(sheet, header: str) -> int:
        return [c.value for c in sheet[1]].index(header) + 1

    edit_pairs("pairs-deleted-rows", "two Pairs rows deleted by hand", "exit=0", lambda b: b["Pairs"].delete_rows(2, 2))
    edit_pairs("pairs-unknown-email", "a mentor email replaced by an unknown address", "exit=any",
               lambda b: b["Pairs"].cell(2, column(b["Pairs"], "Mentor Email"), f"spy-{MARK.lower()}@evil.example"))
    edit_pairs("pairs-formula-typed", "formulas typed into the Pairs and People sheets", "exit=any",
               lambda b: (b["Pairs"].cell(2, column(b["Pairs"], "Mentor"), '=HYPERLINK("http://evil.example","x")'),
                          b["People"].cell(2, 1, "=1+1")))
    edit_pairs("pairs-email-crlf", "an email cell with CR LF Bcc", "exit=any",
               lambda b: b["Pairs"].cell(2, column(b["Pairs"], "Mentee Email"),
                                         f"ada@example.org\r\nBcc: spy-{MARK.lower()}@evil.example"))
    edit_pairs("pairs-email-list", "an email cell holding two addresses", "exit=any",
               lambda b: b["Pairs"].cell(2, column(b["Pairs"], "Mentee Email"),
                                         f"ada@example.org, spy-{MARK.lower()}@evil.example"))
    edit_pairs("pairs-name-html", "a name edited to HTML and escapes", "exit=0",
               lambda b: b["Pairs"].cell(2, column(b["Pairs"], "Mentee"), f"<script>alert('{MARK}')</script>_x001B_[2J"))
    edit_pairs("pairs-people-deleted", "the People sheet deleted", "exit=1 names-file", lambda b: b.remove(b["People"]))
    edit_pairs("pairs-pairs-deleted", "the Pairs sheet deleted", "exit=1 names-file", lambda b: b.remove(b["Pairs"]))
    edit_pairs("pairs-header-renamed", "the Mentor Email header renamed", "exit=1 names-file",
               lambda b: b["Pairs"].cell(1, column(b["Pairs"], "Mentor Email"), "Mentors mail"))
    edit_pairs("pairs-duplicate-id", "two pairs with the same Pair ID", "exit=any",
               lambda b: b["Pairs"].cell(3, 1, b["Pairs"].cell(2, 1).value))
    edit_pairs("pairs-all-deleted", "every pair deleted", "exit=any", lambda b: b["Pairs"].delete_rows(2, 50))
    edit_pairs("pairs-score-text", "a score typed as text", "exit=any",
               lambda b: b["Pairs"].cell(2, column(b["Pairs"], "Score"), "very high"))
    edit_pairs("pairs-people-timezone", "a People time zone edited to localtime and a path", "exit=any",
               lambda b: [b["People"].cell(r, column(b["People"], c), v) for r, c, v in
                          [(2, "Time Zone", "localtime"), (3, "Time Zone", "../../etc/localtime")]]
               )
    add("pairs-garbage", write_bytes("pairs-garbage.xlsx", b"PK\x03\x04" + bytes(500)), "pairs",
        "schedule,introduce,report,send", "a broken pairing workbook", "exit=1 names-file")

    def edit_log(case_id: str, attack: str, expect: str, values: dict[str, object], row: int = 2) -> None:
        book = openpyxl.load_workbook(scratch / "calendar" / "checkins.xlsx")
        sheet = book["Check-ins"]
        for header, value in values.items():
            if header == "__delete__":
                sheet.delete_cols(column(sheet, str(value)))
            else:
                sheet.cell(row, column(sheet, header), value)
        book.save(HERE / f"{case_id}.xlsx")
        add(case_id, f"{case_id}.xlsx", "checkins", "report,send", attack, expect)

    import datetime as dt
    edit_log("log-notes-hostile", "private notes with HTML, escapes and a formula", "exit=0",
             {"Held": "Yes", "Date Held": dt.date(2027, 1, 20), "Rating": 4,
              "Notes": f"PRIVATE-{MARK} <script>alert(1)</script>_x001B_[2J =1+1"})
    edit_log("log-rating-bad", "ratings of 1e9, -1 and text", "exit=0",
             {"Held": "Yes", "Date Held": dt.date(2027, 1, 20), "Rating": "1e9"})
    edit_log("log-rating-negative", "a rating of -1", "exit=0", {"Held": "Yes", "Rating": -1})
    edit_log("log-date-2300", "a held date in 2300", "exit=0", {"Held": "Yes", "Date Held": "2300-01-01"})
    edit_log("log-date-garbage", "a held date that is no date", "exit=0", {"Held": "Yes", "Date Held": "soonish_x001B_[2J"})
    edit_log("log-held-formula", "a formula typed in Held and Goal Progress", "exit=0",
             {"Held": "=1+1", "Goal Progress": '=HYPERLINK("http://evil.example","x")'})
    edit_log("log-unknown-pair", "a row for a pair that does not exist", "exit=0",
             {"Pair ID": "P999", "Held": "Yes", "Date Held": dt.date(2027, 1, 20)})
    edit_log("log-email-changed", "a log row whose mentee email was changed to an outsider", "exit=0",
             {"Mentee Email": f"spy-{MARK.lower()}@evil.example", "Held": "Yes", "Date Held": dt.date(2027, 1, 20)})
    edit_log("log-column-deleted", "the Held column deleted", "exit=any", {"__delete__": "Held"})
    add("log-garbage", write_bytes("log-garbage.xlsx", bytes(range(256)) * 4), "checkins", "report,send",
        "a check-in log of random bytes", "exit=1 names-file")

    drafts = sorted((scratch / "outbox").glob("*.eml"))
    good = drafts[0].read_bytes()
    spy = f"spy-{MARK.lower()}@evil.example".encode()

    def draft(case_id: str, attack: str, data: bytes, expect: str = "exit=any", name: str | None = None) -> None:
        write_bytes(f"{case_id}.eml", data)
        add(case_id, f"{case_id}.eml", "outbox", "send", attack, expect + (f" as={name}" if name else ""))

    head, _, rest = good.partition(b"\nTo: ")
    to_line, _, tail = rest.partition(b"\n")
    draft("eml-extra-cc", "a draft with an outsider added in Cc", head + b"\nTo: " + to_line + b"\nCc: " + spy + b"\n" + tail)
    draft("eml-to-replaced", "a draft whose To was replaced by an outsider", head + b"\nTo: " + spy + b"\n" + tail)
    draft("eml-group-to", "a draft with group syntax in To", head + b"\nTo: undisclosed: " + spy + b";\n" + tail)
    draft("eml-raw-utf8-to", "a draft with a raw UTF-8 address", head + "\nTo: ädä@exämple.org\n".encode() + tail)
    draft("eml-no-to", "a draft without a To header", head + b"\n" + tail)
    draft("eml-bcc-added", "a draft with a Bcc header added", head + b"\nTo: " + to_line + b"\nBcc: " + spy + b"\n" + tail)
    draft("eml-garbage", "a draft of random bytes", bytes(range(256)) * 8)
    draft("eml-empty", "an empty draft", b"")
    draft("eml-huge-header", "a draft with a 100 kB header line", head + b"\nX-Junk: " + b"a" * 100_000 + b"\nTo: " + to_line + b"\n" + tail)
    draft("eml-tmp-leftover", "a temporary file left by an interrupted introduce", good.replace(b"\nTo: ", b"\nTo: " + spy + b", ", 1),
          name=".intro-tmp-x.eml.tmp")
    draft("eml-tmp-named-eml", "a temporary draft that ends in .eml", good.replace(b"\nTo: ", b"\nTo: " + spy + b", ", 1),
          name=".tmp-P001-x.eml")


def write_manifest() -> None:
    lines = [
        "# Hostile corpus (issue 12)",
        "",
        "Made by `make_corpus.py` (read its docstring for the expected-outcome tokens); run by",
        "`tests/test_hostile.py`, which puts each case in a temporary cohort folder, runs it through the",
        "commands listed (each later command only when the one before wrote its output) and checks the",
        "invariants of issue 12 on every run: exit 0 or 1, no traceback and no \"unexpected\" on stderr,",
        "exit 1 names the file, no file outside the output folders and none left in the temp folder, no",
        "formula in any xlsx or CSV written, no recipient outside the cohort in any .eml or SMTP envelope,",
        "no control character or escape on the terminal or in .ics/HTML, no live HTML from a cell.",
        "Signup cases go through `--json` check to find the row named in `expect`. `gen:` files are made",
        "at test time (too big or special to commit). Kinds: signups (the cohort's one signup file),",
        "config (mentor.toml beside the clean signups), pairs (pairs.xlsx edited by hand), checkins",
        "(checkins.xlsx edited by hand, with base-pairs.xlsx), outbox (one bad draft among good ones).",
        "Commands: `send` is `send --dry-run` then a real send to an SMTP server on 127.0.0.1, of every",
        "outbox written; `send-intros` sends the introductions for real and lists the progress emails",
        "with `--dry-run` (for values that cannot change a recipient, to keep the suite fast).",
        "",
        "| id | file | kind | commands | attack | expect |",
        "|---|---|---|---|---|---|",
    ]
    for case in CASES:
        attack = case.attack.replace("|", "\\|")
        lines.append(f"| {case.id} | {case.file} | {case.kind} | {case.commands} | {attack} | {case.expect} |")
    (HERE / "CASES.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    import tempfile

    for path in HERE.iterdir():
        if path.name not in ("make_corpus.py",) and path.is_file():
            path.unlink()
    names_and_addresses()
    terminal()
    formulas()
    html()
    paths()
    csv_structure()
    sheets()
    answers()
    encodings()
    broken_files()
    generated()
    configs()
    with tempfile.TemporaryDirectory() as scratch:
        downstream(Path(scratch))
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case id"
    write_manifest()
    print(f"{len(CASES)} cases, {sum(p.stat().st_size for p in HERE.iterdir()) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()

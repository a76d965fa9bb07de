"""Mutants of the workbook writers that no test killed (issue 15 item 6): the fast XLSX writer
keeping fewer digits of a number than xlsxwriter's own ``write_number`` does.

Through ``mentor match`` on a real signup file: its People sheet holds each signup's years of
experience as a number; read back with openpyxl.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

HEADERS = ["Timestamp", "Name", "Email Address", "Role", "Goals", "Expertise", "Time Zone", "Availability",
           "Years of experience"]
# Up to 16 significant digits: the number itself must come back.
EXACT = ["12.3456789012345", "7.123456789012345", "0.1234567890123456", "33.33333333333333", "2.000000000000001",
         "79.99999999999999", "0.000123456789012345", "1.5"]
# 17 significant digits (0.1 + 0.2 and its kin): the number itself, or the nearest 16-digit number
# (what xlsxwriter's own write_number keeps, and what Excel shows).
SEVENTEEN = ["0.30000000000000004", "1.0000000000000002", "45.678901234567891"]


def write_signups(path: Path, years: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i, text in enumerate(years):
            role = "Mentor" if i % 2 else "Mentee"
            writer.writerow([f"2026-09-01 10:{i:02d}:00", f"Person {i}", f"person{i}@example.org", role,
                             "Leadership", "Leadership", "Europe/London", "Weekday evenings", text])
    return path


@pytest.fixture
def experience_read_back(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    years = EXACT + SEVENTEEN
    write_signups(tmp_path / "signups.csv", years)
    result = cli("match", "signups.csv", "-o", "pairs.xlsx")
    assert result.exit_code == 0, result.stderr
    sheet = openpyxl.load_workbook(tmp_path / "pairs.xlsx", read_only=True)["People"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    email_at, years_at = header.index("Email"), header.index("Experience")
    found = {row[email_at]: row[years_at] for row in rows[1:] if row[email_at]}
    return {text: found[f"person{i}@example.org"] for i, text in enumerate(years)}


def test_numbers_of_up_to_16_significant_digits_come_back_exactly(experience_read_back):
    for text in EXACT:
        value = experience_read_back[text]
        assert isinstance(value, float | int) and value == float(text), (text, value)


def test_numbers_of_17_significant_digits_keep_at_least_16_of_them(experience_read_back):
    for text in SEVENTEEN:
        value = experience_read_back[text]
        assert value in (float(text), float(f"{float(text):.16G}")), (text, value)

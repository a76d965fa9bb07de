"""Signup limits at their exact value and one step either side (issue 15 item 6, hand mutation):
a capacity of exactly ``max_capacity``, 80 years of experience, a submission in 1970 or 2200
written in a form the fast date formats do not cover.

Through ``read_signups`` on a real CSV file and the ``Problem`` rows it reports.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from mentorcli.config import config_from_dict
from mentorcli.signups import read_signups

HEADERS = ["Timestamp", "Name", "Email Address", "Role", "Goals", "Expertise", "Time Zone", "Capacity",
           "Years of experience"]


def read(tmp_path: Path, rows: list[list[str]], **signups):
    path = tmp_path / "signups.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    config = config_from_dict({"signups": signups} if signups else {}, tmp_path / "mentor.toml")
    roster = read_signups([path], config)
    people = roster.people.set_index("email")
    problems = {(p.row, p.severity): p.problem for p in roster.problems}
    return people, problems


def row(i: int, *, role: str = "Mentor", capacity: str = "", years: str = "", stamp: str = "2026-09-01 10:00:00"):
    return [stamp, f"Person {i}", f"p{i}@example.org", role, "Leadership", "Leadership", "Europe/London",
            capacity, years]


def test_a_capacity_of_exactly_the_limit_is_taken_as_it_is_and_one_more_is_capped_with_a_warning(tmp_path):
    people, problems = read(tmp_path, [row(0, capacity="2"), row(1, capacity="3"), row(2, capacity="4")],
                            max_capacity=3)
    assert people.loc[[f"p{i}@example.org" for i in range(3)], "capacity"].tolist() == [2, 3, 3]
    assert [r for r, _ in problems] == [4]                    # the third signup, spreadsheet row 4, only
    assert "more mentees than the limit of 3" in problems[(4, "warning")]


def test_eighty_years_of_experience_is_read_and_eighty_one_is_not(tmp_path):
    people, _ = read(tmp_path, [row(0, years="79"), row(1, years="80"), row(2, years="81")])
    years = people.loc[[f"p{i}@example.org" for i in range(3)], "experience"].tolist()
    assert years[:2] == [79.0, 80.0] and math.isnan(years[2])


def test_submission_years_1970_and_2200_are_kept_and_the_years_around_them_are_not(tmp_path):
    """Written out in words, so the forms' fast date formats do not read them first."""
    stamps = {"1 June 1969 10:00": None, "1 June 1970 10:00": "1970-06-01T10:00:00Z",
              "1 June 2200 10:00": "2200-06-01T10:00:00Z", "1 June 2201 10:00": None}
    people, problems = read(tmp_path, [row(i, stamp=s) for i, s in enumerate(stamps)])
    got = people.loc[[f"p{i}@example.org" for i in range(4)], "timestamp"].tolist()
    assert got == [value or "" for value in stamps.values()]
    warned = sorted(r for (r, severity), text in problems.items() if "timestamp" in text)
    assert warned == [2, 5]

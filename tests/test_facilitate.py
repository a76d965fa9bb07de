"""Peer circles' facilitator: whoever volunteered (a signup column "facilitate a peer circle?"
answered yes), else the most experienced member; someone who answered no never facilitates
(issue 16 item 2). From the header and the answer through the solver to the Circles sheet."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorcli.config import Config
from mentorcli.headers import clean_header, detect_columns, normalise_header
from mentorcli.match import match_circles
from mentorcli.model import make_people
from mentorcli.signups import check_signups
from tests.test_circles import _check_every_circle, _placed_and_score, brute_force, small_cohorts

ROOT = Path(__file__).resolve().parent.parent
HEADER = "Would you volunteer to facilitate a peer circle?"


def _peers(years: list[float], facilitate: list[str], goal: str = "Leadership") -> pd.DataFrame:
    return make_people([
        {"name": f"Peer {i}", "email": f"p{i}@example.org", "role": "both", "goals": (goal,), "expertise": (goal,),
         "department": f"D{i}", "experience": years[i], "timezone": "Europe/London",
         "availability": ("Weekday evenings",), "capacity": 1, "wants": 1, "facilitate": facilitate[i]}
        for i in range(len(years))
    ])


def _lead_and_why(people: pd.DataFrame, size: int) -> list[tuple[str, str]]:
    result = match_circles(people, Config(), size=size, kind="peer")
    return [(c.members[0].email, c.why) for c in result.circles]


def test_a_volunteer_facilitates_over_someone_more_experienced() -> None:
    people = _peers([20.0, 2.0, 5.0], ["", "yes", ""])
    [(lead, why)] = _lead_and_why(people, 3)
    assert lead == "p1@example.org"
    assert "Peer 1 (facilitator, volunteered)" in why


def test_without_volunteers_the_most_experienced_facilitates() -> None:
    people = _peers([3.0, 12.0, 5.0], ["", "", ""])
    [(lead, why)] = _lead_and_why(people, 3)
    assert lead == "p1@example.org" and "Peer 1 (facilitator, most experienced)" in why


def test_among_volunteers_the_most_experienced_facilitates() -> None:
    people = _peers([3.0, 2.0, 9.0, 1.0], ["yes", "yes", "yes", ""])
    [(lead, _)] = _lead_and_why(people, 4)
    assert lead == "p2@example.org"


def test_someone_who_said_no_never_facilitates_even_the_most_experienced() -> None:
    people = _peers([30.0, 2.0, 5.0], ["no", "", ""])
    [(lead, _)] = _lead_and_why(people, 3)
    assert lead == "p2@example.org"


def test_a_circle_where_everyone_said_no_is_not_formed_and_each_is_told_why() -> None:
    people = _peers([30.0, 2.0, 5.0], ["no", "no", "no"])
    result = match_circles(people, Config(), size=3, kind="peer")
    assert result.circles == []
    reasons = result.unmatched["reason"].tolist()
    assert len(reasons) == 3 and all("no possible facilitator" in r for r in reasons), reasons


def test_one_who_may_facilitate_is_enough_for_a_circle_of_those_who_said_no() -> None:
    people = _peers([30.0, 2.0, 5.0], ["no", "no", ""])
    [(lead, _)] = _lead_and_why(people, 3)
    assert lead == "p2@example.org"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("both",)), st.data())
def test_peer_optimum_with_volunteers_equals_brute_force(people: pd.DataFrame, data: st.DataObject) -> None:
    people = people.copy()
    people["facilitate"] = data.draw(st.lists(st.sampled_from(["yes", "no", ""]), min_size=len(people),
                                              max_size=len(people)))
    config = Config()
    result = match_circles(people, config, size=4, kind="peer")
    _check_every_circle(people, config, result, 4)
    places, score = brute_force(people, config, 4, "peer")
    assert _placed_and_score(result) == (places, pytest.approx(score, abs=0.011))


def test_mentor_led_circles_ignore_the_answer() -> None:
    people = make_people([
        {"name": "Mentor", "email": "m@example.org", "role": "mentor", "expertise": ("Leadership",),
         "availability": ("Weekday evenings",), "timezone": "Europe/London", "capacity": 1, "facilitate": "no"},
        *({"name": f"Mentee {i}", "email": f"e{i}@example.org", "role": "mentee", "goals": ("Leadership",),
           "department": f"D{i}", "availability": ("Weekday evenings",), "timezone": "Europe/London", "wants": 1}
          for i in range(2)),
    ])
    result = match_circles(people, Config(), size=2, kind="mentor-led")
    assert [c.members[0].email for c in result.circles] == ["m@example.org"]


# --------------------------------------------------------------------------- reading the answer


@pytest.mark.parametrize("header", [HEADER, "Facilitator?", "Willing to facilitate", "Happy to lead a peer circle?",
                                    "Would you host a mentoring circle?"])
def test_volunteer_headers_are_detected(header: str) -> None:
    rows = [["Name", "Email", header], ["A", "a@example.org", "Yes"], ["B", "b@example.org", "No"]]
    mapping = detect_columns(rows[0], _answers(rows))
    assert mapping.sources["facilitate"].header == header


@pytest.mark.parametrize("header", ["Have you facilitated a group before?", "Who should facilitate?",
                                    "How many circles have you facilitated?", "Do you lead a team?"])
def test_other_questions_are_not_read_as_volunteering(header: str) -> None:
    assert "facilitate" not in [r.field for r in _rules_matching(header)]


def _rules_matching(header: str) -> list:
    from mentorcli.headers import RULES

    text = normalise_header(clean_header(header))
    return [rule for rule in RULES if rule.matches(text)]


def _answers(rows: list[list[str]]):
    from mentorcli.headers import Answers

    return Answers(pd.DataFrame(rows[1:], columns=rows[0]))


def _write_csv(path: Path, answers: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Name", "Email", "Role", "Goals", "Years of experience", "Department", "Availability",
                      "Time zone", HEADER])
        for i, answer in enumerate(answers):
            out.writerow([f"Peer {i}", f"p{i}@example.org", "Both", "Leadership", str(10 - i), f"D{i}",
                          "Weekday evenings", "Europe/London", answer])


def test_answers_are_read_and_an_unclear_one_is_reported_on_its_row(tmp_path: Path) -> None:
    path = tmp_path / "signups.csv"
    _write_csv(path, ["Yes", "no", "", "maybe, if needed", "Happy to!", "No", "Y"])
    checked = check_signups([path], Config())
    assert checked.roster.people["facilitate"].tolist() == ["yes", "no", "", "", "yes", "no", "yes"]
    warnings = [p for p in checked.roster.problems if p.column == HEADER]
    assert [(p.row, p.severity) for p in warnings] == [(5, "warning")]
    assert "not understood" in warnings[0].problem and "maybe" not in warnings[0].problem


def test_a_column_whose_answers_are_not_yes_or_no_is_not_used_and_check_says_so(tmp_path: Path) -> None:
    path = tmp_path / "signups.csv"
    _write_csv(path, ["Tuesdays", "Only online", "", "Yes"])
    checked = check_signups([path], Config())
    assert set(checked.roster.people["facilitate"]) == {""}
    [column] = [c for c in checked.files[0].mapping.columns if c.header == HEADER]
    assert column.field is None and "looks like facilitate" in column.note


def test_the_real_cli_makes_the_volunteer_facilitator(tmp_path: Path) -> None:
    _write_csv(tmp_path / "signups.csv", ["", "", "", "yes"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": "1798761600"}
    done = subprocess.run([sys.executable, "-m", "mentorcli", "match", "signups.csv", "--peer-circles", "4",
                           "-o", "circles.xlsx"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    sheet = openpyxl.load_workbook(tmp_path / "circles.xlsx")["Circles"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    header = [c.value for c in sheet[1]]
    role_at, email_at, why_at = header.index("Role"), header.index("Email"), header.index("Why")
    facilitators = [r for r in rows if r[role_at] == "facilitator"]
    assert [r[email_at] for r in facilitators] == ["p3@example.org"]
    assert "Peer 3 (facilitator, volunteered)" in facilitators[0][why_at]

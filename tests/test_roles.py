"""Role answers: every phrasing of the table, negations, near misses, and the row's error."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mentorcli import normalize as norm
from mentorcli.roles import PHRASINGS, _prepared, read_by_rules, read_role, role_problem
from mentorcli.signups import check_signups


@pytest.mark.parametrize("text, role", PHRASINGS, ids=[f"{i}-{r}" for i, (_t, r) in enumerate(PHRASINGS)])
def test_every_phrasing_of_the_table_is_read(text, role):
    assert read_role(text).role == role
    assert norm.parse_role(text) == role


@pytest.mark.parametrize("text, role", PHRASINGS, ids=[f"{i}-{r}" for i, (_t, r) in enumerate(PHRASINGS)])
def test_the_rules_alone_read_every_phrasing(text, role):
    """The table is what forms export; the reader's rules must get each entry right without it."""
    assert read_by_rules(_prepared(text)) == role


@pytest.mark.parametrize("text, role", [
    # issue 13: asking for a mentor is a mentee (these were read as mentors)
    ("I'd like a mentor", "mentee"), ("Find me a mentor", "mentee"), ("Looking for a mentor", "mentee"),
    ("I want to be mentored", "mentee"), ("I need a mentor", "mentee"),
    # the same words the other way round
    ("I'd like to be a mentor", "mentor"), ("I'd like to mentor", "mentor"), ("I'd like a mentee", "mentor"),
    # variants the table does not hold word for word
    ("  i'D LIKE   A MENTOR!  ", "mentee"), ("I would love to find a good mentor", "mentee"),
    ("Mentor\u2019s role", "mentor"), ("Applying for the mentor role", "mentor"), ("MENTORÉE", "mentee"),
    ("Mentoré·es", "mentee"), ("Je veux devenir mentore", "mentor"), ("Ich möchte Mentorin werden", "mentor"),
    ("Mentor*innen", "mentor"), ("Mentor ; Mentee ;", "both"), ("Mentee\r\nMentor", "both"),
    ("Quiero ser mentor y también tener un mentor", "both"), ("Cerco un tutor", "mentee"),
    ("I want to be guided by a mentor", "mentee"), ("Ich möchte von einer Mentorin begleitet werden", "mentee"),
    ("Quero ser acompanhado por um mentor", "mentee"), ("Vorrei fare da mentore", "mentor"),
    ("I am a mentor looking for a mentee", "mentor"), ("Other: alumni mentor", "mentor"),
])
def test_answers_outside_the_table(text, role):
    assert read_role(text).role == role


@pytest.mark.parametrize("text", [
    "not a mentor", "I do NOT want to be a mentor", "no", "No", "None", "Neither", "I don't want a mentor",
    "I can't be a mentor this time", "Mentor - not mentee", "Je ne veux pas être mentor", "Kein Mentor",
    "Ich möchte nicht Mentor werden", "No quiero ser mentor", "Não quero ser mentor", "Ik wil geen mentor",
    "Non voglio essere mentore", "Nunca mentor",
])
def test_negations_are_never_read(text):
    reading = read_role(text)
    assert reading.role is None
    assert "negation" in reading.problem


@pytest.mark.parametrize("text", [
    "", "Maybe mentor", "Mentor?", "Undecided", "not sure", "n/a", "Other", "Software engineer", "Student",
    "Mentorship", "Mentor for both juniors and seniors", "Yes", "Help", "Mentors and mentees welcome?",
    "Mentoring programme", "Menthor", "Mentorr",
])
def test_near_misses_and_unclear_answers_are_not_guessed(text):
    assert read_role(text).role is None


@given(st.text(max_size=60))
def test_role_reading_never_fails(text):
    reading = read_role(text)
    assert reading.role in (None, "mentor", "mentee", "both")
    assert (reading.role is None) == bool(reading.problem)


def _write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def test_an_unreadable_role_is_an_error_naming_the_column_and_the_answer(tmp_path):
    header = ["Email", "Name", "Role", "How many mentors would you like?"]
    rows = [
        ["ann@example.org", "Ann", "I'd like a mentor", "2"],
        ["bob@example.org", "Bob", "I do NOT want to be a mentor", ""],
        ["cat@example.org", "Cat", "Find me a mentor", ""],
        ["dan@example.org", "Dan", "Mentor", ""],
        ["eve@example.org", "Eve", "Maybe", ""],
    ]
    check = check_signups([_write(tmp_path / "signups.csv", header, rows)])
    people = check.roster.people
    assert dict(zip(people["email"], people["role"])) == {
        "ann@example.org": "mentee", "cat@example.org": "mentee", "dan@example.org": "mentor"}
    ann = people.set_index("email").loc["ann@example.org"]
    assert (ann["wants"], ann["capacity"]) == (2, 0)  # a mentee's wants answer stands; no mentor capacity
    errors = [p for p in check.roster.problems if p.severity == "error"]
    assert [(p.row, p.column) for p in errors] == [(3, "Role"), (6, "Role")]
    assert '"I do NOT want to be a mentor"' in errors[0].problem and "negation" in errors[0].problem
    assert '"Maybe"' in errors[1].problem and "not used" in errors[1].problem


def test_a_yes_no_role_flag_that_is_neither_is_an_error_on_its_column(tmp_path):
    header = ["Email", "Name", "Are you a mentor?", "Are you a mentee?"]
    rows = [
        ["ann@example.org", "Ann", "Yes", "No"],
        ["bob@example.org", "Bob", "Yes", "perhaps later"],
        ["cat@example.org", "Cat", "", "Yes"],
        ["dan@example.org", "Dan", "Yes", "Yes"],
        ["eve@example.org", "Eve", "No", "No"],
    ]
    check = check_signups([_write(tmp_path / "signups.csv", header, rows)])
    people = check.roster.people
    assert dict(zip(people["email"], people["role"])) == {
        "ann@example.org": "mentor", "cat@example.org": "mentee", "dan@example.org": "both"}
    errors = [(p.row, p.column) for p in check.roster.problems if p.severity == "error"]
    assert errors == [(3, "Are you a mentee?"), (6, "Are you a mentor?")]
    bob = next(p for p in check.roster.problems if p.row == 3)
    assert '"perhaps later"' in bob.problem


def test_a_quoted_answer_carries_no_control_characters():
    text = "Mentor\x1b[2J\x07 maybe"
    problem = role_problem(text, read_role(text))
    assert "\x1b" not in problem and "\x07" not in problem and '"Mentor [2J maybe"' in problem

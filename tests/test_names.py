"""Avoid, request and ranked-choice answers: whom they name, each reading rule at its edge, and
the warnings on the writer's row (check output, Problems sheet) agreeing with what the pairing does."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mentorcli.config import Config
from mentorcli.match import match_people
from mentorcli.model import make_people
from mentorcli.names import MAX_EDITS, NameIndex, name_key, name_keys, resolve_answers
from mentorcli.signups import check_signups


def person(name: str, role: str = "mentor", **fields) -> dict:
    email = fields.pop("email", name.lower().replace(" ", ".") + "@example.org")
    fields.setdefault("languages", ("English",))
    return {"name": name, "email": email, "role": role, **fields}


COHORT = [
    person("Ana Lima"), person("Ana Costa"), person("Bruno Costa"), person("Carla Mendes"),
    person("Carla Moreira"), person("Dario Fo", email="dario.fo@example.org"),
    person("Eva Stone", email="eva.stone@example.org"), person("Eva Stone", email="eva.s@example.org"),
    person("Maria e Silva"),
]


@pytest.fixture(scope="module")
def index() -> NameIndex:
    return NameIndex.build(make_people(COHORT))


def _read(index: NameIndex, text: str) -> list[tuple[tuple[int, ...], str]]:
    return [(named.people, named.how) for named in index.answer(text)]


# --- each rule of reading, at its edge ---------------------------------------------------------------

def test_an_email_and_a_full_name_name_that_person(index):
    assert _read(index, "bruno.costa@example.org") == [((2,), "email")]
    assert _read(index, "BRUNO COSTA") == [((2,), "name")]
    assert _read(index, "Maria e Silva") == [((8,), "name")]  # a joiner inside a name keeps it whole


def test_a_first_name_only_one_person_has_names_them_and_a_shared_one_is_ambiguous(index):
    assert _read(index, "Bruno") == [((2,), "first name")]
    assert _read(index, "Ana") == [((0, 1), "ambiguous")]  # two Anas: not "nobody"
    assert _read(index, "Zed") == [((), "nobody")]


def test_surname_first(index):
    assert _read(index, "Lima, Ana") == [((0,), "surname, first")]
    assert _read(index, "Costa, Ana; Costa, Bruno") == [((1,), "surname, first"), ((2,), "surname, first")]
    assert _read(index, "Lima, Bruno Costa") == [((), "nobody"), ((2,), "name")]  # not a name read backwards


def test_first_name_and_initial(index):
    assert _read(index, "Carla Me.") == [((), "nobody")]  # one letter only
    assert _read(index, "Carla M.") == [((3, 4), "ambiguous")]  # Mendes and Moreira
    assert _read(index, "Ana L.") == [((0,), "initial")]
    assert _read(index, "Ana L") == [((0,), "initial")]


def test_name_with_email_names_exactly_that_person_not_a_namesake(index):
    assert _read(index, "Eva Stone") == [((6, 7), "ambiguous")]
    assert _read(index, "Eva Stone (eva.s@example.org)") == [((7,), "email")]
    assert _read(index, "Eva Stone <eva.stone@example.org>") == [((6,), "email")]


def test_several_people_in_one_answer(index):
    expected = [((0,), "name"), ((2,), "name"), ((5,), "email")]
    for text in ("Ana Lima, Bruno Costa, dario.fo@example.org", "Ana Lima; Bruno Costa; dario.fo@example.org",
                 "Ana Lima\nBruno Costa\ndario.fo@example.org", "Ana Lima and Bruno Costa & dario.fo@example.org"):
        assert _read(index, text) == expected, text


def test_a_full_name_inside_a_sentence(index):
    assert _read(index, "I would like Bruno Costa please") == [((2,), "in text")]
    assert _read(index, "I may work with Ana") == [((), "nobody")]  # single words in a sentence are not read


def test_a_mistyped_address_is_read_only_when_one_participant_is_that_close():
    people = make_people([person("A", email="jonathan.smith@example.org"), person("B", email="mary.jones@example.org"),
                          person("C", email="mary.jonas@example.org"), person("D", email="al@ex.org")])
    index = NameIndex.build(people)
    assert MAX_EDITS == 2
    assert _read(index, "jonathon.smyth@example.org") == [((0,), "close email")]  # two edits: the limit
    assert _read(index, "jonathon.smyht@example.org") == [((), "nobody")]  # three edits: past it
    assert _read(index, "mary.jonis@example.org") == [((1, 2), "close emails")]  # two equally close
    assert _read(index, "al@ex.orh") == [((3,), "close email")]  # a short address: one edit
    assert _read(index, "ak@ex.orh") == [((), "nobody")]  # two edits of a short one are too many
    assert _read(index, "Mary Jones <mary.jonis@example.org>") == [((1, 2), "close emails")]  # the address decides


# --- what the cohort is told, and what the pairing does -------------------------------------------------

def _cohort(**answers) -> pd.DataFrame:
    rows = [person("Hal Mentee", "mentee", goals=("Python",), **answers),
            person("Ana Lima", "mentor", expertise=("Python",)), person("Ana Costa", "mentor", expertise=("Python",)),
            person("Kim Other", "mentor", expertise=("Cooking",))]
    return make_people(rows)


def _texts(links) -> list[str]:
    return [f.text for f in links.findings]


def test_an_ambiguous_request_takes_nobody_and_an_ambiguous_avoid_avoids_both():
    request = resolve_answers(_cohort(request="Ana"))
    assert request.request == []
    assert len(request.findings) == 1 and "matches 2 people" in request.findings[0].text
    assert "nobody is taken" in request.findings[0].text
    avoid = resolve_answers(_cohort(avoid="Ana"))
    assert avoid.avoid == [(0, 1), (0, 2)]
    assert "all of them are avoided, to be safe" in avoid.findings[0].text
    result = match_people(_cohort(avoid="Ana"), Config())
    assert result.pairs[["mentee", "mentor"]].values.tolist() == [[0, 3]]


def test_a_close_address_is_applied_with_a_warning_naming_the_match():
    links = resolve_answers(_cohort(request="ana.lma@example.org"))
    assert links.request == [(0, 1)]
    assert "read as ana.lima@example.org, the only one" in _texts(links)[0]
    two = resolve_answers(_cohort(request="ana.cima@example.org", email="hal@example.org"))
    assert links.request and two.request == [(0, 1)]  # only ana.lima is 1 edit away (ana.costa is not)
    equally = make_people([person("Hal", "mentee", request="ana.lxma@example.org"),
                           person("X", "mentor", email="ana.lima@example.org"),
                           person("Y", "mentor", email="ana.luma@example.org")])
    tie = resolve_answers(equally)
    assert tie.request == []
    assert "2 are equally close (ana.lima@example.org, ana.luma@example.org)" in _texts(tie)[0]


def test_an_answer_naming_nobody_is_a_warning_and_a_self_reference_is_ignored():
    links = resolve_answers(_cohort(avoid="My old boss"))
    assert links.avoid == [] and _texts(links) == [
        ('This avoid answer "My old boss" names nobody in the signups; it is not applied '
         "(write a participant's full name or email)")]
    mixed = resolve_answers(_cohort(avoid="Ana Lima, Zed Unknown, my old boss"))
    assert mixed.avoid == [(0, 1)]
    assert _texts(mixed) == ['"Zed Unknown" in this avoid answer names nobody in the signups; it is not applied']
    itself = resolve_answers(_cohort(request="hal.mentee@example.org"))
    assert itself.request == [] and "themself" in _texts(itself)[0]


def test_an_avoid_by_surname_first_stops_the_pair_end_to_end():
    free = _cohort()
    assert [0, 1] in match_people(free, Config()).pairs[["mentee", "mentor"]].values.tolist()
    for avoid in ("Lima, Ana", "lima, ana", "ana.lima@exmple.org", "Ana L."):
        result = match_people(_cohort(avoid=avoid), Config())
        assert [0, 1] not in result.pairs[["mentee", "mentor"]].values.tolist(), avoid
        assert result.pairs[["mentee", "mentor"]].values.tolist() == [[0, 2]], avoid


def test_a_ranked_choice_shared_by_two_is_ambiguous_and_a_request_by_initial_is_honoured():
    people = _cohort(choices=("Ana", "Kim Other"))
    links = resolve_answers(people)
    assert links.choices == [(0, 3, 2)]
    assert [(f.rank, "matches 2 people" in f.text) for f in links.findings] == [(1, True)]
    result = match_people(_cohort(request="Kim O."), Config())
    assert result.pairs[["mentee", "mentor"]].values.tolist() == [[0, 3]]


# --- through the signups stage: file, sheet, row, column ------------------------------------------------

HEADER = ["Email", "Name", "Role", "Goals", "Expertise", "Anyone you would like to be paired with?",
          "Anyone you should not be paired with?", "1st choice", "2nd choice"]


def _signups(tmp_path, rows) -> str:
    path = tmp_path / "signups.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return str(path)


def _rows():
    return [
        ["hal@example.org", "Hal Mentee", "Mentee", "Python", "", "Nobody Known", "Lima, Ana", "Ana", "Kim Other"],
        ["ana.lima@example.org", "Ana Lima", "Mentor", "", "Python", "", "", "", ""],
        ["ana.costa@example.org", "Ana Costa", "Mentor", "", "Python", "kim@exmaple.org", "", "", ""],
        ["kim@example.org", "Kim Other", "Mentor", "", "Cooking", "", "", "", ""],
        ["hal@example.org", "Hal Mentee", "Mentee", "Python", "", "", "", "", ""],
    ]


def test_warnings_reach_the_roster_problems_with_their_place(tmp_path):
    rows = _rows()
    rows[-1] = ["ivy@example.org", "Ivy Mentee", "Mentee", "Python", "", "", "Ana Lima", "", ""]
    check = check_signups([_signups(tmp_path, rows)])
    found = [(p.row, p.column, p.severity) for p in check.roster.problems]
    assert found == [
        (2, "Anyone you would like to be paired with?", "warning"),
        (2, "1st choice", "warning"),
        (4, "Anyone you would like to be paired with?", "warning"),
    ]
    texts = [p.problem for p in check.roster.problems]
    assert '"Nobody Known" names nobody' in texts[0]
    assert '"Ana" matches 2 people' in texts[1]
    assert "read as kim@example.org" in texts[2]


def test_names_are_read_after_duplicates_are_settled(tmp_path):
    """The earlier of two signups with one email is not a participant: the later one's answers stand."""
    rows = _rows()
    rows[0][0] = "old-hal@example.org"
    rows.append(["old-hal@example.org", "Hal Mentee", "Mentee", "Python", "", "", "", "", ""])
    check = check_signups([_signups(tmp_path, rows)])
    assert [p.row for p in check.roster.problems if "paired" in p.column or "choice" in p.column] == [4]
    assert check.roster.people["email"].tolist().count("old-hal@example.org") == 1


def test_check_and_the_workbook_problems_sheet_show_the_warnings(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    rows = _rows()[:4]
    _signups(tmp_path, rows)
    checked = cli("check", "signups.csv")
    assert checked.exit_code == 0
    shown = checked.stdout + checked.stderr
    assert "Nobody Known" in shown and "matches 2 people" in shown
    assert cli("match", "signups.csv", "-o", "pairs.xlsx").exit_code == 0
    sheet = openpyxl.load_workbook(tmp_path / "pairs.xlsx")["Problems"]
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    header, body = values[0], values[1:]
    problems = [dict(zip(header, row)) for row in body]
    assert {(p["Row"], p["Column"]) for p in problems} >= {
        (2, "Anyone you would like to be paired with?"), (2, "1st choice"), (4, "Anyone you would like to be paired with?")}


@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(["Ana  Lima", "José Á", "\x01x", " O'Neill "])),
                max_size=8))
def test_name_keys_of_a_column_are_the_keys_of_each_name(names):
    assert name_keys(pd.Series(names, dtype=object)) == [name_key(name) for name in names]


def test_a_quoted_answer_carries_no_control_characters():
    links = resolve_answers(_cohort(avoid="Zed\x1b[31m\x07 Unknown"))
    (finding,) = links.findings
    assert "\x1b" not in finding.text and "\x07" not in finding.text and "Zed [31m Unknown" in finding.text


def test_typo_search_is_bounded_and_says_what_it_left_unchecked(tmp_path, monkeypatch):
    from mentorcli import names

    rows = [[f"p{i}@example.org", f"Person {i}", "Mentee" if i % 2 else "Mentor", "Python", "Python",
             f"someone{i}@elsewhere.org", "", "", ""] for i in range(6)]
    monkeypatch.setattr(names, "FUZZY_BUDGET", 6 * 2)  # two addresses' worth of comparisons
    check = check_signups([_signups(tmp_path, rows)])
    unchecked = [p for p in check.roster.problems if p.row is None]
    assert len(unchecked) == 1 and unchecked[0].problem.startswith("4 addresses")
    assert sum("names nobody" in p.problem for p in check.roster.problems) == 6


def test_surname_first_choices_split_on_their_comma_are_put_back_together():
    """One ranked-choices column is split on commas, so "Lima, Ana, Costa, Bruno" arrives as four
    pieces; they are two people, in that order. "Carla Mendes, Ana" stays two choices."""
    people = make_people([*COHORT, person("Ivo Mentee", "mentee", choices=("Lima", "Ana", "Costa", "Bruno")),
                          person("Jo Mentee", "mentee", choices=("Carla Mendes", "Ana"))])
    links = resolve_answers(people)
    ivo, jo = len(COHORT), len(COHORT) + 1
    assert [(other, rank) for who, other, rank in links.choices if who == ivo] == [(0, 1), (2, 2)]
    assert [(other, rank) for who, other, rank in links.choices if who == jo] == [(3, 1)]
    assert any(f.person == jo and f.rank == 2 and "matches 2 people" in f.text for f in links.findings)

"""Surveys: the question sets shipped, Google/Microsoft Forms exports read back row by row, the
figures per relationship (the coordinator's) and in aggregate (the sponsor's), on real files.

The cohort: P001 Ann (mentee, Tech) - Bob (mentor, Tech); P002 Cat (mentee, Finance) - Dan
(mentor, Finance); P003 Eve (mentee, Health) - Bob. Bob is in two pairs; Zoe is in the People
sheet but in no pair.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
import json
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from mentorcli.config import Config, config_from_dict, render_config_toml
from mentorcli.errors import MentorError
from mentorcli.model import MatchResult, Member, PairingBook, Relationship, Roster, SurveyAnswer, make_people
from mentorcli.report import build_report, cohort_workbook_bytes, render_cohort_html, sponsor_context
from mentorcli.schedule import CHECKIN_HEADERS, SHEET_NAME
from mentorcli.surveys import (
    ITEM_TYPES,
    SURVEY_KINDS,
    question_set,
    read_scale,
    read_surveys,
    render_questions,
    summarise,
)

COMMENT = "PRIVATE-SURVEY-COMMENT-4b1d"
PEOPLE = [
    {"name": "Ann Archer", "email": "ann@example.org", "role": "mentee", "industry": "Tech"},
    {"name": "Bob Baker", "email": "bob@example.org", "role": "mentor", "industry": "Tech"},
    {"name": "Cat Carter", "email": "cat@example.org", "role": "mentee", "industry": "Finance"},
    {"name": "Dan Dixon", "email": "dan@example.org", "role": "mentor", "industry": "Finance"},
    {"name": "Eve Evans", "email": "eve@example.org", "role": "mentee", "industry": "Health"},
    {"name": "Zoe Zeller", "email": "zoe@example.org", "role": "mentee", "industry": "Tech"},
]
PAIRS = [("P001", "ann@example.org", "bob@example.org"), ("P002", "cat@example.org", "dan@example.org"),
         ("P003", "eve@example.org", "bob@example.org")]


def names() -> dict[str, str]:
    return {p["email"]: p["name"] for p in PEOPLE}


def make_book(path: Path = Path("pairs.xlsx")) -> PairingBook:
    who = names()
    pairs = pd.DataFrame({
        "pair_id": [p for p, _, _ in PAIRS], "mentee_email": [m for _, m, _ in PAIRS],
        "mentor_email": [m for _, _, m in PAIRS], "mentee": [who[m] for _, m, _ in PAIRS],
        "mentor": [who[m] for _, _, m in PAIRS], "score": [80.0, 70.0, 60.0], "why": [""] * 3, "row": [2, 3, 4]})
    return PairingBook(path=path, pairs=pairs, people=make_people(PEOPLE))


def texts(kind: str) -> dict[str, str]:
    """field -> the shipped question text of ``kind``."""
    return {q.field: q.text for q in question_set(kind).questions}


def write_csv(path: Path, headers: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def google_export(path: Path, kind: str, rows: list[dict[str, str]]) -> Path:
    """A Google Forms CSV: Timestamp, then each question's text as its header."""
    q = texts(kind)
    fields = list(q)
    headers = ["Timestamp", *(q[f] for f in fields)]
    return write_csv(path, headers, [[row.get("timestamp", "2027/03/01 10:00:00 AM GMT"),
                                      *(row.get(f, "") for f in fields)] for row in rows])


def microsoft_export(path: Path, kind: str, rows: list[dict[str, object]]) -> Path:
    """A Microsoft Forms XLSX: ID, Start time, Completion time, Email (the account), Name, then the
    questions; ratings as number cells, times as date cells, as "Open results in Excel" gives."""
    q = texts(kind)
    fields = list(q)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    sheet = book.add_worksheet("Sheet1")
    stamp = book.add_format({"num_format": "m/d/yy h:mm:ss"})
    sheet.write_row(0, 0, ["ID", "Start time", "Completion time", "Email", "Name", *(q[f] for f in fields)])
    for r, row in enumerate(rows, 1):
        sheet.write_number(r, 0, r)
        done = row.get("completed", dt.datetime(2027, 3, 2, 9, 30))
        sheet.write_datetime(r, 1, done - dt.timedelta(minutes=3), stamp)
        sheet.write_datetime(r, 2, done, stamp)
        sheet.write_string(r, 3, "anonymous")
        sheet.write_string(r, 4, "")
        for c, f in enumerate(fields, 5):
            value = row.get(f, "")
            if isinstance(value, (int, float)):
                sheet.write_number(r, c, value)
            elif value != "":
                sheet.write_string(r, c, str(value))
    book.close()
    return path


# ------------------------------------------------------------------------------- question sets


@pytest.mark.parametrize("kind", SURVEY_KINDS)
def test_question_output_lists_every_question_with_its_item_type(cli, kind):
    result = cli("survey", "questions", kind)
    assert result.exit_code == 0, result.stderr
    questions = question_set(kind).questions
    for number, question in enumerate(questions, 1):
        block = result.stdout.split(f"\n{number}. {question.text}\n", 1)[1].split("\n\n", 1)[0]
        assert f"Item type: {question.type} (" in block
        assert ITEM_TYPES[question.type] in block  # the Microsoft Forms item too
    assert questions[0].field == "email" and "required" in result.stdout.split("\n2. ", 1)[0]
    types = {q.type for q in questions}
    assert {"Short answer", "Linear scale 1-5", "Paragraph"} <= types
    assert ("Linear scale 0-10" in types) == (kind != "pulse")


def test_question_scales_are_the_shared_shape():
    for kind in SURVEY_KINDS:
        for question in question_set(kind).questions:
            expected = {"quality": "Linear scale 1-5", "recommend": "Linear scale 0-10",
                        "goal_progress": "Linear scale 1-5"}.get(question.field)
            if expected:
                assert question.type == expected
    assert "Labels: 0 = Not at all likely, 10 = Extremely likely" in render_questions(question_set("closing"))


def test_questions_written_with_out_refuse_to_overwrite(cli, tmp_path):
    target = tmp_path / "pulse.txt"
    assert cli("survey", "questions", "pulse", "--out", target).exit_code == 0
    assert target.read_text(encoding="utf-8") == cli("survey", "questions", "pulse").stdout
    again = cli("survey", "questions", "pulse", "--out", target)
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert cli("survey", "questions", "pulse", "--out", target, "--force").exit_code == 0
    assert cli("survey", "questions", "weekly").exit_code == 2
    assert "Example:" in cli("survey", "questions", "--help").stdout


def test_a_cohort_question_set_overrides_the_shipped_one_and_is_checked(tmp_path):
    folder = tmp_path / "templates" / "surveys"
    folder.mkdir(parents=True)
    shipped = question_set("pulse").path.read_text(encoding="utf-8")
    (folder / "pulse.toml").write_text(shipped.replace("How is your mentoring relationship going?",
                                                       "How are things with your mentor?"), encoding="utf-8")
    assert question_set("pulse", tmp_path / "templates").question("quality").text == "How are things with your mentor?"
    (folder / "pulse.toml").write_text(shipped.replace('type = "Linear scale 1-5"', 'type = "Linear scale 0-10"', 1),
                                       encoding="utf-8")
    with pytest.raises(MentorError, match="quality question must be a Linear scale 1-5"):
        question_set("pulse", tmp_path / "templates")


# ------------------------------------------------------------------------------- scale answers


@pytest.mark.parametrize(("text", "name", "value"), [
    ("4", "quality", 4.0), ("4 - Good", "quality", 4.0), ("4 (Good)", "quality", 4.0), ("Agree", "quality", 4.0),
    ("Strongly agree", "goal_progress", 5.0), ("Excellent", "quality", 5.0), ("poor", "quality", 1.0),
    ("4/5", "quality", 4.0), ("3 out of 5", "goal_progress", 3.0), ("4.5", "quality", 4.5),
    ("1", "quality", 1.0), ("5", "quality", 5.0), ("0", "recommend", 0.0), ("10", "recommend", 10.0),
    ("10 - Extremely likely", "recommend", 10.0), ("Not at all likely", "recommend", 0.0), ("", "quality", None),
])
def test_scale_answers_read_exactly(text, name, value):
    question = {"quality": ("Poor", "Excellent"), "recommend": ("Not at all likely", "Extremely likely"),
                "goal_progress": ("None yet", "Goals reached")}[name]
    assert read_scale(text, name, question) == (value, None)


@pytest.mark.parametrize(("text", "name", "why"), [
    ("0", "quality", "outside the 1-5 scale"), ("6", "quality", "outside the 1-5 scale"),
    ("-1", "recommend", "outside the 0-10 scale"), ("11", "recommend", "outside the 0-10 scale"),
    ("Good", "quality", "cannot be read"), ("4,5", "quality", "cannot be read"), ("four", "quality", "cannot be read"),
    ("Agree", "recommend", "cannot be read"), ("4/10", "quality", "not on the 1-5 scale"),
    ("80%", "goal_progress", "cannot be read"), ("1-5", "quality", "cannot be read"),
    ("4 or 5", "quality", "cannot be read"), ("3 and a half", "quality", "cannot be read"),
    ("5 stars", "quality", "cannot be read"),
])
def test_scale_answers_that_cannot_be_read_for_sure_are_reported(text, name, why):
    value, problem = read_scale(text, name, ("Poor", "Excellent"))
    assert value is None and problem is not None and why in problem


# ------------------------------------------------------------------------------- reading exports

GOOD_ROWS = [
    {"email": "Ann@Example.org ", "quality": "4", "recommend": "9", "goal_progress": "3", "comments": COMMENT},
    {"email": "cat@example.org", "quality": "5 - Excellent", "recommend": "10", "goal_progress": "Agree"},
    {"email": "eve@example.org", "quality": "2", "recommend": "6", "goal_progress": "2"},
]


def test_google_csv_is_read_back(tmp_path):
    path = google_export(tmp_path / "Mid-point survey (Responses).csv", "midpoint", GOOD_ROWS)
    read = read_surveys([path], make_book(), Config())
    assert read.problems == []
    assert read.kinds == {str(path): "midpoint"}
    assert [(a.email, a.relationship_id, a.row, a.quality, a.recommend, a.goal_progress) for a in read.answers] == [
        ("ann@example.org", "P001", 2, 4.0, 9.0, 3.0), ("cat@example.org", "P002", 3, 5.0, 10.0, 4.0),
        ("eve@example.org", "P003", 4, 2.0, 6.0, 2.0)]
    assert read.answers[0] == SurveyAnswer("midpoint", "ann@example.org", "P001", dt.date(2027, 3, 1), 4.0, 9.0, 3.0,
                                           COMMENT, str(path), 2)


def test_microsoft_xlsx_is_read_back_and_its_account_column_is_not_the_respondent(tmp_path):
    rows = [{"email": "dan@example.org", "quality": 5, "recommend": 8, "goal_progress": 4},
            {"email": "bob@example.org", "partner": "Eve Evans", "quality": 3, "recommend": 7,
             "completed": dt.datetime(2027, 6, 30, 16, 5)}]
    path = microsoft_export(tmp_path / "closing.xlsx", "closing", rows)
    read = read_surveys([path], make_book(), Config())
    assert read.problems == []
    assert read.columns[str(path)]["email"] == "Your email address"
    assert read.columns[str(path)]["timestamp"] == "Completion time"
    assert [(a.kind, a.email, a.relationship_id, a.submitted, a.quality, a.recommend, a.goal_progress)
            for a in read.answers] == [
        ("closing", "dan@example.org", "P002", dt.date(2027, 3, 2), 5.0, 8.0, 4.0),
        ("closing", "bob@example.org", "P003", dt.date(2027, 6, 30), 3.0, 7.0, None)]


def test_microsoft_account_email_is_used_when_the_form_asks_for_none(tmp_path):
    path = tmp_path / "pulse.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["ID", "Start time", "Completion time", "Email", "Name", texts("pulse")["quality"]])
    sheet.write_row(1, 0, [1, "3/1/27 10:00:00", "3/1/27 10:02:00", "ann@example.org", "Ann Archer", 4])
    book.close()
    read = read_surveys([path], make_book(), Config())
    assert [(a.email, a.relationship_id, a.quality, a.submitted) for a in read.answers] == [
        ("ann@example.org", "P001", 4.0, dt.date(2027, 3, 1))]


BAD_ROWS = [
    {"email": "ann@example.org", "quality": "6", "recommend": "9", "goal_progress": "3"},        # 2 out of range
    {"email": "cat@example.org", "quality": "Good", "recommend": "11", "goal_progress": "4"},    # 3 unreadable, out
    {"email": "stranger@example.net", "quality": "4", "recommend": "9", "goal_progress": "4"},  # 4 unknown email
    {"email": "", "quality": "4", "recommend": "9", "goal_progress": "4"},                      # 5 blank email
    {"email": "eve@example.org", "quality": "3", "recommend": "7", "goal_progress": "2",
     "timestamp": "2027/03/01 09:00:00 AM GMT"},                                                # 6 duplicate (earlier)
    {"email": "zoe@example.org", "quality": "4", "recommend": "9", "goal_progress": "4"},       # 7 in no pair
    {"email": "dan@example.org", "quality": "", "recommend": "", "goal_progress": ""},          # 8 answers nothing
    {"email": "eve@example.org", "quality": "4", "recommend": "8", "goal_progress": "3",
     "timestamp": "2027/03/04 09:00:00 AM GMT"},                                                # 9 duplicate (later)
    {"email": "bob@example.org", "quality": "4", "recommend": "8", "goal_progress": "3"},       # 10 two pairs
    {"email": "dan@example.org", "quality": "4", "recommend": "8", "goal_progress": "3",
     "timestamp": "sometime in March"},                                                        # 11 bad timestamp
]


def test_every_bad_value_is_reported_by_row_and_every_row_used_or_reported(tmp_path):
    path = google_export(tmp_path / "mid.csv", "midpoint", BAD_ROWS)
    read = read_surveys([path], make_book(), Config())
    q = texts("midpoint")
    found = {(p.row, p.column, p.severity): p.problem for p in read.problems}
    assert all(p.file == str(path) and p.sheet == "" for p in read.problems)
    assert "outside the 1-5 scale" in found[(2, q["quality"], "warning")]
    assert "cannot be read as a number on the 1-5 scale" in found[(3, q["quality"], "warning")]
    assert "outside the 0-10 scale" in found[(3, q["recommend"], "warning")]
    assert "not anyone's in the pairing workbook" in found[(4, q["email"], "error")]
    assert "blank" in found[(5, q["email"], "error")]
    assert "again later (row 9)" in found[(6, "", "warning")]
    assert "in no relationship" in found[(7, q["email"], "error")]
    assert "answers none" in found[(8, "", "error")]
    assert "2 relationships (P001, P003)" in found[(10, q["partner"], "warning")]
    assert "submission time cannot be read" in found[(11, "Timestamp", "warning")]
    used = {a.row for a in read.answers}
    not_used = {p.row for p in read.problems if p.severity == "error" or "not counted" in p.problem}
    assert used == {2, 3, 9, 10, 11} and not_used == {4, 5, 6, 7, 8}
    assert used | not_used == set(range(2, 12))
    by_row = {a.row: a for a in read.answers}
    assert by_row[2].quality is None and by_row[2].recommend == 9.0  # the bad answer blank, the others kept
    assert by_row[10].relationship_id is None and by_row[11].submitted is None
    assert "stranger@example.net" not in " ".join(p.problem for p in read.problems)  # row numbers, not values


def test_a_comment_keeps_no_control_character_and_a_formula_stays_text(tmp_path):
    rows = [{"email": "ann@example.org", "quality": 4, "comments": "=1+1 \x1b[31mred\x1b[0m \u202eevil"}]
    read = read_surveys([microsoft_export(tmp_path / "pulse.xlsx", "pulse", rows)], make_book(), Config())
    assert read.answers[0].comments == "=1+1 [31mred[0m evil"


def test_a_row_the_reader_found_broken_is_reported_and_not_used(tmp_path):
    path = google_export(tmp_path / "pulse.csv", "pulse", [
        {"email": "ann@example.org", "quality": "4", "comments": "Zo\u00eb says hi"},
        {"email": "cat@example.org", "quality": "MARK"}])
    path.write_bytes(path.read_bytes().replace(b"MARK", b"3 - caf\xe9"))  # one line not in UTF-8
    read = read_surveys([path], make_book(), Config())
    broken = [p.row for p in read.problems if p.severity == "error" and "another encoding" in p.problem]
    assert len(broken) == 1 and len(read.problems) == 1  # the reader's own words, on its row
    assert [a.row for a in read.answers] == [row for row in (2, 3) if row not in broken]


def test_a_person_in_two_pairs_is_placed_by_the_partner_answer(tmp_path):
    rows = [{"email": "bob@example.org", "partner": "ann@example.org", "quality": "5"},
            {"email": "bob@example.org", "partner": " eve  EVANS", "quality": "2"},
            {"email": "bob@example.org", "partner": "Eve", "quality": "3"}]
    read = read_surveys([google_export(tmp_path / "pulse.csv", "pulse", rows)], make_book(), Config())
    assert [(a.row, a.relationship_id) for a in read.answers] == [(2, "P001"), (3, "P003"), (4, None)]
    assert [(p.row, p.severity) for p in read.problems] == [(4, "warning")]  # no duplicate: different relationships


def test_a_partner_named_in_two_of_ones_relationships_is_no_guess(tmp_path):
    pair = Relationship("P001", (Member("bob@example.org", "Bob Baker", "mentor"),
                                 Member("ann@example.org", "Ann Archer", "mentee")))
    circle = Relationship("C001", (Member("dan@example.org", "Dan Dixon", "facilitator"),
                                   Member("bob@example.org", "Bob Baker", "peer"),
                                   Member("ann@example.org", "Ann Archer", "peer")))
    rows = [{"email": "bob@example.org", "partner": "Ann Archer", "quality": "4"},
            {"email": "bob@example.org", "partner": "Dan Dixon", "quality": "5"}]
    read = read_surveys([google_export(tmp_path / "pulse.csv", "pulse", rows)], make_book(), Config(),
                        relationships=[pair, circle])
    assert [(a.row, a.relationship_id) for a in read.answers] == [(2, None), (3, "C001")]
    assert [(p.row, p.severity) for p in read.problems] == [(2, "warning")]


def test_a_circle_member_maps_to_the_circle(tmp_path):
    circle = Relationship("C001", (Member("dan@example.org", "Dan Dixon", "facilitator"),
                                   Member("cat@example.org", "Cat Carter", "peer"),
                                   Member("zoe@example.org", "Zoe Zeller", "peer")))
    rows = [{"email": "zoe@example.org", "quality": "4", "goal_progress": "2"},
            {"email": "dan@example.org", "quality": "5", "goal_progress": "4"}]
    read = read_surveys([google_export(tmp_path / "pulse.csv", "pulse", rows)], make_book(), Config(),
                        relationships=[circle])
    assert [(a.email, a.relationship_id) for a in read.answers] == [("zoe@example.org", "C001"),
                                                                    ("dan@example.org", "C001")]
    summary = summarise(read.answers, [circle])
    assert summary.relationships[0].figures.respondents == 2
    assert summary.relationships[0].figures.quality == 4.5


def test_duplicates_keep_the_latest_and_pulse_rounds_apart_both_stand(tmp_path):
    def pulse(day: int) -> dict[str, str]:
        stamp = dt.date(2027, 1, 1) + dt.timedelta(days=day)
        return {"email": "ann@example.org", "quality": "3", "timestamp": f"{stamp:%Y/%m/%d} 10:00:00 AM GMT"}

    config = config_from_dict({"surveys": {"duplicate_days": 30}})
    at_limit = read_surveys([google_export(tmp_path / "a.csv", "pulse", [pulse(0), pulse(30)])], make_book(), config)
    assert [a.row for a in at_limit.answers] == [3] and [p.row for p in at_limit.problems] == [2]
    apart = read_surveys([google_export(tmp_path / "b.csv", "pulse", [pulse(0), pulse(31)])], make_book(), config)
    assert [a.row for a in apart.answers] == [2, 3] and apart.problems == []
    # the later submission stands even when it is the earlier row; the mid-point is answered once
    later_first = read_surveys([google_export(tmp_path / "c.csv", "midpoint", [pulse(90), pulse(0)])], make_book(),
                               config)
    assert [a.row for a in later_first.answers] == [2] and [p.row for p in later_first.problems] == [3]


def test_the_same_export_given_twice_counts_once(tmp_path):
    path = google_export(tmp_path / "mid.csv", "midpoint", GOOD_ROWS)
    copy = tmp_path / "mid-again.csv"
    copy.write_bytes(path.read_bytes())
    read = read_surveys([path, copy], make_book(), Config())
    assert {a.file for a in read.answers} == {str(copy)} and len(read.answers) == 3
    assert len(read.problems) == 3 and all(p.file == str(path) for p in read.problems)


def test_a_blank_export_is_a_warning_and_an_empty_file_an_error(tmp_path):
    blank = write_csv(tmp_path / "pulse.csv", ["Timestamp", *texts("pulse").values()], [])
    read = read_surveys([blank], make_book(), Config())
    assert read.answers == [] and [(p.row, p.severity) for p in read.problems] == [(None, "warning")]
    assert "no answers yet" in read.problems[0].problem
    empty = tmp_path / "closing.csv"
    empty.write_bytes(b"")
    with pytest.raises(MentorError, match="is empty"):
        read_surveys([empty], make_book(), Config())


def test_headers_are_found_by_rephrasing_or_by_the_config(tmp_path):
    headers = ["Submitted at", "E-mail", "How would you rate your mentoring relationship? (1-5)",
               "Progress towards your goals", "Would you recommend the programme? (0-10)", "Any other comments"]
    path = write_csv(tmp_path / "exit-survey.csv", headers,
                     [["2027-06-30 10:00", "ann@example.org", "4", "5", "9", "fine"]])
    read = read_surveys([path], make_book(), Config())
    assert read.kinds[str(path)] == "closing"  # from the file name: no shipped question text
    assert read.columns[str(path)] == {"email": "E-mail", "quality": headers[2], "recommend": headers[4],
                                       "goal_progress": headers[3], "comments": headers[5],
                                       "timestamp": "Submitted at"}
    answer = read.answers[0]
    assert (answer.quality, answer.goal_progress, answer.recommend, answer.comments) == (4.0, 5.0, 9.0, "fine")
    config = config_from_dict({"surveys": {"columns": {"quality": "Progress towards your goals", "goal_progress": ""}}})
    swapped = read_surveys([path], make_book(), config, kind="pulse")
    assert swapped.answers[0].quality == 5.0 and swapped.answers[0].goal_progress is None
    assert swapped.answers[0].kind == "pulse"


def test_two_columns_that_fit_one_question_are_an_error_not_a_guess(tmp_path):
    path = write_csv(tmp_path / "pulse.csv", ["Your email", "Rate your mentor (1-5)", "Rate your mentoring (1-5)"],
                     [["ann@example.org", "4", "2"]])
    with pytest.raises(MentorError, match=r"both look like the quality question.*\[surveys.columns\] quality"):
        read_surveys([path], make_book(), Config())


def test_an_export_whose_survey_cannot_be_told_asks_for_the_kind(tmp_path):
    path = write_csv(tmp_path / "answers.csv", ["Email", "Rate your mentoring relationship"], [["ann@example.org", "4"]])
    with pytest.raises(MentorError, match="--survey-kind"):
        read_surveys([path], make_book(), Config())
    assert read_surveys([path], make_book(), Config(), kind="midpoint").answers[0].kind == "midpoint"
    no_email = write_csv(tmp_path / "pulse.csv", ["Rate your mentoring relationship"], [["4"]])
    with pytest.raises(MentorError, match="no email column"):
        read_surveys([no_email], make_book(), Config())


def test_unknown_survey_column_field_in_the_config_is_refused():
    with pytest.raises(MentorError, match="surveys.columns.rating"):
        config_from_dict({"surveys": {"columns": {"rating": "Rate it"}}})
    text = render_config_toml({})
    assert "[surveys.columns]" in text
    assert config_from_dict(tomllib.loads(text)).surveys.duplicate_days == 30


# ------------------------------------------------------------------------------- figures


def answer(email: str, rid: str | None, kind: str = "pulse", day: int = 0, quality: float | None = 4,
           recommend: float | None = None, goal: float | None = None, comments: str = "") -> SurveyAnswer:
    return SurveyAnswer(kind, email, rid, dt.date(2027, 2, 1) + dt.timedelta(days=day), quality, recommend, goal,
                        comments, "s.csv", 2 + day)


def test_goal_progress_first_and_latest_and_the_recommend_scores():
    answers = [answer("ann@example.org", "P001", "pulse", 0, 3, None, 2),
               answer("ann@example.org", "P001", "closing", 150, 5, 10, 4, "thanks"),
               answer("bob@example.org", "P001", "midpoint", 60, 4, 6, 3)]
    summary = summarise(answers, make_book().relationships(), min_group_size=1)
    figures = summary.relationships[0].figures
    assert (figures.responses, figures.respondents, figures.quality, figures.recommend) == (3, 2, 4.0, 8.0)
    assert (figures.goal_first, figures.goal_latest) == (2.5, 3.5)  # Ann 2 -> 4, Bob 3 -> 3
    assert figures.nps == 0.0  # one promoter (10), one detractor (6)
    passive = summarise([answer("ann@example.org", "P001", recommend=10), answer("bob@example.org", "P001", recommend=8),
                         answer("cat@example.org", "P002", recommend=7)], make_book().relationships())
    assert passive.everyone.nps == pytest.approx(33.3)  # 8 and 7 are passives: 1 promoter of 3
    assert summary.relationships[1].figures.responses == 0 and summary.relationships[1].figures.quality is None
    assert [c.text for c in summary.relationships[0].comments] == ["thanks"]


def sponsor_answers(tech: int, finance: int) -> list[SurveyAnswer]:
    """``tech`` Tech respondents (all in P001's group) and ``finance`` Finance respondents."""
    out = [answer(f"t{n}@example.org", "P001", quality=5, comments=f"{COMMENT} t{n}") for n in range(tech)]
    return out + [answer(f"f{n}@example.org", "P002", quality=1) for n in range(finance)]


def test_sponsor_groups_at_the_limit_are_shown_and_one_under_folded():
    relationships, people = make_book().relationships(), make_people(PEOPLE)
    at_limit = summarise(sponsor_answers(3, 3), relationships, people=people, group_by="industry", min_group_size=3)
    assert [(g.label, g.figures.respondents, g.figures.quality) for g in at_limit.groups] == [
        ("Finance", 3, 1.0), ("Tech", 3, 5.0)]
    under = summarise(sponsor_answers(4, 2), relationships, people=people, group_by="industry", min_group_size=3)
    # Finance (2) is under the limit; the fold alone would show it, so Tech joins it: nothing broken out
    assert under.groups == []
    assert under.overall is not None and under.overall.respondents == 6
    three = summarise(sponsor_answers(3, 2) + [answer("h@example.org", "P003")], relationships, people=people,
                      group_by="industry", min_group_size=3)
    assert [(g.label, g.figures.respondents) for g in three.groups] == [("Tech", 3), ("other groups", 3)]
    too_few = summarise(sponsor_answers(2, 0), relationships, people=people, group_by="industry", min_group_size=3)
    assert too_few.overall is None and too_few.groups == [] and too_few.everyone.respondents == 2
    exactly = summarise(sponsor_answers(3, 0), relationships, people=people, group_by="industry", min_group_size=3)
    assert exactly.overall is not None and exactly.overall.respondents == 3


def test_the_sponsor_view_holds_no_name_email_or_comment():
    people = make_people(PEOPLE)
    summary = summarise(sponsor_answers(5, 5), make_book().relationships(), people=people, group_by="industry",
                        min_group_size=3)
    text = json.dumps(summary.sponsor_view())
    assert COMMENT not in text and "@" not in text and "P00" not in text
    for person in PEOPLE:
        assert person["name"] not in text and person["name"].split()[0] not in text


# ------------------------------------------------------------------------------- the report


def report_with(tmp_path: Path, answers: list[SurveyAnswer], **report_settings):
    config = config_from_dict({"cohort": {"name": "Spring", "coordinator_email": "cora@example.org",
                                          "sponsor_emails": ["sponsor@example.com"]},
                               "report": {"min_group_size": 1, **report_settings}}, tmp_path / "mentor.toml")
    book = make_book(tmp_path / "pairs.xlsx")
    logs = pd.DataFrame(columns=["pair_id", "date", "held", "rating", "goal_progress", "slot_utc", "respondent",
                                 "file", "sheet", "row"])
    report = build_report(book, None, logs, config, as_of=dt.date(2027, 4, 1))
    report.surveys = summarise(answers, report.relationships, people=book.people, group_by="industry",
                               min_group_size=config.report.min_group_size)
    return report, book, config


def test_the_coordinator_view_shows_each_relationship_and_comments_stay_inert(tmp_path):
    hostile = f"=HYPERLINK(\"http://x\",\"y\") <b>bold</b> \x1b[31m {COMMENT}"
    answers = [answer("ann@example.org", "P001", "pulse", 0, 4, None, 2, hostile),
               answer("bob@example.org", "P001", "closing", 90, 5, 9, 4)]
    report, book, config = report_with(tmp_path, answers)
    html = render_cohort_html(report, config)
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "\x1b" not in html
    assert COMMENT in html and "Ann Archer" in html
    workbook = openpyxl.load_workbook(io.BytesIO(cohort_workbook_bytes(report, book, config)))
    rows = list(workbook["Surveys"].iter_rows(values_only=True))
    assert rows[0] == ("Pair ID", "Members", "Responses", "Quality (1-5)", "Would Recommend (0-10)",
                       "Goal Progress First (1-5)", "Goal Progress Latest (1-5)")
    assert rows[1] == ("P001", "Bob Baker; Ann Archer", 2, 4.5, 9.0, 3.0, 3.0)  # Ann 2 and Bob 4, each once
    assert rows[2][:3] == ("P002", "Dan Dixon; Cat Carter", 0)
    comments = workbook["Survey Comments"]
    cell = comments.cell(2, 6)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK") and "\x1b" not in cell.value
    assert comments.cell(2, 1).value == "P001" and comments.cell(2, 4).value == "ann@example.org"


def test_the_sponsor_summary_shows_aggregates_only(tmp_path):
    answers = [answer("ann@example.org", "P001", quality=4, recommend=9, comments=COMMENT),
               answer("cat@example.org", "P002", quality=2, recommend=5)]
    report, book, config = report_with(tmp_path, answers, min_group_size=2)
    context = sponsor_context(report, book, config)
    assert context["surveys"]["overall"]["quality"] == "3.0" and context["surveys"]["groups"] == []
    from mentorcli.report import sponsor_message

    _stem, message = sponsor_message(report, book, config)
    body = message.as_string()
    assert "Relationship quality (1-5): 3.0" in message.get_body(("plain",)).get_content()
    assert COMMENT not in body and "Ann" not in body and "ann@" not in body and "cat@" not in body


def test_the_sponsor_summary_shows_no_survey_figure_under_min_group_size(tmp_path):
    answers = [answer("ann@example.org", "P001", quality=1, recommend=2),
               answer("cat@example.org", "P002", quality=2, recommend=3)]
    report, book, config = report_with(tmp_path, answers, min_group_size=3)
    from mentorcli.report import sponsor_message

    _stem, message = sponsor_message(report, book, config)
    for part in ("plain", "html"):
        body = message.get_body((part,)).get_content()
        assert "Fewer than 3 people answered" in body
        assert "Relationship quality" not in body and "net promoter" not in body


def test_report_outputs_without_surveys_name_no_survey(tmp_path):
    report, book, config = report_with(tmp_path, [])
    report.surveys = None
    assert "Surveys" not in render_cohort_html(report, config)
    names = openpyxl.load_workbook(io.BytesIO(cohort_workbook_bytes(report, book, config))).sheetnames
    assert names == ["Status", "By Month", "Summary", "Problems"]


# ------------------------------------------------------------------------------- the command


def write_pairs_workbook(path: Path) -> Path:
    from mentorcli.workbook import write_pairing_workbook

    people = make_people([p | {"source_file": "signups.csv", "source_row": i + 2} for i, p in enumerate(PEOPLE)])
    index = {e: i for i, e in enumerate(people["email"])}
    result = MatchResult(
        pairs=pd.DataFrame({
            "pair_id": [p for p, _, _ in PAIRS], "mentee": [index[m] for _, m, _ in PAIRS],
            "mentor": [index[m] for _, _, m in PAIRS], "score": [80.0, 70.0, 60.0],
            **{f"c_{c}": [np.nan] * 3 for c in ("topics", "industry", "experience", "availability", "format",
                                                 "interests")},
            "requested": [False] * 3, "kept": [False] * 3, "why": ["shared goals"] * 3}),
        unmatched=pd.DataFrame({"person": pd.Series([], dtype=int), "role": pd.Series([], dtype=str),
                                "reason": pd.Series([], dtype=str)}),
        mentors=pd.DataFrame({"person": [index["bob@example.org"], index["dan@example.org"]],
                              "capacity": [2, 2], "assigned": [2, 1]}),
    )
    write_pairing_workbook(path, Roster(people=people), result, Config(), force=False)
    return path


def write_checkins(path: Path) -> Path:
    who = names()
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    sheet = book.add_worksheet(SHEET_NAME)
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, CHECKIN_HEADERS)
    column = {title: i for i, title in enumerate(CHECKIN_HEADERS)}
    for row, (pair_id, mentee, mentor) in enumerate(PAIRS, 1):
        for title, value in {"Pair ID": pair_id, "Mentee": who[mentee], "Mentee Email": mentee, "Mentor": who[mentor],
                             "Mentor Email": mentor, "Occurrence": 1, "Held": "Yes", "Rating": 4}.items():
            sheet.write(row, column[title], value)
        sheet.write_datetime(row, column["Start (UTC)"], dt.datetime(2027, 2, 10, 17, 0), stamp)
    book.close()
    return path


def test_cli_report_with_surveys_end_to_end(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("mentor.toml").write_text('[cohort]\nname = "Spring"\ncoordinator_email = "cora@example.org"\n'
                                   'sponsor_emails = ["sponsor@example.com"]\n[report]\nmin_group_size = 2\n',
                                   encoding="utf-8")
    pairs = write_pairs_workbook(tmp_path / "pairs.xlsx")
    sheet = write_checkins(tmp_path / "checkins.xlsx")
    pulse = google_export(tmp_path / "pulse.csv", "pulse", [
        {"email": "ann@example.org", "quality": "3", "goal_progress": "2", "comments": COMMENT},
        {"email": "cat@example.org", "quality": "9", "goal_progress": "3"}])
    closing = microsoft_export(tmp_path / "closing.xlsx", "closing", [
        {"email": "ann@example.org", "quality": 5, "recommend": 10, "goal_progress": 4,
         "completed": dt.datetime(2027, 3, 20, 12, 0)},
        {"email": "dan@example.org", "quality": 4, "recommend": 8, "goal_progress": 4}])
    result = cli("report", pairs, sheet, "--as-of", "2027-04-01", "--surveys", pulse, "--surveys", closing, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    surveys = summary["surveys"]
    assert surveys["responses"] == 4 and surveys["respondents"] == 3  # Cat's row is used, its quality blank
    assert surveys["by_kind"] == {"pulse": 2, "midpoint": 0, "closing": 2}
    # first -> latest per person: Ann 2 -> 4, Cat 3 -> 3, Dan 4 -> 4
    assert surveys["overall"]["goal_progress_first"] == 3.0 and surveys["overall"]["goal_progress_latest"] == 3.67
    assert surveys["overall"]["quality"] == 4.0  # Ann 3 and 5, Dan 4
    assert "@" not in json.dumps(surveys) and COMMENT not in result.stdout + result.stderr
    problem = next(p for p in summary["problems"] if p["file"].endswith("pulse.csv"))
    assert (problem["row"], problem["severity"]) == (3, "warning") and "outside the 1-5 scale" in problem["problem"]
    assert "Surveys" in result.stderr and "4 answers from 3 people" in result.stderr
    html = (tmp_path / "reports" / "cohort.html").read_text(encoding="utf-8")
    assert COMMENT in html  # the coordinator's private view
    sponsor = next((tmp_path / "reports" / "outbox").glob("sponsor-summary-*.eml"))
    message = email.message_from_bytes(sponsor.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "Surveys: 4 answers from 3 people" in text and COMMENT not in sponsor.read_text(encoding="utf-8")
    for progress in (tmp_path / "reports" / "outbox").glob("progress-*.eml"):
        assert COMMENT not in progress.read_text(encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "reports" / "cohort.xlsx") as archive:
        assert "Survey Comments" in archive.read("xl/workbook.xml").decode()
    plain = cli("report", pairs, sheet, "--as-of", "2027-04-01", "--out", "plain", "--json")
    assert plain.exit_code == 0 and "surveys" not in json.loads(plain.stdout)
    bad_kind = cli("report", pairs, sheet, "--as-of", "2027-04-01", "--out", "k", "--surveys", pulse,
                   "--survey-kind", "weekly")
    assert bad_kind.exit_code == 2
    assert "Example:" in cli("report", "--help").stdout and "--surveys" in cli("report", "--help").stdout

"""``mentor match --circles N --keep circles.xlsx`` (issue 16, item 6): kept circles stay, late
signups are placed around them, and a pairs workbook and a circles workbook are never mistaken
for one another.

Every workbook here is a real one written by ``mentor match --circles`` (``pipeline.match``, or
the real process) and read back; signups are real xlsx files in the example's columns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from mentorcli import pipeline
from mentorcli.availability import weekly_utc_grid
from mentorcli.config import Config, load_config
from mentorcli.errors import MentorError
from mentorcli.match import broken_rules, match_circles, score_matrix
from mentorcli.matching import circle_model, keep_circles
from mentorcli.model import PairingBook
from mentorcli.workbook import read_pairing_workbook
from tests.conftest import EXAMPLES, ROOT
from tests.test_circles import _circle_ok, _config, _pair_reasons, small_cohorts

HEADERS = {
    "email": "Email Address", "name": "Full name", "role": "Would you like to be a mentor, a mentee, or both?",
    "goals": "What would you like help with? (mentees)", "expertise": "Which topics could you mentor others on? (mentors)",
    "industry": "Which industry do you work in?", "company": "Company", "department": "Team / department",
    "years": "How many years of professional experience do you have?",
    "timezone": "What time zone are you in? (e.g. London, EST, UTC+5:30)", "languages": "Which languages do you speak?",
    "availability": "When are you usually available to meet?", "format": "Preferred meeting format",
    "interests": "Hobbies and interests outside work", "capacity": "How many mentees could you take on?",
    "wants": "How many mentors would you like?", "avoid": "Is there anyone you should NOT be matched with?",
    "consent": "Consent",
}
MEMBER_RULES = {"named in an avoid list", "paired in an earlier cohort", "same team"}


def person(key: str, role: str, *, goals: str = "", offers: str = "", department: str = "", industry: str = "Media",
           format: str = "Video", interests: str = "Chess", avoid: str = "", capacity: int = 1) -> dict[str, object]:
    """One signup in the example's columns: ``key`` gives the name and email."""
    return {"email": f"{key}@example.org", "name": f"Person {key.upper()}", "role": role, "goals": goals,
            "expertise": offers, "industry": industry, "company": "Northwind",
            "department": department or f"Team {key}", "years": "12" if role == "Mentor" else "3",
            "timezone": "Europe/London", "languages": "English", "availability": "Weekday evenings",
            "format": format, "interests": interests, "capacity": str(capacity) if role != "Mentee" else "",
            "wants": "1" if role != "Mentor" else "", "avoid": avoid, "consent": "I agree"}


def write_signups(path: Path, people: list[dict[str, object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Timestamp", *HEADERS.values()])
    for k, row in enumerate(people):
        sheet.append([dt.datetime(2026, 8, 3, 9, 0) + dt.timedelta(minutes=k), *(row[key] for key in HEADERS)])
    book.save(path)
    return path


# The first cohort: the circles are forced by goals (M1 offers Leadership, M2 Data science; A3 and
# A4 want only Data science), so a test knows C001 = M1, A1, A2 and C002 = M2, A3, A4.
M1 = person("m1", "Mentor", offers="Leadership", industry="Health")
M2 = {**person("m2", "Mentor", offers="Data science", industry="Finance", format="Phone", interests="Sailing"),
      "availability": "Weekday evenings, Weekends"}
A1 = person("a1", "Mentee", goals="Leadership, Data science")
A2 = person("a2", "Mentee", goals="Leadership, Data science")
A3 = person("a3", "Mentee", goals="Data science")
A4 = person("a4", "Mentee", goals="Data science")
FIRST = [M1, M2, A1, A2, A3, A4]


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """A folder with the example's mentor.toml, the first signups and circles.xlsx from them (size 3)."""
    shutil.copy(EXAMPLES / "mentor.toml", tmp_path / "mentor.toml")
    write_signups(tmp_path / "signups.xlsx", FIRST)
    run = match(tmp_path, "signups.xlsx", "circles.xlsx")
    assert [sorted(m.email[:2] for m in c.members) for c in run.result.circles] == [["a1", "a2", "m1"], ["a3", "a4", "m2"]]
    return tmp_path


def config_of(folder: Path) -> Config:
    return load_config(folder / "mentor.toml")


def match(folder: Path, signups: str, output: str, *, size: int = 3, keep: str | None = None, **options: object) -> pipeline.CircleRun:
    run = pipeline.match([folder / signups], config=config_of(folder), output=folder / output, circles=size,
                         keep=None if keep is None else folder / keep, **options)  # type: ignore[arg-type]
    assert isinstance(run, pipeline.CircleRun)
    return run


def circles_of(book: PairingBook) -> dict[str, list[str]]:
    """Circle id -> the keys of its people (lead first), as the workbook now holds them."""
    return {r.id: [m.email.split("@")[0] for m in r.members] for r in book.relationships()}


def read(folder: Path, name: str) -> PairingBook:
    return read_pairing_workbook(folder / name, config_of(folder))


def problems_on(run: pipeline.CircleRun, folder: Path, keep: str = "circles.xlsx") -> list:
    return [p for p in run.problems if p.file == str(folder / keep)]


def assert_every_rule_between_every_two(book: PairingBook, config: Config) -> None:
    """Every rule between each lead and member; avoid, earlier and same team between two members."""
    people = book.people
    index = {e: i for i, e in enumerate(people["email"].tolist())}
    for circle in book.relationships():
        lead, *members = [index[m.email] for m in circle.members]
        assert not any(broken_rules(people, config, members, [lead] * len(members))), circle.id
        for a, b in itertools.combinations(members, 2):
            assert not MEMBER_RULES & set(broken_rules(people, config, [a, b], [b, a])[0]), circle.id
            assert not MEMBER_RULES & set(broken_rules(people, config, [a, b], [b, a])[1]), circle.id


# --------------------------------------------------------------------------- late signups


def test_a_late_signup_joins_a_kept_circle_with_room(cohort: Path) -> None:
    """C002 has room for one (size 3): B1 (the earlier signup) joins, B2 has no place left."""
    late = [person("b1", "Mentee", goals="Data science"), person("b2", "Mentee", goals="Data science")]
    write_signups(cohort / "late.xlsx", [*FIRST, *late])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    book = read(cohort, "new.xlsx")
    assert circles_of(book) == {"C001": ["m1", "a1", "a2"], "C002": ["m2", "a3", "a4", "b1"]}
    assert run.roster.people["email"][run.result.unmatched["person"]].tolist() == ["b2@example.org"]
    assert "Kept from" in book.relationships()[1].why and "1 joined" in book.relationships()[1].why
    assert run.as_json()["placed"] == 5 and run.result.settings["kept_circles"] == 2
    assert not [p for p in book.problems if p.severity == "error"]
    assert_every_rule_between_every_two(book, config_of(cohort))


def test_a_full_kept_circle_is_not_overfilled(cohort: Path) -> None:
    """Size 2: both kept circles are full; the late signup has no circle (and says why)."""
    write_signups(cohort / "first2.xlsx", FIRST)
    match(cohort, "first2.xlsx", "full.xlsx", size=2)
    write_signups(cohort / "late.xlsx", [*FIRST, person("b1", "Mentee", goals="Data science")])
    run = match(cohort, "late.xlsx", "new.xlsx", size=2, keep="full.xlsx")
    assert circles_of(read(cohort, "new.xlsx")) == {"C001": ["m1", "a1", "a2"], "C002": ["m2", "a3", "a4"]}
    assert run.roster.people["email"][run.result.unmatched["person"]].tolist() == ["b1@example.org"]


@pytest.mark.parametrize("late", [
    person("b1", "Mentee", goals="Data science", avoid="a3@example.org"),   # avoids a kept member
    person("b1", "Mentee", goals="Data science", department="Team a4"),     # in a kept member's team
    {**person("b1", "Mentee", goals="Data science"), "availability": "Weekends"},  # no window of the circle's
], ids=["avoid", "same-team", "window"])
def test_a_late_signup_joins_no_kept_circle_against_a_rule_with_a_kept_member(cohort: Path, late) -> None:
    write_signups(cohort / "late.xlsx", [*FIRST, late])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    assert circles_of(read(cohort, "new.xlsx"))["C002"] == ["m2", "a3", "a4"]
    assert run.roster.people["email"][run.result.unmatched["person"]].tolist() == ["b1@example.org"]


def test_a_late_signup_joins_only_for_a_goal_every_member_shares(tmp_path: Path) -> None:
    """M2 offers Leadership too, but A3 and A4 want only Data science: B1 (Leadership) cannot join
    C002; B2 (Data science) can."""
    shutil.copy(EXAMPLES / "mentor.toml", tmp_path / "mentor.toml")
    first = [M1, {**M2, "expertise": "Data science, Leadership"}, A1, A2, A3, A4]
    write_signups(tmp_path / "signups.xlsx", first)
    match(tmp_path, "signups.xlsx", "circles.xlsx")
    b1 = person("b1", "Mentee", goals="Leadership", department="Team a1")  # a1's team: not C001 either
    write_signups(tmp_path / "late.xlsx", [*first, b1])
    match(tmp_path, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    assert circles_of(read(tmp_path, "new.xlsx")) == {"C001": ["m1", "a1", "a2"], "C002": ["m2", "a3", "a4"]}
    write_signups(tmp_path / "late.xlsx", [*first, person("b2", "Mentee", goals="Data science")])
    match(tmp_path, "late.xlsx", "new.xlsx", keep="circles.xlsx", force=True)
    assert circles_of(read(tmp_path, "new.xlsx"))["C002"] == ["m2", "a3", "a4", "b2"]


def test_late_signups_form_new_circles_whose_ids_follow_the_highest_kept(cohort: Path) -> None:
    """A kept workbook whose circle was renumbered C007 by hand: the new circle is C008."""
    book = openpyxl.load_workbook(cohort / "circles.xlsx")
    for row in book["Circles"].iter_rows(min_row=2):
        if row[0].value == "C002":
            row[0].value = "C007"
    book.save(cohort / "edited.xlsx")
    late = [person("m3", "Mentor", offers="Public speaking"), person("b1", "Mentee", goals="Public speaking"),
            person("b2", "Mentee", goals="Public speaking")]
    write_signups(cohort / "late.xlsx", [*FIRST, *late])
    match(cohort, "late.xlsx", "new.xlsx", keep="edited.xlsx")
    assert circles_of(read(cohort, "new.xlsx")) == {"C001": ["m1", "a1", "a2"], "C007": ["m2", "a3", "a4"],
                                                    "C008": ["m3", "b1", "b2"]}


def test_a_kept_mentor_at_capacity_leads_no_new_circle(cohort: Path) -> None:
    """M2 (capacity 1) keeps C002: B1 joins it, B2 and B3 form no circle of their own with M2."""
    late = [person("b1", "Mentee", goals="Data science"), person("b2", "Mentee", goals="Data science"),
            person("b3", "Mentee", goals="Data science")]
    write_signups(cohort / "late.xlsx", [*FIRST, *late])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    circles = circles_of(read(cohort, "new.xlsx"))
    assert list(circles) == ["C001", "C002"] and circles["C002"][:3] == ["m2", "a3", "a4"] and len(circles["C002"]) == 4
    assert len(run.result.unmatched) == 2


def test_a_kept_mentor_with_capacity_left_leads_a_new_circle_too(cohort: Path) -> None:
    """Capacity counts circles: M2 (now capacity 2) keeps C002 and leads one new circle."""
    m2 = {**M2, "capacity": "2"}
    late = [person("b1", "Mentee", goals="Data science"), person("b2", "Mentee", goals="Data science"),
            person("b3", "Mentee", goals="Data science")]
    write_signups(cohort / "late.xlsx", [M1, m2, A1, A2, A3, A4, *late])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    circles = circles_of(read(cohort, "new.xlsx"))
    assert circles["C001"] == ["m1", "a1", "a2"] and circles["C002"][:3] == ["m2", "a3", "a4"]
    assert [c for c in circles if c not in ("C001", "C002")] == ["C003"] and circles["C003"][0] == "m2"
    assert sum(len(c) - 1 for c in circles.values()) == 7 == run.as_json()["placed"]


# --------------------------------------------------------------------------- what no longer holds


def test_a_kept_circle_that_now_breaks_a_rule_stays_with_a_warning_on_its_row(cohort: Path) -> None:
    a4 = {**A4, "avoid": "a3@example.org"}
    write_signups(cohort / "late.xlsx", [M1, M2, A1, A2, A3, a4])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    assert circles_of(read(cohort, "new.xlsx"))["C002"] == ["m2", "a3", "a4"]
    warned = [p for p in problems_on(run, cohort) if "now breaks a rule" in p.problem]
    assert [(p.severity, p.sheet, p.row) for p in warned] == [("warning", "Circles", 7)]
    assert "row 6" in warned[0].problem and "avoid" in warned[0].problem


def test_a_kept_circle_in_one_team_now_is_warned(cohort: Path) -> None:
    """A member who moved into the mentor's team: the same-team rule between lead and member."""
    a3 = {**A3, "department": "Team m2"}
    write_signups(cohort / "late.xlsx", [M1, M2, A1, A2, a3, A4])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    warned = [p for p in problems_on(run, cohort) if "now breaks a rule with its lead" in p.problem]
    assert [(p.row, "same team" in p.problem) for p in warned] == [(6, True)]


def test_a_member_no_longer_signed_up_is_dropped_with_an_error_on_their_row(cohort: Path) -> None:
    write_signups(cohort / "late.xlsx", [M1, M2, A1, A2, A3])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    assert circles_of(read(cohort, "new.xlsx"))["C002"] == ["m2", "a3"]
    errors = [p for p in problems_on(run, cohort) if p.severity == "error"]
    assert [(p.sheet, p.row, "no longer in the signups" in p.problem) for p in errors] == [("Circles", 7, True)]
    below = [p for p in problems_on(run, cohort) if "fewer than [circles] min_size" in p.problem]
    assert [(p.severity, p.row) for p in below] == [("warning", 5)]


def test_a_member_who_now_only_mentors_is_dropped(cohort: Path) -> None:
    a4 = {**A4, "role": "Mentor", "expertise": "Data science", "goals": "", "capacity": "1", "wants": ""}
    write_signups(cohort / "late.xlsx", [M1, M2, A1, A2, A3, a4])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    errors = [p for p in problems_on(run, cohort) if p.severity == "error"]
    assert [(p.row, "no longer signed up as a mentee" in p.problem) for p in errors] == [(7, True)]


def test_a_lead_no_longer_signed_up_drops_the_circle_and_frees_its_members(cohort: Path) -> None:
    """M2 left; M3 signed up late: A3 and A4 are free and may form a new circle with M3."""
    m3 = person("m3", "Mentor", offers="Data science")
    write_signups(cohort / "late.xlsx", [M1, A1, A2, A3, A4, m3])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    circles = circles_of(read(cohort, "new.xlsx"))
    assert circles == {"C001": ["m1", "a1", "a2"], "C003": ["m3", "a3", "a4"]}  # C002 never given again
    errors = [p for p in problems_on(run, cohort) if p.severity == "error"]
    assert [(p.row, "its mentor is no longer in the signups" in p.problem) for p in errors] == [(5, True)]


# --------------------------------------------------------------------------- endings


def test_ended_circles_never_reform_and_the_people_left_alone_are_placed_first(cohort: Path) -> None:
    """C001 ended: M1, A1 and A2 are left alone. C002 has room for one: A1 or A2 joins it (left
    alone, placed first) rather than B1, whose score with M2 is higher; A1 and A2 never share a
    circle again, nor either of them with M1."""
    pipeline.end(cohort / "circles.xlsx", "C001", reason="moved teams", on=dt.date(2027, 2, 1), config=config_of(cohort))
    b1 = person("b1", "Mentee", goals="Data science", industry="Finance", format="Phone", interests="Sailing")
    write_signups(cohort / "late.xlsx", [*FIRST, b1])
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    book = read(cohort, "new.xlsx")
    circles = circles_of(book)
    assert list(circles) == ["C002"] and circles["C002"][:3] == ["m2", "a3", "a4"]
    assert circles["C002"][3] in ("a1", "a2")
    assert [e.relationship.id for e in book.ended] == ["C001"]
    scores = run.result.settings
    assert scores["kept_circles"] == 1


def test_without_the_ending_the_higher_score_joins(cohort: Path) -> None:
    """The control of the test above: nobody left alone, the same room goes to B1 (higher score)."""
    b1 = person("b1", "Mentee", goals="Data science", industry="Finance", format="Phone", interests="Sailing")
    first = [M1, M2, person("a1", "Mentee", goals="Leadership"), person("a2", "Mentee", goals="Leadership"), A3, A4]
    write_signups(cohort / "first.xlsx", first)
    match(cohort, "first.xlsx", "plain.xlsx")
    write_signups(cohort / "late.xlsx", [*first, b1, {**A1, "email": "c1@example.org", "name": "Person C1"}])
    match(cohort, "late.xlsx", "new.xlsx", keep="plain.xlsx")
    assert circles_of(read(cohort, "new.xlsx"))["C002"] == ["m2", "a3", "a4", "b1"]


def test_an_ended_circle_s_people_are_never_put_together_in_a_new_circle(cohort: Path) -> None:
    """Every circle ended, a second mentor offering Leadership: A1 and A2 are in different circles, never with M1."""
    config = config_of(cohort)
    for circle in ("C001", "C002"):
        pipeline.end(cohort / "circles.xlsx", circle, reason="restart", on=dt.date(2027, 2, 1), config=config)
    late = [person("m3", "Mentor", offers="Leadership, Data science"), person("b1", "Mentee", goals="Leadership, Data science"),
            person("b2", "Mentee", goals="Leadership, Data science")]
    write_signups(cohort / "late.xlsx", [*FIRST, *late])
    match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    book = read(cohort, "new.xlsx")
    ended = [set(e.relationship.emails) for e in book.ended]
    for circle in book.relationships():
        assert circle.id not in ("C001", "C002")
        for a, b in itertools.combinations(circle.emails, 2):
            assert not any({a, b} <= together for together in ended), (circle.id, a, b)


# --------------------------------------------------------------------------- the wrong kind of workbook


def test_a_pairs_workbook_given_to_circles_keep_is_one_line(cohort: Path) -> None:
    pipeline.match([cohort / "signups.xlsx"], config=config_of(cohort), output=cohort / "pairs.xlsx")
    with pytest.raises(MentorError, match="holds pairs, not circles"):
        match(cohort, "signups.xlsx", "new.xlsx", keep="pairs.xlsx")
    assert not (cohort / "new.xlsx").exists()


def test_a_circles_workbook_given_to_pairs_keep_is_one_line(cohort: Path) -> None:
    with pytest.raises(MentorError, match="holds circles, not pairs"):
        pipeline.match([cohort / "signups.xlsx"], config=config_of(cohort), output=cohort / "new.xlsx",
                       keep=cohort / "circles.xlsx")
    assert not (cohort / "new.xlsx").exists()


def test_mentor_led_circles_given_to_peer_circles_keep_is_one_line(cohort: Path) -> None:
    with pytest.raises(MentorError, match="holds mentor-led circles"):
        pipeline.match([cohort / "signups.xlsx"], config=config_of(cohort), output=cohort / "new.xlsx",
                       peer_circles=3, keep=cohort / "circles.xlsx")


# --------------------------------------------------------------------------- the bundled example, real processes


def mentor(folder: Path, *args: object, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1798761600", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "mentorcli", *map(str, args)], check=False, cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == code, (args, done.stderr)
    assert "Traceback" not in done.stderr and "please report" not in done.stderr
    return done


def late_example(folder: Path, count: int) -> Path:
    """The example's signups with ``count`` late mentees: copies of placed mentees' answers under
    new names and emails, each in a team of their own."""
    book = openpyxl.load_workbook(EXAMPLES / "signups.xlsx")
    sheet = book.active
    rows = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True) if str(row[3]).lower() == "mentee"]
    for k, row in enumerate(rows[:count]):
        row[1], row[2], row[8] = f"late{k}@example.org", f"Late Signup {k}", f"Late team {k}"
        row[0] = dt.datetime(2026, 9, 1) + dt.timedelta(minutes=k)
        sheet.append(row)
    book.save(folder / "late.xlsx")
    return folder / "late.xlsx"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("example")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    mentor(folder, "match", "signups.xlsx", "--circles", 4, "-o", "circles.xlsx")
    late_example(folder, 8)
    return folder


def test_cli_keeps_every_circle_of_the_example_and_places_late_signups(example: Path) -> None:
    answer = json.loads(mentor(example, "match", "late.xlsx", "--circles", 4, "--keep", "circles.xlsx",
                               "-o", "new.xlsx", "--export-scores", "scores.csv", "--json", "--force").stdout)
    config = config_of(example)
    before, after = read(example, "circles.xlsx"), read(example, "new.xlsx")
    kept, now = circles_of(before), circles_of(after)
    for circle, people in kept.items():
        assert now[circle][:len(people)] == people
    late = {key for people in now.values() for key in people if key.startswith("late")}
    assert late and answer["placed"] == sum(len(p) - 1 for p in now.values())
    assert answer["kept_circles"] == len(kept)
    assert all(len(people) <= 5 for people in now.values())
    assert not [p for p in after.problems if "breaks a rule" in p.problem]
    assert_every_rule_between_every_two(after, config)
    scores = read_scores(example / "scores.csv")
    assert {(a, b) for a, b, _, kept in scores if kept == "yes"} == {(p[0], m) for p in kept.values() for m in p[1:]}
    listed = {(a, b) for a, b, _, _ in scores}
    assert len(listed) == len(scores), "a lead and member listed twice"
    assert {(p[0], m) for p in now.values() for m in p[1:]} <= listed
    index = {e.split("@")[0]: i for i, e in enumerate(after.people["email"].tolist())}
    new_pairs = [(index[a], index[b]) for a, b, _, kept in scores if kept == "no"]
    assert new_pairs and not any(broken_rules(after.people, config, [b for _, b in new_pairs], [a for a, _ in new_pairs]))


def test_cli_wrong_kind_of_workbook_is_one_line_and_exit_1(example: Path) -> None:
    done = mentor(example, "match", "signups.xlsx", "--keep", "circles.xlsx", "-o", "pairs-2.xlsx", code=1)
    assert "holds circles, not pairs" in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1
    assert not (example / "pairs-2.xlsx").exists()


def test_kept_circles_of_a_book_are_its_circles_in_order(cohort: Path) -> None:
    kept = keep_circles.kept_circles(read(cohort, "circles.xlsx"))
    assert [(k.id, k.lead.split("@")[0], k.lead_row, [m[1] for m in k.members]) for k in kept] == \
        [("C001", "m1", 2, [3, 4]), ("C002", "m2", 5, [6, 7])]
    assert keep_circles.circle_ids(["C001", "C009", "x"], 2) == ["C010", "C011"]
    assert keep_circles.circle_ids(["C998"], 2) == ["C0999", "C1000"]  # one width, as pair ids
    assert dataclasses.is_dataclass(kept[0])


def test_peer_circles_keep_their_facilitator_and_take_a_late_peer(tmp_path: Path) -> None:
    """Peer circles of 4: the kept circle (P1 facilitates, the most experienced) takes P4, who
    signed up late; P1 facilitates still."""
    shutil.copy(EXAMPLES / "mentor.toml", tmp_path / "mentor.toml")
    peers = [{**person(f"p{k}", "Both", goals="Data science", offers="Data science"), "years": str(20 - k)}
             for k in range(1, 4)]
    write_signups(tmp_path / "signups.xlsx", peers)
    first = pipeline.match([tmp_path / "signups.xlsx"], config=config_of(tmp_path), output=tmp_path / "peers.xlsx",
                           peer_circles=4)
    assert [c.emails for c in first.result.circles] == [tuple(f"p{k}@example.org" for k in range(1, 4))]
    late = {**person("p4", "Both", goals="Data science", offers="Data science"), "years": "1"}
    write_signups(tmp_path / "late.xlsx", [*peers, late])
    pipeline.match([tmp_path / "late.xlsx"], config=config_of(tmp_path), output=tmp_path / "new.xlsx", peer_circles=4,
                   keep=tmp_path / "peers.xlsx")
    (circle,) = read(tmp_path, "new.xlsx").relationships()
    assert circle.id == "C001" and [m.email[:2] for m in circle.members] == ["p1", "p2", "p3", "p4"]
    assert circle.members[0].role == "facilitator"


def test_a_mentor_an_ending_left_alone_leads_before_a_late_mentor_who_scores_higher(cohort: Path) -> None:
    """C002 ended and A3, A4 left: M2 is left alone. B1 and B2 make one circle: M2 leads it, not
    M3 (who shares their industry, format and interests, so scores higher)."""
    pipeline.end(cohort / "circles.xlsx", "C002", reason="left", on=dt.date(2027, 2, 1), config=config_of(cohort))
    late = [person("m3", "Mentor", offers="Data science"), person("b1", "Mentee", goals="Data science"),
            person("b2", "Mentee", goals="Data science")]
    write_signups(cohort / "late.xlsx", [M1, M2, A1, A2, *late])
    match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    assert circles_of(read(cohort, "new.xlsx")) == {"C001": ["m1", "a1", "a2"], "C003": ["m2", "b1", "b2"]}
    write_signups(cohort / "control.xlsx", [M1, M2, A1, A2, *late])
    control = pipeline.match([cohort / "control.xlsx"], config=config_of(cohort), output=cohort / "control-out.xlsx",
                             circles=3)
    assert [c.members[0].email for c in control.result.circles if c.members[1].email == "b1@example.org"] == \
        ["m3@example.org"]


# --------------------------------------------------------------------------- --export-scores with circles


def read_scores(path: Path) -> list[tuple[str, str, float, str]]:
    with path.open(encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "lead_email,member_email,score,kept"
    return [(a.split("@")[0], b.split("@")[0], float(c), d) for a, b, c, d in (line.split(",") for line in lines[1:])]


def test_export_scores_lists_every_lead_and_member_the_solver_may_put_together(cohort: Path) -> None:
    """M1 offers Leadership (A1 and A2 want it), M2 Data science (all four want it)."""
    run = match(cohort, "signups.xlsx", "again.xlsx", export_scores=cohort / "scores.csv")
    rows = read_scores(cohort / "scores.csv")
    assert [(a, b, kept) for a, b, _, kept in rows] == [
        ("m1", "a1", "no"), ("m1", "a2", "no"), ("m2", "a1", "no"), ("m2", "a2", "no"), ("m2", "a3", "no"), ("m2", "a4", "no")]
    score = {(a, b): s for a, b, s, _ in rows}
    for circle in run.result.circles:
        lead, *members = [m.email.split("@")[0] for m in circle.members]
        assert round(sum(score[lead, m] for m in members) / len(members), 2) == circle.score


def test_export_scores_with_keep_lists_kept_circles_first_and_then_only_what_may_join(cohort: Path) -> None:
    """Both mentors' capacity is used by their kept circles: the only new pair is C002's room for B1;
    B2 avoids M2, so is never listed."""
    late = [person("b1", "Mentee", goals="Data science"), person("b2", "Mentee", goals="Data science", avoid="m2@example.org")]
    write_signups(cohort / "late.xlsx", [*FIRST, *late])
    match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx", export_scores=cohort / "scores.csv")
    rows = read_scores(cohort / "scores.csv")
    assert [(a, b, kept) for a, b, _, kept in rows] == [
        ("m1", "a1", "yes"), ("m1", "a2", "yes"), ("m2", "a3", "yes"), ("m2", "a4", "yes"), ("m2", "b1", "no")]


def test_export_scores_and_the_workbook_may_not_be_one_file(cohort: Path) -> None:
    with pytest.raises(MentorError, match="name the same file"):
        match(cohort, "signups.xlsx", "same.xlsx", export_scores=cohort / "same.xlsx")


# --------------------------------------------------------------------------- --objective fair with circles


def fair_brute_force(people, config: Config, size: int, kind: str) -> tuple[int, float | None, float]:
    """(places, lowest member score, total) of the fairest circles, by listing every circle and
    every packing at every floor: the most places, then the highest floor that keeps them, then
    the best total among circles at that floor."""
    weekly = weekly_utc_grid(people, config)
    masks = weekly.masks[weekly.ids]
    matrix = score_matrix(people, config)
    row_of = {int(p): i for i, p in enumerate(matrix.mentees.tolist())}
    col_of = {int(p): j for j, p in enumerate(matrix.mentors.tolist())}
    roles, years = people["role"].tolist(), people["experience"].fillna(-1).tolist()
    if kind == "mentor-led":
        leads = [p for p in range(len(people)) if roles[p] in ("mentor", "both") and people.at[p, "capacity"] > 0]
        joiners = [p for p in range(len(people)) if roles[p] in ("mentee", "both") and people.at[p, "wants"] > 0]
        most = size
    else:
        leads = joiners = [p for p in range(len(people)) if roles[p] in config.circles.peer_roles]
        most = size - 1
    reasons = _pair_reasons(people, config)
    circles = []
    for lead in leads:
        for count in range(config.circles.min_size - 1, most + 1):
            for members in itertools.combinations([j for j in joiners if j != lead], count):
                if kind == "peer" and any((years[m], -m) > (years[lead], -lead) for m in members):
                    continue
                if _circle_ok(people, config, lead, members, kind, masks, reasons):
                    scores = [round(float(matrix.scores[row_of[m], col_of[lead]]) * 100) for m in members]
                    circles.append((lead, frozenset(members), len(members) + (kind == "peer"), sum(scores), min(scores)))
    limit = {lead: int(people.at[lead, "capacity"]) if kind == "mentor-led" else 1 for lead in leads}

    def best(floor: int) -> tuple[int, int]:
        usable = [c for c in circles if c[4] >= floor]

        @functools.cache
        def go(k: int, used: frozenset[int], led: tuple[tuple[int, int], ...]) -> tuple[int, int]:
            if k == len(usable):
                return (0, 0)
            lead, members, places, score, _ = usable[k]
            skip = go(k + 1, used, led)
            counts = dict(led)
            if members & used or lead in used or counts.get(lead, 0) >= limit[lead] or (members & set(counts)):
                return skip
            counts[lead] = counts.get(lead, 0) + 1
            now = used | members | ({lead} if kind == "peer" else frozenset())
            rest = go(k + 1, frozenset(now), tuple(sorted(counts.items())))
            return max(skip, (rest[0] + places, rest[1] + score))

        return go(0, frozenset(), ())

    places, _ = best(-1)
    if not places:
        return 0, None, 0.0
    floors = sorted({c[4] for c in circles})
    floor = max(f for f in floors if best(f)[0] == places)
    return places, floor / 100, best(floor)[1] / 100


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("mentor", "mentee", "mentee", "both")))
def test_fair_circles_equal_the_brute_force(people) -> None:
    config = _config()
    result = match_circles(people, config, size=3, kind="mentor-led", objective="fair")
    places, lowest, total = fair_brute_force(people, config, 3, "mentor-led")
    assert int(result.settings["places"]) == places
    assert result.settings["lowest_score"] == (None if lowest is None else pytest.approx(lowest, abs=0.006))
    assert float(result.settings["total_score"]) == pytest.approx(total, abs=0.011)
    if result.circles:
        assert min(result.settings["lowest_score"], 100) <= min(c.score for c in result.circles)


@hypothesis_settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("both",)))
def test_fair_peer_circles_equal_the_brute_force(people) -> None:
    config = _config()
    result = match_circles(people, config, size=4, kind="peer", objective="fair")
    places, lowest, total = fair_brute_force(people, config, 4, "peer")
    assert (int(result.settings["places"]), result.settings["lowest_score"]) == \
        (places, None if lowest is None else pytest.approx(lowest, abs=0.006))
    assert float(result.settings["total_score"]) == pytest.approx(total, abs=0.011)


def test_fair_raises_the_lowest_member_score_at_the_same_places(cohort: Path) -> None:
    """The real workbook: fair places as many as the default and its lowest member score is at
    least the default's; its Settings sheet and --json say so."""
    plain = match(cohort, "signups.xlsx", "plain.xlsx")
    fair = match(cohort, "signups.xlsx", "fair.xlsx", objective="fair")
    assert fair.as_json()["placed"] == plain.as_json()["placed"]
    assert fair.as_json()["lowest_score"] is not None and "lowest_score" not in plain.as_json()
    rows = dict(openpyxl.load_workbook(cohort / "fair.xlsx")["Settings"].iter_rows(min_row=2, values_only=True))
    assert rows["solver.objective_kind"] == "fair"


def test_fair_reaches_a_floor_held_exactly_by_a_member_score() -> None:
    """Two mentors, two mentees, one each: A-1 and B-2 total more (9000 + 4000), A-2 and B-1 have
    the higher lowest score (4500): fair takes them, its floor exactly 4500."""
    def lead(person: int, row: int, values: list[int]) -> circle_model.Lead:
        return circle_model.Lead(person=person, row=row, limit=1, own=0, members=np.array([1, 2]), rows=np.array([2, 3]),
                                 values=np.array(values, np.int64), goals=np.ones((2, 1), bool), goal_ids=[0],
                                 windows=np.ones((2, 1), bool), window_ids=[0], classes=np.array([1, 2]))

    leads = [lead(10, 0, [9000, 4500]), lead(11, 1, [5000, 4000])]
    model = circle_model.CircleModel(rhs=np.ones(4, np.int64), coef=np.ones(4, np.int64), leads=leads, place=40001,
                                     min_members=1, max_members=1)

    def solve(this: circle_model.CircleModel) -> circle_model.CircleSolution:
        return circle_model.solve_circles(this, max_rounds=10, effort=1.0)

    plain = solve(model)
    assert sorted((c.lead, c.members) for c in plain.columns) == [(0, (1,)), (1, (2,))]
    fair, floor = keep_circles._fairest(model, [x.values for x in leads], model.place, plain, solve)
    assert floor == 4500 and sorted((c.lead, c.members) for c in fair.columns) == [(0, (2,)), (1, (1,))]


def test_someone_rematched_after_ending_two_circles_is_warned_on_their_ended_row(cohort: Path) -> None:
    config = config_of(cohort)
    pipeline.end(cohort / "circles.xlsx", "C001", reason="moved teams", on=dt.date(2027, 2, 1), config=config)
    write_signups(cohort / "late.xlsx", FIRST)
    second = match(cohort, "late.xlsx", "second.xlsx", keep="circles.xlsx")
    (joined,) = [m.email for m in second.result.circles[0].members if m.email.startswith(("a1", "a2"))]
    pipeline.end(cohort / "second.xlsx", "C002", reason="stopped", on=dt.date(2027, 3, 1), config=config)
    last = [person("m3", "Mentor", offers="Leadership, Data science"), person("b1", "Mentee", goals="Data science"),
            person("b2", "Mentee", goals="Data science")]
    twice = next(p for p in FIRST if p["email"] == joined)
    write_signups(cohort / "third.xlsx", [twice, *last])
    run = match(cohort, "third.xlsx", "third-out.xlsx", keep="second.xlsx")
    assert [sorted(c.emails) for c in run.result.circles] == [sorted([joined, "m3@example.org", "b1@example.org",
                                                                      "b2@example.org"])]
    warned = [p for p in run.problems if p.sheet == "Ended"]
    assert [("rematched a second time" in p.problem, p.severity) for p in warned] == [(True, "warning")]
    ended = list(openpyxl.load_workbook(cohort / "third-out.xlsx")["Ended"].iter_rows(values_only=True))
    assert str(ended[warned[0].row - 1][2]).lower() == joined


def test_room_in_a_kept_circle_holds_when_circles_are_priced_not_listed(cohort: Path, monkeypatch) -> None:
    """The same as the first late-signup test with column generation (a large cohort's path):
    the kept circle's room (one) holds in pricing too."""
    monkeypatch.setattr(circle_model, "ENUMERATE_LIMIT", 0)
    late = [person("b1", "Mentee", goals="Data science"), person("b2", "Mentee", goals="Data science")]
    write_signups(cohort / "late.xlsx", [*FIRST, *late])
    match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    circles = circles_of(read(cohort, "new.xlsx"))
    assert circles["C001"] == ["m1", "a1", "a2"] and circles["C002"][:3] == ["m2", "a3", "a4"]
    assert len(circles["C002"]) == 4 and list(circles) == ["C001", "C002"]


@pytest.mark.parametrize("change, row, words", [
    ({"email": "m2@example.org", "capacity": "0"}, 5, "its mentor now takes no mentees (capacity 0)"),
], ids=["capacity-0"])
def test_a_kept_person_who_now_takes_no_part_is_dropped_saying_why(cohort: Path, change, row, words) -> None:
    changed = [{**p, **change} if p["email"] == change["email"] else p for p in FIRST]
    write_signups(cohort / "late.xlsx", changed)
    run = match(cohort, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    errors = [p for p in problems_on(run, cohort) if p.severity == "error"]
    assert [(p.row, words in p.problem) for p in errors] == [(row, True)]

"""Every matching rule at its exact limit, blank answers in every rule, exact availability overlap,
assumed time zones, the scoring curves past their knee, and the fair objective at its boundary."""

from __future__ import annotations

import csv
import dataclasses
import itertools
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from test_match import person

from mentorcli.availability import weekly_utc_grid
from mentorcli.config import Config, Rules, Weights
from mentorcli.match import (
    broken_rules,
    match_people,
    pair_scores,
    prepare_cohort,
    score_matrix,
)
from mentorcli.matching import rules as cohort_rules
from mentorcli.matching.cohort import Cells
from mentorcli.matching.criteria import experience_table
from mentorcli.matching.rules import RULES
from mentorcli.matching.words import PairFacts, duration_text
from mentorcli.model import make_people


def config(weights: dict | None = None, **rules) -> Config:
    cfg = Config()
    cfg.rules = dataclasses.replace(Rules(), **rules)
    if weights is not None:
        cfg.weights = dataclasses.replace(Weights(), **weights)
    return cfg


def allowed_pair(mentee: dict, mentor: dict, cfg: Config | None = None) -> bool:
    people = make_people([person("Mia Mentee", "mentee", **mentee), person("Max Mentor", "mentor", **mentor)])
    return bool(score_matrix(people, cfg or Config()).allowed[0, 0])


def pairs_of(result, people: pd.DataFrame) -> set[tuple[str, str]]:
    names = people["name"].tolist()
    return {(names[a], names[b]) for a, b in zip(result.pairs["mentee"], result.pairs["mentor"])}


# ----------------------------------------------------------------- blank is unknown, in every rule

BLANK_CASES = [({}, {}), ({"x": ""}, {}), ({}, {"x": ""})]


@pytest.mark.parametrize("mentee_blank, mentor_blank", [(True, True), (True, False), (False, True)])
def test_a_blank_language_list_never_makes_the_language_rule_fire(mentee_blank, mentor_blank):
    mentee = {"languages": () if mentee_blank else ("English",)}
    mentor = {"languages": () if mentor_blank else ("Japanese",)}
    assert allowed_pair(mentee, mentor)
    assert not allowed_pair({"languages": ("English",)}, {"languages": ("Japanese",)})


@pytest.mark.parametrize("field", ["organisation", "department"])
@pytest.mark.parametrize("blank_side", ["both", "mentee", "mentor"])
def test_a_blank_organisation_or_department_never_makes_the_team_rule_fire(field, blank_side):
    answers = {"organisation": "Acme", "department": "Sales"}
    mentee, mentor = dict(answers), dict(answers)
    if blank_side in ("both", "mentee"):
        mentee[field] = ""
    if blank_side in ("both", "mentor"):
        mentor[field] = ""
    assert allowed_pair(mentee, mentor, config(forbid_same_team=True))
    assert not allowed_pair(answers, answers, config(forbid_same_team=True))


@pytest.mark.parametrize("blank_side", ["both", "mentee", "mentor"])
def test_a_blank_organisation_never_makes_the_organisation_rule_fire(blank_side):
    cfg = config(forbid_same_organisation=True, forbid_same_team=False)
    mentee = {"organisation": "" if blank_side in ("both", "mentee") else "Acme"}
    mentor = {"organisation": "" if blank_side in ("both", "mentor") else "Acme"}
    assert allowed_pair(mentee, mentor, cfg)
    assert not allowed_pair({"organisation": "Acme"}, {"organisation": "acme "}, cfg)


@pytest.mark.parametrize("blank_side", ["both", "mentee", "mentor"])
def test_a_blank_time_zone_never_makes_the_time_zone_rule_fire(blank_side):
    cfg = config(max_timezone_gap=1)
    mentee = {"timezone": "" if blank_side in ("both", "mentee") else "Asia/Tokyo"}
    mentor = {"timezone": "" if blank_side in ("both", "mentor") else "America/New_York"}
    assert allowed_pair(mentee, mentor, cfg)
    assert not allowed_pair({"timezone": "Asia/Tokyo"}, {"timezone": "America/New_York"}, cfg)


def test_a_mentee_without_choices_is_not_restricted_by_choices_only():
    people = make_people([
        person("Mia Mentee", "mentee"), person("Max Mentor", "mentor"),
        person("Cho Mentee", "mentee", choices=("Someone Else",)), person("Someone Else", "mentor"),
    ])
    assert score_matrix(people, config(choices_only=True)).allowed.tolist() == [[True, True], [False, True]]


def test_blank_formats_are_no_rule_and_not_counted():
    # format is a criterion, not a rule: no shared format never forbids a pair, a blank one is not counted
    assert allowed_pair({"format": ("Video",)}, {"format": ("In person",)})
    people = make_people([person("Mia Mentee", "mentee", goals=("Go",), format=()),
                          person("Max Mentor", "mentor", expertise=("Go",), format=("Video",))])
    assert score_matrix(people, Config()).scores[0, 0] == 100.0


def test_nobody_giving_an_organisation_is_said_in_the_notes():
    people = make_people([person("Mia Mentee", "mentee", department="Sales"),
                          person("Max Mentor", "mentor", department="Sales")])
    result = match_people(people, Config())
    assert len(result.pairs) == 1
    assert any("nobody gave an organisation" in note for note in result.notes)


# ----------------------------------------------------------------- each rule at its exact limit


def test_the_same_department_in_different_organisations_is_allowed():
    assert allowed_pair({"organisation": "Acme", "department": "Sales"}, {"organisation": "Beta", "department": "Sales"})
    assert not allowed_pair({"organisation": "Acme", "department": "Sales"},
                            {"organisation": " ACME", "department": "sales"})
    assert allowed_pair({"organisation": "Acme", "department": "Sales"}, {"organisation": "Acme", "department": "Legal"})


@pytest.mark.parametrize("gap, mentor_zone, allowed", [
    (5.5, "Asia/Kolkata", True),      # UTC+5:30 against London (UTC+0 in January, +1 in July): 5.5 h at most
    (5.25, "Asia/Kolkata", False),    # a quarter of an hour below the gap
    (5.75, "Asia/Kathmandu", True),   # UTC+5:45: exactly the gap
    (5.5, "Asia/Kathmandu", False),   # 15 minutes over
    (0, "Europe/London", True),       # the same zone at gap 0
    (0, "Africa/Abidjan", False),     # UTC+0 all year: an hour apart from London in July
])
def test_time_zone_gap_equal_to_the_limit_is_allowed_and_one_step_over_is_not(gap, mentor_zone, allowed):
    assert allowed_pair({"timezone": "Europe/London"}, {"timezone": mentor_zone}, config(max_timezone_gap=gap)) is allowed


def test_time_zone_gap_at_minute_precision():
    one_minute_over = {"timezone": "UTC+03:01"}
    assert allowed_pair({"timezone": "UTC"}, {"timezone": "UTC+03:00"}, config(max_timezone_gap=3))
    assert not allowed_pair({"timezone": "UTC"}, one_minute_over, config(max_timezone_gap=3))


def test_zones_a_day_apart_are_not_the_same_time_zone():
    people = make_people([
        person("Kim Mentee", "mentee", timezone="Pacific/Kiritimati"),   # UTC+14
        person("Hal Mentor", "mentor", timezone="Pacific/Honolulu"),     # UTC-10: the same clock, a day behind
        person("Ute Mentor", "mentor", timezone="UTC+14:00"),
    ])
    assert score_matrix(people, config(max_timezone_gap=3)).allowed.tolist() == [[False, True]]
    assert score_matrix(people, config(max_timezone_gap=24)).allowed.tolist() == [[True, True]]
    assert score_matrix(people, config(max_timezone_gap=23.75)).allowed.tolist() == [[False, True]]
    cohort = prepare_cohort(people, Config())
    facts = PairFacts.of(cohort, np.array([0, 0]), np.array([1, 2]))
    assert facts.hours.tolist() == [24.0, 0.0]
    # without availability the closeness criterion: a day apart is as far as it gets
    scores = score_matrix(people, Config()).scores
    assert scores[0, 0] == 0.0 and scores[0, 1] == 100.0
    result = match_people(people.iloc[:2], Config())
    assert "same time zone" not in result.pairs["why"].iloc[0]


def test_a_language_list_with_one_shared_language_is_enough():
    assert allowed_pair({"languages": ("English", "French")}, {"languages": ("german", "FRENCH")})


# ----------------------------------------------------------------- availability, exact to the minute


def _availability_people(*rows: tuple[tuple[str, ...], str]) -> pd.DataFrame:
    return make_people([person(f"P{k} Person", "mentor" if k else "mentee", availability=answers, timezone=zone)
                        for k, (answers, zone) in enumerate(rows)])


def test_weekday_mornings_are_ten_hours_a_week_not_fifteen():
    people = _availability_people((("Weekday mornings",), "Europe/London"), (("Weekday mornings",), "Europe/London"))
    grid = weekly_utc_grid(people, Config())
    assert grid.minutes().tolist() == [600, 600]
    cohort = prepare_cohort(people, Config())
    assert PairFacts.of(cohort, np.array([0]), np.array([1])).overlap_minutes.tolist() == [600]
    why = match_people(people, Config()).pairs["why"].iloc[0]
    assert "10 h a week both available" in why


def test_half_hours_and_odd_offsets_are_counted_to_the_minute():
    # Kathmandu is UTC+5:45; Kolkata UTC+5:30: "Mon 18:00-19:00" in each overlaps 45 minutes
    people = _availability_people((("Mon 18:00-19:00",), "Asia/Kathmandu"), (("Mon 18:00-19:00",), "Asia/Kolkata"),
                                  (("Mon 18:00-18:20",), "Asia/Kathmandu"))
    grid = weekly_utc_grid(people, Config())
    assert grid.slot == 5
    assert grid.shared_minutes([0, 0, 1], [1, 2, 2]).tolist() == [45, 20, 5]
    why = match_people(people.iloc[:2], Config()).pairs["why"].iloc[0]
    assert "45 min a week both available" in why


def test_windows_off_the_five_minute_grid_are_rounded_inward_never_overstated():
    people = _availability_people((("Tue 09:07-10:58",), "UTC"), (("Tue 09:00-11:00",), "UTC"))
    grid = weekly_utc_grid(people, Config())
    assert grid.slot == 5
    assert grid.minutes().tolist() == [105, 120]  # 09:10-10:55
    assert grid.shared_minutes([0], [1]).tolist() == [105]  # true overlap 111 minutes: never more


def test_a_window_across_the_end_of_the_week_wraps_around():
    # Sunday 18:00-21:00 in New York (UTC-5 in January) is Sunday 23:00 to Monday 02:00 UTC
    people = _availability_people((("Sun 18:00-21:00",), "America/New_York"), (("Mon 00:00-01:00",), "UTC"),
                                  (("Sun 23:30-24:00",), "UTC"), (("Mon 00:00-02:00",), "Asia/Tokyo"))
    grid = weekly_utc_grid(people, Config())
    assert grid.minutes().tolist() == [180, 60, 30, 120]
    assert grid.shared_minutes([0, 0, 0], [1, 2, 3]).tolist() == [60, 30, 0]  # Tokyo's is Sunday 15-17 UTC


def test_availability_criterion_is_shared_time_over_the_smaller_week():
    people = _availability_people((("Weekday mornings",), "Europe/London"),
                                  (("Mon-Fri 08:30-09:30",), "Europe/London"))
    cfg = config(weights={"topics": 0, "industry": 0, "experience": 0, "format": 0, "interests": 0})
    # 5 h shared of the mentor's 5 h: 1.0; the hour view counted 10 of 15 h (0.67) before
    assert score_matrix(people, cfg).scores[0, 0] == 100.0
    people = _availability_people((("Weekday mornings",), "Europe/London"),
                                  (("Mon-Fri 09:00-12:00",), "Europe/London"))
    assert score_matrix(people, cfg).scores[0, 0] == pytest.approx(100 * 150 / 600)


@pytest.mark.parametrize("minutes, text", [(600, "10 h"), (90, "1 h 30 min"), (45, "45 min"), (60, "1 h")])
def test_durations_read_exactly(minutes, text):
    assert duration_text(minutes) == text


# ----------------------------------------------------------------- a time zone the tool assumed


def test_a_blank_time_zone_is_placed_in_the_most_common_one_and_flagged():
    people = _availability_people((("Weekday evenings",), ""), (("Weekday evenings",), "Asia/Tokyo"),
                                  (("Weekday evenings",), "Asia/Tokyo"), ((), ""))
    cohort = prepare_cohort(people, Config())
    assert cohort.timezone_assumed.tolist() == [True, False, False, False]  # no availability: nothing assumed
    assert cohort.weekly.assumed_zone == "Asia/Tokyo"
    assert cohort.weekly.shared_minutes([0], [1]).tolist() == [15 * 60]
    result = match_people(people, Config())
    assert [(p.row, p.column, p.severity) for p in result.problems] == [(None, "timezone", "warning")]
    assert "Asia/Tokyo" in result.problems[0].problem


def test_nobody_with_a_time_zone_is_nothing_assumed_person_by_person():
    people = _availability_people((("Weekday evenings",), ""), (("Weekday evenings",), ""))
    assert not prepare_cohort(people, Config()).timezone_assumed.any()
    assert match_people(people, Config()).problems == []


def test_the_assumed_time_zone_is_a_warning_on_the_signup_row_of_the_problems_sheet(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = [["Name", "Email Address", "Role", "Goals", "Expertise", "Languages", "Time Zone", "Availability"],
            ["Ann Mentee", "ann@example.org", "Mentee", "Sales", "", "English", "", "Weekday evenings"],
            ["Bob Mentor", "bob@example.org", "Mentor", "", "Sales", "English", "Europe/Paris", "Weekday evenings"],
            ["Cy Mentor", "cy@example.org", "Mentor", "", "Sales", "English", "Europe/Paris", "Weekday evenings"]]
    with open(tmp_path / "signups.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    result = cli("match", "signups.csv")
    assert result.exit_code == 0, result.stderr
    sheet = openpyxl.load_workbook(tmp_path / "pairs.xlsx", read_only=True)["Problems"]
    found = [r for r in sheet.iter_rows(values_only=True) if r[3] == "timezone"]
    assert len(found) == 1
    file, _, row, _, severity, text = found[0][:6]
    assert (Path(str(file)).name, row, severity) == ("signups.csv", 2, "warning")
    assert "Europe/Paris" in text


# ----------------------------------------------------------------- scoring curves past their knee


@pytest.mark.parametrize("ideal", [5.0, 2.0, 10.0])
def test_experience_past_the_ideal_gap_fades_to_a_half_and_stays_there(ideal):
    table = experience_table(ideal)
    gap = lambda years: float(table[0, int(years * 2)])  # a mentee with no years, a mentor with ``years``
    scale = max(ideal, 1.0)
    assert gap(ideal) == pytest.approx(1.0)
    assert gap(ideal + 0.5) < 1.0
    past = [gap(ideal + k / 2) for k in range(int(4 * scale) + 2)]
    assert all(a >= b for a, b in itertools.pairwise(past))  # never rises again past the knee
    assert gap(ideal + 2 * scale) == pytest.approx(0.5)  # the floor is reached at ideal + 2 x ideal
    assert gap(ideal + 2 * scale - 0.5) > 0.5
    assert gap(60) == pytest.approx(0.5)
    before = [gap(k / 2) for k in range(int(ideal * 2) + 1)]
    assert all(a < b for a, b in itertools.pairwise(before))  # rises up to the knee
    assert gap(0) == pytest.approx(0.5)
    assert table[int(ideal * 2), 0] == 0.0  # the mentor has fewer years


def test_experience_with_no_ideal_gap_is_best_at_equal_level():
    table = experience_table(0.0)
    assert table[10, 10] == pytest.approx(1.0)
    assert table[10, 12] < 1.0 and table[10, 9] == 0.0


def test_availability_closeness_by_time_zone_reaches_zero_at_twelve_hours_and_stays_there():
    people = make_people([
        person("Mia Mentee", "mentee", timezone="UTC"),
        person("A Mentor", "mentor", timezone="UTC+11:00"),
        person("B Mentor", "mentor", timezone="UTC+12:00"),
        person("C Mentor", "mentor", timezone="UTC+13:00"),
    ])
    scores = score_matrix(people, Config()).scores[0]
    assert scores.tolist() == pytest.approx([100 / 12, 0.0, 0.0], abs=0.01)


# ----------------------------------------------------------------- the fair objective at its boundary


def _topics_only() -> Config:
    return config(weights={"industry": 0, "experience": 0, "availability": 0, "format": 0, "interests": 0})


def test_fair_never_gives_up_a_place_to_raise_the_lowest_score():
    people = make_people([
        person("Ann Mentee", "mentee", goals=("A", "B", "C", "D", "E")),
        person("Ben Mentee", "mentee", goals=("A",), languages=("English", "Japanese")),
        person("Cal Mentor", "mentor", expertise=("A",), capacity=1),
        person("Dee Mentor", "mentor", expertise=("X",), capacity=1, languages=("Japanese",)),
    ])
    # Ben-Cal alone would score 100; two places need Ann-Cal (20) and Ben-Dee (0)
    fair = match_people(people, _topics_only(), objective="fair")
    assert pairs_of(fair, people) == {("Ann Mentee", "Cal Mentor"), ("Ben Mentee", "Dee Mentor")}
    assert fair.min_score == 0.0 and fair.settings["fair_floor"] == 0.0


def test_fair_breaks_a_tie_on_the_lowest_score_by_the_total():
    people = make_people([
        person("Ann Mentee", "mentee", goals=("A", "B")),
        person("Ben Mentee", "mentee", goals=("C",)),
        person("Cal Mentor", "mentor", expertise=("A", "C"), capacity=1),
        person("Dee Mentor", "mentor", expertise=("B", "C"), capacity=1),
    ])
    # Ann-Cal 50 + Ben-Dee 100 or Ann-Dee 50 + Ben-Cal 100: the same floor and total; with Dee offering
    # only B the second wins on the total alone
    people.at[3, "expertise"] = ("B",)
    fair = match_people(people, _topics_only(), objective="fair")
    assert pairs_of(fair, people) == {("Ann Mentee", "Dee Mentor"), ("Ben Mentee", "Cal Mentor")}
    assert fair.min_score == 50.0 and fair.total_score == 150.0


def test_fair_with_every_pairing_on_the_same_floor_and_total():
    people = make_people([
        person("Ann Mentee", "mentee", goals=("A", "B")),
        person("Ben Mentee", "mentee", goals=("A", "B")),
        person("Cal Mentor", "mentor", expertise=("A", "B"), capacity=1),
        person("Dee Mentor", "mentor", expertise=("A",), capacity=1),
    ])
    for objective in ("fair", "places"):
        result = match_people(people, _topics_only(), objective=objective)
        assert len(result.pairs) == 2 and result.min_score == 50.0 and result.total_score == 150.0


def test_fair_raises_the_floor_against_a_higher_total_and_stops_exactly_at_it():
    people = make_people([
        person("Ann Mentee", "mentee", goals=("A", "B", "C", "D", "E")),
        person("Ben Mentee", "mentee", goals=("A", "C", "D", "X", "Y")),
        person("Cal Mentor", "mentor", expertise=("A", "B", "C", "D", "E"), capacity=1),
        person("Dee Mentor", "mentor", expertise=("A", "B"), capacity=1),
    ])
    # {Ann-Cal 100, Ben-Dee 20}: total 120, lowest 20; {Ann-Dee 40, Ben-Cal 60}: total 100, lowest 40
    places = match_people(people, _topics_only())
    fair = match_people(people, _topics_only(), objective="fair")
    assert places.total_score == 120.0 and places.min_score == 20.0
    assert pairs_of(fair, people) == {("Ann Mentee", "Dee Mentor"), ("Ben Mentee", "Cal Mentor")}
    assert fair.total_score == 100.0 and fair.min_score == 40.0 and fair.settings["fair_floor"] == 40.0


# ----------------------------------------------------------------- each rule is what keeps a better pair out

RULE_CASES = {
    # rule: (mentee's extra answers, the better mentor's extra answers, config rules, avoid_pairs)
    "self": None,
    "language": ({}, {"languages": ("Japanese",)}, {}, ()),
    "team": ({"organisation": "Acme", "department": "Sales"}, {"organisation": "acme", "department": "SALES"}, {}, ()),
    "organisation": ({"organisation": "Acme"}, {"organisation": "Acme", "department": "Legal"},
                     {"forbid_same_organisation": True}, ()),
    "avoid": ({"avoid": "Please not Bea Better"}, {}, {}, ()),
    "earlier": ({}, {}, {}, (("mia.mentee@example.org", "bea.better@example.org"),)),
    "timezone": ({"timezone": "Europe/London"}, {"timezone": "Asia/Tokyo"}, {"max_timezone_gap": 3}, ()),
    "choices": ({"choices": ("Oli Other",)}, {}, {"choices_only": True}, ()),
}


def _rule_case(rule: str) -> tuple[pd.DataFrame, Config, tuple, str]:
    """A cohort where ``rule`` alone keeps the mentee from the better mentor; and who that is."""
    if rule == "self":
        people = make_people([
            person("Bea Better", "both", goals=("A", "B"), expertise=("A", "B"), capacity=1, wants=1),
            person("Oli Other", "mentor", expertise=("A",), capacity=1),
        ])
        return people, _topics_only(), (), "Bea Better"
    mentee_extra, better_extra, rules, avoid_pairs = RULE_CASES[rule]
    people = make_people([
        person("Mia Mentee", "mentee", goals=("A", "B"), **mentee_extra),
        person("Bea Better", "mentor", expertise=("A", "B"), capacity=1, **better_extra),
        person("Oli Other", "mentor", expertise=("A",), capacity=1, timezone="Europe/London"),
    ])
    return people, dataclasses.replace(_topics_only(), rules=dataclasses.replace(Rules(), **rules)), avoid_pairs, \
        "Mia Mentee"


@pytest.mark.parametrize("rule", [rule.name for rule in RULES])
def test_each_rule_alone_keeps_out_a_better_pair(rule):
    assert set(RULE_CASES) == {rule.name for rule in RULES}
    people, cfg, avoid_pairs, mentee = _rule_case(rule)
    # without the rule, the better mentor scores higher
    cohort = prepare_cohort(people, cfg)
    mentors = people["name"].iloc[cohort.mentors.person].tolist()
    scores = pair_scores(cohort, np.zeros(len(mentors), np.int64), np.arange(len(mentors)))
    assert scores[mentors.index("Bea Better")] > scores[mentors.index("Oli Other")]
    for objective in ("places", "fair"):
        result = match_people(people, cfg, avoid_pairs=avoid_pairs, objective=objective)
        assert pairs_of(result, people) == {(mentee, "Oli Other")}, (rule, objective)
        assert not any(broken_rules(people, cfg, result.pairs["mentee"], result.pairs["mentor"], avoid_pairs=avoid_pairs))
    broken = broken_rules(people, cfg, [0], [1], avoid_pairs=avoid_pairs)[0] if rule != "self" else \
        broken_rules(people, cfg, [0], [0])[0]
    assert broken, rule


def test_the_why_says_whose_time_zone_was_assumed(cli, tmp_path, monkeypatch):
    """The Why of a pair whose shared hours rest on an assumed time zone says so, naming whose and which
    zone; a pair where both gave a zone says nothing of it."""
    monkeypatch.chdir(tmp_path)
    rows = [["Name", "Email Address", "Role", "Goals", "Expertise", "Languages", "Time Zone", "Availability"],
            ["Ann Mentee", "ann@example.org", "Mentee", "Sales", "", "English", "", "Weekday evenings"],
            ["Dee Mentee", "dee@example.org", "Mentee", "Law", "", "English", "Europe/Paris", "Weekday evenings"],
            ["Bob Mentor", "bob@example.org", "Mentor", "", "Sales", "English", "Europe/Paris", "Weekday evenings"],
            ["Cy Mentor", "cy@example.org", "Mentor", "", "Law", "English", "Europe/Paris", "Weekday evenings"]]
    with open(tmp_path / "signups.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    assert cli("match", "signups.csv").exit_code == 0
    pairs = openpyxl.load_workbook(tmp_path / "pairs.xlsx", read_only=True)["Pairs"]
    header, *body = list(pairs.iter_rows(values_only=True))
    why = {row[header.index("Mentee Email")]: row[header.index("Why")] for row in body}
    assert "time zone assumed for the mentee (Europe/Paris" in why["ann@example.org"]
    assert "assumed" not in why["dee@example.org"]


# ----------------------------------------------------------------- every declared rule, at its exact limit

LIMIT_CASES = {
    # rule: (config rules, mentee's answers, answers of a mentor it forbids, of one it allows at the limit, avoid_pairs)
    "self": ({}, {}, {}, {}, ()),  # the "both" mentee with themselves / with another mentor
    "language": ({}, {"languages": ("English", "French")}, {"languages": ("Japanese",)},
                 {"languages": ("Japanese", " french")}, ()),  # exactly one language shared
    "team": ({}, {"organisation": "Acme", "department": "Sales"}, {"organisation": "ACME ", "department": "sales"},
             {"organisation": "Acme", "department": "Legal"}, ()),  # same organisation, another department
    "organisation": ({"forbid_same_organisation": True}, {"organisation": "Acme"},
                     {"organisation": "acme", "department": "Legal"}, {"organisation": "Acme Ltd"}, ()),
    "avoid": ({}, {"avoid": "Please not Bea Better"}, {}, {}, ()),
    "earlier": ({}, {}, {}, {}, (("bea.better@example.org", "mia.mentee@example.org"),)),  # either direction
    "timezone": ({"max_timezone_gap": 5.5}, {"timezone": "Europe/London"}, {"timezone": "Asia/Kathmandu"},
                 {"timezone": "Asia/Kolkata"}, ()),  # 5 h 45 min apart / exactly 5 h 30 min
    "choices": ({"choices_only": True}, {"choices": ("Oli Other",)}, {}, {}, ()),
}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_each_rule_forbids_at_its_limit(rule):
    """Walks the declared rules: each forbids one pair and allows the pair at its exact limit, the
    same through the solver's mask (``score_matrix``), the re-check of given pairs (``broken_rules``)
    and the rule's own ``mark`` on a grid and on pairs; switched off, it forbids nothing."""
    assert set(LIMIT_CASES) == {r.name for r in RULES}, "a new rule needs its case here"
    settings, mentee, forbidden_mentor, allowed_mentor, avoid_pairs = LIMIT_CASES[rule.name]
    cfg = config(**settings)
    mentee_role = "both" if rule.name == "self" else "mentee"
    people = make_people([
        person("Mia Mentee", mentee_role, goals=("A",), expertise=("A",), capacity=1, wants=1, **mentee),
        person("Bea Better", "mentor", expertise=("A",), capacity=1, **forbidden_mentor),
        person("Oli Other", "mentor", expertise=("A",), capacity=1, **allowed_mentor),
    ])
    forbidden_pair, allowed_pair_ = ((0, 0), (0, 2)) if rule.name == "self" else ((0, 1), (0, 2))
    found = broken_rules(people, cfg, [forbidden_pair[0], allowed_pair_[0]], [forbidden_pair[1], allowed_pair_[1]],
                         avoid_pairs=avoid_pairs)
    assert found == [[rule.reason], []]
    cohort = prepare_cohort(people, cfg, avoid_pairs=avoid_pairs)
    row = 0
    col = {int(p): c for c, p in enumerate(cohort.mentors.person)}
    cols = np.array([col[forbidden_pair[1]], col[allowed_pair_[1]]])
    grid = cohort_rules.broken(cohort, Cells(np.array([row]), cols, True))[rule.name][0]
    pairs = cohort_rules.broken(cohort, Cells.pairs(np.array([row, row]), cols))[rule.name]
    assert grid.tolist() == pairs.tolist() == [True, False]
    assert score_matrix(people, cfg, avoid_pairs=avoid_pairs).allowed[row, cols].tolist() == [False, True]
    assert rule.verb(1, "mentor", cfg) and rule.verb(2, "mentee", cfg)  # its words fill in from mentor.toml
    if rule.switch is not None:
        off = config(**{**settings, rule.switch: False})
        assert broken_rules(people, off, [forbidden_pair[0]], [forbidden_pair[1]], avoid_pairs=avoid_pairs) == [[]]

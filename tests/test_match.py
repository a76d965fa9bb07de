"""Scoring, rules, requests, the exact pairing and its explanations, on planted cohorts."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import math
import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorcli.config import Config, MatchSettings, Rules, Weights
from mentorcli.errors import MentorError
from mentorcli.match import (
    broken_rules,
    export_scores,
    match_people,
    pair_ids,
    prepare_cohort,
    score_matrix,
)
from mentorcli.matching import criteria, scale
from mentorcli.matching.cohort import Cells
from mentorcli.matching.criteria import experience_table, pair_scores
from mentorcli.matching.grid import score_rows
from mentorcli.matching.scale import zero_overlap_bound
from mentorcli.model import make_people
from mentorcli.names import NameIndex
from mentorcli.solve import Assignment, solve_assignment


def person(name: str, role: str, **fields) -> dict:
    """A participant: email from the name; English speaker unless told otherwise."""
    email = fields.pop("email", name.lower().replace(" ", ".") + "@example.org")
    fields.setdefault("languages", ("English",))
    return {"name": name, "email": email, "role": role, **fields}


def config(**rules) -> Config:
    cfg = Config()
    cfg.rules = dataclasses.replace(Rules(), **rules)
    return cfg


def pairs_of(result, people: pd.DataFrame) -> set[tuple[str, str]]:
    names = people["name"].tolist()
    return {(names[a], names[b]) for a, b in zip(result.pairs["mentee"], result.pairs["mentor"])}


def reason_of(result, people: pd.DataFrame, name: str, role: str) -> str:
    index = people.index[people["name"] == name][0]
    rows = result.unmatched[(result.unmatched["person"] == index) & (result.unmatched["role"] == role)]
    assert len(rows) == 1, result.unmatched
    return rows["reason"].iloc[0]


# ----------------------------------------------------------------- scores


def test_score_is_weighted_mean_of_counted_criteria():
    people = make_people([
        person("Mia Mentee", "mentee", goals=("Data science", "Leadership"), industry="Finance", experience=2,
               timezone="Europe/London", format=("Video",), interests=("Hiking",)),
        person("Max Mentor", "mentor", expertise=("data  SCIENCE",), industry="finance", experience=7,
               timezone="Europe/London", format=("Phone",), interests=("hiking", "chess")),
    ])
    scores = score_matrix(people, Config())
    # topics 1/2 (40), industry 1 (10), experience gap 5 = ideal -> 1 (10), same zone -> 1 (20),
    # format 0 (10), interests Jaccard 1/2 (10): (20 + 10 + 10 + 20 + 0 + 5) / 100
    assert scores.scores[0, 0] == pytest.approx(65.0)


def test_blank_criteria_do_not_count_and_nothing_to_compare_is_neutral():
    people = make_people([
        person("Ann Blank", "mentee", goals=("Leadership",)),
        person("Ben Blank", "mentor", expertise=("Leadership",)),
        person("Cat Empty", "mentee"),
    ])
    result = match_people(people, Config())
    scores = score_matrix(people, Config())
    assert scores.scores[0, 0] == pytest.approx(100.0)  # only topics counted, and it is a full match
    assert scores.scores[1, 0] == pytest.approx(50.0)  # nothing to compare: neutral
    pair = result.pairs.iloc[0]
    assert math.isnan(pair["c_industry"]) and pair["c_topics"] == 1.0


def test_experience_criterion_shape():
    table = experience_table(5.0)
    at = lambda mentee, mentor: table[int(mentee * 2), int(mentor * 2)]
    assert at(5, 10) == pytest.approx(1.0)
    assert at(5, 5) == pytest.approx(0.5)
    assert at(10, 5) == 0.0
    assert at(5, 7.5) == pytest.approx(0.75)
    assert 0.5 <= at(0, 40) < 1.0
    assert table[-1].max() == 0 and table[:, -1].max() == 0


def test_time_zones_without_availability_count_by_closeness():
    people = make_people([
        person("Tia Mentee", "mentee", timezone="America/New_York"),
        person("Ray Near", "mentor", timezone="America/Chicago"),
        person("Sol Far", "mentor", timezone="Asia/Tokyo"),
    ])
    scores = score_matrix(people, Config()).scores
    assert scores[0, 0] == pytest.approx(100 * (1 - 1 / 12), abs=0.01)
    assert scores[0, 1] < scores[0, 0]


# ----------------------------------------------------------------- rules


def _rule_cohort(**extra) -> pd.DataFrame:
    return make_people([
        person("Lee Mentee", "mentee", goals=("Sales",), organisation="Acme", department="Sales", timezone="Europe/London",
               **extra),
        person("Good Match", "mentor", expertise=("Sales",), organisation="Other", timezone="Europe/Paris"),
        person("Same Team", "mentor", expertise=("Sales",), organisation="acme", department="sales",
               timezone="Europe/London"),
        person("Far Away", "mentor", expertise=("Sales",), timezone="Pacific/Auckland"),
        person("No Common", "mentor", expertise=("Sales",), languages=("Japanese",), timezone="Europe/London"),
        person("Same Org", "mentor", expertise=("Sales",), organisation="ACME", department="Legal", timezone="Europe/London"),
    ])


def test_each_rule_removes_its_pairs():
    people = _rule_cohort()
    scores = score_matrix(people, config(max_timezone_gap=6, forbid_same_organisation=True))
    allowed = dict(zip(people["name"].iloc[scores.mentors], scores.allowed[0]))
    assert allowed == {"Good Match": True, "Same Team": False, "Far Away": False, "No Common": False, "Same Org": False}
    relaxed = score_matrix(people, config(forbid_same_team=False, require_shared_language=False))
    assert relaxed.allowed[0].all()


def test_a_blank_department_or_organisation_is_never_the_same_team():
    people = make_people([
        person("Mo Mentee", "mentee", organisation="Acme", department=""),
        person("Ned Mentor", "mentor", organisation="Acme", department=""),
        person("Ola Mentor", "mentor", organisation="", department="Sales"),
        person("Pam Mentee", "mentee", organisation="", department="Sales"),
    ])
    # a blank answer is unknown: it never makes the rule fire
    assert score_matrix(people, Config()).allowed.tolist() == [[True, True], [True, True]]


def test_unmatched_mentee_gets_counts_of_the_rules_that_removed_every_mentor():
    people = _rule_cohort()
    people = people[people["name"] != "Good Match"].reset_index(drop=True)
    result = match_people(people, config(max_timezone_gap=6, forbid_same_organisation=True))
    # the broadest rule first, the binding one (that removed the last mentor) last
    assert reason_of(result, people, "Lee Mentee", "mentee") == (
        "no allowed mentor: 2 of the 4 mentors are in the same organisation; of the other 2, 1 shares no language; "
        "the remaining one is more than 6 h apart")
    assert reason_of(result, people, "Far Away", "mentor") == "no allowed mentee: the only mentee is more than 6 h apart"


def test_avoid_names_and_emails_in_free_text_either_side():
    people = make_people([
        person("Ana Maria Silva", "mentee", goals=("Design",), avoid="please not with Bob Stone, thanks"),
        person("Bob Stone", "mentor", expertise=("Design",)),
        person("Cleo West", "mentor", expertise=("Design",), avoid="Not CARLA@EXAMPLE.ORG"),
        person("Carla Dean", "mentee", goals=("Design",), email="carla@example.org"),
        person("Dan Frey", "mentor", expertise=("Design",)),
    ])
    scores = score_matrix(people, Config())
    names = people["name"].tolist()
    allowed = {(names[a], names[b]): scores.allowed[i, j]
               for i, a in enumerate(scores.mentees) for j, b in enumerate(scores.mentors)}
    assert not allowed[("Ana Maria Silva", "Bob Stone")]
    assert not allowed[("Carla Dean", "Cleo West")]
    assert allowed[("Ana Maria Silva", "Cleo West")] and allowed[("Carla Dean", "Bob Stone")]
    assert broken_rules(people, Config(), [0], [1]) == [["named in an avoid list"]]


def test_earlier_pairs_are_avoided_in_both_directions():
    people = make_people([
        person("Eve Both", "both", goals=("Law",), expertise=("Law",)),
        person("Fay Both", "both", goals=("Law",), expertise=("Law",)),
        person("Gus Mentor", "mentor", expertise=("Law",)),
    ])
    result = match_people(people, Config(), avoid_pairs=[("fay.both@example.org", "EVE.BOTH@example.org")])
    assert pairs_of(result, people) == {("Eve Both", "Gus Mentor"), ("Fay Both", "Gus Mentor")}


def test_name_index_finds_full_names_and_emails_once():
    people = make_people([person("Ana Maria Silva", "mentee"), person("Ana Maria", "mentor"),
                          person("Ana", "mentor"), person("Ana", "mentee", email="ana2@example.org")])
    index = NameIndex.build(people)
    assert index.find("with ana maria silva please") == [0]
    assert index.find("Ana Maria or ana2@example.org") == [1, 3]  # in order of mention
    assert index.find("Ana") == []  # a bare first name shared by two people names nobody
    assert index.resolve("ANA MARIA") == 1


# ----------------------------------------------------------------- requests and choices


def _request_cohort(**fields) -> pd.DataFrame:
    return make_people([
        person("Hal Mentee", "mentee", goals=("Python",), **fields),
        person("Ivy Mentee", "mentee", goals=("Python",)),
        person("Jon Expert", "mentor", expertise=("Python",), capacity=1),
        person("Kim Other", "mentor", expertise=("Cooking",), capacity=1),
    ])


def test_a_request_is_honoured_against_a_better_total():
    people = _request_cohort(request="I would like Kim Other please")
    result = match_people(people, Config())
    assert pairs_of(result, people) == {("Hal Mentee", "Kim Other"), ("Ivy Mentee", "Jon Expert")}
    row = result.pairs[result.pairs["mentee"] == 0].iloc[0]
    assert bool(row["requested"]) and row["why"].startswith("Requested by the mentee")
    assert row["score"] < 50  # the reported score stays the plain 0-100 score


def test_a_mentor_request_counts_too():
    people = _request_cohort()
    people.loc[3, "request"] = "kim would love to mentor hal.mentee@example.org"
    result = match_people(people, Config())
    assert ("Hal Mentee", "Kim Other") in pairs_of(result, people)
    assert "requested by the mentor" in result.pairs.set_index("mentee").loc[0, "why"].lower()


def test_a_request_never_breaks_a_rule():
    people = _request_cohort(request="Kim Other")
    people.at[3, "languages"] = ("German",)
    result = match_people(people, Config())
    assert ("Hal Mentee", "Kim Other") not in pairs_of(result, people)


def test_ranked_choices_first_choice_wins_and_choices_only_restricts():
    people = make_people([
        person("Lia Mentee", "mentee", goals=("Art",), choices=("Pat Second", "Quinn Third")),
        person("Ola Mentee", "mentee", goals=("Art",), choices=("Pat Second",)),
        person("Nia Best", "mentor", expertise=("Art",), capacity=2),
        person("Pat Second", "mentor", expertise=("Cooking",), capacity=1),
        person("Quinn Third", "mentor", expertise=("Cooking",), capacity=1),
    ])
    result = match_people(people, Config())
    # both chose Pat first; one of them gets Pat, Lia (who has a 2nd choice) gets Quinn
    assert pairs_of(result, people) == {("Ola Mentee", "Pat Second"), ("Lia Mentee", "Quinn Third")}
    why = result.pairs.set_index("mentee").loc[0, "why"]
    assert why.startswith("The mentee's 2nd choice")
    people.at[1, "choices"] = ()
    only = match_people(people, config(choices_only=True))
    assert pairs_of(only, people) == {("Lia Mentee", "Pat Second"), ("Ola Mentee", "Nia Best")}
    nobody = make_people([person("Sam Mentee", "mentee", choices=("Nobody Here",)), person("Tom Mentor", "mentor")])
    lonely = match_people(nobody, config(choices_only=True))
    assert reason_of(lonely, nobody, "Sam Mentee", "mentee") == (
        "no allowed mentor: the only mentor is not among their ranked choices; 1st choice: not found among the mentors")
    assert any("name nobody" in note for note in lonely.notes)


# ----------------------------------------------------------------- both, wants, capacity


def test_both_is_never_paired_with_themselves_but_can_mentor_and_be_mentored():
    people = make_people([
        person("Uma Both", "both", goals=("Go",), expertise=("Rust",), capacity=1),
        person("Vic Both", "both", goals=("Rust",), expertise=("Go",), capacity=1),
    ])
    result = match_people(people, Config())
    assert pairs_of(result, people) == {("Uma Both", "Vic Both"), ("Vic Both", "Uma Both")}
    solo = make_people([person("Wes Both", "both", goals=("Go",), expertise=("Go",))])
    alone = match_people(solo, Config())
    assert alone.pairs.empty
    assert reason_of(alone, solo, "Wes Both", "mentee") == "no allowed mentor"


def test_wants_two_gets_two_different_mentors():
    people = make_people([
        person("Xena Mentee", "mentee", goals=("ML",), wants=2),
        person("Yuri Star", "mentor", expertise=("ML",), capacity=3),
        person("Zed Weak", "mentor", expertise=("Cooking",), capacity=1),
    ])
    result = match_people(people, Config())
    assert pairs_of(result, people) == {("Xena Mentee", "Yuri Star"), ("Xena Mentee", "Zed Weak")}
    assert result.mentors.set_index("person").loc[1, "assigned"] == 1


def test_scarce_capacity_reason_names_the_goal_and_the_full_mentors():
    people = make_people(
        [person(f"Mentee {c}", "mentee", goals=("Data science",)) for c in "ABCD"]
        + [person("Mentor One", "mentor", expertise=("Data science",), capacity=1),
           person("Mentor Two", "mentor", expertise=("Data science",), capacity=1)]
    )
    result = match_people(people, Config())
    assert len(result.pairs) == 2 and len(result.unmatched) == 2
    assert set(result.unmatched["reason"]) == {
        ("all 2 allowed mentors are full: Mentor One (with Mentee A), Mentor Two (with Mentee B) "
         "(4 mentees want Data science; the 2 mentors who offer it are full)")}
    assert list(result.unmatched["person"]) == [2, 3]  # ties go to the earlier signups


def test_partial_wants_and_idle_mentor_reasons():
    people = make_people([
        person("Ada Mentee", "mentee", goals=("Go",), wants=2),
        person("Bo Mentor", "mentor", expertise=("Go",)),
        person("Cy Mentor", "mentor", expertise=("Go",), languages=("French",)),
        person("Di Mentor", "mentor", expertise=("Go",), capacity=0),
    ])
    result = match_people(people, Config())
    assert reason_of(result, people, "Ada Mentee", "mentee").startswith("1 of 2 wanted mentors found; ")
    assert reason_of(result, people, "Cy Mentor", "mentor") == "no allowed mentee: the only mentee shares no language"
    assert reason_of(result, people, "Di Mentor", "mentor") == "capacity is 0"
    assert result.mentors["assigned"].tolist() == [1, 0, 0]


def test_spare_mentor_reason():
    people = make_people([person("Ed Mentee", "mentee", goals=("Go",)), person("Flo Mentor", "mentor", expertise=("Go",)),
                          person("Gil Mentor", "mentor", expertise=("Java",))])
    result = match_people(people, Config())
    assert reason_of(result, people, "Gil Mentor", "mentor").startswith("spare capacity: no mentee left")


def test_why_names_what_is_shared_and_what_differs():
    people = make_people([
        person("Hana Mentee", "mentee", goals=("Data science", "Leadership", "Writing"), industry="Finance",
               timezone="Europe/London", languages=("Spanish", "English"), interests=("Hiking",), format=("Video",),
               experience=1),
        person("Ivan Mentor", "mentor", expertise=("Leadership", "Data science"), industry="Finance",
               timezone="Europe/Madrid", languages=("Spanish",), interests=("hiking",), format=("Phone",), experience=8),
    ])
    why = match_people(people, Config()).pairs["why"].iloc[0]
    assert why.startswith("Shares 2 of 3 goals: Data science, Leadership; same industry (Finance)")
    for part in ("mentor has 7 years more experience", "1 h apart", "both speak Spanish", "both like hiking",
                 "differs: mentor prefers phone, mentee video"):
        assert part in why


def test_why_text_is_pinned_word_for_word():
    """Repeated goals count once (first spelling shown), long lists are cut, differences in order."""
    people = make_people([
        person("Ola Mentee", "mentee", goals=("Go", " go ", "Rust", "SQL", "Cloud", "Law"), topics=("Sales",),
               industry="Retail", timezone="America/New_York", languages=("French", "English"), format=("Video", "Chat"),
               interests=("Chess", "Go"), experience=9),
        person("Pia Mentor", "mentor", expertise=("rust", "Go", "Cloud", "SQL"), topics=("sales",), industry="Energy",
               timezone="Europe/Berlin", languages=("English", "french"), format=("In person", "Phone", "Letter"),
               interests=("go",), experience=4),
    ])
    assert match_people(people, Config()).pairs["why"].iloc[0] == (
        "Shares 5 of 6 goals: Go, Rust, SQL and 2 more; 6 h apart; both speak French, English; both like go; "
        "differs: industry (mentee in Retail, mentor in Energy), mentor has 5 years less experience, "
        "mentor prefers in person, phone and 1 more, mentee video, chat")


# ----------------------------------------------------------------- keep, ids, objective


def test_kept_pairs_stay_use_capacity_and_new_ids_follow_the_highest():
    people = _request_cohort()
    keep = [("P007", "ivy.mentee@example.org", "jon.expert@example.org")]
    result = match_people(people, Config(), keep=keep)
    assert result.pairs["pair_id"].tolist() == ["P007", "P008"]
    assert result.pairs["kept"].tolist() == [True, False]
    assert pairs_of(result, people) == {("Ivy Mentee", "Jon Expert"), ("Hal Mentee", "Kim Other")}
    assert "kept from the earlier pairing" in result.pairs["why"].iloc[0].lower()


def test_kept_pair_that_breaks_a_rule_or_names_nobody_is_noted():
    people = _request_cohort()
    people.at[2, "languages"] = ("German",)
    keep = [("P001", "hal.mentee@example.org", "jon.expert@example.org"), ("P002", "gone@example.org", "jon.expert@example.org")]
    result = match_people(people, Config(), keep=keep)
    assert "P001" in result.pairs["pair_id"].tolist()
    problems = {(pid, column, severity): text for pid, column, severity, text in result.kept_problems}
    assert "P001 now breaks a rule (share no language)" in problems[("P001", "Mentor Email", "warning")]
    assert "mentee is no longer in the signups" in problems[("P002", "Mentee Email", "error")]
    assert "P002" not in result.pairs["pair_id"].tolist()


def test_pair_id_width_grows():
    assert pair_ids([], 3) == ["P001", "P002", "P003"]
    ids = pair_ids(["P998"], 3)
    assert ids == ["P0999", "P1000", "P1001"]


def test_fair_objective_raises_the_lowest_score_without_losing_places():
    people = make_people([
        person("Ann Mentee", "mentee", goals=("A", "B")),
        person("Ben Mentee", "mentee", goals=("C", "D", "E", "F")),
        person("Cal Mentor", "mentor", expertise=("A", "B", "C", "D"), capacity=1),
        person("Dee Mentor", "mentor", expertise=("A", "E"), capacity=1),
    ])
    places = match_people(people, Config())
    fair = match_people(people, Config(), objective="fair")
    assert len(fair.pairs) == len(places.pairs) == 2
    assert places.min_score == 25.0 and places.total_score == 125.0
    assert fair.min_score == 50.0 and fair.total_score == 100.0 and fair.settings["fair_floor"] == 50.0
    with pytest.raises(MentorError):
        match_people(people, Config(), objective="best")


# ----------------------------------------------------------------- optimality and determinism


def random_cohort(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    topics = ["Go", "Rust", "ML", "Sales", "Law"]
    records = []
    for i in range(n):
        role = ["mentee", "mentor", "both"][rng.integers(3)]
        records.append(person(
            f"P{i} Person", role, goals=tuple(rng.choice(topics, size=rng.integers(0, 3), replace=False)),
            expertise=tuple(rng.choice(topics, size=rng.integers(0, 3), replace=False)),
            industry=str(rng.choice(["", "Tech", "Law"])), department=str(rng.choice(["", "X", "Y"])),
            organisation="Org", experience=float(rng.integers(0, 12)) if rng.random() < 0.8 else None,
            languages=tuple(rng.choice(["English", "French"], size=rng.integers(1, 3), replace=False)),
            interests=tuple(rng.choice(["a", "b", "c"], size=rng.integers(0, 3), replace=False)),
            timezone=str(rng.choice(["", "Europe/London", "Asia/Tokyo", "America/Denver"])),
            capacity=int(rng.integers(0, 3)), wants=int(rng.integers(1, 3)),
        ))
    return make_people(records)


def brute_force(scores: np.ndarray, allowed: np.ndarray, wants: np.ndarray, capacity: np.ndarray) -> tuple[int, int]:
    edges = list(zip(*np.nonzero(allowed)))
    best = (0, 0)
    for size in range(min(len(edges), int(wants.sum()), int(capacity.sum())), 0, -1):
        if size < best[0]:
            break
        for subset in itertools.combinations(edges, size):
            if (np.bincount([i for i, _ in subset], minlength=len(wants)) <= wants).all() and \
                    (np.bincount([j for _, j in subset], minlength=len(capacity)) <= capacity).all():
                best = max(best, (size, int(sum(scores[i, j] for i, j in subset))))
    return best


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_total_equals_an_independent_brute_force(seed):
    people = random_cohort(seed, 5)
    matrix = score_matrix(people, Config())
    scores = np.rint(np.nan_to_num(matrix.scores) * 100).astype(int)
    wants = people["wants"].to_numpy()[matrix.mentees]
    capacity = people["capacity"].to_numpy()[matrix.mentors]
    if matrix.allowed.sum() > 11:
        return
    result = match_people(people, Config())
    expected = brute_force(scores, matrix.allowed, wants, capacity)
    assert (len(result.pairs), result.settings["solver_total"]) == expected
    assert result.settings["optimality_proven"]


def test_candidate_lists_with_pricing_reach_the_dense_optimum():
    people = random_cohort(11, 60)
    dense = match_people(people, Config())
    cfg = Config()
    cfg.match = MatchSettings(dense_limit=0, candidates=2)
    sparse = match_people(people, cfg)
    assert sparse.settings["method"] == "sparse" and dense.settings["method"] == "dense"
    assert len(sparse.pairs) == len(dense.pairs)
    assert sparse.settings["solver_total"] == dense.settings["solver_total"]
    assert sparse.settings["optimality_proven"]
    check = solve_assignment(*_full_problem(people))
    assert check.places == len(dense.pairs) and check.total == dense.settings["solver_total"]


def goal_cohort(seed: int, n: int) -> pd.DataFrame:
    """Everyone names one or two of twelve goals: most pairs share none, so scoring is pruned."""
    rng = np.random.default_rng(seed)
    topics = [f"Topic {k}" for k in range(12)]
    records = []
    for i in range(n):
        role = ["mentee", "mentee", "mentor", "both"][rng.integers(4)]
        records.append(person(
            f"P{i} Person", role, goals=tuple(rng.choice(topics, size=rng.integers(1, 3), replace=False)),
            expertise=tuple(rng.choice(topics, size=rng.integers(1, 3), replace=False)),
            industry=str(rng.choice(["", "Tech", "Law"])), experience=float(rng.integers(0, 20)),
            interests=tuple(rng.choice(["a", "b", "c"], size=rng.integers(0, 3), replace=False)),
            timezone=str(rng.choice(["Europe/London", "Asia/Tokyo", "America/Denver"])),
            capacity=int(rng.integers(0, 3)), wants=int(rng.integers(1, 3)),
        ))
    return make_people(records)


def test_a_pair_sharing_no_goal_never_scores_above_the_pruning_bound():

    people = goal_cohort(3, 80)
    cohort = prepare_cohort(people, Config())
    matrix = score_matrix(people, Config())
    shared = cohort.mentees.topics @ cohort.mentors.topics.T
    both_answered = ((cohort.mentees.counted & 1)[:, None] & (cohort.mentors.counted & 1)[None, :]).astype(bool)
    unshared = both_answered & (shared == 0)
    assert unshared.sum() > 1000
    bound = zero_overlap_bound(cohort)
    assert np.nanmax(np.rint(matrix.scores[unshared] * 100)) <= bound
    # every other criterion perfect: 60 with the default weights, just under the bound
    twins = make_people([
        person("Ann Mentee", "mentee", goals=("Go",), industry="Tech", experience=2.0, interests=("a",),
               format=("Video",), timezone="Europe/London"),
        person("Bob Mentor", "mentor", expertise=("Law",), industry="Tech", experience=7.0, interests=("a",),
               format=("Video",), timezone="Europe/London", capacity=1),
    ])
    assert score_matrix(twins, Config()).scores[0, 0] * 100 == bound - 1 == 6000


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_candidates_scored_per_goal_reach_the_dense_optimum(seed, monkeypatch):

    monkeypatch.setattr(scale, "MENTOR_SIDE_CANDIDATES", 0)  # only pricing can find the rest
    people = goal_cohort(seed, 120)
    cfg = Config()
    cfg.match = MatchSettings(dense_limit=0, candidates=1)
    groups, unscored, bound = scale._score_groups(prepare_cohort(people, cfg))
    assert len(groups) > 1 and unscored.any() and bound is not None  # pruned: most cells never scored
    dense = match_people(people, Config())
    sparse = match_people(people, cfg)
    assert sparse.settings["method"] == "sparse" and dense.settings["method"] == "dense"
    assert (len(sparse.pairs), sparse.settings["solver_total"]) == (len(dense.pairs), dense.settings["solver_total"])
    assert sparse.settings["optimality_proven"] and not sparse.notes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pairs_held_back_from_later_solves_are_priced_back_in(seed, monkeypatch):
    """After the first solve only pairs near their prices are offered again; with no slack at
    all most known pairs are held back, and pricing must bring back every one the optimum needs."""

    monkeypatch.setattr(scale, "SOLVE_SLACK", 0)
    held = []
    original = scale._merge_flagged
    monkeypatch.setattr(scale, "_merge_flagged",
                        lambda *a: held.append(int((~a[3]).sum())) or original(*a))
    people = goal_cohort(seed, 120)
    cfg = Config()
    cfg.match = MatchSettings(dense_limit=0, candidates=3)
    dense = match_people(people, Config())
    sparse = match_people(people, cfg)
    assert held and max(held) > 0  # pairs really were held back
    assert (len(sparse.pairs), sparse.settings["solver_total"]) == (len(dense.pairs), dense.settings["solver_total"])
    assert sparse.settings["optimality_proven"] and not sparse.notes


def _price_vector(rng: np.random.Generator, size: int) -> np.ndarray:
    """Whole-number prices with ties and a few -inf (a mentee wanting nothing, a mentor with no place)."""
    prices = rng.integers(-5, 6, size).astype(np.float64)
    prices[rng.random(size) < 0.1] = -np.inf
    return prices


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100_000))
def test_pricing_rescores_every_cell_whose_reduced_cost_may_have_turned_negative(seed):
    """A left-out cell is skipped only when the last round proved its reduced cost >= 0 and
    neither price moved enough to undo that: checked cell by cell against the definition."""


    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 40)), int(rng.integers(1, 70))
    empty = np.zeros(0, np.int64)
    now = Assignment(empty, empty, empty, 0, 0, True, 10, _price_vector(rng, n), _price_vector(rng, m))
    wants = rng.integers(0, 3, n)
    cand = types.SimpleNamespace(cut=rng.random(n) < 0.8, kth=rng.integers(0, 12, n))
    before = None
    if rng.random() < 0.8:
        moved = rng.random(n) < 0.5
        mentee_before = np.where(moved, now.mentee_price + rng.integers(-3, 4, n), now.mentee_price)
        mentor_before = np.where(rng.random(m) < 0.5, now.mentor_price + rng.integers(-3, 4, m), now.mentor_price)
        mentor_before[rng.random(m) < 0.1] = -np.inf
        violated = np.flatnonzero(rng.random(n) < 0.2)
        before = scale._Priced(mentee_before, mentor_before, violated)
    covered = np.zeros((n, m), bool)
    for rows, cols in scale._pricing_groups(now, cand, wants, before):
        covered[np.ix_(rows, np.arange(m) if cols is None else cols)] = True
    for i, j in itertools.product(range(n), range(m)):
        u, v = now.mentee_price[i], now.mentor_price[j]
        if not (cand.cut[i] and wants[i] > 0 and np.isfinite(u) and np.isfinite(v)):
            continue
        if now.cost(cand.kth[i]) - u - v >= 0:
            continue  # its score is at most kth: never negative
        if before is not None and i not in before.violated and np.isfinite(before.mentee_price[i]) \
                and (u - before.mentee_price[i]) + (v - before.mentor_price[j]) <= 0:
            continue  # was >= 0 last round and can only have grown
        assert covered[i, j], (i, j)


@pytest.mark.parametrize("seed", [5, 6, 7, 8])
def test_later_pricing_rounds_skip_cells_and_still_reach_the_dense_optimum(seed, monkeypatch):

    monkeypatch.setattr(scale, "MENTOR_SIDE_CANDIDATES", 0)
    monkeypatch.setattr(scale, "MIN_GROUP_CELLS", 0)
    original = scale._pricing_groups
    skipped = []

    def cells(groups, m: int) -> int:
        return sum(len(rows) * (m if cols is None else len(cols)) for rows, cols in groups)

    def pricing_groups(assignment, cand, wants, before, only=None, slack=0):
        groups = original(assignment, cand, wants, before, only, slack)
        if before is not None:
            m = len(assignment.mentor_price)
            skipped.append(cells(original(assignment, cand, wants, None, only, slack), m) - cells(groups, m))
        return groups

    monkeypatch.setattr(scale, "_pricing_groups", pricing_groups)
    people = random_cohort(seed, 160)
    cfg = Config()
    cfg.match = MatchSettings(dense_limit=0, candidates=1)
    dense = match_people(people, Config())
    sparse = match_people(people, cfg)
    assert sparse.settings["pricing_rounds"] >= 3 and max(skipped) > 0 and min(skipped) >= 0
    assert (len(sparse.pairs), sparse.settings["solver_total"]) == (len(dense.pairs), dense.settings["solver_total"])
    assert sparse.settings["optimality_proven"] and not sparse.notes


@pytest.mark.parametrize("seed", [1, 2])
def test_the_interests_table_gives_the_bits_of_the_cell_by_cell_formula(seed, monkeypatch):

    people = random_cohort(seed, 150)
    table = prepare_cohort(people, Config())
    monkeypatch.setattr(criteria, "INTEREST_TABLE_SETS", 0)
    cell_by_cell = prepare_cohort(people, Config())
    assert "weighted_interests" in table.tables and "weighted_interests" not in cell_by_cell.tables
    n, m = table.shape
    looked_up, computed = score_rows(table, 0, n)[0], score_rows(cell_by_cell, 0, n)[0]
    assert len(np.unique(looked_up)) > 50
    np.testing.assert_array_equal(looked_up, computed)
    rows, cols = np.divmod(np.arange(n * m), m)
    np.testing.assert_array_equal(pair_scores(table, rows, cols), looked_up.ravel())
    np.testing.assert_array_equal(pair_scores(cell_by_cell, rows, cols), looked_up.ravel())


@pytest.mark.parametrize("first_row", [0, 1 << 50])  # the packed one-integer sort, and lexsort past its bits
def test_each_mentors_best_mentees_folded_in_batches_equal_one_pass(first_row):

    rng = np.random.default_rng(5)
    batches = [(first_row + rng.integers(0, 300, 400), rng.integers(0, 20, 400), rng.integers(0, 50, 400) * 200)
               for _ in range(12)]
    # a cell scored in two goal groups arrives twice, with the same score
    batches.append(tuple(a[:100].copy() for a in batches[0]))
    rows, cols, scores = (np.concatenate([b[k] for b in batches]) for k in range(3))
    expected = {}
    for r, c, s in sorted(set(zip(rows.tolist(), cols.tolist(), scores.tolist())), key=lambda t: (t[1], -t[2], t[0])):
        expected.setdefault(c, [])
        if len(expected[c]) < 3 and all(r != seen for seen, _ in expected[c]):
            expected[c].append((r, s))
    best = scale._MentorBest(3, 20)
    best.limit = 500  # fold every couple of batches
    for batch in batches:
        best.add(batch)
    got = {}
    for r, c, s in zip(*(a.tolist() for a in best.cells())):
        got.setdefault(c, []).append((r, s))
    assert got == expected
    # blocks may drop what scores below a mentor's third best so far, never a tie with it
    assert best.floor.tolist() == [expected[c][2][1] if len(expected.get(c, [])) == 3 else -1 for c in range(20)]


def _fair_outcome(result) -> tuple[int, int, float]:
    return len(result.pairs), result.settings["solver_total"], result.settings["fair_floor"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_fair_with_candidate_lists_reaches_the_dense_fair_optimum(seed, monkeypatch):
    """The floor must come from the most places over every allowed pair, not over the offered ones."""

    monkeypatch.setattr(scale, "MENTOR_SIDE_CANDIDATES", 0)  # the offered pairs alone reach fewer places
    people = goal_cohort(seed, 120)
    cfg = Config()
    cfg.match = MatchSettings(dense_limit=0, candidates=1)
    dense = match_people(people, Config(), objective="fair")
    sparse = match_people(people, cfg, objective="fair")
    assert sparse.settings["method"] == "sparse" and dense.settings["method"] == "dense"
    assert _fair_outcome(sparse) == _fair_outcome(dense)
    assert sparse.min_score >= sparse.settings["fair_floor"]
    assert sparse.settings["optimality_proven"] and dense.settings["optimality_proven"] and not sparse.notes


def test_fair_floor_without_its_proof_is_not_claimed_optimal(monkeypatch):

    monkeypatch.setattr(scale, "MENTOR_SIDE_CANDIDATES", 0)
    monkeypatch.setattr(scale, "MAX_CUT_ROUNDS", 0)  # no round left to prove the most places
    cfg = Config()
    cfg.match = MatchSettings(dense_limit=0, candidates=1)
    result = match_people(goal_cohort(1, 120), cfg, objective="fair")
    assert not result.settings["optimality_proven"]
    assert any("could not be proven" in note for note in result.notes)


def test_fair_with_candidate_lists_on_mixed_roles_reaches_the_dense_fair_optimum():
    people = random_cohort(11, 60)
    cfg = Config()
    cfg.match = MatchSettings(dense_limit=0, candidates=2)
    dense = match_people(people, Config(), objective="fair")
    sparse = match_people(people, cfg, objective="fair")
    assert sparse.settings["method"] == "sparse"
    assert _fair_outcome(sparse) == _fair_outcome(dense)
    assert sparse.settings["optimality_proven"]


def _full_problem(people: pd.DataFrame):
    matrix = score_matrix(people, Config())
    weights = np.rint(np.nan_to_num(matrix.scores) * 100).astype(np.int64)
    return (weights, matrix.allowed, people["wants"].to_numpy()[matrix.mentees],
            people["capacity"].to_numpy()[matrix.mentors])


def test_same_input_same_result():
    people = random_cohort(5, 80)
    first, second = match_people(people, Config()), match_people(people, Config())
    pd.testing.assert_frame_equal(first.pairs, second.pairs)
    pd.testing.assert_frame_equal(first.unmatched, second.unmatched)
    assert first.settings == second.settings


def test_every_rule_holds_and_every_unmatched_person_is_listed():
    people = random_cohort(8, 120)
    result = match_people(people, Config())
    assert not any(broken_rules(people, Config(), result.pairs["mentee"], result.pairs["mentor"]))
    got = result.pairs["mentee"].value_counts()
    short = {i for i in people.index if people.at[i, "role"] != "mentor" and got.get(i, 0) < people.at[i, "wants"]}
    assert short == set(result.unmatched.loc[result.unmatched["role"] == "mentee", "person"])
    assert (result.mentors["assigned"] <= result.mentors["capacity"]).all()
    assert not result.pairs.duplicated(["mentee", "mentor"]).any()
    assert (result.pairs["score"].between(0, 100)).all()


# ----------------------------------------------------------------- export


def test_export_scores_is_what_the_solver_maximised(tmp_path):
    people = random_cohort(3, 40)
    people.at[0, "email"] = "=cmd@example.org"
    people.at[1, "request"] = people.at[2, "name"]
    result = match_people(people, Config())
    path = export_scores(people, Config(), tmp_path / "scores.csv", force=False)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["mentee_email", "mentor_email", "score", "bonus", "kept"]
    matrix = score_matrix(people, Config())
    assert len(rows) - 1 == int(matrix.allowed.sum())
    assert {r[4] for r in rows[1:]} == {"no"}
    by_email = {e.replace("=", "'=", 1) if e.startswith("=") else e: k for k, e in enumerate(people["email"])}
    for r in rows[1:]:  # the score column is the 0-100 score, the bonus apart
        i, j = by_email[r[0]], by_email[r[1]]
        assert float(r[2]) == pytest.approx(matrix.scores[list(matrix.mentees).index(i), list(matrix.mentors).index(j)])
    assert not any(cell.startswith("=") for row in rows for cell in row)
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    mentees = sorted(set(frame["mentee_email"]), key=frame["mentee_email"].tolist().index)
    mentors = sorted(set(frame["mentor_email"]))
    weights = np.zeros((len(mentees), len(mentors)), np.int64)
    allowed = np.zeros(weights.shape, bool)
    for r in frame.itertuples(index=False):
        i, j = mentees.index(r.mentee_email), mentors.index(r.mentor_email)
        weights[i, j] = round(float(r.score) * 100) + round(float(r.bonus) * 100)
        allowed[i, j] = True
    limits = {e: (w, c) for e, w, c in zip(people["email"].map(lambda e: "'" + e if e.startswith("=") else e),
                                              people["wants"], people["capacity"])}
    check = solve_assignment(weights, allowed, [limits[e][0] for e in mentees], [limits[e][1] for e in mentors])
    assert check.places == len(result.pairs)
    assert check.total == result.settings["solver_total"]
    with pytest.raises(MentorError):
        export_scores(people, Config(), path, force=False)
    export_scores(people, Config(), path, force=True)
    assert (tmp_path / "scores.bak.csv").exists()


def test_people_with_the_same_email_twice_are_refused():
    people = make_people([person("A One", "mentee", email="x@example.org"), person("B Two", "mentor", email="X@example.org")])
    with pytest.raises(MentorError):
        match_people(people, Config())


def test_empty_and_one_sided_cohorts():
    only_mentees = make_people([person("Al Mentee", "mentee"), person("Bea Mentee", "mentee")])
    result = match_people(only_mentees, Config())
    assert result.pairs.empty and set(result.unmatched["reason"]) == {"no mentors signed up"}
    empty = match_people(make_people([]), Config())
    assert empty.pairs.empty and empty.unmatched.empty


def test_prepare_cohort_is_usable_alone():
    cohort = prepare_cohort(_rule_cohort(), Config())
    assert cohort.shape == (1, 5)


def test_a_candidate_cut_that_could_cost_optimality_is_repaired_or_reported(monkeypatch):

    people = make_people([
        person("Amy Mentee", "mentee", goals=("Go",)),
        person("Bea Mentee", "mentee", goals=("Go",)),
        person("Cho Mentor", "mentor", expertise=("Go",), capacity=1),
        person("Dev Mentor", "mentor", expertise=("Java",), capacity=1),
    ])
    cfg = Config()
    cfg.match = MatchSettings(dense_limit=0, candidates=1)  # both mentees keep only Cho
    offered_both_ways = match_people(people, cfg)  # Dev's best mentees are offered too: no repair needed
    assert len(offered_both_ways.pairs) == 2 and offered_both_ways.settings["pricing_rounds"] == 1
    monkeypatch.setattr(scale, "MENTOR_SIDE_CANDIDATES", 0)
    repaired = match_people(people, cfg)
    assert len(repaired.pairs) == 2 and repaired.settings["pricing_rounds"] == 2
    assert repaired.settings["optimality_proven"] and not repaired.notes
    monkeypatch.setattr(scale, "MAX_PRICING_ROUNDS", 1)
    cut = match_people(people, cfg)
    assert len(cut.pairs) == 1 and not cut.settings["optimality_proven"]
    assert any("may have cost optimality" in note for note in cut.notes)


def _cohort_with_every_answer(seed: int, n: int) -> pd.DataFrame:
    """``random_cohort`` with availability and meeting formats too: every criterion has something to compare."""
    people = random_cohort(seed, n)
    rng = np.random.default_rng(seed + 100)
    slots = ["Weekday mornings", "Weekday evenings", "Mon 18:00-19:30", "Tue 09:07-10:00", "Weekends"]
    people["availability"] = [tuple(rng.choice(slots, size=rng.integers(0, 3), replace=False)) for _ in range(n)]
    people["format"] = [tuple(rng.choice(["Video", "Phone"], size=rng.integers(0, 3), replace=False)) for _ in range(n)]
    return people


@pytest.mark.parametrize("seed", [3, 4])
def test_criteria_are_read_by_name_so_their_order_changes_no_score(seed, monkeypatch):
    """Declaring the criteria in another order (as adding one in the middle would) changes no
    score, no allowed pair and no criterion value: each is looked up by name and the weighted
    sum is exact. Uneven weights, where float32 sums in another order would differ."""
    people = _cohort_with_every_answer(seed, 160)
    cfg = Config()
    cfg.weights = Weights(topics=37.3, industry=0.7, experience=13.1, availability=21.9, format=3.3, interests=9.7)
    declared = criteria.CRITERIA
    first = prepare_cohort(people, cfg)
    n, m = first.shape
    expected_scores, expected_allowed = score_rows(first, 0, n)
    rows, cols = np.divmod(np.arange(n * m), m)
    expected_values = criteria.criteria_values(first, rows, cols)
    expected_sums = criteria.weighted_sum(first, Cells.pairs(rows, cols))
    rng = np.random.default_rng(seed)
    for _ in range(3):
        monkeypatch.setattr(criteria, "CRITERIA", tuple(declared[k] for k in rng.permutation(len(declared))))
        cohort = prepare_cohort(people, cfg)
        scores, allowed = score_rows(cohort, 0, n)
        np.testing.assert_array_equal(scores, expected_scores)
        np.testing.assert_array_equal(allowed, expected_allowed)
        np.testing.assert_array_equal(pair_scores(cohort, rows, cols), expected_scores.ravel())
        np.testing.assert_array_equal(criteria.weighted_sum(cohort, Cells.pairs(rows, cols)), expected_sums)
        values = criteria.criteria_values(cohort, rows, cols)
        assert values.keys() == expected_values.keys()
        for name, value in values.items():
            np.testing.assert_array_equal(value, expected_values[name])
    assert len(np.unique(expected_scores)) > 100


def test_a_kept_pair_is_never_made_again_beside_itself():
    """The mentee still wants a second mentor and the kept mentor still has room and is the best
    match: the new pair goes to the other mentor, not to the kept pair a second time."""
    people = make_people([
        person("Mia Mentee", "mentee", goals=("A", "B"), wants=2),
        person("Bea Best", "mentor", expertise=("A", "B"), capacity=2),
        person("Oli Other", "mentor", expertise=("A",), capacity=1),
    ])
    result = match_people(people, Config(), keep=[("P001", "mia.mentee@example.org", "bea.best@example.org")])
    assert sorted(pairs_of(result, people)) == [("Mia Mentee", "Bea Best"), ("Mia Mentee", "Oli Other")]
    assert len(result.pairs) == 2 and result.pairs["kept"].tolist() == [True, False]

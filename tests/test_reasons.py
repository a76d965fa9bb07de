"""What the numbers mean, kept pairs that no longer hold, and reasons a coordinator can act on.

Each reason is checked against an independent reading of the cohort written here, not against
the matcher's own helpers.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from test_cli_match import signup_rows, write_signups
from test_match import config, person

from mentorcli.config import Config
from mentorcli.match import export_scores, match_people
from mentorcli.matching import explain
from mentorcli.matching.criteria import CRITERIA
from mentorcli.matching.rules import RULES
from mentorcli.matching.words import PairBlock, Said
from mentorcli.model import make_people


def names_of(result, people: pd.DataFrame) -> list[tuple[str, str]]:
    names = people["name"].tolist()
    return sorted((names[a], names[b]) for a, b in zip(result.pairs["mentee"], result.pairs["mentor"]))


def reason_of(result, people: pd.DataFrame, name: str, role: str = "mentee") -> str:
    index = people.index[people["name"] == name][0]
    rows = result.unmatched[(result.unmatched["person"] == index) & (result.unmatched["role"] == role)]
    assert len(rows) == 1, result.unmatched
    return rows["reason"].iloc[0]


# ----------------------------------------------------------------- 5. ties and exported numbers


@pytest.mark.parametrize("mentees,mentors,capacity", [(1, 2, 1), (1, 4, 1), (2, 3, 1), (3, 4, 1), (3, 3, 2), (1, 3, 3)])
@pytest.mark.parametrize("objective", ["places", "fair"])
def test_ties_between_identical_mentors_go_to_the_earlier_signup(mentees, mentors, capacity, objective):
    rows = [person(f"Mentee {i}", "mentee", goals=("Data",)) for i in range(mentees)]
    rows += [person(f"Mentor {j}", "mentor", expertise=("Data",), capacity=capacity) for j in range(mentors)]
    people = make_people(rows)
    result = match_people(people, Config(), objective=objective)
    assigned = dict(zip(result.mentors["person"], result.mentors["assigned"]))
    loads = [assigned[people.index[people["name"] == f"Mentor {j}"][0]] for j in range(mentors)]
    assert sum(loads) == mentees
    # the idle mentors are the latest: no later mentor has a mentee while an earlier one has none
    used = [load > 0 for load in loads]
    assert used == sorted(used, reverse=True)
    # and a later mentor keeps more than one mentee only when every earlier one is full
    for j in range(mentors):
        if loads[j] > 1:
            assert all(loads[e] == capacity for e in range(j))


def test_ties_between_identical_mentees_still_go_to_the_earlier_signup():
    people = make_people([person("Mentee A", "mentee", goals=("Data",)), person("Mentee B", "mentee", goals=("Data",)),
                          person("Mentor X", "mentor", expertise=("Data",), capacity=1),
                          person("Mentor Y", "mentor", expertise=("Data",), capacity=1),
                          person("Mentee C", "mentee", goals=("Data",))])
    result = match_people(people, Config())
    assert names_of(result, people) == [("Mentee A", "Mentor X"), ("Mentee B", "Mentor Y")]


def test_export_scores_gives_score_and_bonus_apart_and_lists_kept_pairs(tmp_path):
    people = make_people([
        person("Ann", "mentee", goals=("Data",), request="Cid"),
        person("Bea", "mentee", goals=("Data",)),
        person("Cid", "mentor", expertise=("Law",), capacity=1),
        person("Dan", "mentor", expertise=("Data",), capacity=2),
    ])
    keep = [("P004", "bea@example.org", "dan@example.org")]
    path = export_scores(people, Config(), tmp_path / "scores.csv", force=False, keep=keep)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["mentee_email", "mentor_email", "score", "bonus", "kept"]
    by_pair = {(r["mentee_email"], r["mentor_email"]): r for r in rows}
    assert by_pair[("bea@example.org", "dan@example.org")]["kept"] == "yes"
    assert [r["kept"] for r in rows].count("yes") == 1 and rows[0]["kept"] == "yes"
    result = match_people(people, Config(), keep=keep)
    scores = {(people["email"][a], people["email"][b]): s
              for a, b, s in zip(result.pairs["mentee"], result.pairs["mentor"], result.pairs["score"])}
    requested = by_pair[("ann@example.org", "cid@example.org")]
    assert float(requested["score"]) == pytest.approx(scores[("ann@example.org", "cid@example.org")])
    assert float(requested["bonus"]) > 100  # more than any score: one honoured request beats every total
    assert float(by_pair[("ann@example.org", "dan@example.org")]["bonus"]) == 0
    assert float(by_pair[("ann@example.org", "dan@example.org")]["score"]) > float(requested["score"])
    assert float(by_pair[("bea@example.org", "dan@example.org")]["score"]) == pytest.approx(
        scores[("bea@example.org", "dan@example.org")])


# ----------------------------------------------------------------- 6. --keep conflicts, end to end


def _sheet(path: Path, name: str) -> pd.DataFrame:
    values = list(openpyxl.load_workbook(path)[name].values)
    return pd.DataFrame(values[1:], columns=values[0])


def _first_pairing(cli, directory: Path) -> pd.DataFrame:
    write_signups(directory / "signups.csv", signup_rows(6, 9))
    assert cli("match", "signups.csv", "-o", "first.xlsx").exit_code == 0
    pairs = _sheet(directory / "first.xlsx", "Pairs")
    pairs["row"] = np.arange(2, len(pairs) + 2)
    return pairs


def _rematch(cli, directory: Path, rows: list[list[str]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    write_signups(directory / "new.csv", rows)
    result = cli("match", "new.csv", "--keep", "first.xlsx", "-o", "second.xlsx")
    assert result.exit_code == 0, result.stderr
    out = directory / "second.xlsx"
    return _sheet(out, "Pairs"), _sheet(out, "Problems"), _sheet(out, "Unmatched"), _sheet(out, "Mentors")


def _nobody_paired_and_unmatched_in_one_role(pairs: pd.DataFrame, unmatched: pd.DataFrame, mentors: pd.DataFrame):
    mentees_paired = set(pairs["Mentee Email"])
    mentors_paired = set(pairs["Mentor Email"])
    for email, role in zip(unmatched["Email"], unmatched["Role"]):
        if role == "mentor":
            assert email not in mentors_paired
    counts = pairs["Mentor Email"].value_counts()
    for email, assigned in zip(mentors["Mentor Email"], mentors["Assigned"]):
        assert assigned == counts.get(email, 0)
    wants = {}  # every signup here wants one mentor: a paired mentee is never also short
    for email in unmatched.loc[unmatched["Role"] == "mentee", "Email"]:
        assert email not in mentees_paired or wants.get(email, 1) > 1


def _kept_problem(problems: pd.DataFrame, row: int) -> pd.DataFrame:
    return problems[(problems["File"] == "first.xlsx") & (problems["Row"] == row)]


@pytest.mark.parametrize("change", ["mentor now a mentee", "mentee now a mentor", "mentor gone", "mentee gone"])
def test_kept_pair_whose_person_left_the_role_or_the_signups_is_dropped_and_reported(cli, tmp_path, monkeypatch, change):
    monkeypatch.chdir(tmp_path)
    first = _first_pairing(cli, tmp_path)
    pair = first.iloc[1]
    rows = signup_rows(6, 9)
    side = "Mentor Email" if change.startswith("mentor") else "Mentee Email"
    email = pair[side]
    at = next(k for k, r in enumerate(rows) if r[2] == email)
    if change == "mentor now a mentee":
        rows[at][3], rows[at][11], rows[at][12] = "Mentee", "", "1"
    elif change == "mentee now a mentor":
        rows[at][3], rows[at][11], rows[at][12] = "Mentor", "1", ""
    else:
        del rows[at]
    pairs, problems, unmatched, mentors = _rematch(cli, tmp_path, rows)
    found = _kept_problem(problems, int(pair["row"]))
    assert found[["Sheet", "Column", "Severity"]].values.tolist() == [["Pairs", side, "error"]]
    assert "dropped" in found["Problem"].iloc[0]
    assert pair["Pair ID"] not in pairs["Pair ID"].tolist()  # dropped, and its ID is not reused
    others = first[first["Pair ID"] != pair["Pair ID"]]
    kept = pairs[pairs["Kept"] == "Yes"]
    assert sorted(kept["Pair ID"]) == sorted(others["Pair ID"])
    _nobody_paired_and_unmatched_in_one_role(pairs, unmatched, mentors)
    if change == "mentor now a mentee":  # the former mentor can now be paired as a mentee, never with themselves
        assert email not in set(pairs["Mentor Email"])


@pytest.mark.parametrize("rule", ["language", "team"])
def test_kept_pair_that_now_breaks_a_rule_stays_and_is_reported_on_its_row(cli, tmp_path, monkeypatch, rule):
    monkeypatch.chdir(tmp_path)
    first = _first_pairing(cli, tmp_path)
    pair = first.iloc[2]
    rows = signup_rows(6, 9)
    mentee = next(r for r in rows if r[2] == pair["Mentee Email"])
    mentor = next(r for r in rows if r[2] == pair["Mentor Email"])
    if rule == "language":
        mentee[8] = "German"
        text = "share no language"
    else:
        mentee[6], mentee[7] = mentor[6], mentor[7]
        text = "same team"
    pairs, problems, unmatched, mentors = _rematch(cli, tmp_path, rows)
    found = _kept_problem(problems, int(pair["row"]))
    assert found[["Sheet", "Column", "Severity"]].values.tolist() == [["Pairs", "Mentor Email", "warning"]]
    assert f"now breaks a rule ({text})" in found["Problem"].iloc[0] and "stays" in found["Problem"].iloc[0]
    again = pairs[pairs["Pair ID"] == pair["Pair ID"]]
    assert again[["Mentee Email", "Mentor Email", "Kept"]].values.tolist() == [
        [pair["Mentee Email"], pair["Mentor Email"], "Yes"]]
    assert again["Why"].iloc[0].startswith(f"Kept from the earlier pairing; now breaks a rule ({text})")
    assert len(pairs[pairs["Mentee Email"] == pair["Mentee Email"]]) == 1  # no second mentor on top
    _nobody_paired_and_unmatched_in_one_role(pairs, unmatched, mentors)
    # no stale report from the kept workbook's own People sheet: only the new signups count
    assert len(problems[problems["File"] == "first.xlsx"]) == 1


def test_kept_pairs_over_a_mentors_new_capacity_stay_count_and_are_reported(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = _first_pairing(cli, tmp_path)
    counts = first["Mentor Email"].value_counts()
    busy = counts.index[counts == 2][0]
    rows = signup_rows(6, 9)
    row = next(r for r in rows if r[2] == busy)
    row[11] = "1"
    pairs, problems, unmatched, mentors = _rematch(cli, tmp_path, rows)
    second_row = int(first[first["Mentor Email"] == busy]["row"].iloc[1])
    found = _kept_problem(problems, second_row)
    assert found[["Column", "Severity"]].values.tolist() == [["Mentor Email", "warning"]]
    assert "2 kept pairs but capacity 1" in found["Problem"].iloc[0]
    line = mentors[mentors["Mentor Email"] == busy]
    assert line[["Capacity", "Assigned", "Free"]].values.tolist() == [[1, 2, -1]]
    assert (pairs["Mentor Email"] == busy).sum() == 2
    _nobody_paired_and_unmatched_in_one_role(pairs, unmatched, mentors)


def test_kept_pairs_count_in_the_mentors_sheet(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = _first_pairing(cli, tmp_path)
    book = openpyxl.load_workbook(tmp_path / "first.xlsx")
    sheet = book["Pairs"]
    for row in range(sheet.max_row, 4, -1):  # keep only the first three pairs
        sheet.delete_rows(row)
    book.save(tmp_path / "first.xlsx")
    pairs, problems, unmatched, mentors = _rematch(cli, tmp_path, signup_rows(6, 9))
    assert (pairs["Kept"] == "Yes").sum() == 3
    assert sorted(pairs["Pair ID"])[:3] == sorted(first["Pair ID"].iloc[:3])
    assert len(set(pairs["Pair ID"])) == len(pairs)
    _nobody_paired_and_unmatched_in_one_role(pairs, unmatched, mentors)
    assert problems[problems["File"] == "first.xlsx"].empty


# ----------------------------------------------------------------- 7. reasons a coordinator can act on


def test_the_only_allowed_mentor_reads_as_english_and_names_who_filled_it():
    people = make_people([person("Mentee A", "mentee", goals=("Go",)), person("Mentee B", "mentee", goals=("Go",)),
                          person("Mentor X", "mentor", expertise=("Go",), capacity=1)])
    result = match_people(people, Config())
    assert reason_of(result, people, "Mentee B") == (
        "the only allowed mentor, Mentor X, is full (with Mentee A) "
        "(2 mentees want Go; the 1 mentor who offers it is full)")


def test_full_mentors_and_who_filled_them_are_named_up_to_three():
    people = make_people([person(f"Mentee {k}", "mentee", goals=("Go",)) for k in range(6)]
                         + [person(f"Mentor {k}", "mentor", expertise=("Go",), capacity=1) for k in range(5)])
    result = match_people(people, Config())
    holder = {b: a for a, b in names_of(result, people)}
    assert reason_of(result, people, "Mentee 5").startswith(
        f"all 5 allowed mentors are full: Mentor 0 (with {holder['Mentor 0']}), Mentor 1 (with {holder['Mentor 1']}), "
        f"Mentor 2 (with {holder['Mentor 2']}) and 2 more (")
    people = make_people([person(f"Mentee {k}", "mentee", goals=("Go",)) for k in range(6)]
                         + [person("Big Mentor", "mentor", expertise=("Go",), capacity=5)])
    result = match_people(people, Config())
    assert reason_of(result, people, "Mentee 5").startswith(
        "the only allowed mentor, Big Mentor, is full (with Mentee 0, Mentee 1, Mentee 2 and 2 more)")


def test_the_binding_rule_is_named_after_the_broad_one():
    people = make_people(
        [person("Lea Mentee", "mentee", goals=("Go",), organisation="Acme", department="Sales")]
        + [person(f"Mentor {k}", "mentor", expertise=("Go",), languages=("German",)) for k in range(5)]
        + [person("Team Mate", "mentor", expertise=("Go",), organisation="Acme", department="Sales")])
    result = match_people(people, Config())
    assert reason_of(result, people, "Lea Mentee") == (
        "no allowed mentor: 5 of the 6 mentors share no language; the remaining one is in the same team")


def test_each_of_a_mentees_own_choices_says_what_stopped_it():
    people = make_people([
        person("Xia Mentee", "mentee", goals=("Go",), choices=("Bo Chen",)),
        person("Yan Mentee", "mentee", goals=("Go",), choices=("Bo Chen",)),
        person("Mo Mentee", "mentee", goals=("Go",), organisation="Acme", department="Ops", languages=("English", "German"),
               choices=("Ana Li", "Bo Chen", "Nobody Known")),
        person("Ana Li", "mentor", expertise=("Go",), organisation="Acme", department="Ops", languages=("German",)),
        person("Bo Chen", "mentor", expertise=("Go",), capacity=2),
    ])
    result = match_people(people, Config())
    assert reason_of(result, people, "Mo Mentee") == (
        "the only allowed mentor, Bo Chen, is full (with Xia Mentee, Yan Mentee); "
        "1st choice Ana Li: same team; 2nd choice Bo Chen: full with Xia Mentee, Yan Mentee; "
        "3rd choice: not found among the mentors")


def _why(people: pd.DataFrame, cfg: Config | None = None) -> str:
    return match_people(people, cfg or Config()).pairs["why"].iloc[0]


def test_why_says_whose_industry_is_whose():
    people = make_people([person("Mia", "mentee", goals=("Go",), industry="Finance"),
                          person("Max", "mentor", expertise=("Go",), industry="Health")])
    assert "differs: industry (mentee in Finance, mentor in Health)" in _why(people)


def test_why_leaves_out_criteria_weighted_zero():
    rows = [person("Mia", "mentee", goals=("Go",), industry="Finance", experience=1, timezone="Europe/London",
                   availability=("Weekday evenings",), format=("Video",), interests=("Chess",)),
            person("Max", "mentor", expertise=("Go",), industry="Health", experience=9, timezone="Asia/Tokyo",
                   availability=("Weekday evenings",), format=("Phone",), interests=("Chess",))]
    full = _why(make_people(rows))
    for part in ("industry (mentee in Finance", "more experience", "prefers", "both like chess"):
        assert part in full
    cfg = Config()
    cfg.weights = dataclasses.replace(cfg.weights, industry=0, experience=0, availability=0, format=0, interests=0)
    why = _why(make_people(rows), cfg)
    assert why == "Shares 1 of 1 goal: Go; both speak English"


def test_why_lists_criteria_below_neutral_under_differs():
    people = make_people([
        person("Mia", "mentee", goals=("Go", "Law", "Art"), timezone="Europe/London", interests=("Chess", "Golf", "Yoga")),
        person("Max", "mentor", expertise=("Go",), timezone="Asia/Tokyo", interests=("chess", "Tennis")),
    ])
    why = _why(people)
    shared, differs = why.split("; differs: ")
    assert "offers only 1 of the mentee's 3 goals (Go)" in differs
    assert "9 h apart" in differs and "apart" not in shared  # 1 - 9/12 < 0.5
    hourly = make_people([  # with weekly hours the criterion is their overlap; far apart still differs
        person("Mia", "mentee", goals=("Go",), timezone="Europe/London", availability=("Weekday evenings",)),
        person("Max", "mentor", expertise=("Go",), timezone="Asia/Tokyo", availability=("Weekday evenings",)),
    ])
    hourly_shared, hourly_differs = _why(hourly).split("; differs: ")
    assert "9 h apart" in hourly_differs and "apart" not in hourly_shared
    assert "few shared interests (only chess)" in differs and "like" not in shared
    # at exactly half, a criterion did not pull the score down: it stays with what is shared
    half = make_people([
        person("Mia", "mentee", goals=("Go", "Law"), timezone="Europe/London", interests=("Chess",)),
        person("Max", "mentor", expertise=("Go",), timezone="Asia/Dubai", interests=("chess", "Golf")),
    ])
    why = _why(half)
    assert why.startswith("Shares 1 of 2 goals: Go; 4 h apart; both speak English; both like chess")
    assert "differs" not in why


def test_all_blank_chosen_pair_says_what_could_not_be_compared():
    people = make_people([person("Mia", "mentee", choices=("Max",), languages=()), person("Max", "mentor", languages=())])
    assert _why(people) == "No answers to compare: the mentee's 1st choice"
    people = make_people([person("Mia", "mentee", choices=("Max",)), person("Max", "mentor")])
    assert _why(people) == "No answers to compare: the mentee's 1st choice; both speak English"
    people = make_people([person("Mia", "mentee"), person("Max", "mentor")])
    assert _why(people) == "No answers to compare (neutral score); both speak English"
    people = make_people([person("Mia", "mentee", interests=("Chess",)), person("Max", "mentor", interests=("Golf",))])
    assert _why(people) == "Both speak English; differs: no shared interests"


# ----------------------------------------------------------------- every reason true, checked independently

import re

VERBS = {"share no language": "language", "shares no language": "language", "is in the same team": "team",
         "are in the same team": "team", "is in the same organisation": "organisation",
         "are in the same organisation": "organisation"}
ORDER = ["language", "team", "organisation"]


def _random_cohort(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_mentees, n_mentors = int(rng.integers(3, 12)), int(rng.integers(2, 7))
    orgs, depts, langs = ["Acme", "Beta"], ["Ops", "Sales"], ["English", "German", "French"]
    rows = []
    mentor_names = [f"Mentor {k}" for k in range(n_mentors)]
    for k in range(n_mentees):
        chosen = tuple(rng.choice(mentor_names, size=int(rng.integers(0, 3)), replace=False).tolist())
        rows.append(person(f"Mentee {k}", "mentee", goals=(str(rng.choice(["Go", "Art"])),),
                           organisation=str(rng.choice(orgs)), department=str(rng.choice(depts)),
                           languages=tuple(rng.choice(langs, size=int(rng.integers(1, 3)), replace=False).tolist()),
                           wants=int(rng.integers(1, 3)), choices=chosen))
    for k in range(n_mentors):
        rows.append(person(mentor_names[k], "mentor", expertise=(str(rng.choice(["Go", "Art"])),),
                           organisation=str(rng.choice(orgs)), department=str(rng.choice(depts)),
                           languages=tuple(rng.choice(langs, size=int(rng.integers(1, 2)), replace=False).tolist()),
                           capacity=int(rng.integers(1, 3))))
    return make_people(rows)


def _broken(a: dict, b: dict, same_org_rule: bool) -> list[str]:
    """The rules a pair breaks, read straight from the answers (everyone here answered every field)."""
    rules = []
    if not {x.lower() for x in a["languages"]} & {x.lower() for x in b["languages"]}:
        rules.append("language")
    if a["organisation"] == b["organisation"] and a["department"] == b["department"]:
        rules.append("team")
    if same_org_rule and a["organisation"] == b["organisation"]:
        rules.append("organisation")
    return rules


def _names_in(text: str) -> tuple[list[str], int]:
    more = re.search(r" and (\d+) more$", text)
    listed = text[:more.start()] if more else text
    return listed.split(", "), int(more.group(1)) if more else 0


@pytest.mark.parametrize("seed", range(40))
def test_every_unmatched_reason_is_true_by_an_independent_check(seed):
    people = _random_cohort(seed)
    same_org_rule = seed % 2 == 1
    result = match_people(people, config(forbid_same_organisation=same_org_rule))
    records = people.to_dict("records")
    mentees = [k for k, p in enumerate(records) if p["role"] == "mentee"]
    mentors = [k for k, p in enumerate(records) if p["role"] == "mentor"]
    by_name = {p["name"]: k for k, p in enumerate(records)}
    holders: dict[int, list[int]] = {j: [] for j in mentors}
    mine: dict[int, set[int]] = {i: set() for i in mentees}
    for i, j in zip(result.pairs["mentee"].tolist(), result.pairs["mentor"].tolist()):
        holders[j].append(i)
        mine[i].add(j)
        assert not _broken(records[i], records[j], same_org_rule)
    broken = {(i, j): _broken(records[i], records[j], same_org_rule) for i in mentees for j in mentors}
    for person_index, role, reason in result.unmatched.itertuples(index=False):
        if role == "mentor":
            assert not holders[person_index]
            if reason.startswith("no allowed mentee"):
                assert all(broken[(i, person_index)] for i in mentees)
            continue
        i = person_index
        assert len(mine[i]) < records[i]["wants"]
        allowed = [j for j in mentors if not broken[(i, j)]]
        main = re.sub(r"^\d+ of \d+ wanted mentors found; ", "", reason)
        if main.startswith("no allowed mentor"):
            assert not allowed
            # the removals, rule by rule, recomputed: the broadest first, the binding one last
            left, expected = set(mentors), []
            while left:
                counts = {rule: sum(rule in broken[(i, j)] for j in left) for rule in ORDER}
                rule = max(ORDER, key=lambda r: (counts[r], -ORDER.index(r)))
                expected.append((rule, counts[rule]))
                left = {j for j in left if rule not in broken[(i, j)]}
            said = re.findall(r"(all \d+|\d+|one) (?:of the \d+ mentors |mentors )?"
                              r"(share no language|shares no language|is in the same team|are in the same team|"
                              r"is in the same organisation|are in the same organisation)", main)
            if main.startswith("no allowed mentor: the only mentor"):
                said = [("1", v) for v in re.findall("|".join(VERBS), main)[:1]]
            got = [(VERBS[verb], len(mentors) if count.startswith("all") else 1 if count == "one" else int(count))
                   for count, verb in said]
            assert got == expected, reason
            continue
        assert allowed
        if "already their mentor" in main:
            assert set(allowed) <= mine[i]
            assert main.startswith("the only allowed mentor is" if len(allowed) == 1 else f"every allowed mentor ({len(allowed)})")
            continue
        full_part = re.match(r"(?:the only (other )?allowed mentor, (.+?), is full \(with (.+?)\)"
                             r"|all (\d+) (other )?allowed mentors are full: (.+?)(?: and (\d+) more)?)(?: \((?:\d+ mentees? want|no mentor offers)|;|$)",
                             main)
        assert full_part, reason
        others = [j for j in allowed if j not in mine[i]]
        assert all(holders[j] and len(holders[j]) >= records[j]["capacity"] for j in others)
        if full_part.group(2):
            named = [(full_part.group(2), full_part.group(3))]
            assert len(others) == 1
        else:
            assert int(full_part.group(4)) == len(others)
            named = re.findall(r"(Mentor \d+) \(with (.+?)\)", full_part.group(6))
            assert len(named) == min(3, len(others))
        for mentor_name, fillers in named:
            j = by_name[mentor_name]
            assert j in others
            listed, more = _names_in(fillers)
            assert [by_name[x] for x in listed] == sorted(holders[j])[:3] and more == max(0, len(holders[j]) - 3)
        for rank, chosen in enumerate(records[i]["choices"], start=1):
            j = by_name[chosen]
            label = {1: "1st", 2: "2nd"}[rank] + f" choice {chosen}: "
            if j in mine[i]:
                assert label not in reason
            elif broken[(i, j)]:
                assert label in reason
            else:
                assert label + "full with " in reason and len(holders[j]) >= records[j]["capacity"]


def test_a_kept_pair_is_judged_by_the_new_signups_not_the_kept_workbooks_people_sheet(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = _first_pairing(cli, tmp_path)
    pair = first.iloc[0]
    book = openpyxl.load_workbook(tmp_path / "first.xlsx")
    people = book["People"]
    header = [c.value for c in people[1]]
    for row in people.iter_rows(min_row=2):  # the old People sheet says the mentee spoke only German
        if row[header.index("Email")].value == pair["Mentee Email"]:
            row[header.index("Languages")].value = "German"
    book.save(tmp_path / "first.xlsx")
    pairs, problems, _, _ = _rematch(cli, tmp_path, signup_rows(6, 9))
    assert problems[problems["File"] == "first.xlsx"].empty  # the new signups share English: nothing broken
    assert pair["Pair ID"] in pairs.loc[pairs["Kept"] == "Yes", "Pair ID"].tolist()


def test_a_later_mentor_is_not_emptied_for_an_earlier_one_who_already_has_a_mentee():
    rows = [person(f"Mentee {i}", "mentee", goals=("Data",)) for i in range(2)]
    rows += [person(f"Mentor {j}", "mentor", expertise=("Data",), capacity=2) for j in range(3)]
    people = make_people(rows)
    result = match_people(people, Config())
    assigned = dict(zip(result.mentors["person"], result.mentors["assigned"]))
    assert [assigned[people.index[people["name"] == f"Mentor {j}"][0]] for j in range(3)] == [1, 1, 0]


# ----------------------------------------------------------------- the Why's words are declared with each criterion


HALF = [person("Mia", "mentee", goals=("Go", "Law"), timezone="Europe/London", interests=("Chess",)),
        person("Max", "mentor", expertise=("Go",), timezone="Asia/Dubai", interests=("chess", "Golf"))]


def test_a_criterion_declared_with_its_own_words_says_them_in_the_why_in_its_place(monkeypatch):
    """A criterion's words come from its declaration alone: replacing the interests criterion's
    words (explain.py untouched) changes what the Why says of it, where it is declared."""
    def city_words(block: PairBlock) -> Said:
        counted = [f"interests counted {value:g}" for value in block.criteria["interests"].tolist()]
        return Said((counted,), (["city differs"] * len(counted),))
    declared = tuple(dataclasses.replace(c, words=city_words) if c.name == "interests" else c for c in CRITERIA)
    monkeypatch.setattr(explain, "CRITERIA", declared)
    assert _why(make_people(HALF)) == ("Shares 1 of 2 goals: Go; 4 h apart; both speak English; interests counted 0.5; "
                                       "differs: city differs")


def test_permuting_the_declarations_permutes_the_whys_phrases(monkeypatch):
    """The Why says each criterion's words in declaration order; the language rule's words stay
    right after the criterion its declaration names (availability)."""
    assert _why(make_people(HALF)) == "Shares 1 of 2 goals: Go; 4 h apart; both speak English; both like chess"
    monkeypatch.setattr(explain, "CRITERIA", tuple(reversed(CRITERIA)))
    assert _why(make_people(HALF)) == "Both like chess; 4 h apart; both speak English; shares 1 of 2 goals: Go"


def test_every_rule_with_words_names_the_criterion_they_follow():
    """A ``words_after`` that names no criterion would drop the rule's words from every Why."""
    names = {criterion.name for criterion in CRITERIA}
    worded = [rule for rule in RULES if rule.words is not None]
    assert worded and all(rule.words_after in names for rule in worded)

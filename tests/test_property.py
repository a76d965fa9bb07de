"""Generated cohorts against an independent reading of the rules and an independent solver.

For each generated cohort (5-30 people, every rule, both objectives, ranked choices, avoid lists,
requests, earlier pairs, capacities and wants) the test:

1. decides every rule per pair in plain Python from the People frame (``IndependentRules``), never
   through match.py's rule code, and checks that the allowed pairs of ``export_scores`` are exactly
   those, and that the pairing breaks none of them, keeps capacities and wants, has no self-pair
   and no pair twice;
2. solves the cohort again with OR-Tools CP-SAT (exact integer arithmetic, a different algorithm
   from the min-cost flow of solve.py) on the exported objective coefficients, and checks the
   pairing has as many places and as high a total (for ``fair``: as many places, as high a lowest
   score, then as high a total);
3. solves it again on the scale path (``dense_limit`` 1, two candidates per mentee: candidate
   lists, pricing rounds, minimum cuts) and checks it reaches the dense reference's optimum.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import math
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from mentorcli.config import Config, NetworkSettings, Rules
from mentorcli.match import export_scores, match_people, pair_scores, prepare_cohort
from mentorcli.model import make_people

TOPICS = ["Go", "Rust", "ML", "Sales", "Law"]
LANGUAGES = ["English", "english ", "French", "Japanese"]
ORGANISATIONS = ["", "Acme", "ACME ", "Beta"]
DEPARTMENTS = ["", "Sales", "sales", "Legal"]
ZONES = ["", "Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Kiritimati", "Pacific/Honolulu",
         "America/New_York", "UTC+05:30"]
AVAILABILITY = ["Weekday mornings", "Weekday evenings", "Mon 18:00-19:30", "Tue 09:07-10:00", "Weekends"]
GAPS = [None, 0, 3, 5.25, 5.75, 24]
REFERENCE_INSTANTS = (dt.datetime(2026, 1, 14, 12), dt.datetime(2026, 7, 15, 12))


# ----------------------------------------------------------------- the generated cohort


@st.composite
def cohorts(draw) -> tuple[pd.DataFrame, Config, list[tuple[str, str]], str]:
    n = draw(st.integers(5, 30))
    names = [f"Person{i} Surname{i}" for i in range(n)]
    emails = [f"p{i}@example.org" for i in range(n)]
    subset = lambda options, most: tuple(draw(st.lists(st.sampled_from(options), max_size=most, unique=True)))
    records = []
    for i in range(n):
        role = draw(st.sampled_from(["mentee", "mentor", "both"]))
        others = st.integers(0, n - 1).filter(lambda k, i=i: k != i)
        avoid = request = ""
        if draw(st.integers(0, 5)) == 0:
            k = draw(others)
            avoid = draw(st.sampled_from([f"Please not {names[k]}", emails[k]]))
        if draw(st.integers(0, 5)) == 0:
            request = f"I would like {names[draw(others)]}"
        choices = tuple(names[k] for k in draw(st.lists(others, max_size=3, unique=True))) \
            if draw(st.integers(0, 3)) == 0 else ()
        records.append({
            "name": names[i], "email": emails[i], "role": role,
            "goals": subset(TOPICS, 3), "expertise": subset(TOPICS, 3),
            "industry": draw(st.sampled_from(["", "Tech", "Law"])),
            "organisation": draw(st.sampled_from(ORGANISATIONS)),
            "department": draw(st.sampled_from(DEPARTMENTS)),
            "experience": draw(st.sampled_from([None, 0, 3, 10, 25])),
            "languages": subset(LANGUAGES, 2),
            "timezone": draw(st.sampled_from(ZONES)),
            "availability": subset(AVAILABILITY, 2),
            "format": subset(["Video", "Phone"], 2),
            "interests": subset(["a", "b", "c"], 2),
            "capacity": draw(st.integers(0, 3)) if role != "mentee" else 0,
            "wants": draw(st.integers(1, 2) if role == "mentee" else st.integers(0, 2)) if role != "mentor" else 0,
            "avoid": avoid, "request": request, "choices": choices,
        })
    earlier = [(emails[a], emails[b]) for a, b in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                                                                 max_size=4)) if a != b]
    rules = Rules(
        forbid_same_team=draw(st.booleans()), forbid_same_organisation=draw(st.booleans()),
        require_shared_language=draw(st.booleans()), max_timezone_gap=draw(st.sampled_from(GAPS)),
        choices_only=draw(st.booleans()),
    )
    cfg = Config()
    cfg.rules = rules
    # The independent optimum scores pairs alone. With no value on covering goals or mixing
    # departments, the networks step (mentees who want two or more mentors) values pair scores
    # alone too, so the matcher must still reach that optimum: a check on that step's exactness.
    cfg.networks = NetworkSettings(goal_value=0.0, prefer_mixed_departments=0.0)
    return make_people(records), cfg, earlier, draw(st.sampled_from(["places", "fair"]))


# ----------------------------------------------------------------- the rules, independently


def _key(text: str) -> str:
    return " ".join(str(text).casefold().split())


@functools.cache
def _offsets(zone: str) -> tuple[float, ...] | None:
    if not zone:
        return None
    if zone.startswith("UTC") and len(zone) > 3:
        sign = 1 if zone[3] == "+" else -1
        hours, minutes = zone[4:].split(":")
        return (sign * (int(hours) + int(minutes) / 60),) * 2
    info = ZoneInfo(zone)
    return tuple(instant.replace(tzinfo=info).utcoffset().total_seconds() / 3600 for instant in REFERENCE_INSTANTS)


class IndependentRules:
    """Every rule decided per pair in plain Python from the People rows; a blank answer never makes
    a rule fire. Each row's answers are read once (the generated avoid answers name a person by
    full name or email)."""

    def __init__(self, people: pd.DataFrame, cfg: Config, earlier: list[tuple[str, str]]):
        self.rules = cfg.rules
        self.rows = people.to_dict("records")
        self.earlier = {frozenset(pair) for pair in earlier}
        named = lambda text: {k for k, r in enumerate(self.rows) if r["name"] in text or r["email"] in text}
        self.avoids = [named(r["avoid"]) if r["avoid"] else set() for r in self.rows]

    def asked_for(self, a: int, b: int) -> bool:
        """Whether ``a``'s request or ranked choices name ``b``."""
        p, q = self.rows[a], self.rows[b]
        return bool(p["request"]) and (q["name"] in p["request"] or q["email"] in p["request"]) or q["name"] in p["choices"]

    def breaks(self, a: int, b: int) -> list[str]:
        """The rules mentee ``a`` with mentor ``b`` breaks."""
        rules, p, q = self.rules, self.rows[a], self.rows[b]
        broken = []
        if a == b:
            broken.append("self")
        mine, theirs = {_key(x) for x in p["languages"]}, {_key(x) for x in q["languages"]}
        if rules.require_shared_language and mine and theirs and not mine & theirs:
            broken.append("language")
        org_a, org_b = _key(p["organisation"]), _key(q["organisation"])
        dept_a, dept_b = _key(p["department"]), _key(q["department"])
        same_org = bool(org_a) and org_a == org_b
        if rules.forbid_same_team and same_org and dept_a and dept_a == dept_b:
            broken.append("team")
        if rules.forbid_same_organisation and same_org:
            broken.append("organisation")
        if b in self.avoids[a] or a in self.avoids[b]:
            broken.append("avoid")
        if frozenset((p["email"], q["email"])) in self.earlier:
            broken.append("earlier")
        zone_a, zone_b = _offsets(p["timezone"]), _offsets(q["timezone"])
        gap = rules.max_timezone_gap
        if gap is not None and zone_a and zone_b and max(abs(x - y) for x, y in zip(zone_a, zone_b)) > gap:
            broken.append("timezone")
        if rules.choices_only and p["choices"] and q["name"] not in p["choices"]:
            broken.append("choices")
        return broken


def _sides(people: pd.DataFrame) -> tuple[list[int], list[int]]:
    roles, wants = people["role"].tolist(), people["wants"].tolist()
    mentees = [k for k in range(len(people)) if roles[k] in ("mentee", "both") and wants[k] > 0]
    mentors = [k for k in range(len(people)) if roles[k] in ("mentor", "both")]
    return mentees, mentors


# ----------------------------------------------------------------- the pairing, independently


def _cents(text: str) -> int:
    return int(Decimal(text) * 100)


def exported_weights(people: pd.DataFrame, cfg: Config, earlier: list[tuple[str, str]], path: Path) -> dict:
    """(mentee, mentor) People positions -> the solver's integer objective coefficient, from the CSV
    (the 0-100 score plus any request/choice bonus, in hundredths)."""
    export_scores(people, cfg, path, force=True, avoid_pairs=earlier)
    position = {email: k for k, email in enumerate(people["email"])}
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    bonus_columns = [c for c in (rows[0] if rows else {}) if "bonus" in c]
    return {(position[r["mentee_email"]], position[r["mentor_email"]]):
            _cents(r["score"]) + sum(_cents(r[c] or "0") for c in bonus_columns) for r in rows}


def _exported_scores(people: pd.DataFrame, cfg: Config, earlier: list[tuple[str, str]]) -> dict:
    """(mentee, mentor) -> the 0-100 score x 100 (``pair_scores``) of every pair the tool allows."""
    cohort = prepare_cohort(people, cfg, avoid_pairs=earlier)
    rows, cols = np.nonzero(np.ones(cohort.shape, bool))
    scores = pair_scores(cohort, rows, cols).tolist() if len(rows) else []
    mentee, mentor = cohort.mentees.person[rows].tolist(), cohort.mentors.person[cols].tolist()
    return dict(zip(zip(mentee, mentor), scores))


def cp_sat_best(edges: list[tuple[int, int]], weights: list[int], wants: dict[int, int], capacity: dict[int, int],
                *, places: int | None = None) -> int:
    """The most places (``places`` None) or, with exactly ``places`` places, the highest total weight."""
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(len(edges))]
    for person, limit in wants.items():
        model.add(sum(v for v, (a, _) in zip(x, edges) if a == person) <= limit)
    for person, limit in capacity.items():
        model.add(sum(v for v, (_, b) in zip(x, edges) if b == person) <= limit)
    if places is None:
        model.maximize(sum(x))
    else:
        model.add(sum(x) == places)
        model.maximize(sum(w * v for w, v in zip(weights, x)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(model) == cp_model.OPTIMAL
    return round(solver.objective_value)


def independent_optimum(edges: list[tuple[int, int]], weights: dict, scores: dict, wants: dict, capacity: dict,
                        objective: str) -> tuple[int, int | None, int]:
    """(places, lowest score for ``fair`` else None, total weight) of the best pairing."""
    places = cp_sat_best(edges, [], wants, capacity) if edges else 0
    floor = None
    if objective == "fair" and places:
        levels = sorted({scores[e] for e in edges})
        low, high = 0, len(levels) - 1  # the places reachable only fall as the floor rises: bisect
        while low < high:
            middle = (low + high + 1) // 2
            above = [e for e in edges if scores[e] >= levels[middle]]
            low, high = (middle, high) if cp_sat_best(above, [], wants, capacity) == places else (low, middle - 1)
        floor = levels[low]
        edges = [e for e in edges if scores[e] >= floor]
    total = cp_sat_best(edges, [weights[e] for e in edges], wants, capacity, places=places) if places else 0
    return places, floor, total


# ----------------------------------------------------------------- the property


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts())
def test_generated_cohorts_keep_every_rule_and_reach_the_independent_optimum(tmp_path_factory, case):
    people, cfg, earlier, objective = case
    result = match_people(people, cfg, avoid_pairs=earlier, objective=objective)
    mentees, mentors = _sides(people)
    rules = IndependentRules(people, cfg, earlier)
    allowed = {(a, b) for a in mentees for b in mentors if not rules.breaks(a, b)}

    # the pairs the tool allows are exactly those the rules allow
    weights = exported_weights(people, cfg, earlier, tmp_path_factory.mktemp("export") / "scores.csv")
    assert set(weights) == allowed

    # a bonus on exactly the pairs one side asked for (a request or a ranked choice, either side)
    asked = {(a, b) for a, b in allowed if rules.asked_for(a, b) or rules.asked_for(b, a)}
    exported_scores = _exported_scores(people, cfg, earlier)
    assert {e for e in allowed if weights[e] > exported_scores[e]} == asked

    # the pairing keeps every rule, capacity and want
    pairs = list(zip(result.pairs["mentee"].tolist(), result.pairs["mentor"].tolist()))
    assert len(set(pairs)) == len(pairs)
    assert all(a != b for a, b in pairs)
    assert all(not rules.breaks(a, b) for a, b in pairs), [(a, b, rules.breaks(a, b)) for a, b in pairs]
    wants = {a: int(people.at[a, "wants"]) for a in mentees}
    capacity = {b: int(people.at[b, "capacity"]) for b in mentors}
    taken = pd.Series([a for a, _ in pairs], dtype=int).value_counts().to_dict()
    given_ = pd.Series([b for _, b in pairs], dtype=int).value_counts().to_dict()
    assert all(a in wants and count <= wants[a] for a, count in taken.items())
    assert all(b in capacity and count <= capacity[b] for b, count in given_.items())

    # and it is as good as the independent solver's, on the tool's own exported numbers
    edges = sorted(allowed)
    scores = {e: exported_scores[e] for e in edges}
    places, floor, total = independent_optimum(edges, weights, scores, wants, capacity, objective)
    assert len(pairs) == places
    assert sum(weights[p] for p in pairs) == total
    assert [round(s * 100) for s in result.pairs["score"]] == [scores[p] for p in pairs]
    if objective == "fair" and pairs:
        assert min(scores[p] for p in pairs) == floor
        assert math.isclose(result.min_score, floor / 100)

    # the scale path (candidate lists, pricing rounds, minimum cuts) reaches the same optimum as the
    # dense reference, with two candidates per mentee so that pricing has to bring the rest in
    scale_cfg = dataclasses.replace(cfg, match=dataclasses.replace(cfg.match, dense_limit=1, candidates=2))
    at_scale = match_people(people, scale_cfg, avoid_pairs=earlier, objective=objective)
    assert (result.settings["method"], at_scale.settings["method"]) == ("dense", "sparse")
    scale_pairs = list(zip(at_scale.pairs["mentee"].tolist(), at_scale.pairs["mentor"].tolist()))
    assert len(scale_pairs) == places and sum(weights[p] for p in scale_pairs) == total
    assert at_scale.settings["solver_total"] == result.settings["solver_total"]
    assert at_scale.settings["fair_floor"] == result.settings["fair_floor"]
    assert at_scale.settings["optimality_proven"]


def test_the_independent_rules_see_a_day_between_kiritimati_and_honolulu():
    people = make_people([{"name": "A A", "email": "a@example.org", "role": "mentee", "timezone": "Pacific/Kiritimati"},
                          {"name": "B B", "email": "b@example.org", "role": "mentor", "timezone": "Pacific/Honolulu"}])
    cfg = dataclasses.replace(Config(), rules=Rules(max_timezone_gap=3))
    assert IndependentRules(people, cfg, []).breaks(0, 1) == ["timezone"]

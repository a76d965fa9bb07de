"""Circles (`mentor match --circles N` / `--peer-circles N`): rules between every two members, the
optimum against brute force, the proven bound, determinism, the real CLI on the bundled example."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import re
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorcli.availability import weekly_utc_grid
from mentorcli.config import CircleSettings, Config, config_from_dict, render_config_toml
from mentorcli.errors import MentorError
from mentorcli.match import broken_rules, match_circles, score_matrix
from mentorcli.matching import circle_model
from mentorcli.matching.encode import option_key
from mentorcli.model import make_people

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples"
MEMBER_RULES = {"named in an avoid list", "paired in an earlier cohort", "same team"}
"""The rules that hold between every two members (the reasons ``broken_rules`` gives)."""
GOALS = ["Leadership", "Data science", "Public speaking"]
AVAILABILITY = ["Weekday evenings", "Weekday lunchtimes"]


def _config(**circles: object) -> Config:
    config = Config()
    config.circles = dataclasses.replace(CircleSettings(), **circles)  # type: ignore[arg-type]
    return config


def _cohort(draw_roles: list[str], goals: list[list[str]], departments: list[str], available: list[str],
            avoid: list[int | None]) -> pd.DataFrame:
    records = []
    for i, role in enumerate(draw_roles):
        records.append({
            "name": f"Person {i}", "email": f"p{i}@example.org", "role": role,
            "goals": goals[i] if role != "mentor" else (),
            "expertise": goals[i] if role != "mentee" else (),
            "organisation": "Org", "department": departments[i], "experience": float(i % 4 * 3),
            "timezone": "Europe/London", "availability": (available[i],) if available[i] else (),
            "avoid": f"p{avoid[i]}@example.org" if avoid[i] is not None and avoid[i] != i else "",
            "capacity": 2 if role != "mentee" else 0, "wants": 1 if role != "mentor" else 0,
        })
    return make_people(records)


@st.composite
def small_cohorts(draw: st.DrawFn, roles: tuple[str, ...]) -> pd.DataFrame:
    n = draw(st.integers(4, 9))
    return _cohort(
        [draw(st.sampled_from(roles)) for _ in range(n)],
        [draw(st.lists(st.sampled_from(GOALS), min_size=1, max_size=2, unique=True)) for _ in range(n)],
        [draw(st.sampled_from(["A", "B", "C", ""])) for _ in range(n)],
        [draw(st.sampled_from([*AVAILABILITY, ""])) for _ in range(n)],
        [draw(st.one_of(st.none(), st.integers(0, n - 1))) for _ in range(n)],
    )


# --------------------------------------------------------------------------- an independent brute force


def _wanted(people: pd.DataFrame, p: int) -> set[str]:
    return {option_key(t) for t in (*people.at[p, "goals"], *people.at[p, "topics"])}


def _offered(people: pd.DataFrame, p: int) -> set[str]:
    return {option_key(t) for t in (*people.at[p, "expertise"], *people.at[p, "topics"])}


@functools.lru_cache(maxsize=64)
def _reasons_of(people_key: int) -> dict[tuple[int, int], set[str]]:
    people, config = _REGISTERED[people_key]
    n = len(people)
    cells = [(a, b) for a in range(n) for b in range(n)]
    found = broken_rules(people, config, [a for a, _ in cells], [b for _, b in cells])
    return {cell: set(words) for cell, words in zip(cells, found)}


_REGISTERED: dict[int, tuple[pd.DataFrame, Config]] = {}


def _pair_reasons(people: pd.DataFrame, config: Config) -> dict[tuple[int, int], set[str]]:
    """``broken_rules`` of every ordered pair (one call: one encoding of the cohort)."""
    key = id(people)
    _REGISTERED[key] = (people, config)
    _reasons_of.cache_clear()
    return _reasons_of(key)


def _circle_ok(people: pd.DataFrame, config: Config, lead: int, members: tuple[int, ...], kind: str,
               masks: np.ndarray, reasons: dict[tuple[int, int], set[str]] | None = None) -> bool:
    """Every rule of a circle, checked pair by pair with ``broken_rules`` and set by set."""
    reasons = reasons if reasons is not None else _pair_reasons(people, config)
    if any(reasons[m, lead] for m in members):
        return False
    for a, b in itertools.combinations(members, 2):
        if MEMBER_RULES & reasons[a, b]:
            return False
    goals = _offered(people, lead) if kind == "mentor-led" else _wanted(people, lead)
    for m in members:
        goals &= _wanted(people, m)
    if not goals:
        return False
    if config.rules.require_shared_language:
        spoken = [{option_key(t) for t in people.at[p, "languages"]} for p in (lead, *members)]
        answered = [languages for languages in spoken if languages]
        if answered and not set.intersection(*answered):
            return False  # the circle meets together: one language all its people speak
    if config.circles.mix_departments:
        departments = [people.at[p, "department"] for p in (lead, *members) if people.at[p, "department"]]
        if len(departments) != len(set(departments)):
            return False
    given_masks = [masks[p] for p in (lead, *members) if masks[p].any()]
    return not given_masks or bool(np.logical_and.reduce(given_masks).any())


def _volunteer(people: pd.DataFrame, p: int) -> str:
    return str(people.at[p, "facilitate"]) if "facilitate" in people.columns else ""


def facilitator_rank(people: pd.DataFrame) -> list[tuple[int, float, int]]:
    """Who may facilitate for whom in a peer circle: the higher key leads (volunteers, then the
    most experienced, then the earlier signup); someone who said no never leads."""
    years = people["experience"].fillna(-1).tolist()
    offered = {"yes": 2, "": 1, "no": 0}
    return [(offered[_volunteer(people, p)], years[p], -p) for p in range(len(people))]


def brute_force(people: pd.DataFrame, config: Config, size: int, kind: str) -> tuple[int, float]:
    """(people placed, total score) of the best circles, by listing every circle and every packing."""
    weekly = weekly_utc_grid(people, config)
    masks = weekly.masks[weekly.ids]
    matrix = score_matrix(people, config)
    row_of = {int(p): i for i, p in enumerate(matrix.mentees.tolist())}
    col_of = {int(p): j for j, p in enumerate(matrix.mentors.tolist())}
    roles = people["role"].tolist()
    rank = facilitator_rank(people)
    min_size = config.circles.min_size
    if kind == "mentor-led":
        leads = [p for p in range(len(people)) if roles[p] in ("mentor", "both") and people.at[p, "capacity"] > 0]
        joiners = [p for p in range(len(people)) if roles[p] in ("mentee", "both") and people.at[p, "wants"] > 0]
        most = size
    else:
        joiners = [p for p in range(len(people)) if roles[p] in config.circles.peer_roles]
        leads = [p for p in joiners if _volunteer(people, p) != "no"]
        most = size - 1
    circles = []
    reasons = _pair_reasons(people, config)
    for lead in leads:
        for count in range(min_size - 1, most + 1):
            for members in itertools.combinations([j for j in joiners if j != lead], count):
                if kind == "peer" and any(rank[m] > rank[lead] for m in members):
                    continue  # a volunteer, else the most experienced, facilitates (ties: the earlier signup)
                if _circle_ok(people, config, lead, members, kind, masks, reasons):
                    score = sum(matrix.scores[row_of[m], col_of[lead]] for m in members)
                    places = len(members) + (1 if kind == "peer" else 0)
                    circles.append((lead, frozenset(members), places, round(score * 100)))
    limit = {lead: int(people.at[lead, "capacity"]) if kind == "mentor-led" else 1 for lead in leads}

    @functools.cache
    def best(k: int, used: frozenset[int], led: tuple[tuple[int, int], ...]) -> tuple[int, int]:
        if k == len(circles):
            return (0, 0)
        lead, members, places, score = circles[k]
        skip = best(k + 1, used, led)
        counts = dict(led)
        if members & used or lead in used or counts.get(lead, 0) >= limit[lead] or (members & set(counts)):
            return skip
        counts[lead] = counts.get(lead, 0) + 1
        now = used | members | ({lead} if kind == "peer" else frozenset())
        rest = best(k + 1, frozenset(now), tuple(sorted(counts.items())))
        return max(skip, (rest[0] + places, rest[1] + score))

    places, score = best(0, frozenset(), ())
    return places, score / 100


def _placed_and_score(result) -> tuple[int, float]:
    return int(result.settings["places"]), float(result.settings["total_score"])


# --------------------------------------------------------------------------- every rule, every two members


def _check_every_circle(people: pd.DataFrame, config: Config, result, size: int) -> None:
    index = {e: i for i, e in enumerate(people["email"].tolist())}
    weekly = weekly_utc_grid(people, config)
    masks = weekly.masks[weekly.ids]
    seen: list[int] = []
    reasons = _pair_reasons(people, config)
    for circle in result.circles:
        lead = index[circle.members[0].email]
        members = tuple(index[m.email] for m in circle.members[1:])
        assert circle.members[0].role == ("mentor" if result.kind == "mentor-led" else "facilitator")
        assert {m.role for m in circle.members[1:]} == {"mentee" if result.kind == "mentor-led" else "peer"}
        assert config.circles.min_size <= len(circle.members) <= (size + 1 if result.kind == "mentor-led" else size)
        assert _circle_ok(people, config, lead, members, result.kind, masks, reasons), circle
        seen += list(members)
        if result.kind == "peer":
            seen.append(lead)
            rank = facilitator_rank(people)
            assert _volunteer(people, lead) != "no", "someone who said no facilitates"
            assert all(rank[lead] > rank[m] for m in members), "a volunteer, else the most experienced, must facilitate"
    assert len(seen) == len(set(seen)), "someone is in two circles"
    if result.kind == "mentor-led":
        led = pd.Series([c.members[0].email for c in result.circles], dtype=object).value_counts()
        capacity = dict(zip(people["email"], people["capacity"]))
        assert all(count <= capacity[email] for email, count in led.items()), "a mentor leads more circles than they can"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("mentor", "mentee", "mentee", "both")), st.integers(2, 3), st.booleans())
def test_mentor_led_circles_keep_every_rule_between_every_two_members(people, size, mix):
    config = _config(mix_departments=mix)
    result = match_circles(people, config, size=size, kind="mentor-led")
    _check_every_circle(people, config, result, size)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("both",)), st.integers(3, 4))
def test_peer_circles_keep_every_rule_between_every_two_members(people, size):
    config = _config()
    result = match_circles(people, config, size=size, kind="peer")
    _check_every_circle(people, config, result, size)


# --------------------------------------------------------------------------- the optimum and the bound


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("mentor", "mentee", "mentee", "both")), st.booleans())
def test_mentor_led_optimum_equals_brute_force(people, mix):
    config = _config(mix_departments=mix)
    result = match_circles(people, config, size=3, kind="mentor-led")
    places, score = brute_force(people, config, 3, "mentor-led")
    assert _placed_and_score(result) == (places, pytest.approx(score, abs=0.011))
    assert result.status == "optimal"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("both",)))
def test_peer_optimum_equals_brute_force(people):
    config = _config()
    result = match_circles(people, config, size=4, kind="peer")
    places, score = brute_force(people, config, 4, "peer")
    assert _placed_and_score(result) == (places, pytest.approx(score, abs=0.011))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("mentor", "mentee", "mentee", "both")))
def test_column_generation_bound_is_above_the_true_optimum(people):
    """With listing switched off, the priced bound must still be at least the brute-force optimum."""
    config = _config()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(circle_model, "ENUMERATE_LIMIT", 0)
        result = match_circles(people, config, size=3, kind="mentor-led")
    places, score = brute_force(people, config, 3, "mentor-led")
    place = result.settings["place_value"]
    assert result.bound >= result.objective
    assert result.bound >= places * place + round(score * 100) - 1e-6
    assert result.objective <= places * place + round(score * 100)


def test_bound_is_above_the_objective_on_a_priced_cohort(monkeypatch):
    monkeypatch.setattr(circle_model, "ENUMERATE_LIMIT", 0)
    people, config = _example()
    result = match_circles(people, config, size=4, kind="mentor-led")
    assert result.bound >= result.objective > 0
    assert result.settings["converged"] is True
    assert result.status == "optimal" or re.fullmatch(r"within \d+\.\d\d% of the best possible", result.status)


def test_gap_is_in_places_when_places_fall_short_else_in_score():
    from mentorcli.matching.circles import _gap

    place = 1_000_001
    assert _gap(5 * place + 700, 5 * place + 700, place) == (0.0, 5, 700)
    assert _gap(5 * place + 700, 5 * place + 800, place)[0] == 12.5  # 100 of 800 in score
    assert _gap(4 * place + 700, 5 * place + 800, place)[:2] == (20.0, 5)  # one place of 5


def test_circle_with_a_conflict_between_members_is_priced_without_it():
    """The avoid list between two members removes that circle; the branch picks the next best."""
    people = _cohort(["mentor", "mentee", "mentee", "mentee"], [["Leadership"]] * 4, ["A", "B", "C", "D"],
                     ["Weekday evenings"] * 4, [None, 2, None, None])
    result = match_circles(people, _config(), size=3, kind="mentor-led")
    assert len(result.circles) == 1
    emails = set(result.circles[0].emails)
    assert not {"p1@example.org", "p2@example.org"} <= emails
    assert len(emails) == 3


# --------------------------------------------------------------------------- the bundled example, the real CLI


def _example() -> tuple[pd.DataFrame, Config]:
    from mentorcli.config import load_config
    from mentorcli.signups import read_signups

    config = load_config(EXAMPLE / "mentor.toml")
    return read_signups([EXAMPLE / "signups.xlsx"], config).people, config


@pytest.fixture
def example_dir(tmp_path: Path, monkeypatch) -> Path:
    shutil.copy(EXAMPLE / "signups.xlsx", tmp_path / "signups.xlsx")
    shutil.copy(EXAMPLE / "mentor.toml", tmp_path / "mentor.toml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _rows(path: Path, sheet: str) -> list[tuple]:
    return list(openpyxl.load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True))


@pytest.mark.parametrize("option, size, lead", [("--circles", 4, "mentor"), ("--peer-circles", 5, "facilitator")])
def test_cli_circles_on_the_bundled_example(cli, example_dir, option, size, lead):
    result = cli("match", "signups.xlsx", option, size, "-o", "circles.xlsx", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"circles", "kind", "placed", "unmatched", "status", "gap_percent", "total_score", "output"}
    book = openpyxl.load_workbook(example_dir / "circles.xlsx", read_only=True)
    assert book.sheetnames == ["Circles", "Unmatched", "Problems", "People", "Settings"]
    rows = _rows(example_dir / "circles.xlsx", "Circles")
    assert rows[0] == ("Circle ID", "Name", "Email", "Role", "Score", "Why")
    by_circle: dict[str, list[tuple]] = {}
    for row in rows[1:]:
        by_circle.setdefault(row[0], []).append(row)
    assert len(by_circle) == data["circles"] > 0
    assert list(by_circle) == [f"C{k:03d}" for k in range(1, len(by_circle) + 1)]
    for members in by_circle.values():
        assert members[0][3] == lead and {m[3] for m in members[1:]} == {"member"}
        assert len({m[4] for m in members}) == 1 and "Shared goal: " in members[0][5]
        assert "common weekly window: " in members[0][5]
    people = {r[1] for r in _rows(example_dir / "circles.xlsx", "People")[1:]}
    placed = [r[2] for r in rows[1:] if r[3] == "member" or lead == "facilitator"]
    unmatched = _rows(example_dir / "circles.xlsx", "Unmatched")
    assert unmatched[0] == ("Name", "Email", "Role", "Reason")
    assert len(unmatched) - 1 == data["unmatched"] and all(r[3] for r in unmatched[1:])
    assert not set(placed) & {r[1] for r in unmatched[1:]}
    assert set(placed) <= people
    settings_rows = dict(_rows(example_dir / "circles.xlsx", "Settings")[1:])
    assert settings_rows["Circles"] == ("mentor-led" if lead == "mentor" else "peer")
    assert settings_rows["Circle size"] == str(size)
    assert settings_rows["Solution"] == data["status"]
    assert re.fullmatch(r"optimal|within \d+\.\d\d% of the best possible", settings_rows["Solution"])
    assert int(settings_rows["Bound"]) >= int(settings_rows["result.objective"])
    proven = int(settings_rows["Bound"]) == int(settings_rows["result.objective"])
    assert (settings_rows["Solution"] == "optimal") == proven
    assert data["gap_percent"] == (0 if proven else pytest.approx(float(re.findall(r"[\d.]+", data["status"])[0])))
    assert data["status"] in result.stderr


def test_cli_circles_are_deterministic_to_the_byte(cli, example_dir):
    for name in ("one.xlsx", "two.xlsx"):
        result = cli("match", "signups.xlsx", "--circles", "4", "-o", name)
        assert result.exit_code == 0, result.stderr
    assert hashlib.sha256((example_dir / "one.xlsx").read_bytes()).digest() == \
        hashlib.sha256((example_dir / "two.xlsx").read_bytes()).digest()


@pytest.mark.parametrize("args, words", [
    (["--circles", "3", "--peer-circles", "4"], "cannot be used together"),
    (["--circles", "3", "-o", "c.csv"], "written to a workbook"),
    (["--circles", "1"], "smaller than [circles] min_size"),
    (["--peer-circles", "2"], "smaller than [circles] min_size"),
])
def test_cli_refuses_what_circles_cannot_do_in_one_line(cli, example_dir, args, words):
    result = cli("match", "signups.xlsx", *args)
    assert result.exit_code == 1
    assert words in result.stderr and "Traceback" not in result.stderr
    assert not (example_dir / "pairs.xlsx").exists()


def test_avoid_pairs_keeps_earlier_pairs_apart_in_circles(cli, example_dir):
    first = cli("match", "signups.xlsx", "--circles", "4", "-o", "first.xlsx")
    assert first.exit_code == 0, first.stderr
    rows = _rows(example_dir / "first.xlsx", "Circles")[1:]
    earlier = example_dir / "earlier.csv"
    together = [(a[2], b[2]) for a, b in itertools.combinations(rows, 2) if a[0] == b[0]]
    earlier.write_text("mentee_email,mentor_email\n" + "".join(f"{a},{b}\n" for a, b in together), encoding="utf-8")
    second = cli("match", "signups.xlsx", "--circles", "4", "-o", "second.xlsx", "--avoid-pairs", "earlier.csv")
    assert second.exit_code == 0, second.stderr
    circles: dict[str, set[str]] = {}
    for row in _rows(example_dir / "second.xlsx", "Circles")[1:]:
        circles.setdefault(row[0], set()).add(row[2])
    pairs = {frozenset(p) for p in together}
    assert circles and all(frozenset(p) not in pairs for c in circles.values() for p in itertools.combinations(c, 2))


def test_default_match_writes_no_circles_sheet(cli, example_dir):
    result = cli("match", "signups.xlsx")
    assert result.exit_code == 0, result.stderr
    assert "Circles" not in openpyxl.load_workbook(example_dir / "pairs.xlsx", read_only=True).sheetnames


# --------------------------------------------------------------------------- settings


def test_circles_settings_load_and_render_round_trip():
    import tomllib

    config = config_from_dict({"circles": {"min_size": 4, "mix_departments": True, "peer_roles": ["Mentee", "both"]}})
    assert config.circles.min_size == 4 and config.circles.mix_departments
    assert config.circles.peer_roles == ["mentee", "both"]
    again = config_from_dict(tomllib.loads(render_config_toml({}, config)))
    assert again.circles == config.circles


@pytest.mark.parametrize("table, words", [
    ({"peer_roles": ["peers"]}, "circles.peer_roles"),
    ({"peer_roles": []}, "circles.peer_roles"),
    ({"min_size": 1}, "circles.min_size"),
    ({"size": 3}, "unknown setting circles.size"),
])
def test_bad_circles_settings_are_one_line_errors(table, words):
    with pytest.raises(MentorError, match=re.escape(words)):
        config_from_dict({"circles": table})


def test_min_size_counts_the_lead():
    """Default min_size 3: a mentor and two mentees make a circle, a mentor and one do not."""
    two = _cohort(["mentor", "mentee", "mentee"], [["Leadership"]] * 3, ["A", "B", "C"], ["Weekday evenings"] * 3,
                  [None] * 3)
    assert len(match_circles(two, _config(), size=3, kind="mentor-led").circles) == 1
    one = two.iloc[:2].reset_index(drop=True)
    result = match_circles(one, _config(), size=3, kind="mentor-led")
    assert not result.circles and set(result.unmatched["person"]) == {0, 1}
    assert "at least 3" in result.unmatched.set_index("person").at[1, "reason"]

"""A circle meets together, so with ``[rules] require_shared_language`` all its people speak one
language (not only each member one shared with the lead): issue 16's "every rule between every two
of its members". Found by the 2,000-person cycle (benchmarks/bench_circle_cycle.py)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorcli.config import Config
from mentorcli.match import match_circles
from mentorcli.model import make_people
from tests.conftest import EXAMPLES
from tests.test_circle_keep import A1, A2, A3, A4, M1, M2, circles_of, match, person, read, write_signups
from tests.test_circles import _check_every_circle, _placed_and_score, brute_force, small_cohorts


def _person(i: int, role: str, languages: tuple[str, ...], years: float = 1.0) -> dict:
    return {"name": f"Person {i}", "email": f"p{i}@example.org", "role": role, "goals": ("Leadership",),
            "expertise": ("Leadership",), "department": f"D{i}", "experience": years, "languages": languages,
            "timezone": "Europe/London", "availability": ("Weekday evenings",),
            "capacity": 1 if role != "mentee" else 0, "wants": 1 if role != "mentor" else 0}


def test_members_who_share_no_language_are_not_put_together() -> None:
    people = make_people([_person(0, "mentor", ("English", "Spanish")), _person(1, "mentee", ("Spanish",)),
                          _person(2, "mentee", ("English",)), _person(3, "mentee", ("English",))])
    [circle] = match_circles(people, Config(), size=3, kind="mentor-led").circles
    assert [m.email for m in circle.members] == ["p0@example.org", "p2@example.org", "p3@example.org"]
    assert "common language: English" in circle.why


def test_a_member_who_gave_no_language_fits_any() -> None:
    people = make_people([_person(0, "mentor", ("Spanish",)), _person(1, "mentee", ()), _person(2, "mentee", ("Spanish",))])
    [circle] = match_circles(people, Config(), size=2, kind="mentor-led").circles
    assert len(circle.members) == 3 and "common language: Spanish" in circle.why


def test_the_rule_switched_off_lets_them_meet() -> None:
    people = make_people([_person(0, "mentor", ("English", "Spanish")), _person(1, "mentee", ("Spanish",)),
                          _person(2, "mentee", ("English",))])
    config = Config()
    config.rules = dataclasses.replace(config.rules, require_shared_language=False)
    assert match_circles(people, Config(), size=2, kind="mentor-led").circles == []
    [circle] = match_circles(people, config, size=2, kind="mentor-led").circles
    assert len(circle.members) == 3 and "common language" not in circle.why


def test_peers_share_one_language_too() -> None:
    people = make_people([_person(0, "both", ("English", "French"), 9), _person(1, "both", ("French",)),
                          _person(2, "both", ("English",)), _person(3, "both", ("French", "Spanish"))])
    [circle] = match_circles(people, Config(), size=3, kind="peer").circles
    assert {m.email for m in circle.members} == {"p0@example.org", "p1@example.org", "p3@example.org"}


def _with_languages(people: pd.DataFrame, data: st.DataObject) -> pd.DataFrame:
    people = people.copy()
    spoken = st.sampled_from([(), ("English",), ("Spanish",), ("English", "Spanish"), ("English", "Spanish"),
                              ("French", "Spanish")])
    people["languages"] = pd.Series([data.draw(spoken) for _ in range(len(people))], dtype=object)
    return people


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("mentor", "mentee", "mentee", "both")), st.data())
def test_mentor_led_optimum_with_languages_equals_brute_force(people: pd.DataFrame, data: st.DataObject) -> None:
    people = _with_languages(people, data)
    config = Config()
    result = match_circles(people, config, size=3, kind="mentor-led")
    _check_every_circle(people, config, result, 3)
    places, score = brute_force(people, config, 3, "mentor-led")
    assert _placed_and_score(result) == (places, pytest.approx(score, abs=0.011))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cohorts(("both",)), st.data())
def test_peer_optimum_with_languages_equals_brute_force(people: pd.DataFrame, data: st.DataObject) -> None:
    people = _with_languages(people, data)
    config = Config()
    result = match_circles(people, config, size=4, kind="peer")
    _check_every_circle(people, config, result, 4)
    places, score = brute_force(people, config, 4, "peer")
    assert _placed_and_score(result) == (places, pytest.approx(score, abs=0.011))


def test_a_late_signup_joins_a_kept_circle_only_in_a_language_every_member_speaks(tmp_path: Path) -> None:
    """M2 speaks English and Spanish, its kept members English only: B1 (Spanish only, allowed with
    M2) may not join C002; B2 (English) may. Through ``mentor match --circles --keep``."""
    shutil.copy(EXAMPLES / "mentor.toml", tmp_path / "mentor.toml")
    first = [M1, {**M2, "languages": "English, Spanish"}, A1, A2, A3, A4]
    write_signups(tmp_path / "signups.xlsx", first)
    match(tmp_path, "signups.xlsx", "circles.xlsx")
    spanish = {**person("b1", "Mentee", goals="Data science"), "languages": "Spanish"}
    write_signups(tmp_path / "late.xlsx", [*first, spanish])
    match(tmp_path, "late.xlsx", "new.xlsx", keep="circles.xlsx")
    assert circles_of(read(tmp_path, "new.xlsx"))["C002"] == ["m2", "a3", "a4"]
    write_signups(tmp_path / "late.xlsx", [*first, person("b2", "Mentee", goals="Data science")])
    match(tmp_path, "late.xlsx", "new.xlsx", keep="circles.xlsx", force=True)
    assert circles_of(read(tmp_path, "new.xlsx"))["C002"] == ["m2", "a3", "a4", "b2"]

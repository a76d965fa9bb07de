"""A circle's weekly window is one the scheduler can use for every member: someone who gave no
availability is taken to accept ``[schedule] earliest``-``latest`` in their own time zone, by the
circle solver as by the scheduler (the 2,000-person cycle found 312 least-bad meetings, each with
a member who gave none: the solver had counted them free at any hour)."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl

from mentorcli import pipeline
from mentorcli.config import Config
from mentorcli.match import match_circles
from mentorcli.model import make_people
from tests.conftest import EXAMPLES
from tests.test_circle_keep import A1, A2, M1, config_of, person, write_signups


def _person(i: int, role: str, zone: str, availability: tuple[str, ...]) -> dict:
    return {"name": f"Person {i}", "email": f"p{i}@example.org", "role": role, "goals": ("Leadership",),
            "expertise": ("Leadership",), "department": f"D{i}", "timezone": zone, "availability": availability,
            "capacity": 1 if role != "mentee" else 0, "wants": 1 if role != "mentor" else 0}


EVENINGS = ("Weekday evenings",)


def test_no_availability_far_away_is_not_put_with_evenings_it_would_spend_asleep() -> None:
    """London weekday evenings are 02:00-05:00 in Tokyo: outside 08:00-21:00 there."""
    people = make_people([_person(0, "mentor", "Europe/London", EVENINGS), _person(1, "mentee", "Europe/London", EVENINGS),
                          _person(2, "mentee", "Asia/Tokyo", ())])
    result = match_circles(people, Config(), size=2, kind="mentor-led")
    assert result.circles == []
    assert "p2@example.org" not in {m.email for c in result.circles for m in c.members}


def test_no_availability_nearby_fits_inside_earliest_and_latest() -> None:
    people = make_people([_person(0, "mentor", "Europe/London", EVENINGS), _person(1, "mentee", "Europe/London", EVENINGS),
                          _person(2, "mentee", "Europe/Paris", ())])
    [circle] = match_circles(people, Config(), size=2, kind="mentor-led").circles
    assert len(circle.members) == 3 and "Person 2 gave no availability" in circle.why


def test_the_latest_hour_is_the_limit() -> None:
    """Evenings end 21:00 in London; someone in Lisbon (same hour) fits with latest 21:00 but not 19:00
    (18:00-19:00 London leaves no half hour... the check-in must end by latest in their zone)."""
    people = make_people([_person(0, "mentor", "Europe/London", EVENINGS), _person(1, "mentee", "Europe/London", EVENINGS),
                          _person(2, "mentee", "Europe/Berlin", ())])
    config = Config()
    assert len(match_circles(people, config, size=2, kind="mentor-led").circles) == 1
    config.schedule.latest = "19:00"  # Berlin 19:00 is London 18:00: the evening starts then, no half hour left
    assert match_circles(people, config, size=2, kind="mentor-led").circles == []
    config.schedule.latest = "19:30"
    assert len(match_circles(people, config, size=2, kind="mentor-led").circles) == 1


def test_the_scheduler_then_finds_a_time_every_member_can_make(tmp_path: Path) -> None:
    """Through the real workbook: the circle with a member who gave no availability is scheduled
    with no least-bad flag."""
    shutil.copy(EXAMPLES / "mentor.toml", tmp_path / "mentor.toml")
    blank = {**person("a3", "Mentee", goals="Leadership"), "availability": "", "timezone": "Europe/Berlin"}
    write_signups(tmp_path / "signups.xlsx", [M1, A1, A2, blank])
    run = pipeline.match([tmp_path / "signups.xlsx"], config=config_of(tmp_path), output=tmp_path / "circles.xlsx",
                         circles=3)
    assert isinstance(run, pipeline.CircleRun)
    [circle] = run.result.circles
    assert len(circle.members) == 4
    pipeline.schedule(tmp_path / "circles.xlsx", config=config_of(tmp_path), out=tmp_path / "calendar")
    sheet = openpyxl.load_workbook(tmp_path / "calendar" / "checkins.xlsx").active
    header = [c.value for c in sheet[1]]
    flags = [c for c in header if c and "flag" in str(c).lower()]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows and flags
    assert all(not row[header.index(flags[0])] for row in rows), rows[0]

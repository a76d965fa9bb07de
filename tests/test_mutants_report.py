"""Mutants of ``mentor report`` that no test killed (issue 15 item 6): each threshold at its exact
limit and one day (or one step) either side, and a participant's email holding only their own
pairs' check-in dates.

Written against the public stage functions (``plan_checkins``, ``write_schedule``,
``read_schedule``, ``read_checkin_logs``, ``build_report``, ``write_report``) and the files they
write, read back with openpyxl and the stdlib email parser, so a refactoring of the modules
behind them keeps these tests meaningful.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mentorcli.config import config_from_dict
from mentorcli.model import PairingBook, make_people
from mentorcli.report import (
    build_report,
    read_checkin_logs,
    read_schedule,
    write_report,
)
from mentorcli.schedule import plan_checkins, write_schedule

AS_OF = dt.date(2026, 4, 20)
SCHEDULED_AS_OF = dt.date(2026, 3, 31)  # a Tuesday: nobody's check-in day; Jan-Mar due, April to come
FORM_COLUMNS = {"email": "Your email", "date": "When did you meet?", "rating": "Rating"}
COHORT = {"name": "Autumn Mentoring", "coordinator_name": "Cora Coordinator",
          "coordinator_email": "cora@example.org"}
# The cadences' scaled defaults as the configuration reference states them: 1.5 periods, rounded up.
SCALED_DEFAULT = {"monthly": 45, "weekly": 11, "fortnightly": 21, "quarterly": 137}


def person(name: str, email_address: str, role: str, availability: str, zone: str = "Europe/London") -> dict:
    return {"name": name, "email": email_address, "role": role, "timezone": zone,
            "availability": (availability,), "goals": ("Leadership",)}


def book_of(people: list[dict], pairs: list[tuple[str, str]]) -> PairingBook:
    """A PairingBook as ``read_pairing_workbook`` returns it, from (mentee, mentor) emails."""
    frame = make_people(people)
    names = dict(zip(frame["email"], frame["name"]))
    rows = [{"pair_id": f"P{i:03d}", "mentee_email": mentee, "mentor_email": mentor, "mentee": names[mentee],
             "mentor": names[mentor], "score": 50.0, "why": "", "row": i + 1}
            for i, (mentee, mentor) in enumerate(pairs, 1)]
    return PairingBook(path=Path("pairs.xlsx"), pairs=pd.DataFrame(rows), people=frame)


def config(folder: Path, **sections: dict):
    raw = {"cohort": COHORT, "checkins": {"columns": FORM_COLUMNS}, **sections}
    return config_from_dict(raw, folder / "mentor.toml")


def write_form(path: Path, rows: Sequence[tuple[str, dt.date, int | None]]) -> Path:
    """A check-in form export: who answered, the day they met, their rating."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(FORM_COLUMNS.values()))
        for address, day, rating in rows:
            writer.writerow([address, day.isoformat(), "" if rating is None else rating])
    return path


# ------------------------------------------------------------------------ at risk: days without a check-in


def quiet_pairs_book() -> PairingBook:
    people = []
    pairs = []
    for i in range(3):
        people += [person(f"Mentee {i}", f"mentee{i}@example.org", "mentee", "Weekday evenings"),
                   person(f"Mentor {i}", f"mentor{i}@example.org", "mentor", "Weekday evenings")]
        pairs.append((f"mentee{i}@example.org", f"mentor{i}@example.org"))
    return book_of(people, pairs)


def quiet_report(tmp_path: Path, limit: int, settings: dict):
    """Three pairs whose last check-in was ``limit - 1``, ``limit`` and ``limit + 1`` days before
    the report date (a form log, no schedule: only the days since the last check-in count)."""
    book = quiet_pairs_book()
    cfg = config(tmp_path, **settings)
    rows = [(f"mentee{i}@example.org", AS_OF - dt.timedelta(days=limit - 1 + i), 4) for i in range(3)]
    logs, problems = read_checkin_logs([write_form(tmp_path / "log.csv", rows)], book, cfg)
    assert problems == []
    return build_report(book, None, logs, cfg, as_of=AS_OF)


@pytest.mark.parametrize("cadence", sorted(SCALED_DEFAULT))
def test_a_pair_is_at_risk_from_exactly_the_cadences_scaled_number_of_quiet_days(tmp_path, cadence):
    limit = SCALED_DEFAULT[cadence]
    report = quiet_report(tmp_path, limit, {"schedule": {"cadence": cadence}})
    status = report.status.set_index("pair_id")
    assert status["days_since"].tolist() == [limit - 1, limit, limit + 1]
    assert status["at_risk"].tolist() == [False, True, True]
    assert status["reason"].tolist() == ["", f"no check-in for {limit} days", f"no check-in for {limit + 1} days"]
    assert report.totals["pairs_at_risk"] == 2
    assert report.totals["active_pairs"] == 1          # active: a check-in fewer than the limit's days ago


@pytest.mark.parametrize(("cadence", "limit"), [("weekly", 20), ("monthly", 20), ("quarterly", 1), ("monthly", 46)])
def test_an_explicit_at_risk_days_replaces_the_scaled_default_at_its_exact_limit(tmp_path, cadence, limit):
    report = quiet_report(tmp_path, limit, {"schedule": {"cadence": cadence}, "report": {"at_risk_days": limit}})
    status = report.status.set_index("pair_id")
    assert status["days_since"].tolist() == [limit - 1, limit, limit + 1]
    assert status["at_risk"].tolist() == [False, True, True]
    assert report.totals["active_pairs"] == 1
    assert report.settings["at_risk_days"] == limit


# ------------------------------------------------------------------------ a real schedule, logged by hand


def scheduled_people() -> list[dict]:
    """Three pairs that meet on different weekdays, so no two pairs share a check-in day."""
    return [
        person("Ann Archer", "ann@example.org", "mentee", "Mon 18:00-21:00"),
        person("Bob Baker", "bob@example.org", "mentor", "Mon 18:00-21:00"),
        person("Cat Carter", "cat@example.org", "mentee", "Thu 18:00-21:00"),
        person("Dan Dixon", "dan@example.org", "mentor", "Mon-Fri 18:00-21:00"),
        person("Eve Evans", "eve@example.org", "mentee", "Wed 18:00-21:00"),
    ]


SCHEDULED_PAIRS = [("ann@example.org", "bob@example.org"), ("cat@example.org", "dan@example.org"),
                   ("eve@example.org", "dan@example.org")]
# (pair, occurrence) -> (Held, Rating): P001 held Jan and Mar (ratings 1 and 3: mean exactly 2, last 3),
# P002 missed Jan and Mar (1 missed in a row), P003 held Jan only (2 missed in a row).
SHEET_LOG = {("P001", 1): ("Yes", 1), ("P001", 2): ("No", None), ("P001", 3): ("Yes", 3),
             ("P002", 1): ("No", None), ("P002", 2): ("Yes", 3), ("P002", 3): ("No", None),
             ("P003", 1): ("Yes", 4), ("P003", 2): ("No", None), ("P003", 3): ("No", None)}


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory):
    """``mentor schedule`` for Jan-Apr 2026, its check-in sheet filled in as a coordinator would."""
    folder = tmp_path_factory.mktemp("scheduled")
    book = book_of(scheduled_people(), SCHEDULED_PAIRS)
    plan_config = config(folder, schedule={"local_holidays": False})
    schedule = plan_checkins(book, plan_config, start=dt.date(2026, 1, 5), months=4)
    written = write_schedule(schedule, book, plan_config, folder / "calendar", force=False)
    (sheet_path,) = [p for p in written if p.name == "checkins.xlsx"]
    workbook = openpyxl.load_workbook(sheet_path)
    sheet = workbook.worksheets[0]
    header = {cell.value: cell.column for cell in sheet[1]}
    for row in range(2, sheet.max_row + 1):
        key = (sheet.cell(row, header["Pair ID"]).value, int(sheet.cell(row, header["Occurrence"]).value))
        if key in SHEET_LOG:
            held, rating = SHEET_LOG[key]
            sheet.cell(row, header["Held"]).value = held
            if rating is not None:
                sheet.cell(row, header["Rating"]).value = rating
    workbook.save(sheet_path)
    return {"book": book, "sheet": sheet_path, "checkins": schedule.checkins, "folder": folder}


def scheduled_report(scheduled, folder: Path, **report_settings):
    cfg = config(folder, report=report_settings) if report_settings else config(folder)
    paths = [scheduled["sheet"]]
    schedule = read_schedule(paths)
    logs, problems = read_checkin_logs(paths, scheduled["book"], cfg, schedule=schedule)
    assert [p for p in problems if p.severity == "error"] == []
    return build_report(scheduled["book"], schedule, logs, cfg, as_of=SCHEDULED_AS_OF), cfg


@pytest.mark.parametrize(("limit", "expected"), [(1, ["P002", "P003"]), (2, ["P003"]), (3, [])])
def test_missed_in_a_row_is_at_risk_from_exactly_the_setting(scheduled, tmp_path, limit, expected):
    report, _ = scheduled_report(scheduled, tmp_path, missed_in_row=limit, at_risk_days=3650, low_rating=0)
    status = report.status.set_index("pair_id")
    assert status["missed_in_row"].tolist() == [0, 1, 2]
    assert sorted(report.at_risk["pair_id"]) == expected


@pytest.mark.parametrize(("low", "expected"), [(1, []), (2, ["P001"]), (3, ["P001", "P002"])])
def test_a_mean_rating_exactly_at_the_low_rating_is_at_risk(scheduled, tmp_path, low, expected):
    """P001's ratings 1 and 3: mean exactly 2 with a last rating of 3, so only the mean can flag it
    at 2; P002's one rating 3 is both its mean and its last."""
    report, _ = scheduled_report(scheduled, tmp_path, missed_in_row=100, at_risk_days=3650, low_rating=low)
    status = report.status.set_index("pair_id")
    assert status.at["P001", "mean_rating"] == 2 and status.at["P001", "last_rating"] == 3
    assert sorted(report.at_risk["pair_id"]) == expected
    if low == 2:
        assert status.at["P001", "reason"] == "mean rating 2.0 (at or below 2)"


# ------------------------------------------------------------------------ whose dates a progress email holds


def long_day(day: dt.date) -> str:
    """The way the progress email spells a day out (English names, no leading zero)."""
    weekdays = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    months = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")
    return f"{weekdays[day.weekday()]} {day.day} {months[day.month - 1]} {day.year}"


def bodies(path: Path) -> tuple[str, str, str]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text, html = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return message["To"].addresses[0].addr_spec, text.get_content(), html.get_content()


def test_each_progress_email_holds_only_its_own_pairs_check_in_dates(scheduled, tmp_path):
    report, cfg = scheduled_report(scheduled, tmp_path)
    write_report(report, scheduled["book"], cfg, tmp_path / "reports", force=False)
    checkins = scheduled["checkins"]
    days = {pair_id: {long_day(t.tz_convert("Europe/London").date()) for t in group["start_utc"]}
            for pair_id, group in checkins.groupby("pair_id")}
    assert len(set.union(*days.values())) == sum(map(len, days.values())) == 12  # no day shared by two pairs
    assert long_day(SCHEDULED_AS_OF) not in set.union(*days.values())
    pairs_of = {"ann@example.org": {"P001"}, "bob@example.org": {"P001"}, "cat@example.org": {"P002"},
                "eve@example.org": {"P003"}, "dan@example.org": {"P002", "P003"}}
    emails = {}
    for path in sorted((tmp_path / "reports" / "outbox").glob("progress-*.eml")):
        address, text, html = bodies(path)
        emails[address] = (text, html)
    assert sorted(emails) == sorted(pairs_of)
    held_or_missed = {(p, o) for p, o in SHEET_LOG}
    members = {f"P{i:03d}": set(pair) for i, pair in enumerate(SCHEDULED_PAIRS, 1)}
    names = {p["email"]: p["name"] for p in scheduled_people()}
    for address, own in pairs_of.items():
        text, html = emails[address]
        allowed = set().union(*(members[pair_id] for pair_id in own))
        for other, name in names.items():
            assert (name in text) == (other in allowed), (address, name)
            assert (other in text) == (other in allowed) or other == address, (address, other)
        for pair_id, labels in days.items():
            for label in labels:
                if pair_id not in own:
                    assert label not in text and label not in html, (address, pair_id, label)
        for pair_id in own:
            logged = checkins[checkins["pair_id"] == pair_id]
            for start, occurrence in zip(logged["start_utc"], logged["occurrence"]):
                if (pair_id, occurrence) in held_or_missed:
                    label = long_day(start.tz_convert("Europe/London").date())
                    assert label in text and label in html, (address, pair_id, label)

"""``mentor report``: check-in logs matched to pairs, numbers checked by hand, who sees what.

The cohort below is small enough to count on paper:

* P001 Ann (mentee, London) - Bob (mentor, New York): check-ins on the 15th, 17:00 UTC.
  Jan held (rating 4, 25%), Feb held on the 17th (rating 5, 50%), Mar held via the form on
  14 Mar (rating 5, 60%). -> 3 held of 3 due, last 14 Mar, 27 days, mean 4.67: fine.
* P002 Cat (mentee, Tokyo) - Dan (mentor): 16th, 09:00 UTC. Jan No, Feb No, Mar blank.
  -> 0 of 3, 3 missed in a row, 84 days since the first was due: at risk on both counts.
* P003 Eve (mentee, Sydney; a ``<script>`` name) - Dan: 20th, 12:00 UTC. Jan held (rating 2),
  Feb blank, Mar held via Dan's form answer of 19 Mar (rating 1; Dan has two pairs, the nearest
  scheduled check-in decides). -> 2 of 3, 1 missed, not in a row, mean 1.5: at risk (rating).

Report date 10 Apr 2026: Jan-Mar due, Apr-Jun still to come.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from mentorcli.config import Config, config_from_dict
from mentorcli.errors import MentorError
from mentorcli.model import MatchResult, PairingBook, Roster, make_people
from mentorcli.report import (
    build_report,
    is_checkin_sheet,
    read_checkin_logs,
    read_schedule,
    report_summary,
    sponsor_context,
    write_report,
)
from mentorcli.schedule import CHECKIN_HEADERS, SHEET_NAME

AS_OF = dt.date(2026, 4, 10)
MARKER = "PRIVATE-NOTE-7f3a9c"
SCRIPT_NAME = "<script>alert('x')</script> Eve"
SPONSORS = ["sponsor@example.com", "board@example.com"]

PEOPLE = [
    {"name": "Ann Archer", "email": "ann@example.org", "role": "mentee", "timezone": "Europe/London",
     "goals": ("Public speaking", "Negotiation"), "industry": "Tech", "languages": ("English",)},
    {"name": "Bob Baker", "email": "bob@example.org", "role": "mentor", "timezone": "America/New_York",
     "industry": "Tech", "languages": ("English",)},
    {"name": "Cat Carter", "email": "cat@example.org", "role": "mentee", "timezone": "Asia/Tokyo",
     "goals": ("Leadership",), "industry": "Finance", "languages": ("English",)},
    {"name": "Dan Dixon", "email": "dan@example.org", "role": "mentor", "timezone": "UTC", "capacity": 2,
     "industry": "Finance", "languages": ("English",)},
    {"name": SCRIPT_NAME, "email": "eve@example.org", "role": "mentee", "timezone": "Australia/Sydney",
     "goals": ("Career change",), "industry": "Health", "languages": ("English",)},
]
PAIRS = [("P001", "ann@example.org", "bob@example.org"), ("P002", "cat@example.org", "dan@example.org"),
         ("P003", "eve@example.org", "dan@example.org")]
SLOT = {"P001": (15, 17), "P002": (16, 9), "P003": (20, 12)}  # day of month, hour UTC
# (pair, month) -> Held, Date Held, Rating, Goal Progress, Notes
SHEET_LOG = {
    ("P001", 1): ("Yes", None, 4, "25%", ""),
    ("P001", 2): ("Yes", dt.date(2026, 2, 17), 5, "50%", f"{MARKER} sheet"),
    ("P002", 1): ("No", None, None, "", f"{MARKER} why missed"),
    ("P002", 2): ("No", None, None, "", ""),
    ("P003", 1): ("Yes", None, 2, "10%", ""),
}
FORM_HEADERS = ["Submitted", "Your email", "When did you meet?", "Partner's name", "Rate it (1-5)",
                "Goal progress", "Private notes"]
FORM_ROWS = [
    ["2026-03-14 20:00:00", "Ann@Example.org ", "2026-03-14", "", "5", "60%", f"{MARKER} form"],  # row 2
    ["2026-03-15 08:00:00", "stranger@example.net", "2026-03-15", "", "4", "", ""],               # row 3: unknown
    ["2026-03-19 18:00:00", "dan@example.org", "2026-03-19", "", "1", "", f"{MARKER} dan"],      # row 4: nearest
    ["2026-04-20 10:00:00", "dan@example.org", "2026-04-20", "Cat Cartr", "4", "", ""],          # row 5: after as-of
    ["2026-03-02 10:00:00", "eve@example.org", "sometime soon", "", "3", "", ""],                # row 6: no date
    ["2026-02-18 10:00:00", "dan@example.org", "2026-02-18", "", "3", "", ""],                   # row 7: tie
    ["", "", "", "", "", "", ""],                                                                 # blank: skipped
]
FORM_COLUMNS = {"timestamp": "Submitted", "email": "Your email", "date": "When did you meet?",
                "partner": "Partner's name", "rating": "Rate it (1-5)", "progress": "Goal progress",
                "notes": "Private notes"}


def names() -> dict[str, str]:
    return {p["email"]: p["name"] for p in PEOPLE}


def make_book(path: Path | None = None) -> PairingBook:
    people = make_people(PEOPLE)
    who = names()
    pairs = pd.DataFrame({
        "pair_id": [p for p, _, _ in PAIRS],
        "mentee_email": [m for _, m, _ in PAIRS],
        "mentor_email": [m for _, _, m in PAIRS],
        "mentee": [who[m] for _, m, _ in PAIRS],
        "mentor": [who[m] for _, _, m in PAIRS],
        "score": [80.0, 70.0, 60.0],
        "why": ["", "", ""],
        "row": [2, 3, 4],
    })
    return PairingBook(path=path or Path("pairs.xlsx"), pairs=pairs, people=people)


def make_config(folder: Path, **report) -> Config:
    raw = {
        "cohort": {"name": "Spring Mentoring", "coordinator_name": "Cora Coordinator",
                   "coordinator_email": "cora@example.org", "sponsor_emails": SPONSORS},
        "checkins": {"columns": FORM_COLUMNS},
    }
    if report:
        raw["report"] = report
    return config_from_dict(raw, folder / "mentor.toml")


def write_checkins(path: Path, log: dict = SHEET_LOG, pairs=PAIRS) -> Path:
    """A filled checkins.xlsx in the layout ``mentor schedule`` writes (its sheet and headers)."""
    who = names()
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    sheet = workbook.add_worksheet(SHEET_NAME)
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, CHECKIN_HEADERS)
    column = {title: i for i, title in enumerate(CHECKIN_HEADERS)}
    row = 1
    for pair_id, mentee, mentor in pairs:
        day, hour = SLOT[pair_id]
        for month in range(1, 7):
            held, held_on, rating, progress, notes = log.get((pair_id, month), ("", None, None, "", ""))
            values = {"Pair ID": pair_id, "Mentee": who[mentee], "Mentee Email": mentee, "Mentor": who[mentor],
                      "Mentor Email": mentor, "Occurrence": month, "Held": held, "Goal Progress": progress,
                      "Notes": notes}
            for title, value in values.items():
                sheet.write(row, column[title], value)
            sheet.write_datetime(row, column["Start (UTC)"], dt.datetime(2026, month, day, hour, 0), stamp)
            if held_on:
                sheet.write_datetime(row, column["Date Held"], dt.datetime.combine(held_on, dt.time()), day_format)
            if rating is not None:
                sheet.write_number(row, column["Rating"], rating)
            row += 1
    workbook.close()
    return path


def write_form(path: Path, rows=FORM_ROWS, headers=FORM_HEADERS) -> Path:
    lines = io.StringIO()
    import csv

    writer = csv.writer(lines)
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_text(lines.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def cohort(tmp_path: Path):
    """Book, config, log paths, the schedule, the logs and the report as of 10 Apr 2026."""
    config = make_config(tmp_path)
    book = make_book(tmp_path / "pairs.xlsx")
    sheet = write_checkins(tmp_path / "checkins.xlsx")
    form = write_form(tmp_path / "checkin-form.csv")
    paths = [sheet, form]
    schedule = read_schedule(paths)
    logs, problems = read_checkin_logs(paths, book, config, schedule=schedule)
    report = build_report(book, schedule, logs, config, as_of=AS_OF, problems=problems)
    return {"config": config, "book": book, "paths": paths, "schedule": schedule, "logs": logs,
            "problems": problems, "report": report, "folder": tmp_path}


# ------------------------------------------------------------------------------- the numbers


def test_status_matches_the_hand_count(cohort):
    status = cohort["report"].status.set_index("pair_id")
    assert list(status.index) == ["P001", "P002", "P003"]
    assert status["scheduled_to_date"].tolist() == [3, 3, 3]
    assert status["held"].tolist() == [3, 0, 2]
    assert status["missed"].tolist() == [0, 3, 1]
    assert status["missed_in_row"].tolist() == [0, 3, 0]
    assert status["upcoming"].tolist() == [3, 3, 3]
    assert [None if pd.isna(d) else pd.Timestamp(d).date() for d in status["last_checkin"]] == [
        dt.date(2026, 3, 14), None, dt.date(2026, 3, 19)]
    assert status["days_since"].tolist() == [27, 84, 22]
    assert status.at["P001", "mean_rating"] == pytest.approx(14 / 3, abs=0.01)
    assert pd.isna(status.at["P002", "mean_rating"])
    assert status.at["P003", "mean_rating"] == pytest.approx(1.5)
    assert status["last_rating"].tolist()[0] == 5 and status["last_rating"].tolist()[2] == 1
    assert status["goal_progress"].tolist() == ["60%", "", "10%"]
    assert pd.Timestamp(status.at["P001", "next_checkin"]) == pd.Timestamp("2026-04-15 17:00", tz="UTC")


def test_at_risk_set_and_reasons_in_words(cohort):
    report = cohort["report"]
    at_risk = report.at_risk.set_index("pair_id")["reason"].to_dict()
    assert at_risk == {
        "P002": "no check-in held in the 84 days since the first one was due; 3 check-ins missed in a row",
        "P003": "mean rating 1.5 (at or below 2)",
    }
    behind = report.status.set_index("pair_id")["behind"].to_dict()
    assert behind == {"P001": False, "P002": True, "P003": False}


def test_month_totals_and_ratings(cohort):
    report = cohort["report"]
    by_month = report.by_month.set_index("month")
    assert list(by_month.index) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert by_month["scheduled"].tolist() == [3, 3, 3, 3, 3, 3]
    assert by_month["due"].tolist() == [3, 3, 3, 0, 0, 0]
    assert by_month["held"].tolist() == [2, 1, 2, 0, 0, 0]
    assert by_month["missed"].tolist() == [1, 2, 1, 0, 0, 0]
    assert report.ratings == {1: 1, 2: 1, 3: 0, 4: 1, 5: 2}
    totals = report.totals
    assert (totals["pairs"], totals["participants"], totals["mentees"], totals["mentors"]) == (3, 5, 3, 2)
    assert (totals["scheduled_to_date"], totals["held"], totals["missed"], totals["upcoming"]) == (9, 5, 4, 9)
    assert totals["held_rate"] == pytest.approx(5 / 9, abs=1e-4)
    assert totals["active_pairs"] == 2 and totals["pairs_at_risk"] == 2 and totals["pairs_never_met"] == 1
    assert totals["ratings"] == 5 and totals["mean_rating"] == pytest.approx(3.4)


def test_thresholds_come_from_the_config(cohort):
    config = make_config(cohort["folder"], at_risk_days=20, missed_in_row=4, low_rating=1)
    report = build_report(cohort["book"], cohort["schedule"], cohort["logs"], config, as_of=AS_OF)
    reasons = report.status.set_index("pair_id")["reason"].to_dict()
    assert reasons == {
        "P001": "no check-in for 27 days",
        "P002": "no check-in held in the 84 days since the first one was due",
        "P003": "no check-in for 22 days; last rating 1 (at or below 1)",
    }


def test_an_earlier_report_date_counts_less_and_says_what_it_left_out(cohort):
    report = build_report(cohort["book"], cohort["schedule"], cohort["logs"], cohort["config"],
                          as_of=dt.date(2026, 2, 1))
    status = report.status.set_index("pair_id")
    assert status["scheduled_to_date"].tolist() == [1, 1, 1]  # a February "No" is not yet due on 1 Feb
    assert status["held"].tolist() == [1, 0, 1]
    assert status["missed"].tolist() == [0, 1, 0]
    late = [p for p in report.problems if "dated after 2026-02-01" in p.problem]
    assert {Path(p.file).name for p in late} == {"checkins.xlsx", "checkin-form.csv"}


# ------------------------------------------------------------------------------- the logs


def test_log_rows_that_fit_no_pair_are_reported_with_their_place(cohort):
    problems = cohort["report"].problems
    form = [p for p in problems if p.file.endswith("checkin-form.csv")]
    found = {(p.row, p.column, p.severity) for p in form}
    assert (3, "Your email", "error") in found          # unknown respondent
    assert (6, "When did you meet?", "error") in found  # no readable date
    assert (7, "Partner's name", "error") in found      # two pairs, equally near: ambiguous
    late = [p for p in form if "dated after" in p.problem]
    assert len(late) == 1 and late[0].row == 5 and late[0].severity == "warning"
    assert all("stranger@example.net" not in p.problem for p in problems)
    assert len(cohort["logs"]) == 5 + 3  # five sheet rows, form rows 2, 4 and 5 (dropped by build_report)


def test_logs_never_hold_notes(cohort):
    assert "notes" not in cohort["logs"].columns
    assert MARKER not in cohort["logs"].to_csv()
    assert "notes" not in cohort["schedule"].columns


def test_checkin_sheet_is_recognised_by_content(tmp_path, cohort):
    renamed = tmp_path / "march-log.xlsx"
    shutil.copy(cohort["paths"][0], renamed)
    assert is_checkin_sheet(renamed)
    assert not is_checkin_sheet(cohort["paths"][1])
    other = tmp_path / "form.xlsx"
    workbook = xlsxwriter.Workbook(str(other))
    workbook.add_worksheet("Form Responses 1").write_row(0, 0, ["Timestamp", "Email Address", "Date"])
    workbook.close()
    assert not is_checkin_sheet(other)


def test_form_export_in_xlsx_with_common_headers_and_no_mapping(tmp_path):
    """A Google-Forms-like XLSX: headers recognised without [checkins.columns], Held No counted."""
    book = make_book()
    config = Config(path=tmp_path / "mentor.toml")
    path = tmp_path / "responses.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Form Responses 1")
    sheet.write_row(0, 0, ["Timestamp", "Email Address", "Did you meet?", "Rating", "Partner", "Notes"])
    sheet.write_datetime(1, 0, dt.datetime(2026, 1, 16, 12, 0), workbook.add_format({"num_format": "yyyy-mm-dd"}))
    sheet.write_row(1, 1, ["cat@example.org", "Yes", "4 - good", "", MARKER])
    sheet.write_row(2, 0, ["2026-02-16 12:00", "dan@example.org", "No", "", "Cat Carter", ""])
    sheet.write_row(3, 0, ["2026-02-17 12:00", "dan@example.org", "perhaps", "", "Cat Carter", ""])
    sheet.write_row(4, 0, ["2026-02-17 12:00", "dan@example.org", "Yes", "", "Ann Archer", ""])
    workbook.close()
    schedule = read_schedule([write_checkins(tmp_path / "checkins.xlsx", log={})])
    logs, problems = read_checkin_logs([path], book, config, schedule=schedule)
    assert logs["pair_id"].tolist() == ["P002", "P002"]
    assert logs["held"].tolist() == [True, False]
    assert logs["rating"].tolist()[0] == 4.0 and np.isnan(logs["rating"].tolist()[1])
    assert logs["respondent"].tolist() == ["mentee", "mentor"]
    assert logs["row"].tolist() == [2, 3]
    assert logs["sheet"].tolist() == ["Form Responses 1"] * 2
    assert [(p.row, p.column) for p in problems] == [(4, "Did you meet?"), (5, "Partner")]
    report = build_report(book, schedule, logs, config, as_of=AS_OF)
    p002 = report.status.set_index("pair_id").loc["P002"]
    assert (p002["held"], p002["missed"], p002["missed_in_row"]) == (1, 2, 2)


def test_a_log_without_an_email_column_is_a_readable_error(tmp_path):
    path = write_form(tmp_path / "log.csv", rows=[["2026-01-01", "x"]], headers=["Date", "Who"])
    with pytest.raises(MentorError, match=r"log\.csv: no email column.*\[checkins\.columns\]"):
        read_checkin_logs([path], make_book(), Config(path=tmp_path / "mentor.toml"))


def test_a_mapped_header_that_is_missing_is_a_readable_error(tmp_path):
    config = make_config(tmp_path)
    path = write_form(tmp_path / "log.csv", rows=[["a@b.c", "2026-01-01"]], headers=["Your email", "Date"])
    with pytest.raises(MentorError, match="no column 'Submitted'"):
        read_checkin_logs([path], make_book(), config)


def test_semicolon_cp1252_csv_is_read(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes("Email;Date;Rating;Comments\nann@example.org;15/01/2026;5;Très bien\n".encode("cp1252"))
    logs, problems = read_checkin_logs([path], make_book(), Config(path=tmp_path / "mentor.toml"))
    assert problems == []
    assert logs["pair_id"].tolist() == ["P001"] and logs["rating"].tolist() == [5.0]
    assert pd.Timestamp(logs["date"].iloc[0]).date() == dt.date(2026, 1, 15)


def test_schedule_rows_of_a_pair_no_longer_in_the_workbook_are_reported(tmp_path):
    book = make_book()
    book.pairs = book.pairs[book.pairs["pair_id"] != "P003"].reset_index(drop=True)
    sheet = write_checkins(tmp_path / "checkins.xlsx")
    schedule = read_schedule([sheet])
    logs, problems = read_checkin_logs([sheet], book, make_config(tmp_path), schedule=schedule)
    assert [(p.row, p.severity) for p in problems] == [(14, "error")]  # P003's January "Yes"
    report = build_report(book, schedule, logs, make_config(tmp_path), as_of=AS_OF, problems=problems)
    orphan = [p for p in report.problems if p.severity == "warning"]
    assert len(orphan) == 1 and orphan[0].row == 14 and "6 scheduled check-in(s)" in orphan[0].problem
    assert report.totals["scheduled_to_date"] == 6


def test_without_a_schedule_only_logged_checkins_count(tmp_path):
    book = make_book()
    form = write_form(tmp_path / "log.csv", rows=[r for r in FORM_ROWS if "dan@" not in r[1]])
    logs, problems = read_checkin_logs([form], book, make_config(tmp_path))
    report = build_report(book, None, logs, make_config(tmp_path), as_of=AS_OF, problems=problems)
    status = report.status.set_index("pair_id")
    assert status["held"].tolist() == [1, 0, 0]
    assert status["scheduled_to_date"].sum() == 0 and status["missed"].sum() == 0
    assert report.by_month.to_dict(orient="records") == [
        {"month": "2026-03", "scheduled": 0, "due": 0, "held": 1, "missed": 0}]


# ------------------------------------------------------------------------------- the outputs


def parse_eml(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def bodies(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


@pytest.fixture
def written(cohort):
    out = cohort["folder"] / "reports"
    paths = write_report(cohort["report"], cohort["book"], cohort["config"], out, force=False)
    return cohort | {"out": out, "written": paths}


def test_write_report_writes_every_file_it_names(written):
    out = written["out"]
    emls = sorted((out / "outbox").glob("*.eml"))
    assert sorted(written["written"]) == sorted([out / "cohort.html", out / "cohort.xlsx", *emls])
    assert len(emls) == 5 + 1
    assert (out / "outbox" / "sponsor-summary-2026-04-10.eml").exists()


def test_every_eml_parses_with_both_alternatives_and_draft_headers(written):
    for path in sorted((written["out"] / "outbox").glob("*.eml")):
        message = parse_eml(path)
        assert message["X-Unsent"] == "1"
        assert message["From"].addresses[0].addr_spec == "cora@example.org"
        assert message.get_content_type() == "multipart/alternative"
        text, html = bodies(message)
        assert "Spring Mentoring" in text and "Spring Mentoring" in html
        assert "<style" not in html  # css inlined


def test_each_participant_email_holds_their_own_pairs_only(written):
    outbox = written["out"] / "outbox"
    everyone = {p["email"]: p["name"] for p in PEOPLE}
    partners = {"ann@example.org": {"bob@example.org"}, "bob@example.org": {"ann@example.org"},
                "cat@example.org": {"dan@example.org"}, "eve@example.org": {"dan@example.org"},
                "dan@example.org": {"cat@example.org", "eve@example.org"}}
    for address, allowed in partners.items():
        path = outbox / f"progress-2026-04-10-{address.replace('@', '-').replace('.', '-')}.eml"
        message = parse_eml(path)
        assert [a.addr_spec for a in message["To"].addresses] == [address]
        text, html = bodies(message)
        raw = path.read_bytes().decode("utf-8", "replace")
        for other, name in everyone.items():
            visible = other == address or other in allowed
            for blob in (text, html):
                if other != address:
                    assert (other in blob) == visible, (address, other)
            if name != SCRIPT_NAME:
                assert (name in text) == visible, (address, name)
            else:
                assert ("alert(" in text) == visible, (address, name)
        assert MARKER not in raw and MARKER not in text and MARKER not in html
        assert "rating" not in text.lower()  # ratings may be the partner's words


def test_participant_email_content_for_ann_and_dan(written):
    outbox = written["out"] / "outbox"
    ann_text, ann_html = bodies(parse_eml(outbox / "progress-2026-04-10-ann-example-org.eml"))
    assert "Check-ins held: 3 of 3 due so far." in ann_text
    assert "Next check-in: Wednesday 15 April 2026, 18:00 (Europe/London)" in ann_text
    assert "Your goals: Public speaking, Negotiation" in ann_text
    assert "Latest goal progress: 60%" in ann_text
    assert "nudge" not in ann_text.lower()
    assert "Wednesday 15 April 2026, 18:00 (Europe/London)" in ann_html
    bob_text, _ = bodies(parse_eml(outbox / "progress-2026-04-10-bob-example-org.eml"))
    assert "Next check-in: Wednesday 15 April 2026, 13:00 (America/New_York)" in bob_text
    assert "Your mentee's goals: Public speaking, Negotiation" in bob_text
    dan_text, dan_html = bodies(parse_eml(outbox / "progress-2026-04-10-dan-example-org.eml"))
    assert "A nudge: no check-in held in the 84 days since the first one was due; 3 check-ins missed in a row" in dan_text
    assert "Missed: Friday 16 January 2026; Monday 16 February 2026; Monday 16 March 2026" in dan_text
    assert "&lt;script&gt;" in dan_html and "<script>" not in dan_html
    cat_text, _ = bodies(parse_eml(outbox / "progress-2026-04-10-cat-example-org.eml"))
    assert "Next check-in: Thursday 16 April 2026, 18:00 (Asia/Tokyo)" in cat_text


def test_a_name_with_line_breaks_adds_no_header(tmp_path):
    book = make_book()
    hostile = "Ann\r\nBcc: thief@example.net\r\nX-Evil: 1"
    book.people.loc[book.people["email"] == "ann@example.org", "name"] = hostile
    book.pairs.loc[0, "mentee"] = hostile
    report = build_report(book, None, read_checkin_logs([], book, Config())[0], Config(), as_of=AS_OF)
    write_report(report, book, make_config(tmp_path), tmp_path / "out", force=False)
    for path in (tmp_path / "out" / "outbox").glob("*.eml"):
        message = parse_eml(path)
        assert message["Bcc"] is None and message["X-Evil"] is None
        assert "thief@example.net" not in [a.addr_spec for a in message["To"].addresses]
    bob = parse_eml(tmp_path / "out" / "outbox" / "progress-2026-04-10-bob-example-org.eml")
    assert "Bcc: thief" not in bob.as_string().split("\n\n", 1)[0]


def test_sponsor_summary_is_aggregates_only(written):
    path = written["out"] / "outbox" / "sponsor-summary-2026-04-10.eml"
    message = parse_eml(path)
    assert [a.addr_spec for a in message["To"].addresses] == SPONSORS
    text, html = bodies(message)
    raw = path.read_bytes().decode("utf-8", "replace")
    for person in PEOPLE:
        for blob in (text, html, raw):
            assert person["email"] not in blob
            assert person["name"] not in blob
    assert "alert(" not in raw and MARKER not in raw
    for pair_id, _, _ in PAIRS:
        assert pair_id not in text
    assert "Check-ins held: 5 of 9 due so far (56%)" in text
    assert "Pairs that need attention: 2" in text
    # three pairs, groups of at least 5: no industry is broken out, and no progress answer either
    assert "By industry" not in text and "Tech" not in text
    assert "Goal progress" not in text and "60%" not in text  # 2 pairs answered: under the minimum


def test_sponsor_groups_under_the_minimum_are_folded(tmp_path):
    industries = ["Arts"] * 6 + ["Banking"] * 4 + ["Chemistry", "Defence"]
    people = [{"name": f"Mentee {i}", "email": f"m{i}@example.org", "role": "mentee", "industry": ind}
              for i, ind in enumerate(industries)]
    people += [{"name": f"Mentor {i}", "email": f"t{i}@example.org", "role": "mentor"} for i in range(12)]
    pairs = pd.DataFrame({"pair_id": [f"P{i:03d}" for i in range(12)],
                          "mentee_email": [f"m{i}@example.org" for i in range(12)],
                          "mentor_email": [f"t{i}@example.org" for i in range(12)],
                          "mentee": [f"Mentee {i}" for i in range(12)], "mentor": [f"Mentor {i}" for i in range(12)],
                          "score": 50.0, "why": "", "row": range(2, 14)})
    book = PairingBook(path=tmp_path / "pairs.xlsx", pairs=pairs, people=make_people(people))
    empty_logs, _ = read_checkin_logs([], book, Config())
    for minimum, expected in [(5, [("Arts", 6), ("other groups", 6)]),
                              (3, [("Arts", 6), ("other groups", 6)]),
                              (2, [("Arts", 6), ("Banking", 4), ("other groups", 2)]),
                              (7, None)]:
        config = make_config(tmp_path, min_group_size=minimum)
        report = build_report(book, None, empty_logs, config, as_of=AS_OF)
        groups = sponsor_context(report, book, config)["groups"]
        got = None if groups is None else [(row["label"], row["pairs"]) for row in groups["rows"]]
        assert got == expected, minimum
    with pytest.raises(MentorError, match="report.group_by"):
        config = make_config(tmp_path, group_by="email")
        sponsor_context(build_report(book, None, empty_logs, config, as_of=AS_OF), book, config)


def test_cohort_html_is_self_contained_and_escaped(written):
    html = (written["out"] / "cohort.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Eve" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html and "@import" not in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == 2 and all(src.startswith("data:image/svg+xml;base64,") for src in images)
    assert MARKER not in html
    assert "no check-in held in the 84 days since the first one was due; 3 check-ins missed in a row" in html
    for person in PEOPLE[:4]:
        assert person["name"] in html


def test_cohort_xlsx_reads_back(written):
    path = written["out"] / "cohort.xlsx"
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Status", "By Month", "Summary", "Problems"]
    sheet = workbook["Status"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    records = [dict(zip(header, r)) for r in rows[1:]]
    assert [r["Pair ID"] for r in records] == ["P001", "P002", "P003"]
    assert [r["Held"] for r in records] == [3, 0, 2]
    assert [r["Scheduled to Date"] for r in records] == [3, 3, 3]
    assert [r["At Risk"] for r in records] == ["No", "Yes", "Yes"]
    assert records[0]["Last Check-in"] == dt.datetime(2026, 3, 14)
    assert records[2]["Mentee"] == SCRIPT_NAME
    problems = list(workbook["Problems"].iter_rows(values_only=True))[1:]
    assert {(Path(p[0]).name, p[2]) for p in problems} >= {("checkin-form.csv", 3), ("checkin-form.csv", 6)}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            assert MARKER.encode() not in archive.read(name)


def test_formula_like_names_stay_text_in_the_workbook(tmp_path):
    book = make_book()
    book.pairs.loc[0, "mentee"] = '=HYPERLINK("http://evil.example","x")'
    report = build_report(book, None, read_checkin_logs([], book, Config())[0], Config(), as_of=AS_OF)
    write_report(report, book, make_config(tmp_path), tmp_path / "out", force=False)
    cell = openpyxl.load_workbook(tmp_path / "out" / "cohort.xlsx")["Status"]["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_same_inputs_give_the_same_bytes(cohort):
    first = write_report(cohort["report"], cohort["book"], cohort["config"], cohort["folder"] / "a", force=False)
    again = build_report(cohort["book"], read_schedule(cohort["paths"]),
                         read_checkin_logs(cohort["paths"], cohort["book"], cohort["config"])[0],
                         cohort["config"], as_of=AS_OF, problems=cohort["problems"])
    second = write_report(again, cohort["book"], cohort["config"], cohort["folder"] / "b", force=False)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_drafts_written_by_worker_processes_are_the_same_bytes(cohort, monkeypatch):
    import mentorcli.report as report_module

    monkeypatch.setattr(report_module, "CHUNK", 2)  # five drafts in three chunks
    folder = cohort["folder"]
    one = write_report(cohort["report"], cohort["book"], cohort["config"], folder / "one", force=False, workers=1)
    two = write_report(cohort["report"], cohort["book"], cohort["config"], folder / "two", force=False, workers=2)
    assert [p.name for p in one] == [p.name for p in two]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two))


def test_existing_outputs_need_force_and_nothing_is_half_written(written):
    out = written["out"]
    before = {p: p.read_bytes() for p in written["written"]}
    (out / "outbox" / "sponsor-summary-2026-04-10.eml").unlink()
    with pytest.raises(MentorError, match="already exists"):
        write_report(written["report"], written["book"], written["config"], out, force=False)
    assert not (out / "outbox" / "sponsor-summary-2026-04-10.eml").exists()
    write_report(written["report"], written["book"], written["config"], out, force=True)
    assert (out / "cohort.bak.html").read_bytes() == before[out / "cohort.html"]


def test_cohort_templates_override_the_built_in_ones(written):
    folder = written["folder"] / "templates"
    folder.mkdir()
    (folder / "progress.txt.j2").write_text("Hi {{ name }}: {{ pairs | length }} pair(s), custom.\n", encoding="utf-8")
    out = written["folder"] / "custom"
    write_report(written["report"], written["book"], written["config"], out, force=False)
    text, html = bodies(parse_eml(out / "outbox" / "progress-2026-04-10-dan-example-org.eml"))
    assert text == "Hi Dan Dixon: 2 pair(s), custom.\n"
    assert "Dan Dixon" in html and "custom" not in html


def test_a_bad_address_or_template_stops_before_anything_is_written(cohort):
    folder = cohort["folder"]
    book = make_book()
    book.pairs.loc[0, "mentor_email"] = "bob@@example"
    report = build_report(book, None, read_checkin_logs([], book, Config())[0], Config(), as_of=AS_OF)
    with pytest.raises(MentorError, match="pair P001: the mentor's email address is not usable"):
        write_report(report, book, cohort["config"], folder / "bad-address", force=False)
    assert not (folder / "bad-address").exists()
    (folder / "templates").mkdir()
    (folder / "templates" / "progress.html.j2").write_text("<p>{{ no_such_value }}</p>", encoding="utf-8")
    with pytest.raises(MentorError, match="progress.html.j2"):
        write_report(cohort["report"], cohort["book"], cohort["config"], folder / "bad-template", force=False)
    assert not (folder / "bad-template").exists()


def test_html_renders_in_a_headless_browser(written, tmp_path):
    names = ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome", "chrome")
    browser = next((shutil.which(name) for name in names if shutil.which(name)), None)
    if browser is None:
        pytest.skip("no headless browser (chromium) installed")
    page = (written["out"] / "cohort.html").as_uri()
    flags = ["--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1100,1600", page],
                   check=True, capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    dom = subprocess.run([browser, *flags, "--dump-dom", page], check=True, capture_output=True, timeout=120).stdout
    dom = dom.decode("utf-8")
    assert "<script" not in dom.lower()  # the name stayed text: the browser built no script element
    assert "&lt;script&gt;alert('x')&lt;/script&gt; Eve" in dom
    assert dom.count('<img src="data:image/svg+xml;base64,') == 2


# ------------------------------------------------------------------------------- the command


def write_pairs_workbook(path: Path) -> Path:
    from mentorcli.workbook import write_pairing_workbook

    people = make_people([p | {"source_file": "signups.csv", "source_row": i + 2} for i, p in enumerate(PEOPLE)])
    index = {email: i for i, email in enumerate(people["email"])}
    result = MatchResult(
        pairs=pd.DataFrame({
            "pair_id": [p for p, _, _ in PAIRS],
            "mentee": [index[m] for _, m, _ in PAIRS],
            "mentor": [index[m] for _, _, m in PAIRS],
            "score": [80.0, 70.0, 60.0],
            **{f"c_{c}": [np.nan] * 3 for c in ("topics", "industry", "experience", "availability", "format", "interests")},
            "requested": [False] * 3, "kept": [False] * 3, "why": ["shared goals"] * 3,
        }),
        unmatched=pd.DataFrame({"person": pd.Series([], dtype=int), "role": pd.Series([], dtype=str),
                                "reason": pd.Series([], dtype=str)}),
        mentors=pd.DataFrame({"person": [index["bob@example.org"], index["dan@example.org"]],
                              "capacity": [2, 2], "assigned": [1, 2]}),
    )
    write_pairing_workbook(path, Roster(people=people), result, Config(), force=False)
    return path


def test_cli_report_end_to_end(cli, cohort, monkeypatch):
    folder = cohort["folder"]
    monkeypatch.chdir(folder)
    columns = "".join(f"{key} = {json.dumps(header)}\n" for key, header in FORM_COLUMNS.items())
    (folder / "mentor.toml").write_text(
        '[cohort]\nname = "Spring Mentoring"\ncoordinator_email = "cora@example.org"\n'
        'sponsor_emails = ["sponsor@example.com"]\n[checkins.columns]\n' + columns, encoding="utf-8")
    pairs = write_pairs_workbook(folder / "pairs.xlsx")
    args = ["report", pairs, *cohort["paths"], "--as-of", "2026-04-10", "--out", "reports"]
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["totals"]["held"] == 5 and summary["totals"]["scheduled_to_date"] == 9
    assert [p["pair_id"] for p in summary["at_risk"]] == ["P002", "P003"]
    assert len([p for p in summary["written"] if p.endswith(".eml")]) == 6
    assert "At risk" in result.stderr and MARKER not in result.stderr + result.stdout
    assert "stranger@example.net" not in result.stderr
    again = cli(*args)
    assert again.exit_code == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr
    assert cli(*args, "--force").exit_code == 0
    bad_date = cli("report", pairs, *cohort["paths"], "--as-of", "10/04/2026")
    assert bad_date.exit_code == 2
    missing = cli("report", pairs, folder / "nope.csv", "--as-of", "2026-04-10")
    assert missing.exit_code == 1 and "nope.csv" in missing.stderr
    calendar = folder / "calendar"
    calendar.mkdir()
    shutil.copy(cohort["paths"][0], calendar / "checkins.xlsx")
    form_only = cli("report", pairs, cohort["paths"][1], "--as-of", "2026-04-10", "--out", "again", "--json")
    assert form_only.exit_code == 0, form_only.stderr
    assert json.loads(form_only.stdout)["totals"] == summary["totals"]  # the calendar's sheet was read too


def test_cli_report_help_has_an_example(cli):
    result = cli("report", "--help")
    assert result.exit_code == 0 and "Example:" in result.stdout


def test_summary_is_json_ready(cohort):
    summary = report_summary(cohort["report"])
    assert json.loads(json.dumps(summary))["totals"]["pairs"] == 3


# ------------------------------------------------------------------------------- a relationship of three

# P001 Ann - Bob; P002 Dan mentors Cat and Eve (two Pairs rows, one relationship); P003 Eve - Bob.
# Eve and Bob are each in two relationships; Cat is in one, with two other people in it.
GROUP_ROWS = [("P001", "ann@example.org", "bob@example.org"), ("P002", "cat@example.org", "dan@example.org"),
              ("P002", "eve@example.org", "dan@example.org"), ("P003", "eve@example.org", "bob@example.org")]
GROUP_LOG = {("P001", 1): ("Yes", None, 4, "", ""), ("P002", 1): ("Yes", None, 5, "", ""),
             ("P003", 1): ("Yes", None, 3, "", "")}
# day of each relationship's check-ins (UTC), as a reader sees them: the 15th, 16th and 20th
DAYS = {"P001": "15 ", "P002": "16 ", "P003": "20 "}


def group_book(path: Path) -> PairingBook:
    who = names()
    pairs = pd.DataFrame({
        "pair_id": [p for p, _, _ in GROUP_ROWS], "mentee_email": [m for _, m, _ in GROUP_ROWS],
        "mentor_email": [m for _, _, m in GROUP_ROWS], "mentee": [who[m] for _, m, _ in GROUP_ROWS],
        "mentor": [who[m] for _, _, m in GROUP_ROWS], "score": [80.0, 70.0, 65.0, 60.0], "why": [""] * 4,
        "row": [2, 3, 4, 5]})
    return PairingBook(path=path, pairs=pairs, people=make_people(PEOPLE))


@pytest.fixture
def group_written(tmp_path: Path):
    config, book = make_config(tmp_path), group_book(tmp_path / "pairs.xlsx")
    sheet = write_checkins(tmp_path / "checkins.xlsx", GROUP_LOG, GROUP_ROWS)
    schedule = read_schedule([sheet])
    logs, problems = read_checkin_logs([sheet], book, config, schedule=schedule)
    report = build_report(book, schedule, logs, config, as_of=AS_OF, problems=problems)
    out = tmp_path / "reports"
    write_report(report, book, config, out, force=False)
    return {"report": report, "out": out, "problems": problems}


def progress_of(out: Path, address: str) -> tuple[email.message.EmailMessage, str, str]:
    message = parse_eml(out / "outbox" / f"progress-2026-04-10-{address.replace('@', '-').replace('.', '-')}.eml")
    return (message, *bodies(message))


def test_a_relationship_of_three_is_one_status_row_counted_once(group_written):
    report = group_written["report"]
    assert group_written["problems"] == []
    status = report.status.set_index("pair_id")
    assert list(status.index) == ["P001", "P002", "P003"]
    assert status["scheduled_to_date"].tolist() == [3, 3, 3]  # P002's check-ins once, not once per mentee
    assert status["held"].tolist() == [1, 1, 1]
    assert status.at["P002", "mentee_email"] == "cat@example.org; eve@example.org"
    assert status.at["P002", "mentor_email"] == "dan@example.org"
    totals = report.totals
    assert (totals["pairs"], totals["participants"], totals["mentees"], totals["mentors"]) == (3, 5, 3, 2)
    assert totals["scheduled_to_date"] == 9 and totals["held"] == 3
    html = (group_written["out"] / "cohort.html").read_text(encoding="utf-8")
    assert "All pairs (3)" in html and html.split("All pairs (3)")[1].count("<td>P002</td>") == 1
    sponsor_text, _ = bodies(parse_eml(group_written["out"] / "outbox" / "sponsor-summary-2026-04-10.eml"))
    assert "@" not in sponsor_text.replace("cora@example.org", "")


def test_each_member_of_a_relationship_of_three_sees_it_and_nothing_else(group_written):
    out = group_written["out"]
    sees = {"ann@example.org": ({"bob@example.org"}, {"P001"}),
            "bob@example.org": ({"ann@example.org", "eve@example.org"}, {"P001", "P003"}),
            "cat@example.org": ({"dan@example.org", "eve@example.org"}, {"P002"}),
            "dan@example.org": ({"cat@example.org", "eve@example.org"}, {"P002"}),
            "eve@example.org": ({"cat@example.org", "dan@example.org", "bob@example.org"}, {"P002", "P003"})}
    for address, (others, own) in sees.items():
        message, text, html = progress_of(out, address)
        assert [a.addr_spec for a in message["To"].addresses] == [address] and message["Cc"] is None
        for other in names():
            if other != address:
                assert (other in text) == (other in others), (address, other)
                assert (other in html) == (other in others), (address, other)
        held = re.findall(r"Held: (.*)", text)
        missed = re.findall(r"Missed: (.*)", text)
        assert len(held) == len(missed) == len(own), (address, held, missed)
        for relationship, day in DAYS.items():
            shown = any(f" {day}" in line for line in held + missed)
            assert shown == (relationship in own), (address, relationship, held, missed)


def test_a_mentor_of_two_sees_both_mentees_and_their_goals_a_mentee_sees_the_others_part(group_written):
    _, dan, _ = progress_of(group_written["out"], "dan@example.org")
    assert dan.count("== With ") == 1
    assert "== With your mentee Cat Carter <cat@example.org> and your mentee " in dan
    assert "Cat Carter's goals: Leadership" in dan and "'s goals: Career change" in dan
    assert "Missed: Monday 16 February 2026; Monday 16 March 2026" in dan
    _, cat, _ = progress_of(group_written["out"], "cat@example.org")
    assert "== With your fellow mentee " in cat and " and your mentor Dan Dixon <dan@example.org> ==" in cat
    assert "Your goals: Leadership" in cat and "Career change" not in cat
    assert "Missed: Monday 16 February 2026; Monday 16 March 2026" in cat  # Tokyo: 18:00 the same day
    _, eve, _ = progress_of(group_written["out"], "eve@example.org")
    assert eve.count("== With ") == 2 and "Leadership" not in eve


def test_a_form_answer_naming_a_fellow_mentee_counts_for_their_relationship(tmp_path):
    config, book = make_config(tmp_path), group_book(tmp_path / "pairs.xlsx")
    sheet = write_checkins(tmp_path / "checkins.xlsx", {}, GROUP_ROWS)
    form = write_form(tmp_path / "form.csv", rows=[
        ["2026-03-16 20:00:00", "cat@example.org", "2026-03-16", "", "4", "", ""],
        ["2026-03-20 20:00:00", "eve@example.org", "2026-03-20", "Cat Carter", "4", "", ""]])
    schedule = read_schedule([sheet])
    logs, problems = read_checkin_logs([sheet, form], book, config, schedule=schedule)
    assert problems == []
    assert logs["pair_id"].tolist() == ["P002", "P002"]  # Eve has two relationships: Cat is in P002


def test_people_of_a_relationship_of_three_are_counted_one_by_one(tmp_path):
    config, book = make_config(tmp_path), group_book(tmp_path / "pairs.xlsx")
    book.pairs = book.pairs[book.pairs["pair_id"] == "P002"].reset_index(drop=True)
    empty = read_checkin_logs([], book, config)[0]
    totals = build_report(book, None, empty, config, as_of=AS_OF).totals
    assert (totals["pairs"], totals["participants"], totals["mentees"], totals["mentors"]) == (1, 3, 2, 1)


def test_a_form_answer_from_a_relationship_of_three_needs_no_schedule_to_find_it(tmp_path):
    config, book = make_config(tmp_path), group_book(tmp_path / "pairs.xlsx")
    form = write_form(tmp_path / "form.csv", rows=[["2026-03-16 20:00:00", "cat@example.org", "2026-03-16", "", "4", "", ""]])
    logs, problems = read_checkin_logs([form], book, config)
    assert problems == [] and logs["pair_id"].tolist() == ["P002"]  # Cat is in one relationship, with two people

"""``--history DIR``: earlier cohorts' workbooks, written by ``mentor match`` and read back.

Earlier cohorts are real pairing workbooks made from real signup files; check-ins are a real
``checkins.xlsx`` from ``mentor schedule`` with Held filled in; the sponsor summary is a real
``.eml`` parsed back.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import json
import shutil
from email import policy
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mentorcli import pipeline
from mentorcli.config import load_config
from mentorcli.errors import MentorError
from mentorcli.files import is_backup
from mentorcli.history import History, read_history, shared_pairs
from mentorcli.model import Ending, Member, Relationship
from mentorcli.report import CohortFigures, cohort_comparison
from mentorcli.workbook import EARLIER_COHORTS, read_pair_list, read_pairing_workbook

HEADERS = ["Timestamp", "Name", "Email Address", "Role", "Goals", "Expertise", "Organisation", "Department",
           "Languages", "Time Zone", "Availability", "Capacity", "Wants"]
TOML = """[cohort]
name = "Guild Mentoring 2027"
coordinator_name = "Robin Ellis"
coordinator_email = "coordinator@example.org"
sponsor_emails = ["sponsor@example.org"]

[report]
min_group_size = {minimum}
"""


def person(name: str, role: str, topic: str, *, stamp: str, capacity: int = 1, org: str = "") -> list[str]:
    """One signup row: a mentee wants ``topic``, a mentor offers it; everyone else alike."""
    is_mentor = role == "Mentor"
    return [stamp, name.title(), f"{name}@example.org", role, "" if is_mentor else topic, topic if is_mentor else "",
            org or f"Org {name}", "Team", "English", "Europe/London", "Weekday evenings",
            str(capacity) if is_mentor else "", "" if is_mentor else "1"]


def write_signups(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


def write_config(folder: Path, minimum: int = 5) -> Path:
    path = folder / "mentor.toml"
    path.write_text(TOML.replace("{minimum}", str(minimum)), encoding="utf-8")
    return path


SPRING = "2025-03-01 10:00:00"
AUTUMN = "2025-09-01 10:00:00"
NOW = "2027-01-10 10:00:00"


def spring_rows() -> list[list[str]]:
    """2025 spring: ada mentors cat (data), bob mentors dan (leadership); kim signs up and is left out."""
    return [person("ada", "Mentor", "Data science", stamp=SPRING), person("bob", "Mentor", "Leadership", stamp=SPRING),
            person("cat", "Mentee", "Data science", stamp=SPRING), person("dan", "Mentee", "Leadership", stamp=SPRING),
            person("kim", "Mentee", "Welding", stamp=SPRING, org="Org bob")]


def autumn_rows() -> list[list[str]]:
    """2025 autumn (other people, another mix): eve mentors fay and cat (speaking)."""
    return [person("eve", "Mentor", "Public speaking", stamp=AUTUMN, capacity=2),
            person("fay", "Mentee", "Public speaking", stamp=AUTUMN),
            person("cat", "Mentee", "Public speaking", stamp=AUTUMN)]


def now_rows() -> list[list[str]]:
    """This cohort: the best pairing would give cat ada again (data science, both)."""
    return [person("ada", "Mentor", "Data science", stamp=NOW), person("gus", "Mentor", "Career change", stamp=NOW),
            person("cat", "Mentee", "Data science", stamp=NOW), person("hal", "Mentee", "Career change", stamp=NOW),
            person("kim", "Mentee", "Welding", stamp=NOW)]


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory) -> Path:
    """``history/2025-spring/pairs.xlsx`` (+ calendar/checkins.xlsx, Held filled in) and
    ``history/2025-autumn/pairs.xlsx``, each written by ``mentor match``; this cohort's signups
    and schedule beside them."""
    base = tmp_path_factory.mktemp("cohorts")
    config = write_config(base)
    history = base / "history"
    for name, rows in (("2025-spring", spring_rows()), ("2025-autumn", autumn_rows())):
        (history / name).mkdir(parents=True)
        pipeline.match([write_signups(base / f"{name}.csv", rows)], config=config, output=history / name / "pairs.xlsx")
    pipeline.schedule(history / "2025-spring" / "pairs.xlsx", config=config, start=dt.date(2025, 4, 7), months=3,
                      out=history / "2025-spring" / "calendar")
    sheet = history / "2025-spring" / "calendar" / "checkins.xlsx"
    workbook = openpyxl.load_workbook(sheet)
    rows = workbook.active
    held = [c.value for c in rows[1]].index("Held") + 1
    for row in range(2, rows.max_row + 1):  # 6 check-ins: 4 held, 2 not
        rows.cell(row, held, "Yes" if row <= 5 else "No")
    workbook.save(sheet)
    write_signups(base / "now.csv", now_rows())
    return base


def fresh(cohorts: Path, tmp_path: Path, minimum: int = 5) -> Path:
    """A copy of the cohorts to write into (the module's copy stays as built)."""
    folder = tmp_path / "work"
    shutil.copytree(cohorts, folder)
    write_config(folder, minimum)
    return folder


def pairs_of(path: Path) -> set[tuple[str, str]]:
    return set(read_pair_list(path))


def people_sheet(path: Path) -> dict[str, str]:
    """Email -> the People sheet's Earlier Cohorts cell ("" when blank); KeyError when no such column."""
    sheet = openpyxl.load_workbook(path, read_only=True)["People"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = list(rows[0])
    column = header.index(EARLIER_COHORTS)
    return {row[header.index("Email")]: row[column] or "" for row in rows[1:]}


# --------------------------------------------------------------------------- match --history


def test_best_pair_would_repeat_an_earlier_one_and_is_not_made(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    without = pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=work / "plain.xlsx")
    assert ("cat@example.org", "ada@example.org") in pairs_of(without.output)  # the test's premise
    run = pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=work / "pairs.xlsx",
                         history=work / "history")
    made = pairs_of(run.output)
    assert ("cat@example.org", "ada@example.org") not in made
    assert len(made) == len(pairs_of(without.output)) == 2  # as many pairs as without history
    assert run.history is not None and run.history.pairs_avoided == 1  # cat-ada; cat-eve: eve is not back


def test_left_out_because_of_an_earlier_pair_says_so(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    rows = [person("ada", "Mentor", "Data science", stamp=NOW, capacity=2), person("cat", "Mentee", "Data science", stamp=NOW),
            person("hal", "Mentee", "Data science", stamp=NOW)]
    run = pipeline.match([write_signups(work / "only-ada.csv", rows)], config=work / "mentor.toml",
                         output=work / "pairs.xlsx", history=work / "history")
    assert pairs_of(run.output) == {("hal@example.org", "ada@example.org")}
    unmatched = pd.read_excel(run.output, sheet_name="Unmatched", engine="openpyxl")
    reason = unmatched.loc[unmatched["Email"] == "cat@example.org", "Reason"].item()
    assert reason == "no allowed mentor: the only mentor was paired with them in an earlier cohort"


def test_people_who_took_part_before_are_marked_exactly(cohorts, tmp_path, cli, monkeypatch):
    work = fresh(cohorts, tmp_path)
    monkeypatch.chdir(work)
    result = cli("match", "now.csv", "-o", "pairs.xlsx", "--history", "history", "--json")
    assert result.exit_code == 0, result.stderr
    marks = people_sheet(work / "pairs.xlsx")
    assert marks == {
        "ada@example.org": "2025-spring: mentor",
        "gus@example.org": "",
        "cat@example.org": "2025-spring: mentee; 2025-autumn: mentee",
        "hal@example.org": "",
        "kim@example.org": "2025-spring: signed up, not matched",
    }
    summary = json.loads(result.stdout)["history"]
    assert summary["took_part_before"] == 2  # ada and cat; kim signed up but was never in a relationship
    assert summary["participants"] == 5
    assert summary["earlier_cohorts"] == ["2025-spring", "2025-autumn"]
    assert "2 of 5 took part before" in result.stderr


def test_without_history_the_workbook_and_json_are_as_before(cohorts, tmp_path, cli, monkeypatch):
    work = fresh(cohorts, tmp_path)
    monkeypatch.chdir(work)
    result = cli("match", "now.csv", "-o", "pairs.xlsx", "--json")
    assert "history" not in json.loads(result.stdout)
    with pytest.raises(ValueError):
        people_sheet(work / "pairs.xlsx")  # no Earlier Cohorts column at all


def test_this_cohorts_own_workbook_in_the_folder_is_not_an_earlier_cohort(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=work / "elsewhere.xlsx",
                   history=work / "history")
    target = work / "history" / "2027" / "pairs.xlsx"
    target.parent.mkdir()
    first = pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=target, history=work / "history")
    again = pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=target, history=work / "history",
                           force=True)
    assert pairs_of(target) == pairs_of(work / "elsewhere.xlsx")
    assert again.history is not None and first.history is not None
    assert again.history.cohorts == first.history.cohorts == ["2025-spring", "2025-autumn"]
    assert any("this cohort's own workbook" in note for note in again.history.notes)


def test_same_folder_same_bytes(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    outputs = []
    for name in ("one.xlsx", "two.xlsx"):
        pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=work / name, history=work / "history")
        outputs.append((work / name).read_bytes())
    assert outputs[0] == outputs[1]


# --------------------------------------------------------------------------- reading the folder


def test_damaged_workbook_is_one_line_naming_it(cohorts, tmp_path, cli, monkeypatch):
    work = fresh(cohorts, tmp_path)
    monkeypatch.chdir(work)
    (work / "history" / "2024").mkdir()
    (work / "history" / "2024" / "pairs.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    result = cli("match", "now.csv", "-o", "pairs.xlsx", "--history", "history")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "history/2024/pairs.xlsx" in lines[0] and "Traceback" not in result.stderr
    assert not (work / "pairs.xlsx").exists()


def test_workbook_without_people_sheet_is_one_line_naming_it(cohorts, tmp_path, cli, monkeypatch):
    work = fresh(cohorts, tmp_path)
    monkeypatch.chdir(work)
    book = openpyxl.load_workbook(work / "history" / "2025-autumn" / "pairs.xlsx")
    del book["People"]
    book.save(work / "history" / "2025-autumn" / "pairs.xlsx")
    result = cli("match", "now.csv", "-o", "pairs.xlsx", "--history", "history")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "2025-autumn/pairs.xlsx" in lines[0] and "People" in lines[0]


@pytest.mark.parametrize("layout", ["empty", "only-other-files", "missing"])
def test_no_earlier_workbook_is_one_line(tmp_path, cli, monkeypatch, layout):
    monkeypatch.chdir(tmp_path)
    write_signups(tmp_path / "now.csv", now_rows())
    folder = tmp_path / "history"
    if layout != "missing":
        folder.mkdir()
    if layout == "only-other-files":
        (folder / "notes.txt").write_text("hello", encoding="utf-8")
    result = cli("match", "now.csv", "-o", "pairs.xlsx", "--history", "history")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: history: ")
    assert not (tmp_path / "pairs.xlsx").exists()


def test_other_files_are_named_and_skipped_and_order_is_sorted(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    folder = work / "history"
    (folder / "notes.txt").write_text("minutes of the kickoff", encoding="utf-8")
    shutil.copy(folder / "2025-spring" / "calendar" / "checkins.xlsx", folder / "checkins.xlsx")
    (folder / "2025-spring" / "pairs.bak.xlsx").write_bytes(b"an old backup")
    (folder / "~$pairs.xlsx").write_bytes(b"an Excel lock file")
    shutil.copy(folder / "2025-autumn" / "pairs.xlsx", folder / "autumn-copy.xlsx")
    history = read_history(folder, load_config(work / "mentor.toml"))
    assert [c.label for c in history.cohorts] == ["2025-spring", "2025-autumn"]
    assert history.notes == [
        "autumn-copy.xlsx: the same file as 2025-autumn/pairs.xlsx; read once",
        "2 file(s) in the --history folder are not pairing workbooks and were skipped: checkins.xlsx, notes.txt",
    ]
    assert history.cohorts[0].checkins == folder / "2025-spring" / "calendar" / "checkins.xlsx"
    assert history.cohorts[1].checkins is None


def test_circles_and_ended_relationships_count_as_shared(cohorts):
    """Every two members of a relationship with several mentees, ended ones too (the shapes a
    circle and an Ended sheet are read into)."""
    def member(name: str, role: str) -> Member:
        return Member(f"{name}@example.org", name.title(), role)  # type: ignore[arg-type]

    circle = Relationship("C001", (member("ada", "mentor"), member("cat", "mentee"), member("jo", "mentee")))
    ended = Relationship("P009", (member("bob", "mentor"), member("liz", "mentee")))
    assert shared_pairs([circle]) == [("ada@example.org", "cat@example.org"), ("ada@example.org", "jo@example.org"),
                                      ("cat@example.org", "jo@example.org")]
    history = read_history(cohorts / "history", load_config(cohorts / "mentor.toml"))
    spring = history.cohorts[0].book
    spring.ended = [Ending(ended, dt.date(2025, 5, 1), "moved away")]
    assert ("bob@example.org", "liz@example.org") in history.shared_pairs()
    assert "liz@example.org" in history.took_part()
    assert history.participation()["liz@example.org"] == ["2025-spring: mentee"]


# --------------------------------------------------------------------------- report --history


def report_with_history(work: Path, *, minimum: int) -> pipeline.ReportRun:
    write_config(work, minimum)
    pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=work / "pairs.xlsx", history=work / "history",
                   force=True)
    pipeline.schedule(work / "pairs.xlsx", config=work / "mentor.toml", start=dt.date(2027, 2, 1), months=3,
                      out=work / "calendar", force=True)
    return pipeline.report(work / "pairs.xlsx", [work / "calendar" / "checkins.xlsx"], config=work / "mentor.toml",
                           as_of=dt.date(2027, 6, 1), out=work / "reports", history=work / "history", force=True)


def sponsor_text(work: Path) -> str:
    [path] = [p for p in (work / "reports" / "outbox").glob("sponsor-summary-*.eml") if not is_backup(p)]
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")


def every_name_and_email(work: Path) -> set[str]:
    found = set()
    for rows in (spring_rows(), autumn_rows(), now_rows()):
        for row in rows:
            found |= {row[1], row[2]}
    return found


def test_sponsor_comparison_at_the_limit_shows_each_cohort_and_holds_no_name(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    run = report_with_history(work, minimum=2)  # each earlier cohort has exactly 2 relationships
    comparison = run.as_json()["cohorts"]
    rows = {row["cohort"]: row for row in comparison["rows"]}
    assert list(rows) == ["2025-spring", "2025-autumn", "Guild Mentoring 2027"]
    spring = rows["2025-spring"]
    assert (spring["participants"], spring["relationships"], spring["ended"]) == (5, 2, 0)
    assert spring["matched_share"] == 0.8  # kim was left out
    assert spring["held_rate"] == round(4 / 6, 4)
    assert spring["when"] == "2025-03"
    assert rows["2025-autumn"]["held_rate"] is None  # no check-in sheet beside it
    assert rows["Guild Mentoring 2027"]["current"] is True
    text = sponsor_text(work)
    assert "\n".join(line for line in text.splitlines() if line.startswith(("  2025-", "  Guild"))) == (
        "  2025-spring (2025-03): 5, 2, 80%, 67%, 0\n"
        "  2025-autumn (2025-09): 3, 2, 100%, n/a, 0\n"
        "  Guild Mentoring 2027 (2027-01, this cohort): 5, 2, 80%, 0%, 0")
    for secret in every_name_and_email(work):
        assert secret not in text
    sheet = pd.read_excel(work / "reports" / "cohort.xlsx", sheet_name="Cohorts", engine="openpyxl")
    assert sheet["Cohort"].tolist() == ["2025-spring", "2025-autumn", "Guild Mentoring 2027"]
    for secret in every_name_and_email(work):
        assert secret not in sheet.to_csv()
    html = (work / "reports" / "cohort.html").read_text(encoding="utf-8")
    assert "Compared with earlier cohorts" in html and "2025-autumn" in html


def test_sponsor_comparison_one_under_the_limit_breaks_out_no_earlier_cohort(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    run = report_with_history(work, minimum=3)
    rows = run.as_json()["cohorts"]["rows"]
    assert [row["cohort"] for row in rows] == ["other earlier cohorts (2)", "Guild Mentoring 2027"]
    assert rows[0]["relationships"] == 4 and rows[0]["participants"] == 8  # cat signed up for both
    text = sponsor_text(work)
    assert "2025-spring" not in text and "2025-autumn" not in text and "other earlier cohorts (2)" in text


def test_report_same_folder_same_bytes(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    report_with_history(work, minimum=2)
    first = [(work / "reports" / name).read_bytes() for name in ("cohort.xlsx", "cohort.html")] + [sponsor_text(work)]
    report_with_history(work, minimum=2)
    again = [(work / "reports" / name).read_bytes() for name in ("cohort.xlsx", "cohort.html")] + [sponsor_text(work)]
    assert first == again


def test_report_without_history_has_no_comparison(cohorts, tmp_path):
    work = fresh(cohorts, tmp_path)
    pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=work / "pairs.xlsx")
    pipeline.schedule(work / "pairs.xlsx", config=work / "mentor.toml", start=dt.date(2027, 2, 1), months=3,
                      out=work / "calendar")
    run = pipeline.report(work / "pairs.xlsx", [work / "calendar" / "checkins.xlsx"], config=work / "mentor.toml",
                          as_of=dt.date(2027, 6, 1), out=work / "reports")
    assert "cohorts" not in run.as_json() and "history" not in run.as_json()
    assert "Cohorts" not in openpyxl.load_workbook(work / "reports" / "cohort.xlsx", read_only=True).sheetnames
    assert "earlier cohorts" not in sponsor_text(work)


# --------------------------------------------------------------------------- the comparison's folding rule


def figures(label: str, relationships: int, *, current: bool = False) -> CohortFigures:
    return CohortFigures(label, "", relationships * 2, relationships * 2, relationships, 0, 0, 0, current)


@pytest.mark.parametrize(("sizes", "minimum", "shown", "withheld"), [
    ([5], 5, ["a"], 0),                                 # at the limit: broken out
    ([4], 5, [], 1),                                    # one under, alone: not shown at all
    ([5, 5, 4], 5, ["a", "other earlier cohorts (2)"], 0),  # the fold too small: the smallest shown joins it
    ([6, 4, 1], 5, ["a", "other earlier cohorts (2)"], 0),  # 4 + 1 = 5: at the limit, the fold is shown
    ([6, 3, 1], 5, ["other earlier cohorts (3)"], 0),   # 3 + 1 < 5: the 6 joins
])
def test_folding_small_cohorts(sizes, minimum, shown, withheld):
    earlier = [figures(chr(ord("a") + i), size) for i, size in enumerate(sizes)]
    result = cohort_comparison([*earlier, figures("now", 1, current=True)], minimum)
    assert result is not None
    assert [row["cohort"] for row in result["rows"]] == [*shown, "now"]
    assert result["withheld"] == withheld


def test_history_is_a_plain_object_for_python_callers():
    assert History(Path("x")).shared_pairs() == []
    with pytest.raises(MentorError):
        read_history(Path("/nonexistent/history"), load_config(None))


def test_earlier_workbook_read_back_is_unchanged(cohorts):
    """Reading the history leaves the earlier cohorts' files as they were."""
    path = cohorts / "history" / "2025-spring" / "pairs.xlsx"
    before = path.read_bytes()
    read_history(cohorts / "history", load_config(cohorts / "mentor.toml"))
    assert path.read_bytes() == before
    assert len(read_pairing_workbook(path, load_config(cohorts / "mentor.toml")).pairs) == 2


def test_several_workbooks_in_one_folder_get_no_checkin_log(cohorts, tmp_path):
    """Whose log a shared checkins.xlsx is cannot be known: none gets it, and a note says so."""
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(cohorts / "history" / "2025-spring" / "pairs.xlsx", flat / "spring.xlsx")
    shutil.copy(cohorts / "history" / "2025-autumn" / "pairs.xlsx", flat / "autumn.xlsx")
    shutil.copy(cohorts / "history" / "2025-spring" / "calendar" / "checkins.xlsx", flat / "checkins.xlsx")
    history = read_history(flat, load_config(cohorts / "mentor.toml"))
    assert [(c.label, c.checkins) for c in history.cohorts] == [("spring", None), ("autumn", None)]
    assert "the --history folder holds several pairing workbooks: its check-in sheet is not counted for any " \
           "(give each cohort a folder of its own)" in history.notes
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(flat / "spring.xlsx", alone / "spring.xlsx")
    shutil.copy(flat / "checkins.xlsx", alone / "checkins.xlsx")
    assert read_history(alone, load_config(cohorts / "mentor.toml")).cohorts[0].checkins == alone / "checkins.xlsx"


def test_the_kept_workbook_in_the_folder_is_not_an_earlier_cohort(cohorts, tmp_path):
    """``--keep`` keeps this cohort's pairs: the same workbook is not also a cohort never to repeat."""
    work = fresh(cohorts, tmp_path)
    kept = work / "history" / "2027" / "pairs.xlsx"
    kept.parent.mkdir()
    pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=kept, history=work / "history")
    run = pipeline.match([work / "now.csv"], config=work / "mentor.toml", output=work / "again.xlsx", keep=kept,
                         history=work / "history")
    assert pairs_of(work / "again.xlsx") == pairs_of(kept)
    assert run.history is not None and run.history.cohorts == ["2025-spring", "2025-autumn"]


def test_report_command_prints_the_comparison_and_json(cohorts, tmp_path, cli, monkeypatch):
    work = fresh(cohorts, tmp_path, minimum=2)
    monkeypatch.chdir(work)
    assert cli("match", "now.csv", "-o", "pairs.xlsx", "--history", "history").exit_code == 0
    assert cli("schedule", "pairs.xlsx", "--start", "2027-02-01", "--months", "3").exit_code == 0
    result = cli("report", "pairs.xlsx", "calendar/checkins.xlsx", "--as-of", "2027-06-01", "--history", "history",
                 "--json")
    assert result.exit_code == 0, result.stderr
    assert "Compared with earlier cohorts" in result.stderr and "2025-autumn" in result.stderr
    answer = json.loads(result.stdout)
    assert [row["cohort"] for row in answer["cohorts"]["rows"]] == ["2025-spring", "2025-autumn", "Guild Mentoring 2027"]
    assert answer["history"]["earlier_cohorts"] == ["2025-spring", "2025-autumn"]

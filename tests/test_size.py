"""Issue 12, item 8: `mentor match` refuses at once, in one line, a cohort past the size it supports.

The limit is tested at its exact value through the guard itself (no million-person cohort is
generated here: benchmarks/bench_size.py measures `mentor check` on a million rows), and once
end to end through the CLI with a limit lowered in mentor.toml.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from mentorcli.config import Config, load_config
from mentorcli.errors import MentorError
from mentorcli.pipeline import (
    TESTED_PARTICIPANTS,
    check_match_size,
    check_signup_rows,
    csv_record_count,
)
from tests.conftest import ROOT

BASE_SIGNUPS = ROOT / "tests" / "data" / "hostile" / "base-signups.csv"  # 8 valid people


def with_limit(limit: object) -> Config:
    config = Config()
    config.match = dataclasses.replace(config.match, max_participants=limit)  # type: ignore[arg-type]
    return config


def test_default_limit_is_the_tested_size() -> None:
    assert Config().match.max_participants == TESTED_PARTICIPANTS == 100_000


def test_the_default_limit_passes_and_one_more_is_refused() -> None:
    check_match_size(100_000, Config(), ["signups.csv"])
    with pytest.raises(MentorError) as refused:
        check_match_size(100_001, Config(), ["signups.csv"])
    text = str(refused.value)
    assert "100,001 participants" in text and "up to 100,000" in text and "signups.csv" in text
    assert "max_participants" in text and "\n" not in text


def test_a_million_says_how_much_longer_and_why() -> None:
    with pytest.raises(MentorError) as refused:
        check_match_size(1_000_000, Config(), ["big.csv"])
    text = str(refused.value)
    assert "1,000,000 participants" in text and "about 100x as long" in text and "mentees x mentors" in text


@pytest.mark.parametrize("limit", [1, 8, 250_000])
def test_a_configured_limit_holds_at_its_exact_value(limit: int) -> None:
    check_match_size(limit, with_limit(limit))
    with pytest.raises(MentorError, match=f"up to {limit:,}"):
        check_match_size(limit + 1, with_limit(limit))


@pytest.mark.parametrize("limit", [0, -1, True, 1.5])
def test_an_unusable_limit_names_mentor_toml(limit: object) -> None:
    with pytest.raises(MentorError, match=r"mentor\.toml.*max_participants"):
        check_match_size(1, with_limit(limit))


def test_max_participants_is_read_from_mentor_toml(tmp_path: Path) -> None:
    (tmp_path / "mentor.toml").write_text("[match]\nmax_participants = 250000\n", encoding="utf-8")
    assert load_config(tmp_path / "mentor.toml").match.max_participants == 250_000


@pytest.mark.parametrize(("limit", "exit_code"), [(8, 0), (7, 1)])
def test_match_refuses_past_the_limit_before_writing(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     limit: int, exit_code: int) -> None:
    shutil.copy(BASE_SIGNUPS, tmp_path / "signups.csv")
    (tmp_path / "mentor.toml").write_text(f"[match]\nmax_participants = {limit}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = cli("match", "signups.csv", "-o", "pairs.xlsx")
    assert result.exit_code == exit_code, result.stderr
    assert (tmp_path / "pairs.xlsx").exists() == (exit_code == 0)
    if exit_code:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "8 signup rows" in lines[0] and "up to 7 participants" in lines[0], result.stderr
        assert "signups.csv" in lines[0]


def test_records_are_counted_not_lines(tmp_path: Path) -> None:
    path = tmp_path / "signups.csv"
    path.write_bytes(b'Name,Email\r\n"A\r\nline two\r\nline three",a@example.org\r\n\r\nB,b@example.org\r\nC,c@example.org\r\n')
    assert csv_record_count(path, at_most=2) == 3  # 7 lines, 3 records, the blank line not one
    assert csv_record_count(path, at_most=7) is None  # no more lines than the limit: nothing to count


def test_escaped_quotes_and_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "signups.csv"
    path.write_bytes(b'Name,Note\n"Ann ""the""\nsecond",x\n\n\nBo,"""\n"""\nCy,"a\n\nb"\nDi,last')
    assert csv_record_count(path, at_most=0) == 4


def test_no_record_count_for_what_is_no_regular_csv(tmp_path: Path) -> None:
    fifo = tmp_path / "signups.csv"
    os.mkfifo(fifo)  # counting must not block on it: the read refuses it with its own message
    assert csv_record_count(fifo, at_most=0) is None
    (tmp_path / "folder.csv").mkdir()
    assert csv_record_count(tmp_path / "folder.csv", at_most=0) is None
    (tmp_path / "book.xlsx").write_bytes(b"PK")
    assert csv_record_count(tmp_path / "book.xlsx", at_most=0) is None


def test_signup_rows_at_the_exact_limit(tmp_path: Path) -> None:
    path = tmp_path / "signups.csv"
    shutil.copy(BASE_SIGNUPS, path)  # 8 records
    check_signup_rows([path], with_limit(8))
    with pytest.raises(MentorError, match="8 signup rows: mentor match supports up to 7 participants"):
        check_signup_rows([path], with_limit(7))


def test_too_many_rows_are_refused_before_the_signups_are_read(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nine rows without an email column: reading would fail on the column; the size comes first."""
    rows = "Name,Role\r\n" + "".join(f"Person {i},Mentee\r\n" for i in range(9))
    (tmp_path / "signups.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "mentor.toml").write_text("[match]\nmax_participants = 8\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = cli("match", "signups.csv", "-o", "pairs.xlsx")
    assert result.exit_code == 1 and "9 signup rows" in result.stderr and "email" not in result.stderr.lower(), result.stderr

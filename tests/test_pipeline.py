"""``mentorcli.pipeline`` from Python: each coordinator step called directly on the bundled example.

The same functions back the ``mentor`` command, so a step run from Python writes what the
command writes (compared part by part) and answers what its ``--json`` prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest

from mentorcli import pipeline
from mentorcli.config import Config, load_config
from mentorcli.errors import MentorError
from mentorcli.schedule import read_checkins
from mentorcli.workbook import read_pairing_workbook
from tests.conftest import EXAMPLES, ROOT
from tests.pinned import fingerprint

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller
from test_send import Recorder, free_port

START = dt.date(2027, 1, 4)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example signups and mentor.toml, matched once from Python."""
    folder = tmp_path_factory.mktemp("cohort")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    pipeline.match([folder / "signups.xlsx"], config=folder / "mentor.toml", output=folder / "pairs.xlsx")
    return folder


@pytest.fixture(scope="module")
def calendar(cohort: Path) -> Path:
    """The example's check-ins, scheduled from Python for two months."""
    pipeline.schedule(cohort / "pairs.xlsx", config=cohort / "mentor.toml", start=START, months=2,
                      out=cohort / "calendar")
    return cohort / "calendar"


def stale_temporary(folder: Path) -> Path:
    """A temporary file as a killed run leaves it: named after a process that is gone."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".intro-P001.eml.{int(gone.stdout)}-0badc0de.mentor-tmp"
    path.write_bytes(b"half a draft")
    return path


def pair_count(workbook: Path) -> int:
    return openpyxl.load_workbook(workbook, read_only=True)["Pairs"].max_row - 1


def test_init_writes_the_settings_with_the_detected_columns_and_never_over_a_file(tmp_path: Path) -> None:
    run = pipeline.init(EXAMPLES / "signups.xlsx", folder=tmp_path)
    assert run.path == tmp_path / "mentor.toml"
    written = load_config(run.path)
    assert written.columns["email"] == "Email Address" == run.columns["email"]
    assert run.headers >= len(run.columns) > 5
    assert run.as_json()["written"] == str(run.path)
    with pytest.raises(MentorError, match="exists"):
        pipeline.init(folder=tmp_path)
    assert load_config(run.path).columns == written.columns, "a refused init left the file as it was"
    pipeline.init(folder=tmp_path, force=True)
    assert not load_config(run.path).columns.get("email")


def test_check_reads_the_example_with_a_path_or_a_loaded_config(cohort: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(cohort)
    check = pipeline.check(["signups.xlsx"])  # the folder's mentor.toml, as on the command line
    assert check.usable and len(check.roster.people) > 100
    loaded = pipeline.check(["signups.xlsx"], config=load_config(cohort / "mentor.toml"))
    assert loaded.as_json() == check.as_json()
    printed = cli("check", "signups.xlsx", "--json")
    assert printed.exit_code == 0, printed.stderr
    assert json.loads(printed.stdout) == check.as_json()


def test_check_refuses_a_settings_window_it_cannot_read_before_reading_signups(tmp_path: Path) -> None:
    settings = tmp_path / "mentor.toml"
    settings.write_text('[availability]\n"Lunch" = ["Mon 25:00-26:00"]\n', encoding="utf-8")
    with pytest.raises(MentorError, match="window 'Mon 25:00-26:00' gives no time"):
        pipeline.check([EXAMPLES / "signups.xlsx"], config=settings)
    with pytest.raises(MentorError, match="gives no time"):
        pipeline.load_settings(load_config(settings))  # a Config built in Python is checked too


def test_match_writes_what_the_command_writes_and_answers_its_json(cohort: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(cohort)  # relative paths, as typed: the Problems sheet names the signup file
    run = pipeline.match(["signups.xlsx"], output="again.xlsx")
    book = read_pairing_workbook(cohort / "again.xlsx", Config())
    assert len(book.pairs) == len(run.result.pairs) == run.as_json()["pairs"] > 50
    assert run.total_mentees >= run.matched_mentees == run.as_json()["matched_mentees"]
    printed = cli("match", "signups.xlsx", "-o", "by-cli.xlsx", "--json")
    assert printed.exit_code == 0, printed.stderr
    assert json.loads(printed.stdout) == run.as_json() | {"output": "by-cli.xlsx"}
    assert fingerprint(cohort / "by-cli.xlsx") == fingerprint(cohort / "again.xlsx")


def test_match_refuses_bad_targets_before_any_work(cohort: Path) -> None:
    with pytest.raises(MentorError, match="cannot write .txt"):
        pipeline.match([cohort / "missing.csv"], config=cohort / "mentor.toml", output=cohort / "pairs.txt")
    with pytest.raises(MentorError, match="same file"):
        pipeline.match([cohort / "missing.csv"], config=cohort / "mentor.toml", output=cohort / "x.csv",
                       export_scores=cohort / "x.csv")
    with pytest.raises(MentorError, match="exists"):
        pipeline.match([cohort / "missing.csv"], config=cohort / "mentor.toml", output=cohort / "pairs.xlsx")


def test_match_keeps_an_earlier_workbook_and_writes_the_pairs_csv(cohort: Path) -> None:
    run = pipeline.match([cohort / "signups.xlsx"], config=cohort / "mentor.toml", output=cohort / "kept.csv",
                         keep=cohort / "pairs.xlsx", progress=lambda text: None)
    assert bool(run.result.pairs["kept"].all())
    assert len(run.result.pairs) == pair_count(cohort / "pairs.xlsx")
    assert (cohort / "kept.csv").read_text(encoding="utf-8").count("\n") == len(run.result.pairs) + 1


def test_schedule_writes_the_calendars_and_answers_what_it_planned(cohort: Path, calendar: Path, tmp_path: Path) -> None:
    sheet = read_checkins(calendar / "checkins.xlsx")
    assert set(sheet["pair_id"]) and len(set(sheet["pair_id"])) == pair_count(cohort / "pairs.xlsx")
    with pytest.raises(MentorError, match="exists"):
        pipeline.schedule(cohort / "pairs.xlsx", config=cohort / "mentor.toml", start=START, months=2, out=calendar)
    folder = tmp_path / "calendar"
    shutil.copytree(calendar, folder)
    again = pipeline.schedule(cohort / "pairs.xlsx", config=cohort / "mentor.toml", start=START, months=2,
                              out=folder, force=True)
    answer = again.as_json()
    assert answer["start"] == "2027-01-04" and answer["months"] == 2 and answer["out"] == str(folder)
    assert answer["checkins"] == len(sheet) and answer["pairs_scheduled"] == answer["pairs_in_workbook"]
    assert sum(answer["changes"][k] for k in ("new", "updated", "unchanged")) == answer["pairs_scheduled"]
    assert {Path(p).name for p in answer["files"]} >= {"checkins.xlsx", "cohort.ics"}


def test_introduce_writes_a_draft_per_pair_with_its_checkins(cohort: Path, calendar: Path) -> None:
    run = pipeline.introduce(cohort / "pairs.xlsx", config=cohort / "mentor.toml", calendar=calendar,
                             out=cohort / "outbox")
    assert len(run.written) == pair_count(cohort / "pairs.xlsx") and run.notes == []
    message = BytesParser(policy=policy.default).parsebytes(run.written[0].read_bytes())
    assert message["X-Unsent"] == "1" and len(list(message.iter_attachments())) == 1
    assert run.as_json() == {"kind": "introductions", "drafts": len(run.written), "out": str(cohort / "outbox"),
                             "files": [str(p) for p in run.written], "notes": [], "problems": []}
    with pytest.raises(MentorError, match="exists"):
        pipeline.introduce(cohort / "pairs.xlsx", config=cohort / "mentor.toml", calendar=calendar, out=cohort / "outbox")


def test_introduce_without_a_calendar_says_so_and_a_named_empty_one_is_an_error(cohort: Path, tmp_path: Path,
                                                                               monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no calendar/ here
    leftover = stale_temporary(tmp_path / "plain")
    run = pipeline.introduce(cohort / "pairs.xlsx", config=cohort / "mentor.toml", out="plain")
    assert not leftover.exists(), "a killed run's temporary file is cleared at the start"
    assert len(run.written) == pair_count(cohort / "pairs.xlsx")
    assert run.notes == ["no check-in sheet: the introductions go out without check-ins or an invitation"]
    with pytest.raises(MentorError, match="no checkins.xlsx"):
        pipeline.introduce(cohort / "pairs.xlsx", config=cohort / "mentor.toml", calendar=tmp_path, out="other")


def test_introduce_updates_writes_one_draft_per_change_of_a_reschedule(cohort: Path, tmp_path: Path) -> None:
    folder = tmp_path / "calendar"
    pipeline.schedule(cohort / "pairs.xlsx", config=cohort / "mentor.toml", start=START, months=2, out=folder)
    unchanged = pipeline.introduce(cohort / "pairs.xlsx", config=cohort / "mentor.toml", calendar=folder,
                                   out=tmp_path / "none", updates=True)
    assert unchanged.changes == [] and unchanged.written == [] and not (tmp_path / "none").exists()
    edited = tmp_path / "pairs.xlsx"
    shutil.copy(cohort / "pairs.xlsx", edited)
    book = openpyxl.load_workbook(edited)
    book["Pairs"].delete_rows(2, 2)  # the first two pairs end
    book.save(edited)
    pipeline.schedule(edited, config=cohort / "mentor.toml", start=START, months=2, out=folder, force=True)
    leftover = stale_temporary(tmp_path / "updates")
    run = pipeline.introduce(edited, config=cohort / "mentor.toml", calendar=folder, out=tmp_path / "updates",
                             updates=True)
    changes = folder / "changes"
    assert run.count("cancel") == 2 == len(list(changes.glob("cancel-*.ics")))
    assert not leftover.exists(), "a killed run's temporary file is cleared at the start"
    assert run.count("update") == len(list(changes.glob("update-*.ics")))
    assert len(run.written) == len(run.changes) >= 1
    answer = run.as_json()
    assert answer["kind"] == "updates" and answer["drafts"] == len(run.written)
    assert (answer["updated"], answer["cancelled"]) == (run.count("update"), 2)
    sent = tmp_path / "updates" / "sent"
    sent.mkdir()
    for draft in run.written:
        draft.rename(sent / draft.name)  # as mentor send leaves them
    with pytest.raises(MentorError, match="was already sent"):
        pipeline.introduce(edited, config=cohort / "mentor.toml", calendar=folder, out=tmp_path / "updates",
                           updates=True)


def test_introduce_json_on_the_command_line_is_the_pipeline_answer(cohort: Path, calendar: Path, cli,
                                                                   monkeypatch) -> None:
    monkeypatch.chdir(cohort)
    printed = cli("introduce", "pairs.xlsx", "--calendar", "calendar", "--out", "cli-outbox", "--json")
    assert printed.exit_code == 0, printed.stderr
    answer = json.loads(printed.stdout)
    assert answer["kind"] == "introductions" and answer["drafts"] == pair_count(cohort / "pairs.xlsx")
    assert answer["files"] == [str(Path("cli-outbox") / p.name) for p in sorted((cohort / "cli-outbox").glob("*.eml"))]
    assert "Wrote" in printed.stderr and "Wrote" not in printed.stdout


def test_report_without_any_schedule_says_nothing_is_counted_as_missed(cohort: Path, calendar: Path, tmp_path: Path,
                                                                       cli, monkeypatch) -> None:
    form = tmp_path / "form.csv"  # a check-in form export: one answer, from someone in no pair
    form.write_text("Your email,When did you meet?,Rate it (1-5)\nstranger@example.net,2027-01-10,4\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no calendar/ here
    run = pipeline.report(cohort / "pairs.xlsx", [form], config=cohort / "mentor.toml", as_of=dt.date(2027, 2, 20),
                          out="alone")
    assert run.without_schedule and run.schedule_added is None and run.as_json()["totals"]["missed"] == 0
    shutil.copytree(calendar, tmp_path / "calendar")
    found = pipeline.report(cohort / "pairs.xlsx", [form], config=cohort / "mentor.toml", as_of=dt.date(2027, 2, 20),
                            out="found")
    assert not found.without_schedule and found.schedule_added == Path("calendar") / "checkins.xlsx"
    assert found.as_json()["totals"]["missed"] > 0
    printed = cli("report", cohort / "pairs.xlsx", form, "--config", cohort / "mentor.toml", "--as-of", "2027-02-20",
                  "--out", "by-cli")
    assert printed.exit_code == 0 and "Using the check-in schedule calendar/checkins.xlsx." in printed.stderr


def test_report_writes_the_cohort_report_and_the_emails(cohort: Path, calendar: Path) -> None:
    run = pipeline.report(cohort / "pairs.xlsx", [calendar / "checkins.xlsx"], config=cohort / "mentor.toml",
                          as_of=dt.date(2027, 2, 20), out=cohort / "reports")
    assert (cohort / "reports" / "cohort.html").is_file() and (cohort / "reports" / "cohort.xlsx").is_file()
    assert run.schedule_added is None and not run.without_schedule
    answer = run.as_json()
    assert answer["written"] == [str(p) for p in run.written]
    assert sum(1 for p in run.written if p.suffix == ".eml") > pair_count(cohort / "pairs.xlsx")
    assert run.report.as_of == dt.date(2027, 2, 20)


def test_report_finds_the_calendar_sheet_when_no_log_is_one(cohort: Path, calendar: Path, tmp_path: Path,
                                                            monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    form = tmp_path / "form.csv"
    form.write_text("Pair ID,Date,Rating\n", encoding="utf-8")
    sheet = calendar / "checkins.xlsx"
    assert pipeline.report_logs([form], calendar) == pipeline.ReportLogs([form, sheet], added=sheet, has_schedule=True)
    assert pipeline.report_logs([sheet], calendar) == pipeline.ReportLogs([sheet], has_schedule=True)
    assert pipeline.report_logs([form], None) == pipeline.ReportLogs([form])  # no calendar/ in the current folder
    with pytest.raises(MentorError, match="no checkins.xlsx"):
        pipeline.report_logs([form], tmp_path)
    with pytest.raises(MentorError, match="not found"):
        pipeline.report_logs([tmp_path / "missing.csv"], calendar)


def test_send_delivers_the_drafts_once_to_a_real_server(cohort: Path, calendar: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    outbox = tmp_path / "outbox"
    drafts = pipeline.introduce(cohort / "pairs.xlsx", config=cohort / "mentor.toml", calendar=calendar,
                                out=outbox).written
    planned = pipeline.send(outbox, dry_run=True)
    assert planned.as_dict()["counts"]["planned"] == len(drafts) and sorted(outbox.glob("*.eml")) == drafts
    monkeypatch.delenv(pipeline.SMTP_PASSWORD_ENV, raising=False)
    with pytest.raises(MentorError, match=pipeline.SMTP_PASSWORD_ENV):
        pipeline.send(outbox, host="127.0.0.1", port=free_port(), user="coordinator")
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        report = pipeline.send(outbox, host="127.0.0.1", port=controller.port, timeout=10)
        again = pipeline.send(outbox, host="127.0.0.1", port=controller.port, timeout=10)
    finally:
        controller.stop()
    assert report.ok and len(report.sent) == len(drafts) == len(handler.received)
    assert again.sent == [] and not list(outbox.glob("*.eml"))


@pytest.mark.parametrize(("host", "user", "starttls", "dry_run", "warned"), [
    ("smtp.example.org", "me", False, False, True),
    ("smtp.example.org", "me", True, False, False),
    ("smtp.example.org", None, False, False, False),
    ("smtp.example.org", "me", False, True, False),
    ("127.0.0.1", "me", False, False, False),
    ("localhost", "me", False, False, False),
])
def test_a_password_crossing_the_network_in_clear_is_noticed(host, user, starttls, dry_run, warned) -> None:
    assert pipeline.unencrypted_login(host, user, starttls, dry_run) is warned


def test_the_smtp_port_is_the_one_named_else_587_with_starttls_else_25() -> None:
    assert (pipeline.smtp_port(None, True), pipeline.smtp_port(None, False)) == (587, 25)
    assert (pipeline.smtp_port(2525, True), pipeline.smtp_port(2525, False)) == (2525, 2525)


def test_help_and_version_do_not_load_the_pipeline() -> None:
    """``mentor --help`` stays quick: the pipeline (numpy, pandas and every stage) loads on first use."""
    for option in ("--help", "--version"):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mentorcli", option], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "mentorcli.cli" in loaded
        assert not {"pandas", "numpy", "mentorcli.pipeline", "mentorcli.match"} & loaded, option


def test_a_kept_pair_whose_mentee_left_is_named_on_its_row_of_the_kept_workbook(cohort: Path, tmp_path: Path) -> None:
    kept = read_pairing_workbook(cohort / "pairs.xlsx", Config()).pairs.iloc[0]
    signups = tmp_path / "signups.xlsx"
    shutil.copy(cohort / "signups.xlsx", signups)
    book = openpyxl.load_workbook(signups)
    sheet = book.worksheets[0]
    email_column = [cell.value for cell in sheet[1]].index("Email Address") + 1
    (row,) = [r for r in range(2, sheet.max_row + 1)
              if str(sheet.cell(r, email_column).value or "").strip().lower() == kept["mentee_email"]]
    sheet.delete_rows(row)  # the mentee of the first kept pair left the programme
    book.save(signups)
    run = pipeline.match([signups], config=cohort / "mentor.toml", output=tmp_path / "pairs.xlsx",
                         keep=cohort / "pairs.xlsx")
    on_kept = [p for p in run.problems if p.file == str(cohort / "pairs.xlsx")]
    assert [(p.sheet, p.row, p.severity) for p in on_kept] == [("Pairs", int(kept["row"]), "error")]
    assert kept["pair_id"] not in set(run.result.pairs["pair_id"])


def test_match_counts_the_participants_of_a_workbook_against_the_limit(cohort: Path, tmp_path: Path) -> None:
    settings = load_config(cohort / "mentor.toml")
    people = len(pipeline.check([cohort / "signups.xlsx"], config=settings).roster.people)
    settings.match = dataclasses.replace(settings.match, max_participants=people - 1)
    with pytest.raises(MentorError, match=f"{people} participants: mentor match supports up to {people - 1}"):
        pipeline.match([cohort / "signups.xlsx"], config=settings, output=tmp_path / "pairs.xlsx")
    assert not (tmp_path / "pairs.xlsx").exists()

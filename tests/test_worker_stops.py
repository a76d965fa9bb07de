"""A worker process killed halfway (``kill -9``, as the out-of-memory killer would) is one line naming
the file and what to do: a planning worker, a calendar worker and the sheet's worker of ``mentor
schedule`` (nothing of the run written), an introduction's and a progress draft's worker. Before,
the CLI said "unexpected BrokenProcessPool: please report this"."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
from pathlib import Path

import pytest

import mentorcli.mail as mail_module
import mentorcli.report as report_module
import mentorcli.schedule as schedule_module
from mentorcli import pipeline
from mentorcli.errors import MentorError
from tests.test_mail import checkin_rows, cohort_config, two_pair_book
from tests.test_schedule_sheet_aside import publish


def kill_this_process(*args: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("worker", ["sheet", "calendars"])
def test_a_worker_killed_halfway_is_one_line_and_leaves_nothing(worker: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A real ``kill -9`` of the sheet's worker or of a calendar worker (as the out-of-memory killer
    would): one error naming the folder, nothing of the set written, no temporary folder left."""
    monkeypatch.setattr(schedule_module, "_write_checkins_file" if worker == "sheet" else "serialise_series", kill_this_process)
    folder = tmp_path / "calendar"
    with pytest.raises(MentorError, match=r"calendar: a worker process writing the calendars stopped before it finished"):
        publish(folder, monkeypatch, aside=True)
    assert not folder.exists() or not any(folder.rglob("*"))


def test_a_planning_worker_killed_is_one_line_naming_the_pairing_workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(Path(__file__).resolve().parent.parent / "examples" / "mentor.toml", tmp_path / "mentor.toml")
    pairs = tmp_path / "pairs.xlsx"
    monkeypatch.chdir(tmp_path)
    pipeline.match([Path(__file__).resolve().parent.parent / "examples" / "signups.xlsx"], output=pairs)
    monkeypatch.setattr(schedule_module, "PARALLEL_FROM", 1)
    monkeypatch.setattr(schedule_module, "_adopt_planner", kill_this_process)
    with pytest.raises(MentorError, match=r"pairs.xlsx: a worker process planning the check-ins stopped before it finished"):
        pipeline.schedule(pairs, out=tmp_path / "calendar", months=2)
    assert not (tmp_path / "calendar").exists()


def test_an_introductions_worker_killed_is_one_line_naming_the_pairing_workbook(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    checkins = checkin_rows([("P001", "ana@example.org", "mo@example.org"), ("P002", "bea@example.org", "max@example.org")],
                            [dt.datetime(2026, 10, 6, 17, 0, tzinfo=dt.UTC)])
    monkeypatch.setattr(mail_module, "_render_chunk", kill_this_process)
    with pytest.raises(MentorError, match=rf"{book.path.name}: a worker process writing the emails stopped before it finished"):
        mail_module.render_introductions(book, checkins, config, workers=2)


class QuietMail:
    """Renders nothing: the draft worker is killed before it renders."""

    def render(self, context: dict) -> None:
        return None


def test_a_progress_drafts_worker_killed_is_one_line_saying_rerun_with_force(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "_render_and_write", kill_this_process)
    jobs = [(f"progress-{i}", {}) for i in range(report_module.CHUNK + 1)]
    with pytest.raises(MentorError, match=r"outbox: a worker process writing the drafts stopped before it finished.*--force"):
        report_module.write_participant_emails(jobs, QuietMail(), tmp_path / "outbox", force=False, workers=2)  # type: ignore[arg-type]

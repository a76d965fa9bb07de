"""A worker process killed halfway (``kill -9``, as the out-of-memory killer would) is one line naming
the file and what to do, with nothing of the run written: a planning worker, a calendar worker and
the sheet's worker of ``mentor schedule``. Before, the CLI said "unexpected BrokenProcessPool:
please report this"."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

import mentorcli.schedule as schedule_module
from mentorcli import pipeline
from mentorcli.errors import MentorError
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

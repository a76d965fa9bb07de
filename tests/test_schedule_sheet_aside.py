"""``checkins.xlsx`` written in a worker process while the calendars are made (issue 14 item 7).

Past ``PARALLEL_FROM`` series the sheet is written by a worker of its own (``_checkins_sheet_aside``)
while this process hands out the series and writes every calendar. The sheet must be the one
written here, part for part, fresh and with a carried-over log; a failure in the worker must fail
the whole set, leaving no file and no temporary folder behind.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

import mentorcli.schedule as schedule_module
from mentorcli.config import config_from_dict
from mentorcli.errors import MentorError
from mentorcli.schedule import plan_checkins, write_schedule
from tests.test_schedule_bytes import CONFIG, START, cohort


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def publish(folder: Path, monkeypatch: pytest.MonkeyPatch, *, aside: bool, force: bool = False) -> Path:
    """Plan in this process; write with the sheet aside (workers from one series) or here."""
    config = config_from_dict(CONFIG)
    schedule = plan_checkins(cohort(), config, start=START, months=6)
    monkeypatch.setattr(schedule_module, "PARALLEL_FROM", 1 if aside else 10**9)
    write_schedule(schedule, cohort(), config, folder, force=force)
    return folder / "checkins.xlsx"


def test_the_sheet_written_aside_is_the_sheet_written_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aside = publish(tmp_path / "aside", monkeypatch, aside=True)
    here = publish(tmp_path / "here", monkeypatch, aside=False)
    assert parts(aside) == parts(here)
    assert sorted(p.name for p in (tmp_path / "aside").iterdir()) == sorted(p.name for p in (tmp_path / "here").iterdir())


def test_the_sheet_is_written_in_a_worker_past_the_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pids"
    writer = schedule_module._write_checkins_file

    def record(*args: object) -> None:
        with open(marker, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        writer(*args)

    monkeypatch.setattr(schedule_module, "_write_checkins_file", record)
    publish(tmp_path / "aside", monkeypatch, aside=True)
    publish(tmp_path / "here", monkeypatch, aside=False)
    aside_pid, here_pid = (int(line) for line in marker.read_text().split())
    assert aside_pid != os.getpid() and here_pid == os.getpid()


def test_a_carried_log_is_written_aside_as_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = {}
    for aside in (True, False):
        folder = tmp_path / ("aside" if aside else "here")
        sheet = publish(folder, monkeypatch, aside=aside)
        book = openpyxl.load_workbook(sheet)
        ws = book.active
        header = [cell.value for cell in ws[1]]
        ws.cell(2, header.index("Held") + 1, "Yes")
        ws.cell(2, header.index("Notes") + 1, "went well")
        ws.cell(1, len(header) + 1, "My column")
        ws.cell(3, len(header) + 1, "kept")
        book.save(sheet)
        publish(folder, monkeypatch, aside=aside, force=True)
        results[aside] = parts(sheet)
        values = [[cell.value for cell in row] for row in openpyxl.load_workbook(sheet).active.iter_rows()]
        assert "went well" in values[1] and "kept" in values[2] and "My column" in values[0]
    assert results[True] == results[False]


def test_a_failure_writing_the_sheet_aside_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(tmp: Path, *args: object) -> None:
        Path(tmp).write_bytes(b"half a sheet")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(schedule_module, "_write_checkins_file", broken)
    folder = tmp_path / "calendar"
    with pytest.raises(MentorError, match="checkins.xlsx"):
        publish(folder, monkeypatch, aside=True)
    assert not folder.exists() or not any(folder.rglob("*"))

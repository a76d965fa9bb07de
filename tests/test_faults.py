"""Faults of the machine, through every command that writes (issue 12 item 5).

A real full disk and a real read-only disk (small tmpfs mounts: skipped cleanly where the
machine refuses to mount), outputs that are folders or sit under a file, a real ``kill -9`` of
real processes, two real processes writing one file at once, and a write set that runs out of
space halfway. Each time: one line naming the path, exit 1, no traceback, nothing left behind
(beside the output or in the system temp folder), and the earlier output intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from mentorcli.cli import app
from mentorcli.files import TEMP_SUFFIX, is_temporary
from tests.conftest import EXAMPLES, ROOT

START = "2027-01-04"
AS_OF = "2027-02-20"


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example cohort after match and schedule: signups, mentor.toml, pairs.xlsx, calendar/."""
    folder = tmp_path_factory.mktemp("cohort")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    before = Path.cwd()
    os.chdir(folder)
    try:
        for args in (("match", "signups.xlsx", "-o", "pairs.xlsx"),
                     ("schedule", "pairs.xlsx", "--start", START, "--months", "3", "--out", "calendar")):
            result = invoke(*args)
            assert result.exit_code == 0, result.stderr
    finally:
        os.chdir(before)
    return folder


@pytest.fixture
def system_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The system temp folder, made private to the test, to see what a run leaves in it."""
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


def mount_tmpfs(where: Path, size: str) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                              capture_output=True, text=True, check=False)
    except OSError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    return where


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True, capture_output=True)


def unmount(where: Path) -> None:
    if subprocess.run(["umount", str(where)], capture_output=True, check=False).returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    mounted: list[Path] = []

    def make(size: str) -> Path:
        mounted.append(mount_tmpfs(tmp_path / f"disk{len(mounted)}", size))
        return mounted[-1]

    yield make
    for where in mounted:
        unmount(where)


def fill(disk: Path) -> None:
    """Write a file until the disk is full."""
    with open(disk / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)


# ----------------------------------------------------------------------------- every writing command


def command(name: str, cohort: Path, out: Path) -> tuple[list[object], Path, Path]:
    """(arguments, working folder, the path the error must name) for a run writing into ``out``."""
    if name == "match -o":
        return ["match", cohort / "signups.xlsx", "-o", out / "pairs.xlsx"], cohort, out / "pairs.xlsx"
    if name == "match --export-scores":
        return (["match", cohort / "signups.xlsx", "-o", out / "pairs.xlsx", "--export-scores", out / "scores.csv"],
                cohort, out / "scores.csv")
    if name == "schedule":
        return (["schedule", cohort / "pairs.xlsx", "--start", START, "--months", "3", "--out", out / "calendar"],
                cohort, out / "calendar")
    if name == "introduce":
        return ["introduce", cohort / "pairs.xlsx", "--calendar", cohort / "calendar", "--out", out / "outbox"], cohort, out / "outbox"
    if name == "report":
        return (["report", cohort / "pairs.xlsx", cohort / "calendar" / "checkins.xlsx", "--as-of", AS_OF,
                 "--out", out / "reports"], cohort, out / "reports")
    assert name == "init"
    return ["init", cohort / "signups.xlsx"], out, out / "mentor.toml"


COMMANDS = ["match -o", "match --export-scores", "schedule", "introduce", "report", "init"]


def run_failing(args: list[object], cwd: Path, named: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a command that must fail cleanly; returns its error line."""
    monkeypatch.chdir(cwd)
    result = invoke(*args)
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert str(named) in errors[0], errors[0]
    return errors[0]


def leftovers(*folders: Path) -> list[Path]:
    """Temporary files anywhere under the folders (a later run must never see them)."""
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if is_temporary(path) or "tmp" in path.name.lower():
                found.append(path)
    return found


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", COMMANDS)
def test_a_full_disk_is_one_line_naming_the_output_and_leaves_nothing(
        name: str, cohort: Path, tmpfs, system_temp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = tmpfs("64k")
    fill(disk)
    before = files_under(cohort)
    args, cwd, named = command(name, cohort, disk)
    line = run_failing(args, cwd, named, monkeypatch)
    assert "No space left on device" in line and "free some space" in line
    assert files_under(disk) == ["filler"]
    assert files_under(cohort) == before
    assert leftovers(disk, cohort) == []
    assert list(system_temp.iterdir()) == []


@pytest.mark.parametrize("name", COMMANDS)
def test_a_read_only_disk_is_one_line_naming_the_output(
        name: str, cohort: Path, tmpfs, system_temp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = tmpfs("1m")
    remount(disk, "ro")
    args, cwd, named = command(name, cohort, disk)
    line = run_failing(args, cwd, named, monkeypatch)
    assert "Read-only file system" in line and "read-only" in line.split("system", 1)[1]
    assert leftovers(cohort) == [] and files_under(disk) == []
    assert list(system_temp.iterdir()) == []


FOLDER_TARGETS = {
    "match -o": "pairs.xlsx", "match --export-scores": "scores.csv", "schedule": "calendar/checkins.xlsx",
    "introduce": "outbox/intro-p001.eml", "report": "reports/cohort.html", "init": "mentor.toml",
}


@pytest.mark.parametrize("name", COMMANDS)
def test_an_output_that_is_a_folder_is_refused_even_with_force(
        name: str, cohort: Path, tmp_path: Path, system_temp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    (out / FOLDER_TARGETS[name]).mkdir(parents=True)
    args, cwd, _ = command(name, cohort, out)
    for extra in ([], ["--force"]):
        line = run_failing([*args, *extra], cwd, out / FOLDER_TARGETS[name], monkeypatch)
        assert "is a folder, not a file" in line
    assert files_under(tmp_path) == [] and leftovers(tmp_path, cohort) == []
    assert list(system_temp.iterdir()) == []


@pytest.mark.parametrize("name", [c for c in COMMANDS if c != "init"])
def test_an_output_under_a_file_is_refused(
        name: str, cohort: Path, tmp_path: Path, system_temp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    args, cwd, _ = command(name, cohort, blocker / "sub")
    line = run_failing(args, cwd, blocker, monkeypatch)
    assert "is a file, not a folder" in line
    assert blocker.read_text() == "a file, not a folder"
    assert leftovers(tmp_path, cohort) == [] and list(system_temp.iterdir()) == []


def test_a_missing_output_folder_is_made(cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default ``--out calendar`` relies on it; what cannot be made is refused above."""
    monkeypatch.chdir(cohort)
    result = invoke("match", "signups.xlsx", "-o", tmp_path / "new" / "deeper" / "pairs.xlsx")
    assert result.exit_code == 0, result.stderr
    assert openpyxl.load_workbook(tmp_path / "new" / "deeper" / "pairs.xlsx")["Pairs"].max_row > 1


# ----------------------------------------------------------------------------- a set that fails halfway


SET_COMMANDS = ["schedule", "introduce", "report"]


@pytest.mark.parametrize("name", SET_COMMANDS)
def test_a_set_that_runs_out_of_space_halfway_leaves_nothing_so_the_rerun_needs_no_force(
        name: str, cohort: Path, tmpfs, system_temp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each set is over 1 MB in 100+ files: a 256 kB disk takes some of them, then is full."""
    disk = tmpfs("256k")
    args, cwd, named = command(name, cohort, disk)
    line = run_failing(args, cwd, named, monkeypatch)
    assert "No space left on device" in line
    assert files_under(disk) == [] and leftovers(disk) == []
    assert list(system_temp.iterdir()) == []
    remount(disk, "size=16m")
    monkeypatch.chdir(cwd)
    again = invoke(*args)  # no --force
    assert again.exit_code == 0, again.stderr
    assert len(files_under(disk)) > 100 and leftovers(disk) == []


# ----------------------------------------------------------------------------- backups stay bounded


def test_repeated_force_keeps_three_backups(cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cohort)
    out = tmp_path / "pairs.xlsx"
    out.write_bytes(b"the coordinator's own")
    for _ in range(4):
        assert invoke("match", "signups.xlsx", "-o", out, "--force").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.bak.xlsx", "pairs.bak2.xlsx", "pairs.bak3.xlsx", "pairs.xlsx"]
    assert (tmp_path / "pairs.bak3.xlsx").read_bytes() != b"the coordinator's own"  # the fourth run dropped it
    openpyxl.load_workbook(tmp_path / "pairs.bak.xlsx")


def test_repeated_schedule_force_keeps_three_backups_of_each_file(cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cohort)
    args = ["schedule", "pairs.xlsx", "--start", START, "--months", "3", "--out", tmp_path / "cal"]
    assert invoke(*args).exit_code == 0
    first = len(list((tmp_path / "cal").iterdir()))
    for _ in range(5):
        assert invoke(*args, "--force").exit_code == 0
    names = [p.name for p in (tmp_path / "cal").iterdir()]
    # A calendar whose bytes did not change is not rewritten, so it gains no backup at all; what is
    # rewritten each time (the check-in sheet) keeps exactly three. Nothing piles up either way.
    assert first < len(names) <= 4 * first
    assert not [n for n in names if re.search(r"\.bak[4-9]|\.bak\d\d", n)]
    assert {n for n in names if n.startswith("checkins")} == {
        "checkins.xlsx", "checkins.bak.xlsx", "checkins.bak2.xlsx", "checkins.bak3.xlsx"}


def test_stale_temporaries_of_killed_runs_go_and_live_ones_stay(cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale_file = tmp_path / f".pairs.xlsx.{gone.pid}-0123abcd{TEMP_SUFFIX}"
        stale_file.write_text("half a workbook")
        stale_folder = tmp_path / f".other.ics.{gone.pid}-89abcdef{TEMP_SUFFIX}"
        stale_folder.mkdir()
        (stale_folder / "part").write_text("xml")
        in_progress = tmp_path / f".pairs.xlsx.{alive.pid}-00000000{TEMP_SUFFIX}"
        in_progress.write_text("another run is writing")
        monkeypatch.chdir(cohort)
        assert invoke("match", "signups.xlsx", "-o", tmp_path / "pairs.xlsx").exit_code == 0
        assert not stale_file.exists() and not stale_folder.exists()
        assert in_progress.read_text() == "another run is writing"
    finally:
        alive.kill()
        alive.wait()


# ----------------------------------------------------------------------------- real processes


def start_mentor(cwd: Path, *args: object, temp: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp)}
    return subprocess.Popen([sys.executable, "-m", "mentorcli", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_when(process: subprocess.Popen, folder: Path, delay_after_temp: float | None, delay: float) -> None:
    """``kill -9`` after ``delay`` s, or ``delay_after_temp`` s after a temporary appears in ``folder``."""
    begun = time.monotonic()
    if delay_after_temp is None:
        while process.poll() is None and time.monotonic() - begun < delay:
            time.sleep(0.005)
    else:
        while process.poll() is None and not any(n.endswith(TEMP_SUFFIX) for n in os.listdir(folder)):
            time.sleep(0.002)
        time.sleep(delay_after_temp)
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.communicate()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_match_folder(folder: Path) -> None:
    for path in folder.glob("*.xlsx"):  # a later command may take any of these: each is whole
        assert path.name in {"pairs.xlsx", "pairs.bak.xlsx", "pairs.bak2.xlsx", "pairs.bak3.xlsx", "signups.xlsx"}, path
        openpyxl.load_workbook(path, read_only=True).close()


def check_calendar_folder(folder: Path) -> None:
    for path in folder.glob("*.ics"):
        Calendar.from_ical(path.read_bytes())
    for path in folder.glob("*.xlsx"):
        assert path.name.startswith("checkins."), path
        openpyxl.load_workbook(path, read_only=True).close()


def check_outbox_folder(folder: Path) -> None:
    for path in folder.glob("*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert message["To"] and message.get_body() is not None, path


KILLS = [(None, 0.5), (0.0, 0), (0.1, 0)]


@pytest.mark.parametrize("stage", ["match", "schedule", "introduce"])
def test_kill_9_at_any_point_keeps_the_earlier_output_and_the_next_run_clears_up(
        stage: str, cohort: Path, tmp_path: Path) -> None:
    work = tmp_path / "cohort"
    shutil.copytree(cohort, work)
    temp = tmp_path / "system-temp"
    temp.mkdir()
    if stage == "match":
        args: list[object] = ["match", "signups.xlsx", "-o", "pairs.xlsx", "--force"]
        folder, check, earlier = work, check_match_folder, work / "pairs.xlsx"
    elif stage == "schedule":
        args = ["schedule", "pairs.xlsx", "--start", START, "--months", "4", "--out", "calendar", "--force"]
        folder, check, earlier = work / "calendar", check_calendar_folder, work / "calendar" / "checkins.xlsx"
    else:
        assert start_mentor(work, "introduce", "pairs.xlsx", "--out", "outbox", temp=temp).wait() == 0
        args = ["introduce", "pairs.xlsx", "--out", "outbox", "--force"]
        folder, check, earlier = work / "outbox", check_outbox_folder, work / "outbox" / "intro-p001.eml"
    seen, stale = {sha(earlier)}, []
    for delay_after_temp, delay in KILLS:
        kill_when(start_mentor(work, *args, temp=temp), folder, delay_after_temp, delay)
        check(folder)
        seen.add(sha(earlier))  # the earlier file, or the new one whole
        assert list(temp.iterdir()) == []
        stale += [p for p in folder.iterdir() if is_temporary(p)]
    finished = start_mentor(work, *args, temp=temp)
    assert finished.wait() == 0, finished.stderr.read() if finished.stderr else ""
    check(folder)
    assert stale, "no kill landed during the write"
    assert [p for p in folder.iterdir() if is_temporary(p)] == []  # the next run cleared them
    assert list(temp.iterdir()) == []
    assert len(seen - {sha(earlier)}) <= 1  # at most the first version besides the final one


def test_two_runs_at_once_the_second_refuses(cohort: Path, tmp_path: Path) -> None:
    work = tmp_path / "cohort"
    shutil.copytree(cohort, work)
    temp = tmp_path / "system-temp"
    temp.mkdir()
    runs = [start_mentor(work, "match", "signups.xlsx", "-o", "same.xlsx", temp=temp) for _ in range(2)]
    outcomes = [(run.wait(), run.communicate()[1]) for run in runs]
    assert sorted(code for code, _ in outcomes) == [0, 1], outcomes
    refused = next(err for code, err in outcomes if code == 1)
    assert "already exists" in refused and "--force" in refused and "Traceback" not in refused
    openpyxl.load_workbook(work / "same.xlsx", read_only=True).close()
    assert [p for p in work.iterdir() if is_temporary(p)] == [] and list(temp.iterdir()) == []


def test_a_full_disk_prints_no_late_traceback_from_a_real_process(cohort: Path, tmpfs, tmp_path: Path) -> None:
    """A half-written zip that Python closes at exit must not print "Exception ignored ... Traceback"."""
    disk = tmpfs("64k")
    fill(disk)
    temp = tmp_path / "system-temp"
    temp.mkdir()
    run = start_mentor(cohort, "match", "signups.xlsx", "-o", disk / "pairs.xlsx", temp=temp)
    _, stderr = run.communicate()
    assert run.returncode == 1
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "unexpected" not in stderr, stderr
    assert f"{disk / 'pairs.xlsx'}: cannot write: No space left on device" in stderr
    assert files_under(disk) == ["filler"] and list(temp.iterdir()) == []


SLOW_WRITER = """
import pathlib, sys, time
from mentorcli.errors import MentorError
from mentorcli.files import atomic_path
try:
    with atomic_path("same.xlsx", force=False) as tmp:
        tmp.write_bytes(b"the slow run's")
        print("staged", flush=True)
        while not pathlib.Path("go").exists():
            time.sleep(0.01)
except MentorError as exc:
    print(exc, flush=True)
    sys.exit(1)
"""


def test_the_run_that_finishes_second_refuses_and_the_first_ones_file_stays(cohort: Path, tmp_path: Path) -> None:
    """Deterministic two runs at once: a writer holds its finished file until `mentor match` has
    written the same output, then tries to publish."""
    work = tmp_path / "cohort"
    shutil.copytree(cohort, work)
    temp = tmp_path / "system-temp"
    temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp)}
    slow = subprocess.Popen([sys.executable, "-c", SLOW_WRITER], cwd=work, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert slow.stdout is not None and slow.stdout.readline().strip() == "staged"
        fast = start_mentor(work, "match", "signups.xlsx", "-o", "same.xlsx", temp=temp)
        assert fast.wait() == 0
        (work / "go").touch()
        said, _ = slow.communicate(timeout=60)
    finally:
        if slow.poll() is None:
            slow.kill()
    assert slow.returncode == 1 and "already exists" in said and "--force" in said
    openpyxl.load_workbook(work / "same.xlsx", read_only=True).close()  # the first run's, whole
    assert [p for p in work.iterdir() if is_temporary(p)] == [] and list(temp.iterdir()) == []

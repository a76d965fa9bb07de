"""``mentorcli.files``: publishing without replacing, all-or-nothing sets, temporary names, backups."""

from __future__ import annotations

import errno
import multiprocessing
import os
from pathlib import Path

import pytest

from mentorcli import files
from mentorcli.errors import MentorError
from mentorcli.files import (
    BACKUPS_KEPT,
    TEMP_SUFFIX,
    all_or_nothing,
    atomic_path,
    atomic_write_bytes,
    atomic_write_many,
    is_temporary,
)

OUTPUT_GLOBS = ("*.xlsx", "*.eml", "*.ics", "*.csv", "*.html", "*.toml", "pairs.xlsx", "cohort.ics", "intro-*.eml")


def everything(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_target_that_appears_during_the_write_is_not_replaced(tmp_path: Path) -> None:
    """Two runs at once: the one that finishes second refuses, and the first one's file stays."""
    target = tmp_path / "pairs.xlsx"
    with pytest.raises(MentorError, match="already exists.*--force"), atomic_path(target, force=False) as tmp:
        tmp.write_bytes(b"second run")
        target.write_bytes(b"first run")
    assert target.read_bytes() == b"first run"
    assert everything(tmp_path) == ["pairs.xlsx"]


def test_a_target_that_appears_during_a_set_stops_the_whole_set(tmp_path: Path) -> None:
    with pytest.raises(MentorError, match="already exists"), all_or_nothing():
        atomic_write_many([(tmp_path / "a.ics", b"a"), (tmp_path / "b.ics", b"b")], force=False)
        atomic_write_bytes(tmp_path / "c.xlsx", b"c", force=False)
        (tmp_path / "b.ics").write_bytes(b"another run's")
    assert everything(tmp_path) == ["b.ics"]
    assert (tmp_path / "b.ics").read_bytes() == b"another run's"


def test_with_force_the_target_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "pairs.xlsx"
    target.write_bytes(b"old")
    with atomic_path(target, force=True) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing is replaced until the write is whole
    assert target.read_bytes() == b"new" and (tmp_path / "pairs.bak.xlsx").read_bytes() == b"old"


@pytest.mark.parametrize("kept", [1, 2, 3])
def test_backups_are_bounded_at_their_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept: int) -> None:
    monkeypatch.setattr(files, "BACKUPS_KEPT", kept)
    target = tmp_path / "p001.eml"
    for version in range(kept + 3):
        atomic_write_bytes(target, f"v{version}".encode(), force=True)
    backups = sorted(p.name for p in tmp_path.iterdir() if files.is_backup(p))
    assert len(backups) == kept
    assert (tmp_path / "p001.bak.eml").read_bytes() == f"v{kept + 1}".encode()  # the newest backup
    assert files.backup_path(target, kept).read_bytes() == b"v2"  # the oldest kept


def test_three_backups_are_kept_by_default() -> None:
    assert BACKUPS_KEPT == 3


def test_temporary_names_match_no_output_pattern(tmp_path: Path) -> None:
    with all_or_nothing():
        atomic_write_many([(tmp_path / "intro-p001.eml", b"x"), (tmp_path / "ana.ics", b"y")], force=False)
        with atomic_path(tmp_path / "pairs.xlsx", force=False) as tmp:
            tmp.write_bytes(b"z")
        (tmp_path / "scratch").mkdir()
        staged = [p for p in tmp_path.iterdir() if p.name != "scratch"]
        assert len(staged) == 3 and all(is_temporary(p) for p in staged)
        assert all(p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX) for p in staged)
        assert [p for pattern in OUTPUT_GLOBS for p in tmp_path.glob(pattern)] == []
    assert everything(tmp_path) == ["ana.ics", "intro-p001.eml", "pairs.xlsx", "scratch"]


def test_a_failure_inside_a_set_publishes_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), all_or_nothing():
        atomic_write_many([(tmp_path / "a.eml", b"a")], force=False)
        with atomic_path(tmp_path / "b.xlsx", force=False) as tmp:
            tmp.write_bytes(b"b")
        raise RuntimeError("template error")
    assert everything(tmp_path) == []


def test_a_failed_publish_removes_what_this_run_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The third link fails (a full directory can refuse one more name): the first two go again."""
    (tmp_path / "old.ics").write_bytes(b"not this run's")
    real_link = os.link
    calls = []

    def link(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    items = [(tmp_path / name, name.encode()) for name in ("a.ics", "b.ics", "c.ics", "d.ics")]
    with pytest.raises(MentorError, match=r"c\.ics: cannot write: No space left on device"):
        atomic_write_many(items, force=False)
    assert everything(tmp_path) == ["old.ics"]


def test_without_hard_links_writes_still_work_and_keep_backups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAT disks and some network shares cannot hard-link: check-then-rename, backups by copy."""

    def no_link(source: str, target: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    target = tmp_path / "pairs.csv"
    atomic_write_bytes(target, b"v1", force=False)
    with pytest.raises(MentorError, match="already exists"):
        atomic_write_bytes(target, b"v2", force=False)
    atomic_write_bytes(target, b"v2", force=True)
    atomic_write_bytes(target, b"v3", force=True)
    assert target.read_bytes() == b"v3"
    assert (tmp_path / "pairs.bak.csv").read_bytes() == b"v2" and (tmp_path / "pairs.bak2.csv").read_bytes() == b"v1"
    assert [p for p in tmp_path.iterdir() if is_temporary(p)] == []


def test_nested_sets_publish_once_at_the_outer_end(tmp_path: Path) -> None:
    with all_or_nothing():
        with all_or_nothing():
            atomic_write_bytes(tmp_path / "a.html", b"a", force=False)
        assert not (tmp_path / "a.html").exists()
    assert (tmp_path / "a.html").read_bytes() == b"a"


def _child_write(folder: str) -> None:
    atomic_write_bytes(Path(folder) / "child.eml", b"from a worker", force=False)


def test_a_forked_worker_inside_a_set_writes_on_its_own(tmp_path: Path) -> None:
    """A worker process inherits the block but not its end: its files are published at once."""
    context = multiprocessing.get_context("fork")
    with all_or_nothing():
        atomic_write_bytes(tmp_path / "parent.html", b"p", force=False)
        worker = context.Process(target=_child_write, args=(str(tmp_path),))
        worker.start()
        worker.join()
        assert worker.exitcode == 0
        assert (tmp_path / "child.eml").read_bytes() == b"from a worker"
        assert not (tmp_path / "parent.html").exists()
    assert (tmp_path / "parent.html").exists()


def test_the_same_target_twice_in_one_set_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MentorError, match="written twice"):
        atomic_write_many([(tmp_path / "a.ics", b"1"), (tmp_path / "a.ics", b"2")], force=True)
    with pytest.raises(MentorError, match="written twice"), all_or_nothing():
        atomic_write_bytes(tmp_path / "a.ics", b"1", force=True)
        atomic_write_bytes(tmp_path / "a.ics", b"2", force=True)
    assert everything(tmp_path) == []


def test_write_errors_name_the_output_and_say_what_to_do(tmp_path: Path) -> None:
    from xlsxwriter.exceptions import FileCreateError

    target = tmp_path / "pairs.xlsx"
    wrapped = FileCreateError(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".x.mentor-tmp")))
    line = str(files.write_error(wrapped, target))
    assert line.startswith(f"{target}: cannot write: No space left on device") and "free some space" in line
    assert ".mentor-tmp" not in line
    assert "read-only disk" in str(files.write_error(OSError(errno.EROFS, "Read-only file system"), target))
    assert "may not write" in str(files.write_error(OSError(errno.EACCES, "Permission denied"), target))
    assert files.os_error_in(RuntimeError("no")) is None


def test_os_failure_names_the_file() -> None:
    line = str(files.os_failure(OSError(errno.EROFS, "Read-only file system", "/mnt/outbox")))
    assert line.startswith("/mnt/outbox: Read-only file system") and "read-only disk" in line


def test_permissions_follow_the_umask_for_every_writer(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "a.html", b"a", force=False)
        atomic_write_many([(tmp_path / "b.eml", b"b")], force=False)
        with atomic_path(tmp_path / "c.xlsx", force=False) as tmp:
            tmp.write_bytes(b"c")
    finally:
        os.umask(mask)
    assert {(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {0o640}


def test_a_target_published_between_the_last_check_and_the_link_is_not_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last moment of a race: the other run's file lands just before this run's link."""
    target = tmp_path / "pairs.xlsx"
    real_link = os.link

    def other_run_first(source: str, destination: str) -> None:
        Path(destination).write_bytes(b"the other run's")
        real_link(source, destination)

    monkeypatch.setattr(os, "link", other_run_first)
    with pytest.raises(MentorError, match="already exists"):
        atomic_write_bytes(target, b"this run's", force=False)
    assert target.read_bytes() == b"the other run's"
    assert everything(tmp_path) == ["pairs.xlsx"]


def test_the_private_folder_of_a_write_is_for_its_owner_only(tmp_path: Path) -> None:
    """xlsxwriter's part files (every email address) sit there while the workbook is written."""
    with atomic_path(tmp_path / "pairs.xlsx", force=False) as tmp:
        assert is_temporary(tmp.parent) and tmp.parent.parent == tmp_path
        assert tmp.parent.stat().st_mode & 0o777 == 0o700
        tmp.write_bytes(b"x")
    assert everything(tmp_path) == ["pairs.xlsx"]


def test_a_listing_never_says_an_existing_name_is_absent(tmp_path: Path) -> None:
    """``FolderListing`` lets the checks skip a ``stat`` for names the folder does not hold; a name
    it holds under another case or Unicode form (a folding file system would find it) may exist."""
    for name in ("pairs.ics", "Ann.ics", "e\u0301.ics", "sub"):
        (tmp_path / name).mkdir() if name == "sub" else (tmp_path / name).write_text("x")
    listing = files.FolderListing()
    for name in ("pairs.ics", "Ann.ics", "e\u0301.ics", "sub", "PAIRS.ICS", "ann.ics", "\u00e9.ics", "\u00c9.ICS"):
        assert listing.may_exist(tmp_path / name), name
    for name in ("absent.ics", "pairs.ics.bak", "e.ics"):
        assert not listing.may_exist(tmp_path / name), name
    assert not listing.may_exist(tmp_path / "missing-folder" / "a.ics")
    assert not listing.may_exist(tmp_path / "pairs.ics" / "a.ics")    # a file holds nothing
    for special in ("", ".", ".."):
        assert listing.may_exist(str(tmp_path / "sub") + os.sep + special)


def test_a_folder_that_cannot_be_listed_is_asked_name_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "taken.ics").write_text("mine")
    def refuse(folder: object) -> list[str]:
        raise PermissionError(errno.EACCES, "Permission denied", str(folder))
    monkeypatch.setattr(files.os, "listdir", refuse)
    assert files.FolderListing().may_exist(tmp_path / "anything.ics")
    with pytest.raises(MentorError, match="already exists"):
        files.check_targets([tmp_path / "new.ics", tmp_path / "taken.ics"], force=False)


def test_checks_by_listing_refuse_what_they_refused_by_stat(tmp_path: Path) -> None:
    """A folder as the target, a file where a folder should be, an existing file without
    ``--force``, and an existing file in a second folder: each refused, the first in order named."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "dir.ics").mkdir()
    (tmp_path / "a" / "x.ics").write_text("x")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "y.ics").write_text("y")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(MentorError, match="is a folder, not a file"):
        files.check_targets([tmp_path / "a" / "new.ics", tmp_path / "a" / "dir.ics"], force=True)
    with pytest.raises(MentorError, match="is a file, not a folder"):
        files.check_targets([tmp_path / "a" / "new.ics", tmp_path / "file" / "z.ics"], force=True)
    with pytest.raises(MentorError, match=r"already exists \(and 1 more\)") as info:
        files.check_targets([tmp_path / "a" / "new.ics", tmp_path / "b" / "y.ics", tmp_path / "a" / "x.ics"], force=False)
    assert info.value.path == str(tmp_path / "b" / "y.ics")
    files.check_targets([tmp_path / "a" / "new.ics", tmp_path / "b" / "y.ics", tmp_path / "a" / "x.ics"], force=True)
    files.check_targets([tmp_path / "a" / "new.ics", tmp_path / "c" / "new.ics"], force=False)

"""The shared base: safe output files, slugs, config loading."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mentorcli.config import Config, load_config
from mentorcli.errors import MentorError
from mentorcli.files import (
    atomic_path,
    atomic_write_text,
    check_targets,
    inside,
    inside_all,
    neutralise_formula,
    safe_slug,
    unique_slugs,
)


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "pairs.xlsx"
    target.write_text("coordinator's own")
    with pytest.raises(MentorError, match="--force"):
        atomic_write_text(target, "new", force=False)
    assert target.read_text() == "coordinator's own"


def test_force_keeps_the_last_three_versions_newest_first(tmp_path: Path) -> None:
    target = tmp_path / "pairs.csv"
    target.write_text("v1")
    for version in ("v2", "v3", "v4", "v5", "v6"):
        atomic_write_text(target, version, force=True)
    assert target.read_text() == "v6"
    assert (tmp_path / "pairs.bak.csv").read_text() == "v5"
    assert (tmp_path / "pairs.bak2.csv").read_text() == "v4"
    assert (tmp_path / "pairs.bak3.csv").read_text() == "v3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.bak.csv", "pairs.bak2.csv", "pairs.bak3.csv", "pairs.csv"]


def test_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target, force=False) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_check_targets_names_the_first_existing(tmp_path: Path) -> None:
    (tmp_path / "b.ics").write_text("x")
    with pytest.raises(MentorError) as info:
        check_targets([tmp_path / "a.ics", tmp_path / "b.ics"], force=False)
    assert "b.ics" in str(info.value)
    check_targets([tmp_path / "a.ics", tmp_path / "b.ics"], force=True)


@given(st.text())
def test_slugs_are_always_safe_file_names(text: str) -> None:
    slug = safe_slug(text)
    assert slug and slug not in (".", "..")
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in slug)
    assert not slug.startswith("-")


def test_unique_slugs_never_collide() -> None:
    slugs = unique_slugs(["Ann Lee", "ann lee", "Ann-Lee", "ann-lee-2", "../../etc/passwd", ""])
    assert len(set(slugs)) == len(slugs)
    assert slugs[4] == "etc-passwd" and slugs[5] == "item"


def test_inside_refuses_escapes(tmp_path: Path) -> None:
    assert inside(tmp_path, "a.ics") == tmp_path / "a.ics"
    with pytest.raises(MentorError):
        inside(tmp_path, "../a.ics")


@pytest.mark.parametrize(("name", "allowed"), [
    ("a.ics", True), ("sub/a.ics", True), ("sub/../a.ics", True), ("..", False), (".", False), ("", False),
    ("../a.ics", False), ("sub/../../a.ics", False), ("to-inside.ics", True), ("to-outside.ics", False),
    ("to-outside-folder", False), ("to-outside-folder/x.ics", False), ("dangling.ics", True),
])
def test_inside_all_answers_as_resolving_each_name_would(tmp_path: Path, name: str, allowed: bool) -> None:
    """Plain names are resolved only when they are a symbolic link: one to a file or folder outside
    is refused, one inside (or a link to nothing yet) is not; a name with parts is always resolved."""
    folder, outside = tmp_path / "out", tmp_path / "elsewhere"
    (folder / "sub").mkdir(parents=True)
    outside.mkdir()
    (folder / "to-inside.ics").symlink_to(folder / "sub" / "real.ics")
    (folder / "to-outside.ics").symlink_to(outside / "victim.ics")
    (folder / "to-outside-folder").symlink_to(outside, target_is_directory=True)
    (folder / "dangling.ics").symlink_to(folder / "not-yet.ics")
    if allowed:
        assert inside_all(folder, ["first.ics", name]) == [folder / "first.ics", folder / name]
    else:
        with pytest.raises(MentorError, match="refusing to write outside the output folder"):
            inside_all(folder, ["first.ics", name])


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_leaders_are_neutralised(cell: str) -> None:
    assert neutralise_formula(cell) == "'" + cell
    assert neutralise_formula("Ann") == "Ann"


def test_config_defaults_without_a_file(tmp_path: Path) -> None:
    assert load_config(cwd=tmp_path) == Config()


def test_config_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "mentor.toml"
    path.write_text("[rules]\nforbid_same_team = 'yes'\n")
    with pytest.raises(MentorError, match="mentor.toml: rules.forbid_same_team must be true or false"):
        load_config(path)
    path.write_text("[weights\n")
    with pytest.raises(MentorError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(MentorError, match="mentor init"):
        load_config(tmp_path / "missing.toml")


def test_config_reads_every_section(tmp_path: Path) -> None:
    path = tmp_path / "mentor.toml"
    path.write_text(
        '[cohort]\nname = "Spring"\nsponsor_emails = ["s@example.org"]\n'
        '[rules]\nmax_timezone_gap = 6\nchoices_only = true\n'
        '[schedule]\nholidays = ["GB"]\nblackout = ["2026-12-24", 2026-12-31]\n'
        '[[events]]\nname = "Kick-off"\ndate = 2027-01-11\ntime = "17:30"\n'
        '[checkins.columns]\nemail = "Email Address"\n'
    )
    config = load_config(path)
    assert config.cohort.name == "Spring" and config.rules.max_timezone_gap == 6.0 and config.rules.choices_only
    assert [d.isoformat() for d in config.schedule.blackout] == ["2026-12-24", "2026-12-31"]
    assert config.events[0].name == "Kick-off" and config.events[0].time == "17:30"
    assert config.checkins.columns == {"email": "Email Address"}
    assert config.folder == tmp_path


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "report.html", "<p>hi</p>", force=False)
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_backups_are_recognised_so_no_command_picks_them_up(tmp_path: Path) -> None:
    from mentorcli.files import is_backup

    draft = tmp_path / "p001.eml"
    draft.write_text("v1")
    atomic_write_text(draft, "v2", force=True)
    atomic_write_text(draft, "v3", force=True)
    assert sorted(p.name for p in tmp_path.iterdir() if not is_backup(p)) == ["p001.eml"]
    assert not is_backup(tmp_path / "backup-plan.eml") and not is_backup(tmp_path / "bak.eml")

"""`mentor check` and `mentor init` as a coordinator runs them: real files, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from mentorcli.config import Config, load_config

DATA = Path(__file__).parent / "data"
"""password-protected.xlsx: a one-row workbook encrypted with msoffcrypto-tool 6.1 (password "mentor"), a real
Office encrypted package; signups-small.ods / .xls: LibreOffice 7 conversions of a three-row xlsxwriter workbook."""
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOOD_HEADER = "Timestamp,Email Address,Full name,Are you a mentor or a mentee?,Time zone\n"


def good_csv(path: Path, rows: list[str]) -> Path:
    path.write_text(GOOD_HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def a_workbook(path: Path) -> Path:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Form Responses 1")
    sheet.write_row(0, 0, ["Email Address", "Full name", "Role"])
    for r in range(1, 200):
        sheet.write_row(r, 0, [f"person{r}@example.org", f"Person {r}", "Mentee" if r % 2 else "Mentor"])
    book.close()
    return path


def broken_files(folder: Path) -> dict[str, Path]:
    """Every kind of file the issue lists as unusable, made for real."""
    rng = random.Random(5)
    files = {}
    files["empty"] = folder / "empty.csv"
    files["empty"].write_bytes(b"")
    files["header only"] = good_csv(folder / "header-only.csv", [])
    files["not a workbook"] = folder / "signups.xlsx"
    files["not a workbook"].write_text(GOOD_HEADER + "2026-09-01,a@example.org,A,Mentor,UTC\n")
    whole = a_workbook(folder / "whole.xlsx").read_bytes()
    files["truncated"] = folder / "truncated.xlsx"
    files["truncated"].write_bytes(whole[: len(whole) // 2])
    files["binary junk"] = folder / "junk.csv"
    files["binary junk"].write_bytes(bytes(rng.randrange(256) for _ in range(4000)))
    files["binary junk workbook"] = folder / "junk.xlsx"
    files["binary junk workbook"].write_bytes(bytes(rng.randrange(256) for _ in range(4000)))
    files["no email column"] = folder / "no-email.csv"
    files["no email column"].write_text("Name,Role,Team\nAda,Mentor,Data\n", encoding="utf-8")
    files["password-protected"] = DATA / "password-protected.xlsx"
    files["missing"] = folder / "does-not-exist.xlsx"
    files["zip archive"] = folder / "archive.xlsx"
    with zipfile.ZipFile(files["zip archive"], "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    files["folder"] = folder
    files["device"] = Path("/dev/zero")
    files["fifo"] = folder / "signups-pipe.csv"
    os.mkfifo(files["fifo"])
    files["zip bomb"] = zip_bomb(folder / "bomb.xlsx", declared=3 << 30)
    files["zip bomb part"] = zip_bomb(folder / "bomb-part.xlsx", declared=100 << 20)
    files["shift-jis"] = folder / "shift-jis.csv"
    files["shift-jis"].write_bytes("Email,Name,Role\na@example.org,山田 太郎,Mentor\nb@example.org,鈴木 花子,Mentee\n"
                                   .encode("shift_jis"))
    return files


def zip_bomb(path: Path, *, declared: int) -> Path:
    """A workbook whose sheet part declares ``declared`` bytes unpacked (data left small): what a zip
    bomb's directory says, without writing its gigabytes. Refused by the declared size, before inflating."""
    a_workbook(path)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        if bytes(data[central + 46:central + 46 + len(name)]) == name:
            data[central + 24:central + 28] = min(declared, 0xFFFFFFFE).to_bytes(4, "little")
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    return path


EXPECTED_WORDS = {
    "empty": "is empty", "header only": "no signups", "not a workbook": "not a real .xlsx workbook",
    "truncated": "damaged or truncated", "binary junk": "binary content", "binary junk workbook": "not a real",
    "no email column": "no email column", "password-protected": "password-protected", "missing": "not found",
    "zip archive": "not a workbook", "folder": "is a folder", "device": "is a device",
    "fifo": "named pipe (FIFO)", "zip bomb": "would unpack to 3.0 GB", "zip bomb part": "times larger than it is stored",
    "shift-jis": "not UTF-8 or Windows-1252",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_WORDS))
def test_each_broken_file_is_one_readable_line_and_exit_1(cli, tmp_path, kind):
    path = broken_files(tmp_path)[kind]
    result = cli("check", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in result.stderr
    assert str(path) in lines[0]
    assert EXPECTED_WORDS[kind] in lines[0]


def test_check_json_is_exactly_the_promised_shape(cli, tmp_path):
    path = good_csv(tmp_path / "signups.csv", [
        "9/14/2026 10:00:00,ada@example.org,Ada Byron,Mentor,London",
        "9/14/2026 10:05:00,alan@example.org,Alan Turing,Mentee,Mars",
        "9/14/2026 10:06:00,grace@@example.org,Grace Hopper,Both,EST",
    ])
    result = cli("check", path, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"columns", "counts", "participants", "problems"}
    assert data["columns"] == {"name": "Full name", "email": "Email Address", "role": "Are you a mentor or a mentee?",
                               "timezone": "Time zone", "timestamp": "Timestamp"}
    assert data["counts"] == {"mentor": 1, "mentee": 1, "both": 0}
    assert data["participants"] == 2
    assert [set(p) for p in data["problems"]] == [{"file", "sheet", "row", "column", "severity", "problem"}] * 2
    assert [(p["row"], p["column"], p["severity"]) for p in data["problems"]] == [
        (3, "Time zone", "warning"), (4, "Email Address", "error")]
    assert "grace@@" not in result.stderr + result.stdout and "Mars" not in result.stderr + result.stdout


def test_strict_exits_1_on_error_rows_and_nothing_usable_exits_1(cli, tmp_path):
    path = good_csv(tmp_path / "signups.csv", [
        "9/14/2026 10:00:00,ada@example.org,Ada Byron,Mentor,London",
        "9/14/2026 10:06:00,grace@@example.org,Grace Hopper,Both,EST",
    ])
    assert cli("check", path).exit_code == 0
    assert cli("check", path, "--strict").exit_code == 1
    warnings_only = good_csv(tmp_path / "warnings.csv", ["9/14/2026 10:00:00,ada@example.org,Ada,Mentor,Mars"])
    assert cli("check", warnings_only, "--strict").exit_code == 0
    hopeless = good_csv(tmp_path / "hopeless.csv", ["9/14/2026 10:00:00,nobody,Nobody,Mentor,London"])
    result = cli("check", hopeless, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["participants"] == 0


def test_the_rich_view_shows_mapping_ignored_columns_counts_and_problems(cli, tmp_path, monkeypatch):
    from mentorcli import cli as cli_module

    monkeypatch.setattr(cli_module.err, "width", 220)
    path = tmp_path / "signups.csv"
    path.write_text("Email,Name,Role,Favourite colour,Hobies\n"
                    "a@example.org,A,Mentor,Blue,x\nb@example.org,B,Mentee,Red,y\n,C,Mentee,Green,z\n",
                    encoding="utf-8")
    result = cli("check", path)
    assert result.exit_code == 0
    assert result.stdout == ""
    err = result.stderr
    for text in ("Favourite colour", "not used", "Hobies", "looks a little like interests", "Participants: 2",
                 "mentors 1, mentees 1, both 0", "1 row not used", "no email address"):
        assert text in err, text


def test_role_and_sheet_options(cli, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Email,Name\na@example.org,A\n", encoding="utf-8")
    assert cli("check", path).exit_code == 1
    result = cli("check", path, "--role", "mentee", "--json")
    assert json.loads(result.stdout)["counts"]["mentee"] == 1
    assert cli("check", path, "--role", "boss").exit_code == 2
    workbook = a_workbook(tmp_path / "book.xlsx")
    assert cli("check", workbook, "--sheet", "Nope").exit_code == 1
    assert json.loads(cli("check", workbook, "--sheet", "Form Responses 1", "--json").stdout)["participants"] == 199


def test_check_reads_the_config_of_the_folder_and_option(cli, tmp_path, monkeypatch):
    path = tmp_path / "export.csv"
    path.write_text("Contact,Who,Kind\na@example.org,A,Mentor\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli("check", "export.csv").exit_code == 1
    Path("mentor.toml").write_text('[columns]\nemail = "Contact"\nname = "Who"\nrole = "Kind"\n', encoding="utf-8")
    assert json.loads(cli("check", "export.csv", "--json").stdout)["participants"] == 1
    other = tmp_path / "other.toml"
    other.write_text('[columns]\nemail = "Nope"\n', encoding="utf-8")
    assert cli("check", "export.csv", "--config", other).exit_code == 1
    broken = tmp_path / "broken.toml"
    broken.write_text("[columns\n", encoding="utf-8")
    result = cli("check", "export.csv", "--config", broken)
    assert result.exit_code == 1 and "not valid TOML" in result.stderr


def test_example_cohort_check(cli):
    result = cli("check", EXAMPLES / "signups.xlsx", "--config", EXAMPLES / "mentor.toml", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["participants"] == 150
    assert data["counts"] == {"mentor": 60, "mentee": 80, "both": 10}
    assert len(data["columns"]) == 20
    assert sorted(p["severity"] for p in data["problems"]) == ["error", "warning", "warning"]
    pleasant = cli("check", EXAMPLES / "signups.xlsx")
    assert pleasant.exit_code == 0 and "Participants: 150" in pleasant.stderr


def test_init_writes_every_setting_and_refuses_to_overwrite(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("init")
    assert result.exit_code == 0, result.stderr
    text = Path("mentor.toml").read_text(encoding="utf-8")
    assert "[columns]" in text and "# email = " in text and "max_timezone_gap" in text
    loaded = load_config(Path("mentor.toml"))
    loaded.path = None
    assert loaded == Config()
    again = cli("init")
    assert again.exit_code == 1 and "already exists" in again.stderr and "--force" in again.stderr
    assert Path("mentor.toml").read_text(encoding="utf-8") == text


def test_init_with_signups_fills_in_the_mapping_and_force_keeps_a_backup(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("mentor.toml").write_text("# mine\n", encoding="utf-8")
    result = cli("init", EXAMPLES / "signups.xlsx", "--force")
    assert result.exit_code == 0, result.stderr
    assert Path("mentor.bak.toml").read_text(encoding="utf-8") == "# mine\n"
    config = load_config(Path("mentor.toml"))
    assert config.columns["email"] == "Email Address"
    assert config.columns["timezone"] == "What time zone are you in? (e.g. London, EST, UTC+5:30)"
    assert json.loads(cli("check", EXAMPLES / "signups.xlsx", "--json").stdout)["participants"] == 150
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp.toml")]


def test_init_with_a_broken_file_writes_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00\x01" * 100)
    result = cli("init", junk)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert not Path("mentor.toml").exists()


@pytest.mark.parametrize("command", ["check", "init"])
def test_help_has_an_example(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Example: mentor " + command in result.stdout


def run_check_in_a_subprocess(path: Path) -> subprocess.CompletedProcess:
    """``mentor check`` in a process of its own, its address space capped at 4 GB: a native abort
    (calamine allocating 512 GB for a stray cell) fails the test instead of killing pytest."""
    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUST_BACKTRACE": "0"}
    return subprocess.run([sys.executable, "-m", "mentorcli", "check", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=cap_memory, check=False)


def stray_cell_workbooks(folder: Path) -> dict[str, Path]:
    from test_signups import hand_built_xlsx, sheet_xml

    rows = [["Email Address", "Full name", "Role"], ["ada@example.org", "Ada", "Mentor"]]
    book = openpyxl.Workbook()
    book.active.title = "Form Responses 1"
    for row in rows:
        book.active.append(row)
    book.active["XFD1048576"] = "x"
    files = {"openpyxl": folder / "stray-openpyxl.xlsx"}
    book.save(files["openpyxl"])
    files["hand-built"] = hand_built_xlsx(folder / "stray.xlsx", sheet_xml(rows, extra_cells=[(1048576, "XFD1048576", "x")]))
    files["lying dimension"] = hand_built_xlsx(folder / "stray-lie.xlsx", sheet_xml(
        rows, extra_cells=[(3, "XFD1048576", "x")], dimension="A1:C2"))
    files["far row, one letter"] = hand_built_xlsx(folder / "stray-row.xlsx", sheet_xml(
        rows, extra_cells=[(1048576, "Z1048576", "x")]))
    return files


@pytest.mark.parametrize("kind", ["openpyxl", "hand-built", "lying dimension"])
def test_a_stray_cell_at_xfd1048576_is_refused_in_one_line_not_a_native_abort(tmp_path, kind):
    path = stray_cell_workbooks(tmp_path)[kind]
    assert path.stat().st_size < 8_000
    result = run_check_in_a_subprocess(path)
    assert result.returncode == 1, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert str(path) in lines[0] and "column XFD and row 1,048,576" in lines[0]


def test_a_tall_narrow_sheet_is_within_bounds(tmp_path):
    """26 columns x 1,048,576 rows is 27 million cells: read, not refused (a real 1M-row export is like it)."""
    result = run_check_in_a_subprocess(stray_cell_workbooks(tmp_path)["far row, one letter"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_the_sheet_extent_limit_holds_at_its_exact_edge(tmp_path, monkeypatch):
    from test_signups import hand_built_xlsx, sheet_xml

    from mentorcli import signups
    from mentorcli.errors import MentorError

    rows = [["Email", "Name", "Role"], ["ada@example.org", "Ada", "Mentor"]]
    path = hand_built_xlsx(tmp_path / "wide.xlsx", sheet_xml(rows, extra_cells=[(3, "AB3", "x")]))  # 28 x 3 cells
    monkeypatch.setattr(signups, "MAX_SHEET_CELLS", 84)
    assert len(signups.read_signups([path]).people) == 1
    monkeypatch.setattr(signups, "MAX_SHEET_CELLS", 83)
    with pytest.raises(MentorError, match="column AB and row 3"):
        signups.read_signups([path])


def test_zip_limits_hold_at_their_exact_edge(tmp_path, monkeypatch):
    from mentorcli import signups
    from mentorcli.errors import MentorError

    path = a_workbook(tmp_path / "signups.xlsx")
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    monkeypatch.setattr(signups, "MAX_UNPACKED_BYTES", total)
    assert len(signups.read_signups([path]).people) == 199
    monkeypatch.setattr(signups, "MAX_UNPACKED_BYTES", total - 1)
    with pytest.raises(MentorError, match="would unpack to"):
        signups.read_signups([path])
    monkeypatch.setattr(signups, "MAX_UNPACKED_BYTES", 2 << 30)
    ratio = max(info.file_size / info.compress_size for info in infos if info.compress_size)
    monkeypatch.setattr(signups, "SUSPECT_PART_BYTES", 0)
    monkeypatch.setattr(signups, "MAX_PART_RATIO", ratio)  # the best-packed part packs exactly this many times: read
    assert len(signups.read_signups([path]).people) == 199
    monkeypatch.setattr(signups, "MAX_PART_RATIO", ratio * 0.999)
    with pytest.raises(MentorError, match="times larger than it is stored"):
        signups.read_signups([path])


def test_an_unreadable_file_is_one_line(cli, tmp_path):
    """As root (CI) chmod stops nobody, so there the check runs as a real process without the
    capabilities that let root read any file (util-linux ``setpriv``)."""
    path = good_csv(tmp_path / "signups.csv", ["9/14/2026 10:00:00,ada@example.org,Ada,Mentor,London"])
    path.chmod(0)
    if os.geteuid() != 0:
        result = cli("check", path)
        assert result.exit_code == 1 and str(path) in result.stderr and "permission" in result.stderr
        return
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without util-linux setpriv: no way to make a file unreadable")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([setpriv, "--bounding-set=-dac_override,-dac_read_search",
                           sys.executable, "-m", "mentorcli", "check", str(path)],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert str(path) in done.stderr and "permission" in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr


def test_problems_of_hostile_rows_reach_the_check_table_by_row(cli, tmp_path):
    path = tmp_path / "signups.csv"
    path.write_text(GOOD_HEADER
                    + '9/14/2026 10:00:00,ada@example.org,"Ada Byron,Mentor,London\n'
                    + '9/14/2026 10:05:00,alan@example.org,Alan "the" Turing,Mentee,London\n'
                    + "9/14/2026 10:06:00,grace@example.org,Grace Hopper,Both,EST\n"
                    + "1/1/2300 10:00:00,linus@example.org,Linus,Mentee,UTC\n", encoding="utf-8")
    result = cli("check", path, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["participants"] == 2  # Grace, and Linus with his timestamp left blank
    assert [(p["row"], p["severity"]) for p in data["problems"]] == [(2, "error"), (4, "warning")]
    assert "lines 3..3" in data["problems"][0]["problem"]

"""Every bad ``mentor.toml`` value is one line naming the file, the key and what is allowed (issue 12, item 6).

Each case is a real ``mentor.toml`` on disk, loaded by the real ``mentor check`` command: exit 1,
no traceback, the file and the key named. Numbers are tested at their exact limits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mentorcli.availability import config_window_problem
from mentorcli.config import LIMITS, MAX_WEIGHT, Config, load_config
from mentorcli.errors import MentorError
from mentorcli.tz import parse_timezone, tzinfo_for

SIGNUPS = "Name,Email,Role\nAna Li,ana@example.org,mentor\nBo Chen,bo@example.org,mentee\n"


def _load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "mentor.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(MentorError) as caught:
        _load(tmp_path, text)
    message = str(caught.value)
    assert "mentor.toml" in message
    return message


@pytest.mark.parametrize("text, key", [
    ("[weights]\ntopics = nan\n", "weights.topics"),
    ("[weights]\ntopics = inf\n", "weights.topics"),
    ("[weights]\nindustry = -inf\n", "weights.industry"),
    (f"[weights]\ntopics = {MAX_WEIGHT * 10}\n", "weights.topics"),
    ("[signups]\ndefault_capacity = 9223372036854775807\n", "signups.default_capacity"),
    ("[signups]\nmax_wants = -1\n", "signups.max_wants"),
    ("[signups]\nmax_capacity = 2.5\n", "signups.max_capacity"),
    ("[match]\ncandidates = 0\n", "match.candidates"),
    ("[schedule]\nmonths = 100000\n", "schedule.months"),
    ("[schedule]\nreminder_minutes = nan\n", "schedule.reminder_minutes"),
    ("[report]\nat_risk_days = 0\n", "report.at_risk_days"),
    ("[rules]\nmax_timezone_gap = inf\n", "rules.max_timezone_gap"),
    ("[rules]\nmax_timezone_gap = nan\n", "rules.max_timezone_gap"),
    ("[rules]\nideal_experience_gap = 1e300\n", "rules.ideal_experience_gap"),
    ("[schedule]\nblackout = 5\n", "schedule.blackout"),
    ("[schedule]\nblackout = [5]\n", "schedule.blackout"),
    ("[schedule]\nblackout = [\"someday\"]\n", "schedule.blackout"),
    ("events = [\"x\"]\n", "events"),
    ("events = 3\n", "events"),
    ("[[events]]\nname = \"Kick-off\"\ndate = 2027-01-04\ntimezone = \"localtime\"\n", "time zone"),
    ("[[events]]\nname = \"Kick-off\"\ndate = 2027-01-04\nduration_minutes = 1e9\n", "events.duration_minutes"),
    ("[cohort]\ncoordinator_email = \"not an address\"\n", "cohort.coordinator_email"),
    ("[cohort]\ncoordinator_email = \"a@b.org, spy@evil.example\"\n", "cohort.coordinator_email"),
    ("[cohort]\ncoordinator_email = \"x\\r\\nBcc: spy@evil.example\"\n", "cohort.coordinator_email"),
    ("[cohort]\nsponsor_emails = [\"ok@example.org\", \"nope\"]\n", "cohort.sponsor_emails"),
    ("[columns]\nemail = 5\n", "columns.email"),
    ("[checkins.columns]\nemail = [\"a\"]\n", "checkins.columns.email"),
])
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    assert key in _refused(tmp_path, text)


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_every_number_at_its_limits(tmp_path: Path, name: str) -> None:
    """The lowest and highest allowed value load; one step outside either is refused."""
    section, key = name.split(".")
    low, high = LIMITS[name]
    whole = section != "rules"
    step = 1 if whole else 0.5

    def text(value: float) -> str:
        if section == "events":
            return f'[[events]]\nname = "E"\ndate = 2027-01-04\n{key} = {value}\n'
        return f"[{section}]\n{key} = {value}\n"

    for value in (low, high):
        _load(tmp_path, text(int(value) if whole else value))
    for value in (low - step, high + step):
        assert name in _refused(tmp_path, text(int(value) if whole else value))


def test_weights_at_their_limits(tmp_path: Path) -> None:
    _load(tmp_path, f"[weights]\ntopics = {MAX_WEIGHT}\nindustry = 0\n")
    assert "weights.topics" in _refused(tmp_path, f"[weights]\ntopics = {MAX_WEIGHT + 1}\n")
    assert "not all be zero" in _refused(
        tmp_path, "[weights]\ntopics = 0\nindustry = 0\nexperience = 0\navailability = 0\nformat = 0\ninterests = 0\n")


@pytest.mark.parametrize("window", ["Funday 10-11", "Mon-Fri 25:00-26:00", "never", "\U0001F642 10-11",
                                    "Mon-Fri 9-17 (UK)", "Mon-Fri"])
def test_unreadable_availability_windows_are_refused(window: str) -> None:
    assert config_window_problem(window)


@pytest.mark.parametrize("window", ["Mon-Fri 18:00-21:00", "Sat-Sun 10:00-18:00", "Tue, Thu 9-11", "daily 09:00-10:00",
                                    "weekdays 6pm-8pm", "Mon to Fri 9.00-17.00", "Mon-Fri evenings",
                                    "Mon-Fri 6:00 p.m.-8:00 p.m."])
def test_readable_availability_windows_pass(window: str) -> None:
    assert config_window_problem(window) is None


def test_every_default_window_is_readable() -> None:
    for windows in Config().availability.values():
        assert all(config_window_problem(window) is None for window in windows)


def test_a_bad_window_stops_check_with_one_line(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("signups.csv").write_text(SIGNUPS, encoding="utf-8")
    Path("mentor.toml").write_text('[availability]\n"Weekday evenings" = ["Funday 10-11"]\n', encoding="utf-8")
    result = cli("check", "signups.csv")
    assert result.exit_code == 1
    assert "mentor.toml" in result.stderr and "Funday 10-11" in result.stderr and "funday" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


@pytest.mark.parametrize("text", ["[weights]\ntopics = nan\n", "[schedule]\nblackout = 5\n", 'events = ["x"]\n',
                                  '[cohort]\ncoordinator_email = "@"\n'])
def test_bad_config_through_the_cli(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("signups.csv").write_text(SIGNUPS, encoding="utf-8")
    Path("mentor.toml").write_text(text, encoding="utf-8")
    result = cli("check", "signups.csv")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "mentor.toml" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "right/UTC", "posix/Europe/London"])
def test_host_dependent_zones_are_refused(zone: str) -> None:
    assert tzinfo_for(zone) is None
    assert parse_timezone(zone) in (None, "UTC", "Europe/London")


def test_localtime_is_no_answer_of_a_person() -> None:
    assert parse_timezone("localtime") is None
    assert parse_timezone("Europe/London") == "Europe/London"


def test_settings_name_the_config_relative_to_the_cohort(tmp_path: Path) -> None:
    """The same cohort in two folders records the same config name (same workbook bytes)."""
    first, second = tmp_path / "a" / "cohort", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir(parents=True)
        (folder / "mentor.toml").write_text("[weights]\ntopics = 30\n", encoding="utf-8")
    one = load_config(first / "mentor.toml").as_settings()
    two = load_config(second / "mentor.toml").as_settings()
    assert one == two
    assert one["config"] == "mentor.toml"


def test_a_number_without_limits_must_still_be_finite(tmp_path: Path) -> None:
    from mentorcli.config import _number

    for value in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(MentorError, match="section.key"):
            _number(value, "section.key", tmp_path / "mentor.toml", whole=False)
    assert _number(1e300, "section.key", tmp_path / "mentor.toml", whole=False) == 1e300


def test_the_same_cohort_in_two_folders_gives_the_same_workbook(tmp_path: Path, cli,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import EXAMPLES

    digests = []
    for folder in (tmp_path / "one" / "deeper", tmp_path / "two"):
        folder.mkdir(parents=True)
        for name in ("signups.xlsx", "mentor.toml"):
            (folder / name).write_bytes((EXAMPLES / name).read_bytes())
        monkeypatch.chdir(folder)
        assert cli("match", "signups.xlsx", "-o", "pairs.xlsx").exit_code == 0
        digests.append((folder / "pairs.xlsx").read_bytes())
    assert digests[0] == digests[1]

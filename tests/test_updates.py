"""``mentor introduce --updates``: after a reschedule, an email per changed or cancelled series, to that pair only."""

from __future__ import annotations

import email.policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from icalendar import Calendar

from mentorcli.config import Config
from mentorcli.model import MatchResult, Roster, make_people
from mentorcli.workbook import write_pairing_workbook

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller
from test_send import Recorder, free_port

START = ("--start", "2026-03-02", "--months", "3")


def person(name: str, address: str, role: str, zone: str, row: int) -> dict:
    return {"name": name, "email": address, "role": role, "timezone": zone, "availability": ("Weekday evenings",),
            "languages": ("English",), "source_row": row}


def write_workbook(path: Path) -> Path:
    """Three pairs with no one in common: P001 will move, P002 be dropped, P003 stay as it is."""
    people = make_people([
        person("Sam Lee", "sam@example.org", "mentor", "Europe/London", 2),
        person("Ana Ruiz", "ana@example.org", "mentee", "America/New_York", 3),
        person("Kim Park", "kim@example.org", "mentor", "Europe/Berlin", 4),
        person("Bo Chen", "bo@example.org", "mentee", "Asia/Kolkata", 5),
        person("Lu Wang", "lu@example.org", "mentor", "Europe/Paris", 6),
        person("Eve Obi", "eve@example.org", "mentee", "Africa/Lagos", 7),
    ])
    result = MatchResult(
        pairs=pd.DataFrame({"pair_id": ["P001", "P002", "P003"], "mentee": [1, 3, 5], "mentor": [0, 2, 4],
                            "score": [70.0, 60.0, 50.0], "requested": [False] * 3, "kept": [False] * 3,
                            "why": ["Python.", "Careers.", "Design."]}),
        unmatched=pd.DataFrame({"person": pd.Series(dtype=int), "role": pd.Series(dtype=str),
                                "reason": pd.Series(dtype=str)}),
        mentors=pd.DataFrame({"person": [0, 2, 4], "capacity": [1, 1, 1], "assigned": [1, 1, 1]}),
    )
    return write_pairing_workbook(path, Roster(people=people), result, Config(), force=False)


def uids_by_pair(calendar: Path) -> dict[str, tuple[str, int]]:
    """Pair id -> (series UID, SEQUENCE) as the per-person calendars hold them."""
    found: dict[str, tuple[str, int]] = {}
    for path in calendar.glob("*.ics"):
        for event in Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
            pair = str(event.get("X-MENTORCLI-PAIR", "")) or str(event["SUMMARY"])
            found.setdefault(pair, (str(event["UID"]), int(event.decoded("SEQUENCE"))))
    return found


def read_eml(path: Path):
    return BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())


def recipients(msg) -> list[str]:
    return sorted(a.addr_spec for a in msg["To"].addresses)


def attached_calendar(msg):
    (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_content_disposition() == "attachment"
    return part, Calendar.from_ical(part.get_content().encode() if isinstance(part.get_content(), str) else part.get_content())


def set_cell(path: Path, sheet: str, key_col: str, key: str, col: str, value: str | None, *, delete: bool = False) -> None:
    book = openpyxl.load_workbook(path)
    ws = book[sheet]
    header = [c.value for c in ws[1]]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, header.index(key_col) + 1).value == key)
    if delete:
        ws.delete_rows(row)
    else:
        ws.cell(row, header.index(col) + 1, value)
    book.save(path)


@pytest.fixture
def rescheduled(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A cohort scheduled, then P001's mentee moved to another zone, P002 and its mentee Bo removed by hand,
    then rescheduled."""
    monkeypatch.chdir(tmp_path)
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")            # 2026-01-01
    first = cli("schedule", workbook, *START)
    assert first.exit_code == 0, first.stderr
    state_before = (tmp_path / "calendar" / "calendar-state.json").read_text(encoding="utf-8")
    set_cell(workbook, "People", "Email", "ana@example.org", "Time Zone", "America/Los_Angeles")
    for sheet, key, col in (("People", "Email", "Name"), ("Pairs", "Mentee Email", "Mentee")):
        set_cell(workbook, sheet, key, "ana@example.org", col, '<img src=x onerror=alert(1)> Ana "Ruiz"')
    set_cell(workbook, "Pairs", "Pair ID", "P002", "", None, delete=True)
    set_cell(workbook, "People", "Email", "bo@example.org", "", None, delete=True)    # Bo left the programme
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1769904000")            # 2026-02-01
    again = cli("schedule", workbook, *START, "--force")
    assert again.exit_code == 0, again.stderr
    assert "Updated 1 pair(s) (P001)" in " ".join(again.stderr.split())
    return workbook, tmp_path / "calendar", state_before


def previous_series(state_json: str) -> dict[str, tuple[str, int]]:
    import json

    events = json.loads(state_json)["events"]
    return {v["pair_id"]: (uid, v["sequence"]) for uid, v in events.items() if v.get("pair_id")}


def test_only_the_changed_and_the_dropped_pairs_get_an_email_with_their_own_calendar_change(cli, rescheduled, tmp_path: Path) -> None:
    workbook, calendar, state_before = rescheduled
    before = previous_series(state_before)
    result = cli("introduce", workbook, "--calendar", calendar, "--updates", "--out", "outbox")
    assert result.exit_code == 0, result.stderr
    assert "Wrote 1 update and 1 cancellation email(s)" in " ".join(result.stderr.split())
    drafts = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [d.name.split("-")[0] for d in drafts] == ["cancel", "update"]     # nothing for P003
    by_kind = {d.name.split("-")[0]: read_eml(d) for d in drafts}

    update = by_kind["update"]
    assert recipients(update) == ["ana@example.org", "sam@example.org"]
    assert update["Subject"].endswith("your check-ins changed")
    part, cal = attached_calendar(update)
    assert part.get_param("method") == "REQUEST" and cal["METHOD"] == "REQUEST"
    events = list(cal.walk("VEVENT"))
    assert {str(e["UID"]) for e in events} == {before["P001"][0]}
    assert {int(e.decoded("SEQUENCE")) for e in events} == {before["P001"][1] + 1}
    text = update.get_body(("plain",)).get_content()
    assert "(America/Los_Angeles)" in text and "(Europe/London)" in text and "Kim" not in text and "Bo " not in text
    html = update.get_body(("html",)).get_content()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; Ana" in html     # a cell never becomes live HTML
    shown = update["To"].addresses[0].display_name
    assert "onerror" in shown and "<" not in shown                                          # nor part of an address

    cancel = by_kind["cancel"]
    assert recipients(cancel) == ["bo@example.org", "kim@example.org"]     # no longer in the workbook, still told
    assert cancel["Subject"].endswith("your check-ins are cancelled")
    part, cal = attached_calendar(cancel)
    assert part.get_param("method") == "CANCEL" and cal["METHOD"] == "CANCEL"
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == before["P002"][0] and int(event.decoded("SEQUENCE")) == before["P002"][1] + 1
    html = cancel.get_body(("html",)).get_content()
    assert "Ana" not in html and "Sam" not in html

    # byte-identical on a forced rerun; a rerun without --force refuses and leaves the drafts alone
    data = {d.name: d.read_bytes() for d in drafts}
    refused = cli("introduce", workbook, "--calendar", calendar, "--updates", "--out", "outbox")
    assert refused.exit_code == 1 and "--force" in refused.stderr
    forced = cli("introduce", workbook, "--calendar", calendar, "--updates", "--out", "outbox", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert {name: (tmp_path / "outbox" / name).read_bytes() for name in data} == data


def test_mentor_send_delivers_each_change_to_its_pair_only(cli, rescheduled, tmp_path: Path) -> None:
    workbook, calendar, _ = rescheduled
    assert cli("introduce", workbook, "--calendar", calendar, "--updates", "--out", "outbox").exit_code == 0
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        sent = cli("send", "outbox", "--smtp-host", "127.0.0.1", "--smtp-port", str(controller.port))
    finally:
        controller.stop()
    assert sent.exit_code == 0, sent.stderr
    delivered = {msg["Subject"].rsplit(": ", 1)[1]: sorted(rcpts) for (_, rcpts, _), msg in zip(handler.received, handler.messages())}
    assert delivered == {"your check-ins are cancelled": ["bo@example.org", "kim@example.org"],
                         "your check-ins changed": ["ana@example.org", "sam@example.org"]}
    for msg in handler.messages():
        assert any(p.get_content_type() == "text/calendar" for p in msg.walk())
    assert list((tmp_path / "outbox").glob("*.eml")) == []


def test_nothing_changed_means_no_email(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    workbook = write_workbook(tmp_path / "pairs.xlsx")
    assert cli("schedule", workbook, *START).exit_code == 0
    result = cli("introduce", workbook, "--calendar", "calendar", "--updates", "--out", "outbox")
    assert result.exit_code == 0 and "nothing to send" in result.stderr
    assert not (tmp_path / "outbox").exists()


@pytest.mark.parametrize(("edit", "said"), [
    ((b"mailto:bo@example.org", b"mailto:spy@example.net"), "attendees"),     # a recipient who is not of the pair
    ((b"SEQUENCE:1", b"SEQUENCE:0"), "not what calendar-state.json last published"),   # a stale file
    ((b"METHOD:CANCEL", b"METHOD:REQUEST"), "METHOD:CANCEL"),
])
def test_a_change_file_that_disagrees_with_the_state_is_refused(cli, rescheduled, tmp_path: Path, edit, said) -> None:
    workbook, calendar, _ = rescheduled
    (cancel,) = (calendar / "changes").glob("cancel-*.ics")
    data = cancel.read_bytes()
    assert edit[0] in data
    cancel.write_bytes(data.replace(*edit))
    result = cli("introduce", workbook, "--calendar", calendar, "--updates", "--out", "outbox")
    assert result.exit_code == 1 and said in " ".join(result.stderr.split()) and "Traceback" not in result.stderr
    assert not (tmp_path / "outbox").exists()


def test_an_update_for_a_pair_edited_since_the_schedule_is_refused(cli, rescheduled, tmp_path: Path) -> None:
    workbook, calendar, _ = rescheduled
    set_cell(workbook, "Pairs", "Pair ID", "P001", "Mentor Email", "lu@example.org")
    result = cli("introduce", workbook, "--calendar", calendar, "--updates", "--out", "outbox")
    assert result.exit_code == 1 and "P001" in result.stderr and "mentor schedule" in result.stderr
    assert not (tmp_path / "outbox").exists()


def test_the_cohort_templates_folder_overrides_the_update_email(cli, rescheduled, tmp_path: Path) -> None:
    workbook, calendar, _ = rescheduled
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "cancel.txt.j2").write_text("Off: {{ pair_id }} for {{ mentee.name }}\n", encoding="utf-8")
    assert cli("introduce", workbook, "--calendar", calendar, "--updates", "--out", "outbox").exit_code == 0
    (cancel,) = (tmp_path / "outbox").glob("cancel-*.eml")
    assert read_eml(cancel).get_body(("plain",)).get_content().strip() == "Off: P002 for Bo Chen"


# ------------------------------------------------------------------------------- a relationship of three


def three_member_book(path: Path):
    """P001: Sam mentors Ana and Bo (two Pairs rows sharing the id); P003: Lu and Eve."""
    from mentorcli.model import PairingBook

    people = make_people([person("Sam Lee", "sam@example.org", "mentor", "Europe/London", 2),
                          person("Ana Ruiz", "ana@example.org", "mentee", "America/New_York", 3),
                          person("Bo Chen", "bo@example.org", "mentee", "Asia/Kolkata", 4),
                          person("Lu Wang", "lu@example.org", "mentor", "Europe/Paris", 5),
                          person("Eve Obi", "eve@example.org", "mentee", "Africa/Lagos", 6)])
    rows = [("P001", "ana@example.org", "Ana Ruiz", "sam@example.org", "Sam Lee"),
            ("P001", "bo@example.org", "Bo Chen", "sam@example.org", "Sam Lee"),
            ("P003", "eve@example.org", "Eve Obi", "lu@example.org", "Lu Wang")]
    pairs = pd.DataFrame([{"pair_id": p, "mentee_email": me, "mentee": mn, "mentor_email": oe, "mentor": on,
                           "score": 60.0, "why": "", "row": n} for n, (p, me, mn, oe, on) in enumerate(rows, 2)])
    return PairingBook(path=path, pairs=pairs, people=people)


def write_change(calendar: Path, kind: str, people: list[list[str]], attendees: list[str]) -> None:
    """A calendar folder as mentor schedule leaves it: the state of one series and its change file."""
    import datetime as dt

    from icalendar import Event

    from mentorcli.ics import STATE_FILE, Published, state_bytes

    uid, sequence = "p001-series@mentorcli.test", 2
    (calendar / "changes").mkdir(parents=True)
    entry = Published(sequence=sequence, dtstamp="20260201T000000Z", fingerprint="x", summary="Check-in",
                      start="2026-03-03T18:00:00Z", people=people, pair_id="P001", cancelled=kind == "cancel")
    (calendar / STATE_FILE).write_bytes(state_bytes({uid: entry}))
    cal = Calendar()
    cal.add("prodid", "-//mentorcli tests//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST" if kind == "update" else "CANCEL")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstart", dt.datetime(2026, 3, 3, 18, 0, tzinfo=dt.UTC))
    for address in attendees:
        event.add("attendee", f"mailto:{address}")
    cal.add_component(event)
    (calendar / "changes" / f"{kind}-p001-0123abcd.ics").write_bytes(cal.to_ical())


THREE = [["Ana Ruiz", "ana@example.org"], ["Bo Chen", "bo@example.org"], ["Sam Lee", "sam@example.org"]]


@pytest.mark.parametrize("kind", ["update", "cancel"])
def test_a_change_of_a_relationship_of_three_goes_to_its_three_members_only(tmp_path: Path, kind: str) -> None:
    from mentorcli.updates import build_change_messages, change_files

    book = three_member_book(tmp_path / "pairs.xlsx")
    calendar = tmp_path / "calendar"
    write_change(calendar, kind, THREE, [address for _, address in THREE])
    checkins = pd.DataFrame({"pair_id": ["P001", "P001", "P003"], "flag": ["", "", ""],
                             "start_utc": pd.to_datetime(["2026-03-03 18:00", "2026-03-03 18:00", "2026-03-04 18:00"],
                                                         utc=True)})
    ((_base, msg),) = build_change_messages(book, checkins, Config(), change_files(calendar))
    parsed = BytesParser(policy=email.policy.default).parsebytes(msg.as_bytes())
    assert recipients(parsed) == ["ana@example.org", "bo@example.org", "sam@example.org"] and parsed["Cc"] is None
    text = parsed.get_body(("plain",)).get_content()
    assert "Dear Ana Ruiz, Bo Chen and Sam Lee," in text
    assert not any(other in text for other in ("Eve", "Lu Wang", "eve@", "lu@"))
    if kind == "update":
        assert ("1. Tuesday 3 March 2026, 13:00 (America/New_York) / Tuesday 3 March 2026, 23:30 (Asia/Kolkata) / "
                "Tuesday 3 March 2026, 18:00 (Europe/London)") in text
        assert "\n  2. " not in text.replace("\r\n", "\n")  # one meeting, however many rows the sheet has for it


def test_an_update_whose_people_are_not_the_relationships_now_is_refused(tmp_path: Path) -> None:
    from mentorcli.errors import MentorError
    from mentorcli.updates import build_change_messages, change_files

    book = three_member_book(tmp_path / "pairs.xlsx")
    book.pairs = book.pairs.drop(index=1)  # Bo left P001 after the schedule was made
    calendar = tmp_path / "calendar"
    write_change(calendar, "update", THREE, [address for _, address in THREE])
    checkins = pd.DataFrame({"pair_id": ["P001"], "flag": [""], "start_utc": pd.to_datetime(["2026-03-03 18:00"], utc=True)})
    with pytest.raises(MentorError, match="not in the workbook with the same people"):
        build_change_messages(book, checkins, Config(), change_files(calendar))


def test_a_change_file_missing_one_of_the_three_is_refused(tmp_path: Path) -> None:
    from mentorcli.errors import MentorError
    from mentorcli.updates import change_files

    write_change(tmp_path / "calendar", "update", THREE, ["ana@example.org", "sam@example.org"])
    with pytest.raises(MentorError, match="not the people of its series"):
        change_files(tmp_path / "calendar")

"""Email drafts: rendering, escaping, header safety, outbox files and introductions, parsed back."""

from __future__ import annotations

import datetime as dt
import email.policy
import os
import re
from email.parser import BytesParser
from pathlib import Path

import icalendar
import jinja2
import pandas as pd
import pytest

from mentorcli.config import Config, config_from_dict
from mentorcli.errors import MentorError
from mentorcli.mail import (
    build_introductions,
    format_local_time,
    html_page_env,
    introduce,
    render_introductions,
    render_message,
    write_outbox,
)
from mentorcli.model import PairingBook, make_people

EXPECTED_HEADERS = {"x-mentorcli-recipients", "from", "to", "subject", "date", "x-unsent", "mime-version",
                    "content-type", "message-id"}


def parse(data: bytes):
    return BytesParser(policy=email.policy.default).parsebytes(data)


def parse_file(path: Path):
    return parse(path.read_bytes())


def bodies(msg) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def everything_readable(msg) -> str:
    """Headers plus decoded text, HTML and attachments: what a reader of the email can see."""
    text, html = bodies(msg)
    attachments = [part.get_content() for part in msg.iter_attachments()]
    decoded = [a.decode("utf-8") if isinstance(a, bytes) else a for a in attachments]
    return "\n".join([str(v) for _, v in msg.items()] + [text, html, *decoded])


def person_context(name: str, email_address: str, role: str, **extra) -> dict:
    base = {"name": name, "email": email_address, "role": role, "goals": [], "offers": [], "timezone": "",
            "formats": [], "languages": [], "industry": "", "first_checkin": ""}
    return base | extra


def intro_context(mentee_name: str = "Ana Silva", mentor_name: str = "Mo Khan", why: str = "both into data") -> dict:
    return {
        "programme": "Data Mentoring 2026",
        "coordinator": {"name": "Cora Ordinator", "email": "cora@example.org"},
        "pair_id": "P001",
        "why": why,
        "mentee": person_context(mentee_name, "ana@example.org", "mentee", goals=["SQL", "Career change"]),
        "mentor": person_context(mentor_name, "mo@example.org", "mentor", offers=["Data engineering"]),
        "checkin_count": 0,
        "shared_formats": [],
        "shared_languages": [],
    }


def calendar_invite(attendees: list[str]) -> bytes:
    """A real METHOD:REQUEST calendar made with icalendar, as the schedule stage would attach."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//mentorcli tests//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = icalendar.Event()
    event.add("uid", "p001-1@mentorcli.test")
    event.add("dtstamp", dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
    event.add("dtstart", dt.datetime(2026, 10, 6, 17, 0, tzinfo=dt.UTC))
    event.add("dtend", dt.datetime(2026, 10, 6, 17, 30, tzinfo=dt.UTC))
    event.add("summary", "Mentoring check-in")
    event.add("organizer", "mailto:cora@example.org")
    for address in attendees:
        event.add("attendee", f"mailto:{address}")
    cal.add_component(event)
    return cal.to_ical()


def render(context: dict | None = None, *, to=None, subject="Meet your mentor", **kwargs):
    return render_message(
        "introduce",
        context or intro_context(),
        to=to or [("Ana Silva", "ana@example.org"), ("Mo Khan", "mo@example.org")],
        sender=("Cora Ordinator", "cora@example.org"),
        subject=subject,
        **kwargs,
    )


# --------------------------------------------------------------------------- render_message


def test_rendered_message_parses_back_with_both_alternatives_and_invite():
    invite = calendar_invite(["ana@example.org", "mo@example.org"])
    msg = parse(render(attachments=[("checkins.ics", invite, "text/calendar; method=REQUEST; charset=utf-8")],
                       date=dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)).as_bytes())

    assert {k.lower() for k in msg} == EXPECTED_HEADERS
    assert msg["X-Unsent"] == "1"
    assert [a.addr_spec for a in msg["To"].addresses] == ["ana@example.org", "mo@example.org"]
    assert msg["From"].addresses[0].display_name == "Cora Ordinator"
    assert msg["Subject"] == "Meet your mentor"
    assert msg["Date"].datetime == dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg.get_content_type() == "multipart/mixed"

    text, html = bodies(msg)
    assert "Dear Ana Silva and Mo Khan" in text and "SQL, Career change" in text
    assert "<strong>Ana Silva</strong>" in html and "<style>" not in html
    assert 'style="' in html  # the <style> rules were inlined

    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "checkins.ics"
    cal = icalendar.Calendar.from_ical(attachment.get_content())
    assert str(cal["METHOD"]) == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert sorted(str(a) for a in event.get("ATTENDEE")) == ["mailto:ana@example.org", "mailto:mo@example.org"]


def test_without_attachments_the_message_is_just_the_two_alternatives():
    msg = parse(render().as_bytes())
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert list(msg.iter_attachments()) == []


def test_same_input_gives_identical_bytes_and_other_input_another_message_id():
    first, second = render().as_bytes(), render().as_bytes()
    assert first == second
    other = render(intro_context(why="both like chess"))
    assert other["Message-ID"] != parse(first)["Message-ID"]
    assert parse(first)["Date"].datetime == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def test_script_in_a_name_is_shown_as_text_in_the_html():
    evil = "<script>alert(1)</script>"
    msg = parse(render(intro_context(mentee_name=evil, why='<img src=x onerror="alert(2)">'),
                       to=[(evil, "ana@example.org")]).as_bytes())
    text, html = bodies(msg)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    assert evil in text  # plain text is not HTML: shown as typed


def test_crlf_in_names_and_subject_adds_no_header():
    injected = "Ana\r\nBcc: thief@evil.example\r\nX-Evil: 1"
    msg = parse(render(to=[(injected, "ana@example.org"), ("Mo\nCc: x@evil.example", "mo@example.org")],
                       subject="Hello\r\nBcc: thief@evil.example").as_bytes())
    assert {k.lower() for k in msg} == EXPECTED_HEADERS
    assert [a.addr_spec for a in msg["To"].addresses] == ["ana@example.org", "mo@example.org"]
    assert msg["To"].addresses[0].display_name == "Ana Bcc thief evil.example X-Evil 1"
    assert "\n" not in msg["Subject"] and msg["Subject"].startswith("Hello Bcc")


def test_an_address_with_a_line_break_or_bad_syntax_is_a_readable_error():
    for bad in ("ana@example.org\r\nBcc: thief@evil.example", "not an address", ""):
        with pytest.raises(MentorError, match="recipient email address is not usable"):
            render(to=[("Ana", bad)])
    with pytest.raises(MentorError, match="sender"):
        render_message("introduce", intro_context(), to=[("Ana", "ana@example.org")], sender=("C", "nope"), subject="x")


def test_cc_is_set_through_the_email_package():
    msg = parse(render(cc=[("Sam Sponsor", "sam@example.org")]).as_bytes())
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["sam@example.org"]


def test_cohort_template_folder_overrides_a_builtin_file(tmp_path):
    override = tmp_path / "templates"
    override.mkdir()
    (override / "introduce.txt.j2").write_text("Custom hello {{ mentee.name }} from {{ programme }}\n", encoding="utf-8")
    msg = parse(render(templates_dir=override).as_bytes())
    text, html = bodies(msg)
    assert text.strip() == "Custom hello Ana Silva from Data Mentoring 2026"
    assert "Welcome to Data Mentoring 2026" in html  # the HTML still comes from the built-in template


def test_an_override_with_an_unknown_name_or_bad_syntax_names_the_template(tmp_path):
    override = tmp_path / "templates"
    override.mkdir()
    (override / "introduce.txt.j2").write_text("Hi {{ mentee.nickname }}\n", encoding="utf-8")
    with pytest.raises(MentorError, match="introduce.txt.j2"):
        render(templates_dir=override)
    (override / "introduce.txt.j2").write_text("Hi {% if %}\n", encoding="utf-8")
    with pytest.raises(MentorError, match="line 1"):
        render(templates_dir=override)


def test_html_page_env_escapes_and_refuses_undefined_names():
    env = html_page_env()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()


# --------------------------------------------------------------------------- write_outbox


def test_write_outbox_uses_safe_unique_names_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "outbox"
    msg = render()
    paths = write_outbox([("../../etc/passwd", msg), ("P001", msg), ("p001", msg)], out, force=False)
    assert [p.name for p in paths] == ["etc-passwd.eml", "p001.eml", "p001-2.eml"]
    assert all(p.parent == out for p in paths)
    assert parse_file(paths[1])["Message-ID"] == msg["Message-ID"]

    with pytest.raises(MentorError, match="already exists"):
        write_outbox([("P001", msg)], out, force=False)
    write_outbox([("P001", render(subject="Second version"))], out, force=True)
    assert parse_file(out / "p001.eml")["Subject"] == "Second version"
    assert parse_file(out / "p001.bak.eml")["Subject"] == "Meet your mentor"
    assert sorted(p.name for p in out.iterdir()) == ["etc-passwd.eml", "p001-2.eml", "p001.bak.eml", "p001.eml"]


def test_write_outbox_refuses_a_name_already_sent_without_force(tmp_path):
    out = tmp_path / "outbox"
    (out / "sent").mkdir(parents=True)
    (out / "sent" / "p001.eml").write_bytes(render().as_bytes())
    with pytest.raises(MentorError, match="already sent"):
        write_outbox([("P001", render())], out, force=False)
    assert not (out / "p001.eml").exists()
    assert write_outbox([("P001", render())], out, force=True) == [out / "p001.eml"]


# --------------------------------------------------------------------------- introductions


def cohort_config(tmp_path: Path) -> Config:
    return config_from_dict(
        {"cohort": {"name": "Data Mentoring 2026", "coordinator_name": "Cora Ordinator",
                    "coordinator_email": "cora@example.org", "sponsor_emails": ["sponsor@example.org"]}},
        tmp_path / "mentor.toml",
    )


def two_pair_book(tmp_path: Path) -> PairingBook:
    people = make_people([
        {"name": "Ana Silva", "email": "ana@example.org", "role": "mentee", "goals": ("SQL", "Career change"),
         "timezone": "Europe/London", "format": ("Video",), "languages": ("English",), "timestamp": "2026-08-20T09:00:00Z"},
        {"name": "Mo Khan", "email": "mo@example.org", "role": "mentor", "expertise": ("Data engineering",),
         "timezone": "America/New_York", "format": ("Video", "Phone"), "industry": "Retail",
         "timestamp": "2026-08-25T17:30:00Z"},
        {"name": "Bea Zhou", "email": "bea@example.org", "role": "mentee", "goals": ("Watercolour painting",),
         "timezone": "Asia/Tokyo", "format": ("In person",), "timestamp": "2026-08-21T08:00:00Z"},
        {"name": "Max Brandt", "email": "max@example.org", "role": "mentor", "expertise": ("Fine art",),
         "timezone": "Europe/Berlin", "industry": "Museums", "timestamp": "2026-08-22T08:00:00Z"},
    ])
    pairs = pd.DataFrame([
        {"pair_id": "P001", "mentee_email": "ana@example.org", "mentor_email": "mo@example.org",
         "mentee": "Ana Silva", "mentor": "Mo Khan", "score": 81.5, "why": "shared: SQL; both prefer video", "row": 2},
        {"pair_id": "P002", "mentee_email": "bea@example.org", "mentor_email": "max@example.org",
         "mentee": "Bea Zhou", "mentor": "Max Brandt", "score": 64.0, "why": "shared: art; secret-marker-B", "row": 3},
    ])
    return PairingBook(path=tmp_path / "pairs.xlsx", pairs=pairs, people=people)


PAIR_B_DATA = ("Bea Zhou", "bea@example.org", "Max Brandt", "max@example.org", "Watercolour", "Fine art",
               "Museums", "secret-marker-B", "Asia/Tokyo", "Europe/Berlin")


def test_introduce_without_calendar_writes_one_private_email_per_pair(tmp_path):
    config = cohort_config(tmp_path)
    book = two_pair_book(tmp_path)
    intros = build_introductions(book, None, config)
    assert any("no check-in sheet" in note for note in intros.notes)
    paths = introduce(book, None, config, tmp_path / "outbox", force=False)
    assert [p.name for p in paths] == ["intro-p001.eml", "intro-p002.eml"]

    first = parse_file(paths[0])
    assert [a.addr_spec for a in first["To"].addresses] == ["ana@example.org", "mo@example.org"]
    assert first["Cc"] is None and "sponsor@example.org" not in everything_readable(first)
    assert first["From"].addresses[0].addr_spec == "cora@example.org"
    assert first["Subject"] == "Data Mentoring 2026: introducing Ana Silva and Mo Khan"
    assert first["Date"].datetime == dt.datetime(2026, 8, 25, 17, 30, tzinfo=dt.UTC)  # latest signup
    text, html = bodies(first)
    for expected in ("shared: SQL; both prefer video", "SQL, Career change", "Data engineering",
                     "Europe/London", "America/New_York", "Video, Phone", "agree a first check-in"):
        assert expected in text and expected in html
    readable = everything_readable(first)
    leaked = [item for item in PAIR_B_DATA if item in readable]
    assert leaked == []
    second = everything_readable(parse_file(paths[1]))
    assert "Watercolour painting" in second and "Ana Silva" not in second and "Data engineering" not in second


def test_introduce_output_is_identical_on_a_second_run(tmp_path):
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    first = [p.read_bytes() for p in introduce(book, None, config, tmp_path / "a", force=False)]
    second = [p.read_bytes() for p in introduce(book, None, config, tmp_path / "b", force=False)]
    assert first == second


def test_introduce_uses_the_cohort_template_folder(tmp_path):
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "introduce.txt.j2").write_text("Hello {{ mentee.name }}, meet {{ mentor.name }}.\n")
    msg = parse_file(introduce(book, None, config, tmp_path / "outbox", force=False)[0])
    assert bodies(msg)[0].strip() == "Hello Ana Silva, meet Mo Khan."


def test_a_hostile_name_in_the_workbook_stays_text_and_adds_no_header(tmp_path):
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    book.pairs.loc[0, "mentee"] = "<script>alert(1)</script>\r\nBcc: thief@evil.example"
    book.people.loc[0, "name"] = book.pairs.loc[0, "mentee"]
    msg = parse_file(introduce(book, None, config, tmp_path / "outbox", force=False)[0])
    assert {k.lower() for k in msg} == EXPECTED_HEADERS
    html = bodies(msg)[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert [a.addr_spec for a in msg["To"].addresses] == ["ana@example.org", "mo@example.org"]


def test_a_bad_email_in_the_workbook_names_the_row(tmp_path):
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    book.pairs.loc[1, "mentor_email"] = "max at example"
    with pytest.raises(MentorError, match=r"pairs.xlsx: Pairs row 3: the recipient email address is not usable"):
        introduce(book, None, config, tmp_path / "outbox", force=False)
    assert not (tmp_path / "outbox").exists()  # nothing written when one pair cannot be used


def test_local_time_formatting_follows_each_time_zone():
    moment = dt.datetime(2026, 10, 6, 17, 0, tzinfo=dt.UTC)
    assert format_local_time(moment, "Europe/London") == "Tuesday 6 October 2026, 18:00 (Europe/London)"
    assert format_local_time(moment, "America/New_York") == "Tuesday 6 October 2026, 13:00 (America/New_York)"
    assert format_local_time(moment, "UTC+05:30") == "Tuesday 6 October 2026, 22:30 (UTC+05:30)"
    assert format_local_time(moment, "") == "Tuesday 6 October 2026, 17:00 (UTC)"


def checkin_rows(pairs: list[tuple[str, str, str]], starts: list[dt.datetime]) -> pd.DataFrame:
    rows = []
    for pair_id, mentee, mentor in pairs:
        for n, start in enumerate(starts, 1):
            rows.append({"pair_id": pair_id, "mentee_email": mentee, "mentor_email": mentor, "checkin": n,
                         "start_utc": pd.Timestamp(start), "end_utc": pd.Timestamp(start + dt.timedelta(minutes=30))})
    return pd.DataFrame(rows)


@pytest.fixture
def pair_invite():
    schedule = pytest.importorskip("mentorcli.schedule")
    if not hasattr(schedule, "pair_invite"):
        pytest.skip("schedule.pair_invite is not there yet")
    return schedule.pair_invite


def test_introduce_with_checkins_lists_them_and_attaches_the_first_as_an_invitation(tmp_path, pair_invite):
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    book.people.loc[book.people["email"] == "max@example.org", "timezone"] = ""  # Max gave no zone
    starts = [dt.datetime(2026, 11, 4, 18, 0, tzinfo=dt.UTC), dt.datetime(2026, 10, 6, 17, 0, tzinfo=dt.UTC)]
    checkins = checkin_rows([("P001", "ana@example.org", "mo@example.org"),
                             ("P002", "bea@example.org", "max@example.org")], starts)
    intros = build_introductions(book, checkins, config)
    assert intros.notes == []
    paths = write_outbox(intros.messages, tmp_path / "outbox", force=False)
    msg = parse_file(paths[0])
    text, html = bodies(msg)
    assert "for Ana Silva: Tuesday 6 October 2026, 18:00 (Europe/London)" in text
    assert "for Mo Khan: Tuesday 6 October 2026, 13:00 (America/New_York)" in text
    # after both clocks went back: London 18:00 GMT, New York 13:00 EST
    assert ("2. Wednesday 4 November 2026, 18:00 (Europe/London) / "
            "Wednesday 4 November 2026, 13:00 (America/New_York)") in text
    assert "Your 2 monthly check-ins" in html and "Wednesday 4 November 2026, 13:00 (America/New_York)" in html

    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_content_type() == "text/calendar" and attachment.get_param("method") == "REQUEST"
    cal = icalendar.Calendar.from_ical(attachment.get_content())
    assert str(cal["METHOD"]) == "REQUEST"
    # the whole series in one invitation (issue 14): one UID, the master first, overrides after
    events = list(cal.walk("VEVENT"))
    assert len({str(e["UID"]) for e in events}) == 1
    event = events[0]
    assert "RECURRENCE-ID" not in event and "RRULE" in event
    assert min(e.decoded("DTSTART").astimezone(dt.UTC) for e in events) == starts[1]
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert sorted(str(a).lower() for a in attendees) == ["mailto:ana@example.org", "mailto:mo@example.org"]
    assert not any(item in everything_readable(msg) for item in PAIR_B_DATA)

    # the invitation is exactly what the schedule stage makes for the pair from the whole workbook
    for (_, message), pair_id in zip(intros.messages, ("P001", "P002")):
        (part,) = list(parse(message.as_bytes()).iter_attachments())
        rows = checkins[checkins["pair_id"] == pair_id]
        assert part.get_content().encode("utf-8") == pair_invite(rows, book, config, pair_id)
    # Max gave no zone: shown in the cohort's usual zone, as the scheduler assumed it
    second = bodies(parse_file(paths[1]))[0]
    # (one person per zone: the tie goes to the first name, America/New_York)
    assert "for Max Brandt: Tuesday 6 October 2026, 13:00 (America/New_York, assumed)" in second
    assert "Time zone: not given" in second


def test_checkins_scheduled_for_other_people_are_not_attached(tmp_path):
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    # the coordinator swapped P001's mentor after scheduling: the old invitation must not go out
    checkins = checkin_rows([("P001", "ana@example.org", "old-mentor@example.org")],
                            [dt.datetime(2026, 10, 6, 17, 0, tzinfo=dt.UTC)])
    intros = build_introductions(book, checkins, config)
    assert any("changed since the check-ins were scheduled (P001)" in note for note in intros.notes)
    assert any("no check-ins in the check-in sheet (P002)" in note for note in intros.notes)
    for _, msg in intros.messages:
        parsed = parse(msg.as_bytes())
        assert list(parsed.iter_attachments()) == []
        assert "old-mentor" not in everything_readable(parsed)


def test_introduce_help_has_an_example(cli):
    result = cli("introduce", "--help")
    assert result.exit_code == 0 and "Example:" in result.output


def write_two_pair_workbook(tmp_path: Path) -> Path:
    """A real pairs.xlsx written by the workbook stage from the two-pair cohort above."""
    from mentorcli.model import MatchResult, Roster
    from mentorcli.workbook import write_pairing_workbook

    book = two_pair_book(tmp_path)
    people = book.people.assign(languages=[("English",)] * 4)
    pairs = pd.DataFrame({
        "pair_id": ["P001", "P002"], "mentee": [0, 2], "mentor": [1, 3], "score": [81.5, 64.0],
        **{f"c_{name}": [1.0, 0.5] for name in ("topics", "industry", "experience", "availability", "format", "interests")},
        "requested": [False, False], "kept": [False, False], "why": list(book.pairs["why"]),
    })
    result = MatchResult(pairs=pairs, unmatched=pd.DataFrame({"person": [], "role": [], "reason": []}),
                         mentors=pd.DataFrame({"person": [1, 3], "capacity": [2, 2], "assigned": [1, 1]}))
    return write_pairing_workbook(tmp_path / "pairs.xlsx", Roster(people=people), result, cohort_config(tmp_path),
                                  force=False)


def test_cli_introduce_from_a_real_workbook_without_a_calendar(tmp_path, cli, monkeypatch):
    workbook = write_two_pair_workbook(tmp_path)
    (tmp_path / "mentor.toml").write_text(
        '[cohort]\nname = "Data Mentoring 2026"\ncoordinator_name = "Cora Ordinator"\n'
        'coordinator_email = "cora@example.org"\nsponsor_emails = ["sponsor@example.org"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = cli("introduce", workbook.name)
    assert result.exit_code == 0, result.stderr
    assert "without check-ins" in result.stderr and "Wrote 2 introduction" in result.stderr
    paths = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [p.name for p in paths] == ["intro-p001.eml", "intro-p002.eml"]
    msg = parse_file(paths[0])
    assert msg["From"].addresses[0].addr_spec == "cora@example.org"
    assert "shared: SQL; both prefer video" in bodies(msg)[0]

    again = cli("introduce", workbook.name)
    assert again.exit_code == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr
    missing = cli("introduce", workbook.name, "--calendar", "nowhere", "--force")
    assert missing.exit_code == 1 and "checkins.xlsx" in missing.stderr


def test_cli_introduce_picks_up_the_calendar_folder(tmp_path, cli, monkeypatch):
    schedule = pytest.importorskip("mentorcli.schedule")
    from mentorcli.workbook import read_pairing_workbook

    workbook = write_two_pair_workbook(tmp_path)
    config = cohort_config(tmp_path)
    book = read_pairing_workbook(workbook, config)
    planned = schedule.plan_checkins(book, config, start=dt.date(2026, 10, 1), months=2)
    schedule.write_schedule(planned, book, config, tmp_path / "calendar", force=False)
    monkeypatch.chdir(tmp_path)
    result = cli("introduce", workbook.name, "--out", "drafts")
    assert result.exit_code == 0, result.stderr
    assert "Note" not in result.stderr
    for path in sorted((tmp_path / "drafts").glob("*.eml")):
        msg = parse_file(path)
        (attachment,) = list(msg.iter_attachments())
        assert str(icalendar.Calendar.from_ical(attachment.get_content())["METHOD"]) == "REQUEST"
        assert "Your 2 monthly check-ins" in bodies(msg)[1]


def test_rendering_in_worker_processes_gives_the_same_bytes(tmp_path, pair_invite):
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    checkins = checkin_rows([("P001", "ana@example.org", "mo@example.org"), ("P002", "bea@example.org", "max@example.org")],
                            [dt.datetime(2026, 10, 6, 17, 0, tzinfo=dt.UTC)])
    serial = render_introductions(book, checkins, config, workers=1)
    parallel = render_introductions(book, checkins, config, workers=2)
    assert [base for base, _ in parallel.messages] == ["intro-P001", "intro-P002"]
    assert parallel.messages == serial.messages
    assert parallel.messages[0][1] == build_introductions(book, checkins, config).messages[0][1].as_bytes()


def test_introductions_from_a_real_schedule_invite_to_the_published_calendar_entry(tmp_path):
    schedule = pytest.importorskip("mentorcli.schedule")
    config, book = cohort_config(tmp_path), two_pair_book(tmp_path)
    planned = schedule.plan_checkins(book, config, start=dt.date(2026, 10, 1), months=3)
    schedule.write_schedule(planned, book, config, tmp_path / "calendar", force=False)
    checkins = schedule.read_checkins(tmp_path / "calendar" / "checkins.xlsx")
    paths = introduce(book, checkins, config, tmp_path / "outbox", force=False)
    msg = parse_file(paths[0])
    text = bodies(msg)[0]
    first = checkins[checkins["pair_id"] == "P001"]["start_utc"].min().to_pydatetime()
    assert f"for Ana Silva: {format_local_time(first, 'Europe/London')}" in text
    assert "Your 3 monthly" in text
    (attachment,) = list(msg.iter_attachments())
    (event,) = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert event.decoded("DTSTART").astimezone(dt.UTC) == first
    # the invitation updates the entry already in Ana's published calendar instead of adding a second one
    (ana_ics,) = (tmp_path / "calendar").glob("ana-silva-*.ics")
    published = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(ana_ics.read_bytes()).walk("VEVENT")}
    assert str(event["UID"]) in published
    assert published[str(event["UID"])].decoded("DTSTART").astimezone(dt.UTC) == first


# --------------------------------------------------------------------------- hostile names (issue 12, item 1)

HOSTILE_NAMES = [
    "=?utf-8?q?spy=40evil.example?=",                       # an encoded word that decodes to an address
    "=?utf-8?b?c3B5QGV2aWwuZXhhbXBsZQ==?=",                 # the same, base64
    "=?utf-8?q?x=3A_spy=40evil.example=3B?=",               # ... to a group "x: spy@evil.example;"
    "=?utf-8?q?=0D=0ABcc=3A_spy=40evil.example?=",          # ... to a line break and a Bcc header
    "=?us-ascii?q?spy=40evil.example=2C_?= =?utf-8?q?x?=",  # two encoded words next to each other
    "Jörg =?utf-8?q?spy=40evil.example?=",                  # non-ASCII, so Python writes it as an encoded word
    "Jörg <spy@evil.example>",                              # ... which naive readers decode before parsing
    "Jörg, spy@evil.example",
    "x: spy@evil.example;",                                 # group syntax in plain text
    '"Ana" <spy@evil.example>',
    'Ana\\" <spy@evil.example>, "',                         # backslash and quote games
    "Ana\r\nBcc: spy@evil.example",
    "Ana\u2028Bcc: spy@evil.example",
    "Ａｎａ ＜spy＠evil.example＞",                            # fullwidth lookalikes
    "Ana \ufe64spy\ufe6bevil.example\ufe65",                 # small-form lookalikes
    "Ana (comment) [x] spy@evil.example",
    "Ana =?" * 60 + "spy@evil.example",                     # very long, and cut right after "=?"
    "é" * 200 + " <spy@evil.example>",
]


def every_parser_recipients(data: bytes) -> dict[str, list[str]]:
    """The recipients (To, Cc, Bcc) as read by every parser we know: Python's modern parser,
    compat32 with ``getaddresses`` on the raw header and on the decoded one (what naive readers
    do), and the independent ``mail-parser`` package."""
    from email.header import decode_header, make_header
    from email.utils import getaddresses

    import mailparser

    modern = parse(data)
    legacy = BytesParser(policy=email.policy.compat32).parsebytes(data)
    fields = ("To", "Cc", "Bcc")
    out = {
        "default": [a.addr_spec for f in fields if modern[f] is not None for a in modern[f].addresses],
        "compat32": [addr for _, addr in getaddresses([str(v) for f in fields for v in legacy.get_all(f, [])])],
        "compat32-decoded": [addr for _, addr in getaddresses(
            [str(make_header(decode_header(str(v)))) for f in fields for v in legacy.get_all(f, [])])],
    }
    mp = mailparser.parse_from_bytes(data)
    out["mail-parser"] = [addr for f in ("to", "cc", "bcc") for _, addr in getattr(mp, f)]
    return out


def sender_of(data: bytes) -> dict[str, list[str]]:
    from email.header import decode_header, make_header
    from email.utils import getaddresses

    import mailparser

    legacy = BytesParser(policy=email.policy.compat32).parsebytes(data)
    return {
        "default": [a.addr_spec for a in parse(data)["From"].addresses],
        "compat32-decoded": [a for _, a in getaddresses([str(make_header(decode_header(legacy["From"])))])],
        "mail-parser": [a for _, a in mailparser.parse_from_bytes(data).from_],
    }


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[f"hostile{i}" for i in range(len(HOSTILE_NAMES))])
def test_no_parser_finds_an_extra_or_other_recipient_in_a_hostile_name(tmp_path, name):
    msg = render(intro_context(mentee_name=name), to=[(name, "ana@example.org"), ("Mo Khan", "mo@example.org")],
                 subject=f"Data Mentoring 2026: introducing {name} and Mo Khan")
    path = write_outbox([("P001", msg)], tmp_path / "outbox", force=False)[0]
    data = path.read_bytes()
    for parser, found in every_parser_recipients(data).items():
        assert found == ["ana@example.org", "mo@example.org"], parser
    from email.header import decode_header, make_header

    legacy = BytesParser(policy=email.policy.compat32).parsebytes(data)
    decoded_to = str(make_header(decode_header(legacy["To"])))  # what a reader that decodes first sees
    assert "@" not in decoded_to.replace("<ana@example.org>", "").replace("<mo@example.org>", "")
    headers = {k.lower() for k in parse(data)}
    assert headers == EXPECTED_HEADERS
    assert "\n" not in parse(data)["Subject"] and "\r" not in parse(data)["Subject"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[f"hostile{i}" for i in range(len(HOSTILE_NAMES))])
def test_a_hostile_coordinator_name_in_the_config_stays_the_senders_name(tmp_path, name):
    msg = render_message("introduce", intro_context(), to=[("Ana Silva", "ana@example.org")],
                         sender=(name, "cora@example.org"), subject=name)
    data = msg.as_bytes()
    for parser, found in sender_of(data).items():
        assert found == ["cora@example.org"], parser
    for parser, found in every_parser_recipients(data).items():
        assert found == ["ana@example.org"], parser


def test_hostile_names_programme_and_coordinator_from_a_real_introduce_reach_only_the_pair(tmp_path):
    config = config_from_dict(
        {"cohort": {"name": "Data =?utf-8?q?spy=40evil.example?= 2026",
                    "coordinator_name": "=?utf-8?q?x=3A_spy=40evil.example=3B?=",
                    "coordinator_email": "cora@example.org"}},
        tmp_path / "mentor.toml",
    )
    book = two_pair_book(tmp_path)
    book.pairs.loc[0, "mentee"] = book.people.loc[0, "name"] = "=?utf-8?q?spy=40evil.example?="
    book.pairs.loc[0, "mentor"] = book.people.loc[1, "name"] = "Jörg <spy@evil.example>"
    book.pairs.loc[1, "mentee"] = book.people.loc[2, "name"] = "Ｂｅａ ＜spy＠evil.example＞"
    paths = introduce(book, None, config, tmp_path / "outbox", force=False)
    expected = [["ana@example.org", "mo@example.org"], ["bea@example.org", "max@example.org"]]
    for path, wanted in zip(paths, expected):
        data = path.read_bytes()
        for parser, found in every_parser_recipients(data).items():
            assert found == wanted, (path.name, parser)
        for parser, found in sender_of(data).items():
            assert found == ["cora@example.org"], (path.name, parser)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in
                                               introduce(book, None, config, tmp_path / "again", force=False)]


def test_display_names_lose_address_characters_and_encoded_words_at_their_limits():
    from mentorcli.mail import MAX_NAME_LENGTH, clean_display_name, clean_header_text

    assert clean_display_name('Ana "A." <x@y>, (z); [w]: \\') == "Ana A. x y z w"
    assert clean_display_name("Ｊｏ＠ｅｘ") == "Jo ex"          # fullwidth folded, then cleaned
    assert clean_display_name("=?utf-8?q?a?=") == "= ?utf-8?q?a?="
    assert clean_header_text("a=?b") == "a= ?b" and clean_header_text("a= ?b") == "a= ?b"
    assert clean_header_text("=?=?") == "= ?= ?"
    assert clean_header_text("A\x1b[31mB\x00C\u202eD\u200bE\u2028F\x85G") == "A [31mB C D E F G"  # control, format, separators
    assert clean_display_name("José Ñúñez-O'Brien Jr.") == "José Ñúñez-O'Brien Jr."  # ordinary names untouched
    assert len(clean_display_name("a" * MAX_NAME_LENGTH)) == MAX_NAME_LENGTH
    assert len(clean_display_name("a" * (MAX_NAME_LENGTH + 1))) == MAX_NAME_LENGTH
    assert clean_display_name(None) == "" and clean_display_name(float("nan")) == ""


def test_the_recipients_digest_comes_first_and_matches_the_addresses_given():
    from mentorcli.mail import RECIPIENTS_HEADER, recipients_digest

    msg = render(cc=[("Sam", "sam@example.org")])
    assert msg.keys()[0] == RECIPIENTS_HEADER
    assert msg[RECIPIENTS_HEADER] == recipients_digest(["ana@example.org", "mo@example.org"], ["sam@example.org"])
    assert recipients_digest(["a@x.org"]) != recipients_digest([], ["a@x.org"]) != recipients_digest([], [], ["a@x.org"])
    assert recipients_digest(["a@x.org", "b@x.org"]) != recipients_digest(["a@x.org"], ["b@x.org"])


def test_a_killed_introduce_leaves_nothing_send_reads_and_its_rerun_cleans_up(tmp_path, cli, monkeypatch):
    """A real ``mentor introduce`` process, killed (SIGKILL) once its temporary drafts are on disk."""
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    workbook = write_two_pair_workbook(tmp_path)
    (tmp_path / "mentor.toml").write_text(
        '[cohort]\nname = "Data Mentoring 2026"\ncoordinator_name = "Cora Ordinator"\n'
        'coordinator_email = "cora@example.org"\n', encoding="utf-8")
    marker = tmp_path / "temps-written"
    script = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        def stall():  # files.atomic_write_many flushes once every temporary draft is written
            Path({str(marker)!r}).write_text("x")
            time.sleep(60)
        os.sync = stall
        from mentorcli.cli import main
        sys.argv = ["mentor", "introduce", {workbook.name!r}]
        main()
    """)
    repo = Path(__file__).resolve().parent.parent
    process = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": str(repo)})
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "introduce never reached its temporary files"
    process.send_signal(signal.SIGKILL)
    process.wait()
    outbox = tmp_path / "outbox"
    left = sorted(p.name for p in outbox.iterdir())
    assert len(left) == 2 and all(n.startswith(".intro-p00") and n.endswith(".mentor-tmp") for n in left)

    monkeypatch.chdir(tmp_path)
    listed = cli("send", "outbox", "--dry-run")
    assert listed.exit_code == 0 and listed.stdout == "" and "no .eml files" in listed.stderr
    rerun = cli("introduce", workbook.name)
    assert rerun.exit_code == 0, rerun.stderr
    assert sorted(p.name for p in outbox.iterdir()) == ["intro-p001.eml", "intro-p002.eml"]


# --------------------------------------------------------------------------- a relationship of three


def three_member_book(tmp_path: Path) -> PairingBook:
    """P001: Mo mentors Ana and Cy (two Pairs rows sharing the id: one relationship); P002 a plain pair."""
    book = two_pair_book(tmp_path)
    cy = make_people([{"name": "Cy Okafor", "email": "cy@example.org", "role": "mentee", "goals": ("Public speaking",),
                       "timezone": "Africa/Lagos", "format": ("Video",), "timestamp": "2026-08-23T08:00:00Z"}])
    people = pd.concat([book.people, cy], ignore_index=True)
    cy_row = {"pair_id": "P001", "mentee_email": "cy@example.org", "mentor_email": "mo@example.org",
              "mentee": "Cy Okafor", "mentor": "Mo Khan", "score": 70.0, "why": "speaking", "row": 4}
    pairs = pd.concat([book.pairs.iloc[:1], pd.DataFrame([cy_row]), book.pairs.iloc[1:]], ignore_index=True)
    return PairingBook(path=book.path, pairs=pairs, people=people)


THREE = ["ana@example.org", "cy@example.org", "mo@example.org"]


def addresses_of(msg, header: str) -> list[str]:
    value = msg[header]
    return [] if value is None else [a.addr_spec for a in value.addresses]


def test_a_relationship_of_three_gets_one_introduction_to_exactly_its_three_members(tmp_path):
    config, book = cohort_config(tmp_path), three_member_book(tmp_path)
    paths = introduce(book, None, config, tmp_path / "outbox", force=False)
    assert [p.name for p in paths] == ["intro-p001.eml", "intro-p002.eml"]
    first = parse_file(paths[0])
    assert addresses_of(first, "To") == THREE and addresses_of(first, "Cc") == [] and first["Bcc"] is None
    assert first["Subject"] == "Data Mentoring 2026: introducing Ana Silva, Cy Okafor and Mo Khan"
    text, html = bodies(first)
    assert text.startswith("Dear Ana Silva, Cy Okafor and Mo Khan,\r\n")
    assert "Ana Silva joins as mentee, Cy Okafor as mentee and Mo Khan as mentor." in text
    assert re.search(r"<strong[^>]*>Ana Silva</strong> joins as mentee, <strong[^>]*>Cy Okafor</strong> as mentee and "
                     r"<strong[^>]*>Mo Khan</strong> as mentor\.", html)
    for expected in ("Cy Okafor (mentee) <cy@example.org>", "Public speaking", "SQL, Career change",
                     "Data engineering", "Africa/Lagos", "shared: SQL; both prefer video speaking"):
        assert expected in text
    assert "between all of you" in text and "between the two of you" not in text
    assert not [item for item in PAIR_B_DATA if item in everything_readable(first)]
    second = parse_file(paths[1])
    assert addresses_of(second, "To") == ["bea@example.org", "max@example.org"]
    assert not any(name in everything_readable(second) for name in ("Cy Okafor", "cy@example.org", "Ana Silva"))


def test_a_relationship_of_three_lists_each_members_own_time_and_attaches_its_series(tmp_path):
    config, book = cohort_config(tmp_path), three_member_book(tmp_path)
    starts = [dt.datetime(2026, 10, 6, 17, 0, tzinfo=dt.UTC)]
    checkins = checkin_rows([("P001", "ana@example.org", "mo@example.org"), ("P001", "cy@example.org", "mo@example.org"),
                             ("P002", "bea@example.org", "max@example.org")], starts)
    intros = build_introductions(book, checkins, config)
    assert intros.notes == []
    msg = parse(intros.messages[0][1].as_bytes())
    assert addresses_of(msg, "To") == THREE
    text, html = bodies(msg)
    assert "for Cy Okafor: Tuesday 6 October 2026, 18:00 (Africa/Lagos)" in text
    assert ("1. Tuesday 6 October 2026, 18:00 (Europe/London) / Tuesday 6 October 2026, 18:00 (Africa/Lagos) / "
            "Tuesday 6 October 2026, 13:00 (America/New_York)") in text
    assert re.findall(r"<th[^>]*>(for [^<]*)</th>", html) == ["for Ana Silva", "for Cy Okafor", "for Mo Khan"]
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "checkin-p001.ics"
    assert len({str(e["UID"]) for e in icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")}) == 1


def test_a_check_in_of_someone_outside_the_relationship_makes_it_stale(tmp_path):
    config, book = cohort_config(tmp_path), three_member_book(tmp_path)
    starts = [dt.datetime(2026, 10, 6, 17, 0, tzinfo=dt.UTC)]
    checkins = checkin_rows([("P001", "ana@example.org", "mo@example.org"), ("P001", "old@example.org", "mo@example.org")],
                            starts)
    intros = build_introductions(book, checkins, config)
    assert any("changed since the check-ins were scheduled (P001)" in note for note in intros.notes)
    assert list(parse(intros.messages[0][1].as_bytes()).iter_attachments()) == []


def test_a_relationship_is_never_split_between_worker_processes(tmp_path):
    config, book = cohort_config(tmp_path), three_member_book(tmp_path)
    one = build_introductions(book, None, config)
    parallel = render_introductions(book, None, config, workers=2)
    assert [base for base, _ in parallel.messages] == ["intro-P001", "intro-P002"]
    assert [m for _, m in parallel.messages] == [m.as_bytes() for _, m in one.messages]

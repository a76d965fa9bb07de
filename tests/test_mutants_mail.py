"""Mutants of the mail stage that no test killed (issue 15 item 6): a cell of the workbook made live
HTML in an introduction, and two drafts with one Message-ID both delivered.

Written against ``introduce`` and ``mentor send`` and the files and SMTP
traffic they produce, read back with the stdlib email and HTML parsers and a real aiosmtpd server
on 127.0.0.1.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import socket
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from aiosmtpd.controller import Controller

from mentorcli.config import config_from_dict
from mentorcli.mail import introduce, render_message
from mentorcli.model import PairingBook, make_people

# Each field gets its own mark so a failure names the field; the payloads try a tag, an attribute
# break-out and an event handler.
FIELDS = ("mentee_name", "mentor_name", "goals", "expertise", "topics", "industry", "timezone", "format",
          "languages", "organisation", "department", "location", "interests", "why", "pair_mentee", "pair_mentor")


def payload(field: str) -> str:
    return (f'<script>alert("MARK{field}")</script>"><img src=x onerror="alert(\'MARK{field}\')">'
            f"<b title='MARK{field}'>x</b>")


class LiveMarks(HTMLParser):
    """Every mark found inside a tag, an attribute or a script/style body: HTML a cell made live."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self.raw = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = " ".join([tag, *(f"{k}={v}" for k, v in attrs)])
        self.live += [f"<{text}>"] if "MARK" in text else []
        self.raw = tag if tag in ("script", "style") else ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.raw = ""

    def handle_data(self, data: str) -> None:
        if self.raw and "MARK" in data:
            self.live.append(f"<{self.raw}>{data}")


def hostile_book(tmp_path: Path) -> PairingBook:
    """Two pairs: in the first the mentee has goals and the mentor expertise; in the second both
    have only topics (the fallbacks the introduction shows instead). Every cell is a payload."""
    shared = {"industry": payload("industry"), "timezone": payload("timezone"), "format": (payload("format"), "Video"),
              "languages": (payload("languages"), "English"), "organisation": payload("organisation"),
              "department": payload("department"), "location": payload("location"),
              "interests": (payload("interests"),)}
    people = make_people([
        {"name": payload("mentee_name"), "email": "ana@example.org", "role": "mentee",
         "goals": (payload("goals"), "SQL"), **shared},
        {"name": payload("mentor_name"), "email": "mo@example.org", "role": "mentor",
         "expertise": (payload("expertise"),), **shared},
        {"name": "Bea", "email": "bea@example.org", "role": "mentee", "topics": (payload("topics"),), **shared},
        {"name": "Max", "email": "max@example.org", "role": "mentor", "topics": (payload("topics"),), **shared},
    ])
    pairs = pd.DataFrame([
        {"pair_id": "P001", "mentee_email": "ana@example.org", "mentor_email": "mo@example.org",
         "mentee": payload("pair_mentee"), "mentor": payload("pair_mentor"), "score": 80.0, "why": payload("why"),
         "row": 2},
        {"pair_id": "P002", "mentee_email": "bea@example.org", "mentor_email": "max@example.org",
         "mentee": "Bea", "mentor": "Max", "score": 70.0, "why": payload("why"), "row": 3},
    ])
    return PairingBook(path=tmp_path / "pairs.xlsx", pairs=pairs, people=people)


def html_of(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    return html.get_content()


def test_no_cell_of_the_workbook_becomes_live_html_in_an_introduction(tmp_path):
    config = config_from_dict({"cohort": {"name": "Data Mentoring", "coordinator_name": "Cora",
                                          "coordinator_email": "cora@example.org"}}, tmp_path / "mentor.toml")
    paths = introduce(hostile_book(tmp_path), None, config, tmp_path / "outbox", force=False)
    assert len(paths) == 2
    shown = set()
    for path in paths:
        html = html_of(path)
        parser = LiveMarks()
        parser.feed(html)
        parser.close()
        assert parser.live == [], (path.name, parser.live[:3])
        shown |= {field for field in FIELDS if f"MARK{field}" in html}
    # the fields an introduction shows are there, as text (so the check above looked at them)
    assert {"goals", "expertise", "topics", "industry", "timezone", "format", "languages", "why"} <= shown
    assert {"mentee_name", "mentor_name"} & shown or {"pair_mentee", "pair_mentor"} & shown


# ------------------------------------------------------------------------ one Message-ID, two drafts


class Recorder:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = Recorder()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def draft(folder: Path, subject: str, to: str, message_id: str | None = None) -> bytes:
    """A draft as ``mentor`` writes one (its recipients recorded), with the Message-ID replaced when given."""
    templates = folder / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "note.txt.j2").write_text("Text of {{ title }}\n", encoding="utf-8")
    (templates / "note.html.j2").write_text("<p>HTML of {{ title }}</p>\n", encoding="utf-8")
    message = render_message("note", {"title": subject}, to=[("Someone", to)], sender=("Cora", "cora@example.org"),
                             subject=subject, templates_dir=templates)
    if message_id is not None:
        message.replace_header("Message-ID", message_id)
    return message.as_bytes()


def send(cli, outbox: Path, port: int) -> dict:
    """``mentor send`` to the local server; its --json summary."""
    result = cli("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--timeout", "10", "--json")
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("differ", ["same bytes", "other content"])
def test_two_drafts_with_one_message_id_deliver_once_and_the_other_is_reported(cli, smtp_server, tmp_path, differ):
    """The second draft may even differ in content: the Message-ID is what a mail client and the
    send log take as "the same message", so only the first in file order goes."""
    handler, port = smtp_server
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    first = draft(tmp_path, "First", "ana@example.org")
    first_id = email.message_from_bytes(first, policy=email.policy.default)["Message-ID"]
    second = first if differ == "same bytes" else draft(tmp_path, "Second", "ana@example.org", message_id=first_id)
    (outbox / "a-first.eml").write_bytes(first)
    (outbox / "b-second.eml").write_bytes(second)
    (outbox / "c-other.eml").write_bytes(draft(tmp_path, "Other", "mo@example.org"))
    report = send(cli, outbox, port)
    status = {item["file"]: item["status"] for item in report["messages"]}
    assert status == {"a-first.eml": "sent", "b-second.eml": "skipped", "c-other.eml": "sent"}
    skipped = next(item for item in report["messages"] if item["file"] == "b-second.eml")
    assert "a-first.eml" in skipped["error"] and "Message-ID" in skipped["error"]
    subjects = [email.message_from_bytes(raw, policy=email.policy.default)["Subject"] for raw in handler.received]
    assert subjects == ["First", "Other"]
    again = send(cli, outbox, port)
    assert len(handler.received) == 2 and all(item["status"] != "sent" for item in again["messages"])

"""`mentor send`: a real SMTP server (aiosmtpd on 127.0.0.1) receives each draft exactly once."""

from __future__ import annotations

import datetime as dt
import email.policy
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from email.parser import BytesParser
from pathlib import Path

import pytest

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mentorcli import files, mail
from mentorcli.errors import MentorError
from mentorcli.mail import render_message, send_outbox, write_outbox

USER, PASSWORD = "coordinator", "s3cret-Pa55"


class Recorder:
    """An SMTP handler that keeps every accepted message and can refuse chosen ones.

    ``refuse_rcpt``: recipients always refused (550); ``refuse_once``: refused the first time only;
    ``on_data``: called with the handler before a message is accepted (to break things mid-run).
    """

    def __init__(self, reject_subjects: tuple[str, ...] = (), refuse_rcpt: tuple[str, ...] = (),
                 refuse_once: tuple[str, ...] = (), on_data=None):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.reject_subjects = set(reject_subjects)
        self.refuse_rcpt = set(refuse_rcpt)
        self.refuse_once = set(refuse_once)
        self.on_data = on_data

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return "550 5.1.1 no such user"
        if address in self.refuse_once:
            self.refuse_once.discard(address)
            return "550 5.2.1 mailbox disabled for now"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = BytesParser(policy=email.policy.default).parsebytes(envelope.content)
        if msg["Subject"] in self.reject_subjects:
            self.reject_subjects.discard(msg["Subject"])  # refuses once, accepts a retry
            return "554 5.6.0 message refused"
        if self.on_data is not None:
            self.on_data(self)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK queued"

    def messages(self):
        return [BytesParser(policy=email.policy.default).parsebytes(c) for _, _, c in self.received]

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """Start a real SMTP server on a free local port; yields a function that starts one."""
    controllers = []

    def start(handler: Recorder | None = None, **kwargs):
        handler = handler or Recorder()
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        controllers.append(controller)
        return handler, controller.port

    yield start
    for controller in controllers:
        controller.stop()


def drafts(outbox: Path, count: int, *, extra_to: tuple[str, str] | None = None) -> list[Path]:
    messages = []
    for n in range(1, count + 1):
        context = {"title": f"Message {n}"}
        to = [(f"Person {n}", f"person{n}@example.org"), ("Mentor", "mentor@example.org")]
        if extra_to:
            to.append(extra_to)
        msg = render_message("testmail", context, to=to, sender=("Cora", "cora@example.org"),
                             subject=f"Message {n}", templates_dir=outbox.parent / "templates")
        messages.append((f"msg-{n}", msg))
    return write_outbox(messages, outbox, force=False)


@pytest.fixture
def outbox(tmp_path) -> Path:
    """An outbox folder plus a tiny template of this test's own (the send path needs no real content)."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "testmail.txt.j2").write_text("Text of {{ title }}\n", encoding="utf-8")
    (templates / "testmail.html.j2").write_text("<p>HTML of {{ title }}</p>\n", encoding="utf-8")
    return tmp_path / "outbox"


def send(outbox: Path, port: int, **kwargs):
    options = {"host": "127.0.0.1", "port": port, "starttls": False, "user": None, "password": None,
               "dry_run": False, "timeout": 10}
    return send_outbox(outbox, **(options | kwargs))


def sent_log_lines(outbox: Path, event: str | None = "sent") -> list[list[str]]:
    """The log's lines split into columns; only those of ``event`` unless it is None."""
    rows = [line.split("\t") for line in (outbox / "sent" / "sent.log").read_text().splitlines()]
    return [row for row in rows if event is None or row[1] == event]


def test_every_draft_is_delivered_once_then_moved_and_logged(smtp_server, outbox):
    handler, port = smtp_server()
    paths = drafts(outbox, 4)
    report = send(outbox, port)

    assert [i.status for i in report.items] == ["sent"] * 4 and report.ok
    assert handler.subjects() == ["Message 1", "Message 2", "Message 3", "Message 4"]
    mail_from, rcpts, _ = handler.received[0]
    assert mail_from == "cora@example.org" and rcpts == ["person1@example.org", "mentor@example.org"]
    for msg in handler.messages():
        assert msg["X-Unsent"] is None
        assert msg["Date"].datetime.year >= 2025  # stamped when sent, not the draft's fixed date
        assert msg.get_body(("html",)).get_content().strip().startswith("<")
    assert list(outbox.glob("*.eml")) == []
    assert sorted(p.name for p in (outbox / "sent").glob("*.eml")) == [p.name for p in paths]
    log = sent_log_lines(outbox)
    assert [row[2] for row in log] == [p.name for p in paths]
    assert [row[3] for row in log] == [m.message_id for m in report.items]
    assert all(row[1] == "sent" and row[4] == "2 recipient(s)" for row in log)
    assert "person1@example.org" not in (outbox / "sent" / "sent.log").read_text()

    again = send(outbox, port)
    assert again.items == [] and len(handler.received) == 4


def test_a_rejected_message_is_reported_the_rest_go_on_and_a_rerun_sends_only_it(smtp_server, outbox):
    handler, port = smtp_server(Recorder(reject_subjects=("Message 3",)))
    drafts(outbox, 5)
    report = send(outbox, port)
    assert [i.status for i in report.items] == ["sent", "sent", "failed", "sent", "sent"]
    assert "554" in report.failed[0].error and not report.ok
    assert [p.name for p in outbox.glob("*.eml")] == ["msg-3.eml"]

    rerun = send(outbox, port)
    assert [(i.file, i.status) for i in rerun.items] == [("msg-3.eml", "sent")]
    assert sorted(handler.subjects()) == [f"Message {n}" for n in range(1, 6)]  # each exactly once


def test_a_run_killed_after_two_messages_resumes_without_duplicates(smtp_server, outbox):
    handler, port = smtp_server()
    drafts(outbox, 4)

    def die_after_second(item):
        if item.file == "msg-2.eml":
            raise KeyboardInterrupt  # the process is killed right after the server took message 2

    with pytest.raises(KeyboardInterrupt):
        send(outbox, port, progress=die_after_second)
    assert handler.subjects() == ["Message 1", "Message 2"]
    report = send(outbox, port)
    assert [i.file for i in report.sent] == ["msg-3.eml", "msg-4.eml"]
    assert handler.subjects() == [f"Message {n}" for n in range(1, 5)]


def test_a_crash_between_logging_and_moving_does_not_send_twice(smtp_server, outbox, monkeypatch):
    handler, port = smtp_server()
    drafts(outbox, 3)
    real_replace = os.replace

    def crash_on_second_move(src, dst):
        if Path(src).name == "msg-2.eml":
            raise KeyboardInterrupt  # killed after message 2 was accepted and logged, before its move
        return real_replace(src, dst)

    monkeypatch.setattr(mail.os, "replace", crash_on_second_move)
    with pytest.raises(KeyboardInterrupt):
        send(outbox, port)
    monkeypatch.setattr(mail.os, "replace", real_replace)
    assert (outbox / "msg-2.eml").exists() and handler.subjects() == ["Message 1", "Message 2"]

    report = send(outbox, port)
    assert [(i.file, i.status) for i in report.items] == [("msg-2.eml", "skipped"), ("msg-3.eml", "sent")]
    assert handler.subjects() == ["Message 1", "Message 2", "Message 3"]
    assert not (outbox / "msg-2.eml").exists() and (outbox / "sent" / "msg-2.eml").exists()


def test_a_regenerated_identical_draft_is_not_sent_again(smtp_server, outbox):
    handler, port = smtp_server()
    drafts(outbox, 2)
    send(outbox, port)
    drafts(outbox.parent / "again", 2)
    for path in (outbox.parent / "again").glob("*.eml"):
        path.rename(outbox / f"copy-{path.name}")
    report = send(outbox, port)
    assert [i.status for i in report.items] == ["skipped", "skipped"]
    assert len(handler.received) == 2


def test_dry_run_lists_and_sends_nothing(smtp_server, outbox):
    handler, port = smtp_server()
    drafts(outbox, 3)
    report = send(outbox, port, dry_run=True)
    assert [(i.file, i.status, i.recipients, i.subject) for i in report.items] == [
        (f"msg-{n}.eml", "planned", 2, f"Message {n}") for n in (1, 2, 3)]
    assert handler.received == [] and len(list(outbox.glob("*.eml"))) == 3
    assert not (outbox / "sent").exists()
    # a dry run needs no server at all
    assert len(send(outbox, free_port(), dry_run=True).items) == 3


def test_connection_refused_is_one_readable_line(outbox):
    drafts(outbox, 1)
    with pytest.raises(MentorError, match=r"could not connect to the mail server 127.0.0.1:\d+: connection refused"):
        send(outbox, free_port())
    assert len(list(outbox.glob("*.eml"))) == 1


def test_a_refused_recipient_is_named_logged_and_retried_alone_on_a_rerun(smtp_server, outbox):
    handler, port = smtp_server(Recorder(refuse_once=("gone@example.org",)))
    drafts(outbox, 2, extra_to=("Gone", "gone@example.org"))
    report = send(outbox, port)
    assert [i.status for i in report.items] == ["failed", "sent"]  # refused once: only the first draft
    assert report.items[0].refused == ["gone@example.org"]
    assert "sent to 2 of 3 recipient(s); refused: gone@example.org (550 5.2.1" in report.items[0].error
    assert [rcpts for _, rcpts, _ in handler.received] == [
        ["person1@example.org", "mentor@example.org"], ["person2@example.org", "mentor@example.org", "gone@example.org"]]
    refused = sent_log_lines(outbox, "refused")
    assert [(row[2], row[4]) for row in refused] == [("msg-1.eml", "gone@example.org")] and "550" in refused[0][5]
    assert [row[2] for row in sent_log_lines(outbox, "partial")] == ["msg-1.eml"]
    assert [p.name for p in outbox.glob("*.eml")] == ["msg-1.eml"]  # kept, to retry

    assert [(i.file, i.status, i.recipients) for i in send(outbox, port, dry_run=True).items] == [("msg-1.eml", "planned", 1)]
    rerun = send(outbox, port)
    assert [(i.file, i.status, i.recipients) for i in rerun.items] == [("msg-1.eml", "sent", 1)]
    assert handler.received[-1][1] == ["gone@example.org"]  # only the refused one: the others had it already
    assert len(handler.received) == 3 and send(outbox, port).items == []


def test_a_recipient_refused_every_time_stays_owed_and_the_others_never_get_it_twice(smtp_server, outbox):
    handler, port = smtp_server(Recorder(refuse_rcpt=("gone@example.org",)))
    drafts(outbox, 1, extra_to=("Gone", "gone@example.org"))
    for _ in range(3):
        report = send(outbox, port)
        assert report.items[0].status == "failed" and report.items[0].refused == ["gone@example.org"]
    assert [rcpts for _, rcpts, _ in handler.received] == [["person1@example.org", "mentor@example.org"]]
    assert "refused by the server for every recipient: gone@example.org" in report.items[0].error


def test_a_draft_refused_for_all_its_recipients_is_retried_whole(smtp_server, outbox):
    handler, port = smtp_server(Recorder(refuse_once=("person1@example.org", "mentor@example.org")))
    drafts(outbox, 1)
    report = send(outbox, port)
    assert report.items[0].status == "failed" and sorted(report.items[0].refused) == ["mentor@example.org",
                                                                                       "person1@example.org"]
    assert handler.received == []
    assert send(outbox, port).items[0].status == "sent"
    assert handler.received[0][1] == ["person1@example.org", "mentor@example.org"]


def test_an_unreadable_eml_is_reported_and_the_rest_go_on(smtp_server, outbox):
    handler, port = smtp_server()
    drafts(outbox, 2)
    (outbox / "msg-15.eml").write_bytes(b"Subject: no addresses here\r\n\r\nbody\r\n")
    report = send(outbox, port)
    assert [(i.file, i.status) for i in report.items] == [
        ("msg-1.eml", "sent"), ("msg-15.eml", "failed"), ("msg-2.eml", "sent")]
    assert "not sent: it has no From header" in report.failed[0].error
    assert len(handler.received) == 2


def password_checker(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_the_right_password_sends_and_a_wrong_one_is_a_readable_error(smtp_server, outbox):
    handler, port = smtp_server(authenticator=password_checker, auth_required=True, auth_require_tls=False)
    drafts(outbox, 2)
    with pytest.raises(MentorError, match="refused the login for user 'coordinator'") as info:
        send(outbox, port, user=USER, password="wrong")
    assert "wrong" not in str(info.value) and handler.received == []
    report = send(outbox, port, user=USER, password=PASSWORD)
    assert len(report.sent) == 2 and len(handler.received) == 2


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_with_login_over_the_encrypted_session(smtp_server, outbox, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler, port = smtp_server(tls_context=server_context, require_starttls=True,
                                authenticator=password_checker, auth_required=True)
    drafts(outbox, 2)

    with pytest.raises(MentorError, match="TLS handshake"):  # an untrusted certificate is refused
        send(outbox, port, starttls=True, user=USER, password=PASSWORD)
    with pytest.raises(MentorError, match="--starttls"):  # the server insists on STARTTLS first
        send(outbox, port, user=USER, password=PASSWORD)
    assert handler.received == []

    client_context = ssl.create_default_context(cafile=str(cert))
    report = send(outbox, port, starttls=True, user=USER, password=PASSWORD, ssl_context=client_context)
    assert len(report.sent) == 2 and len(handler.received) == 2


# --------------------------------------------------------------------------- the command line


def test_cli_send_json_and_exit_codes(cli, smtp_server, outbox):
    handler, port = smtp_server(Recorder(reject_subjects=("Message 2",)))
    drafts(outbox, 3)
    result = cli("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", port, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["counts"] == {"planned": 0, "sent": 2, "skipped": 0, "failed": 1}
    assert [m["status"] for m in data["messages"]] == ["sent", "failed", "sent"]
    result = cli("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", port)
    assert result.exit_code == 0 and "1 sent" in result.stderr
    assert len(handler.received) == 3


def test_cli_dry_run_prints_the_list_on_stdout(cli, outbox):
    drafts(outbox, 2)
    result = cli("send", outbox, "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["msg-1.eml\t2\tMessage 1", "msg-2.eml\t2\tMessage 2"]
    assert "Dry run" in result.stderr and len(list(outbox.glob("*.eml"))) == 2


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_cli_connection_refused_and_password_from_environment(cli, smtp_server, outbox, monkeypatch):
    drafts(outbox, 1)
    result = cli("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", free_port())
    assert result.exit_code == 1
    assert "connection refused" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    handler, port = smtp_server(authenticator=password_checker, auth_required=True, auth_require_tls=False)
    monkeypatch.delenv("MENTOR_SMTP_PASSWORD", raising=False)
    result = cli("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", port, "--user", USER)
    assert result.exit_code == 1 and "MENTOR_SMTP_PASSWORD" in result.stderr
    monkeypatch.setenv("MENTOR_SMTP_PASSWORD", PASSWORD)
    result = cli("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", port, "--user", USER, "--json")
    assert result.exit_code == 0 and len(handler.received) == 1
    assert PASSWORD not in result.stdout + result.stderr
    assert PASSWORD not in (outbox / "sent" / "sent.log").read_text()


def test_cli_send_help_has_an_example(cli):
    result = cli("send", "--help")
    assert result.exit_code == 0 and "Example:" in result.output


# --------------------------------------------------------------------------- issue 12: hostile and broken drafts


def with_header(data: bytes, name: bytes, new_line: bytes | None) -> bytes:
    """``data`` with its header ``name`` replaced by ``new_line`` (None: removed)."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out: list[bytes] = []
    skipping = False
    for line in lines:
        if line.lower().startswith(name.lower() + b":"):
            skipping = True
            if new_line is not None:
                out.append(new_line)
            continue
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = False
        out.append(line)
    return b"\r\n".join(out) + b"\r\n\r\n" + body


def test_a_draft_whose_recipients_changed_after_drafting_is_refused_and_the_rest_go_on(smtp_server, outbox):
    handler, port = smtp_server()
    paths = drafts(outbox, 6)
    original = paths[0].read_bytes()
    paths[0].write_bytes(with_header(original, b"To", b"To: Person 1 <spy@evil.example>, Mentor <mentor@example.org>"))
    paths[1].write_bytes(with_header(paths[1].read_bytes(), b"To",
                                     b"To: Person 2 <person2@example.org>, Mentor <mentor@example.org>, spy@evil.example"))
    paths[2].write_bytes(with_header(paths[2].read_bytes(), b"X-Unsent", b"Bcc: spy@evil.example\r\nX-Unsent: 1"))
    paths[3].write_bytes(with_header(paths[3].read_bytes(), b"X-Mentorcli-Recipients", None))
    # the body edited by hand: still the recipients it was written for, so it goes
    paths[4].write_bytes(paths[4].read_bytes().replace(b"Text of Message 5", b"Text of Message 5, typo fixed"))
    report = send(outbox, port)
    assert [(i.file, i.status) for i in report.items] == [
        ("msg-1.eml", "failed"), ("msg-2.eml", "failed"), ("msg-3.eml", "failed"), ("msg-4.eml", "failed"),
        ("msg-5.eml", "sent"), ("msg-6.eml", "sent")]
    for item in report.items[:3]:
        assert "recipients are not the ones it was written for" in item.error
    assert "no X-Mentorcli-Recipients header (it was not written by mentor)" in report.items[3].error
    assert [rcpts for _, rcpts, _ in handler.received] == [["person5@example.org", "mentor@example.org"],
                                                          ["person6@example.org", "mentor@example.org"]]
    assert all("spy@evil.example" not in rcpts for _, rcpts, _ in handler.received)
    assert all(m["X-Mentorcli-Recipients"] is None and m["X-Unsent"] is None for m in handler.messages())


def test_a_draft_with_a_hostile_name_goes_exactly_to_the_people_it_was_written_for(smtp_server, outbox):
    handler, port = smtp_server()
    hostile = ["=?utf-8?q?spy=40evil.example?=", "=?utf-8?q?spy=40host?=", "=?utf-8?q?x=3A_spy=40evil.example=3B?=", "Jörg <spy@evil.example>",
               "Ａｎａ ＜spy＠evil.example＞", "Ana\r\nBcc: spy@evil.example"]
    messages = [(f"h{n}", render_message("testmail", {"title": name},
                                         to=[(name, f"p{n}@example.org"), ("Mentor", "mentor@example.org")],
                                         sender=(name, "cora@example.org"), subject=name,
                                         templates_dir=outbox.parent / "templates"))
                for n, name in enumerate(hostile)]
    write_outbox(messages, outbox, force=False)
    report = send(outbox, port)
    assert [i.status for i in report.items] == ["sent"] * len(hostile)
    assert [(frm, rcpts) for frm, rcpts, _ in handler.received] == [
        ("cora@example.org", [f"p{n}@example.org", "mentor@example.org"]) for n in range(len(hostile))]


MALFORMED = {
    "a-raw-utf8.eml": lambda d: with_header(d, b"To", "To: Jörg <jörg@exämple.org>".encode()),
    "b-group.eml": lambda d: with_header(d, b"To", b"To: friends: Person 1 <person1@example.org>, Mentor <mentor@example.org>;"),
    "c-group-in-name.eml": lambda d: with_header(d, b"To", b"To: x: spy@evil.example; <person1@example.org>, Mentor <mentor@example.org>"),
    "d-no-to.eml": lambda d: with_header(d, b"To", None),
    "e-two-to.eml": lambda d: with_header(d, b"To", b"To: person1@example.org\r\nTo: mentor@example.org"),
    "f-text.eml": lambda d: b"hello, this is just a note, not an email\n",
    "g-garbage.eml": lambda d: bytes(range(256)) * 64,
    "h-empty.eml": lambda d: b"",
    "i-no-from.eml": lambda d: with_header(d, b"From", None),
    "j-bad-address.eml": lambda d: with_header(d, b"To", b"To: Person 1 <person1@@example.org>, Mentor <mentor@example.org>"),
    "k-escape\x1b[2J.eml": lambda d: b"\x1b[31mnot an email\n",
    # the modern parser reads person1 (what the digest records), older readers person1 *and* spy
    "n-two-readings.eml": lambda d: with_header(
        d, b"To", b"To: person1@example.org <spy@evil.example>, Mentor <mentor@example.org>"),
    "o-quoted.eml": lambda d: with_header(d, b"To", b'To: "person 1"@example.org, Mentor <mentor@example.org>'),
    "p-no-dot.eml": lambda d: with_header(d, b"To", b"To: Person 1 <person1@localhost>, Mentor <mentor@example.org>"),
}


def test_malformed_drafts_are_reported_by_file_name_and_never_stop_the_drafts_after_them(smtp_server, outbox):
    handler, port = smtp_server()
    good = drafts(outbox, 1)[0]
    data = good.read_bytes()
    good.rename(outbox / "m-good.eml")
    for name, make in MALFORMED.items():
        (outbox / name).write_bytes(make(data))
    (outbox / "l-folder.eml").mkdir()
    os.mkfifo(outbox / "l-pipe.eml")
    report = send(outbox, port)
    by_file = {i.file: i for i in report.items}
    assert by_file.pop("m-good.eml").status == "sent" and len(handler.received) == 1
    expected = {
        "a-raw-utf8.eml": "its To header is malformed", "b-group.eml": "group syntax", "c-group-in-name.eml": "its To header cannot be read",
        "d-no-to.eml": "no To or Cc address", "e-two-to.eml": "more than one To header",
        "f-text.eml": "no From header", "g-garbage.eml": "no From header", "h-empty.eml": "no From header",
        "i-no-from.eml": "no From header", "j-bad-address.eml": "its To header is malformed", "k-escape\\x1b[2J.eml": "no From header",
        "l-folder.eml": "it is a folder", "l-pipe.eml": "not a regular file", "n-two-readings.eml": "its To header",
        "o-quoted.eml": "address that is not usable", "p-no-dot.eml": "address that is not usable",
    }
    assert sorted(by_file) == sorted(expected)
    for name, words in expected.items():
        assert by_file[name].status == "failed" and words in by_file[name].error, name
    assert len(list(outbox.glob("*.eml"))) == len(expected)  # all still there, nothing moved


def test_two_drafts_with_the_same_message_id_go_once_and_the_second_is_reported(smtp_server, outbox):
    handler, port = smtp_server()
    first = drafts(outbox, 2)[0]
    (outbox / "msg-1-copy.eml").write_bytes(first.read_bytes())
    planned = send(outbox, port, dry_run=True)
    assert [(i.file, i.status) for i in planned.items] == [
        ("msg-1-copy.eml", "planned"), ("msg-1.eml", "skipped"), ("msg-2.eml", "planned")]
    assert "a duplicate of msg-1-copy.eml" in planned.items[1].error
    report = send(outbox, port)
    assert [(i.file, i.status) for i in report.items] == [
        ("msg-1-copy.eml", "sent"), ("msg-1.eml", "skipped"), ("msg-2.eml", "sent")]
    assert handler.subjects() == ["Message 1", "Message 2"]
    assert send(outbox, port).items[0].status == "skipped" and len(handler.received) == 2


def test_unfinished_drafts_of_a_killed_write_are_never_sent_and_a_rerun_removes_them(smtp_server, outbox, tmp_path):
    """A real process writing the outbox is killed with SIGKILL after its temporary files exist."""
    marker = tmp_path / "temps-written"
    script = textwrap.dedent(f"""
        import os, time
        from pathlib import Path
        from mentorcli.mail import render_message, write_outbox
        def stall():  # called by files.atomic_write_many once every temporary file is written
            Path({str(marker)!r}).write_text("x")
            time.sleep(60)
        os.sync = stall
        messages = [(f"msg-{{n}}", render_message("testmail", {{"title": f"Message {{n}}"}},
                     to=[("P", f"person{{n}}@example.org")], sender=("Cora", "cora@example.org"),
                     subject=f"Message {{n}}", templates_dir=Path({str(outbox.parent / "templates")!r})))
                    for n in (1, 2, 3)]
        write_outbox(messages, Path({str(outbox)!r}), force=False)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the writer never reached its temporary files"
    process.send_signal(signal.SIGKILL)
    process.wait()
    temps = sorted(p.name for p in outbox.iterdir())
    assert len(temps) == 3 and all(name.startswith(".msg-") and files.is_temporary(name) for name in temps)

    handler, port = smtp_server()
    assert send(outbox, port, dry_run=True).items == [] and send(outbox, port).items == []
    assert handler.received == []
    running = f".other.eml.{os.getpid()}-abcdef12{files.TEMP_SUFFIX}"  # a run still writing: its process lives
    (outbox / running).write_bytes(b"another run's file")
    mail.check_outbox(["msg-1", "msg-2"], outbox, force=False)  # how introduce starts a run of these drafts
    drafts(outbox, 2)  # the killed run's leftovers are gone; the live run's stays
    left = sorted(p.name for p in outbox.iterdir() if p.name.startswith("."))
    assert left == [running]
    assert [i.file for i in send(outbox, port).items] == ["msg-1.eml", "msg-2.eml"]


@pytest.fixture
def unwritable():
    """Make a path unwritable even for root: ``chattr +i`` (immutable); plain chmod for other users."""
    marked: list[Path] = []

    def mark(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o555 if path.is_dir() else 0o444)
            marked.append(path)
            return
        if shutil.which("chattr") is None:
            pytest.skip("needs chattr to make a path read-only for root")
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.skip(f"this file system cannot make a path immutable: {result.stderr.strip()}")
        marked.append(path)

    def unmark(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o755 if path.is_dir() else 0o644)
        else:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        marked.remove(path)

    mark.unmark = unmark  # type: ignore[attr-defined]
    yield mark
    while marked:
        unmark(marked[-1])


def test_a_read_only_outbox_or_sent_folder_is_refused_before_anything_is_sent(smtp_server, outbox, unwritable):
    handler, port = smtp_server()
    drafts(outbox, 2)
    unwritable(outbox)
    with pytest.raises(MentorError, match="the outbox folder cannot be written: nothing was sent"):
        send(outbox, port)
    assert len(send(outbox, port, dry_run=True).items) == 2  # a dry run writes nothing: fine
    unwritable.unmark(outbox)
    (outbox / "sent").mkdir()
    unwritable(outbox / "sent")
    with pytest.raises(MentorError, match="the folder for sent messages cannot be written: nothing was sent"):
        send(outbox, port)
    unwritable.unmark(outbox / "sent")
    (outbox / "sent" / "sent.log").write_text("")
    unwritable(outbox / "sent" / "sent.log")
    with pytest.raises(MentorError, match="the send log cannot be written"):
        send(outbox, port)
    assert handler.received == []


def test_a_sent_path_that_is_a_file_or_a_log_that_is_a_folder_is_refused(smtp_server, outbox):
    handler, port = smtp_server()
    drafts(outbox, 1)
    (outbox / "sent").write_text("not a folder")
    with pytest.raises(MentorError, match="is not a folder: nothing was sent"):
        send(outbox, port)
    (outbox / "sent").unlink()
    (outbox / "sent" / "sent.log").mkdir(parents=True)
    with pytest.raises(MentorError, match="send log cannot be"):
        send(outbox, port)
    assert handler.received == []


def test_when_the_log_cannot_be_written_mid_run_the_run_stops_and_nothing_goes_twice(smtp_server, outbox, unwritable):
    handler, port = smtp_server()
    drafts(outbox, 3)
    log = outbox / "sent" / "sent.log"

    def lock_the_log(item):
        if item.file == "msg-1.eml":
            unwritable(log)  # e.g. the disk filled up after the first message

    report = send(outbox, port, progress=lock_the_log)
    assert [(i.file, i.status) for i in report.items] == [("msg-1.eml", "sent"), ("msg-2.eml", "failed")]
    assert "sent.log could not be written" in report.stopped and not report.ok
    assert handler.subjects() == ["Message 1"]  # message 2 was never handed to the server
    unwritable.unmark(log)
    rerun = send(outbox, port)
    assert [(i.file, i.status) for i in rerun.items] == [("msg-2.eml", "sent"), ("msg-3.eml", "sent")]
    assert handler.subjects() == ["Message 1", "Message 2", "Message 3"]


def test_a_delivery_whose_outcome_could_not_be_logged_is_not_sent_again_unless_asked(smtp_server, outbox, unwritable):
    log = outbox / "sent" / "sent.log"
    locked = []

    def lock_log_while_accepting(handler):
        if not locked:  # the server takes message 1, and just then the log can no longer be written
            unwritable(log)
            locked.append(log)

    handler, port = smtp_server(Recorder(on_data=lock_log_while_accepting))
    drafts(outbox, 2)
    report = send(outbox, port)
    assert [i.file for i in report.items] == ["msg-1.eml"] and report.stopped
    assert handler.subjects() == ["Message 1"]
    unwritable.unmark(log)
    rerun = send(outbox, port)
    assert [(i.file, i.status) for i in rerun.items] == [("msg-1.eml", "failed"), ("msg-2.eml", "sent")]
    assert "it may have been delivered, so it is not sent again" in rerun.items[0].error
    assert handler.subjects() == ["Message 1", "Message 2"]
    asked = send(outbox, port, resend_unsure=True)
    assert [(i.file, i.status) for i in asked.items] == [("msg-1.eml", "sent")]
    assert handler.subjects() == ["Message 1", "Message 2", "Message 1"]


def test_cli_names_a_bad_draft_and_a_refused_recipient_and_exits_1(cli, smtp_server, outbox):
    handler, port = smtp_server(Recorder(refuse_rcpt=("gone@example.org",)))
    drafts(outbox, 2, extra_to=("Gone", "gone@example.org"))
    (outbox / "evil\x1b[2J.eml").write_bytes(b"\x1b[31mnot an email\n")
    (outbox / ".msg-3.eml.abcd1234.tmp.eml").write_bytes((outbox / "msg-1.eml").read_bytes())
    result = cli("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", port)
    assert result.exit_code == 1 and "Traceback" not in result.stderr and "unexpected" not in result.stderr
    assert "\x1b" not in result.stderr and "evil\\x1b[2J.eml" in result.stderr and "no From header" in result.stderr
    assert "refused: gone@example.org (550 5.1.1 no such user)" in result.stderr
    assert ".msg-3" not in result.stderr and len(handler.received) == 2


def test_cli_refuses_a_read_only_outbox_in_one_line(cli, smtp_server, outbox, unwritable):
    handler, port = smtp_server()
    drafts(outbox, 1)
    unwritable(outbox)
    result = cli("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", port)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "outbox folder cannot be written: nothing was sent" in result.stderr and handler.received == []


def test_cli_resend_unsure_is_offered(cli):
    result = cli("send", "--help")
    assert "--resend-unsure" in result.output


def _a_finished_process_id() -> int:
    """The id of a process that has ended (a killed run's leftovers carry such an id)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_a_rerun_of_report_removes_a_killed_runs_unfinished_drafts(tmp_path):
    from test_report import AS_OF, make_book, make_config, read_schedule, write_checkins

    from mentorcli.report import build_report, read_checkin_logs, write_report

    config = make_config(tmp_path)
    book = make_book(tmp_path / "pairs.xlsx")
    sheet = write_checkins(tmp_path / "checkins.xlsx")
    schedule = read_schedule([sheet])
    logs, problems = read_checkin_logs([sheet], book, config, schedule=schedule)
    report = build_report(book, schedule, logs, config, as_of=AS_OF, problems=problems)
    outbox = tmp_path / "reports" / "outbox"
    outbox.mkdir(parents=True)
    dead = _a_finished_process_id()
    own = outbox / f".progress-{AS_OF.isoformat()}-ann-example-org.eml.{dead}-0a1b2c3d{files.TEMP_SUFFIX}"
    other = outbox / f".intro-p001.eml.{os.getpid()}-0a1b2c3d{files.TEMP_SUFFIX}"  # a live run's: still writing
    own.write_bytes(b"half a draft")
    other.write_bytes(b"half a draft")
    write_report(report, book, config, tmp_path / "reports", force=False)
    assert not own.exists() and other.exists()
    assert (outbox / f"progress-{AS_OF.isoformat()}-ann-example-org.eml").exists()

"""`mentor send`: a real SMTP server (aiosmtpd on 127.0.0.1) receives each draft exactly once."""

from __future__ import annotations

import datetime as dt
import email.policy
import json
import os
import socket
import ssl
from email.parser import BytesParser
from pathlib import Path

import pytest

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

from mentorcli import mail  # noqa: E402
from mentorcli.errors import MentorError  # noqa: E402
from mentorcli.mail import render_message, send_outbox, write_outbox  # noqa: E402

USER, PASSWORD = "coordinator", "s3cret-Pa55"


class Recorder:
    """An SMTP handler that keeps every accepted message and can refuse chosen ones."""

    def __init__(self, reject_subjects: tuple[str, ...] = (), refuse_rcpt: tuple[str, ...] = ()):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.reject_subjects = set(reject_subjects)
        self.refuse_rcpt = set(refuse_rcpt)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = BytesParser(policy=email.policy.default).parsebytes(envelope.content)
        if msg["Subject"] in self.reject_subjects:
            self.reject_subjects.discard(msg["Subject"])  # refuses once, accepts a retry
            return "554 5.6.0 message refused"
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


def test_a_refused_recipient_is_reported_and_the_message_not_resent(smtp_server, outbox):
    handler, port = smtp_server(Recorder(refuse_rcpt=("gone@example.org",)))
    drafts(outbox, 2, extra_to=("Gone", "gone@example.org"))
    report = send(outbox, port)
    assert [i.status for i in report.items] == ["failed", "failed"]
    assert "1 of 3 recipient(s) were refused" in report.items[0].error
    assert len(handler.received) == 2 and list(outbox.glob("*.eml")) == []
    assert send(outbox, port).items == []


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
    now = dt.datetime.now(dt.timezone.utc)
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

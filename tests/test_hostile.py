"""The hostile corpus (issue 12): every case through every command it reaches, with the contract's invariants.

Each case of ``tests/data/hostile/CASES.md`` gets its own cohort folder. Its file goes through the
commands the manifest lists (check, match, schedule, introduce, report, send --dry-run, and send
to a real aiosmtpd server on 127.0.0.1), each later command only when the one before wrote what
it reads. After every run:

- exit 0 or 1 (2 is only for a wrong command line, which no case is); no "Traceback" and no
  "unexpected" on stderr; on exit 1 the message names the case's file;
- no file outside the output folders (pairs.xlsx, calendar/, outbox/, reports/ and their .bak
  backups), the inputs unchanged, nothing left in the (private) system temp folder, no path with
  the corpus's mark anywhere beside the cohort or in /tmp, no output file name that is a device
  name, hidden or holds a control character;
- no formula in any xlsx written (no ``<f>`` element, no external link part) and no CSV cell
  that a spreadsheet would run;
- no recipient in any .eml (read with ``email.policy.default`` and with ``compat32`` +
  ``getaddresses``) or SMTP envelope that is not a participant of the cohort;
- no control character or escape sequence on the terminal (stderr, and stdout when not --json),
  in .ics text or in HTML; no tag or attribute from a cell live in HTML;
- private check-in notes never leave the log.

Files too big or special to commit are made here (``gen:`` cases) and run in a real process
with a memory limit, so a case that would exhaust the machine fails instead.
Cases known to fail before the fixes of issue 12 land are marked xfail(strict) in
``KNOWN_FAILING`` with the reason: an XPASS means a fix landed, so delete the entry.
"""

from __future__ import annotations

import csv
import email.utils
import io
import json
import os
import re
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller

from tests.conftest import ROOT

HOSTILE = ROOT / "tests" / "data" / "hostile"
MARK = "HOSTILE"
START, MONTHS, AS_OF = "2027-01-04", "2", "2027-02-20"
OUTPUTS = ("pairs.xlsx", "pairs.csv", "calendar", "outbox", "reports")
ADDRESS_HEADERS = ("to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc")
CONFIG_EMAILS = {"coordinator@example.org"}
DEVICE_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
# C0 except TAB LF CR, DEL, C1, and the bidi embedding/override/isolate controls
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TEXT_UNSAFE = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GENERATED_LIMIT_BYTES = 3 * 1024**3  # address space of a generated case's process
HANG_GUARD_SECONDS = 30  # not a speed target: a case that never returns must fail, not hang the suite


# --- the manifest --------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    file: str
    kind: str
    commands: list[str]
    attack: str
    expect: dict[str, str] = field(default_factory=dict)
    rows_named: list[tuple[str, int]] = field(default_factory=list)


def load_cases() -> list[Case]:
    """One Case per table row of CASES.md; the expect column is space-separated tokens."""
    cases = []
    for line in (HOSTILE / "CASES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 6 or cells[0] in ("id", "---"):
            continue
        case = Case(cells[0], cells[1], cells[2], cells[3].split(","), cells[4])
        for token in cells[5].split():
            if "@" in token and token.split("@")[0] in ("error", "warn", "problem"):
                severity, row = token.split("@")
                case.rows_named.append((severity, int(row)))
            elif "=" in token:
                key, value = token.split("=", 1)
                case.expect[key] = value
            else:
                case.expect[token] = ""
        cases.append(case)
    return cases


CASES = load_cases()

# Cases that fail on the `corpus` branch before the other fixes of issue 12 are merged (item in brackets).
KNOWN_FAILING: dict[str, str] = {
}


def case_params() -> list:
    return [pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILING[case.id])]
                         if case.id in KNOWN_FAILING else []) for case in CASES]


# --- shared set-up -------------------------------------------------------------------------------------


class Recorder:
    """aiosmtpd handler: keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp():
    recorder = Recorder()
    with socket.socket() as probe:  # a free port; aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def base_outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good introduction drafts of the clean cohort, for the outbox cases to sit among."""
    from typer.testing import CliRunner

    from mentorcli.cli import app

    folder = tmp_path_factory.mktemp("base")
    shutil.copy(HOSTILE / "base-pairs.xlsx", folder / "pairs.xlsx")
    old = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, ["introduce", "pairs.xlsx", "--out", "outbox"], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.stderr
    return folder / "outbox"


# --- one cohort folder ---------------------------------------------------------------------------------


class Cohort:
    """A case's folder, the commands run in it and every broken invariant found on the way."""

    def __init__(self, case: Case, folder: Path, private_tmp: Path, smtp) -> None:
        self.case = case
        self.folder = folder
        self.private_tmp = private_tmp
        self.recorder, self.port = smtp
        self.failures: list[str] = []
        self.inputs: dict[Path, bytes] = {}
        self.planted: set[bytes] = set()  # a hand-made bad draft: judged by what is delivered, not by its text
        self.subject = ""  # the name of the case's file in the cohort
        self.outside_before = snapshot_outside(folder)

    def fail(self, text: str) -> None:
        self.failures.append(text)

    def add_input(self, source: Path, name: str) -> Path:
        target = self.folder / name
        shutil.copy(source, target)
        self.inputs[target] = target.read_bytes()
        return target

    # running ---------------------------------------------------------------------------------------

    def run(self, *args: str, first: bool = False, expect_exit: str | None = None, json_out: bool = False):
        """``mentor ARGS`` in-process in the cohort folder; checks the run's invariants."""
        from typer.testing import CliRunner

        from mentorcli.cli import app

        old = Path.cwd()
        os.chdir(self.folder)
        try:
            result = CliRunner().invoke(app, list(args), catch_exceptions=True)
        finally:
            os.chdir(old)
        label = f"mentor {' '.join(args)}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            self.fail(f"{label}: raised {type(result.exception).__name__}: {str(result.exception)[:200]}")
            return result
        named = [Path(a).name for a in args if (self.folder / a).exists()]
        self.check_output(label, result.exit_code, result.stdout, result.stderr, json_out=json_out, named=named)
        if expect_exit in ("0", "1") and result.exit_code != int(expect_exit):
            self.fail(f"{label}: exit {result.exit_code}, expected {expect_exit}: {last_line(result.stderr)}")
        return result

    def check_output(self, label: str, code: int, stdout: str, stderr: str, *, json_out: bool,
                     named: list[str] | None = None) -> None:
        if code not in (0, 1):
            self.fail(f"{label}: exit {code}: {last_line(stderr)}")
        if "Traceback" in stderr:
            self.fail(f"{label}: Traceback on stderr")
        if "unexpected" in stderr.lower():
            self.fail(f"{label}: {last_line(stderr, 'nexpected')}")
        names = [n for n in [self.subject, *(named or [])] if n]
        if code == 1 and names and not any(n in stderr for n in names):
            self.fail(f"{label}: exit 1 without naming {' or '.join(names)}: {last_line(stderr)}")
        for stream, text in (("stderr", stderr), ("stdout", "" if json_out else stdout)):
            found = TERMINAL_UNSAFE.search(text)
            if found:
                self.fail(f"{label}: control character U+{ord(found.group()):04X} on {stream}")
        self.check_files(label)

    # files -----------------------------------------------------------------------------------------

    def check_files(self, label: str) -> None:
        for path, data in self.inputs.items():
            if not path.is_file() or path.read_bytes() != data:
                self.fail(f"{label}: input {path.name} was changed")
        for path in sorted(self.folder.rglob("*")):
            relative = path.relative_to(self.folder)
            if path in self.inputs or path.is_dir() or path.is_file() and path.read_bytes() in self.planted:
                continue
            if path.is_fifo() and relative.parts == (path.name,) and not path.name.startswith("."):
                continue  # the FIFO case's own input: no command makes one
            top = relative.parts[0]
            if not (top in OUTPUTS or top.split(".bak")[0] in OUTPUTS or any(top.startswith(o) for o in OUTPUTS[:2])):
                self.fail(f"{label}: wrote {relative} outside the output folders")
            name = path.name
            stem = name.split(".")[0].lower()
            if stem in DEVICE_NAMES or name.startswith(".") and "sent" not in name or TEXT_UNSAFE.search(name):
                self.fail(f"{label}: output file name {name!r} is a device name, hidden or holds a control character")
        leftovers = [p.name for p in self.private_tmp.iterdir()]
        if leftovers:
            self.fail(f"{label}: left {leftovers[:3]} in the system temp folder")
            for path in self.private_tmp.iterdir():
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        after = snapshot_outside(self.folder)
        if after - self.outside_before:
            self.fail(f"{label}: wrote outside the cohort folder: {sorted(after - self.outside_before)[:3]}")

    def check_outputs(self) -> None:
        """The written files' contents: formulas, recipients, control characters, live HTML, notes."""
        participants = self.participants()
        for path in sorted(self.folder.rglob("*")):
            if not path.is_file() or path in self.inputs:
                continue
            relative = str(path.relative_to(self.folder))
            suffix = path.suffix.lower()
            data = path.read_bytes()
            if b"PRIVATE-" + MARK.encode() in data:
                self.fail(f"{relative}: holds a private check-in note")
            if suffix == ".xlsx":
                self.check_xlsx(relative, path)
            elif suffix == ".csv":
                self.check_csv(relative, data)
            elif suffix == ".eml" and data not in self.planted:
                self.check_eml(relative, data, participants)
            elif suffix == ".ics":
                text = data.decode("utf-8", "replace")
                found = TEXT_UNSAFE.search(text)
                if found:
                    self.fail(f"{relative}: control character U+{ord(found.group()):04X} in the calendar")
            elif suffix in (".html", ".htm"):
                self.check_html(relative, data.decode("utf-8", "replace"))
        for recipients, content in self.recorder.envelopes:
            for address in recipients:
                if address.lower() not in participants:
                    self.fail(f"SMTP: delivered to {address!r}, who is not a participant")
            self.check_eml("SMTP message", content, participants)

    def participants(self) -> set[str]:
        """Emails of the cohort: whole cells of the People sheet of the pairing workbook in use, and the config's."""
        emails = set(CONFIG_EMAILS)
        for name in ("pairs.xlsx", self.subject):
            path = self.folder / name
            if name and path.suffix == ".xlsx" and path.is_file():
                try:
                    sheet = openpyxl.load_workbook(path, read_only=True)["People"]
                    rows = sheet.iter_rows(values_only=True)
                    column = list(next(rows)).index("Email")
                    emails |= {str(row[column]).strip().lower() for row in rows if row[column]}
                except Exception:  # noqa: BLE001, S112 (a workbook broken on purpose gives no participants)
                    continue
        return emails

    def check_xlsx(self, relative: str, path: Path) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            self.fail(f"{relative}: not a readable workbook")
            return
        with archive:
            for name in archive.namelist():
                if name.startswith("xl/externalLinks/"):
                    self.fail(f"{relative}: has an external link part {name}")
                if name.startswith("xl/worksheets/") and name.endswith(".xml") and re.search(rb"<f[\s>/]", archive.read(name)):
                    self.fail(f"{relative}: {name} holds a formula cell")

    def check_csv(self, relative: str, data: bytes) -> None:
        for row in csv.reader(io.StringIO(data.decode("utf-8-sig", "replace"), newline="")):
            for cell in row:
                if cell.startswith(FORMULA_START) and not is_number(cell):
                    self.fail(f"{relative}: cell {cell[:20]!r} would run as a formula")
                    return

    def check_eml(self, relative: str, data: bytes, participants: set[str]) -> None:
        modern = BytesParser(policy=policy.default).parsebytes(data)
        legacy = BytesParser(policy=policy.compat32).parsebytes(data)
        found: set[str] = set()
        try:
            for header in ADDRESS_HEADERS:
                for value in modern.get_all(header, []):
                    found |= {a.addr_spec for a in getattr(value, "addresses", ())}
                    if not hasattr(value, "addresses") and str(value).strip():
                        found.add(str(value))
        except Exception as exc:  # noqa: BLE001 (the modern parser refusing a header is itself a finding)
            self.fail(f"{relative}: recipients unreadable by email.policy.default: {exc}")
        values = [str(v) for header in ADDRESS_HEADERS for v in legacy.get_all(header, [])]
        found |= {address for _name, address in email.utils.getaddresses(values) if address}
        for address in sorted(found):
            if address.strip().lower() not in participants:
                self.fail(f"{relative}: recipient {address[:80]!r} is not a participant")
        for part in modern.walk():
            if part.get_content_type() == "text/html":
                self.check_html(f"{relative} (HTML part)", part.get_content())

    def check_html(self, relative: str, text: str) -> None:
        found = TEXT_UNSAFE.search(text)
        if found:
            self.fail(f"{relative}: control character U+{ord(found.group()):04X} in HTML")
        live = LiveMarkup()
        live.feed(text)
        if live.found:
            self.fail(f"{relative}: live HTML from a cell: {live.found[0][:80]}")


class LiveMarkup(HTMLParser):
    """Finds the corpus's mark inside a tag, an attribute, a script or a style: HTML a cell made live."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.raw: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        text = tag + " " + " ".join(f"{k}={v}" for k, v in attrs)
        if MARK in text or MARK.lower() in text.lower() and tag in ("script", "iframe", "img", "a", "style"):
            self.found.append(f"<{text}>")
        if tag in ("script", "style"):
            self.raw = tag

    def handle_endtag(self, tag: str) -> None:
        self.raw = None

    def handle_data(self, data: str) -> None:
        if self.raw and MARK in data:
            self.found.append(f"<{self.raw}>{data}")


def snapshot_outside(folder: Path) -> set[str]:
    """Paths holding the corpus's mark beside the cohort folder, in /tmp and in the repository root."""
    places = [folder.parent, Path("/tmp"), ROOT, Path(tempfile.gettempdir())]
    found = set()
    for place in places:
        try:
            found |= {str(p) for p in place.iterdir() if MARK.lower() in p.name.lower()}
        except OSError:
            pass
    return found


def last_line(text: str, containing: str = "") -> str:
    lines = [line for line in text.splitlines() if line.strip() and containing in line]
    return (lines[-1] if lines else "(nothing on stderr)")[:240]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- the cases -----------------------------------------------------------------------------------------


@pytest.fixture
def cohort(tmp_path: Path, smtp, monkeypatch: pytest.MonkeyPatch):
    """A factory of the case's cohort folder, with a private system temp folder to watch."""
    private_tmp = tmp_path / "private-tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    folder = tmp_path / "cohort"
    folder.mkdir()
    smtp[0].envelopes.clear()
    return lambda c: Cohort(c, folder, private_tmp, smtp)


@pytest.mark.parametrize("case", case_params())
def test_hostile_case(case: Case, cohort, base_outbox: Path, tmp_path: Path) -> None:
    run = cohort(case)
    {"signups": run_signups, "config": run_config, "pairs": run_pairs, "checkins": run_checkins,
     "outbox": run_outbox, "generated": run_generated}[case.kind](run, case, base_outbox)
    run.check_outputs()
    assert not run.failures, f"{case.id} ({case.attack}):\n  " + "\n  ".join(run.failures)


def first_exit(case: Case) -> str:
    return case.expect.get("exit", "0" if case.rows_named and not case.expect else "any")


def run_signups(run: Cohort, case: Case, _outbox: Path) -> None:
    run.subject = case.file
    run.add_input(HOSTILE / case.file, case.file)
    run.run("check", case.file)
    checked = run.run("check", case.file, "--json", first=True, expect_exit=first_exit(case), json_out=True)
    if checked.exit_code != 0:
        return
    report = json.loads(checked.stdout)
    check_rows(run, case, report)
    if "match" not in case.commands:
        return
    matched = run.run("match", case.file, "-o", "pairs.xlsx")
    if "exact" in case.expect and matched.exit_code == 0:
        check_exact(run, case, report)
    if matched.exit_code != 0 or "schedule" not in case.commands:
        return
    run.run("match", case.file, "-o", "pairs.csv")
    downstream(run, "pairs.xlsx", commands=case.commands)


def check_rows(run: Cohort, case: Case, report: dict) -> None:
    problems = report["problems"]
    for severity, row in case.rows_named:
        allowed = {"error": {"error"}, "warn": {"error", "warning"}, "problem": {"error", "warning"}}[severity]
        if not any(p.get("row") == row and p.get("severity") in allowed for p in problems):
            run.fail(f"check: no {severity} reported on row {row} (problems: {[(p.get('row'), p.get('problem')) for p in problems][:4]})")
    if "rows" in case.expect:
        named = {p.get("row") for p in problems if p.get("row") is not None}
        if report["participants"] + len(named) < int(case.expect["rows"]):
            run.fail(f"check: {case.expect['rows']} rows, {report['participants']} used and only {len(named)} "
                     "reported: rows dropped silently")


def check_exact(run: Cohort, case: Case, report: dict) -> None:
    if any("encod" in str(p.get("problem", "")).lower() for p in report["problems"]):
        return
    sheet = openpyxl.load_workbook(run.folder / "pairs.xlsx", read_only=True)["People"]
    names = {str(row[0]) for row in sheet.iter_rows(min_row=2, values_only=True)}
    exact = case.expect["exact"].replace("_", " ")
    if exact not in names:
        run.fail(f"read without an encoding problem, yet no name reads {exact!r} (mojibake?)")


def downstream(run: Cohort, pairs: str, *, expect_exit: str | None = None,
               commands: list[str] = ["schedule", "introduce", "report", "send"]) -> None:  # noqa: B006 (read only)
    """schedule -> introduce -> report -> send (dry run, then to the SMTP server), as far as ``commands`` go.

    ``send-intros``: the introductions go to the SMTP server, the progress emails only through --dry-run.
    """
    scheduled = run.run("schedule", pairs, "--start", START, "--months", MONTHS, "--out", "calendar", expect_exit=expect_exit)
    calendar = ["--calendar", "calendar"] if scheduled.exit_code == 0 else []
    made = {}
    if "introduce" in commands:
        made["outbox"] = run.run("introduce", pairs, *calendar, "--out", "outbox", expect_exit=expect_exit)
    if "report" in commands:
        logs = (["calendar/checkins.xlsx"] if scheduled.exit_code == 0
                else [run.add_input(HOSTILE / "base-checkins.xlsx", "log.xlsx").name])
        made["reports/outbox"] = run.run("report", pairs, *logs, "--as-of", AS_OF, "--out", "reports", expect_exit=expect_exit)
    for outbox, result in made.items():
        if result.exit_code == 0 and (run.folder / outbox).is_dir():
            if "send" in commands or "send-intros" in commands and outbox == "outbox":
                send(run, outbox)
            elif "send-intros" in commands:
                run.run("send", outbox, "--dry-run")


def send(run: Cohort, outbox: str) -> None:
    run.run("send", outbox, "--dry-run")
    run.run("send", outbox, "--smtp-host", "127.0.0.1", "--smtp-port", str(run.port), "--timeout", "10")


def run_config(run: Cohort, case: Case, _outbox: Path) -> None:
    run.subject = "mentor.toml"
    run.add_input(HOSTILE / case.file, "mentor.toml")
    run.add_input(HOSTILE / "base-signups.csv", "signups.csv")
    run.add_input(HOSTILE / "base-pairs.xlsx", "base-pairs.xlsx")
    exit_code = case.expect.get("exit", "any")
    run.run("check", "signups.csv", expect_exit=exit_code)
    run.run("match", "signups.csv", "-o", "pairs.xlsx", expect_exit=exit_code)
    run.run("schedule", "base-pairs.xlsx", "--start", START, "--months", MONTHS, "--out", "calendar", expect_exit=exit_code)


def run_pairs(run: Cohort, case: Case, _outbox: Path) -> None:
    run.subject = case.file
    run.add_input(HOSTILE / case.file, case.file)
    exit_code = case.expect.get("exit", "any")
    downstream(run, case.file, expect_exit=exit_code if exit_code == "1" else None)


def run_checkins(run: Cohort, case: Case, _outbox: Path) -> None:
    run.add_input(HOSTILE / "base-pairs.xlsx", "pairs.xlsx")
    run.subject = case.file
    run.add_input(HOSTILE / case.file, case.file)
    reported = run.run("report", "pairs.xlsx", case.file, "--as-of", "2027-03-20", "--out", "reports",
                       expect_exit=case.expect.get("exit", "any"))
    if reported.exit_code == 0:
        send(run, "reports/outbox")


def run_outbox(run: Cohort, case: Case, base_outbox: Path) -> None:
    run.add_input(HOSTILE / "base-pairs.xlsx", "pairs.xlsx")
    outbox = run.folder / "outbox"
    shutil.copytree(base_outbox, outbox)
    good = sorted(p.name for p in outbox.glob("*.eml"))
    name = case.expect.get("as", case.file)
    run.subject = name
    (outbox / name).write_bytes((HOSTILE / case.file).read_bytes())
    run.planted.add((outbox / name).read_bytes())
    dry = run.run("send", "outbox", "--dry-run")
    if name.endswith(".eml") and not name.startswith(".") and name not in dry.stdout + dry.stderr:
        run.fail(f"send --dry-run: {name} is neither listed nor named as refused")
    sent = run.run("send", "outbox", "--smtp-host", "127.0.0.1", "--smtp-port", str(run.port), "--timeout", "10")
    delivered = {BytesParser(policy=policy.compat32).parsebytes(c)["Message-ID"] for _r, c in run.recorder.envelopes}
    for draft in good:
        message_id = BytesParser(policy=policy.compat32).parsebytes((base_outbox / draft).read_bytes())["Message-ID"]
        if message_id not in delivered:
            run.fail(f"send: the good draft {draft} was not delivered beside the bad one")
    if name.startswith(".") and any(name in out for out in (dry.stdout, sent.stdout)):
        run.fail(f"send: the temporary file {name} was listed as a draft")


# --- generated files, run in a real process with a memory limit ----------------------------------------


def make_generated(key: str, folder: Path) -> Path:
    """The special file of a ``gen:`` case, made in the cohort folder (or a system path)."""
    rows = [r.split(",") for r in (HOSTILE / "base-signups.csv").read_text(encoding="utf-8").splitlines()]
    if key.startswith("huge-cell-"):
        column = {"availability": 13, "name": 2, "goals": 5}[key.removeprefix("huge-cell-")]
        value = {"availability": "Mon 18:00-19:00, " * 60_000, "name": "A" * 1_000_000,
                 "goals": ", ".join(f"goal {i}" for i in range(100_000))}[key.removeprefix("huge-cell-")]
        rows[1][column] = value
        path = folder / f"{key}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        return path
    if key == "xfd1048576":
        import xlsxwriter

        path = folder / "xfd1048576.xlsx"
        book = xlsxwriter.Workbook(str(path))
        sheet = book.add_worksheet("Form Responses 1")
        for r, row in enumerate(rows):
            sheet.write_row(r, 0, row)
        sheet.write_string(1048575, 16383, "x")
        book.close()
        return path
    if key == "zip-bomb":
        path = folder / "zip-bomb.xlsx"
        write_zip_bomb(path, HOSTILE / "header-only.xlsx")
        return path
    if key == "dev-zero":
        return Path("/dev/zero")
    if key == "fifo":
        path = folder / "signups.csv"
        os.mkfifo(path)
        return path
    if key == "directory":
        path = folder / "signups.csv"
        path.mkdir()
        return path
    raise AssertionError(key)


def write_zip_bomb(path: Path, workbook: Path, gigabytes: int = 2) -> None:
    """``workbook`` with its sheet replaced by ``gigabytes`` of blank XML, deflated to about 2 MB.

    Made in a second, not by deflating gigabytes: one 16 MB block of blanks is deflated once
    and repeated (each piece ends on a full flush, so the pieces stand alone), and the zip is
    written by hand (zipfile cannot take ready deflated data).
    """
    sheet = "xl/worksheets/sheet1.xml"
    chunk = b" " * (16 * 1024**2)
    head = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    tail = b"</sheetData></worksheet>"
    repeats = gigabytes * 64

    def deflate(data: bytes, final: bool) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)

    block = deflate(chunk, False)
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    members: list[tuple[str, bytes, int, int]] = []  # name, deflated data, crc, size
    with zipfile.ZipFile(workbook) as source:
        for name in source.namelist():
            if name == sheet:
                members.append((name, deflate(head, False) + block * repeats + deflate(tail, True), crc,
                                len(head) + len(chunk) * repeats + len(tail)))
            else:
                data = source.read(name)
                members.append((name, deflate(data, True), zlib.crc32(data), len(data)))
    out, central = bytearray(), bytearray()
    for name, data, crc32, size in members:
        encoded = name.encode()
        fields = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0x21, crc32, len(data), size, len(encoded), 0)
        central += struct.pack("<I", 0x02014B50) + struct.pack("<H", 20) + fields
        central += struct.pack("<HHHII", 0, 0, 0, 0, len(out)) + encoded
        out += struct.pack("<I", 0x04034B50) + fields + encoded + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GENERATED_LIMIT_BYTES, GENERATED_LIMIT_BYTES))


def run_generated(run: Cohort, case: Case, _outbox: Path) -> None:
    key = case.file.removeprefix("gen:")
    path = make_generated(key, run.folder)
    run.subject = path.name
    if path.is_file() and path.parent == run.folder:
        run.inputs[path] = path.read_bytes()
    command = [sys.executable, "-m", "mentorcli", "check", str(path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(run.private_tmp)}
    env.pop("MENTOR_DEBUG", None)
    try:
        done = subprocess.run(command, check=False, cwd=run.folder, capture_output=True, text=True, env=env,
                              timeout=HANG_GUARD_SECONDS, preexec_fn=limit_memory)
    except subprocess.TimeoutExpired:
        run.fail(f"mentor check {path.name}: no answer after {HANG_GUARD_SECONDS} s")
        return
    label = f"mentor check {path.name}"
    if done.returncode < 0:
        run.fail(f"{label}: killed by signal {-done.returncode} (native abort?): {last_line(done.stderr)}")
        return
    if "MemoryError" in done.stderr:
        run.fail(f"{label}: ran out of its {GENERATED_LIMIT_BYTES >> 30} GB")
    run.check_output(label, done.returncode, done.stdout, done.stderr, json_out=False)
    if case.expect.get("exit") in ("0", "1") and done.returncode != int(case.expect["exit"]):
        run.fail(f"{label}: exit {done.returncode}, expected {case.expect['exit']}: {last_line(done.stderr)}")


def test_manifest_lists_every_committed_file() -> None:
    """Every file of the corpus folder is a case (or the shared base), and every case's file exists."""
    listed = {c.file for c in CASES if not c.file.startswith("gen:")}
    support = {"CASES.md", "make_corpus.py", "base-signups.csv", "base-pairs.xlsx", "base-checkins.xlsx"}
    present = {p.name for p in HOSTILE.iterdir() if p.is_file()}
    assert listed <= present, sorted(listed - present)
    assert present - support <= listed, sorted(present - support - listed)
    assert len(CASES) >= 60

"""`mentor report --final`: the closing report, the sponsors' closing summary and the thank-you drafts.

On real files: the bundled example is matched and scheduled by the CLI, check-ins are logged in
the real checkins.xlsx, an ended relationship is put in ``PairingBook.ended`` as the Ended-sheet
reader will, survey answers are passed in directly; drafts are parsed back with two email
policies and delivered to a real SMTP server on 127.0.0.1 by `mentor send`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

import openpyxl
import pytest

from mentorcli import pipeline
from mentorcli.closing import (
    OTHER_REASON,
    build_closing,
    closing_book,
    closing_messages,
    reason_category,
    shown_groups,
    sponsor_closing_context,
    write_closing,
)
from mentorcli.config import Config
from mentorcli.model import Ending, Member, PairingBook, Relationship, SurveyAnswer
from mentorcli.report import read_checkin_logs, read_schedule
from mentorcli.workbook import read_pairing_workbook
from tests.conftest import EXAMPLES
from tests.test_send import Controller, Recorder, free_port

START = "2027-01-04"
CLOSE = dt.date(2027, 7, 1)
NOTE = "PRIVATE-NOTE-MARKER"
COMMENT = "PRIVATE-COMMENT-MARKER"
ENDED_ID = "P002"


# --------------------------------------------------------------------------- the cohort


def _fill(sheet: Path) -> dt.date:
    """Log check-ins in checkins.xlsx: the first 30 pairs met in January to April with goal progress;
    the pair that will end met at occurrences 1-3 (the third on the day it ends) and logged a fourth
    one day after its end. Returns that end date (the UTC day of its third check-in)."""
    book = openpyxl.load_workbook(sheet)
    ws = book["Check-ins"]
    header = [cell.value for cell in ws[1]]
    col = {name: header.index(name) + 1 for name in header}
    end_day = None
    for row in range(2, ws.max_row + 1):
        pair = ws.cell(row, col["Pair ID"]).value
        number = int(ws.cell(row, col["Occurrence"]).value)
        start = ws.cell(row, col["Start (UTC)"]).value
        day = start.date()
        if pair == ENDED_ID:
            if number <= 3:
                held_on = day
                end_day = day if number == 3 else end_day
            elif number == 4:
                held_on = end_day + dt.timedelta(days=1)
            else:
                continue
        elif int(pair[1:]) <= 30 and day < dt.date(2027, 5, 1):
            held_on = day
        else:
            continue
        ws.cell(row, col["Held"], "Yes")
        ws.cell(row, col["Date Held"], held_on)
        ws.cell(row, col["Rating"], 4)
        ws.cell(row, col["Goal Progress"], f"{20 * number}%")
        ws.cell(row, col["Notes"], f"{NOTE} talked about a job change")
    book.save(sheet)
    assert end_day is not None
    return end_day


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date]:
    """The example matched and scheduled by the CLI, with check-ins logged; and the end date."""
    from typer.testing import CliRunner

    from mentorcli.cli import app

    folder = tmp_path_factory.mktemp("closing")
    shutil.copy(EXAMPLES / "signups.xlsx", folder / "signups.xlsx")
    shutil.copy(EXAMPLES / "mentor.toml", folder / "mentor.toml")
    runner = CliRunner()
    for args in (["match", "signups.xlsx", "-o", "pairs.xlsx"],
                 ["schedule", "pairs.xlsx", "--start", START, "--out", "calendar"]):
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(folder)
            result = runner.invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
    return folder, _fill(folder / "calendar" / "checkins.xlsx")


def settings(folder: Path, **report: object) -> Config:
    config = pipeline.load_settings(folder / "mentor.toml")
    return dataclasses.replace(config, report=dataclasses.replace(config.report, **report)) if report else config


def ended(book: PairingBook, endings: dict[str, tuple[dt.date, str]]) -> PairingBook:
    """``book`` after `mentor end`: the relationships named leave the Pairs rows for ``book.ended``."""
    relationships = {r.id: r for r in book.relationships()}
    gone = [Ending(relationships[pid], day, reason) for pid, (day, reason) in endings.items()]
    pairs = book.pairs[~book.pairs["pair_id"].isin(list(endings))].reset_index(drop=True)
    return PairingBook(book.path, pairs, book.people, book.settings, book.problems, ended=gone)


def as_circle(book: PairingBook) -> tuple[PairingBook, str]:
    """``book`` with the two mentees of one mentor in one relationship (a mentor-led circle)."""
    pairs = book.pairs.copy()
    logged = pairs[pairs["pair_id"].str[1:].astype(int) <= 30]  # both pairs met (see _fill)
    counts = logged["mentor_email"].value_counts()
    mentor = min(counts[counts >= 2].index)
    rows = pairs.index[pairs["mentor_email"] == mentor][:2]
    first = str(pairs.at[rows[0], "pair_id"])
    pairs.loc[rows[1], "pair_id"] = first
    return PairingBook(book.path, pairs, book.people, book.settings, book.problems, ended=book.ended), first


PEER_CIRCLE = Relationship("C900", (Member("farah.okafor@example.net", "Farah Okafor", "facilitator"),
                                    Member("gus.lindqvist@example.net", "Gus Lindqvist", "peer"),
                                    Member("hana.mori@example.net", "Hana Mori", "peer")))


def closing_of(folder: Path, book: PairingBook, config: Config, surveys=()):
    sheet = folder / "calendar" / "checkins.xlsx"
    schedule = read_schedule([sheet])
    logs, problems = read_checkin_logs([sheet], closing_book(book), config, schedule=schedule)
    return build_closing(book, schedule, logs, config, as_of=CLOSE, surveys=surveys, problems=problems)


def answer(email: str, kind: str, day: str, *, rid: str | None = None, quality=4.0, recommend=9.0,
           progress: float | None = 3.0, row: int = 2) -> SurveyAnswer:
    return SurveyAnswer(kind=kind, email=email, relationship_id=rid, submitted=dt.date.fromisoformat(day),
                        quality=quality, recommend=recommend, goal_progress=progress, comments=f"{COMMENT} {email}",
                        file="survey.csv", row=row)


def parsed(path: Path) -> tuple[Message, Message]:
    data = path.read_bytes()
    return BytesParser(policy=policy.default).parsebytes(data), BytesParser(policy=policy.compat32).parsebytes(data)


def body_text(message: Message) -> str:
    """Every text part decoded, as a mail client would show it."""
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            parts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(parts)


def mentions(text: str, value: str) -> bool:
    return re.search(r"(?<![\w.@-])" + re.escape(value) + r"(?![\w@-])", text, re.IGNORECASE) is not None


# --------------------------------------------------------------------------- the whole cycle


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd, test_send's recorder) on a free port of 127.0.0.1."""
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def test_closing_cycle_thank_yous_hold_only_their_own_relationship_and_are_delivered(cohort, tmp_path, smtp,
                                                                                    cli) -> None:
    folder, end_day = cohort
    config = settings(folder)
    base = read_pairing_workbook(folder / "pairs.xlsx", config)
    circled, _ = as_circle(base)
    book = ended(circled, {ENDED_ID: (end_day, "Kavya moved to a new job")})
    book.ended.append(Ending(PEER_CIRCLE, end_day, "time: too busy"))
    p001 = next(r for r in book.relationships() if r.id == "P001")
    mentee, mentor = p001.others[0].email, p001.leads[0].email
    surveys = [answer(mentee, "pulse", "2027-02-01", progress=2.0), answer(mentee, "closing", "2027-06-20", progress=4.0),
               answer(mentor, "pulse", "2027-02-01", rid="P001", progress=1.0),
               answer(mentor, "closing", "2027-06-20", rid="P001", progress=5.0)]
    closing = closing_of(folder, book, config, surveys)
    assert closing.totals["survey_answers"] == 4
    written = write_closing(closing, config, tmp_path / "closing", book_path=book.path, force=False)

    relationships = [*book.relationships(), *(e.relationship for e in book.ended)]
    everyone = {m.email.lower(): m.name for r in relationships for m in r.members}
    drafts = sorted(p for p in written if p.name.startswith("thanks-"))
    assert len(drafts) == len(everyone)
    for path in drafts:
        modern, legacy = parsed(path)
        (to,) = modern["To"].addresses
        mine = [r for r in relationships if r.includes(to.addr_spec)]
        assert to.addr_spec in everyone and to.display_name == everyone[to.addr_spec] and mine
        assert [a for _, a in getaddresses(legacy.get_all("To"))] == [to.addr_spec]
        assert legacy["Cc"] is None and legacy["Bcc"] is None and modern["Cc"] is None
        text = body_text(modern)
        assert text == body_text(legacy)
        allowed = {m.email.lower() for r in mine for m in r.members}
        for r in mine:
            for member in r.members:
                if member.email.lower() != to.addr_spec:
                    assert mentions(text, member.name), (path.name, member.name)
        for email, name in everyone.items():
            if email not in allowed:
                assert not mentions(text, email) and not mentions(text, name), (path.name, name)
        assert NOTE not in text and COMMENT not in text and "Kavya moved" not in text and "too busy" not in text
    pair_text = body_text(parsed(next(p for p in drafts if "p001" in p.name or p.name.endswith(
        p001.others[0].email.replace(".", "-").replace("@", "-") + ".eml")))[0])
    assert "Goal progress in your check-ins: 20% at the first, 80% at the last." in pair_text

    mentee_text = body_text(parsed(next(p for p in drafts if mentee.replace(".", "-").replace("@", "-") in p.name))[0])
    assert "2.0 at the first, 4.0 at the last" in mentee_text  # their own survey answers ...
    assert "1.0" not in mentee_text and "5.0" not in mentee_text  # ... never their mentor's

    addressed = {path: parsed(path)[0]["To"].addresses[0].addr_spec for path in drafts}
    handler, port = smtp
    result = cli("send", tmp_path / "closing" / "outbox", "--smtp-host", "127.0.0.1", "--smtp-port", port)
    assert result.exit_code == 0, result.stderr
    received = {rcpts[0]: content for _, rcpts, content in handler.received if len(rcpts) == 1}
    assert len(handler.received) == len(drafts) + 1  # and the sponsors' summary
    for path, to in addressed.items():
        assert body_text(BytesParser(policy=policy.default).parsebytes(received[to])).count("Check-ins held") >= 1


def test_circles_thank_you_to_each_member_lists_the_circle(cohort) -> None:
    folder, end_day = cohort
    config = settings(folder)
    circled, circle_id = as_circle(read_pairing_workbook(folder / "pairs.xlsx", config))
    book = PairingBook(circled.path, circled.pairs, circled.people, ended=[Ending(PEER_CIRCLE, end_day, "busy")])
    closing = closing_of(folder, book, config)
    rows = {r.relationship.id: r for r in closing.relationships}
    assert rows[circle_id].kind == "circle" and rows["C900"].kind == "circle" and rows["P001"].kind == "pair"
    assert rows[circle_id].progress_last and rows[circle_id].held > 0  # logged: the coordinator sees it
    messages = dict(closing_messages(closing, config))
    for relationship in (rows[circle_id].relationship, PEER_CIRCLE):
        for me in relationship.members:
            (stem,) = [s for s in messages if s.endswith(me.email.replace(".", "-").replace("@", "-"))]
            for kind, heading in (("plain", "\n== "), ("html", "<h2")):
                text = messages[stem].get_body((kind,)).get_content()
                (section,) = [part for part in text.split(heading) if "Your circle:" in part]
                assert f"you ({me.role})" in section, kind
                for other in relationship.members:
                    assert other is me or mentions(section, f"{other.name} ({other.role})"), (me.name, other.name)
                assert "Goal progress in your check-ins" not in section  # logged on one member's row
    facilitator = body_text(messages["thanks-2027-07-01-farah-okafor-example-net"])
    assert "Gus Lindqvist (peer) and Hana Mori (peer)" in facilitator and f"ended on {end_day.isoformat()}" in facilitator


# --------------------------------------------------------------------------- counting up to the end


@pytest.mark.parametrize(("shift", "held", "scheduled", "late"), [(0, 3, 3, 1), (-1, 2, 2, 2), (200, 4, 6, 0)])
def test_held_and_scheduled_count_up_to_the_end_date_inclusive(cohort, shift, held, scheduled, late) -> None:
    """Ended on the day of the third check-in: it counts (3 of 3), the one a day later does not.
    Ended one day earlier: the third is itself a day after the end (2 of 2). Ended after the
    close: counted up to the close (the fourth, a day after the third, counts; all 6 were due)."""
    folder, end_day = cohort
    config = settings(folder)
    ended_on = end_day + dt.timedelta(days=shift)
    closing = closing_of(folder, ended(read_pairing_workbook(folder / "pairs.xlsx", config),
                                       {ENDED_ID: (ended_on, "left the company")}), config)
    (row,) = [r for r in closing.relationships if r.relationship.id == ENDED_ID]
    assert (row.outcome, row.ended_on, row.held, row.scheduled) == ("ended", ended_on, held, scheduled)
    assert row.progress_first == "20%" and row.progress_last == f"{20 * held}%"
    after = [p for p in closing.problems if ENDED_ID in p.problem and "after it ended" in p.problem]
    assert len(after) == late and all(p.column == "Date Held" and p.row for p in after)
    lasted = next(r for r in closing.relationships if r.relationship.id == "P001")
    assert (lasted.outcome, lasted.held, lasted.scheduled) == ("lasted", 4, 6)
    assert closing.totals["ended"] == 1 and closing.totals["lasted"] == len(closing.relationships) - 1


# --------------------------------------------------------------------------- the sponsor's view


def sponsor_text(closing, config: Config) -> str:
    (message,) = [m for stem, m in closing_messages(closing, config) if stem.startswith("sponsor-closing")]
    return body_text(message)


def test_sponsor_summary_holds_no_name_email_note_or_reason(cohort) -> None:
    folder, end_day = cohort
    config = settings(folder)
    base = read_pairing_workbook(folder / "pairs.xlsx", config)
    reasons = {f"P00{i}": (end_day, f"Mentee {name} went on parental leave") for i, name in
               zip(range(2, 8), ("Kavya", "Uche", "Ximena", "Valentina", "Emeka", "Maya"))}
    book = ended(base, reasons)
    relationships = [*book.relationships(), *(e.relationship for e in book.ended)]
    people = [m for r in relationships for m in r.members]
    surveys = [answer(m.email, "closing", "2027-06-20", rid=r.id, quality=5, recommend=10)
               for r in relationships[:5] for m in r.members]
    text = sponsor_text(closing_of(folder, book, config, surveys), config)
    for member in people:
        assert not mentions(text, member.email) and not mentions(text, member.name), member.name
    assert NOTE not in text and COMMENT not in text and "parental leave" not in text
    assert "personal circumstances: 6" in text and "relationship quality 5.0 of 5" in text


@pytest.mark.parametrize(("count", "shown"), [(5, True), (4, False)])
def test_sponsor_breaks_out_no_group_under_min_group_size(cohort, count, shown) -> None:
    """At min_group_size (5) a reason category and the survey means are shown; one under, neither."""
    folder, end_day = cohort
    config = settings(folder, min_group_size=5)
    base = read_pairing_workbook(folder / "pairs.xlsx", config)
    book = ended(base, {f"P0{10 + i}": (end_day, "too busy at work") for i in range(count)})
    surveys = [answer(r.others[0].email, "closing", "2027-06-20", rid=r.id, quality=2, recommend=3, progress=4)
               for r in book.relationships()[:count]]
    text = sponsor_text(closing_of(folder, book, config, surveys), config)
    assert ("time or workload: 5" in text) is shown
    assert ("relationship quality 2.0 of 5" in text) is shown
    assert ("Goal progress in the surveys" in text) is shown and ("4.0 at the last" in text) is shown
    assert f"ended early: {count}" in text
    assert "time or workload" in text if shown else "time or workload" not in text


def test_shown_groups_fold_small_groups_so_none_can_be_subtracted() -> None:
    assert shown_groups([("a", 3), ("b", 3)], 3, "other") == [{"label": "a", "count": 3}, {"label": "b", "count": 3}]
    assert shown_groups([("a", 3), ("b", 3)], 4, "other") == []
    assert shown_groups([("a", 5), ("b", 2), ("c", 1)], 3, "other") == [{"label": "a", "count": 5},
                                                                       {"label": "other", "count": 3}]
    assert shown_groups([("a", 5), ("b", 1), ("c", 1)], 3, "other") == []
    assert shown_groups([("a", 5), ("b", 4), ("c", 1)], 3, "other") == [{"label": "a", "count": 5},
                                                                       {"label": "other", "count": 5}]
    assert shown_groups([("a", 4), (OTHER_REASON, 4)], 4, OTHER_REASON) == [{"label": "a", "count": 4},
                                                                             {"label": OTHER_REASON, "count": 4}]


def test_by_kind_is_shown_only_when_both_kinds_reach_the_limit(cohort) -> None:
    folder, _ = cohort
    config = settings(folder, min_group_size=1)
    circled, _ = as_circle(read_pairing_workbook(folder / "pairs.xlsx", config))
    closing = closing_of(folder, circled, config)
    assert sponsor_closing_context(closing, config)["by_kind"][1] == {"label": "circles", "count": 1}
    assert sponsor_closing_context(closing, settings(folder, min_group_size=2))["by_kind"] == []


def test_reason_categories() -> None:
    assert reason_category("Left the company in March") == "left the organisation"
    assert reason_category("too busy") == "time or workload"
    assert reason_category("Mentee never replied") == "no response"
    assert reason_category("goals reached early") == "goals reached"
    assert reason_category("no spark") == OTHER_REASON


# --------------------------------------------------------------------------- surveys


def test_survey_answers_are_placed_in_their_own_relationship_or_reported(cohort) -> None:
    folder, end_day = cohort
    config = settings(folder)
    book = ended(read_pairing_workbook(folder / "pairs.xlsx", config), {ENDED_ID: (end_day, "busy")})
    p001, p003 = (next(r for r in book.relationships() if r.id == pid) for pid in ("P001", "P003"))
    me = p001.others[0].email
    counts = book.pairs["mentor_email"].value_counts()
    busy = min(counts[counts >= 2].index)
    twice = sorted(book.pairs.loc[book.pairs["mentor_email"] == busy, "pair_id"])
    surveys = [answer(me, "pulse", "2027-02-01", progress=2, quality=3, recommend=6, row=2),
               answer(me, "closing", "2027-06-20", progress=4, quality=5, recommend=10, row=3),
               answer(me, "closing", "2027-06-20", rid="P003", row=4),  # names a relationship she is not in
               answer("nobody@example.org", "closing", "2027-06-20", row=5),
               answer(busy, "closing", "2027-06-20", row=6),  # a mentor of two pairs: which one?
               answer(busy, "closing", "2027-06-20", rid=twice[0], quality=1, row=7)]
    closing = closing_of(folder, book, config, surveys)
    rows = {r.relationship.id: r for r in closing.relationships}
    figures = rows["P001"].survey
    assert (figures.answers, figures.quality, figures.recommend, figures.progress_first, figures.progress_last) == (
        2, 4.0, 8.0, 2.0, 4.0)
    assert rows[p003.id].survey.answers == 0
    assert sorted(p.row for p in closing.problems if p.file == "survey.csv") == [4, 5, 6]
    assert (rows[twice[0]].survey.answers, rows[twice[0]].survey.quality) == (1, 1.0)
    assert rows[twice[1]].survey.answers == 0
    assert closing.totals["net_promoter"] == 33.3  # promoters 10 and 9, one detractor (6), of 3


# --------------------------------------------------------------------------- files and the command


def test_closing_files_are_escaped_formula_free_and_repeatable(cohort, tmp_path) -> None:
    folder, end_day = cohort
    config = settings(folder)
    book = ended(read_pairing_workbook(folder / "pairs.xlsx", config),
                 {ENDED_ID: (end_day, '=HYPERLINK("http://x","y") <script>alert(1)</script>')})
    outputs = []
    for name in ("a", "b"):
        written = write_closing(closing_of(folder, book, config), config, tmp_path / name, book_path=book.path,
                                force=False)
        outputs.append({p.relative_to(tmp_path / name): p.read_bytes() for p in written})
    assert outputs[0] == outputs[1]
    html = (tmp_path / "a" / "closing.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    sheet = openpyxl.load_workbook(tmp_path / "a" / "closing.xlsx")["Relationships"]
    header = [c.value for c in sheet[1]]
    (cell,) = [row[header.index("Reason")] for row in sheet.iter_rows(min_row=2) if row[0].value == ENDED_ID]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    formulas = [c.coordinate for ws in openpyxl.load_workbook(tmp_path / "a" / "closing.xlsx").worksheets
                for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    for content in outputs[0].values():
        assert NOTE.encode() not in content


def test_report_final_command_writes_the_closing_set_and_json(cohort, cli, tmp_path, monkeypatch) -> None:
    folder, _ = cohort
    monkeypatch.chdir(folder)
    help_text = cli("report", "--help").stdout
    assert "--final" in help_text and "--outbox" in help_text and "Example" in help_text
    args = ("report", "pairs.xlsx", "calendar/checkins.xlsx", "--final", "--as-of", CLOSE.isoformat(),
            "--out", tmp_path / "closing", "--outbox", tmp_path / "drafts")
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["final"] is True and summary["totals"]["relationships"] == 102 and summary["totals"]["ended"] == 0
    assert (tmp_path / "closing" / "closing.html").is_file() and (tmp_path / "closing" / "closing.xlsx").is_file()
    assert not (tmp_path / "closing" / "cohort.html").exists()
    drafts = sorted((tmp_path / "drafts").glob("*.eml"))
    assert len(drafts) == summary["totals"]["participants"] + 1
    again = cli(*args)
    assert again.exit_code == 1 and "Traceback" not in again.stderr and "--force" in again.stderr
    assert cli(*args, "--force").exit_code == 0
    lone = cli("report", "pairs.xlsx", "calendar/checkins.xlsx", "--outbox", tmp_path / "x", "--out", tmp_path / "y")
    assert lone.exit_code == 1 and "--outbox goes with --final" in lone.stderr and not (tmp_path / "y").exists()


def test_a_scheduled_pair_neither_in_the_workbook_nor_ended_is_reported(cohort) -> None:
    folder, _ = cohort
    config = settings(folder)
    book = read_pairing_workbook(folder / "pairs.xlsx", config)
    gone = PairingBook(book.path, book.pairs[book.pairs["pair_id"] != "P005"].reset_index(drop=True), book.people)
    closing = closing_of(folder, gone, config)
    (problem,) = [p for p in closing.problems if "neither in the pairing workbook" in p.problem]
    assert "P005" in problem.problem and "6 scheduled" in problem.problem and problem.row is not None
    assert "P005" not in {r.relationship.id for r in closing.relationships}


def test_an_ended_id_also_among_the_pairs_is_refused(cohort) -> None:
    folder, end_day = cohort
    config = settings(folder)
    book = read_pairing_workbook(folder / "pairs.xlsx", config)
    p001 = book.relationships()[0]
    clash = PairingBook(book.path, book.pairs, book.people, ended=[Ending(p001, end_day, "busy")])
    with pytest.raises(Exception, match="both ended and among the pairs"):
        closing_book(clash)

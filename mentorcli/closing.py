"""Closing the programme: ``mentor report --final``.

Pipeline: ``closing_book`` (the pairing book with the ended relationships back among its rows,
so that ``report.read_checkin_logs`` matches their logs too) -> ``build_closing`` (per
relationship, pairs and circles alike: lasted or ended, check-ins held against scheduled up to
the end, goal progress at the first and the last logged check-in, survey results; totals;
reasons for endings grouped) -> ``write_closing`` (``closing.html`` and ``closing.xlsx`` for the
coordinator, a closing summary for the sponsors and one thank-you draft per participant).

The counting is ``report.build_report``'s own: the relationships that lasted are counted as of the
closing date, those that ended as of their end date (a check-in held on the end date counts,
one after it does not), so the two reports never disagree on what "held" means.

Privacy as in ``report``: notes never read; a participant's draft is built from their own
relationships and their own survey answers only; the sponsor's view holds counts, rates and mean
scores, never a name, an email or a reason's words, and no group smaller than
``report.min_group_size``. Survey comments are left out of every output.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any, Literal

import pandas as pd

from mentorcli import files
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.mail import (
    addressed_members,
    check_outbox,
    html_page_env,
    make_address,
    names_text,
    render_message,
    render_template,
    write_outbox,
)
from mentorcli.model import Ending, Member, PairingBook, Problem, Relationship, SurveyAnswer
from mentorcli.report import OUTBOX, CohortReport, build_report
from mentorcli.xlsx import ANY, NUMBER, TEXT, WRAP, Column, Styled, TableSheet, write_table_workbook

Outcome = Literal["lasted", "ended"]

HTML_FILE = "closing.html"
XLSX_FILE = "closing.xlsx"
THANKS_TEMPLATE = "thanks"
SPONSOR_TEMPLATE = "closing-sponsor"
SPONSOR_FILE = "sponsor-closing"

REASON_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("goals reached", ("goal", "achieved", "reached", "completed", "accomplished", "promot")),
    ("left the organisation", ("left the", "leaving", "resign", "new job", "changed job", "job change",
                               "moved on", "redundan", "quit")),
    ("time or workload", ("time", "busy", "workload", "capacity", "schedule", "priorit", "bandwidth")),
    ("no response", ("unresponsive", "no response", "not respond", "no reply", "ghost", "did not reply",
                     "never replied", "stopped replying", "no-show", "no show")),
    ("not a good fit", ("fit", "mismatch", "chemistry", "expectation", "rematch", "compatib")),
    ("personal circumstances", ("personal", "health", "illness", "sick", "leave", "family", "parental")),
)
"""Words in a reason that place it in a category, first match wins. The sponsor sees categories
and counts, never the coordinator's words (they may name someone)."""
OTHER_REASON = "other reasons"

_SURVEY_ORDER = {"pulse": 0, "midpoint": 1, "closing": 2}


def reason_category(reason: str) -> str:
    """The category of an ending reason in the coordinator's words (``OTHER_REASON`` when none fits)."""
    text = " ".join(str(reason).casefold().split())
    for category, words in REASON_CATEGORIES:
        if any(re.search(r"\b" + re.escape(word), text) for word in words):
            return category
    return OTHER_REASON


# ---------------------------------------------------------------------------------------------
# The book with ended relationships back in
# ---------------------------------------------------------------------------------------------


def ending_rows(ending: Ending) -> list[dict[str, Any]]:
    """Pairs rows of an ended relationship as the workbook held them: one per member beside the lead."""
    relationship = ending.relationship
    lead = relationship.leads[0] if relationship.leads else relationship.members[0]
    return [{"pair_id": relationship.id, "mentee_email": _key(member.email), "mentor_email": _key(lead.email),
             "mentee": member.name, "mentor": lead.name, "score": relationship.score, "why": relationship.why,
             "row": relationship.row}
            for member in relationship.members if member is not lead]


def closing_book(book: PairingBook) -> PairingBook:
    """``book`` with its ended relationships among the Pairs rows (and none left as ended), so the
    report's log readers match their check-ins instead of calling them unknown.

    An ended relationship's id that is also an active one's would merge two relationships' logs:
    refused rather than guessed.
    """
    active = set(book.pairs["pair_id"].astype(str))
    rows = []
    for ending in book.ended:
        if ending.relationship.id in active:
            raise MentorError(f"relationship {ending.relationship.id} is both ended and among the pairs",
                              path=book.path, hint="Give the new relationship its own ID in the Pairs sheet.")
        rows.extend(ending_rows(ending))
    if not rows:
        return PairingBook(book.path, book.pairs, book.people, book.settings, book.problems)
    added = pd.DataFrame(rows).reindex(columns=book.pairs.columns)
    pairs = pd.concat([book.pairs, added], ignore_index=True) if len(book.pairs) else added
    return PairingBook(book.path, pairs.reset_index(drop=True), book.people, book.settings, book.problems)


def _restricted(book: PairingBook, ids: set[str]) -> PairingBook:
    pairs = book.pairs[book.pairs["pair_id"].astype(str).isin(ids)].reset_index(drop=True)
    return PairingBook(book.path, pairs, book.people, book.settings, [])


def _schedule_of(schedule: pd.DataFrame | None, book: PairingBook) -> pd.DataFrame | None:
    """The scheduled check-ins of ``book``'s rows only (by both emails, as the report matches them)."""
    if schedule is None:
        return None
    keys = set(zip(book.pairs["mentee_email"].map(_key), book.pairs["mentor_email"].map(_key)))
    mine = [(_key(a), _key(b)) in keys for a, b in zip(schedule["mentee_email"], schedule["mentor_email"])]
    return schedule[mine].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Building the closing report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyFigures:
    """One relationship's survey answers in numbers: how many, mean quality (1-5) and
    would-recommend (0-10), mean goal progress (1-5) at each respondent's first and last survey."""

    answers: int = 0
    respondents: int = 0
    quality: float | None = None
    recommend: float | None = None
    progress_first: float | None = None
    progress_last: float | None = None


@dataclass(frozen=True)
class RelationshipClosing:
    """How one relationship ended up: the closing report's row."""

    relationship: Relationship
    outcome: Outcome
    ended_on: dt.date | None
    reason: str
    held: int
    scheduled: int
    progress_first: str
    progress_first_on: dt.date | None
    progress_last: str
    progress_last_on: dt.date | None
    survey: SurveyFigures

    @property
    def kind(self) -> str:
        """"pair" for two people, "circle" for more (a mentor with several mentees, a peer circle)."""
        return "pair" if len(self.relationship.members) <= 2 else "circle"

    @property
    def reason_category(self) -> str:
        return reason_category(self.reason) if self.outcome == "ended" else ""

    @property
    def held_rate(self) -> float | None:
        return round(self.held / self.scheduled, 4) if self.scheduled else None


@dataclass
class ClosingReport:
    """The programme at its close: one ``RelationshipClosing`` per relationship (those that lasted,
    in workbook order, then the ended ones by end date), totals, endings by category, the progress
    report of those that lasted, and each person's own survey answers (for their thank-you draft only)."""

    as_of: dt.date
    relationships: list[RelationshipClosing]
    totals: dict[str, Any]
    endings: list[dict[str, Any]]
    cohort: CohortReport
    """``build_report``'s view of the relationships that lasted, as of the closing date."""
    own_answers: dict[tuple[str, str], list[SurveyAnswer]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def build_closing(
    book: PairingBook,
    schedule: pd.DataFrame | None,
    logs: pd.DataFrame,
    config: Config,
    *,
    as_of: dt.date,
    surveys: Sequence[SurveyAnswer] = (),
    problems: Sequence[Problem] = (),
) -> ClosingReport:
    """The closing report from what ``mentor report`` reads: ``book`` (with ``book.ended``),
    ``schedule`` (``report.read_schedule``), ``logs`` (``report.read_checkin_logs`` on
    ``closing_book(book)``) and the survey answers.

    Lasted relationships are counted by ``build_report`` as of ``as_of``, each ended one as of
    its end date. A check-in logged
    after its relationship ended, and a survey answer that cannot be placed in one relationship
    of its respondent, are reported and not counted.
    """
    endings = sorted(book.ended, key=lambda e: (e.ended_on, e.relationship.id))
    lasted = book.relationships()
    report = build_report(book, _schedule_of(schedule, book), logs, config, as_of=as_of)
    counts = {pid: (int(h), int(s)) for pid, h, s in
              zip(report.status["pair_id"], report.status["held"], report.status["scheduled_to_date"])}
    found = [*problems, *report.problems]
    everything = closing_book(book)
    found.extend(_unknown_schedule_problems(schedule, everything))
    last_day = {e.relationship.id: min(e.ended_on, as_of) for e in endings}
    for day in sorted(set(last_day.values())):
        ids = {rid for rid, end in last_day.items() if end == day}
        part = _restricted(everything, ids)
        ended_report = build_report(part, _schedule_of(schedule, part), logs, config, as_of=day)
        counts.update({pid: (int(h), int(s)) for pid, h, s in zip(
            ended_report.status["pair_id"], ended_report.status["held"], ended_report.status["scheduled_to_date"])})
    found.extend(_after_end_problems(logs, last_day))
    cutoffs = {r.id: as_of for r in lasted} | last_day
    progress = _logged_progress(logs, cutoffs)
    all_relationships = [*lasted, *(e.relationship for e in endings)]
    placed, survey_problems = place_answers(surveys, all_relationships)
    found.extend(survey_problems)
    rows = [_closing_row(r, "lasted", None, "", counts, progress, placed) for r in lasted]
    rows += [_closing_row(e.relationship, "ended", e.ended_on, e.reason, counts, progress, placed) for e in endings]
    own = {(rid, email): answers for rid, by_person in placed.items() for email, answers in by_person.items()}
    return ClosingReport(as_of=as_of, relationships=rows, totals=closing_totals(rows, surveys_counted=placed),
                         endings=endings_by_category(rows), cohort=report, own_answers=own, problems=found)


def _closing_row(relationship: Relationship, outcome: Outcome, ended_on: dt.date | None, reason: str,
                 counts: dict[str, tuple[int, int]], progress: dict[str, list[tuple[dt.date, str]]],
                 placed: dict[str, dict[str, list[SurveyAnswer]]]) -> RelationshipClosing:
    held, scheduled = counts.get(relationship.id, (0, 0))
    logged = progress.get(relationship.id, [])
    first = logged[0] if logged else (None, "")
    last = logged[-1] if logged else (None, "")
    return RelationshipClosing(relationship=relationship, outcome=outcome, ended_on=ended_on, reason=reason,
                               held=held, scheduled=scheduled, progress_first=first[1], progress_first_on=first[0],
                               progress_last=last[1], progress_last_on=last[0],
                               survey=survey_figures(placed.get(relationship.id, {})))


def _unknown_schedule_problems(schedule: pd.DataFrame | None, everything: PairingBook) -> list[Problem]:
    """One warning per pair of the schedule that is neither in the workbook nor ended: not counted."""
    if schedule is None or schedule.empty:
        return []
    keys = set(zip(everything.pairs["mentee_email"].map(_key), everything.pairs["mentor_email"].map(_key)))
    known = [(_key(a), _key(b)) in keys for a, b in zip(schedule["mentee_email"], schedule["mentor_email"])]
    unknown = schedule[[not k for k in known]]
    files_of = unknown["file"].astype(str) if "file" in unknown else pd.Series("check-in schedule", index=unknown.index)
    out = []
    for (file, pair), group in unknown.assign(file=files_of).groupby(["file", "pair_id"], sort=True):
        rows = pd.to_numeric(group["row"], errors="coerce") if "row" in group else pd.Series(dtype=float)
        first = None if rows.dropna().empty else int(rows.min())
        out.append(Problem(file=str(file), sheet="Check-ins", row=first, column="Pair ID", severity="warning",
                           problem=f"the {len(group)} scheduled check-in(s) of {pair} are not counted: the pair is "
                                   "neither in the pairing workbook nor among the ended ones"))
    return out


def _after_end_problems(logs: pd.DataFrame, last_day: dict[str, dt.date]) -> list[Problem]:
    """A warning for each check-in logged as held after its relationship ended (or after the close,
    if that came first): not counted."""
    out: list[Problem] = []
    ended_on = {rid: pd.Timestamp(day) for rid, day in last_day.items()}
    if not ended_on or logs.empty:
        return out
    late = logs[logs["held"] & logs["pair_id"].isin(ended_on)]
    late = late[late["date"] > late["pair_id"].map(ended_on)]
    for record in late.to_dict("records"):
        day = ended_on[record["pair_id"]].date().isoformat()
        out.append(Problem(file=str(record["file"]), sheet=str(record["sheet"]),
                           row=None if pd.isna(record["row"]) else int(record["row"]),
                           column="Date Held" if record["source"] == "sheet" else "", severity="warning",
                           problem=f"check-in of {record['pair_id']} logged after it ended on {day}; "
                                   "not counted in the closing report"))
    return out


def _logged_progress(logs: pd.DataFrame, cutoffs: dict[str, dt.date]) -> dict[str, list[tuple[dt.date, str]]]:
    """Goal progress as logged, per relationship in date order, up to its cut-off (end or close)."""
    if logs.empty:
        return {}
    rows = logs[(logs["goal_progress"] != "") & logs["pair_id"].isin(cutoffs) & logs["date"].notna()]
    rows = rows[rows["date"] <= rows["pair_id"].map(lambda pid: pd.Timestamp(cutoffs[pid]))]
    rows = rows.sort_values(["date", "file", "row"], kind="stable")
    out: dict[str, list[tuple[dt.date, str]]] = {}
    for pid, day, text in zip(rows["pair_id"], rows["date"], rows["goal_progress"]):
        out.setdefault(str(pid), []).append((pd.Timestamp(day).date(), " ".join(str(text).split())))
    return out


def place_answers(answers: Iterable[SurveyAnswer], relationships: Sequence[Relationship]
                  ) -> tuple[dict[str, dict[str, list[SurveyAnswer]]], list[Problem]]:
    """Each survey answer in its relationship: ``{relationship id: {respondent email: [answers]}}``.

    By the relationship id the answer names (its respondent must be a member), else by the
    respondent's only relationship. An answer that fits none, or several, is reported and left
    out: counting it in the wrong relationship would put words in someone else's mouth.
    """
    members = {r.id: {_key(m.email) for m in r.members} for r in relationships}
    of_person: dict[str, list[str]] = {}
    for r in relationships:
        for m in r.members:
            of_person.setdefault(_key(m.email), []).append(r.id)
    placed: dict[str, dict[str, list[SurveyAnswer]]] = {}
    problems = []
    for answer in answers:
        email = _key(answer.email)
        named = (answer.relationship_id or "").strip()
        if named:
            rid = next((r for r in members if r.casefold() == named.casefold()), None)
            if rid is None or email not in members[rid]:
                problems.append(_survey_problem(answer, "the respondent is not in the relationship the answer "
                                                        "names; not counted"))
                continue
        else:
            candidates = of_person.get(email, [])
            if len(candidates) != 1:
                why = ("the respondent is in no relationship" if not candidates else
                       "the respondent was in several relationships and the answer names none")
                problems.append(_survey_problem(answer, f"{why}; not counted"))
                continue
            rid = candidates[0]
        placed.setdefault(rid, {}).setdefault(email, []).append(answer)
    for by_person in placed.values():
        for answers_of in by_person.values():
            answers_of.sort(key=_survey_key)
    return placed, problems


def _survey_problem(answer: SurveyAnswer, text: str) -> Problem:
    return Problem(file=answer.file, sheet="", row=answer.row, column="", severity="warning", problem=text)


def _survey_key(answer: SurveyAnswer) -> tuple[Any, ...]:
    return (answer.submitted or dt.date.min, _SURVEY_ORDER.get(answer.kind, 9), answer.file, answer.row)


def survey_figures(by_person: dict[str, list[SurveyAnswer]]) -> SurveyFigures:
    """Means over a relationship's answers; goal progress at each respondent's first and last survey
    that asked it, averaged over respondents (one person answering often does not weigh more)."""
    answers = [a for person in sorted(by_person) for a in by_person[person]]
    if not answers:
        return SurveyFigures()
    firsts, lasts = [], []
    for person in sorted(by_person):
        rated = [a.goal_progress for a in by_person[person] if a.goal_progress is not None]
        if rated:
            firsts.append(rated[0])
            lasts.append(rated[-1])
    return SurveyFigures(
        answers=len(answers), respondents=len(by_person),
        quality=_mean(a.quality for a in answers), recommend=_mean(a.recommend for a in answers),
        progress_first=_mean(firsts), progress_last=_mean(lasts))


def _mean(values: Iterable[float | None]) -> float | None:
    numbers = [float(v) for v in values if v is not None]
    return round(fmean(numbers), 2) if numbers else None


def closing_totals(rows: Sequence[RelationshipClosing], *,
                   surveys_counted: dict[str, dict[str, list[SurveyAnswer]]]) -> dict[str, Any]:
    """The programme's closing figures (plain numbers, for JSON and templates)."""
    held = sum(r.held for r in rows)
    scheduled = sum(r.scheduled for r in rows)
    lasted = sum(1 for r in rows if r.outcome == "lasted")
    answers = [a for by_person in surveys_counted.values() for person in sorted(by_person) for a in by_person[person]]
    people = {_key(m.email) for r in rows for m in r.relationship.members}
    firsts, lasts = [], []
    for rid in sorted(surveys_counted):
        for person in sorted(surveys_counted[rid]):
            rated = [a.goal_progress for a in surveys_counted[rid][person] if a.goal_progress is not None]
            if rated:
                firsts.append(rated[0])
                lasts.append(rated[-1])
    recommend = [float(a.recommend) for a in answers if a.recommend is not None]
    return {
        "relationships": len(rows),
        "pairs": sum(1 for r in rows if r.kind == "pair"),
        "circles": sum(1 for r in rows if r.kind == "circle"),
        "participants": len(people),
        "lasted": lasted,
        "ended": len(rows) - lasted,
        "lasted_rate": round(lasted / len(rows), 4) if rows else None,
        "held": held,
        "scheduled": scheduled,
        "held_rate": round(held / scheduled, 4) if scheduled else None,
        "never_met": sum(1 for r in rows if r.held == 0),
        "survey_answers": len(answers),
        "survey_respondents": len({(rid, p) for rid, by in surveys_counted.items() for p in by}),
        "mean_quality": _mean(a.quality for a in answers),
        "mean_recommend": _mean(recommend),
        "net_promoter": _net_promoter(recommend),
        "progress_respondents": len(firsts),
        "progress_first": _mean(firsts),
        "progress_last": _mean(lasts),
    }


def _net_promoter(scores: Sequence[float]) -> float | None:
    """Net promoter score: % answering 9-10 minus % answering 0-6."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores), 1)


def endings_by_category(rows: Sequence[RelationshipClosing]) -> list[dict[str, Any]]:
    """Ended relationships grouped by reason category, largest first: category, count, ids, reasons."""
    groups: dict[str, list[RelationshipClosing]] = {}
    for row in rows:
        if row.outcome == "ended":
            groups.setdefault(row.reason_category, []).append(row)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"category": category, "count": len(items), "ids": [r.relationship.id for r in items],
             "reasons": [r.reason for r in items]} for category, items in ordered]


# ---------------------------------------------------------------------------------------------
# What each reader sees
# ---------------------------------------------------------------------------------------------


def _key(address: Any) -> str:
    return str(address).strip().lower()


def _day(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def _number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _members_text(relationship: Relationship) -> str:
    return names_text([f"{m.name} ({m.role})" for m in addressed_members(relationship)])


def coordinator_rows(closing: ClosingReport) -> list[dict[str, Any]]:
    """The closing report's rows as display text (coordinator only: names and reasons)."""
    return [{
        "id": r.relationship.id, "kind": r.kind, "members": _members_text(r.relationship),
        "emails": ", ".join(_key(m.email) for m in addressed_members(r.relationship)),
        "outcome": r.outcome, "ended_on": _day(r.ended_on), "reason": r.reason, "category": r.reason_category,
        "held": r.held, "scheduled": r.scheduled, "held_rate": _percent(r.held_rate),
        "progress_first": r.progress_first, "progress_first_on": _day(r.progress_first_on),
        "progress_last": r.progress_last, "progress_last_on": _day(r.progress_last_on),
        "answers": r.survey.answers, "quality": _number(r.survey.quality), "recommend": _number(r.survey.recommend),
        "survey_first": _number(r.survey.progress_first), "survey_last": _number(r.survey.progress_last),
    } for r in closing.relationships]


def _base(closing: ClosingReport, config: Config) -> dict[str, Any]:
    return {"programme": config.cohort.name, "coordinator_name": config.cohort.coordinator_name,
            "coordinator_email": config.cohort.coordinator_email, "as_of": closing.as_of.isoformat()}


def _shown_totals(totals: dict[str, Any]) -> dict[str, str]:
    return {"lasted_rate": _percent(totals["lasted_rate"]), "held_rate": _percent(totals["held_rate"]),
            "mean_quality": _number(totals["mean_quality"]), "mean_recommend": _number(totals["mean_recommend"]),
            "net_promoter": _number(totals["net_promoter"], 0), "progress_first": _number(totals["progress_first"]),
            "progress_last": _number(totals["progress_last"])}


def render_closing_html(closing: ClosingReport, config: Config, *, templates_dir: Path | None = None) -> str:
    """``closing.html``: one self-contained page for the coordinator (autoescaped)."""
    context = _base(closing, config) | {
        "totals": closing.totals, "shown": _shown_totals(closing.totals), "rows": coordinator_rows(closing),
        "endings": closing.endings,
        "problems": [p.as_dict() | {"where": p.location()} for p in closing.problems],
    }
    return render_template(html_page_env(templates_dir), "closing.html.j2", context)


_HEADER = {"bold": True, "bg_color": "#e8eef6", "border": 1, "text_wrap": True, "valign": "top"}
_ROW_COLUMNS = (
    ("ID", "id", 9), ("Kind", "kind", 8), ("Members", "members", 40), ("Emails", "emails", 40),
    ("Outcome", "outcome", 9), ("Ended On", "ended_on", 11), ("Reason", "reason", 40),
    ("Reason Category", "category", 20), ("Held", "held", 7), ("Scheduled", "scheduled", 10),
    ("First Goal Progress", "progress_first", 20), ("First Progress Date", "progress_first_on", 11),
    ("Last Goal Progress", "progress_last", 20), ("Last Progress Date", "progress_last_on", 11),
    ("Survey Answers", "answers", 9),
)


def closing_workbook_bytes(closing: ClosingReport, config: Config) -> bytes:
    """``closing.xlsx`` in memory: Relationships, Endings, Summary, Problems. Every text cell stays
    text (never a formula or a link); the document date is the closing date, so the bytes repeat."""
    rows = coordinator_rows(closing)
    numbers = {"held", "scheduled", "answers"}
    relationship_columns = [
        Column(title, [r[key] if key in numbers else str(r[key]) for r in rows], NUMBER if key in numbers else TEXT,
               width=width, text_format=WRAP if key in ("members", "reason") else None, write_empty=True)
        for title, key, width in _ROW_COLUMNS]
    survey = [(r.held_rate, r.survey) for r in closing.relationships]
    relationship_columns += [
        Column("Held Rate", [None if rate is None else Styled(rate, "0%") for rate, _ in survey], ANY, width=9),
        Column("Mean Quality (1-5)", [s.quality for _, s in survey], ANY, "0.0", width=10),
        Column("Mean Recommend (0-10)", [s.recommend for _, s in survey], ANY, "0.0", width=10),
        Column("Survey Progress First (1-5)", [s.progress_first for _, s in survey], ANY, "0.0", width=11),
        Column("Survey Progress Last (1-5)", [s.progress_last for _, s in survey], ANY, "0.0", width=11),
    ]
    endings = closing.endings
    totals = list(closing.totals.items())
    problems = [(p.file, p.sheet, p.row, p.column, p.severity, p.problem) for p in closing.problems]
    sheets = [
        TableSheet("Relationships", relationship_columns, _HEADER, filter_min_rows=1, by_rows=True),
        TableSheet("Endings", [
            Column("Reason Category", [e["category"] for e in endings], TEXT, width=24, write_empty=True),
            Column("Count", [e["count"] for e in endings], NUMBER, width=8),
            Column("Relationships", [", ".join(e["ids"]) for e in endings], TEXT, width=40, write_empty=True),
            Column("Reasons", ["; ".join(e["reasons"]) for e in endings], TEXT, width=60, text_format=WRAP,
                   write_empty=True)], _HEADER, filter_min_rows=1, by_rows=True),
        TableSheet("Summary", [
            Column("Figure", ["closing date", *(k.replace("_", " ") for k, _ in totals)], TEXT, width=24),
            Column("Value", [closing.as_of.isoformat(), *("n/a" if v is None else v for _, v in totals)], ANY,
                   width=12)], _HEADER, autofilter=False, by_rows=True),
        TableSheet("Problems", [
            Column(title, [fields[c] if c == 2 else str(fields[c]) for fields in problems], NUMBER if c == 2 else TEXT,
                   width=width, write_empty=True)
            for c, (title, width) in enumerate((("File", 30), ("Sheet", 12), ("Row", 6), ("Column", 14),
                                                 ("Severity", 9), ("Problem", 80)))], _HEADER, filter_min_rows=1,
            by_rows=True),
    ]
    buffer = io.BytesIO()
    write_table_workbook(buffer, sheets, {"title": f"{config.cohort.name}: closing report {closing.as_of.isoformat()}",
                                          "created": dt.datetime.combine(closing.as_of, dt.time())})
    return buffer.getvalue()


def shown_groups(counts: Sequence[tuple[str, int]], minimum: int, other: str) -> list[dict[str, Any]]:
    """Groups a sponsor may see: each of at least ``minimum``; smaller ones folded into ``other``,
    and when that fold is itself too small, the smallest shown groups join it, so no small group
    can be worked out by subtraction. Empty when nothing can be shown without breaking one out."""
    ordered = sorted(counts, key=lambda item: (-item[1], item[0]))
    shown = [item for item in ordered if item[1] >= minimum and item[0] != other]
    folded = [item for item in ordered if item not in shown]
    while folded and sum(c for _, c in folded) < minimum and shown:
        folded.append(shown.pop())
    if not shown or (folded and sum(c for _, c in folded) < minimum):
        return []
    rows = [{"label": label, "count": count} for label, count in shown]
    if folded:
        rows.append({"label": other, "count": sum(c for _, c in folded)})
    return rows


def sponsor_closing_context(closing: ClosingReport, config: Config) -> dict[str, Any]:
    """Aggregates only: counts, rates and mean scores; survey means only from ``min_group_size``
    respondents up; ending reasons as categories, none smaller than ``min_group_size``; the
    relationships broken out by kind only when both kinds reach it. No name, email, note or reason."""
    minimum = max(1, int(config.report.min_group_size))
    totals = closing.totals
    kinds = [("pairs", totals["pairs"]), ("circles", totals["circles"])]
    shown = _shown_totals(totals)
    enough_answers = totals["survey_respondents"] >= minimum
    enough_progress = totals["progress_respondents"] >= minimum
    return _base(closing, config) | {
        "totals": {k: totals[k] for k in ("relationships", "participants", "lasted", "ended", "held", "scheduled",
                                          "never_met", "survey_respondents", "progress_respondents")},
        "lasted_rate": shown["lasted_rate"], "held_rate": shown["held_rate"],
        "by_kind": [] if any(0 < count < minimum for _, count in kinds) or not all(c for _, c in kinds)
        else [{"label": label, "count": count} for label, count in kinds],
        "survey": {"quality": shown["mean_quality"], "recommend": shown["mean_recommend"],
                   "net_promoter": shown["net_promoter"]} if enough_answers else None,
        "progress": {"first": shown["progress_first"], "last": shown["progress_last"]} if enough_progress else None,
        "endings": shown_groups([(e["category"], e["count"]) for e in closing.endings], minimum, OTHER_REASON),
        "min_group_size": minimum,
    }


def thanks_contexts(closing: ClosingReport, config: Config) -> list[dict[str, Any]]:
    """One context per participant, sorted by email, built from their own relationships and their
    own survey answers only: who they met with, check-ins held, goal progress. Never a reason,
    a rating or a survey answer of someone else."""
    entries: dict[str, list[dict[str, Any]]] = {}
    names: dict[str, str] = {}
    for row in closing.relationships:
        members = addressed_members(row.relationship)
        for me in members:
            email = _key(me.email)
            names.setdefault(email, str(me.name))
            own = [a.goal_progress for a in closing.own_answers.get((row.relationship.id, email), [])
                   if a.goal_progress is not None]
            entries.setdefault(email, []).append({
                "id": row.relationship.id,
                "kind": row.kind,
                "role": me.role,
                "partners": [{"name": str(o.name), "role": _part_for(me, o)} for o in members if o is not me],
                "members": [{"name": str(o.name), "role": o.role, "me": o is me} for o in row.relationship.members],
                "outcome": row.outcome,
                "ended_on": _day(row.ended_on),
                "held": row.held,
                "scheduled": row.scheduled,
                # a circle's logged progress is one member's row: only a pair's is the reader's own
                "progress_first": row.progress_first if row.kind == "pair" else "",
                "progress_last": row.progress_last if row.kind == "pair" else "",
                "own_first": _number(own[0]) if own else "",
                "own_last": _number(own[-1]) if own else "",
                "own_answers": len(own),
            })
    base = _base(closing, config)
    return [base | {"email": email, "name": names[email] or email, "relationships": entries[email]}
            for email in sorted(entries)]


def _part_for(me: Member, other: Member) -> str:
    return f"fellow {other.role}" if other.role == me.role else other.role


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def thanks_stems(closing: ClosingReport, contexts: Sequence[dict[str, Any]]) -> list[str]:
    day = closing.as_of.isoformat()
    return files.unique_slugs([f"thanks-{day}-{c['email']}" for c in contexts], fallback="thanks")


def closing_messages(closing: ClosingReport, config: Config, *, templates_dir: Path | None = None
                     ) -> list[tuple[str, Any]]:
    """``(file stem, EmailMessage)``: a thank-you to each participant, then the sponsors' summary."""
    sender = (config.cohort.coordinator_name, config.cohort.coordinator_email)
    contexts = thanks_contexts(closing, config)
    subject = f"{config.cohort.name}: thank you"
    messages = [(stem, render_message(THANKS_TEMPLATE, context, to=[(context["name"], context["email"])],
                                      sender=sender, subject=subject, templates_dir=templates_dir,
                                      date=closing.as_of))
                for stem, context in zip(thanks_stems(closing, contexts), contexts)]
    sponsors = [a.strip() for a in config.cohort.sponsor_emails if a.strip()]
    if sponsors:
        messages.append((f"{SPONSOR_FILE}-{closing.as_of.isoformat()}", render_message(
            SPONSOR_TEMPLATE, sponsor_closing_context(closing, config), to=[("", a) for a in sponsors],
            sender=sender, subject=f"{config.cohort.name}: closing summary", templates_dir=templates_dir,
            date=closing.as_of)))
    return messages


def check_closing_addresses(closing: ClosingReport, book_path: Path) -> None:
    """Refuse, before anything is written, an address no thank-you could be sent to."""
    for row in closing.relationships:
        for member in row.relationship.members:
            try:
                make_address("", _key(member.email))
            except MentorError:
                raise MentorError(f"relationship {row.relationship.id}: the {member.role}'s email address is "
                                  "not usable", path=book_path,
                                  hint="Correct it in the pairing workbook and run again.") from None


def template_overrides(config: Config) -> Path | None:
    """The cohort's own templates folder (``templates/`` beside ``mentor.toml``), as ``report`` uses."""
    candidate = config.folder / "templates"
    return candidate if candidate.is_dir() else None


def write_closing(closing: ClosingReport, config: Config, out_dir: str | Path, *, book_path: Path,
                  outbox: str | Path | None = None, force: bool, templates_dir: Path | None = None) -> list[Path]:
    """Write ``closing.html``, ``closing.xlsx`` (in ``out_dir``) and the drafts (``outbox``, default
    ``out_dir/outbox``): every target checked and everything rendered before the first write, the
    set written all or nothing."""
    out_dir = Path(out_dir)
    templates_dir = templates_dir if templates_dir is not None else template_overrides(config)
    outbox_dir = Path(outbox) if outbox is not None else out_dir / OUTBOX
    html_path, xlsx_path = out_dir / HTML_FILE, out_dir / XLSX_FILE
    check_closing_addresses(closing, book_path)
    contexts = thanks_contexts(closing, config)
    sponsors = [f"{SPONSOR_FILE}-{closing.as_of.isoformat()}"] if any(a.strip() for a in config.cohort.sponsor_emails) else []
    stems = thanks_stems(closing, contexts) + sponsors
    files.check_targets([html_path, xlsx_path], force=force)
    check_outbox(stems, outbox_dir, force=force)
    html = render_closing_html(closing, config, templates_dir=templates_dir)
    xlsx = closing_workbook_bytes(closing, config)
    messages = closing_messages(closing, config, templates_dir=templates_dir)
    with files.all_or_nothing():
        files.atomic_write_text(html_path, html, force=force)
        files.atomic_write_bytes(xlsx_path, xlsx, force=force)
        written = write_outbox(messages, outbox_dir, force=force)
    return [html_path, xlsx_path, *written]


def closing_summary(closing: ClosingReport) -> dict[str, Any]:
    """The ``--json`` answer: totals, endings by category (ids, no reason text), problem list."""
    return {
        "as_of": closing.as_of.isoformat(),
        "final": True,
        "totals": closing.totals,
        "endings": [{"category": e["category"], "count": e["count"], "ids": e["ids"]} for e in closing.endings],
        "relationships": [{"id": r.relationship.id, "kind": r.kind, "outcome": r.outcome,
                           "ended_on": _day(r.ended_on) or None, "held": r.held, "scheduled": r.scheduled}
                          for r in closing.relationships],
        "problems": [p.as_dict() for p in closing.problems],
    }

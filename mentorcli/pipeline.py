"""The steps a coordinator runs, one function each, shared by the ``mentor`` command and Python.

``init`` -> ``check`` -> ``match`` -> ``schedule`` -> ``introduce`` -> ``report`` -> ``send``. Each
takes paths and options as plain values, does the whole step (settings checked, every output
target checked before the slow work, files written atomically) and returns what happened as a
result object whose ``as_json()`` is the step's ``--json`` answer. Bad input raises ``MentorError``
(one readable line). ``cli.py`` only parses options, calls one of these and prints the result::

    from mentorcli import pipeline

    run = pipeline.match(["signups.xlsx"], config="mentor.toml", output="pairs.xlsx")
    plan = pipeline.schedule("pairs.xlsx", config="mentor.toml", start=datetime.date(2027, 1, 4))
    intros = pipeline.introduce("pairs.xlsx", config="mentor.toml", calendar="calendar")

``config`` is a ``mentor.toml`` path, an already loaded ``Config``, or ``None`` for the
``mentor.toml`` of the current folder (the defaults when there is none), as on the command line.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mentorcli import match as matching
from mentorcli.availability import check_config_windows
from mentorcli.bulk import worker_stops
from mentorcli.closing import ClosingReport, build_closing, closing_book, closing_summary, write_closing
from mentorcli.config import CONFIG_NAME, Config, load_config, render_config_toml
from mentorcli.ending import EndResult, end_relationship, left_alone, second_rematch_problems
from mentorcli.ending import avoid_pairs as ending_avoid_pairs
from mentorcli.errors import MentorError
from mentorcli.files import atomic_write_text, check_targets
from mentorcli.history import History, cohort_month, earlier_cohort_cells, earlier_figures, read_history
from mentorcli.mail import (
    SendItem,
    SendReport,
    check_outbox,
    introduction_bases,
    render_introductions,
    send_outbox,
    write_outbox,
)
from mentorcli.matching.keep_circles import kept_circles
from mentorcli.model import CircleMatch, Ending, MatchResult, PairingBook, Problem, Roster, SurveyAnswer, first_ids
from mentorcli.nudge import NudgeOutcome, nudge_outbox
from mentorcli.report import (
    CohortReport,
    build_report,
    cohort_figures,
    is_checkin_sheet,
    read_checkin_logs,
    read_schedule,
    report_comparison,
    report_summary,
    write_report,
)
from mentorcli.schedule import (
    Schedule,
    ScheduleOutput,
    plan_checkins,
    previous_checkins,
    publish_schedule,
    read_checkins,
)
from mentorcli.signups import (
    SignupCheck,
    check_signups,
    map_file,
    read_signups,
    read_table,
)
from mentorcli.surveys import SurveyRead, question_set, read_surveys, render_questions, summarise
from mentorcli.updates import (
    ChangeFile,
    build_change_messages,
    change_bases,
    change_files,
)
from mentorcli.workbook import (
    PAIRS,
    circle_problems,
    kept_pairs,
    match_problems,
    read_pair_list,
    read_pairing_workbook,
    write_circles_workbook,
    write_pairing_workbook,
    write_pairs_csv,
)

Progress = Callable[[str], None]
ConfigArg = Config | str | Path | None

CALENDAR = Path("calendar")  # where `mentor schedule` writes by default, and later steps look
SMTP_PASSWORD_ENV = "MENTOR_SMTP_PASSWORD"


def _quiet(_text: str) -> None:
    """A progress callback that shows nothing (a Python caller that did not ask)."""


def load_settings(config: ConfigArg = None) -> Config:
    """``mentor.toml`` (or the file named, or a ``Config`` as it is), with its availability windows
    checked before any work, so a window that cannot be read stops the run at once."""
    settings = config if isinstance(config, Config) else load_config(config)
    check_config_windows(settings)
    return settings


# --------------------------------------------------------------------------- init


@dataclass
class InitRun:
    """What ``init`` wrote: the settings file and the ``[columns]`` detected in the signups."""

    path: Path
    columns: dict[str, str] = field(default_factory=dict)
    headers: int = 0  # columns the signup file has
    signups: Path | None = None

    def as_json(self) -> dict[str, Any]:
        return {"written": str(self.path), "columns": dict(self.columns), "headers": self.headers}


def init(signups: str | Path | None = None, *, folder: str | Path | None = None, force: bool = False,
         role: str | None = None, sheet: str | None = None) -> InitRun:
    """Write a commented ``mentor.toml`` into ``folder`` (default: the current one), with every
    setting and its default; with a signup file, ``[columns]`` filled in from its headers."""
    target = Path.cwd() / CONFIG_NAME if folder is None else Path(folder) / CONFIG_NAME
    check_targets([target], force=force)
    run = InitRun(path=target, signups=None if signups is None else Path(signups))
    if run.signups is not None:
        mapping, _role, _why = map_file(read_table(run.signups, sheet=sheet), Config(), role=role)
        run.columns = mapping.as_columns()
        run.headers = len(mapping.columns)
    atomic_write_text(target, render_config_toml(run.columns), force=force)
    return run


# --------------------------------------------------------------------------- check


def check(signups: Sequence[str | Path], *, config: ConfigArg = None, role: str | None = None,
          sheet: str | None = None, progress: Progress | None = None) -> SignupCheck:
    """Read and validate signups: the roster, each file's column mapping and every problem.
    ``as_json()`` is the ``--json`` answer; ``usable`` is False when no row can be used."""
    settings = load_settings(config)
    return check_signups(signups, settings, role=role, sheet=sheet, progress=progress)


# --------------------------------------------------------------------------- match


@dataclass
class MatchRun:
    """Everything ``mentor match`` did, for printing a summary or for a Python caller."""

    roster: Roster
    result: MatchResult
    output: Path
    problems: list[Problem]
    history: HistoryMatch | None = None  # --history: what the earlier cohorts changed

    @property
    def matched_mentees(self) -> int:
        return int(self.result.pairs["mentee"].nunique()) if len(self.result.pairs) else 0

    @property
    def total_mentees(self) -> int:
        return int(self.roster.people["role"].isin(("mentee", "both")).sum())

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` answer: exactly these keys. ``unmatched`` counts the rows of the
        Unmatched sheet: mentees left without a mentor and mentors left with free places.
        ``networks`` (only when a mentee wants two or more mentors): "optimal" or "within X% of
        the best possible", how the developmental networks were solved (``matching.networks``)."""
        return {
            "pairs": len(self.result.pairs),
            "matched_mentees": self.matched_mentees,
            "unmatched": len(self.result.unmatched),
            "total_score": round(float(self.result.total_score), 4),
            "min_score": round(float(self.result.min_score), 4),
            "mean_score": round(float(self.result.mean_score), 4),
            "output": str(self.output),
            **({"networks": self.result.settings["networks.status"]} if "networks.status" in self.result.settings else {}),
        } | ({"history": self.history.as_json()} if self.history else {})


@dataclass
class HistoryMatch:
    """What ``match --history DIR`` took from the earlier cohorts: how many, the earlier pairs
    among these signups (never made again) and who of them took part before."""

    folder: Path
    cohorts: list[str]
    pairs_avoided: int
    took_part_before: int
    participants: int
    notes: list[str] = field(default_factory=list)
    avoid: list[tuple[str, str]] = field(default_factory=list)
    """The earlier pairs both of whose people signed up again: the matcher's avoid list."""

    def as_json(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "earlier_cohorts": self.cohorts, "earlier_pairs_avoided": self.pairs_avoided,
                "took_part_before": self.took_part_before, "participants": self.participants, "notes": self.notes}


def history_for_match(earlier: History, roster: Roster) -> tuple[list[tuple[str, str]], HistoryMatch]:
    """The earlier pairs both of whose people signed up again (the matcher's avoid list; the rest
    could not be repeated anyway and would only be noted as unknown), and the summary."""
    emails = roster.people["email"].tolist()
    present = set(emails)
    pairs = [(a, b) for a, b in earlier.shared_pairs() if a in present and b in present]
    before = earlier.took_part()
    summary = HistoryMatch(folder=earlier.folder, cohorts=[c.label for c in earlier.cohorts], pairs_avoided=len(pairs),
                           took_part_before=sum(1 for email in emails if email in before),
                           participants=len(emails), notes=list(earlier.notes))
    return pairs, summary


OUTPUT_SUFFIXES = (".xlsx", ".csv")


def _kept_pair_problems(book: PairingBook, result: MatchResult) -> list[Problem]:
    """The matcher's word on each kept pair that no longer holds, on that pair's row of the kept
    workbook's Pairs sheet (where the coordinator fixes it)."""
    row_of = dict(zip(book.pairs["pair_id"].astype(str).tolist(), book.pairs["row"].astype(int).tolist()))
    return [Problem(str(book.path), PAIRS, row_of.get(pair_id), column, "error" if severity == "error" else "warning", text)
            for pair_id, column, severity, text in result.kept_problems]


def _rematch_problems(ended: Sequence[Ending], roster: Roster, result: MatchResult, output: Path) -> list[Problem]:
    """A warning (on the new workbook's Ended sheet row) for each person rematched a second time."""
    emails = roster.people["email"].tolist()
    new = result.pairs[~result.pairs["kept"].astype(bool)]
    rematched = [(str(pair_id), str(emails[int(person)])) for pair_id, mentee, mentor in
                 zip(new["pair_id"], new["mentee"], new["mentor"]) for person in (mentee, mentor)]
    return second_rematch_problems(ended, rematched, str(output))


_MATCH_STEPS = {"score": ("Scoring pairs", "mentees"), "solve": ("Solving exactly", "rounds"),
                "explain": ("Explaining pairs", "pairs")}


def _match_progress_text(step: str, done: int, total: int) -> str:
    label, unit = _MATCH_STEPS.get(step, (step.capitalize(), ""))
    return f"{label}: {done:,} of {total:,} {unit}".rstrip()


TESTED_PARTICIPANTS = 100_000  # README, Performance: 100k signups matched in 41-53 s and 1.2 GB on 2 cores
TESTED_SECONDS = 50


def _match_limit(config: Config) -> int:
    limit = config.match.max_participants
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise MentorError("match.max_participants must be a whole number of at least 1",
                          path=config.path or "mentor.toml")
    return limit


def _too_large(count: int, what: str, limit: int, signups: Sequence[str | Path]) -> MentorError:
    """The one line that refuses a cohort: the size counted, the size supported, and why."""
    if count > TESTED_PARTICIPANTS:
        why = (f"tested at {TESTED_PARTICIPANTS:,}: about {TESTED_SECONDS} s and 1.2 GB on 2 cores; the work grows with "
               f"mentees x mentors, so this cohort would take about {(count / TESTED_PARTICIPANTS) ** 2:,.0f}x as long")
    else:
        why = "the limit [match] max_participants in mentor.toml"
    return MentorError(
        f"{count:,} {what}{'' if count == 1 else 's'}: mentor match supports up to {limit:,} participants ({why})",
        path=str(signups[0]) if len(signups) == 1 else None,
        hint="Split the cohort (by region or organisation), or raise [match] max_participants in mentor.toml.",
    )


def check_match_size(participants: int, config: Config, signups: Sequence[str | Path] = ()) -> None:
    """Refuse, before any scoring, a cohort larger than ``[match] max_participants``.

    Scoring and solving grow with mentees x mentors, so a cohort ten times the tested size
    needs about a hundred times the time: better one line now than an hour of work that
    ends in a killed process. The default is the largest size measured; a user who has the
    time and memory can raise it in mentor.toml.
    """
    limit = _match_limit(config)
    if participants > limit:
        raise _too_large(participants, "participant", limit, signups)


def csv_record_count(path: Path, at_most: int) -> int | None:
    """Data records of a CSV (header and blank lines not counted) when they may exceed ``at_most``.

    A cheap upper bound on the participants in the file, read before the signups are: a
    newline ends a record only outside quotes (an even number of ``"`` before it, since an
    escaped quote is two), counted with numpy block by block, so a million rows take about a
    second where the csv module takes ten. A line of at most one character between two record
    ends is a blank line. ``None`` when the file is no regular ``.csv`` file, or has no more
    lines than ``at_most`` (nothing to count): the full read judges it.
    """
    try:
        if not path.is_file() or path.suffix.lower() != ".csv":
            return None
        with path.open("rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))
        if lines <= at_most:
            return None
        return max(_record_ends(path) - 1, 0)
    except OSError:
        return None


def _record_ends(path: Path) -> int:
    """Records of a CSV that hold something: newlines outside quotes, blank lines left out."""
    quotes_before = 0
    previous_end = -1  # the file's start acts as a record end, so a blank first line is not a record
    offset = 0
    records = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            data = np.frombuffer(block, np.uint8)
            quotes = np.flatnonzero(data == ord('"'))
            newlines = np.flatnonzero(data == ord("\n"))
            outside = newlines[(quotes_before + np.searchsorted(quotes, newlines)) % 2 == 0] + offset
            gaps = np.diff(np.concatenate(([previous_end], outside)))
            records += int(np.count_nonzero(gaps > 2))
            if len(outside):
                previous_end = int(outside[-1])
            quotes_before += len(quotes)
            offset += len(block)
        handle.seek(max(previous_end + 1, 0))
        if any(block.strip() for block in iter(lambda: handle.read(1 << 24), b"")):
            records += 1  # the last record, without a newline after it
    return records


def check_signup_rows(signups: Sequence[str | Path], config: Config) -> None:
    """Refuse at once, before reading them, CSV signups with more records than match supports.

    Every participant is one record, so the record count bounds the participants from
    above; reading a million rows takes the better part of a minute, counting them seconds.
    """
    limit = _match_limit(config)
    total = 0
    for path in signups:
        records = csv_record_count(Path(path), limit)
        total += records or 0
    if total > limit:
        raise _too_large(total, "signup row", limit, signups)


def _read_roster(signups: Sequence[str | Path], settings: Config, role: str | None, sheet: str | None,
                 earlier: History | None, say: Progress) -> tuple[Roster, HistoryMatch | None]:
    """The signups read and checked for size, for pairs and circles alike; with ``--history`` the
    earlier cohorts' problems join the signup problems and ``HistoryMatch.avoid`` lists the earlier pairs."""
    check_signup_rows(signups, settings)
    say("Reading signups")
    roster = read_signups([Path(p) for p in signups], settings, role=role, sheet=sheet, progress=say)
    check_match_size(len(roster.people), settings, signups)
    if earlier is None:
        return roster, None
    earlier_pairs, history_run = history_for_match(earlier, roster)
    history_run.avoid = earlier_pairs
    roster.problems = [*roster.problems, *earlier.problems]
    return roster, history_run


def _roster_and_avoid(signups: Sequence[str | Path], settings: Config, *, role: str | None, sheet: str | None,
                      keep: str | Path | None, keep_book: PairingBook | None, avoid_pairs: Sequence[str | Path],
                      history: str | Path | None, output: Path,
                      say: Progress) -> tuple[Roster, list[tuple[str, str]], History | None, HistoryMatch | None]:
    """The signups read, and who may not be put together, for pairs and circles alike: the
    ``--avoid-pairs`` files, the people of every relationship ended in the kept workbook, and with
    ``--history`` everyone who shared a relationship in an earlier cohort. What no longer holds in
    the kept workbook joins the signup problems."""
    avoid: list[tuple[str, str]] = []
    for pair_file in avoid_pairs:
        avoid += read_pair_list(pair_file)
    avoid += ending_avoid_pairs(keep_book.ended if keep_book else [])
    earlier = read_history(history, settings, exclude=[output, *([keep] if keep else [])]) if history is not None else None
    roster, history_run = _read_roster(signups, settings, role, sheet, earlier, say)
    if history_run is not None:
        avoid += history_run.avoid
    if keep_book:
        roster.problems = [*roster.problems, *keep_book.problems]
    return roster, avoid, earlier, history_run


def _earlier_cells(earlier: History | None, roster: Roster) -> list[str] | None:
    """The People sheet's Earlier Cohorts column with ``--history``; None (no column) without it."""
    return None if earlier is None else earlier_cohort_cells(earlier, roster.people["email"].tolist())


def match(
    signups: Sequence[str | Path],
    *,
    config: ConfigArg = None,
    output: str | Path = "pairs.xlsx",
    force: bool = False,
    role: str | None = None,
    sheet: str | None = None,
    keep: str | Path | None = None,
    avoid_pairs: Sequence[str | Path] = (),
    objective: str | None = None,
    export_scores: str | Path | None = None,
    history: str | Path | None = None,
    progress: Progress | None = None,
    circles: int | None = None,
    peer_circles: int | None = None,
) -> MatchRun | CircleRun:
    """Read signups, match, write the workbook (or pairs CSV): ``mentor match`` as one call.

    Every output target is checked before the slow work starts, so a refused overwrite costs
    nothing. ``progress`` receives a short line of text as the work advances (for a display).
    ``circles`` / ``peer_circles`` (one at most): form circles instead of pairs (``CircleRun``).
    ``history``: a folder of earlier cohorts' workbooks (``history.read_history``): nobody is
    paired with someone they shared a relationship with there, and the People sheet says who
    took part before.
    """
    if circles is not None or peer_circles is not None:
        return _match_circles(signups, config=config, output=output, force=force, role=role, sheet=sheet,
                              keep=keep, avoid_pairs=avoid_pairs, objective=objective, export_scores=export_scores,
                              progress=progress, circles=circles, peer_circles=peer_circles, history=history)
    settings = load_settings(config)
    say = progress or _quiet
    output = Path(output)
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise MentorError(f"cannot write {output.suffix or 'a file without suffix'}", path=output,
                          hint="Name the output .xlsx (the pairing workbook) or .csv (the Pairs sheet only).")
    targets = [output] + ([Path(export_scores)] if export_scores else [])
    if len({t.resolve() for t in targets}) < len(targets):
        raise MentorError("--export-scores and -o name the same file", path=output)
    check_targets(targets, force=force)
    keep_book = read_pairing_workbook(keep, settings, check_rules=False) if keep else None
    if keep_book is not None and keep_book.circles:
        raise MentorError("holds circles, not pairs: --keep without --circles keeps pairs", path=keep,
                          hint=f"Keep its circles with --{'peer-' if _kept_kind(keep_book) == 'peer' else ''}circles N, "
                               "or give --keep a pairs workbook.")
    keep_triples = kept_pairs(keep_book) if keep_book else []
    ended = keep_book.ended if keep_book else []
    roster, avoid, earlier, history_run = _roster_and_avoid(signups, settings, role=role, sheet=sheet, keep=keep,
                                                            keep_book=keep_book, avoid_pairs=avoid_pairs,
                                                            history=history, output=output, say=say)
    say("Scoring pairs")
    result = matching.match_people(roster.people, settings, keep=keep_triples, avoid_pairs=avoid, objective=objective,
                                   progress=lambda step, done, total: say(_match_progress_text(step, done, total)),
                                   priority=left_alone(keep_book) if keep_book else (),
                                   reserved_ids=[e.relationship.id for e in ended])
    if keep_book:
        roster.problems = [*roster.problems, *_kept_pair_problems(keep_book, result)]
    if ended:
        roster.problems = [*roster.problems, *_rematch_problems(ended, roster, result, output)]
    if export_scores:
        say("Writing every allowed pair's score")
        matching.export_scores(roster.people, settings, export_scores, force=force, avoid_pairs=avoid,
                               keep=keep_triples, objective=objective)
    say("Writing the pairs")
    if output.suffix.lower() == ".csv":
        write_pairs_csv(output, roster, result, force=force)
    else:
        write_pairing_workbook(output, roster, result, settings, force=force, ended=ended,
                               earlier_cohorts=_earlier_cells(earlier, roster))
    return MatchRun(roster=roster, result=result, output=output, problems=[*roster.problems, *match_problems(result)],
                    history=history_run)


# --------------------------------------------------------------------------- match: circles


@dataclass
class CircleRun:
    """Everything ``mentor match --circles N`` / ``--peer-circles N`` did."""

    roster: Roster
    result: CircleMatch
    output: Path
    problems: list[Problem]
    history: HistoryMatch | None = None  # --history: what the earlier cohorts changed

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` answer: circles formed, people placed and left out, the solution's status and gap
        (``kept_circles``: with ``--keep``, how many circles of the kept workbook stayed;
        ``lowest_score``: with ``--objective fair``, the lowest member score of the circles formed)."""
        settings = self.result.settings
        return {
            "circles": len(self.result.circles),
            "kind": self.result.kind,
            "placed": int(settings.get("places", 0)),
            "unmatched": len(self.result.unmatched),
            "status": self.result.status,
            "gap_percent": settings.get("gap_percent", 0.0),
            "total_score": settings.get("total_score", 0.0),
            "output": str(self.output),
        } | ({"kept_circles": settings["kept_circles"]} if "kept_circles" in settings else {}) \
            | ({"lowest_score": settings["lowest_score"]} if "lowest_score" in settings else {}) \
            | ({"history": self.history.as_json()} if self.history else {})


_CIRCLE_STEPS = {"price": "Pricing circles: round {done:,} (at most {total:,})", "search": "Choosing the circles"}


def _circle_progress_text(step: str, done: int, total: int) -> str:
    return _CIRCLE_STEPS.get(step, step.capitalize()).format(done=done, total=total)


def _refuse_with_circles(output: Path, circles: int | None, peer_circles: int | None) -> None:
    """Options that have no meaning for circles are refused, never silently ignored."""
    if circles is not None and peer_circles is not None:
        raise MentorError("--circles and --peer-circles cannot be used together",
                          hint="Form mentor-led circles or peer circles, one per run.")
    if output.suffix.lower() != ".xlsx":
        raise MentorError("circles are written to a workbook", path=output, hint="Name the output .xlsx.")


def _match_circles(signups: Sequence[str | Path], *, config: ConfigArg, output: str | Path, force: bool,
                   role: str | None, sheet: str | None, keep: str | Path | None, avoid_pairs: Sequence[str | Path],
                   objective: str | None, export_scores: str | Path | None, progress: Progress | None,
                   circles: int | None, peer_circles: int | None, history: str | Path | None = None) -> CircleRun:
    """``mentor match --circles N`` / ``--peer-circles N``: read signups, form circles, write the workbook.

    ``history``: as for pairs, nobody shares a circle with someone they shared a relationship
    (pair or circle) with in an earlier cohort, and the People sheet says who took part before."""
    settings = load_settings(config)
    say = progress or _quiet
    output = Path(output)
    _refuse_with_circles(output, circles, peer_circles)
    targets = [output] + ([Path(export_scores)] if export_scores else [])
    if len({t.resolve() for t in targets}) < len(targets):
        raise MentorError("--export-scores and -o name the same file", path=output)
    check_targets(targets, force=force)
    kind, size = ("mentor-led", circles) if circles is not None else ("peer", peer_circles)
    assert size is not None
    keep_book = _kept_circles_book(keep, settings, kind) if keep else None
    ended = keep_book.ended if keep_book else []
    roster, avoid, earlier, history_run = _roster_and_avoid(signups, settings, role=role, sheet=sheet, keep=keep,
                                                            keep_book=keep_book, avoid_pairs=avoid_pairs,
                                                            history=history, output=output, say=say)
    say("Forming circles")
    result = matching.match_circles(
        roster.people, settings, size=int(size), kind=kind, avoid_pairs=avoid,
        keep=kept_circles(keep_book) if keep_book else [], keep_file=str(keep or ""),
        priority=left_alone(keep_book) if keep_book else (), reserved_ids=[e.relationship.id for e in ended],
        progress=lambda step, done, total: say(_circle_progress_text(step, done, total)), objective=objective)
    if ended:
        roster.problems = [*roster.problems, *_circle_rematch_problems(ended, keep_book, result, output)]
    if export_scores:
        say("Writing every allowed lead and member's score")
        matching.export_circle_scores(roster.people, settings, export_scores, force=force, size=int(size), kind=kind,
                                      keep=kept_circles(keep_book) if keep_book else [], avoid_pairs=avoid)
    say("Writing the circles")
    write_circles_workbook(output, roster, result, settings, force=force, ended=ended,
                           earlier_cohorts=_earlier_cells(earlier, roster))
    return CircleRun(roster=roster, result=result, output=output, problems=[*roster.problems, *circle_problems(result)],
                     history=history_run)


def _kept_kind(book: PairingBook) -> str:
    """The kind of circles a circles workbook holds: its Settings' ``Circles``, else its leads' role."""
    said = book.settings.get("Circles", "").strip().lower()
    if said in ("mentor-led", "peer"):
        return said
    roles = set(book.pairs["mentor_role"].astype(str)) if "mentor_role" in book.pairs.columns else set()
    return "peer" if roles == {"facilitator"} else "mentor-led"


def _kept_circles_book(keep: str | Path, settings: Config, kind: str) -> PairingBook:
    """The workbook ``--keep`` names with ``--circles`` / ``--peer-circles``: a circles workbook of
    that kind, or one line that says what it holds instead."""
    book = read_pairing_workbook(keep, settings, check_rules=False)
    option = "--circles N" if kind == "mentor-led" else "--peer-circles N"
    if not book.circles:
        raise MentorError(f"holds pairs, not circles: {option} --keep keeps circles", path=keep,
                          hint="Keep its pairs without --circles, or give --keep a circles workbook.")
    held = _kept_kind(book)
    if held != kind:
        raise MentorError(f"holds {held} circles: {option} --keep keeps {kind} circles", path=keep,
                          hint=f"Use --{'peer-' if held == 'peer' else ''}circles N with this workbook.")
    return book


def _circle_rematch_problems(ended: Sequence[Ending], keep_book: PairingBook | None, result: CircleMatch,
                             output: Path) -> list[Problem]:
    """A warning (on the new workbook's Ended sheet row) for each person placed anew (a new circle,
    or newly joined a kept one) who ended two or more relationships."""
    before: set[tuple[str, str]] = set()
    if keep_book is not None:
        ids = keep_book.pairs["pair_id"].astype(str).tolist()
        for side in ("mentee_email", "mentor_email"):
            before.update(zip(ids, keep_book.pairs[side].astype(str).tolist()))
    placed = [(circle.id, member.email) for circle in result.circles for member in circle.members
              if (circle.id, member.email) not in before]
    return second_rematch_problems(ended, placed, str(output))


# --------------------------------------------------------------------------- schedule


@dataclass
class ScheduleRun:
    """What ``mentor schedule`` planned and wrote."""

    book: PairingBook
    plan: Schedule
    output: ScheduleOutput
    out: Path

    @property
    def written(self) -> list[Path]:
        return self.output.written

    @property
    def problems(self) -> list[Problem]:
        """What no longer holds in the workbook, then what the planner could not place."""
        return [*self.book.problems, *self.plan.problems]

    def as_json(self) -> dict[str, Any]:
        return {
            **self.plan.summary(),
            "pairs_in_workbook": len(self.book.pairs),
            "out": str(self.out),
            "files": [str(p) for p in self.written],
            "notes": self.plan.notes,
            "carried_over": self.output.carried_summary(),
            "changes": self.output.changes_summary(),
            "problems": [p.as_dict() for p in self.problems],
        }


def schedule(pairs: str | Path, *, config: ConfigArg = None, start: dt.date | None = None, months: int | None = None,
             out: str | Path = CALENDAR, force: bool = False, progress: Progress | None = None) -> ScheduleRun:
    """Plan every pair's check-ins and write the calendars (.ics) and ``checkins.xlsx`` into ``out``.

    A rerun keeps each pair's earlier pattern while it is as good, carries the logged check-ins
    over and writes the changes that ``introduce(updates=True)`` turns into emails."""
    settings = load_settings(config)
    say = progress or _quiet
    out = Path(out)
    book = read_pairing_workbook(pairs, settings)
    say("Planning check-ins")
    with worker_stops("planning the check-ins", pairs):
        plan = plan_checkins(book, settings, start=start, months=months, previous=previous_checkins(out))
    say("Writing calendars")
    output = publish_schedule(plan, book, settings, out, force=force)
    return ScheduleRun(book=book, plan=plan, output=output, out=out)


# --------------------------------------------------------------------------- introduce


@dataclass
class IntroduceRun:
    """The drafts ``mentor introduce`` wrote: introductions, or (``updates``) one email per changed
    or cancelled series of the last reschedule."""

    book: PairingBook
    out: Path
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    updates: bool = False
    calendar: Path = CALENDAR
    changes: list[ChangeFile] = field(default_factory=list)

    def count(self, kind: str) -> int:
        """Change files of this kind (``update`` or ``cancel``)."""
        return sum(1 for change in self.changes if change.kind == kind)

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "kind": "updates" if self.updates else "introductions",
            "drafts": len(self.written),
            "out": str(self.out),
            "files": [str(p) for p in self.written],
            "notes": self.notes,
            "problems": [p.as_dict() for p in self.book.problems],
        }
        if self.updates:
            answer |= {"updated": self.count("update"), "cancelled": self.count("cancel")}
        return answer


def calendar_checkins(calendar: str | Path | None) -> Any:
    """The rows of the check-in sheet of ``calendar`` (default ``calendar/``; ``read_checkins``'s
    DataFrame), or None when the default folder has none: introductions then go without
    check-ins. A folder named but without the sheet is an error."""
    folder = CALENDAR if calendar is None else Path(calendar)
    sheet = folder / "checkins.xlsx"
    if sheet.is_file():
        return read_checkins(sheet)
    if calendar is not None:
        raise MentorError("no checkins.xlsx in this folder", path=folder, hint="Run mentor schedule first, or leave out --calendar.")
    return None


def introduce(pairs: str | Path, *, config: ConfigArg = None, calendar: str | Path | None = None,
              out: str | Path = "outbox", updates: bool = False, force: bool = False) -> IntroduceRun:
    """One introduction ``.eml`` draft per pair, its check-ins attached as an invitation; with
    ``updates``, a draft per file of ``calendar/changes/`` instead, to that pair only.

    Every draft's name is checked against the outbox (and its ``sent/``) before any is rendered."""
    settings = load_settings(config)
    book = read_pairing_workbook(pairs, settings)
    checkins = calendar_checkins(calendar)
    run = IntroduceRun(book=book, out=Path(out), updates=updates, calendar=CALENDAR if calendar is None else Path(calendar))
    if updates:
        run.changes = change_files(run.calendar)
        if run.changes:
            check_outbox(change_bases(run.changes), run.out, force=force)
            run.written = write_outbox(build_change_messages(book, checkins, settings, run.changes), run.out, force=force)
        return run
    check_outbox(introduction_bases(book), run.out, force=force)
    intros = render_introductions(book, checkins, settings)
    run.notes = intros.notes
    run.written = write_outbox(intros.messages, run.out, force=force)
    return run


# --------------------------------------------------------------------------- report


@dataclass
class ReportRun:
    """The progress report ``mentor report`` built and wrote."""

    book: PairingBook
    report: CohortReport
    written: list[Path]
    out: Path
    schedule_added: Path | None = None  # the calendar's checkins.xlsx, read beside the logs given
    without_schedule: bool = False  # no check-in schedule at all: nothing counted as missed
    closing: ClosingReport | None = None  # `report --final`: the closing report written instead
    history: History | None = None  # --history: the earlier cohorts compared

    def comparison(self) -> dict[str, Any] | None:
        """The table across cohorts the sponsor sees (``report.cohort_comparison``); None without history."""
        return report_comparison(self.report)

    def as_json(self) -> dict[str, Any]:
        if self.closing is not None:
            return closing_summary(self.closing) | {"written": [str(p) for p in self.written]}
        earlier = {} if self.history is None else {"history": {
            "folder": str(self.history.folder), "earlier_cohorts": [c.label for c in self.history.cohorts],
            "notes": self.history.notes}}
        workbook = {"workbook_problems": [p.as_dict() for p in self.book.problems]} if self.book.problems else {}
        return report_summary(self.report) | earlier | workbook | {"written": [str(p) for p in self.written]}


@dataclass
class ReportLogs:
    """The files ``report`` reads as check-in logs, and where its schedule came from."""

    paths: list[Path]
    added: Path | None = None  # the calendar folder's checkins.xlsx, read beside the logs given
    has_schedule: bool = False  # a check-in sheet is among ``paths``: missed check-ins can be counted


def report_logs(logs: Sequence[str | Path], calendar: str | Path | None) -> ReportLogs:
    """The logs to read: as given, plus the calendar folder's ``checkins.xlsx`` when no check-in
    sheet is among them (it is the schedule, and its Held column is a log too). A calendar
    folder named but without the sheet is an error; none at all, only logged check-ins count."""
    paths = [Path(p) for p in logs]
    for path in paths:
        if not path.is_file():
            raise MentorError("check-in log not found", path=path, hint="Check the file name.")
    if any(is_checkin_sheet(path) for path in paths):
        return ReportLogs(paths, has_schedule=True)
    folder = CALENDAR if calendar is None else Path(calendar)
    sheet = folder / "checkins.xlsx"
    if sheet.is_file():
        return ReportLogs([*paths, sheet], added=sheet, has_schedule=True)
    if calendar is not None:
        raise MentorError("no checkins.xlsx in this folder", path=folder,
                          hint="Run mentor schedule first, or leave out --calendar.")
    return ReportLogs(paths)


def report(pairs: str | Path, logs: Sequence[str | Path], *, config: ConfigArg = None, as_of: dt.date | None = None,
           out: str | Path = "reports", calendar: str | Path | None = None, force: bool = False,
           history: str | Path | None = None, progress: Progress | None = None, surveys: Sequence[str | Path] = (),
           survey_kind: str | None = None, final: bool = False, outbox: str | Path | None = None) -> ReportRun:
    """``cohort.html``, ``cohort.xlsx``, one email per participant and a sponsor summary, as of
    ``as_of`` (default today). ``progress`` receives the stage: ``logs``, ``build``, then
    ``write_report``'s ``html``, ``xlsx``, ``emails``, ``write`` (``surveys`` first when given).
    ``history``: a folder of earlier cohorts' workbooks: the summaries compare this cohort with
    them (counts only). ``surveys``: survey form exports (``surveys.read_surveys``; ``survey_kind``
    for all of them instead of detecting it): their figures join the report, their problems its
    Problems. With ``final``, the closing report instead (``final_report``); ``outbox`` goes with it."""
    settings = load_settings(config)
    say = progress or _quiet
    out = Path(out)
    if outbox is not None and not final:
        raise MentorError("--outbox goes with --final", hint="The progress report writes its drafts to OUT/outbox.")
    if history is not None and final:
        raise MentorError("--history goes with the progress report, not --final",
                          hint="Run mentor report --history DIR for the comparison across cohorts.")
    book = read_pairing_workbook(pairs, settings)
    survey_read = report_surveys(surveys, book, settings, survey_kind, say)
    survey_problems = survey_read.problems if survey_read else []
    if final:
        return final_report(book, logs, settings, as_of=as_of or dt.date.today(), out=out, outbox=outbox,
                            calendar=calendar, force=force, surveys=survey_read.answers if survey_read else (),
                            survey_problems=survey_problems, progress=say)
    earlier = read_history(history, settings, exclude=[pairs]) if history is not None else None
    say("logs")
    found = report_logs(logs, calendar)
    schedule = read_schedule(found.paths)
    log_rows, problems = read_checkin_logs(found.paths, book, settings, schedule=schedule)
    problems = [*problems, *survey_problems]
    say("build")
    cohort = build_report(book, schedule, log_rows, settings, as_of=as_of or dt.date.today(), problems=problems)
    if survey_read is not None:
        cohort.surveys = summarise(survey_read.answers, cohort.relationships, people=book.people,
                                   group_by=settings.report.group_by, min_group_size=settings.report.min_group_size)
    if earlier is not None:
        this_cohort = cohort_figures(book, cohort.totals, label=settings.cohort.name, when=cohort_month(book.path),
                                     current=True)
        cohort.cohorts = [*earlier_figures(earlier, settings, as_of=cohort.as_of), this_cohort]
    written = write_report(cohort, book, settings, out, force=force, on_stage=say)
    return ReportRun(book=book, report=cohort, written=written, out=out, schedule_added=found.added,
                     without_schedule=not found.has_schedule, history=earlier)


# --------------------------------------------------------------------------- end


def end(pairs: str | Path, relationship_id: str, *, reason: str, on: dt.date | None = None,
        config: ConfigArg = None) -> EndResult:
    """``mentor end``: end one relationship (a pair, or a mentor with several mentees) on ``on``
    (default today) for ``reason``, in the workbook itself: its Pairs rows emptied, its members
    written to the Ended sheet, every other part of the file kept as it was, a backup beside it.
    The next ``schedule`` cancels its check-ins after ``on``; ``match --keep`` rematches its people."""
    settings = load_settings(config)
    book = read_pairing_workbook(pairs, settings, check_rules=False)
    return end_relationship(book, relationship_id, reason, on or dt.date.today())


# --------------------------------------------------------------------------- nudge


@dataclass
class NudgeRun:
    """The reminders and the coordinator's digest ``mentor nudge`` wrote, and why others were not written."""

    book: PairingBook
    outcome: NudgeOutcome
    out: Path
    problems: list[Problem] = field(default_factory=list)
    without_schedule: bool = False  # no checkins.xlsx: missed check-ins cannot be counted

    @property
    def nothing_new(self) -> bool:
        return not self.outcome.written

    def notes(self) -> list[str]:
        """What the coordinator should know, in plain words (relationship ids only, no personal data)."""
        plan, notes = self.outcome.plan, []
        if self.without_schedule:
            notes.append("no check-in schedule (checkins.xlsx) given: missed check-ins cannot be counted, "
                         "only first meetings")
        if self.outcome.unsent:
            notes.append(f"{len(self.outcome.unsent)} reminder draft(s) of an earlier run are still in {self.out} "
                         f"({first_ids(self.outcome.unsent, 3)}): mentor send delivers them with the new ones; "
                         "delete any you do not want sent")
        if plan.not_introduced:
            notes.append(f"{len(plan.not_introduced)} relationship(s) never met and have no introduction date "
                         f"({first_ids(plan.not_introduced)}): {self.outcome.introductions.source} records no introduction "
                         "sent to them, so they are not reminded (send their introductions first, or pass "
                         "--introduced DATE if they were introduced another way)")
        return notes

    def as_json(self) -> dict[str, Any]:
        plan = self.outcome.plan
        return {
            "as_of": plan.as_of.isoformat(),
            "out": str(self.out),
            "log": str(self.outcome.log),
            "introduced_from": self.outcome.introductions.source,
            "written": [item.as_dict() for item in self.outcome.written],
            "reminded": [{"id": due.relationship.id, "kind": due.kind} for due in plan.reminders],
            "escalated": [due.relationship.id for due in plan.escalations],
            "waiting": [{"id": item.relationship, "kind": item.kind, "last": item.last.isoformat(),
                         "again_from": item.again.isoformat()} for item in plan.waiting],
            "not_introduced": list(plan.not_introduced),
            "ended": list(plan.ended),
            "unsent_earlier": list(self.outcome.unsent),
            "nothing_new": self.nothing_new,
            "notes": self.notes(),
            "problems": [p.as_dict() for p in self.problems],
        }


def nudge(pairs: str | Path, logs: Sequence[str | Path], *, config: ConfigArg = None, as_of: dt.date | None = None,
          out: str | Path = "outbox", introduced: dt.date | None = None, calendar: str | Path | None = None,
          force: bool = False, progress: Progress | None = None) -> NudgeRun:
    """Reminders to the relationships that have not met or have missed check-ins, and one digest to
    the coordinator of those silent for ``[nudge] escalate_days``, as ``.eml`` drafts in ``out``
    (``mentorcli.nudge``). The logs are read as ``report`` reads them; ``introduced`` is the day the
    introductions went out (default: each one's day in ``out/sent/sent.log``). A rerun writes only
    what ``out/nudges.csv`` does not already record inside ``[nudge] interval_days``."""
    settings = load_settings(config)
    say = progress or _quiet
    book = read_pairing_workbook(pairs, settings)
    say("logs")
    found = report_logs(logs, calendar)
    schedule = read_schedule(found.paths)
    log_rows, problems = read_checkin_logs(found.paths, book, settings, schedule=schedule)
    day = as_of or dt.date.today()
    standing = build_report(book, schedule, log_rows, settings, as_of=day, problems=problems)
    say("write")
    outcome = nudge_outbox(book, standing, settings, Path(out), introduced=introduced, force=force)
    return NudgeRun(book=book, outcome=outcome, out=Path(out), problems=[*book.problems, *standing.problems],
                    without_schedule=not found.has_schedule)


def report_surveys(paths: Sequence[str | Path], book: PairingBook, settings: Config, kind: str | None,
                   say: Progress) -> SurveyRead | None:
    """The survey exports ``report --surveys`` names, read against the workbook; None when none."""
    if not paths:
        return None
    say("surveys")
    return read_surveys(paths, book, settings, kind=kind)


# --------------------------------------------------------------------------- survey questions


@dataclass
class SurveyQuestionsRun:
    """A survey's question set as ``mentor survey questions`` prints (or writes) it."""

    kind: str
    text: str
    written: Path | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "written": None if self.written is None else str(self.written)}


def survey_questions(kind: str, *, config: ConfigArg = None, out: str | Path | None = None,
                     force: bool = False) -> SurveyQuestionsRun:
    """The question set of the ``kind`` survey (pulse, midpoint, closing) as text to paste into
    Google Forms or Microsoft Forms; written to ``out`` when given. The cohort's own
    ``templates/surveys/<kind>.toml`` replaces the shipped one."""
    settings = load_settings(config)
    text = render_questions(question_set(kind, settings.folder / "templates"))
    written = atomic_write_text(out, text, force=force) if out is not None else None
    return SurveyQuestionsRun(kind=kind, text=text, written=written)


def final_report(book: PairingBook, logs: Sequence[str | Path], settings: Config, *, as_of: dt.date,
                 out: Path, outbox: str | Path | None = None, calendar: str | Path | None = None,
                 force: bool = False, surveys: Sequence[SurveyAnswer] = (),
                 survey_problems: Sequence[Problem] = (), progress: Progress | None = None) -> ReportRun:
    """``mentor report --final``: ``closing.html``, ``closing.xlsx``, a thank-you draft per participant
    and the sponsors' closing summary (``closing.py``), from the same logs as the progress report,
    with the workbook's ended relationships counted up to their end date. ``surveys``: the survey
    answers read back (none until a survey export is given)."""
    say = progress or _quiet
    say("logs")
    found = report_logs(logs, calendar)
    schedule = read_schedule(found.paths)
    log_rows, problems = read_checkin_logs(found.paths, closing_book(book), settings, schedule=schedule)
    problems = [*problems, *survey_problems]
    say("build")
    closing = build_closing(book, schedule, log_rows, settings, as_of=as_of, surveys=surveys, problems=problems)
    say("write")
    written = write_closing(closing, settings, out, book_path=book.path, outbox=outbox, force=force)
    return ReportRun(book=book, report=closing.cohort, written=written, out=out, schedule_added=found.added,
                     without_schedule=not found.has_schedule, closing=closing)


# --------------------------------------------------------------------------- send


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def unencrypted_login(host: str, user: str | None, starttls: bool, dry_run: bool) -> bool:
    """True when a password would cross the network in clear (a login without STARTTLS, off this machine)."""
    return bool(user) and not starttls and not dry_run and host not in LOCAL_HOSTS


def smtp_port(port: int | None, starttls: bool) -> int:
    """The port named, else the submission port (587) for STARTTLS and plain SMTP's 25."""
    return port or (587 if starttls else 25)


def smtp_password(user: str | None, dry_run: bool = False) -> str | None:
    """The login password: from the environment's ``MENTOR_SMTP_PASSWORD``, never a command-line
    value (which other users of the machine can read). A login without one is refused at once."""
    if not user:
        return None
    password = os.environ.get(SMTP_PASSWORD_ENV)
    if not password and not dry_run:
        raise MentorError(f"--user needs the password in the environment variable {SMTP_PASSWORD_ENV}",
                          hint=f"Set it first, e.g. read -s {SMTP_PASSWORD_ENV}; export {SMTP_PASSWORD_ENV}.")
    return password


def send(outbox: str | Path, *, host: str = "localhost", port: int | None = None, starttls: bool = False,
         user: str | None = None, password: str | None = None, dry_run: bool = False, timeout: float = 30,
         resend_unsure: bool = False, progress: Callable[[SendItem], None] | None = None) -> SendReport:
    """Send every finished ``.eml`` draft in ``outbox`` over one SMTP session (port 587 with
    ``starttls``, else 25, unless given); each sent file moves to ``outbox/sent/``, so a rerun
    sends nothing twice. With ``user`` and no ``password``, ``smtp_password`` supplies it."""
    if user and not password:
        password = smtp_password(user, dry_run)
    return send_outbox(Path(outbox), host=host, port=smtp_port(port, starttls), starttls=starttls,
                       user=user, password=password if user else None, dry_run=dry_run, timeout=timeout,
                       progress=progress, resend_unsure=resend_unsure)

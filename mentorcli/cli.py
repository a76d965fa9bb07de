"""The ``mentor`` command: parses options, calls one ``mentorcli.pipeline`` step, prints its result.

Messages and progress go to stderr (rich); data and ``--json`` go to stdout. A
``MentorError`` becomes one readable line and exit code 1; a wrong command line exits 2.
"""

from __future__ import annotations

import datetime
import enum
import functools
import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from mentorcli import __version__
from mentorcli.errors import MentorError
from mentorcli.files import os_failure
from mentorcli.untrusted import BIDI_CONTROLS, visible

if TYPE_CHECKING:
    from mentorcli import pipeline
    from mentorcli.mail import SendItem
    from mentorcli.model import Problem
    from mentorcli.signups import FileReport, SignupCheck


def lazy_module(name: str) -> Any:
    """``name``, imported on its first attribute access (the importlib documentation's recipe)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if not TYPE_CHECKING:
    # The one deferred import: `mentor --help` and `--version` need nothing of the pipeline,
    # which loads numpy, pandas, scipy and every stage. Measured 2026-12-06, 5 runs each, user CPU
    # seconds (wall on the shared 2 cores in brackets): with `from mentorcli import pipeline` at
    # the top, --help 1.34-1.71 s (4.6-6.6 s), --version 1.22-1.51 s (4.4-5.3 s); deferred, --help
    # 0.19-0.26 s (0.8-1.2 s), --version 0.20-0.28 s (0.8-1.1 s); at load 2, deferred --help
    # 0.18-0.25 s wall. `python -X importtime`: mentorcli.cli 2.8-3.9 s cumulative vs 0.17-0.31 s.
    pipeline = lazy_module("mentorcli.pipeline")

err = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="mentor",
    help="Run a mentoring cohort from spreadsheets: check signups, pair exactly, schedule check-ins, report by email.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", metavar="FILE", help="Settings file (default: mentor.toml in the current folder, if any)."),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace existing output files (the old file is kept as a .bak backup).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
PairsArgument = Annotated[
    Path, typer.Argument(metavar="PAIRS.XLSX", readable=False, help="The pairing workbook written by `mentor match`."),
]
LogsArgument = Annotated[
    list[Path],
    typer.Argument(metavar="LOGS", readable=False,
                   help="Check-in logs: the filled checkins.xlsx and/or check-in form exports (.csv/.xlsx)."),
]


class SurveyKindChoice(str, enum.Enum):
    """The surveys (``model.SurveyKind``), as a choice typer lists in --help."""

    pulse = "pulse"
    midpoint = "midpoint"
    closing = "closing"


def friendly_errors(command: Callable) -> Callable:
    """Turn ``MentorError`` (and any other failure) into one line on stderr and exit 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MentorError as exc:
            err.print(f"[bold red]Error:[/] {escape(str(exc))}")
            raise typer.Exit(1) from None
        except OSError as exc:  # the machine, not a bug: disk full, read-only folder, no permission
            err.print(f"[bold red]Error:[/] {escape(str(os_failure(exc)))}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("[yellow]Interrupted: no output file was left half-written.[/]")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug, not bad input: still no traceback unless asked
            if os.environ.get("MENTOR_DEBUG"):
                raise
            err.print(
                f"[bold red]Error:[/] unexpected {type(exc).__name__}: {escape(str(exc))[:300]}. "
                "Please report this; rerun with MENTOR_DEBUG=1 to see the details."
            )
            raise typer.Exit(1) from None

    return wrapper


def escape(text: str) -> str:
    """Untrusted text for the terminal: control characters shown, never obeyed; never rich markup."""
    return rich_escape(visible(text))


_JSON_UNSAFE = re.compile("[\x7f-\x9f" + BIDI_CONTROLS + "]")


def print_json(data: Any) -> None:
    """``data`` as JSON on stdout. JSON escapes C0 controls itself; C1 controls and bidi overrides
    are escaped here too (inside strings, the only place they can be), so a terminal shows them."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"mentor {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Run a mentoring cohort from spreadsheets.

    Example: mentor match examples/signups.xlsx -o pairs.xlsx
    """


# === commands: init, check ===

MAX_PROBLEMS_SHOWN = 40


def _role_option(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if value not in ("mentor", "mentee", "both"):
        raise typer.BadParameter("choose mentor, mentee or both")
    return value


RoleOption = Annotated[str | None, typer.Option("--role", metavar="ROLE", callback=_role_option, help="Role of everyone in files without a role column: mentor, mentee or both.")]
SheetOption = Annotated[str | None, typer.Option("--sheet", metavar="SHEET", help="Sheet to read in workbooks: its name or number (default: the first).")]


def _mapping_table(report: FileReport) -> Table:
    """One file's columns: the field each became, or why not (and what it resembles)."""
    table = Table(title=None, show_lines=False, pad_edge=False, expand=False)
    table.add_column("Column", overflow="fold", max_width=60)
    table.add_column("Field", style="bold green")
    table.add_column("Note", style="dim", overflow="fold", max_width=70)
    for column in report.mapping.columns:
        header = column.header if len(column.header) <= 120 else column.header[:117] + "..."
        table.add_row(escape(header), escape(column.field or ""), escape(column.note))
    return table


def _problems_table(problems: list[Problem]) -> Table:
    with_sheet = any(p.sheet for p in problems)
    table = Table(pad_edge=False)
    for name in ("File", "Sheet", "Row", "Column", "Severity", "Problem"):
        if name != "Sheet" or with_sheet:
            table.add_column(name, overflow="fold", max_width=50 if name in ("Column", "File") else None)
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        style = "red" if problem.severity == "error" else "yellow"
        cells = [escape(problem.file), escape(problem.sheet), "" if problem.row is None else str(problem.row),
                 escape(problem.column), f"[{style}]{problem.severity}[/]", escape(problem.problem)]
        table.add_row(*(cells if with_sheet else cells[:1] + cells[2:]))
    return table


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _show_check(check: SignupCheck) -> None:
    """The coordinator's view of ``mentor check`` on stderr: mapping, counts by role, problems."""
    roster = check.roster
    for report in check.files:
        source = report.source
        sheet = f", sheet {source.sheet!r}" if source.sheet else ""
        role = {"column": "from its role column", "--role": f"all {source.role} (--role)",
                "file name": f"all {source.role} (from the file name)"}.get(report.role_from, "")
        err.print(f"[bold]{escape(source.path)}[/]{escape(sheet)}: {report.rows} rows, {report.used} used; roles {role}")
        err.print(_mapping_table(report))
    counts = roster.counts
    err.print(f"[bold]Participants:[/] {len(roster.people)} "
              f"(mentors {counts['mentor']}, mentees {counts['mentee']}, both {counts['both']})")
    errors = sum(1 for p in roster.problems if p.severity == "error")
    warnings = len(roster.problems) - errors
    if roster.problems:
        err.print(f"[bold]Problems:[/] {_plural(errors, 'row')} not used (error), {_plural(warnings, 'warning')}")
        err.print(_problems_table(roster.problems))
        if len(roster.problems) > MAX_PROBLEMS_SHOWN:
            err.print(f"... and {len(roster.problems) - MAX_PROBLEMS_SHOWN} more: run with --json to see all.")
    else:
        err.print("[bold]Problems:[/] none")


@app.command("check")
@friendly_errors
def check_command(
    signups: Annotated[list[Path], typer.Argument(metavar="SIGNUPS", readable=False, help="Signup files (.csv, .xlsx, .xls, .ods): one with a role column, or one per role.")],
    as_json: JsonOption = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any row cannot be used (error), not only when nothing can.")] = False,
    role: RoleOption = None,
    sheet: SheetOption = None,
    config: ConfigOption = None,
) -> None:
    """Read and validate signups: show the column mapping, counts by role and every problem.

    Exit 0 when the signups can be used (row problems are reported), 1 when they cannot.

    Example: mentor check examples/signups.xlsx --json
    """
    with err.status("Reading signups…", spinner="dots") as status:
        check = pipeline.check(signups, config=config, role=role, sheet=sheet,
                               progress=lambda message: status.update(escape(message.capitalize()) + "…"))
    if as_json:
        print_json(check.as_json())
        counts = check.roster.counts
        err.print(f"{len(check.roster.people)} participants (mentors {counts['mentor']}, mentees {counts['mentee']}, "
                  f"both {counts['both']}); {len(check.roster.problems)} problems")
    else:
        _show_check(check)
    if not check.usable:
        err.print("[bold red]Error:[/] no usable signup: every row has an error (see the problems above).")
        raise typer.Exit(1)
    if strict and any(p.severity == "error" for p in check.roster.problems):
        err.print("[bold red]--strict:[/] some rows cannot be used.")
        raise typer.Exit(1)


@app.command("init")
@friendly_errors
def init_command(
    signups: Annotated[Path | None, typer.Argument(metavar="SIGNUPS", readable=False, help="A signup file whose headers fill in [columns].")] = None,
    force: ForceOption = False,
    role: RoleOption = None,
    sheet: SheetOption = None,
) -> None:
    """Write a commented mentor.toml in the current folder, with every setting and its default.

    With a signup file, [columns] is filled in from its detected headers.

    Example: mentor init examples/signups.xlsx
    """
    run = pipeline.init(signups, force=force, role=role, sheet=sheet)
    if signups is not None:
        err.print(f"Detected {len(run.columns)} of {run.headers} columns in {escape(str(signups))}:")
        for name, header in run.columns.items():
            err.print(f"  {name} = {escape(header)}")
        if "email" not in run.columns:
            err.print("[yellow]No email column was detected: set [columns] email before `mentor check`.[/]")
    err.print(f"Wrote {escape(str(run.path.name))}. Next: mentor check {escape(str(signups or 'SIGNUPS'))}")

# === end init, check ===

# === commands: match ===

HistoryOption = Annotated[Path | None, typer.Option("--history", metavar="DIR", file_okay=False, help="Folder of earlier cohorts' pairing workbooks (DIR/*.xlsx or DIR/<cohort>/pairs.xlsx): never repeat a pair, mark who took part before (match); compare cohorts (report).")]


def _print_history_notes(notes: list[str]) -> None:
    for note in notes:
        err.print(f"[yellow]History:[/] {escape(note)}")


def _print_match_history(history: pipeline.HistoryMatch) -> None:
    """What the earlier cohorts changed, on stderr: counts only."""
    _print_history_notes(history.notes)
    err.print(f"[bold]Earlier cohorts:[/] {len(history.cohorts)} in {escape(str(history.folder))} "
              f"({escape(', '.join(history.cohorts))}); {history.pairs_avoided} earlier pair(s) among these signups "
              f"not repeated; {history.took_part_before} of {history.participants} took part before "
              "(People sheet, Earlier Cohorts column)")

def _print_match_summary(run: pipeline.MatchRun) -> None:
    """The coordinator's view of a match run, on stderr: counts, scores, notes, where it went."""
    result = run.result
    summary = run.as_json()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Pairs", str(summary["pairs"]))
    table.add_row("Matched mentees", f"{summary['matched_mentees']} of {run.total_mentees}")
    if summary["unmatched"]:
        roles = result.unmatched["role"].value_counts()
        split = ", ".join(f"{int(roles.get(r, 0))} {r}s" for r in ("mentee", "mentor") if roles.get(r, 0))
        table.add_row("Unmatched", f"{summary['unmatched']} ({split}; see the Unmatched sheet)")
    else:
        table.add_row("Unmatched", "0")
    if summary["pairs"]:
        table.add_row("Score", f"mean {result.mean_score:.1f}, lowest {result.min_score:.1f} (of 100)")
    errors = sum(1 for p in run.problems if p.severity == "error")
    rows_not_used = f"{errors} row{'' if errors == 1 else 's'} not used"
    table.add_row("Problems", f"{len(run.problems)} ({rows_not_used}; see the Problems sheet)" if run.problems else "0")
    if "networks" in summary:
        table.add_row("Networks", f"{summary['networks']} ({result.settings['networks.mentees']} mentees with several mentors)")
    table.add_row("Written", escape(str(run.output)))
    err.print(table)
    for note in result.notes:
        err.print(f"[yellow]Note:[/] {escape(note)}")


def _check_output(value: Path) -> Path:
    if value.suffix.lower() not in (".xlsx", ".csv"):
        raise typer.BadParameter("name the output .xlsx (the pairing workbook) or .csv (the Pairs sheet only)")
    return value


def _check_choice(*choices: str) -> Callable[[str | None], str | None]:
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value not in choices:
            raise typer.BadParameter(f"choose {' or '.join(choices)}")
        return value

    return check


@app.command("match")
@friendly_errors
def match_command(
    signups: Annotated[list[Path], typer.Argument(metavar="SIGNUPS", readable=False, help="Signup files (.csv, .xlsx, ...): one with a role column, or one per role.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", callback=_check_output, help="The pairing workbook (.xlsx), or .csv for the Pairs sheet only.")] = Path("pairs.xlsx"),
    force: ForceOption = False,
    config: ConfigOption = None,
    role: Annotated[str | None, typer.Option("--role", metavar="ROLE", callback=_check_choice("mentor", "mentee", "both"), help="Role of everyone in files without a role column: mentor, mentee or both.")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", metavar="SHEET", help="Sheet to read in .xlsx signups (default: the first).")] = None,
    keep: Annotated[Path | None, typer.Option("--keep", metavar="PAIRS.XLSX", help="Keep every pair of this earlier pairing workbook and match the rest around them; with --circles N or --peer-circles N, every circle of an earlier circles workbook (late signups join circles with room or form new ones). Example: mentor match late.xlsx --circles 4 --keep circles.xlsx -o circles-2.xlsx")] = None,
    avoid_pairs: Annotated[list[Path] | None, typer.Option("--avoid-pairs", metavar="FILE", help="Never repeat a pair listed here (an earlier pairs.xlsx, or a CSV of mentee and mentor emails). Repeatable.")] = None,
    objective: Annotated[str | None, typer.Option("--objective", metavar="places|fair", callback=_check_choice("places", "fair"), help="places: most pairs, then best total score; fair: best lowest score first, for circles the lowest member score (default from mentor.toml).")] = None,
    export_scores: Annotated[Path | None, typer.Option("--export-scores", metavar="FILE.csv", help="Also write mentee_email,mentor_email,score,bonus,kept for every kept and every allowed pair (with circles: lead_email,member_email,score,kept).")] = None,
    history: HistoryOption = None,
    as_json: JsonOption = False,
    circles: Annotated[int | None, typer.Option("--circles", metavar="N", min=1, max=1000, help="Form circles of one mentor and up to N mentees sharing a goal and a weekly window, instead of pairs. Example: mentor match signups.xlsx --circles 4 -o circles.xlsx")] = None,
    peer_circles: Annotated[int | None, typer.Option("--peer-circles", metavar="N", min=2, max=1000, help="Form circles of N peers (signed up as both or peer; see [circles] peer_roles) with a facilitator, instead of pairs. Example: mentor match signups.xlsx --peer-circles 5 -o circles.xlsx")] = None,
) -> None:
    """Pair mentees with mentors exactly (most pairs, then best total score) and write the pairing workbook.

    With --circles N or --peer-circles N (not both), form circles instead: solved exactly or within
    a proven bound, which the Settings sheet and the summary give.

    Example: mentor match signups.xlsx -o pairs.xlsx --avoid-pairs 2025.xlsx

    Example: mentor match signups.xlsx --circles 4 -o circles.xlsx

    Example: mentor match signups.xlsx -o 2027-spring/pairs.xlsx --history cohorts
    """
    with err.status("Starting…", spinner="dots") as status:
        run = pipeline.match(
            signups, config=config, output=output, force=force, role=role, sheet=sheet, keep=keep,
            avoid_pairs=avoid_pairs or (), objective=objective, export_scores=export_scores, history=history,
            progress=lambda text: status.update(escape(text) + "…"), circles=circles, peer_circles=peer_circles,
        )
    if isinstance(run, pipeline.CircleRun):
        _print_circle_summary(run)
    else:
        _print_match_summary(run)
    if run.history is not None:
        _print_match_history(run.history)
    for problem in run.problems:  # --keep with ended relationships: someone rematched a second time
        if problem.sheet == "Ended":
            err.print(f"[yellow]Rematch warning:[/] {escape(problem.location())}: {escape(problem.problem)}")
    if as_json:
        print_json(run.as_json())


def _print_circle_summary(run: pipeline.CircleRun) -> None:
    """The coordinator's view of a circles run, on stderr: circles, people left out, how good the solution is."""
    summary = run.as_json()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Circles", f"{summary['circles']} ({summary['kind']})")
    table.add_row("Placed", str(summary["placed"]))
    if "kept_circles" in summary:
        table.add_row("Kept", f"{summary['kept_circles']} circles (--keep)")
    table.add_row("Unmatched", f"{summary['unmatched']} (see the Unmatched sheet)" if summary["unmatched"] else "0")
    table.add_row("Solution", escape(str(summary["status"])))
    table.add_row("Problems", f"{len(run.problems)} (see the Problems sheet)" if run.problems else "0")
    table.add_row("Written", escape(str(run.output)))
    err.print(table)
    for note in run.result.notes:
        err.print(f"[yellow]Note:[/] {escape(note)}")

# === end match ===

# === commands: schedule ===


def _parse_start(value: str) -> datetime.date:
    """--start as a date; a wrong format is a command-line error (exit 2), not bad input."""
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter("write the date as YYYY-MM-DD, e.g. 2026-03-02") from None


def _print_problems(problems: list[Problem], label: str) -> None:
    """Problems on stderr: where they are and what is wrong, never cell values."""
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        err.print(f"[{colour}]{escape(label)} {escape(problem.severity)}:[/] {escape(problem.location())}: {escape(problem.problem)}")


@app.command("schedule")
@friendly_errors
def schedule_command(
    pairs: Annotated[Path, typer.Argument(metavar="PAIRS.XLSX", readable=False, help="The pairing workbook written by `mentor match` (hand edits welcome).")],
    start: Annotated[datetime.date | None, typer.Option("--start", metavar="YYYY-MM-DD", parser=_parse_start, help="First day of the programme (default: the first Monday of next month).")] = None,
    months: Annotated[int | None, typer.Option("--months", min=1, max=36, help="Months of check-ins, one per pair per month (default from mentor.toml, 6).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for the calendars and checkins.xlsx.")] = Path("calendar"),
    force: ForceOption = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Schedule a monthly check-in for every pair at a time both can make; write calendars (.ics) and checkins.xlsx.

    Example: mentor schedule pairs.xlsx --start 2026-03-02 --months 6 --out calendar
    """
    with err.status("Reading the pairing workbook…", spinner="dots") as status:
        run = pipeline.schedule(pairs, config=config, start=start, months=months, out=out, force=force,
                                progress=lambda text: status.update(text + "…"))
    _print_problems(run.book.problems, "workbook")
    _print_problems(run.plan.problems, "schedule")
    summary = run.plan.summary()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Start", f"{summary['start']} for {summary['months']} month(s)")
    if run.book.circles:
        table.add_row("Circles scheduled", f"{summary['pairs_scheduled']} of {len(run.book.relationships())}")
    else:
        table.add_row("Pairs scheduled", f"{summary['pairs_scheduled']} of {len(run.book.pairs)}")
    table.add_row("Check-ins", str(summary["checkins"]))
    table.add_row("Flagged", f"{summary['flagged_checkins']} (see the Flag column of checkins.xlsx)"
                  if summary["flagged_checkins"] else "0")
    table.add_row("Files written", f"{len(run.written)} in {escape(str(out))}")
    err.print(table)
    for note in run.plan.notes:
        err.print(f"[yellow]Note:[/] {escape(note)}")
    for line in run.output.screen_lines():
        err.print(escape(line))
    if as_json:
        print_json(run.as_json())

# === end schedule ===

# === commands: introduce, send ===


def _print_book_problems(problems: list[Problem]) -> None:
    for problem in problems:
        err.print(f"[yellow]{escape(problem.severity)}:[/] {escape(problem.location())}: {escape(problem.problem)}")


@app.command("introduce")
@friendly_errors
def introduce_command(
    pairs: PairsArgument,
    calendar: Annotated[
        Path | None,
        typer.Option("--calendar", metavar="DIR", help="Folder with checkins.xlsx from `mentor schedule` (default: calendar/, if it exists)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for the .eml drafts.")] = Path("outbox"),
    updates: Annotated[
        bool, typer.Option("--updates", help="Instead of introductions: one email per changed or cancelled series of the last reschedule, to that pair only.")
    ] = False,
    force: ForceOption = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write one introduction email per pair (.eml drafts), the pair's check-ins attached as an invitation.

    Example: mentor introduce pairs.xlsx --calendar calendar --out outbox
    After a reschedule: mentor introduce pairs.xlsx --calendar calendar --updates --out outbox
    """
    run = pipeline.introduce(pairs, config=config, calendar=calendar, out=out, updates=updates, force=force)
    _print_book_problems(run.book.problems)
    for note in run.notes:
        err.print(f"[yellow]Note:[/] {escape(note)}")
    if updates and not run.changes:
        err.print(f"No changed or cancelled check-ins in {escape(str(run.calendar))}/changes/: nothing to send.")
    elif updates:
        err.print(f"Wrote {run.count('update')} update and {run.count('cancel')} cancellation email(s) to "
                  f"{escape(str(out))}/ ({len(run.written)} draft(s): open one, or run mentor send).")
    else:
        err.print(f"Wrote {len(run.written)} introduction email(s) to {escape(str(out))}/ (drafts: open one, or run mentor send).")
    if as_json:
        print_json(run.as_json())


@app.command("send")
@friendly_errors
def send_command(
    outbox: Annotated[Path, typer.Argument(metavar="OUTBOX", help="Folder of .eml drafts (from introduce or report).")],
    smtp_host: Annotated[str, typer.Option("--smtp-host", metavar="HOST", help="Mail server host name.")] = "localhost",
    smtp_port: Annotated[
        int | None, typer.Option("--smtp-port", metavar="PORT", min=1, max=65535, help="Mail server port (default 587 with --starttls, else 25).")
    ] = None,
    starttls: Annotated[bool, typer.Option("--starttls", help="Encrypt the session with STARTTLS (certificate checked).")] = False,
    user: Annotated[str | None, typer.Option("--user", metavar="USER", help="Log in as this user; the password is read from MENTOR_SMTP_PASSWORD.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be sent; send nothing.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=1, help="Seconds to wait for the server.")] = 30,
    resend_unsure: Annotated[
        bool, typer.Option("--resend-unsure", help="Also send drafts whose earlier sending stopped before the server's answer was recorded (they may have been delivered).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Send every .eml in OUTBOX over SMTP; each sent file moves to OUTBOX/sent/, so a re-run sends nothing twice.

    Only drafts written by mentor for exactly their recipients are sent; any other file is named and skipped.
    A recipient the server refuses is named and gets the message on a re-run; the others never get it twice.

    Example: MENTOR_SMTP_PASSWORD=... mentor send outbox --smtp-host smtp.example.org --starttls --user coordinator
    """

    def show(item: SendItem) -> None:
        if as_json:
            return
        if item.status == "planned":  # the dry-run listing is data: stdout, one tab-separated line per file
            sys.stdout.write(f"{visible(item.file)}\t{item.recipients}\t{visible(item.subject)}\n")
            return
        # stderr is a log: file names, counts and refused addresses, never a subject (it carries names)
        colour = {"sent": "green", "failed": "red", "skipped": "yellow"}.get(item.status, "cyan")
        reason = f" - {item.error}" if item.error else ""
        err.print(f"[{colour}]{item.status}[/] {escape(item.file)} ({item.recipients} recipient(s))"
                  f"{escape(reason)}")

    password = pipeline.smtp_password(user, dry_run)
    if pipeline.unencrypted_login(smtp_host, user, starttls, dry_run):
        err.print("[yellow]Warning:[/] logging in without --starttls sends the password unencrypted.")
    report = pipeline.send(outbox, host=smtp_host, port=smtp_port, starttls=starttls, user=user, password=password,
                           dry_run=dry_run, timeout=timeout, resend_unsure=resend_unsure, progress=show)
    if as_json:
        print_json(report.as_dict())
    counts = report.as_dict()["counts"]
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no .eml files"
    err.print(f"{'Dry run: ' if dry_run else ''}{summary}.")
    if report.stopped:
        err.print(f"[red]Stopped:[/] {escape(report.stopped)}.")
    if not report.ok:
        raise typer.Exit(1)

# === end introduce, send ===

# === commands: report ===

REPORT_STAGES = {"surveys": "Reading the survey exports", "logs": "Reading check-in logs", "build": "Building the report",
                 "html": "Drawing the cohort report", "xlsx": "Writing the status workbook",
                 "emails": "Preparing the emails", "write": "Writing the report and the emails"}


def _print_report_summary(run: pipeline.ReportRun) -> None:
    """The coordinator's view of the report on stderr: headline figures, pairs at risk, problems."""
    report, written, out = run.report, run.written, run.out
    totals = report.totals
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rate = "n/a" if totals["held_rate"] is None else f"{100 * totals['held_rate']:.0f}%"
    table.add_row("As of", report.as_of.isoformat())
    if "circles" in totals:
        table.add_row("Circles", f"{totals['circles']} ({totals['active_pairs']} active), "
                                 f"{totals['members_stopped']} member(s) stopped coming")
    else:
        table.add_row("Pairs", f"{totals['pairs']} ({totals['active_pairs']} active)")
    table.add_row("Check-ins", f"{totals['held']} held of {totals['scheduled_to_date']} due ({rate}), "
                               f"{totals['missed']} missed, {totals['upcoming']} to come")
    rating = "n/a" if totals["mean_rating"] is None else f"{totals['mean_rating']:.1f}"
    table.add_row("Ratings", f"mean {rating} from {totals['ratings']}")
    table.add_row("At risk", str(totals["pairs_at_risk"]))
    if report.surveys is not None:
        table.add_row("Surveys", _survey_line(report.surveys))
    errors = sum(1 for p in report.problems if p.severity == "error")
    table.add_row("Problems", f"{len(report.problems)} ({errors} log rows not used; see the Problems sheet)"
                  if report.problems else "0")
    if run.book.problems:
        table.add_row("Workbook problems", f"{len(run.book.problems)} (listed above; also on the Problems sheet)")
    emails = sum(1 for p in written if p.suffix == ".eml")
    table.add_row("Written", f"{escape(str(out))}/: cohort.html, cohort.xlsx, {emails} email(s) in outbox/")
    err.print(table)
    for pair_id, reason in zip(report.at_risk["pair_id"].head(20), report.at_risk["reason"].head(20)):
        err.print(f"[yellow]At risk:[/] {escape(str(pair_id))}: {escape(reason)}")
    if totals["pairs_at_risk"] > 20:
        err.print(f"… and {totals['pairs_at_risk'] - 20} more {report.words.units} at risk (see cohort.html).")
    for stopped in report.stopped_coming()[:20]:
        err.print(f"[yellow]Stopped coming:[/] circle {escape(stopped['pair_id'])}, Circles row {stopped['row']} "
                  f"(missed the last {stopped['missed_in_row']} meetings)")
    for problem in report.problems[:20]:
        err.print(f"[yellow]{escape(problem.severity)}:[/] {escape(problem.location())}: {escape(problem.problem)}")
    if len(report.problems) > 20:
        err.print(f"… and {len(report.problems) - 20} more problems (see the Problems sheet of cohort.xlsx).")


def _print_closing_summary(run: pipeline.ReportRun) -> None:
    """The coordinator's view of the closing report on stderr: figures, endings by category, problems."""
    closing = run.closing
    if closing is None:
        return
    if run.without_schedule:
        err.print("[yellow]Note:[/] no check-in schedule (checkins.xlsx) given: only logged check-ins are counted.")
    _print_book_problems(run.book.problems)
    totals = closing.totals
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rate = "n/a" if totals["held_rate"] is None else f"{100 * totals['held_rate']:.0f}%"
    table.add_row("Closed", closing.as_of.isoformat())
    table.add_row("Relationships", f"{totals['relationships']}: {totals['lasted']} lasted, {totals['ended']} ended")
    table.add_row("Check-ins", f"{totals['held']} held of {totals['scheduled']} scheduled ({rate})")
    table.add_row("Survey answers", str(totals["survey_answers"]))
    table.add_row("Problems", str(len(closing.problems)))
    drafts = sum(1 for p in run.written if p.suffix == ".eml")
    table.add_row("Written", f"{escape(str(run.out))}/: closing.html, closing.xlsx; {drafts} draft(s) to send")
    err.print(table)
    for ending in closing.endings:
        err.print(f"Ended ({escape(ending['category'])}): {escape(', '.join(ending['ids']))}")
    for problem in closing.problems[:20]:
        err.print(f"[yellow]{escape(problem.severity)}:[/] {escape(problem.location())}: {escape(problem.problem)}")
    if len(closing.problems) > 20:
        err.print(f"… and {len(closing.problems) - 20} more problems (see the Problems sheet of closing.xlsx).")


@app.command("report")
@friendly_errors
def report_command(
    pairs: PairsArgument,
    logs: LogsArgument,
    as_of: Annotated[
        datetime.datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help="Report date (default: today)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Output folder for cohort.html, cohort.xlsx and outbox/.")] = Path("reports"),
    calendar: Annotated[
        Path | None,
        typer.Option("--calendar", metavar="DIR", help="Folder with checkins.xlsx from `mentor schedule`, when it is not among the logs (default: calendar/, if it exists)."),
    ] = None,
    force: ForceOption = False,
    config: ConfigOption = None,
    history: HistoryOption = None,
    as_json: JsonOption = False,
    surveys: Annotated[
        list[Path] | None,
        typer.Option("--surveys", metavar="FILE", readable=False,
                     help="A survey form export (.csv/.xlsx) to add to the report; repeat for each survey."),
    ] = None,
    survey_kind: Annotated[
        SurveyKindChoice | None,
        typer.Option("--survey-kind", help="Which survey the --surveys exports answer (default: told by their questions)."),
    ] = None,
    final: Annotated[
        bool,
        typer.Option("--final", help="Close the programme: closing.html, closing.xlsx, a thank-you draft per participant and the sponsors' closing summary, instead of the progress report."),
    ] = False,
    outbox: Annotated[
        Path | None,
        typer.Option("--outbox", metavar="DIR", help="With --final: folder for the thank-you drafts and the closing summary (default: OUT/outbox)."),
    ] = None,
) -> None:
    """Progress report: cohort.html, cohort.xlsx, one email per participant and a sponsor summary.

    Example: mentor report pairs.xlsx calendar/checkins.xlsx checkin-form.csv --as-of 2026-04-10 --out reports

    Example: mentor report pairs.xlsx calendar/checkins.xlsx --surveys pulse.csv --surveys midpoint.xlsx

    Example (closing the programme): mentor report pairs.xlsx calendar/checkins.xlsx --final --as-of 2027-07-01 --out closing

    Example: mentor report pairs.xlsx calendar/checkins.xlsx --history cohorts --out reports
    """
    status = err.status("Reading the pairing workbook…", spinner="dots")
    status.start()

    def on_stage(stage: str) -> None:
        if stage == "write":  # large outboxes are written by worker processes: no live spinner then
            status.stop()
            err.print(REPORT_STAGES[stage] + "…")
        else:
            status.update(REPORT_STAGES.get(stage, stage) + "…")

    try:
        run = pipeline.report(pairs, logs, config=config, as_of=as_of.date() if as_of else None, out=out,
                              calendar=calendar, force=force, history=history, progress=on_stage, surveys=surveys or (),
                              survey_kind=survey_kind.value if survey_kind else None, final=final, outbox=outbox)
    finally:
        status.stop()
    if run.closing is not None:
        _print_closing_summary(run)
        if as_json:
            print_json(run.as_json())
        return
    if run.schedule_added is not None:
        err.print(f"Using the check-in schedule {escape(str(run.schedule_added))}.")
    if run.without_schedule:
        err.print("[yellow]Note:[/] no check-in schedule (checkins.xlsx) given: only logged check-ins are counted, "
                  "nothing is counted as missed.")
    _print_book_problems(run.book.problems)
    _print_report_summary(run)
    if run.history is not None:
        _print_report_history(run)
    if as_json:
        print_json(run.as_json())


def _print_report_history(run: pipeline.ReportRun) -> None:
    """The comparison across cohorts as the sponsor sees it (counts only), on stderr."""
    assert run.history is not None
    _print_history_notes(run.history.notes)
    comparison = run.comparison()
    if comparison is None:
        return
    table = Table(title="Compared with earlier cohorts", pad_edge=False)
    for name in ("Cohort", "When", "Participants", "Relationships", "Matched", "Check-ins held", "Ended"):
        table.add_column(name, justify="left" if name in ("Cohort", "When") else "right")
    for row in comparison["rows"]:
        label = row["cohort"] + (" (this cohort)" if row["current"] else "")
        table.add_row(escape(label), escape(row["when"]), str(row["participants"]), str(row["relationships"]),
                      row["matched_pct"], row["held_pct"], str(row["ended"]))
    err.print(table)
    if comparison["withheld"]:
        err.print(f"{comparison['withheld']} earlier cohort(s) of fewer than {comparison['min_group_size']} pairs "
                  "are too small to show.")


# === end report ===

# === commands: end ===


@app.command("end")
@friendly_errors
def end_command(
    pairs: Annotated[Path, typer.Argument(metavar="PAIRS.XLSX", readable=False, help="The pairing workbook (edited in place; a .bak backup is kept).")],
    relationship_id: Annotated[str, typer.Argument(metavar="PAIR_ID", help="The Pair ID of the relationship that ends, e.g. P003.")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why it ended (the coordinator's record: never shown to a sponsor).")],
    on: Annotated[datetime.date | None, typer.Option("--on", metavar="YYYY-MM-DD", parser=_parse_start, help="The day it ended (default: today). Check-ins after it are cancelled by the next mentor schedule.")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """End a relationship: its rows move from the Pairs sheet to the Ended sheet, with the date and reason.

    Example: mentor end pairs.xlsx P003 --reason "moved teams" --on 2027-02-10
    Then: mentor schedule pairs.xlsx --out calendar (cancels its later check-ins), mentor introduce pairs.xlsx --updates,
    and mentor match signups.xlsx --keep pairs.xlsx -o pairs2.xlsx (rematches its people first, never with each other).
    """
    result = pipeline.end(pairs, relationship_id, reason=reason, on=on, config=config)
    ended = result.ending
    err.print(f"Ended {escape(ended.relationship.id)} on {ended.ended_on.isoformat()} ({_plural(len(ended.relationship.members), 'member')}): "
              f"{result.sheet} row(s) {', '.join(map(str, result.emptied_rows))} emptied, Ended sheet row(s) "
              f"{', '.join(map(str, result.ended_sheet_rows))} written; the old file is kept as a .bak copy.")
    if as_json:
        print_json(result.as_json())

# === end end ===

# === commands: nudge ===


def _parse_day(option: str) -> Callable[[str | None], datetime.date | None]:
    """A YYYY-MM-DD option as a date; a wrong one is a command-line error (exit 2) on one line."""

    def parse(value: str | None) -> datetime.date | None:
        if value is None:
            return None
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise typer.BadParameter(f"{option} must be a date written YYYY-MM-DD, e.g. 2027-02-01") from None

    return parse


NUDGE_SECTION = escape("[nudge]")  # rich would read the bare text as markup
NUDGE_KINDS = {"first-meeting": "first meeting", "missed-checkins": "missed check-ins", "escalation": "digest"}


def _print_nudge_summary(run: pipeline.NudgeRun) -> None:
    """The coordinator's view of a nudge run on stderr: ids and counts, never names or addresses."""
    plan, written = run.outcome.plan, run.outcome.written
    for note in run.notes():
        err.print(f"[yellow]Note:[/] {escape(note)}")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("As of", plan.as_of.isoformat())
    table.add_row("Introduced", "the day given by --introduced" if run.outcome.introductions.source == "--introduced"
                  else f"each introduction's day in {escape(run.outcome.introductions.source)}")
    for kind in ("first-meeting", "missed-checkins"):
        ids = [due.relationship.id for due in plan.reminders if due.kind == kind]
        table.add_row(f"Reminded: {NUDGE_KINDS[kind]}", f"{len(ids)}" + (f" ({escape(_first_ids(ids))})" if ids else ""))
    escalated = [due.relationship.id for due in plan.escalations]
    table.add_row("Need a call", f"{len(escalated)}" + (f" ({escape(_first_ids(escalated))}; one digest to the "
                                                        "coordinator)" if escalated else ""))
    if plan.waiting:
        table.add_row("Already reminded", f"{len(plan.waiting)} within {NUDGE_SECTION} interval_days (see {escape(str(run.outcome.log))})")
    if plan.ended:
        table.add_row("Ended", f"{len(plan.ended)} (never reminded)")
    err.print(table)
    for problem in run.problems[:20]:
        err.print(f"[yellow]{escape(problem.severity)}:[/] {escape(problem.location())}: {escape(problem.problem)}")
    if written:
        err.print(f"Wrote {len(written)} email(s) to {escape(str(run.out))}/ (drafts: open one, or run mentor send); "
                  f"logged in {escape(str(run.outcome.log))}.")
    else:
        err.print(f"Nothing new to write as of {plan.as_of.isoformat()}: every reminder due was already written "
                  f"within {NUDGE_SECTION} interval_days ({escape(str(run.outcome.log))}), or none is due.")


def _first_ids(ids: list[str]) -> str:
    """The first ten ids, then "and N more" (the model's wording)."""
    shown = ", ".join(ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


@app.command("nudge")
@friendly_errors
def nudge_command(
    pairs: PairsArgument,
    logs: LogsArgument,
    as_of: Annotated[
        datetime.date | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", parser=_parse_day("--as-of"), help="The day the reminders are for (default: today)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="The outbox: the drafts and nudges.csv (the log of who was reminded) go here; its sent/sent.log dates the introductions.")] = Path("outbox"),
    introduced: Annotated[
        datetime.date | None,
        typer.Option("--introduced", metavar="YYYY-MM-DD", parser=_parse_day("--introduced"), help="The day the introductions went out (default: each one's day in OUT/sent/sent.log, from mentor send)."),
    ] = None,
    calendar: Annotated[
        Path | None,
        typer.Option("--calendar", metavar="DIR", help="Folder with checkins.xlsx from `mentor schedule`, when it is not among the logs (default: calendar/, if it exists)."),
    ] = None,
    force: ForceOption = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remind relationships that have not met or have missed check-ins; one digest to the coordinator of who needs a call.

    A reminder goes to every member; nobody is reminded of the same thing twice within
    [nudge] interval_days (OUT/nudges.csv records every reminder written). A rerun writes only what is new.

    Example: mentor nudge pairs.xlsx calendar/checkins.xlsx --as-of 2027-02-01 --out outbox
    """
    with err.status("Reading the pairing workbook…", spinner="dots") as status:
        run = pipeline.nudge(pairs, logs, config=config, as_of=as_of, out=out, introduced=introduced,
                             calendar=calendar, force=force,
                             progress=lambda stage: status.update({"logs": "Reading check-in logs", "write": "Writing the reminders"}.get(stage, stage) + "…"))
    _print_nudge_summary(run)
    if as_json:
        print_json(run.as_json())


# === end nudge ===


# === survey ===

survey_app = typer.Typer(help="Pulse, mid-point and closing surveys: the questions to paste into Google or Microsoft Forms.",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(survey_app, name="survey")


def _survey_line(summary: Any) -> str:
    """The report summary's Surveys line (the coordinator's: every answer, however few)."""
    figures = summary.everyone
    quality = "n/a" if figures.quality is None else f"{figures.quality:.1f}"
    recommend = "n/a" if figures.recommend is None else f"{figures.recommend:.1f}"
    return f"{figures.responses} answers from {figures.respondents} people; quality {quality}/5, would recommend {recommend}/10"


@survey_app.command("questions")
@friendly_errors
def survey_questions_command(
    kind: Annotated[SurveyKindChoice, typer.Argument(metavar="KIND", help="Which survey: pulse (day 30, then every 60 days), midpoint or closing.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE", help="Write the question set to FILE instead of printing it.")] = None,
    force: ForceOption = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a survey's questions with each one's form item type, to paste into Google or Microsoft Forms.

    Example: mentor survey questions pulse

    Example: mentor survey questions closing --out closing-survey.txt
    """
    run = pipeline.survey_questions(kind.value, config=config, out=out, force=force)
    if as_json:
        print_json(run.as_json())
    elif run.written is not None:
        err.print(f"Wrote the {kind.value} survey's questions to {escape(str(run.written))}.")
    else:
        sys.stdout.write(run.text)


# === end survey ===


def main() -> None:
    """Console-script entry point."""
    app(prog_name="mentor")

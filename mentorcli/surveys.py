"""Pulse, mid-point and closing surveys: the question sets out, the form exports back in, the figures.

Three steps, each usable on its own:

* ``question_set(kind)`` / ``render_questions``: the questions shipped in ``templates/surveys/``
  (overridable from the cohort's ``templates/surveys/``), as a text the coordinator pastes into
  Google Forms or Microsoft Forms, with each item's type. The scales are fixed by
  ``model.SurveyAnswer``: quality 1-5, would-recommend 0-10, goal progress 1-5.
* ``read_surveys(paths, book, config)``: Google/Microsoft Forms exports (CSV or XLSX, read by
  ``signups.read_table``) -> ``list[model.SurveyAnswer]`` and a ``Problem`` for every value that
  could not be used, by file, sheet, row and column. Headers are the shipped question texts, common
  rephrasings, or ``[surveys.columns]``; the respondent is matched by email to the workbook's
  people and to the relationship (pair or circle) they are in. A scale answer is read exactly
  ("4", "4 - Good", "4/5", "Agree", a scale's own end label) or reported: a wrong guess is worse
  than an error.
* ``summarise(answers, relationships)`` -> ``SurveySummary``: per relationship (the coordinator's
  view, comments included) and in aggregate (overall and per ``group_by`` group, no group of fewer
  than ``min_group_size`` respondents broken out, never a name, email or comment): what
  ``mentor report --surveys`` shows and what the closing report can call.

Comments are free text and private like check-in notes: they live only in
``RelationshipSurvey.comments``, which only the coordinator's views (``cohort.html``,
``cohort.xlsx``) read.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args

import pandas as pd

from mentorcli import headers as hdr
from mentorcli.config import SURVEY_COLUMN_FIELDS, Config
from mentorcli.errors import MentorError
from mentorcli.model import PairingBook, Problem, Relationship, Severity, SurveyAnswer, SurveyKind
from mentorcli.normalize import clean_text, fold, parse_timestamp_series
from mentorcli.resources import template_dir
from mentorcli.signups import RawTable, read_table
from mentorcli.untrusted import visible, without_controls

SURVEY_KINDS: tuple[SurveyKind, ...] = cast(tuple[SurveyKind, ...], get_args(SurveyKind))
"""In programme order: the order a relationship answers them in."""
SCALES: dict[str, tuple[int, int]] = {"quality": (1, 5), "recommend": (0, 10), "goal_progress": (1, 5)}
"""Fixed by ``model.SurveyAnswer``: a question set may reword a question, never change its scale."""
SCALE_TYPES = {"quality": "Linear scale 1-5", "recommend": "Linear scale 0-10", "goal_progress": "Linear scale 1-5"}
ITEM_TYPES: dict[str, str] = {
    "Short answer": "Text",
    "Paragraph": "Text, long answer",
    "Linear scale 1-5": "Rating, 5 levels, number symbols",
    "Linear scale 0-10": "Net Promoter Score",
    "Multiple choice": "Choice",
}
"""Google Forms item type -> the Microsoft Forms item that gives the same export."""
FIELDS = tuple(SURVEY_COLUMN_FIELDS)
ANSWER_FIELDS = ("quality", "recommend", "goal_progress", "comments")
SURVEY_DIR = "surveys"


# ---------------------------------------------------------------------------------------------
# Question sets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One item of a form: the field its answer is read as, the text, the form's item type."""

    field: str
    text: str
    type: str
    required: bool = False
    help: str = ""
    labels: tuple[str, ...] = ()
    """The words at the low and high ends of a scale."""


@dataclass(frozen=True)
class QuestionSet:
    """The questions of one survey (``templates/surveys/<kind>.toml``)."""

    kind: SurveyKind
    title: str
    description: str
    questions: tuple[Question, ...]
    path: Path

    def question(self, field_name: str) -> Question | None:
        return next((q for q in self.questions if q.field == field_name), None)


def _survey_file(kind: str, templates_dir: Path | None) -> Path:
    """The cohort's own ``templates/surveys/<kind>.toml`` when there is one, else the shipped one."""
    for folder in ([templates_dir] if templates_dir is not None else []) + [template_dir()]:
        candidate = folder / SURVEY_DIR / f"{kind}.toml"
        if candidate.is_file():
            return candidate
    raise MentorError(f"no question set for the {kind} survey", hint=f"Expected {SURVEY_DIR}/{kind}.toml in the templates.")


def question_set(kind: str, templates_dir: Path | None = None) -> QuestionSet:
    """The question set of ``kind`` (pulse, midpoint, closing), checked: every field known, the
    email question present, each scale the one ``model.SurveyAnswer`` fixes."""
    if kind not in SURVEY_KINDS:
        raise MentorError(f"unknown survey {kind!r}", hint=f"Choose one of: {', '.join(SURVEY_KINDS)}.")
    path = _survey_file(kind, templates_dir)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MentorError(f"is not a readable question set ({exc})", path=path, hint="Fix the line it names.") from None
    questions = tuple(_question(item, path) for item in raw.get("questions", []))
    fields = [q.field for q in questions]
    if "email" not in fields:
        raise MentorError("has no email question", path=path,
                          hint='Every survey asks for the email address: add a question with field = "email".')
    if len(set(fields)) != len(fields):
        raise MentorError("asks for the same field twice", path=path, hint="Keep one question per field.")
    return QuestionSet(kind=kind, title=str(raw.get("title", kind)),
                       description=str(raw.get("description", "")), questions=questions, path=path)


def _question(item: Any, path: Path) -> Question:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
        raise MentorError("has a question without a text", path=path, hint='Each [[questions]] needs text = "...".')
    name, kind = item.get("field"), item.get("type")
    if name not in FIELDS or name == "timestamp":
        raise MentorError(f"question {item['text']!r}: unknown field {name!r}", path=path,
                          hint=f"Fields: {', '.join(f for f in FIELDS if f != 'timestamp')}.")
    if kind not in ITEM_TYPES:
        raise MentorError(f"question {item['text']!r}: unknown item type {kind!r}", path=path,
                          hint=f"Item types: {', '.join(ITEM_TYPES)}.")
    if name in SCALE_TYPES and kind != SCALE_TYPES[name]:
        raise MentorError(f"question {item['text']!r}: the {name} question must be a {SCALE_TYPES[name]}", path=path,
                          hint="The scales are fixed so that every cohort's figures compare; reword the text only.")
    labels = item.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels) or len(labels) not in (0, 2):
        raise MentorError(f"question {item['text']!r}: labels must be two texts, the low end and the high end",
                          path=path)
    return Question(field=name, text=without_controls(item["text"]).strip(), type=kind,
                    required=bool(item.get("required", False)), help=str(item.get("help", "")),
                    labels=tuple(labels))


def render_questions(questions: QuestionSet) -> str:
    """The question set as a text to paste into Google Forms or Microsoft Forms, item by item."""
    lines = [questions.title, "=" * len(questions.title), ""]
    if questions.description:
        lines += [f"Form description: {questions.description}", ""]
    for number, question in enumerate(questions.questions, 1):
        required = "required" if question.required else "optional"
        lines.append(f"{number}. {question.text}")
        lines.append(f"   Item type: {question.type} ({required}; Microsoft Forms: {ITEM_TYPES[question.type]})")
        if question.labels:
            low, high = SCALES[question.field]
            lines.append(f"   Labels: {low} = {question.labels[0]}, {high} = {question.labels[1]}")
        if question.help:
            lines.append(f"   Description: {question.help}")
        lines.append("")
    lines += [
        "Keep each question's text as it is: `mentor report --surveys` finds the answers by it.",
        "Export the answers: Google Forms: Responses > Download responses (.csv);",
        "Microsoft Forms: Responses > Open results in Excel (.xlsx). Then:",
        f"  mentor report pairs.xlsx calendar/checkins.xlsx --surveys {questions.kind}.csv",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Which column holds which answer
# ---------------------------------------------------------------------------------------------

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("timestamp", re.compile(r"^(?:timestamp|completion time|submitted(?: at| on)?|submission (?:time|date)"
                             r"|date submitted|end time|response date|submitted date)$")),
    ("email", re.compile(r"^(?:and )?(?:please )?(?:(?:enter|give) )?(?:what is |whats )?(?:your |my |the )?"
                         r"(?:respondent |participant )?email(?: address)?$")),
    ("recommend", re.compile(r"\brecommend\w*\b|\bnps\b|\bnet promoter\b")),
    ("goal_progress", re.compile(r"\bgoals?\b.*\b(?:progress\w*|achiev\w*|reach\w*|met|towards)\b"
                                 r"|\bprogress\b.*\bgoals?\b")),
    ("quality", re.compile(r"\b(?:relationship|mentoring|mentorship|partnership|match|pairing|mentor|mentee)\b"
                           r".*\b(?:going|rate|rating|quality|satisf\w*|happy)\b"
                           r"|\b(?:rate|rating|quality|satisf\w*|happy)\b.*\b(?:relationship|mentoring|mentorship"
                           r"|partnership|match|pairing|mentor|mentee)\b")),
    ("partner", re.compile(r"\bwho (?:is|was|are|were) your (?:mentor|mentee)|\b(?:mentor|mentee|partner)s? "
                           r"(?:name|email)|\bmentoring partner\b|\bwho did you (?:meet|work) with\b")),
    ("comments", re.compile(r"\b(?:comments?|anything else|feedback|suggestions?|tell us|would you tell"
                            r"|working well|change|improve\w*|would help)\b")),
)
_EXCLUDE = {
    "email": re.compile(hdr.OTHER_PERSON),
    "quality": re.compile(r"\b(?:programme|program|recommend\w*|goals?)\b"),
}
_MS_FORMS_EXTRA = {"id", "start time", "completion time", "email", "name", "last modified time"}
"""Columns Microsoft Forms adds before the questions (``Email`` and ``Name``: the signed-in account)."""


@dataclass
class SurveyColumns:
    """One export's columns: field -> column position, the survey kind, notes on columns not used."""

    kind: SurveyKind
    fields: dict[str, int]
    headers: list[str]
    notes: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers[self.fields[name]]


def _question_texts(sets: Sequence[QuestionSet]) -> dict[str, list[tuple[str, SurveyKind]]]:
    """Normalised question text -> (field, kind) of every shipped question that has it."""
    texts: dict[str, list[tuple[str, SurveyKind]]] = {}
    for questions in sets:
        for question in questions.questions:
            texts.setdefault(hdr.normalise_header(question.text), []).append((question.field, questions.kind))
    return texts


def _is_ms_forms(headers: Sequence[str]) -> bool:
    lowered = [h.strip().lower() for h in headers[:8]]
    return "id" in lowered and ("start time" in lowered or "completion time" in lowered)


def _candidates(headers: Sequence[str], texts: Mapping[str, list[tuple[str, SurveyKind]]]
                ) -> dict[str, list[tuple[int, int]]]:
    """field -> [(tier, position)]: tier 1 a shipped question's text, 2 a rephrasing, 3 a form's
    account column (Microsoft Forms' ``Email`` of the signed-in account, often "anonymous")."""
    ms_forms = _is_ms_forms(headers)
    found: dict[str, list[tuple[int, int]]] = {}
    for index, header in enumerate(headers):
        text = hdr.normalise_header(header)
        if not text:
            continue
        exact = {name for name, _kind in texts.get(text, [])}
        if len(exact) == 1:
            found.setdefault(exact.pop(), []).append((1, index))
            continue
        if ms_forms and index < 8 and text in _MS_FORMS_EXTRA:
            if text == "email":
                found.setdefault("email", []).append((3, index))
            elif text == "completion time":
                found.setdefault("timestamp", []).append((1, index))
            continue
        if text in hdr.FORM_METADATA:
            continue
        for name, pattern in _RULES:
            exclude = _EXCLUDE.get(name)
            if pattern.search(text) and not (exclude and exclude.search(text)):
                found.setdefault(name, []).append((2, index))
                break
    return found


def _configured(columns: Mapping[str, str], headers: Sequence[str], path: str) -> dict[str, int | None]:
    """``[surveys.columns]``: field -> position of the exact header (case and spacing aside); None: off."""
    keyed = {hdr.clean_header(h).casefold(): i for i, h in reversed(list(enumerate(headers)))}
    out: dict[str, int | None] = {}
    for name, header in columns.items():
        if not header.strip():
            out[name] = None
            continue
        position = keyed.get(hdr.clean_header(header).casefold())
        if position is None:
            raise MentorError(f"has no column {header!r} ([surveys.columns] {name})", path=path,
                              hint="Copy the header exactly from the export, or remove the line to detect it.")
        out[name] = position
    return out


def detect_survey_columns(headers: Sequence[str], config: Config, sets: Sequence[QuestionSet], *,
                          kind: str | None = None, path: str = "") -> SurveyColumns:
    """Map an export's headers to survey fields and tell which survey it is.

    ``[surveys.columns]`` first; then each shipped question's exact text; then common rephrasings.
    Two columns that fit one field equally well are an error naming both (a wrong guess is worse
    than none). The kind is ``kind`` when given, else the survey whose own question texts the
    headers carry, else a word of the file name ("pulse", "midpoint", "closing").
    """
    cleaned = [hdr.clean_header(h) for h in headers]
    configured = _configured(config.surveys.columns, cleaned, path)
    chosen: dict[str, int] = {name: i for name, i in configured.items() if i is not None}
    candidates = _candidates(cleaned, _question_texts(sets))
    for name in FIELDS:
        if name in configured:
            continue
        options = sorted((tier, index) for tier, index in candidates.get(name, []) if index not in chosen.values())
        if not options:
            continue
        best = [index for tier, index in options if tier == options[0][0]]
        if len(best) > 1:
            both = " and ".join(repr(cleaned[i]) for i in best[:2])
            raise MentorError(f"columns {both} both look like the {name} question", path=path,
                              hint=f'Say which one in mentor.toml: [surveys.columns] {name} = "...".')
        chosen[name] = best[0]
    if "email" not in chosen:
        raise MentorError("has no email column: the answers cannot be matched to people", path=path,
                          hint='Ask "Your email address" (see `mentor survey questions`), or name the column in '
                               '[surveys.columns] email = "...".')
    if not any(name in chosen for name in ("quality", "recommend", "goal_progress")):
        raise MentorError("has none of the survey's scale questions (relationship quality, would recommend, "
                          "goal progress)", path=path,
                          hint="Check that this is a survey export, or name the columns in [surveys.columns].")
    found_kind = kind or _kind_of(cleaned, sets, path)
    notes = [f"column {cleaned[i]!r} is not used" for i in range(len(cleaned))
             if i not in chosen.values() and cleaned[i].strip()]
    return SurveyColumns(kind=cast(SurveyKind, found_kind), fields=chosen, headers=cleaned, notes=notes)


_KIND_WORDS = {"pulse": r"pulse", "midpoint": r"mid[\s_-]?(?:point|term|way)|halfway", "closing": r"clos\w*|exit|final|end"}


def _kind_of(headers: Sequence[str], sets: Sequence[QuestionSet], path: str) -> SurveyKind:
    """The survey whose own questions (texts no other survey asks) the headers carry; else the file name's word."""
    texts = {hdr.normalise_header(h) for h in headers}
    owners = _question_texts(sets)
    hits: dict[SurveyKind, int] = {}
    for text in texts:
        kinds = {kind for _name, kind in owners.get(text, [])}
        if len(kinds) == 1:
            only = kinds.pop()
            hits[only] = hits.get(only, 0) + 1
    best = sorted(hits.items(), key=lambda item: -item[1])
    if best and (len(best) == 1 or best[0][1] > best[1][1]):
        return best[0][0]
    stem = Path(path).stem.lower()
    named = [kind for kind in SURVEY_KINDS if re.search(rf"(?:^|[^a-z]){_KIND_WORDS[kind]}(?:$|[^a-z])", stem)]
    if len(named) == 1:
        return named[0]
    raise MentorError("cannot tell which survey this export answers (pulse, midpoint or closing)", path=path,
                      hint="Give it with --survey-kind, or keep the question texts of `mentor survey questions`.")


# ---------------------------------------------------------------------------------------------
# Reading one answer
# ---------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_OUT_OF = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:/|out of|of)\s*(\d+)$")
_LABELLED = re.compile(r"^(\d+)\s*(?:[-\u2013\u2014:.)=]|\()\s*(?=[^\d]*[a-z])([^\d]+?)\)?$")
"""A number, a separator and its label ("4 - Good", "10 (Extremely likely)"); no second number ("4 or 5")."""
_AGREEMENT = {"strongly disagree": 1, "disagree": 2, "neither agree nor disagree": 3, "neutral": 3,
              "agree": 4, "strongly agree": 5}
"""The standard five-point agreement scale: only for the 1-5 questions."""


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", fold(text)).split())


def read_scale(text: str, name: str, labels: Sequence[str] = ()) -> tuple[float | None, str | None]:
    """A scale answer as its number, or why it cannot be read for sure.

    Read: a number on the scale ("4", "4.5"), "4/5" or "4 out of 5" on a 1-5 question, a number with
    its label ("4 - Good", "10 (Extremely likely)"), exactly one of the question's end labels, and,
    on the 1-5 questions, the five agreement answers ("Agree"). Anything else, and any number
    outside the scale, is reported: ``(None, reason)``. A blank answer is ``(None, None)``.
    """
    value = clean_text(text)
    if not value:
        return None, None
    low, high = SCALES[name]
    scale = f"the {low}-{high} scale"
    lowered = value.lower()
    number: float | None = None
    if _NUMBER.match(value):
        number = float(value)
    elif (out_of := _OUT_OF.match(lowered)) is not None:
        if float(out_of.group(2)) != high:
            return None, f"{_shown(value)} is not on {scale} of this question; left blank"
        number = float(out_of.group(1))
    elif (labelled := _LABELLED.match(lowered)) is not None:
        number = float(labelled.group(1))
    else:
        words = _words(value)
        ends = {_words(label): point for label, point in zip(labels, (low, high))}
        if words in ends:
            return float(ends[words]), None
        if (low, high) == (1, 5) and words in _AGREEMENT:
            return float(_AGREEMENT[words]), None
        return None, (f"{_shown(value)} cannot be read as a number on {scale}; left blank "
                      f"(the answer should be a number from {low} to {high})")
    if not low <= number <= high:
        return None, f"{_shown(value)} is outside {scale} of this question; left blank"
    return number, None


def _shown(value: str, limit: int = 40) -> str:
    short = value if len(value) <= limit else value[: limit - 1] + "\u2026"
    return repr(visible(short))


# ---------------------------------------------------------------------------------------------
# Reading exports
# ---------------------------------------------------------------------------------------------


@dataclass
class SurveyRead:
    """What ``read_surveys`` found: the answers used and every problem, by row."""

    answers: list[SurveyAnswer] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    """file -> survey kind (pulse, midpoint, closing)."""
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    """file -> {field: header}: the mapping used, as ``[surveys.columns]`` takes it."""
    sheets: dict[str, str] = field(default_factory=dict)
    """file -> the sheet read ("" for a CSV)."""


def survey_relationships(book: PairingBook) -> list[Relationship]:
    """Whom an answer can belong to: the workbook's relationships, then those ended (a closing
    survey may come from someone whose relationship ended)."""
    return [*book.relationships(), *(ending.relationship for ending in book.ended)]


def read_surveys(paths: Sequence[str | Path], book: PairingBook, config: Config, *, kind: str | None = None,
                 relationships: Sequence[Relationship] | None = None,
                 templates_dir: Path | None = None) -> SurveyRead:
    """Read survey exports into ``SurveyAnswer``s, every value that cannot be used reported by row.

    ``relationships``: whom an answer can belong to (default ``survey_relationships(book)``; a
    caller with circles passes them too). An answer of a person in several relationships belongs
    to the one its partner answer names; when it names none for sure the answer counts for the
    cohort figures only, with a warning. Of two answers of one person to the same survey within
    ``[surveys] duplicate_days``, the later stands and the earlier is reported.
    """
    if kind is not None and kind not in SURVEY_KINDS:
        raise MentorError(f"unknown survey kind {kind!r}", hint=f"Choose one of: {', '.join(SURVEY_KINDS)}.")
    folder = templates_dir if templates_dir is not None else config.folder / "templates"
    sets = [question_set(k, folder) for k in SURVEY_KINDS]
    people = set(book.people["email"].astype(str).str.strip().str.lower())
    known = list(relationships) if relationships is not None else survey_relationships(book)
    membership: dict[str, list[Relationship]] = {}
    for relationship in known:
        for member in relationship.members:
            mine = membership.setdefault(member.email.strip().lower(), [])
            if relationship.id not in {r.id for r in mine}:
                mine.append(relationship)
    result = SurveyRead()
    for path in paths:
        _read_export(Path(path), kind, sets, people, membership, config, result)
    _settle_duplicates(result, config.surveys.duplicate_days)
    files = {file: n for n, file in enumerate(dict.fromkeys(str(p) for p in paths))}
    result.problems.sort(key=lambda p: (files.get(p.file, -1), p.row or 0))
    return result


def _read_table_or_blank(path: Path) -> RawTable | None:
    """The export as text; None for an export with headers but no answers yet (a warning, not a stop)."""
    try:
        return read_table(path)
    except MentorError as error:
        if "has a header row but no" in error.message:
            return None
        raise


def _read_export(path: Path, kind: str | None, sets: Sequence[QuestionSet], people: set[str],
                 relationships: Mapping[str, list[Relationship]], config: Config, result: SurveyRead) -> None:
    shown = str(path)
    table = _read_table_or_blank(path)
    if table is None:
        result.problems.append(Problem(shown, "", None, "", "warning",
                                       "has no answers yet (only the header row): nothing to count"))
        return
    columns = detect_survey_columns(table.headers, config, sets, kind=kind, path=shown)
    result.kinds[shown] = columns.kind
    result.sheets[shown] = table.sheet
    result.columns[shown] = {name: columns.header(name) for name in FIELDS if name in columns.fields}
    labels = {name: (question.labels if (question := _set_of(sets, columns.kind).question(name)) else ())
              for name in SCALES}
    broken = {row for row, _column, _text in table.row_errors}
    for row, column, text in [*table.row_errors, *table.row_warnings]:
        severity: Severity = "error" if (row, column, text) in table.row_errors else "warning"
        header = table.headers[column] if column is not None and column < len(table.headers) else ""
        result.problems.append(Problem(shown, table.sheet, row, header, severity, text))
    stamps = _stamps(table, columns)
    frame = table.frame
    blank = table.blank if table.blank is not None else [False] * len(frame)
    for position in range(len(frame)):
        row = table.first_row + position
        if blank[position] or row in broken:
            continue
        cells = {name: str(frame.iat[position, index]) for name, index in columns.fields.items()}
        answer = _answer(cells, stamps[position], columns, labels, people, relationships, shown, table.sheet, row,
                         result.problems)
        if answer is not None:
            result.answers.append(answer)


def _set_of(sets: Sequence[QuestionSet], kind: str) -> QuestionSet:
    return next(questions for questions in sets if questions.kind == kind)


def _stamps(table: RawTable, columns: SurveyColumns) -> list[dt.datetime | None | bool]:
    """Per row: the submission time; None when blank, False when not readable."""
    if "timestamp" not in columns.fields:
        return [None] * len(table.frame)
    values = table.frame.iloc[:, columns.fields["timestamp"]].astype(str)
    parsed = parse_timestamp_series(values, dayfirst_default=table.dayfirst_hint)
    out: list[dt.datetime | None | bool] = []
    for value in parsed:
        if value is None:
            out.append(False)
        elif value == "":
            out.append(None)
        else:
            out.append(dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
    return out


def _answer(cells: Mapping[str, str], stamp: dt.datetime | None | bool, columns: SurveyColumns,
            labels: Mapping[str, Sequence[str]], people: set[str], relationships: Mapping[str, list[Relationship]],
            file: str, sheet: str, row: int, problems: list[Problem]) -> SurveyAnswer | None:
    """One row as an answer, or None (the reason reported) when it cannot be used."""
    def report(name: str, severity: str, text: str) -> None:
        header = columns.header(name) if name in columns.fields else ""
        problems.append(Problem(file, sheet, row, header, "error" if severity == "error" else "warning", text))

    email = clean_text(cells.get("email", "")).lower()
    if not email:
        report("email", "error", "the email address is blank: the answer cannot be matched to anyone; not used")
        return None
    if email not in people:
        report("email", "error", "the email address is not anyone's in the pairing workbook (People sheet); "
                                 "not used (correct the address in the export if it is a typo)")
        return None
    scores: dict[str, float | None] = {}
    for name in SCALES:
        value, problem = read_scale(cells.get(name, ""), name, labels.get(name, ()))
        scores[name] = value
        if problem:
            report(name, "warning", problem)
    comments = without_controls(str(cells.get("comments", ""))).strip()
    if all(value is None for value in scores.values()) and not comments:
        report("", "error", "answers none of the survey's questions (or none readably); not used")
        return None
    if stamp is False:
        report("timestamp", "warning", "the submission time cannot be read; the answer is used without a date")
    submitted = stamp if isinstance(stamp, dt.datetime) else None
    usable, relationship_id = _relationship_of(email, clean_text(cells.get("partner", "")), relationships,
                                               report if "partner" in columns.fields else
                                               lambda _name, severity, text: report("email", severity, text))
    if not usable:
        return None
    return SurveyAnswer(kind=columns.kind, email=email, relationship_id=relationship_id,
                        submitted=submitted.date() if submitted else None, quality=scores["quality"],
                        recommend=scores["recommend"], goal_progress=scores["goal_progress"],
                        comments=comments, file=file, row=row)


def _relationship_of(email: str, partner: str, relationships: Mapping[str, list[Relationship]],
                     report: Any) -> tuple[bool, str | None]:
    """(usable, the id of the one relationship ``email`` answers for): None (cohort figures only)
    when the person is in several and ``partner`` names none of them for sure; not usable when in none."""
    mine = relationships.get(email, [])
    ids = [r.id for r in mine]
    if not ids:
        report("email", "error", "this person is in no relationship of the pairing workbook; not used")
        return False, None
    if len(ids) == 1:
        return True, ids[0]
    address, named = partner.strip().lower(), _words(partner)
    chosen = [r.id for r in mine if named and any(
        address == m.email.strip().lower() or named == _words(m.name)
        for m in r.members if m.email.strip().lower() != email)]
    chosen = list(dict.fromkeys(chosen))
    if len(chosen) == 1:
        return True, chosen[0]
    report("partner", "warning", f"this person is in {len(ids)} relationships ({', '.join(ids)}) and the partner answer "
                      "does not name one of them exactly: counted in the cohort figures only")
    return True, None


def _settle_duplicates(result: SurveyRead, days: int) -> None:
    """Of two answers of one person to one survey about one relationship within ``days`` of each
    other (or either without a date), the later submission stands (the later row on a tie); the
    earlier is reported. A mentor in two pairs may answer once for each."""
    order = {file: n for n, file in enumerate(dict.fromkeys(a.file for a in result.answers))}
    by_person: dict[tuple[str, str, str], list[SurveyAnswer]] = {}
    for answer in result.answers:
        by_person.setdefault((answer.kind, answer.email, answer.relationship_id or ""), []).append(answer)
    dropped: set[int] = set()
    for (kind, _email, _relationship), answers in by_person.items():
        answers.sort(key=lambda a: (a.submitted or dt.date.min, order[a.file], a.row))
        for earlier, later in itertools.pairwise(answers):
            repeated = kind != "pulse" or earlier.submitted is None or later.submitted is None or \
                (later.submitted - earlier.submitted).days <= days
            if repeated:
                dropped.add(id(earlier))
                where = f"row {later.row}" if later.file == earlier.file else f"{later.file} row {later.row}"
                result.problems.append(Problem(earlier.file, result.sheets.get(earlier.file, ""), earlier.row, "",
                                               "warning",
                                               f"the same person answered the {kind} survey again later "
                                               f"({where}): that answer stands; this one is not counted"))
    result.answers = [a for a in result.answers if id(a) not in dropped]


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyFigures:
    """Figures over a set of answers. Means are over the answers given (``None``: none given).

    ``goal_first`` / ``goal_latest``: the mean over respondents of each one's first and latest
    goal-progress answer (by submission date), so the two compare the same people before and after.
    ``nps``: promoters (9-10) minus detractors (0-6), in percent of would-recommend answers.
    """

    responses: int
    respondents: int
    relationships: int
    quality: float | None
    recommend: float | None
    nps: float | None
    goal_first: float | None
    goal_latest: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"responses": self.responses, "respondents": self.respondents, "relationships": self.relationships,
                "quality": self.quality, "recommend": self.recommend, "nps": self.nps,
                "goal_progress_first": self.goal_first, "goal_progress_latest": self.goal_latest}


@dataclass(frozen=True)
class SurveyComment:
    """One free-text answer: private, the coordinator's per-relationship view only."""

    kind: str
    email: str
    submitted: dt.date | None
    text: str


@dataclass(frozen=True)
class RelationshipSurvey:
    """One relationship's survey figures and comments (the coordinator's view)."""

    relationship: Relationship
    figures: SurveyFigures
    comments: tuple[SurveyComment, ...]


@dataclass(frozen=True)
class SurveyGroup:
    label: str
    figures: SurveyFigures


@dataclass
class SurveySummary:
    """``summarise``'s answer: per relationship for the coordinator, aggregates for the sponsor.

    ``relationships``: one entry per relationship given, in that order (figures zero/None where
    nobody answered). ``everyone``: every answer used (the coordinator's view); ``overall``: the
    same for the sponsor, None when fewer than ``min_group_size`` people answered. ``groups``: per ``group_field`` value of the relationship's first mentee (or
    peer), a group of fewer than ``min_group_size`` respondents folded into "other groups" (and
    the smallest shown groups with it until the fold is large enough, so no small group can be
    worked out by subtraction); empty when nothing can be shown. ``by_kind``: answers per survey.
    """

    relationships: list[RelationshipSurvey]
    everyone: SurveyFigures
    """Every answer used, however few: the coordinator's cohort line."""
    overall: SurveyFigures | None
    groups: list[SurveyGroup]
    group_field: str
    min_group_size: int
    by_kind: dict[str, int]
    responses: int
    respondents: int

    def sponsor_view(self) -> dict[str, Any]:
        """Aggregates only, JSON-friendly: no name, email, relationship id or comment."""
        return {
            "responses": self.responses,
            "respondents": self.respondents,
            "by_kind": dict(self.by_kind),
            "overall": None if self.overall is None else self.overall.as_dict(),
            "group_by": self.group_field,
            "groups": [{"label": g.label, **g.figures.as_dict()} for g in self.groups],
            "min_group_size": self.min_group_size,
        }


def _mean(values: Iterable[float | None]) -> float | None:
    given = [v for v in values if v is not None]
    return round(math.fsum(given) / len(given), 2) if given else None


def _nps(values: Iterable[float | None]) -> float | None:
    given = [v for v in values if v is not None]
    if not given:
        return None
    promoters = sum(1 for v in given if v >= 9)
    detractors = sum(1 for v in given if v <= 6)
    return round(100 * (promoters - detractors) / len(given), 1)


def _order(answer: SurveyAnswer) -> tuple[Any, ...]:
    return (answer.submitted is None, answer.submitted or dt.date.min, SURVEY_KINDS.index(answer.kind),
            answer.file, answer.row)


def figures(answers: Sequence[SurveyAnswer]) -> SurveyFigures:
    """The figures of a set of answers (see ``SurveyFigures``)."""
    first: dict[str, float] = {}
    latest: dict[str, float] = {}
    for answer in sorted(answers, key=_order):
        if answer.goal_progress is not None:
            first.setdefault(answer.email, answer.goal_progress)
            latest[answer.email] = answer.goal_progress
    return SurveyFigures(
        responses=len(answers),
        respondents=len({a.email for a in answers}),
        relationships=len({a.relationship_id for a in answers if a.relationship_id}),
        quality=_mean(a.quality for a in answers),
        recommend=_mean(a.recommend for a in answers),
        nps=_nps(a.recommend for a in answers),
        goal_first=_mean(first.values()),
        goal_latest=_mean(latest.values()),
    )


def summarise(answers: Sequence[SurveyAnswer], relationships: Sequence[Relationship], *,
              people: pd.DataFrame | None = None, group_by: str = "", min_group_size: int = 5) -> SurveySummary:
    """Survey figures per relationship (the coordinator's view, comments included) and in aggregate
    (the sponsor's: overall, and per ``group_by`` field of ``people`` for each relationship's first
    mentee or peer), no aggregate over fewer than ``min_group_size`` respondents.

    ``answers``: from ``read_surveys`` (or built by hand); ``relationships``: the relationships to
    report on, in the order to show them (pairs and circles alike). Answers of a relationship not
    given, or of none (a person in several who did not say which), count in the aggregates only.
    """
    minimum = max(1, int(min_group_size))
    per: dict[str, list[SurveyAnswer]] = {}
    for answer in answers:
        if answer.relationship_id:
            per.setdefault(answer.relationship_id, []).append(answer)
    rows = []
    for relationship in relationships:
        own = sorted(per.get(relationship.id, []), key=_order)
        comments = tuple(SurveyComment(a.kind, a.email, a.submitted, a.comments) for a in own if a.comments)
        rows.append(RelationshipSurvey(relationship, figures(own), comments))
    everyone = figures(answers)
    by_kind: dict[str, int] = {kind: sum(1 for a in answers if a.kind == kind) for kind in SURVEY_KINDS}
    return SurveySummary(
        relationships=rows,
        everyone=everyone,
        overall=everyone if everyone.respondents >= minimum else None,
        groups=_groups(answers, relationships, people, group_by, minimum),
        group_field=group_by if people is not None else "",
        min_group_size=minimum,
        by_kind=by_kind,
        responses=everyone.responses,
        respondents=everyone.respondents,
    )


def _groups(answers: Sequence[SurveyAnswer], relationships: Sequence[Relationship], people: pd.DataFrame | None,
            group_by: str, minimum: int) -> list[SurveyGroup]:
    """Figures per group of respondents, small groups folded so none under ``minimum`` shows."""
    if not group_by or people is None or group_by not in people.columns or not answers:
        return []
    keyed = people.assign(email=people["email"].astype(str).str.strip().str.lower()).drop_duplicates("email")
    labels = dict(zip(keyed["email"], keyed[group_by].astype(str).str.strip()))
    group_of = {}
    for relationship in relationships:
        first = (relationship.others or relationship.members)[0].email.strip().lower() if relationship.members else ""
        group_of[relationship.id] = labels.get(first, "") or "(not given)"
    members: dict[str, list[SurveyAnswer]] = {}
    for answer in answers:
        members.setdefault(group_of.get(answer.relationship_id or "", "(not given)"), []).append(answer)
    sizes = {label: len({a.email for a in group}) for label, group in members.items()}
    ranked = sorted(members, key=lambda label: (-sizes[label], label))
    shown = [label for label in ranked if sizes[label] >= minimum]
    folded = [label for label in ranked if sizes[label] < minimum]

    def respondents(labels_: Sequence[str]) -> int:
        return len({a.email for label in labels_ for a in members[label]})

    while folded and respondents(folded) < minimum and shown:
        folded.append(shown.pop())
    if not shown:
        return []
    out = [SurveyGroup(label, figures(members[label])) for label in shown]
    if folded:
        out.append(SurveyGroup("other groups", figures([a for label in folded for a in members[label]])))
    return out

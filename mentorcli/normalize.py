"""Pure normalisers: one form answer in, one clean value out.

Each function takes the text of one cell and returns the stored value, or ``None`` when
the answer cannot be read (the caller turns that into a reported problem). Nothing here
knows about files or rows, so every rule can be tested on its own. The ``*_series``
helpers apply a normaliser to a whole column once per distinct answer, because signup
columns repeat the same few answers thousands of times.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from dateutil import parser as date_parser

from mentorcli.roles import read_role
from mentorcli.untrusted import without_controls

# --- text -----------------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACES = re.compile(r"\s+")


def clean_text(value: object) -> str:
    """Trimmed text with runs of whitespace (also non-breaking spaces) as one space, no control characters."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = without_controls(str(value).translate(_INVISIBLE))
    return _SPACES.sub(" ", text).strip()


_JOIN = "\x00"


def clean_texts(values: Sequence[object]) -> list[str]:
    """:func:`clean_text` of many values at once, fast when (as usual) nearly all are clean.

    Calling ``clean_text`` on 100,000 names costs more than reading them, so only the values
    it could change go through it. A text is left as it is by ``clean_text`` when it is
    printable (``str.isprintable`` is False for every whitespace character but the space,
    and for the invisible ones) and has no double space and no space at either end. Those
    tests run over all values joined together, in C; only when one fails are the values
    that fail it looked up.
    """
    texts: list[str] = list(values)  # type: ignore[arg-type]
    if not texts:
        return texts
    try:
        joined = _JOIN.join(texts)
    except TypeError:  # not all text: value by value
        return [clean_text(value) for value in texts]
    if joined.count(_JOIN) != len(texts) - 1:  # a NUL inside a value would misplace the spaces found below
        return [clean_text(value) for value in texts]
    unclean: set[int] = set()
    if not "".join(texts).isprintable():
        unclean.update(i for i, text in enumerate(texts) if not text.isprintable())
    spaces = [*_find_all(joined, "  "), *_find_all(joined, _JOIN + " ", skip=1), *_find_all(joined, " " + _JOIN)]
    if joined.startswith(" "):
        spaces.append(0)
    if joined.endswith(" "):
        spaces.append(len(joined) - 1)
    if spaces:
        starts = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))[:-1] + 1, out=starts[1:])
        unclean.update((np.searchsorted(starts, spaces, side="right") - 1).tolist())
    for index in unclean:
        texts[index] = clean_text(texts[index])
    return texts


def _find_all(text: str, part: str, *, skip: int = 0) -> list[int]:
    """Where ``part`` occurs in ``text`` (plus ``skip``), by ``str.find``: cheap when it is rare."""
    found = []
    at = text.find(part)
    while at >= 0:
        found.append(at + skip)
        at = text.find(part, at + 1)
    return found


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case ASCII form for comparing answers: "Protégé" -> "protege"."""
    folded = unicodedata.normalize("NFKD", text.replace("\u2019", "'")).encode("ascii", "ignore").decode("ascii")
    return _SPACES.sub(" ", folded.lower()).strip()


# --- multi-select answers ---------------------------------------------------------------------

_LIST_LITERAL = re.compile(r"\[\s*((?:'[^']*'|\"[^\"]*\")(?:\s*,\s*(?:'[^']*'|\"[^\"]*\"))*)\s*,?\s*\]")
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_DIGIT_COMMA = re.compile(r",(?<=\d,)(?=\d{3}\b)")  # "," first: the regex engine then skips to each comma
_EXTRA_SEPARATORS = re.compile(r"\s*/\s*|\s+and\s+|\s*&\s*|\s*\|\s*|\s+or\s+", re.IGNORECASE)


_NOTHING_KNOWN: frozenset[str] = frozenset()
_BLANK_RUNS = re.compile(r"[^\S\r\n]{2,}|\t")


@functools.lru_cache(maxsize=256)
def _folded_set(texts: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fold(t) for t in texts)


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` except inside brackets: "Data (SQL, Python), Design" is two options.

    One pass over the brackets and separators ``re`` finds: linear in the length of the answer.
    """
    if "(" not in text and "[" not in text and "{" not in text:
        return text.split(separator)
    marks = re.compile(r"[()\[\]{}]|" + re.escape(separator))
    parts, depth, start = [], 0, 0
    for mark in marks.finditer(text):
        char = mark.group(0)
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            parts.append(text[start:mark.start()])
            start = mark.end()
    parts.append(text[start:])
    return parts


@functools.lru_cache(maxsize=256)
def _longest_known(known: frozenset[str]) -> int:
    """How many comma-separated pieces the longest known option spans ("Design, UX" is 2)."""
    return max((option.count(",") + 1 for option in known), default=1)


def _merge_known(pieces: list[str], known: frozenset[str], glue: str) -> list[str]:
    """Re-join neighbouring pieces that together make a known option ("Design, UX").

    A known option of k commas is made of at most k + 1 pieces, so only that many are tried
    at each place: the work grows with the answer's length, not its square (or cube).
    """
    if not known:
        return pieces
    span = _longest_known(known)
    out, i = [], 0
    while i < len(pieces):
        for j in range(min(len(pieces), i + span), i + 1, -1):
            joined = glue.join(pieces[i:j])
            if fold(joined) in known:
                out.append(joined)
                i = j
                break
        else:
            out.append(pieces[i])
            i += 1
    return out


def _merge_continuations(pieces: list[str], glue: str) -> list[str]:
    """Attach a piece that starts in lower case to the one before ("Research, analysis").

    The pieces of one option are gathered and joined once at the end: re-joining a growing
    text at every piece would make a long answer of lower-case pieces quadratic."""
    out: list[str] = []
    tails: dict[int, list[str]] = {}
    for piece in pieces:
        stripped = piece.strip()
        if out and stripped[:1].islower():
            tails.setdefault(len(out) - 1, [out[-1]]).append(stripped)
        else:
            out.append(stripped)
    for index, parts in tails.items():
        out[index] = glue.join(parts)
    return out


def split_options(
    text: object,
    *,
    known: Iterable[str] = (),
    capitalised: bool = False,
    free_text: bool = False,
) -> tuple[str, ...]:
    """A multi-select answer as its options, in the order given, without repeats.

    Forms join ticked options differently: Google Forms with ", ", Microsoft Forms with ";"
    (and a trailing ";"), exports of other tools with line breaks. The first separator
    present decides, so an option that itself contains a comma survives wherever the form
    used ";" or line breaks. For comma-joined answers an option is kept whole when it is in
    ``known`` (e.g. the ``[availability]`` answers of the config), when the comma is inside
    brackets, or — for columns whose options are ``capitalised`` — when the next piece
    starts in lower case. Google Forms puts a space after its commas, so a bare comma
    ("Design,UX") splits only where no ", " occurs. ``free_text`` also splits on "/", "and",
    "&", "|" and "or", for typed answers such as "English and French".
    """
    if not isinstance(text, str):
        value = clean_text(text)
    elif text.isascii():  # the invisible characters are not ASCII: nothing to take out
        value = text.strip()
    else:
        value = text.translate(_INVISIBLE).strip()
    if not value:
        return ()
    if "  " in value or "\t" in value:  # runs of blanks would make the separator regexes backtrack
        value = _BLANK_RUNS.sub(" ", value)
    known_folded = _folded_set(tuple(known)) if known else _NOTHING_KNOWN
    listed = _LIST_LITERAL.fullmatch(value) if value[0] == "[" else None
    if listed:  # a list written out by a program: "['6:00-7:00pm F', '3:00-4:00pm Sun']"
        items = [a or b for a, b in _QUOTED.findall(listed.group(1))]
        return unique_options(items)
    if known_folded and fold(value) in known_folded:
        return (_SPACES.sub(" ", value),)
    if "\n" in value or "\r" in value:
        pieces = re.split(r"[\r\n]+", value)
    elif ";" in value:
        pieces = _split_top_level(value, ";")
    else:
        protected = _DIGIT_COMMA.sub("\x00", value)
        glue = ", " if ", " in protected else ","
        pieces = _split_top_level(protected, glue)
        if "\x00" in protected:
            pieces = [p.replace("\x00", ",") for p in pieces]
        pieces = [p.strip() for p in pieces]
        if known_folded:
            pieces = _merge_known(pieces, known_folded, ", ")
        if capitalised and glue == ", ":
            pieces = _merge_continuations(pieces, glue)
    if free_text:
        pieces = [part for piece in pieces for part in _split_top_level_regex(piece, known_folded)]
    return unique_options(pieces)


def unique_options(pieces: Iterable[str]) -> tuple[str, ...]:
    """Options trimmed, blanks dropped, repeats (ignoring case and accents) dropped, order kept."""
    out: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        option, key = _option_and_key(piece)
        if option and key not in seen:
            seen.add(key)
            out.append(option)
    return tuple(out)


@functools.lru_cache(maxsize=65536)
def _option_and_key(piece: str) -> tuple[str, str]:
    """One option trimmed, and the key it is compared by; cached, as a column's options repeat."""
    option = without_controls(piece).strip().strip(",;").strip()
    if "  " in option or "\t" in option or "\xa0" in option:
        option = _SPACES.sub(" ", option)
    return option, fold(option)


_BRACKET = re.compile(r"[(\[{]")


def _split_top_level_regex(piece: str, known_folded: frozenset[str]) -> list[str]:
    if fold(piece) in known_folded or _BRACKET.search(piece):
        return [piece]
    return _EXTRA_SEPARATORS.split(piece)


def options_look_capitalised(values: Iterable[str]) -> bool:
    """True when a column's ", "-separated pieces are a form's fixed, capitalised options.

    Counted over distinct pieces: a form's options start in upper case, and the tail of an
    option that contains a comma ("Management, coaching and feedback") is one of very few
    distinct pieces that start in lower case, however often it is ticked. Typed lists
    ("python, sql, excel") have many distinct lower-case pieces and fail the test.
    """
    upper: set[str] = set()
    lower: set[str] = set()
    for value in values:
        if ";" in value or "\n" in value:
            continue
        for piece in value.split(", ")[1:]:
            piece = piece.strip()
            first = piece[:1]
            if first.isupper() or first.isdigit():
                upper.add(piece)
            elif first.islower():
                lower.add(piece)
    return len(upper) >= 3 and len(lower) <= max(2, len(upper) // 4)


# --- role -------------------------------------------------------------------------------------


def parse_role(text: object) -> str | None:
    """``mentor``, ``mentee`` or ``both`` from the words people use; None when not sure.

    "I'd like to be a mentor" -> mentor; "I'd like a mentor" / "I want to be mentored" -> mentee;
    "Mentor, Mentee" / "Both" / "I am open to either role." -> both; a negation ("not a mentor")
    or anything unclear -> None. The reader and its table of phrasings are in ``roles``;
    ``roles.read_role`` also says why an answer is not read.
    """
    return read_role(clean_text(text)).role


# --- yes / no ---------------------------------------------------------------------------------

_TRUE_WORDS = {"yes", "y", "true", "t", "1", "x", "ok", "okay", "sure", "agree", "agreed", "i agree",
               "consent", "i consent", "accept", "accepted", "i accept", "confirmed", "confirm", "given",
               "checked", "ticked", "on", "oui", "ja", "si", "sim", "\u2713", "\u2714", "\u2611", "yes please",
               "of course", "absolutely", "definitely", "i do", "yep", "yeah"}
_FALSE_WORDS = {"no", "n", "false", "f", "0", "disagree", "decline", "declined", "refuse", "refused",
                "not given", "unchecked", "off", "non", "nein", "nope", "nah", "no thanks", "none", "-"}
_NEGATION = re.compile(r"\b(not|don'?t|do not|does not|doesn'?t|no|never|disagree|declines?|refuse|withdraw|"
                       r"object|rather not|prefer not|opt out)\b")
_AFFIRMATION = re.compile(r"\b(yes|agree|consent|accept|confirm|happy to|permission|i understand|allow|"
                          r"authori[sz]e|acknowledge|opt in)\b")


def parse_bool(text: object) -> bool | None:
    """True / False from a yes/no answer or a ticked agreement text; None when unclear.

    A checkbox question exports the text of the ticked box ("I agree to my data being
    shared"), so agreement words count as yes unless the text negates them.
    """
    raw = clean_text(text).lower()
    if raw in _TRUE_WORDS:
        return True
    value = fold(raw).rstrip(".!")
    if not value:
        return None
    if value in _TRUE_WORDS:
        return True
    if value in _FALSE_WORDS:
        return False
    if _NEGATION.search(value):
        return False
    if _AFFIRMATION.search(value):
        return True
    return None


# --- numbers ----------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "zero": 0, "none": 0, "no": 0, "nil": 0, "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "couple": 2,
    "a couple": 2, "pair": 2, "three": 3, "few": 3, "a few": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50,
}
_NUMBER_TOKEN = re.compile(
    r"(\d+(?:[.,]\d+)?)|\b(" + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS if " " not in w), key=len,
                                                reverse=True)) + r")\b"
)


def _numbers(text: str) -> list[float]:
    """Numbers in ``text``, digits or words ("two", "a couple"), in order."""
    text = text.replace("a couple", "couple").replace("a few", "few")
    found = []
    for digits, word in _NUMBER_TOKEN.findall(text):
        if digits:
            found.append(float(digits.replace(",", ".")))
        elif word not in ("a", "an", "no"):
            found.append(float(_NUMBER_WORDS[word]))
    return found


_SURE_NUMBER_WORDS = {word: count for word, count in _NUMBER_WORDS.items()
                      if word not in ("none", "no", "nil", "a", "an", "few", "a few")}
_COUNT_NUMBER = r"(?:\d+(?:\.0+)?|" + "|".join(sorted(map(re.escape, _SURE_NUMBER_WORDS), key=len, reverse=True)) + ")"
_COUNT_NOUN = (r"(?:mentees?|mentors?|people|persons?|students?|proteges?|participants?|max(?:imum)?|at most"
               r"|at (?:a|one) time|at once|in total|total|per (?:cohort|round|term|year|programme|program))")
_COUNT_ANSWER = re.compile(
    r"(?:(?:up ?to|max(?:imum)?(?: of)?|at most)\s+)?"
    rf"(?P<low>{_COUNT_NUMBER})(?:\s*(?:-|to|or|/)\s*(?P<high>{_COUNT_NUMBER}))?"
    rf"(?:\s+{_COUNT_NOUN})*"
    rf"|(?:a|an|one|single)(?:\s+{_COUNT_NOUN})+"
)
_COUNT_ZERO = re.compile(r"(?:none|no|zero|nil|0)(?:\s+(?:mentees?|mentors?))?")
_COUNT_NOT_NOW = re.compile(r"not now|not this time|n/?a")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"), "-")
_NEGATIVE = re.compile(r"(?:^|[^\d\s])\s*-\s*\d|\b(?:minus|negative)\b")
_SCIENTIFIC = re.compile(r"\d(?:\.\d*)?e[+-]?\d")
_FRACTION = re.compile(r"\d[.,]\d|\b(?:half|quarter)\b")
_HEDGED = re.compile(r"\?|\b(?:not|no|don'?t|never|maybe|perhaps|possibly|probably|unsure|depends|about|around|"
                     r"approx(?:imately)?|roughly|or so|ish)\b")
MAX_COUNT = 10_000
"""Above this a head count is not a head count (a pasted id, a phone number)."""


def parse_count(text: object) -> int | None:
    """A head count (capacity, wants) read for sure, or None (see :func:`read_count`)."""
    return read_count(text)[0]


def read_count(text: object) -> tuple[int | None, str | None]:
    """A head count (capacity, wants) and, when it cannot be read for sure, what is wrong with it.

    Read for sure: "2", "2.0", "two", "2 mentees", "Up to 3", "max 2", "1-2" / "2 or 3"
    (a range counts as its upper end: it is what the person offered), "a mentor", "none" /
    "0", and ";"-joined ticks of those ("2;3" -> 3, "2;xyz" -> 2). ``(count, None)`` then. An answer that names a number the tool cannot take
    for sure — negative ("-1", "-0", "minus two"), scientific ("1e9"), a fraction ("1.5"),
    hedged or negated ("not more than 2?", "maybe 3"), too large, or mixed with other words —
    gives ``(None, reason)``: an error on the row, never a guess. An answer with no number at
    all ("as many as needed") gives ``(None, None)``: the caller uses the default and says so.
    The reason describes the answer, never repeats it (logs carry no cell values).
    """
    value = fold(clean_text(text).translate(_DASHES)).rstrip(". ")  # folding would drop a "−" or "–"
    if not value:
        return None, None
    if _COUNT_ZERO.fullmatch(value):
        return 0, None
    if _COUNT_NOT_NOW.fullmatch(value):
        return None, None
    if ";" in value:  # a multi-select (Microsoft Forms): the parts that are counts, when no part is unsure
        return _read_count_parts([part for part in value.split(";") if part.strip()])
    sure = _COUNT_ANSWER.fullmatch(value)
    if sure:
        if sure.group("low") is None:
            return 1, None
        count = max(_count_value(sure.group("low")), _count_value(sure.group("high")))
        if count > MAX_COUNT:
            return None, f"is too large for a head count (more than {MAX_COUNT:,})"
        return count, None
    reason = _count_problem(value)
    if reason is None and (_numbers(value) or re.search(r"\d", value)):
        reason = "names a number the tool cannot read for sure"
    return None, reason


def _read_count_parts(parts: list[str]) -> tuple[int | None, str | None]:
    """The largest count among ``;``-joined parts ("2;3" -> 3, "2;xyz" -> 2); a part that names a
    number unsurely makes the whole answer unsure."""
    readings = [read_count(part) for part in parts]
    for count, reason in readings:
        if reason is not None:
            return None, reason
    counts = [count for count, _reason in readings if count is not None]
    return (max(counts), None) if counts else (None, None)


def _count_value(token: str | None) -> int:
    if token is None:
        return 0
    if token[0].isdigit():
        return int(float(token)) if len(token) < 30 else MAX_COUNT + 1
    return _SURE_NUMBER_WORDS[token]


def _count_problem(value: str) -> str | None:
    """What makes a head count that names a number unreadable for sure; None when nothing does."""
    if _NEGATIVE.search(value):
        return "is negative"
    if _SCIENTIFIC.search(value):
        return "is written in scientific notation"
    if _FRACTION.search(value):
        return "is not a whole number"
    if _HEDGED.search(value) and (_numbers(value) or re.search(r"\d", value)):
        return "is hedged or negated (e.g. \"not\", \"maybe\", \"?\")"
    return None


_MONTHS = re.compile(r"(\d+(?:[.,]\d+)?|\w+)\s*(?:months?|mos?)\b")
_LESS = re.compile(r"^(<|less than|under|below|fewer than|up to|not quite)\s*")
_MORE = re.compile(r"(\+|or more|and more|and above|and up|plus)\s*(years?|yrs?|y)?$|^(>|more than|over|above|at least)\s*")
_NO_EXPERIENCE = re.compile(r"^(none|no|zero|nil|no experience|not yet|n/?a|new|just started|beginner)$")


def parse_years(text: object) -> float | None:
    """Years of experience: "7" -> 7, "5-10" -> 7.5, "10+" -> 10, "less than 1" -> 0.5.

    Months count as a fraction of a year ("6 months" -> 0.5). "Less than N" is N/2 (the
    middle of what it can mean); "N+" / "more than N" is N. None when no number is given.
    """
    value = fold(clean_text(text))
    if not value:
        return None
    if _NO_EXPERIENCE.match(value):
        return 0.0
    months = _MONTHS.search(value)
    if months and not re.search(r"\b(years?|yrs?)\b", value):
        numbers = _numbers(months.group(0))
        return round(numbers[0] / 12, 2) if numbers else None
    numbers = _numbers(value)
    if not numbers:
        return None
    if _LESS.match(value):
        return numbers[0] / 2
    if _MORE.search(value):
        return numbers[0]
    if len(numbers) >= 2 and re.search(r"\d\s*(-|to|and|–)\s*\d|\w\s+(to|-)\s+\w", value):
        return (numbers[0] + numbers[1]) / 2
    years = numbers[0]
    if years > 80:
        return None
    return years


# --- timestamps -------------------------------------------------------------------------------

MIN_YEAR, MAX_YEAR = 1970, 2200
"""A submission time outside these years is a typo (or hostile): reported and left blank."""

# "GMT+3" at the end of a timestamp means three hours ahead of UTC; dateutil reads it the
# POSIX way (three hours behind), so the suffix is taken off and applied here.
_TZ_SUFFIX = re.compile(r"\s*\(?\b(?:GMT|UTC)\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?\)?\s*$", re.IGNORECASE)
_TZ_SUFFIX_PRESENT = re.compile(r"\b(?:GMT|UTC)\s*(?:[+-]\s*\d{1,2}(?::?\d{2})?)?\)?\s*$", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})\b")
_ISO_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def split_tz_suffix(text: str) -> tuple[str, int | None]:
    """``(text without the suffix, offset minutes east of UTC)``; offset None when absent."""
    match = _TZ_SUFFIX.search(text)
    if not match:
        return text, None
    sign, hours, minutes = match.groups()
    offset = 0 if hours is None else int(hours) * 60 + int(minutes or 0)
    return text[: match.start()].strip(), -offset if sign == "-" else offset


def detect_dayfirst(values: Iterable[str], default: bool = False) -> bool | None:
    """Whether a column of numeric dates is day-first (16/02/2021) rather than month-first.

    Decided once per column, from any value that only reads one way; dotted dates
    (16.02.2021) are European and day-first. None when every value reads both ways and
    nothing else tells (``default`` is then the caller's best guess).
    """
    dotted = False
    numeric = False
    for value in values:
        match = _NUMERIC_DATE.match(value)
        if not match:
            continue
        numeric = True
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 >= second:
            return True
        if second > 12 >= first:
            return False
        dotted = dotted or "." in value[: match.end()]
    if dotted:
        return True
    return None if numeric else default


def parse_timestamp(text: object, *, dayfirst: bool = False) -> str | None:
    """A submission time as ISO 8601 UTC (``2026-09-01T10:00:00Z``); None when unreadable.

    Times without a zone are taken as UTC (forms export the owner's local time without
    saying which; the value orders duplicate signups, and that needs no zone).
    """
    value = clean_text(text)
    if not value:
        return None
    body, offset = split_tz_suffix(value)
    try:
        year_first = bool(re.match(r"^\d{4}", body))
        stamp = date_parser.parse(body, dayfirst=dayfirst and not year_first, yearfirst=year_first)
    except (ValueError, OverflowError, TypeError):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    elif offset is not None:
        stamp = stamp - dt.timedelta(minutes=offset)
    if not MIN_YEAR <= stamp.year <= MAX_YEAR:
        return None
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


_FAST_FORMATS_MONTHFIRST = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y")
_FAST_FORMATS_DAYFIRST = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                          "%d/%m/%Y", "%d.%m.%Y")


def _parse_known_formats(body: pd.Series, present: pd.Series, dayfirst: bool) -> pd.Series:
    """Vectorised parse with the export formats forms use; NaT where none fits."""
    formats = ("ISO8601",) + (_FAST_FORMATS_DAYFIRST if dayfirst else _FAST_FORMATS_MONTHFIRST)
    parsed = pd.Series(pd.NaT, index=body.index, dtype="datetime64[ns, UTC]")
    todo = present.copy()
    for fmt in formats:
        if not todo.any():
            break
        attempt = pd.to_datetime(body[todo], format=fmt, errors="coerce", utc=True)
        ok = attempt.notna()
        if ok.any():  # a year past 2262 or before 1677 comes back in another unit: left to the checks below
            years = attempt.dt.year
            ok &= (years >= MIN_YEAR) & (years <= MAX_YEAR)
        parsed.loc[attempt.index[ok]] = attempt[ok].dt.as_unit("ns")
        todo.loc[attempt.index[ok]] = False
    return parsed


def _order_decides(body: pd.Series, present: pd.Series, codes: np.ndarray, *, default: bool) -> bool:
    """Day-first or not when every date reads both ways: exports list submissions in time order,
    so the reading under which the column runs forwards more often is the right one.

    ``body`` holds distinct values; ``codes`` says which one each row holds, in row order."""
    def backwards(dayfirst: bool) -> int:
        stamps = _parse_known_formats(body, present, dayfirst).take(codes).dropna()
        return int((stamps.diff().dt.total_seconds() < 0).sum())

    month_first, day_first = backwards(False), backwards(True)
    if month_first == day_first:
        return default
    return day_first < month_first


def parse_timestamp_series(values: pd.Series, *, dayfirst_default: bool = False) -> pd.Series:
    """:func:`parse_timestamp` for a whole column: ``""`` where blank, None where unreadable.

    Whether 05/09 is May or September is decided for the whole column (see
    :func:`parse_timestamp_values`).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    parsed = parse_timestamp_values(list(uniques), codes, dayfirst_default=dayfirst_default)
    table = np.fromiter(parsed, dtype=object, count=len(parsed))
    return pd.Series(table[codes], index=values.index, dtype=object)


def parse_timestamp_values(values: Sequence[object], codes: np.ndarray, *,
                           dayfirst_default: bool = False) -> list[str | None]:
    """:func:`parse_timestamp` for the distinct values of a column: ``""`` where blank, None
    where unreadable. ``codes`` gives, per row in row order, the position of its value.

    The common export formats are parsed by pandas in one vectorised pass each; only what
    they leave is handed to dateutil, once per value. Whether 05/09 is May or September is
    decided for the whole column (see :func:`detect_dayfirst`; the first value that decides
    it is the same among distinct values as among rows), by the order of the rows when no
    date decides it, and by ``dayfirst_default`` when nothing does.
    """
    text = pd.Series(list(values), dtype=object).fillna("").astype(str).str.strip()
    out = pd.Series([""] * len(text), index=text.index, dtype=object)
    present = text != ""
    if not present.any():
        return out.tolist()
    has_suffix = text.str.contains(_TZ_SUFFIX_PRESENT, na=False)
    body = text
    offset = pd.Series(0.0, index=text.index)
    if has_suffix.any():
        marked = text[has_suffix]
        suffix = marked.str.extract(_TZ_SUFFIX)
        hours = pd.to_numeric(suffix[1], errors="coerce").fillna(0)
        minutes = pd.to_numeric(suffix[2], errors="coerce").fillna(0)
        offset.loc[marked.index] = (hours * 60 + minutes) * np.where(suffix[0] == "-", -1, 1)
        body = text.copy()
        body.loc[marked.index] = marked.str.replace(_TZ_SUFFIX, "", regex=True).str.strip()
    dayfirst = detect_dayfirst(body[present].tolist())
    if dayfirst is None:
        dayfirst = _order_decides(body, present, np.asarray(codes), default=dayfirst_default)
    parsed = _parse_known_formats(body, present, dayfirst)
    shifted = parsed - pd.to_timedelta(offset.where(has_suffix & parsed.notna(), 0), unit="min")
    good = shifted.notna() & (shifted.dt.year >= MIN_YEAR) & (shifted.dt.year <= MAX_YEAR)
    out.loc[good] = shifted[good].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    rest = present & ~good
    if rest.any():
        out.loc[rest] = [parse_timestamp(v, dayfirst=dayfirst) for v in text[rest]]
    return out.tolist()

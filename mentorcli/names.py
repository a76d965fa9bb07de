"""Whom an avoid, request or ranked-choice answer names, read once and the same way everywhere.

``mentor check`` reports on each row what its answer could not name for sure (a warning with
file, sheet, row and column), and ``mentor match`` turns the same reading into rules (avoid) and
bonuses (request, choice): both call :func:`resolve_answers`, so what the coordinator is told is
what the pairing does.

What people write, and how it is read (``NameIndex.reference``):

- an email address: that person; with a typo, the one participant within one or two edits
  (rapidfuzz), said in a warning; two or more that close: none, and the warning lists them;
- "Name (email)" / "Name <email>": the address decides, so a namesake is never named;
- a full name, "Surname, First", "First S." (initial), or a first name only one person has;
- a name inside a sentence ("I would like Kim Other please"): full names only, since a lone
  word in a sentence ("May", "Will") is too often not a name;
- several people in one answer, separated by line breaks, ";", ",", "and", "&", "/" or "+".

A name several people share is ambiguous: for a request or a choice nobody is taken (a wrong
guess would pair the wrong person); for an avoid answer every namesake is avoided, the safe side,
since an avoid only removes pairs, and the warning says so. Looking up is a dictionary look-up
per distinct answer; fuzzy matching runs only for addresses that match nobody exactly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NOT_WORD = re.compile(r"[^\w]+")
_LINES = re.compile(r"[\r\n;]+")
_JOINERS = re.compile(r"\s+(?:and|&|or|und|et|y|e|en)\s+|\s*[&/+]\s*", re.IGNORECASE)
_BRACKETS = re.compile(r"[()<>\[\]\"']")
MAX_EDITS = 2
"""How far (Levenshtein edits) a written address may be from a participant's to be read as theirs."""
FUZZY_BUDGET = 20_000_000
"""Unknown addresses x participants compared for typos at most (about 4 s): a file full of unknown
addresses must not take hours; past it an address is reported as naming nobody, unchecked."""

# how a reference was read; the first group is taken as written, the rest are warnings
EXACT = ("email", "name", "first name", "surname, first", "initial", "in text")
WARNED = ("close email", "name, address unknown", "ambiguous", "close emails", "nobody", "self")


def name_key(text: str) -> str:
    """A person's name as written anywhere: accents folded, case and punctuation ignored."""
    folded = str(text)
    if not folded.isascii():
        folded = "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", folded.casefold()).split())


@dataclass(frozen=True)
class Named:
    """One reference inside an answer and whom it names."""

    piece: str
    people: tuple[int, ...]
    how: str
    """One of ``EXACT`` (read for sure) or ``WARNED``."""


_SEP = "\x01"
_ASCII_NON_WORD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}


def name_keys(names: pd.Series) -> list[str]:
    """:func:`name_key` of a whole column, the same keys, at C speed for ASCII names.

    All names are joined into one text, which is case-folded, has every non-word character
    made a space and runs of spaces collapsed in a few whole-text calls; only non-ASCII names
    (accents to fold) go one by one.
    """
    texts = [t if isinstance(t, str) else ("" if pd.isna(t) else str(t)) for t in names.tolist()]
    if not texts:
        return []
    joined = _SEP.join(texts)
    if joined.count(_SEP) != max(len(texts) - 1, 0):  # a name holding the separator: one by one
        return [name_key(text) for text in texts]
    table = dict(_ASCII_NON_WORD)
    table[ord(_SEP)] = _SEP
    folded = re.sub(" *\x01 *", _SEP, re.sub(" {2,}", " ", joined.casefold().translate(table)))
    keys = folded.strip(" ").split(_SEP)
    if not joined.isascii():
        for i, text in enumerate(texts):
            if not text.isascii():
                keys[i] = name_key(text)
    return keys


def _lowered_emails(emails: list[object]) -> list[str]:
    """Addresses trimmed and lower-cased (a roster's already are: then in a few whole-list calls)."""
    texts = [str(e) for e in emails]
    joined = _SEP.join(texts)
    if joined.count(_SEP) == max(len(texts) - 1, 0) and not re.search(r"\s", joined):
        return joined.lower().split(_SEP) if texts else []
    return [text.strip().lower() for text in texts]


def _grouped(keys: list[str]) -> dict[str, tuple[int, ...]]:
    """``{key: positions}``: one tuple per key, built in C for the keys that occur once."""
    groups: dict[str, tuple[int, ...]] = dict(zip(keys, ((i,) for i in range(len(keys)))))
    repeated = pd.Series(keys, dtype=object).duplicated(keep=False).to_numpy()
    if repeated.any():
        several: dict[str, list[int]] = {}
        for i in np.flatnonzero(repeated).tolist():
            several.setdefault(keys[i], []).append(i)
        groups.update((key, tuple(positions)) for key, positions in several.items())
    groups.pop("", None)
    return groups


@dataclass
class NameIndex:
    """Participants by email, full name, first name and "first initial", for reading answers.

    The first-name and initial tables are built on first use: most answers give full names or
    addresses, and at 100,000 people each table costs a noticeable part of a second.
    """

    by_email: dict[str, int]
    by_name: dict[str, tuple[int, ...]]
    longest: int
    keys: list[str] = field(default_factory=list, repr=False)
    _by_first: dict[str, tuple[int, ...]] | None = field(default=None, repr=False)
    _by_initial: dict[str, tuple[int, ...]] | None = field(default=None, repr=False)
    _emails: list[str] | None = field(default=None, repr=False)
    _read: dict[str, tuple[Named, ...]] = field(default_factory=dict, repr=False)
    _close: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)
    unchecked: int = 0
    """Unknown addresses not compared for typos, the budget being spent."""

    @classmethod
    def build(cls, people: pd.DataFrame) -> NameIndex:
        emails = _lowered_emails(people["email"].tolist())
        by_email = dict(zip(emails, range(len(emails))))
        by_email.pop("", None)
        keys = name_keys(people["name"])
        by_name = _grouped(keys)
        longest = max(map(str.count, by_name, [" "] * len(by_name)), default=0) + 1
        return cls(by_email, by_name, longest, keys)

    @property
    def by_first(self) -> dict[str, tuple[int, ...]]:
        if self._by_first is None:
            self._by_first = _grouped([key.split(" ", 1)[0] for key in self.keys])
        return self._by_first

    @property
    def by_initial(self) -> dict[str, tuple[int, ...]]:
        if self._by_initial is None:
            self._by_initial = _grouped([_first_and_initial(key) for key in self.keys])
        return self._by_initial

    # --- one reference ------------------------------------------------------------------------

    def reference(self, piece: str) -> Named:
        """Whom one reference (an address, a name, "Name (address)", a sentence) names."""
        text = " ".join(str(piece).split())
        emails = EMAIL.findall(text)
        if emails:
            return self._by_email(text, emails[0].lower())
        return self._by_name(text)

    def _by_email(self, text: str, email: str) -> Named:
        person = self.by_email.get(email)
        if person is not None:
            return Named(text, (person,), "email")
        close = self.close_emails(email)
        if len(close) == 1:
            return Named(text, close, "close email")
        if close:
            return Named(text, close, "close emails")
        beside = _BRACKETS.sub(" ", EMAIL.sub(" ", text))
        if name_key(beside):
            named = self._by_name(beside)
            if named.how in EXACT:
                return Named(text, named.people, "name, address unknown")
        return Named(text, (), "nobody")

    def close_emails(self, email: str) -> tuple[int, ...]:
        """Participants whose address is within ``MAX_EDITS`` edits of ``email`` (one for short ones)."""
        if email in self._close:
            return self._close[email]
        if self._emails is None:
            self._emails = list(self.by_email)
        if (len(self._close) + 1) * len(self._emails) > FUZZY_BUDGET:
            self.unchecked += 1
            return ()
        limit = 1 if len(email) < 12 else MAX_EDITS
        hits = process.extract(email, self._emails, scorer=Levenshtein.distance, score_cutoff=limit, limit=None)
        self._close[email] = tuple(sorted(self.by_email[hit[0]] for hit in hits))
        return self._close[email]

    def _by_name(self, text: str) -> Named:
        key = name_key(text)
        if not key:
            return Named(text, (), "nobody")
        exact = self.by_name.get(key)
        if exact is not None:
            return Named(text, exact, "name" if len(exact) == 1 else "ambiguous")
        if text.count(",") == 1:
            surname, first = text.split(",")
            flipped = self._surname_first(surname, first)
            if flipped is not None:
                return flipped
        words = key.split(" ")
        if len(words) == 2 and len(words[1]) == 1:
            people = self.by_initial.get(key)
            if people is not None:
                return Named(text, people, "initial" if len(people) == 1 else "ambiguous")
        if len(words) == 1:
            people = self.by_first.get(key)
            if people is not None:
                return Named(text, people, "first name" if len(people) == 1 else "ambiguous")
            return Named(text, (), "nobody")
        found = self._in_text(words)
        if not found:
            return Named(text, (), "nobody")
        if len(found) == 1:
            people = found[0]
            return Named(text, people, "in text" if len(people) == 1 else "ambiguous")
        return Named(text, tuple(p for group in found for p in group), "in text")

    def _surname_first(self, surname: str, first: str) -> Named | None:
        """ "Lima, Ana" as Ana Lima, when that is a participant's name."""
        people = self.by_name.get(name_key(f"{first} {surname}"))
        if people is None or not name_key(surname) or not name_key(first):
            return None
        return Named(f"{surname.strip()}, {first.strip()}", people, "surname, first" if len(people) == 1 else "ambiguous")

    def _in_text(self, words: list[str]) -> list[tuple[int, ...]]:
        """Full names inside a sentence, longest first, each group of namesakes once, in order."""
        found: dict[tuple[int, ...], None] = {}  # ordered, and linear in the length of the text
        start = 0
        while start < len(words):
            step = 1
            for length in range(min(self.longest, len(words) - start), 0, -1):
                people = self.by_name.get(" ".join(words[start:start + length]))
                if people is not None and (length > 1 or len(people) == 1):
                    found[people] = None
                    step = length
                    break
            start += step
        return list(found)

    # --- a whole answer -------------------------------------------------------------------------

    def answer(self, text: str) -> tuple[Named, ...]:
        """Every reference of an avoid or request answer, in order (cached per distinct answer)."""
        if text in self._read:
            return self._read[text]
        found: list[Named] = []
        for line in _LINES.split(str(text)):
            if not line.strip():
                continue
            if not EMAIL.search(line):  # a name that holds a joiner ("Maria e Silva") is one reference
                whole = self._by_name(" ".join(line.split()))
                if whole.how in EXACT and whole.how != "in text":
                    found.append(whole)
                    continue
            for part in _JOINERS.split(line):
                found.extend(self._comma_parts(part))
        self._read[text] = tuple(found)
        return self._read[text]

    def _comma_parts(self, part: str) -> list[Named]:
        """A part split on commas, two neighbours read together when they are "Surname, First"."""
        pieces = [p.strip() for p in part.split(",") if p.strip()]
        out: list[Named] = []
        i = 0
        while i < len(pieces):
            if i + 1 < len(pieces) and not EMAIL.search(pieces[i]) and not EMAIL.search(pieces[i + 1]):
                flipped = self._surname_first(pieces[i], pieces[i + 1])
                if flipped is not None and self.by_name.get(name_key(pieces[i])) is None:
                    out.append(flipped)
                    i += 2
                    continue
            emails = EMAIL.findall(pieces[i])
            if len(emails) > 1:
                out.extend(self.reference(email) for email in emails)
            else:
                out.append(self.reference(pieces[i]))
            i += 1
        return out

    # --- compatibility: what match used before ------------------------------------------------------

    def find(self, text: str) -> list[int]:
        """Everyone an answer names for sure, in order of first mention (ambiguous names: nobody)."""
        found: list[int] = []
        for named in self.answer(text or ""):
            if named.how in EXACT or named.how == "close email":
                found.extend(p for p in named.people if p not in found)
        return found

    def resolve(self, answer: str) -> int | None:
        """One ranked-choice answer (an email or a name) -> the person, or None when not for sure."""
        named = self.reference(answer)
        if (named.how in EXACT or named.how == "close email") and len(named.people) == 1:
            return named.people[0]
        return None


def _first_and_initial(key: str) -> str:
    """ "ana maria lima" -> "ana l" (no entry, "", for a one-word name)."""
    first, _space, rest = key.partition(" ")
    return f"{first} {rest.rsplit(' ', 1)[-1][0]}" if rest else ""


# --- the whole cohort -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something to tell about one answer of one person (People row), for their row's problems."""

    person: int
    field: str
    """``avoid``, ``request`` or ``choices``."""
    rank: int
    """The choice's rank (1 = first), 0 for avoid and request."""
    text: str


@dataclass
class Links:
    """Who named whom, as the pairing uses it, and what could not be read for sure."""

    avoid: list[tuple[int, int]] = field(default_factory=list)
    request: list[tuple[int, int]] = field(default_factory=list)
    choices: list[tuple[int, int, int]] = field(default_factory=list)
    """(person, chosen person, rank)."""
    findings: list[Finding] = field(default_factory=list)
    index: NameIndex | None = None

    @property
    def unchecked(self) -> int:
        """Unknown addresses not compared for typos (``FUZZY_BUDGET`` spent)."""
        return self.index.unchecked if self.index is not None else 0


def _quoted(text: str, limit: int = 60) -> str:
    """An answer as a warning quotes it: on one line, shortened, control characters made spaces."""
    text = str(text)[:limit * 4]
    if not text.isprintable():  # no terminal escapes
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    shown = " ".join(text.split())
    return f'"{shown if len(shown) <= limit else shown[:limit - 3] + "..."}"'


class _Quoted:
    """``_quoted`` of a piece, worked out only when a warning is written (most pieces have none)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return _quoted(self.text)

    def __format__(self, spec: str) -> str:  # f-strings call this
        return format(str(self), spec)


def _written_rows(values: pd.Series) -> dict[int, str]:
    """People rows with a non-blank answer, and the answer (nearly everyone leaves these blank,
    so only the cells that are not ``""`` are looked at one by one)."""
    cells = values.to_numpy(dtype=object)
    filled = np.flatnonzero(pd.notna(cells) & (cells != ""))
    written = ((int(i), str(cells[i])) for i in filled.tolist())
    return {i: text for i, text in written if text.strip()}


def _chose_rows(values: pd.Series) -> dict[int, tuple[str, ...]]:
    """People rows that ranked at least one choice, and the choices in rank order."""
    cells = values.to_numpy(dtype=object)
    try:
        sizes = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))  # tuples, as in a roster
    except TypeError:
        sizes = np.fromiter(map(_size, cells), dtype=np.int64, count=len(cells))
    return {int(i): tuple(cells[i]) for i in np.flatnonzero(sizes > 0).tolist()}


def _size(value: object) -> int:
    return len(value) if isinstance(value, tuple | list) else 0


def _looks_like_a_name(piece: str) -> bool:
    """Whether a piece that names nobody was meant as a reference (not a clause of a sentence)."""
    if "@" in piece:
        return True
    words = piece.split()
    return 0 < len(words) <= 4 and all(w[:1].isupper() or not w[:1].isalpha() for w in words)


def _who(index: NameIndex, people: tuple[int, ...], emails: list[str], most: int = 3) -> str:
    shown = [emails[p] for p in people[:most]]
    more = f" and {len(people) - most} more" if len(people) > most else ""
    return ", ".join(shown) + more


def _free_text_findings(index: NameIndex, person: int, text: str, field_name: str, emails: list[str],
                        links: Links) -> list[int]:
    """The people an avoid or request answer names (as the pairing uses them), warnings to ``links``."""
    avoid = field_name == "avoid"
    what = f"this {field_name} answer"
    applied: list[int] = []
    named_any = False

    def warn(text: str) -> None:
        links.findings.append(Finding(person, field_name, 0, text))

    refs = index.answer(text)
    for named in refs:
        others = tuple(p for p in named.people if p != person)
        piece = _Quoted(named.piece)
        if named.people and not others:
            named_any = True
            warn(f"{piece} in {what} names this person themself; ignored")
            continue
        if named.how in EXACT:
            applied.extend(others)
        elif named.how == "close email":
            applied.extend(others)
            warn(f"{piece} in {what} is no participant's address; read as {emails[others[0]]}, the only one "
                 f"within {MAX_EDITS} typing errors (correct it in the file if that is wrong)")
        elif named.how == "name, address unknown":
            applied.extend(others)
            warn(f"the address in {piece} ({what}) is no participant's; read by the name as {emails[others[0]]}")
        elif named.how == "close emails":
            warn(f"{piece} in {what} is no participant's address and {len(others)} are equally close "
                 f"({_who(index, others, emails)}); nobody is taken: correct it in the file")
        elif named.how == "ambiguous":
            if avoid:
                applied.extend(others)
                warn(f"{piece} in {what} matches {len(others)} people ({_who(index, others, emails)}); all of "
                     "them are avoided, to be safe: write the full name or email if only one was meant")
            else:
                warn(f"{piece} in {what} matches {len(others)} people ({_who(index, others, emails)}); nobody "
                     "is taken: write the full name or email")
        named_any = named_any or bool(others)
        if named.how == "nobody" and _looks_like_a_name(named.piece) and len(refs) > 1:
            warn(f"{piece} in {what} names nobody in the signups; it is not applied")
    if not named_any:
        warn(f"{what.capitalize()} {_quoted(text)} names nobody in the signups; it is not applied "
             "(write a participant's full name or email)")
    return list(dict.fromkeys(applied))


def _choice_findings(index: NameIndex, person: int, answer: str, rank: int, emails: list[str],
                     links: Links) -> int | None:
    """The person one ranked choice names for sure, warnings to ``links``."""
    named = index.reference(answer)
    piece = _Quoted(answer)
    others = tuple(p for p in named.people if p != person)

    def warn(text: str) -> None:
        links.findings.append(Finding(person, "choices", rank, text))

    if named.people and not others:
        warn(f"the choice {piece} names this person themself; ignored")
        return None
    if named.how in EXACT and len(others) == 1:
        return others[0]
    if named.how in ("close email", "name, address unknown"):
        warn(f"the choice {piece} is no participant's address; read as {emails[others[0]]}, the only one close "
             "(correct it in the file if that is wrong)")
        return others[0]
    if len(others) > 1:
        warn(f"the choice {piece} matches {len(others)} people ({_who(index, others, emails)}); it is not "
             "taken: write the full name or email")
        return None
    warn(f"the choice {piece} names nobody in the signups; it is not taken")
    return None


def _names_one(index: NameIndex, text: str, *, how: tuple[str, ...] = EXACT) -> bool:
    named = index.reference(text)
    return named.how in how and len(named.people) == 1


def _surnames_rejoined(index: NameIndex, answers: tuple[str, ...]) -> list[str]:
    """Ranked choices with "Surname, First" put back together: one choices column is split on its
    commas, so "Lima, Ana" arrives as "Lima" and "Ana". Two neighbours are joined when together
    they are one person's "Surname, First" and the first alone names nobody for sure."""
    out: list[str] = []
    i = 0
    while i < len(answers):
        first = str(answers[i])
        if i + 1 < len(answers):
            joined = f"{first}, {answers[i + 1]}"
            if _names_one(index, joined, how=("surname, first",)) and not _names_one(index, first):
                out.append(joined)
                i += 2
                continue
        out.append(first)
        i += 1
    return out


def resolve_answers(people: pd.DataFrame, *, index: NameIndex | None = None) -> Links:
    """Every avoid, request and ranked-choice answer of a cohort read against the cohort.

    The index is built only when someone wrote such an answer (nearly everyone leaves them blank).
    """
    avoid_texts = _written_rows(people["avoid"])
    request_texts = _written_rows(people["request"])
    chosen = _chose_rows(people["choices"])
    links = Links()
    if not (avoid_texts or request_texts or chosen):
        links.index = index
        return links
    index = index or NameIndex.build(people)
    links.index = index
    emails = _lowered_emails(people["email"].tolist())
    for person, text in avoid_texts.items():
        links.avoid.extend((person, other) for other in _free_text_findings(index, person, text, "avoid", emails, links))
    for person, text in request_texts.items():
        links.request.extend((person, other)
                             for other in _free_text_findings(index, person, text, "request", emails, links))
    for person, answers in chosen.items():
        for rank, answer in enumerate(_surnames_rejoined(index, answers), start=1):
            other = _choice_findings(index, person, str(answer), rank, emails, links)
            if other is not None:
                links.choices.append((person, other, rank))
    return links

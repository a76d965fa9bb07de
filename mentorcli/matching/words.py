"""The words of the Why: what each criterion (and the shared-language rule) says about a pair.

Each criterion's declaration in ``criteria.CRITERIA`` names its ``words`` here, and the language
rule in ``rules.RULES`` names ``language_words``; ``explain`` only joins what they say, in
declaration order. A words function takes a ``PairBlock`` (every pair the Why describes, at once)
and returns what it ``Said``: columns of per-pair phrases ("" for nothing) for "what is shared" and
for "what differs". Phrases are built once per distinct answer (or pair of answers) with ``_each``,
because answers repeat a lot; a per-pair pass over every field was most of the explain time.

This module sits below ``criteria`` and ``rules`` (they import it), so it imports neither.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mentorcli.matching.cohort import Cohort
from mentorcli.matching.encode import NEUTRAL, largest_clock_gap, option_key


def _years(value: float) -> str:
    return f"{value:g} year" + ("" if value == 1 else "s")


@dataclass
class PairFacts:
    """Per-pair numbers the Why needs, computed for all pairs at once (vectorised)."""

    hours: np.ndarray
    overlap_minutes: np.ndarray
    """Minutes a week both are available (exact: ``WeeklyGrid.shared_minutes``)."""
    both_available: np.ndarray

    @classmethod
    def of(cls, cohort: Cohort, mentee: np.ndarray, mentor: np.ndarray) -> PairFacts:
        """``mentee``/``mentor``: People positions of each pair."""
        hours = largest_clock_gap(cohort.offsets[mentee] - cohort.offsets[mentor])
        given = cohort.weekly.minutes() > 0
        overlap = cohort.weekly.shared_minutes(mentee, mentor)
        return cls(hours, overlap, given[mentee] & given[mentor])


def duration_text(minutes: int) -> str:
    """A weekly duration in plain words, exact: "10 h", "1 h 30 min", "45 min"."""
    hours, rest = divmod(int(minutes), 60)
    if not rest:
        return f"{hours} h"
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def _list_text(items: Sequence[str], limit: int = 3) -> str:
    items = list(items)
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return ", ".join(items)


class _Options:
    """One list answer as the Why compares it: each distinct option key once, with the display text
    of its first occurrence, in answer order (the order the Why lists shared options in).

    Hashed by identity: one object per distinct answer, so pairs of them are cheap memo keys.
    """

    __slots__ = ("answer", "key_set", "keys", "labels")

    def __init__(self, answer: Iterable[str]):
        self.answer = tuple(answer)
        first: dict[str, str] = {}
        for item in self.answer:
            first.setdefault(option_key(item), item)
        self.keys = tuple(first)
        self.labels = tuple(str(item).strip() for item in first.values())
        self.key_set = frozenset(first)

    @classmethod
    def joined(cls, answers: tuple[Iterable[str], ...]) -> _Options:
        """Several answers read as one (goals + topics)."""
        return cls(item for answer in answers for item in answer)

    def shared(self, theirs: _Options) -> list[str]:
        """My labels whose option ``theirs`` also has, in my order."""
        if self.key_set.isdisjoint(theirs.key_set):
            return []
        other = theirs.key_set
        return [label for key, label in zip(self.keys, self.labels) if key in other]


class _Memo(dict):
    """``memo[key]`` builds the value on first use."""

    def __init__(self, build: Callable[[Any], Any]):
        super().__init__()
        self.build = build

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.build(key)
        return value


def _each(build: Callable[[Any], Any], keys: Iterable[Any]) -> list:
    """``build(key)`` for each key, worked out once per distinct key: answers, and pairs of answers,
    repeat a lot (a mentor is in up to 3 pairs, a few languages and formats cover everyone)."""
    return list(map(_Memo(build).__getitem__, keys))


def _options_of(cohort: Cohort, persons: list[int], name: str) -> list[_Options]:
    column = cohort.column(name)
    return _each(_Options, [column[p] for p in persons])


def _joined_options_of(cohort: Cohort, persons: list[int], first: str, second: str) -> list[_Options]:
    """``_Options`` of two columns run together (goals + topics), for each listed person."""
    a, b = cohort.column(first), cohort.column(second)
    return _each(_Options.joined, [(a[p], b[p]) for p in persons])


Words = tuple[Sequence[str], Sequence[str]]
"""Per pair: the words that go with what the pair shares, and those that go after "differs:" ("" for none)."""


def _columns(words: list[tuple[str, str]]) -> Words:
    """Per pair (shared words, differing words) -> the two columns."""
    return tuple(zip(*words)) if words else ((), ())  # type: ignore[return-value]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _counted(values: np.ndarray) -> list[bool]:
    return (~np.isnan(values)).tolist()


MASK_BITS = 62
"""Goals per mentee that ``_goal_hits`` marks in one int64 (bit 63 is the sign)."""


def _goal_hits(cohort: Cohort, mentor: list[int], cols: np.ndarray, wanted: list[_Options]) -> list[int]:
    """For each pair, which of the mentee's goals the mentor offers: bit j for the j-th goal.

    One gather from the mentors' option matrix for all pairs instead of a set test per goal and
    pair; the mask, unlike the pair, repeats, so the words are then written once per (goals, mask).
    A goal outside the option vocabulary (a blank one) is tested as text, and so are all goals of
    a mentee with more goals than an int64 mask holds.
    """
    vocab = {key: i for i, key in enumerate(cohort.vocab_topics)}
    goal_count = np.array([len(goals.keys) for goals in wanted], dtype=np.int64).reshape(-1, 1)
    width = min(int(goal_count.max(initial=0)), MASK_BITS)
    ids = np.array(_each(lambda goals: [vocab.get(key, -1) for key in goals.keys[:width]] + [-1] * (width - len(goals.keys)),
                         wanted), dtype=np.int64).reshape(len(wanted), width)
    hits = cohort.mentors.topics[cols[:, None], np.maximum(ids, 0)] > 0
    hits &= ids >= 0
    masks = (hits.astype(np.int64) @ (1 << np.arange(width, dtype=np.int64))).tolist()
    outside = np.flatnonzero(((ids < 0) & (np.arange(width) < goal_count)).any(axis=1)
                             | (goal_count[:, 0] > MASK_BITS)).tolist()
    offered = _joined_options_of(cohort, [mentor[k] for k in outside], "expertise", "topics")
    for k, offers in zip(outside, offered):
        masks[k] = sum(1 << j for j, key in enumerate(wanted[k].keys) if key in offers.key_set)
    return masks


def _topic_phrase(key: tuple[_Options, int, bool]) -> tuple[str, str]:
    """key: (the mentee's goals, which of them the mentor offers (bit mask), whether topics count).

    Under "differs" when fewer than half the goals are offered: that pulled the score down."""
    goals, hits, counted = key
    if not counted:
        return "", ""
    shared = [label for j, label in enumerate(goals.labels) if hits >> j & 1]
    goal_count = _plural(len(goals.keys), "goal")
    if not shared:
        return "", f"offers none of the mentee's {goal_count}"
    if len(shared) < NEUTRAL * len(goals.keys):
        return "", f"offers only {len(shared)} of the mentee's {goal_count} ({_list_text(shared)})"
    return f"shares {len(shared)} of {goal_count}: {_list_text(shared)}", ""


def _topic_words(cohort: Cohort, mentee: list[int], mentor: list[int], cols: np.ndarray, topics: np.ndarray) -> Words:
    wanted = _joined_options_of(cohort, mentee, "goals", "topics")
    hits = _goal_hits(cohort, mentor, cols, wanted)
    return _columns(_each(_topic_phrase, zip(wanted, hits, _counted(topics))))


def _industry_phrase(key: tuple[Any, Any, int]) -> tuple[str, str]:
    """key: (mentee's industry, mentor's, -1 not counted / 0 differs / 1 same)."""
    mine, theirs, same = key
    if same < 0:
        return "", ""
    if same:
        return f"same industry ({str(mine).strip()})", ""
    return "", f"industry (mentee in {str(mine).strip()}, mentor in {str(theirs).strip()})"


def _industry_words(cohort: Cohort, mentee: list[int], mentor: list[int], industry: np.ndarray) -> Words:
    names = cohort.column("industry")
    same = np.where(np.isnan(industry), -1, industry >= 1).tolist()
    return _columns(_each(_industry_phrase, zip([names[p] for p in mentee], [names[p] for p in mentor], same)))


def _gap_phrase(gap: float | None) -> tuple[str, str]:
    """Experience gap (mentor minus mentee, years; None: not counted)."""
    if gap is None:
        return "", ""
    if gap > 0:
        return f"mentor has {_years(gap)} more experience", ""
    if gap == 0:
        return "", "same experience level"
    return "", f"mentor has {_years(-gap)} less experience"


def _experience_words(cohort: Cohort, mentee: np.ndarray, mentor: np.ndarray, experience: np.ndarray) -> Words:
    years = np.asarray(cohort.column("experience"), dtype=float)
    gaps = (years[mentor] - years[mentee]).tolist()
    return _columns(_each(_gap_phrase, [g if c else None for g, c in zip(gaps, _counted(experience))]))


def _availability_phrase(key: tuple[bool, int, bool]) -> tuple[str, str]:
    """key: (both gave weekly hours and availability counts, minutes a week both available, whether
    the criterion is below neutral: then under "differs", it pulled the score down)."""
    both, minutes, low = key
    if not both:
        return "", ""
    if not minutes:
        return "", "no weekly hours both available"
    shared = f"{duration_text(minutes)} a week both available"
    return ("", f"only {shared}") if low else (shared, "")


def _apart_phrase(hours: float | None) -> str:
    """Hours between the two time zones (None: a zone unknown, nothing to say)."""
    if hours is None:
        return ""
    return "same time zone" if hours == 0 else f"{hours:g} h apart"


def _availability_words(facts: PairFacts, availability: np.ndarray) -> tuple[tuple[Sequence[str], list[str]], Sequence[str]]:
    """((shared weekly hours, hours apart), (too few shared hours or too far apart)) per pair: two
    shared columns and one differing. ``availability``: the criterion (NaN: not counted or weight
    0, and then nothing is said). Hours apart go under "differs" when they are so many that, by
    time zones alone, the criterion would be below neutral (more than 6 h)."""
    counted = ~np.isnan(availability)
    low = (np.nan_to_num(availability, nan=1.0) < NEUTRAL).tolist()
    by_hours = facts.both_available & counted
    available, no_hours = _columns(_each(_availability_phrase, zip(by_hours.tolist(), facts.overlap_minutes.tolist(), low)))
    hours = np.where(counted, facts.hours, np.nan)
    apart = _each(_apart_phrase, [None if math.isnan(h) else h for h in hours.tolist()])
    far = (1.0 - hours / 12.0 < NEUTRAL).tolist()  # False where NaN
    if not any(far):
        return (available, apart), no_hours
    shared_apart = ["" if f else text for text, f in zip(apart, far)]
    differing = [(f"{words}, {text}" if words else text) if f else words for words, text, f in zip(no_hours, apart, far)]
    return (available, shared_apart), differing


def _shared_words(cohort: Cohort, mentee: list[int], mentor: list[int], name: str,
                  phrase: Callable[[list[str]], str]) -> list[str]:
    """``phrase(shared options)`` of column ``name`` for each pair, "" where they share none."""
    build = lambda pair: phrase(shared) if (shared := pair[0].shared(pair[1])) else ""
    return _each(build, zip(_options_of(cohort, mentee, name), _options_of(cohort, mentor, name)))


def _format_phrase(key: tuple[_Options, _Options]) -> tuple[str, str]:
    mine, theirs = key
    if not (mine.keys and theirs.keys):
        return "", ""
    common = mine.shared(theirs)
    if common:
        return f"both prefer {_list_text(common, 2).lower()}", ""
    lower = lambda options: _list_text([f.lower() for f in options.answer], 2)
    return "", f"mentor prefers {lower(theirs)}, mentee {lower(mine)}"


def _format_words(cohort: Cohort, mentee: list[int], mentor: list[int], counted: list[bool]) -> Words:
    """Meeting formats, where the criterion counts (both answered, weight above 0)."""
    words = _columns(_each(_format_phrase, zip(_options_of(cohort, mentee, "format"), _options_of(cohort, mentor, "format"))))
    return tuple([w if c else "" for w, c in zip(column, counted)] for column in words)  # type: ignore[return-value]


def _interest_words(cohort: Cohort, mentee: list[int], mentor: list[int], interests: np.ndarray) -> Words:
    """Shared interests where the criterion counts; under "differs" when under half of the two
    people's interests are shared (the Jaccard index pulled the score down) or none are."""
    shared = _shared_words(cohort, mentee, mentor, "interests", lambda likes: _list_text([x.lower() for x in likes]))
    state = np.where(np.isnan(interests), -1, interests >= NEUTRAL).tolist()
    return _columns(_each(_interest_phrase, zip(shared, state)))


def _interest_phrase(key: tuple[str, int]) -> tuple[str, str]:
    """key: (the shared interests as text, -1 not counted / 0 below neutral / 1 at or above)."""
    text, state = key
    if state < 0:
        return "", ""
    if not text:
        return "", "no shared interests"
    return (f"both like {text}", "") if state else ("", f"few shared interests (only {text})")


def _assumed_zone_phrase(key: tuple[bool, bool, str]) -> str:
    mentee, mentor, zone = key
    whose = "both" if mentee and mentor else "the mentee" if mentee else "the mentor" if mentor else ""
    return f"time zone assumed for {whose} ({zone}, the cohort's most common; none given)" if whose else ""


def _assumed_zone_words(cohort: Cohort, mentee: np.ndarray, mentor: np.ndarray, availability: np.ndarray) -> list[str]:
    """Per pair, where availability counted: whose time zone was assumed, so the shared hours are read with care."""
    assumed = cohort.timezone_assumed
    counted = ~np.isnan(availability)
    zone = cohort.weekly.assumed_zone
    return _each(_assumed_zone_phrase, zip((assumed[mentee] & counted).tolist(), (assumed[mentor] & counted).tolist(),
                                           [zone] * len(counted)))


# --------------------------------------------------------------------------- what a declaration says


@dataclass(frozen=True)
class PairBlock:
    """The pairs one Why pass describes: cells ``rows``/``cols``, their people, each criterion's
    value per pair (NaN: not counted) and the numbers of ``PairFacts``."""

    cohort: Cohort
    cols: np.ndarray
    mentee: np.ndarray
    """People position of each pair's mentee (``a``: the same as a list)."""
    mentor: np.ndarray
    criteria: dict[str, np.ndarray]
    facts: PairFacts
    a: list[int]
    b: list[int]

    @classmethod
    def of(cls, cohort: Cohort, rows: np.ndarray, cols: np.ndarray, criteria: dict[str, np.ndarray],
           facts: PairFacts) -> PairBlock:
        mentee, mentor = cohort.mentees.person[rows], cohort.mentors.person[cols]
        return cls(cohort, cols, mentee, mentor, criteria, facts, mentee.tolist(), mentor.tolist())


@dataclass(frozen=True)
class Said:
    """What one declaration says about a block of pairs: columns of per-pair phrases ("" for
    nothing), added in this order to what is shared ("; "-joined) and to what differs (", ")."""

    shared: tuple[Sequence[str], ...] = ()
    differing: tuple[Sequence[str], ...] = ()


WordsOf = Callable[[PairBlock], Said]
"""A declaration's words: what it says about every pair of a block."""


def _said(words: Words) -> Said:
    """One shared and one differing column."""
    return Said((words[0],), (words[1],))


def topic_words(block: PairBlock) -> Said:
    return _said(_topic_words(block.cohort, block.a, block.b, block.cols, block.criteria["topics"]))


def industry_words(block: PairBlock) -> Said:
    return _said(_industry_words(block.cohort, block.a, block.b, block.criteria["industry"]))


def experience_words(block: PairBlock) -> Said:
    return _said(_experience_words(block.cohort, block.mentee, block.mentor, block.criteria["experience"]))


def availability_words(block: PairBlock) -> Said:
    """Shared: weekly hours both available, hours apart, whose time zone was assumed; differs:
    too few shared hours or too far apart."""
    availability = block.criteria["availability"]
    (available, apart), no_hours = _availability_words(block.facts, availability)
    assumed = _assumed_zone_words(block.cohort, block.mentee, block.mentor, availability)
    return Said((available, apart, assumed), (no_hours,))


def format_words(block: PairBlock) -> Said:
    return _said(_format_words(block.cohort, block.a, block.b, _counted(block.criteria["format"])))


def interest_words(block: PairBlock) -> Said:
    return _said(_interest_words(block.cohort, block.a, block.b, block.criteria["interests"]))


def language_words(block: PairBlock) -> Said:
    """The languages both speak (shared only), said whether or not the language rule is in force."""
    return Said((_shared_words(block.cohort, block.a, block.b, "languages",
                               lambda langs: f"both speak {_list_text(langs)}"),))


# --------------------------------------------------------------------------- developmental networks


def _network_phrase(key: tuple[_Options, int, int, int, int]) -> str:
    """key: (the mentee's goals, which of them this mentor covers (bit mask), which the other
    mentors cover, how many other mentors, departments: 1 all different, 0 this mentor shares
    one with another of the mentee's mentors, -1 not known)."""
    goals, mine, theirs, others, departments = key
    labels = lambda mask: [label for j, label in enumerate(goals.labels) if mask >> j & 1]
    own, other = labels(mine), labels(theirs)
    who = "the other mentor covers" if others == 1 else f"the other {others} mentors cover"
    parts = [f"one of {others + 1} mentors for the mentee's goals: this one covers "
             + (_list_text(own, 6) if own else "none of them"),
             f"{who} {_list_text(other, 6) if other else 'none of them'}"]
    if goals.keys:
        parts.append(f"together {(mine | theirs).bit_count()} of {_plural(len(goals.keys), 'goal')}")
    if departments == 1:
        parts.append("the mentors are from different departments")
    elif departments == 0:
        parts.append("same department as another of the mentee's mentors")
    return "; ".join(parts)


def network_words(cohort: Cohort, mentee: list[int], mentor: list[int], cols: np.ndarray,
                  department: np.ndarray, in_network: Sequence[bool]) -> list[str]:
    """Per pair: for a mentee in a developmental network (``in_network``, with two or more
    mentors among these pairs), which of the mentee's goals this mentor covers and which the
    other mentors cover, and whether their departments differ; "" for every other pair.

    ``department``: each pair's mentor's department code (-1: not given). The other mentors are
    not named: the Why goes into this pair's introduction, and who else mentors the mentee is
    not this mentor's to read."""
    out = [""] * len(mentee)
    groups: dict[int, list[int]] = {}
    for k, (person, member) in enumerate(zip(mentee, in_network)):
        if member:
            groups.setdefault(person, []).append(k)
    groups = {person: ks for person, ks in groups.items() if len(ks) >= 2}
    if not groups:
        return out
    at = [k for ks in groups.values() for k in ks]
    wanted = _joined_options_of(cohort, [mentee[k] for k in at], "goals", "topics")
    hits = dict(zip(at, _goal_hits(cohort, [mentor[k] for k in at], np.asarray(cols)[at], wanted)))
    goals = dict(zip(at, wanted))
    codes = np.asarray(department).tolist()
    for ks in groups.values():
        for k in ks:
            others = [o for o in ks if o != k]
            theirs = 0
            for o in others:
                theirs |= hits[o]
            known = [codes[o] for o in ks]
            departments = -1 if min(known) < 0 else 0 if codes[k] in [codes[o] for o in others] else 1
            if departments == 1 and len(set(known)) < len(known):
                departments = -1  # two others share one: not this pair's to say
            out[k] = _network_phrase((goals[k], hits[k], theirs, len(others), departments))
    return out

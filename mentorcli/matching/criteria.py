"""Step 2: the criteria: a score for every allowed pair.

A criterion is one ``Criterion`` in ``CRITERIA``: its name (the ``[weights]`` key), which answers
it compares on each side (``given``: when it does not count), its table over distinct answers or
its function over a block of cells, and its value in [0, 1] for the Pairs sheet. Everything reads
criteria by name, and its ``words`` (from ``words``) are what the Why says of it, in declaration
order. To add one: a ``[weights]`` field in ``config.Weights`` (and ``config.CRITERIA``), what it
reads encoded on ``Side`` by ``prepare``, and a ``Criterion`` here with its words.

Design decisions (the contract leaves them open):

- A criterion that one side left blank is dropped from that pair's weighted mean; when nothing at
  all can be compared the score is a neutral 50, because missing answers are not evidence of a
  bad pair and a 0 would make the "fair" objective meaningless for people with sparse signups.
- topics: share of the mentee's goals (goals + topics) the mentor offers (expertise + topics).
  industry: same or not. experience: best when the mentor has ``ideal_experience_gap`` more
  years (0.5 at an equal level, rising linearly), fading to 0.5 for a far larger gap, 0 when the
  mentor has fewer years. availability: shared weekly hours / the smaller of the two; without
  availability answers but with both time zones, 1 - (hours apart / 12). format: 1 when they
  share a meeting format. interests: Jaccard index.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mentorcli.config import Config
from mentorcli.matching.cohort import Cells, Cohort, Side
from mentorcli.matching.encode import EXP_STEPS, NEUTRAL, hours_apart
from mentorcli.matching.words import (
    WordsOf,
    availability_words,
    experience_words,
    format_words,
    industry_words,
    interest_words,
    topic_words,
)

FULL = 10_000
"""A perfect pair in solver units: the 0-100 score x 100."""

INTEREST_TABLE_SETS = 256
"""Up to this many distinct interest sets in a cohort, the interests criterion is a look-up table."""

def experience_table(ideal: float) -> np.ndarray:
    """Criterion value for every (mentee, mentor) experience code; the last code is blank."""
    years = np.arange(EXP_STEPS) / 2.0
    gap = years[None, :] - years[:, None]
    scale = max(ideal, 1.0)
    rising = np.where(ideal > 0, 0.5 + 0.5 * gap / max(ideal, 1e-9), 1.0)
    falling = np.maximum(0.5, 1.0 - 0.5 * (gap - ideal) / (2 * scale))
    value = np.where(gap < 0, 0.0, np.where(gap <= ideal, rising, falling))
    table = np.zeros((EXP_STEPS + 1, EXP_STEPS + 1), dtype=np.float32)
    table[:EXP_STEPS, :EXP_STEPS] = value
    return table



def _interest_term(overlap: np.ndarray, count_a: np.ndarray, count_b: np.ndarray, weight: np.float32) -> np.ndarray:
    """The weighted shared-interests criterion: ``weight * overlap / max(1, union)`` in float32,
    in place on ``overlap``'s buffer where it can. The one formula of both the table and the
    cell by cell way, so they give the same bits."""
    union = np.add(count_a, count_b)
    union -= overlap
    np.maximum(union, np.float32(1), out=union)
    np.divide(overlap, union, out=union)
    union *= weight
    return union


def _interest_table(uniques: np.ndarray, weight: np.float32) -> np.ndarray:
    """``_interest_term`` of every pair of distinct interest sets (rows of 0/1 ``uniques``)."""
    sets = uniques.astype(np.float32)
    count = sets.sum(axis=1)
    return _interest_term(sets @ sets.T, count[:, None], count[None, :], weight)



# --------------------------------------------------------------------------- the tables criteria read


def same_industry_table(cohort: Cohort) -> np.ndarray:
    """Over the industry codes (0 = blank): 1 for the same industry."""
    same = np.eye(len(cohort.distinct["industry"]), dtype=np.float32)
    same[0, 0] = 0
    return same


def experience_gap_table(cohort: Cohort) -> np.ndarray:
    return experience_table(float(cohort.config.rules.ideal_experience_gap))


def shared_format_table(cohort: Cohort) -> np.ndarray:
    """Over the distinct sets of meeting formats: 1 when the two share one."""
    sets = cohort.distinct["format"].astype(np.float32)
    share = sets @ sets.T if len(sets) else np.zeros((0, 0))
    return (share > 0).astype(np.float32)


def availability_table(cohort: Cohort) -> np.ndarray:
    """Over the distinct (weekly hours, time zone) profiles: shared hours / the smaller of the two;
    without hours on either side but with both zones, 1 - (hours apart / 12)."""
    masks, zones = cohort.distinct["profile"], cohort.distinct["profile_zone"]  # slot counts up to 2016: exact in float32
    known = np.asarray((zones < 99).all(axis=1))
    overlap = masks @ masks.T
    hours = masks.sum(axis=1)
    smaller = np.minimum(hours[:, None], hours[None, :])
    apart = hours_apart(zones[None], zones[None])[0] if len(zones) else np.zeros((0, 0))
    by_hours = np.where(smaller > 0, overlap / np.maximum(smaller, 1), 0.0)
    by_zone = np.where(known[:, None] & known[None, :], np.maximum(0.0, 1.0 - apart / 12.0), 0.0)
    return np.where(smaller > 0, by_hours, by_zone).astype(np.float32)


# --------------------------------------------------------------------------- what each criterion scores


def _weighted_topics(cohort: Cohort, cells: Cells, weight: np.float32) -> np.ndarray:
    """Share of the mentee's goals (goals + topics) the mentor offers (expertise + topics), x weight."""
    m, r = cohort.mentees, cohort.mentors
    shared = cells.overlap(m.topic_bits, r.topic_bits)
    shared *= cells.of_mentee(m.inv_topics) * weight
    return shared


def _topics(cohort: Cohort, cells: Cells) -> np.ndarray:
    m, r = cohort.mentees, cohort.mentors
    return np.einsum("ij,ij->i", m.topics[cells.rows], r.topics[cells.cols]) * m.inv_topics[cells.rows]


def _weighted_interests(cohort: Cohort, cells: Cells, weight: np.float32) -> np.ndarray:
    """Jaccard index of the two sets of interests, x weight: a look-up when the cohort has few
    distinct sets (``INTEREST_TABLE_SETS``), else a popcount and the same formula per cell."""
    m, r = cohort.mentees, cohort.mentors
    if "weighted_interests" in cohort.tables:
        return cells.lookup(cohort, "weighted_interests", m.interest_set, r.interest_set)
    return _interest_term(cells.overlap(m.interest_bits, r.interest_bits), cells.of_mentee(m.interest_count),
                          cells.of_mentor(r.interest_count), weight)


def _interests(cohort: Cohort, cells: Cells) -> np.ndarray:
    m, r = cohort.mentees, cohort.mentors
    shared = np.einsum("ij,ij->i", m.interests[cells.rows], r.interests[cells.cols])
    union = m.interest_count[cells.rows] + r.interest_count[cells.cols] - shared
    return shared / np.maximum(union, 1)


def _interests_tables(cohort: Cohort) -> dict[str, np.ndarray]:
    """``weighted_interests``: the weighted criterion over every pair of distinct interest sets,
    when there are few enough of them."""
    sets = cohort.distinct["interests"]
    if len(sets) > INTEREST_TABLE_SETS:
        return {}
    return {"weighted_interests": _interest_table(sets, cohort.weights["interests"])}


# --------------------------------------------------------------------------- when a criterion counts


def _topics_given(cohort: Cohort, side: Side) -> np.ndarray:
    """Goals or topics (a mentee), expertise or topics (a mentor), even none any mentee wants."""
    return side.topics_given


def _industry_given(cohort: Cohort, side: Side) -> np.ndarray:
    return side.industry > 0


def _experience_given(cohort: Cohort, side: Side) -> np.ndarray:
    return side.experience < EXP_STEPS


def _availability_given(cohort: Cohort, side: Side) -> np.ndarray:
    """Flag 1: weekly hours; flag 2: a time zone the tool can read (both must share one)."""
    hours = cohort.weekly.minutes()[side.person] > 0
    zone = ~np.isnan(cohort.offsets[side.person]).any(axis=1)
    return hours.astype(np.int64) | (zone.astype(np.int64) << 1)


def _format_given(cohort: Cohort, side: Side) -> np.ndarray:
    sets = cohort.distinct["format"]
    return np.asarray(sets.any(axis=1))[side.format] if len(sets) else np.zeros(len(side), bool)


def _interests_given(cohort: Cohort, side: Side) -> np.ndarray:
    return side.interest_count > 0


# --------------------------------------------------------------------------- the declarations


@dataclass(frozen=True)
class Criterion:
    """One criterion of the score, declared once."""

    name: str
    """Its ``[weights]`` key in mentor.toml, and the ``c_<name>`` column of the Pairs."""
    given: Callable[[Cohort, Side], np.ndarray]
    """Per person of a side, the answers it compares as bit flags: it counts for a pair only when
    the two share a flag (a blank side: the pair's score is the mean of the other criteria)."""
    codes: str | None = None
    """The ``Side`` field (codes of distinct answers) that ``table`` is over."""
    table: Callable[[Cohort], np.ndarray] | None = None
    """Its value in [0, 1] for every pair of distinct answers, built once."""
    weighted_cells: Callable[[Cohort, Cells, np.float32], np.ndarray] | None = None
    """Weight x value per cell, float32, for a criterion with no ``table``."""
    value_cells: Callable[[Cohort, Cells], np.ndarray] | None = None
    """Its value in [0, 1] per pair, for a criterion with no ``table``."""
    more_tables: Callable[[Cohort], dict[str, np.ndarray]] | None = None
    """Look-ups it builds once besides ``table`` (keyed by table name)."""
    words: WordsOf | None = None
    """What the Why says of it for each pair (``words.Said``), after the words of the criteria
    declared before it; None: it says nothing."""

    def tables(self, cohort: Cohort) -> dict[str, np.ndarray]:
        built = dict(self.more_tables(cohort)) if self.more_tables else {}
        if self.table is not None:
            built[self.name] = table = self.table(cohort)
            built[f"weighted_{self.name}"] = table * cohort.weights[self.name]
        return built

    def weighted(self, cohort: Cohort, cells: Cells) -> np.ndarray:
        """Weight x value of each cell (float32)."""
        if self.weighted_cells is not None:
            return self.weighted_cells(cohort, cells, cohort.weights[self.name])
        return self._lookup(cohort, cells, f"weighted_{self.name}")

    def value(self, cohort: Cohort, cells: Cells) -> np.ndarray:
        """The value in [0, 1] of each cell."""
        if self.value_cells is not None:
            return self.value_cells(cohort, cells)
        return self._lookup(cohort, cells, self.name)

    def _lookup(self, cohort: Cohort, cells: Cells, table: str) -> np.ndarray:
        assert self.codes is not None, f"criterion {self.name} has neither a table nor a cell function"
        return cells.lookup(cohort, table, getattr(cohort.mentees, self.codes), getattr(cohort.mentors, self.codes))


CRITERIA: tuple[Criterion, ...] = (
    Criterion("topics", _topics_given, weighted_cells=_weighted_topics, value_cells=_topics, words=topic_words),
    Criterion("industry", _industry_given, "industry", same_industry_table, words=industry_words),
    Criterion("experience", _experience_given, "experience", experience_gap_table, words=experience_words),
    Criterion("availability", _availability_given, "availability", availability_table, words=availability_words),
    Criterion("format", _format_given, "format", shared_format_table, words=format_words),
    Criterion("interests", _interests_given, weighted_cells=_weighted_interests, value_cells=_interests,
              more_tables=_interests_tables, words=interest_words),
)
"""Every criterion of the score. The order is the order of the Pairs columns and of the Why's
words: each is looked up by name, and the weighted sum is exact whatever the order
(``weighted_score``)."""


def weights_of(config: Config) -> dict[str, np.float32]:
    """Each criterion's weight from ``[weights]``, by name."""
    return {criterion.name: np.float32(getattr(config.weights, criterion.name)) for criterion in CRITERIA}


# --------------------------------------------------------------------------- the score


@dataclass(frozen=True)
class Counting:
    """Where each criterion's flags sit in a person's ``counted`` code (given out in declaration
    order; nothing outside this class reads a bit)."""

    shift: dict[str, int]
    width: dict[str, int]

    @classmethod
    def of(cls, cohort: Cohort) -> Counting:
        shift, width, at = {}, {}, 0
        for criterion in CRITERIA:
            flags = max(int(criterion.given(cohort, side).max(initial=0)) for side in (cohort.mentees, cohort.mentors))
            shift[criterion.name], width[criterion.name] = at, max(1, flags.bit_length())
            at += width[criterion.name]
        return cls(shift, width)

    @property
    def bits(self) -> int:
        return sum(self.width.values())

    def code(self, cohort: Cohort, side: Side) -> np.ndarray:
        """Each person's flags of every criterion, packed into one small integer."""
        code = np.zeros(len(side), np.int64)
        for criterion in CRITERIA:
            code |= criterion.given(cohort, side).astype(np.int64) << self.shift[criterion.name]
        return code

    def counts(self, name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether criterion ``name`` counts between codes ``a`` and ``b`` (they share a flag)."""
        mask = (1 << self.width[name]) - 1
        return ((a >> self.shift[name]) & (b >> self.shift[name]) & mask) != 0


def score_tables(cohort: Cohort, counting: Counting) -> dict[str, np.ndarray]:
    """Every criterion's tables, and over every pair of ``counted`` codes the sum of the weights
    that count (``den_safe``; 1 where none does, and ``neutral`` 0.5 there)."""
    tables: dict[str, np.ndarray] = {}
    for criterion in CRITERIA:
        tables.update(criterion.tables(cohort))
    codes = np.arange(1 << counting.bits)
    den = np.zeros((len(codes), len(codes)), dtype=np.float64)
    for criterion in CRITERIA:
        den += np.float64(cohort.weights[criterion.name]) * counting.counts(criterion.name, codes[:, None], codes[None, :])
    den32 = den.astype(np.float32)
    tables["den_safe"] = np.where(den32 > 0, den32, np.float32(1)).astype(np.float32)
    tables["neutral"] = np.where(den32 > 0, 0, NEUTRAL).astype(np.float32)
    tables["any_neutral"] = np.asarray(bool((den32 <= 0).any()))
    return tables


def weighted_score(cohort: Cohort, cells: Cells) -> np.ndarray:
    """The integer score (0-10000) of each cell: the weighted mean of the criteria that count.

    The weighted values are float32 and are summed in float64, where their sum is exact (their
    magnitudes differ by far less than 2^29), so the score does not depend on the order of the
    criteria; then divided in float32 by the weights that count. One formula for blocks and
    for single pairs, so a pair's score never depends on how it was computed.
    """
    m, r = cohort.mentees, cohort.mentors
    num = weighted_sum(cohort, cells)
    num /= cells.lookup(cohort, "den_safe", m.counted, r.counted)
    if cohort.tables["any_neutral"]:
        num += cells.lookup(cohort, "neutral", m.counted, r.counted)
    num *= np.float32(FULL)
    np.rint(num, out=num)
    return num.astype(np.int16)


def weighted_sum(cohort: Cohort, cells: Cells) -> np.ndarray:
    """Per cell, the sum of every criterion's weight x value (float32): summed exactly in float64,
    so it is the same whatever the order of ``CRITERIA``."""
    total = np.zeros(cells.shape, dtype=np.float64)
    for criterion in CRITERIA:
        if cohort.weights[criterion.name] != 0:
            total += criterion.weighted(cohort, cells)
    return total.astype(np.float32)


def pair_scores(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Integer scores (0-10000) of the cells ``(rows[k], cols[k])``: the numbers ``score_rows`` gives."""
    return weighted_score(cohort, Cells.pairs(rows, cols))


def criteria_values(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
    """Each criterion (0-1) of the cells ``(rows[k], cols[k])``, NaN where it did not count."""
    cells = Cells.pairs(rows, cols)
    a, b = cohort.mentees.counted[cells.rows], cohort.mentors.counted[cells.cols]
    values = {}
    for criterion in CRITERIA:
        counted = cohort.counting.counts(criterion.name, a, b) & (cohort.weights[criterion.name] > 0)
        values[criterion.name] = np.where(counted, criterion.value(cohort, cells).astype(float), np.nan)
    return values


def zero_overlap_bound(cohort: Cohort) -> int | None:
    """The highest integer score of a pair who both answered topics and share none.

    The topics term is then 0 while it still counts in the weighted mean, so the score is at
    most ``1 - w_topics / (sum of weights)`` (every other criterion perfect): 60 with the
    default weights. One unit is added for float32 rounding. None when topics weigh nothing.
    """
    total = np.array(list(cohort.weights.values()), dtype=np.float64).sum()
    topics = np.float64(cohort.weights["topics"])
    if topics <= 0 or total <= 0:
        return None
    return math.ceil(FULL * (1 - topics / total)) + 1

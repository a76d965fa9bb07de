"""Step 2: the criteria: a score for every allowed pair."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mentorcli.config import CRITERIA, Config
from mentorcli.matching.cohort import Cohort, MentorColumns, _lookup
from mentorcli.matching.encode import EXP_STEPS, _overlap_pairs, hours_apart

FULL = 10_000
"""A perfect pair in solver units: the 0-100 score x 100."""
NEUTRAL = 0.5

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



def _tables(config: Config, weights: np.ndarray, format_uniques: np.ndarray, profiles: tuple[np.ndarray, np.ndarray],
            n_bits: int) -> dict[str, np.ndarray]:
    """Every per-pair look-up over the distinct answers: built once, read by index per cell."""
    rules = config.rules
    w = dict(zip(CRITERIA, weights.tolist()))
    tables: dict[str, np.ndarray] = {}
    tables["experience"] = experience_table(float(rules.ideal_experience_gap))
    share = format_uniques.astype(np.float32) @ format_uniques.astype(np.float32).T if len(format_uniques) else np.zeros((0, 0))
    tables["format"] = (share > 0).astype(np.float32)
    masks, zones = profiles  # availability in slots of the week (counts up to 2016: exact in float32)
    known = (zones < 99).all(axis=1)
    overlap = masks @ masks.T
    hours = masks.sum(axis=1)
    smaller = np.minimum(hours[:, None], hours[None, :])
    apart = hours_apart(zones[None], zones[None])[0] if len(zones) else np.zeros((0, 0))
    by_hours = np.where(smaller > 0, overlap / np.maximum(smaller, 1), 0.0)
    by_zone = np.where(known[:, None] & known[None, :], np.maximum(0.0, 1.0 - apart / 12.0), 0.0)
    tables["availability"] = np.where(smaller > 0, by_hours, by_zone).astype(np.float32)
    n_codes = 1 << n_bits
    codes = np.arange(n_codes)
    bit = lambda k: ((codes >> k) & 1).astype(bool)
    both = lambda k: bit(k)[:, None] & bit(k)[None, :]
    counted = {
        "topics": both(0), "industry": both(1), "experience": both(2), "format": both(3), "interests": both(4),
        "availability": both(5) | both(6),
    }
    den = np.zeros((n_codes, n_codes), dtype=np.float32)
    for name in CRITERIA:
        den = den + np.float32(w[name]) * counted[name].astype(np.float32)
    tables["den"] = den
    tables["den_safe"] = np.where(den > 0, den, np.float32(1)).astype(np.float32)
    tables["neutral"] = np.where(den > 0, 0, NEUTRAL).astype(np.float32)
    tables["any_neutral"] = np.asarray(bool((den <= 0).any()))
    tables["weighted_experience"] = tables["experience"] * np.float32(w["experience"])
    tables["weighted_format"] = tables["format"] * np.float32(w["format"])
    tables["weighted_availability"] = tables["availability"] * np.float32(w["availability"])
    return tables



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


def _weighted_score(cohort: Cohort, a: np.ndarray, b: np.ndarray, topic_overlap: np.ndarray,
                    interest_overlap: np.ndarray | None, columns: MentorColumns | None = None) -> np.ndarray:
    """The integer score (0-10000) of the cells (a, b): a block (a: (k, 1), b: (1, m)) or aligned pairs.

    One formula for blocks and for single pairs, evaluated in the same order, so a pair's score
    never depends on how it was computed. Works in place on the overlap arrays it is given
    (fresh temporaries cost more than the arithmetic at this size). ``interest_overlap`` None:
    the interests criterion is read from its table (``_interest_overlap``).
    """
    m, r, t, w = cohort.mentees, cohort.mentors, cohort.tables, cohort.weights
    num = topic_overlap
    num *= m.inv_topics[a] * w[0]
    if interest_overlap is None:
        num += _lookup(cohort, "weighted_interests", m.interest_set, r.interest_set, a, b, columns)
    else:
        num += _interest_term(interest_overlap, m.interest_count[a], r.interest_count[b], w[5])
    for name, left, right in (("weighted_industry", m.industry, r.industry),
                              ("weighted_experience", m.experience, r.experience),
                              ("weighted_format", m.format, r.format),
                              ("weighted_availability", m.availability, r.availability)):
        num += _lookup(cohort, name, left, right, a, b, columns)
    num /= _lookup(cohort, "den_safe", m.counted, r.counted, a, b, columns)
    if t["any_neutral"]:
        num += _lookup(cohort, "neutral", m.counted, r.counted, a, b, columns)
    num *= np.float32(FULL)
    np.rint(num, out=num)
    return num.astype(np.int16)


def _interest_overlap(cohort: Cohort, overlap: Callable[[np.ndarray, np.ndarray], np.ndarray],
                      left: Any, right: Any) -> np.ndarray | None:
    """Shared interests of the cells, or None when the cohort's distinct interest sets are few
    enough for a table (``INTEREST_TABLE_SETS``): one look-up instead of a popcount and five
    passes of arithmetic over every cell."""
    if "weighted_interests" in cohort.tables:
        return None
    return overlap(cohort.mentees.interest_bits[left], cohort.mentors.interest_bits[right])


def pair_scores(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Integer scores (0-10000) of given cells: the same numbers ``score_rows`` gives."""
    m, r = cohort.mentees, cohort.mentors
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    topic_overlap = _overlap_pairs(m.topic_bits[rows], r.topic_bits[cols])
    return _weighted_score(cohort, rows, cols, topic_overlap, _interest_overlap(cohort, _overlap_pairs, rows, cols))


def criteria_values(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
    """Each criterion (0-1) for given cells, NaN where it did not count."""
    m, r, t = cohort.mentees, cohort.mentors, cohort.tables
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    w = dict(zip(CRITERIA, cohort.weights.tolist()))
    bits = {"topics": 0, "industry": 1, "experience": 2, "format": 3, "interests": 4}
    counted = {}
    for name, k in bits.items():
        counted[name] = ((m.counted[rows] >> k) & 1 & (r.counted[cols] >> k)).astype(bool)
    counted["availability"] = (((m.counted[rows] >> 5) & (r.counted[cols] >> 5) & 1)
                               | ((m.counted[rows] >> 6) & (r.counted[cols] >> 6) & 1)).astype(bool)
    topic = np.einsum("ij,ij->i", m.topics[rows], r.topics[cols]) * m.inv_topics[rows]
    inter = np.einsum("ij,ij->i", m.interests[rows], r.interests[cols])
    union = m.interest_count[rows] + r.interest_count[cols] - inter
    values = {
        "topics": topic,
        "industry": t["industry"][m.industry[rows], r.industry[cols]],
        "experience": t["experience"][m.experience[rows], r.experience[cols]],
        "availability": t["availability"][m.availability[rows], r.availability[cols]],
        "format": t["format"][m.format[rows], r.format[cols]],
        "interests": inter / np.maximum(union, 1),
    }
    return {name: np.where(counted[name] & (w[name] > 0), values[name].astype(float), np.nan) for name in CRITERIA}


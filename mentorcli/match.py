"""Scores, rules and the exact pairing of mentees with mentors, with a reason for every choice.

Pipeline (``match_people``):

1. ``prepare_cohort`` encodes every answer once: list fields as 0/1 incidence matrices over
   the option vocabulary, single answers as small integer codes, and every per-pair lookup
   (experience gap, meeting format, availability overlap, which criteria count, which pairs a
   rule forbids, shared interests when the cohort has few distinct sets of them) as a small
   table over the distinct answers of each side.
2. ``score_rows`` scores whole blocks of mentee rows against all mentors at once: overlaps of
   list fields are popcounts of bit words, the rest are table look-ups; there is no Python
   loop over pairs. Scores are integers 0-10000 (the 0-100 score x 100), so solver totals and
   ties are exact and every way of computing a pair's score gives the same number.
3. Each mentee keeps its best ``candidates`` mentors (plus every requested or chosen pair), and
   each mentor its best few mentees. ``solve.solve_edges`` solves that exactly; its dual prices
   then show whether a pair left out could have improved the result, such pairs are added and
   the problem re-solved, so the candidate cut never costs optimality unless a note says so.
   Up to ``dense_limit`` cells the whole score matrix is kept and every left-out pair is priced
   exactly ("dense"). Past it ("sparse"):

   - only pairs who share a goal are scored: a pair who share none scores at most
     ``zero_overlap_bound`` (60 with the default weights), which stands in for them in pricing;
   - each row keeps a pool of ``POOL_FACTOR x candidates`` scored mentors, priced exactly after
     every solve; a row is rescored only when the score bound of everything outside its pool
     could still beat a mentor's price, and then only against the mentors priced that high;
     after a round that proved a row's cells, only the cells whose two prices rose since are
     rescored (a cell's reduced cost can turn negative no other way);
   - after the first solve only the chosen pairs and pairs near their prices go back to the
     solver; the rest are priced after every solve and return when they could improve it;
   - ``objective="fair"``: the floor and the most places are proven over every allowed pair by
     minimum cuts, rescoring only the mentees and mentors on either side of a cut.

   Among equally good pairings, places go to the earlier signups.
4. ``explain`` writes the Why of each pair and the true reason for each person left out.

Design decisions (documented here because the contract leaves them open):

- A criterion that one side left blank is dropped from that pair's weighted mean; when nothing at
  all can be compared the score is a neutral 50, because missing answers are not evidence of a
  bad pair and a 0 would make the "fair" objective meaningless for people with sparse signups.
- topics: share of the mentee's goals (goals + topics) the mentor offers (expertise + topics).
  industry: same or not. experience: best when the mentor has ``ideal_experience_gap`` more
  years (0.5 at an equal level, rising linearly), fading to 0.5 for a far larger gap, 0 when the
  mentor has fewer years. availability: shared weekly hours / the smaller of the two; without
  availability answers but with both time zones, 1 - (hours apart / 12). format: 1 when they
  share a meeting format. interests: Jaccard index.
- Time-zone gaps use the UTC offsets in mid-January and mid-July of a fixed year and take the
  larger: a fixed date keeps runs identical, and the larger gap is the one the pair will meet.
- Requests and ranked choices give a bonus in the solver objective, weighted so that one more
  honoured request (a 1st choice more than a 2nd) always beats any amount of score. The
  reported score stays the 0-100 score.
- ``objective="fair"``: the lowest pair score is raised as far as it can go without giving up
  a single place (a literal "lowest score before places" would leave people out to raise the
  minimum); then places, then total.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mentorcli.availability import (
    WeeklyGrid,
    combined_codes,
    distinct_answers,
    first_rows,
    weekly_utc_grid,
)
from mentorcli.bulk import gc_paused
from mentorcli.config import CRITERIA, Config
from mentorcli.errors import MentorError
from mentorcli.files import atomic_path, neutralise_formula
from mentorcli.model import MatchResult, Problem
from mentorcli.names import NameIndex, resolve_answers
from mentorcli.solve import EXACT_LIMIT, Assignment, max_places, max_places_cut, solve_edges
from mentorcli.tz import tzinfo_for

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called as work advances (stage "score", "solve", "explain")."""

FULL = 10_000
"""A perfect pair in solver units: the 0-100 score x 100."""
NEUTRAL = 0.5
EXP_STEPS = 121
"""Experience in half years, 0..60 years; one more code for "blank"."""
MAX_PRICING_ROUNDS = 8
PRICING_SLACK = FULL // 10
"""A row with a violated left-out pair also gets its near misses: reduced cost below this (10 score points)."""
PRICING_ADD = 20
"""At most this many left-out pairs added per violated row in one pricing round."""
MAX_CUT_ROUNDS = 50
"""Minimum-cut checks before the sparse fair objective's most places or floor is given up as unproven."""
CUT_ADD = 20
"""At most this many left-out pairs across a minimum cut added per mentee in one round."""
SOLVE_SLACK = FULL // 40
"""After the first solve, only the chosen pairs and known pairs with reduced cost up to this
(2.5 score points) are offered again; the rest are priced after each solve like any left-out
pair. Later solves at 100k signups then take half the time with a tenth of the pairs, and
pairs that far from their prices almost never enter the optimum (no more rounds measured)."""
MENTOR_SIDE_CANDIDATES = 10
"""Besides each mentee's best mentors, each mentor's best this many mentees are offered to the solver."""
POOL_FACTOR = 2
"""Each mentee's best ``POOL_FACTOR x candidates`` scored mentors are kept to price after each solve."""
PRUNE_SHARE = 0.6
"""Score only pairs who share a goal when that is at most this share of all cells (see ``_score_groups``)."""
SLAB_ROWS = 32
"""Each mentor's best mentee in every this many scored rows is a candidate for its best few
(a power of two: the row's place in its slab is packed into the low bits of the score)."""
SLAB_BITS = (SLAB_ROWS - 1).bit_length()
BLOCK_CELLS = 1 << 20
EXPANDED_BYTES = 256 << 20
"""Largest per-mentor look-up table kept in memory for fast block scoring (see ``MentorColumns``)."""
INTEREST_TABLE_SETS = 256
"""Up to this many distinct interest sets in a cohort, the interests criterion is a look-up table."""
EXPAND_ROWS = 256
"""Expand the look-up tables for a set of mentors only for at least this many mentee rows: the
tables have about a thousand rows in all, so for fewer the expansion costs more than it saves."""
MIN_GROUP_CELLS = 1 << 18
"""Rows priced against fewer cells than this are priced with the next larger group."""
FIRST_ROUND_PER_OCTAVE = 1
"""The first pricing round rounds each row's price prefix up to a power of two (later rounds to
a quarter of one): the extra mentors give its many violated rows more near misses, which saved
a whole solve round at 100k signups (5 rounds, not 6, on two generated cohorts)."""
REFERENCE_INSTANTS = ("2026-01-14T12:00", "2026-07-15T12:00")
RULES = ("self", "language", "team", "organisation", "avoid", "earlier", "timezone", "choices")
RULE_TEXT = {
    "self": "is themselves",
    "language": "share no language",
    "team": "same team",
    "organisation": "same organisation",
    "avoid": "named in an avoid list",
    "earlier": "paired in an earlier cohort",
    "timezone": "too many hours apart",
    "choices": "not among the mentee's choices",
}
RULE_SINGULAR = {"language": "shares no language"}
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


# --------------------------------------------------------------------------- text normalising


@lru_cache(maxsize=1 << 16)
def option_key(text: str) -> str:
    """How two answers are compared: case-insensitive, spacing ignored (cached: options repeat)."""
    return " ".join(str(text).casefold().split())


# name_key and NameIndex live in ``names`` (signups reports what answers name, match applies it)


# --------------------------------------------------------------------------- cohort encoding


@dataclass
class Side:
    """One side of the matrix (mentees or mentors), every answer encoded as arrays."""

    person: np.ndarray
    topics: np.ndarray
    topic_bits: np.ndarray
    interest_bits: np.ndarray
    interest_set: np.ndarray
    """Code of the person's set of interests (distinct sets of the whole cohort): the row or
    column of ``tables["weighted_interests"]``."""
    topic_count: np.ndarray
    inv_topics: np.ndarray
    interests: np.ndarray
    interest_count: np.ndarray
    language_set: np.ndarray
    industry: np.ndarray
    experience: np.ndarray
    format: np.ndarray
    availability: np.ndarray
    counted: np.ndarray
    team: np.ndarray
    tz: np.ndarray
    limit: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class MentorColumns:
    """Look-up tables expanded for one fixed set of mentors: ``tables[name][:, right[cols]]``.

    A block of mentee rows against these mentors then needs a plain row gather per table
    instead of a 2-D fancy index, which was most of the scoring time. A table that would exceed
    ``EXPANDED_BYTES`` is not expanded (None: the caller falls back to the 2-D index).
    """

    cols: np.ndarray | None
    """Mentor columns, or None for every mentor."""
    expanded: dict[str, np.ndarray | None] = field(default_factory=dict, repr=False)

    def table(self, cohort: Cohort, name: str, right: np.ndarray) -> np.ndarray | None:
        """The expanded ``name`` table, ``right`` being the mentors' codes into it (built once)."""
        if name not in self.expanded:
            table = cohort.tables[name]
            codes = right if self.cols is None else right[self.cols]
            size = table.shape[0] * len(codes) * table.itemsize
            self.expanded[name] = np.ascontiguousarray(table[:, codes]) if size <= EXPANDED_BYTES else None
        return self.expanded[name]


@dataclass
class Cohort:
    """Everything the scorer, the solver and the explainer need, encoded once."""

    people: pd.DataFrame
    config: Config
    mentees: Side
    mentors: Side
    weights: np.ndarray
    tables: dict[str, np.ndarray]
    forbidden: dict[str, tuple[np.ndarray, np.ndarray]]
    choices_rows: dict[int, np.ndarray]
    bonus: pd.DataFrame
    notes: list[str]
    vocab_topics: list[str]
    vocab_interests: list[str]
    offsets: np.ndarray
    weekly: WeeklyGrid
    """When each person is available (UTC, exact to the minute) and whose time zone was assumed."""
    _columns: dict[str, list] = field(default_factory=dict, repr=False)
    _all_columns: MentorColumns | None = field(default=None, repr=False)

    def columns(self) -> MentorColumns:
        """The look-up tables expanded for every mentor (built on first use, then shared)."""
        if self._all_columns is None:
            self._all_columns = MentorColumns(None)
        return self._all_columns

    def column(self, name: str) -> list:
        """A People column as a plain list (row access through pandas is slow for many pairs)."""
        if name not in self._columns:
            self._columns[name] = self.people[name].tolist()
        return self._columns[name]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.mentees), len(self.mentors)

    @property
    def timezone_assumed(self) -> np.ndarray:
        """(people,) bool: the person gave availability but no time zone the tool could read, and
        their availability was placed in ``weekly.assumed_zone`` (the cohort's most common zone)."""
        return self.weekly.assumed


@dataclass
class ListAnswers:
    """A multi-select field (or several joined, goals + topics) encoded once per distinct answer.

    Row ``i`` of the People frame gave distinct answer ``ids[i]``; ``options[a, j]`` says whether
    answer ``a`` has option key ``keys[j]`` (keys sorted). Answers repeat a lot, so everything
    derived from them is built per distinct answer and gathered with ``ids``: a Python pass per
    row, or per option of every distinct answer, cost a large part of the encoding.
    """

    ids: np.ndarray
    options: np.ndarray
    keys: list[str]

    def vocabulary(self, rows: np.ndarray | None = None) -> dict[str, int]:
        """Column of each option key used (by ``rows`` only, when given), in sorted order."""
        answers = self.options if rows is None else self.options[np.unique(self.ids[rows])]
        used = answers.any(axis=0)
        return {k: i for i, k in enumerate(k for k, u in zip(self.keys, used.tolist()) if u)}

    def answered(self) -> np.ndarray:
        """Per row: whether the answer has any option at all."""
        return self.options.any(axis=1)[self.ids]


def _list_keys(*columns: Iterable[Iterable[str]]) -> ListAnswers:
    """The option keys of each row's answers in ``columns`` joined together.

    Each distinct option text is keyed once (``option_key``); answers become a bool matrix over
    the keys by one scatter instead of a set per answer.
    """
    ids, combinations = distinct_answers(*columns)
    texts = [text for combination in combinations for answer in combination for text in answer]
    owner = np.repeat(np.arange(len(combinations)), [sum(map(len, combination)) for combination in combinations])
    text_ids, distinct_texts = distinct_answers(texts)
    text_keys = [option_key(text) for text, in distinct_texts]
    keys = sorted({k for k in text_keys if k})
    position = {k: j for j, k in enumerate(keys)}
    column_of = np.array([position.get(k, -1) for k in text_keys], dtype=np.int64)[text_ids]
    options = np.zeros((len(combinations), len(keys)), dtype=bool)
    options[owner[column_of >= 0], column_of[column_of >= 0]] = True
    return ListAnswers(ids, options, keys)


def _distinct_sets(answers: ListAnswers) -> tuple[np.ndarray, np.ndarray]:
    """Per People row, the code of its set of options (in order of first appearance), and each
    distinct set as a bool row over ``answers.keys``: answers worded differently with the same
    options share a code. Worked out over the distinct answers, not the rows."""
    code_of_answer, sets = _factorize_rows(answers.options)
    return code_of_answer[answers.ids], sets


def _incidence(answers: ListAnswers, vocab: dict[str, int], rows: np.ndarray | None = None) -> np.ndarray:
    """0/1 float32 matrix, one row per People row (``rows`` only, when given) with a 1 in the
    column of each of its keys that ``vocab`` has. Built per distinct answer and gathered."""
    table = np.zeros((len(answers.options), max(len(vocab), 1)), dtype=np.float32)
    shared = [j for j, k in enumerate(answers.keys) if k in vocab]
    table[:, [vocab[answers.keys[j]] for j in shared]] = answers.options[:, shared]
    return table[answers.ids if rows is None else answers.ids[rows]]


def _bits(incidence: np.ndarray) -> np.ndarray:
    """A 0/1 incidence matrix packed into words per row, for overlaps by popcount: one word of
    8 to 32 bits when the options fit (the AND over a block then moves less memory), else
    64-bit words."""
    width = incidence.shape[1]
    word = 64 if width > 32 else max(8, 1 << (max(width, 1) - 1).bit_length())
    words = max(1, -(-width // word))
    padded = np.zeros((len(incidence), words * word), dtype=np.uint8)
    padded[:, :width] = incidence > 0
    return np.packbits(padded, axis=1, bitorder="little").view(f"<u{word // 8}").reshape(len(incidence), words)


def _overlap_block(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Shared options of every left row with every right row: exact counts as float32.

    Popcount of AND-ed bit words, rather than a small matrix product: BLAS threads spin badly on
    products this thin, and counts must be exact anyway.
    """
    total = np.bitwise_count(left[:, 0][:, None] & right[:, 0][None, :]).astype(np.float32)
    for word in range(1, left.shape[1]):
        total += np.bitwise_count(left[:, word][:, None] & right[:, word][None, :])
    return total


def _overlap_pairs(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.bitwise_count(left & right).sum(axis=1).astype(np.float32)


def _codes(values: Iterable[str], blank: int) -> tuple[np.ndarray, list[str]]:
    """Integer codes of text answers (case-insensitive); blank answers get ``blank``."""
    ids, distinct = distinct_answers(values)
    keys = [option_key(value) for value, in distinct]
    uniques = sorted({k for k in keys if k})
    lookup = {k: i for i, k in enumerate(uniques)}
    return np.array([lookup[k] if k else blank for k in keys], dtype=np.int64)[ids], uniques


def _row_words(matrix: np.ndarray) -> np.ndarray:
    """Each row's bytes as 64-bit words (zero-padded), so rows can be told apart a column at a time.

    Bool rows are packed to bits first: 168 hours then take 3 words instead of 21.
    """
    data = np.packbits(matrix, axis=1) if matrix.dtype == bool else matrix
    raw = np.ascontiguousarray(data).view(np.uint8).reshape(len(matrix), -1)
    padded = np.zeros((len(matrix), -(-raw.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, :raw.shape[1]] = raw
    return padded.view(np.uint64)


def _distinct_rows(*matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the distinct rows of ``matrices`` side by side (in order of first appearance) and
    the first row of each.

    Rows compare as bytes, word by word: one hash pass per 64-bit column, where hashing a bytes
    object per row, or sorting 100,000 wide rows (``np.unique(axis=0)``), cost a second or more.
    """
    ids = np.zeros(len(matrices[0]), dtype=np.int64)
    for words in (_row_words(matrix) for matrix in matrices):
        for column in words.T:
            values, distinct = pd.factorize(column)
            ids = combined_codes(ids, values, len(distinct))
    return ids, first_rows(ids)


def _factorize_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the distinct rows of ``matrix`` (numbered in order of first appearance) and those rows."""
    if len(matrix) == 0:
        return np.zeros(0, np.int64), matrix
    ids, first = _distinct_rows(matrix)
    return ids, np.ascontiguousarray(matrix)[first]


def utc_offsets(zones: Iterable[str]) -> np.ndarray:
    """(n, 2) UTC offsets in hours at the reference instants; NaN where the zone is unknown.

    Worked out once per distinct zone: the first look-up of a zone loads its tz file.
    """
    import datetime as dt

    instants = [dt.datetime.fromisoformat(t) for t in REFERENCE_INSTANTS]
    ids, distinct = distinct_answers(zones)
    table = np.full((len(distinct), len(instants)), np.nan)
    for i, (zone,) in enumerate(distinct):
        info = tzinfo_for(zone)
        if info is not None:
            table[i] = [instant.replace(tzinfo=info).utcoffset().total_seconds() / 3600 for instant in instants]
    return table[ids]


def largest_clock_gap(difference: np.ndarray) -> np.ndarray:
    """Hours apart from UTC offset differences at each reference instant (last axis), the larger.

    The real difference, up to 26 hours, never folded around the globe: UTC+14 and UTC-10 show
    the same clock time on different days (Monday 9:00 in Honolulu is Tuesday 9:00 in
    Kiritimati), so they are 24 hours apart, not in the same time zone."""
    return np.abs(difference).max(axis=-1)


def hours_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest clock difference in hours between every offset row of ``a`` and every one of ``b``."""
    return largest_clock_gap(a[..., :, None, :] - b[..., None, :, :])


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


def _experience_codes(values: pd.Series) -> np.ndarray:
    years = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    codes = np.clip(np.rint(years * 2), 0, EXP_STEPS - 1)
    return np.where(np.isnan(years), EXP_STEPS, codes).astype(np.int64)


def _lower_roles(people: pd.DataFrame) -> np.ndarray:
    """The role column lower-cased, read once per distinct role."""
    ids, distinct = distinct_answers(people["role"])
    return np.array([str(role).lower() for role, in distinct], dtype=object)[ids]


def _availability_profiles(weekly: WeeklyGrid, tz_ids: np.ndarray,
                           tz_uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person the code of their (weekly mask, zone offsets) profile, and each profile's mask
    (slot counts as 0/1 floats) and offsets. Told apart on the codes of both, never on the rows."""
    if len(tz_ids) == 0:
        return np.zeros(0, np.int64), np.zeros((0, weekly.masks.shape[1])), np.zeros((0, 2))
    ids = combined_codes(weekly.ids, tz_ids, max(len(tz_uniques), 1))
    first = first_rows(ids)
    return ids, weekly.masks[weekly.ids[first]].astype(np.float32), tz_uniques[tz_ids[first]]


def _side_indices(people: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    roles = _lower_roles(people)
    wants = people["wants"].to_numpy(dtype=np.int64)
    mentees = np.flatnonzero(np.isin(roles, ("mentee", "both")) & (wants > 0))
    mentors = np.flatnonzero(np.isin(roles, ("mentor", "both")))
    return mentees, mentors


def prepare_cohort(people: pd.DataFrame, config: Config, *, avoid_pairs: Iterable[tuple[str, str]] = (),
                   keep_edges: Iterable[tuple[int, int]] = (), mentee_index: np.ndarray | None = None,
                   mentor_index: np.ndarray | None = None) -> Cohort:
    """Encode a People frame for scoring. Mentees: role mentee/both with wants > 0; mentors: mentor/both.

    ``mentee_index``/``mentor_index`` (People positions) override who is on each side, for
    checking given pairs (``broken_rules``).
    """
    people = people.reset_index(drop=True)
    rules = config.rules
    notes: list[str] = []
    m_idx, r_idx = _side_indices(people)
    if mentee_index is not None:
        m_idx = np.asarray(mentee_index, dtype=np.int64)
    if mentor_index is not None:
        r_idx = np.asarray(mentor_index, dtype=np.int64)

    wanted = _list_keys(people["goals"], people["topics"])
    offered = _list_keys(people["expertise"], people["topics"])
    topic_vocab = wanted.vocabulary(m_idx)
    interests = _list_keys(people["interests"])
    interest_vocab = interests.vocabulary()
    interest_ids, interest_uniques = _distinct_sets(interests)
    languages = _list_keys(people["languages"])
    formats = _list_keys(people["format"])

    industry, _ = _codes(people["industry"], -1)
    industry = industry + 1  # 0 = blank, so codes index a table
    language_ids, language_uniques = _distinct_sets(languages)
    experience = _experience_codes(people["experience"])
    format_ids, format_uniques = _distinct_sets(formats)
    weekly = weekly_utc_grid(people, config)
    offsets = utc_offsets(people["timezone"].fillna("").astype(str))
    tz_known = ~np.isnan(offsets).any(axis=1)
    zone_keys = np.where(tz_known[:, None], offsets, 99.0)
    tz_ids, tz_uniques = _factorize_rows(zone_keys)
    profile_ids, profile_masks, profile_zones = _availability_profiles(weekly, tz_ids, tz_uniques)
    org, _ = _codes(people["organisation"], -1)
    dept, _ = _codes(people["department"], -1)
    team_ids, team_uniques = _factorize_rows(np.stack([org, dept], axis=1))
    if rules.forbid_same_team and len(people) and (org < 0).all() and (dept >= 0).any():
        notes.append("nobody gave an organisation, so no pair could be found in the same team (same organisation "
                     "and department); if everyone is in one organisation, add an organisation column saying so")

    has = np.stack([
        np.zeros(len(people), bool), industry > 0, experience < EXP_STEPS,
        formats.answered(), interests.answered(),
        weekly.minutes() > 0, tz_known,
    ], axis=1)
    counted_code = (has * (1 << np.arange(has.shape[1]))).sum(axis=1).astype(np.int64)

    def side(index: np.ndarray, topics: ListAnswers, limit_field: str) -> Side:
        # bit 0 (topics) depends on the side: goals for a mentee, expertise for a mentor
        topic_bit = topics.answered()[index].astype(np.int64)
        topic_m = _incidence(topics, topic_vocab, index)
        topic_count = topic_m.sum(axis=1)
        interest_m = _incidence(interests, interest_vocab, index)
        return Side(
            person=index, topics=topic_m, topic_bits=_bits(topic_m), interest_bits=_bits(interest_m),
            interest_set=interest_ids[index],
            topic_count=topic_count,
            inv_topics=np.where(topic_count > 0, 1.0 / np.maximum(topic_count, 1), 0).astype(np.float32),
            interests=interest_m, interest_count=interest_m.sum(axis=1),
            language_set=language_ids[index], industry=industry[index], experience=experience[index],
            format=format_ids[index], availability=profile_ids[index], counted=counted_code[index] | topic_bit,
            team=team_ids[index], tz=tz_ids[index],
            limit=people[limit_field].to_numpy(dtype=np.int64)[index],
        )

    mentees = side(m_idx, wanted, "wants")
    mentors = side(r_idx, offered, "capacity")
    weights = np.array([config.weights.as_dict()[c] for c in CRITERIA], dtype=np.float32)
    tables = _tables(config, weights, format_uniques, (profile_masks, profile_zones), tz_uniques, team_uniques,
                     has.shape[1])
    n_industries = int(industry.max(initial=0)) + 1
    same_industry = np.eye(n_industries, dtype=np.float32)
    same_industry[0, 0] = 0
    tables["industry"] = same_industry
    tables["weighted_industry"] = same_industry * weights[1]
    if len(interest_uniques) <= INTEREST_TABLE_SETS:
        tables["weighted_interests"] = _interest_table(interest_uniques, weights[5])
    # language rule: a blank answer on either side is no evidence of a mismatch
    lang = language_uniques.astype(np.float32)
    answered = lang.sum(axis=1) > 0
    no_shared = ((lang @ lang.T) == 0) & answered[:, None] & answered[None, :]
    tables["no_language"] = no_shared if rules.require_shared_language else np.zeros_like(no_shared)
    cohort = Cohort(
        people=people, config=config, mentees=mentees, mentors=mentors, weights=weights, tables=tables,
        forbidden={}, choices_rows={}, bonus=pd.DataFrame(), notes=notes,
        vocab_topics=list(topic_vocab), vocab_interests=list(interest_vocab), offsets=offsets, weekly=weekly,
    )
    _free_text_rules(cohort, avoid_pairs, keep_edges)
    return cohort


def assumed_zone_problems(cohort: Cohort) -> list[Problem]:
    """A warning on the signup row of each person whose time zone the matcher assumed."""
    people = cohort.people
    assumed = np.flatnonzero(cohort.timezone_assumed)
    text = (f"no time zone the tool can read: availability taken to be in {cohort.weekly.assumed_zone}, the "
            "cohort's most common time zone; give the time zone if that is wrong")
    column = lambda name: people[name].tolist() if name in people.columns else [""] * len(people)
    files, sheets, rows = column("source_file"), column("source_sheet"), column("source_row")
    return [Problem(_text_or_blank(files[k]), _text_or_blank(sheets[k]), _row_or_none(rows[k]), "timezone", "warning",
                    text) for k in assumed.tolist()]


def _text_or_blank(value: object) -> str:
    return value if isinstance(value, str) else ""


def _row_or_none(value: object) -> int | None:
    """A spreadsheet row number, or None for a person not read from a file (row 0, blank)."""
    try:
        row = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return row if row > 0 else None


def _tables(config: Config, weights: np.ndarray, format_uniques: np.ndarray, profiles: tuple[np.ndarray, np.ndarray],
            tz_uniques: np.ndarray, team_uniques: np.ndarray, n_bits: int) -> dict[str, np.ndarray]:
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
    tables["team"], tables["organisation"] = _team_tables(rules, team_uniques)
    gap = rules.max_timezone_gap
    tz_apart = hours_apart(tz_uniques[None], tz_uniques[None])[0] if len(tz_uniques) else np.zeros((0, 0))
    tz_known = (tz_uniques < 99).all(axis=1) if len(tz_uniques) else np.zeros(0, bool)
    too_far = (tz_apart > gap + 1e-9) & tz_known[:, None] & tz_known[None, :] if gap is not None else \
        np.zeros(tz_apart.shape, bool)
    tables["timezone"] = too_far
    return tables


def _known_and_equal(codes: np.ndarray) -> np.ndarray:
    """Every pair of codes that are the same known answer (a blank code, below 0, equals nothing)."""
    return (codes[:, None] == codes[None, :]) & (codes[:, None] >= 0)


def _team_tables(rules: Any, team_uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(same team, same organisation) over the distinct (organisation, department) codes.

    A blank answer is unknown and never makes a rule fire: the same team needs both
    organisations and both departments given and equal; the same department in two different
    organisations, or beside a blank organisation, is not the same team.
    """
    org, dept = team_uniques[:, 0], team_uniques[:, 1]
    same_org = _known_and_equal(org)
    same_team = same_org & _known_and_equal(dept)
    return (same_team if rules.forbid_same_team else np.zeros_like(same_team),
            same_org if rules.forbid_same_organisation else np.zeros_like(same_org))


def _pairs_to_cells(cohort: Cohort, mentee_people: np.ndarray, mentor_people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """People index pairs -> (row, col) cells of the matrix; pairs outside it are dropped."""
    n = len(cohort.people)
    row_of = np.full(n, -1, np.int64)
    row_of[cohort.mentees.person] = np.arange(len(cohort.mentees))
    col_of = np.full(n, -1, np.int64)
    col_of[cohort.mentors.person] = np.arange(len(cohort.mentors))
    rows = row_of[np.asarray(mentee_people, dtype=np.int64)] if len(mentee_people) else np.zeros(0, np.int64)
    cols = col_of[np.asarray(mentor_people, dtype=np.int64)] if len(mentor_people) else np.zeros(0, np.int64)
    ok = (rows >= 0) & (cols >= 0)
    return rows[ok], cols[ok]


def _both_directions(a: list[int], b: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(a + b, dtype=np.int64), np.array(b + a, dtype=np.int64)


def _unique_cells(rows: np.ndarray, cols: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    keys = np.unique(rows * max(width, 1) + cols)
    return keys // max(width, 1), keys % max(width, 1)


def _has_choices(people: pd.DataFrame) -> np.ndarray:
    """People rows (ascending) that ranked at least one choice."""
    ids, distinct = distinct_answers(people["choices"])
    return np.flatnonzero(np.array([len(choices or ()) > 0 for choices, in distinct], dtype=bool)[ids])


def _free_text_rules(cohort: Cohort, avoid_pairs: Iterable[tuple[str, str]], keep_edges: Iterable[tuple[int, int]]) -> None:
    """Self-pairs, avoid lists, earlier pairs, requests and ranked choices as sparse cell lists.

    Avoid, request and choice answers are read by ``names.resolve_answers``, the same reading
    ``mentor check`` reports on each row (an ambiguous name in an avoid answer avoids every
    namesake; in a request or choice it names nobody).
    """
    people, config = cohort.people, cohort.config
    avoid_pairs = list(avoid_pairs)
    links = resolve_answers(people)
    index = links.index
    if index is None and avoid_pairs:
        index = NameIndex.build(people)
    width = len(cohort.mentors)
    both = np.flatnonzero(_lower_roles(people) == "both")
    rows, cols = _pairs_to_cells(cohort, both, both)
    cohort.forbidden["self"] = (rows, cols)

    avoid_a = [a for a, _b in links.avoid]
    avoid_b = [b for _a, b in links.avoid]
    rows, cols = _pairs_to_cells(cohort, *_both_directions(avoid_a, avoid_b))
    cohort.forbidden["avoid"] = _unique_cells(rows, cols, width)

    earlier_a, earlier_b, unknown = [], [], 0
    for first, second in avoid_pairs:
        assert index is not None
        a, b = index.by_email.get(str(first).strip().lower()), index.by_email.get(str(second).strip().lower())
        if a is None or b is None:
            unknown += 1
            continue
        earlier_a.append(a), earlier_b.append(b)
    if unknown:
        cohort.notes.append(f"{unknown} earlier pair(s) name someone who is not in these signups; they were ignored")
    rows, cols = _pairs_to_cells(cohort, *_both_directions(earlier_a, earlier_b))
    cohort.forbidden["earlier"] = _unique_cells(rows, cols, width)
    keep = list(keep_edges)
    cohort.forbidden["kept"] = _unique_cells(np.array([r for r, _ in keep], np.int64),
                                             np.array([c for _, c in keep], np.int64), width)

    records = []
    for person, other in links.request:
        records.append((person, other, person, 0, "request"))
        records.append((other, person, person, 0, "request"))
    chosen_by: dict[int, list[int]] = {}
    for person, other, rank in links.choices:
        records.append((person, other, person, rank, "choice"))
        records.append((other, person, person, rank, "choice"))
        chosen_by.setdefault(person, []).append(other)
    taken = {(person, rank) for person, _other, rank in links.choices}
    unresolved = [f.person for f in links.findings if f.field == "choices" and (f.person, f.rank) not in taken]
    if unresolved:
        source_rows = people["source_row"].to_numpy()
        rows_text = ", ".join(str(int(source_rows[p])) for p in sorted(set(unresolved))[:10] if source_rows[p])
        cohort.notes.append(f"{len(unresolved)} ranked choice(s) name nobody else in the signups for sure"
                            + (f" (signup rows {rows_text})" if rows_text else ""))
    _bonus_table(cohort, records)
    if config.rules.choices_only:
        row_of = {int(p): r for r, p in enumerate(cohort.mentees.person)}
        col_of = {int(p): c for c, p in enumerate(cohort.mentors.person)}
        for person in _has_choices(people).tolist():
            row = row_of.get(person)
            if row is not None:
                chosen = [col_of[o] for o in chosen_by.get(int(person), []) if o in col_of]
                cohort.choices_rows[row] = np.array(sorted(set(chosen)), dtype=np.int64)


def _bonus_table(cohort: Cohort, records: list[tuple[int, int, int, int, str]]) -> None:
    """One row per (cell, who asked): bonus units = most ranks + 1 - rank (a request counts as a 1st choice)."""
    columns = ["row", "col", "by", "rank", "kind"]
    if not records:
        cohort.bonus = pd.DataFrame(columns=columns + ["units"])
        return
    frame = pd.DataFrame(records, columns=["mentee", "mentor", "by", "rank", "kind"])
    n = len(cohort.people)
    row_of = np.full(n, -1, np.int64)
    row_of[cohort.mentees.person] = np.arange(len(cohort.mentees))
    col_of = np.full(n, -1, np.int64)
    col_of[cohort.mentors.person] = np.arange(len(cohort.mentors))
    frame["row"] = row_of[frame["mentee"].to_numpy()]
    frame["col"] = col_of[frame["mentor"].to_numpy()]
    frame = frame[(frame["row"] >= 0) & (frame["col"] >= 0)].copy()
    most = int(max(frame["rank"].max(), 1)) if len(frame) else 1
    frame["units"] = np.where(frame["rank"] > 0, most + 1 - frame["rank"], most)
    # one side's request and choice of the same person count once: the stronger
    frame = frame.sort_values(["row", "col", "by", "units"], ascending=[True, True, True, False], kind="stable")
    frame = frame.drop_duplicates(["row", "col", "by"], keep="first")
    cohort.bonus = frame[columns + ["units"]].reset_index(drop=True)


# --------------------------------------------------------------------------- scoring


def _gather(table: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``table[a, b]`` for a block (a: (k, 1), b: (1, m)) or for aligned pairs (both (k,))."""
    if a.ndim == 2 and a.shape[1] == 1 and b.ndim == 2 and b.shape[0] == 1:
        return np.take(table[a[:, 0]], b[0], axis=1)
    return table[a, b]


def _lookup(cohort: Cohort, name: str, left: np.ndarray, right: np.ndarray, a: np.ndarray, b: np.ndarray,
            columns: MentorColumns | None) -> np.ndarray:
    """``tables[name][left[a], right[b]]``; for a block against the mentors of ``columns``, a row
    gather of the expanded table (the same numbers, faster)."""
    if columns is not None:
        expanded = columns.table(cohort, name, right)
        if expanded is not None:
            return expanded[left[a[:, 0]]]
    return _gather(cohort.tables[name], left[a], right[b])


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


def _rule_block(cohort: Cohort, a: np.ndarray, b: np.ndarray, columns: MentorColumns | None = None) -> dict[str, np.ndarray]:
    """Which cells each table rule forbids (True = forbidden)."""
    m, r = cohort.mentees, cohort.mentors
    return {
        "language": _lookup(cohort, "no_language", m.language_set, r.language_set, a, b, columns),
        "team": _lookup(cohort, "team", m.team, r.team, a, b, columns),
        "organisation": _lookup(cohort, "organisation", m.team, r.team, a, b, columns),
        "timezone": _lookup(cohort, "timezone", m.tz, r.tz, a, b, columns),
    }


def _apply_sparse_rules(cohort: Cohort, allowed: np.ndarray, rows: np.ndarray, cols: np.ndarray | None = None) -> None:
    """Forbid the listed cells (self, avoid, earlier, kept) and apply choices_only, in place.

    ``allowed`` is the grid ``rows`` x ``cols`` (``cols`` None = every mentor); the rows and
    columns may be any subset in any order. The lists are short, so this costs O(list length).
    """
    n, m = cohort.shape
    row_at = np.full(n, -1, np.int64)
    row_at[rows] = np.arange(len(rows))
    col_at = None
    if cols is not None:
        col_at = np.full(m, -1, np.int64)
        col_at[cols] = np.arange(len(cols))
    for name in ("self", "avoid", "earlier", "kept"):
        fr, fc = cohort.forbidden.get(name, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        i = row_at[fr]
        j = fc if col_at is None else col_at[fc]
        inside = (i >= 0) & (j >= 0)
        allowed[i[inside], j[inside]] = False
    for row, chosen in cohort.choices_rows.items():
        k = row_at[row]
        if k < 0:
            continue
        keep = np.zeros(m, bool)
        keep[chosen] = True
        allowed[k] &= keep if cols is None else keep[cols]


def score_rows(cohort: Cohort, r0: int, r1: int, *, rows: np.ndarray | None = None,
               cols: np.ndarray | None = None, columns: MentorColumns | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores (int16, 0-10000) and the allowed mask of mentee rows r0..r1 (or of ``rows``)
    against every mentor (or against ``cols``). ``columns``: the expanded tables of ``cols``
    when the caller scores many blocks against the same mentors."""
    m, r = cohort.mentees, cohort.mentors
    index = np.arange(r0, r1) if rows is None else np.asarray(rows, dtype=np.int64)
    mentors = np.arange(len(r)) if cols is None else np.asarray(cols, dtype=np.int64)
    if cols is None:
        columns = cohort.columns()
    a = index[:, None]
    b = mentors[None, :]
    take = slice(r0, r1) if rows is None else index
    right = slice(None) if cols is None else mentors
    topic_overlap = _overlap_block(m.topic_bits[take], r.topic_bits[right])
    scores = _weighted_score(cohort, a, b, topic_overlap, _interest_overlap(cohort, _overlap_block, take, right), columns)
    forbidden = _rule_block(cohort, a, b, columns)
    allowed = forbidden["language"] | forbidden["team"]
    allowed |= forbidden["organisation"]
    allowed |= forbidden["timezone"]
    np.logical_not(allowed, out=allowed)
    _apply_sparse_rules(cohort, allowed, index, None if cols is None else mentors)
    return scores, allowed


def pair_scores(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Integer scores (0-10000) of given cells: the same numbers ``score_rows`` gives."""
    m, r = cohort.mentees, cohort.mentors
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    topic_overlap = _overlap_pairs(m.topic_bits[rows], r.topic_bits[cols])
    return _weighted_score(cohort, rows, cols, topic_overlap, _interest_overlap(cohort, _overlap_pairs, rows, cols))


def pair_rules(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
    """For given cells: which rule forbids each (True = broken), every rule separately."""
    r = cohort.mentors
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    broken = _rule_block(cohort, rows, cols)
    keys = rows * max(len(r), 1) + cols
    for name in ("self", "avoid", "earlier"):
        fr, fc = cohort.forbidden.get(name, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        broken[name] = np.isin(keys, fr * max(len(r), 1) + fc)
    broken["choices"] = _choices_broken(cohort, rows, cols)
    return broken


def _choices_broken(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """choices_only: the cell's mentee made choices and this mentor is not one of them."""
    n, width = len(cohort.mentees), max(len(cohort.mentors), 1)
    if not cohort.choices_rows:
        return np.zeros(np.broadcast_shapes(rows.shape, cols.shape), bool)
    restricted = np.zeros(n, bool)
    restricted[list(cohort.choices_rows)] = True
    chosen = np.concatenate([row * width + c for row, c in cohort.choices_rows.items()]).astype(np.int64)
    return restricted[rows] & ~np.isin(rows * width + cols, chosen)


def rule_matrix(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
    """Every rule separately for the grid rows x cols (True = forbidden), block-vectorised."""
    r = cohort.mentors
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    a, b = rows[:, None], cols[None, :]
    broken = _rule_block(cohort, a, b)
    shape = (len(rows), len(cols))
    row_at = np.full(len(cohort.mentees), -1, np.int64)
    row_at[rows] = np.arange(len(rows))
    col_at = np.full(len(r), -1, np.int64)
    col_at[cols] = np.arange(len(cols))

    def scatter(cell_rows: np.ndarray, cell_cols: np.ndarray, value: bool, grid: np.ndarray) -> np.ndarray:
        i, j = row_at[cell_rows], col_at[cell_cols]
        inside = (i >= 0) & (j >= 0)
        grid[i[inside], j[inside]] = value
        return grid

    for name in ("self", "avoid", "earlier"):
        fr, fc = cohort.forbidden.get(name, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        broken[name] = scatter(fr, fc, True, np.zeros(shape, bool))
    restricted = np.zeros(len(cohort.mentees), bool)
    restricted[list(cohort.choices_rows)] = True
    choices = np.repeat(restricted[rows][:, None], len(cols), axis=1)
    for row, chosen in cohort.choices_rows.items():
        scatter(np.full(len(chosen), row), chosen, False, choices)
    broken["choices"] = choices
    return broken


def _blocks(n_rows: int, n_cols: int) -> list[tuple[int, int]]:
    step = max(1, min(n_rows, BLOCK_CELLS // max(n_cols, 1)))
    return [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _run_tasks(fn: Callable[..., Any], tasks: list[tuple[tuple, int]], consume: Callable[[int, Any], None],
               progress: Progress | None, stage: str) -> None:
    """Run ``fn(*args)`` for each ``(args, size)`` task on a few threads (numpy releases the GIL)
    and hand each result to ``consume(index, result)`` in task order, so nothing depends on timing."""
    total = sum(size for _, size in tasks)
    done = 0
    if len(tasks) <= 1 or _workers() == 1:
        for k, (args, size) in enumerate(tasks):
            consume(k, fn(*args))
            done += size
            if progress:
                progress(stage, done, total)
        return
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        futures = [pool.submit(fn, *args) for args, _ in tasks]
        for k, future in enumerate(futures):
            consume(k, future.result())
            futures[k] = None  # type: ignore[call-overload]
            done += tasks[k][1]
            if progress:
                progress(stage, done, total)


# --------------------------------------------------------------------------- candidates


Edges = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(mentee rows, mentor cols, scores) of pairs: scored, offered to the solver, or found by pricing."""


EMPTY_EDGES: Edges = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


def _concat(parts: list[Edges]) -> Edges:
    """The edges of all ``parts`` in one (rows, cols, scores)."""
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3)) if parts else EMPTY_EDGES  # type: ignore[return-value]


@dataclass
class Candidates:
    """The pairs offered to the solver, and the scored pairs kept for pricing the rest.

    ``rows/cols/scores``: each mentee's best ``candidates`` mentors and each mentor's best
    mentees (offered to the solver). ``pool_*``: each mentee's best ``POOL_FACTOR x candidates``
    scored mentors (priced exactly after each solve, without rescoring). ``kth``: an upper bound
    on the score of every allowed pair outside the pool (-1: there is none); ``cut``: whether the
    row may have such pairs. ``dense``: the whole score matrix (int16, -1 = not allowed) when
    it was kept.
    """

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    pool_rows: np.ndarray
    pool_cols: np.ndarray
    pool_scores: np.ndarray
    kth: np.ndarray
    cut: np.ndarray
    dense: np.ndarray | None


def zero_overlap_bound(cohort: Cohort) -> int | None:
    """The highest integer score of a pair who both answered topics and share none.

    The topics term is then 0 while it still counts in the weighted mean, so the score is at
    most ``1 - w_topics / (sum of weights)`` (every other criterion perfect): 60 with the
    default weights. One unit is added for float32 rounding. None when topics weigh nothing.
    """
    weights = cohort.weights.astype(np.float64)
    if weights[0] <= 0 or weights.sum() <= 0:
        return None
    return int(math.ceil(FULL * (1 - weights[0] / weights.sum()))) + 1


def _score_groups(cohort: Cohort) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], np.ndarray, int | None]:
    """Which cells to score, as (mentee rows, mentor cols or None = all) groups; which rows have
    allowed cells left unscored; and the bound on those cells' scores.

    A pair who share no goal scores at most ``zero_overlap_bound``, and a mentee's best mentors
    nearly always share a goal, so only such pairs are scored: per goal option, the mentees who
    want it x the mentors who offer it (a pair sharing two goals is scored twice, the same
    number); mentees without goals x every mentor; every mentee x the mentors in no such group.
    The pricing after each solve treats the bound as the score of every unscored cell, so this
    never costs optimality. Every cell is scored when that is not much more work.
    """
    n, m = cohort.shape
    everyone: list[tuple[np.ndarray, np.ndarray | None]] = [(np.arange(n), None)]
    bound = zero_overlap_bound(cohort)
    if bound is None or bound >= FULL or not n or not m:
        return everyone, np.zeros(n, bool), None
    mentees, mentors = cohort.mentees, cohort.mentors
    rows_with = (mentees.counted & 1).astype(bool)
    in_no_group = mentors.topic_count == 0  # offer nothing, or nothing any mentee wants
    wanted, offered = mentees.topics > 0, mentors.topics > 0
    per_goal = wanted.sum(axis=0).astype(np.int64) * offered.sum(axis=0).astype(np.int64)
    cells = int(per_goal.sum()) + int((~rows_with).sum()) * m + int(rows_with.sum()) * int(in_no_group.sum())
    if cells > PRUNE_SHARE * n * m:
        return everyone, np.zeros(n, bool), None
    groups: list[tuple[np.ndarray, np.ndarray | None]] = [
        (np.flatnonzero(wanted[:, t]), np.flatnonzero(offered[:, t])) for t in np.flatnonzero(per_goal)]
    if (~rows_with).any():
        groups.append((np.flatnonzero(~rows_with), None))
    if in_no_group.any() and rows_with.any():
        groups.append((np.flatnonzero(rows_with), np.flatnonzero(in_no_group)))
    return groups, rows_with, bound


@dataclass
class _Keys:
    """How a cell's score and position become one sortable integer.

    ``score << bits | (mentor tiebreak)``: unique within a row, larger = better, the earlier
    mentor first on equal scores.
    """

    bits: int
    dtype: type
    tiebreak: np.ndarray

    @classmethod
    def of(cls, m: int) -> _Keys:
        bits = max(1, int(m).bit_length())
        dtype = np.int32 if (FULL + 1) << bits < np.iinfo(np.int32).max else np.int64
        return cls(bits, dtype, ((1 << bits) - 1 - np.arange(m)).astype(dtype))


def _score_chunk(cohort: Cohort, rows: np.ndarray, cols: np.ndarray | None, columns: MentorColumns,
                 keys: _Keys, pool: int, keep_matrix: bool, mentor_floor: np.ndarray):
    """Score one block; return its cells among each row's best ``pool``, each mentor's best
    mentee in it, and (dense) its scores."""
    scores, allowed = score_rows(cohort, 0, 0, rows=rows, cols=cols, columns=columns)
    np.putmask(scores, ~allowed, np.int16(-1))  # every key built from a -1 is negative: never picked
    mentors = np.arange(len(cohort.mentors)) if cols is None else cols
    key = np.left_shift(scores, keys.bits, dtype=keys.dtype)
    key |= keys.tiebreak[mentors][None, :]
    width = key.shape[1]
    if width > pool:
        # partition (not argpartition) finds each row's pool-th key; a comparison then picks the cells
        threshold = np.partition(key, width - pool, axis=1)[:, width - pool]
        chosen = key >= np.maximum(threshold, 0)[:, None]
    else:
        chosen = allowed
    local, at = _nonzero_cells(chosen)
    return (rows[local], mentors[at], key[local, at], _slab_best(scores, rows, mentors, mentor_floor),
            scores if keep_matrix else None)


def _nonzero_cells(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D mask, faster: 0.7 instead of 4.6 ms for a sparse mask of a million
    cells, 7 instead of 11 ms for a full one."""
    flat = np.flatnonzero(mask)
    return np.divmod(flat, max(mask.shape[1], 1))


def _slab_best(scores: np.ndarray, rows: np.ndarray, mentors: np.ndarray, mentor_floor: np.ndarray) -> Edges:
    """(rows, cols, scores): each mentor's best mentee in every slab of ``SLAB_ROWS`` rows of a
    block (ties: the earlier signup; ``scores`` -1 = not allowed): a few good mentees per mentor
    for the cost of one max. Maxima below the mentor's floor (``_MentorBest``) cannot be among
    its best and are dropped.

    The max runs over ``score << SLAB_BITS | (SLAB_ROWS - 1 - row in slab)``: the best score and,
    among equals, the earliest row in one number (an argmax over the middle axis cost 10x more).
    """
    height, width = scores.shape
    lowest = mentor_floor[mentors]
    position = np.arange(SLAB_ROWS - 1, -1, -1, dtype=np.int32)[None, :, None]
    found = []
    for start in range(0, height, SLAB_ROWS * 64):
        part = scores[start:start + SLAB_ROWS * 64]
        slabs = -(-len(part) // SLAB_ROWS)
        packed = np.full((slabs * SLAB_ROWS, width), -1, np.int32)
        np.left_shift(part, SLAB_BITS, out=packed[:len(part)], dtype=np.int32)
        stacked = packed.reshape(slabs, SLAB_ROWS, width)
        stacked |= position
        top = stacked.max(axis=1)  # (slabs, width)
        slab, col = _nonzero_cells((top >= 0) & ((top >> SLAB_BITS) >= lowest))
        best = top[slab, col]
        found.append((rows[start + slab * SLAB_ROWS + SLAB_ROWS - 1 - (best & (SLAB_ROWS - 1))], mentors[col],
                      (best >> SLAB_BITS).astype(np.int64)))
    return _concat(found)


def _rank_in_runs(keys: np.ndarray) -> np.ndarray:
    """Each element's place in its run of equal ``keys`` (sorted): 0 for the first of a row's or a
    mentor's cells, 1 for the next... Linear, where a searchsorted of the keys in themselves is not."""
    index = np.arange(len(keys))
    first = np.ones(len(keys), bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return index - np.maximum.accumulate(np.where(first, index, 0))


def _best_per_mentor(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray,
                     most: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each mentor's ``most`` best mentees among the given cells (ties: earlier signup first),
    each cell once (a cell scored in two goal groups comes twice), sorted by mentor.

    Offering the solver only each mentee's best mentors leaves out what popular mentees are to a
    mentor, and the first pricing round then finds violations in nearly every row; a few best
    mentees per mentor cost few edges and save solver rounds. The cells are each mentor's best
    mentee of every scored slab: an exact top few per column over every block cost more than
    the scoring itself, and the pools alone left 2x more first-round violations at 100k. See ``_slab_best``.
    """
    if most <= 0 or not len(rows):
        return rows[:0], cols[:0], scores[:0]
    row_bits, score_bits = int(rows.max()).bit_length(), int(FULL + 1).bit_length()
    if int(cols.max()).bit_length() + score_bits + row_bits < 63:  # one int64 sort: several times faster than lexsort
        composite = np.sort(((cols.astype(np.int64) << score_bits | (FULL - scores.astype(np.int64))) << row_bits) | rows)
        rows = composite & ((1 << row_bits) - 1)
        scores = FULL - ((composite >> row_bits) & ((1 << score_bits) - 1))
        cols = composite >> (row_bits + score_bits)
    else:
        order = np.lexsort((rows, -scores, cols))
        rows, cols, scores = rows[order], cols[order], scores[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, scores = rows[first], cols[first], scores[first]
    rank = _rank_in_runs(cols)
    keep = rank < most
    return rows[keep], cols[keep], scores[keep]


class _MentorBest:
    """Each mentor's best few mentees among the cells seen so far.

    Folded whenever the cells waiting reach a few times what is kept: the slab maxima of a
    100k cohort are 20 million cells (1.5 GB at once), the kept ones 400,000. Each fold raises
    ``floor``, the score a mentee must reach to still be among a mentor's best (ties kept, so
    what is kept never depends on when a block sees the floor); blocks drop the rest at once.
    """

    def __init__(self, most: int, m: int):
        self.most = most
        self.limit = max(1 << 22, 4 * m * most)
        self.parts: list[Edges] = []
        self.size = 0
        self.floor = np.full(m, -1, np.int64)

    def add(self, cells: Edges) -> None:
        self.parts.append(cells)
        self.size += len(cells[0])
        if self.size > self.limit:
            self._fold()

    def _fold(self) -> None:
        if self.parts:
            kept = _best_per_mentor(*_concat(self.parts), self.most)
            self.parts, self.size = [kept], len(kept[0])
            _, cols, scores = kept
            full = np.flatnonzero(np.bincount(cols, minlength=len(self.floor)) >= self.most)
            if self.most > 0 and len(full):
                last = np.searchsorted(cols, full) + self.most - 1
                np.maximum.at(self.floor, full, scores[last])

    def cells(self) -> Edges:
        self._fold()
        return self.parts[0] if self.parts else EMPTY_EDGES


def _rank_in_rows(rows: np.ndarray, cols: np.ndarray, keys: np.ndarray, n: int,
                  key_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The scored cells sorted by row, best first, each cell once; with each cell's rank in its row."""
    top = np.int64((1 << key_bits) - 1)
    composite = (rows.astype(np.int64) << key_bits) | (top - keys.astype(np.int64))
    composite = np.sort(composite)  # np.unique would hash: several times slower here
    first = np.ones(len(composite), bool)
    first[1:] = composite[1:] != composite[:-1]  # a cell scored in two goal groups counts once
    composite = composite[first]
    rows = composite >> key_bits
    keys = top - (composite & top)
    starts = np.searchsorted(rows, np.arange(n))
    return rows, keys, _rank_in_runs(rows), starts


def top_candidates(cohort: Cohort, k: int, *, dense: bool, progress: Progress | None = None) -> Candidates:
    """Each mentee's best ``k`` allowed mentors (ties: earlier signup first) and its pricing pool.

    Scores the cells ``_score_groups`` selects, block by block; every row's best
    ``POOL_FACTOR x k`` are kept, the best ``k`` offered. With ``dense`` every cell is scored and
    the whole matrix kept for exact pricing later.
    """
    n, m = cohort.shape
    keys = _Keys.of(m)
    pool = k if dense else POOL_FACTOR * k
    groups, unscored, bound = ([(np.arange(n), None)], np.zeros(n, bool), None) if dense else _score_groups(cohort)
    tasks: list[tuple[tuple, int]] = []
    columns = [cohort.columns() if cols is None else MentorColumns(cols) for _, cols in groups]
    left = [0] * len(groups)
    for g, (rows, cols) in enumerate(groups):
        width = m if cols is None else len(cols)
        for r0, r1 in _blocks(len(rows), width):
            tasks.append(((g, r0, r1), (r1 - r0) * width))
            left[g] += 1
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    column_best = _MentorBest(MENTOR_SIDE_CANDIDATES, m)
    stored: list[np.ndarray] = []

    def score(g: int, r0: int, r1: int):
        rows, cols = groups[g]
        return _score_chunk(cohort, rows[r0:r1], cols, columns[g], keys, pool, dense, column_best.floor)

    def consume(index: int, result) -> None:
        g = tasks[index][0][0]
        rows, cols, cell_keys, best, matrix = result
        found.append((rows, cols, cell_keys))
        column_best.add(best)
        if matrix is not None:
            stored.append(matrix)
        left[g] -= 1
        if not left[g]:
            columns[g] = MentorColumns(None)  # free the group's expanded tables

    _run_tasks(score, tasks, consume, progress, "score")
    key_bits = keys.bits + int(FULL + 1).bit_length()
    rows, cols, cell_keys = _concat(found)
    rows, cell_keys, rank, starts = _rank_in_rows(rows, cols, cell_keys, n, key_bits)
    cols = (1 << keys.bits) - 1 - (cell_keys & ((1 << keys.bits) - 1))
    scores = cell_keys >> keys.bits
    in_pool = rank < pool
    count = np.bincount(rows, minlength=n) if n else np.zeros(0, np.int64)
    kth = np.full(n, -1, np.int64)
    full = np.flatnonzero(count >= pool)
    kth[full] = scores[starts[full] + pool - 1]
    if bound is not None:
        kth[unscored] = np.maximum(kth[unscored], bound)
    rows, cols, scores, rank = rows[in_pool], cols[in_pool], scores[in_pool], rank[in_pool]
    offered = rank < k
    extra = column_best.cells()
    o_rows, o_cols, o_scores = _merge(np.concatenate([rows[offered], extra[0]]), np.concatenate([cols[offered], extra[1]]),
                                      np.concatenate([scores[offered], extra[2]]), m)
    matrix = (np.concatenate(stored) if stored else np.zeros((0, m), np.int16)) if dense else None
    return Candidates(o_rows.astype(np.int64), o_cols.astype(np.int64), o_scores.astype(np.int64),
                      rows, cols, scores, kth, kth >= 0, matrix)


# --------------------------------------------------------------------------- solving


@dataclass
class Solution:
    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    assignment: Assignment
    method: str
    rounds: int
    threshold: int | None
    unit: int
    certified: bool


def _bonus_units(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if not len(cohort.bonus) or not len(rows):
        return np.zeros(len(rows), np.int64)
    width = max(len(cohort.mentors), 1)
    per_cell = cohort.bonus.groupby(["row", "col"], sort=True)["units"].sum()
    keys = per_cell.index.get_level_values(0).to_numpy() * width + per_cell.index.get_level_values(1).to_numpy()
    want = rows * width + cols
    pos = np.clip(np.searchsorted(keys, want), 0, max(len(keys) - 1, 0))
    hit = keys[pos] == want if len(keys) else np.zeros(len(want), bool)
    return np.where(hit, per_cell.to_numpy()[pos], 0).astype(np.int64)


def _bonus_cells(cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    if not len(cohort.bonus):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cells = cohort.bonus[["row", "col"]].drop_duplicates().sort_values(["row", "col"])
    rows, cols = cells["row"].to_numpy(np.int64), cells["col"].to_numpy(np.int64)
    allowed = ~np.logical_or.reduce(list(pair_rules(cohort, rows, cols).values())) if len(rows) else np.zeros(0, bool)
    kept = cohort.forbidden.get("kept")
    if kept is not None and len(kept[0]) and len(rows):
        width = max(len(cohort.mentors), 1)
        allowed &= ~np.isin(rows * width + cols, kept[0] * width + kept[1])
    return rows[allowed], cols[allowed]


def _bonus_unit(cohort: Cohort, wants: np.ndarray, capacity: np.ndarray, max_units: int) -> tuple[int, bool]:
    """Weight of one bonus unit: more than every score together, unless that breaks exact arithmetic."""
    bound = int(min(wants.sum(), capacity.sum()))
    unit = bound * FULL + 1
    if max_units == 0:
        return unit, True
    while unit > 1:
        wmax = FULL + max_units * unit
        if 4 * (bound * (wmax + 2) + 1 + wmax + 2) < EXACT_LIMIT:
            return unit, unit == bound * FULL + 1
        unit //= 2
    return 1, False


class _Problem:
    """The solver's view: candidate edges, their integer weights, wants and capacities left."""

    def __init__(self, cohort: Cohort, wants: np.ndarray, capacity: np.ndarray, threshold: int | None):
        self.cohort = cohort
        self.wants = wants
        self.capacity = capacity
        self.threshold = threshold
        units = cohort.bonus.groupby(["row", "col"])["units"].sum() if len(cohort.bonus) else pd.Series(dtype=int)
        self.max_units = int(units.max()) if len(units) else 0
        self.unit, self.strict = _bonus_unit(cohort, wants, capacity, self.max_units)
        self.wmax = FULL + self.max_units * self.unit

    def weights(self, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return scores.astype(np.int64) + _bonus_units(self.cohort, rows, cols) * self.unit

    def solve(self, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray) -> Assignment:
        return solve_edges(rows, cols, self.weights(rows, cols, scores), self.wants, self.capacity, wmax=self.wmax)


def _first_of_each(rows: np.ndarray, cols: np.ndarray, width: int) -> np.ndarray:
    """Where each distinct pair first occurs, in (row, col) order."""
    return np.unique(rows * max(width, 1) + cols, return_index=True)[1]


def _merge(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, width: int) -> Edges:
    """Each pair once (its first occurrence), sorted by (row, col) as the solver wants them."""
    first = _first_of_each(rows, cols, width)
    return rows[first], cols[first], scores[first]


def _merge_flagged(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, flags: np.ndarray, extra: Edges,
                   width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``_merge`` of the known pairs and ``extra`` that carries a flag per pair along (``flags``
    covers both, known first)."""
    rows, cols, scores = _concat([(rows, cols, scores), extra])
    first = _first_of_each(rows, cols, width)
    return rows[first], cols[first], scores[first], flags[first]


def _sorted_contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.isin`` against keys sorted once: ``isin`` re-sorts them on every call (most of a 10k solve)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _closest_cells(reduced: np.ndarray, slack: float, most: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the cells with reduced cost below ``slack``, at most ``most`` of the lowest.

    Adding only the violated cells makes the next solve violate the ones just above them (one
    re-solve per handful of pairs); adding every cell would bloat the problem. The near misses of
    a violated row are what the next optimum most likely needs.
    """
    k = min(most, reduced.shape[1])
    if k < reduced.shape[1]:
        part = np.argpartition(reduced, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(reduced.shape[1]), reduced.shape)
    values = np.take_along_axis(reduced, part, axis=1)
    local, pos = _nonzero_cells(values < slack)
    return local, part[local, pos]


def _negative_reduced(cohort: Cohort, problem: _Problem, assignment: Assignment,
                      groups: list[tuple[np.ndarray, np.ndarray | None]], offered_keys: np.ndarray,
                      matrix: np.ndarray | None = None) -> tuple[Edges, np.ndarray]:
    """Allowed cells of the grids ``rows`` x ``cols`` (None = every mentor) of ``groups`` not yet
    offered whose reduced cost is negative: the pairs that could still improve the pairing, and
    the rows that had any (sorted). Blocks are rescored on a few threads (most of a pricing round
    at 100k signups)."""
    m = len(cohort.mentors)
    columns = [MentorColumns(cols) if cols is not None and len(rows) >= EXPAND_ROWS else None for rows, cols in groups]
    tasks = [((g, r0, r1), (r1 - r0) * (m if cols is None else len(cols)))
             for g, (rows, cols) in enumerate(groups) for r0, r1 in _blocks(len(rows), m if cols is None else len(cols))]
    found: list[tuple[Edges, np.ndarray]] = []

    def price(g: int, r0: int, r1: int) -> tuple[Edges, np.ndarray]:
        rows, cols = groups[g]
        return _block_violations(cohort, problem, assignment, rows[r0:r1], cols, columns[g], offered_keys, matrix)

    _run_tasks(price, tasks, lambda _, result: found.append(result), None, "price")
    violated = np.unique(np.concatenate([rows for _, rows in found])) if found else np.zeros(0, np.int64)
    return _concat([edges for edges, _ in found]), violated


def _block_violations(cohort: Cohort, problem: _Problem, assignment: Assignment, block_rows: np.ndarray,
                      cols: np.ndarray | None, columns: MentorColumns | None, offered_keys: np.ndarray,
                      matrix: np.ndarray | None) -> tuple[Edges, np.ndarray]:
    """``_negative_reduced`` for one block of rows: each violated row's near misses not yet
    offered, and the violated rows."""
    width = max(len(cohort.mentors), 1)
    mentors = np.arange(len(cohort.mentors)) if cols is None else cols
    if matrix is not None:
        scores = matrix[block_rows].astype(np.int64)
        allowed = scores >= 0
    else:
        scores, allowed = score_rows(cohort, 0, 0, rows=block_rows, cols=cols, columns=columns)
        scores = scores.astype(np.int64)
    if problem.threshold is not None:
        allowed &= scores >= problem.threshold
    reduced = assignment.reduced_cost(block_rows[:, None], mentors[None, :], scores)
    reduced[~allowed] = np.inf
    violated = (reduced < 0).any(axis=1)
    if not violated.any():
        return EMPTY_EDGES, block_rows[:0]
    local, at = _closest_cells(reduced[violated], PRICING_SLACK, PRICING_ADD)
    local = np.flatnonzero(violated)[local]
    row, col = block_rows[local], mentors[at]
    fresh = ~_sorted_contains(offered_keys, row * width + col)
    return (row[fresh], col[fresh], scores[local, at][fresh]), block_rows[violated]


@dataclass
class _Priced:
    """One pricing round's prices and the rows it found with negative reduced costs outside the
    pools: what lets the next round skip the cells whose reduced cost can only have grown."""

    mentee_price: np.ndarray
    mentor_price: np.ndarray
    violated: np.ndarray
    """Sorted rows that had a negative reduced cost among their rescored cells."""


def _price_rises(assignment: Assignment, before: _Priced | None, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each of ``rows``' price and each mentor's price rose since ``before`` (+inf where
    a row must be priced against every mentor again: no earlier round, a violated row, a price
    that was not finite; -inf for a mentor with no place, who can never be priced under).

    A cell whose reduced cost was >= 0 then is negative now only if its row's rise plus its
    mentor's rise is above 0: the reduced cost is the cost minus both prices.
    """
    mentor_price = assignment.mentor_price
    if before is None:
        return np.full(len(rows), np.inf), np.where(np.isfinite(mentor_price), np.inf, -np.inf)
    with np.errstate(invalid="ignore"):
        row_rise = assignment.mentee_price[rows] - before.mentee_price[rows]
        mentor_rise = np.where(np.isfinite(mentor_price), mentor_price - before.mentor_price, -np.inf)
    row_rise[~np.isfinite(before.mentee_price[rows]) | _sorted_contains(before.violated, rows)] = np.inf
    return row_rise, mentor_rise


def _rounded_sizes(need: np.ndarray, most: int, per_octave: int = 4) -> np.ndarray:
    """``need`` rounded up to one of ``per_octave`` sizes per power of two (at least 16, at most
    ``most``): grouping rows by it scores at most 1 / ``per_octave`` more cells than they need."""
    need = np.maximum(need, 16)
    step = 1 << np.maximum(np.floor(np.log2(need)).astype(np.int64) - int(np.log2(per_octave)), 0)
    return np.minimum(most, -(-need // step) * step)


def _prefix_groups(rows: np.ndarray, need: np.ndarray, order: np.ndarray, m: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Rows that each need the first ``need`` mentors of ``order``, as (rows, sorted cols) groups
    by that need rounded up (``_rounded_sizes``). A group under ``MIN_GROUP_CELLS`` joins the
    next larger one: rescoring a group has a fixed cost, and hundreds of tiny ones cost more
    than the cells they save."""
    keep = need > 0
    rows, size = rows[keep], _rounded_sizes(need[keep], len(order))
    groups: list[tuple[np.ndarray, np.ndarray | None]] = []
    waiting = rows[:0]
    widths = np.unique(size).tolist()
    for k, width in enumerate(widths):
        members = np.concatenate([waiting, rows[size == width]])
        if len(members) * width < MIN_GROUP_CELLS and k < len(widths) - 1:
            waiting = members
            continue
        groups.append((np.sort(members), None if width >= m else np.sort(order[:width])))
        waiting = rows[:0]
    return groups


def _rising_groups(rows: np.ndarray, cols: np.ndarray, row_rise: np.ndarray, mentor_rise: np.ndarray,
                   m: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Of the grid ``rows`` x ``cols``, the cells whose row and mentor prices rose by more than 0
    together, as groups: with ``cols`` sorted by their mentor's rise, each row needs a prefix."""
    rise = mentor_rise[cols]
    by_rise = cols[np.argsort(-rise, kind="stable")]
    need = len(cols) - np.searchsorted(np.sort(rise), -row_rise, side="right")
    return _prefix_groups(rows, need, by_rise, m)


def _pricing_groups(assignment: Assignment, cand: Candidates, wants: np.ndarray, before: _Priced | None,
                    only: np.ndarray | None = None, slack: float = 0) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Which cells outside the pools must be rescored to price them: (mentee rows, mentor cols) groups.

    A cell outside a row's pool scores at most the row's ``kth``, so its reduced cost is at
    least ``cost(kth) - mentee price - mentor price``: it can be negative only with a mentor
    priced above ``cost(kth) - mentee price``. With the mentors sorted by price, each row needs
    a prefix of them (widened by ``slack``: the mentors a row's near misses can come from);
    rows are grouped by that prefix rounded up (``_rounded_sizes``). Of a prefix, only the
    mentors whose price rose more than the row's fell since ``before`` can have turned negative
    (``_price_rises``): at 100k signups, a third to a half of the cells after the first round
    and none in the last. ``only``: these rows (sorted) and no others. None = every mentor.
    """
    price = assignment.mentor_price
    m = len(price)
    open_rows = np.flatnonzero(cand.cut & (wants > 0) & np.isfinite(assignment.mentee_price))
    if only is not None:
        open_rows = open_rows[_sorted_contains(only, open_rows)]
    row_cost = assignment.cost(cand.kth[open_rows]) - assignment.mentee_price[open_rows] - slack
    need = m - np.searchsorted(np.sort(price), row_cost, side="right")
    open_rows, need = open_rows[need > 0], need[need > 0]
    if not len(open_rows):
        return []
    size = _rounded_sizes(need, m, FIRST_ROUND_PER_OCTAVE if before is None and only is None else 4)
    by_price = np.argsort(-price, kind="stable")
    row_rise, mentor_rise = _price_rises(assignment, before, open_rows)
    groups: list[tuple[np.ndarray, np.ndarray | None]] = []
    for width in np.unique(size).tolist():
        within = size == width
        groups += _rising_groups(open_rows[within], by_price[:width], row_rise[within], mentor_rise, m)
    return groups


def _pool_violations(problem: _Problem, assignment: Assignment, cand: Candidates,
                     offered_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool cells not yet offered whose reduced cost is negative, with their rows' near misses
    (reduced cost below ``PRICING_SLACK``, at most ``PRICING_ADD`` a row): priced without rescoring."""
    width = max(len(problem.capacity), 1)
    rows, cols, scores = cand.pool_rows, cand.pool_cols, cand.pool_scores
    fresh = ~_sorted_contains(offered_keys, rows * width + cols)
    if problem.threshold is not None:
        fresh &= scores >= problem.threshold
    rows, cols, scores = rows[fresh], cols[fresh], scores[fresh]
    reduced = assignment.reduced_cost(rows, cols, scores)
    violated = np.unique(rows[reduced < 0])
    near = _sorted_contains(violated, rows) & (reduced < PRICING_SLACK)
    rows, cols, scores, reduced = rows[near], cols[near], scores[near], reduced[near]
    order = np.lexsort((cols, reduced, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    rank = _rank_in_runs(rows)
    keep = rank < PRICING_ADD
    return rows[keep], cols[keep], scores[keep]


def _violations(cohort: Cohort, problem: _Problem, cand: Candidates, assignment: Assignment,
                offered: tuple[np.ndarray, np.ndarray, np.ndarray],
                before: _Priced | None = None) -> tuple[Edges, _Priced]:
    """Allowed pairs left out of the candidates whose dual reduced cost is negative, and what this
    round proved for the next (``before``: what the previous round of the same solve proved)."""
    n, m = cohort.shape
    rows, cols, _ = offered
    offered_keys = np.sort(rows * max(m, 1) + cols)  # sort, not np.unique: its hashing is slow here
    if cand.dense is not None:
        extra, violated = _negative_reduced(cohort, problem, assignment, [(np.arange(n), None)], offered_keys,
                                            cand.dense)
    else:
        groups = _pricing_groups(assignment, cand, problem.wants, before)
        extra, violated = _negative_reduced(cohort, problem, assignment, groups, offered_keys)
        if before is not None and len(violated):  # their near misses among every mentor, not only the risen
            groups = _pricing_groups(assignment, cand, problem.wants, None, violated, PRICING_SLACK)
            extra, violated = _negative_reduced(cohort, problem, assignment, groups, offered_keys)
        extra = _concat([_pool_violations(problem, assignment, cand, offered_keys), extra])
    return extra, _Priced(assignment.mentee_price, assignment.mentor_price, violated)


@dataclass
class _Floor:
    """The fairness floor: the highest lowest score that still allows the most places."""

    value: int
    edges: Edges
    """The offered pairs, with every pair the floor's proof had to add."""
    places: int
    """The most places (the floor never gives one up)."""
    proven: bool
    """Both the most places and the floor are proven over every allowed pair, not only the offered ones."""


def _highest_floor(edges: Edges, wants: np.ndarray, capacity: np.ndarray, target: int, lowest: int) -> int:
    """The highest score value >= ``lowest`` among ``edges`` whose pairs scoring at least it still
    reach ``target`` places (binary search + max flow). Scoring >= ``lowest`` must reach it."""
    rows, cols, scores = edges
    values = np.unique(scores[scores >= lowest])
    lo, hi = 0, len(values) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        keep = scores >= values[mid]
        if max_places(rows[keep], cols[keep], wants, capacity) == target:
            lo = mid
        else:
            hi = mid - 1
    return int(values[lo])


def _threshold(cohort: Cohort, cand: Candidates, wants: np.ndarray, capacity: np.ndarray, offered: Edges) -> _Floor:
    """The highest lowest-score at which as many places can still be filled.

    Dense: binary search + max flow over the whole score matrix. Sparse: the offered pairs are
    not enough (they may reach fewer places than all pairs, so the floor would be searched for
    the wrong target), see ``_exact_floor``.
    """
    if cand.dense is None:
        return _exact_floor(cohort, cand, wants, capacity, offered)
    rows, cols = _nonzero_cells(cand.dense >= 0)
    scores = cand.dense[rows, cols].astype(np.int64)
    target = max_places(rows, cols, wants, capacity)
    if target == 0 or not len(scores):
        return _Floor(0, offered, target, True)
    return _Floor(_highest_floor((rows, cols, scores), wants, capacity, target, 0), offered, target, True)


def _exact_floor(cohort: Cohort, cand: Candidates, wants: np.ndarray, capacity: np.ndarray, offered: Edges) -> _Floor:
    """The fairness floor from candidate lists, proven over every allowed pair.

    1. The most places over every allowed pair: ``_most_places``; the pairs it returns reach them.
    2. A floor those pairs reach is reachable for real: binary search over them.
    3. One score unit higher must be impossible: a minimum cut of the offered pairs at that
       score proves it unless allowed pairs left out cross the cut (``max_places_cut``); those
       are found by scoring only the cut's mentees against the cut's mentors, added, and 2-3
       repeated. Each round adds pairs or raises the floor, so it ends.
    """
    target, edges, places_proven = _most_places(cohort, cand, wants, capacity, offered)
    if target == 0:
        return _Floor(0, edges, 0, places_proven)
    floor = _highest_floor(edges, wants, capacity, target, int(edges[2].min()))
    for _ in range(MAX_CUT_ROUNDS):
        higher = floor + 1
        if higher > FULL:
            return _Floor(floor, edges, target, places_proven)
        rows, cols, scores = edges
        keep = scores >= higher
        reached, mentees_in, mentors_in = max_places_cut(rows[keep], cols[keep], wants, capacity)
        if reached >= target:
            floor = _highest_floor(edges, wants, capacity, target, higher)
            continue
        across = _pairs_across_cut(cohort, cand, mentees_in & (wants > 0), ~mentors_in & (capacity > 0), higher, edges)
        if reached + len(across[0]) < target:  # the cut, with these pairs across it, still holds
            return _Floor(floor, edges, target, places_proven)
        edges = _with_pairs(edges, _best_per_row(across, CUT_ADD), len(capacity))
    cohort.notes.append(f"fair objective: the fairness floor could not be proven highest within {MAX_CUT_ROUNDS} "
                        "rounds; raise [match] candidates")
    return _Floor(floor, edges, target, False)


def _most_places(cohort: Cohort, cand: Candidates, wants: np.ndarray, capacity: np.ndarray,
                 edges: Edges) -> tuple[int, Edges, bool]:
    """The most places over every allowed pair, the offered pairs (grown) that reach them, and
    whether that is proven.

    A max flow over the offered pairs; its minimum cut proves nothing reaches more unless an
    allowed pair left out crosses the cut. Such pairs are added and the flow repeated. Cheaper
    than a solve with pricing: one max flow usually settles it (10k signups: 0.06 s against 1.2 s).
    """
    reached = 0
    for _ in range(MAX_CUT_ROUNDS):
        reached, mentees_in, mentors_in = max_places_cut(edges[0], edges[1], wants, capacity)
        across = _pairs_across_cut(cohort, cand, mentees_in & (wants > 0), ~mentors_in & (capacity > 0), 0, edges)
        if not len(across[0]):
            return reached, edges, True
        edges = _with_pairs(edges, _best_per_row(across, CUT_ADD), len(capacity))
    cohort.notes.append(f"fair objective: the most places could not be proven within {MAX_CUT_ROUNDS} rounds; "
                        "raise [match] candidates")
    return reached, edges, False


def _with_pairs(edges: Edges, more: Edges, width: int) -> Edges:
    """``edges`` and ``more``, each pair once, sorted by (row, col) as the solver wants them."""
    return _merge(*_concat([edges, more]), width)


def _best_per_row(edges: Edges, most: int) -> Edges:
    """Each row's ``most`` best-scoring pairs (ties: the earlier mentor), in the given order.

    The pairs across a cut can be many; a few per mentee are enough for the next flow to move
    the cut, and the next round finds any still needed.
    """
    rows, cols, scores = edges
    order = np.lexsort((cols, -scores, rows))
    rank = np.empty(len(rows), np.int64)
    rank[order] = _rank_in_runs(rows[order])
    keep = rank < most
    return rows[keep], cols[keep], scores[keep]


def _pairs_across_cut(cohort: Cohort, cand: Candidates, mentees: np.ndarray, mentors: np.ndarray, lowest: int,
                      offered: Edges) -> Edges:
    """Allowed pairs not offered yet from a mentee in ``mentees`` to a mentor in ``mentors`` (bool
    masks) scoring at least ``lowest``: the only pairs that can break a cut's proof.

    Pool pairs are scored already; only rows whose pairs outside the pool could score that much
    (``kth >= lowest``) are rescored, and only against ``mentors``.
    """
    _, m = cohort.shape
    width = max(m, 1)
    rows, cols, scores = cand.pool_rows, cand.pool_cols, cand.pool_scores
    pick = mentees[rows] & mentors[cols] & (scores >= lowest)
    parts = [(rows[pick], cols[pick], scores[pick])]
    rescore = np.flatnonzero(mentees & cand.cut & (cand.kth >= lowest))
    if len(rescore) and mentors.any():
        parts.append(_scored_at_least(cohort, rescore, np.flatnonzero(mentors), lowest))
    rows, cols, scores = _concat(parts)
    fresh = ~_sorted_contains(np.sort(offered[0] * width + offered[1]), rows * width + cols)
    return _merge(rows[fresh], cols[fresh], scores[fresh].astype(np.int64), m)


def _scored_at_least(cohort: Cohort, rows: np.ndarray, cols: np.ndarray, lowest: int) -> Edges:
    """The allowed pairs of the grid ``rows`` x ``cols`` scoring at least ``lowest``, scored block by block."""
    columns = MentorColumns(cols)
    tasks = [((r0, r1), (r1 - r0) * len(cols)) for r0, r1 in _blocks(len(rows), len(cols))]
    found: list[Edges] = []

    def score(r0: int, r1: int) -> Edges:
        block = rows[r0:r1]
        scores, allowed = score_rows(cohort, 0, 0, rows=block, cols=cols, columns=columns)
        local, at = _nonzero_cells(allowed & (scores >= lowest))
        return block[local], cols[at], scores[local, at].astype(np.int64)

    _run_tasks(score, tasks, lambda _, result: found.append(result), None, "score")
    return _concat(found)


def solve_cohort(cohort: Cohort, cand: Candidates, wants: np.ndarray, capacity: np.ndarray, objective: str,
                 progress: Progress | None = None) -> Solution:
    """Exact solve over the candidates, adding every left-out pair the dual prices call for."""
    _, m = cohort.shape
    bonus_rows, bonus_cols = _bonus_cells(cohort)
    rows = np.concatenate([cand.rows, bonus_rows])
    cols = np.concatenate([cand.cols, bonus_cols])
    scores = np.concatenate([cand.scores, pair_scores(cohort, bonus_rows, bonus_cols).astype(np.int64)])
    rows, cols, scores = _merge(rows, cols, scores, m)
    threshold = None
    floor: _Floor | None = None
    if objective == "fair":
        floor = _threshold(cohort, cand, wants, capacity, (rows, cols, scores))
        threshold = floor.value
        rows, cols, scores = floor.edges
        keep = scores >= threshold
        rows, cols, scores = rows[keep], cols[keep], scores[keep]
    problem = _Problem(cohort, wants, capacity, threshold)
    if not problem.strict:
        cohort.notes.append("requests and choices are strongly preferred but, at this cohort size, "
                            "not strictly before every score (exact arithmetic limit)")
    rounds = 0
    offer = np.ones(len(rows), bool)
    priced: _Priced | None = None
    while True:
        rounds += 1
        if progress:
            progress("solve", rounds - 1, MAX_PRICING_ROUNDS)
        assignment = problem.solve(rows[offer], cols[offer], scores[offer])
        extra, priced = _violations(cohort, problem, cand, assignment, (rows, cols, scores), priced)
        reduced = assignment.reduced_cost(rows, cols, problem.weights(rows, cols, scores))
        held_back = np.unique(rows[~offer][reduced[~offer] < 0])
        if not (len(extra[0]) or len(held_back)) or rounds >= MAX_PRICING_ROUNDS:
            break
        offer = (reduced <= SOLVE_SLACK) | _sorted_contains(assignment.mentee * max(m, 1) + assignment.mentor,
                                                            rows * max(m, 1) + cols)
        rows, cols, scores, offer = _merge_flagged(rows, cols, scores, np.concatenate([offer, np.ones(len(extra[0]), bool)]),
                                                   extra, m)
    short = np.union1d(extra[0], held_back)
    certified = assignment.certified and not len(short)
    if floor is not None:  # the floor's proof, and the pairing keeps every place it was proven for
        certified = certified and floor.proven and assignment.places == floor.places
    if len(short):
        cohort.notes.append(f"the candidate lists may have cost optimality: {len(short)} mentee(s) "
                            f"could still gain from a mentor outside their {cohort.config.match.candidates} candidates; "
                            "raise [match] candidates")
    elif not assignment.certified:
        cohort.notes.append("the solver's optimality proof did not complete; the pairing is the solver's best")
    width = max(m, 1)
    keys = rows * width + cols
    chosen_rows, chosen_cols = prefer_earlier_signups(assignment.mentee, assignment.mentor, rows, cols,
                                                      problem.weights(rows, cols, scores), wants, capacity)
    pos = np.searchsorted(keys, chosen_rows * width + chosen_cols)
    if progress:
        progress("solve", MAX_PRICING_ROUNDS, MAX_PRICING_ROUNDS)
    return Solution(chosen_rows, chosen_cols, scores[pos], assignment,
                    "dense" if cand.dense is not None else "sparse", rounds, threshold, problem.unit, certified)


def prefer_earlier_signups(mentee: np.ndarray, mentor: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                           weights: np.ndarray, wants: np.ndarray,
                           capacity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Among equally good pairings, give the places to the earlier signups, mentees and mentors alike.

    Mentees (``_earlier_mentees_first``): a mentee left short takes over a mentor from a later
    signup whose pair with that mentor has exactly the same weight. Mentors
    (``_earlier_mentors_first``, when ``capacity`` is given): a mentor with room takes over a
    mentee from a later mentor whose pair with that mentee has exactly the same weight, unless
    that would leave the later mentor with nobody while the earlier one already has someone
    (that would only add an idle mentor). Each swap
    keeps the places and the total (so the pairing stays optimal) and moves a place to an earlier
    signup; a mentor swap never changes how many mentors a mentee has, a mentee swap never how
    many mentees a mentor has. The two alternate until neither finds a swap, so it ends.
    """
    mentee, mentor = np.asarray(mentee, np.int64), np.asarray(mentor, np.int64)
    while True:
        mentee, mentor = _earlier_mentees_first(mentee, mentor, rows, cols, weights, wants)
        if capacity is None:
            return mentee, mentor
        moved, mentee, mentor = _earlier_mentors_first(mentee, mentor, rows, cols, weights, capacity)
        if not moved:
            return mentee, mentor


def _chosen_weights(mentee: np.ndarray, mentor: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                    weights: np.ndarray) -> np.ndarray:
    """The weight of each chosen pair, looked up among the edges."""
    width = int(max(cols.max(initial=-1), mentor.max(initial=-1)) + 1)
    keys = rows * width + cols
    by_key = np.argsort(keys, kind="stable")
    return weights[by_key[np.searchsorted(keys, mentee * width + mentor, sorter=by_key)]]


def _earlier_mentors_first(mentee: np.ndarray, mentor: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                           weights: np.ndarray, capacity: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
    """Mentors with room take over, from later mentors, mentees they would pair with at the same
    weight (never emptying the later mentor for one who already has a mentee).

    The edges that could move are found for all at once (a mentee wants few mentors, so its
    chosen pairs are compared one rank at a time); only those few are then walked in Python,
    earliest mentor first, each checked again since earlier swaps change who has room.
    Returns whether anything moved, and the pairs sorted by (mentee, mentor).
    """
    order = np.lexsort((mentor, mentee))
    mentee, mentor = mentee[order], mentor[order]
    if not len(mentee) or not len(rows):
        return False, mentee, mentor
    m = max(int(cols.max(initial=-1)), int(mentor.max(initial=-1)), len(capacity) - 1) + 1
    chosen_w = _chosen_weights(mentee, mentor, rows, cols, weights)
    room = np.zeros(m, np.int64)
    room[:len(capacity)] = capacity
    room -= np.bincount(mentor, minlength=m)
    n = int(max(rows.max(initial=-1), mentee.max(initial=-1))) + 1
    starts = np.searchsorted(mentee, np.arange(n + 1))
    open_edge = np.flatnonzero(room[cols] > 0)
    e_rows, e_cols, e_w = rows[open_edge], cols[open_edge], weights[open_edge]
    movable = np.zeros(len(open_edge), bool)
    most = int(np.diff(starts).max(initial=0))
    for rank in range(most):
        at = starts[e_rows] + rank
        inside = at < starts[e_rows + 1]
        at = np.where(inside, at, 0)
        movable |= inside & (chosen_w[at] == e_w) & (mentor[at] > e_cols)
    if not movable.any():
        return False, mentee, mentor
    weight_of = dict(zip(zip(mentee.tolist(), mentor.tolist()), chosen_w.tolist()))
    by_mentee: dict[int, list[int]] = {}
    for i, j in weight_of:
        by_mentee.setdefault(i, []).append(j)
    room_of = room.tolist()
    moved = False
    pick = np.flatnonzero(movable)
    pick = pick[np.lexsort((e_rows[pick], e_cols[pick]))]
    load = np.bincount(mentor, minlength=m).tolist()
    for i, j, w in zip(e_rows[pick].tolist(), e_cols[pick].tolist(), e_w[pick].tolist()):
        if room_of[j] <= 0 or (i, j) in weight_of:
            continue
        # a swap that would leave the later mentor with nobody is made only for an idle mentor:
        # a mentor's place is having a mentee at all, and one more idle mentor helps nobody
        later = [k for k in by_mentee[i] if k > j and weight_of[(i, k)] == w and (load[k] > 1 or load[j] == 0)]
        if not later:
            continue
        k = max(later)
        load[j] += 1
        load[k] -= 1
        del weight_of[(i, k)]
        weight_of[(i, j)] = w
        by_mentee[i].remove(k)
        by_mentee[i].append(j)
        room_of[j] -= 1
        room_of[k] += 1
        moved = True
    pairs = sorted(weight_of)
    return (moved, np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64))


def _earlier_mentees_first(mentee: np.ndarray, mentor: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                           weights: np.ndarray, wants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A mentee left short takes over a mentor from a later signup whose pair with that mentor
    has exactly the same weight; repeated until no such swap remains. Pairs sorted by (mentee, mentor)."""
    import heapq

    n = len(wants)
    got = np.bincount(mentee, minlength=n).astype(np.int64)
    if not (got < wants).any():  # nobody is short: nothing to hand over (and nothing to sort)
        order = np.lexsort((mentor, mentee))
        return mentee[order].astype(np.int64), mentor[order].astype(np.int64)
    chosen_weights = _chosen_weights(mentee, mentor, rows, cols, weights)
    weight_of = dict(zip(zip(mentee.tolist(), mentor.tolist()), chosen_weights.tolist()))  # only the chosen pairs
    holders: dict[int, set[int]] = {}
    for i, j in weight_of:
        holders.setdefault(j, set()).add(i)
    order = np.lexsort((cols, -weights, rows))
    starts = np.searchsorted(rows[order], np.arange(n + 1))
    queue = [i for i in np.flatnonzero(got < wants).tolist()]
    heapq.heapify(queue)
    edge_cols, edge_weights = cols.tolist(), weights.tolist()
    while queue:
        i = heapq.heappop(queue)
        for e in order[starts[i]:starts[i + 1]].tolist():
            if got[i] >= wants[i]:
                break
            j, w = edge_cols[e], edge_weights[e]
            if (i, j) in weight_of:
                continue
            later = [k for k in holders.get(j, ()) if k > i and weight_of[(k, j)] == w]
            if not later:
                continue
            k = max(later)
            holders[j].discard(k), holders[j].add(i)
            del weight_of[(k, j)]
            weight_of[(i, j)] = w
            got[k] -= 1
            got[i] += 1
            heapq.heappush(queue, k)
    pairs = sorted(weight_of)
    return (np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64))


# --------------------------------------------------------------------------- keep


KeptProblem = tuple[str, str, str, str]
"""(pair_id, workbook column, severity, problem) of a kept pair that no longer holds."""


def _kept_cells(cohort: Cohort, keep: Iterable[tuple[str, str, str]]) -> tuple[list[tuple[str, int, int]], list[KeptProblem]]:
    """(pair_id, mentee person, mentor person) of the kept pairs that still name a mentee and a
    mentor of these signups, and what is wrong with the others.

    The signups win over the kept workbook on who takes part and in which role: someone who no
    longer signed up, or no longer as a mentee (wanting a mentor) or as a mentor, has not agreed
    to this pairing again, so the pair is dropped (an error on its row: nothing is assumed).
    """
    index = {str(e).strip().lower(): i for i, e in enumerate(cohort.people["email"].tolist())}
    roles = cohort.column("role")
    is_mentee = np.zeros(len(cohort.people), bool)
    is_mentee[cohort.mentees.person] = True
    is_mentor = np.zeros(len(cohort.people), bool)
    is_mentor[cohort.mentors.person] = True
    kept: list[tuple[str, int, int]] = []
    problems: list[KeptProblem] = []
    seen: set[tuple[int, int]] = set()
    for pair_id, mentee_email, mentor_email in keep:
        pair_id = str(pair_id)
        mentee = index.get(str(mentee_email).strip().lower())
        mentor = index.get(str(mentor_email).strip().lower())
        wrong = []
        for side, person, ok, column in (("mentee", mentee, is_mentee, "Mentee Email"),
                                         ("mentor", mentor, is_mentor, "Mentor Email")):
            if person is None:
                wrong.append((column, f"the {side} is no longer in the signups"))
            elif not ok[person]:
                role = str(roles[person]).lower()
                now = "wants no mentor" if side == "mentee" and role in ("mentee", "both") else f"signed up as {role}"
                wrong.append((column, f"the {side} no longer signed up as a {side} (now {now})"))
        for column, text in wrong:
            problems.append((pair_id, column, "error", (f"kept pair {pair_id}: {text}; the pair was dropped "
                                                        "(the signups win). Re-add it by hand if it should go on")))
        if wrong or mentee is None or mentor is None:
            continue
        if mentee == mentor or (mentee, mentor) in seen:
            problems.append((pair_id, "Mentor Email", "error",
                             f"kept pair {pair_id} is a self-pair or a repeat; the pair was dropped"))
            continue
        seen.add((mentee, mentor))
        kept.append((pair_id, mentee, mentor))
    return kept, problems


def _kept_rule_problems(cohort: Cohort, kept: list[tuple[str, int, int]], rows: np.ndarray,
                        cols: np.ndarray) -> list[KeptProblem]:
    """Kept pairs that now break a rule, or put a mentor over capacity or a mentee over wants.

    They stay: the two were introduced and may be meeting already, and the coordinator asked to
    keep them; each is a warning on its row so the coordinator can decide.
    """
    if not kept:
        return []
    problems: list[KeptProblem] = []
    broken = pair_rules(cohort, rows, cols)
    for k, (pair_id, _, _) in enumerate(kept):
        names = [RULE_TEXT[name] for name in RULES if name in broken and broken[name][k]]
        if names:
            problems.append((pair_id, "Mentor Email", "warning",
                             (f"kept pair {pair_id} now breaks a rule ({', '.join(names)}); it stays, as kept pairs "
                              "were already introduced: end it by deleting the row if it should not go on")))
    for side, cells, limits, column, what in (("mentor", cols, cohort.mentors.limit, "Mentor Email", "capacity"),
                                              ("mentee", rows, cohort.mentees.limit, "Mentee Email", "wants")):
        count = np.bincount(cells, minlength=len(limits))
        seen = np.zeros(len(limits), np.int64)
        for k, cell in enumerate(cells.tolist()):
            seen[cell] += 1
            if seen[cell] == limits[cell] + 1:
                problems.append((kept[k][0], column, "warning",
                                 f"the {side} now has {count[cell]} kept pairs but {what} {limits[cell]}; "
                                 "the kept pairs stay and the " + side + " gets no new one"))
    return problems


def pair_ids(kept_ids: Sequence[str], new_count: int) -> list[str]:
    """IDs for new pairs: the numbers after the highest kept ID, all at one width (at least 3 digits)."""
    used = [int(m.group(1)) for m in (re.fullmatch(r"\s*P0*(\d+)\s*", str(i)) for i in kept_ids) if m]
    start = max(used, default=0) + 1
    last = start + new_count - 1
    width = max(3, len(str(max(last, max(used, default=0)))))
    return [f"P{number:0{width}d}" for number in range(start, start + new_count)]


# --------------------------------------------------------------------------- explaining


def _ordinal(rank: int) -> str:
    return ORDINALS.get(rank, f"{rank}th")


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
    apart = _each(_apart_phrase, [None if h != h else h for h in hours.tolist()])  # h != h: NaN
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


def _sentence(head: list[str], shared: str, different: str, compared: bool = True) -> str:
    """The Why from its parts: what comes first (kept, requests), what is shared, what differs.

    ``compared`` False: no criterion could be compared (the score is the neutral 50); the Why
    says so first, with what the pair was made for (a choice, a request, kept)."""
    if not compared:
        text = "no answers to compare" + (": " + "; ".join(head) if head else " (neutral score)")
        text = "; ".join(filter(None, [text, shared]))
    else:
        text = ("; ".join([*head, shared]) if shared else "; ".join(head)) if head else shared
        text = text or "no answers to compare (neutral score)"
    if different:
        text += "; differs: " + different
    return text[:1].upper() + text[1:]


def _shared_and_differing(cohort: Cohort, rows: np.ndarray, cols: np.ndarray, criteria: dict[str, np.ndarray],
                          facts: PairFacts) -> tuple[list[str], list[str]]:
    """For each pair: what it shares ("; "-joined, in the Why's order) and what differs (", "-joined)."""
    mentee, mentor = cohort.mentees.person[rows], cohort.mentors.person[cols]
    a, b = mentee.tolist(), mentor.tolist()
    topics = _topic_words(cohort, a, b, cols, criteria["topics"])
    industry = _industry_words(cohort, a, b, criteria["industry"])
    experience = _experience_words(cohort, mentee, mentor, criteria["experience"])
    (available, apart), no_hours = _availability_words(facts, criteria["availability"])
    formats = _format_words(cohort, a, b, _counted(criteria["format"]))
    languages = _shared_words(cohort, a, b, "languages", lambda langs: f"both speak {_list_text(langs)}")
    likes = _interest_words(cohort, a, b, criteria["interests"])
    assumed = _assumed_zone_words(cohort, mentee, mentor, criteria["availability"])
    shared = ["; ".join(filter(None, words)) for words in zip(topics[0], industry[0], experience[0], available, apart,
                                                              assumed, languages, formats[0], likes[0])]
    differing = [", ".join(filter(None, words)) for words in zip(topics[1], industry[1], experience[1], no_hours, formats[1],
                                                                 likes[1])]
    return shared, differing


def why_texts(cohort: Cohort, rows: np.ndarray, cols: np.ndarray, criteria: dict[str, np.ndarray],
              bonus: Sequence[list[str]], kept: Sequence[bool], facts: PairFacts,
              progress: Progress | None = None) -> list[str]:
    """Plain words for each pair (cells ``rows``/``cols``): what it shares, then what differs.

    Column by column rather than pair by pair: each criterion's words are decided for all pairs at
    once, from each distinct answer (and pair of answers) worked out once; only the joining runs per
    pair. A per-pair pass over every field was most of the explain time.
    """
    with gc_paused():
        shared, differing = _shared_and_differing(cohort, rows, cols, criteria, facts)
        heads = [["kept from the earlier pairing", *words] if kept_pair else words for kept_pair, words in zip(kept, bonus)]
        counted = [~np.isnan(np.asarray(values, dtype=float)) for values in criteria.values()]
        compared = np.logical_or.reduce(counted).tolist() if counted else [False] * len(heads)
        texts: list[str] = []
        for start in range(0, len(heads), 5000):
            if progress:
                progress("explain", start, len(heads))
            end = start + 5000
            texts.extend(map(_sentence, heads[start:end], shared[start:end], differing[start:end], compared[start:end]))
    return texts


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


def _bonus_words(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> tuple[list[list[str]], np.ndarray]:
    words: list[list[str]] = [[] for _ in rows]
    requested = np.zeros(len(rows), bool)
    if not len(cohort.bonus) or not len(rows):
        return words, requested
    width = max(len(cohort.mentors), 1)
    position = {int(k): i for i, k in enumerate((rows * width + cols).tolist())}
    for rec in cohort.bonus.itertuples(index=False):
        i = position.get(int(rec.row) * width + int(rec.col))
        if i is None:
            continue
        requested[i] = True
        side = "mentee" if int(cohort.mentees.person[rec.row]) == int(rec.by) else "mentor"
        if rec.kind == "request":
            words[i].append(f"requested by the {side}")
        else:
            words[i].append(f"the {side}'s {_ordinal(int(rec.rank))} choice")
    return words, requested


def _rule_verb(name: str, count: int, what: str, config: Config) -> str:
    """What a rule says about ``count`` partners (mentors when ``what`` is "mentor"), as a verb phrase."""
    gap = config.rules.max_timezone_gap
    one = count == 1
    verbs = {
        "language": ("shares no language", "share no language"),
        "team": ("is in the same team", "are in the same team"),
        "organisation": ("is in the same organisation", "are in the same organisation"),
        "avoid": ("is named in an avoid list (theirs or the other's)", "are named in an avoid list (theirs or the other's)"),
        "earlier": ("was paired with them in an earlier cohort", "were paired with them in an earlier cohort"),
        "timezone": ((f"is more than {gap:g} h apart", f"are more than {gap:g} h apart") if gap is not None
                     else ("is too many hours apart", "are too many hours apart")),
        "choices": (("is not among their ranked choices", "are not among their ranked choices") if what == "mentor"
                    else ("chose other mentors only", "chose other mentors only")),
        "self": ("is themselves", "are themselves"),
    }
    return verbs[name][0 if one else 1]


def _removal_steps(broken: dict[str, np.ndarray], counted: np.ndarray) -> list[list[tuple[str, int]]]:
    """Per row of the grids: which rules, in turn, removed every counted partner, and how many each.

    Each step takes the rule that removes the most of the partners still left (ties: the order
    of ``RULES``), so the first step is the broadest rule and the last the binding one: the rule
    that left the person without any partner. Worked out for every row at once.
    """
    names = [name for name in RULES if name != "self" and name in broken]
    if not names or not len(counted):
        return [[] for _ in range(len(counted))]
    stack = np.stack([broken[name] for name in names])
    remaining = counted.copy()
    steps: list[list[tuple[str, int]]] = [[] for _ in range(len(counted))]
    every = np.arange(len(counted))
    for _ in names:
        counts = (stack & remaining[None]).sum(axis=2)
        best = counts.argmax(axis=0)
        top = counts[best, every]
        active = np.flatnonzero(top > 0)
        if not len(active):
            break
        for row in active.tolist():
            steps[row].append((names[best[row]], int(top[row])))
        remaining[active] &= ~stack[best[active], active]
    return steps


def _removal_text(steps: list[tuple[str, int]], total: int, what: str, config: Config) -> str:
    """"no allowed mentor: 5 of the 6 mentors share no language; the remaining one is in the same team"."""
    if not steps:
        return f"no allowed {what}"
    verb = lambda name, count: _rule_verb(name, count, what, config)
    if len(steps) == 1:
        name, count = steps[0]
        if total == 1:
            return f"no allowed {what}: the only {what} {verb(name, 1)}"
        return f"no allowed {what}: all {total} {what}s {verb(name, count)}"
    name, count = steps[0]
    parts = [f"{count} of the {total} {what}s {verb(name, count)}"]
    rest = total - count
    for name, count in steps[1:-1]:
        parts.append(f"of the other {rest}, {count} {verb(name, count)}")
        rest -= count
    name, count = steps[-1]
    parts.append(f"the remaining {'one' if count == 1 else count} {verb(name, count)}")
    return f"no allowed {what}: " + "; ".join(parts)


def _names_text(cohort: Cohort, persons: Sequence[int], limit: int = 3) -> str:
    """Up to ``limit`` names from the signups, then "and N more"."""
    names = cohort.column("name")
    return _list_text([str(names[p]).strip() for p in persons], limit)


@dataclass
class _Holders:
    """Who each mentor column is paired with (People positions, signup order), for naming who filled them."""

    mentees: dict[int, list[int]]

    @classmethod
    def build(cls, cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> _Holders:
        holders: dict[int, list[int]] = {}
        persons = cohort.mentees.person[rows].tolist() if len(rows) else []
        for col, person in sorted(zip(cols.tolist(), persons)):
            holders.setdefault(col, []).append(person)
        return cls(holders)

    def full_text(self, cohort: Cohort, cols: Sequence[int], other: bool) -> str:
        """"the only allowed mentor, Ana, is full (with Bo)" / "all 2 allowed mentors are full: Ana (with Bo), ..."."""
        names = cohort.column("name")
        persons = cohort.mentors.person
        allowed = "other allowed mentor" if other else "allowed mentor"
        described = [f"{str(names[persons[c]]).strip()} (with {_names_text(cohort, self.mentees.get(c, []))})"
                     for c in list(cols)[:3]]
        if len(cols) == 1:
            return f"the only {allowed}, {described[0].replace(' (with', ', is full (with', 1)}"
        more = f" and {len(cols) - 3} more" if len(cols) > 3 else ""
        return f"all {len(cols)} {allowed}s are full: " + ", ".join(described) + more

    def with_text(self, cohort: Cohort, col: int) -> str:
        return _names_text(cohort, self.mentees.get(col, []))


@dataclass
class _Choices:
    """Each short mentee's own ranked choices that name a mentor: (rank, mentor col), with the
    rules each such pair breaks and its score, worked out for all of them at once."""

    by_row: dict[int, list[tuple[int, int]]]
    broken: dict[str, np.ndarray]
    scores: np.ndarray
    at: dict[tuple[int, int], int]

    @classmethod
    def build(cls, cohort: Cohort, rows: np.ndarray) -> _Choices:
        bonus = cohort.bonus
        by_row: dict[int, list[tuple[int, int]]] = {}
        if len(bonus) and len(rows):
            own = bonus[(bonus["kind"] == "choice")
                        & (bonus["by"].to_numpy() == cohort.mentees.person[bonus["row"].to_numpy()])
                        & bonus["row"].isin(rows)]
            for row, rank, col in zip(own["row"].tolist(), own["rank"].tolist(), own["col"].tolist()):
                by_row.setdefault(int(row), []).append((int(rank), int(col)))
        cells = sorted({(row, col) for row, chosen in by_row.items() for _, col in chosen})
        r = np.array([c[0] for c in cells], np.int64)
        c = np.array([c[1] for c in cells], np.int64)
        broken = pair_rules(cohort, r, c) if cells else {}
        scores = pair_scores(cohort, r, c) if cells else np.zeros(0, np.int16)
        return cls(by_row, broken, scores, {cell: k for k, cell in enumerate(cells)})

    def texts(self, cohort: Cohort, row: int, paired: set[int], has_room: np.ndarray, holders: _Holders,
              threshold: int | None) -> list[str]:
        """For each of the mentee's own ranked choices not honoured: which rule or shortage stopped it."""
        answers = cohort.column("choices")[int(cohort.mentees.person[row])]
        if not answers:
            return []
        by_rank = dict(self.by_row.get(row, []))
        names = cohort.column("name")
        texts = []
        for rank in range(1, len(answers) + 1):
            col = by_rank.get(rank)
            label = f"{_ordinal(rank)} choice"
            if col is None:
                texts.append(f"{label}: not found among the mentors")
                continue
            if col in paired:
                continue
            k = self.at[(row, col)]
            label += f" {str(names[cohort.mentors.person[col]]).strip()}"
            rules = [RULE_TEXT[name] for name in RULES if name in self.broken and self.broken[name][k]]
            if rules:
                texts.append(f"{label}: {', '.join(rules)}")
            elif not has_room[col]:
                texts.append(f"{label}: full with {holders.with_text(cohort, col)}")
            elif threshold is not None and int(self.scores[k]) < threshold:
                texts.append(f"{label}: scores below the fairness floor of {threshold / 100:g}")
            else:
                texts.append(f"{label}: allowed, but not paired")
        return texts


@dataclass
class _Shortage:
    """Per goal option: how many mentees want it, how many mentors offer it, whether all of those are full."""

    wanting: np.ndarray
    offering: np.ndarray
    all_full: np.ndarray

    @classmethod
    def build(cls, cohort: Cohort, assigned: np.ndarray) -> _Shortage:
        m, r = cohort.mentees, cohort.mentors
        full = assigned >= r.limit
        offering = r.topics.sum(axis=0)
        open_offering = r.topics[~full].sum(axis=0)
        return cls(m.topics.sum(axis=0).astype(int), offering.astype(int), (offering > 0) & (open_offering == 0))

    def text(self, cohort: Cohort, row: int) -> str:
        """'4 mentees want Data science; the 2 mentors who offer it are full' for the mentee's first such goal."""
        person = int(cohort.mentees.person[row])
        goals = [*cohort.column("goals")[person], *cohort.column("topics")[person]]
        vocab = {k: i for i, k in enumerate(cohort.vocab_topics)}
        for goal in goals:
            k = vocab.get(option_key(goal))
            if k is None or k >= len(self.offering):
                continue
            label, wanting, offering = str(goal).strip(), int(self.wanting[k]), int(self.offering[k])
            if offering == 0:
                return f"no mentor offers {label}"
            if self.all_full[k]:
                return (f"{wanting} mentee{'s' if wanting != 1 else ''} want{'s' if wanting == 1 else ''} {label}; "
                        f"the {offering} mentor{'s' if offering != 1 else ''} who offer{'s' if offering == 1 else ''} it "
                        f"{'are' if offering != 1 else 'is'} full")
        return ""


def _paired_grid(rows: np.ndarray, width: int, pair_rows: np.ndarray, pair_cols: np.ndarray) -> np.ndarray:
    """Grid ``rows`` x every mentor: True where the mentee of that row is already paired with the mentor.

    Scattered from the pair list (O(pairs)) instead of looking every cell up in it (a sort of the
    whole grid per block).
    """
    at = np.full(int(max(rows.max(initial=-1), pair_rows.max(initial=-1))) + 1, -1, np.int64)
    at[rows] = np.arange(len(rows))
    grid = np.zeros((len(rows), width), bool)
    k = at[pair_rows]
    inside = k >= 0
    grid[k[inside], pair_cols[inside]] = True
    return grid


def unmatched_reasons(cohort: Cohort, pairs_rows: np.ndarray, pairs_cols: np.ndarray, kept_rows: np.ndarray,
                      kept_cols: np.ndarray, threshold: int | None) -> pd.DataFrame:
    """A true reason for every mentee with unfilled wants and every mentor with no mentee.

    The reasons rest on the optimum: with the most places filled, a mentee left short has only
    full mentors among the allowed ones (or the fairness floor removed the rest), and a mentor
    left idle has only mentees who already have all the mentors they want. Full mentors are
    named with who filled them; when rules removed every partner, the reason says which rule
    did it last (``_removal_steps``); a mentee's own ranked choices each get what stopped them.
    """
    m, r = cohort.mentees, cohort.mentors
    n, width = cohort.shape
    all_rows = np.concatenate([pairs_rows, kept_rows]).astype(np.int64)
    all_cols = np.concatenate([pairs_cols, kept_cols]).astype(np.int64)
    got = np.bincount(all_rows, minlength=n) if n else np.zeros(0, np.int64)
    assigned = np.bincount(all_cols, minlength=width) if width else np.zeros(0, np.int64)
    records: list[tuple[int, str, str]] = []
    short = np.flatnonzero(got < m.limit)
    floor = f"{threshold / 100:g}" if threshold else ""
    shortage = _Shortage.build(cohort, assigned)
    holders = _Holders.build(cohort, all_rows, all_cols)
    paired: dict[int, set[int]] = {}
    for row, col in zip(all_rows.tolist(), all_cols.tolist()):
        paired.setdefault(row, set()).add(col)
    cols = np.arange(width)
    has_room = assigned < r.limit
    config = cohort.config
    choices = _Choices.build(cohort, short)
    for r0, r1 in _blocks(len(short), width):
        rows = short[r0:r1]
        broken = rule_matrix(cohort, rows, cols)
        allowed = ~np.logical_or.reduce(list(broken.values()))
        mine = _paired_grid(rows, width, all_rows, all_cols)
        n_allowed, n_mine = allowed.sum(axis=1).tolist(), mine.sum(axis=1).tolist()
        room = allowed & has_room[None, :]
        room &= ~mine
        n_rooms = room.sum(axis=1).tolist()
        none_allowed = np.flatnonzero(allowed.sum(axis=1) == 0)
        steps = dict(zip(none_allowed.tolist(), _removal_steps(
            {name: v[none_allowed] for name, v in broken.items()}, ~broken["self"][none_allowed])))
        for k, row in enumerate(rows.tolist()):
            prefix = f"{got[row]} of {m.limit[row]} wanted mentors found; " if got[row] else ""
            n_room = n_rooms[k]
            if width == 0:
                reason = "no mentors signed up"
            elif n_allowed[k] == 0:
                reason = _removal_text(steps[k], int((~broken["self"][k]).sum()), "mentor", config)
            elif n_room and threshold:
                reason = (f"the {n_room} allowed mentor{'s' if n_room != 1 else ''} with room "
                          f"score{'s' if n_room == 1 else ''} below the fairness floor of {floor}")
            elif n_allowed[k] <= n_mine[k]:
                reason = ("the only allowed mentor is already their mentor" if n_allowed[k] == 1
                          else f"every allowed mentor ({n_allowed[k]}) is already their mentor")
            else:
                full = np.flatnonzero(allowed[k] & ~mine[k]).tolist()
                reason = holders.full_text(cohort, full, other=bool(n_mine[k]))
                detail = shortage.text(cohort, row)
                if detail:
                    reason += f" ({detail})"
            stopped = choices.texts(cohort, row, paired.get(row, set()), has_room, holders, threshold)
            records.append((int(m.person[row]), "mentee", prefix + "; ".join([reason, *stopped])))
    # a "both" who offered no places is simply a mentee: not an idle mentor
    roles = np.asarray(cohort.column("role"), dtype=object)[r.person] if width else np.zeros(0, object)
    idle = np.flatnonzero((assigned == 0) & ~((r.limit <= 0) & (roles == "both")))
    if len(idle):
        n_ok = np.zeros(len(idle), np.int64)
        for r0, r1 in _blocks(n, len(idle)):
            broken = rule_matrix(cohort, np.arange(r0, r1), idle)
            n_ok += (~np.logical_or.reduce(list(broken.values()))).sum(axis=0)
        idle_steps = _idle_removal_steps(cohort, idle[(n_ok == 0) & (r.limit[idle] > 0)])
        for k, col in enumerate(idle.tolist()):
            if r.limit[col] <= 0:
                reason = "capacity is 0"
            elif n == 0:
                reason = "no mentees signed up"
            elif n_ok[k] == 0:
                counted, col_steps = idle_steps[col]
                reason = _removal_text(col_steps, counted, "mentee", config)
            else:
                ok = int(n_ok[k])
                reason = (f"spare capacity: no mentee left who could be paired with them (the {ok} "
                          f"mentee{'s' if ok != 1 else ''} they could mentor {'have' if ok != 1 else 'has'} "
                          f"all the mentors they want"
                          + (f" or score below the fairness floor of {floor}" if threshold else "") + ")")
            records.append((int(r.person[col]), "mentor", reason))
    frame = pd.DataFrame(records, columns=["person", "role", "reason"])
    return frame.sort_values(["person", "role"], kind="stable").reset_index(drop=True)


IDLE_GROUP = 64
"""Mentors with no allowed mentee are explained this many at a time (a grid of every mentee x them)."""


def _idle_removal_steps(cohort: Cohort, cols: np.ndarray) -> dict[int, tuple[int, list[tuple[str, int]]]]:
    """For mentors with no allowed mentee: (mentees counted, ``_removal_steps``) per mentor column."""
    n = len(cohort.mentees)
    found: dict[int, tuple[int, list[tuple[str, int]]]] = {}
    for start in range(0, len(cols), IDLE_GROUP):
        group = cols[start:start + IDLE_GROUP]
        broken = rule_matrix(cohort, np.arange(n), group)
        turned = {name: np.ascontiguousarray(v.T) for name, v in broken.items()}
        counted = ~turned["self"]
        for col, total, col_steps in zip(group.tolist(), counted.sum(axis=1).tolist(), _removal_steps(turned, counted)):
            found[col] = (int(total), col_steps)
    return found


# --------------------------------------------------------------------------- public entry points


def _check_objective(objective: str | None, config: Config) -> str:
    objective = objective or config.match.objective or "places"
    if objective not in ("places", "fair"):
        raise MentorError(f"unknown objective {objective!r}", hint='Use "places" or "fair".')
    return objective


def _validate_people(people: pd.DataFrame) -> None:
    from mentorcli.model import PEOPLE_COLUMNS

    missing = [c for c in PEOPLE_COLUMNS if c not in people.columns and not c.startswith("source_")]
    if missing:
        raise MentorError(f"the People table lacks columns: {', '.join(missing)}",
                          hint="Build it with mentorcli.model.make_people or read_signups.")
    emails = people["email"].astype(str).str.strip().str.lower()
    if emails.duplicated().any():
        raise MentorError(f"the same email appears twice in the People table (row {int(np.argmax(emails.duplicated().to_numpy()))})",
                          hint="Each participant must appear once.")


def _with_source_row(people: pd.DataFrame) -> pd.DataFrame:
    people = people.reset_index(drop=True)
    if "source_row" not in people.columns:
        people = people.assign(source_row=0)
    return people


def match_people(people: pd.DataFrame, config: Config, *, keep: Iterable[tuple[str, str, str]] = (),
                 avoid_pairs: Iterable[tuple[str, str]] = (), objective: str | None = None,
                 progress: Progress | None = None) -> MatchResult:
    """Pair mentees with mentors: the most places, then the best total score (or ``fair``).

    ``people``: a People frame (``model.PEOPLE_COLUMNS``). ``keep``: ``(pair_id, mentee_email,
    mentor_email)`` pairs that stay (they use wants and capacity). ``avoid_pairs``: email pairs from
    earlier cohorts that must not be repeated (either direction). Returns a ``MatchResult`` whose
    pairs/unmatched/mentors refer to People positions (0..n-1).
    """
    objective = _check_objective(objective, config)
    people = _with_source_row(people)
    _validate_people(people)
    avoid_pairs = list(avoid_pairs)
    keep = list(keep)
    cohort = prepare_cohort(people, config, avoid_pairs=avoid_pairs)
    kept, kept_problems = _kept_cells(cohort, keep)
    kept_rows, kept_cols = _pairs_to_cells(cohort, np.array([k[1] for k in kept], np.int64),
                                           np.array([k[2] for k in kept], np.int64))
    n, m = cohort.shape
    cohort.forbidden["kept"] = _unique_cells(kept_rows, kept_cols, m)
    kept_problems += _kept_rule_problems(cohort, kept, kept_rows, kept_cols)
    wants = np.maximum(cohort.mentees.limit - np.bincount(kept_rows, minlength=n), 0) if n else np.zeros(0, np.int64)
    capacity = np.maximum(cohort.mentors.limit - np.bincount(kept_cols, minlength=m), 0) if m else np.zeros(0, np.int64)
    dense = n * m <= config.match.dense_limit
    k = max(1, int(config.match.candidates))
    cand = top_candidates(cohort, k, dense=dense, progress=progress)
    solution = solve_cohort(cohort, cand, wants, capacity, objective, progress)
    result = _result(cohort, solution, kept, objective, cand, progress, reserved_ids=[str(k[0]) for k in keep])
    result.kept_problems = kept_problems
    result.problems.extend(assumed_zone_problems(cohort))
    return result


@gc_paused()
def _result(cohort: Cohort, solution: Solution, kept: list[tuple[str, int, int]], objective: str,
            cand: Candidates, progress: Progress | None, reserved_ids: Sequence[str] = ()) -> MatchResult:
    """Assemble pairs (kept first, then new in mentee signup order), reasons, mentors, settings.

    New pair IDs follow the highest of ``reserved_ids`` too (every kept pair asked for, dropped
    ones included): later commands key calendars and logs on the ID, so a dropped pair's ID is
    never given to someone else.
    """
    config = cohort.config
    n, m = cohort.shape
    n_people = len(cohort.people)
    row_of = np.full(n_people, -1, np.int64)
    row_of[cohort.mentees.person] = np.arange(n)
    col_of = np.full(n_people, -1, np.int64)
    col_of[cohort.mentors.person] = np.arange(m)
    kept_ids = [k[0] for k in kept]
    mentee = np.concatenate([np.array([k[1] for k in kept], np.int64), cohort.mentees.person[solution.rows]])
    mentor = np.concatenate([np.array([k[2] for k in kept], np.int64), cohort.mentors.person[solution.cols]])
    pairs = pd.DataFrame({
        "pair_id": kept_ids + pair_ids([*kept_ids, *reserved_ids], len(solution.rows)),
        "mentee": mentee.astype(int), "mentor": mentor.astype(int),
        "kept": np.arange(len(mentee)) < len(kept),
    })
    rows, cols = row_of[mentee], col_of[mentor]
    inside = (rows >= 0) & (cols >= 0)
    rows, cols = np.where(inside, rows, 0), np.where(inside, cols, 0)
    ok = np.flatnonzero(inside)
    scores = np.full(len(pairs), np.nan)
    criteria = {c: np.full(len(pairs), np.nan) for c in CRITERIA}
    requested = np.zeros(len(pairs), bool)
    words: list[list[str]] = [[] for _ in range(len(pairs))]
    if len(ok):
        scores[ok] = pair_scores(cohort, rows[ok], cols[ok]).astype(float) / 100
        for name, values in criteria_values(cohort, rows[ok], cols[ok]).items():
            criteria[name][ok] = values
        ok_words, ok_requested = _bonus_words(cohort, rows[ok], cols[ok])
        requested[ok] = ok_requested
        for k, position in enumerate(ok.tolist()):
            words[position] = ok_words[k]
        kept_ok = ok[ok < len(kept)]
        if len(kept_ok):  # said first in its Why too, where the coordinator reads the pair
            broken = pair_rules(cohort, rows[kept_ok], cols[kept_ok])
            for k, position in enumerate(kept_ok.tolist()):
                names = [RULE_TEXT[name] for name in RULES if name in broken and broken[name][k]]
                if names:
                    words[position] = [f"now breaks a rule ({', '.join(names)})", *words[position]]
    pairs["score"] = scores
    for name in CRITERIA:
        pairs[f"c_{name}"] = criteria[name]
    pairs["requested"] = requested
    whys = ["Kept from the earlier pairing (one of them no longer signed up in this role)"] * len(pairs)
    texts = why_texts(cohort, rows[ok], cols[ok], {name: values[ok] for name, values in criteria.items()},
                      [words[k] for k in ok.tolist()], pairs["kept"].to_numpy()[ok].tolist(),
                      PairFacts.of(cohort, mentee[ok], mentor[ok]), progress)
    for k, text in zip(ok.tolist(), texts):
        whys[k] = text
    pairs["why"] = whys
    pairs = pairs[["pair_id", "mentee", "mentor", "score", *[f"c_{c}" for c in CRITERIA], "requested", "kept", "why"]]

    notes = list(cohort.notes)
    kept_inside = np.flatnonzero(inside[:len(kept)])
    unmatched = unmatched_reasons(cohort, solution.rows, solution.cols, rows[kept_inside], cols[kept_inside],
                                  solution.threshold)
    assigned = np.bincount(np.concatenate([solution.cols, cols[kept_inside]]).astype(np.int64), minlength=m)[:m]
    mentors = pd.DataFrame({"person": cohort.mentors.person.astype(int), "capacity": cohort.mentors.limit.astype(int),
                            "assigned": assigned.astype(int)})
    valid = pairs["score"].dropna()
    settings = {
        "objective": objective,
        "weights": config.weights.as_dict(),
        "rules": {f: getattr(config.rules, f) for f in ("forbid_same_team", "forbid_same_organisation",
                                                         "require_shared_language", "max_timezone_gap",
                                                         "choices_only", "ideal_experience_gap")},
        "method": solution.method,
        "candidates": int(config.match.candidates),
        "places": len(pairs),
        "new_places": len(solution.rows),
        "kept_places": len(kept),
        "total_score": round(float(valid.sum()), 2),
        "solver_total": int(solution.assignment.total),
        "bonus_unit": int(solution.unit),
        "pricing_rounds": int(solution.rounds),
        "optimality_proven": bool(solution.certified),
        "fair_floor": None if solution.threshold is None else solution.threshold / 100,
        "mentees": int(n),
        "mentors": int(m),
    }
    return MatchResult(
        pairs=pairs, unmatched=unmatched, mentors=mentors, objective=objective,
        total_score=float(round(valid.sum(), 2)) if len(valid) else 0.0,
        min_score=float(valid.min()) if len(valid) else 0.0,
        mean_score=float(round(valid.mean(), 4)) if len(valid) else 0.0,
        notes=notes, settings=settings,
    )


@dataclass
class ScoreMatrix:
    """Scores of every mentee x mentor cell: ``scores`` 0-100 (NaN where a rule forbids the pair)."""

    mentees: np.ndarray
    mentors: np.ndarray
    scores: np.ndarray
    allowed: np.ndarray
    bonus: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))


def score_matrix(people: pd.DataFrame, config: Config, *, avoid_pairs: Iterable[tuple[str, str]] = ()) -> ScoreMatrix:
    """The full score matrix of a (small) cohort, for a Python user who wants to look at it.

    Rows are mentees (role mentee/both with wants > 0), columns mentors, in signup order; the
    ``mentees``/``mentors`` arrays give their People positions.
    """
    people = _with_source_row(people)
    _validate_people(people)
    cohort = prepare_cohort(people, config, avoid_pairs=avoid_pairs)
    n, m = cohort.shape
    scores, allowed = score_rows(cohort, 0, n) if n else (np.zeros((0, m), np.int16), np.zeros((0, m), bool))
    return ScoreMatrix(cohort.mentees.person.copy(), cohort.mentors.person.copy(),
                       np.where(allowed, scores / 100.0, np.nan), allowed)


def broken_rules(people: pd.DataFrame, config: Config, mentee: Sequence[int], mentor: Sequence[int], *,
                 avoid_pairs: Iterable[tuple[str, str]] = ()) -> list[list[str]]:
    """For each given pair (People positions), the matching rules it breaks, in plain words."""
    people = _with_source_row(people)
    mentee = np.asarray(mentee, dtype=np.int64)
    mentor = np.asarray(mentor, dtype=np.int64)
    if not len(mentee):
        return []
    rows_people, rows = np.unique(mentee, return_inverse=True)
    cols_people, cols = np.unique(mentor, return_inverse=True)
    cohort = prepare_cohort(people, config, avoid_pairs=avoid_pairs, mentee_index=rows_people, mentor_index=cols_people)
    broken = pair_rules(cohort, rows.ravel(), cols.ravel())
    broken["self"] = mentee == mentor
    return [[RULE_TEXT[name] if name != "self" else "a person paired with themselves"
             for name in RULES if name in broken and broken[name][k]] for k in range(len(mentee))]


def export_scores(people: pd.DataFrame, config: Config, path: str | Path, *, force: bool,
                  avoid_pairs: Iterable[tuple[str, str]] = (), keep: Iterable[tuple[str, str, str]] = (),
                  objective: str | None = None) -> Path:
    """Write ``mentee_email,mentor_email,score,bonus,kept``: every kept pair, then every allowed pair.

    ``score`` is the pair's 0-100 score (the Score of the Pairs sheet); ``bonus`` the request and
    ranked-choice bonus in the same units (0 for most pairs), so ``score + bonus`` is the
    solver's own coefficient: keeping the ``kept`` rows ("yes") and solving the rest from this
    file alone (most places, then the highest total of ``score + bonus``) gives the same total as
    ``match_people``. A kept pair that ``match_people`` would drop (someone no longer signed up
    in that role) is not written. Written block by block (a 100,000 cohort has billions of
    pairs) into a temporary file that is renamed only when complete.
    """
    people = _with_source_row(people)
    _validate_people(people)
    probe = prepare_cohort(people, config)
    kept, _ = _kept_cells(probe, keep)
    kept_rows, kept_cols = _pairs_to_cells(probe, np.array([k[1] for k in kept], np.int64),
                                           np.array([k[2] for k in kept], np.int64))
    cohort = prepare_cohort(people, config, avoid_pairs=list(avoid_pairs),
                            keep_edges=list(zip(kept_rows.tolist(), kept_cols.tolist())))
    n, m = cohort.shape
    wants = np.maximum(cohort.mentees.limit - np.bincount(kept_rows, minlength=n), 0) if n else np.zeros(0, np.int64)
    capacity = np.maximum(cohort.mentors.limit - np.bincount(kept_cols, minlength=m), 0) if m else np.zeros(0, np.int64)
    problem = _Problem(cohort, wants, capacity, None)
    emails = people["email"].astype(str).map(neutralise_formula).to_numpy(dtype=object)
    mentee_emails = emails[cohort.mentees.person]
    mentor_emails = emails[cohort.mentors.person]

    def write(fh: Any, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, kept_flag: str) -> None:
        score = scores.astype(np.int64)
        bonus = problem.weights(rows, cols, score) - score
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(zip(
            mentee_emails[rows], mentor_emails[cols], map(_cents, score.tolist()), map(_cents, bonus.tolist()),
            [kept_flag] * len(rows)))
        fh.write(buffer.getvalue())

    with atomic_path(path, force=force) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(["mentee_email", "mentor_email", "score", "bonus", "kept"])
        write(fh, kept_rows, kept_cols, pair_scores(cohort, kept_rows, kept_cols), "yes")
        for r0, r1 in _blocks(n, m):
            scores, allowed = score_rows(cohort, r0, r1)
            local, cols = _nonzero_cells(allowed)
            write(fh, local + r0, cols, scores[local, cols], "no")
    return Path(path)


def _cents(value: int) -> str:
    """An integer number of hundredths as exact decimal text (no float rounding)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(int(value)), 100)
    return f"{sign}{whole}.{frac:02d}" if frac else f"{sign}{whole}"

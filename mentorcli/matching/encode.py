"""Step 1: read the answers into arrays once (the encoding every later step reads).

- Time-zone gaps use the UTC offsets in mid-January and mid-July of a fixed year and take the
  larger: a fixed date keeps runs identical, and the larger gap is the one the pair will meet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from mentorcli.availability import (
    WeeklyGrid,
    combined_codes,
    distinct_answers,
    first_rows,
)
from mentorcli.tz import tzinfo_for

NEUTRAL = 0.5
"""A criterion value below this pulled the score down (the Why says it under "differs"), and the
score of a pair with nothing to compare (criteria, words)."""

EXP_STEPS = 121
"""Experience in half years, 0..60 years; one more code for "blank"."""

REFERENCE_INSTANTS = ("2026-01-14T12:00", "2026-07-15T12:00")



# --------------------------------------------------------------------------- text normalising


@lru_cache(maxsize=1 << 16)
def option_key(text: str) -> str:
    """How two answers are compared: case-insensitive, spacing ignored (cached: options repeat)."""
    return " ".join(str(text).casefold().split())


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
        used = np.asarray(answers.any(axis=0))
        return {k: i for i, k in enumerate(k for k, u in zip(self.keys, used.tolist()) if u)}

    def answered(self) -> np.ndarray:
        """Per row: whether the answer has any option at all."""
        return np.asarray(self.options.any(axis=1))[self.ids]


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
    object per row, or sorting wide rows (``np.unique(axis=0)``), cost far more at scale.
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
    instants = [dt.datetime.fromisoformat(t) for t in REFERENCE_INSTANTS]
    ids, distinct = distinct_answers(zones)
    table = np.full((len(distinct), len(instants)), np.nan)
    for i, (zone,) in enumerate(distinct):
        info = tzinfo_for(zone)
        if info is not None:
            table[i] = [_hours_from_utc(instant.replace(tzinfo=info)) for instant in instants]
    return table[ids]


def _hours_from_utc(instant: dt.datetime) -> float:
    offset = instant.utcoffset()
    assert offset is not None, "an aware datetime"
    return offset.total_seconds() / 3600


def largest_clock_gap(difference: np.ndarray) -> np.ndarray:
    """Hours apart from UTC offset differences at each reference instant (last axis), the larger.

    The real difference, up to 26 hours, never folded around the globe: UTC+14 and UTC-10 show
    the same clock time on different days (Monday 9:00 in Honolulu is Tuesday 9:00 in
    Kiritimati), so they are 24 hours apart, not in the same time zone."""
    return np.abs(difference).max(axis=-1)


def hours_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest clock difference in hours between every offset row of ``a`` and every one of ``b``."""
    return largest_clock_gap(a[..., :, None, :] - b[..., None, :, :])


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

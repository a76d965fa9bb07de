"""The encoded cohort: what every step of the match reads, and blocks of (mentee, mentor) cells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mentorcli.availability import WeeklyGrid
from mentorcli.config import Config
from mentorcli.matching.encode import _overlap_block, _overlap_pairs

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called as work advances (stage "score", "solve", "explain")."""

BLOCK_CELLS = 1 << 20
EXPANDED_BYTES = 256 << 20
"""Largest per-mentor look-up table kept in memory for fast block scoring (see ``MentorColumns``)."""


# --------------------------------------------------------------------------- cohort encoding


@dataclass
class Side:
    """One side of the matrix (mentees or mentors), every answer encoded as arrays."""

    person: np.ndarray
    topics_given: np.ndarray
    """Whether the person gave goals or topics (a mentee) or expertise or topics (a mentor)."""
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
    """Which answers each criterion compares the person gave, packed by ``criteria.Counting``."""
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
    weights: dict[str, np.float32]
    """Each criterion's weight, by name."""
    tables: dict[str, np.ndarray]
    """Per-pair look-ups over the distinct answers of each side (criteria and rules build them)."""
    distinct: dict[str, np.ndarray]
    """The distinct answers a side's codes index: ``distinct["team"][m.team]`` is a mentee's
    (organisation, department) codes; "language", "zone" likewise."""
    forbidden: dict[str, tuple[np.ndarray, np.ndarray]]
    choices_rows: dict[int, np.ndarray]
    bonus: pd.DataFrame
    notes: list[str]
    vocab_topics: list[str]
    vocab_interests: list[str]
    offsets: np.ndarray
    weekly: WeeklyGrid
    """When each person is available (UTC, exact to the minute) and whose time zone was assumed."""
    counting: Any = None
    """``criteria.Counting``: where each criterion's flags sit in ``Side.counted``."""
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


@dataclass(frozen=True)
class Cells:
    """A block of (mentee row, mentor column) cells: the grid ``rows`` x ``cols``, or the aligned
    pairs ``(rows[k], cols[k])``. Criteria and rules read every block through it, so a rule or a
    criterion is one function whether the solver, the explanations or a single pair asks.
    """

    rows: np.ndarray
    cols: np.ndarray
    grid: bool
    columns: MentorColumns | None = None
    """Tables expanded for ``cols`` (a grid only): a row gather instead of a 2-D index."""

    @classmethod
    def block(cls, cohort: Cohort, rows: np.ndarray, cols: np.ndarray | None = None,
              columns: MentorColumns | None = None) -> Cells:
        """The grid ``rows`` x ``cols`` (None: every mentor)."""
        every = cols is None
        cols = np.arange(len(cohort.mentors)) if every else np.asarray(cols, dtype=np.int64)
        return cls(np.asarray(rows, dtype=np.int64), cols, True, cohort.columns() if every else columns)

    @classmethod
    def pairs(cls, rows: np.ndarray, cols: np.ndarray) -> Cells:
        """The cells ``(rows[k], cols[k])``."""
        return cls(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), False)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), len(self.cols)) if self.grid else (len(self.rows),)

    def none(self) -> np.ndarray:
        """A False per cell."""
        return np.zeros(self.shape, dtype=bool)

    def lookup(self, cohort: Cohort, name: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """``tables[name][left[row], right[col]]`` per cell (``left``/``right``: the two sides' codes)."""
        if self.grid:
            return _lookup(cohort, name, left, right, self.rows[:, None], self.cols[None, :], self.columns)
        return _lookup(cohort, name, left, right, self.rows, self.cols, None)

    def of_mentee(self, values: np.ndarray) -> np.ndarray:
        """A mentee's value per cell (broadcast along the row of a grid)."""
        return values[self.rows][:, None] if self.grid else values[self.rows]

    def of_mentor(self, values: np.ndarray) -> np.ndarray:
        """A mentor's value per cell (broadcast down the column of a grid)."""
        return values[self.cols][None, :] if self.grid else values[self.cols]

    def overlap(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Shared options per cell (float32) from each side's bit words (``encode._bits``)."""
        if self.grid:
            return _overlap_block(left[self.rows], right[self.cols])
        return _overlap_pairs(left[self.rows], right[self.cols])

    def mark_listed(self, cohort: Cohort, listed: tuple[np.ndarray, np.ndarray], out: np.ndarray) -> None:
        """Set ``out`` True on each cell that is one of the ``listed`` (rows, cols); short lists
        cost O(list length) on a grid."""
        listed_rows, listed_cols = listed
        if not len(listed_rows):
            return
        if not self.grid:
            width = max(len(cohort.mentors), 1)
            out |= np.isin(self.rows * width + self.cols, listed_rows * width + listed_cols)
            return
        i = _positions(self.rows, len(cohort.mentees))[listed_rows]
        j = _positions(self.cols, len(cohort.mentors))[listed_cols]
        inside = (i >= 0) & (j >= 0)
        out[i[inside], j[inside]] = True


def _positions(index: np.ndarray, size: int) -> np.ndarray:
    """For each of ``size`` items, its position in ``index``, or -1."""
    at = np.full(size, -1, np.int64)
    at[index] = np.arange(len(index))
    return at


def _blocks(n_rows: int, n_cols: int) -> list[tuple[int, int]]:
    step = max(1, min(n_rows, BLOCK_CELLS // max(n_cols, 1)))
    return [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


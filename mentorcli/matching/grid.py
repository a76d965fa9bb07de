"""Scores and the allowed mask of a block of cells: the criteria and the rules together."""

from __future__ import annotations

import numpy as np

from mentorcli.matching.cohort import Cells, Cohort, MentorColumns
from mentorcli.matching.criteria import _interest_overlap, _weighted_score
from mentorcli.matching.encode import _overlap_block
from mentorcli.matching.rules import solver_allowed


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
    return scores, solver_allowed(cohort, Cells(index, mentors, True, columns))



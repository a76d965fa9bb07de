"""Scores and the allowed mask of a block of cells: the criteria and the rules together."""

from __future__ import annotations

import numpy as np

from mentorcli.matching.cohort import Cells, Cohort, MentorColumns
from mentorcli.matching.criteria import weighted_score
from mentorcli.matching.rules import solver_allowed


def score_rows(cohort: Cohort, r0: int, r1: int, *, rows: np.ndarray | None = None,
               cols: np.ndarray | None = None, columns: MentorColumns | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores (int16, 0-10000) and the allowed mask of mentee rows r0..r1 (or of ``rows``)
    against every mentor (or against ``cols``). ``columns``: the expanded tables of ``cols``
    when the caller scores many blocks against the same mentors."""
    index = np.arange(r0, r1) if rows is None else np.asarray(rows, dtype=np.int64)
    cells = Cells.block(cohort, index, cols, columns)
    return weighted_score(cohort, cells), solver_allowed(cohort, cells)

"""What a coordinator gets does not change when code moves: every output of the whole cycle, pinned.

``tests/pinned.py`` runs check, match, schedule, introduce, report and ``send --dry-run`` as real
processes and compares each file it writes (an xlsx part by part) and each ``--json`` summary with
the digests recorded in ``tests/data/pinned/``. A deliberate change to an output is re-recorded
with ``python -m tests.pinned record COHORT`` and said in the commit.
"""

from __future__ import annotations

import json

import pytest

from tests.pinned import PINNED, differences, outputs_of


@pytest.mark.parametrize("cohort", ["example", "cohort10k"])
def test_every_output_is_as_pinned(cohort: str) -> None:
    expected = json.loads((PINNED / f"{cohort}.json").read_text())
    actual = outputs_of(cohort)
    assert differences(expected, actual) == []
    assert len(actual["files"]) == len(expected["files"]) > 300


def test_a_changed_file_is_named() -> None:
    expected = {"files": {"a.ics": "1", "b.xlsx": {"xl/x.xml": "1", "xl/y.xml": "2"}}, "stdout": {"match": "1"}}
    actual = {"files": {"b.xlsx": {"xl/x.xml": "1", "xl/y.xml": "3"}, "c.eml": "1"}, "stdout": {"match": "2"}}
    assert differences(expected, actual) == [
        "files: a.ics missing", "files: b.xlsx differs (xl/y.xml)", "files: c.eml new", "stdout: match differs"]

"""Bulk work: millions of small Python objects at once (the 100k-signup paths), and worker
processes for the stages that write thousands of files (calendars, emails)."""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from pathlib import Path

from mentorcli.errors import MentorError


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small containers are made.

    Writing a workbook makes a cell tuple per cell, reading one a list per row, explaining a
    match a few lists and tuples per pair; none of them form cycles, but every collection their
    number triggers walks all live container objects (a 100k cohort's columns): a quarter of the
    write time, and more than writing the Why texts (1.0 s -> 0.58 s for 80k pairs). Whatever
    garbage there is waits for the next collection after this. Usable as a decorator too.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def worker_count(workers: int | None, items: int, *, parallel_from: int, most: int) -> int:
    """Processes for ``items`` pieces of work: ``workers`` when given (at most one per item); else
    one below ``parallel_from`` items, where starting processes costs more than it saves, and
    otherwise one per available core, at most ``most``."""
    if workers is not None:
        return max(1, min(int(workers), items or 1))
    if items < parallel_from:
        return 1
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(available, most))


def fork_context() -> BaseContext | None:
    """``fork`` where the platform has it: workers start at once with everything already imported,
    and a caller's unguarded script is not run again (as ``spawn`` would); None elsewhere, and the
    work stays in this process."""
    return multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None


NOTHING_WRITTEN = "Nothing of this run was written. Run it again; on a small machine, close other programs first."


@contextmanager
def worker_stops(what: str, path: str | Path, hint: str = NOTHING_WRITTEN) -> Iterator[None]:
    """A worker process that stopped before it finished (killed, or out of memory) is one line
    naming the output (``path``) and what to do (``hint``), not a traceback."""
    try:
        yield
    except BrokenProcessPool:
        raise MentorError(f"a worker process {what} stopped before it finished (killed, or out of memory)",
                          path=path, hint=hint) from None

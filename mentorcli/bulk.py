"""Building millions of small Python objects at once (the 100k-signup paths)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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

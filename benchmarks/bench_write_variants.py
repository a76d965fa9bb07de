"""Benchmark: the pairing workbook's sheets written through each public way xlsxwriter offers.

Input to issue 15 item 4 (only public library API). Every variant writes the same six sheets
(the columns ``write_pairing_workbook`` builds from ``bench_write.inputs``, cached like
``bench_write.py``) with the same formats, widths, frozen header and filter:

- ``spliced`` (what ships): ``mentorcli.xlsx.write_table_workbook``: xlsxwriter writes the
  workbook with the header rows, the data rows and shared strings are added to its parts;
- ``cells``: ``TableWorkbook`` alone: ``write_string``/``write_number`` per cell, column after
  column (the reference the spliced rows are tested against; what checkins.xlsx uses);
- ``rows``: ``write_row`` per data row (type dispatch inside xlsxwriter);
- ``columns``: ``write_column`` per column;
- ``constant-memory``: ``write_row`` per row with xlsxwriter's ``constant_memory`` option
  (rows go to disk as they are written; strings inline, no shared string table);
- ``in-memory``: as ``cells``, with xlsxwriter's ``in_memory`` option (no part files on disk).

Prints best wall and CPU seconds of ``--repeat`` writes and the file size per variant and size.
Measured 2026-12-06 on the shared 2-core host at load 9 (wall is 5-10x CPU: compare CPU):

| signups | cells | variant | write CPU s | MB |
|---:|---:|---|---:|---:|
| 10,000 | 269,586 | spliced | 0.33 | 2.0 |
| 10,000 | 269,586 | cells | 1.66 | 1.5 |
| 10,000 | 269,586 | rows | 2.03 | 1.4 |
| 10,000 | 269,586 | columns | 1.90 | 1.5 |
| 10,000 | 269,586 | constant-memory | 1.95 | 1.6 |
| 10,000 | 269,586 | in-memory | 1.86 | 1.5 |

The writer on xlsxwriter internals that ``spliced`` replaced: 0.41-0.51 s (``bench_write.py``,
same hour). README Performance has the Rust-backed writers measured beside these.
Run: ``python3 benchmarks/bench_write_variants.py [--sizes 10000 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import xlsxwriter
from bench_write import inputs

from mentorcli import workbook
from mentorcli.config import Config
from mentorcli.xlsx import (
    NUMBER,
    SAFE_OPTIONS,
    TableSheet,
    TableWorkbook,
    write_table_workbook,
)

VARIANTS = ("spliced", "cells", "rows", "columns", "constant-memory", "in-memory")


def sheets_of(n: int, cache: Path, config: Config) -> list[TableSheet]:
    roster, result = inputs(n, cache, config, False)
    columns = {
        workbook.PAIRS: workbook.pairs_columns(roster, result),
        workbook.UNMATCHED: workbook.unmatched_columns(roster, result),
        workbook.MENTORS: workbook.mentors_columns(roster, result),
        workbook.PROBLEMS: workbook.problems_columns([*roster.problems, *workbook.match_problems(result)]),
        workbook.PEOPLE: workbook.people_columns(roster.people),
        workbook.SETTINGS: workbook.settings_columns(workbook.settings_rows(roster, result, config)),
    }
    return workbook.table_sheets(columns)


def write_with_calls(output: Path, sheets: list[TableSheet], how: str) -> None:
    """The same sheets through ``write_row``/``write_column`` (no rich-text guard: speed only)."""
    options: dict[str, Any] = {**SAFE_OPTIONS, "constant_memory": how == "constant-memory"}
    book = xlsxwriter.Workbook(str(output), options)
    header = book.add_format(workbook.HEADER_FORMAT)
    formats: dict[str, Any] = {}
    for table in sheets:
        sheet = book.add_worksheet(table.name)
        sheet.write_row(0, 0, [column.header for column in table.columns], header)
        for c, column in enumerate(table.columns):
            cell_format = formats.setdefault(column.number_format, book.add_format({"num_format": column.number_format})) \
                if column.number_format else None
            sheet.set_column(c, c, column.width, cell_format)
        values = [[None if v == "" else v for v in column.values] for column in table.columns]
        if how == "columns":
            for c, column in enumerate(values):
                sheet.write_column(1, c, column, formats.get(table.columns[c].number_format or ""))
        else:
            for r, row in enumerate(zip(*values), 1):
                sheet.write_row(r, 0, row)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, table.rows, len(table.columns) - 1)
    book.close()


def write_variant(name: str, output: Path, sheets: list[TableSheet]) -> None:
    if name == "spliced":
        write_table_workbook(output, sheets, {})
    elif name in ("cells", "in-memory"):
        target: Any = io.BytesIO() if name == "in-memory" else output
        with TableWorkbook(target) as book:
            for sheet in sheets:
                book.add_sheet(sheet)
        if name == "in-memory":
            output.write_bytes(target.getvalue())
    else:
        write_with_calls(output, sheets, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mentorcli-bench-write"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    config = Config()
    print("| signups | cells | variant | write best s | write CPU s | MB |\n|---:|---:|---|---:|---:|---:|")
    for n in args.sizes:
        sheets = sheets_of(n, args.cache, config)
        cells = sum(1 for table in sheets for column in table.columns for v in column.values
                    if v is not None and v != "" and (column.kind != NUMBER or not math.isnan(v)))
        for name in args.variants:
            output = args.cache / f"variant_{n}.xlsx"
            wall, cpu = [], []
            for _ in range(args.repeat):
                output.unlink(missing_ok=True)
                start, start_cpu = time.perf_counter(), time.process_time()
                write_variant(name, output, sheets)
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            print(f"| {n:,} | {cells:,} | {name} | {min(wall):.2f} | {min(cpu):.2f} | {output.stat().st_size / 1e6:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()

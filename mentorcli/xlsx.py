"""xlsxwriter workbooks in which every string is written as the text it is.

xlsxwriter keeps a rich string in its shared string table as ready XML, and writes any table
entry that starts with ``<r>`` and ends with ``</r>`` unescaped. A signup cell such as
``<r>A & B</r>`` would then become raw XML in ``sharedStrings.xml``: the workbook is corrupt
(Excel offers to "repair" it; openpyxl refuses it). mentorcli writes no rich strings, so every
entry is escaped here, the way xlsxwriter escapes any other string (the bytes are the same for
every other string).

Writing the table one string at a time through xlsxwriter's writer also cost 4 s of a 100k
pairing workbook (370,000 strings); strings that need no escaping at all, nearly all of them,
are written in one pass.
"""

from __future__ import annotations

import functools
import io
import os
import re
import sys
from functools import cache
from typing import Any

NEEDS_ESCAPING = re.compile(r"[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]|^\s|\s$")
"""What xlsxwriter would change or mark: XML specials, control characters (and ``_xHHHH_``
look-alikes, so any underscore), non-characters, leading or trailing whitespace."""
ESCAPE_LOOKALIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
EDGE_SPACE = re.compile(r"^\s|\s$")
ZIP_LEVEL = 1
"""Deflate level of the workbooks written here to a file. zlib's default (6) took 3 s of writing
a 100k pairing workbook; level 1 takes 0.9 s for a file a third larger (20 MB instead of 15).
xlsxwriter's ``in_memory`` mode (the small report workbook) gives each entry its own zip info,
which keeps the default."""


def text_workbook(target: Any, options: dict[str, Any]) -> Any:
    """``xlsxwriter.Workbook(target, options)`` whose shared strings are always plain text.

    xlsxwriter writes each part of the workbook (every sheet, the shared strings: every email
    address of the cohort) to a file in the system temp folder, and leaves them there when the
    write fails or the process is killed. Written to a file, the parts go beside ``target``
    instead (its ``tmpdir`` option): ``files.atomic_path`` gives a path in a private folder of
    its own, removed with everything in it when the write ends, and by the next run after a kill.
    """
    if not isinstance(target, (str, os.PathLike)):
        return _text_workbook_class()(target, options)
    if not options.get("in_memory") and "tmpdir" not in options:
        options = {**options, "tmpdir": os.path.dirname(os.path.abspath(target))}
    output = QuietOnFailure(open(target, "wb"))  # noqa: SIM115 (closed by the workbook's close())
    workbook = _text_workbook_class()(output, options)
    workbook.mentorcli_output = output
    return workbook


class QuietOnFailure(io.RawIOBase):
    """A file that, once a write to it has failed, takes no more bytes and raises no more errors.

    When the disk fills, zipfile raises from inside xlsxwriter's ``close()``; the half-written
    ``ZipFile`` is then collected later and tries to finish the file again, and Python prints
    that second failure with a traceback ("Exception ignored in ZipFile.__del__") at some random
    later moment. Given this file instead of a name, the first error reaches the caller as usual
    and the late retry writes nowhere: positions still add up (zipfile computes sizes from
    them), the bytes go nowhere.
    """

    def __init__(self, raw: Any):
        super().__init__()
        self.raw = raw
        self.failed = False
        self.position = 0
        self.end = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(data)
        if not self.failed:
            self._guard(self.raw.write, data)
        self._moved(self.position + size)
        return size

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self.failed:
            return self._moved(self._guard(self.raw.seek, offset, whence))
        start = {0: 0, 1: self.position, 2: self.end}[whence]
        return self._moved(start + offset)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        if not self.failed and not self.raw.closed:
            self._guard(self.raw.flush)

    def give_up(self) -> None:
        """After a failure: drop what is buffered, close the real file, take nothing more."""
        self.failed = True
        try:
            self.raw.close()
        except OSError:
            pass

    def _moved(self, position: int) -> int:
        self.position = position
        self.end = max(self.end, position)
        return position

    def _guard(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except OSError:
            self.give_up()
            raise


def shared_string_xml(string: str) -> str:
    """One ``<si>`` entry of ``sharedStrings.xml`` for a plain string, as xlsxwriter 3.3 writes
    any string that is not rich: control characters as ``_xHHHH_`` (a literal look-alike gets
    its underscore escaped), whitespace kept, XML specials escaped."""
    if NEEDS_ESCAPING.search(string) is None:
        return f"<si><t>{string}</t></si>"
    text = ESCAPE_LOOKALIKE.sub(r"_x005F\1", string)
    text = CONTROL.sub(lambda found: f"_x{ord(found.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if EDGE_SPACE.search(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<si><t{space}>{text}</t></si>"


@cache
def _text_workbook_class() -> type:
    from xlsxwriter.packager import Packager
    from xlsxwriter.sharedstrings import SharedStrings
    from xlsxwriter.workbook import Workbook

    class TextSharedStrings(SharedStrings):
        def _write_sst_strings(self) -> None:
            strings = self.string_table.string_array
            for start in range(0, len(strings), 50_000):
                self.fh.write("".join(map(shared_string_xml, strings[start:start + 50_000])))

    class TextPackager(Packager):
        def _write_shared_strings_file(self) -> None:
            if not self.workbook.str_table.count:
                return
            sst = TextSharedStrings()
            sst.string_table = self.workbook.str_table
            sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
            sst._assemble_xml_file()

    class TextWorkbook(Workbook):
        mentorcli_output: QuietOnFailure | None = None

        def close(self) -> None:
            output = self.mentorcli_output
            try:
                super().close()
                if output is not None:
                    output.raw.close()
            except BaseException:
                if output is not None:
                    output.give_up()
                raise

        def _get_packager(self) -> Packager:
            return TextPackager()

        def _store_workbook(self) -> None:
            # xlsxwriter has no option for the level; its module's ZipFile is swapped for the
            # length of this call (a workbook written on another thread meanwhile would share it)
            module = sys.modules[Workbook.__module__]
            plain = module.ZipFile
            module.ZipFile = functools.partial(plain, compresslevel=ZIP_LEVEL)
            try:
                super()._store_workbook()
            finally:
                module.ZipFile = plain

    return TextWorkbook

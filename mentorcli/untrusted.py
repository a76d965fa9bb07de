"""Text from a signup, a workbook or a draft, made safe for where it goes next.

Two places need it: content (a name in a calendar, an email, a report) must not carry control
characters at all, because RFC 5545 text and HTML have no use for them and a terminal or mail
client may act on them; and the terminal, where the coordinator must *see* what a cell held
(an escape sequence shown as ``\\x1b``) rather than have the terminal obey it.

Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) count as controls here:
they reorder how the text around them is displayed ("Trojan Source"), and a form answer has no
need of them. The marks U+200E/U+200F that right-to-left writing uses are kept.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

_CONTROL_CODES = [*range(0x20), 0x7F, *range(0x80, 0xA0)]
_KEPT_IN_CONTENT = "\t\n"

_CONTENT_DROP: dict[int, str | None] = {code: None for code in _CONTROL_CODES if chr(code) not in _KEPT_IN_CONTENT}
_CONTENT_DROP.update(dict.fromkeys(map(ord, BIDI_CONTROLS), None))
_CONTENT_DROP[ord("\r")] = "\n"


def without_controls(text: str) -> str:
    """``text`` with control characters removed: tab and newline stay, CR becomes a newline."""
    return text.replace("\r\n", "\n").translate(_CONTENT_DROP)


_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
"""Controls, format characters (bidi overrides, zero-width joiners), line and paragraph separators
and lone surrogates: what a terminal may act on or hide instead of showing."""


def visible(text: str) -> str:
    """``text`` for a terminal: every control or format character written as its escape.

    ``"\\x1b[31m"`` prints as the characters ``\\x1b[31m`` and a bidi override as ``\\u202e``; a
    newline inside a cell prints as ``\\n``, so one problem stays one line.
    """
    if text.isprintable():
        return text
    return "".join(ascii(char)[1:-1] if unicodedata.category(char) in _HIDDEN_CATEGORIES else char for char in text)

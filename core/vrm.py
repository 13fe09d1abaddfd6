"""UK vehicle registration marks (VRMs): validation and the stored form (upper case, no spaces).

Accepted shapes, after removing spaces and upper-casing (DVLA formats):

- current, since 2001: two letters, two digits, three letters (``AB12CDE``);
- prefix, 1983-2001: a letter, one to three digits, three letters (``A123BCD``);
- suffix, 1963-1983: three letters, one to three digits, a letter (``ABC123D``);
- dateless (and Northern Ireland): one to four digits and one to three letters, either way round
  (``1ABC``, ``ABC1234``).

Anything else (punctuation, more than seven characters, letters only, digits only) is rejected: an
ANPR hotlist entry built from a garbled mark would never match and would hide the error.
"""
from __future__ import annotations

import re

_SHAPES = re.compile(
    r"^(?:[A-Z]{2}[0-9]{2}[A-Z]{3}"   # current
    r"|[A-Z][0-9]{1,3}[A-Z]{3}"       # prefix
    r"|[A-Z]{3}[0-9]{1,3}[A-Z]"       # suffix
    r"|[0-9]{1,4}[A-Z]{1,3}"          # dateless, digits first
    r"|[A-Z]{1,3}[0-9]{1,4})$")       # dateless / Northern Ireland, letters first
_SPACES = re.compile(r"\s+")


class InvalidVRM(ValueError):
    def __init__(self, text: object) -> None:
        self.text = text
        super().__init__(f"not a valid UK registration mark: {text!r}")


def normalise_vrm(text: str) -> str:
    """Return the stored form of a UK VRM (``"ab12 cde"`` → ``"AB12CDE"``); raise :class:`InvalidVRM`
    for anything that is not one of the DVLA shapes."""
    if not isinstance(text, str):
        raise InvalidVRM(text)
    compact = _SPACES.sub("", text).upper()
    if not _SHAPES.match(compact):
        raise InvalidVRM(text)
    return compact

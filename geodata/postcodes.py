"""UK postcode syntax: normalising free text to the stored "OUTCODE INCODE" form.

One pattern serves both Python (:func:`normalise_postcode`) and PostgreSQL (the bulk loader filters
rows with it), so every stored postcode is one that :func:`normalise_postcode` accepts.
"""
from __future__ import annotations

import re

from geodata.errors import InvalidPostcode

# Over the compact (space-free, upper-case) form. The outward code is a letter or two, a digit, and
# an optional letter/digit (PL1, NE11, CR0, W1A, EC1A). Two non-standard outward codes also occur:
# GIR 0AA (Girobank) and NPT, the legacy Newport code that ONS still lists (2,417 rows in the GB file).
COMPACT_PATTERN = r"^([A-Z]{1,2}[0-9][A-Z0-9]?|NPT)[0-9][A-Z]{2}$|^GIR0AA$"
_COMPACT = re.compile(COMPACT_PATTERN)
_SPACES = re.compile(r"\s+")


def normalise_postcode(text: str) -> str:
    """Return a UK postcode in its canonical form: upper case, one space before the inward code.

    Parameters
    ----------
    text : str
        Free text such as ``"pl12aa"`` or ``" PL1  2AA "``.

    Returns
    -------
    str
        For example ``"PL1 2AA"``.

    Raises
    ------
    InvalidPostcode
        If the text is not shaped like a UK postcode (outward code of 2–4 characters, inward code of a
        digit and two letters; ``GIR 0AA`` is accepted).
    """
    if not isinstance(text, str):
        raise InvalidPostcode(text)
    compact = _SPACES.sub("", text).upper()
    if not _COMPACT.match(compact):
        raise InvalidPostcode(text)
    return f"{compact[:-3]} {compact[-3:]}"

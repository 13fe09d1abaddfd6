"""Tolerant matching of a plate read against the hotlist (pure: the Redis lookups are injected).

OCR misreads a plate in two ways this corrects:

- confusable characters, 0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G: corrected by position. For each DVLA
  shape (``core.vrm``) of the read's length, a letter where the shape wants a digit, or a digit
  where it wants a letter, is swapped for its look-alike; a read that fits no shape that way gives
  nothing. The shapes are derived from ``normalise_vrm`` itself, so they cannot drift from it. A
  character that already fits its position is never changed: ``AB12CDE`` stays itself under the
  current shape (it may also become ``A812CDE`` under the prefix shape, at the cost of one swap, so an
  exact reading always outscores it);
- a dropped character: a read one short of a hotlist mark equals one of the mark's deletion keys
  (:func:`deletion_keys`, kept by the store in a second hash). Keys are folded (every look-alike
  written as its digit), so a dropped character and a confusion in one read still meet.

Scores, 0..1: the reading's confidence, times ``SUBSTITUTION`` per swapped character (at most
``MAX_SUBSTITUTIONS``). A dropped-character match is the weakest evidence: with 18,000 vehicles listed
there are ~120,000 keys, and a read of an unlisted car missing a character lands on one about once
in 500. It scores ``DROPPED_ALONE`` of the confidence (so only a confident read, 0.85 and up, reaches
the default threshold of 0.55), less (``DROPPED_VALID_ALONE``) when the short read is itself a valid mark, which
it may simply be, and ``DROPPED_SUPPORTED`` when another reading of the same read (a vendor
candidate) points to the same mark.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from anpr_ingest.hotlist_entry import HotlistEntry
from anpr_ingest.reads import PlateRead
from core import InvalidVRM, normalise_vrm

SUBSTITUTION = 0.9
MAX_SUBSTITUTIONS = 2
DROPPED_SUPPORTED = 0.9
DROPPED_ALONE = 0.65
DROPPED_VALID_ALONE = 0.5
# Vendors send up to ~10 alternatives, best first; further ones add lookups and false hits, not recall.
MAX_CANDIDATES = 10
# A read of 4 to 6 characters may be a 5- to 7-character mark missing one. Shorter fragments would
# each match a large share of the short dateless marks, which is no evidence at all.
DROPPED_LENGTHS = range(4, 7)

_DIGIT_OF = {"O": "0", "D": "0", "Q": "0", "I": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}
_LETTERS_OF = {"0": "ODQ", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G"}
_FOLD = str.maketrans(_DIGIT_OF)

Lookup = Callable[[list[str]], list[HotlistEntry | None]]
LookupDropped = Callable[[list[str]], list[list[tuple[str, HotlistEntry]]]]


@dataclass(frozen=True)
class Match:
    vrm: str            # the hotlist mark matched (normalised)
    entry: HotlistEntry
    score: float        # 0..1
    how: str            # "exact" | "corrected" | "candidate" | "dropped"


def _is_mark(text: str) -> bool:
    try:
        normalise_vrm(text)
    except InvalidVRM:
        return False
    return True


def _shapes() -> dict[int, tuple[str, ...]]:
    """Every letter/digit pattern ("L"/"N" per position) of a valid mark, by length: the DVLA shapes
    are classes of characters, so a pattern is valid when one string of it is."""
    out: dict[int, tuple[str, ...]] = {}
    for n in range(1, 8):
        out[n] = tuple("".join(p) for p in product("LN", repeat=n)
                       if _is_mark("".join("A" if c == "L" else "1" for c in p)))
    return out


_SHAPES = _shapes()


def _compact(text: str) -> str | None:
    """The read upper-cased without spaces or hyphens, or None when it holds anything else."""
    t = text.upper().replace(" ", "").replace("-", "")
    return t if t.isascii() and t.isalnum() else None


def _fits(text: str, shape: str) -> Iterator[tuple[str, int]]:
    """The marks ``text`` becomes under ``shape`` by swapping look-alikes, with the swaps needed."""
    options: list[str] = []
    swaps = 0
    for c, want in zip(text, shape):
        if c.isdigit() == (want == "N"):
            options.append(c)
            continue
        alt = _DIGIT_OF.get(c) if want == "N" else _LETTERS_OF.get(c)
        swaps += 1
        if alt is None or swaps > MAX_SUBSTITUTIONS:
            return
        options.append(alt)
    for chars in product(*options):
        yield "".join(chars), swaps


def _bits(pattern: str) -> int:
    """A letter/digit pattern as bits, 1 per digit position."""
    return sum(1 << i for i, c in enumerate(pattern) if c == "N")


# Each shape with its bits: a text's digit positions XOR a shape's gives the positions to swap, so
# the shapes needing more than MAX_SUBSTITUTIONS swaps are passed over without a character loop.
_SHAPE_BITS = {n: tuple((shape, _bits(shape)) for shape in shapes) for n, shapes in _SHAPES.items()}


@lru_cache(maxsize=65_536)
def _marks_of(text: str) -> tuple[tuple[str, int], ...]:
    """Every (mark, swaps) ``text`` becomes under some shape (``_fits`` over its length's shapes), in
    the order ``_fits`` gives them. Pure in ``text``, hence cached: a batch asks for each read's texts
    twice (its lookups, then its match), and vans read the same plates again."""
    digits = _bits("".join("N" if c.isdigit() else "L" for c in text))
    out: list[tuple[str, int]] = []
    for shape, bits in _SHAPE_BITS.get(len(text), ()):
        if (digits ^ bits).bit_count() <= MAX_SUBSTITUTIONS:
            out += _fits(text, shape)
    return tuple(out)


def _texts(read: PlateRead) -> list[tuple[str, float, bool]]:
    """(compact text, confidence, is a candidate) for the read and its best candidates."""
    out = []
    t = _compact(read.plate)
    if t is not None:
        out.append((t, read.confidence, False))
    for c in sorted(read.candidates, key=lambda c: -c.confidence)[:MAX_CANDIDATES]:
        t = _compact(c.plate)
        if t is not None:
            out.append((t, c.confidence, True))
    return out


def _readings(texts: list[tuple[str, float, bool]]) -> dict[str, tuple[float, str]]:
    found: dict[str, tuple[float, str]] = {}
    for text, confidence, is_candidate in texts:
        for mark, swaps in _marks_of(text):
            score = confidence * SUBSTITUTION ** swaps
            how = "candidate" if is_candidate else "corrected" if swaps else "exact"
            # Strictly greater: the read itself wins a tie with a candidate repeating it.
            if mark not in found or score > found[mark][0]:
                found[mark] = (score, how)
    return found


def readings(read: PlateRead) -> list[tuple[str, float]]:
    """Every normalised mark this read may be, with its score, best first."""
    found = _readings(_texts(read))
    return sorted(((m, s) for m, (s, _) in found.items()), key=lambda ms: -ms[1])


def deletion_keys(vrm: str) -> set[str]:
    """The store's keys for ``vrm`` in the dropped-character hash: the mark with each single character
    removed, folded. None for a mark too short to be matched that way (see ``DROPPED_LENGTHS``)."""
    mark = normalise_vrm(vrm)
    if len(mark) - 1 not in DROPPED_LENGTHS:
        return set()
    return {(mark[:i] + mark[i + 1:]).translate(_FOLD) for i in range(len(mark))}


def _dropped_texts(texts: list[tuple[str, float, bool]], floor: float) -> dict[str, tuple[float, bool]]:
    """Deletion key → (best confidence, whether that text is itself a valid mark) of the texts short
    enough to be a mark missing a character that could still score ``floor``."""
    keys: dict[str, tuple[float, bool]] = {}
    for text, confidence, _ in texts:
        if len(text) in DROPPED_LENGTHS and confidence * DROPPED_SUPPORTED >= floor:
            key = text.translate(_FOLD)
            if key not in keys or confidence > keys[key][0]:
                keys[key] = (confidence, _is_mark(text))
    return keys


def dropped_keys_of(read: PlateRead, threshold: float) -> list[str]:
    """Every deletion key ``match(read, ..., threshold)`` may ask ``lookup_dropped`` for (it asks for
    fewer when another match already scores higher), so a batch can fetch them all in one go."""
    return list(_dropped_texts(_texts(read), threshold))


def match(read: PlateRead, lookup: Lookup, lookup_dropped: LookupDropped | None,
          threshold: float) -> Match | None:
    """The best hotlist match of ``read`` scoring at least ``threshold``, or None. One batched
    ``lookup`` of the readings that could reach the threshold; ``lookup_dropped`` (None to skip
    dropped-character matching) only for short reads that could still beat what was found."""
    texts = _texts(read)
    found = _readings(texts)
    best: Match | None = None
    marks = [m for m, (s, _) in found.items() if s >= threshold]
    if marks:
        for mark, entry in zip(marks, lookup(marks)):
            if entry is not None and (best is None or found[mark][0] > best.score):
                best = Match(mark, entry, found[mark][0], found[mark][1])
    if lookup_dropped is None:
        return best
    floor = threshold if best is None else max(threshold, best.score)
    keys = _dropped_texts(texts, floor)
    if not keys:
        return best
    hits = list(zip(keys.items(), lookup_dropped(list(keys))))
    # A mark reached by two readings of this read (two keys, or a key and a correction) is supported.
    keys_per_vrm: dict[str, int] = {}
    for _, pairs in hits:
        for vrm in {vrm for vrm, _ in pairs}:
            keys_per_vrm[vrm] = keys_per_vrm.get(vrm, 0) + 1
    for (_, (confidence, is_mark)), pairs in hits:
        for vrm, entry in pairs:
            supported = keys_per_vrm[vrm] > 1 or vrm in found
            score = confidence * (DROPPED_SUPPORTED if supported else DROPPED_VALID_ALONE if is_mark
                                  else DROPPED_ALONE)
            if score >= floor and (best is None or score > best.score):
                best = Match(vrm, entry, score, "dropped")
    return best

"""What an ANPR camera reports of a passing vehicle (pure): marks of every DVLA shape in rough
proportion to the vehicles on the road, and OCR's misreadings of them, look-alike characters
(0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G) and a lost character, with a confidence that falls with the
errors and, for half the reads, vendor candidates that are further misreadings.

One model for the van simulator (``sim.vans``), the ANPR bench and the matching test, so the noise
that the matcher is measured against is the noise the simulated vans send. ``random.Random`` rather
than numpy: these are drawn one read at a time, where numpy's per-call cost dominates."""
from __future__ import annotations

import random

LETTERS = "ABCDEFGHJKLMNOPRSTUVWXYZ"   # DVLA issues no I or Q
LOOK_ALIKES = {"O": "0", "D": "0", "Q": "0", "I": "1", "Z": "2", "S": "5", "B": "8", "G": "6",
               "0": "ODQ", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G"}
P_SWAP = 0.1    # each character with a look-alike of the other kind is misread as it
P_DROP = 0.04   # one character of the plate is lost
P_CANDIDATES = 0.5
CANDIDATES = 2
CANDIDATE_DISCOUNT = 0.95  # a vendor ranks its alternatives below its best reading


def random_mark(rng: random.Random) -> str:
    """A valid mark, the shapes in rough proportion to the vehicles on the road: current (``AB12CDE``),
    prefix (``A123BCD``), suffix (``ABC123D``) and dateless (``1234AB``, ``AB1234``)."""
    def letters(n: int) -> str:
        return "".join(rng.choice(LETTERS) for _ in range(n))
    x = rng.random()
    if x < 0.8:
        return f"{letters(2)}{rng.randrange(100):02d}{letters(3)}"
    if x < 0.92:
        return f"{letters(1)}{rng.randrange(1, 1000)}{letters(3)}"
    if x < 0.96:
        return f"{letters(3)}{rng.randrange(1, 1000)}{letters(1)}"
    tail = letters(rng.choices([1, 2, 3], [1, 24, 576])[0])
    number = str(rng.randrange(1, 10_000))
    return number + tail if rng.random() < 0.5 else tail + number


def misread(rng: random.Random, mark: str) -> tuple[str, float]:
    """What a camera reports: look-alikes and perhaps a lost character, its confidence lower the more
    it got wrong."""
    chars, errors = [], 0
    for c in mark:
        if c in LOOK_ALIKES and rng.random() < P_SWAP:
            chars.append(rng.choice(LOOK_ALIKES[c]))
            errors += 1
        else:
            chars.append(c)
    if rng.random() < P_DROP:
        del chars[rng.randrange(len(chars))]
        errors += 1
    return "".join(chars), rng.uniform(0.75, 0.99) - 0.05 * errors


def noisy_read(rng: random.Random, mark: str) -> tuple[str, float, list[tuple[str, float]]]:
    """(plate as read, confidence, vendor candidates as (plate, confidence)) of one read of ``mark``."""
    plate, confidence = misread(rng, mark)
    candidates = [misread(rng, mark) for _ in range(CANDIDATES)] if rng.random() < P_CANDIDATES else []
    return plate, confidence, [(p, c * CANDIDATE_DISCOUNT) for p, c in candidates]

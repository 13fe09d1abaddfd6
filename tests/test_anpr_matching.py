"""Matching plate reads against the hotlist (anpr_ingest.matching): exact, look-alike characters
corrected by position, vendor candidates, dropped characters, the threshold, and the two targets under
simulated OCR noise: recall of listed vehicles at least 0.98, at most one false alert per 10,000 reads
of unlisted ones."""
from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from anpr_ingest import (
    Candidate,
    HotlistEntry,
    Match,
    PlateRead,
    deletion_keys,
    match,
    readings,
)
from core import Settings
from sim.plate_noise import noisy_read, random_mark

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
THRESHOLD = Settings().anpr_match_threshold


def read(plate: str, confidence: float = 0.9, *candidates: tuple[str, float]) -> PlateRead:
    return PlateRead(NOW, plate, confidence, None, None, candidates=tuple(Candidate(*c) for c in candidates))


class Hotlist:
    """The store's two hashes in memory, counting the batched lookups."""

    def __init__(self, *vrms: str) -> None:
        self.entries = {v: HotlistEntry(i, (100 + i,)) for i, v in enumerate(vrms)}
        self.dropped: dict[str, list[tuple[str, HotlistEntry]]] = {}
        for vrm, entry in self.entries.items():
            for key in deletion_keys(vrm):
                self.dropped.setdefault(key, []).append((vrm, entry))
        self.calls: list[list[str]] = []

    def lookup(self, marks: list[str]) -> list[HotlistEntry | None]:
        self.calls.append(marks)
        return [self.entries.get(m) for m in marks]

    def lookup_dropped(self, keys: list[str]) -> list[list[tuple[str, HotlistEntry]]]:
        self.calls.append(keys)
        return [self.dropped.get(k, []) for k in keys]

    def match(self, r: PlateRead, threshold: float = THRESHOLD) -> Match | None:
        return match(r, self.lookup, self.lookup_dropped, threshold)


def test_default_threshold_and_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert THRESHOLD == 0.55
    monkeypatch.setenv("BAILIWICK_ANPR_MATCH_THRESHOLD", "0.7")
    assert Settings().anpr_match_threshold == 0.7


def test_exact_read_in_one_batched_lookup() -> None:
    h = Hotlist("AB12CDE")
    m = h.match(read("ab12 cde", 0.9))
    assert m == Match("AB12CDE", h.entries["AB12CDE"], 0.9, "exact")
    assert len(h.calls) == 1   # a 7-character read is never looked up as a dropped one


def test_readings_of_a_clean_current_mark() -> None:
    """The only other shape AB12CDE takes is the prefix one, B read as 8, at the cost of one swap."""
    assert readings(read("AB12CDE", 0.9)) == [("AB12CDE", 0.9), ("A812CDE", pytest.approx(0.81))]


@pytest.mark.parametrize(("listed", "plate"), [
    ("AB10CDE", "AB1OCDE"), ("AB10CDE", "AB1DCDE"), ("AB10CDE", "AB1QCDE"), ("AB12ODE", "AB120DE"),
("AB11CDE", "AB1ICDE"), ("AB12CIE", "AB12C1E"),
    ("AB12CDE", "AB1ZCDE"), ("AZ12CDE", "AZ1ZCDE"), ("AB15CDE", "AB1SCDE"), ("AB12SDE", "AB125DE"),
    ("AB18CDE", "AB1BCDE"), ("AB12BDE", "AB128DE"), ("AB16CDE", "AB1GCDE"), ("AB12GDE", "AB126DE"),
])
def test_each_look_alike_is_corrected_where_the_shape_fixes_the_position(listed: str, plate: str) -> None:
    h = Hotlist(listed)
    m = h.match(read(plate, 0.9))
    assert m is not None and (m.vrm, m.how, m.score) == (listed, "corrected", pytest.approx(0.81))


@pytest.mark.parametrize(("listed", "plate"), [
    ("AO12CDE", "A012CDE"), ("AD12CDE", "A012CDE"), ("AZ12CDE", "A212CDE"), ("AS12CDE", "A512CDE"),
    ("AB12CDE", "A812CDE"), ("AG12CDE", "A612CDE"),
])
def test_a_digit_in_a_letter_position_is_corrected_when_the_read_is_also_a_valid_mark(
        listed: str, plate: str) -> None:
    """A012CDE is a valid prefix mark as read; read as the current shape, its 0 is a letter."""
    m = Hotlist(listed).match(read(plate, 0.9))
    assert m is not None and (m.vrm, m.how) == (listed, "corrected")


def test_a_correct_read_is_not_corrected_into_another_listed_mark() -> None:
    h = Hotlist("AB12CDE", "A812CDE")
    assert h.match(read("AB12CDE")).vrm == "AB12CDE"
    assert h.match(read("A812CDE")).vrm == "A812CDE"
    # A letter where the shape takes a letter is never swapped for another letter (O is not D).
    assert Hotlist("AB12ODE").match(read("AB12DDE", 0.99)) is None


def test_more_than_two_swaps_is_no_reading() -> None:
    assert Hotlist("AB10SSE").match(read("AB1O55E", 0.99)) is None
    assert Hotlist("AB10SDE").match(read("AB1O5DE", 0.99)).score == pytest.approx(0.99 * 0.81)


def test_candidate() -> None:
    h = Hotlist("AB12CDE")
    m = h.match(read("XY99ZZZ", 0.9, ("XY99ZZZ", 0.9), ("AB12CDE", 0.7)))
    assert m is not None and (m.vrm, m.how, m.score) == ("AB12CDE", "candidate", 0.7)
    # The plate itself wins a tie with a candidate repeating it.
    assert h.match(read("AB12CDE", 0.9, ("AB12CDE", 0.9))).how == "exact"


def test_dropped_character_needs_a_confident_read_or_support() -> None:
    h = Hotlist("AB12CDE")
    m = h.match(read("AB2CDE", 0.95))
    assert m is not None and (m.vrm, m.how, m.score) == ("AB12CDE", "dropped", pytest.approx(0.95 * 0.65))
    assert h.match(read("AB2CDE", 0.75)) is None
    # Two readings missing different characters agree on the mark.
    m = h.match(read("AB2CDE", 0.75, ("AB1CDE", 0.7)))
    assert m is not None and (m.how, m.score) == ("dropped", pytest.approx(0.75 * 0.9))


def test_dropped_character_with_a_look_alike() -> None:
    """Deletion keys are folded, so AB12CDE missing its C and with its 2 read as Z still meets it."""
    m = Hotlist("AB12CDE").match(read("AB1ZDE", 0.95))
    assert m is not None and (m.vrm, m.how) == ("AB12CDE", "dropped")


def test_a_short_read_that_is_itself_a_valid_mark_needs_support() -> None:
    """A12CDE is a prefix mark as read, quite possibly the car's own: alone it does not reach AB12CDE."""
    h = Hotlist("AB12CDE")
    assert h.match(read("A12CDE", 0.99)) is None
    assert h.match(read("A12CDE", 0.99, ("AB12CDE", 0.5))).vrm == "AB12CDE"


def test_deletion_keys() -> None:
    assert deletion_keys("ab12 cde") == {"812C0E", "A12C0E", "A82C0E", "A81C0E", "A8120E", "A812CE", "A812C0"}
    assert deletion_keys("1AB") == set()   # a 2-character fragment is no evidence


def test_a_threshold_above_the_score_refuses_without_looking_up() -> None:
    h = Hotlist("AB12CDE")
    assert h.match(read("AB12CDE", 0.9), threshold=0.95) is None
    assert h.calls == []
    assert h.match(read("AB1ZCDE", 0.9), threshold=0.85) is None   # corrected: 0.81


# --- simulated OCR noise -----------------------------------------------------------------------

def noisy(rng: random.Random, mark: str) -> PlateRead:
    """A read of ``mark`` under the simulator's OCR noise (``sim.plate_noise``)."""
    plate, confidence, candidates = noisy_read(rng, mark)
    return read(plate, confidence, *candidates)


def test_recall_and_false_alerts_under_ocr_noise(capsys: pytest.CaptureFixture[str]) -> None:
    """20,000 reads of listed vehicles and 20,000 of unlisted ones, against 18,000 listed marks."""
    rng = random.Random(20261207)
    listed: set[str] = set()
    while len(listed) < 18_000:
        listed.add(random_mark(rng))
    h = Hotlist(*listed)
    marks = sorted(listed)
    n = 20_000
    found = 0
    for _ in range(n):
        mark = rng.choice(marks)
        m = h.match(noisy(rng, mark))
        found += m is not None and m.vrm == mark
    false = 0
    for _ in range(n):
        mark = random_mark(rng)
        while mark in listed:
            mark = random_mark(rng)
        false += h.match(noisy(rng, mark)) is not None
    with capsys.disabled():
        print(f"\nANPR matching under OCR noise: recall {found / n:.4f}, "
              f"false alerts {false} in {n} reads of unlisted vehicles ({false / n * 10_000:.2f} per 10,000)")
    assert found / n >= 0.98
    assert false / n <= 1 / 10_000

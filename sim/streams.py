"""Seeded randomness for the generator: independent numpy streams by name, and weighted choice."""
from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Independent random streams by name. Each is a ``SeedSequence`` child keyed by the name's CRC
    (what ``SeedSequence.spawn`` does with a counter), so adding a stream or a column drawn from a new
    stream never shifts the draws of the others."""

    def __init__(self, seed: int, scenario: str) -> None:
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        self._entropy = (seed, zlib.crc32(scenario.encode()))

    def __call__(self, name: str) -> np.random.Generator:
        seq = np.random.SeedSequence(self._entropy, spawn_key=(zlib.crc32(name.encode()),))
        return np.random.Generator(np.random.PCG64(seq))


def choice_by_weight(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())

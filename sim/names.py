"""Synthetic people, firms, streets and vehicles, drawn vectorised from a numpy ``Generator``. Every
name is invented from short word lists; no real register was used."""
from __future__ import annotations

import numpy as np

FIRST_NAMES = np.array("""
Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Henry Leo Alfie
Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur Lucas Mohammed
Logan Theo Harrison Benjamin Mason Sebastian Finley Adam Dylan Zachary Riley Teddy Theodore David
Elijah Jake Toby Louie Reuben Arlo Hugo Olivia Amelia Isla Ava Emily Isabella Mia Poppy Ella Lily
Evie Sophia Grace Sophie Chloe Freya Ruby Charlotte Daisy Alice Jessica Florence Scarlett Ivy Phoebe
Sienna Rosie Matilda Evelyn Willow Elsie Harper Layla Eva Emilia Zara Aisha Priya Megan Bethan Rhian
Siobhan Niamh Eilidh Morag Fiona Catriona Gareth Rhys Dafydd Callum Euan Hamish Ciaran Declan Kwame
Ayodele Chidi Amara Tomasz Katarzyna Piotr Agnieszka Andrei Ioana Raj Sunita Arjun Deepa Wei Mei
""".split())

SURNAMES = np.array("""
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright
Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper
Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis
Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw
Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster
Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills
Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson
Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford
Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton Watts
O'Brien Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster
Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins
Nowak Kowalski Popescu Okafor Mensah Chen Wong Nguyen Kumar Sharma Rahman Chowdhury Mahmood Iqbal
""".split())

STREET_WORDS = np.array("""
Acacia Albert Alexandra Alma Ash Beech Birch Blenheim Brook Cedar Chapel Cherry Chestnut Church
Clarence Coronation Cromwell Crown Dale Devonshire Elm Fern Forest Garden Gladstone Glebe Grange
Grosvenor Hawthorn Hazel Heath High Hill Holly Ivy Jubilee Kingsway Laburnum Lime Linden Manor
Maple Marlborough Meadow Mill Nelson Newport Oak Orchard Park Poplar Primrose Princes Queens
Railway Rectory Regent Rowan Russell School Spring Stanley Station Sycamore Tennyson Trafalgar
Victoria Vicarage Waterloo Wellington Westfield Willow Windsor Woodland York Abbey Bramble Clover
Drake Falcon Foxglove Heron Kestrel Lark Lavender Magnolia Mulberry Osprey Rosemary Sorrel Thistle
""".split())

STREET_KINDS = np.array("Road Street Avenue Close Lane Drive Way Gardens Crescent Terrace Grove Place Court".split())
STREET_KIND_WEIGHTS = np.array([24, 20, 10, 10, 9, 7, 5, 4, 4, 3, 2, 1, 1], dtype=float)

TRADES = np.array("""
Trading Motors Builders Catering Cafe Construction Logistics Fashions Lettings Cleaning Plumbing
Electrical Joinery Salon Stores Takeaway Garage Print Media Design
""".split())

MAKES = np.array(["Ford", "Vauxhall", "Volkswagen", "BMW", "Audi", "Toyota", "Mercedes-Benz", "Nissan", "Kia",
                  "Hyundai", "Peugeot", "Renault", "Skoda", "Honda", "Citroen", "Fiat", "Mini", "Land Rover",
                  "Tesla", "Volvo"])
MAKE_WEIGHTS = np.array([12, 10, 10, 7, 7, 7, 6, 6, 5, 5, 4, 4, 4, 3, 3, 2, 2, 2, 1, 1], dtype=float)
COLOURS = np.array("Black Grey White Silver Blue Red Green Orange Brown Yellow".split())
COLOUR_WEIGHTS = np.array([20, 20, 18, 14, 12, 9, 3, 2, 1, 1], dtype=float)

# Current (2001-) number plate format "AB12 CDE": area letter + memory tag letter (no I, Q, Z), age
# identifier (March: YY, September: YY + 50), three random letters (no I, Q). Stored without space.
_TAG_AREA = np.array(list("ABCDEFGHKLMNOPRSVWY"))
_TAG_SECOND = np.array([c for c in "ABCDEFGHJKLMNOPRSTUVWXY"])
_RANDOM_LETTERS = np.array([c for c in "ABCDEFGHJKLMNOPRSTUVWXYZ"])
# Age identifiers issued up to the scenarios' reference date (September 2026 = "76").
AGE_IDENTIFIERS = np.array(["51"] + [f"{y:02d}" for y in range(2, 27)] + [f"{y:02d}" for y in range(52, 77)])


def _pick(rng: np.random.Generator, words: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    p = None if weights is None else weights / weights.sum()
    return words[rng.choice(len(words), size=n, p=p)]


def concat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise string concatenation of arrays (and constant strings) as an object array, with
    numpy's string ufuncs (about twice as fast as pandas string arithmetic at national size)."""
    n = next(len(p) for p in parts if not isinstance(p, str))
    text = np.dtypes.StringDType()
    out = np.full(n, "", dtype=text)
    for part in parts:
        out = np.strings.add(out, part if isinstance(part, str) else np.asarray(part).astype(text))
    return out.astype(object)


def slug(words: np.ndarray) -> np.ndarray:
    """Lower-case letters only, e.g. "O'Brien Trading Ltd" → "obrientradingltd"."""
    out = np.strings.lower(np.asarray(words).astype(np.dtypes.StringDType()))
    for mark in (" ", "'", "-"):
        out = np.strings.replace(out, mark, "")
    return out.astype(object)


def person_names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(first names, surnames)."""
    return _pick(rng, FIRST_NAMES, n), _pick(rng, SURNAMES, n)


def business_names(rng: np.random.Generator, n: int) -> np.ndarray:
    return concat(_pick(rng, SURNAMES, n), " ", _pick(rng, TRADES, n), " Ltd")


def street_lines(rng: np.random.Generator, n: int) -> np.ndarray:
    """First address lines such as "14 Acacia Road" (house numbers skewed low, as on real streets)."""
    numbers = np.minimum(rng.geometric(1 / 40, size=n), 250)
    return concat(numbers, " ", _pick(rng, STREET_WORDS, n), " ",
                _pick(rng, STREET_KINDS, n, STREET_KIND_WEIGHTS))


def makes(rng: np.random.Generator, n: int) -> np.ndarray:
    return _pick(rng, MAKES, n, MAKE_WEIGHTS)


def colours(rng: np.random.Generator, n: int) -> np.ndarray:
    return _pick(rng, COLOURS, n, COLOUR_WEIGHTS)


def vrms(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct current-format VRMs, e.g. "AB12CDE" (no space). Drawn in one batch with a
    margin and de-duplicated keeping the first occurrence, so the result depends only on the stream."""
    batch = n + n // 10 + 16
    while True:
        plates = concat(_pick(rng, _TAG_AREA, batch), _pick(rng, _TAG_SECOND, batch),
                      _pick(rng, AGE_IDENTIFIERS, batch), _pick(rng, _RANDOM_LETTERS, batch),
                      _pick(rng, _RANDOM_LETTERS, batch), _pick(rng, _RANDOM_LETTERS, batch))
        _, first = np.unique(plates, return_index=True)
        if len(first) >= n:
            return plates[np.sort(first)[:n]]
        batch *= 2

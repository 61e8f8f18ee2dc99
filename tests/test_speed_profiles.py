"""The clusterer's profiles read each line's figures once: the same figures as reading the
whole text and its opening (the headline and first words) apart."""

from __future__ import annotations

import math
import random

from digest import cluster
from digest.text import figures

PARTS = [
    "3", ".", "8", "1,200", "12", "2024", "$", "US$", "€", "¥", " ", " ", "\n", "\n", "-", "\t",
    "billion", "bn", "m", "k", "%", "per cent", "kWh", "won", "1.5", "mph", "s", "1990s",
    "F-150", "ID.4", "Ford", "sales", ",", "\u00a0", "\u2019", "miles",
]  # fmt: skip


def whole(text: str) -> frozenset[str]:
    """The figures of `text` read in one piece (what the profile read before)."""
    found = set()
    for quantity in figures.quantities(text):
        value, unit = quantity.value, quantity.unit if quantity.unit in ("%", "pp") else ""
        plain = not unit and quantity.scale is None and "." not in quantity.digits
        if math.isfinite(value) and not (plain and (value < 10 or 1900 <= value <= 2099)):
            found.add(f"{value:.6g}{unit}")
    return frozenset(found)


def test_figures_read_line_by_line_are_those_of_the_whole_text_and_its_opening() -> None:
    pick = random.Random(17)
    kept = 0
    for _ in range(4000):
        text = "".join(pick.choice(PARTS) for _ in range(pick.randint(1, 30)))
        cut = pick.randint(0, len(text))
        assert cluster._figure_sets(text, cut) == (whole(text), whole(text[:cut])), (text, cut)
        kept += bool(whole(text))
    assert kept > 1000  # most texts had figures to find


def test_a_profile_keeps_the_headline_figures_apart_from_the_body() -> None:
    item = cluster.Item(
        "u",
        "Vance recalls 3,000 vans",
        "Vance Motors said on Monday it would recall 3,000 vans.\n"
        + "word " * 40
        + "\nThe fix costs $3.8bn, 51 per cent more than the 2023 recall of 7,000 cars.",
    )
    profile = cluster._profile(item)
    assert profile.head_numbers == {"3000"}
    assert profile.numbers == {"3000", "3.8e+09", "51%", "7000"}

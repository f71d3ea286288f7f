"""Generated container names in Docker's `adjective_surname` form."""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "agile", "amazing", "bold", "brave", "bright", "busy", "calm", "clever", "cool", "crisp", "curious",
    "daring", "eager", "elegant", "epic", "fervent", "festive", "fond", "gentle", "glad", "happy", "hardy",
    "humble", "jolly", "keen", "kind", "lucid", "lucky", "merry", "modest", "nifty", "noble", "patient",
    "placid", "proud", "quick", "quiet", "rapid", "serene", "sharp", "sleepy", "steady", "sunny", "swift",
    "tender", "tidy", "upbeat", "vibrant", "vivid", "warm", "wise", "witty", "zealous", "zen",
)  # fmt: skip

SURNAMES = (
    "agnesi", "babbage", "bardeen", "bohr", "boole", "cannon", "curie", "darwin", "dijkstra", "einstein",
    "euler", "faraday", "fermat", "fermi", "feynman", "franklin", "galileo", "gauss", "goodall", "hamilton",
    "hawking", "hertz", "hopper", "hypatia", "joule", "kepler", "knuth", "lamarr", "leavitt", "lovelace",
    "maxwell", "meitner", "mendel", "newton", "noether", "pascal", "pasteur", "planck", "ramanujan",
    "ritchie", "shannon", "somerville", "tesla", "thompson", "torvalds", "turing", "volta", "wiles", "wright",
)  # fmt: skip


def random_name(attempt: int = 0) -> str:
    """`adjective_surname`; from the second attempt on, with a digit appended, as Docker does."""
    name = f"{secrets.choice(ADJECTIVES)}_{secrets.choice(SURNAMES)}"
    return f"{name}{secrets.randbelow(10)}" if attempt > 0 else name

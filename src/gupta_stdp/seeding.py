"""Sub-seeds: one run seed gives independent, named streams (batch order, associativity,
feedback matrices, ...), so adding a stream never shifts another. No torch."""

import hashlib


def subseed(seed: int, tag: str) -> int:
    digest = hashlib.sha256(f"{seed}:{tag}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF

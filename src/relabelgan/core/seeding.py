"""How the run's seed reaches every random choice: one stable derived seed per purpose.

Kept apart from device.py (which needs torch) so torch-free steps (relabel, audit) seed the same way.
"""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 63-bit seed for one purpose (e.g. ``derive_seed(seed, 'train', 3)``)."""
    text = ":".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1

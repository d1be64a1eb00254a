"""One seed per run; one NumPy generator per purpose (DESIGN.md section 7).

Each purpose draws from its own stream spawned from the run's seed, so that a
policy changes only the draws it touches: before the policy starts, the CDA
stream is never used, and every other stream sees exactly the baseline's
state. New purposes are appended at the end so that existing streams keep
their spawn keys.
"""

from __future__ import annotations

import numpy as np

STREAMS = ("population", "market", "search", "choice", "services", "learning", "entry", "exit",
           "cda", "growth", "programme")


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """A generator per purpose, each from ``SeedSequence(seed).spawn``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


def seed_from(rng) -> int:
    """The run's integer seed from what Mesa accepts as ``rng``.

    An int is used as is; anything else (None, a SeedSequence, a Generator)
    yields an int drawn from ``numpy.random.default_rng(rng)``.
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return int(gen.integers(0, 2**63 - 1))

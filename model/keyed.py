"""Keyed random numbers: every draw a function of (seed, purpose, identities, month, index).

DESIGN.md section 7. A counter-based generator, not a sequential stream: the
uniform a firm draws for a purpose in a month is a hash of the run's seed, the
purpose, the firm's identity (``uid``, stable for the firm's life and the same
in every run of the seed: see :func:`initial_uids` and :func:`spinoff_uids`),
the month and a draw index. So a firm's luck does not change when other firms'
states change, when a policy adds a game elsewhere, or when firms enter or
exit. A draw about a pair (a game, a partner candidate) keys on both
identities, in order; the index counts draws within a purpose and an identity
(or pair), never across firms.

The hash is splitmix64's finaliser (Steele, Lea and Flood 2014; the mixing of
``java.util.SplittableRandom``), applied to one component at a time:
``absorb(h, x) = mix((h ^ x) + GOLDEN)``, and a uniform is
``((mix(h + (index + 1) * GOLDEN) >> 11) + 0.5) / 2**53``, strictly inside
(0, 1). All arithmetic is on uint64 and wraps; integers of any sign enter as
their two's-complement bits. ``tests/test_keyed.py`` checks these functions
against a pure-Python reference (Python integers, masked to 64 bits), and
checks uniformity and independence across purposes and identities.

Distributions are made from the uniforms here, inside compiled code: the
normal by Box-Muller (two uniforms, indices ``2k`` and ``2k + 1``), Laplace,
Poisson and binomial by inverting their distribution functions (the discrete
ones searching from the mode, in logs: any mean), Beta as a ratio of Gamma draws
(Marsaglia and Tsang 2000, its rejection loop using a block of 1,000 indices
of its own, so a firm's rejections use its own keys and shift no one's).
"""

from __future__ import annotations

import math

import numpy as np

from . import kernel_cache

_jit = kernel_cache.jit(__file__, __package__, announce=False)

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_ONE = np.uint64(1)
_TOP = np.uint64(0x7FFFFFFFFFFFFFFF)
_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_TWO_PI = 2.0 * math.pi

# purposes: each a fixed code (new purposes take new codes; a code is never reused; 1 was "identity",
# whose hashes are made apart from the purposes: initial_uids, spinoff_uids, outsider_uids)
PURPOSES = {
    "population": 2,     # the initial firms' attributes
    "initial_ties": 3,   # the initial network
    "market": 4,         # demand noise, per cluster
    "seek": 5,           # whether a firm seeks a joint action this month
    "pick": 6,           # which known partner it asks, and whether it asks it
    "search": 7,         # a new partner: pool, failure, the race over cells and firms
    "kind": 8,           # the type of a joint action, per pair
    "choice": 9,         # contribute or withhold, per firm and partner
    "supply": 10,        # supplier priority and delivery
    "services": 11,      # tie-break among equal needs, export promotion
    "awareness": 12,     # awareness passed along a tie, per pair
    "learning": 13,      # productivity walk
    "growth": 14,        # hiring and shedding
    "exit": 15,          # exit hazard
    "spinoff": 16,       # whether a firm spawns a spin-off this month
    "entrant": 17,       # an entrant's attributes (keyed on the entrant's own identity)
    "outsiders": 18,     # how many outsiders enter a cluster this month
    "programme": 19,     # which clusters a programme funds (random selection)
    "target": 20,        # the CDA's targeting noise
    "attend": 21,        # who attends an event
    "meet": 22,          # whom an attendee meets
    "association": 23,   # joining, leaving, attending the association
    "event_kind": 24,    # the type of a facilitated first joint action, per pair
    "event_game": 25,    # contribute or withhold in a facilitated first joint action
    "collective": 26,    # contribute or withhold in a group's or the consortium's monthly collective game
    "growth_target": 27,  # the granular shock to a firm's target size (economy.grow, partial adjustment)
}


def code(purpose: str) -> int:
    """The code of a purpose named in :data:`PURPOSES` (a ``KeyError`` names an unknown one)."""
    return PURPOSES[purpose]


# ---------------------------------------------------------------- the hash
@_jit
def mix(z):
    """splitmix64's finaliser: a bijection of uint64 that spreads every input bit over the output."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@_jit
def absorb(h, x):
    """The key ``h`` extended by the integer ``x`` (its 64 bits, any sign)."""
    return mix((h ^ np.uint64(x)) + GOLDEN)


@_jit
def stream(seed, purpose, month):
    """The key of (seed, purpose, month), to which identities are absorbed."""
    return absorb(absorb(absorb(GOLDEN, seed), purpose), month)


@_jit
def draw(h, index):
    """Uniform number ``index`` (0, 1, ...) of key ``h``, strictly inside (0, 1)."""
    z = mix(h + (np.uint64(index) + _ONE) * GOLDEN)
    return (np.float64(z >> _S11) + 0.5) * _UNIT


@_jit
def entry(h, key):
    """The uniform of candidate ``key`` (an integer of any sign) in a race keyed by ``h``: one mix, for
    races over many candidates (``mix(h ^ key * GOLDEN)``, strictly inside (0, 1))."""
    z = mix(h ^ (np.uint64(key) * GOLDEN))
    return (np.float64(z >> _S11) + 0.5) * _UNIT


@_jit
def identity(h):
    """A key as an identity: its low 63 bits, a non-negative int64."""
    return np.int64(h & _TOP)


# ---------------------------------------------------------------- distributions from keys
@_jit
def normal_at(h, index):
    """A standard normal from draws ``2 * index`` and ``2 * index + 1`` of ``h`` (Box-Muller)."""
    u1 = draw(h, 2 * index)
    u2 = draw(h, 2 * index + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


@_jit
def laplace_from_uniform(u, scale):
    """Laplace(0, scale) by inverse CDF of a uniform ``u`` in [0, 1) (u = 0 gives -inf)."""
    d = u - 0.5
    tail = 1.0 - 2.0 * abs(d)
    if tail <= 0.0:
        return -math.inf
    x = -scale * math.log(tail)
    return x if d > 0 else -x


@_jit
def poisson_from_uniform(u, lam):
    """Poisson(lam) by inverse CDF: the least k with P(X <= k) >= u (one uniform, any lam >= 0).

    The search starts at the mode, whose probability is computed in logs (no underflow of
    exp(-lam) for a large mean), and walks down or up from there: O(sqrt(lam)) steps.
    """
    if not lam > 0.0 or u <= 0.0:
        return 0
    m = int(math.floor(lam))
    pm = math.exp(-lam + m * math.log(lam) - math.lgamma(m + 1.0)) if m > 0 else math.exp(-lam)
    below = pm  # P(X <= m), summed down to ``low``, where the terms fall below rounding
    p, k = pm, m
    while k > 0:
        p *= k / lam
        k -= 1
        below += p
        if p < 1e-17 * below:
            break
    low = k
    if u <= below:  # walk down to the least k with P(X <= k) >= u (``low`` for u below rounding)
        cum, p, k = below, pm, m
        while k > low and cum - p >= u:
            cum -= p
            p *= k / lam
            k -= 1
        return k
    cum, p, k = below, pm, m
    while cum < u:
        k += 1
        p *= lam / k
        cum += p
        if p < 1e-17 * cum:  # the tail is exhausted (u within rounding of 1)
            break
    return k


@_jit
def binomial_from_uniform(u, n, prob):
    """Binomial(n, prob) by inverse CDF: the least k with P(X <= k) >= u (one uniform), from the
    mode as :func:`poisson_from_uniform`."""
    if n <= 0 or not prob > 0.0 or u <= 0.0:
        return 0
    if prob >= 1.0:
        return n
    ratio = prob / (1.0 - prob)
    m = min(int(math.floor((n + 1) * prob)), n)
    pm = math.exp(math.lgamma(n + 1.0) - math.lgamma(m + 1.0) - math.lgamma(n - m + 1.0)
                  + m * math.log(prob) + (n - m) * math.log1p(-prob))
    below = pm
    p, k = pm, m
    while k > 0:
        p *= k / ((n - k + 1) * ratio)
        k -= 1
        below += p
        if p < 1e-17 * below:
            break
    low = k
    if u <= below:
        cum, p, k = below, pm, m
        while k > low and cum - p >= u:
            cum -= p
            p *= k / ((n - k + 1) * ratio)
            k -= 1
        return k
    cum, p, k = below, pm, m
    while cum < u and k < n:
        p *= (n - k) * ratio / (k + 1)
        k += 1
        cum += p
        if p < 1e-17 * cum:
            break
    return k


@_jit
def quantiles(u, kind, a, b):
    """Per k: the quantile of ``u[k]`` of a distribution ``kind`` (0 Laplace(0, a[k]); 1 Poisson(a[k]);
    2 Binomial(b[k], a[k]))."""
    out = np.empty(len(u))
    for k in range(len(u)):
        if kind == 0:
            out[k] = laplace_from_uniform(u[k], a[k])
        elif kind == 1:
            out[k] = poisson_from_uniform(u[k], a[k])
        else:
            out[k] = binomial_from_uniform(u[k], np.int64(b[k]), a[k])
    return out


@_jit
def gamma_at(h, index, shape):
    """A Gamma(shape, 1) draw from the draws of ``h`` numbered ``index * 1000`` to ``index * 1000 + 999``
    (Marsaglia and Tsang 2000; for shape < 1, Gamma(shape + 1) times U**(1 / shape)). Attempt k of the
    rejection loop uses draws ``base + 1 + 3k`` to ``base + 3 + 3k``; after 300 rejections (probability
    below 1e-300) the last candidate is taken."""
    base = index * 1000
    boost = 1.0
    a = shape
    if a < 1.0:
        boost = draw(h, base) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    v = 1.0
    for k in range(300):
        at = base + 1 + 3 * k
        x = math.sqrt(-2.0 * math.log(draw(h, at))) * math.cos(_TWO_PI * draw(h, at + 1))
        v = 1.0 + c * x
        if v <= 0.0:
            v = 1.0
            continue
        v = v * v * v
        if math.log(draw(h, at + 2)) < 0.5 * x * x + d - d * v + d * math.log(v):
            break
    return d * v * boost


@_jit
def beta_at(h, index, a, b):
    """A Beta(a, b) draw: X / (X + Y) with X ~ Gamma(a) from index ``2 * index``, Y ~ Gamma(b) from
    ``2 * index + 1``."""
    x = gamma_at(h, 2 * index, a)
    y = gamma_at(h, 2 * index + 1, b)
    return x / (x + y)


# ---------------------------------------------------------------- vectorised, for the model's Python code
@_jit
def uniforms(seed, purpose, month, ids, n):
    """``[n, len(ids)]``: draws 0..n-1 of each identity."""
    out = np.empty((n, len(ids)))
    base = stream(seed, purpose, month)
    for k in range(len(ids)):
        h = absorb(base, ids[k])
        for r in range(n):
            out[r, k] = draw(h, r)
    return out


@_jit
def block_uniforms(seed, purpose, month, ids, months):
    """One uniform per identity that stays the same for ``months`` months: identity ``ids[k]``'s draw is
    keyed on its block ``(month + ids[k] % months) // months`` (each identity's blocks start in its own
    month, so that not every draw changes in the same month)."""
    out = np.empty(len(ids))
    for k in range(len(ids)):
        block = (month + ids[k] % months) // months
        out[k] = draw(absorb(stream(seed, purpose, block), ids[k]), 0)
    return out


@_jit
def pair_uniforms(seed, purpose, month, a, b, index):
    """Draw ``index`` of each ordered pair (a[k], b[k])."""
    out = np.empty(len(a))
    base = stream(seed, purpose, month)
    for k in range(len(a)):
        out[k] = draw(absorb(absorb(base, a[k]), b[k]), index)
    return out


@_jit
def normals(seed, purpose, month, ids, index):
    """A standard normal per identity: normal number ``index`` of each."""
    out = np.empty(len(ids))
    base = stream(seed, purpose, month)
    for k in range(len(ids)):
        out[k] = normal_at(absorb(base, ids[k]), index)
    return out


@_jit
def laplaces(u, scale):
    """The Laplace(0, scale) quantiles of the uniforms ``u``."""
    out = np.empty(len(u))
    for k in range(len(u)):
        out[k] = laplace_from_uniform(u[k], scale)
    return out


@_jit
def betas(seed, purpose, month, ids, index, a, b):
    """A Beta(a[k], b[k]) draw per identity (``a``, ``b`` arrays of the ids' length)."""
    out = np.empty(len(ids))
    base = stream(seed, purpose, month)
    for k in range(len(ids)):
        out[k] = beta_at(absorb(base, ids[k]), index, a[k], b[k])
    return out


@_jit
def poissons(seed, purpose, month, ids, index, lam):
    """A Poisson(lam[k]) draw per identity, by inversion of draw ``index``."""
    out = np.empty(len(ids), dtype=np.int64)
    base = stream(seed, purpose, month)
    for k in range(len(ids)):
        out[k] = poisson_from_uniform(draw(absorb(base, ids[k]), index), lam[k])
    return out


@_jit
def smallest(seed, purpose, month, ids, k):
    """The positions of the ``k`` identities with the smallest draw 0: a keyed race among equals
    (a uniform choice of ``k`` without replacement that adding or removing another id leaves alone)."""
    u = np.empty(len(ids))
    base = stream(seed, purpose, month)
    for j in range(len(ids)):
        u[j] = draw(absorb(base, ids[j]), 0)
    return np.sort(np.argsort(u, kind="mergesort")[:k])


@_jit
def initial_uids(cluster, n):
    """Identities of a cluster's ``n`` initial firms (the k-th firm of cluster c: a hash of (c, k))."""
    out = np.empty(n, dtype=np.int64)
    base = absorb(absorb(GOLDEN, 1), cluster)
    for k in range(n):
        out[k] = identity(absorb(base, k))
    return out


@_jit
def spinoff_uids(parents, month):
    """Identities of spin-offs born in ``month`` of the parents (identities) ``parents``: one a month at most."""
    out = np.empty(len(parents), dtype=np.int64)
    base = absorb(absorb(GOLDEN, 2), month)
    for k in range(len(parents)):
        out[k] = identity(absorb(base, parents[k]))
    return out


@_jit
def outsider_uids(cluster, month, n):
    """Identities of the ``n`` outsiders entering ``cluster`` in ``month``."""
    out = np.empty(n, dtype=np.int64)
    base = absorb(absorb(absorb(GOLDEN, 3), cluster), month)
    for k in range(n):
        out[k] = identity(absorb(base, k))
    return out


# ---------------------------------------------------------------- the model's draws, at its month
def seed_from(rng) -> int:
    """The run's integer seed from what Mesa accepts as ``rng``.

    An int is used as is; anything else (None, a SeedSequence, a Generator)
    yields an int drawn from ``numpy.random.default_rng(rng)``.
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return int(gen.integers(0, 2**63 - 1))


def firm_uniforms(model, purpose: str, slots: np.ndarray, n: int = 1) -> np.ndarray:
    """``[n, len(slots)]``: draws 0..n-1 of ``purpose`` this month for the firms in ``slots`` (keyed on
    their identities)."""
    return uniforms(model.seed, PURPOSES[purpose], model.month, model.firms.uid[slots], n)


def firm_block_uniform(model, purpose: str, slots: np.ndarray, months: int) -> np.ndarray:
    """For each firm in ``slots``: a draw of ``purpose`` that lasts ``months`` months (block_uniforms)."""
    return block_uniforms(model.seed, PURPOSES[purpose], model.month, model.firms.uid[slots], months)


def firm_uniform(model, purpose: str, slots: np.ndarray, index: int = 0) -> np.ndarray:
    """Draw ``index`` of ``purpose`` this month for each firm in ``slots``."""
    return uniforms(model.seed, PURPOSES[purpose], model.month, model.firms.uid[slots], index + 1)[index]


def pair_uniform(model, purpose: str, a: np.ndarray, b: np.ndarray, index: int = 0) -> np.ndarray:
    """Draw ``index`` of ``purpose`` this month for each ordered pair of firms (a[k], b[k])."""
    uid = model.firms.uid
    return pair_uniforms(model.seed, PURPOSES[purpose], model.month, uid[a], uid[b], index)

"""The keyed generator (model/keyed.py) and what it buys: DESIGN.md section 7, test (e).

The generator is checked against a pure-Python reference (Python integers masked to 64 bits: no
NumPy integer rules, no numba typing), against pinned values (a change of the hash shows), for
uniformity and independence, and its distributions against scipy's. Then the model: a firm whose
partners and market are unchanged draws the same numbers and makes the same choices when another
firm's state is changed, as a policy changes it.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from scipy import stats

from model import ClusterModel, keyed

MASK = (1 << 64) - 1
G = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _absorb(h: int, x: int) -> int:
    return _mix(((h ^ (x & MASK)) + G) & MASK)


def _uniform(seed, purpose, month, ident, index) -> float:
    h = _absorb(_absorb(_absorb(_absorb(G, seed), purpose), month), ident)
    z = _mix((h + ((index + 1) * G)) & MASK)
    return ((z >> 11) + 0.5) / 2.0**53


CASES = [(0, 0, 0, 0, 0), (1, 2, 3, 4, 5), (2**63 - 1, 24, -7, -1, 3), (123456789, 9, 240, 2**62 + 17, 0),
         (5, 14, -36, 7, 999)]


@pytest.mark.parametrize("seed,purpose,month,ident,index", CASES)
def test_compiled_generator_equals_the_reference(seed, purpose, month, ident, index):
    got = keyed.uniforms(seed, purpose, month, np.array([ident], dtype=np.int64), index + 1)[index, 0]
    assert got == _uniform(seed, purpose, month, ident, index)
    assert 0.0 < got < 1.0


def test_race_entries_equal_the_reference():
    """keyed.entry, the one-mix uniform of a race's candidates (model.kernels' partner races)."""
    h = _absorb(_absorb(G, 5), 7)
    for key in (0, 1, -3, 2**62 + 5):
        z = _mix(h ^ ((key & MASK) * G & MASK))
        assert keyed.entry(np.uint64(h), np.int64(key)) == ((z >> 11) + 0.5) / 2.0**53


def test_pair_draws_equal_the_reference_and_depend_on_the_order():
    a, b = np.array([3, 10**12], dtype=np.int64), np.array([10**12, 3], dtype=np.int64)
    got = keyed.pair_uniforms(42, 9, 17, a, b, 1)
    for k in range(2):
        h = _absorb(_absorb(_absorb(_absorb(_absorb(G, 42), 9), 17), int(a[k])), int(b[k]))
        assert got[k] == ((_mix((h + 2 * G) & MASK) >> 11) + 0.5) / 2.0**53
    assert got[0] != got[1]


def test_pinned_values():
    """Fails if the hash, its order of components or the uniform's construction changes (then every
    result changes: update the regression baseline on purpose and these values)."""
    u = keyed.uniforms(1, 2, 3, np.array([1, 2, -5], dtype=np.int64), 2)
    assert u[0].tolist() == pytest.approx([0.28037756, 0.33450294, 0.73294249], abs=1e-8)
    assert u[1].tolist() == pytest.approx([0.35454619, 0.17447232, 0.45552723], abs=1e-8)


def test_uniform_over_many_identities_and_months():
    """Chi-square over 100 bins of 10^6 draws (identities 0..249,999, 4 months): deterministic; the
    bound is the 1e-6 upper quantile, so a biased or lumpy hash fails."""
    u = np.concatenate([keyed.uniforms(7, 5, m, np.arange(250_000, dtype=np.int64), 1)[0] for m in range(4)])
    counts = np.bincount((u * 100).astype(int), minlength=100)
    chi2 = ((counts - len(u) / 100) ** 2 / (len(u) / 100)).sum()
    assert chi2 < stats.chi2.ppf(1 - 1e-6, 99)
    assert stats.kstest(u, "uniform").statistic < 0.003


@pytest.mark.parametrize("other", ["purpose", "identity", "index", "month", "seed"])
def test_independent_across_purposes_identities_indices_months_and_seeds(other):
    """Draws that differ in one component only are uncorrelated (|r| < 0.012, 5.5 standard errors at
    n = 250,000), also in ranks and in neighbouring identities."""
    ids = np.arange(250_000, dtype=np.int64)
    first = keyed.uniforms(11, 5, 9, ids, 2)
    second = {"purpose": lambda: keyed.uniforms(11, 6, 9, ids, 1)[0],
              "identity": lambda: keyed.uniforms(11, 5, 9, ids + 1, 1)[0],
              "index": lambda: first[1],
              "month": lambda: keyed.uniforms(11, 5, 10, ids, 1)[0],
              "seed": lambda: keyed.uniforms(12, 5, 9, ids, 1)[0]}[other]()
    assert abs(np.corrcoef(first[0], second)[0, 1]) < 0.012
    assert abs(stats.spearmanr(first[0][:50_000], second[:50_000]).statistic) < 0.025
    # and pairs of the two lie uniformly in the unit square (4 x 4 cells)
    cells = np.bincount((first[0] * 4).astype(int) * 4 + (second * 4).astype(int), minlength=16)
    assert stats.chisquare(cells).pvalue > 1e-6


def test_quantile_functions_equal_scipys():
    u = np.linspace(0.001, 0.999, 999)
    for lam in (0.02, 0.8, 3.3, 40.0):
        got = keyed.quantiles(u, 1, np.full(len(u), lam), u)
        want = stats.poisson.ppf(u, lam)
        assert np.mean(got == want) > 0.995, lam  # (the cdf summed two ways can differ in its last bit)
        assert np.abs(got - want).max() <= 1
    for n, p in ((1, 0.3), (7, 0.05), (60, 0.2), (400, 0.5)):
        got = keyed.quantiles(u, 2, np.full(len(u), p), np.full(len(u), float(n)))
        want = stats.binom.ppf(u, n, p)
        assert np.mean(got == want) > 0.995, (n, p)
        assert np.abs(got - want).max() <= 1
    got = keyed.quantiles(u, 0, np.full(len(u), 0.3), u)
    np.testing.assert_allclose(got, stats.laplace.ppf(u, scale=0.3), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ inverse distribution functions (the growth step's draws)
@pytest.mark.parametrize("lam", [0.0, 1e-6, 0.03, 0.5, 1.0, 2.7, 9.99, 40.0, 700.0, 5000.0])
def test_poisson_from_uniform_is_the_poisson_quantile(lam):
    from scipy import stats
    u = np.concatenate([np.linspace(0.0, 1.0, 2001, endpoint=False)[1:], np.random.default_rng(1).random(2000)])
    got = np.array([keyed.poisson_from_uniform(x, lam) for x in u])
    want = stats.poisson.ppf(u, lam) if lam > 0 else np.zeros_like(u)
    assert (got == want).mean() > 0.999 and np.abs(got - want).max() <= 1  # equal, but within rounding of a step
    assert keyed.poisson_from_uniform(0.0, lam) == 0
    assert keyed.poisson_from_uniform(1e-300, lam) <= (stats.poisson.ppf(1e-15, lam) if lam > 0 else 0)
    # the largest uniform: a finite count in the far tail (the CDF is 1 within rounding there)
    top = keyed.poisson_from_uniform(1.0 - 2.0 ** -53, lam)
    assert (stats.poisson.ppf(1 - 1e-9, lam) if lam > 0 else 0) <= top <= lam + 40 * np.sqrt(lam) + 60


@pytest.mark.parametrize("n, prob", [(0, 0.3), (1, 0.1), (1, 0.9), (5, 0.0), (5, 1.0), (7, 0.3), (60, 0.02),
                                     (400, 0.5), (3000, 0.01), (100_000, 0.3)])
def test_binomial_from_uniform_is_the_binomial_quantile(n, prob):
    from scipy import stats
    u = np.concatenate([np.linspace(0.0, 1.0, 2001, endpoint=False)[1:], np.random.default_rng(2).random(2000)])
    got = np.array([keyed.binomial_from_uniform(x, n, prob) for x in u])
    want = stats.binom.ppf(u, n, prob) if n > 0 else np.zeros_like(u)
    assert (got == want).mean() > 0.999 and np.abs(got - want).max() <= 1
    top = keyed.binomial_from_uniform(1.0 - 2.0 ** -53, n, prob)
    assert keyed.binomial_from_uniform(1e-300, n, prob) <= (stats.binom.ppf(1e-15, n, prob) if n > 0 else 0)
    assert 0 <= got.min() and max(got.max(), top) <= n
    assert top >= (stats.binom.ppf(1 - 1e-9, n, prob) if n > 0 else 0)


def test_laplace_from_uniform_is_the_laplace_quantile_and_the_draws_have_the_right_moments():
    from scipy import stats
    u = np.random.default_rng(3).random(200_000)
    x = np.array([keyed.laplace_from_uniform(v, 0.5) for v in u[:2000]])
    assert np.allclose(x, stats.laplace.ppf(u[:2000], scale=0.5), rtol=1e-12, atol=1e-15)
    assert keyed.laplace_from_uniform(0.0, 0.5) == -np.inf
    # and the draws of the three (200,000 each): mean and variance within 4 standard errors
    lap = np.array([keyed.laplace_from_uniform(v, 0.5) for v in u])
    poi = np.array([keyed.poisson_from_uniform(v, 3.3) for v in u])
    bino = np.array([keyed.binomial_from_uniform(v, 12, 0.2) for v in u])
    for draws, mean, var in ((lap, 0.0, 0.5), (poi, 3.3, 3.3), (bino, 2.4, 1.92)):
        assert abs(draws.mean() - mean) < 4 * np.sqrt(var / len(u))
        assert abs(draws.var() / var - 1) < 0.02


def test_distributions_from_keys():
    """Means and variances within 5 standard errors at n = 200,000 (deterministic draws)."""
    ids = np.arange(200_000, dtype=np.int64)
    z = keyed.normals(3, 2, 0, ids, 0)
    assert abs(z.mean()) < 5 / math.sqrt(len(z)) and abs(z.var() - 1) < 5 * math.sqrt(2 / len(z))
    assert stats.kstest(z, "norm").statistic < 0.004
    for a, b in ((2.0, 3.0), (0.5, 0.7), (8.0, 2.0)):
        x = keyed.betas(3, 2, 0, ids, 1, np.full(len(ids), a), np.full(len(ids), b))
        assert stats.kstest(x, stats.beta(a, b).cdf).statistic < 0.004, (a, b)
    po = keyed.poissons(3, 2, 0, ids, 0, np.full(len(ids), 2.5))
    assert abs(po.mean() - 2.5) < 5 * math.sqrt(2.5 / len(ids))


def test_a_race_changes_only_where_the_new_candidate_wins():
    """Adding a candidate to a keyed race leaves every other pick alone: the k picks of ids are kept
    unless the new id is among the picks, where it replaces exactly one."""
    ids = np.arange(1000, 1100, dtype=np.int64)
    old = set(ids[keyed.smallest(5, 19, 0, ids, 10)].tolist())
    for extra in range(50):
        more = np.concatenate([ids, [5000 + extra]])
        new = set(more[keyed.smallest(5, 19, 0, more, 10)].tolist())
        assert new == old or (len(new - old) == 1 and new - old == {5000 + extra})


def test_identities_of_entrants_come_from_parent_and_month():
    parents = np.array([11, 12, 11], dtype=np.int64)
    a, b = keyed.spinoff_uids(parents, 30), keyed.spinoff_uids(parents, 31)
    assert a[0] == a[2] and a[0] != a[1] and not set(a) & set(b)
    assert (a >= 0).all() and len(set(keyed.initial_uids(0, 10_000)) | set(keyed.initial_uids(1, 10_000))) == 20_000


def _played(model) -> dict:
    """This month's games: (a, b) by identity -> (kind, a contributed, b contributed)."""
    out = {}
    for a, b, kind, ca, cb in model.month_log.get("played", []):
        for k in range(len(a)):
            out.setdefault((int(a[k]), int(b[k])), []).append((int(kind[k]), bool(ca[k]), bool(cb[k])))
    return out


def _twins(seed: int):
    """A run at month 30 and its copy in which a few firms are changed as a programme would change
    them: cash, productivity, trust in the CDA, cooperation propensity, association membership, and
    trusted ties among themselves (so they seek new partners less often). Returns the two models
    and the changed firms' identities."""
    m = ClusterModel(n_firms=300, rng=seed).run(30)
    twin = copy.deepcopy(m)
    f = twin.firms
    live = f.live()
    touched = live[:: max(1, len(live) // 6)][:6]
    f.cash[touched] *= 3.0
    f.productivity[touched] *= 1.5
    f.trust_cda[touched] = 1.0
    f.propensity[touched] = 1.0
    f.member[touched] = True
    a, b = touched[:3], touched[3:]
    twin.ties.add(a, b, np.full(3, 0.95), np.full(3, 0.95), twin.month)
    return m, twin, set(f.uid[touched].tolist())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_untouched_firms_draw_the_same_numbers_and_make_the_same_choices(seed):
    """DESIGN.md section 7 (e). One month on from :func:`_twins`, every game that involves none of
    the changed firms is played in both runs, with the same partners, the same type and the same
    choices. It fails if a draw is sequential: the changed firms ask their new trusted partners
    instead of searching, so a stream's draws would be dealt out to other games (checked by hand:
    with sequential choice draws it fails for seeds 2 and 3), or if a partner choice depends on another
    candidate's state."""
    m, twin, ids = _twins(seed)
    m.step()
    twin.step()
    base, other = _played(m), _played(twin)
    clean = {pair: games for pair, games in base.items() if not set(pair) & ids}
    assert len(clean) > 30  # (there are games to compare)
    assert clean == {pair: games for pair, games in other.items() if not set(pair) & ids}

"""Shared helpers: small, quiet models whose state the tests set by hand."""

from __future__ import annotations

import numpy as np
import pytest

from model import ClusterModel, ModelParams, PolicyParams

QUIET = dict(hazard_base=0.0, hazard_young=0.0, spinoff_rate=0.0, exogenous_entry=0.0, demand_noise=0.0)


def small_model(n_firms: int = 6, seed: int = 0, policy: PolicyParams | None = None, **overrides) -> ClusterModel:
    """A tiny cluster with no entry, no random exit and no demand noise, unless overridden."""
    kw = {**QUIET, **overrides}
    params = ModelParams(policy=policy or PolicyParams())
    return ClusterModel(params, rng=seed, n_firms=n_firms, **kw)


def set_trust(model, a: int, b: int, trust_ab: float, trust_ba: float) -> int:
    """Make sure a tie a-b exists and set both directions of trust; returns its index."""
    idx = model.ties.add(np.array([a]), np.array([b]), np.array([trust_ab]), np.array([trust_ba]), model.month)
    model.ties.set_trust_of(idx, np.array([a]), np.array([trust_ab]))
    model.ties.set_trust_of(idx, np.array([b]), np.array([trust_ba]))
    return int(idx[0])


@pytest.fixture
def quiet_model():
    return small_model()

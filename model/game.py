"""The cooperation game's rules (DESIGN.md 5.2, 5.3 i): what a joint action is worth to a firm, how it
chooses, how a betrayal weighs. Shared by the pair games (model.cooperation) and the collective games of
groups and the consortium (model.cda)."""

from __future__ import annotations

import numpy as np

from .params import JOINT_ACTION_TYPES

PURCHASING, MARKETING, SUBCONTRACTING, KNOWLEDGE = range(len(JOINT_ACTION_TYPES))


def action_values(model, own: np.ndarray, partner: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """What a joint action of type ``kind`` with ``partner`` is worth to ``own`` over the action's months,
    from its own state last month (DESIGN.md 5.2; wage-months):

    - purchasing: the discount on its input bill;
    - marketing: export access, worth the export price's premium over the home price on the share of its
      sales it would export (nothing to a firm that exports on its own);
    - subcontracting: the extra output the partner's spare capacity lets it sell, at its margin over
      inputs;
    - knowledge: the revenue from closing a share ``spillover`` of its productivity gap to the partner
      (the more productive side: ``knowledge_return`` of that).
    """
    p = model.params
    f = model.firms
    consts = model.cluster_consts  # (economy.cluster_constants)
    c = f.cluster[own]
    input_share, p0 = consts["input_share"][c], consts["p0"][c]
    export_share, threshold = consts["export_share"][c], consts["export_threshold"][c]
    rho = 1.0 - 1.0 / p.variety_elasticity
    revenue = f.revenue[own]
    inputs = model.input_price * input_share * p0 * f.output[own]
    premium = np.maximum(np.asarray(model.export_price)[c] / np.asarray(model.price)[c] - 1.0, 0.0)
    gap = f.productivity[partner] / np.maximum(f.productivity[own], 1e-12) - 1.0
    gap = np.where(gap > 0, gap, -p.knowledge_return * gap)
    value = np.select(
        [kind == PURCHASING, kind == MARKETING, kind == SUBCONTRACTING],
        [p.purchase_discount * inputs,
         np.where(f.productivity[own] > threshold, 0.0, export_share * revenue * premium),
         p.subcontract_bonus * np.maximum(rho * revenue - inputs, 0.0)],
        p.spillover * gap * rho * revenue)
    return value * p.effect_months


def realised_value(value, cost, subsidy, tau, mine, theirs):
    """What one game gave a side, in wage-months, from its own valuation ``value`` of the action's effect
    (:func:`action_values`): the effect less its contribution ``cost (1 - subsidy)`` when both contributed;
    the captured share ``tau`` of it when it withheld against a contributor; its contribution lost when
    it contributed alone; nothing when neither did."""
    paid = np.where(mine, cost * (1.0 - subsidy), 0.0)
    got = np.where(theirs, np.where(mine, value, tau * value), 0.0)
    return got - paid


def logistic(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))


def contribution_probability(trust, benefit, cost, tau, subsidy, propensity, sharpness, reciprocity):
    """P(contribute) = logistic(k * (p b (1 - tau) - c (1 - s)) + r (propensity - 0.5))."""
    gain = trust * benefit * (1.0 - tau) - cost * (1.0 - subsidy)
    return logistic(sharpness * gain + reciprocity * (propensity - 0.5))


def betrayal_factor(p) -> float:
    """Trust is multiplied by this after a betrayal (5.3 i)."""
    return 1.0 - min(1.0, p.learning_rate * p.betrayal_weight)

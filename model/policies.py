"""Named cluster-development programmes, as data (the conf/ presets mirror these).

Budgets are in wage-months for a cluster of about 500 firms; scale them with
the cluster. ``standard_cda`` is the full UNIDO cycle on a 36-month contract.
"""

from __future__ import annotations

from dataclasses import replace

from .params import PolicyParams

_FULL = dict(events_per_year=6, subsidy_rate=0.5, groups_per_year=4, linkage_firms_per_year=80,
             consortium_size=8, common_facility=True, association=True)

POLICIES: dict[str, PolicyParams] = {
    "none": PolicyParams(),
    "standard_cda": PolicyParams(budget=600.0, duration_months=36, **_FULL),
    "trust_first": PolicyParams(budget=600.0, duration_months=36, events_per_year=12, event_size=40,
                                linkage_firms_per_year=80, association=True),
    "subsidy_only": PolicyParams(budget=600.0, duration_months=36, subsidy_rate=0.5),
    "linkages": PolicyParams(budget=600.0, duration_months=36, linkage_firms_per_year=200, events_per_year=2),
    "export_consortium": PolicyParams(budget=600.0, duration_months=36, consortium_size=12, groups_per_year=4,
                                      events_per_year=4),
    "long_cda": PolicyParams(budget=1000.0, duration_months=60, **_FULL),
    "zero_budget": PolicyParams(budget=0.0, duration_months=36, **_FULL),
    "no_association": PolicyParams(budget=600.0, duration_months=36, **{**_FULL, "association": False}),
}
# provincial programmes: ten standard CDAs (600 each) for the province's clusters, chosen by one rule
for _rule, _name in (("largest", "programme_largest"), ("export_potential", "programme_export"),
                     ("trust_gap", "programme_trust_gap"), ("random", "programme_random")):
    POLICIES[_name] = PolicyParams(budget=6000.0, duration_months=36, programme_cdas=10,
                                   programme_selection=_rule, **_FULL)


def policy(name: str, **changes) -> PolicyParams:
    """A named policy, optionally with fields changed."""
    from .params import ParameterError
    if name not in POLICIES:
        raise ParameterError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}")
    return replace(POLICIES[name], **changes)

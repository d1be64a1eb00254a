"""A province of many clusters: the named clusters plus others drawn from a few archetypes.

Isfahan province has about 70 business clusters of micro and small firms. A
handful are known by name (and have presets of their own); the others are
drawn here from archetypes (crafts, textiles, building materials, food,
metal, plastics), each with its towns, its range of sizes and what sets its
market apart. The drawing uses its own fixed seed (``layout_seed``), so the
province is the same in every run: a run's seed moves the firms, not the
map. Sizes are then scaled so that the province has ``total_firms`` firms.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .params import ClusterSpec, ParameterError


@dataclass(frozen=True)
class Archetype:
    """A kind of cluster: how many the province has, where, how big, and its market."""

    name: str
    count: int  # clusters of this kind drawn
    towns: tuple[str, ...]  # their towns, taken in turn
    n_firms: tuple[int, int]  # relative size range (log-uniform), before scaling to the total
    spec: dict = field(default_factory=dict)  # ClusterSpec fields that differ from the defaults


def build_province(named: tuple[ClusterSpec, ...], archetypes: tuple[Archetype, ...], total_firms: int,
                   layout_seed: int = 0, scale: float = 1.0) -> tuple[ClusterSpec, ...]:
    """The named clusters as they are, then ``count`` clusters of each archetype.

    The drawn clusters' sizes are scaled so that named and drawn together have
    ``total_firms`` firms (each at least 20). Drawn clusters are called
    ``<archetype>_<town>_<k>``. ``scale`` then shrinks (or grows) every
    cluster, named ones too (at least 5 firms each): a small copy of the
    province to try things on.
    """
    if not 0 < scale <= 10:
        raise ParameterError(f"province scale = {scale!r} is out of range; allowed: (0, 10]")
    rng = np.random.default_rng(layout_seed)
    drawn: list[tuple[str, str, float, dict]] = []
    for arch in archetypes:
        if arch.count < 0 or not arch.towns or not 0 < arch.n_firms[0] <= arch.n_firms[1]:
            raise ParameterError(f"archetype {arch.name!r}: needs count >= 0, some towns and "
                                 f"0 < n_firms[0] <= n_firms[1] (got {arch.count}, {list(arch.towns)}, "
                                 f"{list(arch.n_firms)})")
        lo, hi = np.log(arch.n_firms[0]), np.log(arch.n_firms[1])
        for k in range(arch.count):
            town = arch.towns[k % len(arch.towns)]
            size = float(np.exp(rng.uniform(lo, hi)))
            drawn.append((f"{arch.name}_{town.lower().replace('-', '_')}_{k + 1}", town, size, arch.spec))
    left = total_firms - sum(c.n_firms for c in named)
    if drawn and left < 20 * len(drawn):
        raise ParameterError(f"total_firms = {total_firms} leaves {left} firms for {len(drawn)} drawn clusters; "
                             f"allow at least {20 * len(drawn)} beyond the named clusters' "
                             f"{sum(c.n_firms for c in named)}")
    to_total = left / sum(d[2] for d in drawn) if drawn else 0.0
    sizes = [max(20, int(round(d[2] * to_total))) for d in drawn]
    if sizes:
        sizes[-1] = max(20, sizes[-1] + left - sum(sizes))  # the total exactly
    clusters = list(named)
    for (name, town, _size, spec), n in zip(drawn, sizes):
        try:
            clusters.append(replace(ClusterSpec(), **spec, name=name, town=town, n_firms=n))
        except TypeError as err:
            raise ParameterError(f"archetype of {name}: {err}") from None
    if scale != 1.0:
        clusters = [replace(c, n_firms=max(5, int(round(c.n_firms * scale)))) for c in clusters]
    return tuple(clusters)


__all__ = ["Archetype", "build_province"]

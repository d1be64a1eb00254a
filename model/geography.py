"""The region: named towns of Isfahan province projected onto a grid of ~5 km cells.

Coordinates are approximate (degrees, WGS84), good to a cell or two; they place
clusters where they are, not more. Towns of ``PLACED_WHEN_NAMED`` (added for the
named feasibility clusters of the province) join a region only when a cluster
names them, so that the maps of the presets that do not use them stay as they were.
Property layers (``town``, ``urban``, ``infrastructure``, ``industrial_park``) are
derived from the towns with stylised rules documented in docs/ODD.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# name: (latitude, longitude, relative size 0..1, has an industrial park nearby)
TOWNS: dict[str, tuple[float, float, float, bool]] = {
    "Isfahan": (32.654, 51.668, 1.00, True),
    "Kashan": (33.984, 51.437, 0.45, True),
    "Aran-Bidgol": (34.058, 51.484, 0.20, True),
    "Khomeinishahr": (32.700, 51.521, 0.35, True),
    "Dorcheh": (32.616, 51.553, 0.15, False),
    "Adrian": (32.686, 51.494, 0.08, False),
    "Kordabad": (32.745, 51.790, 0.05, False),
    "Najafabad": (32.634, 51.366, 0.40, True),
    "Shahinshahr": (32.858, 51.553, 0.30, True),
    "Shahreza": (32.006, 51.866, 0.30, True),
    "Dehaq": (33.104, 50.959, 0.05, False),
    "Mobarakeh": (32.347, 51.504, 0.15, True),
    "Falavarjan": (32.555, 51.510, 0.15, False),
    "Zarrinshahr": (32.389, 51.377, 0.12, False),
    "Natanz": (33.511, 51.916, 0.08, False),
    "Golpayegan": (33.454, 50.288, 0.15, True),
    "Khansar": (33.221, 50.315, 0.08, False),
    "Naein": (32.860, 53.087, 0.08, True),
    "Ardestan": (33.376, 52.369, 0.08, False),
    "Fereydunshahr": (32.941, 50.121, 0.05, False),
    "Semirom": (31.414, 51.568, 0.08, False),
    "Khur": (33.775, 55.085, 0.03, False),
    # added 2026-12 for the named feasibility clusters (issue 22); placed only where a cluster names them
    "Khorzuq": (32.777, 51.646, 0.06, False),  # Borkhar county, ~14 km north of Isfahan: clothing
}

# towns that join a region only when one of its clusters names them (see build_region)
PLACED_WHEN_NAMED: frozenset[str] = frozenset({"Khorzuq"})

_KM_PER_DEG_LAT = 111.0


@dataclass(frozen=True)
class Region:
    """The projected region: grid size, town cells and the property layers (as arrays)."""

    width: int
    height: int
    town_names: tuple[str, ...]
    town_xy: np.ndarray  # (n_towns, 2) int cell coordinates
    town_layer: np.ndarray  # (width, height) int, town id or -1
    urban: np.ndarray  # (width, height) float 0..1
    infrastructure: np.ndarray  # (width, height) float 0..1
    industrial_park: np.ndarray  # (width, height) int 0/1
    nearest: np.ndarray  # (width, height) int, the nearest town's id (see nearest_town)

    def town_id(self, name: str) -> int:
        return self.town_names.index(name)

    def nearest_town(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Id of the town nearest (Chebyshev, then Euclidean) to each cell of the grid; ties go to the lower id."""
        return self.nearest[x, y]


def _nearest_town(town_xy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    dx = np.abs(np.asarray(x)[:, None] - town_xy[None, :, 0])
    dy = np.abs(np.asarray(y)[:, None] - town_xy[None, :, 1])
    dist = np.maximum(dx, dy) + 1e-3 * np.hypot(dx, dy)
    return np.argmin(dist, axis=1).astype(np.int64)


def build_region(town_names: list[str], cell_km: float, margin: int) -> Region:
    """Project the given towns (and every listed town inside the box) onto a grid.

    The box spans the named towns plus ``margin`` cells on each side; every
    other known town that falls inside the box is included too, so that
    neighbouring towns shape the layers, but for those of ``PLACED_WHEN_NAMED``
    (towns added later for a cluster of their own: placed only when named, so
    that adding them left every other region, and its runs, as it was).
    """
    lat0 = float(np.mean([TOWNS[t][0] for t in town_names]))
    km_per_deg_lon = _KM_PER_DEG_LAT * math.cos(math.radians(lat0))
    lats = np.array([TOWNS[t][0] for t in town_names])
    lons = np.array([TOWNS[t][1] for t in town_names])
    lon_min = lons.min() - margin * cell_km / km_per_deg_lon
    lat_min = lats.min() - margin * cell_km / _KM_PER_DEG_LAT
    width = int(math.floor((lons.max() - lons.min()) * km_per_deg_lon / cell_km)) + 2 * margin + 1
    height = int(math.floor((lats.max() - lats.min()) * _KM_PER_DEG_LAT / cell_km)) + 2 * margin + 1

    def project(name: str) -> tuple[int, int]:
        lat, lon = TOWNS[name][:2]
        x = int(round((lon - lon_min) * km_per_deg_lon / cell_km))
        y = int(round((lat - lat_min) * _KM_PER_DEG_LAT / cell_km))
        return x, y

    names = list(dict.fromkeys(town_names))
    for name in TOWNS:
        if name not in names and name not in PLACED_WHEN_NAMED:
            x, y = project(name)
            if 0 <= x < width and 0 <= y < height:
                names.append(name)
    xy = np.array([project(n) for n in names], dtype=np.int64)

    town_layer = np.full((width, height), -1, dtype=np.int64)
    gx, gy = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
    urban = np.zeros((width, height))
    infra = np.zeros((width, height))
    park = np.zeros((width, height), dtype=np.int64)
    # larger towns first, so that a small town sharing a cell keeps it only if free
    order = np.argsort([-TOWNS[n][2] for n in names], kind="stable")
    for k in order[::-1]:
        town_layer[xy[k, 0], xy[k, 1]] = k
    for k, name in enumerate(names):
        size = TOWNS[name][2]
        d = np.hypot(gx - xy[k, 0], gy - xy[k, 1]) * cell_km  # km
        urban = np.maximum(urban, size * np.exp(-d / (4.0 + 8.0 * size)))
        infra = np.maximum(infra, (0.4 + 0.6 * size) * np.exp(-d / 25.0))
        if TOWNS[name][3]:
            # a park one cell east of the town (stylised)
            px, py = min(xy[k, 0] + 1, width - 1), xy[k, 1]
            park[px, py] = 1
    # one column of cells at a time (a fine grid with many towns would need much memory at once)
    nearest = np.empty((width, height), dtype=np.int64)
    for x in range(width):
        nearest[x] = _nearest_town(xy, gx[x], gy[x])
    return Region(width, height, tuple(names), xy, town_layer, urban.round(6), infra.round(6), park, nearest)

"""Mesa's own tools keep working on the model."""

from __future__ import annotations

import warnings

import mesa
import numpy as np
import pandas as pd

from model import COLUMNS, ClusterDevelopmentAgent, ClusterModel, ClusterSpec, Firm, ModelParams
from model import Supplier, SupportInstitution


def test_agents_and_agentset_queries_see_the_arrays():
    m = ClusterModel(rng=1, n_firms=80, policy_budget=100.0, events_per_year=6)
    firms = m.agents_by_type[Firm]
    assert len(firms) == m.stats["firms"] == 80
    emp = firms.get("employees")
    assert sum(emp) == m.stats["employment"]
    assert firms.agg("employees", sum) == m.stats["employment"]
    micro = firms.select(lambda a: a.size_class == "micro")
    assert len(micro) == int((np.array(emp) < 10).sum())
    assert len(m.agents_by_type[SupportInstitution]) == 5
    assert len(m.agents_by_type[Supplier]) == 3
    assert len(m.agents_by_type[ClusterDevelopmentAgent]) == 1
    # writing through the view writes the array
    a = firms.to_list()[0]
    a.cash = 123.0
    assert m.firms.cash[a.slot] == 123.0
    # firms sit in the grid cell of their coordinates
    assert a.cell.coordinate == (int(m.firms.x[a.slot]), int(m.firms.y[a.slot]))
    m.run(months=12)
    assert len(m.agents_by_type[Firm]) == m.stats["firms"]


def test_grid_has_the_property_layers():
    m = ClusterModel(rng=0, n_firms=10)
    for name in ("town", "urban", "infrastructure", "industrial_park"):
        assert name in m.grid._mesa_property_layers
    town = m.grid._mesa_property_layers["town"].data
    x, y = m.cluster_town_xy[0]
    assert m.region.town_names[town[x, y]] == "Isfahan"


def test_datacollector_has_the_contract_columns():
    m = ClusterModel(rng=2, n_firms=50, months=6).run()
    df = m.datacollector.get_model_vars_dataframe()
    assert list(df.columns) == list(COLUMNS)
    assert list(df["month"]) == list(range(7))


def test_batch_run_over_two_values_and_two_seeds():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = mesa.batch_run(ClusterModel, parameters={"subsidy_rate": [0.0, 0.5], "n_firms": 40,
                                                        "months": 12, "policy_budget": 100.0,
                                                        "policy_start_month": 1},
                              rng=[1, 2], max_steps=100, data_collection_period=1, display_progress=False)
    df = pd.DataFrame(rows)
    assert set(COLUMNS) <= set(df.columns)
    assert len(df) == 2 * 2 * 13
    assert sorted(df["subsidy_rate"].unique()) == [0.0, 0.5]
    assert df.groupby(["RunId"]).size().eq(13).all()


def test_several_clusters_share_one_region():
    params = ModelParams(months=12, clusters=(ClusterSpec(name="carpet", town="Kashan", n_firms=60),
                                              ClusterSpec(name="towels", town="Adrian", n_firms=40,
                                                          funded=False)))
    m = ClusterModel(params, rng=4, policy_budget=200.0, events_per_year=12, share_diagnostic=0.0,
                     policy_start_month=1).run()
    per = m.cluster_series()
    assert set(per["cluster"]) == {"carpet", "towels"}
    last = per[per.month == 12].set_index("cluster")
    assert last["firms"].sum() == m.stats["firms"]
    assert last.loc["towels", "cda_spent"] == 0 and last.loc["carpet", "cda_spent"] > 0
    assert m.cdas[1] is None and m.cdas[0] is not None
    # no tie crosses clusters
    f = m.firms
    assert (f.cluster[m.ties.i] == f.cluster[m.ties.j]).all()


def test_snapshots_only_at_chosen_months():
    m = ClusterModel(rng=3, n_firms=30, months=12, snapshot_months=(0, 12)).run()
    assert sorted(m.snapshots) == [0, 12]
    firms = m.snapshots[12]["firms"]
    assert len(firms) == m.stats["firms"]
    assert {"unique_id", "x", "y", "employees", "mean_tie_trust"} <= set(firms.columns)
    assert len(m.snapshots[12]["ties"]) == len(m.ties)


def test_grid_cells_hold_exactly_the_live_firms_after_exits_and_entries():
    m = ClusterModel(rng=2, n_firms=300, months=36).run()
    f = m.firms
    in_cells = [a for cell in m.grid.all_cells for a in cell.agents if isinstance(a, Firm)]
    assert sorted(a.slot for a in in_cells) == f.live().tolist()
    for a in in_cells:
        assert a.cell.coordinate == (int(f.x[a.slot]), int(f.y[a.slot])) and a.model is m
    assert len(m.agents_by_type[Firm]) == len(in_cells)
    # the grid's "empty" layer agrees with the cells
    assert all(cell.empty == (len(cell.agents) == 0) for cell in m.grid.all_cells)


def test_a_firm_moved_to_another_cell_is_in_that_cell_only():
    m = ClusterModel(rng=2, n_firms=50, months=1)
    cells = [c for c in m.grid.all_cells if len(c.agents) >= 3]
    source, target = cells[0], cells[1]
    firm = next(a for a in source.agents[1:] if isinstance(a, Firm))  # not first: its places differ
    others = [a for a in source.agents if a is not firm]
    firm.cell = target  # Mesa adds it to the target first, then removes it from the source
    assert firm.cell is target and firm in target.agents and firm not in source.agents
    assert set(source.agents) == set(others)


"""The presets and the outcomes table in conf/: the one source the model, the CLI and the reports read."""

from __future__ import annotations

import pytest

from conf import outcomes, preset, presets


def test_presets_list_the_yaml_files_of_a_group():
    assert "standard_cda" in presets("policy") and "none" in presets("policy")
    assert "towels_adrian" in presets("cluster") and "isfahan_province" in presets("cluster")
    assert presets("shock") == ("demand_drop", "export_restriction", "input_price_spike", "none")


def test_a_preset_is_a_fresh_plain_dict():
    a = preset("policy", "standard_cda")
    assert a["budget"] == 600.0 and a["duration_months"] == 36 and a["association"] is True
    a["budget"] = 1.0
    assert preset("policy", "standard_cda")["budget"] == 600.0


def test_unknown_presets_and_groups_are_named_with_the_choices():
    with pytest.raises(KeyError, match="no policy preset 'standrd_cda'; the policy presets are .*standard_cda"):
        preset("policy", "standrd_cda")
    with pytest.raises(KeyError, match="no preset group 'polcy'"):
        presets("polcy")


def test_outcomes_table_is_the_series_columns_in_order():
    from model import COLUMNS, ClusterModel

    assert tuple(outcomes()) == COLUMNS
    series = ClusterModel(rng=0, n_firms=20, months=2).run().series()
    assert tuple(series.columns) == COLUMNS


def test_outcome_format_follows_its_digits():
    table = outcomes()
    assert table["mean_trust"].format(0.12345, signed=True) == "+0.123"
    assert table["employment"].format(1234.4) == "1,234"  # no digits given: 0 from 100 up
    assert table["employment"].format(12.34) == "12.3"  # ... and 1 below 100
    assert {o.better for o in table.values()} <= {"higher", "lower", None}


def test_one_plot_style_for_the_brief_and_the_dashboard():
    import analysis.figures
    import viz.draw
    from conf import palette, plot_style

    assert palette()[:3] == ["#000000", "#0072B2", "#E69F00"]  # Okabe-Ito
    assert analysis.figures.PALETTE == viz.draw.PALETTE == palette()
    assert plot_style()["font.size"] == 9.0 and viz.draw.STYLE == plot_style()

"""The dashboard (viz/): presets and levers, the map's data, the command line, and the page in a real browser."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import ClusterModel, ModelParams
from model import presets as model_presets
from model.params import ClusterSpec, PolicyParams, ShockParams
from viz import draw
from viz.cli import main as cli_main
from conf import presets
from viz.scenario import DashboardModel, lever_values, levers, preset_params

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------- presets and levers
def test_the_presets_are_the_scenarios_presets():
    for group in ("cluster", "policy", "shock"):
        on_disk = sorted(p.stem for p in (ROOT / "conf" / group).glob("*.yaml"))
        assert list(presets(group)) == on_disk
    assert "towels_adrian" in presets("cluster") and "trust_first" in presets("policy")


def test_a_choice_of_presets_builds_the_same_parameters_as_khusheh_run():
    m = DashboardModel(cluster="towels_adrian", policy="trust_first", shock="demand_drop", seed=4)
    spec = m.params.clusters[0]
    assert (spec.name, spec.town, spec.n_firms) == ("towels_adrian", "Adrian", 300)
    assert m.params.policy == model_presets.policy("trust_first")
    assert (m.params.shock.kind, m.params.shock.start_month, m.params.shock.magnitude) == ("demand_drop", 60, 0.3)
    assert m.choice["subsidy_rate"] == 0.0 and m.choice["events_per_year"] == 12.0


def test_levers_replace_the_presets_values_and_nothing_else():
    m = DashboardModel(cluster="generic", policy="standard_cda", budget=900.0, subsidy_rate=0.3,
                       events_per_year=12.0, duration_months=48, targeting="largest", n_firms=120, seed=3)
    expected = model_presets.policy("standard_cda", budget=900.0, subsidy_rate=0.3, events_per_year=12.0,
                                    duration_months=48, targeting="largest")
    assert m.params.policy == expected
    assert m.params.clusters[0].n_firms == 120 and len(m.firms.live()) == 120
    assert m.choice == {"cluster": "generic", "policy": "standard_cda", "shock": "none", "seed": 3, "budget": 900.0,
                        "subsidy_rate": 0.3, "events_per_year": 12.0, "duration_months": 48,
                        "targeting": "largest", "n_firms": 120}


def test_the_dashboard_runs_the_model_unchanged():
    """Same settings and seed: the dashboard's run and a plain ClusterModel's are the same numbers."""
    dash = DashboardModel(cluster="carpet_kashan", policy="standard_cda", n_firms=80, seed=5).run(14)
    plain = ClusterModel(preset_params("carpet_kashan", "standard_cda", "none").with_overrides(n_firms=80),
                         rng=5).run(14)
    pd.testing.assert_frame_equal(dash.series(), plain.series())
    assert dash.series()["cda_phase"].iloc[-1] == "diagnostic"  # the CDA starts in month 12


def test_lever_ranges_come_from_the_parameter_metadata():
    meta = {f.name: f.metadata for cls in (PolicyParams, ClusterSpec) for f in fields(cls)}
    lv = levers()
    assert list(lv) == ["budget", "subsidy_rate", "events_per_year", "duration_months", "targeting", "n_firms"]
    for name, lever in lv.items():
        m = meta[name]
        if m["choices"] is not None:
            assert lever.kind == "Select" and lever.choices == m["choices"]
            continue
        assert lever.kind == ("SliderInt" if m["integer"] else "SliderFloat")
        assert lever.lo == m["lo"] and lever.lo < lever.hi <= m["hi"]
    assert (lv["subsidy_rate"].lo, lv["subsidy_rate"].hi) == (0, 1)  # the whole metadata range
    assert (lv["budget"].lo, lv["budget"].hi) == (0, 5000.0)  # metadata [0, 1e9], narrowed for a slider
    assert (lv["n_firms"].lo, lv["n_firms"].hi) == (1, 5000)  # metadata [1, 200000]
    # a preset beyond the practical bound widens the slider to its value, never past the metadata
    big = ModelParams(policy=PolicyParams(budget=6000.0, duration_months=200))
    wide = levers(big)
    assert (wide["budget"].hi, wide["duration_months"].hi, wide["n_firms"].hi) == (6000.0, 200, 5000)
    assert levers(ModelParams(policy=PolicyParams(budget=5e9)))["budget"].hi == 1e9
    # every preset's values sit on its sliders (each cluster with the default policy, each policy
    # with the default cluster)
    choices = [(c, "standard_cda") for c in presets("cluster")] + [("generic", p) for p in presets("policy")]
    for cluster, policy in choices:
        params = preset_params(cluster, policy, "none")
        ranges = levers(params)
        for name, value in lever_values(params).items():
            lever = ranges[name]
            assert value in lever.choices if lever.kind == "Select" else lever.lo <= value <= lever.hi, \
                (cluster, policy, name, value)


def test_the_firms_lever_is_shared_by_several_clusters_as_the_preset_shares_them():
    params = ModelParams(clusters=(ClusterSpec(name="shoes", town="Isfahan", n_firms=300),
                                   ClusterSpec(name="carpets", town="Kashan", n_firms=100)))
    m = DashboardModel(params=params, n_firms=200, seed=0)
    assert [c.n_firms for c in m.params.clusters] == [150, 50]
    assert m.choice["n_firms"] == 200 and len(m.firms.live()) == 200
    three = ModelParams(clusters=tuple(ClusterSpec(name=n, town=t, n_firms=100)
                                       for n, t in (("a", "Isfahan"), ("b", "Kashan"), ("c", "Najafabad"))))
    m = DashboardModel(params=three, n_firms=200, seed=0)
    assert [c.n_firms for c in m.params.clusters] == [67, 67, 67]
    assert m.choice["n_firms"] == 200  # as chosen: the page does not report it as a pending change


def test_an_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown policy preset 'big_cda'"):
        preset_params("generic", "big_cda", "none")


# ------------------------------------------------------------------------------------- what the page shows
def test_map_data_places_every_live_firm_in_its_cell_and_every_tie():
    m = DashboardModel(n_firms=150, seed=2).run(3)
    d = draw.map_data(m)
    live = m.firms.live()
    assert len(d["x"]) == len(live) == m.stats["firms"]
    assert np.all(np.abs(d["x"] - m.firms.x[live]) <= 0.42) and np.all(np.abs(d["y"] - m.firms.y[live]) <= 0.42)
    assert d["segments"].shape == (len(m.ties), 2, 2)
    assert np.all((d["trust"] >= 0) & (d["trust"] <= 1))
    # a firm's mean trust in its partners is the snapshot's mean_tie_trust (0 without ties)
    from model.observation import snapshot
    snap = snapshot(m)["firms"]
    np.testing.assert_allclose(d["trust"], snap.mean_tie_trust.fillna(0.0).to_numpy())
    kinds = set(d["places"].kind)
    assert {"town", "training_centre", "credit_fund"} <= kinds


def test_a_firm_keeps_its_place_on_the_map_from_month_to_month():
    m = DashboardModel(n_firms=100, seed=1).run(1)
    before = dict(zip(m.firms.live(), zip(*draw.jitter(m.firms.live()))))
    m.step()
    after = dict(zip(m.firms.live(), zip(*draw.jitter(m.firms.live()))))
    both = set(before) & set(after)
    assert len(both) > 50 and all(before[s] == after[s] for s in both)


def test_firms_are_coloured_by_cluster_when_there_are_several():
    params = ModelParams(clusters=(ClusterSpec(name="shoes", town="Isfahan", n_firms=60),
                                   ClusterSpec(name="carpets", town="Kashan", n_firms=40)))
    m = DashboardModel(params=params, seed=0)
    view = draw.MapView(m)
    colours = {tuple(c) for c in np.round(view.firms.get_facecolor()[:, :3], 3)}
    from matplotlib.colors import to_rgb
    assert colours == {tuple(np.round(to_rgb(draw.CLUSTER_COLOURS[k]), 3)) for k in (0, 1)}
    one = draw.MapView(DashboardModel(n_firms=50, seed=0))
    assert not one.by_cluster and len(one.firms.get_array()) == 50  # trust colours


def test_the_cda_status_follows_its_phase_and_budget():
    m = DashboardModel(policy="standard_cda", n_firms=200, seed=0)
    s = draw.cda_status(m)
    assert (s["phase"], s["budget"], s["left"]) == ("none", 600.0, 600.0)
    m.run(20)  # start at month 12; diagnostic 15% of 36 months = 5 months, then trust building
    s = draw.cda_status(m)
    assert s["phase"] == "trust_building" and s["phase_text"] == "trust building"
    assert s["left"] == pytest.approx(600.0 - m.stats["cda_spent"]) and s["spent"] > 0
    assert draw.cda_status(DashboardModel(policy="none", n_firms=50, seed=0))["budget"] == 0


def test_the_map_renders_with_the_month_and_counts_in_the_title():
    m = DashboardModel(n_firms=120, seed=0).run(2)
    view = draw.MapView(m)
    assert view.title.get_text() == f"generic: month 2, {m.stats['firms']:,} firms, {len(m.ties):,} ties"
    buf = io.BytesIO()
    view.figure.savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("cluster", ["towels_adrian", "bedsheets_dorcheh", "isfahan_province"])
def test_the_maps_town_names_do_not_collide_and_sit_by_their_towns(cluster):
    # towels of Adrian: Adrian and Khomeinishahr are one cell apart, and their names used to run together
    # ("AdriKhomeinishahr"); the cluster's own town chooses its place first
    from viz.labels import overlaps
    m = DashboardModel(cluster=cluster, n_firms=60, seed=0)
    view = draw.MapView(m)
    labels = view.town_labels
    names = [a.get_text() for a in labels]
    assert len(names) == len(set(names)) >= 2
    if cluster == "towels_adrian":
        assert names[0] == "Adrian" and "Khomeinishahr" in names
    assert overlaps(labels) == []
    renderer = view.figure.canvas.get_renderer()
    for a in labels:  # each name touches the neighbourhood of its own town (within 3 times the first distance)
        town = view.ax.transData.transform([a.xy])[0]
        box = a.get_window_extent(renderer)
        gap = np.hypot(max(box.x0 - town[0], 0, town[0] - box.x1), max(box.y0 - town[1], 0, town[1] - box.y1))
        assert gap <= 3 * 4 * 90 / 72 * 1.5, (a.get_text(), gap)
    # the same map, the same places
    again = draw.MapView(DashboardModel(cluster=cluster, n_firms=60, seed=0)).town_labels
    assert [(a.get_text(), a.xyann) for a in again] == [(a.get_text(), a.xyann) for a in labels]


def test_labels_of_points_close_together_are_spread_apart():
    from matplotlib.figure import Figure

    from viz.labels import overlaps, place_labels
    fig = Figure(figsize=(4, 4), dpi=90)
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    x, y = [5.0, 5.4, 5.0, 5.4, 4.6], [5.0, 5.0, 5.4, 5.4, 5.0]
    labels = place_labels(ax, x, y, ["Khomeinishahr", "Adrian", "Dorcheh", "Falavarjan", "Najafabad"], fontsize=7)
    assert overlaps(labels) == [] and len(labels) == 5
    assert len({a.xyann for a in labels}) > 1  # not all in the same place around their points
    # a point alone takes the first choice: above right
    alone = place_labels(ax, [1.0], [9.0], ["Kashan"], fontsize=7)
    assert alone[0].xyann == (4.0, 4.0) and overlaps([*labels, *alone]) == []


def test_each_slider_shows_its_value_in_its_label():
    from viz import app
    params = app.model_params()
    assert params["budget"]["label"] == "Budget [wage-months]: 600"
    assert params["subsidy_rate"]["label"] == "Subsidy rate (share of cost): 50%"
    assert params["events_per_year"]["label"] == "Networking events a year: 6"
    assert params["duration_months"]["label"] == "CDA duration [months]: 36"
    assert params["n_firms"]["label"] == "Firms (all clusters together): 500"
    assert params["seed"]["label"] == "Seed: 0"
    assert params["policy"]["label"] == "Policy preset"  # (a list shows its choice already)
    try:
        app.choice["budget"].value = 1250.0
        app.choice["subsidy_rate"].value = 0.15000000000000002  # (as a slider's steps add up)
        app.choice["events_per_year"].value = 2.5
        app.choice["seed"].value = 1234
        params = app.model_params()
        assert params["budget"]["label"] == "Budget [wage-months]: 1,250"
        assert params["subsidy_rate"]["label"] == "Subsidy rate (share of cost): 15%"
        assert params["events_per_year"]["label"] == "Networking events a year: 2.5"
        assert params["seed"]["label"] == "Seed: 1234"
    finally:
        for name, var in app.choice.items():
            var.value = {"cluster": "generic", "policy": "standard_cda", "shock": "none", "seed": 0,
                         **app._defaults}[name]


def test_the_plots_carry_the_series_and_the_cdas_contract():
    m = DashboardModel(policy="long_cda", n_firms=120, seed=0).run(3)
    option = draw.plots_option(m)
    json.dumps(option)  # what the browser gets
    names = [t["text"] for t in option["title"]]
    assert names == ["Mean trust between partners [0-1]", "Joint actions [per month]",
                     "Network density [share of possible ties]", "Employment [workers]",
                     "Output (sales) [wage-months per month]", "Exports [wage-months per month]"]
    series = m.series()
    for line, (col, _, _) in zip(option["series"], draw.PLOTS):
        assert line["data"] == [[int(a), float(b)] for a, b in zip(series["month"], series[col])]
        assert line["markArea"]["data"] == [[{"xAxis": 12}, {"xAxis": 72}]]  # long_cda: months 12-72
    assert "markArea" not in draw.plots_option(DashboardModel(policy="none", n_firms=50, seed=0))["series"][0]


def test_the_model_never_imports_the_viewer():
    code = ("import sys; from model import ClusterModel; ClusterModel(rng=0, n_firms=20).run(1); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('viz', 'solara', 'altair')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_page_offers_the_presets_and_levers_and_presets_move_the_levers():
    from mesa.visualization.solara_viz import _check_model_params

    from viz import app
    params = app.model_params()
    assert params["policy"]["values"] == list(presets("policy"))
    assert (params["budget"]["min"], params["budget"]["max"]) == (0, 5000.0)
    _check_model_params(DashboardModel.__init__, params)  # Mesa's own check of the names
    try:
        app.choice["policy"].value = "trust_first"
        app._apply_preset_levers("policy")
        assert (app.choice["subsidy_rate"].value, app.choice["events_per_year"].value) == (0.0, 12.0)
        app.choice["cluster"].value = "towels_adrian"
        app._apply_preset_levers("cluster")
        assert app.choice["n_firms"].value == 300
        # what Mesa's Reset builds from the controls' values
        m = DashboardModel(**{k: v for k, v in app.choice.items()})
        assert m.params.policy == model_presets.policy("trust_first") and m.params.clusters[0].n_firms == 300
        assert app._pending(m) == []
        app.choice["budget"].value = 800.0
        assert app._pending(m) == ["budget"]
    finally:
        for name, var in app.choice.items():
            var.value = {"cluster": "generic", "policy": "standard_cda", "shock": "none", "seed": 0,
                         **app._defaults}[name]


# ------------------------------------------------------------------------------------- the command line
def test_a_port_in_use_gets_a_short_message(capsys):
    with socket.socket() as s:
        s.bind(("localhost", 0))
        s.listen()
        port = s.getsockname()[1]
        assert cli_main(["--port", str(port), "--no-open"]) == 2
    err = capsys.readouterr().err
    assert err == f"khusheh-viz: port {port} is in use; choose another with --port\n"


@pytest.mark.parametrize("port", ["abc", "70000"])
def test_a_bad_port_number_gets_a_short_message(port, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main(["--port", port])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "is not a port number" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------- in a browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


PLOT_PIXELS = "document.querySelector('.khusheh-plots canvas').toDataURL()"  # what the plots show


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _wait_for_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"khusheh-viz ended with status {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"khusheh-viz did not answer at {url} within {timeout:.0f} s:\n{log.read_text()}")


def _month(page) -> int:
    return int(page.locator(".khusheh-month").inner_text().split()[1])


def test_dashboard_in_headless_chromium(tmp_path):
    """Start khusheh-viz, open it in Chromium with no way out of this machine, step and play."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    url = f"http://localhost:{port}/"
    script = Path(sys.executable).with_name("khusheh-viz")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "viz.cli"]
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([*command, "--port", str(port), "--no-open"], cwd=tmp_path, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    outside: list[str] = []
    try:
        _wait_for_http(url, proc, log)
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                viewport={"width": 1500, "height": 1050}, timeout=60_000)
            try:
                page = browser.new_page()
                page.set_default_timeout(60_000)

                def only_this_machine(route):
                    if route.request.url.startswith((f"http://localhost:{port}/", f"ws://localhost:{port}/")):
                        route.continue_()
                    else:  # the page must not need the internet (no CDN, no telemetry)
                        outside.append(route.request.url)
                        route.abort()

                page.route("**/*", only_this_machine)
                page.goto(url)
                map_img = page.locator(".khusheh-map img")
                expect(map_img).to_be_visible(timeout=120_000)
                plot = page.locator(".khusheh-plots canvas")
                expect(plot).to_be_visible()
                expect(page.locator(".khusheh-month")).to_have_text("Month 0 of 120")
                expect(page.locator(".khusheh-phase")).to_have_text("CDA: no CDA at work")
                expect(page.locator(".khusheh-budget")).to_have_text("budget left 600 of 600 wage-months")
                # each slider shows its value without being dragged
                for text in ("Budget [wage-months]: 600", "Subsidy rate (share of cost): 50%", "Seed: 0"):
                    expect(page.locator(".v-input", has_text=text)).to_have_count(1)
                page.wait_for_function(f"() => {PLOT_PIXELS}.length > 5000")  # ECharts has drawn
                plot_before = page.evaluate(f"() => {PLOT_PIXELS}")
                map_before = map_img.get_attribute("src")

                page.get_by_role("button", name="Step", exact=True).click()
                expect(page.locator(".khusheh-month")).to_have_text("Month 1 of 120")
                page.wait_for_function(f"(old) => {PLOT_PIXELS} !== old", arg=plot_before)
                assert map_img.get_attribute("src") != map_before

                plot_step = page.evaluate(f"() => {PLOT_PIXELS}")
                page.get_by_role("button", name="▶", exact=True).click()
                page.wait_for_function(
                    "() => parseInt(document.querySelector('.khusheh-month').innerText.split(' ')[1]) >= 14",
                    timeout=180_000)
                page.get_by_role("button", name="❚❚", exact=True).click()
                expect(page.get_by_role("button", name="▶", exact=True)).to_be_visible()
                month = _month(page)
                assert month >= 14
                # month 13 onwards the CDA is at work: diagnostic first
                expect(page.locator(".khusheh-phase")).not_to_have_text("CDA: no CDA at work")
                page.wait_for_function(f"(old) => {PLOT_PIXELS} !== old", arg=plot_step)
                shots = [tmp_path / "dashboard-played.png", tmp_path / "dashboard-trust-first.png"]
                page.screenshot(path=str(shots[0]), full_page=True)

                # a policy preset chosen moves its levers; Reset builds the model with it
                page.locator(".v-select", has_text="Policy preset").click()
                page.get_by_role("option", name="trust_first", exact=True).click()
                expect(page.locator(".khusheh-pending")).to_contain_text("policy")
                # the preset moved the subsidy slider to its value, and its label says so
                expect(page.locator(".v-input", has_text="Subsidy rate (share of cost): 0%")).to_have_count(1)
                page.get_by_role("button", name="Reset", exact=True).click()
                expect(page.locator(".khusheh-month")).to_have_text("Month 0 of 120")
                expect(page.locator(".khusheh-settings")).to_contain_text(
                    "generic / trust_first / shock none; budget 600, subsidy 0%, 12 events a year, 36 months")
                expect(page.locator(".khusheh-pending")).to_have_count(0)
                page.get_by_role("button", name="Step", exact=True).click()
                expect(page.locator(".khusheh-month")).to_have_text("Month 1 of 120")

                page.screenshot(path=str(shots[1]), full_page=True)
                print("screenshots:", *shots)
                assert all(shot.stat().st_size > 10_000 for shot in shots)
            finally:
                browser.close()
        assert outside == []
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def test_ci_runs_exactly_the_readmes_test_command_which_installs_chromium():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme = (ROOT / "README.md").read_text()
    assert f"```bash\n{ci}\n```" in readme
    assert "apt-get install -y -qq poppler-utils chromium" in ci

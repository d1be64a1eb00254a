"""The dashboard page: Mesa's SolaraViz with the cluster map, live plots and the presets and levers.

Started by ``khusheh-viz`` (see :mod:`viz.cli`), which runs ``solara run viz.app``.
Each browser tab has its own model and its own settings (Solara's reactive
variables are per session).
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from conf import presets
from viz import draw
from viz.scenario import (
    DEFAULT_CLUSTER,
    DEFAULT_POLICY,
    DEFAULT_SHOCK,
    SEED_RANGE,
    DashboardModel,
    lever_values,
    levers,
    preset_params,
)

_defaults = lever_values(preset_params(DEFAULT_CLUSTER, DEFAULT_POLICY, DEFAULT_SHOCK))

# the settings, one reactive variable each: the controls are bound to them both ways
choice = {"cluster": solara.reactive(DEFAULT_CLUSTER), "policy": solara.reactive(DEFAULT_POLICY),
          "shock": solara.reactive(DEFAULT_SHOCK), "seed": solara.reactive(0),
          **{name: solara.reactive(value) for name, value in _defaults.items()}}


def model_params() -> dict:
    """SolaraViz's ``model_params``: the presets, the levers (ranges from model/params.py, widened to
    the chosen presets' values where those are higher) and the seed."""
    out = {group: {"type": "Select", "label": f"{group.capitalize()} preset", "value": choice[group],
                   "values": list(presets(group))} for group in ("cluster", "policy", "shock")}
    chosen = preset_params(choice["cluster"].value, choice["policy"].value, choice["shock"].value)
    for name, lv in levers(chosen).items():
        if lv.kind == "Select":
            out[name] = {"type": "Select", "label": lv.label, "value": choice[name], "values": list(lv.choices)}
        else:
            out[name] = {"type": lv.kind, "label": slider_label(name, lv.label, choice[name].value),
                         "value": choice[name], "min": lv.lo, "max": lv.hi, "step": lv.step}
    out["seed"] = {"type": "SliderInt", "label": slider_label("seed", "Seed", choice["seed"].value),
                   "value": choice["seed"], "min": SEED_RANGE[0], "max": SEED_RANGE[1], "step": 1}
    return out


def slider_label(name: str, label: str, value) -> str:
    """A slider's label with its value, so that it is read without dragging the slider ("Budget
    [wage-months]: 600"); the page is drawn again as a value changes (:func:`Page` reads every value)."""
    value = getattr(value, "value", value)  # (a control's reactive value)
    if name == "subsidy_rate":
        shown = f"{float(value):.0%}"
    elif isinstance(value, float) and not float(value).is_integer():
        shown = f"{value:,.2f}".rstrip("0").rstrip(".")
    else:
        shown = f"{int(value):,}" if name != "seed" else f"{int(value)}"
    return f"{label}: {shown}"


def _apply_preset_levers(group: str) -> None:
    """A newly chosen preset moves the levers it sets to its own values."""
    values = lever_values(preset_params(choice["cluster"].value, choice["policy"].value, choice["shock"].value))
    names = ["n_firms"] if group == "cluster" else [n for n in values if n != "n_firms"] if group == "policy" else []
    for name in names:
        choice[name].value = values[name]


def settings_text(c: dict) -> str:
    """The running model's settings in one line (the sliders show the values chosen, maybe not yet applied)."""
    if not c:
        return ""
    return (f"{c['cluster']} / {c['policy']} / shock {c['shock']}; budget {c['budget']:,.0f}, subsidy "
            f"{c['subsidy_rate']:.0%}, {c['events_per_year']:g} events a year, {c['duration_months']} months, "
            f"targeting {c['targeting']}, {c['n_firms']:,} firms, seed {c['seed']}")


def _pending(model) -> list[str]:
    """Settings chosen but not yet in the running model (they apply on Reset)."""
    built = getattr(model, "choice", {})
    return [name for name, var in choice.items() if name in built and var.value != built[name]]


@solara.component
def Status(model):
    """The month counter, the CDA's phase and budget, and settings waiting for Reset."""
    update_counter.get()
    cda = draw.cda_status(model)
    with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap", "gap": "1.2em"}):
        solara.Text(f"Month {model.month} of {model.params.months}", classes=["khusheh-month"],
                    style={"font-size": "1.3em", "font-weight": "bold"})
        solara.Text(f"CDA: {cda['phase_text']}", classes=["khusheh-phase"])
        if cda["budget"] > 0:
            solara.Text(f"budget left {cda['left']:,.0f} of {cda['budget']:,.0f} wage-months",
                        classes=["khusheh-budget"])
        else:
            solara.Text("no programme budget", classes=["khusheh-budget"])
    if cda["budget"] > 0:
        solara.ProgressLinear(value=100.0 * cda["left"] / cda["budget"], color="#E69F00")
    solara.Text(settings_text(getattr(model, "choice", {})), classes=["khusheh-settings"],
                style={"font-size": "0.85em", "color": "#555555"})
    pending = _pending(model)
    if pending:
        solara.Info(f"Changed: {', '.join(pending)}. Press Reset to build the model with them.", dense=True,
                    classes=["khusheh-pending"])


@solara.component
def MapPanel(model):
    """The regional map, redrawn each month (one PNG)."""
    update_counter.get()
    view = solara.use_memo(lambda: draw.MapView(model), [model])
    with solara.Column(classes=["khusheh-map"]):
        Status(model)
        solara.FigureMatplotlib(view.update(model), format="png", dependencies=[model, model.month])


@solara.component
def PlotsPanel(model):
    """Mean trust, joint actions, network density, employment, output and exports so far."""
    update_counter.get()
    option = solara.use_memo(lambda: draw.plots_option(model), [model, model.month])
    with solara.Column(classes=["khusheh-plots"]):
        solara.FigureEcharts(option=option, attributes={"style": "height: 520px; width: 100%"})


@solara.component
def Page():
    model = solara.use_memo(lambda: DashboardModel(**{k: v.value for k, v in choice.items()}), [])
    reactive_model = solara.use_reactive(model)
    # a preset chosen moves the levers it sets (the first run sets them to the defaults' values again)
    solara.use_effect(lambda: _apply_preset_levers("policy"), [choice["policy"].value])
    solara.use_effect(lambda: _apply_preset_levers("cluster"), [choice["cluster"].value])
    solara.Title("Khusheh")
    SolaraViz(reactive_model, components=[(MapPanel, 0), (PlotsPanel, 0)], model_params=model_params(),
              name="Khusheh: cluster programme dashboard", play_interval=50)


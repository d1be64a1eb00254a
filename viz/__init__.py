"""The dashboard: watch a run on Mesa's SolaraViz and try the levers by hand (``khusheh-viz``).

The viewer imports the model; the model never imports the viewer. ``viz.scenario``
and ``viz.draw`` work without a browser; ``viz.app`` is the Solara page and
``viz.cli`` starts it.
"""

"""Place map labels so that they do not collide: a deterministic greedy placement, plain matplotlib.

Each label (a town's name) takes the first of a fixed list of positions around its point (above right,
above left, below right, below left, above, below, right, left; then the same twice and three times as
far) whose box overlaps no label placed before it, no other point's marker and stays inside the axes.
Labels are placed in the order given, so the first (e.g. the cluster's own town) gets its first choice.
A label that finds no free place takes the position that overlaps least; one placed further out
than the first ring gets a thin leader line to its point. Nothing random: the same map
gets the same labels. (Used by the dashboard's map, :mod:`viz.draw`; it imports nothing but matplotlib
and NumPy, so the brief's figures can use it too.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

# (dx, dy) in points from the point, and the text's alignment there
_AROUND = ((1, 1, "left", "bottom"), (-1, 1, "right", "bottom"), (1, -1, "left", "top"), (-1, -1, "right", "top"),
           (0, 1.4, "center", "bottom"), (0, -1.4, "center", "top"), (1.4, 0, "left", "center"),
           (-1.4, 0, "right", "center"))
_MARKER_PX = 5.0  # half the side of a point's marker box [pixels]


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(ax: Axes, x: Sequence[float], y: Sequence[float], names: Sequence[str], distance: float = 4.0,
                 pad: float = 2.0, leaders: bool = True, **text) -> list[Annotation]:
    """Annotate each point (``x``, ``y`` in data coordinates) with its name, none overlapping another label,
    another point's marker or the axes' edge where a place around it allows. ``distance``: points between
    a point and its label; ``pad``: pixels kept clear around each label; ``leaders``: a thin line from a point to
    its label when the label had to move further than the first ring around it; ``text``: keyword arguments of
    ``ax.annotate`` (fontsize, bbox, zorder, ...). Call it once the axes' limits and aspect are set."""
    fig = ax.figure
    if not hasattr(fig.canvas, "get_renderer"):  # (a Figure made without pyplot: Agg measures the text)
        FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    ax.apply_aspect()  # (the axes' final place: an equal aspect moves it)
    frame = ax.get_window_extent(renderer)
    xy = ax.transData.transform(np.column_stack([np.asarray(x, float), np.asarray(y, float)])) \
        if len(names) else np.zeros((0, 2))
    markers = [Bbox.from_extents(px - _MARKER_PX, py - _MARKER_PX, px + _MARKER_PX, py + _MARKER_PX) for px, py in xy]
    placed: list[Bbox] = []
    out = []
    for k, name in enumerate(names):
        best = None  # (cost, annotation, box)
        for scale in (1, 2, 3):
            for dx, dy, ha, va in _AROUND:
                ann = ax.annotate(name, (x[k], y[k]), xytext=(dx * distance * scale, dy * distance * scale),
                                  textcoords="offset points", ha=ha, va=va, **text)
                box = ann.get_window_extent(renderer).padded(pad)  # (pad: room for a background box)
                cost = sum(_overlap(box, other) for other in placed)
                cost += sum(_overlap(box, m) for j, m in enumerate(markers) if j != k)
                outside = box.width * box.height - _overlap(box, frame)
                cost += outside
                if best is None or cost < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (cost, ann, box)
                else:
                    ann.remove()
                if cost == 0:
                    break
            if best[0] == 0:
                break
        placed.append(best[2])
        out.append(best[1])
        if leaders and np.hypot(*best[1].xyann) > 1.5 * 1.4 * distance:  # (beyond the first ring: a leader)
            box = best[2]
            near = (min(max(xy[k][0], box.x0), box.x1), min(max(xy[k][1], box.y0), box.y1))
            ends = ax.transData.inverted().transform([xy[k], near])
            ax.plot(ends[:, 0], ends[:, 1], color="#333333", lw=0.6, zorder=text.get("zorder", 3) - 0.1)
    return out


def overlaps(labels: Sequence[Annotation]) -> list[tuple[str, str]]:
    """The pairs of labels whose boxes (their text) overlap on the drawn figure."""
    if not labels:
        return []
    fig = labels[0].figure
    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in labels]
    return [(labels[i].get_text(), labels[j].get_text()) for i in range(len(labels)) for j in range(i + 1, len(labels))
            if _overlap(boxes[i], boxes[j]) > 0]

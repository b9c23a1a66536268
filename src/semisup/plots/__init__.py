"""Figures: run plots (``plot_run``), decision boundaries, benchmark curves (``plot_benchmark``),
active-learning curves (``plot_active_curves``).

Matplotlib figures are built without pyplot (``matplotlib.figure.Figure``), so the global backend is
never changed and PNGs are written with Agg.
"""

from semisup.plots.active import plot_active_curves
from semisup.plots.benchmark import plot_benchmark
from semisup.plots.run import plot_run

__all__ = ["plot_active_curves", "plot_benchmark", "plot_run"]

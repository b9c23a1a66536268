"""Figures: run plots (``plot_run``), decision boundaries, benchmark curves (``plot_benchmark``).

Matplotlib figures are built without pyplot (``matplotlib.figure.Figure``), so the global backend is
never changed and PNGs are written with Agg.
"""

from semisup.plots.benchmark import plot_benchmark
from semisup.plots.run import plot_run

__all__ = ["plot_benchmark", "plot_run"]

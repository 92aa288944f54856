"""One figure style for the whole book (a leaf module: nothing in pnlib depends on it).

Rules (after QuantEcon's): lines 2 pt wide, lowercase axis labels with units, spines kept, no
titles (captions live in the notebook cell's metadata), one default figure size.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

from pnlib.paths import figures_dir

PALETTE = {
    "theory": "#2a9d8f",
    "actual": "#1d3557",
    "prediction": "#e63946",
    "bound": "#8d99ae",
    "accent": "#f4a261",
    "train": "#457b9d",
    "test": "#e76f51",
}
"""Colours with a fixed meaning across chapters (theory curves, measured curves, limits)."""


def use_book_style() -> None:
    """Set matplotlib's rcParams to the book's style (idempotent).

    Example:
        >>> use_book_style()
        >>> mpl.rcParams["lines.linewidth"]
        2.0
    """
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.8),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "lines.linewidth": 2.0,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": True,
            "axes.spines.right": True,
            "axes.prop_cycle": mpl.cycler(
                color=["#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#8d99ae", "#6a4c93"]
            ),
            "legend.frameon": False,
            "font.size": 11,
            "mathtext.fontset": "cm",
        }
    )


def maybe_save(fig: plt.Figure, name: str, *, notebook: str, enabled: bool) -> None:
    """Save ``fig`` as ``figures/<notebook>/<name>.pdf`` when ``enabled`` (the SAVE_FIGS switch).

    Args:
        fig: The figure.
        name: Kebab-case figure name, e.g. ``"fig-slq-vs-exact"``.
        notebook: Stem of the notebook that draws it.
        enabled: Whether to save at all; the book build leaves it off.
    """
    if enabled:
        fig.savefig(figures_dir(notebook) / f"{name}.pdf")


def mark_limit(ax: plt.Axes, x: float, label: str, *, color: str | None = None) -> None:
    """Draw a labelled vertical line at a pruning limit.

    Args:
        ax: Axes to draw on.
        x: Position on the x axis.
        label: Legend label.
        color: Line colour; default the "prediction" colour.
    """
    ax.axvline(x, color=color or PALETTE["prediction"], linestyle="--", linewidth=1.5, label=label)

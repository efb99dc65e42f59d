"""Figures for the dashboard as inline SVG (matplotlib, text kept as text so pages stay small
and searchable)."""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

TREATED = "#1f6f8b"
CONTROL = "#8a8a8a"


def svg(fig) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), then closed."""
    buffer = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def time_courses(t_days: np.ndarray, panels: Sequence[dict], title: str, treated_label: str,
                 control_label: str, band_label: str) -> str:
    """Small multiples: per panel a typical-subject line for each arm and a treated band.

    Each panel is ``{"label", "typical", "control", "low", "high"}`` with arrays over ``t_days``.
    """
    ncol = 3
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 3.0 * nrow), sharex=True, squeeze=False)
    months = np.asarray(t_days) / 30.4375
    for ax, panel in zip(axes.flat, panels):
        ax.fill_between(months, panel["low"], panel["high"], color=TREATED, alpha=0.18, lw=0, label=band_label)
        ax.plot(months, panel["control"], color=CONTROL, ls="--", lw=1.5, label=control_label)
        ax.plot(months, panel["typical"], color=TREATED, lw=2, label=treated_label)
        ax.set_title(panel["label"], fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("months after first injection")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.93 if nrow > 1 else 0.86))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="upper center", ncol=3, fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 0.965 if nrow > 1 else 0.93))
    return svg(fig)


def arm_means(x: np.ndarray, series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], title: str,
              xlabel: str, ylabel: str) -> str:
    """One line per arm with an error band: ``series[name] = (mean, low, high)``."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    colours = plt.cm.viridis(np.linspace(0.1, 0.85, max(len(series), 1)))
    for (name, (mean, low, high)), colour in zip(series.items(), colours):
        if name.lower().startswith(("placebo", "saline")):
            colour = CONTROL
        ax.plot(x, mean, marker="o" if len(x) <= 15 else None, lw=2, color=colour, label=name)
        ax.fill_between(x, low, high, color=colour, alpha=0.15, lw=0)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return svg(fig)


def selection_bars(dose_levels: np.ndarray, pct_selected: np.ndarray, truth: np.ndarray, target: float,
                   title: str) -> str:
    """% of simulated trials selecting each dose, with the true P(DLT) on a second axis."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    ax.bar(dose_levels, pct_selected, color=TREATED, alpha=0.8, label="% selected as MTD")
    ax.set_xlabel("dose level")
    ax.set_ylabel("% of trials selecting the dose")
    ax.set_xticks(dose_levels)
    right = ax.twinx()
    right.plot(dose_levels, truth, color="#b5442f", marker="o", label="true P(DLT)")
    right.axhline(target, color="#b5442f", ls=":", lw=1, label=f"target {target:g}")
    right.set_ylabel("true P(DLT)")
    right.set_ylim(0, max(1.0, float(np.max(truth)) * 1.05))
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper left")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return svg(fig)

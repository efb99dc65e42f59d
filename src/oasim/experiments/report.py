"""Figures and the HTML report of a preclinical experiment (matplotlib Agg, PNG bytes — the
program stages embed them too), rendered with the project's report document
(:mod:`oasim.report.document`).

Assay: bar = group mean, error bar = SD, points = wells, stars = p against the reference.
Mouse: OARSI (and synovitis) mean ± SD over weeks per group, points = mice.
Explant: % GAG and collagen released over days per group.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..report.document import Document, Figure, Preformatted, Section
from ..report.figures import to_png
from .bench import stars

COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
LABELS = {"viability_pct": "viability (% of control)", "oarsi": "OARSI score (0-6)", "synovitis": "synovitis (0-3)"}


def assay_bars(wells: pd.DataFrame, stats: pd.DataFrame, hour: float, groups: list[str]) -> bytes:
    """One panel per readout at ``hour``: bars (mean), error bars (SD), points (wells), stars."""
    block = wells[wells.hour == hour]
    readouts = list(dict.fromkeys(block.readout))
    fig, axes = plt.subplots(1, len(readouts), figsize=(2.6 * len(readouts), 3.6), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, readout in zip(axes[0], readouts):
        for k, g in enumerate(groups):
            v = block[(block.readout == readout) & (block.group == g)].value.to_numpy()
            ax.bar(k, v.mean(), color=COLOURS[k % len(COLOURS)], alpha=0.75, yerr=v.std(ddof=1) if v.size > 1 else 0,
                   capsize=3)
            ax.scatter(k + rng.uniform(-0.15, 0.15, v.size), v, s=10, color="black", zorder=3)
            p = stats[(stats.hour == hour) & (stats.readout == readout) & (stats.group == g)].p_value
            if len(p):
                ax.text(k, v.max() * 1.05 if v.size else 0, stars(float(p.iloc[0])), ha="center", fontsize=8)
        ax.set_title(LABELS.get(readout, f"{readout} (fold)"), fontsize=9)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(groups, rotation=60, ha="right", fontsize=7)
    fig.suptitle(f"{hour:g} h", fontsize=10)
    return to_png(fig)


def time_courses(frame: pd.DataFrame, time_col: str, readouts: tuple[str, ...], groups: list[str],
                 xlabel: str) -> bytes:
    """Mean ± SD over time per group, one panel per readout, individual points shown."""
    fig, axes = plt.subplots(1, len(readouts), figsize=(4.2 * len(readouts), 3.4), squeeze=False)
    for ax, readout in zip(axes[0], readouts):
        for k, g in enumerate(groups):
            d = frame[(frame.readout == readout) & (frame.group == g)]
            agg = d.groupby(time_col).value.agg(["mean", "std"]).reset_index()
            c = COLOURS[k % len(COLOURS)]
            ax.errorbar(agg[time_col], agg["mean"], yerr=agg["std"], color=c, marker="o", capsize=3, label=g)
            ax.scatter(d[time_col] + 0.08 * (k - len(groups) / 2), d.value, s=6, color=c, alpha=0.4)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(LABELS.get(readout, readout))
    axes[0][0].legend(fontsize=7)
    return to_png(fig)


def write_html(path: Path, title: str, subtitle: str, sections: list[tuple[str, str, list[tuple[str, str]]]],
               provenance: dict) -> Path:
    """``sections``: (heading, the result's text summary, [(figure caption, PNG bytes)])."""
    blocks = [Section(heading, [*(Figure(caption, png) for caption, png in figures),
                                *([Preformatted(text)] if text else [])])
              for heading, text, figures in sections]
    return Document(title, subtitle, blocks, [f"{k}: {v}" for k, v in provenance.items()]).write(path)

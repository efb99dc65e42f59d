"""Figures of a lot's QC: flow histogram overlays, NTA distribution, trilineage, Western.

Each function takes a result and returns a matplotlib Figure (Agg backend, no display).
Flow intensities are shown on an arcsinh scale (cofactor 150) so compensated values near
or below zero stay visible.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from oasim.qc.criteria import EXOSOME_SIZE_MAX_NM, EXOSOME_SIZE_MIN_NM  # noqa: E402
from oasim.qc.isct import IdentityResult  # noqa: E402
from oasim.qc.nta import NtaResult  # noqa: E402
from oasim.qc.protein import WesternResult  # noqa: E402
from oasim.qc.trilineage import TrilineageResult  # noqa: E402

ASINH_COFACTOR = 150.0
PASS_COLOUR, FAIL_COLOUR = "#1b7837", "#b2182b"


def _asinh(x: np.ndarray) -> np.ndarray:
    return np.arcsinh(np.asarray(x, dtype=float) / ASINH_COFACTOR)


def flow_overlays(identity: IdentityResult):
    """Histogram of each marker's stained tube over its isotype/FMO control."""
    calls = {c.marker: c for c in identity.calls}
    ms = identity.measurements
    ncol = 4
    nrow = max(1, int(np.ceil(len(ms) / ncol)))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
    for ax in axes.flat[len(ms):]:
        ax.set_visible(False)
    for ax, m in zip(axes.flat, ms):
        stained, control = _asinh(m.stained), _asinh(m.control)
        lo = min(stained.min(), control.min())
        hi = max(stained.max(), control.max())
        bins = np.linspace(lo, hi, 80)
        ax.hist(control, bins=bins, color="0.6", alpha=0.6, label="control")
        ax.hist(stained, bins=bins, histtype="step", lw=1.5, color="#2166ac", label="stained")
        if np.isfinite(m.threshold):
            ax.axvline(_asinh(m.threshold), color="k", ls="--", lw=1)
        call = calls.get(m.spec.marker)
        colour = "k" if call is None else (PASS_COLOUR if call.passed else FAIL_COLOUR)
        ax.set_title(f"{m.spec.marker}: {m.percent_positive:.1f}% +", color=colour, fontsize=10)
        ax.set_xlabel(f"asinh({m.spec.channel}/{ASINH_COFACTOR:g})", fontsize=8)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7, frameon=False)
    fig.suptitle("Flow cytometry vs isotype/FMO control (dashed: gate)", fontsize=11)
    fig.tight_layout()
    return fig


def nta_distribution(nta: NtaResult):
    """NTA size distribution with the 30-150 nm window and D10/D50/D90."""
    d = nta.distribution
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.fill_between(d.size_nm, d.concentration_particles_per_ml, step="mid", color="#92c5de")
    ax.plot(d.size_nm, d.concentration_particles_per_ml, drawstyle="steps-mid", color="#2166ac")
    ax.axvspan(EXOSOME_SIZE_MIN_NM, EXOSOME_SIZE_MAX_NM, color="0.85", zorder=0,
               label="30-150 nm")
    top = ax.get_ylim()[1]
    for k, (name, x) in enumerate((("D10", nta.d10_nm), ("D50", nta.d50_nm), ("D90", nta.d90_nm))):
        ax.axvline(x, color="k", ls=":", lw=1)
        ax.text(x, top * (0.96 - 0.08 * k), f" {name} {x:.0f}", fontsize=7)
    share = np.cumsum(d.concentration_particles_per_ml) / d.concentration_particles_per_ml.sum()
    ax.set_xlim(0, 1.3 * float(d.size_nm[np.searchsorted(share, 0.999)]))
    ax.set_xlabel("size [nm]")
    ax.set_ylabel("particles/mL per bin")
    ax.set_title(f"NTA: mode {nta.mode_size_nm:.0f} nm, {nta.particles_per_ml:.2e} particles/mL",
                 fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def trilineage_bars(trilineage: TrilineageResult):
    """Fold over undifferentiated control per stain, with the pass line."""
    from oasim.qc.criteria import TRILINEAGE_MIN_FOLD

    t = trilineage.table
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    labels = [f"{r.lineage}\n" + textwrap.fill(str(r.stain), 20) for r in t.itertuples()]
    colours = [PASS_COLOUR if p else FAIL_COLOUR for p in t.passed]
    ax.bar(range(len(t)), t.fold_over_control, color=colours)
    ax.axhline(TRILINEAGE_MIN_FOLD.value, color="k", ls="--", lw=1)
    ax.set_xticks(range(len(t)), labels, fontsize=7)
    ax.set_ylabel("fold over control")
    ax.set_title("Trilineage differentiation (dashed: pass limit)", fontsize=10)
    fig.tight_layout()
    return fig


def western_bars(western: WesternResult):
    """Signal-to-background per protein in exosome and cell-lysate lanes."""
    from oasim.qc.criteria import WESTERN_MIN_SIGNAL_TO_BACKGROUND

    t = western.table
    x = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    ax.bar(x - 0.2, t.exosome_signal_to_background, 0.4, label="exosome", color="#2166ac")
    ax.bar(x + 0.2, t.lysate_signal_to_background, 0.4, label="cell lysate", color="0.6")
    ax.axhline(WESTERN_MIN_SIGNAL_TO_BACKGROUND.value, color="k", ls="--", lw=1)
    ax.set_xticks(x, t.protein)
    ax.set_yscale("log")
    ax.set_ylim(0.5, None)
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([0.5, 1, 3, 10, 30, 100, 300]))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_ylabel("signal / blank")
    ax.set_title("Western blot densitometry (dashed: detection limit)", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def to_png(fig) -> bytes:
    """Render a figure to PNG bytes and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()

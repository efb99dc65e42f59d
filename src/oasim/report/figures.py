"""Report figures (matplotlib, Agg) as PNG bytes: forest, means by visit, spaghetti, CONSORT flow, dose-response."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..errors import FieldError  # noqa: E402


def to_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def forest(diffs: pd.DataFrame, xlabel: str, benefit: str | None = None) -> bytes:
    """Differences vs control with CIs; one row per (label) in ``diffs`` (columns label, estimate,
    ci_low, ci_high), top to bottom in the given order."""
    n = len(diffs)
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * n + 1.3))
    y = np.arange(n)[::-1]
    est = diffs["estimate"].to_numpy(float)
    ax.errorbar(est, y, xerr=[est - diffs["ci_low"].to_numpy(float), diffs["ci_high"].to_numpy(float) - est],
                fmt="s", color="#1f4e79", capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, diffs["label"].tolist())
    ax.set_xlabel(xlabel)
    if benefit:
        ax.set_title(benefit, fontsize=9, loc="left")
    return to_png(fig)


def mean_by_visit(desc: pd.DataFrame, arms: list[str], labels: dict, ylabel: str, level: float = 0.95) -> bytes:
    """Mean ± two-sided t-CI at ``level`` per arm over visits (x = AVISITN), from the descriptive
    table (columns arm, visit, visitn, n, mean, sd): half-width t(1 - (1 - level)/2, n - 1)·sd/√n.
    The legend's title gives the level ("mean ± 90% t-CI")."""
    from scipy import stats

    from ..analysis._common import level_text

    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise FieldError("level", level, "0 < level < 1 (a two-sided confidence level, e.g. 0.95)")
    label = level_text(1 - level)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for k, arm in enumerate(arms):
        d = desc[desc["arm"] == arm].sort_values("visitn")
        half = stats.t.ppf(1 - (1 - level) / 2, np.maximum(d["n"] - 1, 1)) * d["sd"] / np.sqrt(d["n"])
        ax.errorbar(d["visitn"] + 0.06 * (k - len(arms) / 2), d["mean"], yerr=half, marker="o", capsize=3,
                    label=labels.get(arm, arm))
    ax.set_xticks(sorted(desc["visitn"].unique()), [str(v) for v in desc.drop_duplicates("visitn")
                                                     .sort_values("visitn")["visit"]], rotation=30)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, title=f"mean ± {label} t-CI", title_fontsize=8)
    return to_png(fig)


def spaghetti(records: pd.DataFrame, treatment: str, arms: list[str], labels: dict, response: str,
              max_per_arm: int = 60) -> bytes:
    """Individual trajectories of ``response`` over AVISITN, one panel per arm (≤ max_per_arm
    subjects drawn per panel: the first by USUBJID, so the figure is deterministic)."""
    fig, axes = plt.subplots(1, len(arms), figsize=(3.0 * len(arms) + 0.6, 3.4), sharey=True, squeeze=False)
    for ax, arm in zip(axes[0], arms):
        d = records[records[treatment] == arm].sort_values(["USUBJID", "AVISITN"])
        for k, (_, g) in enumerate(d.groupby("USUBJID", sort=True)):
            if k >= max_per_arm:
                break
            ax.plot(g["AVISITN"], g[response], color="#1f4e79", alpha=0.35, lw=0.8)
        mean = d.groupby("AVISITN")[response].mean()
        ax.plot(mean.index, mean.to_numpy(), color="#b2182b", lw=2.2)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(labels.get(arm, arm), fontsize=9)
        ticks = records.drop_duplicates("AVISITN").sort_values("AVISITN")
        ax.set_xticks(ticks["AVISITN"].to_numpy(float), ticks["AVISIT"].astype(str).tolist(), rotation=40, fontsize=7)
    axes[0][0].set_ylabel(response)
    return to_png(fig)


def consort(screened: int, failures: dict, arms: list[dict]) -> bytes:
    """CONSORT-style flow: screened → excluded (by reason) → randomised → per arm allocated,
    discontinued (by reason), analysed. ``arms``: dicts with label, allocated, discontinued
    (dict reason → n), analysed."""
    n_arms = len(arms)
    width = max(8.0, 2.6 * n_arms)
    fig, ax = plt.subplots(figsize=(width, 6.2))
    ax.set_xlim(0, width)
    ax.set_ylim(0, 10)
    ax.axis("off")
    style = dict(ha="center", va="center", fontsize=8.5, bbox=dict(boxstyle="round,pad=0.4", fc="#f4f6fa", ec="#1f4e79"))
    randomised = sum(a["allocated"] for a in arms)
    mid = width / 2
    ax.text(mid, 9.3, f"Assessed for eligibility (n = {screened})", **style)
    reasons = "\n".join(f"{k.replace('_', ' ')}: {v}" for k, v in failures.items() if v)
    ax.text(mid + width / 4, 8.1, f"Excluded (n = {screened - randomised})" + (f"\n{reasons}" if reasons else ""),
            **{**style, "fontsize": 8})
    ax.text(mid, 6.9, f"Randomised (n = {randomised})", **style)
    ax.annotate("", xy=(mid, 7.2), xytext=(mid, 9.0), arrowprops=dict(arrowstyle="->", color="#555"))
    ax.annotate("", xy=(mid + width / 4 - 0.75, 8.1), xytext=(mid, 8.1), arrowprops=dict(arrowstyle="->", color="#555"))
    for k, arm in enumerate(arms):
        x = width * (k + 0.5) / n_arms
        ax.annotate("", xy=(x, 5.9), xytext=(mid, 6.6), arrowprops=dict(arrowstyle="->", color="#555"))
        ax.text(x, 5.5, f"{arm['label']}\nallocated n = {arm['allocated']}", **style)
        lost = sum(arm["discontinued"].values())
        why = "\n".join(f"{r.lower()}: {n}" for r, n in arm["discontinued"].items() if n)
        ax.text(x, 3.6, f"discontinued n = {lost}" + (f"\n{why}" if why else ""), **{**style, "fontsize": 8})
        ax.text(x, 1.6, f"analysed n = {arm['analysed']}", **style)
        ax.annotate("", xy=(x, 4.0), xytext=(x, 5.1), arrowprops=dict(arrowstyle="->", color="#555"))
        ax.annotate("", xy=(x, 1.9), xytext=(x, 3.2), arrowprops=dict(arrowstyle="->", color="#555"))
    return to_png(fig)


def dose_response(arms: pd.DataFrame, curves: dict, dose_label: str, ylabel: str, level: str,
                  shapes: dict | None = None) -> bytes:
    """Arm means with the intervals given (drawn as they are), against dose, with fitted MCP-Mod curves.

    ``arms``: index dose, columns mean, ci_lower, ci_upper (the table the figure summarises);
    ``level``: its confidence level as text ("95%"). ``curves``: name → callable(dose) giving the
    fitted mean response (with its intercept)."""
    d = arms.index.to_numpy(float)
    mean = arms["mean"].to_numpy(float)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.errorbar(d, mean, yerr=[mean - arms["ci_lower"].to_numpy(float), arms["ci_upper"].to_numpy(float) - mean],
                fmt="o", color="black", capsize=3, label=f"arm mean ± {level} CI")
    grid = np.linspace(0, d.max(), 200)
    for name, curve in curves.items():
        ax.plot(grid, curve(grid), lw=1.6, label=name)
    for name, curve in (shapes or {}).items():  # candidate shapes, drawn when none was fitted
        ax.plot(grid, curve(grid), lw=1.0, ls="--", label=f"{name} (candidate)")
    ax.set_xlabel(dose_label)
    ax.set_ylabel(ylabel)
    ax.axhline(0, color="grey", lw=0.6)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return to_png(fig)

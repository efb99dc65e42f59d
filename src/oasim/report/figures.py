"""Trial figures (matplotlib, Agg): trajectories, waterfall, MRI change, as PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import pandas as pd  # noqa: E402

from ..trial.analyse import arm_order as _arm_order  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def trajectories(change: pd.DataFrame, paramcd: str, label: str, months: dict[int, float]) -> bytes:
    """Mean change from baseline ± 95% CI per arm over visits."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    data = change[change["paramcd"] == paramcd]
    for k, arm in enumerate(_arm_order(data["arm"])):  # same order and colours in every figure
        d = data[data["arm"] == arm].sort_values("visitnum")
        x = np.r_[0.0, [months[v] for v in d["visitnum"]]] + 0.08 * (k - 1)
        y = np.r_[0.0, d["mean_chg"]]
        lo = np.r_[0.0, d["ci_low"]]
        hi = np.r_[0.0, d["ci_high"]]
        ax.errorbar(x, y, yerr=[y - lo, hi - y], marker="o", capsize=3, label=f"{arm}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("month")
    ax.set_ylabel(f"change from baseline: {label}")
    ax.legend(fontsize=8)
    ax.set_title(f"{label}: mean change ± 95% CI")
    return _png(fig)


def waterfall(adqs: pd.DataFrame, paramcd: str, visitnum: int, label: str) -> bytes:
    """Individual change at the primary visit, sorted, coloured by arm."""
    d = adqs[(adqs["PARAMCD"] == paramcd) & (adqs["AVISITN"] == visitnum)].dropna(subset=["CHG"])
    d = d.sort_values("CHG", ascending=False)
    arms = _arm_order(d["TRT01P"])
    colours = {a: plt.cm.tab10(i) for i, a in enumerate(arms)}
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    ax.bar(np.arange(len(d)), d["CHG"], color=[colours[a] for a in d["TRT01P"]])
    ax.legend(handles=[Patch(color=colours[a], label=a) for a in arms], fontsize=8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("subjects (sorted)")
    ax.set_ylabel(f"change: {label}")
    ax.set_title(f"Waterfall of individual change, {label}")
    return _png(fig)

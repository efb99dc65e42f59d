"""Operating characteristics of a dose-escalation design: the result of simulating it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class OperatingCharacteristics:
    """How a design behaves under one true dose-toxicity scenario.

    Parameters
    ----------
    design : str
        Label of the design.
    truth : tuple of float
        True DLT probability at each dose.
    method : str
        ``"monte_carlo"`` or ``"exact"`` (enumeration of every trial path).
    n_trials : int or None
        Simulated trials (None when exact).
    seed : int or None
        Seed of the generator, when the caller gave an integer.
    prob_select : ndarray, shape (doses,)
        Probability that each dose is recommended as the MTD.
    prob_no_dose : float
        Probability that the trial ends with no dose recommended (stopped early for toxicity).
    mean_n, mean_dlt : ndarray, shape (doses,)
        Expected subjects and DLTs at each dose.
    elapsed_s : float
        Wall time of the computation [s].
    target : float or None
        Target DLT probability, when the design has one.
    """

    design: str
    truth: tuple[float, ...]
    method: str
    n_trials: int | None
    seed: int | None
    prob_select: np.ndarray
    prob_no_dose: float
    mean_n: np.ndarray
    mean_dlt: np.ndarray
    elapsed_s: float
    target: float | None = None

    @property
    def mean_total_n(self) -> float:
        return float(self.mean_n.sum())

    @property
    def mean_total_dlt(self) -> float:
        return float(self.mean_dlt.sum())

    @property
    def overall_dlt_rate(self) -> float:
        """Expected DLTs over expected subjects, pooled across trials."""
        return self.mean_total_dlt / self.mean_total_n if self.mean_total_n else float("nan")

    @property
    def prob_select_se(self) -> np.ndarray:
        """Monte-Carlo standard error of each selection probability (zeros when exact)."""
        if self.n_trials is None:
            return np.zeros_like(self.prob_select)
        return np.sqrt(self.prob_select * (1 - self.prob_select) / self.n_trials)

    def to_frame(self) -> pd.DataFrame:
        """One row per dose: true probability, % selected, mean subjects and DLTs."""
        return pd.DataFrame(
            {
                "dose": np.arange(1, len(self.truth) + 1),
                "true_prob_dlt": self.truth,
                "pct_selected": 100 * self.prob_select,
                "mean_n": self.mean_n,
                "mean_dlt": self.mean_dlt,
            }
        )

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}
        out["truth"] = list(self.truth)
        out.update(
            pct_selected=(100 * self.prob_select).tolist(),
            pct_no_dose=100 * self.prob_no_dose,
            mean_total_n=self.mean_total_n,
            mean_total_dlt=self.mean_total_dlt,
            overall_dlt_rate=self.overall_dlt_rate,
        )
        return out

    def summary(self) -> str:
        """A readable table of the operating characteristics."""
        how = f"{self.n_trials} simulated trials, seed {self.seed}" if self.n_trials else "exact enumeration"
        lines = [f"{self.design}: {how} ({self.elapsed_s:.2f} s)"]
        lines.append(self.to_frame().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines.append(
            f"% early stop (no MTD) {100 * self.prob_no_dose:.1f}; mean subjects {self.mean_total_n:.2f}; "
            f"mean DLTs {self.mean_total_dlt:.2f}; overall DLT rate {self.overall_dlt_rate:.3f}"
        )
        return "\n".join(lines)

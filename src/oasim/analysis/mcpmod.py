"""MCP-Mod dose finding: multiple contrast test over candidate models, then modelling.

Bretz, Pinheiro & Branson 2005 (Biometrics 61:738); Pinheiro, Bornkamp, Glimm & Bretz 2014
(Stat Med 33:1646); qualified by the EMA (2014). Step 1 (MCP): for each candidate shape μ⁰_m the
optimal contrast ``c_m ∝ S⁻¹(μ⁰_m − (1'S⁻¹μ⁰_m / 1'S⁻¹1) 1)`` of the arm means (S = diag(1/n_i)),
t statistics ``T_m``, and the multiplicity-adjusted test ``max T_m`` against the multivariate t
distribution of the contrasts (df = N − k, correlation from S). Step 2 (Mod): fit the
significant models by least squares, select by AIC or average with AIC weights, estimate the
target dose (smallest dose with effect over placebo ≥ Δ). Shapes as in R DoseFinding:
linear, emax(ED50), sigEmax(ED50, h), exponential(δ), quadratic(δ) with μ⁰ = d + δd².
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import optimize, stats

from oasim.analysis._common import inputs_hash, make_summary, require_columns
from oasim.errors import FieldError

__all__ = ["CANDIDATE_SHAPES", "McpModResult", "mcp_mod", "model_shape"]

CANDIDATE_SHAPES = ("linear", "emax", "sigemax", "exponential", "quadratic")


def model_shape(kind: str, dose: np.ndarray, params=()) -> np.ndarray:
    """Standardised candidate shape μ⁰(dose) (placebo 0, increasing)."""
    dose = np.asarray(dose, dtype=float)
    params = np.atleast_1d(np.asarray(params, dtype=float))
    if kind == "linear":
        return dose
    if kind == "emax":
        return dose / (params[0] + dose)
    if kind == "sigemax":
        return dose ** params[1] / (params[0] ** params[1] + dose ** params[1])
    if kind == "exponential":
        return np.expm1(dose / params[0])
    if kind == "quadratic":
        return dose + params[0] * dose**2
    raise FieldError("models", kind, f"one of {CANDIDATE_SHAPES}")


def _full_model(kind: str):
    """(function(dose, *theta), n_parameters) of the full model with e0 and scale."""
    if kind == "linear":
        return (lambda d, e0, slope: e0 + slope * d), 2
    if kind == "emax":
        return (lambda d, e0, emax, ed50: e0 + emax * d / (ed50 + d)), 3
    if kind == "sigemax":
        return (lambda d, e0, emax, ed50, h: e0 + emax * d**h / (ed50**h + d**h)), 4
    if kind == "exponential":
        return (lambda d, e0, e1, delta: e0 + e1 * np.expm1(d / delta)), 3
    return (lambda d, e0, b1, b2: e0 + b1 * d + b2 * d**2), 3


@dataclass(frozen=True, eq=False)
class McpModResult:
    """MCP-Mod test, fitted models and target dose.

    Attributes
    ----------
    contrasts : DataFrame
        Optimal contrast coefficients (rows: candidate models, columns: doses).
    tests : DataFrame
        Per candidate: ``t``, multiplicity-adjusted ``p_adjusted``, ``significant``.
    critical_value : float
        Multiplicity-adjusted critical value of max T at level ``alpha`` (one-sided).
    fits : DataFrame
        Significant models: parameters, AIC, weight, target dose.
    target_dose : float
        From the selected model (``selection="aic"``) or the AIC-averaged curve; NaN if no
        model is significant or Δ is never reached.
    """

    contrasts: pd.DataFrame = field(repr=False)
    tests: pd.DataFrame = field(repr=False)
    fits: pd.DataFrame = field(repr=False)
    arm_means: pd.DataFrame = field(repr=False)
    critical_value: float
    dose_response_detected: bool
    target_dose: float
    selection: str
    alpha: float
    inputs_hash: str
    model_result: object = field(repr=False, default=None)

    def to_frame(self) -> pd.DataFrame:
        """Per candidate model: test results joined with the fit (if significant)."""
        return self.tests.join(self.fits, how="left")

    def arm_mean_intervals(self, alpha: float = 0.05) -> pd.DataFrame:
        """``arm_means`` with ``df`` and the two-sided ``1 - alpha`` t intervals ``ci_lower``,
        ``ci_upper`` of each arm mean in the model the contrasts are tested in (one mean per dose,
        pooled residual SD, df = N - number of doses): statsmodels' ``conf_int`` of that fit."""
        fit = self.model_result
        limits = fit.conf_int(alpha=alpha).to_numpy()  # one row per dose, in sorted dose order as arm_means
        return self.arm_means.assign(df=float(fit.df_resid), ci_lower=limits[:, 0], ci_upper=limits[:, 1])

    def summary(self):
        """Printable summary."""
        info = {"Critical value": f"{self.critical_value:.4f}", "alpha (one-sided)": self.alpha,
                "Dose-response": self.dose_response_detected, "Target dose": f"{self.target_dose:.4g}",
                "Selection": self.selection, "Inputs hash": self.inputs_hash[:16]}
        tables = {"Arm means": self.arm_means, "Optimal contrasts": self.contrasts,
                  "Multiple contrast test": self.tests, "Fitted models": self.fits}
        return make_summary("MCP-Mod", tables, info)


def mcp_mod(
    df: pd.DataFrame,
    dose: str = "DOSE",
    response: str = "CHG",
    models: dict | None = None,
    alpha: float = 0.025,
    direction: str = "increasing",
    delta: float | None = None,
    selection: str = "aic",
    seed: int = 2014,
) -> McpModResult:
    """Run MCP-Mod on one row per subject.

    Parameters
    ----------
    df : DataFrame
        ``dose`` (numeric, placebo = 0, at least 3 distinct levels) and ``response`` (numeric,
        e.g. ``CHG`` at the primary visit); rows with missing values are dropped.
    models : dict, optional
        Candidate shapes and guesstimates, e.g. ``{"linear": None, "emax": [0.2, 1.0],
        "sigemax": [(0.5, 3.0)], "exponential": [0.5], "quadratic": [-0.6]}`` in dose units
        (ED50, (ED50, h), δ, δ). Default: guesses scaled to the maximum dose.
    alpha : float
        One-sided level of the multiple contrast test.
    direction : {"increasing", "decreasing"}
        Direction of benefit (pain scores: "decreasing").
    delta : float, optional
        Clinically relevant effect over placebo for the target dose (in the benefit direction).
    selection : {"aic", "average"}
        Select the best significant model by AIC, or average significant models with AIC weights.
    seed : int
        Seed of the quasi-Monte-Carlo multivariate t integration (results are reproducible).
    """
    require_columns(df, [dose, response])
    if direction not in ("increasing", "decreasing"):
        raise FieldError("direction", direction, "'increasing' or 'decreasing'")
    if selection not in ("aic", "average"):
        raise FieldError("selection", selection, "'aic' or 'average'")
    data = df[[dose, response]].dropna()
    anova = smf.ols(f"Q({response!r}) ~ 0 + C(Q({dose!r}))", data).fit()
    levels = np.array(sorted(data[dose].unique()), dtype=float)
    if len(levels) < 3 or levels[0] != 0 or anova.df_resid < 1:
        raise FieldError(f"df.{dose}", levels.tolist(), "at least 3 dose levels including placebo 0, and residual df")
    means = anova.params.to_numpy()
    counts = data.groupby(dose).size().reindex(levels).to_numpy(float)
    sign = 1.0 if direction == "increasing" else -1.0
    max_dose = levels[-1]
    if models is None:
        models = {"linear": None, "emax": [0.1 * max_dose, 0.3 * max_dose], "sigemax": [(0.4 * max_dose, 3.0)],
                  "exponential": [0.5 * max_dose], "quadratic": [-0.6 / max_dose]}
    candidates = []
    for kind, guesses in models.items():
        for guess in ([()] if guesses is None else list(guesses)):
            candidates.append((kind, guess))
    names = [kind if np.size(g) == 0 else f"{kind}{tuple(np.atleast_1d(g).round(4).tolist())}"
             for kind, g in candidates]
    inv_s = counts  # S = diag(1/n) -> S^-1 = diag(n)
    contrast_rows = []
    for kind, guess in candidates:
        mu = model_shape(kind, levels, guess)
        centred = mu - (inv_s @ mu) / inv_s.sum()
        c = inv_s * centred
        contrast_rows.append(c / np.linalg.norm(c))
    contrasts = np.array(contrast_rows)
    sigma2 = float(anova.mse_resid)
    scale = np.sqrt(sigma2 * np.sum(contrasts**2 / counts, axis=1))
    t_values = sign * contrasts @ means / scale
    cov = (contrasts / counts) @ contrasts.T
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    df_resid = float(anova.df_resid)
    cdf = _max_t_cdf(corr, float(anova.df_resid), seed)
    critical = optimize.brentq(lambda q: cdf(q) - (1 - alpha), 0.0, 10.0, xtol=1e-4)
    adjusted = np.array([1.0 - cdf(t) for t in t_values])
    tests = pd.DataFrame({"t": t_values, "p_adjusted": np.clip(adjusted, 0, 1),
                          "significant": t_values > critical}, index=names)
    fits, curves = _fit_models(data, dose, response, candidates, names, tests["significant"].to_numpy(), levels)
    target = np.nan
    if len(fits):
        fits["weight"] = np.exp(-(fits["aic"] - fits["aic"].min()) / 2)
        fits["weight"] /= fits["weight"].sum()
        grid = np.linspace(0, max_dose, 2001)
        fits["target_dose"] = [_target_dose(curves[n], grid, sign, delta) for n in fits.index]
        if selection == "aic":
            target = float(fits.loc[fits["aic"].idxmin(), "target_dose"])
        else:
            averaged = lambda d: sum(w * curves[n](d) for n, w in fits["weight"].items())  # noqa: E731
            target = _target_dose(averaged, grid, sign, delta)
    arm_means = pd.DataFrame({"n": counts.astype(int), "mean": means,
                              "se": np.sqrt(sigma2 / counts)}, index=pd.Index(levels, name=dose))
    return McpModResult(
        contrasts=pd.DataFrame(contrasts, index=names, columns=levels), tests=tests, fits=fits,
        arm_means=arm_means, critical_value=float(critical), dose_response_detected=bool(tests["significant"].any()),
        target_dose=target, selection=selection, alpha=alpha, model_result=anova,
        inputs_hash=inputs_hash(data, [dose, response], models=models, alpha=alpha, direction=direction,
                                delta=delta, selection=selection, seed=seed, model="mcpmod"),
    )


def _max_t_cdf(corr: np.ndarray, df_resid: float, seed: int, n_nodes: int = 10):
    """q -> P(max_m T_m <= q) for multivariate t contrasts (correlation may be singular).

    T = Z / W with Z ~ N(0, R) and W = sqrt(chi2_df / df), so the cdf is the mixture
    E_W[Φ_R(q W)], integrated by Gauss–Legendre on the probability scale of W. (SciPy's
    multivariate t cdf is inaccurate for the singular R that candidate sets usually give.)
    """
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    probs = 0.5 * (nodes + 1.0)
    scales = np.sqrt(stats.chi2.ppf(probs, df_resid) / df_resid)
    # a tiny ridge keeps Genz's algorithm on a full-rank matrix (changes probabilities < 1e-6)
    ridged = (1 - 1e-7) * corr + 1e-7 * np.eye(len(corr))
    normal = stats.multivariate_normal(mean=np.zeros(len(corr)), cov=ridged, seed=seed,
                                       maxpts=2000 * len(corr), abseps=1e-5, releps=0)

    def cdf(q: float) -> float:
        values = [normal.cdf(np.full(len(corr), q * w)) for w in scales]
        return float(0.5 * np.dot(weights, values))

    return cdf


def _fit_models(data, dose, response, candidates, names, significant, levels):
    x = data[dose].to_numpy(float)
    y = data[response].to_numpy(float)
    max_dose = levels[-1]
    rows, curves = {}, {}
    for (kind, guess), name, keep in zip(candidates, names, significant):
        if not keep:
            continue
        func, n_par = _full_model(kind)
        e0, span = float(y[x == 0].mean()), float(y[x == max_dose].mean() - y[x == 0].mean())
        start, bounds = _start_and_bounds(kind, np.atleast_1d(np.asarray(guess, float)), e0, span, max_dose)
        try:
            params, _ = optimize.curve_fit(func, x, y, p0=start, bounds=bounds, maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        rss = float(np.sum((y - func(x, *params)) ** 2))
        n = len(y)
        aic = n * np.log(rss / n) + n * (1 + np.log(2 * np.pi)) + 2 * (n_par + 1)
        rows[name] = {"model": kind, "parameters": np.round(params, 6).tolist(), "aic": aic}
        curves[name] = (lambda d, f=func, p=params: f(np.asarray(d, float), *p) - f(np.zeros(1), *p)[0])
    return pd.DataFrame.from_dict(rows, orient="index"), curves


def _start_and_bounds(kind, guess, e0, span, max_dose):
    free = (-np.inf, np.inf)
    if kind == "linear":
        return [e0, span / max_dose], free
    if kind == "quadratic":
        return [e0, span / max_dose, 0.0], free
    if kind == "emax":
        return [e0, span * 1.2, guess[0]], ([-np.inf, -np.inf, 1e-3 * max_dose], [np.inf, np.inf, 1.5 * max_dose])
    if kind == "sigemax":
        return [e0, span, *guess], ([-np.inf, -np.inf, 1e-3 * max_dose, 0.5], [np.inf, np.inf, 1.5 * max_dose, 10.0])
    return ([e0, span / np.expm1(max_dose / guess[0]), guess[0]],
            ([-np.inf, -np.inf, 0.1 * max_dose], [np.inf, np.inf, 2.0 * max_dose]))


def _target_dose(curve, grid, sign, delta) -> float:
    if delta is None:
        return np.nan
    effect = sign * curve(grid)
    reached = np.flatnonzero(effect >= delta)
    if len(reached) == 0:
        return np.nan
    k = reached[0]
    if k == 0:
        return float(grid[0])
    return float(optimize.brentq(lambda d: sign * curve(np.array([d]))[0] - delta, grid[k - 1], grid[k]))

"""The trial's analysis: what the seed study reported and what a statistician adds.

On an unblinded :class:`~oasim.data.TrialDataset` (simulated or real, same tables):

* change from baseline per arm, endpoint and visit (n, mean, SD, t-CI at 1 − alpha; paired t-test and
  Wilcoxon signed-rank with effect sizes via :func:`oasim.analysis.prepost`);
* ANCOVA of change at the primary visit on arm with baseline as covariate, every active arm vs
  pooled placebo (:func:`oasim.analysis.ancova`);
* MMRM of the primary endpoint over all post-baseline visits (unstructured covariance,
  Kenward–Roger df; :func:`oasim.analysis.mmrm`), when the data allow it;
* responders at the primary visit: OMERACT-OARSI (Pham 2004; WOMAC pain and function and the
  patient global, normalised to 0–100) and pain-VAS MCII responders (≥ 19.9 mm improvement,
  Tubach 2005), each active arm vs placebo (:func:`oasim.analysis.responders`);
* MCP-Mod dose-response on the primary endpoint's change at the primary visit, when there are
  at least two active dose levels (:func:`oasim.analysis.mcp_mod`);
* safety tables: subjects with ≥ 1 AE, by preferred term, maximum grade and dose, with
  Clopper–Pearson CIs (:func:`oasim.analysis.safety_table`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis import (ancova, mcid_responder, mcp_mod, mmrm, omeract_oarsi_responder, prepost, responders,
                        safety_table)
from ..analysis._common import level_text
from ..adam.engine import check_control, check_in_adsl, check_records
from ..data.tables import paramcd_of
from ..errors import DataError, OasimError

PLACEBO = "Placebo"
VAS_MCII_MM = 19.9  # Tubach 2005, knee OA pain VAS minimal clinically important improvement


def arm_order(arms) -> list:
    """Placebo first, then active arms by increasing dose (arm labels start with the dose)."""
    def dose_of(arm) -> float:
        try:
            return float(str(arm).split()[0])
        except ValueError:
            return float("inf")

    arms = list(dict.fromkeys(arms))
    active = sorted((a for a in arms if a != PLACEBO), key=lambda a: (dose_of(a), str(a)))
    return ([PLACEBO] if PLACEBO in arms else []) + active


@dataclass(frozen=True)
class TrialAnalysis:
    """Results objects of one trial analysis; ``summary()`` prints the key tables.

    ``alpha``: the analysis' two-sided level; every confidence interval is at ``1 - alpha``."""

    change: pd.DataFrame
    prepost: dict = field(repr=False)
    ancova: dict = field(repr=False)
    mmrm: object | None = field(repr=False)
    safety: object = field(repr=False)
    responders: dict = field(default_factory=dict, repr=False)
    dose_response: object | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)
    alpha: float = 0.05

    def summary(self) -> str:
        lines = [f"Change from baseline (mean [{level_text(self.alpha)} CI]) by arm:"]
        lines.append(self.change.to_string(index=False, max_rows=60))
        for code, res in self.ancova.items():
            lines += ["", f"ANCOVA {code}:", str(res.summary())]
        if self.mmrm is not None:
            lines += ["", "MMRM (primary endpoint):", str(self.mmrm.summary())]
        for name, res in self.responders.items():
            lines += ["", f"Responders ({name}):", str(res.summary())]
        if self.dose_response is not None:
            lines += ["", "MCP-Mod:", str(self.dose_response.summary())]
        lines += ["", "Safety:", str(self.safety.summary())]
        lines += self.notes
        return "\n".join(lines)


def change_from_baseline(adqs: pd.DataFrame, arm: str = "TRT01P", alpha: float = 0.05) -> pd.DataFrame:
    """n, mean value, mean change, SD, t-based CI of the change, per arm × PARAMCD × visit."""
    post = adqs[adqs["AVISITN"] > 0].dropna(subset=["CHG"])
    rows = []
    for (a, code, visit, visitn), g in post.groupby([arm, "PARAMCD", "AVISIT", "AVISITN"], sort=True):
        chg = g["CHG"].to_numpy(float)
        n = chg.size
        mean = float(chg.mean())
        sd = float(chg.std(ddof=1)) if n > 1 else np.nan
        half = stats.t.ppf(1 - alpha / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
        rows.append({"arm": a, "paramcd": code, "visit": visit, "visitnum": int(visitn), "n": n,
                     "mean_aval": float(g["AVAL"].mean()), "mean_base": float(g["BASE"].mean()),
                     "mean_chg": mean, "sd_chg": sd, "ci_low": mean - half, "ci_high": mean + half})
    return pd.DataFrame(rows)


def _with_scenario_codes(adqs: pd.DataFrame, names) -> pd.DataFrame:
    """ADQS records of the endpoints ``names`` with PARAMCD replaced by those names.

    A name is looked up as a PARAMCD first (real or hand-built data may use any code), then
    through the scenario's endpoint → PARAMCD table (``WOMAC_TOTAL`` → ``WOMTOT``).
    """
    present = set(adqs["PARAMCD"])
    code_of = {name: name if name in present else paramcd_of(name) for name in names}
    back = {code: name for name, code in code_of.items()}
    rows = adqs[adqs["PARAMCD"].isin(back)]
    return rows.assign(PARAMCD=rows["PARAMCD"].map(back))


def analyse(dataset, primary_endpoint: str, primary_visitnum: int, endpoints=(), alpha: float = 0.05,
            fit_mmrm: bool = True) -> TrialAnalysis:
    """Analyse an unblinded dataset.

    Endpoints are named as in the scenario (``WOMAC_TOTAL``) or by PARAMCD (``WOMTOT``); results
    are keyed by the names given. The records are checked first (one per subject, parameter and
    visit; every subject in ADSL; CHG = AVAL − BASE; a "Placebo" arm): a failure is an
    :class:`~oasim.errors.AdamError`.
    """
    if dataset.blinded:
        raise DataError("dataset", "is blinded: call dataset.unblind() first (an explicit unblinding step)")
    adsl, adae = dataset["ADSL"], dataset["ADAE"]
    notes: list[str] = []
    codes = list(dict.fromkeys([primary_endpoint, *endpoints]))
    check_in_adsl(dataset["ADQS"], adsl, "ADQS")
    adqs = _with_scenario_codes(dataset["ADQS"], codes)
    check_records(adqs, "ADQS")
    check_control(adsl["TRT01P"], PLACEBO, "ADSL", "TRT01P")
    change = change_from_baseline(adqs, alpha=alpha)

    prim = adqs[(adqs["PARAMCD"] == primary_endpoint) & (adqs["AVISITN"] == primary_visitnum)].dropna(subset=["CHG"])
    at_visit = adqs[adqs["AVISITN"] == primary_visitnum]
    pp, anc = {}, {}
    for code in codes:
        rows = at_visit[at_visit["PARAMCD"] == code]
        try:
            pp[code] = prepost(rows.dropna(subset=["AVAL", "BASE"]), pre="BASE", post="AVAL", arm="TRT01P",
                               alpha=alpha)
        except OasimError as exc:
            notes.append(f"pre/post {code}: {exc}")
        rows = rows.dropna(subset=["CHG", "BASE"])
        if rows["TRT01P"].nunique() < 2 or PLACEBO not in set(rows["TRT01P"]):
            notes.append(f"ANCOVA {code}: needs a placebo arm and at least one active arm")
            continue
        try:
            anc[code] = ancova(rows, response="CHG", treatment="TRT01P", baseline="BASE", control=PLACEBO, alpha=alpha)
        except OasimError as exc:
            notes.append(f"ANCOVA {code}: {exc}")
    mm = None
    if fit_mmrm and PLACEBO in set(prim["TRT01P"]):
        long = adqs[(adqs["PARAMCD"] == primary_endpoint) & (adqs["AVISITN"] > 0)].copy()
        order = long.sort_values("AVISITN")["AVISIT"].unique()
        long["AVISIT"] = pd.Categorical(long["AVISIT"], categories=order, ordered=True)
        try:
            mm = mmrm(long, response="CHG", treatment="TRT01P", visit="AVISIT", subject="USUBJID",
                      baseline="BASE", covariance="us", df_method="kenward-roger", control=PLACEBO, alpha=alpha)
        except OasimError as exc:
            notes.append(f"MMRM {primary_endpoint}: not fitted ({exc})")
    resp = _responder_analyses(dataset["ADQS"], primary_visitnum, alpha, notes)
    dr = None
    active_doses = sorted(set(adsl.loc[adsl["TRT01P"] != PLACEBO, "TRTDOSE"]))
    if len(active_doses) >= 2 and len(prim):
        rows = prim.drop(columns=[c for c in ("TRTDOSE",) if c in prim.columns]).merge(
            adsl[["USUBJID", "TRTDOSE"]], on="USUBJID")
        rows = rows.assign(DOSE=rows["TRTDOSE"] / active_doses[0])  # in units of the lowest dose
        try:
            dr = mcp_mod(rows, dose="DOSE", response="CHG", direction="decreasing", alpha=alpha / 2)
        except (OasimError, ValueError) as exc:
            notes.append(f"MCP-Mod: not fitted ({exc})")
    adae_events = adae.drop(columns=[c for c in ("TRT01P", "TRT01A", "TRTDOSE", "TRTDOSU", "TRTDURD")
                                     if c in adae.columns])
    saf = safety_table(adae_events, adsl, subject="USUBJID", arm="TRT01A", term="AEDECOD", grade="AETOXGR",
                       dose="TRTDOSE", exposure_days="TRTDURD", onset_day="AESTDY", alpha=alpha)
    return TrialAnalysis(change=change, prepost=pp, ancova=anc, mmrm=mm, safety=saf, responders=resp,
                         dose_response=dr, notes=notes, alpha=alpha)


def _responder_analyses(adqs: pd.DataFrame, visitnum: int, alpha: float, notes: list) -> dict:
    adqs = _with_scenario_codes(adqs, ["WOMAC_PAIN", "WOMAC_FUNC", "PGA_VAS", "VAS_PAIN"])
    wide = adqs[adqs["AVISITN"] == visitnum].pivot_table(index=["USUBJID", "TRT01P"], columns="PARAMCD",
                                                         values=["AVAL", "BASE"], aggfunc="first")
    needed = ["WOMAC_PAIN", "WOMAC_FUNC", "PGA_VAS", "VAS_PAIN"]
    if not all(("AVAL", c) in wide.columns for c in needed) or PLACEBO not in set(adqs["TRT01P"]):
        notes.append("responders: needs WOMAC pain and function, PGA and VAS and a placebo arm")
        return {}
    flat = pd.DataFrame(index=wide.index).reset_index()
    scale = {"WOMAC_PAIN": 100 / 20, "WOMAC_FUNC": 100 / 68, "PGA_VAS": 1.0}
    norm = {f"{k}_{c}": wide[(k, c)].to_numpy(float) * s for c, s in scale.items() for k in ("BASE", "AVAL")}
    flat["OARSIFL"] = omeract_oarsi_responder(norm["BASE_WOMAC_PAIN"], norm["AVAL_WOMAC_PAIN"],
                                              norm["BASE_WOMAC_FUNC"], norm["AVAL_WOMAC_FUNC"],
                                              norm["BASE_PGA_VAS"], norm["AVAL_PGA_VAS"]).to_numpy()
    flat["MCIIFL"] = mcid_responder(wide[("BASE", "VAS_PAIN")].to_numpy(float),
                                    wide[("AVAL", "VAS_PAIN")].to_numpy(float), VAS_MCII_MM).to_numpy()
    flat["BASE"] = wide[("BASE", "WOMAC_PAIN")].to_numpy(float)
    out = {}
    for name, flag in (("OMERACT-OARSI", "OARSIFL"), ("VAS MCII", "MCIIFL")):
        try:
            out[name] = responders(flat, response=flag, treatment="TRT01P", control=PLACEBO,
                                   baseline="BASE", alpha=alpha)
        except (OasimError, ValueError) as exc:
            notes.append(f"responders {name}: {exc}")
    return out

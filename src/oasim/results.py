"""Result objects of the public API: :class:`SimulationResult` and :class:`RunResult`.

Both are what a notebook user holds after :func:`oasim.simulate` or :func:`oasim.run`: tidy
tables (pandas, xarray), a quick plot, and a summary that prints as text and renders as HTML.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import FieldError
from .simulation import SimulationResult as _Simulated
from .trial.summary import TrialSummary

READOUT_UNITS = {
    "cartilage_thickness_mm": "mm", "cartilage_thickness_change_pct": "%", "il1b_pg_per_ml": "pg/mL",
    "il10_pg_per_ml": "pg/mL", "m1_m2_ratio": "1", "chondrocyte_viability": "fraction_of_healthy",
    "pain_drive_rel": "fraction",
}
"""Units of the derived readouts of :func:`oasim.readouts.key_outputs`."""

COVARIATES = ("age_y", "sex", "bmi_kg_per_m2", "kl_grade")


@dataclass(frozen=True)
class SimulationResult(_Simulated):
    """A simulated population: trajectories of every state and readout, per subject.

    Attributes (besides ``solution``, ``population`` and ``doses``)
    ----------------------------------------------------------------
    parameter_set : name of the parameter set
    seed : seed of the population draw (None when a ready population was passed)
    """

    parameter_set: str = "human"
    seed: int | None = None
    state_units: dict = field(default_factory=dict, repr=False)

    @property
    def t_days(self) -> np.ndarray:
        """Output times [day]."""
        return self.solution.t_days

    @property
    def n_subjects(self) -> int:
        return self.solution.n_subjects

    @cached_property
    def _readouts(self) -> dict[str, np.ndarray]:
        from .readouts import key_outputs

        return key_outputs(self.solution, self.population.parameters)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable :meth:`values` knows: the derived readouts, then the model states."""
        return (*READOUT_UNITS, *self.solution.state_names)

    def unit(self, variable: str) -> str:
        """Unit of one variable."""
        self._check(variable)
        return READOUT_UNITS.get(variable) or self.state_units.get(variable, "")

    def values(self, variable: str) -> np.ndarray:
        """(n_subjects, n_times) values of a readout or a state (NaN for failed subjects)."""
        self._check(variable)
        raw = self._readouts[variable] if variable in READOUT_UNITS else self.solution[variable]
        out = np.array(raw, dtype=float)
        out[~self.solution.ok] = np.nan
        return out

    def _check(self, variable: str) -> None:
        if variable not in self.variables:
            raise FieldError("variable", variable, f"one of {list(self.variables)}")

    def _pick(self, variables: str | Sequence[str] | None) -> list[str]:
        if variables is None:
            return list(READOUT_UNITS)
        names = [variables] if isinstance(variables, str) else list(variables)
        for name in names:
            self._check(name)
        return names

    def to_pandas(self, variables: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Tidy long table: ``subject, t_days, variable, value, unit`` plus the covariates.

        ``variables`` defaults to the derived readouts; pass state names (or
        ``result.variables``) for more.
        """
        names = self._pick(variables)
        n, t = self.n_subjects, self.t_days
        cov = self.population.covariates
        subject = cov["subject_id"].to_numpy() if "subject_id" in cov else np.arange(1, n + 1)
        frames = []
        for name in names:
            frames.append(pd.DataFrame({
                "subject": np.repeat(subject, len(t)), "t_days": np.tile(t, n), "variable": name,
                "value": self.values(name).ravel(), "unit": self.unit(name)}))
        long = pd.concat(frames, ignore_index=True)
        extra = cov[[c for c in COVARIATES if c in cov]].assign(subject=subject)
        long = long.merge(extra, on="subject", how="left")
        long["variable"] = pd.Categorical(long["variable"], categories=names)
        return long

    def to_xarray(self, variables: str | Sequence[str] | None = None):
        """An ``xarray.Dataset`` with dims (subject, t_days), one variable each, covariates as coords."""
        import xarray as xr

        names = self._pick(variables)
        cov = self.population.covariates
        subject = cov["subject_id"].to_numpy() if "subject_id" in cov else np.arange(1, self.n_subjects + 1)
        coords = {"subject": subject, "t_days": self.t_days}
        coords.update({c: ("subject", cov[c].to_numpy()) for c in COVARIATES if c in cov})
        data = {name: (("subject", "t_days"), self.values(name), {"units": self.unit(name)}) for name in names}
        attrs = {"parameter_set": self.parameter_set, "seed": -1 if self.seed is None else self.seed,
                 "doses": json.dumps([[d.__dict__ for d in ds] for ds in self.doses[:1]])}
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def plot(self, variables: str | Sequence[str] | None = None, band: tuple[float, float] = (5.0, 95.0)):
        """Median and a percentile band over subjects against time, one panel per variable.

        Returns the matplotlib ``Figure``.
        """
        import matplotlib.pyplot as plt

        names = self._pick(variables)
        fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.0), squeeze=False)
        for ax, name in zip(axes[0], names):
            v = self.values(name)
            lo, mid, hi = np.nanpercentile(v, [band[0], 50.0, band[1]], axis=0)
            ax.fill_between(self.t_days, lo, hi, alpha=0.3, label=f"{band[0]:g}–{band[1]:g} %")
            ax.plot(self.t_days, mid, label="median")
            ax.set_xlabel("day")
            ax.set_title(f"{name} [{self.unit(name)}]", fontsize=9)
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        n_fail = int((~self.solution.ok).sum())
        return (f"SimulationResult({self.n_subjects} subjects × {len(self.t_days)} times, "
                f"parameter_set={self.parameter_set!r}, seed={self.seed}, failed={n_fail})")


@dataclass(frozen=True)
class Summary:
    """A run's summary: ``str()`` gives text, notebooks render ``_repr_html_``; ``data`` is the dict."""

    title: str
    rows: tuple[tuple[str, ...], ...]
    header: tuple[str, ...]
    notes: tuple[str, ...] = ()
    data: dict = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        table = pd.DataFrame(list(self.rows), columns=list(self.header)).to_string(index=False) if self.rows else ""
        return "\n".join(part for part in (self.title, table, *self.notes) if part)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if self.rows else ""
        notes = "".join(f"<pre>{html.escape(n)}</pre>" for n in self.notes)
        return f"<div><strong>{html.escape(self.title)}</strong>{table}{notes}</div>"


def _ci(value, ci) -> str:
    if value is None:
        return "–"
    fmt = (lambda x: "–" if x is None else f"{x:.2f}")
    return f"{value:.2f} [{fmt(ci[0])}, {fmt(ci[1])}]"


def trial_summary(summary: TrialSummary) -> Summary:
    """The trial's primary endpoint per arm (change from baseline, ANCOVA vs placebo, AEs)."""
    code, month = summary.primary_endpoint, summary.primary_visit_month
    rows = []
    for a in summary.arms:
        change = a.change_from_baseline.get(code, {}).get(summary.primary_visit)
        anc = a.ancova_vs_placebo.get(code)
        p = "" if anc is None or anc.p_value is None else f" p={anc.p_value:.3f}"
        ae = a.adverse_events
        rows.append((a.arm, str(a.n_randomised), str(a.n_completed),
                     _ci(change.mean, change.ci) + f" (n={change.n})" if change else "–",
                     (_ci(anc.estimate, anc.ci) + p) if anc else "–",
                     f"{ae.events} ({ae.related_events}, {ae.grade3_or_more})"))
    s = summary.screening
    notes = (f"screened {s.screened}, screen failures {s.screen_failures}; cohorts: "
             + ", ".join(f"{d.cohort}: {d.decision} ({d.n_dlt} DLT)" for d in summary.cohort_decisions),)
    return Summary(f"{summary.scenario}: change in {code} at month {month:g} (mean [{summary.ci_level_text} CI])",
                   tuple(rows), ("arm", "n rand", "n compl", "change", "vs placebo (ANCOVA)", "AEs (related, ≥G3)"),
                   notes, summary.to_dict())


def experiment_summary(summary: dict, blocks: Sequence[str]) -> Summary:
    """An experiment's summary: the text each of its results gives (assay, toxicity, mouse ...)."""
    return Summary(f"{summary.get('kind')}: {summary.get('name')}", (), (), tuple(blocks), summary)


@dataclass(frozen=True)
class RunResult:
    """What :func:`oasim.run` produced for any scenario kind.

    Attributes
    ----------
    kind : the scenario kind (``"trial"``, ``"invitro_il1b"``, ``"mouse_oa"``, ``"explant"``)
    name : the scenario name
    tables : every output table by name (trial: the CDISC-style tables; experiments: data/stats)
    provenance : seed, scenario digest, parameter set or system, oasim version
    out : the output folder, or None when run in memory
    report_html : the HTML report (None when the scenario asks for no figures)
    summary_data : the typed :class:`~oasim.trial.summary.TrialSummary` of a trial; the summary dict
        (``summary.json``) of the other kinds
    summary_text : the experiments' own text summaries (empty for trials)
    """

    kind: str
    name: str
    tables: dict[str, pd.DataFrame]
    provenance: dict
    summary_data: TrialSummary | dict = field(repr=False)
    out: Path | None = None
    report_html: str | None = field(default=None, repr=False)
    summary_text: tuple[str, ...] = field(default=(), repr=False)

    def summary(self) -> Summary:
        """The run's summary: print it, or let a notebook render its HTML."""
        if self.kind == "trial":
            return trial_summary(self.summary_data)
        return experiment_summary(self.summary_data, self.summary_text)

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        return (f"RunResult(kind={self.kind!r}, name={self.name!r}, tables={sorted(self.tables)}, "
                f"out={None if self.out is None else str(self.out)!r})")

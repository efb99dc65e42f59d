"""The arm table: published trial arms in one normalised form, and the simulator that replays them.

One row per arm × endpoint × visit with the columns :data:`COLUMNS` and, optionally,
:data:`OPTIONAL_COLUMNS` (vocabularies in :class:`ArmRow`). :func:`read_arm_table` checks a CSV row by row and raises
:class:`ArmTableError` naming the row and column of the first problem. :func:`simulate_arm_table`
replays every study as that trial — its arms' n, products, doses, schedules and KL mix — R
times and returns the simulated statistic of every row for every replicate: the engine of
``oasim validate-against`` and the likelihood engine of calibration.

Replay of one study (all its arms in one solver call):

* subjects per arm: covariates from the population model with KL restricted to the arm's
  ``kl_grades`` (KL 1 through the trial layer's stratum); the arm's
  :class:`~oasim.trial.design.ArmProtocol` sets the parameter vector (cell source) and the
  injections. Arms whose product has no model state (saline, HA) and the same KL mix share
  the simulated knees (independent symptoms and noise).
* baseline: month-0 rows condition the arm (:func:`condition_baseline`), so its simulated
  baseline distribution has the reported mean/SD or median/IQR; without them the observation
  model's default baseline distribution is used (no symptom screening is applied).
* follow-up: scores through the observation model (placebo response, HA relief, noise),
  rescaled to the row's ``scale_max``; AEs through the AE model, counted up to the row's month.
  Dropout is not simulated (published arm statistics are of the analysed subjects).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Mapping, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..endpoints.clinical import baseline_disease_factor
from ..endpoints.imaging import mri_thickness_mm
from ..endpoints import (load_observation_parameters, observe_clinical, sample_baseline_symptoms,
                         simulate_adverse_events)
from ..endpoints.clinical import BaselineSymptoms
from ..endpoints.hyaluronic_acid import relief_fraction, relieved_drive
from ..errors import DataError
from .bayes import iqr_sd
from ..model import KneeModel
from ..parameters import ParameterSet, validate_for_model
from ..population import Population
from ..readouts import thickness_mm
from ..scenario import DAYS_PER_MONTH
from ..simulation import simulate
from ..solvers import NumbaRodasSolver
from ..trial.design import ArmProtocol, Product, product_parameters

COLUMNS = ("study", "arm", "product", "cell_source", "dose", "dose_unit", "injection_days", "co_injection", "n",
           "kl_grades", "endpoint", "scale_max", "statistic", "month", "value", "spread_type", "spread_low",
           "spread_high")
#: columns a table may have; absent, they take ArmRow's default. ``source_kind``: ``primary``
#: (the paper's own tables or text) or ``secondary`` (e.g. values read off a chart elsewhere),
#: which gets the calibration's extra secondary-source SDs (oasim.calibration.bayes).
#: ``control_arm``: on a cell or vesicle arm, the name of the study's arm it is compared with
#: (saline or HA); needed only when the study has more than one such arm (:func:`control_rows`)
OPTIONAL_COLUMNS = ("source_kind", "control_arm")
# endpoint -> (observation-model code, its range); None = not a score
SCORES: dict[str, tuple[str, float]] = {
    "womac_pain": ("WOMAC_PAIN", 20.0), "womac_stiffness": ("WOMAC_STIFF", 8.0),
    "womac_function": ("WOMAC_FUNC", 68.0), "womac_total": ("WOMAC_TOTAL", 96.0),
    "vas_pain": ("VAS_PAIN", 100.0), "koos_pain": ("KOOS_PAIN", 100.0),
}
AE_ENDPOINTS = ("ae_any", "ae_injection_site", "ae_treatment_related")
ENDPOINTS = tuple(SCORES) + ("cartilage_thickness_change_mm",) + AE_ENDPOINTS
# design columns that must agree on every row of one arm
DESIGN_COLUMNS = ("product", "cell_source", "dose", "dose_unit", "injection_days", "co_injection", "n", "kl_grades",
                  "control_arm")
#: products without a model state of their own: the arms a cell or vesicle arm is compared with
CONTROL_PRODUCTS = ("saline", "hyaluronic_acid")
KL_DEFAULT = (2, 3, 4)


class ArmTableError(DataError):
    """A row of an arm table is malformed: names the file, the row (1 = first data row) and the column."""

    def __init__(self, path: object, row: int | None, column: str, value: object, allowed: str):
        self.row, self.column, self.value, self.allowed = row, column, value, allowed
        where = "header" if row is None else f"row {row}"
        super().__init__(path, f"{where}, column {column} = {value!r}: allowed {allowed}")


def _optional_float(v):
    if v is None or (isinstance(v, str) and v.strip() == ""):
        return None
    return float(v)


class ArmRow(BaseModel):
    """One validated row of an arm table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: str = Field(min_length=1)
    arm: str = Field(min_length=1)
    product: Literal["saline", "hyaluronic_acid", "msc", "exosome"]
    cell_source: Literal["umbilical_cord", "bone_marrow", "adipose", "none"]
    dose: Optional[float] = Field(None, ge=0)  # empty = not reported
    dose_unit: Literal["cells", "particles", "ug_protein", "none"]
    injection_days: tuple[float, ...]
    co_injection: Literal["none", "hyaluronic_acid"]
    n: int = Field(gt=0)
    kl_grades: tuple[int, ...]
    endpoint: Literal[ENDPOINTS]  # type: ignore[valid-type]
    scale_max: Optional[float] = Field(None, gt=0)
    statistic: Literal["mean", "median", "proportion", "mean_change"]
    month: float = Field(ge=0)
    value: float
    spread_type: Literal["sd", "se", "iqr", "ci95", "none"]
    spread_low: Optional[float] = None
    spread_high: Optional[float] = None
    source_kind: Literal["primary", "secondary"] = "primary"
    control_arm: Optional[str] = None

    _floats = field_validator("dose", "scale_max", "spread_low", "spread_high", mode="before")(
        lambda v: _optional_float(v))

    @field_validator("injection_days", mode="before")
    @classmethod
    def _days(cls, v):
        if isinstance(v, str):
            try:
                v = tuple(float(x) for x in v.split(";") if x.strip() != "")
            except ValueError:
                raise ValueError("days separated by ';', e.g. 0;180") from None
        if not v or v[0] < 0 or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("days >= 0 separated by ';', strictly increasing, e.g. 0;180")
        return v

    @field_validator("kl_grades", mode="before")
    @classmethod
    def _grades(cls, v):
        if isinstance(v, str):
            lo, _, hi = v.strip().partition("-")
            try:
                lo_i, hi_i = int(lo), int(hi or lo)
            except ValueError:
                raise ValueError("a KL grade or range 1-4, e.g. 2-4") from None
            if not 1 <= lo_i <= hi_i <= 4:
                raise ValueError("a KL grade or range within 1-4, e.g. 2-4")
            v = tuple(range(lo_i, hi_i + 1))
        return v

    @model_validator(mode="after")
    def _consistent(self):
        _check_row(self)
        return self


class _RowProblem(ValueError):
    def __init__(self, column: str, value, allowed: str):
        self.column, self.value, self.allowed = column, value, allowed
        super().__init__(allowed)


def _check_row(r: ArmRow) -> None:
    units = {"saline": ("none",), "hyaluronic_acid": ("none",), "msc": ("cells",),
             "exosome": ("particles", "ug_protein", "none")}[r.product]
    if r.dose_unit not in units:
        raise _RowProblem("dose_unit", r.dose_unit, f"for {r.product}: one of {', '.join(units)}")
    if r.product == "msc" and r.cell_source == "none":
        raise _RowProblem("cell_source", r.cell_source, "umbilical_cord, bone_marrow or adipose for msc")
    if r.endpoint in SCORES and r.scale_max is None:
        raise _RowProblem("scale_max", None, f"the instrument's maximum for {r.endpoint}")
    if r.statistic == "proportion" and not 0 <= r.value <= 1:
        raise _RowProblem("value", r.value, "a proportion in [0, 1]")
    if r.spread_type in ("sd", "se") and not (r.spread_low is not None and r.spread_low > 0):
        raise _RowProblem("spread_low", r.spread_low, f"the {r.spread_type} (> 0)")
    if r.spread_type in ("iqr", "ci95"):
        if r.spread_low is None or r.spread_high is None:
            raise _RowProblem("spread_high" if r.spread_low is not None else "spread_low", None,
                              f"both ends of the {r.spread_type}")
        if r.spread_high < r.spread_low:
            raise _RowProblem("spread_high", r.spread_high, f">= spread_low ({r.spread_low})")


@dataclass(frozen=True)
class ArmTable:
    """A validated arm table: ``rows`` in file order (``row_id`` = 1-based data row)."""

    rows: tuple[ArmRow, ...]
    source: str = "<table>"

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame([r.model_dump() for r in self.rows])
        df.insert(0, "row_id", np.arange(1, len(self.rows) + 1))
        return df

    def digest(self) -> str:
        """Digest of every row (the data a calibration is fitted to)."""
        return self._digest(("source_kind", "primary"), ("control_arm", None))

    def simulation_digest(self) -> str:
        """Digest of what the replay simulates: the rows without ``control_arm``, which only the
        likelihood reads. A design simulated for one table serves another that differs only there."""
        return ArmTable(tuple(r.model_copy(update={"control_arm": None}) for r in self.rows), self.source).digest()

    def _digest(self, *defaults: tuple[str, object]) -> str:
        # a row with the optional columns at their defaults digests as before they existed
        text = "\n".join(r.model_dump_json(exclude={k for k, default in defaults if getattr(r, k) == default} or None)
                         for r in self.rows)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_values(self, values: Mapping[int, float]) -> "ArmTable":
        """A copy with ``value`` replaced on the given row_ids (e.g. simulated 'published' values)."""
        rows = tuple(r.model_copy(update={"value": float(values[i + 1])}) if (i + 1) in values else r
                     for i, r in enumerate(self.rows))
        return ArmTable(rows, self.source)


def read_arm_table(path: str | Path) -> ArmTable:
    """Read and check an arm table CSV (all of :data:`COLUMNS` and any of :data:`OPTIONAL_COLUMNS`,
    in any order)."""
    path = Path(path)
    if not path.is_file():
        raise ArmTableError(path, None, "file", str(path), "an existing CSV file")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for col in COLUMNS:
            if col not in header:
                raise ArmTableError(path, None, col, None, "a column of the arm table (it is missing)")
        for col in header:
            if col not in COLUMNS + OPTIONAL_COLUMNS:
                raise ArmTableError(path, None, col, col,
                                    f"only the columns {', '.join(COLUMNS)} (optional: {', '.join(OPTIONAL_COLUMNS)})")
        records = list(reader)
    return arm_table_from_records(records, str(path))


def arm_table_from_records(records: list[dict], source: str = "<table>") -> ArmTable:
    """Validate row dicts (strings or values) into an :class:`ArmTable`."""
    rows = []
    for i, rec in enumerate(records, start=1):
        try:
            rows.append(ArmRow.model_validate({k: rec.get(k) for k in COLUMNS}
                                              | {k: rec[k] for k in OPTIONAL_COLUMNS if rec.get(k) not in (None, "")}))
        except ValidationError as exc:
            err = exc.errors()[0]
            ctx_err = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_err, _RowProblem):
                raise ArmTableError(source, i, ctx_err.column, ctx_err.value, ctx_err.allowed) from None
            column = str(err["loc"][0]) if err["loc"] else "<row>"
            raise ArmTableError(source, i, column, rec.get(column), err["msg"].removeprefix("Value error, ")) from None
    if not rows:
        raise ArmTableError(source, None, "rows", 0, "at least one data row")
    first: dict[tuple[str, str], tuple[int, ArmRow]] = {}
    for i, r in enumerate(rows, start=1):
        key = (r.study, r.arm)
        if key not in first:
            first[key] = (i, r)
            continue
        j, r0 = first[key]
        for col in DESIGN_COLUMNS:
            if getattr(r, col) != getattr(r0, col):
                raise ArmTableError(source, i, col, getattr(r, col),
                                    f"the arm's value on row {j} ({getattr(r0, col)!r}): one design per arm")
    for i, r in enumerate(rows, start=1):
        if r.control_arm is None:
            continue
        if r.product in CONTROL_PRODUCTS:
            raise ArmTableError(source, i, "control_arm", r.control_arm,
                                f"empty on a {r.product} arm (only a cell or vesicle arm has a control)")
        control = first.get((r.study, r.control_arm))
        if control is None or control[1].product not in CONTROL_PRODUCTS:
            names = sorted(a for (s, a), (_, r0) in first.items() if s == r.study and r0.product in CONTROL_PRODUCTS)
            raise ArmTableError(source, i, "control_arm", r.control_arm,
                                f"a saline or HA arm of study {r.study}: {names or 'it has none'}")
    return ArmTable(tuple(rows), source)


def control_rows(table: ArmTable) -> dict[int, int]:
    """row_id of each cell or vesicle arm's row -> row_id of its control arm's row with the same
    endpoint, statistic and month (rows without one are left out).

    An arm's control is its ``control_arm`` or, if that is empty, the study's only saline or HA
    arm; a study with several such arms and no ``control_arm`` pairs nothing (ambiguous)."""
    controls: dict[str, list[str]] = {}
    for r in table.rows:
        if r.product in CONTROL_PRODUCTS and r.arm not in controls.setdefault(r.study, []):
            controls[r.study].append(r.arm)
    index = {(r.study, r.arm, r.endpoint, r.statistic, r.month): i for i, r in enumerate(table.rows, start=1)}
    pairs = {}
    for i, r in enumerate(table.rows, start=1):
        if r.product in CONTROL_PRODUCTS:
            continue
        only = controls.get(r.study, [])
        arm = r.control_arm or (only[0] if len(only) == 1 else None)
        j = index.get((r.study, arm, r.endpoint, r.statistic, r.month)) if arm else None
        if j is not None:
            pairs[i] = j
    return pairs


def bundled_arm_table() -> Path:
    """Path of the curated calibration table shipped in the package (``data/calibration/arms.csv``)."""
    from importlib import resources

    return Path(str(resources.files("oasim.data").joinpath("calibration", "arms.csv")))


# --------------------------------------------------------------------------------------------
# what can be simulated
# --------------------------------------------------------------------------------------------

def skip_reason(row: ArmRow) -> str | None:
    """Why a row cannot be simulated or scored (None if it can)."""
    if row.product in ("msc", "exosome") and (row.dose is None or row.dose <= 0 or row.dose_unit == "none"):
        return f"dose of the {row.product} arm not reported"
    if row.endpoint in AE_ENDPOINTS and row.statistic != "proportion":
        return f"{row.endpoint} needs statistic proportion (got {row.statistic})"
    if row.endpoint not in AE_ENDPOINTS and row.statistic == "proportion":
        return f"statistic proportion is defined for AE endpoints only (got {row.endpoint})"
    if row.month == 0 and (row.statistic in ("mean_change", "proportion")
                           or row.endpoint == "cartilage_thickness_change_mm"):
        return f"a month-0 {row.statistic} of {row.endpoint} is not a baseline to condition on"
    return None


def arm_protocol(row: ArmRow, particles_per_ug: float) -> ArmProtocol:
    """The :class:`ArmProtocol` of a row's arm (dose in the table's unit, converted once)."""
    product = Product(row.product, "", row.cell_source if row.product == "msc" else "none", row.co_injection,
                      particles_per_ug)
    unit = row.dose_unit if row.product in ("msc", "exosome") else "none"
    return ArmProtocol(row.arm, product, float(row.dose or 0.0) if product.acts_on_model else 0.0, unit,
                       row.injection_days)


# --------------------------------------------------------------------------------------------
# baseline conditioning
# --------------------------------------------------------------------------------------------

# endpoint -> BaselineSymptoms fields it is made of, and the observation noise parameters
_COMPONENTS = {
    "womac_pain": (("womac_pain",), ("womac_pain_noise_sd",)),
    "womac_stiffness": (("womac_stiffness",), ("womac_stiffness_noise_sd",)),
    "womac_function": (("womac_function",), ("womac_function_noise_sd",)),
    "womac_total": (("womac_pain", "womac_stiffness", "womac_function"),
                    ("womac_pain_noise_sd", "womac_stiffness_noise_sd", "womac_function_noise_sd")),
    "vas_pain": (("vas_pain_mm",), ("vas_pain_noise_sd",)),
    "koos_pain": (("womac_pain",), ("womac_pain_noise_sd",)),
}
_RANGES = {"womac_pain": 20.0, "womac_stiffness": 8.0, "womac_function": 68.0, "vas_pain_mm": 100.0}
_OBS_NAMES = {"vas_pain_mm": "vas_pain"}


@dataclass(frozen=True)
class BaselineTarget:
    """A reported baseline on the model's scale: centre (mean or median) and observed SD (or None)."""

    endpoint: str
    centre: float
    sd_observed: float | None


def baseline_target(row: ArmRow) -> BaselineTarget:
    """The month-0 row as a target on the observation model's scale (KOOS pain as WOMAC pain)."""
    code, model_max = SCORES[row.endpoint]
    k = model_max / row.scale_max
    centre, sd = row.value * k, None
    if row.spread_type == "sd":
        sd = row.spread_low * k
    elif row.spread_type == "se":
        sd = row.spread_low * np.sqrt(row.n) * k
    elif row.spread_type == "iqr":
        # the expected IQR of n normal values is η(n)·SD (Wan et al. 2014), as in the likelihood
        sd = iqr_sd(row.spread_low, row.spread_high, row.n) * k
    elif row.spread_type == "ci95":
        sd = (row.spread_high - row.spread_low) / 3.92 * np.sqrt(row.n) * k
    if row.endpoint == "koos_pain":  # KOOS pain = 100 - WOMAC pain / 20 x 100
        centre, sd = (100.0 - centre) / 5.0, None if sd is None else sd / 5.0
    return BaselineTarget(row.endpoint, centre, sd)


def condition_baseline(symptoms: BaselineSymptoms, targets: list[BaselineTarget], obs,
                       disease: np.ndarray | None = None) -> BaselineSymptoms:
    """Baseline symptoms whose observed distribution has each target's centre and SD.

    The observed baseline of a component is its symptom level times the subject's disease factor
    (:func:`oasim.endpoints.clinical.baseline_disease_factor`; 1 when ``disease`` is None). Each
    target's components x = level × disease are moved by one affine map x' = a·m + b·(x − m)
    around their sample means m, with a = target / Σm and b = the target's true SD (observed SD
    with the instrument's noise variance removed) / the sample SD of the sum; the level becomes
    x' / disease. Without a reported SD, b = a. Normal approximation: the median is treated as the
    centre and the SD of an arm of n whose IQR was reported is IQR/η(n) (:func:`baseline_target`). WOMAC total is applied before its subscales; a new object is returned.
    """
    fields = {f: (None if getattr(symptoms, f) is None else np.array(getattr(symptoms, f), float))
              for f in BaselineSymptoms.__dataclass_fields__}
    n = len(symptoms.womac_pain)
    factor = np.ones(n) if disease is None else np.broadcast_to(np.asarray(disease, float).ravel(), (n,))
    order = sorted(targets, key=lambda t: t.endpoint != "womac_total")
    for t in order:
        comps, noises = _COMPONENTS[t.endpoint]
        x = np.column_stack([fields[c] * factor for c in comps])
        m = x.mean(axis=0)
        sd_sum = float(x.sum(axis=1).std(ddof=1)) if n > 1 else 0.0
        a = t.centre / m.sum() if m.sum() > 0 else 1.0
        if t.sd_observed is None or sd_sum <= 0:
            b = a
        else:
            noise_var = sum(obs.value(n_) ** 2 for n_ in noises)
            true_sd = np.sqrt(max(t.sd_observed ** 2 - noise_var, (0.1 * t.sd_observed) ** 2))
            b = true_sd / sd_sum
        for j, c in enumerate(comps):
            # the observed level stays within the instrument; the level before the disease factor may not
            moved = np.clip(a * m[j] + b * (x[:, j] - m[j]), 0.0, _RANGES[c])
            fields[c] = moved / factor
    return BaselineSymptoms(**fields)


# --------------------------------------------------------------------------------------------
# the simulator
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StudyPlan:
    """The arms of one study and which rows they answer."""

    study: str
    arms: dict[str, ArmProtocol]
    arm_rows: dict[str, list[int]]  # arm -> row_ids to simulate (scored and conditioning)
    n: dict[str, int]
    kl: dict[str, tuple[int, ...]]
    months: tuple[float, ...]


def plan_studies(table: ArmTable, particles_per_ug: float) -> tuple[list[StudyPlan], dict[int, str]]:
    """Group simulable rows by study and arm; return the plans and {row_id: skip reason}."""
    skipped: dict[int, str] = {}
    plans: dict[str, dict] = {}
    for i, r in enumerate(table.rows, start=1):
        reason = skip_reason(r)
        if reason is not None:
            skipped[i] = reason
            continue
        p = plans.setdefault(r.study, {"arms": {}, "rows": {}, "n": {}, "kl": {}, "months": {0.0}})
        if r.arm not in p["arms"]:
            p["arms"][r.arm] = arm_protocol(r, particles_per_ug)
            p["n"][r.arm], p["kl"][r.arm] = r.n, r.kl_grades
        p["rows"].setdefault(r.arm, []).append(i)
        p["months"].add(float(r.month))
    return [StudyPlan(s, p["arms"], p["rows"], p["n"], p["kl"], tuple(sorted(p["months"])))
            for s, p in plans.items()], skipped


def sample_population(parameter_set: ParameterSet, n: int, kl_grades: tuple[int, ...],
                      rng: np.random.Generator) -> Population:
    """``n`` subjects with KL grades drawn from the covariate model restricted to ``kl_grades``."""
    from ..population.population import covariate_spec
    from ..trial.conduct import concat_populations, with_kl1_stratum

    spec = covariate_spec("human_koa")["kl_grade"]
    prob = dict(zip(spec["levels"], spec["probabilities"]))
    prob[1] = product_parameters().value("kl1_probability_rel_kl2") * prob[2]
    grades = [g for g in kl_grades if g in prob]
    w = np.array([prob[g] for g in grades])
    counts = rng.multinomial(n, w / w.sum())
    pops = []
    for g, c in zip(grades, counts):
        if c == 0:
            continue
        pop = Population.sample(parameter_set, int(c), rng, kl_grade=2 if g == 1 else g)
        # every subject of a KL 1 draw becomes KL 1; the others only carry the KL 1 matrix key
        pops.append(with_kl1_stratum(pop, _Uniforms(0.0 if g == 1 else 1.0)))
    return concat_populations(pops, parameter_set.name)


class _Uniforms:
    """A stand-in generator whose uniforms are all ``u`` (0: every KL 2 converted, 1: none)."""

    def __init__(self, u: float):
        self.u = u

    def random(self, n):
        return np.full(n, self.u)


@dataclass(frozen=True)
class SimulatedStatistics:
    """Simulated statistic of every simulated row for every replicate: ``values`` (row_id × replicate)."""

    values: pd.DataFrame  # index row_id, columns replicate numbers
    skipped: dict[int, str]


def simulate_arm_table(table: ArmTable, parameter_set: ParameterSet | str = "human", replicates: int = 200,
                       seed: int = 0, overrides: Mapping[str, float] | None = None,
                       first_replicate: int = 0, solver=None) -> SimulatedStatistics:
    """Replay every study of ``table`` ``replicates`` times; the statistic per row per replicate.

    Parameters
    ----------
    parameter_set : model parameter set (name, path or object)
    overrides : parameter values replacing the typical values of the model set, the observation
        model (``endpoints/observation_human.toml``) or the product factors of
        ``trial/products.toml`` (e.g. ``msc_potency_bone_marrow_rel``)
    first_replicate : number of the first replicate of this chunk; a study's random stream is
        ``SeedSequence(seed, spawn_key=(hash of the study name, first_replicate, replicates))``,
        so the same chunk always gives the same values (``oasim validate-against`` resumes by chunk)
    """
    pset = parameter_set if isinstance(parameter_set, ParameterSet) else ParameterSet.load(parameter_set)
    overrides = dict(overrides or {})
    factors = product_parameters()
    obs = load_observation_parameters()
    model_over = {k: v for k, v in overrides.items() if k in pset}
    obs_over = {k: v for k, v in overrides.items() if k not in pset and k in obs}
    product_over = {k: v for k, v in overrides.items() if k not in pset and k not in obs}
    for k in product_over:
        factors[k]  # raises ParameterError naming an unknown override
    if model_over:
        pset = pset.with_values("validate-against override", **model_over)
    if obs_over:
        obs = obs.with_values("validate-against override", **obs_over)
    if product_over:
        factors = factors.with_values("validate-against override", **product_over)
    model = KneeModel()
    validate_for_model(pset, model.parameter_names)
    solver = solver or NumbaRodasSolver()
    plans, skipped = plan_studies(table, pset.value("exosome_particles_per_ug"))
    reps = np.arange(first_replicate, first_replicate + replicates)
    frames = []
    for plan in plans:
        study_key = int(hashlib.sha256(plan.study.encode()).hexdigest()[:8], 16)
        values = _simulate_study(table, plan, study_key, pset, factors, obs, model, solver, seed, reps)
        frames.append(values)
    values = pd.concat(frames) if frames else pd.DataFrame(columns=reps)
    values.index.name = "row_id"
    return SimulatedStatistics(values.sort_index(), skipped)


def _model_key(arm: ArmProtocol, kl: tuple[int, ...]):
    if not arm.product.acts_on_model:
        return ("no model product", kl)
    return (arm.product.kind, arm.product.cell_source, arm.model_amount, arm.injection_days, kl)


def _simulate_study(table, plan: StudyPlan, s_index, pset, factors, obs, model, solver, seed, reps) -> pd.DataFrame:
    """All replicates of one study: one solver call for all its arms' knees."""
    R = len(reps)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s_index, int(reps[0]), R)))
    t_days = np.array(plan.months) * DAYS_PER_MONTH
    # one group of simulated knees per model-relevant design; saline/HA arms share theirs
    groups: dict[tuple, list[str]] = {}
    for arm_name, arm in plan.arms.items():
        groups.setdefault(_model_key(arm, plan.kl[arm_name]), []).append(arm_name)
    pops, doses, slices, start = [], [], {}, 0
    for key, arm_names in groups.items():
        arm = plan.arms[arm_names[0]]
        size = R * max(plan.n[a] for a in arm_names)
        pop = sample_population(pset, size, plan.kl[arm_names[0]], rng)
        params = arm.subject_parameters(pop.parameters, factors)
        pops.append(Population(pop.covariates, params, pset.name))
        doses += [arm.model_doses()] * size
        for a in arm_names:
            slices[a] = slice(start, start + size)
        start += size
    from ..trial.conduct import concat_populations

    knees = concat_populations(pops, pset.name)
    # a subject the solver fails on is dropped from its replicate's statistic (NaN-aware) and counted
    result = simulate(knees, t_days, doses, model=model, solver=solver, on_solver_failure="drop")
    drive_all = result.solution["pain_drive_rel"]
    thick_all = thickness_mm(result.solution, result.population.parameters)
    out = {}
    for arm_name, arm in plan.arms.items():
        n = plan.n[arm_name]
        sl = slices[arm_name]
        idx = np.arange(sl.start, sl.start + R * n)
        rows = [(i, table.rows[i - 1]) for i in plan.arm_rows[arm_name]]
        out.update(_observe_arm(arm, rows, n, R, t_days, plan.months, drive_all[idx], thick_all[idx],
                                factors, obs, rng))
    return pd.DataFrame.from_dict(out, orient="index", columns=reps)


def _observe_arm(arm: ArmProtocol, rows, n, R, t_days, months, drive, thick, factors, obs, rng) -> dict:
    """Statistic per row (row_id -> R values) for one arm's R × n simulated subjects."""
    targets = [baseline_target(r) for _, r in rows if r.month == 0 and r.endpoint in SCORES]
    symptoms = condition_baseline(sample_baseline_symptoms(R * n, rng, obs), targets, obs,
                                  baseline_disease_factor(drive[:, 0], obs))
    relief = relief_fraction(t_days, [arm.ha_injection_days()] * (R * n),
                             factors.value("ha_pain_relief_peak_fraction"), factors.value("ha_peak_day"))
    # each injection (active or saline) renews the placebo course
    scores = observe_clinical(symptoms, relieved_drive(drive, relief, obs.value("pain_drive_exponent")), thick,
                              t_days, rng, obs, injection_days=list(arm.injection_days))
    ae = None
    if any(r.endpoint in AE_ENDPOINTS for _, r in rows):
        ae_months = max(r.month for _, r in rows if r.endpoint in AE_ENDPOINTS)
        follow = np.full(R * n, ae_months * DAYS_PER_MONTH)
        ae = simulate_adverse_events(np.arange(R * n), [arm.ae_injections()] * (R * n), follow, rng, obs)
    mri = None
    if any(r.endpoint == "cartilage_thickness_change_mm" for _, r in rows):
        # qMRI as in the observation model: scaled change of the thickness index, plus measurement noise
        mri = mri_thickness_mm(thick, obs) + rng.normal(0.0, obs.value("mri_thickness_noise_sd_mm"), thick.shape)
    out = {}
    for row_id, r in rows:
        v = months.index(float(r.month))
        out[row_id] = _statistic(r, v, scores, mri, ae, n, R)
    return out


def _statistic(r: ArmRow, v: int, scores, mri, ae, n: int, R: int) -> np.ndarray:
    if r.endpoint in AE_ENDPOINTS:
        day = r.month * DAYS_PER_MONTH
        hit = ae[ae["onset_day"] <= day]
        if r.endpoint != "ae_any":
            hit = hit[hit["related"]]
        if r.endpoint == "ae_injection_site":
            hit = hit[hit["term"].isin(("Injection site pain", "Joint effusion"))]
        has = np.zeros(R * n, dtype=bool)
        has[hit["subject_id"].unique().astype(int)] = True
        return has.reshape(R, n).mean(axis=1)
    if r.endpoint == "cartilage_thickness_change_mm":
        x = (mri[:, v] - mri[:, 0]).reshape(R, n)
        base = np.zeros_like(x)
    else:
        code, model_max = SCORES[r.endpoint]
        scale = r.scale_max / model_max
        x = scores[code][:, v].reshape(R, n) * scale
        base = scores[code][:, 0].reshape(R, n) * scale
    if r.statistic == "mean_change":
        return np.nanmean(x - base, axis=1)
    if r.statistic == "median":
        return np.nanmedian(x, axis=1)
    return np.nanmean(x, axis=1)

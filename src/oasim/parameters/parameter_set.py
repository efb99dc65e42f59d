"""Parameter sets as data: every number with a unit and a source.

A set is a TOML file in ``sets/`` (or any path) with a ``[parameters]`` table whose entries are
``name = { value, unit, source [, cv] }``. ``source`` is a key in ``references.bib``,
``"derived: <keys>: <arithmetic>"``, ``"calibrated: <targets>"`` or ``"assumed: <reason>"``.
``cv`` is the coefficient of variation of a log-normal population distribution.
``prior = { dist, low, high, why }`` marks a parameter that calibration must pin down: ``dist``
is ``"uniform"`` or ``"loguniform"`` on [low, high] (which contains the value) and ``why`` says
what the parameter decides and why the literature does not fix it. ``ParameterSet.calibrated``
lists them.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ..errors import ParameterError

SOURCE_KINDS = ("derived:", "calibrated:", "assumed:")
#: the SDs of a calibration's random effects (oasim.calibration.bayes): between-study, between-arm
#: and row SDs of score statistics (fractions of the instrument maximum), the extra between-arm
#: and row SDs of rows read from a secondary source, and the between-study SD of AE proportions
#: on the logit scale, and the between-study SD of the treatment effect relative to the model's
#: (a fraction of it). A calibration may use any of them; the ones it leaves out are 0.
HETEROGENEITY_SDS = ("tau_study", "tau_arm", "sigma_row", "tau_arm_secondary", "sigma_row_secondary",
                     "tau_ae_logit", "tau_effect")
PRIOR_DISTRIBUTIONS = ("uniform", "loguniform")
_BIB_KEY = re.compile(r"@\w+\{([^,]+),")
_FRACTION_SUFFIXES = ("_fraction", "_weight", "_share")


def bibliography_keys() -> frozenset[str]:
    """Keys of every entry in the package's ``references.bib``."""
    text = resources.files("oasim.parameters").joinpath("references.bib").read_text("utf-8")
    return frozenset(_BIB_KEY.findall(text))


@dataclass(frozen=True)
class Prior:
    """Calibration prior of a parameter: a (log-)uniform range and why calibration needs it."""

    dist: str
    low: float
    high: float
    why: str

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws from the prior."""
        if self.dist == "loguniform":
            return np.exp(rng.uniform(np.log(self.low), np.log(self.high), n))
        return rng.uniform(self.low, self.high, n)


def _check_prior(name: str, prior: object, value: float, origin: str) -> Prior:
    field_ = f"{name}.prior"
    if not isinstance(prior, Mapping):
        raise ParameterError(field_, prior, "a table {dist, low, high, why}", origin)
    keys = {"dist", "low", "high", "why"}
    if set(prior) != keys:
        raise ParameterError(field_, sorted(prior), "exactly the keys dist, low, high, why", origin)
    dist, low, high, why = prior["dist"], prior["low"], prior["high"], prior["why"]
    if dist not in PRIOR_DISTRIBUTIONS:
        raise ParameterError(f"{field_}.dist", dist, " or ".join(PRIOR_DISTRIBUTIONS), origin)
    for key, x in (("low", low), ("high", high)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not np.isfinite(x):
            raise ParameterError(f"{field_}.{key}", x, "a finite number", origin)
    if not low < high or not low <= value <= high:
        raise ParameterError(f"{field_}", (low, high), f"low < high with low <= value ({value}) <= high", origin)
    if dist == "loguniform" and low <= 0:
        raise ParameterError(f"{field_}.low", low, "> 0 for a loguniform prior", origin)
    if not isinstance(why, str) or len(why.strip()) < 10:
        raise ParameterError(f"{field_}.why", why, "a sentence saying why calibration must pin it down", origin)
    return Prior(dist, float(low), float(high), why.strip())


@dataclass(frozen=True)
class Parameter:
    """One named number with its unit, source and population variability."""

    name: str
    value: float
    unit: str
    source: str
    cv: float | None = None
    prior: Prior | None = None

    @property
    def source_kind(self) -> str:
        """``"read"``, ``"derived"``, ``"calibrated"`` or ``"assumed"``."""
        for kind in SOURCE_KINDS:
            if self.source.startswith(kind):
                return kind[:-1]
        return "read"


def _check_entry(name: str, entry: object, origin: str) -> Parameter:
    if not isinstance(entry, Mapping):
        raise ParameterError(name, entry, "a table {value, unit, source[, cv]}", origin)
    unknown = set(entry) - {"value", "unit", "source", "cv", "prior"}
    if unknown:
        raise ParameterError(f"{name}.{sorted(unknown)[0]}", entry[sorted(unknown)[0]],
                             "only the keys value, unit, source, cv, prior", origin)
    for key in ("value", "unit", "source"):
        if key not in entry:
            raise ParameterError(f"{name}.{key}", None, f"a {key} is required", origin)
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ParameterError(f"{name}.value", value, "a finite number", origin)
    if value < 0:
        raise ParameterError(f"{name}.value", value, ">= 0 (rates, levels and fractions are non-negative)", origin)
    if name.endswith(_FRACTION_SUFFIXES) and value > 1:
        raise ParameterError(f"{name}.value", value, "a fraction in [0, 1]", origin)
    unit = entry["unit"]
    if not isinstance(unit, str) or not unit.strip():
        raise ParameterError(f"{name}.unit", unit, "a non-empty unit string ('1' if dimensionless)", origin)
    source = entry["source"]
    if not isinstance(source, str) or not source.strip():
        raise ParameterError(f"{name}.source", source, "a bib key or 'assumed: <reason>'", origin)
    if not source.startswith(SOURCE_KINDS) and source not in bibliography_keys():
        raise ParameterError(f"{name}.source", source,
                             "a key of references.bib, or 'derived:', 'calibrated:', 'assumed:' + text", origin)
    if source.startswith(SOURCE_KINDS) and len(source.split(":", 1)[1].strip()) < 3:
        raise ParameterError(f"{name}.source", source, "a reason after the colon", origin)
    cv = entry.get("cv")
    if cv is not None and (not isinstance(cv, (int, float)) or not 0 < cv <= 3):
        raise ParameterError(f"{name}.cv", cv, "a coefficient of variation in (0, 3]", origin)
    prior = entry.get("prior")
    prior = None if prior is None else _check_prior(name, prior, float(value), origin)
    return Parameter(name, float(value), unit.strip(), source.strip(), None if cv is None else float(cv), prior)


@dataclass(frozen=True)
class ParameterSet:
    """A frozen, named collection of :class:`Parameter`.

    Examples
    --------
    >>> params = ParameterSet.load("human")
    >>> params["collagen_half_life_y"].value
    117.0
    """

    name: str
    parameters: Mapping[str, Parameter]
    description: str = ""
    origin: str = ""
    system: str = ""
    _frozen_keys: tuple = field(default=(), repr=False)
    #: posterior draws of calibrated parameters (columns: parameter names of this set, of the
    #: observation model or of the product factors), or None for a set without calibration
    posterior: object = field(default=None, repr=False, compare=False)
    #: row of ``posterior`` this set's calibrated values come from (None: the posterior medians)
    draw_index: int | None = field(default=None, compare=False)
    #: the calibration's heterogeneity SDs (columns: some of HETEROGENEITY_SDS, the others are 0),
    #: one row per ``posterior`` row, or None
    heterogeneity: object = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, name_or_path: str | Path) -> "ParameterSet":
        """Load a built-in set by name (``"human"``) or a TOML file by path."""
        path = Path(name_or_path)
        if path.suffix == ".toml" and path.exists():
            try:
                text, origin = path.read_text("utf-8"), str(path)
            except (UnicodeDecodeError, OSError) as exc:
                raise ParameterError("file", str(path), f"a readable UTF-8 TOML file ({exc})") from None
        else:
            resource = resources.files("oasim.parameters").joinpath("sets", f"{name_or_path}.toml")
            if not resource.is_file():
                raise ParameterError("parameter_set", str(name_or_path),
                                     f"one of {', '.join(available_sets())} or a path to a .toml file")
            text, origin = resource.read_text("utf-8"), f"oasim/parameters/sets/{name_or_path}.toml"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ParameterError("file", origin, f"valid TOML ({exc})", origin) from exc
        if "base" in data:
            return cls._load_calibrated(data, origin, path)
        table = data.get("parameters")
        if not isinstance(table, Mapping) or not table:
            raise ParameterError("parameters", table, "a non-empty [parameters] table", origin)
        params = {name: _check_entry(name, entry, origin) for name, entry in table.items()}
        return cls(data.get("name", path.stem), params, data.get("description", ""), origin,
                   data.get("system", ""))

    @classmethod
    def _load_calibrated(cls, data: Mapping, origin: str, path: Path) -> "ParameterSet":
        """A set made of a ``base`` set plus ``posterior`` draws (a Parquet file beside the TOML).

        The set's own values of the calibrated parameters are the posterior medians; population
        runs draw one posterior sample per replicate (:meth:`posterior_draw`). An optional
        ``heterogeneity`` file holds the calibration's random-effect SDs, row for row.
        """
        base = cls.load(data["base"])
        draws = cls._read_draws(data.get("posterior"), "posterior", origin, path)
        heterogeneity = None
        if "heterogeneity" in data:
            heterogeneity = cls._read_draws(data["heterogeneity"], "heterogeneity", origin, path)
            if (len(heterogeneity) != len(draws) or not set(heterogeneity.columns) <= set(HETEROGENEITY_SDS)
                    or (heterogeneity.to_numpy(float) < 0).any()):
                raise ParameterError("heterogeneity", data["heterogeneity"],
                                     f"{len(draws)} rows (one per posterior draw) of non-negative SDs named "
                                     f"among {list(HETEROGENEITY_SDS)}", origin)
            heterogeneity = heterogeneity.reindex(columns=list(HETEROGENEITY_SDS), fill_value=0.0)
        params = dict(base.parameters)
        note = f"calibrated: posterior median of {len(draws)} draws ({data['posterior']}, oasim calibrate)"
        for column in draws.columns:
            if column in params:
                old = params[column]
                params[column] = replace(old, value=float(draws[column].median()), source=note)
        return cls(data.get("name", path.stem), params, data.get("description", base.description), origin,
                   base.system, posterior=draws, heterogeneity=heterogeneity)

    @staticmethod
    def _read_draws(name, key: str, origin: str, path: Path):
        """The Parquet file ``name`` beside the set's TOML (``key`` names the TOML field in errors)."""
        import pandas as pd

        if not isinstance(name, str) or not name.endswith(".parquet"):
            raise ParameterError(key, name, f"the file name of the {key} draws (.parquet)", origin)
        if origin.startswith("oasim/"):
            draws_path = resources.files("oasim.parameters").joinpath("sets", name)
        else:
            draws_path = path.parent / name
        try:
            with resources.as_file(draws_path) if origin.startswith("oasim/") else contextlib.nullcontext(draws_path) as f:
                draws = pd.read_parquet(f)
        except (OSError, ValueError) as exc:
            raise ParameterError(key, str(draws_path), f"a readable Parquet file of {key} draws ({exc})",
                                 origin) from None
        if len(draws) < 2 or not np.all(np.isfinite(draws.to_numpy(float))):
            raise ParameterError(key, str(draws_path), "at least 2 draws, all finite", origin)
        return draws

    @property
    def n_draws(self) -> int:
        """Number of posterior draws (0 for a set without calibration)."""
        return 0 if self.posterior is None else len(self.posterior)

    def posterior_draw(self, rng: np.random.Generator) -> tuple["ParameterSet", dict[str, float]]:
        """One posterior draw: (this set with its calibrated values replaced by the draw, the
        draw's values of parameters that live elsewhere — observation model, product factors).

        A set without posterior returns itself and no overrides.
        """
        if self.posterior is None:
            return self, {}
        index = int(rng.integers(len(self.posterior)))
        row = self.posterior.iloc[index]
        own = {k: float(v) for k, v in row.items() if k in self.parameters}
        other = {k: float(v) for k, v in row.items() if k not in self.parameters}
        params = dict(self.parameters)
        for k, v in own.items():
            params[k] = replace(params[k], value=v, source="calibrated: one posterior draw (oasim calibrate)")
        return replace(self, parameters=params, draw_index=index), other

    def posterior_medians(self) -> dict[str, float]:
        """Posterior medians of every calibrated parameter (empty without posterior)."""
        return {} if self.posterior is None else {k: float(v) for k, v in self.posterior.median().items()}

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ParameterError(name, None, f"a parameter of set '{self.name}'") from None

    def __contains__(self, name: str) -> bool:
        return name in self.parameters

    def __iter__(self):
        return iter(self.parameters.values())

    def __len__(self) -> int:
        return len(self.parameters)

    def value(self, name: str) -> float:
        return self[name].value

    def with_values(self, origin_note: str = "user override", **values: float) -> "ParameterSet":
        """A new set with some values replaced (source becomes ``assumed: <origin_note>``)."""
        params = dict(self.parameters)
        for name, value in values.items():
            old = self[name]
            entry = {"value": value, "unit": old.unit, "source": f"assumed: {origin_note}"}
            if old.cv is not None:
                entry["cv"] = old.cv
            params[name] = replace(_check_entry(name, entry, "with_values"), prior=old.prior)
        return replace(self, parameters=params)

    def check_model(self, names: Iterable[str]) -> None:
        """Raise if any name the model needs is missing from the set."""
        missing = [n for n in names if n not in self.parameters]
        if missing:
            raise ParameterError(missing[0], None,
                                 f"defined in parameter set '{self.name}' ({len(missing)} missing: {', '.join(missing)})",
                                 self.origin)

    def vector(self, names: Iterable[str]) -> np.ndarray:
        """Values in the order of ``names``."""
        return np.array([self.value(n) for n in names], dtype=float)

    @property
    def calibrated(self) -> dict[str, Prior]:
        """The parameters calibration must pin down (those with a ``prior``), by name."""
        return {p.name: p.prior for p in self if p.prior is not None}

    @cached_property
    def citations(self) -> tuple[str, ...]:
        keys = bibliography_keys()
        found: list[str] = []
        for p in self:
            for token in re.findall(r"[A-Za-z][A-Za-z0-9]+", p.source):
                if token in keys and token not in found:
                    found.append(token)
        return tuple(found)

    def table(self):
        """A pandas DataFrame: name, value, unit, cv, kind, source."""
        import pandas as pd

        return pd.DataFrame([
            {"name": p.name, "value": p.value, "unit": p.unit, "cv": p.cv,
             "kind": p.source_kind, "source": p.source,
             "prior": None if p.prior is None else f"{p.prior.dist}[{p.prior.low:g}, {p.prior.high:g}]"}
            for p in self
        ])


def available_sets() -> list[str]:
    """Names of the built-in parameter sets."""
    folder = resources.files("oasim.parameters").joinpath("sets")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


# Parameters used outside the rate laws: by the population (covariates -> parameters), the
# protocol (dose splitting and unit conversion) and the readouts. A set may hold only these
# and the model's own parameters.
NON_MODEL_PARAMETERS = frozenset({
    "kl_damage_drive_kl2", "kl_damage_drive_kl3", "kl_damage_drive_kl4",
    "baseline_matrix_kl2_rel", "baseline_matrix_kl3_rel", "baseline_matrix_kl4_rel",
    "msc_fast_fraction", "msc_persistent_fraction", "exosome_particles_per_ug",
    "cartilage_thickness_healthy_mm", "thickness_collagen_weight",
    "il1b_mw_kda", "tnf_mw_kda", "il6_mw_kda", "il10_mw_kda", "tgfb_mw_kda", "pge2_mw_kda",
    "il1ra_mw_kda", "tsg6_mw_kda",
})


def validate_for_model(parameter_set: ParameterSet, model_parameter_names: Iterable[str]) -> None:
    """Refuse a set that lacks a model parameter or holds a name nobody uses."""
    needed = set(model_parameter_names)
    parameter_set.check_model(sorted(needed | NON_MODEL_PARAMETERS))
    unknown = sorted(set(parameter_set.parameters) - needed - NON_MODEL_PARAMETERS)
    if unknown:
        raise ParameterError(unknown[0], parameter_set.value(unknown[0]),
                             "a parameter of the knee model or of its readouts (unknown name)",
                             parameter_set.origin)

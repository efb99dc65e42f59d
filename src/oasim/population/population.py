"""Population: N virtual subjects with covariates and their own parameter values.

Parameter variability is log-normal around the set's value (the typical value is the median):
θ_i = θ · exp(η_i), η_i ~ N(0, ω²), ω² = log(1 + cv²). Covariates enter parameters explicitly:
BMI sets ``bmi_kg_per_m2``; KL grade sets ``joint_damage_drive`` (= kl_damage_drive_kl<grade>
× the subject's own variability) and the baseline matrix content.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import FieldError
from ..parameters import ParameterSet


def sample_parameters(parameter_set: ParameterSet, n: int, rng: np.random.Generator,
                      variability: bool = True) -> dict[str, np.ndarray]:
    """Per-subject values of every parameter in the set (log-normal where a cv is given)."""
    values = {}
    for p in parameter_set:
        if variability and p.cv is not None:
            omega = np.sqrt(np.log1p(p.cv ** 2))
            values[p.name] = p.value * np.exp(rng.normal(0.0, omega, n))
        else:
            values[p.name] = np.full(n, p.value)
    return values


def _draw(spec: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    kind = spec.get("distribution")
    if kind == "normal":
        x = rng.normal(spec["mean"], spec["sd"], n)
    elif kind == "lognormal":
        x = spec["median"] * np.exp(rng.normal(0.0, np.sqrt(np.log1p(spec["cv"] ** 2)), n))
    elif kind == "categorical":
        return rng.choice(np.asarray(spec["levels"]), size=n, p=np.asarray(spec["probabilities"]))
    else:
        raise FieldError("distribution", kind, "normal, lognormal or categorical")
    return np.clip(x, spec.get("min", -np.inf), spec.get("max", np.inf))


def covariate_spec(name: str = "human_koa") -> dict:
    text = resources.files("oasim.population").joinpath(f"covariates_{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class Population:
    """Covariates (one row per subject) and parameter values (one array per parameter)."""

    covariates: pd.DataFrame
    parameters: dict[str, np.ndarray]
    parameter_set: str

    @property
    def n_subjects(self) -> int:
        return len(self.covariates)

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        """(n_subjects, len(names)) parameter matrix in the given order."""
        return np.column_stack([self.parameters[n] for n in names])

    def subset(self, index) -> "Population":
        index = np.asarray(index)
        return Population(self.covariates.iloc[index].reset_index(drop=True),
                          {k: v[index] for k, v in self.parameters.items()}, self.parameter_set)

    @classmethod
    def sample(cls, parameter_set: ParameterSet, n_subjects: int, rng: np.random.Generator,
               kl_grade: int | None = None, covariates: str = "human_koa",
               variability: bool = True) -> "Population":
        """Draw ``n_subjects`` subjects: covariates first, then parameters.

        Parameters
        ----------
        kl_grade : int, optional
            Fix every subject's Kellgren–Lawrence grade (0 = healthy joint, 2–4 = OA).
        variability : bool
            If False every subject gets the set's typical values (covariates still vary).
        """
        if n_subjects < 1:
            raise FieldError("n_subjects", n_subjects, ">= 1")
        if kl_grade is not None and kl_grade not in (0, 2, 3, 4):
            raise FieldError("kl_grade", kl_grade, "0 (healthy) or 2, 3, 4")
        spec = covariate_spec(covariates)
        cov = pd.DataFrame({
            "subject_id": np.arange(1, n_subjects + 1),
            "age_y": _draw(spec["age_y"], n_subjects, rng),
            "sex": np.where(rng.random(n_subjects) < spec["female_fraction"]["value"], "F", "M"),
            "bmi_kg_per_m2": _draw(spec["bmi_kg_per_m2"], n_subjects, rng),
            "kl_grade": (np.full(n_subjects, kl_grade) if kl_grade is not None
                         else _draw(spec["kl_grade"], n_subjects, rng)).astype(int),
        })
        params = sample_parameters(parameter_set, n_subjects, rng, variability)
        params["bmi_kg_per_m2"] = cov["bmi_kg_per_m2"].to_numpy(float)
        drive = np.zeros(n_subjects)
        for grade in (2, 3, 4):
            mask = cov["kl_grade"].to_numpy() == grade
            drive[mask] = params[f"kl_damage_drive_kl{grade}"][mask]
        # subject variability of the drive: the set's cv on joint_damage_drive, around the KL value
        jd = parameter_set["joint_damage_drive"]
        if variability and jd.cv is not None:
            omega = np.sqrt(np.log1p(jd.cv ** 2))
            drive = drive * np.exp(rng.normal(0.0, omega, n_subjects))
        params["joint_damage_drive"] = drive
        if kl_grade == 0:
            params["bmi_kg_per_m2"] = params["bmi_reference_kg_per_m2"].copy()
        return cls(cov, params, parameter_set.name)

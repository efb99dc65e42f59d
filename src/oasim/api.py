"""The public Python API: :func:`simulate`, :func:`run`, :func:`load_scenario`, :func:`regimen`.

Everything a notebook needs from one import::

    import oasim
    sim = oasim.simulate(subjects=200, years=1, kl=3, doses=["exosome:3e11:particles@0"], seed=1)
    sim.to_pandas()                      # tidy long table
    res = oasim.run("examples/hucmsc_exosome_trial.toml")
    print(res.summary())

:func:`load_scenario` and :func:`run` go through the one scenario loader,
:mod:`oasim.scenario.loader`, which dispatches on the scenario's ``kind``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from .errors import FieldError
from .population import Population
from .protocol import Dose, Protocol
from .results import RunResult, SimulationResult
from .units import DAYS_PER_YEAR

DoseLike = Union[str, Dose]


def regimen(dose: DoseLike, every_days: float, times: int, start_days: float | None = None) -> tuple[Dose, ...]:
    """A repeated dose: ``times`` injections ``every_days`` apart (mrgsolve's ``ii``/``addl + 1``).

    ``dose`` is a :class:`~oasim.protocol.Dose` or its text form ``"exosome:3e11:particles@0"``;
    its time is the first injection unless ``start_days`` is given.

    Examples
    --------
    >>> [d.t_days for d in regimen("exosome:1e11:particles@7", every_days=28, times=3)]
    [7.0, 35.0, 63.0]
    """
    first = Dose.parse(dose) if isinstance(dose, str) else dose
    if not isinstance(first, Dose):
        raise FieldError("regimen.dose", dose, "a Dose or 'product:amount:unit@day'")
    if not isinstance(times, (int, np.integer)) or isinstance(times, bool) or times < 1:
        raise FieldError("regimen.times", times, "an integer >= 1")
    if not np.isfinite(every_days) or every_days <= 0:
        raise FieldError("regimen.every_days", every_days, "a finite interval > 0 days")
    t0 = first.t_days if start_days is None else float(start_days)
    return tuple(Dose(first.product, first.amount, first.unit, t0 + k * float(every_days)) for k in range(times))


def _dose_list(doses) -> tuple[Dose, ...]:
    """One subject's doses from strings, Doses, regimens (nested tuples) or a Protocol."""
    if isinstance(doses, Protocol):
        return tuple(doses.doses)
    if isinstance(doses, (str, Dose)):
        doses = [doses]
    out: list[Dose] = []
    for item in doses:
        if isinstance(item, str):
            out.append(Dose.parse(item))
        elif isinstance(item, Dose):
            out.append(item)
        elif isinstance(item, (tuple, list)) and all(isinstance(d, Dose) for d in item):
            out.extend(item)  # a regimen(...)
        else:
            raise FieldError("doses", item, "dose strings 'product:amount:unit@day', Dose objects or regimen(...)")
    return tuple(sorted(out, key=lambda d: d.t_days))


def _per_subject(doses, n: int) -> tuple[tuple[Dose, ...], ...]:
    """Broadcast one dose list to every subject, or check a per-subject list has ``n`` entries."""
    if doses is None:
        return ((),) * n
    per_subject = (isinstance(doses, (list, tuple)) and len(doses) > 0
                   and all(isinstance(x, (list, tuple, Protocol)) and not _is_regimen(x) for x in doses))
    if not per_subject:
        return (_dose_list(doses),) * n
    if len(doses) != n:
        raise FieldError("doses", f"{len(doses)} per-subject dose lists", f"one list per subject ({n})")
    return tuple(_dose_list(x) for x in doses)


def _is_regimen(x) -> bool:
    return isinstance(x, tuple) and len(x) > 0 and all(isinstance(d, Dose) for d in x)


def simulate(parameter_set: str = "human", subjects: int | Population = 1000, years: float = 2.0,
             kl: int | None = None, doses=None, seed: int = 1, visits_per_year: int = 4,
             t_days: Sequence[float] | None = None, variability: bool = True) -> SimulationResult:
    """Simulate a virtual population, treated or not, and return its trajectories.

    Parameters
    ----------
    parameter_set : name of a packaged set (``"human"``) or a ``.toml`` path
    subjects : number of subjects to draw, or a ready :class:`~oasim.population.Population`
    years : follow-up [year] (ignored when ``t_days`` is given)
    kl : fix every subject's Kellgren–Lawrence grade (0 = healthy, 2–4); None = the covariate mix
    doses : the same doses for everyone — strings ``"exosome:3e11:particles@0"``, ``Dose``
        objects, :func:`regimen` results or a :class:`~oasim.protocol.Protocol` — or one such
        list per subject
    seed : seed of the population draw (a ``numpy.random.Generator``)
    visits_per_year : output times per year (ignored when ``t_days`` is given)
    t_days : explicit output times [day]
    variability : draw subject-level parameter variability (False: typical values)
    """
    from .parameters import ParameterSet
    from .simulation import simulate as _simulate

    if isinstance(subjects, Population):
        population, seed_used = subjects, None
        set_name = population.parameter_set
    else:
        if isinstance(subjects, bool) or not isinstance(subjects, (int, np.integer)) or not 1 <= subjects <= 1_000_000:
            raise FieldError("subjects", subjects, "an integer from 1 to 1,000,000 or a Population")
        ps = ParameterSet.load(parameter_set)
        population = Population.sample(ps, int(subjects), np.random.default_rng(seed), kl_grade=kl,
                                       variability=variability)
        seed_used, set_name = seed, ps.name
    if t_days is None:
        if not np.isfinite(years) or not 0.01 <= years <= 50:
            raise FieldError("years", years, "0.01 to 50 years")
        if not 1 <= visits_per_year <= 365:
            raise FieldError("visits_per_year", visits_per_year, "1 to 365")
        t_days = np.linspace(0.0, years * DAYS_PER_YEAR, int(round(years * visits_per_year)) + 1)
    t = np.asarray(t_days, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(np.diff(t) <= 0):
        raise FieldError("t_days", t_days, "increasing finite times >= 0 days")
    per_subject = _per_subject(doses, population.n_subjects)
    from .model import KneeModel

    model = KneeModel()
    raw = _simulate(population, t, per_subject, model=model)
    return SimulationResult(raw.solution, raw.population, raw.doses, set_name, seed_used,
                            {s.name: s.unit for s in model.states})


def load_scenario(source: str | Path | dict):
    """Read and validate a scenario (a TOML path or a dict) as the model of its ``kind``.

    Returns :class:`oasim.scenario.Scenario` for ``kind = "trial"`` (the default), the
    experiment's model for the preclinical kinds (see :data:`oasim.scenario.KINDS`).

    Raises
    ------
    oasim.errors.ScenarioError
        Listing every problem with field, value and what is allowed.
    """
    from .scenario import load

    return load(source)


def run(scenario, out: str | Path | None = None, force: bool = False, progress=None) -> RunResult:
    """Run any scenario (trial or preclinical experiment) and return its tables and summary.

    Parameters
    ----------
    scenario : a TOML path, a dict, or a scenario returned by :func:`load_scenario`
    out : output folder (written atomically, see :mod:`oasim.io`); None = in memory only
    force : replace an earlier non-empty oasim output folder
    progress : optional callable receiving progress messages
    """
    from .io import check_output_dir

    source = str(scenario) if isinstance(scenario, (str, Path)) else "<scenario>"
    if isinstance(scenario, (str, Path, dict)):
        scenario = load_scenario(scenario)
    if out is None:
        with tempfile.TemporaryDirectory(prefix="oasim-run-") as tmp:
            return _run_into(scenario, Path(tmp) / "out", False, source, progress, keep=False)
    check_output_dir(out, force)
    return _run_into(scenario, Path(out), force, source, progress, keep=True)


def _run_into(scenario, out: Path, force: bool, source: str, progress, keep: bool) -> RunResult:
    from .scenario import run as run_kind

    done = run_kind(scenario, out, force, source, progress)
    report = out / "report.html"
    return RunResult(scenario.kind, scenario.name, done.tables, done.provenance, done.summary, out if keep else None,
                     report.read_text(encoding="utf-8") if report.exists() else None, done.texts)

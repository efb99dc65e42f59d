"""oasim: in-silico intra-articular hUC-MSC and MSC-exosome therapy for knee osteoarthritis.

The public API (imported on first use, so ``import oasim`` stays light)::

    import oasim
    sim = oasim.simulate(subjects=1000, years=2, kl=3, doses=["exosome:3e11:particles@0"], seed=1)
    res = oasim.run("examples/hucmsc_exosome_trial.toml")
"""

from importlib import import_module

_LAZY = {
    "simulate": "oasim.api", "run": "oasim.api", "load_scenario": "oasim.api", "regimen": "oasim.api",
    "SimulationResult": "oasim.results", "RunResult": "oasim.results",
    "Dose": "oasim.protocol", "Protocol": "oasim.protocol", "Population": "oasim.population",
    "ParameterSet": "oasim.parameters", "OasimError": "oasim.errors",
}

__all__ = ["__version__", *_LAZY]


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("oasim")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"


def __getattr__(name: str):
    if name == "__version__":
        globals()["__version__"] = value = _package_version()
        return value
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'oasim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

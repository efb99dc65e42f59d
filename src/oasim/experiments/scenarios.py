"""The experiment scenario models now live in :mod:`oasim.scenario.experiments` (one package for
every scenario kind); this module keeps the old import path working."""

from ..scenario.experiments import (SCENARIOS as SCENARIOS, DoseSpec as DoseSpec,  # noqa: F401
                                    ExplantGroupSpec as ExplantGroupSpec, ExplantScenario as ExplantScenario,
                                    InVitroScenario as InVitroScenario, MouseGroupSpec as MouseGroupSpec,
                                    MouseScenario as MouseScenario, ToxicitySpec as ToxicitySpec,
                                    TranslationSpec as TranslationSpec, WellGroupSpec as WellGroupSpec,
                                    validate_scenario as validate_scenario)

"""Preclinical experiments on the knee model: IL-1β chondrocyte assay (± exosomes, ± macrophages),
human chondrocyte toxicity, cartilage explants, mouse DMM / collagenase OA, dose translation.

Scenario files with ``kind`` in :data:`EXPERIMENT_KINDS` run through :func:`run_experiment`.
"""

from .explant import ExplantDesign as ExplantDesign, ExplantGroup as ExplantGroup
from .explant import reversibility_window as reversibility_window, run_explant as run_explant
from .invitro import AssayDesign as AssayDesign, run_il1b_assay as run_il1b_assay, run_toxicity as run_toxicity
from .mouse import MouseDesign as MouseDesign, MouseGroup as MouseGroup, run_mouse_oa as run_mouse_oa
from .run import ExperimentRun as ExperimentRun, run_experiment as run_experiment
from ..scenario.experiments import SCENARIOS, validate_scenario as validate_scenario
from .systems import System as System
from .translation import translate as translate
from .wells import WellGroup as WellGroup

#: scenario ``kind`` → pydantic model of its file; ``oasim run`` dispatches these to run_experiment
EXPERIMENT_KINDS: dict[str, type] = dict(SCENARIOS)

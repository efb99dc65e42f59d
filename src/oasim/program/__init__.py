"""Bench to bedside in one run: the program scenario (``kind = "program"``).

Stages in vitro assay → toxicity → mouse model → dose translation → escalation design → trial
→ analysis, each fed by name from the earlier ones (``"from:<stage>.<output>"``), with a
provenance trail of every number carried. See :mod:`oasim.program.scenario` for the file
format and :func:`run_program` for the outputs.
"""

from .run import run_program as run_program, run_scenario as run_scenario
from .scenario import OUTPUTS as OUTPUTS, STAGES as STAGES
from .scenario import ProgramReferenceError as ProgramReferenceError, ProgramScenario as ProgramScenario
from .scenario import StageDataError as StageDataError, StageResultError as StageResultError

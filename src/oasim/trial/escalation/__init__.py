"""Dose-escalation designs for the ascending-dose trial: 3+3, BOIN and CRM, with accelerated
titration and sentinel dosing, and their operating characteristics.

A design is an immutable value; ``design.fit("1NNN 2NTN")`` returns a :class:`Decision`.
:func:`simulate_trials` (Monte Carlo, vectorised over trials) and :func:`enumerate_trials`
(exact, over every path) give :class:`OperatingCharacteristics`.

Examples
--------
>>> design = StopAtN(Boin(num_doses=5, target=0.3, cohort_size=3), n=30)
>>> design.fit("1NNN 2NTN").action.value
'stay'
"""

from oasim.trial.escalation.boin import Boin, BoinBoundaries, boin_boundaries
from oasim.trial.escalation.crm import Crm, CrmPosterior, crm_skeleton
from oasim.trial.escalation.design import AbstractDesign, Action, Decision
from oasim.trial.escalation.oc import OperatingCharacteristics
from oasim.trial.escalation.outcomes import Cohort, Outcomes
from oasim.trial.escalation.simulate import enumerate_trials, simulate_trials, simulate_trials_loop
from oasim.trial.escalation.spec import design_from_spec, dlt_from_adverse_events
from oasim.trial.escalation.state import Step, TrialState
from oasim.trial.escalation.three_plus_three import ThreePlusThree
from oasim.trial.escalation.wrappers import AcceleratedTitration, SentinelDosing, StopAtN

__all__ = [
    "AbstractDesign",
    "AcceleratedTitration",
    "Action",
    "Boin",
    "BoinBoundaries",
    "Cohort",
    "Crm",
    "CrmPosterior",
    "Decision",
    "OperatingCharacteristics",
    "Outcomes",
    "SentinelDosing",
    "Step",
    "StopAtN",
    "ThreePlusThree",
    "TrialState",
    "boin_boundaries",
    "crm_skeleton",
    "design_from_spec",
    "dlt_from_adverse_events",
    "enumerate_trials",
    "simulate_trials",
    "simulate_trials_loop",
]

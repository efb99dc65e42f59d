"""Trial datasets: CDISC-style SDTM-like (DM, EX, QS, MO, LB, AE) and ADaM-like (ADSL, ADQS, ADAE)."""

from .dataset import TrialDataset as TrialDataset
from .tables import from_trial_run as from_trial_run

"""Standard ADaM data in, standard analyses out: one path for real trials and simulated ones.

* :func:`read_adam_dir` reads ADaM/SDTM datasets from SAS XPT, Parquet, CSV or Dataset-JSON;
* :func:`analyse_adam` runs the ANCOVA, dose-response trend test, MMRM, descriptive tables,
  Table 1 and the adverse-event overview on a parameter of a BDS dataset
  (:class:`AnalysisSpec` holds the choices of ``oasim analyse``);
* :class:`AdamAnalysis` turns the results into JSON, an analysis-results table (ARD) and the
  HTML report.
"""

from .engine import AdamAnalysis as AdamAnalysis
from .engine import AnalysisSpec as AnalysisSpec
from .engine import analyse_adam as analyse_adam
from .io import read_adam_dir as read_adam_dir

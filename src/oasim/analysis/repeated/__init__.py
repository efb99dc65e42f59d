"""Mixed model for repeated measures (MMRM): REML, Satterthwaite and Kenward–Roger inference."""

from oasim.analysis.repeated.covariance import STRUCTURES as STRUCTURES
from oasim.analysis.repeated.fit import mmrm as mmrm
from oasim.analysis.repeated.result import MmrmResult as MmrmResult

"""Trial statistics validated against SAS and R: ANCOVA, MMRM, responders, safety, MCP-Mod.

Every analysis takes a long-format pandas DataFrame with CDISC-ADaM-like column names and
returns a frozen result object with ``summary()``, ``to_frame()`` and ``inputs_hash``.
"""

from oasim.analysis._common import ConvergenceError as ConvergenceError
from oasim.analysis._common import ResultSummary as ResultSummary
from oasim.analysis._common import inputs_hash as inputs_hash
from oasim.analysis.ancova import AncovaResult as AncovaResult
from oasim.analysis.ancova import ancova as ancova
from oasim.analysis.prepost import PrePostResult as PrePostResult
from oasim.analysis.prepost import cohens_dz_ci as cohens_dz_ci
from oasim.analysis.prepost import prepost as prepost
from oasim.analysis.safety import SafetyTables as SafetyTables
from oasim.analysis.safety import clopper_pearson as clopper_pearson
from oasim.analysis.safety import poisson_rate_ci as poisson_rate_ci
from oasim.analysis.safety import safety_table as safety_table
from oasim.analysis.repeated import STRUCTURES as MMRM_COVARIANCE_STRUCTURES  # noqa: F401
from oasim.analysis.repeated import MmrmResult as MmrmResult
from oasim.analysis.repeated import mmrm as mmrm
from oasim.analysis.responders import ResponderResult as ResponderResult
from oasim.analysis.responders import mcid_responder as mcid_responder
from oasim.analysis.responders import omeract_oarsi_responder as omeract_oarsi_responder
from oasim.analysis.responders import responders as responders
from oasim.analysis.mcpmod import McpModResult as McpModResult
from oasim.analysis.mcpmod import mcp_mod as mcp_mod

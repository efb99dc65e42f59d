"""Population solvers: the numba Rodas4 default, tableau-driven Rosenbrock variants and the SciPy reference."""

from .base import AbstractSolver as AbstractSolver
from .numba_rodas import NumbaRodasSolver as NumbaRodasSolver
from .rosenbrock import RosenbrockSolver as RosenbrockSolver
from .scipy_reference import ScipyReferenceSolver as ScipyReferenceSolver
from .solution import Solution as Solution

SOLVERS = {"numba": NumbaRodasSolver, "rosenbrock": RosenbrockSolver, "scipy": ScipyReferenceSolver}

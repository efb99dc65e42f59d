"""Population solvers: the numba Rodas4 default, tableau-driven Rosenbrock variants, a BDF with
Jacobian/LU reuse and the SciPy reference."""

from .base import AbstractSolver as AbstractSolver
from .bdf import BdfSolver as BdfSolver
from .numba_rodas import NumbaRodasSolver as NumbaRodasSolver
from .rosenbrock import RosenbrockSolver as RosenbrockSolver
from .scipy_reference import ScipyReferenceSolver as ScipyReferenceSolver
from .solution import Solution as Solution

from functools import partial as _partial

SOLVERS = {"numba": NumbaRodasSolver, "rosenbrock": RosenbrockSolver, "bdf": BdfSolver, "scipy": ScipyReferenceSolver,
           # the fastest at tight tolerance (benchmarks.throughput): Rodas5P + interpolant, 4 subjects per SIMD step
           "rodas5p-x4": _partial(RosenbrockSolver, method="rodas5p", dense=True, lanes=4)}

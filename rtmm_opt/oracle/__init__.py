"""The offline oracle (docs/design.md §5): CP-SAT on exactly the Instance the engine replays."""

from rtmm_opt.oracle.objectives import Objective, evaluate, parse_objective
from rtmm_opt.oracle.run import OracleResult, SolverLimits
from rtmm_opt.oracle.solve import solve

__all__ = ["Objective", "OracleResult", "SolverLimits", "evaluate", "parse_objective", "solve"]

"""Parameter sweeps (docs/sweeps.md): spaces, settling, the executor, walk-forward, overfitting.

The modules here import the driver (``backtestr.run``: numba, the engine) only
when the first set runs, and optuna only when a search starts.
"""

from .constraints import parse_constraint
from .curves import returns_matrix
from .executor import Objective, SweepResult, sweep
from .overfit import deflated_sharpe, deflated_sharpe_of, expected_max_sharpe, pbo, probabilistic_sharpe
from .plots import heatmap, parallel, pbo_figure, walk_forward_figure  # also res.heatmap(...), wf.plot()
from .search import search
from .settle import Plan, SettledSet, plan
from .space import Range, random
from .stats import headline
from .walk import WalkForward, walk_forward
from .walkforward import select_best, stitch, windows

__all__ = ["Objective", "Plan", "Range", "SettledSet", "SweepResult", "WalkForward", "deflated_sharpe",
           "deflated_sharpe_of", "expected_max_sharpe", "headline", "heatmap", "parallel", "parse_constraint", "pbo",
           "pbo_figure", "plan", "probabilistic_sharpe", "random", "returns_matrix", "search", "select_best",
           "stitch", "sweep", "walk_forward", "walk_forward_figure", "windows"]

"""The plan engine: one plan run → :class:`~capplan.engine.projection.Projection`.

Data flow: :mod:`.planner` compiles the plan, evaluates it (:mod:`.evaluate`, the reference
semantics, or the fast :mod:`.montecarlo` engine), finds its events (:mod:`.events`) and
returns a :class:`~capplan.engine.projection.Projection`. What a plan means, and the words
the engine uses (path, period, figure, level, block, spare, derived, contribution), are
defined in :mod:`capplan.engine.evaluate`.
"""

from capplan.engine.planner import periods_for_months, run_plan, run_scenarios
from capplan.engine.projection import Projection

__all__ = ["Projection", "periods_for_months", "run_plan", "run_scenarios"]

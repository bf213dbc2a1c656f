"""Sizing: from demand to instances, rungs and tiers, vectorized over paths and periods."""

from capplan.sizing.formula import size_formula
from capplan.sizing.horizontal import size_horizontal
from capplan.sizing.ladder import size_vertical
from capplan.sizing.result import Sized, ceil_count
from capplan.sizing.tiers import size_tiers

__all__ = ["Sized", "ceil_count", "size_formula", "size_horizontal", "size_tiers", "size_vertical"]

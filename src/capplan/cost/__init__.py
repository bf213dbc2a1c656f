"""Prices and cost projection."""

from capplan.cost.pricing import component_cost, cost_of, reserved_savings, spot_savings

__all__ = ["component_cost", "cost_of", "reserved_savings", "spot_savings"]

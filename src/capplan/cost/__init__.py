"""Prices and cost projection."""

from capplan.cost.pricing import component_cost, reserved_savings

__all__ = ["component_cost", "reserved_savings"]

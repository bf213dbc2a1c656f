"""Growth models and their Monte Carlo sampling."""

from capplan.growth.models import project_driver
from capplan.growth.sampling import sample_rates

__all__ = ["project_driver", "sample_rates"]

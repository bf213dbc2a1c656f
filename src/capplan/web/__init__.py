"""The capplan service: a FastAPI app (JSON API, dashboard, ``/metrics``) built by a factory."""

from capplan.web.app import create_app
from capplan.web.settings import Settings

__all__ = ["Settings", "create_app"]

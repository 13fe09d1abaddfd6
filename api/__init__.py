"""The HTTP API (FastAPI): authentication, roles, buyer scoping and one router per area. Nothing
imports this package; it imports everything else."""
from api.app import PUBLIC_PATHS, create_app

__all__ = ["PUBLIC_PATHS", "create_app"]

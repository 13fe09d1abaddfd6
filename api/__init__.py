"""The HTTP API (FastAPI): authentication, roles, buyer scoping and one router per area. Only the
benches import this package (the API fuzz runs the app in process); it imports everything else."""
from api.app import PUBLIC_PATHS, create_app
from api.tokens import issue_token

__all__ = ["PUBLIC_PATHS", "create_app", "issue_token"]

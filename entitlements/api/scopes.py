"""Who may call a person's own endpoint (My Access requests, a reviewer's decisions): one rule for both."""

from directory.actors import Actor
from directory.api.errors import denied

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def require_own_scope(actor: Actor, method: str, *, read, write) -> None:
    """A delegated token needs only the scope (the service then checks that the object is the person's
    own); an app-only call needs the permission itself; a console session (no app) passes."""
    wanted = set(read if method in SAFE_METHODS else write)
    allowed = actor.has_any(wanted) if actor.is_app_only else (actor.app is None or actor.granted_scopes & wanted)
    if not allowed:
        raise denied()

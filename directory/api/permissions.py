from rest_framework.permissions import BasePermission

from ..actors import Actor
from .errors import denied


class GraphPermission(BasePermission):
    """A view lists the Graph permissions that allow each kind of call:

    ``read_permissions`` for GET, ``write_permissions`` for everything else. Any one suffices
    (Graph's least-privileged-or-higher rule). Views may narrow further per object.
    """

    def has_permission(self, request, view) -> bool:
        principal = request.auth
        if not isinstance(principal, Actor):
            return False  # → 401 through authenticate_header
        wanted = view.read_permissions if request.method in ("GET", "HEAD", "OPTIONS") else view.write_permissions
        if wanted and not principal.has_any(wanted):
            if (request.method not in ("GET", "HEAD", "OPTIONS") and getattr(view, "owners_may_write", False)
                    and principal.user is not None):
                return True  # the base view lets the object's owner through (GraphView.check_owner)
            raise denied()
        return True

"""/auditLogs/signIns: the tenant's sign-in log, newest first like Graph's (AuditLog.Read.All)."""

from ..models import SignInEvent
from .audit import AUDIT_READ
from .base import GraphView
from .resources import SIGN_IN

DEFAULT_ORDER = "createdDateTime desc"


class _SignInBase(GraphView):
    resource = SIGN_IN
    context = "auditLogs/signIns"
    read_permissions = AUDIT_READ
    count_needs_eventual = False

    def scoped_queryset(self):
        return SignInEvent.objects.filter(tenant=self.principal.tenant).select_related("application")


class SignInsView(_SignInBase):
    responses = {"get": "list"}

    def get(self, request):
        self.with_default_order(DEFAULT_ORDER)
        return self.list_response(self.scoped_queryset())


class SignInView(_SignInBase):
    responses = {"get": "item"}

    def get(self, request, sign_in_id):
        return self.item_response(self.get_object(sign_in_id))

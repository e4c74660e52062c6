"""/auditLogs/directoryAudits: the tenant's audit trail, newest first like Graph's."""

from ..models import AuditEvent
from .base import GraphView
from .resources import AUDIT

AUDIT_READ = ("AuditLog.Read.All",)
DEFAULT_ORDER = "activityDateTime desc"


class _AuditBase(GraphView):
    resource = AUDIT
    context = "auditLogs/directoryAudits"
    read_permissions = AUDIT_READ
    count_needs_eventual = False

    def scoped_queryset(self):
        return AuditEvent.objects.filter(tenant=self.principal.tenant)


class DirectoryAuditsView(_AuditBase):
    responses = {"get": "list"}

    def get(self, request):
        self.with_default_order(DEFAULT_ORDER)
        return self.list_response(self.scoped_queryset())


class DirectoryAuditView(_AuditBase):
    responses = {"get": "item"}

    def get(self, request, audit_id):
        return self.item_response(self.get_object(audit_id))

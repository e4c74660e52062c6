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
        if not request.query_params.get("$orderby"):
            # Graph lists audits newest first. The default order is written into the query, so that
            # @odata.nextLink carries it and its $skiptoken matches.
            query = request._request.GET.copy()
            query["$orderby"] = DEFAULT_ORDER
            request._request.GET = query
        return self.list_response(self.scoped_queryset())


class DirectoryAuditView(_AuditBase):
    responses = {"get": "item"}

    def get(self, request, audit_id):
        return self.item_response(self.get_object(audit_id))

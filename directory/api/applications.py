"""/servicePrincipals and their appRoleAssignedTo (who an enterprise application is assigned to)."""

import uuid

from django.db.models import Q
from rest_framework.response import Response

from .. import services
from ..models import Application, AppRoleAssignment
from ..selectors import applications_visible_to, groups_visible_to, users_visible_to
from .base import GraphView
from .bodies import Body, Field
from .errors import bad_request, not_found
from .resources import APP_ROLE_ASSIGNMENT, DEFAULT_APP_ROLE_ID, SERVICE_PRINCIPAL, with_principal

APP_READ = ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
ASSIGNMENT_READ = (*APP_READ, "AppRoleAssignment.ReadWrite.All")
ASSIGNMENT_WRITE = ("AppRoleAssignment.ReadWrite.All", "Application.ReadWrite.All", "Directory.ReadWrite.All")

_GUID = {"format": "uuid"}
ASSIGN = Body(APP_ROLE_ASSIGNMENT.odata_type, {
    "principalId": Field("string", required=True, max_length=64, schema=_GUID,
                         description="The id of the user or group to assign."),
    "resourceId": Field("string", required=True, max_length=64, schema=_GUID,
                        description="The id of the service principal in the URL."),
    "appRoleId": Field("string", required=True, max_length=64, schema={**_GUID, "example": DEFAULT_APP_ROLE_ID},
                       description=f"{DEFAULT_APP_ROLE_ID}, the default access role (there are no others)."),
})


def _guid(body: dict, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(body[name])
    except ValueError:
        raise bad_request(f"Property '{name}' must be a GUID; '{body[name][:60]}' is not.") from None


class _ServicePrincipalBase(GraphView):
    resource = SERVICE_PRINCIPAL
    context = "servicePrincipals"
    read_permissions = APP_READ
    write_permissions = ASSIGNMENT_WRITE

    def scoped_queryset(self):
        return applications_visible_to(self.principal)


class ServicePrincipalsView(_ServicePrincipalBase):
    responses = {"get": "list"}

    def get(self, request):
        return self.list_response(self.scoped_queryset())


class ServicePrincipalView(_ServicePrincipalBase):
    responses = {"get": "item"}

    def get(self, request, sp_id):
        return self.item_response(self.get_object(sp_id))


class _AssignmentBase(_ServicePrincipalBase):
    resource = APP_ROLE_ASSIGNMENT
    read_permissions = ASSIGNMENT_READ
    count_needs_eventual = False
    owners_may_write = True  # an application's owners manage who is assigned to it (authz.OWNER_CAPABILITIES)

    def owned_object(self, kwargs) -> Application | None:
        return Application.objects.filter(tenant=self.principal.tenant, **self.lookup(kwargs["sp_id"])).first()

    def application(self, sp_id) -> Application:
        app = self.get_object(sp_id)
        self.context = f"servicePrincipals('{app.pk}')/appRoleAssignedTo"
        return app

    def assignments(self, app: Application):
        # A soft-deleted user's assignments stay (a restore brings them back) but are not listed.
        return with_principal(AppRoleAssignment.objects.filter(tenant=self.principal.tenant, application=app)
                              .filter(Q(user__isnull=True) | Q(user__deleted_at__isnull=True)))


class AppRoleAssignedToView(_AssignmentBase):
    bodies = {"POST": ASSIGN}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request, sp_id):
        return self.list_response(self.assignments(self.application(sp_id)))

    def post(self, request, sp_id):
        app = self.application(sp_id)
        body = self.body()
        principal_id, resource_id, app_role_id = (_guid(body, n) for n in ("principalId", "resourceId", "appRoleId"))
        if resource_id != app.pk:
            raise bad_request("Property 'resourceId' must be the id of the service principal in the URL.")
        if str(app_role_id) != DEFAULT_APP_ROLE_ID:
            raise bad_request(f"Permission being assigned was not found on application '{app.app_id}'. Only the "
                              f"default access role {DEFAULT_APP_ROLE_ID} exists.")
        user = users_visible_to(self.principal).filter(pk=principal_id).first()
        group = None if user else groups_visible_to(self.principal).filter(pk=principal_id).first()
        if user is None and group is None:
            raise not_found(f"Resource '{principal_id}' does not exist or one of its queried reference-property "
                            "objects are not present.")
        existing = app.assignments.filter(user=user) if user else app.assignments.filter(group=group)
        if existing.exists():
            raise bad_request("Permission being assigned already exists on the object.")
        assignment = services.app_assignment_create(actor=self.principal, application=app, user=user,
                                                    group=group)
        assignment = self.assignments(app).get(pk=assignment.pk)
        return self.item_response(assignment, status=201, headers={"Location": self.request.build_absolute_uri(
            f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo/{assignment.pk}")})


class AppRoleAssignmentView(_AssignmentBase):
    responses = {"get": "item", "delete": 204}

    def assignment(self, sp_id, assignment_id) -> AppRoleAssignment:
        app = self.application(sp_id)
        assignment = self.assignments(app).filter(**self.lookup(assignment_id)).first()
        if assignment is None:
            raise not_found()
        return assignment

    def get(self, request, sp_id, assignment_id):
        return self.item_response(self.assignment(sp_id, assignment_id))

    def delete(self, request, sp_id, assignment_id):
        services.app_assignment_delete(actor=self.principal,
                                       assignment=self.assignment(sp_id, assignment_id))
        return Response(status=204)

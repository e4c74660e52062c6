"""``/identityGovernance/entitlementManagement/…``: parse the Graph body, call one service or selector.

Administrators' endpoints need ``EntitlementManagement.Read.All`` / ``ReadWrite.All`` (the services
check catalog rights too), or, as Entra allows, a catalog role in the tenant and a delegated token
with that scope: the selectors then show only the catalogs the person holds a role in (another
catalog's objects are 404) and the services allow what the role allows (the scope ∩ the role).
A person's own endpoints (``filterByCurrentUser``, a ``userAdd`` request,
an approver's decision) need only the delegated scope: the services decide what the person may.
"""

import re
import uuid

from django.db import transaction
from rest_framework.response import Response

from directory import authz
from directory.actors import Actor
from directory.api.base import GraphView
from directory.api.bodies import REFERENCE, Body, Field
from directory.api.errors import bad_request, denied, not_found
from directory.api.navigation import parse_reference
from directory.models import Application, Group, User

from .. import selectors, services
from ..models import (
    AccessPackage,
    ApprovalStageRecord,
    AssignmentPolicy,
    AssignmentRequest,
    CatalogResource,
    CatalogRoleAssignment,
    ConnectedOrganization,
    ResourceRole,
)
from . import resources as r
from .scopes import require_own_scope

READ = ("EntitlementManagement.Read.All", "EntitlementManagement.ReadWrite.All")
WRITE = ("EntitlementManagement.ReadWrite.All",)
BASE = "identityGovernance/entitlementManagement"


def _uuid(value, name: str):
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        raise bad_request(f"Property '{name}' must be a GUID.") from None


def _ref_url_id(value) -> uuid.UUID:
    """The id at the end of a reference URL (``…/accessPackages/{id}``)."""
    from urllib.parse import urlsplit

    if not isinstance(value, str) or len(value) > 2048:
        raise bad_request("'@odata.id' must be the URL of an access package.")
    try:
        path = urlsplit(value).path
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1/…"
        raise bad_request("'@odata.id' must be the URL of an access package.") from None
    return _uuid(path.rstrip("/").rsplit("/", 1)[-1], "@odata.id")


def _ref_id(value: dict | None, name: str):
    if not isinstance(value, dict) or "id" not in value:
        raise bad_request(f"Property '{name}' needs its id.")
    return _uuid(value["id"], f"{name}.id")


class _EM(GraphView):
    read_permissions = READ
    write_permissions = WRITE
    count_needs_eventual = False
    #: Catalog role holders reach this endpoint (catalogs, packages, policies, assignments; not the
    #: tenant's connected organizations or settings).
    catalog_roles = True

    def _through_catalog_roles(self, request) -> bool:
        write = request.method not in ("GET", "HEAD", "OPTIONS")
        return (self.catalog_roles and isinstance(self.principal, Actor)
                and selectors.acts_through_catalog_roles(self.principal, write=write))

    def check_permissions(self, request):
        try:
            super().check_permissions(request)
        except Exception:
            if not self._through_catalog_roles(request):
                raise

    def check_owner(self, request, kwargs) -> None:
        # The base view lets only owners write without the tenant-wide permission; here catalog roles do.
        if (request.method in ("GET", "HEAD", "OPTIONS") or not isinstance(self.principal, Actor)
                or self.principal.has_any(self.write_permissions) or not self._through_catalog_roles(request)):
            super().check_owner(request, kwargs)

    def context_url(self, suffix: str = "") -> str:
        return self.request.build_absolute_uri(f"/v1.0/$metadata#{BASE}/{self.context}{suffix}")

    def plain_list(self, values: list[dict]) -> Response:
        if any(k.startswith("$") for k in self.request.query_params):
            raise bad_request("Query options are not supported on this collection.", "Request_UnsupportedQuery")
        return Response({"@odata.context": self.context_url(), "value": values})


class _Own(_EM):
    """A person's own endpoint: the delegated token's scope is enough (app-only calls need the permission)."""

    read_permissions = ()
    write_permissions = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        require_own_scope(self.principal, request.method, read=READ, write=WRITE)


# --- catalogs -----------------------------------------------------------------------------------------

CATALOG_BODY = {
    "displayName": Field("string", max_length=256), "description": Field("string", max_length=1024),
    "state": Field("string", enum=("published", "unpublished")), "isExternallyVisible": Field("bool"),
    "catalogType": Field("string", enum=("userManaged",)),
}
CATALOG_MAP = {"displayName": "display_name", "description": "description", "state": "state",
               "isExternallyVisible": "is_externally_visible"}


def _mapped(body: dict, mapping: dict) -> dict:
    return {mapping[k]: v for k, v in body.items() if k in mapping}


class CatalogsView(_EM):
    resource = r.CATALOG
    context = "catalogs"
    bodies = {"POST": Body("microsoft.graph.accessPackageCatalog", {
        **CATALOG_BODY, "displayName": Field("string", required=True, max_length=256)})}
    responses = {"get": "list", "post": (201, "item")}

    def scoped_queryset(self):
        return selectors.catalogs_visible_to(self.principal)

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        fields = _mapped(self.body(), CATALOG_MAP)
        catalog = services.catalog_create(actor=self.principal, tenant=self.principal.tenant,
                                          display_name=fields.pop("display_name"), **fields)
        return self.item_response(catalog, status=201)


class CatalogView(_EM):
    resource = r.CATALOG
    context = "catalogs"
    bodies = {"PATCH": Body("microsoft.graph.accessPackageCatalog", CATALOG_BODY, update=True)}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def scoped_queryset(self):
        return selectors.catalogs_visible_to(self.principal)

    def get(self, request, catalog_id):
        return self.item_response(self.get_object(catalog_id))

    def patch(self, request, catalog_id):
        services.catalog_update(actor=self.principal, catalog=self.get_object(catalog_id),
                                changes=_mapped(self.body(), CATALOG_MAP))
        return Response(status=204)

    def delete(self, request, catalog_id):
        services.catalog_delete(actor=self.principal, catalog=self.get_object(catalog_id))
        return Response(status=204)


class CatalogResourcesView(_EM):
    resource = r.RESOURCE
    context = "catalogs/resources"
    responses = {"get": "list"}

    def scoped_queryset(self):
        return selectors.resources_visible_to(self.principal)

    def get(self, request, catalog_id):
        catalog = self.get_object(catalog_id, queryset=selectors.catalogs_visible_to(self.principal))
        return self.list_response(self.scoped_queryset().filter(catalog=catalog))


class CatalogResourceRolesView(_EM):
    resource = r.RESOURCE
    context = "catalogs/resourceRoles"
    responses = {"get": "list"}

    def get(self, request, catalog_id):
        catalog = self.get_object(catalog_id, queryset=selectors.catalogs_visible_to(self.principal))
        values = []
        for resource in selectors.resources_visible_to(self.principal).filter(catalog=catalog).order_by("created_at"):
            roles = (ResourceRole.MEMBER, ResourceRole.OWNER) if resource.group_id else (ResourceRole.DEFAULT_ACCESS,)
            values += [r.role_json(resource, role) for role in roles]
        return self.plain_list(values)


class ResourceRequestsView(_EM):
    """A group or application enters a catalog by an ``adminAdd`` request naming its ``originId`` and
    ``originSystem`` (and leaves by ``adminRemove``), as in Graph. Handled at once: 201 delivered."""

    resource = r.RESOURCE
    context = "resourceRequests"
    query_options = {"POST": set()}  # answered whole: a $select would be ignored, so it is refused
    bodies = {"POST": Body("microsoft.graph.accessPackageResourceRequest", {
        "requestType": Field("string", required=True, enum=("adminAdd", "adminRemove")),
        "catalog": Field("object", required=True), "resource": Field("object", required=True),
        "justification": Field("string", max_length=4000)})}
    responses = {"post": (201, "item")}

    @transaction.atomic
    def post(self, request):
        body = self.body()
        catalog = selectors.catalogs_visible_to(self.principal).filter(pk=_ref_id(body["catalog"], "catalog")).first()
        if catalog is None:
            raise not_found()
        origin_id = _uuid(body["resource"].get("originId"), "resource.originId")
        system = body["resource"].get("originSystem")
        if system not in ("AadGroup", "AadApplication"):
            raise bad_request("resource.originSystem must be AadGroup or AadApplication.")
        model = Group if system == "AadGroup" else Application
        obj = model.objects.filter(tenant=catalog.tenant, pk=origin_id).first()
        if obj is None:
            raise not_found(f"Resource '{origin_id}' does not exist or one of its queried reference-property "
                            "objects are not present.")
        if body["requestType"] == "adminAdd":
            resource = services.catalog_resource_add(actor=self.principal, catalog=catalog, obj=obj)
        else:
            resource = CatalogResource.objects.filter(catalog=catalog, **{
                "group" if system == "AadGroup" else "application": obj}).first()
            if resource is None:
                raise not_found()
            services.catalog_resource_remove(actor=self.principal, resource=resource)
        return Response({
            "@odata.context": self.context_url("/$entity"), "id": str(uuid.uuid4()),
            "requestType": body["requestType"], "state": "delivered", "justification": body.get("justification"),
            "createdDateTime": r._dt(resource.created_at), "catalog": {"id": str(catalog.pk)},
            "resource": r.resource_ref(resource)}, status=201)


# --- access packages ------------------------------------------------------------------------------------

PACKAGE_BODY = {"displayName": Field("string", max_length=256), "description": Field("string", max_length=1024),
                "isHidden": Field("bool")}
PACKAGE_MAP = {"displayName": "display_name", "description": "description", "isHidden": "is_hidden"}


class _PackageBase(_EM):
    resource = r.PACKAGE
    context = "accessPackages"

    def scoped_queryset(self):
        return selectors.packages_visible_to(self.principal)


class PackagesView(_PackageBase):
    bodies = {"POST": Body("microsoft.graph.accessPackage", {
        **PACKAGE_BODY, "displayName": Field("string", required=True, max_length=256),
        "catalog": Field("object", required=True)})}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = self.body()
        catalog = selectors.catalogs_visible_to(self.principal).filter(pk=_ref_id(body["catalog"], "catalog")).first()
        if catalog is None:
            raise not_found()
        fields = _mapped(body, PACKAGE_MAP)
        package = services.package_create(actor=self.principal, catalog=catalog,
                                          display_name=fields.pop("display_name"), **fields)
        return self.item_response(package, status=201)


class PackageView(_PackageBase):
    bodies = {"PATCH": Body("microsoft.graph.accessPackage", PACKAGE_BODY, update=True)}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, package_id):
        return self.item_response(self.get_object(package_id))

    def patch(self, request, package_id):
        services.package_update(actor=self.principal, package=self.get_object(package_id),
                                changes=_mapped(self.body(), PACKAGE_MAP))
        return Response(status=204)

    def delete(self, request, package_id):
        services.package_delete(actor=self.principal, package=self.get_object(package_id))
        return Response(status=204)


class RoleScopesView(_PackageBase):
    """The package's resource roles. POST names the role by Graph's ``originId`` (``Member_<groupId>``,
    ``Owner_<groupId>``; an application's default access) and its resource in the package's catalog."""

    resource = r.ROLE_SCOPE
    context = "accessPackages/resourceRoleScopes"
    bodies = {"POST": Body("microsoft.graph.accessPackageResourceRoleScope", {
        "role": Field("object", required=True), "scope": Field("object")})}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request, package_id):
        package = self.get_object(package_id, queryset=selectors.packages_visible_to(self.principal))
        return self.list_response(package.role_scopes.select_related("resource__group", "resource__application"))

    def post(self, request, package_id):
        package = self.get_object(package_id, queryset=selectors.packages_visible_to(self.principal))
        role = self.body()["role"]
        origin = str(role.get("originId") or "")
        resource_ref = role.get("resource") or {}
        resources = CatalogResource.objects.filter(catalog=package.catalog)
        resource = None
        if resource_ref.get("id"):
            resource = resources.filter(pk=_uuid(resource_ref["id"], "role.resource.id")).first()
        elif resource_ref.get("originId"):
            origin_object = _uuid(resource_ref["originId"], "role.resource.originId")
            resource = resources.filter(group_id=origin_object).first() or resources.filter(
                application_id=origin_object).first()
        if resource is None:
            raise bad_request("The role's resource is not in the access package's catalog.")
        if resource.group_id:
            kind = origin.split("_", 1)[0]
            if kind not in (ResourceRole.MEMBER, ResourceRole.OWNER) or origin != f"{kind}_{resource.group_id}":
                raise bad_request("A group's role originId is Member_<groupId> or Owner_<groupId>.")
        else:
            kind = ResourceRole.DEFAULT_ACCESS
        scope = services.role_scope_add(actor=self.principal, package=package, resource=resource, role=kind)
        return self.item_response(scope, status=201)


class IncompatiblePackagesView(_PackageBase):
    responses = {"get": "list"}

    def get(self, request, package_id):
        package = self.get_object(package_id)
        return self.list_response(self.scoped_queryset().filter(incompatible_with=package))


class IncompatiblePackagesRefView(_PackageBase):
    bodies = {"POST": REFERENCE}
    responses = {"post": 204}

    def post(self, request, package_id):
        package = self.get_object(package_id)
        other = self.scoped_queryset().filter(pk=_ref_url_id(self.body()["@odata.id"])).first()
        if other is None:
            raise not_found()
        services.package_incompatible_set(actor=self.principal, package=package, other=other, add=True)
        return Response(status=204)


class PackagesForMeView(_Own):
    """``filterByCurrentUser(on='allowedRequestor')``: the packages the caller may request."""

    resource = r.PACKAGE
    context = "accessPackages"
    responses = {"get": "list"}

    def get(self, request):
        if self.principal.user is None:
            return self.plain_list([])
        packages = selectors.requestable_packages(self.principal, self.principal.tenant, limit=999)
        return self.plain_list([self.represent(p) for p in packages])


# --- assignment policies --------------------------------------------------------------------------------

POLICY_BODY = {
    "displayName": Field("string", max_length=256), "description": Field("string", max_length=1024),
    "allowedTargetScope": Field("string", enum=tuple(AssignmentPolicy.TargetScope.values)),
    "specificAllowedTargets": Field("list", max_length=500), "expiration": Field("object", nullable=True),
    "requestorSettings": Field("object", nullable=True), "requestApprovalSettings": Field("object", nullable=True),
    "questions": Field("list", max_length=50), "accessPackage": Field("object"),
    "automaticRequestSettings": Field("object", nullable=True), "reviewSettings": Field("object", nullable=True),
    "notificationSettings": Field("object", nullable=True),
}


def policy_input(body: dict) -> tuple[dict, list | None, list | None]:
    """Graph's policy body → the service's fields, stages and questions."""
    fields = _mapped(body, {"displayName": "display_name", "description": "description",
                            "allowedTargetScope": "allowed_target_scope",
                            "specificAllowedTargets": "specific_allowed_targets"})
    expiration = body.get("expiration") or {}
    if expiration:
        kind = expiration.get("type") or "notSpecified"
        if kind not in AssignmentPolicy.ExpirationType.values:
            raise bad_request("expiration.type must be noExpiration, afterDateTime or afterDuration.")
        fields["expiration_type"] = kind
        if expiration.get("endDateTime"):
            from django.utils.dateparse import parse_datetime

            fields["expiration_end"] = parse_datetime(str(expiration["endDateTime"]))
        fields["expiration_duration"] = r.read_duration(expiration.get("duration"), "expiration.duration")
    requestor = body.get("requestorSettings") or {}
    for graph, name in (("enableTargetsToSelfAddAccess", "enable_targets_to_self_add"),
                        ("enableTargetsToSelfUpdateAccess", "enable_targets_to_self_update"),
                        ("enableTargetsToSelfRemoveAccess", "enable_targets_to_self_remove"),
                        ("allowCustomAssignmentSchedule", "allow_custom_schedule")):
        if graph in requestor:
            fields[name] = bool(requestor[graph])
    stages = None
    approval = body.get("requestApprovalSettings")
    if approval is not None:
        for graph, name in (("isApprovalRequiredForAdd", "is_approval_required_for_add"),
                            ("isApprovalRequiredForUpdate", "is_approval_required_for_update"),
                            ("isRequestorJustificationRequired", "is_requestor_justification_required")):
            if graph in approval:
                fields[name] = bool(approval[graph])
        stages = [{
            "duration_before_automatic_denial": r.read_duration(s.get("durationBeforeAutomaticDenial"), "stages")
            or r.read_duration("P14D", "stages"),
            "is_approver_justification_required": bool(s.get("isApproverJustificationRequired")),
            "is_escalation_enabled": bool(s.get("isEscalationEnabled")),
            "duration_before_escalation": r.read_duration(s.get("durationBeforeEscalation"), "stages")
            if s.get("isEscalationEnabled") else None,
            "primary_approvers": s.get("primaryApprovers") or [],
            "fallback_primary_approvers": s.get("fallbackPrimaryApprovers") or [],
            "escalation_approvers": s.get("escalationApprovers") or [],
            "fallback_escalation_approvers": s.get("fallbackEscalationApprovers") or [],
        } for s in approval.get("stages") or []]
    questions = None
    if "questions" in body:
        questions = []
        for n, q in enumerate(body["questions"]):
            multiple = str(q.get("@odata.type", "")).endswith("MultipleChoiceQuestion")
            questions.append({
                "sequence": q.get("sequence", n), "kind": "multipleChoice" if multiple else "text",
                "is_required": bool(q.get("isRequired")), "is_single_line": bool(q.get("isSingleLineQuestion", True)),
                "text": str(q.get("text") or ""),
                "localizations": {loc.get("languageCode"): loc.get("text") for loc in q.get("localizations") or []},
                "choices": q.get("choices") or [], "allows_multiple_selection": bool(q.get("allowsMultipleSelections")),
            })
    return fields, stages, questions


class _PolicyBase(_EM):
    resource = r.POLICY
    context = "assignmentPolicies"

    def scoped_queryset(self):
        return selectors.policies_visible_to(self.principal).prefetch_related("stages", "questions")


class PoliciesView(_PolicyBase):
    bodies = {"POST": Body("microsoft.graph.accessPackageAssignmentPolicy", {
        **POLICY_BODY, "displayName": Field("string", required=True, max_length=256),
        "accessPackage": Field("object", required=True)})}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = self.body()
        package = selectors.packages_visible_to(self.principal).filter(
            pk=_ref_id(body["accessPackage"], "accessPackage")).first()
        if package is None:
            raise not_found()
        fields, stages, questions = policy_input(body)
        policy = services.policy_create(actor=self.principal, package=package, display_name=fields.pop("display_name"),
                                        stages=stages or [], questions=questions or [], **fields)
        return self.item_response(policy, status=201)


class PolicyView(_PolicyBase):
    bodies = {"PUT": Body("microsoft.graph.accessPackageAssignmentPolicy", POLICY_BODY)}
    responses = {"get": "item", "put": "item", "delete": 204}

    def get(self, request, policy_id):
        return self.item_response(self.get_object(policy_id))

    def put(self, request, policy_id):
        policy = self.get_object(policy_id)
        fields, stages, questions = policy_input(self.body())
        policy = services.policy_update(actor=self.principal, policy=policy, changes=fields, stages=stages,
                                        questions=questions)
        return self.item_response(self.get_object(str(policy.pk)))

    def delete(self, request, policy_id):
        services.policy_delete(actor=self.principal, policy=self.get_object(policy_id))
        return Response(status=204)


# --- requests and assignments -----------------------------------------------------------------------------

REQUEST_BODY = Body("microsoft.graph.accessPackageAssignmentRequest", {
    "requestType": Field("string", required=True, enum=("userAdd", "userUpdate", "userRemove", "adminAdd",
                                                         "adminRemove")),
    "assignment": Field("object", required=True), "justification": Field("string", max_length=4000),
    "answers": Field("list", max_length=50), "schedule": Field("object", nullable=True),
})


class RequestsView(_Own):
    """GET: the requests an administrator may read. POST: ``adminAdd`` / ``adminRemove`` by an
    administrator or assignment manager; ``userAdd`` / ``userUpdate`` / ``userRemove`` by the person."""

    resource = r.REQUEST
    context = "assignmentRequests"
    bodies = {"POST": REQUEST_BODY}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        if not self.principal.has_any(READ):
            raise denied()
        return self.list_response(selectors.requests_visible_to(self.principal))

    def post(self, request):
        body = self.body()
        kind, data = body["requestType"], body["assignment"]
        actor = self.principal
        if kind in ("userRemove", "adminRemove", "userUpdate"):
            assignment = selectors.access_assignment(actor, _uuid(data.get("id"), "assignment.id"))
            if kind == "userUpdate":
                made = services.request_extend(actor=actor, assignment=assignment,
                                               justification=body.get("justification", ""))
            else:
                made = services.request_remove(actor=actor, assignment=assignment,
                                               justification=body.get("justification", ""))
            return self.item_response(made, status=201)
        # Graph takes the ids (targetId, assignmentPolicyId, accessPackageId) or, as the SDKs' models
        # write them, the navigation objects (target.objectId, assignmentPolicy.id, accessPackage.id).
        package_id = data.get("accessPackageId") or (data.get("accessPackage") or {}).get("id")
        policy_id = data.get("assignmentPolicyId") or (data.get("assignmentPolicy") or {}).get("id")
        package = AccessPackage.objects.filter(pk=_uuid(package_id, "assignment.accessPackageId"),
                                               tenant=actor.tenant).select_related("catalog").first()
        policy = AssignmentPolicy.objects.filter(pk=_uuid(policy_id, "assignment.assignmentPolicyId"),
                                                 package=package).first() if policy_id else None
        if package is None:
            raise not_found()
        if kind == "adminAdd":
            if policy is None:
                raise bad_request("Property 'assignment.assignmentPolicyId' names no policy of this access package.")
            target = None
            email = ""
            subject = data.get("target") or {}
            target_id = data.get("targetId") or subject.get("objectId")
            if target_id:
                target = User.objects.filter(tenant=actor.tenant, pk=_uuid(target_id, "assignment.targetId"),
                                             deleted_at__isnull=True).first()
                if target is None:
                    raise not_found()
            else:
                email = str(subject.get("email") or "")
            made = services.request_admin_add(actor=actor, package=package, policy=policy, target=target, email=email,
                                              justification=body.get("justification", ""))
        else:
            answers = {str((a.get("answeredQuestion") or {}).get("id")): a.get("value")
                       for a in body.get("answers") or [] if isinstance(a, dict)}
            made = services.request_access(actor=actor, package=package, policy=policy, data=services.RequestData(
                justification=body.get("justification", ""), answers=answers))
        return self.item_response(made, status=201)


class RequestView(_Own):
    resource = r.REQUEST
    context = "assignmentRequests"
    responses = {"get": "item"}

    def get(self, request, request_id):
        return self.item_response(_request_for(self, request_id))


def _request_for(view: GraphView, request_id) -> AssignmentRequest:
    """A request the caller administers, made, is the target of, or approves (404 otherwise)."""
    return selectors.access_request(view.principal, view.lookup(request_id)["pk"])


class _RequestAction(_Own):
    resource = r.REQUEST
    context = "assignmentRequests"
    bodies = {"POST": Body("microsoft.graph.accessPackageAssignmentRequest", {})}  # Graph's actions take none
    responses = {"post": 200}

    def target(self, request_id) -> AssignmentRequest:
        return _request_for(self, request_id)


class RequestCancelView(_RequestAction):
    def post(self, request, request_id):
        self.body()
        services.request_cancel(actor=self.principal, request=self.target(request_id))
        return Response(status=200)


class RequestReprocessView(_RequestAction):
    def post(self, request, request_id):
        self.body()
        services.request_reprocess(actor=self.principal, request=self.target(request_id))
        return Response(status=200)


class AssignmentsView(_EM):
    resource = r.ASSIGNMENT
    context = "assignments"
    responses = {"get": "list"}

    def get(self, request):
        return self.list_response(selectors.assignments_visible_to(self.principal))


class AssignmentView(_EM):
    resource = r.ASSIGNMENT
    context = "assignments"
    responses = {"get": "item"}

    def get(self, request, assignment_id):
        return self.item_response(self.get_object(assignment_id, queryset=selectors.assignments_visible_to(
            self.principal)))


class MyAssignmentsView(_Own):
    """``assignments/filterByCurrentUser(on='target')``: what the caller holds."""

    resource = r.ASSIGNMENT
    context = "assignments"
    responses = {"get": "list"}

    def get(self, request):
        return self.list_response(selectors.my_assignments(self.principal))


# --- approvals ------------------------------------------------------------------------------------------


class ApprovalView(_Own):
    """``accessPackageAssignmentApprovals/{requestId}``: the request's approval stages."""

    resource = r.REQUEST
    context = "accessPackageAssignmentApprovals"
    responses = {"get": "item"}

    def get(self, request, approval_id):
        target = _request_for(self, approval_id)
        stages = target.stages.select_related("reviewed_by").prefetch_related("approvers")
        return Response({"@odata.context": self.context_url("/$entity"), "id": str(target.pk),
                         "stages": [r.stage_json(s, self.principal) for s in stages]})


class ApprovalStageView(_Own):
    """PATCH ``{reviewResult: Approve|Deny, justification}``: the approver decides (delegated only: Graph
    supports no application permission here)."""

    resource = r.REQUEST
    context = "accessPackageAssignmentApprovals/stages"
    bodies = {"PATCH": Body("microsoft.graph.approvalStage", {
        "reviewResult": Field("string", required=True, enum=("Approve", "Deny")),
        "justification": Field("string", max_length=4000)})}
    responses = {"get": "item", "patch": 204}

    def stage(self, approval_id, stage_id) -> ApprovalStageRecord:
        target = _request_for(self, approval_id)
        stage = target.stages.select_related("reviewed_by").prefetch_related("approvers").filter(
            **self.lookup(stage_id)).first()
        if stage is None:
            raise not_found()
        return stage

    def get(self, request, approval_id, stage_id):
        return Response({"@odata.context": self.context_url("/$entity"),
                         **r.stage_json(self.stage(approval_id, stage_id), self.principal)})

    def patch(self, request, approval_id, stage_id):
        stage = self.stage(approval_id, stage_id)
        body = self.body()
        services.approval_decide(actor=self.principal, request=stage.request, stage=stage,
                                 approve=body["reviewResult"] == "Approve", justification=body.get("justification", ""))
        return Response(status=204)


# --- connected organizations ------------------------------------------------------------------------------

ORG_BODY = {"displayName": Field("string", max_length=256), "description": Field("string", max_length=1024),
            "state": Field("string", enum=("configured", "proposed")), "identitySources": Field("list", max_length=1)}


def organization_input(body: dict) -> dict:
    fields = _mapped(body, {"displayName": "display_name", "description": "description", "state": "state"})
    for source in body.get("identitySources") or []:
        kind = str(source.get("@odata.type", "")).rsplit(".", 1)[-1] if isinstance(source, dict) else ""
        if kind == "azureActiveDirectoryTenant":
            from directory.models import Tenant

            tenant_id = _uuid(source.get("tenantId"), "identitySources.tenantId")
            fields.update(source_type=kind, external_tenant_id=tenant_id, source_tenant=Tenant.objects.filter(
                pk=tenant_id).first())
        elif kind in ("domainIdentitySource", "externalDomainFederation"):
            fields.update(source_type=kind, domain_name=str(source.get("domainName") or ""),
                          issuer_uri=str(source.get("issuerUri") or ""))
        else:
            raise bad_request("identitySources takes an azureActiveDirectoryTenant, a domainIdentitySource or an "
                              "externalDomainFederation.")
    return fields


class _OrgBase(_EM):
    resource = r.CONNECTED_ORGANIZATION
    context = "connectedOrganizations"
    catalog_roles = False

    def scoped_queryset(self):
        return selectors.connected_organizations_visible_to(self.principal)


class OrganizationsView(_OrgBase):
    bodies = {"POST": Body("microsoft.graph.connectedOrganization", {
        **ORG_BODY, "displayName": Field("string", required=True, max_length=256),
        "identitySources": Field("list", required=True, max_length=1)})}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        fields = organization_input(self.body())
        org = services.connected_organization_create(actor=self.principal, tenant=self.principal.tenant,
                                                     display_name=fields.pop("display_name"), **fields)
        return self.item_response(org, status=201)


class OrganizationView(_OrgBase):
    bodies = {"PATCH": Body("microsoft.graph.connectedOrganization", ORG_BODY, update=True)}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, org_id):
        return self.item_response(self.get_object(org_id))

    def patch(self, request, org_id):
        services.connected_organization_update(actor=self.principal, organization=self.get_object(org_id),
                                               changes=organization_input(self.body()))
        return Response(status=204)

    def delete(self, request, org_id):
        services.connected_organization_delete(actor=self.principal, organization=self.get_object(org_id))
        return Response(status=204)


class SponsorsView(_OrgBase):
    resource = r.SPONSOR
    external = False
    responses = {"get": "list"}

    def get(self, request, org_id):
        org: ConnectedOrganization = self.get_object(org_id, queryset=selectors.connected_organizations_visible_to(
            self.principal))
        return self.list_response(org.external_sponsors.all() if self.external else org.internal_sponsors.all())


class ExternalSponsorsView(SponsorsView):
    external = True


class SponsorsRefView(_OrgBase):
    external = False
    bodies = {"POST": REFERENCE}
    responses = {"post": 204}

    def post(self, request, org_id):
        org = self.get_object(org_id)
        user = User.objects.filter(tenant=org.tenant, deleted_at__isnull=True,
                                   pk=parse_reference(self.body()["@odata.id"], request=self.request)).first()
        if user is None:
            raise not_found()
        services.connected_organization_sponsor_set(actor=self.principal, organization=org, user=user,
                                                    external=self.external, add=True)
        return Response(status=204)


class ExternalSponsorsRefView(SponsorsRefView):
    external = True


# --- settings ---------------------------------------------------------------------------------------------


class SettingsView(_EM):
    resource = r.SETTINGS
    context = "settings"
    catalog_roles = False
    bodies = {"PATCH": Body("microsoft.graph.entitlementManagementSettings", {
        "externalUserLifecycleAction": Field("string", enum=("none", "blockSignIn", "blockSignInAndDelete")),
        "durationUntilExternalUserDeletedAfterBlocked": Field("string", max_length=32)}, update=True)}
    responses = {"get": "item", "patch": 204}

    def get(self, request):
        return self.item_response(services.settings_for(self.principal.tenant))

    def patch(self, request):
        body = self.body()
        changes = {}
        if "externalUserLifecycleAction" in body:
            changes["external_user_lifecycle_action"] = body["externalUserLifecycleAction"]
        if "durationUntilExternalUserDeletedAfterBlocked" in body:
            changes["duration_until_external_user_deleted_after_blocked"] = r.read_duration(
                body["durationUntilExternalUserDeletedAfterBlocked"], "durationUntilExternalUserDeletedAfterBlocked")
        services.entitlement_settings_update(actor=self.principal, tenant=self.principal.tenant, changes=changes)
        return Response(status=204)


# --- roleManagement/entitlementManagement: Entra's catalog creators ----------------------------------


class _RoleAssignmentBase(_EM):
    """Entitlement-management role assignments (Graph's ``unifiedRoleAssignment``): the tenant-wide catalog
    creators (``directoryScopeId`` "/") and a catalog's roles (``appScopeId`` "/AccessPackageCatalog/{id}":
    owner, reader, access package manager, access package assignment manager). Catalog role holders reach
    it (their catalogs' roles); what each may do is the services'."""

    resource = r.ROLE_ASSIGNMENT
    context = "roleManagement/entitlementManagement/roleAssignments"

    def context_url(self, suffix: str = "") -> str:
        return self.request.build_absolute_uri(f"/v1.0/$metadata#{self.context}{suffix}")

    def scoped_queryset(self):
        return selectors.entitlement_roles_visible_to(self.principal)

    def catalog_roles_queryset(self):
        return CatalogRoleAssignment.objects.filter(
            catalog__in=selectors.catalogs_visible_to(self.principal)).select_related("catalog", "user")

    def _catalog(self, app_scope_id: str):
        """The catalog an ``appScopeId`` names, if the caller sees it (else 404, as Graph)."""
        prefix = "/AccessPackageCatalog/"
        if not isinstance(app_scope_id, str) or not app_scope_id.startswith(prefix):
            raise bad_request("'appScopeId' must be /AccessPackageCatalog/{catalog id}.")
        return self.get_object(app_scope_id[len(prefix):], queryset=selectors.catalogs_visible_to(self.principal))


#: Graph's way to list a catalog's roles: ``$filter=appScopeId eq '/AccessPackageCatalog/{id}'``.
APP_SCOPE_FILTER = re.compile(r"^\s*appScopeId\s+eq\s+'(/AccessPackageCatalog/[^']{1,64})'\s*$", re.IGNORECASE)
CATALOG_ROLES = {str(role) for role in CatalogRoleAssignment.CatalogRole}


class RoleAssignmentsView(_RoleAssignmentBase):
    bodies = {"POST": Body("microsoft.graph.unifiedRoleAssignment", {
        "principalId": Field("string", required=True, max_length=64),
        "roleDefinitionId": Field("string", required=True, max_length=64),
        "directoryScopeId": Field("string", enum=("/",)),
        "appScopeId": Field("string", max_length=128)})}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        match = APP_SCOPE_FILTER.match(request.query_params.get("$filter", ""))
        if match and set(request.query_params) == {"$filter"}:  # a catalog's roles (few: one page)
            catalog = self._catalog(match.group(1))
            roles = self.catalog_roles_queryset().filter(catalog=catalog).order_by("created_at", "id")
            return Response({"@odata.context": self.context_url(), "value": [self.represent(a) for a in roles]})
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = self.body()
        role, app_scope = body["roleDefinitionId"], body.get("appScopeId")
        if bool(app_scope) == bool(body.get("directoryScopeId")):
            raise bad_request("Give either 'directoryScopeId' ('/', the catalog creator role) or 'appScopeId' "
                              "(/AccessPackageCatalog/{id}, a catalog's role).")
        if role not in (CATALOG_ROLES if app_scope else {authz.CATALOG_CREATOR}):
            raise bad_request(f"'{role[:64]}' is not a role definition of this scope.")
        user = User.objects.filter(tenant=self.principal.tenant, deleted_at__isnull=True,
                                   pk=_uuid(body["principalId"], "principalId")).first()
        if user is None:
            raise bad_request("The principal is not a user of this tenant.", "Request_ResourceNotFound")
        if app_scope:
            assignment = services.catalog_role_add(actor=self.principal, catalog=self._catalog(app_scope), user=user,
                                                   role=role)
        else:
            assignment = services.catalog_creator_add(actor=self.principal, tenant=self.principal.tenant, user=user)
        return self.item_response(assignment, status=201)


class RoleAssignmentView(_RoleAssignmentBase):
    responses = {"get": "item", "delete": 204}

    def _assignment(self, assignment_id):
        found = self.scoped_queryset().filter(**self.lookup(assignment_id)).first()
        return found or self.get_object(assignment_id, queryset=self.catalog_roles_queryset())

    def get(self, request, assignment_id):
        return self.item_response(self._assignment(assignment_id))

    def delete(self, request, assignment_id):
        assignment = self._assignment(assignment_id)
        if isinstance(assignment, CatalogRoleAssignment):
            services.catalog_role_remove(actor=self.principal, assignment=assignment)
        else:
            services.catalog_creator_remove(actor=self.principal, assignment=assignment)
        return Response(status=204)

"""Conditional access over Graph: ``/identity/conditionalAccess/policies``, ``…/namedLocations`` and
What If (``POST /identity/conditionalAccess/evaluate``, Graph's ``conditionalAccessRoot: evaluate``).

Reading needs ``Policy.Read.ConditionalAccess`` or ``Policy.Read.All`` (Graph's least-privileged and
higher permissions), writing ``Policy.ReadWrite.ConditionalAccess``. With a delegated token the signed-in
user also needs a role that reads conditional access (Security or Global Administrator), as in Entra:
every member holds ``Policy.Read.All`` here, and a member must not read the tenant's exclusions.

Lock-out protection: a create or update that would block the caller (or every administrator) from the
admin console is refused with 400 ``ConditionalAccessLockout`` and a message that names the exclusion to
add, unless the request carries ``Prefer: acknowledge-lockout`` (docs/api.md).
"""

from __future__ import annotations

import ipaddress

from rest_framework.response import Response

from directory.access import APP, CONSOLE, PANEL, REGISTER_SECURITY_INFO, TOKEN
from directory.api.base import GraphView
from directory.api.bodies import Body, Field
from directory.api.errors import GraphError, bad_request, denied
from directory.api.odata import Prop, Resource
from directory.models import User

from .. import services
from ..conditional_access import (
    ADMIN_PORTAL_APP_ID,
    ADMIN_PORTALS,
    CLIENT_APP_TYPES,
    GRAPH_APP_ID,
    GUEST_TYPES,
    MY_APPS_APP_ID,
    PLATFORMS,
    PolicyInvalid,
    cidr_range_graph,
)
from ..models import ConditionalAccessPolicy, NamedLocation
from ..selectors import CONDITIONAL_ACCESS_READ, may_read_conditional_access, what_if

READ = CONDITIONAL_ACCESS_READ
WRITE = ("Policy.ReadWrite.ConditionalAccess",)
LOCKOUT_PREFERENCE = "acknowledge-lockout"


def _invalid(exc: PolicyInvalid) -> GraphError:
    if isinstance(exc, services.LockoutRisk):
        hint = f" Add '{exc.exclude_user_id}' to conditions.users.excludeUsers" if exc.exclude_user_id else ""
        return GraphError(400, "ConditionalAccessLockout",
                          f"{exc.messages[0]}{hint}, or send the header 'Prefer: {LOCKOUT_PREFERENCE}' to save it "
                          "anyway.")
    return bad_request(exc.messages[0], code="BadRequest")


POLICY = Resource(
    odata_type="microsoft.graph.conditionalAccessPolicy",
    props=(
        Prop("id", "id", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True),
        Prop("state", "state", type="enum", filter=True, choices=tuple(ConditionalAccessPolicy.State.values)),
        Prop("createdDateTime", "created_at", type="datetime"),
        Prop("modifiedDateTime", "modified_at", type="datetime"),
        Prop("templateId", "template_id", blank_is_null=True),
        Prop("conditions", None, type="object", get=lambda p: p.conditions),
        Prop("grantControls", None, type="object", get=lambda p: p.grant_controls),
        Prop("sessionControls", None, type="object", get=lambda p: p.session_controls),
    ),
)

_OBJECT = {"type": "object", "additionalProperties": True}
POLICY_SCHEMAS = {"conditions": _OBJECT, "grantControls": {**_OBJECT, "nullable": True},
                  "sessionControls": {**_OBJECT, "nullable": True}}
_STATE = Field("string", enum=tuple(ConditionalAccessPolicy.State.values))
CREATE_POLICY = Body(POLICY.odata_type, {
    "displayName": Field("string", required=True, max_length=256),
    "state": Field("string", required=True, enum=tuple(ConditionalAccessPolicy.State.values)),
    "conditions": Field("object", required=True, description="conditionalAccessConditionSet"),
    "grantControls": Field("object", nullable=True, description="conditionalAccessGrantControls"),
    "sessionControls": Field("object", nullable=True, description="conditionalAccessSessionControls"),
    "templateId": Field("string", nullable=True, max_length=36),
    "id": Field("any", schema={"type": "string", "description": "Ignored on create."}),
    "createdDateTime": Field("any", schema={"type": "string", "description": "Read-only; ignored."}),
    "modifiedDateTime": Field("any", schema={"type": "string", "description": "Read-only; ignored."}),
})
UPDATE_POLICY = Body(POLICY.odata_type, {
    name: Field(f.kind, nullable=f.nullable or name in ("grantControls", "sessionControls"), enum=f.enum,
                max_length=f.max_length, description=f.description, schema=f.schema)
    for name, f in CREATE_POLICY.fields.items()
}, update=True)

_POLICY_FIELDS = ("displayName", "state", "conditions", "grantControls", "sessionControls")


class _ConditionalAccessView(GraphView):
    read_permissions = READ
    write_permissions = WRITE
    count_needs_eventual = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Delegated: the token's scope and the user's role both (Graph's rule for conditional access).
        if not may_read_conditional_access(self.principal):
            raise denied()

    def acknowledged(self) -> bool:
        return LOCKOUT_PREFERENCE in self.request.headers.get("Prefer", "").replace(" ", "").lower().split(",")


class _PolicyBase(_ConditionalAccessView):
    resource = POLICY
    context = "identity/conditionalAccess/policies"
    prop_schemas = POLICY_SCHEMAS

    def scoped_queryset(self):
        return ConditionalAccessPolicy.objects.filter(tenant=self.principal.tenant)


class PoliciesView(_PolicyBase):
    """The tenant's conditional access policies (at most 195)."""

    bodies = {"POST": CREATE_POLICY}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = self.body()
        try:
            policy = services.conditional_access_policy_create(
                actor=self.principal, tenant=self.principal.tenant,
                data={k: body.get(k) for k in _POLICY_FIELDS}, acknowledge_lockout=self.acknowledged())
        except PolicyInvalid as exc:
            raise _invalid(exc) from None
        return self.item_response(policy, status=201, headers={"Location": self.request.build_absolute_uri(
            f"/v1.0/identity/conditionalAccess/policies/{policy.pk}")})


class PolicyView(_PolicyBase):
    bodies = {"PATCH": UPDATE_POLICY}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, policy_id):
        return self.item_response(self.get_object(policy_id))

    def patch(self, request, policy_id):
        policy = self.get_object(policy_id)
        body = self.body()
        changes = {k: body[k] for k in _POLICY_FIELDS if k in body}
        for required in ("displayName", "state", "conditions"):
            if required in changes and changes[required] is None:
                raise bad_request(f"{required} cannot be null.", code="BadRequest")
        try:
            services.conditional_access_policy_update(actor=self.principal, policy=policy, changes=changes,
                                                      acknowledge_lockout=self.acknowledged())
        except PolicyInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)

    def delete(self, request, policy_id):
        services.conditional_access_policy_delete(actor=self.principal, policy=self.get_object(policy_id))
        return Response(status=204)


# --- named locations ------------------------------------------------------------------------------------

IP_TYPE, COUNTRY_TYPE = "#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"

NAMED_LOCATION = Resource(
    odata_type="microsoft.graph.namedLocation",
    props=(
        Prop("id", "id", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True),
        Prop("createdDateTime", "created_at", type="datetime"),
        Prop("modifiedDateTime", "modified_at", type="datetime"),
    ),
)

LOCATION_FIELDS = {
    "displayName": Field("string", max_length=256),
    "isTrusted": Field("bool"),
    "ipRanges": Field("list", max_length=2000, schema={"items": {"type": "object", "properties": {
        "@odata.type": {"type": "string", "enum": ["#microsoft.graph.iPv4CidrRange", "#microsoft.graph.iPv6CidrRange"]},
        "cidrAddress": {"type": "string"}}}}),
    "countriesAndRegions": Field("list", max_length=300, items=Field("string", max_length=2)),
    "includeUnknownCountriesAndRegions": Field("bool"),
    "countryLookupMethod": Field("string", enum=("clientIpAddress", "authenticatorAppGps", "unknownFutureValue")),
    "id": Field("any", schema={"type": "string", "description": "Read-only; ignored."}),
    "createdDateTime": Field("any", schema={"type": "string", "description": "Read-only; ignored."}),
    "modifiedDateTime": Field("any", schema={"type": "string", "description": "Read-only; ignored."}),
}
CREATE_LOCATION = Body(NAMED_LOCATION.odata_type, LOCATION_FIELDS,
                       description=f"Send @odata.type {IP_TYPE} (displayName, isTrusted, ipRanges) or {COUNTRY_TYPE} "
                                   "(displayName, countriesAndRegions, includeUnknownCountriesAndRegions).")
UPDATE_LOCATION = Body(NAMED_LOCATION.odata_type, LOCATION_FIELDS, update=True)
_IP_KEYS = {"displayName", "isTrusted", "ipRanges"}
_COUNTRY_KEYS = {"displayName", "countriesAndRegions", "includeUnknownCountriesAndRegions", "countryLookupMethod"}


def _location_data(body: dict, kind: str) -> dict:
    allowed = _IP_KEYS if kind == NamedLocation.Kind.IP else _COUNTRY_KEYS
    wrong = sorted(set(body) - allowed - {"id", "createdDateTime", "modifiedDateTime"})
    if wrong:
        type_name = IP_TYPE if kind == NamedLocation.Kind.IP else COUNTRY_TYPE
        raise bad_request(f"Property '{wrong[0]}' does not exist on type '{type_name[1:]}'.", code="BadRequest")
    return {k: v for k, v in body.items() if k in allowed}


class _NamedLocationBase(_ConditionalAccessView):
    resource = NAMED_LOCATION
    context = "identity/conditionalAccess/namedLocations"

    def scoped_queryset(self):
        return NamedLocation.objects.filter(tenant=self.principal.tenant)

    def represent(self, obj, select=None) -> dict:
        data = {"@odata.type": obj.odata_type, **super().represent(obj, select)}
        if select:
            return data
        if obj.kind == NamedLocation.Kind.IP:
            data.update(isTrusted=obj.is_trusted, ipRanges=[cidr_range_graph(c) for c in obj.ip_ranges])
        else:
            data.update(countriesAndRegions=list(obj.countries_and_regions),
                        includeUnknownCountriesAndRegions=obj.include_unknown_countries_and_regions,
                        countryLookupMethod=obj.country_lookup_method)
        return data


class NamedLocationsView(_NamedLocationBase):
    """IP ranges and countries locations (Graph's ipNamedLocation / countryNamedLocation)."""

    bodies = {"POST": CREATE_LOCATION}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = self.body()
        odata_type = self.request.data.get("@odata.type") if isinstance(self.request.data, dict) else None
        kinds = {IP_TYPE: NamedLocation.Kind.IP, COUNTRY_TYPE: NamedLocation.Kind.COUNTRY}
        if odata_type not in kinds:
            raise bad_request(f"@odata.type must be {IP_TYPE} or {COUNTRY_TYPE}.", code="BadRequest")
        if "displayName" not in body:
            raise bad_request("Property 'displayName' is required.", code="BadRequest")
        kind = kinds[odata_type]
        try:
            location = services.named_location_create(actor=self.principal, tenant=self.principal.tenant, kind=kind,
                                                      data=_location_data(body, kind))
        except PolicyInvalid as exc:
            raise _invalid(exc) from None
        return self.item_response(location, status=201, headers={"Location": self.request.build_absolute_uri(
            f"/v1.0/identity/conditionalAccess/namedLocations/{location.pk}")})


class NamedLocationView(_NamedLocationBase):
    bodies = {"PATCH": UPDATE_LOCATION}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, location_id):
        return self.item_response(self.get_object(location_id))

    def patch(self, request, location_id):
        location = self.get_object(location_id)
        body = self.body()
        sent_type = self.request.data.get("@odata.type") if isinstance(self.request.data, dict) else None
        if sent_type and sent_type != location.odata_type:
            raise bad_request("A named location's type cannot be changed.", code="BadRequest")
        try:
            services.named_location_update(actor=self.principal, location=location,
                                           changes=_location_data(body, location.kind))
        except PolicyInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)

    def delete(self, request, location_id):
        try:
            services.named_location_delete(actor=self.principal, location=self.get_object(location_id))
        except PolicyInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)


# --- What If ------------------------------------------------------------------------------------------

EVALUATE = Body("microsoft.graph.conditionalAccessRoot.evaluate", {
    "signInIdentity": Field("object", required=True, schema={"description": (
        "#microsoft.graph.userSignIn {userId, externalTenantId, externalUserType}")}),
    "signInContext": Field("object", required=True, schema={"description": (
        "#microsoft.graph.applicationContext {includeApplications: [appId]} or #microsoft.graph.userActionContext "
        "{userAction: registerSecurityInformation}")}),
    "signInConditions": Field("object", schema={"description": (
        "{devicePlatform, country, ipAddress, clientAppType}; what is not given is unknown")}),
    "appliedPoliciesOnly": Field("bool"),
})


def _resource_of(context: dict) -> tuple[str, str | None]:
    """(AccessRequest resource, application appId) for a What If ``signInContext``."""
    kind = context.get("@odata.type", "")
    if kind.endswith("userActionContext"):
        if context.get("userAction") != "registerSecurityInformation":
            raise bad_request("userAction must be registerSecurityInformation.", code="BadRequest")
        return REGISTER_SECURITY_INFO, None
    if not kind.endswith("applicationContext"):
        raise bad_request("signInContext must be #microsoft.graph.applicationContext or "
                          "#microsoft.graph.userActionContext.", code="BadRequest")
    apps = context.get("includeApplications")
    if not (isinstance(apps, list) and len(apps) == 1 and isinstance(apps[0], str)):
        raise bad_request("signInContext.includeApplications must name exactly one application.", code="BadRequest")
    app = apps[0].strip().lower()
    if app in (ADMIN_PORTAL_APP_ID, ADMIN_PORTALS.lower()):
        return CONSOLE, None
    if app == MY_APPS_APP_ID:
        return PANEL, None
    if app == GRAPH_APP_ID:
        return TOKEN, None
    return APP, app


class EvaluateView(_ConditionalAccessView):
    """What If: which of the tenant's enabled and report-only policies would apply to the sign-in
    described, and for those that would not, the first condition that did not match."""

    resource = POLICY
    context = "Collection(microsoft.graph.whatIfAnalysisResult)"
    write_permissions = READ  # a question, not a change (Graph: Policy.Read.ConditionalAccess)
    prop_schemas = POLICY_SCHEMAS
    bodies = {"POST": EVALUATE}
    responses = {"post": "list"}

    def post(self, request):
        body = self.body()
        identity = body["signInIdentity"]
        if not str(identity.get("@odata.type", "#microsoft.graph.userSignIn")).endswith("userSignIn"):
            raise bad_request("Only #microsoft.graph.userSignIn identities are evaluated here (there are no "
                              "workload identity policies).", code="BadRequest")
        user_id = identity.get("userId")
        user = None
        if user_id:
            try:
                user = User.objects.active().filter(tenant=self.principal.tenant, **self.lookup(str(user_id))).first()
            except GraphError:
                user = None
            if user is None:
                raise bad_request(f"signInIdentity.userId '{str(user_id)[:60]}' is not a user of this organization.",
                                  code="BadRequest")
        external_type = identity.get("externalUserType")
        if external_type is not None and external_type not in GUEST_TYPES:
            raise bad_request("signInIdentity.externalUserType is not a conditionalAccessGuestOrExternalUserTypes "
                              "value.", code="BadRequest")
        resource, application_id = _resource_of(body["signInContext"])
        conditions = body.get("signInConditions") or {}
        ip = conditions.get("ipAddress")
        if ip is not None:
            try:
                ip = ipaddress.ip_address(str(ip))
            except ValueError:
                raise bad_request("signInConditions.ipAddress is not an IP address.", code="BadRequest") from None
        platform = conditions.get("devicePlatform")
        if platform is not None and platform not in PLATFORMS:
            raise bad_request("signInConditions.devicePlatform is not a conditionalAccessDevicePlatform value.",
                              code="BadRequest")
        client = conditions.get("clientAppType") or "browser"
        if client not in CLIENT_APP_TYPES:
            raise bad_request("signInConditions.clientAppType is not a conditionalAccessClientApp value.",
                              code="BadRequest")
        country = conditions.get("country")
        if country is not None and not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            raise bad_request("signInConditions.country must be a two-letter country code.", code="BadRequest")
        answers = what_if(
            actor=self.principal, user=user, external_tenant_id=identity.get("externalTenantId"),
            external_user_type=external_type, resource=resource, application_id=application_id, ip=ip,
            country=country.upper() if country else None, platform=None if platform == "all" else platform,
            client_app_type=client)
        value = []
        for policy, result in answers:
            applies = not result.result.endswith("otApplied") and result.result != "notEnabled"
            if body.get("appliedPoliciesOnly") and not applies:
                continue
            value.append({**POLICY.represent(policy), "policyApplies": applies,
                          "analysisReasons": "notSet" if applies else ",".join(result.reasons) or "notSet"})
        return Response({"@odata.context": self.context_url(), "value": value})

    def context_url(self, suffix: str = "") -> str:
        return self.request.build_absolute_uri(f"/v1.0/$metadata#{self.context}")

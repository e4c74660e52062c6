"""Cross-tenant access settings over Graph: ``/policies/crossTenantAccessPolicy`` with its ``default``
(GET/PATCH, ``resetToSystemDefault``) and ``partners`` (GET/POST, ``partners/{tenantId}`` GET/PATCH/DELETE).

Reading needs ``Policy.Read.All``, writing ``Policy.ReadWrite.CrossTenantAccess`` (Graph's least-privileged
permissions). Bodies are Graph's shapes; the services check them (Entra's consistency rules) and the 400
carries their message. A partner here is keyed by its tenant id as in Graph; partners on another deployment
(an issuer besides the tenant id) are added in the admin console and listed here like any other.
"""

from __future__ import annotations

import uuid

from rest_framework.response import Response

from directory.api.base import GraphView
from directory.api.bodies import Body, Field
from directory.api.errors import GraphError, bad_request, not_found
from directory.api.odata import Prop, Resource

from .. import services
from ..cross_tenant import DEFAULT_FIELDS, PARTNER_FIELDS, CrossTenantSettingsInvalid
from ..models import CrossTenantAccessDefault, CrossTenantAccessPartner

READ = ("Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess")
WRITE = ("Policy.ReadWrite.CrossTenantAccess",)
TENANT_RESTRICTIONS = None  # not on this platform: reported as null (Graph's "not configured")


def _json(field: str):
    return lambda obj: getattr(obj, field)


def _shared_props() -> tuple[Prop, ...]:
    props = [Prop(name, None, type="object", get=_json(field)) for name, field in PARTNER_FIELDS.items()
             if name != "isServiceProvider"]
    return (*props, Prop("tenantRestrictions", None, type="object", get=lambda obj: TENANT_RESTRICTIONS))


DEFAULT = Resource(
    odata_type="microsoft.graph.crossTenantAccessPolicyConfigurationDefault",
    props=(Prop("isServiceDefault", "is_service_default", type="bool"), *_shared_props(),
           Prop("invitationRedemptionIdentityProviderConfiguration", None, type="object",
                get=_json("invitation_redemption_identity_provider_configuration"))),
)
PARTNER = Resource(
    odata_type="microsoft.graph.crossTenantAccessPolicyConfigurationPartner",
    props=(Prop("tenantId", "partner_tenant_id", type="guid", filter=True, sort=True),
           Prop("isServiceProvider", "is_service_provider", type="bool"),
           Prop("isInMultiTenantOrganization", None, type="bool", get=lambda p: False), *_shared_props()),
    default_order=("tenantId",),
)
POLICY = Resource(
    odata_type="microsoft.graph.crossTenantAccessPolicy",
    props=(Prop("id", None, get=lambda t: "crossTenantAccessPolicy"),
           Prop("displayName", None, get=lambda t: "CrossTenantAccessPolicy"),
           Prop("allowedCloudEndpoints", None, type="collection", get=lambda t: [])),
)

_OBJ = {"type": "object", "additionalProperties": True}


def _fields(names, *, nullable: bool) -> dict[str, Field]:
    return {name: Field("object", nullable=nullable, description=f"Graph's {name}", schema=_OBJ) for name in names
            if name != "isServiceProvider"}


_READ_ONLY = {"@odata.type": Field("any", schema={"type": "string", "description": "Ignored."})}
DEFAULT_PATCH = Body(DEFAULT.odata_type, {
    **_fields(DEFAULT_FIELDS, nullable=False),
    "isServiceDefault": Field("any", schema={"type": "boolean", "description": "Read-only; ignored."}),
    "tenantRestrictions": Field("any", schema={"type": "object", "nullable": True, "description": "Not supported: "
                                                                                                  "null only."}),
    **_READ_ONLY}, update=True)
PARTNER_FIELDS_BODY = {
    **_fields(PARTNER_FIELDS, nullable=True),
    "isServiceProvider": Field("bool", nullable=True),
    "isInMultiTenantOrganization": Field("any", schema={"type": "boolean", "description": "Read-only; ignored."}),
    "tenantRestrictions": Field("any", schema={"type": "object", "nullable": True,
                                               "description": "Not supported: null only."}),
    **_READ_ONLY,
}
PARTNER_CREATE = Body(PARTNER.odata_type, {"tenantId": Field("string", required=True, max_length=36),
                                           **PARTNER_FIELDS_BODY})
PARTNER_PATCH = Body(PARTNER.odata_type, {"tenantId": Field("any", schema={"type": "string",
                                                                           "description": "Read-only; ignored."}),
                                          **PARTNER_FIELDS_BODY}, update=True)


def _changes(body: dict, fields: dict) -> dict:
    if body.get("tenantRestrictions") is not None:
        raise bad_request("tenantRestrictions are not supported in this deployment.")
    return {k: v for k, v in body.items() if k in fields}


def _invalid(exc: CrossTenantSettingsInvalid) -> GraphError:
    if exc.code == "conflict":
        return GraphError(409, "Request_BadRequest", exc.messages[0])
    return bad_request(exc.messages[0])


class _Base(GraphView):
    read_permissions = READ
    write_permissions = WRITE
    count_needs_eventual = False
    prop_schemas = {}


class CrossTenantAccessPolicyView(_Base):
    """The tenant's cross-tenant access policy (its default and partners are below it)."""

    resource = POLICY
    context = "policies/crossTenantAccessPolicy"
    responses = {"get": "item"}

    def get(self, request):
        return self.item_response(self.principal.tenant)


class DefaultView(_Base):
    """The default settings: what applies to every organization without its own."""

    resource = DEFAULT
    context = "policies/crossTenantAccessPolicy/default"
    bodies = {"PATCH": DEFAULT_PATCH}
    responses = {"get": "item", "patch": 204}

    def get(self, request):
        tenant = self.principal.tenant
        return self.item_response(CrossTenantAccessDefault.objects.filter(tenant=tenant).first()
                                  or CrossTenantAccessDefault(tenant=tenant))

    def patch(self, request):
        try:
            services.cross_tenant_default_update(actor=self.principal, tenant=self.principal.tenant,
                                                 changes=_changes(self.body(), DEFAULT_FIELDS))
        except CrossTenantSettingsInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)


class ResetDefaultView(_Base):
    """``resetToSystemDefault``: Entra's service defaults again."""

    resource = DEFAULT
    context = "policies/crossTenantAccessPolicy/default"
    bodies = {"POST": Body("microsoft.graph.resetToSystemDefault", {}, update=False)}
    responses = {"post": 204}

    def post(self, request):
        services.cross_tenant_default_reset(actor=self.principal, tenant=self.principal.tenant)
        return Response(status=204)


class _PartnerBase(_Base):
    resource = PARTNER
    context = "policies/crossTenantAccessPolicy/partners"

    def scoped_queryset(self):
        return CrossTenantAccessPartner.objects.filter(tenant=self.principal.tenant)

    def lookup(self, object_id: str) -> dict:
        try:
            return {"partner_tenant_id": uuid.UUID(object_id)}
        except (ValueError, TypeError, AttributeError):
            raise not_found() from None


class PartnersView(_PartnerBase):
    """The organizations with settings of their own."""

    bodies = {"POST": PARTNER_CREATE}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = self.body()
        try:
            partner = services.cross_tenant_partner_create(
                actor=self.principal, tenant=self.principal.tenant, partner_tenant_id=body["tenantId"],
                settings={k: v for k, v in _changes(body, PARTNER_FIELDS).items() if v is not None})
        except CrossTenantSettingsInvalid as exc:
            raise _invalid(exc) from None
        return self.item_response(partner, status=201, headers={"Location": self.request.build_absolute_uri(
            f"/v1.0/policies/crossTenantAccessPolicy/partners/{partner.partner_tenant_id}")})


class PartnerView(_PartnerBase):
    bodies = {"PATCH": PARTNER_PATCH}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, tenant_id):
        return self.item_response(self.get_object(tenant_id))

    def patch(self, request, tenant_id):
        partner = self.get_object(tenant_id)
        try:
            services.cross_tenant_partner_update(actor=self.principal, partner=partner,
                                                 changes=_changes(self.body(), PARTNER_FIELDS))
        except CrossTenantSettingsInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)

    def delete(self, request, tenant_id):
        services.cross_tenant_partner_delete(actor=self.principal, partner=self.get_object(tenant_id))
        return Response(status=204)

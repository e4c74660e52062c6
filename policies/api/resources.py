"""Graph's ``authorizationPolicy`` (v1.0) and beta's ``b2bManagementPolicy`` over CollaborationSettings."""

import json
import uuid

from directory.api.bodies import Body, Field
from directory.api.odata import Prop, Resource

from ..models import CollaborationSettings

AIF = CollaborationSettings.AllowInvitesFrom

# What this deployment does and Graph lets a tenant switch: fixed here, reported as they are.
DEFAULT_USER_ROLE_PERMISSIONS = {
    "allowedToCreateApps": False,  # app registrations are made by administrators in the console
    "allowedToCreateSecurityGroups": False,  # the tenant's setting (Tenant.members_can_create_security_groups)
    "allowedToCreateTenants": False,
    "allowedToReadBitlockerKeysForOwnedDevice": False,
    "allowedToReadOtherUsers": True,  # members read the directory
    "permissionGrantPoliciesAssigned": [],
}
AUTHORIZATION_POLICY_FIXED = {
    "id": "authorizationPolicy",
    "displayName": "Authorization Policy",
    "description": "Used to manage authorization related settings across the company.",
    "allowedToSignUpEmailBasedSubscriptions": False,
    "allowedToUseSSPR": True,  # members reset their own password
    "allowUserConsentForRiskyApps": False,
    "blockMsolPowerShell": True,  # there is no MSOnline PowerShell here
    "defaultUserRolePermissions": DEFAULT_USER_ROLE_PERMISSIONS,
}


def _fixed(name: str):
    return lambda settings: AUTHORIZATION_POLICY_FIXED[name]


#: What a tenant may change in ``defaultUserRolePermissions``: {Graph name: Tenant field}.
DEFAULT_USER_ROLE_SETTINGS = {"allowedToCreateSecurityGroups": "members_can_create_security_groups"}


def default_user_role_permissions(settings: CollaborationSettings) -> dict:
    tenant = settings.tenant
    return {**DEFAULT_USER_ROLE_PERMISSIONS,
            **{name: getattr(tenant, field) for name, field in DEFAULT_USER_ROLE_SETTINGS.items()}}


AUTHORIZATION_POLICY = Resource(
    odata_type="microsoft.graph.authorizationPolicy",
    props=(
        Prop("id", None, get=_fixed("id")),
        Prop("displayName", None, get=_fixed("displayName")),
        Prop("description", None, get=_fixed("description")),
        Prop("allowInvitesFrom", "allow_invites_from", type="enum", choices=tuple(AIF.values)),
        Prop("allowedToSignUpEmailBasedSubscriptions", None, type="bool",
             get=_fixed("allowedToSignUpEmailBasedSubscriptions")),
        Prop("allowedToUseSSPR", None, type="bool", get=_fixed("allowedToUseSSPR")),
        Prop("allowEmailVerifiedUsersToJoinOrganization", "self_service_sign_up_enabled", type="bool"),
        Prop("allowUserConsentForRiskyApps", None, type="bool", get=_fixed("allowUserConsentForRiskyApps")),
        Prop("blockMsolPowerShell", None, type="bool", get=_fixed("blockMsolPowerShell")),
        Prop("guestUserRoleId", "guest_user_role_id", type="guid"),
        Prop("defaultUserRolePermissions", None, type="object", get=default_user_role_permissions),
    ),
)

AUTHORIZATION_POLICY_PROP_SCHEMAS = {
    "id": {"type": "string"},
    "defaultUserRolePermissions": {
        "type": "object",
        "properties": {
            **{name: {"type": "boolean"} for name, value in DEFAULT_USER_ROLE_PERMISSIONS.items()
               if isinstance(value, bool)},
            "permissionGrantPoliciesAssigned": {"type": "array", "items": {"type": "string"}},
        },
    },
}

def _fixed_schema(value) -> dict:
    """A property this deployment does not let a tenant change: only its current value is accepted."""
    if isinstance(value, dict):
        return {"type": "object", "additionalProperties": False,
                "properties": {k: _fixed_schema(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "maxItems": 0, "items": {"type": "string"}}
    return {"enum": [value], "description": "Fixed in this deployment."}


def _fixed_field(value) -> Field:
    return Field("any", schema=_fixed_schema(value))


# The handler (policies.api.views.authorization_policy_changes) checks the values.
AUTHORIZATION_POLICY_PATCH = Body(AUTHORIZATION_POLICY.odata_type, {
    "allowInvitesFrom": Field("string", schema={"enum": list(AIF.values)}),
    "guestUserRoleId": Field("string", schema={"format": "uuid",
                                               "enum": list(CollaborationSettings.GuestAccess.values)}),
    "allowEmailVerifiedUsersToJoinOrganization": Field("bool"),
    **{name: _fixed_field(value) for name, value in AUTHORIZATION_POLICY_FIXED.items()},
    "defaultUserRolePermissions": Field("any", schema={
        "type": "object", "additionalProperties": False,
        "properties": {name: ({"type": "boolean"} if name in DEFAULT_USER_ROLE_SETTINGS else _fixed_schema(value))
                       for name, value in DEFAULT_USER_ROLE_PERMISSIONS.items()}}),
}, update=True)

# --- beta: b2bManagementPolicy -------------------------------------------------------------------

B2B_DISPLAY_NAME = "B2BManagementPolicy"
B2B_FIXED = {"displayName": B2B_DISPLAY_NAME, "isOrganizationDefault": True, "description": None}


def b2b_policy_id(tenant_id: uuid.UUID) -> uuid.UUID:
    """One policy per tenant; its id is stable and says nothing about other tenants."""
    return uuid.uuid5(tenant_id, "b2bManagementPolicy")


def b2b_definition(settings: CollaborationSettings) -> list[str]:
    if settings.domain_list_type == CollaborationSettings.DomainListType.ALLOW:
        domains = {"AllowedDomains": list(settings.domains)}
    elif settings.domain_list_type == CollaborationSettings.DomainListType.BLOCK:
        domains = {"BlockedDomains": list(settings.domains)}
    else:
        domains = {}
    return [json.dumps({"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": domains}},
                       separators=(",", ":"))]


B2B_MANAGEMENT_POLICY = Resource(
    odata_type="microsoft.graph.b2bManagementPolicy",
    props=(
        Prop("id", None, type="guid", get=lambda s: str(b2b_policy_id(s.tenant_id))),
        Prop("displayName", None, get=lambda s: B2B_DISPLAY_NAME),
        Prop("description", None, get=lambda s: None),
        Prop("isOrganizationDefault", None, type="bool", get=lambda s: True),
        Prop("definition", None, type="collection", get=b2b_definition),
    ),
)

B2B_PROP_SCHEMAS = {
    "definition": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1,
                   "description": 'One JSON string: {"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":'
                                  '{"AllowedDomains":[…]} or {"BlockedDomains":[…]}}}'},
}

# The handler (policies.api.views.B2BManagementPolicyView.patch) checks the values.
B2B_PATCH = Body(B2B_MANAGEMENT_POLICY.odata_type, {
    "definition": Field("any", schema={**B2B_PROP_SCHEMAS["definition"],
                                       "items": {"type": "string", "maxLength": 25 * 1024}}),
    "displayName": _fixed_field(B2B_DISPLAY_NAME),
    "isOrganizationDefault": _fixed_field(True),
    "description": Field("any", schema={"type": "string", "nullable": True, "description": "Always null here."}),
    "id": Field("any", schema={"type": "string", "format": "uuid", "description": "The policy's own id."}),
}, update=True)

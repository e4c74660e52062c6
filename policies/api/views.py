"""The external collaboration settings as Graph shows them: ``/policies/authorizationPolicy`` (v1.0)
and the domain allow/deny list as beta's ``/policies/b2bManagementPolicies`` (v1.0 has none)."""

import json

from django.db import transaction
from rest_framework.response import Response

from directory.api.base import GraphView
from directory.api.errors import bad_request, not_found
from directory.api.parsers import loads_json
from directory.services import tenant_group_settings_update

from ..models import DOMAIN_LIST_MAX_BYTES, CollaborationSettings
from ..selectors import collaboration_settings_for
from ..services import collaboration_settings_update
from .resources import (
    AUTHORIZATION_POLICY,
    AUTHORIZATION_POLICY_FIXED,
    AUTHORIZATION_POLICY_PATCH,
    AUTHORIZATION_POLICY_PROP_SCHEMAS,
    B2B_FIXED,
    B2B_MANAGEMENT_POLICY,
    B2B_PATCH,
    B2B_PROP_SCHEMAS,
    DEFAULT_USER_ROLE_SETTINGS,
    b2b_policy_id,
)

POLICY_READ = ("Policy.Read.All", "Policy.ReadWrite.Authorization")
POLICY_WRITE = ("Policy.ReadWrite.Authorization",)

AIF = CollaborationSettings.AllowInvitesFrom
LIST = CollaborationSettings.DomainListType


def _same(value, fixed) -> bool:
    """Does ``value`` restate the fixed value (a dict may restate only some of its keys)?"""
    if isinstance(fixed, dict):
        return isinstance(value, dict) and all(k in fixed and _same(v, fixed[k]) for k, v in value.items())
    return type(value) is type(fixed) and value == fixed


def _read_only(name: str, value, fixed, odata_type: str) -> None:
    if not _same(value, fixed):
        raise bad_request(f"Property '{name}' of '{odata_type}' cannot be changed in this deployment; "
                          f"it is always {json.dumps(fixed)}.")


def authorization_policy_changes(data: dict) -> tuple[dict, dict]:
    """The settings a PATCH of authorizationPolicy (read against AUTHORIZATION_POLICY_PATCH) changes.
    Only what we store is writable; a fixed property is accepted when it restates its value (so GET →
    change → PATCH round trips work). ``unknownFutureValue`` is Graph's placeholder for values added
    later: there is nothing to store for it, so it is refused (400). Returns the settings' changes and the
    tenant's (``defaultUserRolePermissions.allowedToCreateSecurityGroups``)."""
    odata_type = AUTHORIZATION_POLICY.odata_type
    changes, tenant_changes = {}, {}
    for name, value in data.items():
        if name == "allowInvitesFrom":
            if value == "unknownFutureValue":
                raise bad_request("allowInvitesFrom 'unknownFutureValue' is a placeholder and cannot be stored.")
            if value not in AIF.values:
                raise bad_request("allowInvitesFrom must be one of " + ", ".join(AIF.values) + ".")
            changes["allow_invites_from"] = value
        elif name == "guestUserRoleId":
            choices = CollaborationSettings.GuestAccess.values
            if value.strip().lower() not in choices:
                raise bad_request("guestUserRoleId must be one of " + ", ".join(choices) + ".")
            changes["guest_user_role_id"] = value.strip().lower()
        elif name == "allowEmailVerifiedUsersToJoinOrganization":
            changes["self_service_sign_up_enabled"] = value
        elif name == "defaultUserRolePermissions" and isinstance(value, dict):
            value = dict(value)
            for graph_name, field in DEFAULT_USER_ROLE_SETTINGS.items():
                if graph_name in value:
                    setting = value.pop(graph_name)
                    if not isinstance(setting, bool):
                        raise bad_request(f"defaultUserRolePermissions.{graph_name} must be true or false.")
                    tenant_changes[field] = setting
            _read_only(name, value, AUTHORIZATION_POLICY_FIXED[name], odata_type)
        else:
            _read_only(name, value, AUTHORIZATION_POLICY_FIXED[name], odata_type)
    return changes, tenant_changes


class _Singleton(GraphView):
    """The settings row is not the policy's identity: the id always comes from the resource's own id."""

    def represent(self, obj, select=None) -> dict:
        data = super().represent(obj, select)
        data["id"] = self.resource.prop("id").value_of(obj)
        return data


class AuthorizationPolicyView(_Singleton):
    """The tenant's authorization policy: who may invite guests (allowInvitesFrom), what guests may
    read (guestUserRoleId) and whether people may join by verifying their e-mail address."""

    resource = AUTHORIZATION_POLICY
    context = "policies/authorizationPolicy"
    read_permissions = POLICY_READ
    write_permissions = POLICY_WRITE
    prop_schemas = AUTHORIZATION_POLICY_PROP_SCHEMAS
    bodies = {"PATCH": AUTHORIZATION_POLICY_PATCH}
    responses = {"get": "item", "patch": 204}

    def get(self, request):
        return self.item_response(collaboration_settings_for(self.principal.tenant))

    def patch(self, request):
        changes, tenant_changes = authorization_policy_changes(self.body())
        with transaction.atomic():
            if changes:
                collaboration_settings_update(actor=self.principal, tenant=self.principal.tenant, changes=changes)
            if tenant_changes:
                tenant_group_settings_update(actor=self.principal, tenant=self.principal.tenant,
                                             changes=tenant_changes)
        return Response(status=204)


# --- beta: b2bManagementPolicies ---------------------------------------------------------------------


def _domain_list(value, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(d, str) and 0 < len(d) <= 255 for d in value):
        raise bad_request(f"{key} must be a list of domain names.")
    return value


def b2b_definition_changes(definition) -> dict:
    """The domain list a b2bManagementPolicy ``definition`` sets: an allow list or a block list, never
    both; the whole definition at most 25 KB. Empty lists (or no InvitationsAllowedAndBlockedDomainsPolicy)
    mean no restriction."""
    if not (isinstance(definition, list) and len(definition) == 1 and isinstance(definition[0], str)):
        raise bad_request("definition must be a list holding one JSON string.")
    size = len(definition[0].encode())
    if size > DOMAIN_LIST_MAX_BYTES:
        raise bad_request(f"The policy definition is {size} bytes; at most {DOMAIN_LIST_MAX_BYTES} bytes (25 KB) "
                          "are allowed.")
    try:
        data = loads_json(definition[0])
    except (ValueError, RecursionError):
        raise bad_request("definition[0] is not valid JSON.") from None
    if not (isinstance(data, dict) and set(data) == {"B2BManagementPolicy"}
            and isinstance(data["B2BManagementPolicy"], dict)):
        raise bad_request('definition[0] must be {"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": '
                          '{…}}}.')
    policy = data["B2BManagementPolicy"]
    unknown = sorted(set(policy) - {"InvitationsAllowedAndBlockedDomainsPolicy"})
    if unknown:
        raise bad_request(f"B2BManagementPolicy.{unknown[0][:60]} is not supported.")
    domains = policy.get("InvitationsAllowedAndBlockedDomainsPolicy") or {}
    if not isinstance(domains, dict):
        raise bad_request("InvitationsAllowedAndBlockedDomainsPolicy must be an object.")
    unknown = sorted(set(domains) - {"AllowedDomains", "BlockedDomains"})
    if unknown:
        raise bad_request(f"InvitationsAllowedAndBlockedDomainsPolicy.{unknown[0][:60]} is not supported.")
    allowed = _domain_list(domains.get("AllowedDomains"), "AllowedDomains")
    blocked = _domain_list(domains.get("BlockedDomains"), "BlockedDomains")
    if allowed and blocked:
        raise bad_request("Use either AllowedDomains or BlockedDomains, never both.")
    if allowed:
        return {"domain_list_type": LIST.ALLOW, "domains": allowed}
    if blocked:
        return {"domain_list_type": LIST.BLOCK, "domains": blocked}
    return {"domain_list_type": LIST.NONE, "domains": []}


class _Beta(_Singleton):
    def context_url(self, suffix: str = "") -> str:
        return self.request.build_absolute_uri(f"/beta/$metadata#{self.context}{suffix}")


class B2BManagementPoliciesView(_Beta):
    """The tenant's domain allow/deny list for invitations, in Graph beta's b2bManagementPolicy shape
    (one policy per tenant)."""

    resource = B2B_MANAGEMENT_POLICY
    context = "policies/b2bManagementPolicies"
    read_permissions = POLICY_READ
    write_permissions = POLICY_WRITE
    prop_schemas = B2B_PROP_SCHEMAS
    responses = {"get": "list"}

    def scoped_queryset(self):
        # Every tenant has its settings row from its creation on: a GET never writes.
        return CollaborationSettings.objects.filter(tenant=self.principal.tenant)

    def get(self, request):
        return self.list_response(self.scoped_queryset())


class B2BManagementPolicyView(B2BManagementPoliciesView):
    """One b2bManagementPolicy. PATCH replaces the domain list from ``definition``; switching between
    an allow and a block list discards the old list, as Entra does."""

    bodies = {"PATCH": B2B_PATCH}
    responses = {"get": "item", "patch": 204}

    def get_policy(self, policy_id: str) -> CollaborationSettings:
        wanted = self.lookup(policy_id)["pk"]  # not a GUID: 404, as any item route
        if wanted != b2b_policy_id(self.principal.tenant.pk):
            raise not_found()  # another tenant's policy, or none: the same answer
        return collaboration_settings_for(self.principal.tenant)

    def get(self, request, policy_id):
        return self.item_response(self.get_policy(policy_id))

    def patch(self, request, policy_id):
        self.get_policy(policy_id)
        changes = {}
        for name, value in self.body().items():
            if name == "definition":
                changes.update(b2b_definition_changes(value))
            elif name == "id":
                _read_only(name, str(value).lower(), str(b2b_policy_id(self.principal.tenant.pk)),
                           B2B_MANAGEMENT_POLICY.odata_type)
            else:
                _read_only(name, value, B2B_FIXED[name], B2B_MANAGEMENT_POLICY.odata_type)
        if changes:
            collaboration_settings_update(actor=self.principal, tenant=self.principal.tenant, changes=changes)
        return Response(status=204)

"""Graph shapes of the directory's objects."""

from ..models import Application, AuditEvent, Tenant, User
from .odata import Prop, Resource


def _identities(user: User) -> list[dict]:
    return [{"signInType": i.sign_in_type, "issuer": i.issuer, "issuerAssignedId": i.issuer_assigned_id or None}
            for i in user.identities.all()]


USER = Resource(
    odata_type="microsoft.graph.user",
    default_order=("displayName",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True, sort=True),
        Prop("userPrincipalName", "user_principal_name", filter=True, sort=True),
        Prop("mail", "mail", filter=True, blank_is_null=True),
        Prop("givenName", "given_name", filter=True, blank_is_null=True),
        Prop("surname", "surname", filter=True, blank_is_null=True),
        Prop("jobTitle", "job_title", filter=True, blank_is_null=True),
        Prop("companyName", "company_name", filter=True, blank_is_null=True, default=False),
        Prop("businessPhones", None, type="collection", get=lambda u: []),
        Prop("userType", "user_type", type="enum", filter=True, choices=("Member", "Guest"), default=False),
        Prop("accountEnabled", "account_enabled", type="bool", filter=True, default=False),
        Prop("externalUserState", "external_user_state", type="enum", filter=True, blank_is_null=True,
             choices=("PendingAcceptance", "Accepted"), default=False),
        Prop("externalUserStateChangeDateTime", "external_user_state_changed_at", type="datetime", filter=True,
             default=False),
        Prop("creationType", "creation_type", type="enum", filter=True, blank_is_null=True, default=False,
             choices=("Invitation", "LocalAccount", "EmailVerified", "SelfServiceSignUp")),
        Prop("otherMails", "other_mails", type="collection", filter=True, default=False),
        Prop("identities", None, type="collection", get=_identities, default=False),
        Prop("createdDateTime", "created_at", type="datetime", filter=True, sort=True, default=False),
    ),
)

GROUP = Resource(
    odata_type="microsoft.graph.group",
    default_order=("displayName",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True, sort=True),
        Prop("description", "description", filter=True, blank_is_null=True),
        Prop("createdDateTime", "created_at", type="datetime", filter=True, sort=True),
        Prop("securityEnabled", None, type="bool", get=lambda g: True),
        Prop("mailEnabled", None, type="bool", get=lambda g: False),
        Prop("groupTypes", None, type="collection", get=lambda g: []),
        Prop("membershipRule", None, get=lambda g: None, default=False),
        Prop("visibility", None, get=lambda g: "Public" if g.members_can_join else "Private"),
    ),
)

SERVICE_PRINCIPAL = Resource(
    odata_type="microsoft.graph.servicePrincipal",
    default_order=("displayName",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("appId", "app_id", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True, sort=True),
        Prop("description", "description", blank_is_null=True),
        Prop("homepage", "launch_url", blank_is_null=True),
        Prop("appRoleAssignmentRequired", "assignment_required", type="bool", filter=True),
        Prop("accountEnabled", None, type="bool", get=lambda a: True),
        Prop("servicePrincipalType", None, get=lambda a: "Application"),
        Prop("tags", None, type="collection",
             get=lambda a: [] if a.visible_to_users else ["HideApp"]),
        Prop("createdDateTime", "created_at", type="datetime", sort=True, default=False),
    ),
)


def _initiated_by(event: AuditEvent) -> dict:
    data = dict(event.initiated_by or {})
    data.setdefault("user", None)
    data.setdefault("app", None)
    return data


AUDIT = Resource(
    odata_type="microsoft.graph.directoryAudit",
    default_order=("activityDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("activityDateTime", "activity_date_time", type="datetime", filter=True, sort=True),
        Prop("activityDisplayName", "activity_display_name", filter=True),
        Prop("category", "category", filter=True),
        Prop("correlationId", "correlation_id", type="guid", filter=True),
        Prop("initiatedBy", None, type="object", get=_initiated_by),
        Prop("initiatedBy/user/id", "initiated_by_user_id", type="guid", filter=True, default=False,
             get=lambda e: (e.initiated_by.get("user") or {}).get("id")),
        Prop("loggedByService", "logged_by_service", filter=True),
        Prop("operationType", "operation_type", filter=True),
        Prop("result", "result", type="enum", filter=True, choices=("success", "failure", "timeout")),
        Prop("resultReason", "result_reason"),
        Prop("targetResources", None, type="collection", get=lambda e: e.target_resources),
        Prop("additionalDetails", None, type="collection", get=lambda e: e.additional_details),
    ),
)


def _domains(tenant: Tenant) -> list[dict]:
    rows = [{"name": tenant.initial_domain, "type": "Managed", "capability": "Email, OfficeCommunicationsOnline",
             "isDefault": True, "isInitial": True}]
    rows += [{"name": d.name, "type": "Managed", "capability": "Email", "isDefault": False, "isInitial": False}
             for d in tenant.domains.all() if d.is_verified]
    return rows


ORGANIZATION = Resource(
    odata_type="microsoft.graph.organization",
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", "name"),
        Prop("verifiedDomains", None, type="collection", get=_domains),
        Prop("privacyProfile", None, type="object",
             get=lambda t: {"contactEmail": None, "statementUrl": t.privacy_statement_url or None}),
        Prop("tenantType", None, get=lambda t: "AAD" if t.configuration == "workforce" else "CIAM"),
        Prop("createdDateTime", "created_at", type="datetime"),
    ),
)

__all__ = ["AUDIT", "GROUP", "ORGANIZATION", "SERVICE_PRINCIPAL", "USER", "Application"]

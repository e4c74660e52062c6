"""Graph shapes of the directory's objects."""

import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Case, F, QuerySet, UUIDField, Value, When
from django.db.models.functions import Coalesce

from ..models import Application, AppRoleAssignment, AuditEvent, Branding, SignInEvent, Tenant, User
from .odata import Prop, Resource


def _graph_time(value) -> str | None:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _identities(user: User) -> list[dict]:
    return [{"signInType": i.sign_in_type, "issuer": i.issuer, "issuerAssignedId": i.issuer_assigned_id or None}
            for i in user.identities.all()]


USER = Resource(
    odata_type="microsoft.graph.user",
    default_order=("displayName",),
    prefix_order=True,  # user_tenant_name_bytewise_idx (migration 0008)
    props=(
        Prop("id", "pk", type="guid", filter=True),
        # only with $select, and only for AuditLog.Read.All (directory/api/users.py checks)
        Prop("signInActivity", None, type="object", default=False, get=lambda u: {
            "lastSignInDateTime": _graph_time(u.last_sign_in_at), "lastSignInRequestId": None,
            "lastNonInteractiveSignInDateTime": None, "lastNonInteractiveSignInRequestId": None,
            "lastSuccessfulSignInDateTime": _graph_time(u.last_sign_in_at), "lastSuccessfulSignInRequestId": None}),
        Prop("signInActivity/lastSignInDateTime", "last_sign_in_at", type="datetime", filter=True, default=False),
        Prop("displayName", "display_name", filter=True, sort=True),
        Prop("userPrincipalName", "user_principal_name", filter=True, sort=True),
        Prop("mail", "mail", filter=True, blank_is_null=True),
        Prop("givenName", "given_name", filter=True, blank_is_null=True),
        Prop("surname", "surname", filter=True, blank_is_null=True),
        Prop("jobTitle", "job_title", filter=True, blank_is_null=True),
        Prop("mailNickname", "mail_nickname", filter=True, blank_is_null=True, default=False),
        Prop("companyName", "company_name", filter=True, blank_is_null=True, default=False),
        # Profile properties (Graph's default set has businessPhones, mobilePhone, officeLocation and
        # preferredLanguage; the rest are returned when selected). Filterable where Graph allows.
        Prop("businessPhones", "business_phones", type="collection"),
        Prop("mobilePhone", "mobile_phone", filter=True, blank_is_null=True),
        Prop("officeLocation", "office_location", filter=True, blank_is_null=True),
        Prop("preferredLanguage", "preferred_language", filter=True, blank_is_null=True),
        Prop("department", "department", filter=True, blank_is_null=True, default=False),
        Prop("employeeId", "employee_id", filter=True, blank_is_null=True, default=False),
        Prop("employeeType", "employee_type", filter=True, blank_is_null=True, default=False),
        Prop("usageLocation", "usage_location", filter=True, blank_is_null=True, default=False),
        Prop("city", "city", filter=True, blank_is_null=True, default=False),
        Prop("country", "country", filter=True, blank_is_null=True, default=False),
        Prop("userType", "user_type", type="enum", filter=True, choices=("Member", "Guest"), default=False),
        Prop("accountEnabled", "account_enabled", type="bool", filter=True, default=False),
        Prop("externalUserState", "external_user_state", type="enum", filter=True, blank_is_null=True,
             choices=("PendingAcceptance", "Accepted"), default=False),
        Prop("externalUserStateChangeDateTime", "external_user_state_changed_at", type="datetime", filter=True,
             default=False),
        Prop("creationType", "creation_type", type="enum", filter=True, blank_is_null=True, default=False,
             choices=("Invitation", "LocalAccount", "EmailVerified", "SelfServiceSignUp")),
        Prop("otherMails", "other_mails", type="collection", filter=True, default=False),
        Prop("identities", None, type="collection", get=_identities, default=False, prefetch="identities"),
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
        Prop("mailNickname", "mail_nickname", filter=True, blank_is_null=True),
        Prop("createdDateTime", "created_at", type="datetime", filter=True, sort=True),
        Prop("securityEnabled", None, type="bool", constant=True, filter=True),
        Prop("mailEnabled", None, type="bool", constant=False, filter=True),
        Prop("groupTypes", None, type="collection", get=lambda g: []),
        Prop("membershipRule", None, get=lambda g: None, default=False),
        Prop("mail", None, get=lambda g: None, default=False),
        Prop("isAssignableToRole", None, type="bool", get=lambda g: False, default=False),
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
        Prop("appDisplayName", "display_name", filter=True),
        Prop("appOwnerOrganizationId", "tenant_id", type="guid"),
        Prop("description", "description", blank_is_null=True),
        Prop("homepage", "launch_url", blank_is_null=True),
        Prop("servicePrincipalNames", None, type="collection", get=lambda a: [str(a.app_id)]),
        Prop("appRoles", None, type="collection", get=lambda a: []),
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
        Prop("initiatedBy/user/userPrincipalName", "initiated_by__user__userPrincipalName", filter=True,
             default=False, get=lambda e: (e.initiated_by.get("user") or {}).get("userPrincipalName")),
        Prop("initiatedBy/app/displayName", "initiated_by__app__displayName", filter=True, default=False,
             get=lambda e: (e.initiated_by.get("app") or {}).get("displayName")),
        Prop("loggedByService", "logged_by_service", filter=True),
        Prop("operationType", "operation_type", filter=True),
        Prop("result", "result", type="enum", filter=True, choices=("success", "failure", "timeout")),
        Prop("resultReason", "result_reason"),
        Prop("targetResources", None, type="collection", get=lambda e: e.target_resources),
        Prop("additionalDetails", None, type="collection", get=lambda e: e.additional_details),
    ),
)


def _sign_in_status(event: SignInEvent) -> dict:
    return {"errorCode": event.error_code, "failureReason": event.failure_reason or None,
            "additionalDetails": None}


def _location(event: SignInEvent) -> dict:
    return {"city": None, "state": None, "countryOrRegion": event.country or None, "geoCoordinates": None}


#: Graph's signIn (v1.0); the sign-in log is written by directory.services.signins.
SIGN_IN = Resource(
    odata_type="microsoft.graph.signIn",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("createdDateTime", "created_at", type="datetime", filter=True, sort=True),
        Prop("userId", "user_id", type="guid", filter=True),
        Prop("userPrincipalName", "user_principal_name", filter=True),
        Prop("userDisplayName", "user_display_name"),
        Prop("appId", "application__app_id", type="guid", filter=True,
             get=lambda e: str(e.application.app_id) if e.application_id and e.application else None),
        Prop("appDisplayName", "app_display_name", blank_is_null=True),
        Prop("resourceTenantId", "tenant_id", type="guid"),
        Prop("homeTenantId", "home_tenant_id", type="guid",
             get=lambda e: str(e.home_tenant_id) if e.home_tenant_id else None),
        Prop("ipAddress", "ip_address", filter=True),
        Prop("clientAppUsed", "client_app_used", filter=True),
        Prop("correlationId", "correlation_id", type="guid", filter=True),
        Prop("conditionalAccessStatus", "conditional_access_status", type="enum", filter=True,
             choices=("success", "failure", "notApplied", "unknownFutureValue")),
        Prop("isInteractive", "is_interactive", type="bool", filter=True),
        Prop("status/errorCode", "error_code", type="int", filter=True, default=False),
        Prop("status", None, type="object", get=_sign_in_status),
        Prop("location", None, type="object", get=_location),
        Prop("appliedConditionalAccessPolicies", None, type="collection", get=lambda e: [
            {k: v for k, v in policy.items() if k in ("id", "displayName", "result", "enforcedGrantControls",
                                                      "enforcedSessionControls")} for policy in e.applied_policies]),
        Prop("authenticationMethodsUsed", None, type="collection", get=lambda e: list(e.authentication_methods)),
        Prop("authenticationRequirement", "authentication_requirement"),
        Prop("resourceDisplayName", "resource", get=lambda e: e.get_resource_display()),
        Prop("deviceDetail", None, type="object", get=lambda e: {"browser": e.user_agent[:128] or None,
                                                                 "operatingSystem": None}),
    ),
)


def _domains(tenant: Tenant) -> list[dict]:
    # Graph's verifiedDomain: {capabilities, isDefault, isInitial, name, type}.
    rows = [{"name": tenant.initial_domain, "type": "Managed", "capabilities": "Email, OfficeCommunicationsOnline",
             "isDefault": True, "isInitial": True}]
    rows += [{"name": d.name, "type": "Managed", "capabilities": "Email", "isDefault": False, "isInitial": False}
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
        # Graph's organization carries these; we keep no such data, so they are empty, never missing.
        Prop("businessPhones", None, type="collection", get=lambda t: []),
        Prop("city", None, get=lambda t: None),
        Prop("country", None, get=lambda t: None),
        Prop("countryLetterCode", None, get=lambda t: None),
        Prop("postalCode", None, get=lambda t: None),
        Prop("state", None, get=lambda t: None),
        Prop("street", None, get=lambda t: None),
        Prop("preferredLanguage", None, get=lambda t: None),
        Prop("onPremisesSyncEnabled", None, type="bool", get=lambda t: None),
        Prop("assignedPlans", None, type="collection", get=lambda t: []),
        Prop("provisionedPlans", None, type="collection", get=lambda t: []),
        Prop("marketingNotificationEmails", None, type="collection", get=lambda t: []),
        Prop("securityComplianceNotificationMails", None, type="collection", get=lambda t: []),
        Prop("securityComplianceNotificationPhones", None, type="collection", get=lambda t: []),
        Prop("technicalNotificationMails", None, type="collection", get=lambda t: []),
    ),
)


# --- organizationalBranding / organizationalBrandingLocalization --------------------------------

DEFAULT_BRANDING_ID = "0"  # Graph's id for the default (locale-independent) branding


def branding_id(branding: Branding) -> str:
    return branding.locale or DEFAULT_BRANDING_ID


def _banner_logo_url(branding: Branding) -> str | None:
    # Graph gives a path relative to one of `cdnList`; ours is relative to the site itself.
    return branding.banner_logo.url.lstrip("/") if branding.banner_logo else None


def _cdn_list(branding: Branding) -> list[str]:
    return [urlsplit(settings.SITE_URL).netloc] if branding.banner_logo else []


BRANDING = Resource(
    odata_type="microsoft.graph.organizationalBranding",
    props=(
        Prop("id", None, get=branding_id),
        Prop("backgroundColor", "background_color", blank_is_null=True),
        Prop("backgroundImageRelativeUrl", None, get=lambda b: None),
        Prop("bannerLogoRelativeUrl", None, get=_banner_logo_url),
        Prop("cdnList", None, type="collection", get=_cdn_list),
        Prop("signInPageText", "sign_in_page_text", blank_is_null=True),
        Prop("usernameHintText", "username_hint_text", blank_is_null=True),
        Prop("squareLogoRelativeUrl", None, get=lambda b: None),
        Prop("customPrivacyAndCookiesUrl", None, get=lambda b: b.tenant.privacy_statement_url or None),
    ),
)


# --- appRoleAssignment ---------------------------------------------------------------------------

DEFAULT_APP_ROLE_ID = "00000000-0000-0000-0000-000000000000"  # "default access": we have no app roles


def with_principal(assignments: QuerySet[AppRoleAssignment]) -> QuerySet[AppRoleAssignment]:
    """Assignments with their principal's id, type and name as columns, so that they can be filtered
    and sorted in the database (a user *or* a group is assigned)."""
    return assignments.select_related("application", "user", "group").annotate(
        principal_id=Coalesce(F("user_id"), F("group_id"), output_field=UUIDField()),
        principal_type=Case(When(user__isnull=False, then=Value("User")), default=Value("Group")),
        principal_display_name=Coalesce(F("user__display_name"), F("group__display_name")),
    )


def _principal(assignment: AppRoleAssignment):
    return assignment.user if assignment.user_id else assignment.group


APP_ROLE_ASSIGNMENT = Resource(
    odata_type="microsoft.graph.appRoleAssignment",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("appRoleId", None, type="guid", get=lambda a: DEFAULT_APP_ROLE_ID),
        Prop("createdDateTime", "created_at", type="datetime", filter=True, sort=True),
        Prop("deletedDateTime", None, type="datetime", get=lambda a: None),
        Prop("principalDisplayName", "principal_display_name", filter=True, sort=True,
             get=lambda a: _principal(a).display_name),
        Prop("principalId", "principal_id", type="guid", filter=True, get=lambda a: str(_principal(a).pk)),
        Prop("principalType", "principal_type", type="enum", filter=True, choices=("User", "Group"),
             get=lambda a: "User" if a.user_id else "Group"),
        Prop("resourceDisplayName", "application__display_name", get=lambda a: a.application.display_name),
        Prop("resourceId", "application_id", type="guid", filter=True),
    ),
)

__all__ = [
    "APP_ROLE_ASSIGNMENT",
    "AUDIT",
    "BRANDING",
    "DEFAULT_APP_ROLE_ID",
    "DEFAULT_BRANDING_ID",
    "GROUP",
    "ORGANIZATION",
    "SERVICE_PRINCIPAL",
    "SIGN_IN",
    "USER",
    "Application",
    "branding_id",
    "with_principal",
]

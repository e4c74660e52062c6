"""Graph's entitlement management shapes (``/identityGovernance/entitlementManagement/…``)."""

from datetime import timedelta

from django.utils.dateparse import parse_duration

from directory.api.errors import bad_request
from directory.api.odata import Prop, Resource

from ..models import ResourceRole, role_origin_id

ROLE_NAMES = {ResourceRole.MEMBER: "Member", ResourceRole.OWNER: "Owner", ResourceRole.DEFAULT_ACCESS: "Default Access"}


def iso_duration(value: timedelta | None) -> str | None:
    """``P7D``, ``PT12H``, ``P1DT2H30M`` (Graph's Duration)."""
    if value is None:
        return None
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if (days or time) else "PT0S"


def read_duration(value, name: str) -> timedelta | None:
    if value in (None, ""):
        return None
    # ISO 8601 as Graph sends it; the Python SDK (kiota) writes str(timedelta), "30 days, 0:00:00".
    parsed = parse_duration(value) if isinstance(value, str) and len(value) <= 64 else None
    if parsed is None:
        raise bad_request(f"Property '{name}' must be an ISO 8601 duration such as P7D or PT12H.")
    return parsed


def _dt(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


CATALOG = Resource(
    odata_type="microsoft.graph.accessPackageCatalog",
    default_order=("displayName",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True, sort=True),
        Prop("description", "description"),
        Prop("catalogType", "catalog_type", type="enum", filter=True),
        Prop("state", "state", type="enum", filter=True),
        Prop("isExternallyVisible", "is_externally_visible", type="bool", filter=True),
        Prop("createdDateTime", "created_at", type="datetime"),
        Prop("modifiedDateTime", "modified_at", type="datetime"),
    ),
)

RESOURCE = Resource(
    odata_type="microsoft.graph.accessPackageResource",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", None, get=lambda r: r.display_name),
        Prop("description", None, get=lambda r: r.obj.description or None),
        Prop("originId", None, get=lambda r: r.origin_id),
        Prop("originSystem", "origin_system", type="enum", filter=True),
        Prop("createdDateTime", "created_at", type="datetime", sort=True),
    ),
)


def resource_ref(resource) -> dict:
    return {"id": str(resource.pk), "displayName": resource.display_name, "originId": resource.origin_id,
            "originSystem": resource.origin_system}


def role_json(resource, role: str) -> dict:
    return {"id": f"{resource.pk}:{role}", "displayName": ROLE_NAMES[role], "description": None,
            "originId": role_origin_id(role, resource), "originSystem": resource.origin_system,
            "resource": resource_ref(resource)}


ROLE_SCOPE = Resource(
    odata_type="microsoft.graph.accessPackageResourceRoleScope",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid"),
        Prop("createdDateTime", "created_at", type="datetime", sort=True),
        Prop("role", None, type="object", get=lambda s: role_json(s.resource, s.role)),
        Prop("scope", None, type="object", get=lambda s: {
            "id": str(s.resource.pk), "displayName": "Root", "originId": s.resource.origin_id,
            "originSystem": s.resource.origin_system, "isRootScope": True}),
    ),
)

PACKAGE = Resource(
    odata_type="microsoft.graph.accessPackage",
    default_order=("displayName",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True, sort=True),
        Prop("description", "description"),
        Prop("isHidden", "is_hidden", type="bool", filter=True),
        Prop("createdDateTime", "created_at", type="datetime"),
        Prop("modifiedDateTime", "modified_at", type="datetime"),
        Prop("catalogId", "catalog_id", type="guid", filter=True, default=False),
    ),
)


def _stage_json(stage) -> dict:
    return {
        "durationBeforeAutomaticDenial": iso_duration(stage.duration_before_automatic_denial),
        "isApproverJustificationRequired": stage.is_approver_justification_required,
        "isEscalationEnabled": stage.is_escalation_enabled,
        "durationBeforeEscalation": iso_duration(stage.duration_before_escalation) or "PT0S",
        "primaryApprovers": stage.primary_approvers, "fallbackPrimaryApprovers": stage.fallback_primary_approvers,
        "escalationApprovers": stage.escalation_approvers,
        "fallbackEscalationApprovers": stage.fallback_escalation_approvers,
        "approverInformationVisibility": "default",
    }


def _question_json(q) -> dict:
    base = {
        "id": str(q.pk), "sequence": q.sequence, "isRequired": q.is_required, "isAnswerEditable": True,
        "text": q.text, "localizations": [{"languageCode": k, "text": v} for k, v in sorted(q.localizations.items())],
    }
    if q.kind == q.Kind.MULTIPLE_CHOICE:
        return {"@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion", **base,
                "allowsMultipleSelections": q.allows_multiple_selection,
                "choices": [{"actualValue": c.get("actualValue"), "text": c.get("text"),
                             "localizations": c.get("localizations", [])} for c in q.choices]}
    return {"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", **base,
            "isSingleLineQuestion": q.is_single_line, "regexPattern": None}


POLICY = Resource(
    odata_type="microsoft.graph.accessPackageAssignmentPolicy",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True),
        Prop("description", "description"),
        Prop("allowedTargetScope", "allowed_target_scope", type="enum", filter=True),
        Prop("specificAllowedTargets", "specific_allowed_targets", type="collection"),
        Prop("createdDateTime", "created_at", type="datetime", sort=True),
        Prop("modifiedDateTime", "modified_at", type="datetime"),
        Prop("expiration", None, type="object", get=lambda p: {
            "type": p.expiration_type, "endDateTime": _dt(p.expiration_end),
            "duration": iso_duration(p.expiration_duration) if p.expiration_type == "afterDuration" else None}),
        Prop("requestorSettings", None, type="object", get=lambda p: {
            "enableTargetsToSelfAddAccess": p.enable_targets_to_self_add,
            "enableTargetsToSelfUpdateAccess": p.enable_targets_to_self_update,
            "enableTargetsToSelfRemoveAccess": p.enable_targets_to_self_remove,
            "allowCustomAssignmentSchedule": p.allow_custom_schedule,
            "enableOnBehalfRequestorsToAddAccess": False, "enableOnBehalfRequestorsToUpdateAccess": False,
            "enableOnBehalfRequestorsToRemoveAccess": False, "onBehalfRequestors": []}),
        Prop("requestApprovalSettings", None, type="object", get=lambda p: {
            "isApprovalRequiredForAdd": p.is_approval_required_for_add,
            "isApprovalRequiredForUpdate": p.is_approval_required_for_update,
            "isRequestorJustificationRequired": p.is_requestor_justification_required,
            "stages": [_stage_json(s) for s in p.stages.all()]}),
        Prop("questions", None, type="collection", get=lambda p: [_question_json(q) for q in p.questions.all()]),
        Prop("accessPackage", None, type="object", get=lambda p: {"id": str(p.package_id)}, default=False),
    ),
)


def _schedule(start, end) -> dict:
    return {"startDateTime": _dt(start), "expiration": {
        "type": "afterDateTime" if end else "noExpiration", "endDateTime": _dt(end)}}


REQUEST = Resource(
    odata_type="microsoft.graph.accessPackageAssignmentRequest",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("requestType", "request_type", type="enum", filter=True),
        Prop("state", "state", type="enum", filter=True),
        Prop("status", "status", filter=True),
        Prop("justification", "justification", blank_is_null=True),
        Prop("createdDateTime", "created_at", type="datetime", sort=True, filter=True),
        Prop("completedDateTime", "completed_at", type="datetime"),
        Prop("schedule", None, type="object", get=lambda r: _schedule(r.schedule_start or r.created_at,
                                                                       r.schedule_end)),
        Prop("answers", None, type="collection", get=lambda r: [
            {"@odata.type": "#microsoft.graph.accessPackageAnswerString", "value": a["value"],
             "displayValue": a["displayValue"], "answeredQuestion": {"id": a["questionId"], "text": a["question"]}}
            for a in r.answers]),
    ),
)

ASSIGNMENT = Resource(
    odata_type="microsoft.graph.accessPackageAssignment",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("state", "state", type="enum", filter=True),
        Prop("status", "status", filter=True),
        Prop("expiredDateTime", "expired_at", type="datetime"),
        Prop("createdDateTime", "created_at", type="datetime", sort=True),
        Prop("schedule", None, type="object", get=lambda a: _schedule(a.start_at, a.expires_at)),
        Prop("target", None, type="object", get=lambda a: {
            "id": str(a.target_id), "objectId": str(a.target_id), "displayName": a.target.display_name,
            "email": a.target.mail or None, "principalName": a.target.user_principal_name,
            "subjectType": "user"}),
        Prop("accessPackage", None, type="object", get=lambda a: {"id": str(a.package_id),
                                                                  "displayName": a.package.display_name}),
        Prop("assignmentPolicy", None, type="object", get=lambda a: {"id": str(a.policy_id) if a.policy_id else None}),
    ),
)


def _identity_sources(org) -> list[dict]:
    if org.source_type == "azureActiveDirectoryTenant":
        return [{"@odata.type": "#microsoft.graph.azureActiveDirectoryTenant", "tenantId": str(org.external_tenant_id),
                 "displayName": org.display_name}]
    if org.source_type == "externalDomainFederation":
        return [{"@odata.type": "#microsoft.graph.externalDomainFederation", "domainName": org.domain_name,
                 "issuerUri": org.issuer_uri, "displayName": org.display_name}]
    return [{"@odata.type": "#microsoft.graph.domainIdentitySource", "domainName": org.domain_name,
             "displayName": org.display_name}]


CONNECTED_ORGANIZATION = Resource(
    odata_type="microsoft.graph.connectedOrganization",
    default_order=("displayName",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True, sort=True),
        Prop("description", "description"),
        Prop("state", "state", type="enum", filter=True),
        Prop("identitySources", None, type="collection", get=_identity_sources),
        Prop("createdDateTime", "created_at", type="datetime"),
        Prop("modifiedDateTime", "modified_at", type="datetime"),
    ),
)

SETTINGS = Resource(
    odata_type="microsoft.graph.entitlementManagementSettings",
    props=(
        Prop("id", None, get=lambda s: str(s.tenant_id)),
        Prop("externalUserLifecycleAction", "external_user_lifecycle_action", type="enum"),
        Prop("durationUntilExternalUserDeletedAfterBlocked", None,
             get=lambda s: iso_duration(s.duration_until_external_user_deleted_after_blocked)),
    ),
)

SPONSOR = Resource(
    odata_type="microsoft.graph.user",
    default_order=("displayName",),
    props=(
        Prop("id", "pk", type="guid"),
        Prop("displayName", "display_name", sort=True),
        Prop("userPrincipalName", "user_principal_name"),
        Prop("mail", "mail", blank_is_null=True),
    ),
)


def stage_json(record, actor) -> dict:
    return {
        "id": str(record.pk), "status": record.status,
        "assignedToMe": actor.user is not None and any(a.user_id == actor.user.pk for a in record.approvers.all()),
        "displayName": f"Stage {record.order}", "justification": record.justification or None,
        "reviewResult": {"Approved": "Approve", "Denied": "Deny"}.get(record.status, "NotReviewed"),
        "reviewedDateTime": _dt(record.reviewed_at),
        "reviewedBy": {"id": str(record.reviewed_by_id), "displayName": record.reviewed_by.display_name}
        if record.reviewed_by_id else None,
    }

def _app_scope(assignment) -> str | None:
    catalog_id = getattr(assignment, "catalog_id", None)
    return f"/AccessPackageCatalog/{catalog_id}" if catalog_id else None


#: An entitlement-management role assignment (``roleManagement/entitlementManagement/roleAssignments``):
#: Entra's catalog creator (directory scope "/") or a catalog's role (its app scope).
ROLE_ASSIGNMENT = Resource(
    odata_type="microsoft.graph.unifiedRoleAssignment",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("principalId", "user_id", type="guid", filter=True),
        Prop("roleDefinitionId", "role", filter=True),
        Prop("directoryScopeId", None, get=lambda a: None if _app_scope(a) else "/"),
        Prop("appScopeId", None, get=_app_scope),
        Prop("createdDateTime", "created_at", type="datetime", sort=True),
    ),
)

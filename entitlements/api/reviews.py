"""``/identityGovernance/accessReviews/…``: Graph's access reviews (v1.0 shapes), parsed into one service call.

Administrators' endpoints need ``AccessReview.Read.All`` / ``AccessReview.ReadWrite.All``. A reviewer's
endpoints (``decisions/filterByCurrentUser(on='reviewer')``, PATCH a decision, ``batchRecordDecisions``)
need only the delegated scope: the services decide that only the reviewers an item names decide it
(Graph supports no application permission for recording decisions).

Scopes and reviewers are Graph queries; we accept the ones Entra's portal writes (docs/access-reviews.md)
and answer 400 for others, never silently.
"""

import re
import uuid
from datetime import UTC, datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from rest_framework.response import Response

from directory.api.base import GraphView
from directory.api.bodies import Body, Field
from directory.api.errors import bad_request, denied, not_found
from directory.api.odata import Prop, Resource
from directory.models import Application, Group, User

from .. import selectors, services
from ..models import AccessPackage, AccessReviewDecision, AccessReviewDefinition, AccessReviewInstance
from .resources import iso_duration, read_duration
from .scopes import require_own_scope

D = AccessReviewDefinition
READ = ("AccessReview.Read.All", "AccessReview.ReadWrite.All")
WRITE = ("AccessReview.ReadWrite.All",)
BASE = "identityGovernance/accessReviews/definitions"
GUID = r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
GUEST_FILTER = "/microsoft.graph.user/?$count=true&$filter=(userType eq 'Guest')"
MONTHS = {1: D.Recurrence.MONTHLY, 3: D.Recurrence.QUARTERLY, 6: D.Recurrence.HALF_YEARLY, 12: D.Recurrence.YEARLY}
APPLY_ACTIONS = {D.DeniedGuestAction.REMOVE_ACCESS: "#microsoft.graph.removeAccessApplyAction",
                 D.DeniedGuestAction.BLOCK_THEN_DELETE: "#microsoft.graph.disableAndDeleteUserApplyAction"}


def _dt(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _identity(user: User | None) -> dict | None:
    if user is None:
        return {"id": "00000000-0000-0000-0000-000000000000", "displayName": "", "userPrincipalName": ""}
    return {"id": str(user.pk), "displayName": user.display_name, "userPrincipalName": user.user_principal_name}


def _q(query: str, root: str | None = None) -> dict:
    return {"query": query, "queryType": "MicrosoftGraph", "queryRoot": root}


# --- the shapes --------------------------------------------------------------------------------------------

def scope_json(d: AccessReviewDefinition) -> dict:
    guests = GUEST_FILTER if d.guests_only else ""
    if d.scope_kind == D.ScopeKind.GROUP:
        query = f"/groups/{d.group_id}/transitiveMembers{guests}"
    elif d.scope_kind == D.ScopeKind.APPLICATION:
        query = f"/servicePrincipals/{d.application_id}/appRoleAssignedTo{guests}"
    elif d.scope_kind == D.ScopeKind.ACCESS_PACKAGE:
        query = (f"/identityGovernance/entitlementManagement/accessPackageAssignments"
                 f"?$filter=(accessPackageId eq '{d.package_id}')")
    else:
        query = f"./members{GUEST_FILTER}"
    scope = {"@odata.type": "#microsoft.graph.accessReviewQueryScope", **_q(query)}
    if d.inactive_duration:
        scope.update({"@odata.type": "#microsoft.graph.accessReviewInactiveUsersQueryScope",
                      "inactiveDuration": iso_duration(d.inactive_duration)})
    return scope


def reviewers_json(d: AccessReviewDefinition) -> list[dict]:
    kind = d.reviewer_kind
    if kind == D.ReviewerKind.SELF:
        return []
    if kind == D.ReviewerKind.MANAGERS:
        return [_q("./manager", "decisions")]
    if kind == D.ReviewerKind.SPONSORS:
        return [_q("./sponsors", "decisions")]
    if kind == D.ReviewerKind.OWNERS:
        if d.scope_kind == D.ScopeKind.APPLICATION:
            return [_q(f"/servicePrincipals/{d.application_id}/owners")]
        if d.scope_kind == D.ScopeKind.GROUP:
            return [_q(f"/groups/{d.group_id}/owners")]
        return [_q("./owners", "decisions")]
    return ([_q(f"/users/{pk}") for pk in d.reviewer_user_ids]
            + [_q(f"/groups/{pk}/transitiveMembers") for pk in d.reviewer_group_ids])


def recurrence_json(d: AccessReviewDefinition) -> dict | None:
    if d.recurrence == D.Recurrence.ONE_TIME:
        pattern = None
    elif d.recurrence == D.Recurrence.WEEKLY:
        pattern = {"type": "weekly", "interval": 1}
    else:
        pattern = {"type": "absoluteMonthly", "interval": D.MONTHS[d.recurrence],
                   "dayOfMonth": d.start_at.day if d.start_at else 0}
    range_ = {"type": "endDate" if d.end_date else "noEnd", "startDate": d.start_at.date().isoformat(),
              "endDate": d.end_date.isoformat() if d.end_date else None}
    return {"pattern": pattern, "range": range_} if pattern else {"pattern": None, "range": range_}


def settings_json(d: AccessReviewDefinition) -> dict:
    return {
        "mailNotificationsEnabled": d.mail_notifications_enabled,
        "reminderNotificationsEnabled": d.reminder_notifications_enabled,
        "justificationRequiredOnApproval": d.justification_required_on_approval,
        "defaultDecisionEnabled": d.default_decision_enabled, "defaultDecision": d.default_decision,
        "instanceDurationInDays": d.instance_duration_days,
        "autoApplyDecisionsEnabled": d.auto_apply_decisions_enabled,
        "recommendationsEnabled": d.recommendations_enabled,
        "recommendationLookBackDuration": iso_duration(d.recommendation_look_back),
        "decisionHistoriesForReviewersEnabled": False,
        "recurrence": recurrence_json(d),
        "applyActions": [{"@odata.type": APPLY_ACTIONS[d.denied_guest_action]}],
    }


DEFINITION = Resource(
    odata_type="microsoft.graph.accessReviewScheduleDefinition",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True),
        Prop("descriptionForAdmins", "description_for_admins"),
        Prop("descriptionForReviewers", "description_for_reviewers"),
        Prop("status", "status", type="enum", filter=True),
        Prop("createdDateTime", "created_at", type="datetime", sort=True),
        Prop("lastModifiedDateTime", "modified_at", type="datetime"),
        Prop("createdBy", None, type="object", get=lambda d: _identity(d.created_by)),
        Prop("scope", None, type="object", get=scope_json),
        Prop("instanceEnumerationScope", None, type="object", get=lambda d: _q("/groups") | {
            "@odata.type": "#microsoft.graph.accessReviewQueryScope"} if d.scope_kind == D.ScopeKind.GUEST_RESOURCES
             else None),
        Prop("reviewers", None, type="collection", get=reviewers_json),
        Prop("fallbackReviewers", None, type="collection",
             get=lambda d: [_q(f"/users/{pk}") for pk in d.fallback_user_ids]),
        Prop("settings", None, type="object", get=settings_json),
    ),
)


def _instance_scope(i: AccessReviewInstance) -> dict:
    resource = i.group_id or i.application_id or i.package_id
    base = ("/groups/" if i.group_id else "/servicePrincipals/" if i.application_id else
            "/identityGovernance/entitlementManagement/accessPackages/")
    return {"@odata.type": "#microsoft.graph.accessReviewQueryScope", **_q(f"{base}{resource}")}


INSTANCE = Resource(
    odata_type="microsoft.graph.accessReviewInstance",
    default_order=("startDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("startDateTime", "start_at", type="datetime", sort=True),
        Prop("endDateTime", "end_at", type="datetime"),
        Prop("status", "status", type="enum", filter=True),
        Prop("scope", None, type="object", get=_instance_scope),
        Prop("reviewers", None, type="collection", get=lambda i: reviewers_json(i.definition)),
        Prop("fallbackReviewers", None, type="collection",
             get=lambda i: [_q(f"/users/{pk}") for pk in i.definition.fallback_user_ids]),
    ),
)

_RESOURCE_TYPE = {"groupMember": "group", "appAssignment": "servicePrincipal", "packageAssignment": "accessPackage"}


def _resource_json(item: AccessReviewDecision) -> dict:
    instance = item.instance
    return {"id": instance.resource_key, "displayName": instance.resource_name,
            "type": _RESOURCE_TYPE[item.access_kind]}


DECISION = Resource(
    odata_type="microsoft.graph.accessReviewInstanceDecisionItem",
    default_order=("id",),
    props=(
        Prop("id", "pk", type="guid", filter=True, sort=True),
        Prop("accessReviewId", "instance_id", type="guid"),
        Prop("decision", "decision", type="enum", filter=True),
        Prop("recommendation", "recommendation", type="enum", filter=True),
        Prop("justification", "justification"),
        Prop("applyResult", "apply_result", type="enum"),
        Prop("appliedDateTime", "applied_at", type="datetime"),
        Prop("appliedBy", None, type="object", get=lambda i: _identity(None)),
        Prop("reviewedDateTime", "reviewed_at", type="datetime"),
        Prop("reviewedBy", None, type="object", get=lambda i: _identity(i.reviewed_by)),
        Prop("principal", None, type="object", get=lambda i: {
            "@odata.type": "#microsoft.graph.userIdentity", **_identity(i.principal)}),
        Prop("principalLink", None, get=lambda i: f"https://graph.microsoft.com/v1.0/users/{i.principal_id}"),
        Prop("resource", None, type="object", get=_resource_json),
        Prop("insights", None, type="collection", get=lambda i: [{
            "@odata.type": "#microsoft.graph.userSignInInsight",
            "insightCreatedDateTime": _dt(i.instance.start_at), "lastSignInDateTime": _dt(i.last_sign_in_at)}]),
    ),
)


# --- reading Graph's queries ----------------------------------------------------------------------------------

def _object(model, tenant, pk: str, what: str):
    obj = model.objects.filter(tenant=tenant, pk=pk).first()
    if obj is None:
        raise bad_request(f"The {what} the query names does not exist in this organization.")
    return obj


def _string(value, name: str) -> str:
    if not isinstance(value, str) or len(value) > 1024 or "\x00" in value:
        raise bad_request(f"Property '{name}' must be a query string of at most 1024 characters.")
    return value


def read_scope(tenant, scope, enumeration) -> dict:
    """The definition's fields a Graph ``scope`` (and ``instanceEnumerationScope``) names."""
    if not isinstance(scope, dict):
        raise bad_request("Property 'scope' must be an accessReviewScope object.")
    query = _string(scope.get("query"), "scope.query")
    guests = "userType eq 'Guest'" in query
    fields: dict = {"guests_only": guests}
    kind = str(scope.get("@odata.type", "")).rsplit(".", 1)[-1]
    if kind == "accessReviewInactiveUsersQueryScope":
        fields["inactive_duration"] = _duration(scope.get("inactiveDuration"), "scope.inactiveDuration")
    elif kind not in ("", "accessReviewQueryScope"):
        raise bad_request("Property 'scope' must be an accessReviewQueryScope or accessReviewInactiveUsersQueryScope.")
    if enumeration is not None:
        if not isinstance(enumeration, dict) or not _string(enumeration.get("query"), "instanceEnumerationScope.query") \
                .startswith(("/groups", "/servicePrincipals")) or not query.startswith("./"):
            raise bad_request("'instanceEnumerationScope' reviews every group and application with guests: its query "
                              "is /groups and the scope's is ./members with userType eq 'Guest'.")
        return {**fields, "scope_kind": D.ScopeKind.GUEST_RESOURCES}
    if m := re.match(rf"^/groups/{GUID}/(transitiveMembers|members)(/|\?|$)", query):
        return {**fields, "scope_kind": D.ScopeKind.GROUP, "group": _object(Group, tenant, m.group(1), "group")}
    if m := re.match(rf"^/servicePrincipals/{GUID}/appRoleAssignedTo(/|\?|$)", query):
        return {**fields, "scope_kind": D.ScopeKind.APPLICATION,
                "application": _object(Application, tenant, m.group(1), "application")}
    if m := re.match(rf"^/identityGovernance/entitlementManagement/(?:accessPackageAssignments|assignments)\?\$filter="
                     rf"\(accessPackageId eq '{GUID}'", query):
        return {**fields, "scope_kind": D.ScopeKind.ACCESS_PACKAGE,
                "package": _object(AccessPackage, tenant, m.group(1), "access package")}
    raise bad_request("Property 'scope.query' must review a group's members (/groups/{id}/transitiveMembers), an "
                      "application's assignments (/servicePrincipals/{id}/appRoleAssignedTo) or an access package's "
                      "assignments (/identityGovernance/entitlementManagement/accessPackageAssignments?$filter="
                      "(accessPackageId eq '{id}')).")


def read_reviewers(value, name: str, *, fallback: bool = False) -> dict:
    if not isinstance(value, list) or len(value) > 100 or not all(isinstance(v, dict) for v in value):
        raise bad_request(f"Property '{name}' must be a list of at most 100 accessReviewReviewerScope objects.")
    users, groups, kinds = [], [], set()
    for index, scope in enumerate(value):
        query = _string(scope.get("query"), f"{name}[{index}].query")
        if m := re.match(rf"^/users/{GUID}$", query):
            users.append(m.group(1).lower())
            kinds.add(D.ReviewerKind.SELECTED)
        elif (m := re.match(rf"^/groups/{GUID}/(transitiveMembers|members)$", query)) and not fallback:
            groups.append(m.group(1).lower())
            kinds.add(D.ReviewerKind.SELECTED)
        elif re.match(rf"^(/groups/{GUID}|/servicePrincipals/{GUID}|\.)/owners$", query) and not fallback:
            kinds.add(D.ReviewerKind.OWNERS)
        elif query == "./manager" and not fallback:
            kinds.add(D.ReviewerKind.MANAGERS)
        elif query == "./sponsors" and not fallback:
            kinds.add(D.ReviewerKind.SPONSORS)
        else:
            raise bad_request(f"Property '{name}[{index}].query' is not a reviewer query this service supports"
                              + (" (fallback reviewers are /users/{id})." if fallback else "."))
    if fallback:
        return {"fallback_user_ids": users}
    if len(kinds) > 1:
        raise bad_request(f"Property '{name}' mixes kinds of reviewers; choose one.")
    kind = kinds.pop() if kinds else D.ReviewerKind.SELF
    return {"reviewer_kind": kind, "reviewer_user_ids": users, "reviewer_group_ids": groups}


SETTINGS = Body("microsoft.graph.accessReviewScheduleSettings", {
    "mailNotificationsEnabled": Field("bool"), "reminderNotificationsEnabled": Field("bool"),
    "justificationRequiredOnApproval": Field("bool"), "defaultDecisionEnabled": Field("bool"),
    "defaultDecision": Field("string", enum=("None", "Approve", "Deny", "Recommendation")),
    "instanceDurationInDays": Field("int"), "autoApplyDecisionsEnabled": Field("bool"),
    "recommendationsEnabled": Field("bool"), "decisionHistoriesForReviewersEnabled": Field("bool"),
    "recommendationLookBackDuration": Field("string", nullable=True, max_length=64),
    "recommendationInsightSettings": Field("list", nullable=True),
    "recurrence": Field("object", nullable=True), "applyActions": Field("list", nullable=True, max_length=2),
})
_SETTING_FIELDS = {"mailNotificationsEnabled": "mail_notifications_enabled",
                   "reminderNotificationsEnabled": "reminder_notifications_enabled",
                   "justificationRequiredOnApproval": "justification_required_on_approval",
                   "defaultDecisionEnabled": "default_decision_enabled", "defaultDecision": "default_decision",
                   "autoApplyDecisionsEnabled": "auto_apply_decisions_enabled",
                   "recommendationsEnabled": "recommendations_enabled"}


def read_settings(settings: dict) -> dict:
    fields = {_SETTING_FIELDS[k]: v for k, v in settings.items() if k in _SETTING_FIELDS}
    if "instanceDurationInDays" in settings:
        days = settings["instanceDurationInDays"]
        if not 1 <= days <= 365:
            raise bad_request("Property 'settings.instanceDurationInDays' must be 1 to 365.")
        fields["instance_duration_days"] = days
    if settings.get("recommendationLookBackDuration"):
        fields["recommendation_look_back"] = _duration(settings["recommendationLookBackDuration"],
                                                           "settings.recommendationLookBackDuration")
    if settings.get("recurrence") is not None:
        fields.update(read_recurrence(settings["recurrence"]))
    for action in settings.get("applyActions") or []:
        kind = str(action.get("@odata.type", "") if isinstance(action, dict) else "").lstrip("#")
        chosen = {v.lstrip("#"): k for k, v in APPLY_ACTIONS.items()}.get(kind)
        if chosen is None:
            raise bad_request("Property 'settings.applyActions' takes removeAccessApplyAction or "
                              "disableAndDeleteUserApplyAction.")
        fields["denied_guest_action"] = chosen
    return fields


def _date(value):
    """A YYYY-MM-DD date, or None (also for 2026-02-31, which parse_date refuses with ValueError)."""
    if not isinstance(value, str) or len(value) > 10:
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


def _duration(value, name: str):
    try:
        return read_duration(value, name)
    except (OverflowError, ValueError):
        raise bad_request(f"Property '{name}' is not a duration this service can hold.") from None


def read_recurrence(value) -> dict:
    if not isinstance(value, dict):
        raise bad_request("Property 'settings.recurrence' must be a patternedRecurrence object.")
    pattern, range_ = value.get("pattern"), value.get("range")
    fields: dict = {"recurrence": D.Recurrence.ONE_TIME}
    if isinstance(pattern, dict) and pattern.get("type"):
        interval = pattern.get("interval") or 1
        if not isinstance(interval, int) or isinstance(interval, bool):
            raise bad_request("Property 'settings.recurrence.pattern.interval' must be a number.")
        if pattern["type"] == "weekly" and interval == 1:
            fields["recurrence"] = D.Recurrence.WEEKLY
        elif pattern["type"] == "absoluteMonthly" and interval in MONTHS:
            fields["recurrence"] = MONTHS[interval]
        else:
            raise bad_request("Property 'settings.recurrence.pattern' must be weekly (interval 1) or absoluteMonthly "
                              "(interval 1, 3, 6 or 12).")
    elif pattern is not None and not isinstance(pattern, dict):
        raise bad_request("Property 'settings.recurrence.pattern' must be a recurrencePattern object.")
    if isinstance(range_, dict):
        start = _date(range_.get("startDate"))
        if range_.get("startDate") is not None and start is None:
            raise bad_request("Property 'settings.recurrence.range.startDate' must be a date (YYYY-MM-DD).")
        if start is not None:
            fields["start_at"] = (timezone.now() if start <= timezone.now().date()
                                  else timezone.make_aware(datetime.combine(start, time.min), UTC))
        kind = range_.get("type") or "noEnd"
        if kind == "endDate":
            end = _date(range_.get("endDate"))
            if end is None:
                raise bad_request("Property 'settings.recurrence.range.endDate' must be a date (YYYY-MM-DD).")
            fields["end_date"] = end
        elif kind != "noEnd":
            raise bad_request("Property 'settings.recurrence.range.type' must be noEnd or endDate.")
    elif range_ is not None:
        raise bad_request("Property 'settings.recurrence.range' must be a recurrenceRange object.")
    return fields


DEFINITION_FIELDS = {
    "displayName": Field("string", max_length=256), "descriptionForAdmins": Field("string", max_length=1024),
    "descriptionForReviewers": Field("string", max_length=1024), "scope": Field("object"),
    "instanceEnumerationScope": Field("object", nullable=True), "reviewers": Field("list", max_length=100),
    "fallbackReviewers": Field("list", max_length=100), "backupReviewers": Field("list", max_length=0),
    "settings": Field("object", nested=SETTINGS), "stageSettings": Field("list", max_length=0),
    "additionalNotificationRecipients": Field("list", max_length=0),
}


def read_definition(tenant, body: dict, *, update: bool = False) -> dict:
    fields = {name: body[key] for key, name in (("displayName", "display_name"),
                                                ("descriptionForAdmins", "description_for_admins"),
                                                ("descriptionForReviewers", "description_for_reviewers"))
              if key in body}
    if "scope" in body:
        if update:
            raise bad_request("The scope of an access review cannot be changed; create a new one.")
        fields.update(read_scope(tenant, body["scope"], body.get("instanceEnumerationScope")))
    if "reviewers" in body:
        fields.update(read_reviewers(body["reviewers"], "reviewers"))
    if "fallbackReviewers" in body:
        fields.update(read_reviewers(body["fallbackReviewers"], "fallbackReviewers", fallback=True))
    if body.get("settings"):
        fields.update(read_settings(body["settings"]))
    return fields


# --- the views -------------------------------------------------------------------------------------------

class _AR(GraphView):
    read_permissions = READ
    write_permissions = WRITE
    count_needs_eventual = False

    def context_url(self, suffix: str = "") -> str:
        return self.request.build_absolute_uri(f"/v1.0/$metadata#{self.context}{suffix}")

    def definition(self, definition_id) -> AccessReviewDefinition:
        return self.get_object(definition_id, queryset=selectors.review_definitions_visible_to(self.principal))

    def instance(self, definition_id, instance_id) -> AccessReviewInstance:
        definition = self.definition(definition_id)
        return self.get_object(instance_id, queryset=selectors.review_instances_visible_to(self.principal)
                               .filter(definition=definition))


class DefinitionsView(_AR):
    resource = DEFINITION
    context = "identityGovernance/accessReviews/definitions"
    bodies = {"POST": Body("microsoft.graph.accessReviewScheduleDefinition", {
        **DEFINITION_FIELDS, "displayName": Field("string", required=True, max_length=256),
        "scope": Field("object", required=True)})}
    responses = {"get": "list", "post": (201, "item")}

    def scoped_queryset(self):
        return selectors.review_definitions_visible_to(self.principal).select_related("created_by")

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        tenant = self.principal.tenant
        fields = read_definition(tenant, self.body())
        definition = services.review_definition_create(actor=self.principal, tenant=tenant, **fields)
        return self.item_response(definition, status=201)


class DefinitionView(_AR):
    resource = DEFINITION
    context = "identityGovernance/accessReviews/definitions"
    bodies = {"PATCH": Body("microsoft.graph.accessReviewScheduleDefinition", DEFINITION_FIELDS, update=True),
              "PUT": Body("microsoft.graph.accessReviewScheduleDefinition", DEFINITION_FIELDS, update=True)}
    responses = {"get": "item", "patch": 204, "put": 204, "delete": 204}

    def scoped_queryset(self):
        return selectors.review_definitions_visible_to(self.principal).select_related("created_by")

    def get(self, request, definition_id):
        return self.item_response(self.definition(definition_id))

    def patch(self, request, definition_id):
        definition = self.definition(definition_id)
        services.review_definition_update(actor=self.principal, definition=definition,
                                          changes=read_definition(definition.tenant, self.body(), update=True))
        return Response(status=204)

    put = patch  # Graph updates a definition with PUT; both are accepted

    def delete(self, request, definition_id):
        services.review_definition_delete(actor=self.principal, definition=self.definition(definition_id))
        return Response(status=204)


class InstancesView(_AR):
    resource = INSTANCE
    context = "identityGovernance/accessReviews/definitions/instances"
    responses = {"get": "list"}

    def get(self, request, definition_id):
        definition = self.definition(definition_id)
        return self.list_response(selectors.review_instances_visible_to(self.principal).filter(definition=definition))


class InstanceView(_AR):
    resource = INSTANCE
    context = "identityGovernance/accessReviews/definitions/instances"
    responses = {"get": "item"}

    def get(self, request, definition_id, instance_id):
        return self.item_response(self.instance(definition_id, instance_id))


class _InstanceAction(_AR):
    resource = INSTANCE
    bodies = {"POST": Body("microsoft.graph.accessReviewInstance", {}, description="No body (an empty object).")}
    responses = {"post": 204}

    def post(self, request, definition_id, instance_id):
        if request.data:
            self.body()  # an empty object, or a Graph 400 naming the property
        self.act(self.instance(definition_id, instance_id))
        return Response(status=204)


class StopView(_InstanceAction):
    def act(self, instance):
        services.review_instance_stop(actor=self.principal, instance=instance)


class ApplyDecisionsView(_InstanceAction):
    def act(self, instance):
        services.review_instance_apply(actor=self.principal, instance=instance)


class SendReminderView(_InstanceAction):
    def act(self, instance):
        services.review_instance_send_reminder(actor=self.principal, instance=instance)


class DecisionsView(_AR):
    resource = DECISION
    context = "identityGovernance/accessReviews/definitions/instances/decisions"
    responses = {"get": "list"}

    def get(self, request, definition_id, instance_id):
        instance = self.instance(definition_id, instance_id)
        return self.list_response(selectors.review_decisions_visible_to(self.principal).filter(instance=instance)
                                  .select_related("instance__group", "instance__application", "instance__package"))


class _Reviewer(_AR):
    """A reviewer's endpoint: a delegated token's scope is enough (the service checks the reviewer)."""

    read_permissions = ()
    write_permissions = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        require_own_scope(self.principal, request.method, read=READ, write=WRITE)

    def my_instance(self, definition_id, instance_id) -> AccessReviewInstance:
        """The instance as its reviewers see it (administrators see every one); missing and not mine are one 404."""
        try:
            definition_pk, instance_pk = uuid.UUID(str(definition_id)), uuid.UUID(str(instance_id))
        except ValueError:
            raise not_found() from None
        mine = selectors.my_review_decisions(self.principal).filter(instance_id=instance_pk,
                                                                    instance__definition_id=definition_pk)
        instance = AccessReviewInstance.objects.filter(pk=instance_pk, definition_id=definition_pk,
                                                       tenant=self.principal.tenant).first()
        if instance is None or not (mine.exists() or selectors.review_instances_visible_to(self.principal)
                                    .filter(pk=instance_pk).exists()):
            raise not_found()
        return instance


class DecisionView(_Reviewer):
    resource = DECISION
    context = "identityGovernance/accessReviews/definitions/instances/decisions"
    bodies = {"PATCH": Body("microsoft.graph.accessReviewInstanceDecisionItem", {
        "decision": Field("string", enum=("Approve", "Deny", "DontKnow", "NotReviewed")),
        "justification": Field("string", max_length=4000)}, update=True)}
    responses = {"get": "item", "patch": 204}

    def item(self, definition_id, instance_id, decision_id) -> AccessReviewDecision:
        instance = self.my_instance(definition_id, instance_id)
        mine = selectors.my_review_decisions(self.principal).filter(instance=instance)
        admin = selectors.review_decisions_visible_to(self.principal).filter(instance=instance)
        lookup = self.lookup(decision_id)
        item = (mine.filter(**lookup).first() or admin.filter(**lookup).first())
        if item is None:
            raise not_found()
        return item

    def get(self, request, definition_id, instance_id, decision_id):
        return self.item_response(self.item(definition_id, instance_id, decision_id))

    def patch(self, request, definition_id, instance_id, decision_id):
        item = self.item(definition_id, instance_id, decision_id)
        body = self.body()
        if body.get("decision") == "NotReviewed":
            raise bad_request("Property 'decision' must be Approve, Deny or DontKnow.")
        services.review_decisions_record(actor=self.principal, decisions=[item],
                                         decision=body.get("decision") or item.decision,
                                         justification=body.get("justification", item.justification))
        return Response(status=204)


class MyDecisionsView(_Reviewer):
    resource = DECISION
    context = "identityGovernance/accessReviews/definitions/instances/decisions"
    responses = {"get": "list"}

    def get(self, request, definition_id, instance_id):
        definition_pk, instance_pk = _ids(definition_id, instance_id)
        # An instance of this tenant answers the reviewer's items (none when not theirs); another tenant's is 404.
        tenant = self.principal.tenant
        if tenant is None or not AccessReviewInstance.objects.filter(pk=instance_pk, definition_id=definition_pk,
                                                                     tenant=tenant).exists():
            raise not_found()
        queryset = selectors.my_review_decisions(self.principal).filter(instance_id=instance_pk)
        return self.list_response(queryset.select_related("instance__group", "instance__application",
                                                          "instance__package"))


def _ids(*values) -> list:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError:
            out.append(uuid.UUID(int=0))
    return out


class BatchRecordDecisionsView(_Reviewer):
    """POST ``{decision, justification, principalId?, resourceId?}``: the reviewer's items in the instance
    (those of one principal or resource when named) take the decision."""

    resource = DECISION
    bodies = {"POST": Body("microsoft.graph.batchRecordDecisions", {
        "decision": Field("string", required=True, enum=("Approve", "Deny", "DontKnow")),
        "justification": Field("string", max_length=4000), "principalId": Field("string", max_length=64),
        "resourceId": Field("string", max_length=64)})}
    responses = {"post": 204}

    @transaction.atomic
    def post(self, request, definition_id, instance_id):
        body = self.body()
        instance = self.my_instance(definition_id, instance_id)
        items = selectors.my_review_decisions(self.principal).filter(instance=instance)
        if body.get("principalId"):
            items = items.filter(principal_id=_ids(body["principalId"])[0])
        if body.get("resourceId") and body["resourceId"].lower() != instance.resource_key:
            items = items.none()
        items = list(items)
        if not items:
            if self.principal.is_app_only:
                raise denied()
            raise bad_request("No decision of yours matches.")
        services.review_decisions_record(actor=self.principal, decisions=items, decision=body["decision"],
                                         justification=body.get("justification", ""))
        return Response(status=204)


class AcceptRecommendationsView(_Reviewer):
    """POST (no body): the reviewer's undecided items take their recommendation (Graph's acceptRecommendations)."""

    resource = DECISION
    bodies = {"POST": Body("microsoft.graph.accessReviewInstance", {}, description="No body (an empty object).")}
    responses = {"post": 204}

    @transaction.atomic
    def post(self, request, definition_id, instance_id):
        if request.data:
            self.body()
        instance = self.my_instance(definition_id, instance_id)
        if self.principal.is_app_only:
            raise denied()
        services.review_accept_recommendations(actor=self.principal, instance=instance)
        return Response(status=204)


class MyDefinitionsView(_Reviewer):
    """GET ``definitions/filterByCurrentUser(on='reviewer')``: the reviews with an instance in progress
    that the caller reviews."""

    resource = DEFINITION
    context = "identityGovernance/accessReviews/definitions"
    responses = {"get": "list"}

    def get(self, request):
        instances = selectors.my_review_instances(self.principal)
        return self.list_response(AccessReviewDefinition.objects.filter(
            pk__in=instances.values("definition_id")).select_related("created_by"))


class MyInstancesView(_Reviewer):
    """GET ``definitions/{id}/instances/filterByCurrentUser(on='reviewer')``: that review's instances in
    progress the caller reviews (another tenant's review: 404)."""

    resource = INSTANCE
    context = "identityGovernance/accessReviews/definitions/instances"
    responses = {"get": "list"}

    def get(self, request, definition_id):
        [definition_pk] = _ids(definition_id)
        tenant = self.principal.tenant
        if tenant is None or not AccessReviewDefinition.objects.filter(pk=definition_pk, tenant=tenant).exists():
            raise not_found()
        return self.list_response(selectors.my_review_instances(self.principal).filter(definition_id=definition_pk))

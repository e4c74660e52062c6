"""Access reviews: definitions, the instances beat starts, reviewers' decisions, and applying them.

Entra's rules (docs/access-reviews.md): a definition reviews a group's members (all or guests only), an
application's assigned users, an access package's assignments, or every group and application with
guests (one instance per resource); optionally only users inactive for a while. Reviewers are the people
themselves, the owners, chosen users or groups, the users' sponsors or managers; fallback reviewers step
in where that yields nobody. Each instance snapshots who holds the access (decision items, set-based)
with a recommendation from the sign-in log: no sign-in within the look-back (30 days by default) →
Deny. Decisions are editable until the end, the last one wins; denials act only when applied (at the
end with auto apply, or an administrator's Apply). Unanswered items take the default decision at the
end.

The sweeps (:func:`access_reviews_sweep`) take due rows ``FOR UPDATE SKIP LOCKED`` in batches, each in
one transaction: a worker killed mid-run loses only its open batch; running twice changes nothing.
"""

from collections import defaultdict
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.actors import Actor, require_actor
from directory.audit import (
    Change,
    Target,
    apply_changes,
    audit,
    register_activities,
    register_target_type,
)
from directory.models import Application, AppRoleAssignment, Group, OutboxMessage, Tenant, User
from directory.services import (
    app_assignments_remove_many,
    group_members_remove_many,
    outbox_message,
    outbox_publish,
)

from .. import emails
from ..models import (
    AccessPackage,
    AccessReviewDecision,
    AccessReviewDefinition,
    AccessReviewInstance,
    AccessReviewReviewer,
    Assignment,
)
from . import approvals
from .delivery import _require_platform, assignments_revoke

D = AccessReviewDefinition
I = AccessReviewInstance  # noqa: E741
DI = AccessReviewDecision
WRITE = "AccessReview.ReadWrite.All"
REASON = "Access reviews"
BATCH = 200
#: Entra: denied guests are blocked for 30 days, then removed from the tenant.
BLOCK_BEFORE_DELETE = timedelta(days=30)
MAX_DURATION_DAYS = {D.Recurrence.WEEKLY: 7, D.Recurrence.MONTHLY: 28, D.Recurrence.QUARTERLY: 90,
                     D.Recurrence.HALF_YEARLY: 180, D.Recurrence.YEARLY: 365, D.Recurrence.ONE_TIME: 365}

CATEGORY = "AccessReviews"
register_activities(CATEGORY, {
    "Create access review": "Add", "Update access review": "Update", "Delete access review": "Delete",
    "Access review started": "Add", "Access review ended": "Update", "Stop access review": "Update",
    "Apply access review decisions": "Update", "Approve decision": "Update", "Deny decision": "Update",
    "Don't know decision": "Update", "Send access review reminder": "Update",
})
for _model, _type in ((AccessReviewDefinition, "AccessReviewScheduleDefinition"),
                      (AccessReviewInstance, "AccessReviewInstance"),
                      (AccessReviewDecision, "AccessReviewInstanceDecisionItem")):
    register_target_type(_model, _type)

#: The definition's fields a create or update may set.
FIELDS = (
    "display_name", "description_for_admins", "description_for_reviewers", "scope_kind", "group", "application",
    "package", "guests_only", "inactive_duration", "reviewer_kind", "reviewer_user_ids", "reviewer_group_ids",
    "fallback_user_ids", "recurrence", "instance_duration_days", "start_at", "end_date", "default_decision_enabled",
    "default_decision", "auto_apply_decisions_enabled", "recommendations_enabled", "recommendation_look_back",
    "justification_required_on_approval", "mail_notifications_enabled", "reminder_notifications_enabled",
    "denied_guest_action",
)


def _authorize(actor: Actor, tenant, capability: str = WRITE) -> Actor:
    require_actor(actor).require(capability, tenant=tenant)
    return actor.in_tenant(tenant)


# --- definitions ------------------------------------------------------------------------------------------


def _validate(definition: AccessReviewDefinition) -> None:
    """Entra's consistency rules, each a precise message on the field it concerns."""
    errors: dict[str, list[str]] = defaultdict(list)
    tenant_id = definition.tenant_id
    kind = definition.scope_kind
    needs = {D.ScopeKind.GROUP: "group", D.ScopeKind.APPLICATION: "application", D.ScopeKind.ACCESS_PACKAGE: "package"}
    for scope, name in needs.items():
        obj = getattr(definition, name)
        if kind == scope and obj is None:
            errors[name].append(_("Choose the %(thing)s to review.") % {"thing": _(name.replace("package",
                                                                                               "access package"))})
        elif kind != scope:
            setattr(definition, name, None)
        elif obj.tenant_id != tenant_id:
            errors[name].append(_("No such object in this organization."))
    if kind == D.ScopeKind.GUEST_RESOURCES and not definition.guests_only:
        errors["guests_only"].append(_("Reviews of every group and application with guests review guests only."))
    if definition.inactive_duration is not None:
        if kind not in (D.ScopeKind.GROUP, D.ScopeKind.APPLICATION, D.ScopeKind.GUEST_RESOURCES):
            errors["inactive_duration"].append(_("Only group and application reviews can review inactive users."))
        elif not timedelta(days=1) <= definition.inactive_duration <= timedelta(days=730):
            errors["inactive_duration"].append(_("Inactive users are those without a sign-in for 1 to 730 days."))
    if not timedelta(days=1) <= definition.recommendation_look_back <= timedelta(days=730):
        errors["recommendation_look_back"].append(_("The look-back for recommendations is 1 to 730 days."))
    if definition.reviewer_kind == D.ReviewerKind.OWNERS and kind == D.ScopeKind.ACCESS_PACKAGE:
        errors["reviewer_kind"].append(_("Access packages have no owners: choose other reviewers."))
    if definition.reviewer_kind == D.ReviewerKind.SELECTED and not (definition.reviewer_user_ids
                                                                     or definition.reviewer_group_ids):
        errors["reviewer_user_ids"].append(_("Choose at least one reviewer."))
    if definition.reviewer_kind != D.ReviewerKind.SELECTED:
        definition.reviewer_user_ids, definition.reviewer_group_ids = [], []
    for name, model in (("reviewer_user_ids", User), ("fallback_user_ids", User), ("reviewer_group_ids", Group)):
        ids = getattr(definition, name)
        if not isinstance(ids, list) or len(ids) > 100:
            errors[name].append(_("Give at most 100 reviewers."))
            continue
        ids = sorted({str(i) for i in ids})
        setattr(definition, name, ids)
        try:
            found = model.objects.filter(pk__in=ids, tenant_id=tenant_id).count()
        except ValidationError:
            found = -1
        if found != len(ids):
            errors[name].append(_("A reviewer is not in this organization."))
    if definition.denied_guest_action == D.DeniedGuestAction.BLOCK_THEN_DELETE and not definition.guests_only:
        errors["denied_guest_action"].append(_("Blocking and removing denied users needs a review of guests only."))
    longest = MAX_DURATION_DAYS.get(definition.recurrence, 365)
    if definition.instance_duration_days and definition.instance_duration_days > longest:
        errors["instance_duration_days"].append(
            _("A review recurring %(recurrence)s lasts at most %(days)s days.")
            % {"recurrence": definition.get_recurrence_display().lower(), "days": longest})
    if definition.end_date and definition.start_at and definition.end_date < definition.start_at.date():
        errors["end_date"].append(_("The end is before the start."))
    # Graph: defaultDecision applies only when enabled; "None" is no change.
    if definition.default_decision == D.DefaultDecision.NONE:
        definition.default_decision_enabled = False
    elif not definition.default_decision_enabled:
        definition.default_decision = D.DefaultDecision.NONE
    if errors:
        raise ValidationError(dict(errors))


def review_definition_check(*, tenant: Tenant, fields: dict, definition: AccessReviewDefinition | None = None) -> None:
    """Check ``fields`` (a new definition's, or changes to ``definition``) against Entra's rules without
    saving: the console's form shows the same messages the services would raise."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValidationError(_("Unknown setting: %(name)s") % {"name": sorted(unknown)[0]})
    candidate = AccessReviewDefinition(tenant=tenant) if definition is None else \
        AccessReviewDefinition.objects.get(pk=definition.pk)
    for name, value in fields.items():
        setattr(candidate, name, value)
    _validate(candidate)


@transaction.atomic
def review_definition_create(*, actor: Actor, tenant: Tenant, **fields) -> AccessReviewDefinition:
    """Create an access review; beat starts its first instance at ``start_at``."""
    actor = _authorize(actor, tenant)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValidationError(_("Unknown setting: %(name)s") % {"name": sorted(unknown)[0]})
    definition = AccessReviewDefinition(tenant=tenant, created_by=actor.user, **fields)
    _validate(definition)
    definition.full_clean()
    definition.next_instance_at = definition.start_at
    definition.save(force_insert=True)
    audit(tenant=tenant, actor=actor, activity="Create access review", targets=[Target(definition, [
        Change(name, None, getattr(definition, name)) for name in FIELDS if getattr(definition, name) not in
        (None, "", [], False)])])
    return definition


@transaction.atomic
def review_definition_update(*, actor: Actor, definition: AccessReviewDefinition, changes: dict) -> \
        AccessReviewDefinition:
    """Change a definition: running instances keep their snapshot (Entra: a "series" edit); a new start
    moves the next instance."""
    actor = _authorize(actor, definition.tenant)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError(_("Unknown setting: %(name)s") % {"name": sorted(unknown)[0]})
    definition = AccessReviewDefinition.objects.select_for_update().get(pk=definition.pk)
    applied = apply_changes(definition, changes)
    if not applied:
        return definition
    _validate(definition)
    definition.full_clean()
    if any(c.property in ("start_at", "recurrence") for c in applied) and definition.status == D.Status.NOT_STARTED:
        definition.next_instance_at = definition.start_at
    definition.save()
    audit(tenant=definition.tenant, actor=actor, activity="Update access review", targets=[Target(definition, applied)])
    return definition


@transaction.atomic
def review_definition_delete(*, actor: Actor, definition: AccessReviewDefinition) -> None:
    actor = _authorize(actor, definition.tenant)
    audit(tenant=definition.tenant, actor=actor, activity="Delete access review",
          targets=[Target(definition, [Change("displayName", definition.display_name, None)])])
    definition.delete()


# --- starting instances -------------------------------------------------------------------------------------


def _resources(definition: AccessReviewDefinition) -> list:
    kind = definition.scope_kind
    if kind == D.ScopeKind.GROUP:
        return [definition.group]
    if kind == D.ScopeKind.APPLICATION:
        return [definition.application]
    if kind == D.ScopeKind.ACCESS_PACKAGE:
        return [definition.package]
    guests = {"user_type": User.UserType.GUEST, "deleted_at__isnull": True}
    groups = Group.objects.filter(tenant_id=definition.tenant_id, pk__in=Group.members.through.objects.filter(
        **{f"user__{k}": v for k, v in guests.items()}).values("group_id")).order_by("display_name", "pk")
    apps = Application.objects.filter(tenant_id=definition.tenant_id, pk__in=AppRoleAssignment.objects.filter(
        **{f"user__{k}": v for k, v in guests.items()}).values("application_id")).order_by("display_name", "pk")
    return [*groups, *apps]


def _holders(definition: AccessReviewDefinition, resource, now) -> list[tuple]:
    """(user id, last sign-in, created, assignment id) of everyone holding the resource's access, in one query."""
    if isinstance(resource, Group):
        qs, prefix, assignment = Group.members.through.objects.filter(group=resource), "user__", None
    elif isinstance(resource, Application):
        qs, prefix, assignment = AppRoleAssignment.objects.filter(application=resource, user__isnull=False), "user__", None
    else:
        qs = Assignment.objects.filter(package=resource, state__in=Assignment.ACTIVE_STATES)
        prefix, assignment = "target__", "pk"
    qs = qs.filter(**{f"{prefix}deleted_at__isnull": True})
    if definition.guests_only:
        qs = qs.filter(**{f"{prefix}user_type": User.UserType.GUEST})
    if definition.inactive_duration:
        cutoff = now - definition.inactive_duration
        # Entra: users newer than the inactivity window are skipped.
        qs = qs.filter(Q(**{f"{prefix}last_sign_in_at__lt": cutoff}) | Q(**{f"{prefix}last_sign_in_at__isnull": True}),
                       **{f"{prefix}created_at__lt": cutoff})
    fields = [f"{prefix}id", f"{prefix}last_sign_in_at", f"{prefix}created_at"] + ([assignment] if assignment else [])
    rows = qs.order_by().values_list(*fields).distinct()
    return [(*row, None) if not assignment else tuple(row) for row in rows]


def recommendation_for(definition: AccessReviewDefinition, last_sign_in, created, now) -> str:
    """No sign-in within the look-back → Deny; a sign-in → Approve; too new to tell → no info."""
    if not definition.recommendations_enabled:
        return DI.Recommendation.NO_INFO
    since = now - definition.recommendation_look_back
    if last_sign_in is not None and last_sign_in >= since:
        return DI.Recommendation.APPROVE
    if last_sign_in is None and created >= since:
        return DI.Recommendation.NO_INFO
    return DI.Recommendation.DENY


def _active_users(ids) -> list:
    return list(User.objects.filter(pk__in=ids, account_enabled=True, deleted_at__isnull=True)
                .values_list("pk", flat=True))


def _reviewers(definition: AccessReviewDefinition, resource, principals: list) -> dict:
    """principal id → reviewer ids (the fallback reviewers where the kind yields nobody), in fixed queries."""
    kind = definition.reviewer_kind
    tenant_id = definition.tenant_id
    if kind == D.ReviewerKind.SELF:
        enabled = set(_active_users(principals))
        per = {p: {p} if p in enabled else set() for p in principals}
    elif kind in (D.ReviewerKind.OWNERS, D.ReviewerKind.SELECTED):
        if kind == D.ReviewerKind.OWNERS:
            owners = resource.owners.all() if isinstance(resource, Group | Application) else User.objects.none()
            ids = set(owners.values_list("pk", flat=True))
        else:
            ids = set(definition.reviewer_user_ids) | set(Group.members.through.objects.filter(
                group_id__in=definition.reviewer_group_ids, group__tenant_id=tenant_id).values_list("user_id", flat=True))
        everyone = set(User.objects.filter(pk__in=ids, tenant_id=tenant_id, account_enabled=True,
                                           deleted_at__isnull=True).values_list("pk", flat=True))
        per = {p: set(everyone) for p in principals}
    elif kind == D.ReviewerKind.SPONSORS:
        per = {p: set() for p in principals}
        for user_id, sponsor_id in User.sponsors.through.objects.filter(
                from_user_id__in=principals, to_user__account_enabled=True, to_user__deleted_at__isnull=True,
                to_user__tenant_id=tenant_id).values_list("from_user_id", "to_user_id"):
            per[user_id].add(sponsor_id)
    else:  # managers
        per = {p: set() for p in principals}
        for user_id, manager_id in User.objects.filter(pk__in=principals, manager__account_enabled=True,
                                                       manager__deleted_at__isnull=True).values_list("pk", "manager_id"):
            per[user_id].add(manager_id)
    if any(not r for r in per.values()) and definition.fallback_user_ids:
        fallback = set(User.objects.filter(pk__in=definition.fallback_user_ids, tenant_id=tenant_id,
                                           account_enabled=True, deleted_at__isnull=True).values_list("pk", flat=True))
        for reviewers in per.values():
            if not reviewers:
                reviewers |= fallback
    return per


def _start_instance(definition: AccessReviewDefinition, resource, period_start, now) -> AccessReviewInstance | None:
    key = str(resource.pk) if resource is not None else ""
    if AccessReviewInstance.objects.filter(definition=definition, period_start=period_start, resource_key=key).exists():
        return None
    end = now + timedelta(days=definition.instance_duration_days)
    instance = AccessReviewInstance(
        tenant_id=definition.tenant_id, definition=definition, period_start=period_start, resource_key=key,
        start_at=now, end_at=end, status=I.Status.IN_PROGRESS,
        remind_at=now + (end - now) / 2 if definition.reminder_notifications_enabled else None,
        group=resource if isinstance(resource, Group) else None,
        application=resource if isinstance(resource, Application) else None,
        package=resource if isinstance(resource, AccessPackage) else None)
    instance.save(force_insert=True)
    kind = (DI.AccessKind.GROUP_MEMBER if instance.group_id else DI.AccessKind.APP_ASSIGNMENT
            if instance.application_id else DI.AccessKind.PACKAGE_ASSIGNMENT)
    holders = _holders(definition, resource, now)
    items = [DI(instance=instance, principal_id=user_id, access_kind=kind, assignment_id=assignment_id,
                recommendation=recommendation_for(definition, last, created, now), last_sign_in_at=last)
             for user_id, last, created, assignment_id in holders]
    DI.objects.bulk_create(items, batch_size=2000)
    per = _reviewers(definition, resource, [i.principal_id for i in items])
    AccessReviewReviewer.objects.bulk_create(
        [AccessReviewReviewer(decision=item, instance=instance, user_id=reviewer)
         for item in items for reviewer in per.get(item.principal_id, ())], batch_size=2000)
    audit(tenant=definition.tenant, actor=Actor.system(definition.tenant, REASON), activity="Access review started",
          targets=[Target(instance, [Change("status", None, I.Status.IN_PROGRESS),
                                     Change("decisions", None, len(items))])])
    if definition.mail_notifications_enabled:
        _mail_reviewers(instance, "review_start", dedupe=f"ar:{instance.pk}:start")
    return instance


def _mail_reviewers(instance: AccessReviewInstance, kind: str, *, dedupe: str, pending_only: bool = False) -> int:
    """Mail every reviewer of the instance (with ``pending_only``: those with items still not reviewed),
    each once, in their language."""
    qs = AccessReviewReviewer.objects.filter(instance=instance)
    if pending_only:
        qs = qs.filter(decision__decision=DI.Decision.NOT_REVIEWED)
    users = list(User.objects.filter(pk__in=qs.values("user_id"), account_enabled=True, deleted_at__isnull=True)
                 .only("pk", "mail", "user_principal_name", "preferred_language", "tenant_id").order_by("pk"))
    return _mail(instance, kind, users, dedupe=dedupe, date=instance.end_at)


def _mail(instance: AccessReviewInstance, kind: str, users: list, *, dedupe: str, date=None, principal: str = "") -> int:
    tenant = instance.definition.tenant
    url = approvals.panel_url(tenant, "entitlements:review", instance_id=instance.pk)
    if kind == "review_denied_sponsor":
        url = approvals.panel_url(tenant, "entitlements:reviews")
    messages, rendered = [], {}
    for user in users:
        address = user.mail or ("" if "#EXT#" in user.user_principal_name else user.user_principal_name)
        if not address:
            continue  # Entra: unredeemed guest reviewers get no e-mail
        language = emails.language_of(user)
        if language not in rendered:
            rendered[language] = emails.notice(kind=kind, language=language, tenant=tenant,
                                               package=instance.resource_name or instance.definition.display_name,
                                               url=url, requestor=principal, date=date,
                                               details=[("Access review", instance.definition.display_name)])
        subject, text, html = rendered[language]
        messages.append(outbox_message(tenant=tenant, to=[address], subject=subject, body_text=text, body_html=html,
                                       dedupe_key=f"{dedupe}:{address}"[:200]))
    if not messages:
        return 0
    sent = set(OutboxMessage.objects.filter(dedupe_key__in=[m.dedupe_key for m in messages])
               .values_list("dedupe_key", flat=True))
    fresh = [m for m in messages if m.dedupe_key not in sent]
    OutboxMessage.objects.bulk_create(fresh)
    outbox_publish([m.pk for m in fresh])
    return len(fresh)


def _start_due(definition: AccessReviewDefinition, now) -> int:
    period = definition.next_instance_at
    started = 0
    for resource in _resources(definition):
        if _start_instance(definition, resource, period, now) is not None:
            started += 1
    following = definition.period_after(period)
    # A scheduler that was down for several periods starts only the latest one (no stale reviews).
    while following is not None and following <= now:
        following = definition.period_after(following)
    if following is not None and definition.end_date and following.date() > definition.end_date:
        following = None
    definition.next_instance_at = following
    definition.status = D.Status.IN_PROGRESS
    definition.save(update_fields=["next_instance_at", "status", "modified_at"])
    return started


# --- decisions ----------------------------------------------------------------------------------------------

def _is_reviewer(actor: Actor, decisions) -> bool:
    from ..selectors import may_review

    if not may_review(actor):
        return False
    return AccessReviewReviewer.objects.filter(decision__in=decisions, user=actor.user).count() == len(decisions)


VERBS = {DI.Decision.APPROVE: "Approve decision", DI.Decision.DENY: "Deny decision",
         DI.Decision.DONT_KNOW: "Don't know decision"}


@transaction.atomic
def review_decisions_record(*, actor: Actor, decisions: list[AccessReviewDecision], decision: str,
                            justification: str = "") -> int:
    """A reviewer's decision on items assigned to them (the last submitted wins until the end)."""
    require_actor(actor)
    if decision not in VERBS:
        raise ValidationError(_("Decide Approve, Deny or DontKnow."))
    justification = (justification or "").strip()
    if "\x00" in justification or len(justification) > 4000:
        raise ValidationError(_("The reason is too long or holds characters that are not text."))
    ids = [d.pk for d in decisions]
    if not ids:
        return 0
    rows = list(DI.objects.select_for_update(of=("self",)).filter(pk__in=ids)
                .select_related("instance__definition", "instance__tenant", "principal"))
    if len(rows) != len(ids) or not _is_reviewer(actor, rows):
        raise PermissionDenied(_("You are not a reviewer of this access."))
    instance_ids = {r.instance_id for r in rows}
    if any(r.instance.status != I.Status.IN_PROGRESS for r in rows):
        raise ValidationError(_("This review has ended; decisions can no longer be changed."))
    definition = rows[0].instance.definition
    if len(instance_ids) == 1 and decision == DI.Decision.APPROVE and definition.justification_required_on_approval \
            and not justification:
        raise ValidationError(_("A reason is required to approve."))
    now = timezone.now()
    DI.objects.filter(pk__in=ids).update(decision=decision, justification=justification, reviewed_by=actor.user,
                                         reviewed_at=now, by_default=False)
    tenant = rows[0].instance.tenant
    for row in rows:
        audit(tenant=tenant, actor=actor, activity=VERBS[decision], targets=[
            Target(row, [Change("decision", row.decision, decision)]), Target(row.principal)])
    return len(rows)


@transaction.atomic
def review_accept_recommendations(*, actor: Actor, instance: AccessReviewInstance) -> int:
    """Accept recommendations: each of the reviewer's unreviewed items takes its recommendation (items
    without one stay as they are)."""
    require_actor(actor)
    if actor.user is None:
        raise PermissionDenied(_("You are not a reviewer of this access."))
    pending = list(DI.objects.filter(instance=instance, decision=DI.Decision.NOT_REVIEWED,
                                     reviewers__user=actor.user,
                                     recommendation__in=[DI.Recommendation.APPROVE, DI.Recommendation.DENY]))
    done = 0
    for value in (DI.Decision.APPROVE, DI.Decision.DENY):
        chosen = [d for d in pending if d.recommendation == value]
        if chosen:
            done += review_decisions_record(actor=actor, decisions=chosen, decision=value,
                                            justification=_("Accepted recommendation"))
    return done


# --- ending, stopping and applying ----------------------------------------------------------------------------


def _complete(instance: AccessReviewInstance, actor: Actor, now, activity: str) -> None:
    """End the instance: unanswered items take the default decision; auto apply queues applying."""
    definition = instance.definition
    if definition.default_decision_enabled:
        unanswered = DI.objects.filter(instance=instance, decision=DI.Decision.NOT_REVIEWED)
        if definition.default_decision == D.DefaultDecision.RECOMMENDATION:
            for value in (DI.Recommendation.APPROVE, DI.Recommendation.DENY):
                unanswered.filter(recommendation=value).update(decision=value, by_default=True, reviewed_at=now)
        elif definition.default_decision in (D.DefaultDecision.APPROVE, D.DefaultDecision.DENY):
            unanswered.update(decision=definition.default_decision, by_default=True, reviewed_at=now)
    instance.status, instance.completed_at, instance.remind_at = I.Status.COMPLETED, now, None
    if instance.end_at > now:
        instance.end_at = now
    instance.apply_due = definition.auto_apply_decisions_enabled
    instance.save(update_fields=["status", "completed_at", "remind_at", "end_at", "apply_due"])
    audit(tenant=definition.tenant, actor=actor, activity=activity,
          targets=[Target(instance, [Change("status", I.Status.IN_PROGRESS, I.Status.COMPLETED)])])
    if definition.next_instance_at is None and not AccessReviewInstance.objects.filter(
            definition=definition, status=I.Status.IN_PROGRESS).exists():
        AccessReviewDefinition.objects.filter(pk=definition.pk).update(status=D.Status.COMPLETED)


def _apply(instance: AccessReviewInstance, actor: Actor, now) -> dict:
    """Remove what was denied (only the reviewed access), block-then-delete denied guests where the
    definition says so, and tell their sponsors. Each item is applied once; set-based: a fixed number of
    queries for the removals and their audit rows, whatever the number of denials."""
    definition = instance.definition
    system = Actor.system(definition.tenant, REASON)
    denied = list(DI.objects.filter(instance=instance, decision=DI.Decision.DENY, apply_result=DI.ApplyResult.NEW)
                  .select_related("principal"))
    if instance.package_id:
        held = set(Assignment.objects.filter(pk__in=[d.assignment_id for d in denied],
                                             state__in=Assignment.ACTIVE_STATES).values_list("pk", flat=True))
        assignments_revoke(actor=system, assignment_ids=held, ended_by="removed", now=now)
        removed = {d.principal_id for d in denied if d.assignment_id in held}
    else:
        users = [d.principal for d in denied]
        why = f"Denied in access review '{definition.display_name}'"
        if instance.group_id:
            removed = group_members_remove_many(actor=system, group=instance.group, users=users, reason=why)
        else:
            removed = app_assignments_remove_many(actor=system, application=instance.application, users=users,
                                                  reason=why)
    applied = [d.pk for d in denied if d.principal_id in removed]
    missing = [d.pk for d in denied if d.principal_id not in removed]
    DI.objects.filter(pk__in=applied).update(apply_result=DI.ApplyResult.APPLIED, applied_at=now)
    DI.objects.filter(pk__in=missing).update(apply_result=DI.ApplyResult.NOT_FOUND, applied_at=now)
    DI.objects.filter(instance=instance, apply_result=DI.ApplyResult.NEW).exclude(
        decision=DI.Decision.DENY).update(applied_at=now)
    if definition.guests_only and definition.denied_guest_action == D.DeniedGuestAction.BLOCK_THEN_DELETE:
        from .lifecycle import block_then_delete

        for d in denied:
            guest = d.principal
            if guest.is_guest and guest.account_enabled and guest.deleted_at is None:
                block_then_delete(actor=system, user=guest, reason=f"Denied in access review "
                                  f"'{definition.display_name}'", delete_after=BLOCK_BEFORE_DELETE)
    _tell_sponsors(instance, [d.principal for d in denied])
    instance.applied_at, instance.apply_due = now, False
    instance.save(update_fields=["applied_at", "apply_due"])
    audit(tenant=definition.tenant, actor=actor, activity="Apply access review decisions",
          targets=[Target(instance, [Change("applied", None, len(applied)), Change("notFound", None, len(missing))])])
    return {"applied": len(applied), "notFound": len(missing)}


def _tell_sponsors(instance: AccessReviewInstance, principals: list) -> None:
    """Sponsors are told of each denial (Entra: sponsors get the guest's review notices)."""
    if not principals:
        return
    by_principal = defaultdict(list)
    links = User.sponsors.through.objects.filter(from_user_id__in=[p.pk for p in principals],
                                                 to_user__deleted_at__isnull=True).values_list("from_user_id",
                                                                                              "to_user_id")
    sponsor_ids = set()
    for principal_id, sponsor_id in links:
        by_principal[principal_id].append(sponsor_id)
        sponsor_ids.add(sponsor_id)
    sponsors = {u.pk: u for u in User.objects.filter(pk__in=sponsor_ids)}
    for principal in principals:
        users = [sponsors[s] for s in by_principal.get(principal.pk, ()) if s in sponsors]
        if users:
            _mail(instance, "review_denied_sponsor", users, dedupe=f"ar:{instance.pk}:{principal.pk}:sponsor",
                  principal=principal.display_name)


def _instance_for_admin(actor: Actor, instance: AccessReviewInstance) -> tuple[Actor, AccessReviewInstance]:
    actor = _authorize(actor, instance.tenant)
    locked = (AccessReviewInstance.objects.select_for_update(of=("self",))
              .select_related("definition__tenant", "group", "application", "package").get(pk=instance.pk))
    return actor, locked


@transaction.atomic
def review_instance_stop(*, actor: Actor, instance: AccessReviewInstance) -> AccessReviewInstance:
    """Stop: final; the default decisions fill what nobody answered and auto apply applies."""
    actor, instance = _instance_for_admin(actor, instance)
    if instance.status != I.Status.IN_PROGRESS:
        raise ValidationError(_("This review has ended already."))
    now = timezone.now()
    _complete(instance, actor, now, "Stop access review")
    if instance.apply_due:
        _apply(instance, Actor.system(instance.tenant, REASON), now)
    return instance


@transaction.atomic
def review_instance_apply(*, actor: Actor, instance: AccessReviewInstance) -> dict:
    """Apply a completed instance's denials (once)."""
    actor, instance = _instance_for_admin(actor, instance)
    if instance.status != I.Status.COMPLETED:
        raise ValidationError(_("Decisions are applied when the review has ended (stop it first)."))
    if instance.applied_at is not None:
        raise ValidationError(_("The decisions of this review were applied already."))
    return _apply(instance, actor, timezone.now())


@transaction.atomic
def review_instance_send_reminder(*, actor: Actor, instance: AccessReviewInstance) -> int:
    """Remind every reviewer who still has items to decide."""
    actor, instance = _instance_for_admin(actor, instance)
    if instance.status != I.Status.IN_PROGRESS:
        raise ValidationError(_("Reminders are sent only while the review is in progress."))
    now = timezone.now()
    sent = _mail_reviewers(instance, "review_remind", dedupe=f"ar:{instance.pk}:remind:{now:%Y%m%d%H%M%S}",
                           pending_only=True)
    audit(tenant=instance.tenant, actor=actor, activity="Send access review reminder",
          targets=[Target(instance, [Change("remindersSent", None, sent)])])
    return sent


# --- the sweep ---------------------------------------------------------------------------------------------


def access_reviews_sweep(*, actor: Actor, now=None, batch: int = BATCH) -> dict:
    """Beat's one access review sweep: start due instances, remind halfway, end what is due (default
    decisions), apply where auto apply is on."""
    _require_platform(actor)
    now = now or timezone.now()
    done = {"started": 0, "reminded": 0, "completed": 0, "applied": 0}
    while True:
        with transaction.atomic():
            due = list(AccessReviewDefinition.objects.select_for_update(of=("self",), skip_locked=True)
                       .filter(next_instance_at__lte=now).select_related("tenant", "group", "application", "package")
                       .order_by("next_instance_at")[:batch])
            for definition in due:
                done["started"] += _start_due(definition, now)
        if not due:
            break
    steps = (("remind_at", "reminded", Q(status=I.Status.IN_PROGRESS, remind_at__lte=now)),
             ("end_at", "completed", Q(status=I.Status.IN_PROGRESS, end_at__lte=now)),
             ("completed_at", "applied", Q(apply_due=True)))
    for order, counter, condition in steps:
        while True:
            with transaction.atomic():
                rows = list(AccessReviewInstance.objects.select_for_update(of=("self",), skip_locked=True)
                            .filter(condition).select_related("definition__tenant", "group", "application", "package")
                            .order_by(order)[:batch])
                for instance in rows:
                    if counter == "reminded":
                        instance.remind_at = None
                        instance.save(update_fields=["remind_at"])
                        _mail_reviewers(instance, "review_remind", dedupe=f"ar:{instance.pk}:remind", pending_only=True)
                    elif counter == "completed":
                        _complete(instance, Actor.system(instance.definition.tenant, REASON), now,
                                  "Access review ended")
                    else:
                        _apply(instance, Actor.system(instance.definition.tenant, REASON), now)
                done[counter] += len(rows)
            if not rows:
                break
    return done

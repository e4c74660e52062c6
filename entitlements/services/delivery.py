"""Delivering a request (inviting a new external requestor silently first) and taking access away.

Delivery adds group memberships, ownerships and app assignments through the directory's services.
Taking access away is set-based (the expiry sweep revokes thousands at once) and removes only what
entitlement management gave: a :class:`~entitlements.models.Grant` is ``owned`` when the person did
not hold that access when it was delivered (or held it only through another assignment), and access
is removed only when no other active assignment holds it. Access held directly stays.
"""

from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.actors import Actor, require_actor
from directory.audit import Change, Target, audit, audit_event
from directory.models import AppRoleAssignment, AuditEvent, Group, OutboxMessage, Tenant, User
from directory.services import (
    app_assignment_create,
    group_member_add,
    group_owner_add,
    outbox_message,
    outbox_publish,
)
from directory.signals import memberships_changed
from invitations.services import InvitationDenied, invitation_create

from .. import emails
from ..models import (
    AccessPackage,
    ApprovalStageRecord,
    Assignment,
    AssignmentRequest,
    CatalogResource,
    ExternalUserLifecycle,
    Grant,
    ResourceRole,
    ResourceRoleScope,
)
from . import approvals
from .lifecycle import unblock_if_pending

S = AssignmentRequest.State
RT = AssignmentRequest.RequestType


def _require_platform(actor: Actor) -> Actor:
    require_actor(actor)
    if not actor.is_platform:
        raise PermissionDenied(_("Only the platform delivers and expires access."))
    return actor


@transaction.atomic
def request_deliver(*, actor: Actor, request_id) -> AssignmentRequest | None:
    """Deliver an approved request, exactly once: invite a person not in the directory yet silently
    (no invitation e-mail; the tenant's allow/deny list applies), create or extend the assignment,
    grant each resource role, mail "You now have access" (not for an administrator's direct
    assignment). A request that is not waiting for delivery is left alone."""
    _require_platform(actor)
    request = (AssignmentRequest.objects.select_for_update(of=("self",))
               .select_related("tenant", "package", "target").filter(pk=request_id).first())
    if request is None or request.state != S.DELIVERING:
        return request
    tenant = request.tenant
    system = Actor.system(tenant, "Entitlement management")
    if request.target is None:
        try:
            with transaction.atomic():
                result = invitation_create(
                    actor=system, tenant=tenant, email=request.target_email, send_message=False,
                    display_name=request.target_display_name if request.target_display_name != request.target_email
                    else "", redirect_url=approvals.panel_url(tenant), sponsors=_sponsors_for(request))
        except (InvitationDenied, ValidationError) as exc:
            reason = getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [str(exc)]))
            return _failed(system, request, str(reason))
        request.target = result.invitation.invited_user
        request.save(update_fields=["target"])
        if result.user_created:  # brought in by entitlement management: its external-user lifecycle applies
            ExternalUserLifecycle.objects.create(user=request.target, tenant=tenant, governed=True)
    now = timezone.now()
    target = request.target
    assignment = request.assignment or Assignment.objects.filter(
        package=request.package, target=target, state__in=Assignment.ACTIVE_STATES).first()
    expires = approvals.expiry_for(request, now)
    if assignment is None:
        assignment = Assignment(tenant=tenant, package=request.package, policy=request.policy, target=target,
                                start_at=request.schedule_start or now, expires_at=expires,
                                state=Assignment.State.DELIVERING, status="Delivering")
        assignment.save(force_insert=True)
        audit(tenant=tenant, actor=system, activity="Create access package assignment", targets=[
            Target(assignment, [Change("state", None, Assignment.State.DELIVERED),
                                Change("expiredDateTime", None, expires)]), Target(target)])
    elif assignment.expires_at != expires and request.request_type in (RT.USER_UPDATE, RT.ADMIN_UPDATE):
        audit(tenant=tenant, actor=system, activity="Update access package assignment", targets=[
            Target(assignment, [Change("expiredDateTime", assignment.expires_at, expires)])])
        assignment.expires_at, assignment.warned_days = expires, 0
    if not target.account_enabled and not target.deleted_at and unblock_if_pending(actor=system, user=target):
        target.account_enabled = True  # blocked by the lifecycle, and access came back before the removal
    if target.deleted_at or not target.account_enabled:
        return _failed(system, request, "The user is blocked or deleted.")
    for scope in ResourceRoleScope.objects.filter(package=request.package).select_related(
            "resource__group", "resource__application"):
        grant(system, assignment, scope.resource, scope.role)
    assignment.state, assignment.status = Assignment.State.DELIVERED, "Delivered"
    assignment.save(update_fields=["state", "status", "expires_at", "warned_days"])
    request.assignment = assignment
    request.state, request.status, request.completed_at = S.DELIVERED, "Delivered", now
    request.save(update_fields=["assignment", "state", "status", "completed_at"])
    audit(tenant=tenant, actor=system, activity="Fulfill access package assignment request",
          targets=[Target(request, [Change("state", S.DELIVERING, S.DELIVERED)]), Target(target)])
    if request.request_type not in (RT.ADMIN_ADD, RT.ADMIN_UPDATE):
        approvals.mail(request, "delivered", [target])
    return request


MAX_SPONSORS = 5  # Entra's limit of sponsors per user (invitations.services.MAX_SPONSORS)


def _sponsors_for(request: AssignmentRequest) -> list[User]:
    """Who sponsors a guest entitlement management invites. Entra makes the inviter the sponsor; here the
    invitation is the platform's, so the people who brought the guest in stand for the inviter: the
    person of this tenant who asked (an administrator's direct assignment, a request on their behalf),
    else whoever approved the request, else the connected organization's internal sponsors."""
    requestor = request.requestor
    if requestor is not None and requestor.tenant_id == request.tenant_id and not requestor.deleted_at:
        return [requestor]
    approvers = list(User.objects.filter(
        pk__in=ApprovalStageRecord.objects.filter(request=request, status=ApprovalStageRecord.Status.APPROVED)
        .values("reviewed_by"), tenant_id=request.tenant_id, deleted_at__isnull=True)[:MAX_SPONSORS])
    if approvers:
        return approvers
    organization = request.connected_organization
    if organization is not None:
        return list(organization.internal_sponsors.filter(tenant_id=request.tenant_id, deleted_at__isnull=True)
                    [:MAX_SPONSORS])
    return []


def _failed(actor: Actor, request: AssignmentRequest, reason: str) -> AssignmentRequest:
    request.state, request.status, request.completed_at = S.DELIVERY_FAILED, "DeliveryFailed", timezone.now()
    request.save(update_fields=["state", "status", "completed_at"])
    audit(tenant=request.tenant, actor=actor, activity="Access package assignment request delivery failed",
          targets=[Target(request, [Change("state", S.DELIVERING, S.DELIVERY_FAILED)])],
          result=AuditEvent.Result.FAILURE, reason=reason)
    return request


def grant(actor: Actor, assignment: Assignment, resource: CatalogResource, role: str) -> Grant:
    """Give the assignment's target ``role`` of ``resource`` through the directory's services and
    record whether entitlement management gave it."""
    user = assignment.target
    if role == ResourceRole.MEMBER:
        added = group_member_add(actor=actor, group=resource.group, user=user)
    elif role == ResourceRole.OWNER:
        added = group_owner_add(actor=actor, group=resource.group, user=user)
    else:
        added = not AppRoleAssignment.objects.filter(application=resource.application, user=user).exists()
        if added:
            app_assignment_create(actor=actor, application=resource.application, user=user)
    owned = added or Grant.objects.filter(
        user=user, resource=resource, role=role, owned=True, assignment__state__in=Assignment.ACTIVE_STATES,
    ).exclude(assignment=assignment).exists()
    record, _created = Grant.objects.get_or_create(assignment=assignment, resource=resource, role=role,
                                                   defaults={"user": user, "owned": owned})
    return record


# --- taking access away ------------------------------------------------------------------------------


def assignments_revoke(*, actor: Actor, assignment_ids, ended_by: str, now=None) -> int:
    """End these assignments (``ended_by``: "expired" by the sweep, "removed" by a person) and remove the
    access only they gave, in the caller's transaction: a set of queries per batch, not per row. Each
    ended assignment and each removed membership is audited; each holder is mailed "Access has ended".
    Assignments that are not active any more are skipped, so running it twice changes nothing."""
    require_actor(actor)
    now = now or timezone.now()
    rows = list(Assignment.objects.select_for_update(of=("self",)).filter(
        pk__in=list(assignment_ids), state__in=Assignment.ACTIVE_STATES).order_by()
        .values_list("pk", "tenant_id", "package_id", "target_id", "state"))
    if not rows:
        return 0
    # A person removes in one tenant, authorized by the caller (request_remove).
    if not actor.is_platform and (len({r[1] for r in rows}) != 1 or not actor.acts_in(rows[0][1])):
            raise PermissionDenied(_("You do not have permission to do this."))
    ids = [r[0] for r in rows]
    expired = ended_by == "expired"
    Assignment.objects.filter(pk__in=ids).update(
        state=Assignment.State.EXPIRED, status="Expired" if expired else "Removed", expired_at=now)
    # The external-user lifecycle's trigger: the block sweep looks at these guests (those left with no
    # active assignment are blocked; see lifecycle.external_users_block_due).
    ExternalUserLifecycle.objects.filter(user_id__in={r[3] for r in rows}, governed=True).update(access_ended_at=now)
    removed = _remove_access(ids)
    _audit_and_mail(actor, rows, removed, expired=expired, now=now)
    return len(ids)


def _remove_access(ids: list) -> dict:
    """Remove the owned access of the ended assignments nobody else holds; the removed (kind, object
    id, user id) triples by kind."""
    grants = list(Grant.objects.filter(assignment_id__in=ids, owned=True).values_list(
        "user_id", "resource_id", "role", "resource__group_id", "resource__application_id"))
    if not grants:
        return {}
    users = {g[0] for g in grants}
    resources = {g[1] for g in grants}
    still_held = set(Grant.objects.filter(user_id__in=users, resource_id__in=resources,
                                          assignment__state__in=Assignment.ACTIVE_STATES)
                     .values_list("user_id", "resource_id", "role"))
    by_target: dict[tuple[str, object], set] = defaultdict(set)
    for user_id, resource_id, role, group_id, application_id in grants:
        if (user_id, resource_id, role) in still_held:
            continue
        by_target[(role, group_id or application_id)].add(user_id)
    removed: dict[str, list] = defaultdict(list)
    Grant.objects.filter(assignment_id__in=ids).delete()
    for (role, object_id), user_ids in by_target.items():
        if role == ResourceRole.DEFAULT_ACCESS:
            qs = AppRoleAssignment.objects.filter(application_id=object_id, user_id__in=user_ids)
        else:
            through = (Group.members if role == ResourceRole.MEMBER else Group.owners).through
            qs = through.objects.filter(group_id=object_id, user_id__in=user_ids)
        present = list(qs.values_list("user_id", flat=True))
        if present:
            qs.filter(user_id__in=present).delete()
            removed[role].extend((object_id, user_id) for user_id in present)
            memberships_changed.send(sender=qs.model)  # a set-based delete sends no m2m_changed
    return removed


def _audit_and_mail(actor: Actor, rows: list, removed: dict, *, expired: bool, now) -> None:
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={r[1] for r in rows})}
    packages = dict(AccessPackage.objects.filter(pk__in={r[2] for r in rows}).values_list("pk", "display_name"))
    user_ids = {r[3] for r in rows} | {u for pairs in removed.values() for _o, u in pairs}
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids).only(
        "pk", "display_name", "user_principal_name", "mail", "preferred_language", "tenant_id")}
    objects = {g.pk: g for g in Group.objects.filter(pk__in={o for pairs in removed.values() for o, _u in pairs})
               .only("pk", "display_name", "tenant_id")}
    initiator = actor.initiated_by()
    events = []
    for pk, tenant_id, package_id, target_id, state in rows:
        assignment = Assignment(pk=pk)
        assignment.display_name = packages[package_id]
        events.append(audit_event(
            tenant=tenants[tenant_id], actor=actor, initiator=initiator, when=now,
            activity="Access package assignment expired" if expired else "Remove access package assignment",
            targets=[Target(assignment, [Change("state", state, Assignment.State.EXPIRED)]),
                     Target(users[target_id])]))
    for role, pairs in removed.items():
        for object_id, user_id in pairs:
            user = users[user_id]
            if role == ResourceRole.DEFAULT_ACCESS:
                activity, target = "Remove app role assignment from user", None
            else:
                activity = "Remove member from group" if role == ResourceRole.MEMBER else "Remove owner from group"
                target = objects.get(object_id)
            events.append(audit_event(tenant=tenants.get(user.tenant_id) or Tenant(pk=user.tenant_id), actor=actor,
                                      initiator=initiator, when=now, activity=activity,
                                      targets=[t for t in (Target(target) if target else None, Target(user)) if t],
                                      details={"reason": "Access package assignment ended"}))
    AuditEvent.objects.bulk_create(events, batch_size=2000)
    # "Access has ended for [package]": rendered once per tenant, package and language.
    rendered: dict = {}
    messages = []
    for pk, tenant_id, package_id, target_id, _state in rows:
        user = users[target_id]
        address = user.mail
        if not address:
            continue
        language = emails.language_of(user)
        key = (tenant_id, package_id, language)
        if key not in rendered:
            tenant = tenants[tenant_id]
            rendered[key] = emails.notice(kind="ended", language=language, tenant=tenant, package=packages[package_id],
                                          url=approvals.panel_url(tenant))
        subject, text, html = rendered[key]
        messages.append(outbox_message(tenant=tenants[tenant_id], to=[address], subject=subject, body_text=text,
                                       body_html=html, dedupe_key=f"em:{pk}:ended"))
    OutboxMessage.objects.bulk_create(messages, batch_size=2000)
    outbox_publish([m.pk for m in messages])
